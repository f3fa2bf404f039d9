#include "pft/config/config.h"

#include <cfloat>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "pft/prompt/template.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/strings.h"

using nlohmann::json;

namespace pft::config {

// ---- rules ---------------------------------------------------------------------------

namespace {

std::string format_number(double x) {
  if (std::isfinite(x) && std::floor(x) == x && std::fabs(x) < 1e15) {
    return std::to_string(static_cast<long long>(x));
  }
  std::ostringstream s;
  s << x;
  return s.str();
}

}  // namespace

std::string Rule::describe() const {
  if (!one_of.empty()) return "one of " + join_alternatives(one_of);
  if (min && max) {
    return std::string("in ") + (min_exclusive ? "(" : "[") + format_number(*min) + ", " +
           format_number(*max) + (max_exclusive ? ")" : "]");
  }
  if (min) return (min_exclusive ? "> " : ">= ") + format_number(*min);
  if (max) return (max_exclusive ? "< " : "<= ") + format_number(*max);
  return {};
}

namespace {

// The one top-level key that is not a section: a note for whoever reads the config file.
constexpr const char* kCommentKey = "comment";

// ---- value types ---------------------------------------------------------------------

template <class T>
struct TypeName;
template <>
struct TypeName<std::string> {
  static constexpr const char* value = "string";
};
template <>
struct TypeName<std::int64_t> {
  static constexpr const char* value = "integer";
};
template <>
struct TypeName<double> {
  static constexpr const char* value = "number";
};
template <>
struct TypeName<bool> {
  static constexpr const char* value = "boolean";
};
template <>
struct TypeName<std::vector<std::string>> {
  static constexpr const char* value = "array of strings";
};
template <>
struct TypeName<std::vector<std::int64_t>> {
  static constexpr const char* value = "array of integers";
};
template <>
struct TypeName<IntegerMap> {
  static constexpr const char* value = "object: pattern -> integer";
};
template <>
struct TypeName<NumberMap> {
  static constexpr const char* value = "object: pattern -> number";
};
template <>
struct TypeName<Verbalizer> {
  static constexpr const char* value = "object: label -> string or array of strings";
};

std::string describe_json(const json& j) {
  std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return std::string(j.type_name()) + " " + text;
}

// Each read_value returns an empty string on success, else what was expected.
std::string read_value(const json& j, std::string& out) {
  if (!j.is_string()) return "a string";
  out = j.get<std::string>();
  return {};
}

std::string read_value(const json& j, std::int64_t& out) {
  if (j.is_number_unsigned() &&
      j.get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return "an integer of at most " + std::to_string(std::numeric_limits<std::int64_t>::max());
  }
  if (j.is_number_integer()) {
    out = j.get<std::int64_t>();
    return {};
  }
  // 1e3 or 16.0 from a sweep script are integers in value.
  if (j.is_number_float()) {
    const double d = j.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) {
      out = static_cast<std::int64_t>(d);
      return {};
    }
  }
  return "an integer";
}

std::string read_value(const json& j, double& out) {
  if (!j.is_number()) return "a number";
  out = j.get<double>();
  return {};
}

std::string read_value(const json& j, bool& out) {
  if (!j.is_boolean()) return "a boolean (true or false)";
  out = j.get<bool>();
  return {};
}

std::string read_value(const json& j, std::vector<std::string>& out) {
  if (!j.is_array()) return "an array of strings";
  std::vector<std::string> values;
  for (const auto& item : j) {
    if (!item.is_string())
      return "an array of strings (found an element that is " + describe_json(item) + ")";
    values.push_back(item.get<std::string>());
  }
  out = std::move(values);
  return {};
}

std::string read_value(const json& j, std::vector<std::int64_t>& out) {
  if (!j.is_array()) return "an array of integers";
  std::vector<std::int64_t> values;
  for (const auto& item : j) {
    std::int64_t v = 0;
    if (!read_value(item, v).empty()) {
      return "an array of integers (found an element that is " + describe_json(item) + ")";
    }
    values.push_back(v);
  }
  out = std::move(values);
  return {};
}

template <class Value>
std::string read_map(const json& j, std::map<std::string, Value>& out, const char* expected) {
  if (!j.is_object()) return expected;
  std::map<std::string, Value> values;
  for (const auto& [name, item] : j.items()) {
    Value v{};
    if (!read_value(item, v).empty())
      return std::string(expected) + " ('" + name + "' has " + describe_json(item) + ")";
    values[name] = v;
  }
  out = std::move(values);
  return {};
}

std::string read_value(const json& j, IntegerMap& out) {
  return read_map(j, out, "an object mapping each pattern to an integer");
}

std::string read_value(const json& j, NumberMap& out) {
  return read_map(j, out, "an object mapping each pattern to a number");
}

std::string read_value(const json& j, Verbalizer& out) {
  const char* expected = "an object mapping each label to a word or an array of words";
  if (!j.is_object()) return expected;
  Verbalizer values;
  for (const auto& [label, words] : j.items()) {
    if (words.is_string()) {
      values[label] = {words.get<std::string>()};
    } else if (words.is_array() && !words.empty() &&
               std::all_of(words.begin(), words.end(),
                           [](const json& w) { return w.is_string(); })) {
      values[label] = words.get<std::vector<std::string>>();
    } else {
      return std::string(expected) + " (label '" + label + "' has " + describe_json(words) + ")";
    }
  }
  out = std::move(values);
  return {};
}

// ---- visitors ------------------------------------------------------------------------

// Where each top-level value came from: the file, or the --set that last wrote it.
using Origins = std::map<std::string, std::string>;

std::string origin_of(const Origins& origins, const std::string& key, const std::string& file) {
  // The longest overridden prefix of key wins (a --set of a whole section covers its keys).
  std::string best = file;
  std::size_t best_len = 0;
  for (const auto& [path, origin] : origins) {
    if ((key == path || key.rfind(path + ".", 0) == 0) && path.size() >= best_len) {
      best = origin;
      best_len = path.size();
    }
  }
  return best;
}

struct Problems {
  std::vector<std::string> lines;
  void add(const std::string& where, const std::string& key, const std::string& what) {
    lines.push_back(where + ": " + key + ": " + what);
  }
};

// Reads the keys of one section, type-checking each.
struct SectionReader {
  const json& object;
  std::string section;
  const Origins& origins;
  const std::string& source;
  Problems& problems;
  std::vector<std::string> known;

  template <class T>
  void operator()(const char* key, T& value, const char* /*doc*/, const Rule& /*rule*/) {
    known.emplace_back(key);
    const auto it = object.find(key);
    if (it == object.end()) return;
    const std::string path = section + "." + key;
    const std::string expected = read_value(*it, value);
    if (!expected.empty()) {
      problems.add(origin_of(origins, path, source), path,
                   "expected " + expected + ", got " + describe_json(*it));
    }
  }
};

// Checks each value against its rule; expands paths.
struct SectionValidator {
  std::string section;
  const Origins& origins;
  const std::string& source;
  Problems& problems;

  void check_number(const std::string& path, double x, const Rule& rule) {
    const bool low = rule.min && (rule.min_exclusive ? x <= *rule.min : x < *rule.min);
    const bool high = rule.max && (rule.max_exclusive ? x >= *rule.max : x > *rule.max);
    if (low || high || !std::isfinite(x)) {
      problems.add(origin_of(origins, path, source), path,
                   "must be " + rule.describe() + ", got " + format_number(x));
    }
  }
  // Every integer is also a step count, a size or a seed that doubles (the schedule) and
  // 64-bit arithmetic must hold exactly; every number is computed in 32-bit floats.
  static constexpr std::int64_t kMaxInteger = std::int64_t{1} << 53;
  void operator()(const char* key, std::int64_t& value, const char*, const Rule& rule) {
    const std::string path = section + "." + key;
    if (value > kMaxInteger || value < -kMaxInteger) {
      problems.add(origin_of(origins, path, source), path,
                   "must be at most 2^53 (" + std::to_string(kMaxInteger) + ") in size, got " +
                       std::to_string(value));
      return;
    }
    check_number(path, static_cast<double>(value), rule);
  }
  void operator()(const char* key, double& value, const char*, const Rule& rule) {
    const std::string path = section + "." + key;
    if (std::isfinite(value) && std::fabs(value) > FLT_MAX) {
      problems.add(origin_of(origins, path, source), path,
                   "must be at most " + format_number(FLT_MAX) +
                       " in size (LibTorch computes in 32-bit floats), got " +
                       format_number(value));
      return;
    }
    check_number(path, value, rule);
  }
  void operator()(const char* key, std::vector<std::int64_t>& values, const char*, const Rule&) {
    const std::string path = section + "." + key;
    for (const auto value : values) {
      if (value > kMaxInteger || value < -kMaxInteger) {
        problems.add(
            origin_of(origins, path, source), path,
            "holds " + std::to_string(value) + "; every element must be at most 2^53 in size");
        return;
      }
    }
  }
  // Each value of a map is held to the key's rule, and named by its entry.
  void operator()(const char* key, IntegerMap& values, const char*, const Rule& rule) {
    for (const auto& [name, value] : values)
      check_number(section + "." + key + "." + name, static_cast<double>(value), rule);
  }
  void operator()(const char* key, NumberMap& values, const char*, const Rule& rule) {
    for (const auto& [name, value] : values) check_number(section + "." + key + "." + name, value, rule);
  }
  void operator()(const char* key, std::string& value, const char*, const Rule& rule) {
    const std::string path = section + "." + key;
    if (!rule.one_of.empty() &&
        std::find(rule.one_of.begin(), rule.one_of.end(), value) == rule.one_of.end()) {
      std::string message = "must be " + rule.describe() + ", got \"" + value + "\"";
      const std::string guess = closest_match(value, rule.one_of);
      if (!guess.empty()) message += " (did you mean \"" + guess + "\"?)";
      problems.add(origin_of(origins, path, source), path, message);
    }
    if (rule.path && !value.empty()) {
      try {
        value = expand_path(value, path);
      } catch (const Error& e) {
        problems.lines.push_back(origin_of(origins, path, source) + ": " + e.what());
      }
    }
  }
  template <class T>
  void operator()(const char*, T&, const char*, const Rule&) {}
};

struct SectionWriter {
  nlohmann::ordered_json& object;
  template <class T>
  void operator()(const char* key, const T& value, const char*, const Rule&) {
    object[key] = value;
  }
};

struct KeyLister {
  std::string section;
  std::vector<std::string>& keys;
  std::map<std::string, std::string>* types = nullptr;
  template <class T>
  void operator()(const char* key, const T&, const char*, const Rule&) {
    keys.push_back(section + "." + key);
    if (types) (*types)[section + "." + key] = TypeName<T>::value;
  }
};

struct DocWriter {
  std::ostringstream& out;
  template <class T>
  void operator()(const char* key, const T& value, const char* doc, const Rule& rule) {
    std::string shown = json(value).dump();
    if (shown == "\"\"") shown = "\"\" (empty)";
    std::string meaning = doc;
    const std::string constraint = rule.describe();
    if (!constraint.empty()) meaning += " Must be " + constraint + ".";
    if (rule.path) meaning += " `~` and `${VAR}` (or `${VAR:-default}`) are expanded.";
    out << "| `" << key << "` | " << TypeName<T>::value << " | `" << shown << "` | " << meaning
        << " |\n";
  }
};

// The config as a mutable object, so visitors can run on a copy.
std::vector<std::string> section_names() {
  std::vector<std::string> names;
  RunConfig().visit_sections(
      [&](const char* name, auto&, const char*) { names.emplace_back(name); });
  return names;
}

std::map<std::string, std::string> key_types() {
  std::vector<std::string> keys;
  std::map<std::string, std::string> types;
  RunConfig().visit_sections([&](const char* name, auto& section, const char*) {
    section.visit(KeyLister{name, keys, &types});
  });
  return types;
}

void throw_if_any(const Problems& problems) {
  if (problems.lines.empty()) return;
  std::string message;
  for (std::size_t i = 0; i < problems.lines.size(); ++i) {
    if (i > 0) message += "\n";
    message += problems.lines[i];
  }
  throw Error(ErrorKind::Config, message);
}

std::string unknown_key_message(const std::string& path, const std::string& leaf,
                                const std::vector<std::string>& siblings,
                                const std::string& sibling_prefix) {
  std::string message = "unknown key";
  std::string guess = closest_match(leaf, siblings);
  if (!guess.empty()) {
    guess = sibling_prefix + guess;
  } else {
    // The same name in another section ("train.r" -> "peft.r"), or a near miss of a
    // full dotted path.
    const auto keys = all_keys();
    for (const auto& k : keys) {
      if (k.substr(k.find('.') + 1) == leaf) guess = k;
    }
    if (guess.empty()) guess = closest_match(path, keys);
  }
  if (!guess.empty()) message += " (did you mean '" + guess + "'?)";
  return message;
}

/// Whether a template has {soft} slots; a template that does not parse has none here (its
/// error comes with the task that renders it).
bool has_soft_slots(const std::string& template_text) {
  if (template_text.empty()) return false;
  try {
    return prompt::Template(template_text, "prompt.template").soft_token_count() > 0;
  } catch (const Error&) {
    return false;
  }
}

void check_required(const RunConfig& c, Purpose purpose, const std::string& source,
                    const Origins& origins, Problems& problems) {
  const auto require = [&](const std::string& key, const std::string& value, const char* who) {
    if (value.empty()) {
      problems.add(origin_of(origins, key, source), key,
                   std::string("required by `pft ") + who +
                       "` but missing (set it in the config "
                       "or with --set " +
                       key + "=...)");
    }
  };
  switch (purpose) {
    case Purpose::Train:
      require("model.path", c.model.path, "train");
      require("data.train", c.data.train, "train");
      if (c.peft.method == peft::kNoMethod && !has_soft_slots(c.prompt.template_text)) {
        auto methods = PeftConfig::method_names();
        methods.erase(methods.begin());
        problems.add(origin_of(origins, "peft.method", source), "peft.method",
                     "`none` leaves nothing to train (no {soft} slot in prompt.template); choose " +
                         join_alternatives(methods));
      }
      break;
    case Purpose::Eval:
      require("model.path", c.model.path, "eval");
      break;
    case Purpose::Generate:
      require("model.path", c.model.path, "generate");
      break;
    case Purpose::Any:
      break;
  }
  if ((c.prompt.num_demos > 0 || !c.prompt.demo_ids.empty()) &&
      (c.prompt.demos.empty() || c.prompt.demo_template.empty())) {
    const char* key = c.prompt.demos.empty() ? "prompt.demos" : "prompt.demo_template";
    problems.add(origin_of(origins, key, source), key,
                 "required when prompt.num_demos or prompt.demo_ids asks for demonstrations");
  }
  for (const auto& [key, message] : c.peft.check()) {
    problems.add(origin_of(origins, key, source), key, message);
  }
  if (c.train.loraplus_lr_ratio > 0 && c.peft.method != "lora") {
    problems.add(origin_of(origins, "train.loraplus_lr_ratio", source), "train.loraplus_lr_ratio",
                 "LoRA+ needs peft.method lora, got \"" + c.peft.method + "\"");
  }
  if (c.prompt.soft_init == "text" && c.prompt.soft_init_text.empty() &&
      has_soft_slots(c.prompt.template_text)) {
    problems.add(origin_of(origins, "prompt.soft_init_text", source), "prompt.soft_init_text",
                 "required when prompt.soft_init is text and prompt.template has {soft} slots");
  }
  if (c.generate.min_new_tokens > c.generate.max_new_tokens) {
    problems.add(origin_of(origins, "generate.min_new_tokens", source), "generate.min_new_tokens",
                 "must be <= generate.max_new_tokens (" +
                     std::to_string(c.generate.max_new_tokens) + "), got " +
                     std::to_string(c.generate.min_new_tokens));
  }
}

RunConfig build(const json& doc, const std::string& source, const Origins& origins,
                Purpose purpose) {
  Problems problems;
  if (!doc.is_object()) {
    throw Error(ErrorKind::Config,
                source + ": expected a JSON object at the top level, got " + describe_json(doc));
  }
  RunConfig config;
  const auto sections = section_names();
  for (const auto& [name, value] : doc.items()) {
    // A note for the reader of the file (what a config is for, what it needs); pft ignores it.
    if (name == kCommentKey) {
      if (!value.is_string()) {
        problems.add(origin_of(origins, name, source), name,
                     "expected a string (a note for the reader), got " + describe_json(value));
      }
      continue;
    }
    if (std::find(sections.begin(), sections.end(), name) == sections.end()) {
      problems.add(origin_of(origins, name, source), name,
                   unknown_key_message(name, name, sections, ""));
    }
  }
  config.visit_sections([&](const char* name, auto& section, const char*) {
    const auto it = doc.find(name);
    if (it == doc.end()) return;
    if (!it->is_object()) {
      problems.add(origin_of(origins, name, source), name,
                   "expected an object (a config section), got " + describe_json(*it));
      return;
    }
    SectionReader reader{*it, name, origins, source, problems, {}};
    section.visit(reader);
    for (const auto& [key, value] : it->items()) {
      if (std::find(reader.known.begin(), reader.known.end(), key) == reader.known.end()) {
        const std::string path = std::string(name) + "." + key;
        problems.add(origin_of(origins, path, source), path,
                     unknown_key_message(path, key, reader.known, std::string(name) + "."));
      }
    }
  });
  throw_if_any(problems);

  config.visit_sections([&](const char* name, auto& section, const char*) {
    section.visit(SectionValidator{name, origins, source, problems});
  });
  if (config.tokenizer.path.empty()) config.tokenizer.path = config.model.path;
  check_required(config, purpose, source, origins, problems);
  throw_if_any(problems);
  return config;
}

// Parser callback state: detects duplicate keys, which nlohmann would silently collapse.
struct DuplicateKeyCheck {
  std::vector<std::set<std::string>> seen;
  std::vector<std::string> path;
  std::string duplicate;
  std::string last_key;  // dotted path of the key read last

  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        seen.emplace_back();
        path.resize(static_cast<std::size_t>(depth) + 1);
        break;
      case json::parse_event_t::object_end:
        if (!seen.empty()) seen.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto key = parsed.get<std::string>();
        if (!seen.empty() && !seen.back().insert(key).second && duplicate.empty()) {
          std::string full;
          for (std::size_t i = 1; i < static_cast<std::size_t>(depth) && i < path.size(); ++i) {
            if (!path[i].empty()) full += path[i] + ".";
          }
          duplicate = full + key;
        }
        if (path.size() <= static_cast<std::size_t>(depth)) path.resize(depth + 1);
        path[depth] = key;
        last_key.clear();
        for (std::size_t i = 1; i <= static_cast<std::size_t>(depth) && i < path.size(); ++i) {
          if (!path[i].empty()) last_key += (last_key.empty() ? "" : ".") + path[i];
        }
        break;
      }
      default:
        break;
    }
    return true;
  }
};

}  // namespace

// ---- public API ---------------------------------------------------------------------

json parse_json_text(const std::string& text, const std::string& source) {
  DuplicateKeyCheck check;
  json doc;
  try {
    doc = json::parse(text, [&check](int depth, json::parse_event_t event, json& parsed) {
      return check(depth, event, parsed);
    });
  } catch (const json::out_of_range& e) {
    // nlohmann parses a number beyond a double's range as an error without a position; the
    // last key read is the one whose value it was.
    std::string reason = e.what();
    if (const auto bracket = reason.find("] "); bracket != std::string::npos)
      reason = reason.substr(bracket + 2);
    throw Error(ErrorKind::Config,
                source + ": " +
                    (check.last_key.empty() ? std::string("(top level)") : check.last_key) + ": " +
                    reason + " (a number must fit a 64-bit float)");
  } catch (const json::parse_error& e) {
    // Position of the offending byte as line:column (both 1-based).
    const std::size_t byte = e.byte == 0 ? 0 : e.byte - 1;
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string reason = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: ".
    if (const auto colon = reason.find(": "); colon != std::string::npos) {
      reason = reason.substr(colon + 2);
    }
    throw Error(ErrorKind::Config, source + ":" + std::to_string(line) + ":" +
                                       std::to_string(column) + ": malformed JSON: " + reason);
  }
  if (!check.duplicate.empty()) {
    throw Error(ErrorKind::Config, source + ": " + check.duplicate +
                                       ": duplicate key (JSON keeps only one; remove the other)");
  }
  return doc;
}

json parse_json_file(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error& e) {
    throw Error(ErrorKind::Config, std::string("config file ") + e.what());
  }
  return parse_json_text(text, path);
}

void apply_override(json& doc, const std::string& assignment) {
  const std::string where = "--set " + assignment;
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw Error(ErrorKind::Config, where + ": expected key.path=value, e.g. --set train.lr=3e-4");
  }
  const std::string key = assignment.substr(0, eq);
  const std::string raw = assignment.substr(eq + 1);
  const auto parts = split(key, '.');
  for (const auto& p : parts) {
    if (p.empty()) throw Error(ErrorKind::Config, where + ": empty component in key '" + key + "'");
  }

  const auto types = key_types();
  const auto sections = section_names();
  if (parts.size() == 1) {
    if (std::find(sections.begin(), sections.end(), key) == sections.end()) {
      throw Error(ErrorKind::Config,
                  where + ": " + key + ": " + unknown_key_message(key, key, sections, ""));
    }
  } else if (parts.size() > 2 || types.count(key) == 0) {
    // Keys are section.name; anything else is unknown. Nested values (a verbalizer entry)
    // are set whole: --set prompt.verbalizer='{"pos": ["great"]}'.
    std::vector<std::string> siblings;
    for (const auto& [k, t] : types) {
      if (k.rfind(parts[0] + ".", 0) == 0) siblings.push_back(k.substr(parts[0].size() + 1));
    }
    const std::string prefix = siblings.empty() ? "" : parts[0] + ".";
    throw Error(ErrorKind::Config, where + ": " + key + ": " +
                                       unknown_key_message(key, parts.back(), siblings, prefix));
  }

  json value;
  const auto type = types.find(key);
  if (type != types.end() && type->second == std::string("string")) {
    // A string key takes the text as typed: --set train.output_dir=2024 is "2024".
    value = raw;
    try {
      const json parsed = json::parse(raw);
      if (parsed.is_string()) value = parsed;
    } catch (const json::parse_error&) {
    }
  } else {
    try {
      value = json::parse(raw);
    } catch (const json::out_of_range&) {
      throw Error(ErrorKind::Config,
                  where + ": " + key + ": the number " + raw + " does not fit a 64-bit float");
    } catch (const json::parse_error&) {
      value = raw;  // the reader then reports "expected an integer, got string ..."
    }
  }

  json* node = &doc;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!node->contains(parts[i]) || !(*node)[parts[i]].is_object())
      (*node)[parts[i]] = json::object();
    node = &(*node)[parts[i]];
  }
  (*node)[parts.back()] = value;
}

RunConfig from_json(const json& doc, const std::string& source, Purpose purpose) {
  return build(doc, source, {}, purpose);
}

RunConfig load(const std::string& file, const std::vector<std::string>& overrides,
               Purpose purpose) {
  json doc = file.empty() ? json::object() : parse_json_file(file);
  if (!doc.is_object()) {
    throw Error(ErrorKind::Config,
                file + ": expected a JSON object at the top level, got " + describe_json(doc));
  }
  Origins origins;
  for (const auto& assignment : overrides) {
    apply_override(doc, assignment);
    origins[assignment.substr(0, assignment.find('='))] = "--set " + assignment;
  }
  return build(doc, file.empty() ? std::string("(no --config)") : file, origins, purpose);
}

nlohmann::ordered_json to_json(const RunConfig& config) {
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  RunConfig copy = config;
  copy.visit_sections([&](const char* name, auto& section, const char*) {
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    section.visit(SectionWriter{object});
    doc[name] = std::move(object);
  });
  return doc;
}

std::vector<std::string> all_keys() {
  std::vector<std::string> keys;
  RunConfig().visit_sections([&](const char* name, auto& section, const char*) {
    section.visit(KeyLister{name, keys});
  });
  return keys;
}

std::string reference_markdown() {
  std::ostringstream out;
  RunConfig().visit_sections([&](const char* name, auto& section, const char* doc) {
    out << "### `" << name << "`\n\n" << doc << "\n\n";
    out << "| key | type | default | meaning |\n|---|---|---|---|\n";
    section.visit(DocWriter{out});
    out << "\n";
  });
  return out.str();
}

}  // namespace pft::config
