#pragma once
// Checking a rank_pattern / alpha_pattern key: a regular expression pft can use as PEFT's
// get_pattern_key uses it ("(.*\.)?(KEY)" must match a module path in full). Plain data: no
// LibTorch, so the config layer can use it.

#include <string>

namespace pft::peft {

/// Empty when `key` is usable, else what is wrong with it.
std::string lora_pattern_problem(const std::string& key);

}  // namespace pft::peft
