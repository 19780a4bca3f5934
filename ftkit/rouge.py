"""ROUGE-1, ROUGE-2 and ROUGE-L, from scratch, as Google's ``rouge-score`` computes them.

ROUGE scores a generated text by its overlap with a reference text (Lin 2004):

- ROUGE-N counts the n-grams the two share, each at most as often as it occurs in both; divided
  by the prediction's n-grams it is the precision P, by the reference's the recall R.
- ROUGE-L uses the longest common subsequence instead: the most words the two have in the same
  order, adjacent or not.
- Each reports F = 2PR / (P + R), and 0 when nothing overlaps.

Words are found as ``rouge-score`` finds them by default: lowercase, and every run of
characters other than ``a-z`` and ``0-9`` is a space (no stemming). ``tests/test_rouge.py``
checks every score against ``rouge_score.rouge_scorer.RougeScorer``.

What ``rouge-score`` adds that we skip: the Porter stemmer (``use_stemmer=True``), ROUGE-Lsum
(LCS over sentences, for multi-sentence summaries) and bootstrap confidence intervals
(``scoring.BootstrapAggregator``).

References:
    Lin 2004, "ROUGE: A Package for Automatic Evaluation of Summaries", Text Summarization
        Branches Out (ACL workshop), sections 2 (ROUGE-N) and 3 (ROUGE-L).
    Simplifies: google-research/google-research ``rouge/rouge_scorer.py`` (``_score_ngrams``,
        ``_score_lcs``) and ``rouge/tokenize.py``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

NON_WORD = re.compile(r"[^a-z0-9]+")  # rouge-score's tokenize.NON_ALPHANUM_PATTERN
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


class Score(NamedTuple):
    """Precision, recall and F-measure (their harmonic mean), each in [0, 1]."""

    precision: float
    recall: float
    fmeasure: float


def words(text: str) -> list[str]:
    """Lowercase ``text`` and split it on everything but letters and digits."""
    return NON_WORD.sub(" ", text.lower()).split()


# --8<-- [start:rouge] docs/bert-t5/t5.md
def f_score(overlap: int, n_prediction: int, n_reference: int) -> Score:
    """P = overlap / prediction's count, R = overlap / reference's count,
    F = 2PR / (P + R); all 0 when nothing overlaps."""
    precision = overlap / max(n_prediction, 1)
    recall = overlap / max(n_reference, 1)
    if precision + recall == 0:
        return Score(0.0, 0.0, 0.0)
    f = 2 * precision * recall / (precision + recall)
    return Score(precision, recall, f)


def rouge_n(prediction: str, reference: str, n: int) -> Score:
    """ROUGE-N: shared n-grams, each counted as often as it occurs in both."""
    if n < 1:
        raise ValueError(f"rouge_n: n must be 1 or more, got {n}")

    def ngrams(tokens: list[str]) -> Counter:
        starts = range(len(tokens) - n + 1)
        return Counter(tuple(tokens[i : i + n]) for i in starts)

    pred_grams, ref_grams = ngrams(words(prediction)), ngrams(words(reference))
    overlap = sum((pred_grams & ref_grams).values())  # & keeps the min count
    return f_score(overlap, sum(pred_grams.values()), sum(ref_grams.values()))


def rouge_l(prediction: str, reference: str) -> Score:
    """ROUGE-L: the longest common subsequence of the two word lists."""
    pred, ref = words(prediction), words(reference)
    # lcs[j] = LCS length of the reference so far and pred[:j]
    lcs = [0] * (len(pred) + 1)
    for ref_word in ref:
        diagonal = 0  # lcs[j - 1] of the row above
        for j, pred_word in enumerate(pred, 1):
            above = lcs[j]
            if ref_word == pred_word:
                lcs[j] = diagonal + 1
            else:
                lcs[j] = max(lcs[j], lcs[j - 1])
            diagonal = above
    return f_score(lcs[-1], len(pred), len(ref))


# --8<-- [end:rouge]


def rouge(predictions: list[str], references: list[str]) -> dict[str, float]:
    """The mean ROUGE-1, ROUGE-2 and ROUGE-L F-measures of predictions against references.

    Args:
        predictions: generated texts; references: the texts they should match, in order.

    Returns:
        ``{"rouge1": ..., "rouge2": ..., "rougeL": ...}``, each the mean over rows, in [0, 1].

    Raises:
        ValueError: the lists differ in length or are empty, or row ``i`` of either is not a
            string (named by row and list).
    """
    predictions, references = list(predictions), list(references)
    if not references or len(predictions) != len(references):
        raise ValueError(
            f"rouge: {len(predictions)} predictions for {len(references)} references; give one "
            "prediction per reference, at least one"
        )
    for name, texts in (("predictions", predictions), ("references", references)):
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"rouge: {name} row {i} is {type(text).__name__}, not a string")
    scores = {
        "rouge1": [rouge_n(p, r, 1) for p, r in zip(predictions, references, strict=True)],
        "rouge2": [rouge_n(p, r, 2) for p, r in zip(predictions, references, strict=True)],
        "rougeL": [rouge_l(p, r) for p, r in zip(predictions, references, strict=True)],
    }
    return {name: sum(s.fmeasure for s in rows) / len(rows) for name, rows in scores.items()}
