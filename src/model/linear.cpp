#include "pft/model/linear.h"

#include <algorithm>
#include <cmath>

#include "pft/model/project.h"

namespace pft::model {

LinearImpl::LinearImpl(const torch::nn::LinearOptions& options_) : options(options_) { reset(); }

void LinearImpl::reset() {
  weight = register_parameter("weight", torch::empty({options.out_features(), options.in_features()}));
  if (options.bias()) {
    bias = register_parameter("bias", torch::empty(options.out_features()));
  } else {
    bias = register_parameter("bias", {}, /*requires_grad=*/false);
  }
  reset_parameters();
}

void LinearImpl::reset_parameters() {
  // The same initialisation as torch::nn::Linear.
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5));
  if (bias.defined()) {
    const auto fan_in = static_cast<double>(options.in_features());
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(fan_in) : 0.0;
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

torch::Tensor LinearImpl::operand(const torch::Tensor& t, std::size_t slot) {
  // A tensor that trains changes every step; autocast casts it once per autocast region
  // itself. Inference tensors have no version to check.
  if (!t.defined() || t.requires_grad() || t.is_inference()) return t;
  const auto dtype = autocast_dtype_for(t);
  if (!dtype) return t;
  auto& c = cast_[slot];
  if (!c.copy.defined() || c.source != t.data_ptr() || c.version != t._version() ||
      c.copy.scalar_type() != *dtype || c.copy.device() != t.device()) {
    c.copy = t.to(*dtype);
    c.source = t.data_ptr();
    c.version = t._version();
  }
  return c.copy;
}

torch::Tensor LinearImpl::forward(const torch::Tensor& input) {
  if (extensions_.empty()) return reduced_.project(input, operand(weight, 0), operand(bias, 1));
  torch::Tensor x = input;
  for (const auto& e : extensions_) x = e->pre(x);
  const bool unchanged = x.is_same(input);
  // Under autocast, one cast of the input for the product and the extensions (LoRA's A)
  // rather than one each; their input gradients are then summed in the autocast dtype.
  x = autocast_operand(x);
  torch::Tensor y = reduced_.project(x, operand(weight, 0), operand(bias, 1));
  const auto& original = unchanged ? x : input;
  for (const auto& e : extensions_) y = e->post(original, y);
  return y;
}

void LinearImpl::pretty_print(std::ostream& stream) const {
  stream << "pft::model::Linear(in_features=" << options.in_features()
         << ", out_features=" << options.out_features() << ", bias=" << options.bias();
  for (const auto& e : extensions_) stream << ", +" << e->name();
  stream << ")";
}

void LinearImpl::add_extension(std::shared_ptr<LinearExtension> extension) {
  extensions_.push_back(std::move(extension));
}

std::size_t LinearImpl::remove_extensions(const std::string& name) {
  const auto before = extensions_.size();
  extensions_.erase(std::remove_if(extensions_.begin(), extensions_.end(),
                                   [&](const auto& e) { return e->name() == name; }),
                    extensions_.end());
  return before - extensions_.size();
}

std::size_t set_inference_compute_type(torch::nn::Module& module, ComputeType type) {
  std::size_t count = 0;
  for (const auto& child : module.modules(/*include_self=*/true)) {
    if (auto* linear = dynamic_cast<LinearImpl*>(child.get())) {
      linear->set_inference_compute_type(type);
      ++count;
    }
  }
  return count;
}

}  // namespace pft::model
