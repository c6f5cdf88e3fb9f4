"""The gradebook: points per exercise, one row per student, ``grades.csv``.

The points come from the ``[points]`` table of the course's settings file
(``course.toml`` at the repository's root, beside ``notebooks/``, which the
instructor edits): every
exercise is worth ``default`` points (1 when unset), and a notebook, named by its
number (``"01"``) or its file stem (``"01_actor_critic_cartpole"``), can give its
exercises other points, one by one (``"01" = { 5 = 3 }``) or all at once
(``"02" = 0``: notebook 02 counts for nothing, and leaves the gradebook). A key
that names no notebook or exercise of the course is refused, naming those that
exist, so that a typo never silently grades with the default.

A student is the submission's top folder when submissions sit in a folder per
student (``alice/01.ipynb`` and ``alice/02.ipynb`` are one student, ``alice``; a
``.zip`` handed in counts as a folder: ``alice.zip/01.ipynb`` is ``alice``), else
the file's name without its extension (``alice.ipynb`` is ``alice``). Only
``passed`` earns an exercise's points; when a student handed in the same notebook
twice, an exercise passed in either counts once (and a warning says so).

``grades.csv`` has one row per student, in the shape of Canvas's gradebook export
(``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column
per exercise, ``Total`` and ``Percent``), which Moodle's CSV grade import reads too
(map ``SIS Login ID`` to the user field your folder names hold). Every cell goes
through ``report.neutral`` (no formula, no control character) and names through
``report.visible`` (security: the names come from students).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from course_utils.contract import INVALID, NOT_GRADED, PASSED, UNRECOGNISED

SETTINGS_FILE = "course.toml"
# The tables course.toml may hold: [points] here, [repository] for
# instructor.tools.links.
SECTIONS = ("repository", "points")
DEFAULT_POINTS = 1.0
ID_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
TOTAL, PERCENT = "Total", "Percent"
ARCHIVES = (".zip",)
UNGRADED = (INVALID, UNRECOGNISED, NOT_GRADED)


class PointsError(ValueError):
    """The points file cannot be read, or names what the course does not have."""


@dataclass(frozen=True)
class Column:
    """One exercise of the gradebook.

    Attributes:
        notebook: the course notebook's name (its file stem), as report rows say.
        label: the exercise's label, as report rows say (``Exercise 1: ...``).
        header: the CSV's column header (``01 Exercise 1: the agent network``).
        points: what passing it earns.
    """

    notebook: str
    label: str
    header: str
    points: float


@dataclass(frozen=True)
class StudentGrade:
    """One student's line of the gradebook.

    Attributes:
        student: the student's name (folder or file stem), as found.
        submissions: the report names of their submissions.
        earned: points earned per gradebook column, in column order.
        ungraded: their submissions that were not graded (invalid, unrecognised,
            not graded), which earn nothing.
    """

    student: str
    submissions: tuple[str, ...]
    earned: tuple[float, ...]
    ungraded: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        """The points earned in all."""
        return math.fsum(self.earned)


@dataclass(frozen=True)
class Gradebook:
    """The class's points: columns (exercises worth points), one line per student."""

    columns: tuple[Column, ...]
    students: tuple[StudentGrade, ...]
    warnings: tuple[str, ...] = ()

    @property
    def maximum(self) -> float:
        """The most a student can earn."""
        return math.fsum(column.points for column in self.columns)

    def percent(self, grade: StudentGrade) -> float:
        """A student's total as a percentage of the maximum (0 when it is 0)."""
        return 100.0 * grade.total / self.maximum if self.maximum else 0.0

    def notebooks(self) -> list[tuple[str, float]]:
        """Each notebook in the gradebook and its maximum, in course order."""
        found: dict[str, float] = {}
        for column in self.columns:
            found[column.notebook] = found.get(column.notebook, 0.0) + column.points
        return list(found.items())

    def by_notebook(self, grade: StudentGrade) -> list[float]:
        """A student's points per notebook, in the order of ``notebooks``."""
        found: dict[str, float] = {}
        for column, earned in zip(self.columns, grade.earned, strict=True):
            found[column.notebook] = found.get(column.notebook, 0.0) + earned
        return [found[name] for name, _ in self.notebooks()]


def default_points_file(course_folder: Path) -> Path:
    """The course's ``course.toml``: in the folder that holds its notebooks' folder
    (the repository's root for its ``notebooks/``)."""
    return course_folder.resolve().parent / SETTINGS_FILE


def notebook_number(name: str) -> str:
    """``01`` for ``01_actor_critic_cartpole``; the whole name when it has none."""
    head = name.split("_", 1)[0]
    return head if head.isdigit() else name


def a_number(value: object, where: str) -> float:
    """A points value: a finite number >= 0 (not a boolean, not text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PointsError(f"{where}: points must be a number, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise PointsError(f"{where}: points must be a number >= 0, not {value!r}")
    return float(value)


def parse_points(text: str, course, where: str = SETTINGS_FILE) -> dict:
    """Each exercise's points, from the text of a points file.

    Args:
        text: the file's TOML. Its ``[points]`` table holds ``default`` (a number)
            and notebook keys, each a number (every exercise of that notebook) or a
            table of exercise numbers to numbers. No ``[points]`` table: every
            exercise is worth 1.
        course: the course notebooks (``course.load_course``).
        where: the file's name, for messages.

    Returns:
        ``{(notebook name, exercise label): points}`` for every exercise of the
        course, in course order.

    Raises:
        PointsError: the TOML is broken, a value is not a number >= 0, or a key
            names no section, notebook or exercise of the course (the message
            lists those that exist).
    """
    try:
        import tomllib  # Python >= 3.11
    except ImportError:  # pragma: no cover (Python 3.10)
        if text.strip():
            raise PointsError(f"{where}: reading it needs Python >= 3.11 (tomllib)"
                              ) from None
        settings = {}
    else:
        try:
            settings = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise PointsError(f"{where}: not valid TOML ({error})") from None
    unknown = [key for key in settings if key not in SECTIONS]
    if unknown:
        raise PointsError(f"{where}: unknown section(s) {', '.join(map(repr, unknown))}"
                          f" (known: {', '.join(SECTIONS)})")
    table = settings.get("points", {})
    if not isinstance(table, dict):
        raise PointsError(f"{where}: 'points' must be a table ([points])")
    default = a_number(table.get("default", DEFAULT_POINTS), f"{where}: default")
    notebooks = {}
    for notebook in course:
        notebooks[notebook.name] = notebook
        notebooks.setdefault(notebook_number(notebook.name), notebook)
    known = ", ".join(f"{notebook_number(n.name)} ({n.name})" for n in course)
    points = {(n.name, e.label): default for n in course for e in n.exercises}
    seen: dict[str, str] = {}
    for key, value in table.items():
        if key == "default":
            continue
        notebook = notebooks.get(key)
        if notebook is None:
            raise PointsError(f"{where}: [points] names notebook {key!r}, which the "
                              f"course does not have (its notebooks: {known})")
        if notebook.name in seen:
            raise PointsError(f"{where}: [points] names notebook {notebook.name} "
                              f"twice ({seen[notebook.name]!r} and {key!r})")
        seen[notebook.name] = key
        label = f"{where}: [points] {key}"
        if not isinstance(value, dict):
            for exercise in notebook.exercises:
                points[notebook.name, exercise.label] = a_number(value, label)
            continue
        numbers = {exercise.number: exercise for exercise in notebook.exercises}
        for number, exercise_points in value.items():
            exercise = numbers.get(str(number))
            if exercise is None:
                raise PointsError(
                    f"{label}: notebook {notebook.name} has no Exercise {number} "
                    f"(its exercises: {', '.join(numbers)})")
            points[notebook.name, exercise.label] = a_number(
                exercise_points, f"{label}, Exercise {number}")
    return points


def load_points(path: Path | None, course) -> dict:
    """``parse_points`` of a file; every exercise worth 1 when ``path`` is None.

    Raises:
        PointsError: the file cannot be read, or ``parse_points`` refuses it.
    """
    if path is None:
        return parse_points("", course)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise PointsError(f"cannot read the points file {path}: {reason}") from None
    return parse_points(text, course, str(path))


def columns_of(course, points: dict) -> tuple[Column, ...]:
    """The gradebook's columns: every exercise worth more than 0, in course order."""
    return tuple(
        Column(notebook.name, exercise.label,
               f"{notebook_number(notebook.name)} {exercise.label}",
               points[notebook.name, exercise.label])
        for notebook in course for exercise in notebook.exercises
        if points[notebook.name, exercise.label] > 0
    )


def student_of(path: str) -> str:
    """Whose submission a path inside the submissions folder is.

    ``alice/01.ipynb`` (and ``alice/week3/01.ipynb``) is ``alice``; a ``.zip``
    counts as a folder (``alice.zip/01.ipynb`` is ``alice``); a file on its own is
    its name without its extension (``alice.ipynb`` is ``alice``).
    """
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if not parts:
        return path
    top = PurePosixPath(parts[0])
    if len(parts) > 1 and top.suffix.lower() not in ARCHIVES:
        return parts[0]
    return top.stem or parts[0]


def build(rows: list, course, points: dict, students: dict | None = None
          ) -> Gradebook:
    """The gradebook of a report.

    Args:
        rows: the report's ``Row``s.
        course: the course notebooks.
        points: ``parse_points``'s result.
        students: submission name -> student, when the grader knows better than
            the name (a file named on the command line as ``subs/alice.ipynb`` is
            ``alice``); else ``student_of(name)``.

    Returns:
        One line per student, in the order their first submission appears.
    """
    from instructor.grading.report import visible

    students = students or {}
    columns = columns_of(course, points)
    index = {(c.notebook, c.label): i for i, c in enumerate(columns)}
    lines: dict[str, dict] = {}
    copies: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        student = students.get(row.submission) or student_of(row.submission)
        line = lines.setdefault(student, {"submissions": {}, "passed": set(),
                                          "ungraded": {}})
        line["submissions"][row.submission] = None
        if row.status in UNGRADED:
            line["ungraded"][row.submission] = None
        if row.notebook:
            copies.setdefault((student, row.notebook), set()).add(row.submission)
        if row.status == PASSED and (row.notebook, row.exercise) in index:
            line["passed"].add(index[row.notebook, row.exercise])
    grades = tuple(
        StudentGrade(student, tuple(line["submissions"]),
                     tuple(column.points if i in line["passed"] else 0.0
                           for i, column in enumerate(columns)),
                     tuple(line["ungraded"]))
        for student, line in lines.items()
    )
    warnings = tuple(
        f"{visible(student)} handed in {notebook} {len(names)} times "
        f"({', '.join(visible(name) for name in sorted(names))}): an exercise "
        "passed in any of them counts once"
        for (student, notebook), names in copies.items() if len(names) > 1
    )
    return Gradebook(columns, grades, warnings)


def points_text(value: float) -> str:
    """Points as a spreadsheet reads them: ``3``, ``2.5``, ``0.33``."""
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def grades_path(report: Path) -> Path:
    """Where ``grades.csv`` goes: beside the report (``report.csv`` gives
    ``grades.csv``; ``week3.csv`` gives ``week3-grades.csv``)."""
    if report.stem == "report":
        return report.with_name("grades.csv")
    return report.with_name(f"{report.stem}-grades.csv")


def csv_rows(gradebook: Gradebook) -> list[list[str]]:
    """``grades.csv``'s lines (header first), every cell neutral."""
    from instructor.grading.report import neutral, visible

    header = [*ID_COLUMNS, *(c.header for c in gradebook.columns), TOTAL, PERCENT]
    lines = [[neutral(cell) for cell in header]]
    for grade in gradebook.students:
        name = neutral(visible(grade.student))
        lines.append([name, "", "", name, "",
                      *(points_text(value) for value in grade.earned),
                      points_text(grade.total), f"{gradebook.percent(grade):.1f}"])
    return lines


def write_grades(path: Path, gradebook: Gradebook) -> None:
    """Write ``grades.csv`` (UTF-8, comma-separated, one row per student)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(csv_rows(gradebook))


def summary_line(gradebook: Gradebook) -> str:
    """One line for the console: students, maximum, mean total."""
    count = len(gradebook.students)
    mean = (math.fsum(g.total for g in gradebook.students) / count) if count else 0.0
    return (f"{count} student(s), out of {points_text(gradebook.maximum)} points: "
            f"mean {mean:.1f}")
