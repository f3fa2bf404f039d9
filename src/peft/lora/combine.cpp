#include "pft/peft/lora/combine.h"

#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "pft/io/safetensors.h"
#include "pft/peft/lora/lora.h"
#include "pft/peft/lora/method.h"
#include "pft/peft/method.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/strings.h"

namespace fs = std::filesystem;

namespace pft::peft {

namespace {

constexpr const char* kPrefix = "base_model.model.";

struct Module {
  torch::Tensor a, b;  // [r, in], [out, r], float32
  double scaling = 1;
};

struct Adapter {
  std::string dir;
  nlohmann::json config;
  std::int64_t rank = 0;  // PEFT's: r, or the largest of r and rank_pattern's values
  std::map<std::string, Module> modules;
};

Adapter read_adapter(const std::string& dir) {
  Adapter a;
  a.dir = dir;
  a.config = read_adapter_config(dir);
  const std::string source = (fs::path(dir) / "adapter_config.json").string();
  if (a.config["peft_type"] != "LORA") {
    throw Error(ErrorKind::Input, source + ": peft_type " + a.config["peft_type"].dump() +
                                      ": only LoRA adapters can be combined");
  }
  const auto options = lora_options_from_adapter_config(a.config, source);
  if (options.use_dora)
    throw Error(ErrorKind::Input, source + ": use_dora: DoRA adapters cannot be combined");
  if (options.init == "pissa" || options.init == "olora") {
    throw Error(ErrorKind::Input, source + ": init_lora_weights: " + options.init +
                                      " adapters change the base weights and cannot be combined");
  }
  a.rank = options.r;
  for (const auto& [key, r] : options.rank_pattern) a.rank = std::max(a.rank, r);
  const std::string file = (fs::path(dir) / "adapter_model.safetensors").string();
  for (const auto& [name, t] : io::read_safetensors(file).tensors) {
    const auto ends = [&](const std::string& suffix) {
      return name.size() > suffix.size() &&
             name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (name.rfind(kPrefix, 0) != 0) {
      throw Error(ErrorKind::Input, file + ": tensor '" + name + "' lacks PEFT's '" + kPrefix +
                                        "' prefix");
    }
    const bool is_a = ends(".lora_A.weight"), is_b = ends(".lora_B.weight");
    if (!is_a && !is_b) {
      throw Error(ErrorKind::Input,
                  file + ": tensor '" + name +
                      "' is not a LoRA matrix: adapters that save whole modules (a task head, "
                      "modules_to_save) or biases cannot be combined");
    }
    const std::string path = name.substr(std::strlen(kPrefix),
                                         name.size() - std::strlen(kPrefix) -
                                             std::string(".lora_A.weight").size());
    auto& m = a.modules[path];
    (is_a ? m.a : m.b) = t.to(torch::kFloat32);
    const double alpha = lora_rank_and_alpha(options, path).second;
    const double rank = static_cast<double>(t.size(is_a ? 0 : 1));
    m.scaling = options.use_rslora ? alpha / std::sqrt(rank) : alpha / rank;
  }
  for (const auto& [path, m] : a.modules) {
    if (!m.a.defined() || !m.b.defined()) {
      throw Error(ErrorKind::Input, file + ": module '" + path + "' has only one of lora_A, lora_B");
    }
  }
  if (a.modules.empty()) throw Error(ErrorKind::Input, file + ": no LoRA tensors");
  return a;
}

// PEFT's merge_utils, on the stacked tensors of the adapters [n, ...].
torch::Tensor weighted(const torch::Tensor& stacked, const torch::Tensor& weights) {
  std::vector<std::int64_t> shape(static_cast<std::size_t>(stacked.dim()), 1);
  shape[0] = weights.size(0);
  return stacked * weights.view(shape);
}

torch::Tensor magnitude_pruned(const torch::Tensor& t, double density) {
  if (density >= 1) return t;
  const auto k = static_cast<std::int64_t>(density * static_cast<double>(t.numel()));
  auto mask = torch::zeros({t.numel()}, t.options());
  const auto top = std::get<1>(torch::topk(t.abs().reshape(-1), k, -1, /*largest=*/true));
  mask.index_put_({top}, 1);
  return t * mask.reshape(t.sizes());
}

torch::Tensor randomly_pruned(const torch::Tensor& t, double density, torch::Generator& gen) {
  if (density >= 1) return t;
  const auto mask = torch::bernoulli(torch::full_like(t, density), gen);
  return t * mask / density;
}

torch::Tensor disjoint_merge(const torch::Tensor& tensors, const torch::Tensor& stacked_signs,
                             const std::string& method) {
  // calculate_majority_sign_mask on the (unweighted) stack, then the weighted mean of the
  // entries that agree with the majority.
  const auto sign = stacked_signs.sign();
  const auto magnitude = method == "total" ? stacked_signs.sum(0) : sign.sum(0);
  const auto majority = torch::where(magnitude >= 0, torch::ones_like(magnitude),
                                     -torch::ones_like(magnitude));
  const auto mask = (sign == majority).to(tensors.scalar_type());
  return (tensors * mask).sum(0) / torch::clamp(mask.sum(0), 1.0);
}

torch::Tensor mix(const std::vector<torch::Tensor>& parts, const torch::Tensor& weights,
                  const std::string& type, const CombineOptions& o, torch::Generator& gen) {
  std::vector<torch::Tensor> pruned;
  for (const auto& t : parts) {
    if (type == "ties" || type == "magnitude_prune") {
      pruned.push_back(magnitude_pruned(t, o.density));
    } else if (type == "dare_linear" || type == "dare_ties") {
      pruned.push_back(randomly_pruned(t, o.density, gen));
    } else {
      pruned.push_back(t);
    }
  }
  const auto stacked = torch::stack(pruned, 0);
  if (type == "ties" || type == "dare_ties") {
    return disjoint_merge(weighted(stacked, weights), stacked, o.majority_sign_method);
  }
  return weighted(stacked, weights).sum(0);
}

}  // namespace

const std::vector<std::string>& combination_types() {
  static const std::vector<std::string> types{
      "svd",         "linear",          "cat",           "ties",
      "ties_svd",    "dare_ties",       "dare_linear",   "dare_ties_svd",
      "dare_linear_svd", "magnitude_prune", "magnitude_prune_svd"};
  return types;
}

void combine_lora_adapters(const std::vector<std::string>& dirs, const std::vector<double>& w,
                           const CombineOptions& o, const std::string& output_dir) {
  const auto& types = combination_types();
  if (std::find(types.begin(), types.end(), o.type) == types.end()) {
    throw Error(ErrorKind::Config, "--combination: '" + o.type + "' is not a combination type (" +
                                       join_alternatives(types) + ")");
  }
  if (dirs.empty()) throw Error(ErrorKind::Config, "--adapter: no adapter to combine");
  if (w.size() != dirs.size()) {
    throw Error(ErrorKind::Config, "--weights: " + std::to_string(w.size()) + " weights for " +
                                       std::to_string(dirs.size()) + " adapters");
  }
  if (!(o.density >= 0 && o.density <= 1)) {
    throw Error(ErrorKind::Config, "--density: must be in [0, 1], got " + std::to_string(o.density));
  }
  if (o.majority_sign_method != "total" && o.majority_sign_method != "frequency") {
    throw Error(ErrorKind::Config, "--majority-sign: must be total or frequency, got '" +
                                       o.majority_sign_method + "'");
  }
  std::vector<Adapter> adapters;
  for (const auto& d : dirs) adapters.push_back(read_adapter(d));
  for (const auto& a : adapters) {
    if (a.config.value("task_type", nlohmann::json()) !=
        adapters[0].config.value("task_type", nlohmann::json())) {
      throw Error(ErrorKind::Input, a.dir + ": task_type " + a.config["task_type"].dump() +
                                        " differs from " + adapters[0].dir + "'s " +
                                        adapters[0].config["task_type"].dump());
    }
  }
  // One adapter is always combined linearly (PEFT's rule).
  const std::string type = adapters.size() == 1 ? "linear" : o.type;
  const bool svd = type.size() >= 3 && type.compare(type.size() - 3, 3, "svd") == 0;
  std::int64_t rank = 0;
  std::int64_t largest = 0;
  for (const auto& a : adapters) largest = std::max(largest, a.rank);
  if (type == "cat") {
    for (const auto& a : adapters) rank += a.rank;
  } else if (svd) {
    rank = o.svd_rank > 0 ? o.svd_rank : largest;
  } else {
    for (const auto& a : adapters) {
      if (a.rank != adapters[0].rank) {
        throw Error(ErrorKind::Input,
                    "--combination " + type + ": every adapter must have the same r (" +
                        adapters[0].dir + ": " + std::to_string(adapters[0].rank) + ", " + a.dir +
                        ": " + std::to_string(a.rank) + "); use cat or svd");
      }
    }
    rank = adapters[0].rank;
  }
  // The new adapter: adapters[0]'s settings with r = lora_alpha = the new rank, no patterns
  // (PEFT's `replace`), targeting exactly the modules the adapters have.
  auto config = adapters[0].config;
  config["r"] = rank;
  config["lora_alpha"] = rank;
  config["rank_pattern"] = nlohmann::json::object();
  config["alpha_pattern"] = nlohmann::json::object();
  config["layers_to_transform"] = nullptr;
  config["layers_pattern"] = nullptr;
  config.erase("exclude_modules");
  // use_rslora carries over from adapters[0] with its other settings, as in PEFT.
  std::set<std::string> paths;
  for (const auto& a : adapters) {
    for (const auto& [path, m] : a.modules) paths.insert(path);
  }
  config["target_modules"] = std::vector<std::string>(paths.begin(), paths.end());
  torch::Generator gen = at::detail::createCPUGenerator(o.seed);
  std::map<std::string, torch::Tensor> tensors;
  torch::NoGradGuard no_grad;
  for (const auto& path : paths) {
    std::vector<const Module*> present;
    std::vector<double> present_weights;
    for (std::size_t i = 0; i < adapters.size(); ++i) {
      const auto it = adapters[i].modules.find(path);
      if (it == adapters[i].modules.end()) continue;
      present.push_back(&it->second);
      present_weights.push_back(w[i]);
    }
    const auto in = present[0]->a.size(1), out = present[0]->b.size(0);
    torch::Tensor a, b;
    if (type == "cat") {
      a = torch::zeros({rank, in});
      b = torch::zeros({out, rank});
      std::int64_t at = 0;
      for (std::size_t i = 0; i < present.size(); ++i) {
        const auto r = present[i]->a.size(0);
        a.slice(0, at, at + r).copy_(present[i]->a * present_weights[i] * present[i]->scaling);
        b.slice(1, at, at + r).copy_(present[i]->b);
        at += r;
      }
    } else if (svd) {
      std::vector<torch::Tensor> deltas;
      for (const auto* m : present) deltas.push_back(torch::matmul(m->b, m->a) * m->scaling);
      const auto base_type = type == "svd" ? std::string("linear") : type.substr(0, type.size() - 4);
      const auto delta = mix(deltas, torch::tensor(present_weights, torch::kFloat32), base_type,
                             o, gen);
      const auto [u, s, vh] = at::linalg_svd(delta, /*full_matrices=*/true);
      const auto r = std::min<std::int64_t>(rank, s.size(0));
      b = torch::zeros({out, rank});
      a = torch::zeros({rank, in});
      b.slice(1, 0, r).copy_(u.slice(1, 0, r).matmul(torch::diag(s.slice(0, 0, r))));
      a.slice(0, 0, r).copy_(vh.slice(0, 0, r));
    } else {
      std::vector<double> wa, wb;
      std::vector<torch::Tensor> as, bs;
      for (std::size_t i = 0; i < present.size(); ++i) {
        const double ws = present_weights[i] * present[i]->scaling;
        wa.push_back(std::sqrt(std::abs(ws)) * (ws >= 0 ? 1 : -1));
        wb.push_back(std::sqrt(std::abs(ws)));
        as.push_back(present[i]->a);
        bs.push_back(present[i]->b);
      }
      a = mix(as, torch::tensor(wa, torch::kFloat32), type, o, gen);
      b = mix(bs, torch::tensor(wb, torch::kFloat32), type, o, gen);
    }
    tensors[kPrefix + path + ".lora_A.weight"] = a.contiguous();
    tensors[kPrefix + path + ".lora_B.weight"] = b.contiguous();
  }
  const auto tmp = fs::path(output_dir).string() + ".tmp-combine";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  io::save_safetensors((fs::path(tmp) / "adapter_model.safetensors").string(), tensors,
                       {{"format", "pt"}});
  write_file_atomic((fs::path(tmp) / "adapter_config.json").string(), config.dump(2) + "\n");
  fs::remove_all(output_dir, ec);
  fs::rename(tmp, output_dir);
}

}  // namespace pft::peft
