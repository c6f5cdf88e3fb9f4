"""Unit tests of the maintainer tooling: student versions, links, environment file."""

from __future__ import annotations

import nbformat
import pytest

from course_utils.contract import INSTRUMENTATION_TAG
from instructor.tools import envfile, links, student


def test_strip_solution_keeps_indentation_and_names_the_exercise():
    source = (
        "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
    )
    out = student.strip_solution(source, "Exercise 3 (add one)", "cell")
    assert "return x + 1" not in out
    assert out.splitlines()[1].startswith("    raise NotImplementedError(")
    assert "Exercise 3 (add one)" in out


@pytest.mark.parametrize(
    "source, problem",
    [
        ("### BEGIN SOLUTION\nx = 1\n", "without"),
        ("x = 1\n### END SOLUTION\n", "without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "nested"),
    ],
)
def test_unbalanced_markers_are_reported(source, problem):
    with pytest.raises(student.SolutionMarkerError, match=problem):
        student.strip_solution(source, "Exercise 1 (x)", "nb.py, cell 4")


def make_notebook(*cells):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = list(cells)
    return notebook


def test_make_student_drops_solution_cells_and_leaves_input_alone():
    answer = nbformat.v4.new_markdown_cell("**Answer.** Because batches.")
    answer.metadata["tags"] = ["solution", "keep-me"]
    original = make_notebook(
        nbformat.v4.new_markdown_cell("### Exercise 2: returns\nWrite it."),
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\ny = 2\n### END SOLUTION"),
        answer,
    )
    before = nbformat.writes(original)
    result = student.make_student(original, "nb.py")
    assert nbformat.writes(original) == before
    sources = [cell.source for cell in result.cells]
    assert len(sources) == 2
    assert "Exercise 2 (returns)" in sources[1] and "y = 2" not in sources[1]


def test_make_student_drops_instrumentation_cells():
    """The record for COURSE_RESULTS and the asserts on targets (tagged
    ``instrumentation``) stay in the solution notebook, for nbval, and leave the
    student's reading path; an untagged cell that merely mentions them stays."""
    record = nbformat.v4.new_code_cell(
        "cu.record_result(notebook='01', solved=run['solved'])\nassert run['solved']"
    )
    record.metadata["tags"] = [INSTRUMENTATION_TAG]
    mention = nbformat.v4.new_code_cell("run = train(model)  # instrumentation later")
    original = make_notebook(mention, record)
    result = student.make_student(original, "nb.py")
    assert [cell.source for cell in result.cells] == [mention.source]
    assert [cell.source for cell in original.cells] == [mention.source, record.source]


def test_markers_without_an_exercise_heading_are_reported():
    notebook = make_notebook(
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\n### END SOLUTION")
    )
    with pytest.raises(student.SolutionMarkerError, match="Exercise N"):
        student.make_student(notebook, "nb.py")


def test_envfile_reads_the_pip_list():
    text = (
        "dependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
        "      - a==1  # why\n      - b==2\nx: 1\n"
    )
    assert envfile.pip_requirements(text) == ["a==1", "b==2"]
    assert envfile.conda_python(text) == "3.11"
    with pytest.raises(ValueError, match="pip"):
        envfile.pip_requirements("dependencies:\n  - python=3.11\n")


def test_links_are_derived_from_the_address():
    url = "https://github.com/someone/course"
    assert links.github_slug(url) == "someone/course"
    assert (
        links.package_requirement(url)
        == "course-utils @ git+https://github.com/someone/course@main"
    )
    with pytest.raises(ValueError, match="github.com"):
        links.github_slug("https://example.org/x")
    text = 'x = 1\nCOURSE_PACKAGE = "old"\n'
    assert 'COURSE_PACKAGE = "new"' in links.updated_notebook(text, "new")
    readme = "a\n<!-- badges:start -->\nold\n<!-- badges:end -->\nb"
    assert "TABLE" in links.updated_readme(readme, "TABLE")
    assert "old" not in links.updated_readme(readme, "TABLE")
