"""Doc tests: run every python and bash block of every page, as the reader sees it.

Pages are expanded with the site's own snippet preprocessor and their blocks found by
pytest-codeblocks (``tools/pages.py``). A page's Python blocks share one namespace and run top to
bottom, like Colab cells pasted in order, in a scratch folder of their own. Test ids name the page
and the line of the block: ``pytest tests/test_docs.py -k "training-and-fine-tuning.md:67"``
runs that block (after the blocks above it on its page, which it may depend on).

A block fails with its page, line and traceback when it raises, when its printed output differs
from the output block shown under it, or when it runs past ``BLOCK_TIMEOUT_S``. Blocks marked
``<!-- gpu-only: ... -->`` are skipped, with their reason, unless CUDA is available.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.pages import (
    BLOCK_TIMEOUT_S,
    Block,
    PageError,
    normalise_output,
    pages,
    run_python,
    runnable_blocks,
)


def _collect() -> list:
    params = []
    for page in pages():
        try:
            blocks = runnable_blocks(page)
        except PageError as error:  # a broken include fails as a test, naming the place
            params.append(pytest.param(error, id=str(error).split(": ")[0]))
            continue
        for block in blocks:
            params.append(
                pytest.param(
                    block,
                    id=f"{block.page}:{block.line}",
                    marks=pytest.mark.timeout(BLOCK_TIMEOUT_S),
                )
            )
    return params


CASES = _collect()
BLOCKS = [case.values[0] for case in CASES if isinstance(case.values[0], Block)]  # page order


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


class _Page:
    """A page's run state: its namespace, its scratch folder and how far it has run."""

    def __init__(self, folder: Path):
        self.namespace: dict = {"__name__": "__main__"}
        self.folder = folder
        self.done: set[int] = set()
        self.failed: str | None = None


_STATE: dict[str, _Page] = {}


def _run(block: Block, state: _Page) -> str:
    """Execute one block in the page's namespace and folder; return what it printed."""
    if block.lang == "python":
        printed = run_python(block, state.namespace, state.folder)
    else:
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.code],
            cwd=state.folder,
            capture_output=True,
            text=True,
            env=env,
            timeout=BLOCK_TIMEOUT_S,
        )
        if proc.returncode:
            pytest.fail(
                f"{block.where}: bash block exited {proc.returncode}\n"
                f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}",
                pytrace=False,
            )
        printed = proc.stdout
    sys.stdout.write(printed)  # pytest shows it on failure
    if block.expected_output is not None and normalise_output(printed) != normalise_output(
        block.expected_output
    ):
        diff = "\n".join(
            difflib.unified_diff(
                normalise_output(block.expected_output).split("\n"),
                normalise_output(printed).split("\n"),
                "shown on the page",
                "printed by the block",
                lineterm="",
            )
        )
        pytest.fail(f"{block.where}: the output differs from the page\n{diff}", pytrace=False)
    return printed


@pytest.mark.parametrize("block", CASES)
def test_block(block, tmp_path_factory):
    if isinstance(block, PageError):
        pytest.fail(str(block), pytrace=False)
    if block.gpu_only and not _cuda():
        pytest.skip(f"{block.where}: GPU only: {block.gpu_only}")
    state = _STATE.get(block.page)
    if state is None:
        folder = tmp_path_factory.mktemp(block.page.replace("/", "_").removesuffix(".md"))
        state = _STATE[block.page] = _Page(folder)
    if state.failed:
        pytest.skip(f"an earlier block of this page failed: {state.failed}")
    # The blocks above this one run first if they have not (e.g. when selected with -k).
    above = [
        b
        for b in BLOCKS
        if b.page == block.page
        and b.line < block.line
        and b.line not in state.done
        and not (b.gpu_only and not _cuda())
    ]
    for todo in [*above, block]:
        try:
            _run(todo, state)
        except BaseException:
            state.failed = todo.where
            raise
        state.done.add(todo.line)
