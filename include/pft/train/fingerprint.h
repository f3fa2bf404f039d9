#pragma once
// What determines a run's results, recorded when it starts (RUN_DIR/fingerprint.json) and
// compared by --resume: the resolved config (every key but train.output_dir), digests of the
// files pft reads from the model and tokenizer folders, and digests of the data files.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "pft/config/config.h"

namespace pft::train {

inline constexpr const char* kFingerprintFile = "fingerprint.json";

nlohmann::json run_fingerprint(const config::RunConfig& config);

/// The differences between a recorded and a current fingerprint, one line each, starting with
/// the config key they concern ("train.lr: 0.001 when the run started, now 0.002").
std::vector<std::string> fingerprint_differences(const nlohmann::json& recorded,
                                                 const nlohmann::json& current);

}  // namespace pft::train
