"""Guard tests: nothing on the site escapes the doc tests without saying why.

- every fenced block of every page is executed, or is the checked output of the block above,
  or is a Mermaid diagram (rendered and checked by the browser test), or carries a
  ``<!-- not-run: reason -->`` / ``<!-- gpu-only: reason -->`` marker with a reason, or is an
  exercise's blank followed by its solution, which runs and shows its output
  (``tools/exercises.py``); a tolerance marker sits above a shown output and gives a value;
  a ``<!-- framework: NAME -->`` block names a framework of ``tools.pages.FRAMEWORKS`` and is a
  plain python/bash fence (bash, when the framework has an environment of its own, which a make
  target builds); a ``<!-- file: NAME -->`` block is a backtick fence the tests write to NAME;
- every file in snippets/ is included by some page, and every include resolves;
- every snippet file runs on its own, ``python FILE``, as its docstring promises. A snippet file
  is its sections and nothing else (a docstring, comments), and one page, the page its folder
  names (``snippets/peft/lora/`` for ``docs/peft/lora.md``), includes each of its sections once,
  in the file's order, in blocks of their own: the doc tests run those blocks in a
  namespace of the file's own (``tools.pages.PageRun``), so the page's run is the file's run, top
  to bottom, and is not repeated here. One file also runs in a fresh process, as a reader runs it.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools.exercises import exercise_problems
from tools.outputs import mismatches
from tools.pages import (
    EXERCISE,
    FILE,
    FRAMEWORK,
    FRAMEWORKS,
    INCLUDE_RE,
    MARKER_RE,
    ROOT,
    RUNNABLE,
    SNIPPETS,
    SOLUTION,
    TOLERANCE_RE,
    Expanded,
    PageError,
    expand,
    extract_blocks,
    page_name,
    pages,
    scan_fences,
)

DIAGRAMS = ("mermaid",)  # rendered in the browser test, which fails on a syntax error
# pytest-codeblocks' own skip switches would hide a block without a visible reason.
HIDDEN_SKIP_RE = re.compile(r"<!--[-\s]*(pytest\.mark\.|pytest-codeblocks:(?!expected-output))")
# A section marker, with what follows it: ftkit's start markers name the page that shows them.
SECTION_RE = re.compile(
    r"^(?P<indent>\s*)#\s*-{1,}8<-{1,}\s*\[(?P<edge>start|end):(?P<name>[^\]]+)\](?P<post>.*)$"
)
FTKIT = ROOT / "ftkit"

PAGES = pages()
SNIPPET_FILES = sorted(SNIPPETS.rglob("*.py"))


def fence_problems(expanded: Expanded) -> list[str]:
    """Every fence of an expanded page that would escape the doc tests, and every marker out of
    place, as 'docs/page:line: why'."""
    name, lines, origin, _ = expanded
    problems = []
    found = scan_fences(expanded)
    executed = {block.line for block in extract_blocks(expanded)}
    for fence in found:
        snippets = [i for i in fence.includes if i.startswith("snippets/")]
        if snippets and fence.snippet_file is None:
            problems.append(
                f"{fence.where}: a block with snippet sections holds nothing else (no other "
                "file, no code written in the page), so that it runs in its file's namespace"
            )
        lang = fence.info.split()[0] if fence.info else ""
        kind = fence.marker.kind if fence.marker else None
        if kind == EXERCISE:
            continue  # the reader's blank; exercise_problems checks its solution follows
        if fence.marker and kind != SOLUTION:  # a solution is checked as any runnable block
            found_before = len(problems)
            if not fence.marker.reason:
                problems.append(f"{fence.where}: the {fence.marker.kind} marker gives no reason")
            elif fence.marker.kind in ("gpu-only", FRAMEWORK) and not (
                fence.fence.startswith("`") and fence.info in RUNNABLE
            ):
                problems.append(
                    f"{fence.where}: a {fence.marker.kind} block must be a plain python/bash fence"
                )
            elif (
                kind == FRAMEWORK
                and FRAMEWORKS[fence.marker.reason].venv
                and fence.info not in ("bash", "sh")
            ):
                problems.append(
                    f"{fence.where}: a block of {fence.marker.reason}'s own environment runs in "
                    "a shell there: make it a bash fence"
                )
            elif kind == FILE and not fence.fence.startswith("`"):
                problems.append(f"{fence.where}: a file block must be a backtick fence")
            # a framework block runs: unless it is wrong already, the checks below are its too
            if kind != FRAMEWORK or len(problems) > found_before:
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
    tolerances = {f.tolerance[0] for f in found if f.tolerance}
    for line, number in zip(lines, origin, strict=True):
        if TOLERANCE_RE.match(line) and number not in tolerances:
            problems.append(
                f"docs/{name}:{number}: a tolerance marker goes on the line above a shown "
                "output's <!--pytest-codeblocks:expected-output--> marker"
            )
        if HIDDEN_SKIP_RE.search(line):
            problems.append(
                f"docs/{name}:{number}: pytest-codeblocks skip/cont switches hide "
                "blocks; use <!-- not-run: reason --> or <!-- gpu-only: reason -->"
            )
        if MARKER_RE.match(line) and number not in marked:
            problems.append(f"docs/{name}:{number}: marker is not directly above a fence")
    return problems + exercise_problems(expanded)


@pytest.mark.parametrize("page", PAGES, ids=page_name)
def test_every_block_runs_or_says_why(page):
    try:
        problems = fence_problems(expand(page))
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


def sections(path: Path) -> tuple[list[str], list[str]]:
    """A snippet file's section names in order, and what in it is not a section."""
    text = path.read_text(encoding="utf-8")
    names, spans, problems, open_ = [], [], [], None
    for number, line in enumerate(text.split("\n"), start=1):
        m = SECTION_RE.match(line)
        if not m:
            continue
        if m["edge"] == "start":
            if open_:
                problems.append(f"line {number}: section {m['name']!r} opens inside {open_[0]!r}")
            open_ = (m["name"], number)
        elif not open_ or open_[0] != m["name"]:
            problems.append(f"line {number}: section {m['name']!r} ends but was not open")
        else:
            names.append(open_[0])
            spans.append((open_[1], number))
            open_ = None
    body = ast.parse(text).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    for node in body:
        if not any(start < node.lineno and node.end_lineno < end for start, end in spans):
            problems.append(f"line {node.lineno}: code outside the sections a page includes")
    return names, problems


def snippet_file_problems(path: Path, uses: list[tuple[str, str]]) -> list[str]:
    """Why the page's run of snippet file ``path`` would not be its run alone, if it would not.

    ``uses`` lists the ``(page, section)`` of every block made of the file's sections, in page
    order.
    """
    rel = path.relative_to(ROOT).as_posix()
    names, problems = sections(path)
    problems = [f"{rel}:{p}" for p in problems]
    on = sorted({page for page, _ in uses})
    named = path.parent.relative_to(SNIPPETS).as_posix() + ".md"  # its folder names its page
    if on and on != [named]:
        shown_by = ", ".join(f"docs/{page}" for page in on)
        problems.append(f"{rel}: shown by {shown_by}; its folder names docs/{named}")
    if [section for _, section in uses] != names:
        problems.append(
            f"{rel}: pages run its sections as {[s for _, s in uses]}, the file has {names} "
            "(each section once, in the file's order, in a block of its own)"
        )
    return problems


def test_every_snippet_file_is_what_its_page_runs():
    """The doc tests' run of a page is the run alone of each snippet file on it (see above)."""
    uses: dict[str, list[tuple[str, str]]] = {}  # file -> [(page, section)] in page order
    for page in PAGES:
        executed = {block.line for block in extract_blocks(expand(page))}
        for fence in scan_fences(expand(page)):
            if fence.snippet_file and fence.line in executed:
                for include in fence.includes:
                    section = include.split(":", 1)[1] if ":" in include else ""
                    uses.setdefault(fence.snippet_file, []).append((fence.page, section))
    problems = [
        problem
        for path in SNIPPET_FILES
        for problem in snippet_file_problems(path, uses.get(path.relative_to(ROOT).as_posix(), []))
    ]
    assert not problems, "\n".join(problems)


def test_the_snippet_file_guard_catches_what_would_not_run_alone(tmp_path, monkeypatch):
    import tests.test_guards as guards

    monkeypatch.setattr(guards, "ROOT", tmp_path)
    monkeypatch.setattr(guards, "SNIPPETS", tmp_path / "snippets")
    path = tmp_path / "snippets" / "part" / "page" / "ex01_x.py"
    path.parent.mkdir(parents=True)
    path.write_text(
        '"""Doc."""\n\nimport os  # glue outside the sections\n\n# --8<-- [start:a]\nx = 1\n'
        "# --8<-- [end:a]\n\n# --8<-- [start:b]\ny = x\n# --8<-- [end:b]\n"
    )
    problems = snippet_file_problems(path, [("other/page.md", "b"), ("other/page.md", "a")])
    assert problems == [
        "snippets/part/page/ex01_x.py:line 3: code outside the sections a page includes",
        "snippets/part/page/ex01_x.py: shown by docs/other/page.md; its folder names "
        "docs/part/page.md",
        "snippets/part/page/ex01_x.py: pages run its sections as ['b', 'a'], the file has "
        "['a', 'b'] (each section once, in the file's order, in a block of its own)",
    ]
    path.write_text(path.read_text().replace("import os  # glue outside the sections\n", ""))
    assert snippet_file_problems(path, [("part/page.md", "a"), ("part/page.md", "b")]) == []


def test_a_snippet_file_runs_alone_in_a_fresh_process(tmp_path):
    """As a reader runs one: ``python snippets/...`` from another folder, nothing preloaded, and
    it prints what its page shows."""
    path = SNIPPETS / "quantization" / "index" / "ex01_formats.py"
    file = path.relative_to(ROOT).as_posix()
    shown = [
        block.expected_output.text
        for page in PAGES
        for block in extract_blocks(expand(page))
        if block.snippet_file == file
    ]
    proc = subprocess.run(
        [sys.executable, str(path)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert shown and not mismatches("".join(shown), proc.stdout, None, file, 1)


def ftkit_section_problems(files: list[Path], shown: dict[str, set[str]]) -> list[str]:
    """Why an ftkit section would move unannounced: a marker inside a function or class body, a
    start marker that names no page (``# --8<-- [start:layer] docs/peft/lora.md``), or a page
    that does not include what the marker says it shows, or includes what no marker names.

    ``shown`` maps ``"ftkit/x.py:section"`` to the pages (relative to docs/) that include it.
    """
    problems, named = [], set()
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
            m = SECTION_RE.match(line)
            if not m:
                continue
            where = f"{rel}:{number}"
            if m["indent"]:
                problems.append(f"{where}: a section marker inside a body; put it at the top level")
            if m["edge"] == "end":
                continue
            page = m["post"].strip().removeprefix("docs/")
            key = f"{rel}:{m['name']}"
            named.add((key, page))
            if not page:
                problems.append(f"{where}: name the page that shows the section after the marker")
            elif page not in shown.get(key, set()):
                problems.append(f"{where}: docs/{page} does not include {key}")
    for key, on in sorted(shown.items()):
        for page in sorted(on - {p for k, p in named if k == key}):
            problems.append(f"docs/{page} includes {key}, whose marker does not name the page")
    return problems


def test_every_ftkit_section_names_the_page_that_shows_it():
    shown: dict[str, set[str]] = {}
    for page in PAGES:
        for line in page.read_text(encoding="utf-8").split("\n"):
            m = INCLUDE_RE.match(line)
            if m and m["target"].startswith("ftkit/"):
                shown.setdefault(m["target"], set()).add(page_name(page))
    assert shown, "no page shows ftkit's source: the check would look at nothing"
    problems = ftkit_section_problems(sorted(FTKIT.rglob("*.py")), shown)
    assert not problems, "\n".join(problems)


def test_the_ftkit_section_guard_catches_a_moved_section(tmp_path, monkeypatch):
    import tests.test_guards as guards

    monkeypatch.setattr(guards, "ROOT", tmp_path)
    path = tmp_path / "ftkit" / "m.py"
    path.parent.mkdir()
    path.write_text(
        "# --8<-- [start:a] docs/p.md\ndef f():\n    pass\n    # --8<-- [end:a]\n"
        "# --8<-- [start:b]\nx = 1\n# --8<-- [end:b]\n"
    )
    shown = {"ftkit/m.py:a": {"q.md"}, "ftkit/m.py:b": {"p.md"}}
    assert ftkit_section_problems([path], shown) == [
        "ftkit/m.py:1: docs/p.md does not include ftkit/m.py:a",
        "ftkit/m.py:4: a section marker inside a body; put it at the top level",
        "ftkit/m.py:5: name the page that shows the section after the marker",
        "docs/q.md includes ftkit/m.py:a, whose marker does not name the page",
        "docs/p.md includes ftkit/m.py:b, whose marker does not name the page",
    ]


# Shown code must fit the site's code column, 80 characters at a 1280-pixel window: the line
# length snippets/ruff.toml formats the snippets to. Outputs ("text": a table may need the
# width) and diagrams are not held to it; tests/test_site.py measures the rendered blocks.
SHOWN_LINE_LENGTH = int(
    re.search(r"^line-length\s*=\s*(\d+)", (SNIPPETS / "ruff.toml").read_text(), re.M)[1]
)
NOT_CODE = ("", "text", *DIAGRAMS)


def long_shown_lines(expanded: Expanded) -> list[str]:
    """Every line of shown code longer than SHOWN_LINE_LENGTH, as 'docs/page:line: ...' naming
    the block, the line in it and where the line comes from (an include, or the page)."""
    problems = []
    for fence in scan_fences(expanded):
        lang = fence.info.split()[0] if fence.info else ""
        if fence.is_expected_output or lang in NOT_CODE:
            continue
        for k, line in enumerate(fence.code.split("\n"), start=1):
            if len(line) > SHOWN_LINE_LENGTH:
                source = expanded.includes[fence.span[0] + k] or "the page"
                problems.append(
                    f"{fence.where}: line {k} of the block ({source}) has {len(line)} "
                    f"characters: {line.strip()[:40]}..."
                )
    return problems


@pytest.mark.parametrize("page", PAGES, ids=page_name)
def test_shown_code_fits_the_column(page):
    problems = long_shown_lines(expand(page))
    assert not problems, (
        f"shown code over {SHOWN_LINE_LENGTH} characters (put a comment on its own line, split "
        "the statement; `make format` formats snippets/ to fit):\n" + "\n".join(problems)
    )


def test_the_line_length_guard_names_the_long_line():
    from tools.pages import expand_text

    long = "x = 1  # " + "a comment that runs on " * 4
    text = f"```python\ny = 2\n{long}\n```\n\n<!--pytest-codeblocks:expected-output-->\n\n"
    text += f"```text\n{'an output table row ' * 5}\n```\n"
    problems = long_shown_lines(expand_text(text, "p.md"))
    assert problems == [
        f"docs/p.md:1: line 2 of the block (the page) has {len(long)} characters: {long[:40]}..."
    ]


def test_every_block_named_in_the_docs_exists():
    """A command like ``pytest tests/test_docs.py -k "lora.md:227"`` in the docs names a block
    that is there: a page edit above it moves its line."""
    ids = {f"{b.page}:{b.line}" for page in PAGES for b in extract_blocks(expand(page))}
    texts = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *PAGES]
    named = [
        (path.relative_to(ROOT), m[1])
        for path in texts
        for m in re.finditer(r'-k "([\w/.-]+\.md:\d+)"', path.read_text(encoding="utf-8"))
    ]
    assert len(named) >= 2, "the check would look at nothing"
    missing = [f"{path}: {ref}" for path, ref in named if not any(i.endswith(ref) for i in ids)]
    assert not missing, "no block at:\n" + "\n".join(missing)


def ftkit_imports(files: list[Path]) -> dict[str, set[str]]:
    """Which ftkit modules each ftkit module imports, at the top or inside a function."""
    graph = {}
    for path in files:
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ftkit."):
                found.add(node.module.split(".")[1])
            elif isinstance(node, ast.ImportFrom) and node.module == "ftkit":
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("ftkit.")}
        graph[path.stem] = found - {path.stem}
    return graph


def import_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph, as a list of modules (the first repeated last), or []."""
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> list[str]:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[module] = "done"
        return []

    for module in sorted(graph):
        if module not in state and (cycle := visit(module, [module])):
            return cycle
    return []


def test_ftkit_imports_go_one_way():
    graph = ftkit_imports(sorted(p for p in FTKIT.glob("*.py") if p.stem != "__init__"))
    assert graph["vlm"] >= {"chat", "evaluate"}  # the check reads real imports
    cycle = import_cycle(graph)
    assert not cycle, "ftkit modules import each other in a cycle: " + " -> ".join(cycle)


def test_the_import_check_finds_a_cycle():
    assert import_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert import_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_every_framework_environment_has_its_make_target():
    """A framework with an environment of its own (``tools.pages.FRAMEWORKS``) is built by
    ``make setup-frameworks`` from its pinned requirements, which ``make test-frameworks``
    needs; a framework name with no such target would fail there, after ``make test`` passed."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    setup = re.search(r"^setup-frameworks:(.*)$", makefile, re.M)
    problems = []
    for name, framework in FRAMEWORKS.items():
        if framework.venv is None:
            continue
        stamp = f"{framework.venv}/.installed"
        if not re.search(
            rf"^{re.escape(stamp)}:.*{re.escape(framework.requirements)}", makefile, re.M
        ):
            problems.append(
                f"{name}: no Makefile rule builds {stamp} from {framework.requirements}"
            )
        if not setup or stamp not in setup[1]:
            problems.append(f"{name}: make setup-frameworks does not build {stamp}")
        if not (ROOT / framework.requirements).is_file():
            problems.append(f"{name}: {framework.requirements} is missing")
        if not framework.pip:
            problems.append(f"{name}: no pip line for a reader's own environment")
    test = re.search(r"^test-frameworks:.*\n((?:\t.*\n)+)", makefile, re.M)
    if not test or "--frameworks" not in test[1]:
        problems.append("make test-frameworks does not run pytest with --frameworks")
    assert not problems, "\n".join(problems)
