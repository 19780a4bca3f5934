"""The chapters' quizzes on the site: "Check yourself", and the checks of their numbers.

Each chapter's questions live beside it, ``docs/<part>/<page>.quiz.yml`` (the format, and why a
file of its own: ``ftkit/quiz.py``). The site hook (``tools/mkdocs_hooks.py``) renders them with
``render_quiz`` as Material's collapsible admonitions (pymdownx.details): a question, its
choices, and the answer with the explanation of every choice, hidden until the reader opens it.
No script, no server, no request to any host. The section goes before the page's References, or
at its end.

``numeric_problems`` checks each numeric answer against its source: the number that its
``output`` expression reads from the page's checked output boxes, or the value of its
``compute`` expression. The guard tests (``tests/test_quizzes.py``) run it for every quiz.
"""

from __future__ import annotations

import ast
import html
import operator
import posixpath
import re

from ftkit.quiz import LETTERS, Question, Quiz, parse_number

CHECK_YOURSELF = "## Check yourself"
REFERENCES_RE = re.compile(r"^## References\s*$", re.M)
GUIDE_PAGE = "learners-path.md"  # the page that shows the navigator, which asks these too


def _indent(text: str, by: str = "    ") -> str:
    return "\n".join(by + line if line.strip() else "" for line in text.strip().split("\n"))


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


def _plain(text: str) -> str:
    """Quiz text as Markdown shows it: ``<think>`` is text, not an HTML tag the browser hides."""
    return html.escape(" ".join(text.split()), quote=False)


def render_question(question: Question) -> str:
    """One question as Markdown: the question, its choices, the answer in a closed admonition."""
    lines = [f"**{question.number}. {_plain(question.ask)}**", ""]
    if question.choices:
        choices = list(zip(LETTERS, question.choices, strict=False))
        lines += [f"- **{L}.** {_plain(c.text)}" for L, c in choices]
        right = question.right_letter
        body = [f"**{right}** is right.", ""]
        body += [f"- **{L}.** {_plain(c.why)}" for L, c in choices]
    else:
        lines.append("*Answer with a number.*")
        within = f" (within {_number(question.tolerance)})" if question.tolerance else ""
        body = [f"**{_number(question.answer)}**{within}. {_plain(question.why)}"]
    lines += ["", '??? success "Answer"', "", _indent("\n".join(body)), ""]
    return "\n".join(lines)


def render_quiz(quiz: Quiz, page: str) -> str:
    """The "Check yourself" section of ``page`` (relative to docs/)."""
    link = posixpath.relpath(GUIDE_PAGE, posixpath.dirname(page) or ".")
    intro = (
        "Answer each question for yourself, then open its answer: every choice says why it is "
        f"right or wrong. The [navigator]({link}) asks the same questions in a terminal and "
        "keeps your score."
    )
    parts = [CHECK_YOURSELF, "", intro, ""] + [render_question(q) for q in quiz.questions]
    return "\n".join(parts)


def insert_quiz(markdown: str, section: str) -> str:
    """``markdown`` with ``section`` before its References heading, or at its end."""
    m = REFERENCES_RE.search(markdown)
    if m is None:
        return markdown.rstrip("\n") + "\n\n" + section + "\n"
    return markdown[: m.start()] + section + "\n\n" + markdown[m.start() :]


# --- checks of the numeric answers -----------------------------------------------------------

_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
}


def compute(expression: str) -> float:
    """The value of an arithmetic expression (numbers, + - * / // **, brackets), nothing else."""

    def value(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](value(node.operand))
        raise ValueError(f"only numbers and + - * / // ** in {expression!r}")

    body = ast.parse(expression, mode="eval").body
    if not isinstance(body, ast.BinOp):  # "163040" or "-3" checks nothing
        raise ValueError(f"{expression!r} is a bare number; a check computes it from the page's")
    return float(value(body))


def _printed(answer: float, outputs: list[str]) -> bool:
    """Whether ``answer`` is printed in one of the output boxes, as a number of its own (small
    whole numbers, which any box may hold by chance, are not looked for)."""
    if answer == int(answer) and abs(answer) < 100:
        return False
    forms = {f"{answer:g}", f"{answer:.15g}"}
    if answer == int(answer):
        forms |= {f"{answer:,.0f}", f"{answer:.0f}"}
    pattern = "|".join(re.escape(f) for f in forms)
    return any(re.search(rf"(?<![\d.,])(?:{pattern})(?![\d]|[.,]\d)", t) for t in outputs)


def numeric_problems(quiz: Quiz, outputs: list[str]) -> list[str]:
    """Each numeric answer of ``quiz`` that its check does not give, as 'file: question: why'.

    ``outputs`` are the texts of the page's checked output boxes."""
    problems = []
    for q in quiz.questions:
        if q.check is None:
            continue
        kind, source = q.check
        if kind == "compute":
            try:
                found = compute(source)
            except (ValueError, SyntaxError, ZeroDivisionError) as error:
                problems.append(f"{quiz.where(q)}: check compute: {error}")
                continue
            origin = f"compute {source!r} gives"
            if _printed(q.answer, outputs):
                problems.append(
                    f"{quiz.where(q)}: the page's output prints {_number(q.answer)}; read it "
                    "with check: {output: REGEX} instead of compute"
                )
                continue
        else:
            matches = [m for text in outputs for m in re.finditer(source, text, re.M)]
            if len(matches) != 1:
                problems.append(
                    f"{quiz.where(q)}: check output {source!r} matches {len(matches)} places in "
                    "the page's output boxes, not exactly one"
                )
                continue
            try:
                found = parse_number(matches[0].group(1))
            except ValueError as error:
                problems.append(f"{quiz.where(q)}: check output: {error}")
                continue
            origin = "the page's output shows"
        if abs(found - q.answer) > q.tolerance + 1e-9 * abs(q.answer):
            problems.append(
                f"{quiz.where(q)}: the answer is {_number(q.answer)} but {origin} {found:g}"
            )
    return problems
