#pragma once
// Mixed precision for training and evaluation (train.precision): bf16 autocast on the CPU
// (oneDNN kernels) and on CUDA, fp16 autocast on CUDA with dynamic loss scaling. Weights,
// gradients and optimizer state stay fp32 ("master weights"); autocast casts the inputs of
// matrix products on the fly and keeps reductions (softmax, layer norm, losses) in fp32, as
// torch.autocast does.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace pft::train {

enum class Precision { FP32, BF16, FP16 };

/// True when this CPU has bf16 matrix units the OS enables: AVX512_BF16 (with AVX-512F) or
/// AMX-BF16 (cpuid and XCR0, read at run time). Always false off x86.
bool cpu_has_bf16_matmul();

/// "auto" | "fp32" | "bf16" | "fp16" for `device`. auto: bf16 on a CPU that has bf16 matrix
/// units (cpu_has_bf16_matmul()), fp32 elsewhere (other CPUs, CUDA). fp16 on a CPU is a
/// pft::Error (Config) naming train.precision (LibTorch's CPU autocast is meant for bf16).
Precision parse_precision(const std::string& name, const torch::Device& device);
std::string precision_name(Precision p);

/// Autocast on `device` while alive (nothing for FP32). Nests; restores what was set before.
class AutocastGuard {
 public:
  AutocastGuard(Precision precision, const torch::Device& device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType device_type_;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kFloat;
};

/// Dynamic loss scaling for fp16, as torch.amp.GradScaler: the loss is multiplied by
/// `scale()` before backward; before the optimizer step the gradients are divided by it and
/// checked; a step with an inf/NaN gradient is skipped and the scale halved; after
/// `growth_interval` good steps in a row the scale doubles. Disabled: scale 1, never skips.
class GradScaler {
 public:
  explicit GradScaler(bool enabled, double init_scale = 65536.0, double growth_factor = 2.0,
                      double backoff_factor = 0.5, std::int64_t growth_interval = 2000);

  bool enabled() const { return enabled_; }
  double scale() const { return enabled_ ? scale_ : 1.0; }
  /// Divides every defined gradient of `params` by the scale; returns true when all of them
  /// are finite (then the step may be taken).
  bool unscale_and_check(const std::vector<torch::Tensor>& params) const;
  /// Records the outcome of a step: backs off after an overflow, grows after a streak.
  void update(bool finite);

  /// For checkpoints (exact resume).
  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  bool enabled_;
  double scale_;
  double growth_factor_;
  double backoff_factor_;
  std::int64_t growth_interval_;
  std::int64_t good_steps_ = 0;
};

}  // namespace pft::train
