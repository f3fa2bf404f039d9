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

/// Keeps freed tensor memory in the process (glibc only; a no-op elsewhere, and where the
/// user set glibc.malloc tunables in GLIBC_TUNABLES). By default glibc hands blocks above a
/// threshold back to the kernel on free (munmap, or trimming the heap top), and a training step
/// frees and reallocates hundreds of MB of activations, so every step faulted the same
/// pages in again and the kernel zeroed them. Blocks up to 32 MiB (glibc's largest mmap
/// threshold) come from the heap, whose top is not trimmed. Returns whether it applied.
bool keep_freed_memory();

/// Seconds since this process was started by the kernel (before LibTorch's libraries were
/// loaded), from /proc; -1 where /proc is not available.
double seconds_since_process_start();

/// Lines of `pft --version`: pft, LibTorch and CUDA versions, CUDA availability, threads.
std::string version_text();

}  // namespace pft
