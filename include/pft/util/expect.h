#pragma once
// `--expect "metric>=value"`: conditions on a run's metrics that scripts and CI check. A
// condition that does not hold ends pft with exit code 3 and prints the measured value.

#include <map>
#include <string>
#include <vector>

namespace pft {

struct Expectation {
  std::string metric;  // e.g. "accuracy"
  std::string op;      // >=, >, <=, <, ==
  double value = 0.0;
  std::string text;    // as written, for messages
};

/// Parses "metric OP value" (spaces allowed around OP). Anything else is a pft::Error
/// (Usage) that shows the expected form.
Expectation parse_expectation(const std::string& text);

bool holds(const Expectation& expectation, double measured);

/// Checks every expectation against `metrics`. A metric the run does not measure is a
/// pft::Error (Usage) listing those it does; failed conditions are one pft::Error
/// (Expectation, exit 3) listing each with its measured value.
void check_expectations(const std::vector<Expectation>& expectations,
                        const std::map<std::string, double>& metrics);

}  // namespace pft
