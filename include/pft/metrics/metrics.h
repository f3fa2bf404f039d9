#pragma once
// Evaluation metrics, each defined to equal a reference library (tests compare live):
//   classification: scikit-learn (accuracy, precision/recall/F1 per class, macro, micro)
//   entities:       seqeval, mode="strict", scheme=IOB2
//   BLEU:           sacrebleu corpus_bleu (13a tokenizer, exp smoothing, 4-grams)
//   ROUGE:          rouge-score (no stemmer), F1 averaged over examples
// Values are fractions in [0, 1], except BLEU, which is on sacrebleu's 0-100 scale.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pft::metrics {

struct ClassScores {
  std::string label;
  double precision = 0, recall = 0, f1 = 0;
  std::int64_t support = 0;  // gold examples of the class
};

struct ClassificationReport {
  double accuracy = 0;
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  double micro_precision = 0, micro_recall = 0, micro_f1 = 0;
  double weighted_f1 = 0;
  std::vector<ClassScores> per_class;  // in class-index order
  std::int64_t count = 0;
};

/// `gold` and `predicted` are class indices in [0, labels.size()). Macro averages run over
/// every label of `labels` (scikit-learn's `labels=range(K)`), a class that is never
/// predicted or never present scores 0 (zero_division=0).
ClassificationReport classify(const std::vector<std::int64_t>& gold,
                              const std::vector<std::int64_t>& predicted,
                              const std::vector<std::string>& labels);

/// Human-readable table, like scikit-learn's classification_report.
std::string format_report(const ClassificationReport& report);

struct EntityScores {
  double precision = 0, recall = 0, f1 = 0;  // micro over entity types
  std::map<std::string, ClassScores> per_type;
  std::int64_t gold_entities = 0, predicted_entities = 0, correct = 0;
};

/// Entity-level scores over sentences of BIO (IOB2) tags, strict: an entity is B-X followed
/// by I-X*, an I- without its B- starts nothing; spans must match exactly with their type.
/// Tags other than O, B-*, I-* are an error naming the sentence and position.
EntityScores entity_f1(const std::vector<std::vector<std::string>>& gold,
                       const std::vector<std::vector<std::string>>& predicted);

/// Entities (type, begin, end exclusive) of one sentence, strict IOB2.
struct Entity {
  std::string type;
  std::size_t begin = 0, end = 0;
  bool operator<(const Entity& o) const;
  bool operator==(const Entity& o) const;
};
std::vector<Entity> extract_entities(const std::vector<std::string>& tags);

/// Fraction of predictions equal to their reference after trimming surrounding whitespace.
double exact_match(const std::vector<std::string>& predicted,
                   const std::vector<std::string>& references);

/// sacrebleu's 13a tokenization.
std::vector<std::string> tokenize_13a(const std::string& line);

struct BleuScore {
  double score = 0;                // 0-100
  std::vector<double> precisions;  // per n-gram order, 0-100
  double brevity_penalty = 0;
  std::int64_t sys_len = 0, ref_len = 0;
};

/// Corpus BLEU of `hypotheses` against one or more reference streams (`references[k][i]` is
/// the k-th reference of hypothesis i), as sacrebleu.corpus_bleu with its defaults.
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& references);

/// rouge-score's tokenizer: lower-case, non-[a-z0-9] runs become spaces.
std::vector<std::string> tokenize_rouge(const std::string& text);

struct RougeScores {
  double rouge1 = 0, rouge2 = 0, rougeL = 0;  // F1, mean over examples
};
RougeScores rouge(const std::vector<std::string>& predicted,
                  const std::vector<std::string>& references);

}  // namespace pft::metrics
