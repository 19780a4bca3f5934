"""ftkit.encoders: the data splits, the classifier build and its cache, the QA labels and span
decoding (against transformers' run_qa.py logic and a brute force), and the SQuAD metrics
(against the official evaluate-v1.1.py, copied below from its definition)."""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
)

from ftkit import encoders
from ftkit.cache import CACHE_ENV
from ftkit.encoders import (
    ClassifierRecipe,
    best_span,
    check_qa_rows,
    classification_scores,
    freeze_bottom,
    minilm_path,
    predict_answers,
    qa_data,
    qa_features,
    sentiment_classifier,
    sentiment_data,
    squad_exact_match,
    squad_f1,
    squad_normalize,
    squad_scores,
    train_classifier,
)

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(minilm_path())


# --- the official SQuAD v1.1 evaluation, written from evaluate-v1.1.py -------------------------


def official_normalize_answer(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def official_f1_score(prediction, ground_truth):
    prediction_tokens = official_normalize_answer(prediction).split()
    ground_truth_tokens = official_normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def official_exact_match_score(prediction, ground_truth):
    return official_normalize_answer(prediction) == official_normalize_answer(ground_truth)


def official_evaluate(golds, predictions):
    f1 = exact_match = 0
    for ground_truths, prediction in zip(golds, predictions, strict=True):
        exact_match += max(official_exact_match_score(prediction, g) for g in ground_truths)
        f1 += max(official_f1_score(prediction, g) for g in ground_truths)
    return {"exact_match": 100.0 * exact_match / len(golds), "f1": 100.0 * f1 / len(golds)}


# answers built from the pieces normalisation acts on: articles, case, punctuation, whitespace
ANSWERS = st.lists(
    st.sampled_from(
        [
            "a",
            "an",
            "the",
            "The",
            "AN",
            "b",
            "banana",
            "x",
            " ",
            "  ",
            "\t",
            ".",
            ",",
            "!",
            "'",
            "-",
        ]
    ),
    max_size=12,
).map("".join)


@PROPERTY
@given(prediction=ANSWERS, gold=ANSWERS)
def test_squad_metrics_match_the_official_script(prediction, gold):
    assert squad_normalize(prediction) == official_normalize_answer(prediction)
    assert squad_exact_match(prediction, gold) == official_exact_match_score(prediction, gold)
    assert squad_f1(prediction, gold) == pytest.approx(official_f1_score(prediction, gold))


@PROPERTY
@given(rows=st.lists(st.tuples(ANSWERS, st.lists(ANSWERS, min_size=1, max_size=3)), min_size=1))
def test_squad_scores_match_the_official_script(rows):
    predictions, golds = [p for p, _ in rows], [g for _, g in rows]
    ours, theirs = squad_scores(predictions, golds), official_evaluate(golds, predictions)
    assert ours["exact_match"] == pytest.approx(theirs["exact_match"])
    assert ours["f1"] == pytest.approx(theirs["f1"])


def test_squad_metrics_by_hand():
    assert squad_normalize("  The  Eiffel-Tower, in PARIS! ") == "eiffeltower in paris"
    assert squad_normalize("banana and an anthem") == "banana and anthem"  # whole words only
    assert squad_exact_match("the Dentist.", "dentist")
    assert not squad_exact_match("dentist employed", "dentist")
    assert squad_f1("dentist employed by Redstone", "dentist") == pytest.approx(0.4)
    assert squad_f1("x y y", "y y z") == pytest.approx(2 / 3)  # counts, not sets
    assert squad_f1("", "") == 0.0  # as v1.1 does (v2.0 gives 1 to two empty answers)
    scores = squad_scores(["a dentist", "Cusco"], [["plumber", "dentist"], ["Cusco, Peru"]])
    assert scores == pytest.approx({"exact_match": 50.0, "f1": 100 * (1 + 2 / 3) / 2})


def test_squad_scores_refuses_bad_input_naming_the_question():
    with pytest.raises(ValueError, match="2 predictions for 1 questions"):
        squad_scores(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="question 1 needs a non-empty list"):
        squad_scores(["a", "b"], [["a"], []])


# --- classification ------------------------------------------------------------------------


def test_sentiment_data_is_balanced_deterministic_and_held_out():
    train, test = sentiment_data()
    assert (len(train), len(test)) == (320, 160)
    assert sentiment_data() == (train, test)
    for rows in (train, test):
        assert Counter(row["label"] for row in rows) == {0: len(rows) // 2, 1: len(rows) // 2}
    assert not {r["text"] for r in train} & {r["text"] for r in test}
    words = encoders._SENTIMENT_WORDS
    for field in ("aspects", 0, 1, "plain", "negated"):
        assert not set(words["train"][field]) & set(words["test"][field]), field
    assert sentiment_data(seed=1) != (train, test)


def test_sentiment_labels_follow_the_adjective_and_the_negation():
    train, test = sentiment_data()
    for row in train + test:
        text = row["text"].lower()
        positive_word = any(
            re.search(rf"\b{w}\b", text)
            for split in ("train", "test")
            for w in encoders._SENTIMENT_WORDS[split][1]
        )
        negated = " not " in text or " never " in text
        assert row["label"] == int(positive_word != negated), row


@pytest.mark.parametrize("n_train", [0, 3, 10_000, 2.0])
def test_sentiment_data_refuses_impossible_sizes(n_train):
    with pytest.raises(ValueError, match="n_train must be an even int"):
        sentiment_data(n_train=n_train)


def test_classification_scores_by_hand():
    # 3 true positives, 1 false positive, 1 false negative, 1 true negative
    scores = classification_scores([1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 1, 0])
    assert scores["accuracy"] == pytest.approx(100 * 4 / 6)
    assert scores["f1"] == pytest.approx(100 * 2 * 0.75 * 0.75 / 1.5)
    assert classification_scores(torch.tensor([0, 0]), torch.tensor([1, 0]))["f1"] == 0.0
    with pytest.raises(ValueError, match=r"predicted\[1\] is 2"):
        classification_scores([1, 2], [1, 0])
    with pytest.raises(ValueError, match="2 predictions for 1 labels"):
        classification_scores([1, 0], [1])


def test_classifier_recipe_names_the_bad_field():
    with pytest.raises(ValueError, match="ClassifierRecipe.steps must be a positive int"):
        ClassifierRecipe(steps=0)
    with pytest.raises(ValueError, match="ClassifierRecipe.frozen_layers must be an int >= 0"):
        ClassifierRecipe(frozen_layers=-1)
    with pytest.raises(ValueError, match="ClassifierRecipe.learning_rate"):
        ClassifierRecipe(learning_rate=0.0)
    with pytest.raises(ValueError, match="either recipe or model"):
        sentiment_classifier(steps=3, recipe=ClassifierRecipe())


def tiny_bert(folder: Path, tokenizer) -> str:
    """A 2-layer, 32-wide random BERT with all-MiniLM-L6-v2's tokenizer, saved in ``folder``."""
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    BertForSequenceClassification(config).base_model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def test_freeze_bottom_freezes_the_embeddings_and_the_lowest_layers(tmp_path, tokenizer):
    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_bert(tmp_path / "bert", tokenizer), num_labels=2
    )
    trainable = freeze_bottom(model, 1)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {
        n for n, _ in model.named_parameters() if ".embeddings." in n or ".encoder.layer.0." in n
    }
    assert trainable == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert all(p.requires_grad for p in model.classifier.parameters())
    fresh = AutoModelForSequenceClassification.from_pretrained(str(tmp_path / "bert"), num_labels=2)
    assert freeze_bottom(fresh, 0) == sum(p.numel() for p in fresh.parameters())


def test_train_classifier_saves_a_loadable_model_and_its_log(tmp_path, tokenizer):
    """The build's mechanics on a tiny random BERT; whether it learns is checked on the real
    model by test_the_shared_classifier_beats_chance_on_held_out_sentences."""
    recipe = ClassifierRecipe(
        model=tiny_bert(tmp_path / "bert", tokenizer), steps=5, frozen_layers=1
    )
    folder = tmp_path / "out"
    folder.mkdir()
    train_classifier(recipe, folder)
    log = json.loads((folder / "train_log.json").read_text())
    assert [step for step, _ in log["loss"]] == [5]  # logging_steps=5
    assert 0 < log["trainable"] < log["weights"]
    assert "model.safetensors" in {p.name for p in folder.iterdir()}
    assert not list(folder.glob("*.bin")) and not list(folder.glob("*.pt"))  # no pickle
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert model.config.label2id == {"negative": 0, "positive": 1}


def test_sentiment_classifier_is_built_once_per_recipe(tmp_path, tokenizer, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    calls = []
    monkeypatch.setattr(
        encoders,
        "train_classifier",
        lambda recipe, folder: calls.append(recipe) or (folder / "config.json").write_text("{}"),
    )
    model = tiny_bert(tmp_path / "bert", tokenizer)
    first = sentiment_classifier(model, steps=3)
    assert sentiment_classifier(model, steps=3) == first
    assert sentiment_classifier(recipe=ClassifierRecipe(model=model, steps=3)) == first
    assert sentiment_classifier(model, steps=4) != first
    assert len(calls) == 2
    # the defaults resolve "" to the MiniLM folder, so a call without arguments hits the page's
    assert sentiment_classifier() == sentiment_classifier(minilm_path())
    assert calls[-1] == ClassifierRecipe(model=minilm_path())


def test_the_shared_classifier_beats_chance_on_held_out_sentences(tokenizer):
    """The model the BERT and the distillation chapters share (built once per cache)."""
    folder = sentiment_classifier()
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    _, test = sentiment_data()
    batch = tokenizer([row["text"] for row in test], padding=True, return_tensors="pt")
    with torch.no_grad():
        predicted = model(**batch).logits.argmax(-1)
    scores = classification_scores(predicted, [row["label"] for row in test])
    assert scores["accuracy"] >= 85 and scores["f1"] >= 85


# --- extractive QA ---------------------------------------------------------------------------


def test_qa_data_is_deterministic_and_held_out():
    train, test = qa_data(n_train=300, n_test=100)
    assert qa_data(n_train=300, n_test=100) == (train, test)
    check_qa_rows(train + test)
    for row in train + test:
        assert row["context"][row["answer_start"] :].startswith(row["answer"])
        assert row["gold"] == [row["answer"]]  # the metrics drop articles: no "a nurse"
    words = encoders._QA_WORDS
    for field in ("first", "last", "city", "job", "company", "passages"):
        assert not set(words["train"][field]) & set(words["test"][field]), field
    train_questions = {q for qs in words["train"]["questions"].values() for q in qs}
    test_questions = {q for qs in words["test"]["questions"].values() for q in qs}
    assert not train_questions & test_questions
    assert not {r["context"] for r in train} & {r["context"] for r in test}


def test_check_qa_rows_names_the_row_and_the_answer():
    good = {"context": "Mara was born in Lisbon.", "question": "Where?", "answer": "Lisbon"}
    with pytest.raises(ValueError, match="QA row 1: answer 'Oslo' is not in its context"):
        check_qa_rows([{**good, "answer_start": 17}, {**good, "answer": "Oslo"}])
    with pytest.raises(ValueError, match=r"QA row 0: answer_start 3 does not point .* at 17"):
        check_qa_rows([{**good, "answer_start": 3}])
    with pytest.raises(ValueError, match="QA row 0: field 'question' must be a non-empty"):
        check_qa_rows([{**good, "question": " ", "answer_start": 17}])


def run_qa_labels(tokenizer, rows, max_length):
    """Start/end token labels as transformers' run_qa.py computes them (prepare_train_features,
    one window per example)."""
    encoded = tokenizer(
        [r["question"] for r in rows],
        [r["context"] for r in rows],
        truncation="only_second",
        max_length=max_length,
        return_offsets_mapping=True,
    )
    labels = []
    for i, row in enumerate(rows):
        offsets, sequence_ids = encoded["offset_mapping"][i], encoded.sequence_ids(i)
        start_char = row["answer_start"]
        end_char = start_char + len(row["answer"])
        token_start = 0
        while sequence_ids[token_start] != 1:
            token_start += 1
        token_end = len(encoded["input_ids"][i]) - 1
        while sequence_ids[token_end] != 1:
            token_end -= 1
        if not (offsets[token_start][0] <= start_char and offsets[token_end][1] >= end_char):
            labels.append((0, 0))  # the [CLS] index
            continue
        while token_start < len(offsets) and offsets[token_start][0] <= start_char:
            token_start += 1
        while offsets[token_end][1] >= end_char:
            token_end -= 1
        labels.append((token_start - 1, token_end + 1))
    return labels


def test_qa_features_match_run_qa_and_cut_out_the_answer(tokenizer):
    train, test = qa_data(n_train=200, n_test=100)
    rows = train + test
    features = qa_features(tokenizer, rows, max_length=64)
    ours = list(zip(features["start_positions"], features["end_positions"], strict=True))
    assert ours == run_qa_labels(tokenizer, rows, 64)
    for i, (row, (start, end)) in enumerate(zip(rows, ours, strict=True)):
        offsets = features["offset_mapping"][i]
        assert row["context"][offsets[start][0] : offsets[end][1]] == row["answer"]


def test_qa_features_refuse_an_answer_cut_off_by_max_length(tokenizer):
    row = {
        "context": "word " * 40 + "Lisbon.",
        "question": "Where?",
        "answer": "Lisbon",
        "answer_start": 200,
    }
    with pytest.raises(ValueError, match=r"QA row 0: answer 'Lisbon' is cut off at max_length=16"):
        qa_features(tokenizer, [row], max_length=16)
    # the error says what to do: no windows here, run_qa.py's windowing for long passages
    with pytest.raises(ValueError, match=r"drop the row, or use run_qa.py's prepare_train"):
        qa_features(tokenizer, [row], max_length=16)


def brute_force_span(start, end, in_passage, max_tokens):
    best, where = float("-inf"), None
    for i in range(len(start)):
        for j in range(i, min(len(start), i + max_tokens)):
            if in_passage[i] and in_passage[j] and start[i] + end[j] > best:
                best, where = start[i] + end[j], (i, j)
    return where


@pytest.mark.parametrize("seed", range(20))
def test_best_span_matches_a_brute_force(seed):
    generator = torch.Generator().manual_seed(seed)
    length = 30
    start, end = torch.randn(length, generator=generator), torch.randn(length, generator=generator)
    in_passage = torch.zeros(length, dtype=torch.bool)
    in_passage[8:29] = True  # [CLS] + question + [SEP] before, [SEP] after
    max_tokens = 1 + seed % 6
    assert best_span(start, end, in_passage, max_tokens) == brute_force_span(
        start.tolist(), end.tolist(), in_passage.tolist(), max_tokens
    )


def test_best_span_never_leaves_the_passage():
    start = torch.tensor([9.0, 9.0, 0.0, 1.0, 0.0])
    end = torch.tensor([9.0, 0.0, 0.0, 0.0, 2.0])
    in_passage = torch.tensor([False, False, True, True, True])
    assert best_span(start, end, in_passage) == (3, 4)


class PointingModel:
    """A stand-in QA model whose start/end scores peak at each row's labelled answer tokens."""

    training = False

    def __init__(self, labels):
        self.labels = labels
        self.seen = 0

    def eval(self):
        return self

    def train(self, mode=True):
        self.training = mode
        return self

    def __call__(self, input_ids, **_):
        start = torch.zeros(input_ids.shape)
        end = torch.zeros(input_ids.shape)
        for k in range(len(input_ids)):
            i, j = self.labels[self.seen + k]
            start[k, i], end[k, j] = 5.0, 5.0
        self.seen += len(input_ids)
        return SimpleNamespace(start_logits=start, end_logits=end)


def test_predict_answers_cuts_the_original_text(tokenizer):
    _, test = qa_data(n_train=1, n_test=50)
    features = qa_features(tokenizer, test, max_length=64)
    labels = list(zip(features["start_positions"], features["end_positions"], strict=True))
    model = PointingModel(labels)
    answers = predict_answers(model, tokenizer, test, max_length=64, batch=16)
    assert answers == [row["answer"] for row in test]  # capitals kept: cut, not decoded
    assert squad_scores(answers, [row["gold"] for row in test])["exact_match"] == 100.0
