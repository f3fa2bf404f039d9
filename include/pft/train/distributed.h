#pragma once
// Data-parallel training over PyTorch's own distributed engine (c10d): a process joins a
// process group when launched by torchrun (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT in the environment), rendezvous through c10d's TCP store, and gradients are
// all-reduced with the Gloo backend (CPU). See docs/distributed.md.

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pft::train {

/// What torchrun (or a user) put in the environment.
struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  /// torchrun's agent already serves the TCP store (TORCHELASTIC_USE_AGENT_STORE=True):
  /// every rank connects as a client.
  bool agent_store = false;

  /// Reads the variables; nullopt when WORLD_SIZE is unset or 1 (a single process).
  /// Malformed values are a pft::Error (Config) naming the variable.
  static std::optional<DistributedEnv> from_environment();
};

class ProcessGroup;

/// One process's membership of the group. All collective calls must be made by every rank
/// in the same order.
class Distributed {
 public:
  /// Joins the group (blocks until every rank has arrived or `timeout` passes). `backend`:
  /// "gloo", "nccl" (CUDA) or "auto". Collectives that wait longer than `timeout` fail with a
  /// pft::Error (Runtime) naming the rank and operation, so a dead rank ends the job.
  /// `device`: where the model lives; `auto` picks NCCL for a CUDA device, Gloo otherwise.
  Distributed(const DistributedEnv& env, const std::string& backend, std::chrono::seconds timeout,
              const torch::Device& device);
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  bool is_main() const { return env_.rank == 0; }

  /// Sums `tensors` over all ranks in place, flattened into buckets of at most
  /// `bucket_bytes` (one all-reduce per bucket). Undefined tensors are skipped (the same on
  /// every rank). Returns the bytes this rank sent into the collectives.
  std::int64_t all_reduce_sum(const std::vector<torch::Tensor>& tensors,
                              std::int64_t bucket_bytes = 25 << 20);
  /// Copies rank 0's values of `tensors` to every rank.
  void broadcast(const std::vector<torch::Tensor>& tensors);
  /// Every rank's `mine`, in rank order, on every rank (sizes may differ).
  std::vector<std::string> all_gather(const std::string& mine);
  void barrier();

 private:
  DistributedEnv env_;
  std::chrono::seconds timeout_;
  std::unique_ptr<ProcessGroup> group_;
};

/// True when this build was compiled with c10d's Gloo backend.
bool distributed_available();
/// True when this build also has c10d's NCCL backend (a CUDA LibTorch and nccl.h at build time).
bool nccl_available();

}  // namespace pft::train
