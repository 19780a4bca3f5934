"""Guard tests: nothing on the site escapes the doc tests without saying why.

- every fenced block of every page is executed, or is the checked output of the block above,
  or is a Mermaid diagram (rendered and checked by the browser test), or carries a
  ``<!-- not-run: reason -->`` / ``<!-- gpu-only: reason -->`` marker with a reason;
- every file in snippets/ is included by some page, and every include resolves;
- every snippet file runs on its own, ``python FILE``, as its docstring promises.

The snippet runs use a fork server that imports torch, transformers, peft, bitsandbytes and trl
once: each file still runs as ``__main__`` in a fresh process of its own (one per file, never
reused), in its own empty folder, but without paying about 5 s of imports each time.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import multiprocessing
import os
import re
import runpy
import sys
import traceback
from pathlib import Path

import pytest

from tools.pages import (
    INCLUDE_RE,
    MARKER_RE,
    ROOT,
    RUNNABLE,
    SNIPPETS,
    PageError,
    expand,
    extract_blocks,
    page_name,
    pages,
    scan_fences,
)

SNIPPET_TIMEOUT_S = 300  # a whole file: several blocks, each within test_docs' 120 s budget
DIAGRAMS = ("mermaid",)  # rendered in the browser test, which fails on a syntax error
# pytest-codeblocks' own skip switches would hide a block without a visible reason.
HIDDEN_SKIP_RE = re.compile(r"<!--[-\s]*(pytest\.mark\.|pytest-codeblocks:(?!expected-output))")

PAGES = pages()
SNIPPET_FILES = sorted(SNIPPETS.rglob("*.py"))


def fence_problems(lines: tuple[str, ...], origin: tuple[int, ...], name: str) -> list[str]:
    """Every fence of an expanded page that would escape the doc tests, as 'docs/page:line: why'."""
    problems = []
    found = scan_fences(lines, origin, name)
    executed = {block.line for block in extract_blocks(lines, origin, name)}
    for fence in found:
        lang = fence.info.split()[0] if fence.info else ""
        if fence.marker:
            if not fence.marker.reason:
                problems.append(f"{fence.where}: the {fence.marker.kind} marker gives no reason")
            elif fence.marker.kind == "gpu-only" and not (
                fence.fence.startswith("`") and fence.info in RUNNABLE
            ):
                problems.append(
                    f"{fence.where}: a gpu-only block must be a plain python/bash fence"
                )
            continue
        if fence.is_expected_output or lang in DIAGRAMS:
            continue
        if fence.fence.startswith("~"):
            why = "a tilde fence is never executed"
        elif fence.info not in RUNNABLE:
            why = (
                f"fence info {fence.info!r} is never executed (only a bare "
                f"{'/'.join(RUNNABLE)} fence is)"
            )
        elif fence.line not in executed:
            why = "the doc tests did not collect this block"
        else:
            continue
        problems.append(f"{fence.where}: {why}; run it, or mark it <!-- not-run: reason -->")
    marked = {f.marker.line for f in found if f.marker}
    for line, number in zip(lines, origin, strict=True):
        if HIDDEN_SKIP_RE.search(line):
            problems.append(
                f"docs/{name}:{number}: pytest-codeblocks skip/cont switches hide "
                "blocks; use <!-- not-run: reason --> or <!-- gpu-only: reason -->"
            )
        if MARKER_RE.match(line) and number not in marked:
            problems.append(f"docs/{name}:{number}: marker is not directly above a fence")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=page_name)
def test_every_block_runs_or_says_why(page):
    try:
        problems = fence_problems(*expand(page), page_name(page))
    except PageError as error:
        pytest.fail(str(error), pytrace=False)
    assert not problems, "\n".join(problems)


def included_snippet_files() -> set[Path]:
    """Every snippet file that some page's include names."""
    return {
        (ROOT / m["target"].split(":")[0]).resolve()
        for page in PAGES
        for line in page.read_text(encoding="utf-8").split("\n")
        if (m := INCLUDE_RE.match(line))
    }


def test_every_snippet_file_is_included():
    included = included_snippet_files()
    orphans = [f.relative_to(ROOT).as_posix() for f in SNIPPET_FILES if f.resolve() not in included]
    assert not orphans, "snippet files no page includes:\n" + "\n".join(orphans)


def test_every_include_resolves():
    problems = []
    for page in PAGES:
        try:
            expand(page)
        except PageError as error:
            problems.append(str(error))
    assert not problems, "\n".join(problems)


def _run_snippet(path: str, folder: str) -> str | None:
    """In a fresh child process: run ``path`` as ``__main__`` in ``folder``; the error or None."""
    os.chdir(folder)
    sys.argv = [path]
    sys.path.insert(0, str(ROOT))  # as PYTHONPATH=ROOT would
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(path, run_name="__main__")
    except SystemExit as exit_:
        return None if not exit_.code else traceback.format_exc()[-4000:]  # sys.exit(0) is fine
    except BaseException:  # noqa: BLE001 - any other failure is reported
        return traceback.format_exc()[-4000:]
    return None


@pytest.fixture(scope="module")
def snippet_runner():
    """One process per snippet, forked from a server that has the heavy imports done."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "transformers", "peft", "bitsandbytes", "trl"])
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=1, mp_context=context, max_tasks_per_child=1
    ) as pool:
        yield pool


@pytest.mark.timeout(SNIPPET_TIMEOUT_S)
@pytest.mark.parametrize("path", SNIPPET_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_snippet_runs_alone(path, tmp_path, snippet_runner):
    error = snippet_runner.submit(_run_snippet, str(path), str(tmp_path)).result(
        timeout=SNIPPET_TIMEOUT_S
    )
    assert error is None, f"python {path.relative_to(ROOT)} failed\n{error}"
