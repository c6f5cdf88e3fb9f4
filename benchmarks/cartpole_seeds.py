"""Train chapter 01's agent on many seeds and variants; count the failures.

One notebook run per seed (``benchmarks/run.py --one cartpole SEED``) takes a minute;
this script runs only the chapter's training, so that a learning rate can be judged on
a hundred seeds instead of five. It reads the code cells of
``notebooks/01_actor_critic_cartpole.py`` up to the training cell (the chapter's own
``build_agent``, ``train`` and everything they use), then, for every seed and
variant (learning rate, and whether perfect episodes are learned from), builds a
fresh agent and trains it to the chapter's criterion:

    python benchmarks/cartpole_seeds.py --seeds 0-99 --learning-rates 0.03 0.02
    python benchmarks/cartpole_seeds.py --seeds 0-99 --perfect skip keep

Each seed seeds Keras and the action sampling with the seed itself (as Exercise 5's
``train_on_seeds`` does), not through the notebook's ``SEED``: the runs are not the
notebook's own curves for that ``COURSE_SEED``, but a sample of the same process.
Episodes and steps repeat on a machine (a seeded run repeats itself); seconds depend
on the machine and on what else runs on it, so they are not printed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chapter_code import code_cells, run_cells  # noqa: E402
from seed_ranges import seed_list  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "01_actor_critic_cartpole.py"
TRAINING_CELL = "baseline = train("
# A run that ends with its last 20 episodes this short has collapsed: the actor is
# sure of one action and pushes the same way until the pole falls.
COLLAPSED_EPISODE = 20

_chapter: dict = {}


def chapter_code(path: Path = NOTEBOOK) -> list[str]:
    """The notebook's code cells before the training cell, as source texts."""
    return code_cells(path, TRAINING_CELL)


def chapter_constant(name: str, path: Path = NOTEBOOK) -> float:
    """The number an UPPER_CASE constant of the chapter's cells is set to."""
    match = re.search(rf"^{name} = ([0-9.e+-]+)", path.read_text(), re.MULTILINE)
    if match is None:
        raise ValueError(f"{path} does not set {name} to a number")
    return float(match.group(1))


def load_chapter() -> dict:
    """Run the chapter's cells once in this process; return their namespace."""
    if not _chapter:
        _chapter.update(run_cells(chapter_code(), "chapter 01"))
    return _chapter


def train_one(task: tuple[float, str, int, int]) -> dict:
    """Train a fresh agent with one variant and seed; return its summary.

    Args:
        task: (learning rate, "skip" or "keep" for perfect episodes, seed, most
            episodes).
    """
    learning_rate, perfect, seed, max_episodes = task
    chapter = load_chapter()
    keras, np = chapter["keras"], chapter["np"]
    keras.utils.set_random_seed(seed)
    model = chapter["build_agent"](
        chapter["num_inputs"], chapter["num_actions"], chapter["NUM_HIDDEN"]
    )
    run = chapter["train"](
        model,
        env_id=chapter["ENV_ID"],
        seed=seed,
        rng=np.random.default_rng(seed),
        learning_rate=learning_rate,
        gamma=chapter["GAMMA"],
        window=chapter["WINDOW"],
        threshold=chapter["threshold"],
        max_episodes=max_episodes,
        skip_perfect=perfect == "skip",
        live=False,
    )
    last = run["rewards"][-COLLAPSED_EPISODE:]
    return {
        "learning_rate": learning_rate,
        "perfect": perfect,
        "seed": seed,
        "solved_at": run["solved_at"],
        "env_steps": run["env_steps"],
        "collapsed": not run["solved"] and max(last) < COLLAPSED_EPISODE,
    }


def summary(runs: list[dict], max_episodes: int) -> str:
    """One markdown row: variant, solved, medians, slowest, failures."""
    solved = [run for run in runs if run["solved_at"] is not None]
    failed = [run for run in runs if run["solved_at"] is None]
    episodes = [run["solved_at"] or max_episodes for run in runs]
    slowest = max((run["solved_at"] for run in solved), default=None)
    collapsed = [run["seed"] for run in failed if run["collapsed"]]
    others = [run["seed"] for run in failed if not run["collapsed"]]
    return (
        f"| {runs[0]['learning_rate']:g} | {runs[0]['perfect']} "
        f"| {len(solved)} of {len(runs)} "
        f"| {statistics.median(episodes):g} "
        f"| {statistics.median(run['env_steps'] for run in runs):,.0f} "
        f"| {slowest if slowest is not None else '–'} "
        f"| {', '.join(map(str, collapsed)) or '–'} "
        f"| {', '.join(map(str, others)) or '–'} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", default=["0-99"], metavar="SEEDS")
    parser.add_argument(
        "--learning-rates",
        nargs="+",
        type=float,
        metavar="RATE",
        help="default: the chapter's LEARNING_RATE",
    )
    parser.add_argument(
        "--perfect",
        nargs="+",
        choices=["skip", "keep"],
        default=["skip"],
        help="skip the update after a perfect episode (as the chapter does) or keep it",
    )
    parser.add_argument("--max-episodes", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    args.learning_rates = args.learning_rates or [chapter_constant("LEARNING_RATE")]
    seeds = seed_list(args.seeds)
    variants = [
        (rate, perfect) for rate in args.learning_rates for perfect in args.perfect
    ]
    tasks = [
        (*variant, seed, args.max_episodes) for variant in variants for seed in seeds
    ]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(train_one, tasks))
    print(
        f"Chapter 01's training on seeds {' '.join(args.seeds)}, at most "
        f"{args.max_episodes} episodes (unsolved runs count as that many)\n\n"
        "| learning rate | perfect episodes | solved | median episodes "
        "| median steps | slowest solved | collapsed (seeds) "
        "| other failures (seeds) |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    for rate, perfect in variants:
        runs = [
            r for r in results if (r["learning_rate"], r["perfect"]) == (rate, perfect)
        ]
        print(summary(runs, args.max_episodes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
