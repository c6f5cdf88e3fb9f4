"""Run a prepared submission in its own process, within time and memory limits.

Each submission runs in a worker process (``instructor.grading.worker``, trusted, not
sandboxed) started in its own session, in a fresh temporary folder: the job and its
events file sit in ``job/``, the kernel's Unix sockets in ``kernel/``, a tmpfs that the
worker mounts in a mount namespace of its own (as root; else the socket folder lies in
the sandbox's ``socket_base``, a tmpfs). The worker starts the kernel in the
submission's sandbox (``sandbox``): a bubblewrap sandbox in a cgroup of its own, made
here, which the worker joins too, so that its memory and process caps apply to all
their processes together (the kernel's messages the worker holds included). While it
runs, the grader watches the wall-clock time and the cgroup's OOM-kill count (an OOM
kill anywhere in the sandbox stops the submission with the memory verdict); over the
time limit, it kills them all (the cgroup, then the worker and its descendants).
Without a cgroup, it polls the resident memory of the worker and its descendants
instead. Every process started for the submission carries a random token in its
environment, so that processes which escaped the tree are found and killed too
(the only net left with ``--no-sandbox``). The folders are then removed without
recursion (``sandbox.remove_tree``); a failure to remove is reported on stderr and
never changes the outcome.
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
from instructor.grading.sandbox import CGROUP_PREFIX, Cgroup, Sandbox, remove_tree

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
        memory_mb: memory cap of the kernel and every process it starts, in MB.
        kernel: the Jupyter kernel's name.
        output_limit: characters of output kept per cell.
        max_processes: processes and threads the sandbox may hold at once (with a
            cgroup): a fork bomb stops there. TensorFlow alone starts a few threads
            per core.
        sandbox: the sandbox of each kernel; None runs kernels with the grader's
            rights (``--no-sandbox``).
    """

    cell_timeout: float = 120.0
    notebook_timeout: float = 600.0
    memory_mb: float = 2048.0
    kernel: str = "python3"
    output_limit: int = 100_000
    max_processes: int = 1024
    sandbox: Sandbox | None = None


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
        messages: the worker's count of the kernel's messages, in bytes: "iopub"
            (all received), "comm" (widget state and comm messages kept) and
            "dropped" (over the worker's budget); empty if it stopped early.
    """

    results: dict[int, dict] = field(default_factory=dict)
    end: str = "finished"
    last_cell: int | None = None
    detail: str = ""
    peak_mb: float = 0.0
    seconds: float = 0.0
    messages: dict[str, int] = field(default_factory=dict)


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


def worker_and_descendants(pid: int) -> list:
    """A process and its live descendants (psutil objects)."""
    import psutil

    try:
        return [psutil.Process(pid), *descendants(pid)]
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


def kill_all(worker: subprocess.Popen, token: str, cgroup: Cgroup | None) -> None:
    """Kill the sandbox's cgroup, the worker, its descendants and every process
    carrying the token."""
    import psutil

    if cgroup is not None:
        cgroup.kill()
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
    if cgroup is not None:
        cgroup.kill()


def watch(
    worker: subprocess.Popen, limits: Limits, stop, cgroup: Cgroup | None
) -> tuple[str, float]:
    """Wait for the worker while enforcing the time and memory limits.

    Args:
        worker: the worker process.
        limits: the limits to enforce.
        stop: a ``threading.Event``; once set, the run is cancelled.
        cgroup: the sandbox's cgroup, which enforces the memory cap itself; without
            one, the resident memory of the worker and its descendants is polled.

    Returns:
        ("exited" | "timeout" | "memory" | "cancelled", peak memory in MB).
    """
    deadline = time.monotonic() + limits.notebook_timeout
    peak = 0.0
    while worker.poll() is None:
        if stop.is_set():
            return "cancelled", peak
        if time.monotonic() > deadline:
            return "timeout", peak
        if cgroup is not None:
            peak = max(peak, cgroup.peak_mb())
            if cgroup.oom_kills():
                return "memory", peak
        else:
            used = resident_mb(worker_and_descendants(worker.pid))
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
        elif kind == "messages":
            outcome.messages = {key: value for key, value in event.items()
                                if key != "event" and isinstance(value, int)}
    if ended in ("timeout", "memory", "cancelled"):
        outcome.end = ended
    elif outcome.end == "finished" and not any(
        e.get("event") == "finished" for e in events
    ):
        outcome.end = "kernel_died" if outcome.last_cell is not None else "crash"
        outcome.detail = outcome.detail or "the grader's worker process stopped early"
    return outcome


def socket_folder(folder: Path, sandbox: Sandbox) -> Path:
    """Make the submission's socket folder: ``kernel/`` in its folder, on which the
    worker mounts a tmpfs (root), or a new folder in the sandbox's tmpfs base."""
    if sandbox.socket_base is None:
        (folder / "kernel").mkdir()
        return folder / "kernel"
    return Path(os.path.realpath(tempfile.mkdtemp(prefix="course-grade-",
                                                  dir=sandbox.socket_base)))


def sandbox_job(
    socket_dir: Path | None, limits: Limits, token: str, cgroup: Cgroup | None
) -> dict | None:
    """The job's ``sandbox`` entry: how the worker starts the kernel (None: as is).

    The kernel's variables are the runner's quiet, headless settings and the token;
    the sandbox adds HOME, PATH and the few the grader passes on.
    """
    if limits.sandbox is None or socket_dir is None:
        return None
    environment = {**KERNEL_ENVIRONMENT, TOKEN_VARIABLE: token}
    memory_bytes = int(limits.memory_mb * 2**20)
    command = limits.sandbox.launcher(cgroup, memory_bytes)
    command += limits.sandbox.bwrap_command(str(socket_dir), environment)
    owner = list(limits.sandbox.user) if limits.sandbox.user else None
    return {"command": command, "socket_dir": str(socket_dir), "owner": owner}


def write_job(folder: Path, notebook, limits: Limits, sandbox: dict | None) -> Path:
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
        "sandbox": sandbox,
    }
    path = job_dir / "job.json"
    path.write_text(json.dumps(job), encoding="utf-8")
    return path


def make_cgroup(limits: Limits, token: str) -> Cgroup | None:
    """The submission's cgroup, when the sandbox has somewhere to make one."""
    if limits.sandbox is None or limits.sandbox.cgroups is None:
        return None
    return Cgroup(limits.sandbox.cgroups, CGROUP_PREFIX + token,
                  int(limits.memory_mb * 2**20), limits.max_processes)


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
    # Resolved: the socket paths must read the same inside the sandbox.
    folder = Path(os.path.realpath(tempfile.mkdtemp(prefix="course-grade-")))
    socket_dir = None
    try:
        cgroup = make_cgroup(limits, token)
        try:
            if limits.sandbox is not None:
                socket_dir = socket_folder(folder, limits.sandbox)
            sandbox = sandbox_job(socket_dir, limits, token, cgroup)
            job = write_job(folder, notebook, limits, sandbox)
            command = [sys.executable, "-m", "instructor.grading.worker", str(job)]
            if limits.sandbox is not None:
                command = [*limits.sandbox.worker_launcher(cgroup, str(socket_dir)),
                           *command]
            worker = subprocess.Popen(
                command,
                cwd=folder / "work",
                env=worker_environment(token),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                ended, peak = watch(worker, limits, stop, cgroup)
            finally:
                kill_all(worker, token, cgroup)
            if cgroup is not None:
                peak = max(peak, cgroup.peak_mb())
                # An OOM kill anywhere in the sandbox (the kernel, or a child process
                # the kernel outlived) means the submission went over the cap.
                if ended != "cancelled" and cgroup.oom_kills():
                    ended = "memory"
        finally:
            if cgroup is not None:
                cleanly(cgroup.remove, "its cgroup")
        outcome = outcome_from(read_events(job.parent / "events.jsonl"), ended, peak)
    finally:
        # Whatever is left (only the grader's own files, with the sandbox; anything
        # the kernel wrote with --no-sandbox) goes without recursion; a failure here
        # is reported and never replaces the outcome.
        if socket_dir is not None and not socket_dir.is_relative_to(folder):
            cleanly(lambda: remove_tree(socket_dir), str(socket_dir))
        cleanly(lambda: remove_tree(folder), str(folder))
    outcome.seconds = round(time.monotonic() - started, 1)
    return outcome


def cleanly(action, what: str) -> None:
    """Run a clean-up step; report a failure on stderr instead of raising it."""
    try:
        action()
    except Exception as error:  # noqa: BLE001 (a verdict must survive its cleanup)
        print(f"grader: could not remove {what}: {type(error).__name__}: {error}",
              file=sys.stderr)
