#pragma once
// Small string helpers shared by config validation and the CLI.

#include <string>
#include <string_view>
#include <vector>

namespace pft {

/// Edit distance (insertions, deletions, substitutions, adjacent transpositions).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word` when it is a plausible misspelling (distance at most
/// max(1, len/3)), else an empty string. Used for "did you mean" hints.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

/// "a, b or c"
std::string join_alternatives(const std::vector<std::string>& items);

std::vector<std::string> split(std::string_view text, char sep);

/// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view separator);

/// Whether dotted path `path` is `module` or lies under it ("classifier.weight" under
/// "classifier", not under "classif").
bool is_path_under(std::string_view path, std::string_view module);

}  // namespace pft
