#include "pft/task/preflight.h"
#include "pft/data/records.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include "pft/data/conll.h"
#include "pft/data/jsonl.h"
#include "pft/prompt/template.h"
#include "pft/prompt/verbalizer.h"
#include "pft/task/cloze.h"
#include "pft/task/prompt_input.h"
#include "pft/task/text_to_text.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/util/error.h"
#include "pft/util/strings.h"

namespace fs = std::filesystem;

namespace pft::task {
namespace {

struct Problems {
  std::vector<std::string> lines;
  void add(const std::string& key, const std::string& what) { lines.push_back(key + ": " + what); }
  // Runs `check`; a pft::Error it throws becomes a problem of `key`.
  template <class F>
  bool attempt(const std::string& key, F&& check) {
    try {
      check();
      return true;
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.rfind(key, 0) == 0) {
        lines.push_back(what);  // it names the key itself
      } else {
        add(key, what);
      }
      return false;
    }
  }
};

// "(see FOLDER/README.md: its title)" when the folder of a missing file says how to make it.
std::string readme_hint(const fs::path& file) {
  std::error_code ec;
  for (fs::path dir = file.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    const auto readme = dir / "README.md";
    if (fs::is_regular_file(readme, ec)) {
      std::ifstream in(readme);
      std::string title;
      std::getline(in, title);
      while (!title.empty() && (title.front() == '#' || title.front() == ' ')) title.erase(0, 1);
      return " (" + readme.string() + ": " + title + ")";
    }
    if (fs::exists(dir, ec) || dir == dir.parent_path()) break;
  }
  return {};
}

// A data file named by `key` must be a readable regular file, or with `folder_ok` a folder (a
// `datasets` save_to_disk folder, which its reader then checks).
bool check_file(Problems& p, const std::string& key, const std::string& path,
                bool folder_ok = false) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (folder_ok) return true;
    p.add(key, path + ": is a folder, expected a data file");
    return false;
  }
  if (!fs::exists(path, ec)) {
    p.add(key, path + ": no such file" + readme_hint(fs::path(path)));
    return false;
  }
  std::ifstream in(path);
  if (!in) {
    p.add(key, path + ": cannot be read");
    return false;
  }
  return true;
}

void check_model_folder(Problems& p, const std::string& key, const std::string& dir,
                        const std::string& what) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    p.add(key, dir + ": no such " + what +
                   " folder; scripts/setup.sh provides all-MiniLM-L6-v2 only: pass a Hugging Face "
                   "checkpoint folder with --set " +
                   key + "=DIR");
  } else if (!fs::is_directory(dir, ec)) {
    p.add(key, dir +
                   ": not a model folder (a file; a Hugging Face model folder holds config.json "
                   "next to its weights)");
  } else if (key == "model.path" && !fs::exists(fs::path(dir) / "config.json", ec)) {
    p.add(key, dir + ": not a model folder (no config.json)");
  }
}

void throw_problems(const Problems& p) {
  if (p.lines.empty()) return;
  std::string message;
  for (const auto& line : p.lines) message += (message.empty() ? "" : "\n") + line;
  throw Error(ErrorKind::Config, message);
}

bool is_prompt_task(const std::string& type) {
  return type == "cloze" || type == "text_to_text" || type == "seq2seq";
}

// The fields every example must have, as `what` names them.
struct Fields {
  std::optional<prompt::Template> tmpl;
  std::vector<std::pair<std::string, std::string>> inputs;  // without a template: key, field
};

// Checks the records of one JSONL, CSV or TSV file: the input fields, and the label (or
// target) field as `labels` says: "all" (every record labelled), "uniform" (all or none:
// `pft eval`). A label may be an index into `labels` (data::label_value).
void check_records(Problems& p, const std::string& key, const std::string& path,
                   const std::string& format, std::size_t limit, const Fields& fields,
                   const std::string& label_field, const std::vector<std::string>& labels,
                   bool label_names, bool all_labelled, std::set<std::string>* seen_labels) {
  std::vector<data::JsonlRecord> records;
  if (!p.attempt(key, [&] { records = data::read_records(path, format, limit); })) return;
  if (records.empty()) {
    p.add(key, path + ": no examples");
    return;
  }
  std::size_t labelled = 0;
  std::size_t first_unlabelled = 0;
  for (const auto& r : records) {
    const std::string where = path + ":" + std::to_string(r.line);
    const auto missing = [&](const std::string& field, const std::string& by) {
      std::string keys;
      for (const auto& item : r.value.items()) keys += (keys.empty() ? "" : ", ") + item.key();
      p.add(by, where + ": no field \"" + field + "\" (the record has: " + keys + ")");
    };
    if (fields.tmpl) {
      bool ok = true;
      for (const auto& f : fields.tmpl->fields()) {
        if (!prompt::lookup_field(r.value, f)) {
          missing(f, "prompt.template");
          ok = false;
          break;
        }
      }
      if (!ok) return;  // one line says it; the rest are the same
    } else {
      for (const auto& [by, f] : fields.inputs) {
        const auto it = r.value.find(f);
        if (it == r.value.end() || !it->is_string()) {
          missing(f, by);
          return;
        }
      }
    }
    const auto label = r.value.find(label_field);
    if (label == r.value.end() || label->is_null()) {
      if (first_unlabelled == 0) first_unlabelled = r.line;
      continue;
    }
    std::string value;
    if (label_names) {
      if (!p.attempt(key, [&] { value = data::label_value(r, label_field, labels, path); })) return;
    } else if (label->is_string()) {
      value = label->get<std::string>();
    } else {
      p.add(key, where + ": field '" + label_field + "': expected a string, got " + label->dump());
      return;
    }
    ++labelled;
    if (seen_labels != nullptr) seen_labels->insert(value);
    if (!labels.empty() && std::find(labels.begin(), labels.end(), value) == labels.end()) {
      p.add(key, where + ": label '" + value + "' is not one of task.labels (" +
                     join_alternatives(labels) + ")");
      return;
    }
  }
  if (first_unlabelled == 0) return;
  if (all_labelled) {
    p.add(key, path + ":" + std::to_string(first_unlabelled) + ": no '" + label_field +
                   "' field; every example needs one here" +
                   (key == "data.eval" ? " (training evaluates on it)" : ""));
  } else if (labelled > 0) {
    p.add(key,
          path + ":" + std::to_string(first_unlabelled) + ": no '" + label_field + "' field, but " +
              std::to_string(labelled) +
              " other examples have one; label every example (metrics) or none (predictions only)");
  }
}

void check_conll(Problems& p, const std::string& key, const std::string& path, std::size_t limit,
                 const std::vector<std::string>& labels) {
  std::vector<data::ConllSentence> sentences;
  if (!p.attempt(key, [&] { sentences = data::read_conll(path, limit); })) return;
  if (labels.empty()) return;
  for (const auto& s : sentences) {
    for (std::size_t w = 0; w < s.tags.size(); ++w) {
      if (std::find(labels.begin(), labels.end(), s.tags[w]) == labels.end()) {
        p.add(key, path + ":" + std::to_string(s.line + w) + ": tag '" + s.tags[w] +
                       "' is not one of task.labels (" + join_alternatives(labels) + ")");
        return;
      }
    }
  }
}

bool has_extension(const std::string& path, const char* ext) {
  return fs::path(path).extension() == ext;
}

}  // namespace

void preflight(const config::RunConfig& c, config::Purpose purpose) {
  Problems p;
  const bool train = purpose == config::Purpose::Train;
  const auto& type = c.task.type;

  check_model_folder(p, "model.path", c.model.path, "model");
  if (c.tokenizer.path != c.model.path) {
    check_model_folder(p, "tokenizer.path", c.tokenizer.path, "tokenizer");
  }
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
  if (p.lines.empty()) {
    p.attempt("tokenizer.path", [&] { tokenizer = tokenizer::load_tokenizer(c.tokenizer.path); });
  }

  // Formats.
  const bool conll = type == "token_classification";
  if (conll && c.data.format != "auto" && c.data.format != "conll") {
    p.add("data.format",
          "token_classification reads CoNLL files (auto or conll), not " + c.data.format);
  } else if (!conll && c.data.format == "conll") {
    p.add("data.format", "conll is read by token_classification only; task.type " + type +
                             " reads JSON Lines, CSV, TSV, Parquet or Arrow");
  }

  // The files this purpose reads.
  std::vector<std::pair<std::string, std::string>> files;  // key, path
  if (train) files.emplace_back("data.train", c.data.train);
  if (!c.data.eval.empty()) files.emplace_back("data.eval", c.data.eval);
  if (purpose == config::Purpose::Eval && c.data.eval.empty()) {
    p.add("data.eval",
          "required by `pft eval` but missing (set it in the config, or pass --data FILE)");
  }
  std::vector<std::pair<std::string, std::string>> readable;
  for (const auto& [key, path] : files) {
    if (!check_file(p, key, path,
                    !conll && (c.data.format == "auto" || c.data.format == "arrow"))) {
      continue;
    }
    if (conll && c.data.format == "auto" &&
        (has_extension(path, ".tsv") || has_extension(path, ".csv") ||
         has_extension(path, ".parquet") || has_extension(path, ".arrow"))) {
      p.add(key, path + ": a " + fs::path(path).extension().string().substr(1) +
                     " file by its name; token_classification reads CoNLL files (one word and "
                     "its tag a line): convert it, or set data.format to conll if it is one");
      continue;
    }
    readable.emplace_back(key, path);
  }

  // The prompt: its template parses and the data has its fields; the verbalizer's words can be
  // told apart the way the task scores them.
  Fields fields;
  if (!c.prompt.template_text.empty()) {
    p.attempt("prompt.template",
              [&] { fields.tmpl.emplace(c.prompt.template_text, "prompt.template"); });
  } else if (type == "seq2seq") {
    fields.inputs = {{"data.source_field", c.data.source_field}};
  } else if (!conll) {
    fields.inputs = {{"data.text_field", c.data.text_field}};
    if (!c.data.text_pair_field.empty()) {
      fields.inputs.emplace_back("data.text_pair_field", c.data.text_pair_field);
    }
  }
  if (!c.prompt.template_text.empty() && !fields.tmpl) throw_problems(p);
  std::vector<std::string> labels = c.task.labels;
  if (labels.empty() && is_prompt_task(type) && type != "seq2seq" && !c.prompt.verbalizer.empty()) {
    for (const auto& [label, words] : c.prompt.verbalizer) labels.push_back(label);
  }
  const std::string label_field = type == "seq2seq" ? c.data.target_field : c.data.label_field;
  std::set<std::string> seen;
  for (const auto& [key, path] : readable) {
    const bool is_train = key == "data.train";
    const auto limit =
        static_cast<std::size_t>(is_train ? c.data.max_train_examples : c.data.max_eval_examples);
    if (conll) {
      check_conll(p, key, path, limit, labels);
    } else {
      // pft eval may take its labels from the checkpoint; the task checks them when it reads
      // the data, after the model has said how many classes it has.
      check_records(p, key, path, c.data.format, limit, fields, label_field,
                    type == "seq2seq" || !train ? std::vector<std::string>{} : labels,
                    /*label_names=*/type != "seq2seq", /*all_labelled=*/train,
                    is_train && labels.empty() ? &seen : nullptr);
    }
  }
  if (labels.empty()) labels.assign(seen.begin(), seen.end());
  if (tokenizer && (type == "cloze" || type == "text_to_text") && !labels.empty()) {
    p.attempt("prompt.verbalizer", [&] {
      const auto verbalizer = make_verbalizer(c, labels);
      if (type == "cloze") {
        label_word_ids(verbalizer, *tokenizer, c.prompt.word_tokens, c.prompt.label_words);
      } else if (c.eval.predict_by == "rank") {
        rank_candidates(verbalizer, *tokenizer);
      }
    });
  }
  if (!c.prompt.demos.empty()) {
    if (check_file(p, "prompt.demos", c.prompt.demos)) {
      p.attempt("prompt.demos", [&] { data::read_records(c.prompt.demos, "auto"); });
    }
    if (!c.prompt.demo_template.empty()) {
      p.attempt("prompt.demo_template",
                [&] { prompt::Template(c.prompt.demo_template, "prompt.demo_template"); });
    }
  }

  // Where a training run writes (whether it may, is decided when the run starts).
  if (train) {
    std::error_code ec;
    const auto& out = c.train.output_dir;
    if (out.empty()) {
      p.add("train.output_dir", "is empty; name the run directory");
    } else if (fs::exists(out, ec) && !fs::is_directory(out, ec)) {
      p.add("train.output_dir", out + ": is a file, expected a run directory");
    } else {
      // The nearest existing ancestor must be a folder we can create the run directory in.
      fs::path up = fs::absolute(out, ec);
      while (!up.empty() && !fs::exists(up, ec) && up != up.parent_path()) up = up.parent_path();
      if (!fs::is_directory(up, ec)) {
        p.add("train.output_dir",
              out + ": cannot be created (" + up.string() + " is not a folder)");
      }
    }
  }
  throw_problems(p);
}

}  // namespace pft::task
