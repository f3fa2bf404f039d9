#include "pft/train/precision.h"

#include <ATen/autocast_mode.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <cstdint>

#include "pft/util/error.h"

namespace pft::train {

bool cpu_has_bf16_matmul() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || (c & (1u << 27)) == 0) return false;  // OSXSAVE
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const std::uint64_t xcr0 = (static_cast<std::uint64_t>(xcr0_hi) << 32) | xcr0_lo;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const unsigned max_subleaf = a;
  const bool avx512f = (b & (1u << 16)) != 0;
  const bool amx_bf16 = (d & (1u << 22)) != 0;
  bool avx512_bf16 = false;
  if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) avx512_bf16 = (a & (1u << 5)) != 0;
  // The OS must save the registers: opmask/ZMM state (XCR0 bits 5-7 with SSE/AVX 1-2) for
  // AVX-512, the tile state (bits 17-18) for AMX.
  const bool os_avx512 = (xcr0 & 0xE6) == 0xE6;
  const bool os_amx = (xcr0 & (3ull << 17)) == (3ull << 17);
  return (avx512f && avx512_bf16 && os_avx512) || (amx_bf16 && os_amx);
#else
  return false;
#endif
}

Precision parse_precision(const std::string& name, const torch::Device& device) {
  if (name == "auto") {
    return device.is_cpu() && cpu_has_bf16_matmul() ? Precision::BF16 : Precision::FP32;
  }
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
