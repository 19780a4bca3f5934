"""The first code cell of a chapter's notebook: install ftkit and the tested library versions.

The packages are ftkit from the repository, ftkit's own dependencies and the distribution of
every module the chapter's code imports (following imports into ftkit's modules), at
requirements.txt's versions. Colab's own torch and pillow stay. A chapter that imports Unsloth
installs Unsloth alone on a GPU runtime (it brings its own transformers and TRL) and the guide's
versions on a CPU one.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re

from tools.chapters import site_urls
from tools.pages import ROOT, PageError

# Colab's own builds stay: its torch is built for its GPU, and its pillow is imported when the
# runtime starts (replacing it would ask for a restart); ftkit only needs pillow>=10.1.
COLAB_KEEPS = {"torch", "pillow"}
# The libraries Unsloth installs at its own versions; pinning ours would break it.
UNSLOTH_OWNS = {
    "transformers",
    "tokenizers",
    "trl",
    "datasets",
    "peft",
    "accelerate",
    "bitsandbytes",
    "safetensors",
}
# Libraries that transformers imports only when a class of theirs is used: the name shows the need.
LAZY_LIBRARIES = {"BitsAndBytesConfig": "bitsandbytes"}
# Command lines a chapter's bash cells run in the guide's own environment, by the distribution
# that installs them (``trl sft`` in the framework showdown).
COMMANDS = {"trl": "trl"}


@functools.cache
def pins() -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of requirements.txt."""
    found = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#;]+)", line)
        if m:
            found[_normal(m[1])] = m[2]
    return found


def _normal(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    """importlib's module -> distributions map, read once: it lists every installed file of
    every distribution (about a second), and the environment does not change during a run."""
    return importlib.metadata.packages_distributions()


@functools.cache
def _ftkit_dependencies() -> tuple[str, ...]:
    """The distributions ftkit declares in pyproject.toml (read as text: no tomllib on 3.10)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M)
    if not block:
        raise PageError("pyproject.toml: no [project] dependencies list")
    names = re.findall(r'^\s*"([A-Za-z0-9_.-]+)', block[1], re.M)
    return tuple(_normal(n) for n in names)


def _imports(code: str) -> set[str]:
    """Dotted names of every module imported anywhere in ``code`` (function bodies included)."""
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def imported_modules(codes: list[str]) -> set[str]:
    """Top-level modules the code needs, following imports into ftkit's own modules."""
    todo = set().union(*(_imports(c) for c in codes)) if codes else set()
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        source = ROOT / (name.replace(".", "/") + ".py")
        if name.split(".")[0] == "ftkit" and source.is_file():
            todo |= _imports(source.read_text(encoding="utf-8"))
    return {name.split(".")[0] for name in seen}


def _commands(shell: list[str]) -> set[str]:
    """The distributions of the ``COMMANDS`` that bash code runs (a word at a command's start,
    or after ``/usr/bin/time``'s options)."""
    return {
        dist
        for command, dist in COMMANDS.items()
        if any(re.search(rf"(?m)(^|\s){re.escape(command)} ", code) for code in shell)
    }


def install_packages(codes: list[str], shell: list[str] = ()) -> tuple[list[str], list[str]]:
    """(pip requirements, the ones Unsloth replaces) for a chapter's code.

    The requirements are ftkit from the repository, then ftkit's own dependencies and the
    distributions of every module the code (and the ftkit modules it uses) imports, at
    requirements.txt's versions; accelerate too, which transformers' Trainer and TRL need.
    ``COLAB_KEEPS`` are left to Colab. For a chapter that imports Unsloth, the libraries Unsloth
    installs at its own versions come second, apart, to install only where Unsloth is not.
    ``shell`` is the code of the chapter's bash cells that run in the guide's environment: the
    command lines they run (``COMMANDS``) are installed too.
    """
    modules = imported_modules(codes)
    by_module = _packages_distributions()
    dists = set(_ftkit_dependencies()) | {"accelerate"} | _commands(list(shell))
    for module in modules:
        dists |= {_normal(d) for d in by_module.get(module, [])}
    dists |= {dist for name, dist in LAZY_LIBRARIES.items() if any(name in c for c in codes)}
    dists = {d for d in dists if d in pins() and d not in COLAB_KEEPS}
    owned = dists & UNSLOTH_OWNS if "unsloth" in modules else set()
    packages = [f"ftkit @ git+{site_urls()[0]}.git"]
    packages += [f"{d}=={pins()[d]}" for d in sorted(dists - owned)]
    return packages, [f"{d}=={pins()[d]}" for d in sorted(owned)]


def install_cell(codes: list[str], shell: list[str] = ()) -> str:
    packages, unsloth_replaces = install_packages(codes, shell)
    lines = [
        "# Installs ftkit from the guide's repository and the library versions the guide",
        "# is tested with. Colab's torch and pillow stay.",
        *(["import importlib.util"] if unsloth_replaces else []),
        "import subprocess",
        "import sys",
        "",
        'PIP = [sys.executable, "-m", "pip", "install", "-q"]',
        "PACKAGES = [",
        *(f'    "{p}",' for p in packages),
        "]",
    ]
    if unsloth_replaces:
        lines += [
            "GUIDE_VERSIONS = [  # Unsloth installs its own versions of these",
            *(f'    "{p}",' for p in unsloth_replaces),
            "]",
            "",
            "import torch",
            "",
            "if torch.cuda.is_available():  # a GPU runtime: Unsloth first, on its own",
            '    if importlib.util.find_spec("unsloth") is None:',
            '        subprocess.run([*PIP, "unsloth"], check=True)',
            "else:  # a CPU runtime: no Unsloth (it needs a GPU), the guide's versions",
            "    PACKAGES += GUIDE_VERSIONS",
        ]
    lines += [
        "# Every run: pip leaves what is already at these versions and replaces what",
        "# is not, so a reused runtime gets the tested versions too (-U: ftkit anew).",
        'subprocess.run([*PIP, "-U", *PACKAGES], check=True)',
    ]
    return "\n".join(lines)


def pip_command() -> str:
    """The home page's install line: what every chapter's first cell installs on a CPU runtime,
    together (ftkit from ``repo_url`` in mkdocs.yml, then the pinned libraries), one per line."""
    from tools.chapters import chapters
    from tools.pages import runnable_blocks

    wanted: set[str] = set()
    for page in chapters():
        blocks = runnable_blocks(page)
        codes = [b.code for b in blocks if b.lang == "python"]
        packages, unsloth_replaces = install_packages(codes, guide_shell(blocks))
        wanted |= set(packages[1:]) | set(unsloth_replaces)
    ftkit = f'"ftkit @ git+{site_urls()[0]}.git"'
    return " \\\n    ".join(["pip install -U", ftkit, *sorted(wanted)])


def guide_shell(blocks) -> list[str]:
    """The code of the bash blocks that run in the guide's own environment (not in a
    framework's own: ``tools.pages.FRAMEWORKS``)."""
    from tools.pages import FRAMEWORKS

    return [
        b.code
        for b in blocks
        if b.lang in ("bash", "sh")
        and not b.file
        and not (b.framework and FRAMEWORKS[b.framework].venv)
    ]
