"""Rewrite a page's expected-output blocks with what its code prints now.

Usage: python tools/refresh_outputs.py docs/peft/lora.md [more pages]

Runs the page's Python blocks top to bottom in one namespace, in a scratch folder, exactly as
the doc tests do, and replaces the text under each ``<!--pytest-codeblocks:expected-output-->``
with the block's real stdout. Review the diff (``git diff docs/``) before committing: the prose
around a table may need to change with it. gpu-only blocks are skipped, and a
block that raises stops the script, leaving the page untouched. The chapters' notebooks are
regenerated afterwards (``tools/notebooks.py``), since they show the same outputs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.pages import (  # noqa: E402
    DOCS,
    EXPECTED_OUTPUT_RE,
    FENCE_RE,
    run_python,
    runnable_blocks,
)


def refresh(page: str) -> int:
    """Run ``page`` (relative to docs/) and rewrite its outputs; return how many changed."""
    path = DOCS / page
    lines = path.read_text().split("\n")
    namespace: dict = {"__name__": "__main__"}
    outputs: dict[int, str] = {}  # page line of the code block -> what it printed
    with tempfile.TemporaryDirectory() as scratch:
        for block in runnable_blocks(path):
            if block.gpu_only or block.lang != "python":
                continue
            printed = run_python(block, namespace, Path(scratch))
            if block.expected_output is not None:  # the page shows this block's output
                outputs[block.line] = printed
    changed = 0
    # Bottom-up, so that a block whose output grows or shrinks does not shift the lines of
    # the blocks still to be rewritten.
    for code_line, printed in sorted(outputs.items(), reverse=True):
        # the expected-output marker that follows this block, then its fence
        marker = next(
            (i for i in range(code_line, len(lines)) if EXPECTED_OUTPUT_RE.match(lines[i])), None
        )
        if marker is None:
            continue
        start = next(i for i in range(marker + 1, len(lines)) if FENCE_RE.match(lines[i]))
        indent = FENCE_RE.match(lines[start])["indent"]
        end = next(i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("```"))
        new = [indent + text if text else "" for text in printed.rstrip("\n").split("\n")]
        if lines[start + 1 : end] != new:
            lines[start + 1 : end] = new
            changed += 1
    path.write_text("\n".join(lines))
    return changed


if __name__ == "__main__":
    from tools.notebooks import write

    for name in sys.argv[1:]:
        page = str(Path(name).resolve().relative_to(DOCS))
        print(f"{page}: {refresh(page)} output block(s) changed")
    for line in write():
        if not line.endswith(": unchanged"):
            print(line)
