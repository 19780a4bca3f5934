"""Structured output: requests in plain words, answers as JSON that a program can read.

A model whose reply feeds a program must answer in a format the program parses, with the fields
and types it expects. This module holds the guide's structured-output task and its scores:

- ``ORDER_SCHEMA``: a food order as JSON Schema (draft 2020-12): two enums, an integer with
  bounds, a bounded string, a boolean, one optional field, no other keys.
- ``order_task(n_train, n_test, seed)``: requests such as "Two large pizzas for Ada, delivered."
  with the order as the assistant's reply (``json.dumps`` of the object, keys in schema order).
  The test requests are phrased in templates no training row uses, and no test order equals a
  training order; a third split, phrased like the test set, has customers no training row
  names, so only a model that copies a new name gets it right.
- ``SYSTEM`` and ``schema_prompt(schema)``: the short system message the tiny model is trained
  and tested with, and one that states the schema, for a real model's context.
- ``check_schema(schema)``: a schema that is not valid JSON Schema raises, naming the keyword.
- ``structured_scores(replies, rows, schema)``: parse rate (the whole reply is JSON), schema
  validity (it validates), field match (each field equal to the reference's, a missing optional
  field matching a missing one) and exact match (valid, and every field right).
- ``constrained_replies(model, tokenizer, chats, grammar)``: greedy generation under a compiled
  xgrammar grammar (constrained decoding): every reply is a prefix of a schema-valid document,
  complete when ``max_new_tokens`` leaves room to finish it.
- ``forced_share(grammar, replies)``: the share of each reply's characters the grammar left no
  choice about, the part of the output a constraint writes for the model.

References:
    JSON Schema draft 2020-12, core and validation: https://json-schema.org/draft/2020-12.
    Constrained decoding with a grammar's token masks: Dong et al. 2024, "XGrammar",
        arXiv:2411.15100; Willard and Louf 2023, "Efficient Guided Generation for LLMs",
        arXiv:2307.09702 (outlines). Simplifies: xgrammar's ``contrib/hf.py`` usage example.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from ftkit.chat import short
from ftkit.evaluate import generate_replies

ITEMS = ("pizza", "pasta", "salad", "soup", "burger", "curry")
SIZES = ("small", "medium", "large")
MAX_QUANTITY = 9  # one digit: "nine" is the largest number word the requests use
MAX_NAME = 12  # characters; a bound lets a constraint end a name the model will not end

ORDER_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "A food order",
    "type": "object",
    "properties": {
        "item": {"enum": list(ITEMS)},
        "size": {"enum": list(SIZES)},  # optional: absent when the request names none
        "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
        "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME},
        "delivery": {"type": "boolean"},
    },
    "required": ["item", "quantity", "name", "delivery"],
    "additionalProperties": False,
}
SYSTEM = "Reply with the order as JSON."  # short: the tiny model's context is 256 positions


def schema_prompt(schema: dict = ORDER_SCHEMA) -> str:
    """A system message that states the schema: what a prompted model needs to see to write the
    fields, names and values the schema wants (a fine-tuned one learned them from examples)."""
    return "Reply with one JSON object, nothing else, valid against this JSON Schema: " + (
        json.dumps(schema)
    )


# Customers' names: two syllables, consonant and vowel each ("Kato", "Mire"), 4,225 possible.
# Training rows use NAMES, the held-out phrasings too; ``new_names`` rows use NEW_NAMES only.
_CONSONANTS, _VOWELS = "bdfgklmnprstv", "aeiou"
_SYLLABLES = [c + v for c in _CONSONANTS for v in _VOWELS]
_ALL_NAMES = sorted({(a + b).capitalize() for a in _SYLLABLES for b in _SYLLABLES})
random.Random(0).shuffle(_ALL_NAMES)  # seeded: the same split everywhere
NAMES, NEW_NAMES = tuple(_ALL_NAMES[:16]), tuple(_ALL_NAMES[16:32])
NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PLURALS = {"pizza": "pizzas", "pasta": "pastas", "salad": "salads", "soup": "soups",
           "burger": "burgers", "curry": "curries"}  # fmt: skip
DELIVERED = ("delivered", "for delivery", "to the door")
COLLECTED = ("for pickup", "to collect", "to take away")
# {What}/{what}: "two large pizzas"; {how}: a delivery phrase. The test and new-name splits are
# phrased only in the held-out templates.
TEMPLATES = (
    "{What} for {name}, {how}.",
    "{name} wants {what}, {how}.",
    "{name} orders {what}, {how}.",
    "{What}, {how}, for {name}.",
)
HELD_OUT_TEMPLATES = (
    "For {name}: {what}, {how}.",
    "{name} would like {what}, {how}.",
)


def _order(rng: random.Random, names: tuple, templates: tuple) -> tuple[str, dict]:
    """One request and its order; the size is left out of both a quarter of the time."""
    order = {"item": rng.choice(ITEMS)}
    if rng.random() < 0.75:
        order["size"] = rng.choice(SIZES)
    order["quantity"] = rng.randint(1, MAX_QUANTITY)
    order["name"] = rng.choice(names)
    order["delivery"] = rng.random() < 0.5
    count = rng.choice([NUMBER_WORDS[order["quantity"] - 1], str(order["quantity"])])
    noun = order["item"] if order["quantity"] == 1 else PLURALS[order["item"]]
    what = " ".join([count, *([order["size"]] if "size" in order else []), noun])
    how = rng.choice(DELIVERED if order["delivery"] else COLLECTED)
    text = rng.choice(templates).format(
        What=what.capitalize(), what=what, name=order["name"], how=how
    )
    return text, order


def order_task(
    n_train: int = 600,
    n_test: int = 48,
    n_new_names: int = 48,
    seed: int = 0,
    system: str = SYSTEM,
):
    """The structured-output task: a food order in words, the same order as JSON.

    Each row is a chat in the ``messages`` shape (system, user, assistant) plus its ``order``,
    the reference object; the assistant's reply is ``json.dumps(order)``, keys in schema order,
    the format a constraint with ``any_whitespace=False`` writes too. ``system`` is every row's
    system message (``schema_prompt()`` states the schema, for a model with a long context).

    Returns:
        ``(train, test, new_names)``, lists of ``{"messages": [...], "order": {...}}``:

        - ``train``: ``TEMPLATES`` phrasings, customers from ``NAMES``;
        - ``test``: the same customers, phrased only in ``HELD_OUT_TEMPLATES``, so no test
          request appears in training; an order equal to a training order is drawn again, so
          no test answer appears in training either;
        - ``new_names``: phrased like ``test``, customers from ``NEW_NAMES``, never in training:
          it differs from ``test`` only in the names.

        The same seed gives the same rows.

    Raises:
        ValueError: a negative size, or a system message that is not a non-empty string.
    """
    if min(n_train, n_test, n_new_names) < 0:
        raise ValueError(
            f"order_task: sizes must be >= 0, got n_train={n_train}, n_test={n_test}, "
            f"n_new_names={n_new_names}"
        )
    if not isinstance(system, str) or not system.strip():
        raise ValueError(f"order_task: system must be a non-empty string, got {short(system)}")
    rng = random.Random(seed)
    seen: set[str] = set()  # the training answers

    def rows(n: int, names: tuple, templates: tuple) -> list[dict]:
        out = []
        while len(out) < n:
            text, order = _order(rng, names, templates)
            reply = json.dumps(order)
            if templates is HELD_OUT_TEMPLATES and reply in seen:
                continue  # a held-out answer must not be a training answer
            if templates is TEMPLATES:
                seen.add(reply)
            chat = [
                {"role": "system", "content": system},
                {"role": "user", "content": text},
                {"role": "assistant", "content": reply},
            ]
            out.append({"messages": chat, "order": order})
        return out

    return (
        rows(n_train, NAMES, TEMPLATES),
        rows(n_test, NAMES, HELD_OUT_TEMPLATES),
        rows(n_new_names, NEW_NAMES, HELD_OUT_TEMPLATES),
    )


# --------------------------------------------------------------------------- checking schemas


def _path(parts) -> str:
    """A JSON Schema error's location as dotted fields: ``properties.size.enum``."""
    return ".".join(str(p) for p in parts)


def check_schema(schema) -> dict:
    """Return ``schema`` if it is valid JSON Schema (draft 2020-12), else raise naming where.

    A schema is itself a JSON document with rules (the metaschema): ``"enum"`` must be an array,
    ``"type"`` one of seven names, ``"required"`` an array of strings. A constraint compiled
    from a broken schema, or a validator that silently accepts everything, hides the mistake.

    Raises:
        ValueError: not a JSON object, or the first metaschema violation, as
            ``schema.properties.size.enum: 'small' is not of type 'array'``.
    """
    from jsonschema import Draft202012Validator, SchemaError

    if not isinstance(schema, dict):
        raise ValueError(f"schema: expected a JSON object, got {short(schema)}")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        where = _path(["schema", *error.absolute_path])
        raise ValueError(f"{where}: {error.message}") from None
    return schema


def _problems(value, schema: dict) -> list[tuple[str, str]]:
    """Every way ``value`` breaks ``schema``, as ``(dotted path, message)``; path ``""``: the
    value as a whole (a missing required field, an extra key)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    return [(_path(e.absolute_path), e.message) for e in errors]


def schema_errors(value, schema: dict) -> list[str]:
    """Every way ``value`` breaks ``schema``, as ``field: problem`` lines (``[]`` if valid); a
    problem with the object as a whole (a missing or extra key) reads ``(object): problem``."""
    return [f"{path or '(object)'}: {message}" for path, message in _problems(value, schema)]


# --------------------------------------------------------------------------- scores


def parse_json(reply: str) -> tuple[bool, object]:
    """``(True, value)`` when the whole reply is JSON (``json.loads`` reads it), else
    ``(False, None)``. Strict on purpose: it is what a program that calls ``json.loads`` on the
    reply sees, so a reply in a Markdown code fence, or with a sentence around it, is not JSON."""
    try:
        return True, json.loads(reply)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; deep nesting
        return False, None


def same_value(a, b) -> bool:
    """Equal as JSON values: in Python ``True == 1``, in JSON a boolean is not a number; numbers
    compare by value, as JSON Schema does (``2.0`` is the integer 2, validation section 6.1.1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


@dataclass
class StructuredScores:
    """Held-out scores of structured replies, each a share of rows (``fields``: of fields)."""

    parsed: float
    valid: float
    fields: float
    exact: float
    per_field: dict[str, float] = field(default_factory=dict)
    replies: list[str] = field(default_factory=list, repr=False)

    def __str__(self) -> str:
        return (
            f"parsed {self.parsed:.0%}, valid {self.valid:.0%}, fields {self.fields:.0%}, "
            f"exact {self.exact:.0%} on {len(self.replies)}"
        )


_MISSING = object()  # a field the object does not have


def structured_scores(replies, rows, schema: dict = ORDER_SCHEMA) -> StructuredScores:
    """Score replies against the rows' reference objects.

    - ``parsed``: the whole reply is JSON (``json.loads`` reads it; see ``parse_json``).
    - ``valid``: it validates against ``schema`` (draft 2020-12).
    - ``fields``: over every (row, field of ``schema["properties"]``), the reply's value equals
      the reference's (``same_value``); a field absent from both counts as a match. A reply that
      does not parse matches nothing. ``per_field`` breaks it down by field.
    - ``exact``: valid, and every field matches: the order a program that validates would run.

    Raises:
        ValueError: an invalid schema (``check_schema``); replies and rows of different
            lengths, or none; a reply that is not text (``replies[2]: expected text``); a row
            without an ``order`` object, or whose ``order`` breaks the schema, named as
            ``rows[3].order.size: ...``.
    """
    check_schema(schema)
    replies, rows = list(replies), list(rows)
    if not rows or len(replies) != len(rows):
        raise ValueError(
            f"structured_scores: {len(replies)} replies for {len(rows)} rows; "
            "give one reply per row, at least one"
        )
    for i, reply in enumerate(replies):
        if not isinstance(reply, (str, bytes)):
            raise ValueError(f"replies[{i}]: expected text, got {short(reply)}")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("order"), dict):
            got = short(row.get("order")) if isinstance(row, dict) else short(row)
            raise ValueError(f"rows[{i}].order: expected the reference object, got {got}")
        problems = _problems(row["order"], schema)
        if problems:
            path, message = problems[0]
            raise ValueError(f"rows[{i}].order{'.' + path if path else ''}: {message}")
    names = list(schema.get("properties", {}))
    hits = dict.fromkeys(names, 0)
    parsed = valid = exact = 0
    for reply, row in zip(replies, rows, strict=True):
        ok, value = parse_json(reply)
        if not ok:
            continue
        parsed += 1
        valid_here = not _problems(value, schema)
        valid += valid_here
        if not isinstance(value, dict):
            continue
        matches = [same_value(value.get(n, _MISSING), row["order"].get(n, _MISSING)) for n in names]
        for n, match in zip(names, matches, strict=True):
            hits[n] += match
        exact += valid_here and all(matches)
    n = len(rows)
    per_field = {name: hits[name] / n for name in names}
    fields = sum(hits.values()) / (n * len(names)) if names else 0.0
    return StructuredScores(parsed / n, valid / n, fields, exact / n, per_field, replies)


# --------------------------------------------------------------------------- constrained decoding


# The page shows this section, and code on the site fits 79 characters.
# fmt: off
# --8<-- [start:constrained] docs/structured-output/index.md
def constrained_replies(
    model, tokenizer, chats, grammar, max_new_tokens: int = 128
) -> list[str]:
    """Greedy replies to chats, each token masked by a compiled xgrammar
    grammar: a token that would break the grammar gets probability zero,
    and the end of the reply is allowed only once the text is complete.

    Each reply is a prefix of a text the grammar accepts; it is complete
    only if the model closes it within ``max_new_tokens``. Give a budget
    well above the longest reference in the model's own tokens: under a
    constraint a model may spell the forced parts in short tokens. The
    generation is ``ftkit.evaluate.generate_replies`` (same checks, same
    batches) with xgrammar's processor, made afresh for each batch since it
    keeps one grammar state per row.
    """
    import xgrammar as xgr

    return generate_replies(
        model,
        tokenizer,
        chats,
        max_new_tokens,
        logits_processors=lambda: [xgr.contrib.hf.LogitsProcessor(grammar)],
    )


# --8<-- [end:constrained]
# fmt: on


def forced_share(grammar, replies) -> float:
    """The share of the replies' characters that ``grammar`` forced: at each point, the
    longest string every continuation must start with (xgrammar's jump-forward string) is
    counted as forced; the other characters were the model's choice.

    A reply the grammar rejects stops counting where it goes wrong (its remaining characters
    count as chosen), so the share is a lower bound for replies that did not follow the grammar.
    """
    import xgrammar as xgr

    forced = total = 0
    for reply in replies:
        matcher = xgr.GrammarMatcher(grammar)
        total += len(reply)
        at = 0
        while at < len(reply):
            jump = matcher.find_jump_forward_string()
            if jump and reply.startswith(jump, at):
                forced += len(jump)
                at += len(jump)
                matcher.accept_string(jump)
            elif matcher.accept_string(reply[at]):
                at += 1
            else:
                break  # the reply left the grammar here
    if not total:
        raise ValueError("forced_share: no characters in the replies")
    return forced / total
