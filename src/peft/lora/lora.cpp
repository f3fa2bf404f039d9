#include "pft/peft/lora/lora.h"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <cmath>
#include <regex>

#include "pft/model/dropout.h"
#include "pft/peft/lora/pattern.h"
#include "pft/util/error.h"

namespace pft::peft {

std::pair<std::int64_t, double> lora_rank_and_alpha(const LoraOptions& o, const std::string& path) {
  // PEFT's get_pattern_key: the first key K (in the config's order) for which the path
  // matches "(.*\.)?(K)$".
  const auto first_match = [&](const auto& pattern, auto fallback) {
    for (const auto& [key, value] : pattern) {
      if (std::regex_match(path, std::regex("(.*\\.)?(" + key + ")"))) return value;
    }
    return fallback;
  };
  return {first_match(o.rank_pattern, o.r), first_match(o.alpha_pattern, o.alpha)};
}

LoraExtension::LoraExtension(model::LinearImpl& layer, const LoraOptions& o, std::int64_t r,
                             double alpha)
    : layer_(layer) {
  const auto in = layer.options.in_features(), out = layer.options.out_features();
  lora_A = layer.register_module("lora_A",
                                 torch::nn::Linear(torch::nn::LinearOptions(in, r).bias(false)));
  lora_B = layer.register_module("lora_B",
                                 torch::nn::Linear(torch::nn::LinearOptions(r, out).bias(false)));
  dropout = torch::nn::Dropout(o.dropout);
  scaling = o.use_rslora ? alpha / std::sqrt(static_cast<double>(r)) : alpha / static_cast<double>(r);
  torch::NoGradGuard no_grad;
  if (o.init == "pissa") {
    init_pissa(r, -1);
  } else if (const int niter = lora_pissa_niter(o.init); niter >= 0) {
    init_pissa(r, niter);
    init_A = lora_A->weight.detach().clone();
    init_B = lora_B->weight.detach().clone();
  } else if (o.init == "olora") {
    init_olora(r);
  } else if (o.init == "gaussian") {
    torch::nn::init::normal_(lora_A->weight, 0.0, 1.0 / static_cast<double>(r));
    torch::nn::init::zeros_(lora_B->weight);
  } else {
    // PEFT's default: A Kaiming-uniform (a = sqrt(5)), B zero.
    torch::nn::init::kaiming_uniform_(lora_A->weight, std::sqrt(5));
    torch::nn::init::zeros_(lora_B->weight);
  }
  const auto opts = layer.weight.options();
  lora_A->to(opts.device(), opts.dtype().toScalarType());
  lora_B->to(opts.device(), opts.dtype().toScalarType());
  if (o.use_dora) {
    // PEFT's DoraLinearLayer.update_layer: the row norms of W + scaling * B A.
    const auto w = layer.weight.to(torch::kFloat32) + delta_weight().to(layer.weight.device());
    magnitude = layer.register_parameter(
        "lora_magnitude_vector", at::linalg_vector_norm(w, 2, {1}).to(layer.weight.scalar_type()));
  }
}

namespace {

// torch.svd_lowrank(A, q, niter) (Halko et al. 2009, algorithm 5.1, as torch/_lowrank.py
// computes it): U [m, q], S [q], V [n, q] with A ~ U diag(S) V^T; the random projection is drawn
// from LibTorch's default generator, which pft seeds with train.seed before the model is built.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> svd_lowrank(torch::Tensor a,
                                                                    std::int64_t q, int niter) {
  const bool wide = a.size(0) < a.size(1);
  if (wide) a = a.t();
  auto x = a.matmul(torch::randn({a.size(1), q}, a.options()));
  auto basis = std::get<0>(at::linalg_qr(x));
  for (int i = 0; i < niter; ++i) {
    basis = std::get<0>(at::linalg_qr(a.t().matmul(basis)));
    basis = std::get<0>(at::linalg_qr(a.matmul(basis)));
  }
  const auto [u, s, vh] = at::linalg_svd(basis.t().matmul(a), /*full_matrices=*/false);
  auto left = basis.matmul(u);
  auto right = vh.t();
  if (wide) std::swap(left, right);
  return {left, s, right};
}

}  // namespace

void LoraExtension::init_pissa(std::int64_t r, int niter) {
  // PEFT's pissa_init: W = V S U^T; A = sqrt(S_r / scaling) U_r^T, B = V_r sqrt(S_r / scaling);
  // the layer keeps the residual W - scaling B A. pissa_niter_N: V_r, S_r, U_r from
  // svd_lowrank(W, r, N).
  auto& weight = layer_.weight;
  const auto w = weight.to(torch::kFloat32);
  torch::Tensor v, s, uh;
  if (niter < 0) {
    std::tie(v, s, uh) = at::linalg_svd(w, /*full_matrices=*/false);
  } else {
    torch::Tensor u;
    std::tie(v, s, u) = svd_lowrank(w, r, niter);
    uh = u.t();
  }
  const auto root = (s.slice(0, 0, r) / scaling).sqrt();
  const auto a = torch::diag(root).matmul(uh.slice(0, 0, r));
  const auto b = v.slice(1, 0, r).matmul(torch::diag(root));
  lora_A->weight.copy_(a);
  lora_B->weight.copy_(b);
  weight.copy_((w - scaling * b.matmul(a)).to(weight.scalar_type()));
}

void LoraExtension::init_olora(std::int64_t r) {
  // PEFT's olora_init: W = Q R; A = R_r (first r rows), B = Q_r (first r columns); the layer
  // keeps W - scaling B A.
  auto& weight = layer_.weight;
  const auto w = weight.to(torch::kFloat32);
  const auto [q, rr] = at::linalg_qr(w);
  const auto a = rr.slice(0, 0, r).contiguous();
  const auto b = q.slice(1, 0, r).contiguous();
  lora_A->weight.copy_(a);
  lora_B->weight.copy_(b);
  weight.copy_((w - scaling * b.matmul(a)).to(weight.scalar_type()));
}

torch::Tensor LoraExtension::post(const torch::Tensor& input, const torch::Tensor& output) {
  if (merged) return output;
  const bool train = lora_A->is_training();
  // Under autocast the input comes cast already (Linear casts it once for its product and
  // its extensions); a cast to lora_A's float32 weight would only add copies.
  const bool autocast = at::autocast::is_autocast_enabled(input.device().type());
  auto x = autocast ? input : input.to(lora_A->weight.scalar_type());
  const bool drop = train && dropout->options.p() > 0;
  x = model::dropout(x, dropout->options.p(), train);
  if (magnitude.defined()) {
    // PEFT's DoraLinearLayer.forward: with W' = W + scaling B A (B A detached in the norm),
    // y + (m / ||W'|| - 1) * (W x) + (m / ||W'||) * scaling * B A x, where W x is the
    // output without its bias, or with dropout on x recomputed from the dropped input.
    const auto& w = layer_.weight;
    const auto lora_weight = torch::matmul(lora_B->weight, lora_A->weight).detach();
    const auto norm =
        at::linalg_vector_norm(w + scaling * lora_weight.to(w.scalar_type()), 2, {1}).detach();
    const auto scale = (magnitude / norm).to(output.scalar_type());
    torch::Tensor base;
    if (drop) {
      base = torch::nn::functional::linear(x.to(w.scalar_type()), w).to(output.scalar_type());
    } else {
      base = layer_.bias.defined() ? output - layer_.bias.to(output.scalar_type()) : output;
    }
    const auto lora = lora_B(lora_A(x)).to(output.scalar_type());
    return output + (scale - 1) * base + scale * lora * scaling;
  }
  const auto h = lora_A(x);
  if (!autocast && output.scalar_type() != h.scalar_type()) {
    return output + lora_B(h).to(output.scalar_type()) * scaling;
  }
  // output + scaling * h B^T as one product that accumulates into a copy of the output:
  // no separate passes to scale and to add.
  const auto rows = output.reshape({-1, output.size(-1)});
  return torch::addmm(rows, h.reshape({-1, h.size(-1)}), lora_B->weight.t(), /*beta=*/1,
                      /*alpha=*/scaling)
      .view(output.sizes());
}

torch::Tensor LoraExtension::delta_weight() const {
  return torch::matmul(lora_B->weight.to(torch::kFloat32), lora_A->weight.to(torch::kFloat32)) *
         scaling;
}

double LoraExtension::merge() {
  if (merged) return 0.0;
  torch::NoGradGuard no_grad;
  auto& w = layer_.weight;
  const auto w32 = w.to(torch::kFloat32);
  auto merged_weight = w32 + delta_weight().to(w.device());
  if (magnitude.defined()) {
    // PEFT's DoraLinearVariant.merge: m / ||W + dW|| (rows) times W + dW; the norm is kept
    // for unmerge().
    merged_norm_ = at::linalg_vector_norm(merged_weight, 2, {1});
    merged_weight = (magnitude.to(torch::kFloat32) / merged_norm_).view({-1, 1}) * merged_weight;
  }
  const auto stored = merged_weight.to(w.scalar_type());
  const double change = (stored.to(torch::kFloat32) - w32).abs().max().item<double>();
  w.copy_(stored);
  merged = true;
  return change;
}

void LoraExtension::unmerge() {
  if (!merged) return;
  torch::NoGradGuard no_grad;
  auto& w = layer_.weight;
  auto w32 = w.to(torch::kFloat32);
  if (magnitude.defined()) {
    w32 = w32 / (magnitude.to(torch::kFloat32) / merged_norm_).view({-1, 1});
    merged_norm_ = torch::Tensor();
  }
  w.copy_((w32 - delta_weight().to(w.device())).to(w.scalar_type()));
  merged = false;
}

Lora::Lora(torch::nn::Module& model, LoraOptions options) : options_(std::move(options)) {
  if (options_.r < 1)
    throw Error(ErrorKind::Config, "peft.r: must be >= 1, got " + std::to_string(options_.r));
  if (!(options_.alpha > 0)) throw Error(ErrorKind::Config, "peft.lora_alpha: must be > 0");
  if (options_.bias != "none" && options_.bias != "all" && options_.bias != "lora_only") {
    throw Error(ErrorKind::Config,
                "peft.bias: must be none, all or lora_only, got \"" + options_.bias + "\"");
  }
  paths_ = find_linear_targets(model, options_.targets);
  const auto modules = model.named_modules("", false);
  for (const auto& path : paths_) {
    auto* layer = modules[path]->as<model::Linear>();
    if (layer->named_children().contains("lora_A")) {
      throw Error(ErrorKind::Config, "peft: " + path + " already has a LoRA update attached");
    }
    const auto [r, alpha] = lora_rank_and_alpha(options_, path);
    if (r < 1) {
      throw Error(ErrorKind::Config, "peft.rank_pattern: the rank of " + path +
                                         " must be >= 1, got " + std::to_string(r));
    }
    if (!(alpha > 0)) {
      throw Error(ErrorKind::Config, "peft.alpha_pattern: the lora_alpha of " + path +
                                         " must be > 0");
    }
    const auto smaller = std::min(layer->options.in_features(), layer->options.out_features());
    if ((options_.init == "pissa" || options_.init == "olora" ||
         lora_pissa_niter(options_.init) >= 0) &&
        r > smaller) {
      throw Error(ErrorKind::Config, "peft.init_lora_weights: " + options_.init + " needs r <= " +
                                         std::to_string(smaller) + " for " + path + ", got " +
                                         std::to_string(r));
    }
    auto ext = std::make_shared<LoraExtension>(*layer, options_, r, alpha);
    layer->add_extension(ext);
    layers_.push_back(layer);
    extensions_.push_back(std::move(ext));
  }
}

std::vector<std::pair<std::string, torch::Tensor>> Lora::parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    out.emplace_back(paths_[i] + ".lora_A.weight", extensions_[i]->lora_A->weight);
    out.emplace_back(paths_[i] + ".lora_B.weight", extensions_[i]->lora_B->weight);
    if (extensions_[i]->magnitude.defined())
      out.emplace_back(paths_[i] + ".lora_magnitude_vector", extensions_[i]->magnitude);
  }
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> Lora::saved_parameters() const {
  if (lora_pissa_niter(options_.init) < 0) return parameters();
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    const auto& e = *extensions_[i];
    const auto a = e.lora_A->weight.detach();
    const auto b = e.lora_B->weight.detach();
    out.emplace_back(paths_[i] + ".lora_A.weight",
                     torch::cat({a, e.init_A.to(a.device(), a.scalar_type())}, 0));
    out.emplace_back(paths_[i] + ".lora_B.weight",
                     torch::cat({b, -e.init_B.to(b.device(), b.scalar_type())}, 1));
  }
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> Lora::trainable_biases(
    torch::nn::Module& model) const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  if (options_.bias == "lora_only") {
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      if (layers_[i]->bias.defined()) out.emplace_back(paths_[i] + ".bias", layers_[i]->bias);
    }
  } else if (options_.bias == "all") {
    for (const auto& p : model.named_parameters()) {
      const auto& key = p.key();
      if (key.size() >= 5 && key.compare(key.size() - 5, 5, ".bias") == 0 &&
          key.find("lora_") == std::string::npos) {
        out.emplace_back(key, p.value());
      }
    }
  }
  return out;
}

double Lora::merge() {
  double largest = 0;
  for (auto& ext : extensions_) largest = std::max(largest, ext->merge());
  return largest;
}

void Lora::unmerge() {
  for (auto& ext : extensions_) ext->unmerge();
}

bool Lora::merged() const { return !extensions_.empty() && extensions_.front()->merged; }

}  // namespace pft::peft
