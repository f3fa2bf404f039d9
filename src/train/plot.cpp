#include "pft/train/plot.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>
#include <utility>
#include <vector>

#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"

using nlohmann::json;

namespace pft::train {

std::string plot_svg(const std::string& metrics_path) {
  std::vector<std::pair<double, double>> loss, metric;
  std::string metric_name;
  {
    const std::string text = read_file(metrics_path);
    std::istringstream in(text);
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (line.empty()) continue;
      json e;
      try {
        e = json::parse(line);
      } catch (const json::exception& ex) {
        // A process killed mid-write leaves a last line without its newline: not part of the run.
        const bool unfinished_last = in.eof() && !text.empty() && text.back() != '\n';
        if (unfinished_last) {
          log::warn(
              "{}:{}: an unfinished last line (the run was killed while writing it); not plotted",
              metrics_path, number);
          continue;
        }
        throw Error(ErrorKind::Input,
                    metrics_path + ":" + std::to_string(number) + ": malformed JSON: " + ex.what());
      }
      if (!e.is_object()) {
        throw Error(ErrorKind::Input,
                    metrics_path + ":" + std::to_string(number) + ": expected a JSON object");
      }
      const double step = e.value("step", 0.0);
      if (e.contains("loss")) loss.emplace_back(step, e["loss"].get<double>());
      if (e.contains("eval") && e["eval"].is_object() && !e["eval"].empty()) {
        const auto it =
            e["eval"].contains("accuracy") ? e["eval"].find("accuracy") : e["eval"].begin();
        metric_name = it.key();
        metric.emplace_back(step, it.value().get<double>());
      }
    }
  }
  constexpr double W = 640, H = 360, L = 60, R = 60, T = 30, B = 40;
  double max_step = 1, max_loss = 1e-9;
  for (const auto& [x, y] : loss)
    max_step = std::max(max_step, x), max_loss = std::max(max_loss, y);
  for (const auto& [x, y] : metric) max_step = std::max(max_step, x);
  const auto px = [&](double x) { return L + (W - L - R) * x / max_step; };
  const auto py = [&](double y, double top) { return H - B - (H - T - B) * y / top; };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<line x1=\"" << L << "\" y1=\"" << H - B << "\" x2=\"" << W - R << "\" y2=\"" << H - B
      << "\" stroke=\"black\"/>\n"
      << "<line x1=\"" << L << "\" y1=\"" << T << "\" x2=\"" << L << "\" y2=\"" << H - B
      << "\" stroke=\"black\"/>\n"
      << "<text x=\"" << (W / 2) << "\" y=\"" << H - 8 << "\" text-anchor=\"middle\">step (0 to "
      << max_step << ")</text>\n"
      << "<text x=\"10\" y=\"20\" fill=\"#1f77b4\">loss (0 to " << fmt::format("{:.3g}", max_loss)
      << ")</text>\n";
  const auto polyline = [&](const std::vector<std::pair<double, double>>& pts, double top,
                            const char* color) {
    svg << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.5\" points=\"";
    for (const auto& [x, y] : pts) svg << fmt::format("{:.1f},{:.1f} ", px(x), py(y, top));
    svg << "\"/>\n";
  };
  if (!loss.empty()) polyline(loss, max_loss, "#1f77b4");
  if (!metric.empty()) {
    polyline(metric, 1.0, "#d62728");
    for (const auto& [x, y] : metric) {
      svg << fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"#d62728\"/>\n", px(x),
                         py(y, 1.0));
    }
    svg << "<text x=\"" << W - R - 150 << "\" y=\"20\" fill=\"#d62728\">eval " << metric_name
        << " (0 to 1)</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

std::string plot_run(const std::string& run_dir, const std::string& output) {
  namespace fs = std::filesystem;
  const std::string metrics = (fs::path(run_dir) / "metrics.jsonl").string();
  if (!fs::exists(metrics)) {
    throw Error(ErrorKind::Input, run_dir + ": not a run directory (no metrics.jsonl)");
  }
  const std::string out = output.empty() ? (fs::path(run_dir) / "training.svg").string() : output;
  write_file_atomic(out, plot_svg(metrics));
  return out;
}

}  // namespace pft::train
