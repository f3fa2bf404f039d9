#include "pft/model/family.h"

#include <algorithm>

#include "pft/io/checkpoint.h"
#include "pft/util/error.h"
#include "pft/util/json.h"
#include "pft/util/strings.h"

namespace pft::model {

namespace {

struct HeadNames {
  Head head;
  const char* name;
  const char* task_type;
};

constexpr HeadNames kHeads[] = {
    {Head::SequenceClassification, "sequence_classification", "SEQ_CLS"},
    {Head::TokenClassification, "token_classification", "TOKEN_CLS"},
    {Head::MaskedLM, "masked_lm", "FEATURE_EXTRACTION"},
    {Head::Seq2SeqLM, "seq2seq_lm", "SEQ_2_SEQ_LM"},
};

const HeadNames& names_of(Head head) {
  for (const auto& h : kHeads) {
    if (h.head == head) return h;
  }
  throw Error(ErrorKind::Runtime, "unknown model head");
}

}  // namespace

std::string head_name(Head head) { return names_of(head).name; }

std::string peft_task_type(Head head) { return names_of(head).task_type; }

const Head* head_of_task_type(const std::string& task_type) {
  for (const auto& h : kHeads) {
    if (task_type == h.task_type) return &h.head;
  }
  return nullptr;
}

std::vector<std::string> ModelInfo::default_targets(const std::string& key) const {
  const auto it = peft_targets.find(key);
  return it == peft_targets.end() ? std::vector<std::string>{} : it->second;
}

std::string FamilyDescriptor::head_names() const {
  std::vector<std::string> names;
  for (const auto& [head, load] : heads) names.push_back(head_name(head));
  return join(names, ", ");
}

void FamilyRegistry::add(FamilyDescriptor family) {
  if (find(family.model_type) != nullptr) {
    throw Error(ErrorKind::Runtime, "model family '" + family.model_type + "' registered twice");
  }
  families_.push_back(std::move(family));
}

const FamilyDescriptor* FamilyRegistry::find(const std::string& model_type) const {
  for (const auto& f : families_) {
    if (f.model_type == model_type) return &f;
  }
  return nullptr;
}

const FamilyDescriptor& FamilyRegistry::at(const std::string& model_type,
                                           const std::string& source) const {
  if (const auto* f = find(model_type)) return *f;
  throw Error(ErrorKind::Config,
              source + ": model_type '" + model_type + "' is not supported (pft runs " +
                  join_alternatives(model_types()) + "); set model.type to override");
}

std::vector<std::string> FamilyRegistry::model_types() const {
  std::vector<std::string> out;
  for (const auto& f : families_) out.push_back(f.model_type);
  return out;
}

std::string read_model_type(const std::string& dir) {
  const auto doc = io::read_model_config(dir);
  std::string type;
  JsonKeys(doc, dir + "/config.json").string("model_type", type);
  return type;
}

std::vector<std::string> checkpoint_labels(const FamilyDescriptor& family, Head head,
                                           const std::string& dir) {
  const auto modules = family.new_head_modules.find(head);
  if (modules == family.new_head_modules.end() || modules->second.empty()) return {};
  const auto state = io::read_state_dict(dir);
  const bool trained = std::any_of(state.tensors.begin(), state.tensors.end(), [&](const auto& t) {
    return std::any_of(modules->second.begin(), modules->second.end(),
                       [&](const std::string& m) { return is_path_under(t.first, m); });
  });
  if (!trained) return {};
  const auto doc = io::read_model_config(dir);
  const JsonKeys keys(doc, dir + "/config.json");
  if (auto names = keys.id2label()) return *names;
  std::int64_t count = 2;  // transformers' default num_labels
  keys.integer("num_labels", count);
  std::vector<std::string> names;
  for (std::int64_t i = 0; i < count; ++i) names.push_back("LABEL_" + std::to_string(i));
  return names;
}

}  // namespace pft::model
