#include "pft/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>
#include <c10/util/Exception.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "pft/data/batcher.h"
#include "pft/io/safetensors.h"
#include "pft/peft/identity.h"
#include "pft/train/optimizer.h"
#include "pft/train/plot.h"
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

// Steps the schedule can count exactly (a double's integers).
constexpr std::int64_t kMaxSteps = std::int64_t{1} << 53;

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
// When `fill` fails (a full disk), the temporary folder is removed and `dir` is untouched.
void write_dir_atomic(const std::string& dir, const std::function<void(const std::string&)>& fill) {
  const fs::path target(dir);
  fs::create_directories(target.parent_path());
  std::string hidden = ".";
  hidden += target.filename().string();
  const fs::path tmp = target.parent_path() / (hidden + ".tmp");
  const fs::path old = target.parent_path() / (hidden + ".old");
  fs::remove_all(tmp);
  fs::remove_all(old);
  try {
    fs::create_directories(tmp);
    fill(tmp.string());
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  if (fs::exists(target)) fs::rename(target, old);
  fs::rename(tmp, target);
  fs::remove_all(old);
}

std::string step_name(std::int64_t step) { return "step-" + std::to_string(step); }

// Lines of a file (0 when it does not exist).
std::int64_t count_lines(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return 0;
  const std::string text = read_file(path);
  return static_cast<std::int64_t>(std::count(text.begin(), text.end(), '\n'));
}

// The first line of a LibTorch message (its backtrace and context follow).
std::string first_line(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  const std::string text = c10 != nullptr ? c10->what_without_backtrace() : e.what();
  return text.substr(0, text.find('\n'));
}

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
  oo.loraplus_lr_ratio = options_.loraplus_lr_ratio;
  optimizer_ = make_adamw(*model_.model, oo);
  lengths_ = task_.train_lengths();
  const auto n = static_cast<std::int64_t>(lengths_.size());
  if (n == 0) throw Error(ErrorKind::Input, "data.train: no training examples");
  batches_per_epoch_ = ceil_div(n, options_.batch_size);
  const std::int64_t per_epoch = ceil_div(batches_per_epoch_, options_.grad_accum_steps);
  if (options_.max_steps == 0 && options_.epochs > kMaxSteps / per_epoch) {
    throw Error(ErrorKind::Config,
                "train.epochs: " + std::to_string(options_.epochs) + " epochs of " +
                    std::to_string(per_epoch) + " steps are more steps than the schedule counts (" +
                    std::to_string(kMaxSteps) + "); set fewer epochs or train.max_steps");
  }
  total_ = total_steps();
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
  if (!out) throw Error(ErrorKind::Runtime, path + ": write failed (disk full?)");
  ++s.metrics_lines;
  tensorboard_scalars(event);
}

void Trainer::start_tensorboard() {
  if (!options_.tensorboard || !is_main()) return;
  const auto dir = fs::path(run_dir_) / "tensorboard";
  std::error_code ec;
  fs::remove_all(dir, ec);
  events_ = std::make_unique<EventWriter>(dir.string());
  // A resumed run continues metrics.jsonl from its checkpoint: the scalars follow it.
  const std::string metrics = (fs::path(run_dir_) / "metrics.jsonl").string();
  if (!fs::exists(metrics)) return;
  std::istringstream in(read_file(metrics));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) tensorboard_scalars(json::parse(line));
  }
}

void Trainer::tensorboard_scalars(const json& event) {
  if (!events_) return;
  const auto step = event.at("step").get<std::int64_t>();
  if (event.contains("eval")) {
    for (const auto& [name, value] : event["eval"].items()) {
      if (value.is_number()) events_->scalar("eval/" + name, value.get<double>(), step);
    }
    return;
  }
  for (const char* key : {"loss", "lr", "grad_norm", "epoch"}) {
    if (event.contains(key) && event[key].is_number())
      events_->scalar(std::string("train/") + key, event[key].get<double>(), step);
  }
}

void Trainer::save_adapter(const std::string& dir) const {
  peft::save_adapter(model_, dir);
  if (!identity_.is_null()) {
    write_file_atomic((fs::path(dir) / peft::kAdapterIdentityFile).string(),
                      identity_.dump(2) + "\n");
  }
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
    throw Error(ErrorKind::Config,
                "train.metric_for_best: '" + metric_name_ + "' is not computed by this task (" +
                    (known.empty() ? std::string("the evaluation gave no metric at all")
                                   : "it computes: " + known) +
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
        save_adapter((fs::path(tmp) / "adapter").string());
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
  last_saved_step_ = s.step;  // on every rank: they must agree on when to save
  if (!is_main()) {
    if (dist_ != nullptr) dist_->barrier();  // resume needs rank 0's checkpoint complete
    return;
  }
  saving_ = true;
  const auto root = fs::path(run_dir_) / "checkpoints";
  write_dir_atomic((root / step_name(s.step)).string(), [&](const std::string& tmp) {
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& [name, t] : trainable_) tensors[name] = t.detach().cpu().contiguous();
    io::save_safetensors((fs::path(tmp) / "trainable.safetensors").string(), tensors);
    // Serialized in memory, then written like every other file: LibTorch's own file writer
    // aborts the process when the disk fills up.
    std::ostringstream optimizer_bytes;
    {
      torch::serialize::OutputArchive archive;
      optimizer_->save(archive);
      archive.save_to(optimizer_bytes);
    }
    write_file_atomic((fs::path(tmp) / "optimizer.pt").string(), optimizer_bytes.str());
    std::map<std::string, torch::Tensor> rng{
        {"cpu", at::detail::getDefaultCPUGenerator().get_state()}};
    io::save_safetensors((fs::path(tmp) / "rng.safetensors").string(), rng);
    save_adapter((fs::path(tmp) / "adapter").string());
    State state = s;
    state.grad_scaler = scaler_.state();
    // Written last: its presence marks the checkpoint complete.
    write_file_atomic((fs::path(tmp) / "trainer_state.json").string(),
                      to_json(state).dump(2) + "\n");
  });
  auto names = list_checkpoints(run_dir_);
  while (static_cast<std::int64_t>(names.size()) > options_.keep_last) {
    fs::remove_all(root / names.front());
    names.erase(names.begin());
  }
  saving_ = false;
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
  const std::string metrics = (fs::path(run_dir_) / "metrics.jsonl").string();
  // Everything is read and checked before anything is changed.
  StateLimits limits;
  limits.total_steps = total_;
  limits.batches_per_epoch = batches_per_epoch_;
  limits.epochs = options_.max_steps > 0 ? 0 : options_.epochs;
  limits.metrics_lines = count_lines(metrics);
  const std::string state_file = (dir / "trainer_state.json").string();
  State s = parse_trainer_state(read_file(state_file), state_file, limits);

  const std::string trainable_file = (dir / "trainable.safetensors").string();
  const auto content = io::read_safetensors(trainable_file);
  for (const auto& [name, t] : trainable_) {
    const auto it = content.tensors.find(name);
    if (it == content.tensors.end() || it->second.sizes() != t.sizes()) {
      throw Error(ErrorKind::Input,
                  trainable_file + ": tensor '" + name +
                      "' is missing or mis-shaped (was the config changed since the run started?)");
    }
    if (!it->second.is_floating_point()) {
      throw Error(ErrorKind::Input,
                  trainable_file + ": tensor '" + name + "' is not floating point");
    }
  }
  const std::string optimizer_file = (dir / "optimizer.pt").string();
  torch::serialize::InputArchive archive;
  try {
    const std::string bytes = read_file(optimizer_file);
    archive.load_from(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Input, optimizer_file + ": not a readable optimizer state: " +
                                      first_line(e));
  }
  const std::string rng_file = (dir / "rng.safetensors").string();
  const auto rng = io::read_safetensors(rng_file);
  const auto cpu = rng.tensors.find("cpu");
  if (cpu == rng.tensors.end()) {
    throw Error(ErrorKind::Input, rng_file + ": no tensor 'cpu' (the CPU generator's state)");
  }

  {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : trainable_) {
      t.copy_(content.tensors.at(name).to(t.device(), t.scalar_type()));
    }
  }
  try {
    optimizer_->load(archive);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Input, optimizer_file + ": does not hold this run's optimizer state: " +
                                      first_line(e));
  }
  try {
    auto generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(cpu->second);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Input, rng_file + ": tensor 'cpu' is not a CPU generator state: " +
                                      first_line(e));
  }
  scaler_.load_state(s.grad_scaler);
  // metrics.jsonl continues from the checkpoint: later lines belonged to the lost future.
  std::string kept;
  if (fs::exists(metrics)) {
    std::istringstream in(read_file(metrics));
    std::string line;
    for (std::int64_t i = 0; i < s.metrics_lines && std::getline(in, line); ++i)
      kept += line + "\n";
  }
  write_file_atomic(metrics, kept);
  last_saved_step_ = s.step;
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

// Timing for summary.json: start-up (process start to the first step), and the steady rate
// after the first kWarmSteps steps of this process, without evaluation and saving.
struct Trainer::Clock {
  using Time = std::chrono::steady_clock;
  static constexpr std::int64_t kWarmSteps = 3;

  Clock(const State& s, std::int64_t total, bool main)
      : first_step(s.step),
        start_examples(s.examples),
        start_tokens(s.tokens),
        progress("train", total, main ? std::cerr : quiet, main && ProgressBar::stderr_is_tty()) {}

  Time::time_point start = Time::now();
  std::int64_t first_step, start_examples, start_tokens;
  double to_first_step = -1, paused = 0, paused_at_warm = 0;
  std::int64_t tokens_at_warm = 0;
  Time::time_point warm_at;
  Time::time_point step_end;
  std::ostringstream quiet;  // ranks other than 0 show no progress
  ProgressBar progress;
};

TrainSummary Trainer::run(bool resume) {
  State s = start(resume);
  Clock clock(s, total_, is_main());
  GracefulInterrupt graceful;
  model_.model->train();
  optimizer_->zero_grad();
  try {
    while (options_.max_steps > 0 ? s.step < options_.max_steps : s.epoch < options_.epochs) {
      if (!train_epoch(s, clock)) break;
    }
    return finish(s, clock);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Interrupted) save_after_failure(s);
    throw;
  } catch (...) {
    save_after_failure(s);
    throw;
  }
}

Trainer::State Trainer::start(bool resume) {
  fs::create_directories(run_dir_);
  State s;
  if (resume) {
    s = load_latest_checkpoint();
  } else if (is_main()) {
    write_file_atomic((fs::path(run_dir_) / "metrics.jsonl").string(), "");
  }
  start_tensorboard();
  last_log_step_ = s.step;
  last_log_time_ =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (dist_ != nullptr) {
    // Every rank starts from rank 0's trainable tensors (same seed gives the same, but a
    // method's random init must not depend on it).
    std::vector<torch::Tensor> params;
    for (const auto& [name, t] : trainable_) params.push_back(t);
    dist_->broadcast(params);
  }
  return s;
}

bool Trainer::train_epoch(State& s, Clock& clock) {
  data::BatchPlanOptions plan_options;
  plan_options.batch_size = options_.batch_size;
  plan_options.seed = static_cast<std::uint64_t>(options_.seed);
  const auto plan = data::plan_batches(lengths_, plan_options, s.epoch);
  std::int64_t micro = 0;
  for (auto b = static_cast<std::size_t>(s.batch_in_epoch); b < plan.size(); ++b) {
    if (micro == 0) {
      step_start_ = s;
      in_step_ = true;
    }
    if (clock.to_first_step < 0) clock.to_first_step = seconds_since_process_start();
    micro_batch(s, plan[b], b);
    ++micro;
    const bool epoch_end = b + 1 == plan.size();
    if (micro < options_.grad_accum_steps && !epoch_end) continue;
    micro = 0;
    double lr = 0, grad_norm = 0;
    optimizer_step(s, lr, grad_norm);
    if (!after_step(s, clock, lr, grad_norm, epoch_end)) {
      if (s.batch_in_epoch >= static_cast<std::int64_t>(plan.size())) {
        ++s.epoch;
        s.batch_in_epoch = 0;
      }
      return false;
    }
  }
  ++s.epoch;
  s.batch_in_epoch = 0;
  return true;
}

void Trainer::micro_batch(State& s, const std::vector<std::size_t>& global, std::size_t b) {
  // Data parallel: this rank's share of the global batch (every world_size-th example),
  // weighted by its share so that the summed gradients are the global batch's mean.
  std::vector<std::size_t> mine = global;
  double weight = 1.0;
  if (dist_ != nullptr) {
    mine.clear();
    for (std::size_t k = static_cast<std::size_t>(dist_->rank()); k < global.size();
         k += static_cast<std::size_t>(dist_->world_size())) {
      mine.push_back(global[k]);
    }
    weight = static_cast<double>(mine.size()) / static_cast<double>(global.size());
  }
  double value = 0.0;
  std::int64_t batch_tokens = 0;
  if (!mine.empty()) {  // empty: a last batch smaller than the world; the sum stays right
    const Batch batch = task_.train_batch(mine, device_);
    torch::Tensor loss;
    {
      AutocastGuard autocast(precision_, device_);
      loss = task_.loss(batch);
    }
    value = loss.item<double>();
    if (dist_ == nullptr && !std::isfinite(value)) {
      diverged_ = true;
      non_finite_loss(value, s, b);
    }
    (loss * (scaler_.scale() * weight / static_cast<double>(options_.grad_accum_steps))).backward();
    batch_tokens = batch.num_tokens;
  }
  if (dist_ != nullptr) {
    step_loss_ += value * weight;
    step_tokens_ += batch_tokens;
  } else {
    s.running_loss += value;
    s.tokens += batch_tokens;
  }
  ++s.running_count;
  s.batch_in_epoch = static_cast<std::int64_t>(b) + 1;
  s.examples += static_cast<std::int64_t>(global.size());
}

void Trainer::optimizer_step(State& s, double& lr, double& grad_norm) {
  std::vector<torch::Tensor> params;
  for (const auto& [name, t] : trainable_) params.push_back(t);
  interrupted_ = interrupt_requested();
  if (dist_ != nullptr) {
    // One bucketed all-reduce per step: every trainable gradient (zeros where this rank
    // had no example), then this rank's loss and token sums and its interrupt flag.
    std::vector<torch::Tensor> reduce;
    for (auto& p : params) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      reduce.push_back(p.grad());
    }
    auto stats =
        torch::tensor({step_loss_, static_cast<double>(step_tokens_), interrupted_ ? 1.0 : 0.0},
                      torch::TensorOptions().dtype(torch::kFloat64).device(device_));
    reduce.push_back(stats);
    const auto bytes = dist_->all_reduce_sum(reduce);
    if (s.step == 0 || bytes != last_bytes_)
      log::debug("all-reduce: {} bytes per step from rank {}", bytes, dist_->rank());
    last_bytes_ = bytes;
    const auto host = stats.cpu();
    const double global_loss = host[0].item<double>();
    if (!std::isfinite(global_loss)) {
      diverged_ = true;
      non_finite_loss(global_loss, s, static_cast<std::size_t>(s.batch_in_epoch - 1));
    }
    s.running_loss += global_loss;
    s.tokens += static_cast<std::int64_t>(std::llround(host[1].item<double>()));
    interrupted_ = host[2].item<double>() > 0;
    step_loss_ = 0;
    step_tokens_ = 0;
  }
  // fp16: gradients come back to their true scale; an overflow skips this step (the step
  // still counts, as with torch.amp.GradScaler under transformers' Trainer).
  const bool finite = scaler_.unscale_and_check(params);
  if (finite && options_.max_grad_norm > 0) {
    grad_norm = torch::nn::utils::clip_grad_norm_(params, options_.max_grad_norm);
  }
  ScheduleOptions schedule;
  schedule.kind = options_.lr_scheduler;
  schedule.total_steps = total_;
  schedule.warmup_steps = warmup_steps(options_.warmup_steps, options_.warmup_ratio, total_);
  lr = options_.lr * lr_multiplier(schedule, s.step);
  set_learning_rate(*optimizer_, lr, options_.loraplus_lr_ratio);
  if (finite) {
    optimizer_->step();
  } else {
    log::warn("step {}: fp16 gradients overflowed at loss scale {}; step skipped", s.step + 1,
              scaler_.scale());
  }
  scaler_.update(finite);
  optimizer_->zero_grad();
  ++s.step;
  in_step_ = false;
}

bool Trainer::after_step(State& s, Clock& clock, double lr, double grad_norm, bool epoch_end) {
  last_loss_ = s.running_loss / static_cast<double>(s.running_count);
  clock.progress.update(s.step, last_loss_);
  clock.step_end = Clock::Time::now();
  if (s.step - clock.first_step == Clock::kWarmSteps) {
    clock.warm_at = clock.step_end;
    clock.paused_at_warm = clock.paused;
    clock.tokens_at_warm = s.tokens;
  }
  if (s.step % options_.log_every == 0 || s.step == total_) {
    if (events_) {
      // Seconds per optimizer step since the previous loss line (TensorBoard only: metrics.jsonl
      // stays the same whether or not the run was interrupted).
      const double now = std::chrono::duration<double>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
      if (last_log_time_ >= 0 && s.step > last_log_step_) {
        events_->scalar("train/step_time", (now - last_log_time_) /
                                               static_cast<double>(s.step - last_log_step_),
                        s.step);
      }
      last_log_time_ = now;
      last_log_step_ = s.step;
    }
    append_metrics(s, {{"step", s.step},
                       {"epoch", s.epoch},
                       {"loss", last_loss_},
                       {"lr", lr},
                       {"grad_norm", grad_norm}});
    log::debug("step {} loss {:.4f} lr {:.3g}", s.step, last_loss_, lr);
    s.running_loss = 0;
    s.running_count = 0;
  }
  const bool last_step = options_.max_steps > 0 ? s.step >= options_.max_steps
                                                : (s.epoch + 1 >= options_.epochs && epoch_end);
  bool go_on = !last_step;
  if (task_.has_eval() &&
      ((options_.eval_every > 0 && s.step % options_.eval_every == 0) || last_step)) {
    last_eval_ = evaluate_and_track(s);
    last_eval_step_ = s.step;
    if (options_.early_stopping_patience > 0 && s.bad_evals >= options_.early_stopping_patience) {
      log::info("early stopping at step {}: {} evaluations without improvement of {}", s.step,
                s.bad_evals, metric_name_);
      stopped_early_ = true;
      go_on = false;
    }
  }
  if (options_.save_every > 0 && s.step % options_.save_every == 0) save_checkpoint(s);
  if (interrupted_) {
    clock.progress.finish();
    if (last_saved_step_ != s.step) save_checkpoint(s);
    throw Error(ErrorKind::Interrupted, "interrupted at step " + std::to_string(s.step) +
                                            "; resume with --resume " + run_dir_);
  }
  clock.paused += std::chrono::duration<double>(Clock::Time::now() - clock.step_end).count();
  return go_on;
}

void Trainer::save_after_failure(const State& s) noexcept {
  // Distributed ranks cannot agree on a save after one of them failed; a diverged loss and a
  // failed save leave nothing worth saving.
  if (dist_ != nullptr || diverged_ || saving_) return;
  const State& last = in_step_ ? step_start_ : s;
  if (last.step == 0 || last.step == last_saved_step_) return;
  try {
    save_checkpoint(last);
    log::warn("saved {} before stopping; --resume {} continues from it",
              (fs::path(run_dir_) / "checkpoints" / step_name(last.step)).string(), run_dir_);
  } catch (const std::exception& e) {
    log::error("could not save the state of step {} before stopping: {}", last.step, e.what());
  }
}

TrainSummary Trainer::finish(State& s, Clock& clock) {
  clock.progress.finish();
  const auto final_start = Clock::Time::now();
  if (task_.has_eval() && last_eval_step_ != s.step) {
    last_eval_ = evaluate_and_track(s);
  }
  if (last_saved_step_ != s.step) save_checkpoint(s);
  const std::string adapter = (fs::path(run_dir_) / "adapter").string();
  if (is_main()) write_dir_atomic(adapter, [&](const std::string& tmp) { save_adapter(tmp); });
  const double final_seconds =
      std::chrono::duration<double>(Clock::Time::now() - final_start).count();

  TrainSummary summary;
  summary.steps = s.step;
  summary.examples = s.examples;
  summary.tokens = s.tokens;
  summary.seconds = std::chrono::duration<double>(Clock::Time::now() - clock.start).count();
  summary.best_metric = s.best_metric;
  summary.best_step = s.best_step;
  summary.metric_name = metric_name_;
  summary.final_metrics = last_eval_.metrics;
  summary.final_loss = last_loss_;
  summary.adapter_dir = adapter;
  summary.stopped_early = stopped_early_;
  const double secs = std::max(summary.seconds, 1e-9);
  json steady_steps = nullptr, steady_tokens = nullptr;
  if (s.step - clock.first_step > Clock::kWarmSteps) {
    // Evaluation and checkpoints after the last step are outside [warm_at, last step end].
    const double t = std::chrono::duration<double>(Clock::Time::now() - clock.warm_at).count() -
                     (clock.paused - clock.paused_at_warm) - final_seconds;
    steady_steps =
        static_cast<double>(s.step - clock.first_step - Clock::kWarmSteps) / std::max(t, 1e-9);
    steady_tokens = static_cast<double>(s.tokens - clock.tokens_at_warm) / std::max(t, 1e-9);
  }
  const json doc = {
      {"steps", summary.steps},
      {"examples", summary.examples},
      {"tokens", summary.tokens},
      {"wall_seconds", summary.seconds},
      {"examples_per_second", static_cast<double>(s.examples - clock.start_examples) / secs},
      {"tokens_per_second", static_cast<double>(s.tokens - clock.start_tokens) / secs},
      {"peak_rss_bytes", peak_rss_bytes()},
      {"seconds_to_first_step", clock.to_first_step},
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
      {"stopped_early", stopped_early_},
      {"adapter", adapter},
  };
  if (!is_main()) return summary;
  write_file_atomic((fs::path(run_dir_) / "summary.json").string(), doc.dump(2) + "\n");
  write_file_atomic((fs::path(run_dir_) / "training.svg").string(),
                    plot_svg((fs::path(run_dir_) / "metrics.jsonl").string()));
  return summary;
}

}  // namespace pft::train
