#pragma once
// Process-wide run settings from the global options: device and threads.

#include <torch/torch.h>

#include <string>

namespace pft {

/// Resolves --device (cpu, cuda, cuda:N, auto). `cuda` without a usable GPU is a usage
/// error that says so; `auto` picks cuda:0 when available, else cpu.
torch::Device resolve_device(const std::string& name);

/// Applies --threads (0: LibTorch's default, one per physical core, but no more than
/// usable_cores()), then warns when the intra-op thread count exceeds usable_cores(): threads
/// beyond the cores a process may run on wait for each other in every parallel region (and
/// spin while they wait).
void apply_threads(int threads);

/// The CPU cores this process may run on: the CPUs of its affinity mask (sched_getaffinity;
/// taskset, a container's cpuset), capped by its cgroup's CPU quota (cgroup v2 `cpu.max`,
/// v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`), rounded up; at least 1.
int usable_cores();

/// The cores a cgroup v2 `cpu.max` line ("QUOTA PERIOD") allows, rounded up; 0 for "max" (no
/// limit) or text that is not such a line.
int cgroup_quota_cores(const std::string& cpu_max);

/// The warning apply_threads() logs for `threads` intra-op threads on `cores` usable cores;
/// empty when threads <= cores.
std::string oversubscription_warning(int threads, int cores);

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
