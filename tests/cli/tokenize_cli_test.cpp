// pft tokenize as a user runs it: one text, JSON output, a JSONL file, bad input, training
// a SentencePiece model.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "pft/tokenizer/sentencepiece.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/util/fs.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using pft::test::run_pft;
using pft::test::shared_data;
using pft::test::TempDir;

namespace {
std::string uncased() { return shared_data("tokenizers/bert-base-uncased"); }
std::string t5() { return shared_data("tokenizers/t5-small"); }
}  // namespace

TEST(CliTokenize, TextPrintsTokensAndIds) {
  const auto r = run_pft({"tokenize", "--model", uncased(), "--text", "Héllo [MASK] world!"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("tokens: [CLS] hello [MASK] world ! [SEP]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ids: 101 7592 103 2088 999 102"), std::string::npos) << r.out;
}

TEST(CliTokenize, JsonEqualsTheLibrary) {
  const std::string text = "Hello <extra_id_0> wörld";
  const auto r =
      run_pft({"tokenize", "--model", t5(), "--text", text, "--json", "--max-length", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  pft::tokenizer::EncodeOptions o;
  o.max_length = 4;
  const auto e = pft::tokenizer::load_tokenizer(t5())->encode(text, o);
  EXPECT_EQ(doc["ids"].get<std::vector<std::int64_t>>(), e.ids);
  EXPECT_EQ(doc["tokens"].get<std::vector<std::string>>(), e.tokens);
  EXPECT_EQ(doc["ids"].size(), 4u);
  EXPECT_EQ(doc["offsets"][1], nlohmann::json::array({6, 18}));

  const auto pair =
      run_pft({"tokenize", "--model", uncased(), "--text", "a b", "--pair", "c", "--json"});
  ASSERT_EQ(pair.exit_code, 0) << pair.err;
  EXPECT_EQ(nlohmann::json::parse(pair.out)["type_ids"], nlohmann::json::array({0, 0, 0, 0, 1, 1}));
}

TEST(CliTokenize, FileModeAddsIdsToEveryLine) {
  TempDir tmp;
  const std::string in = tmp.file("in.jsonl"), out = tmp.file("out.jsonl");
  pft::test::write_text(in,
                        "{\"sentence\": \"A fine film.\", \"label\": 1}\n\n"
                        "{\"sentence\": \"北京 is big\", \"label\": 0}\n");
  const auto r = run_pft({"tokenize", "--model", uncased(), "--input", in, "--field", "sentence",
                          "--output", out, "--pad-to", "8"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("tokenized 2 lines"), std::string::npos) << r.err;
  const auto tok = pft::tokenizer::load_tokenizer(uncased());
  std::ifstream lines(out);
  std::string line;
  std::vector<nlohmann::json> docs;
  while (std::getline(lines, line)) docs.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(docs.size(), 2u);
  pft::tokenizer::EncodeOptions o;
  o.pad_to = 8;
  EXPECT_EQ(docs[0]["input_ids"].get<std::vector<std::int64_t>>(),
            tok->encode("A fine film.", o).ids);
  EXPECT_EQ(docs[1]["input_ids"].get<std::vector<std::int64_t>>(),
            tok->encode("北京 is big", o).ids);
  EXPECT_EQ(docs[1]["label"], 0);  // other fields travel along
  EXPECT_EQ(docs[1]["sentence"], "北京 is big");
}

TEST(CliTokenize, BadInputIsExit2NamingFileAndLine) {
  TempDir tmp;
  const std::string out = tmp.file("out.jsonl");
  pft::test::write_text(out, "previous content\n");
  const std::vector<std::pair<std::string, std::string>> bad{
      {"{\"text\": \"ok\"}\n{\"txt\": \"no text field\"}\n", ":2: no field \"text\""},
      {"{\"text\": \"ok\"}\n{\"text\": 5}\n", ":2: field \"text\" must be a string"},
      {"{\"text\": \"ok\"}\n\n{\"text\": \"ok\"\n", ":3: malformed JSON"},
      {"[1, 2]\n", ":1: expected a JSON object"},
      {"{\"text\": \"bad \xff byte\"}\n", ":1: malformed JSON"},
  };
  for (const auto& [content, message] : bad) {
    const std::string in = tmp.file("in.jsonl");
    pft::test::write_text(in, content);
    const auto r = run_pft({"tokenize", "--model", uncased(), "--input", in, "--output", out});
    EXPECT_EQ(r.exit_code, 2) << content;
    EXPECT_NE(r.err.find(in + message), std::string::npos) << r.err;
    EXPECT_EQ(pft::read_file(out), "previous content\n")
        << "a failed run must not touch the output";
  }
  const auto missing = run_pft(
      {"tokenize", "--model", uncased(), "--input", tmp.file("none.jsonl"), "--output", out});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("none.jsonl"), std::string::npos) << missing.err;
  const auto no_model = run_pft({"tokenize", "--model", tmp.file("nothing"), "--text", "x"});
  EXPECT_EQ(no_model.exit_code, 2);
  EXPECT_NE(no_model.err.find("nothing"), std::string::npos) << no_model.err;
  EXPECT_EQ(run_pft({"tokenize", "--text", "x"}).exit_code, 2);  // no --model
  EXPECT_EQ(run_pft({"tokenize", "--model", uncased(), "--output", out}).exit_code,
            2);  // no --input
  EXPECT_EQ(run_pft({"tokenize", "--model", uncased(), "--text", "x", "--input", out}).exit_code,
            2);
  EXPECT_EQ(
      run_pft({"tokenize", "--model", uncased(), "--text", "x", "--truncation", "both"}).exit_code,
      2);
  EXPECT_EQ(
      run_pft({"tokenize", "--model", uncased(), "--text", "a b c", "--max-length", "1"}).exit_code,
      2);
}

TEST(CliTokenize, TrainsASentencePieceModelWithT5Ids) {
  TempDir tmp;
  // A slice of the text SentencePiece's own tests train on (UTF-8 with BOM, CRLF).
  std::ifstream botchan(shared_data("tokenizers/sentencepiece-test/botchan.txt"), std::ios::binary);
  std::string line, slice;
  for (int i = 0; i < 1500 && std::getline(botchan, line); ++i) slice += line + "\n";
  pft::test::write_text(tmp.file("corpus.txt"), slice);
  const std::string prefix = tmp.file("spm/botchan");
  const auto r = run_pft({"tokenize", "--train-spm", tmp.file("corpus.txt"), "--vocab-size", "400",
                          "--model-prefix", prefix, "--log-level", "warn"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(prefix + ".model"));
  ASSERT_TRUE(fs::exists(prefix + ".vocab"));
  pft::tokenizer::SentencePiece tok(prefix + ".model");
  EXPECT_EQ(tok.vocab_size(), 400u + 100u);  // the pieces and T5's sentinels
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.eos_id(), 1);
  EXPECT_EQ(tok.unk_id(), 2);
  const std::string sentence = "I was a mischievous boy, and often got into trouble.";
  const auto e = tok.encode(sentence);
  EXPECT_GT(e.ids.size(), 5u);
  EXPECT_EQ(e.ids.back(), 1);
  EXPECT_EQ(tok.decode(e.ids), sentence);
  EXPECT_EQ(pft::read_file(prefix + ".vocab").substr(0, 18), "<pad>\t0\n</s>\t0\n<un");

  const auto bad = run_pft({"tokenize", "--train-spm", tmp.file("missing.txt"), "--vocab-size",
                            "50", "--model-prefix", prefix});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("missing.txt"), std::string::npos) << bad.err;
}

TEST(CliTokenize, HelpDocumentsEveryOption) {
  const auto r = run_pft({"tokenize", "--help"});
  ASSERT_EQ(r.exit_code, 0);
  for (const auto* option :
       {"--model", "--text", "--pair", "--json", "--input", "--field", "--pair-field", "--output",
        "--max-length", "--truncation", "--pad-to", "--no-special-tokens", "--train-spm",
        "--vocab-size", "--model-prefix", "--model-type", "--character-coverage"}) {
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
  }
}
