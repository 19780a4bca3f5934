"""The Colab notebooks (``tools/notebooks.py``): current, faithful to their pages, and runnable.

- Every committed notebook equals what the generator makes of its chapter now (a stale one fails,
  naming the command that fixes it), and the check itself catches a stale, missing or extra file.
- A notebook's code cells are the blocks the doc tests run, in order, with the outputs they check.
- The conversion of each page construct (tabs, admonitions, markers, diagrams, links, math) is
  checked on a small page written here.
- The knobs: tiny defaults with a one-line Colab GPU value, listed in the first cell.
- The install cell pins requirements.txt's versions and keeps Colab's torch; in the Unsloth
  chapter it installs Unsloth alone on a GPU runtime and the guide's versions on a CPU one.
- Two notebooks run end to end with nbclient on the CPU and print what they show.
"""

from __future__ import annotations

import ast
import json
import re
import shutil

import pytest

import tools.chapters
from tools.chapters import chapters, notebook_path
from tools.install_cell import pins
from tools.notebooks import build_expanded, check, code_source, knob_lines
from tools.outputs import mismatches, normalise_output
from tools.pages import (
    BLOCK_TIMEOUT_S,
    ROOT,
    PageError,
    expand_text,
    page_name,
    runnable_blocks,
)

# Run end to end in a kernel: a chapter that trains (~10 s on 2 cores), and one that defines
# functions from ftkit's source in its cells, as a reader pastes them (~13 s).
RUN_END_TO_END = ("foundations/training-and-fine-tuning.md", "quantization/index.md")


def _load(page) -> dict:
    return json.loads(notebook_path(page_name(page)).read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _stdout(cell: dict) -> str:
    return "".join("".join(o["text"]) for o in cell.get("outputs", []) if o.get("name") == "stdout")


def test_committed_notebooks_are_current():
    problems = check()
    assert not problems, "\n".join([*problems, "run: python -m tools.notebooks"])


def test_the_check_catches_stale_missing_and_extra_notebooks(tmp_path, monkeypatch):
    shutil.copytree(tools.chapters.NOTEBOOKS, tmp_path / "notebooks")
    monkeypatch.setattr(tools.chapters, "NOTEBOOKS", tmp_path / "notebooks")
    assert check() == []
    stale = tmp_path / "notebooks" / "peft-lora.ipynb"
    stale.write_text(stale.read_text().replace("r=8", "r=4", 1))
    (tmp_path / "notebooks" / "sft.ipynb").unlink()
    (tmp_path / "notebooks" / "old-chapter.ipynb").write_text("{}")
    problems = "\n".join(check())
    assert "notebooks/peft-lora.ipynb is stale: docs/peft/lora.md" in problems
    assert "notebooks/sft.ipynb is missing (chapter docs/sft/index.md)" in problems
    assert "notebooks/old-chapter.ipynb has no chapter" in problems


def test_every_chapter_with_code_has_a_notebook():
    names = sorted(page_name(p) for p in chapters())
    assert "peft/lora.md" in names and "sft/unsloth.md" in names and "vlm/index.md" in names
    assert "index.md" not in names and "how-this-guide-works.md" not in names  # not chapters
    assert "foundations/index.md" not in names  # no code
    assert sorted(p.name for p in tools.chapters.NOTEBOOKS.glob("*.ipynb")) == sorted(
        notebook_path(n).name for n in names
    )


@pytest.mark.parametrize("page", chapters(), ids=page_name)
def test_code_cells_are_the_blocks_the_doc_tests_run(page):
    nb = _load(page)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    blocks = runnable_blocks(page)
    assert len(code) == len(blocks) + 1  # the install cell comes first
    for cell, block in zip(code[1:], blocks, strict=True):
        expected = block.code.rstrip("\n")
        if block.file:
            assert _source(cell) == f"%%writefile {block.file}\n{expected}", block.where
        elif block.lang != "python":
            assert _source(cell) == f"%%bash\n{expected}", block.where
        assert _source(cell) == code_source(block), block.where
        tags = cell["metadata"].get("tags", [])
        assert ("gpu-only" in tags) == bool(block.gpu_only), block.where
        assert (block.framework in tags) == bool(block.framework), block.where
        if block.expected_output is None:
            assert cell["outputs"] == [], block.where
        else:
            shown = normalise_output(block.expected_output.text)
            assert normalise_output(_stdout(cell)) == shown, block.where
    assert (nb["metadata"].get("accelerator") == "GPU") == any(b.gpu_only for b in blocks)
    assert nb["metadata"]["guide"]["page"] == f"docs/{page_name(page)}"


PAGE = """\
# A chapter

Some math \\(x^2\\) and `code \\(kept\\)`, a link to [LoRA](../peft/lora.md#merging) and
[a section](#later).

\\[
y = W x
\\]

```mermaid
flowchart LR
  A --> B
```

=== "From scratch"

    ```python
    MODEL_ID = "tiny"  # Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
    STEPS = 3  # Colab GPU: about one epoch
    # Colab GPU: 500
    MAX_STEPS = 2
    batch = 4  # on a GPU: 32
    print(MODEL_ID)
    ```

    <!--pytest-codeblocks:expected-output-->

    ```text
    tiny
    ```

!!! tip "Why"
    Because.

<!-- gpu-only: it needs CUDA -->

```python
import torch
torch.ones(1, device="cuda")
```

<!-- not-run: a config for another machine -->

```yaml
key: value
```

```bash
echo hi
```

## Later
"""


def _synthetic(text: str = PAGE) -> dict:
    return build_expanded(expand_text(text, "part/page.md"))


def test_a_page_becomes_cells_in_order():
    cells = _synthetic()["cells"]
    kinds = [c["cell_type"] for c in cells]
    assert kinds == ["markdown", "code"] + ["markdown", "code"] * 3 + ["markdown"]
    intro, install, prose, knob_cell, note, gpu, notrun, bash, last = cells
    assert intro["source"].startswith("# A chapter\n")
    # pip runs every time: a reused runtime with older versions is brought to the tested ones
    assert 'subprocess.run([*PIP, "-U", *PACKAGES], check=True)' in install["source"]
    assert 'find_spec("ftkit")' not in install["source"]
    assert knob_cell["source"].startswith('MODEL_ID = "tiny"')
    assert knob_cell["outputs"] == [{"name": "stdout", "output_type": "stream", "text": "tiny\n"}]
    assert gpu["metadata"] == {"tags": ["gpu-only"]} and gpu["outputs"] == []
    assert note["source"].endswith("> **GPU only.** It needs CUDA. Run this cell on a GPU runtime.")
    assert "> **Not run by the tests.** A config for another machine." in notrun["source"]
    assert "```yaml\nkey: value\n```" in notrun["source"]  # kept to read, not a code cell
    assert bash["source"] == "%%bash\necho hi"
    assert last["source"] == "## Later"
    assert [c["id"] for c in cells] == [f"cell-{i:03d}" for i in range(9)]


def test_the_first_cell_lists_the_knobs_and_the_other_gpu_lines():
    intro = _synthetic()["cells"][0]["source"]
    assert '| `MODEL_ID` | `"tiny"` | `"meta-llama/Llama-3.2-1B-Instruct"` |' in intro
    assert "| `STEPS` | `3` | about one epoch |" in intro  # words stay words
    assert "| `MAX_STEPS` | `2` | `500` |" in intro  # the value on the line above
    assert "| `batch = 4` | `32` |" in intro  # a line with an "on a GPU:" comment
    assert "**GPU only.** 1 cell needs CUDA" in intro


def test_prose_is_plain_notebook_markdown():
    prose = _synthetic()["cells"][2]["source"]
    site = "https://llm-fine-tuning-study-guide.github.io/guide/"
    assert "Some math $x^2$ and `code \\(kept\\)`" in prose  # math in dollars, code untouched
    assert f"[LoRA]({site}peft/lora/#merging)" in prose  # links go to the published site
    assert f"[a section]({site}part/page/#later)" in prose
    assert "$$\ny = W x\n$$" in prose
    assert "flowchart" not in prose and f"[the page]({site}part/page/)" in prose
    assert "**From scratch**" in prose and "===" not in prose  # tab label
    notes = _synthetic()["cells"][4]["source"]
    assert "> **Why**\n> Because." in notes  # admonition -> block quote
    everything = "".join(c["source"] for c in _synthetic()["cells"])
    assert "<!--" not in everything  # markers are notes now, not comments
    assert "*[LoRA]:" not in everything  # the site's glossary tooltips stay on the site


def test_file_and_framework_blocks_become_cells_a_notebook_can_run():
    page = (
        "# T\n\n<!-- file: run.yaml -->\n\n```yaml\nsteps: 4\n```\n\n"
        "<!-- framework: llamafactory -->\n\n```bash\nllamafactory-cli train run.yaml\n```\n\n"
        "<!-- framework: trl -->\n\n```bash\ntrl sft --config t.yaml\n```\n"
    )
    nb = _synthetic(page)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    install, file, framework, trl = code
    assert file["source"] == "%%writefile run.yaml\nsteps: 4" and file["metadata"] == {}
    assert framework["metadata"] == {"tags": ["llamafactory"]}
    assert trl["metadata"] == {"tags": ["trl"]}
    notes = "".join(c["source"] for c in nb["cells"] if c["cell_type"] == "markdown")
    # where it runs, and how to give it its own environment in a notebook
    assert "venv-llamafactory/bin/pip install llamafactory==0.9.5" in notes
    assert "export PATH=$PWD/venv-llamafactory/bin:$PATH" in notes
    assert "**Frameworks with environments of their own.**" in nb["cells"][0]["source"]
    # trl sft runs in the guide's environment: the install cell brings TRL
    assert '"trl==' in install["source"]
    assert "llamafactory" not in install["source"]


def test_code_inside_an_admonition_is_refused_not_dropped():
    page = "# T\n\n!!! note\n    ```python\n    print(1)\n    ```\n"
    with pytest.raises(
        PageError, match="docs/part/page.md:4: this block did not become a notebook cell"
    ):
        _synthetic(page)


def test_an_output_under_a_block_that_is_not_a_cell_is_refused():
    page = "# T\n\n<!-- not-run: x -->\n\n```python\nprint(1)\n```\n\n"
    page += "<!--pytest-codeblocks:expected-output-->\n\n```text\n1\n```\n"
    with pytest.raises(PageError, match="expected output must follow its code block"):
        _synthetic(page)


@pytest.mark.parametrize("page", chapters(), ids=page_name)
def test_knobs_are_tiny_by_default_and_one_edit_from_colab(page):
    nb = _load(page)
    intro = _source(nb["cells"][0])
    assert "**The knobs.**" in intro
    for cell in nb["cells"][2:]:
        if cell["cell_type"] != "code":
            continue
        lines = _source(cell).split("\n")
        found = knob_lines(_source(cell))
        for i, line in enumerate(lines):
            if "Colab GPU:" in line:
                knob = found.get(i) or found.get(i + 1)
                assert knob, f"{page_name(page)}: a Colab GPU value that is not a knob's: {line}"
                assert f"| `{knob.name}` | `{knob.value}` |" in intro, line
            # a model built or located on the spot is a knob: one line to swap for a hub id
            if re.match(r"^[A-Z_]+ = .*\b(tiny_llama|tiny_vlm|get_model_path)\(", line):
                assert i in found, f"{page_name(page)}: model line without knob: {line}"


def _list(install: str, name: str) -> list[str]:
    """The literal list the install cell assigns to ``name`` (PACKAGES, GUIDE_VERSIONS)."""
    for node in ast.parse(install).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"no {name} list")


@pytest.mark.parametrize("page", chapters(), ids=page_name)
def test_the_install_cell_pins_the_tested_stack(page):
    nb = _load(page)
    install = _source(nb["cells"][1])
    compile(install, "install cell", "exec")
    packages = _list(install, "PACKAGES")
    assert packages[0] == "ftkit @ git+https://github.com/llm-fine-tuning-study-guide/guide.git"
    pinned = dict(p.split("==") for p in packages[1:])
    for name, version in pinned.items():
        assert pins()[name] == version, name
    assert "torch" not in pinned and "pillow" not in pinned  # Colab's own builds stay
    code = "\n".join(_source(c) for c in nb["cells"][2:] if c["cell_type"] == "code")
    if "unsloth" in code:  # Unsloth on a GPU runtime, the guide's versions on a CPU one
        assert install.index('find_spec("unsloth")') < install.index("*PACKAGES], check")
        assert "transformers" not in pinned and "trl" not in pinned  # Unsloth chooses those
        versions = dict(p.split("==") for p in _list(install, "GUIDE_VERSIONS"))
        assert versions["transformers"] == pins()["transformers"]
        assert versions["trl"] == pins()["trl"]
        assert "else:  # a CPU runtime" in install and "PACKAGES += GUIDE_VERSIONS" in install
        pinned |= versions  # what a CPU runtime gets
    else:
        assert "unsloth" not in install
        assert pinned["transformers"] == pins()["transformers"]
        if re.search(r"^from trl import", code, re.M):
            assert "trl" in pinned
    if "bitsandbytes" in code or "BitsAndBytesConfig" in code:
        assert "bitsandbytes" in pinned
    if "sentence_transformers" in code:
        assert "sentence-transformers" in pinned


@pytest.mark.parametrize("chapter", RUN_END_TO_END)
def test_a_notebook_runs_end_to_end_on_the_cpu(chapter, tmp_path, monkeypatch):
    """nbclient runs every cell in a fresh kernel; each prints exactly the output it shows."""
    import nbclient
    import nbformat

    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's migration warning
    page = next(p for p in chapters() if page_name(p) == chapter)
    path = notebook_path(chapter)
    nb = nbformat.read(path, as_version=4)
    shown = [_stdout(c) for c in nb.cells if c.cell_type == "code"]
    install = next(c for c in nb.cells if c.cell_type == "code")
    assert "subprocess.run([*PIP" in install.source  # the install cell comes first
    # It installs from GitHub and PyPI, out of reach here: the same pinned packages are
    # installed from requirements.txt already (test_the_install_cell_pins_the_tested_stack).
    install.source = "import ftkit  # installed here from requirements.txt"
    client = nbclient.NotebookClient(
        nb,
        timeout=BLOCK_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    printed = [_stdout(c) for c in nb.cells if c.cell_type == "code"]
    blocks = runnable_blocks(page)
    assert len(printed) == len(blocks) + 1
    assert any(shown), "the notebook shows outputs to compare"
    for block, want, got in zip(blocks, shown[1:], printed[1:], strict=True):
        if want:  # the same contract as the doc tests, and the same tolerance
            output = block.expected_output
            where = f"{notebook_path(chapter).name}, the cell of docs/{chapter}"
            assert not mismatches(want, got, output.tolerance, where, output.line + 1)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


def test_a_heading_attribute_list_is_not_shown_in_a_notebook():
    """`{ data-toc-label="..." }` labels a heading with math in the site's navigation: the
    notebook's heading is that label (Colab's table of contents would show the TeX), and no
    attribute list is printed as text."""
    from tools.notebook_markdown import markdown_cell_text

    line = '## The scaling \\(\\alpha / r\\) { data-toc-label="The scaling α / r" }'
    assert markdown_cell_text([line], "peft/lora.md") == "## The scaling α / r"
    line = "## Merging { #merge }"
    assert markdown_cell_text([line], "peft/lora.md") == "## Merging"
    code = ["```python", 'x = {"a": 1}  # { not an attribute list }', "```"]
    assert markdown_cell_text(code, "peft/lora.md") == "\n".join(code)


@pytest.mark.parametrize("page", chapters(), ids=page_name)
def test_no_notebook_heading_shows_tex(page):
    """A heading is what Colab's table of contents lists: text, never TeX."""
    for cell in _load(page)["cells"]:
        if cell["cell_type"] == "markdown":
            for line in _source(cell).split("\n"):
                if line.startswith("#"):
                    assert "$" not in line and "\\(" not in line, f"{page_name(page)}: {line}"


def test_the_home_page_installs_what_the_chapters_install():
    """One install story: the pip line for pasting blocks is the chapters' first cells put
    together, at the same versions, with ftkit from mkdocs.yml's repo_url."""
    from tools.install_cell import pip_command

    home = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    want = pip_command()
    assert f"```bash\n{want}\n```" in home, f"docs/index.md: paste this block:\n{want}"
