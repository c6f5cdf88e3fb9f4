"""Ctrl-C answers within 2 s at any point of grading (issue 21, item 4).

The grader runs as a real process on a submission whose cell sleeps; SIGINT arrives
while the kernel runs it. The grader must write the report so far and exit (130)
within 2 s of the signal, leaving no kernel behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from instructor.tools import student

ROOT = Path(__file__).resolve().parents[2]
LIMIT_SECONDS = 2.0


def command_line(process: psutil.Process) -> str:
    """The process's command line, or "" once it has exited (a zombie included):
    the grader's tree changes while the test looks at it."""
    try:
        return " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):  # ZombieProcess is one
        return ""


@pytest.mark.kernel
def test_ctrl_c_while_a_cell_runs_stops_grading_within_two_seconds(tmp_path):
    source = student.solution_notebooks(ROOT)[1]  # chapter 02: no training by stubs
    notebook = nbformat.read(student.student_path(source), as_version=4)
    notebook.cells.insert(4, nbformat.v4.new_code_cell(
        "import time\nprint('sleeping', flush=True)\ntime.sleep(300)"))
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(notebook, subs / "sleeper.ipynb")
    out = tmp_path / "report.csv"
    grader = subprocess.Popen(
        [sys.executable, "-m", "instructor.grade", str(subs), "--out", str(out),
         "--workers", "1", "--cell-timeout", "600", "--timeout", "900"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 180
        # Wait for the kernel to be running the sleeping cell: a python child of
        # the grader's tree that has run for a while, then some more seconds.
        while time.monotonic() < deadline:
            children = psutil.Process(grader.pid).children(recursive=True)
            if any("ipykernel" in command_line(child) for child in children):
                break
            time.sleep(0.5)
        else:
            pytest.fail("the kernel never started")
        time.sleep(8)  # the notebook's first cells, then the sleep
        tree = psutil.Process(grader.pid).children(recursive=True)
        grader.send_signal(signal.SIGINT)
        sent = time.monotonic()
        code = grader.wait(timeout=30)
        took = time.monotonic() - sent
    finally:
        if grader.poll() is None:
            grader.kill()
    assert code == 130, grader.stdout.read().decode(errors="replace")
    print(f"grader stopped {took:.2f} s after SIGINT")
    assert took < LIMIT_SECONDS, f"the grader took {took:.1f} s to stop"
    assert out.exists()
    gone, alive = psutil.wait_procs(tree, timeout=5)
    assert not alive, [p.pid for p in alive]
