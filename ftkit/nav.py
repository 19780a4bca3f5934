"""The guide's parts and what each builds on, read from the site's nav (mkdocs.yml).

One rule, used by the home page's roadmap (``tools/roadmap.py``) and the navigator
(``ftkit.guide``), so that the two cannot disagree:

- A **part** is a top-level nav entry whose pages live in a folder (``peft/index.md``, ...),
  in nav order. The top-level pages outside a folder (Home, How this guide works) are about the
  guide, not parts of it, and are left out.
- A part builds on the part before it, unless ``extra.roadmap_requires`` in mkdocs.yml names
  what it builds on instead, by the path of each part's first page::

      extra:
        roadmap_requires:
          embeddings/index.md: [foundations/index.md]

  A name there that starts no part raises ``NavError``, naming it.

No third-party import: the navigator loads this without the site's build tools.
"""

from __future__ import annotations

from dataclasses import dataclass


class NavError(ValueError):
    """``roadmap_requires`` names a page that does not start a part of the nav."""


@dataclass(frozen=True)
class Part:
    """A part of the guide: its nav title and its pages as ``(title or None, page)``."""

    title: str
    pages: tuple[tuple[str | None, str], ...]

    @property
    def first(self) -> str:
        """The part's first page: its name in ``roadmap_requires``."""
        return self.pages[0][1]


def nav_pages(value) -> list[tuple[str | None, str]]:
    """(title or None, page) of every page under a nav entry's value, in order."""
    if isinstance(value, str):
        return [(None, value)]
    if isinstance(value, dict):
        ((title, inner),) = value.items()
        return [(title, inner)] if isinstance(inner, str) else nav_pages(inner)
    return [p for item in value or [] for p in nav_pages(item)]


def parts(nav) -> list[Part]:
    """The parts of the guide in ``nav`` (mkdocs.yml's), in order."""
    found = []
    for entry in nav or []:
        if not isinstance(entry, dict):  # a bare path at the top level: no title to show
            continue
        ((title, value),) = entry.items()
        pages = nav_pages(value)
        if "/" in pages[0][1]:  # starts in a folder: a part of the guide
            found.append(Part(title, tuple((t, p) for t, p in pages if "/" in p)))
    return found


def part_requires(found: list[Part], requires: dict | None = None) -> dict[str, list[str]]:
    """What each part builds on, by first page: ``roadmap_requires``'s entry, else the part
    before it (the first part builds on nothing).

    Raises:
        NavError: a name in ``requires`` starts no part, naming it and the parts' first pages.
    """
    starts = [part.first for part in found]
    requires = requires or {}
    unknown = sorted(
        {p for key, before in requires.items() for p in [key, *(before or [])] if p not in starts}
    )
    if unknown:
        raise NavError(
            f"extra.roadmap_requires: {', '.join(unknown)} does not start a part of the nav "
            f"(the parts start at: {', '.join(starts)})"
        )
    return {
        start: list(requires[start] or []) if start in requires else starts[i - 1 : i]
        for i, start in enumerate(starts)
    }
