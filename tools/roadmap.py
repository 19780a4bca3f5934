"""The home page's roadmap, drawn from the site's own nav, so that it cannot drift from the site.

Each part of the guide is a box, in nav order, labelled with its nav title, and an arrow leads
into it from each part it builds on: the rule is ``ftkit.nav``'s (the part before it, unless
``extra.roadmap_requires`` in mkdocs.yml says otherwise), which the navigator (``ftkit.guide``)
follows too. A name in ``roadmap_requires`` that is not a part of the nav fails the build,
naming it. The hook (``tools/mkdocs_hooks.py``) puts the diagram where a page
has ``<!-- roadmap -->``.
"""

from __future__ import annotations

from ftkit.nav import NavError, part_requires, parts

ROADMAP = "<!-- roadmap -->"

RoadmapError = NavError  # ``roadmap_requires`` names a page that does not start a part


def roadmap(nav, requires: dict[str, list[str]] | None = None) -> str:
    """The Mermaid source of the roadmap (top to bottom: wide flows shrink their labels)."""
    found = parts(nav)
    before = part_requires(found, requires)  # raises RoadmapError, naming the unknown page
    ids = {part.first: f"P{i}" for i, part in enumerate(found, 1)}
    lines = ["flowchart TD"]
    lines += [f'    {ids[part.first]}["{part.title}"]' for part in found]
    for part in found:
        lines += [f"    {ids[p]} --> {ids[part.first]}" for p in before[part.first]]
    return "\n".join(lines) + "\n"
