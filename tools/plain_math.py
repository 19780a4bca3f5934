"""Math as plain text, for the places MathJax never reaches: the search index (its titles and
previews) is built from the pages' source, where the math is still TeX between ``\\(`` and
``\\)`` or ``\\[`` and ``\\]``. ``plain_math`` rewrites each formula into readable Unicode
(``\\alpha / \\sqrt{r}`` becomes ``α / √r``); it is not a TeX renderer, only a legible
approximation of what the page shows, good enough for a search result.
"""

from __future__ import annotations

import re

SYMBOLS = {
    # Greek letters used on the site, and their capitals where used
    **{f"\\{name}": char for name, char in zip(
        "alpha beta gamma delta epsilon eta theta lambda mu pi rho sigma tau phi".split(),
        "αβγδεηθλμπρστφ",
        strict=True,
    )},
    "\\Delta": "Δ",
    # operators and relations
    "\\cdot": "·", "\\times": "×", "\\pm": "±", "\\approx": "≈", "\\neq": "≠", "\\ge": "≥",
    "\\le": "≤", "\\ll": "≪", "\\in": "∈", "\\cup": "∪", "\\mid": "|", "\\leftarrow": "←",
    "\\to": "→", "\\nabla": "∇", "\\partial": "∂", "\\sum": "Σ", "\\dots": "…", "\\top": "ᵀ",
    "\\lVert": "‖", "\\rVert": "‖", "\\|": "‖", "\\{": "{", "\\}": "}",
    # named functions keep their names
    "\\exp": "exp", "\\log": "log", "\\ln": "ln", "\\max": "max", "\\min": "min",
    # spacing and sizing: a space, or nothing
    "\\quad": " ", "\\qquad": " ", "\\,": " ", "\\;": " ", "\\ ": " ", "\\\\": " ",
    "\\left": "", "\\right": "", "\\big": "", "\\Big": "",
}  # fmt: skip
# Bounded, so that a stray "\[" in code shown on a page cannot swallow the text after it.
MATH_RE = re.compile(r"\\\((?P<inline>.{1,300}?)\\\)|\\\[(?P<display>.{1,800}?)\\\]", re.S)
GROUP = r"\{((?:[^{}]|\{[^{}]*\})*)\}"  # one {...}, which may hold one level of {...}
COMMANDS = [  # rewritten innermost first, until none is left
    (re.compile(r"\\t?frac" + GROUP + GROUP), r"(\1)/(\2)"),
    (re.compile(r"\\sqrt" + GROUP), r"√(\1)"),
    (re.compile(r"\\(?:text|mathrm|mathbb|mathcal|operatorname|hat|underbrace)" + GROUP), r"\1"),
    (re.compile(r"\\(?:begin|end)\{[a-z*]+\}"), ""),
]


def tex_to_text(tex: str) -> str:
    """One formula's TeX as plain text."""
    for _ in range(5):  # nested commands: \frac{\sqrt{x}}{2}
        for pattern, replacement in COMMANDS:
            tex = pattern.sub(replacement, tex)
    tex = re.sub(r"\\[a-zA-Z]+|\\.", lambda m: SYMBOLS.get(m[0], m[0].lstrip("\\")), tex)
    tex = re.sub(r"\((\w)\)", r"\1", tex)  # √(r) -> √r, (a)/(b) -> a/b for single symbols
    tex = tex.replace("{", "").replace("}", "").replace("&", " ")
    return " ".join(tex.split())


def plain_math(text: str) -> str:
    """``text`` with every ``\\(...\\)`` and ``\\[...\\]`` formula as plain text."""
    return MATH_RE.sub(lambda m: tex_to_text(m["inline"] or m["display"]), text)
