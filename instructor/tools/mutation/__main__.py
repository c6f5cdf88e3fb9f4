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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=PACKAGE_DOC.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=("extract", "run"))
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--only", nargs="*", help="exercises, e.g. ch01_ex2 ch02_ex2")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                        help="mutants tested at once (default: the CPU count)")
    parser.add_argument("--skip-tool", action="store_true", help="catalogue only")
    parser.add_argument("--skip-catalogue", action="store_true", help="mutmut only")
    parser.add_argument("--readme", action="store_true",
                        help="write the score table into README.md")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    out = root / BUILD
    found, unextracted = course_exercises(root)
    exercises = select(found, args.only)
    recorded = read_recorded(root)
    started, cpu_before = time.monotonic(), cpu_seconds()
    write_build(exercises, out, recorded)
    if args.command == "extract":
        for exercise in exercises:
            print(f"{exercise.label} -> {out / 'src' / exercise.name}.py")
        for line in unextracted:
            print(f"NOT EXTRACTED: {line}")
        return 1 if unextracted else 0

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
            found = run_catalogue(exercise, out / "src", root)
            outcomes[exercise.name] = found
            print(f"catalogue: {exercise.name}: {len(found)} wrong answers, "
                  f"{sum(o.status == 'caught' for o in found)} caught", flush=True)
    equivalents = read_equivalents(root)
    rows, stale = report.build_rows(exercises, mutants, equivalents, outcomes)
    wall, cpu = time.monotonic() - started, cpu_seconds() - cpu_before
    table = report.text(rows)
    print()
    print(table)
    used = [e for e in equivalents if e.exercise in {x.name for x in exercises}]
    if used and not args.skip_tool:
        print(f"\nEquivalent survivors ({report.EQUIVALENT_NOTE}):")
        for entry in used:
            print(f"  {entry.exercise}: {entry.original!r} -> {entry.mutated!r}")
    problems = [f"not extracted: {line}" for line in unextracted] + report.failures(
        rows,
        [] if args.skip_tool else stale,
        tool=not args.skip_tool,
        catalogue=not args.skip_catalogue,
    )
    footer = (
        f"Measured: {wall / 60:.1f} min wall, {cpu / 60:.1f} min CPU, "
        f"{args.jobs} processes."
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
