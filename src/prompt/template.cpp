#include "pft/prompt/template.h"

#include "pft/util/error.h"
#include "pft/util/strings.h"

using nlohmann::json;

namespace pft::prompt {

std::string Source::describe() const {
  if (file.empty()) return line > 0 ? "example " + std::to_string(line) : "example";
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

namespace {

[[noreturn]] void template_error(const std::string& name, const std::string& text,
                                 std::size_t column, const std::string& what) {
  throw Error(ErrorKind::Config, name + ": column " + std::to_string(column) + ": " + what +
                                     " in template \"" + text + "\"");
}

bool valid_field_path(const std::string& path) {
  if (path.empty()) return false;
  for (const auto& part : split(path, '.')) {
    if (part.empty()) return false;
    for (char c : part) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
      if (!ok) return false;
    }
  }
  return true;
}

}  // namespace

Template::Template(std::string text, std::string name) : text_(std::move(text)), name_(std::move(name)) {
  std::string literal;
  std::size_t literal_column = 1;
  const auto flush = [&] {
    if (!literal.empty()) parts_.push_back({Part::Kind::Literal, literal, 0, literal_column});
    literal.clear();
  };
  for (std::size_t i = 0; i < text_.size(); ++i) {
    const char c = text_[i];
    if (c == '{' && i + 1 < text_.size() && text_[i + 1] == '{') {
      if (literal.empty()) literal_column = i + 1;
      literal += '{';
      ++i;
      continue;
    }
    if (c == '}') {
      if (i + 1 < text_.size() && text_[i + 1] == '}') {
        if (literal.empty()) literal_column = i + 1;
        literal += '}';
        ++i;
        continue;
      }
      template_error(name_, text_, i + 1, "unmatched '}' (write '}}' for a literal brace)");
    }
    if (c != '{') {
      if (literal.empty()) literal_column = i + 1;
      literal += c;
      continue;
    }
    const std::size_t open = i;
    const std::size_t close = text_.find_first_of("{}", open + 1);
    if (close == std::string::npos || text_[close] == '{') {
      template_error(name_, text_, open + 1, "unclosed '{' (write '{{' for a literal brace)");
    }
    flush();
    const std::string slot = text_.substr(open + 1, close - open - 1);
    const std::size_t column = open + 1;
    if (slot.empty()) template_error(name_, text_, column, "empty slot '{}'");
    if (slot == "mask") {
      parts_.push_back({Part::Kind::Mask, {}, 0, column});
    } else if (slot == "demos") {
      parts_.push_back({Part::Kind::Demos, {}, 0, column});
    } else if (slot == "soft" || slot.rfind("soft:", 0) == 0) {
      std::int64_t n = 1;
      if (slot.size() > 4) {
        const std::string digits = slot.substr(5);
        if (digits.empty() || digits.size() > 6 ||
            digits.find_first_not_of("0123456789") != std::string::npos || std::stoll(digits) < 1) {
          template_error(name_, text_, column,
                         "'{" + slot + "}': expected {soft} or {soft:N} with N a positive integer");
        }
        n = std::stoll(digits);
      }
      parts_.push_back({Part::Kind::Soft, {}, n, column});
    } else if (valid_field_path(slot)) {
      parts_.push_back({Part::Kind::Field, slot, 0, column});
    } else {
      template_error(name_, text_, column,
                     "'{" + slot + "}' is not a slot: expected {field}, {a.b} (nested field), "
                     "{mask}, {soft}, {soft:N} or {demos}");
    }
    i = close;
  }
  flush();
  std::size_t masks = 0, demos = 0;
  for (const auto& part : parts_) {
    if (part.kind == Part::Kind::Mask && ++masks > 1) {
      template_error(name_, text_, part.column, "a second {mask}: a template has at most one");
    }
    if (part.kind == Part::Kind::Demos && ++demos > 1) {
      template_error(name_, text_, part.column, "a second {demos}: a template has at most one");
    }
  }
}

bool Template::has_mask() const {
  return std::any_of(parts_.begin(), parts_.end(), [](const Part& p) { return p.kind == Part::Kind::Mask; });
}

bool Template::has_demos() const {
  return std::any_of(parts_.begin(), parts_.end(), [](const Part& p) { return p.kind == Part::Kind::Demos; });
}

std::int64_t Template::soft_token_count() const {
  std::int64_t n = 0;
  for (const auto& p : parts_) {
    if (p.kind == Part::Kind::Soft) n += p.count;
  }
  return n;
}

std::vector<std::string> Template::fields() const {
  std::vector<std::string> names;
  for (const auto& p : parts_) {
    if (p.kind == Part::Kind::Field) names.push_back(p.text);
  }
  return names;
}

std::optional<std::string> lookup_field(const json& example, const std::string& path) {
  const json* node = &example;
  for (const auto& key : split(path, '.')) {
    if (!node->is_object()) return std::nullopt;
    const auto it = node->find(key);
    if (it == node->end()) return std::nullopt;
    node = &*it;
  }
  if (node->is_string()) return node->get<std::string>();
  if (node->is_number() || node->is_boolean()) return node->dump();
  return std::nullopt;
}

namespace {

std::string field_value(const Template& t, const Part& part, const json& example, const Source& source) {
  auto value = lookup_field(example, part.text);
  if (value) return *value;
  std::string available;
  if (example.is_object()) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : example.items()) keys.push_back(k);
    available = " (the example has: " + join_alternatives(keys) + ")";
    const std::string guess = closest_match(part.text, keys);
    if (!guess.empty()) available += "; did you mean {" + guess + "}?";
  }
  throw Error(ErrorKind::Input, source.describe() + ": field '" + part.text + "' of " + t.name() +
                                    " \"" + t.text() + "\" is missing, null or not text" + available);
}

}  // namespace

std::vector<Piece> Template::render(const json& example, const Source& source,
                                    const std::string& demos) const {
  std::vector<Piece> pieces;
  const auto add_text = [&](const std::string& text, const std::string& field, bool truncatable) {
    if (text.empty()) return;
    if (!truncatable && !pieces.empty() && pieces.back().kind == Piece::Kind::Text &&
        !pieces.back().truncatable && pieces.back().field.empty() && field.empty()) {
      pieces.back().text += text;
      return;
    }
    pieces.push_back({Piece::Kind::Text, text, field, truncatable, 0});
  };
  for (const auto& part : parts_) {
    switch (part.kind) {
      case Part::Kind::Literal:
        add_text(part.text, {}, false);
        break;
      case Part::Kind::Field:
        add_text(field_value(*this, part, example, source), part.text, true);
        break;
      case Part::Kind::Demos:
        add_text(demos, {}, false);
        break;
      case Part::Kind::Mask:
        pieces.push_back({Piece::Kind::Mask, {}, {}, false, 0});
        break;
      case Part::Kind::Soft:
        pieces.push_back({Piece::Kind::Soft, {}, {}, false, part.count});
        break;
    }
  }
  return pieces;
}

std::string Template::render_text(const json& example, const Source& source,
                                   const std::string& mask_text) const {
  std::string out;
  for (const auto& part : parts_) {
    switch (part.kind) {
      case Part::Kind::Literal:
        out += part.text;
        break;
      case Part::Kind::Field:
        out += field_value(*this, part, example, source);
        break;
      case Part::Kind::Mask:
        out += mask_text;
        break;
      case Part::Kind::Soft:
        break;
      case Part::Kind::Demos:
        throw Error(ErrorKind::Config, name_ + ": {demos} cannot appear in a demonstration's own template");
    }
  }
  return out;
}

}  // namespace pft::prompt
