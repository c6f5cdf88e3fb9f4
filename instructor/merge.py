"""Build the report (CSV + HTML) from a folder of verdict files.

Usage::

    python -m instructor.merge VERDICT_DIR --out report.csv [--course DIR]
        [--submissions DIR] [--key-file KEY] [--quiet]

The verdict files (``*.json`` directly in VERDICT_DIR) are those that
``python -m instructor.grade_unit`` writes, one per submission, for instance from a
Kubernetes Indexed Job or a Slurm job array, or that ``instructor.grade --verdicts``
keeps. Each is checked before it counts (``instructor.grading.unit.rows_of``): its
shape, sizes and statuses, its rows against this course's notebooks and exercises
(the same course fingerprint), its HMAC signature when ``--key-file`` is given (then
unsigned files are refused too). A file that fails is rejected, never merged: its
submission is reported ``not graded`` with the reason, and the reason printed. Any
file at all is a rejection, never a crash: invalid JSON or UTF-8, nesting, numbers out
of range, wrong types, a folder, a FIFO, a link out of the folder, a file that cannot
be read.

With ``--submissions DIR`` (the folder the units graded), the report has exactly one
entry per submission of that folder, in the grader's order: a verdict must name one
of them and match the file's current bytes (SHA-256), and a submission without an
accepted verdict is ``not graded``. Without it, the report lists the verdicts in the
order of their index (their place in the sorted list the units picked from).
``--key-file`` requires ``--submissions``: a signature proves that the instructor's
job wrote a verdict, not that it graded the file as it is now, so only the files'
current bytes can tell a stale (but genuinely signed) verdict from a current one.

Names are shown with ``report.visible`` (invisible characters escaped), and
submissions whose names look alike once those are removed are flagged
(``report.flag_lookalikes``) and warned about.

Writes the CSV and, beside it, ``report.html``; prints the summary. Exit code 0 when
every verdict file was accepted (and, with ``--submissions``, every submission has
one), 1 when some were rejected or missing (the report is written anyway), 2 for
misuse.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from instructor.grade import UsageError, check_writable, default_course

SKIPPED_PREFIXES = (".",)


@dataclass
class Merged:
    """What a folder of verdict files amounts to.

    Attributes:
        rows: the report's rows, in order.
        records: the accepted records, in order.
        problems: one line per rejected file or missing verdict.
        warnings: what else the instructor should know (look-alike names).
    """

    rows: list = field(default_factory=list)
    records: list = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def verdict_files(folder: Path) -> list[Path]:
    """The ``*.json`` files directly in a folder, sorted (hidden ones skipped).

    Whatever each entry is (a folder, a FIFO, a link), it is listed: ``load_record``
    rejects it with the reason.

    Raises:
        UsageError: the folder does not exist or cannot be listed.
    """
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder of verdict files")
    try:
        names = os.listdir(folder)
    except OSError as error:
        raise UsageError(f"{folder}: cannot list the verdict files "
                         f"({error.strerror})") from None
    return sorted(
        Path(name) for name in names
        if name.endswith(".json") and not name.startswith(SKIPPED_PREFIXES)
    )


def checked_record(folder: Path, relative: Path, course, fingerprint: str,
                   key: bytes | None) -> tuple[str, dict | None, list | str]:
    """One verdict file, checked: (the name it claims, the record, its rows), or
    (the name it claims, None, why it was rejected). Never raises, whatever the file
    holds."""
    from instructor.grading.unit import MAX_NAME, BadVerdict, load_record, rows_of

    claimed = ""
    try:
        record = load_record(folder, relative)
        name = record.get("submission")
        claimed = name if isinstance(name, str) and 0 < len(name) <= MAX_NAME else ""
        return claimed, record, rows_of(record, course, fingerprint, key)
    except BadVerdict as error:
        return claimed, None, str(error)
    except Exception as error:  # noqa: BLE001 (a file must not stop the merge)
        return claimed, None, f"could not be checked ({type(error).__name__})"


def order_key(record: dict) -> tuple:
    """Records sort by index (the units' sorted list), then by name."""
    index = record.get("index")
    return (index is None, index if index is not None else 0, record["submission"])


def merge(folder: Path, course, key: bytes | None = None,
          submissions: list | None = None, max_bytes: int = 50 * 2**20) -> Merged:
    """Check every verdict file of a folder and assemble the report's rows.

    Args:
        folder: the verdict folder.
        course: the course notebooks (``course.load_course``).
        key: the HMAC key, or None.
        submissions: the ``unit.Submission``s the units graded, or None.
        max_bytes: the size limit used to hash a submission's file.

    Returns:
        The ``Merged`` result.
    """
    from instructor.grading.report import flag_lookalikes, printable, visible
    from instructor.grading.unit import course_fingerprint, file_digest, rejected_row

    fingerprint = course_fingerprint(course)
    merged = Merged()
    accepted: dict[str, list[tuple[str, dict, list]]] = defaultdict(list)
    rejected: list[tuple[str, str, str]] = []  # (file, claimed name, reason)
    for relative in verdict_files(folder):
        claimed, record, outcome = checked_record(folder, relative, course,
                                                  fingerprint, key)
        if record is None:
            rejected.append((str(relative), claimed, outcome))
        else:
            accepted[record["submission"]].append((str(relative), record, outcome))

    chosen: dict[str, tuple[dict, list]] = {}
    for name, found in accepted.items():
        distinct = {tuple(rows) for _, _, rows in found}
        if len(distinct) == 1:
            chosen[name] = (found[0][1], found[0][2])
        else:
            files = ", ".join(visible(path) for path, _, _ in found)
            for path, _, _ in found:
                rejected.append((path, name, f"several verdict files for this "
                                 f"submission disagree ({files})"))

    for path, claimed, reason in rejected:
        about = f" (for {visible(claimed)})" if claimed else ""
        merged.problems.append(printable(f"{visible(path)}{about}: rejected: "
                                         f"{reason}"))

    if submissions is None:
        ordered = sorted(chosen.values(), key=lambda pair: order_key(pair[0]))
        for record, rows in ordered:
            merged.records.append(record)
            merged.rows += rows
        for path, claimed, reason in rejected:
            name = claimed or f"{path} (verdict file)"
            if claimed in chosen:
                continue  # its submission has an accepted verdict already
            stem = Path(path).stem
            merged.rows.append(rejected_row(
                name, f"its verdict file {visible(path)} was rejected ({reason}): "
                f"{rerun(int(stem) if stem.isdigit() else None)}"))
        merged.rows, merged.warnings = flag_lookalikes(merged.rows)
        return merged

    reasons = {claimed: f"its verdict file {visible(path)} was rejected ({reason})"
               for path, claimed, reason in rejected if claimed}
    expected = {submission.name for submission in submissions}
    for name in sorted(set(chosen) - expected):
        merged.problems.append(printable(
            f"a verdict names {visible(name)}, which is not in the submissions "
            "folder: ignored"))
    for index, submission in enumerate(submissions):
        pair = chosen.get(submission.name)
        why = reasons.get(submission.name, "no verdict file: its unit did not run, "
                          "or failed before writing it")
        if pair is not None:
            record, rows = pair
            digest = file_digest(submission.root, submission.relative, max_bytes,
                                 submission.member)
            if record.get("sha256") == digest:
                merged.records.append(record)
                merged.rows += rows
                continue
            why = ("its verdict is for other content than the file holds now "
                   "(edited after grading?)")
        merged.problems.append(printable(f"{visible(submission.name)} (index "
                                         f"{index}): not graded: {why}"))
        merged.rows.append(rejected_row(submission.name, f"{why}: {rerun(index)}"))
    merged.rows, merged.warnings = flag_lookalikes(merged.rows)
    return merged


def rerun(index: int | None) -> str:
    """How to grade one submission again: its unit, by its index in the sorted list
    (``find_submissions``' order, as ``grade_unit --index`` counts)."""
    if index is None:
        return "re-run its unit"
    return (f"re-run its unit: python -m instructor.grade_unit SUBMISSIONS --index "
            f"{index} --out VERDICTS/")


def distinct(values: list[str]) -> str:
    """Values joined, each once, in order."""
    return ", ".join(dict.fromkeys(value for value in values if value))


def merged_facts(merged: Merged, course_folder: Path, count: int, verdicts: Path):
    """The HTML report's facts for a merge: from the records themselves."""
    from instructor.grading.html_report import Facts, limits_shown
    from instructor.grading.unit import course_commit

    records = merged.records
    commits = distinct([str(r.get("course", {}).get("commit", "")) for r in records])
    here = course_commit(course_folder)
    limits = [limits_shown(r.get("limits")) for r in records]
    unique_limits = [dict(pairs) for pairs in
                     dict.fromkeys(tuple(sorted(item.items())) for item in limits)]
    runs = [r.get("run") if isinstance(r.get("run"), dict) else {} for r in records]
    seconds = sum(float(run.get("seconds", 0) or 0) for run in runs
                  if isinstance(run.get("seconds"), (int, float)))
    hosts = len({str(run.get("host", "")) for run in runs})
    notes = list(merged.warnings[:20]) + list(merged.problems[:50])
    if len(unique_limits) > 1:
        notes.insert(0, f"the verdicts were graded under {len(unique_limits)} "
                     "different sets of limits")
    if commits and here and here not in commits.split(", "):
        notes.insert(0, f"the verdicts name course commit {commits}; the course "
                     f"folder is at {here}")
    return Facts(
        course_commit=commits or here,
        date=datetime.now().astimezone().isoformat(timespec="seconds"),
        submissions=count,
        limits=unique_limits[0] if len(unique_limits) == 1 else {
            "various": "; ".join(str(item) for item in unique_limits[:5])},
        seconds=seconds if records else None,
        mode=f"merged from {len(records)} accepted verdict file(s) in {verdicts}, "
             f"graded on {hosts} host(s); grading time is the sum of the units' "
             "times",
        sandbox=distinct([str(run.get("sandbox", ""))[:300] for run in runs]),
        notes=tuple(notes),
    )


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line's options."""
    parser = argparse.ArgumentParser(
        prog="python -m instructor.merge",
        description="Build the grading report (CSV and HTML) from a folder of "
        "verdict files written by python -m instructor.grade_unit.",
    )
    parser.add_argument("verdicts", type=Path, help="the folder of verdict files")
    parser.add_argument("--out", required=True, type=Path, help="the CSV report")
    parser.add_argument("--course", type=Path, default=default_course(),
                        help="folder of the course's solution notebooks (the verdicts "
                        "must have been graded against it)")
    parser.add_argument("--submissions", type=Path, default=None,
                        help="the folder the units graded: one report entry per "
                        "submission in it, and verdicts must match its files")
    parser.add_argument("--key-file", type=Path, default=None,
                        help="the secret key the units signed with: unsigned or "
                        "wrongly signed verdicts are rejected (needs --submissions)")
    parser.add_argument("--max-size-mb", type=float, default=50.0,
                        help="the units' size limit (to hash the submissions)")
    parser.add_argument("--quiet", action="store_true", help="no summary")
    parser.add_argument("--points", type=Path, default=None, metavar="FILE",
                        help="points per exercise for grades.csv, in FILE's [points] "
                        "table (default: course.toml beside the --course folder; "
                        "without one, 1 point per exercise)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Merge; 0 when every verdict counted, 1 when some did not, 2 for misuse."""
    args = parse_arguments(argv)
    from instructor.grading import skip_slow_imports

    skip_slow_imports()
    from instructor.grade import find_submissions, points_file, write_gradebook
    from instructor.grading.course import CourseError, load_course
    from instructor.grading.gradebook import grades_path, load_points, summary_line
    from instructor.grading.html_report import html_path, try_write_html
    from instructor.grading.report import printable, summary, write_csv
    from instructor.grading.unit import read_key

    try:
        if args.key_file and not args.submissions:
            raise UsageError(
                "--key-file needs --submissions SUBS (the folder the units graded): "
                "a signature proves that your job wrote a verdict, not that the file "
                "is still the one it graded; only the files' current bytes can "
                "refuse a signed verdict of an earlier version")
        course = load_course(args.course)
        points = load_points(points_file(args.points, args.course), course)
        key = read_key(args.key_file) if args.key_file else None
        # Counted as the grader counted them: a .zip's members with the same limit.
        submissions = (find_submissions([str(args.submissions)],
                                        int(args.max_size_mb * 2**20))
                       if args.submissions else None)
        check_writable(args.out)
        check_writable(html_path(args.out))
        check_writable(grades_path(args.out))
        merged = merge(args.verdicts, course, key, submissions,
                       int(args.max_size_mb * 2**20))
    except (UsageError, CourseError, ValueError) as error:
        print(f"error: {printable(error)}", file=sys.stderr)
        return 2
    count = len({row.submission for row in merged.rows})
    try:
        write_csv(args.out, merged.rows)
    except OSError as error:
        print(f"error: cannot write {printable(args.out)}: {error.strerror}",
              file=sys.stderr)
        return 2
    grades, grade_problems = write_gradebook(args.out, merged.rows, course, points,
                                             submissions)
    problem = try_write_html(html_path(args.out), merged.rows,
                             merged_facts(merged, args.course, count, args.verdicts),
                             grades)
    if not args.quiet:
        print(summary(merged.rows))
    print(f"\nreport: {printable(args.out)}"
          + ("" if problem else f" and {printable(html_path(args.out))}"))
    if grades is not None:
        print(f"grades: {printable(grades_path(args.out))}, {summary_line(grades)}")
    if problem:
        print(f"warning: {printable(problem)}", file=sys.stderr)
    for warning in grade_problems:
        print(f"warning: {printable(warning)}", file=sys.stderr)
    for problem in merged.warnings + merged.problems:
        print(f"warning: {printable(problem)}", file=sys.stderr)
    return 1 if merged.problems else 0


if __name__ == "__main__":
    sys.exit(main())
