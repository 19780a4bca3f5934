"""Colab notebooks generated from the chapters: ``notebooks/<chapter>.ipynb``, one per chapter.

    python tools/notebooks.py           # write every notebook (or: make notebooks)
    python tools/notebooks.py --check   # list stale, missing or extra notebooks; exit 1 if any

A chapter is read exactly as the doc tests read it (``tools/pages.py``: the site's own snippet
expansion, pytest-codeblocks' own block extraction), so a code cell is the text of a block the
tests run, and the output under it is the output they check. The page becomes:

- a first markdown cell (title, where it comes from, the knobs of the chapter and how to turn
  them to a Colab GPU) and a first code cell that installs ftkit from the repository plus the
  pinned versions of the libraries the chapter imports (Unsloth on its own line, because it
  pins its own transformers and TRL); Colab's torch is kept;
- prose as markdown cells: content tabs become bold labels, admonitions block quotes, links to
  other pages absolute links to the site, ``\\(..\\)`` math ``$..$``; Mermaid diagrams become a
  link to the page (neither Colab nor this site's notebook pages run Mermaid);
- each block the tests run as a code cell (bash through ``%%bash``), with the page's expected
  output as the cell's output; a GPU-only block keeps its note and a ``gpu-only`` tag; a not-run
  block stays in the markdown with its reason.

The notebooks are committed; ``tests/test_notebooks.py`` fails when one is out of date with its
chapter and executes one end to end with nbclient. The site renders them with mkdocs-jupyter and
every chapter page links to its notebook (``tools/mkdocs_hooks.py``).
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib.metadata
import posixpath
import re
import sys
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python tools/notebooks.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.pages import (  # noqa: E402
    EXPECTED_OUTPUT_RE,
    GPU_ONLY,
    MARKER_RE,
    NOT_RUN,
    ROOT,
    Block,
    PageError,
    as_sentence,
    expand,
    extract_blocks,
    page_name,
    pages,
    runnable_blocks,
    scan_fences,
    site_config,
)

NOTEBOOKS = ROOT / "notebooks"
NOT_CHAPTERS = ("index.md", "how-this-guide-works.md")  # pages about the guide, not chapters
# A knob: an upper-case name set at the top level, with its Colab GPU value in the comment.
KNOB_RE = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*) = (?P<value>.+?)  # Colab GPU: (?P<colab>.+)$")
# Any other line that changes on a GPU says how in its comment: "# on a GPU: ...", "# T4: ...".
GPU_HINT_RE = re.compile(
    r"^(?P<code>.*?)\s*#\s*(?:[Oo]n a GPU|T4|[Rr]eal models?):\s*(?P<hint>.+)$"
)
# Colab's own builds stay: its torch is built for its GPU, and its pillow is imported when the
# runtime starts (replacing it would ask for a restart); ftkit only needs pillow>=10.
COLAB_KEEPS = {"torch", "pillow"}
# The libraries Unsloth installs at its own versions; pinning ours would break it.
UNSLOTH_OWNS = {
    "transformers", "tokenizers", "trl", "datasets", "peft", "accelerate", "bitsandbytes",
    "safetensors",
}  # fmt: skip
# Libraries that transformers imports only when a class of theirs is used: the name shows the need.
LAZY_LIBRARIES = {"BitsAndBytesConfig": "bitsandbytes"}
TAB_RE = re.compile(r'^(?P<indent>\s*)===\+?\s+"(?P<title>.*)"\s*$')
ADMONITION_RE = re.compile(
    r'^(?P<indent>\s*)(?:!!!|\?\?\?\+?)\s+(?P<kind>[\w-]+)(?:\s+"(?P<title>.*)")?\s*$'
)
LINK_RE = re.compile(r"\]\((?P<target>[^)\s]+)\)")
CODE_SPAN_RE = re.compile(r"(`+)(?:.+?)\1")
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


@dataclass(frozen=True)
class Knob:
    """A knob line of a code cell: ``NAME = tiny value  # Colab GPU: value``."""

    name: str
    value: str
    colab: str


@functools.cache
def _site() -> tuple[str, str]:
    """The repository and site URLs from mkdocs.yml (so a fork's notebooks point at the fork)."""
    config = site_config()
    return config["repo_url"].rstrip("/"), config["site_url"].rstrip("/") + "/"


def notebook_name(page: str) -> str:
    """``peft/lora.md`` -> ``peft-lora``; ``peft/index.md`` -> ``peft``."""
    parts = page.removesuffix(".md").split("/")
    if parts[-1] == "index" and len(parts) > 1:
        parts = parts[:-1]
    return "-".join(parts)


def notebook_path(page: str) -> Path:
    return NOTEBOOKS / f"{notebook_name(page)}.ipynb"


def colab_url(page: str) -> str:
    """The notebook opened in Colab straight from the repository's main branch."""
    repo = _site()[0]
    if not repo.startswith("https://github.com/"):
        raise PageError(f"mkdocs.yml: repo_url {repo} is not on GitHub, which Colab opens from")
    path = f"{repo.removeprefix('https://github.com/')}/blob/main/notebooks"
    return f"https://colab.research.google.com/github/{path}/{notebook_name(page)}.ipynb"


def site_path(page: str) -> str:
    """The page's path on the site: ``peft/lora.md`` -> ``peft/lora/``; ``peft/index.md`` ->
    ``peft/``."""
    path = page.removesuffix(".md")
    if path == "index" or path.endswith("/index"):
        return path.removesuffix("index")
    return path + "/"


def page_url(page: str) -> str:
    """The page's address on the published site."""
    return _site()[1] + site_path(page)


def chapters() -> list[Path]:
    """The pages that get a notebook: every chapter with at least one block the tests run."""
    return [p for p in pages() if page_name(p) not in NOT_CHAPTERS and runnable_blocks(p)]


# --- the page's Markdown, as Markdown a notebook renders ---------------------------------------


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def flatten_containers(lines: list[str]) -> list[str]:
    """Content tabs -> a bold label and their body; admonitions -> block quotes.

    One line out per line in, so the expanded text's line origins still hold.
    """
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        tab, note = TAB_RE.match(line), ADMONITION_RE.match(line)
        if not (tab or note):
            out.append(line)
            i += 1
            continue
        indent = _indent(line)
        end = i + 1
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
            end += 1
        while end > i + 1 and not lines[end - 1].strip():
            end -= 1  # blank lines after the body belong to the page, not the container
        body = flatten_containers([b[indent + 4 :] for b in lines[i + 1 : end]])
        pad = " " * indent
        if tab:
            out.append(f"{pad}**{tab['title']}**")
            out += [f"{pad}{b}" if b.strip() else "" for b in body]
        else:
            title = note["title"] or note["kind"].capitalize()
            out.append(f"{pad}> **{title}**")
            out += [f"{pad}> {b}".rstrip() for b in body]
        i = end
    return out


def _absolute_links(text: str, page: str) -> str:
    def repl(m: re.Match) -> str:
        target = m["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            return m.group(0)
        path, _, anchor = target.partition("#")
        anchor = f"#{anchor}" if anchor else ""
        if not path:
            return f"]({page_url(page)}{anchor})"
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), path))
        if resolved.endswith(".md"):
            return f"]({page_url(resolved)}{anchor})"
        return f"]({_site()[1]}{resolved}{anchor})"

    return LINK_RE.sub(repl, text)


def _dollar_math(text: str) -> str:
    r"""``\(x\)`` -> ``$x$`` and ``\[x\]`` -> ``$$x$$``, outside code spans."""
    out, last = [], 0
    for m in CODE_SPAN_RE.finditer(text):
        out.append(_dollar_math_plain(text[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(_dollar_math_plain(text[last:]))
    return "".join(out)


def _dollar_math_plain(text: str) -> str:
    if text.strip() in ("\\[", "\\]"):  # a display block's own delimiter line
        return text.replace("\\[", "$$").replace("\\]", "$$")
    text = re.sub(r"\\\((.+?)\\\)", lambda m: f"${m[1].strip()}$", text)
    return re.sub(r"\\\[(.+?)\\\]", lambda m: f"$${m[1].strip()}$$", text)


def markdown_cell_text(lines: list[str], page: str) -> str:
    """Prose lines -> a markdown cell: markers dropped, links absolute, math in dollars."""
    out: list[str] = []
    fence: str | None = None
    for line in lines:
        stripped = line.strip()
        if fence is None and (MARKER_RE.match(line) or EXPECTED_OUTPUT_RE.match(line)):
            continue
        m = re.match(r"^\s*(`{3,}|~{3,})", line)
        if m and (fence is None or (m[1].startswith(fence) and not stripped[len(m[1]) :])):
            fence = m[1] if fence is None else None
            out.append(line)
            continue
        out.append(line if fence else _dollar_math(_absolute_links(line, page)))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")
    return text


# --- the install cell ---------------------------------------------------------------------------


@functools.cache
def pins() -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of requirements.txt."""
    found = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#;]+)", line)
        if m:
            found[_normal(m[1])] = m[2]
    return found


def _normal(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


@functools.cache
def _ftkit_dependencies() -> tuple[str, ...]:
    """The distributions ftkit declares in pyproject.toml (read as text: no tomllib on 3.10)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M)
    if not block:
        raise PageError("pyproject.toml: no [project] dependencies list")
    names = re.findall(r'^\s*"([A-Za-z0-9_.-]+)', block[1], re.M)
    return tuple(_normal(n) for n in names)


def _imports(code: str) -> set[str]:
    """Dotted names of every module imported anywhere in ``code`` (function bodies included)."""
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def imported_modules(codes: list[str]) -> set[str]:
    """Top-level modules the code needs, following imports into ftkit's own modules."""
    todo = set().union(*(_imports(c) for c in codes)) if codes else set()
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        source = ROOT / (name.replace(".", "/") + ".py")
        if name.split(".")[0] == "ftkit" and source.is_file():
            todo |= _imports(source.read_text(encoding="utf-8"))
    return {name.split(".")[0] for name in seen}


def install_packages(codes: list[str]) -> tuple[list[str], list[str]]:
    """(pip requirements, the ones Unsloth replaces) for a chapter's code.

    The requirements are ftkit from the repository, then ftkit's own dependencies and the
    distributions of every module the code (and the ftkit modules it uses) imports, at
    requirements.txt's versions; accelerate too, which transformers' Trainer and TRL need.
    ``COLAB_KEEPS`` are left to Colab. For a chapter that imports Unsloth, the libraries Unsloth
    installs at its own versions come second, apart, to install only where Unsloth is not.
    """
    modules = imported_modules(codes)
    by_module = importlib.metadata.packages_distributions()
    dists = set(_ftkit_dependencies()) | {"accelerate"}
    for module in modules:
        dists |= {_normal(d) for d in by_module.get(module, [])}
    dists |= {dist for name, dist in LAZY_LIBRARIES.items() if any(name in c for c in codes)}
    dists = {d for d in dists if d in pins() and d not in COLAB_KEEPS}
    owned = dists & UNSLOTH_OWNS if "unsloth" in modules else set()
    packages = [f"ftkit @ git+{_site()[0]}.git"]
    packages += [f"{d}=={pins()[d]}" for d in sorted(dists - owned)]
    return packages, [f"{d}=={pins()[d]}" for d in sorted(owned)]


def install_cell(codes: list[str]) -> str:
    packages, unsloth_replaces = install_packages(codes)
    lines = [
        "# Installs ftkit from the guide's repository and the library versions the guide",
        "# is tested with, where ftkit is missing (a fresh Colab runtime). Colab's torch",
        "# and pillow stay.",
        "import importlib.util",
        "import subprocess",
        "import sys",
        "",
        'PIP = [sys.executable, "-m", "pip", "install", "-q"]',
        "PACKAGES = [",
        *(f'    "{p}",' for p in packages),
        "]",
    ]
    if unsloth_replaces:
        lines += [
            "GUIDE_VERSIONS = [  # Unsloth installs its own versions of these",
            *(f'    "{p}",' for p in unsloth_replaces),
            "]",
            "",
            "import torch",
            "",
            "if torch.cuda.is_available():  # a GPU runtime: Unsloth first, on its own",
            '    if importlib.util.find_spec("unsloth") is None:',
            '        subprocess.run([*PIP, "unsloth"], check=True)',
            "else:  # a CPU runtime: no Unsloth (it needs a GPU), the guide's versions",
            "    PACKAGES += GUIDE_VERSIONS",
        ]
    lines += [
        'if importlib.util.find_spec("ftkit") is None:',
        "    subprocess.run([*PIP, *PACKAGES], check=True)",
    ]
    return "\n".join(lines)


# --- the notebook -------------------------------------------------------------------------------


def knobs(cells: list[dict]) -> list[Knob]:
    """Every knob line of the notebook's code cells, in order."""
    found, seen = [], set()
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        for line in cell["source"].split("\n"):
            m = KNOB_RE.match(line)
            if m and m.group(0) not in seen:  # a knob set again, the same way, is one knob
                seen.add(m.group(0))
                found.append(Knob(m["name"], m["value"], m["colab"]))
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
    found = knobs(cells)
    hints = gpu_hints(cells)
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
    ]
    if found:
        text += [
            "**The knobs.** Each line below sets a knob to its tiny default, with the value for a "
            "Colab GPU in its comment. To train a real model, switch the runtime to a GPU "
            "(*Runtime > Change runtime type > T4 GPU*) and replace each default with its Colab "
            "value: one edit per knob.",
            "",
            "| knob | default here (CPU) | Colab GPU |",
            "| --- | --- | --- |",
        ]
        for knob in found:
            text.append(f"| `{knob.name}` | `{_cell(knob.value)}` | {_code_or_prose(knob.colab)} |")
        text.append("")
    else:
        text += [
            "**The knobs.** This chapter has none: its code is the same on a CPU and on a GPU.",
            "",
        ]
    if hints:
        text += [
            "**Other lines for a GPU.** These lines are set for the CPU, and their comment says "
            "what a GPU run uses instead:",
            "",
            "| line | on a GPU |",
            "| --- | --- |",
            *(f"| `{_cell(code)}` | {_code_or_prose(hint)} |" for code, hint in hints),
            "",
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
    return "\n".join(text).strip("\n")


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


def _code_source(block: Block) -> str:
    code = block.code.rstrip("\n")
    return f"%%bash\n{code}" if block.lang in ("bash", "sh") else code


def _note(kind: str, reason: str) -> list[str]:
    reason = as_sentence(reason)
    if kind == GPU_ONLY:
        return [f"> **GPU only.** {reason} Run this cell on a GPU runtime.", ""]
    return [f"> **Not run by the tests.** {reason}", ""]


def build(page: Path) -> dict:
    """The notebook of a chapter page, as an nbformat 4 dictionary."""
    return build_expanded(page_name(page), *expand(page))


def build_expanded(name: str, lines: tuple[str, ...], origin: tuple[int, ...]) -> dict:
    """The notebook of page ``name`` from its expanded text (``tools.pages.expand_text``)."""
    keep = len(lines)
    while keep and origin[keep - 1] == 0:  # the glossary appended to every page: tooltips only
        keep -= 1
    flat = flatten_containers(list(lines[:keep]))
    fences = scan_fences(tuple(flat), origin[:keep], name)
    blocks = {b.line: b for b in extract_blocks(lines, origin, name)}
    if not flat or not flat[0].startswith("# "):
        raise PageError(f"docs/{name}:1: a chapter starts with its '# Title' line")
    title = flat[0][2:].strip()

    cells: list[dict] = []
    prose: list[str] = []
    used: set[int] = set()

    def flush() -> None:
        text = markdown_cell_text(prose, name)
        if text:
            cells.append(_new_cell("markdown", text))
        prose.clear()

    position = 1  # after the title
    for fence in fences:
        start, end = fence.span
        between = flat[position:start]
        position = end + 1
        fence_text = [line[_indent(flat[start]) :] for line in flat[start : end + 1]]
        if fence.is_expected_output:
            quiet = [x for x in between if x.strip() and not EXPECTED_OUTPUT_RE.match(x)]
            if not cells or cells[-1]["cell_type"] != "code" or quiet or prose:
                raise PageError(f"{fence.where}: an expected output must follow its code block")
            cells[-1]["outputs"] = [{"name": "stdout", "output_type": "stream", "text": fence.code}]
            continue
        prose += between
        block = blocks.get(fence.line)
        if fence.marker and fence.marker.kind == NOT_RUN:
            prose += _note(NOT_RUN, fence.marker.reason) + fence_text
        elif block is not None:
            used.add(block.line)
            metadata = {}
            if block.gpu_only:
                prose += _note(GPU_ONLY, block.gpu_only)
                metadata = {"tags": [GPU_ONLY]}
            flush()
            cells.append(_new_cell("code", _code_source(block), metadata=metadata))
        elif fence.info.split()[:1] == ["mermaid"]:
            prose += [
                f"*The chapter draws a diagram here: see it on [the page]({page_url(name)}).*",
            ]
        else:
            prose += fence_text
    prose += flat[position:]
    flush()

    lost = sorted(set(blocks) - used)
    if lost:  # e.g. a code block inside an admonition, which became a block quote
        raise PageError(
            f"docs/{name}:{lost[0]}: this block did not become a notebook cell; "
            "keep code blocks outside admonitions"
        )
    codes = [b.code for b in blocks.values() if b.lang == "python"]
    body = [_new_cell("code", install_cell(codes)), *cells]
    cells = [_new_cell("markdown", _intro(name, title, body)), *body]
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index:03d}"
    gpu = any(GPU_ONLY in c["metadata"].get("tags", []) for c in cells)
    colab = {"name": f"{notebook_name(name)}.ipynb", "provenance": [], "toc_visible": True}
    metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}, "colab": colab}
    if gpu:
        metadata["accelerator"] = "GPU"
        colab["gpuType"] = "T4"
    metadata["guide"] = {"page": f"docs/{name}", "generator": "tools/notebooks.py"}
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def render(notebook: dict) -> str:
    """The notebook file's exact text: validated, keys sorted, one-space indents, final newline."""
    import nbformat

    node = nbformat.from_dict(notebook)
    nbformat.validate(node)
    return nbformat.writes(node).rstrip("\n") + "\n"


def _compare() -> tuple[list[tuple[Path, Path, str, str | None]], list[Path]]:
    """Each chapter's notebook as generated now beside the committed one, and the notebooks
    that have no chapter: ``([(path, page, new text, committed text or None)], [extra path])``.
    """
    found = []
    for page in chapters():
        path = notebook_path(page_name(page))
        old = path.read_text(encoding="utf-8") if path.is_file() else None
        found.append((path, page, render(build(page)), old))
    paths = {path for path, *_ in found}
    return found, [p for p in sorted(NOTEBOOKS.glob("*.ipynb")) if p not in paths]


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
    NOTEBOOKS.mkdir(exist_ok=True)
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
            print("run: python tools/notebooks.py")
        return 1 if problems else 0
    for line in write():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
