#include "pft/app/generate.h"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "pft/app/run.h"
#include "pft/generate/generate.h"
#include "pft/model/interfaces.h"
#include "pft/task/hooked_model.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"
#include "pft/util/progress.h"
#include "pft/util/runtime.h"

namespace pft::app {

namespace {

bool blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n\f\v") == std::string::npos;
}

std::string where(const std::string& name, std::size_t line) {
  return name + ":" + std::to_string(line);
}

// Prints the text of one growing sequence as it is generated (a terminal, one prompt).
class Streamer {
 public:
  Streamer(const tokenizer::Tokenizer& tokenizer, std::vector<std::int64_t> eos)
      : tokenizer_(tokenizer), eos_(std::move(eos)) {}

  void operator()(const std::vector<std::int64_t>& tokens, const std::vector<bool>& running) {
    if (done_) return;
    const auto token = tokens.front();
    if (std::find(eos_.begin(), eos_.end(), token) == eos_.end()) ids_.push_back(token);
    // Decode everything so far: SentencePiece may join pieces differently once more arrive.
    const auto text = tokenizer_.decode(ids_, true);
    if (text.compare(0, printed_.size(), printed_) == 0) {
      std::cout << text.substr(printed_.size()) << std::flush;
      printed_ = text;
    }
    done_ = !running.front();
  }

 private:
  const tokenizer::Tokenizer& tokenizer_;
  std::vector<std::int64_t> eos_;
  std::vector<std::int64_t> ids_;
  std::string printed_;
  bool done_ = false;
};

}  // namespace

std::vector<Prompt> read_prompts(std::istream& in, const std::string& name,
                                 const std::string& input_field) {
  std::vector<Prompt> prompts;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (blank(line)) {
      throw Error(ErrorKind::Input,
                  where(name, number) +
                      ": empty line; every line must be a JSON object with the "
                      "prompt in \"" +
                      (input_field.empty() ? std::string("source\" or \"text") : input_field) +
                      "\"");
    }
    Prompt prompt;
    prompt.line = number;
    try {
      prompt.record = nlohmann::ordered_json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(ErrorKind::Input, where(name, number) + ": malformed JSON: " + e.what());
    } catch (const nlohmann::json::out_of_range& e) {
      throw Error(ErrorKind::Input,
                  where(name, number) + ": a number beyond a 64-bit float: " + e.what());
    }
    if (!prompt.record.is_object()) {
      throw Error(ErrorKind::Input, where(name, number) + ": expected a JSON object, got " +
                                        std::string(prompt.record.type_name()));
    }
    std::string field = input_field;
    if (field.empty()) field = prompt.record.contains("source") ? "source" : "text";
    const auto it = prompt.record.find(field);
    if (it == prompt.record.end()) {
      throw Error(
          ErrorKind::Input,
          where(name, number) + ": no \"" + field + "\" field" +
              (input_field.empty() ? " (nor \"source\"); choose the field with --input-field"
                                   : ""));
    }
    if (!it->is_string()) {
      throw Error(ErrorKind::Input, where(name, number) + ": \"" + field +
                                        "\" must be a string, got " + it->type_name());
    }
    prompt.text = it->get<std::string>();
    if (blank(prompt.text)) {
      throw Error(ErrorKind::Input, where(name, number) + ": \"" + field + "\" is an empty prompt");
    }
    prompts.push_back(std::move(prompt));
  }
  if (in.bad()) throw Error(ErrorKind::Input, name + ": read error");
  if (prompts.empty()) throw Error(ErrorKind::Input, name + ": no prompts (the input is empty)");
  return prompts;
}

void generate_run(const config::RunConfig& config, const GenerateOptions& options) {
  if (options.batch_size < 1) {
    throw Error(ErrorKind::Usage,
                "--batch-size: must be >= 1, got " + std::to_string(options.batch_size));
  }
  generate::validate(config.generate);
  const auto device = resolve_device(options.device);

  std::vector<Prompt> prompts;
  if (options.input == "-") {
    prompts = read_prompts(std::cin, "<stdin>", options.input_field);
  } else {
    std::ifstream in(options.input, std::ios::binary);
    if (!in) throw Error(ErrorKind::Input, options.input + ": cannot open the prompt file");
    prompts = read_prompts(in, options.input, options.input_field);
  }

  auto built = build_generation_run(config, device, options.adapter);
  const auto& tokenizer = built.tokenizer;
  auto& lm = *built.model.as<model::EncoderDecoderLM>();
  task::HookedEncoderDecoder model(lm, task::ModelHooks(built.adapted.method.get()));
  const auto compute_type = model::resolve_compute_type(config.generate.compute_type, device);
  const auto vocab = built.model.info.vocab_size;
  const auto limit = static_cast<std::size_t>(config.tokenizer.max_length);

  std::vector<std::vector<std::int64_t>> encoded;
  encoded.reserve(prompts.size());
  std::size_t truncated = 0;
  for (const auto& prompt : prompts) {
    auto ids = tokenizer->encode(prompt.text).ids;
    if (ids.size() > limit) {
      log::warn(
          "{}: the prompt has {} tokens, truncated to the first {} (tokenizer.max_length, "
          "EOS included)",
          where(options.input == "-" ? "<stdin>" : options.input, prompt.line), ids.size(), limit);
      tokenizer::EncodeOptions cut;
      cut.max_length = limit;
      ids = tokenizer->encode(prompt.text, cut).ids;
      ++truncated;
    }
    for (const auto id : ids) {
      if (id < 0 || id >= vocab) {
        throw Error(ErrorKind::Input,
                    "prompt on line " + std::to_string(prompt.line) + ": token id " +
                        std::to_string(id) + " is outside the model's vocabulary (" +
                        std::to_string(vocab) + ")",
                    "are the tokenizer and the model from the same checkpoint?");
      }
    }
    encoded.push_back(std::move(ids));
  }

  const bool stream = prompts.size() == 1 && options.output.empty() &&
                      ::isatty(STDOUT_FILENO) == 1 && config.generate.num_beams == 1;
  std::ostringstream buffer;  // the --output file's content
  std::ostream& out = options.output.empty() ? std::cout : buffer;
  const auto batch = static_cast<std::size_t>(options.batch_size);
  const bool show_progress = prompts.size() > batch;
  ProgressBar progress("generate", static_cast<std::int64_t>(prompts.size()), std::cerr,
                       ProgressBar::stderr_is_tty());
  const auto started = std::chrono::steady_clock::now();
  std::size_t generated_tokens = 0;

  const auto batches = (prompts.size() + batch - 1) / batch;
  for (std::size_t begin = 0; begin < prompts.size(); begin += batch) {
    const auto batch_started = std::chrono::steady_clock::now();
    const auto end = std::min(prompts.size(), begin + batch);
    std::size_t longest = 0;
    for (auto i = begin; i < end; ++i) longest = std::max(longest, encoded[i].size());
    const auto rows = static_cast<std::int64_t>(end - begin);
    auto ids =
        torch::full({rows, static_cast<std::int64_t>(longest)}, tokenizer->pad_id(), torch::kLong);
    auto mask = torch::zeros({rows, static_cast<std::int64_t>(longest)}, torch::kLong);
    for (auto i = begin; i < end; ++i) {
      const auto& row = encoded[i];
      const auto n = static_cast<std::int64_t>(row.size());
      const auto r = static_cast<std::int64_t>(i - begin);
      ids[r].narrow(0, 0, n).copy_(torch::tensor(row, torch::kLong));
      mask[r].narrow(0, 0, n).fill_(1);
    }
    std::vector<std::vector<std::int64_t>> results;
    if (stream) {
      Streamer streamer(*tokenizer, model.special_tokens().eos);
      results = generate::generate(
          model, ids, mask, config.generate,
          [&streamer](const auto& tokens, const auto& running) { streamer(tokens, running); });
      std::cout << "\n" << std::flush;
    } else {
      results = generate::generate(model, ids, mask, config.generate);
    }
    std::size_t batch_tokens = 0;
    for (auto i = begin; i < end; ++i) {
      const auto& generated = results[i - begin];
      batch_tokens += generated.size();
      if (stream) continue;
      auto record = prompts[i].record;
      record[options.output_field] = tokenizer->decode(generated, /*skip_special_tokens=*/true);
      if (options.with_ids) record[options.output_field + "_ids"] = generated;
      out << record.dump() << "\n";
    }
    if (!stream && options.output.empty()) out << std::flush;
    generated_tokens += batch_tokens;
    log::debug(
        "batch {}/{}: {} sequence(s), {} tokens in {:.4f} s", begin / batch + 1, batches,
        end - begin, batch_tokens,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - batch_started).count());
    if (show_progress) progress.update(static_cast<std::int64_t>(end));
  }
  if (show_progress) progress.finish();
  if (!options.output.empty()) write_file_atomic(options.output, buffer.str());

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log::info("generated {} sequence(s), {} tokens in {:.2f} s ({:.1f} tokens/s, {} weights){}{}",
            prompts.size(), generated_tokens, seconds,
            seconds > 0 ? static_cast<double>(generated_tokens) / seconds : 0.0,
            model::compute_type_name(compute_type),
            truncated > 0 ? "; truncated prompts: " + std::to_string(truncated) : std::string(),
            options.output.empty() ? std::string() : "; wrote " + options.output);
}

}  // namespace pft::app
