// Checkpoints whose tokenizer was written by today's save_pretrained (tokenizer.json and
// tokenizer_config.json only: no vocab.txt, no spiece.model) in every subcommand: a tiny
// BERT (tests/python/make_tiny_bert.py) in pft tokenize, train and eval, a tiny T5
// (tests/python/t5_cli_reference.py) in pft tokenize, train and generate. The same model
// with its vocab.txt / spiece.model gives the same ids and the same generated text.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "support/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using pft::test::run_pft;
using pft::test::run_python;
using pft::test::shared_data;
using pft::test::TempDir;

namespace {

// `from` with its tokenizer files replaced by the save_pretrained folder `tokenizer`.
void copy_with_tokenizer_json(const std::string& from, const std::string& tokenizer,
                              const std::string& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from)) {
    const auto name = e.path().filename().string();
    if (name == "vocab.txt" || name == "spiece.model" || name == "tokenizer_config.json") continue;
    fs::copy(e.path(), to + "/" + name, fs::copy_options::recursive);
  }
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
    fs::copy_file(tokenizer + "/" + name, to + "/" + name);
  }
}

std::vector<std::int64_t> ids_of(const std::string& model, const std::string& text) {
  const auto r = run_pft({"tokenize", "--model", model, "--text", text, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return {};
  return json::parse(r.out).at("ids").get<std::vector<std::int64_t>>();
}

class TokenizerJsonCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto r = run_python("make_tokenizer_files.py", {dir_->file("tok"), "bert-uncased", "t5"});
    ok_ = r.exit_code == 0;
    r = run_python("make_tiny_bert.py",
                   {dir_->file("bert-vocab"), shared_data("tokenizers/bert-base-uncased/vocab.txt")});
    ok_ = ok_ && r.exit_code == 0;
    r = run_python("t5_cli_reference.py",
                   {shared_data("tokenizers/t5-small/spiece.model"), dir_->file("t5ref")});
    ok_ = ok_ && r.exit_code == 0;
    if (!ok_) return;
    fs::copy(dir_->file("t5ref/model"), dir_->file("t5-spm"), fs::copy_options::recursive);
    copy_with_tokenizer_json(dir_->file("bert-vocab"), dir_->file("tok/bert-uncased"),
                             dir_->file("bert"));
    copy_with_tokenizer_json(dir_->file("t5-spm"), dir_->file("tok/t5"), dir_->file("t5"));
    pft::test::write_text(dir_->file("train.jsonl"),
                          pft::test::head_lines(shared_data("sst2/train.jsonl"), 48));
    pft::test::write_text(dir_->file("dev.jsonl"),
                          pft::test::head_lines(shared_data("sst2/dev.jsonl"), 24));
    pft::test::write_text(dir_->file("mt.jsonl"),
                          pft::test::head_lines(shared_data("multi30k/train.jsonl"), 32));
  }
  static void TearDownTestSuite() { delete dir_; }
  void SetUp() override { ASSERT_TRUE(ok_) << "the fixture scripts failed"; }

  static TempDir* dir_;
  static bool ok_;
};

TempDir* TokenizerJsonCli::dir_ = nullptr;
bool TokenizerJsonCli::ok_ = false;

TEST_F(TokenizerJsonCli, BertFolderTokenizesTrainsAndEvaluates) {
  const auto bert = dir_->file("bert");
  ASSERT_FALSE(fs::exists(bert + "/vocab.txt"));
  for (const std::string text : {"Héllo [MASK] world!", "it 's a charming and often affecting journey . ",
                                 "Ünïcödé 日本語 👍 don't"}) {
    const auto ids = ids_of(bert, text);
    EXPECT_FALSE(ids.empty());
    EXPECT_EQ(ids, ids_of(dir_->file("bert-vocab"), text)) << text;
  }
  auto r = run_pft({"tokenize", "--model", bert, "--text", "a b", "--pair", "c", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).at("type_ids"), json({0, 0, 0, 0, 1, 1})) << r.out;

  const json config = {
      {"model", {{"path", bert}}},
      {"tokenizer", {{"max_length", 32}}},
      {"data", {{"train", dir_->file("train.jsonl")}, {"eval", dir_->file("dev.jsonl")}}},
      {"task", {{"type", "sequence_classification"}, {"labels", {"negative", "positive"}}}},
      {"peft", {{"method", "lora"}, {"r", 4}, {"lora_alpha", 8}, {"target_modules", {"query", "value"}}}},
      {"train",
       {{"output_dir", dir_->file("bert-run")}, {"lr", 1e-3}, {"batch_size", 8}, {"max_steps", 3},
        {"log_every", 1}, {"seed", 1}}},
      {"eval", {{"batch_size", 8}}}};
  pft::test::write_text(dir_->file("bert.json"), config.dump(2));
  r = run_pft({"train", "--config", dir_->file("bert.json"), "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_pft({"eval", "--config", dir_->file("bert.json"), "--threads", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("accuracy"), std::string::npos) << r.out;
}

TEST_F(TokenizerJsonCli, T5FolderTokenizesTrainsAndGenerates) {
  const auto t5 = dir_->file("t5");
  ASSERT_FALSE(fs::exists(t5 + "/spiece.model"));
  for (const std::string text : {"translate English to German: A man is riding a horse.",
                                 "Zwei Hunde spielen im Schnee."}) {
    const auto ids = ids_of(t5, text);
    EXPECT_FALSE(ids.empty());
    EXPECT_EQ(ids, ids_of(dir_->file("t5-spm"), text)) << text;
  }

  // Greedy generation from the same weights: the same text with either tokenizer file.
  const std::vector<std::string> args{"--input", dir_->file("t5ref/prompts.jsonl"),
                                      "--max-new-tokens", "8", "--no-repeat-ngram-size", "1",
                                      "--compute-type", "float32"};
  std::vector<std::string> a{"generate", "--model", t5}, b{"generate", "--model", dir_->file("t5-spm")};
  a.insert(a.end(), args.begin(), args.end());
  b.insert(b.end(), args.begin(), args.end());
  const auto with_json = run_pft(a);
  const auto with_spm = run_pft(b);
  ASSERT_EQ(with_json.exit_code, 0) << with_json.err;
  ASSERT_EQ(with_spm.exit_code, 0) << with_spm.err;
  EXPECT_EQ(with_json.out, with_spm.out);
  EXPECT_EQ(std::count(with_json.out.begin(), with_json.out.end(), '\n'), 5);

  const json config = {
      {"model", {{"path", t5}}},
      {"tokenizer", {{"max_length", 32}}},
      {"data", {{"train", dir_->file("mt.jsonl")}}},
      {"prompt", {{"template", "translate English to German: {source}"}}},
      {"task", {{"type", "seq2seq"}}},
      {"peft", {{"method", "lora"}, {"r", 4}, {"lora_alpha", 8}, {"target_modules", {"q", "v"}}}},
      {"train",
       {{"output_dir", dir_->file("t5-run")}, {"lr", 1e-3}, {"batch_size", 8}, {"max_steps", 3},
        {"log_every", 1}, {"seed", 1}}},
      {"generate", {{"max_new_tokens", 4}, {"num_beams", 1}}}};
  pft::test::write_text(dir_->file("t5.json"), config.dump(2));
  const auto r = run_pft({"train", "--config", dir_->file("t5.json"), "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
