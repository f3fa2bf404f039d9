#include "pft/model/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

#include "pft/util/error.h"
#include "pft/util/parallel.h"

namespace pft::model {
namespace {

// Chris Wellons' lowbias32: a 32-bit integer hash with low bias, two multiplies, so that
// a loop over it vectorises.
inline std::uint32_t mix(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

// n elements from index `first` of one block of 2^32 elements, whose keys k0, k1 already
// include the block number: y[i] = x[i] * (keep(i) ? scale : 0), a product as torch.dropout's
// (a dropped NaN stays NaN). Inlined into each target_clones body below, so that every
// instruction set gets its own vectorised loop; the loader picks the widest the CPU has.
template <typename T, typename Compute>
__attribute__((always_inline)) inline void mask_loop(const T* __restrict x, T* __restrict y,
                                                     std::int64_t n, std::uint64_t first,
                                                     std::uint32_t k0, std::uint32_t k1,
                                                     std::uint32_t threshold, Compute scale) {
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint32_t h = mix(mix(static_cast<std::uint32_t>(first + i) ^ k0) + k1);
    y[i] = static_cast<T>(static_cast<Compute>(x[i]) * (h >= threshold ? scale : Compute(0)));
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void mask_float(
    const float* x, float* y, std::int64_t n, std::uint64_t first, std::uint32_t k0,
    std::uint32_t k1, std::uint32_t threshold, float scale) {
  mask_loop(x, y, n, first, k0, k1, threshold, scale);
}

// bfloat16 as its bits, converted by hand (round to nearest even, NaN kept quiet) so that
// the loop vectorises; c10::BFloat16's conversions branch and do not.
__attribute__((target_clones("avx512f", "avx2", "default"))) void mask_bf16(
    const std::uint16_t* __restrict x, std::uint16_t* __restrict y, std::int64_t n,
    std::uint64_t first, std::uint32_t k0, std::uint32_t k1, std::uint32_t threshold,
    float scale) {
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint32_t h = mix(mix(static_cast<std::uint32_t>(first + i) ^ k0) + k1);
    const std::uint32_t in = static_cast<std::uint32_t>(x[i]) << 16;
    float v;
    std::memcpy(&v, &in, sizeof v);
    const float r = v * (h >= threshold ? scale : 0.0f);
    std::uint32_t b;
    std::memcpy(&b, &r, sizeof b);
    const std::uint32_t rounded = (b + 0x7fffU + ((b >> 16) & 1U)) >> 16;
    const bool nan = (b & 0x7fffffffU) > 0x7f800000U;
    y[i] = static_cast<std::uint16_t>(nan ? 0x7fc0U : rounded);
  }
}

std::uint64_t next_key() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get<at::CPUGeneratorImpl>()->random64();
}

// The threshold under which an element is dropped: round(p * 2^32), saturated.
std::uint32_t threshold_of(double p) {
  const double t = std::round(p * 4294967296.0);
  return t >= 4294967295.0 ? 0xffffffffU : static_cast<std::uint32_t>(t);
}

void check_p(double p) {
  if (!(p >= 0.0 && p <= 1.0)) {
    throw Error(ErrorKind::Runtime, "dropout probability must be in [0, 1], got " +
                                        std::to_string(p));
  }
}

struct HashedDropout : public torch::autograd::Function<HashedDropout> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               double p, std::int64_t key) {
    ctx->saved_data["p"] = p;
    ctx->saved_data["key"] = key;
    return hashed_dropout_kernel(x, p, static_cast<std::uint64_t>(key));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto p = ctx->saved_data["p"].toDouble();
    const auto key = static_cast<std::uint64_t>(ctx->saved_data["key"].toInt());
    return {hashed_dropout_kernel(grad[0], p, key), torch::Tensor(), torch::Tensor()};
  }
};

struct SoftmaxDropout : public torch::autograd::Function<SoftmaxDropout> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& scores,
                               double p, std::int64_t key) {
    auto probs = torch::softmax(scores, -1);
    ctx->saved_data["p"] = p;
    ctx->saved_data["key"] = key;
    ctx->save_for_backward({probs});
    return hashed_dropout_kernel(probs, p, static_cast<std::uint64_t>(key));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto p = ctx->saved_data["p"].toDouble();
    const auto key = static_cast<std::uint64_t>(ctx->saved_data["key"].toInt());
    const auto probs = ctx->get_saved_variables()[0];
    const auto g = hashed_dropout_kernel(grad[0], p, key);
    return {at::_softmax_backward_data(g, probs, -1, probs.scalar_type()), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor hashed_dropout_kernel(const torch::Tensor& input, double p, std::uint64_t key) {
  check_p(p);
  TORCH_CHECK(input.device().is_cpu(), "hashed dropout runs on CPU tensors");
  const auto x = input.contiguous();
  auto y = torch::empty_like(x, at::MemoryFormat::Contiguous);
  if (p >= 1.0) return y.zero_();
  const auto threshold = threshold_of(p);
  const double scale = 1.0 / (1.0 - p);
  const auto n = x.numel();
  const auto key0 = static_cast<std::uint32_t>(key);
  const auto key1 = static_cast<std::uint32_t>(key >> 32);
  // Blocks of 2^32 elements get their own keys, so indices never repeat within a call.
  at::parallel_for(0, n, 1 << 15, [&](std::int64_t begin, std::int64_t end) {
    while (begin < end) {
      const std::uint64_t block = static_cast<std::uint64_t>(begin) >> 32;
      const std::int64_t stop =
          std::min<std::int64_t>(end, static_cast<std::int64_t>((block + 1) << 32));
      const std::uint32_t k0 = key0 ^ mix(static_cast<std::uint32_t>(block));
      const std::uint32_t k1 = key1 + static_cast<std::uint32_t>(block);
      const std::int64_t count = stop - begin;
      const auto first = static_cast<std::uint64_t>(begin);
      switch (x.scalar_type()) {
        case torch::kFloat:
          mask_float(x.data_ptr<float>() + begin, y.data_ptr<float>() + begin, count, first, k0,
                     k1, threshold, static_cast<float>(scale));
          break;
        case torch::kBFloat16:
          mask_bf16(reinterpret_cast<const std::uint16_t*>(x.data_ptr<c10::BFloat16>()) + begin,
                    reinterpret_cast<std::uint16_t*>(y.data_ptr<c10::BFloat16>()) + begin, count,
                    first, k0, k1, threshold, static_cast<float>(scale));
          break;
        case torch::kHalf:
          mask_loop(x.data_ptr<c10::Half>() + begin, y.data_ptr<c10::Half>() + begin, count,
                    first, k0, k1, threshold, static_cast<float>(scale));
          break;
        case torch::kDouble:
          mask_loop(x.data_ptr<double>() + begin, y.data_ptr<double>() + begin, count, first,
                    k0, k1, threshold, scale);
          break;
        default:
          TORCH_CHECK(false, "hashed dropout: unsupported dtype ", x.scalar_type());
      }
      begin = stop;
    }
  });
  return y;
}

torch::Tensor dropout(const torch::Tensor& x, double p, bool training) {
  check_p(p);
  if (!training || p == 0.0) return x;
  if (!x.device().is_cpu()) return torch::dropout(x, p, true);
  return HashedDropout::apply(x, p, static_cast<std::int64_t>(next_key()));
}

torch::Tensor softmax_dropout(const torch::Tensor& scores, double p, bool training) {
  check_p(p);
  if (!training || p == 0.0) return torch::softmax(scores, -1);
  if (!scores.device().is_cpu()) return torch::dropout(torch::softmax(scores, -1), p, true);
  return SoftmaxDropout::apply(scores, p, static_cast<std::int64_t>(next_key()));
}

double masked_score(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kHalf: return -65504.0;
    case torch::kBFloat16: return -3.3895313892515355e38;
    case torch::kDouble: return std::numeric_limits<double>::lowest();
    default: return static_cast<double>(std::numeric_limits<float>::lowest());
  }
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& mask, double dropout_p, double scale) {
  if (dropout_p == 0.0 || !q.device().is_cpu()) {
    return at::scaled_dot_product_attention(
        q, k, v, mask.defined() ? c10::optional<torch::Tensor>(mask) : c10::nullopt, dropout_p,
        /*is_causal=*/false, scale);
  }
  // The scale goes on the queries, the smaller tensor when the sequence is longer than a head.
  auto scores = torch::matmul(scale == 1.0 ? q : q * scale, k.transpose(-2, -1));
  if (mask.defined()) {
    if (mask.scalar_type() == torch::kBool) {
      // A finite fill, so that a row with every key masked gives no NaN.
      scores = scores.masked_fill(mask.logical_not(), masked_score(scores.scalar_type()));
    } else {
      scores = scores + mask;
    }
  }
  const auto probs = softmax_dropout(scores, dropout_p, true);
  return torch::matmul(probs.to(v.scalar_type()), v);
}

}  // namespace pft::model
