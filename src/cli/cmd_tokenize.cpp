// pft tokenize: one text (--text), a JSONL file (--input/--output), or training a
// SentencePiece model (--train-spm). The work is done by pft/tokenizer.

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "pft/data/jsonl.h"
#include "pft/task/prompt_input.h"
#include "pft/tokenizer/sentencepiece.h"
#include "pft/tokenizer/tokenize_file.h"
#include "pft/tokenizer/tokenizer.h"
#include "pft/util/error.h"
#include "pft/util/fs.h"
#include "pft/util/log.h"

namespace pft::cli {

namespace {
struct TokenizeOptions {
  std::string model;
  std::string text;
  bool text_given = false;  // --text "" is a text too
  std::string pair;
  std::string input;
  std::string field = "text";
  std::string pair_field;
  std::string output;
  bool json = false;
  std::size_t max_length = 0;
  std::string truncation = "longest_first";
  std::size_t pad_to = 0;
  bool no_special_tokens = false;
  bool prompt = false;
  tokenizer::SentencePieceTrainOptions spm;
};

// --prompt: every line of --input rendered through the config's prompt.template (with its
// demonstrations and prompt truncation to tokenizer.max_length) and tokenized, timed.
int tokenize_prompts(const CommonOptions& common, const TokenizeOptions& o,
                     const tokenizer::Tokenizer& tok) {
  const auto config = load_config(common, config::Purpose::Any);
  std::optional<prompt::Verbalizer> verbalizer;
  if (!config.task.labels.empty())
    verbalizer.emplace(task::make_verbalizer(config, config.task.labels));
  const auto start = std::chrono::steady_clock::now();
  const task::PromptEncoder encoder(config, tok, verbalizer ? &*verbalizer : nullptr, o.field);
  data::JsonlReader reader(o.input);
  data::JsonlRecord record;
  std::string lines;
  std::size_t count = 0, tokens = 0;
  while (reader.next(record)) {
    const auto encoded = encoder.encode(record.value, {o.input, record.line}, count++);
    tokens += encoded.ids.size();
    record.value["input_ids"] = encoded.ids;
    // Soft slots: their positions in input_ids, which hold the placeholder (pad) id there.
    if (!encoded.soft_positions.empty()) record.value["soft_positions"] = encoded.soft_positions;
    lines += record.value.dump();
    lines += '\n';
  }
  write_file_atomic(o.output, lines);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log::info(
      "rendered and tokenized {} prompts of {} in {:.2f} s ({:.0f} prompts/s, {} tokens) "
      "into {}",
      count, o.input, seconds, static_cast<double>(count) / seconds, tokens, o.output);
  return 0;
}

int run_tokenize(const CommonOptions& common, const TokenizeOptions& o) {
  if (!o.spm.input.empty()) {
    if (o.spm.model_prefix.empty()) {
      throw Error(ErrorKind::Usage, "--train-spm needs --model-prefix (where to write P.model)");
    }
    tokenizer::train_sentencepiece(o.spm);
    log::info("wrote {}.model and {}.vocab ({} pieces)", o.spm.model_prefix, o.spm.model_prefix,
              o.spm.vocab_size);
    return 0;
  }
  std::string model = o.model;
  tokenizer::EncodeOptions encode;
  encode.max_length = o.max_length;
  encode.truncation = o.truncation;
  encode.pad_to = o.pad_to;
  encode.add_special_tokens = !o.no_special_tokens;
  if (model.empty() && !common.config.empty()) {
    // The run config's tokenizer: its folder, and its max_length/truncation unless given.
    const auto config = load_config(common, config::Purpose::Any);
    model = config.tokenizer.path.empty() ? config.model.path : config.tokenizer.path;
    if (o.max_length == 0)
      encode.max_length = static_cast<std::size_t>(config.tokenizer.max_length);
    if (o.truncation == "longest_first") encode.truncation = config.tokenizer.truncation;
  }
  if (model.empty()) {
    throw Error(ErrorKind::Usage,
                "pft tokenize needs --model DIR (a folder with vocab.txt or "
                "spiece.model), or --config with tokenizer.path");
  }
  if (!o.text_given && o.input.empty()) {
    throw Error(ErrorKind::Usage, "give --text, --input or --train-spm");
  }
  const auto tok = tokenizer::load_tokenizer(model);
  if (!o.input.empty()) {
    if (o.output.empty()) throw Error(ErrorKind::Usage, "--input needs --output");
    if (o.prompt) {
      if (common.config.empty()) {
        throw Error(ErrorKind::Usage,
                    "--prompt renders through the config's prompt.template; give --config");
      }
      return tokenize_prompts(common, o, *tok);
    }
    tokenizer::TokenizeFileOptions file;
    file.input = o.input;
    file.output = o.output;
    file.field = o.field;
    file.pair_field = o.pair_field;
    file.encode = encode;
    const auto stats = tokenizer::tokenize_jsonl(*tok, file);
    log::info("tokenized {} lines of {} into {} ({} tokens, {} lines truncated)", stats.lines,
              o.input, o.output, stats.tokens, stats.truncated);
    return 0;
  }
  const auto e =
      o.pair.empty() ? tok->encode(o.text, encode) : tok->encode_pair(o.text, o.pair, encode);
  if (o.json) {
    std::cout << tokenizer::to_json(e).dump() << "\n";
    return 0;
  }
  std::string tokens, ids;
  for (std::size_t i = 0; i < e.ids.size(); ++i) {
    if (i > 0) {
      tokens += ' ';
      ids += ' ';
    }
    tokens += e.tokens[i];
    ids += std::to_string(e.ids[i]);
  }
  std::cout << "tokens: " << tokens << "\nids: " << ids << "\ncount: " << e.ids.size() << "\n";
  return 0;
}
}  // namespace

void setup_tokenize(Program& program) {
  auto options = std::make_shared<TokenizeOptions>();
  auto* sub = program.app.add_subcommand(
      "tokenize",
      "Tokenize text with a model's tokenizer, a JSONL file, or train a SentencePiece model");
  add_common_options(*sub, program.common);
  sub->footer(
      "Examples:\n"
      "  pft tokenize --model DIR --text \"Hello world\"            tokens and ids\n"
      "  pft tokenize --model DIR --text \"a\" --pair \"b\" --json    a pair, as JSON\n"
      "  pft tokenize --model DIR --input in.jsonl --output out.jsonl [--field text]\n"
      "  pft tokenize --train-spm corpus.txt --vocab-size 8000 --model-prefix out/spm\n");
  auto* text = sub->add_option("--text", options->text, "Text to tokenize; prints tokens and ids");
  sub->add_option("--model", options->model,
                  "Tokenizer folder: vocab.txt (+ tokenizer_config.json) for WordPiece/BERT, "
                  "spiece.model for SentencePiece/T5. Default with --config: tokenizer.path");
  sub->add_option("--pair", options->pair, "Second text of a pair (with --text)")->needs(text);
  sub->add_flag("--json", options->json,
                "With --text: print ids, tokens, type_ids, attention_mask, offsets (byte ranges) "
                "and sequence_ids as one JSON object");
  auto* input =
      sub->add_option("--input", options->input, "JSONL file to tokenize (one JSON object a line)")
          ->excludes(text);
  sub->add_option("--field", options->field, "Field of --input holding the text (default: text)")
      ->needs(input);
  sub->add_option("--pair-field", options->pair_field,
                  "Field of --input holding a second text; adds token_type_ids")
      ->needs(input);
  sub->add_option("--output", options->output,
                  "JSONL to write with --input: each line's object plus input_ids (written "
                  "atomically)")
      ->needs(input);
  sub->add_flag("--prompt", options->prompt,
                "With --input and --config: render each line through prompt.template (demos, "
                "prompt.truncate to tokenizer.max_length) before tokenizing, and log the time; "
                "{soft} slots' positions in input_ids go to soft_positions")
      ->needs(input);
  sub->add_option("--max-length", options->max_length,
                  "Truncate to this many tokens, special tokens included (0: no truncation; "
                  "default with --config: tokenizer.max_length)");
  sub->add_option("--truncation", options->truncation,
                  "longest_first, only_first or only_second (default: longest_first)")
      ->check(CLI::IsMember({"longest_first", "only_first", "only_second"}));
  sub->add_option("--pad-to", options->pad_to,
                  "Pad with the pad token up to this length (0: none)");
  sub->add_flag("--no-special-tokens", options->no_special_tokens,
                "Leave out [CLS]/[SEP] (BERT) or </s> (T5)");
  auto* train = sub->add_option("--train-spm", options->spm.input,
                                "Train a SentencePiece model on this text file (one sentence a "
                                "line) with libsentencepiece's trainer")
                    ->excludes(text)
                    ->excludes(input);
  sub->add_option("--vocab-size", options->spm.vocab_size,
                  "--train-spm: pieces in the model (default: 8000)")
      ->needs(train)
      ->check(CLI::PositiveNumber);
  sub->add_option("--model-prefix", options->spm.model_prefix,
                  "--train-spm: writes PREFIX.model and PREFIX.vocab")
      ->needs(train);
  sub->add_option("--model-type", options->spm.model_type,
                  "--train-spm: unigram, bpe, char or word (default: unigram)")
      ->needs(train)
      ->check(CLI::IsMember({"unigram", "bpe", "char", "word"}));
  sub->add_option("--character-coverage", options->spm.character_coverage,
                  "--train-spm: share of characters the model covers (default: 1.0)")
      ->needs(train)
      ->check(CLI::Range(0.5, 1.0));
  sub->callback([&program, options, text] {
    options->text_given = text->count() > 0;
    program.action = [&program, options] { return run_tokenize(program.common, *options); };
  });
}

}  // namespace pft::cli
