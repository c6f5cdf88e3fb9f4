"""Command line of the mutation tests: ``python -m instructor.tools.mutation``."""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import tomllib

from instructor.tools.mutation import __doc__ as PACKAGE_DOC
from instructor.tools.mutation import report
from instructor.tools.mutation.catalogue import run_catalogue
from instructor.tools.mutation.extract import (
    BUILD,
    Exercise,
    course_exercises,
    write_build,
)
from instructor.tools.mutation.tool import read_equivalents, read_verdicts, run_mutmut

RECORDED = Path("tests") / "mutation" / "recorded.toml"


def select(exercises: list[Exercise], only: list[str] | None) -> list[Exercise]:
    """The exercises named in ``only`` (``ch02_ex2``), or all of them.

    Raises:
        SystemExit: a name that is no exercise.
    """
    if not only:
        return exercises
    known = [exercise.name for exercise in exercises]
    unknown = sorted(set(only) - set(known))
    if unknown:
        raise SystemExit(f"unknown exercise(s) {unknown}; known: {known}")
    return [exercise for exercise in exercises if exercise.name in only]


def read_recorded(root: Path) -> dict[str, frozenset[str]]:
    """``tests/mutation/recorded.toml``: per exercise, names taken from a recording.

    Raises:
        ValueError: an entry without its list of names or its reason.
    """
    path = root / RECORDED
    if not path.exists():
        return {}
    found = {}
    for exercise, entry in tomllib.loads(path.read_text()).items():
        names = entry.get("names")
        if not isinstance(names, list) or not str(entry.get("why", "")).strip():
            raise ValueError(f"{path}: [{exercise}] needs names = [...] and why")
        found[exercise] = frozenset(names)
    return found


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (mutmut's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=PACKAGE_DOC.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=("extract", "run"))
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--out", type=Path, default=None,
                        help=f"the build folder (default: ROOT/{BUILD})")
    parser.add_argument("--only", nargs="*", help="exercises, e.g. ch01_ex2 ch02_ex2")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                        help="mutants tested at once (default: the CPU count)")
    parser.add_argument("--skip-tool", action="store_true", help="catalogue only")
    parser.add_argument("--skip-catalogue", action="store_true", help="mutmut only")
    parser.add_argument("--readme", action="store_true",
                        help="write the score table into README.md")
    return parser.parse_args(argv)


def judge(args, exercises: list[Exercise], out: Path, root: Path):
    """Run mutmut and the catalogue (as asked); count per exercise.

    Returns:
        ``(rows, stale)`` as :func:`report.build_rows` gives them.
    """
    mutants = []
    if not args.skip_tool:
        log = out / "mutmut.log"
        print(f"mutmut: {len(exercises)} exercises, {args.jobs} at once (log: {log})",
              flush=True)
        run_mutmut(out, args.jobs, log)
        mutants = read_verdicts(out)
    outcomes = {}
    if not args.skip_catalogue:
        for exercise in exercises:
            judged = run_catalogue(exercise, out / "src", root)
            outcomes[exercise.name] = judged
            print(f"catalogue: {exercise.name}: {len(judged)} wrong answers, "
                  f"{sum(o.status == 'caught' for o in judged)} caught", flush=True)
    return report.build_rows(exercises, mutants, read_equivalents(root), outcomes)


def measured(wall: float, cpu: float, jobs: int, load: float) -> str:
    """The footer of the score table: when, where, how long."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (
        f"Measured {when} on {os.cpu_count()} cores (load average {load:.1f} at the "
        f"start: the machine was {'shared' if load > 1.5 else 'quiet'}), "
        f"{jobs} mutants at once: {wall / 60:.1f} min wall, {cpu / 60:.1f} min CPU "
        "(extraction, Exercise 5's recorded experiment, mutmut and the catalogue)."
    )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    root = args.root.resolve()
    out = args.out.resolve() if args.out else root / BUILD
    found, unextracted = course_exercises(root)
    exercises = select(found, args.only)
    load = os.getloadavg()[0]
    started, cpu_before = time.monotonic(), cpu_seconds()
    write_build(exercises, out, read_recorded(root))
    if args.command == "extract":
        for exercise in exercises:
            print(f"{exercise.label} -> {out / 'src' / exercise.name}.py")
        for line in unextracted:
            print(f"NOT EXTRACTED: {line}")
        return 1 if unextracted else 0

    rows, stale = judge(args, exercises, out, root)
    footer = measured(time.monotonic() - started, cpu_seconds() - cpu_before,
                      args.jobs, load)
    print()
    print(report.text(rows))
    listed = [row.exercise.name for row in rows if row.equivalent]
    if listed:
        print(f"\nEquivalent survivors in {', '.join(listed)}: "
              f"{report.EQUIVALENT_NOTE}.")
    problems = [f"not extracted: {line}" for line in unextracted] + report.failures(
        rows,
        [] if args.skip_tool else stale,
        tool=not args.skip_tool,
        catalogue=not args.skip_catalogue,
    )
    print(f"\n{footer}")
    (out / "report.md").write_text(report.markdown(rows) + "\n\n" + footer + "\n")
    (out / "catalogue.md").write_text(report.catalogue_listing(rows))
    if args.readme:
        report.update_readme(root / "README.md", report.markdown(rows), footer)
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for line in problems:
            print(f"  {line}")
        return 1
    print("\nEvery non-equivalent mutant killed; every catalogued mistake caught.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
