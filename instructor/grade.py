"""Grade a folder of student submissions: per student and per exercise, what passed.

Usage::

    python -m instructor.grade SUBMISSIONS... --out report.csv [--workers N]
        [--cell-timeout S] [--timeout S] [--memory-mb M] [--course DIR]

SUBMISSIONS are ``.ipynb`` files or folders searched for them. Each submission is
recognised as one of the course's notebooks, run top to bottom in a fresh kernel in a
temporary folder (the submission itself is only read), with the course's own check
after each exercise, within a time limit per cell, a time limit per notebook and a
memory cap. The report has one row per submission and exercise, with a status:
passed, failed, error, not attempted or missing (or invalid / unrecognised for a whole
submission). Exit code 0 once grading is done, whatever the scores; 2 for misuse.

Submissions are untrusted code, run with the grader's rights: in a hostile setting, run
the grader in a container (see the README's instructor guide).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from instructor.grading import skip_slow_imports
from instructor.grading.course import CourseError, InvalidNotebook

REQUIRED = ("nbformat", "nbclient", "psutil")
SKIPPED_FOLDERS = {".ipynb_checkpoints", "__pycache__", ".git"}


class UsageError(Exception):
    """The grader was called wrongly: nothing to grade, or nowhere to write."""


def default_course() -> Path:
    """The repository's ``notebooks/``: beside the package, else in the current folder.

    The second case is an installed package run from a clone (as in a container
    built by repo2docker, whose working folder is the repository).
    """
    beside = Path(__file__).resolve().parent.parent / "notebooks"
    return beside if beside.is_dir() else Path("notebooks")


def notebooks_in(folder: Path) -> list[Path]:
    """The ``.ipynb`` files under a folder, skipping checkpoints and hidden folders."""
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        parts = path.relative_to(folder).parts
        if any(part in SKIPPED_FOLDERS or part.startswith(".") for part in parts):
            continue
        if path.is_file():
            found.append(path)
    return found


def find_submissions(arguments: list[str]) -> list[tuple[str, Path]]:
    """The submissions named on the command line, as (report name, path) pairs.

    Args:
        arguments: files and folders as typed.

    Returns:
        Pairs in order, without duplicates; a folder's notebooks are named by their
        path inside the folder.

    Raises:
        UsageError: a path does not exist, or no notebook was found.
    """
    found: dict[Path, str] = {}
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            for notebook in notebooks_in(path):
                found.setdefault(notebook.resolve(), str(notebook.relative_to(path)))
        elif path.is_file():
            found.setdefault(path.resolve(), argument)
        else:
            raise UsageError(f"{argument}: no such file or folder")
    if not found:
        raise UsageError(f"no .ipynb submission found in {' '.join(arguments)}")
    names = list(found.values())
    return [
        (name if names.count(name) == 1 else str(path), path)
        for path, name in found.items()
    ]


def check_writable(path: Path) -> None:
    """Fail early, before grading, when the report cannot be written.

    Raises:
        UsageError: the folder is missing, or the file cannot be opened for writing.
    """
    if path.is_dir():
        raise UsageError(f"--out {path} is a folder; give a file such as report.csv")
    existed = path.exists()
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as error:
        message = f"cannot write the report to {path}: {error.strerror}"
        raise UsageError(message) from None
    if not existed:
        path.unlink()


def check_dependencies() -> None:
    """Raise ``UsageError`` naming the instructor packages that are not installed."""
    import importlib.util

    missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(
            f"the grader needs {', '.join(missing)}: "
            "pip install 'course-utils[instructor]' psutil"
        )


def grade_one(name: str, path: Path, course, limits, stop) -> list:
    """Grade one submission; whatever it holds, return its report rows.

    Args:
        name: the submission's name in the report.
        path: its file (only read).
        course: the course notebooks.
        limits: the ``runner.Limits``.
        stop: a ``threading.Event`` that cancels the run when set.

    Returns:
        One ``Row`` per exercise, or a single row for an invalid or unrecognised file.
    """
    from instructor.grading import match, runner, verdict
    from instructor.grading.course import read_notebook
    from instructor.grading.report import Row

    try:
        cells = read_notebook(path).cells
    except InvalidNotebook as error:
        return [Row(name, "", "", verdict.INVALID, str(error))]
    notebook = match.recognise(cells, path.name, course)
    if notebook is None:
        names = ", ".join(c.name for c in course)
        message = f"not a notebook of this course (expected one of: {names})"
        return [Row(name, "", "", verdict.UNRECOGNISED, message)]
    plan = match.prepare(cells, notebook)
    outcome = runner.run_submission(plan.notebook, limits, stop)
    rows = []
    for exercise in notebook.exercises:
        where = plan.located[exercise.number]
        result = verdict.judge(exercise, where, outcome, limits)
        rows.append(
            Row(name, notebook.name, exercise.label, result.status, result.message)
        )
    return rows


def safe_grade(name: str, path: Path, course, limits, stop) -> list:
    """``grade_one``, turning a failure of the grader itself into an error row."""
    from instructor.grading.report import Row
    from instructor.grading.verdict import ERROR

    try:
        return grade_one(name, path, course, limits, stop)
    except Exception as error:  # one bad submission must not stop the others
        message = f"the grader failed on this submission: {type(error).__name__}: "
        return [Row(name, "", "", ERROR, message + str(error)[:300])]


def progress_line(done: int, total: int, name: str, rows: list, seconds: float) -> str:
    """One line of progress: which submission, which notebook, how many passed."""
    if len(rows) == 1 and not rows[0].exercise:
        what = rows[0].status
    else:
        passed = sum(row.status == "passed" for row in rows)
        what = f"{rows[0].notebook}, {passed}/{len(rows)} passed"
    return f"[{done}/{total}] {name}: {what} ({seconds:.0f} s)"


def grade_all(submissions, course, limits, workers: int, log) -> list:
    """Grade submissions in parallel; rows come back in submission order.

    Args:
        submissions: (name, path) pairs.
        course: the course notebooks.
        limits: the ``runner.Limits``.
        workers: how many submissions run at once.
        log: called with one progress line per graded submission.

    Returns:
        Every ``Row``, grouped by submission, in the order given.
    """
    lock, results, stop = threading.Lock(), {}, threading.Event()

    def task(index: int, name: str, path: Path):
        started = time.monotonic()
        rows = safe_grade(name, path, course, limits, stop)
        with lock:
            results[index] = rows
            log(progress_line(len(results), len(submissions), name, rows,
                              time.monotonic() - started))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(task, index, name, path)
            for index, (name, path) in enumerate(submissions)
        ]
        try:
            for future in as_completed(futures):
                future.result()
        except KeyboardInterrupt:  # stop the running kernels before leaving
            stop.set()
            for future in futures:
                future.cancel()
            raise
    return [row for index in sorted(results) for row in results[index]]


def default_workers(memory_mb: float) -> int:
    """As many workers as cores, but no more than the free memory holds."""
    import psutil

    by_memory = int(psutil.virtual_memory().available / 2**20 // memory_mb)
    return max(1, min(os.cpu_count() or 1, by_memory))


def positive(kind):
    """An argparse type: a number of ``kind`` that must be > 0."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
        return value

    return parse


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line's options."""
    parser = argparse.ArgumentParser(
        prog="python -m instructor.grade",
        description="Grade student submissions of the course's notebooks.",
        epilog="Submissions are untrusted code run with your rights: in a hostile "
        "setting, run the grader in a container (see the README).",
    )
    parser.add_argument("submissions", nargs="+", help=".ipynb files or folders")
    parser.add_argument("--out", required=True, type=Path, help="the CSV report")
    parser.add_argument("--workers", type=positive(int), default=None,
                        help="submissions graded at once (default: cores, memory "
                        "permitting)")
    parser.add_argument("--cell-timeout", type=positive(float), default=120.0,
                        help="seconds per cell before it is interrupted (120)")
    parser.add_argument("--timeout", type=positive(float), default=600.0,
                        help="seconds per notebook before it is stopped (600)")
    parser.add_argument("--memory-mb", type=positive(float), default=2048.0,
                        help="memory cap of a notebook's kernel, in MB (2048)")
    parser.add_argument("--course", type=Path, default=default_course(),
                        help="folder of the course's solution notebooks "
                        "(default: the repository's notebooks/)")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the grader; return 0 once grading is done, 2 for misuse."""
    args = parse_arguments(argv)
    skip_slow_imports()
    from instructor.grading.course import load_course
    from instructor.grading.report import summary, write_csv
    from instructor.grading.runner import Limits

    try:
        check_dependencies()
        submissions = find_submissions(args.submissions)
        check_writable(args.out)
        course = load_course(args.course)
    except (UsageError, CourseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    limits = Limits(args.cell_timeout, args.timeout, args.memory_mb, args.kernel)
    workers = args.workers or default_workers(args.memory_mb)

    def log(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    log(f"grading {len(submissions)} submissions with {workers} workers")
    try:
        rows = grade_all(submissions, course, limits, workers, log)
    except KeyboardInterrupt:
        print("interrupted: no report written", file=sys.stderr)
        return 130
    try:
        write_csv(args.out, rows)
    except OSError as error:
        print(f"error: cannot write {args.out}: {error.strerror}", file=sys.stderr)
        return 2
    print(summary(rows))
    print(f"\nreport: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
