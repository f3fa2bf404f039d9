#pragma once
// What an adapter was trained on, recorded beside its PEFT files (kAdapterIdentityFile) so
// that applying it elsewhere is caught: the base model (PEFT's base_model_name_or_path and a
// digest of each file pft reads from that folder) and the label order of its head. Adapters
// made by Python PEFT have no such file and are not checked.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace pft::peft {

inline constexpr const char* kAdapterIdentityFile = "pft_identity.json";

/// Digests of the files pft reads from a model folder (io::model_files), by file name.
nlohmann::json model_fingerprint(const std::string& model_dir);

/// The identity of an adapter trained on `model_dir` with `labels` (class-index order; empty
/// for tasks without labels).
nlohmann::json adapter_identity(const std::string& model_dir,
                                const std::vector<std::string>& labels);

/// Checks an adapter folder's recorded identity against the model folder and labels it is
/// applied to. Other labels, or the same in another order: pft::Error (Config) naming
/// task.labels (the predictions would be permuted). Another base model: a warning naming both
/// (same-shaped weights load, but the adapter was not trained for them).
void check_adapter_identity(const std::string& adapter_dir, const std::string& model_dir,
                            const std::vector<std::string>& labels);

}  // namespace pft::peft
