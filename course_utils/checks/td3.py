"""Checks for notebook 03, TD3 on Pendulum-v1.

Each check is a :class:`~.core.Check`: a probe calls the student's code on small
cases and keeps what comes back as plain data (values, the inputs as the call left
them, which update callbacks were called and in what order); a judge compares that
data with a reference written here, independently, in plain NumPy (or plain Python
for the order of the updates). When the answer is wrong, the judge looks for the
usual mistakes and names the one it sees with a stable id
(``"<exercise>/<mistake>"``):

- the clipped double-Q target: the larger estimate instead of the smaller, their
  mean, one critic only, a minimum over the whole batch, Python's ``min``, the
  terminal flag or the discount forgotten;
- target policy smoothing: noise not clipped, clipped on one side only or to the
  action's bound, the action not clipped to its bounds (or to bounds narrowed by
  noise_clip), the two clips swapped, the noise clipped before being scaled, noise
  drawn by the student's code instead of the given sample, Python's ``min``/``max``;
- delayed policy updates: the actor (or only the targets) changed at every critic
  update, off by one, only once, inverted, the delay hard-coded, a counter of the
  student's own instead of ``update_number``, the critics skipped, the updates of
  one round in the wrong order.

The cases are fixed in the notebook; under a grader's challenge (see
:mod:`.challenge`) each case builder draws new values with the same structure and
edge cases, chosen so that no typical mistake gives the right answer and no two give
the same one. The probes and the case builders call no reference, judge or mistake
builder (the grader's kernel holds none).

TensorFlow is imported inside the probes that need it, never at module level; the
judges use NumPy only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .challenge import case_rng
from .compiled import (
    Compiled,
    assert_graph_close,
    call_compiled,
    graph_value,
)
from .core import (
    Check,
    CheckFailed,
    Mistake,
    Probe,
    Records,
    as_array,
    assert_close_naming,
    first_change,
    run_check,
    show_input,
)
from .plain import MalformedProbe

EX_DOUBLE_Q = "1 (the clipped double-Q target)"
EX_SMOOTHING = "2 (target policy smoothing)"
EX_DELAY = "3 (delayed policy updates)"

_TOL = {"atol": 1e-5, "rtol": 1e-4}


# --------------------------------------------------------------------------------------
# Independent references (NumPy, plain Python)
# --------------------------------------------------------------------------------------
def reference_double_q_target(rewards, next_q1, next_q2, terminated, gamma):
    """TD3's critic target ``y = r + gamma * (1 - terminated) * min(Q1', Q2')``.

    Args:
        rewards, next_q1, next_q2, terminated: arrays of shape (B, 1); the two
            ``next_q`` come from the two target critics, ``terminated`` is 0 or 1.
        gamma: discount factor.

    Returns:
        float64 array of shape (B, 1).
    """
    r = np.asarray(rewards, dtype=np.float64)
    smaller = np.fmin(
        np.asarray(next_q1, dtype=np.float64), np.asarray(next_q2, dtype=np.float64)
    )
    done = np.asarray(terminated, dtype=np.float64)
    return r + gamma * (1.0 - done) * smaller


def reference_smoothed_action(
    target_action, normal_sample, noise_std, noise_clip, action_bound
):
    """The target action with clipped Gaussian noise, kept within the bounds.

    Args:
        target_action: the target actor's actions, shape (B, action_dim).
        normal_sample: standard normal draws, same shape.
        noise_std: standard deviation of the noise.
        noise_clip: the noise is kept within [-noise_clip, noise_clip].
        action_bound: actions are kept within [-action_bound, action_bound].

    Returns:
        float64 array of shape (B, action_dim).
    """
    noise = noise_std * np.asarray(normal_sample, dtype=np.float64)
    noise = np.minimum(np.maximum(noise, -noise_clip), noise_clip)
    action = np.asarray(target_action, dtype=np.float64) + noise
    return np.minimum(np.maximum(action, -action_bound), action_bound)


# The three updates of one TD3 round, as the probe records them.
CRITICS, ACTOR, TARGETS = "C", "A", "T"
_NAMES = {CRITICS: "critics", ACTOR: "actor", TARGETS: "targets"}


def reference_round(update_number: int, policy_delay: int) -> str:
    """What one round updates, in order: ``"C"`` or ``"CAT"``.

    The critics learn at every round; the actor, then the targets, every
    ``policy_delay``-th round, counting rounds from 1 (rounds d, 2d, 3d, ...).

    Args:
        update_number: the number of this critic update, from 1.
        policy_delay: critic updates per actor update.

    Returns:
        ``"CAT"`` (critics, actor, targets) or ``"C"`` (critics only).
    """
    due = update_number % policy_delay == 0
    return CRITICS + (ACTOR + TARGETS if due else "")


# --------------------------------------------------------------------------------------
# Judge helpers
# --------------------------------------------------------------------------------------
_GRAPH_ONLY = (
    "It runs on NumPy arrays, but fails inside tf.function, where the training step "
    "calls it on symbolic TensorFlow tensors. Hint: compute with operations that "
    "work on tensors (arithmetic and tf.* functions), not np.* functions, .numpy() "
    "or float(), which need concrete values."
)
_GRAPH_ONLY_DELAY = (
    "It runs in plain Python, but fails inside tf.function, where the training step "
    "passes update_number as a tensor. Hint: the test must be one AutoGraph can "
    "turn into a condition of the graph, a comparison (the remainder of the "
    "division by policy_delay compared with 0); a number tensor used as True/False "
    "(`if remainder:`, `not`, `and`, `or`) fails there, and .numpy() has no value "
    "yet."
)
# The lines that fix each exercise (shown on request, see hints.py).
_DOUBLE_Q_FIX = (
    "return `rewards + gamma * (1 - terminated) * tf.minimum(next_q1, next_q2)` "
    "(tf.minimum works on NumPy arrays too, and in the compiled update step)."
)
_SMOOTHING_FIX = (
    "`noise = tf.clip_by_value(noise_std * normal_sample, -noise_clip, "
    "noise_clip)`, then return `tf.clip_by_value(target_action + noise, "
    "-action_bound, action_bound)`."
)
_DELAY_FIX = (
    "write the round as\n"
    "    update_critics()\n"
    "    if update_number % policy_delay == 0:\n"
    "        update_actor()\n"
    "        update_targets()"
)


def _unchanged(
    records: Records, key: str, inputs: Mapping[str, Any], *, function: str,
    mistake: str,
) -> None:
    """Fail when the student's function changed one of its array inputs in place.

    Args:
        records: the probe's data, holding ``f"{key}:{name}"`` for each input as the
            call left it (see ``Probe.call_keeping_inputs``).
        key: the call's record.
        inputs: the inputs as the check gave them, by name.
        function: the function's name in messages.
        mistake: the mistake's id.
    """
    for name, original in inputs.items():
        after = records[f"{key}:{name}"]
        if not isinstance(after, np.ndarray) or after.dtype.kind not in "biuf":
            raise MalformedProbe(f"the check's data holds no array for {name!r}")
        if first_change(after, original, name) is None:
            continue
        raise CheckFailed(
            f"{function} changed its input `{name}` in place: it was "
            f"{show_input(original)} before the call and {show_input(after)} after "
            "it. The "
            "training step uses these arrays again: compute a new array with "
            "arithmetic (a + b, tf.minimum, tf.clip_by_value...) instead of +=, -= "
            "or [...] =.",
            mistake,
        )


def _column(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32).reshape(-1, 1)


# --------------------------------------------------------------------------------------
# Exercise 1: the clipped double-Q target
# --------------------------------------------------------------------------------------
def _double_q_cases() -> list[dict[str, Any]]:
    """The cases: fixed in the notebook, drawn afresh under a grader's challenge."""
    rng = case_rng("td3.double_q")
    if rng is not None:
        return _drawn_double_q_cases(rng)
    return [
        # Either critic is the smaller on some row; one terminal row.
        dict(
            rewards=_column(-1.0, -2.0, -0.5, -3.0),
            next_q1=_column(-10.0, -20.0, -5.0, -1.0),
            next_q2=_column(-12.0, -18.0, -4.0, -4.0),
            terminated=_column(0, 1, 0, 0),
            gamma=0.9,
        ),
        # Pendulum's case: never terminated; values of both signs.
        dict(
            rewards=_column(-4.0, -0.1, 0.0),
            next_q1=_column(-30.0, 2.0, 0.5),
            next_q2=_column(-25.0, 3.0, -0.5),
            terminated=_column(0, 0, 0),
            gamma=0.99,
        ),
        # Positive values, so that "smaller" cannot pass for "smaller in size".
        dict(
            rewards=_column(1.0, 2.0, 3.0),
            next_q1=_column(5.0, 6.0, -7.0),
            next_q2=_column(4.0, 8.0, -6.0),
            terminated=_column(1, 0, 0),
            gamma=0.5,
        ),
        # No future counted at all: y = r whatever the critics say.
        dict(
            rewards=_column(0.5, -0.5),
            next_q1=_column(8.0, -3.0),
            next_q2=_column(9.0, -2.0),
            terminated=_column(0, 0),
            gamma=0.0,
        ),
        # Flags kept as integers (int(terminated)): 1 - terminated works the same.
        dict(
            rewards=_column(-1.5, -0.25),
            next_q1=_column(-6.0, -4.0),
            next_q2=_column(-5.0, -4.5),
            terminated=np.array([[1], [0]]),
            gamma=0.9,
        ),
    ]


def _pick(rng: np.random.Generator, values: Any) -> float:
    """One of ``values`` (readable numbers), as a Python float."""
    values = np.asarray(values, dtype=np.float64)
    return float(values[int(rng.integers(len(values)))])


def _grid(low: float, high: float, step: float) -> np.ndarray:
    """``low, low + step, ..., high``: readable numbers to draw from."""
    return np.round(np.arange(low, high + step / 2, step), 2)


def _shuffled(
    rng: np.random.Generator, case: dict[str, Any], rows: tuple[str, ...]
) -> dict[str, Any]:
    """The case with the same random order of rows in each of ``rows``."""
    order = rng.permutation(len(case[rows[0]]))
    return {key: value[order] if key in rows else value for key, value in case.items()}


def _drawn_double_q_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """New values with the structure of the fixed cases (see :func:`_double_q_cases`).

    In each case the rows' smaller estimates differ from one another and from 0, a
    row's two estimates differ by 1 or more (but for the second case's tie), the
    rewards of the first case are never 0 and gamma is neither 0 nor 1 where the
    discount must show: on the first case no typical mistake gives the right
    target, and no two give the same one.
    """

    def estimates(smaller, gaps, q1_smaller):
        smaller, gaps = np.asarray(smaller, float), np.asarray(gaps, float)
        q1 = np.where(q1_smaller, smaller, smaller + gaps)
        q2 = np.where(q1_smaller, smaller + gaps, smaller)
        return _column(*q1), _column(*q2)

    def gaps(count: int, values: Any) -> list[float]:
        return [_pick(rng, values) for _ in range(count)]

    rewards = _grid(-4.0, -0.25, 0.25)
    cases = []
    # 1. Four rows, one terminal; each critic the smaller on some live row.
    q1, q2 = estimates(
        rng.choice(np.arange(-30, 0), 4, replace=False), gaps(4, _grid(1, 5, 0.5)),
        [True, False, bool(rng.integers(2)), bool(rng.integers(2))],
    )
    cases.append(_shuffled(rng, dict(
        rewards=_column(*gaps(4, rewards)), next_q1=q1, next_q2=q2,
        terminated=_column(0, 0, 0, 1), gamma=_pick(rng, (0.8, 0.9, 0.95, 0.99)),
    ), ("rewards", "next_q1", "next_q2", "terminated")))
    # 2. Never terminated; values of both signs, a tie, a reward of 0.
    low = _pick(rng, np.arange(-40, -9))
    tie = _pick(rng, _grid(0.5, 4, 0.5))
    cases.append(_shuffled(rng, dict(
        rewards=_column(*gaps(2, rewards), 0.0),
        next_q1=_column(low, tie, _pick(rng, _grid(0.5, 3, 0.5))),
        next_q2=_column(low + _pick(rng, np.arange(1, 9)), tie,
                        -_pick(rng, _grid(0.5, 3, 0.5))),
        terminated=_column(0, 0, 0), gamma=_pick(rng, (0.9, 0.95, 0.99)),
    ), ("rewards", "next_q1", "next_q2")))
    # 3. Positive values (one terminal row) and a negative row.
    positive = rng.choice(np.arange(1, 10), 2, replace=False)
    q1, q2 = estimates(
        [*positive, _pick(rng, np.arange(-9, -3))], gaps(3, (1, 2, 3)),
        [False, True, True],
    )
    cases.append(_shuffled(rng, dict(
        rewards=_column(*gaps(3, _grid(0.5, 3, 0.5))), next_q1=q1, next_q2=q2,
        terminated=_column(1, 0, 0), gamma=_pick(rng, (0.5, 0.6, 0.7)),
    ), ("rewards", "next_q1", "next_q2", "terminated")))
    # 4. gamma = 0: y = r.
    q1 = rng.choice(np.arange(-10, 11), 2, replace=False).astype(float)
    cases.append(dict(
        rewards=_column(_pick(rng, _grid(0.25, 2, 0.25)),
                        -_pick(rng, _grid(0.25, 2, 0.25))),
        next_q1=_column(*q1), next_q2=_column(*(q1 + gaps(2, (-2, -1, 1, 2)))),
        terminated=_column(0, 0), gamma=0.0,
    ))
    # 5. Integer flags.
    q1, q2 = estimates(
        rng.choice(np.arange(-10, 0), 2, replace=False), gaps(2, _grid(0.5, 2, 0.5)),
        [True, False],
    )
    cases.append(_shuffled(rng, dict(
        rewards=_column(*gaps(2, rewards)), next_q1=q1, next_q2=q2,
        terminated=np.array([[1], [0]]), gamma=_pick(rng, (0.9, 0.95, 0.99)),
    ), ("rewards", "next_q1", "next_q2", "terminated")))
    return cases


def _double_q_mistakes(c: dict[str, Any]) -> list[Mistake]:
    """What typical wrong answers return on a case, most specific first."""
    r, q1, q2, d = (
        np.asarray(c[k], dtype=np.float64)
        for k in ("rewards", "next_q1", "next_q2", "terminated")
    )
    g = c["gamma"]
    smaller = np.minimum(q1, q2)
    return [
        Mistake(
            "double-q/max",
            r + g * (1 - d) * np.maximum(q1, q2),
            "you took the LARGER of the two estimates. Over-estimation is the problem "
            "TD3 fixes: the target uses the smaller one, row by row.",
            _MIN_FIX,
        ),
        Mistake(
            "double-q/mean",
            r + g * (1 - d) * (q1 + q2) / 2,
            "you averaged the two estimates. An average keeps half of each critic's "
            "optimism; the clipped target takes the smaller one, row by row.",
            _MIN_FIX,
        ),
        Mistake(
            "double-q/one-critic",
            r + g * (1 - d) * q1,
            "only next_q1 is used: that is DDPG's target with a second, unused "
            "critic. Use the smaller of the two estimates, row by row.",
            _MIN_FIX,
        ),
        Mistake(
            "double-q/one-critic",
            r + g * (1 - d) * q2,
            "only next_q2 is used. Use the smaller of the two estimates, row by "
            "row.",
            _MIN_FIX,
        ),
        Mistake(
            "double-q/batch-min",
            r + g * (1 - d) * np.min(smaller),
            "every row got the same future value, the smallest of the whole batch: "
            "tf.reduce_min (like np.min) reduces over all rows. Each row needs its "
            "own future value: compare the two critics element by element.",
            _MIN_FIX,
        ),
        Mistake(
            "double-q/no-terminal",
            r + g * smaller,
            "the terminated rows still add gamma * min(next_q1, next_q2): after a "
            "terminal state there is nothing more to earn, so y = r there, and "
            "y = r + gamma * min(next_q1, next_q2) in the other rows. The flag is 1 "
            "or 0: use it to switch the future value off.",
            _DOUBLE_Q_FIX,
        ),
        Mistake(
            "double-q/inverted-flag",
            r + g * d * smaller,
            "the flag is inverted: terminated rows must get y = r and the others "
            "y = r + gamma * min(next_q1, next_q2); yours do the opposite.",
            _DOUBLE_Q_FIX,
        ),
        Mistake(
            "double-q/no-gamma",
            r + (1 - d) * smaller,
            "gamma is missing: the future value is discounted by gamma before it "
            "is added to the reward.",
            _DOUBLE_Q_FIX,
        ),
        Mistake(
            "double-q/no-reward",
            g * (1 - d) * smaller,
            "the reward r is missing: the target is the reward received now plus "
            "the discounted future value.",
            _DOUBLE_Q_FIX,
        ),
        Mistake(
            "double-q/gamma-twice",
            r + g * g * (1 - d) * smaller,
            "the future value is discounted twice (gamma squared): one step ahead "
            "is discounted once, by gamma.",
            _DOUBLE_Q_FIX,
        ),
        Mistake(
            "double-q/future-subtracted",
            r - g * (1 - d) * smaller,
            "the discounted future value is subtracted: the target ADDS it to the "
            "reward.",
            _DOUBLE_Q_FIX,
        ),
        Mistake(
            "double-q/sum",
            r + g * (1 - d) * (q1 + q2),
            "the two critics' values are added: the target takes the smaller of "
            "the two, row by row.",
            _DOUBLE_Q_FIX,
        ),
    ]


_DOUBLE_Q_FORMULA = (
    "the target is the reward plus gamma times the smaller of the two critics' "
    "next values, compared row by row; a terminated row gets the reward alone: "
    "y = r + gamma * (1 - terminated) * min(Q1', Q2')."
)
# Python's min()/max() compare the two arrays as wholes: NumPy refuses.
_BUILTIN_MIN = re.compile(r"(?<![.\w])(min|max)\(")


def _probe_double_q(probe: Probe, double_q_target: Callable[..., Any]) -> None:
    cases = _double_q_cases()
    for index, case in enumerate(cases):
        probe.call_keeping_inputs(f"case{index}", double_q_target, case)
    # As the compiled update step calls it: float32 tensors inside tf.function.
    call_compiled(
        probe, "graph", double_q_target, cases[0],
        tensors=("rewards", "next_q1", "next_q2", "terminated"),
    )


def _builtin_min(failure: CheckFailed, hint: str, mistake: str, fix: str) -> None:
    """Name Python's min()/max() on arrays (NumPy's 'truth value' error).

    Args:
        failure: the failure of a call of the student's function.
        hint: what to think about instead, after "Hint: ".
        mistake: the id to raise with.
        fix: the line to write instead (shown on request).

    Raises:
        CheckFailed: the student's line calls min() or max(); otherwise nothing.
    """
    if failure.mistake != "array/truth-value":
        return
    where = next(
        (line for line in str(failure).splitlines() if line.strip().startswith("at ")),
        "",
    )
    if _BUILTIN_MIN.search(where):
        lead = str(failure).split("\nHint:")[0]
        raise CheckFailed(f"{lead}\nHint: {hint}", mistake, fix) from None


_PYTHON_MIN_DOUBLE_Q = (
    "Python's min() and max() compare the two arrays as a whole, which NumPy "
    "refuses (one answer per row is needed). Use TensorFlow's element-wise "
    "minimum: it compares them row by row (and works in the compiled update step)."
)
_MIN_FIX = (
    "take the future value as `tf.minimum(next_q1, next_q2)` (row by row), in "
    "`rewards + gamma * (1 - terminated) * tf.minimum(next_q1, next_q2)`."
)
_PYTHON_MIN_SMOOTHING = (
    "Python's min() and max() compare an array with a number as a whole, which "
    "NumPy refuses (one answer per element is needed). Use TensorFlow's clipping "
    "(or its element-wise minimum and maximum): it clips element by element (and "
    "works in the compiled update step)."
)


def _judge_double_q(records: Records) -> str:
    cases = _double_q_cases()
    for index, case in enumerate(cases):
        expected = reference_double_q_target(
            case["rewards"], case["next_q1"], case["next_q2"], case["terminated"],
            case["gamma"],
        )
        try:
            got = records[f"case{index}"]
        except CheckFailed as failure:
            _builtin_min(
                failure, _PYTHON_MIN_DOUBLE_Q, "double-q/python-min", _MIN_FIX
            )
            raise
        assert_close_naming(
            got, expected, _double_q_mistakes(case), what="the target y", case=case,
            hint=_DOUBLE_Q_FORMULA, fix=_DOUBLE_Q_FIX, **_TOL,
        )
        _unchanged(
            records, f"case{index}", case, function="clipped_double_q_target",
            mistake="double-q/changes-input",
        )
    first = cases[0]
    assert_graph_close(
        records, "graph",
        reference_double_q_target(
            first["rewards"], first["next_q1"], first["next_q2"], first["terminated"],
            first["gamma"],
        ),
        what="the target y inside tf.function",
        hint="use arithmetic (+, -, *) and tf.* functions, which work on tensors in "
        "the compiled update step; NumPy functions need concrete arrays.",
        graph_only=("double-q/graph-only", _GRAPH_ONLY),
        mistake="double-q/graph-differs", fix=_DOUBLE_Q_FIX,
        float32=("double-q/float64", EX_DOUBLE_Q),
        **_TOL,
    )
    return (
        f"clipped double-Q target: {len(cases)} cases right, also inside tf.function"
    )


DOUBLE_Q_TARGET = Check(EX_DOUBLE_Q, _probe_double_q, _judge_double_q)


def check_clipped_double_q_target(clipped_double_q_target: Callable[..., Any]) -> None:
    """Check ``clipped_double_q_target(rewards, next_q1, next_q2, terminated, gamma)``.

    Expected: ``rewards + gamma * (1 - terminated) * minimum(next_q1, next_q2)``,
    row by row, with shape (B, 1); the inputs are left unchanged, and it also runs
    on TensorFlow tensors inside a ``tf.function`` (where the update step uses it).

    Args:
        clipped_double_q_target: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    run_check(DOUBLE_Q_TARGET, clipped_double_q_target)


# --------------------------------------------------------------------------------------
# Exercise 2: target policy smoothing
# --------------------------------------------------------------------------------------
def _smoothing_cases() -> list[dict[str, Any]]:
    """The cases: fixed in the notebook, drawn afresh under a grader's challenge."""
    rng = case_rng("td3.smoothing")
    if rng is not None:
        return _drawn_smoothing_cases(rng)
    return [
        # Pendulum's torque in [-2, 2], noise std 0.4 clipped to +-1.0. Row by row:
        # noise clipped and not, action clipped at both bounds and not. The last
        # row's noise (2.4) is beyond the action's bound too, and the action stays
        # inside: noise clipped to +-action_bound shows, apart from no clip at all.
        dict(
            target_action=_column(0.0, 0.0, 1.9, -1.5, 0.3, 1.0, -1.2),
            normal_sample=_column(3.0, -4.0, 0.5, -3.0, -0.2, 2.0, 6.0),
            noise_std=0.4,
            noise_clip=1.0,
            action_bound=2.0,
        ),
        # Two action dimensions, the paper's settings for actions in [-1, 1].
        dict(
            target_action=np.array(
                [[0.9, -0.2], [-0.8, 0.0], [0.1, 0.95]], dtype=np.float32
            ),
            normal_sample=np.array(
                [[1.0, -3.0], [-1.5, 0.5], [4.0, 0.25]], dtype=np.float32
            ),
            noise_std=0.2,
            noise_clip=0.5,
            action_bound=1.0,
        ),
        # A clip wider than the bounds: swapping the two clips shows.
        dict(
            target_action=_column(0.5, -0.5, 0.0),
            normal_sample=_column(2.0, -2.0, 0.5),
            noise_std=1.0,
            noise_clip=3.0,
            action_bound=1.0,
        ),
        # No noise at all: the target action itself (within its bounds).
        dict(
            target_action=_column(-0.7, 1.2),
            normal_sample=_column(1.3, -0.4),
            noise_std=0.0,
            noise_clip=0.5,
            action_bound=2.0,
        ),
    ]


def _drawn_smoothing_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """New values with the structure of the fixed cases (see :func:`_smoothing_cases`).

    Each row (element) is drawn for its part: noise beyond the clip on either side
    (but within the bounds), at the clip, beyond the action's bound; an action
    pushed past either bound, or at it; small noise, where nothing is clipped. The
    parameters stay the fixed cases' own. On the first case no typical mistake
    gives the right action, and no two give the same one.
    """

    def sign() -> float:
        return 1.0 if rng.integers(2) else -1.0

    def row(actions: Any, samples: Any, side: float = 1.0) -> tuple[float, float]:
        return side * _pick(rng, actions), side * _pick(rng, samples)

    beyond_clip = (3.0, 3.5, 4.0, 4.5)  # with noise_std 0.4, noise_clip 1, bound 2
    small = (-1.0, -0.75, -0.5, -0.25, 0.25, 0.5, 0.75, 1.0)
    at_clip, beyond_bound = sign(), sign()
    rows = [
        row(_grid(-0.5, 0.5, 0.1), beyond_clip),  # noise clipped from above
        row(_grid(-0.5, 0.5, 0.1), beyond_clip, -1.0),  # and from below
        row(_grid(1.6, 2.0, 0.1), (1.5, 2.0)),  # the action clipped at +bound
        row(_grid(1.2, 1.9, 0.1), beyond_clip, -1.0),  # both clipped, below
        row(_grid(-1.0, 1.0, 0.1), small),  # nothing clipped
        (at_clip * _pick(rng, _grid(0.1, 0.9, 0.1)), at_clip * 2.5),  # noise at clip
        # Noise beyond the action's bound, the action well inside: a noise clipped
        # to +-action_bound shows.
        (-beyond_bound * _pick(rng, _grid(1.1, 1.5, 0.1)),
         beyond_bound * _pick(rng, (5.5, 6.0, 6.5, 7.0))),
    ]
    actions, samples = zip(*(rows[i] for i in rng.permutation(len(rows))), strict=True)
    cases = [dict(
        target_action=_column(*actions), normal_sample=_column(*samples),
        noise_std=0.4, noise_clip=1.0, action_bound=2.0,
    )]
    # Two action dimensions (noise_std 0.2, noise_clip 0.5, bounds +-1); one action
    # at its bound.
    beyond_clip = (3.0, 3.5, 4.0)
    elements = [
        row((0.85, 0.9, 0.95), (1.5, 2.0)),
        row((0.85, 0.9, 0.95), (1.5, 2.0), -1.0),
        row(_grid(-0.3, 0.3, 0.1), beyond_clip),
        row(_grid(-0.3, 0.3, 0.1), beyond_clip, -1.0),
        row(_grid(-0.5, 0.5, 0.1), (-1.0, -0.5, -0.25, 0.25, 0.5, 1.0)),
        (sign(), _pick(rng, (-0.5, -0.25, 0.25, 0.5))),
    ]
    actions, samples = zip(
        *(elements[i] for i in rng.permutation(len(elements))), strict=True
    )
    cases.append(dict(
        target_action=np.array(actions, dtype=np.float32).reshape(3, 2),
        normal_sample=np.array(samples, dtype=np.float32).reshape(3, 2),
        noise_std=0.2, noise_clip=0.5, action_bound=1.0,
    ))
    # A clip wider than the bounds: actions pushed past either bound, and not.
    rows = [
        row(_grid(0.2, 0.7, 0.1), (1.5, 2.0, 2.5)),
        row(_grid(0.2, 0.7, 0.1), (1.5, 2.0, 2.5), -1.0),
        row(_grid(-0.3, 0.3, 0.1), (-0.5, -0.25, 0.25, 0.5)),
    ]
    actions, samples = zip(*(rows[i] for i in rng.permutation(len(rows))), strict=True)
    cases.append(dict(
        target_action=_column(*actions), normal_sample=_column(*samples),
        noise_std=1.0, noise_clip=3.0, action_bound=1.0,
    ))
    # No noise at all.
    cases.append(dict(
        target_action=_column(*(_pick(rng, _grid(-1.9, 1.9, 0.1)) for _ in range(2))),
        normal_sample=_column(*(sign() * _pick(rng, _grid(0.2, 2.0, 0.1))
                                for _ in range(2))),
        noise_std=0.0, noise_clip=0.5, action_bound=2.0,
    ))
    return cases


def _clip(x, low, high):
    return np.minimum(np.maximum(x, low), high)


def _smoothing_mistakes(c: dict[str, Any]) -> list[Mistake]:
    """What typical wrong answers return on a case, most specific first."""
    a = np.asarray(c["target_action"], dtype=np.float64)
    eps = np.asarray(c["normal_sample"], dtype=np.float64)
    std, clip, bound = c["noise_std"], c["noise_clip"], c["action_bound"]
    noise = _clip(std * eps, -clip, clip)
    return [
        Mistake(
            "smoothing/noise-not-clipped",
            _clip(a + std * eps, -bound, bound),
            "the noise is not clipped: a rare large draw would move the target action "
            "far away. Clip the noise to [-noise_clip, noise_clip] first, then add "
            "it.",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/noise-clip-bound",
            _clip(a + _clip(std * eps, -bound, bound), -bound, bound),
            "the noise is clipped to the wrong bound, [-action_bound, action_bound]: "
            "noise_clip is the noise's bound. Clip the noise to "
            "[-noise_clip, noise_clip], then the noisy action to "
            "[-action_bound, action_bound].",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/action-bound-shrunk",
            _clip(a + noise, -(bound - clip), bound - clip),
            "the action is clipped to [-(action_bound - noise_clip), action_bound - "
            "noise_clip]: the noisy action may use the whole range "
            "[-action_bound, action_bound]; noise_clip bounds the noise alone, "
            "before it is added.",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/action-not-clipped",
            a + noise,
            "the noisy action is not clipped to [-action_bound, action_bound]: the "
            "target critics would be asked about torques the pendulum never "
            "receives. Clip the sum, target_action + noise, to the bounds.",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/nothing-clipped",
            a + std * eps,
            "nothing is clipped: clip the noise to [-noise_clip, noise_clip], then "
            "the noisy action to [-action_bound, action_bound].",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/clips-swapped",
            _clip(a + _clip(std * eps, -bound, bound), -clip, clip),
            "the two clips are swapped: noise_clip limits the NOISE, action_bound "
            "limits the resulting ACTION.",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/clips-swapped",
            _clip(_clip(a + std * eps, -bound, bound), -clip, clip),
            "the noisy action is clipped to [-noise_clip, noise_clip]: noise_clip "
            "limits the NOISE alone (before it is added), action_bound the action.",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/clipped-before-scaling",
            _clip(a + std * _clip(eps, -clip, clip), -bound, bound),
            "the standard normal sample was clipped before being scaled: clip the "
            "noise itself, noise_std * normal_sample, to [-noise_clip, noise_clip].",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/noise-clip-one-sided",
            _clip(a + np.minimum(std * eps, clip), -bound, bound),
            "the noise is clipped from above only: large negative noise gets "
            "through. Clip it on both sides, to [-noise_clip, noise_clip].",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/noise-clip-one-sided",
            _clip(a + np.maximum(std * eps, -clip), -bound, bound),
            "the noise is clipped from below only: large positive noise gets "
            "through. Clip it on both sides, to [-noise_clip, noise_clip].",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/action-clip-one-sided",
            np.minimum(a + noise, bound),
            "the action is clipped from above only: clip it on both sides, to "
            "[-action_bound, action_bound].",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/action-clip-one-sided",
            np.maximum(a + noise, -bound),
            "the action is clipped from below only: clip it on both sides, to "
            "[-action_bound, action_bound].",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/no-std",
            _clip(a + _clip(eps, -clip, clip), -bound, bound),
            "noise_std is missing: normal_sample has a standard deviation of 1; the "
            "noise is noise_std * normal_sample.",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/std-as-variance",
            _clip(a + _clip(np.sqrt(std) * eps, -clip, clip), -bound, bound),
            "the noise was scaled by sqrt(noise_std): noise_std is already a standard "
            "deviation, so the noise is noise_std * normal_sample.",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/noise-subtracted",
            _clip(a - noise, -bound, bound),
            "the noise is subtracted: add it, target_action + noise (the noise is "
            "symmetric, but the check gives you the draws: use them as they are).",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/no-noise",
            _clip(a, -bound, bound),
            "no noise was added: the smoothing is the clipped noise "
            "noise_std * normal_sample added to the target action.",
            _SMOOTHING_FIX,
        ),
        Mistake(
            "smoothing/no-action",
            _clip(noise, -bound, bound),
            "the target action is missing: the result is the target actor's "
            "action plus the clipped noise, not the noise alone.",
            _SMOOTHING_FIX,
        ),
    ]


_SMOOTHING_FORMULA = (
    "the noise is noise_std * normal_sample, clipped to [-noise_clip, noise_clip]; "
    "the result is target_action + noise, clipped to [-action_bound, "
    "action_bound]."
)


def _probe_smoothing(probe: Probe, smoothed_target_action: Callable[..., Any]) -> None:
    cases = _smoothing_cases()
    for index, case in enumerate(cases):
        probe.call_keeping_inputs(f"case{index}", smoothed_target_action, case)
        # The same inputs again: an answer drawing its own noise differs.
        probe.call(f"again{index}", smoothed_target_action, *case.values())
    # As the compiled update step calls it: float32 tensors inside tf.function.
    call_compiled(
        probe, "graph", smoothed_target_action, cases[0],
        tensors=("target_action", "normal_sample"),
    )


def _judge_smoothing(records: Records) -> str:
    cases = _smoothing_cases()
    for index, case in enumerate(cases):
        expected = reference_smoothed_action(**case)
        try:
            got = records[f"case{index}"]
        except CheckFailed as failure:
            _builtin_min(
                failure, _PYTHON_MIN_SMOOTHING, "smoothing/python-min",
                _SMOOTHING_FIX,
            )
            raise
        values = as_array(got, name="the smoothed target action", shape=expected.shape)
        if not np.allclose(values, expected, **_TOL):
            again = as_array(
                records[f"again{index}"], name="the smoothed target action",
                shape=expected.shape,
            )
            if not np.allclose(values, again):
                raise CheckFailed(
                    "two calls with the same inputs gave different actions: use the "
                    "normal_sample argument instead of drawing random numbers "
                    "yourself (np.random, tf.random). The training step draws them "
                    "from the notebook's seeded generator, so runs repeat.",
                    "smoothing/own-random",
                )
            assert_close_naming(
                values, expected, _smoothing_mistakes(case),
                what="the smoothed target action", case=case,
                hint=_SMOOTHING_FORMULA, fix=_SMOOTHING_FIX, **_TOL,
            )
        _unchanged(
            records, f"case{index}", case, function="smoothed_target_action",
            mistake="smoothing/changes-input",
        )
    first = cases[0]
    assert_graph_close(
        records, "graph",
        reference_smoothed_action(**first),
        what="the smoothed target action inside tf.function",
        hint="use TensorFlow's clipping (or its element-wise minimum and maximum) "
        "and arithmetic, which work on tensors in the compiled update step.",
        graph_only=("smoothing/graph-only", _GRAPH_ONLY),
        mistake="smoothing/graph-differs", fix=_SMOOTHING_FIX,
        float32=("smoothing/float64", EX_SMOOTHING),
        **_TOL,
    )
    return (
        f"target policy smoothing: {len(cases)} cases right, also inside tf.function"
    )


SMOOTHING = Check(EX_SMOOTHING, _probe_smoothing, _judge_smoothing)


def check_smoothed_target_action(smoothed_target_action: Callable[..., Any]) -> None:
    """Check ``smoothed_target_action(target_action, normal_sample, noise_std,
    noise_clip, action_bound)``.

    Expected: ``clip(target_action + clip(noise_std * normal_sample, -noise_clip,
    noise_clip), -action_bound, action_bound)``, element by element, with the shape
    of ``target_action``; it uses the given normal sample (no random draws of its
    own), leaves its inputs unchanged and also runs inside a ``tf.function``.

    Args:
        smoothed_target_action: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    run_check(SMOOTHING, smoothed_target_action)


# --------------------------------------------------------------------------------------
# Exercise 3: delayed policy updates
# --------------------------------------------------------------------------------------
# (policy_delay, update numbers) played in plain Python. A delay of 3 first: with 2,
# an inverted test and an off-by-one give the same rounds. The last delay is 1 (every
# round: DDPG's schedule).
Run = tuple[int, tuple[int, ...]]
_DELAY_RUNS: tuple[Run, ...] = (
    (3, tuple(range(1, 10))), (2, tuple(range(1, 9))), (1, tuple(range(1, 4))),
)
# (policy_delay, update numbers) played inside tf.function.
_GRAPH_RUN: Run = (2, tuple(range(1, 5)))
_CODES = {CRITICS: 1, ACTOR: 2, TARGETS: 3}
_MAX_CALLS = 12  # callbacks recorded per round (a loop calling them is cut there)


def _delay_cases() -> tuple[tuple[Run, ...], Run]:
    """The runs in plain Python and the run inside tf.function.

    Fixed in the notebook; under a grader's challenge, drawn afresh with the same
    structure: the first run starts at update 1 with a delay of 3 to 5 and holds
    two to three due rounds; then runs of delay 2 and 1 from a later update
    number; the rounds played before the first run's replay never number a
    multiple of its delay (see :data:`_REPLAY`); the graph's run, of delay 2 or 3,
    holds due rounds and others. The delays of the runs differ (they name the
    records).
    """
    rng = case_rng("td3.delay")
    if rng is None:
        return _DELAY_RUNS, _GRAPH_RUN
    first = int(rng.integers(3, 6))
    count = int(rng.integers(2 * first, 3 * first + 1))
    second = int(rng.integers(6, 10))
    # The rounds of the delay-1 run: never a multiple of the first delay in all.
    third = int(rng.choice(
        [n for n in (2, 3, 4) if (count + second + n) % first != 0]
    ))

    def numbers(length: int) -> tuple[int, ...]:
        start = int(rng.integers(10, 500))
        return tuple(range(start, start + length))

    runs = ((first, tuple(range(1, count + 1))), (2, numbers(second)),
            (1, numbers(third)))
    return runs, (int(rng.integers(2, 4)), numbers(4))


def _round_key(delay: int, number: int, prefix: str = "") -> str:
    return f"{prefix}d{delay}/n{number}"


# The first run is played again after the others, under this prefix: an answer that
# decides with a counter of its own (not update_number) answers differently.
_REPLAY = "again/"


def _probe_delay(probe: Probe, td3_update_round: Callable[..., Any]) -> None:
    plays, graph_run = _delay_cases()
    runs = [(delay, numbers, "") for delay, numbers in plays]
    # After the other runs a counter of one's own has moved by a number of rounds
    # that is no multiple of the first delay (20 and 3 in the notebook): the replay
    # differs whatever the counter started from.
    runs.append((*plays[0], _REPLAY))
    for delay, numbers, prefix in runs:
        for number in numbers:
            calls: list[str] = []

            def mark(code: str, calls: list[str] = calls) -> Callable[[], None]:
                def callback() -> None:
                    if len(calls) < _MAX_CALLS:
                        calls.append(code)

                return callback

            key = _round_key(delay, number, prefix)
            probe.call(
                key, td3_update_round, number, delay, mark(CRITICS), mark(ACTOR),
                mark(TARGETS),
            )
            if key in probe.records and probe.records[key].get("kind") == "error":
                return  # the failure is kept; later rounds would only repeat it
            probe.keep(f"{key}/calls", "".join(calls))
    _probe_delay_graph(probe, td3_update_round, graph_run)


def _probe_delay_graph(
    probe: Probe, td3_update_round: Callable[..., Any], run: Run
) -> None:
    """As the compiled update step calls it: the round number a tensor, in a graph.

    Each callback appends its code to a base-4 number held in a variable, so the
    order of the calls survives the graph (Python-side effects would run once, when
    the function is traced, in both branches of an ``if``).

    Only the student's function goes through AutoGraph: the callbacks are marked
    not to be converted and the call around it is plain Python, so the probe never
    needs its own source (AutoGraph re-reads a function's source file, and fails
    when this file changed on disk while the kernel runs).
    """
    import tensorflow as tf

    log = tf.Variable(0, dtype=tf.int64, trainable=False)
    full = tf.constant(4**_MAX_CALLS, dtype=tf.int64)

    def mark(code: str) -> Callable[[], None]:
        # A partial, not a function: tf.function unwraps a decorated function's
        # __wrapped__ when it is an argument, which would drop do_not_convert.
        return tf.autograph.experimental.do_not_convert(
            functools.partial(_log_call, log, full, _CODES[code])
        )

    graph_round = tf.function(td3_update_round)
    callbacks = (mark(CRITICS), mark(ACTOR), mark(TARGETS))
    delay, numbers = run

    def one_round(number: Any) -> Any:
        return graph_round(number, delay, *callbacks)

    compiled = Compiled(one_round, td3_update_round)
    for number in numbers:
        log.assign(0)
        key = f"graph/n{number}"
        probe.call(key, compiled, tf.constant(number, dtype=tf.int32))
        if probe.records[key].get("kind") == "error":
            return
        probe.keep(f"{key}/log", log.numpy())


def _log_call(log: Any, full: Any, code: int) -> None:
    """Append a callback's code to the graph's log (a base-4 number).

    Args:
        log: int64 ``tf.Variable`` of shape ().
        full: int64 tensor, ``4 ** _MAX_CALLS``: at most that many codes, so that a
            loop of calls cannot overflow the log.
        code: the update's code, 1 to 3.
    """
    import tensorflow as tf

    log.assign(tf.where(log < full, log * 4 + code, log))


def _calls(records: Records, key: str) -> str:
    """The callbacks a round called, e.g. ``"CAT"`` (validated)."""
    records[key]  # the call itself: its failure, if it failed, comes first
    calls = records[f"{key}/calls"]
    if (
        not isinstance(calls, str)
        or len(calls) > _MAX_CALLS
        or not set(calls) <= set(_CODES)
    ):
        raise MalformedProbe("the check's data holds a bad list of updates")
    return calls


def _decode_log(value: Any) -> str:
    """The codes a graph round logged (base-4 digits, none 0), e.g. ``"CAT"``."""
    if not isinstance(value, np.ndarray) or value.shape != ():
        raise MalformedProbe("the check's data holds a bad graph log")
    if value.dtype.kind != "i":
        raise MalformedProbe("the check's data holds a bad graph log")
    number, codes = int(value), ""
    if not 0 <= number < 4**_MAX_CALLS:
        raise MalformedProbe("the check's data holds a bad graph log")
    names = {code: name for name, code in _CODES.items()}
    while number > 0:
        number, digit = divmod(number, 4)
        if digit not in names:
            raise MalformedProbe("the check's data holds a bad graph log")
        codes = names[digit] + codes
    return codes


def _spelled(calls: str) -> str:
    return ", ".join(_NAMES[c] for c in calls) if calls else "nothing"


def _schedule(got: dict[int, str], delay: int) -> str:
    """Expected and got, one line per round, as a student reads them."""
    return "\n".join(
        f"    update {number}: expected {_spelled(reference_round(number, delay))}; "
        f"got {_spelled(calls)}"
        for number, calls in got.items()
    )


def _rounds_with(got: dict[int, str], code: str) -> list[int]:
    return [number for number, calls in got.items() if code in calls]


def _delay_mistake(got: dict[int, str], delay: int) -> tuple[str, str]:
    """(id, hint) of a wrong schedule's mistake."""
    numbers = list(got)
    actor, targets = _rounds_with(got, ACTOR), _rounds_with(got, TARGETS)
    due = [n for n in numbers if n % delay == 0]
    if any(len(calls) != len(set(calls)) for calls in got.values()):
        return "delay/repeated-call", (
            "one round called the same update more than once: each round calls "
            "update_critics() once and, when they are due, update_actor() and "
            "update_targets() once each."
        )
    if _rounds_with(got, CRITICS) != numbers:
        return "delay/critics-skipped", (
            "the critics must learn at EVERY round: call update_critics() first, "
            "unconditionally; only the actor and the targets wait."
        )
    wrong_order = [
        calls for number, calls in got.items()
        if calls != reference_round(number, delay)
        and sorted(calls) == sorted(reference_round(number, delay))
    ]
    if wrong_order and not wrong_order[0].startswith(CRITICS):
        return "delay/actor-before-critics", (
            "a round does not start with the critics: update the critics first, so "
            "that the actor follows a critic that has just learned from this batch."
        )
    if wrong_order:
        return "delay/targets-before-actor", (
            "the targets are updated before the actor: call update_actor() first, "
            "then update_targets(), so that the targets follow the new actor."
        )
    if actor == numbers and targets == numbers:
        return "delay/no-delay", (
            f"the actor and the targets changed at every critic update. With "
            f"policy_delay = {delay} they change at critic updates {delay}, "
            f"{2 * delay}, {3 * delay}...: when update_number is a multiple of "
            "policy_delay."
        )
    if actor == due and targets == numbers:
        return "delay/targets-every-update", (
            "the actor waits, but the targets change at every critic update. In TD3 "
            "the targets move together with the actor: call update_targets() only "
            "in the rounds where update_actor() runs."
        )
    if actor == numbers:
        return "delay/actor-every-update", (
            f"the actor changes at every critic update; it should wait for "
            f"policy_delay = {delay} of them (update_number a multiple of "
            "policy_delay)."
        )
    if not actor:
        return "delay/actor-never", (
            "update_actor() was never called: call it, then update_targets(), in "
            "the rounds where update_number is a multiple of policy_delay."
        )
    if not targets:
        return "delay/targets-never", (
            "update_targets() was never called: the target networks must follow "
            "the actor and the critics, in the same rounds as update_actor()."
        )
    if actor != targets:
        return "delay/targets-apart", (
            "the targets change in other rounds than the actor: call "
            "update_targets() right after update_actor(), in the same rounds."
        )
    if actor == [n for n in numbers if n % delay != 0]:
        return "delay/inverted", (
            "the condition is inverted: the actor and the targets change only when "
            "update_number is a multiple of policy_delay, and skip the other "
            "rounds."
        )
    if delay != 2 and actor == [n for n in numbers if n % 2 == 0]:
        return "delay/hard-coded", (
            f"the updates follow a delay of 2, but policy_delay is {delay} here: use "
            "the policy_delay argument, not a fixed number."
        )
    if len(actor) == 1 and len(due) > 1:
        return "delay/only-once", (
            f"the actor and the targets changed only once, at update {actor[0]}, "
            f"not every policy_delay = {delay} updates (at updates {delay}, "
            f"{2 * delay}, {3 * delay}...). Test whether update_number is a multiple "
            "of policy_delay (the remainder of the division is 0): update_number "
            "equal to policy_delay is true at one update only."
        )
    if len(actor) > 1 and {b - a for a, b in zip(actor, actor[1:], strict=False)} <= {
        delay
    }:
        return "delay/off-by-one", (
            f"the actor changes every {delay} critic updates, but at the wrong ones "
            f"(first at update {actor[0]}, expected {due[0] if due else delay}): "
            "counting from 1, an update is due when update_number is a multiple of "
            "policy_delay. Use the update_number you are given, without adding or "
            "subtracting 1."
        )
    return "delay/wrong-rounds", (
        "the actor and the targets change in the wrong rounds: they are due when "
        "update_number is a multiple of policy_delay."
    )


def _own_counter(first: dict[int, str], again: dict[int, str], delay: int) -> str:
    """The message for two plays of the same rounds that called different updates."""
    differ = "\n".join(
        f"    update {number}: first {_spelled(calls)}; then {_spelled(again[number])}"
        for number, calls in first.items() if calls != again[number]
    )
    return (
        f"with policy_delay = {delay}, the same rounds played twice (the second "
        f"time after other rounds) called different updates:\n{differ}\nHint: "
        "use the update_number argument (is it a multiple of policy_delay?) "
        "instead of a counter of your own: such a counter keeps counting from one "
        "run of the check (or of training) to the next, so its rounds drift."
    )


def _judge_delay(records: Records) -> str:
    # Every play first: a failed call shows before any schedule is judged.
    runs, (graph_delay, graph_numbers) = _delay_cases()
    plays = {
        delay: {
            number: _calls(records, _round_key(delay, number)) for number in numbers
        }
        for delay, numbers in runs
    }
    first_delay, first_numbers = runs[0]
    again = {
        number: _calls(records, _round_key(first_delay, number, _REPLAY))
        for number in first_numbers
    }
    if again != plays[first_delay]:
        raise CheckFailed(
            _own_counter(plays[first_delay], again, first_delay), "delay/own-counter",
            _DELAY_FIX,
        )
    for delay, got in plays.items():
        if got != {n: reference_round(n, delay) for n in got}:
            mistake, hint = _delay_mistake(got, delay)
            raise CheckFailed(
                f"with policy_delay = {delay}, the rounds called:\n"
                f"{_schedule(got, delay)}\nHint: {hint}",
                mistake, _DELAY_FIX,
            )
    got = {}
    for number in graph_numbers:
        key = f"graph/n{number}"
        try:
            graph_value(
                records, key, mistake="delay/graph-only", hint=_GRAPH_ONLY_DELAY,
                fix=_DELAY_FIX,
            )
        except CheckFailed as failure:
            if failure.mistake != "array/truth-value":
                raise
            # A number tensor used as True/False: the core's hint speaks of arrays
            # with one value per row; here it is one number, so say what to write.
            lead = str(failure).split("\nHint:")[0]
            raise CheckFailed(
                f"{lead}\n{_GRAPH_ONLY_DELAY}", "delay/graph-only", _DELAY_FIX
            ) from None
        got[number] = _decode_log(records[f"{key}/log"])
    if got != {n: reference_round(n, graph_delay) for n in got}:
        raise CheckFailed(
            f"in plain Python the rounds were right, but inside tf.function (where "
            f"the training step calls td3_update_round with update_number a tensor), "
            f"with policy_delay = {graph_delay}, they called:\n"
            f"{_schedule(got, graph_delay)}\nHint: the test must be a comparison "
            "that AutoGraph turns into a condition of the graph (the remainder of "
            "update_number divided by policy_delay, compared with 0); `is` (it "
            "compares objects: a tensor is never the number 0), isinstance() or a "
            "counter of your own are decided once, when the function is traced, "
            "not at each update.",
            "delay/graph-differs", _DELAY_FIX,
        )
    rounds = sum(len(numbers) for _, numbers in runs)
    delays = ", ".join(str(delay) for delay, _ in runs)
    return (
        f"delayed policy updates: {rounds} rounds with policy_delay {delays} right, "
        "also inside tf.function"
    )


DELAYED_UPDATES = Check(EX_DELAY, _probe_delay, _judge_delay)


def check_td3_update_round(td3_update_round: Callable[..., Any]) -> None:
    """Check ``td3_update_round(update_number, policy_delay, update_critics,
    update_actor, update_targets)``.

    Expected: every call runs ``update_critics()``; when ``update_number %
    policy_delay == 0`` (update numbers count from 1) it then runs
    ``update_actor()`` and ``update_targets()``, in that order; nothing else. It is
    played for several delays in plain Python, and inside a ``tf.function`` with
    ``update_number`` a tensor (as the compiled update step calls it).

    Args:
        td3_update_round: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    run_check(DELAYED_UPDATES, td3_update_round)
