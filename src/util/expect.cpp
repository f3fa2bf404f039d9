#include "pft/util/expect.h"

#include <cctype>
#include <cmath>
#include <sstream>

#include "pft/util/error.h"
#include "pft/util/strings.h"

namespace pft {

namespace {

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  const auto end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

std::string format_value(double x) {
  std::ostringstream s;
  s.precision(6);
  s << x;
  return s.str();
}

}  // namespace

Expectation parse_expectation(const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return Error(ErrorKind::Usage, "--expect \"" + text + "\": " + why,
                 "write it as METRIC OP VALUE with OP one of >=, >, <=, <, ==, e.g. "
                 "--expect \"accuracy>=0.85\"");
  };
  // Two-character operators first, so that ">=" is not read as ">" followed by "=0.8".
  for (const char* op : {">=", "<=", "==", ">", "<"}) {
    const auto at = text.find(op);
    if (at == std::string::npos) continue;
    Expectation e;
    e.metric = trim(text.substr(0, at));
    e.op = op;
    e.text = text;
    const std::string number = trim(text.substr(at + std::string(op).size()));
    if (e.metric.empty()) throw bad("no metric name before " + e.op);
    for (const char c : e.metric) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) {
        throw bad("'" + e.metric + "' is not a metric name");
      }
    }
    std::size_t used = 0;
    try {
      e.value = std::stod(number, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (number.empty() || used != number.size() || !std::isfinite(e.value)) {
      throw bad("'" + number + "' is not a number");
    }
    return e;
  }
  throw bad("no comparison operator");
}

bool holds(const Expectation& e, double measured) {
  if (e.op == ">=") return measured >= e.value;
  if (e.op == ">") return measured > e.value;
  if (e.op == "<=") return measured <= e.value;
  if (e.op == "<") return measured < e.value;
  return measured == e.value;
}

void check_expectations(const std::vector<Expectation>& expectations,
                        const std::map<std::string, double>& metrics) {
  std::vector<std::string> measured_names;
  for (const auto& [name, _] : metrics) measured_names.push_back(name);
  std::string failed;
  for (const auto& e : expectations) {
    const auto it = metrics.find(e.metric);
    if (it == metrics.end()) {
      throw Error(ErrorKind::Usage,
                  "--expect \"" + e.text + "\": this run does not measure '" + e.metric + "'" +
                      (measured_names.empty() ? std::string(" (it measures nothing)")
                                              : "; it measures " + join_alternatives(measured_names)));
    }
    if (!holds(e, it->second)) {
      failed += (failed.empty() ? "" : "; ") + e.metric + " = " + format_value(it->second) +
                ", expected " + e.op + " " + format_value(e.value);
    }
  }
  if (!failed.empty()) throw Error(ErrorKind::Expectation, failed);
}

}  // namespace pft
