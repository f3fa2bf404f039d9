#include "pft/train/distributed.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#if defined(PFT_WITH_GLOO)
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if defined(PFT_WITH_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "pft/util/error.h"
#include "pft/util/log.h"

namespace pft::train {
namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

int env_int(const char* name, int fallback, int lo, int hi) {
  const auto v = env(name);
  if (!v) return fallback;
  try {
    std::size_t used = 0;
    const long n = std::stol(*v, &used);
    if (used != v->size() || n < lo || n > hi) throw std::invalid_argument("range");
    return static_cast<int>(n);
  } catch (const std::exception&) {
    std::string message = "environment variable ";
    message += name;
    message += "='" + *v + "': expected an integer in [" + std::to_string(lo) + ", " +
               std::to_string(hi) + "]";
    throw Error(ErrorKind::Config, message);
  }
}

}  // namespace

std::optional<DistributedEnv> DistributedEnv::from_environment() {
  const int world = env_int("WORLD_SIZE", 1, 1, 1 << 20);
  if (world <= 1) return std::nullopt;
  DistributedEnv e;
  e.world_size = world;
  e.rank = env_int("RANK", -1, 0, world - 1);
  if (e.rank < 0)
    throw Error(ErrorKind::Config,
                "environment: WORLD_SIZE is set but RANK is not (launch with torchrun)");
  e.local_rank = env_int("LOCAL_RANK", 0, 0, 1 << 20);
  e.master_addr = env("MASTER_ADDR").value_or("127.0.0.1");
  e.master_port = env_int("MASTER_PORT", 29500, 1, 65535);
  e.agent_store = env("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  return e;
}

#if defined(PFT_WITH_GLOO)

class ProcessGroup {
 public:
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;  // Gloo or NCCL
  std::string name = "gloo";
  torch::Device device = torch::kCPU;  // where collective buffers live (NCCL: the rank's GPU)
};

bool distributed_available() { return true; }

bool nccl_available() {
#if defined(PFT_WITH_NCCL)
  return true;
#else
  return false;
#endif
}

Distributed::Distributed(const DistributedEnv& e, const std::string& backend,
                         std::chrono::seconds timeout, const torch::Device& device)
    : env_(e), timeout_(timeout), group_(std::make_unique<ProcessGroup>()) {
  // auto: NCCL for CUDA devices, Gloo for the CPU (as torch.distributed's default).
  const std::string name = backend == "auto" ? (device.is_cuda() ? "nccl" : "gloo") : backend;
  if (name == "nccl" && !nccl_available()) {
    throw Error(ErrorKind::Config,
                "train.distributed_backend: nccl is not available in this build (it needs a "
                "CUDA build of LibTorch and nccl.h at build time); use gloo");
  }
  if (name == "nccl" && !device.is_cuda()) {
    throw Error(ErrorKind::Config,
                "train.distributed_backend: nccl needs a CUDA device (--device cuda); on the CPU "
                "use gloo or auto");
  }
  if (name != "gloo" && name != "nccl") {
    throw Error(ErrorKind::Config, "train.distributed_backend: '" + backend +
                                       "' is not a backend (expected auto, gloo or nccl)");
  }
  group_->name = name;
  group_->device = name == "nccl" ? device : torch::Device(torch::kCPU);
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(e.master_port);
  so.isServer = e.rank == 0 && !e.agent_store;
  so.numWorkers = e.world_size;
  so.waitWorkers = false;
  so.timeout = timeout;
  try {
    group_->store = c10::make_intrusive<c10d::TCPStore>(e.master_addr, so);
    if (name == "nccl") {
#if defined(PFT_WITH_NCCL)
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      group_->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(group_->store, e.rank,
                                                                 e.world_size, options);
#endif
    } else {
      auto options = c10d::ProcessGroupGloo::Options::create();
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      options->timeout = timeout;
      group_->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, e.rank,
                                                                 e.world_size, options);
    }
  } catch (const std::exception& ex) {
    throw Error(ErrorKind::Runtime, "rank " + std::to_string(e.rank) +
                                        ": could not join the process group at " + e.master_addr +
                                        ":" + std::to_string(e.master_port) + ": " + ex.what());
  }
  log::info("rank {} of {} joined the process group ({}, {}:{})", e.rank, e.world_size, name,
            e.master_addr, e.master_port);
}

Distributed::~Distributed() = default;

std::int64_t Distributed::all_reduce_sum(const std::vector<torch::Tensor>& tensors,
                                         std::int64_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  std::int64_t sent = 0;
  std::vector<torch::Tensor> bucket;
  std::int64_t bytes = 0;
  const auto flush = [&] {
    if (bucket.empty()) return;
    std::vector<torch::Tensor> flat{torch::cat([&] {
      std::vector<torch::Tensor> parts;
      for (const auto& t : bucket) parts.push_back(t.reshape(-1).to(group_->device, torch::kFloat));
      return parts;
    }())};
    try {
      group_->backend->allreduce(flat)->wait(timeout_);
    } catch (const std::exception& ex) {
      throw Error(
          ErrorKind::Runtime,
          "rank " + std::to_string(env_.rank) +
              ": gradient all-reduce failed (another rank died or timed out): " + ex.what());
    }
    std::int64_t offset = 0;
    for (auto& t : bucket) {
      t.copy_(flat[0].narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
    sent += flat[0].numel() * static_cast<std::int64_t>(sizeof(float));
    bucket.clear();
    bytes = 0;
  };
  for (const auto& t : tensors) {
    if (!t.defined()) continue;
    const std::int64_t b = t.numel() * static_cast<std::int64_t>(sizeof(float));
    if (bytes + b > bucket_bytes) flush();
    bucket.push_back(t);
    bytes += b;
  }
  flush();
  return sent;
}

void Distributed::broadcast(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    if (!t.defined()) continue;
    std::vector<torch::Tensor> one{t.detach().to(group_->device).contiguous()};
    try {
      group_->backend->broadcast(one)->wait(timeout_);
    } catch (const std::exception& ex) {
      throw Error(ErrorKind::Runtime,
                  "rank " + std::to_string(env_.rank) + ": broadcast failed: " + ex.what());
    }
    if (one[0].data_ptr() != t.data_ptr()) t.detach().copy_(one[0]);
  }
}

std::vector<std::string> Distributed::all_gather(const std::string& mine) {
  torch::NoGradGuard no_grad;
  const auto world = static_cast<std::size_t>(env_.world_size);
  const auto gather = [&](const torch::Tensor& input, const char* what) {
    std::vector<std::vector<torch::Tensor>> out(1);
    for (std::size_t r = 0; r < world; ++r) out[0].push_back(torch::empty_like(input));
    std::vector<torch::Tensor> in{input};
    try {
      group_->backend->allgather(out, in)->wait(timeout_);
    } catch (const std::exception& ex) {
      throw Error(ErrorKind::Runtime, "rank " + std::to_string(env_.rank) + ": all-gather of " +
                                          what + " failed (another rank died or timed out): " +
                                          ex.what());
    }
    return out[0];
  };
  // Sizes first, then every rank's bytes padded to the longest.
  const auto on = group_->device;
  auto sizes = gather(torch::tensor({static_cast<std::int64_t>(mine.size())}).to(on), "sizes");
  std::int64_t longest = 1;
  for (auto& t : sizes) {
    t = t.cpu();
    longest = std::max(longest, t.item<std::int64_t>());
  }
  auto buffer = torch::zeros({longest}, torch::kUInt8);
  std::memcpy(buffer.data_ptr<std::uint8_t>(), mine.data(), mine.size());
  auto parts = gather(buffer.to(on), "evaluation results");
  for (auto& t : parts) t = t.cpu();
  std::vector<std::string> result;
  for (std::size_t r = 0; r < world; ++r) {
    const auto* data = reinterpret_cast<const char*>(parts[r].data_ptr<std::uint8_t>());
    result.emplace_back(data, static_cast<std::size_t>(sizes[r].item<std::int64_t>()));
  }
  return result;
}

void Distributed::barrier() {
  try {
    group_->backend->barrier()->wait(timeout_);
  } catch (const std::exception& ex) {
    throw Error(ErrorKind::Runtime,
                "rank " + std::to_string(env_.rank) + ": barrier failed: " + ex.what());
  }
}

#else

class ProcessGroup {};

bool distributed_available() { return false; }

bool nccl_available() { return false; }

Distributed::Distributed(const DistributedEnv& e, const std::string&, std::chrono::seconds,
                         const torch::Device&)
    : env_(e) {
  throw Error(ErrorKind::Config,
              "WORLD_SIZE=" + std::to_string(e.world_size) +
                  ": this pft was built without c10d's Gloo backend (install libgloo-dev and "
                  "rebuild) and cannot train on several processes");
}
Distributed::~Distributed() = default;
std::int64_t Distributed::all_reduce_sum(const std::vector<torch::Tensor>&, std::int64_t) {
  return 0;
}
void Distributed::broadcast(const std::vector<torch::Tensor>&) {}
std::vector<std::string> Distributed::all_gather(const std::string& mine) { return {mine}; }
void Distributed::barrier() {}

#endif

}  // namespace pft::train
