#pragma once
// A run's training chart: loss and the evaluation metric against step, as SVG.

#include <string>

namespace pft::train {

/// A small SVG chart of loss (and the evaluation metric: accuracy, else the first) against
/// step, from metrics.jsonl. An unfinished last line (a run killed while writing it) is skipped
/// with a warning; any other malformed line is a pft::Error (Input) naming file and line.
std::string plot_svg(const std::string& metrics_jsonl_path);

/// Writes the chart of the run in `run_dir` (its metrics.jsonl) to `output` (default:
/// RUN_DIR/training.svg) atomically and returns the path written.
std::string plot_run(const std::string& run_dir, const std::string& output = {});

}  // namespace pft::train
