"""The knob swap: run a chapter's blocks with each knob set to a stand-in for its Colab value.

The guide promises that moving to a real model means editing the knob lines and nothing else.
This checks it without a hub or a GPU: every knob line whose Colab value is a hub id with a
stand-in (``ftkit.standins``: a tiny model with that model's tokenizer and chat format) is
rewritten to load the stand-in, exactly as a reader would edit it, and the page's blocks run top
to bottom. Outputs are not compared (a random model prints other numbers); a block that raises
fails, naming its page and line. Knobs that are not swapped are listed with the reason, and a
page with nothing to swap is not run again.

The swap checks that the code runs, not what it learns, so it also shortens training: every
top-level ``...STEPS = n`` and ``...BATCH... = n`` constant and every ``max_steps=n`` becomes 2,
and ``logging_steps`` and ``eval_steps`` 1 (``SHORTEN``). A 128,256-token vocabulary makes
each step of the stand-in about as costly as a hundred of the tiny model's.

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
    """The hub id a Colab value starts with, when it starts with a quoted ``org/name``."""
    m = HUB_ID_RE.match(colab)
    return m["id"] if m else None


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
    (re.compile(r"\bmax_steps=\d[\d_]*"), "max_steps=2"),
    (re.compile(r"\b(?P<name>logging_steps|eval_steps)=\d[\d_]*"), r"\g<name>=1"),
)


def swap_code(code: str) -> tuple[str, list[Kept], bool]:
    """``code`` with every knob that has a stand-in set to it; the knobs kept as they are; and
    whether any knob was swapped."""
    from ftkit.standins import HUB_IDS

    lines = code.split("\n")
    kept, swapped = [], False
    for i, knob in knob_lines(code).items():
        hub = _hub_id(knob.colab)
        if hub in HUB_IDS:
            lines[i] = f"{knob.name} = standin({hub!r})"
            swapped = True
        else:
            kept.append(Kept(knob.name, knob.colab, _why_kept(knob.colab, hub)))
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
        if block.gpu_only:
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
