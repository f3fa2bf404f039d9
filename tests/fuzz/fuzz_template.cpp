// Prompt templates: parsing, then rendering against a fixed example.
#include "fuzz_util.h"
#include "pft/prompt/template.h"
#include "pft/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const nlohmann::json example = {
      {"text", "a fine film"}, {"label", "positive"}, {"meta", {{"title", "t"}, {"n", 3}}}};
  try {
    const pft::prompt::Template t(pft::fuzz::text(data, size), "prompt.template");
    (void)t.fields();
    (void)t.soft_token_count();
    t.render(example, {"fuzz.jsonl", 1}, "demo text");
    t.render_text(example, {"fuzz.jsonl", 1}, "great");
  } catch (const pft::Error&) {
  }
  return 0;
}
