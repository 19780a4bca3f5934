"""The numerical contract: how a block's printed output is compared with the output its page shows.

On one machine, a page's code prints the same digits every time. Across machines it does not:
two CPUs round the same float sum differently in the last bit (their vector widths, fused
multiply-adds and matrix kernels differ), and a training run amplifies those bits, step by step,
into the digits a page prints. So the doc tests compare what a block prints with what its page
shows like this:

- Text, and integers (counts, shapes, sizes, token ids, steps), compare exactly.
- A decimal number (``3.234``, ``1.2e-04``) or a percentage (``96%``) may differ by one unit of
  its last shown digit: a value that sits on a rounding boundary can round either way.
- Where training widens the spread, the page says so above the output,
  ``<!-- tolerance: ±3%, ±0.02, ±4 points -->`` (relative and absolute for decimals, points for
  percentages, any of the three), and the site shows the reader that note beside the output.
  Each tolerance is measured: ``python -m tools.hosts spread`` runs the pages under stand-ins
  for other CPUs and reports how far each number moved.

The harness pins what can be pinned: one thread per process (``pin_threads``), seeds in the code.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from dataclasses import dataclass

# A number as a page prints it: optional sign, digits (with thousands commas), decimals, exponent,
# and an optional percent sign. Not part of a word or a dotted version ("Llama-3.2-1B", "2.13.0",
# "fp16" and "0.5s" are text and compare exactly).
NUMBER_RE = re.compile(
    r"(?<![\w.\-])(?P<number>-?(?:\d{1,3}(?:,\d{3})+|\d+)(?P<decimals>\.\d+)?"
    r"(?P<exponent>[eE][-+]?\d+)?)(?P<percent>%)?(?![\w]|\.\d)"
)
# One item of a tolerance marker: "±0.02" (absolute), "±3%" (relative), "±4 points" (percentages)
TOLERANCE_ITEM_RE = re.compile(r"^±?\s*(?P<value>\d+(?:\.\d+)?(?:e-?\d+)?)\s*(?P<unit>%|points?)?$")
SPACES_RE = re.compile(r"[ \t]+")


class ToleranceError(ValueError):
    """A tolerance marker that does not say what it allows."""


@dataclass(frozen=True)
class Tolerance:
    """How far a block's printed numbers may move from the page's, beyond the last digit."""

    absolute: float = 0.0  # for decimals
    relative: float = 0.0  # for decimals, a fraction of the shown value
    points: float = 0.0  # for percentages

    @classmethod
    def parse(cls, spec: str) -> Tolerance:
        """``"±3%, ±0.02, ±4 points"`` -> Tolerance(0.02, 0.03, 4). Raises ToleranceError."""
        values: dict[str, float] = {}
        items = [item.strip() for item in spec.split(",")]
        if not any(items):
            raise ToleranceError("the tolerance marker gives no value, e.g. ±3% or ±0.02")
        for item in items:
            m = TOLERANCE_ITEM_RE.match(item)
            if not m:
                raise ToleranceError(
                    f"tolerance item {item!r} is not ±X (decimals), ±X% (decimals, relative) "
                    "or ±X points (percentages)"
                )
            unit = m["unit"] or ""
            field = {"%": "relative", "": "absolute"}.get(unit, "points")
            if field in values:
                raise ToleranceError(f"tolerance item {item!r} repeats the {field} tolerance")
            value = float(m["value"])
            values[field] = value / 100 if field == "relative" else value
        return cls(**values)

    def describe(self) -> str:
        """The tolerance in words, for the note the reader sees beside the output."""
        decimals = [f"±{self.relative * 100:g}%"] if self.relative else []
        decimals += [f"±{self.absolute:g}"] if self.absolute else []
        parts = []
        if decimals:
            larger = ", whichever is larger" if len(decimals) == 2 else ""
            parts.append(f"decimals by up to {' or '.join(decimals)}{larger}")
        if self.points:
            parts.append(f"percentages by up to ±{self.points:g} points")
        return "; ".join(parts)


# The section of "How this guide works" that explains the contract, linked from every note.
CONTRACT_PAGE, CONTRACT_ANCHOR = "how-this-guide-works.md", "numbers-that-vary-between-machines"


def tolerance_note(tolerance: Tolerance, page: str) -> str:
    """The Markdown line a reader sees beside an output with a tolerance marker, on the site and
    in the notebooks; ``page`` (relative to docs/) makes the link relative to it."""
    link = posixpath.relpath(CONTRACT_PAGE, posixpath.dirname(page) or ".")
    return (
        f"*On another machine the numbers below come out slightly different: "
        f"{tolerance.describe()} ([why]({link}#{CONTRACT_ANCHOR})).*"
    )


@dataclass(frozen=True)
class Number:
    text: str
    value: float
    kind: str  # "integer", "decimal" or "percent"
    unit: float  # one unit of the last shown digit
    line: int  # 0-based line of the output it is on


def _number(m: re.Match, line: int) -> Number:
    text = m.group(0)
    digits = m["number"].replace(",", "")
    exponent = int(m["exponent"][1:]) if m["exponent"] else 0
    decimals = len(m["decimals"]) - 1 if m["decimals"] else 0
    if m["percent"]:
        kind = "percent"
    elif m["decimals"] or m["exponent"]:
        kind = "decimal"
    else:
        kind = "integer"
    return Number(text, float(digits), kind, 10.0 ** (exponent - decimals), line)


def tokens(text: str) -> tuple[list[str], list[Number]]:
    """Split output into the text around its numbers (runs of spaces collapsed) and the numbers.

    ``len(texts) == len(numbers) + 1``: the text before each number, then the text after the last.
    """
    texts, numbers, start = [], [], 0
    for m in NUMBER_RE.finditer(text):
        texts.append(SPACES_RE.sub(" ", text[start : m.start()]))
        numbers.append(_number(m, text.count("\n", 0, m.start())))
        start = m.end()
    texts.append(SPACES_RE.sub(" ", text[start:]))
    return texts, numbers


def allowed(shown: Number, tolerance: Tolerance | None) -> float:
    """How far a printed number may be from ``shown``: 0 for integers."""
    if shown.kind == "integer":
        return 0.0
    base = shown.unit
    if tolerance is None:
        return base
    if shown.kind == "percent":
        return max(base, tolerance.points)
    return max(base, tolerance.absolute, tolerance.relative * abs(shown.value))


def normalise_output(text: str) -> str:
    """Printed text as the doc tests compare it with a page's output (and the notebook tests
    with a cell's): no blank lines at either end, no trailing spaces."""
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n"))


def mismatches(
    shown: str, printed: str, tolerance: Tolerance | None, where: str, first_line: int
) -> list[str]:
    """Where ``printed`` breaks the contract with ``shown``; [] when it keeps it.

    Args:
        shown: the output the page shows; printed: what the block printed.
        tolerance: the output's tolerance marker, if it has one.
        where: the page, e.g. ``"docs/sft/reasoning.md"``; first_line: the page line of the
            output's first line, so that each problem names the line it is on.

    Returns:
        One message per number out of its tolerance (the line, the shown and printed value, how
        far apart and what is allowed), or one message with a diff when the text differs.
    """
    shown, printed = normalise_output(shown), normalise_output(printed)
    shown_texts, shown_numbers = tokens(shown)
    printed_texts, printed_numbers = tokens(printed)
    if shown_texts != printed_texts or [n.kind for n in shown_numbers] != [
        n.kind for n in printed_numbers
    ]:
        diff = "\n".join(
            difflib.unified_diff(
                shown.split("\n"),
                printed.split("\n"),
                "shown on the page",
                "printed by the block",
                lineterm="",
            )
        )
        return [f"{where}:{first_line}: the printed text differs from the page's\n{diff}"]
    problems = []
    for want, got in zip(shown_numbers, printed_numbers, strict=True):
        limit = allowed(want, tolerance)
        off = abs(got.value - want.value)
        if off > limit * (1 + 1e-9):
            if want.kind == "integer":
                rule = "integers must match exactly"
            elif tolerance is None:
                rule = f"allowed {limit:g}: one unit of the last shown digit"
            else:
                rule = f"allowed {limit:g}: this output's tolerance is {tolerance.describe()}"
            problems.append(
                f"{where}:{first_line + want.line}: shown {want.text}, printed {got.text}, "
                f"off by {off:.3g}; {rule}"
            )
    return problems


def pin_threads() -> None:
    """One thread per process for torch: the numbers a page prints then do not depend on how
    many cores the machine has (the test runs use the cores as parallel processes instead).
    Environment variables that stand in for other hosts (``ATEN_CPU_CAPABILITY``,
    ``MKL_ENABLE_INSTRUCTIONS``, ``OMP_NUM_THREADS`` ...) are left as they are.

    ``torch.use_deterministic_algorithms`` is not set: on the CPU it changes no number here and
    made the reasoning chapter's SFT runs several times slower when it was tried.

    ``tools.pages.PageRun`` fails a block that changes the thread count, so one page cannot
    change the threads (the digits, and the speed) of the pages after it in the same process."""
    import torch

    torch.set_num_threads(1)
