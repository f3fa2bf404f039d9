#pragma once
// Process-wide run settings from the global options: device and threads.

#include <torch/torch.h>

#include <string>

namespace pft {

/// Resolves --device (cpu, cuda, cuda:N, auto). `cuda` without a usable GPU is a usage
/// error that says so; `auto` picks cuda:0 when available, else cpu.
torch::Device resolve_device(const std::string& name);

/// Applies --threads (0: LibTorch's default, one per physical core).
void apply_threads(int threads);

/// Seconds since this process was started by the kernel (before LibTorch's libraries were
/// loaded), from /proc; -1 where /proc is not available.
double seconds_since_process_start();

/// Lines of `pft --version`: pft, LibTorch and CUDA versions, CUDA availability, threads.
std::string version_text();

}  // namespace pft
