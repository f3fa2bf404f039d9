// Checkpoint folders (config.json, shards, index errors) and load_into's name matching,
// with small synthetic modules.

#include <gtest/gtest.h>

#include "pft/io/checkpoint.h"
#include "pft/io/safetensors.h"
#include "pft/util/error.h"
#include "support/test_util.h"

namespace {

using pft::test::TempDir;
using pft::test::write_text;

template <class F>
void expect_input_error(F body, const std::vector<std::string>& parts) {
  try {
    body();
    ADD_FAILURE() << "no error thrown; expected one mentioning " << parts.front();
  } catch (const pft::Error& e) {
    EXPECT_EQ(e.kind(), pft::ErrorKind::Input) << e.what();
    for (const auto& part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << "message lacks '" << part << "': " << e.what();
    }
  }
}

/// embeddings.{LayerNorm.weight, LayerNorm.bias, word.weight} and a buffer `ids`.
struct Tiny : torch::nn::Module {
  Tiny() {
    auto embeddings = register_module("embeddings", std::make_shared<torch::nn::Module>());
    auto norm = embeddings->register_module("LayerNorm", std::make_shared<torch::nn::Module>());
    norm->register_parameter("weight", torch::zeros({4}));
    norm->register_parameter("bias", torch::zeros({4}));
    embeddings->register_parameter("word", torch::zeros({3, 4}));
    register_buffer("ids", torch::zeros({5}, torch::kInt64));
  }
};

pft::io::StateDict tiny_state(const std::string& prefix = "") {
  pft::io::StateDict s;
  s.tensors[prefix + "embeddings.LayerNorm.weight"] = torch::full({4}, 1.5);
  s.tensors[prefix + "embeddings.LayerNorm.bias"] = torch::full({4}, -0.5);
  s.tensors[prefix + "embeddings.word"] = torch::arange(12, torch::kFloat64).reshape({3, 4});
  s.tensors[prefix + "ids"] = torch::arange(5, torch::kInt64);
  for (const auto& [name, _] : s.tensors) s.source_file[name] = "mem.safetensors";
  return s;
}

std::map<std::string, torch::Tensor> values(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value();
  for (const auto& b : m.named_buffers()) out[b.key()] = b.value();
  return out;
}

TEST(LoadInto, CopiesByNameConvertingDtype) {
  Tiny model;
  const auto report = pft::io::load_into(model, tiny_state());
  EXPECT_TRUE(report.missing.empty());
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_EQ(report.loaded, 4u);
  const auto v = values(model);
  EXPECT_TRUE(torch::equal(v.at("embeddings.LayerNorm.weight"), torch::full({4}, 1.5)));
  EXPECT_EQ(v.at("embeddings.word").scalar_type(), torch::kFloat32);  // model's dtype kept
  EXPECT_TRUE(
      torch::equal(v.at("embeddings.word"), torch::arange(12, torch::kFloat32).reshape({3, 4})));
  EXPECT_TRUE(torch::equal(v.at("ids"), torch::arange(5, torch::kInt64)));
  EXPECT_FALSE(v.at("embeddings.word").grad_fn());
}

TEST(LoadInto, CopiesToTheModulesDevice_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  Tiny model;
  model.to(torch::Device(torch::kCUDA, 0), torch::kBFloat16);
  const auto report = pft::io::load_into(model, tiny_state());
  EXPECT_EQ(report.loaded, 4u);
  const auto word = values(model).at("embeddings.word");
  EXPECT_TRUE(word.is_cuda());
  EXPECT_EQ(word.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(word.cpu(), torch::arange(12, torch::kBFloat16).reshape({3, 4})));
}

TEST(LoadInto, BumpsTheVersionCounterAsCopyWould) {
  Tiny model;
  const auto before = values(model).at("embeddings.word")._version();
  pft::io::load_into(model, tiny_state());
  EXPECT_GT(values(model).at("embeddings.word")._version(), before);
}

TEST(LoadInto, StripsATaskPrefixAndRenamesLegacyNames) {
  auto state = tiny_state("bert.");
  state.tensors["bert.embeddings.LayerNorm.gamma"] =
      state.tensors.at("bert.embeddings.LayerNorm.weight");
  state.tensors["bert.embeddings.LayerNorm.beta"] =
      state.tensors.at("bert.embeddings.LayerNorm.bias");
  state.tensors.erase("bert.embeddings.LayerNorm.weight");
  state.tensors.erase("bert.embeddings.LayerNorm.bias");
  state.tensors["cls.predictions.bias"] = torch::zeros({3});
  Tiny model;
  const auto report = pft::io::load_into(model, state, {"", "bert."});
  EXPECT_TRUE(report.missing.empty());
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"cls.predictions.bias"});
  EXPECT_TRUE(torch::equal(values(model).at("embeddings.LayerNorm.bias"), torch::full({4}, -0.5)));
}

TEST(LoadInto, AddsThePrefixForABaseCheckpointInATaskModel) {
  torch::nn::Module task;
  task.register_module("bert", std::make_shared<Tiny>());
  task.register_parameter("classifier", torch::zeros({2}));
  const auto report = pft::io::load_into(task, tiny_state(), {"", "bert."});
  EXPECT_EQ(report.missing, std::vector<std::string>{"classifier"});
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_TRUE(torch::equal(values(task).at("bert.ids"), torch::arange(5, torch::kInt64)));
}

TEST(LoadInto, ReportsMissingAndUnexpected) {
  auto state = tiny_state();
  state.tensors.erase("embeddings.word");
  state.tensors["pooler.dense.weight"] = torch::zeros({2, 2});
  Tiny model;
  const auto report = pft::io::load_into(model, state);
  EXPECT_EQ(report.missing, std::vector<std::string>{"embeddings.word"});
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"pooler.dense.weight"});
}

TEST(LoadInto, ShapeMismatchNamesTensorAndShapesAndTouchesNothing) {
  auto state = tiny_state();
  state.tensors["embeddings.word"] = torch::zeros({4, 4});
  Tiny model;
  expect_input_error([&] { pft::io::load_into(model, state); },
                     {"mem.safetensors", "'embeddings.word'", "expected [3, 4]", "found [4, 4]"});
  // Checked before copying: nothing was loaded.
  EXPECT_TRUE(torch::equal(values(model).at("embeddings.LayerNorm.weight"), torch::zeros({4})));
}

TEST(LoadInto, TwoSpellingsOfOneWeightAreAnError) {
  auto state = tiny_state();
  state.tensors["embeddings.LayerNorm.gamma"] = torch::ones({4});
  Tiny model;
  expect_input_error([&] { pft::io::load_into(model, state); },
                     {"embeddings.LayerNorm.gamma", "embeddings.LayerNorm.weight"});
}

TEST(Checkpoint, LegacyNamesFollowTransformers) {
  EXPECT_EQ(pft::io::normalize_checkpoint_name("bert.encoder.layer.0.output.LayerNorm.gamma"),
            "bert.encoder.layer.0.output.LayerNorm.weight");
  EXPECT_EQ(pft::io::normalize_checkpoint_name("a.LayerNorm.beta"), "a.LayerNorm.bias");
  EXPECT_EQ(pft::io::normalize_checkpoint_name("a.LayerNorm.gammas"), "a.LayerNorm.gammas");
  EXPECT_EQ(pft::io::normalize_checkpoint_name("a.norm.gamma"), "a.norm.gamma");
}

TEST(Checkpoint, ReadsSingleFileAndShardsAndNamesSources) {
  TempDir dir;
  pft::io::save_safetensors(dir.file("one/model.safetensors"),
                            {{"a", torch::ones({2})}, {"b", torch::zeros({3})}});
  const auto one = pft::io::read_state_dict(dir.file("one"));
  EXPECT_EQ(one.tensors.size(), 2u);
  EXPECT_EQ(one.source_file.at("a"), dir.file("one/model.safetensors"));
  // A single file may be named directly.
  EXPECT_EQ(pft::io::read_state_dict(dir.file("one/model.safetensors")).tensors.size(), 2u);

  pft::io::save_safetensors(dir.file("two/model-1.safetensors"), {{"a", torch::ones({2})}});
  pft::io::save_safetensors(dir.file("two/model-2.safetensors"), {{"b", torch::zeros({3})}});
  write_text(
      dir.file("two/model.safetensors.index.json"),
      R"({"metadata": {}, "weight_map": {"a": "model-1.safetensors", "b": "model-2.safetensors"}})");
  const auto two = pft::io::read_state_dict(dir.file("two"));
  EXPECT_EQ(two.source_file.at("b"), dir.file("two/model-2.safetensors"));
  EXPECT_TRUE(torch::equal(two.tensors.at("a"), torch::ones({2})));
}

TEST(Checkpoint, ShardingErrorsNameIndexShardAndTensor) {
  TempDir dir;
  pft::io::save_safetensors(dir.file("model-1.safetensors"), {{"a", torch::ones({2})}});
  const std::string index = dir.file("model.safetensors.index.json");

  write_text(index, R"({"weight_map": {"a": "model-1.safetensors", "b": "model-9.safetensors"}})");
  expect_input_error([&] { pft::io::read_state_dict(dir.path()); },
                     {index, "'model-9.safetensors'", "'b'", "missing"});

  write_text(index, R"({"weight_map": {"a": "model-1.safetensors", "c": "model-1.safetensors"}})");
  expect_input_error([&] { pft::io::read_state_dict(dir.path()); },
                     {index, "'c'", "model-1.safetensors", "no such tensor"});

  write_text(index, R"({"weight_map": {"a": "../model-1.safetensors"}})");
  expect_input_error([&] { pft::io::read_state_dict(dir.path()); },
                     {index, "'a'", "not a file inside"});

  write_text(index, R"({"weight_map": {"a": 3}})");
  expect_input_error([&] { pft::io::read_state_dict(dir.path()); }, {index, "'a'"});

  write_text(index, R"({"metadata": {}})");
  expect_input_error([&] { pft::io::read_state_dict(dir.path()); }, {index, "weight_map"});

  write_text(index, "{\"weight_map\": {\n  \"a\": \"x\",\n  oops\n}}");
  expect_input_error([&] { pft::io::read_state_dict(dir.path()); }, {index + ":3:"});

  pft::io::save_safetensors(dir.file("model-2.safetensors"),
                            {{"a", torch::ones({2})}, {"b", torch::ones({2})}});
  write_text(index, R"({"weight_map": {"a": "model-1.safetensors", "b": "model-2.safetensors"}})");
  expect_input_error([&] { pft::io::read_state_dict(dir.path()); },
                     {"'a'", "model-1.safetensors", "model-2.safetensors"});
}

TEST(Checkpoint, CorruptShardErrorNamesShardAndTensor) {
  TempDir dir;
  // Shape [2] of F32 needs 8 bytes; the offsets span 4.
  const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})";
  std::string length(8, '\0');
  length[0] = static_cast<char>(header.size());
  write_text(dir.file("model.safetensors"), length + header + std::string(4, '\0'));
  expect_input_error([&] { pft::io::read_state_dict(dir.path()); },
                     {dir.file("model.safetensors"), "'w'"});
}

TEST(Checkpoint, FolderWithoutWeightsSaysWhatItLookedFor) {
  TempDir dir;
  expect_input_error([&] { pft::io::read_state_dict(dir.path()); },
                     {dir.path(), "model.safetensors", "pytorch_model.bin"});
  expect_input_error([&] { pft::io::read_state_dict(dir.file("nope")); },
                     {dir.file("nope"), "no such"});
}

TEST(Checkpoint, UnreadablePickleIsAClearError) {
  for (const std::string content : {"this is not a zip archive", "PK\x03\x04 but no zip after"}) {
    SCOPED_TRACE(content);
    TempDir dir;
    write_text(dir.file("pytorch_model.bin"), content);
    try {
      pft::io::read_state_dict(dir.path());
      ADD_FAILURE() << "no error";
    } catch (const pft::Error& e) {
      EXPECT_EQ(e.kind(), pft::ErrorKind::Input);
      EXPECT_NE(std::string(e.what()).find(dir.file("pytorch_model.bin")), std::string::npos);
      EXPECT_NE(std::string(e.what()).find("pickle_load"), std::string::npos) << e.what();
      EXPECT_NE(e.hint().find("safetensors"), std::string::npos);
    }
  }
}

TEST(Checkpoint, ModelConfigErrorsNameFileAndLine) {
  TempDir dir;
  expect_input_error([&] { pft::io::read_model_config(dir.path()); },
                     {dir.file("config.json"), "not found"});
  write_text(dir.file("config.json"), "{\n  \"hidden_size\": 32,\n  \"vocab_size\": ,\n}\n");
  expect_input_error([&] { pft::io::read_model_config(dir.path()); },
                     {dir.file("config.json") + ":3:"});
  write_text(dir.file("config.json"), "[1, 2]");
  expect_input_error([&] { pft::io::read_model_config(dir.path()); },
                     {dir.file("config.json"), "object"});
  write_text(dir.file("config.json"), R"({"hidden_size": 32})");
  EXPECT_EQ(pft::io::read_model_config(dir.path()).at("hidden_size"), 32);
}

}  // namespace
