#pragma once
// Several LoRA adapters combined into one, as Hugging Face PEFT's
// LoraModel.add_weighted_adapter combines them: `linear`, `ties`, `dare_linear`, `dare_ties`
// and `magnitude_prune` mix the A and the B matrices (each weighted by the square root of
// weight x scaling, the sign on A's side; all adapters of one rank), `cat` stacks them (rank:
// the sum), and `svd` and the `*_svd` variants mix the full updates B A x scaling and take the
// top singular directions (rank: svd_rank, default the largest). The result is an ordinary
// LoRA adapter folder (r = lora_alpha = the new rank, as PEFT sets them) that every command
// loads like any other.

#include <cstdint>
#include <string>
#include <vector>

namespace pft::peft {

struct CombineOptions {
  std::string type = "svd";  // PEFT's combination_type
  double density = 1.0;      // ties, dare_*, magnitude_prune: the fraction kept
  std::string majority_sign_method = "total";  // ties, dare_ties: total | frequency
  std::int64_t svd_rank = 0;                   // *svd: 0 = the largest rank
  std::uint64_t seed = 0;                      // dare_*: the random masks
};

/// The combination types (PEFT's names).
const std::vector<std::string>& combination_types();

/// Writes the combination of the LoRA adapter folders `adapters` with `weights` (one per
/// adapter) to `output_dir` (adapter_config.json + adapter_model.safetensors, atomically).
/// Refused with a pft::Error naming the folder or option: another peft_type, DoRA, PiSSA/OLoRA
/// initialisations (they change the base weights), saved whole modules (a classification
/// head: PEFT refuses two adapters saving the same module and would start the combined one
/// from the base model's), different task types, different ranks where the type needs one,
/// a weight count that does not match, a density outside [0, 1].
void combine_lora_adapters(const std::vector<std::string>& adapters,
                           const std::vector<double>& weights, const CombineOptions& options,
                           const std::string& output_dir);

}  // namespace pft::peft
