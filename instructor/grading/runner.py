"""Run a prepared submission in its own process, within time and memory limits.

Each submission runs in a worker process (``instructor.grading.worker``) started in
its own session, in a fresh temporary folder: the notebook's kernel works in
``work/``, the job and its events file sit in ``job/``. While it runs, the grader
polls the resident memory of the worker's descendants (the kernel and whatever it
started) and the wall-clock time; over either limit, it kills them all. Every process
started for the submission carries a random token in its environment, so that
processes which escaped the tree (double forks, daemons) are found and killed too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.contract import RESULTS_ENV_VAR

TOKEN_VARIABLE = "COURSE_GRADE_TOKEN"
POLL_SECONDS = 0.25
# Quiet, headless kernels; results of students' runs must not land in the
# instructor's results file.
KERNEL_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SDL_VIDEODRIVER": "dummy",
    "MPLBACKEND": "Agg",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "JUPYTER_PLATFORM_DIRS": "1",
}
DROPPED_VARIABLES = (RESULTS_ENV_VAR,)


@dataclass(frozen=True)
class Limits:
    """Limits for one submission.

    Attributes:
        cell_timeout: seconds a cell may run before it is interrupted.
        notebook_timeout: seconds the whole submission may take, kernel start included.
        memory_mb: resident memory cap of the kernel and its children, in MB.
        kernel: the Jupyter kernel's name.
        output_limit: characters of output kept per cell.
    """

    cell_timeout: float = 120.0
    notebook_timeout: float = 600.0
    memory_mb: float = 2048.0
    kernel: str = "python3"
    output_limit: int = 100_000


@dataclass
class Outcome:
    """What happened when a submission ran.

    Attributes:
        results: per cell index, the worker's record of an exercise or check cell.
        end: "finished", "timeout", "memory", "kernel_died", "stuck" (a cell
            ignored the interrupt at the per-cell limit), "crash" or "cancelled".
        last_cell: index of the last cell started, or None.
        detail: a message for "crash".
        peak_mb: the highest memory seen, in MB.
        seconds: wall-clock time.
    """

    results: dict[int, dict] = field(default_factory=dict)
    end: str = "finished"
    last_cell: int | None = None
    detail: str = ""
    peak_mb: float = 0.0
    seconds: float = 0.0


def package_root() -> Path:
    """The folder that holds the ``course_utils`` package."""
    return Path(__file__).resolve().parent.parent.parent


def worker_environment(token: str) -> dict[str, str]:
    """The environment of the worker and its kernel."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_VARIABLES}
    env.update(KERNEL_ENVIRONMENT)
    env[TOKEN_VARIABLE] = token
    paths = [str(package_root()), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    return env


def descendants(pid: int) -> list:
    """The live descendants of a process (psutil objects)."""
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def marked_processes(token: str) -> list:
    """Processes whose environment carries the submission's token."""
    import psutil

    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(TOKEN_VARIABLE) == token:
                found.append(process)
        except psutil.Error:
            continue
    return found


def resident_mb(processes: list) -> float:
    """Total resident memory of some processes, in MB."""
    import psutil

    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


def kill_all(worker: subprocess.Popen, token: str) -> None:
    """Kill the worker, its descendants and every process carrying the token."""
    import psutil

    victims = {p.pid: p for p in descendants(worker.pid) + marked_processes(token)}
    for process in victims.values():
        try:
            process.kill()
        except psutil.Error:
            continue
    if worker.poll() is None:
        worker.kill()
    psutil.wait_procs(list(victims.values()), timeout=5)
    worker.wait()


def watch(worker: subprocess.Popen, limits: Limits, stop) -> tuple[str, float]:
    """Wait for the worker while enforcing the time and memory limits.

    Args:
        worker: the worker process.
        limits: the limits to enforce.
        stop: a ``threading.Event``; once set, the run is cancelled.

    Returns:
        ("exited" | "timeout" | "memory" | "cancelled", peak memory of its
        descendants in MB).
    """
    deadline = time.monotonic() + limits.notebook_timeout
    peak = 0.0
    while worker.poll() is None:
        if stop.is_set():
            return "cancelled", peak
        if time.monotonic() > deadline:
            return "timeout", peak
        used = resident_mb(descendants(worker.pid))
        peak = max(peak, used)
        if used > limits.memory_mb:
            return "memory", peak
        time.sleep(POLL_SECONDS)
    return "exited", peak


def read_events(path: Path) -> list[dict]:
    """The worker's events, skipping a last line cut short by a kill."""
    events = []
    if not path.exists():
        return events
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def outcome_from(events: list[dict], ended: str, peak: float) -> Outcome:
    """Summarise the worker's events and how the run ended."""
    outcome = Outcome(peak_mb=round(peak, 1))
    for event in events:
        kind = event.get("event")
        if kind == "start":
            outcome.last_cell = event["cell"]
        elif kind == "done":
            outcome.results[event["cell"]] = event
        elif kind in ("kernel_died", "stuck"):
            outcome.end = kind
        elif kind == "crash":
            outcome.end, outcome.detail = "crash", event.get("message", "")
    if ended in ("timeout", "memory", "cancelled"):
        outcome.end = ended
    elif outcome.end == "finished" and not any(
        e.get("event") == "finished" for e in events
    ):
        outcome.end = "kernel_died" if outcome.last_cell is not None else "crash"
        outcome.detail = outcome.detail or "the grader's worker process stopped early"
    return outcome


def write_job(folder: Path, notebook, limits: Limits) -> Path:
    """Write the notebook and the job description; return the job file."""
    import nbformat

    job_dir, work_dir = folder / "job", folder / "work"
    job_dir.mkdir()
    work_dir.mkdir()
    nbformat.write(notebook, job_dir / "submission.ipynb")
    job = {
        "notebook": str(job_dir / "submission.ipynb"),
        "workdir": str(work_dir),
        "events": str(job_dir / "events.jsonl"),
        "cell_timeout": limits.cell_timeout,
        "kernel": limits.kernel,
        "output_limit": limits.output_limit,
    }
    path = job_dir / "job.json"
    path.write_text(json.dumps(job), encoding="utf-8")
    return path


def run_submission(notebook, limits: Limits, stop) -> Outcome:
    """Execute a prepared notebook in a fresh kernel, in a temporary folder.

    Args:
        notebook: the prepared notebook (see ``match.prepare``).
        limits: time and memory limits.
        stop: a ``threading.Event`` that cancels the run when set (Ctrl-C).

    Returns:
        The ``Outcome``; the temporary folder and every process are gone.
    """
    started = time.monotonic()
    token = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(
        prefix="course-grade-", ignore_cleanup_errors=True
    ) as tmp:
        job = write_job(Path(tmp), notebook, limits)
        worker = subprocess.Popen(
            [sys.executable, "-m", "instructor.grading.worker", str(job)],
            cwd=Path(tmp) / "work",
            env=worker_environment(token),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            ended, peak = watch(worker, limits, stop)
        finally:
            kill_all(worker, token)
        outcome = outcome_from(read_events(job.parent / "events.jsonl"), ended, peak)
    outcome.seconds = round(time.monotonic() - started, 1)
    return outcome
