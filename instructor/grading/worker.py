"""Run one prepared submission in a fresh kernel (the grader's child process).

Usage (by ``runner`` only)::

    python -m instructor.grading.worker JOB.json

The job file names the notebook to run, the kernel's working folder, the per-cell time
limit and the events file. Every code cell runs in order with nbclient, errors or not;
a cell over its time limit is interrupted and the next one runs. The worker appends one
JSON line to the events file as each cell starts, and one with the result of each
exercise or check cell, so that the grader knows how far it got if it has to kill the
worker. What it keeps of the kernel's messages is bounded: outputs up to the output
limit per cell, the first probe payload of each cell, widget state and comm messages
up to ``COMM_BUDGET`` bytes per submission (the rest is dropped, counted in
``client.dropped_bytes``); the worker runs in the submission's cgroup besides.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from course_utils.checks.grading_probe import REQUEST as PROBE_REQUEST
from course_utils.contract import PROBE_MIME, SUCCESS_MARK

GRADING_KEY = "course_grading"
TIMEOUT_NAME = "CellTimeout"
TRUNCATED = "\n[output truncated by the grader]\n"
PROBE_SECONDS = 20.0
# The IPython extension that answers probe requests in the grading kernel.
PROBE_EXTENSION = "course_utils.checks.grading_probe"
# A probe payload longer than this cannot be valid (see course_utils.checks.plain).
PROBE_LIMIT = 4_000_001
# Widget state and comm messages kept per submission (nbclient stores the state of
# every widget for the notebook's metadata); beyond it they are dropped.
COMM_BUDGET = 8 * 2**20


class Events:
    """The events file: one JSON object per line, flushed as written."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def write(self, event: str, **fields) -> None:
        """Append one event."""
        self._file.write(json.dumps({"event": event, **fields}) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def output_size(msg: dict) -> int:
    """Rough size in characters of an output message's payload."""
    content = msg.get("content", {})
    if "text" in content:
        return len(content["text"])
    data = content.get("data", {})
    return sum(len(str(value)) for value in data.values()) + len(
        str(content.get("traceback", ""))
    )


def message_size(msg: dict) -> int:
    """Rough size in bytes of a message's content and buffers (strings and bytes
    counted by length, 8 per other value), without serialising it again."""
    total = sum(len(buffer) for buffer in msg.get("buffers") or ()
                if hasattr(buffer, "__len__"))
    stack = [msg.get("content", {})]
    while stack:
        value = stack.pop()
        if isinstance(value, (str, bytes, bytearray, memoryview)):
            total += len(value)
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        else:
            total += 8
    return total


def success_printed(msg: dict) -> bool:
    """Whether a stdout message holds a line starting with the success mark."""
    content = msg.get("content", {})
    if msg.get("msg_type") != "stream" or content.get("name") != "stdout":
        return False
    text = content.get("text", "")
    return any(line.lstrip().startswith(SUCCESS_MARK) for line in text.splitlines())


def probe_payload(msg: dict) -> str | None:
    """A check probe's JSON from a display message, or None for other outputs."""
    if msg.get("msg_type") not in ("display_data", "update_display_data",
                                   "execute_result"):
        return None
    data = msg.get("content", {}).get("data", {})
    if not isinstance(data, dict) or PROBE_MIME not in data:
        return None
    payload = data[PROBE_MIME]
    return payload if isinstance(payload, str) else ""


def make_client(notebook, job: dict):
    """An nbclient ``NotebookClient`` that caps outputs and notes success lines.

    Args:
        notebook: the prepared notebook.
        job: the job description (``cell_timeout``, ``kernel``, ``workdir``,
            ``output_limit``, and ``sandbox``: how to start the kernel in its
            sandbox, or None).

    Returns:
        The client; ``client.replies`` and ``client.successes`` fill in as cells run.
    """
    from nbclient import NotebookClient

    class CappedClient(NotebookClient):
        """Keeps at most ``output_limit`` characters of output per cell, one probe
        payload per cell and ``COMM_BUDGET`` bytes of widget state and comms."""

        def process_message(self, msg, cell, cell_index):
            self.iopub_bytes += message_size(msg)
            return super().process_message(msg, cell, cell_index)

        def handle_comm_msg(self, outs, msg, cell_index):
            size = message_size(msg)
            if self.comm_bytes + size > COMM_BUDGET:
                self.dropped_bytes += size
                return None
            self.comm_bytes += size
            return super().handle_comm_msg(outs, msg, cell_index)

        def output(self, outs, msg, display_id, cell_index):
            payload = probe_payload(msg)
            if payload is not None:
                # The check's data for the grader's judge: kept apart, whatever the
                # output cap, never shown. A cell may forge more of them: the first
                # is kept, the others counted (the verdict refuses more than one).
                self.probe_counts[cell_index] = self.probe_counts.get(cell_index, 0) + 1
                if cell_index not in self.probes:
                    self.probes[cell_index] = [payload[:PROBE_LIMIT]]
                return None
            if success_printed(msg):
                self.successes.add(cell_index)
            used = self.used.get(cell_index, 0) + output_size(msg)
            self.used[cell_index] = used
            if used > job["output_limit"]:
                if cell_index not in self.truncated:
                    self.truncated.add(cell_index)
                    outs.append({"output_type": "stream", "name": "stderr",
                                 "text": TRUNCATED})
                return None
            return super().output(outs, msg, display_id, cell_index)

    limit = job["cell_timeout"]
    sandboxed = {}
    if job.get("sandbox"):  # the kernel starts in bubblewrap, over Unix sockets
        from instructor.grading.sandbox import kernel_manager_class

        sandboxed["kernel_manager_class"] = kernel_manager_class(job["sandbox"])
    client = CappedClient(
        notebook,
        timeout=limit,
        interrupt_on_timeout=True,
        error_on_timeout={
            "ename": TIMEOUT_NAME,
            "evalue": f"ran over the time limit of {limit:g} s per cell and was "
            "interrupted",
        },
        allow_errors=True,
        kernel_name=job["kernel"],
        startup_timeout=120,
        iopub_timeout=2,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": job["workdir"]}},
        # Loaded before any cell runs: answers the grader's probe requests.
        extra_arguments=[f"--InteractiveShellApp.extensions={PROBE_EXTENSION}"],
        **sandboxed,
    )
    client.used, client.replies, client.probes, client.probe_counts = {}, {}, {}, {}
    client.iopub_bytes = client.comm_bytes = client.dropped_bytes = 0
    client.truncated, client.successes = set(), set()

    def remember(cell, cell_index, execute_reply):
        client.replies[cell_index] = execute_reply.get("content", {})

    client.on_cell_executed = remember
    return client


def cell_result(client, index: int, seconds: float) -> dict:
    """What the grader needs to know about one executed cell."""
    reply = client.replies.get(index, {})
    return {
        "cell": index,
        "status": reply.get("status", "unknown"),
        "ename": str(reply.get("ename", ""))[:200],
        "evalue": str(reply.get("evalue", ""))[:2000],
        "success_line": index in client.successes,
        "probe_count": client.probe_counts.get(index, 0),
        "probe": (client.probes.get(index) or [None])[0],
        "seconds": round(seconds, 2),
    }


def timed_out(client, index: int) -> bool:
    """Whether a cell was interrupted at the per-cell time limit."""
    return client.replies.get(index, {}).get("ename") == TIMEOUT_NAME


def kernel_responds(client, index: int) -> bool:
    """After an interrupt, whether the kernel runs a trivial cell within the limit.

    A kernel still busy (student code that ignores interrupts) would make every
    later cell wait for the time limit in turn. The probe waits at most
    ``PROBE_SECONDS`` (or the per-cell limit, if shorter).
    """
    import nbformat

    probe = nbformat.v4.new_code_cell("pass")
    client.replies.pop(index, None)
    limit, client.timeout = client.timeout, min(client.timeout, PROBE_SECONDS)
    try:
        client.execute_cell(probe, index)
    finally:
        client.timeout = limit
    return not timed_out(client, index)


def execute_request(client, cell, index: int, request: dict) -> None:
    """Run a check cell as a probe request to the kernel's own handler.

    The kernel's ``course_utils.checks.grading_probe`` runs the probe without
    looking anything up in the student's globals (a cell's code would: a submission
    can shadow ``__import__``). Everything else is nbclient's, as for a cell: the
    reply awaited under the per-cell time limit, an interrupt at the limit, the
    outputs (the probe's data among them) through ``CappedClient.output``. Only the
    message sent differs.
    """
    kernel_client = client.kc

    def send(code, **kwargs):
        message = kernel_client.session.msg(PROBE_REQUEST, request)
        kernel_client.shell_channel.send(message)
        return message["header"]["msg_id"]

    kernel_client.execute = send
    try:
        client.execute_cell(cell, index)
    finally:
        del kernel_client.execute


def handler_ready(client) -> bool:
    """Whether the kernel answers probe requests (its extension loaded at start).

    Asked once, before any cell runs; a kernel without the handler (another
    kernel, an extension that failed to load) has its checks run as cells.
    """
    import nbformat

    if not client.nb.cells:
        return False
    # nbclient stores the cell it ran at its index: put the first cell back after.
    first = client.nb.cells[0]
    ping = nbformat.v4.new_code_cell("# is the probe handler loaded?")
    limit, client.timeout = client.timeout, min(client.timeout, PROBE_SECONDS)
    try:
        execute_request(client, ping, 0, {"ping": True})
    finally:
        client.timeout = limit
        client.nb.cells[0] = first
    reply = client.replies.pop(0, {})
    return reply.get("status") == "ok"


def run_cells(client, notebook, events: Events) -> None:
    """Execute every code cell in order, logging starts and graded results.

    Stops when the kernel dies, or stays busy after a cell was interrupted.
    """
    from nbclient.exceptions import DeadKernelError

    with client.setup_kernel():
        events.write("kernel_started")
        # Before any of the student's code runs: is the probe's handler loaded?
        by_request = handler_ready(client)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            events.write("start", cell=index)
            started = time.monotonic()
            tag = dict(cell.metadata.get(GRADING_KEY) or {})
            request = tag.pop("request", None)
            try:
                if request and by_request:
                    execute_request(client, cell, index, request)
                else:
                    client.execute_cell(cell, index)
            except DeadKernelError:
                events.write("kernel_died", cell=index)
                return
            if tag:
                result = cell_result(client, index, time.monotonic() - started)
                events.write("done", **tag, **result)
            if timed_out(client, index) and not kernel_responds(client, index):
                events.write("stuck", cell=index)
                return


def run_job(job_path: Path) -> int:
    """Run the job described by a JSON file; return the process exit code."""
    from instructor.grading import skip_slow_imports

    skip_slow_imports()
    import nbformat

    job = json.loads(job_path.read_text(encoding="utf-8"))
    events = Events(Path(job["events"]))
    try:
        notebook = nbformat.read(job["notebook"], as_version=4)
        client = make_client(notebook, job)
        try:
            run_cells(client, notebook, events)
        finally:
            events.write("messages", iopub=client.iopub_bytes, comm=client.comm_bytes,
                         dropped=client.dropped_bytes)
    except Exception as error:  # report whatever stopped the run, then exit
        lines = str(error).strip().splitlines()
        message = f"{type(error).__name__}: {lines[0] if lines else ''}"
        events.write("crash", message=message[:500])
        return 1
    finally:
        events.write("finished")
        events.close()
    return 0


if __name__ == "__main__":
    sys.exit(run_job(Path(sys.argv[1])))
