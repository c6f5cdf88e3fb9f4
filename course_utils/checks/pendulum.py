"""Checks for notebook 02, DDPG on Pendulum-v1.

Every check calls the student's code on small cases and compares it with a reference
written here, independently, in plain NumPy. When the answer is wrong, the check looks
for the usual mistakes (noise that does not drift back, ``dt`` under the wrong root, a
buffer that samples empty rows or never wraps, a target from the online networks,
``truncated`` taken for ``terminated``, the actor loss's sign, ``tau`` the wrong way
round) and says which one it sees.

TensorFlow is imported inside the functions that need it, never at module level.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .core import CheckFailed, as_array, assert_close, call_student, passed

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


def _call_compiled(compiled, *args, exercise: str):
    """Run the student's code inside a tf.function, as the update step does."""
    try:
        return call_student(compiled, *args, exercise=exercise)
    except CheckFailed as error:
        raise CheckFailed(
            f"{error}\nIt runs on NumPy arrays, but fails inside tf.function, where "
            "the training step calls it on symbolic TensorFlow tensors. Hint: use "
            "arithmetic (+, -, *, **) and tf.* functions, not np.* functions, "
            ".numpy() or float()."
        ) from None


# --------------------------------------------------------------------------------------
# Exercise 1: one step of Ornstein-Uhlenbeck noise
# --------------------------------------------------------------------------------------
def _ou_cases() -> list[dict[str, Any]]:
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
    ]


def _ou_mistakes(c: dict[str, Any]) -> list[tuple[np.ndarray, str]]:
    x, mu, th, sg, dt, n = (
        c["x"],
        c["mu"],
        c["theta"],
        c["sigma"],
        c["dt"],
        c["normal_sample"],
    )
    return [
        (
            x + sg * np.sqrt(dt) * n,
            "your noise is not mean-reverting: it never drifts back toward mu. Add "
            "the pull theta * (mu - x) * dt.",
        ),
        (
            x + th * (x - mu) * dt + sg * np.sqrt(dt) * n,
            "the pull has the wrong sign: theta * (x - mu) pushes the noise AWAY "
            "from mu. Use theta * (mu - x) * dt.",
        ),
        (
            x + th * (mu - x) * dt + sg * dt * n,
            "the random kick is scaled by dt instead of sqrt(dt). A random walk "
            "spreads like the square root of time, so the kick is "
            "sigma * sqrt(dt) * normal_sample.",
        ),
        (
            x + th * (mu - x) * dt + sg * n,
            "the random kick is missing its sqrt(dt) factor: use "
            "sigma * sqrt(dt) * normal_sample.",
        ),
        (
            x + th * (mu - x) + sg * np.sqrt(dt) * n,
            "the pull toward mu is missing its dt factor: theta * (mu - x) * dt.",
        ),
        (
            x + th * (mu - x) * np.sqrt(dt) + sg * dt * n,
            "dt and sqrt(dt) are swapped: the pull gets dt, the random kick "
            "gets sqrt(dt).",
        ),
        (
            th * (mu - x) * dt + sg * np.sqrt(dt) * n,
            "you returned the change dx, not the new value: return x + dx.",
        ),
        (
            x + th * (mu - x) * dt + np.sqrt(sg * dt) * n,
            "sigma is inside the square root: the kick is sigma * sqrt(dt) * "
            "normal_sample.",
        ),
    ]


def check_ou_step(ou_step: Callable[..., Any]) -> None:
    """Check ``ou_step(x, mu, theta, sigma, dt, normal_sample)``.

    Expected: ``x + theta * (mu - x) * dt + sigma * sqrt(dt) * normal_sample``, an
    array with the shape of ``x``, using the given normal sample (no random draws of
    its own).

    Args:
        ou_step: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    cases = _ou_cases()
    for c in cases:
        got = call_student(ou_step, *c.values(), exercise=EX_NOISE)
        values = as_array(got, name="the new noise x", shape=c["x"].shape)
        expected = reference_ou_step(**c)
        if np.allclose(values, expected, **_TOL):
            continue
        again = as_array(
            call_student(ou_step, *c.values(), exercise=EX_NOISE),
            name="the new noise x",
            shape=c["x"].shape,
        )
        hint = "x_next = x + theta * (mu - x) * dt + sigma * sqrt(dt) * normal_sample."
        if not np.allclose(values, again):
            hint = (
                "two calls with the same inputs gave different results: use the "
                "normal_sample argument instead of drawing random numbers yourself "
                "(that keeps the noise seeded and repeatable)."
            )
        else:
            for wrong, message in _ou_mistakes(c):
                if np.allclose(values, wrong, **_TOL):
                    hint = message
                    break
        assert_close(
            values, expected, what="the new noise x", case=c, hint=hint, **_TOL
        )
    passed(f"Ornstein-Uhlenbeck step: {len(cases)} cases right")


# --------------------------------------------------------------------------------------
# Exercise 2: the replay buffer
# --------------------------------------------------------------------------------------
_STATE_DIM, _ACTION_DIM = 3, 1


def _transition(i: int) -> dict[str, Any]:
    """Transition number ``i`` (from 1): every field encodes ``i``, so a sampled
    row can be traced back to the transition it came from."""
    return dict(
        state=np.array([i, i + 0.25, -i], dtype=np.float64),
        action=np.array([i / 100.0]),
        reward=-float(i),
        next_state=np.array([i + 1000.0, 0.5, i]),
        terminated=i % 3 == 0,
        truncated=i % 4 == 0,
    )


def _new_buffer(buffer_class, capacity: int):
    try:
        return buffer_class(capacity, _STATE_DIM, _ACTION_DIM)
    except NotImplementedError as error:
        raise CheckFailed(
            f"Exercise {EX_BUFFER} is not done yet: replace the `raise "
            f"NotImplementedError` line with your solution ({error})."
        ) from None
    except Exception as error:
        raise CheckFailed(
            f"Exercise {EX_BUFFER}: ReplayBuffer({capacity}, {_STATE_DIM}, "
            f"{_ACTION_DIM}) raised {type(error).__name__}: {error}"
        ) from None


def _record(buffer, i: int) -> None:
    t = _transition(i)
    call_student(
        buffer.record,
        t["state"],
        t["action"],
        t["reward"],
        t["next_state"],
        t["terminated"],
        t["truncated"],
        exercise=EX_BUFFER,
    )


def _sample(buffer, batch_size: int, seed: int) -> list[np.ndarray]:
    result = call_student(
        buffer.sample, batch_size, np.random.default_rng(seed), exercise=EX_BUFFER
    )
    names = ["states", "actions", "rewards", "next_states", "terminated", "truncated"]
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        raise CheckFailed(
            f"sample() should return a tuple of {len(names)} arrays "
            f"({', '.join(names)}), got {type(result).__name__}"
            + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
            + ". Hint: return (states, actions, rewards, next_states, terminated, "
            "truncated)."
        )
    dims = [_STATE_DIM, _ACTION_DIM, 1, _STATE_DIM, 1, 1]
    return [
        as_array(value, name=f"sampled {name}", shape=(batch_size, dim))
        for value, name, dim in zip(result, names, dims, strict=True)
    ]


def _sampled_ids(batch: list[np.ndarray], recorded: Sequence[int]) -> np.ndarray:
    """Which transition each sampled row is, checking that its fields agree."""
    states, actions, rewards, next_states, terminated, truncated = batch
    ids = np.rint(states[:, 0]).astype(int)
    empty = np.all(states == 0, axis=1) & (rewards[:, 0] == 0)
    if np.any(empty):
        raise CheckFailed(
            f"after recording {len(recorded)} transitions, sample() returned empty "
            f"rows (all zeros) in {int(empty.sum())} of {len(ids)} draws: it picks "
            "rows that were never written. Hint: draw indices only among the rows "
            "filled so far, i.e. below min(number recorded, capacity)."
        )
    for row, i in enumerate(ids):
        expected = _transition(int(i)) if i >= 1 else None
        fields_agree = expected is not None and (
            np.allclose(states[row], expected["state"])
            and np.allclose(actions[row], expected["action"])
            and np.isclose(rewards[row, 0], expected["reward"])
            and np.allclose(next_states[row], expected["next_state"])
            and terminated[row, 0] == float(expected["terminated"])
            and truncated[row, 0] == float(expected["truncated"])
        )
        if not fields_agree:
            raise CheckFailed(
                "a sampled row mixes different transitions (or stores a field in "
                f"the wrong place): state {np.round(states[row], 3)}, action "
                f"{np.round(actions[row], 3)}, reward {rewards[row, 0]:.3g}, "
                f"next_state {np.round(next_states[row], 3)}, terminated "
                f"{terminated[row, 0]:.0f}, truncated {truncated[row, 0]:.0f}. Hint: "
                "use the SAME indices for every array, and store each argument of "
                "record() in its own array."
            )
    return ids


def check_replay_buffer(buffer_class: Any) -> None:
    """Check the ``ReplayBuffer`` class: ``record(...)`` and ``sample(...)``.

    Expected: ``ReplayBuffer(capacity, state_dim, action_dim)``; ``record(state,
    action, reward, next_state, terminated, truncated)`` writes one row, the oldest
    row being overwritten once the buffer is full; ``sample(batch_size, rng)``
    returns six arrays of shapes (B, state_dim), (B, action_dim), (B, 1),
    (B, state_dim), (B, 1), (B, 1), drawn uniformly with ``rng`` (with replacement)
    among the rows filled so far.

    Args:
        buffer_class: the student's class (new buffers are made from it; the
            student's own buffer objects are never touched).

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    capacity = 5
    buffer = _new_buffer(buffer_class, capacity)
    for i in (1, 2, 3):
        _record(buffer, i)
    batch = _sample(buffer, 300, seed=1)
    ids = _sampled_ids(batch, [1, 2, 3])
    seen = set(ids.tolist())
    if not seen <= {1, 2, 3}:
        raise CheckFailed(
            f"after recording transitions 1, 2, 3, sample() returned transitions "
            f"{sorted(seen - {1, 2, 3})} that were never recorded."
        )
    if seen != {1, 2, 3}:
        raise CheckFailed(
            "after recording 3 transitions into a buffer of capacity 5, 300 draws "
            f"only ever returned transitions {sorted(seen)}: sampling should pick "
            "uniformly among ALL the rows filled so far. Hint: indices = "
            "rng.integers(0, number_filled, size=batch_size)."
        )
    first = _sample(buffer, 300, seed=1)
    if not all(np.array_equal(a, b) for a, b in zip(batch, first, strict=True)):
        raise CheckFailed(
            "two calls of sample() with generators seeded the same way returned "
            "different batches: draw the indices with the rng argument "
            "(rng.integers), not with np.random, so that training is repeatable."
        )
    one = _sample(buffer, 1, seed=3)
    _sampled_ids(one, [1, 2, 3])

    for i in range(4, 9):  # 8 transitions into 5 rows: 1, 2, 3 are overwritten
        _record(buffer, i)
    batch = _sample(buffer, 2000, seed=2)
    ids = _sampled_ids(batch, list(range(1, 9)))
    seen = set(ids.tolist())
    newest = set(range(4, 9))
    if seen & {1, 2, 3}:
        if not seen & {6, 7, 8}:
            raise CheckFailed(
                "after 8 transitions into a buffer of capacity 5, sample() still "
                f"returns transitions {sorted(seen)}: the buffer never wraps, the "
                "newest transitions 6, 7, 8 were dropped. Hint: write at row "
                "count % capacity, so that once full the oldest row is overwritten."
            )
        raise CheckFailed(
            "after 8 transitions into a buffer of capacity 5, sample() returned "
            f"transitions {sorted(seen & {1, 2, 3})}, which should have been "
            "overwritten by 6, 7, 8. Hint: write at row count % capacity."
        )
    if seen != newest:
        missing = sorted(newest - seen)
        raise CheckFailed(
            "after 8 transitions into a buffer of capacity 5, it should hold "
            f"transitions 4 to 8, but 2000 draws never returned {missing}. Hint: "
            "once the buffer is full, sample among all `capacity` rows."
        )
    counts = np.bincount(ids, minlength=9)[4:9]
    if counts.min() < 0.6 * counts.mean():
        raise CheckFailed(
            f"2000 draws from transitions 4 to 8 gave counts {counts.tolist()}: "
            "sampling should be uniform over the stored rows. Hint: "
            "rng.integers(0, number_filled, size=batch_size)."
        )
    length = None
    try:
        length = len(buffer)
    except Exception:  # __len__ is optional
        length = None
    if length is not None and length != capacity:
        raise CheckFailed(
            f"len(buffer) is {length} after 8 transitions into a buffer of "
            f"capacity {capacity}; it should be {capacity} (the rows filled)."
        )
    passed(
        "replay buffer: fills, overwrites the oldest rows when full, samples "
        "only filled rows, uniformly and repeatably"
    )


# --------------------------------------------------------------------------------------
# Exercise 3: the critic's target
# --------------------------------------------------------------------------------------
def _target_cases() -> list[dict[str, Any]]:
    column = lambda *v: np.array(v, dtype=np.float32).reshape(-1, 1)  # noqa: E731
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
    ]


def _target_mistakes(c: dict[str, Any]) -> list[tuple[np.ndarray, str]]:
    r, q, te, tr, g = (
        c["rewards"].astype(np.float64),
        c["next_q"].astype(np.float64),
        c["terminated"].astype(np.float64),
        c["truncated"].astype(np.float64),
        c["gamma"],
    )
    done = np.maximum(te, tr)
    return [
        (
            r + g * (1 - done) * q,
            "you stop bootstrapping on truncated rows too. Truncation is the time "
            "limit (200 steps for Pendulum): the pendulum would have gone on, so its "
            "future still counts. Only `terminated` means there is no future.",
        ),
        (
            r + g * (1 - tr) * q,
            "you used `truncated` where `terminated` belongs: the time limit is not "
            "the end of the task, keep bootstrapping there.",
        ),
        (
            r + g * q,
            "the terminated rows still add gamma * next_q: after a terminal state "
            "there is nothing more to earn, so y = r there. Multiply by "
            "(1 - terminated).",
        ),
        (
            r + g * te * q,
            "the flag is inverted: multiply by (1 - terminated), so terminated rows "
            "get y = r and the others y = r + gamma * next_q.",
        ),
        (
            r + (1 - te) * q,
            "gamma is missing: future values are discounted, y = r + gamma * "
            "(1 - terminated) * next_q.",
        ),
        (
            g * (1 - te) * q,
            "the reward r is missing: y = r + gamma * (1 - terminated) * next_q.",
        ),
    ]


def check_critic_target(critic_target: Callable[..., Any]) -> None:
    """Check ``critic_target(rewards, next_q, terminated, truncated, gamma)``.

    Expected: ``rewards + gamma * (1 - terminated) * next_q`` with shape (B, 1);
    ``truncated`` must not change the target. It must also run on TensorFlow
    tensors inside a ``tf.function`` (where the update step uses it).

    Args:
        critic_target: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    cases = _target_cases()
    for c in cases:
        got = call_student(critic_target, *c.values(), exercise=EX_TARGET)
        shape = c["rewards"].shape
        values = as_array(got, name="the target y", shape=shape)
        expected = reference_critic_target(
            c["rewards"], c["next_q"], c["terminated"], c["gamma"]
        )
        if np.allclose(values, expected, **_TOL):
            continue
        hint = "y = rewards + gamma * (1 - terminated) * next_q."
        for wrong, message in _target_mistakes(c):
            if np.allclose(values, wrong, **_TOL):
                hint = message
                break
        assert_close(values, expected, what="the target y", case=c, hint=hint, **_TOL)
    _check_target_in_graph(critic_target, cases[0])
    passed(f"critic target: {len(cases)} cases right, also inside tf.function")


def _check_target_in_graph(critic_target, c: dict[str, Any]) -> None:
    import tensorflow as tf

    @tf.function
    def compiled(rewards, next_q, terminated, truncated):
        return critic_target(rewards, next_q, terminated, truncated, c["gamma"])

    tensors = [tf.constant(c[k]) for k in ("rewards", "next_q", "terminated")]
    tensors.append(tf.constant(c["truncated"]))
    got = _call_compiled(compiled, *tensors, exercise=EX_TARGET)
    expected = reference_critic_target(
        c["rewards"], c["next_q"], c["terminated"], c["gamma"]
    )
    assert_close(
        got,
        expected,
        what="the target y inside tf.function",
        case="the first case, as float32 TensorFlow tensors",
        hint="use arithmetic (+, -, *) or tf.* functions, which work on tensors in "
        "the compiled update step; NumPy functions need concrete arrays.",
        **_TOL,
    )


# --------------------------------------------------------------------------------------
# Exercise 4: the critic's and the actor's losses
# --------------------------------------------------------------------------------------
_HIDDEN = 4


def _np_actor(w: list[np.ndarray], s: np.ndarray) -> np.ndarray:
    w1, b1, w2, b2 = w
    return 2.0 * np.tanh(np.tanh(s @ w1 + b1) @ w2 + b2)


def _np_critic(w: list[np.ndarray], s: np.ndarray, a: np.ndarray) -> np.ndarray:
    w1, b1, w2, b2 = w
    return np.tanh(np.concatenate([s, a], axis=1) @ w1 + b1) @ w2 + b2


def _keras_nets(rng: np.random.Generator, q_scale: float = 1.0):
    """Tiny actor and critic with known float64-friendly weights.

    Returns:
        (actor, critic, actor_weights, critic_weights).
    """
    import keras

    s = keras.Input(shape=(_STATE_DIM,))
    h = keras.layers.Dense(_HIDDEN, activation="tanh")(s)
    a = keras.layers.Dense(_ACTION_DIM, activation="tanh")(h)
    actor = keras.Model(s, keras.layers.Rescaling(2.0)(a))
    s2 = keras.Input(shape=(_STATE_DIM,))
    a2 = keras.Input(shape=(_ACTION_DIM,))
    x = keras.layers.Concatenate()([s2, a2])
    x = keras.layers.Dense(_HIDDEN, activation="tanh")(x)
    critic = keras.Model([s2, a2], keras.layers.Dense(1)(x))
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
    actor_w = [w.astype(np.float32).astype(np.float64) for w in actor_w]
    critic_w = [w.astype(np.float32).astype(np.float64) for w in critic_w]
    actor.set_weights([w.astype(np.float32) for w in actor_w])
    critic.set_weights([w.astype(np.float32) for w in critic_w])
    return actor, critic, actor_w, critic_w


def _loss_batch(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
    terminated = np.zeros((size, 1))
    truncated = np.zeros((size, 1))
    terminated[0, 0] = 1.0
    truncated[-1, 0] = 1.0
    return dict(
        states=rng.uniform(-1, 1, (size, _STATE_DIM)),
        actions=rng.uniform(-2, 2, (size, _ACTION_DIM)),
        rewards=rng.uniform(-5, 0, (size, 1)),
        next_states=rng.uniform(-1, 1, (size, _STATE_DIM)),
        terminated=terminated,
        truncated=truncated,
    )


def check_ddpg_losses(
    ddpg_losses: Callable[..., Any], *, gamma: float = 0.9, seed: int = 0
) -> None:
    """Check ``ddpg_losses(batch, actor, critic, target_actor, target_critic, gamma)``.

    ``batch`` is ``(states, actions, rewards, next_states, terminated, truncated)``
    (float32 tensors of shapes (B, 3), (B, 1), (B, 1), (B, 3), (B, 1), (B, 1)).
    Expected: ``(critic_loss, actor_loss)``, two scalar tensors, with
    ``critic_loss = mean((y - Q(s, a))**2)``,
    ``y = r + gamma * (1 - terminated) * Q'(s', mu'(s'))`` from the TARGET networks,
    and ``actor_loss = -mean(Q(s, mu(s)))`` from the online networks; gradients must
    reach the critic's and the actor's weights, also inside a ``tf.function``.

    Args:
        ddpg_losses: the student's function.
        gamma: discount used in the check's cases.
        seed: seeds the check's small networks and batches.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    actor, critic, aw, cw = _keras_nets(rng)
    target_actor, target_critic, taw, tcw = _keras_nets(rng, q_scale=3.0)
    nets = (actor, critic, target_actor, target_critic)
    for size in (5, 2):
        case = _loss_batch(rng, size)
        batch = tuple(tf.constant(v, dtype=tf.float32) for v in case.values())
        with tf.GradientTape(persistent=True) as tape:
            result = call_student(ddpg_losses, batch, *nets, gamma, exercise=EX_LOSSES)
            critic_t, actor_t = _loss_pair(result)
        shown = (
            f"a batch of {size} random transitions (row 0 terminated, the last row "
            f"truncated), gamma={gamma}, small networks whose target copies differ "
            "from the online ones"
        )
        _check_loss_values(critic_t, actor_t, case, gamma, aw, cw, taw, tcw, shown)
        _check_loss_gradients(tape, critic_t, actor_t, nets, shown)
        del tape
    _check_losses_in_graph(ddpg_losses, nets, case, gamma, aw, cw, taw, tcw)
    passed("DDPG losses: values and gradients right on 2 batches, also in tf.function")


def _loss_pair(result: Any) -> tuple[Any, Any]:
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(
            "ddpg_losses should return two values, (critic_loss, actor_loss), got "
            f"{type(result).__name__}"
            + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
            + "."
        )
    return result[0], result[1]


def _loss_values(case, gamma, aw, cw, taw, tcw) -> dict[str, float]:
    """The right losses and the usual wrong ones, in float64."""
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
        actor=float(-np.mean(_np_critic(cw, s, _np_actor(aw, s)))),
        actor_plus=float(np.mean(_np_critic(cw, s, _np_actor(aw, s)))),
        actor_buffer=float(-np.mean(q)),
        actor_target=float(-np.mean(_np_critic(tcw, s, _np_actor(taw, s)))),
        actor_target_critic=float(-np.mean(_np_critic(tcw, s, _np_actor(aw, s)))),
        actor_sum=float(-np.sum(_np_critic(cw, s, _np_actor(aw, s)))),
    )


_CRITIC_MISTAKES = {
    "critic_online": "the target y uses the ONLINE actor and critic. It must come "
    "from target_actor and target_critic: they change slowly, so the critic is not "
    "chasing a target that moves with every update it makes.",
    "critic_online_actor": "the target uses the online actor for mu'(s'): use "
    "target_actor(next_states) (with target_critic).",
    "critic_online_critic": "the target uses the online critic for Q'(s', a'): use "
    "target_critic([next_states, target_actor(next_states)]).",
    "critic_done": "the target stops bootstrapping on truncated rows too (check "
    "critic_target): only `terminated` means there is no future.",
    "critic_truncated": "the target uses `truncated` where `terminated` belongs.",
    "critic_no_flag": "terminated rows still bootstrap: the target is "
    "y = r + gamma * (1 - terminated) * Q'(s', mu'(s')) (use critic_target).",
    "critic_abs": "this is the mean ABSOLUTE error; the critic's loss is the mean "
    "squared error, mean((y - Q(s, a))**2).",
    "critic_sum": "you summed over the batch; take the mean (tf.reduce_mean), so the "
    "step size does not depend on the batch size.",
    "critic_half": "this is half the mean squared error; use mean((y - Q(s, a))**2).",
    "critic_rmse": "this is the ROOT mean squared error; drop the square root.",
    "critic_target_q": "Q(s, a) comes from the target critic; the critic being "
    "trained is the online one: critic([states, actions]).",
}

_ACTOR_MISTAKES = {
    "actor_plus": "the actor loss has the wrong sign. The actor wants actions the "
    "critic values HIGHLY, and optimisers minimise, so the loss is "
    "-mean(Q(s, mu(s))).",
    "actor_buffer": "the actor loss uses the actions stored in the buffer. It must "
    "score the actor's OWN actions, critic([states, actor(states)]), or no gradient "
    "reaches the actor.",
    "actor_target": "the actor loss uses the target networks; use the online actor "
    "and critic: -mean(critic([states, actor(states)])).",
    "actor_target_critic": "the actor loss uses target_critic; use the online critic "
    "(the one being trained): -mean(critic([states, actor(states)])).",
    "actor_sum": "you summed over the batch; take the mean (tf.reduce_mean).",
}


def _check_loss_values(critic_t, actor_t, case, gamma, aw, cw, taw, tcw, shown):
    critic_value = float(as_array(critic_t, name="critic_loss (a scalar)", shape=()))
    actor_value = float(as_array(actor_t, name="actor_loss (a scalar)", shape=()))
    refs = _loss_values(case, gamma, aw, cw, taw, tcw)
    if np.isclose(critic_value, refs["actor"], **_LOSS_TOL) and not np.isclose(
        critic_value, refs["critic"], **_LOSS_TOL
    ):
        raise CheckFailed(
            "the first value returned looks like the actor's loss: return "
            "(critic_loss, actor_loss), in that order."
        )
    for value, key, table, what, hint in (
        (
            critic_value,
            "critic",
            _CRITIC_MISTAKES,
            "critic_loss",
            "critic_loss = mean((y - critic([states, actions]))**2) with y from "
            "critic_target(rewards, target_critic([next_states, "
            "target_actor(next_states)]), terminated, truncated, gamma).",
        ),
        (
            actor_value,
            "actor",
            _ACTOR_MISTAKES,
            "actor_loss",
            "actor_loss = -mean(critic([states, actor(states)])).",
        ),
    ):
        if np.isclose(value, refs[key], **_LOSS_TOL):
            continue
        for mistake, message in table.items():
            if np.isclose(value, refs[mistake], **_LOSS_TOL):
                hint = message
                break
        assert_close(value, refs[key], what=what, case=shown, hint=hint, **_LOSS_TOL)


def _check_loss_gradients(tape, critic_t, actor_t, nets, shown) -> None:
    import tensorflow as tf

    actor, critic, _, _ = nets
    if not (tf.is_tensor(critic_t) and tf.is_tensor(actor_t)):
        raise CheckFailed(
            "the losses must be TensorFlow tensors computed with TensorFlow "
            f"operations, so that GradientTape can differentiate them; got "
            f"{type(critic_t).__name__} and {type(actor_t).__name__}. Hint: call the "
            "networks and use tf.* functions (no .numpy(), no float(), no np.*)."
        )
    for loss, net, name, owner in (
        (critic_t, critic, "critic_loss", "critic"),
        (actor_t, actor, "actor_loss", "actor"),
    ):
        grads = tape.gradient(loss, net.trainable_variables)
        if any(g is None for g in grads) or all(
            float(tf.reduce_sum(tf.abs(g))) == 0.0 for g in grads
        ):
            raise CheckFailed(
                f"{name} has no gradient with respect to the {owner}'s weights, so "
                f"training would not change the {owner}. Hint: compute {name} from "
                f"the {owner}'s output with tf operations (no .numpy(), np.* or "
                "tf.stop_gradient on it)."
            )


def _check_losses_in_graph(ddpg_losses, nets, case, gamma, aw, cw, taw, tcw) -> None:
    import tensorflow as tf

    @tf.function
    def compiled(*batch):
        return ddpg_losses(batch, *nets, gamma)

    batch = [tf.constant(v, dtype=tf.float32) for v in case.values()]
    result = _call_compiled(compiled, *batch, exercise=EX_LOSSES)
    critic_t, actor_t = _loss_pair(result)
    refs = _loss_values(case, gamma, aw, cw, taw, tcw)
    hint = (
        "it works eagerly but not in the compiled update step: use tf.* functions "
        "and arithmetic on tensors, not NumPy or .numpy()."
    )
    case_text = "the last batch, inside tf.function"
    assert_close(
        critic_t,
        refs["critic"],
        what="critic_loss",
        case=case_text,
        hint=hint,
        **_LOSS_TOL,
    )
    assert_close(
        actor_t,
        refs["actor"],
        what="actor_loss",
        case=case_text,
        hint=hint,
        **_LOSS_TOL,
    )


# --------------------------------------------------------------------------------------
# Exercise 5: soft target updates
# --------------------------------------------------------------------------------------
def _soft_cases() -> list[dict[str, Any]]:
    rng = np.random.default_rng(5)
    target = [rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, 3)]
    online = [rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, 3)]
    single_t, single_o = [np.array([[1.0, -1.0]])], [np.array([[3.0, 5.0]])]
    return [
        dict(target_weights=target, online_weights=online, tau=0.1),
        dict(target_weights=single_t, online_weights=single_o, tau=0.25),
        dict(target_weights=target, online_weights=online, tau=0.0),
        dict(target_weights=target, online_weights=online, tau=1.0),
    ]


def _soft_result(result: Any, shapes: list[tuple], case: dict) -> list[np.ndarray]:
    if not isinstance(result, (list, tuple)):
        raise CheckFailed(
            "soft_update should return a list with one new array per weight, got "
            f"{type(result).__name__}. Hint: return [tau * o + (1 - tau) * t for "
            "...] without changing the inputs."
        )
    if len(result) != len(shapes):
        raise CheckFailed(
            f"soft_update returned {len(result)} arrays for {len(shapes)} weights: "
            "return one new array per pair (target, online)."
        )
    return [
        as_array(value, name=f"new target weight {i}", shape=shape)
        for i, (value, shape) in enumerate(zip(result, shapes, strict=True))
    ]


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
    for c in _soft_cases():
        shapes = [np.shape(w) for w in c["target_weights"]]
        got = call_student(soft_update, *c.values(), exercise=EX_SOFT)
        new = _soft_result(got, shapes, c)
        expected = reference_soft_update(
            c["target_weights"], c["online_weights"], c["tau"]
        )
        tau = c["tau"]
        backwards = reference_soft_update(
            c["target_weights"], c["online_weights"], 1.0 - tau
        )
        for i, (value, ref, wrong) in enumerate(
            zip(new, expected, backwards, strict=True)
        ):
            if np.allclose(value, ref, **_TOL):
                continue
            hint = "new target = tau * online + (1 - tau) * target."
            if np.allclose(value, wrong, **_TOL):
                hint = (
                    "tau is applied the wrong way round: tau is the share of the "
                    "ONLINE weights. With tau = 0.005 the target moves 0.5% of the "
                    "way toward the online network at each update, so it changes "
                    "slowly."
                )
            elif np.allclose(value, c["online_weights"][i], **_TOL):
                hint = (
                    "you copied the online weights: the target should only move a "
                    "fraction tau of the way toward them."
                )
            elif np.allclose(value, c["target_weights"][i], **_TOL):
                hint = "the target weights did not move: add tau * (online - target)."
            shown = {
                "target_weights[i]": c["target_weights"][i],
                "online_weights[i]": c["online_weights"][i],
                "tau": tau,
            }
            assert_close(
                value, ref, what=f"new target weight {i}", case=shown, hint=hint, **_TOL
            )
    _check_soft_on_variables(soft_update)
    passed("soft update: 4 cases right, inputs untouched, also on Keras variables")


def _check_soft_on_variables(soft_update) -> None:
    """Run on Keras variables in a tf.function; the variables must not change."""
    import keras
    import tensorflow as tf

    c = _soft_cases()[0]
    target = [keras.Variable(w.astype(np.float32)) for w in c["target_weights"]]
    online = [keras.Variable(w.astype(np.float32)) for w in c["online_weights"]]
    before = [v.numpy().copy() for v in target + online]

    @tf.function
    def compiled():
        return soft_update(target, online, c["tau"])

    got = _call_compiled(compiled, exercise=EX_SOFT)
    after = [v.numpy() for v in target + online]
    if not all(np.array_equal(b, a) for b, a in zip(before, after, strict=True)):
        raise CheckFailed(
            "soft_update changed its inputs in place (assign, +=, [...] = ...). It "
            "should only RETURN the new values: the update step assigns them to the "
            "target network's variables itself."
        )
    shapes = [tuple(v.shape) for v in target]
    new = _soft_result(got, shapes, c)
    expected = reference_soft_update(c["target_weights"], c["online_weights"], c["tau"])
    for i, (value, ref) in enumerate(zip(new, expected, strict=True)):
        assert_close(
            value,
            ref,
            what=f"new target weight {i} (Keras variables, inside tf.function)",
            case="the first case, as Keras variables",
            hint="use arithmetic on the weights (tau * o + (1 - tau) * t), which "
            "works for NumPy arrays and for TensorFlow variables alike.",
            **_LOSS_TOL,
        )
