#pragma once
// Checks every family's modules share: a config.json's shape and model_type, input ids against
// an embedding table, and an activation name read from config.json.

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "pft/model/bert/config.h"

namespace pft::model {

/// A parsed config.json must be an object, and its model_type (when present) `model_type`:
/// otherwise a pft::Error (Config) naming `source`.
void check_config_document(const nlohmann::json& doc, const std::string& source,
                           const std::string& model_type);

/// Ids outside [0, limit) are a mismatch between the data's tokenizer and the checkpoint: a
/// pft::Error (Input) "WHAT must be in [0, LIMIT) (KEY of SOURCE), got values in [lo, hi]",
/// rather than an index assertion deep inside an embedding.
void check_id_range(const torch::Tensor& ids, std::int64_t limit, const std::string& what,
                    const std::string& key, const std::string& source);

/// The activation `name` names (parse_activation; `tanh` too when `tanh_allowed`), or a
/// pft::Error (Config) naming `source`, `key` and the names accepted.
Activation config_activation(const std::string& name, const std::string& source,
                             const std::string& key, bool tanh_allowed = false);

}  // namespace pft::model
