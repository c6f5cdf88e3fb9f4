"""Grade the generated class of 30 on the local pool and on Dask; compare and time.

The class is ``benchmarks/grade_class.py``'s honest section (30 submissions from the
student notebooks, each with its expected verdicts). It is graded twice by
``python -m instructor.grade`` with the same limits and workers: on the local pool,
then with ``--scheduler`` (by default ``local``: a Dask ``LocalCluster`` of
``--workers`` single-threaded worker processes, started by the grader, its start
counted in the time). The run reports, for each: the wall-clock time, the CPU time of
every process of the run (grader, Dask workers, sandboxed kernels: the run is started
in a cgroup v1 ``cpuacct`` group of its own, where the machine has one writable;
``getrusage`` would miss the kernels, which are killed, not waited for, by their
parents) and CPU seconds per submission; whether the two reports give the same
status and mistake for every exercise (messages that quote a measured figure, such as
a memory peak, may differ between any two runs) and the expected verdicts; and the
Dask time over the pool time, against the target (within 15%).

    python benchmarks/grade_dask.py [--out DIR] [--workers 2] [--scheduler local]
        [--dask-first]

writes ``DIR/submissions/``, ``DIR/pool.csv``, ``DIR/dask.csv`` (and their
``.html``), ``DIR/dask-vs-pool.md``; exit code 1 when the verdicts differ or the
target is missed. Time it on a quiet machine: both runs share its cores.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grade_class import class_of_30, compare, write_class  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.15


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def cpu_group(name: str) -> Path | None:
    """A new cgroup v1 cpuacct group, or None where there is none to make."""
    group = CPUACCT / name
    try:
        group.mkdir()
    except OSError:
        return None
    return group


def grade(submissions: Path, out: Path, workers: int, extra: list[str]) -> dict:
    """Run the grader once; return its wall time, CPU time (None: unknown), exit."""
    command = [sys.executable, "-m", "instructor.grade", str(submissions), "--out",
               str(out), "--workers", str(workers), "--quiet", *extra]
    print("$", " ".join(command), flush=True)
    group = cpu_group(f"grade-dask-{os.getpid()}-{out.stem}")

    def enter() -> None:  # in the child, before exec: all its descendants follow
        if group is not None:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    started = time.monotonic()
    with open(out.with_suffix(".log"), "w", encoding="utf-8") as log:
        code = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                              check=False, preexec_fn=enter).returncode
    seconds = time.monotonic() - started
    cpu = None
    if group is not None:
        cpu = int((group / "cpuacct.usage").read_text()) / 1e9
        time.sleep(1)
        try:
            group.rmdir()
        except OSError:
            print(f"note: {group} left behind (a process of the run is still in it)")
    return {"seconds": seconds, "cpu": cpu, "code": code}


def cpu_text(cpu: float | None, count: int = 1) -> str:
    """CPU seconds in words, or why they are not known."""
    return "not measured (no cgroup v1 cpuacct)" if cpu is None else (
        f"{cpu / count:.1f} s")


def read(path: Path) -> list[dict]:
    """A report's rows (none when it was not written)."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def verdicts(rows: list[dict]) -> dict[tuple[str, str], tuple[str, str]]:
    """(submission, exercise) -> (status, mistake)."""
    return {(r["submission"], r["exercise"]): (r["status"], r["mistake"]) for r in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "grading-dask")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler", default="local",
                        help="a Dask scheduler's address, or local (a LocalCluster)")
    parser.add_argument("--dask-first", action="store_true",
                        help="grade on Dask first (the first run pays cold caches)")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    submissions = class_of_30()
    write_class(out / "submissions", submissions)
    runs = [("pool", []), ("dask", ["--scheduler", args.scheduler])]
    if args.dask_first:
        runs.reverse()
    results = {name: grade(out / "submissions", out / f"{name}.csv", args.workers,
                           extra) for name, extra in runs}
    pool, dask = read(out / "pool.csv"), read(out / "dask.csv")
    different = sorted(
        key for key in verdicts(pool).keys() | verdicts(dask).keys()
        if verdicts(pool).get(key) != verdicts(dask).get(key)
    )
    messages = sum(a != b for a, b in zip(pool, dask, strict=False))
    expected = {name: compare(submissions, rows) for name, rows in
                (("pool", pool), ("dask", dask))}
    ratio = results["dask"]["seconds"] / results["pool"]["seconds"]
    count = len(submissions)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Class of {count} graded with {args.workers} workers on "
             f"{os.cpu_count()} cores, {when}; load average before the runs was "
             "not controlled: time it on a quiet machine.", "",
             "| run | wall time | CPU time (all processes) | CPU per submission | "
             "exit |", "|---|---|---|---|---|"]
    for name, _ in runs:
        result = results[name]
        cpu = result["cpu"]
        lines.append(f"| {name} | {result['seconds']:.0f} s | {cpu_text(cpu)} | "
                     f"{cpu_text(cpu, count)} | {result['code']} |")
    lines += ["",
              f"Dask / pool wall time: {ratio:.3f} (target <= {TARGET}: "
              f"{'met' if ratio <= TARGET else 'NOT met'}).",
              f"Status and mistake identical for every exercise: "
              f"{'yes' if not different and pool else 'NO'} ({len(pool)} rows; "
              f"{messages} rows whose message differs).",
              *(f"- differs: {key}: pool {verdicts(pool).get(key)}, dask "
                f"{verdicts(dask).get(key)}" for key in different[:50])]
    for name, problems in expected.items():
        lines.append(f"Expected verdicts, {name}: "
                     f"{'all as expected' if not problems else len(problems)} "
                     f"{'' if not problems else 'differences'}".rstrip())
        lines += [f"- {problem}" for problem in problems[:50]]
    text = "\n".join(lines)
    (out / "dask-vs-pool.md").write_text(text + "\n", encoding="utf-8")
    print("\n" + text)
    failed = different or not pool or any(expected.values()) or ratio > TARGET
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
