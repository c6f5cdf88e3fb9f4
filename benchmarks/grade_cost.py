"""What grading one submission costs, per chapter, and what a large class needs.

Each solution notebook (all exercises right: the most expensive submission, since it
trains its agents for real) is graded alone by ``python -m instructor.grade NB
--workers 1``, in a cgroup v1 ``cpuacct`` group of its own, so that the CPU time
counts every process of the run (grader, worker, sandbox and kernel; ``time`` would
miss the kernel, which is killed rather than waited for). From the CPU times the run
derives submissions per core-hour and the core-hours a class of ``--students``
students needs when each hands in every chapter. With ``--readme`` the table replaces
the text between ``<!-- grade-cost:start -->`` and ``<!-- grade-cost:end -->`` in
README.md, so that the figures there are the last run's, not typed by hand.

    python benchmarks/grade_cost.py [--students 2000] [--readme]

Run it on a quiet machine: other jobs inflate CPU times too (caches, memory
bandwidth), not only wall times.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grade_dask import cpu_group, grade  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- grade-cost:start -->", "<!-- grade-cost:end -->"


def measure(notebook: Path, folder: Path) -> dict:
    """Grade one solution notebook alone; its wall and CPU seconds and exit code."""
    submissions = folder / notebook.stem
    submissions.mkdir()
    (submissions / notebook.name).write_bytes(notebook.read_bytes())
    return grade(submissions, folder / f"{notebook.stem}.csv", 1, [])


def table(results: dict[str, dict], students: int, load: float) -> str:
    """The markdown the README shows: one row per chapter, then the estimate."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Measured {when} by `python benchmarks/grade_cost.py` on {os.cpu_count()} "
        f"cores ({platform.machine()}, Python {platform.python_version()}), load "
        f"average {load:.1f} before the first run.",
        "",
        "| submission graded (all its exercises right) | CPU time | wall time | "
        "per core-hour | exit |",
        "|---|---|---|---|---|",
    ]
    cpus = []
    for name, result in results.items():
        cpu = result["cpu"]
        if cpu is None:
            lines.append(f"| `{name}` | not measured (no cgroup v1 cpuacct) | "
                         f"{result['seconds']:.0f} s | – | {result['code']} |")
            continue
        cpus.append(cpu)
        lines.append(f"| `{name}` | {cpu:.0f} s | {result['seconds']:.0f} s | "
                     f"{3600 / cpu:.0f} | {result['code']} |")
    if cpus:
        chapters = len(cpus)
        total = sum(cpus)
        core_hours = students * total / 3600
        lines += [
            "",
            f"A class of {students:,} students handing in all {chapters} chapters is "
            f"{students * chapters:,} submissions, at most {students:,} x "
            f"{total:.0f} s = {core_hours:.0f} core-hours (mean "
            f"{statistics.mean(cpus):.0f} s per submission): about "
            f"{60 * core_hours / 100:.0f} minutes on 100 cores, plus the longest "
            f"single unit ({max(r['seconds'] for r in results.values()):.0f} s "
            "here).",
        ]
    return "\n".join(lines)


def write_readme(text: str) -> None:
    """Replace the README's grade-cost block with ``text``."""
    readme = README.read_text(encoding="utf-8")
    head, start, rest = readme.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise SystemExit(f"README.md has no {START} ... {END} block")
    README.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--readme", action="store_true",
                        help="write the table into README.md")
    args = parser.parse_args(argv)
    probe = cpu_group(f"grade-cost-probe-{os.getpid()}")
    if probe is None:
        print("note: no writable cgroup v1 cpuacct: CPU times will not be measured")
    else:
        probe.rmdir()
    load = os.getloadavg()[0]
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    with tempfile.TemporaryDirectory(prefix="grade-cost-") as tmp:
        results = {nb.stem: measure(nb, Path(tmp)) for nb in notebooks}
    text = table(results, args.students, load)
    print(text)
    if args.readme:
        write_readme(text)
    return 0 if all(r["code"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
