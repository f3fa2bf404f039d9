#include "pft/train/precision.h"

#include <ATen/autocast_mode.h>

#include "pft/util/error.h"

namespace pft::train {

Precision parse_precision(const std::string& name, const torch::Device& device) {
  if (name == "fp32") return Precision::FP32;
  if (name == "bf16") return Precision::BF16;
  if (name == "fp16") {
    if (!device.is_cuda()) {
      throw Error(ErrorKind::Config,
                  "train.precision: fp16 needs a CUDA device (--device cuda); "
                  "on the CPU use bf16 or fp32");
    }
    return Precision::FP16;
  }
  throw Error(ErrorKind::Config,
              "train.precision: must be one of fp32, bf16, fp16, got \"" + name + "\"");
}

std::string precision_name(Precision p) {
  switch (p) {
    case Precision::BF16:
      return "bf16";
    case Precision::FP16:
      return "fp16";
    case Precision::FP32:
      break;
  }
  return "fp32";
}

AutocastGuard::AutocastGuard(Precision precision, const torch::Device& device)
    : device_type_(device.type()) {
  if (precision == Precision::FP32) return;
  active_ = true;
  previous_enabled_ = at::autocast::is_autocast_enabled(device_type_);
  previous_dtype_ = at::autocast::get_autocast_dtype(device_type_);
  at::autocast::set_autocast_enabled(device_type_, true);
  at::autocast::set_autocast_dtype(device_type_,
                                   precision == Precision::BF16 ? at::kBFloat16 : at::kHalf);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  // Casts of weights are cached while autocast is on; the cache dies with the outermost guard.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_type_, previous_enabled_);
  at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
}

GradScaler::GradScaler(bool enabled, double init_scale, double growth_factor, double backoff_factor,
                       std::int64_t growth_interval)
    : enabled_(enabled),
      scale_(init_scale),
      growth_factor_(growth_factor),
      backoff_factor_(backoff_factor),
      growth_interval_(growth_interval) {}

bool GradScaler::unscale_and_check(const std::vector<torch::Tensor>& params) const {
  if (!enabled_) return true;
  torch::NoGradGuard no_grad;
  const double inverse = 1.0 / scale_;
  std::vector<torch::Tensor> checks;
  for (const auto& p : params) {
    auto g = p.grad();
    if (!g.defined()) continue;
    g.mul_(inverse);
    checks.push_back(torch::isfinite(g).all());
  }
  // One host synchronisation per step, not one per parameter.
  return checks.empty() || torch::stack(checks).all().item<bool>();
}

void GradScaler::update(bool finite) {
  if (!enabled_) return;
  if (!finite) {
    scale_ *= backoff_factor_;
    good_steps_ = 0;
    return;
  }
  if (++good_steps_ >= growth_interval_) {
    scale_ *= growth_factor_;
    good_steps_ = 0;
  }
}

nlohmann::json GradScaler::state() const {
  return {{"scale", scale_}, {"good_steps", good_steps_}};
}

void GradScaler::load_state(const nlohmann::json& state) {
  if (state.is_null()) return;
  scale_ = state.at("scale").get<double>();
  good_steps_ = state.at("good_steps").get<std::int64_t>();
}

}  // namespace pft::train
