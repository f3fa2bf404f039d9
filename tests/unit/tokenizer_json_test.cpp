// tokenizer.json read by hand-written files: each component, and errors that name the file
// and the JSON path. Parity with the tokenizers library on real files: tests/parity.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "pft/tokenizer/hf_json.h"
#include "pft/util/error.h"

namespace fs = std::filesystem;
using pft::Error;
using pft::ErrorKind;
using pft::tokenizer::parse_tokenizer_json;

namespace {

using Offsets = std::vector<std::pair<std::size_t, std::size_t>>;

const char* kBert = R"({
  "added_tokens": [
    {"id": 0, "content": "[PAD]", "special": true},
    {"id": 2, "content": "[CLS]", "special": true},
    {"id": 3, "content": "[SEP]", "special": true},
    {"id": 4, "content": "[MASK]", "special": true}],
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                 "strip_accents": null, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
  "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "hello": 5,
                      "world": 6, "##s": 7, "!": 8, "cafe": 9}}})";

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Input) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

}  // namespace

TEST(TokenizerJson, WordPiecePipeline) {
  auto tok = parse_tokenizer_json(kBert, "", "t/tokenizer.json");
  auto e = tok->encode("Hello WORLDS!");
  EXPECT_EQ(e.ids, (std::vector<std::int64_t>{2, 5, 6, 7, 8, 3}));
  EXPECT_EQ(e.offsets, (Offsets{{0, 0}, {0, 5}, {6, 11}, {11, 12}, {12, 13}, {0, 0}}));
  EXPECT_EQ(tok->decode(e.ids, true), "hello worlds!");
  EXPECT_EQ(tok->decode(e.ids, false), "[CLS] hello worlds! [SEP]");
  // accents stripped with the lower-casing; offsets stay on the original bytes
  auto c = tok->encode("Caf\xC3\xA9", {false});
  EXPECT_EQ(c.ids, (std::vector<std::int64_t>{9}));
  EXPECT_EQ(c.offsets, (Offsets{{0, 5}}));
  // special tokens written in the text, unknown words, pairs
  EXPECT_EQ(tok->encode("hello [MASK]x").ids, (std::vector<std::int64_t>{2, 5, 4, 1, 3}));
  auto p = tok->encode_pair("hello", "world");
  EXPECT_EQ(p.type_ids, (std::vector<std::int64_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->mask_id(), std::optional<std::int64_t>(4));
}

TEST(TokenizerJson, BpeMergesInBothLayouts) {
  const char* j = R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4},
                     "merges": ["a b", ["ab", "c"]]}})";
  auto tok = parse_tokenizer_json(j, "", "t/tokenizer.json");
  EXPECT_EQ(tok->tokenize_ids("abca"), (std::vector<std::int64_t>{4, 0}));
  EXPECT_EQ(tok->tokenize_ids("abca"), (std::vector<std::int64_t>{4, 0}));  // from the cache
  EXPECT_EQ(tok->decode({4, 0}), "abc a");  // no decoder: tokens joined by spaces
}

TEST(TokenizerJson, ByteLevel) {
  const char* j = R"({
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"h": 0, "i": 1, "\u0120": 2, "\u0120h": 3, "\u0120hi": 4},
              "merges": ["\u0120 h", "\u0120h i"]}})";
  auto tok = parse_tokenizer_json(j, "", "t/tokenizer.json");
  auto e = tok->encode("hi hi");
  EXPECT_EQ(e.ids, (std::vector<std::int64_t>{0, 1, 4}));
  EXPECT_EQ(e.offsets, (Offsets{{0, 1}, {1, 2}, {2, 5}}));
  EXPECT_EQ(tok->decode(e.ids), "hi hi");
}

TEST(TokenizerJson, UnigramViterbiAndUnknowns) {
  const char* j = R"({
    "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never", "split": true},
    "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never", "split": true},
    "model": {"type": "Unigram", "unk_id": 0,
              "vocab": [["<unk>", 0], ["a", -1], ["b", -2], ["ab", -1.5]]}})";
  auto tok = parse_tokenizer_json(j, "", "t/tokenizer.json");
  auto e = tok->encode("abcc");
  EXPECT_EQ(e.ids, (std::vector<std::int64_t>{3, 0}));  // unknowns fused
  EXPECT_EQ(e.offsets, (Offsets{{0, 2}, {2, 4}}));
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"ab", "cc"}));  // an unknown keeps its text
  EXPECT_EQ(tok->id_to_token(0), "<unk>");
}

// Scores are read as tokenizers' serde_json reads them (not correctly rounded for 17 digits):
// with correctly rounded scores the tie below goes to "-" "---" "---" (measured against
// tokenizers 0.23: "---" "---" "-").
TEST(TokenizerJson, ScoresParseAsTokenizersReadsThem) {
  const char* j = R"({
    "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true},
    "model": {"type": "Unigram", "unk_id": 0,
              "vocab": [["<unk>", 0.0], ["\u2581", -2.0122928619384766], ["-", -5.129043102264404],
                        ["---", -12.130167007446289], ["x", -3.0]]}})";
  auto tok = parse_tokenizer_json(j, "", "t/tokenizer.json");
  EXPECT_EQ(tok->encode("-------").ids, (std::vector<std::int64_t>{1, 3, 3, 2}));
  EXPECT_EQ(tok->encode(std::string(34, '-')).ids,
            (std::vector<std::int64_t>{1, 3, 3, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3}));
  EXPECT_EQ(tok->encode("x\u00e9\u00e9x").tokens,
            (std::vector<std::string>{"\u2581", "x", "\u00e9\u00e9", "x"}));
}

// NFC as tokenizers aligns it: U+00E9 takes the place of "e" and consumes the first U+0301;
// the second U+0301 keeps its own bytes.
TEST(TokenizerJson, ComposedCharactersConsumeWhatTheyAbsorb) {
  const char* j = R"({"normalizer": {"type": "NFC"},
    "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["\u00e9", -1.0], ["\u0301", -1.0]]}})";
  auto tok = parse_tokenizer_json(j, "", "t/tokenizer.json");
  auto e = tok->encode("e\u0301\u0301");
  EXPECT_EQ(e.ids, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(e.offsets, (Offsets{{0, 1}, {3, 5}}));
}

TEST(TokenizerJson, SplitBehaviours) {
  auto make = [](const std::string& behavior) {
    return parse_tokenizer_json(
        R"({"pre_tokenizer": {"type": "Split", "pattern": {"String": "-"}, "behavior": ")" + behavior +
            R"(", "invert": false},
           "model": {"type": "WordPiece", "unk_token": "?", "vocab": {"?": 0, "a": 1, "-": 2, "b": 3, "a-": 4, "-b": 5}}})",
        "", "t/tokenizer.json");
  };
  EXPECT_EQ(make("Removed")->tokenize_ids("a-b"), (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(make("Isolated")->tokenize_ids("a-b"), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(make("MergedWithPrevious")->tokenize_ids("a-b"), (std::vector<std::int64_t>{4, 3}));
  EXPECT_EQ(make("MergedWithNext")->tokenize_ids("a-b"), (std::vector<std::int64_t>{1, 5}));
}

TEST(TokenizerJson, ErrorsNameFileAndPath) {
  const std::string unsupported = R"({"pre_tokenizer": {"type": "Sequence", "pretokenizers":
      [{"type": "Whitespace"}, {"type": "Foo"}]}, "model": {"type": "BPE", "vocab": {}, "merges": []}})";
  EXPECT_NE(error_of([&] { parse_tokenizer_json(unsupported, "", "tok/tokenizer.json"); })
                .find("tok/tokenizer.json: pre_tokenizer.pretokenizers[1].type: unsupported \"Foo\""),
            std::string::npos);
  const std::string merge = R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})";
  EXPECT_NE(error_of([&] { parse_tokenizer_json(merge, "", "tok/tokenizer.json"); }).find("model.merges[0]"),
            std::string::npos);
  const std::string regex = R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a"}, "behavior": "Isolated"},
      "model": {"type": "BPE", "vocab": {}, "merges": []}})";
  EXPECT_NE(error_of([&] { parse_tokenizer_json(regex, "", "tok/tokenizer.json"); }).find("pre_tokenizer.pattern.Regex"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_tokenizer_json("{\"model\": 3", "", "tok/tokenizer.json"); }).find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_tokenizer_json("{}", "", "tok/tokenizer.json"); }).find("model: missing"),
            std::string::npos);
  auto tok = parse_tokenizer_json(kBert, "", "t/tokenizer.json");
  EXPECT_NE(error_of([&] { tok->encode("a\xFF"); }).find("UTF-8"), std::string::npos);
}

TEST(TokenizerJson, ConfigAndFolderPreference) {
  const fs::path dir = fs::temp_directory_path() / ("pft_tokjson_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << kBert;
  std::ofstream(dir / "tokenizer_config.json") << R"({"model_max_length": 64, "pad_token": "[SEP]"})";
  auto tok = pft::tokenizer::load_tokenizer(dir.string());
  EXPECT_EQ(tok->vocab_size(), 10u);
  EXPECT_EQ(tok->model_max_length(), 64u);
  EXPECT_EQ(tok->pad_id(), 3);
  std::ofstream(dir / "tokenizer_config.json") << R"({"pad_token": "<nope>"})";
  EXPECT_NE(error_of([&] { pft::tokenizer::load_tokenizer(dir.string()); }).find("tokenizer_config.json: pad_token"),
            std::string::npos);
  // tokenizer.json is read before a vocab.txt beside it (here one without [CLS], which
  // would fail), as transformers' fast tokenizers do; without it, vocab.txt is read.
  std::ofstream(dir / "tokenizer_config.json") << R"({"model_max_length": 64})";
  std::ofstream(dir / "vocab.txt") << "[PAD]\n";
  EXPECT_EQ(pft::tokenizer::load_tokenizer(dir.string())->vocab_size(), 10u);
  fs::remove(dir / "tokenizer.json");
  EXPECT_NE(error_of([&] { pft::tokenizer::load_tokenizer(dir.string()); }).find("vocab.txt"),
            std::string::npos);
  fs::remove_all(dir);
}
