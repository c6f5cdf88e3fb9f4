"""The generated class of ``make bench-grade`` stays in step with the notebooks.

Grading the class takes minutes (``make bench-grade``); building it takes a second.
These tests build it and check, without a kernel, that every submission is what its
expectations say: recognised as the right notebook, each answered exercise without
its stub, each unanswered one still holding it, deleted cells really gone.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from instructor.grading import course as course_model
from instructor.grading import match

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class") / "submissions"
    grade_class.write_class(folder, SUBMISSIONS)  # reads them, never changes them
    return folder, course_model.load_course(ROOT / "notebooks")


def test_the_class_has_thirty_submissions_of_every_kind():
    assert len(SUBMISSIONS) == 30
    assert len({sub.name for sub in SUBMISSIONS}) == 30
    statuses = {status for sub in SUBMISSIONS for status in sub.expected.values()}
    assert statuses == {"passed", "failed", "error", "not attempted", "missing",
                        "invalid", "unrecognised"}


@pytest.mark.parametrize("sub", SUBMISSIONS, ids=lambda sub: sub.name)
def test_each_submission_is_what_its_expectations_say(built, sub):
    folder, course = built
    path = folder / f"{sub.name}.ipynb"
    if sub.notebook is None:
        try:
            cells = course_model.read_notebook(path).cells
        except course_model.InvalidNotebook:
            assert sub.expected == {"": "invalid"}
            return
        assert match.recognise(cells, path.name, course) is None
        assert sub.expected == {"": "unrecognised"}
        return
    cells = course_model.read_notebook(path).cells
    found = match.recognise(cells, path.name, course)
    assert found is not None and found.name == sub.notebook
    plan = match.prepare(cells, found)
    assert set(sub.expected) == {exercise.number for exercise in found.exercises}
    for number, status in sub.expected.items():
        where = plan.located[number]
        if status == "missing":
            assert where.exercise_cell is None or where.check_cell is None, number
            continue
        assert where.exercise_cell is not None and where.check_cell is not None
        assert where.stub_left == (number not in sub.answers), number
