"""A chapter's quiz: one YAML file beside the page, read by the site and by the navigator.

``docs/peft/lora.md`` has its questions in ``docs/peft/lora.quiz.yml``. The site's build renders
them under the chapter as "Check yourself" (``tools/quizzes.py``), and the syllabus navigator
(``ftkit.guide``) asks them at the chapter's checkpoint: one source, two readers. A file:

    questions:
      - ask: What does LoRA train?
        choices:
          - text: Every weight of the model.
            why: That is full fine-tuning; LoRA freezes the base weights.
          - text: Two small matrices B and A beside each frozen weight.
            right: true
            why: h = W0 x + (alpha / r) B A x; only B and A get gradients.
      - ask: How many parameters does r=8 add to one 64x64 projection?
        answer: 1024
        why: r (d + k) = 8 (64 + 64).
        check: {compute: "8 * (64 + 64)"}

A multiple-choice question has two to six ``choices``, exactly one ``right: true``, and a ``why``
on every choice (the reader learns as much from why a wrong answer is wrong). A numeric question
has an ``answer``, a ``why``, an optional absolute ``tolerance`` and a ``check`` that says where
the number comes from: ``output`` (a regular expression whose first group reads it from one of
the page's checked output boxes) or ``compute`` (an arithmetic expression, with at least one
operator). The guard tests (``tests/test_quizzes.py``) evaluate every check: an answer read from
an output box cannot drift from its page, and a computed one is checked for its arithmetic
(where the page prints the number, the guard requires an ``output`` check).

Every problem raises ``QuizError`` naming the file, the question's number and line, and its
first words. Answers are graded by ``grade``: a letter (``a``, ``b``...) for a choice, a number
for a numeric question.

Simplifies: mkdocs-quiz (PyPI 1.7.1), whose questions live inside the page's Markdown and are
read only by its plugin; here they are data, so a terminal can ask them too, and every choice
carries its own explanation.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

QUIZ_SUFFIX = ".quiz.yml"  # docs/<part>/<page>.md -> docs/<part>/<page>.quiz.yml
MIN_CHOICES, MAX_CHOICES = 2, 6
LETTERS = "abcdef"  # a choice is answered by its letter, as the site labels it
_QUESTION_KEYS = {"ask", "choices", "answer", "why", "tolerance", "check"}
_CHOICE_KEYS = {"text", "right", "why"}
_CHECK_KEYS = {"output", "compute"}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it: 10x
_NUMBER_RE = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?(e[+-]?\d+)?%?$", re.I)


class QuizError(ValueError):
    """A quiz file, or an answer to it, is not valid: the message names the file and question."""


@dataclass(frozen=True)
class Choice:
    text: str
    right: bool
    why: str


@dataclass(frozen=True)
class Question:
    """One question: multiple choice (``choices``) or numeric (``answer``)."""

    number: int  # 1-based position in the file
    line: int  # 1-based line of the question in the file
    ask: str
    choices: tuple[Choice, ...] = ()
    answer: float | None = None
    tolerance: float = 0.0
    why: str = ""  # a numeric question's explanation
    check: tuple[str, str] | None = None  # ("output", regex) or ("compute", expression)

    @property
    def right_letter(self) -> str | None:
        """The letter of the right choice (None for a numeric question)."""
        for letter, choice in zip(LETTERS, self.choices, strict=False):
            if choice.right:
                return letter
        return None

    @property
    def label(self) -> str:
        """'question 2 (line 14, "How many parameters...")': how errors name it."""
        words = self.ask if len(self.ask) <= 40 else self.ask[:37].rstrip() + "..."
        return f'question {self.number} (line {self.line}, "{words}")'


@dataclass(frozen=True)
class Quiz:
    path: Path
    questions: tuple[Question, ...]

    def where(self, question: Question) -> str:
        return f"{self.path}: {question.label}"


def quiz_path(page: Path) -> Path:
    """The quiz file of a page: ``docs/peft/lora.md`` -> ``docs/peft/lora.quiz.yml``."""
    return page.with_name(page.name.removesuffix(".md") + QUIZ_SUFFIX)


def parse_number(text: str) -> float:
    """A number as a reader writes it: ``1,024``, ``0.5``, ``3e-4``, ``75%`` (-> 75)."""
    text = str(text).strip()
    if not text or not _NUMBER_RE.match(text) or not any(c.isdigit() for c in text):
        raise ValueError(f"not a number: {text!r}")
    return float(text.replace(",", "").removesuffix("%"))


def _text(value, what: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise QuizError(f"{where}: {what} is missing or empty")
    return value.strip()


def _question(raw, number: int, line: int, path: Path) -> Question:
    head = f"{path}: question {number} (line {line})"
    if not isinstance(raw, dict):
        raise QuizError(f"{head}: a question is a mapping with 'ask' and 'choices' or 'answer'")
    ask = _text(raw.get("ask"), "'ask' (the question)", head)
    where = f"{path}: {Question(number, line, ask).label}"
    unknown = sorted(set(raw) - _QUESTION_KEYS)
    if unknown:
        raise QuizError(f"{where}: unknown key {', '.join(unknown)}")
    if ("choices" in raw) == ("answer" in raw):
        raise QuizError(f"{where}: give either 'choices' or a numeric 'answer', not both or none")
    if "choices" in raw:
        return _choice_question(raw, number, line, ask, where)
    return _numeric_question(raw, number, line, ask, where)


def _choice_question(raw: dict, number: int, line: int, ask: str, where: str) -> Question:
    items = raw["choices"]
    if not isinstance(items, list) or not MIN_CHOICES <= len(items) <= MAX_CHOICES:
        raise QuizError(f"{where}: 'choices' is a list of {MIN_CHOICES} to {MAX_CHOICES} choices")
    extra = [key for key in ("why", "check", "tolerance", "answer") if key in raw]
    if extra:
        raise QuizError(
            f"{where}: a multiple-choice question has no {', '.join(map(repr, extra))} (its "
            "'why' goes on each choice; 'check' and 'tolerance' are for numeric answers)"
        )
    choices = []
    for letter, item in zip(LETTERS, items, strict=False):
        at = f"{where}, choice {letter}"
        if not isinstance(item, dict):
            raise QuizError(f"{at}: a choice is a mapping with 'text', 'why' and maybe 'right'")
        unknown = sorted(set(item) - _CHOICE_KEYS)
        if unknown:
            raise QuizError(f"{at}: unknown key {', '.join(unknown)} (the right one: right: true)")
        right = item.get("right", False)
        if not isinstance(right, bool):
            raise QuizError(f"{at}: 'right' is true or false")
        text = _text(item.get("text"), "'text'", at)
        why = _text(item.get("why"), "the explanation 'why'", at)
        choices.append(Choice(text, right, why))
    rights = [letter for letter, c in zip(LETTERS, choices, strict=False) if c.right]
    if len(rights) != 1:
        found = f"{len(rights)} ({', '.join(rights)})" if rights else "none"
        raise QuizError(f"{where}: exactly one choice must be right: true; found {found}")
    return Question(number, line, ask, choices=tuple(choices))


def _numeric_question(raw: dict, number: int, line: int, ask: str, where: str) -> Question:
    answer, tolerance = raw["answer"], raw.get("tolerance", 0)
    for name, value in (("answer", answer), ("tolerance", tolerance)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise QuizError(f"{where}: '{name}' must be a number, not {value!r}")
    if tolerance < 0:
        raise QuizError(f"{where}: 'tolerance' must be >= 0")
    why = _text(raw.get("why"), "the explanation 'why'", where)
    check = raw.get("check")
    if not isinstance(check, dict) or len(check) != 1 or not set(check) <= _CHECK_KEYS:
        raise QuizError(
            f"{where}: a numeric answer needs 'check': {{output: REGEX}} (read from the page's "
            "output) or {compute: EXPRESSION}"
        )
    ((kind, source),) = check.items()
    source = _text(source, f"check '{kind}'", where)
    if kind == "output":
        try:
            groups = re.compile(source).groups
        except re.error as error:
            raise QuizError(
                f"{where}: check 'output' is not a regular expression: {error}"
            ) from None
        if groups < 1:
            raise QuizError(f"{where}: check 'output' needs a group around the number")
    return Question(
        number,
        line,
        ask,
        answer=float(answer),
        tolerance=float(tolerance),
        why=why,
        check=(kind, source),
    )


def load_quiz(path: Path | str) -> Quiz:
    """Read and check a quiz file. Raises ``QuizError`` naming the file and the question."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QuizError(f"{path}: no such quiz file") from None
    try:
        root = yaml.compose(text, Loader=_LOADER)  # the nodes: each question's line
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as error:
        raise QuizError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise QuizError(f"{path}: a quiz file is a mapping with a list 'questions'")
    if not data["questions"]:
        raise QuizError(f"{path}: 'questions' is empty")
    if sorted(data) != ["questions"]:
        unknown = ", ".join(sorted(map(str, set(data) - {"questions"})))
        raise QuizError(f"{path}: unknown top-level key {unknown} (only 'questions')")
    nodes = next(value for key, value in root.value if key.value == "questions").value
    questions = tuple(
        _question(raw, i, node.start_mark.line + 1, path)
        for i, (raw, node) in enumerate(zip(data["questions"], nodes, strict=True), 1)
    )
    return Quiz(path, questions)


def _letter(answer: str) -> str:
    """A typed choice as its letter: ``B``, ``b)`` and ``b.`` are all ``b``."""
    return str(answer).strip().lower().rstrip(".)")


def is_valid_answer(question: Question, answer: str) -> bool:
    """Whether ``answer`` is an answer at all: one of the choices' letters, or a number."""
    if question.choices:
        return _letter(answer) in LETTERS[: len(question.choices)]
    try:
        parse_number(answer)
    except ValueError:
        return False
    return True


def is_right(question: Question, answer: str) -> bool:
    """Whether ``answer`` (a letter, or a number as text) answers ``question``."""
    answer = str(answer).strip()
    if question.choices:
        return _letter(answer) == question.right_letter
    try:
        value = parse_number(answer)
    except ValueError:
        return False
    return abs(value - question.answer) <= question.tolerance + 1e-9 * abs(question.answer)


def grade(quiz: Quiz, answers: list[str]) -> list[bool]:
    """One verdict per question. Raises ``QuizError`` unless there is one answer per question."""
    if len(answers) != len(quiz.questions):
        raise QuizError(
            f"{quiz.path}: {len(quiz.questions)} questions, {len(answers)} answers given"
        )
    return [is_right(q, a) for q, a in zip(quiz.questions, answers, strict=True)]
