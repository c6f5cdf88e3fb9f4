"""The class report, ``report.html``: what the class got wrong, at a glance.

One self-contained file beside the CSV (no network needed to open it: the style is
inline, each chart an SVG image embedded as a ``data:`` URI), readable on a laptop
and printable (print styles: no colours needed to read a status, details closed):

- the run's facts: the course's commit, the date, the number of submissions, the
  limits, the time grading took, how and where it ran;
- per notebook, a chart of the share of passed / failed / error / not attempted /
  missing for each exercise, with the counts in a table below it;
- per exercise, the named mistakes the checks recognised, most frequent first, with
  their counts and one example message; the failures without a named mistake and the
  errors, grouped by message (numbers folded, so that "got 3" and "got 5" group);
- per student, a row of coloured statuses, each opening to its message;
- the submissions that could not be graded (invalid, unrecognised, not graded);
- with a gradebook (``instructor.grading.gradebook``), each student's points per
  notebook, total and percentage, as ``grades.csv`` has them.

The page is built from a Jinja2 template (``templates/report.html.j2``) with
autoescaping on (security): submission names, messages and flags come from
students, so every one of them is escaped (and every name shown with
``report.visible``: no invisible character makes two names look the same), and the
page's content security policy forbids any script, network access or external
resource, which would keep a mistake in escaping inert too. Charts are matplotlib
figures of the course's own labels and counts only.
"""

from __future__ import annotations

import base64
import io
import re
import textwrap
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from course_utils.contract import (
    ERROR,
    FAILED,
    INVALID,
    MISSING,
    NOT_ATTEMPTED,
    NOT_GRADED,
    PASSED,
    UNRECOGNISED,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "report.html.j2"
# The exercise statuses, in the chart's order, with a colour (colour-blind safe
# pairs, from ColorBrewer) and a symbol that reads without colour (print).
EXERCISE_STATUSES = (PASSED, FAILED, ERROR, NOT_ATTEMPTED, MISSING)
COLOURS = {
    PASSED: "#1a9850", FAILED: "#d73027", ERROR: "#7b3294",
    NOT_ATTEMPTED: "#bababa", MISSING: "#fdae61",
    INVALID: "#4d4d4d", UNRECOGNISED: "#878787", NOT_GRADED: "#e0e0e0",
}
SYMBOLS = {
    PASSED: "✔", FAILED: "✘", ERROR: "!", NOT_ATTEMPTED: "–", MISSING: "∅",
    INVALID: "✘", UNRECOGNISED: "?", NOT_GRADED: "…",
}
TOP_MISTAKES = 10
TOP_GROUPS = 10
NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)*(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Facts:
    """The run, as the report's first section states it.

    Attributes:
        course_commit: the course's git commit ("" when unknown).
        date: when grading ran (ISO 8601, to the second).
        submissions: how many submissions were graded.
        limits: the limits in force, as label -> value.
        seconds: wall-clock time grading took, or None (unknown).
        mode: how units ran ("local pool, 2 workers", "Dask scheduler ...",
            "merged from 30 verdict files").
        sandbox: how kernels were sandboxed.
        notes: anything else the instructor should know (rejected verdict files).
    """

    course_commit: str
    date: str
    submissions: int
    limits: dict[str, str]
    seconds: float | None
    mode: str
    sandbox: str = ""
    notes: tuple[str, ...] = ()

    def with_notes(self, notes) -> Facts:
        """These facts with more notes first (warnings such as look-alike names)."""
        return replace(self, notes=(*notes, *self.notes))


@dataclass
class Group:
    """Rows that share a mistake, or a message once its numbers are folded."""

    key: str
    count: int = 0
    example: str = ""
    submissions: list[str] = field(default_factory=list)


@dataclass
class ExerciseSummary:
    """One exercise across the class."""

    label: str
    counts: dict[str, int]
    total: int
    mistakes: list[Group]
    unnamed: list[Group]
    errors: list[Group]

    def share(self, status: str) -> float:
        """The percentage of submissions with a status."""
        return 100.0 * self.counts.get(status, 0) / self.total if self.total else 0.0

    @property
    def top_mistake(self) -> Group | None:
        """The most frequent named mistake, if any (the first by name on a tie)."""
        return self.mistakes[0] if self.mistakes else None

    @property
    def top_mistakes(self) -> list[Group]:
        """Every named mistake as frequent as the most frequent one (ties)."""
        return [g for g in self.mistakes if g.count == self.mistakes[0].count]


@dataclass
class NotebookSummary:
    """One course notebook across the class: exercises, chart and students."""

    name: str
    exercises: list[ExerciseSummary]
    chart: str
    students: list[tuple[str, list, str]]


def fold(message: str) -> str:
    """A message with its numbers replaced by ``#`` and its blanks collapsed.

    Failures that differ only by the values the student's code returned group
    together ("double(1) should be 2, got 3" and "... got 5").
    """
    return " ".join(NUMBER.sub("#", message).split())


def groups(rows: list, key) -> list[Group]:
    """Rows grouped by ``key(row)``, most frequent first, with one example each."""
    found: dict[str, Group] = {}
    for row in rows:
        group = found.setdefault(key(row), Group(key(row)))
        group.count += 1
        group.example = group.example or row.message
        group.submissions.append(row.submission)
    return sorted(found.values(), key=lambda group: (-group.count, group.key))


def summarise_exercise(label: str, rows: list) -> ExerciseSummary:
    """Counts, named mistakes and grouped messages of one exercise's rows."""
    counts = Counter(row.status for row in rows)
    failed = [row for row in rows if row.status == FAILED]
    named = [row for row in failed if row.mistake]
    unnamed = [row for row in failed if not row.mistake]
    errors = [row for row in rows if row.status == ERROR]
    return ExerciseSummary(
        label=label,
        counts={status: counts.get(status, 0) for status in EXERCISE_STATUSES},
        total=len(rows),
        mistakes=groups(named, lambda row: row.mistake)[:TOP_MISTAKES],
        unnamed=groups(unnamed, lambda row: fold(row.message))[:TOP_GROUPS],
        errors=groups(errors, lambda row: fold(row.message.split("\n")[0]))[
            :TOP_GROUPS
        ],
    )


def chart_svg(exercises: list[ExerciseSummary]) -> str:
    """A stacked horizontal bar per exercise (shares of each status), as a data URI.

    Returns:
        ``data:image/svg+xml;base64,...``: an image, so nothing in it can run.
    """
    import matplotlib
    from matplotlib.figure import Figure

    labels = [textwrap.fill(e.label, 34) for e in exercises]
    height = 0.55 * len(exercises) + 1.3
    settings = {"svg.fonttype": "none", "svg.hashsalt": "course-report",
                "font.size": 9}
    with matplotlib.rc_context(settings):
        figure = Figure(figsize=(7.5, height))
        axes = figure.add_subplot()
        left = [0.0] * len(exercises)
        for status in EXERCISE_STATUSES:
            shares = [e.share(status) for e in exercises]
            bars = axes.barh(labels, shares, left=left, color=COLOURS[status],
                             label=status, edgecolor="white", linewidth=0.5)
            for bar, share in zip(bars, shares, strict=True):
                if share >= 8:
                    dark = status in (PASSED, FAILED, ERROR)
                    axes.text(bar.get_x() + bar.get_width() / 2,
                              bar.get_y() + bar.get_height() / 2, f"{share:.0f}%",
                              ha="center", va="center", fontsize=8,
                              color="white" if dark else "black")
            left = [a + b for a, b in zip(left, shares, strict=True)]
        axes.set_xlim(0, 100)
        axes.invert_yaxis()
        axes.set_xlabel("share of the notebook's submissions (%)")
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(ncols=len(EXERCISE_STATUSES), loc="lower center",
                    bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize=8)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"


def summarise(rows: list) -> tuple[list[NotebookSummary], list]:
    """The report's content: per notebook its summary, then the ungraded rows.

    Args:
        rows: the report's ``Row``s, in report order.

    Returns:
        (notebook summaries sorted by name, whole-file rows in report order).
    """
    by_notebook: dict[str, list] = defaultdict(list)
    ungraded = []
    for row in rows:
        (by_notebook[row.notebook] if row.exercise else ungraded).append(row)
    notebooks = []
    for name in sorted(by_notebook):
        mine = by_notebook[name]
        labels = list(dict.fromkeys(row.exercise for row in mine))
        exercises = [
            summarise_exercise(label, [row for row in mine if row.exercise == label])
            for label in labels
        ]
        cells = {(row.submission, row.exercise): row for row in mine}
        students = []
        for submission in dict.fromkeys(row.submission for row in mine):
            row_flags = next((row.flags for row in mine
                              if row.submission == submission and row.flags), "")
            students.append((submission, [cells.get((submission, label))
                                          for label in labels], row_flags))
        notebooks.append(NotebookSummary(name, exercises, chart_svg(exercises),
                                         students))
    return notebooks, ungraded


def environment():
    """The Jinja2 environment: the course's templates, autoescaping on, strict."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value is escaped unless the template says otherwise
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(rows: list, facts: Facts, gradebook=None) -> str:
    """The report as one HTML page (a str).

    Args:
        rows: the report's ``Row``s.
        facts: the run's facts.
        gradebook: the class's points (``gradebook.Gradebook``), shown as a table
            of totals; None for no totals.
    """
    from instructor.grading.gradebook import points_text
    from instructor.grading.report import printable, visible

    notebooks, ungraded = summarise(rows)
    template = environment().get_template(TEMPLATE)
    return template.render(
        facts=facts,
        notebooks=notebooks,
        ungraded=ungraded,
        statuses=EXERCISE_STATUSES,
        all_statuses=list(COLOURS),
        colours=COLOURS,
        symbols=SYMBOLS,
        css_class=css_class,
        short_name=short_name,
        clean=lambda text: printable(text, keep_newlines=True),
        shown_name=visible,
        gradebook=gradebook,
        points=points_text,
    )


LIMIT_LABELS = {
    "cell_timeout": ("time per cell", "s"),
    "timeout": ("time per notebook", "s"),
    "memory_mb": ("memory cap", "MB"),
    "max_size_mb": ("file size limit", "MB"),
    "kernel": ("kernel", ""),
    "sandbox": ("sandbox", ""),
}


def limits_shown(limits: object) -> dict[str, str]:
    """A unit's limits (``unit.Settings.describe()``) as the report's facts show them.

    Args:
        limits: the record's ``limits`` (from a verdict file: anything at all).

    Returns:
        label -> value in words, for the keys known, each value cut to 100 characters.
    """
    if not isinstance(limits, dict):
        return {}
    shown = {}
    for key, (label, unit) in LIMIT_LABELS.items():
        if key not in limits:
            continue
        value = limits[key]
        if isinstance(value, bool):
            text = "on" if value else "off (--no-sandbox)"
        elif isinstance(value, (int, float)):
            text = f"{value:g} {unit}".strip()
        else:
            text = str(value)[:100]
        shown[label] = text
    return shown


def css_class(status: str) -> str:
    """The CSS class of a status (``not attempted`` becomes ``s-not-attempted``)."""
    return "s-" + re.sub(r"[^a-z]+", "-", status.lower()).strip("-")


def short_name(exercise: str) -> str:
    """``Exercise 2: returns`` becomes ``Ex 2`` (a column header)."""
    return exercise.split(":", 1)[0].replace("Exercise ", "Ex ")


def write_html(path: Path, rows: list, facts: Facts, gradebook=None) -> None:
    """Write ``report.html`` (UTF-8), with the gradebook's totals when given."""
    page = render(rows, facts) if gradebook is None else render(rows, facts, gradebook)
    path.write_text(page, encoding="utf-8")


def try_write_html(path: Path, rows: list, facts: Facts, gradebook=None) -> str:
    """``write_html``, never failing: "" when written, else what went wrong.

    The CSV and the printed summary are the grading's record; the HTML page is a
    view of them, so a failure to draw it must not cost the instructor the summary
    of a long run.
    """
    try:
        write_html(path, rows, facts, gradebook)
    except Exception as error:  # noqa: BLE001 (reported, the run goes on)
        return (f"{path} not written ({type(error).__name__}: "
                f"{str(error)[:200]}); the CSV is complete")
    return ""


def html_path(csv_path: Path) -> Path:
    """Where the HTML report goes: beside the CSV, same stem, ``.html``."""
    html = csv_path.with_suffix(".html")
    if html == csv_path:  # --out report.html: do not write over the CSV
        html = csv_path.with_name(csv_path.stem + "-class.html")
    return html
