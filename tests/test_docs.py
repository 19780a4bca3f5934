"""Doc tests: run every python and bash block of every page, as the reader sees it.

Pages are expanded with the site's own snippet preprocessor and their blocks found by
pytest-codeblocks (``tools/pages.py``). A page's blocks run top to bottom, like Colab cells pasted
in order, in a scratch folder of their own; a block made of one snippet file's sections runs in
that file's own namespace, so the page's run is also the file's run alone (``PageRun``). Test ids
name the page and the line of the block: ``pytest tests/test_docs.py -k
"training-and-fine-tuning.md:67"`` runs that block (after the blocks above it on its page, which
it may depend on). All the blocks of a page run in one test process (an xdist group).

A block fails with its page, line and traceback when it raises, when its printed output breaks
the numerical contract with the output shown under it (``tools/outputs.py``: text and integers
exact, decimals within their tolerance), or when it runs past ``BLOCK_TIMEOUT_S``. Blocks marked
``<!-- gpu-only: ... -->`` are skipped, with their reason, unless CUDA is available; blocks
marked ``<!-- framework: ... -->`` are skipped, with theirs, unless pytest runs with
``--frameworks`` (``make test-frameworks``).
"""

from __future__ import annotations

import functools
import os
import sys

import pytest

from tools.outputs import mismatches
from tools.pages import (
    BLOCK_TIMEOUT_S,
    FRAMEWORKS,
    Block,
    BlockError,
    PageError,
    PageRun,
    pages,
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
                    # A page's blocks share one process (tests/conftest.py: process_group).
                    marks=[pytest.mark.timeout(BLOCK_TIMEOUT_S)],
                )
            )
    return params


CASES = _collect()
BLOCKS = [case.values[0] for case in CASES if isinstance(case.values[0], Block)]  # page order


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


class _Page:
    """A page's run state: its run, how far it has got, and the block that failed, if one did."""

    def __init__(self, run: PageRun):
        self.run = run
        self.done: set[int] = set()
        self.failed: str | None = None


_STATE: dict[str, _Page] = {}


def _run(block: Block, state: _Page) -> None:
    """Execute one block in its page's run; fail if its output breaks the contract."""
    try:
        printed = state.run.run(block)
    except BlockError as error:
        pytest.fail(str(error), pytrace=False)
    sys.stdout.write(printed)  # pytest shows it on failure
    output = block.expected_output
    if output is not None:
        problems = mismatches(
            output.text, printed, output.tolerance, f"docs/{block.page}", output.line + 1
        )
        if problems:
            pytest.fail(
                f"{block.where}: the output breaks the numerical contract\n" + "\n".join(problems),
                pytrace=False,
            )


@functools.cache
def _selected(session) -> frozenset:
    """The blocks this session runs (after -k and the like), in any process."""
    return frozenset(
        getattr(i, "callspec", None) and i.callspec.params.get("block") for i in session.items
    )


def _split_from(block: Block, above: list[Block], session) -> str | None:
    """Why this run is wrong, if a block above ``block`` was selected in this session but did
    not run in this process: under pytest-xdist, another process has it, and each would run
    the page's blocks twice (the scheduler in tests/conftest.py keeps a page in one process)."""
    elsewhere = [b for b in above if b in _selected(session)]
    if elsewhere and os.environ.get("PYTEST_XDIST_WORKER"):
        return (
            f"{block.where}: the blocks above it ({', '.join(str(b.line) for b in elsewhere)}) "
            "were sent to another process; a page's blocks must share one (tests/conftest.py)"
        )
    return None


def _skipped(block: Block, config) -> str | None:
    """Why this session does not run ``block``, if it does not."""
    if block.gpu_only and not _cuda():
        return f"{block.where}: GPU only: {block.gpu_only}"
    if block.framework and not config.getoption("--frameworks"):
        return f"{block.where}: {FRAMEWORKS[block.framework].skip}: make test-frameworks"
    return None


@pytest.mark.parametrize("block", CASES)
def test_block(block, tmp_path_factory, request):
    if isinstance(block, PageError):
        pytest.fail(str(block), pytrace=False)
    skipped = _skipped(block, request.config)
    if skipped:
        pytest.skip(skipped)
    state = _STATE.get(block.page)
    if state is None:
        folder = tmp_path_factory.mktemp(block.page.replace("/", "_").removesuffix(".md"))
        state = _STATE[block.page] = _Page(PageRun(folder))
    if state.failed:
        pytest.skip(f"an earlier block of this page failed: {state.failed}")
    # The blocks above this one run first if they have not (e.g. when selected with -k).
    above = [
        b
        for b in BLOCKS
        if b.page == block.page
        and b.line < block.line
        and b.line not in state.done
        and not _skipped(b, request.config)
    ]
    split = _split_from(block, above, request.session)
    if split:
        pytest.fail(split, pytrace=False)
    for todo in [*above, block]:
        try:
            _run(todo, state)
        except BaseException:
            state.failed = todo.where
            raise
        state.done.add(todo.line)
