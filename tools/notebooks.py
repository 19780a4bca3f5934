"""Colab notebooks generated from the chapters: ``notebooks/<chapter>.ipynb``, one per chapter.

    python -m tools.notebooks           # write every notebook (or: make notebooks)
    python -m tools.notebooks --check   # list stale, missing or extra notebooks; exit 1 if any

A chapter is read exactly as the doc tests read it (``tools/pages.py``: the site's own snippet
expansion, pytest-codeblocks' own block extraction), so a code cell is the text of a block the
tests run, and the output under it is the output they check. The page becomes:

- a first markdown cell (title, where it comes from, the knobs of the chapter and how to turn
  them to a Colab GPU) and a first code cell that installs ftkit and the pinned versions of the
  libraries the chapter imports (``tools/install_cell.py``);
- prose as markdown cells (``tools/notebook_markdown.py``); Mermaid diagrams become a link to the
  page (neither Colab nor this site's notebook pages run Mermaid);
- each block the tests run as a code cell (bash through ``%%bash``), with the page's expected
  output as the cell's output and its tolerance note after it; a GPU-only block keeps its note
  and a ``gpu-only`` tag; a not-run block stays in the markdown with its reason;
- a file block (``<!-- file: NAME -->``) as a ``%%writefile NAME`` cell, which saves it where
  the cells below read it; a framework block (``<!-- framework: NAME -->``) as a code cell with
  the framework's name as a tag and a note above it: where it runs, and for a framework with an
  environment of its own, how to install that environment and run the cell there;
- an exercise's blank stays in the markdown, with a note to fill it in a new cell, and its
  solution is a cell of its own under a "Solution" line, tagged ``solution`` and folded in
  Jupyter (``jupyter.source_hidden``, ``outputs_hidden``: nbformat's own metadata; Colab shows
  it unfolded).

The notebooks are committed; ``tests/test_notebooks.py`` fails when one is out of date with its
chapter and executes two end to end with nbclient. The site renders them with mkdocs-jupyter and
every chapter page links to its notebook (``tools/mkdocs_hooks.py``). Where each notebook lives:
``tools/chapters.py``.
"""

from __future__ import annotations

import argparse
import ast
import functools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import tools.chapters
from tools.chapters import chapters, notebook_name, notebook_path, page_url
from tools.install_cell import guide_shell, install_cell
from tools.notebook_markdown import flatten_containers, indent_of, markdown_cell_text
from tools.outputs import tolerance_note
from tools.pages import (
    EXERCISE,
    EXPECTED_OUTPUT_RE,
    FRAMEWORKS,
    GPU_ONLY,
    NOT_RUN,
    TOLERANCE_RE,
    Block,
    Expanded,
    PageError,
    as_sentence,
    expand,
    extract_blocks,
    page_name,
    scan_fences,
)

# A knob: an upper-case name set at the top level, with its Colab GPU value in a comment at the
# end of the line, or on the line above when the two do not fit in a shown line (79 characters).
KNOB_RE = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*) = (?P<value>.+?)  # Colab GPU: (?P<colab>.+)$")
KNOB_ABOVE_RE = re.compile(r"^# Colab GPU: (?P<colab>.+)$")
KNOB_SET_RE = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*) = (?P<value>[^#]+?)$")
# Any other line that changes on a GPU says how in its comment: "# on a GPU: ...", "# T4: ...".
GPU_HINT_RE = re.compile(
    r"^(?P<code>.*?)\s*#\s*(?:[Oo]n a GPU|T4|[Rr]eal models?):\s*(?P<hint>.+)$"
)
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}
SOLUTION_TAG = "solution"
# nbformat's own cell metadata: JupyterLab folds the cell's code and output until clicked.
FOLDED = {"source_hidden": True, "outputs_hidden": True}
EXERCISE_NOTE = (
    "> **Exercise.** Copy this blank into a new cell, fill in the `...` and run it; the cell "
    "after it is the guide's solution, which the tests run."
)
# JupyterLab folds the solution cell; Colab and the site's notebook view show it open, so the
# line above it says plainly that it is the solution (a choice: see how-this-guide-works.md).
SOLUTION_NOTE = (
    "**Solution** (the next cell: folded in JupyterLab, open in Colab; try the exercise first)"
)


@dataclass(frozen=True)
class Knob:
    """A knob line of a code cell: ``NAME = tiny value  # Colab GPU: value``."""

    name: str
    value: str
    colab: str


def knob_lines(source: str) -> dict[int, Knob]:
    """The knobs of a block or cell's ``source``, by the index of the line that sets each."""
    lines = source.split("\n")
    found = {}
    for i, line in enumerate(lines):
        m = KNOB_RE.match(line)
        if m:
            found[i] = Knob(m["name"], m["value"], m["colab"])
            continue
        above = KNOB_ABOVE_RE.match(lines[i - 1]) if i else None
        m = KNOB_SET_RE.match(line)
        if above and m:
            found[i] = Knob(m["name"], m["value"], above["colab"])
    return found


def knobs(cells: list[dict]) -> list[Knob]:
    """Every knob of the notebook's code cells, in order (a knob set again, the same way, is
    one knob)."""
    found = []
    for cell in cells:
        if cell["cell_type"] == "code":
            found += [k for k in knob_lines(cell["source"]).values() if k not in found]
    return found


def gpu_hints(cells: list[dict]) -> list[tuple[str, str]]:
    """(code, what to do) for every other line whose comment says how it changes on a GPU."""
    found = []
    for cell in cells:
        if cell["cell_type"] != "code" or GPU_ONLY in cell["metadata"].get("tags", []):
            continue
        for line in cell["source"].split("\n"):
            m = GPU_HINT_RE.match(line.strip())
            if m and not KNOB_RE.match(line) and (m["code"], m["hint"]) not in found:
                found.append((m["code"], m["hint"]))
    return found


def _intro(page: str, title: str, cells: list[dict]) -> str:
    """The first markdown cell: where the notebook comes from, how to run it, its knobs, the
    other lines a GPU run changes, and the cells that need CUDA."""
    gpu = sum(GPU_ONLY in c["metadata"].get("tags", []) for c in cells)
    text = [
        f"# {title}",
        "",
        f"*The notebook of the chapter [{title}]({page_url(page)}) of the LLM Fine-Tuning Study "
        "Guide, generated from the page. After the install cell, every code cell is a block the "
        "guide's tests run on every change, and the output under a cell is the output they "
        "check.*",
        "",
        "**Run it** top to bottom: the first code cell installs ftkit and the tested library "
        "versions, and the cells share one namespace, as the page's blocks do. As it is, the "
        f"notebook{' (but for its GPU-only cells)' if gpu else ''} runs on a CPU, Colab's free "
        "CPU runtime included, with ftkit's tiny models built on the spot: no download, no "
        "token.",
        "",
        *_knob_table(knobs(cells)),
        *_hint_table(gpu_hints(cells)),
    ]
    if "GUIDE_VERSIONS" in cells[0]["source"]:  # the install cell of an Unsloth chapter
        text += [
            "**Unsloth or not.** On a GPU runtime, the first cell installs Unsloth, which brings "
            "its own, older transformers and TRL. The cells that do not use Unsloth are tested "
            "with the guide's versions, which the first cell installs on a CPU runtime: run them "
            "there. (With TRL 1.15, as Unsloth installed it on 2026-11-22, `SFTTrainer` on a CPU "
            "fails inside TRL's Triton loss kernel.)",
            "",
        ]
    if gpu:
        text += [
            f"**GPU only.** {gpu} cell{'s need' if gpu > 1 else ' needs'} CUDA, with the tag "
            "`gpu-only` and a note above; run on a GPU runtime. The tests skip such cells on "
            "machines without CUDA.",
            "",
        ]
    own = [  # the frameworks whose cells run in an environment of their own
        FRAMEWORKS[name].pip
        for name in FRAMEWORKS
        if FRAMEWORKS[name].venv and any(name in c["metadata"].get("tags", []) for c in cells)
    ]
    if own:
        text += [
            "**Frameworks with environments of their own.** The cells tagged with a "
            "framework's name call its command line, which pins other versions of "
            "transformers, peft and TRL than the first cell installs: install "
            f"{' and '.join(f'`{p}`' for p in own)} each in a virtual environment of its own "
            "first, and run those cells there (the note above each says how). The files they "
            "read and write stay in the notebook's folder, so the other cells see them.",
            "",
        ]
    return "\n".join(text).strip("\n")


def _knob_table(found: list[Knob]) -> list[str]:
    if not found:
        return [
            "**The knobs.** This chapter has none: its code is the same on a CPU and on a GPU.",
            "",
        ]
    return [
        "**The knobs.** Each line below sets a knob to its tiny default, with the value for a "
        "Colab GPU in its comment. To train a real model, switch the runtime to a GPU "
        "(*Runtime > Change runtime type > T4 GPU*) and replace each default with its Colab "
        "value: one edit per knob.",
        "",
        "| knob | default here (CPU) | Colab GPU |",
        "| --- | --- | --- |",
        *(f"| `{k.name}` | `{_cell(k.value)}` | {_code_or_prose(k.colab)} |" for k in found),
        "",
    ]


def _hint_table(hints: list[tuple[str, str]]) -> list[str]:
    if not hints:
        return []
    return [
        "**Other lines for a GPU.** These lines are set for the CPU, and their comment says "
        "what a GPU run uses instead:",
        "",
        "| line | on a GPU |",
        "| --- | --- |",
        *(f"| `{_cell(code)}` | {_code_or_prose(hint)} |" for code, hint in hints),
        "",
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code_or_prose(text: str) -> str:
    """A table cell: a Python expression as code, words as words."""
    try:
        ast.parse(text, mode="eval")
    except SyntaxError:
        return _cell(text)
    return f"`{_cell(text)}`"


def _new_cell(kind: str, source: str, metadata: dict | None = None) -> dict:
    cell = {"cell_type": kind, "metadata": metadata or {}, "source": source}
    if kind == "code":
        cell |= {"execution_count": None, "outputs": []}
    return cell


def code_source(block: Block) -> str:
    """A block's code cell: a file block written by ``%%writefile``, bash by ``%%bash``."""
    code = block.code.rstrip("\n")
    if block.file:
        return f"%%writefile {block.file}\n{code}"
    return f"%%bash\n{code}" if block.lang in ("bash", "sh") else code


def _note(kind: str, reason: str) -> list[str]:
    reason = as_sentence(reason)
    if kind == GPU_ONLY:
        return [f"> **GPU only.** {reason} Run this cell on a GPU runtime.", ""]
    return [f"> **Not run by the tests.** {reason}", ""]


def _framework_note(name: str) -> list[str]:
    """The note above a framework cell: where it runs, and how to run it in a notebook."""
    framework = FRAMEWORKS[name]
    note = f"> **{framework.title}.** {framework.why}"
    if framework.venv:
        env = f"{framework.venv.lstrip('.')}"
        note += (
            f" In a notebook: `python3 -m venv {env} && {env}/bin/pip install {framework.pip}`"
            f" once, then put `export PATH=$PWD/{env}/bin:$PATH` as the first line of this "
            "cell, under `%%bash`."
        )
    return [note, ""]


def build(page: Path) -> dict:
    """The notebook of a chapter page, as an nbformat 4 dictionary."""
    return build_expanded(expand(page))


def build_expanded(expanded: Expanded) -> dict:
    """The notebook of a page from its expanded text (``tools.pages.expand_text``)."""
    name, lines, origin, includes = expanded
    keep = len(lines)
    while keep and origin[keep - 1] == 0:  # the glossary appended to every page: tooltips only
        keep -= 1
    flat = flatten_containers(list(lines[:keep]))
    if not flat or not flat[0].startswith("# "):
        raise PageError(f"docs/{name}:1: a chapter starts with its '# Title' line")
    fences = scan_fences(Expanded(name, tuple(flat), origin[:keep], includes[:keep]))
    blocks = {b.line: b for b in extract_blocks(expanded)}
    body = _Cells(name, flat, blocks).read(fences)
    codes = [b.code for b in blocks.values() if b.lang == "python"]
    body = [_new_cell("code", install_cell(codes, guide_shell(list(blocks.values())))), *body]
    cells = [_new_cell("markdown", _intro(name, flat[0][2:].strip(), body)), *body]
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index:03d}"
    return {"cells": cells, "metadata": _metadata(name, cells), "nbformat": 4, "nbformat_minor": 5}


class _Cells:
    """A page's fences and the prose between them, read in order into notebook cells."""

    def __init__(self, page: str, flat: list[str], blocks: dict[int, Block]):
        self.page, self.flat, self.blocks = page, flat, blocks
        self.cells: list[dict] = []
        self.prose: list[str] = []  # markdown waiting for the next code cell
        self.last: Block | None = None  # the block of the last code cell
        self.used: set[int] = set()  # the lines of the blocks that became cells

    def read(self, fences) -> list[dict]:
        """The cells, in page order; a runnable block that became no cell is an error."""
        position = 1  # after the title
        for fence in fences:
            start, end = fence.span
            between = self.flat[position:start]
            position = end + 1
            if fence.is_expected_output:
                self._output(fence, between)
            else:
                self.prose += between
                indent = indent_of(self.flat[start])
                self._fence(fence, [line[indent:] for line in self.flat[start : end + 1]])
        self.prose += self.flat[position:]
        self._flush()
        lost = sorted(set(self.blocks) - self.used)
        if lost:  # e.g. a code block inside an admonition, which became a block quote
            raise PageError(
                f"docs/{self.page}:{lost[0]}: this block did not become a notebook cell; "
                "keep code blocks outside admonitions"
            )
        return self.cells

    def _fence(self, fence, text: list[str]) -> None:
        block = self.blocks.get(fence.line)
        if fence.marker and fence.marker.kind == NOT_RUN:
            self.prose += _note(NOT_RUN, fence.marker.reason) + text
        elif fence.marker and fence.marker.kind == EXERCISE:
            self.prose += [EXERCISE_NOTE, "", *text]
        elif block is not None:
            metadata = {}
            if block.gpu_only:
                self.prose += _note(GPU_ONLY, block.gpu_only)
                metadata = {"tags": [GPU_ONLY]}
            if block.framework:
                self.prose += _framework_note(block.framework)
                metadata = {"tags": [block.framework]}
            if block.solution:
                self.prose += ["", SOLUTION_NOTE]
                metadata = {"tags": [SOLUTION_TAG], "jupyter": dict(FOLDED)}
            self._flush()
            self.cells.append(_new_cell("code", code_source(block), metadata=metadata))
            self.used.add(block.line)
            self.last = block
        elif fence.info.split()[:1] == ["mermaid"]:
            self.prose.append(
                f"*The chapter draws a diagram here: see it on [the page]({page_url(self.page)}).*"
            )
        else:
            self.prose += text

    def _output(self, fence, between: list[str]) -> None:
        """The output shown under a block becomes its cell's output; its tolerance, a note."""
        markers = (EXPECTED_OUTPUT_RE, TOLERANCE_RE)
        quiet = [x for x in between if x.strip() and not any(m.match(x) for m in markers)]
        if not self.cells or self.cells[-1]["cell_type"] != "code" or quiet or self.prose:
            raise PageError(f"{fence.where}: an expected output must follow its code block")
        stream = {"name": "stdout", "output_type": "stream", "text": fence.code}
        self.cells[-1]["outputs"] = [stream]
        output = self.last.expected_output if self.last else None
        if output is not None and output.tolerance is not None:
            self.prose.append(tolerance_note(output.tolerance, self.page))

    def _flush(self) -> None:
        text = markdown_cell_text(self.prose, self.page)
        if text:
            self.cells.append(_new_cell("markdown", text))
        self.prose.clear()


def _metadata(page: str, cells: list[dict]) -> dict:
    """Jupyter's kernel, Colab's notebook settings (a T4 when a cell needs CUDA), and where the
    notebook comes from."""
    colab = {"name": f"{notebook_name(page)}.ipynb", "provenance": [], "toc_visible": True}
    metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}, "colab": colab}
    if any(GPU_ONLY in c["metadata"].get("tags", []) for c in cells):
        metadata["accelerator"] = "GPU"
        colab["gpuType"] = "T4"
    metadata["guide"] = {"page": f"docs/{page}", "generator": "tools/notebooks.py"}
    return metadata


def render(notebook: dict) -> str:
    """The notebook file's exact text: validated, keys sorted, one-space indents, final newline."""
    import nbformat

    node = nbformat.from_dict(notebook)
    nbformat.validate(node)
    return nbformat.writes(node).rstrip("\n") + "\n"


@functools.cache
def _rendered(expanded: Expanded) -> str:
    """The notebook text of an expanded page; made once per page text in a process (the tests
    check the notebooks three times)."""
    return render(build_expanded(expanded))


def _compare() -> tuple[list[tuple[Path, Path, str, str | None]], list[Path]]:
    """Each chapter's notebook as generated now beside the committed one, and the notebooks
    that have no chapter: ``([(path, page, new text, committed text or None)], [extra path])``.
    """
    found = []
    for page in chapters():
        path = notebook_path(page_name(page))
        old = path.read_text(encoding="utf-8") if path.is_file() else None
        found.append((path, page, _rendered(expand(page)), old))
    paths = {path for path, *_ in found}
    committed = sorted(tools.chapters.NOTEBOOKS.glob("*.ipynb"))
    return found, [p for p in committed if p not in paths]


def check() -> list[str]:
    """What is out of date: one line per stale, missing or extra notebook."""
    problems = []
    found, extra = _compare()
    for path, page, text, old in found:
        rel = f"notebooks/{path.name}"
        if old is None:
            problems.append(f"{rel} is missing (chapter docs/{page_name(page)})")
        elif old != text:
            problems.append(f"{rel} is stale: docs/{page_name(page)} or its snippets changed")
    problems += [f"notebooks/{path.name} has no chapter: delete it" for path in extra]
    return problems


def write() -> list[str]:
    """Write every chapter's notebook and delete notebooks that lost their chapter."""
    tools.chapters.NOTEBOOKS.mkdir(exist_ok=True)
    done = []
    found, extra = _compare()
    for path, _, text, old in found:
        if old != text:
            path.write_text(text, encoding="utf-8")
        state = "unchanged" if old == text else ("written" if old is None else "updated")
        done.append(f"notebooks/{path.name}: {state}")
    for path in extra:
        path.unlink()
        done.append(f"notebooks/{path.name}: deleted (no chapter)")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale notebooks")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for line in problems:
            print(line)
        if problems:
            print("run: python -m tools.notebooks")
        return 1 if problems else 0
    for line in write():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
