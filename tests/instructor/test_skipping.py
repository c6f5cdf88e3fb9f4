"""Grading pays only for what it judges: unchanged course cells no judge needs are
left out, a changed one runs (``instructor.grading.skipping``)."""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat
import pytest

from course_utils.contract import SKIPPED_IN_GRADING_TAGS
from instructor import grade
from instructor.grading import course as course_model
from instructor.grading import match, skipping
from instructor.tools import student

ROOT = Path(__file__).resolve().parents[2]
SOURCES = student.solution_notebooks(ROOT)


def tagged(cells) -> list[int]:
    return [i for i, cell in enumerate(cells) if cell.get("cell_type") == "code"
            and SKIPPED_IN_GRADING_TAGS.intersection(skipping.cell_tags(cell))]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_every_tag_of_the_course_is_safe_to_skip(source):
    """No cell that still runs in grading reads a name a tagged cell defines."""
    cells = course_model.read_notebook(source.with_suffix(".ipynb")).cells
    assert tagged(cells), "the chapter tags its training and demonstration cells"
    assert skipping.unsafe_tags(cells) == [], (
        "these tagged cells define names that a cell run in grading reads: untag "
        "them or move the definitions out")


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_unchanged_course_cells_are_left_out_and_exercises_kept(source):
    course = course_model.load_course(ROOT / "notebooks")
    cells = course_model.read_notebook(student.student_path(source)).cells
    found = match.recognise(cells, "submission.ipynb", course)
    plan = match.prepare(cells, found)
    skipped = [i for i, cell in enumerate(plan.notebook.cells)
               if cell.metadata.get(skipping.SKIPPED_KEY)]
    assert skipped == tagged(cells)
    for index in skipped:
        assert plan.notebook.cells[index].source == ""
    for where in plan.located.values():
        for index in (where.exercise_cell, where.check_cell):
            assert plan.notebook.cells[index].source.strip()


def test_a_course_cell_changed_by_one_character_runs():
    course = course_model.load_course(ROOT / "notebooks")
    cells = course_model.read_notebook(student.student_path(SOURCES[1])).cells
    first = tagged(cells)[0]
    cells[first]["source"] = skipping.cell_source(cells[first]) + "\n# mine"
    # Blank space alone does not count as a change.
    second = tagged(cells)[1]
    cells[second]["source"] = "\n\n" + skipping.cell_source(cells[second]) + "\n  \n"
    found = match.recognise(cells, "submission.ipynb", course)
    plan = match.prepare(cells, found)
    assert plan.notebook.cells[first].source.endswith("# mine")
    assert not plan.notebook.cells[first].metadata.get(skipping.SKIPPED_KEY)
    assert plan.notebook.cells[second].metadata.get(skipping.SKIPPED_KEY)


def test_global_reads_count_function_bodies_not_parameters():
    source = ("def f(returns, name):\n    return returns + model(name) + [x for x in"
              " range(3)]\nprint(value)\n")
    assert skipping.read_names(source) == {"model", "range", "print", "value"}
    assert skipping.read_names("def broken(:\n") is None
    assert skipping.defined_names("import numpy as np\nfor i in []: pass\nx = 1\n"
                                  "class C: pass\n") == {"np", "i", "x", "C"}


def test_a_tag_on_a_cell_whose_names_are_needed_is_refused():
    cells = [nbformat.v4.new_code_cell("model = 1\nprint(model)"),
             nbformat.v4.new_code_cell("def f():\n    return model\n"),
             nbformat.v4.new_code_cell("print('plot')")]
    cells[0].metadata["tags"] = ["demonstration"]
    cells[2].metadata["tags"] = ["training"]
    assert skipping.unsafe_tags(cells) == [0]
    assert skipping.skippable_sources(cells) == {skipping.code_key("print('plot')")}


@pytest.fixture(scope="module")
def edited_demo(tmp_path_factory):
    """Chapter 02's student notebook: Exercise 1 answered with a name that only an
    edited demonstration cell (the torque widget's) defines."""
    folder = tmp_path_factory.mktemp("skipping")
    subs = folder / "subs"
    subs.mkdir()
    notebook = nbformat.read(student.student_path(SOURCES[1]), as_version=4)
    widget = next(c for c in notebook.cells
                  if c.source.startswith("cu.pendulum_widget"))
    assert "demonstration" in widget.metadata.get("tags", [])
    widget.source = "HALF = 0.5  # mine\n" + widget.source
    exercise = next(c for c in notebook.cells if c.source.startswith("def ou_step"))
    exercise.source = (
        "def ou_step(x, mu, theta, sigma, dt, normal_sample):\n"
        "    return x + theta * (mu - x) * dt + 2 * HALF * sigma * np.sqrt(dt) "
        "* normal_sample\n")
    nbformat.write(notebook, subs / "edited.ipynb")
    out = folder / "report.csv"
    assert grade.main([str(subs), "--out", str(out), "--workers", "1", "--quiet",
                       "--cell-timeout", "120", "--timeout", "300"]) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_skipped_cell_edited_by_the_student_is_run(edited_demo):
    first = edited_demo[0]
    assert first["exercise"].startswith("Exercise 1"), first
    assert first["status"] == "passed", first
