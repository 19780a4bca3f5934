"""Bad input never crashes, never loses a good row, never rejects a valid one.

Every entry point that reads a reader's file (``validate_file`` for SFT and preference data,
``retrieval_pairs``, ``load_adapter``, ``to_gguf``) raises only its module's own error, naming the
file, and keeps every row it can decode. The files a reader really has are checked one by one;
then Hypothesis throws arbitrary bytes, arbitrary JSON and valid rows with one field broken at
each of them. Valid rows (content as a list of parts, tool calls) are checked against what TRL's
own data utilities and chat templates accept.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftkit import lora
from ftkit.export import ExportError, to_gguf
from ftkit.tasks import retrieval_pairs
from ftkit.validation import DataError, DataFileNotFoundError, validate_file

# Bounded so that the whole file runs in seconds: a property is checked on this many examples,
# the same ones on every run (derandomize: a failure in CI is a failure on your machine), and
# nothing is written to a .hypothesis folder.
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

USER = {"role": "user", "content": "What is 2 + 2?"}
REPLY = {"role": "assistant", "content": "4"}
GOOD = {"messages": [USER, REPLY]}
CALL = {
    "role": "assistant",
    "tool_calls": [
        {"type": "function", "function": {"name": "add", "arguments": {"a": 2, "b": 2}}}
    ],
}
TOOL_ROW = {  # a tool-calling chat, as TRL's SFT data and transformers' templates take it
    "messages": [
        USER,
        CALL,
        {"role": "tool", "name": "add", "content": "4"},
        {"role": "assistant", "content": "2 + 2 = 4."},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "add",
                "description": "Add two numbers.",
                "parameters": {
                    "type": "object",
                    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                    "required": ["a", "b"],
                },
            },
        }
    ],
}
PARTS_ROW = {  # content as a list of parts, as transformers' templates and TRL's VLM data use
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is 2 + 2?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "4"}]},
    ]
}


def write(tmp_path: Path, data: bytes, name: str = "data.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def jsonl(*rows) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


# ---------------------------------------------------------------- the files a reader really has


def test_a_latin1_line_is_one_row_error_and_the_good_rows_stay(tmp_path):
    latin1 = '{"text": "café"}\n'.encode("latin-1")
    result = validate_file(
        write(tmp_path, jsonl({"text": "one"}) + latin1 + jsonl({"text": "three"}))
    )
    assert [r["text"] for r in result.rows] == ["one", "three"]
    assert [str(e) for e in result.errors] == [
        "line 2: (encoding): not UTF-8: byte 0xe9 at column 14; save the file as UTF-8"
    ]


def test_a_binary_file_is_reported_not_raised_as_unicode(tmp_path):
    result = validate_file(write(tmp_path, bytes(range(256)) * 4))
    assert not result.rows and result.errors
    assert all(e.field in ("(encoding)", "(json)") for e in result.errors)


def test_deep_nesting_is_a_row_error(tmp_path):
    deep = b"[" * 100_000 + b"]" * 100_000 + b"\n"
    result = validate_file(write(tmp_path, jsonl(GOOD) + deep + jsonl(GOOD)))
    assert result.lines == [1, 3]
    assert [str(e) for e in result.errors] == ["line 2: (json): nested too deeply to read"]


def test_a_deeply_nested_value_is_named_in_one_short_line(tmp_path):
    nested: list = []
    for _ in range(500):
        nested = [nested]
    result = validate_file(
        write(tmp_path, jsonl({"messages": [USER, {"role": nested, "content": "4"}]}))
    )
    (error,) = [e for e in result.errors if e.field == "messages[1].role"]
    assert "unknown role [[[[...]]]]" in error.message


def test_not_parquet_names_the_file(tmp_path):
    path = write(tmp_path, b"this is not parquet", "data.parquet")
    with pytest.raises(DataError, match=r"data.parquet: .*not a readable Parquet file"):
        validate_file(path)


@pytest.mark.parametrize("data", [b"", b"\n\n  \n"], ids=["empty", "blank lines"])
def test_an_empty_data_set_is_an_error(tmp_path, data):
    with pytest.raises(DataError, match="data.jsonl: no rows"):
        validate_file(write(tmp_path, data))
    with pytest.raises(DataError, match="no rows"):
        retrieval_pairs(path=write(tmp_path, data))


def test_a_byte_order_mark_is_accepted(tmp_path):
    result = validate_file(write(tmp_path, b"\xef\xbb\xbf" + jsonl(GOOD, GOOD)))
    assert result.ok and result.rows == [GOOD, GOOD]


def test_a_missing_file_is_both_a_data_error_and_a_file_not_found(tmp_path):
    for read in (validate_file, lambda p: retrieval_pairs(path=p)):
        with pytest.raises(DataFileNotFoundError, match="nope.jsonl: .*no such file") as info:
            read(tmp_path / "nope.jsonl")
        assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, DataError)


def test_parts_and_tool_turns_are_valid(tmp_path):
    result = validate_file(write(tmp_path, jsonl(TOOL_ROW, PARTS_ROW, GOOD)))
    assert result.ok, result.errors
    conversational = {
        "prompt": TOOL_ROW["messages"][:1],
        "completion": TOOL_ROW["messages"][1:],
    }
    assert validate_file(write(tmp_path, jsonl(conversational))).ok


def test_a_parquet_file_of_tool_chats_is_valid(tmp_path):
    """Parquet gives every message every column, None where a message has none of it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "tools.parquet"
    pq.write_table(pa.Table.from_pylist([{"messages": TOOL_ROW["messages"]}, GOOD]), path)
    result = validate_file(path)
    assert result.ok, result.errors
    assert result.rows[0]["messages"][0]["tool_calls"] is None  # what pyarrow gave back


@pytest.mark.parametrize(
    "messages, field, message",
    [
        ([USER, CALL, REPLY], "messages[2].role", "'assistant' out of turn: expected tool"),
        ([USER, {"role": "tool", "content": "4"}], "messages[1].role", "'tool' out of turn"),
        ([USER, {**CALL, "tool_calls": []}], "messages[1].tool_calls", "non-empty list"),
        (
            [
                USER,
                {
                    "role": "assistant",
                    "tool_calls": [{"function": {"name": "add", "arguments": "2, 2"}}],
                },
            ],
            "messages[1].tool_calls[0].function.arguments",
            "expected an object",
        ),
        (
            [USER, {"role": "assistant", "content": [{"type": "video"}]}],
            "messages[1].content[0]",
            "expected",
        ),
    ],
)
def test_broken_tool_turns_and_parts_are_named(tmp_path, messages, field, message):
    result = validate_file(write(tmp_path, jsonl(GOOD, {"messages": messages})))
    assert result.rows == [GOOD]
    assert any(e.line == 2 and e.field == field and message in e.message for e in result.errors), (
        result.errors
    )


def test_the_published_schema_takes_parts_and_tool_turns():
    import jsonschema

    from ftkit.validation import JSON_SCHEMA

    null_content = {"messages": [USER, {**CALL, "content": None}]}  # as OpenAI's format writes it
    for row in (TOOL_ROW, PARTS_ROW, null_content):
        jsonschema.validate(row, JSON_SCHEMA)
    call = {"function": {"name": "add", "arguments": "2, 2"}}  # arguments must be an object
    for row in (
        {"messages": [USER, {"role": "assistant", "tool_calls": [call]}]},
        {"messages": [USER, {"role": "user", "tool_calls": CALL["tool_calls"]}]},  # no content
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(row, JSON_SCHEMA)


# ------------------------------------------------- parity: what TRL's own utilities accept


def trl_renders(row: dict, template: str) -> str:
    """The row through TRL's ``apply_chat_template`` with one of the chat templates TRL ships."""
    import trl
    from transformers import AutoTokenizer
    from trl.data_utils import apply_chat_template, is_conversational

    from ftkit.tiny import tiny_llama

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama())
    tokenizer.chat_template = (Path(trl.__file__).parent / "chat_templates" / template).read_text()
    assert is_conversational(row)
    messages = {"messages": row["messages"]}
    return apply_chat_template(messages, tokenizer, tools=row.get("tools"))["text"]


def test_rows_we_accept_are_rows_trl_renders(tmp_path):
    """Each kind of valid row: validate_file keeps it and TRL renders it with a real model's
    template (Qwen2.5 for tool calling, Qwen2.5-VL for parts), every part of it present."""
    assert validate_file(write(tmp_path, jsonl(TOOL_ROW, PARTS_ROW))).ok
    text = trl_renders(TOOL_ROW, "qwen2_5.jinja")
    assert '"name": "add"' in text and "<tool_response>\n4\n</tool_response>" in text
    assert "2 + 2 = 4." in text
    text = trl_renders(PARTS_ROW, "qwen2_5_vl.jinja")
    assert "What is 2 + 2?" in text and "<|im_start|>assistant\n4<|im_end|>" in text


# ------------------------------------------------------------------------- adapters and models


def fresh_model():
    from transformers import AutoModelForCausalLM

    from ftkit.tiny import tiny_llama

    return AutoModelForCausalLM.from_pretrained(tiny_llama())


@pytest.fixture(scope="module")
def adapter_folder(tmp_path_factory):
    model = lora.inject_lora(fresh_model(), ["q_proj"], r=2)
    return lora.save_adapter(model, tmp_path_factory.mktemp("adapter") / "a")


@pytest.mark.parametrize(
    "file, data, message",
    [
        (
            "adapter_model.safetensors",
            b"garbage",
            "adapter_model.safetensors: not a readable safetensors",
        ),
        ("adapter_config.json", b"{not json", "adapter_config.json: not a JSON adapter config"),
        ("adapter_config.json", b"[1, 2]", "adapter_config.json: expected a JSON object, got list"),
        ("adapter_config.json", b'{"peft_type": "LORA", "r": "8"}', "lora_alpha missing"),
    ],
)
def test_a_broken_adapter_file_is_named(adapter_folder, tmp_path, file, data, message):
    folder = tmp_path / "a"
    folder.mkdir()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        (folder / name).write_bytes((adapter_folder / name).read_bytes())
    (folder / file).write_bytes(data)
    with pytest.raises(lora.LoRAError, match=message):
        lora.load_adapter(fresh_model(), folder)


def test_a_truncated_adapter_is_named(adapter_folder, tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "adapter_config.json").write_bytes(
        (adapter_folder / "adapter_config.json").read_bytes()
    )
    weights = (adapter_folder / "adapter_model.safetensors").read_bytes()
    (folder / "adapter_model.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(lora.LoRAError, match="adapter_model.safetensors: not a readable"):
        lora.load_adapter(fresh_model(), folder)


def test_a_broken_model_folder_is_named_by_the_export(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{not json")
    with pytest.raises(ExportError, match="cannot load the model in .*model"):
        to_gguf(tmp_path / "model", tmp_path / "out.gguf")


# ------------------------------------------------------------------------------ properties

FIELDS = st.text(st.characters(codec="utf-8"), max_size=8)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | FIELDS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(FIELDS, inner, max_size=3),
    max_leaves=12,
)
ROW_KEYS = st.sampled_from(
    ["messages", "prompt", "completion", "text", "chosen", "rejected", "tools"]
)
ROWS = st.dictionaries(ROW_KEYS, JSON, max_size=3) | JSON


def read_everything(path: Path) -> None:
    """Every file entry point on one file: each may raise only its module's own error."""
    for task in ("sft", "preference"):
        try:
            result = validate_file(path, task=task)
        except DataError:
            continue
        assert len(result.rows) + len({e.line for e in result.errors}) == result.total
    try:
        retrieval_pairs(path=path)
    except DataError:
        pass


@PROPERTY
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_data_errors(data):
    with tempfile.TemporaryDirectory() as folder:
        for name in ("data.jsonl", "data.parquet"):
            read_everything(write(Path(folder), data, name))


@PROPERTY
@given(rows=st.lists(ROWS, max_size=5))
def test_arbitrary_json_raises_only_data_errors(rows):
    with tempfile.TemporaryDirectory() as folder:
        read_everything(write(Path(folder), jsonl(*rows)))


VALID = [
    GOOD,
    TOOL_ROW,
    PARTS_ROW,
    {"messages": [{"role": "system", "content": "Be brief."}, USER, REPLY]},
]
BREAKS = [  # (where in a valid row, a value that is wrong there)
    (("messages",), []),
    (("messages", 0, "role"), "human"),
    (("messages", 0, "content"), ""),
    (("messages", 0, "content"), 7),
    (("messages", -1, "role"), "user"),
    (("messages", 0), "hello"),
    (("messages", 1, "content"), [{"type": "text"}]),
    (("messages", 0, "content"), None),
]


def broken(row: dict, where: tuple, value) -> dict:
    row = json.loads(json.dumps(row))
    target = row
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    return row


@PROPERTY
@given(
    picks=st.lists(
        st.tuples(st.sampled_from(VALID), st.none() | st.sampled_from(BREAKS)),
        min_size=1,
        max_size=8,
    )
)
def test_valid_rows_are_kept_and_each_broken_row_is_reported(picks):
    rows = [row if fault is None else broken(row, *fault) for row, fault in picks]
    bad_lines = {i for i, (_, fault) in enumerate(picks, start=1) if fault is not None}
    with tempfile.TemporaryDirectory() as folder:
        result = validate_file(write(Path(folder), jsonl(*rows)))
    assert {e.line for e in result.errors} == bad_lines
    assert result.rows == [r for i, r in enumerate(rows, start=1) if i not in bad_lines]
    assert len({(e.line, e.field, e.message) for e in result.errors}) == len(result.errors)


@PROPERTY
@given(
    config=st.binary(max_size=200) | ROWS.map(lambda r: json.dumps(r).encode()),
    weights=st.binary(max_size=200),
)
def test_arbitrary_adapter_files_raise_only_lora_errors(adapter_folder, config, weights):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "adapter_config.json").write_bytes(config)
        (folder / "adapter_model.safetensors").write_bytes(weights)
        with pytest.raises(lora.LoRAError):
            lora.load_adapter(fresh_model(), folder)


@PROPERTY
@given(config=st.binary(max_size=200) | ROWS.map(lambda r: json.dumps(r).encode()))
def test_arbitrary_model_folders_raise_only_export_errors(config):
    with tempfile.TemporaryDirectory() as folder:
        model = Path(folder) / "model"
        model.mkdir()
        (model / "config.json").write_bytes(config)
        with pytest.raises(ExportError):
            to_gguf(model, Path(folder) / "out.gguf")
