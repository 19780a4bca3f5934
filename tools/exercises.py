"""The chapters' exercises: a blank the reader fills in, and a solution the tests run.

An exercise is two blocks in a row on the page, each with a marker on the line above it
(``tools/pages.py``), and the solution's output box:

    <!-- exercise -->

    ```python
    LAYERS = ...  # TODO: Llama-3.1-8B's layer count
    ```

    <!-- solution -->

    ```python
    --8<-- "snippets/peft/lora/ex07_exercises.py:llama8b"
    ```

    <!--pytest-codeblocks:expected-output-->

    ```text
    per layer: 425,984
    ...
    ```

- The **blank** is written in the page, with ``...`` or a TODO where the reader writes; it is
  shown, and not run (there is nothing to run until the reader fills it in).
- The **solution** is a section of a snippet file, run by the doc tests after the blocks above
  it and checked against its output box like any block, and it runs alone as its file does.
- The site folds the solution and its output under a closed "Solution" (``wrap_solutions``,
  called by ``tools/mkdocs_hooks.py``: Material's ``???`` of pymdownx.details, no script). The
  notebook keeps the blank in its prose and gives the solution a cell of its own, folded in
  Jupyter (``tools/notebooks.py``).

``exercise_problems`` is the guard: ``tests/test_guards.py`` runs it on every page (through
``fence_problems``) and ``tests/test_exercises.py`` tests it on made-up pages. An exercise with no
solution after it, a solution with no exercise before it or no output box under it, a solution
that is not a snippet section, or a blank with nothing to fill in fails, naming the page and
line. A marker line inside a fenced block is that block's text (a page may show the format in a
``markdown`` example), not a marker: the guard and ``wrap_solutions`` skip fenced content.
"""

from __future__ import annotations

import re

from tools.pages import (
    EXERCISE,
    EXERCISE_MARKER_RE,
    EXPECTED_OUTPUT_RE,
    FENCE_RE,
    SOLUTION,
    TOLERANCE_RE,
    Expanded,
    scan_fences,
)

SOLUTION_TITLE = '??? success "Solution"'
# What the reader sees in place of an exercise marker, above the blank.
BLANK_NOTE = "*Your version: fill in the `...` and run it; the solution is folded below.*"
TO_FILL_RE = re.compile(r"\.\.\.|\bTODO\b")


class ExerciseError(Exception):
    """An exercise the site cannot render: the message names the page and line."""


def exercise_problems(expanded: Expanded) -> list[str]:
    """Every exercise of an expanded page that is not a blank, then a solution with its output
    box, as 'docs/page:line: why'."""
    name, lines, origin, _ = expanded
    fences = scan_fences(expanded)
    problems = []
    for i, fence in enumerate(fences):
        kind = fence.marker.kind if fence.marker else None
        before = fences[i - 1] if i else None
        after = fences[i + 1] if i + 1 < len(fences) else None
        if kind == EXERCISE:
            if fence.includes or not fence.info.startswith("python"):
                problems.append(
                    f"{fence.where}: an exercise's blank is a python block written in the page "
                    "(a snippet file's every section runs)"
                )
            elif not TO_FILL_RE.search(fence.code):
                problems.append(
                    f"{fence.where}: the exercise's blank has nothing to fill in: put `...` or "
                    "a TODO where the reader writes"
                )
            if not (after and after.marker and after.marker.kind == SOLUTION):
                problems.append(
                    f"{fence.where}: this exercise has no solution: put a <!-- solution --> "
                    "block right after its blank"
                )
        elif kind == SOLUTION:
            if not (before and before.marker and before.marker.kind == EXERCISE):
                problems.append(
                    f"{fence.where}: a solution follows its exercise's blank "
                    "(a <!-- exercise --> block)"
                )
            if fence.snippet_file is None:
                problems.append(
                    f"{fence.where}: a solution is a section of a snippet file "
                    '(--8<-- "snippets/<part>/<page>/exNN_exercises.py:section")'
                )
            if not (after and after.is_expected_output):
                problems.append(
                    f"{fence.where}: this solution has no output box: show what it prints "
                    "under it (<!--pytest-codeblocks:expected-output-->)"
                )
    marked = {f.marker.line for f in fences if f.marker}
    fenced = {k for f in fences for k in range(f.span[0] + 1, f.span[1])}
    for k, (line, number) in enumerate(zip(lines, origin, strict=True)):
        if k not in fenced and EXERCISE_MARKER_RE.match(line) and number not in marked:
            problems.append(f"docs/{name}:{number}: marker is not directly above a fence")
    return problems


def _fence_end(lines: list[str], start: int) -> int:
    """The index of the line that closes the fence opened at ``lines[start]``."""
    m = FENCE_RE.match(lines[start])
    closing = re.compile(rf"^\s*{re.escape(m['fence'][0])}{{{len(m['fence'])},}}\s*$")
    end = start + 1
    while end < len(lines) and not closing.match(lines[end]):
        end += 1
    return end


def _next_nonblank(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def wrap_solutions(markdown: str, page: str) -> str:
    """The page's Markdown as the site renders it: each ``<!-- solution -->`` block and its
    output box (with its tolerance marker) indented under a closed ``??? success "Solution"``,
    and each ``<!-- exercise -->`` marker replaced by the note that the blank is not run.

    Raises:
        ExerciseError: a solution marker without a fence under it, or a solution without its
            output box (the guard tests say the same, for the doc tests' reading of the page).
    """
    lines = markdown.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if FENCE_RE.match(lines[i]):  # a fenced block's lines are its text, markers or not
            end = _fence_end(lines, i)
            out += lines[i : end + 1]
            i = end + 1
            continue
        m = EXERCISE_MARKER_RE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent = m["indent"]
        if m["kind"] == EXERCISE:
            out += [f"{indent}{BLANK_NOTE}"]
            i += 1
            continue
        code = _next_nonblank(lines, i + 1)
        if code == len(lines) or not FENCE_RE.match(lines[code]):
            raise ExerciseError(f"docs/{page}:{i + 1}: the solution marker is above no code block")
        end = _fence_end(lines, code)
        k = _next_nonblank(lines, end + 1)
        while k < len(lines) and TOLERANCE_RE.match(lines[k]):
            k = _next_nonblank(lines, k + 1)
        output = _next_nonblank(lines, k + 1) if k < len(lines) else k
        if not (
            k < len(lines)
            and EXPECTED_OUTPUT_RE.match(lines[k])
            and output < len(lines)
            and FENCE_RE.match(lines[output])
        ):
            raise ExerciseError(
                f"docs/{page}:{code + 1}: this solution has no output box: show what it prints "
                "under it (<!--pytest-codeblocks:expected-output-->)"
            )
        last = _fence_end(lines, output)
        out += [f"{indent}{SOLUTION_TITLE}", ""]
        out += [f"    {line}" if line.strip() else "" for line in lines[code : last + 1]]
        i = last + 1
    return "\n".join(out)
