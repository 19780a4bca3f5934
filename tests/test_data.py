"""ftkit.data: the loss lands on the assistant's tokens, bad chats fail naming the chat, and
validate_file names every bad row of a data set file while keeping every good one."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from transformers import AutoTokenizer

from ftkit.data import (
    JSON_SCHEMA,
    DataError,
    chat_batch,
    faq,
    reasoning_task,
    score,
    show_loss_tokens,
    validate_file,
)
from ftkit.tiny import tiny_llama


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(tiny_llama())


def test_labels_cover_exactly_the_replies(tokenizer):
    chats = faq()
    batch = chat_batch(tokenizer, chats)
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape
    assert len(chats) == 12 and batch["input_ids"].shape[0] == 12
    for row, chat in zip(batch["labels"], chats, strict=True):
        learned = tokenizer.decode(row[row != -100])
        assert learned == chat[-1]["content"] + "<|end|>"  # the reply and its end-of-turn
    # padding is never learned
    assert (batch["labels"][batch["attention_mask"] == 0] == -100).all()


def test_faq_is_a_fresh_copy():
    first = faq()
    first[0][0]["content"] = "changed"
    assert faq()[0][0]["content"] != "changed"


@pytest.mark.parametrize(
    ("chats", "message"),
    [
        ([], "no chats given"),
        ([[{"role": "user", "content": "hi"}]], "chat 0: no assistant reply"),
        ([faq()[0], [{"role": "user", "text": "hi"}]], "chat 1, message 0: expected keys"),
        ([faq()[0], "hello"], "chat 1: expected a non-empty list"),
    ],
)
def test_bad_chats_name_the_chat(tokenizer, chats, message):
    with pytest.raises(ValueError, match=message):
        chat_batch(tokenizer, chats)


# ------------------------------------------------------------------ validate_file

GOOD = {
    "messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}]
}


def write_jsonl(tmp_path, rows, name="data.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def msgs(*pairs):
    return {"messages": [{"role": r, "content": c} for r, c in pairs]}


def test_a_good_file_passes_whole(tmp_path):
    system = msgs(("system", "Be brief."), ("user", "Hi?"), ("assistant", "Hello."))
    result = validate_file(write_jsonl(tmp_path, [GOOD, system, GOOD]))
    assert result.ok and result.shape == "messages"
    assert result.rows == [GOOD, system, GOOD] and result.lines == [1, 2, 3]
    result.raise_for_errors()  # nothing to raise


@pytest.mark.parametrize(
    "row, field, message",
    [
        ('{"messages": [', "(json)", "invalid JSON"),
        ("[1, 2]", "(row)", "expected a JSON object, got list"),
        ({"msgs": []}, "(row)", "no known columns in ['msgs']"),
        ({"messages": []}, "messages", "expected a non-empty list"),
        ({"messages": ["hi"]}, "messages[0]", "expected an object with role and content"),
        ({"messages": [{"content": "Hi?"}]}, "messages[0].role", "missing"),
        (msgs(("human", "Hi?"), ("assistant", "Yo.")), "messages[0].role", "unknown role 'human'"),
        (msgs(("user", ""), ("assistant", "Yo.")), "messages[0].content", "empty"),
        ({"messages": [{"role": "user", "content": 3}]}, "messages[0].content", "got int"),
        (msgs(("user", "Hi?"), ("user", "Hello?")), "messages[1].role", "'user' out of turn"),
        (
            msgs(
                ("assistant", "Hi."),
            ),
            "messages[0].role",
            "expected system or user",
        ),
        (
            msgs(
                ("user", "Hi?"),
            ),
            "messages",
            "the last message is 'user'",
        ),
        ({"prompt": "2+2=", "completion": ""}, "completion", "empty"),
        ({"prompt": ["x"], "completion": "4"}, "prompt[0]", "expected an object"),
        ({"text": 7}, "text", "expected a string, got int"),
    ],
)
def test_each_bad_row_is_named_and_good_rows_survive(tmp_path, row, field, message):
    # between two good rows of the same shape
    good = {"prompt": "1+1=", "completion": "2"} if "prompt" in row else GOOD
    good = {"text": "A line."} if "text" in row else good
    path = write_jsonl(tmp_path, [good, row, good])
    result = validate_file(path)
    assert result.rows == [good, good] and result.lines == [1, 3]  # no good row lost
    assert result.total == 3
    assert any(e.line == 2 and e.field == field and message in e.message for e in result.errors), (
        result.errors
    )
    with pytest.raises(DataError, match="data.jsonl: .* in 3 rows:\n  line 2: "):
        result.raise_for_errors()


def test_every_problem_of_a_row_is_reported(tmp_path):
    row = msgs(("robot", ""), ("assistant", "Hi."), ("assistant", "Again."))
    result = validate_file(write_jsonl(tmp_path, [row]))
    fields = [e.field for e in result.errors]
    # After an unknown role, the next message is checked as if it came first.
    assert fields == [
        "messages[0].role", "messages[0].content", "messages[1].role", "messages[2].role"
    ]  # fmt: skip


def test_a_mixed_file_keeps_the_first_shape(tmp_path):
    rows = [{"prompt": "2+2=", "completion": "4"}, GOOD, {"text": "plain"}]
    result = validate_file(write_jsonl(tmp_path, rows))
    assert result.shape == "prompt-completion" and len(result.rows) == 1
    assert result.summary().endswith("data.jsonl: 3 rows, 1 good, 2 bad (prompt-completion)")
    assert [str(e) for e in result.errors] == [
        "line 2: (row): a 'messages' row in a 'prompt-completion' data set",
        "line 3: (row): a 'text' row in a 'prompt-completion' data set",
    ]


def test_conversational_prompt_completion(tmp_path):
    good = {"prompt": [{"role": "user", "content": "2+2?"}],
            "completion": [{"role": "assistant", "content": "4"}]}  # fmt: skip
    bad = {"prompt": [{"role": "user", "content": "2+2?"}],
           "completion": [{"role": "user", "content": "4"}]}  # fmt: skip
    result = validate_file(write_jsonl(tmp_path, [good, bad]))
    assert result.rows == [good]
    assert [str(e) for e in result.errors] == [
        "line 2: completion[0].role: 'user' out of turn: expected assistant",
        "line 2: completion: the last message is 'user'; it must be 'assistant'",
    ]


def test_blank_lines_are_not_rows_but_lines_still_count(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n" + "{oops\n")
    result = validate_file(path)
    assert result.total == 2 and result.errors[0].line == 3


def test_length_limit_uses_the_tokenizer(tmp_path, tokenizer):
    long = msgs(("user", "Tell me about quantization, please. " * 40), ("assistant", "No."))
    path = write_jsonl(tmp_path, [GOOD, long])
    n = len(tokenizer.apply_chat_template(long["messages"], return_dict=True)["input_ids"])
    result = validate_file(path, tokenizer=tokenizer, max_length=64)
    assert n > 64 and result.rows == [GOOD]
    assert str(result.errors[0]) == f"line 2: (row): {n} tokens, over the limit of 64"
    with pytest.raises(ValueError, match="together"):
        validate_file(path, tokenizer=tokenizer)


def test_parquet_rows_are_numbered_too(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pylist([{"text": "one"}, {"text": " "}, {"text": "three"}]), path)
    result = validate_file(path)
    assert [r["text"] for r in result.rows] == ["one", "three"]
    assert [str(e) for e in result.errors] == ["line 2: text: empty"]


def test_missing_file_and_wrong_suffix(tmp_path):
    with pytest.raises(FileNotFoundError, match="no data set file at"):
        validate_file(tmp_path / "nope.jsonl")
    csv = tmp_path / "data.csv"
    csv.write_text("a,b\n")
    with pytest.raises(ValueError, match="expected a .jsonl"):
        validate_file(csv)


# ------------------------------------------------------------------ reasoning_task


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


def test_the_published_schema_agrees_with_validate_file(tmp_path):
    good = [GOOD, {"prompt": "2+2=", "completion": "4"}, {"text": "A line."},
            {"prompt": [{"role": "user", "content": "Hi?"}],
             "completion": [{"role": "assistant", "content": "Hello."}]}]  # fmt: skip
    bad = [{"msgs": []}, {"messages": []}, msgs(("human", "Hi")), {"text": ""}, {"text": 3},
           {"messages": [{"role": "user"}]}]  # fmt: skip
    for row in good:
        jsonschema.validate(row, JSON_SCHEMA)
        assert validate_file(write_jsonl(tmp_path, [row])).ok
    for row in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(row, JSON_SCHEMA)
        assert not validate_file(write_jsonl(tmp_path, [row])).ok


def test_show_loss_tokens_brackets_exactly_the_labelled_tokens(tokenizer):
    batch = chat_batch(tokenizer, faq()[:1])
    view = show_loss_tokens(tokenizer, batch["input_ids"][0], batch["labels"][0])
    learned = "".join(part.split("]")[0] for part in view.split("[")[1:])
    assert learned == faq()[0][1]["content"] + "<|end|>"
    assert view.replace("[", "").replace("]", "") == tokenizer.decode(batch["input_ids"][0])


# ------------------------------------------------------------------ preference data

from ftkit.data import PREFERENCE_JSON_SCHEMA, REJECTION_KINDS, preference_pairs, solve  # noqa: E402


def pref(prompt, chosen, rejected):
    user = [{"role": "user", "content": prompt}] if prompt is not None else None
    row = {"chosen": [{"role": "assistant", "content": chosen}],
           "rejected": [{"role": "assistant", "content": rejected}]}  # fmt: skip
    return row if user is None else {"prompt": user, **row}


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


@pytest.mark.parametrize(
    "row, field, message",
    [
        (pref("2+3?", "5", "5"), "rejected", "the same as chosen"),
        ({**pref("2+3?", "5", "6"), "chosen": "5"}, "chosen", "expected a message list"),
        ({"prompt": "2+3?", "chosen": "5", "rejected": [{"role": "assistant", "content": "6"}]},
         "rejected", "expected a string"),
        ({**pref("2+3?", "5", "6"), "prompt": [{"role": "assistant", "content": "2+3?"}]},
         "prompt[0].role", "out of turn"),
        ({**pref("2+3?", "5", "6"), "rejected": [{"role": "user", "content": "6"}]},
         "rejected[0].role", "expected assistant"),
        ({"prompt": "2+3?", "chosen": "5"}, "(row)", "expected prompt+chosen+rejected"),
        ({"chosen": msgs(("user", "2+3?"), ("assistant", "5"))["messages"],
          "rejected": msgs(("user", "2+4?"), ("assistant", "6"))["messages"]},
         "rejected", "does not share the chosen chat's prompt"),
        ({"messages": GOOD["messages"]}, "(row)", "no known columns in ['messages']"),
    ],
)  # fmt: skip
def test_bad_preference_rows_are_named(tmp_path, row, field, message):
    good = pref("1+1?", "2", "3") if "prompt" in row or "messages" in row else {
        "chosen": msgs(("user", "1+1?"), ("assistant", "2"))["messages"],
        "rejected": msgs(("user", "1+1?"), ("assistant", "3"))["messages"]}  # fmt: skip
    if isinstance(row.get("prompt"), str):
        good = {"prompt": "1+1?", "chosen": "2", "rejected": "3"}
    result = validate_file(write_jsonl(tmp_path, [good, row, good]), task="preference")
    assert result.rows == [good, good] and result.lines == [1, 3]
    assert any(e.line == 2 and e.field == field and message in e.message for e in result.errors), (
        result.errors
    )


def test_preference_files_need_the_preference_task(tmp_path):
    path = write_jsonl(tmp_path, [pref("2+3?", "5", "6")])
    assert validate_file(path, task="preference").shape == "preference"
    assert not validate_file(path).ok  # an SFT data set has no chosen/rejected
    with pytest.raises(ValueError, match="task must be 'sft' or 'preference'"):
        validate_file(path, task="dpo")


def test_preference_length_limit_counts_the_longer_reply(tmp_path, tokenizer):
    row = pref("2+3?", "5", "<think>2 + 3 = 5. Five, surely, and nothing else.</think>5")
    path = write_jsonl(tmp_path, [row])
    chat = row["prompt"] + row["rejected"]
    long = len(tokenizer.apply_chat_template(chat, return_dict=True)["input_ids"])
    assert validate_file(path, tokenizer, max_length=long, task="preference").ok
    errors = validate_file(path, tokenizer, max_length=long - 1, task="preference").errors
    assert [e.message for e in errors] == [f"{long} tokens, over the limit of {long - 1}"]
    implicit = write_jsonl(tmp_path, [{"chosen": "2+3=5", "rejected": "2+3=6 or so"}], "i.jsonl")
    n = len(tokenizer("2+3=6 or so")["input_ids"])
    assert validate_file(implicit, tokenizer, max_length=n, task="preference").ok
    assert not validate_file(implicit, tokenizer, max_length=n - 1, task="preference").ok


def test_the_preference_schema_agrees_with_validate_file(tmp_path):
    implicit = {
        "chosen": msgs(("user", "Hi?"), ("assistant", "Hello."))["messages"],
        "rejected": msgs(("user", "Hi?"), ("assistant", "Go away."))["messages"],
    }
    good = [
        pref("Hi?", "Hello.", "Go away."),
        {"prompt": "Hi?", "chosen": "Hello.", "rejected": "Go away."},
        implicit,
        {"chosen": "Hi! Hello.", "rejected": "Hi! Go."},
    ]
    bad = [{"prompt": "Hi?", "chosen": "Hello."}, {"prompt": "Hi?", "chosen": "", "rejected": "x"},
           {"chosen": "a", "rejected": 3}, GOOD]  # fmt: skip
    for row in good:
        jsonschema.validate(row, PREFERENCE_JSON_SCHEMA)
        assert validate_file(write_jsonl(tmp_path, [row]), task="preference").ok
    for row in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(row, PREFERENCE_JSON_SCHEMA)
        assert not validate_file(write_jsonl(tmp_path, [row]), task="preference").ok


# ------------------------------------------------------------------ retrieval pairs

from ftkit.data import retrieval_pairs  # noqa: E402


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
