"""The ``copied-solution`` flag (``instructor.grading.copying``)."""

from __future__ import annotations

from pathlib import Path

from instructor.grading import copying, match
from instructor.grading import course as course_model
from instructor.tools import student

ROOT = Path(__file__).resolve().parents[2]
SOURCES = student.solution_notebooks(ROOT)


def located(cells):
    course = course_model.load_course(ROOT / "notebooks")
    found = match.recognise(cells, "submission.ipynb", course)
    return found, match.locate(cells, found)


def test_the_solution_notebook_handed_in_is_flagged_for_every_exercise():
    for source in SOURCES:
        cells = course_model.read_notebook(source.with_suffix(".ipynb")).cells
        found, where = located(cells)
        assert copying.copied_exercises(cells, where, found) == [
            e.number for e in found.exercises], source.stem


def test_the_student_version_and_own_answers_are_not_flagged():
    cells = course_model.read_notebook(student.student_path(SOURCES[0])).cells
    found, where = located(cells)
    assert copying.copied_exercises(cells, where, found) == []
    index = where["2"].exercise_cell
    cells[index]["source"] = (
        "def discounted_returns(rewards, gamma, bootstrap=0.0):\n"
        "    out = np.zeros(len(rewards))\n    running = float(bootstrap)\n"
        "    for t in range(len(rewards) - 1, -1, -1):\n"
        "        running = rewards[t] + gamma * running\n        out[t] = running\n"
        "    return out\n")
    assert copying.copied_exercises(cells, where, found) == []


def test_renamed_and_reformatted_solution_code_is_still_flagged():
    solution = course_model.read_notebook(SOURCES[0].with_suffix(".ipynb")).cells
    _, solved = located(solution)
    code = course_model.source_of(solution[solved["3"].exercise_cell])
    assert "def normalise(values)" in code
    disguised = ("# my own work\n" + code.replace("values", "xs")
                 .replace("    ", "  ").replace('"""', "'''"))
    cells = course_model.read_notebook(student.student_path(SOURCES[0])).cells
    found, where = located(cells)
    cells[where["3"].exercise_cell]["source"] = disguised
    assert copying.copied_exercises(cells, where, found) == ["3"]


def test_shapes_ignore_names_comments_and_docstrings_not_structure():
    first = copying.code_shape('def f(a):\n    """Doc."""\n    # c\n    return a + 1\n')
    second = copying.code_shape("def f(b): return b+1")
    assert first == second
    assert copying.code_shape("def f(b): return b + 2") != first
    assert copying.code_shape("def g(b): return b + 1") != first
    assert copying.code_shape("x" * (copying.MAX_COMPARED + 1)) is None
    assert copying.code_shape("def broken(:") is None
