"""MkDocs hooks: fail the build on a broken include, show the block markers to the reader,
draw the charts of checked outputs (``tools/charts.py``), publish the chapters' notebooks,
draw the home roadmap from the nav (``tools/roadmap.py``), fold the exercises' solutions
(``tools/exercises.py``), append each chapter's quiz (``tools/quizzes.py``), load MathJax only
on pages with math, and turn the search index's TeX into text (``tools/plain_math.py``).

Registered in mkdocs.yml under ``hooks:``. The markers themselves are described in
``tools/pages.py``; here they become admonitions, so a reader sees why a block is not run. The
notebooks (``tools/notebooks.py``) live in ``notebooks/`` at the repository root, where Colab
opens them; they are added to the site here, rendered by mkdocs-jupyter, and every chapter page
gets buttons to open its notebook in Colab, download it, or read it on the site.
"""

from __future__ import annotations

import functools
import json
import os
import posixpath
import re
import sys
from pathlib import Path

import material
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File
from mkdocs.utils import get_relative_url  # links relative to the page: any site prefix works

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # mkdocs loads hooks by path

from ftkit.quiz import QuizError, load_quiz, quiz_path  # noqa: E402
from tools.chapters import (  # noqa: E402
    NOTEBOOKS,
    chapters,
    colab_url,
    notebook_name,
    notebook_path,
    site_path,
)
from tools.charts import ChartError, render_charts  # noqa: E402
from tools.exercises import ExerciseError, wrap_solutions  # noqa: E402
from tools.outputs import Tolerance, ToleranceError, tolerance_note  # noqa: E402
from tools.pages import (  # noqa: E402
    FENCE_RE,
    FILE,
    FRAMEWORK,
    FRAMEWORKS,
    GPU_ONLY,
    MARKER_RE,
    NOT_RUN,
    ROOT,
    TOLERANCE_RE,
    PageError,
    as_sentence,
    expand_text,
    page_name,
)
from tools.plain_math import plain_math  # noqa: E402
from tools.quizzes import insert_quiz, render_quiz  # noqa: E402
from tools.roadmap import ROADMAP, RoadmapError, roadmap  # noqa: E402

ICONS = Path(material.__file__).parent / "templates" / ".icons"  # bundled with the theme
# nbconvert's page template loads MathJax 2 from cdnjs; the site already loads its own MathJax 3.
CDN_MATHJAX_RE = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
# The one lower-case "mermaid" in a notebook page (a comment of nbconvert's template, after its
# Mermaid styles): mermaid2 parses with BeautifulSoup every page that contains the word, and
# parsing the 24 notebook pages (750 kB each) was half of the site's build time.
NBCONVERT_MERMAID_COMMENT = "<!-- End of mermaid configuration -->"
CDN_SCRIPT_RE = re.compile(
    r"<script\b[^>]*>(?:(?!</script>).)*?cdnjs\.cloudflare\.com.*?</script>", re.S
)

_TITLES = {
    GPU_ONLY: (
        "warning",
        "GPU only",
        "The doc tests skip this block on machines without CUDA and run it on a GPU.",
    ),
    NOT_RUN: ("note", "Not run by the tests", ""),
}


def render_markers(markdown: str, page: str) -> str:
    """Replace each ``<!-- gpu-only: ... -->`` / ``<!-- not-run: ... -->`` /
    ``<!-- framework: ... -->`` by an admonition, each ``<!-- file: NAME -->`` by NAME as the
    title of the fence under it, and each ``<!-- tolerance: ... -->`` by the note on how far the
    output's numbers vary."""
    out = []
    title = None  # a file marker's name, waiting for its fence
    for line in markdown.split("\n"):
        fence = FENCE_RE.match(line)
        if title and fence:
            out.append(f'{line} title="{title}"')  # pymdownx.highlight's code block title
            title = None
            continue
        tolerance = TOLERANCE_RE.match(line)
        if tolerance:
            indent = line[: len(line) - len(line.lstrip())]
            try:
                note = tolerance_note(Tolerance.parse(tolerance["spec"]), page)
            except ToleranceError as error:
                raise PluginError(f"docs/{page}: {error}") from None
            out += ["", indent + note, ""]
            continue
        m = MARKER_RE.match(line)
        if not m:
            out.append(line)
            continue
        indent = m["indent"]
        if m["kind"] == FILE:
            title = m["reason"].strip()
            continue
        if m["kind"] == FRAMEWORK:
            framework = FRAMEWORKS[m["reason"].strip()]
            kind, heading, body = "info", framework.title, framework.why
        else:
            kind, heading, tail = _TITLES[m["kind"]]
            body = f"{as_sentence(m['reason'])} {tail}".strip()
        out += ["", f'{indent}!!! {kind} "{heading}"', f"{indent}    {body}", ""]
    return "\n".join(out)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Check every include of the page, then draw its charts, fold its exercises' solutions and
    render its markers."""
    try:
        expand_text(markdown, page.file.src_uri)
    except PageError as error:
        raise PluginError(str(error)) from None
    try:
        markdown = render_charts(markdown, page.file.src_uri)
    except ChartError as error:
        raise PluginError(str(error)) from None
    try:
        markdown = wrap_solutions(markdown, page.file.src_uri)
    except ExerciseError as error:
        raise PluginError(str(error)) from None
    markdown = render_markers(markdown, page.file.src_uri)
    if NOTEBOOKS_TABLE in markdown:
        table = notebooks_table(page.file.src_uri, page.url, config["nav"])
        markdown = markdown.replace(NOTEBOOKS_TABLE, table)
    if ROADMAP in markdown:
        try:
            diagram = roadmap(config["nav"], (config["extra"] or {}).get("roadmap_requires"))
        except RoadmapError as error:
            raise PluginError(str(error)) from None
        markdown = markdown.replace(ROADMAP, f"```mermaid\n{diagram}```")
    quiz_file = quiz_path(Path(config["docs_dir"]) / page.file.src_uri)
    if page.file.src_uri.endswith(".md") and quiz_file.is_file():
        try:
            quiz = load_quiz(os.path.relpath(quiz_file, ROOT))  # errors name docs/...
        except QuizError as error:
            raise PluginError(str(error)) from None
        markdown = insert_quiz(markdown, render_quiz(quiz, page.file.src_uri))
    return _with_buttons(markdown, page.file.src_uri, page.url)


# --- notebooks -----------------------------------------------------------------------------------


@event_priority(100)  # before mkdocs-jupyter's on_files turns *.ipynb files into pages
def on_files(files, config):
    """Add notebooks/*.ipynb (outside docs/) to the site, at notebooks/<name>/."""
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        rel = path.relative_to(ROOT).as_posix()
        files.append(File(rel, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


@functools.cache
def _icon(name: str) -> str:
    """A theme icon as inline SVG, as pymdownx.emoji writes it (no request for an icon font)."""
    svg = (ICONS / f"{name}.svg").read_text(encoding="utf-8").strip()
    return f'<span class="twemoji">{svg}</span>'


def _download(chapter: str, page_url: str) -> str:
    """The link to the notebook file itself, which mkdocs-jupyter copies next to its page."""
    name = notebook_name(chapter)
    return get_relative_url(f"notebooks/{name}/{name}.ipynb", page_url)


def notebook_buttons(chapter: str, page_url: str, back: str | None = None) -> str:
    """The button row: open the chapter's notebook in Colab, download it, and a third link."""
    name = notebook_name(chapter)
    download = _download(chapter, page_url)
    if back is None:
        third = (
            get_relative_url(f"notebooks/{name}/", page_url),
            "material/notebook-outline",
            "Read it here",
        )
    else:
        third = (get_relative_url(back, page_url), "material/arrow-left", "Back to the chapter")
    return (
        '<div class="notebook-buttons">\n'
        f'<a class="md-button md-button--primary" href="{colab_url(chapter)}">'
        f"{_icon('simple/googlecolab')} Open in Colab</a>\n"
        f'<a class="md-button" href="{download}" download="{name}.ipynb">'
        f"{_icon('material/download')} Download the notebook</a>\n"
        f'<a class="md-button" href="{third[0]}">{_icon(third[1])} {third[2]}</a>\n'
        "</div>"
    )


def _with_buttons(markdown: str, chapter: str, page_url: str) -> str:
    """The chapter's Markdown with the notebook buttons under its title, if it has a notebook."""
    if not notebook_path(chapter).is_file():
        return markdown
    lines = markdown.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("# "):
            return "\n".join(
                [*lines[: i + 1], "", notebook_buttons(chapter, page_url), *lines[i + 1 :]]
            )
    return markdown


NOTEBOOKS_TABLE = "<!-- notebooks-table -->"  # where a page lists every chapter's notebook


def _nav_files(nav) -> list[str]:
    """The page files of mkdocs.yml's nav, in reading order."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [f for value in nav.values() for f in _nav_files(value)]
    return [f for item in nav or [] for f in _nav_files(item)]


def notebooks_table(page_src: str, page_url: str, nav) -> str:
    """A Markdown table of every notebook, in the nav's order: its chapter, Colab, download, and
    the copy on this site."""
    order = _nav_files(nav)
    rows = ["| Chapter | Notebook |", "| --- | --- |"]
    ranked = sorted(  # a chapter missing from the nav comes last
        chapters(), key=lambda p: order.index(page_name(p)) if page_name(p) in order else len(order)
    )
    source_dir = posixpath.dirname(page_src) or "."  # Markdown links are relative to the source
    for page in ranked:
        chapter = page_name(page)
        name = notebook_name(chapter)
        title = page.read_text(encoding="utf-8").split("\n", 1)[0].removeprefix("# ")
        link = posixpath.relpath(chapter, source_dir)
        here = posixpath.relpath(f"notebooks/{name}.ipynb", source_dir)
        download = _download(chapter, page_url)
        rows.append(
            f"| [{title}]({link}) | [Open in Colab]({colab_url(chapter)}) · "
            f'<a href="{download}" download="{name}.ipynb">download</a> · [read it here]({here}) |'
        )
    return "\n".join(rows)


def _notebook_chapter(page) -> str | None:
    """For a rendered notebook page, the chapter it was generated from (e.g. 'peft/lora.md')."""
    src = page.file.abs_src_path or ""
    if not src.endswith(".ipynb"):
        return None
    meta = json.loads(Path(src).read_text(encoding="utf-8"))["metadata"].get("guide", {})
    return meta.get("page", "").removeprefix("docs/") or None


def on_page_content(html: str, page, config, files) -> str:
    """A notebook page: no CDN scripts, out of the search index (its chapter is there), buttons."""
    chapter = _notebook_chapter(page)
    if chapter is None:
        return html
    html = CDN_SCRIPT_RE.sub("", CDN_MATHJAX_RE.sub("", html))
    html = html.replace(NBCONVERT_MERMAID_COMMENT, "")
    page.meta["search"] = {"exclude": True}
    page.title = f"{page.title} (notebook)"
    return notebook_buttons(chapter, page.url, back=site_path(chapter)) + "\n" + html


# The MathJax config and bundle (2.2 MB of script to parse) that mkdocs.yml's extra_javascript
# adds to every page, as Material writes the tags.
MATHJAX_TAGS_RE = re.compile(
    r'<script src="[^"]*assets/(?:javascripts/mathjax-config|vendor/mathjax/tex-svg-full)\.js">'
    r"</script>\s*"
)
HAS_MATH = ('class="arithmatex"', "jp-RenderedMarkdown")  # chapter math, a notebook's markdown


def on_post_page(output: str, page, config) -> str:
    """MathJax only where there is math to typeset: a page without any loads faster."""
    if any(mark in output for mark in HAS_MATH):
        return output
    return MATHJAX_TAGS_RE.sub("", output)


@event_priority(-100)  # after the search plugin has written its index
def on_post_build(config) -> None:
    """Search results show math as text (α / √r), never as raw TeX: the index is built from the
    pages' source, where MathJax has not run."""
    path = Path(config["site_dir"]) / "search" / "search_index.json"
    if not path.is_file():
        return
    index = json.loads(path.read_text(encoding="utf-8"))
    for doc in index.get("docs", []):
        doc["title"], doc["text"] = plain_math(doc["title"]), plain_math(doc["text"])
    path.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
