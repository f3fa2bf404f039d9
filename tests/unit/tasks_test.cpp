// The pieces of the cloze, token-classification and text-to-text tasks that need no model:
// label-word scoring and calibration, BIO sub-token alignment and the way back to words,
// rank classification, prompt truncation, the CoNLL reader.

#include <gtest/gtest.h>

#include <algorithm>

#include "pft/config/config.h"
#include "pft/prompt/template.h"
#include "pft/prompt/verbalizer.h"
#include "pft/task/cloze.h"
#include "pft/task/encoder_decoder.h"
#include "pft/task/prompt_input.h"
#include "pft/task/text_to_text.h"
#include "pft/task/token_classification.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/util/error.h"
#include "support/test_util.h"

using nlohmann::json;
using pft::ErrorKind;
using pft::prompt::Piece;
using pft::prompt::Source;
using pft::prompt::Template;
namespace task = pft::task;

namespace {

std::string error_of(const std::function<void()>& fn, ErrorKind kind) {
  try {
    fn();
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a pft::Error";
  return {};
}

const pft::tokenizer::Tokenizer& uncased() {
  static const auto t =
      pft::tokenizer::load_tokenizer(pft::test::shared_data("tokenizers/bert-base-uncased"));
  return *t;
}
const pft::tokenizer::Tokenizer& t5() {
  static const auto t =
      pft::tokenizer::load_tokenizer(pft::test::shared_data("tokenizers/t5-small"));
  return *t;
}
std::int64_t id(const pft::tokenizer::Tokenizer& tok, const std::string& token) {
  const auto i = tok.token_to_id(token);
  EXPECT_GE(i, 0) << token;
  return i;
}

const Source kSource{"dev.jsonl", 3};

}  // namespace

// ---- cloze ------------------------------------------------------------------------------

TEST(ClozeScoring, LabelScoreIsTheMeanOfItsWordsFirstSubTokenLogits) {
  const pft::prompt::Verbalizer v(
      {{"negative", {"terrible", "bad"}}, {"positive", {"great", "unbelievably"}}},
      {"negative", "positive"});
  const auto words = task::label_word_ids(v, uncased());
  ASSERT_EQ(words.tokens.size(), 2u);
  EXPECT_EQ(words.tokens[0], (std::vector<std::vector<std::int64_t>>{{id(uncased(), "terrible")},
                                                                      {id(uncased(), "bad")}}));
  // "unbelievably" is several word pieces; under `first` its first one scores it.
  const auto pieces = uncased().tokenize_ids("unbelievably");
  ASSERT_GT(pieces.size(), 1u);
  EXPECT_EQ(words.tokens[1][1], pieces);
  const auto great = id(uncased(), "great");

  torch::manual_seed(0);
  const auto logits = torch::randn({3, static_cast<std::int64_t>(uncased().vocab_size())});
  const auto scores = task::label_scores(logits, words);
  ASSERT_EQ(scores.sizes().vec(), (std::vector<std::int64_t>{3, 2}));
  for (std::int64_t r = 0; r < 3; ++r) {
    const auto neg =
        (logits[r][words.tokens[0][0][0]] + logits[r][words.tokens[0][1][0]]).item<float>() / 2;
    const auto pos = (logits[r][great] + logits[r][pieces[0]]).item<float>() / 2;
    EXPECT_FLOAT_EQ(scores[r][0].item<float>(), neg);
    EXPECT_FLOAT_EQ(scores[r][1].item<float>(), pos);
  }
  // max over a label's words; mean over a word's sub-tokens.
  const auto by_mean = task::label_word_ids(v, uncased(), "mean", "max");
  const auto s2 = task::label_scores(logits, by_mean);
  for (std::int64_t r = 0; r < 3; ++r) {
    float sub = 0;
    for (const auto p : pieces) sub += logits[r][p].item<float>();
    sub /= static_cast<float>(pieces.size());
    EXPECT_FLOAT_EQ(s2[r][1].item<float>(), std::max(logits[r][great].item<float>(), sub));
  }
  EXPECT_EQ(by_mean.masks(), 1);
  EXPECT_EQ(task::label_word_ids(v, uncased(), "whole_word").masks(),
            static_cast<std::int64_t>(pieces.size()));
}

TEST(ClozeScoring, AWordWithoutTokensIsAConfigError) {
  const auto what = error_of(
      [&] {
        const pft::prompt::Verbalizer v({{"a", {"\x01"}}, {"b", {"good"}}}, {"a", "b"});
        task::label_word_ids(v, uncased());
      },
      ErrorKind::Config);
  EXPECT_NE(what.find("prompt.verbalizer"), std::string::npos) << what;
}

TEST(ClozeScoring, ContextualCalibrationDividesByTheContentFreeProbabilities) {
  // softmax([1, 0]) = [0.731, 0.269]; a content-free input at [0.8, 0.2] says the model
  // leans to label 0 by itself, and calibration turns the decision to label 1.
  const auto scores = torch::tensor({{1.0f, 0.0f}});
  const auto cf = torch::tensor({0.8f, 0.2f});
  const auto p = torch::exp(task::calibrate(scores, cf))[0];
  const double a = 0.7310585786 / 0.8, b = 0.2689414214 / 0.2;
  EXPECT_NEAR(p[0].item<float>(), a / (a + b), 1e-6);
  EXPECT_NEAR(p[1].item<float>(), b / (a + b), 1e-6);
  EXPECT_EQ(task::calibrate(scores, cf).argmax(1).item<std::int64_t>(), 1);
  // A uniform content-free distribution changes nothing.
  EXPECT_TRUE(torch::allclose(task::calibrate(scores, torch::tensor({0.5f, 0.5f})),
                              torch::log_softmax(scores, -1)));
}

TEST(ClozeScoring, PredictionsOutsideTheLabelsCountAsWrong) {
  const auto m = task::classification_metrics({0, 1, 1, 0}, {0, 1, -1, 1}, {"a", "b"});
  EXPECT_DOUBLE_EQ(m.at("accuracy"), 0.5);
  // a: P 1, R 0.5, F1 2/3; b: P 0.5, R 0.5, F1 0.5 -> macro over the real labels.
  EXPECT_NEAR(m.at("macro_f1"), (2.0 / 3 + 0.5) / 2, 1e-12);
  EXPECT_TRUE(task::classification_metrics({0, -1}, {0, 1}, {"a", "b"}).empty());
}

// ---- token classification -----------------------------------------------------------------

TEST(TokenAlignment, FirstSubTokenCarriesTheTagTheRestAreIgnored) {
  const std::vector<std::string> words{"Ouseburn", "beat", "Somerset", "."};
  const auto ouseburn = uncased().tokenize_ids("Ouseburn");
  ASSERT_GT(ouseburn.size(), 1u);
  const auto a = task::align_words(words, {1, 0, 1, 0}, uncased(), 0);
  const auto cls = id(uncased(), "[CLS]"), sep = id(uncased(), "[SEP]");
  ASSERT_EQ(a.ids.front(), cls);
  ASSERT_EQ(a.ids.back(), sep);
  ASSERT_EQ(a.ids.size(), a.labels.size());
  ASSERT_EQ(a.word_starts.size(), 4u);
  EXPECT_EQ(a.word_starts[0], 1);
  EXPECT_EQ(a.word_starts[1], 1 + static_cast<std::int64_t>(ouseburn.size()));
  std::vector<std::int64_t> expected{-100, 1};
  for (std::size_t i = 1; i < ouseburn.size(); ++i) expected.push_back(-100);
  expected.push_back(0);  // beat
  const auto somerset = uncased().tokenize_ids("Somerset");
  expected.push_back(1);
  for (std::size_t i = 1; i < somerset.size(); ++i) expected.push_back(-100);
  expected.push_back(0);     // .
  expected.push_back(-100);  // [SEP]
  EXPECT_EQ(a.labels, expected);

  // Back to words: each word reads its first sub-token; the other sub-tokens do not matter.
  const std::vector<std::string> labels{"O", "B-ORG"};
  std::vector<std::int64_t> predictions(a.ids.size(), 1);
  predictions[static_cast<std::size_t>(a.word_starts[0])] = 1;
  predictions[static_cast<std::size_t>(a.word_starts[1])] = 0;
  predictions[static_cast<std::size_t>(a.word_starts[2])] = 0;
  predictions[static_cast<std::size_t>(a.word_starts[3])] = 0;
  EXPECT_EQ(task::word_predictions(predictions, a.word_starts, labels),
            (std::vector<std::string>{"B-ORG", "O", "O", "O"}));
}

TEST(TokenAlignment, WordsBeyondMaxLengthAreCutWholeAndPredictedO) {
  const std::vector<std::string> words{"the", "Ouseburn", "side"};
  const auto a = task::align_words(words, {0, 1, 0}, uncased(), 4);
  // "Ouseburn" (3 word pieces) does not fit whole in the 2 tokens left after "the": it and every
  // later word are left out.
  EXPECT_EQ(a.ids.size(), 3u);
  EXPECT_EQ(a.word_starts, (std::vector<std::int64_t>{1, -1, -1}));
  EXPECT_EQ(task::word_predictions({0, 1, 0}, a.word_starts, {"O", "B-LOC"}),
            (std::vector<std::string>{"B-LOC", "O", "O"}));
}

TEST(Conll, ReadsSentencesSkipsDocstartAndNamesBadLines) {
  pft::test::TempDir dir;
  pft::test::write_text(dir.file("a.txt"),
                        "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
                        "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n");
  const auto s = task::read_conll(dir.file("a.txt"));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].words, (std::vector<std::string>{"EU", "rejects"}));
  EXPECT_EQ(s[0].tags, (std::vector<std::string>{"B-ORG", "O"}));
  EXPECT_EQ(s[0].line, 3u);
  EXPECT_EQ(s[1].tags, (std::vector<std::string>{"B-PER", "I-PER"}));
  EXPECT_EQ(task::read_conll(dir.file("a.txt"), 1).size(), 1u);
  pft::test::write_text(dir.file("b.txt"), "EU B-ORG\nrejects\n");
  const auto what = error_of([&] { task::read_conll(dir.file("b.txt")); }, ErrorKind::Input);
  EXPECT_NE(what.find("b.txt:2"), std::string::npos) << what;
}

// ---- rank classification --------------------------------------------------------------------

TEST(RankClassification, SequenceLogLikelihoodSumsTheTargetTokens) {
  torch::manual_seed(1);
  const auto logits = torch::randn({2, 3, 11});
  const auto labels = torch::tensor({{4, 7, -100}, {1, 2, 3}}, torch::kInt64);
  const auto ll = task::sequence_log_likelihood(logits, labels);
  const auto logp = torch::log_softmax(logits, -1);
  EXPECT_NEAR(ll[0].item<float>(), (logp[0][0][4] + logp[0][1][7]).item<float>(), 1e-5);
  EXPECT_NEAR(ll[1].item<float>(), (logp[1][0][1] + logp[1][1][2] + logp[1][2][3]).item<float>(),
              1e-5);
}

TEST(RankClassification, CandidatesEndWithEosAndLabelsAverageTheirWords) {
  const pft::prompt::Verbalizer v({{"negative", {"terrible", "bad"}}, {"positive", {"great"}}},
                                  {"negative", "positive"});
  const auto c = task::rank_candidates(v, t5());
  ASSERT_EQ(c.targets.size(), 3u);
  EXPECT_EQ(c.label, (std::vector<std::int64_t>{0, 0, 1}));
  auto great = t5().tokenize_ids("great");
  great.push_back(1);
  EXPECT_EQ(c.targets[2], great);
  const auto scores =
      task::rank_scores(torch::tensor({{-1.0f, -3.0f, -2.5f}, {-4.0f, -2.0f, -1.0f}}), c);
  EXPECT_TRUE(torch::allclose(scores, torch::tensor({{-2.0f, -2.5f}, {-3.0f, -1.0f}})));
  EXPECT_EQ(scores.argmax(1)[0].item<std::int64_t>(), 0);
  EXPECT_EQ(scores.argmax(1)[1].item<std::int64_t>(), 1);
}

// ---- truncation -----------------------------------------------------------------------------

namespace {

std::vector<std::int64_t> text_ids(const std::string& text) { return uncased().encode(text).ids; }

std::vector<Piece> render(const std::string& tmpl, const json& example) {
  return Template(tmpl, "prompt.template").render(example, kSource);
}

}  // namespace

TEST(PromptTruncation, LongestFieldIsShortenedNeverTheMaskOrLiterals) {
  const json ex = {{"premise", "one two three four five six seven eight nine ten"},
                   {"hypothesis", "alpha beta gamma"}};
  const auto pieces = render("{premise} ? {mask} , {hypothesis}", ex);
  const auto full = task::encode_pieces(pieces, uncased(), 0, "longest_first", "[MASK]", kSource);
  EXPECT_EQ(full.size(), 2u + 10 + 1 + 1 + 1 + 3);  // [CLS] premise ? [MASK] , hypothesis [SEP]
  const auto ids = task::encode_pieces(pieces, uncased(), 12, "longest_first", "[MASK]", kSource);
  ASSERT_EQ(ids.size(), 12u);
  // 6 tokens had to go, all from the premise (10 -> 4), the longest.
  EXPECT_EQ(ids, text_ids("one two three four ? [MASK] , alpha beta gamma"));
  EXPECT_EQ(std::count(ids.begin(), ids.end(), *uncased().mask_id()), 1);
  // Both fields shrink once they are equally long: 18 - 9 = 9 tokens to cut: premise 10 -> 3
  // (7 cuts, now as long as the hypothesis), then the first of the equals, then the other.
  const auto both = task::encode_pieces(pieces, uncased(), 9, "longest_first", "[MASK]", kSource);
  EXPECT_EQ(both, text_ids("one two ? [MASK] , alpha beta"));
  // A named field is the only one cut.
  const auto named = task::encode_pieces(pieces, uncased(), 16, "hypothesis", "[MASK]", kSource);
  EXPECT_EQ(named, text_ids("one two three four five six seven eight nine ten ? [MASK] , alpha"));
  // When the named field is exhausted, the prompt is an error naming the example.
  const auto what =
      error_of([&] { task::encode_pieces(pieces, uncased(), 12, "hypothesis", "[MASK]", kSource); },
               ErrorKind::Input);
  EXPECT_NE(what.find("dev.jsonl:3"), std::string::npos) << what;
  EXPECT_NE(what.find("hypothesis"), std::string::npos) << what;
}

TEST(PromptTruncation, LiteralTextAloneTooLongIsAnError) {
  const auto pieces =
      render("a very long instruction that will not fit {text} {mask}", {{"text", "x"}});
  const auto what = error_of(
      [&] { task::encode_pieces(pieces, uncased(), 6, "longest_first", "[MASK]", kSource); },
      ErrorKind::Input);
  EXPECT_NE(what.find("max_length 6"), std::string::npos) << what;
}

TEST(PromptTruncation, SentencePieceFieldsAreCutAtTokenBoundaries) {
  const json ex = {{"source", "The quick brown fox jumps over the lazy dog near the river bank"}};
  const auto pieces = render("translate English to German: {source}", ex);
  const auto full = task::encode_pieces(pieces, t5(), 0, "longest_first", "", kSource);
  const auto ids = task::encode_pieces(pieces, t5(), 12, "longest_first", "", kSource);
  ASSERT_EQ(ids.size(), 12u);
  EXPECT_EQ(ids.back(), 1);  // </s>
  // The kept tokens are the first ones of the untruncated prompt (the cut is at a boundary).
  const auto prefix = t5().tokenize_ids("translate English to German:").size();
  EXPECT_TRUE(std::equal(ids.begin(), ids.end() - 1, full.begin())) << t5().decode(ids);
  EXPECT_GT(ids.size() - 1, prefix);
}

TEST(PromptTruncation, UnknownTruncateFieldsAreConfigErrors) {
  pft::config::RunConfig c;
  c.prompt.template_text = "{text} It was {mask}.";
  c.prompt.truncate = "txt";
  const auto what =
      error_of([&] { task::PromptEncoder(c, uncased(), nullptr, "text"); }, ErrorKind::Config);
  EXPECT_NE(what.find("prompt.truncate"), std::string::npos) << what;
}

TEST(PromptTruncation, ContentFreeInputFillsEveryField) {
  pft::config::RunConfig c;
  c.prompt.template_text = "{premise} ? {mask} , {meta.hypothesis}";
  const task::PromptEncoder e(c, uncased(), nullptr, "text");
  EXPECT_EQ(e.encode_content_free("N/A").ids, text_ids("N/A ? [MASK] , N/A"));
}

// Demonstrations read from a TSV (the format by extension) whose labels are indices into the
// labels, as GLUE writes them: each shows its label's word.
TEST(PromptDemos, IntegerLabelsOfTsvDemonstrationsAreIndices) {
  pft::test::TempDir dir;
  pft::test::write_text(dir.file("demos.tsv"), "sentence\tlabel\ngood film\t1\ndull film\t0\n");
  pft::config::RunConfig c;
  c.prompt.template_text = "{demos}{text} It was {mask}.";
  c.prompt.demos = dir.file("demos.tsv");
  c.prompt.demo_template = "{sentence} It was {mask}.";
  c.prompt.demo_ids = {0, 1};
  c.prompt.demo_separator = " ";
  const pft::prompt::Verbalizer v({{"negative", {"bad"}}, {"positive", {"great"}}},
                                  {"negative", "positive"});
  const task::PromptEncoder e(c, uncased(), &v, "text");
  EXPECT_EQ(e.encode(json{{"text", "a plot"}}, kSource, 0).ids,
            text_ids("good film It was great. dull film It was bad. a plot It was [MASK]."));
  pft::test::write_text(dir.file("demos.tsv"), "sentence\tlabel\ngood film\t2\ndull film\t0\n");
  const auto what =
      error_of([&] { task::PromptEncoder(c, uncased(), &v, "text"); }, ErrorKind::Input);
  EXPECT_NE(what.find("demos.tsv:2: field 'label': label index 2 is out of range"),
            std::string::npos)
      << what;
}

// ---- soft slots -----------------------------------------------------------------------------

namespace {

// The ids of `e` without its soft positions, after checking that they hold the placeholder.
std::vector<std::int64_t> without_soft(const task::EncodedPrompt& e,
                                       const pft::tokenizer::Tokenizer& tok) {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < e.ids.size(); ++i) {
    const auto soft = std::find(e.soft_positions.begin(), e.soft_positions.end(),
                                static_cast<std::int64_t>(i)) != e.soft_positions.end();
    if (soft) {
      EXPECT_EQ(e.ids[i], tok.pad_id()) << i;
    } else {
      out.push_back(e.ids[i]);
    }
  }
  return out;
}

std::vector<std::int64_t> range(std::int64_t from, std::int64_t count) {
  std::vector<std::int64_t> r;
  for (std::int64_t i = 0; i < count; ++i) r.push_back(from + i);
  return r;
}

struct SoftCase {
  std::string tmpl;
  std::string text_without_soft;  // the template rendered with its soft slots left out
  std::vector<std::int64_t> positions;
};

void expect_soft_cases(const pft::tokenizer::Tokenizer& tok, const std::string& mask,
                       const std::vector<SoftCase>& cases) {
  const json ex = {{"text", "a gripping, funny film"}};
  for (const auto& c : cases) {
    const auto e = task::encode_prompt(render(c.tmpl, ex), tok, 0, "longest_first", mask, kSource);
    EXPECT_EQ(without_soft(e, tok), tok.encode(c.text_without_soft).ids) << c.tmpl;
    EXPECT_EQ(e.soft_positions, c.positions) << c.tmpl;
    EXPECT_EQ(e.ids.size(), tok.encode(c.text_without_soft).ids.size() + c.positions.size());
  }
}

}  // namespace

TEST(PromptSoftSlots, BertIdsAreTheTextsWithTheSoftPositionsInserted) {
  const auto text =
      static_cast<std::int64_t>(uncased().tokenize_ids("a gripping, funny film").size());
  const auto whole = static_cast<std::int64_t>(
      uncased().encode("a gripping, funny film It was [MASK].").ids.size());
  expect_soft_cases(
      uncased(), "[MASK]",
      {// At the start: right after [CLS].
       {"{soft:2} {text} It was {mask}.", " a gripping, funny film It was [MASK].", range(1, 2)},
       // In the middle: after the field's tokens.
       {"{text} {soft} It was {mask}.", "a gripping, funny film  It was [MASK].",
        range(1 + text, 1)},
       // At the end: before [SEP].
       {"{text} It was {mask}.{soft:3}", "a gripping, funny film It was [MASK].",
        range(whole - 1, 3)},
       // Two slots, one glued to the mask.
       {"{soft}{text} It was {soft:2}{mask}.",
        "a gripping, funny film It was [MASK].",
        {1, 1 + text + 3, 1 + text + 4}}});
}

TEST(PromptSoftSlots, T5IdsAreTheTextsWithTheSoftPositionsInserted) {
  const auto prefix = static_cast<std::int64_t>(t5().tokenize_ids("sst2 sentence:").size());
  const auto whole =
      static_cast<std::int64_t>(t5().encode("sst2 sentence: a gripping, funny film").ids.size());
  expect_soft_cases(
      t5(), "<extra_id_0>",
      {// At the start: T5 has no prefix token.
       {"{soft:2}sst2 sentence: {text}", "sst2 sentence: a gripping, funny film", range(0, 2)},
       // In the middle, after "sst2 sentence:".
       {"sst2 sentence: {soft:3} {text}", "sst2 sentence:  a gripping, funny film",
        range(prefix, 3)},
       // At the end, before </s>.
       {"sst2 sentence: {text}{soft}", "sst2 sentence: a gripping, funny film",
        range(whole - 1, 1)},
       // Next to the sentinel.
       {"sst2 sentence: {text} {soft}{mask}", "sst2 sentence: a gripping, funny film <extra_id_0>",
        range(whole - 1, 1)}});
}

TEST(PromptSoftSlots, TruncationNeverCutsSoftTokensMaskOrLiterals) {
  const json ex = {{"premise", "one two three four five six seven eight nine ten"},
                   {"hypothesis", "alpha beta gamma"}};
  const auto pieces = render("{soft:3} {premise} ? {mask} , {hypothesis}", ex);
  const auto full = task::encode_prompt(pieces, uncased(), 0, "longest_first", "[MASK]", kSource);
  EXPECT_EQ(full.ids.size(), 21u);  // 18 as without soft slots, and 3 soft tokens
  // 12 tokens: the soft tokens count, so 9 field tokens go, as in LongestFieldIsShortened...
  // with max_length 9 and no soft slot.
  const auto cut = task::encode_prompt(pieces, uncased(), 12, "longest_first", "[MASK]", kSource);
  ASSERT_EQ(cut.ids.size(), 12u);
  EXPECT_EQ(cut.soft_positions, range(1, 3));
  EXPECT_EQ(without_soft(cut, uncased()), text_ids("one two ? [MASK] , alpha beta"));
  // Soft slots between the fields, and a named field cut last slot first.
  const auto mid = task::encode_prompt(render("{premise} {soft:2} {hypothesis} {mask}", ex),
                                       uncased(), 10, "premise", "[MASK]", kSource);
  ASSERT_EQ(mid.ids.size(), 10u);
  EXPECT_EQ(without_soft(mid, uncased()), text_ids("one two  alpha beta gamma [MASK]"));
  EXPECT_EQ(mid.soft_positions, range(3, 2));
  // When only the soft tokens, literals and mask remain and still do not fit: an input error
  // that says soft tokens are never cut.
  const auto what = error_of(
      [&] { task::encode_prompt(pieces, uncased(), 7, "longest_first", "[MASK]", kSource); },
      ErrorKind::Input);
  EXPECT_NE(what.find("soft tokens are never cut"), std::string::npos) << what;
  EXPECT_NE(what.find("dev.jsonl:3"), std::string::npos) << what;
}

TEST(PromptSoftSlots, SoftVectorsReplaceExactlyTheirPositionsAndOnlyTheyGetGradients) {
  torch::manual_seed(3);
  const auto embeds = torch::randn({2, 6, 4});
  const auto table = torch::randn({3, 4}).requires_grad_(true);
  const auto positions = torch::tensor({{0, 2, 5}, {1, 2, 3}}, torch::kInt64);
  const auto out = task::put_soft_tokens(embeds, table, positions);
  auto manual = embeds.clone();
  for (std::int64_t b = 0; b < 2; ++b) {
    for (std::int64_t k = 0; k < 3; ++k)
      manual[b][positions[b][k].item<std::int64_t>()] = table[k].detach();
  }
  EXPECT_EQ((out - manual).abs().max().item<float>(), 0.0f);
  out.sum().backward();
  // Every soft row is used once per example.
  EXPECT_TRUE(torch::equal(table.grad(), torch::full({3, 4}, 2.0f)));
  // No soft positions: the embeddings as they are; positions without a table: an error.
  EXPECT_TRUE(task::put_soft_tokens(embeds, table, torch::Tensor()).is_same(embeds));
  error_of([&] { task::put_soft_tokens(embeds, torch::Tensor(), positions); }, ErrorKind::Runtime);
  // Batches stack the examples' positions; differing counts are an error.
  const std::vector<std::int64_t> a{1, 2}, b{3, 4}, c{5};
  EXPECT_TRUE(torch::equal(task::stack_soft_positions({&a, &b}, torch::kCPU),
                           torch::tensor({{1, 2}, {3, 4}}, torch::kInt64)));
  EXPECT_FALSE(task::stack_soft_positions({}, torch::kCPU).defined());
  error_of([&] { task::stack_soft_positions({&a, &c}, torch::kCPU); }, ErrorKind::Runtime);
}
