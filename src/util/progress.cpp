#include "pft/util/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pft {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", s);
  }
  return buf;
}

ProgressBar::ProgressBar(std::string label, std::int64_t total, std::ostream& out, bool tty,
                         double period_s)
    : label_(std::move(label)),
      total_(total),
      out_(out),
      tty_(tty),
      period_s_(period_s),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

bool ProgressBar::stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

std::string ProgressBar::render(std::int64_t step, double elapsed_s, double loss) const {
  const double rate = elapsed_s > 0 ? static_cast<double>(step) / elapsed_s : 0.0;
  std::string line = label_ + " ";
  char buf[160];
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(step) / static_cast<double>(total_));
    constexpr std::size_t kWidth = 24;
    const auto filled = static_cast<std::size_t>(std::clamp(frac, 0.0, 1.0) * kWidth);
    line += '[';
    line.append(filled, '#');
    line.append(kWidth - filled, '.');
    line += "] ";
    const double eta = rate > 0 ? static_cast<double>(total_ - step) / rate : -1;
    std::snprintf(buf, sizeof buf, "%lld/%lld %3.0f%% %.2f it/s ETA %s",
                  static_cast<long long>(step), static_cast<long long>(total_), frac * 100.0,
                  rate, format_duration(eta).c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%lld %.2f it/s", static_cast<long long>(step), rate);
  }
  line += buf;
  if (loss >= 0) {
    std::snprintf(buf, sizeof buf, " loss %.4f", loss);
    line += buf;
  }
  return line;
}

void ProgressBar::update(std::int64_t step, double loss) {
  step_ = step;
  if (loss >= 0) loss_ = loss;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (tty_) {
    if (since < 0.1) return;  // at most 10 redraws a second
    out_ << "\r" << render(step_, elapsed, loss_) << "\x1b[K" << std::flush;
  } else {
    if (since < period_s_) return;
    out_ << render(step_, elapsed, loss_) << "\n" << std::flush;
  }
  last_print_ = now;
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  out_ << (tty_ ? "\r" : "") << render(step_, elapsed, loss_) << (tty_ ? "\x1b[K\n" : "\n")
       << std::flush;
}

}  // namespace pft
