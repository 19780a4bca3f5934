"""ftkit.tasks: the reasoning task, its preference pairs and the retrieval pairs are seeded,
split apart, correct, and flawed exactly as labelled."""

from __future__ import annotations

import json
import re

import pytest

from ftkit.tasks import (
    REJECTION_KINDS,
    preference_pairs,
    reasoning_task,
    retrieval_pairs,
    score,
    solve,
)
from ftkit.validation import DataError, validate_file


def write_jsonl(tmp_path, rows, name="data.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_reasoning_task_is_seeded_split_and_correct(tmp_path):
    train, test = reasoning_task(n_train=300, n_test=50, steps=3, seed=1)
    assert (train, test) == reasoning_task(n_train=300, n_test=50, steps=3, seed=1)
    assert reasoning_task(300, 50, 3, seed=2)[0] != train
    questions = [r["messages"][0]["content"] for r in train]
    assert len(set(questions)) == 300
    assert not set(questions) & {r["messages"][0]["content"] for r in test}
    for row in train + test:  # the answer is what the question's steps compute
        value, *ops = re.findall(r"(add|take)? ?(\d+)", row["messages"][0]["content"])
        total = int(value[1])
        for op, d in ops:
            total += int(d) if op == "add" else -int(d)
        assert row["answer"] == str(total) and total >= 1
        reply = row["messages"][1]["content"]
        assert reply.count(" = ") == 3 and score(reply, row["answer"])["correct"]
    path = write_jsonl(tmp_path, train + test)
    assert validate_file(path).ok  # the rows are valid training chats (answer is extra)


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("<think>2 + 3 = 5.</think>5", (True, True)),
        ("<think>2 + 3 = 5.</think> 5\n", (True, True)),
        ("<think>2 + 3 = 6.</think>6", (True, False)),
        ("5", (False, False)),
        ("<think></think>5", (False, False)),
        ("<think>2 + 3 = 5.</think>5 because", (False, False)),
    ],
)
def test_score_checks_format_and_answer(reply, expected):
    result = score(reply, "5")
    assert (result["format"], result["correct"]) == expected


def test_reasoning_task_refuses_impossible_sizes():
    with pytest.raises(ValueError, match="only 117 distinct 1-step questions"):
        reasoning_task(n_train=3000, n_test=100, steps=1)


def test_preference_pairs_are_seeded_and_flawed_as_labelled():
    train, _ = reasoning_task(n_train=60, n_test=0, steps=3, seed=0)
    pairs = preference_pairs(train, seed=0)
    assert pairs == preference_pairs(train, seed=0) and pairs != preference_pairs(train, seed=1)
    assert [p["kind"] for p in pairs[:3]] == list(REJECTION_KINDS)
    for row, pair in zip(train, pairs, strict=True):
        chosen, rejected = pair["chosen"][0]["content"], pair["rejected"][0]["content"]
        assert chosen == row["messages"][1]["content"] and pair["prompt"] == row["messages"][:1]
        verdict = score(rejected, row["answer"])
        if pair["kind"] == "no working":
            assert rejected == row["answer"] and not verdict["format"]
        else:  # well formed, wrong answer; "wrong answer" keeps the right working
            assert verdict["format"] and not verdict["correct"]
            same_work = THINK(rejected) == THINK(chosen)
            assert same_work == (pair["kind"] == "wrong answer")


def THINK(reply):
    return re.match(r"<think>(.*)</think>", reply)[1]


def test_solve_redoes_the_task_and_slips_once():
    assert solve("Start at 7, add 7, take 9.") == ("7 + 7 = 14. 14 - 9 = 5.", "5")
    slipped = solve("Start at 7, add 7, take 9.", slip_at=0, slip=2)
    assert slipped == ("7 + 7 = 16. 16 - 9 = 7.", "7")  # the slip carries on to the answer
    with pytest.raises(ValueError, match="not a reasoning_task question"):
        solve("What is 2 + 2?")


def test_retrieval_pairs_are_many_and_split_apart():
    rows, train, test = retrieval_pairs(), retrieval_pairs("train"), retrieval_pairs("test")
    assert len(rows) >= 200 and len(train) + len(test) == len(rows) and len(test) >= 40
    for field in ("id", "query", "passage"):
        values = [r[field] for r in rows]
        assert len(set(values)) == len(values), f"duplicate {field}"
    assert not {r["query"] for r in test} & {r["query"] for r in train}
    assert not {r["passage"] for r in test} & {r["passage"] for r in train}
    assert {r["topic"] for r in test} <= {r["topic"] for r in train}  # every test topic trains


def test_retrieval_pairs_name_bad_rows(tmp_path):
    good = {"id": "a", "topic": "t", "query": "q", "passage": "p", "split": "train"}
    path = write_jsonl(tmp_path, [good, {**good, "passage": ""}, "{oops", {**good, "split": "dev"}])
    expected = r"(?s)3 problem.*line 2: .row.: missing or empty .'passage'.*line 4: .row.: split"
    with pytest.raises(DataError, match=expected):
        retrieval_pairs(path=path)
    with pytest.raises(ValueError, match="split must be"):
        retrieval_pairs("validation")


def test_helpdesk_chats_hold_out_wordings_and_name_their_facts():
    from ftkit.tasks import HELPDESK_TOPICS, chat_turns, helpdesk_chats

    train, test = helpdesk_chats(n_train=200, n_test=30)
    assert (train, test) == helpdesk_chats(n_train=200, n_test=30)  # seeded

    def asked(rows):
        return {t["prompt"][-1]["content"] for t in chat_turns(rows)}

    assert not asked(train) & asked(test)  # no held-out question is trained on
    # one held-out wording per phrasing; 30 random chats ask most of them
    assert 0 < len(asked(test)) <= sum(len(p) for p, _, _ in HELPDESK_TOPICS.values())
    for turn in chat_turns(train + test):
        assert turn["fact"] in turn["reply"]  # a reference reply has its key fact
    with pytest.raises(ValueError, match="rows\\[0\\] has 1 assistant turns but 2 facts"):
        chat_turns([{"messages": train[0]["messages"][:3], "facts": ["a", "b"]}])
