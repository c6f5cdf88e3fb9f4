"""Check chapter 03's generated sentences about the critics on many seeds.

Chapter 03 measures its critics' errors while DDPG and TD3 learn and prints sentences
built from those measurements (``describe_critics``): which critic ends closer to the
truth, and any mid-run gap. This script runs the chapter's own code on each seed,
exactly as the notebook does (DDPG, then TD3, 50 episodes each, the same environment,
the critics measured every 5 episodes), then compares every claim of the generated
text with the numbers it summarises, recomputed here independently:

    python benchmarks/td3_claims.py --seeds 0-9
    python benchmarks/td3_claims.py --seeds 0 --jobs 1

It loads the notebook ``notebooks/03_td3_pendulum.py`` by executing its code cells
that are not tagged ``training``, ``demonstration`` or ``instrumentation`` up to
TD3's training cell (every definition the runs need: the networks, ``train``,
``measure_bias``, ``describe_critics``, the three exercises' solutions). It prints
one row per seed and the claims that contradict their numbers; the exit status is 1
when there is any. Episodes repeat on a machine (a seeded run repeats itself).
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chapter_code import code_cells, run_cells  # noqa: E402
from seed_ranges import seed_list  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "03_td3_pendulum.py"
STOP_CELL = "rng = cu.seed_everything(SEED)  # TD3 starts"  # TD3's training cell
SKIPPED_TAGS = {"training", "demonstration", "instrumentation"}

_chapter: dict = {}


def chapter_code(path: Path = NOTEBOOK) -> list[str]:
    """The notebook's untagged code cells before TD3's training cell."""
    return code_cells(path, STOP_CELL, SKIPPED_TAGS)


def load_chapter() -> dict:
    """Run the chapter's cells once in this process; return their namespace."""
    if not _chapter:
        os.environ.pop("COURSE_SEED", None)  # each run seeds itself below
        _chapter.update(run_cells(chapter_code(), "chapter 03"))
    return _chapter


def run_seed(seed: int) -> dict:
    """DDPG then TD3 on one seed, as the notebook runs them; their measurements."""
    c = load_chapter()
    cu = c["cu"]
    rng = cu.seed_everything(seed)
    env = cu.make_env(c["ENV_ID"], seed=seed)
    measure_env = cu.make_env(
        c["ENV_ID"], seed=seed, max_episode_steps=c["ROLLOUT_STEPS"]
    )
    runs = {}
    for name, make in (("DDPG", c["make_ddpg"]), ("TD3", c["make_td3"])):
        if name == "TD3":
            rng = cu.seed_everything(seed)  # as the notebook's TD3 cell
        actor, critic, step, _ = make(env)
        result = c["train"](
            env, actor, step, rng, critic=critic, measure_env=measure_env, live=False
        )
        runs[name] = result["bias"]
    text = c["describe_critics"](runs, twin=("TD3",))
    return {"seed": seed, "runs": runs, "text": text}


def contradictions(runs: dict, text: list[str], ratio: float, floor: float,
                   tie: float) -> list[str]:
    """Claims of ``text`` that the measurements ``runs`` do not support."""
    found = []
    joined = "\n".join(text)
    finals = {name: ms[-1]["error_median"] for name, ms in runs.items()}
    (a, fa), (b, fb) = finals.items()
    for name, other in ((a, b), (b, a)):
        if f"{name}'s critic is closer" in joined and not (
            abs(finals[name]) < abs(finals[other])
        ):
            found.append(
                f"says {name}'s critic is closer, but its final median error "
                f"{finals[name]:+.1f} is not smaller in size than {finals[other]:+.1f}"
            )
    if "equally far" in joined and abs(abs(fa) - abs(fb)) > max(
        tie * max(abs(fa), abs(fb)), 2.0
    ):
        found.append(f"calls {fa:+.1f} and {fb:+.1f} equally far from the truth")
    if "equally far" not in joined and "critic is closer" not in joined:
        found.append("says nothing about which critic ends closer")
    for name, ms in runs.items():
        if f"a median of {finals[name]:+.1f} over" not in joined:
            found.append(
                f"does not state {name}'s final median error {finals[name]:+.1f}"
            )
        for key, statistic in (("error_median", "median"), ("error_mean", "mean")):
            limit = max(floor, ratio * abs(ms[-1][key]))
            gaps = [m for m in ms[1:-1] if abs(m[key]) >= limit]
            mentioned = any(
                line.startswith("Mid-run gap") and f"{name}'s {statistic} error" in line
                for line in text
            )
            if gaps and not mentioned:
                found.append(f"hides {name}'s mid-run gap of the {statistic} (episodes "
                             f"{[m['episode'] for m in gaps]}, limit {limit:.1f})")
            if mentioned and not gaps:
                found.append(f"reports a mid-run gap of {name} that is not there")
            if gaps:
                peak = max(gaps, key=lambda m: abs(m[key]))
                side = "over" if peak[key] > 0 else "under"
                expected = (f"at episode {peak['episode']} {name}'s {statistic} "
                            f"error was {peak[key]:+.1f} (it {side}-estimated)")
                if expected not in joined:
                    found.append(f"misreports {name}'s largest mid-run error: "
                                 f"expected {expected!r}")
    wins = sum(abs(mb["error_median"]) < abs(ma["error_median"])
               for ma, mb in zip(runs[a], runs[b], strict=True))
    expected = f"{b}'s median error was the smaller in size at {wins} and"
    if expected not in joined:
        found.append(f"miscounts the measurements: expected {expected!r}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", default=["0-9"], metavar="SEEDS")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--show-text", action="store_true",
                        help="print each seed's generated sentences")
    args = parser.parse_args(argv)
    seeds = seed_list(args.seeds)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_seed, seeds))
    chapter = load_chapter()
    ratio, floor, tie = chapter["GAP_RATIO"], chapter["GAP_FLOOR"], chapter["TIE"]
    print("| seed | DDPG final median error | TD3 final | closer at the end "
          "| TD3 smaller at (of measurements) | mid-run gaps | contradictions |")
    print("|---|---|---|---|---|---|---|")
    failures, td3_closer = 0, 0
    for r in results:
        runs, text = r["runs"], r["text"]
        ddpg, td3 = runs["DDPG"][-1]["error_median"], runs["TD3"][-1]["error_median"]
        closer = "TD3" if abs(td3) < abs(ddpg) else "DDPG"
        td3_closer += closer == "TD3"
        wins = sum(abs(t["error_median"]) < abs(d["error_median"])
                   for d, t in zip(runs["DDPG"], runs["TD3"], strict=True))
        gaps = [name for name in runs
                if any(line.startswith("Mid-run gap") and f" {name}'s " in line
                       for line in text)]
        found = contradictions(runs, text, ratio, floor, tie)
        failures += bool(found)
        print(f"| {r['seed']} | {ddpg:+.1f} | {td3:+.1f} | {closer} "
              f"| {wins} of {len(runs['TD3'])} | {', '.join(gaps) or '–'} "
              f"| {len(found)} |")
        for problem in found:
            print(f"  seed {r['seed']}: the text {problem}", file=sys.stderr)
        if args.show_text:
            print("\n".join(f"    {line}" for line in text))
    print(f"\nTD3's first critic ended closer to the truth on {td3_closer} of "
          f"{len(results)} seeds; seeds with a contradicted claim: {failures}.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
