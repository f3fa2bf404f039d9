#include "pft/app/tokenize.h"

#include <chrono>
#include <optional>
#include <string>

#include "pft/data/jsonl.h"
#include "pft/task/prompt_input.h"
#include "pft/tokenizer/tokenize_file.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"

namespace pft::app {

namespace {

// Every line of `input` rendered through the config's template and tokenized, into `output`.
TokenizeResult tokenize_prompts(const config::RunConfig& config, const tokenizer::Tokenizer& tok,
                                const TokenizeRequest& request) {
  TokenizeResult result;
  result.mode = TokenizeResult::Mode::Prompts;
  std::optional<prompt::Verbalizer> verbalizer;
  if (!config.task.labels.empty())
    verbalizer.emplace(task::make_verbalizer(config, config.task.labels));
  const auto start = std::chrono::steady_clock::now();
  const task::PromptEncoder encoder(config, tok, verbalizer ? &*verbalizer : nullptr,
                                    request.field);
  data::JsonlReader reader(request.input);
  data::JsonlRecord record;
  std::string lines;
  while (reader.next(record)) {
    const auto encoded = encoder.encode(record.value, {request.input, record.line}, result.lines++);
    result.tokens += encoded.ids.size();
    record.value["input_ids"] = encoded.ids;
    // Soft slots: their positions in input_ids, which hold the placeholder (pad) id there.
    if (!encoded.soft_positions.empty()) record.value["soft_positions"] = encoded.soft_positions;
    lines += record.value.dump();
    lines += '\n';
  }
  write_file_atomic(request.output, lines);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

TokenizeResult tokenize(const TokenizeRequest& request) {
  TokenizeResult result;
  if (!request.spm.input.empty()) {
    if (request.spm.model_prefix.empty()) {
      throw Error(ErrorKind::Usage, "--train-spm needs --model-prefix (where to write P.model)");
    }
    tokenizer::train_sentencepiece(request.spm);
    result.mode = TokenizeResult::Mode::TrainSentencePiece;
    return result;
  }
  const config::RunConfig* config = request.config ? &*request.config : nullptr;
  std::string model = request.model;
  if (model.empty() && config != nullptr)
    model = config->tokenizer.path.empty() ? config->model.path : config->tokenizer.path;
  if (model.empty()) {
    throw Error(ErrorKind::Usage,
                "pft tokenize needs --model DIR (a folder with vocab.txt or "
                "spiece.model), or --config with tokenizer.path");
  }
  if (!request.text && request.input.empty()) {
    throw Error(ErrorKind::Usage, "give --text, --input or --train-spm");
  }
  if (!request.input.empty() && request.output.empty())
    throw Error(ErrorKind::Usage, "--input needs --output");
  if (request.prompt && config == nullptr) {
    throw Error(ErrorKind::Usage,
                "--prompt renders through the config's prompt.template; give --config");
  }

  tokenizer::EncodeOptions encode;
  encode.pad_to = request.pad_to;
  encode.add_special_tokens = request.add_special_tokens;
  if (request.max_length)
    encode.max_length = *request.max_length;
  else if (config != nullptr)
    encode.max_length = static_cast<std::size_t>(config->tokenizer.max_length);
  if (request.truncation)
    encode.truncation = *request.truncation;
  else if (config != nullptr)
    encode.truncation = config->tokenizer.truncation;

  const auto tok = tokenizer::load_tokenizer(model);
  if (request.prompt) return tokenize_prompts(*config, *tok, request);
  if (!request.input.empty()) {
    tokenizer::TokenizeFileOptions file;
    file.input = request.input;
    file.output = request.output;
    file.field = request.field;
    file.pair_field = request.pair_field;
    file.encode = encode;
    const auto stats = tokenizer::tokenize_jsonl(*tok, file);
    result.mode = TokenizeResult::Mode::File;
    result.lines = stats.lines;
    result.tokens = stats.tokens;
    result.truncated = stats.truncated;
    return result;
  }
  result.mode = TokenizeResult::Mode::Text;
  result.encoding = request.pair ? tok->encode_pair(*request.text, *request.pair, encode)
                                 : tok->encode(*request.text, encode);
  return result;
}

}  // namespace pft::app
