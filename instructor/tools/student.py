"""Build the student versions of the solution notebooks.

The solution notebooks are ``notebooks/NN_*.py`` (jupytext percent format, the source of
truth). Their student versions are ``notebooks/student/NN_*.ipynb``, generated here:

- in a code cell, every region between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
  (nbgrader's markers) becomes a stub that raises ``NotImplementedError`` naming the
  exercise, at the indentation of the ``BEGIN`` line;
- cells tagged ``solution`` (answers to questions asked in prose) are dropped;
- cells tagged ``instrumentation`` (the record for ``COURSE_RESULTS`` and the asserts
  on targets, which only tests and benchmarks need) are dropped: nbval still runs
  them in the solution notebooks, a student never reads them;
- every cell carries the nbgrader metadata that ``nbgrader generate_assignment`` gives
  it in ``release/`` (``instructor.tools.nbgrader_format``): solution cells, graded
  check cells with their points, every other cell read-only, with stable grade ids and
  nbgrader's checksums. So the notebook the badges open is nbgrader's release notebook
  (``make nbgrader`` writes the course folder it comes from) and a hand-in from Colab
  or Binder autogrades.

The exercise's name comes from the closest markdown heading above the cell that reads
``Exercise N: title``. Usage::

    python -m instructor.tools.student          # (re)write the student versions
    python -m instructor.tools.student --check  # fail if one is missing or stale
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from course_utils.contract import BEGIN_SOLUTION as BEGIN
from course_utils.contract import END_SOLUTION as END
from course_utils.contract import (
    EXERCISE_HEADING,
    INSTRUMENTATION_TAG,
    SOLUTION_TAG,
    STUB_ERROR,
    stub_message,
)
from instructor.tools import nbgrader_format

STUDENT_DIR = Path("notebooks") / "student"
# Cells with these tags are left out of the student version.
DROPPED_TAGS = frozenset({SOLUTION_TAG, INSTRUMENTATION_TAG})


class SolutionMarkerError(ValueError):
    """A solution notebook whose markers cannot be turned into a student version."""


def solution_notebooks(root: Path) -> list[Path]:
    """The solution notebooks' sources: ``notebooks/NN_*.py`` under ``root``, sorted."""
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.py"))


def student_path(source: Path) -> Path:
    """Where the student version of a solution source lives."""
    return source.parent / "student" / (source.stem + ".ipynb")


def stub_line(indent: str, exercise: str) -> str:
    """The line that replaces a solution: it raises and names the exercise."""
    return f"{indent}raise {STUB_ERROR}({stub_message(exercise)!r})"


def strip_solution(source: str, exercise: str, where: str) -> str:
    """Replace every BEGIN/END SOLUTION region of a code cell by a stub.

    Args:
        source: the cell's code.
        exercise: the exercise's name, used in the stub's message.
        where: a description of the cell for error messages.

    Returns:
        The code with each region replaced by one ``raise NotImplementedError`` line.
    """
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise SolutionMarkerError(f"{where}, line {number}: nested {BEGIN}")
            inside = True
            out.append(stub_line(line[: len(line) - len(line.lstrip())], exercise))
        elif marker == END:
            if not inside:
                raise SolutionMarkerError(
                    f"{where}, line {number}: {END} without {BEGIN}"
                )
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise SolutionMarkerError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out)


def _cell_id(index: int, source: str) -> str:
    """A stable cell id, so that regenerating gives byte-identical files."""
    digest = hashlib.sha1(f"{index}:{source}".encode()).hexdigest()[:8]
    return f"cell-{index:03d}-{digest}"


@dataclass
class CourseCell:
    """A cell of the solution notebook that the student version keeps.

    ``source`` is the solution's code, ``student_source`` the student's (solutions
    replaced by stubs); ``role``, ``grade_id`` and ``points`` are its nbgrader part
    (``instructor.tools.nbgrader_format``); ``stub`` the line each solution region
    becomes, without its indentation (solution cells only); ``exercise`` the number
    of the exercise a solution or check cell belongs to.
    """

    index: int
    cell_type: str
    source: str
    student_source: str
    tags: list[str]
    role: str
    grade_id: str
    points: float | None = None
    stub: str | None = None
    exercise: str | None = None

    @property
    def cell_id(self) -> str:
        """The cell's id in the student version and in nbgrader's notebooks."""
        return _cell_id(self.index, self.student_source)


def course_cells(notebook, name: str, points: dict | None = None) -> list[CourseCell]:
    """The cells of a solution notebook that its student version keeps, in order.

    Args:
        notebook: an ``nbformat.NotebookNode`` (version 4), left unchanged.
        name: the notebook's file name (``NN_title.py``): error messages, grade ids.
        points: the ``[points]`` table of ``course.toml``
            (``nbgrader_format.load_points``); None: every exercise worth 1.

    Raises:
        SolutionMarkerError: markers without an exercise heading above, or
            unbalanced markers.
    """
    chapter = nbgrader_format.chapter_id(name)
    points_table = points or {}
    cells: list[CourseCell] = []
    exercise = number = None
    solutions: dict[str, int] = {}  # exercise number -> solution cells so far
    awaiting_check: str | None = None  # the exercise whose check cell comes next
    for index, cell in enumerate(notebook.cells):
        tags = list(cell.get("metadata", {}).get("tags", []))
        if DROPPED_TAGS.intersection(tags):
            continue
        source = student_source = cell.source
        role, grade_id = nbgrader_format.READONLY, None
        points = stub = exercise_of = None
        if cell.cell_type == "markdown":
            headings = EXERCISE_HEADING.findall(source)
            if headings:
                number, title = headings[-1]
                exercise = f"Exercise {number} ({title.rstrip('.')})"
        elif cell.cell_type == "code":
            where = f"{name}, cell {index + 1}"
            if BEGIN in source or END in source:
                if exercise is None:
                    raise SolutionMarkerError(
                        f"{where}: solution markers, but no 'Exercise N: title' "
                        "heading in a markdown cell above"
                    )
                student_source = strip_solution(source, exercise, where)
                solutions[number] = solutions.get(number, 0) + 1
                role = nbgrader_format.SOLUTION
                grade_id = nbgrader_format.solution_grade_id(
                    chapter, number, solutions[number]
                )
                stub = stub_line("", exercise)
                awaiting_check = exercise_of = number
            elif awaiting_check and nbgrader_format.CHECK_CALL.search(source):
                role = nbgrader_format.CHECK
                grade_id = nbgrader_format.check_grade_id(chapter, awaiting_check)
                points = nbgrader_format.exercise_points(
                    points_table, name, awaiting_check
                )
                exercise_of, awaiting_check = awaiting_check, None
        if grade_id is None:
            grade_id = nbgrader_format.readonly_grade_id(chapter, index)
        cells.append(
            CourseCell(
                index=index,
                cell_type=cell.cell_type,
                source=source,
                student_source=student_source,
                tags=[tag for tag in tags if tag != SOLUTION_TAG],
                role=role,
                grade_id=grade_id,
                points=points,
                stub=stub,
                exercise=exercise_of,
            )
        )
    return cells


def unchecked_exercises(cells: list[CourseCell]) -> list[str]:
    """The exercises (numbers) with a solution cell but no graded check cell after it:
    nbgrader would grade nothing of them (``make nbgrader`` refuses)."""
    solved = {c.exercise for c in cells if c.role == nbgrader_format.SOLUTION}
    checked = {c.exercise for c in cells if c.role == nbgrader_format.CHECK}
    return sorted(solved - checked)


def notebook_metadata() -> dict:
    """The notebook-level metadata of the student version and nbgrader's notebooks."""
    return {
        "kernelspec": {
            "display_name": "Python 3",
            "language": "python",
            "name": "python3",
        },
        "language_info": {"name": "python"},
    }


def new_cell(course_cell: CourseCell, source: str):
    """An nbformat cell of ``course_cell``'s type, id, tags and nbgrader source
    metadata, holding ``source``."""
    import nbformat

    make = {
        "markdown": nbformat.v4.new_markdown_cell,
        "code": nbformat.v4.new_code_cell,
    }.get(course_cell.cell_type, nbformat.v4.new_raw_cell)
    new = make(source)
    if course_cell.tags:
        new.metadata["tags"] = list(course_cell.tags)
    new.metadata["nbgrader"] = nbgrader_format.source_metadata(
        course_cell.role, course_cell.grade_id, course_cell.points
    )
    new.id = course_cell.cell_id
    return new


def make_student(notebook, name: str, points: dict | None = None):
    """Return the student version of a solution notebook (a new object).

    It is the notebook ``nbgrader generate_assignment`` releases from ``make
    nbgrader``'s source notebook: the same cells and ids, each with the nbgrader
    metadata of the release (grade ids, locks, checksums).

    Args:
        notebook: an ``nbformat.NotebookNode`` (version 4), left unchanged.
        name: the notebook's file name (``NN_title.py``).
        points: the ``[points]`` table of ``course.toml``; None: 1 per exercise.

    Returns:
        A new ``NotebookNode`` without solutions, instrumentation, outputs or
        jupytext pairing metadata.
    """
    import nbformat

    student = nbformat.v4.new_notebook()
    student.metadata = notebook_metadata()
    for course_cell in course_cells(notebook, name, points):
        new = new_cell(course_cell, course_cell.student_source)
        new.metadata = nbformat.from_dict(nbgrader_format.release_metadata(new))
        student.cells.append(new)
    return student


def render_student(source: Path) -> str:
    """The text of the student ``.ipynb`` for a solution source ``.py``
    (``notebooks/NN_title.py``: the points from the repository's ``course.toml``)."""
    import jupytext
    import nbformat

    notebook = jupytext.read(source, fmt="py:percent")
    points = nbgrader_format.load_points(course_root(source))
    return nbformat.writes(make_student(notebook, source.name, points)) + "\n"


def course_root(source: Path) -> Path:
    """The repository of a solution source ``notebooks/NN_title.py``."""
    return source.resolve().parent.parent


def stale_student_versions(root: Path) -> list[Path]:
    """Student versions that are missing or differ from what ``build`` would write."""
    stale = []
    for source in solution_notebooks(root):
        target = student_path(source)
        if not target.exists() or target.read_text() != render_student(source):
            stale.append(target)
    return stale


def build(root: Path) -> list[Path]:
    """Write every student version under ``root``; return the paths written."""
    written = []
    for source in solution_notebooks(root):
        target = student_path(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = render_student(source)
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_student_versions(args.root)
        for path in stale:
            print(f"{path} is out of date: run `make student`")
        return 1 if stale else 0
    for path in build(args.root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
