#pragma once
// What every task shares: its training and evaluation examples, batches of them on a device,
// and batched evaluation that returns one prediction line per example in input order. A
// task adds how its examples are read and batched, its loss, and what one evaluation batch
// predicts; the model it runs on is any family's model with the interface it needs
// (model/interfaces.h).

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pft/train/trainer.h"
#include "pft/util/error.h"

namespace pft::task {

/// A model seen through interface I, kept alive by its module.
template <class I>
struct ModelRef {
  std::shared_ptr<torch::nn::Module> module;
  I* model = nullptr;

  I* operator->() const { return model; }
  I& operator*() const { return *model; }
};

/// `module` as interface I; a model without it is a pft::Error (Config) naming `task`.
template <class I>
ModelRef<I> require_model(std::shared_ptr<torch::nn::Module> module, const std::string& task,
                          const char* what) {
  auto* model = dynamic_cast<I*>(module.get());
  if (model == nullptr) {
    throw Error(ErrorKind::Config,
                "task.type: " + task + " needs " + what + ", which this model does not provide");
  }
  return {std::move(module), model};
}

/// `indices` cut into consecutive batches of at most `batch_size` (evaluation order).
std::vector<std::vector<std::size_t>> eval_batches(const std::vector<std::size_t>& indices,
                                                   std::int64_t batch_size);

template <class Example>
class ExampleTask : public train::TrainableTask {
 public:
  std::vector<std::int64_t> train_lengths() const override {
    std::vector<std::int64_t> lengths;
    lengths.reserve(train_.size());
    for (const auto& e : train_) lengths.push_back(length_of(e));
    return lengths;
  }
  train::Batch train_batch(const std::vector<std::size_t>& indices,
                           const torch::Device& device) const override {
    return make_batch(train_, indices, device);
  }
  bool has_eval() const override { return !eval_.empty(); }
  std::size_t eval_size() const override { return eval_.size(); }

  /// Prediction lines of `indices`, batch by batch of eval.batch_size, in `indices` order.
  std::vector<nlohmann::json> predict(const std::vector<std::size_t>& indices) override {
    before_predict();
    std::vector<nlohmann::json> lines;
    lines.reserve(indices.size());
    for (const auto& chunk : eval_batches(indices, eval_batch_size_)) {
      auto part = predict_batch(make_batch(eval_, chunk, device_), chunk);
      for (auto& line : part) lines.push_back(std::move(line));
    }
    return lines;
  }

  const std::vector<Example>& train_examples() const { return train_; }
  const std::vector<Example>& eval_examples() const { return eval_; }

 protected:
  ExampleTask(torch::Device device, std::int64_t eval_batch_size)
      : device_(device), eval_batch_size_(eval_batch_size) {}

  /// The example's length in tokens (the batch planner buckets by it).
  virtual std::int64_t length_of(const Example& e) const = 0;
  /// The batch of `data[indices]` on `device`.
  virtual train::Batch make_batch(const std::vector<Example>& data,
                                  const std::vector<std::size_t>& indices,
                                  const torch::Device& device) const = 0;
  /// The prediction lines of one evaluation batch (`batch` holds eval_[chunk]), one per
  /// example with its "index".
  virtual std::vector<nlohmann::json> predict_batch(const train::Batch& batch,
                                                    const std::vector<std::size_t>& chunk) = 0;
  /// Called once at the start of predict() (cloze calibration computes its content-free
  /// scores here).
  virtual void before_predict() {}

  std::vector<Example> train_;
  std::vector<Example> eval_;
  torch::Device device_;
  std::int64_t eval_batch_size_;
};

}  // namespace pft::task
