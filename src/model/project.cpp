#include "pft/model/project.h"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "pft/util/error.h"
#include "pft/util/parallel.h"

namespace pft::model {
namespace {

// Sixteen floats; GCC lowers it to one AVX-512 register, two AVX2 registers or four SSE ones
// in the matching target_clones body.
typedef float v16 __attribute__((vector_size(64)));
constexpr std::int64_t kLanes = 16;

// How a reduced weight is stored, and its exact float32 value (bfloat16 is the top half of a
// float32, an int8 an integer; the int8 scale is applied to the finished sum).
struct BF16 {
  using T = std::uint16_t;
  __attribute__((always_inline)) static float scalar(std::uint16_t w) {
    const std::uint32_t bits = static_cast<std::uint32_t>(w) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
};

struct I8 {
  using T = std::int8_t;
  __attribute__((always_inline)) static float scalar(std::int8_t w) {
    return static_cast<float>(w);
  }
};

// y[i, r] = scale[r] Σ_t x[i, t] w[r, t] (+ bias[r]) for MR input rows and NR weight rows: MR x
// NR vector accumulators over the k dimension, then each summed across its lanes in lane order,
// then the k % 16 tail. `scale` is null for unscaled types.
template <int MR, int NR>
__attribute__((always_inline)) inline void block(const float* __restrict x,
                                                 const float* __restrict w,
                                                 const float* __restrict scale,
                                                 const float* __restrict bias, float* __restrict y,
                                                 std::int64_t k, std::int64_t n) {
  v16 acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int r = 0; r < NR; ++r) acc[i][r] = v16{};
  std::int64_t t = 0;
  for (; t + kLanes <= k; t += kLanes) {
    v16 wv[NR];
    for (int r = 0; r < NR; ++r) std::memcpy(&wv[r], w + r * k + t, sizeof(v16));
    for (int i = 0; i < MR; ++i) {
      v16 xv;
      std::memcpy(&xv, x + i * k + t, sizeof xv);
      for (int r = 0; r < NR; ++r) acc[i][r] += xv * wv[r];
    }
  }
  for (int i = 0; i < MR; ++i) {
    for (int r = 0; r < NR; ++r) {
      float s = 0.0f;
      for (int lane = 0; lane < kLanes; ++lane) s += acc[i][r][lane];
      for (std::int64_t u = t; u < k; ++u) s += x[i * k + u] * w[r * k + u];
      if (scale) s *= scale[r];
      y[i * n + r] = bias ? s + bias[r] : s;
    }
  }
}

// All m input rows against NR weight rows, MR at a time.
template <int MR, int NR>
__attribute__((always_inline)) inline void rows(const float* x, const float* w, const float* scale,
                                                const float* bias, float* y, std::int64_t m,
                                                std::int64_t k, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + MR <= m; i += MR) block<MR, NR>(x + i * k, w, scale, bias, y + i * n, k, n);
  if constexpr (MR == 4) {
    switch (m - i) {
      case 3:
        block<3, NR>(x + i * k, w, scale, bias, y + i * n, k, n);
        break;
      case 2:
        block<2, NR>(x + i * k, w, scale, bias, y + i * n, k, n);
        break;
      case 1:
        block<1, NR>(x + i * k, w, scale, bias, y + i * n, k, n);
        break;
      default:
        break;
    }
  } else if constexpr (MR == 2) {
    if (m - i == 1) block<1, NR>(x + i * k, w, scale, bias, y + i * n, k, n);
  }
}

// Output columns [j0, j1) of y[m, n] = x[m, k] · w[n, k]ᵀ (+ bias), in blocks of NR columns.
template <int MR, int NR>
__attribute__((always_inline)) inline void columns(const float* x, const float* w,
                                                   const float* scale, const float* bias, float* y,
                                                   std::int64_t m, std::int64_t k, std::int64_t n,
                                                   std::int64_t j0, std::int64_t j1) {
  const auto at = [](const float* p, std::int64_t j) { return p ? p + j : nullptr; };
  std::int64_t j = j0;
  for (; j + NR <= j1; j += NR) {
    rows<MR, NR>(x, w + j * k, at(scale, j), at(bias, j), y + j, m, k, n);
  }
  for (; j < j1; ++j) rows<MR, 1>(x, w + j * k, at(scale, j), at(bias, j), y + j, m, k, n);
}

// Widens n stored weights to float32. A plain loop over arrays, which GCC vectorizes in each
// target_clones body (its vector-extension conversions from int8 are element by element).
template <class L>
__attribute__((always_inline)) inline void widen(const typename L::T* __restrict w,
                                                 float* __restrict out, std::int64_t n) {
  for (std::int64_t e = 0; e < n; ++e) out[e] = L::scalar(w[e]);
}

// A reduced weight: each block of NR weight rows is widened once into `panel` (float32, in
// cache) and multiplied with every input row from there by the float32 kernel, so every
// element is summed exactly as the float32 kernel sums the widened weight, whatever m is.
template <int MR, int NR, class L>
__attribute__((always_inline)) inline void widened_columns(const float* x, const typename L::T* w,
                                                           const float* scale, const float* bias,
                                                           float* y, std::int64_t m, std::int64_t k,
                                                           std::int64_t n, std::int64_t j0,
                                                           std::int64_t j1, float* panel) {
  const auto at = [](const float* p, std::int64_t j) { return p ? p + j : nullptr; };
  for (std::int64_t j = j0; j < j1; j += NR) {
    const std::int64_t cols = std::min<std::int64_t>(NR, j1 - j);
    widen<L>(w + j * k, panel, cols * k);
    if (cols == NR) {
      rows<MR, NR>(x, panel, at(scale, j), at(bias, j), y + j, m, k, n);
    } else {
      for (std::int64_t c = 0; c < cols; ++c) {
        rows<MR, 1>(x, panel + c * k, at(scale, j + c), at(bias, j + c), y + j + c, m, k, n);
      }
    }
  }
}

// Sixteen accumulators either way: one or two rows read eight weight rows at once (more
// memory streams in flight, which is what bounds them); more rows take 4 x 4 blocks. A
// reduced weight goes through a panel of 8 * k floats.
template <class L>
__attribute__((always_inline)) inline void reduced_rows(const float* x, const typename L::T* w,
                                                        const float* scale, const float* bias,
                                                        float* y, std::int64_t m, std::int64_t k,
                                                        std::int64_t n, std::int64_t j0,
                                                        std::int64_t j1, float* panel) {
  if (m <= 2) {
    widened_columns<2, 8, L>(x, w, scale, bias, y, m, k, n, j0, j1, panel);
  } else {
    widened_columns<4, 4, L>(x, w, scale, bias, y, m, k, n, j0, j1, panel);
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void few_rows_f32(
    const float* x, const float* w, const float* bias, float* y, std::int64_t m, std::int64_t k,
    std::int64_t n, std::int64_t j0, std::int64_t j1) {
  if (m <= 2) {
    columns<2, 8>(x, w, nullptr, bias, y, m, k, n, j0, j1);
  } else {
    columns<4, 4>(x, w, nullptr, bias, y, m, k, n, j0, j1);
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void few_rows_bf16(
    const float* x, const std::uint16_t* w, const float* bias, float* y, std::int64_t m,
    std::int64_t k, std::int64_t n, std::int64_t j0, std::int64_t j1, float* panel) {
  reduced_rows<BF16>(x, w, nullptr, bias, y, m, k, n, j0, j1, panel);
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void few_rows_i8(
    const float* x, const std::int8_t* w, const float* scale, const float* bias, float* y,
    std::int64_t m, std::int64_t k, std::int64_t n, std::int64_t j0, std::int64_t j1,
    float* panel) {
  reduced_rows<I8>(x, w, scale, bias, y, m, k, n, j0, j1, panel);
}

// The few-row product with any stored weight (`data`, [n, k], and for int8 `scale`, [n]).
torch::Tensor few_row_product(const torch::Tensor& x, const torch::Tensor& data,
                              const torch::Tensor& scale, const torch::Tensor& bias,
                              ComputeType type) {
  const std::int64_t k = data.size(1);
  const std::int64_t n = data.size(0);
  const auto input = x.reshape({-1, k}).contiguous();
  const std::int64_t m = input.size(0);
  auto sizes = x.sizes().vec();
  sizes.back() = n;
  auto y = torch::empty({m, n}, input.options());
  const auto b = bias.defined() ? bias.contiguous() : bias;
  const float* xp = input.data_ptr<float>();
  const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
  float* yp = y.data_ptr<float>();
  // Blocks of 8 output columns; a thread takes at least 256 KiB of float32 weight.
  const std::int64_t blocks = (n + 7) / 8;
  const std::int64_t grain = std::max<std::int64_t>(1, (1 << 13) / k);
  at::parallel_for(0, blocks, grain, [&](std::int64_t b0, std::int64_t b1) {
    const std::int64_t j0 = b0 * 8;
    const std::int64_t j1 = std::min(n, b1 * 8);
    std::vector<float> panel(type != ComputeType::Float32 ? 8 * k : 0);
    float* pp = panel.empty() ? nullptr : panel.data();
    switch (type) {
      case ComputeType::Float32:
        few_rows_f32(xp, data.data_ptr<float>(), bp, yp, m, k, n, j0, j1);
        break;
      case ComputeType::BFloat16:
        few_rows_bf16(xp, reinterpret_cast<const std::uint16_t*>(data.data_ptr<at::BFloat16>()), bp,
                      yp, m, k, n, j0, j1, pp);
        break;
      case ComputeType::Int8:
        few_rows_i8(xp, data.data_ptr<std::int8_t>(), scale.data_ptr<float>(), bp, yp, m, k, n, j0,
                    j1, pp);
        break;
    }
  });
  return y.view(sizes);
}

}  // namespace

bool uses_few_row_kernel(const torch::Tensor& x, const torch::Tensor& weight,
                         const torch::Tensor& bias) {
  // Checked first: training calls this for every projection.
  if (!c10::InferenceMode::is_enabled() || at::autocast::is_autocast_enabled(at::kCPU)) {
    return false;
  }
  if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat32 ||
      weight.scalar_type() != torch::kFloat32 || !weight.device().is_cpu() ||
      weight.dim() != 2 || !weight.is_contiguous() || x.dim() < 1 ||
      x.size(-1) != weight.size(1) || weight.size(1) == 0 || x.is_sparse() || weight.is_sparse()) {
    return false;
  }
  if (bias.defined() && (bias.scalar_type() != torch::kFloat32 || !bias.device().is_cpu() ||
                         bias.dim() != 1 || bias.size(0) != weight.size(0))) {
    return false;
  }
  const std::int64_t m = x.numel() / weight.size(1);
  return m >= 1 && m <= kMaxFewRows;
}

torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight,
                      const torch::Tensor& bias) {
  if (!uses_few_row_kernel(x, weight, bias)) {
    // at::linear, as PyTorch's F.linear, fuses the bias into the product for inputs of any
    // rank; LibTorch's torch::nn::functional::linear adds it afterwards for 3-D inputs, which
    // differs in the last bits and, over six BERT layers, by 1e-4 from transformers.
    return at::linear(x, weight, bias.defined() ? std::optional<torch::Tensor>(bias) : std::nullopt);
  }
  return few_row_product(x, weight, {}, bias, ComputeType::Float32);
}

std::optional<at::ScalarType> autocast_dtype_for(const torch::Tensor& x) {
  if (x.scalar_type() != torch::kFloat32) return std::nullopt;
  const auto device = x.device().type();
  if (!at::autocast::is_autocast_available(device) || !at::autocast::is_autocast_enabled(device)) {
    return std::nullopt;
  }
  return at::autocast::get_autocast_dtype(device);
}

torch::Tensor autocast_operand(const torch::Tensor& x) {
  const auto dtype = autocast_dtype_for(x);
  return dtype ? x.to(*dtype) : x;
}

std::string compute_type_name(ComputeType type) {
  switch (type) {
    case ComputeType::Float32:
      return "float32";
    case ComputeType::BFloat16:
      return "bfloat16";
    case ComputeType::Int8:
      return "int8";
  }
  return "float32";
}

ComputeType resolve_compute_type(const std::string& name, const torch::Device& device) {
  if (name == "auto") return device.is_cpu() ? ComputeType::Int8 : ComputeType::Float32;
  if (name == "float32") return ComputeType::Float32;
  if (name == "bfloat16") return ComputeType::BFloat16;
  if (name == "int8") return ComputeType::Int8;
  throw Error(ErrorKind::Config,
              "generate.compute_type: expected one of auto, float32, bfloat16, "
              "int8, got \"" +
                  name + "\"");
}

void ReducedWeight::refresh(const torch::Tensor& weight) {
  // Inference tensors have no version counter; they cannot change outside inference mode.
  const std::int64_t version = weight.is_inference() ? -1 : weight._version();
  if (data_.defined() && made_ == type_ && source_ == weight.data_ptr() && version_ == version &&
      sizes_ == weight.sizes().vec()) {
    return;
  }
  torch::NoGradGuard no_grad;
  if (type_ == ComputeType::BFloat16) {
    data_ = weight.to(torch::kBFloat16).contiguous();
    scale_ = torch::Tensor();
  } else {
    // Symmetric per output channel: the largest magnitude of a row maps to 127. A row of
    // zeros gets scale 0 (and zeros).
    const auto peak = weight.abs().amax(1);
    scale_ = (peak / 127.0).contiguous();
    const auto divisor = torch::where(peak > 0, scale_, torch::ones_like(scale_));
    data_ =
        torch::round(weight / divisor.unsqueeze(1)).clamp(-127, 127).to(torch::kInt8).contiguous();
  }
  made_ = type_;
  source_ = weight.data_ptr();
  version_ = version;
  sizes_ = weight.sizes().vec();
}

torch::Tensor ReducedWeight::project(const torch::Tensor& x, const torch::Tensor& weight,
                                     const torch::Tensor& bias) {
  if (type_ == ComputeType::BFloat16 && x.is_cuda() && weight.is_cuda() &&
      c10::InferenceMode::is_enabled() && !at::autocast::is_autocast_enabled(at::kCUDA) &&
      x.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kFloat32 &&
      weight.dim() == 2) {
    // On a GPU: cuBLAS's bf16 product with the kept bf16 copy, float32 accumulation.
    refresh(weight);
    const auto b =
        bias.defined() ? std::optional<torch::Tensor>(bias.to(torch::kBFloat16)) : std::nullopt;
    return at::linear(x.to(torch::kBFloat16), data_, b).to(torch::kFloat32);
  }
  if (type_ == ComputeType::Float32 || !uses_few_row_kernel(x, weight, bias)) {
    return model::project(x, weight, bias);
  }
  refresh(weight);
  return few_row_product(x, data_, scale_, bias, type_);
}

}  // namespace pft::model
