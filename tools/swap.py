"""The knob swap: run a chapter's blocks with each knob set to a stand-in for its Colab value.

The guide promises that moving to a real model means editing the knob lines and nothing else.
This checks it without a hub or a GPU: every knob line whose Colab value is a hub id with a
stand-in (``ftkit.standins``: a tiny model with that model's tokenizer and chat format), or an
expression of one (``sentiment_classifier("google-bert/bert-base-uncased")``), is rewritten to
load the stand-in, exactly as a reader would edit it, and the page's blocks run top to bottom.
Outputs are not compared (a random model prints other numbers); a block that raises fails,
naming its page and line. Knobs that are not swapped are listed with the reason, and a
page with nothing to swap is not run again.

The swap checks that the code runs, not what it learns, so it also shortens training: every
top-level ``...STEPS = n`` and ``...BATCH... = n`` constant and every ``max_steps=n`` becomes 2,
``logging_steps`` and ``eval_steps`` 1, and a top-level count knob ``N_... = n  # Colab GPU:``
(the questions a teacher answers, the held-out rows) 16 (``SHORTEN``). A 128,256-token
vocabulary makes each step of the stand-in about as costly as a hundred of the tiny model's.

    python -m tools.swap                      # every chapter
    python -m tools.swap docs/peft/lora.md    # one page

``make test-swap`` runs it through pytest (``tests/test_swap.py``), one page per test.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

from tools.notebooks import knob_lines
from tools.pages import Block, PageRun, page_name, runnable_blocks

IMPORT = "from ftkit.standins import standin  # the knob swap (tools/swap.py)"


@dataclasses.dataclass(frozen=True)
class Kept:
    """A knob the swap leaves at its tiny value, and why."""

    name: str
    colab: str
    reason: str


HUB_ID_RE = re.compile(r"""^\s*(["'])(?P<id>[\w.-]+/[\w.-]+)\1""")


def _hub_id(colab: str) -> str | None:
    """The hub id a Colab value starts with, when it starts with a quoted ``org/name``, or else
    the first quoted ``org/name`` inside a Colab value that is an expression, such as
    ``sentiment_classifier("google-bert/bert-base-uncased")``."""
    m = HUB_ID_RE.match(colab)
    if m:
        return m["id"]
    ids = [node.value for node in _quoted_ids(colab)]
    return ids[0] if ids else None


def _quoted_ids(colab: str) -> list[ast.Constant]:
    """The string constants of a Colab value that parses as an expression and that look like
    hub ids (none when it does not parse)."""
    try:
        tree = ast.parse(colab.strip(), mode="eval")
    except SyntaxError:
        return []
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and HUB_ID_RE.match(repr(node.value))
    ]


def _swapped_value(colab: str) -> str | None:
    """What a reader writes for a knob with this Colab value, each hub id that has a stand-in
    loaded from its stand-in: ``standin(id)`` for a value that starts with a quoted id (the rest
    may be advice, "or your own model"); the expression with ``standin(id)`` in place of the id
    for one that only contains it; ``None`` when no id with a stand-in is in it."""
    from ftkit.standins import HUB_IDS

    hub = HUB_ID_RE.match(colab)
    if hub:
        return f"standin({hub['id']!r})" if hub["id"] in HUB_IDS else None
    text = colab.strip()
    found = [node for node in _quoted_ids(colab) if node.value in HUB_IDS]
    if not found:
        return None
    raw = text.encode()  # a Colab value is one line; ast's columns count UTF-8 bytes
    for node in sorted(found, key=lambda node: node.col_offset, reverse=True):
        call = f"standin({node.value!r})".encode()
        raw = raw[: node.col_offset] + call + raw[node.end_col_offset :]
    return raw.decode()


def _why_kept(colab: str, hub: str | None) -> str:
    from ftkit.standins import REAL_HERE

    if hub in REAL_HERE:
        return f"the page runs the real model already: {REAL_HERE[hub]}"
    if hub is not None:
        return f"no stand-in for {hub} yet"
    try:
        node = ast.parse(colab.strip(), mode="eval").body
    except SyntaxError:
        return "its Colab value is advice, not a value"
    try:  # a literal, negative numbers included (-1e-4 parses as a unary minus)
        value = ast.literal_eval(node)
    except ValueError:
        value = None
    if isinstance(value, int | float):
        return "a number for a real run; the tiny value suits the stand-in"
    return "a setting for a GPU runtime; the swap runs on the CPU"


# Training lengths the swap cuts to 2 steps, logging and evaluating every step so that the code
# reading the logs has lines to read: (pattern, replacement), applied line by line.
SHORTEN = (
    (re.compile(r"^(?P<name>[A-Z_]*STEPS) = \d[\d_]*"), r"\g<name> = 2"),
    # and a top-level batch constant to 2 rows: a stand-in with a 152,000-token vocabulary and
    # 729-token pictures holds gigabytes of logits per row
    (re.compile(r"^(?P<name>[A-Z_]*BATCH[A-Z_]*) = \d[\d_]*"), r"\g<name> = 2"),
    # and a top-level count knob, the rows a page generates or scores (N_NEW = 1200  # Colab
    # GPU: ...), to 16: each row is a generation over the stand-in's vocabulary, 48 tokens long
    (re.compile(r"^(?P<name>N_[A-Z_]+) = \d[\d_]*(?=\s+# Colab GPU:)"), r"\g<name> = 16"),
    (re.compile(r"\bmax_steps=\d[\d_]*"), "max_steps=2"),
    (re.compile(r"\b(?P<name>logging_steps|eval_steps)=\d[\d_]*"), r"\g<name>=1"),
)


def swap_code(code: str) -> tuple[str, list[Kept], bool]:
    """``code`` with every knob that has a stand-in set to it; the knobs kept as they are; and
    whether any knob was swapped."""
    lines = code.split("\n")
    kept, swapped = [], False
    for i, knob in knob_lines(code).items():
        value = _swapped_value(knob.colab)
        if value is not None:
            lines[i] = f"{knob.name} = {value}"
            swapped = True
        else:
            kept.append(Kept(knob.name, knob.colab, _why_kept(knob.colab, _hub_id(knob.colab))))
    return ("\n".join([IMPORT, *lines]) if swapped else code), kept, swapped


def shorten(code: str) -> str:
    """``code`` with its training lengths cut to 2 steps (``SHORTEN``)."""
    lines = code.split("\n")
    for pattern, replacement in SHORTEN:
        lines = [pattern.sub(replacement, line) for line in lines]
    return "\n".join(lines)


def swapped_blocks(page: Path) -> tuple[list[Block], list[Kept], bool]:
    """The page's runnable blocks after the swap, shortened (GPU-only ones left out), the kept
    knobs, and whether the page has a knob to swap at all."""
    blocks, kept, any_swapped = [], [], False
    for block in runnable_blocks(page):
        if block.gpu_only or block.framework:  # needs CUDA, or a framework's own run
            continue
        code, also, swapped = swap_code(block.code)
        any_swapped |= swapped
        kept += [k for k in also if k not in kept]
        blocks.append(dataclasses.replace(block, code=shorten(code)))
    return blocks, kept, any_swapped


def run_page(page: Path) -> tuple[list[str] | None, list[Kept]]:
    """Run a page's swapped blocks in a fresh folder: the first failure (page, line and
    traceback), or none, and the kept knobs. A failure stops the page: the blocks after it
    would fail for its reason. ``None`` instead of the failures: nothing to swap, not run."""
    blocks, kept, swapped = swapped_blocks(page)
    if not swapped:
        return None, kept
    with tempfile.TemporaryDirectory() as folder:
        run = PageRun(Path(folder))
        for block in blocks:
            try:
                run.run(block)
            except Exception:  # noqa: BLE001 - every failure is reported, with its traceback
                tail = traceback.format_exc(limit=-4)
                return [f"{block.where}: the block raises with the knobs swapped:\n{tail}"], kept
    return [], kept


def main(argv: list[str] | None = None) -> int:
    from tools.chapters import chapters

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pages", nargs="*", type=Path, help="docs/*.md (default: every chapter)")
    args = parser.parse_args(argv)
    failed = 0
    for page in args.pages or chapters():
        start = time.perf_counter()
        problems, kept = run_page(page.resolve())
        took = time.perf_counter() - start
        state = "nothing to swap" if problems is None else "FAILED" if problems else "ok"
        print(f"{page_name(page.resolve())}: {state} in {took:.0f} s")
        for k in kept:
            print(f"  kept {k.name} (Colab: {k.colab}): {k.reason}")
        for problem in problems or []:
            print("  " + problem.replace("\n", "\n  "))
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
