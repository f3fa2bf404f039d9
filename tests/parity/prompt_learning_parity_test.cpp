// Prefix tuning, prompt tuning and p-tuning against live Hugging Face PEFT, on a tiny random
// BERT classifier and a tiny random T5 (tests/python/prompt_learning_reference.py):
//  - adapters PEFT saved (after random perturbation of every trainable tensor) give PEFT's
//    logits in pft (BERT through `pft eval --adapter`, T5 through the library);
//  - adapters pft trained and saved give pft's logits in PEFT (PeftModel.from_pretrained);
//  - training lowers the loss and leaves every base-model tensor bit-identical;
//  - pft's `full` T5 placement equals transformers' T5 blocks run with those prefixes;
//  - bad configs and adapters of another base model are errors naming the key or file.
// Tolerance: fp32 max abs diff <= 1e-5.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>

#include "pft/io/safetensors.h"
#include "pft/model/bert/family.h"
#include "pft/model/bert/loader.h"
#include "pft/model/t5/family.h"
#include "pft/model/t5/t5.h"
#include "pft/peft/method.h"
#include "pft/peft/prompt_learning.h"
#include "pft/peft/prompt_tuning/prompt_tuning.h"
#include "pft/peft/registry.h"
#include "pft/task/hooked_model.h"
#include "pft/task/sequence_classification.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "support/compare.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using pft::test::run_pft;

namespace {

constexpr double kTolerance = 1e-5;

using pft::test::max_abs_diff;

torch::Tensor logits_of(const json& rows) {
  std::vector<torch::Tensor> out;
  for (const auto& r : rows)
    out.push_back(torch::tensor(r.get<std::vector<double>>(), torch::kDouble));
  return torch::stack(out);
}

class PromptLearning : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new pft::test::TempDir();
    const auto r = pft::test::run_python(
        "prompt_learning_reference.py",
        {"make", dir_->path(), pft::test::shared_data("tokenizers/bert-base-uncased/vocab.txt")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json config = {
        {"model", {{"path", bert()}}},
        {"task", {{"labels", {"negative", "positive"}}}},
        {"peft", {{"method", "prefix_tuning"}, {"num_virtual_tokens", 5}}},
    };
    pft::test::write_text(config_path(), config.dump(2));
    std::string lines;
    for (const auto& t : json::parse(pft::read_file(dir_->file("texts.json")))) {
      lines += json({{"text", t}, {"label", "positive"}}).dump() + "\n";
    }
    pft::test::write_text(dir_->file("texts.jsonl"), lines);
    // Training data: 64 lines of real SST-2.
    pft::test::write_text(dir_->file("train.jsonl"),
                          pft::test::head_lines(pft::test::shared_data("sst2/train.jsonl"), 64));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string bert() { return dir_->file("bert"); }
  static std::string t5() { return dir_->file("t5"); }
  static std::string config_path() { return dir_->file("run.json"); }
  static std::vector<std::string> cases(const std::string& model) {
    return json::parse(pft::read_file(dir_->file("cases.json")))[model]
        .get<std::vector<std::string>>();
  }

  /// `pft eval --adapter` logits of texts.jsonl (or of `data`), one row per line.
  static torch::Tensor pft_bert_logits(const std::string& adapter, const std::string& data = {}) {
    const auto pred = dir_->file("pred.jsonl");
    const auto r = run_pft({"eval", "--config", config_path(), "--adapter", adapter, "--data",
                            data.empty() ? dir_->file("texts.jsonl") : data, "--predictions", pred,
                            "--threads", "1"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::pair<std::size_t, json>> rows;
    std::ifstream in(pred);
    std::string line;
    while (std::getline(in, line)) {
      const auto p = json::parse(line);
      rows.emplace_back(p["index"].get<std::size_t>(), p["logits"]);
    }
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    json all = json::array();
    for (const auto& [i, l] : rows) all.push_back(l);
    return logits_of(all);
  }

  static std::map<std::string, torch::Tensor> t5_batch() {
    return pft::io::read_safetensors(dir_->file("t5_batch.safetensors")).tensors;
  }

  static torch::Tensor t5_logits(pft::peft::AdaptedModel& a, pft::model::T5& model) {
    auto b = t5_batch();
    torch::NoGradGuard no_grad;
    return pft::task::seq2seq_logits(*model, pft::task::ModelHooks(a.method.get()), b["input_ids"],
                                     b["attention_mask"], b["decoder_input_ids"],
                                     b["decoder_attention_mask"]);
  }

  /// Teacher-forced cross entropy on the batch (targets: the decoder inputs shifted left).
  static torch::Tensor t5_loss(pft::peft::AdaptedModel& a, pft::model::T5& model) {
    auto b = t5_batch();
    const auto logits = pft::task::seq2seq_logits(
        *model, pft::task::ModelHooks(a.method.get()), b["input_ids"], b["attention_mask"],
        b["decoder_input_ids"], b["decoder_attention_mask"]);
    return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                                b["decoder_input_ids"].roll(-1, 1).reshape({-1}));
  }

  static inline pft::test::TempDir* dir_ = nullptr;
};

TEST_F(PromptLearning, BertAdaptersSavedByPeftGiveTheSameLogitsInPft) {
  const auto names = cases("bert");
  ASSERT_EQ(names.size(), 5u);
  for (const auto& name : names) {
    const auto ref = logits_of(
        json::parse(pft::read_file(dir_->file("bert_" + name + "/logits.json")))["logits"]);
    const auto ours = pft_bert_logits(dir_->file("bert_" + name + "/adapter"));
    const auto diff = max_abs_diff(ours, ref);
    std::cout << "[ measure ] PEFT -> pft, BERT " << name << ": max abs diff " << diff << "\n";
    EXPECT_LE(diff, kTolerance) << name;
  }
}

TEST_F(PromptLearning, T5AdaptersSavedByPeftGiveTheSameLogitsInPft) {
  const auto names = cases("t5");
  ASSERT_EQ(names.size(), 5u);
  for (const auto& name : names) {
    const auto adapter = dir_->file("t5_" + name + "/adapter");
    auto model = pft::model::load_t5(t5());
    auto method = pft::peft::method_from_adapter(adapter);
    ASSERT_TRUE(method) << name;
    auto a = pft::peft::attach_method(model.ptr(), std::move(method),
                                      pft::model::t5_model_info(model->config(), t5()));
    pft::peft::load_adapter(a, adapter);
    const auto ref = pft::io::read_safetensors(dir_->file("t5_" + name + "/logits.safetensors"))
                         .tensors.at("logits");
    const auto diff = max_abs_diff(t5_logits(a, model), ref);
    std::cout << "[ measure ] PEFT -> pft, T5 " << name << ": max abs diff " << diff << "\n";
    EXPECT_LE(diff, kTolerance) << name;
  }
}

// The config of each case as pft's keys.
std::vector<std::pair<std::string, pft::config::PeftConfig>> pft_cases() {
  std::vector<std::pair<std::string, pft::config::PeftConfig>> out;
  pft::config::PeftConfig c;
  c.num_virtual_tokens = 4;
  c.method = "prefix_tuning";
  out.emplace_back("prefix", c);
  c.get<pft::peft::PrefixTuningConfig>().prefix_projection = true;
  c.encoder_hidden_size = 16;
  out.emplace_back("prefix_proj", c);
  c = {};
  c.num_virtual_tokens = 4;
  c.method = "prompt_tuning";
  c.get<pft::peft::PromptTuningConfig>().prompt_tuning_init = "SAMPLE_VOCAB";
  out.emplace_back("prompt", c);
  c.method = "p_tuning";
  c.encoder_hidden_size = 12;
  out.emplace_back("ptuning_mlp", c);
  c.get<pft::peft::PTuningConfig>().encoder_reparameterization_type = "LSTM";
  out.emplace_back("ptuning_lstm", c);
  return out;
}

// Every tensor of the model outside the method and the trained head, copied.
std::map<std::string, torch::Tensor> base_tensors(const pft::peft::AdaptedModel& a) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : a.model->named_parameters()) {
    if (p.key().rfind("prompt_encoder.", 0) == 0 || p.key().rfind("classifier.", 0) == 0) continue;
    out[p.key()] = p.value().detach().clone();
  }
  return out;
}

void expect_base_unchanged(const pft::peft::AdaptedModel& a,
                           const std::map<std::string, torch::Tensor>& before,
                           const std::string& name) {
  const auto after = base_tensors(a);
  ASSERT_EQ(after.size(), before.size()) << name;
  std::size_t changed = 0;
  for (const auto& [key, t] : before) changed += torch::equal(t, after.at(key)) ? 0 : 1;
  EXPECT_EQ(changed, 0u) << name << ": base-model tensors changed by training";
}

// A few AdamW steps on one batch; returns the loss before and after.
std::pair<double, double> train_steps(pft::peft::AdaptedModel& a,
                                      const std::function<torch::Tensor()>& loss, int steps,
                                      double lr) {
  std::vector<torch::Tensor> params;
  for (const auto& [name, t] : a.trainable()) params.push_back(t);
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(lr).weight_decay(0.0));
  double first = 0, last = 0;
  for (int i = 0; i <= steps; ++i) {
    opt.zero_grad();
    auto l = loss();
    if (i == 0) first = l.item<double>();
    if (i == steps) {
      last = l.item<double>();
      break;
    }
    l.backward();
    opt.step();
  }
  return {first, last};
}

TEST_F(PromptLearning, BertTrainingLowersTheLossKeepsTheBaseAndPeftLoadsTheAdapter) {
  auto tok = pft::tokenizer::load_tokenizer(bert());
  const std::vector<std::string> texts{"a gorgeous , witty , seductive movie .",
                                       "the plot is nothing but boilerplate clichés"};
  pft::config::RunConfig rc;
  rc.model.path = bert();
  std::map<std::string, torch::Tensor> ours;  // by adapter folder
  for (const auto& [name, peft_config] : pft_cases()) {
    torch::manual_seed(11);
    pft::model::BertLoadOptions lo;
    lo.labels = {"negative", "positive"};
    auto model = pft::model::load_bert_for_sequence_classification(bert(), lo);
    pft::model::BertLoadInfo info;
    info.config = pft::model::read_bert_config(bert());
    auto a = pft::peft::attach_method(
        model.ptr(), pft::peft::make_method(peft_config),
        pft::model::bert_model_info(info.config, bert(), pft::model::Head::SequenceClassification));
    const auto before = base_tensors(a);
    pft::task::SequenceClassificationTask task(model.ptr(), a.method.get(), *tok, rc, lo.labels,
                                               torch::kCPU, false);
    pft::train::Batch batch;
    std::vector<std::int64_t> ids, mask, types;
    const auto e0 = tok->encode(texts[0]), e1 = tok->encode(texts[1]);
    const auto width = std::max(e0.ids.size(), e1.ids.size());
    for (const auto* e : {&e0, &e1}) {
      for (std::size_t k = 0; k < width; ++k) {
        ids.push_back(k < e->ids.size() ? e->ids[k] : 0);
        mask.push_back(k < e->ids.size() ? 1 : 0);
        types.push_back(0);
      }
    }
    const auto w = static_cast<std::int64_t>(width);
    batch.tensors["input_ids"] = torch::tensor(ids).view({2, w});
    batch.tensors["attention_mask"] = torch::tensor(mask).view({2, w});
    batch.tensors["token_type_ids"] = torch::tensor(types).view({2, w});
    batch.tensors["labels"] = torch::tensor(std::vector<std::int64_t>{1, 0});
    const auto [first, last] = train_steps(
        a, [&] { return task.loss(batch); }, 15, 1e-2);
    std::cout << "[ measure ] BERT " << name << ": loss " << first << " -> " << last << "\n";
    EXPECT_LT(last, first) << name;
    expect_base_unchanged(a, before, name);

    const auto adapter = dir_->file("pft_bert_" + name);
    pft::peft::save_adapter(a, adapter);
    {
      torch::NoGradGuard no_grad;
      ours[adapter] = task.logits(batch);
    }
    // pft reads back its own export the same way it reads PEFT's.
    pft::test::write_text(adapter + "/two.jsonl", json({{"text", texts[0]}}).dump() + "\n" +
                                                      json({{"text", texts[1]}}).dump() + "\n");
    EXPECT_LE(max_abs_diff(pft_bert_logits(adapter, adapter + "/two.jsonl"), ours[adapter]),
              kTolerance)
        << name;
  }
  // One Python process loads every adapter with PeftModel.from_pretrained.
  std::vector<std::string> args{"load-bert", bert()};
  for (const auto& [adapter, logits] : ours) args.push_back(adapter);
  const auto r = pft::test::run_python("prompt_learning_reference.py", args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& [adapter, logits] : ours) {
    const auto hf = json::parse(pft::read_file(adapter + "/hf.json"));
    const auto diff = max_abs_diff(logits, logits_of(hf["logits"]));
    std::cout << "[ measure ] pft -> PEFT, " << fs::path(adapter).filename().string()
              << ": max abs diff " << diff << "\n";
    EXPECT_LE(diff, kTolerance) << adapter;
  }
}

TEST_F(PromptLearning, T5TrainingLowersTheLossKeepsTheBaseAndPeftLoadsTheAdapter) {
  std::map<std::string, torch::Tensor> ours;  // by adapter folder
  for (const auto& [name, peft_config] : pft_cases()) {
    torch::manual_seed(12);
    auto model = pft::model::load_t5(t5());
    auto a = pft::peft::attach_method(model.ptr(), pft::peft::make_method(peft_config),
                                      pft::model::t5_model_info(model->config(), t5()));
    const auto before = base_tensors(a);
    const auto [first, last] = train_steps(
        a, [&] { return t5_loss(a, model); }, 15, 1e-2);
    std::cout << "[ measure ] T5 " << name << ": loss " << first << " -> " << last << "\n";
    EXPECT_LT(last, first) << name;
    expect_base_unchanged(a, before, name);

    const auto adapter = dir_->file("pft_t5_" + name);
    pft::peft::save_adapter(a, adapter);
    ours[adapter] = t5_logits(a, model);
  }
  std::vector<std::string> args{"load-t5", t5(), dir_->file("t5_batch.safetensors")};
  for (const auto& [adapter, logits] : ours) args.push_back(adapter);
  const auto r = pft::test::run_python("prompt_learning_reference.py", args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& [adapter, logits] : ours) {
    const auto hf = pft::io::read_safetensors(adapter + "/hf.safetensors").tensors.at("logits");
    const auto diff = max_abs_diff(logits, hf);
    std::cout << "[ measure ] pft -> PEFT, " << fs::path(adapter).filename().string()
              << ": max abs diff " << diff << "\n";
    EXPECT_LE(diff, kTolerance) << adapter;
  }
}

TEST_F(PromptLearning, T5FullPrefixPlacementMatchesTransformersBlocks) {
  std::map<std::string, torch::Tensor> ours;  // by adapter folder
  for (const bool projection : {false, true}) {
    torch::manual_seed(13);
    auto model = pft::model::load_t5(t5());
    pft::config::PeftConfig c;
    c.method = "prefix_tuning";
    c.num_virtual_tokens = 3;
    c.get<pft::peft::PrefixTuningConfig>().prefix_placement = "full";
    c.get<pft::peft::PrefixTuningConfig>().prefix_projection = projection;
    c.encoder_hidden_size = 16;
    auto a = pft::peft::attach_method(model.ptr(), pft::peft::make_method(c),
                                      pft::model::t5_model_info(model->config(), t5()));
    // Every attention layer gets its own prefix: encoder 2, decoder self 2, cross 2 layers.
    const auto saved = a.method->state_dict().at("prompt_embeddings");
    EXPECT_EQ(saved.sizes(), (std::vector<std::int64_t>{3, (2 + 2 * 2) * 2 * 32}));
    const auto [first, last] = train_steps(
        a, [&] { return t5_loss(a, model); }, 5, 1e-2);
    EXPECT_LT(last, first);
    const auto adapter = dir_->file(projection ? "pft_t5_full_proj" : "pft_t5_full");
    pft::peft::save_adapter(a, adapter);
    const auto config = json::parse(pft::read_file(adapter + "/adapter_config.json"));
    EXPECT_EQ(config["prefix_placement"], "full");
    ours[adapter] = t5_logits(a, model);
    // Reloaded by pft (inference mode) it gives the same logits.
    auto model2 = pft::model::load_t5(t5());
    auto a2 = pft::peft::attach_method(model2.ptr(), pft::peft::method_from_adapter(adapter),
                                       pft::model::t5_model_info(model2->config(), t5()));
    pft::peft::load_adapter(a2, adapter);
    EXPECT_LE(max_abs_diff(t5_logits(a2, model2), ours[adapter]), kTolerance);
  }
  std::vector<std::string> args{"full-t5", t5(), dir_->file("t5_batch.safetensors")};
  for (const auto& [adapter, logits] : ours) args.push_back(adapter);
  const auto r = pft::test::run_python("prompt_learning_reference.py", args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& [adapter, logits] : ours) {
    const auto ref = pft::io::read_safetensors(adapter + "/ref.safetensors").tensors.at("logits");
    const auto diff = max_abs_diff(logits, ref);
    std::cout << "[ measure ] T5 full placement, " << fs::path(adapter).filename().string()
              << ": max abs diff " << diff << "\n";
    EXPECT_LE(diff, kTolerance) << adapter;
  }
}

TEST_F(PromptLearning, TextInitEqualsPeftsInitialPrompt) {
  auto tok = pft::tokenizer::load_tokenizer(bert());
  auto model = pft::model::load_bert_for_sequence_classification(bert(), {});
  pft::config::PeftConfig c;
  c.method = "prompt_tuning";
  c.num_virtual_tokens = 7;
  c.get<pft::peft::PromptTuningConfig>().prompt_tuning_init = "TEXT";
  c.get<pft::peft::PromptTuningConfig>().prompt_tuning_init_text = "great movie";
  auto method = pft::peft::make_method(c);
  method->prepare(*tok);
  auto a = pft::peft::attach_method(
      model.ptr(), std::move(method),
      pft::model::bert_model_info(pft::model::read_bert_config(bert()), bert(),
                                  pft::model::Head::SequenceClassification));
  const auto ours = a.method->state_dict().at("prompt_embeddings");
  const auto ref = pft::io::read_safetensors(dir_->file("bert_prompt_text/initial.safetensors"))
                       .tensors.at("prompt_embeddings");
  EXPECT_EQ(max_abs_diff(ours, ref), 0.0);
}

TEST_F(PromptLearning, PftTrainAndEvalRunEveryMethod) {
  for (const std::vector<std::string>& set :
       {std::vector<std::string>{"peft.method=prefix_tuning", "peft.prefix_projection=true",
                                 "peft.encoder_hidden_size=16"},
        std::vector<std::string>{"peft.method=prompt_tuning", "peft.prompt_tuning_init=TEXT",
                                 "peft.prompt_tuning_init_text=it was"},
        std::vector<std::string>{"peft.method=p_tuning",
                                 "peft.encoder_reparameterization_type=LSTM"}}) {
    const auto run = dir_->file("run_" + set[0].substr(set[0].find('=') + 1));
    std::vector<std::string> args{"train",
                                  "--config",
                                  config_path(),
                                  "--output",
                                  run,
                                  "--threads",
                                  "1",
                                  "--set",
                                  "data.train=" + dir_->file("train.jsonl"),
                                  "--set",
                                  "train.max_steps=6",
                                  "--set",
                                  "train.batch_size=8",
                                  "--set",
                                  "train.lr=1e-2",
                                  "--set",
                                  "train.save_every=3"};
    for (const auto& s : set) {
      args.push_back("--set");
      args.push_back(s);
    }
    const auto r = run_pft(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // The checkpoint keeps the parameters before reparameterization; the export its output.
    const auto trainable =
        pft::io::read_safetensors(run + "/checkpoints/step-6/trainable.safetensors").tensors;
    EXPECT_EQ(trainable.count("prompt_encoder.embedding.weight"), 1u);
    EXPECT_EQ(set[0] == "peft.method=prefix_tuning",
              trainable.count("prompt_encoder.transform.0.weight") == 1);
    const auto exported =
        pft::io::read_safetensors(run + "/adapter/adapter_model.safetensors").tensors;
    EXPECT_EQ(exported.count("prompt_embeddings"), 1u);
    EXPECT_EQ(exported.count("base_model.classifier.weight"), 1u);
    if (trainable.count("prompt_encoder.transform.0.weight") != 0) {
      // Prefix projection: the export is the MLP applied to the checkpointed embedding.
      const auto t = [&](const char* name) { return trainable.at(name); };
      const auto out = torch::linear(
          torch::tanh(torch::linear(t("prompt_encoder.embedding.weight"),
                                    t("prompt_encoder.transform.0.weight"),
                                    t("prompt_encoder.transform.0.bias"))),
          t("prompt_encoder.transform.2.weight"), t("prompt_encoder.transform.2.bias"));
      EXPECT_EQ(t("prompt_encoder.embedding.weight").sizes(), (std::vector<std::int64_t>{5, 32}));
      EXPECT_LE(max_abs_diff(out, exported.at("prompt_embeddings")), kTolerance);
    }
    const auto logits = pft_bert_logits(run + "/adapter");
    EXPECT_EQ(logits.size(0), 4);
  }
}

TEST_F(PromptLearning, BadConfigsAreErrorsNamingTheKey) {
  const auto train = [&](std::vector<std::string> set) {
    std::vector<std::string> args{
        "train",    "--config",        config_path(),
        "--output", dir_->file("bad"), "--threads",
        "1",        "--set",           "data.train=" + dir_->file("train.jsonl")};
    for (const auto& s : set) {
      args.push_back("--set");
      args.push_back(s);
    }
    return run_pft(args);
  };
  struct Case {
    std::vector<std::string> set;
    std::string key;
  };
  for (const auto& c : std::vector<Case>{
           {{"peft.num_virtual_tokens=0"}, "peft.num_virtual_tokens"},
           {{"peft.method=prompt_tuning", "peft.num_virtual_tokens=-3"}, "peft.num_virtual_tokens"},
           {{"peft.prefix_projection=true"}, "peft.encoder_hidden_size"},
           {{"peft.method=prompt_tuning", "peft.prompt_tuning_init=WORDS"},
            "peft.prompt_tuning_init"},
           {{"peft.method=prompt_tuning", "peft.prompt_tuning_init=TEXT"},
            "peft.prompt_tuning_init_text"},
           {{"peft.method=p_tuning", "peft.encoder_reparameterization_type=GRU"},
            "peft.encoder_reparameterization_type"},
       }) {
    const auto r = train(c.set);
    EXPECT_EQ(r.exit_code, 2) << c.set.back() << "\n" << r.err;
    EXPECT_NE(r.err.find(c.key), std::string::npos) << c.key << "\n" << r.err;
  }
}

TEST_F(PromptLearning, AdapterOfAnotherBaseModelIsAnErrorNamingTheFile) {
  const auto copy = [&](const std::string& name, const std::function<void(json&)>& edit) {
    const auto dir = dir_->file(name);
    fs::create_directories(dir);
    fs::copy_file(dir_->file("bert_prefix/adapter/adapter_model.safetensors"),
                  dir + "/adapter_model.safetensors", fs::copy_options::overwrite_existing);
    auto config =
        json::parse(pft::read_file(dir_->file("bert_prefix/adapter/adapter_config.json")));
    edit(config);
    pft::test::write_text(dir + "/adapter_config.json", config.dump(2));
    return dir;
  };
  const auto eval = [&](const std::string& adapter) {
    return run_pft({"eval", "--config", config_path(), "--adapter", adapter, "--data",
                    dir_->file("texts.jsonl"), "--threads", "1"});
  };
  {  // Another layer count in adapter_config.json.
    const auto r = eval(copy("layers", [](json& j) { j["num_layers"] = 3; }));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("adapter_config.json: num_layers"), std::string::npos) << r.err;
  }
  {  // Another hidden size.
    const auto r = eval(copy("hidden", [](json& j) { j["token_dim"] = 64; }));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("adapter_config.json: token_dim"), std::string::npos) << r.err;
  }
  {  // No sizes in the config, but a tensor of another shape.
    const auto r = eval(copy("shape", [](json& j) {
      j.erase("num_layers");
      j.erase("token_dim");
      j["num_virtual_tokens"] = 6;
    }));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("adapter_model.safetensors: tensor 'prompt_embeddings' has shape"),
              std::string::npos)
        << r.err;
  }
  // A T5 adapter on BERT: another hidden size and layer layout.
  const auto r = eval(dir_->file("t5_prefix/adapter"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("adapter_config.json"), std::string::npos) << r.err;
}

}  // namespace
