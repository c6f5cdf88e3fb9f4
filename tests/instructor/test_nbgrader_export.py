"""nbgrader's metadata in the student versions and in ``make nbgrader``'s course folder,
checked without nbgrader (``make test-nbgrader`` checks them with the real one)."""

from __future__ import annotations

import ast

import jupytext
import nbformat
import pytest

from course_utils.contract import STUB_MESSAGE
from instructor.tools import nbgrader_export, nbgrader_format, student

ROOT = student.Path(__file__).resolve().parent.parent.parent
SOURCES = student.solution_notebooks(ROOT)
NBGRADER_KEYS = {"grade", "grade_id", "locked", "schema_version", "solution", "task"}


def read_source(path):
    return jupytext.read(path, fmt="py:percent")


def exported(path):
    points = nbgrader_format.load_points(ROOT)
    return nbgrader_export.make_source(read_source(path), path.name, points)


def released(path):
    return nbformat.read(student.student_path(path), as_version=4)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_every_cell_has_nbgrader_metadata(path):
    chapter = nbgrader_format.chapter_id(path.name)
    for notebook in (exported(path), released(path)):
        for cell in notebook.cells:
            meta = cell.metadata["nbgrader"]
            assert NBGRADER_KEYS <= set(meta), cell.source[:60]
            assert meta["schema_version"] == 3
            assert meta["task"] is False
            assert meta["grade_id"].startswith(f"{chapter}-")
            if meta["solution"]:
                assert (meta["grade"], meta["locked"]) == (False, False)
                assert cell.cell_type == "code"
                assert meta["grade_id"].startswith(f"{chapter}-ex")
            elif meta["grade"]:
                assert meta["locked"] is True and meta["points"] >= 0
                assert nbgrader_format.CHECK_CALL.search(cell.source)
                assert meta["grade_id"].endswith("-check")
            else:
                assert meta["locked"] is True and "points" not in meta
                assert meta["grade_id"].startswith(f"{chapter}-cell-")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_grade_ids_unique_and_stable(path):
    """Unique within the course, and the exercises' ids read chNN-exN-solution /
    chNN-exN-check (the gradebook's columns), whatever the cells around them."""
    notebook = exported(path)
    ids = [cell.metadata.nbgrader.grade_id for cell in notebook.cells]
    assert len(ids) == len(set(ids))
    chapter = nbgrader_format.chapter_id(path.name)
    cells = student.course_cells(read_source(path), path.name)
    exercises = sorted({cell.exercise for cell in cells if cell.exercise})
    for number in exercises:
        assert f"{chapter}-ex{number}-solution" in ids
        assert f"{chapter}-ex{number}-check" in ids
    # Inserting a read-only cell at the top moves no exercise's id.
    shifted = read_source(path)
    shifted.cells.insert(0, nbformat.v4.new_markdown_cell("A new introduction."))
    moved = student.course_cells(shifted, path.name)
    assert [c.grade_id for c in moved if c.exercise] == [
        c.grade_id for c in cells if c.exercise
    ]


def test_grade_ids_unique_across_the_course():
    ids = [
        cell.metadata.nbgrader.grade_id
        for path in SOURCES
        for cell in exported(path).cells
    ]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_every_exercise_has_a_solution_and_a_graded_check_cell(path):
    notebook = read_source(path)
    headings = {
        number
        for cell in notebook.cells
        if cell.cell_type == "markdown"
        for number, _ in student.EXERCISE_HEADING.findall(cell.source)
    }
    cells = student.course_cells(notebook, path.name)
    solved = {c.exercise for c in cells if c.role == nbgrader_format.SOLUTION}
    checked = [c.exercise for c in cells if c.role == nbgrader_format.CHECK]
    assert solved == headings
    assert sorted(checked) == sorted(headings), "one graded check per exercise"
    assert not student.unchecked_exercises(cells)
    # Each check cell follows its exercise's (last) solution cell.
    order = [c.exercise for c in cells if c.exercise]
    for number in headings:
        last_solution = max(
            i
            for i, c in enumerate(cells)
            if c.exercise == number and c.role == nbgrader_format.SOLUTION
        )
        check = next(
            i
            for i, c in enumerate(cells)
            if c.exercise == number and c.role == nbgrader_format.CHECK
        )
        assert check > last_solution, order


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_student_version_and_export_agree_cell_by_cell(path):
    """The student version is the export with solutions replaced by the course's
    stubs, plus what nbgrader's release adds (locks, checksums): same cells, same
    ids, same grade ids, same tags."""
    source, release = exported(path), released(path)
    assert source.metadata == release.metadata
    assert len(source.cells) == len(release.cells)
    for mine, theirs in zip(source.cells, release.cells, strict=True):
        assert mine.id == theirs.id
        assert mine.cell_type == theirs.cell_type
        assert mine.metadata.get("tags") == theirs.metadata.get("tags")
        released_meta = dict(theirs.metadata.nbgrader)
        assert released_meta.pop("cell_type") == theirs.cell_type
        assert released_meta.pop("checksum") == nbgrader_format.compute_checksum(theirs)
        assert released_meta == dict(mine.metadata.nbgrader)
        if mine.metadata.nbgrader.solution:
            assert theirs.metadata == nbformat.from_dict(
                {**theirs.metadata, "deletable": False}
            )
            assert "editable" not in theirs.metadata
            assert STUB_MESSAGE.search(theirs.source)
            assert student.BEGIN in mine.source
        else:
            assert theirs.metadata["deletable"] is False
            assert theirs.metadata["editable"] is False
            assert mine.source == theirs.source


def test_checksum_is_nbgraders():
    """Values computed by nbgrader 0.9.6's ``utils.compute_checksum`` on these cells
    (make test-nbgrader compares the two on every cell of the course)."""
    check = nbformat.v4.new_code_cell("checks.check_x(x)")
    check.metadata["nbgrader"] = nbgrader_format.source_metadata(
        nbgrader_format.CHECK, "ch09-ex1-check", 2
    )
    title = nbformat.v4.new_markdown_cell("# Title é")
    title.metadata["nbgrader"] = nbgrader_format.source_metadata(
        nbgrader_format.READONLY, "ch09-cell-000"
    )
    stub = nbformat.v4.new_code_cell("def f():\n    raise NotImplementedError()")
    stub.metadata["nbgrader"] = nbgrader_format.source_metadata(
        nbgrader_format.SOLUTION, "ch09-ex1-solution"
    )
    assert nbgrader_format.compute_checksum(check) == "cf740eccd0bb8c95d1937aaa46688904"
    assert nbgrader_format.compute_checksum(title) == "486788648781d79fded52ae19f6199ed"
    assert nbgrader_format.compute_checksum(stub) == "b6ebc962fb952af02d539f429cced5f2"


def test_points_come_from_course_toml():
    table = {"default": 2, "01": {"5": 3}, "03_td3_pendulum": 0}
    assert nbgrader_format.exercise_points(table, "01_a.py", "5") == 3
    assert nbgrader_format.exercise_points(table, "01_a.py", "2") == 2
    assert nbgrader_format.exercise_points(table, "02_b.py", "1") == 2
    assert nbgrader_format.exercise_points(table, "03_td3_pendulum.py", "1") == 0
    assert nbgrader_format.exercise_points({}, "01_a.py", "1") == 1
    notebook = read_source(SOURCES[0])
    cells = student.course_cells(notebook, SOURCES[0].name, {"default": 4})
    assert {c.points for c in cells if c.role == nbgrader_format.CHECK} == {4}


def test_load_points_reads_the_points_table(tmp_path):
    assert nbgrader_format.load_points(tmp_path) == {}
    (tmp_path / "course.toml").write_text('[points]\ndefault = 2\n"01" = { 5 = 3 }\n')
    assert nbgrader_format.load_points(tmp_path) == {"default": 2, "01": {"5": 3}}


def test_an_exercise_without_a_check_is_refused():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("### Exercise 1: add"),
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\ny = 1\n### END SOLUTION"),
        nbformat.v4.new_code_cell("print(y)"),
    ]
    with pytest.raises(student.SolutionMarkerError, match="no check cell"):
        nbgrader_export.make_source(notebook, "09_x.py")


def test_export_writes_the_course_folder(tmp_path):
    written = nbgrader_export.export(ROOT, tmp_path)
    config = tmp_path / "nbgrader_config.py"
    assert config in written
    text = config.read_text()
    tree = ast.parse(text)
    assert "c.Execute.timeout = 600" in text
    stubs = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "STUBS"
    )
    for path in SOURCES:
        name = path.stem
        target = tmp_path / "source" / name / f"{name}.ipynb"
        assert target in written
        notebook = nbformat.read(target, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.metadata.nbgrader.solution:
                stub = stubs[cell.metadata.nbgrader.grade_id]
                assert STUB_MESSAGE.search(stub)
                released_cell = next(c for c in released(path).cells if c.id == cell.id)
                assert stub in released_cell.source
