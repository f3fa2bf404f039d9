// A checkpoint's trainer_state.json, checked against a run of 100 steps, 10 batches an
// epoch, 3 epochs and a metrics.jsonl of 50 lines; what it accepts must be within them.
#include "fuzz_util.h"
#include "pft/train/trainer_state.h"
#include "pft/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pft::train::StateLimits limits;
  limits.total_steps = 100;
  limits.batches_per_epoch = 10;
  limits.epochs = 3;
  limits.metrics_lines = 50;
  try {
    const auto s =
        pft::train::parse_trainer_state(pft::fuzz::text(data, size), "trainer_state.json", limits);
    if (s.step < 0 || s.step > 100 || s.batch_in_epoch < 0 || s.batch_in_epoch > 10 ||
        s.epoch < 0 || s.epoch > 3 || s.best_step < -1 || s.best_step > s.step ||
        s.metrics_lines < 0 || s.metrics_lines > 50 || s.running_count < 0) {
      __builtin_trap();
    }
  } catch (const pft::Error&) {
  }
  return 0;
}
