#include "pft/app/export.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>

#include "pft/io/checkpoint.h"
#include "pft/io/safetensors.h"
#include "pft/model/interfaces.h"
#include "pft/model/registry.h"
#include "pft/peft/registry.h"
#include "pft/util/error.h"
#include "pft/util/file_lock.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"
#include "pft/util/strings.h"

namespace fs = std::filesystem;

namespace pft::app {

namespace {

// A few fixed inputs with padding, to compare the merged model with the unmerged one.
struct CheckInputs {
  torch::Tensor input_ids, attention_mask, decoder_input_ids, decoder_attention_mask;
};

torch::Tensor padded_ids(std::int64_t vocab, std::int64_t first_id,
                         const std::vector<std::int64_t>& lengths, std::int64_t pad,
                         torch::Tensor& mask) {
  const auto batch = static_cast<std::int64_t>(lengths.size());
  const auto len = *std::max_element(lengths.begin(), lengths.end());
  auto ids = torch::randint(first_id, vocab, {batch, len}, torch::kLong);
  mask = torch::zeros({batch, len}, torch::kLong);
  for (std::int64_t i = 0; i < batch; ++i) {
    mask[i].narrow(0, 0, lengths[static_cast<std::size_t>(i)]).fill_(1);
    ids[i]
        .narrow(0, lengths[static_cast<std::size_t>(i)], len - lengths[static_cast<std::size_t>(i)])
        .fill_(pad);
  }
  return ids;
}

nlohmann::json to_nested(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kCPU, torch::kDouble).contiguous();
  if (c.dim() == 1) {
    const auto* p = c.data_ptr<double>();
    return std::vector<double>(p, p + c.numel());
  }
  nlohmann::json out = nlohmann::json::array();
  for (std::int64_t i = 0; i < c.size(0); ++i) out.push_back(to_nested(c[i]));
  return out;
}

bool is_weight_file(const std::string& name) {
  for (const char* ext : {".safetensors", ".bin", ".safetensors.index.json", ".bin.index.json",
                          ".pt", ".h5", ".msgpack"}) {
    const std::string e(ext);
    if (name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0)
      return true;
  }
  return false;
}

}  // namespace

namespace {

/// The head an adapter was trained with (its task_type), when the family has it; else the
/// family's first head.
model::Head export_head(const model::FamilyDescriptor& family, const nlohmann::json& adapter) {
  const auto task_type = adapter.value("task_type", std::string());
  if (const auto* head = model::head_of_task_type(task_type);
      head != nullptr && family.has(*head)) {
    return *head;
  }
  return family.heads.begin()->first;
}

/// Fixed padded check inputs and the logits function of `loaded`, whatever its interface.
std::function<torch::Tensor()> check_logits(const model::LoadedModel& loaded, CheckInputs& in,
                                            const torch::Device& device) {
  const auto vocab = loaded.info.vocab_size;
  if (auto* lm = loaded.as<model::EncoderDecoderLM>()) {
    const auto special = lm->special_tokens();
    in.input_ids = padded_ids(vocab, 2, {10, 7, 4}, special.pad, in.attention_mask).to(device);
    in.decoder_input_ids =
        padded_ids(vocab, 2, {6, 4, 3}, special.pad, in.decoder_attention_mask).to(device);
    in.decoder_input_ids.select(1, 0).fill_(special.decoder_start);
    in.attention_mask = in.attention_mask.to(device);
    in.decoder_attention_mask = in.decoder_attention_mask.to(device);
    return [lm, &in] {
      return lm->logits({lm->embed(in.input_ids), in.attention_mask, {}, nullptr},
                        lm->embed(in.decoder_input_ids), in.decoder_attention_mask);
    };
  }
  // Real ids from 5 up, other than the padding id (RoBERTa's positions count from it).
  const auto pad = loaded.info.pad_token_id;
  in.input_ids = padded_ids(vocab, 5, {12, 9, 5}, pad, in.attention_mask);
  in.input_ids.masked_fill_(in.input_ids.eq(pad) & in.attention_mask.ne(0), 5 == pad ? 6 : 5);
  in.input_ids = in.input_ids.to(device);
  in.attention_mask = in.attention_mask.to(device);
  if (auto* m = loaded.as<model::SequenceClassifier>()) {
    return [m, &in] {
      return m->classify({m->embed(in.input_ids), in.attention_mask, {}, nullptr});
    };
  }
  if (auto* m = loaded.as<model::TokenClassifier>()) {
    return [m, &in] {
      return m->classify_tokens({m->embed(in.input_ids), in.attention_mask, {}, nullptr});
    };
  }
  if (auto* m = loaded.as<model::MaskedLM>()) {
    return [m, &in] {
      return m->predict(m->encode({m->embed(in.input_ids), in.attention_mask, {}, nullptr}));
    };
  }
  throw Error(ErrorKind::Runtime, "export: the model offers no interface to check");
}

}  // namespace

ExportResult export_merged(const ExportOptions& options) {
  ExportOptions o = options;
  // "OUT/" names the folder OUT: the lock and the temporary folder are its siblings.
  o.output_dir = fs::path(options.output_dir).lexically_normal().string();
  while (o.output_dir.size() > 1 && o.output_dir.back() == '/') o.output_dir.pop_back();
  const fs::path out(o.output_dir);
  if (out.filename().empty() || out.filename() == "." || out.filename() == "..") {
    throw Error(ErrorKind::Usage, "--output " + options.output_dir + ": name the new folder");
  }
  // One export at a time into one folder: the lock beside it goes when the export ends.
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  const auto lock =
      FileLock::acquire((out.parent_path() / ("." + out.filename().string() + ".lock")).string(),
                        "--output " + o.output_dir, /*remove_on_release=*/true);
  ExportResult result;
  result.output_dir = o.output_dir;
  if (fs::exists(o.output_dir) && !(fs::is_directory(o.output_dir) && fs::is_empty(o.output_dir))) {
    throw Error(ErrorKind::Usage,
                "--output " + o.output_dir + ": exists and is not empty; choose a new folder");
  }
  const auto registry = model::builtin_families();
  const auto& family =
      registry.at(model::read_model_type(o.model_dir), o.model_dir + "/config.json");
  result.model_type = family.model_type;
  auto method = peft::method_from_adapter(o.adapter_dir);
  if (!method) {
    throw Error(ErrorKind::Input, o.adapter_dir +
                                      ": holds only a template's soft tokens, no PEFT adapter "
                                      "to merge");
  }
  result.peft_type = method->peft_type();
  const bool weights_in_place = method->trains_base_weights();
  if (!method->can_merge() && !weights_in_place) {
    throw Error(ErrorKind::Input,
                o.adapter_dir + ": a " + result.peft_type +
                    " adapter cannot be merged into the base weights (it adds computation, "
                    "not a weight update); use it with `pft eval --adapter`");
  }
  model::LoadRequest request;
  request.path = o.model_dir;
  request.head = export_head(family, peft::read_adapter_config(o.adapter_dir));
  request.device = o.device;
  const auto loaded = family.heads.at(request.head)(request);
  result.head = model::head_name(request.head);
  const auto& info = loaded.info;
  auto adapted = peft::attach_method(loaded.module, std::move(method), info);
  adapted.model->eval();
  // The base weights before the adapter touches them (BitFit and full replace them in place).
  std::map<std::string, torch::Tensor> base;
  std::set<std::string> own;
  for (const auto& [name, t] : adapted.method->parameters()) own.insert(name);
  for (const auto& p : adapted.model->named_parameters()) {
    bool saved = false;
    for (const auto& m : info.modules_to_save) saved = saved || is_path_under(p.key(), m);
    if (!saved && own.count(p.key()) == 0) base[p.key()] = p.value().detach().clone();
  }
  peft::load_adapter(adapted, o.adapter_dir);

  torch::manual_seed(20240601);
  CheckInputs in;
  torch::NoGradGuard no_grad;
  const auto logits = check_logits(loaded, in, o.device);
  const auto unmerged = logits();
  if (weights_in_place) {
    for (const auto& p : adapted.model->named_parameters()) {
      const auto it = base.find(p.key());
      if (it == base.end()) continue;
      result.weight_change =
          std::max(result.weight_change, (p.value() - it->second).abs().max().item<double>());
    }
  } else {
    result.weight_change = adapted.method->merge();
  }
  if (!(result.weight_change > 0)) {
    throw Error(ErrorKind::Input,
                o.adapter_dir + ": merging this " + result.peft_type +
                    " adapter changes no base weight (e.g. LoRA B is still zero, IA3 vectors are "
                    "ones): the export would equal the base model; refusing");
  }
  const auto merged = logits();
  result.max_logit_diff = (merged - unmerged).abs().max().item<double>();
  if (!o.check_file.empty()) {
    nlohmann::json check;
    check["model_type"] = result.model_type;
    check["head"] = result.head;
    check["input_ids"] = to_nested(in.input_ids);
    check["attention_mask"] = to_nested(in.attention_mask);
    if (in.decoder_input_ids.defined()) {
      check["decoder_input_ids"] = to_nested(in.decoder_input_ids);
      check["decoder_attention_mask"] = to_nested(in.decoder_attention_mask);
    }
    check["unmerged_logits"] = to_nested(unmerged);
    check["merged_logits"] = to_nested(merged);
    write_file_atomic(o.check_file, check.dump() + "\n");
  }
  if (!(result.max_logit_diff <= o.tolerance)) {
    throw Error(ErrorKind::Runtime, "merged and unmerged logits differ by " +
                                        std::to_string(result.max_logit_diff) + " (more than " +
                                        std::to_string(o.tolerance) + "); nothing written");
  }

  // Everything but the method's own tensors, under the base model's (Hugging Face's) names.
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& p : adapted.model->named_parameters()) {
    if (own.count(p.key()) == 0)
      tensors[p.key()] = p.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
  }
  result.tensors = static_cast<std::int64_t>(tensors.size());
  const fs::path temp =
      out.parent_path() / (out.filename().string() + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(temp);
  fs::create_directories(temp);
  try {
    for (const auto& e : fs::directory_iterator(o.model_dir)) {
      if (!e.is_regular_file() || is_weight_file(e.path().filename().string())) continue;
      fs::copy_file(e.path(), temp / e.path().filename());
    }
    io::save_safetensors((temp / "model.safetensors").string(), tensors, {{"format", "pt"}});
    if (fs::exists(out)) fs::remove(out);  // an empty folder (checked above)
    fs::rename(temp, out);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(temp, ec);
    throw;
  }
  log::info("exported {} merged into {} ({} tensors) to {}", o.adapter_dir, o.model_dir,
            result.tensors, o.output_dir);
  return result;
}

}  // namespace pft::app
