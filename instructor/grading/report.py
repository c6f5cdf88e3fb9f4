"""The grading report: the CSV, the summary table and the class pass rates.

Everything in a report may come from a student: a submission's file name, an
exception's name and message raised by its code. So every cell of the CSV and every
line printed goes through ``neutral`` or ``printable`` first (security):

- control characters are removed (C0 and C1 codes, DEL, whole terminal escape
  sequences such as ``ESC [ 2 J`` or an OSC hyperlink, and the Unicode bidi overrides
  that make text read in another order than it is stored); in the CSV a message keeps
  its line breaks, everything else becomes one line;
- a CSV cell that a spreadsheet would read as a formula (first visible character
  ``=``, ``+``, ``-`` or ``@``, or their full-width forms) gets a leading ``'``, as
  OWASP's "CSV injection" advice says: the spreadsheet then shows it as text.

A submission's *name* is how the instructor tells two students apart, so it is shown
by ``visible`` everywhere (CSV, HTML, summary, progress lines, warnings): every
invisible, format or control character is written as its escape (``\\u200b``), so
that ``alice.ipynb`` and ``ali<U+200B>ce.ipynb`` never look the same; and
``lookalikes`` names the submissions whose names are equal once those characters
are removed and NFKC-normalised, which ``flag_lookalikes`` warns about and flags.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from course_utils.contract import PASSED
from instructor.grading.flags import LOOKALIKE

CSV_FIELDS = (
    "submission", "notebook", "exercise", "status", "mistake", "message", "flags"
)
NAME_WIDTH = 36

# Terminal escape sequences, removed whole so that no "[31m" is left behind: CSI
# (ESC [ or the C1 code 0x9b, parameters, one final byte), OSC and the other
# string commands (ESC ] P X ^ _ or their C1 codes, up to BEL or the string
# terminator), then an ESC and the character after it. What is left of a sequence
# cut short is plain text once its control characters are gone.
ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -~]?"
)
BREAKS = re.compile(r"[\t\r\n\x0b\x0c\x85\u2028\u2029]")
CONTROLS = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")

# Characters a name shows as escapes (``visible``): controls, format characters (zero
# width, bidi, soft hyphen...), private use, surrogates, unassigned code points, line
# and paragraph separators, and every space but the plain one...
ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp", "Zs"})
# ... and the other code points that draw nothing: Unicode's default-ignorable ones
# outside those categories (combining grapheme joiner, variation selectors, Hangul
# fillers, Khmer inherent vowels, Mongolian selectors, musical format marks, tags) and
# the blank Braille pattern.
INVISIBLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f"
    "\uffa0\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
# Combining marks in a row a name keeps on one letter (Vietnamese stacks two); more,
# or a mark with no letter to sit on, is shown escaped.
MAX_MARKS = 2
LOOKALIKE_FLAG = LOOKALIKE  # named in flags.py with the other flags


@dataclass(frozen=True)
class Row:
    """One line of the report: a submission's exercise and its status.

    Attributes:
        submission: the submission's name (its path inside the submissions folder).
        notebook: the course notebook it was recognised as ("" when none).
        exercise: the exercise's label ("" for a whole-file row).
        status: one of ``course_utils.contract.STATUSES``.
        message: the explanation (the check's, the error's, the reading error).
        flags: ``;``-joined words for the instructor to look at (see
            ``instructor.grading.flags``); never changes the status.
        mistake: the stable id of the typical mistake the course's check recognised
            (``"returns/no-discount"``), "" when it named none.
    """

    submission: str
    notebook: str
    exercise: str
    status: str
    message: str = ""
    flags: str = ""
    mistake: str = ""


def printable(text: object, keep_newlines: bool = False) -> str:
    """Text without control characters, safe to print or to store.

    Args:
        text: anything (converted with ``str``).
        keep_newlines: keep line breaks as ``\\n`` (other breaks become spaces);
            otherwise every break becomes a space.

    Returns:
        The text with escape sequences and control characters removed, and lone
        surrogates (a file name that is not UTF-8) written as ``\\udcff``.
    """
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    text = ESCAPES.sub("", text)
    if keep_newlines:
        text = text.replace("\r\n", "\n")
        text = BREAKS.sub(lambda found: "\n" if found.group() == "\n" else " ", text)
    else:
        text = BREAKS.sub(" ", text)
    return CONTROLS.sub("", text)


def hidden(char: str) -> bool:
    """Whether a character draws nothing, or something that hides what it is."""
    if char == " ":
        return False
    return unicodedata.category(char) in ESCAPED_CATEGORIES or bool(
        INVISIBLE.match(char))


def escaped(char: str) -> str:
    """A character as Python writes it in a string: ``\\u200b``, ``\\U000e0041``."""
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(name: object) -> str:
    """A submission's name as every output shows it: nothing in it invisible.

    Every character that draws nothing or changes how the rest reads (``hidden``:
    controls, zero-width and bidi characters, soft hyphens, odd spaces, private use,
    surrogates of a name that is not UTF-8, variation selectors...) is written as its
    escape, ``\\u200b``; so is a combining mark with no letter under it, or the
    third in a row on one letter. A backslash is doubled, so that no two names show
    the same. Accented letters (composed or not) and other scripts stay as they are.

    Args:
        name: the name (converted with ``str``).

    Returns:
        One line of printable text.
    """
    shown, marks, base = [], 0, False
    for char in str(name):
        if char == "\\":
            shown.append("\\\\")
            marks, base = 0, True
        elif hidden(char):
            shown.append(escaped(char))
            marks, base = 0, False
        elif unicodedata.category(char).startswith("M"):
            if base and marks < MAX_MARKS:
                shown.append(char)
                marks += 1
            else:
                shown.append(escaped(char))
        else:
            shown.append(char)
            marks, base = 0, not (char.isspace() or char == "/")
    return "".join(shown)


def name_key(name: str) -> str:
    """A name without its hidden characters, NFKC-normalised: what a reader sees."""
    kept = "".join(char for char in name if not hidden(char))
    normal = unicodedata.normalize("NFKC", kept)
    return "".join(char for char in normal if not hidden(char))


def lookalikes(names: list[str]) -> list[list[str]]:
    """The groups of different names that read the same (``name_key``).

    Args:
        names: the submissions' names (repeats are fine).

    Returns:
        Each group of two or more names, in the order first given.
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for name in dict.fromkeys(names):
        groups[name_key(name)].append(name)
    return [group for group in groups.values() if len(group) > 1]


def flag_lookalikes(rows: list[Row]) -> tuple[list[Row], list[str]]:
    """Flag the rows of submissions whose names look alike, and say which.

    Args:
        rows: the report's rows.

    Returns:
        (the rows, those of look-alike names carrying the flag ``look-alike-name``;
        one warning line per group, every name shown ``visible``).
    """
    groups = lookalikes([row.submission for row in rows])
    if not groups:
        return rows, []
    alike = {name for group in groups for name in group}
    flagged = [
        replace(row, flags=";".join(filter(None, [row.flags, LOOKALIKE_FLAG])))
        if row.submission in alike and LOOKALIKE_FLAG not in row.flags.split(";")
        else row
        for row in rows
    ]
    warnings = [
        f"{len(group)} submissions whose names look alike (equal once invisible "
        f"characters are removed): {', '.join(visible(name) for name in group[:20])}"
        + (", ..." if len(group) > 20 else "")
        for group in groups
    ]
    return flagged, warnings


def neutral(text: object, keep_newlines: bool = False) -> str:
    """A CSV cell that no spreadsheet runs: ``printable``, and no formula.

    Args:
        text: the cell's value.
        keep_newlines: keep line breaks (the message column).

    Returns:
        The cleaned text, with a leading ``'`` when it would start a formula.
    """
    cell = printable(text, keep_newlines)
    start = cell.lstrip()[:1]
    return "'" + cell if start and start in FORMULA_START else cell


def write_csv(path: Path, rows: list[Row]) -> None:
    """Write the report, one row per submission and exercise, every cell neutral."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_FIELDS)
        for row in rows:
            writer.writerow(
                [neutral(visible(row.submission)) if name == "submission"
                 else neutral(getattr(row, name), name == "message")
                 for name in CSV_FIELDS]
            )


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


def name_cell(name: str) -> str:
    """A submission's name as the summary shows it: visible, clipped, padded."""
    return clip(visible(name), NAME_WIDTH).ljust(NAME_WIDTH)


def notebook_table(notebook: str, rows: list[Row]) -> list[str]:
    """The summary lines of one course notebook: a row per submission, pass rates.

    A last column lists each submission's flags, when any has some.
    """
    columns = exercise_columns(rows)
    width = max([13] + [len(column_header(c)) for c in columns])
    status = {(row.submission, row.exercise): row.status for row in rows}
    flags = {row.submission: row.flags for row in rows}
    submissions = list(dict.fromkeys(row.submission for row in rows))
    header = " ".join(column_header(c).ljust(width) for c in columns)
    if any(flags.values()):
        header += " flags"
    count = len(submissions)
    lines = [f"{notebook} ({count} submission{'' if count == 1 else 's'})"]
    lines.append(f"{'submission'.ljust(NAME_WIDTH)} {header}")
    for name in submissions:
        cells = " ".join(status.get((name, c), "").ljust(width) for c in columns)
        line = f"{name_cell(name)} {cells}"
        if flags[name]:
            line += " " + printable(flags[name])
        lines.append(line.rstrip())
    rates = []
    for column in columns:
        passed = sum(status.get((name, column)) == PASSED for name in submissions)
        rate = f"{passed}/{len(submissions)} {100 * passed / len(submissions):.0f}%"
        rates.append(rate.ljust(width))
    lines.append(f"{'class pass rate'.ljust(NAME_WIDTH)} {' '.join(rates)}".rstrip())
    return lines


def summary(rows: list[Row]) -> str:
    """The table printed after grading: per notebook, then ungraded submissions.

    Every line is printable (no control character, whatever a name or a message
    holds).
    """
    by_notebook: dict[str, list[Row]] = defaultdict(list)
    ungraded = []
    for row in rows:
        if row.exercise:
            by_notebook[row.notebook].append(row)
        else:
            ungraded.append(row)
    blocks = [
        notebook_table(printable(name), by_notebook[name])
        for name in sorted(by_notebook)
    ]
    if ungraded:
        lines = ["Not graded"]
        for row in ungraded:
            line = f"{name_cell(row.submission)} {row.status}: {printable(row.message)}"
            if row.flags:
                line += f" [flags: {printable(row.flags)}]"
            lines.append(line)
        blocks.append(lines)
    return "\n\n".join("\n".join(block) for block in blocks)
