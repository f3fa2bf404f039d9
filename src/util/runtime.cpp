#include "pft/util/runtime.h"

#include <torch/version.h>

#include <sched.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fstream>
#include <sstream>

#include "pft/util/error.h"
#include "pft/util/log.h"
#include "pft/version.h"

namespace pft {

torch::Device resolve_device(const std::string& name) {
  if (name == "auto") {
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  }
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw Error(ErrorKind::Usage, "--device " + name +
                                        ": CUDA is not available on this machine (no GPU or "
                                        "driver); use --device cpu or auto");
    }
    torch::Device device(torch::kCUDA, 0);
    if (name.size() > 5) {
      try {
        device = torch::Device(name);
      } catch (const c10::Error&) {
        throw Error(ErrorKind::Usage, "--device " + name + ": expected cuda:N with N a GPU index");
      }
    }
    const auto count = static_cast<int>(torch::cuda::device_count());
    if (device.index() >= count) {
      throw Error(ErrorKind::Usage, "--device " + name + ": only " + std::to_string(count) +
                                        " GPU(s) visible");
    }
    return device;
  }
  throw Error(ErrorKind::Usage, "--device " + name + ": expected cpu, cuda, cuda:N or auto");
}

void apply_threads(int threads) {
  if (threads < 0) throw Error(ErrorKind::Usage, "--threads: must be >= 0, got " + std::to_string(threads));
  const int cores = usable_cores();
  if (threads > 0) {
    at::set_num_threads(threads);
  } else if (at::get_num_threads() > cores) {
    // LibTorch's default counts the machine's cores, not those this process may use.
    log::debug("intra-op threads: {} (the usable cores) instead of LibTorch's default {}", cores,
               at::get_num_threads());
    at::set_num_threads(cores);
  }
  const auto warning = oversubscription_warning(at::get_num_threads(), cores);
  if (!warning.empty()) log::warn("{}", warning);
}

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// cgroup v1: cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us.
int cgroup_v1_quota_cores(const std::string& folder) {
  std::istringstream quota_text(read_text(folder + "/cpu.cfs_quota_us"));
  std::istringstream period_text(read_text(folder + "/cpu.cfs_period_us"));
  long long quota = -1, period = 0;
  if (!(quota_text >> quota) || !(period_text >> period) || quota <= 0 || period <= 0) return 0;
  return static_cast<int>((quota + period - 1) / period);
}

// The quota of this process's own cgroup (its path from /proc/self/cgroup), else of the
// hierarchy's root as a container sees it.
int cgroup_cores() {
  std::istringstream lines(read_text("/proc/self/cgroup"));
  std::string own;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("0::", 0) == 0) own = line.substr(3);
  }
  for (const auto& folder : {"/sys/fs/cgroup" + own, std::string("/sys/fs/cgroup")}) {
    if (const int cores = cgroup_quota_cores(read_text(folder + "/cpu.max")); cores > 0)
      return cores;
  }
  for (const auto* folder : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
    if (const int cores = cgroup_v1_quota_cores(folder); cores > 0) return cores;
  }
  return 0;
}

}  // namespace

int cgroup_quota_cores(const std::string& cpu_max) {
  std::istringstream in(cpu_max);
  std::string quota;
  long long period = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0) return 0;
  char* end = nullptr;
  const long long q = std::strtoll(quota.c_str(), &end, 10);
  if (end == quota.c_str() || *end != '\0' || q <= 0) return 0;
  return static_cast<int>((q + period - 1) / period);
}

int usable_cores() {
  int cores = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
  if (cores <= 0) cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  const int quota = cgroup_cores();
  if (quota > 0) cores = cores > 0 ? std::min(cores, quota) : quota;
  return std::max(cores, 1);
}

std::string oversubscription_warning(int threads, int cores) {
  if (threads <= cores) return {};
  const auto n = std::to_string(cores);
  return std::to_string(threads) + " intra-op threads, but this process may use only " + n +
         " CPU core(s) (affinity mask and cgroup quota): the extra threads wait for each other "
         "in every parallel operation; use --threads " +
         n + " or fewer (scripts/sweep.sh --jobs N shares the cores between runs)";
}

bool keep_freed_memory() {
#if defined(__GLIBC__)
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr) return false;
  // Setting either disables glibc's dynamic thresholds; both are set together (a trim
  // threshold alone would leave the mmap threshold at 128 KiB).
  return mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
#else
  return false;
#endif
}

double seconds_since_process_start() {
  // Field 22 of /proc/self/stat is the start time in clock ticks since boot; the command
  // name (field 2) may hold spaces, so fields are counted after its closing parenthesis.
  std::ifstream stat("/proc/self/stat"), uptime("/proc/uptime");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  double up = 0;
  const auto close = text.rfind(')');
  if (close == std::string::npos || !(uptime >> up)) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) return up - std::stod(field) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return -1;
}

std::string version_text() {
  std::ostringstream out;
  out << "pft " << PFT_VERSION << "\n";
  out << "LibTorch " << TORCH_VERSION << "\n";
  const bool cuda = torch::cuda::is_available();
  out << "CUDA: " << (cuda ? "available, " + std::to_string(torch::cuda::device_count()) + " GPU(s)"
                           : std::string("not available"))
      << "\n";
  out << "threads: " << at::get_num_threads() << "\n";
  return out.str();
}

}  // namespace pft
