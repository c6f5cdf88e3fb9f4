"""Benchmark the course's training against Stable-Baselines3, in one command.

The course's side executes each notebook the way nbval does (a fresh kernel running
the committed ``.ipynb``, no copy of its code), once per seed, with ``COURSE_SEED`` set,
and reads the JSON record the notebook appends to ``COURSE_RESULTS``. Each execution
happens in its own subprocess, so that the kernel's peak memory is that subprocess's
largest child (``RUSAGE_CHILDREN``). With ``--baselines``, Stable-Baselines3 (rl-zoo
hyperparameters) trains on the same tasks, seeds and criteria in its own environment
(``benchmarks/sb3_baselines.py``). The raw records go to ``OUT/records.jsonl``, the
table to ``OUT/table.md`` and, with ``--readme``, into README.md's Performance section.

With ``--readme`` (what ``make bench`` runs) the run is also saved to
``benchmarks/last_run.json`` (records, summary rows, the README text), and each
chapter's closing note "Measured on our machine" is regenerated from it: the markdown
cell between ``<!-- bench:start -->`` and ``<!-- bench:end -->`` in the notebook's
``.py``, then the notebooks are re-paired and the student versions rebuilt. No figure
measured on a machine is typed by hand; ``--notes`` redoes only this last step.

    python benchmarks/run.py --tasks cartpole pendulum --seeds 0 1 2 3 4 \\
        --baselines --sb3-python benchmarks/.venv-sb3/bin/python --time-make-test
    python benchmarks/run.py --notes   # notes from the saved run, nothing measured
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
    "td3": ROOT / "notebooks" / "03_td3_pendulum.ipynb",
}
# Stable-Baselines3's TD3 trains once, under "pendulum" (same task and criterion);
# chapter 03's note quotes it from there (see BASELINE_TASK).
BASELINES = {"cartpole": ["a2c", "ppo"], "pendulum": ["ddpg", "td3"], "td3": []}
BASELINE_TASK = {"td3": "pendulum"}
CRITERIA = {
    "cartpole": "CartPole-v1: mean reward of the last 100 episodes >= 475",
    "pendulum": "Pendulum-v1: mean reward of the last 10 training episodes >= -200",
    "td3": "Pendulum-v1 TD3 (chapter 03): the same criterion",
}
README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"
LAST_RUN = ROOT / "benchmarks" / "last_run.json"
# The notebook sources whose closing note a run regenerates.
CHAPTERS = {
    "cartpole": ROOT / "notebooks" / "01_actor_critic_cartpole.py",
    "pendulum": ROOT / "notebooks" / "02_ddpg_pendulum.py",
    "td3": ROOT / "notebooks" / "03_td3_pendulum.py",
}
# Variants of a chapter that a run also trains, on the same seeds, to measure what
# one of the chapter's choices does. Name -> constants set by a code cell inserted
# after the chapter's hyperparameter cell (the committed notebook is not changed).
ABLATIONS = {
    "pendulum": {"course without warm-up": {"WARMUP_EPISODES": "0"}},
}
# Figures kept per task and implementation: median, min and max over the seeds.
STATS = (
    "episodes", "env_steps", "train_seconds", "notebook_seconds", "peak_memory_mb",
    "eval_mean",
)


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """``["NAME=VALUE", ...]`` -> ``{NAME: VALUE}``; NAME an UPPER_CASE constant,
    VALUE a Python literal (nothing else can be injected into a notebook)."""
    import ast

    overrides = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not (name.isidentifier() and name.isupper()):
            raise ValueError(f"--set {pair!r}: expected CONSTANT=literal")
        ast.literal_eval(value)  # raises ValueError/SyntaxError on anything else
        overrides[name] = value
    return overrides


def with_overrides(notebook, overrides: dict[str, str]):
    """Insert, after the hyperparameter cell, a code cell that sets ``overrides``.

    The hyperparameter cell is the code cell that calls ``cu.resolve_seed``; the
    later cells then see the new values, as if the constants had been edited there.
    """
    import nbformat

    if not overrides:
        return notebook
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and "cu.resolve_seed(" in cell.source:
            source = "\n".join(f"{name} = {value}" for name, value in overrides.items())
            notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
            return notebook
    raise ValueError("no hyperparameter cell (one that calls cu.resolve_seed)")


def execute_notebook(
    path: Path,
    seed: int,
    timeout: int,
    overrides: dict[str, str] | None = None,
    implementation: str = "course",
) -> dict:
    """Run one notebook in a fresh kernel; return its record plus the kernel's peak RSS.

    Meant to run in a subprocess of its own (see ``--one``): once the kernel has
    exited, this process's largest finished child is the kernel. ``overrides``
    (constant -> literal) trains a variant (see :data:`ABLATIONS`), recorded under
    the name ``implementation``.
    """
    import nbformat
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory() as workdir:
        results = Path(workdir) / "results.jsonl"
        os.environ.update(COURSE_SEED=str(seed), COURSE_RESULTS=str(results))
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        notebook = with_overrides(nbformat.read(path, as_version=4), overrides or {})
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
        implementation=implementation,
        overrides=overrides or {},
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


def spread(values: list[float]) -> dict | None:
    """Median, min and max of some numbers (None when there are none)."""
    if not values:
        return None
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def summary_rows(records: list[dict]) -> list[dict]:
    """One row per task and implementation: runs, solved, and :data:`STATS`.

    Episodes, steps, training seconds and memory are summarised over the runs that
    reached the criterion (a failed run has none); the evaluation and the whole
    notebook's seconds over every run that has one.
    """
    rows = []
    for task in NOTEBOOKS:
        groups: dict[str, list[dict]] = {}
        for record in records:
            if record["task"] == task:
                groups.setdefault(record["implementation"], []).append(record)
        for name, group in groups.items():
            done = [r for r in group if r.get("train_seconds") is not None]
            row = {"task": task, "implementation": name, "runs": len(group),
                   "solved": sum(bool(r["solved"]) for r in group)}
            for key in STATS:
                pool = group if key in ("eval_mean", "notebook_seconds") else done
                row[key] = spread([r[key] for r in pool if r.get(key) is not None])
            rows.append(row)
    return rows


def summarise(stat: dict | None, digits: int = 1) -> str:
    """``median [min–max]`` of a :func:`spread`, or "–"."""
    if not stat:
        return "–"
    fmt = f"{{:.{digits}f}}"
    median = fmt.format(stat["median"])
    if stat["n"] == 1:
        return median
    return f"{median} [{fmt.format(stat['min'])}–{fmt.format(stat['max'])}]"


def find_row(rows: list[dict], task: str, implementation: str) -> dict | None:
    """The summary row of one task and implementation, or None."""
    for row in rows:
        if row["task"] == task and row["implementation"] == implementation:
            return row
    return None


def table(rows: list[dict], *, shared: tuple[int, int] | None = None) -> str:
    """The markdown table: one row per task and implementation.

    ``shared``: ``(eval_seed, eval_episodes)`` when every evaluation used the same
    start states (see :func:`shared_start_states`); the *eval mean* column says so.
    """
    evaluation = f"eval mean (same {shared[1]} starts)" if shared else "eval mean"
    head = (
        "| task | implementation | solved | episodes | env steps | train s "
        f"| whole notebook s | peak memory MB | {evaluation} | course time ÷ this |\n"
        "|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for row in rows:
        course = find_row(rows, row["task"], "course") or {}
        ratio = "–"
        mine, theirs = course.get("train_seconds"), row["train_seconds"]
        if row["implementation"] != "course" and mine and theirs:
            ratio = f"{mine['median'] / theirs['median']:.2f}"
        lines.append(
            f"| {CRITERIA[row['task']].split(':')[0]} | {row['implementation']} "
            f"| {row['solved']}/{row['runs']} "
            f"| {summarise(row['episodes'], 0)} "
            f"| {summarise(row['env_steps'], 0)} "
            f"| {summarise(row['train_seconds'])} "
            f"| {summarise(row.get('notebook_seconds'), 0)} "
            f"| {summarise(row['peak_memory_mb'], 0)} "
            f"| {summarise(row['eval_mean'])} | {ratio} |"
        )
    return "\n".join(lines)


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


def shared_start_states(records: list[dict]) -> tuple[int, int] | None:
    """``(eval_seed, eval_episodes)`` when every evaluated record used the same ones.

    None when no record was evaluated, or when one of them does not say (older runs)
    or says otherwise.
    """
    plans = {
        (r.get("eval_seed"), r.get("eval_episodes"))
        for r in records
        if r.get("eval_mean") is not None
    }
    if len(plans) != 1 or None in next(iter(plans)):
        return None
    return next(iter(plans))


def evaluation_note(records: list[dict]) -> str:
    """How Pendulum's *eval mean* was measured, read from the records themselves.

    Each Pendulum record says which start states its evaluation used (episode ``i``
    starts from ``reset(seed=eval_seed + i)``, ``i < eval_episodes``). The note says
    that they are the same for every implementation and seed only when they are.
    """
    evaluated = [r for r in records if r.get("eval_mean") is not None]
    if not evaluated:
        return ""
    plans = {(r.get("eval_seed"), r.get("eval_episodes")) for r in evaluated}
    when = (
        "the course after its 50 training episodes, Stable-Baselines3 right after "
        "the criterion holds"
    )
    shared = shared_start_states(records)
    if shared:
        first, count = shared
        return (
            f"Pendulum's *eval mean*: the deterministic actor over {count} episodes "
            f"from the same {count} start states for every implementation and every "
            f"training seed (`reset(seed={first} + i)`, i < {count}); {when}."
        )
    return (
        "Pendulum's *eval mean*: the deterministic actor over seeded episodes, but "
        f"NOT on the same start states for every run ({sorted(map(str, plans))}); "
        f"{when}."
    )


# What the first call of each chapter's update step does (chapter 01 has no XLA).
FIRST_CALL = {
    "cartpole": "Tracing the update step into a graph",
    "pendulum": "Tracing and XLA-compiling the update step",
    "td3": "Tracing and XLA-compiling the update step",
}


def compile_figures(records: list[dict], task: str) -> tuple[float, float] | None:
    """Median compile seconds and median share of train s of a task's course runs.

    None when no course record of the task has ``compile_seconds``.
    """
    pairs = [
        (r["compile_seconds"], r["train_seconds"])
        for r in records
        if r["task"] == task and r["implementation"] == "course"
        and r.get("compile_seconds") is not None and r.get("train_seconds")
    ]
    if not pairs:
        return None
    return (
        statistics.median(c for c, _ in pairs),
        statistics.median(c / t for c, t in pairs),
    )


def compile_note(records: list[dict]) -> str:
    """How much of the course's training time compiling took, from the records.

    Each notebook times the first call of its update step (tracing it into a graph,
    and XLA compiling it in chapters 02 and 03) as ``compile_seconds``; that call
    counts in ``train_seconds``. One clause per task whose course records have it.
    """
    clauses = []
    for task in NOTEBOOKS:
        figures = compile_figures(records, task)
        if figures is None:
            continue
        seconds, share = figures
        clauses.append(
            f"{CRITERIA[task].split(':')[0]} {seconds:.1f} s ({share:.0%} of its "
            "train s)"
        )
    if not clauses:
        return ""
    return (
        "Compiling, counted in the course's *train s*: the first call of the update "
        "step, which traces it (and, in chapters 02 and 03, XLA compiles it), took a "
        "median of " + "; ".join(clauses) + "."
    )


# The course's time over a baseline's that issue #22 aims at: (task, baseline
# implementation, aim). Chapter 03 is compared with Stable-Baselines3's TD3, which
# trains under "pendulum" (BASELINE_TASK).
RATIO_AIMS = (
    ("cartpole", "SB3 PPO", 0.08),
    ("pendulum", "SB3 DDPG", 0.08),
    ("td3", "SB3 TD3", 0.06),
)


def targets_note(rows: list[dict]) -> str:
    """The course's time ÷ the baseline's for each aim of :data:`RATIO_AIMS`."""
    clauses = []
    for task, baseline, aim in RATIO_AIMS:
        course = find_row(rows, task, "course")
        theirs = find_row(rows, BASELINE_TASK.get(task, task), baseline)
        if not (course and theirs and course["train_seconds"]
                and theirs["train_seconds"]):
            continue
        ratio = course["train_seconds"]["median"] / theirs["train_seconds"]["median"]
        verdict = "met" if ratio <= aim else "not met"
        clauses.append(
            f"{CRITERIA[task].split(':')[0]} course ÷ {baseline} {ratio:.2f} "
            f"(aim {aim:.2f}: {verdict})"
        )
    if not clauses:
        return ""
    return "Against the speed aims (median train s): " + "; ".join(clauses) + "."


def measured_text(when: str, where: str, seeds: list[int],
                  measured_by_task: dict[str, str] | None = None) -> str:
    """The table's first sentence: when, where and on which seeds.

    ``measured_by_task`` (task -> date) names each task's date when the rows were
    measured at different times (``--tasks`` re-measures some, keeps the others).
    """
    dates = {}
    for task, date in (measured_by_task or {}).items():
        dates.setdefault(date, []).append(CRITERIA[task].split(":")[0])
    if len(dates) <= 1:
        return f"Measured {when} on {where}, by `make bench` (seeds {seeds})."
    parts = "; ".join(
        f"{' and '.join(names)} rows on {date}" for date, names in dates.items()
    )
    return f"Measured on {where}, by `make bench` (seeds {seeds}): {parts}."


def report(
    records: list[dict], seeds: list[int], extra: list[str], *, when: str,
    where: str, measured_by_task: dict[str, str] | None = None,
) -> str:
    """The whole Performance text: table, criteria, machine, command."""
    lines = [
        measured_text(when, where, seeds, measured_by_task),
        "Figures are medians [min–max] over the seeds; *train s* is the training time "
        "until the criterion first holds; *whole notebook s* the wall time of the "
        "whole notebook in a fresh kernel (everything in it: training, "
        "demonstrations, exercises' checks, experiments), from the kernel's start.",
        "",
        table(
            summary_rows(records),
            shared=shared_start_states(records),
        ),
        "",
        "Criteria: " + "; ".join(CRITERIA.values()) + ". " + evaluation_note(records),
    ]
    if compile_note(records):
        lines += ["", compile_note(records)]
    if targets_note(summary_rows(records)):
        lines += ["", targets_note(summary_rows(records))]
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


# --------------------------------------------------------------------------------------
# The saved run and the chapters' closing notes
# --------------------------------------------------------------------------------------
def save_run(path: Path, run: dict) -> None:
    """Write the run (see :func:`load_run`) as indented JSON."""
    path.write_text(json.dumps(run, indent=1, ensure_ascii=False) + "\n")


def load_run(path: Path = LAST_RUN) -> dict:
    """The saved run: ``measured`` (UTC date and time), ``machine``, ``seeds``,
    ``rows`` (:func:`summary_rows`), ``records`` and ``readme`` (the README text);
    ``source`` says where the figures come from when not from this script."""
    return json.loads(path.read_text())


OVER = " over the seeds"


def _median(stat: dict | None, digits: int, unit: str = "") -> str:
    """The median of a spread, e.g. ``"89,860"`` or ``"3.7 s"``."""
    if not stat:
        return "–"
    return f"{stat['median']:,.{digits}f}{unit}"


def _range(stat: dict | None, digits: int, unit: str = "", words: str = "") -> str:
    """The spread's range, e.g. ``" (263 to 467 over the seeds)"``."""
    if not stat or stat["n"] == 1:
        return ""
    low, high = f"{stat['min']:,.{digits}f}", f"{stat['max']:,.{digits}f}"
    if low == high:  # "21 to 21 s" says nothing the median did not
        return ""
    return f" ({low} to {high}{unit}{words})"


def _baselines_text(rows: list[dict], task: str) -> str:
    """What Stable-Baselines3 needed on the same run (medians), as a sentence."""
    parts = []
    for row in rows:
        name = row["implementation"]
        if row["task"] != task or not name.startswith("SB3 "):
            continue
        if not row["train_seconds"]:
            continue
        parts.append(
            f"{_median(row['episodes'], 0)} episodes and "
            f"{_median(row['train_seconds'], 1, ' s')} with {name.replace('SB3 ', '')}"
        )
    if not parts:
        return ""
    return (
        " On the same machine, to the same criterion, Stable-Baselines3 needed "
        + ", ".join(parts) + " (medians)."
    )


def _ablations_text(rows: list[dict], task: str) -> str:
    """What the chapter's variants (:data:`ABLATIONS`) gave on the same seeds."""
    text = ""
    for name, overrides in ABLATIONS.get(task, {}).items():
        row = find_row(rows, task, name)
        if row is None:
            continue
        settings = ", ".join(f"`{key} = {value}`" for key, value in overrides.items())
        episodes, evaluation = row["episodes"], row["eval_mean"]
        text += (
            f" The same seeds trained {name.removeprefix('course ')} ({settings}): "
            f"the goal on {row['solved']} of {row['runs']} seeds, after a median of "
            f"{_median(episodes, 0)} episodes{_range(episodes, 0)}; the actor "
            f"averaged {_median(evaluation, 1)}{_range(evaluation, 1)}."
        )
    return text


def chapter_note(run: dict, task: str) -> str:
    """The closing note of one chapter, in markdown, from the saved run."""
    rows = run["rows"]
    course = find_row(rows, task, "course")
    seeds = ", ".join(map(str, run["seeds"]))
    measured = run.get("measured_by_task", {}).get(task, run["measured"])
    head = (
        f"**Measured on our machine** (`make bench`, {measured}: "
        f"{run['machine']}; seeds {seeds})."
    )
    if course is None:
        return head + " This chapter was not measured in that run."
    runs = f"{course['solved']} of {course['runs']} seeds"
    episodes = course["episodes"]
    seconds = course["train_seconds"]
    if task == "cartpole":
        body = (
            f" This chapter's agent solved CartPole-v1 on {runs}, in a median of "
            f"{_median(episodes, 0)} episodes{_range(episodes, 0, '', OVER)} and "
            f"{_median(seconds, 1, ' s')} of training{_range(seconds, 1, ' s')}, "
            f"{_median(course['env_steps'], 0)} environment steps; the notebook's "
            f"kernel peaked at {_median(course['peak_memory_mb'], 0, ' MB')}."
        )
    else:
        evaluation = course["eval_mean"]
        body = (
            f" The 10-episode training average reached the goal on {runs}, after a "
            f"median of {_median(episodes, 0)} episodes{_range(episodes, 0, '', OVER)}"
            " and "
            f"{_median(seconds, 1, ' s')} of training{_range(seconds, 1, ' s')}; "
            "after its 50 episodes the actor without noise averaged "
            f"{_median(evaluation, 1)}{_range(evaluation, 1)} over 20 evaluation "
            "episodes"
        )
        shared = shared_start_states(run["records"])
        if shared:
            body += (
                f" (the same {shared[1]} start states for every seed and every "
                "implementation)"
            )
        body += "." + _ablations_text(rows, task)
    whole = course.get("notebook_seconds")
    if whole:
        body += (
            f" The whole notebook ran in {_median(whole, 0, ' s')}"
            f"{_range(whole, 0, ' s')}."
        )
    figures = compile_figures(run["records"], task)
    if figures:
        body += (
            f" {FIRST_CALL[task]} (its first call) took {figures[0]:.1f} s, "
            f"{figures[1]:.0%} of the training time."
        )
    note = head + body + _baselines_text(rows, BASELINE_TASK.get(task, task))
    note += " Your machine will give other figures."
    if run.get("source"):
        note += f" (Figures from {run['source']}.)"
    return note


def markdown_comment_lines(text: str, width: int = 86) -> list[str]:
    """Markdown text as the comment lines of a jupytext percent cell."""
    import textwrap

    lines = textwrap.wrap(text, width=width, break_on_hyphens=False)
    return ["# " + line for line in lines]


def note_block(note: str) -> str:
    """The lines between the markers (and the markers) in a notebook's ``.py``."""
    return "\n".join(
        [f"# {README_START}", *markdown_comment_lines(note), f"# {README_END}"]
    )


def notes_in(source: str) -> str | None:
    """The marked block of a notebook's ``.py`` text, markers included (or None)."""
    start = source.find(f"# {README_START}")
    end = source.find(f"# {README_END}")
    if start < 0 or end < start:
        return None
    return source[start : end + len(f"# {README_END}")]


def update_notes(run: dict, chapters: dict[str, Path] = CHAPTERS) -> list[Path]:
    """Write each chapter's note between its markers; re-pair, rebuild students.

    Returns:
        The ``.py`` sources changed.

    Raises:
        SystemExit: a chapter's source has no markers.
    """
    changed = []
    for task, path in chapters.items():
        source = path.read_text()
        old = notes_in(source)
        if old is None:
            raise SystemExit(
                f"{path.name} needs a markdown cell with {README_START} ... "
                f"{README_END} (its closing note)"
            )
        new = note_block(chapter_note(run, task))
        if new != old:
            path.write_text(source.replace(old, new))
            changed.append(path)
    if changed:
        bin_dir = Path(sys.executable).parent
        subprocess.run(
            [str(bin_dir / "jupytext"), "--quiet", "--sync", *map(str, changed)],
            check=True, cwd=ROOT,
        )
        subprocess.run(
            [sys.executable, "-m", "instructor.tools.student"], check=True, cwd=ROOT
        )
    return changed


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
        "--notes",
        action="store_true",
        help="only regenerate the chapters' closing notes from the saved run",
    )
    parser.add_argument(
        "--no-ablations",
        action="store_true",
        help="skip the chapters' variants (ABLATIONS) that a run also trains",
    )
    parser.add_argument(
        "--one", nargs=2, metavar=("TASK", "SEED"), help=argparse.SUPPRESS
    )
    # With --one: constants to change (NAME=literal) and the record's name.
    parser.add_argument("--set", nargs="*", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--implementation", default="course", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:
        task, seed = args.one
        record = execute_notebook(
            NOTEBOOKS[task],
            int(seed),
            args.timeout,
            overrides=parse_overrides(args.set),
            implementation=args.implementation,
        )
        print(json.dumps(record))
        return 0
    if args.notes:
        for path in update_notes(load_run()):
            print(f"updated the closing note of {path.name}")
        return 0

    previous = None
    if args.readme and set(args.tasks) != set(NOTEBOOKS):
        # Refused now, not after an hour of measuring.
        previous = keepable_run(LAST_RUN, where=machine(), seeds=args.seeds)

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
            f"train_s={record['train_seconds']} "
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
        variants = {} if args.no_ablations else ABLATIONS.get(task, {})
        for name, overrides in variants.items():
            pairs = [f"{key}={value}" for key, value in overrides.items()]
            for seed in args.seeds:
                command = [sys.executable, __file__, "--one", task, str(seed)]
                command += ["--implementation", name, "--set", *pairs]
                attempt(command, name, task, seed)
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
    for target in ("test-unit", "test") if args.time_make_test else ():
        start = time.perf_counter()
        done = subprocess.run(
            ["make", target], cwd=ROOT, capture_output=True, text=True
        )
        seconds = time.perf_counter() - start
        summaries = [line for line in done.stdout.splitlines() if " passed" in line]
        summary = (summaries or ["no pytest summary"])[-1].strip("= ")
        extra.append(
            f"\n`make {target}` (environment already installed): {seconds:.0f} s, "
            f"exit code {done.returncode}, pytest: {summary}."
        )
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    where = machine()
    measured_by_task = {task: when for task in args.tasks}
    if previous is not None:
        records, measured_by_task = with_kept_tasks(records, measured_by_task, previous)
    text = report(records, args.seeds, extra, when=when, where=where,
                  measured_by_task=measured_by_task)
    (args.out / "table.md").write_text(text + "\n")
    print("\n" + text)
    if args.readme:
        update_readme(text)
        run = {"measured": when, "machine": where, "seeds": args.seeds,
               "measured_by_task": measured_by_task,
               "rows": summary_rows(records), "records": records, "readme": text}
        save_run(LAST_RUN, run)
        update_notes(run)
    return 0


def keepable_run(path: Path, *, where: str, seeds: list[int]) -> dict:
    """The last run, whose other tasks' rows a partial run keeps (see below).

    Raises:
        SystemExit: there is no saved run, or it cannot be mixed with this one.
    """
    if not path.exists():
        raise SystemExit(
            f"--readme with only some --tasks keeps the other rows of the last run, "
            f"but there is none ({path.name} is missing): run every task."
        )
    previous = load_run(path)
    refuse_mixing(previous, where=where, seeds=seeds)
    return previous


def refuse_mixing(previous: dict, *, where: str, seeds: list[int]) -> None:
    """Stop unless ``previous`` ran on this machine with these seeds.

    A table that mixes runs only compares like with like on the same machine and
    seeds.

    Raises:
        SystemExit: the previous run was on another machine or other seeds.
    """
    if previous["machine"] != where or previous["seeds"] != seeds:
        raise SystemExit(
            "--readme with only some --tasks keeps the other rows of the last run, "
            f"which was measured on {previous['machine']} with seeds "
            f"{previous['seeds']}; this is {where} with seeds {seeds}. Run every "
            "task (leave out --tasks) so that the table compares like with like."
        )


def with_kept_tasks(
    records: list[dict], measured_by_task: dict[str, str], previous: dict
) -> tuple[list[dict], dict[str, str]]:
    """This run's records plus the previous run's (see :func:`keepable_run`)
    records of the tasks not re-run.

    Returns:
        (records of every task, task -> date its rows were measured).
    """
    earlier = previous.get("measured_by_task") or dict.fromkeys(
        NOTEBOOKS, previous["measured"]
    )
    kept = [r for r in previous["records"] if r["task"] not in measured_by_task]
    return kept + records, {**earlier, **measured_by_task}


if __name__ == "__main__":
    sys.exit(main())
