#include "pft/io/checkpoint.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "pft/io/safetensors.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"

namespace fs = std::filesystem;

namespace pft::io {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string join_path(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

/// JSON of `path`; a syntax error names the line and column.
nlohmann::json parse_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    const std::size_t upto = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < upto; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw Error(ErrorKind::Input, path + ":" + std::to_string(line) + ":" + std::to_string(column) +
                                      ": invalid JSON: " + e.what());
  } catch (const nlohmann::json::out_of_range& e) {
    throw Error(ErrorKind::Input, path + ": a number beyond a 64-bit float: " + e.what());
  }
}

void add_tensor(StateDict& out, const std::string& name, torch::Tensor tensor,
                const std::string& file) {
  const auto [it, inserted] = out.source_file.emplace(name, file);
  if (!inserted) {
    throw Error(ErrorKind::Input,
                "tensor '" + name + "' appears in both " + it->second + " and " + file);
  }
  out.tensors.emplace(name, std::move(tensor));
}

void read_safetensors_into(StateDict& out, const std::string& path) {
  const auto file = SafetensorsFile::open(path);
  for (const auto& name : file.names()) add_tensor(out, name, file.tensor(name), path);
}

/// A file written by torch.save (zip container, pickled dict of tensors), read with
/// LibTorch's unpickler.
void read_torch_pickle_into(StateDict& out, const std::string& path) {
  const std::string bytes = read_file(path);
  const std::string hint =
      "convert it to safetensors in Python: safetensors.torch.save_file(dict(torch.load(path)), "
      "'model.safetensors', metadata={'format': 'pt'}); see docs/checkpoints.md";
  if (bytes.compare(0, 4, "PK\x03\x04") != 0) {
    // torch.save wrote a bare pickle stream before PyTorch 1.6; LibTorch reads only the zip.
    throw Error(ErrorKind::Input,
                path +
                    ": not a zip archive: written by torch.save before PyTorch 1.6 (or not a "
                    "PyTorch file); LibTorch's torch::pickle_load reads only the zip format",
                hint);
  }
  torch::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    if (what.find("Expected GenericDict but got None") != std::string::npos) {
      // LibTorch's unpickler turns every collections.OrderedDict into None (it expects them
      // only as a tensor's empty backward hooks), so torch.save(model.state_dict()) fails.
      throw Error(ErrorKind::Input,
                  path +
                      ": the state dict was saved as a collections.OrderedDict "
                      "(torch.save(model.state_dict())), which LibTorch's torch::pickle_load "
                      "cannot read; plain dicts (as transformers 4 saved them) work",
                  hint);
    }
    throw Error(ErrorKind::Input,
                path + ": LibTorch's torch::pickle_load cannot read this file: " + what, hint);
  }
  if (!value.isGenericDict()) {
    throw Error(ErrorKind::Input, path +
                                      ": expected a pickled dict of tensors (a state dict), "
                                      "found " +
                                      value.tagKind());
  }
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString()) {
      throw Error(ErrorKind::Input, path + ": state dict key of type " + item.key().tagKind() +
                                        ", expected a string");
    }
    const std::string name = item.key().toStringRef();
    if (!item.value().isTensor()) {
      throw Error(ErrorKind::Input, path + ": tensor '" + name + "': holds a " +
                                        item.value().tagKind() +
                                        ", expected a tensor (nested state dicts are not "
                                        "Hugging Face weight files)");
    }
    add_tensor(out, name, item.value().toTensor(), path);
  }
}

void read_weight_file_into(StateDict& out, const std::string& path) {
  if (ends_with(path, ".safetensors")) {
    read_safetensors_into(out, path);
  } else {
    read_torch_pickle_into(out, path);
  }
}

/// model.safetensors.index.json / pytorch_model.bin.index.json: {"weight_map": {tensor: shard}}.
void read_sharded_into(StateDict& out, const std::string& index_path) {
  const auto index = parse_json_file(index_path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw Error(ErrorKind::Input, index_path +
                                      ": key 'weight_map' (an object from tensor name "
                                      "to shard file) is missing");
  }
  const std::string dir = fs::path(index_path).parent_path().string();
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) {
      throw Error(ErrorKind::Input, index_path + ": weight_map['" + tensor +
                                        "'] must be a shard file name, found " + shard.dump());
    }
    const fs::path shard_path(shard.get<std::string>());
    bool escapes = shard_path.is_absolute() || shard_path.empty();
    for (const auto& part : shard_path) escapes = escapes || part == "..";
    if (escapes) {
      throw Error(ErrorKind::Input, index_path + ": weight_map['" + tensor + "'] names shard '" +
                                        shard_path.string() +
                                        "', which is not a file inside the checkpoint folder");
    }
    by_shard[shard_path.string()].push_back(tensor);
  }
  if (by_shard.empty()) throw Error(ErrorKind::Input, index_path + ": weight_map is empty");
  for (const auto& [shard, tensors] : by_shard) {
    const std::string path = join_path(dir, shard);
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      throw Error(ErrorKind::Input,
                  index_path + ": shard '" + shard + "' (holding tensor '" + tensors.front() + "'" +
                      (tensors.size() > 1 ? " and " + std::to_string(tensors.size() - 1) + " more"
                                          : std::string()) +
                      ") is missing: " + path + " does not exist");
    }
    StateDict shard_state;
    read_weight_file_into(shard_state, path);
    for (const auto& tensor : tensors) {
      if (shard_state.tensors.count(tensor) == 0) {
        throw Error(ErrorKind::Input, index_path + " lists tensor '" + tensor + "' in shard '" +
                                          shard + "', but " + path + " has no such tensor");
      }
    }
    for (auto& [name, t] : shard_state.tensors) add_tensor(out, name, std::move(t), path);
  }
}

// transformers renames these anywhere in a key (old TensorFlow-era BERT checkpoints).
constexpr std::pair<const char*, const char*> kLegacy[] = {{"LayerNorm.gamma", "LayerNorm.weight"},
                                                           {"LayerNorm.beta", "LayerNorm.bias"}};

std::string shape_text(torch::IntArrayRef shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

}  // namespace

nlohmann::json read_model_config(const std::string& dir) {
  std::error_code ec;
  const bool folder = fs::is_directory(dir, ec);
  if (!folder && fs::exists(dir, ec) && fs::path(dir).filename() != "config.json") {
    throw Error(ErrorKind::Input, dir +
                                      ": not a model folder (a file; a Hugging Face model folder "
                                      "holds config.json next to its weights)");
  }
  const std::string path = folder ? join_path(dir, "config.json") : dir;
  if (!fs::exists(path, ec)) {
    throw Error(ErrorKind::Input, path +
                                      ": not found (a Hugging Face model folder holds "
                                      "config.json next to its weights)");
  }
  auto config = parse_json_file(path);
  if (!config.is_object()) {
    throw Error(ErrorKind::Input, path + ": expected a JSON object of model settings, found " +
                                      std::string(config.type_name()));
  }
  return config;
}

namespace {

// The weight files of a folder in transformers' order of preference: the first that exists,
// with its shards. Empty when there is none.
std::vector<std::string> weight_files_of(const std::string& dir) {
  std::error_code ec;
  for (const char* name : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                           "pytorch_model.bin.index.json"}) {
    const std::string file = join_path(dir, name);
    if (!fs::is_regular_file(file, ec)) continue;
    std::vector<std::string> files{file};
    if (ends_with(file, ".index.json")) {
      const auto index = parse_json_file(file);
      std::set<std::string> shards;
      if (index.is_object() && index.contains("weight_map") && index["weight_map"].is_object()) {
        for (const auto& [tensor, shard] : index["weight_map"].items()) {
          if (shard.is_string()) shards.insert(join_path(dir, shard.get<std::string>()));
        }
      }
      files.insert(files.end(), shards.begin(), shards.end());
    }
    return files;
  }
  return {};
}

}  // namespace

std::vector<std::string> model_files(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error(ErrorKind::Input, dir + ": not a model folder");
  }
  auto files = weight_files_of(dir);
  if (files.empty()) read_state_dict(dir);  // throws its "no weights found"
  for (const char* name : {"config.json", "vocab.txt", "spiece.model", "tokenizer.json",
                           "tokenizer_config.json", "special_tokens_map.json"}) {
    const std::string file = join_path(dir, name);
    if (fs::is_regular_file(file, ec)) files.push_back(file);
  }
  std::sort(files.begin(), files.end());
  return files;
}

StateDict read_state_dict(const std::string& path) {
  StateDict out;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    if (ends_with(path, ".index.json")) {
      read_sharded_into(out, path);
    } else {
      read_weight_file_into(out, path);
    }
    return out;
  }
  if (!fs::is_directory(path, ec)) {
    throw Error(ErrorKind::Input, path + ": no such checkpoint folder or weight file");
  }
  // transformers' own order of preference.
  const std::string candidates[] = {"model.safetensors", "model.safetensors.index.json",
                                    "pytorch_model.bin", "pytorch_model.bin.index.json"};
  for (const auto& name : candidates) {
    const std::string file = join_path(path, name);
    if (!fs::is_regular_file(file, ec)) continue;
    if (ends_with(name, ".index.json")) {
      read_sharded_into(out, file);
    } else {
      read_weight_file_into(out, file);
    }
    log::debug("{}: {} tensors", file, out.tensors.size());
    return out;
  }
  throw Error(ErrorKind::Input, path +
                                    ": no weights found (looked for model.safetensors, "
                                    "model.safetensors.index.json, pytorch_model.bin and "
                                    "pytorch_model.bin.index.json)");
}

std::string normalize_checkpoint_name(const std::string& name) {
  std::string out = name;
  for (const auto& [from, to] : kLegacy) {
    const std::string f(from);
    for (std::size_t at = out.find(f); at != std::string::npos; at = out.find(f, at)) {
      const std::size_t after = at + f.size();
      if (after == out.size() || out[after] == '.') {
        out.replace(at, f.size(), to);
        at += std::char_traits<char>::length(to);
      } else {
        at = after;
      }
    }
  }
  return out;
}

LoadReport load_into(torch::nn::Module& module, const StateDict& state,
                     const std::vector<std::string>& prefixes) {
  // Normalized checkpoint name -> original name.
  std::map<std::string, std::string> available;
  for (const auto& [name, _] : state.tensors) {
    const auto [it, inserted] = available.emplace(normalize_checkpoint_name(name), name);
    if (!inserted) {
      throw Error(ErrorKind::Input, "checkpoint holds both '" + it->second + "' and '" + name +
                                        "', which name the same weight");
    }
  }

  std::vector<std::pair<std::string, torch::Tensor>> targets;
  for (const auto& item : module.named_parameters(/*recurse=*/true))
    targets.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true))
    targets.emplace_back(item.key(), item.value());

  const std::vector<std::string> tried = prefixes.empty() ? std::vector<std::string>{""} : prefixes;
  struct Match {
    torch::Tensor target;
    const std::string* key;  // checkpoint name (original spelling)
  };
  std::vector<Match> matches;
  std::set<std::string> used;
  LoadReport report;
  for (const auto& [name, target] : targets) {
    const std::string* key = nullptr;
    for (const auto& prefix : tried) {
      auto it = available.find(prefix + name);
      if (it == available.end() && !prefix.empty() && name.rfind(prefix, 0) == 0) {
        it = available.find(name.substr(prefix.size()));
      }
      if (it != available.end()) {
        key = &it->second;
        break;
      }
    }
    if (key == nullptr) {
      report.missing.push_back(name);
      continue;
    }
    const auto& source = state.tensors.at(*key);
    if (source.sizes() != target.sizes()) {
      const auto file = state.source_file.find(*key);
      throw Error(ErrorKind::Input,
                  (file != state.source_file.end() ? file->second + ": " : std::string()) +
                      "tensor '" + *key + "': shape mismatch for model weight '" + name +
                      "': expected " + shape_text(target.sizes()) + ", found " +
                      shape_text(source.sizes()),
                  "does the checkpoint's config.json match the model being built?");
    }
    matches.push_back({target, key});
    used.insert(*key);
  }

  torch::NoGradGuard no_grad;
  for (auto& m : matches) {
    const auto& source = state.tensors.at(*m.key);
    if (m.target.device().is_cpu() && source.device().is_cpu() &&
        m.target.scalar_type() == source.scalar_type() && m.target.is_contiguous() &&
        source.is_contiguous()) {
      // The common case (CPU, same dtype) is a plain memcpy: copy_ would hand each tensor to
      // the intra-op thread pool, which costs more than the copy on a busy machine.
      if (source.numel() > 0 && m.target.data_ptr() != source.data_ptr()) {
        std::memcpy(m.target.data_ptr(), source.data_ptr(), source.numel() * source.element_size());
      }
      // What copy_ would do: autograd must see that the tensor changed.
      m.target.unsafeGetTensorImpl()->bump_version();
    } else {
      m.target.copy_(source);
    }
  }
  report.loaded = matches.size();
  for (const auto& [name, _] : state.tensors) {
    if (used.count(name) == 0) report.unexpected.push_back(name);
  }
  std::sort(report.missing.begin(), report.missing.end());
  return report;
}

CheckpointSummary summarize_checkpoint(const std::string& path) {
  const StateDict state = read_state_dict(path);
  CheckpointSummary out;
  out.path = path;
  std::set<std::string> files;
  for (const auto& [name, t] : state.tensors) {
    TensorSummary s;
    s.name = name;
    try {
      s.dtype = dtype_to_safetensors(t.scalar_type());
    } catch (const Error&) {
      s.dtype = c10::toString(t.scalar_type());
    }
    s.shape = t.sizes().vec();
    s.numel = t.numel();
    s.file = state.source_file.at(name);
    files.insert(s.file);
    out.elements += s.numel;
    if (t.is_floating_point()) out.parameters += s.numel;
    out.bytes += static_cast<uint64_t>(s.numel) * t.element_size();
    out.dtype_elements[s.dtype] += s.numel;
    out.tensors.push_back(std::move(s));
  }
  out.files.assign(files.begin(), files.end());
  if (out.files.size() == 1 && ends_with(out.files.front(), ".safetensors")) {
    out.metadata = SafetensorsFile::open(out.files.front()).metadata();
  }
  return out;
}

nlohmann::json to_json(const CheckpointSummary& summary) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& t : summary.tensors) {
    tensors.push_back({{"name", t.name},
                       {"dtype", t.dtype},
                       {"shape", t.shape},
                       {"numel", t.numel},
                       {"file", t.file}});
  }
  return {{"path", summary.path},
          {"files", summary.files},
          {"metadata", summary.metadata},
          {"tensors", tensors},
          {"tensor_count", summary.tensors.size()},
          {"parameters", summary.parameters},
          {"elements", summary.elements},
          {"bytes", summary.bytes},
          {"dtype_elements", summary.dtype_elements}};
}

std::string to_text(const CheckpointSummary& summary) {
  std::size_t name_width = 4;
  std::size_t dtype_width = 5;
  for (const auto& t : summary.tensors) {
    name_width = std::max(name_width, t.name.size());
    dtype_width = std::max(dtype_width, t.dtype.size());
  }
  const auto pad = [](const std::string& s, std::size_t width) {
    return s + std::string(width - std::min(width, s.size()), ' ');
  };
  std::string out;
  for (const auto& f : summary.files) out += "file: " + f + "\n";
  for (const auto& [key, value] : summary.metadata)
    out += "metadata: " + key + " = " + value + "\n";
  out += pad("name", name_width) + "  " + pad("dtype", dtype_width) + "  shape\n";
  for (const auto& t : summary.tensors) {
    out += pad(t.name, name_width) + "  " + pad(t.dtype, dtype_width) + "  " + shape_text(t.shape) +
           "\n";
  }
  std::string by_dtype;
  for (const auto& [dtype, n] : summary.dtype_elements) {
    by_dtype += (by_dtype.empty() ? "" : ", ") + dtype + " " + std::to_string(n);
  }
  out += std::to_string(summary.tensors.size()) + " tensors, " +
         std::to_string(summary.parameters) + " parameters (floating-point elements), " +
         std::to_string(summary.elements) + " elements" +
         (by_dtype.empty() ? std::string() : " (" + by_dtype + ")") + ", " +
         std::to_string(summary.bytes) + " bytes\n";
  return out;
}

}  // namespace pft::io
