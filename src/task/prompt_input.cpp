#include "pft/task/prompt_input.h"
#include "pft/data/records.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "pft/data/batcher.h"
#include "pft/util/error.h"
#include "pft/util/strings.h"

namespace pft::task {

std::string join_pieces(const std::vector<prompt::Piece>& pieces, const std::string& mask_text) {
  std::string text;
  for (const auto& p : pieces) {
    if (p.kind == prompt::Piece::Kind::Text) text += p.text;
    if (p.kind == prompt::Piece::Kind::Mask) text += mask_text;
  }
  return text;
}

std::string first_tokens(const tokenizer::Tokenizer& tokenizer, const std::string& text,
                         std::size_t n) {
  if (n == 0) return {};
  tokenizer::EncodeOptions o;
  o.add_special_tokens = false;
  const auto enc = tokenizer.encode(text, o);
  if (n >= enc.ids.size()) return text;
  // Up to the end of the last kept token, but never into the first dropped one: tokenizers'
  // Metaspace gives a lone "▁" the offsets of the character after it ("▁" and "?" both
  // cover "?"), so that character goes with the dropped token.
  return text.substr(0, std::min(enc.offsets[n - 1].second, enc.offsets[n].first));
}

namespace {

/// A soft slot in the joined text: its byte offset and number of tokens.
struct SoftSlot {
  std::size_t offset = 0;
  std::int64_t count = 0;
};

std::vector<SoftSlot> soft_slots(const std::vector<prompt::Piece>& pieces,
                                 const std::string& mask_text) {
  std::vector<SoftSlot> slots;
  std::size_t offset = 0;
  for (const auto& p : pieces) {
    if (p.kind == prompt::Piece::Kind::Text) offset += p.text.size();
    if (p.kind == prompt::Piece::Kind::Mask) offset += mask_text.size();
    if (p.kind == prompt::Piece::Kind::Soft) slots.push_back({offset, p.count});
  }
  return slots;
}

/// The number of special tokens the tokenizer puts before the text ([CLS]: 1, T5: 0).
std::size_t special_prefix(const tokenizer::Tokenizer& tokenizer, const tokenizer::Encoding& enc) {
  for (std::size_t i = 0; i < enc.sequence_ids.size(); ++i) {
    if (enc.sequence_ids[i] == 0) return i;
  }
  // No text token (empty text): ask with a one-letter text where the text starts.
  const auto probe = tokenizer.encode("a");
  for (std::size_t i = 0; i < probe.sequence_ids.size(); ++i) {
    if (probe.sequence_ids[i] == 0) return i;
  }
  return 0;
}

/// Whether text[begin, end) holds something other than white space.
bool has_text(const std::string& text, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end && i < text.size(); ++i) {
    if (std::isspace(static_cast<unsigned char>(text[i])) == 0) return true;
  }
  return false;
}

/// `enc` (of `text`) with each slot's placeholders inserted after the last text token that
/// starts before the slot's offset with something other than white space (a SentencePiece
/// "▁" token of the spaces around a slot goes after it, with the word it starts).
EncodedPrompt insert_soft(const tokenizer::Tokenizer& tokenizer, const std::string& text,
                          const tokenizer::Encoding& enc, const std::vector<SoftSlot>& slots) {
  EncodedPrompt out;
  if (slots.empty()) {
    out.ids = enc.ids;
    return out;
  }
  const auto placeholder = tokenizer.pad_id();
  std::size_t at = special_prefix(tokenizer, enc);
  std::size_t copied = 0;
  for (const auto& slot : slots) {
    // After the last token with text before the slot; white space (and SentencePiece's empty
    // leading "▁") between it and the slot goes after the slot.
    for (std::size_t i = at;
         i < enc.ids.size() && enc.sequence_ids[i] == 0 && enc.offsets[i].first < slot.offset;
         ++i) {
      if (has_text(text, enc.offsets[i].first, std::min(enc.offsets[i].second, slot.offset))) {
        at = i + 1;
      }
    }
    out.ids.insert(out.ids.end(), enc.ids.begin() + static_cast<std::ptrdiff_t>(copied),
                   enc.ids.begin() + static_cast<std::ptrdiff_t>(at));
    copied = at;
    for (std::int64_t k = 0; k < slot.count; ++k) {
      out.soft_positions.push_back(static_cast<std::int64_t>(out.ids.size()));
      out.ids.push_back(placeholder);
    }
  }
  out.ids.insert(out.ids.end(), enc.ids.begin() + static_cast<std::ptrdiff_t>(copied),
                 enc.ids.end());
  return out;
}

}  // namespace

EncodedPrompt encode_prompt(std::vector<prompt::Piece> pieces,
                            const tokenizer::Tokenizer& tokenizer, std::size_t max_length,
                            const std::string& truncate, const std::string& mask_text,
                            const prompt::Source& source) {
  std::size_t soft = 0;
  for (const auto& p : pieces) {
    if (p.kind == prompt::Piece::Kind::Soft) soft += static_cast<std::size_t>(p.count);
  }
  const bool longest = truncate == "longest_first";
  std::size_t previous_total = static_cast<std::size_t>(-1);
  for (;;) {
    const auto text = join_pieces(pieces, mask_text);
    const auto enc = tokenizer.encode(text);
    const std::size_t length = enc.ids.size() + soft;
    if (max_length == 0 || length <= max_length) {
      return insert_soft(tokenizer, text, enc, soft_slots(pieces, mask_text));
    }
    const std::size_t excess = length - max_length;
    std::vector<std::size_t> slots, counts;
    std::size_t total = 0;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      const auto& p = pieces[i];
      if (p.kind != prompt::Piece::Kind::Text || !p.truncatable) continue;
      if (!longest && p.field != truncate) continue;
      slots.push_back(i);
      counts.push_back(tokenizer.tokenize_ids(p.text).size());
      total += counts.back();
    }
    // Every round removes at least one field token, so this ends; joining text can merge
    // tokens, hence the rounds.
    if (total == 0 || total >= previous_total) {
      std::string what = longest ? std::string("its field text") : std::string("field '");
      if (!longest) what += truncate + "' (prompt.truncate)";
      throw Error(ErrorKind::Input,
                  source.describe() + ": the prompt has " + std::to_string(length) +
                      " tokens, more than tokenizer.max_length " + std::to_string(max_length) +
                      ", and " + what +
                      " cannot be shortened further (literal template text, demonstrations, "
                      "the mask slot and soft tokens are never cut)",
                  "raise tokenizer.max_length or shorten the template");
    }
    previous_total = total;
    auto target = counts;
    for (std::size_t k = 0; k < excess; ++k) {
      std::size_t pick = target.size();
      if (longest) {
        for (std::size_t j = 0; j < target.size(); ++j) {
          if (target[j] > 0 && (pick == target.size() || target[j] > target[pick])) pick = j;
        }
      } else {
        for (std::size_t j = target.size(); j-- > 0;) {
          if (target[j] > 0) {
            pick = j;
            break;
          }
        }
      }
      if (pick == target.size()) break;
      --target[pick];
    }
    for (std::size_t j = 0; j < slots.size(); ++j) {
      if (target[j] < counts[j]) {
        auto& text = pieces[slots[j]].text;
        text = first_tokens(tokenizer, text, target[j]);
      }
    }
  }
}

std::vector<std::int64_t> encode_pieces(std::vector<prompt::Piece> pieces,
                                        const tokenizer::Tokenizer& tokenizer,
                                        std::size_t max_length, const std::string& truncate,
                                        const std::string& mask_text,
                                        const prompt::Source& source) {
  return encode_prompt(std::move(pieces), tokenizer, max_length, truncate, mask_text, source).ids;
}

torch::Tensor template_soft_tokens(torch::nn::Module& model, std::int64_t count) {
  if (count == 0) return {};
  const auto params = model.named_parameters(/*recurse=*/false);
  const auto* table = params.find(peft::kTemplateSoftTokens);
  if (table == nullptr || table->dim() != 2 || table->size(0) != count) {
    std::string message = "prompt.template: its {soft} slots need a table of ";
    message +=
        std::to_string(count) + " soft tokens (" + peft::kTemplateSoftTokens + "), the model has ";
    message += table == nullptr ? std::string("none") : c10::str(table->sizes());
    throw Error(ErrorKind::Config, message);
  }
  return *table;
}

torch::Tensor put_soft_tokens(const torch::Tensor& embeds, const torch::Tensor& table,
                              const torch::Tensor& positions) {
  if (!positions.defined()) return embeds;
  if (!table.defined()) {
    throw Error(ErrorKind::Runtime,
                "the batch has soft positions but the task has no template soft tokens");
  }
  const auto rows = positions.size(0);
  const auto soft = positions.size(1);
  const auto hidden = embeds.size(2);
  const auto index = positions.to(embeds.device()).unsqueeze(-1).expand({rows, soft, hidden});
  const auto values =
      table.to(embeds.device(), embeds.scalar_type()).unsqueeze(0).expand({rows, soft, hidden});
  return embeds.scatter(1, index, values);
}

torch::Tensor soft_positions_of(const std::map<std::string, torch::Tensor>& tensors) {
  const auto it = tensors.find("soft_positions");
  return it == tensors.end() ? torch::Tensor() : it->second;
}

torch::Tensor stack_soft_positions(const std::vector<const std::vector<std::int64_t>*>& rows,
                                   const torch::Device& device) {
  if (rows.empty() || rows.front()->empty()) return {};
  const auto width = rows.front()->size();
  std::vector<std::int64_t> flat;
  flat.reserve(rows.size() * width);
  for (const auto* r : rows) {
    if (r->size() != width) {
      throw Error(ErrorKind::Runtime, "prompts of one batch have different numbers of soft tokens");
    }
    flat.insert(flat.end(), r->begin(), r->end());
  }
  const auto opts = torch::TensorOptions().dtype(torch::kInt64);
  return torch::tensor(flat, opts)
      .view({static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(width)})
      .to(device);
}

std::string mask_text_of(const tokenizer::Tokenizer& tokenizer) {
  if (const auto id = tokenizer.mask_id()) return tokenizer.id_to_token(*id);
  if (tokenizer.token_to_id("<extra_id_0>") >= 0) return "<extra_id_0>";
  return {};
}

namespace {

prompt::Template template_of(const config::RunConfig& c, const std::string& default_field) {
  if (!c.prompt.template_text.empty())
    return prompt::Template(c.prompt.template_text, "prompt.template");
  std::string text = "{";
  text += default_field;
  text += "}";
  return prompt::Template(text, "the default template");
}

}  // namespace

PromptEncoder::PromptEncoder(const config::RunConfig& c, const tokenizer::Tokenizer& tokenizer,
                             const prompt::Verbalizer* verbalizer, const std::string& default_field)
    : tokenizer_(tokenizer),
      template_(template_of(c, default_field)),
      mask_text_(mask_text_of(tokenizer)),
      one_mask_text_(mask_text_),
      max_length_(static_cast<std::size_t>(c.tokenizer.max_length)),
      truncate_(c.prompt.truncate) {
  if (truncate_ != "longest_first") {
    const auto fields = template_.fields();
    if (std::find(fields.begin(), fields.end(), truncate_) == fields.end()) {
      throw Error(ErrorKind::Config, "prompt.truncate: '" + truncate_ +
                                         "' is neither longest_first nor a field of the template "
                                         "(its fields: " +
                                         join_alternatives(fields) + ")");
    }
  }
  if (verbalizer != nullptr) verbalizer_.emplace(*verbalizer);
  if (template_.has_demos()) {
    if (c.prompt.demos.empty() || c.prompt.demo_template.empty()) {
      throw Error(ErrorKind::Config,
                  "prompt.demos: the template has a {demos} slot; prompt.demos and "
                  "prompt.demo_template say where the demonstrations come from and how they read");
    }
    std::vector<nlohmann::json> examples;
    std::vector<prompt::Source> sources;
    for (auto& r : data::read_records(c.prompt.demos, "auto")) {
      // A demonstration's label may be an index into the labels, as a training example's is.
      const auto label = r.value.find(c.data.label_field);
      if (verbalizer_ && label != r.value.end() && !label->is_null()) {
        *label = data::label_value(r, c.data.label_field, verbalizer_->labels(), c.prompt.demos);
      }
      examples.push_back(std::move(r.value));
      sources.push_back({c.prompt.demos, r.line});
    }
    prompt::DemoOptions o;
    o.template_text = c.prompt.demo_template;
    o.num = c.prompt.num_demos;
    o.ids = c.prompt.demo_ids;
    o.seed = static_cast<std::uint64_t>(c.prompt.demo_seed);
    o.balanced = c.prompt.demo_balanced;
    o.resample = c.prompt.demo_resample;
    o.separator = c.prompt.demo_separator;
    o.label_field = c.data.label_field;
    demos_ = std::make_unique<prompt::DemoSet>(std::move(examples), std::move(sources),
                                               std::move(o), verbalizer_ ? &*verbalizer_ : nullptr);
  }
}

void PromptEncoder::repeat_mask(std::size_t count) {
  mask_text_.clear();
  for (std::size_t i = 0; i < count; ++i) mask_text_ += one_mask_text_;
}

std::vector<prompt::Piece> PromptEncoder::render(const nlohmann::json& example,
                                                 const prompt::Source& source,
                                                 std::size_t index) const {
  return template_.render(example, source, demos_ ? demos_->render_for(index) : std::string());
}

EncodedPrompt PromptEncoder::encode(const nlohmann::json& example, const prompt::Source& source,
                                    std::size_t index) const {
  return encode_prompt(render(example, source, index), tokenizer_, max_length_, truncate_,
                       mask_text_, source);
}

EncodedPrompt PromptEncoder::encode_content_free(const std::string& text) const {
  nlohmann::json example = nlohmann::json::object();
  for (const auto& field : template_.fields()) {
    // Dotted paths become nested objects, so that lookups find the text.
    auto* node = &example;
    for (const auto& step : split(field, '.')) node = &(*node)[step];
    *node = text;
  }
  return encode(example, {"the content-free input", 0}, 0);
}

prompt::Verbalizer make_verbalizer(const config::RunConfig& c,
                                   const std::vector<std::string>& labels) {
  if (!c.prompt.verbalizer.empty()) return prompt::Verbalizer(c.prompt.verbalizer, labels);
  std::map<std::string, std::vector<std::string>> words;
  for (const auto& label : labels) words[label] = {label};
  return prompt::Verbalizer(words, labels);
}

std::vector<std::string> resolve_prompt_labels(const config::RunConfig& c) {
  if (!c.task.labels.empty()) return c.task.labels;
  if (!c.prompt.verbalizer.empty()) {
    std::vector<std::string> labels;
    for (const auto& [label, words] : c.prompt.verbalizer) labels.push_back(label);
    return labels;
  }
  if (c.data.train.empty()) {
    throw Error(ErrorKind::Config,
                "task.labels: empty, and there is neither a prompt.verbalizer nor a data.train "
                "to take the labels from; list them in task.labels");
  }
  std::set<std::string> seen;
  for (const auto& r : data::read_records(c.data.train, c.data.format)) {
    seen.insert(data::label_value(r, c.data.label_field, {}, c.data.train));
  }
  return {seen.begin(), seen.end()};
}

std::int64_t label_index(const data::JsonlRecord& record, const std::string& field,
                         const std::vector<std::string>& labels, const std::string& path) {
  if (!record.value.contains(field) || record.value[field].is_null()) return -1;
  const auto label = data::label_value(record, field, labels, path);
  const auto it = std::find(labels.begin(), labels.end(), label);
  if (it == labels.end()) {
    throw Error(ErrorKind::Input, path + ":" + std::to_string(record.line) + ": label '" + label +
                                      "' is not one of the task's labels (" +
                                      join_alternatives(labels) + ")");
  }
  return it - labels.begin();
}

std::pair<torch::Tensor, torch::Tensor> pad_ids(
    const std::vector<const std::vector<std::int64_t>*>& rows, std::int64_t pad,
    const torch::Device& device) {
  const auto p = data::pad_rows(rows, pad);
  const auto opts = torch::TensorOptions().dtype(torch::kInt64);
  return {torch::tensor(p.values, opts).view({p.rows, p.width}).to(device),
          torch::tensor(p.mask, opts).view({p.rows, p.width}).to(device)};
}

}  // namespace pft::task
