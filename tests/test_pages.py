"""tools/pages.py and the site hook on bad and tricky input: the errors name the place."""

from __future__ import annotations

import pytest

from tests.test_guards import fence_problems
from tools.mkdocs_hooks import render_markers
from tools.pages import PageError, expand_text, extract_blocks, scan_fences

INCLUDE = '--8<-- "snippets/foundations/ex03_freeze.py:freeze"'


def page(text: str, name: str = "demo.md"):
    lines, origin = expand_text(text, name)
    return tuple(lines), tuple(origin), name


def test_missing_file_names_page_line_and_file():
    with pytest.raises(PageError, match=r"docs/demo.md:3: .*snippets/nope.py"):
        page('# t\n\n--8<-- "snippets/nope.py"\n')


def test_missing_section_names_the_file_and_section():
    with pytest.raises(PageError, match=r"docs/demo.md:2: .*'nope'.*ex03_freeze.py:nope"):
        page('```python\n--8<-- "snippets/foundations/ex03_freeze.py:nope"\n```\n')


def test_multi_line_include_form_is_refused():
    with pytest.raises(PageError, match="one-line include form"):
        page("--8<--\nsnippets/foundations/ex03_freeze.py\n--8<--\n")


def test_included_code_maps_to_the_include_line():
    lines, origin, name = page(f"# t\n\ntext\n\n```python\n{INCLUDE}\n```\n")
    (block,) = extract_blocks(lines, origin, name)
    assert block.line == 5  # the fence's line on the page, not in the expanded text
    assert "def trainable(model)" in block.code
    assert "--8<--" not in block.code  # section markers are stripped
    assert "<abbr" not in block.code and origin[-1] == 0  # the glossary is appended after


def test_unmarked_non_runnable_fences_are_reported():
    text = (
        '```python title="x.py"\nprint(1)\n```\n\n'
        "~~~python\nprint(2)\n~~~\n\n"
        "```yaml\na: 1\n```\n\n"
        "```py\nprint(3)\n```\n"
    )
    problems = fence_problems(*page(text))
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
    lines, origin, name = page(text)
    assert fence_problems(lines, origin, name) == []
    blocks = extract_blocks(lines, origin, name)
    assert [(b.line, b.gpu_only, b.expected_output) for b in blocks] == [
        (7, None, "1\n"),
        (23, "needs CUDA", None),
    ]


def test_markers_need_a_reason_and_a_fence():
    text = "<!-- not-run: -->\n```yaml\na: 1\n```\n\n<!-- gpu-only: x -->\n"
    problems = fence_problems(*page(text))
    assert any("gives no reason" in p for p in problems)
    assert any(":6: marker is not directly above a fence" in p for p in problems)


def test_hidden_pytest_codeblocks_skips_are_reported():
    problems = fence_problems(*page("<!--pytest.mark.skip-->\n```python\nprint(1)\n```\n"))
    assert any(":1: pytest-codeblocks skip" in p for p in problems)


def test_unclosed_fence_names_its_line():
    with pytest.raises(PageError, match="docs/demo.md:3: code fence"):
        scan_fences(*page("text\n\n```python\nprint(1)\n"))


def test_markers_render_as_visible_admonitions():
    out = render_markers("    <!-- gpu-only: needs CUDA kernels -->\n    ```python\n")
    assert '    !!! warning "GPU only"' in out
    assert "Needs CUDA kernels. The doc tests skip this block" in out
    assert '!!! note "Not run by the tests"' in render_markers("<!-- not-run: a config -->")


def test_blocks_run_as_a_notebook_cell_runs_them(tmp_path):
    """No `from __future__ import annotations` leaks from tools/pages.py into the blocks: an
    annotation naming something undefined fails on the page as it fails in Colab."""
    from tools.pages import Block, run_python

    block = Block("p.md", 1, "python", "def f(x: NotDefinedAnywhere):\n    pass\n", None, None)
    with pytest.raises(NameError, match="NotDefinedAnywhere"):
        run_python(block, {}, tmp_path)
