"""Train chapter 01's agent on many seeds and learning rates; count the failures.

One notebook run per seed (``benchmarks/run.py --one cartpole SEED``) takes a minute;
this script runs only the chapter's training, so that a learning rate can be judged on
a hundred seeds instead of five. It reads the code cells of
``notebooks/01_actor_critic_cartpole.py`` up to the training cell (the chapter's own
``build_agent``, ``train`` and everything they use), then, for every seed and
learning rate, builds a fresh agent and trains it to the chapter's criterion:

    python benchmarks/cartpole_seeds.py --seeds 0-59 --learning-rates 0.02 0.03

Each seed seeds Keras and the action sampling with the seed itself (as Exercise 5's
``train_on_seeds`` does), not through the notebook's ``SEED``: the runs are not the
notebook's own curves for that ``COURSE_SEED``, but a sample of the same process.
Episodes and steps repeat on a machine (a seeded run repeats itself); seconds depend
on the machine and on what else runs on it, so they are not printed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import linecache
import os
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "01_actor_critic_cartpole.py"
TRAINING_CELL = "baseline = train("
# A run that ends with its last 20 episodes this short has collapsed: the actor is
# sure of one action and pushes the same way until the pole falls.
COLLAPSED_EPISODE = 20

_chapter: dict = {}


def chapter_code(path: Path = NOTEBOOK) -> list[str]:
    """The notebook's code cells before the training cell, as source texts."""
    import jupytext

    cells = []
    for cell in jupytext.read(path).cells:
        if cell.cell_type != "code":
            continue
        if cell.source.lstrip().startswith(TRAINING_CELL):
            return cells
        cells.append(cell.source)
    raise ValueError(f"{path} has no cell starting with {TRAINING_CELL!r}")


def load_chapter() -> dict:
    """Run the chapter's cells once in this process; return their namespace."""
    if not _chapter:
        os.environ.setdefault("MPLBACKEND", "Agg")
        namespace = {"__name__": "chapter01"}
        # The cells print and draw as they would for a student: not wanted here.
        with contextlib.redirect_stdout(io.StringIO()):
            for index, source in enumerate(chapter_code()):
                # Each cell gets a file name of its own in linecache, as in a
                # kernel: tf.function's AutoGraph reads the functions' source there.
                name = f"<chapter 01, cell {index}>"
                lines = source.splitlines(keepends=True)
                linecache.cache[name] = (len(source), None, lines, name)
                exec(compile(source, name, "exec"), namespace)  # noqa: S102
        _chapter.update(namespace)
    return _chapter


def train_one(task: tuple[float, int, int]) -> dict:
    """Train a fresh agent with one learning rate and seed; return its summary."""
    learning_rate, seed, max_episodes = task
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
        live=False,
    )
    last = run["rewards"][-COLLAPSED_EPISODE:]
    return {
        "learning_rate": learning_rate,
        "seed": seed,
        "solved_at": run["solved_at"],
        "env_steps": run["env_steps"],
        "collapsed": not run["solved"] and max(last) < COLLAPSED_EPISODE,
    }


def seed_list(texts: list[str]) -> list[int]:
    """Seeds from '0-59' ranges and single numbers."""
    seeds = []
    for text in texts:
        first, _, last = text.partition("-")
        try:
            seeds += list(range(int(first), int(last or first) + 1))
        except ValueError:
            message = f"--seeds: {text!r} is not a seed or a range like 0-59"
            raise SystemExit(message) from None
    return seeds


def summary(runs: list[dict], max_episodes: int) -> str:
    """One markdown row: learning rate, solved, medians, slowest, failures."""
    solved = [run for run in runs if run["solved_at"] is not None]
    failed = [run for run in runs if run["solved_at"] is None]
    episodes = [run["solved_at"] or max_episodes for run in runs]
    slowest = max((run["solved_at"] for run in solved), default=None)
    collapsed = [run["seed"] for run in failed if run["collapsed"]]
    others = [run["seed"] for run in failed if not run["collapsed"]]
    return (
        f"| {runs[0]['learning_rate']:g} | {len(solved)} of {len(runs)} "
        f"| {statistics.median(episodes):g} "
        f"| {statistics.median(run['env_steps'] for run in runs):,.0f} "
        f"| {slowest if slowest is not None else '–'} "
        f"| {', '.join(map(str, collapsed)) or '–'} "
        f"| {', '.join(map(str, others)) or '–'} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", default=["0-59"], metavar="SEEDS")
    parser.add_argument(
        "--learning-rates", nargs="+", type=float, default=[0.02], metavar="RATE"
    )
    parser.add_argument("--max-episodes", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    seeds = seed_list(args.seeds)
    tasks = [
        (rate, seed, args.max_episodes)
        for rate in args.learning_rates
        for seed in seeds
    ]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(train_one, tasks))
    print(
        f"Chapter 01's training on seeds {args.seeds}, at most {args.max_episodes} "
        "episodes (unsolved runs count as that many)\n\n"
        "| learning rate | solved | median episodes | median steps "
        "| slowest solved | collapsed (seeds) | other failures (seeds) |\n"
        "|---|---|---|---|---|---|---|"
    )
    for rate in args.learning_rates:
        print(
            summary(
                [r for r in results if r["learning_rate"] == rate], args.max_episodes
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
