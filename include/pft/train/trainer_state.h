#pragma once
// The trainer's position in a run, as a checkpoint's trainer_state.json holds it. The file is
// untrusted input on resume (it may be damaged or edited): parse_trainer_state() checks every
// field's type, range and consistency before the trainer uses any of it.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace pft::train {

struct TrainerState {
  std::int64_t step = 0;            // optimizer steps done
  std::int64_t epoch = 0;           // current epoch
  std::int64_t batch_in_epoch = 0;  // micro-batches of `epoch` already consumed
  double best_metric = 0;
  std::int64_t best_step = -1;  // -1: no evaluation yet
  std::int64_t bad_evals = 0;   // evaluations since the best one
  std::int64_t examples = 0;
  std::int64_t tokens = 0;
  std::int64_t metrics_lines = 0;  // lines of metrics.jsonl written so far
  double running_loss = 0;         // loss summed since the last log line
  std::int64_t running_count = 0;  // batches in running_loss
  nlohmann::json grad_scaler;      // GradScaler::state()
};

/// What a state must agree with: the run it is resumed into.
struct StateLimits {
  std::int64_t total_steps = 0;        // steps of the whole run
  std::int64_t batches_per_epoch = 0;  // micro-batches in one epoch's plan
  std::int64_t epochs = 0;             // train.epochs (0: max_steps decides)
  std::int64_t metrics_lines = -1;     // lines now in metrics.jsonl (-1: unknown)
};

nlohmann::json to_json(const TrainerState& state);

/// Parses trainer_state.json text. Malformed JSON, a missing field, a wrong type or a value
/// out of range or inconsistent with `limits` is a pft::Error (Input) naming `file` and the
/// field ("step: -5 is negative").
TrainerState parse_trainer_state(const std::string& text, const std::string& file,
                                 const StateLimits& limits);

}  // namespace pft::train
