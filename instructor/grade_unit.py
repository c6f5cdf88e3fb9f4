"""Grade ONE submission into one verdict file: the unit of work of a cluster's job.

Usage::

    python -m instructor.grade_unit SUBMISSION --out VERDICT.json [--course DIR]
        [--key-file KEY] [--cell-timeout S] [--timeout S] [--memory-mb M]
        [--max-size-mb M] [--kernel NAME] [--no-sandbox]
    python -m instructor.grade_unit FOLDER --index N --out VERDICT_DIR/ [...]
    python -m instructor.grade_unit FOLDER --count

SUBMISSION is one ``.ipynb`` file; or a FOLDER of submissions with ``--index N``,
which picks the N-th (from 0) of the folder's notebooks in the order
``instructor.grade`` lists them (sorted paths inside the folder, checkpoints and
hidden folders skipped), so that a Kubernetes Indexed Job (``JOB_COMPLETION_INDEX``)
or a Slurm job array (``SLURM_ARRAY_TASK_ID``) grades submission N in task N;
``--count`` prints how many there are (the job's size). When ``--out`` is an existing
folder, the verdict file is ``NNNNN.json`` (the index, five digits) inside it.

The unit runs exactly what ``instructor.grade``'s local pool runs for a submission
(``instructor.grading.unit.run_unit``): the same safe reading, the same bubblewrap
sandbox (which must be available on the node, or ``--no-sandbox``), the same judge.
The verdict file is written atomically, signed with HMAC-SHA256 when ``--key-file``
is given; ``python -m instructor.merge`` checks it and builds the report from a folder
of them. Exit code 0 once the verdict is written (whatever it says), 2 for misuse
(no such submission, index out of range, no sandbox, no course).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from instructor.grade import (
    DEFAULT_MAX_BYTES,
    Submission,
    UsageError,
    default_course,
    find_submissions,
    positive,
)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line's options (the limits as ``instructor.grade`` has them)."""
    from instructor.grading.unit import Settings

    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="python -m instructor.grade_unit",
        description="Grade one submission into one verdict file (a cluster job's "
        "unit of work); python -m instructor.merge builds the report.",
    )
    parser.add_argument("submission", type=Path,
                        help="an .ipynb file, or a folder of them with --index/--count")
    parser.add_argument("--index", type=int, default=None,
                        help="grade the N-th (from 0) submission of the folder")
    parser.add_argument("--count", action="store_true",
                        help="print how many submissions the folder holds, and stop")
    parser.add_argument("--out", type=Path, help="the verdict file, or a folder")
    parser.add_argument("--course", type=Path, default=default_course(),
                        help="folder of the course's solution notebooks")
    parser.add_argument("--key-file", type=Path, default=None,
                        help="sign the verdict with this secret key (HMAC-SHA256)")
    parser.add_argument("--cell-timeout", type=positive(float),
                        default=defaults.cell_timeout)
    parser.add_argument("--timeout", type=positive(float), default=defaults.timeout)
    parser.add_argument("--memory-mb", type=positive(float), default=defaults.memory_mb)
    parser.add_argument("--max-size-mb", type=positive(float),
                        default=defaults.max_size_mb)
    parser.add_argument("--kernel", default=defaults.kernel)
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the kernel with your rights (trusted submissions "
                        "only)")
    return parser.parse_args(argv)


def pick(path: Path, index: int | None,
         max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Submission, int | None]:
    """The submission to grade and its index.

    Raises:
        UsageError: no such file, a folder without ``--index``, an index out of range.
    """
    if path.is_dir() and index is None:
        raise UsageError(f"{path} is a folder: give --index N (or --count)")
    if index is not None and index < 0:
        raise UsageError("--index must be 0 or more")
    found = find_submissions([str(path)], max_bytes)
    if index is None:
        if len(found) > 1:  # a .zip of several notebooks
            raise UsageError(f"{path} holds {len(found)} submissions: give --index N "
                             "(or --count)")
        return found[0], None
    if path.is_dir() or len(found) > 1:
        if not 0 <= index < len(found):
            raise UsageError(f"--index {index} is out of range: {path} holds "
                             f"{len(found)} submissions (0 to {len(found) - 1})")
        return found[index], index
    return found[0], index


def verdict_path(out: Path | None, index: int | None) -> Path:
    """The verdict file: ``--out`` itself, or ``NNNNN.json`` in the folder it names.

    Raises:
        UsageError: no ``--out``, or a folder without an index to name the file.
    """
    if out is None:
        raise UsageError("--out is required")
    if out.is_dir():
        if index is None:
            raise UsageError(f"--out {out} is a folder: give --index, or a file name")
        return out / f"{index:05d}.json"
    return out


def main(argv: list[str] | None = None) -> int:
    """Grade one submission; 0 once its verdict file is written, 2 for misuse."""
    args = parse_arguments(argv)
    from instructor.grading import skip_slow_imports

    skip_slow_imports()
    from instructor.grade import check_dependencies
    from instructor.grading.course import CourseError, load_course
    from instructor.grading.report import printable
    from instructor.grading.unit import (
        Settings,
        course_commit,
        course_fingerprint,
        read_key,
        run_unit,
        sign,
        write_record,
    )

    max_bytes = int(args.max_size_mb * 2**20)  # as Settings.max_bytes
    try:
        if args.count:
            if not args.submission.is_dir():
                raise UsageError("--count needs a folder of submissions")
            print(len(find_submissions([str(args.submission)], max_bytes)))
            return 0
        check_dependencies()
        submission, index = pick(args.submission, args.index, max_bytes)
        out = verdict_path(args.out, index)
        key = read_key(args.key_file) if args.key_file else None
        course = load_course(args.course)
        settings = Settings(args.cell_timeout, args.timeout, args.memory_mb,
                            args.kernel, args.max_size_mb, not args.no_sandbox)
        sandbox = unit_sandbox(args, submission, out)
    except (UsageError, CourseError, ValueError) as error:
        print(f"error: {printable(error)}", file=sys.stderr)
        return 2
    info = {"fingerprint": course_fingerprint(course),
            "commit": course_commit(args.course)}
    record = run_unit(submission, index, course, settings, sandbox, course_info=info)
    write_record(out, sign(record, key) if key else record)
    statuses = ", ".join(row["status"] for row in record["rows"])
    which = f" (index {index})" if index is not None else ""
    print(printable(f"{submission.name}{which}: {statuses} -> {out}"), file=sys.stderr)
    return 0


def unit_sandbox(args: argparse.Namespace, submission: Submission, out: Path):
    """The sandbox of this unit (None with ``--no-sandbox``, after the warning).

    The kernel must not see the grader, the course, the submission's folder, the
    verdict folder or the key.

    Raises:
        UsageError: bubblewrap cannot run here.
    """
    from instructor.grading import sandbox

    if args.no_sandbox:
        print(sandbox.NO_SANDBOX_WARNING, file=sys.stderr)
        return None
    here = Path(__file__).resolve().parent
    hidden = [here, args.course.resolve(), submission.root.resolve(),
              out.resolve().parent]
    if args.key_file:
        hidden.append(args.key_file.resolve())
    try:
        return sandbox.prepare(args.kernel, hidden, int(args.memory_mb * 2**20))
    except sandbox.SandboxUnavailable as error:
        raise UsageError(f"no sandbox for the submission: {error}") from None


if __name__ == "__main__":
    sys.exit(main())
