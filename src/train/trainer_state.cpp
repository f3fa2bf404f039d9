#include "pft/train/trainer_state.h"

#include <cmath>
#include <limits>

#include "pft/util/error.h"

using nlohmann::json;

namespace pft::train {

json to_json(const TrainerState& s) {
  return {{"step", s.step},
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
          {"grad_scaler", s.grad_scaler}};
}

namespace {

// Reads the fields of one state document, each checked as it is read.
class Fields {
 public:
  Fields(const json& doc, std::string file) : doc_(doc), file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(ErrorKind::Input, file_ + ": " + field + ": " + what,
                "the checkpoint is damaged or was edited; resume from an earlier one by removing "
                "this checkpoint folder");
  }

  const json& at(const std::string& field) const {
    const auto it = doc_.find(field);
    if (it == doc_.end()) fail(field, "missing");
    return *it;
  }

  std::int64_t integer(const std::string& field, std::int64_t lo, std::int64_t hi,
                       const std::string& why = {}) const {
    const json& v = at(field);
    if (!v.is_number_integer() ||
        (v.is_number_unsigned() &&
         v.get<std::uint64_t>() >
             static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))) {
      fail(field, "expected an integer, got " + v.dump());
    }
    const auto x = v.get<std::int64_t>();
    if (x < lo) {
      fail(field,
           std::to_string(x) + (lo == 0 ? " is negative" : " is below " + std::to_string(lo)));
    }
    if (x > hi) fail(field, std::to_string(x) + " is more than " + std::to_string(hi) + why);
    return x;
  }

  double number(const std::string& field) const {
    const json& v = at(field);
    if (!v.is_number()) fail(field, "expected a number, got " + v.dump());
    const double x = v.get<double>();
    if (!std::isfinite(x)) fail(field, "is not finite");
    return x;
  }

 private:
  const json& doc_;
  std::string file_;
};

}  // namespace

TrainerState parse_trainer_state(const std::string& text, const std::string& file,
                                 const StateLimits& limits) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(ErrorKind::Input, file + ": malformed JSON: " + e.what(),
                "the checkpoint is damaged; resume from an earlier one by removing this "
                "checkpoint folder");
  }
  if (!doc.is_object()) {
    throw Error(ErrorKind::Input,
                file + ": expected a JSON object, got " + std::string(doc.type_name()));
  }
  const Fields f(doc, file);
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  TrainerState s;
  s.step = f.integer("step", 0, limits.total_steps, " (the run's steps)");
  s.epoch = f.integer("epoch", 0, limits.epochs > 0 ? limits.epochs : kMax, " (train.epochs)");
  s.batch_in_epoch =
      f.integer("batch_in_epoch", 0, limits.batches_per_epoch, " (batches in an epoch)");
  s.best_step = f.integer("best_step", -1, s.step, " (the checkpoint's step)");
  s.best_metric = f.number("best_metric");
  s.bad_evals = f.integer("bad_evals", 0, kMax);
  s.examples = f.integer("examples", 0, kMax);
  s.tokens = f.integer("tokens", 0, kMax);
  s.metrics_lines =
      f.integer("metrics_lines", 0, limits.metrics_lines >= 0 ? limits.metrics_lines : kMax,
                " (the lines metrics.jsonl has)");
  s.running_loss = f.number("running_loss");
  s.running_count = f.integer("running_count", 0, kMax);
  const auto scaler = doc.find("grad_scaler");
  if (scaler != doc.end() && !scaler->is_null()) {
    if (!scaler->is_object()) f.fail("grad_scaler", "expected an object, got " + scaler->dump());
    const Fields g(*scaler, file);
    const double scale = g.number("scale");
    if (scale <= 0) f.fail("grad_scaler.scale", "must be > 0");
    g.integer("good_steps", 0, kMax);
    s.grad_scaler = *scaler;
  }
  return s;
}

}  // namespace pft::train
