"""A page's Markdown as Markdown a notebook renders (Jupyter, Colab).

Content tabs become a bold label and their body, admonitions block quotes, links to other pages
absolute links to the published site, ``\\(..\\)`` math ``$..$``; the block markers are dropped
(``tools/notebooks.py`` turns them into notes). One line out per line in, so the expanded text's
line origins still hold.
"""

from __future__ import annotations

import posixpath
import re

from tools.chapters import page_url, site_urls
from tools.pages import EXERCISE_MARKER_RE, EXPECTED_OUTPUT_RE, MARKER_RE, TOLERANCE_RE

TAB_RE = re.compile(r'^(?P<indent>\s*)===\+?\s+"(?P<title>.*)"\s*$')
ADMONITION_RE = re.compile(
    r'^(?P<indent>\s*)(?:!!!|\?\?\?\+?)\s+(?P<kind>[\w-]+)(?:\s+"(?P<title>.*)")?\s*$'
)
LINK_RE = re.compile(r"\]\((?P<target>[^)\s]+)\)")
CODE_SPAN_RE = re.compile(r"(`+)(?:.+?)\1")
# A heading's attribute list ({ #id .class key="value" }), which Jupyter would show as text.
HEADING_ATTRS_RE = re.compile(r"^(?P<heading>#{1,6} .*?)\s*\{[^{}]*\}\s*$")
# A heading with its plain-text label (the one the site's navigation shows for a heading with
# math): a notebook's heading is that label, since Colab's table of contents would show TeX.
HEADING_LABEL_RE = re.compile(
    r'^(?P<hashes>#{1,6}) .*?\{[^{}]*\bdata-toc-label="(?P<label>[^"]+)"[^{}]*\}\s*$'
)


def indent_of(line: str) -> int:
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
        indent = indent_of(line)
        end = i + 1
        while end < len(lines) and (not lines[end].strip() or indent_of(lines[end]) > indent):
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
        return f"]({site_urls()[1]}{resolved}{anchor})"

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
    """Prose lines -> a markdown cell: markers dropped, links absolute, math in dollars, and a
    chart (``tools/charts.py``) a link to the page that draws it."""
    out: list[str] = []
    fence: str | None = None
    chart: list[str] = []
    for line in lines:
        stripped = line.strip()
        if fence is None and (chart or stripped.startswith("<!-- chart:")):
            chart.append(line)
            if "-->" in line:
                out.append(_chart_link("\n".join(chart), page))
                chart = []
            continue
        if fence is None and any(
            marker.match(line)
            for marker in (MARKER_RE, EXERCISE_MARKER_RE, EXPECTED_OUTPUT_RE, TOLERANCE_RE)
        ):
            continue
        m = re.match(r"^\s*(`{3,}|~{3,})", line)
        if m and (fence is None or (m[1].startswith(fence) and not stripped[len(m[1]) :])):
            fence = m[1] if fence is None else None
            out.append(line)
            continue
        if fence is None:
            labelled = HEADING_LABEL_RE.match(line)
            if labelled:
                line = f"{labelled['hashes']} {labelled['label']}"
            line = HEADING_ATTRS_RE.sub(r"\g<heading>", line)
        out.append(line if fence else _dollar_math(_absolute_links(line, page)))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")
    return text


def _chart_link(comment: str, page: str) -> str:
    """The sentence a notebook shows where its chapter draws a chart of the output above."""
    from tools.charts import CHART_RE, parse_spec

    m = CHART_RE.match(comment.strip())
    title = parse_spec(m["spec"])["title"] if m else "a chart"
    return f"*The chapter draws the numbers above as a chart: [{title}]({page_url(page)}).*"
