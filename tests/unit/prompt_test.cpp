#include <gtest/gtest.h>

#include "pft/prompt/demos.h"
#include "pft/prompt/template.h"
#include "pft/prompt/verbalizer.h"
#include "pft/util/error.h"

using nlohmann::json;
using pft::prompt::DemoOptions;
using pft::prompt::DemoSet;
using pft::prompt::Piece;
using pft::prompt::Source;
using pft::prompt::Template;
using pft::prompt::Verbalizer;

namespace {

std::string error_of(const std::function<void()>& fn, pft::ErrorKind kind) {
  try {
    fn();
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a pft::Error";
  return {};
}

const Source kSource{"train.jsonl", 17};

}  // namespace

TEST(Template, FieldsMaskAndLiterals) {
  const Template t("{text} It was {mask}.", "prompt.template");
  EXPECT_TRUE(t.has_mask());
  EXPECT_EQ(t.fields(), std::vector<std::string>{"text"});
  const auto pieces = t.render(json{{"text", "A fine film."}}, kSource);
  ASSERT_EQ(pieces.size(), 4u);
  EXPECT_EQ(pieces[0].kind, Piece::Kind::Text);
  EXPECT_EQ(pieces[0].text, "A fine film.");
  EXPECT_EQ(pieces[0].field, "text");
  EXPECT_TRUE(pieces[0].truncatable);
  EXPECT_EQ(pieces[1].text, " It was ");
  EXPECT_FALSE(pieces[1].truncatable);
  EXPECT_EQ(pieces[2].kind, Piece::Kind::Mask);
  EXPECT_EQ(pieces[3].text, ".");
}

TEST(Template, NestedFieldsNumbersAndBooleans) {
  const Template t("{meta.title} ({meta.year}, {meta.good})", "t");
  const json example = {{"meta", {{"title", "Heat"}, {"year", 1995}, {"good", true}}}};
  EXPECT_EQ(t.render_text(example, kSource), "Heat (1995, true)");
}

TEST(Template, SoftTokens) {
  const Template t("{soft}{soft:3} {text} {soft:2}", "t");
  EXPECT_EQ(t.soft_token_count(), 6);
  const auto pieces = t.render(json{{"text", "x"}}, kSource);
  ASSERT_EQ(pieces.size(), 6u);  // soft, soft, " ", text, " ", soft
  EXPECT_EQ(pieces[0].kind, Piece::Kind::Soft);
  EXPECT_EQ(pieces[0].count, 1);
  EXPECT_EQ(pieces[1].count, 3);
  EXPECT_EQ(pieces[3].field, "text");
  EXPECT_EQ(pieces[5].kind, Piece::Kind::Soft);
  EXPECT_EQ(pieces[5].count, 2);
  EXPECT_EQ(t.render_text(json{{"text", "x"}}, kSource), " x ");  // soft tokens have no text
}

TEST(Template, EscapedBraces) {
  const Template t("{{literal}} {text} }}{{", "t");
  EXPECT_EQ(t.render_text(json{{"text", "a"}}, kSource), "{literal} a }{");
  EXPECT_TRUE(t.fields() == std::vector<std::string>{"text"});
}

TEST(Template, DemosSlot) {
  const Template t("{demos}Review: {text} Sentiment: {mask}", "t");
  EXPECT_TRUE(t.has_demos());
  const auto pieces = t.render(json{{"text", "ok"}}, kSource, "Review: bad Sentiment: terrible\n");
  ASSERT_GE(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].text, "Review: bad Sentiment: terrible\nReview: ");  // demos are never cut
  EXPECT_FALSE(pieces[0].truncatable);
}

TEST(Template, UnbalancedBracesNameTheColumn) {
  auto m = error_of([] { Template("It was {mask.", "prompt.template"); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("prompt.template: column 8: unclosed '{'"), std::string::npos) << m;
  m = error_of([] { Template("{text} was} good", "prompt.template"); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("prompt.template: column 11: unmatched '}'"), std::string::npos) << m;
  m = error_of([] { Template("a {te{xt}", "p"); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("column 3: unclosed '{'"), std::string::npos) << m;
  m = error_of([] { Template("a {} b", "p"); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("column 3: empty slot"), std::string::npos) << m;
}

TEST(Template, BadSlots) {
  auto m = error_of([] { Template("{soft:0}", "p"); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("column 1: '{soft:0}': expected {soft} or {soft:N}"), std::string::npos) << m;
  m = error_of([] { Template("{soft:x}", "p"); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("expected {soft} or {soft:N}"), std::string::npos) << m;
  m = error_of([] { Template("x {my field}", "p"); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("column 3: '{my field}' is not a slot"), std::string::npos) << m;
  m = error_of([] { Template("{mask} {mask}", "p"); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("column 8: a second {mask}"), std::string::npos) << m;
  m = error_of([] { Template("{a..b}", "p"); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("is not a slot"), std::string::npos) << m;
}

TEST(Template, UnknownFieldNamesFieldTemplateAndLine) {
  const Template t("{txt} It was {mask}.", "prompt.template");
  const auto m = error_of([&] { t.render(json{{"text", "x"}, {"label", "positive"}}, kSource); },
                          pft::ErrorKind::Input);
  EXPECT_NE(m.find("train.jsonl:17: field 'txt' of prompt.template \"{txt} It was {mask}.\""),
            std::string::npos) << m;
  EXPECT_NE(m.find("did you mean {text}?"), std::string::npos) << m;
}

TEST(Template, NullAndObjectFieldsAreErrors) {
  const Template t("{a}", "t");
  EXPECT_THROW(t.render(json{{"a", nullptr}}, kSource), pft::Error);
  EXPECT_THROW(t.render(json{{"a", json::object()}}, kSource), pft::Error);
  EXPECT_THROW(t.render(json::array(), kSource), pft::Error);
}

TEST(Verbalizer, LabelsWordsAndAnswers) {
  const Verbalizer v({{"positive", {"great", "good"}}, {"negative", {"terrible"}}},
                     {"negative", "positive"});
  EXPECT_EQ(v.num_labels(), 2u);
  EXPECT_EQ(v.words(1), (std::vector<std::string>{"great", "good"}));
  EXPECT_EQ(v.answer("negative"), "terrible");
  EXPECT_EQ(v.index_of("positive"), 1u);
  EXPECT_FALSE(v.index_of("neutral").has_value());
}

TEST(Verbalizer, Errors) {
  auto m = error_of([] { Verbalizer({{"positive", {"great"}}}, {"negative", "positive"}); },
                    pft::ErrorKind::Config);
  EXPECT_NE(m.find("prompt.verbalizer: label 'negative' has no words"), std::string::npos) << m;
  m = error_of([] { Verbalizer({{"postive", {"great"}}, {"negative", {"bad"}}}, {"negative", "positive"}); },
               pft::ErrorKind::Config);
  EXPECT_NE(m.find("prompt.verbalizer.postive: 'postive' is not one of task.labels"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'positive'?"), std::string::npos) << m;
  m = error_of([] { Verbalizer({{"a", {" "}}}, {"a"}); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("prompt.verbalizer.a: empty word"), std::string::npos) << m;
  m = error_of([] { Verbalizer({{"a", {"x"}}}, {}); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("needs task.labels"), std::string::npos) << m;
}

namespace {

std::vector<json> demo_pool() {
  std::vector<json> pool;
  for (int i = 0; i < 10; ++i) {
    pool.push_back({{"text", "review " + std::to_string(i)}, {"label", i < 7 ? "positive" : "negative"}});
  }
  return pool;
}

}  // namespace

TEST(Demos, FixedIdsRenderWithVerbalizedAnswers) {
  const Verbalizer v({{"positive", {"great"}}, {"negative", {"terrible"}}}, {"negative", "positive"});
  DemoOptions o;
  o.template_text = "{text} It was {mask}.";
  o.ids = {8, 0};
  o.separator = " ";
  const DemoSet demos(demo_pool(), {}, o, &v);
  EXPECT_EQ(demos.render_for(0), "review 8 It was terrible. review 0 It was great. ");
  EXPECT_EQ(demos.render_for(5), demos.render_for(0));
}

TEST(Demos, SeededSamplingIsDeterministicAndSeedDependent) {
  DemoOptions o;
  o.template_text = "{text}";
  o.num = 3;
  o.seed = 7;
  const DemoSet a(demo_pool(), {}, o, nullptr);
  const DemoSet b(demo_pool(), {}, o, nullptr);
  EXPECT_EQ(a.select(0), b.select(0));
  EXPECT_EQ(a.select(0).size(), 3u);
  o.seed = 8;
  const DemoSet c(demo_pool(), {}, o, nullptr);
  bool differs = false;
  for (std::uint64_t s = 8; s < 16 && !differs; ++s) {
    o.seed = s;
    differs = DemoSet(demo_pool(), {}, o, nullptr).select(0) != a.select(0);
  }
  EXPECT_TRUE(differs);
}

TEST(Demos, ResamplePerExample) {
  DemoOptions o;
  o.template_text = "{text}";
  o.num = 2;
  o.resample = true;
  const DemoSet d(demo_pool(), {}, o, nullptr);
  EXPECT_EQ(d.select(3), d.select(3));
  bool differs = false;
  for (std::size_t i = 0; i < 10 && !differs; ++i) differs = d.select(i) != d.select(0);
  EXPECT_TRUE(differs);
}

TEST(Demos, BalancedPerLabel) {
  DemoOptions o;
  o.template_text = "{text}";
  o.num = 4;
  o.balanced = true;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    o.seed = seed;
    const DemoSet d(demo_pool(), {}, o, nullptr);
    int negative = 0;
    for (const auto i : d.select(0)) negative += i >= 7;
    EXPECT_EQ(negative, 2) << "seed " << seed;
  }
}

TEST(Demos, ChainOfThoughtExemplars) {
  DemoOptions o;
  o.template_text = "Q: {question}\nA: {rationale} So the answer is {mask}.";
  o.ids = {0};
  o.label_field = "answer";
  const DemoSet d({json{{"question", "2+3?"}, {"rationale", "2 plus 3 is 5."}, {"answer", "5"}}}, {}, o,
                  nullptr);
  EXPECT_EQ(d.render_for(0), "Q: 2+3?\nA: 2 plus 3 is 5. So the answer is 5.\n");
}

TEST(Demos, Errors) {
  DemoOptions o;
  o.template_text = "{text}";
  o.ids = {12};
  auto m = error_of([&] { DemoSet(demo_pool(), {}, o, nullptr); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("prompt.demo_ids: 12 is out of range: the demo file has 10"), std::string::npos) << m;
  o.ids.clear();
  o.num = 11;
  m = error_of([&] { DemoSet(demo_pool(), {}, o, nullptr); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("prompt.num_demos: 11 demonstrations asked for"), std::string::npos) << m;
  o.num = 8;
  o.balanced = true;
  m = error_of([&] { DemoSet(demo_pool(), {}, o, nullptr); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("prompt.demo_balanced: label 'negative' has 3 demonstrations, 4 needed"),
            std::string::npos) << m;
  o.template_text = "{demos}";
  m = error_of([&] { DemoSet(demo_pool(), {}, o, nullptr); }, pft::ErrorKind::Config);
  EXPECT_NE(m.find("prompt.demo_template: {demos} cannot appear"), std::string::npos) << m;
}

TEST(Demos, MissingFieldInADemoNamesItsLine) {
  DemoOptions o;
  o.template_text = "{review}";
  o.ids = {0};
  const DemoSet d({json{{"text", "x"}}}, {Source{"demos.jsonl", 1}}, o, nullptr);
  const auto m = error_of([&] { d.render_for(0); }, pft::ErrorKind::Input);
  EXPECT_NE(m.find("demos.jsonl:1: field 'review' of prompt.demo_template"), std::string::npos) << m;
}
