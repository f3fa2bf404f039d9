#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "pft/app/generate.h"

namespace pft::cli {

namespace {
struct GenerateOptions {
  std::string model;
  AdapterOptions adapter;
  app::GenerateOptions run;
  // Overrides of the config's generate.* keys, applied as --set after the user's own.
  std::vector<std::string> sets;
};

// Binds `--name VALUE` to the config key `key`: given, it becomes `--set key=VALUE`.
template <class T>
CLI::Option* override_option(CLI::App& sub, GenerateOptions& options, const std::string& name,
                             const std::string& key, const std::string& help) {
  auto* group = "Generation (override the config's generate section)";
  return sub
      .add_option_function<T>(
          name,
          [&options, key](const T& value) {
            // JSON's shortest round-trip spelling: --length-penalty 0.6 stays 0.6.
            options.sets.push_back(key + "=" + nlohmann::json(value).dump());
          },
          help)
      ->group(group);
}
}  // namespace

void setup_generate(Program& program) {
  auto options = std::make_shared<GenerateOptions>();
  auto* sub = program.app.add_subcommand(
      "generate", "Generate text with an encoder-decoder model (and adapter)");
  add_common_options(*sub, program.common);
  sub->add_option("--model", options->model,
                  "Hugging Face checkpoint folder (overrides model.path)");
  add_adapter_options(*sub, options->adapter, "--adapter",
                      "PEFT adapter folder to apply (pft's or Python PEFT's)");
  sub->add_option("--input", options->run.input, "Prompts: a JSONL file, or - for standard input")
      ->required();
  sub->add_option("--output", options->run.output,
                  "Where to write one JSON line per prompt (default: standard output)");
  sub->add_option("--input-field", options->run.input_field,
                  "Field holding the prompt (default: source, else text)");
  sub->add_option("--output-field", options->run.output_field,
                  "Field the generated text is written to (default: generated)");
  sub->add_flag("--with-ids", options->run.with_ids,
                "Also write the generated token ids to the field <output-field>_ids");
  sub->add_option("--batch-size", options->run.batch_size, "Prompts per batch (default: 32)")
      ->check(CLI::PositiveNumber);
  auto& o = *options;
  override_option<std::int64_t>(*sub, o, "--max-new-tokens", "generate.max_new_tokens",
                                "Most tokens generated per prompt")
      ->check(CLI::PositiveNumber);
  override_option<std::int64_t>(*sub, o, "--min-new-tokens", "generate.min_new_tokens",
                                "EOS is blocked until this many tokens exist")
      ->check(CLI::NonNegativeNumber);
  override_option<std::int64_t>(*sub, o, "--num-beams", "generate.num_beams",
                                "Beam width (1: greedy or sampling)")
      ->check(CLI::PositiveNumber);
  override_option<double>(*sub, o, "--length-penalty", "generate.length_penalty",
                          "Beam scores are divided by length^length_penalty");
  override_option<std::int64_t>(*sub, o, "--no-repeat-ngram-size", "generate.no_repeat_ngram_size",
                                "Forbid repeating any n-gram of this size (0: off)")
      ->check(CLI::NonNegativeNumber);
  override_option<double>(*sub, o, "--temperature", "generate.temperature",
                          "Softmax temperature for sampling")
      ->check(CLI::PositiveNumber);
  override_option<std::int64_t>(*sub, o, "--top-k", "generate.top_k",
                                "Sample among the k most likely tokens (0: all)")
      ->check(CLI::NonNegativeNumber);
  override_option<double>(*sub, o, "--top-p", "generate.top_p", "Nucleus sampling mass, in (0, 1]")
      ->check(CLI::Range(0.0, 1.0));
  override_option<std::int64_t>(*sub, o, "--seed", "generate.seed", "Seed of the sampler")
      ->check(CLI::NonNegativeNumber);
  sub->add_option_function<std::string>(
         "--compute-type",
         [options](const std::string& v) { options->sets.push_back("generate.compute_type=" + v); },
         "Weights of the decoder's products: auto, float32, bfloat16 or int8")
      ->check(CLI::IsMember({"auto", "float32", "bfloat16", "int8"}))
      ->group("Generation (override the config's generate section)");
  sub->add_flag_function(
         "--early-stopping",
         [options](std::int64_t) { options->sets.push_back("generate.early_stopping=true"); },
         "Beam search stops once num_beams hypotheses are finished")
      ->group("Generation (override the config's generate section)");
  sub->add_flag_function(
         "--do-sample",
         [options](std::int64_t) { options->sets.push_back("generate.do_sample=true"); },
         "Sample instead of taking the most likely token")
      ->group("Generation (override the config's generate section)");
  sub->callback([&program, options] {
    program.action = [&program, options]() -> int {
      auto common = program.common;
      if (!options->model.empty()) common.sets.push_back("model.path=" + options->model);
      common.sets.insert(common.sets.end(), options->sets.begin(), options->sets.end());
      const auto config = load_config(common, config::Purpose::Generate);
      auto run = options->run;
      run.device = common.device;
      run.adapter = options->adapter.resolve();
      app::generate_run(config, run);
      return 0;
    };
  });
}

}  // namespace pft::cli
