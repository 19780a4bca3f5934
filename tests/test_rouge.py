"""ftkit.rouge: ROUGE-1, ROUGE-2 and ROUGE-L equal Google's rouge-score, hand cases, bad input."""

from __future__ import annotations

import random

import pytest
from rouge_score import rouge_scorer

from ftkit.rouge import ROUGE_TYPES, rouge, rouge_l, rouge_n, words

SCORER = rouge_scorer.RougeScorer(list(ROUGE_TYPES))  # its defaults: no stemming


def ours(prediction: str, reference: str) -> dict:
    return {
        "rouge1": rouge_n(prediction, reference, 1),
        "rouge2": rouge_n(prediction, reference, 2),
        "rougeL": rouge_l(prediction, reference),
    }


def test_equals_rouge_score_on_random_texts():
    """Precision, recall and F of all three, on 2,000 random pairs of words with repeats,
    capitals, punctuation, digits, non-ASCII letters and empty texts."""
    vocabulary = "a b c d the The dog, dog. Dog x1 2 é café -- ".split(" ")
    rng = random.Random(0)
    for _ in range(2000):
        pred = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 12)))
        ref = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 12)))
        theirs = SCORER.score(ref, pred)  # rouge-score takes the reference first
        for name, score in ours(pred, ref).items():
            assert score == pytest.approx(tuple(theirs[name]), abs=1e-12), (pred, ref, name)


def test_hand_cases():
    ref = "Dunmore council delays bus route"
    same = ours(ref, ref)
    assert all(s.fmeasure == 1.0 for s in same.values())
    shuffled = ours("bus route delays Dunmore council", ref)
    assert shuffled["rouge1"].fmeasure == 1.0  # the same words
    assert shuffled["rouge2"].fmeasure == pytest.approx(2 / 4)  # "bus route", "dunmore council"
    assert shuffled["rougeL"].fmeasure == pytest.approx(2 / 5)  # e.g. "bus route"
    longer = rouge_n("Dunmore council delays the bus route today", ref, 1)
    assert longer.recall == 1.0 and longer.precision == pytest.approx(5 / 7)
    repeated = rouge_n("the the the", "the cat", 1)  # clipped: "the" counts once
    assert repeated.precision == pytest.approx(1 / 3) and repeated.recall == pytest.approx(1 / 2)
    assert rouge_n("", ref, 1) == (0.0, 0.0, 0.0)
    assert rouge_l("nothing shared", ref) == (0.0, 0.0, 0.0)


def test_words_are_rouge_scores_tokens():
    assert words("Dunmore's Council, 2024!") == ["dunmore", "s", "council", "2024"]


def test_corpus_mean():
    scores = rouge(["a b", "c d"], ["a b", "x y"])
    assert scores == {"rouge1": 0.5, "rouge2": 0.5, "rougeL": 0.5}


@pytest.mark.parametrize(
    "predictions, references, message",
    [
        (["a"], ["a", "b"], "1 predictions for 2 references"),
        ([], [], "0 predictions for 0 references"),
        (["a", None], ["a", "b"], "predictions row 1 is NoneType"),
        (["a", "b"], ["a", 3], "references row 1 is int"),
    ],
)
def test_bad_input_names_the_row(predictions, references, message):
    with pytest.raises(ValueError, match=message):
        rouge(predictions, references)


def test_rouge_n_needs_a_positive_n():
    with pytest.raises(ValueError, match="n must be 1 or more, got 0"):
        rouge_n("a", "a", 0)
