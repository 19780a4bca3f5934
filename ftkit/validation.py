"""Data set validation: every bad row of a reader's file, named by line and field, before training.

``validate_file(path)`` checks a JSONL or Parquet data set in one of the formats TRL's
SFTTrainer reads (``SFT_FORMATS``: ``messages``, ``prompt``/``completion``, ``text``), or, with
``task="preference"``, the formats DPOTrainer and RewardTrainer read (``PREFERENCE_FORMATS``). It
reports every bad row with its line and field and keeps every good row, so that a bad row fails
here, named, and not deep inside a trainer. Chats are checked by ``ftkit.chat.check_messages``,
the same checks the batchers use, with what TRL's data sets may also hold: content as a list of
parts, and tool calling (``tool_calls`` and ``tool`` turns, and a ``tools`` column).

A file is read line by line as bytes, so one line that is not UTF-8 (a Latin-1 ``é`` from an old
editor) is a row error and every other row is still read; a UTF-8 byte-order mark, which Windows
tools write, is accepted. A problem with the file as a whole (missing, not JSONL or Parquet,
unreadable Parquet, no rows at all) raises ``DataError`` naming the file; ``DataFileNotFoundError``
is also a ``FileNotFoundError``. ``JSON_SCHEMA`` and ``PREFERENCE_JSON_SCHEMA`` (defined in
``ftkit.schemas``) publish the row formats for other tools.

References:
    TRL's data set formats: the "Dataset formats and types" page of the TRL docs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ftkit.chat import check_messages, short
from ftkit.schemas import JSON_SCHEMA, PREFERENCE_JSON_SCHEMA  # noqa: F401 (re-exported)

SFT_FORMATS = {  # the columns of each data set format SFTTrainer accepts
    "messages": ("messages",),
    "prompt-completion": ("prompt", "completion"),
    "text": ("text",),
}
PREFERENCE_FORMATS = {  # the formats DPOTrainer and RewardTrainer accept, first match wins
    "preference": ("prompt", "chosen", "rejected"),
    "implicit preference": ("chosen", "rejected"),  # the prompt is their shared beginning
}


@dataclass(frozen=True)
class RowError:
    """One problem in one row: where (line of the file, field inside the row) and what."""

    line: int  # 1-based: the line of a JSONL file, the row of a Parquet file; 0: the file
    field: str  # e.g. "messages[2].role"; "(row)" for the row as a whole, "(file)" for the file
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "the file"
        return f"{where}: {self.field}: {self.message}"


class DataError(ValueError):
    """A data set has bad rows, or the file itself is bad; ``errors`` lists every problem."""

    def __init__(self, path, errors: list[RowError], total: int):
        self.path, self.errors = str(path), errors
        if len(errors) == 1 and errors[0].line == 0:  # the file itself: one plain sentence
            super().__init__(f"{path}: {errors[0].message}")
            return
        shown = "\n  ".join(str(e) for e in errors[:10])
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        super().__init__(f"{path}: {len(errors)} problem(s) in {total} rows:\n  {shown}{more}")

    @classmethod
    def of_file(cls, path, message: str) -> DataError:
        """A problem with the file as a whole (it has no row to name)."""
        return cls(path, [RowError(0, "(file)", message)], 0)


class DataFileNotFoundError(DataError, FileNotFoundError):
    """No file at the path: a ``DataError``, and a ``FileNotFoundError`` as Python code expects."""


@dataclass
class Validation:
    """The outcome of ``validate_file``: the good rows in file order, and every error."""

    path: str
    format: str | None  # one of SFT_FORMATS (or PREFERENCE_FORMATS), from the first good row
    rows: list[dict] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the file line of each good row
    errors: list[RowError] = field(default_factory=list)
    total: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise ``DataError`` listing the bad rows, if there are any."""
        if self.errors:
            raise DataError(self.path, self.errors, self.total)

    def summary(self) -> str:
        bad = len({e.line for e in self.errors})
        return f"{self.path}: {self.total} rows, {len(self.rows)} good, {bad} bad ({self.format})"


_TRL = dict(parts=True, tools=True)  # what TRL's conversational data sets may also hold


def _check_text(value, where: str) -> list[tuple]:
    if not isinstance(value, str):
        return [(where, f"expected a string, got {type(value).__name__}")]
    return [] if value.strip() else [(where, "empty")]


def _row_format(row: dict, formats: dict) -> str | None:
    for name, columns in formats.items():
        if all(c in row for c in columns):
            return name
    return None


def _check_row(row, known: str | None, task: str = "sft") -> tuple[str | None, list[tuple]]:
    """The row's own format and its problems; ``known`` is the data set's format so far."""
    if not isinstance(row, dict):
        return known, [("(row)", f"expected a JSON object, got {type(row).__name__}")]
    formats = PREFERENCE_FORMATS if task == "preference" else SFT_FORMATS
    own = _row_format(row, formats)
    if own is None:
        wanted = "; ".join("+".join(c) for c in formats.values())
        return known, [("(row)", f"no known columns in {sorted(row)}; expected {wanted}")]
    if known is not None and own != known:
        return known, [("(row)", f"a {own!r} row in a {known!r} data set")]
    if task == "preference":
        return own, _check_preference(row)
    if own == "messages":
        return own, check_messages(row["messages"], "messages", **_TRL) + _check_tools(row)
    if own == "text":
        return own, _check_text(row["text"], "text")
    problems = []  # prompt-completion: plain strings, or message lists (conversational)
    if isinstance(row["prompt"], list):
        problems += check_messages(row["prompt"], "prompt", last="user", **_TRL)
    else:
        problems += _check_text(row["prompt"], "prompt")
    if isinstance(row["completion"], list):  # the reply to the prompt: the assistant's turn
        problems += check_messages(row["completion"], "completion", first=("assistant",), **_TRL)
    else:
        problems += _check_text(row["completion"], "completion")
    return own, problems + _check_tools(row)


def _check_tools(row: dict) -> list[tuple]:
    """A ``tools`` column, where there is one: the function schemas the chat template shows."""
    if "tools" not in row or row["tools"] is None:
        return []
    tools = row["tools"]
    if isinstance(tools, list) and all(isinstance(tool, dict) for tool in tools):
        return []
    return [("tools", f"expected a list of function schemas (objects), got {short(tools)}")]


def _check_preference(row: dict) -> list[tuple]:
    """Problems of a preference row: a prompt, and two different replies to it.

    With a ``prompt`` the replies are completions (strings, or message lists opening with the
    assistant); without one, ``chosen`` and ``rejected`` are whole texts, or whole chats that
    must agree on every message but their last reply, which is how TRL finds the shared prompt.
    """
    replies = ("chosen", "rejected")
    if "prompt" not in row and all(isinstance(row[r], str) for r in replies):
        problems = [p for r in replies for p in _check_text(row[r], r)]  # plain texts
    elif "prompt" not in row:
        problems = [p for r in replies for p in check_messages(row[r], r, **_TRL)]
        if not problems and row["chosen"][:-1] != row["rejected"][:-1]:
            problems.append(("rejected", "does not share the chosen chat's prompt messages"))
    else:
        conversational = isinstance(row["prompt"], list)
        if conversational:
            problems = check_messages(row["prompt"], "prompt", last="user", **_TRL)
        else:
            problems = _check_text(row["prompt"], "prompt")
        for r in replies:
            if isinstance(row[r], list) != conversational:
                kind = "message list" if conversational else "string"
                problems.append((r, f"expected a {kind}, like the prompt"))
            elif conversational:
                problems += check_messages(row[r], r, first=("assistant",), **_TRL)
            else:
                problems += _check_text(row[r], r)
    if not problems and row["chosen"] == row["rejected"]:
        problems.append(("rejected", "the same as chosen: the pair teaches nothing"))
    return problems


def _token_count(tokenizer, row: dict, kind: str) -> int:
    """Tokens of the whole example, as the trainer will see it (chat template applied)."""
    if kind in PREFERENCE_FORMATS:  # the longer of the two sequences the trainer builds
        counts = []
        for reply in (row["chosen"], row["rejected"]):
            if "prompt" in row:
                whole, kind = {"prompt": row["prompt"], "completion": reply}, "prompt-completion"
            else:  # implicit prompt: each reply is the whole example
                whole, kind = (
                    ({"text": reply}, "text")
                    if isinstance(reply, str)
                    else ({"messages": reply}, "messages")
                )
            counts.append(_token_count(tokenizer, whole, kind))
        return max(counts)
    if kind == "messages" or isinstance(row.get("prompt"), list):
        chat = row["messages"] if kind == "messages" else row["prompt"] + row["completion"]
        return len(tokenizer.apply_chat_template(chat, return_dict=True)["input_ids"])
    text = row["text"] if kind == "text" else row["prompt"] + row["completion"]
    return len(tokenizer(text)["input_ids"])


SUFFIXES = (".jsonl", ".json", ".parquet")
_BOM = b"\xef\xbb\xbf"  # the UTF-8 byte-order mark


def read_rows(path) -> Iterator[tuple[int, dict | RowError]]:
    """(line, row) pairs of a JSONL or Parquet file; a line that cannot be read (not UTF-8, not
    JSON, nested too deep) becomes (line, RowError), and the lines after it are still read.

    Raises:
        DataError: the file as a whole: missing (``DataFileNotFoundError``), another suffix than
            ``SUFFIXES``, a Parquet file pyarrow cannot read, or no rows at all.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileNotFoundError.of_file(path, "no such file")
    if path.suffix not in SUFFIXES:
        raise DataError.of_file(
            path, "expected a .jsonl, .json (one object per line) or .parquet file"
        )
    rows = _parquet_rows(path) if path.suffix == ".parquet" else _jsonl_rows(path)
    total = 0
    for total, row in enumerate(rows, start=1):  # noqa: B007 (total is read below)
        yield row
    if total == 0:
        raise DataError.of_file(path, "no rows: the file is empty or holds only blank lines")


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict]]:
    import pyarrow  # installed with datasets
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pyarrow.ArrowException, OSError) as err:
        raise DataError.of_file(path, f"not a readable Parquet file ({err})") from None
    yield from enumerate(table.to_pylist(), start=1)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict | RowError]]:
    with path.open("rb") as handle:  # bytes: one bad line must not stop the reading
        for i, raw in enumerate(handle, start=1):
            if i == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                byte = raw[err.start]
                yield (
                    i,
                    RowError(
                        i,
                        "(encoding)",
                        f"not UTF-8: byte 0x{byte:02x} at column {err.start + 1}; "
                        "save the file as UTF-8",
                    ),
                )
                continue
            if not text.strip():
                continue  # blank lines (a trailing newline, say) are not rows
            try:
                yield i, json.loads(text.strip())  # columns count from the first character
            except json.JSONDecodeError as err:
                yield i, RowError(i, "(json)", f"invalid JSON: {err.msg} (column {err.colno})")
            except RecursionError:
                yield i, RowError(i, "(json)", "nested too deeply to read")
            except ValueError as err:  # e.g. an integer over Python's 4,300-digit limit
                yield i, RowError(i, "(json)", f"invalid JSON: {err}")


def validate_file(
    path, tokenizer=None, max_length: int | None = None, task: str = "sft"
) -> Validation:
    """Check every row of a JSONL (``.jsonl``/``.json``) or ``.parquet`` data set.

    Args:
        path: the file.
        task: ``"sft"`` (the ``SFT_FORMATS`` SFTTrainer reads) or ``"preference"`` (the
            ``PREFERENCE_FORMATS`` DPOTrainer and RewardTrainer read: a prompt, a chosen and a
            rejected reply; the two replies must differ).
        tokenizer: with ``max_length``, rows longer than ``max_length`` tokens are errors
            (a trainer would cut them silently, often losing the answer at the end).
        max_length: the token limit, e.g. ``SFTConfig.max_length``.

    Returns:
        A ``Validation``: ``rows`` holds every good row (none is dropped for another row's
        fault), ``errors`` every problem with its line and field. Call ``raise_for_errors()``
        to stop on any.

    Raises:
        DataError: a problem with the file as a whole, naming it (see ``read_rows``): missing
            (``DataFileNotFoundError``, also a ``FileNotFoundError``), a suffix other than
            .jsonl/.json/.parquet, unreadable Parquet, no rows. A bad row is not raised but
            reported in ``errors``.
        ValueError: an unknown task, or only one of tokenizer and max_length.
    """
    if task not in ("sft", "preference"):
        raise ValueError(f"task must be 'sft' or 'preference', got {task!r}")
    if (tokenizer is None) != (max_length is None):
        raise ValueError("pass tokenizer and max_length together to check lengths")
    result = Validation(str(path), format=None)  # read_rows checks the file itself
    for line, row in read_rows(path):
        result.total += 1
        if isinstance(row, RowError):
            result.errors.append(row)
            continue
        kind, problems = _check_row(row, result.format, task)
        result.format = result.format or kind
        if not problems and tokenizer is not None:
            try:
                n = _token_count(tokenizer, row, kind)
            except Exception as err:  # the template or tokenizer refuses the row: say which
                problems.append(("(row)", f"the tokenizer fails on it: {short(str(err))}"))
            else:
                if n > max_length:
                    problems.append(("(row)", f"{n} tokens, over the limit of {max_length}"))
        if problems:
            result.errors += [RowError(line, f, m) for f, m in problems]
        else:
            result.rows.append(row)
            result.lines.append(line)
    return result
