#include "pft/tokenizer/tokenizer.h"

#include <filesystem>

#include "pft/tokenizer/hf_json.h"
#include "pft/tokenizer/sentencepiece.h"
#include "pft/tokenizer/wordpiece.h"
#include "pft/util/error.h"

namespace pft::tokenizer {

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) {
    throw Error(ErrorKind::Input, dir + ": tokenizer folder does not exist or is not a folder");
  }
  // tokenizer.json first, as transformers' fast tokenizers read it (the whole pipeline is in
  // that file); vocab.txt and spiece.model for folders that ship only those.
  if (fs::exists(fs::path(dir) / "tokenizer.json")) return load_tokenizer_json(dir);
  if (fs::exists(fs::path(dir) / "vocab.txt")) return WordPiece::from_folder(dir);
  if (fs::exists(fs::path(dir) / "spiece.model")) return SentencePiece::from_folder(dir);
  throw Error(ErrorKind::Input,
              dir +
                  ": no tokenizer here: expected tokenizer.json, vocab.txt (WordPiece, BERT) or "
                  "spiece.model "
                  "(SentencePiece, T5)");
}

}  // namespace pft::tokenizer
