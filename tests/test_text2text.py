"""ftkit.text2text: the T5 chapter's two tasks are held out by combination, Toylang follows its
rules, and the pretraining text holds no held-out fact."""

from __future__ import annotations

import pytest

from ftkit.text2text import (
    SUMMARIZE,
    TRANSLATE,
    summarization_task,
    toylang,
    translation_task,
    unlabelled_text,
)


@pytest.mark.parametrize("make", [summarization_task, translation_task])
def test_held_out_targets_are_new_combinations(make):
    task = make()
    assert len(task["train"]) == 1500 and len(task["test"]) == 100
    train_targets = {row["target"] for row in task["train"]}
    assert not any(row["target"] in train_targets for row in task["test"])
    assert len({row["target"] for row in task["test"]}) == 100  # no repeats either


@pytest.mark.parametrize("make", [summarization_task, translation_task])
def test_same_seed_same_rows_and_test_rows_do_not_depend_on_n_train(make):
    assert make(n_train=50, n_test=10) == make(n_train=50, n_test=10)
    assert make(n_train=50, n_test=10)["test"] == make(n_train=300, n_test=10)["test"]
    assert make(n_train=50, n_test=10, seed=1)["test"] != make(n_train=50, n_test=10)["test"]


def test_a_headline_is_the_reports_four_facts():
    for row in summarization_task(n_train=200, n_test=1)["train"]:
        assert row["input"].startswith(SUMMARIZE)
        report = row["input"].removeprefix(SUMMARIZE)
        town, *rest = row["target"].split()
        assert report.count(town) >= 1
        topic = " ".join(rest[-2:])  # every topic is two words
        assert f"the {topic}." in report
        # the distractor names another town
        assert report.count(" will discuss the ") == 1


def test_toylang_rules():
    assert toylang("the big dog sees a cat") == "hundo gra vidas katon"
    assert toylang("a farmer helps the small child") == "agro helpas kidon mik"
    for row in translation_task(n_train=100, n_test=1)["train"]:
        assert row["input"].startswith(TRANSLATE)
        assert toylang(row["input"].removeprefix(TRANSLATE)) == row["target"]


@pytest.mark.parametrize(
    "sentence, message",
    [
        ("dog sees a cat", r"word 0 .* should be 'the' or 'a', got 'dog'"),
        ("the big dog sees", r"word 4 .* should be 'the' or 'a', got the end of the sentence"),
        ("the dog barks at a cat", r"word 2 .* should be a verb, got 'barks'"),
        ("the dog sees a cat today", "extra words from word 5"),
    ],
)
def test_toylang_names_the_word_that_does_not_fit(sentence, message):
    with pytest.raises(ValueError, match=message):
        toylang(sentence)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_train": 0}, "n_train must be a positive int, got 0"),
        ({"n_test": 2.5}, "n_test must be a positive int, got 2.5"),
        ({"n_train": 1900, "n_test": 100}, "more than the 1920 distinct"),
    ],
)
def test_bad_sizes_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        summarization_task(**kwargs)


def test_unlabelled_text_holds_no_held_out_fact():
    held_out = summarization_task()["test"] + translation_task()["test"]
    lines = unlabelled_text(600, exclude=held_out)
    assert len(lines) == 600
    headlines = {row["target"] for row in held_out}
    for line in lines:
        assert not line.startswith((SUMMARIZE, TRANSLATE))  # no prefix, no pairing
        if line.split()[0] in ("the", "a"):  # an English sentence
            assert toylang(line) not in headlines
        elif " met for " not in line and "will discuss" not in line:  # a Toylang sentence
            assert line not in headlines
    # reports, English and Toylang take turns
    assert "will discuss" in lines[0] and lines[1].split()[0] in ("the", "a")


def test_unlabelled_text_checks_its_arguments():
    with pytest.raises(ValueError, match="n must be a positive int"):
        unlabelled_text(0)
    with pytest.raises(ValueError, match="exclude row 1 has no string field 'target'"):
        unlabelled_text(3, exclude=[{"target": "x"}, {"input": "y"}])
