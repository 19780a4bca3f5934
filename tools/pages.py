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
- ``<!-- framework: NAME -->``: the block belongs to a training framework's run (``FRAMEWORKS``):
  the doc tests run it only with ``--frameworks`` (``make test-frameworks``) and skip it,
  saying so, without. A framework with an environment of its own (LLaMA-Factory, Axolotl: their
  pins clash with the guide's) runs its bash blocks there, with the environment's ``bin/`` first
  on the PATH; ``all`` marks a block of the guide's own environment that reads those runs.
- ``<!-- file: NAME -->``: the block is a file the blocks below read (a config, a script): the
  doc tests write its text to NAME in the page's working folder, as a reader saves it; the site
  shows NAME as the block's title and the notebook makes it a ``%%writefile NAME`` cell.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import io
import os
import re
import signal
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
FRAMEWORK, FILE = "framework", "file"  # their "reason" is a name: FRAMEWORKS' key, a file name
EXERCISE, SOLUTION = "exercise", "solution"  # markers with no reason (tools/exercises.py)
FILE_NAME_RE = re.compile(r"^[\w.-]+$")  # a file block's name: a file in the working folder
# Per block of a page (and cell of a notebook), the issues' budget. `make test --page-times`
# lists the blocks over it; it is measured, not asserted, because one process of `make test`
# shares the machine with another (and with the browser), and a loaded machine is not a slow
# block. The doc tests and the notebook tests stop a block at BLOCK_TIMEOUT_S: that is for
# blocks that hang.
BLOCK_BUDGET_S = 120
BLOCK_TIMEOUT_S = 600
MARKER_RE = re.compile(
    r"^(?P<indent>\s*)<!--\s*(?P<kind>gpu-only|not-run|framework|file)\s*:(?P<reason>.*?)-->\s*$"
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
class Framework:
    """A training framework whose blocks run only with ``--frameworks`` (make test-frameworks).

    Its runs take minutes, and some frameworks pin older transformers, peft and TRL than the
    guide: those get a virtual environment of their own, built by ``make setup-frameworks``
    from ``requirements``, so that the guide's own stack stays as it is.
    """

    title: str  # the admonition's title on the site and the notebook's note
    why: str  # the admonition's text: where the block runs and why not in make test
    skip: str  # the doc tests' skip reason without --frameworks (": make test-frameworks" added)
    venv: str | None = None  # its own environment, relative to the repository; None: the guide's
    requirements: str | None = None  # the pinned file that environment is built from
    pip: str | None = None  # what a reader installs in an environment of their own


FRAMEWORKS = {
    "trl": Framework(
        "A TRL run",
        "TRL is part of the guide's own environment. Its runs take minutes on a CPU, so the doc "
        "tests run them with the other frameworks' runs, under `make test-frameworks`.",
        "a framework run (TRL's, in the guide's own environment)",
    ),
    "llamafactory": Framework(
        "Runs in LLaMA-Factory's own environment",
        "LLaMA-Factory 0.9.5 caps transformers, peft, TRL and datasets below the guide's "
        "versions, so it has a virtual environment of its own, `.venv-llamafactory`, built by "
        "`make setup-frameworks` from `frameworks/llamafactory/requirements.txt` (in an "
        "environment of your own: `pip install llamafactory==0.9.5`). The doc tests run this "
        "block there, under `make test-frameworks`.",
        "runs in LLaMA-Factory's own environment",
        venv=".venv-llamafactory",
        requirements="frameworks/llamafactory/requirements.txt",
        pip="llamafactory==0.9.5",
    ),
    "axolotl": Framework(
        "Runs in Axolotl's own environment",
        "Axolotl 0.19.0 pins exact versions of transformers, peft, TRL and datasets other than "
        "the guide's, so it has a virtual environment of its own, `.venv-axolotl`, built by "
        "`make setup-frameworks` from `frameworks/axolotl/requirements.txt` (in an environment "
        "of your own: `pip install axolotl==0.19.0`, on Python 3.11; 0.20 and later need "
        "3.12). The doc tests run this block there, under `make test-frameworks`.",
        "runs in Axolotl's own environment",
        venv=".venv-axolotl",
        requirements="frameworks/axolotl/requirements.txt",
        pip="axolotl==0.19.0",
    ),
    "all": Framework(
        "Reads the framework runs",
        "It reads what the framework runs above wrote, in the guide's own environment; the doc "
        "tests run it with them, under `make test-frameworks`.",
        "reads the framework runs",
    ),
}


@dataclass(frozen=True)
class Marker:
    """A ``<!-- kind: reason -->`` (or ``<!-- exercise -->``, ``<!-- solution -->``) comment
    above a fence."""

    kind: str  # GPU_ONLY, NOT_RUN, FRAMEWORK, FILE, EXERCISE or SOLUTION
    reason: str  # "" for EXERCISE and SOLUTION; the name for FRAMEWORK and FILE
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
    lang: str  # "python", "bash" or "sh"; a file block's fence language ("yaml", "json")
    code: str
    expected_output: Output | None
    gpu_only: str | None  # the reason, when the block needs CUDA
    snippet_file: str | None = None  # it is only sections of this file (runs in its namespace)
    solution: bool = False  # an exercise's solution (``<!-- solution -->``)
    framework: str | None = None  # a key of FRAMEWORKS: run only with --frameworks
    file: str | None = None  # a file block: written to this name in the working folder

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


def _check_name(fence: Fence) -> None:
    """A framework marker names a known framework, a file marker a plain file name."""
    kind = fence.marker.kind if fence.marker else None
    name = fence.marker.reason if fence.marker else ""
    if kind == FRAMEWORK and name not in FRAMEWORKS:
        raise PageError(
            f"docs/{fence.page}:{fence.marker.line}: unknown framework {name!r}; "
            f"tools/pages.py FRAMEWORKS has {', '.join(FRAMEWORKS)}"
        )
    if kind == FILE and not (FILE_NAME_RE.match(name) and name.strip(".")):
        raise PageError(
            f"docs/{fence.page}:{fence.marker.line}: a file block's name is a file name in the "
            f"working folder (letters, digits, '_', '-', '.'), not {name!r}"
        )


def extract_blocks(expanded: Expanded) -> list[Block]:
    """The blocks pytest-codeblocks executes in an expanded page, minus not-run ones, and the
    file blocks (``<!-- file: NAME -->``), in page order."""
    from pytest_codeblocks import extract_from_buffer

    fences = scan_fences(expanded)
    for fence in fences:
        _check_name(fence)
    after = {a.line: b for a, b in zip(fences, fences[1:], strict=False)}
    by_line = {f.line: f for f in fences}
    blocks = [
        Block(
            expanded.name,
            f.line,
            f.info.split()[0] if f.info else "",
            f.code,
            None,
            None,
            file=f.marker.reason,
        )
        for f in fences
        if f.marker and f.marker.kind == FILE
    ]
    for found in extract_from_buffer(io.StringIO("\n".join(expanded.lines) + "\n")):
        if found.syntax not in RUNNABLE:
            continue
        fence = by_line[expanded.origin[found.lineno - 1]]
        kind = fence.marker.kind if fence.marker else None
        if kind in (NOT_RUN, EXERCISE, FILE):  # an exercise's blank is the reader's to fill in
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
                framework=fence.marker.reason if kind == FRAMEWORK else None,
            )
        )
    return sorted(blocks, key=lambda block: block.line)


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


def _kill_group(pid: int) -> None:
    """SIGKILL every process of the session ``pid`` leads (gone already: nothing to do)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


class PageRun:
    """A page's blocks, run in page order the way the doc tests and the refresh tool run them.

    A block made only of sections of one snippet file runs in a namespace of that file's own,
    which holds nothing but what the file's earlier sections defined: since a snippet file is
    its sections and nothing else, in page order (the guard tests check it), the page's run of
    those blocks is the file's run alone, ``python snippets/...``. Its names are then copied into
    the page's namespace, where every other block (code written in the page, ftkit's source
    shown on it) runs and sees everything above it, as a notebook cell does.

    Python blocks run in this process, in ``folder``; bash blocks in a shell there, with this
    Python's ``bin/`` first on the PATH, or before it the ``bin/`` of the block's framework's own
    environment (``FRAMEWORKS``). A file block is written to its name in ``folder``.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.namespace: dict = {"__name__": "__main__"}
        self.files: dict[str, dict] = {}

    def run(self, block: Block) -> str:
        """Execute ``block``; return what it printed. Its exceptions propagate."""
        if block.file:
            (self.folder / block.file).write_text(block.code, encoding="utf-8")
            return ""
        if block.lang != "python":
            return self._bash(block)
        if block.framework and FRAMEWORKS[block.framework].venv:
            raise BlockError(
                f"{block.where}: a block of {FRAMEWORKS[block.framework].venv} runs in a shell "
                "there: make it a bash block"
            )
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
        if block.framework:
            # one thread per run, as under the doc tests (tests/conftest.py), so that the
            # refresh tool's runs print what the tests check
            env.setdefault("OMP_NUM_THREADS", "1")
        venv = block.framework and FRAMEWORKS[block.framework].venv
        if venv:  # what `source VENV/bin/activate` sets
            if not (ROOT / venv / "bin").is_dir():
                raise BlockError(
                    f"{block.where}: it runs in {venv}, which is missing: make setup-frameworks"
                )
            env["PATH"] = f"{ROOT / venv / 'bin'}:{env['PATH']}"
            env["VIRTUAL_ENV"] = str(ROOT / venv)
        # A session of its own: on a timeout the whole group goes (torchrun's workers, a
        # framework's children), not only bash, so nothing is left holding the pipes (which
        # would keep communicate() waiting) or the machine, and the error shows what it printed.
        proc = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", block.code],
            cwd=self.folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        try:
            stdout, stderr = proc.communicate(timeout=BLOCK_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            stdout, stderr = proc.communicate()
            raise BlockError(
                f"{block.where}: bash block still running after {BLOCK_TIMEOUT_S} s, stopped\n"
                f"--- stdout\n{stdout}\n--- stderr\n{stderr[-4000:]}"
            ) from None
        finally:
            if proc.poll() is None:  # interrupted (Ctrl-C, pytest-timeout): no orphans
                _kill_group(proc.pid)
                proc.wait()
        proc = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        if proc.returncode:
            raise BlockError(
                f"{block.where}: bash block exited {proc.returncode}\n"
                f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
            )
        return proc.stdout
