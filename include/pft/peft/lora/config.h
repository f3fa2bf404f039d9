#pragma once
// LoRA's config keys and registry entry (pft/peft/config.h).

#include "pft/peft/options.h"

namespace pft::peft {

struct LoraConfig {
  std::int64_t r = 8;
  double lora_alpha = 16.0;
  double lora_dropout = 0.0;
  std::string bias = "none";
  bool use_rslora = false;
  bool use_dora = false;
  std::string init_lora_weights = "default";
  config::IntegerMap rank_pattern;
  config::NumberMap alpha_pattern;

  template <class V>
  void visit(V&& v) {
    v("r", r, "LoRA rank.", config::rules::at_least(1));
    v("lora_alpha", lora_alpha, "LoRA scaling numerator (scale = lora_alpha / r).",
      config::rules::greater_than(0));
    v("lora_dropout", lora_dropout, "Dropout on the LoRA input.",
      config::rules::between(0, 1, false, true));
    v("bias", bias, "Which biases train with LoRA and are saved with it.",
      config::rules::one_of({"none", "all", "lora_only"}));
    v("use_rslora", use_rslora, "Rank-stabilised LoRA: scale by lora_alpha / sqrt(r).",
      config::rules::none());
    v("use_dora", use_dora,
      "DoRA: a trained magnitude per output row rescales the LoRA-updated weight, as PEFT "
      "computes it (weight norm detached).",
      config::rules::none());
    v("init_lora_weights", init_lora_weights,
      "LoRA initialisation, as PEFT's init_lora_weights: `default` (A Kaiming-uniform, B zero), "
      "`gaussian` (A normal with std 1/r), `pissa` (A and B from the top-r singular vectors of "
      "the weight, which keeps the residual), `pissa_niter_N` (the same from a randomized SVD "
      "with N subspace iterations, as torch.svd_lowrank: fast on large layers), `olora` (from "
      "its QR decomposition). PiSSA and OLoRA change the frozen weights; the adapter is saved "
      "as PEFT saves it and loads on the original base model in pft and PEFT alike "
      "(`pissa_niter_N`, whose residual is random, is saved converted to a plain LoRA of rank "
      "2r, as PEFT's path_initial_model_for_weight_conversion does).",
      config::rules::none());
    v("rank_pattern", rank_pattern,
      "Per-module ranks: a regular expression over the module path (matched as PEFT does, "
      "against the path's end after a dot) to r.",
      config::rules::at_least(1));
    v("alpha_pattern", alpha_pattern,
      "Per-module lora_alpha, matched as rank_pattern.", config::rules::greater_than(0));
  }
  ConfigProblems check(const SharedConfig&) const;
};

struct LoraEntry {
  static constexpr const char* name = "lora";
  static constexpr const char* peft_type = "LORA";
  using Config = LoraConfig;
  static std::unique_ptr<PeftMethod> from_config(const SharedConfig& shared, const Config& own);
  static std::unique_ptr<PeftMethod> from_adapter_config(const nlohmann::json& config,
                                                         const std::string& source);
};

}  // namespace pft::peft
