// Tokenizer behaviour that needs no Python: loading and its errors, UTF-8 validation, T5's
// conventions, truncation and padding rules, byte offsets.

#include <gtest/gtest.h>

#include <filesystem>

#include "pft/tokenizer/sentencepiece.h"
#include "pft/tokenizer/tokenize_file.h"
#include "pft/tokenizer/wordpiece.h"
#include "pft/util/error.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using pft::Error;
using pft::ErrorKind;
using pft::test::shared_data;
using pft::test::TempDir;
using pft::tokenizer::EncodeOptions;
using pft::tokenizer::load_tokenizer;

namespace {

std::string uncased() { return shared_data("tokenizers/bert-base-uncased"); }
std::string t5() { return shared_data("tokenizers/t5-small"); }

// Runs `f`, expects a pft::Error of `kind` whose message contains every piece of `parts`.
template <class F>
void expect_error(F&& f, ErrorKind kind, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const auto& part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << e.what() << " lacks " << part;
    }
  }
}

}  // namespace

TEST(TokenizerLoad, PicksTheModelFromTheFolder) {
  const auto bert = load_tokenizer(uncased());
  EXPECT_EQ(bert->vocab_size(), 30522u);
  EXPECT_EQ(bert->pad_id(), 0);
  EXPECT_EQ(bert->mask_id(), 103);
  EXPECT_FALSE(bert->eos_id().has_value());
  EXPECT_EQ(bert->model_max_length(), 0u);  // no tokenizer_config.json there
  const auto t5tok = load_tokenizer(t5());
  EXPECT_EQ(t5tok->vocab_size(), 32100u);
  EXPECT_EQ(t5tok->pad_id(), 0);
  EXPECT_EQ(t5tok->eos_id(), 1);
  EXPECT_FALSE(t5tok->mask_id().has_value());
}

TEST(TokenizerLoad, MissingOrCorruptFilesNameTheFolderAndFile) {
  TempDir tmp;
  expect_error([&] { load_tokenizer(tmp.file("nowhere")); }, ErrorKind::Input,
               {"nowhere", "does not exist"});
  expect_error([&] { load_tokenizer(tmp.path()); }, ErrorKind::Input,
               {tmp.path(), "vocab.txt", "spiece.model"});

  const std::string sp = tmp.file("sp");
  fs::create_directories(sp);
  pft::test::write_text(sp + "/spiece.model", "this is not a protobuf");
  expect_error([&] { load_tokenizer(sp); }, ErrorKind::Input,
               {sp + "/spiece.model", "not a SentencePiece model"});

  const std::string wp = tmp.file("wp");
  fs::create_directories(wp);
  pft::test::write_text(wp + "/vocab.txt", "[PAD]\n[UNK]\nhello\n");
  expect_error([&] { load_tokenizer(wp); }, ErrorKind::Input,
               {wp + "/vocab.txt", "cls_token '[CLS]'"});

  pft::test::write_text(wp + "/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n\xff\xfe\n");
  expect_error([&] { load_tokenizer(wp); }, ErrorKind::Input, {wp + "/vocab.txt:5", "UTF-8"});

  pft::test::write_text(wp + "/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
  pft::test::write_text(wp + "/tokenizer_config.json", "{\"do_lower_case\": \"yes\"}");
  expect_error([&] { load_tokenizer(wp); }, ErrorKind::Input,
               {"tokenizer_config.json", "do_lower_case"});
  pft::test::write_text(wp + "/tokenizer_config.json", "{not json");
  expect_error([&] { load_tokenizer(wp); }, ErrorKind::Input,
               {"tokenizer_config.json", "malformed JSON"});
}

TEST(TokenizerLoad, ConfigSettingsApply) {
  TempDir tmp;
  fs::copy_file(shared_data("tokenizers/bert-base-cased/vocab.txt"), tmp.file("vocab.txt"));
  pft::test::write_text(tmp.file("tokenizer_config.json"),
                        R"({"do_lower_case": false, "model_max_length": 384,
                            "mask_token": {"content": "[MASK]", "lstrip": true}})");
  const auto tok = pft::tokenizer::WordPiece::from_folder(tmp.path());
  EXPECT_EQ(tok->model_max_length(), 384u);
  EXPECT_FALSE(tok->options().lowercase);
  EXPECT_EQ(tok->normalize("Héllo"), "Héllo");  // strip_accents follows do_lower_case
  pft::test::write_text(
      tmp.file("tokenizer_config.json"),
      R"({"do_lower_case": false, "strip_accents": true, "model_max_length": 1e30})");
  const auto stripped = pft::tokenizer::WordPiece::from_folder(tmp.path());
  EXPECT_EQ(stripped->normalize("Héllo"), "Hello");
  EXPECT_EQ(stripped->model_max_length(), 0u);  // transformers' "unknown"
}

TEST(TokenizerText, InvalidUtf8IsAnInputErrorWithTheByteOffset) {
  const auto bert = load_tokenizer(uncased());
  const auto t5tok = load_tokenizer(t5());
  for (const auto& bad : {std::string("ab\x80"), std::string("x\xc0\xaf"),  // overlong '/'
                          std::string("\xed\xa0\x80"),                      // a surrogate
                          std::string("ok \xe2\x82"),                       // cut short
                          std::string("\xf4\x90\x80\x80")}) {               // past U+10FFFF
    expect_error([&] { bert->encode(bad); }, ErrorKind::Input, {"not valid UTF-8", "byte offset"});
    expect_error([&] { t5tok->encode(bad); }, ErrorKind::Input, {"not valid UTF-8", "byte offset"});
  }
  expect_error([&] { bert->encode("ab\x80"); }, ErrorKind::Input, {"0x80 at byte offset 2"});
}

TEST(TokenizerT5, SentinelsEosAndDecoding) {
  const auto tok = pft::tokenizer::SentencePiece::from_folder(t5());
  EXPECT_EQ(tok->sentinel_id(0), 32099);
  EXPECT_EQ(tok->sentinel_id(99), 32000);
  EXPECT_THROW(tok->sentinel_id(100), Error);
  EXPECT_EQ(tok->token_to_id("<extra_id_0>"), 32099);
  EXPECT_EQ(tok->token_to_id("<extra_id_100>"), -1);
  EXPECT_EQ(tok->token_to_id("</s>"), 1);
  EXPECT_EQ(tok->token_to_id("no such piece"), -1);
  EXPECT_EQ(tok->id_to_token(32000), "<extra_id_99>");
  EXPECT_THROW(tok->id_to_token(32100), Error);

  const auto e = tok->encode("Hello <extra_id_0> world");
  EXPECT_EQ(e.ids.back(), 1);
  EXPECT_EQ(std::count(e.ids.begin(), e.ids.end(), 32099), 1);
  EXPECT_EQ(tok->decode(e.ids), "Hello world");
  EXPECT_EQ(tok->decode(e.ids, false), "Hello<extra_id_0> world</s>");
  // The sentinel's offsets cover its spelling in the text.
  const auto at = std::find(e.ids.begin(), e.ids.end(), 32099) - e.ids.begin();
  EXPECT_EQ(e.offsets[static_cast<std::size_t>(at)], (std::pair<std::size_t, std::size_t>{6, 18}));
}

TEST(TokenizerT5, TruncationKeepsTheClosingEos) {
  const auto tok = load_tokenizer(t5());
  EncodeOptions o;
  o.max_length = 4;
  const auto e = tok->encode("one two three four five six", o);
  ASSERT_EQ(e.ids.size(), 4u);
  EXPECT_EQ(e.ids.back(), 1);
  o.pad_to = 8;
  o.max_length = 0;
  const auto p = tok->encode("one", o);
  ASSERT_EQ(p.ids.size(), 8u);
  EXPECT_EQ(p.ids.back(), 0);
  EXPECT_EQ(p.attention_mask.back(), 0);
  EXPECT_EQ(p.tokens.back(), "<pad>");
}

TEST(TokenizerWordPiece, ByteOffsetsPointIntoTheUtf8Text) {
  const auto tok = load_tokenizer(uncased());
  const std::string text = "héllo wörld";
  const auto e = tok->encode(text);
  ASSERT_EQ(e.tokens, (std::vector<std::string>{"[CLS]", "hello", "world", "[SEP]"}));
  EXPECT_EQ(text.substr(e.offsets[1].first, e.offsets[1].second - e.offsets[1].first), "héllo");
  EXPECT_EQ(text.substr(e.offsets[2].first, e.offsets[2].second - e.offsets[2].first), "wörld");
  EXPECT_EQ(e.sequence_ids, (std::vector<std::int64_t>{-1, 0, 0, -1}));
}

TEST(TokenizerWordPiece, OptionsAreValidated) {
  const auto tok = load_tokenizer(uncased());
  EncodeOptions o;
  o.max_length = 5;
  o.truncation = "longest";
  expect_error([&] { tok->encode("a b c d e f g", o); }, ErrorKind::Usage,
               {"truncation", "longest"});
  o.truncation = "only_second";
  expect_error([&] { tok->encode("a b c d e f g", o); }, ErrorKind::Usage, {"only_second", "pair"});
  o.truncation = "longest_first";
  o.max_length = 1;
  expect_error([&] { tok->encode("a b c", o); }, ErrorKind::Usage,
               {"max_length 1", "2 special tokens"});
}

TEST(TokenizerWordPiece, PairTruncationFollowsLongestFirst) {
  const auto tok = load_tokenizer(uncased());
  EncodeOptions o;
  o.max_length = 10;
  // 8 + 2 words, budget 7: the longer text gives way, the shorter keeps its 2 tokens.
  const auto e = tok->encode_pair("one two three four five six seven eight", "nine ten", o);
  EXPECT_EQ(e.ids.size(), 10u);
  EXPECT_EQ(std::count(e.sequence_ids.begin(), e.sequence_ids.end(), 0), 5);
  EXPECT_EQ(std::count(e.sequence_ids.begin(), e.sequence_ids.end(), 1), 2);
  EXPECT_EQ(e.type_ids.back(), 1);
}

// A number beyond a double (nlohmann's out_of_range, not a parse error) in any JSON a
// tokenizer reads is an input error naming the file (and line), never an escaped exception.
TEST(TokenizerLoad, NumbersBeyondADoubleNameTheFile) {
  TempDir tmp;
  const std::string wp = tmp.file("wp");
  fs::create_directories(wp);
  fs::copy_file(shared_data("tokenizers/bert-base-uncased/vocab.txt"), wp + "/vocab.txt");
  pft::test::write_text(wp + "/tokenizer_config.json", "{\"model_max_length\": 1e999}");
  expect_error([&] { load_tokenizer(wp); }, ErrorKind::Input,
               {"tokenizer_config.json", "beyond a 64-bit float"});

  const std::string sp = tmp.file("sp");
  fs::create_directories(sp);
  fs::copy_file(shared_data("tokenizers/t5-small/spiece.model"), sp + "/spiece.model");
  pft::test::write_text(sp + "/tokenizer_config.json", "{\"extra_ids\": 299999999999111e11110}");
  expect_error([&] { load_tokenizer(sp); }, ErrorKind::Input,
               {"tokenizer_config.json", "beyond a 64-bit float"});

  fs::remove(wp + "/tokenizer_config.json");
  const auto tok = load_tokenizer(wp);
  pft::test::write_text(tmp.file("in.jsonl"),
                        "{\"text\": \"fine\"}\n{\"text\": \"x\", \"n\": 4E4444}\n");
  pft::tokenizer::TokenizeFileOptions file;
  file.input = tmp.file("in.jsonl");
  file.output = tmp.file("out.jsonl");
  expect_error([&] { pft::tokenizer::tokenize_jsonl(*tok, file); }, ErrorKind::Input,
               {"in.jsonl:2", "beyond a 64-bit float"});
  EXPECT_FALSE(fs::exists(file.output));
}
