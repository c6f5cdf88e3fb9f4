"""Run chapter 02's (or 03's) notebook once per seed and print one line per seed.

Each seed executes the committed ``notebooks/02_ddpg_pendulum.ipynb`` (with
``--chapter 03``, ``notebooks/03_td3_pendulum.ipynb``) in a fresh kernel with
``COURSE_SEED`` set, exactly as ``make bench`` does (it calls
``benchmarks/run.py --one pendulum SEED``, or ``td3``), and reads the record the
notebook writes: the episode where the 10-episode training average first reached the
goal, the training seconds until then, and the noise-free evaluation on the shared
start states.

    python benchmarks/pendulum_seeds.py --seeds 0-9
    python benchmarks/pendulum_seeds.py --set WARMUP_EPISODES=0   # without warm-up
    python benchmarks/pendulum_seeds.py --chapter 03 --jobs 2

``--set NAME=VALUE`` trains a variant: a cell inserted after the hyperparameter cell
sets the constant (as ``make bench``'s ablations do; the notebook is not changed).
Seconds depend on the machine and on what else runs on it; episodes and evaluations
do not (a seeded run repeats itself).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_ranges import seed_list  # noqa: E402

RUN = Path(__file__).resolve().parent / "run.py"
TASKS = {"02": "pendulum", "03": "td3"}  # chapter -> run.py's task


def run_seed(
    seed: int, timeout: int, overrides: list[str], task: str = "pendulum"
) -> dict:
    """Execute the notebook with one seed; return its COURSE_RESULTS record."""
    command = [sys.executable, str(RUN), "--one", task, str(seed)]
    if overrides:
        command += ["--implementation", "course " + " ".join(overrides)]
        command += ["--set", *overrides]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"seed {seed} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def line(record: dict) -> str:
    """One row of the table for one seed."""

    def fmt(value, spec):
        return "–" if value is None else format(value, spec)

    worst = min(record["eval_returns"]) if record.get("eval_returns") else None
    return (
        f"| {record['seed']} | {fmt(record.get('episodes'), 'd')} "
        f"| {fmt(record.get('train_seconds'), '.1f')} "
        f"| {fmt(record.get('total_train_seconds'), '.1f')} "
        f"| {fmt(record.get('eval_mean'), '.1f')} | {fmt(worst, '.1f')} "
        f"| {fmt(record.get('hanging_start_reward'), '.1f')} "
        f"| {fmt(record.get('notebook_seconds'), '.0f')} "
        f"| {fmt(record.get('peak_memory_mb'), '.0f')} "
        f"| {record.get('notebook_error') or ''} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", default=["0-9"], metavar="SEEDS")
    parser.add_argument("--timeout", type=int, default=900, help="per seed, seconds")
    parser.add_argument("--jsonl", type=Path, help="also append the records here")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="NAME=VALUE", help="train a variant"
    )
    parser.add_argument("--chapter", choices=sorted(TASKS), default="02")
    parser.add_argument(
        "--jobs", type=int, default=1, help="notebooks run at once (seconds then "
        "measure a shared machine; episodes and evaluations do not change)"
    )
    args = parser.parse_args(argv)
    print(
        "| seed | crossing episode | s to crossing | s for all episodes "
        "| eval mean | worst eval episode | hanging start | notebook s | peak MB "
        "| error |\n"
        "|---|---|---|---|---|---|---|---|---|---|",
        flush=True,
    )
    records = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        runs = pool.map(
            lambda seed: run_seed(seed, args.timeout, args.set, TASKS[args.chapter]),
            seed_list(args.seeds),
        )
        for record in runs:  # in the seeds' order
            records.append(record)
            if args.jsonl:
                with args.jsonl.open("a") as handle:
                    handle.write(json.dumps(record) + "\n")
            print(line(record), flush=True)
    crossings = [r["episodes"] for r in records if r.get("episodes") is not None]
    evals = [r["eval_mean"] for r in records]
    seconds = [r["train_seconds"] for r in records if r.get("train_seconds")]
    print(
        f"\nreached the goal: {len(crossings)}/{len(records)}; "
        f"median crossing episode {statistics.median(crossings) if crossings else '–'}"
        f"; median s to crossing "
        f"{statistics.median(seconds) if seconds else float('nan'):.1f}; "
        f"eval: median {statistics.median(evals):.1f}, worst {min(evals):.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
