#include "pft/task/prompt_input.h"

#include <algorithm>
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
  return text.substr(0, enc.offsets[n - 1].second);
}

std::vector<std::int64_t> encode_pieces(std::vector<prompt::Piece> pieces,
                                        const tokenizer::Tokenizer& tokenizer,
                                        std::size_t max_length, const std::string& truncate,
                                        const std::string& mask_text,
                                        const prompt::Source& source) {
  for (const auto& p : pieces) {
    if (p.kind == prompt::Piece::Kind::Soft) {
      throw Error(ErrorKind::Config,
                  "prompt.template: {soft} slots are not available to this task (prompt "
                  "tuning and p-tuning add trainable virtual tokens through peft.method)");
    }
  }
  const bool longest = truncate == "longest_first";
  std::size_t previous_total = static_cast<std::size_t>(-1);
  for (;;) {
    auto ids = tokenizer.encode(join_pieces(pieces, mask_text)).ids;
    if (max_length == 0 || ids.size() <= max_length) return ids;
    const std::size_t excess = ids.size() - max_length;
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
                  source.describe() + ": the prompt has " + std::to_string(ids.size()) +
                      " tokens, more than tokenizer.max_length " + std::to_string(max_length) +
                      ", and " + what +
                      " cannot be shortened further (literal template text, demonstrations and "
                      "the mask slot are never cut)",
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
      max_length_(static_cast<std::size_t>(c.tokenizer.max_length)),
      truncate_(c.prompt.truncate) {
  if (template_.soft_token_count() > 0) {
    throw Error(ErrorKind::Config,
                "prompt.template: {soft} slots are not available to this task (prompt tuning "
                "and p-tuning add trainable virtual tokens through peft.method)");
  }
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
    for (auto& r : data::read_jsonl(c.prompt.demos)) {
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

std::vector<prompt::Piece> PromptEncoder::render(const nlohmann::json& example,
                                                 const prompt::Source& source,
                                                 std::size_t index) const {
  return template_.render(example, source, demos_ ? demos_->render_for(index) : std::string());
}

std::vector<std::int64_t> PromptEncoder::encode(const nlohmann::json& example,
                                                const prompt::Source& source,
                                                std::size_t index) const {
  return encode_pieces(render(example, source, index), tokenizer_, max_length_, truncate_,
                       mask_text_, source);
}

std::vector<std::int64_t> PromptEncoder::encode_content_free(const std::string& text) const {
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
  for (const auto& r : data::read_jsonl(c.data.train)) {
    seen.insert(data::string_field(r, c.data.label_field, c.data.train));
  }
  return {seen.begin(), seen.end()};
}

std::int64_t label_index(const data::JsonlRecord& record, const std::string& field,
                         const std::vector<std::string>& labels, const std::string& path) {
  if (!record.value.contains(field)) return -1;
  const auto label = data::string_field(record, field, path);
  const auto it = std::find(labels.begin(), labels.end(), label);
  if (it == labels.end()) {
    throw Error(ErrorKind::Input, path + ":" + std::to_string(record.line) + ": label '" + label +
                                      "' is not one of the task's labels (" +
                                      join_alternatives(labels) + ")");
  }
  return it - labels.begin();
}

HookedInputs apply_input_hooks(peft::PeftMethod* method, torch::Tensor embeds, torch::Tensor mask,
                               torch::Tensor types) {
  HookedInputs h{std::move(embeds), std::move(mask), std::move(types), std::nullopt, 0};
  if (method == nullptr) return h;
  if (const auto n = method->num_virtual_tokens(); n > 0) {
    h.embeds = method->prepend_virtual_tokens(h.embeds);
    h.mask = torch::cat({torch::ones({h.mask.size(0), n}, h.mask.options()), h.mask}, 1);
    if (h.types.defined()) {
      h.types = torch::cat({torch::zeros({h.types.size(0), n}, h.types.options()), h.types}, 1);
    }
    h.virtual_tokens = n;
  }
  h.prefixes = method->prefixes(h.embeds.size(0), h.embeds.device());
  return h;
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
