#pragma once
// The run configuration: one JSON file per experiment, sections model, tokenizer, data,
// prompt, task, peft, train, eval, generate. Each section is a plain struct with in-class
// defaults; its visit() lists every key once (name, value, meaning, rule), and that one
// list drives parsing, type checks, validation, `--set`, `--dry-run` output and the
// generated reference in docs/config.md.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pft/config/rule.h"
#include "pft/peft/config.h"

namespace pft::config {

using Verbalizer = std::map<std::string, std::vector<std::string>>;

struct ModelConfig {
  std::string path;           // Hugging Face checkpoint folder
  std::string type = "auto";  // architecture

  template <class V>
  void visit(V&& v) {
    v("path", path,
      "Hugging Face checkpoint folder: config.json, model.safetensors (or a sharded index), "
      "vocabulary files. Required by train, eval and generate.",
      rules::path());
    v("type", type,
      "Model family; `auto` reads `model_type` from the folder's config.json. Otherwise one of "
      "the families pft knows (docs/models.md), e.g. to run a checkpoint whose config.json "
      "names a close relative.",
      rules::none());
  }
};

struct TokenizerConfig {
  std::string path;  // defaults to model.path
  std::int64_t max_length = 128;
  std::string truncation = "longest_first";

  template <class V>
  void visit(V&& v) {
    v("path", path,
      "Folder with tokenizer.json (read first), vocab.txt (WordPiece) or spiece.model "
      "(SentencePiece), and tokenizer_config.json. Empty: the same as `model.path`.",
      rules::path());
    v("max_length", max_length,
      "Longest input in tokens, special tokens included; longer inputs are truncated.",
      rules::between(1, 1 << 20));
    v("truncation", truncation, "Which part of a sentence pair is shortened first.",
      rules::one_of({"longest_first", "only_first", "only_second"}));
  }
};

struct DataConfig {
  std::string train;
  std::string eval;
  std::string test;
  std::string format = "auto";
  std::string text_field = "text";
  std::string text_pair_field;
  std::string label_field = "label";
  std::string source_field = "source";
  std::string target_field = "target";
  std::int64_t max_train_examples = 0;
  std::int64_t max_eval_examples = 0;

  template <class V>
  void visit(V&& v) {
    v("train", train, "Training data file. Required by train.", rules::path());
    v("eval", eval, "Evaluation data, used during training and by `pft eval`.", rules::path());
    v("test", test, "Held-out test data.", rules::path());
    v("format", format,
      "File format of data.train/eval/test: `jsonl` (one JSON object a line), `csv` (header "
      "row, RFC 4180 quoting), `tsv` (header row, tab-separated, no quoting: GLUE's layout), "
      "`parquet`, `arrow` (an Arrow IPC file, or the folder `datasets`' save_to_disk writes) or "
      "`conll` (token_classification). `auto` chooses by task and extension: CoNLL for "
      "token_classification; else `.csv` CSV, `.tsv` TSV, `.parquet`/`.pq` Parquet, "
      "`.arrow`/`.feather` or a folder Arrow, anything else JSON Lines.",
      rules::one_of({"auto", "jsonl", "tsv", "csv", "parquet", "arrow", "conll"}));
    v("text_field", text_field, "Field holding the input text.", rules::none());
    v("text_pair_field", text_pair_field,
      "Field holding the second text of a pair (empty: single sentences).", rules::none());
    v("label_field", label_field,
      "Field holding the label: its name, or its index in task.labels (an integer, or in "
      "CSV/TSV a number that is not itself a label name; a `datasets` ClassLabel column of a "
      "Parquet or Arrow file reads as its names).",
      rules::none());
    v("source_field", source_field, "Input field of seq2seq data.", rules::none());
    v("target_field", target_field, "Output field of seq2seq data.", rules::none());
    v("max_train_examples", max_train_examples, "Use at most this many training examples (0: all).",
      rules::at_least(0));
    v("max_eval_examples", max_eval_examples, "Use at most this many evaluation examples (0: all).",
      rules::at_least(0));
  }
};

struct PromptConfig {
  std::string template_text;
  Verbalizer verbalizer;
  std::string word_tokens = "first";
  std::string label_words = "mean";
  std::string truncate = "longest_first";
  std::string demos;
  std::string demo_template;
  std::int64_t num_demos = 0;
  std::vector<std::int64_t> demo_ids;
  std::int64_t demo_seed = 0;
  bool demo_balanced = false;
  bool demo_resample = false;
  std::string demo_separator = "\n";
  bool calibrate = false;
  std::string content_free = "N/A";
  std::string soft_init = "vocab";
  std::string soft_init_text;

  template <class V>
  void visit(V&& v) {
    v("template", template_text,
      "Prompt template with {field}, {mask}, {soft:N} and {demos} slots (docs/prompts.md). "
      "Empty: the text field(s) as they are.",
      rules::none());
    v("verbalizer", verbalizer,
      "Label -> word or list of words for cloze and text-to-text tasks, e.g. "
      "{\"positive\": [\"great\"], \"negative\": [\"terrible\"]}.",
      rules::none());
    v("word_tokens", word_tokens,
      "Cloze: how a label word of several sub-tokens is scored at the {mask}: `first` (its "
      "first sub-token's logit), `mean` or `max` over its sub-tokens' logits, or `whole_word` "
      "(PET): {mask} becomes one mask token per sub-token of the longest word and a word "
      "scores the mean log-probability of its sub-tokens, the i-th at the i-th mask.",
      rules::one_of({"first", "mean", "max", "whole_word"}));
    v("label_words", label_words,
      "Cloze: how a label with several words is scored: the `mean` or the `max` of its words' "
      "scores.",
      rules::one_of({"mean", "max"}));
    v("truncate", truncate,
      "When the rendered prompt is too long: `longest_first` shortens the longest field slot "
      "token by token, or name one field to shorten only it. Literal text, {mask} and soft "
      "tokens are never cut.",
      rules::none());
    v("demos", demos, "JSONL file of demonstrations for the {demos} slot.", rules::path());
    v("demo_template", demo_template,
      "Template of one demonstration; its {mask} shows the demo's answer (the verbalizer's "
      "first word for its label). Add a rationale field for chain-of-thought exemplars.",
      rules::none());
    v("num_demos", num_demos, "Demonstrations per prompt, drawn by a seeded sampler.",
      rules::at_least(0));
    v("demo_ids", demo_ids, "Fixed 0-based demo indices (instead of sampling).", rules::none());
    v("demo_seed", demo_seed, "Seed of the demonstration sampler.", rules::at_least(0));
    v("demo_balanced", demo_balanced, "Draw the same number of demonstrations per label.",
      rules::none());
    v("demo_resample", demo_resample,
      "Draw demonstrations anew for every example (else one draw serves all).", rules::none());
    v("demo_separator", demo_separator, "Text after each demonstration.", rules::none());
    v("calibrate", calibrate,
      "Cloze: contextual calibration at evaluation; label probabilities are divided by those "
      "of a content-free input (every template field set to prompt.content_free).",
      rules::none());
    v("content_free", content_free, "The content-free text of contextual calibration.",
      rules::none());
    v("soft_init", soft_init,
      "Initial value of the template's {soft} tokens: `vocab` copies the word embeddings of "
      "token ids drawn uniformly (seeded by train.seed), `text` those of "
      "prompt.soft_init_text's tokens, repeated or cut to the number of soft tokens.",
      rules::one_of({"vocab", "text"}));
    v("soft_init_text", soft_init_text,
      "Text whose tokens (no special tokens) initialise the {soft} tokens when "
      "prompt.soft_init is `text`.",
      rules::none());
  }
};

struct TaskConfig {
  std::string type = "sequence_classification";
  std::vector<std::string> labels;

  template <class V>
  void visit(V&& v) {
    v("type", type, "What is learned and predicted.",
      rules::one_of(
          {"sequence_classification", "cloze", "text_to_text", "token_classification", "seq2seq"}));
    v("labels", labels,
      "Label names in class-index order. Empty: from the checkpoint's id2label, else the "
      "sorted labels of the training data.",
      rules::none());
  }
};

/// The `peft` section: `method` and each method's own keys (pft/peft/config.h).
using PeftConfig = peft::PeftConfig;

struct TrainConfig {
  std::string output_dir = "runs/default";
  double lr = 5e-5;
  std::int64_t batch_size = 16;
  std::int64_t epochs = 3;
  std::int64_t max_steps = 0;
  std::int64_t seed = 42;
  std::int64_t eval_every = 0;
  std::int64_t save_every = 0;
  std::int64_t log_every = 10;
  double weight_decay = 0.0;
  double loraplus_lr_ratio = 0.0;
  std::int64_t warmup_steps = 0;
  double warmup_ratio = 0.0;
  std::string lr_scheduler = "linear";
  std::int64_t grad_accum_steps = 1;
  double max_grad_norm = 1.0;
  std::int64_t keep_last = 2;
  std::int64_t early_stopping_patience = 0;
  std::string metric_for_best;
  bool greater_is_better = true;
  std::string precision = "auto";
  bool gradient_checkpointing = false;
  bool tensorboard = true;
  std::string distributed_backend = "auto";
  std::int64_t distributed_timeout = 300;

  template <class V>
  void visit(V&& v) {
    v("output_dir", output_dir,
      "Run directory (RUN_DIR); `--output` overrides it. A new run needs it empty or missing "
      "(`--overwrite` replaces an earlier run); one process at a time owns it.",
      rules::path());
    v("lr", lr, "Peak learning rate of AdamW.", rules::greater_than(0));
    v("batch_size", batch_size, "Examples per optimizer step (before accumulation).",
      rules::between(1, 1 << 20));
    v("epochs", epochs, "Passes over the training data (ignored when max_steps > 0).",
      rules::between(1, 1e6));
    v("max_steps", max_steps, "Stop after this many optimizer steps (0: run `epochs`).",
      rules::between(0, 1e12));
    v("seed", seed, "Seed for data order, dropout and initialisation.", rules::at_least(0));
    v("eval_every", eval_every, "Evaluate every N optimizer steps (0: at the end only).",
      rules::between(0, 1e12));
    v("save_every", save_every, "Checkpoint every N optimizer steps (0: at the end only).",
      rules::between(0, 1e12));
    v("log_every", log_every, "Log loss and learning rate every N steps.", rules::between(1, 1e12));
    v("weight_decay", weight_decay, "AdamW weight decay (never on biases and norms).",
      rules::at_least(0));
    v("loraplus_lr_ratio", loraplus_lr_ratio,
      "LoRA+: LoRA's B matrices and the one-dimensional trained tensors learn at lr times this "
      "ratio, in the parameter groups of PEFT's create_loraplus_optimizer (0: off; needs "
      "peft.method lora).",
      rules::at_least(0));
    v("warmup_steps", warmup_steps, "Linear warm-up steps of the schedule.",
      rules::between(0, 1e12));
    v("warmup_ratio", warmup_ratio,
      "Warm-up as a fraction of the total steps (used when warmup_steps is 0).",
      rules::between(0, 1));
    v("lr_scheduler", lr_scheduler, "Learning-rate schedule after warm-up.",
      rules::one_of({"constant", "linear", "cosine"}));
    v("grad_accum_steps", grad_accum_steps, "Batches accumulated per optimizer step.",
      rules::between(1, 1 << 20));
    v("max_grad_norm", max_grad_norm, "Clip gradients to this global norm (0: no clipping).",
      rules::at_least(0));
    v("keep_last", keep_last, "Checkpoints kept in RUN_DIR/checkpoints (older ones are removed).",
      rules::between(1, 1e6));
    v("early_stopping_patience", early_stopping_patience,
      "Stop after this many evaluations without improvement of metric_for_best (0: never).",
      rules::between(0, 1e6));
    v("metric_for_best", metric_for_best,
      "Evaluation metric that picks the best checkpoint (empty: the task's main metric, e.g. "
      "accuracy).",
      rules::none());
    v("greater_is_better", greater_is_better, "Whether a larger metric_for_best is better.",
      rules::none());
    v("precision", precision,
      "Training/evaluation arithmetic: fp32, or autocast with fp32 master weights in bf16 "
      "(CPU and CUDA) or fp16 (CUDA only, with dynamic loss scaling); `auto` is bf16 on CPUs "
      "with bf16 matrix units (AVX512_BF16 or AMX, detected at run time) and fp32 elsewhere "
      "(`pft eval` uses fp32 under auto).",
      rules::one_of({"auto", "fp32", "bf16", "fp16"}));
    v("gradient_checkpointing", gradient_checkpointing,
      "Recompute each layer's activations in the backward pass instead of storing them (BERT "
      "encoder; T5 encoder and decoder): less memory for about one more forward pass.",
      rules::none());
    v("tensorboard", tensorboard,
      "Also write RUN_DIR/tensorboard/events.out.tfevents.* (loss, learning rate, step time and "
      "every evaluation metric as TensorBoard scalars), readable by TensorBoard.",
      rules::none());
    v("distributed_backend", distributed_backend,
      "c10d backend when launched by torchrun (WORLD_SIZE > 1): gloo (CPU tensors) or nccl "
      "(CUDA, in builds against a CUDA LibTorch); auto picks nccl for --device cuda, else gloo.",
      rules::one_of({"auto", "gloo", "nccl"}));
    v("distributed_timeout", distributed_timeout,
      "Seconds a rank waits for the others (rendezvous, all-reduce) before failing, so that a "
      "dead rank ends the job.",
      rules::between(1, 1e7));
  }
};

struct EvalConfig {
  std::int64_t batch_size = 32;
  std::string predictions;
  std::string predict_by = "rank";

  template <class V>
  void visit(V&& v) {
    v("batch_size", batch_size, "Examples per evaluation batch.", rules::between(1, 1 << 20));
    v("predict_by", predict_by,
      "text_to_text: `rank` picks the label whose words the model finds most likely; "
      "`generate` generates text (generate.*) and matches it to the label words.",
      rules::one_of({"rank", "generate"}));
    v("predictions", predictions,
      "Where `pft eval` writes one JSON line per example; `--predictions` overrides it.",
      rules::path());
  }
};

struct GenerateConfig {
  std::int64_t max_new_tokens = 32;
  std::int64_t min_new_tokens = 0;
  std::int64_t num_beams = 1;
  double length_penalty = 1.0;
  bool early_stopping = false;
  std::int64_t no_repeat_ngram_size = 0;
  bool do_sample = false;
  double temperature = 1.0;
  std::int64_t top_k = 50;
  double top_p = 1.0;
  std::int64_t seed = 0;
  std::string compute_type = "auto";

  template <class V>
  void visit(V&& v) {
    v("max_new_tokens", max_new_tokens, "Most tokens generated per input.", rules::at_least(1));
    v("min_new_tokens", min_new_tokens, "EOS is blocked until this many tokens exist.",
      rules::at_least(0));
    v("num_beams", num_beams, "Beam width (1: greedy or sampling).", rules::at_least(1));
    v("length_penalty", length_penalty, "Beam scores are divided by length^length_penalty.",
      rules::none());
    v("early_stopping", early_stopping, "Beam search stops once num_beams hypotheses are finished.",
      rules::none());
    v("no_repeat_ngram_size", no_repeat_ngram_size,
      "Forbid repeating any n-gram of this size (0: off).", rules::at_least(0));
    v("do_sample", do_sample, "Sample instead of taking the most likely token.", rules::none());
    v("temperature", temperature, "Softmax temperature for sampling.", rules::greater_than(0));
    v("top_k", top_k, "Sample among the k most likely tokens (0: all).", rules::at_least(0));
    v("top_p", top_p, "Nucleus sampling mass.", rules::between(0, 1, true, false));
    v("seed", seed, "Seed of the sampler.", rules::at_least(0));
    v("compute_type", compute_type,
      "Weights of the decoder's products while decoding: float32, bfloat16, int8 (one scale "
      "per output channel) or auto (int8 on a CPU, float32 elsewhere).",
      rules::one_of({"auto", "float32", "bfloat16", "int8"}));
  }
};

struct RunConfig {
  ModelConfig model;
  TokenizerConfig tokenizer;
  DataConfig data;
  PromptConfig prompt;
  TaskConfig task;
  PeftConfig peft;
  TrainConfig train;
  EvalConfig eval;
  GenerateConfig generate;

  template <class V>
  void visit_sections(V&& v) {
    v("model", model, "The pretrained checkpoint.");
    v("tokenizer", tokenizer, "Tokenization of inputs.");
    v("data", data, "Where examples come from and which fields they use.");
    v("prompt", prompt, "How an example is rendered into model input.");
    v("task", task, "What the model learns and predicts.");
    v("peft", peft, "Which parameter-efficient method trains what.");
    v("train", train, "The training loop.");
    v("eval", eval, "Evaluation.");
    v("generate", generate, "Text generation (T5).");
  }
};

/// Which subcommand the config is for: decides the required keys.
enum class Purpose { Any, Train, Eval, Generate };

/// Reads `file` (may be empty: start from defaults), applies `overrides` ("a.b=value", in
/// order), checks every key and value, fills defaults and resolves paths. Throws
/// pft::Error (Config) listing every problem with its source and JSON path.
RunConfig load(const std::string& file, const std::vector<std::string>& overrides,
               Purpose purpose = Purpose::Any);

/// Builds a config from an in-memory JSON object; `source` names it in messages.
RunConfig from_json(const nlohmann::json& doc, const std::string& source,
                    Purpose purpose = Purpose::Any);

/// Applies one `key.path=value` override to `doc` in place. `value` is read as JSON when it
/// parses as JSON (numbers, true/false, arrays, objects, "quoted strings"), otherwise as a
/// plain string; for string keys the raw text is always taken.
void apply_override(nlohmann::json& doc, const std::string& assignment);

/// The resolved config, every key present, in declaration order.
nlohmann::ordered_json to_json(const RunConfig& config);

/// Parses a JSON file; malformed JSON and duplicate keys are errors naming file:line:col.
nlohmann::json parse_json_file(const std::string& path);
nlohmann::json parse_json_text(const std::string& text, const std::string& source);

/// The Markdown reference of every key (type, default, rule, meaning): docs/config.md.
std::string reference_markdown();

/// Every dotted key ("train.lr", ...), in declaration order.
std::vector<std::string> all_keys();

}  // namespace pft::config
