#include "pft/model/project.h"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <cstring>

#include "pft/util/parallel.h"

namespace pft::model {
namespace {

// Sixteen floats; GCC lowers it to one AVX-512 register, two AVX2 registers or four SSE ones
// in the matching target_clones body.
typedef float v16 __attribute__((vector_size(64)));
constexpr std::int64_t kLanes = 16;

// y[i, r] = Σ_t x[i, t] w[r, t] (+ bias[r]) for MR input rows and NR weight rows: MR x NR
// vector accumulators over the k dimension, then each summed across its lanes in lane order,
// then the k % 16 tail.
template <int MR, int NR>
__attribute__((always_inline)) inline void block(const float* __restrict x,
                                                 const float* __restrict w,
                                                 const float* __restrict bias,
                                                 float* __restrict y, std::int64_t k,
                                                 std::int64_t n) {
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
      y[i * n + r] = bias ? s + bias[r] : s;
    }
  }
}

// All m input rows against NR weight rows, MR at a time.
template <int MR, int NR>
__attribute__((always_inline)) inline void rows(const float* x, const float* w, const float* bias,
                                                float* y, std::int64_t m, std::int64_t k,
                                                std::int64_t n) {
  std::int64_t i = 0;
  for (; i + MR <= m; i += MR) block<MR, NR>(x + i * k, w, bias, y + i * n, k, n);
  if constexpr (MR == 4) {
    switch (m - i) {
      case 3: block<3, NR>(x + i * k, w, bias, y + i * n, k, n); break;
      case 2: block<2, NR>(x + i * k, w, bias, y + i * n, k, n); break;
      case 1: block<1, NR>(x + i * k, w, bias, y + i * n, k, n); break;
      default: break;
    }
  } else if constexpr (MR == 2) {
    if (m - i == 1) block<1, NR>(x + i * k, w, bias, y + i * n, k, n);
  }
}

// Output columns [j0, j1) of y[m, n] = x[m, k] · w[n, k]ᵀ (+ bias), in blocks of NR columns.
template <int MR, int NR>
__attribute__((always_inline)) inline void columns(const float* x, const float* w,
                                                   const float* bias, float* y, std::int64_t m,
                                                   std::int64_t k, std::int64_t n, std::int64_t j0,
                                                   std::int64_t j1) {
  std::int64_t j = j0;
  for (; j + NR <= j1; j += NR) rows<MR, NR>(x, w + j * k, bias ? bias + j : nullptr, y + j, m, k, n);
  for (; j < j1; ++j) rows<MR, 1>(x, w + j * k, bias ? bias + j : nullptr, y + j, m, k, n);
}

// Sixteen accumulators either way: one or two rows read eight weight rows at once (more
// memory streams in flight, which is what bounds them); more rows take 4 x 4 blocks.
__attribute__((target_clones("avx512f", "avx2", "default"))) void few_rows(
    const float* x, const float* w, const float* bias, float* y, std::int64_t m, std::int64_t k,
    std::int64_t n, std::int64_t j0, std::int64_t j1) {
  if (m <= 2) {
    columns<2, 8>(x, w, bias, y, m, k, n, j0, j1);
  } else {
    columns<4, 4>(x, w, bias, y, m, k, n, j0, j1);
  }
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
  const std::int64_t k = weight.size(1);
  const std::int64_t n = weight.size(0);
  const auto input = x.reshape({-1, k}).contiguous();
  const std::int64_t m = input.size(0);
  auto sizes = x.sizes().vec();
  sizes.back() = n;
  auto y = torch::empty({m, n}, input.options());
  const auto b = bias.defined() ? bias.contiguous() : bias;
  const float* xp = input.data_ptr<float>();
  const float* wp = weight.data_ptr<float>();
  const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
  float* yp = y.data_ptr<float>();
  // Blocks of 8 output columns; a thread takes at least 256 KiB of weight.
  const std::int64_t blocks = (n + 7) / 8;
  const std::int64_t grain = std::max<std::int64_t>(1, (1 << 13) / k);
  at::parallel_for(0, blocks, grain, [&](std::int64_t b0, std::int64_t b1) {
    few_rows(xp, wp, bp, yp, m, k, n, b0 * 8, std::min(n, b1 * 8));
  });
  return y.view(sizes);
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

}  // namespace pft::model
