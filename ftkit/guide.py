"""The syllabus navigator: a LangGraph state machine that walks a student through the guide.

    python -m ftkit.guide run --intent optimise-latency      # answer on the keyboard
    python -m ftkit.guide --student ada run --answers "b a 3"  # or give the answers
    python -m ftkit.guide --student ada status
    python -m ftkit.guide --student ada export

What it teaches: LangGraph's ``StateGraph`` as a tutor. The syllabus is read from the site's
own nav in ``mkdocs.yml`` (no second list): one node per chapter, and after it one quiz node
that asks the chapter's questions (``ftkit.quiz``, the same file the site renders) and branches
on the score, back to the chapter to review it or on to the next one. A ``plan`` node turns the
student's intent into a path: the intent's target chapters and everything they need, in nav
order. A chapter needs the page before it in its part; the first page of a part needs the
parts ``extra.roadmap_requires`` names, or else the part before it (``ftkit.nav``: the same rule
draws the home page's roadmap). The intents are the seed syllabus's (deploy fast, optimise
latency, cheap training), plus ``everything``.

A quiz node pauses the graph with ``interrupt`` until answers come (typed, piped on stdin, or
given with ``--answers``); LangGraph's ``SqliteSaver`` saves the state after every step in one
SQLite file per student (``<dir>/<student>/progress.sqlite``), so a run killed at any point,
in a quiz or between two steps of the graph, resumes where it stopped. Every ``run`` and
``import`` (and ``export``) writes the progress as JSON too (``progress.json``, the previous one
kept as ``.bak``), and ``import`` starts a database again from such a file. A damaged database
is never changed: the error names the file and says where its copy is; ``import`` replaces a
database only after keeping a complete copy of it (SQLite's backup API, which includes what
is still in the write-ahead log).

References: LangGraph's persistence and human-in-the-loop guides (checkpointers, ``interrupt``,
``Command(resume=...)``; https://langchain-ai.github.io/langgraph/concepts/persistence/, read
2026-12-01); the navigator sketched in section 4 of the seed syllabus, whose router jumps by
intent (deploy_fast -> LLM fine-tuning, optimize_latency -> quantization, cheap_training ->
distillation). Simplifies: ``langgraph/checkpoint/sqlite/__init__.py`` is used as it is.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import math
import os
import re
import shutil
import sqlite3
import sys
import textwrap
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import yaml

from ftkit.nav import NavError, part_requires, parts
from ftkit.quiz import (
    LETTERS,
    Question,
    Quiz,
    QuizError,
    grade,
    is_valid_answer,
    load_quiz,
    quiz_path,
)

PASS_FRACTION = 2 / 3  # right answers needed to go on: 2 of 3, 3 of 4
# The seed's intents (section 4: deploy_fast, optimize_latency, cheap_training) and the
# chapters each one aims at; the path adds what they need. deploy fast: the seed's "Large LLM
# fine-tuning" module, here SFT with LoRA; optimise latency: quantization, and distillation
# for a smaller model (the seed's decision tree, "Latency & Cost critical -> Distill"); cheap
# training: distillation, and LoRA / QLoRA ("Small GPU / Budget -> PEFT: LoRA/QLoRA").
INTENTS: dict[str, tuple[str, ...]] = {
    "deploy-fast": ("peft/lora.md", "sft/index.md"),
    "optimise-latency": ("quantization/index.md", "distillation/index.md"),
    "cheap-training": ("distillation/index.md", "peft/lora.md", "quantization/qlora.md"),
    "everything": (),  # every chapter
}
# The seed's own spellings are accepted too: optimize_latency, deploy_fast, cheap_training.
ALIASES = {"optimize-latency": "optimise-latency"}
DEFAULT_DIR = Path("guide-progress")  # relative: in the folder the command runs in
DB_NAME, EXPORT_NAME = "progress.sqlite", "progress.json"
EXPORT_FORMAT = 1  # bump when progress.json changes shape
STUDENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
WIDTH = 79  # the output's width when it is not a terminal (the site's code column)


class GuideError(Exception):
    """Bad input to the navigator: the message names the file and what is wrong."""


# --- the syllabus, from mkdocs.yml -----------------------------------------------------------


class _SiteLoader(yaml.SafeLoader):
    """mkdocs.yml without its Python tags (``!relative``, ``!!python/name:``): only the nav and
    ``extra`` are read, and no code named in the file is imported."""


_SiteLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
_SiteLoader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


@dataclass(frozen=True)
class Syllabus:
    """The chapters in nav order, their titles, what each needs, and their quizzes."""

    site: Path  # mkdocs.yml
    chapters: tuple[str, ...]  # pages relative to docs/, in reading order
    titles: dict[str, str]
    parts: dict[str, str]  # chapter -> the nav title of its part
    requires: dict[str, tuple[str, ...]]
    quizzes: dict[str, Quiz]

    def path_for(self, intent: str) -> list[str]:
        """The chapters an intent reads, in nav order: its targets and all they need."""
        if intent not in INTENTS:
            raise GuideError(f"unknown intent {intent!r}; choose one of {', '.join(INTENTS)}")
        targets = INTENTS[intent] or self.chapters
        missing = [t for t in targets if t not in self.chapters]
        if missing:
            raise GuideError(
                f"ftkit/guide.py INTENTS[{intent!r}]: {', '.join(missing)} is not a chapter in "
                f"the nav of {self.site}"
            )
        need: set[str] = set()
        stack = list(targets)
        while stack:
            page = stack.pop()
            if page not in need:
                need.add(page)
                stack += self.requires[page]
        path = [c for c in self.chapters if c in need]
        unquizzed = [c for c in path if c not in self.quizzes]
        if self.quizzes and unquizzed:
            where = self.site.parent / "docs"
            raise GuideError(
                f"{_rel(quiz_path(where / unquizzed[0]))}: no such quiz file; the chapter "
                f"{unquizzed[0]} is on the path {intent!r}"
            )
        return path


def load_syllabus(site: Path | str, quizzes: bool = True) -> Syllabus:
    """Read the chapters, prerequisites and (unless ``quizzes`` is false) the quizzes of the site
    whose config is ``site``.

    Raises ``GuideError`` (a missing file, a prerequisite that names no chapter) or
    ``QuizError`` (a missing or bad quiz), naming the file."""
    site = Path(site)
    try:
        config = yaml.load(site.read_text(encoding="utf-8"), Loader=_SiteLoader)
    except FileNotFoundError:
        raise GuideError(f"{site}: no such file (give the site's config with --site)") from None
    except yaml.YAMLError as error:
        raise GuideError(f"{site}: not valid YAML: {error}") from None
    if not isinstance(config, dict) or not isinstance(config.get("nav"), list):
        raise GuideError(f"{site}: no 'nav' list")
    docs = site.parent / config.get("docs_dir", "docs")
    found = parts(config["nav"])
    try:
        before = part_requires(found, (config.get("extra") or {}).get("roadmap_requires"))
    except NavError as error:
        raise GuideError(f"{site}: {error}") from None
    chapters, titles, part_of, requires = [], {}, {}, {}
    for part in found:
        for title, page in part.pages:
            chapters.append(page)
            titles[page] = title or part.title
            part_of[page] = part.title
        requires[part.first] = tuple(before[part.first])
        for (_t, prev), (_t2, page) in zip(part.pages, part.pages[1:], strict=False):
            requires[page] = (prev,)
    # A chapter without its quiz file yet still has a place in the syllabus; a path through it
    # is refused (path_for), and the guard tests name the file to write.
    quizzes_found = {
        p: load_quiz(_rel(quiz_path(docs / p)))
        for p in chapters
        if quizzes and quiz_path(docs / p).is_file()
    }
    return Syllabus(site, tuple(chapters), titles, part_of, requires, quizzes_found)


def _rel(path: Path) -> Path:
    """``path`` relative to the current folder when it is under it (shorter error messages)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def default_site() -> Path:
    """The guide's mkdocs.yml: beside this package in a checkout, else in the current folder."""
    beside = Path(__file__).resolve().parents[1] / "mkdocs.yml"
    return beside if beside.is_file() else Path("mkdocs.yml")


def site_path(page: str) -> str:
    """The page's address on the site: ``peft/lora.md`` -> ``peft/lora/``."""
    path = page.removesuffix(".md")
    return path.removesuffix("index") if path.endswith("index") else path + "/"


# --- the graph -------------------------------------------------------------------------------


class Progress(TypedDict, total=False):
    """The graph's state, saved after every step."""

    intent: str
    path: list[str]  # the chapters to read, in order
    done: list[str]  # chapters whose quiz was passed
    scores: dict[str, list[int]]  # chapter -> right answers at each attempt
    passed: bool  # the last quiz's outcome


def node_name(page: str) -> str:
    """A chapter's node: ``peft/lora.md`` -> ``peft-lora``; its quiz is ``quiz-peft-lora``."""
    parts = page.removesuffix(".md").split("/")
    if parts[-1] == "index" and len(parts) > 1:
        parts = parts[:-1]
    return "-".join(parts)


def pass_mark(quiz: Quiz) -> int:
    return math.ceil(PASS_FRACTION * len(quiz.questions) - 1e-9)


def build_graph(syllabus: Syllabus, checkpointer=None):
    """The compiled StateGraph: plan -> router -> chapter -> quiz -> router (or the chapter)."""
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    graph = StateGraph(Progress)

    def plan(state: Progress) -> Progress:
        path = state.get("path") or syllabus.path_for(state["intent"])
        return {"path": path, "done": state.get("done", []), "scores": state.get("scores", {})}

    def router(state: Progress) -> Progress:
        return {}

    def next_chapter(state: Progress) -> str:
        todo = [p for p in state["path"] if p not in state["done"]]
        return node_name(todo[0]) if todo else END

    graph.add_node("plan", plan)
    graph.add_node("router", router)
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "router")
    targets = {END: END}
    # One node per chapter that has its quiz: a chapter still without one (being written) is
    # on no path (path_for refuses a path through it), so it must not stop the others.
    for page in (p for p in syllabus.chapters if p in syllabus.quizzes):
        name, quiz = node_name(page), syllabus.quizzes[page]
        targets[name] = name

        def read(state: Progress, page=page) -> Progress:
            return {}  # the driver shows the chapter; the state changes at its quiz

        def ask(state: Progress, page=page, quiz=quiz) -> Progress:
            answers = interrupt({"chapter": page, "questions": len(quiz.questions)})
            score = sum(grade(quiz, list(answers)))
            scores = {**state["scores"], page: [*state["scores"].get(page, []), score]}
            passed = score >= pass_mark(quiz)
            done = state["done"] + ([page] if passed and page not in state["done"] else [])
            return {"scores": scores, "done": done, "passed": passed}

        graph.add_node(name, read)
        graph.add_node(f"quiz-{name}", ask)
        graph.add_edge(name, f"quiz-{name}")
        graph.add_conditional_edges(
            f"quiz-{name}",
            lambda state, name=name: "router" if state["passed"] else name,
            {"router": "router", name: name},
        )
    graph.add_conditional_edges("router", next_chapter, targets)
    return graph.compile(checkpointer=checkpointer)


# --- saved progress --------------------------------------------------------------------------


def student_dir(folder: Path, student: str) -> Path:
    if not STUDENT_RE.match(student):
        raise GuideError(f"--student {student!r}: use letters, digits, '.', '_' or '-'")
    return folder / student


SIDECARS = ("-wal", "-shm")  # SQLite's write-ahead log and its index, beside the database


def _sidecars(db: Path) -> list[Path]:
    return [db.with_name(db.name + s) for s in SIDECARS]


def _backup(db: Path, readable: bool) -> Path:
    """Keep a copy of ``db`` at the first free ``<name>.bak``, ``<name>.bak1``...; return it.

    A readable database is copied with SQLite's backup API, which reads what is still in the
    write-ahead log (``-wal``) too: after a kill most of the progress is there, and a copy of
    the main file alone can be empty. An unreadable one is copied byte for byte, with its
    ``-wal`` and ``-shm`` beside it. The same damaged file is not copied twice."""
    used = [db.with_name(f"{db.name}.bak{i or ''}") for i in range(1000)]
    if not readable:
        for old in (p for p in used if p.exists()):
            if filecmp.cmp(db, old, shallow=False):
                return old
    target = next((p for p in used if not p.exists()), None)
    if target is None:
        raise GuideError(f"{db}: 1000 backups already; remove old ones")
    if readable:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as src:
            with closing(sqlite3.connect(target)) as dst:
                src.backup(dst)
    else:
        shutil.copy2(db, target)
        for side, copy in zip(_sidecars(db), _sidecars(target), strict=True):
            if side.exists():
                shutil.copy2(side, copy)
    return target


def _remove_database(db: Path) -> None:
    for path in (db, *_sidecars(db)):
        path.unlink(missing_ok=True)


def _is_readable(db: Path) -> bool:
    """Whether ``db`` is a sound SQLite database. A file that cannot be opened at all (locked,
    no permission) raises ``GuideError``: it is not damaged, and nothing is copied."""
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            (ok,) = conn.execute("PRAGMA quick_check").fetchone()
            return ok == "ok"
    except sqlite3.OperationalError as error:
        if "not a database" in str(error) or "malformed" in str(error):
            return False
        raise GuideError(
            f"{db}: could not open the progress database ({error}); it was not changed. Is "
            "another navigator using it? Try again when it has finished."
        ) from None
    except sqlite3.DatabaseError:
        return False


def check_database(db: Path, student: str) -> None:
    """Raise ``GuideError`` if ``db`` is not a readable SQLite database, after keeping a copy."""
    if _is_readable(db):
        return
    backup = _backup(db, readable=False)
    export = db.with_name(EXPORT_NAME)
    if export.is_file():
        how = (
            f"Restore your last saved progress with: python -m ftkit.guide --student {student} "
            f"import {export}"
        )
    else:
        how = (
            f"There is no {EXPORT_NAME} to restore from: move the folder {db.parent} away and "
            f"start again with: python -m ftkit.guide --student {student} run --intent INTENT"
        )
    raise GuideError(
        f"{db}: not a readable progress database. It was not changed, and a copy is kept at "
        f"{backup}. {how}"
    )


class Store:
    """One student's database: the compiled graph with its SqliteSaver, opened and closed."""

    def __init__(self, syllabus: Syllabus, folder: Path, student: str, create: bool):
        from langgraph.checkpoint.sqlite import SqliteSaver

        self.student = student
        self.dir = student_dir(folder, student)
        self.db = self.dir / DB_NAME
        if self.db.exists():
            check_database(self.db, student)
        elif not create:
            raise GuideError(
                f"{self.db}: no progress saved for student {student!r} (start with: "
                f"python -m ftkit.guide --student {student} run --intent INTENT)"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.db, check_same_thread=False)
        self.graph = build_graph(syllabus, SqliteSaver(self.conn))
        self.config = {"configurable": {"thread_id": student}}

    def state(self):
        return self.graph.get_state(self.config)

    def close(self) -> None:
        self.conn.close()


def export_progress(syllabus: Syllabus, store: Store, out: Path) -> dict:
    """Write the student's progress to ``out`` as JSON (atomically; the old file kept as .bak)."""
    values = store.state().values
    if not values.get("intent"):
        raise GuideError(f"{store.db}: no progress yet for {store.student!r}, nothing to export")
    todo = [p for p in values.get("path", []) if p not in values.get("done", [])]
    data = {
        "format": EXPORT_FORMAT,
        "student": store.student,
        "intent": values.get("intent"),
        "path": values.get("path", []),
        "done": values.get("done", []),
        "scores": values.get("scores", {}),
        "next": todo[0] if todo else None,
    }
    if out.exists():
        shutil.copy2(out, out.with_name(out.name + ".bak"))
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return data


def read_export(path: Path, syllabus: Syllabus) -> Progress:
    """The progress in a ``progress.json``, checked field by field against the syllabus."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GuideError(f"{path}: no such progress file") from None
    except json.JSONDecodeError as error:
        raise GuideError(f"{path}: line {error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise GuideError(f"{path}: field 'format': not a progress.json of format {EXPORT_FORMAT}")
    if data.get("intent") not in INTENTS:
        raise GuideError(f"{path}: field 'intent': {data.get('intent')!r} is not an intent")
    for field in ("path", "done"):
        pages = data.get(field)
        if not isinstance(pages, list):
            raise GuideError(f"{path}: field {field!r}: a list of chapters")
        for page in pages:
            if page not in syllabus.chapters:
                raise GuideError(f"{path}: field {field!r}: {page!r} is not a chapter of the nav")
    scores = data.get("scores")
    if not isinstance(scores, dict) or not all(
        k in syllabus.chapters and isinstance(v, list) and all(isinstance(n, int) for n in v)
        for k, v in scores.items()
    ):
        raise GuideError(f"{path}: field 'scores': chapter -> list of right-answer counts")
    return {k: data[k] for k in ("intent", "path", "done", "scores")}


# --- the terminal ----------------------------------------------------------------------------


def _console():
    from rich.console import Console

    tty = sys.stdout.isatty()
    return Console(
        highlight=False, emoji=False, markup=False, width=None if tty else WIDTH, soft_wrap=True
    )


def progress_bar(done: int, total: int):
    """The syllabus bar: a rich ProgressBar with its count."""
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    row = Table.grid(padding=(0, 1))
    row.add_row(
        "Syllabus",
        ProgressBar(total=max(total, 1), completed=done, width=40),
        f"{done}/{total} chapters ({100 * done // max(total, 1)}%)",
    )
    return row


class AnswerSource:
    """Answers from ``--answers`` (one word each) or, without it, from stdin, one a line. Typed
    answers that are neither a choice's letter nor a number are asked again."""

    def __init__(self, words: str | None):
        self.words = words.split() if words is not None else None

    def take(self, console, question: Question) -> str | None:
        if self.words is not None:
            return self.words.pop(0) if self.words else None
        console.print(_wrapped(f"{question.number}. {question.ask}", "  ", "     "))
        for letter, choice in zip(LETTERS, question.choices, strict=False):
            console.print(_wrapped(f"{letter}. {choice.text}", "    ", "       "))
        while True:
            console.print("  your answer: ", end="")
            sys.stdout.flush()  # a script or a test reads the prompt before it answers
            line = sys.stdin.readline()
            if not sys.stdin.isatty():  # piped: show the answer, as a terminal would echo it
                console.print(line.strip() if line else "(end of input)")
            if not line:
                return None
            if is_valid_answer(question, line):
                return line.strip()
            letters = LETTERS[: len(question.choices)]
            want = f"one of the letters {', '.join(letters)}" if question.choices else "a number"
            console.print(f"  {line.strip()!r} is not an answer: type {want}")


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def _wrapped(text: str, indent: str, then: str | None = None) -> str:
    """``text`` in lines of at most WIDTH characters, the first indented by ``indent``."""
    return textwrap.fill(
        " ".join(text.split()), WIDTH, initial_indent=indent, subsequent_indent=then or indent
    )


def explain(console, question: Question, answer: str) -> None:
    """After a wrong answer: the right one, why it is right, and why the answer given is not."""
    if not question.choices:
        console.print(_wrapped(f"answer: {question.answer:.15g}. {question.why}", "       "))
        return
    right = question.right_letter
    chosen = answer.strip().lower().rstrip(".)")
    for letter, choice in zip(LETTERS, question.choices, strict=False):
        if letter == chosen:
            console.print(_wrapped(f"{letter}: {choice.why}", "       "))
    choice = question.choices[LETTERS.index(right)]
    console.print(_wrapped(f"{right} is right: {choice.why}", "       "))


def _continue(syllabus: Syllabus, store: Store, payload, console):
    """Stream the graph from ``payload`` (None: on from the last checkpoint) and show it."""
    # closed here, whatever happens: a stream left open would write its checkpoint later,
    # through the connection that Store.close has closed
    with closing(store.graph.stream(payload, store.config, stream_mode="updates")) as updates:
        for update in updates:
            _show(syllabus, store, update, console)


def run(syllabus: Syllabus, store: Store, intent: str | None, answers: AnswerSource, console):
    """Start or continue the student's path until it ends or the answers run out.

    Every step is checkpointed, so the graph can be stopped anywhere: paused at a quiz (the
    checkpoint has an interrupt; its answers resume it) or killed between two steps (the
    checkpoint names the next step and has no interrupt; streaming ``None`` goes on)."""
    from langgraph.types import Command

    snapshot = store.state()
    if not snapshot.values.get("intent"):
        if intent is None and not snapshot.next:
            raise GuideError(
                f"{store.db}: a new student; choose a path with --intent ({', '.join(INTENTS)})"
            )
        # a new student, or one killed before the plan was saved: start (again) from the intent
        payload = {"intent": intent} if intent is not None else None
    elif intent is not None and intent != snapshot.values["intent"]:
        raise GuideError(
            f"{store.db}: {store.student} is on the path {snapshot.values['intent']!r}; "
            "continue it without --intent, or start another path with another --student"
        )
    elif not snapshot.next:
        console.print(f"{store.student} has finished the path {snapshot.values['intent']!r}.")
        return
    else:
        payload = None  # on from the checkpoint: a quiz waiting for answers, or a next step
    while True:
        if payload is not None or not snapshot.interrupts:
            _continue(syllabus, store, payload, console)
        snapshot = store.state()
        if not snapshot.next:
            values = snapshot.values
            console.print(f"Path {values['intent']!r} finished.")
            console.print(progress_bar(len(values["done"]), len(values["path"])))
            return
        if not snapshot.interrupts:  # stopped between two steps: go on from there
            payload = None
            continue
        (pending,) = snapshot.interrupts
        page = pending.value["chapter"]
        quiz = _quiz(syllabus, page)
        console.print(f"  Quiz: {len(quiz.questions)} questions, {pass_mark(quiz)} to pass")
        given = []
        for question in quiz.questions:
            answer = answers.take(console, question)
            if answer is None:
                console.print(f"  No more answers: paused at this quiz. Saved in {store.db}.")
                values = snapshot.values
                console.print(progress_bar(len(values["done"]), len(values["path"])))
                return
            given.append(answer)
        payload = Command(resume=given)
        right = grade(quiz, given)
        for question, answer, ok in zip(quiz.questions, given, right, strict=True):
            mark = "right" if ok else "wrong"
            console.print(f"  {question.number}. {_short(question.ask, 52):<52} {answer:>6} {mark}")
            if not ok:
                explain(console, question, answer)


def _quiz(syllabus: Syllabus, page: str) -> Quiz:
    """The quiz of a chapter on a saved path; a chapter that has left the nav is named."""
    if page not in syllabus.chapters or page not in syllabus.quizzes:
        what = "is no longer in the nav" if page not in syllabus.chapters else "has no quiz file"
        raise GuideError(
            f"{syllabus.site}: the chapter {page}, on the saved path, {what}. Export the "
            "progress, remove the chapter from its 'path' and 'done' lists, and import it"
        )
    return syllabus.quizzes[page]


def _show(syllabus: Syllabus, store: Store, update: dict, console) -> None:
    """Print one step of the graph."""
    pages = {node_name(p): p for p in syllabus.chapters}
    for node, values in update.items():
        if node == "plan":
            path = values["path"]
            console.print(f"Path for {store.student}: {len(path)} chapters")
            for i, page in enumerate(path, 1):
                console.print(f"  {i:2}. {syllabus.titles[page]}  ({site_path(page)})")
        elif node.startswith("quiz-"):
            page = pages[node.removeprefix("quiz-")]
            score, n = values["scores"][page][-1], len(_quiz(syllabus, page).questions)
            verdict = "passed, on to the next" if values["passed"] else "review the chapter"
            console.print(f"  Score {score}/{n}: {verdict}.")
        elif node in pages:
            page = pages[node]
            attempts = store.state().values.get("scores", {}).get(page, [])
            verb = "Review" if attempts else "Read"
            console.print(f"{verb}: {syllabus.titles[page]} ({site_path(page)})")


def status(syllabus: Syllabus, store: Store, console) -> None:
    """The status view: every chapter of the path, its state and scores, and the bar."""
    from rich.table import Table

    snapshot = store.state()
    values = snapshot.values
    if not values.get("intent"):
        raise GuideError(f"{store.db}: no progress yet for {store.student!r}")
    current = snapshot.interrupts[0].value["chapter"] if snapshot.interrupts else None
    console.print(f"{store.student}, on the path {values['intent']!r}:")
    table = Table()
    table.add_column("#", justify="right")
    table.add_column("chapter")
    table.add_column("state")
    table.add_column("scores")
    for i, page in enumerate(values.get("path", []), 1):
        state = "done" if page in values["done"] else "quiz now" if page == current else "to do"
        n = len(_quiz(syllabus, page).questions)
        scores = ", ".join(f"{s}/{n}" for s in values["scores"].get(page, []))
        table.add_row(str(i), _short(syllabus.titles[page], 36), state, scores)
    console.print(table)
    console.print(progress_bar(len(values.get("done", [])), len(values.get("path", []))))


def save_export(syllabus: Syllabus, store: Store) -> None:
    """Keep ``progress.json`` beside the database up to date (the restore point of a damaged
    database); nothing is written before the student has a path."""
    if store.state().values.get("intent"):
        export_progress(syllabus, store, store.dir / EXPORT_NAME)


def import_progress(syllabus: Syllabus, folder: Path, student: str, source: Path, console):
    """Start the student's database again from a ``progress.json``; the old one kept as .bak."""
    progress = read_export(source, syllabus)
    db = student_dir(folder, student) / DB_NAME
    if db.exists():
        backup = _backup(db, readable=_is_readable(db))
        _remove_database(db)
        console.print(f"The previous database is kept at {backup}.")
    store = Store(syllabus, folder, student, create=True)
    try:
        store.graph.invoke(progress, store.config)
        console.print(f"Imported {source}: {len(progress['done'])} chapters done.")
        status(syllabus, store, console)
        save_export(syllabus, store)
    finally:
        store.close()


def _intent(text: str) -> str:
    """An intent as the menu or the seed spells it: optimize_latency -> optimise-latency."""
    name = text.strip().lower().replace("_", "-")
    return ALIASES.get(name, name)


EXAMPLES = """\
examples:
  python -m ftkit.guide path optimise-latency       # the chapters, nothing saved
  python -m ftkit.guide run --intent deploy-fast    # answer on the keyboard
  python -m ftkit.guide run --student ada --intent cheap-training --answers "b a 3"
  python -m ftkit.guide status --student ada
  python -m ftkit.guide export --student ada        # progress.json beside the database

intents: deploy-fast, optimise-latency, cheap-training, everything (the seed's spellings,
such as optimize_latency, work too). --student, --dir and --site go before or after the
command. Progress is saved in DIR/STUDENT/progress.sqlite, and progress.json beside it."""


def _parser() -> argparse.ArgumentParser:
    def common(defaults: bool) -> argparse.ArgumentParser:
        # the options of every command; after the command they override only when given
        opts = argparse.ArgumentParser(add_help=False)
        unset = argparse.SUPPRESS
        opts.add_argument(
            "--student",
            default="student" if defaults else unset,
            help="whose progress (default: student)",
        )
        opts.add_argument(
            "--dir",
            type=Path,
            default=DEFAULT_DIR if defaults else unset,
            help=f"where progress is saved (default: {DEFAULT_DIR}/ in the current folder)",
        )
        opts.add_argument(
            "--site",
            type=Path,
            default=None if defaults else unset,
            help="the site's mkdocs.yml (default: the one of this checkout)",
        )
        return opts

    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="python -m ftkit.guide",
        description=__doc__.split("\n")[0],
        epilog=EXAMPLES,
        formatter_class=raw,
        parents=[common(True)],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    each = dict(parents=[common(False)], formatter_class=raw, epilog=EXAMPLES)
    intents = ", ".join(INTENTS)
    go = sub.add_parser("run", help="start or continue the path", **each)
    go.add_argument(
        "--intent",
        type=_intent,
        choices=list(INTENTS),
        help=f"the path to start ({intents}); needed for a new student only",
    )
    go.add_argument("--answers", help="the answers, one word each (else typed, one a line)")
    sub.add_parser("status", help="the path, the scores and the progress bar", **each)
    path = sub.add_parser("path", help="the chapters an intent reads (saves nothing)", **each)
    path.add_argument("intent", type=_intent, choices=list(INTENTS), help=intents)
    export = sub.add_parser("export", help=f"write the progress as JSON ({EXPORT_NAME})", **each)
    export.add_argument("--out", type=Path, default=None, help="default: beside the database")
    restore = sub.add_parser("import", help="start the database again from a progress.json", **each)
    restore.add_argument("file", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = _console()
    try:
        syllabus = load_syllabus(args.site or default_site())
        if args.command == "path":
            for i, page in enumerate(syllabus.path_for(args.intent), 1):
                console.print(f"{i:2}. {syllabus.titles[page]}  ({site_path(page)})")
            return 0
        if args.command == "import":
            import_progress(syllabus, args.dir, args.student, args.file, console)
            return 0
        db = student_dir(args.dir, args.student) / DB_NAME
        if args.command == "run" and args.intent is None and not db.exists():
            raise GuideError(
                f"{db}: a new student; choose a path with --intent ({', '.join(INTENTS)})"
            )
        store = Store(syllabus, args.dir, args.student, create=args.command == "run")
        try:
            if args.command == "run":
                try:
                    run(syllabus, store, args.intent, AnswerSource(args.answers), console)
                finally:
                    save_export(syllabus, store)
            elif args.command == "status":
                status(syllabus, store, console)
            else:
                out = args.out or store.dir / EXPORT_NAME
                data = export_progress(syllabus, store, out)
                console.print(f"Wrote {out}: {len(data['done'])} of {len(data['path'])} done.")
        finally:
            store.close()
    except (GuideError, QuizError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
