// Config parsing, defaults, overrides and every error path. Each error test checks that the
// message names where the problem is (file or --set, and the JSON path) and what was
// expected, so a message that loses its path fails here.

#include <gtest/gtest.h>

#include "pft/config/config.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "support/test_util.h"

using nlohmann::json;
using pft::config::Purpose;

namespace {

// The message of the pft::Error (Config) that `fn` throws; fails the test otherwise.
template <class Fn>
std::string config_error(Fn&& fn) {
  try {
    fn();
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), pft::ErrorKind::Config) << e.what();
    EXPECT_EQ(pft::exit_code(e.kind()), 2);
    return e.what();
  }
  ADD_FAILURE() << "expected a config error";
  return {};
}

std::string write_config(const pft::test::TempDir& dir, const std::string& text) {
  const std::string path = dir.file("run.json");
  pft::test::write_text(path, text);
  return path;
}

}  // namespace

TEST(Config, DefaultsFillEveryKey) {
  const auto config = pft::config::from_json(json::object(), "empty");
  EXPECT_EQ(config.train.batch_size, 16);
  EXPECT_DOUBLE_EQ(config.train.lr, 5e-5);
  EXPECT_EQ(config.train.seed, 42);
  EXPECT_EQ(config.peft.method, "none");
  EXPECT_EQ(config.task.type, "sequence_classification");
  EXPECT_EQ(config.tokenizer.max_length, 128);
  const auto resolved = pft::config::to_json(config);
  for (const auto& key : pft::config::all_keys()) {
    const auto dot = key.find('.');
    EXPECT_TRUE(resolved[key.substr(0, dot)].contains(key.substr(dot + 1))) << key;
  }
}

TEST(Config, ReadsEveryTypeOfValue) {
  const json doc = json::parse(R"({
    "model": {"path": "/models/bert"},
    "train": {"lr": 3e-4, "batch_size": 8, "max_steps": 1e3},
    "generate": {"do_sample": true, "top_p": 0.9},
    "task": {"labels": ["neg", "pos"]},
    "prompt": {"verbalizer": {"pos": "great", "neg": ["bad", "awful"]}}
  })");
  const auto c = pft::config::from_json(doc, "inline");
  EXPECT_EQ(c.model.path, "/models/bert");
  EXPECT_EQ(c.tokenizer.path, "/models/bert");  // defaults to model.path
  EXPECT_DOUBLE_EQ(c.train.lr, 3e-4);
  EXPECT_EQ(c.train.batch_size, 8);
  EXPECT_EQ(c.train.max_steps, 1000);  // an integral float is an integer
  EXPECT_TRUE(c.generate.do_sample);
  EXPECT_EQ(c.task.labels, (std::vector<std::string>{"neg", "pos"}));
  EXPECT_EQ(c.prompt.verbalizer.at("pos"), std::vector<std::string>{"great"});
  EXPECT_EQ(c.prompt.verbalizer.at("neg"), (std::vector<std::string>{"bad", "awful"}));
}

TEST(Config, UnknownKeySuggestsTheNearMiss) {
  pft::test::TempDir dir;
  const auto path = write_config(dir, R"({"train": {"bacth_size": 8}})");
  const auto message = config_error([&] { pft::config::load(path, {}); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("train.bacth_size"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown key"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'train.batch_size'"), std::string::npos) << message;
}

TEST(Config, UnknownKeyFoundInAnotherSection) {
  const auto message = config_error(
      [] { pft::config::from_json(json::parse(R"({"train": {"lora_alpha": 4}})"), "f.json"); });
  EXPECT_NE(message.find("f.json: train.lora_alpha: unknown key (did you mean 'peft.lora_alpha'?)"),
            std::string::npos)
      << message;
}

TEST(Config, UnknownSection) {
  const auto message =
      config_error([] { pft::config::from_json(json::parse(R"({"trian": {}})"), "f.json"); });
  EXPECT_NE(message.find("f.json: trian: unknown key (did you mean 'train'?)"), std::string::npos)
      << message;
}

TEST(Config, TopLevelCommentIsANoteThatMustBeAString) {
  const auto config = pft::config::from_json(
      json::parse(R"({"comment": "what this run is for", "train": {"lr": 0.01}})"), "f.json");
  EXPECT_DOUBLE_EQ(config.train.lr, 0.01);
  const auto message =
      config_error([] { pft::config::from_json(json::parse(R"({"comment": 3})"), "f.json"); });
  EXPECT_NE(message.find("f.json: comment: expected a string (a note for the reader), got"),
            std::string::npos)
      << message;
}

TEST(Config, WrongTypesNameThePathAndTheExpectation) {
  const auto message = config_error([] {
    pft::config::from_json(json::parse(R"({
      "train": {"batch_size": "16", "lr": true},
      "task": {"labels": ["a", 1]},
      "model": {"path": 3},
      "prompt": {"verbalizer": {"pos": 1}}
    })"),
                           "f.json");
  });
  // Every problem is reported at once, one per line.
  EXPECT_NE(message.find("f.json: train.batch_size: expected an integer, got string \"16\""),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("f.json: train.lr: expected a number, got boolean true"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("f.json: task.labels: expected an array of strings"), std::string::npos)
      << message;
  EXPECT_NE(message.find("f.json: model.path: expected a string, got number 3"), std::string::npos)
      << message;
  EXPECT_NE(message.find("f.json: prompt.verbalizer: expected an object mapping each label"),
            std::string::npos)
      << message;
}

TEST(Config, NonIntegralNumberIsNotAnInteger) {
  const auto message = config_error(
      [] { pft::config::from_json(json::parse(R"({"train": {"epochs": 1.5}})"), "f.json"); });
  EXPECT_NE(message.find("train.epochs: expected an integer, got number 1.5"), std::string::npos)
      << message;
}

TEST(Config, SectionMustBeAnObject) {
  const auto message =
      config_error([] { pft::config::from_json(json::parse(R"({"train": [1]})"), "f.json"); });
  EXPECT_NE(message.find("f.json: train: expected an object"), std::string::npos) << message;
}

TEST(Config, TopLevelMustBeAnObject) {
  const auto message =
      config_error([] { pft::config::from_json(json::parse("[1, 2]"), "f.json"); });
  EXPECT_NE(message.find("f.json: expected a JSON object at the top level"), std::string::npos)
      << message;
}

TEST(Config, OutOfRangeValues) {
  const auto message = config_error([] {
    pft::config::from_json(json::parse(R"({
      "train": {"batch_size": 0, "lr": -1},
      "peft": {"lora_dropout": 1.0},
      "generate": {"top_p": 0}
    })"),
                           "f.json");
  });
  EXPECT_NE(message.find("f.json: train.batch_size: must be in [1, 1048576], got 0"), std::string::npos) << message;
  EXPECT_NE(message.find("f.json: train.lr: must be > 0, got -1"), std::string::npos) << message;
  EXPECT_NE(message.find("f.json: peft.lora_dropout: must be in [0, 1), got 1"), std::string::npos)
      << message;
  EXPECT_NE(message.find("f.json: generate.top_p: must be in (0, 1], got 0"), std::string::npos)
      << message;
}

TEST(Config, EnumValueWithSuggestion) {
  const auto message = config_error(
      [] { pft::config::from_json(json::parse(R"({"peft": {"method": "lorra"}})"), "f.json"); });
  EXPECT_NE(message.find("f.json: peft.method: must be one of none, lora"), std::string::npos)
      << message;
  EXPECT_NE(message.find("got \"lorra\" (did you mean \"lora\"?)"), std::string::npos) << message;
}

TEST(Config, CrossFieldRule) {
  const auto message = config_error([] {
    pft::config::from_json(
        json::parse(R"({"generate": {"min_new_tokens": 10, "max_new_tokens": 5}})"), "f.json");
  });
  EXPECT_NE(message.find("generate.min_new_tokens: must be <= generate.max_new_tokens (5), got 10"),
            std::string::npos)
      << message;
}

TEST(Config, RequiredKeysDependOnTheCommand) {
  // Nothing is required to print a config...
  EXPECT_NO_THROW(pft::config::from_json(json::object(), "f.json", Purpose::Any));
  // ...but training needs a model, data and a method that trains something.
  const auto message =
      config_error([] { pft::config::from_json(json::object(), "f.json", Purpose::Train); });
  EXPECT_NE(message.find("f.json: model.path: required by `pft train` but missing"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("f.json: data.train: required by `pft train` but missing"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("f.json: peft.method: `none` leaves nothing to train"), std::string::npos)
      << message;
  const auto eval =
      config_error([] { pft::config::from_json(json::object(), "f.json", Purpose::Eval); });
  EXPECT_NE(eval.find("model.path: required by `pft eval`"), std::string::npos) << eval;
}

TEST(Config, MalformedJsonNamesLineAndColumn) {
  pft::test::TempDir dir;
  const auto path = write_config(dir, "{\n  \"train\": {\n    \"lr\": 1e-4,\n  }\n}\n");
  const auto message = config_error([&] { pft::config::load(path, {}); });
  EXPECT_NE(message.find(path + ":4:3: malformed JSON"), std::string::npos) << message;
}

TEST(Config, MalformedJsonOnTheFirstLine) {
  const auto message = config_error([] { pft::config::parse_json_text("{\"a\" 1}", "x.json"); });
  EXPECT_NE(message.find("x.json:1:6: malformed JSON"), std::string::npos) << message;
}

TEST(Config, EmptyFileIsMalformed) {
  pft::test::TempDir dir;
  const auto path = write_config(dir, "");
  const auto message = config_error([&] { pft::config::load(path, {}); });
  EXPECT_NE(message.find(path + ":1:1: malformed JSON"), std::string::npos) << message;
}

TEST(Config, DuplicateKeysAreErrors) {
  const auto message = config_error([] {
    pft::config::parse_json_text(R"({"train": {"lr": 1, "batch_size": 2, "lr": 3}})", "d.json");
  });
  EXPECT_NE(message.find("d.json: train.lr: duplicate key"), std::string::npos) << message;
}

TEST(Config, MissingFileIsAConfigError) {
  const auto message = config_error([] { pft::config::load("/nonexistent/run.json", {}); });
  EXPECT_NE(message.find("/nonexistent/run.json"), std::string::npos) << message;
}

TEST(Config, OverridesAcceptEveryKindOfValue) {
  pft::test::TempDir dir;
  const auto path = write_config(dir, R"({"train": {"lr": 1e-4}, "model": {"path": "/m"}})");
  const auto c =
      pft::config::load(path, {"train.lr=3e-4", "train.batch_size=4", "generate.do_sample=true",
                               "task.labels=[\"a\",\"b\"]", "prompt.verbalizer={\"a\":[\"x\"]}",
                               "train.output_dir=2024", "model.path=\"/quoted\"",
                               "data.text_field=sentence", "peft={\"method\":\"lora\",\"r\":4}"});
  EXPECT_DOUBLE_EQ(c.train.lr, 3e-4);
  EXPECT_EQ(c.train.batch_size, 4);
  EXPECT_TRUE(c.generate.do_sample);
  EXPECT_EQ(c.task.labels, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.prompt.verbalizer.at("a"), std::vector<std::string>{"x"});
  EXPECT_EQ(c.train.output_dir, "2024");  // string keys take the text as typed
  EXPECT_EQ(c.model.path, "/quoted");
  EXPECT_EQ(c.data.text_field, "sentence");
  EXPECT_EQ(c.peft.method, "lora");
  EXPECT_EQ(c.peft.get<pft::peft::LoraConfig>().r, 4);
}

TEST(Config, LaterOverridesWin) {
  const auto c = pft::config::load("", {"train.seed=1", "train.seed=7"});
  EXPECT_EQ(c.train.seed, 7);
}

TEST(Config, OverrideOfUnknownKeyIsTheSameErrorAsInAFile) {
  const auto message = config_error([] { pft::config::load("", {"train.bacth_size=8"}); });
  EXPECT_NE(message.find("--set train.bacth_size=8: train.bacth_size: unknown key (did you mean "
                         "'train.batch_size'?)"),
            std::string::npos)
      << message;
  const auto deep = config_error([] { pft::config::load("", {"train.lr.x=1"}); });
  EXPECT_NE(deep.find("--set train.lr.x=1: train.lr.x: unknown key"), std::string::npos) << deep;
  const auto section = config_error([] { pft::config::load("", {"tran.lr=1"}); });
  EXPECT_NE(section.find("--set tran.lr=1: tran.lr: unknown key"), std::string::npos) << section;
}

TEST(Config, OverrideWithWrongTypeNamesTheOverride) {
  pft::test::TempDir dir;
  const auto path = write_config(dir, R"({"train": {"lr": 1e-4}})");
  const auto message = config_error([&] { pft::config::load(path, {"train.batch_size=abc"}); });
  EXPECT_NE(message.find("--set train.batch_size=abc: train.batch_size: expected an integer, got "
                         "string \"abc\""),
            std::string::npos)
      << message;
  const auto range = config_error([&] { pft::config::load(path, {"train.batch_size=-2"}); });
  EXPECT_NE(range.find("--set train.batch_size=-2: train.batch_size: must be in [1, 1048576], got -2"),
            std::string::npos) << range;
}

TEST(Config, MalformedOverride) {
  const auto message = config_error([] { pft::config::load("", {"train.lr"}); });
  EXPECT_NE(message.find("--set train.lr: expected key.path=value"), std::string::npos) << message;
  const auto empty = config_error([] { pft::config::load("", {"train..lr=1"}); });
  EXPECT_NE(empty.find("--set train..lr=1: empty component"), std::string::npos) << empty;
}

TEST(Config, PathsExpandHomeAndVariables) {
  ::setenv("PFT_TEST_ROOT", "/data/root", 1);
  ::unsetenv("PFT_TEST_UNSET");
  const auto c = pft::config::load(
      "", {"data.train=${PFT_TEST_ROOT}/train.jsonl",
           "data.eval=${PFT_TEST_UNSET:-/fallback}/dev.jsonl", "model.path=~/models/bert"});
  EXPECT_EQ(c.data.train, "/data/root/train.jsonl");
  EXPECT_EQ(c.data.eval, "/fallback/dev.jsonl");
  EXPECT_EQ(c.model.path, std::string(std::getenv("HOME")) + "/models/bert");
  const auto message =
      config_error([] { pft::config::load("", {"data.test=${PFT_TEST_UNSET}/x"}); });
  EXPECT_NE(message.find("data.test"), std::string::npos) << message;
  EXPECT_NE(message.find("PFT_TEST_UNSET"), std::string::npos) << message;
}

TEST(Config, ResolvedConfigRoundTrips) {
  const auto c =
      pft::config::load("", {"train.lr=0.01", "peft.method=lora", "task.labels=[\"x\"]"});
  const auto resolved = pft::config::to_json(c);
  const auto again = pft::config::from_json(json::parse(resolved.dump()), "resolved");
  EXPECT_EQ(pft::config::to_json(again), resolved);
}

TEST(Config, ReferenceListsEveryKey) {
  const std::string reference = pft::config::reference_markdown();
  for (const auto& key : pft::config::all_keys()) {
    const auto leaf = key.substr(key.find('.') + 1);
    EXPECT_NE(reference.find("| `" + leaf + "` |"), std::string::npos) << key;
  }
}

TEST(Config, DocsAreCurrent) {
  // docs/config.md embeds the generated reference; regenerate with
  // `pft config --reference` when a key changes.
  const std::string doc = pft::read_file(pft::test::source_dir() + "/docs/config.md");
  EXPECT_NE(doc.find(pft::config::reference_markdown()), std::string::npos)
      << "docs/config.md is out of date: paste the output of `pft config --reference` into it";
}

TEST(Config, ShippedConfigsAreValid) {
  for (const char* name : {"example.json", "sentiment.json", "sentiment_cloze.json",
                           "sentiment_t5.json", "ner.json", "translation.json"}) {
    const std::string path = pft::test::source_dir() + "/configs/" + name;
    EXPECT_NO_THROW(pft::config::load(path, {}, Purpose::Train)) << path;
  }
}

TEST(Config, TemplateSoftTokenKeysAreCheckedAndMethodNoneTrainsThem) {
  const auto bad = config_error([] {
    pft::config::from_json(json::parse(R"({"prompt": {"soft_init": "random"}})"), "f.json");
  });
  EXPECT_NE(bad.find("f.json: prompt.soft_init"), std::string::npos) << bad;
  const auto text = config_error([] {
    pft::config::from_json(
        json::parse(R"({"prompt": {"template": "{soft:2} {text} {mask}", "soft_init": "text"}})"),
        "f.json");
  });
  EXPECT_NE(text.find("f.json: prompt.soft_init_text: required when prompt.soft_init is text"),
            std::string::npos)
      << text;
  // A template with {soft} slots has something to train even with peft.method none.
  auto doc = json::parse(R"({"model": {"path": "m"}, "data": {"train": "t.jsonl"},
                             "prompt": {"template": "{soft:2} {text} It was {mask}."}})");
  EXPECT_NO_THROW(pft::config::from_json(doc, "f.json", Purpose::Train));
  doc["prompt"]["template"] = "{text} It was {mask}.";
  const auto none = config_error([&] { pft::config::from_json(doc, "f.json", Purpose::Train); });
  EXPECT_NE(none.find("f.json: peft.method: `none` leaves nothing to train (no {soft} slot"),
            std::string::npos)
      << none;
}

// A --set value is a string when it is not JSON, whatever bytes it holds: one that is not
// UTF-8 (here for a number) is a config error naming the key, not a JSON library exception.
TEST(Config, OverrideThatIsNotUtf8IsAConfigErrorNamingTheKey) {
  pft::test::TempDir dir;
  const auto path = write_config(dir, "{}");
  const auto message = config_error([&] { pft::config::load(path, {"train.lr=a\xff" "b"}); });
  EXPECT_NE(message.find("train.lr"), std::string::npos) << message;
}

TEST(Config, LoraVariantKeysAreChecked) {
  const auto ok = pft::config::from_json(json::parse(R"({"peft": {"method": "lora",
      "rank_pattern": {"query": 2}, "alpha_pattern": {"value": 3.5}, "use_dora": true,
      "init_lora_weights": "pissa", "layers_to_transform": [0, 2], "layers_pattern": "layer",
      "modules_to_save": ["pooler.dense"]}, "train": {"loraplus_lr_ratio": 16}})"),
                                         "f.json");
  EXPECT_EQ(ok.peft.get<pft::peft::LoraConfig>().rank_pattern.at("query"), 2);
  EXPECT_DOUBLE_EQ(ok.peft.get<pft::peft::LoraConfig>().alpha_pattern.at("value"), 3.5);
  EXPECT_EQ(ok.peft.layers_to_transform, (std::vector<std::int64_t>{0, 2}));
  const auto error = [](const char* text) {
    return config_error([&] { pft::config::from_json(json::parse(text), "f.json"); });
  };
  auto m = error(R"({"peft": {"method": "lora", "rank_pattern": {"query": 0}}})");
  EXPECT_NE(m.find("f.json: peft.rank_pattern.query: must be >= 1"), std::string::npos) << m;
  m = error(R"({"peft": {"method": "lora", "rank_pattern": {"query": "two"}}})");
  EXPECT_NE(m.find("peft.rank_pattern: expected an object mapping each pattern to an integer"),
            std::string::npos)
      << m;
  m = error(R"({"peft": {"method": "lora", "alpha_pattern": {"(query": 2}}})");
  EXPECT_NE(m.find("peft.alpha_pattern: '(query' is not a valid regular expression"),
            std::string::npos)
      << m;
  m = error(R"({"peft": {"method": "lora", "init_lora_weights": "pisa"}})");
  EXPECT_NE(m.find("did you mean \"pissa\""), std::string::npos) << m;
  m = error(R"({"peft": {"method": "ia3"}, "train": {"loraplus_lr_ratio": 4}})");
  EXPECT_NE(m.find("train.loraplus_lr_ratio: LoRA+ needs peft.method lora"), std::string::npos)
      << m;
  m = error(R"({"peft": {"method": "lora", "layers_pattern": "layer"}})");
  EXPECT_NE(m.find("peft.layers_pattern: needs peft.layers_to_transform"), std::string::npos) << m;
}
