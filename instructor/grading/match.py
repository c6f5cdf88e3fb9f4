"""Recognise which course notebook a submission is, and find its exercises.

Students rename files, delete, move and edit cells. A submission is recognised by
its title, its exercise headings, the check functions its cells call and the functions
its cells define. Each exercise's cell is found by the names it defines (else by the
stub left in it, else as the first code cell under its heading), and its check cell by
the check function it calls (else by its text). The check cell's source is then
replaced by the course's own, so a tampered check still grades the student's code.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from course_utils.contract import STUB_ERROR as STUB
from instructor.grading.course import (
    CourseNotebook,
    Exercise,
    check_calls,
    defined_names,
    exercise_heading,
    normalise,
    notebook_title,
    request_with_challenge,
    source_of,
    with_challenge,
)
from instructor.grading.skipping import code_key, leave_out
from instructor.grading.worker import GRADING_KEY


@dataclass(frozen=True)
class Signals:
    """What identifies a submission: title, headings, calls, names and code."""

    title: str
    headings: frozenset[tuple[str, str]]
    calls: frozenset[str]
    names: frozenset[str]
    code: frozenset[str]


@dataclass
class Located:
    """Where an exercise sits in a submission (cell indices), and what is left in it.

    Attributes:
        exercise_cell: index of the student's exercise cell, None when deleted.
        check_cell: index of the check cell, None when deleted.
        stub_left: whether the exercise cell still holds the exercise's stub.
    """

    exercise_cell: int | None = None
    check_cell: int | None = None
    stub_left: bool = False


@dataclass
class Plan:
    """A recognised submission, ready to run.

    Attributes:
        course: the course notebook it is a version of.
        notebook: the notebook to execute (a copy, the course's checks put in).
        located: per exercise number, where its cells are.
    """

    course: CourseNotebook
    notebook: object
    located: dict[str, Located] = field(default_factory=dict)


MAX_COMPARED = 100_000  # characters: longer cells are never a course's check cell


def compared(source: str) -> str:
    """A cell's code as recognition reads it: "" beyond ``MAX_COMPARED``."""
    return source if len(source) <= MAX_COMPARED else ""


def signals(cells) -> Signals:
    """Collect the identifying features of a list of cells."""
    code = [compared(source_of(cell)) for cell in cells
            if cell.get("cell_type") == "code"]
    headings = {exercise_heading(cell) for cell in cells} - {None}
    return Signals(
        title=notebook_title(cells),
        headings=frozenset((n, normalise(t)) for n, t in headings),
        calls=frozenset().union(*(check_calls(source) for source in code)),
        names=frozenset().union(*(defined_names(source) for source in code)),
        code=frozenset(code_key(source) for source in code),
    )


def exercise_seen(exercise: Exercise, seen: Signals) -> bool:
    """Whether a submission shows any trace of an exercise."""
    return bool(
        (exercise.number, normalise(exercise.title)) in seen.headings
        or exercise.check_calls & seen.calls
        or exercise.names & seen.names
        or code_key(exercise.check) in seen.code
    )


def score(course: CourseNotebook, seen: Signals, filename: str) -> float:
    """How well a submission matches a course notebook; 0 when it does not.

    A match needs the same title, or traces of at least half of the exercises. The
    file name only breaks ties (students rename files).
    """
    title = bool(seen.title) and seen.title == course.title
    traces = sum(exercise_seen(exercise, seen) for exercise in course.exercises)
    if not title and (traces == 0 or 2 * traces < len(course.exercises)):
        return 0.0
    prefix = course.name.split("_", 1)[0]
    named = course.name in filename or filename.startswith(prefix)
    return 2.0 * title + traces / len(course.exercises) + 0.1 * named


def recognise(cells, filename: str, course: list[CourseNotebook]):
    """The course notebook a submission is a version of, or None.

    Args:
        cells: the submission's cells.
        filename: the submission's file name.
        course: the course notebooks.

    Returns:
        The best-matching ``CourseNotebook``, or None when none matches.
    """
    seen = signals(cells)
    scored = [(score(notebook, seen, filename), notebook) for notebook in course]
    best_score, best = max(scored, key=lambda pair: pair[0])
    return best if best_score > 0 else None


class Cells:
    """A submission's cells with what ``locate`` asks of each, worked out once.

    Locating asks the same questions of every code cell for every exercise; each
    answer is computed at most once per cell, so locating costs the notebook's
    length times a few passes, whatever the number of exercises.
    """

    def __init__(self, cells) -> None:
        self.cells = cells
        # What recognition reads of each cell: a cell longer than any exercise or
        # check ever is counts as empty (its names and calls would cost time on
        # student bytes and identify nothing); it still runs as written.
        self.sources = [compared(source_of(cell)) for cell in cells]
        self.headings = [exercise_heading(cell) for cell in cells]
        self.cache: dict[tuple[str, int], object] = {}

    def answer(self, what: str, index: int, compute):
        """``compute(source)`` for one cell, cached under ``what``."""
        key = (what, index)
        if key not in self.cache:
            self.cache[key] = compute(self.sources[index])
        return self.cache[key]

    def names(self, index: int) -> frozenset[str]:
        return self.answer("names", index, defined_names)

    def calls(self, index: int) -> frozenset[str]:
        return self.answer("calls", index, check_calls)

    def key(self, index: int) -> str:
        return self.answer("key", index, code_key)


def heading_index(cells: Cells, number: str) -> int | None:
    """Index of the markdown cell with the heading of exercise ``number``, if any."""
    for index, heading in enumerate(cells.headings):
        if heading is not None and heading[0] == number:
            return index
    return None


def closest(candidates: list[int], anchor: int | None) -> int | None:
    """The first candidate after ``anchor``, else the first candidate, else None."""
    if not candidates:
        return None
    if anchor is not None:
        after = [index for index in candidates if index > anchor]
        if after:
            return after[0]
    return candidates[0]


STUB_RAISE = re.compile(rf"raise\s+{STUB}\(")


def has_stub(source: str, number: str) -> bool:
    """Whether code still raises the stub of exercise ``number``.

    That is ``raise NotImplementedError(`` followed on its line by ``Exercise N``.
    Linear in the code's length: each line is searched for the exercise once,
    after the first ``raise`` of the stub on it (``raise ...(.*Exercise`` as one
    pattern restarted at every ``raise`` of a long line: quadratic).
    """
    exercise = re.compile(rf"Exercise\s+{re.escape(number)}\b")
    position = 0
    while (found := STUB_RAISE.search(source, position)) is not None:
        end = source.find("\n", found.end())
        end = len(source) if end < 0 else end
        if exercise.search(source, found.end(), end) is not None:
            return True
        position = end + 1
    return False


def is_a_check(cells: Cells, index: int, course: CourseNotebook) -> bool:
    """Whether a code cell is (or calls) one of the course's checks."""
    return any(
        exercise.check_calls & cells.calls(index)
        or cells.key(index) == code_key(exercise.check)
        for exercise in course.exercises
    )


def find_exercise_cell(cells: Cells, exercise, course, free: list[int]) -> int | None:
    """Locate the student's cell for an exercise among the unclaimed code cells."""
    heading = heading_index(cells, exercise.number)
    if exercise.names:
        by_names = [i for i in free if exercise.names & cells.names(i)]
        return closest(by_names, heading)
    by_stub = [i for i in free if cells.answer(
        f"stub {exercise.number}", i, lambda text: has_stub(text, exercise.number))]
    if by_stub or heading is None:
        return closest(by_stub, heading)
    end = next((i for i in range(heading + 1, len(cells.cells))
                if cells.headings[i] is not None), len(cells.cells))
    # The first unclaimed code cell under the heading that is not a check.
    return next((i for i in free if heading < i < end
                 and not is_a_check(cells, i, course)), None)


def find_check_cell(cells: Cells, exercise, anchor: int | None, free: list[int]):
    """Locate the check cell of an exercise among the unclaimed code cells."""
    if exercise.check_calls:
        calling = [i for i in free if exercise.check_calls & cells.calls(i)]
        return closest(calling, anchor)
    check_key = code_key(exercise.check)
    same = [i for i in free if cells.key(i) == check_key]
    if same or anchor is None:
        return closest(same, anchor)
    following = [i for i in free if i > anchor]
    if not following:
        return None
    return following[0] if similar(cells.key(following[0]), check_key) else None


def similar(text: str, check: str, threshold: float = 0.6) -> bool:
    """Whether ``difflib``'s ratio of two texts reaches the threshold.

    The ratio (quadratic in the worst case) is computed only when its bounds
    allow it: texts of lengths far apart (a long cell against a short check
    call) are told apart from their lengths alone (``real_quick_ratio``), or
    from their letters (``quick_ratio``, linear).
    """
    matcher = difflib.SequenceMatcher(None, text, check)
    return (matcher.real_quick_ratio() >= threshold
            and matcher.quick_ratio() >= threshold
            and matcher.ratio() >= threshold)


def locate(cells, course: CourseNotebook) -> dict[str, Located]:
    """Find every exercise's cell and check cell in a submission.

    Args:
        cells: the submission's cells.
        course: the course notebook it was recognised as.

    Returns:
        Per exercise number, a ``Located`` (indices None for deleted cells).
    """
    known = Cells(cells)
    free = [i for i, cell in enumerate(cells) if cell.get("cell_type") == "code"]
    located: dict[str, Located] = {}
    for exercise in course.exercises:
        where = Located()
        where.exercise_cell = find_exercise_cell(known, exercise, course, free)
        if where.exercise_cell is not None:
            free.remove(where.exercise_cell)
            where.stub_left = has_stub(known.sources[where.exercise_cell],
                                       exercise.number)
        where.check_cell = find_check_cell(known, exercise, where.exercise_cell, free)
        if where.check_cell is not None:
            free.remove(where.check_cell)
        located[exercise.number] = where
    return located


def clean_cell(cell):
    """A fresh copy of a submitted cell: its type and source only, no outputs.

    Built as ``nbformat.v4.new_*_cell`` builds it, without its validation of each
    cell (~0.2 ms a cell: 100,000 tiny cells took ~20 s); the shape is the same.
    """
    from nbformat import NotebookNode
    from nbformat.v4.nbbase import random_cell_id

    kind = cell.get("cell_type")
    kind = kind if kind in ("code", "markdown") else "raw"
    fresh = NotebookNode(id=random_cell_id(), cell_type=kind,
                         metadata=NotebookNode(), source=source_of(cell))
    if kind == "code":
        fresh.execution_count, fresh.outputs = None, []
    return fresh


def prepare(cells, course: CourseNotebook, challenges: dict[str, int] | None = None
            ) -> Plan:
    """The notebook to execute for a recognised submission.

    Outputs and metadata are dropped; each located exercise and check cell is tagged
    in its metadata (``course_grading``), and each check cell gets the course's probe
    with the exercise's challenge written in.

    Args:
        cells: the submission's cells.
        course: the course notebook it was recognised as.
        challenges: per exercise number, the challenge its probe runs under (fresh
            cases the judge rebuilds); 0 for an exercise not given.

    Returns:
        The ``Plan``.
    """
    import nbformat

    located = locate(cells, course)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [clean_cell(cell) for cell in cells]
    for exercise in course.exercises:
        where = located[exercise.number]
        if where.exercise_cell is not None:
            tag = {"role": "exercise", "exercise": exercise.number}
            notebook.cells[where.exercise_cell].metadata[GRADING_KEY] = tag
        if where.check_cell is not None:
            check = notebook.cells[where.check_cell]
            # The course's check call, reduced to its probe: the student's copy of
            # the cell is never run, and the verdict is the grader's judge's.
            challenge = (challenges or {}).get(exercise.number, 0)
            check.source = (with_challenge(exercise.probe, challenge)
                            if exercise.probe else exercise.check)
            tag = {"role": "check", "exercise": exercise.number}
            if exercise.request:
                # Run by the kernel's own handler, not as a cell (worker.py).
                tag["request"] = request_with_challenge(exercise.request, challenge)
            check.metadata[GRADING_KEY] = tag
    # Course cells no judge needs (training, demonstrations), left as the course
    # wrote them, are not run; the exercise and check cells always are.
    protected = {index for where in located.values()
                 for index in (where.exercise_cell, where.check_cell)
                 if index is not None}
    leave_out(notebook, course.skippable, protected)
    return Plan(course=course, notebook=notebook, located=located)

