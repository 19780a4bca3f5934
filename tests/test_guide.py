"""The syllabus navigator (``ftkit/guide.py``): a scripted student through the graph, a resume
after a real kill and after a stop between two steps, complete backups of the database,
damaged and missing progress files, a chapter still without its quiz, and a prerequisite that
names no chapter."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing

import pytest
from langgraph.types import Command

from ftkit.guide import (
    EXPORT_NAME,
    INTENTS,
    AnswerSource,
    GuideError,
    Store,
    _console,
    load_syllabus,
    main,
    run,
)
from tools.pages import CONFIG, ROOT

pytestmark = pytest.mark.timeout(90)  # a regression that waits on stdin fails, never hangs

SYLLABUS = load_syllabus(CONFIG)


def right_answers(page: str) -> list[str]:
    """The right answers of a chapter's quiz, as a student types them."""
    return [q.right_letter or f"{q.answer:.15g}" for q in SYLLABUS.quizzes[page].questions]


def wrong_answer(page: str, number: int) -> str:
    q = SYLLABUS.quizzes[page].questions[number - 1]
    return "a" if q.right_letter == "b" else "b" if q.choices else f"{q.answer + 1000:.15g}"


# The optimise-latency path starts Foundations (3 questions), then the HF stack (4).
FOUNDATIONS_RIGHT = right_answers("foundations/index.md")
HF_STACK_RIGHT = right_answers("hf-stack/index.md")
HF_STACK_HALF = [*HF_STACK_RIGHT[:2], wrong_answer("hf-stack/index.md", 3)]
HF_STACK_HALF.append(wrong_answer("hf-stack/index.md", 4))


def guide(capsys, folder, *args) -> tuple[int, str, str]:
    code = main(["--dir", str(folder), "--student", "ada", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_scripted_student_is_sent_back_then_goes_on(tmp_path, capsys):
    answers = " ".join(FOUNDATIONS_RIGHT + HF_STACK_HALF + HF_STACK_RIGHT)
    code, out, _ = guide(
        capsys, tmp_path, "run", "--intent", "optimise-latency", "--answers", answers
    )
    assert code == 0
    assert "Path for ada: 6 chapters" in out
    assert "Score 3/3: passed" in out
    assert "Score 2/4: review the chapter." in out
    assert "is right: " in out  # a wrong answer is followed by the right one and why
    assert "Review: The Hugging Face stack (hf-stack/)" in out
    assert "Score 4/4: passed" in out
    assert "paused at this quiz" in out and "2/6 chapters (33%)" in out
    code, out, _ = guide(capsys, tmp_path, "export")
    data = json.loads((tmp_path / "ada" / EXPORT_NAME).read_text())
    assert data["done"] == ["foundations/index.md", "hf-stack/index.md"]
    assert data["scores"] == {"foundations/index.md": [3], "hf-stack/index.md": [2, 4]}
    assert data["next"] == "bert-t5/index.md"
    code, out, _ = guide(capsys, tmp_path, "status")
    assert "quiz now" in out and "2/4, 4/4" in out
    # another intent for the same student is refused, not mixed into the saved path
    code, _, err = guide(capsys, tmp_path, "run", "--intent", "deploy-fast", "--answers", "a")
    assert code == 2 and "on the path 'optimise-latency'" in err


def test_a_run_killed_mid_quiz_resumes_and_its_backup_is_complete(tmp_path, capsys):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-u", "-m", "ftkit.guide", "--dir", str(tmp_path)]
    command += ["run", "--student", "ada", "--intent", "optimize_latency"]  # the seed's name
    pipes = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    with subprocess.Popen(command, **pipes) as proc:  # answers come on stdin, one a line
        watchdog = threading.Timer(60, proc.kill)  # readline has no timeout of its own
        watchdog.start()
        try:
            first, *rest = FOUNDATIONS_RIGHT  # "x" is asked again; "B)" is read as "b"
            typed = ["x", first.upper() + ")" if first.isalpha() else first, *rest]
            proc.stdin.write("\n".join(typed) + "\n")
            proc.stdin.flush()
            seen = ""
            while "Quiz: 4 questions" not in seen:
                line = proc.stdout.readline()
                if not line:
                    break
                seen += line
            proc.kill()  # SIGKILL, while it waits at the second quiz: no chance to clean up
        finally:
            watchdog.cancel()
    assert "'x' is not an answer: type one of the letters a, b" in seen, seen
    assert "Score 3/3: passed" in seen and "Quiz: 4 questions" in seen, seen
    db = tmp_path / "ada" / "progress.sqlite"
    assert db.with_name("progress.sqlite-wal").stat().st_size > 0  # the progress is in the WAL
    # import replaces the database; its backup must hold all of it, WAL included
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps(
            {"format": 1, "intent": "optimise-latency", "path": [], "done": [], "scores": {}}
        )
    )
    code, out, _ = guide(capsys, tmp_path, "import", str(other))
    backup = tmp_path / "ada" / "progress.sqlite.bak"
    assert code == 0 and f"kept at {backup}" in out
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0] > 0
    conn.close()
    # restore it, as a student would: move the copy over the database
    for side in ("-wal", "-shm"):
        db.with_name(db.name + side).unlink(missing_ok=True)
    os.replace(backup, db)
    code, out, _ = guide(capsys, tmp_path, "run", "--answers", " ".join(HF_STACK_RIGHT))
    assert code == 0
    assert "Read: Foundations" not in out  # not asked again
    assert "Score 4/4: passed" in out and "2/6 chapters" in out


def _stream(store, payload, steps: int) -> None:
    """Run ``steps`` steps of the graph, then stop as a kill between two steps would."""
    with closing(store.graph.stream(payload, store.config, stream_mode="updates")) as updates:
        for i, _update in enumerate(updates, 1):
            if i == steps:
                break


@pytest.mark.parametrize("steps", [1, 2, 3, 5])
def test_a_run_stopped_between_two_steps_goes_on(tmp_path, capsys, steps):
    # the reviewer's case: the process stops after a step of the graph, outside any quiz
    store = Store(SYLLABUS, tmp_path, "ada", create=True)
    try:
        _stream(store, {"intent": "optimise-latency"}, min(steps, 3))
        if steps == 5:  # through the first quiz, stopped after its grading step
            run(SYLLABUS, store, None, AnswerSource(""), _console())
            _stream(store, Command(resume=FOUNDATIONS_RIGHT), 1)
        assert store.state().next and not store.state().interrupts
    finally:
        store.close()
    capsys.readouterr()
    code, out, err = guide(capsys, tmp_path, "run", "--answers", " ".join(FOUNDATIONS_RIGHT))
    assert code == 0, err
    if steps < 5:
        assert "Score 3/3: passed" in out
    assert "Quiz: 4 questions" in out  # on to the HF stack's quiz


def test_a_chapter_without_its_quiz_stops_only_the_paths_through_it(tmp_path, monkeypatch):
    quizzes = {p: q for p, q in SYLLABUS.quizzes.items() if p != "vlm/index.md"}
    syllabus = dataclasses.replace(SYLLABUS, quizzes=quizzes)
    monkeypatch.setitem(INTENTS, "see-images", ("vlm/index.md",))
    with pytest.raises(GuideError, match=r"docs/vlm/index.quiz.yml: no such quiz file"):
        syllabus.path_for("see-images")
    store = Store(syllabus, tmp_path, "ada", create=True)  # the graph builds without it
    try:
        run(syllabus, store, "optimise-latency", AnswerSource(""), _console())
        assert store.state().values["path"][0] == "foundations/index.md"
    finally:
        store.close()


def test_a_damaged_database_is_kept_and_named(tmp_path, capsys):
    guide(
        capsys,
        tmp_path,
        "run",
        "--intent",
        "optimise-latency",
        "--answers",
        " ".join(FOUNDATIONS_RIGHT),
    )  # run writes progress.json too
    db = tmp_path / "ada" / "progress.sqlite"
    damaged = b"not a database at all" * 100
    db.write_bytes(damaged)
    code, _, err = guide(capsys, tmp_path, "status")
    assert code == 2
    assert f"{db}: not a readable progress database" in err
    assert db.read_bytes() == damaged  # nothing changed
    assert (tmp_path / "ada" / "progress.sqlite.bak").read_bytes() == damaged
    assert f"import {tmp_path / 'ada' / EXPORT_NAME}" in err
    code, _, err = guide(capsys, tmp_path, "status")  # the same damage is not copied again
    assert not (tmp_path / "ada" / "progress.sqlite.bak1").exists()
    code, out, _ = guide(capsys, tmp_path, "import", str(tmp_path / "ada" / EXPORT_NAME))
    assert code == 0 and "1 chapters done" in out
    assert f"kept at {tmp_path / 'ada' / 'progress.sqlite.bak'}." in out  # that same copy
    assert not (tmp_path / "ada" / "progress.sqlite.bak1").exists()
    code, out, _ = guide(capsys, tmp_path, "run", "--answers", "x")
    assert "Quiz: 4 questions" in out and "Read: Foundations" not in out  # at the HF stack


def test_missing_and_damaged_progress_files_are_named(tmp_path, capsys):
    code, _, err = guide(capsys, tmp_path, "status")
    assert code == 2 and f"{tmp_path / 'ada' / 'progress.sqlite'}: no progress saved" in err
    code, _, err = guide(capsys, tmp_path, "run", "--answers", "b")
    assert code == 2 and "a new student; choose a path with --intent" in err
    assert not (tmp_path / "ada").exists()  # asking created nothing
    (tmp_path / "bo").mkdir()
    (tmp_path / "bo" / "progress.sqlite").write_bytes(b"x" * 4096)
    code, _, err = main(["--dir", str(tmp_path), "--student", "bo", "status"]), *capsys.readouterr()
    assert code == 2 and "There is no progress.json to restore from: move the folder" in err
    bad = tmp_path / "progress.json"
    bad.write_text('{"format": 1,\n "intent": "optimise-latency",\n "path": [}\n')
    code, _, err = guide(capsys, tmp_path, "import", str(bad))
    assert code == 2 and f"{bad}: line 3: not valid JSON" in err
    bad.write_text(json.dumps({"format": 1, "intent": "optimise-latency", "path": ["x.md"]}))
    code, _, err = guide(capsys, tmp_path, "import", str(bad))
    assert code == 2 and f"{bad}: field 'path': 'x.md' is not a chapter of the nav" in err
    assert not (tmp_path / "ada").exists()


def test_a_prerequisite_that_names_no_chapter_is_named(tmp_path):
    site = tmp_path / "mkdocs.yml"
    site.write_text(
        "nav:\n  - Home: index.md\n  - A: a/index.md\n  - B: b/index.md\n"
        "extra:\n  roadmap_requires:\n    b/index.md: [c/index.md]\n"
    )
    with pytest.raises(GuideError) as error:
        load_syllabus(site, quizzes=False)
    assert str(error.value).startswith(
        f"{site}: extra.roadmap_requires: c/index.md does not start a part of the nav"
    )


def test_the_site_prerequisites_give_each_intent_a_path_in_nav_order():
    syllabus = load_syllabus(CONFIG, quizzes=False)
    assert syllabus.path_for("optimise-latency") == [
        "foundations/index.md",
        "hf-stack/index.md",
        "bert-t5/index.md",
        "distillation/index.md",
        "peft/index.md",
        "quantization/index.md",
    ]
    everything = syllabus.path_for("everything")
    assert everything == list(syllabus.chapters)
    for page in everything:  # a path never reaches a chapter before what it needs
        assert all(everything.index(p) < everything.index(page) for p in syllabus.requires[page])


def test_the_intents_table_of_the_learners_path_page_is_intents():
    page = (ROOT / "docs" / "learners-path.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z-]+)` \| (.*?) \|", page, re.M)
    assert [name for name, _ in rows] == list(INTENTS)
    for name, aims in rows:
        linked = tuple(re.findall(r"\]\(([^)#]+\.md)\)", aims))
        assert linked == INTENTS[name], f"docs/learners-path.md, intent {name}: {linked}"
