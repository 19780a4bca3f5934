"""tools/pages.py and the site hook on bad and tricky input: the errors name the place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_guards import fence_problems
from tools.mkdocs_hooks import render_markers
from tools.pages import (
    Block,
    BlockError,
    Output,
    PageError,
    PageRun,
    expand_text,
    extract_blocks,
    scan_fences,
)

SNIPPET = "snippets/foundations/training-and-fine-tuning/ex01_tiny_model.py"
INCLUDE = f'--8<-- "{SNIPPET}:freeze"'


def page(text: str, name: str = "demo.md"):
    return expand_text(text, name)


def test_missing_file_names_page_line_and_file():
    with pytest.raises(PageError, match=r"docs/demo.md:3: .*snippets/nope.py"):
        page('# t\n\n--8<-- "snippets/nope.py"\n')


def test_missing_section_names_the_file_and_section():
    with pytest.raises(PageError, match=r"docs/demo.md:2: .*'nope'.*ex01_tiny_model.py:nope"):
        page(f'```python\n--8<-- "{SNIPPET}:nope"\n```\n')


def test_multi_line_include_form_is_refused():
    with pytest.raises(PageError, match="one-line include form"):
        page("--8<--\nsnippets/foundations/training-and-fine-tuning/ex01_tiny_model.py\n--8<--\n")


def test_included_code_maps_to_the_include_line():
    expanded = page(f"# t\n\ntext\n\n```python\n{INCLUDE}\n```\n")
    (block,) = extract_blocks(expanded)
    assert block.line == 5  # the fence's line on the page, not in the expanded text
    assert "def trainable(model)" in block.code
    assert "--8<--" not in block.code  # section markers are stripped
    assert "<abbr" not in block.code and expanded.origin[-1] == 0  # the glossary comes after
    assert block.snippet_file == SNIPPET  # it runs in the file's own namespace


def test_unmarked_non_runnable_fences_are_reported():
    text = (
        '```python title="x.py"\nprint(1)\n```\n\n'
        "~~~python\nprint(2)\n~~~\n\n"
        "```yaml\na: 1\n```\n\n"
        "```py\nprint(3)\n```\n"
    )
    problems = fence_problems(page(text))
    assert [p.split(":")[1] for p in problems] == ["1", "5", "9", "13"]
    assert "tilde" in problems[1]


def test_marked_output_and_diagram_fences_are_accepted():
    text = (
        "<!-- not-run: a config for another machine -->\n\n```yaml\na: 1\n```\n\n"
        "```python\nprint(1)\n```\n\n<!--pytest-codeblocks:expected-output-->\n\n"
        "```text\n1\n```\n\n"
        "```mermaid\nflowchart LR\n  A --> B\n```\n\n"
        "<!-- gpu-only: needs CUDA -->\n```python\nimport torch\n```\n"
    )
    expanded = page(text)
    assert fence_problems(expanded) == []
    blocks = extract_blocks(expanded)
    assert [(b.line, b.gpu_only, b.expected_output) for b in blocks] == [
        (7, None, Output("1\n", 13, None, None)),
        (23, "needs CUDA", None),
    ]


def test_markers_need_a_reason_and_a_fence():
    text = "<!-- not-run: -->\n```yaml\na: 1\n```\n\n<!-- gpu-only: x -->\n"
    problems = fence_problems(page(text))
    assert any("gives no reason" in p for p in problems)
    assert any(":6: marker is not directly above a fence" in p for p in problems)


def test_hidden_pytest_codeblocks_skips_are_reported():
    problems = fence_problems(page("<!--pytest.mark.skip-->\n```python\nprint(1)\n```\n"))
    assert any(":1: pytest-codeblocks skip" in p for p in problems)


def test_unclosed_fence_names_its_line():
    with pytest.raises(PageError, match="docs/demo.md:3: code fence"):
        scan_fences(page("text\n\n```python\nprint(1)\n"))


def test_markers_render_as_visible_admonitions():
    out = render_markers("    <!-- gpu-only: needs CUDA kernels -->\n    ```python\n", "a/b.md")
    assert '    !!! warning "GPU only"' in out
    assert "Needs CUDA kernels. The doc tests skip this block" in out
    assert '!!! note "Not run by the tests"' in render_markers("<!-- not-run: x -->", "a/b.md")


def test_blocks_run_as_a_notebook_cell_runs_them(tmp_path):
    """No `from __future__ import annotations` leaks from tools/pages.py into the blocks: an
    annotation naming something undefined fails on the page as it fails in Colab."""
    block = Block("p.md", 1, "python", "def f(x: NotDefinedAnywhere):\n    pass\n", None, None)
    with pytest.raises(NameError, match="NotDefinedAnywhere"):
        PageRun(tmp_path).run(block)


def test_a_snippet_block_sees_only_its_own_file():
    """A snippet file's sections run in its own namespace (as ``python FILE`` runs them), and
    what they define is then visible to the page's other blocks, as in a notebook."""
    a = Block("p.md", 1, "python", "x = 1\n", None, None, "snippets/a.py")
    b = Block("p.md", 5, "python", "print(x)\n", None, None, "snippets/b.py")
    page = Block("p.md", 9, "python", "print(x + 1)\n", None, None)
    run = PageRun(Path("."))
    run.run(a)
    assert run.run(page) == "2\n"  # the page sees the file's names
    with pytest.raises(NameError, match="'x'"):  # another file does not
        run.run(b)


def test_a_block_that_changes_torchs_threads_fails_and_is_undone(tmp_path):
    """A page that set two threads once made every later page in its process run on two (and
    print other digits, and run several times slower beside a second process)."""
    import torch

    block = Block("p.md", 7, "python", "import torch\ntorch.set_num_threads(2)\n", None, None)
    before = torch.get_num_threads()
    with pytest.raises(BlockError, match=r"docs/p.md:7: the block set torch's threads from"):
        PageRun(tmp_path).run(block)
    assert torch.get_num_threads() == before


def test_a_block_that_warns_fails_outside_pytest_too(tmp_path):
    """The refresh, swap and hosts tools run blocks outside pytest's filters; a warning must
    fail there as in the doc test (the VLM page's swap once passed the tool and failed CI)."""
    import warnings

    block = Block("p.md", 2, "python", "import warnings\nwarnings.warn('odd')\n", None, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as a plain `python -m tools.swap` starts
        with pytest.raises(UserWarning, match="odd"):
            PageRun(tmp_path).run(block)


def test_a_failing_bash_block_names_itself(tmp_path):
    block = Block("p.md", 3, "bash", "echo out; echo err >&2; exit 3\n", None, None)
    with pytest.raises(BlockError, match=r"docs/p.md:3: bash block exited 3") as caught:
        PageRun(tmp_path).run(block)
    assert "out" in str(caught.value) and "err" in str(caught.value)


def test_a_hanging_bash_block_is_stopped_with_its_children(tmp_path, monkeypatch):
    """A timeout stops the block's whole process group (torchrun's workers, say), not bash alone,
    and the error shows what it printed; a child left holding the pipes would hang the harness."""
    import tools.pages

    monkeypatch.setattr(tools.pages, "BLOCK_TIMEOUT_S", 2)
    code = "sleep 60 &\necho child $!\nwait\n"  # bash waits on a child that outlives it
    block = Block("p.md", 5, "bash", code, None, None)
    stopped = r"docs/p.md:5: bash block still running after 2 s"
    with pytest.raises(BlockError, match=stopped) as caught:
        PageRun(tmp_path).run(block)
    pid = int(re.search(r"child (\d+)", str(caught.value))[1])  # what it printed is shown
    assert _state(pid) in (None, "Z")  # the sleep went with bash (gone, or a zombie)


def _state(pid: int) -> str | None:
    """A process's state letter (R, S, Z...), or None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_a_tolerance_marker_sits_above_a_shown_output_and_gives_a_value():
    code = "```python\nprint(0.5)\n```\n\n"
    output = "<!--pytest-codeblocks:expected-output-->\n\n```text\n0.5\n```\n"
    good = page(code + "<!-- tolerance: ±3% -->\n" + output)
    assert fence_problems(good) == []
    (block,) = extract_blocks(good)
    assert block.expected_output.tolerance.relative == 0.03
    assert block.expected_output.tolerance_line == 5
    stray = fence_problems(page("<!-- tolerance: ±3% -->\n\n" + code))
    assert stray == [
        "docs/demo.md:1: a tolerance marker goes on the line above a shown output's "
        "<!--pytest-codeblocks:expected-output--> marker"
    ]
    with pytest.raises(PageError, match="docs/demo.md:5: the tolerance marker gives no value"):
        fence_problems(page(code + "<!-- tolerance: -->\n" + output))


def test_snippet_sections_are_not_mixed_with_other_code():
    text = f"```python\nimport math\n{INCLUDE}\n```\n"
    (problem,) = fence_problems(page(text))
    assert problem.startswith("docs/demo.md:1: a block with snippet sections holds nothing else")


def test_an_empty_shown_output_is_empty_text():
    """A new block's output box starts empty; the refresh tool then inserts the printed lines
    without eating the closing fence (an empty box once read as one blank line)."""
    page = "```python\nprint(1)\n```\n\n<!--pytest-codeblocks:expected-output-->\n\n```text\n```\n"
    (block,) = extract_blocks(expand_text(page, "p.md"))
    assert block.expected_output.text == ""


def test_roadmap_is_drawn_from_the_nav():
    from tools.roadmap import RoadmapError, roadmap

    nav = [
        {"Home": "index.md"},
        {"Basics": ["basics/index.md", {"More": "basics/more.md"}]},
        {"Tuning": [{"First": "tuning/first.md"}]},
        {"Images": "images/index.md"},
    ]
    assert roadmap(nav) == (
        'flowchart TD\n    P1["Basics"]\n    P2["Tuning"]\n    P3["Images"]\n'
        "    P1 --> P2\n    P2 --> P3\n"
    )
    drawn = roadmap(nav, {"images/index.md": ["basics/index.md"]})
    assert "P1 --> P3" in drawn and "P2 --> P3" not in drawn
    with pytest.raises(RoadmapError, match="basics/gone.md does not start a part of the nav"):
        roadmap(nav, {"images/index.md": ["basics/gone.md"]})


def test_math_reads_as_text_where_mathjax_does_not_run():
    from tools.plain_math import plain_math, tex_to_text

    assert tex_to_text(r"\alpha / \sqrt{r}") == "α / √r"
    assert tex_to_text(r"\frac{\alpha}{r} \cdot \Delta W") == "α/r · Δ W"
    assert tex_to_text(r"\mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d}}\right)") == (
        "softmax((QK^ᵀ)/(√d))"
    )
    assert plain_math(r"The scaling \(\alpha / r\), as \[h = W_0 x\] shows") == (
        "The scaling α / r, as h = W_0 x shows"
    )
    assert plain_math("no math: a\\n b") == "no math: a\\n b"


# A page with the framework showdown's markers: a file the blocks read, a run in a framework's
# own environment, and a block of the guide's environment that reads the runs.
FRAMEWORK_PAGE = (
    "# T\n\n<!-- file: run.yaml -->\n\n```yaml\nsteps: 4\n```\n\n"
    "<!-- framework: llamafactory -->\n\n```bash\nllamafactory-cli train run.yaml\n```\n\n"
    "<!-- framework: all -->\n\n```python\nprint('scores')\n```\n"
)


def test_file_and_framework_markers_make_blocks():
    expanded = page(FRAMEWORK_PAGE)
    assert fence_problems(expanded) == []
    blocks = extract_blocks(expanded)
    assert [(b.line, b.lang, b.file, b.framework) for b in blocks] == [
        (5, "yaml", "run.yaml", None),
        (11, "bash", None, "llamafactory"),
        (17, "python", None, "all"),
    ]


def test_an_unknown_framework_or_a_file_path_is_a_page_error():
    with pytest.raises(PageError, match="docs/demo.md:1: unknown framework 'unsloth'"):
        extract_blocks(page("<!-- framework: unsloth -->\n```bash\necho\n```\n"))
    with pytest.raises(PageError, match="docs/demo.md:1: a file block's name is a file name"):
        extract_blocks(page("<!-- file: ../up.yaml -->\n```yaml\na: 1\n```\n"))


def test_a_framework_block_is_a_plain_fence_and_a_shell_in_its_own_environment():
    problems = fence_problems(
        page(
            "<!-- framework: trl -->\n```yaml\na: 1\n```\n\n"
            "<!-- framework: axolotl -->\n```python\nimport axolotl\n```\n"
        )
    )
    assert problems == [
        "docs/demo.md:2: a framework block must be a plain python/bash fence",
        "docs/demo.md:7: a block of axolotl's own environment runs in a shell there: make it "
        "a bash fence",
    ]


def test_framework_and_file_markers_render_for_the_reader():
    out = render_markers(FRAMEWORK_PAGE, "a/b.md")
    assert '```yaml title="run.yaml"' in out and "<!-- file" not in out
    assert '!!! info "Runs in LLaMA-Factory\'s own environment"' in out
    assert "`make setup-frameworks`" in out and "`make test-frameworks`" in out
    assert '!!! info "Reads the framework runs"' in out


def test_a_file_block_is_written_and_a_framework_shell_runs_in_its_environment(
    tmp_path, monkeypatch
):
    import tools.pages

    venv = tmp_path / "venv-demo"
    (venv / "bin").mkdir(parents=True)
    tool = venv / "bin" / "demo-cli"
    tool.write_text('#!/bin/sh\necho demo-cli read "$(cat "$1")"\n')
    tool.chmod(0o755)
    demo = tools.pages.Framework("Demo", "why", "runs in Demo's own environment", str(venv))
    monkeypatch.setitem(tools.pages.FRAMEWORKS, "demo", demo)
    work = tmp_path / "work"
    work.mkdir()
    run = PageRun(work)
    assert run.run(Block("p.md", 3, "yaml", "steps: 4\n", None, None, file="run.yaml")) == ""
    assert (work / "run.yaml").read_text() == "steps: 4\n"
    code = 'demo-cli run.yaml\necho "$VIRTUAL_ENV"\n'
    printed = run.run(Block("p.md", 9, "bash", code, None, None, framework="demo"))
    assert printed == f"demo-cli read steps: 4\n{venv}\n"
    missing = tools.pages.Framework("Gone", "why", "skip", str(tmp_path / "nowhere"))
    monkeypatch.setitem(tools.pages.FRAMEWORKS, "gone", missing)
    with pytest.raises(BlockError, match=r"docs/p.md:4: .*missing: make setup-frameworks"):
        run.run(Block("p.md", 4, "bash", "true\n", None, None, framework="gone"))
