// Tokenizer throughput for scripts/bench/tokenize_json.sh: every line of a JSONL file's
// "text" field encoded (special tokens added, no truncation) by the tokenizer of a folder,
// on N threads that split the lines into contiguous blocks; REPS repetitions, the median
// lines/s printed as one JSON line. Loading and reading the file are outside the timing.
// Usage: pft_bench_tokenize FOLDER JSONL THREADS REPS

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "pft/tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s FOLDER JSONL THREADS REPS\n", argv[0]);
    return 2;
  }
  const auto tok = pft::tokenizer::load_tokenizer(argv[1]);
  std::vector<std::string> lines;
  {
    std::ifstream in(argv[2]);
    std::string line;
    while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line).at("text"));
  }
  const std::size_t threads = std::max(1, std::atoi(argv[3]));
  const int reps = std::max(1, std::atoi(argv[4]));
  std::vector<double> rates;
  std::size_t tokens = 0;
  for (int rep = 0; rep < reps; ++rep) {
    std::vector<std::size_t> counts(threads, 0);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const std::size_t begin = lines.size() * t / threads, end = lines.size() * (t + 1) / threads;
        std::size_t n = 0;
        for (std::size_t i = begin; i < end; ++i) n += tok->encode(lines[i]).ids.size();
        counts[t] = n;
      });
    }
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(static_cast<double>(lines.size()) / s);
    tokens = 0;
    for (auto c : counts) tokens += c;
  }
  std::sort(rates.begin(), rates.end());
  std::printf("{\"lines\": %zu, \"tokens\": %zu, \"threads\": %zu, \"lines_per_s\": %.0f}\n",
              lines.size(), tokens, threads, rates[rates.size() / 2]);
  return 0;
}
