"""The guide's pages as the reader sees them: snippets expanded, fences found, markers read.

One module serves the site hook (``tools/mkdocs_hooks.py``), the doc tests and the guard tests,
so the text that is tested is the text that is rendered:

- ``expand(page)`` runs pymdownx's own snippet preprocessor, built from ``mkdocs.yml``, over the
  page, and remembers for every expanded line the page line it came from (test ids and errors
  name the reader's page and line, not a line of some intermediate text) and the include it
  came from, if any.
- ``scan_fences(expanded)`` lists every fenced block of expanded text (backtick or tilde, any
  info string) with the markers written above it, for the guard tests.
- ``runnable_blocks(page)`` lists the blocks pytest-codeblocks would execute (its own
  ``extract_from_buffer`` reads them), with their expected output, markers and source.
- ``PageRun`` runs a page's blocks, for the doc tests and ``tools/refresh_outputs.py`` alike.

Markers are HTML comments on the line above a fence; the site hook renders them visibly:

- ``<!-- gpu-only: REASON -->``: the block needs CUDA; skipped without it, run with it.
- ``<!-- not-run: REASON -->``: the block is not code to execute (a config file, a shell session
  on another machine); the reason is shown to the reader.
- ``<!--pytest-codeblocks:expected-output-->`` (pytest-codeblocks' own): the block below is the
  stdout of the block above, and the doc tests check it (``tools/outputs.py`` says how exactly).
- ``<!-- tolerance: ±3%, ±0.02, ±4 points -->`` on the line above that one: how far this
  output's numbers may move between machines; the site shows it beside the output.
- ``<!-- exercise -->``: the block is an exercise's blank, the reader's version with ``...`` or
  a TODO to fill in; not run. ``<!-- solution -->``: the block is the solution of the exercise
  above it, run and checked like any block; the site folds it and its output under
  "Solution" (``tools/exercises.py``).
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import io
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from tools.outputs import Tolerance, ToleranceError

# The warnings filters of every run of a page's blocks, in pytest's "action:message:category:module"
# form: the tests add them (tests/conftest.py) and PageRun applies them, so a refresh or a swap
# run fails on a warning where the doc test would, not after CI has run for half an hour.
WARNING_FILTERS = (
    "error",
    # transformers warns on every model load about the deprecated `torch_dtype` spelling
    # used inside its own code paths; not something the guide's code can change.
    "ignore::FutureWarning:transformers",
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SNIPPETS = ROOT / "snippets"
CONFIG = ROOT / "mkdocs.yml"

RUNNABLE = ("python", "bash", "sh")  # the fence languages pytest-codeblocks executes
GPU_ONLY, NOT_RUN = "gpu-only", "not-run"
EXERCISE, SOLUTION = "exercise", "solution"  # markers with no reason (tools/exercises.py)
# Per block of a page (and cell of a notebook), the issues' budget. `make test --page-times`
# lists the blocks over it; it is measured, not asserted, because one process of `make test`
# shares the machine with another (and with the browser), and a loaded machine is not a slow
# block. The doc tests and the notebook tests stop a block at BLOCK_TIMEOUT_S: that is for
# blocks that hang.
BLOCK_BUDGET_S = 120
BLOCK_TIMEOUT_S = 600
MARKER_RE = re.compile(
    r"^(?P<indent>\s*)<!--\s*(?P<kind>gpu-only|not-run)\s*:(?P<reason>.*?)-->\s*$"
)
EXERCISE_MARKER_RE = re.compile(r"^(?P<indent>\s*)<!--\s*(?P<kind>exercise|solution)\s*-->\s*$")
EXPECTED_OUTPUT_RE = re.compile(r"^\s*<!--[-\s]*pytest-codeblocks:expected-output[-\w]*-->\s*$")
TOLERANCE_RE = re.compile(r"^\s*<!--\s*tolerance\s*:(?P<spec>.*?)-->\s*$")
FENCE_RE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# pymdownx's one-line include: --8<-- "path[:section]" (quotes may be single or double)
INCLUDE_RE = re.compile(r"""^\s*-{1,}8<-{1,}\s+(["'])(?P<target>[^"']+)\1\s*$""")
BLOCK_INCLUDE_RE = re.compile(r"^\s*-{1,}8<-{1,}\s*$")


class PageError(Exception):
    """A page cannot be expanded or read: the message names the page and line."""


@dataclass(frozen=True)
class Marker:
    """A ``<!-- kind: reason -->`` (or ``<!-- exercise -->``, ``<!-- solution -->``) comment
    above a fence."""

    kind: str  # GPU_ONLY, NOT_RUN, EXERCISE or SOLUTION
    reason: str  # "" for EXERCISE and SOLUTION
    line: int  # page line of the comment


@dataclass(frozen=True)
class Output:
    """The output shown under a block: its text, where it is, and how far its numbers may move."""

    text: str
    line: int  # page line of its opening fence
    tolerance: Tolerance | None
    tolerance_line: int | None  # page line of the tolerance marker, if any


@dataclass(frozen=True)
class Fence:
    """A fenced block in the expanded page."""

    page: str  # path relative to docs/, e.g. "foundations/index.md"
    line: int  # page line of the opening fence (for included code: the include line)
    fence: str  # "```" or "~~~" (or longer)
    info: str  # everything after the fence: language and attributes
    code: str
    marker: Marker | None
    is_expected_output: bool  # the stdout of the block before it
    span: tuple[int, int]  # indices of its opening and closing lines in the expanded text
    includes: tuple[str, ...]  # the includes its body came from ("snippets/x.py:section")
    page_text: bool  # some non-blank line of its body is written in the page itself
    tolerance: tuple[int, str] | None = None  # an expected output's tolerance marker: line, spec

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"

    @property
    def snippet_file(self) -> str | None:
        """The snippet file this block is made of, when it is only sections of one such file."""
        files = {include.split(":")[0] for include in self.includes}
        if self.page_text or len(files) != 1:
            return None
        (file,) = files
        return file if file.startswith("snippets/") else None


@dataclass(frozen=True)
class Block:
    """A block the doc tests execute, in page order."""

    page: str
    line: int
    lang: str  # "python", "bash" or "sh"
    code: str
    expected_output: Output | None
    gpu_only: str | None  # the reason, when the block needs CUDA
    snippet_file: str | None = None  # it is only sections of this file (runs in its namespace)
    solution: bool = False  # an exercise's solution (``<!-- solution -->``)

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"


class Expanded(NamedTuple):
    """A page after snippet expansion, line by line."""

    name: str  # the page, relative to docs/
    lines: tuple[str, ...]
    origin: tuple[int, ...]  # 1-based page line each came from (0: the appended glossary)
    includes: tuple[str, ...]  # the include each came from ("" for the page's own text)


def as_sentence(reason: str) -> str:
    """A marker's reason as the reader sees it: capitalised, with a final full stop."""
    reason = reason.strip()
    return reason[:1].upper() + reason[1:] + ("" if reason.endswith(".") else ".")


def pages() -> list[Path]:
    """Every Markdown page of the site (docs/includes/ holds fragments, not pages)."""
    return sorted(p for p in DOCS.rglob("*.md") if "includes" not in p.relative_to(DOCS).parts)


def page_name(page: Path) -> str:
    return page.resolve().relative_to(DOCS).as_posix()


@functools.cache
def site_config():
    """mkdocs.yml as MkDocs reads it, loaded once for the snippet expander and the notebooks."""
    from mkdocs.config import load_config

    return load_config(str(CONFIG))


@functools.cache
def _snippet_preprocessor():
    """pymdownx's SnippetPreprocessor configured exactly as the site configures it."""
    import markdown

    config = site_config()
    md = markdown.Markdown(
        extensions=config["markdown_extensions"], extension_configs=config["mdx_configs"]
    )
    return md.preprocessors["snippet"]


def expand_text(text: str, name: str) -> Expanded:
    """Expand the snippets of a page's Markdown ``text`` (page ``name``, relative to docs/).

    Returns:
        The expanded lines with, for each one, the 1-based page line it came from (0 for the
        glossary that the site appends to every page) and the include that brought it.

    Raises:
        PageError: an include names a missing file or section, or uses the multi-line form.
    """
    from pymdownx.snippets import SnippetMissingError

    pre = _snippet_preprocessor()
    lines: list[str] = []
    origin: list[int] = []
    includes: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if BLOCK_INCLUDE_RE.match(line):
            raise PageError(
                f'docs/{name}:{number}: use the one-line include form --8<-- "file:section"'
            )
        pre.seen, pre.bases, pre.failed = set(), None, set()  # what run() resets
        try:
            expanded = pre.parse_snippets([line])
        except SnippetMissingError as error:
            raise PageError(f"docs/{name}:{number}: {error} (in: {line.strip()})") from None
        include = INCLUDE_RE.match(line)
        lines += expanded
        origin += [number] * len(expanded)
        includes += [include["target"] if include else ""] * len(expanded)
    appended = pre.run([])  # run() adds the auto_append files (the glossary) to no text
    return Expanded(
        name,
        tuple(lines + appended),
        tuple(origin + [0] * len(appended)),
        tuple(includes + [""] * len(appended)),
    )


@functools.cache
def _expand_cached(path: str, mtime_ns: int) -> Expanded:
    return expand_text(Path(path).read_text(encoding="utf-8"), page_name(Path(path)))


def expand(page: Path) -> Expanded:
    """``expand_text`` of a page file (cached while the file is unchanged)."""
    return _expand_cached(str(page.resolve()), page.stat().st_mtime_ns)


def _previous_nonblank(lines: tuple[str, ...], index: int) -> int | None:
    index -= 1
    while index >= 0 and not lines[index].strip():
        index -= 1
    return index if index >= 0 else None


def _tolerance_marker(lines: tuple[str, ...], origin: tuple[int, ...], marker_index: int | None):
    """The ``(line, spec)`` of a tolerance marker just above an expected-output marker."""
    above = _previous_nonblank(lines, marker_index) if marker_index is not None else None
    m = TOLERANCE_RE.match(lines[above]) if above is not None else None
    return (origin[above], m["spec"].strip()) if m else None


def scan_fences(expanded: Expanded) -> list[Fence]:
    """Every fenced block of an expanded page (see ``expand_text``), with its markers."""
    name, lines, origin, includes = expanded
    found: list[Fence] = []
    i = 0
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent = m["fence"], len(m["indent"])
        closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = i + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        if end == len(lines):
            raise PageError(f"docs/{name}:{origin[i]}: code fence {fence} is never closed")
        body = [line[min(indent, len(line) - len(line.lstrip())) :] for line in lines[i + 1 : end]]
        before = _previous_nonblank(lines, i)
        marker = None
        expected = False
        if before is not None:
            mm = MARKER_RE.match(lines[before])
            if mm:
                marker = Marker(mm["kind"], mm["reason"].strip(), origin[before])
            mm = EXERCISE_MARKER_RE.match(lines[before])
            if mm:
                marker = Marker(mm["kind"], "", origin[before])
            expected = bool(EXPECTED_OUTPUT_RE.match(lines[before]))
        filled = [k for k in range(i + 1, end) if lines[k].strip()]
        found.append(
            Fence(
                name,
                origin[i],
                fence,
                m["info"].strip(),
                "".join(f"{text}\n" for text in body),  # one "\n" per line; "" when empty
                marker,
                expected,
                (i, end),
                includes=tuple(dict.fromkeys(includes[k] for k in filled if includes[k])),
                page_text=any(not includes[k] for k in filled),
                tolerance=_tolerance_marker(lines, origin, before) if expected else None,
            )
        )
        i = end + 1  # a fence nested in a longer fence is part of the outer block's text
    return found


def _output(fence: Fence) -> Output:
    """An expected-output fence as the doc tests compare it (a bad tolerance is a PageError)."""
    tolerance = line = None
    if fence.tolerance:
        line, spec = fence.tolerance
        try:
            tolerance = Tolerance.parse(spec)
        except ToleranceError as error:
            raise PageError(f"docs/{fence.page}:{line}: {error}") from None
    return Output(fence.code, fence.line, tolerance, line)


def extract_blocks(expanded: Expanded) -> list[Block]:
    """The blocks pytest-codeblocks executes in an expanded page, minus not-run ones."""
    from pytest_codeblocks import extract_from_buffer

    fences = scan_fences(expanded)
    after = {a.line: b for a, b in zip(fences, fences[1:], strict=False)}
    by_line = {f.line: f for f in fences}
    blocks = []
    for found in extract_from_buffer(io.StringIO("\n".join(expanded.lines) + "\n")):
        if found.syntax not in RUNNABLE:
            continue
        fence = by_line[expanded.origin[found.lineno - 1]]
        kind = fence.marker.kind if fence.marker else None
        if kind in (NOT_RUN, EXERCISE):  # an exercise's blank is the reader's to fill in
            continue
        output = after.get(fence.line)
        blocks.append(
            Block(
                expanded.name,
                fence.line,
                found.syntax,
                found.code,
                _output(output) if output and output.is_expected_output else None,
                fence.marker.reason if kind == GPU_ONLY else None,
                fence.snippet_file,
                solution=kind == SOLUTION,
            )
        )
    return blocks


def runnable_blocks(page: Path) -> list[Block]:
    """``extract_blocks`` of a page file: what the doc tests run, after snippet expansion."""
    return extract_blocks(expand(page))


@contextlib.contextmanager
def working_dir(folder: Path) -> Iterator[None]:
    """Run the body in ``folder`` (contextlib.chdir exists from Python 3.11; we support 3.10)."""
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


class BlockError(Exception):
    """A bash block exited with an error: the message names the block and gives its output."""


def _torch_threads() -> int | None:
    """torch's intra-op threads, or None while torch is not imported (nothing to change)."""
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


@contextlib.contextmanager
def warnings_as_in_tests() -> Iterator[None]:
    """Run the body under ``WARNING_FILTERS``, as pytest runs a test (later filters win)."""
    with warnings.catch_warnings():
        for spec in WARNING_FILTERS:
            action, message, category, module = (spec.split(":") + [""] * 3)[:4]
            warnings.filterwarnings(
                action,
                message=message,
                category=getattr(builtins, category) if category else Warning,
                module=module,
            )
        yield


class PageRun:
    """A page's blocks, run in page order the way the doc tests and the refresh tool run them.

    A block made only of sections of one snippet file runs in a namespace of that file's own,
    which holds nothing but what the file's earlier sections defined: since a snippet file is
    its sections and nothing else, in page order (the guard tests check it), the page's run of
    those blocks is the file's run alone, ``python snippets/...``. Its names are then copied into
    the page's namespace, where every other block (code written in the page, ftkit's source
    shown on it) runs and sees everything above it, as a notebook cell does.

    Python blocks run in this process, in ``folder``; bash blocks in a shell there, with this
    Python's ``bin/`` first on the PATH.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.namespace: dict = {"__name__": "__main__"}
        self.files: dict[str, dict] = {}

    def run(self, block: Block) -> str:
        """Execute ``block``; return what it printed. Its exceptions propagate."""
        if block.lang != "python":
            return self._bash(block)
        namespace = self.namespace
        if block.snippet_file:
            namespace = self.files.setdefault(block.snippet_file, {"__name__": "__main__"})
        # dont_inherit: not this module's `from __future__ import annotations`; a notebook cell
        # or a pasted block runs without it, so annotations are evaluated where they stand.
        code = compile(block.code, f"{block.where} (block)", "exec", dont_inherit=True)
        out = io.StringIO()
        threads = _torch_threads()
        with working_dir(self.folder), contextlib.redirect_stdout(out), warnings_as_in_tests():
            exec(code, namespace)
        changed = _torch_threads()
        if threads is not None and changed != threads:
            # One page must not change the threads of the pages after it in the same process:
            # their numbers, and their speed, would depend on the order the pages ran in.
            sys.modules["torch"].set_num_threads(threads)
            raise BlockError(
                f"{block.where}: the block set torch's threads from {threads} to {changed}; "
                "leave them to the harness (one per process: how-this-guide-works.md)"
            )
        if block.snippet_file:
            self.namespace.update((k, v) for k, v in namespace.items() if not k.startswith("__"))
        return out.getvalue()

    def _bash(self, block: Block) -> str:
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.code],
            cwd=self.folder,
            capture_output=True,
            text=True,
            env=env,
            timeout=BLOCK_TIMEOUT_S,
        )
        if proc.returncode:
            raise BlockError(
                f"{block.where}: bash block exited {proc.returncode}\n"
                f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
            )
        return proc.stdout
