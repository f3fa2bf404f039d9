#include "pft/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pft/data/batcher.h"
#include "pft/io/safetensors.h"
#include "pft/train/optimizer.h"
#include "pft/train/schedule.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"
#include "pft/util/progress.h"
#include "pft/util/runtime.h"
#include "pft/util/signal.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace pft::train {
namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// Peak resident set size of this process in bytes (VmHWM), 0 when unknown.
std::int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

// Writes a folder atomically: `fill` populates a temporary sibling, which is then renamed
// over `dir` (the previous content, if any, is removed only after the new one is complete).
void write_dir_atomic(const std::string& dir, const std::function<void(const std::string&)>& fill) {
  const fs::path target(dir);
  fs::create_directories(target.parent_path());
  std::string hidden = ".";
  hidden += target.filename().string();
  const fs::path tmp = target.parent_path() / (hidden + ".tmp");
  const fs::path old = target.parent_path() / (hidden + ".old");
  fs::remove_all(tmp);
  fs::remove_all(old);
  fs::create_directories(tmp);
  fill(tmp.string());
  if (fs::exists(target)) fs::rename(target, old);
  fs::rename(tmp, target);
  fs::remove_all(old);
}

std::string step_name(std::int64_t step) { return "step-" + std::to_string(step); }

}  // namespace

std::vector<std::string> list_checkpoints(const std::string& run_dir) {
  std::vector<std::pair<std::int64_t, std::string>> found;
  const fs::path root = fs::path(run_dir) / "checkpoints";
  if (!fs::exists(root)) return {};
  for (const auto& entry : fs::directory_iterator(root)) {
    const auto name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("step-", 0) != 0) continue;
    if (!fs::exists(entry.path() / "trainer_state.json")) continue;  // incomplete
    try {
      found.emplace_back(std::stoll(name.substr(5)), name);
    } catch (const std::exception&) {
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> names;
  for (auto& [step, name] : found) names.push_back(name);
  return names;
}

Trainer::Trainer(TrainableTask& task, peft::AdaptedModel& model, config::TrainConfig options,
                 torch::Device device, std::string run_dir)
    : task_(task),
      model_(model),
      options_(std::move(options)),
      device_(device),
      run_dir_(std::move(run_dir)),
      precision_(parse_precision(options_.precision, device_)),
      scaler_(precision_ == Precision::FP16) {
  trainable_ = model_.trainable();
  if (trainable_.empty()) {
    throw Error(ErrorKind::Config,
                "peft.method: nothing is trainable (method `none` and no modules_to_save)");
  }
  OptimizerOptions oo;
  oo.lr = options_.lr;
  oo.weight_decay = options_.weight_decay;
  optimizer_ = make_adamw(*model_.model, oo);
  const auto n = static_cast<std::int64_t>(task_.train_lengths().size());
  if (n == 0) throw Error(ErrorKind::Input, "data.train: no training examples");
  batches_per_epoch_ = ceil_div(n, options_.batch_size);
  metric_name_ = options_.metric_for_best.empty() ? task_.main_metric() : options_.metric_for_best;
}

EvalResult TrainableTask::evaluate(const std::string& predictions_path, Distributed* distributed) {
  const std::size_t n = eval_size();
  const std::size_t world = distributed != nullptr ? static_cast<std::size_t>(distributed->world_size()) : 1;
  const std::size_t rank = distributed != nullptr ? static_cast<std::size_t>(distributed->rank()) : 0;
  std::vector<std::size_t> mine;
  for (std::size_t i = rank; i < n; i += world) mine.push_back(i);
  std::vector<json> predictions = predict(mine);
  if (distributed != nullptr) {
    log::debug("rank {} of {} predicted {} of {} evaluation examples", rank, world, mine.size(), n);
    std::string lines;
    for (const auto& p : predictions) lines += p.dump() + "\n";
    predictions.assign(n, json());
    const auto all = distributed->all_gather(lines);
    for (std::size_t r = 0; r < all.size(); ++r) {
      std::istringstream in(all[r]);
      std::string line;
      for (std::size_t i = r; i < n && std::getline(in, line); i += world)
        predictions[i] = json::parse(line);
    }
  }
  if (!predictions_path.empty() && (distributed == nullptr || distributed->is_main())) {
    std::string lines;
    for (const auto& p : predictions) lines += p.dump() + "\n";
    write_file_atomic(predictions_path, lines);
  }
  EvalResult r;
  r.examples = static_cast<std::int64_t>(n);
  r.metrics = score(predictions);
  return r;
}

std::int64_t Trainer::total_steps() const {
  if (options_.max_steps > 0) return options_.max_steps;
  return options_.epochs * ceil_div(batches_per_epoch_, options_.grad_accum_steps);
}

bool Trainer::better(double value, const State& s) const {
  if (s.best_step < 0) return true;
  return options_.greater_is_better ? value > s.best_metric : value < s.best_metric;
}

void Trainer::append_metrics(State& s, const json& event) {
  if (!is_main()) {
    ++s.metrics_lines;  // every rank counts, so checkpoints agree; only rank 0 writes
    return;
  }
  const std::string path = (fs::path(run_dir_) / "metrics.jsonl").string();
  std::ofstream out(path, std::ios::app);
  out << event.dump() << "\n";
  out.flush();
  if (!out) throw Error(ErrorKind::Runtime, path + ": write failed");
  ++s.metrics_lines;
}

EvalResult Trainer::evaluate_and_track(State& s) {
  model_.model->eval();
  EvalResult r;
  {
    torch::NoGradGuard no_grad;
    AutocastGuard autocast(precision_, device_);
    r = task_.evaluate("", dist_);
  }
  model_.model->train();
  json event = {{"step", s.step}, {"epoch", s.epoch}, {"eval", r.metrics}};
  const auto it = r.metrics.find(metric_name_);
  if (it == r.metrics.end()) {
    std::string known;
    for (const auto& [k, v] : r.metrics) known += (known.empty() ? "" : ", ") + k;
    throw Error(ErrorKind::Config, "train.metric_for_best: '" + metric_name_ +
                                       "' is not computed by this task (it computes: " + known +
                                       ")");
  }
  std::string line;
  for (const auto& [k, v] : r.metrics) line += fmt::format(" {}={:.4f}", k, v);
  log::info("eval at step {}:{}", s.step, line);
  if (better(it->second, s)) {
    s.best_metric = it->second;
    s.best_step = s.step;
    s.bad_evals = 0;
    if (is_main())
      write_dir_atomic((fs::path(run_dir_) / "best").string(), [&](const std::string& tmp) {
        peft::save_adapter(model_, (fs::path(tmp) / "adapter").string());
        write_file_atomic((fs::path(tmp) / "metrics.json").string(),
                          json({{"step", s.step}, {"metrics", r.metrics}}).dump(2) + "\n");
      });
    event["best"] = true;
  } else {
    ++s.bad_evals;
  }
  append_metrics(s, event);
  return r;
}

void Trainer::save_checkpoint(const State& s) {
  if (!is_main()) {
    if (dist_ != nullptr) dist_->barrier();  // resume needs rank 0's checkpoint complete
    return;
  }
  const auto root = fs::path(run_dir_) / "checkpoints";
  write_dir_atomic((root / step_name(s.step)).string(), [&](const std::string& tmp) {
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& [name, t] : trainable_) tensors[name] = t.detach().cpu().contiguous();
    io::save_safetensors((fs::path(tmp) / "trainable.safetensors").string(), tensors);
    torch::serialize::OutputArchive archive;
    optimizer_->save(archive);
    archive.save_to((fs::path(tmp) / "optimizer.pt").string());
    std::map<std::string, torch::Tensor> rng{
        {"cpu", at::detail::getDefaultCPUGenerator().get_state()}};
    io::save_safetensors((fs::path(tmp) / "rng.safetensors").string(), rng);
    peft::save_adapter(model_, (fs::path(tmp) / "adapter").string());
    const json state = {{"step", s.step},
                        {"epoch", s.epoch},
                        {"batch_in_epoch", s.batch_in_epoch},
                        {"best_metric", s.best_metric},
                        {"best_step", s.best_step},
                        {"bad_evals", s.bad_evals},
                        {"examples", s.examples},
                        {"tokens", s.tokens},
                        {"metrics_lines", s.metrics_lines},
                        {"running_loss", s.running_loss},
                        {"running_count", s.running_count},
                        {"grad_scaler", scaler_.state()}};
    // Written last: its presence marks the checkpoint complete.
    write_file_atomic((fs::path(tmp) / "trainer_state.json").string(), state.dump(2) + "\n");
  });
  auto names = list_checkpoints(run_dir_);
  while (static_cast<std::int64_t>(names.size()) > options_.keep_last) {
    fs::remove_all(root / names.front());
    names.erase(names.begin());
  }
  log::debug("checkpoint saved: {}", (root / step_name(s.step)).string());
  if (dist_ != nullptr) dist_->barrier();
}

Trainer::State Trainer::load_latest_checkpoint() {
  const auto names = list_checkpoints(run_dir_);
  if (names.empty()) {
    throw Error(ErrorKind::Input, "--resume " + run_dir_ + ": no complete checkpoint in " +
                                      (fs::path(run_dir_) / "checkpoints").string());
  }
  const auto dir = fs::path(run_dir_) / "checkpoints" / names.back();
  const json j = json::parse(read_file((dir / "trainer_state.json").string()));
  State s;
  s.step = j.at("step");
  s.epoch = j.at("epoch");
  s.batch_in_epoch = j.at("batch_in_epoch");
  s.best_metric = j.at("best_metric");
  s.best_step = j.at("best_step");
  s.bad_evals = j.at("bad_evals");
  s.examples = j.at("examples");
  s.tokens = j.at("tokens");
  s.metrics_lines = j.at("metrics_lines");
  s.running_loss = j.at("running_loss");
  s.running_count = j.at("running_count");
  scaler_.load_state(j.value("grad_scaler", json()));
  const auto content = io::read_safetensors((dir / "trainable.safetensors").string());
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : trainable_) {
      const auto it = content.tensors.find(name);
      if (it == content.tensors.end() || it->second.sizes() != t.sizes()) {
        throw Error(
            ErrorKind::Input,
            (dir / "trainable.safetensors").string() + ": tensor '" + name +
                "' is missing or mis-shaped (was the config changed since the run started?)");
      }
      t.copy_(it->second.to(t.device(), t.scalar_type()));
    }
  }
  torch::serialize::InputArchive archive;
  archive.load_from((dir / "optimizer.pt").string());
  optimizer_->load(archive);
  const auto rng = io::read_safetensors((dir / "rng.safetensors").string());
  auto generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(rng.tensors.at("cpu"));
  // metrics.jsonl continues from the checkpoint: later lines belonged to the lost future.
  const std::string metrics = (fs::path(run_dir_) / "metrics.jsonl").string();
  std::string kept;
  if (fs::exists(metrics)) {
    std::istringstream in(read_file(metrics));
    std::string line;
    for (std::int64_t i = 0; i < s.metrics_lines && std::getline(in, line); ++i)
      kept += line + "\n";
  }
  write_file_atomic(metrics, kept);
  log::info("resuming from {} (step {}, epoch {})", dir.string(), s.step, s.epoch);
  return s;
}

void Trainer::non_finite_loss(double value, const State& s, std::size_t batch) const {
  const auto kept = list_checkpoints(run_dir_);
  throw Error(
      ErrorKind::Runtime,
      fmt::format("train: the loss is {} at step {} (epoch {}, batch {}); stopping. {}", value,
                  s.step + 1, s.epoch, batch,
                  kept.empty() ? std::string("No checkpoint was saved yet.")
                               : "The last good checkpoint is " +
                                     (fs::path(run_dir_) / "checkpoints" / kept.back()).string() +
                                     " (lower train.lr, or check the data)."));
}

TrainSummary Trainer::run(bool resume) {
  fs::create_directories(run_dir_);
  State s;
  if (resume) {
    s = load_latest_checkpoint();
  } else if (is_main()) {
    write_file_atomic((fs::path(run_dir_) / "metrics.jsonl").string(), "");
  }
  if (dist_ != nullptr) {
    // Every rank starts from rank 0's trainable tensors (same seed gives the same, but a
    // method's random init must not depend on it).
    std::vector<torch::Tensor> params;
    for (const auto& [name, t] : trainable_) params.push_back(t);
    dist_->broadcast(params);
  }
  const auto lengths = task_.train_lengths();
  data::BatchPlanOptions plan_options;
  plan_options.batch_size = options_.batch_size;
  plan_options.seed = static_cast<std::uint64_t>(options_.seed);
  const std::int64_t total = total_steps();
  ScheduleOptions schedule;
  schedule.kind = options_.lr_scheduler;
  schedule.total_steps = total;
  schedule.warmup_steps = warmup_steps(options_.warmup_steps, options_.warmup_ratio, total);

  GracefulInterrupt graceful;
  std::ostringstream quiet;  // ranks other than 0 show no progress
  ProgressBar progress("train", total, is_main() ? std::cerr : quiet,
                       is_main() && ProgressBar::stderr_is_tty());
  double step_loss = 0;          // data parallel: this rank's weighted loss sum in the step
  std::int64_t step_tokens = 0;  // and its tokens
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t start_examples = s.examples, start_tokens = s.tokens;
  model_.model->train();
  optimizer_->zero_grad();
  double last_loss = 0;
  // Timing for summary.json: start-up (process start to the first step), and the steady
  // rate after the first kWarmSteps steps of this process, without evaluation and saving.
  constexpr std::int64_t kWarmSteps = 3;
  using Clock = std::chrono::steady_clock;
  const std::int64_t first_step = s.step;
  double to_first_step = -1, paused = 0, paused_at_warm = 0;
  std::int64_t tokens_at_warm = 0;
  Clock::time_point warm_at;
  bool stop = false, stopped_early = false;
  EvalResult last_eval;
  std::int64_t last_eval_step = -1;

  while (!stop) {
    if (options_.max_steps > 0 ? s.step >= options_.max_steps : s.epoch >= options_.epochs) break;
    const auto plan = data::plan_batches(lengths, plan_options, s.epoch);
    std::int64_t micro = 0;
    for (auto b = static_cast<std::size_t>(s.batch_in_epoch); b < plan.size() && !stop; ++b) {
      // Data parallel: this rank's share of the global batch (every world_size-th example),
      // weighted by its share so that the summed gradients are the global batch's mean.
      std::vector<std::size_t> mine = plan[b];
      double weight = 1.0;
      if (dist_ != nullptr) {
        mine.clear();
        for (std::size_t k = static_cast<std::size_t>(dist_->rank()); k < plan[b].size();
             k += static_cast<std::size_t>(dist_->world_size())) {
          mine.push_back(plan[b][k]);
        }
        weight = static_cast<double>(mine.size()) / static_cast<double>(plan[b].size());
      }
      double value = 0.0;
      std::int64_t batch_tokens = 0;
      if (to_first_step < 0) to_first_step = seconds_since_process_start();
      if (!mine.empty()) {  // empty: a last batch smaller than the world; the sum stays right
        const Batch batch = task_.train_batch(mine, device_);
        torch::Tensor loss;
        {
          AutocastGuard autocast(precision_, device_);
          loss = task_.loss(batch);
        }
        value = loss.item<double>();
        if (dist_ == nullptr && !std::isfinite(value)) non_finite_loss(value, s, b);
        (loss * (scaler_.scale() * weight / static_cast<double>(options_.grad_accum_steps)))
            .backward();
        batch_tokens = batch.num_tokens;
      }
      if (dist_ != nullptr) {
        step_loss += value * weight;
        step_tokens += batch_tokens;
      } else {
        s.running_loss += value;
        s.tokens += batch_tokens;
      }
      ++s.running_count;
      s.batch_in_epoch = static_cast<std::int64_t>(b) + 1;
      s.examples += static_cast<std::int64_t>(plan[b].size());
      ++micro;
      const bool epoch_end = b + 1 == plan.size();
      if (micro < options_.grad_accum_steps && !epoch_end) continue;
      micro = 0;

      double grad_norm = 0;
      std::vector<torch::Tensor> params;
      for (const auto& [name, t] : trainable_) params.push_back(t);
      bool interrupted = interrupt_requested();
      if (dist_ != nullptr) {
        // One bucketed all-reduce per step: every trainable gradient (zeros where this rank
        // had no example), then this rank's loss and token sums and its interrupt flag.
        std::vector<torch::Tensor> reduce;
        for (auto& p : params) {
          if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
          reduce.push_back(p.grad());
        }
        auto stats =
            torch::tensor({step_loss, static_cast<double>(step_tokens), interrupted ? 1.0 : 0.0},
                          torch::TensorOptions().dtype(torch::kFloat64).device(device_));
        reduce.push_back(stats);
        const auto bytes = dist_->all_reduce_sum(reduce);
        if (s.step == 0 || bytes != last_bytes_)
          log::debug("all-reduce: {} bytes per step from rank {}", bytes, dist_->rank());
        last_bytes_ = bytes;
        const auto host = stats.cpu();
        const double global_loss = host[0].item<double>();
        if (!std::isfinite(global_loss)) non_finite_loss(global_loss, s, b);
        s.running_loss += global_loss;
        s.tokens += static_cast<std::int64_t>(std::llround(host[1].item<double>()));
        interrupted = host[2].item<double>() > 0;
        step_loss = 0;
        step_tokens = 0;
      }
      // fp16: gradients come back to their true scale; an overflow skips this step (the step
      // still counts, as with torch.amp.GradScaler under transformers' Trainer).
      const bool finite = scaler_.unscale_and_check(params);
      if (finite && options_.max_grad_norm > 0) {
        grad_norm = torch::nn::utils::clip_grad_norm_(params, options_.max_grad_norm);
      }
      const double lr = options_.lr * lr_multiplier(schedule, s.step);
      set_learning_rate(*optimizer_, lr);
      if (finite) {
        optimizer_->step();
      } else {
        log::warn("step {}: fp16 gradients overflowed at loss scale {}; step skipped", s.step + 1,
                  scaler_.scale());
      }
      scaler_.update(finite);
      optimizer_->zero_grad();
      ++s.step;
      last_loss = s.running_loss / static_cast<double>(s.running_count);
      progress.update(s.step, last_loss);
      const auto step_end = Clock::now();
      if (s.step - first_step == kWarmSteps) {
        warm_at = step_end;
        paused_at_warm = paused;
        tokens_at_warm = s.tokens;
      }

      if (s.step % options_.log_every == 0 || s.step == total) {
        append_metrics(s, {{"step", s.step},
                           {"epoch", s.epoch},
                           {"loss", last_loss},
                           {"lr", lr},
                           {"grad_norm", grad_norm}});
        log::debug("step {} loss {:.4f} lr {:.3g}", s.step, last_loss, lr);
        s.running_loss = 0;
        s.running_count = 0;
      }
      const bool last_step = options_.max_steps > 0 ? s.step >= options_.max_steps
                                                    : (s.epoch + 1 >= options_.epochs && epoch_end);
      if (task_.has_eval() &&
          ((options_.eval_every > 0 && s.step % options_.eval_every == 0) || last_step)) {
        last_eval = evaluate_and_track(s);
        last_eval_step = s.step;
        if (options_.early_stopping_patience > 0 &&
            s.bad_evals >= options_.early_stopping_patience) {
          log::info("early stopping at step {}: {} evaluations without improvement of {}", s.step,
                    s.bad_evals, metric_name_);
          stop = stopped_early = true;
        }
      }
      if (options_.save_every > 0 && s.step % options_.save_every == 0) save_checkpoint(s);
      if (interrupted) {
        progress.finish();
        save_checkpoint(s);
        throw Error(ErrorKind::Interrupted, "interrupted at step " + std::to_string(s.step) +
                                                "; resume with --resume " + run_dir_);
      }
      paused += std::chrono::duration<double>(Clock::now() - step_end).count();
      if (last_step) stop = true;
    }
    if (!stop || s.batch_in_epoch >= static_cast<std::int64_t>(plan.size())) {
      if (s.batch_in_epoch >= static_cast<std::int64_t>(plan.size())) {
        ++s.epoch;
        s.batch_in_epoch = 0;
      }
    }
  }
  progress.finish();
  const auto final_start = Clock::now();
  if (task_.has_eval() && last_eval_step != s.step) {
    last_eval = evaluate_and_track(s);
  }
  save_checkpoint(s);
  const std::string adapter = (fs::path(run_dir_) / "adapter").string();
  if (is_main())
    write_dir_atomic(adapter, [&](const std::string& tmp) { peft::save_adapter(model_, tmp); });
  const double final_seconds = std::chrono::duration<double>(Clock::now() - final_start).count();

  TrainSummary summary;
  summary.steps = s.step;
  summary.examples = s.examples;
  summary.tokens = s.tokens;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.best_metric = s.best_metric;
  summary.best_step = s.best_step;
  summary.metric_name = metric_name_;
  summary.final_metrics = last_eval.metrics;
  summary.final_loss = last_loss;
  summary.adapter_dir = adapter;
  summary.stopped_early = stopped_early;
  const double secs = std::max(summary.seconds, 1e-9);
  json steady_steps = nullptr, steady_tokens = nullptr;
  if (s.step - first_step > kWarmSteps) {
    // Evaluation and checkpoints after the last step are outside [warm_at, last step end].
    const double t = std::chrono::duration<double>(Clock::now() - warm_at).count() -
                     (paused - paused_at_warm) - final_seconds;
    steady_steps = static_cast<double>(s.step - first_step - kWarmSteps) / std::max(t, 1e-9);
    steady_tokens = static_cast<double>(s.tokens - tokens_at_warm) / std::max(t, 1e-9);
  }
  const json doc = {
      {"steps", summary.steps},
      {"examples", summary.examples},
      {"tokens", summary.tokens},
      {"wall_seconds", summary.seconds},
      {"examples_per_second", static_cast<double>(s.examples - start_examples) / secs},
      {"tokens_per_second", static_cast<double>(s.tokens - start_tokens) / secs},
      {"peak_rss_bytes", peak_rss_bytes()},
      {"seconds_to_first_step", to_first_step},
      {"steady_steps_per_second", steady_steps},
      {"steady_tokens_per_second", steady_tokens},
      {"trainable_parameters", model_.trainable_count},
      {"precision", precision_name(precision_)},
      {"total_parameters", model_.total_count},
      {"final_loss", summary.final_loss},
      {"metric_for_best", metric_name_},
      {"best_metric", summary.best_step >= 0 ? json(summary.best_metric) : json(nullptr)},
      {"best_step", summary.best_step},
      {"final_metrics", summary.final_metrics},
      {"stopped_early", stopped_early},
      {"adapter", adapter},
  };
  if (!is_main()) return summary;
  write_file_atomic((fs::path(run_dir_) / "summary.json").string(), doc.dump(2) + "\n");
  write_file_atomic((fs::path(run_dir_) / "training.svg").string(),
                    plot_svg((fs::path(run_dir_) / "metrics.jsonl").string()));
  return summary;
}

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
          log::warn("{}:{}: an unfinished last line (the run was killed while writing it); not plotted",
                    metrics_path, number);
          continue;
        }
        throw Error(ErrorKind::Input, metrics_path + ":" + std::to_string(number) + ": malformed JSON: " + ex.what());
      }
      if (!e.is_object()) {
        throw Error(ErrorKind::Input, metrics_path + ":" + std::to_string(number) + ": expected a JSON object");
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

}  // namespace pft::train
