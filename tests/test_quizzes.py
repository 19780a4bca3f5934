"""The chapters' quizzes: every chapter in the nav has one, each is well formed, and every numeric
answer is what its page prints or computes (``ftkit/quiz.py``, ``tools/quizzes.py``).

A bad quiz fails naming the file and the question: zero or two right answers, a missing
explanation, a numeric answer without a check, or one its page contradicts.
"""

from __future__ import annotations

from pathlib import Path

import markdown
import pytest

from ftkit.guide import load_syllabus
from ftkit.quiz import (
    QUIZ_SUFFIX,
    QuizError,
    grade,
    is_valid_answer,
    load_quiz,
    parse_number,
    quiz_path,
)
from tools.pages import CONFIG, DOCS, ROOT, runnable_blocks
from tools.quizzes import compute, insert_quiz, numeric_problems, render_quiz

QUIZZES = sorted(DOCS.rglob(f"*{QUIZ_SUFFIX}"))
MIN_QUESTIONS, MAX_QUESTIONS = 3, 4  # issue 29: a few questions per chapter


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_every_chapter_in_the_nav_has_a_quiz():
    chapters = load_syllabus(CONFIG, quizzes=False).chapters
    missing = [
        _rel(quiz_path(DOCS / page)) for page in chapters if not quiz_path(DOCS / page).is_file()
    ]
    assert not missing, "chapters in the nav of mkdocs.yml without a quiz; write: " + ", ".join(
        missing
    )


def test_every_quiz_belongs_to_a_page():
    orphans = [
        _rel(q)
        for q in QUIZZES
        if not q.with_name(q.name.removesuffix(QUIZ_SUFFIX) + ".md").is_file()
    ]
    assert not orphans, f"quiz files without their page: {orphans}"


@pytest.mark.parametrize("path", QUIZZES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_quiz_is_valid_and_its_numbers_are_the_pages(path):
    try:
        quiz = load_quiz(path.relative_to(ROOT))
    except QuizError as error:
        pytest.fail(str(error), pytrace=False)
    assert MIN_QUESTIONS <= len(quiz.questions) <= MAX_QUESTIONS, (
        f"{_rel(path)}: {len(quiz.questions)} questions; a chapter has {MIN_QUESTIONS} to "
        f"{MAX_QUESTIONS}"
    )
    page = path.with_name(path.name.removesuffix(QUIZ_SUFFIX) + ".md")
    outputs = [b.expected_output.text for b in runnable_blocks(page) if b.expected_output]
    problems = numeric_problems(quiz, outputs)
    assert not problems, "\n".join(problems)
    # the right answers, given as a reader would, score full marks
    answers = [q.right_letter or f"{q.answer:.15g}" for q in quiz.questions]
    assert all(grade(quiz, answers))


def test_the_right_answers_give_nothing_away():
    """Neither the letter nor the length of the right choice is a tell (across all quizzes)."""
    letters, longest, n = {}, [], 0
    for path in QUIZZES:
        for q in load_quiz(path.relative_to(ROOT)).questions:
            if not q.choices:
                continue
            n += 1
            letters[q.right_letter] = letters.get(q.right_letter, 0) + 1
            right = len(q.choices["abcdef".index(q.right_letter)].text)
            if right >= max(len(c.text) for c in q.choices if not c.right):
                longest.append(f"{_rel(path)}: {q.label}")
    assert max(letters.values()) <= 0.35 * n, f"right answers by letter: {letters}"
    assert len(longest) <= 0.25 * n, "the right choice is the longest in:\n" + "\n".join(longest)


GOOD = """\
questions:
  - ask: Which one?
    choices:
      - {text: this, right: true, why: because}
      - {text: that, why: because not}
"""


@pytest.mark.parametrize(
    ("second", "says"),
    [
        (
            "  - ask: Two right?\n    choices:\n      - {text: a, right: true, why: x}\n"
            "      - {text: b, right: true, why: y}\n",
            "exactly one choice must be right: true; found 2 (a, b)",
        ),
        (
            "  - ask: None right?\n    choices:\n      - {text: a, why: x}\n"
            "      - {text: b, why: y}\n",
            "exactly one choice must be right: true; found none",
        ),
        (
            "  - ask: No why?\n    choices:\n      - {text: a, right: true}\n"
            "      - {text: b, why: y}\n",
            "choice a: the explanation 'why' is missing",
        ),
        (
            "  - ask: A typo?\n    choices:\n      - {text: a, correct: true, why: x}\n"
            "      - {text: b, why: y}\n",
            "choice a: unknown key correct",
        ),
        ("  - ask: How many?\n    answer: 4\n", "the explanation 'why' is missing"),
        ("  - ask: How many?\n    answer: 4\n    why: w\n", "needs 'check'"),
    ],
)
def test_a_bad_question_is_named_with_its_file_and_line(tmp_path, second, says):
    path = tmp_path / "demo.quiz.yml"
    path.write_text(GOOD + second, encoding="utf-8")
    with pytest.raises(QuizError) as error:
        load_quiz(path)
    message = str(error.value)
    assert message.startswith(f"{path}: question 2 (line 6, ")
    assert says in message


def test_a_numeric_answer_the_page_contradicts_is_named(tmp_path):
    path = tmp_path / "demo.quiz.yml"
    path.write_text(
        "questions:\n"
        "  - ask: How many parameters?\n    answer: 139841\n    why: w\n"
        "    check: {output: '^parameters: ([\\d,]+)$'}\n"
        "  - ask: And twice that?\n    answer: 5\n    why: w\n    check: {compute: '2 * 3'}\n",
        encoding="utf-8",
    )
    problems = numeric_problems(load_quiz(path), ["model\nparameters: 139,840\n"])
    assert problems == [
        f'{path}: question 1 (line 2, "How many parameters?"): the answer is 139,841 but the '
        "page's output shows 139840",
        f'{path}: question 2 (line 6, "And twice that?"): the answer is 5 but compute '
        "'2 * 3' gives 6",
    ]
    missing = numeric_problems(load_quiz(path), ["nothing here"])
    assert "matches 0 places" in missing[0]
    # a number the page prints is read from its output, not typed again as a computation
    path.write_text(
        "questions:\n  - ask: GB per GPU?\n    answer: 1.9\n    tolerance: 0.05\n"
        "    why: w\n    check: {compute: '16 * 7.5 / 64'}\n",
        encoding="utf-8",
    )
    (printed,) = numeric_problems(load_quiz(path), ["zero3:    1.9 GB per GPU\n"])
    assert printed.endswith(
        "the page's output prints 1.9; read it with check: {output: REGEX} instead of compute"
    )
    assert numeric_problems(load_quiz(path), ["zero3:    21.9 GB per GPU\n"]) == []


def test_compute_is_arithmetic_only():
    assert compute("16 * 7.5 / 64") == 1.875
    for bad in ("__import__('os')", "x + 1", "len('ab') * 2", "163040", "-3"):
        with pytest.raises(ValueError):
            compute(bad)


def test_numbers_and_letters_are_read_as_a_reader_writes_them():
    assert [parse_number(t) for t in ("1,024", "75%", "3e-4", "-0.5")] == [1024, 75, 3e-4, -0.5]
    for bad in ("1,2", "12,34,567", "", "b", "1.2.3"):
        with pytest.raises(ValueError):
            parse_number(bad)
    quiz = load_quiz(QUIZZES[0].relative_to(ROOT))
    choice = next(q for q in quiz.questions if q.choices)
    right = choice.right_letter
    assert grade(quiz, [right.upper() + ")" if q is choice else "x" for q in quiz.questions])[
        quiz.questions.index(choice)
    ]
    assert is_valid_answer(choice, "B.") and not is_valid_answer(choice, "z")


def test_the_quiz_renders_before_the_references_with_hidden_answers(tmp_path):
    path = tmp_path / "demo.quiz.yml"
    path.write_text(GOOD, encoding="utf-8")
    section = render_quiz(load_quiz(path), "peft/lora.md")
    assert '??? success "Answer"' in section  # closed until the reader opens it
    assert "[navigator](../learners-path.md)" in section
    page = insert_quiz("# T\n\ntext\n\n## References\n\n- a\n", section)
    assert page.index("## Check yourself") < page.index("## References")
    assert insert_quiz("# T\n", section).rstrip().endswith("because not")


def test_quiz_text_is_escaped_so_a_tag_shows(tmp_path):
    path = tmp_path / "demo.quiz.yml"
    path.write_text(GOOD.replace("Which one?", "Why does it skip <think>?"), encoding="utf-8")
    section = render_quiz(load_quiz(path), "sft/reasoning.md")
    html = markdown.markdown(section, extensions=["admonition", "pymdownx.details"])
    assert "skip &lt;think&gt;?" in html and "<think>" not in html
