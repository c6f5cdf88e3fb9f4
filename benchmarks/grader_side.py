"""What the grader spends on a submission outside its sandbox's limits.

Reading, parsing, recognising, flagging and preparing a submission happen in the
grader's unit before the sandbox starts (``instructor.grading.unit.grade_one`` up to
``runner.run_submission``). They are bounded by the file's size (``--max-size-mb``)
and by linear-time processing; this measures them on adversarial files just under
the default 50 MB limit, and on the course's own student notebooks, and prints the
median time (over ``--repeats`` runs) and the peak of Python memory (tracemalloc)
per file. Target (issue 21): under 1 s and 100 MB each.

Usage::

    .venv/bin/python benchmarks/grader_side.py [--repeats 3] [--limit-mb 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from instructor.grading import match  # noqa: E402
from instructor.grading.course import load_course  # noqa: E402
from instructor.grading.flags import notebook_flags  # noqa: E402
from instructor.grading.reading import InvalidNotebook, read_submission  # noqa: E402

MB = 2**20
TARGET_SECONDS, TARGET_MB = 1.0, 100.0


def notebook(cells: list[dict]) -> bytes:
    """A notebook file (nbformat 4) holding these cells."""
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": cells}).encode()


def code(source: str) -> dict:
    return {"cell_type": "code", "source": source, "metadata": {}, "outputs": [],
            "execution_count": None}


def markdown(source: str) -> dict:
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def adversarial(limit: int) -> dict[str, bytes]:
    """Files just under ``limit`` bytes, each aimed at one part of the reading."""
    student = (ROOT / "notebooks" / "student" / "01_actor_critic_cartpole.ipynb")
    base = json.loads(student.read_text(encoding="utf-8"))["cells"]
    room = limit - len(notebook(base)) - 4096
    return {
        "student notebook 01 as is": student.read_bytes(),
        "one code cell, one long name": notebook(base + [code("x" * room)]),
        "one code cell, 'a(' repeated": notebook(base + [code("a(" * (room // 2))]),
        "one code cell, 'np.a' chain": notebook(
            base + [code("np" + ".a" * (room // 2))]),
        "a heading of 'Exercise 1: ' then spaces": notebook(
            base + [markdown("### Exercise 1: " + " " * room + "b")]),
        "raise NotImplementedError( repeated": notebook(
            base + [code("raise NotImplementedError(" * (room // 26))]),
        "100,000 tiny code cells": notebook(
            base + [code("x=1") for _ in range(100_000)]),
        "300,000 tiny markdown cells": notebook(
            base + [markdown("#") for _ in range(300_000)]),
    }


def measure(data: bytes, course, limit: int) -> tuple[float, float, str]:
    """Seconds and peak MB of read + recognise + flags + prepare; and the outcome."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "submission.ipynb"
        path.write_bytes(data)
        tracemalloc.start()
        started = time.perf_counter()
        try:
            cells = read_submission(Path(folder), Path(path.name), limit).cells
            notebook_flags(cells)
            found = match.recognise(cells, path.name, course)
            outcome = "unrecognised"
            if found is not None:
                match.prepare(cells, found)
                outcome = found.name
        except InvalidNotebook as error:
            outcome = f"invalid: {error}"
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / MB
        tracemalloc.stop()
    return seconds, peak, outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit-mb", type=float, default=50.0)
    args = parser.parse_args(argv)
    limit = int(args.limit_mb * MB)
    course = load_course(ROOT / "notebooks")
    print(f"| file ({args.limit_mb:g} MB limit) | size | median s | peak MB | "
          "outcome |")
    print("|---|---|---|---|---|")
    missed = 0
    for name, data in adversarial(limit).items():
        runs = [measure(data, course, limit) for _ in range(args.repeats)]
        seconds = statistics.median(run[0] for run in runs)
        peak = max(run[1] for run in runs)
        over = seconds > TARGET_SECONDS or peak > TARGET_MB
        missed += over
        print(f"| {name} | {len(data) / MB:.1f} MB | {seconds:.2f} | {peak:.1f} | "
              f"{runs[0][2][:40]}{' (over target)' if over else ''} |")
    print(f"\ntarget: under {TARGET_SECONDS:g} s and {TARGET_MB:g} MB each; "
          f"{missed} over")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
