#include "pft/util/json.h"

namespace pft {

using nlohmann::json;

JsonKeys::JsonKeys(const json& doc, std::string source)
    : JsonKeys(doc, std::move(source), Style{}) {}

JsonKeys::JsonKeys(const json& doc, std::string source, Style style)
    : doc_(doc), source_(std::move(source)), style_(style) {}

std::string JsonKeys::describe(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return std::string(value.type_name()) + " " + text;
}

void JsonKeys::fail(const std::string& key, const std::string& what) const {
  const std::string where = style_.quote_key ? "key '" + key + "'" : key;
  throw Error(style_.kind, source_ + ": " + where + ": " + what);
}

const json* JsonKeys::find(const char* key) const {
  if (!doc_.is_object()) return nullptr;
  const auto it = doc_.find(key);
  if (it == doc_.end() || it->is_null()) return nullptr;
  return &*it;
}

namespace {

// One typed reader: `is` tests the JSON type, `expected` names it in the error.
template <class T>
bool read_key(const JsonKeys& keys, const json* v, const char* key, T& out,
              bool (json::*is)() const noexcept, const char* expected) {
  if (v == nullptr) return false;
  if (!(v->*is)())
    keys.fail(key, std::string("expected ") + expected + ", got " + JsonKeys::describe(*v));
  out = v->get<T>();
  return true;
}

}  // namespace

bool JsonKeys::integer(const char* key, std::int64_t& out) const {
  return read_key(*this, find(key), key, out, &json::is_number_integer, "an integer");
}

bool JsonKeys::number(const char* key, double& out) const {
  return read_key(*this, find(key), key, out, &json::is_number, "a number");
}

bool JsonKeys::string(const char* key, std::string& out) const {
  return read_key(*this, find(key), key, out, &json::is_string, "a string");
}

bool JsonKeys::boolean(const char* key, bool& out) const {
  return read_key(*this, find(key), key, out, &json::is_boolean, "true or false");
}

bool JsonKeys::nullable_integer(const char* key, std::optional<std::int64_t>& out) const {
  if (!doc_.contains(key)) return false;
  std::int64_t value = 0;
  if (integer(key, value)) {
    out = value;
  } else {
    out.reset();  // null
  }
  return true;
}

bool JsonKeys::integers(const char* key, std::vector<std::int64_t>& out) const {
  const auto* v = find(key);
  if (v == nullptr) return false;
  std::vector<std::int64_t> ids;
  if (v->is_number_integer()) {
    ids.push_back(v->get<std::int64_t>());
  } else if (v->is_array() && !v->empty()) {
    for (const auto& id : *v) {
      if (!id.is_number_integer()) {
        fail(key, "expected an integer or a list of integers, got " + describe(*v));
      }
      ids.push_back(id.get<std::int64_t>());
    }
  } else {
    fail(key, "expected an integer or a non-empty list of integers, got " + describe(*v));
  }
  out = std::move(ids);
  return true;
}

std::optional<std::vector<std::string>> JsonKeys::id2label() const {
  const auto* value = find("id2label");
  if (value == nullptr) return std::nullopt;
  if (!value->is_object()) {
    fail("id2label", "expected an object {\"0\": \"name\", ...}, got " + describe(*value));
  }
  std::vector<std::string> names(value->size());
  std::vector<bool> seen(value->size(), false);
  for (const auto& [key, name] : value->items()) {
    std::size_t used = 0;
    long long index = -1;
    try {
      index = std::stoll(key, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != key.size() || index < 0 || index >= static_cast<long long>(names.size())) {
      fail("id2label", "expected the keys \"0\" .. \"" + std::to_string(names.size() - 1) +
                           "\", got \"" + key + "\"");
    }
    if (!name.is_string()) fail("id2label." + key, "expected a string, got " + describe(name));
    names[static_cast<std::size_t>(index)] = name.get<std::string>();
    seen[static_cast<std::size_t>(index)] = true;
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) fail("id2label", "index " + std::to_string(i) + " is missing");
  }
  return names;
}

}  // namespace pft
