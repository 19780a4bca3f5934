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
  are still read) and return a ``ProviderValidation``: every good row kept, every bad line named
  with its field and reason, warnings for kept lines, and the file-level rules (a minimum number
  of examples, a token limit per example) on top.
- ``estimate_cost``: training tokens x epochs x price, with any tokenizer's ``encode``; ours is
  not the provider's, so the count is an estimate and the page says so.
- ``Client``: anything with ``complete(messages) -> str``. ``LocalClient`` puts a local model
  behind it, the OpenAI SDK fits it in three lines, and ``held_out_scores`` scores any of them
  on held-out ``ftkit.tasks.reasoning_task`` rows; ``teacher_labels`` asks a large model's
  client for the replies to train a small one on (distillation).

The validators accept what the providers document: a line they take is never dropped. A
provider's documented rule is an error (the line is dropped). Our stricter rules are warnings
that keep the line, or errors with ``strict=True``: in a chat, user and assistant alternate, a
system message comes only first, the chat ends with a reply (a Gemini row: the user opens, the
model ends) and a prompt with the user; not every OpenAI weight is 0, and a weight is an integer
on an assistant message; a Gemini turn has a role; the two replies of a pair differ, as
``ftkit.validation`` asks of TRL's preference rows. What this module does not check, tool calls,
tool turns, images and other content parts (valid for the providers), is a warning that keeps
the line. Two file rules are ours as well: ``validate_openai`` applies the SFT guide's minimum
of 10 examples to preference files too, and an example over ``max_tokens`` is an error, where
OpenAI would truncate it. The builders are stricter: they take the guide's own text chats and
refuse one that breaks any rule.

References (all read 2026-11-30):
    OpenAI, "Supervised fine-tuning" guide (chat JSONL; at least 10 examples) and "Direct
        preference optimization" guide (``input``, ``preferred_output``,
        ``non_preferred_output``), developers.openai.com/api/docs/guides/; the ``weight`` field
        (0 or 1 on an assistant message) and the message types (``FineTuneChatRequestInput``:
        system, user, assistant, tool, function) in OpenAI's API schema; the SFT guide's token
        limits (an example over the limit "removes tokens from the end"). OpenAI cookbook,
        ``examples/Chat_finetuning_data_prep.ipynb`` (its format checks: a known role, content,
        at least one assistant message, and no order rule; ``num_tokens_from_messages``: 3
        tokens a message and 3 for the reply).
    Google, "Prepare supervised fine-tuning data for Gemini models" (``contents``, ``role``
        user or model, ``parts``, ``systemInstruction``) and "Prepare preference tuning data"
        (``contents`` ending with a user turn, ``completions`` with ``score`` 0 or 1,
        ``system_instruction``; "It doesn't support multi-modal data"),
        docs.cloud.google.com/gemini-enterprise-agent-platform/; the ``Content`` type (a role
        is optional outside multi-turn chats) and the ``Part`` type of the Gemini API reference.
    Simplifies: the file checks a provider runs when a job starts (the "validating_files" state
        of an OpenAI job).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ftkit.chat import check_messages, require_messages, short
from ftkit.evaluate import generate_replies, reply_rates
from ftkit.validation import DataError, RowError, Validation, read_rows

OPENAI_MIN_EXAMPLES = 10  # OpenAI SFT guide: "The minimum number of examples ... is 10"
OPENAI_WEIGHTS = (0, 1)  # API schema: an assistant message is trained on (1) or not (0)
# API schema (FineTuneChatRequestInput): system, user, assistant, tool and function messages
OPENAI_ROLES = ("system", "user", "assistant", "tool", "function")
OPENAI_TOOL_ROLES = ("tool", "function")  # valid, with tool calls: not checked here
OPENAI_CALLS = ("tool_calls", "function_call")  # an assistant turn's calls: not checked here
# OpenAI cookbook, num_tokens_from_messages: about 3 tokens a message beyond its text (role
# markers), and 3 more that open the reply
OPENAI_TOKENS_PER_MESSAGE = 3
GEMINI_ROLES = ("user", "model")  # Google's prepare-data page: the two roles of ``contents``
SCORES = (0, 1)  # Google's preference page: 0 the dispreferred completion, 1 the preferred
# Part fields other than text and fileData (Google's Part type): valid, not checked here
GEMINI_OTHER_PARTS = ("inlineData", "functionCall", "functionResponse")
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
#
# A check returns findings, ``(field, problem, kind)``:
# - ``ERROR``: a rule the provider documents; the line is dropped.
# - ``OURS``: a stricter rule of ours (the provider takes the line, but it is likely a mistake);
#   a warning that keeps the line, or an error with ``strict=True``.
# - ``UNCHECKED``: what this module does not check (tool calls, images, function parts); a
#   warning that keeps the line.

ERROR, OURS, UNCHECKED = "error", "ours", "unchecked"
_PREFIX = {ERROR: "", OURS: "our rule: ", UNCHECKED: "not checked: "}


def _as(kind: str, problems: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    return [(at, problem, kind) for at, problem in problems]


def _clean(found: list[tuple[str, str, str]]) -> bool:
    """Nothing but our own rules broken: the turns can be put in order."""
    return all(kind == OURS for _, _, kind in found)


def _object(row, keys: tuple[str, ...], shape: str) -> list[tuple[str, str, str]]:
    if not isinstance(row, dict):
        return [("(row)", f"expected a JSON object, got {type(row).__name__}", ERROR)]
    missing = [k for k in keys if k not in row]
    if missing:
        return [("(row)", f"missing {missing}; a row is {shape}", ERROR)]
    return []


def _openai_turns(messages, where: str) -> list[tuple[str, str, str]]:
    """OpenAI's documented rules for each message of a list: a known role, text content,
    ``weight`` 0 or 1. Tool and function turns, tool calls and content parts (images) are valid
    for OpenAI and not checked here."""
    if not isinstance(messages, list) or not messages:
        return [(where, f"expected a non-empty list of messages, got {short(messages)}", ERROR)]
    found = []
    for k, message in enumerate(messages):
        at = f"{where}[{k}]"
        if not isinstance(message, dict):
            problem = f"expected an object with role and content, got {short(message)}"
            found.append((at, problem, ERROR))
            continue
        role = message.get("role")
        if "role" not in message:
            found.append((f"{at}.role", "missing", ERROR))
            continue
        if role not in OPENAI_ROLES:
            problem = f"unknown role {short(role)}; use one of {OPENAI_ROLES}"
            found.append((f"{at}.role", problem, ERROR))
            continue
        calls = [key for key in OPENAI_CALLS if message.get(key) is not None]
        content = message.get("content")
        if role in OPENAI_TOOL_ROLES:
            found.append((at, f"a {role!r} message", UNCHECKED))
        elif role == "assistant" and calls:
            found.append((f"{at}.{calls[0]}", "a tool call", UNCHECKED))
        elif isinstance(content, list):
            found.append((f"{at}.content", "a list of content parts (text, images)", UNCHECKED))
        elif "content" not in message:
            found.append((f"{at}.content", "missing", ERROR))
        elif not isinstance(content, str):
            problem = f"expected a string or a list of parts, got {type(content).__name__}"
            found.append((f"{at}.content", problem, ERROR))
        elif not content.strip():
            found.append((f"{at}.content", "empty", ERROR))
        if "weight" in message:
            found += _weight(message["weight"], role, f"{at}.weight")
    return found


def _weight(weight, role, at: str) -> list[tuple[str, str, str]]:
    if role != "assistant":  # the schema gives only assistant messages a weight
        return [(at, "only an assistant message has a weight", OURS)]
    if isinstance(weight, bool) or weight not in OPENAI_WEIGHTS:
        return [(at, f"expected 0 or 1, got {short(weight)}", ERROR)]
    if not isinstance(weight, int):  # 1.0 equals 1, but the schema's weight is an integer
        return [(at, f"expected the integer 0 or 1, got {weight!r}", OURS)]
    return []


def _order(found, messages, where: str, **rules) -> list[tuple[str, str, str]]:
    """Our turn-order rules (``check_messages``: the chat opens with a system message or the
    user, then user and assistant alternate, and it ends with ``last``), for a text chat that
    breaks none of the provider's rules; OpenAI documents no order."""
    return _as(OURS, check_messages(messages, where, **rules)) if _clean(found) else []


def _openai_chat_problems(row) -> list[tuple[str, str, str]]:
    found = _object(row, ("messages",), '{"messages": [...]}')
    if found:
        return found
    messages = row["messages"]
    found = _openai_turns(messages, "messages")
    replies = [m for m in messages if isinstance(m, dict) and m.get("role") == "assistant"]
    if isinstance(messages, list) and messages and not replies:  # the cookbook's checker
        found.append(("messages", "no assistant message: nothing to learn", ERROR))
    found += _order(found, messages, "messages")
    if _clean(found) and not any(m.get("weight", 1) for m in replies):
        found.append(("messages", "every assistant message has weight 0: nothing to learn", OURS))
    return found


def _openai_preference_problems(row) -> list[tuple[str, str, str]]:
    keys = ("input", "preferred_output", "non_preferred_output")
    shape = (
        '{"input": {"messages": [...]}, "preferred_output": [...], "non_preferred_output": [...]}'
    )
    found = _object(row, keys, shape)
    if found:
        return found
    prompt = row["input"]
    if not isinstance(prompt, dict) or "messages" not in prompt:
        found.append(("input", f'expected {{"messages": [...]}}, got {short(prompt)}', ERROR))
    else:
        turns = _openai_turns(prompt["messages"], "input.messages")
        found += turns + _order(turns, prompt["messages"], "input.messages", last="user")
    for key in keys[1:]:
        reply = _openai_turns(row[key], key)
        first = row[key][0] if isinstance(row[key], list) and row[key] else None
        if isinstance(first, dict) and first.get("role") in OPENAI_ROLES:
            if first["role"] != "assistant":  # DPO guide: the outputs are the last assistant turn
                reply.append(
                    (f"{key}[0].role", f"expected 'assistant', got {first['role']!r}", ERROR)
                )
        found += reply + _order(reply, row[key], key, first=("assistant",))
    if _clean(found) and row["preferred_output"] == row["non_preferred_output"]:
        found.append(
            ("non_preferred_output", "the same as preferred_output: nothing to learn", OURS)
        )
    return found


def _parts_problems(parts, where: str, text_only: bool = False) -> list[tuple[str, str, str]]:
    """Gemini ``parts``: a non-empty list of Part objects. ``text`` and ``fileData`` (a file in
    Cloud Storage) are checked, function calls and inline data are not; ``text_only`` (the
    preference format, which "doesn't support multi-modal data") refuses all but text."""
    if not isinstance(parts, list) or not parts:
        return [(where, f"expected a non-empty list of parts, got {short(parts)}", ERROR)]
    found = []
    for k, part in enumerate(parts):
        at = f"{where}[{k}]"
        other = [key for key in GEMINI_OTHER_PARTS if isinstance(part, dict) and key in part]
        if isinstance(part, dict) and "text" in part:
            if not isinstance(part["text"], str):
                found.append((f"{at}.text", f"expected a string, got {short(part['text'])}", ERROR))
            elif not part["text"].strip():
                found.append((f"{at}.text", "empty", ERROR))
        elif text_only and isinstance(part, dict) and ("fileData" in part or other):
            kind = "fileData" if "fileData" in part else other[0]
            found.append((f"{at}.{kind}", "this format takes text only", ERROR))
        elif isinstance(part, dict) and isinstance(part.get("fileData"), dict):
            data = part["fileData"]
            for key in ("mimeType", "fileUri"):
                if not isinstance(data.get(key), str) or not data[key]:
                    found.append((f"{at}.fileData.{key}", "expected a non-empty string", ERROR))
        elif other:
            found.append((f"{at}.{other[0]}", f"a {other[0]} part", UNCHECKED))
        else:
            wanted = "{'text': str}, {'fileData': ...} or another Part"
            found.append((at, f"expected {wanted}, got {short(part)}", ERROR))
    return found


def _turn_problems(turn, at: str, text_only: bool = False) -> list[tuple[str, str, str]]:
    if not isinstance(turn, dict):
        return [(at, f"expected an object with role and parts, got {short(turn)}", ERROR)]
    found = []
    if "role" not in turn:  # Google's Content type: "can be left blank" outside multi-turn chats
        found.append((f"{at}.role", "missing: the role tells the prompt from the reply", OURS))
    elif turn["role"] not in GEMINI_ROLES:
        found.append(
            (f"{at}.role", f"expected 'user' or 'model', got {short(turn['role'])}", ERROR)
        )
    return found + _parts_problems(turn.get("parts"), f"{at}.parts", text_only)


def _contents_problems(
    contents, last: str, last_kind: str, text_only: bool = False
) -> list[tuple[str, str, str]]:
    """Gemini ``contents``: each turn checked, then our order (the user opens, the two take
    turns; Google's pages do not spell out an order) and the last turn's role (``last``, a rule
    of kind ``last_kind``)."""
    if not isinstance(contents, list) or not contents:
        return [("contents", f"expected a non-empty list of turns, got {short(contents)}", ERROR)]
    found = []
    for k, turn in enumerate(contents):
        found += _turn_problems(turn, f"contents[{k}]", text_only)
    roles = [turn.get("role") if isinstance(turn, dict) else None for turn in contents]
    if _clean(found) and all(role in GEMINI_ROLES for role in roles):
        expected = "user"
        for k, role in enumerate(roles):
            if role != expected:
                problem = f"{role!r} out of turn: expected {expected!r}"
                found.append((f"contents[{k}].role", problem, OURS))
            expected = "model" if role == "user" else "user"
    if roles[-1] in GEMINI_ROLES and roles[-1] != last:
        found.append(
            ("contents", f"the last turn is {roles[-1]!r}; it must be {last!r}", last_kind)
        )
    return found


def _system_problems(row: dict, key: str, text_only: bool = False) -> list[tuple[str, str, str]]:
    if key not in row:
        return []
    system = row[key]
    if not isinstance(system, dict):
        return [(key, f"expected an object with parts, got {short(system)}", ERROR)]
    return _parts_problems(system.get("parts"), f"{key}.parts", text_only)


def _gemini_problems(row) -> list[tuple[str, str, str]]:
    found = _object(row, ("contents",), '{"contents": [...]}')
    if found:
        return found
    contents = _contents_problems(row["contents"], last="model", last_kind=OURS)
    return _system_problems(row, "systemInstruction") + contents


def _gemini_preference_problems(row) -> list[tuple[str, str, str]]:
    shape = '{"contents": [...], "completions": [{"score": 1, "completion": ...}, ...]}'
    found = _object(row, ("contents", "completions"), shape)
    if found:
        return found
    found = _system_problems(row, "system_instruction", text_only=True)
    # Google's preference page: the prompt ends with a user turn, text only
    found += _contents_problems(row["contents"], "user", ERROR, text_only=True)
    completions = row["completions"]
    if not isinstance(completions, list) or len(completions) != 2:
        return found + [("completions", f"expected a list of 2, got {short(completions)}", ERROR)]
    scores = []
    for k, item in enumerate(completions):
        at = f"completions[{k}]"
        if not isinstance(item, dict):
            found.append((at, f"expected {{'score', 'completion'}}, got {short(item)}", ERROR))
            continue
        value = item.get("score")
        if isinstance(value, bool) or value not in SCORES:
            found.append((f"{at}.score", f"expected 0 or 1, got {short(value)}", ERROR))
        else:
            scores.append(value)
        turn = item.get("completion")
        found += _turn_problems(turn, f"{at}.completion", text_only=True)
        if isinstance(turn, dict) and turn.get("role") == "user":
            found.append((f"{at}.completion.role", "a completion is the model's turn", ERROR))
    if len(scores) == 2 and sorted(scores) != [0, 1]:
        found.append(("completions", f"scores {scores}: one must be 1 and the other 0", ERROR))
    if _clean(found) and completions[0]["completion"] == completions[1]["completion"]:
        found.append(("completions[1]", "the same as completions[0]: nothing to learn", OURS))
    return found


_CHECKS = {
    ("openai", "sft"): _openai_chat_problems,
    ("openai", "preference"): _openai_preference_problems,
    ("gemini", "sft"): _gemini_problems,
    ("gemini", "preference"): _gemini_preference_problems,
}


# --------------------------------------------------------------------------- validators


@dataclass
class ProviderValidation(Validation):
    """A ``Validation`` with warnings: lines kept that break only a rule of ours, or hold what
    this module does not check (tool calls, images). ``ok`` looks at the errors only."""

    warnings: list[RowError] = field(default_factory=list)


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


def _messages(value) -> int:
    """How many messages (objects with a ``role``) a row holds, at any depth."""
    if isinstance(value, dict):
        return int("role" in value) + sum(_messages(item) for item in value.values())
    if isinstance(value, list):
        return sum(_messages(item) for item in value)
    return 0


def example_tokens(row: dict, encode: Callable[[str], list], per_message: int = 0) -> int:
    """Tokens in one row, in any of this module's formats: every text, plus ``per_message``
    for each message and once more for the reply's opening.

    ``encode`` is any tokenizer's text -> ids: ours (an estimate: it is not the provider's
    tokenizer), or the provider's own (``tiktoken.get_encoding("o200k_base").encode`` for
    OpenAI's GPT-4o and GPT-4.1 models). ``per_message=OPENAI_TOKENS_PER_MESSAGE`` adds the
    chat format's own tokens (role markers) as OpenAI's cookbook counts them; 0 counts the texts
    alone.
    """
    texts = sum(len(encode(text)) for text in _texts(row))
    return texts + per_message * (_messages(row) + 1) if per_message else texts


def _validate(provider, path, kind, encode, max_tokens, min_examples, strict) -> Validation:
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
    result = ProviderValidation(str(path), format=FORMATS[(provider, kind)])
    refused = (ERROR, OURS) if strict else (ERROR,)
    for line, row in read_rows(path):  # raises DataError for a missing or empty file
        result.total += 1
        if isinstance(row, RowError):
            result.errors.append(row)
            continue
        found, warned = [], []
        for at, problem, kind in check(row):
            error = RowError(line, at, _PREFIX[kind] + problem)
            (found if kind in refused else warned).append(error)
        if not found and encode is not None:
            n = example_tokens(row, encode)
            if n > max_tokens:
                found = [RowError(line, "(row)", f"{n} tokens, over the limit of {max_tokens}")]
        result.warnings += warned
        if found:
            result.errors += found
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
    strict: bool = False,
) -> ProviderValidation:
    """Check every line of an OpenAI fine-tuning file before it is uploaded.

    Args:
        path: a ``.jsonl`` file.
        kind: ``"sft"`` (chat rows) or ``"preference"`` (``input.messages`` and two replies).
            Errors, OpenAI's documented rules: a ``messages`` list of known roles (system,
            user, assistant, tool, function) with text content, at least one assistant
            message, ``weight`` 0 or 1; for preference rows, replies that open with the
            assistant. Warnings, the row kept: our rules (user and assistant alternate, a
            system message only first, a chat ends with a reply, a prompt with the user; not
            every weight 0; a weight only on an assistant message, and an integer; a pair's
            replies differ), and tool calls, tool turns and content parts, which are valid for
            OpenAI and not checked here.
        encode, max_tokens: with both, a row with more than ``max_tokens`` tokens
            (``example_tokens``) is an error. OpenAI does not refuse such a row: it truncates
            it from the end, which cuts the reply it should learn; refusing it is our rule.
            The limit is the model's (65,536 tokens for the supervised models, its guide).
        min_examples: fewer good rows is a file error (line 0); OpenAI's SFT guide asks for
            10. None: no minimum.
        strict: our rules are errors too (the row is dropped), not warnings.

    Returns:
        A ``ProviderValidation``: ``rows`` holds every good row, in file order, ``errors``
        every problem with its line (0 for the file) and field, ``warnings`` what the kept
        rows break of our rules or hold that is not checked.

    Raises:
        DataError: the file as a whole (missing, not ``.jsonl``, no rows), naming it.
        ValueError: an unknown kind, only one of encode and max_tokens, or a limit that is not
            a positive int.
    """
    return _validate("openai", path, kind, encode, max_tokens, min_examples, strict)


def validate_gemini(
    path,
    kind: str = "sft",
    encode: Callable[[str], list] | None = None,
    max_tokens: int | None = None,
    min_examples: int | None = None,
    strict: bool = False,
) -> ProviderValidation:
    """Check every line of a Gemini tuning file (Google Agent Platform) before it is uploaded.

    Args:
        path: a ``.jsonl`` file.
        kind: ``"sft"`` or ``"preference"``. Errors, Google's documented rules: ``contents``,
            a list of turns with role ``user`` or ``model`` and a non-empty list of ``parts``
            (``text``, non-empty; ``fileData`` with ``mimeType`` and ``fileUri``); an
            optional ``systemInstruction`` with parts; for preference rows, text only,
            ``contents`` ending with the user, and ``completions``: two model turns scored 1
            and 0. Warnings, the row kept: our rules (the user opens and the two take turns; a
            supervised row ends with the model; a turn has a role; two different
            completions), and function-call and inline-data parts, not checked here.
        encode, max_tokens: as in ``validate_openai``; here the limit is Google's (a maximum
            of input and output tokens per training example: see your model's row on
            Google's supervised-tuning page).
        min_examples: a minimum number of good rows, or None (Google recommends starting with
            100 examples and states no minimum on the pages we read).
        strict: our rules are errors too.

    Returns and Raises: as ``validate_openai``.
    """
    return _validate("gemini", path, kind, encode, max_tokens, min_examples, strict)


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
    per_message: int = 0,
) -> JobCost:
    """What a token-billed training job costs: tokens in the file x epochs x price.

    OpenAI bills supervised and DPO jobs by training tokens (its pricing page; the job reports
    the real count as ``trained_tokens`` when it ends); the count here uses ``encode``, so it is
    as close as that tokenizer is to the provider's. ``per_message`` adds the chat format's own
    tokens (``example_tokens``); ``OPENAI_TOKENS_PER_MESSAGE`` for OpenAI, whose short chats
    are otherwise undercounted.

    Raises:
        ValueError: ``epochs`` not a positive int, a negative or non-numeric price, or a
            ``per_message`` that is not an int >= 0.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"estimate_cost: epochs must be a positive int, got {epochs!r}")
    if isinstance(price_per_million, bool) or not isinstance(price_per_million, int | float):
        raise ValueError(
            f"estimate_cost: price_per_million must be a number, got {price_per_million!r}"
        )
    if price_per_million < 0:
        raise ValueError(f"estimate_cost: price_per_million must be >= 0, got {price_per_million}")
    if not isinstance(per_message, int) or isinstance(per_message, bool) or per_message < 0:
        raise ValueError(f"estimate_cost: per_message must be an int >= 0, got {per_message!r}")
    rows = list(rows)
    tokens = sum(example_tokens(row, encode, per_message) for row in rows)
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
    format_rate, exact_match = reply_rates(replies, [row["answer"] for row in rows])
    return HeldOutScores(format=format_rate, exact_match=exact_match, n=len(rows))


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
