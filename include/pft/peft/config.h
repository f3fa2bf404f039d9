#pragma once
// The `peft` section of a run config and the one list of PEFT methods.
//
// Each method is a folder `peft/<method>/` whose `config.h` declares its config keys (a plain
// struct with visit(), as every config section has) and its registry entry: the config name,
// PEFT's peft_type, and the two factories, from a run config and from a saved
// adapter_config.json (defined in the method's own source file). `Methods` below is the
// registry: adding a method is its folder and one entry there. Config parsing, `--set`,
// `--dry-run`, `pft config --reference` and docs/config.md walk the same list
// (PeftConfig::visit), and peft/registry.h makes methods from it.
//
// These headers are plain data (no LibTorch), so the config layer can hold the section.

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "pft/config/rule.h"
#include "pft/peft/adapter/config.h"
#include "pft/peft/bitfit/config.h"
#include "pft/peft/full/config.h"
#include "pft/peft/ia3/config.h"
#include "pft/peft/lora/config.h"
#include "pft/peft/options.h"
#include "pft/peft/p_tuning/config.h"
#include "pft/peft/prefix_tuning/config.h"
#include "pft/peft/prompt_tuning/config.h"

namespace pft::peft {

template <class... Entries>
struct MethodList {};

/// The registry of PEFT methods, in documentation order.
using Methods = MethodList<LoraEntry, PrefixTuningEntry, PromptTuningEntry, PTuningEntry,
                           AdapterEntry, Ia3Entry, BitFitEntry, FullEntry>;

/// The config name that trains nothing (evaluation, zero-shot).
inline constexpr const char* kNoMethod = "none";

template <class List>
struct PeftConfigOf;

template <class... Entries>
struct PeftConfigOf<MethodList<Entries...>> : SharedConfig {
  std::string method = kNoMethod;
  std::tuple<typename Entries::Config...> methods;

  /// The keys of one method (e.g. get<LoraConfig>().r).
  template <class C>
  const C& get() const {
    return std::get<C>(methods);
  }
  template <class C>
  C& get() {
    return std::get<C>(methods);
  }

  /// "none" and every method's config name, in registry order.
  static std::vector<std::string> method_names() { return {kNoMethod, Entries::name...}; }

  template <class V>
  void visit(V&& v) {
    v("method", method,
      "Parameter-efficient method; `none` trains nothing (evaluation, zero-shot), `full` "
      "trains every weight.",
      config::rules::one_of(method_names()));
    SharedConfig::visit(v);
    std::apply([&v](auto&... each) { (each.visit(v), ...); }, methods);
  }

  /// Problems of the chosen method's keys that no single key's rule can see (one key
  /// requiring another), as (key, message) pairs.
  std::vector<std::pair<std::string, std::string>> check() const {
    std::vector<std::pair<std::string, std::string>> problems;
    (
        [&] {
          if (method == Entries::name) {
            auto own = std::get<typename Entries::Config>(methods).check(*this);
            problems.insert(problems.end(), own.begin(), own.end());
          }
        }(),
        ...);
    return problems;
  }
};

using PeftConfig = PeftConfigOf<Methods>;

}  // namespace pft::peft
