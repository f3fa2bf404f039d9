// tokenizer.json folders against the live `tokenizers` library: one test per folder, every
// line of every shared data set (single texts and Multi30k pairs; GLUE's train.tsv, which is
// train.jsonl with a trailing space, and SST-2 pairs with PFT_TOKENIZER_PARITY_FULL=1), an
// adversarial list, the folder's added tokens glued to words, truncation/padding and decode.
// tests/python/make_tokenizer_files.py builds the folders (converted BERT/T5/MiniLM files as
// save_pretrained writes them, and tokenizers trained with the pipelines of GPT-2, RoBERTa,
// ModernBERT, Llama-2, Mistral, Llama-3, Qwen2, XLM-R and DeBERTa-v3);
// tests/python/tokenizer_json_reference.py writes the reference encodings.
// The folders and texts are built once and shared by every test process of a run (a cache
// folder named after the scripts' contents, guarded by a lock); each test writes its own
// references into a temp folder.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "pft/tokenizer/tokenizer.h"
#include "pft/util/error.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using pft::test::run_python;
using pft::test::TempDir;
using pft::tokenizer::EncodeOptions;
using pft::tokenizer::Encoding;
using pft::tokenizer::Tokenizer;
using Offsets = std::vector<std::pair<std::size_t, std::size_t>>;

namespace {

const std::vector<std::string> kFolders{
    "bert-uncased", "bert-cased", "t5",      "minilm", "gpt2", "roberta",   "modernbert",
    "llama2",       "mistral",    "llama3",  "qwen2",  "xlmr", "deberta-v3"};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The generated folders and texts, built once per content of the scripts that write them.
const std::string& material() {
  static const std::string dir = [] {
    std::string key = pft::test::python();
    if (const char* full = std::getenv("PFT_TOKENIZER_PARITY_FULL")) key += full;
    for (const char* script : {"make_tokenizer_files.py", "tokenizer_json_reference.py",
                               "tokenizer_reference.py"}) {
      key += read_file(pft::test::source_dir() + "/tests/python/" + script);
    }
    char hash[32];
    std::snprintf(hash, sizeof hash, "%016zx", std::hash<std::string>{}(key));
    const std::string out = (fs::temp_directory_path() / ("pft-tokjson-" + std::string(hash))).string();
    const int lock = ::open((out + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
    if (lock >= 0) ::flock(lock, LOCK_EX);
    if (!fs::exists(out + "/done")) {
      const auto start = std::chrono::steady_clock::now();
      fs::remove_all(out);
      const auto made = run_python("make_tokenizer_files.py", {out + "/folders"});
      const auto texts = run_python("tokenizer_json_reference.py", {"texts", out + "/texts"});
      if (made.exit_code == 0 && texts.exit_code == 0) pft::test::write_text(out + "/done", "");
      std::printf("[ material ] built in %.1f s\n",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (lock >= 0) ::close(lock);
    return out;
  }();
  return dir;
}

std::vector<std::int64_t> parse_nums(const std::string& s) {
  std::vector<std::int64_t> v;
  const char* p = s.c_str();
  char* end = nullptr;
  while (true) {
    const long long x = std::strtoll(p, &end, 10);
    if (end == p) break;
    v.push_back(x);
    p = end;
  }
  return v;
}

Offsets parse_offsets(const std::string& s) {
  const auto n = parse_nums(s.empty() ? s : [&] {
    std::string t = s;
    std::replace(t.begin(), t.end(), ',', ' ');
    return t;
  }());
  Offsets o;
  for (std::size_t i = 0; i + 1 < n.size(); i += 2) {
    o.emplace_back(static_cast<std::size_t>(n[i]), static_cast<std::size_t>(n[i + 1]));
  }
  return o;
}

struct Want {
  std::vector<std::int64_t> ids, type_ids, mask;
  Offsets char_offsets, byte_offsets;
};

// "ids|type_ids|mask|char offsets|byte offsets or ="
Want parse_ref(const std::string& line) {
  std::vector<std::string> f;
  std::size_t start = 0;
  for (int i = 0; i < 4; ++i) {
    const auto bar = line.find('|', start);
    f.push_back(line.substr(start, bar - start));
    start = bar == std::string::npos ? line.size() : bar + 1;
  }
  f.push_back(line.substr(start));
  Want w{parse_nums(f[0]), parse_nums(f[1]), parse_nums(f[2]), parse_offsets(f[3]), {}};
  w.byte_offsets = f[4] == "=" ? w.char_offsets : parse_offsets(f[4]);
  return w;
}

template <class T>
std::string show(const std::vector<T>& v) {
  std::ostringstream s;
  for (std::size_t i = 0; i < v.size(); ++i) s << (i ? " " : "") << v[i];
  return s.str();
}

std::string show(const Offsets& v) {
  std::ostringstream s;
  for (std::size_t i = 0; i < v.size(); ++i) s << (i ? " " : "") << v[i].first << ',' << v[i].second;
  return s.str();
}

// Empty when equal; otherwise a description of the first difference.
std::string difference(const Encoding& got, const Want& want) {
  std::ostringstream s;
  if (got.ids != want.ids) {
    s << "ids\n    want: " << show(want.ids) << "\n    got:  " << show(got.ids);
    s << "\n    got tokens: " << show(got.tokens);
  } else if (got.type_ids != want.type_ids) {
    s << "type_ids\n    want: " << show(want.type_ids) << "\n    got:  " << show(got.type_ids);
  } else if (got.attention_mask != want.mask) {
    s << "attention_mask\n    want: " << show(want.mask) << "\n    got:  "
      << show(got.attention_mask);
  } else if (got.offsets != want.byte_offsets) {
    s << "byte offsets\n    want: " << show(want.byte_offsets) << "\n    got:  "
      << show(got.offsets) << "\n    (character offsets from tokenizers: "
      << show(want.char_offsets) << ")\n    tokens: " << show(got.tokens);
  }
  return s.str();
}

std::string quoted(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
      .substr(0, 400);
}

class TokenizerJsonParity : public ::testing::TestWithParam<std::string> {
 protected:
  std::string folder() const { return material() + "/folders/" + GetParam(); }

  // Every line of every text set; returns lines compared.
  std::size_t compare_sets(const Tokenizer& tok, const std::string& refs, std::size_t* pairs) {
    std::size_t lines = 0, mismatches = 0;
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(refs)) {
      if (e.path().extension() == ".ref") names.push_back(e.path().stem().string());
    }
    std::sort(names.begin(), names.end());
    EXPECT_GE(names.size(), 18u);
    for (const auto& name : names) {
      std::ifstream texts(material() + "/texts/" + name + ".jsonl");
      std::ifstream ref(refs + "/" + name + ".ref");
      const bool is_pair = name.rfind("pairs_", 0) == 0;
      std::string text_line, ref_line;
      std::size_t n = 0;
      while (std::getline(ref, ref_line)) {
        ++n;
        if (!std::getline(texts, text_line)) {
          ADD_FAILURE() << name << ": more reference lines than texts";
          break;
        }
        const auto value = nlohmann::json::parse(text_line);
        const Want want = parse_ref(ref_line);
        Encoding got;
        std::string what;
        try {
          got = is_pair ? tok.encode_pair(value[0].get<std::string>(), value[1].get<std::string>())
                        : tok.encode(value.get<std::string>());
          what = difference(got, want);
        } catch (const std::exception& e) {
          what = std::string("threw ") + e.what();
        }
        if (!what.empty() && ++mismatches <= 3) {
          ADD_FAILURE() << GetParam() << ": " << name << ".jsonl line " << n << ": "
                        << quoted(is_pair ? value.dump() : value.get<std::string>()) << "\n  "
                        << what;
        }
      }
      EXPECT_FALSE(std::getline(texts, text_line)) << name << ": fewer reference lines than texts";
      lines += n;
      if (is_pair) *pairs += n;
    }
    EXPECT_EQ(mismatches, 0u) << GetParam() << ": of " << lines << " lines";
    std::printf("[ compared ] %s: %zu lines (%zu pairs), %zu mismatches\n", GetParam().c_str(),
                lines, *pairs, mismatches);
    return lines;
  }

  // Adversarial texts, added tokens, truncation/padding and decode; returns cases compared.
  std::size_t compare_cases(const Tokenizer& tok, const std::string& refs) {
    std::ifstream in(refs + "/cases.jsonl");
    std::string line;
    std::size_t cases = 0, mismatches = 0, decodes = 0;
    while (std::getline(in, line)) {
      ++cases;
      const auto c = nlohmann::json::parse(line);
      EncodeOptions options;
      options.max_length = c["max_length"].get<std::size_t>();
      options.truncation = c["truncation"].get<std::string>();
      options.pad_to = c["pad_to"].get<std::size_t>();
      const std::string text = c["text"].get<std::string>();
      const bool is_pair = !c["pair"].is_null();
      const std::string second = is_pair ? c["pair"].get<std::string>() : std::string();
      auto encode = [&] {
        return is_pair ? tok.encode_pair(text, second, options) : tok.encode(text, options);
      };
      std::string what;
      if (c.contains("error")) {
        try {
          encode();
          what = "no error; tokenizers: " + c["error"].get<std::string>();
        } catch (const pft::Error&) {
        }
      } else {
        try {
          const Encoding got = encode();
          Want want{c["ids"].get<std::vector<std::int64_t>>(),
                    c["type_ids"].get<std::vector<std::int64_t>>(),
                    c["attention_mask"].get<std::vector<std::int64_t>>(),
                    c["offsets"].get<Offsets>(), c["byte_offsets"].get<Offsets>()};
          what = difference(got, want);
          const auto tokens = c["tokens"].get<std::vector<std::string>>();
          if (what.empty() && got.tokens != tokens) {
            what = "tokens\n    want: " + show(tokens) + "\n    got:  " + show(got.tokens);
          }
          if (what.empty()) {
            for (const bool skip : {true, false}) {
              const auto want_text = c[skip ? "decode" : "decode_all"].get<std::string>();
              const auto got_text = tok.decode(want.ids, skip);
              ++decodes;
              if (got_text != want_text) {
                what = std::string("decode(skip_special_tokens=") + (skip ? "true" : "false") +
                       ")\n    want: " + quoted(want_text) + "\n    got:  " + quoted(got_text);
                break;
              }
            }
          }
        } catch (const std::exception& e) {
          what = std::string("threw ") + e.what();
        }
      }
      if (!what.empty() && ++mismatches <= 5) {
        ADD_FAILURE() << GetParam() << ": case " << cases << ": " << quoted(text)
                      << (is_pair ? " + " + quoted(second) : "")
                      << (options.max_length ? " max_length " + std::to_string(options.max_length) +
                                                   " " + options.truncation
                                             : "")
                      << (options.pad_to ? " pad_to " + std::to_string(options.pad_to) : "")
                      << "\n  " << what;
      }
    }
    EXPECT_EQ(mismatches, 0u) << GetParam() << ": of " << cases << " cases";
    std::printf("[ compared ] %s: %zu cases (%zu decodes), %zu mismatches\n", GetParam().c_str(),
                cases, decodes, mismatches);
    return cases;
  }
};

TEST_P(TokenizerJsonParity, EqualsTokenizersOnEveryLineAndCase) {
  ASSERT_TRUE(fs::exists(material() + "/done")) << "tokenizer folders were not built";
  ASSERT_TRUE(fs::exists(folder() + "/tokenizer.json"));
  ASSERT_FALSE(fs::exists(folder() + "/vocab.txt"));
  ASSERT_FALSE(fs::exists(folder() + "/spiece.model"));
  TempDir refs;
  const auto r = run_python("tokenizer_json_reference.py",
                            {"ref", folder(), material() + "/texts", refs.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto tok = pft::tokenizer::load_tokenizer(folder());

  std::size_t pairs = 0;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_GT(compare_sets(*tok, refs.path(), &pairs), 190000u);
  EXPECT_GT(pairs, 30000u);
  EXPECT_GT(compare_cases(*tok, refs.path()), 100u);
  std::printf("[ pft time ] %s: %.1f s\n", GetParam().c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

  // Invalid UTF-8 is an input error, in either text of a pair.
  for (const std::string& bad : {std::string("ab\xff" "cd"), std::string("\xc3"),
                                std::string("\xed\xa0\x80 surrogate"), std::string("\xc0\xaf")}) {
    pft::test::error_of([&] { tok->encode(bad); }, pft::ErrorKind::Input);
    pft::test::error_of([&] { tok->encode_pair("fine", bad); }, pft::ErrorKind::Input);
  }
}

INSTANTIATE_TEST_SUITE_P(Folders, TokenizerJsonParity, ::testing::ValuesIn(kFolders),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
