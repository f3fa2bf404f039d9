#include "tokenizer/assemble.h"

#include <algorithm>
#include <string>

#include "pft/util/error.h"

namespace pft::tokenizer {

void validate(const EncodeOptions& options) {
  if (options.truncation != "longest_first" && options.truncation != "only_first" &&
      options.truncation != "only_second") {
    throw Error(ErrorKind::Usage,
                "truncation: expected longest_first, only_first or "
                "only_second, got '" +
                    options.truncation + "'");
  }
}

void truncate(std::vector<Piece>& first, std::vector<Piece>* second, std::size_t added,
              const EncodeOptions& options) {
  if (options.max_length == 0) return;
  const std::size_t n1 = first.size();
  const std::size_t n2 = second != nullptr ? second->size() : 0;
  if (n1 + n2 + added <= options.max_length) return;
  // Hugging Face leaves such an input untruncated, longer than max_length; pft refuses.
  if (options.max_length < added) {
    throw Error(ErrorKind::Usage, "max_length " + std::to_string(options.max_length) +
                                      " is shorter than the " + std::to_string(added) +
                                      " special tokens the input needs");
  }
  const std::size_t budget = options.max_length - added;  // tokens left for the texts
  if (budget == 0) {                                      // every strategy empties both texts then
    first.clear();
    if (second != nullptr) second->clear();
    return;
  }
  const std::size_t to_remove = n1 + n2 - budget;
  if (options.truncation == "longest_first") {
    if (second == nullptr) {
      first.resize(budget);
      return;
    }
    // Hugging Face's rule: the shorter sequence keeps its length if the longer one can
    // absorb the whole cut; otherwise both are cut to half the budget (the longer one
    // keeps the odd token).
    std::size_t short_len = std::min(n1, n2), long_len = std::max(n1, n2);
    if (short_len > budget) {
      long_len = short_len;
    } else {
      long_len = std::max(short_len, budget - short_len);
    }
    if (short_len + long_len > budget) {
      short_len = budget / 2;
      long_len = short_len + budget % 2;
    }
    const bool first_is_longer = n1 > n2;
    first.resize(std::min(n1, first_is_longer ? long_len : short_len));
    second->resize(std::min(n2, first_is_longer ? short_len : long_len));
    return;
  }
  const bool only_first = options.truncation == "only_first";
  if (!only_first && second == nullptr) {
    throw Error(ErrorKind::Usage,
                "truncation only_second needs a pair of texts, but a single text was given");
  }
  std::vector<Piece>& target = only_first ? first : *second;
  if (target.size() <= to_remove) {
    throw Error(ErrorKind::Usage,
                std::string("cannot truncate to max_length ") + std::to_string(options.max_length) +
                    " with " + options.truncation + ": the " + (only_first ? "first" : "second") +
                    " text has " + std::to_string(target.size()) + " tokens but " +
                    std::to_string(to_remove) + " must go");
  }
  target.resize(target.size() - to_remove);
}

namespace {
void push(Encoding& e, const Tokenizer& tokenizer, std::int64_t id, std::int64_t type_id,
          std::size_t begin, std::size_t end, std::int64_t sequence) {
  e.ids.push_back(id);
  e.type_ids.push_back(type_id);
  e.attention_mask.push_back(1);
  e.tokens.push_back(tokenizer.id_to_token(id));
  e.offsets.emplace_back(begin, end);
  e.sequence_ids.push_back(sequence);
}
}  // namespace

void reserve(Encoding& e, std::size_t n) {
  e.ids.reserve(n);
  e.type_ids.reserve(n);
  e.attention_mask.reserve(n);
  e.tokens.reserve(n);
  e.offsets.reserve(n);
  e.sequence_ids.reserve(n);
}

Encoding assemble(std::vector<Piece> first, std::vector<Piece>* second, const SpecialLayout& layout,
                  const EncodeOptions& options, const Tokenizer& tokenizer) {
  validate(options);
  const bool special = options.add_special_tokens;
  const std::size_t added = special ? layout.prefix.size() + layout.after_first.size() +
                                          (second != nullptr ? layout.after_second.size() : 0)
                                    : 0;
  truncate(first, second, added, options);
  Encoding e;
  const std::size_t total = first.size() + (second != nullptr ? second->size() : 0) + added;
  reserve(e, std::max(total, options.pad_to));
  if (special) {
    for (auto id : layout.prefix) push(e, tokenizer, id, 0, 0, 0, -1);
  }
  for (const auto& p : first) push(e, tokenizer, p.id, 0, p.begin, p.end, 0);
  if (special) {
    for (auto id : layout.after_first) push(e, tokenizer, id, 0, 0, 0, -1);
  }
  if (second != nullptr) {
    for (const auto& p : *second)
      push(e, tokenizer, p.id, layout.second_type_id, p.begin, p.end, 1);
    if (special) {
      for (auto id : layout.after_second) push(e, tokenizer, id, layout.second_type_id, 0, 0, -1);
    }
  }
  if (e.ids.size() < options.pad_to) {
    pad_right(e, options.pad_to, tokenizer.pad_id(), tokenizer.id_to_token(tokenizer.pad_id()));
  }
  return e;
}

void pad_right(Encoding& e, std::size_t pad_to, std::int64_t pad_id, const std::string& pad_token) {
  while (e.ids.size() < pad_to) {
    e.ids.push_back(pad_id);
    e.type_ids.push_back(0);
    e.attention_mask.push_back(0);
    e.tokens.push_back(pad_token);
    e.offsets.emplace_back(0, 0);
    e.sequence_ids.push_back(-1);
  }
}

}  // namespace pft::tokenizer
