"""The course with the real nbgrader (``make test-nbgrader``, its own environment).

``make nbgrader``'s course folder goes through ``nbgrader generate_assignment``: the
release of every chapter must be its student version byte for byte (what the Colab and
Binder badges open), and the course's copy of nbgrader's checksum must agree with
nbgrader's. Then ``nbgrader autograde`` grades three hand-ins of chapter 02 (the
cheapest chapter to run top to bottom): the student version with every solution
written in (full marks), the same with Exercise 5 wrong (full marks minus its points)
and the student version untouched (0: its stubs raise). Any other score fails.

Not collected by ``make test`` (``--ignore=tests/nbgrader``): nbgrader is not in the
course's environment.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from instructor.tools import nbgrader_export, nbgrader_format, student

ROOT = Path(__file__).resolve().parent.parent.parent
SOURCES = student.solution_notebooks(ROOT)
CHAPTER = next(path for path in SOURCES if path.name.startswith("02_"))
ASSIGNMENT = nbgrader_export.assignment_id(CHAPTER)
WRONG_EXERCISE = "5"
# Exercise 5 of chapter 02 with tau on the wrong side: a typical mistake.
WRONG_BODY = (
    "return [tau * target + (1 - tau) * online"
    " for target, online in zip(target_weights, online_weights)]"
)
BIN = Path(sys.executable).parent
# nbgrader's steps, each in seconds (chapter 02 trains for real three times at most).
GENERATE_TIMEOUT = 300
AUTOGRADE_TIMEOUT = 1500

try:
    import nbgrader.utils as nbgrader_utils
except ImportError as missing:  # pragma: no cover
    raise ImportError(
        "nbgrader is not installed: run these tests with `make test-nbgrader`"
    ) from missing


def nbgrader(course: Path, *args: str, timeout: float) -> str:
    """Run the nbgrader command in the course folder; return its log, fail on error."""
    env = dict(os.environ)
    # nbgrader calls `alembic` and starts the kernel named python3: both this
    # environment's (make test-nbgrader installs its kernel spec with --sys-prefix).
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    done = subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{log[-4000:]}"
    # A broken nbgrader_config.py is only logged: nothing of it would apply.
    assert "Exception while loading config file" not in log, log[-4000:]
    return log


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """``make nbgrader``'s course folder, every chapter released by nbgrader."""
    folder = tmp_path_factory.mktemp("course")
    nbgrader_export.export(ROOT, folder)
    for path in SOURCES:
        nbgrader(
            folder,
            "generate_assignment",
            nbgrader_export.assignment_id(path),
            timeout=GENERATE_TIMEOUT,
        )
    return folder


def released(course: Path, path: Path) -> Path:
    name = nbgrader_export.assignment_id(path)
    return course / "release" / name / f"{name}.ipynb"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_release_is_the_student_version(course, path):
    """What the badges open is what nbgrader releases, byte for byte."""
    release = released(course, path).read_text()
    assert release == student.student_path(path).read_text(), (
        f"nbgrader's release of {path.stem} differs from notebooks/student/"
        f"{path.stem}.ipynb: run `make student`, or instructor/tools/"
        "nbgrader_format.py no longer does what nbgrader does"
    )


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_checksums_are_nbgraders(path):
    """The course's copy of nbgrader's checksum, on every cell of every student
    version, against nbgrader's own (and its lock flags)."""
    notebook = nbformat.read(student.student_path(path), as_version=4)
    for cell in notebook.cells:
        assert cell.metadata.nbgrader.checksum == nbgrader_utils.compute_checksum(cell)
        assert nbgrader_format.compute_checksum(cell) == (
            nbgrader_utils.compute_checksum(cell)
        )
        assert nbgrader_format.is_locked(cell) == nbgrader_utils.is_locked(cell)


def solution_sources() -> dict[str, str]:
    """Chapter 02's solution cells, by grade id, as a student who solved them all
    would hand them in (the solutions in place of the stubs, no markers)."""
    notebook = jupytext.read(CHAPTER, fmt="py:percent")
    out = {}
    for cell in student.course_cells(notebook, CHAPTER.name):
        if cell.role == nbgrader_format.SOLUTION:
            lines = cell.source.splitlines()
            out[cell.grade_id] = "\n".join(
                line
                for line in lines
                if line.strip() not in (student.BEGIN, student.END)
            )
    return out


def hand_in(course: Path, who: str, notebook) -> None:
    """Put a student's notebook where nbgrader collects submissions."""
    folder = course / "submitted" / who / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / f"{ASSIGNMENT}.ipynb")


def submissions(course: Path) -> dict[str, list[str]]:
    """Write the three hand-ins; return each one's exercises that must fail."""
    untouched = nbformat.read(student.student_path(CHAPTER), as_version=4)
    right = copy.deepcopy(untouched)
    solutions = solution_sources()
    for cell in right.cells:
        grade_id = cell.metadata.nbgrader.grade_id
        if grade_id in solutions:
            cell.source = solutions[grade_id]
    wrong = copy.deepcopy(untouched)
    for cell, solved in zip(wrong.cells, right.cells, strict=True):
        cell.source = solved.source
        if cell.metadata.nbgrader.grade_id == nbgrader_format.solution_grade_id(
            nbgrader_format.chapter_id(CHAPTER.name), WRONG_EXERCISE
        ):
            stub = next(
                c for c in untouched.cells if c.id == cell.id
            ).source.splitlines()
            at = next(i for i, line in enumerate(stub) if "NotImplementedError" in line)
            indent = stub[at][: len(stub[at]) - len(stub[at].lstrip())]
            stub[at] = indent + WRONG_BODY
            cell.source = "\n".join(stub)
    exercises = [
        cell.metadata.nbgrader.grade_id
        for cell in untouched.cells
        if cell.metadata.nbgrader.grade
    ]
    wrong_check = nbgrader_format.check_grade_id(
        nbgrader_format.chapter_id(CHAPTER.name), WRONG_EXERCISE
    )
    hand_in(course, "right", right)
    hand_in(course, "wrong", wrong)
    hand_in(course, "untouched", untouched)
    return {"right": [], "wrong": [wrong_check], "untouched": exercises}


def test_autograde_scores_three_hand_ins(course):
    """Real nbgrader autograde: full marks, full minus Exercise 5's points, 0."""
    from nbgrader.api import Gradebook

    failing = submissions(course)
    log = nbgrader(course, "autograde", ASSIGNMENT, timeout=AUTOGRADE_TIMEOUT)
    # The hand-ins' cells are the release's: nbgrader found nothing changed.
    assert "has changed" not in log, log[-4000:]
    assert "does not exist in the database" not in log, log[-4000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_notebook(ASSIGNMENT, ASSIGNMENT)
        checks = {cell.name: cell.max_score for cell in notebook.grade_cells}
        assert len(checks) == 5, checks
        scores = {}
        for who, wrong in failing.items():
            got = {
                grade_id: gradebook.find_grade(
                    grade_id, ASSIGNMENT, ASSIGNMENT, who
                ).score
                for grade_id in checks
            }
            expected = {
                grade_id: 0.0 if grade_id in wrong else points
                for grade_id, points in checks.items()
            }
            scores[who] = got
            assert got == expected, f"{who}: nbgrader scored {got}, not {expected}"
            total = gradebook.find_submission_notebook(
                ASSIGNMENT, ASSIGNMENT, who
            ).score
            assert total == sum(expected.values()), (who, total)
    print("nbgrader's scores:", scores)
