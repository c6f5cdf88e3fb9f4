"""The grading report: the CSV, the summary table and the class pass rates."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from instructor.grading.verdict import PASSED

CSV_FIELDS = ("submission", "notebook", "exercise", "status", "message")
NAME_WIDTH = 36


@dataclass(frozen=True)
class Row:
    """One line of the report: a submission's exercise and its status."""

    submission: str
    notebook: str
    exercise: str
    status: str
    message: str = ""


def write_csv(path: Path, rows: list[Row]) -> None:
    """Write the report, one row per submission and exercise."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_FIELDS)
        for row in rows:
            writer.writerow([getattr(row, name) for name in CSV_FIELDS])


def clip(text: str, width: int) -> str:
    """Cut text to a column's width, marking the cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def exercise_columns(rows: list[Row]) -> list[str]:
    """The exercises of one notebook, in report order."""
    return list(dict.fromkeys(row.exercise for row in rows))


def column_header(exercise: str) -> str:
    """A short column header: ``Exercise 2: returns`` becomes ``Ex 2``."""
    label = exercise.split(":", 1)[0]
    return label.replace("Exercise ", "Ex ")


def notebook_table(notebook: str, rows: list[Row]) -> list[str]:
    """The summary lines of one course notebook: a row per submission, pass rates."""
    columns = exercise_columns(rows)
    width = max([13] + [len(column_header(c)) for c in columns])
    status = {(row.submission, row.exercise): row.status for row in rows}
    submissions = list(dict.fromkeys(row.submission for row in rows))
    header = " ".join(column_header(c).ljust(width) for c in columns)
    count = len(submissions)
    lines = [f"{notebook} ({count} submission{'' if count == 1 else 's'})"]
    lines.append(f"{'submission'.ljust(NAME_WIDTH)} {header}")
    for name in submissions:
        cells = " ".join(status.get((name, c), "").ljust(width) for c in columns)
        lines.append(f"{clip(name, NAME_WIDTH).ljust(NAME_WIDTH)} {cells}")
    rates = []
    for column in columns:
        passed = sum(status.get((name, column)) == PASSED for name in submissions)
        rate = f"{passed}/{len(submissions)} {100 * passed / len(submissions):.0f}%"
        rates.append(rate.ljust(width))
    lines.append(f"{'class pass rate'.ljust(NAME_WIDTH)} {' '.join(rates)}")
    return lines


def summary(rows: list[Row]) -> str:
    """The table printed after grading: per notebook, then ungraded submissions."""
    by_notebook: dict[str, list[Row]] = defaultdict(list)
    ungraded = []
    for row in rows:
        if row.exercise:
            by_notebook[row.notebook].append(row)
        else:
            ungraded.append(row)
    blocks = [notebook_table(name, by_notebook[name]) for name in sorted(by_notebook)]
    if ungraded:
        lines = ["Not graded"]
        lines += [f"{clip(r.submission, NAME_WIDTH).ljust(NAME_WIDTH)} {r.status}: "
                  f"{r.message}" for r in ungraded]
        blocks.append(lines)
    return "\n\n".join("\n".join(block) for block in blocks)
