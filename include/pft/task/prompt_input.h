#pragma once
// Turning examples into prompt token ids for the prompt-based tasks (cloze, text_to_text,
// seq2seq): prompt.template (with prompt.demos) renders an example into pieces, the pieces are
// joined into one text (the {mask} slot becomes the tokenizer's mask text) and tokenized whole,
// and a prompt longer than tokenizer.max_length is shortened in its field text only, as
// prompt.truncate says (docs/prompts.md). Also label lookup and padding shared by the tasks.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pft/config/config.h"
#include "pft/data/jsonl.h"
#include "pft/model/hooks.h"
#include "pft/peft/method.h"
#include "pft/prompt/demos.h"
#include "pft/prompt/template.h"
#include "pft/prompt/verbalizer.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/util/error.h"
#include "pft/util/log.h"

namespace pft::task {

/// The text `pieces` stand for: text pieces as they are, the mask slot as `mask_text`, soft
/// slots as nothing.
std::string join_pieces(const std::vector<prompt::Piece>& pieces, const std::string& mask_text);

/// A tokenized prompt: its ids (special tokens included) and, for the template's {soft}
/// slots, the positions in `ids` their soft tokens take, all slots' tokens in template order.
/// A soft position holds a placeholder id (the tokenizer's pad id) that the task's forward
/// replaces by the soft token's vector (put_soft_tokens()).
struct EncodedPrompt {
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> soft_positions;
};

/// Tokenizes `pieces` (docs/prompts.md): the pieces are joined without their soft slots and
/// tokenized whole with special tokens, and each slot's soft tokens are inserted after the
/// last text token that starts before the slot's byte offset with something other than white
/// space (after [CLS] for a slot at the start, before [SEP] / </s> for one at the end):
/// without the soft positions, the ids are exactly the tokenizer's for the text. When ids and soft
/// tokens together are more than `max_length` (0: no limit), text that came from the example's
/// fields is shortened at its end, by whole tokens: `truncate` = "longest_first" takes one token at
/// a time from the field slot that is currently longest (the first of equals); a field name takes
/// tokens only from the slots of that field, the last slot first. Literal template text,
/// demonstrations, the mask slot and soft tokens are never cut. When the fields run out first, a
/// pft::Error (Input) names `source`.
EncodedPrompt encode_prompt(std::vector<prompt::Piece> pieces,
                            const tokenizer::Tokenizer& tokenizer, std::size_t max_length,
                            const std::string& truncate, const std::string& mask_text,
                            const prompt::Source& source);

/// The ids of encode_prompt() (soft positions holding the placeholder id).
std::vector<std::int64_t> encode_pieces(std::vector<prompt::Piece> pieces,
                                        const tokenizer::Tokenizer& tokenizer,
                                        std::size_t max_length, const std::string& truncate,
                                        const std::string& mask_text, const prompt::Source& source);

/// The template soft-token table (peft::kTemplateSoftTokens) of `model` (undefined when the
/// template has no {soft} slot). A template with soft slots and no table of `count` rows is a
/// pft::Error (Config).
torch::Tensor template_soft_tokens(torch::nn::Module& model, std::int64_t count);

/// `embeds` [batch, seq, hidden] with row b's positions `positions`[b] ([batch, soft]) set to
/// the rows of `table` [soft, hidden] in order (differentiable w.r.t. `table`). Returns
/// `embeds` unchanged when `positions` is undefined; soft positions without a table are a
/// pft::Error (Runtime).
torch::Tensor put_soft_tokens(const torch::Tensor& embeds, const torch::Tensor& table,
                              const torch::Tensor& positions);

/// The batch's "soft_positions" tensor, undefined when it has none.
torch::Tensor soft_positions_of(const std::map<std::string, torch::Tensor>& tensors);

/// Stacks each example's soft positions into a [rows, soft] tensor on `device` (undefined
/// when the examples have none); examples with differing counts are a pft::Error (Runtime).
torch::Tensor stack_soft_positions(const std::vector<const std::vector<std::int64_t>*>& rows,
                                   const torch::Device& device);

/// The first `n` tokens of `text` as text (a prefix of `text`, cut after the n-th token).
std::string first_tokens(const tokenizer::Tokenizer& tokenizer, const std::string& text,
                         std::size_t n);

/// What the {mask} slot becomes in text: BERT's "[MASK]"; T5's first sentinel
/// "<extra_id_0>" (when the vocabulary has it); else nothing.
std::string mask_text_of(const tokenizer::Tokenizer& tokenizer);

/// Renders and tokenizes examples for one run: prompt.template (empty: "{default_field}"),
/// demonstrations from prompt.demos for a {demos} slot, truncation to tokenizer.max_length.
class PromptEncoder {
 public:
  /// `verbalizer` (may be null) gives demonstrations their answers; it is copied.
  PromptEncoder(const config::RunConfig& config, const tokenizer::Tokenizer& tokenizer,
                const prompt::Verbalizer* verbalizer, const std::string& default_field);
  PromptEncoder(const PromptEncoder&) = delete;
  PromptEncoder& operator=(const PromptEncoder&) = delete;

  const prompt::Template& prompt_template() const { return template_; }
  const std::string& mask_text() const { return mask_text_; }
  /// Makes the {mask} slot stand for `count` mask tokens (PET's one mask per sub-token).
  void repeat_mask(std::size_t count);

  /// The rendered pieces of example `index` (its demonstrations depend on the index).
  std::vector<prompt::Piece> render(const nlohmann::json& example, const prompt::Source& source,
                                    std::size_t index) const;
  /// Token ids (special tokens included) and soft positions of example `index`, truncated.
  EncodedPrompt encode(const nlohmann::json& example, const prompt::Source& source,
                       std::size_t index) const;
  /// The content-free input of contextual calibration: every field of the template set to
  /// `text` (prompt.content_free), demonstrations as for example 0.
  EncodedPrompt encode_content_free(const std::string& text) const;

 private:
  const tokenizer::Tokenizer& tokenizer_;
  prompt::Template template_;
  std::string mask_text_;
  std::string one_mask_text_;
  std::size_t max_length_;
  std::string truncate_;
  std::optional<prompt::Verbalizer> verbalizer_;
  std::unique_ptr<prompt::DemoSet> demos_;
};

/// A verbalizer for `labels`: prompt.verbalizer, or each label's own name as its word.
prompt::Verbalizer make_verbalizer(const config::RunConfig& config,
                                   const std::vector<std::string>& labels);

/// Labels of a prompt-based classification run: task.labels, else the keys of
/// prompt.verbalizer, else the sorted labels of the training data.
std::vector<std::string> resolve_prompt_labels(const config::RunConfig& config);

/// The class index of `record`'s label field, -1 when the record has none; a label outside
/// `labels` is a pft::Error (Input) naming path:line.
std::int64_t label_index(const data::JsonlRecord& record, const std::string& field,
                         const std::vector<std::string>& labels, const std::string& path);

/// The training split (when `load_train`; every example must satisfy `complete`, else a
/// pft::Error (Input) names data.train, the example and `required_field`) and the evaluation
/// split (when data.eval is set), each read by `load(path, limit)`.
template <class Example, class Load, class Complete>
std::pair<std::vector<Example>, std::vector<Example>> load_splits(const config::RunConfig& c,
                                                                  bool load_train,
                                                                  const std::string& required_field,
                                                                  Load&& load,
                                                                  Complete&& complete) {
  std::pair<std::vector<Example>, std::vector<Example>> out;
  if (load_train) {
    out.first = load(c.data.train, static_cast<std::size_t>(c.data.max_train_examples));
    for (std::size_t i = 0; i < out.first.size(); ++i) {
      if (!complete(out.first[i])) {
        throw Error(ErrorKind::Input, c.data.train + ": example " + std::to_string(i + 1) +
                                          " has no '" + required_field + "' field");
      }
    }
  }
  if (!c.data.eval.empty()) {
    out.second = load(c.data.eval, static_cast<std::size_t>(c.data.max_eval_examples));
  }
  log::info("data: {} training and {} evaluation examples", out.first.size(), out.second.size());
  return out;
}

/// Token lengths (`ids`) of tokenized examples, for the batch planner.
template <class Example>
std::vector<std::int64_t> id_lengths(const std::vector<Example>& examples) {
  std::vector<std::int64_t> lengths;
  lengths.reserve(examples.size());
  for (const auto& e : examples) lengths.push_back(static_cast<std::int64_t>(e.ids.size()));
  return lengths;
}

/// Stacks rows of ids into [rows, width] tensors padded with `pad`, and their mask.
std::pair<torch::Tensor, torch::Tensor> pad_ids(
    const std::vector<const std::vector<std::int64_t>*>& rows, std::int64_t pad,
    const torch::Device& device);

}  // namespace pft::task
