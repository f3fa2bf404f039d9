#include "pft/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "pft/util/error.h"

namespace pft::train {

double lr_multiplier(const ScheduleOptions& o, std::int64_t step) {
  const auto s = static_cast<double>(step);
  if (step < o.warmup_steps) {
    return s / static_cast<double>(std::max<std::int64_t>(1, o.warmup_steps));
  }
  const double progress = static_cast<double>(step - o.warmup_steps) /
                          static_cast<double>(std::max<std::int64_t>(1, o.total_steps - o.warmup_steps));
  if (o.kind == "constant") return 1.0;
  if (o.kind == "linear") {
    return std::max(0.0, static_cast<double>(o.total_steps - step) /
                             static_cast<double>(std::max<std::int64_t>(1, o.total_steps - o.warmup_steps)));
  }
  if (o.kind == "cosine") {
    return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * o.num_cycles * 2.0 * progress)));
  }
  throw Error(ErrorKind::Config, "train.lr_scheduler: unknown schedule '" + o.kind +
                                     "'; expected constant, linear or cosine");
}

std::int64_t warmup_steps(std::int64_t steps, double ratio, std::int64_t total_steps) {
  if (steps > 0) return steps;
  return static_cast<std::int64_t>(std::ceil(ratio * static_cast<double>(total_steps)));
}

}  // namespace pft::train
