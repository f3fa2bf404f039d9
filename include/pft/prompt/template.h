#pragma once
// The prompt-template language (docs/prompts.md). A template is parsed once into parts and
// rendered per example into pieces: literal text, field text (which truncation may shorten),
// the mask slot and soft tokens. Rendering knows nothing of tokenizers; turning pieces into
// ids happens after, so the same template serves BERT and T5.
//
//   "{text} It was {mask}."              field + literal + mask slot
//   "{soft:4} {premise} ? {mask} , {hypothesis}"
//   "{demos} Review: {text} Sentiment: {mask}"   few-shot demonstrations
//   "{{literal braces}}"                   escapes

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pft::prompt {

/// One parsed element of a template.
struct Part {
  enum class Kind { Literal, Field, Mask, Soft, Demos };
  Kind kind = Kind::Literal;
  std::string text;      // Literal: the text; Field: the dotted field path
  std::int64_t count = 0;  // Soft: number of soft tokens
  std::size_t column = 0;  // 1-based column in the template, for messages
};

/// One rendered element.
struct Piece {
  enum class Kind { Text, Mask, Soft };
  Kind kind = Kind::Text;
  std::string text;        // Text: the content
  std::string field;       // Text from a field: its name (empty for literal text)
  bool truncatable = false;  // Text from a field of the example itself may be shortened
  std::int64_t count = 0;    // Soft: number of soft tokens
};

/// Where an example came from, for messages ("data.jsonl:17").
struct Source {
  std::string file;
  std::size_t line = 0;
  std::string describe() const;
};

class Template {
 public:
  /// Parses `text`; `name` names it in messages (e.g. "prompt.template"). Unbalanced or
  /// empty braces, unknown slots and malformed `{soft:N}` are pft::Error (Config) naming the
  /// template and the 1-based column.
  Template(std::string text, std::string name);

  const std::vector<Part>& parts() const { return parts_; }
  bool has_mask() const;
  bool has_demos() const;
  std::int64_t soft_token_count() const;
  /// The fields the template reads, in order of appearance.
  std::vector<std::string> fields() const;

  /// Renders `example` (a JSON object). `demos` replaces the {demos} slot (already rendered
  /// demonstrations, joined). An unknown field is a pft::Error (Input) naming the field, the
  /// template and `source`. Adjacent literal pieces are merged.
  std::vector<Piece> render(const nlohmann::json& example, const Source& source,
                            const std::string& demos = {}) const;

  /// Renders as plain text (mask and soft slots as `mask_text` / nothing), for demos and
  /// for generation prompts; a demo's own {mask} becomes its answer, passed in `mask_text`.
  std::string render_text(const nlohmann::json& example, const Source& source,
                          const std::string& mask_text = {}) const;

  const std::string& text() const { return text_; }
  const std::string& name() const { return name_; }

 private:
  std::string text_;
  std::string name_;
  std::vector<Part> parts_;
};

/// The value of a dotted field path ("meta.title") as text: strings as they are, numbers and
/// booleans in JSON form. Returns nullopt when any step is missing or the value is null,
/// an object or an array.
std::optional<std::string> lookup_field(const nlohmann::json& example, const std::string& path);

}  // namespace pft::prompt
