"""Checks for notebook 02, DDPG on Pendulum-v1.

Each check is a :class:`~.core.Check`: a probe calls the student's code on small
cases and keeps what comes back as plain data (values, sampled rows, gradients, the
inputs as the call left them); a judge compares that data with a reference written
here, independently, in plain NumPy. When the answer is wrong, the judge looks for
the usual mistakes (noise that does not drift back, ``dt`` under the wrong root, a
buffer that samples empty rows, a subset of its rows or never wraps, a target from
the online networks, ``truncated`` taken for ``terminated``, the actor loss's sign,
``tau`` the wrong way round) and names the one it sees, with a stable id
(``"<exercise>/<mistake>"``).

In a notebook the cases are fixed (the messages read the same for every student);
in grading each case builder (``_ou_cases``, ``_buffer_plan``, ``_target_cases``,
``_loss_setup``, ``_soft_cases``) draws new values from the grader's challenge (see
:mod:`.challenge`) with the same structure and edge cases: no kick, x at the mean
and integer x for the noise; a buffer partly filled, then wrapped over all of its
first transitions, and one far larger than its batches; terminated and truncated
rows where they were, gamma = 0 and tau = 0 and 1 kept. The values are drawn so
that no two typical mistakes coincide where the fixed cases tell them apart, and
the builders compute no answer (the probe's side of the module holds no reference).

TensorFlow is imported inside the probes that need it, never at module level; the
judges use NumPy only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .challenge import case_rng
from .compiled import (
    Compiled,
    assert_graph_close,
    call_compiled,
    graph_value,
    require_float32,
)
from .core import (
    NOT_DONE,
    Check,
    CheckFailed,
    Mistake,
    Probe,
    Records,
    as_array,
    assert_close,
    assert_close_naming,
    call_student,
    first_change,
    recognise,
    run_check,
    show_input,
    unpack,
)
from .plain import MalformedProbe, Opaque, StudentError

EX_NOISE = "1 (the Ornstein-Uhlenbeck step)"
EX_BUFFER = "2 (the replay buffer)"
EX_TARGET = "3 (the critic's target)"
EX_LOSSES = "4 (the two DDPG losses)"
EX_SOFT = "5 (the soft target update)"

_TOL = {"atol": 1e-5, "rtol": 1e-4}
_LOSS_TOL = {"atol": 1e-4, "rtol": 1e-4}


# --------------------------------------------------------------------------------------
# Independent NumPy references
# --------------------------------------------------------------------------------------
def reference_ou_step(x, mu, theta, sigma, dt, normal_sample) -> np.ndarray:
    """One Euler-Maruyama step of the Ornstein-Uhlenbeck process.

    Args:
        x: current noise, shape (n,).
        mu: long-run mean, scalar or shape (n,).
        theta: pull back toward ``mu`` per unit of time.
        sigma: scale of the random kicks.
        dt: time step.
        normal_sample: standard normal draws, shape (n,).

    Returns:
        The next noise value, float64 array of shape (n,).
    """
    x = np.asarray(x, dtype=np.float64)
    drift = theta * (np.asarray(mu, dtype=np.float64) - x) * dt
    kick = sigma * np.sqrt(dt) * np.asarray(normal_sample, dtype=np.float64)
    return x + drift + kick


def reference_critic_target(rewards, next_q, terminated, gamma) -> np.ndarray:
    """The critic's regression target ``y = r + gamma * (1 - terminated) * Q'``.

    Args:
        rewards, next_q, terminated: arrays of shape (B, 1); ``next_q`` comes from
            the target networks, ``terminated`` is 0. or 1.
        gamma: discount factor.

    Returns:
        float64 array of shape (B, 1).
    """
    r = np.asarray(rewards, dtype=np.float64)
    q = np.asarray(next_q, dtype=np.float64)
    done = np.asarray(terminated, dtype=np.float64)
    return r + gamma * (1.0 - done) * q


def reference_soft_update(target_weights, online_weights, tau) -> list[np.ndarray]:
    """Polyak averaging: each target weight moves a fraction ``tau`` toward online.

    Args:
        target_weights, online_weights: lists of arrays with matching shapes.
        tau: fraction in [0, 1].

    Returns:
        New float64 arrays, one per weight.
    """
    return [
        (1.0 - tau) * np.asarray(t, dtype=np.float64)
        + tau * np.asarray(o, dtype=np.float64)
        for t, o in zip(target_weights, online_weights, strict=True)
    ]


# --------------------------------------------------------------------------------------
# Drawing a challenge's cases (see .challenge): readable values, no answers computed
# --------------------------------------------------------------------------------------
def _draw(rng: np.random.Generator, low: float, high: float, size=None, digits=2):
    """Uniform values in [low, high], rounded to ``digits`` decimals."""
    return np.round(rng.uniform(low, high, size), digits) + 0.0


def _signed(rng: np.random.Generator, low: float, high: float, size, digits=2):
    """Values whose size lies in [low, high], each of a random sign."""
    return _draw(rng, low, high, size, digits) * rng.choice([-1.0, 1.0], size)


def _pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    """One of ``options``, as the plain Python value it is."""
    return options[int(rng.integers(len(options)))]


# --------------------------------------------------------------------------------------
# Judge helpers shared by the exercises
# --------------------------------------------------------------------------------------
_GRAPH_ONLY = (
    "It runs on NumPy arrays, but fails inside tf.function, where the training step "
    "calls it on symbolic TensorFlow tensors. Hint: use arithmetic (+, -, *, **) "
    "and tf.* functions, not np.* functions, .numpy() or float()."
)
# The lines that fix each exercise (shown on request, see hints.py).
_OU_FIX = "`return x + theta * (mu - x) * dt + sigma * np.sqrt(dt) * normal_sample`"
_RECORD_FIX = (
    "in record(), write every field at `row = self.count % self.capacity` "
    "(e.g. `self.states[row] = state`), then `self.count += 1`."
)
_SAMPLE_FIX = (
    "in sample(), draw `rows = rng.integers(0, len(self), size=batch_size)` "
    "(len(self) = min(count, capacity), the rows filled) and return "
    "`self.states[rows], self.actions[rows], ...`, every field at the same rows."
)
_TARGET_FIX = "`return rewards + gamma * (1.0 - terminated) * next_q`"
_CRITIC_FIX = (
    "`next_q = target_critic([next_states, target_actor(next_states)])`, "
    "`y = critic_target(rewards, next_q, terminated, truncated, gamma)`, "
    "`critic_loss = tf.reduce_mean(tf.square(y - critic([states, actions])))`"
)
_ACTOR_FIX = "`actor_loss = -tf.reduce_mean(critic([states, actor(states)]))`"
_SOFT_FIX = (
    "`return [target + tau * (online - target) for target, online in "
    "zip(target_weights, online_weights)]`"
)


def _unchanged(
    records: Records,
    key: str,
    inputs: Mapping[str, Any],
    *,
    function: str,
    why: str,
    mistake: str,
) -> None:
    """Fail when the student's function changed one of its inputs in place.

    Args:
        records: the probe's data, holding ``f"{key}:{name}"`` for each input as the
            call left it (see ``Probe.call_keeping_inputs``).
        key: the call's record.
        inputs: the inputs as the check gave them, by name.
        function: the function's name in messages.
        why: why it matters, in the exercise's terms.
        mistake: the mistake's id.
    """
    for name, original in inputs.items():
        changed = first_change(records[f"{key}:{name}"], original, name)
        if changed is not None:
            label, before, after = changed
            raise CheckFailed(
                f"{function} changed its input `{name}` in place: {label} was "
                f"{show_input(before)} before the call and {show_input(after)} after "
                f"it. {why}",
                mistake,
            )


# --------------------------------------------------------------------------------------
# Exercise 1: one step of Ornstein-Uhlenbeck noise
# --------------------------------------------------------------------------------------
def _ou_cases() -> list[dict[str, Any]]:
    rng = case_rng("pendulum.ou")
    if rng is not None:
        return _ou_drawn(rng)
    return [
        # No random kick: only the pull back toward mu is left.
        dict(
            x=np.array([1.0]),
            mu=np.array([0.0]),
            theta=0.15,
            sigma=0.2,
            dt=0.01,
            normal_sample=np.array([0.0]),
        ),
        dict(
            x=np.array([0.5, -0.3]),
            mu=np.array([0.1, 0.2]),
            theta=1.0,
            sigma=0.5,
            dt=0.04,
            normal_sample=np.array([1.0, -2.0]),
        ),
        dict(
            x=np.array([0.0, 2.0, -1.0]),
            mu=np.array([0.0, 0.0, 0.0]),
            theta=0.5,
            sigma=0.3,
            dt=0.25,
            normal_sample=np.array([0.7, -1.2, 0.4]),
        ),
        # Already at the mean: only the random kick moves it.
        dict(
            x=np.array([0.3]),
            mu=np.array([0.3]),
            theta=2.0,
            sigma=1.0,
            dt=0.01,
            normal_sample=np.array([1.5]),
        ),
        # Integers: a scalar mean written `0`, a noise started with np.zeros(n, int).
        # The next value is not a whole number: it must not be truncated.
        dict(
            x=np.array([2, -1]),
            mu=0,
            theta=0.5,
            sigma=0.2,
            dt=0.1,
            normal_sample=np.array([0.5, 1.0]),
        ),
    ]


# Time steps whose square root is irrational, so that a kick sigma * sqrt(dt) * n
# (n != 0) is never a whole number nor equal to a term without sqrt(dt).
_SHORT_DTS = (0.03, 0.05, 0.06, 0.07, 0.08)
_LONG_DTS = (0.2, 0.3, 0.4, 0.5)


def _ou_drawn(rng: np.random.Generator) -> list[dict[str, Any]]:
    """The fixed cases' structure with new values (a challenge).

    Each typical mistake is told apart where the fixed cases tell it apart: no kick
    in case 0 (mean 0, theta < 1, so theta * (1 - dt) != 1 and the change is never
    -x); in case 1 the kick goes with the pull in one component and against it in
    the other, so no two mistakes (each x plus a * pull + b * kick) agree in both;
    sigma in [0.1, 0.7] is above any small dt (sqrt(sigma * dt) != sigma * sqrt(dt),
    != sigma); in case 4, integers, the kick (irrational) makes every value, right
    or typically wrong, a fraction, and the rational ones lie strictly between
    x - 1 and x + 1 but not at x.
    """
    sigma = lambda: float(_draw(rng, 0.1, 0.7))  # noqa: E731
    theta = lambda: float(_draw(rng, 0.25, 2.0))  # noqa: E731
    # Case 1: |mu - x| >= 0.3, the kick along the pull in 0, against it in 1.
    delta = _signed(rng, 0.3, 1.0, 2)
    along = np.sign(delta) * np.array([1.0, -1.0])
    x1 = _signed(rng, 0.2, 1.5, 2)
    # Case 2: one component at the mean (0) already, a larger dt.
    x2 = _signed(rng, 0.5, 2.0, 3)
    x2[int(rng.integers(3))] = 0.0
    dt2 = _pick(rng, _LONG_DTS)
    sigma2 = float(_draw(rng, 0.1, 0.7))
    if np.isclose(sigma2, dt2):
        sigma2 += 0.05
    x3 = _signed(rng, 0.1, 1.5, 1)
    # Case 4: integers; the kick against x, |pull| + |kick| < 1.
    x4 = rng.choice([-3, -2, -1, 1, 2, 3], 2)
    return [
        dict(
            x=_signed(rng, 0.5, 2.0, 1),
            mu=np.array([0.0]),
            theta=float(_draw(rng, 0.25, 0.9)),
            sigma=sigma(),
            dt=_pick(rng, _SHORT_DTS),
            normal_sample=np.array([0.0]),
        ),
        dict(
            x=x1,
            mu=np.round(x1 + delta, 2) + 0.0,
            theta=theta(),
            sigma=sigma(),
            dt=_pick(rng, _SHORT_DTS),
            normal_sample=along * _draw(rng, 0.5, 2.0, 2),
        ),
        dict(
            x=x2,
            mu=np.zeros(3),
            theta=theta(),
            sigma=round(sigma2, 2),
            dt=dt2,
            normal_sample=_signed(rng, 0.2, 2.0, 3),
        ),
        dict(
            x=x3,
            mu=x3.copy(),
            theta=theta(),
            sigma=sigma(),
            dt=_pick(rng, _SHORT_DTS),
            normal_sample=_signed(rng, 0.5, 2.0, 1),
        ),
        dict(
            x=x4,
            mu=0,
            theta=float(_draw(rng, 0.2, 0.5)),
            sigma=float(_draw(rng, 0.1, 0.5)),
            dt=_pick(rng, (0.05, 0.1)),
            normal_sample=-np.sign(x4) * _draw(rng, 0.5, 1.5, 2),
        ),
    ]


def _ou_mistakes(c: dict[str, Any]) -> list[Mistake]:
    """What typical wrong answers return on a case, most specific first."""
    x = np.asarray(c["x"], dtype=np.float64)
    mu, th, sg, dt = c["mu"], c["theta"], c["sigma"], c["dt"]
    n = c["normal_sample"]
    return [
        Mistake(
            "ou/not-mean-reverting",
            x + sg * np.sqrt(dt) * n,
            "your noise is not mean-reverting: it never drifts back toward mu. Add "
            "the pull theta * (mu - x) * dt.",
            _OU_FIX,
        ),
        Mistake(
            "ou/pull-sign",
            x + th * (x - mu) * dt + sg * np.sqrt(dt) * n,
            "the pull has the wrong sign: theta * (x - mu) pushes the noise AWAY "
            "from mu. Use theta * (mu - x) * dt.",
            _OU_FIX,
        ),
        Mistake(
            "ou/kick-dt",
            x + th * (mu - x) * dt + sg * dt * n,
            "the random kick is scaled by dt instead of sqrt(dt). A random walk "
            "spreads like the square root of time, so the kick is "
            "sigma * sqrt(dt) * normal_sample.",
            _OU_FIX,
        ),
        Mistake(
            "ou/kick-no-sqrt-dt",
            x + th * (mu - x) * dt + sg * n,
            "the random kick is missing its sqrt(dt) factor: use "
            "sigma * sqrt(dt) * normal_sample.",
            _OU_FIX,
        ),
        Mistake(
            "ou/pull-no-dt",
            x + th * (mu - x) + sg * np.sqrt(dt) * n,
            "the pull toward mu is missing its dt factor: theta * (mu - x) * dt.",
            _OU_FIX,
        ),
        Mistake(
            "ou/dt-swapped",
            x + th * (mu - x) * np.sqrt(dt) + sg * dt * n,
            "dt and sqrt(dt) are swapped: the pull gets dt, the random kick "
            "gets sqrt(dt).",
            _OU_FIX,
        ),
        Mistake(
            "ou/returns-change",
            th * (mu - x) * dt + sg * np.sqrt(dt) * n,
            "you returned the change dx, not the new value: return x + dx.",
            _OU_FIX,
        ),
        Mistake(
            "ou/sigma-in-sqrt",
            x + th * (mu - x) * dt + np.sqrt(sg * dt) * n,
            "sigma is inside the square root: the kick is sigma * sqrt(dt) * "
            "normal_sample.",
            _OU_FIX,
        ),
    ]


_OU_FORMULA = (
    "one Ornstein-Uhlenbeck step is x_next = x + θ (μ - x) dt + σ √dt ε, with ε "
    "the given normal sample: a pull back toward the mean, over a time dt, plus a "
    "random kick that grows like the square root of time."
)


def _probe_ou(probe: Probe, ou_step: Callable[..., Any]) -> None:
    for index, case in enumerate(_ou_cases()):
        probe.call_keeping_inputs(f"case{index}", ou_step, case)
        # The same inputs again: a step that draws its own random numbers differs.
        probe.call(f"again{index}", ou_step, *case.values())


def _judge_ou(records: Records) -> str:
    cases = _ou_cases()
    for index, case in enumerate(cases):
        expected = reference_ou_step(**case)
        got = records[f"case{index}"]
        values = as_array(got, name="the new noise x", shape=expected.shape)
        if not np.allclose(values, expected, **_TOL):
            again = as_array(
                records[f"again{index}"], name="the new noise x", shape=expected.shape
            )
            mistake = _ou_mistake(got, values, again, case)
            assert_close(
                values, expected, what="the new noise x", case=case,
                hint=mistake.hint if mistake else _OU_FORMULA,
                mistake=mistake.id if mistake else None, fix=_OU_FIX, **_TOL,
            )
        _unchanged(
            records, f"case{index}", case, function="ou_step",
            why="The noise process keeps its current x and passes it in at every "
            "step: return a new array (x + pull + kick) instead of changing x "
            "with += or [...] =.",
            mistake="ou/changes-input",
        )
    return f"Ornstein-Uhlenbeck step: {len(cases)} cases right"


def _ou_mistake(got, values, again, case) -> Mistake | None:
    if not np.allclose(values, again):
        return Mistake(
            "ou/own-random", None,
            "two calls with the same inputs gave different results: use the "
            "normal_sample argument instead of drawing random numbers yourself "
            "(that keeps the noise seeded and repeatable).",
        )
    mistake = recognise(values, _ou_mistakes(case), **_TOL)
    if mistake is None and np.asarray(got).dtype.kind in "iu":
        mistake = Mistake(
            "ou/integer-dtype", None,
            f"your result is made of integers ({np.asarray(got).dtype}): the new "
            "noise was truncated. Here x was given as integers; compute a new "
            "array with x + theta * (mu - x) * dt + ..., which NumPy makes a float "
            "array, rather than writing into np.zeros_like(x) or into x itself.",
        )
    return mistake


OU_STEP = Check(EX_NOISE, _probe_ou, _judge_ou)


def check_ou_step(ou_step: Callable[..., Any]) -> None:
    """Check ``ou_step(x, mu, theta, sigma, dt, normal_sample)``.

    Expected: ``x + theta * (mu - x) * dt + sigma * sqrt(dt) * normal_sample``, an
    array with the shape of ``x``, using the given normal sample (no random draws of
    its own), without changing its inputs.

    Args:
        ou_step: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    run_check(OU_STEP, ou_step)


# --------------------------------------------------------------------------------------
# Exercise 2: the replay buffer
# --------------------------------------------------------------------------------------
_STATE_DIM, _ACTION_DIM = 3, 1
_FIELDS = ("states", "actions", "rewards", "next_states", "terminated", "truncated")
_WIDTHS = (_STATE_DIM, _ACTION_DIM, 1, _STATE_DIM, 1, 1)
# Step 1: 3 transitions into 5 rows (partly filled), big batches from seeded rngs.
_SMALL, _FIRST = 5, (1, 2, 3)
_SEED_FIRST, _SEED_ONE, _SEED_WRAPPED = 1, 3, 2
# Step 2: 5 more (8 into 5 rows): the buffer wraps, 1-3 are overwritten.
_WRAPPED = (4, 5, 6, 7, 8)
# Step 3: many more filled rows than one batch: every row must be able to come out.
# 1,000 draws among 40 rows miss a given row with probability (39/40)^1000 ~ 1e-11.
_MANY_CAPACITY, _MANY_ROWS, _MANY_BATCH, _MANY_CALLS = 100, 40, 5, 200
_SEED_MANY = 4


@dataclass(frozen=True)
class _BufferPlan:
    """The buffer check's cases: the transitions, capacities, seeds, batch sizes.

    Transitions are numbered from 1 in the order they are recorded. Step 1 records
    ``first`` (fewer than ``capacity``), step 2 exactly ``capacity`` more
    (``wrapped``), so that the buffer wraps and holds ``wrapped`` only; step 3
    records ``many_rows`` into a far larger buffer. ``code`` sets the values each
    transition's fields take (see :func:`_transition_rows`).
    """

    capacity: int = _SMALL
    first: tuple[int, ...] = _FIRST
    first_batch: int = 300
    wrapped_batch: int = 2000
    seed_first: int = _SEED_FIRST
    seed_one: int = _SEED_ONE
    seed_wrapped: int = _SEED_WRAPPED
    many_capacity: int = _MANY_CAPACITY
    many_rows: int = _MANY_ROWS
    many_batch: int = _MANY_BATCH
    many_calls: int = _MANY_CALLS
    seed_many: int = _SEED_MANY
    # state [i, i + shift, -scale * i], action i / action_divisor, reward
    # -reward_scale * i, next_state [i + next_offset, next_value, i], terminated
    # (i + te_offset) % 3 == 0, truncated (i + tr_offset) % 4 == 0.
    code: tuple[float, ...] = (0.25, 1.0, 100.0, 1.0, 1000.0, 0.5, 0, 0)

    @property
    def wrapped(self) -> tuple[int, ...]:
        """Step 2's transitions: the rows the buffer holds once it wrapped."""
        n = len(self.first)
        return tuple(range(n + 1, n + self.capacity + 1))

    @property
    def overwriting(self) -> tuple[int, ...]:
        """The transitions of step 2 written over step 1's rows."""
        return self.wrapped[self.capacity - len(self.first):]

    @property
    def total(self) -> int:
        """Transitions recorded in steps 1 and 2."""
        return self.wrapped[-1]


def _buffer_plan() -> _BufferPlan:
    rng = case_rng("pendulum.buffer")
    if rng is None:
        return _BufferPlan()
    n_first = int(rng.integers(3, 5))
    te_offset = int(rng.integers(3))
    # Step 1's terminated transition is not also truncated (so a sample() that
    # swaps the two flags is seen at once).
    terminal = next(i for i in range(1, 4) if (i + te_offset) % 3 == 0)
    tr_offset = _pick(rng, [o for o in range(4) if (terminal + o) % 4 != 0])
    many_batch = int(rng.integers(4, 8))
    return _BufferPlan(
        capacity=int(rng.integers(n_first + 1, 8)),
        first=tuple(range(1, n_first + 1)),
        first_batch=int(rng.integers(300, 401)),
        wrapped_batch=int(rng.integers(2000, 2401)),
        seed_first=int(rng.integers(10, 10_000)),
        seed_one=int(rng.integers(10, 10_000)),
        seed_wrapped=int(rng.integers(10, 10_000)),
        many_capacity=int(rng.integers(60, 121)),
        many_rows=int(rng.integers(25, 41)),
        many_batch=many_batch,
        many_calls=-(-1000 // many_batch),  # at least 1,000 draws, as fixed
        seed_many=int(rng.integers(10, 10_000)),
        code=(
            float(_draw(rng, 0.05, 0.95)),
            _pick(rng, (0.5, 1.5, 2.0, 2.5, 3.0)),
            _pick(rng, (25.0, 50.0, 100.0)),
            float(_draw(rng, 0.5, 2.0)),
            float(rng.integers(100, 1000)),
            float(_draw(rng, -1.0, 1.0)),
            te_offset,
            tr_offset,
        ),
    )


def _listed(numbers: Sequence[int]) -> str:
    return ", ".join(str(i) for i in numbers)


def _transition_rows(ids: np.ndarray, plan: _BufferPlan) -> list[np.ndarray]:
    """The six fields of transitions ``ids`` (numbers from 1), one row each.

    Every field encodes its transition's number, so a sampled row can be traced back
    to the transition it came from (and a row mixing two transitions is seen).

    Returns:
        float64 arrays of shapes (n, 3), (n, 1), (n, 1), (n, 3), (n, 1), (n, 1).
    """
    shift, scale, divisor, reward_scale, offset, value, te, tr = plan.code
    i = np.asarray(ids, dtype=np.float64)
    column = i[:, None]
    return [
        np.stack([i, i + shift, -scale * i], axis=1),
        column / divisor,
        -reward_scale * column,
        np.stack([i + offset, np.full_like(i, value), i], axis=1),
        ((np.asarray(ids) + te) % 3 == 0)[:, None].astype(np.float64),
        ((np.asarray(ids) + tr) % 4 == 0)[:, None].astype(np.float64),
    ]


def _transition(i: int, plan: _BufferPlan) -> tuple:
    """Transition ``i`` as the environment gives it to ``record``: state (3,),
    action (1,), reward float, next_state (3,), terminated and truncated bools."""
    state, action, reward, next_state, terminated, truncated = (
        row[0] for row in _transition_rows(np.array([i]), plan)
    )
    return (
        state, action, float(reward[0]), next_state,
        bool(terminated[0]), bool(truncated[0]),
    )


# ---- probe: three steps, each on buffers the check makes from the student's class
def _probe_buffer(probe: Probe, buffer_class: Any) -> None:
    plan = _buffer_plan()
    _probe_partly_filled_and_wrapped(probe, buffer_class, plan)
    _probe_many_rows(probe, buffer_class, plan)


def _probe_partly_filled_and_wrapped(
    probe: Probe, buffer_class: Any, plan: _BufferPlan
) -> None:
    buffer = _new_buffer(probe, buffer_class, plan.capacity)
    _record(probe, buffer, plan.first, plan.capacity, plan)
    sample = _method(probe, buffer, "sample")
    batch, seed = plan.first_batch, plan.seed_first
    probe.call("first", sample, batch, np.random.default_rng(seed))
    probe.call("repeat", sample, batch, np.random.default_rng(seed))
    probe.call("one", sample, 1, np.random.default_rng(plan.seed_one))
    _record(probe, buffer, plan.wrapped, plan.capacity, plan)
    probe.call(
        "wrapped", sample, plan.wrapped_batch, np.random.default_rng(plan.seed_wrapped)
    )
    probe.call("len", len, buffer)


def _probe_many_rows(probe: Probe, buffer_class: Any, plan: _BufferPlan) -> None:
    buffer = _new_buffer(probe, buffer_class, plan.many_capacity)
    _record(probe, buffer, range(1, plan.many_rows + 1), plan.many_capacity, plan)
    sample = _method(probe, buffer, "sample")
    rng = np.random.default_rng(plan.seed_many)  # one generator, as in training
    for call in range(plan.many_calls):
        probe.call(f"many{call}", sample, plan.many_batch, rng)


def _new_buffer(probe: Probe, buffer_class: Any, capacity: int) -> Any:
    """A new buffer; the probe stops if the class cannot make one."""
    return call_student(
        buffer_class, capacity, _STATE_DIM, _ACTION_DIM, exercise=probe.exercise
    )


def _method(probe: Probe, buffer: Any, name: str) -> Callable[..., Any]:
    try:
        return getattr(buffer, name)
    except Exception as error:  # a missing method, or a student's __getattr__
        raise CheckFailed(
            f"Exercise {probe.exercise}: the buffer has no method {name}() "
            f"({type(error).__name__})."
        ) from None


def _record(
    probe: Probe, buffer: Any, numbers: Sequence[int], capacity: int,
    plan: _BufferPlan,
) -> None:
    """Record transitions ``numbers`` (numbered from 1, in order); the probe stops at
    a failure, naming record()."""
    record = _method(probe, buffer, "record")
    for i in numbers:
        try:
            call_student(record, *_transition(i, plan), exercise=probe.exercise)
        except CheckFailed as failure:
            if failure.mistake == NOT_DONE:
                raise
            message = (
                f"{failure}\n  (record() failed on transition {i}, recorded after "
                f"{i - 1} others into a buffer of capacity {capacity})"
            )
            mistake = failure.mistake
            if mistake is None and i > capacity and "out of bounds" in message:
                message += (
                    f"\nHint: after {capacity} transitions the buffer is full and "
                    "row count lies past its end: the row to write must wrap around "
                    "to 0, so that the newest transition overwrites the oldest."
                )
                mistake = "buffer/never-wraps"
            fix = _RECORD_FIX if mistake == "buffer/never-wraps" else failure.fix
            raise CheckFailed(message, mistake, fix) from None


# ---- judge
def _judge_buffer(records: Records) -> str:
    plan = _buffer_plan()
    _judge_partly_filled(records, plan)
    _judge_wrapped(records, plan)
    _judge_len(records, plan)
    _judge_many_rows(records, plan)
    return (
        "replay buffer: fills, overwrites the oldest rows when full, samples "
        "every filled row and only those, uniformly and repeatably"
    )


_NOT_COUNTING = re.compile(r"high <= 0|low >= high|cannot be empty|empty range")


def _sampled(records: Records, key: str, batch_size: int) -> list[np.ndarray]:
    """The six arrays sample() returned, checked for shape."""
    try:
        result = records[key]
    except CheckFailed as failure:
        if failure.mistake is None and _NOT_COUNTING.search(str(failure)):
            raise CheckFailed(
                f"{failure}\nsample() found no filled rows although record() was "
                "called: does record() count the transitions it stores? Hint: "
                "record() adds 1 to its count at each transition, and sample() draws "
                "among the rows filled (the count, at most the capacity).",
                "buffer/record-not-counting", _RECORD_FIX,
            ) from None
        raise
    batch = unpack(result, _FIELDS, function="sample()")
    return [
        as_array(value, name=f"sampled {name}", shape=(batch_size, width))
        for value, name, width in zip(batch, _FIELDS, _WIDTHS, strict=True)
    ]


def _transition_ids(batch: list[np.ndarray], plan: _BufferPlan) -> np.ndarray:
    """Which transition each sampled row holds (0 for an empty row of zeros).

    Raises:
        CheckFailed: a row whose fields do not all come from one transition.
    """
    states, rewards = batch[0], batch[2]
    empty = np.all(states == 0, axis=1) & (rewards[:, 0] == 0)
    ids = np.rint(np.clip(states[:, 0], 0, 10**6)).astype(np.int64)
    ids[empty] = 0
    filled = ~empty
    expected = _transition_rows(np.maximum(ids, 1), plan)
    agree = ids >= 1
    for got, want in zip(batch, expected, strict=True):
        agree &= np.all(np.isclose(got, want, rtol=1e-5, atol=1e-6), axis=1)
    bad = np.flatnonzero(filled & ~agree)
    if bad.size:
        row = int(bad[0])
        s, a, r, s2, te, tr = (field[row] for field in batch)
        raise CheckFailed(
            "a sampled row mixes different transitions (or stores a field in the "
            f"wrong place): state {np.round(s, 3)}, action {np.round(a, 3)}, reward "
            f"{r[0]:.3g}, next_state {np.round(s2, 3)}, terminated {te[0]:.0f}, "
            f"truncated {tr[0]:.0f}. Hint: use the SAME indices for every array, and "
            "store each argument of record() in its own array.",
            "buffer/mixed-rows", _SAMPLE_FIX,
        )
    return ids


def _empty_rows(ids: np.ndarray, recorded: Sequence[int], context: str) -> CheckFailed:
    """The failure for sampled rows that were never written, blaming the method at
    fault: a record() that writes one row ahead leaves row 0 empty and its newest
    transition out of reach; a sample() off by one misses the oldest."""
    seen = set(ids[ids > 0].tolist())
    count = f"{int(np.sum(ids == 0))} of {len(ids)} draws"
    if seen == set(recorded[:-1]):
        return CheckFailed(
            f"{context}, sample() returned empty rows (all zeros) in {count} and "
            f"never transition {recorded[-1]}, the last one recorded. That is "
            "record()'s doing: it writes each transition one row ahead (it counts "
            "the transition before writing it), so row 0 stays empty and the newest "
            "row is out of sample()'s reach. Hint: in record(), write the "
            "transition at the row of the current count first, then add 1 to the "
            "count.",
            "buffer/record-ahead", _RECORD_FIX,
        )
    if seen == set(recorded[1:]):
        return CheckFailed(
            f"{context}, sample() returned empty rows (all zeros) in {count} and "
            f"never transition {recorded[0]}, the first one: sample() draws rows "
            "1 to n instead of 0 to n - 1. Hint: the filled rows are numbered from "
            "0 to number_filled - 1.",
            "buffer/sample-off-by-one", _SAMPLE_FIX,
        )
    return CheckFailed(
        f"{context}, sample() returned empty rows (all zeros) in {count}: it picks "
        "rows that were never written. Hint: draw indices only among the rows "
        "filled so far, i.e. below min(number recorded, capacity).",
        "buffer/empty-rows", _SAMPLE_FIX,
    )


def _only_recorded(ids: np.ndarray, recorded: Sequence[int], context: str) -> set:
    """The transitions sampled; fail on empty rows or rows never recorded."""
    if np.any(ids == 0):
        raise _empty_rows(ids, recorded, context)
    seen = set(ids.tolist())
    if not seen <= set(recorded):
        raise CheckFailed(
            f"{context}, sample() returned transitions "
            f"{sorted(seen - set(recorded))} that were never recorded (or no longer "
            "are).",
            "buffer/never-recorded",
        )
    return seen


def _judge_partly_filled(records: Records, plan: _BufferPlan) -> None:
    """Step 1: transitions 1-3 in a buffer of 5 rows (fixed cases)."""
    first, size = plan.first, plan.first_batch
    context = (
        f"after recording transitions {_listed(first)} into a buffer of capacity "
        f"{plan.capacity}"
    )
    batch = _sampled(records, "first", size)
    seen = _only_recorded(_transition_ids(batch, plan), first, context)
    if seen == set(first[:-1]):
        raise CheckFailed(
            f"{context}, {size} draws never returned transition {first[-1]}, the "
            "newest: sample() draws below number_filled - 1. rng.integers(low, "
            "high) never returns high itself, so an upper end of number_filled "
            "already stops at the last filled row; subtracting 1 leaves it out.",
            "buffer/sample-off-by-one", _SAMPLE_FIX,
        )
    if seen != set(first):
        raise CheckFailed(
            f"{context}, {size} draws only ever returned transitions {sorted(seen)}: "
            "sampling should pick uniformly among ALL the rows filled so far. Hint: "
            "each index is drawn uniformly among all the filled rows.",
            "buffer/misses-rows", _SAMPLE_FIX,
        )
    repeat = _sampled(records, "repeat", size)
    if not all(np.array_equal(a, b) for a, b in zip(batch, repeat, strict=True)):
        raise CheckFailed(
            f"two calls of sample({size}, rng) with generators both seeded "
            f"{plan.seed_first} returned different batches: draw the indices with "
            "the rng argument (rng.integers), not with np.random, so that training "
            "is repeatable.",
            "buffer/not-repeatable", _SAMPLE_FIX,
        )
    one = _transition_ids(_sampled(records, "one", 1), plan)
    _only_recorded(one, first, f"{context}, with a batch of 1")


def _judge_wrapped(records: Records, plan: _BufferPlan) -> None:
    """Step 2: 8 transitions into 5 rows; 4-8 are left (fixed cases)."""
    first, held, newest = plan.first, plan.wrapped, plan.overwriting
    context = (
        f"after {plan.total} transitions into a buffer of capacity {plan.capacity}"
    )
    ids = _transition_ids(_sampled(records, "wrapped", plan.wrapped_batch), plan)
    if np.any(ids == 0):
        raise _empty_rows(ids, held, context)
    seen = set(ids.tolist())
    # Step 1's transitions coming out: which mistake it is depends on whether the
    # ones that should have overwritten them do.
    if seen & set(first):
        if not seen & set(newest):
            raise CheckFailed(
                f"{context}, sample() still returns transitions {sorted(seen)}: "
                f"the buffer never wraps, the newest transitions {_listed(newest)} "
                "were dropped. Hint: once the buffer is full, the row to write "
                "wraps around to 0, so that the oldest row is overwritten.",
                "buffer/never-wraps", _RECORD_FIX,
            )
        raise CheckFailed(
            f"{context}, sample() returned transitions "
            f"{sorted(seen & set(first))}, which should have been overwritten by "
            f"{_listed(newest)}. Hint: once the buffer is full, the next row to "
            "write is the oldest one (the rows wrap around).",
            "buffer/not-overwritten", _RECORD_FIX,
        )
    _only_recorded(ids, held, context)
    span = f"{held[0]} to {held[-1]}"
    if seen != set(held):
        raise CheckFailed(
            f"{context}, it should hold transitions {span}, but "
            f"{plan.wrapped_batch} draws (rng seeded {plan.seed_wrapped}) never "
            f"returned {sorted(set(held) - seen)}. Hint: once the buffer is full, "
            "sample among all `capacity` rows.",
            "buffer/misses-rows", _SAMPLE_FIX,
        )
    counts = np.bincount(ids, minlength=held[-1] + 1)[held[0]:]
    _uniform_counts(
        counts, f"{plan.wrapped_batch} draws from transitions {span} "
        f"(rng seeded {plan.seed_wrapped})",
    )


# A uniform sample() fails a uniformity test with probability below 1e-6 in all:
# each of the two tests (step 2's draws, step 3's) rejects when Pearson's statistic
# sum((count - N/k)^2 / (N/k)) over the k rows has a chi-square tail (k - 1 degrees
# of freedom) below 1e-7 (2e-7 for both). The chi-square law is the statistic's
# limit; at these sizes (N/k >= 285 expected draws per row in step 2, >= 25 in
# step 3) its tail at 1e-7 is within a small factor of the exact one, which the
# margin of 5 to 1e-6 covers. Power: one row of k = 7 twice as likely as the others
# over N = 2,000 draws gives a statistic near 190 (non-centrality N k sum (p -
# 1/k)^2), against 43.4 at the 1e-7 tail (6 degrees of freedom).
_UNIFORM_TAIL = 1e-7


def _chi_square_tail(statistic: float, df: int) -> float:
    """P(X >= statistic) for X chi-square with ``df`` degrees of freedom (exact
    series of the regularised upper incomplete gamma function, integer df)."""
    half = statistic / 2.0
    if df % 2 == 0:
        term = total = math.exp(-half)
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return total
    total = math.erfc(math.sqrt(half))
    term = math.exp(-half) * math.sqrt(half) / math.gamma(1.5)
    for i in range((df - 1) // 2):
        total += term
        term *= half / (i + 1.5)
    return total


def _uniform_counts(counts: np.ndarray, draws: str) -> None:
    """Fail (buffer/not-uniform) when per-row counts are too uneven for uniform
    draws (see ``_UNIFORM_TAIL``)."""
    counts = np.asarray(counts, dtype=np.float64)
    expected = counts.sum() / counts.size
    statistic = float(np.sum((counts - expected) ** 2) / expected)
    if counts.size < 2 or _chi_square_tail(statistic, counts.size - 1) >= _UNIFORM_TAIL:
        return
    raise CheckFailed(
        f"{draws} gave counts {counts.astype(int).tolist()} per row, about "
        f"{expected:.0f} each expected: uniform draws spread this unevenly with a "
        f"probability below {_UNIFORM_TAIL:g} (chi-square test). Hint: draw each "
        "index uniformly among the filled rows, every row with the same chance "
        "(no rounding of scaled floats, no modulo of a wider range).",
        "buffer/not-uniform", _SAMPLE_FIX,
    )


def _judge_len(records: Records, plan: _BufferPlan) -> None:
    """len(buffer) after step 2, when the class defines __len__ (optional)."""
    try:
        length = records["len"]
    except CheckFailed:
        if "len" not in records:  # the probe stopped before: that failure stands
            raise
        return  # no __len__: it is optional
    length = int(as_array(length, name="len(buffer)", shape=(), dtype_kind="i"))
    if length != plan.capacity:
        raise CheckFailed(
            f"len(buffer) is {length} after {plan.total} transitions into a buffer "
            f"of capacity {plan.capacity}; it should be {plan.capacity} (the rows "
            "filled).",
            "buffer/wrong-len",
        )


def _judge_many_rows(records: Records, plan: _BufferPlan) -> None:
    """Step 3: 40 rows filled, 200 batches of 5: every filled row comes out."""
    rows, size, calls = plan.many_rows, plan.many_batch, plan.many_calls
    context = (
        f"after recording {rows} transitions into a buffer of capacity "
        f"{plan.many_capacity}"
    )
    recorded = tuple(range(1, rows + 1))
    batches = [_sampled(records, f"many{call}", size) for call in range(calls)]
    fields = zip(*batches, strict=True)
    ids = _transition_ids([np.concatenate(field) for field in fields], plan)
    seen = _only_recorded(ids, recorded, context)
    draws = f"{calls} calls of sample({size}, rng) ({ids.size} draws)"
    if seen == set(recorded):
        counts = np.bincount(ids, minlength=rows + 1)[1:]
        _uniform_counts(counts, f"{context}, {draws}")
        return
    per_call = ids.reshape(calls, size)
    if np.all(per_call == per_call[0]):
        raise CheckFailed(
            f"{context}, {draws} returned the same batch every time, transitions "
            f"{per_call[0].tolist()}: sample() starts its random draws afresh at "
            "every call. Hint: draw with the rng passed to sample(), which moves on "
            "from call to call; a generator created (and seeded) inside sample() "
            "repeats itself.",
            "buffer/same-batch", _SAMPLE_FIX,
        )
    if max(seen) <= size:
        raise CheckFailed(
            f"{context}, {draws} only ever returned transitions {sorted(seen)}, "
            f"none beyond row {max(seen)} (batch_size is {size}): every filled row "
            "must be able to come out. Hint: the indices range over the number of "
            "filled rows, min(count, capacity), not over batch_size or a fixed "
            "number.",
            "buffer/first-rows-only", _SAMPLE_FIX,
        )
    raise CheckFailed(
        f"{context}, {draws} never returned transitions "
        f"{sorted(set(recorded) - seen)}: every filled row must be able to come "
        "out. Hint: draw each index uniformly among all the filled rows.",
        "buffer/misses-rows", _SAMPLE_FIX,
    )


REPLAY_BUFFER = Check(EX_BUFFER, _probe_buffer, _judge_buffer)


def check_replay_buffer(buffer_class: Any) -> None:
    """Check the ``ReplayBuffer`` class: ``record(...)`` and ``sample(...)``.

    Expected: ``ReplayBuffer(capacity, state_dim, action_dim)``; ``record(state,
    action, reward, next_state, terminated, truncated)`` writes one row, the oldest
    row being overwritten once the buffer is full; ``sample(batch_size, rng)``
    returns six arrays of shapes (B, state_dim), (B, action_dim), (B, 1),
    (B, state_dim), (B, 1), (B, 1), drawn uniformly with ``rng`` (with replacement)
    among all the rows filled so far.

    Args:
        buffer_class: the student's class (new buffers are made from it; the
            student's own buffer objects are never touched).

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    run_check(REPLAY_BUFFER, buffer_class)


# --------------------------------------------------------------------------------------
# Exercise 3: the critic's target
# --------------------------------------------------------------------------------------
def _target_cases() -> list[dict[str, Any]]:
    column = lambda *v: np.array(v, dtype=np.float32).reshape(-1, 1)  # noqa: E731
    rng = case_rng("pendulum.target")
    if rng is not None:
        return _target_drawn(rng, column)
    return [
        dict(
            rewards=column(-1.0, -2.0, -0.5, -3.0),
            next_q=column(-10.0, -20.0, -5.0, -1.0),
            terminated=column(0, 1, 0, 0),
            truncated=column(0, 0, 1, 0),
            gamma=0.9,
        ),
        # Pendulum's case: never terminated, truncated at the time limit.
        dict(
            rewards=column(-4.0, -0.1),
            next_q=column(-30.0, -2.0),
            terminated=column(0, 0),
            truncated=column(1, 1),
            gamma=0.99,
        ),
        dict(
            rewards=column(1.0, 2.0, 3.0),
            next_q=column(5.0, 6.0, 7.0),
            terminated=column(1, 0, 1),
            truncated=column(1, 0, 0),
            gamma=0.5,
        ),
        dict(
            rewards=column(0.5),
            next_q=column(8.0),
            terminated=column(0),
            truncated=column(0),
            gamma=0.0,
        ),
        # Flags kept as integers (int(terminated)): 1 - terminated works the same.
        dict(
            rewards=column(-1.5, -0.25),
            next_q=column(-6.0, -4.0),
            terminated=np.array([[1], [0]]),
            truncated=np.array([[0], [1]]),
            gamma=0.9,
        ),
    ]


def _target_drawn(rng: np.random.Generator, column) -> list[dict[str, Any]]:
    """The fixed cases' flags, gammas' roles and signs, with new values (a challenge).

    Rewards and next values keep the fixed cases' signs (negative, as Pendulum's,
    but positive in case 2) and stay away from 0, and gamma from 0 and 1 (but the
    case where it is 0): every typical mistake changes a row by +-gamma * next_q,
    (1 - gamma) * next_q or -r, and with r and next_q of one sign no two of them
    agree on case 0's four rows.
    """
    def values(low, high, size, digits=1):
        return column(*_draw(rng, low, high, size, digits))

    return [
        dict(
            rewards=values(-5.0, -0.1, 4),
            next_q=values(-25.0, -1.0, 4),
            terminated=column(0, 1, 0, 0),
            truncated=column(0, 0, 1, 0),
            gamma=_pick(rng, (0.8, 0.85, 0.9, 0.95)),
        ),
        dict(
            rewards=values(-16.0, -0.1, 2),
            next_q=values(-60.0, -1.0, 2),
            terminated=column(0, 0),
            truncated=column(1, 1),
            gamma=_pick(rng, (0.95, 0.97, 0.98, 0.99)),
        ),
        dict(
            rewards=values(0.5, 5.0, 3),
            next_q=values(1.0, 10.0, 3),
            terminated=column(1, 0, 1),
            truncated=column(1, 0, 0),
            gamma=_pick(rng, (0.3, 0.4, 0.6, 0.7)),
        ),
        dict(
            rewards=values(0.1, 2.0, 1),
            next_q=values(1.0, 10.0, 1),
            terminated=column(0),
            truncated=column(0),
            gamma=0.0,
        ),
        dict(
            rewards=values(-5.0, -0.1, 2, 2),
            next_q=values(-10.0, -1.0, 2),
            terminated=np.array([[1], [0]]),
            truncated=np.array([[0], [1]]),
            gamma=_pick(rng, (0.8, 0.85, 0.9, 0.95)),
        ),
    ]


def _target_mistakes(c: dict[str, Any]) -> list[Mistake]:
    """What typical wrong answers return on a case, most specific first."""
    r, q, te, tr = (
        np.asarray(c[k], dtype=np.float64)
        for k in ("rewards", "next_q", "terminated", "truncated")
    )
    g = c["gamma"]
    done = np.maximum(te, tr)
    return [
        Mistake(
            "target/truncated-too",
            r + g * (1 - done) * q,
            "you stop bootstrapping on truncated rows too. Truncation is the time "
            "limit (200 steps for Pendulum): the pendulum would have gone on, so its "
            "future still counts. Only `terminated` means there is no future.",
            _TARGET_FIX,
        ),
        Mistake(
            "target/truncated-for-terminated",
            r + g * (1 - tr) * q,
            "you used `truncated` where `terminated` belongs: the time limit is not "
            "the end of the task, keep bootstrapping there.",
            _TARGET_FIX,
        ),
        Mistake(
            "target/no-terminal",
            r + g * q,
            "the terminated rows still add gamma * next_q: after a terminal state "
            "there is nothing more to earn, so y = r there, and y = r + gamma * "
            "next_q in the other rows. The flag is 1 or 0: use it to switch the "
            "future value off.",
            _TARGET_FIX,
        ),
        Mistake(
            "target/inverted-flag",
            r + g * te * q,
            "the flag is inverted: terminated rows must get y = r and the others "
            "y = r + gamma * next_q; yours do the opposite.",
            _TARGET_FIX,
        ),
        Mistake(
            "target/no-gamma",
            r + (1 - te) * q,
            "gamma is missing: the future value is discounted by gamma before it is "
            "added to the reward.",
            _TARGET_FIX,
        ),
        Mistake(
            "target/no-reward",
            g * (1 - te) * q,
            "the reward r is missing: the target is the reward received now plus "
            "the discounted future value.",
            _TARGET_FIX,
        ),
        Mistake(
            "target/gamma-twice",
            r + g * g * (1 - te) * q,
            "the future value is discounted twice (gamma squared): one step ahead "
            "is discounted once, by gamma.",
            _TARGET_FIX,
        ),
        Mistake(
            "target/future-subtracted",
            r - g * (1 - te) * q,
            "the discounted future value is subtracted: the target ADDS it to the "
            "reward, y = r + gamma * (1 - terminated) * next_q.",
            _TARGET_FIX,
        ),
        Mistake(
            "target/reward-discounted",
            g * (r + g * (1 - te) * q),
            "the reward is discounted too: it is received now, so only the "
            "future value is multiplied by gamma.",
            _TARGET_FIX,
        ),
        Mistake(
            "target/reward-and-q-swapped",
            q + g * (1 - te) * r,
            "next_q and the reward trade places: the reward comes undiscounted, "
            "and gamma multiplies next_q (the target critic's value of s').",
            _TARGET_FIX,
        ),
    ]


def _probe_target(probe: Probe, critic_target: Callable[..., Any]) -> None:
    cases = _target_cases()
    for index, case in enumerate(cases):
        probe.call_keeping_inputs(f"case{index}", critic_target, case)
    # As the compiled update step calls it: float32 tensors inside tf.function.
    call_compiled(
        probe, "graph", critic_target, cases[0],
        tensors=("rewards", "next_q", "terminated", "truncated"),
    )


def _judge_target(records: Records) -> str:
    cases = _target_cases()
    for index, case in enumerate(cases):
        expected = reference_critic_target(
            case["rewards"], case["next_q"], case["terminated"], case["gamma"]
        )
        assert_close_naming(
            records[f"case{index}"], expected, _target_mistakes(case),
            what="the target y", case=case,
            hint="the target is the reward plus gamma times the target critic's "
            "next value; a terminated row gets the reward alone (a truncated one "
            "keeps its future): y = r + γ (1 - terminated) Q'.",
            fix=_TARGET_FIX, **_TOL,
        )
        _unchanged(
            records, f"case{index}", case, function="critic_target",
            why="The update step uses these arrays again: build y with arithmetic, "
            "which makes a new array.",
            mistake="target/changes-input",
        )
    first = cases[0]
    assert_graph_close(
        records, "graph",
        reference_critic_target(
            first["rewards"], first["next_q"], first["terminated"], first["gamma"]
        ),
        what="the target y inside tf.function",
        hint="use arithmetic (+, -, *) or tf.* functions, which work on tensors in "
        "the compiled update step; NumPy functions need concrete arrays.",
        graph_only=("target/graph-only", _GRAPH_ONLY),
        mistake="target/graph-differs", fix=_TARGET_FIX,
        float32=("target/float64", EX_TARGET),
        **_TOL,
    )
    return f"critic target: {len(cases)} cases right, also inside tf.function"


CRITIC_TARGET = Check(EX_TARGET, _probe_target, _judge_target)


def check_critic_target(critic_target: Callable[..., Any]) -> None:
    """Check ``critic_target(rewards, next_q, terminated, truncated, gamma)``.

    Expected: ``rewards + gamma * (1 - terminated) * next_q`` with shape (B, 1);
    ``truncated`` must not change the target, and the inputs are left unchanged.
    It must also run on TensorFlow tensors inside a ``tf.function`` (where the
    update step uses it).

    Args:
        critic_target: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    run_check(CRITIC_TARGET, critic_target)


# --------------------------------------------------------------------------------------
# Exercise 4: the actor's and the critic's losses
# --------------------------------------------------------------------------------------
_HIDDEN = 4
_LOSS_GAMMA = 0.9
_LOSS_SEED = 0  # the small networks' weights and the batches come from this seed
_LOSS_SIZES = (5, 2)
_LOSS_NAMES = ("actor_loss", "critic_loss")  # every chapter: (actor, critic)


def _np_actor(w: list[np.ndarray], s: np.ndarray) -> np.ndarray:
    w1, b1, w2, b2 = w
    return 2.0 * np.tanh(np.tanh(s @ w1 + b1) @ w2 + b2)


def _np_critic(w: list[np.ndarray], s: np.ndarray, a: np.ndarray) -> np.ndarray:
    w1, b1, w2, b2 = w
    return np.tanh(np.concatenate([s, a], axis=1) @ w1 + b1) @ w2 + b2


def _net_weights(rng: np.random.Generator, q_scale: float) -> tuple[list, list]:
    """Weights of a tiny actor and critic, float32 values held in float64."""
    actor_w = [
        rng.uniform(-1, 1, (_STATE_DIM, _HIDDEN)),
        rng.uniform(-0.5, 0.5, _HIDDEN),
        rng.uniform(-1, 1, (_HIDDEN, _ACTION_DIM)),
        rng.uniform(-0.5, 0.5, _ACTION_DIM),
    ]
    critic_w = [
        rng.uniform(-1, 1, (_STATE_DIM + _ACTION_DIM, _HIDDEN)),
        rng.uniform(-0.5, 0.5, _HIDDEN),
        q_scale * rng.uniform(-3, 3, (_HIDDEN, 1)),
        q_scale * rng.uniform(-1, 1, 1),
    ]
    as_float32 = lambda ws: [w.astype(np.float32).astype(np.float64) for w in ws]  # noqa: E731
    return as_float32(actor_w), as_float32(critic_w)


def _loss_batch(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
    terminated = np.zeros((size, 1))
    truncated = np.zeros((size, 1))
    terminated[0, 0] = 1.0
    truncated[-1, 0] = 1.0
    batch = dict(
        states=rng.uniform(-1, 1, (size, _STATE_DIM)),
        actions=rng.uniform(-2, 2, (size, _ACTION_DIM)),
        rewards=rng.uniform(-5, 0, (size, 1)),
        next_states=rng.uniform(-1, 1, (size, _STATE_DIM)),
        terminated=terminated,
        truncated=truncated,
    )
    # The probe passes float32 tensors: the reference sees the same values.
    return {k: v.astype(np.float32).astype(np.float64) for k, v in batch.items()}


def _loss_setup() -> dict[str, Any]:
    """The weights of the four networks and the batches (NumPy only, both sides).

    Returns:
        ``{"weights": (actor, critic, target_actor, target_critic), "batches": [...],
        "gamma": ..., "origin": ...}``; the target copies differ from the online
        ones (and value 3x larger), so a loss built from the wrong networks gives
        other numbers. Under a challenge the weights, the batches (the first of 4
        to 6 rows) and gamma are new; row 0 stays terminated, the last truncated.
    """
    challenge = case_rng("pendulum.losses")
    rng = np.random.default_rng(_LOSS_SEED) if challenge is None else challenge
    actor_w, critic_w = _net_weights(rng, 1.0)
    target_actor_w, target_critic_w = _net_weights(rng, 3.0)
    if challenge is None:
        sizes, gamma = _LOSS_SIZES, _LOSS_GAMMA
        origin = f"weights from seed {_LOSS_SEED}"
    else:
        sizes = (int(rng.integers(4, 7)), _LOSS_SIZES[1])
        gamma = _pick(rng, (0.8, 0.85, 0.9, 0.95))
        origin = "random weights"
    return {
        "weights": (actor_w, critic_w, target_actor_w, target_critic_w),
        "batches": [_loss_batch(rng, size) for size in sizes],
        "gamma": gamma,
        "origin": origin,
    }


def _keras_nets(weights) -> tuple:
    """Keras copies of the four tiny networks (probe side only)."""
    import keras

    def actor_net(w):
        s = keras.Input(shape=(_STATE_DIM,))
        h = keras.layers.Dense(_HIDDEN, activation="tanh")(s)
        a = keras.layers.Dense(_ACTION_DIM, activation="tanh")(h)
        model = keras.Model(s, keras.layers.Rescaling(2.0)(a))
        model.set_weights([x.astype(np.float32) for x in w])
        return model

    def critic_net(w):
        s = keras.Input(shape=(_STATE_DIM,))
        a = keras.Input(shape=(_ACTION_DIM,))
        x = keras.layers.Concatenate()([s, a])
        x = keras.layers.Dense(_HIDDEN, activation="tanh")(x)
        model = keras.Model([s, a], keras.layers.Dense(1)(x))
        model.set_weights([x.astype(np.float32) for x in w])
        return model

    actor_w, critic_w, target_actor_w, target_critic_w = weights
    return (
        actor_net(actor_w), critic_net(critic_w),
        actor_net(target_actor_w), critic_net(target_critic_w),
    )


def _probe_losses(probe: Probe, ddpg_losses: Callable[..., Any]) -> None:
    import tensorflow as tf

    setup = _loss_setup()
    nets = _keras_nets(setup["weights"])
    for index, case in enumerate(setup["batches"]):
        batch = tuple(tf.constant(v, dtype=tf.float32) for v in case.values())
        with tf.GradientTape(persistent=True) as tape:
            result = probe.call(
                f"losses{index}", ddpg_losses, batch, *nets, setup["gamma"]
            )
        _keep_gradients(probe, f"losses{index}", tape, result, nets[:2])
        del tape
    compiled = tf.function(ddpg_losses) if callable(ddpg_losses) else ddpg_losses
    probe.call("graph", compiled, batch, *nets, setup["gamma"])


def _keep_gradients(probe: Probe, key: str, tape, result: Any, nets) -> None:
    """Keep, for the first two returned values, whether each is a tensor, and the
    gradients of the first (actor_loss) with respect to the actor's weights and of
    the second (critic_loss) with respect to the critic's."""
    import tensorflow as tf

    items = list(result)[:2] if isinstance(result, (tuple, list)) else []
    for j, (item, owner, net) in enumerate(
        zip(items, ("actor", "critic"), nets, strict=False)
    ):
        probe.keep(f"{key}/tensor{j}", bool(tf.is_tensor(item)))
        probe.keep(f"{key}/type{j}", type(item).__name__[:60])
        grads = None
        if tf.is_tensor(item):
            try:
                grads = tape.gradient(item, net.trainable_variables)
            except Exception:  # e.g. an integer tensor: no gradient to keep
                grads = None
        probe.keep(f"{key}/grad{j}/{owner}", grads)


def _loss_references(case: dict, weights, gamma: float) -> dict[str, float]:
    """The right losses and the usual wrong ones, in float64."""
    aw, cw, taw, tcw = weights
    s, a, r = case["states"], case["actions"], case["rewards"]
    s2, te, tr = case["next_states"], case["terminated"], case["truncated"]
    q = _np_critic(cw, s, a)

    def target(actor_w, critic_w, done):
        next_q = _np_critic(critic_w, s2, _np_actor(actor_w, s2))
        return r + gamma * (1 - done) * next_q

    y = target(taw, tcw, te)
    return dict(
        critic=float(np.mean((y - q) ** 2)),
        critic_online=float(np.mean((target(aw, cw, te) - q) ** 2)),
        critic_online_actor=float(np.mean((target(aw, tcw, te) - q) ** 2)),
        critic_online_critic=float(np.mean((target(taw, cw, te) - q) ** 2)),
        critic_done=float(np.mean((target(taw, tcw, np.maximum(te, tr)) - q) ** 2)),
        critic_truncated=float(np.mean((target(taw, tcw, tr) - q) ** 2)),
        critic_no_flag=float(np.mean((target(taw, tcw, 0.0) - q) ** 2)),
        critic_abs=float(np.mean(np.abs(y - q))),
        critic_sum=float(np.sum((y - q) ** 2)),
        critic_half=float(0.5 * np.mean((y - q) ** 2)),
        critic_rmse=float(np.sqrt(np.mean((y - q) ** 2))),
        critic_target_q=float(np.mean((y - _np_critic(tcw, s, a)) ** 2)),
        # y (B, 1) minus a Q squeezed to (B,): every y against every Q, (B, B).
        critic_broadcast=float(np.mean((y - q.reshape(1, -1)) ** 2)),
        actor=float(-np.mean(_np_critic(cw, s, _np_actor(aw, s)))),
        actor_plus=float(np.mean(_np_critic(cw, s, _np_actor(aw, s)))),
        actor_buffer=float(-np.mean(q)),
        actor_target=float(-np.mean(_np_critic(tcw, s, _np_actor(taw, s)))),
        actor_target_critic=float(-np.mean(_np_critic(tcw, s, _np_actor(aw, s)))),
        actor_sum=float(-np.sum(_np_critic(cw, s, _np_actor(aw, s)))),
    )


# (reference key, mistake id, hint), most specific first.
_CRITIC_MISTAKES = (
    ("critic_online", "losses/critic-target-from-online",
     "the target y uses the ONLINE actor and critic. It must come from "
     "target_actor and target_critic: they change slowly, so the critic is not "
     "chasing a target that moves with every update it makes."),
    ("critic_online_actor", "losses/critic-online-actor",
     "the target uses the online actor for mu'(s'): the next action comes from "
     "target_actor (and its value from target_critic)."),
    ("critic_online_critic", "losses/critic-online-critic",
     "the target uses the online critic for Q'(s', a'): the next value comes from "
     "target_critic, at the target actor's action."),
    ("critic_done", "losses/critic-truncated-too",
     "the target stops bootstrapping on truncated rows too (check critic_target): "
     "only `terminated` means there is no future."),
    ("critic_truncated", "losses/critic-truncated-for-terminated",
     "the target uses `truncated` where `terminated` belongs."),
    ("critic_no_flag", "losses/critic-no-terminal",
     "terminated rows still bootstrap: the target is "
     "y = r + γ (1 - terminated) Q'(s', μ'(s')) (critic_target computes it)."),
    ("critic_abs", "losses/critic-absolute-error",
     "this is the mean ABSOLUTE error; the critic's loss is the mean squared "
     "error, the mean of (y - Q(s, a))²."),
    ("critic_sum", "losses/critic-sum",
     "you summed over the batch; take the mean, so the step size does not depend "
     "on the batch size."),
    ("critic_half", "losses/critic-half-mse",
     "this is half the mean squared error; the loss is the mean of "
     "(y - Q(s, a))², without the 1/2."),
    ("critic_rmse", "losses/critic-rmse",
     "this is the ROOT mean squared error; drop the square root."),
    ("critic_target_q", "losses/critic-q-from-target",
     "Q(s, a) comes from the target critic; the critic being trained is the "
     "online one, at the stored (state, action) pairs."),
    ("critic_broadcast", "losses/critic-broadcast",
     "y has shape (B, 1) and your Q(s, a) shape (B,) (squeezed), so y - Q "
     "broadcasts to (B, B): every target against every prediction. Keep both "
     "(B, 1), as critic([states, actions]) returns it, or squeeze both."),
)
_ACTOR_MISTAKES = (
    ("actor_plus", "losses/actor-sign",
     "the actor loss has the wrong sign. The actor wants actions the critic values "
     "HIGHLY, and optimisers minimise, so the loss is minus the mean of "
     "Q(s, μ(s))."),
    ("actor_buffer", "losses/actor-buffer-actions",
     "the actor loss uses the actions stored in the buffer. It must score the "
     "actor's OWN actions, μ(s), or no gradient reaches the actor."),
    ("actor_target", "losses/actor-target-networks",
     "the actor loss uses the target networks; use the online actor and critic, "
     "the ones being trained."),
    ("actor_target_critic", "losses/actor-target-critic",
     "the actor loss uses target_critic; use the online critic (the one being "
     "trained)."),
    ("actor_sum", "losses/actor-sum",
     "you summed over the batch; take the mean."),
)
_CRITIC_FORMULA = (
    "critic_loss is the mean over the batch of (y - Q(s, a))², Q the online "
    "critic, with y = r + γ (1 - terminated) Q'(s', μ'(s')) from the TARGET "
    "networks (critic_target computes y)."
)
_ACTOR_FORMULA = (
    "actor_loss is minus the mean of Q(s, μ(s)): the online critic's value of the "
    "online actor's actions."
)


def _judge_losses(records: Records) -> str:
    setup = _loss_setup()
    refs_all = [
        _loss_references(case, setup["weights"], setup["gamma"])
        for case in setup["batches"]
    ]
    # Every batch's values, read ahead (None where unreadable) to name a mistake
    # only when it agrees with the values on every batch: one batch's losses are
    # two numbers, and a typical mistake's may come close to another's by chance.
    values = [
        _loss_values_or_none(records, f"losses{index}")
        for index in range(len(refs_all))
    ]
    for index, case in enumerate(setup["batches"]):
        size = len(case["rewards"])
        shown = (
            f"a batch of {size} random transitions (row 0 terminated, the last row "
            f"truncated), gamma={setup['gamma']}, small networks "
            f"({setup['origin']}) whose target copies differ from the online ones"
        )
        key = f"losses{index}"
        _judge_loss_values(records, key, index, values, refs_all, shown)
        _judge_tensors(records, key)
        _judge_loss_gradients(
            records, key, case, setup["weights"], setup["gamma"], shown
        )
    # The probe's compiled call used the last batch.
    refs = _loss_references(setup["batches"][-1], setup["weights"], setup["gamma"])
    got = graph_value(
        records, "graph", mistake="losses/graph-only", hint=_GRAPH_ONLY,
        fix=f"{_CRITIC_FIX}; {_ACTOR_FIX}",
    )
    pair = unpack(got, _LOSS_NAMES, function="ddpg_losses (inside tf.function)")
    for value, name in zip(pair, _LOSS_NAMES, strict=True):
        require_float32(
            value, what=name, exercise=EX_LOSSES, mistake="losses/float64",
            fix=_ACTOR_FIX if name.startswith("actor") else _CRITIC_FIX,
        )
    hint = (
        "it works eagerly but not in the compiled update step: use tf.* functions "
        "and arithmetic on tensors, not NumPy or .numpy()."
    )
    for value, name in zip(pair, _LOSS_NAMES, strict=True):
        assert_close(
            value, refs[name.split("_")[0]], what=name,
            case="the last batch, inside tf.function", hint=hint,
            mistake="losses/graph-differs", **_LOSS_TOL,
            fix=_ACTOR_FIX if name.startswith("actor") else _CRITIC_FIX,
        )
    return (
        f"DDPG losses: values and gradients right on {len(setup['batches'])} "
        "batches, also in tf.function"
    )


def _loss_values(records: Records, key: str) -> tuple[float, float]:
    """(actor_loss, critic_loss) as the student's function returned them."""
    first, second = unpack(records[key], _LOSS_NAMES, function="ddpg_losses")
    actor = float(as_array(first, name="actor_loss (a scalar)", shape=()))
    critic = float(as_array(second, name="critic_loss (a scalar)", shape=()))
    return actor, critic


def _loss_values_or_none(records: Records, key: str) -> tuple[float, float] | None:
    try:
        return _loss_values(records, key)
    except (CheckFailed, MalformedProbe):
        return None


def _agrees(values, refs_all, index: int, slot: int, ref: str) -> bool:
    """The student's value ``slot`` (0: actor_loss, 1: critic_loss) equals ``ref``
    on every batch but ``index`` whose values could be read."""
    return all(
        pair is None or np.isclose(pair[slot], refs[ref], **_LOSS_TOL)
        for j, (pair, refs) in enumerate(zip(values, refs_all, strict=True))
        if j != index
    )


def _ordered_loss_mistakes(
    table: tuple, slot: int, values, refs_all, index: int
) -> list[tuple[str, str, str]]:
    """The table's mistakes, those the other batches' values agree with first (each
    part keeping the table's order, most specific first)."""
    agreeing = [e for e in table if _agrees(values, refs_all, index, slot, e[0])]
    return agreeing + [e for e in table if e not in agreeing]


def _judge_loss_values(
    records: Records, key: str, index: int, values, refs_all, shown: str
) -> None:
    actor, critic = _loss_values(records, key)
    refs = refs_all[index]
    close = lambda value, name: np.isclose(value, refs[name], **_LOSS_TOL)  # noqa: E731
    if (
        close(actor, "critic") and not close(actor, "actor")
        and _agrees(values, refs_all, index, 0, "critic")
    ):
        raise CheckFailed(
            "the first value returned looks like the critic's loss: the course "
            "orders loss pairs (actor_loss, critic_loss), as in chapter 01. Return "
            "actor_loss, critic_loss, in that order.",
            "losses/swapped-pair",
        )
    for slot, (value, name, table, formula, fix) in enumerate((
        (actor, "actor", _ACTOR_MISTAKES, _ACTOR_FORMULA, _ACTOR_FIX),
        (critic, "critic", _CRITIC_MISTAKES, _CRITIC_FORMULA, _CRITIC_FIX),
    )):
        if close(value, name):
            continue
        ordered = _ordered_loss_mistakes(table, slot, values, refs_all, index)
        assert_close_naming(
            value, refs[name],
            [Mistake(id_, refs[ref], hint, fix) for ref, id_, hint in ordered],
            what=f"{name}_loss", case=shown, hint=formula, fix=fix, **_LOSS_TOL,
        )


def _judge_tensors(records: Records, key: str) -> None:
    kinds = [
        bool(as_array(records[f"{key}/tensor{j}"], name="a flag", shape=(),
                      dtype_kind="b"))
        for j in range(2)
    ]
    if all(kinds):
        return
    types = [records[f"{key}/type{j}"] for j in range(2)]
    if not all(isinstance(name, str) for name in types):
        raise MalformedProbe("the check's data names the losses' types wrongly")
    raise CheckFailed(
        "the losses must be TensorFlow tensors computed with TensorFlow "
        "operations, so that GradientTape can differentiate them; got "
        f"{types[0]} (actor_loss) and {types[1]} (critic_loss). Hint: call the "
        "networks and use tf.* functions (no .numpy(), no float(), no np.*).",
        "losses/not-tensors",
    )


def _judge_loss_gradients(
    records: Records, key: str, case: dict, weights, gamma: float, shown: str
) -> None:
    """The gradients the tape found match the reference's (central differences)."""
    expected = _reference_gradients(case, weights, gamma)
    for j, name, owner in ((0, "actor_loss", "actor"), (1, "critic_loss", "critic")):
        want = expected[owner]
        got = _gradient_list(records[f"{key}/grad{j}/{owner}"], want)
        if all(g is None or not np.any(g) for g in got):
            raise CheckFailed(
                f"{name} has no gradient with respect to the {owner}'s weights, so "
                f"training would not change the {owner}. Hint: compute {name} from "
                f"the {owner}'s output with tf operations (no .numpy(), np.* or "
                "tf.stop_gradient on it).",
                f"losses/no-{owner}-gradient",
            )
        for index, (g, w) in enumerate(zip(got, want, strict=True)):
            g = np.zeros_like(w) if g is None else g
            scale = max(1.0, float(np.max(np.abs(w))))
            if not np.allclose(g, w, rtol=1e-3, atol=1e-3 * scale):
                raise CheckFailed(
                    f"{name} has the right value but not the right gradient with "
                    f"respect to the {owner}'s weights (weight {index}: largest "
                    f"difference {float(np.max(np.abs(g - w))):.3g}) on {shown}. "
                    f"Part of {name} is cut off from the {owner}'s weights. Hint: "
                    "compute it from the networks' outputs with tf operations only "
                    "(no tf.stop_gradient, .numpy() or np.* on the way).",
                    "losses/wrong-gradient",
                )


def _gradient_list(value: Any, want: list[np.ndarray]) -> list[np.ndarray | None]:
    """The kept gradients, one per weight (None where the tape found none)."""
    if value is None:  # the tape could not differentiate the value at all
        return [None] * len(want)
    if not isinstance(value, (list, tuple)) or len(value) != len(want):
        raise MalformedProbe("the check's data has gradients of the wrong form")
    return [
        None if g is None else as_array(g, name="a gradient", shape=w.shape)
        for g, w in zip(value, want, strict=True)
    ]


def _reference_gradients(
    case: dict, weights, gamma: float, step: float = 1e-6
) -> dict:
    """d actor_loss / d actor weights and d critic_loss / d critic weights.

    Central differences on the NumPy losses, in float64 (the TensorFlow gradients
    are float32: they agree to about 1e-5 of the largest gradient).
    """
    aw, cw, taw, tcw = weights
    s, a, r = case["states"], case["actions"], case["rewards"]
    next_q = _np_critic(tcw, case["next_states"], _np_actor(taw, case["next_states"]))
    y = r + gamma * (1 - case["terminated"]) * next_q

    def actor_loss(w):
        return float(-np.mean(_np_critic(cw, s, _np_actor(w, s))))

    def critic_loss(w):
        return float(np.mean((y - _np_critic(w, s, a)) ** 2))

    def gradient(loss, ws):
        grads = []
        for index, w in enumerate(ws):
            g = np.zeros_like(w)
            for flat in range(w.size):
                moved = [x.copy() for x in ws]
                moved[index].flat[flat] += step
                up = loss(moved)
                moved[index].flat[flat] -= 2 * step
                g.flat[flat] = (up - loss(moved)) / (2 * step)
            grads.append(g)
        return grads

    return {"actor": gradient(actor_loss, aw), "critic": gradient(critic_loss, cw)}


LOSSES = Check(EX_LOSSES, _probe_losses, _judge_losses)


def check_ddpg_losses(ddpg_losses: Callable[..., Any]) -> None:
    """Check ``ddpg_losses(batch, actor, critic, target_actor, target_critic, gamma)``.

    ``batch`` is ``(states, actions, rewards, next_states, terminated, truncated)``
    (float32 tensors of shapes (B, 3), (B, 1), (B, 1), (B, 3), (B, 1), (B, 1)).
    Expected: ``(actor_loss, critic_loss)``, two scalar tensors, with
    ``actor_loss = -mean(Q(s, mu(s)))`` from the online networks,
    ``critic_loss = mean((y - Q(s, a))**2)`` and
    ``y = r + gamma * (1 - terminated) * Q'(s', mu'(s'))`` from the TARGET networks;
    their gradients with respect to the actor's and the critic's weights must be
    right, also inside a ``tf.function``.

    Args:
        ddpg_losses: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    run_check(LOSSES, ddpg_losses)


# --------------------------------------------------------------------------------------
# Exercise 5: soft target updates
# --------------------------------------------------------------------------------------
def _soft_cases() -> list[dict[str, Any]]:
    challenge = case_rng("pendulum.soft")
    if challenge is None:
        rng = np.random.default_rng(5)
        target = [rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, 3)]
        online = [rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, 3)]
        single_t, single_o = [np.array([[1.0, -1.0]])], [np.array([[3.0, 5.0]])]
        taus = (0.1, 0.25)
    else:
        # New values: every online weight at least 0.2 from its target one, tau
        # never 1/2 (where tau the wrong way round gives the right answer).
        rng = challenge
        target = [_draw(rng, -1, 1, (2, 3)), _draw(rng, -1, 1, 3)]
        online = [np.round(t + _signed(rng, 0.2, 1.0, t.shape), 2) for t in target]
        single_t = [rng.choice([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0], (1, 2))]
        single_o = [single_t[0] + rng.choice([-4.0, -2.0, 2.0, 4.0], (1, 2))]
        taus = (_pick(rng, (0.05, 0.1, 0.15, 0.2, 0.3)),
                _pick(rng, (0.25, 0.4, 0.6, 0.75)))
    return [
        dict(target_weights=target, online_weights=online, tau=taus[0]),
        dict(target_weights=single_t, online_weights=single_o, tau=taus[1]),
        dict(target_weights=target, online_weights=online, tau=0.0),
        dict(target_weights=target, online_weights=online, tau=1.0),
    ]


_SOFT_IN_PLACE = (
    "It should only RETURN the new values: the update step assigns them to the "
    "target network's variables itself (no assign, +=, [...] = ... on the inputs)."
)


def _probe_soft(probe: Probe, soft_update: Callable[..., Any]) -> None:
    for index, case in enumerate(_soft_cases()):
        probe.call_keeping_inputs(f"case{index}", soft_update, case)
    _probe_soft_variables(probe, soft_update)


def _probe_soft_variables(probe: Probe, soft_update: Callable[..., Any]) -> None:
    """As the update step calls it: Keras variables, inside tf.function."""
    import keras
    import tensorflow as tf

    case = _soft_cases()[0]
    target = [keras.Variable(w.astype(np.float32)) for w in case["target_weights"]]
    online = [keras.Variable(w.astype(np.float32)) for w in case["online_weights"]]
    # The variables are captured, not passed: tf.function would turn arguments
    # into tensors, while the update step hands soft_update the variables.
    compiled = Compiled(
        tf.function(lambda: soft_update(target, online, case["tau"])), soft_update
    )
    probe.call("variables", compiled)
    probe.keep("variables:target_weights", [v.numpy() for v in target])
    probe.keep("variables:online_weights", [v.numpy() for v in online])


def _soft_result(result: Any, shapes: list[tuple], what: str) -> list[np.ndarray]:
    if isinstance(result, StudentError):
        raise CheckFailed(result.message, result.mistake, result.fix)
    if not isinstance(result, (list, tuple)):
        got = result.description if isinstance(result, Opaque) else (
            "None" if result is None else f"{type(result).__name__}"
        )
        raise CheckFailed(
            f"soft_update should return a list with one new array per weight, got "
            f"{got}. Hint: build a new list, one new array for each pair (target, "
            "online), without changing the inputs.", None, _SOFT_FIX,
        )
    if len(result) != len(shapes):
        raise CheckFailed(
            f"soft_update returned {len(result)} arrays for {len(shapes)} weights: "
            "return one new array per pair (target, online)."
        )
    return [
        as_array(value, name=f"{what} {i}", shape=shape)
        for i, (value, shape) in enumerate(zip(result, shapes, strict=True))
    ]


def _soft_mistakes(case: dict, i: int) -> list[Mistake]:
    """What typical wrong answers return for weight ``i`` of a case."""
    tau = case["tau"]
    target, online = case["target_weights"][i], case["online_weights"][i]
    return [
        Mistake(
            "soft/tau-backwards",
            (1 - tau) * online + tau * target,
            "tau is applied the wrong way round: tau is the share of the ONLINE "
            "weights. With tau = 0.005 the target moves 0.5% of the way toward the "
            "online network at each update, so it changes slowly.",
            _SOFT_FIX,
        ),
        Mistake(
            "soft/hard-copy", online,
            "you copied the online weights: the target should only move a "
            "fraction tau of the way toward them.",
            _SOFT_FIX,
        ),
        Mistake(
            "soft/not-moved", target,
            "the target weights did not move: each should move a fraction tau of "
            "the way toward the online weight.",
            _SOFT_FIX,
        ),
        Mistake(
            "soft/moves-away", target + tau * (target - online),
            "the target moved AWAY from the online weights: the step is tau * "
            "(online - target), toward the online weight.",
            _SOFT_FIX,
        ),
        Mistake(
            "soft/no-one-minus-tau", target + tau * online,
            "the target keeps all of itself and adds tau * online: its share is "
            "(1 - tau), so that the two shares sum to 1.",
            _SOFT_FIX,
        ),
        Mistake(
            "soft/tau-on-both", tau * (online + target),
            "both weights are multiplied by tau: the target's share is (1 - tau), "
            "so that the two shares sum to 1.",
            _SOFT_FIX,
        ),
        Mistake(
            "soft/averaged", (online + target) / 2,
            "the new weights are the average of the two: tau is the online "
            "weights' share (0.005 in training), not one half.",
            _SOFT_FIX,
        ),
    ]


def _judge_soft(records: Records) -> str:
    cases = _soft_cases()
    for index, case in enumerate(cases):
        shapes = [np.shape(w) for w in case["target_weights"]]
        new = _soft_result(records[f"case{index}"], shapes, "new target weight")
        expected = reference_soft_update(
            case["target_weights"], case["online_weights"], case["tau"]
        )
        for i, (value, ref) in enumerate(zip(new, expected, strict=True)):
            if np.allclose(value, ref, **_TOL):
                continue
            shown = {
                "target_weights[i]": case["target_weights"][i],
                "online_weights[i]": case["online_weights"][i],
                "tau": case["tau"],
            }
            assert_close_naming(
                value, ref, _soft_mistakes(case, i), what=f"new target weight {i}",
                case=shown, hint="each new target weight moves a fraction tau of "
                "the way toward the online one: θ' ← τ θ + (1 - τ) θ'.",
                fix=_SOFT_FIX, **_TOL,
            )
        _unchanged(
            records, f"case{index}", case, function="soft_update",
            why=_SOFT_IN_PLACE, mistake="soft/changes-input",
        )
    _judge_soft_variables(records)
    return (
        f"soft update: {len(cases)} cases right, inputs untouched, also on Keras "
        "variables"
    )


def _judge_soft_variables(records: Records) -> None:
    case = _soft_cases()[0]
    got = graph_value(
        records, "variables", mistake="soft/graph-only", hint=_GRAPH_ONLY,
        fix=_SOFT_FIX,
    )
    inputs = {k: case[k] for k in ("target_weights", "online_weights")}
    # float32 variables: compare with the float32 values they were given.
    inputs = {k: [w.astype(np.float32) for w in v] for k, v in inputs.items()}
    _unchanged(
        records, "variables", inputs, function="soft_update (on Keras variables)",
        why=_SOFT_IN_PLACE, mistake="soft/changes-input",
    )
    shapes = [np.shape(w) for w in case["target_weights"]]
    what = "new target weight (Keras variables, inside tf.function)"
    require_float32(
        got, what="the new target weights", exercise=EX_SOFT,
        mistake="soft/float64", fix=_SOFT_FIX,
    )
    new = _soft_result(got, shapes, what)
    expected = reference_soft_update(
        case["target_weights"], case["online_weights"], case["tau"]
    )
    for i, (value, ref) in enumerate(zip(new, expected, strict=True)):
        assert_close(
            value, ref, what=f"{what} {i}",
            case="the first case, as Keras variables",
            hint="use arithmetic on the weights, which works for NumPy arrays "
            "and for TensorFlow variables alike.",
            mistake="soft/graph-differs", fix=_SOFT_FIX, **_LOSS_TOL,
        )


SOFT_UPDATE = Check(EX_SOFT, _probe_soft, _judge_soft)


def check_soft_update(soft_update: Callable[..., Any]) -> None:
    """Check ``soft_update(target_weights, online_weights, tau)``.

    Expected: a new list ``[tau * online + (1 - tau) * target, ...]``, one array per
    weight; the inputs are left unchanged (the update step assigns the new values
    to the target network's variables). It must also work on Keras variables
    inside a ``tf.function``.

    Args:
        soft_update: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    run_check(SOFT_UPDATE, soft_update)
