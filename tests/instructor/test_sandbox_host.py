"""The host stays clean and the worker's memory is bounded (issue 21, items 4-5).

The socket folder is a small ``nosuid,nodev`` tmpfs that only the worker's mount
namespace sees, owned by the sandbox's unprivileged host uid; every folder a
submission can write vanishes with it (or is removed without recursion, with
``--no-sandbox``), whatever the depth of the tree written there; a cleanup failure
never replaces the outcome; the worker keeps a bounded part of the kernel's comm
messages. The helpers and the ``limits`` fixture are ``test_sandbox``'s.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest
import test_sandbox
from test_sandbox import assert_ok, run

from instructor.grading import runner, sandbox, worker

limits = test_sandbox.limits  # the same fixtures: the sandbox as the grader makes it
places = test_sandbox.places

DEPTH = 10_000


@pytest.fixture
def private_temp(monkeypatch):
    """The host's temporary folder for the run: the test's own, watched for
    leftovers (short: a Unix socket's path has at most 107 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="sbx-", dir="/tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    sandbox.remove_tree(folder)


def leftovers(folder) -> list[str]:
    """The grader's folders left in a temporary folder."""
    return sorted(path.name for path in folder.iterdir()
                  if path.name.startswith("course-grade-"))


def nested(depth: int, top) -> None:
    """A chain of ``depth`` folders under ``top``, made by descriptor."""
    handle = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=handle)
        inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=handle)
        os.close(handle)
        handle = inner
    os.close(handle)


# ------------------------------------------------------------ without a kernel


def test_remove_tree_removes_any_depth_without_following_links(memory_path):
    outside = memory_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    top = memory_path / "tree"
    top.mkdir()
    nested(DEPTH, top)
    (top / "link").symlink_to(outside)
    (top / "d" / "file").write_text("x")
    locked = top / "d" / "locked"
    (locked / "inner").mkdir(parents=True)
    locked.chmod(0)
    sandbox.remove_tree(top)
    assert not top.exists()
    assert (outside / "keep").read_text() == "keep"
    sandbox.remove_tree(top)  # gone already: nothing to do


def test_jail_options_and_reachable_binds(tmp_path):
    from instructor.grading import jail

    options, command = jail.parse(["--procs", "a", "--tmpfs", "/s", "16", "1", "2",
                                   "--user", "65534", "65534", "--", "bwrap", "x"])
    assert options["--procs"] == [["a"]]
    assert options["--tmpfs"] == [["/s", "16", "1", "2"]]
    assert options["--user"] == [["65534", "65534"]] and command == ["bwrap", "x"]
    with pytest.raises(SystemExit):
        jail.parse(["--user", "1", "--", "x"])
    locked = tmp_path / "locked"
    (locked / "env").mkdir(parents=True)
    locked.chmod(0o700)
    bwrap = ["bwrap", "--ro-bind", str(locked / "env"), "/e", "--bind", "/nowhere",
             "/n", "--ro-bind-try", "/usr", "/usr", "--", "true"]
    assert jail.bind_sources(bwrap) == [str(locked / "env"), "/usr"]
    stranger = os.stat(locked).st_uid + 12345
    barrier = jail.first_barrier(str(locked / "env"), stranger, stranger)
    assert barrier is not None and locked.is_relative_to(barrier)  # pytest's is 0700
    assert jail.first_barrier("/usr/bin", stranger, stranger) is None


def test_comm_messages_over_the_budget_are_dropped():
    import nbformat

    client = worker.make_client(nbformat.v4.new_notebook(), {
        "cell_timeout": 5, "kernel": "python3", "workdir": ".", "output_limit": 100})
    chunk = "x" * 2**20
    for index in range(40):
        message = {"msg_type": "comm_msg", "buffers": [], "content": {
            "comm_id": "c", "data": {"state": {f"k{index}": chunk}}}}
        client.handle_comm_msg([], message, 0)
    kept = sum(len(value) for value in client.widget_state["c"].values())
    assert kept <= worker.COMM_BUDGET < 40 * 2**20
    assert client.comm_bytes <= worker.COMM_BUDGET
    assert client.dropped_bytes >= 40 * 2**20 - worker.COMM_BUDGET


# ------------------------------------------------------------ with a kernel

SOCKETS = ("os.path.dirname(__import__('ipykernel.connect').connect"
           ".get_connection_file())")


@pytest.mark.kernel
def test_socket_folder_is_a_small_tmpfs_the_host_root_does_not_own(
        limits, private_temp):
    marker = uuid.uuid4().hex
    seen: dict = {}

    def watch_from_the_host():
        # The host's view of the kernel's socket folder, through the kernel's root.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not seen:
            for process in psutil.process_iter(["cmdline"]):
                words = process.info["cmdline"] or []
                if marker not in words:
                    continue
                folder = f"/proc/{process.pid}/root{words[-1]}"
                try:
                    info = os.stat(f"{folder}/suid")
                    mountinfo = open(f"/proc/{process.pid}/mountinfo").read()
                    seen.update(uid=info.st_uid, mode=info.st_mode, path=words[-1],
                                on_host=os.path.exists(f"{words[-1]}/suid"),
                                mount=[line for line in mountinfo.splitlines()
                                       if line.split()[4] == words[-1]])
                    open(f"{folder}/seen", "w").close()
                except OSError:
                    continue
            time.sleep(0.1)

    watcher = threading.Thread(target=watch_from_the_host, daemon=True)
    watcher.start()
    cells = {
        "fill": f"""
            import errno, os
            sockets = {SOCKETS}
            handle = os.open(os.path.join(sockets, "fill"), os.O_WRONLY | os.O_CREAT)
            written = 0
            try:
                while written < 100 * 2**20:
                    written += os.write(handle, b"x" * 2**20)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
            else:
                raise AssertionError("wrote 100 MB into the socket folder")
            finally:
                os.close(handle)
            assert written <= {sandbox.SOCKET_FOLDER_BYTES}, written
            os.unlink(os.path.join(sockets, "fill"))
            """,
        "setuid": f"""
            import os, subprocess, sys, time
            sockets = {SOCKETS}
            path = os.path.join(sockets, "suid")
            with open(path, "w") as handle:
                handle.write("#!/bin/sh\\nid\\n")
            os.chmod(path, 0o4755)
            waiter = subprocess.Popen([sys.executable, "-c",
                                       "import time; time.sleep(30)", {marker!r},
                                       sockets])
            deadline = time.monotonic() + 30
            while not os.path.exists(os.path.join(sockets, "seen")):
                assert time.monotonic() < deadline, "the host never looked"
                time.sleep(0.1)
            waiter.kill()
            """,
    }
    outcome, records = run(cells, limits)
    watcher.join(timeout=5)
    assert outcome.end == "finished", outcome
    assert_ok(records, "fill")
    assert_ok(records, "setuid")
    host_uid = limits.sandbox.user[0] if limits.sandbox.user else os.getuid()
    assert seen["uid"] == host_uid != 0, seen
    assert not (seen["uid"] == 0 and seen["mode"] & stat.S_ISUID), seen
    assert not seen["on_host"], "the socket folder's files are on the host's disk"
    if os.getuid() == 0:
        options = seen["mount"][-1].split()[5].split(",")
        assert {"nosuid", "nodev", "noexec"} <= set(options), seen["mount"]
        assert "tmpfs" in seen["mount"][-1].split(" - ")[1], seen["mount"]
    assert not os.path.exists(seen["path"])
    assert leftovers(private_temp) == []


@pytest.mark.kernel
@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandbox", "no-sandbox"])
def test_deep_trees_vanish_and_the_verdicts_stay(limits, private_temp, sandboxed):
    # Every folder the kernel can write (only its working folder with --no-sandbox,
    # which runs with the grader's rights) gets a 10,000-deep tree with a setuid
    # file at the bottom.
    folders = ("[os.getcwd(), '/tmp', '/dev/shm', os.path.expanduser('~'), "
               f"{SOCKETS}]") if sandboxed else "[os.getcwd()]"
    cells = {
        "before": "x = 1",
        "deep": f"""
            import os
            for place in {folders}:
                handle = os.open(place, os.O_RDONLY)
                for _ in range({DEPTH}):
                    os.mkdir("d", dir_fd=handle)
                    inner = os.open("d", os.O_RDONLY, dir_fd=handle)
                    os.close(handle)
                    handle = inner
                os.close(os.open("suid", os.O_WRONLY | os.O_CREAT, 0o4755,
                                 dir_fd=handle))
                os.close(handle)
            """,
        "after": "y = 2",
    }
    chosen = limits if sandboxed else dataclasses.replace(limits, sandbox=None)
    outcome, records = run(cells, chosen)
    assert outcome.end == "finished", outcome
    for name in cells:
        assert_ok(records, name)
    assert leftovers(private_temp) == []


@pytest.mark.kernel
def test_a_cleanup_failure_never_replaces_the_outcome(limits, private_temp,
                                                      monkeypatch, capsys):
    def fail(path):
        raise OSError(39, "Directory not empty", str(path))

    monkeypatch.setattr(runner, "remove_tree", fail)
    outcome, records = run({"only": "x = 1"}, limits)
    assert outcome.end == "finished", outcome
    assert_ok(records, "only")
    assert "could not remove" in capsys.readouterr().err
    for name in leftovers(private_temp):
        sandbox.remove_tree(private_temp / name)


@pytest.mark.kernel
def test_a_comm_flood_leaves_the_worker_bounded(limits, private_temp):
    # 2,000 comm messages of 1 MB each, every one a new piece of widget state that
    # nbclient would keep for the notebook's metadata: 2 GB, all kept before.
    peak = {"rss": 0}
    running = threading.Event()

    def watch_worker():
        while not running.is_set():
            for process in psutil.process_iter(["cmdline"]):
                words = " ".join(process.info["cmdline"] or [])
                if "instructor.grading.worker" in words and str(private_temp) in words:
                    try:
                        peak["rss"] = max(peak["rss"], process.memory_info().rss)
                    except psutil.Error:
                        continue
            time.sleep(0.2)

    watcher = threading.Thread(target=watch_worker, daemon=True)
    watcher.start()
    cells = {
        "flood": """
            from ipykernel.comm import Comm
            comm = Comm(target_name="flood", data={})
            chunk = "x" * 2**20
            for index in range(2000):
                comm.send({"method": "update", "state": {f"k{index}": chunk},
                           "buffer_paths": []})
            """,
        "after": "print('still here')",
    }
    roomy = dataclasses.replace(limits, memory_mb=2048, cell_timeout=120,
                                notebook_timeout=300)
    try:
        outcome, records = run(cells, roomy)
    finally:
        running.set()
        watcher.join(timeout=5)
    assert outcome.end == "finished", outcome
    assert_ok(records, "flood")
    assert_ok(records, "after")
    assert outcome.messages["comm"] <= worker.COMM_BUDGET, outcome.messages
    assert outcome.messages["dropped"] > 0, outcome.messages
    print(f"worker peak RSS {peak['rss'] / 2**20:.0f} MB, sandbox peak "
          f"{outcome.peak_mb} MB, {outcome.seconds} s, messages {outcome.messages}")
    assert 0 < peak["rss"] < 200 * 2**20, peak  # 76 MB measured


def test_without_root_the_socket_folders_go_in_a_tmpfs(tmp_path, monkeypatch):
    assert sandbox.filesystem_type("/proc/self") == "proc"
    monkeypatch.setattr(sandbox.os, "getuid", lambda: 1000)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # on disk here: skipped
    if sandbox.filesystem_type(str(tmp_path)) != "tmpfs" and os.path.isdir("/dev/shm") \
            and sandbox.filesystem_type("/dev/shm") == "tmpfs":
        assert sandbox.socket_base() == os.path.realpath("/dev/shm")
    monkeypatch.setattr(sandbox, "SOCKET_BASES", ("/proc",))
    with pytest.raises(sandbox.SandboxUnavailable, match="tmpfs"):
        sandbox.socket_base()
