#include "pft/model/checks.h"

#include "pft/util/error.h"
#include "pft/util/json.h"

namespace pft::model {

void check_config_document(const nlohmann::json& doc, const std::string& source,
                           const std::string& model_type) {
  if (!doc.is_object()) {
    throw Error(ErrorKind::Config,
                source + ": expected a JSON object, got " + JsonKeys::describe(doc));
  }
  const JsonKeys keys(doc, source);
  std::string found;
  keys.string("model_type", found);
  if (!found.empty() && found != model_type) {
    keys.fail("model_type", "expected \"" + model_type + "\", got \"" + found + "\"");
  }
}

void check_id_range(const torch::Tensor& ids, std::int64_t limit, const std::string& what,
                    const std::string& key, const std::string& source) {
  if (ids.numel() == 0) return;
  const auto [lo, hi] = torch::aminmax(ids);
  const auto min_id = lo.item<std::int64_t>();
  const auto max_id = hi.item<std::int64_t>();
  if (min_id < 0 || max_id >= limit) {
    throw Error(ErrorKind::Input,
                what + " must be in [0, " + std::to_string(limit) + ") (" + key + " of " + source +
                    "), got values in [" + std::to_string(min_id) + ", " +
                    std::to_string(max_id) + "]",
                "was the input tokenized with this model's tokenizer?");
  }
}

Activation config_activation(const std::string& name, const std::string& source,
                             const std::string& key, bool tanh_allowed) {
  if (tanh_allowed && name == "tanh") return Activation::Tanh;
  const auto act = parse_activation(name);
  if (!act) {
    throw Error(ErrorKind::Config, source + ": " + key +
                                       ": expected one of gelu, gelu_new, gelu_pytorch_tanh, "
                                       "relu, silu or swish" +
                                       (tanh_allowed ? " or tanh" : "") + ", got \"" + name + "\"");
  }
  return *act;
}

}  // namespace pft::model
