"""Where each chapter and its notebook live: in the repository, on the site and in Colab.

A chapter is a page with at least one block the tests run (``chapters()``); its notebook is
``notebooks/<name>.ipynb`` (``notebook_name``: ``peft/lora.md`` -> ``peft-lora``). The
repository and site addresses come from ``mkdocs.yml`` (``repo_url``, ``site_url``), so a fork's
notebooks and links point at the fork: that file is the only place a publisher changes them.
"""

from __future__ import annotations

import functools
from pathlib import Path

from tools.pages import ROOT, PageError, page_name, pages, runnable_blocks, site_config

NOTEBOOKS = ROOT / "notebooks"
# pages about the guide, not chapters
NOT_CHAPTERS = ("index.md", "how-this-guide-works.md", "learners-path.md")


@functools.cache
def site_urls() -> tuple[str, str]:
    """The repository and site URLs from mkdocs.yml (so a fork's notebooks point at the fork)."""
    config = site_config()
    return config["repo_url"].rstrip("/"), config["site_url"].rstrip("/") + "/"


def notebook_name(page: str) -> str:
    """``peft/lora.md`` -> ``peft-lora``; ``peft/index.md`` -> ``peft``."""
    parts = page.removesuffix(".md").split("/")
    if parts[-1] == "index" and len(parts) > 1:
        parts = parts[:-1]
    return "-".join(parts)


def notebook_path(page: str) -> Path:
    return NOTEBOOKS / f"{notebook_name(page)}.ipynb"


def colab_url(page: str) -> str:
    """The notebook opened in Colab straight from the repository's main branch."""
    repo = site_urls()[0]
    if not repo.startswith("https://github.com/"):
        raise PageError(f"mkdocs.yml: repo_url {repo} is not on GitHub, which Colab opens from")
    path = f"{repo.removeprefix('https://github.com/')}/blob/main/notebooks"
    return f"https://colab.research.google.com/github/{path}/{notebook_name(page)}.ipynb"


def site_path(page: str) -> str:
    """The page's path on the site: ``peft/lora.md`` -> ``peft/lora/``; ``peft/index.md`` ->
    ``peft/``."""
    path = page.removesuffix(".md")
    if path == "index" or path.endswith("/index"):
        return path.removesuffix("index")
    return path + "/"


def page_url(page: str) -> str:
    """The page's address on the published site."""
    return site_urls()[1] + site_path(page)


def chapters() -> list[Path]:
    """The pages that get a notebook: every chapter with at least one block the tests run."""
    return [p for p in pages() if page_name(p) not in NOT_CHAPTERS and runnable_blocks(p)]
