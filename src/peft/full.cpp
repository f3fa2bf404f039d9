#include "pft/peft/full.h"

namespace pft::peft {

bool is_under(const std::string& path, const std::string& module) {
  return path == module ||
         (path.size() > module.size() && path.compare(0, module.size(), module) == 0 &&
          path[module.size()] == '.');
}

void InPlaceMethod::collect(torch::nn::Module& model, const ModelInfo& info,
                            const std::function<bool(const std::string&)>& select) {
  for (const auto& p : model.named_parameters()) {
    bool saved = false;
    for (const auto& m : info.modules_to_save) saved = saved || is_under(p.key(), m);
    if (!saved && select(p.key())) tensors_.emplace_back(p.key(), p.value());
  }
}

std::vector<std::pair<std::string, torch::Tensor>> InPlaceMethod::trained_base_tensors(
    torch::nn::Module&) const {
  return tensors_;
}

TensorMap InPlaceMethod::state_dict() const {
  TensorMap out;
  for (const auto& [name, t] : tensors_) out[name] = t;
  return out;
}

void FullMethod::attach(torch::nn::Module& model, const ModelInfo& info) {
  collect(model, info, [](const std::string&) { return true; });
}

nlohmann::json FullMethod::config_json() const {
  nlohmann::json j;
  j["format"] = "pft";
  j["tensor_count"] = tensors_.size();
  return j;
}

}  // namespace pft::peft
