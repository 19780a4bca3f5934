"""Rewrite a page's shown outputs with what its code prints now.

Usage: python -m tools.refresh_outputs [--force] docs/peft/lora.md [more pages]

Runs the page's blocks top to bottom exactly as the doc tests do (``tools.pages.PageRun``, one
torch thread), in a scratch folder, and replaces the text under each
``<!--pytest-codeblocks:expected-output-->`` whose printed output breaks the numerical contract
(``tools/outputs.py``); ``--force`` rewrites every output, within its tolerance or not. So a
refresh on another machine leaves the digits that only moved within their tolerance alone.
Review the diff (``git diff docs/``) before committing: the prose around an output may quote its
numbers. gpu-only blocks are skipped, and a block that raises stops the script, leaving the page
untouched. The chapters' notebooks are regenerated afterwards (``tools/notebooks.py``), since
they show the same outputs.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tools.outputs import mismatches, pin_threads
from tools.pages import DOCS, PageRun, runnable_blocks


def refresh(page: str, force: bool = False) -> int:
    """Run ``page`` (relative to docs/) and rewrite its outputs; return how many changed."""
    path = DOCS / page
    lines = path.read_text(encoding="utf-8").split("\n")
    replace: dict[int, tuple[int, str]] = {}  # output fence line -> (body lines, new text)
    with tempfile.TemporaryDirectory() as scratch:
        run = PageRun(Path(scratch))
        for block in runnable_blocks(path):
            if block.gpu_only:
                continue
            printed = run.run(block)
            output = block.expected_output
            if output is None:
                continue
            broken = mismatches(output.text, printed, output.tolerance, page, output.line + 1)
            if force or broken:
                replace[output.line] = (output.text.count("\n"), printed)
    # Bottom-up, so that an output that grows or shrinks does not move the ones still to do.
    for fence_line, (length, printed) in sorted(replace.items(), reverse=True):
        opening = lines[fence_line - 1]
        indent = opening[: len(opening) - len(opening.lstrip())]
        new = [indent + text if text else "" for text in printed.rstrip("\n").split("\n")]
        lines[fence_line : fence_line + length] = new
    path.write_text("\n".join(lines), encoding="utf-8")
    return len(replace)


if __name__ == "__main__":
    from tools.notebooks import write

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pages", nargs="+", help="docs/part/page.md")
    parser.add_argument("--force", action="store_true", help="rewrite every output")
    args = parser.parse_args()
    pin_threads()
    for name in args.pages:
        page = str(Path(name).resolve().relative_to(DOCS))
        print(f"{page}: {refresh(page, args.force)} output block(s) rewritten")
    for line in write():
        if not line.endswith(": unchanged"):
            print(line)
