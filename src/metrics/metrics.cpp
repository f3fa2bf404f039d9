#include "pft/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <sstream>

#include "pft/util/error.h"

namespace pft::metrics {
namespace {

double safe_div(double a, double b) { return b == 0 ? 0.0 : a / b; }
double f1_of(double p, double r) { return p + r == 0 ? 0.0 : 2 * p * r / (p + r); }

void check_lengths(std::size_t a, std::size_t b, const char* what) {
  if (a != b) {
    throw Error(ErrorKind::Runtime, std::string(what) + ": " + std::to_string(a) +
                                        " predictions but " + std::to_string(b) + " references");
  }
}

}  // namespace

ClassificationReport classify(const std::vector<std::int64_t>& gold,
                              const std::vector<std::int64_t>& predicted,
                              const std::vector<std::string>& labels) {
  check_lengths(predicted.size(), gold.size(), "classification metrics");
  const auto k = static_cast<std::int64_t>(labels.size());
  std::vector<std::int64_t> tp(labels.size()), fp(labels.size()), fn(labels.size());
  ClassificationReport report;
  report.count = static_cast<std::int64_t>(gold.size());
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < gold.size(); ++i) {
    const auto g = gold[i], p = predicted[i];
    if (g < 0 || g >= k || p < 0 || p >= k) {
      throw Error(
          ErrorKind::Runtime,
          "classification metrics: class index out of range at example " + std::to_string(i));
    }
    if (g == p) {
      ++correct;
      ++tp[g];
    } else {
      ++fp[p];
      ++fn[g];
    }
  }
  report.accuracy = safe_div(correct, gold.size());
  std::int64_t tp_sum = 0, fp_sum = 0, fn_sum = 0;
  for (std::size_t c = 0; c < labels.size(); ++c) {
    ClassScores s;
    s.label = labels[c];
    s.precision = safe_div(tp[c], tp[c] + fp[c]);
    s.recall = safe_div(tp[c], tp[c] + fn[c]);
    s.f1 = f1_of(s.precision, s.recall);
    s.support = tp[c] + fn[c];
    report.macro_precision += s.precision;
    report.macro_recall += s.recall;
    report.macro_f1 += s.f1;
    report.weighted_f1 += s.f1 * static_cast<double>(s.support);
    tp_sum += tp[c];
    fp_sum += fp[c];
    fn_sum += fn[c];
    report.per_class.push_back(s);
  }
  const double n = static_cast<double>(labels.size());
  report.macro_precision = safe_div(report.macro_precision, n);
  report.macro_recall = safe_div(report.macro_recall, n);
  report.macro_f1 = safe_div(report.macro_f1, n);
  report.weighted_f1 = safe_div(report.weighted_f1, static_cast<double>(gold.size()));
  report.micro_precision = safe_div(tp_sum, tp_sum + fp_sum);
  report.micro_recall = safe_div(tp_sum, tp_sum + fn_sum);
  report.micro_f1 = f1_of(report.micro_precision, report.micro_recall);
  return report;
}

std::string format_report(const ClassificationReport& r) {
  std::size_t width = 12;
  for (const auto& c : r.per_class) width = std::max(width, c.label.size());
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%*s %9s %9s %9s %9s\n", static_cast<int>(width), "",
                "precision", "recall", "f1-score", "support");
  out << line << "\n";
  for (const auto& c : r.per_class) {
    std::snprintf(line, sizeof line, "%*s %9.4f %9.4f %9.4f %9lld\n", static_cast<int>(width),
                  c.label.c_str(), c.precision, c.recall, c.f1, static_cast<long long>(c.support));
    out << line;
  }
  out << "\n";
  std::snprintf(line, sizeof line, "%*s %9s %9s %9.4f %9lld\n", static_cast<int>(width), "accuracy",
                "", "", r.accuracy, static_cast<long long>(r.count));
  out << line;
  std::snprintf(line, sizeof line, "%*s %9.4f %9.4f %9.4f %9lld\n", static_cast<int>(width),
                "macro avg", r.macro_precision, r.macro_recall, r.macro_f1,
                static_cast<long long>(r.count));
  out << line;
  return out.str();
}

// ---- entities ----------------------------------------------------------------------------

bool Entity::operator<(const Entity& o) const {
  return std::tie(begin, end, type) < std::tie(o.begin, o.end, o.type);
}
bool Entity::operator==(const Entity& o) const {
  return begin == o.begin && end == o.end && type == o.type;
}

namespace {

struct Tag {
  char prefix;  // 'O', 'B', 'I'
  std::string type;
};

Tag parse_tag(const std::string& tag, std::size_t sentence, std::size_t position) {
  if (tag == "O") return {'O', {}};
  if (tag.size() >= 2 && (tag[0] == 'B' || tag[0] == 'I') && tag[1] == '-')
    return {tag[0], tag.substr(2)};
  throw Error(ErrorKind::Input, "entity metrics: sentence " + std::to_string(sentence + 1) +
                                    ", token " + std::to_string(position + 1) + ": tag '" + tag +
                                    "' is not O, B-TYPE or I-TYPE (IOB2)");
}

std::vector<Entity> entities_of(const std::vector<std::string>& tags, std::size_t sentence) {
  std::vector<Entity> out;
  std::size_t i = 0;
  while (i < tags.size()) {
    const Tag t = parse_tag(tags[i], sentence, i);
    if (t.prefix != 'B') {
      ++i;  // O, or an I- with no B- before it: starts nothing in strict mode
      continue;
    }
    std::size_t j = i + 1;
    while (j < tags.size()) {
      const Tag u = parse_tag(tags[j], sentence, j);
      if (u.prefix != 'I' || u.type != t.type) break;
      ++j;
    }
    out.push_back({t.type, i, j});
    i = j;
  }
  return out;
}

}  // namespace

std::vector<Entity> extract_entities(const std::vector<std::string>& tags) {
  return entities_of(tags, 0);
}

EntityScores entity_f1(const std::vector<std::vector<std::string>>& gold,
                       const std::vector<std::vector<std::string>>& predicted) {
  check_lengths(predicted.size(), gold.size(), "entity metrics (sentences)");
  EntityScores s;
  std::map<std::string, std::array<std::int64_t, 3>> counts;  // type -> gold, predicted, correct
  for (std::size_t i = 0; i < gold.size(); ++i) {
    if (gold[i].size() != predicted[i].size()) {
      throw Error(ErrorKind::Runtime, "entity metrics: sentence " + std::to_string(i + 1) +
                                          " has " + std::to_string(gold[i].size()) +
                                          " gold tags but " + std::to_string(predicted[i].size()) +
                                          " predicted");
    }
    const auto g = entities_of(gold[i], i);
    const auto p = entities_of(predicted[i], i);
    const std::set<Entity> gold_set(g.begin(), g.end());
    for (const auto& e : g) ++counts[e.type][0];
    for (const auto& e : p) {
      ++counts[e.type][1];
      if (gold_set.count(e)) ++counts[e.type][2];
    }
  }
  for (const auto& [type, c] : counts) {
    ClassScores cs;
    cs.label = type;
    cs.precision = safe_div(c[2], c[1]);
    cs.recall = safe_div(c[2], c[0]);
    cs.f1 = f1_of(cs.precision, cs.recall);
    cs.support = c[0];
    s.per_type[type] = cs;
    s.gold_entities += c[0];
    s.predicted_entities += c[1];
    s.correct += c[2];
  }
  s.precision = safe_div(s.correct, s.predicted_entities);
  s.recall = safe_div(s.correct, s.gold_entities);
  s.f1 = f1_of(s.precision, s.recall);
  return s;
}

// ---- text metrics ---------------------------------------------------------------------------

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Length in bytes of a Unicode whitespace character starting at s[i] (as Python's
// str.split() sees it), or 0.
std::size_t unicode_space(const std::string& s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return 1;
  const auto at = [&](std::size_t k) {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
  };
  if (c == 0xC2 && (at(1) == 0x85 || at(1) == 0xA0)) return 2;
  if (c == 0xE1 && at(1) == 0x9A && at(2) == 0x80) return 3;  // U+1680
  if (c == 0xE2 && at(1) == 0x80 &&
      (at(2) <= 0x8A || at(2) == 0xA8 || at(2) == 0xA9 || at(2) == 0xAF)) {
    return 3;  // U+2000-200A, U+2028, U+2029, U+202F
  }
  if (c == 0xE2 && at(1) == 0x81 && at(2) == 0x9F) return 3;  // U+205F
  if (c == 0xE3 && at(1) == 0x80 && at(2) == 0x80) return 3;  // U+3000
  return 0;
}

std::vector<std::string> split_unicode_whitespace(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 0; i < s.size();) {
    if (const std::size_t n = unicode_space(s, i)) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      i += n;
    } else {
      cur += s[i++];
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// One pass of a two-character regex substitution with re.sub's leftmost, non-overlapping
// semantics: where first(s[i]) and second(s[i+1]) hold, emit(s[i], s[i+1]) replaces both.
template <class First, class Second, class Emit>
std::string substitute_pairs(const std::string& s, First first, Second second, Emit emit) {
  std::string out;
  out.reserve(s.size() * 2);
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && first(s[i]) && second(s[i + 1])) {
      emit(out, s[i], s[i + 1]);
      i += 2;
    } else {
      out += s[i++];
    }
  }
  return out;
}

}  // namespace

double exact_match(const std::vector<std::string>& predicted,
                   const std::vector<std::string>& references) {
  check_lengths(predicted.size(), references.size(), "exact match");
  std::size_t hits = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i)
    hits += trim(predicted[i]) == trim(references[i]);
  return safe_div(hits, predicted.size());
}

std::vector<std::string> tokenize_13a(const std::string& input) {
  std::string line = input;
  replace_all(line, "<skipped>", "");
  replace_all(line, "-\n", "");
  replace_all(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    replace_all(line, "&quot;", "\"");
    replace_all(line, "&amp;", "&");
    replace_all(line, "&lt;", "<");
    replace_all(line, "&gt;", ">");
  }
  line = " " + line + " ";
  // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 "
  std::string spaced;
  for (const char ch : line) {
    const auto c = static_cast<unsigned char>(ch);
    const bool punct = (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) ||
                       (c >= 0x20 && c <= 0x26) || (c >= 0x28 && c <= 0x2B) ||
                       (c >= 0x3A && c <= 0x40) || c == 0x2F;
    if (punct) {
      spaced += ' ';
      spaced += ch;
      spaced += ' ';
    } else {
      spaced += ch;
    }
  }
  const auto period_comma = [](char c) { return c == '.' || c == ','; };
  const auto not_digit = [](char c) { return !is_digit(c); };
  // ([^0-9])([\.,]) -> "\1 \2 "
  spaced = substitute_pairs(spaced, not_digit, period_comma, [](std::string& o, char a, char b) {
    o += a;
    o += ' ';
    o += b;
    o += ' ';
  });
  // ([\.,])([^0-9]) -> " \1 \2"
  spaced = substitute_pairs(spaced, period_comma, not_digit, [](std::string& o, char a, char b) {
    o += ' ';
    o += a;
    o += ' ';
    o += b;
  });
  // ([0-9])(-) -> "\1 \2 "
  spaced = substitute_pairs(
      spaced, is_digit, [](char c) { return c == '-'; },
      [](std::string& o, char a, char b) {
        o += a;
        o += ' ';
        o += b;
        o += ' ';
      });
  return split_unicode_whitespace(spaced);
}

namespace {

using NgramCounts = std::map<std::vector<std::string>, std::int64_t>;

NgramCounts ngrams(const std::vector<std::string>& tokens, std::size_t n_min, std::size_t n_max) {
  NgramCounts counts;
  for (std::size_t n = n_min; n <= n_max; ++n) {
    for (std::size_t i = 0; i + n <= tokens.size(); ++i) {
      ++counts[std::vector<std::string>(tokens.begin() + static_cast<std::ptrdiff_t>(i),
                                        tokens.begin() + static_cast<std::ptrdiff_t>(i + n))];
    }
  }
  return counts;
}

}  // namespace

BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& references) {
  constexpr std::size_t kOrder = 4;
  for (const auto& stream : references) check_lengths(hypotheses.size(), stream.size(), "BLEU");
  std::array<double, kOrder> correct{}, total{};
  BleuScore out;
  for (std::size_t i = 0; i < hypotheses.size(); ++i) {
    const auto hyp = tokenize_13a(hypotheses[i]);
    const auto hyp_len = static_cast<std::int64_t>(hyp.size());
    out.sys_len += hyp_len;
    // Closest reference length, the shorter one on ties; n-gram counts clipped by the
    // maximum count over references.
    std::int64_t closest = -1;
    NgramCounts max_ref;
    for (const auto& stream : references) {
      const auto ref = tokenize_13a(stream[i]);
      const auto len = static_cast<std::int64_t>(ref.size());
      const auto diff = std::llabs(len - hyp_len), best = std::llabs(closest - hyp_len);
      if (closest < 0 || diff < best || (diff == best && len < closest)) closest = len;
      for (const auto& [gram, count] : ngrams(ref, 1, kOrder)) {
        auto& m = max_ref[gram];
        m = std::max(m, count);
      }
    }
    out.ref_len += std::max<std::int64_t>(closest, 0);
    for (const auto& [gram, count] : ngrams(hyp, 1, kOrder)) {
      const std::size_t n = gram.size() - 1;
      total[n] += static_cast<double>(count);
      const auto it = max_ref.find(gram);
      if (it != max_ref.end()) correct[n] += static_cast<double>(std::min(count, it->second));
    }
  }
  out.precisions.assign(kOrder, 0.0);
  double smooth = 1.0;
  for (std::size_t n = 0; n < kOrder; ++n) {
    if (total[n] == 0) break;
    if (correct[n] == 0) {
      smooth *= 2;
      out.precisions[n] = 100.0 / (smooth * total[n]);
    } else {
      out.precisions[n] = 100.0 * correct[n] / total[n];
    }
  }
  if (out.sys_len == 0) {
    out.brevity_penalty = 0.0;
  } else if (out.sys_len < out.ref_len) {
    out.brevity_penalty =
        std::exp(1.0 - static_cast<double>(out.ref_len) / static_cast<double>(out.sys_len));
  } else {
    out.brevity_penalty = 1.0;
  }
  double log_sum = 0;
  for (const double p : out.precisions) log_sum += p == 0 ? -9999999999.0 : std::log(p);
  out.score = out.brevity_penalty * std::exp(log_sum / kOrder);
  return out;
}

std::vector<std::string> tokenize_rouge(const std::string& text) {
  std::vector<std::string> tokens;
  std::string cur;
  for (const char ch : text) {
    const char c = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
    if ((c >= 'a' && c <= 'z') || is_digit(c)) {
      cur += c;
    } else if (!cur.empty()) {
      tokens.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) tokens.push_back(std::move(cur));
  return tokens;
}

namespace {

double rouge_n(const std::vector<std::string>& pred, const std::vector<std::string>& ref,
               std::size_t n) {
  const auto p = ngrams(pred, n, n), r = ngrams(ref, n, n);
  std::int64_t overlap = 0, p_total = 0, r_total = 0;
  for (const auto& [g, c] : p) {
    p_total += c;
    const auto it = r.find(g);
    if (it != r.end()) overlap += std::min(c, it->second);
  }
  for (const auto& [g, c] : r) r_total += c;
  const double precision = safe_div(overlap, std::max<std::int64_t>(p_total, 1));
  const double recall = safe_div(overlap, std::max<std::int64_t>(r_total, 1));
  return f1_of(precision, recall);
}

double rouge_l(const std::vector<std::string>& pred, const std::vector<std::string>& ref) {
  if (pred.empty() || ref.empty()) return 0.0;
  std::vector<std::size_t> prev(pred.size() + 1), cur(pred.size() + 1);
  for (std::size_t i = 1; i <= ref.size(); ++i) {
    for (std::size_t j = 1; j <= pred.size(); ++j) {
      cur[j] = ref[i - 1] == pred[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    }
    std::swap(prev, cur);
  }
  const double lcs = static_cast<double>(prev[pred.size()]);
  return f1_of(lcs / static_cast<double>(pred.size()), lcs / static_cast<double>(ref.size()));
}

}  // namespace

RougeScores rouge(const std::vector<std::string>& predicted,
                  const std::vector<std::string>& references) {
  check_lengths(predicted.size(), references.size(), "ROUGE");
  RougeScores s;
  for (std::size_t i = 0; i < predicted.size(); ++i) {
    const auto p = tokenize_rouge(predicted[i]), r = tokenize_rouge(references[i]);
    s.rouge1 += rouge_n(p, r, 1);
    s.rouge2 += rouge_n(p, r, 2);
    s.rougeL += rouge_l(p, r);
  }
  const double n = static_cast<double>(predicted.size());
  s.rouge1 = safe_div(s.rouge1, n);
  s.rouge2 = safe_div(s.rouge2, n);
  s.rougeL = safe_div(s.rougeL, n);
  return s;
}

}  // namespace pft::metrics
