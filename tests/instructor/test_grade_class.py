"""The generated class of ``make bench-grade`` stays in step with the notebooks.

Grading the class takes minutes (``make bench-grade``); building it takes seconds.
These tests build it, honest and hostile sections, and check without a kernel that
every submission is what its expectations say: recognised as the right notebook, each
answered exercise without its stub, each unanswered one still holding it, deleted
cells really gone, the flags the grader will report, the reading error of each file
that is not a notebook; that every course notebook has its right answers, a wrong
answer failing each of its exercises and an untouched copy in the class, and that the
mistake ids it expects are ones the checks name; and that the hostile section covers
every attack of issue 12 with its verdicts, the reason for them and the side effects
it must not have.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

import pytest

from instructor.grading import course as course_model
from instructor.grading import match, reading
from instructor.grading.flags import notebook_flags, split_magics

ROOT = Path(__file__).resolve().parents[2]
STATUSES = {"passed", "failed", "error", "not attempted", "missing", "invalid",
            "unrecognised"}


def load_grade_class():
    spec = importlib.util.spec_from_file_location(
        "grade_class", ROOT / "benchmarks" / "grade_class.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


grade_class = load_grade_class()
SUBMISSIONS = grade_class.class_of_30()
CONTEXT = grade_class.Context(Path("/nonexistent/grading"), "hostile-0123456789ab")
HOSTILE = grade_class.hostile_class(CONTEXT)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    context = grade_class.Context(base, CONTEXT.marker)
    hostile = grade_class.hostile_class(context)
    grade_class.write_class(context.submissions, SUBMISSIONS + hostile)
    return context.submissions, course_model.load_course(ROOT / "notebooks"), hostile


def test_the_class_has_thirty_submissions_of_every_kind():
    assert len(SUBMISSIONS) == 30
    assert len({sub.name for sub in SUBMISSIONS}) == 30
    statuses = {status for sub in SUBMISSIONS for status in sub.expected.values()}
    assert statuses == STATUSES
    assert all(not sub.category and sub.flags == "" for sub in SUBMISSIONS)


def test_every_course_notebook_is_in_the_class_right_wrong_and_untouched():
    course = course_model.load_course(ROOT / "notebooks")
    assert set(grade_class.RIGHT) == {notebook.name for notebook in course}
    for notebook in course:
        numbers = {exercise.number for exercise in notebook.exercises}
        assert set(grade_class.RIGHT[notebook.name]) == numbers, notebook.name
        mine = [sub for sub in SUBMISSIONS if sub.notebook == notebook.name]
        verdicts = [set(sub.expected.values()) for sub in mine]
        assert {"passed"} in verdicts, notebook.name
        assert {"not attempted"} in verdicts, notebook.name
        failed = {number for sub in mine for number, status in sub.expected.items()
                  if status == "failed"}
        assert failed == numbers, notebook.name


def test_expected_mistake_ids_are_ones_the_checks_name():
    course = {notebook.name: notebook
              for notebook in course_model.load_course(ROOT / "notebooks")}
    # Chapter 03's wrong answers are compared by id (the report's mistake column).
    td3 = [key for key, wrong in grade_class.WRONG.items()
           if wrong[0] == grade_class.TD3]
    assert td3 and set(td3) <= set(grade_class.MISTAKES)
    compared = [sub for sub in SUBMISSIONS + HOSTILE if sub.mistakes]
    assert {sub.notebook for sub in compared} == {grade_class.TD3}
    for sub in compared:
        exercises = {e.number: e for e in course[sub.notebook].exercises}
        for number, mistake in sub.mistakes.items():
            assert grade_class.allowed(sub.expected[number]) == ("failed",), sub.name
            module, _ = exercises[number].check_target
            source = inspect.getsource(importlib.import_module(module))
            assert f'"{mistake}"' in source, (sub.name, mistake)


def test_the_hostile_section_covers_every_attack_with_its_reasons():
    assert {sub.category for sub in HOSTILE} == set(grade_class.CATEGORIES)
    names = [sub.report_name for sub in HOSTILE + SUBMISSIONS]
    assert len(set(names)) == len(names)
    written = [sub.file_name for sub in HOSTILE + SUBMISSIONS if sub.writes]
    assert len(set(written)) == len(written)
    for sub in HOSTILE:
        assert sub.why and sub.effects, sub.category
        assert set(sub.effects) <= set(grade_class.EFFECTS), sub.category
        for expected in sub.expected.values():
            assert set(grade_class.allowed(expected)) <= STATUSES
            # An attack on the verdicts never expects (or accepts) "passed" for the
            # exercise it attacks: the attacked ones are the non-passing ones.
        attacked = {n for n, s in sub.expected.items()
                    if "passed" not in grade_class.allowed(s)}
        assert attacked or sub.category in {
            "overwrite-others", "edit-course", "pth-file", "ipython-startup",
            "daemon", "memory-escape", "signal-grader", "file-name", "long-names",
            "many-cells", "widget-flood", "deep-trees", "setuid-files",
            "look-alike-names",
        }, sub.category


def test_every_side_effect_check_is_claimed_by_an_attack():
    claimed = {check for sub in HOSTILE for check in sub.effects}
    assert claimed | {"planted", "home"} >= set(grade_class.EFFECTS) - {"course"}
    assert "course" in claimed


def test_attacks_aim_only_at_the_runs_own_paths(built):
    # Safety on shared machines: every absolute path an attack writes to is the
    # run's folder, or a file named after the run's marker (in /tmp and /dev/shm,
    # at their top level).
    folder, _, hostile = built
    for sub in hostile:
        if sub.notebook is None or sub.expected == {"": "invalid"}:
            continue  # never run
        notebook = read(folder, sub)
        text = "\n".join(cell.source for cell in notebook.cells)
        for constant in absolute_paths(notebook):
            if constant in ("/tmp", "/dev/shm"):
                assert "MARKER + " in text, (sub.category, constant)
            elif constant != "/proc" and not constant.startswith("/proc/"):
                assert constant.startswith(str(folder.parent)), (sub.category, constant)
        assert "os.kill(-1" not in text and "killall" not in text


def read(folder: Path, sub):
    """A built submission as the grader reads it (a .py, a .zip's member too)."""
    return reading.read_submission(folder, Path(sub.file_name), 50 * 2**20,
                                   sub.member)


def absolute_paths(notebook) -> list[str]:
    """String constants of a notebook's code that start with "/" (f-strings' fixed
    parts, such as the "/cmdline" of f"/proc/{pid}/cmdline", left out)."""
    tree = ast.parse("\n".join(split_magics(cell.source)[0]
                               for cell in notebook.cells if cell.cell_type == "code"))
    parts = {id(value) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
             for value in node.values}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value.startswith("/") and id(node) not in parts]


@pytest.mark.parametrize("sub", SUBMISSIONS + HOSTILE,
                         ids=lambda sub: sub.category or sub.name)
def test_each_submission_is_what_its_expectations_say(built, sub):
    folder, course, hostile = built
    sub = next((h for h in hostile if h.report_name == sub.report_name), sub)
    path = folder / sub.file_name
    if sub.notebook is None or sub.expected == {"": "invalid"}:
        try:
            cells = read(folder, sub).cells
        except reading.InvalidNotebook as error:
            assert sub.expected == {"": "invalid"}
            assert sub.fragments.get("", "") in str(error)
            assert not any(text in str(error) for text in sub.absent)
            return
        assert match.recognise(cells, path.name, course) is None
        assert sub.expected == {"": "unrecognised"}
        return
    cells = read(folder, sub).cells
    found = match.recognise(cells, path.name, course)
    assert found is not None and found.name == sub.notebook
    plan = match.prepare(cells, found)
    assert set(sub.expected) == {exercise.number for exercise in found.exercises}
    # The grader adds look-alike-name from the names, the scan the others.
    scanned = [flag for flag in sub.flags.split(";") if flag != "look-alike-name"]
    assert notebook_flags(cells) == ";".join(scanned)
    for number, status in sub.expected.items():
        where = plan.located[number]
        if status == "missing":
            assert where.exercise_cell is None or where.check_cell is None, number
            continue
        assert where.exercise_cell is not None and where.check_cell is not None
        assert where.stub_left == (number not in sub.answers), number
    for cell in cells:
        if cell.cell_type == "code" and sub.category:
            ast.parse(split_magics(cell.source)[0])  # every attack is valid Python


# The side-effect checks can fail: each finds the damage its attack would do.


def test_the_side_effect_checks_find_what_an_attack_would_leave(tmp_path):
    context = grade_class.Context(tmp_path, "hostile-feedfacecafe")
    for folder in (context.submissions, context.course, context.home):
        folder.mkdir(parents=True)
        (folder / "a.ipynb").write_text("{}")
    (context.submissions / "b.ipynb").write_text("{}")
    folders = {"submissions": [(context.submissions, lambda path: True, ())],
               "course": [(context.course, lambda path: True, ())],
               "home": [(context.home, lambda path: True, ())]}
    before = grade_class.snapshot(folders)
    (context.submissions / "a.ipynb").write_text('{"cells": []}')
    (context.submissions / "b.ipynb").unlink()
    (context.course / "a.ipynb").write_text("{} ")
    startup = context.home / ".ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    planted = startup / f"00-{context.marker}.py"
    planted.write_text("# planted\n")
    found = grade_class.differences(before, grade_class.snapshot(folders))
    assert found["submissions"] == [
        f"changed: {context.submissions / 'a.ipynb'}",
        f"removed: {context.submissions / 'b.ipynb'}",
    ]
    assert found["course"] == [f"changed: {context.course / 'a.ipynb'}"]
    assert found["home"] == [f"added: {planted}"]
    assert planted in grade_class.planted_files(context)


def test_a_process_of_the_run_is_found_and_killed(tmp_path):
    import subprocess

    context = grade_class.Context(tmp_path, "hostile-0ddba11c0ffe")
    code = f"import time\n# {context.marker}-daemon\ntime.sleep(60)"
    sleeper = subprocess.Popen([sys.executable, "-c", code], env={},
                               start_new_session=True)
    try:
        found = grade_class.run_processes(context, exclude=set())
        assert [process.pid for process in found] == [sleeper.pid]
        grade_class.clean_up(context, exclude=set())
        assert sleeper.wait(10) is not None
    finally:
        sleeper.kill()


@pytest.mark.parametrize("cell, safe", [
    ("passed", True), ("'=HYPERLINK(1)", True), ("line one\nline two", True),
    ("=HYPERLINK(1)", False), ("+1", False), (" -1", False), ("@SUM(A1)", False),
    ("name\x1b[2J", False), ("tab\tin", False),
])
def test_the_report_check_knows_a_dangerous_cell(tmp_path, cell, safe):
    assert grade_class.neutral_cell(cell) is safe
    report = tmp_path / "report.csv"
    header = "submission,notebook,exercise,status,message,flags\n"
    report.write_text(header + f'x,,,invalid,"{cell}",\n', encoding="utf-8")
    assert (grade_class.report_problems(report) == []) is safe


@dataclasses.dataclass(frozen=True)
class ScratchIn(grade_class.Context):
    """A run whose grader's temporary folder is in ``place``, not in /tmp."""

    place: Path = Path("/tmp")

    @property
    def scratch(self) -> Path:
        return self.place / super().scratch.name


def test_the_host_checks_find_setuid_files_leftovers_and_deep_trees(
    tmp_path, memory_path
):
    import os
    import time
    import uuid

    # In memory: the 10,000-deep tree below (see conftest.memory_path).
    context = ScratchIn(tmp_path, f"hostile-{uuid.uuid4().hex[:12]}", memory_path)
    scratch = context.scratch
    scratch.mkdir()
    try:
        started = time.time() - 1
        assert grade_class.setuid_files(context, started) == []
        assert grade_class.grader_leftovers(context) == []
        (scratch / "course-grade-abc" / "kernel").mkdir(parents=True)
        (scratch / "course-view-xyz").mkdir()
        suid = scratch / "course-grade-abc" / "kernel" / "suid"
        suid.write_text("#!/bin/sh\nid\n")
        os.chmod(suid, 0o4755)
        assert grade_class.grader_leftovers(context) == [
            f"{scratch / 'course-grade-abc'} left",
            f"{scratch / 'course-view-xyz'} left"]
        found = grade_class.setuid_files(context, started)
        if os.getuid() == 0:  # owned by uid 0: the check's case
            assert found == [f"{suid} (mode 104755)"]
        assert grade_class.setuid_files(context, time.time() + 60) == []
        # A 10,000-deep tree named after the marker: found at its top, walked
        # without recursion, removed.
        top = scratch / f"{context.marker}-deep"
        top.mkdir()
        handle = os.open(top, os.O_RDONLY)
        for _ in range(10_000):
            os.mkdir("d", dir_fd=handle)
            inner = os.open("d", os.O_RDONLY, dir_fd=handle)
            os.close(handle)
            handle = inner
        os.close(handle)
        assert top in grade_class.planted_files(context)
        assert sum(1 for _ in grade_class.walk(scratch)) < 300
        assert any(f"removed {top}" == line
                   for line in grade_class.clean_up(context, exclude=set()))
        assert not top.exists()
    finally:
        from instructor.grading.sandbox import remove_tree

        remove_tree(scratch)


def test_times_and_invisible_characters_are_read_from_the_console():
    console = ("grading 3 submissions with 2 workers\n"
               "[1/3] 00_hostile/many_cells.ipynb: 01_actor_critic_cartpole, 4/5 "
               "passed (18 s)\n"
               "[2/3] 00_hostile/export.html: invalid (0 s)\n")
    assert grade_class.graded_seconds(console) == {
        "00_hostile/many_cells.ipynb": 18.0, "00_hostile/export.html": 0.0}
    assert grade_class.INVISIBLE.findall("look\u200balike \u202egnp") == [
        "\u200b", "\u202e"]
    assert grade_class.INVISIBLE.findall("look\\u200balike é") == []
