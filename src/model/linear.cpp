#include "pft/model/linear.h"

#include "pft/util/error.h"

namespace pft::model {

torch::Tensor linear(const torch::nn::LinearImpl& layer, const torch::Tensor& input) {
  return at::linear(input, layer.weight, layer.bias.defined() ? layer.bias : torch::Tensor());
}

torch::Tensor forward_linear(const torch::nn::Module& parent, const std::string& name,
                             const torch::Tensor& input) {
  const auto children = parent.named_children();
  const auto* child = children.find(name);
  if (child == nullptr) {
    throw Error(ErrorKind::Runtime, parent.name() + ": no submodule registered as '" + name + "'");
  }
  if (const auto* layer = dynamic_cast<const torch::nn::LinearImpl*>(child->get())) {
    return linear(*layer, input);
  }
  if (auto* replacement = dynamic_cast<LinearReplacement*>(child->get())) {
    return replacement->forward(input);
  }
  throw Error(ErrorKind::Runtime,
              parent.name() + ": the module registered as '" + name + "' (" + (*child)->name() +
                  ") is neither a torch::nn::Linear nor a pft::model::LinearReplacement");
}

}  // namespace pft::model
