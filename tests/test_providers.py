"""ftkit.providers: the builders write rows the validators accept, the validators name every bad
line (line and field) and keep every good one, the documented examples pass, and the cost and
evaluation helpers do what they say."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftkit.providers import (
    OPENAI_MIN_EXAMPLES,
    OPENAI_TOKENS_PER_MESSAGE,
    JobCost,
    LocalClient,
    estimate_cost,
    example_tokens,
    held_out_scores,
    teacher_labels,
    to_gemini,
    to_gemini_preference,
    to_openai_chat,
    to_openai_preference,
    validate_gemini,
    validate_openai,
    write_jsonl,
)
from ftkit.tasks import preference_pairs, reasoning_task, score, solve
from ftkit.validation import DataError, DataFileNotFoundError

PROPERTY = settings(  # as tests/test_bad_input.py: bounded, the same examples on every run
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

TRAIN, TEST = reasoning_task(n_train=40, n_test=10, steps=2, seed=0)
PAIRS = preference_pairs(TRAIN, seed=0)
SYSTEM = {"role": "system", "content": "Show your working."}
USER = {"role": "user", "content": "Start at 2, add 3."}
REPLY = {"role": "assistant", "content": "<think>2 + 3 = 5.</think>5"}


def words(text: str) -> list[str]:
    """A stand-in tokenizer: one token per word, so counts are easy to check by hand."""
    return text.split()


def write(tmp_path: Path, lines: list, name: str = "data.jsonl") -> Path:
    """Rows (dicts, dumped) or raw lines (strings, as they are) as a JSONL file."""
    path = tmp_path / name
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- builders


def test_the_builders_write_what_the_validators_accept(tmp_path):
    files = {
        ("openai", "sft"): to_openai_chat(TRAIN),
        ("openai", "preference"): to_openai_preference(PAIRS),
        ("gemini", "sft"): to_gemini(TRAIN),
        ("gemini", "preference"): to_gemini_preference(PAIRS),
    }
    for (provider, kind), rows in files.items():
        validate = validate_openai if provider == "openai" else validate_gemini
        result = validate(write_jsonl(tmp_path / f"{provider}-{kind}.jsonl", rows), kind)
        assert result.ok, (provider, kind, result.errors[:3])
        assert result.rows == rows and result.lines == list(range(1, len(rows) + 1))


def test_openai_chat_rows_keep_the_chat_and_drop_the_bookkeeping():
    (row,) = to_openai_chat(TRAIN[:1])
    assert row == {"messages": TRAIN[0]["messages"]}  # no "answer"
    assert row["messages"] is not TRAIN[0]["messages"]  # a copy: the task rows are untouched


def test_train_on_last_weights_only_the_final_reply():
    chat = {"messages": [SYSTEM, USER, REPLY, USER, REPLY]}
    (row,) = to_openai_chat([chat], train_on="last")
    weights = [m.get("weight") for m in row["messages"]]
    assert weights == [None, None, 0, None, 1]


def test_gemini_rows_rename_the_assistant_and_move_the_system_message():
    (row,) = to_gemini([{"messages": [SYSTEM, USER, REPLY]}])
    assert row == {
        "systemInstruction": {"parts": [{"text": SYSTEM["content"]}]},
        "contents": [
            {"role": "user", "parts": [{"text": USER["content"]}]},
            {"role": "model", "parts": [{"text": REPLY["content"]}]},
        ],
    }
    assert "systemInstruction" not in to_gemini(TRAIN[:1])[0]


def test_preference_rows_put_the_chosen_reply_first():
    pair = {"prompt": [SYSTEM, USER], "chosen": [REPLY], "rejected": [{**REPLY, "content": "6"}]}
    (openai,) = to_openai_preference([pair])
    assert openai == {
        "input": {"messages": [SYSTEM, USER]},
        "preferred_output": [REPLY],
        "non_preferred_output": [{**REPLY, "content": "6"}],
    }
    (gemini,) = to_gemini_preference([pair])
    assert gemini["system_instruction"] == {"parts": [{"text": SYSTEM["content"]}]}
    assert [c["score"] for c in gemini["completions"]] == [1, 0]
    assert gemini["completions"][1]["completion"] == {"role": "model", "parts": [{"text": "6"}]}


@pytest.mark.parametrize(
    "build, rows, message",
    [
        (to_openai_chat, [TRAIN[0], "hello"], r"to_openai_chat: rows\[1\]: expected an object"),
        (
            to_openai_chat,
            [{"messages": [USER]}],
            r"rows\[0\]\.messages: the last message is 'user'",
        ),
        (to_openai_chat, [{"messages": [{**USER, "role": "bot"}, REPLY]}], r"unknown role 'bot'"),
        (to_openai_chat, [{"messages": [USER, {**REPLY, "content": ["x"]}]}], r"content"),
        (to_gemini, [{"messages": [USER, {**REPLY, "content": " "}]}], r"\[1\]\.content: empty"),
        (to_gemini, [{"text": "hi"}], r"to_gemini: rows\[0\]: expected an object with 'messages'"),
        (to_openai_preference, [{**PAIRS[0], "rejected": PAIRS[0]["chosen"]}], r"same as chosen"),
        (to_openai_preference, [{**PAIRS[0], "prompt": [USER, REPLY]}], r"rows\[0\]\.prompt"),
        (to_openai_preference, [{"prompt": [USER], "chosen": [REPLY]}], r"'rejected'"),
        (to_gemini_preference, [{**PAIRS[0], "chosen": [REPLY, USER, REPLY]}], r"single model"),
    ],
)
def test_a_bad_row_fails_the_builder_naming_row_and_field(build, rows, message):
    with pytest.raises(ValueError, match=message):
        build(rows)


def test_train_on_must_be_all_or_last():
    with pytest.raises(ValueError, match="train_on must be"):
        to_openai_chat(TRAIN[:1], train_on="first")


# --------------------------------------------------------------------------- validators

OPENAI_BAD = [  # (row, field, message): one broken documented rule each
    ("[1, 2]", "(row)", "expected a JSON object, got list"),
    ('{"messages": [', "(json)", "invalid JSON"),
    ({"prompt": "a", "completion": "b"}, "(row)", "missing ['messages']"),
    ({"messages": []}, "messages", "expected a non-empty list"),
    ({"messages": [USER]}, "messages", "no assistant message"),
    ({"messages": [SYSTEM, USER]}, "messages", "no assistant message"),
    ({"messages": [{**USER, "role": "human"}, REPLY]}, "messages[0].role", "unknown role"),
    ({"messages": [{"content": "Hi."}, REPLY]}, "messages[0].role", "missing"),
    ({"messages": [USER, {**REPLY, "content": ""}]}, "messages[1].content", "empty"),
    ({"messages": [USER, {"role": "assistant"}]}, "messages[1].content", "missing"),
    ({"messages": [USER, {**REPLY, "content": 5}]}, "messages[1].content", "got int"),
    ({"messages": [USER, {**REPLY, "weight": 2}]}, "messages[1].weight", "expected 0 or 1"),
    ({"messages": [USER, {**REPLY, "weight": True}]}, "messages[1].weight", "expected 0 or 1"),
    ({"messages": [USER, {**REPLY, "weight": "1"}]}, "messages[1].weight", "expected 0 or 1"),
]
TOOL_CALL = {
    "role": "assistant",
    "tool_calls": [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
        }
    ],
}
IMAGE = {
    "role": "user",
    "content": [
        {"type": "text", "text": "What is drawn here?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/circle.png"}},
    ],
}
OPENAI_OURS = [  # (row, field, message): valid for OpenAI, against a rule of ours
    ({"messages": [USER, USER, REPLY]}, "messages[1].role", "'user' out of turn"),
    ({"messages": [USER, REPLY, USER]}, "messages", "the last message is 'user'"),
    ({"messages": [USER, REPLY, SYSTEM, USER, REPLY]}, "messages[2].role", "out of turn"),
    ({"messages": [REPLY, USER, REPLY]}, "messages[0].role", "out of turn"),
    ({"messages": [{**USER, "weight": 1}, REPLY]}, "messages[0].weight", "only an assistant"),
    ({"messages": [USER, {**REPLY, "weight": 1.0}]}, "messages[1].weight", "the integer 0 or 1"),
    ({"messages": [USER, {**REPLY, "weight": 0}]}, "messages", "every assistant message"),
]
OPENAI_UNCHECKED = [  # (row, fields): valid for OpenAI, holding what this module does not check
    (
        {
            "tools": [{"type": "function", "function": {"name": "add"}}],
            "messages": [
                USER,
                TOOL_CALL,
                {"role": "tool", "tool_call_id": "call_1", "content": "5"},
                REPLY,
            ],
        },
        ["messages[1].tool_calls", "messages[2]"],
    ),
    ({"messages": [IMAGE, REPLY]}, ["messages[0].content"]),
    (
        {"messages": [USER, {"role": "function", "name": "add", "content": "5"}, REPLY]},
        ["messages[1]"],
    ),
]


@pytest.mark.parametrize("row, field, message", OPENAI_BAD)
def test_each_broken_openai_rule_is_named(tmp_path, row, field, message):
    result = validate_openai(write(tmp_path, [row]), min_examples=None)
    assert not result.rows
    assert any(e.line == 1 and e.field == field and message in e.message for e in result.errors)


@pytest.mark.parametrize("row, field, message", OPENAI_OURS)
def test_a_row_valid_for_openai_is_kept_with_a_warning_unless_strict(tmp_path, row, field, message):
    path = write(tmp_path, [row])
    kept = validate_openai(path, min_examples=None)
    assert kept.ok and kept.rows == [row]
    assert any(
        w.field == field and w.message.startswith("our rule: ") and message in w.message
        for w in kept.warnings
    )
    strict = validate_openai(path, min_examples=None, strict=True)
    assert not strict.rows and not strict.warnings
    assert any(e.field == field and message in e.message for e in strict.errors)


@pytest.mark.parametrize("row, fields", OPENAI_UNCHECKED)
def test_tool_calls_and_images_are_kept_and_reported_as_not_checked(tmp_path, row, fields):
    for strict in (False, True):
        result = validate_openai(write(tmp_path, [row]), min_examples=None, strict=strict)
        assert result.ok and result.rows == [row]
        assert [w.field for w in result.warnings] == fields
        assert all(w.message.startswith("not checked: ") for w in result.warnings)


def test_every_bad_line_is_reported_and_no_good_line_is_dropped(tmp_path):
    good = to_openai_chat(TRAIN[:12])
    lines, expected_good, expected_bad = [], [], set()
    for i, row in enumerate(good):  # a bad line after every good one
        lines.append(row)
        expected_good.append(len(lines))
        lines.append(OPENAI_BAD[i % len(OPENAI_BAD)][0])
        expected_bad.add(len(lines))
    result = validate_openai(write(tmp_path, lines))
    assert result.rows == good and result.lines == expected_good
    assert {e.line for e in result.errors} == expected_bad
    assert result.total == len(lines)
    with pytest.raises(DataError, match="problem"):
        result.raise_for_errors()


def test_a_file_with_too_few_good_rows_is_a_file_error_that_keeps_them(tmp_path):
    rows = to_openai_chat(TRAIN[: OPENAI_MIN_EXAMPLES - 1])
    result = validate_openai(write(tmp_path, rows))
    assert result.rows == rows
    assert [(e.line, e.field) for e in result.errors] == [(0, "(file)")]
    assert f"{OPENAI_MIN_EXAMPLES - 1} good examples" in result.errors[0].message
    assert validate_openai(write(tmp_path, rows), min_examples=None).ok


def test_openai_preference_rules(tmp_path):
    good = to_openai_preference(PAIRS[:3])
    prompt = good[0]["input"]["messages"]
    bad = [
        {**good[0], "input": prompt},
        {**good[0], "preferred_output": [USER]},
        {k: v for k, v in good[0].items() if k != "input"},
        {**good[0], "non_preferred_output": []},
    ]
    ours = [
        {**good[0], "input": {"messages": prompt + good[0]["preferred_output"]}},
        {**good[0], "non_preferred_output": good[0]["preferred_output"]},
    ]
    path = write(tmp_path, good + bad + ours)
    result = validate_openai(path, "preference", min_examples=None)
    assert result.rows == good + ours and result.lines == [1, 2, 3, 8, 9]
    fields = {(e.line, e.field) for e in result.errors}
    assert {line for line, _ in fields} == {4, 5, 6, 7}
    assert {
        (4, "input"),
        (5, "preferred_output[0].role"),
        (6, "(row)"),
        (7, "non_preferred_output"),
    } <= fields
    assert {(w.line, w.field) for w in result.warnings} == {
        (8, "input.messages"),
        (9, "non_preferred_output"),
    }
    strict = validate_openai(path, "preference", min_examples=None, strict=True)
    assert strict.rows == good and {e.line for e in strict.errors} == {4, 5, 6, 7, 8, 9}


def test_the_documented_openai_dpo_shape_passes(tmp_path):
    """The DPO guide's example: ``input`` may carry ``tools`` and ``parallel_tool_calls``."""
    row = {
        "input": {"messages": [USER], "tools": [], "parallel_tool_calls": True},
        "preferred_output": [REPLY],
        "non_preferred_output": [{**REPLY, "content": "It is 6."}],
    }
    assert validate_openai(write(tmp_path, [row]), "preference", min_examples=None).ok


GEMINI_TURNS = to_gemini(TRAIN[:1])[0]["contents"]
ASKED, ANSWERED = GEMINI_TURNS
GEMINI_BAD = [  # (row, field, message): one broken documented rule each
    ({"messages": [USER, REPLY]}, "(row)", "missing ['contents']"),
    ({"contents": []}, "contents", "expected a non-empty list"),
    ({"contents": [ASKED, {**ANSWERED, "role": "assistant"}]}, "contents[1].role", "'model'"),
    ({"contents": [ASKED, {**ANSWERED, "parts": []}]}, "contents[1].parts", "non-empty"),
    (
        {"contents": [ASKED, {**ANSWERED, "parts": [{"text": " "}]}]},
        "contents[1].parts[0].text",
        "empty",
    ),
    ({"contents": [ASKED, {**ANSWERED, "parts": ["5"]}]}, "contents[1].parts[0]", "expected"),
    ({"contents": [ASKED, {**ANSWERED, "parts": [{"txt": "5"}]}]}, "contents[1].parts[0]", ""),
    ({"systemInstruction": "Be brief.", "contents": GEMINI_TURNS}, "systemInstruction", ""),
    (
        {"contents": [ASKED, {**ANSWERED, "parts": [{"fileData": {"mimeType": "image/png"}}]}]},
        "contents[1].parts[0].fileData.fileUri",
        "non-empty string",
    ),
]
GEMINI_OURS = [  # (row, field, message): not against Google's pages, against a rule of ours
    ({"contents": [ASKED, {"parts": ANSWERED["parts"]}]}, "contents[1].role", "missing"),
    ({"contents": [ANSWERED, ASKED]}, "contents[0].role", "out of turn"),
    ({"contents": [ASKED]}, "contents", "the last turn is 'user'"),
    ({"contents": [ASKED, ASKED, ANSWERED]}, "contents[1].role", "out of turn"),
]


@pytest.mark.parametrize("row, field, message", GEMINI_OURS)
def test_a_row_valid_for_gemini_is_kept_with_a_warning_unless_strict(tmp_path, row, field, message):
    path = write(tmp_path, [row])
    kept = validate_gemini(path)
    assert kept.ok and kept.rows == [row]
    assert any(w.field == field and message in w.message for w in kept.warnings)
    strict = validate_gemini(path, strict=True)
    assert not strict.rows and any(e.field == field for e in strict.errors)


def test_function_call_parts_are_kept_and_reported_as_not_checked(tmp_path):
    call = {"role": "model", "parts": [{"functionCall": {"name": "add", "args": {"a": 2}}}]}
    answer = {"role": "user", "parts": [{"functionResponse": {"name": "add", "response": {}}}]}
    row = {"contents": [ASKED, call, answer, ANSWERED]}
    result = validate_gemini(write(tmp_path, [row]), strict=True)
    assert result.ok and result.rows == [row]
    assert [w.field for w in result.warnings] == [
        "contents[1].parts[0].functionCall",
        "contents[2].parts[0].functionResponse",
    ]


@pytest.mark.parametrize("row, field, message", GEMINI_BAD)
def test_each_broken_gemini_rule_is_named(tmp_path, row, field, message):
    result = validate_gemini(write(tmp_path, [row]))
    assert not result.rows
    assert any(e.line == 1 and e.field == field and message in e.message for e in result.errors)


def test_the_documented_gemini_shapes_pass(tmp_path):
    """Google's examples: a system instruction with a role (ignored), a ``fileData`` part, and
    a preference row with ``system_instruction`` and two scored completions."""
    sft = {
        "systemInstruction": {"role": "system", "parts": [{"text": "Be brief."}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "What is drawn here?"},
                    {"fileData": {"mimeType": "image/png", "fileUri": "gs://b/c.png"}},
                ],
            },
            {"role": "model", "parts": [{"text": "A circle."}]},
        ],
    }
    assert validate_gemini(write(tmp_path, [sft])).ok
    preference = {
        "system_instruction": {"parts": [{"text": "Be brief."}]},
        "contents": [{"role": "user", "parts": [{"text": "Which colour is the sky?"}]}],
        "completions": [
            {"score": 0, "completion": {"role": "model", "parts": [{"text": "Green."}]}},
            {"score": 1, "completion": {"role": "model", "parts": [{"text": "Blue."}]}},
        ],
    }
    assert validate_gemini(write(tmp_path, [preference]), "preference").ok


def test_gemini_preference_rules(tmp_path):
    good = to_gemini_preference(PAIRS[:2])
    first, second = good[0]["completions"]
    bad = [
        {**good[0], "completions": [first, {**second, "score": 1}]},
        {**good[0], "completions": [first]},
        {**good[0], "completions": [first, first]},
        {**good[0], "completions": [first, {**second, "score": 0.5}]},
        {**good[0], "completions": [first, {"score": 0}]},
        {**good[0], "completions": [first, {"score": 0, "completion": {**ASKED}}]},
        {**good[0], "contents": GEMINI_TURNS},  # the prompt must end with the user
        {  # "It doesn't support multi-modal data"
            **good[0],
            "contents": [
                {"role": "user", "parts": [{"fileData": {"mimeType": "image/png", "fileUri": "x"}}]}
            ],
        },
    ]
    result = validate_gemini(write(tmp_path, good + bad), "preference")
    assert result.rows == good
    assert {e.line for e in result.errors} == set(range(3, 3 + len(bad)))
    fields = {(e.line, e.field) for e in result.errors}
    assert (3, "completions") in fields and (6, "completions[1].score") in fields
    assert (8, "completions[1].completion.role") in fields and (9, "contents") in fields
    assert (10, "contents[0].parts[0].fileData") in fields


def test_the_token_limit_is_checked_with_the_given_encoder(tmp_path):
    long = {"messages": [USER, {**REPLY, "content": "one two three four five six"}]}
    rows = [long, long, {"messages": [USER, REPLY]}]
    assert [example_tokens(r, words) for r in rows] == [5 + 6, 5 + 6, 5 + 5]
    result = validate_openai(write(tmp_path, rows), encode=words, max_tokens=10, min_examples=None)
    assert result.lines == [3]
    assert [str(e) for e in result.errors] == [
        "line 1: (row): 11 tokens, over the limit of 10",
        "line 2: (row): 11 tokens, over the limit of 10",
    ]


def test_example_tokens_counts_the_same_chat_the_same_in_every_format():
    chat = {"messages": [SYSTEM, USER, REPLY]}
    expected = sum(len(words(m["content"])) for m in chat["messages"])
    assert example_tokens(to_openai_chat([chat])[0], words) == expected
    assert example_tokens(to_gemini([chat])[0], words) == expected


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(kind="rl"), ValueError, "kind must be"),
        (dict(encode=words), ValueError, "together"),
        (dict(encode=words, max_tokens=0), ValueError, "max_tokens must be a positive int"),
        (dict(min_examples=-1), ValueError, "min_examples must be a positive int"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, error, message):
    path = write(tmp_path, to_openai_chat(TRAIN[:1]))
    with pytest.raises(error, match=message):
        validate_openai(path, **kwargs)


def test_file_level_problems_name_the_file(tmp_path):
    with pytest.raises(DataFileNotFoundError, match="no such file"):
        validate_gemini(tmp_path / "missing.jsonl")
    (tmp_path / "rows.json").write_text(json.dumps(to_gemini(TRAIN[:1])[0]) + "\n")
    with pytest.raises(DataError, match=r"rows\.json: expected a \.jsonl file"):
        validate_gemini(tmp_path / "rows.json")
    with pytest.raises(DataError, match="no rows"):
        validate_openai(write(tmp_path, [""]))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["messages", "role", "content", "weight", "contents", "parts", "text"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@PROPERTY
@given(junk=st.lists(JSON | st.binary(max_size=20), min_size=1, max_size=6), data=st.data())
def test_arbitrary_lines_never_crash_and_never_cost_a_good_row(junk, data):
    """Whatever else the file holds (any JSON, any bytes), each line is either kept or named,
    and the good rows come back in order, for every format."""
    provider, kind = data.draw(
        st.sampled_from(
            [
                ("openai", "sft"),
                ("openai", "preference"),
                ("gemini", "sft"),
                ("gemini", "preference"),
            ]
        )
    )
    good = {
        ("openai", "sft"): to_openai_chat,
        ("openai", "preference"): to_openai_preference,
        ("gemini", "sft"): to_gemini,
        ("gemini", "preference"): to_gemini_preference,
    }[(provider, kind)](TRAIN[:3] if kind == "sft" else PAIRS[:3])
    lines: list[bytes] = []
    good_lines = []
    for row, extra in zip(good, junk + [None] * len(good), strict=False):
        lines.append(json.dumps(row).encode())
        good_lines.append(len(lines))
        if extra is not None:
            text = extra if isinstance(extra, bytes) else json.dumps(extra).encode()
            lines.append(text.replace(b"\n", b" ").replace(b"\r", b" "))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        validate = validate_openai if provider == "openai" else validate_gemini
        result = validate(path, kind, min_examples=None)
    kept = dict(zip(result.lines, result.rows, strict=True))
    assert [kept.get(line) for line in good_lines] == good  # every good row, at its line
    named = {e.line for e in result.errors}
    assert set(result.lines).isdisjoint(named)  # a line is kept or named, never both
    assert len(result.lines) + len(named) == result.total  # blank lines are not rows


# --------------------------------------------------------------------------- cost


def test_the_cost_is_tokens_times_epochs_times_price():
    rows = [{"messages": [USER, REPLY]}] * 4  # 5 + 5 words each
    cost = estimate_cost(rows, words, epochs=3, price_per_million=5.0)
    assert cost == JobCost(examples=4, tokens=40, epochs=3, price_per_million=5.0)
    assert cost.billed_tokens == 120 and cost.usd == pytest.approx(120 * 5.0 / 1e6)
    assert str(cost).endswith("120 tokens at $5.00/1M: $0.00")


def test_the_chat_format_tokens_are_counted_as_openais_cookbook_counts_them():
    # num_tokens_from_messages: 3 a message and 3 to open the reply
    chat = {"messages": [SYSTEM, USER, REPLY]}
    texts = example_tokens(chat, words)
    assert example_tokens(chat, words, OPENAI_TOKENS_PER_MESSAGE) == texts + 3 * 3 + 3
    cost = estimate_cost([chat] * 2, words, 1, 5.0, per_message=OPENAI_TOKENS_PER_MESSAGE)
    assert cost.tokens == 2 * (texts + 12)
    pair = to_openai_preference(PAIRS[:1])[0]  # 1 prompt message and 2 replies
    assert example_tokens(pair, words, 3) == example_tokens(pair, words) + 3 * 3 + 3


@pytest.mark.parametrize(
    "epochs, price, message",
    [
        (0, 5.0, "epochs"),
        (2.5, 5.0, "epochs"),
        (True, 5.0, "epochs"),
        (3, -1, ">= 0"),
        (3, "5", "number"),
    ],
)
def test_bad_cost_arguments_are_refused(epochs, price, message):
    with pytest.raises(ValueError, match=message):
        estimate_cost(TRAIN[:1], words, epochs=epochs, price_per_million=price)
    with pytest.raises(ValueError, match="per_message must be an int >= 0"):
        estimate_cost(TRAIN[:1], words, 1, 5.0, per_message=-3)


# --------------------------------------------------------------------------- clients


class Solver:
    """A client that works every question out, right every time (or wrong, with ``slip``)."""

    def __init__(self, slip: int = 0):
        self.slip, self.asked = slip, []

    def complete(self, messages):
        self.asked.append(messages)
        work, answer = solve(messages[-1]["content"], slip_at=0, slip=self.slip)
        return f"<think>{work}</think>{answer}"


def test_held_out_scores_asks_the_questions_and_scores_the_replies():
    solver = Solver()
    perfect = held_out_scores(solver, TEST)
    assert (perfect.format, perfect.exact_match, perfect.n) == (1.0, 1.0, len(TEST))
    assert solver.asked == [row["messages"][:-1] for row in TEST]  # never the reference reply
    wrong = held_out_scores(Solver(slip=1), TEST)
    assert (wrong.format, wrong.exact_match) == (1.0, 0.0)
    assert str(wrong) == f"format 100%, exact match 0% on {len(TEST)}"


def test_a_client_that_returns_no_text_scores_zero():
    class Silent:
        def complete(self, messages):
            return None

    assert held_out_scores(Silent(), TEST[:2]).format == 0.0


def test_held_out_scores_refuses_rows_it_cannot_score():
    with pytest.raises(ValueError, match="no rows"):
        held_out_scores(Solver(), [])
    with pytest.raises(ValueError, match=r"rows\[1\]: needs 'messages' and 'answer'"):
        held_out_scores(Solver(), [TEST[0], {"messages": TEST[1]["messages"]}])


def test_a_local_client_gives_the_same_replies_one_at_a_time_and_batched():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ftkit.tiny import tiny_llama

    model_id = tiny_llama()
    client = LocalClient(
        AutoModelForCausalLM.from_pretrained(model_id), AutoTokenizer.from_pretrained(model_id), 8
    )
    prompts = [row["messages"][:1] for row in TEST[:3]]
    assert client.complete_all(prompts) == [client.complete(p) for p in prompts]
    scores = held_out_scores(client, TEST[:3])
    assert scores.n == 3 and 0.0 <= scores.exact_match <= scores.format <= 1.0


def test_teacher_labels_keep_the_checked_replies_and_the_rows_keys():
    class Sometimes(Solver):
        def complete(self, messages):
            self.slip = len(self.asked) % 2  # wrong on every second question
            return super().complete(messages)

    def correct(reply, row):
        return score(reply, row["answer"])["correct"]

    kept, rejected = teacher_labels(Sometimes(), TRAIN[:6], check=correct)
    assert rejected == [1, 3, 5] and len(kept) == 3
    for row, source in zip(kept, TRAIN[0:6:2], strict=True):
        assert row["answer"] == source["answer"]
        assert row["messages"][:-1] == source["messages"][:-1]
        assert score(row["messages"][-1]["content"], row["answer"])["correct"]
    assert len(teacher_labels(Sometimes(), TRAIN[:6])[0]) == 6  # no check: every reply kept
    with pytest.raises(ValueError, match=r"teacher_labels: rows\[0\]"):
        teacher_labels(Solver(), [{"prompt": "Start at 1."}])


def test_a_batching_client_is_asked_once_and_must_answer_every_prompt():
    class Batcher(Solver):
        def __init__(self, drop: int = 0):
            super().__init__()
            self.drop, self.batches = drop, 0

        def complete_all(self, chats):
            self.batches += 1
            return [self.complete(chat) for chat in chats][self.drop :]

    batcher = Batcher()
    kept, rejected = teacher_labels(batcher, TRAIN[:5])
    assert batcher.batches == 1 and len(kept) == 5 and rejected == []
    assert held_out_scores(batcher, TEST).exact_match == 1.0 and batcher.batches == 2
    with pytest.raises(ValueError, match="gave 4 replies to 5 prompts"):
        teacher_labels(Batcher(drop=1), TRAIN[:5])
