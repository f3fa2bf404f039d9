#include "pft/tokenizer/tokenize_file.h"

#include <fstream>

#include "pft/util/error.h"
#include "pft/util/fs.h"

namespace pft::tokenizer {

namespace {

std::string text_field(const nlohmann::json& object, const std::string& field,
                       const std::string& where) {
  const auto it = object.find(field);
  if (it == object.end()) {
    throw Error(ErrorKind::Input, where + ": no field \"" + field + "\" in this line");
  }
  if (!it->is_string()) {
    throw Error(ErrorKind::Input, where + ": field \"" + field + "\" must be a string, found " +
                                      std::string(it->type_name()));
  }
  return it->get<std::string>();
}

}  // namespace

TokenizeFileStats tokenize_jsonl(const Tokenizer& tokenizer, const TokenizeFileOptions& options) {
  if (options.output.empty()) throw Error(ErrorKind::Usage, "no output file given");
  std::ifstream in(options.input, std::ios::binary);
  if (!in) throw Error(ErrorKind::Input, options.input + ": cannot open for reading");
  TokenizeFileStats stats;
  // Everything is read and tokenized inside the writer: an error anywhere leaves no output.
  write_file_atomic(options.output, [&](std::ostream& out) {
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      const std::string where = options.input + ":" + std::to_string(number);
      nlohmann::json object;
      try {
        object = nlohmann::json::parse(line);
      } catch (const nlohmann::json::parse_error& e) {
        throw Error(ErrorKind::Input, where + ": malformed JSON (" + e.what() + ")");
      } catch (const nlohmann::json::out_of_range& e) {
        throw Error(ErrorKind::Input,
                    where + ": a number beyond a 64-bit float (" + std::string(e.what()) + ")");
      }
      if (!object.is_object()) {
        throw Error(ErrorKind::Input,
                    where + ": expected a JSON object, found " + std::string(object.type_name()));
      }
      const std::string text = text_field(object, options.field, where);
      const std::string pair = options.pair_field.empty()
                                   ? std::string()
                                   : text_field(object, options.pair_field, where);
      // Encode untruncated first: most lines fit, and a line that does not is counted.
      EncodeOptions full = options.encode;
      full.max_length = 0;
      full.pad_to = 0;
      Encoding e;
      try {
        auto encode = [&](const EncodeOptions& o) {
          return options.pair_field.empty() ? tokenizer.encode(text, o)
                                            : tokenizer.encode_pair(text, pair, o);
        };
        e = encode(full);
        const bool too_long =
            options.encode.max_length > 0 && e.ids.size() > options.encode.max_length;
        if (too_long || options.encode.pad_to > e.ids.size()) e = encode(options.encode);
        stats.truncated += too_long ? 1 : 0;
      } catch (const Error& error) {
        throw Error(error.kind(), where + ": " + error.what());
      }
      object["input_ids"] = e.ids;
      if (!options.pair_field.empty()) object["token_type_ids"] = e.type_ids;
      out << object.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict) << '\n';
      ++stats.lines;
      stats.tokens += e.ids.size();
    }
    if (in.bad()) throw Error(ErrorKind::Input, options.input + ": read error");
  });
  return stats;
}

nlohmann::json to_json(const Encoding& e) {
  nlohmann::json offsets = nlohmann::json::array();
  for (const auto& [b, end] : e.offsets) offsets.push_back({b, end});
  return {{"ids", e.ids},           {"tokens", e.tokens},
          {"type_ids", e.type_ids}, {"attention_mask", e.attention_mask},
          {"offsets", offsets},     {"sequence_ids", e.sequence_ids}};
}

}  // namespace pft::tokenizer
