"""ftkit.validation: validate_file names every bad row of a data set file, by line and field,
and keeps every good one; the published JSON Schemas agree with it."""

from __future__ import annotations

import json

import jsonschema
import pytest
from transformers import AutoTokenizer

from ftkit.tiny import tiny_llama
from ftkit.validation import JSON_SCHEMA, PREFERENCE_JSON_SCHEMA, DataError, validate_file


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(tiny_llama())


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
    assert result.ok and result.format == "messages"
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
        "messages[0].role",
        "messages[0].content",
        "messages[1].role",
        "messages[2].role",
    ]


def test_a_mixed_file_keeps_the_first_shape(tmp_path):
    rows = [{"prompt": "2+2=", "completion": "4"}, GOOD, {"text": "plain"}]
    result = validate_file(write_jsonl(tmp_path, rows))
    assert result.format == "prompt-completion" and len(result.rows) == 1
    assert result.summary().endswith("data.jsonl: 3 rows, 1 good, 2 bad (prompt-completion)")
    assert [str(e) for e in result.errors] == [
        "line 2: (row): a 'messages' row in a 'prompt-completion' data set",
        "line 3: (row): a 'text' row in a 'prompt-completion' data set",
    ]


def test_conversational_prompt_completion(tmp_path):
    good = {
        "prompt": [{"role": "user", "content": "2+2?"}],
        "completion": [{"role": "assistant", "content": "4"}],
    }
    bad = {
        "prompt": [{"role": "user", "content": "2+2?"}],
        "completion": [{"role": "user", "content": "4"}],
    }
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
    with pytest.raises(FileNotFoundError, match="nope.jsonl: no such file"):
        validate_file(tmp_path / "nope.jsonl")
    csv = tmp_path / "data.csv"
    csv.write_text("a,b\n")
    with pytest.raises(ValueError, match="expected a .jsonl"):
        validate_file(csv)


def test_the_published_schema_agrees_with_validate_file(tmp_path):
    good = [
        GOOD,
        {"prompt": "2+2=", "completion": "4"},
        {"text": "A line."},
        {
            "prompt": [{"role": "user", "content": "Hi?"}],
            "completion": [{"role": "assistant", "content": "Hello."}],
        },
    ]
    bad = [
        {"msgs": []},
        {"messages": []},
        msgs(("human", "Hi")),
        {"text": ""},
        {"text": 3},
        {"messages": [{"role": "user"}]},
    ]
    for row in good:
        jsonschema.validate(row, JSON_SCHEMA)
        assert validate_file(write_jsonl(tmp_path, [row])).ok
    for row in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(row, JSON_SCHEMA)
        assert not validate_file(write_jsonl(tmp_path, [row])).ok


def pref(prompt, chosen, rejected):
    user = [{"role": "user", "content": prompt}] if prompt is not None else None
    row = {
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
    }
    return row if user is None else {"prompt": user, **row}


@pytest.mark.parametrize(
    "row, field, message",
    [
        (pref("2+3?", "5", "5"), "rejected", "the same as chosen"),
        ({**pref("2+3?", "5", "6"), "chosen": "5"}, "chosen", "expected a message list"),
        (
            {"prompt": "2+3?", "chosen": "5", "rejected": [{"role": "assistant", "content": "6"}]},
            "rejected",
            "expected a string",
        ),
        (
            {**pref("2+3?", "5", "6"), "prompt": [{"role": "assistant", "content": "2+3?"}]},
            "prompt[0].role",
            "out of turn",
        ),
        (
            {**pref("2+3?", "5", "6"), "rejected": [{"role": "user", "content": "6"}]},
            "rejected[0].role",
            "expected assistant",
        ),
        ({"prompt": "2+3?", "chosen": "5"}, "(row)", "expected prompt+chosen+rejected"),
        (
            {
                "chosen": msgs(("user", "2+3?"), ("assistant", "5"))["messages"],
                "rejected": msgs(("user", "2+4?"), ("assistant", "6"))["messages"],
            },
            "rejected",
            "does not share the chosen chat's prompt",
        ),
        ({"messages": GOOD["messages"]}, "(row)", "no known columns in ['messages']"),
    ],
)
def test_bad_preference_rows_are_named(tmp_path, row, field, message):
    good = (
        pref("1+1?", "2", "3")
        if "prompt" in row or "messages" in row
        else {
            "chosen": msgs(("user", "1+1?"), ("assistant", "2"))["messages"],
            "rejected": msgs(("user", "1+1?"), ("assistant", "3"))["messages"],
        }
    )
    if isinstance(row.get("prompt"), str):
        good = {"prompt": "1+1?", "chosen": "2", "rejected": "3"}
    result = validate_file(write_jsonl(tmp_path, [good, row, good]), task="preference")
    assert result.rows == [good, good] and result.lines == [1, 3]
    assert any(e.line == 2 and e.field == field and message in e.message for e in result.errors), (
        result.errors
    )


def test_preference_files_need_the_preference_task(tmp_path):
    path = write_jsonl(tmp_path, [pref("2+3?", "5", "6")])
    assert validate_file(path, task="preference").format == "preference"
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
    bad = [
        {"prompt": "Hi?", "chosen": "Hello."},
        {"prompt": "Hi?", "chosen": "", "rejected": "x"},
        {"chosen": "a", "rejected": 3},
        GOOD,
    ]
    for row in good:
        jsonschema.validate(row, PREFERENCE_JSON_SCHEMA)
        assert validate_file(write_jsonl(tmp_path, [row]), task="preference").ok
    for row in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(row, PREFERENCE_JSON_SCHEMA)
        assert not validate_file(write_jsonl(tmp_path, [row]), task="preference").ok
