#include "pft/model/checkpointing.h"

#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <optional>

namespace pft::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Closure : torch::CustomClassHolder {
  explicit Closure(CheckpointedFn f) : fn(std::move(f)) {}
  CheckpointedFn fn;
};

// The inputs travel as one tensor list; the last one is a leaf that requires grad, so that
// the output takes part in autograd even when no real input does (frozen embeddings under
// LoRA): the block's parameters still need their gradients.
struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
  static torch::Tensor forward(AutogradContext* ctx, c10::intrusive_ptr<Closure> closure,
                               at::TensorList inputs) {
    ctx->saved_data["closure"] = c10::IValue::make_capsule(closure);
    ctx->saved_data["rng"] = at::detail::getDefaultCPUGenerator().get_state();
    // Dropout on a GPU draws from that device's generator.
    const auto device = inputs.front().device();
    ctx->saved_data["device"] = device.is_cuda() ? static_cast<std::int64_t>(device.index()) : -1;
    if (device.is_cuda())
      ctx->saved_data["rng_cuda"] = at::globalContext().defaultGenerator(device).get_state();
    ctx->saved_data["autocast"] = at::autocast::is_autocast_enabled(c10::DeviceType::CPU);
    ctx->saved_data["autocast_dtype"] =
        static_cast<std::int64_t>(at::autocast::get_autocast_dtype(c10::DeviceType::CPU));
    ctx->saved_data["autocast_cuda"] = at::autocast::is_autocast_enabled(c10::DeviceType::CUDA);
    ctx->saved_data["autocast_cuda_dtype"] =
        static_cast<std::int64_t>(at::autocast::get_autocast_dtype(c10::DeviceType::CUDA));
    ctx->save_for_backward(inputs.vec());
    std::vector<torch::Tensor> real(inputs.begin(), inputs.end() - 1);
    return closure->fn(real);  // autograd's apply() runs this with gradients off
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto closure =
        c10::static_intrusive_pointer_cast<Closure>(ctx->saved_data["closure"].toCapsule());
    const auto saved = ctx->get_saved_variables();
    std::vector<torch::Tensor> inputs;
    for (std::size_t i = 0; i + 1 < saved.size(); ++i) {
      const auto& t = saved[i];
      inputs.push_back(t.defined() ? t.detach().requires_grad_(t.requires_grad()) : t);
    }
    auto generator = at::detail::getDefaultCPUGenerator();
    const auto current = generator.get_state();
    generator.set_state(ctx->saved_data["rng"].toTensor());
    const auto cuda_index = ctx->saved_data["device"].toInt();
    std::optional<at::Generator> cuda_generator;
    torch::Tensor cuda_current;
    if (cuda_index >= 0) {
      cuda_generator = at::globalContext().defaultGenerator(
          c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(cuda_index)));
      cuda_current = cuda_generator->get_state();
      cuda_generator->set_state(ctx->saved_data["rng_cuda"].toTensor());
    }
    const auto restore_generators = [&] {
      generator.set_state(current);
      if (cuda_generator) cuda_generator->set_state(cuda_current);
    };
    torch::Tensor output;
    {
      torch::AutoGradMode grad(true);
      const bool cpu_was = at::autocast::is_autocast_enabled(c10::DeviceType::CPU);
      const auto cpu_dtype = at::autocast::get_autocast_dtype(c10::DeviceType::CPU);
      const bool cuda_was = at::autocast::is_autocast_enabled(c10::DeviceType::CUDA);
      const auto cuda_dtype = at::autocast::get_autocast_dtype(c10::DeviceType::CUDA);
      at::autocast::set_autocast_enabled(c10::DeviceType::CPU,
                                         ctx->saved_data["autocast"].toBool());
      at::autocast::set_autocast_dtype(
          c10::DeviceType::CPU,
          static_cast<at::ScalarType>(ctx->saved_data["autocast_dtype"].toInt()));
      at::autocast::set_autocast_enabled(c10::DeviceType::CUDA,
                                         ctx->saved_data["autocast_cuda"].toBool());
      at::autocast::set_autocast_dtype(
          c10::DeviceType::CUDA,
          static_cast<at::ScalarType>(ctx->saved_data["autocast_cuda_dtype"].toInt()));
      try {
        output = closure->fn(inputs);
      } catch (...) {
        restore_generators();
        throw;
      }
      at::autocast::set_autocast_enabled(c10::DeviceType::CPU, cpu_was);
      at::autocast::set_autocast_dtype(c10::DeviceType::CPU, cpu_dtype);
      at::autocast::set_autocast_enabled(c10::DeviceType::CUDA, cuda_was);
      at::autocast::set_autocast_dtype(c10::DeviceType::CUDA, cuda_dtype);
    }
    restore_generators();
    if (output.requires_grad()) torch::autograd::backward({output}, {grad_outputs[0]});
    variable_list grads{torch::Tensor()};  // the closure
    for (const auto& t : inputs)
      grads.push_back(t.defined() && t.requires_grad() ? t.grad() : torch::Tensor());
    grads.emplace_back();  // the anchor leaf
    return grads;
  }
};

}  // namespace

torch::Tensor checkpoint(CheckpointedFn fn, const std::vector<torch::Tensor>& inputs) {
  auto closure = c10::make_intrusive<Closure>(std::move(fn));
  std::vector<torch::Tensor> list = inputs;
  list.push_back(torch::empty({0}, torch::requires_grad()));
  return CheckpointFunction::apply(closure, at::TensorList(list));
}

}  // namespace pft::model
