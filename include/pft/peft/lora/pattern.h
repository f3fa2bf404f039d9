#pragma once
// Checking LoRA config values. A rank_pattern / alpha_pattern key: a regular expression pft can use as PEFT's
// get_pattern_key uses it ("(.*\.)?(KEY)" must match a module path in full). Plain data: no
// LibTorch, so the config layer can use it.

#include <string>

namespace pft::peft {

/// Empty when `key` is usable, else what is wrong with it.
std::string lora_pattern_problem(const std::string& key);

/// N of an init_lora_weights value "pissa_niter_N" (PiSSA by a randomized SVD with N subspace
/// iterations, as torch.svd_lowrank), or -1 for any other value.
int lora_pissa_niter(const std::string& init);

/// Empty when `init` is an init_lora_weights value pft trains with (default, gaussian, pissa,
/// pissa_niter_N, olora), else what is wrong with it.
std::string lora_init_problem(const std::string& init);

}  // namespace pft::peft
