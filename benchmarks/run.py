"""Benchmark the course's training against Stable-Baselines3, in one command.

The course's side executes each notebook the way nbval does (a fresh kernel running
the committed ``.ipynb``, no copy of its code), once per seed, with ``COURSE_SEED`` set,
and reads the JSON record the notebook appends to ``COURSE_RESULTS``. Each execution
happens in its own subprocess, so that the kernel's peak memory is that subprocess's
largest child (``RUSAGE_CHILDREN``). With ``--baselines``, Stable-Baselines3 (rl-zoo
hyperparameters) trains on the same tasks, seeds and criteria in its own environment
(``benchmarks/sb3_baselines.py``). The raw records go to ``OUT/records.jsonl``, the
table to ``OUT/table.md`` and, with ``--readme``, into README.md's Performance section.

    python benchmarks/run.py --tasks cartpole pendulum --seeds 0 1 2 3 4 \\
        --baselines --sb3-python benchmarks/.venv-sb3/bin/python --time-make-test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = {
    "cartpole": ROOT / "notebooks" / "01_actor_critic_cartpole.ipynb",
    "pendulum": ROOT / "notebooks" / "02_ddpg_pendulum.ipynb",
}
BASELINES = {"cartpole": ["a2c", "ppo"], "pendulum": ["ddpg", "td3"]}
CRITERIA = {
    "cartpole": "CartPole-v1: mean reward of the last 100 episodes >= 475",
    "pendulum": "Pendulum-v1: mean reward of the last 10 training episodes >= -200",
}
README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def execute_notebook(path: Path, seed: int, timeout: int) -> dict:
    """Run one notebook in a fresh kernel; return its record plus the kernel's peak RSS.

    Meant to run in a subprocess of its own (see ``--one``): once the kernel has
    exited, this process's largest finished child is the kernel.
    """
    import nbformat
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory() as workdir:
        results = Path(workdir) / "results.jsonl"
        os.environ.update(COURSE_SEED=str(seed), COURSE_RESULTS=str(results))
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        notebook = nbformat.read(path, as_version=4)
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": workdir}},
        )
        start = time.perf_counter()
        notebook_error = None
        try:
            client.execute()
        except Exception as error:  # a failing cell after training: keep the record
            notebook_error = (str(error).strip().splitlines() or ["?"])[-1][:300]
        wall = time.perf_counter() - start
        lines = results.read_text().splitlines() if results.exists() else []
    if not lines:
        raise RuntimeError(
            f"{path.name} (seed {seed}) wrote no COURSE_RESULTS record: "
            f"{notebook_error}"
        )
    record = json.loads(lines[0])
    record.update(
        implementation="course",
        task=next(task for task, nb in NOTEBOOKS.items() if nb == path),
        notebook_seconds=wall,
        notebook_error=notebook_error,
        peak_memory_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    )
    return record


def run_json(command: list[str], timeout: int) -> dict:
    """Run a command that prints one JSON record on its last stdout line."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(values: list[float], digits: int = 1) -> str:
    """``median [min–max]`` of a list of numbers."""
    if not values:
        return "–"
    fmt = f"{{:.{digits}f}}"
    median = fmt.format(statistics.median(values))
    if len(values) == 1:
        return median
    return f"{median} [{fmt.format(min(values))}–{fmt.format(max(values))}]"


def table(records: list[dict]) -> str:
    """The markdown table: one row per task and implementation."""
    head = (
        "| task | implementation | solved | episodes | env steps | train s "
        "| peak memory MB | eval mean (20 ep.) | course time ÷ this |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    rows = [head]
    for task in NOTEBOOKS:
        groups: dict[str, list[dict]] = {}
        for record in records:
            if record["task"] == task:
                groups.setdefault(record["implementation"], []).append(record)
        course = groups.get("course", [])
        course_seconds = [
            r["train_seconds"] for r in course if r.get("train_seconds") is not None
        ]
        course_time = statistics.median(course_seconds) if course_seconds else None
        for name, group in groups.items():
            done = [r for r in group if r.get("train_seconds") is not None]
            seconds = [r["train_seconds"] for r in done]
            ratio = "–"
            if course_time is not None and name != "course" and seconds:
                ratio = f"{course_time / statistics.median(seconds):.2f}"
            evals = [r["eval_mean"] for r in group if r.get("eval_mean") is not None]
            rows.append(
                f"| {CRITERIA[task].split(':')[0]} | {name} "
                f"| {sum(r['solved'] for r in group)}/{len(group)} "
                f"| {summarise([r['episodes'] for r in done], 0)} "
                f"| {summarise([r['env_steps'] for r in done], 0)} "
                f"| {summarise(seconds)} "
                f"| {summarise([r['peak_memory_mb'] for r in done], 0)} "
                f"| {summarise(evals) if evals else '–'} | {ratio} |"
            )
    return "\n".join(rows)


def machine() -> str:
    """One line describing the machine the figures come from."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, {platform.system()}, "
        f"Python {platform.python_version()}"
    )


def report(records: list[dict], seeds: list[int], extra: list[str]) -> str:
    """The whole Performance text: table, criteria, machine, command."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Measured {when} on {machine()}, by `make bench` (seeds {seeds}).",
        "Figures are medians [min–max] over the seeds; *train s* is the training time "
        "until the criterion first holds.",
        "",
        table(records),
        "",
        "Criteria: " + "; ".join(CRITERIA.values()) + ". Pendulum's evaluation: the "
        "deterministic actor over 20 seeded episodes (course: after its 50 training "
        "episodes; Stable-Baselines3: right after the criterion holds).",
    ]
    failures = [
        f"- {r['task']} {r['implementation']} seed {r['seed']}: "
        f"{r.get('error') or r.get('notebook_error')}"
        for r in records
        if r.get("error") or r.get("notebook_error")
    ]
    if failures:
        lines += [
            "",
            "Runs that failed (counted as unsolved when no record):",
            *failures,
        ]
    return "\n".join(lines + extra)


def update_readme(text: str) -> None:
    readme = ROOT / "README.md"
    content = readme.read_text()
    start, end = content.find(README_START), content.find(README_END)
    if start < 0 or end < start:
        raise SystemExit(f"README.md needs {README_START} ... {README_END}")
    readme.write_text(
        content[: start + len(README_START)] + "\n" + text + "\n" + content[end:]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tasks", nargs="+", choices=sorted(NOTEBOOKS), default=sorted(NOTEBOOKS)
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--baselines",
        action="store_true",
        help="also run Stable-Baselines3 (needs --sb3-python)",
    )
    parser.add_argument(
        "--sb3-python",
        default=str(ROOT / "benchmarks" / ".venv-sb3" / "bin" / "python"),
    )
    parser.add_argument("--time-make-test", action="store_true")
    parser.add_argument(
        "--readme",
        action="store_true",
        help="write the table into README.md's Performance section",
    )
    parser.add_argument("--timeout", type=int, default=900, help="per run, seconds")
    parser.add_argument(
        "--one", nargs=2, metavar=("TASK", "SEED"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)

    if args.one:
        task, seed = args.one
        print(json.dumps(execute_notebook(NOTEBOOKS[task], int(seed), args.timeout)))
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    records_path = args.out / "records.jsonl"
    records: list[dict] = []

    def keep(record: dict) -> None:
        records.append(record)
        with records_path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        print(
            f"{record['task']:9} {record['implementation']:9} seed {record['seed']}: "
            f"solved={record['solved']} episodes={record['episodes']} "
            f"train_s={record['train_seconds']:.1f} "
            f"mem={record['peak_memory_mb']:.0f}MB",
            flush=True,
        )

    def attempt(command: list[str], name: str, task: str, seed: int) -> None:
        """Run one measurement; a failure is kept as an unsolved run, not a crash."""
        try:
            keep(run_json(command, args.timeout + 60))
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as error:
            last = (str(error).strip().splitlines() or ["?"])[-1][:300]
            print(f"{task} {name} seed {seed}: FAILED: {last}", flush=True)
            records.append(
                dict(
                    implementation=name,
                    task=task,
                    seed=seed,
                    solved=False,
                    episodes=None,
                    env_steps=None,
                    train_seconds=None,
                    peak_memory_mb=None,
                    error=last,
                )
            )
            with records_path.open("a") as handle:
                handle.write(json.dumps(records[-1]) + "\n")

    records_path.write_text("")
    for task in args.tasks:
        for seed in args.seeds:
            attempt(
                [sys.executable, __file__, "--one", task, str(seed)],
                "course",
                task,
                seed,
            )
        if args.baselines:
            script = str(ROOT / "benchmarks" / "sb3_baselines.py")
            for algo in BASELINES[task]:
                for seed in args.seeds:
                    command = [
                        args.sb3_python,
                        script,
                        "--task",
                        task,
                        "--algo",
                        algo,
                        "--seed",
                        str(seed),
                    ]
                    attempt(command, f"SB3 {algo.upper()}", task, seed)
    extra = []
    if args.time_make_test:
        start = time.perf_counter()
        done = subprocess.run(
            ["make", "test"], cwd=ROOT, capture_output=True, text=True
        )
        seconds = time.perf_counter() - start
        summaries = [line for line in done.stdout.splitlines() if " passed" in line]
        summary = (summaries or ["no pytest summary"])[-1].strip("= ")
        extra.append(
            f"\n`make test` (environment already installed): {seconds:.0f} s, "
            f"exit code {done.returncode}, pytest: {summary}."
        )
    text = report(records, args.seeds, extra)
    (args.out / "table.md").write_text(text + "\n")
    print("\n" + text)
    if args.readme:
        update_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
