#pragma once
// A run's training chart: loss and the evaluation metric against step, as SVG.

#include <string>

namespace pft::train {

/// A small SVG chart of loss (and the evaluation metric: accuracy, else the first) against
/// step, from metrics.jsonl. An unfinished last line (a run killed while writing it) is skipped
/// with a warning; any other malformed line is a pft::Error (Input) naming file and line.
std::string plot_svg(const std::string& metrics_jsonl_path);

}  // namespace pft::train
