"""Grade a folder of student submissions: per student and per exercise, what passed.

Usage::

    python -m instructor.grade SUBMISSIONS... --out report.csv [--workers N]
        [--cell-timeout S] [--timeout S] [--memory-mb M] [--course DIR] [--no-sandbox]
        [--scheduler ADDRESS] [--verdicts DIR [--key-file KEY]] [--quiet]

SUBMISSIONS are files or folders searched for them: every file gets a row (a notebook,
a jupytext ``.py``, each notebook inside a ``.zip``; anything else ``invalid``, saying
what to hand in instead). Each submission is
recognised as one of the course's notebooks, run top to bottom in a fresh kernel in a
temporary folder (the submission itself is only read), with the course's own check
after each exercise, within a time limit per cell, a time limit per notebook and a
memory cap. The report has one row per submission and exercise, with a status:
passed, failed, error, not attempted or missing (or invalid / unrecognised for a whole
submission), and the mistake the check recognised when it names one. Beside the CSV,
``report.html`` shows what the class got wrong (``instructor.grading.html_report``).
Exit code 0 once grading is done, whatever the scores; 2 for misuse.

Each submission is one unit of work (``instructor.grading.unit``): run on a local
pool of ``--workers`` threads by default, or on a Dask cluster (``--scheduler``); the
same unit runs alone as ``python -m instructor.grade_unit`` (a Kubernetes or Slurm
job's task), and ``python -m instructor.merge`` builds the report from the verdict
files. While grading, a progress bar on a terminal (else one line per submission).

Submissions are untrusted code: each kernel runs in a bubblewrap sandbox (no network,
a read-only view of the system and of the course's environment, nothing else of yours
visible, its own processes only), with the memory cap on all its processes together
(``instructor.grading.sandbox``). Without bubblewrap the grader stops (exit 2) unless
``--no-sandbox`` is given.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path

from instructor.grading import skip_slow_imports
from instructor.grading.course import CourseError, InvalidNotebook

# One submission in, one verdict out: the unit of work (re-exported for callers
# of this module's older names).
from instructor.grading.unit import (  # noqa: F401
    Submission,
    grade_one,
    safe_grade,
)

REQUIRED = ("nbformat", "nbclient", "psutil")
DEFAULT_MAX_BYTES = 50 * 2**20  # --max-size-mb's default
SKIPPED_FOLDERS = {".ipynb_checkpoints", "__pycache__", ".git"}


class UsageError(Exception):
    """The grader was called wrongly: nothing to grade, or nowhere to write."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped grading; ``records`` holds each submission's verdict record
    so far (None for those not graded)."""

    def __init__(self, records: list) -> None:
        super().__init__("grading interrupted")
        self.records = records


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
    """The files under a folder, as paths inside it, sorted: each is a hand-in.

    Every file counts, whatever its kind (``reading.KINDS`` says what is graded,
    and why the others are not): nothing handed in vanishes from the report.
    Hidden files and folders, checkpoints and caches are skipped. Links are
    listed, never followed while searching: a link to a folder outside ``folder``
    is listed itself (its report row then says where it leads), one inside is
    skipped (its files are found where they are), so nothing outside the folder is
    searched.
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
        found += [here / name for name in files if not hidden(name)]
    return sorted(found)


def expand(submission: Submission, max_bytes: int) -> list[Submission]:
    """A ``.zip`` hand-in as the notebooks it holds, one submission each
    (``archive.zip/inner.ipynb``); any other hand-in, or an archive that cannot be
    unpacked (its row then says why), as itself."""
    from instructor.grading.reading import kind_of, zip_contents

    if kind_of(submission.relative.name) != "zip":
        return [submission]
    try:
        members = zip_contents(submission.root, submission.relative, max_bytes)
    except InvalidNotebook:
        return [submission]
    return [submission._replace(name=f"{submission.name}/{member}", member=member)
            for member in members]


def find_submissions(arguments: list[str],
                     max_bytes: int = DEFAULT_MAX_BYTES) -> list[Submission]:
    """The submissions named on the command line: one per file handed in, and one
    per notebook inside a ``.zip``.

    Args:
        arguments: files and folders as typed.
        max_bytes: the size limit (a ``.zip`` larger is not opened, and is one
            invalid submission).

    Returns:
        ``Submission``s in order, without duplicates (two paths to one file count
        once); a folder's files are named by their path inside the folder.

    Raises:
        UsageError: a path does not exist, or no file was found.
    """
    found: dict[str, Submission] = {}
    seen: set[str] = set()
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            listed = [(os.path.realpath(path / relative),
                       Submission(str(relative), path, relative))
                      for relative in notebooks_in(path)]
        elif path.is_file() or path.is_symlink():
            listed = [(os.path.realpath(path),
                       Submission(argument, path.parent, Path(path.name)))]
        else:
            raise UsageError(f"{argument}: no such file or folder")
        for real, submission in listed:
            if real in seen:  # two paths to one file count once
                continue
            seen.add(real)
            for each in expand(submission, max_bytes):
                found.setdefault(f"{real}/{each.member}" if each.member else real,
                                 each)
    if not found:
        raise UsageError(f"no .ipynb submission found in {' '.join(arguments)}")
    counts: dict[str, int] = {}
    for submission in found.values():
        counts[submission.name] = counts.get(submission.name, 0) + 1
    return [
        submission if counts[submission.name] == 1
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
        submissions: the ``Submission``s: the kernels must not see them.
        log: prints a line unless ``--quiet`` (the notes about folders left out).

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
    # Printed even with --quiet: what protects the instructor's machine.
    print(found.describe(), file=sys.stderr)
    for note in found.notes:
        log(f"note: {note}")
    return found


def progress_line(done: int, total: int, name: str, rows: list, seconds: float) -> str:
    """One line of progress: which submission, which notebook, how many passed.

    The name is the student's file name: shown ``visible`` (its invisible and
    control characters escaped).
    """
    from instructor.grading.report import printable, visible

    if len(rows) == 1 and not rows[0].exercise:
        what = rows[0].status
    else:
        passed = sum(row.status == "passed" for row in rows)
        what = f"{rows[0].notebook}, {passed}/{len(rows)} passed"
    return printable(f"[{done}/{total}] {visible(name)}: {what} ({seconds:.0f} s)")


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


def grade_all(submissions, course, settings, sandbox, workers: int, progress,
              course_info: dict, keep=None) -> list:
    """Grade submissions on the local pool, each as one unit (``unit.run_unit``).

    Args:
        submissions: ``Submission``s.
        course: the course notebooks.
        settings: the ``unit.Settings`` (limits).
        sandbox: the prepared sandbox, or None (``--no-sandbox``).
        workers: how many submissions run at once.
        progress: the ``progress.Progress`` display.
        course_info: ``{"fingerprint", "commit"}`` recorded in each verdict.
        keep: called with ``(index, record)`` as each submission is graded (to
            keep verdict files), or None.

    Returns:
        One verdict record per submission, in the order given.

    Raises:
        Interrupted: on Ctrl-C, once the running kernels are stopped; its
            ``records`` hold the submissions graded so far, None for the others
            (those cut short included).
    """
    from instructor.grading.unit import record_rows, run_unit

    lock, results, stop = threading.Lock(), {}, threading.Event()

    def task(index: int, submission: Submission):
        progress.started(submission.name)
        record = run_unit(submission, index, course, settings, sandbox, stop,
                          course_info)
        with lock:
            if stop.is_set():  # cut short by Ctrl-C: its verdicts mean nothing
                return
            results[index] = record
            if keep is not None:
                keep(index, record)
            progress.finished(submission.name, progress_line(
                len(results), len(submissions), submission.name,
                record_rows(record), record["run"]["seconds"]))

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
        records = [results.get(index) for index in range(len(submissions))]
    if interrupted:
        raise Interrupted(records)
    return records


def grade_on_scheduler(address: str, submissions, course, settings, workers: int,
                       progress, course_info: dict, keep=None,
                       hidden: tuple[str, ...] = ()) -> list:
    """``grade_all``, with the units run by a Dask cluster (``--scheduler``).

    Raises:
        UsageError: the scheduler cannot be reached, or its workers cannot sandbox.
        Interrupted: on Ctrl-C (see ``grade_all``).
    """
    from instructor.grading import cluster
    from instructor.grading.unit import record_rows

    total = len(submissions)

    def line(done: int, record: dict) -> str:
        if keep is not None:
            keep(record["index"], record)
        return progress_line(done, total, record["submission"], record_rows(record),
                             record["run"]["seconds"])

    try:
        with cluster.client_for(address, workers) as client:
            progress.log(f"grading on {cluster.describe(client)}")
            return cluster.grade_on_cluster(client, submissions, course, settings,
                                            course_info, progress, line, hidden)
    except cluster.ClusterError as error:
        raise UsageError(str(error)) from None
    except KeyboardInterrupt as stop:
        raise Interrupted(getattr(stop, "records", [None] * total)) from None


def report_rows(records: list, submissions) -> list:
    """The report's rows: each record's, or ``not graded`` where there is none."""
    from instructor.grading.unit import record_rows

    return [row for record, submission in zip(records, submissions, strict=True)
            for row in (record_rows(record) if record else not_graded(submission))]


def verdict_keeper(folder: Path | None, key_file: Path | None):
    """The ``keep`` function of ``--verdicts``: writes ``NNNNN.json`` files.

    Raises:
        UsageError: the folder cannot be made, or the key cannot be read.
    """
    if folder is None:
        return None
    from instructor.grading.unit import read_key, sign, write_record

    try:
        folder.mkdir(parents=True, exist_ok=True)
        key = read_key(key_file) if key_file else None
    except (OSError, ValueError) as error:
        raise UsageError(f"--verdicts {folder}: {error}") from None

    def keep(index: int, record: dict) -> None:
        write_record(folder / f"{index:05d}.json", sign(record, key) if key else record)

    return keep


def run_facts(args, settings, info: dict, date, seconds: float, count: int,
              mode: str, sandbox):
    """The HTML report's facts of this run."""
    from instructor.grading.html_report import Facts, limits_shown

    if args.no_sandbox:
        sandboxed = "none (--no-sandbox)"
    elif sandbox is not None:
        sandboxed = sandbox.describe()
    else:
        sandboxed = "bubblewrap, prepared by each Dask worker"
    return Facts(
        course_commit=info["commit"],
        date=date.isoformat(timespec="seconds"),
        submissions=count,
        limits=limits_shown(settings.describe()),
        seconds=seconds,
        mode=mode,
        sandbox=sandboxed,
    )


def points_file(given: Path | None, course_folder: Path) -> Path | None:
    """The points file: ``--points``, else the course's ``course.toml`` (beside its
    notebooks' folder: the repository's root) if there is one, else None (every
    exercise worth 1)."""
    from instructor.grading.gradebook import default_points_file

    if given is not None:
        return given
    default = default_points_file(course_folder)
    return default if default.is_file() else None


def write_gradebook(out: Path, rows: list, course, points: dict,
                    submissions=None) -> tuple:
    """Write ``grades.csv`` beside the report (``gradebook.grades_path``).

    Args:
        out: the report's CSV.
        rows: the report's rows.
        course: the course notebooks.
        points: ``gradebook.load_points``'s result.
        submissions: the ``Submission``s graded, when known: a student is then
            read from each one's path inside its folder, not from its name as typed.

    Returns:
        (the gradebook, or None when grades.csv could not be written; warnings).
    """
    from instructor.grading import gradebook

    students = {
        submission.name: gradebook.student_of(
            "/".join(filter(None, [submission.relative.as_posix(), submission.member])))
        for submission in submissions or ()
    }
    grades = gradebook.build(rows, course, points, students)
    path = gradebook.grades_path(out)
    try:
        gradebook.write_grades(path, grades)
    except OSError as error:
        return None, [f"cannot write {path}: {error.strerror}"]
    return grades, list(grades.warnings)


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
    parser.add_argument("--quiet", action="store_true",
                        help="no progress display (a bar on a terminal, else one "
                        "line per submission)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run the units on the Dask cluster at ADDRESS "
                        "(tcp://host:8786), or 'local' for a LocalCluster of --workers "
                        "processes, instead of the local pool")
    parser.add_argument("--verdicts", type=Path, default=None, metavar="DIR",
                        help="also keep each submission's verdict file in DIR "
                        "(python -m instructor.merge rebuilds the report from them)")
    parser.add_argument("--key-file", type=Path, default=None,
                        help="sign the kept verdict files with this secret key")
    parser.add_argument("--points", type=Path, default=None, metavar="FILE",
                        help="points per exercise for grades.csv, in FILE's [points] "
                        "table (default: course.toml beside the --course folder; "
                        "without one, 1 point per exercise)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the grader; return 0 once grading is done, 2 for misuse."""
    args = parse_arguments(argv)
    skip_slow_imports()
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C must reach grade_all as KeyboardInterrupt (report so far, the rest
        # 'not graded'), whatever handler an imported library (Dask's, for one)
        # left behind.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    from instructor.grading import gradebook
    from instructor.grading.course import load_course
    from instructor.grading.html_report import html_path, try_write_html
    from instructor.grading.progress import Progress
    from instructor.grading.report import flag_lookalikes, printable, summary, write_csv
    from instructor.grading.unit import Settings, course_commit, course_fingerprint
    from instructor.grading.verdict import NOT_GRADED

    def log(line: str) -> None:
        if not args.quiet:
            print(printable(line), file=sys.stderr, flush=True)

    settings = Settings(args.cell_timeout, args.timeout, args.memory_mb, args.kernel,
                        args.max_size_mb, not args.no_sandbox)
    try:
        check_dependencies()
        submissions = find_submissions(args.submissions, settings.max_bytes)
        check_writable(args.out)
        check_writable(html_path(args.out))
        check_writable(gradebook.grades_path(args.out))
        course = load_course(args.course)
        points = gradebook.load_points(points_file(args.points, args.course),
                                       course)
        keep = verdict_keeper(args.verdicts, args.key_file)
        # On a cluster each worker prepares (and checks) its own sandbox.
        sandbox = (None if args.scheduler and not args.no_sandbox
                   else start_sandbox(args, submissions, log))
    except (UsageError, CourseError, gradebook.PointsError) as error:
        print(f"error: {printable(error)}", file=sys.stderr)
        return 2
    workers = args.workers or default_workers(args.memory_mb)
    info = {"fingerprint": course_fingerprint(course),
            "commit": course_commit(args.course)}
    started, date = time.monotonic(), datetime.now().astimezone()
    interrupted = False
    with Progress(len(submissions), quiet=args.quiet) as progress:
        try:
            if args.scheduler:
                mode = f"Dask scheduler {args.scheduler}"
                hidden = tuple(dict.fromkeys(str(path) for path in (
                    args.course.resolve(), args.out.resolve(),
                    *(s.root.resolve() for s in submissions))))
                records = grade_on_scheduler(args.scheduler, submissions, course,
                                             settings, workers, progress, info, keep,
                                             hidden)
            else:
                mode = f"local pool, {workers} worker(s)"
                progress.log(f"grading {len(submissions)} submissions with {workers} "
                             "workers")
                records = grade_all(submissions, course, settings, sandbox, workers,
                                    progress, info, keep)
        except Interrupted as stopped:
            records, interrupted = stopped.records, True
        except UsageError as error:
            print(f"error: {printable(error)}", file=sys.stderr)
            return 2
    rows, name_warnings = flag_lookalikes(report_rows(records, submissions))
    facts = run_facts(args, settings, info, date, time.monotonic() - started,
                      len(submissions), mode, sandbox).with_notes(name_warnings)
    try:
        write_csv(args.out, rows)
    except OSError as error:
        print(f"error: cannot write {printable(args.out)}: {error.strerror}",
              file=sys.stderr)
        return 2
    grades, problems = write_gradebook(args.out, rows, course, points, submissions)
    problem = try_write_html(html_path(args.out), rows, facts, grades)
    print(summary(rows))
    print(f"\nreport: {printable(args.out)}"
          + ("" if problem else f" and {printable(html_path(args.out))}"))
    if grades is not None:
        print(f"grades: {printable(gradebook.grades_path(args.out))}, "
              f"{gradebook.summary_line(grades)}")
    for warning in ([problem] if problem else []) + problems + name_warnings:
        print(f"warning: {printable(warning)}", file=sys.stderr)
    if interrupted:
        left = sum(row.status == NOT_GRADED for row in rows)
        print(f"interrupted: report written, {left} submission(s) marked "
              f"'{NOT_GRADED}'", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
