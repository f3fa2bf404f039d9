#include "pft/util/runtime.h"

#include <torch/version.h>

#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <climits>
#include <cstdlib>
#include <cstring>

#include <fstream>
#include <sstream>

#include "pft/util/error.h"
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
  if (threads > 0) {
    at::set_num_threads(threads);
  }
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
