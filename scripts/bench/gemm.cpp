// The machine's matrix-product ceiling as LibTorch reaches it: GFLOP/s of torch::mm in fp32
// and bf16 over GEMM shapes of the benchmarked models (tokens x hidden x out for MiniLM and
// BERT-base at batch 16 x 128 tokens) and one large square product. Prints one JSON object:
// {"threads", "fp32", "bf16", "shapes": [{"m", "k", "n", "dtype", "gflops"}]}; "fp32" and
// "bf16" are the best shape's rate, the ceiling scripts/bench/train.py divides by.
// Usage: pft_bench_gemm [--threads N] [--seconds S]

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  int threads = 0;
  double seconds = 1.0;  // per shape and dtype
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: pft_bench_gemm [--threads N] [--seconds S]\n");
      return 2;
    }
  }
  if (threads > 0) at::set_num_threads(threads);
  torch::NoGradGuard no_grad;
  struct Shape {
    std::int64_t m, k, n;
  };
  const Shape shapes[] = {{2048, 384, 384},  {2048, 384, 1536}, {2048, 1536, 384},
                          {2048, 768, 768},  {2048, 768, 3072}, {2048, 3072, 768},
                          {4096, 4096, 4096}};
  std::string rows;
  double best[2] = {0, 0};
  const torch::ScalarType dtypes[] = {torch::kFloat32, torch::kBFloat16};
  for (int d = 0; d < 2; ++d) {
    for (const auto& s : shapes) {
      const auto a = torch::randn({s.m, s.k}).to(dtypes[d]);
      const auto b = torch::randn({s.k, s.n}).to(dtypes[d]);
      auto c = torch::mm(a, b);  // warm-up: oneDNN picks and caches its kernel
      c = torch::mm(a, b);
      using Clock = std::chrono::steady_clock;
      const auto start = Clock::now();
      std::int64_t reps = 0;
      double elapsed = 0;
      do {
        c = torch::mm(a, b);
        ++reps;
        elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      } while (elapsed < seconds);
      const double gflops = 2.0 * static_cast<double>(s.m * s.k * s.n) *
                            static_cast<double>(reps) / elapsed / 1e9;
      best[d] = std::max(best[d], gflops);
      char row[160];
      std::snprintf(row, sizeof row,
                    "%s{\"m\": %lld, \"k\": %lld, \"n\": %lld, \"dtype\": \"%s\", \"gflops\": %.2f}",
                    rows.empty() ? "" : ", ", static_cast<long long>(s.m),
                    static_cast<long long>(s.k), static_cast<long long>(s.n),
                    d == 0 ? "fp32" : "bf16", gflops);
      rows += row;
    }
  }
  std::printf("{\"threads\": %d, \"fp32\": %.2f, \"bf16\": %.2f, \"shapes\": [%s]}\n",
              at::get_num_threads(), best[0], best[1], rows.c_str());
  return 0;
}
