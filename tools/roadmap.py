"""The home page's roadmap, drawn from the site's own nav, so that it cannot drift from the site.

Each part of the nav (a top-level section, or a top-level page in a folder) is a box, in nav
order, labelled with its nav title. An arrow leads into each part from the part before it,
unless ``extra.roadmap_requires`` in mkdocs.yml names what it builds on instead (by the path of
each part's first page):

    extra:
      roadmap_requires:
        embeddings/index.md: [foundations/index.md]

The top-level pages outside a folder (Home, How this guide works) are about the guide, not
parts of it, and are left out. A name in ``roadmap_requires`` that is not a part of the nav
fails the build, naming it. The hook (``tools/mkdocs_hooks.py``) puts the diagram where a page
has ``<!-- roadmap -->``.
"""

from __future__ import annotations

ROADMAP = "<!-- roadmap -->"


class RoadmapError(ValueError):
    """``roadmap_requires`` names a page that does not start a part of the nav."""


def _first_page(value) -> str:
    """The first page file of a nav entry's value (a path, or a list of entries)."""
    if isinstance(value, str):
        return value
    first = value[0]
    return _first_page(next(iter(first.values())) if isinstance(first, dict) else first)


def nav_parts(nav) -> list[tuple[str, str]]:
    """(title, first page) of each part of the guide in ``nav`` (mkdocs.yml's), in order."""
    parts = []
    for entry in nav or []:
        if not isinstance(entry, dict):  # a bare path at the top level: no title to show
            continue
        ((title, value),) = entry.items()
        first = _first_page(value)
        if "/" in first:
            parts.append((title, first))
    return parts


def roadmap(nav, requires: dict[str, list[str]] | None = None) -> str:
    """The Mermaid source of the roadmap (top to bottom: wide flows shrink their labels)."""
    parts = nav_parts(nav)
    ids = {first: f"P{i}" for i, (_title, first) in enumerate(parts, 1)}
    requires = requires or {}
    unknown = sorted(
        {p for key, before in requires.items() for p in [key, *before] if p not in ids}
    )
    if unknown:
        raise RoadmapError(
            f"mkdocs.yml extra.roadmap_requires: {', '.join(unknown)} does not start a part of "
            f"the nav (the parts start at: {', '.join(ids)})"
        )
    lines = ["flowchart TD"]
    lines += [f'    {ids[first]}["{title}"]' for title, first in parts]
    for i, (_title, first) in enumerate(parts):
        before = requires.get(first, [parts[i - 1][1]] if i else [])
        lines += [f"    {ids[p]} --> {ids[first]}" for p in before]
    return "\n".join(lines) + "\n"
