"""Fine-tuning through an API: each provider's training file, built from our rows and checked
line by line before it is uploaded.

A hosted fine-tuning job takes a JSON Lines file, trains on the provider's machines and returns
a model id to call through the same API; the weights never leave the provider. The job checks
the file only once it has started. This module builds the files and checks them here, every
line at once:

- builders turn the guide's rows (``{"messages": [...]}`` chats, ``ftkit.tasks.preference_pairs``
  rows) into OpenAI's chat rows (``{"messages": [...]}``, with an optional ``weight`` of 0 or 1 on
  assistant messages) and preference rows (``input`` / ``preferred_output`` /
  ``non_preferred_output``), and into Gemini's rows on Google's Agent Platform, formerly Vertex
  AI (``contents`` of ``user`` and ``model`` turns made of ``parts``, ``systemInstruction``;
  preference rows with two scored ``completions``). Our chats are checked by
  ``ftkit.chat.check_messages``, the checks every other reader of a chat in ftkit uses; a bad
  row raises a ValueError naming the row and field.
- ``validate_openai`` and ``validate_gemini`` read a file as ``ftkit.validation.validate_file``
  does (``read_rows``: a line that is not UTF-8 or not JSON is an error and the lines after it
  are still read) and return a ``Validation``: every good row kept, every bad line named with
  its field and reason, and the file-level rules (a minimum number of examples, a token limit
  per example) on top.
- ``estimate_cost``: training tokens x epochs x price, with any tokenizer's ``encode``; ours is
  not the provider's, so the count is an estimate and the page says so.
- ``Client``: anything with ``complete(messages) -> str``. ``LocalClient`` puts a local model
  behind it, the OpenAI SDK fits it in three lines, and ``held_out_scores`` scores any of them
  on held-out ``ftkit.tasks.reasoning_task`` rows; ``teacher_labels`` asks a large model's
  client for the replies to train a small one on (distillation).

Rules beyond the documented ones are ours and say so: a Gemini row must start with a user turn
and end with the model's; an OpenAI row whose every reply has weight 0 teaches nothing; both of
a pair's replies must differ, as ``ftkit.validation`` asks of TRL's preference rows; and
``validate_openai`` applies the SFT guide's minimum of 10 examples to preference files too.
Tool calls, images and files inside OpenAI messages are outside what this module checks (content
must be text); Gemini ``fileData`` parts are checked for shape.

References (all read 2026-11-30):
    OpenAI, "Supervised fine-tuning" guide (chat JSONL; at least 10 examples) and "Direct
        preference optimization" guide (``input``, ``preferred_output``,
        ``non_preferred_output``), developers.openai.com/api/docs/guides/; the ``weight`` field
        (0 or 1 on an assistant message) in OpenAI's API schema
        (``FineTuneChatCompletionRequestAssistantMessage``).
    Google, "Prepare supervised fine-tuning data for Gemini models" (``contents``, ``role``
        user or model, ``parts``, ``systemInstruction``) and "Prepare preference tuning data"
        (``contents`` ending with a user turn, ``completions`` with ``score`` 0 or 1,
        ``system_instruction``), docs.cloud.google.com/gemini-enterprise-agent-platform/.
    Simplifies: the file checks a provider runs when a job starts (the "validating_files" state
        of an OpenAI job).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ftkit.chat import check_messages, require_messages, short
from ftkit.evaluate import generate_replies
from ftkit.tasks import score
from ftkit.validation import DataError, RowError, Validation, read_rows

OPENAI_MIN_EXAMPLES = 10  # OpenAI SFT guide: "The minimum number of examples ... is 10"
OPENAI_WEIGHTS = (0, 1)  # API schema: an assistant message is trained on (1) or not (0)
GEMINI_ROLES = ("user", "model")  # Google's prepare-data page: the two roles of ``contents``
SCORES = (0, 1)  # Google's preference page: 0 the dispreferred completion, 1 the preferred
KINDS = ("sft", "preference")
FORMATS = {  # (provider, kind) -> the format name a Validation reports
    ("openai", "sft"): "openai chat",
    ("openai", "preference"): "openai preference",
    ("gemini", "sft"): "gemini contents",
    ("gemini", "preference"): "gemini preference",
}
_TEXT = dict(parts=False, tools=False)  # what check_messages accepts here: text content only


# --------------------------------------------------------------------------- builders


def _chat(row, i: int, caller: str, key: str = "messages", **rules) -> list[dict]:
    """``row[key]``, a chat that passes ``check_messages(**rules)``, or a ValueError naming
    ``rows[i]`` and the field."""
    if not isinstance(row, dict) or key not in row:
        got = sorted(row) if isinstance(row, dict) else type(row).__name__
        raise ValueError(f"{caller}: rows[{i}]: expected an object with {key!r}, got {got}")
    require_messages(row[key], f"rows[{i}].{key}", f"{caller}: ", **_TEXT, **rules)
    return [{"role": m["role"], "content": m["content"]} for m in row[key]]


def to_openai_chat(rows: Iterable[dict], train_on: str = "all") -> list[dict]:
    """OpenAI chat rows, ``{"messages": [...]}``, from the guide's chat rows.

    Keys other than ``messages`` (``answer``, ``kind``) are the guide's bookkeeping and are left
    out. With ``train_on="last"`` every assistant message but the last gets ``"weight": 0`` and
    the last ``"weight": 1``: the job then learns the final reply only, as TRL's
    ``completion_only_loss`` does for a prompt-completion row.

    Raises:
        ValueError: ``train_on`` is not "all" or "last", or a row is not a chat that ends with
            an assistant reply, naming ``rows[i]`` and the field.
    """
    if train_on not in ("all", "last"):
        raise ValueError(f"to_openai_chat: train_on must be 'all' or 'last', got {train_on!r}")
    out = []
    for i, row in enumerate(rows):
        messages = _chat(row, i, "to_openai_chat")
        if train_on == "last":
            last = max(k for k, m in enumerate(messages) if m["role"] == "assistant")
            for k, message in enumerate(messages):
                if message["role"] == "assistant":
                    message["weight"] = int(k == last)
        out.append({"messages": messages})
    return out


def _pair(row, i: int, caller: str) -> tuple[list[dict], list[dict], list[dict]]:
    """The prompt, chosen and rejected chats of a preference row, checked."""
    prompt = _chat(row, i, caller, "prompt", last="user")
    replies = [_chat(row, i, caller, key, first=("assistant",)) for key in ("chosen", "rejected")]
    if replies[0] == replies[1]:
        raise ValueError(f"{caller}: rows[{i}].rejected: the same as chosen: nothing to learn")
    return prompt, replies[0], replies[1]


def to_openai_preference(rows: Iterable[dict]) -> list[dict]:
    """OpenAI preference (DPO) rows from ``{"prompt", "chosen", "rejected"}`` rows, the shape
    of ``ftkit.tasks.preference_pairs`` and TRL's conversational preference data.

    Returns:
        ``{"input": {"messages": prompt}, "preferred_output": chosen,
        "non_preferred_output": rejected}`` per row.

    Raises:
        ValueError: a prompt that does not end with the user, a reply that does not open with
            the assistant, or two equal replies, naming ``rows[i]`` and the field.
    """
    out = []
    for i, row in enumerate(rows):
        prompt, chosen, rejected = _pair(row, i, "to_openai_preference")
        out.append(
            {
                "input": {"messages": prompt},
                "preferred_output": chosen,
                "non_preferred_output": rejected,
            }
        )
    return out


def _gemini_turns(messages: list[dict]) -> tuple[dict | None, list[dict]]:
    """A checked chat as Gemini's system instruction (or None) and ``contents``."""
    system = None
    if messages[0]["role"] == "system":
        system = {"parts": [{"text": messages[0]["content"]}]}  # its role is ignored (docs)
        messages = messages[1:]
    contents = [
        {
            "role": "model" if m["role"] == "assistant" else "user",
            "parts": [{"text": m["content"]}],
        }
        for m in messages
    ]
    return system, contents


def to_gemini(rows: Iterable[dict]) -> list[dict]:
    """Gemini supervised-tuning rows, ``{"contents": [...], "systemInstruction": {...}}``.

    The assistant's turns become ``"model"`` turns and each message's text one ``{"text": ...}``
    part; a system message becomes ``systemInstruction`` (left out when there is none).

    Raises:
        ValueError: a row that is not a chat ending with an assistant reply, naming ``rows[i]``
            and the field.
    """
    out = []
    for i, row in enumerate(rows):
        system, contents = _gemini_turns(_chat(row, i, "to_gemini"))
        out.append(({"systemInstruction": system} if system else {}) | {"contents": contents})
    return out


def to_gemini_preference(rows: Iterable[dict]) -> list[dict]:
    """Gemini preference-tuning rows from ``{"prompt", "chosen", "rejected"}`` rows.

    Returns:
        ``{"contents": prompt turns, "completions": [{"score": 1, "completion": chosen turn},
        {"score": 0, "completion": rejected turn}]}``, plus ``system_instruction`` (snake case,
        as Google's preference page writes it; the supervised format writes
        ``systemInstruction``) when the prompt has a system message.

    Raises:
        ValueError: as ``to_openai_preference``, or a reply that is not exactly one assistant
            message (a completion is "a single model turn"), naming ``rows[i]`` and the field.
    """
    out = []
    for i, row in enumerate(rows):
        prompt, chosen, rejected = _pair(row, i, "to_gemini_preference")
        for key, reply in (("chosen", chosen), ("rejected", rejected)):
            if len(reply) != 1:
                raise ValueError(
                    f"to_gemini_preference: rows[{i}].{key}: {len(reply)} messages; a Gemini "
                    "completion is a single model turn"
                )
        system, contents = _gemini_turns(prompt)
        completions = [
            {"score": s, "completion": _gemini_turns(reply)[1][0]}
            for s, reply in ((1, chosen), (0, rejected))
        ]
        out.append(
            ({"system_instruction": system} if system else {})
            | {"contents": contents, "completions": completions}
        )
    return out


def write_jsonl(path, rows: Iterable[dict]) -> Path:
    """Write rows as JSON Lines, one object per line, UTF-8; return the path."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


# --------------------------------------------------------------------------- row checks


def _object(row, keys: tuple[str, ...], shape: str) -> list[tuple[str, str]]:
    if not isinstance(row, dict):
        return [("(row)", f"expected a JSON object, got {type(row).__name__}")]
    missing = [k for k in keys if k not in row]
    if missing:
        return [("(row)", f"missing {missing}; a row is {shape}")]
    return []


def _openai_chat_problems(row) -> list[tuple[str, str]]:
    problems = _object(row, ("messages",), '{"messages": [...]}')
    if problems:
        return problems
    messages = row["messages"]
    problems = check_messages(messages, "messages", **_TEXT)
    for k, message in enumerate(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict) or "weight" not in message:
            continue
        weight = message["weight"]
        if message.get("role") != "assistant":
            problems.append((f"messages[{k}].weight", "only an assistant message has a weight"))
        elif isinstance(weight, bool) or weight not in OPENAI_WEIGHTS:
            problems.append((f"messages[{k}].weight", f"expected 0 or 1, got {short(weight)}"))
    if not problems and not any(m.get("weight", 1) for m in messages if m["role"] == "assistant"):
        problems.append(("messages", "every assistant message has weight 0: nothing to learn"))
    return problems


def _openai_preference_problems(row) -> list[tuple[str, str]]:
    keys = ("input", "preferred_output", "non_preferred_output")
    shape = (
        '{"input": {"messages": [...]}, "preferred_output": [...], "non_preferred_output": [...]}'
    )
    problems = _object(row, keys, shape)
    if problems:
        return problems
    prompt = row["input"]
    if not isinstance(prompt, dict) or "messages" not in prompt:
        problems.append(("input", f'expected {{"messages": [...]}}, got {short(prompt)}'))
    else:
        problems += check_messages(prompt["messages"], "input.messages", last="user", **_TEXT)
    for key in keys[1:]:
        problems += check_messages(row[key], key, first=("assistant",), **_TEXT)
    if not problems and row["preferred_output"] == row["non_preferred_output"]:
        problems.append(("non_preferred_output", "the same as preferred_output: nothing to learn"))
    return problems


def _parts_problems(parts, where: str) -> list[tuple[str, str]]:
    """Gemini ``parts``: a non-empty list of ``{"text": str}`` or ``{"fileData": {"mimeType",
    "fileUri"}}`` objects."""
    if not isinstance(parts, list) or not parts:
        return [(where, f"expected a non-empty list of parts, got {short(parts)}")]
    problems = []
    for k, part in enumerate(parts):
        at = f"{where}[{k}]"
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            if not part["text"].strip():
                problems.append((f"{at}.text", "empty"))
        elif isinstance(part, dict) and isinstance(part.get("fileData"), dict):
            data = part["fileData"]
            for key in ("mimeType", "fileUri"):
                if not isinstance(data.get(key), str) or not data[key]:
                    problems.append((f"{at}.fileData.{key}", "expected a non-empty string"))
        else:
            problems.append(
                (at, f"expected {{'text': str}} or {{'fileData': ...}}, got {short(part)}")
            )
    return problems


def _turn_problems(turn, at: str) -> list[tuple[str, str]]:
    if not isinstance(turn, dict):
        return [(at, f"expected an object with role and parts, got {short(turn)}")]
    problems = []
    if turn.get("role") not in GEMINI_ROLES:
        role = short(turn["role"]) if "role" in turn else "missing"
        problems.append((f"{at}.role", f"expected 'user' or 'model', got {role}"))
    return problems + _parts_problems(turn.get("parts"), f"{at}.parts")


def _contents_problems(contents, last: str) -> list[tuple[str, str]]:
    """Gemini ``contents``: turns that open with the user, alternate, and end with ``last``
    (our rules: the documented format does not spell out the order)."""
    if not isinstance(contents, list) or not contents:
        return [("contents", f"expected a non-empty list of turns, got {short(contents)}")]
    problems, expected = [], "user"
    for k, turn in enumerate(contents):
        at = f"contents[{k}]"
        turn_problems = _turn_problems(turn, at)
        problems += turn_problems
        role = turn.get("role") if isinstance(turn, dict) else None
        if role in GEMINI_ROLES:
            if role != expected:
                problems.append((f"{at}.role", f"{role!r} out of turn: expected {expected!r}"))
            expected = "model" if role == "user" else "user"
    roles = [t.get("role") for t in contents if isinstance(t, dict)]
    if roles and roles[-1] in GEMINI_ROLES and roles[-1] != last:
        problems.append(("contents", f"the last turn is {roles[-1]!r}; it must be {last!r}"))
    return problems


def _system_problems(row: dict, key: str) -> list[tuple[str, str]]:
    if key not in row:
        return []
    system = row[key]
    if not isinstance(system, dict):
        return [(key, f"expected an object with parts, got {short(system)}")]
    return _parts_problems(system.get("parts"), f"{key}.parts")


def _gemini_problems(row) -> list[tuple[str, str]]:
    problems = _object(row, ("contents",), '{"contents": [...]}')
    if problems:
        return problems
    return _system_problems(row, "systemInstruction") + _contents_problems(row["contents"], "model")


def _gemini_preference_problems(row) -> list[tuple[str, str]]:
    shape = '{"contents": [...], "completions": [{"score": 1, "completion": ...}, ...]}'
    problems = _object(row, ("contents", "completions"), shape)
    if problems:
        return problems
    problems = _system_problems(row, "system_instruction")
    problems += _contents_problems(row["contents"], "user")  # docs: ends with a user turn
    completions = row["completions"]
    if not isinstance(completions, list) or len(completions) != 2:
        return problems + [("completions", f"expected a list of 2, got {short(completions)}")]
    scores = []
    for k, item in enumerate(completions):
        at = f"completions[{k}]"
        if not isinstance(item, dict):
            problems.append((at, f"expected {{'score', 'completion'}}, got {short(item)}"))
            continue
        value = item.get("score")
        if isinstance(value, bool) or value not in SCORES:
            problems.append((f"{at}.score", f"expected 0 or 1, got {short(value)}"))
        else:
            scores.append(value)
        turn = item.get("completion")
        problems += _turn_problems(turn, f"{at}.completion")
        if isinstance(turn, dict) and turn.get("role") == "user":
            problems.append((f"{at}.completion.role", "a completion is the model's turn"))
    if len(scores) == 2 and sorted(scores) != [0, 1]:
        problems.append(("completions", f"scores {scores}: one must be 1 and the other 0"))
    if not problems and completions[0]["completion"] == completions[1]["completion"]:
        problems.append(("completions[1]", "the same as completions[0]: nothing to learn"))
    return problems


_CHECKS = {
    ("openai", "sft"): _openai_chat_problems,
    ("openai", "preference"): _openai_preference_problems,
    ("gemini", "sft"): _gemini_problems,
    ("gemini", "preference"): _gemini_preference_problems,
}


# --------------------------------------------------------------------------- validators


def _texts(value) -> list[str]:
    """Every string under the keys that hold a row's text (``content``, ``text``), in order."""
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            if key in ("content", "text") and isinstance(item, str):
                out.append(item)
            else:
                out += _texts(item)
        return out
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    return []


def example_tokens(row: dict, encode: Callable[[str], list]) -> int:
    """Tokens in every text of one row, in any of this module's formats.

    ``encode`` is any tokenizer's text -> ids: ours (an estimate: it is not the provider's
    tokenizer), or the provider's own (``tiktoken.get_encoding("o200k_base").encode`` for
    OpenAI's GPT-4o and GPT-4.1 models). The chat format's few tokens per message (role
    markers) are not counted.
    """
    return sum(len(encode(text)) for text in _texts(row))


def _validate(provider, path, kind, encode, max_tokens, min_examples) -> Validation:
    if kind not in KINDS:
        raise ValueError(f"validate_{provider}: kind must be 'sft' or 'preference', got {kind!r}")
    if (encode is None) != (max_tokens is None):
        raise ValueError(f"validate_{provider}: pass encode and max_tokens together")
    for name, value in (("max_tokens", max_tokens), ("min_examples", min_examples)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"validate_{provider}: {name} must be a positive int, got {value!r}")
    path = Path(path)
    if path.suffix != ".jsonl" and path.is_file():
        raise DataError.of_file(path, "expected a .jsonl file: the providers read JSON Lines")
    check = _CHECKS[(provider, kind)]
    result = Validation(str(path), format=FORMATS[(provider, kind)])
    for line, row in read_rows(path):  # raises DataError for a missing or empty file
        result.total += 1
        if isinstance(row, RowError):
            result.errors.append(row)
            continue
        problems = check(row)
        if not problems and encode is not None:
            n = example_tokens(row, encode)
            if n > max_tokens:
                problems = [("(row)", f"{n} tokens, over the limit of {max_tokens}")]
        if problems:
            result.errors += [RowError(line, field, message) for field, message in problems]
        else:
            result.rows.append(row)
            result.lines.append(line)
    if min_examples is not None and len(result.rows) < min_examples:
        result.errors.append(
            RowError(
                0, "(file)", f"{len(result.rows)} good examples; the minimum is {min_examples}"
            )
        )
    return result


def validate_openai(
    path,
    kind: str = "sft",
    encode: Callable[[str], list] | None = None,
    max_tokens: int | None = None,
    min_examples: int | None = OPENAI_MIN_EXAMPLES,
) -> Validation:
    """Check every line of an OpenAI fine-tuning file before it is uploaded.

    Args:
        path: a ``.jsonl`` file.
        kind: ``"sft"`` (chat rows: ``check_messages`` on ``messages``, text content, ending
            with the assistant; ``weight`` only on assistant messages, 0 or 1, and not all 0)
            or ``"preference"`` (``input.messages`` ending with the user, two different replies
            opening with the assistant).
        encode, max_tokens: with both, a row with more than ``max_tokens`` tokens
            (``example_tokens``) is an error; the limit is the model's, see its page.
        min_examples: fewer good rows is a file error (line 0); OpenAI's SFT guide asks for
            10. None: no minimum.

    Returns:
        A ``Validation``: ``rows`` holds every good row, in file order, ``errors`` every
        problem with its line (0 for the file) and field.

    Raises:
        DataError: the file as a whole (missing, not ``.jsonl``, no rows), naming it.
        ValueError: an unknown kind, only one of encode and max_tokens, or a limit that is not
            a positive int.
    """
    return _validate("openai", path, kind, encode, max_tokens, min_examples)


def validate_gemini(
    path,
    kind: str = "sft",
    encode: Callable[[str], list] | None = None,
    max_tokens: int | None = None,
    min_examples: int | None = None,
) -> Validation:
    """Check every line of a Gemini tuning file (Google Agent Platform) before it is uploaded.

    Args:
        path: a ``.jsonl`` file.
        kind: ``"sft"`` (``contents`` of ``user``/``model`` turns, each with non-empty
            ``parts``, opening with the user, alternating and ending with the model; an optional
            ``systemInstruction``) or ``"preference"`` (``contents`` ending with the user, and
            ``completions``: two model turns scored 1 and 0, different).
        encode, max_tokens: as in ``validate_openai``; Google lists 131,072 input and output
            tokens per training example for Gemini 2.5 Flash.
        min_examples: a minimum number of good rows, or None (Google recommends starting with
            100 examples and states no minimum on the pages we read).

    Returns and Raises: as ``validate_openai``.
    """
    return _validate("gemini", path, kind, encode, max_tokens, min_examples)


# --------------------------------------------------------------------------- cost


@dataclass(frozen=True)
class JobCost:
    """A job's training bill: the file's tokens, trained ``epochs`` times, at a price per 1M."""

    examples: int
    tokens: int
    epochs: int
    price_per_million: float

    @property
    def billed_tokens(self) -> int:
        return self.tokens * self.epochs

    @property
    def usd(self) -> float:
        return self.billed_tokens * self.price_per_million / 1_000_000

    def __str__(self) -> str:
        return (
            f"{self.examples:,} examples, {self.tokens:,} tokens x {self.epochs} epochs = "
            f"{self.billed_tokens:,} tokens at ${self.price_per_million:.2f}/1M: ${self.usd:.2f}"
        )


def estimate_cost(
    rows: Iterable[dict],
    encode: Callable[[str], list],
    epochs: int,
    price_per_million: float,
) -> JobCost:
    """What a token-billed training job costs: tokens in the file x epochs x price.

    OpenAI bills supervised and DPO jobs by training tokens (its pricing page; the job reports
    the real count as ``trained_tokens`` when it ends); the count here uses ``encode``, so it is
    as close as that tokenizer is to the provider's.

    Raises:
        ValueError: ``epochs`` not a positive int, or a negative or non-numeric price.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"estimate_cost: epochs must be a positive int, got {epochs!r}")
    if isinstance(price_per_million, bool) or not isinstance(price_per_million, int | float):
        raise ValueError(
            f"estimate_cost: price_per_million must be a number, got {price_per_million!r}"
        )
    if price_per_million < 0:
        raise ValueError(f"estimate_cost: price_per_million must be >= 0, got {price_per_million}")
    rows = list(rows)
    tokens = sum(example_tokens(row, encode) for row in rows)
    return JobCost(len(rows), tokens, epochs, float(price_per_million))


# --------------------------------------------------------------------------- evaluation


class Client(Protocol):
    """Anything that answers a chat: a local model, a provider's SDK, a fine-tuned model id.

    A client may also have ``complete_all(chats) -> list[str]``, answering many chats at once
    (``LocalClient`` batches them); ``held_out_scores`` uses it when it is there.
    """

    def complete(self, messages: list[dict]) -> str:
        """The reply to a chat that ends with a user message."""
        ...


class LocalClient:
    """A local causal LM behind the ``Client`` interface: greedy, so the same reply every run.

    Args:
        model, tokenizer: a transformers model and its tokenizer (with a chat template).
        max_new_tokens: the longest reply.
    """

    def __init__(self, model, tokenizer, max_new_tokens: int = 48):
        self.model, self.tokenizer, self.max_new_tokens = model, tokenizer, max_new_tokens

    def complete(self, messages: list[dict]) -> str:
        return self.complete_all([messages])[0]

    def complete_all(self, chats: list[list[dict]]) -> list[str]:
        """Replies to many chats in left-padded batches: what ``held_out_scores`` calls when
        a client has it (the replies are the ones ``complete`` gives one at a time)."""
        return generate_replies(self.model, self.tokenizer, chats, self.max_new_tokens)


@dataclass(frozen=True)
class HeldOutScores:
    """Shares of held-out rows answered in the right format, and with the right answer."""

    format: float
    exact_match: float
    n: int

    def __str__(self) -> str:
        return f"format {self.format:.0%}, exact match {self.exact_match:.0%} on {self.n}"


def _reasoning_row(row, i: int, caller: str) -> list[dict]:
    """The prompt of a ``reasoning_task`` row (every message but the reference reply)."""
    if not isinstance(row, dict) or "answer" not in row or "messages" not in row:
        raise ValueError(f"{caller}: rows[{i}]: needs 'messages' and 'answer'")
    require_messages(row["messages"], f"rows[{i}].messages", f"{caller}: ", **_TEXT)
    return row["messages"][:-1]


def _complete_all(client: Client, prompts: list[list[dict]]) -> list[str]:
    """The client's replies to ``prompts``, in one ``complete_all`` call where it has one; a
    reply that is not text (None, as an API may return for a refusal) becomes ""."""
    batch = getattr(client, "complete_all", None)
    replies = list(batch(prompts)) if batch else [client.complete(p) for p in prompts]
    if len(replies) != len(prompts):
        raise ValueError(f"the client gave {len(replies)} replies to {len(prompts)} prompts")
    return [reply if isinstance(reply, str) else "" for reply in replies]


def held_out_scores(client: Client, rows: Iterable[dict]) -> HeldOutScores:
    """Ask ``client`` every held-out question and score the replies with ``ftkit.tasks.score``.

    The same function scores a local model, the base model behind an API, and the model id a
    fine-tuning job returned: only the client changes.

    Raises:
        ValueError: no rows, or a row without ``messages`` and ``answer``, naming it.
    """
    rows = list(rows)
    if not rows:
        raise ValueError("held_out_scores: no rows given")
    prompts = [_reasoning_row(row, i, "held_out_scores") for i, row in enumerate(rows)]
    replies = _complete_all(client, prompts)
    scores = [score(reply, row["answer"]) for reply, row in zip(replies, rows, strict=True)]
    n = len(rows)
    return HeldOutScores(
        format=sum(s["format"] for s in scores) / n,
        exact_match=sum(s["correct"] for s in scores) / n,
        n=n,
    )


def teacher_labels(
    teacher: Client,
    rows: Iterable[dict],
    check: Callable[[str, dict], bool] | None = None,
) -> tuple[list[dict], list[int]]:
    """Distillation data: a teacher's replies to the questions of ``rows``, as new chat rows.

    Each row's prompt (every message but the last) goes to ``teacher``; its reply becomes the
    assistant message of a new row, which keeps the row's other keys (``answer``). With
    ``check(reply, row)``, a reply it rejects is left out, so a verifier filters the teacher's
    mistakes before a student learns them. All prompts go in one ``complete_all`` call where
    the client has one.

    Returns:
        ``(kept, rejected)``: the new rows, and the indices of the rows whose reply ``check``
        rejected.

    Raises:
        ValueError: a row that is not a chat ending with the reply to replace, naming it.
    """
    rows = list(rows)
    prompts = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "messages" not in row:
            raise ValueError(f"teacher_labels: rows[{i}]: expected an object with 'messages'")
        require_messages(row["messages"], f"rows[{i}].messages", "teacher_labels: ", **_TEXT)
        prompts.append([dict(m) for m in row["messages"][:-1]])
    kept, rejected = [], []
    for i, (row, prompt, reply) in enumerate(
        zip(rows, prompts, _complete_all(teacher, prompts), strict=True)
    ):
        if check is not None and not check(reply, row):
            rejected.append(i)
        else:
            kept.append({**row, "messages": [*prompt, {"role": "assistant", "content": reply}]})
    return kept, rejected
