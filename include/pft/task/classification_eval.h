#pragma once
// Evaluation of a sequence classifier (transformers' BertForSequenceClassification folder)
// on JSONL data: what `pft eval` runs for task.type sequence_classification. Examples are
// tokenized with the folder's tokenizer, batched by length with dynamic padding, run under
// InferenceMode, and written back in data order.

#include <torch/torch.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace pft::task {

struct ClassificationEvalOptions {
  std::string model_dir;              // Hugging Face BertForSequenceClassification folder
  std::string tokenizer_dir;          // empty: model_dir
  std::string data_path;              // JSONL, one example per line
  std::string text_field = "text";    // the input text
  std::string text_pair_field;        // second text of a pair; empty: single texts
  std::string label_field = "label";  // gold label (name or class index); may be absent
  std::size_t max_length = 128;       // tokens per input, special tokens included
  std::string truncation = "longest_first";  // which text of a pair is shortened first
  std::size_t batch_size = 32;        // examples per forward pass
  std::size_t max_examples = 0;       // read at most this many (0: all)
  std::vector<std::string> labels;    // class names in index order; empty: id2label
  torch::Device device = torch::kCPU;
  std::string predictions_path;       // JSONL written atomically; empty: none
};

struct ClassificationEvalResult {
  std::size_t examples = 0;
  std::size_t labelled = 0;            // examples with a gold label
  std::size_t correct = 0;
  std::optional<double> accuracy;      // correct / labelled, when labelled > 0
  std::vector<std::string> labels;     // the class names predictions use
  double load_seconds = 0.0;           // tokenizer + model
  double eval_seconds = 0.0;           // tokenization + forward passes
};

/// Runs the evaluation. Each prediction line is {"index": i, "logits": [...],
/// "prediction": "<label>"} with i the example's position in the file (0-based). Errors
/// (pft::Error) name the data file and line, or the model folder.
ClassificationEvalResult evaluate_sequence_classification(const ClassificationEvalOptions& options);

}  // namespace pft::task
