#pragma once
// CoNLL files (named-entity recognition): one word a line with its tag in the last column,
// blank lines between sentences, `-DOCSTART-` lines skipped. Columns are separated by tabs
// when the line has a tab (a word may then hold spaces: "New York<TAB>B-LOC"), else by
// spaces (CoNLL-2003's "EU NNP B-NP B-ORG").

#include <cstddef>
#include <string>
#include <vector>

namespace pft::data {

struct ConllSentence {
  std::vector<std::string> words;
  std::vector<std::string> tags;
  std::size_t line = 0;  // 1-based line of the first word
};

/// Reads a CoNLL file, the first `limit` sentences (0: all). pft::Error (Input) naming the
/// file (and line): a folder, an unreadable file, a line with one column, a JSON line (a
/// JSONL file is not CoNLL data), a file without any sentence.
std::vector<ConllSentence> read_conll(const std::string& path, std::size_t limit = 0);

}  // namespace pft::data
