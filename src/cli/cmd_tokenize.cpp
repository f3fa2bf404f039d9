// pft tokenize: one text (--text), a JSONL file (--input/--output), or training a
// SentencePiece model (--train-spm). The work is done by app::tokenize.

#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "pft/app/tokenize.h"
#include "pft/tokenizer/tokenize_file.h"
#include "pft/util/log.h"

namespace pft::cli {

namespace {
struct TokenizeOptions {
  app::TokenizeRequest request;
  std::string text;
  std::string pair;
  std::size_t max_length = 0;
  std::string truncation = "longest_first";
  bool no_special_tokens = false;
  bool json = false;
};

int run_tokenize(const CommonOptions& common, const TokenizeOptions& o) {
  app::TokenizeRequest request = o.request;
  request.add_special_tokens = !o.no_special_tokens;
  if (!common.config.empty() && request.spm.input.empty())
    request.config = load_config(common, config::Purpose::Any);
  const auto result = app::tokenize(request);
  using Mode = app::TokenizeResult::Mode;
  switch (result.mode) {
    case Mode::TrainSentencePiece:
      log::info("wrote {}.model and {}.vocab ({} pieces)", request.spm.model_prefix,
                request.spm.model_prefix, request.spm.vocab_size);
      return 0;
    case Mode::Prompts:
      log::info(
          "rendered and tokenized {} prompts of {} in {:.2f} s ({:.0f} prompts/s, {} tokens) "
          "into {}",
          result.lines, request.input, result.seconds,
          static_cast<double>(result.lines) / std::max(result.seconds, 1e-9), result.tokens,
          request.output);
      return 0;
    case Mode::File:
      log::info("tokenized {} lines of {} into {} ({} tokens, {} lines truncated)", result.lines,
                request.input, request.output, result.tokens, result.truncated);
      return 0;
    case Mode::Text:
      break;
  }
  const auto& e = result.encoding;
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
  sub->add_option("--model", options->request.model,
                  "Tokenizer folder: tokenizer.json (+ tokenizer_config.json), else vocab.txt "
                  "(WordPiece/BERT) or spiece.model (SentencePiece/T5). Default with --config: "
                  "tokenizer.path");
  auto* pair =
      sub->add_option("--pair", options->pair, "Second text of a pair (with --text)")->needs(text);
  sub->add_flag("--json", options->json,
                "With --text: print ids, tokens, type_ids, attention_mask, offsets (byte ranges) "
                "and sequence_ids as one JSON object");
  auto* input = sub->add_option("--input", options->request.input,
                                "JSONL file to tokenize (one JSON object a line)")
                    ->excludes(text);
  sub->add_option("--field", options->request.field,
                  "Field of --input holding the text (default: text)")
      ->needs(input);
  sub->add_option("--pair-field", options->request.pair_field,
                  "Field of --input holding a second text; adds token_type_ids")
      ->needs(input);
  sub->add_option("--output", options->request.output,
                  "JSONL to write with --input: each line's object plus input_ids (written "
                  "atomically)")
      ->needs(input);
  sub->add_flag("--prompt", options->request.prompt,
                "With --input and --config: render each line through prompt.template (demos, "
                "prompt.truncate to tokenizer.max_length) before tokenizing, and log the time; "
                "{soft} slots' positions in input_ids go to soft_positions")
      ->needs(input);
  auto* max_length =
      sub->add_option("--max-length", options->max_length,
                      "Truncate to this many tokens, special tokens included (0: no truncation; "
                      "default with --config: tokenizer.max_length)");
  auto* truncation =
      sub->add_option(
             "--truncation", options->truncation,
             "longest_first, only_first or only_second (default: tokenizer.truncation with "
             "--config, else longest_first)")
          ->check(CLI::IsMember({"longest_first", "only_first", "only_second"}));
  sub->add_option("--pad-to", options->request.pad_to,
                  "Pad with the pad token up to this length (0: none)");
  sub->add_flag("--no-special-tokens", options->no_special_tokens,
                "Leave out [CLS]/[SEP] (BERT) or </s> (T5)");
  auto* train = sub->add_option("--train-spm", options->request.spm.input,
                                "Train a SentencePiece model on this text file (one sentence a "
                                "line) with libsentencepiece's trainer")
                    ->excludes(text)
                    ->excludes(input);
  sub->add_option("--vocab-size", options->request.spm.vocab_size,
                  "--train-spm: pieces in the model (default: 8000)")
      ->needs(train)
      ->check(CLI::PositiveNumber);
  sub->add_option("--model-prefix", options->request.spm.model_prefix,
                  "--train-spm: writes PREFIX.model and PREFIX.vocab")
      ->needs(train);
  sub->add_option("--model-type", options->request.spm.model_type,
                  "--train-spm: unigram, bpe, char or word (default: unigram)")
      ->needs(train)
      ->check(CLI::IsMember({"unigram", "bpe", "char", "word"}));
  sub->add_option("--character-coverage", options->request.spm.character_coverage,
                  "--train-spm: share of characters the model covers (default: 1.0)")
      ->needs(train)
      ->check(CLI::Range(0.5, 1.0));
  sub->callback([&program, options, text, pair, max_length, truncation] {
    // Given options only: the config supplies what the command line leaves out.
    auto& request = options->request;
    if (text->count() > 0) request.text = options->text;  // --text "" is a text too
    if (pair->count() > 0) request.pair = options->pair;
    if (max_length->count() > 0) request.max_length = options->max_length;
    if (truncation->count() > 0) request.truncation = options->truncation;
    program.action = [&program, options] { return run_tokenize(program.common, *options); };
  });
}

}  // namespace pft::cli
