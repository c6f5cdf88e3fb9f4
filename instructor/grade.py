"""Grade a folder of student submissions: per student and per exercise, what passed.

Usage::

    python -m instructor.grade SUBMISSIONS... --out report.csv [--workers N]
        [--cell-timeout S] [--timeout S] [--memory-mb M] [--course DIR] [--no-sandbox]

SUBMISSIONS are ``.ipynb`` files or folders searched for them. Each submission is
recognised as one of the course's notebooks, run top to bottom in a fresh kernel in a
temporary folder (the submission itself is only read), with the course's own check
after each exercise, within a time limit per cell, a time limit per notebook and a
memory cap. The report has one row per submission and exercise, with a status:
passed, failed, error, not attempted or missing (or invalid / unrecognised for a whole
submission). Exit code 0 once grading is done, whatever the scores; 2 for misuse.

Submissions are untrusted code: each kernel runs in a bubblewrap sandbox (no network,
a read-only view of the system and of the course's environment, nothing else of yours
visible, its own processes only), with the memory cap on all its processes together
(``instructor.grading.sandbox``). Without bubblewrap the grader stops (exit 2) unless
``--no-sandbox`` is given.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import NamedTuple

from instructor.grading import skip_slow_imports
from instructor.grading.course import CourseError, InvalidNotebook

REQUIRED = ("nbformat", "nbclient", "psutil")
SKIPPED_FOLDERS = {".ipynb_checkpoints", "__pycache__", ".git"}


class UsageError(Exception):
    """The grader was called wrongly: nothing to grade, or nowhere to write."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped grading; ``rows`` is the report so far, the rest not graded."""

    def __init__(self, rows: list) -> None:
        super().__init__("grading interrupted")
        self.rows = rows


class Submission(NamedTuple):
    """A submission to grade: its name in the report, and where it is.

    Attributes:
        name: how the report names it (its path inside the folder given, or the
            file as typed).
        root: the submissions folder it was found in (the file's own folder when
            the file was named directly): no link is followed out of it.
        relative: its path inside ``root``.
    """

    name: str
    root: Path
    relative: Path

    @property
    def path(self) -> Path:
        """``root / relative``, as found (links not resolved)."""
        return self.root / self.relative


def default_course() -> Path:
    """The repository's ``notebooks/``: beside the package, else in the current folder.

    The second case is an installed package run from a clone (as in a container
    built by repo2docker, whose working folder is the repository).
    """
    beside = Path(__file__).resolve().parent.parent / "notebooks"
    return beside if beside.is_dir() else Path("notebooks")


def hidden(name: str) -> bool:
    """Whether a file or folder is skipped: hidden, checkpoints, caches."""
    return name in SKIPPED_FOLDERS or name.startswith(".")


def notebooks_in(folder: Path) -> list[Path]:
    """The ``.ipynb`` files under a folder, as paths inside it, sorted.

    Hidden folders and checkpoints are skipped. Links are listed, never followed
    while searching: a link to a folder outside ``folder`` is listed itself (its
    report row then says where it leads), one inside is skipped (its files are
    found where they are), so nothing outside the folder is searched.
    """
    found = []
    real_root = os.path.realpath(folder)
    for current, folders, files in os.walk(folder):  # does not follow links
        here = Path(current).relative_to(folder)
        kept = []
        for name in folders:
            if hidden(name):
                continue
            if os.path.islink(os.path.join(current, name)):
                target = os.path.realpath(os.path.join(current, name))
                if os.path.commonpath([target, real_root]) != real_root:
                    found.append(here / name)
                continue
            kept.append(name)
        folders[:] = kept
        found += [here / name for name in files
                  if name.endswith(".ipynb") and not hidden(name)]
    return sorted(found)


def find_submissions(arguments: list[str]) -> list[Submission]:
    """The submissions named on the command line.

    Args:
        arguments: files and folders as typed.

    Returns:
        ``Submission``s in order, without duplicates (two paths to one file count
        once); a folder's notebooks are named by their path inside the folder.

    Raises:
        UsageError: a path does not exist, or no notebook was found.
    """
    found: dict[str, Submission] = {}
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            for relative in notebooks_in(path):
                submission = Submission(str(relative), path, relative)
                found.setdefault(os.path.realpath(path / relative), submission)
        elif path.is_file() or path.is_symlink():
            submission = Submission(argument, path.parent, Path(path.name))
            found.setdefault(os.path.realpath(path), submission)
        else:
            raise UsageError(f"{argument}: no such file or folder")
    if not found:
        raise UsageError(f"no .ipynb submission found in {' '.join(arguments)}")
    names = [submission.name for submission in found.values()]
    return [
        submission if names.count(submission.name) == 1
        else submission._replace(name=real)
        for real, submission in found.items()
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


def start_sandbox(args: argparse.Namespace, submissions, log):
    """The sandbox for this run, or None with ``--no-sandbox`` (after a warning).

    Args:
        args: the command line (``kernel``, ``course``, ``out``, ``memory_mb``).
        submissions: (name, path) pairs: the kernels must not see them.
        log: prints one line.

    Raises:
        UsageError: no sandbox can be started here (what is missing, how to fix it).
    """
    from instructor.grading import sandbox

    if args.no_sandbox:
        print(sandbox.NO_SANDBOX_WARNING, file=sys.stderr)
        return None
    here = Path(__file__).resolve().parent
    hidden = [here, args.course.resolve(), args.out.resolve(),
              *(submission.path.resolve() for submission in submissions)]
    try:
        found = sandbox.prepare(args.kernel, hidden, int(args.memory_mb * 2**20))
    except sandbox.SandboxUnavailable as error:
        raise UsageError(f"no sandbox for the submissions: {error}") from None
    log(found.describe())
    for note in found.notes:
        log(f"note: {note}")
    return found


def grade_one(submission: Submission, course, limits, stop, max_bytes: int) -> list:
    """Grade one submission; whatever it holds, return its report rows.

    Args:
        submission: the submission (its file is only read, and only if it is a
            regular file inside its folder, at most ``max_bytes`` long).
        course: the course notebooks.
        limits: the ``runner.Limits``.
        stop: a ``threading.Event`` that cancels the run when set.
        max_bytes: the size limit of a submission's file.

    Returns:
        One ``Row`` per exercise, or a single row for an invalid or unrecognised
        file; every row carries the submission's flags.
    """
    from instructor.grading import match, runner, verdict
    from instructor.grading.flags import notebook_flags
    from instructor.grading.reading import read_submission
    from instructor.grading.report import Row

    name = submission.name
    try:
        cells = read_submission(submission.root, submission.relative, max_bytes).cells
    except InvalidNotebook as error:
        return [Row(name, "", "", verdict.INVALID, str(error))]
    flags = notebook_flags(cells)
    notebook = match.recognise(cells, submission.relative.name, course)
    if notebook is None:
        names = ", ".join(c.name for c in course)
        message = f"not a notebook of this course (expected one of: {names})"
        return [Row(name, "", "", verdict.UNRECOGNISED, message, flags)]
    plan = match.prepare(cells, notebook)
    outcome = runner.run_submission(plan.notebook, limits, stop)
    rows = []
    for exercise in notebook.exercises:
        where = plan.located[exercise.number]
        result = verdict.judge(exercise, where, outcome, limits)
        rows.append(Row(name, notebook.name, exercise.label, result.status,
                        result.message, flags, mistake=result.mistake))
    return rows


def safe_grade(submission: Submission, course, limits, stop, max_bytes: int) -> list:
    """``grade_one``, turning a failure of the grader itself into an error row."""
    from instructor.grading.report import Row
    from instructor.grading.verdict import ERROR

    try:
        return grade_one(submission, course, limits, stop, max_bytes)
    except Exception as error:  # one bad submission must not stop the others
        message = f"the grader failed on this submission: {type(error).__name__}: "
        return [Row(submission.name, "", "", ERROR, message + str(error)[:300])]


def progress_line(done: int, total: int, name: str, rows: list, seconds: float) -> str:
    """One line of progress: which submission, which notebook, how many passed.

    The name is the student's file name: printed without its control characters.
    """
    from instructor.grading.report import printable

    if len(rows) == 1 and not rows[0].exercise:
        what = rows[0].status
    else:
        passed = sum(row.status == "passed" for row in rows)
        what = f"{rows[0].notebook}, {passed}/{len(rows)} passed"
    return printable(f"[{done}/{total}] {name}: {what} ({seconds:.0f} s)")


def not_graded(submission: Submission) -> list:
    """The report row of a submission that grading never finished (Ctrl-C)."""
    from instructor.grading.report import Row
    from instructor.grading.verdict import NOT_GRADED

    message = "grading was interrupted (Ctrl-C) before this submission was graded"
    return [Row(submission.name, "", "", NOT_GRADED, message)]


def shut_down(pool: ThreadPoolExecutor, stop: threading.Event) -> None:
    """Wait for the running submissions (their kernels stop once ``stop`` is set).

    A second Ctrl-C while waiting only sets ``stop`` again: leaving early would
    leave kernels running and write no report.
    """
    while True:
        try:
            pool.shutdown(wait=True, cancel_futures=True)
            return
        except KeyboardInterrupt:
            stop.set()


def grade_all(submissions, course, limits, workers: int, log,
              max_bytes: int = 50 * 2**20) -> list:
    """Grade submissions in parallel; rows come back in submission order.

    Args:
        submissions: ``Submission``s.
        course: the course notebooks.
        limits: the ``runner.Limits``.
        workers: how many submissions run at once.
        log: called with one progress line per graded submission.
        max_bytes: the size limit of a submission's file.

    Returns:
        Every ``Row``, grouped by submission, in the order given.

    Raises:
        Interrupted: on Ctrl-C, once the running kernels are stopped; its ``rows``
            hold the submissions graded so far and a ``not graded`` row for each
            of the others (those cut short included).
    """
    lock, results, stop = threading.Lock(), {}, threading.Event()

    def task(index: int, submission: Submission):
        started = time.monotonic()
        rows = safe_grade(submission, course, limits, stop, max_bytes)
        with lock:
            if stop.is_set():  # cut short by Ctrl-C: its verdicts mean nothing
                return
            results[index] = rows
            log(progress_line(len(results), len(submissions), submission.name,
                              rows, time.monotonic() - started))

    pool = ThreadPoolExecutor(max_workers=workers)
    interrupted = False
    try:
        futures = [pool.submit(task, index, submission)
                   for index, submission in enumerate(submissions)]
        for future in as_completed(futures):
            future.result()
    except KeyboardInterrupt:
        interrupted = True
        stop.set()  # runner.watch sees it and stops each running kernel
    finally:
        shut_down(pool, stop)
    with lock:
        done = dict(results)
    rows = [row for index, submission in enumerate(submissions)
            for row in done.get(index) or not_graded(submission)]
    if interrupted:
        raise Interrupted(rows)
    return rows


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
        epilog="Each submission's kernel runs in a bubblewrap sandbox; without "
        "bubblewrap the grader stops unless --no-sandbox is given (see the README).",
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
    parser.add_argument("--max-size-mb", type=positive(float), default=50.0,
                        help="a submission's file larger than this is invalid, "
                        "not read (50)")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run kernels without the sandbox, with your rights "
                        "(only for submissions you trust)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the grader; return 0 once grading is done, 2 for misuse."""
    args = parse_arguments(argv)
    skip_slow_imports()
    from instructor.grading.course import load_course
    from instructor.grading.report import printable, summary, write_csv
    from instructor.grading.runner import Limits
    from instructor.grading.verdict import NOT_GRADED

    def log(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    try:
        check_dependencies()
        submissions = find_submissions(args.submissions)
        check_writable(args.out)
        course = load_course(args.course)
        sandbox = start_sandbox(args, submissions, log)
    except (UsageError, CourseError) as error:
        print(f"error: {printable(error)}", file=sys.stderr)
        return 2
    limits = Limits(args.cell_timeout, args.timeout, args.memory_mb, args.kernel,
                    sandbox=sandbox)
    workers = args.workers or default_workers(args.memory_mb)

    log(f"grading {len(submissions)} submissions with {workers} workers")
    max_bytes = int(args.max_size_mb * 2**20)
    interrupted = False
    try:
        rows = grade_all(submissions, course, limits, workers, log, max_bytes)
    except Interrupted as stopped:
        rows, interrupted = stopped.rows, True
    try:
        write_csv(args.out, rows)
    except OSError as error:
        print(f"error: cannot write {printable(args.out)}: {error.strerror}",
              file=sys.stderr)
        return 2
    print(summary(rows))
    print(f"\nreport: {printable(args.out)}")
    if interrupted:
        left = sum(row.status == NOT_GRADED for row in rows)
        print(f"interrupted: report written, {left} submission(s) marked "
              f"'{NOT_GRADED}'", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
