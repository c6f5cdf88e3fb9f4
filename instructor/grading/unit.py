"""The unit of grading work: one submission in, one verdict record out.

Every way of grading runs the same unit (``run_unit``): the local pool of
``instructor.grade`` (one thread per running submission), a Dask worker
(``instructor.grading.cluster``), and the command ``python -m instructor.grade_unit``
that a Kubernetes Indexed Job or a Slurm job array runs once per submission. Each
reads the submission with the grader's safe reader, runs it in its bubblewrap
sandbox (``runner.run_submission``), judges it in the grader's process and returns a
*verdict record*: plain JSON, the report's rows and the facts of the run::

    {"format": "course-grade-verdict/1", "submission": "alice/01.ipynb", "index": 3,
     "sha256": "<the file's bytes>", "course": {"fingerprint": "...", "commit": "..."},
     "limits": {...}, "run": {"host": ..., "started": ..., "seconds": ...},
     "rows": [{"notebook", "exercise", "status", "mistake", "message", "flags"}, ...],
     "signature": "<HMAC-SHA256, when the instructor gave a key>"}

A record is data from elsewhere (another machine, a shared folder), so it is never
trusted blindly (``rows_of``, security): its shape, sizes and statuses are checked,
its rows must be exactly the exercises of a notebook of *this* course (same
fingerprint), a passed row cannot carry a mistake, and when the instructor gives a key
(``--key-file``) its HMAC must match. A record that fails any test is rejected with
the reason, and its submission reported ``not graded``, never merged as it says.
The key authenticates records written by the instructor's jobs; without one, anyone
who can write to the verdict folder can forge a well-formed record, so that folder
must be writable only by those jobs (README).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import math
import os
import socket
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from course_utils.contract import (
    ERROR,
    INVALID,
    NOT_GRADED,
    PASSED,
    STATUSES,
    UNRECOGNISED,
)

FORMAT = "course-grade-verdict/1"
ROW_FIELDS = ("notebook", "exercise", "status", "mistake", "message", "flags")
# Sizes a genuine record stays far below (a message is cut at 1,000 characters, a
# notebook has a handful of exercises): anything larger is not the grader's.
MAX_RECORD_BYTES = 2 * 2**20
MAX_ROWS = 100
MAX_FIELD = {"notebook": 200, "exercise": 300, "status": 20, "mistake": 200,
             "message": 5000, "flags": 1000}
MAX_NAME = 4096
MAX_DEPTH = 8  # a record's JSON is 4 levels deep (record, rows, row, text)
MAX_DIGITS = 40
SHA256 = frozenset("0123456789abcdef")
WHOLE_FILE_STATUSES = frozenset({INVALID, UNRECOGNISED, ERROR, NOT_GRADED})


class BadVerdict(ValueError):
    """A verdict record that is corrupt, forged, or not for this course."""


class Submission(NamedTuple):
    """A submission to grade: its name in the report, and where it is.

    Attributes:
        name: how the report names it (its path inside the folder given, or the
            file as typed).
        root: the submissions folder it was found in (the file's own folder when
            the file was named directly): no link is followed out of it.
        relative: its path inside ``root``.
        member: for a notebook inside a ``.zip`` (``relative``), its path in the
            archive (the report names it ``archive.zip/member``); else None.
    """

    name: str
    root: Path
    relative: Path
    member: str | None = None

    @property
    def path(self) -> Path:
        """``root / relative``, as found (links not resolved)."""
        return self.root / self.relative

    @property
    def filename(self) -> str:
        """The submitted file's own name (a zip member's, for one in a ``.zip``):
        recognition reads the course's notebook name in it."""
        return Path(self.member).name if self.member else self.relative.name


@dataclass(frozen=True)
class Settings:
    """What a unit needs besides the submission: the limits and how to sandbox.

    Plain values only, so that it travels to a Dask worker or a job's command line.

    Attributes:
        cell_timeout: seconds per cell before it is interrupted.
        timeout: seconds per notebook.
        memory_mb: memory cap of the whole sandbox, in MB.
        kernel: the Jupyter kernel's name.
        max_size_mb: a larger submission file is invalid, not read.
        sandbox: run each kernel in bubblewrap (False: ``--no-sandbox``).
        challenge_key: the secret each exercise's challenge is drawn from, as hex;
            "" (the default) draws a fresh random secret for every unit, so that no
            one can know the cases in advance. Never written into a record.
    """

    cell_timeout: float = 120.0
    timeout: float = 600.0
    memory_mb: float = 2048.0
    kernel: str = "python3"
    max_size_mb: float = 50.0
    sandbox: bool = True
    challenge_key: str = field(default="", repr=False)

    @property
    def max_bytes(self) -> int:
        """The size limit in bytes."""
        return int(self.max_size_mb * 2**20)

    def limits(self, sandbox) -> object:
        """The ``runner.Limits`` of these settings with a prepared sandbox (or None)."""
        from instructor.grading.runner import Limits

        return Limits(self.cell_timeout, self.timeout, self.memory_mb, self.kernel,
                      sandbox=sandbox)

    def describe(self) -> dict:
        """The limits as the report's facts show them (never the challenge key)."""
        facts = asdict(self)
        facts.pop("challenge_key")
        return facts

    def secret(self) -> bytes:
        """The secret of this unit's challenges: the key given, else fresh bytes."""
        import secrets

        if self.challenge_key:
            return bytes.fromhex(self.challenge_key)
        return secrets.token_bytes(32)


def course_fingerprint(course) -> str:
    """A hash of what the grader knows of the course: notebooks, exercises, checks.

    Two runs with the same fingerprint judged with the same exercises and checks
    (the checks' code itself is pinned by the course's commit, recorded beside it).
    """
    described = [
        [notebook.name, notebook.title,
         [[e.number, e.title, list(e.cells), e.check, e.probe,
           list(e.check_target or ()), e.request] for e in notebook.exercises],
         sorted(notebook.skippable)]
        for notebook in course
    ]
    text = json.dumps(described, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def course_commit(folder: Path | None) -> str:
    """The git commit of the course's folder, ``abc1234`` (``+ changes`` if dirty).

    Returns "" when the folder is not in a git work tree or git is missing.
    """
    import subprocess

    if folder is None:
        return ""
    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "--short=12",
                               "HEAD"], capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True,
                               text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    commit = head.stdout.strip()
    return commit + (" + uncommitted changes" if dirty.stdout.strip() else "")


def file_digest(root: Path, relative: Path, max_bytes: int,
                member: str | None = None) -> str | None:
    """SHA-256 of a submission's bytes, read as the grader reads them, or None.

    For a ``.zip`` member, the member's own bytes: the same digest whether the
    unit read the archive (local pool, job array) or got the member's bytes (Dask).
    """
    from instructor.grading.reading import InvalidNotebook, submission_bytes

    try:
        return hashlib.sha256(submission_bytes(root, relative, max_bytes,
                                               member)).hexdigest()
    except InvalidNotebook:
        return None


def grade_one(submission: Submission, course, limits, stop, max_bytes: int,
              secret: bytes | None = None) -> list:
    """Grade one submission; whatever it holds, return its report rows.

    Args:
        submission: the submission (its file is only read, and only if it is a
            regular file inside its folder, at most ``max_bytes`` long).
        course: the course notebooks.
        limits: the ``runner.Limits``.
        stop: a ``threading.Event`` that cancels the run when set.
        max_bytes: the size limit of a submission's file.
        secret: the run's secret, from which each exercise's challenge is drawn
            (``challenge.challenges_for``); a fresh random one when None.

    Returns:
        One ``Row`` per exercise, or a single row for an invalid or unrecognised
        file; every row carries the submission's flags.
    """
    from instructor.grading import match, runner, verdict
    from instructor.grading.challenges import challenges_for
    from instructor.grading.copying import copied_exercises
    from instructor.grading.flags import COPIED, notebook_flags
    from instructor.grading.reading import InvalidNotebook, read_submission
    from instructor.grading.report import Row

    name = submission.name
    try:
        cells = read_submission(submission.root, submission.relative, max_bytes,
                                submission.member).cells
    except InvalidNotebook as error:
        return [Row(name, "", "", verdict.INVALID, str(error))]
    flags = notebook_flags(cells)
    notebook = match.recognise(cells, submission.filename, course)
    if notebook is None:
        names = ", ".join(c.name for c in course)
        message = f"not a notebook of this course (expected one of: {names})"
        return [Row(name, "", "", verdict.UNRECOGNISED, message, flags)]
    challenges = challenges_for(secret, submission.name, notebook)
    plan = match.prepare(cells, notebook, challenges)
    if copied_exercises(cells, plan.located, notebook):
        flags = ";".join(sorted(filter(None, {*flags.split(";"), COPIED})))
    outcome = runner.run_submission(plan.notebook, limits, stop)
    rows = []
    for exercise in notebook.exercises:
        where = plan.located[exercise.number]
        result = verdict.judge(exercise, where, outcome, limits,
                               challenges[exercise.number])
        rows.append(Row(name, notebook.name, exercise.label, result.status,
                        result.message, flags, mistake=result.mistake))
    return rows


def safe_grade(submission: Submission, course, limits, stop, max_bytes: int,
               secret: bytes | None = None) -> list:
    """``grade_one``, turning a failure of the grader itself into an error row."""
    from instructor.grading.report import Row
    from instructor.grading.verdict import ERROR

    try:
        return grade_one(submission, course, limits, stop, max_bytes, secret)
    except Exception as error:  # one bad submission must not stop the others
        message = f"the grader failed on this submission: {type(error).__name__}: "
        return [Row(submission.name, "", "", ERROR, message + str(error)[:300])]


def run_unit(submission, index: int | None, course, settings: Settings, sandbox,
             stop: threading.Event | None = None, course_info: dict | None = None,
             ) -> dict:
    """Grade one submission in its sandbox; return its verdict record.

    Args:
        submission: a ``Submission`` (name, folder, path inside).
        index: its position in the run's sorted list of submissions (orders the
            report), or None.
        course: the course notebooks (``course.load_course``).
        settings: the limits.
        sandbox: the prepared ``sandbox.Sandbox``, or None for ``--no-sandbox``.
        stop: set to cancel the run (Ctrl-C); a fresh event when None.
        course_info: ``{"fingerprint", "commit"}`` (computed when None).

    Returns:
        The record (a JSON-able dict), unsigned.
    """
    started, clock = datetime.now(timezone.utc), time.monotonic()
    rows = safe_grade(submission, course, settings.limits(sandbox),
                      stop or threading.Event(), settings.max_bytes, settings.secret())
    return {
        "format": FORMAT,
        "submission": submission.name,
        "index": index,
        "sha256": file_digest(submission.root, submission.relative,
                              settings.max_bytes, submission.member),
        "course": course_info or {"fingerprint": course_fingerprint(course),
                                  "commit": ""},
        "limits": settings.describe(),
        "run": {"host": socket.gethostname(), "started": started.isoformat(
            timespec="seconds"), "seconds": round(time.monotonic() - clock, 1),
            "sandbox": sandbox.describe() if sandbox is not None else "none"},
        "rows": [{name: getattr(row, name) for name in ROW_FIELDS} for row in rows],
    }


# ------------------------------------------------------------------ signing


def canonical(record: dict) -> bytes:
    """The bytes a signature covers: the record without its signature, sorted."""
    unsigned = {key: value for key, value in record.items() if key != "signature"}
    return json.dumps(unsigned, sort_keys=True, ensure_ascii=True,
                      separators=(",", ":")).encode()


def sign(record: dict, key: bytes) -> dict:
    """The record with its HMAC-SHA256 under the instructor's key."""
    digest = hmac.new(key, canonical(record), hashlib.sha256).hexdigest()
    return {**record, "signature": digest}


def read_key(path: Path) -> bytes:
    """The instructor's key from a file (its bytes, without surrounding blanks).

    Raises:
        ValueError: the file cannot be read, or holds fewer than 16 bytes.
    """
    try:
        key = path.read_bytes().strip()
    except OSError as error:
        raise ValueError(f"cannot read the key file {path}: {error.strerror}") from None
    if len(key) < 16:
        raise ValueError(f"the key file {path} holds fewer than 16 bytes")
    return key


# ------------------------------------------------------------- files on disk


def write_record(path: Path, record: dict) -> None:
    """Write a record atomically (a temporary file renamed), so that a merge never
    reads one half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".verdict-",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(record, out, ensure_ascii=True, indent=1)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def unique_keys(pairs: list) -> dict:
    """A JSON object's pairs as a dict, refusing a key given twice (a forged file
    could hide a second ``status`` from a reader that keeps the first)."""
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise BadVerdict("a JSON object repeats a key")
    return dict(pairs)


def refuse_constant(name: str):
    """JSON's NaN and Infinity: not in a record."""
    raise BadVerdict(f"the JSON holds {name}")


def parse_int(text: str) -> int:
    """A JSON integer, refused beyond a few digits (Python's ``int`` would raise
    ValueError past 4,300 digits, after quadratic work)."""
    if len(text) > MAX_DIGITS:
        raise BadVerdict(f"the JSON holds a number of more than {MAX_DIGITS} digits")
    return int(text)


def parse_float(text: str) -> float:
    """A JSON real number, refused when long or out of range (``1e999999`` is inf)."""
    if len(text) > MAX_DIGITS:
        raise BadVerdict(f"the JSON holds a number of more than {MAX_DIGITS} digits")
    value = float(text)
    if not math.isfinite(value):
        raise BadVerdict("the JSON holds a number out of range")
    return value


def check_plain(record: object) -> None:
    """Refuse JSON nested deeper than a record is, or text that is not Unicode.

    Walks the parsed value without recursion. A record is at most 4 levels deep
    (record, rows, row, text); a string with a lone surrogate (``"\\ud800"``) could
    be neither written to the report nor printed.

    Raises:
        BadVerdict: why.
    """
    stack = [(record, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadVerdict(f"its JSON is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            stack += [(key, depth + 1) for key in value]
            stack += [(item, depth + 1) for item in value.values()]
        elif isinstance(value, list):
            stack += [(item, depth + 1) for item in value]
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise BadVerdict("its JSON holds text that is not Unicode (a lone "
                                 "surrogate)") from None


def load_record(folder: Path, relative: Path) -> dict:
    """Read a verdict file below ``folder`` without trusting it.

    The file is opened without following a link out of the folder (a directory, a
    FIFO or a device is refused without blocking), read up to a size limit, and
    parsed strictly (no repeated key, no NaN or infinite number, no number of more
    than ``MAX_DIGITS`` digits, no nesting deeper than a record's, valid Unicode).
    Whatever the file holds, the only exception is ``BadVerdict``.

    Raises:
        BadVerdict: why it cannot be read.
    """
    from instructor.grading.reading import InvalidNotebook, open_below, read_limited

    try:
        data = read_limited(open_below(folder, relative), MAX_RECORD_BYTES)
    except InvalidNotebook as error:
        if str(error).startswith("larger than"):  # not the submissions' --max-size-mb
            raise BadVerdict(f"larger than a verdict file can be "
                             f"({MAX_RECORD_BYTES // 2**20} MB): not read") from None
        raise BadVerdict(str(error)) from None
    except OSError as error:  # a read error after a successful open
        raise BadVerdict(f"cannot be read ({error.strerror})") from None
    try:
        record = json.loads(data.decode("utf-8"), object_pairs_hook=unique_keys,
                            parse_constant=refuse_constant, parse_int=parse_int,
                            parse_float=parse_float)
    except UnicodeDecodeError as error:
        raise BadVerdict(f"not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise BadVerdict(f"not valid JSON (line {error.lineno}, column "
                         f"{error.colno})") from None
    except RecursionError:
        raise BadVerdict("not valid JSON (nested too deeply)") from None
    except BadVerdict:  # a hook's refusal (a ValueError too), with its reason
        raise
    except (ValueError, TypeError, MemoryError) as error:
        raise BadVerdict(f"not valid JSON ({type(error).__name__})") from None
    if not isinstance(record, dict):
        raise BadVerdict("not a verdict record (the JSON is not an object)")
    check_plain(record)
    return record


# ------------------------------------------------------------- validation


def text_field(value: object, name: str, limit: int) -> str:
    """A record's string field, checked."""
    if not isinstance(value, str):
        raise BadVerdict(f"{name} is not a string")
    if len(value) > limit:
        raise BadVerdict(f"{name} is longer than {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadVerdict(f"{name} is not Unicode text (a lone surrogate)") from None
    return value


def check_facts(record: dict) -> None:
    """Refuse a record whose facts (what the report's first section shows) have the
    wrong types: ``sha256`` a hex digest or null, ``course.commit`` text, ``limits``
    and ``run`` objects of plain values."""
    digest = record.get("sha256")
    if digest is not None and not (isinstance(digest, str) and len(digest) == 64
                                   and set(digest) <= SHA256):
        raise BadVerdict("its sha256 is not a SHA-256 digest")
    text_field(record["course"].get("commit", ""), "the course's commit", 200)
    for part in ("limits", "run"):
        value = record.get(part, {})
        if not isinstance(value, dict):
            raise BadVerdict(f"its {part} is not an object")
        for key, item in value.items():
            text_field(key, f"a key of its {part}", 100)
            if isinstance(item, str):
                text_field(item, f"{part}.{key}", 2000)
            elif item is not None and not isinstance(item, (bool, int, float)):
                raise BadVerdict(f"{part}.{key} is not a plain value")


def check_signature(record: dict, key: bytes | None) -> None:
    """Refuse a record whose HMAC is missing or wrong, when a key is in force."""
    if key is None:
        return
    given = record.get("signature")
    if not isinstance(given, str):
        raise BadVerdict("not signed, and a key is in force (forged?)")
    expected = hmac.new(key, canonical(record), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given, expected):
        raise BadVerdict("its signature does not match its content (forged or "
                         "edited?)")


def check_rows(rows: list[dict], course) -> None:
    """Refuse rows that are not what the grader writes for this course.

    Either one whole-file row (no notebook, no exercise, a whole-file status), or one
    row per exercise of one course notebook, in the course's order.
    """
    if len(rows) == 1 and not rows[0]["notebook"] and not rows[0]["exercise"]:
        if rows[0]["status"] not in WHOLE_FILE_STATUSES:
            raise BadVerdict(f"a whole-file row with status {rows[0]['status']!r}")
        return
    notebooks = {row["notebook"] for row in rows}
    if len(notebooks) != 1:
        raise BadVerdict("its rows name several notebooks, or none")
    name = notebooks.pop()
    known = {notebook.name: notebook for notebook in course}
    if name not in known:
        raise BadVerdict(f"notebook {name!r} is not one of this course's")
    labels = [row["exercise"] for row in rows]
    expected = [exercise.label for exercise in known[name].exercises]
    if labels != expected:
        raise BadVerdict(f"its exercises are not those of {name} in the course's "
                         "order")
    for row in rows:
        if row["status"] == PASSED and row["mistake"]:
            raise BadVerdict("a passed exercise carries a mistake")
        if row["status"] == NOT_GRADED:
            raise BadVerdict("an exercise row marked 'not graded'")


def rows_of(record: dict, course, fingerprint: str, key: bytes | None = None) -> list:
    """The report rows of a verdict record, after checking it (see the module).

    Args:
        record: the parsed record.
        course: the course notebooks.
        fingerprint: ``course_fingerprint(course)``.
        key: the instructor's HMAC key, or None (no signature required).

    Returns:
        ``report.Row``s.

    Raises:
        BadVerdict: with the reason.
    """
    if not isinstance(record, dict):
        raise BadVerdict("not a verdict record (the JSON is not an object)")
    check_plain(record)
    check_signature(record, key)
    if record.get("format") != FORMAT:
        raise BadVerdict(f"not a verdict record of this grader (format {FORMAT})")
    name = text_field(record.get("submission"), "the submission's name", MAX_NAME)
    if not name:
        raise BadVerdict("the submission's name is empty")
    index = record.get("index")
    if index is not None and (type(index) is not int or index < 0):
        raise BadVerdict("its index is not a whole number >= 0")
    course_part = record.get("course")
    if not isinstance(course_part, dict) or course_part.get("fingerprint") != (
        fingerprint
    ):
        raise BadVerdict("graded against another version of the course (its "
                         "fingerprint differs)")
    check_facts(record)
    rows = record.get("rows")
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_ROWS:
        raise BadVerdict(f"rows is not a list of 1 to {MAX_ROWS} rows")
    checked = []
    for row in rows:
        if not isinstance(row, dict) or set(row) != set(ROW_FIELDS):
            raise BadVerdict(f"a row does not have exactly the fields "
                             f"{', '.join(ROW_FIELDS)}")
        checked.append({field: text_field(row[field], field, MAX_FIELD[field])
                        for field in ROW_FIELDS})
        if checked[-1]["status"] not in STATUSES:
            raise BadVerdict(f"unknown status {checked[-1]['status']!r}")
    check_rows(checked, course)
    return record_rows({"submission": name, "rows": checked})


def record_rows(record: dict) -> list:
    """A record's rows as ``report.Row``s, as they are (for records made here, or
    checked by ``rows_of``)."""
    from instructor.grading.report import Row

    name = record["submission"]
    return [Row(name, row["notebook"], row["exercise"], row["status"], row["message"],
                row["flags"], mistake=row["mistake"]) for row in record["rows"]]


def rejected_row(name: str, why: str) -> object:
    """The report row of a submission whose verdict was rejected or never came."""
    from instructor.grading.report import Row

    return Row(name, "", "", NOT_GRADED, why)


# ------------------------------------------------------------- on a Dask worker


@functools.lru_cache(maxsize=4)
def worker_sandbox(kernel: str, memory_mb: float, hidden: tuple[str, ...]):
    """This process's sandbox, prepared once (a Dask worker grades many units).

    Args:
        kernel: the Jupyter kernel's name.
        memory_mb: the memory cap, in MB.
        hidden: paths the kernels must not see (the worker's ``instructor``).

    Raises:
        sandbox.SandboxUnavailable: bubblewrap cannot run on this worker.
    """
    from instructor.grading import sandbox

    return sandbox.prepare(kernel, [Path(path) for path in hidden],
                           int(memory_mb * 2**20))


def run_unit_from_bytes(name: str, filename: str, data: bytes, index: int | None,
                        course, settings: Settings, course_info: dict,
                        hidden: tuple[str, ...] = ()) -> dict:
    """``run_unit`` on a submission sent as bytes (the Dask task).

    The client read the file safely (links, size limit) and sends its bytes; here
    they are written to a private temporary folder under the submission's own file
    name (recognition uses it), graded there, and the folder removed.

    Args:
        name: the submission's name in the report.
        filename: its file name (no folder).
        data: its bytes.
        index: its position in the sorted list.
        course: the course notebooks.
        settings: the limits.
        course_info: ``{"fingerprint", "commit"}`` of the client's course.
        hidden: more paths the kernel must not see (the client's course, report
            and submissions folders, where this machine has them too).

    Returns:
        The verdict record.
    """
    from instructor.grading import skip_slow_imports

    skip_slow_imports()
    here = Path(__file__).resolve().parent.parent
    sandbox = (worker_sandbox(settings.kernel, settings.memory_mb,
                              (str(here), *hidden)) if settings.sandbox else None)
    safe_name = Path(filename).name or "submission.ipynb"
    with tempfile.TemporaryDirectory(prefix="course-unit-") as folder:
        (Path(folder) / safe_name).write_bytes(data)
        submission = Submission(name, Path(folder), Path(safe_name))
        return run_unit(submission, index, course, settings, sandbox,
                        course_info=course_info)
