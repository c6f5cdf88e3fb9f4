"""Write the course as an nbgrader course folder (``make nbgrader``).

Writes, under ``build/nbgrader/`` by default::

    nbgrader_config.py                  course id, timeouts, the course's stubs
    source/<chapter>/<chapter>.ipynb    each solution notebook with nbgrader's metadata

Each source notebook holds the cells of the chapter's student version (same cells, same
ids, same grade ids) with the solutions in place: the exercises' code cells are
solution cells, the check cell after each exercise is graded (its points), every other
cell is read-only (``instructor.tools.nbgrader_format``). ``nbgrader generate_assignment
<chapter>``, run in that folder, then releases exactly the student version in
``notebooks/student/`` (what the Colab and Binder badges open): the configuration's
``ClearSolutions`` writes the course's own stubs, which name their exercise. So a
hand-in of the badge notebook autogrades (``make test-nbgrader`` checks it with the
real nbgrader).

This module needs the course environment only (jupytext, nbformat), not nbgrader.
Usage::

    python -m instructor.tools.nbgrader_export [--out build/nbgrader]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_utils.contract import BEGIN_SOLUTION, END_SOLUTION, STUB_ERROR, STUB_TEXT
from instructor.tools import nbgrader_format, student

DEFAULT_OUT = Path("build") / "nbgrader"
COURSE_ID = "rl-course"
# nbgrader's default of 30 s per cell fails the chapters' training cells (chapter 01's
# Exercise 5 trains several networks on three seeds in one cell).
CELL_TIMEOUT = 600

CONFIG_TEMPLATE = '''\
"""nbgrader's configuration for the course (written by `make nbgrader`, from
instructor/tools/nbgrader_export.py: edit that, not this file)."""

from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import ClearSolutions

c = get_config()  # noqa: F821 (traitlets defines it)

c.CourseDirectory.course_id = {course_id!r}
# Training cells run for minutes; nbgrader's default is 30 s per cell.
c.Execute.timeout = {timeout}
c.ClearSolutions.begin_solution_delimeter = {begin!r}
c.ClearSolutions.end_solution_delimeter = {end!r}
c.ClearSolutions.code_stub = {{"python": {generic_stub!r}}}

# The stub of each exercise names it, as in the course's student versions
# (notebooks/student/): solution cell grade id -> the line its solution becomes.
STUBS = {stubs}


class CourseClearSolutions(ClearSolutions):
    """ClearSolutions with the course's stub for each exercise's solution cell."""

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {{}}).get("grade_id")
        stubs = self.code_stub
        if grade_id in STUBS:
            self.code_stub = dict(stubs, python=STUBS[grade_id])
        try:
            return super().preprocess_cell(cell, resources, cell_index)
        finally:
            self.code_stub = stubs


c.GenerateAssignment.preprocessors = [
    CourseClearSolutions if step is ClearSolutions else step
    for step in GenerateAssignment.class_traits()["preprocessors"].default()
]
'''


def make_source(notebook, name: str, points: dict | None = None):
    """nbgrader's ``source/`` notebook of a solution notebook (a new object).

    Args:
        notebook: an ``nbformat.NotebookNode`` (version 4), left unchanged.
        name: the notebook's file name (``NN_title.py``).
        points: the ``[points]`` table of ``course.toml``; None: 1 per exercise.

    Raises:
        SolutionMarkerError: as ``student.course_cells``, or an exercise without a
            check cell below it.
    """
    import nbformat

    cells = student.course_cells(notebook, name, points)
    unchecked = student.unchecked_exercises(cells)
    if unchecked:
        raise student.SolutionMarkerError(
            f"{name}: no check cell (a code cell calling checks.check_...) after the "
            f"solution of exercise {', '.join(unchecked)}: nbgrader would grade nothing"
        )
    source = nbformat.v4.new_notebook()
    source.metadata = student.notebook_metadata()
    for course_cell in cells:
        source.cells.append(student.new_cell(course_cell, course_cell.source))
    return source


def stubs(root: Path) -> dict[str, str]:
    """Every solution cell's grade id -> its stub line, over all chapters."""
    import jupytext

    out = {}
    points = nbgrader_format.load_points(root)
    for path in student.solution_notebooks(root):
        notebook = jupytext.read(path, fmt="py:percent")
        for cell in student.course_cells(notebook, path.name, points):
            if cell.stub is not None:
                out[cell.grade_id] = cell.stub
    return out


def render_config(root: Path) -> str:
    """The text of the course folder's ``nbgrader_config.py``."""
    lines = ["{"]
    lines += [f"    {key!r}: {value!r}," for key, value in stubs(root).items()]
    lines.append("}")
    return CONFIG_TEMPLATE.format(
        course_id=COURSE_ID,
        timeout=CELL_TIMEOUT,
        begin=BEGIN_SOLUTION,
        end=END_SOLUTION,
        generic_stub=f"raise {STUB_ERROR}({STUB_TEXT!r})",
        stubs="\n".join(lines),
    )


def assignment_id(path: Path) -> str:
    """A chapter's assignment (and notebook) name in nbgrader: its file's stem."""
    return path.stem


def export(root: Path, out: Path) -> list[Path]:
    """Write the course folder ``out``; return the files written."""
    import jupytext
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    config = out / "nbgrader_config.py"
    config.write_text(render_config(root))
    written = [config]
    points = nbgrader_format.load_points(root)
    for path in student.solution_notebooks(root):
        name = assignment_id(path)
        notebook = jupytext.read(path, fmt="py:percent")
        target = out / "source" / name / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        text = nbformat.writes(make_source(notebook, path.name, points))
        target.write_text(text + "\n")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    for path in export(args.root, args.out):
        print(f"wrote {path}")
    print(
        f"next: cd {args.out} && nbgrader generate_assignment <chapter> "
        "(nbgrader installed; see the README's instructor guide)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
