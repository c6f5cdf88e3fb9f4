"""Grade a generated class of 30 submissions, check every verdict, time the run.

The instructor's grader (``python -m instructor.grade``) is judged on a realistic
class: 30 submissions made from the real student notebooks, some right (written
differently from the solutions), some wrong in the usual ways, some broken (a syntax
error, a deleted or reordered cell, a tampered check, an unreadable file, another
course's notebook) and some hostile but bounded (an endless loop, a cell that ignores
interrupts, a memory hog, a kernel that kills itself, megabytes of output). Each
submission comes with the status expected for every exercise.

    python benchmarks/grade_class.py [--out DIR] [--workers 2]

writes ``DIR/submissions/``, ``DIR/report.csv`` (the grader's), and ``DIR/grading.md``
(expected vs got, the wall time); exit code 1 when any verdict differs from the
expected one. The grader runs as an instructor types it, with its default limits.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "notebooks" / "student"
CARTPOLE, PENDULUM = "01_actor_critic_cartpole", "02_ddpg_pendulum"
P, F, E, NA, M = "passed", "failed", "error", "not attempted", "missing"

# ---------------------------------------------------------------------------------
# Right answers, written differently from the solutions (one code block per stub).
# ---------------------------------------------------------------------------------
RIGHT = {
    CARTPOLE: {
        "1": ["""\
            observation = keras.Input((num_inputs,))
            shared = keras.layers.Dense(units=num_hidden, activation="relu")(
                observation
            )
            heads = [
                keras.layers.Dense(num_actions, activation=keras.activations.softmax)(
                    shared
                ),
                keras.layers.Dense(1, activation=None)(shared),
            ]
            return keras.Model(observation, heads)"""],
        "2": ["""\
            rewards = np.asarray(rewards, dtype=float)
            out = np.empty_like(rewards)
            g = bootstrap
            for i in range(len(rewards) - 1, -1, -1):
                g = g * gamma + rewards[i]
                out[i] = g
            return out"""],
        "3": ["""\
            x = np.array(values, dtype=float)
            return (x - np.mean(x)) / max(np.std(x), 1e-8)"""],
        "4": ["""\
            one_hot = tf.one_hot(actions, tf.shape(action_probs)[1])
            log_taken = tf.math.log(tf.reduce_sum(action_probs * one_hot, axis=1))
            advantage = returns - tf.stop_gradient(values)
            critic = keras.losses.Huber()(returns, values)
            return -tf.reduce_mean(log_taken * advantage), critic"""],
        "5": ["return build_agent(num_inputs, num_actions, 128)  # the tuned size"],
    },
    PENDULUM: {
        "1": ["return (1.0 - theta * dt) * x + theta * dt * mu + sigma * dt**0.5 "
              "* normal_sample"],
        "2": [
            """\
            i = self.count % self.capacity
            columns = (self.states, self.actions, self.rewards, self.next_states,
                       self.terminated, self.truncated)
            values = (state, action, reward, next_state, terminated, truncated)
            for column, value in zip(columns, values):
                column[i] = value
            self.count = self.count + 1""",
            """\
            picked = rng.integers(len(self), size=batch_size)
            columns = (self.states, self.actions, self.rewards, self.next_states,
                       self.terminated, self.truncated)
            return tuple(column[picked] for column in columns)""",
        ],
        "3": ["""\
            not_done = 1.0 - terminated
            return rewards + not_done * gamma * next_q"""],
        "4": ["""\
            next_actions = target_actor(next_states)
            next_q = target_critic([next_states, next_actions])
            y = tf.stop_gradient(
                critic_target(rewards, next_q, terminated, truncated, gamma)
            )
            critic_loss = keras.losses.MeanSquaredError()(y, critic([states, actions]))
            actor_loss = -tf.reduce_mean(critic([states, actor(states)]))
            return critic_loss, actor_loss"""],
        "5": ["return [(1 - tau) * t + tau * o for t, o in zip(target_weights, "
              "online_weights)]"],
    },
}

# Typical wrong answers, each caught by its check with a message naming the mistake.
WRONG = {
    "critic_relu": (CARTPOLE, "1", ["""\
        inputs = keras.Input(shape=(num_inputs,))
        hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
        probs = keras.layers.Dense(num_actions, activation="softmax")(hidden)
        value = keras.layers.Dense(1, activation="relu")(hidden)
        return keras.Model(inputs, [probs, value])"""], "squashed"),
    "int_shape": (CARTPOLE, "1", ["""\
        inputs = keras.Input(shape=num_inputs)
        hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
        probs = keras.layers.Dense(num_actions, activation="softmax")(hidden)
        return keras.Model(inputs, [probs, keras.layers.Dense(1)(hidden)])"""],
        "raised"),
    "returns_forward": (CARTPOLE, "2", ["""\
        out, running = [], 0.0
        for r in rewards:
            running = r + gamma * running
            out.append(running)
        return np.array(out)"""], "looking back"),
    "centred_only": (CARTPOLE, "3", ["return np.asarray(values) - np.mean(values)"],
                     "centred"),
    "loss_sign": (CARTPOLE, "4", ["""\
        taken = tf.gather(action_probs, actions, batch_dims=1)
        advantage = tf.stop_gradient(values - returns)
        return (-tf.reduce_mean(tf.math.log(taken) * advantage),
                keras.losses.Huber()(returns, values))"""], "sign is flipped"),
    "loss_attached": (CARTPOLE, "4", ["""\
        taken = tf.gather(action_probs, actions, batch_dims=1)
        advantage = returns - values
        return (-tf.reduce_mean(tf.math.log(taken) * advantage),
                keras.losses.Huber()(returns, values))"""], "stop_gradient"),
    "same_as_cramped": (CARTPOLE, "5",
                        ["return build_agent(num_inputs, num_actions, 8)"],
                        "same layers"),
    "ou_sign": (PENDULUM, "1", ["return x + theta * (x - mu) * dt + sigma * "
                                "np.sqrt(dt) * normal_sample"], "wrong sign"),
    "buffer_never_wraps": (PENDULUM, "2", [
        """\
        row = min(self.count, self.capacity - 1)
        self.states[row], self.actions[row] = state, action
        self.rewards[row], self.next_states[row] = reward, next_state
        self.terminated[row], self.truncated[row] = terminated, truncated
        self.count += 1""",
        RIGHT[PENDULUM]["2"][1],
    ], "overwritten"),
    # The right ddpg_losses calls this critic_target: Exercise 4 fails with it.
    "target_truncated": (PENDULUM, "3", [
        "return rewards + gamma * (1.0 - terminated - truncated) * next_q"
    ], "truncated", {"4": "failed"}),
    "actor_loss_sign": (PENDULUM, "4", ["""\
        next_q = target_critic([next_states, target_actor(next_states)])
        y = critic_target(rewards, next_q, terminated, truncated, gamma)
        critic_loss = tf.reduce_mean(tf.square(y - critic([states, actions])))
        return critic_loss, tf.reduce_mean(critic([states, actor(states)]))"""],
        "wrong sign"),
    "tau_backwards": (PENDULUM, "5", [
        "return [tau * t + (1 - tau) * o for t, o in zip(target_weights, "
        "online_weights)]"
    ], "wrong way round"),
}


@dataclass
class Submission:
    """One generated submission and the status expected for each exercise."""

    name: str
    notebook: str | None  # which student notebook it starts from (None: no notebook)
    expected: dict[str, str]  # exercise number -> status ("" for a whole-file row)
    answers: dict[str, list[str]] = field(default_factory=dict)
    edit: object = None  # a function changing the notebook in place
    raw: str | None = None  # written as is instead of a notebook
    fragments: dict[str, str] = field(default_factory=dict)  # expected in messages


def every(status: str) -> dict[str, str]:
    """The same expected status for the five exercises of a notebook."""
    return {str(n): status for n in range(1, 6)}


def all_right(notebook: str, **changed: list[str]) -> dict[str, list[str]]:
    """The right answers of a notebook, with some exercises replaced."""
    answers = dict(RIGHT[notebook])
    answers.update(changed)
    return answers


def wrong(key: str, *, skip_last: bool) -> Submission:
    """A submission with one typical mistake; the rest right.

    With ``skip_last``, the last exercise is left as its stub (a student who gave up
    on it), so that its status does not depend on how training goes with the mistake.
    """
    notebook, number, code, fragment, *knock_on = WRONG[key]
    answers = all_right(notebook, **{number: code})
    expected = {**every(P), number: F}
    expected.update(*knock_on)
    if skip_last and number != "5":
        del answers["5"]
        expected["5"] = NA
    prefix = "c01" if notebook == CARTPOLE else "p02"
    return Submission(f"{prefix}_wrong_{key}", notebook, expected, answers,
                      fragments={number: fragment})


# Edits of the notebook's cells, for broken and hostile submissions.
def index_of(cells, text: str) -> int:
    return next(i for i, cell in enumerate(cells) if text in cell.source)


def code_cell_of(cells, number: str) -> int:
    """The first code cell after the exercise's heading."""
    heading = index_of(cells, f"### Exercise {number}:")
    return next(i for i in range(heading, len(cells)) if cells[i].cell_type == "code")


def check_cell_of(cells, call: str) -> int:
    return next(i for i, c in enumerate(cells) if c.source.startswith(call))


def prepend_to_exercise(number: str, code: str):
    def edit(notebook):
        cells = notebook.cells
        cell = cells[code_cell_of(cells, number)]
        cell.source = textwrap.dedent(code) + "\n" + cell.source

    return edit


def append_to_exercise(number: str, code: str):
    def edit(notebook):
        cells = notebook.cells
        cell = cells[code_cell_of(cells, number)]
        cell.source = cell.source + "\n" + textwrap.dedent(code)

    return edit


def delete_exercise_cell(number: str):
    def edit(notebook):
        del notebook.cells[code_cell_of(notebook.cells, number)]

    return edit


def delete_check_cell(call: str):
    def edit(notebook):
        del notebook.cells[check_cell_of(notebook.cells, call)]

    return edit


def tamper_check(call: str, replacement: str):
    def edit(notebook):
        notebook.cells[check_cell_of(notebook.cells, call)].source = replacement

    return edit


def swap_sections(first: str, second: str, end: str):
    """Move the cells from heading ``second`` up to ``end`` before heading ``first``."""

    def edit(notebook):
        cells = notebook.cells
        a, b, c = (index_of(cells, text) for text in (first, second, end))
        cells[a:c] = cells[b:c] + cells[a:b]

    return edit


def colab_metadata(notebook) -> None:
    notebook.metadata["colab"] = {"provenance": [], "name": "copy.ipynb"}
    for cell in notebook.cells:
        cell.metadata["id"] = f"cell{id(cell) % 10_000}"


def tampered(sub: Submission) -> Submission:
    """The submission with its last check fed the right answer instead of the
    student's: the grader runs the course's own check cell, which fails."""
    sub.name += "_check_tampered"
    sub.edit = tamper_check("checks.check_soft_update", TAMPERED_CHECK)
    return sub


TAMPERED_CHECK = (
    "checks.check_soft_update(\n"
    "    lambda t, o, tau: [tau * b + (1 - tau) * a for a, b in zip(t, o)]\n"
    ")"
)
FOREIGN = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# Pandas, week 3"},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "import pandas as pd\npd.DataFrame({'a': [1, 2]})"},
    ],
    "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
}
# A check cell replaced by a fake success line: the grader finds no check call, so
# it reports the check as missing (it never takes a printed line for a pass).
FAKE_CHECK = "print('✔ actor-critic loss: values and gradients right on 3 cases')"


def class_of_30() -> list[Submission]:
    """The 30 submissions: 15 of notebook 01, 13 of notebook 02, 2 unusable files."""
    hog = """\
        import numpy as np
        hoard = np.ones(400_000_000)  # 3.2 GB, over the grader's 2 GB cap"""
    hang = """\
        import signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # ignores the interrupt
        while True:
            pass"""
    return [
        Submission("c01_right_a", CARTPOLE, every(P), all_right(CARTPOLE),
                   edit=colab_metadata),
        Submission("alice/Copy of 01_actor_critic_cartpole (2)", CARTPOLE, every(P),
                   all_right(CARTPOLE)),
        Submission("c01_untouched", CARTPOLE, every(NA)),
        wrong("critic_relu", skip_last=True),
        wrong("int_shape", skip_last=True),
        wrong("returns_forward", skip_last=True),
        wrong("centred_only", skip_last=True),
        wrong("loss_sign", skip_last=True),
        wrong("loss_attached", skip_last=True),
        wrong("same_as_cramped", skip_last=True),
        # Broken: a syntax error; a deleted exercise cell (what needs it then fails).
        Submission("c01_syntax_error", CARTPOLE, {**every(P), "2": E, "5": E},
                   all_right(CARTPOLE), edit=append_to_exercise("2", "oops = ("),
                   fragments={"2": "SyntaxError"}),
        Submission("c01_deleted_cell", CARTPOLE, {**every(P), "3": M, "5": E},
                   all_right(CARTPOLE), edit=delete_exercise_cell("3"),
                   fragments={"3": "code cell"}),
        # Hostile but bounded.
        Submission("c01_faked_check", CARTPOLE, {**every(P), "4": M, "5": NA},
                   {k: v for k, v in all_right(CARTPOLE, **{"4": WRONG["loss_sign"][2]})
                    .items() if k != "5"},
                   edit=tamper_check("checks.check_actor_critic_loss", FAKE_CHECK),
                   fragments={"4": "calls check_actor_critic_loss"}),
        Submission("c01_flood", CARTPOLE, every(P), all_right(CARTPOLE),
                   edit=append_to_exercise("2", "print('spam ' * 4_000_000)")),
        Submission("c01_memory_hog", CARTPOLE, {**every(P), "5": E},
                   all_right(CARTPOLE), edit=prepend_to_exercise("5", hog),
                   fragments={"5": "memory cap"}),
        Submission("p02_right_a", PENDULUM, every(P), all_right(PENDULUM),
                   edit=colab_metadata),
        Submission("bob/pendulum_final", PENDULUM, every(P), all_right(PENDULUM)),
        Submission("p02_untouched", PENDULUM, every(NA)),
        wrong("ou_sign", skip_last=False),
        wrong("buffer_never_wraps", skip_last=False),
        wrong("target_truncated", skip_last=False),
        wrong("actor_loss_sign", skip_last=False),
        tampered(wrong("tau_backwards", skip_last=False)),
        Submission("p02_reordered", PENDULUM, every(P), all_right(PENDULUM),
                   edit=swap_sections("### Exercise 4:", "## Soft target updates",
                                      "## Training")),
        Submission("p02_deleted_check", PENDULUM, {**every(P), "5": M},
                   all_right(PENDULUM),
                   edit=delete_check_cell("checks.check_soft_update"),
                   fragments={"5": "check cell"}),
        Submission("p02_endless_loop", PENDULUM, {**every(P), "5": E},
                   all_right(PENDULUM),
                   edit=prepend_to_exercise("5", "while True:\n    pass"),
                   fragments={"5": "time limit"}),
        Submission("p02_ignores_interrupt", PENDULUM, {"1": P, "2": P, "3": E, "4": E,
                                                       "5": E},
                   all_right(PENDULUM), edit=prepend_to_exercise("3", hang),
                   fragments={"4": "ignored the interrupt"}),
        Submission("p02_kernel_dies", PENDULUM, {**every(P), "4": E, "5": E},
                   all_right(PENDULUM),
                   edit=prepend_to_exercise("4", "import os\nos._exit(3)"),
                   fragments={"5": "kernel died"}),
        Submission("unreadable", None, {"": "invalid"},
                   raw='{"cells": [{"cell_type": "code", "source": '),
        Submission("pandas_homework", None, {"": "unrecognised"},
                   raw=json.dumps(FOREIGN)),
    ]


def fill(notebook, answers: dict[str, list[str]]) -> None:
    """Replace each exercise's stub lines by the answers' code, in order."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        lines = []
        for line in cell.source.splitlines():
            number = next((n for n in answers if f"Exercise {n} (" in line
                           and "raise NotImplementedError(" in line), None)
            if number is None:
                lines.append(line)
                continue
            code = answers[number].pop(0) if answers[number] else None
            indent = line[: len(line) - len(line.lstrip())]
            lines += [indent + part for part in textwrap.dedent(code).splitlines()]
        cell.source = "\n".join(lines)


def write_class(folder: Path, submissions: list[Submission]) -> None:
    """Write every submission under ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=False)
    for sub in submissions:
        path = folder / f"{sub.name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        if sub.raw is not None:
            path.write_text(sub.raw, encoding="utf-8")
            continue
        notebook = nbformat.read(STUDENT / f"{sub.notebook}.ipynb", as_version=4)
        fill(notebook, {k: list(v) for k, v in sub.answers.items()})
        if sub.edit is not None:
            sub.edit(notebook)
        nbformat.write(notebook, path)


def compare(submissions: list[Submission], rows: list[dict]) -> list[str]:
    """Every difference between the expected and the reported verdicts."""
    got: dict[tuple[str, str], dict] = {}
    for row in rows:
        number = row["exercise"].split(":")[0].replace("Exercise ", "").strip()
        got[(row["submission"], number)] = row
    problems = []
    for sub in submissions:
        for number, status in sub.expected.items():
            row = got.get((f"{sub.name}.ipynb", number))
            what = f"{sub.name}, exercise {number or '(file)'}"
            if row is None:
                problems.append(f"{what}: no row in the report")
                continue
            if row["status"] != status:
                problems.append(f"{what}: expected {status}, got {row['status']} "
                                f"({row['message'][:200]})")
            fragment = sub.fragments.get(number)
            if fragment and fragment not in row["message"]:
                problems.append(f"{what}: message lacks {fragment!r}: "
                                f"{row['message'][:200]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "grading")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    submissions = class_of_30()
    folder = args.out / "submissions"
    shutil.rmtree(args.out, ignore_errors=True)
    write_class(folder, submissions)
    report = args.out / "report.csv"
    command = [sys.executable, "-m", "instructor.grade", str(folder),
               "--out", str(report), "--workers", str(args.workers)]
    print("$", " ".join(command), flush=True)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT)
    seconds = time.perf_counter() - start
    with open(report, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    problems = compare(submissions, rows)
    expected_rows = sum(len(sub.expected) for sub in submissions)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Graded {len(submissions)} generated submissions ({expected_rows} verdicts) "
        f"with {args.workers} workers in {seconds / 60:.1f} min on {os.cpu_count()} "
        f"cores ({platform.processor() or platform.machine()}), {when}; grader exit "
        f"code {done.returncode}.",
        "Statuses reported: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + ".",
        f"Verdicts as expected: {expected_rows - len(problems)}/{expected_rows}.",
        *(f"- {problem}" for problem in problems),
    ]
    text = "\n".join(lines)
    (args.out / "grading.md").write_text(text + "\n", encoding="utf-8")
    print("\n" + text)
    return 1 if problems or done.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
