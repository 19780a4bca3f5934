"""MkDocs hooks: fail the build on a broken include, and show the block markers to the reader.

Registered in mkdocs.yml under ``hooks:``. The markers themselves are described in
``tools/pages.py``; here they become admonitions, so a reader sees why a block is not run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mkdocs.exceptions import PluginError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # mkdocs loads hooks by path

from tools.pages import GPU_ONLY, MARKER_RE, NOT_RUN, PageError, expand_text  # noqa: E402

_TITLES = {
    GPU_ONLY: (
        "warning",
        "GPU only",
        "The doc tests skip this block on machines without CUDA and run it on a GPU.",
    ),
    NOT_RUN: ("note", "Not run by the tests", ""),
}


def render_markers(markdown: str) -> str:
    """Replace each ``<!-- gpu-only: ... -->`` / ``<!-- not-run: ... -->`` by an admonition."""
    out = []
    for line in markdown.split("\n"):
        m = MARKER_RE.match(line)
        if not m:
            out.append(line)
            continue
        kind, title, tail = _TITLES[m["kind"]]
        indent = m["indent"]
        reason = m["reason"].strip()
        reason = reason[:1].upper() + reason[1:] + ("" if reason.endswith(".") else ".")
        body = f"{reason} {tail}".strip()
        out += ["", f'{indent}!!! {kind} "{title}"', f"{indent}    {body}", ""]
    return "\n".join(out)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Check every include of the page, then render its markers."""
    try:
        expand_text(markdown, page.file.src_uri)
    except PageError as error:
        raise PluginError(str(error)) from None
    return render_markers(markdown)
