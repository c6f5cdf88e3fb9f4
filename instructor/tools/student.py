"""Build the student versions of the solution notebooks.

The solution notebooks are ``notebooks/NN_*.py`` (jupytext percent format, the source of
truth). Their student versions are ``notebooks/student/NN_*.ipynb``, generated here:

- in a code cell, every region between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
  (nbgrader's markers) becomes a stub that raises ``NotImplementedError`` naming the
  exercise, at the indentation of the ``BEGIN`` line;
- cells tagged ``solution`` (answers to questions asked in prose) are dropped;
- cells tagged ``instrumentation`` (the record for ``COURSE_RESULTS`` and the asserts
  on targets, which only tests and benchmarks need) are dropped: nbval still runs
  them in the solution notebooks, a student never reads them.

The exercise's name comes from the closest markdown heading above the cell that reads
``Exercise N: title``. Usage::

    python -m instructor.tools.student          # (re)write the student versions
    python -m instructor.tools.student --check  # fail if one is missing or stale
"""

from __future__ import annotations

import argparse
import hashlib
import sys
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


def make_student(notebook, name: str):
    """Return the student version of a solution notebook (a new object).

    Args:
        notebook: an ``nbformat.NotebookNode`` (version 4), left unchanged.
        name: the notebook's file name, for error messages.

    Returns:
        A new ``NotebookNode`` without solutions, instrumentation, outputs or
        jupytext pairing metadata.
    """
    import nbformat

    student = nbformat.v4.new_notebook()
    student.metadata = {
        "kernelspec": {
            "display_name": "Python 3",
            "language": "python",
            "name": "python3",
        },
        "language_info": {"name": "python"},
    }
    exercise = None
    for index, cell in enumerate(notebook.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if DROPPED_TAGS.intersection(tags):
            continue
        source = cell.source
        if cell.cell_type == "markdown":
            headings = EXERCISE_HEADING.findall(source)
            if headings:
                number, title = headings[-1]
                exercise = f"Exercise {number} ({title.rstrip('.')})"
            new = nbformat.v4.new_markdown_cell(source)
        elif cell.cell_type == "code":
            if BEGIN in source or END in source:
                where = f"{name}, cell {index + 1}"
                if exercise is None:
                    raise SolutionMarkerError(
                        f"{where}: solution markers, but no 'Exercise N: title' "
                        "heading in a markdown cell above"
                    )
                source = strip_solution(source, exercise, where)
            new = nbformat.v4.new_code_cell(source)
        else:
            new = nbformat.v4.new_raw_cell(source)
        kept_tags = [tag for tag in tags if tag != SOLUTION_TAG]
        if kept_tags:
            new.metadata["tags"] = kept_tags
        new.id = _cell_id(index, new.source)
        student.cells.append(new)
    return student


def render_student(source: Path) -> str:
    """The text of the student ``.ipynb`` for a solution source ``.py``."""
    import jupytext
    import nbformat

    notebook = jupytext.read(source, fmt="py:percent")
    return nbformat.writes(make_student(notebook, source.name)) + "\n"


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
