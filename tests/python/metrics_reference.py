"""Reference values of pft's metrics from the libraries they are defined to equal.

Usage: metrics_reference.py INPUT.json OUTPUT.json
INPUT holds {"classification": [{"gold": [...], "pred": [...], "k": K}, ...],
             "entities": {"gold": [[tags]], "pred": [[tags]]},
             "bleu": {"hyp": [...], "refs": [[...], ...]},
             "rouge": {"pred": [...], "ref": [...]}}
"""
import json
import sys

import sacrebleu
from rouge_score import rouge_scorer
from seqeval.metrics import f1_score as seq_f1, precision_score as seq_p, recall_score as seq_r
from seqeval.scheme import IOB2
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    out = {"classification": []}
    for case in data["classification"]:
        labels = list(range(case["k"]))
        g, p = case["gold"], case["pred"]
        prec, rec, f1, support = precision_recall_fscore_support(
            g, p, labels=labels, zero_division=0)
        out["classification"].append({
            "accuracy": accuracy_score(g, p),
            "macro_f1": f1_score(g, p, labels=labels, average="macro", zero_division=0),
            "micro_f1": f1_score(g, p, labels=labels, average="micro", zero_division=0),
            "weighted_f1": f1_score(g, p, labels=labels, average="weighted", zero_division=0),
            "precision": prec.tolist(), "recall": rec.tolist(), "f1": f1.tolist(),
            "support": support.tolist(),
        })
    e = data["entities"]
    kw = dict(mode="strict", scheme=IOB2, zero_division=0)
    out["entities"] = {"precision": seq_p(e["gold"], e["pred"], **kw),
                       "recall": seq_r(e["gold"], e["pred"], **kw),
                       "f1": seq_f1(e["gold"], e["pred"], **kw)}
    b = data["bleu"]
    bleu = sacrebleu.corpus_bleu(b["hyp"], b["refs"])
    out["bleu"] = {"score": bleu.score, "precisions": list(bleu.precisions), "bp": bleu.bp,
                   "sys_len": bleu.sys_len, "ref_len": bleu.ref_len}
    out["bleu_tokens"] = [sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a()(h).split(" ")
                          if h.strip() else [] for h in b["hyp"]]
    r = data["rouge"]
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    sums = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for pred, ref in zip(r["pred"], r["ref"]):
        scores = scorer.score(ref, pred)  # (target, prediction)
        for key in sums:
            sums[key] += scores[key].fmeasure
    n = max(len(r["pred"]), 1)
    out["rouge"] = {k: v / n for k, v in sums.items()}
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
