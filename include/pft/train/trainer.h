#pragma once
// The training loop: AdamW in decay/no-decay groups, warm-up + schedule, gradient
// accumulation, clipping by global norm, epochs or max_steps, evaluation every N steps and at
// the end, early stopping and the best checkpoint, checkpoints every N steps that resume
// exactly, SIGINT/SIGTERM handled by saving and exiting 130, NaN/inf losses stopped with the
// step named. Task-agnostic: a TrainableTask makes batches, losses and evaluations.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pft/config/config.h"
#include "pft/peft/method.h"
#include "pft/train/distributed.h"
#include "pft/train/precision.h"
#include "pft/train/tensorboard.h"
#include "pft/train/trainer_state.h"

namespace pft::train {

/// One batch on its device.
struct Batch {
  std::vector<std::size_t> indices;              // example indices in the training split
  std::map<std::string, torch::Tensor> tensors;  // input_ids, attention_mask, labels, ...
  std::int64_t num_tokens = 0;                   // non-padding input tokens
};

struct EvalResult {
  std::map<std::string, double> metrics;
  std::int64_t examples = 0;
};

class TrainableTask {
 public:
  virtual ~TrainableTask() = default;
  /// Token lengths of the training examples (the batch planner buckets by them).
  virtual std::vector<std::int64_t> train_lengths() const = 0;
  virtual Batch train_batch(const std::vector<std::size_t>& indices,
                            const torch::Device& device) const = 0;
  /// Mean loss of a batch, with gradients (the model is in training mode).
  virtual torch::Tensor loss(const Batch& batch) = 0;
  virtual bool has_eval() const = 0;
  /// Examples in the evaluation split.
  virtual std::size_t eval_size() const = 0;
  /// Predictions for `indices` of the evaluation split (model in eval mode, no gradients),
  /// one JSON object per example with its "index": the lines `--predictions` writes.
  virtual std::vector<nlohmann::json> predict(const std::vector<std::size_t>& indices) = 0;
  /// The metrics of the whole evaluation split's predictions (index order); empty when the
  /// examples carry no labels.
  virtual std::map<std::string, double> score(const std::vector<nlohmann::json>& predictions) const = 0;
  /// Evaluates on the evaluation split: predict() on every example, or with `distributed` on
  /// this rank's share (every world_size-th example) with the predictions then gathered on
  /// every rank; score(); the predictions written to `predictions_path` (when not empty, by
  /// rank 0, atomically).
  EvalResult evaluate(const std::string& predictions_path, Distributed* distributed = nullptr);
  /// The metric that decides the best checkpoint by default ("accuracy", ...).
  virtual std::string main_metric() const = 0;
};

struct TrainSummary {
  std::int64_t steps = 0;
  std::int64_t examples = 0;
  std::int64_t tokens = 0;
  double seconds = 0;
  double best_metric = 0;
  std::int64_t best_step = -1;
  std::string metric_name;
  std::map<std::string, double> final_metrics;
  double final_loss = 0;
  std::string adapter_dir;
  bool stopped_early = false;
};

class Trainer {
 public:
  /// `run_dir` receives config.resolved.json (written by the caller), metrics.jsonl,
  /// train.log, checkpoints/, adapter/, best/adapter/, summary.json and (train.tensorboard)
  /// tensorboard/ with the metrics as TensorBoard scalars.
  Trainer(TrainableTask& task, peft::AdaptedModel& model, config::TrainConfig options,
          torch::Device device, std::string run_dir);

  /// Data-parallel training: this process is one rank of `distributed` (which must outlive
  /// the trainer). Rank 0 alone writes files; every rank computes the same steps.
  void set_distributed(Distributed* distributed) { dist_ = distributed; }

  /// A JSON document written as kAdapterIdentityFile into every adapter folder the run saves
  /// (final, best and checkpoints): what the adapter was trained on (peft/identity.h).
  void set_adapter_identity(nlohmann::json identity) { identity_ = std::move(identity); }

  /// Trains; with `resume`, continues from the newest complete checkpoint in run_dir. A
  /// failure after a step (an evaluation that cannot be scored, ...) saves a checkpoint of the
  /// last complete step before it is passed on, unless saving is what failed.
  TrainSummary run(bool resume);

  /// Steps in the whole run (max_steps, or epochs x optimizer steps per epoch).
  std::int64_t total_steps() const;

 private:
  using State = TrainerState;
  struct Clock;  // timing of the run for summary.json (trainer.cpp)

  bool is_main() const { return dist_ == nullptr || dist_->is_main(); }
  // The steps of run(), in order.
  State start(bool resume);
  bool train_epoch(State& state, Clock& clock);
  void micro_batch(State& state, const std::vector<std::size_t>& global, std::size_t index);
  void optimizer_step(State& state, double& lr, double& grad_norm);
  bool after_step(State& state, Clock& clock, double lr, double grad_norm, bool epoch_end);
  TrainSummary finish(State& state, Clock& clock);
  void save_after_failure(const State& state) noexcept;

  [[noreturn]] void non_finite_loss(double value, const State& state, std::size_t batch) const;
  void save_checkpoint(const State& state);
  void save_adapter(const std::string& dir) const;
  State load_latest_checkpoint();
  void append_metrics(State& state, const nlohmann::json& event);
  // A new TensorBoard file (the old ones removed) holding metrics.jsonl's lines so far.
  void start_tensorboard();
  void tensorboard_scalars(const nlohmann::json& event);
  bool better(double value, const State& state) const;
  EvalResult evaluate_and_track(State& state);

  TrainableTask& task_;
  peft::AdaptedModel& model_;
  config::TrainConfig options_;
  torch::Device device_;
  std::string run_dir_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<std::pair<std::string, torch::Tensor>> trainable_;
  std::int64_t batches_per_epoch_ = 0;
  std::string metric_name_;
  Precision precision_;
  GradScaler scaler_;
  Distributed* dist_ = nullptr;
  std::int64_t last_bytes_ = 0;
  nlohmann::json identity_;
  // The loop's position between steps (run() and its steps).
  std::vector<std::int64_t> lengths_;
  std::int64_t total_ = 0;
  std::int64_t last_saved_step_ = -1;  // the newest checkpoint this process wrote or read
  State step_start_;                   // the state before the step under way
  bool in_step_ = false;               // between a step's first batch and its update
  bool saving_ = false;                // inside save_checkpoint
  bool diverged_ = false;              // a non-finite loss: nothing worth saving
  bool interrupted_ = false;           // SIGINT/SIGTERM seen (by any rank) at the last step
  double step_loss_ = 0;               // data parallel: this rank's weighted loss in the step
  std::int64_t step_tokens_ = 0;       // and its tokens
  std::unique_ptr<EventWriter> events_;  // train.tensorboard, rank 0
  double last_log_time_ = -1;             // seconds since the epoch at the last loss line
  std::int64_t last_log_step_ = 0;
  EvalResult last_eval_;
  std::int64_t last_eval_step_ = -1;
  double last_loss_ = 0;
  bool stopped_early_ = false;
};

/// Names of the complete checkpoints in RUN_DIR/checkpoints, oldest first ("step-40", ...).
std::vector<std::string> list_checkpoints(const std::string& run_dir);

}  // namespace pft::train
