#include "pft/model/hf_loader.h"

#include "pft/util/error.h"
#include "pft/util/log.h"

#include <fmt/ranges.h>

namespace pft::model {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// TF-era checkpoints name LayerNorm parameters gamma/beta; transformers renames them on load.
std::string legacy_renamed(const std::string& name) {
  if (ends_with(name, ".gamma")) return name.substr(0, name.size() - 6) + ".weight";
  if (ends_with(name, ".beta")) return name.substr(0, name.size() - 5) + ".bias";
  return name;
}

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void log_class_loaded(const std::string& class_name, const std::string& dir,
                      std::int64_t layers, std::int64_t hidden, std::int64_t heads,
                      std::optional<std::int64_t> labels, double seconds) {
  log::info("loaded {} from {} ({} layers, hidden {}, {} heads{}) in {:.2f} s", class_name, dir,
            layers, hidden, heads, labels ? fmt::format(", {} labels", *labels) : std::string(),
            seconds);
}

std::string list_tensor_names(const std::vector<std::string>& names, std::size_t at_most) {
  if (names.size() <= at_most) return fmt::format("{}", fmt::join(names, ", "));
  const std::vector<std::string> head(names.begin(), names.begin() + static_cast<long>(at_most));
  return fmt::format("{}, ... ({} more)", fmt::join(head, ", "), names.size() - at_most);
}

ClassState read_class_state(const std::string& dir, const HfClassSpec& spec) {
  ClassState out;
  out.started = std::chrono::steady_clock::now();
  const io::StateDict in = io::read_state_dict(dir);
  const std::string base = spec.base_prefix + ".";
  for (const auto& [original, tensor] : in.tensors) {
    std::string name = legacy_renamed(original);
    if (spec.never_loaded && spec.never_loaded(name)) {
      out.ignored.push_back(original);
      continue;
    }
    bool base_part = false;
    for (const auto& part : spec.base_parts) base_part = base_part || starts_with(name, part + ".");
    if (spec.prefixed && base_part) name = base + name;
    if (!spec.prefixed && starts_with(name, base)) name = name.substr(base.size());
    if (out.tensors.tensors.count(name) != 0) {
      throw Error(ErrorKind::Input,
                  fmt::format("{}: the checkpoint holds '{}' twice (with and without the "
                              "'{}' prefix, or as gamma/beta and weight/bias)",
                              dir, name, base));
    }
    out.tensors.tensors.emplace(name, tensor);
    const auto file = in.source_file.find(original);
    if (file != in.source_file.end()) out.tensors.source_file.emplace(name, file->second);
  }
  return out;
}

void check_class_count(const ClassState& state, const HfClassSpec& spec, const std::string& dir,
                       const std::vector<std::string>& checkpoint_labels,
                       const std::vector<std::string>& labels) {
  if (spec.label_tensor.empty() || labels.empty()) return;
  const auto it = state.tensors.tensors.find(spec.label_tensor);
  if (it == state.tensors.tensors.end() ||
      it->second.size(0) == static_cast<std::int64_t>(labels.size())) {
    return;
  }
  throw Error(ErrorKind::Config,
              fmt::format("{}: {} has {} classes (id2label: {}), but {} labels were given: {}", dir,
                          spec.label_tensor, it->second.size(0),
                          fmt::join(checkpoint_labels, ", "), labels.size(),
                          fmt::join(labels, ", ")),
              "list the checkpoint's labels in task.labels, or leave task.labels empty to use "
              "them");
}

ClassLoadReport finish_class_load(torch::nn::Module& model, const ClassState& state,
                                  const HfClassSpec& spec, const std::string& dir,
                                  double initializer_range, const torch::Device& device) {
  const auto build_done = std::chrono::steady_clock::now();
  ClassLoadReport out;
  out.report = io::load_into(model, state.tensors, {""});
  log::debug("{}: {} read and built in {:.3f} s, weights copied in {:.3f} s", dir,
             spec.class_name,
             std::chrono::duration<double>(build_done - state.started).count(), since(build_done));

  std::vector<std::string> lacking;
  for (const auto& name : out.report.missing) {
    bool allowed = false;
    for (const auto& prefix : spec.fresh_prefixes) allowed = allowed || starts_with(name, prefix);
    (allowed ? out.initialized : lacking).push_back(name);
  }
  if (!lacking.empty()) {
    bool head_only = !spec.head_prefix.empty();
    for (const auto& name : lacking) head_only = head_only && starts_with(name, spec.head_prefix);
    throw Error(ErrorKind::Input,
                fmt::format("{}: the checkpoint lacks {} tensor(s) that {} needs: {}", dir,
                            lacking.size(), spec.class_name, list_tensor_names(lacking)),
                head_only ? spec.head_hint : spec.hint);
  }
  if (!out.initialized.empty()) {
    // Transformers' initialisation of a fresh Linear (the only kind of module a fresh head
    // holds): weight ~ N(0, initializer_range), bias zero.
    torch::NoGradGuard no_grad;
    const auto params = model.named_parameters(/*recurse=*/true);
    for (const auto& name : out.initialized) {
      auto* p = params.find(name);
      if (p == nullptr) continue;
      if (ends_with(name, ".bias")) {
        p->zero_();
      } else {
        p->normal_(0.0, initializer_range);
      }
    }
    log::warn(
        "{}: {} not in the checkpoint: initialised fresh as transformers does (weights ~ "
        "N(0, {}), biases 0); train them before trusting the outputs",
        dir, list_tensor_names(out.initialized), initializer_range);
  }
  if (!out.report.unexpected.empty()) {
    log::info("{}: {} tensor(s) of the checkpoint not used by {}: {}", dir,
              out.report.unexpected.size(), spec.class_name,
              list_tensor_names(out.report.unexpected));
  }
  if (!state.ignored.empty()) {
    log::debug("{}: ignored as transformers does: {}", dir, list_tensor_names(state.ignored));
  }
  model.to(device);
  model.eval();
  out.seconds = since(state.started);
  return out;
}

}  // namespace pft::model
