"""Data for fine-tuning: the small tasks the guide trains on, and chats turned into batches.

- ``faq()``: 12 question/answer chats about the sentences the tiny base model read in
  pretraining. Full fine-tuning and LoRA learn it in about a hundred steps on a CPU, which is
  what the PEFT and LoRA chapters need: a task where "it learned" is measured in seconds.
- ``chat_batch(tokenizer, chats)``: tokenizes chats with the chat template and puts the loss on
  the assistant's tokens only (every other label is -100, which cross-entropy ignores).
- ``reasoning_task(n_train, n_test, steps, seed)``: multi-step arithmetic with the working
  inside ``<think>...</think>`` and a checkable final answer, split into disjoint train and
  test questions; ``score(reply, answer)`` checks format and correctness of a generated reply.
- ``preference_pairs(rows)``: chosen/rejected pairs from the reasoning task, for DPO and
  reward models; ``validate_file(path, task="preference")`` checks such files.
- ``retrieval_pairs(split)``: 220 query/passage pairs about fine-tuning, written for the guide,
  split into train and test, for the embeddings chapter.
- ``validate_file(path)``: checks a JSONL or Parquet data set in one of the shapes TRL's
  SFTTrainer accepts (``messages``, ``prompt``/``completion``, ``text``) and reports every bad
  row with its line and field, keeping every good row, so that a bad row fails here, named,
  and not deep inside a trainer.

References:
    Assistant-only loss: transformers chat templating docs (``return_assistant_tokens_mask`` and
        ``{% generation %}`` markers); TRL ``SFTConfig(assistant_only_loss=True)``.
    Loss on completions only: Ouyang et al. 2022 (InstructGPT), arXiv:2203.02155.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

_FAQ = (
    ("What does fine-tuning adapt?", "A pretrained model, to a new task."),
    ("What does pretraining teach?", "To predict the next token."),
    ("What does transfer learning reuse?", "What a model learned on one task."),
    ("What does the learning rate set?", "The size of each step."),
    ("What does a loss function measure?", "How far the predictions are from the targets."),
    ("What does LoRA train?", "Two small low-rank matrices."),
    ("What does quantization store?", "Each weight in fewer bits."),
    ("What does retrieval-augmented generation look up?", "Documents, to put in the prompt."),
    ("What does an agent call?", "Tools, in a loop."),
    ("What are tokens?", "Pieces of words."),
    ("What does a chat template turn?", "A list of messages into one string."),
    ("Where does the gradient point?", "Uphill."),
)


def faq() -> list[list[dict[str, str]]]:
    """12 chats, a user question and the assistant's short answer, written for the guide.

    Returns:
        A list of conversations in the ``messages`` format, the same on every call.
    """
    return [[{"role": "user", "content": q}, {"role": "assistant", "content": a}] for q, a in _FAQ]


def chat_batch(tokenizer, chats: list[list[dict[str, str]]]) -> dict[str, torch.Tensor]:
    """Tokenize chats into one padded batch with labels on the assistant's tokens only.

    Args:
        tokenizer: a tokenizer whose chat template has ``{% generation %}`` markers.
        chats: conversations, each a list of ``{"role": ..., "content": ...}`` messages.

    Returns:
        ``input_ids``, ``attention_mask`` and ``labels`` (shape ``(len(chats), T)``), ready
        for ``model(**batch)``; labels are -100 outside the assistant's replies.

    Raises:
        ValueError: a chat is not a list of role/content messages, or has no assistant
            reply to learn from (its loss would be 0/0), naming the chat's index.
    """
    if not chats:
        raise ValueError("chat_batch: no chats given")
    for i, chat in enumerate(chats):
        if not isinstance(chat, list) or not chat:
            raise ValueError(f"chat {i}: expected a non-empty list of messages, got {chat!r:.80}")
        for j, message in enumerate(chat):
            if not isinstance(message, dict) or set(message) != {"role", "content"}:
                raise ValueError(
                    f"chat {i}, message {j}: expected keys 'role' and 'content', "
                    f"got {message!r:.80}"
                )
    encoded = tokenizer.apply_chat_template(
        chats,
        return_dict=True,
        return_assistant_tokens_mask=True,
        padding=True,
        return_tensors="pt",
    )
    mask = encoded["assistant_masks"]
    silent = (mask.sum(dim=1) == 0).nonzero().flatten().tolist()
    if silent:
        raise ValueError(f"chat {silent[0]}: no assistant reply, so nothing to learn from")
    labels = encoded["input_ids"].masked_fill(mask == 0, -100)
    return {
        "input_ids": encoded["input_ids"],
        "attention_mask": encoded["attention_mask"],
        "labels": labels,
    }


# --------------------------------------------------------------------------- validation

ROLES = ("system", "user", "assistant")
SHAPES = {  # the columns of each data set shape SFTTrainer accepts
    "messages": ("messages",),
    "prompt-completion": ("prompt", "completion"),
    "text": ("text",),
}
PREFERENCE_SHAPES = {  # the shapes DPOTrainer and RewardTrainer accept, first match wins
    "preference": ("prompt", "chosen", "rejected"),
    "implicit preference": ("chosen", "rejected"),  # the prompt is their shared beginning
}


_MESSAGE = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"enum": list(ROLES)},
        "content": {"type": "string", "minLength": 1},
    },
}
_MESSAGES = {"type": "array", "minItems": 1, "items": _MESSAGE}
_TEXT = {"type": "string", "minLength": 1}

# The row format as JSON Schema (draft 2020-12), for other tools and for readers. It cannot say
# everything validate_file checks: turn order, the assistant last, the token limit.
JSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "A row of a fine-tuning data set (one line of a JSONL file)",
    "oneOf": [
        {"type": "object", "required": ["messages"], "properties": {"messages": _MESSAGES}},
        {
            "type": "object",
            "required": ["prompt", "completion"],
            "properties": {
                "prompt": {"oneOf": [_TEXT, _MESSAGES]},
                "completion": {"oneOf": [_TEXT, _MESSAGES]},
            },
        },
        {"type": "object", "required": ["text"], "properties": {"text": _TEXT}},
    ],
}
_EITHER = {"oneOf": [_TEXT, _MESSAGES]}
PREFERENCE_JSON_SCHEMA = {  # a row of a preference data set (DPO, reward models, ORPO)
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "A row of a preference data set (one line of a JSONL file)",
    "oneOf": [
        {
            "type": "object",
            "required": ["prompt", "chosen", "rejected"],
            "properties": {"prompt": _EITHER, "chosen": _EITHER, "rejected": _EITHER},
        },
        {
            "type": "object",
            "required": ["chosen", "rejected"],
            "not": {"required": ["prompt"]},
            "properties": {"chosen": _EITHER, "rejected": _EITHER},
        },
    ],
}


def show_loss_tokens(tokenizer, input_ids, labels) -> str:
    """The tokens of one example, with the ones that carry loss in [brackets].

    ``labels`` is -100 where there is no loss, as in ``chat_batch`` and TRL's SFTTrainer.
    """
    pieces = []
    for token, label in zip(input_ids, labels, strict=True):
        text = tokenizer.decode([int(token)])
        pieces.append(f"[{text}]" if int(label) != -100 else text)
    return "".join(pieces)


@dataclass(frozen=True)
class RowError:
    """One problem in one row: where (line of the file, field inside the row) and what."""

    line: int  # 1-based: the line of a JSONL file, the row of a Parquet file
    field: str  # e.g. "messages[2].role"; "(row)" for the row as a whole
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


class DataError(ValueError):
    """A data set has bad rows; ``errors`` lists every one of them."""

    def __init__(self, path, errors: list[RowError], total: int):
        self.errors = errors
        shown = "\n  ".join(str(e) for e in errors[:10])
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        super().__init__(f"{path}: {len(errors)} problem(s) in {total} rows:\n  {shown}{more}")


@dataclass
class Validation:
    """The outcome of ``validate_file``: the good rows in file order, and every error."""

    path: str
    shape: str | None  # one of SHAPES, decided by the first row that has one
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
        return f"{self.path}: {self.total} rows, {len(self.rows)} good, {bad} bad ({self.shape})"


def _check_messages(
    messages, where: str, first=("system", "user"), last: str | None = "assistant"
) -> list[tuple]:
    """Problems of one list of chat messages, as (field, message) pairs.

    Rules: a non-empty list of {"role", "content"} objects; roles from ROLES; content a
    non-empty string; a role from ``first`` first (by default an optional system message, then
    the user), then user and assistant taking turns; and ``last`` last (for a training chat the
    assistant, or nothing is learned).
    """
    if not isinstance(messages, list) or not messages:
        return [(where, f"expected a non-empty list of messages, got {_short(messages)}")]
    problems, previous = [], None
    for i, message in enumerate(messages):
        at = f"{where}[{i}]"
        if not isinstance(message, dict):
            problems.append(
                (at, f"expected an object with role and content, got {_short(message)}")
            )
            continue
        role, content = message.get("role"), message.get("content")
        if "role" not in message:
            problems.append((f"{at}.role", "missing"))
        elif role not in ROLES:
            problems.append((f"{at}.role", f"unknown role {_short(role)}; use one of {ROLES}"))
        if "content" not in message:
            problems.append((f"{at}.content", "missing"))
        elif not isinstance(content, str):
            problems.append((f"{at}.content", f"expected a string, got {type(content).__name__}"))
        elif not content.strip():
            problems.append((f"{at}.content", "empty"))
        if role in ROLES:
            expected = first if previous is None else _NEXT_ROLES[previous]
            if role not in expected:
                problems.append(
                    (f"{at}.role", f"{role!r} out of turn: expected {' or '.join(expected)}")
                )
            previous = role
    if last and previous in ROLES and previous != last:
        problems.append((where, f"the last message is {previous!r}; it must be {last!r}"))
    return problems


_NEXT_ROLES = {"system": ("user",), "user": ("assistant",), "assistant": ("user",)}


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_text(value, where: str) -> list[tuple]:
    if not isinstance(value, str):
        return [(where, f"expected a string, got {type(value).__name__}")]
    return [] if value.strip() else [(where, "empty")]


def _row_shape(row: dict, shapes: dict) -> str | None:
    for shape, columns in shapes.items():
        if all(c in row for c in columns):
            return shape
    return None


def _check_row(row, shape: str | None, task: str = "sft") -> tuple[str | None, list[tuple]]:
    """The row's own shape and its problems."""
    if not isinstance(row, dict):
        return shape, [("(row)", f"expected a JSON object, got {type(row).__name__}")]
    shapes = PREFERENCE_SHAPES if task == "preference" else SHAPES
    own = _row_shape(row, shapes)
    if own is None:
        wanted = "; ".join("+".join(c) for c in shapes.values())
        return shape, [("(row)", f"no known columns in {sorted(row)}; expected {wanted}")]
    if shape is not None and own != shape:
        return shape, [("(row)", f"a {own!r} row in a {shape!r} data set")]
    if task == "preference":
        return own, _check_preference(row)
    if own == "messages":
        return own, _check_messages(row["messages"], "messages")
    if own == "text":
        return own, _check_text(row["text"], "text")
    problems = []  # prompt-completion: plain strings, or message lists (conversational)
    if isinstance(row["prompt"], list):
        problems += _check_messages(row["prompt"], "prompt", last="user")
    else:
        problems += _check_text(row["prompt"], "prompt")
    if isinstance(row["completion"], list):  # the reply to the prompt: the assistant's turn
        problems += _check_messages(row["completion"], "completion", first=("assistant",))
    else:
        problems += _check_text(row["completion"], "completion")
    return own, problems


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
        problems = [p for r in replies for p in _check_messages(row[r], r)]
        if not problems and row["chosen"][:-1] != row["rejected"][:-1]:
            problems.append(("rejected", "does not share the chosen chat's prompt messages"))
    else:
        conversational = isinstance(row["prompt"], list)
        if conversational:
            problems = _check_messages(row["prompt"], "prompt", last="user")
        else:
            problems = _check_text(row["prompt"], "prompt")
        for r in replies:
            if isinstance(row[r], list) != conversational:
                kind = "message list" if conversational else "string"
                problems.append((r, f"expected a {kind}, like the prompt"))
            elif conversational:
                problems += _check_messages(row[r], r, first=("assistant",))
            else:
                problems += _check_text(row[r], r)
    if not problems and row["chosen"] == row["rejected"]:
        problems.append(("rejected", "the same as chosen: the pair teaches nothing"))
    return problems


def _token_count(tokenizer, row: dict, shape: str) -> int:
    """Tokens of the whole example, as the trainer will see it (chat template applied)."""
    if shape in PREFERENCE_SHAPES:  # the longer of the two sequences the trainer builds
        counts = []
        for reply in (row["chosen"], row["rejected"]):
            if "prompt" in row:
                whole, kind = {"prompt": row["prompt"], "completion": reply}, "prompt-completion"
            else:  # implicit prompt: each reply is the whole example
                whole, kind = ({"text": reply}, "text") if isinstance(reply, str) else (
                    {"messages": reply}, "messages")  # fmt: skip
            counts.append(_token_count(tokenizer, whole, kind))
        return max(counts)
    if shape == "messages" or isinstance(row.get("prompt"), list):
        chat = row["messages"] if shape == "messages" else row["prompt"] + row["completion"]
        return len(tokenizer.apply_chat_template(chat, return_dict=True)["input_ids"])
    text = row["text"] if shape == "text" else row["prompt"] + row["completion"]
    return len(tokenizer(text)["input_ids"])


def _read(path: Path):
    """(line, row) pairs; a line that is not JSON becomes (line, RowError)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq  # installed with datasets

        for i, row in enumerate(pq.read_table(path).to_pylist(), start=1):
            yield i, row
        return
    with path.open(encoding="utf-8") as handle:
        for i, text in enumerate(handle, start=1):
            if not text.strip():
                continue  # blank lines (a trailing newline, say) are not rows
            try:
                yield i, json.loads(text.strip())
            except json.JSONDecodeError as err:
                yield i, RowError(i, "(json)", f"invalid JSON: {err.msg} at column {err.colno}")


def validate_file(
    path, tokenizer=None, max_length: int | None = None, task: str = "sft"
) -> Validation:
    """Check every row of a JSONL (``.jsonl``/``.json``) or ``.parquet`` data set.

    Args:
        path: the file.
        task: ``"sft"`` (the ``SHAPES`` SFTTrainer reads) or ``"preference"`` (the
            ``PREFERENCE_SHAPES`` DPOTrainer and RewardTrainer read: a prompt, a chosen and a
            rejected reply; the two replies must differ).
        tokenizer: with ``max_length``, rows longer than ``max_length`` tokens are errors
            (a trainer would cut them silently, often losing the answer at the end).
        max_length: the token limit, e.g. ``SFTConfig.max_length``.

    Returns:
        A ``Validation``: ``rows`` holds every good row (none is dropped for another row's
        fault), ``errors`` every problem with its line and field. Call ``raise_for_errors()``
        to stop on any.

    Raises:
        FileNotFoundError: no such file. ValueError: a suffix other than .jsonl/.json/.parquet,
            or an unknown task.
    """
    if task not in ("sft", "preference"):
        raise ValueError(f"task must be 'sft' or 'preference', got {task!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no data set file at {path}")
    if path.suffix not in (".jsonl", ".json", ".parquet"):
        raise ValueError(f"{path}: expected a .jsonl, .json (one object per line) or .parquet file")
    if (tokenizer is None) != (max_length is None):
        raise ValueError("pass tokenizer and max_length together to check lengths")
    result = Validation(str(path), shape=None)
    for line, row in _read(path):
        result.total += 1
        if isinstance(row, RowError):
            result.errors.append(row)
            continue
        shape, problems = _check_row(row, result.shape, task)
        result.shape = result.shape or shape
        if not problems and tokenizer is not None:
            n = _token_count(tokenizer, row, shape)
            if n > max_length:
                problems.append(("(row)", f"{n} tokens, over the limit of {max_length}"))
        if problems:
            result.errors += [RowError(line, f, m) for f, m in problems]
        else:
            result.rows.append(row)
            result.lines.append(line)
    return result


# --------------------------------------------------------------------------- a reasoning task

THINK_RE = re.compile(r"\s*<think>(?P<thought>.+?)</think>\s*(?P<answer>\S+)\s*", re.DOTALL)


def _arithmetic_chain(rng: random.Random, steps: int) -> tuple[str, str, str]:
    """One question, its worked steps and its answer: start at 1..9, then add or take 1..9."""
    value = rng.randint(1, 9)
    question, work = f"Start at {value}", []
    for _ in range(steps):
        if value > 1 and rng.random() < 0.5:  # results stay positive
            d = rng.randint(1, min(9, value - 1))
            question += f", take {d}"
            work.append(f"{value} - {d} = {value - d}.")
            value -= d
        else:
            d = rng.randint(1, 9)
            question += f", add {d}"
            work.append(f"{value} + {d} = {value + d}.")
            value += d
    return question + ".", " ".join(work), str(value)


def reasoning_task(n_train: int = 1000, n_test: int = 100, steps: int = 2, seed: int = 0):
    """A reasoning task a tiny model can learn on a CPU, with a checkable answer.

    Each row is a chat in the ``messages`` shape plus its ``answer``::

        user:      "Start at 7, add 7, take 9."
        assistant: "<think>7 + 7 = 14. 14 - 9 = 5.</think>5"

    The reasoning is written out inside ``<think>...</think>``, as R1-style reasoning data is,
    and the final answer follows it, so ``score`` can check both the format and the result.

    Returns:
        ``(train, test)``: lists of ``{"messages": [...], "answer": "5"}``. No test question
        appears in train; the same seed gives the same rows.

    Raises:
        ValueError: fewer distinct questions exist than ``n_train + n_test`` asks for.
    """
    if steps < 1 or n_train < 0 or n_test < 0:
        raise ValueError("reasoning_task: steps must be >= 1 and sizes >= 0")
    rng, rows, seen = random.Random(seed), [], set()
    for _ in range(50 * (n_train + n_test)):
        if len(rows) == n_train + n_test:
            break
        question, work, answer = _arithmetic_chain(rng, steps)
        if question in seen:
            continue
        seen.add(question)
        reply = f"<think>{work}</think>{answer}"
        chat = [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]
        rows.append({"messages": chat, "answer": answer})
    if len(rows) < n_train + n_test:
        raise ValueError(
            f"reasoning_task: only {len(rows)} distinct {steps}-step questions found, "
            f"{n_train + n_test} asked for; use more steps or fewer rows"
        )
    return rows[:n_train], rows[n_train:]


def score(reply: str, answer: str) -> dict[str, bool]:
    """Check a generated reply: ``format`` (thinking, then an answer), ``correct`` (its value)."""
    match = THINK_RE.fullmatch(reply)
    return {"format": match is not None, "correct": bool(match and match["answer"] == answer)}


# --------------------------------------------------------------------------- preference pairs

_START_RE = re.compile(r"Start at (\d+)")
_OP_RE = re.compile(r"(add|take) (\d+)")
REJECTION_KINDS = ("wrong step", "no working", "wrong answer")


def solve(question: str, slip_at: int | None = None, slip: int = 0) -> tuple[str, str]:
    """Work a ``reasoning_task`` question out: ``(working, answer)``, as the task writes them.

    With ``slip_at``, step ``slip_at`` (0-based) gets its result off by ``slip`` and every later
    step carries on faithfully from the wrong value, as a model that slips once would.
    """
    start = _START_RE.match(question)
    if start is None:
        raise ValueError(f"not a reasoning_task question: {question!r}")
    value, work = int(start[1]), []
    for i, (op, d) in enumerate(_OP_RE.findall(question)):
        result = value + int(d) if op == "add" else value - int(d)
        result += slip if i == slip_at else 0
        work.append(f"{value} {'+' if op == 'add' else '-'} {d} = {result}.")
        value = result
    return " ".join(work), str(value)


def preference_pairs(rows: list[dict], seed: int = 0) -> list[dict]:
    """Preference pairs from ``reasoning_task`` rows: the correct reply chosen, a flawed one not.

    The rejected replies take turns over ``REJECTION_KINDS``:

    - ``"wrong step"``: one step slips by 1 to 3 and the rest follows from it (right format,
      wrong answer; only the arithmetic tells them apart);
    - ``"no working"``: the right answer with no ``<think>`` section (wrong format);
    - ``"wrong answer"``: the right working, then a different answer (inconsistent).

    Returns:
        Rows in the conversational preference shape TRL's DPOTrainer and RewardTrainer read,
        ``{"prompt": [user], "chosen": [assistant], "rejected": [assistant]}``, plus ``"kind"``
        (which flaw; drop it before training) and ``"answer"``. The same seed, the same rows.
    """
    rng, pairs = random.Random(seed), []
    for i, row in enumerate(rows):
        question = row["messages"][0]["content"]
        work, answer = solve(question)
        kind = REJECTION_KINDS[i % len(REJECTION_KINDS)]
        if kind == "wrong step":
            steps = len(_OP_RE.findall(question))
            bad_work, bad = solve(question, rng.randrange(steps), rng.choice([-3, -2, -1, 1, 2, 3]))
            rejected = f"<think>{bad_work}</think>{bad}"
        elif kind == "no working":
            rejected = answer
        else:
            rejected = f"<think>{work}</think>{int(answer) + rng.choice([-2, -1, 1, 2])}"
        pairs.append({
            "prompt": row["messages"][:1],
            "chosen": [{"role": "assistant", "content": f"<think>{work}</think>{answer}"}],
            "rejected": [{"role": "assistant", "content": rejected}],
            "kind": kind,
            "answer": answer,
        })  # fmt: skip
    return pairs


# --------------------------------------------------------------------------- retrieval pairs

RETRIEVAL_PAIRS = Path(__file__).parent / "assets" / "retrieval_pairs.jsonl"
_RETRIEVAL_FIELDS = ("id", "topic", "query", "passage", "split")


def retrieval_pairs(split: str | None = None, path=RETRIEVAL_PAIRS) -> list[dict]:
    """The guide's retrieval data set: 220 questions about fine-tuning, each with its passage.

    Written for the guide (``ftkit/assets/retrieval_pairs.jsonl``): every row pairs a search
    query, phrased the way a reader might type it, with the one passage that answers it, and
    carries a ``topic`` and a ``split``. Every fifth row is ``"test"``; no test query or
    passage appears in a training row.

    Args:
        split: ``"train"``, ``"test"`` or None for every row.
        path: another file in the same shape.

    Raises:
        DataError: a row is not JSON or misses a field, naming its line.
        ValueError: an unknown split.
    """
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be 'train', 'test' or None, got {split!r}")
    rows, errors, total = [], [], 0
    for line, row in _read(Path(path)):
        total += 1
        if isinstance(row, RowError):
            errors.append(row)
            continue
        missing = [f for f in _RETRIEVAL_FIELDS if not isinstance(row.get(f), str) or not row[f]]
        if missing or row["split"] not in ("train", "test"):
            problem = f"missing or empty {missing}" if missing else f"split {row['split']!r}"
            errors.append(RowError(line, "(row)", problem))
        elif split is None or row["split"] == split:
            rows.append(row)
    if errors:
        raise DataError(path, errors, total)
    return rows
