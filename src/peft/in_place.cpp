#include "pft/peft/in_place.h"

#include "pft/util/strings.h"

namespace pft::peft {

void InPlaceMethod::collect(torch::nn::Module& model, const ModelInfo& info,
                            const std::function<bool(const std::string&)>& select) {
  for (const auto& p : model.named_parameters()) {
    bool saved = false;
    for (const auto& m : info.modules_to_save) saved = saved || is_path_under(p.key(), m);
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

}  // namespace pft::peft
