// Hugging Face tokenizer.json: the whole pipeline read from the input (every component's
// checks), then, when it loads, a few texts encoded (single, pair, truncated, padded) and
// their ids decoded with and without special tokens.
#include "fuzz_util.h"
#include "pft/tokenizer/hf_json.h"
#include "pft/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input = pft::fuzz::text(data, size);
  std::unique_ptr<pft::tokenizer::Tokenizer> tok;
  try {
    tok = pft::tokenizer::parse_tokenizer_json(input, "", "fuzz/tokenizer.json");
  } catch (const pft::Error&) {
    return 0;
  }
  static const char* const texts[] = {"", " ", "Hello, world! It's 2026.", "  a\tb\n\nc  ",
                                      "caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
                                      "[CLS] <s> </s> <unk> [MASK] <mask> <pad>", "\xFF\xFE"};
  for (const char* text : texts) {
    try {
      pft::tokenizer::EncodeOptions options;
      auto e = tok->encode(text, options);
      tok->decode(e.ids, true);
      tok->decode(e.ids, false);
      options.max_length = 8;
      options.pad_to = 12;
      tok->encode_pair(text, "second text", options);
      tok->tokenize_ids(text);
    } catch (const pft::Error&) {
    }
  }
  return 0;
}
