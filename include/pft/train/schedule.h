#pragma once
// Learning-rate schedules with linear warm-up, equal to transformers'
// get_{constant,linear,cosine}_schedule_with_warmup: the multiplier of the peak rate at an
// optimizer step (0-based, the value used for that step's update).

#include <cstdint>
#include <string>

namespace pft::train {

struct ScheduleOptions {
  std::string kind = "linear";     // constant | linear | cosine
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;
  double num_cycles = 0.5;         // cosine: half a wave, from 1 down to 0
};

/// Multiplier of the peak learning rate at `step`.
double lr_multiplier(const ScheduleOptions& options, std::int64_t step);

/// Warm-up steps from train.warmup_steps or train.warmup_ratio (ceil(ratio * total), as
/// transformers' TrainingArguments.get_warmup_steps); the steps win when both are set.
std::int64_t warmup_steps(std::int64_t steps, double ratio, std::int64_t total_steps);

}  // namespace pft::train
