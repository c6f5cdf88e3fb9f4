"""The Dask side of grading, without kernels: an in-process cluster, a stand-in unit.

``test_distributed.py`` grades for real on worker processes; here the unit is
replaced so that the client's part can be checked quickly: submissions read here
(an unreadable one never leaves), records in submission order whatever order units
finish in, a unit that fails becomes an error row, and no more units in flight than
the cluster has threads.
"""

from __future__ import annotations

import threading
import time

from instructor.grade import find_submissions
from instructor.grading import cluster, unit


class Recorder:
    """A progress display that remembers what it was told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def started(self, name: str) -> None:
        self.events.append(("started", name))

    def finished(self, name: str, line: str) -> None:
        self.events.append(("finished", line))

    def log(self, line: str) -> None:
        self.events.append(("log", line))


def stand_in(name, filename, data, index, course, settings, course_info, hidden):
    """A unit that grades nothing: slower for earlier files, fails on 'boom'."""
    time.sleep(0.3 * (3 - index % 3))
    if b"boom" in data:
        raise RuntimeError("the worker lost its kernel")
    return {"format": unit.FORMAT, "submission": name, "index": index,
            "sha256": None, "course": course_info, "limits": settings.describe(),
            "run": {"host": "here", "started": "", "seconds": 1.0, "sandbox": ""},
            "rows": [{"notebook": "", "exercise": "", "status": "unrecognised",
                      "mistake": "", "flags": "",
                      "message": f"{len(data)} bytes, {course}, {hidden}"}]}


def test_units_run_on_the_cluster_in_order(tmp_path, monkeypatch):
    from distributed import Client, LocalCluster

    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("a", "b", "d", "e"):
        (subs / f"{name}.ipynb").write_text(f'{{"name": "{name}"}}')
    (subs / "c.ipynb").write_text("boom")
    (tmp_path / "secret.txt").write_text("not yours")
    (subs / "link.ipynb").symlink_to(tmp_path / "secret.txt")
    submissions = find_submissions([str(subs)])
    monkeypatch.setattr(unit, "run_unit_from_bytes", stand_in)
    progress, settings = Recorder(), unit.Settings()
    info = {"fingerprint": "f" * 64, "commit": ""}
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as local, Client(local) as client:
        records = cluster.grade_on_cluster(
            client, submissions, ["the course"], settings, info, progress,
            lambda done, record: f"[{done}] {record['submission']}", ("/course",))
    assert [r["submission"] for r in records] == [s.name for s in submissions]
    by_name = {r["submission"]: r["rows"][0] for r in records}
    assert by_name["a.ipynb"]["message"] == "13 bytes, ['the course'], ('/course',)"
    assert by_name["c.ipynb"]["status"] == "error"
    assert "RuntimeError: the worker lost its kernel" in by_name["c.ipynb"]["message"]
    # Read here, refused here: the link's target never travels to a worker.
    assert by_name["link.ipynb"]["status"] == "invalid"
    assert "outside the submissions folder" in by_name["link.ipynb"]["message"]
    # Never more units handed out than the cluster has threads: the display names
    # the files that run, not a queue.
    in_flight, most = set(), 0
    for kind, text in progress.events:
        if kind == "started":
            in_flight.add(text)
        elif kind == "finished":
            in_flight.discard(text.split(" ", 1)[1])
        most = max(most, len(in_flight))
    assert most == 2
    finished = [line for kind, line in progress.events if kind == "finished"]
    assert len(finished) == 6 and finished[-1].startswith("[6] ")
    started = [name for kind, name in progress.events if kind == "started"]
    assert sorted(started) == sorted(s.name for s in submissions)


def test_an_unreadable_file_gets_the_local_pools_row(tmp_path):
    # The cluster's client reads files itself: a file it cannot read must get the
    # very row the local pool writes for it, or the two reports would differ.
    from instructor import grade
    from instructor.grading.runner import Limits

    subs = tmp_path / "subs"
    subs.mkdir()
    (tmp_path / "secret.txt").write_text("not yours")
    (subs / "link.ipynb").symlink_to(tmp_path / "secret.txt")
    (subs / "big.ipynb").write_bytes(b" " * 3000)
    settings = unit.Settings(max_size_mb=0.001)
    for submission in find_submissions([str(subs)]):
        error = cluster.read_bytes(submission, settings.max_bytes)
        assert isinstance(error, Exception)
        record = cluster.invalid_record(submission, 0, error, settings, {})
        local = grade.grade_one(submission, [], Limits(), threading.Event(),
                                settings.max_bytes)
        assert unit.record_rows(record) == local
