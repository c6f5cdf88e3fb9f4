"""Grading on a Dask cluster: each submission is one task running the same unit.

``python -m instructor.grade ... --scheduler ADDRESS`` hands the units to the Dask
scheduler at ADDRESS (``tcp://host:8786``; a Slurm cluster through dask-jobqueue, a
Kubernetes one through dask-kubernetes) instead of the local pool; ``--scheduler
local`` starts a ``LocalCluster`` of ``--workers`` single-threaded worker processes
on this machine (for tests and for measuring Dask's overhead).

What travels (security): the grader reads each submission here, with its safe reader
(no link out of the folder, the size limit), and sends its bytes; the course's
notebooks go to every worker once (``scatter``). A worker runs
``unit.run_unit_from_bytes``: the submission in its own bubblewrap sandbox prepared
on that worker (which must have bubblewrap, the course's environment and this
repository, as the grader has), judged in the worker's process. What comes back is a
verdict record, checked here like a verdict file (``unit.rows_of``) before it counts.

At most as many units are in flight as the cluster has worker threads, so that the
progress display names the submissions actually running and a cluster that grows
(adaptive scaling) gets more. Ctrl-C cancels what is queued; units already running
on a worker finish there (within the notebook time limit) and are discarded.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

LOCAL = ("local", "local-cluster")


class ClusterError(RuntimeError):
    """The cluster cannot grade: unreachable, or a worker cannot sandbox."""


@contextmanager
def client_for(address: str, workers: int):
    """A ``distributed.Client`` for a scheduler address, or for a new LocalCluster.

    Args:
        address: ``tcp://...`` (or any address Dask takes), or ``local``.
        workers: worker processes of a LocalCluster (one thread each).

    Yields:
        The client; closed (and the LocalCluster stopped) on exit.

    Raises:
        ClusterError: the scheduler cannot be reached.
    """
    import logging

    from distributed import Client, LocalCluster

    cluster = None
    try:
        if address in LOCAL:
            # Processes, not threads: each worker grades one unit at a time, as a
            # thread of the local pool does, and a crash stays in its process.
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                   processes=True, dashboard_address=None,
                                   silence_logs=logging.ERROR)
            client = Client(cluster)
        else:
            client = Client(address, timeout="30s")
    except OSError as error:
        if cluster is not None:
            cluster.close()
        message = f"cannot reach the Dask scheduler {address}: {error}"
        raise ClusterError(message) from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def describe(client) -> str:
    """The cluster in words: scheduler, workers, threads."""
    threads = client.nthreads()
    return (f"Dask scheduler {client.scheduler.address}, {len(threads)} worker(s), "
            f"{sum(threads.values())} thread(s)")


def read_bytes(submission, max_bytes: int):
    """A submission's bytes, read safely here (a ``.zip`` member's unpacked in
    memory, sent under its own name); or the ``InvalidNotebook`` error."""
    from instructor.grading.reading import InvalidNotebook, submission_bytes

    try:
        return submission_bytes(submission.root, submission.relative, max_bytes,
                                submission.member)
    except InvalidNotebook as error:
        return error


def invalid_record(submission, index: int, error, settings, course_info) -> dict:
    """The record of a submission the grader could not read (no unit needed).

    Its row is the one ``unit.grade_one`` writes for the same error.
    """
    from course_utils.contract import INVALID
    from instructor.grading.unit import FORMAT

    return {
        "format": FORMAT, "submission": submission.name, "index": index,
        "sha256": None, "course": course_info, "limits": settings.describe(),
        "run": {"host": "", "started": "", "seconds": 0.0, "sandbox": ""},
        "rows": [{"notebook": "", "exercise": "", "status": INVALID, "mistake": "",
                  "message": str(error), "flags": ""}],
    }


def grade_on_cluster(client, submissions, course, settings, course_info, progress,
                     line, hidden: tuple[str, ...] = ()) -> list[dict]:
    """Grade every submission on the cluster; return their verdict records in order.

    Args:
        client: a ``distributed.Client``.
        submissions: ``unit.Submission``s.
        course: the course notebooks.
        settings: the ``unit.Settings``.
        course_info: ``{"fingerprint", "commit"}``.
        progress: the ``progress.Progress`` display.
        line: ``line(done, record) -> str``, the line shown for a graded submission.
        hidden: the paths the local pool's sandbox hides (course, report,
            submissions' folders): each worker's sandbox hides them too, so that a
            LocalCluster binds exactly what the local pool binds.

    Returns:
        One record per submission, in the order given; None for a submission not
        graded (Ctrl-C).

    Raises:
        ClusterError: a worker cannot start a sandbox (no bubblewrap there).
        KeyboardInterrupt: on Ctrl-C, with the records so far in its ``records``
            attribute.
    """
    from distributed import wait

    from instructor.grading.sandbox import SandboxUnavailable
    from instructor.grading.unit import run_unit_from_bytes

    run = uuid.uuid4().hex[:8]
    course_futures = client.scatter(list(course), broadcast=True, hash=False)
    records: list[dict | None] = [None] * len(submissions)
    waiting = list(enumerate(submissions))
    running: dict = {}
    done = 0
    try:
        while waiting or running:
            room = max(1, sum(client.nthreads().values())) - len(running)
            while waiting and room > 0:
                index, submission = waiting.pop(0)
                data = read_bytes(submission, settings.max_bytes)
                if isinstance(data, Exception):
                    records[index] = invalid_record(submission, index, data, settings,
                                                    course_info)
                    done += 1
                    progress.started(submission.name)
                    progress.finished(submission.name, line(done, records[index]))
                    continue
                future = client.submit(
                    run_unit_from_bytes, submission.name, submission.filename,
                    data, index, course_futures, settings, course_info, hidden,
                    key=f"grade-unit-{run}-{index}", pure=False,
                )
                running[future] = (index, submission)
                progress.started(submission.name)
                room -= 1
            if not running:
                continue
            finished = wait(list(running), return_when="FIRST_COMPLETED").done
            for future in finished:
                index, submission = running.pop(future)
                records[index] = outcome(future, submission, index, settings,
                                         course_info)
                done += 1
                progress.finished(submission.name, line(done, records[index]))
    except SandboxUnavailable as error:
        client.cancel(list(running))
        raise ClusterError(f"a Dask worker cannot sandbox the submissions: {error}"
                           ) from None
    except KeyboardInterrupt as stop:
        client.cancel(list(running))
        stop.records = records
        raise
    return records


def outcome(future, submission, index: int, settings, course_info) -> dict:
    """A finished task's record; a task that failed becomes an error record.

    Raises:
        SandboxUnavailable: re-raised from the worker (the run must stop).
    """
    from course_utils.contract import ERROR
    from instructor.grading.sandbox import SandboxUnavailable

    try:
        return future.result()
    except SandboxUnavailable:
        raise
    except Exception as error:  # a worker died, lost its connection...
        record = invalid_record(submission, index, "", settings, course_info)
        record["rows"][0].update(
            status=ERROR,
            message=f"the grader's unit failed on a Dask worker: "
            f"{type(error).__name__}: {str(error)[:300]}")
        return record
