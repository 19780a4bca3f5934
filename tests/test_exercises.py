"""The exercises (``tools/exercises.py``): a blank that is not run, a solution that is.

- The guard names the page and line of an exercise with no solution, a solution with no
  exercise or no output box, a solution written in the page, and a blank with nothing to fill.
- The doc tests collect the solution, not the blank.
- The site folds the solution and its output under a closed "Solution", and Material renders
  the fenced blocks inside it as code (checked on the site's own Markdown configuration).
- The notebook keeps the blank in its prose and gives the solution a folded cell of its own.
- A page may show the format in a fenced example: markers inside a fence are its text, for the
  guard, the site and the notebook.
"""

from __future__ import annotations

import markdown
import pytest

from tools.exercises import BLANK_NOTE, ExerciseError, exercise_problems, wrap_solutions
from tools.notebooks import (
    EXERCISE_NOTE,
    FOLDED,
    SOLUTION_NOTE,
    SOLUTION_TAG,
    build_expanded,
    render,
)
from tools.pages import expand_text, extract_blocks, site_config

SOLUTION = "snippets/peft/lora/ex07_exercises.py:llama8b"  # no model: quick to run
OUTPUT = "per layer: 425,984\nadapter:   13,631,488 parameters\nin bf16:   26.0 MiB\n"
BLANK = "<!-- exercise -->\n\n```python\nLAYERS = ...  # TODO\n```\n\n"
ANSWER = f'<!-- solution -->\n\n```python\n--8<-- "{SOLUTION}"\n```\n\n'
BOX = f"<!--pytest-codeblocks:expected-output-->\n\n```text\n{OUTPUT}```\n"
PAGE = f"# A chapter\n\n## Exercises\n\nHow many?\n\n{BLANK}{ANSWER}{BOX}\nAfter.\n"


def _problems(text: str) -> list[str]:
    return exercise_problems(expand_text(text, "part/page.md"))


def test_a_whole_exercise_passes_the_guard():
    assert _problems(PAGE) == []


def test_the_guard_names_the_page_and_line():
    assert _problems(f"# T\n\n{BLANK}After.\n") == [
        "docs/part/page.md:5: this exercise has no solution: put a <!-- solution --> block "
        "right after its blank"
    ]
    no_box = _problems(f"# T\n\n{BLANK}{ANSWER}")
    assert no_box == [
        "docs/part/page.md:11: this solution has no output box: show what it prints under it "
        "(<!--pytest-codeblocks:expected-output-->)"
    ]
    alone = _problems(f"# T\n\n{ANSWER}{BOX}")
    assert alone == [
        "docs/part/page.md:5: a solution follows its exercise's blank (a <!-- exercise --> block)"
    ]
    in_page = _problems(PAGE.replace(f'--8<-- "{SOLUTION}"', "print(1)"))
    assert len(in_page) == 1 and "a solution is a section of a snippet file" in in_page[0]
    nothing = _problems(PAGE.replace("LAYERS = ...  # TODO", "LAYERS = 32"))
    assert nothing == [
        "docs/part/page.md:9: the exercise's blank has nothing to fill in: put `...` or a TODO "
        "where the reader writes"
    ]
    stray = _problems("# T\n\n<!-- solution -->\n\nText.\n")
    assert stray == ["docs/part/page.md:3: marker is not directly above a fence"]


def test_the_doc_tests_run_the_solution_not_the_blank():
    blocks = extract_blocks(expand_text(PAGE, "part/page.md"))
    assert [(b.line, b.solution, b.snippet_file) for b in blocks] == [
        (15, True, SOLUTION.split(":")[0])
    ]
    assert blocks[0].expected_output.text == OUTPUT


def test_the_site_folds_the_solution_and_its_output():
    wrapped = wrap_solutions(PAGE, "part/page.md")
    assert BLANK_NOTE in wrapped and "<!-- exercise -->" not in wrapped
    assert '??? success "Solution"\n\n    ```python\n' in wrapped
    assert f'    --8<-- "{SOLUTION}"' in wrapped and "    per layer: 425,984" in wrapped
    assert wrapped.endswith("    ```\n\nAfter.\n")  # the prose after it is not folded
    config = site_config()
    html = markdown.Markdown(
        extensions=config["markdown_extensions"], extension_configs=config["mdx_configs"]
    ).convert(wrapped)
    folded = html[html.index('<details class="success">') : html.index("</details>")]
    assert "<summary>Solution</summary>" in folded
    assert folded.count('<div class="language-python highlight">') == 1  # the included code
    assert "LAYERS" in folded and "425,984" in folded  # the snippet, then its output
    assert html.index("</details>") < html.index("After.")
    assert html.count('<div class="language-python highlight">') == 2  # and the blank


def test_the_site_refuses_a_solution_without_its_output():
    with pytest.raises(ExerciseError, match=r"docs/part/page.md:11: this solution has no output"):
        wrap_solutions(f"# T\n\n{BLANK}{ANSWER}Text.\n", "part/page.md")


def test_the_notebook_shows_the_blank_and_folds_the_solution():
    notebook = build_expanded(expand_text(PAGE, "part/page.md"))
    render(notebook)  # nbformat validates the folded metadata
    cells = notebook["cells"][2:]
    assert [c["cell_type"] for c in cells] == ["markdown", "code", "markdown"]
    prose, solution, after = cells
    assert EXERCISE_NOTE in prose["source"] and "LAYERS = ...  # TODO" in prose["source"]
    assert prose["source"].endswith(SOLUTION_NOTE) and "Solution" in SOLUTION_NOTE
    assert "<!--" not in prose["source"]
    assert solution["metadata"] == {"tags": [SOLUTION_TAG], "jupyter": FOLDED}
    assert solution["source"].startswith("# Llama-3.1-8B's attention projections")
    assert solution["outputs"][0]["text"] == OUTPUT
    assert after["source"] == "After."


# The format shown as an example, as a page documenting it would: markers inside a fence.
EXAMPLE = f"# T\n\nThe source reads:\n\n````markdown\n{BLANK}{ANSWER}Text.\n````\n\nAfter.\n"


def test_markers_inside_a_fenced_example_are_its_text():
    assert _problems(EXAMPLE) == []
    assert _problems(EXAMPLE + f"\n{BLANK}") == [  # a live marker after it still counts
        "docs/part/page.md:25: this exercise has no solution: put a <!-- solution --> block "
        "right after its blank"
    ]
    assert wrap_solutions(EXAMPLE, "part/page.md") == EXAMPLE  # no box needed, nothing folded
    assert extract_blocks(expand_text(EXAMPLE, "part/page.md")) == []
    notebook = build_expanded(expand_text(EXAMPLE, "part/page.md"))
    assert [c["cell_type"] for c in notebook["cells"][2:]] == ["markdown"]
    assert "<!-- solution -->" in notebook["cells"][2]["source"]  # shown, as on the site
