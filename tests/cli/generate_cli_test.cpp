// `pft generate` as a user runs it: a tiny random T5 with T5's real SentencePiece vocabulary
// (tests/python/t5_cli_reference.py), prompts in JSONL, text out; the generated text equals
// what transformers generates from the same ids. Bad inputs end with exit 2 and a message
// naming the file and line or the file at fault.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_util.h"

namespace {

using pft::test::run_pft;
using pft::test::TempDir;
using pft::test::write_text;

std::vector<nlohmann::json> parse_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// One tiny checkpoint and the texts transformers generates for the prompts.
class GenerateCli : public testing::Test {
 protected:
  void SetUp() override {
    const auto r = pft::test::run_python(
        "t5_cli_reference.py",
        {pft::test::shared_data("tokenizers/t5-small/spiece.model"), dir_.path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expected_ = nlohmann::json::parse(read(dir_.file("expected.json")));
  }

  std::string model() const { return dir_.file("model"); }
  std::string prompts() const { return dir_.file("prompts.jsonl"); }

  // Checks one JSONL result against the input prompts and the expected texts.
  void check(const std::vector<nlohmann::json>& lines, const std::string& key,
             const std::string& field = "generated") {
    const auto inputs = parse_lines(read(prompts()));
    const auto& texts = expected_.at(key);
    ASSERT_EQ(lines.size(), inputs.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
      SCOPED_TRACE(key + " prompt " + std::to_string(i));
      // The input record comes back whole, in order, plus the generated text.
      for (const auto& [k, v] : inputs[i].items()) EXPECT_EQ(lines[i].at(k), v);
      EXPECT_EQ(lines[i].at(field).get<std::string>(), texts.at(i).get<std::string>());
    }
  }

  TempDir dir_;
  nlohmann::json expected_;
};

// One test, so that the Python reference (most of the time) runs once.
TEST_F(GenerateCli, EndToEnd) {
  SCOPED_TRACE("greedy into a file");
  const auto out = dir_.file("greedy.jsonl");
  auto r = run_pft({"generate", "--model", model(), "--input", prompts(), "--output", out,
                    "--max-new-tokens", "8", "--no-repeat-ngram-size", "1", "--batch-size", "2",
                    "--compute-type", "float32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  check(parse_lines(read(out)), "greedy");

  SCOPED_TRACE("beam search, prompts from standard input, results on standard output");
  r = run_pft({"generate", "--model", model(), "--input", "-", "--num-beams", "4", "--set",
               "generate.max_new_tokens=8", "--set", "generate.no_repeat_ngram_size=1", "--set",
               "generate.compute_type=float32", "--output-field", "prediction"},
              read(prompts()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  check(parse_lines(r.out), "beam", "prediction");

  SCOPED_TRACE("prompts longer than tokenizer.max_length are cut to it, each with a warning");
  r = run_pft({"generate", "--model", model(), "--input", prompts(), "--max-new-tokens", "8",
               "--no-repeat-ngram-size", "1", "--set", "tokenizer.max_length=4", "--compute-type",
               "float32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  check(parse_lines(r.out), "truncated");
  const auto lengths = expected_.at("lengths");
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    const auto n = lengths.at(i).get<int>();
    const auto warning = prompts() + ":" + std::to_string(i + 1) + ": the prompt has " +
                         std::to_string(n) + " tokens, truncated to the first 4";
    EXPECT_EQ(contains(r.err, warning), n > 4) << r.err;
  }
  EXPECT_TRUE(contains(r.err, "truncated prompts: 4")) << r.err;

  SCOPED_TRACE("sampling with a seed repeats");
  const std::vector<std::string> args{
      "generate", "--model", model(), "--input",       prompts(), "--do-sample",      "--seed",
      "11",       "--top-k", "20",    "--temperature", "1.5",     "--max-new-tokens", "6"};
  const auto a = run_pft(args);
  const auto b = run_pft(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(parse_lines(a.out).size(), 5u);
  auto other = args;
  other[6] = "12";  // another seed: another sample
  EXPECT_NE(run_pft(other).out, a.out);

  SCOPED_TRACE("one prompt on a terminal: the text as it comes, not JSON");
  // script(1) gives pft a pseudo-terminal (util-linux; present wherever pft builds).
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/script"));
  const auto input = dir_.file("one.jsonl");
  write_text(input, "{\"source\": \"Hello\"}\n");
  const std::string command = std::string(PFT_BINARY) + " generate --model " + model() +
                              " --input " + input +
                              " --max-new-tokens 8 --no-repeat-ngram-size 1 --compute-type float32"
                              " --log-level warn";
  const auto tty = pft::test::run_process({"/usr/bin/script", "-qec", command, "/dev/null"});
  ASSERT_EQ(tty.exit_code, 0) << tty.out << tty.err;
  // The text of prompt 4 ("Hello").
  EXPECT_EQ(tty.out, expected_.at("greedy").at(3).get<std::string>() + "\r\n");
}

// ---- bad input: no Python needed, the prompts and the tokenizer are checked first ----------

struct BadInput : testing::Test {
  TempDir dir;
  std::string folder() {
    write_text(dir.file("model/config.json"), "{\"model_type\": \"t5\"}");
    return dir.file("model");
  }
  pft::test::RunResult generate(const std::string& prompts, std::vector<std::string> extra = {}) {
    write_text(dir.file("p.jsonl"), prompts);
    std::vector<std::string> args{"generate", "--model", folder(), "--input", dir.file("p.jsonl")};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_pft(args);
  }
};

TEST_F(BadInput, EmptyLineNamesFileAndLine) {
  const auto r = generate("{\"source\": \"a\"}\n\n{\"source\": \"b\"}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, dir.file("p.jsonl") + ":2: empty line")) << r.err;
}

TEST_F(BadInput, EmptyPromptMissingFieldAndMalformedJson) {
  auto r = generate("{\"source\": \"a\"}\n{\"source\": \"  \"}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, ":2: \"source\" is an empty prompt")) << r.err;
  r = generate("{\"title\": \"a\"}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, ":1: no \"text\" field (nor \"source\")")) << r.err;
  r = generate("{\"source\": \"a\"}\n", {"--input-field", "question"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, ":1: no \"question\" field")) << r.err;
  r = generate("{\"source\": \"a\"\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, ":1: malformed JSON")) << r.err;
  r = generate("{\"source\": \"a\"}\n{\"source\": \"b\", \"id\": 1e999}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, ":2: a number beyond a 64-bit float")) << r.err;
  r = generate("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "no prompts")) << r.err;
}

TEST_F(BadInput, MissingOrCorruptSpieceModel) {
  auto r = generate("{\"source\": \"a\"}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "spiece.model")) << r.err;
  write_text(dir.file("model/spiece.model"), "this is not a sentencepiece model");
  r = generate("{\"source\": \"a\"}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "spiece.model: not a SentencePiece model")) << r.err;
}

TEST_F(BadInput, BertCheckpointIsNotAT5) {
  write_text(dir.file("bert/config.json"), "{\"model_type\": \"bert\"}");
  write_text(dir.file("bert/vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhi\n");
  const auto r =
      run_pft({"generate", "--model", dir.file("bert"), "--input", "-"}, "{\"text\": \"hi\"}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "needs a model with a seq2seq_lm head")) << r.err;
  EXPECT_TRUE(contains(r.err, "is a bert checkpoint")) << r.err;
}

TEST_F(BadInput, AdapterMustBeAnAdapterFolderAndInputIsRequired) {
  auto r = generate("{\"source\": \"a\"}\n", {"--adapter", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "not an adapter folder (no adapter_config.json)")) << r.err;
  r = run_pft({"generate", "--model", folder()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--input")) << r.err;
}

TEST_F(BadInput, GenerationOptionsAreChecked) {
  auto r = generate("{\"source\": \"a\"}\n", {"--num-beams", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--num-beams")) << r.err;
  r = generate("{\"source\": \"a\"}\n", {"--max-new-tokens", "3", "--min-new-tokens", "5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "generate.min_new_tokens: must be <= generate.max_new_tokens (3)"))
      << r.err;
}

}  // namespace
