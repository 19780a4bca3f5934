"""The guide's pages as the reader sees them: snippets expanded, fences found, markers read.

One module serves the site hook (``tools/mkdocs_hooks.py``), the doc tests and the guard tests,
so the text that is tested is the text that is rendered:

- ``expand(page)`` runs pymdownx's own snippet preprocessor, built from ``mkdocs.yml``, over the
  page, and remembers for every expanded line the page line it came from (test ids and errors
  name the reader's page and line, not a line of some intermediate text).
- ``scan_fences(lines, origin, name)`` lists every fenced block of expanded text (backtick or
  tilde, any info string) with the marker written above it, for the guard tests.
- ``runnable_blocks(page)`` lists the blocks pytest-codeblocks would execute (its own
  ``extract_from_buffer`` reads them), with their expected output and marker.

Markers are HTML comments on the line above a fence; the site hook renders them visibly:

- ``<!-- gpu-only: REASON -->``: the block needs CUDA; skipped without it, run with it.
- ``<!-- not-run: REASON -->``: the block is not code to execute (a config file, a shell session
  on another machine); the reason is shown to the reader.
- ``<!--pytest-codeblocks:expected-output-->`` (pytest-codeblocks' own): the block below is the
  exact stdout of the block above, and the doc tests check it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SNIPPETS = ROOT / "snippets"
CONFIG = ROOT / "mkdocs.yml"

RUNNABLE = ("python", "bash", "sh")  # the fence languages pytest-codeblocks executes
GPU_ONLY, NOT_RUN = "gpu-only", "not-run"
# Per block of a page (and cell of a notebook), the issues' budget; the slowest, an SFT run,
# takes ~45 s. The doc tests and the notebook tests enforce it.
BLOCK_TIMEOUT_S = 120
MARKER_RE = re.compile(
    r"^(?P<indent>\s*)<!--\s*(?P<kind>gpu-only|not-run)\s*:(?P<reason>.*?)-->\s*$"
)
EXPECTED_OUTPUT_RE = re.compile(r"^\s*<!--[-\s]*pytest-codeblocks:expected-output[-\w]*-->\s*$")
FENCE_RE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# pymdownx's one-line include: --8<-- "path[:section]" (quotes may be single or double)
INCLUDE_RE = re.compile(r"""^\s*-{1,}8<-{1,}\s+(["'])(?P<target>[^"']+)\1\s*$""")
BLOCK_INCLUDE_RE = re.compile(r"^\s*-{1,}8<-{1,}\s*$")


class PageError(Exception):
    """A page cannot be expanded or read: the message names the page and line."""


@dataclass(frozen=True)
class Marker:
    """A ``<!-- kind: reason -->`` comment above a fence."""

    kind: str  # GPU_ONLY or NOT_RUN
    reason: str
    line: int  # page line of the comment


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

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"


@dataclass(frozen=True)
class Block:
    """A block the doc tests execute, in page order."""

    page: str
    line: int
    lang: str  # "python", "bash" or "sh"
    code: str
    expected_output: str | None
    gpu_only: str | None  # the reason, when the block needs CUDA

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"


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


def expand_text(text: str, name: str) -> tuple[list[str], list[int]]:
    """Expand the snippets of a page's Markdown ``text``.

    Returns:
        The expanded lines and, for each one, the 1-based page line it came from (0 for the
        glossary that the site appends to every page).

    Raises:
        PageError: an include names a missing file or section, or uses the multi-line form.
    """
    from pymdownx.snippets import SnippetMissingError

    pre = _snippet_preprocessor()
    lines: list[str] = []
    origin: list[int] = []
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
        lines += expanded
        origin += [number] * len(expanded)
    appended = pre.run([])  # run() adds the auto_append files (the glossary) to no text
    return lines + appended, origin + [0] * len(appended)


@functools.cache
def _expand_cached(path: str, mtime_ns: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
    lines, origin = expand_text(Path(path).read_text(encoding="utf-8"), page_name(Path(path)))
    return tuple(lines), tuple(origin)


def expand(page: Path) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """``expand_text`` of a page file (cached while the file is unchanged)."""
    return _expand_cached(str(page.resolve()), page.stat().st_mtime_ns)


def _previous_nonblank(lines: tuple[str, ...], index: int) -> int | None:
    index -= 1
    while index >= 0 and not lines[index].strip():
        index -= 1
    return index if index >= 0 else None


def scan_fences(lines: tuple[str, ...], origin: tuple[int, ...], name: str) -> list[Fence]:
    """Every fenced block of expanded ``lines`` (see ``expand_text``), with its marker."""
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
            expected = bool(EXPECTED_OUTPUT_RE.match(lines[before]))
        found.append(
            Fence(
                name,
                origin[i],
                fence,
                m["info"].strip(),
                "\n".join(body) + "\n",
                marker,
                expected,
                (i, end),
            )
        )
        i = end + 1  # a fence nested in a longer fence is part of the outer block's text
    return found


def extract_blocks(lines: tuple[str, ...], origin: tuple[int, ...], name: str) -> list[Block]:
    """The blocks pytest-codeblocks executes in expanded ``lines``, minus not-run ones."""
    from pytest_codeblocks import extract_from_buffer

    markers = {f.line: f.marker for f in scan_fences(lines, origin, name) if f.marker}
    blocks = []
    for block in extract_from_buffer(io.StringIO("\n".join(lines) + "\n")):
        if block.syntax not in RUNNABLE:
            continue
        line = origin[block.lineno - 1]
        marker = markers.get(line)
        if marker and marker.kind == NOT_RUN:
            continue
        blocks.append(
            Block(
                name,
                line,
                block.syntax,
                block.code,
                block.expected_output,
                marker.reason if marker else None,
            )
        )
    return blocks


def runnable_blocks(page: Path) -> list[Block]:
    """``extract_blocks`` of a page file: what the doc tests run, after snippet expansion."""
    return extract_blocks(*expand(page), page_name(page))


@contextlib.contextmanager
def working_dir(folder: Path) -> Iterator[None]:
    """Run the body in ``folder`` (contextlib.chdir exists from Python 3.11; we support 3.10)."""
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def run_python(block: Block, namespace: dict, folder: Path) -> str:
    """Execute a Python block in a page's namespace, in ``folder``; return what it printed.

    The one way a page's blocks are run: by the doc tests and by ``tools/refresh_outputs.py``,
    so the output a page shows is produced exactly as the tests check it.
    """
    # dont_inherit: not this module's `from __future__ import annotations`; a notebook cell or a
    # pasted block runs without it, so annotations are evaluated where a function is defined.
    code = compile(block.code, f"{block.where} (block)", "exec", dont_inherit=True)
    out = io.StringIO()
    with working_dir(folder), contextlib.redirect_stdout(out):
        exec(code, namespace)
    return out.getvalue()


def normalise_output(text: str) -> str:
    """Printed text as the doc tests compare it with a page's output (and the notebook tests
    with a cell's): no blank lines at either end, no trailing spaces."""
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n"))
