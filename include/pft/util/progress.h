#pragma once
// A progress bar for long loops: steps, rate, ETA and the latest loss, redrawn in place on a
// terminal; on anything else (a CI log, a pipe) a plain log line every `period_s` seconds
// and at the end, so logs stay readable.

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace pft {

class ProgressBar {
 public:
  /// `total` steps (0: unknown). `tty` decides in-place redraws; use stderr_is_tty().
  ProgressBar(std::string label, std::int64_t total, std::ostream& out, bool tty,
              double period_s = 30.0);
  /// Reports that `step` steps are done; `loss` < 0 means none to show.
  void update(std::int64_t step, double loss = -1.0);
  /// Final line (always printed).
  void finish();

  /// The line that would be shown for `step` done after `elapsed_s` seconds.
  std::string render(std::int64_t step, double elapsed_s, double loss) const;

  static bool stderr_is_tty();

 private:
  std::string label_;
  std::int64_t total_;
  std::ostream& out_;
  bool tty_;
  double period_s_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
  std::int64_t step_ = 0;
  double loss_ = -1.0;
  bool finished_ = false;
};

/// "1h02m", "3m05s", "42s".
std::string format_duration(double seconds);

}  // namespace pft
