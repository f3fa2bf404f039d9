// Walks both registries: every model family (model/registry.h) with every head it offers,
// each with every PEFT method (peft/config.h): load a random checkpoint that transformers
// writes from the family's example config, attach the method, run a forward and a backward
// pass through the hooks, save the adapter, load it into a fresh model and get the same
// logits. A new family or method is tested here by being registered.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <iostream>
#include <set>
#include <utility>

#include "pft/model/interfaces.h"
#include "pft/model/registry.h"
#include "pft/peft/registry.h"
#include "pft/task/hooked_model.h"
#include "pft/util/error.h"
#include "support/test_util.h"

namespace {

using Combination = std::pair<std::string, std::string>;  // model_type, method

// Combinations that cannot work, and why; every other one must.
const std::set<Combination> kNotApplicable = {
    {"t5", "bitfit"},   // T5 has no bias parameters
    {"mt5", "bitfit"},  // nor has mT5
    {"umt5", "bitfit"},  // nor UMT5
    // The example ELECTRA's embeddings (16) are narrower than its hidden states (32), and
    // virtual tokens are hidden-size wide, as PEFT makes them (PEFT fails there as well).
    {"electra", "prompt_tuning"},
    {"electra", "p_tuning"},
    // transformers' DistilBERT and ModernBERT take no cached keys/values (PEFT cannot run
    // prefix tuning on them).
    {"distilbert", "prefix_tuning"},
    {"modernbert", "prefix_tuning"},
    {"deberta-v2", "prefix_tuning"},  // nor does transformers' DeBERTa
    // ModernBERT's default config has no biases but the classifier's (a new head, trained
    // fully) and, on the masked LM, the decoder's: BitFit applies to the masked LM only.
    {"modernbert", "bitfit"},
};

struct Inputs {
  torch::Tensor ids, mask, decoder_ids, decoder_mask;
};

Inputs make_inputs(std::int64_t vocab) {
  torch::manual_seed(5);
  Inputs in;
  in.ids = torch::randint(3, vocab, {2, 7}, torch::kLong);
  in.mask = torch::ones({2, 7}, torch::kLong);
  in.mask[1].narrow(0, 4, 3).fill_(0);  // a padded row
  in.decoder_ids = torch::randint(3, vocab, {2, 4}, torch::kLong);
  in.decoder_ids.select(1, 0).fill_(0);
  in.decoder_mask = torch::ones({2, 4}, torch::kLong);
  return in;
}

// The model's output for `in` through `hooks`, whatever its interface.
torch::Tensor forward(const pft::model::LoadedModel& m, const pft::task::ModelHooks& hooks,
                      const Inputs& in) {
  if (auto* lm = m.as<pft::model::EncoderDecoderLM>()) {
    return pft::task::seq2seq_logits(*lm, hooks, in.ids, in.mask, in.decoder_ids, in.decoder_mask);
  }
  if (auto* c = m.as<pft::model::SequenceClassifier>()) {
    return c->classify(hooks.inputs(*c, in.ids, in.mask).view());
  }
  if (auto* c = m.as<pft::model::TokenClassifier>()) {
    return c->classify_tokens(hooks.inputs(*c, in.ids, in.mask).view());
  }
  if (auto* c = m.as<pft::model::MaskedLM>()) {
    return c->predict(c->encode(hooks.inputs(*c, in.ids, in.mask).view()));
  }
  ADD_FAILURE() << "the model offers none of the task interfaces";
  return {};
}

TEST(Registry, EveryFamilyHeadAndMethodBuildsRunsSavesAndLoads) {
  pft::test::TempDir dir;
  const auto families = pft::model::builtin_families();
  std::set<Combination> refused;
  int combinations = 0;
  for (const auto& family : families.families()) {
    SCOPED_TRACE(family.model_type);
    ASSERT_FALSE(family.heads.empty());
    ASSERT_TRUE(family.example_config.is_object()) << "the family needs an example config";
    const auto root = dir.file(family.model_type);
    pft::test::write_text(root + "/config.json", family.example_config.dump());
    std::vector<std::string> args{root + "/config.json", root};
    for (const auto& [head, load] : family.heads) args.push_back(pft::model::head_name(head));
    ASSERT_EQ(pft::test::run_python("make_random_model.py", args).exit_code, 0);

    for (const auto& [head, load] : family.heads) {
      const auto head_name = pft::model::head_name(head);
      SCOPED_TRACE(head_name);
      pft::model::LoadRequest request;
      request.path = root + "/" + head_name;
      request.head = head;
      for (const auto& entry : pft::peft::method_registry()) {
        SCOPED_TRACE(entry.name);
        ++combinations;
        torch::manual_seed(1);
        const auto model = load(request);
        EXPECT_EQ(model.info.model_type, family.model_type);
        EXPECT_EQ(model.info.task_type, pft::model::peft_task_type(head));
        EXPECT_GT(model.info.num_kv_heads, 0);
        pft::peft::PeftConfig config;
        config.method = entry.name;
        config.num_virtual_tokens = 3;
        pft::peft::AdaptedModel adapted;
        try {
          adapted = pft::peft::attach_method(model.module, entry.from_config(config), model.info);
        } catch (const pft::Error& e) {
          refused.insert({family.model_type, entry.name});
          std::cout << "[registry] " << family.model_type << " " << head_name << " " << entry.name
                    << ": not applicable: " << e.what() << "\n";
          continue;
        }
        ASSERT_GT(adapted.trainable_count, 0);
        const auto in = make_inputs(model.info.vocab_size);
        pft::task::ModelHooks hooks(adapted.method.get());

        // A training step's worth: forward, backward, every trained tensor gets a gradient.
        const auto logits = forward(model, hooks, in);
        ASSERT_TRUE(logits.defined());
        EXPECT_EQ(logits.size(0), 2);
        EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
        logits.pow(2).mean().backward();
        for (const auto& [name, t] : adapted.trainable()) {
          EXPECT_TRUE(t.grad().defined()) << name << " got no gradient";
        }

        // Move the trained tensors away from their initial values, then save and reload.
        {
          torch::NoGradGuard no_grad;
          for (const auto& [name, t] : adapted.trainable()) t.add_(torch::randn_like(t) * 0.05);
        }
        torch::Tensor before;
        {
          torch::NoGradGuard no_grad;
          before = forward(model, hooks, in);
        }
        const auto saved = dir.file(family.model_type + "-" + head_name + "-" + entry.name);
        pft::peft::save_adapter(adapted, saved);
        const auto fresh = load(request);
        auto reloaded = pft::peft::attach_method(fresh.module,
                                                 pft::peft::method_from_adapter(saved), fresh.info);
        pft::peft::load_adapter(reloaded, saved);
        torch::NoGradGuard no_grad;
        const auto after = forward(fresh, pft::task::ModelHooks(reloaded.method.get()), in);
        const double diff = (after - before).abs().max().item<double>();
        std::cout << "[registry] " << family.model_type << " " << head_name << " " << entry.name
                  << ": " << adapted.trainable_count << " trainable, reload max abs diff " << diff
                  << "\n";
        EXPECT_LE(diff, 1e-6);
      }
    }
  }
  EXPECT_EQ(refused, kNotApplicable);
  EXPECT_GE(combinations, 32);
}

}  // namespace
