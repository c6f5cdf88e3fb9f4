"""Checks for notebook 01, Actor-Critic on CartPole-v1.

Every check calls the student's code on small cases and compares it with a reference
written here, independently, in plain NumPy. When the answer is wrong, the check looks
for the usual mistakes (no discount, discounting the wrong way, no normalisation, the
advantage's sign or its gradient, a squared error instead of Huber, a head with the
wrong shape or activation) and says which one it sees.

TensorFlow is imported inside the functions that need it, never at module level.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .core import (
    Check,
    CheckFailed,
    Mistake,
    Probe,
    Records,
    as_array,
    assert_close,
    call_student,
    passed,
    recognise,
    run_check,
)

EX_NETWORK = "1 (the agent network)"
EX_RETURNS = "2 (discounted returns)"
EX_NORMALISE = "3 (normalising the returns)"
EX_LOSS = "4 (the actor-critic loss)"
EX_BETTER = "5 (a network that learns faster)"

HUBER_DELTA = 1.0  # keras.losses.Huber()'s default


# --------------------------------------------------------------------------------------
# Independent NumPy references
# --------------------------------------------------------------------------------------
def reference_returns(
    rewards: Sequence[float], gamma: float, bootstrap: float = 0.0
) -> np.ndarray:
    """Discounted returns G_t = r_t + gamma r_{t+1} + ... + gamma^(T-t) bootstrap.

    Computed with a matrix of powers of gamma (not with the backward loop the
    notebook teaches), so that the two stay independent.

    Args:
        rewards: the T rewards of one episode.
        gamma: discount factor in [0, 1].
        bootstrap: value of what follows the last reward (0 when the episode ended).

    Returns:
        float64 array of shape (T,).
    """
    r = np.asarray(rewards, dtype=np.float64)
    steps = np.arange(len(r))
    ahead = steps[None, :] - steps[:, None]  # k - t
    with np.errstate(invalid="ignore"):
        weights = np.where(ahead >= 0, float(gamma) ** np.maximum(ahead, 0), 0.0)
    tail = float(gamma) ** (len(r) - steps) * float(bootstrap)
    return weights @ r + tail


def reference_normalise(values: Sequence[float], eps: float = 1e-8) -> np.ndarray:
    """(x - mean) / (std + eps), with the population standard deviation.

    Args:
        values: 1-D numbers.
        eps: guard against a zero standard deviation.

    Returns:
        float64 array of the same shape.
    """
    x = np.asarray(values, dtype=np.float64)
    return (x - x.mean()) / (x.std() + eps)


def reference_huber(errors: np.ndarray, delta: float = HUBER_DELTA) -> np.ndarray:
    """Elementwise Huber loss of the errors.

    Args:
        errors: float array of prediction errors.
        delta: where the loss switches from quadratic to linear.

    Returns:
        float64 array of the same shape.
    """
    a = np.abs(np.asarray(errors, dtype=np.float64))
    return np.where(a <= delta, 0.5 * a**2, delta * (a - 0.5 * delta))


def reference_losses(
    probs: np.ndarray, values: np.ndarray, actions: np.ndarray, returns: np.ndarray
) -> tuple[float, float]:
    """Actor and critic losses, averaged over the T steps.

    Args:
        probs: (T, n) action probabilities.
        values: (T,) critic values.
        actions: (T,) actions taken (ints).
        returns: (T,) return targets.

    Returns:
        (actor_loss, critic_loss) as floats.
    """
    probs = np.asarray(probs, np.float64)
    taken = probs[np.arange(len(actions)), np.asarray(actions)]
    advantage = np.asarray(returns, np.float64) - np.asarray(values, np.float64)
    actor = float(np.mean(-np.log(taken) * advantage))
    critic = float(np.mean(reference_huber(advantage)))
    return actor, critic


def episodes_to_solve(
    rewards: Sequence[float], threshold: float = 475.0, window: int = 100
) -> int | None:
    """First episode count at which the mean of the last `window` rewards >= threshold.

    Args:
        rewards: episode rewards in order.
        threshold: the target mean.
        window: how many recent episodes are averaged.

    Returns:
        The number of episodes played when solved, or None if never.
    """
    r = np.asarray(rewards, dtype=np.float64)
    if len(r) < window:
        return None
    means = np.convolve(r, np.ones(window) / window, mode="valid")
    hits = np.flatnonzero(means >= threshold - 1e-9)
    return int(hits[0]) + window if hits.size else None


# --------------------------------------------------------------------------------------
# Exercise 1: the agent network
# --------------------------------------------------------------------------------------
def check_agent_network(build_agent: Callable[..., Any]) -> None:
    """Check `build_agent(num_inputs, num_actions, num_hidden) -> keras.Model`.

    The model maps a batch of states (batch, num_inputs) to two outputs: action
    probabilities (batch, num_actions) from a softmax, and values (batch, 1) from a
    linear unit, both heads on one shared hidden layer of num_hidden ReLU units.

    Args:
        build_agent: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    for num_inputs, num_actions, num_hidden in [(4, 2, 16), (3, 5, 8)]:
        model = call_student(
            build_agent, num_inputs, num_actions, num_hidden, exercise=EX_NETWORK
        )
        _check_one_network(model, num_inputs, num_actions, num_hidden)
    passed("agent network: shapes, softmax actor, linear critic, shared layer")


def _check_one_network(model: Any, num_inputs: int, num_actions: int, hidden: int):
    import tensorflow as tf

    case = f"build_agent({num_inputs}, {num_actions}, {hidden})"
    if model is None:
        raise CheckFailed(f"{case} returned None. Did you forget `return model`?")
    if not callable(model) or not hasattr(model, "trainable_variables"):
        raise CheckFailed(
            f"{case} returned {type(model).__name__}, expected a keras.Model. "
            "Hint: build it with keras.Model(inputs=..., outputs=[probs, value])."
        )
    rng = np.random.default_rng(0)
    states = rng.normal(size=(7, num_inputs)).astype(np.float32)
    outputs = _run_model(model, states, case)
    if not isinstance(outputs, (list, tuple)) or len(outputs) != 2:
        got = type(outputs).__name__
        if isinstance(outputs, (list, tuple)):
            got = f"{got} of {len(outputs)} outputs"
        raise CheckFailed(
            f"{case}: calling the model on a batch should give two outputs "
            f"[action_probs, value], got {got}. "
            "Hint: outputs=[actor_head, critic_head]."
        )
    probs = as_array(
        outputs[0], name="action_probs (the actor's output)", shape=(7, num_actions)
    )
    as_array(outputs[1], name="value (the critic's output)", shape=(7, 1))
    if np.any(probs < -1e-6) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-4):
        raise CheckFailed(
            f"{case}: the actor's outputs should be probabilities (each row >= 0 and "
            f"summing to 1); row sums are {np.round(probs.sum(axis=1), 3)}. "
            "Hint: the actor head needs activation='softmax'."
        )
    _check_linear_critic(model, states, case)
    expected = (num_inputs + 1) * hidden + (hidden + 1) * num_actions + (hidden + 1)
    count = int(sum(int(np.prod(v.shape)) for v in model.trainable_variables))
    if count != expected:
        raise CheckFailed(
            f"{case}: the model has {count} trainable weights, expected {expected} for "
            f"one hidden layer of {hidden} units shared by an actor head of "
            f"{num_actions} units and a critic head of 1 unit. Hint: use the "
            "num_hidden argument (no fixed size) and connect both heads to the same "
            "hidden layer."
        )
    # Both heads must depend on one shared layer: some weights get a gradient from
    # the actor's output and from the critic's output.
    x = tf.constant(states)
    with tf.GradientTape(persistent=True) as tape:
        probs_t, values_t = model(x)
        actor_out = tf.reduce_sum(probs_t[:, 0])
        critic_out = tf.reduce_sum(values_t)
    actor_grads = tape.gradient(actor_out, model.trainable_variables)
    critic_grads = tape.gradient(critic_out, model.trainable_variables)
    del tape
    shared = [
        a is not None and c is not None and np.any(a.numpy()) and np.any(c.numpy())
        for a, c in zip(actor_grads, critic_grads, strict=True)
    ]
    if not any(shared):
        raise CheckFailed(
            f"{case}: the actor and the critic share no layer. Hint: compute one "
            "hidden layer from the inputs and feed it to both heads."
        )


SHIFT = 1e4  # moved onto the critic's bias to see whether the value follows


def _check_linear_critic(model: Any, states: np.ndarray, case: str) -> None:
    """Fail unless the critic's output follows its bias one for one (no activation).

    The critic head's bias is its only weight of shape (1,). Moving it by +-SHIFT
    moves a linear value by exactly +-SHIFT; a relu, sigmoid, tanh or softmax head
    cannot follow both ways. The bias is put back afterwards. (The model was built
    by the check, but build_agent might hand out an object of the student's.)
    A model with no such bias (a head without one) is not tested here.
    """
    biases = [v for v in model.trainable_variables if tuple(v.shape) == (1,)]
    if len(biases) != 1:
        return
    bias, rows = biases[0], (len(states), 1)
    original = bias.numpy().copy()
    base = as_array(_run_model(model, states, case)[1], name="value", shape=rows)
    moved = []
    try:
        for shift in (SHIFT, -SHIFT):
            bias.assign(original + shift)
            moved.append(
                as_array(_run_model(model, states, case)[1], name="value", shape=rows)
            )
    finally:
        bias.assign(original)
    up, down = moved[0] - base, moved[1] - base
    if not (np.allclose(up, SHIFT, atol=1.0) and np.allclose(down, -SHIFT, atol=1.0)):
        raise CheckFailed(
            f"{case}: the critic's value looks squashed: moving its output unit's "
            f"bias by +{SHIFT:g} and -{SHIFT:g} moved the values by "
            f"[{up.min():.3g}, {up.max():.3g}] and [{down.min():.3g}, "
            f"{down.max():.3g}], not by exactly that. A value estimates a sum of "
            "future rewards: it can be any real number. Hint: give the critic head a "
            "single unit with no activation (linear)."
        )


def _run_model(model: Any, states: np.ndarray, case: str):
    try:
        return model(states)
    except Exception as error:
        raise CheckFailed(
            f"{case}: calling the model on a batch of states of shape "
            f"{states.shape} raised {type(error).__name__}: {str(error)[:200]}. "
            "Hint: keras.Input(shape=(num_inputs,)), a tuple."
        ) from None


# --------------------------------------------------------------------------------------
# Exercise 2: discounted returns
# --------------------------------------------------------------------------------------
def _returns_mistakes(rewards, gamma, bootstrap) -> list[Mistake]:
    """What typical wrong answers return on a case, most specific first."""
    r = np.asarray(rewards, dtype=np.float64)
    T = len(r)
    forward = np.array(
        [sum(gamma ** (t - k) * r[k] for k in range(t + 1)) for t in range(T)]
    )
    right = reference_returns(r, gamma, bootstrap)
    mistakes = []
    if bootstrap != 0.0:
        mistakes += [
            Mistake(
                "returns/bootstrap-ignored",
                reference_returns(r, gamma, 0.0),
                "the bootstrap value is ignored: start the backward sum from "
                "`bootstrap` instead of 0.",
            ),
            Mistake(
                "returns/bootstrap-undiscounted",
                reference_returns(r, gamma, 0.0) + float(bootstrap),
                "the bootstrap value is added without discounting: it lies one step "
                "after the last reward, so it reaches G_t multiplied by gamma^(T-t).",
            ),
        ]
    return mistakes + [
        Mistake(
            "returns/no-discount",
            reference_returns(r, 1.0, bootstrap),
            "your returns are plain sums of the future rewards: gamma is not used. "
            "Each step further away must be multiplied by one more factor gamma.",
        ),
        Mistake(
            "returns/looking-back",
            forward,
            "you accumulated the rewards from the start of the episode (looking "
            "back). A return looks ahead: G_t sums r_t and the rewards AFTER t. "
            "Walk through the rewards from the last one to the first.",
        ),
        Mistake(
            "returns/reversed",
            right[::-1].copy(),
            "the values are right but in reverse order: walking backwards through "
            "the rewards, you stored G_(T-1) first. Reverse the list at the end, or "
            "write each G_t at index t.",
        ),
        Mistake(
            "returns/normalised",
            reference_normalise(right),
            "your returns are normalised: this function returns the raw discounted "
            "returns; normalisation is Exercise 3.",
        ),
    ]


def _returns_cases() -> list[tuple[Any, float, float]]:
    """(rewards, gamma, bootstrap) cases; the same on both sides of the sandbox."""
    rng = np.random.default_rng(1)
    return [
        ([1.0, 1.0, 1.0], 0.9, 0.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 0.0),
        ([5.0], 0.99, 0.0),  # a one-step episode
        ([1.0, -2.0, 3.0], 0.0, 0.0),  # gamma = 0: returns are the rewards
        ([1.0, 2.0, 3.0], 1.0, 0.0),  # gamma = 1: plain sums of what follows
        ([1.0, 1.0], 0.5, 4.0),  # cut short: what follows is worth 4
        ([1.0], 0.9, 10.0),
        (list(np.round(rng.normal(size=30), 2)), 0.95, 0.0),
        (list(np.round(rng.normal(size=20), 2)), 0.8, 2.5),
        # CartPole's rewards are Python ints or floats: integer rewards must not make
        # integer returns (np.zeros_like of an int array truncates 2.71 to 2).
        ([1, 1, 1], 0.9, 0.0),
        (np.array([1.0, 0.0, 2.0]), 0.5, 0.0),  # an array works as well as a list
    ]


def _returns_case_text(rewards, gamma, bootstrap) -> dict[str, Any]:
    if isinstance(rewards, np.ndarray):
        rewards = f"np.array({rewards.tolist()})"
    case = {"rewards": rewards, "gamma": gamma}
    if bootstrap != 0.0:
        case["bootstrap"] = bootstrap
    return case


def _probe_returns(probe: Probe, discounted_returns: Callable[..., Any]) -> None:
    for index, (rewards, gamma, bootstrap) in enumerate(_returns_cases()):
        given = rewards.copy() if isinstance(rewards, np.ndarray) else list(rewards)
        keyword = {"bootstrap": bootstrap} if bootstrap != 0.0 else {}
        probe.call(f"case{index}", discounted_returns, given, gamma, **keyword)
        # What the student's function left in the caller's rewards.
        probe.keep(f"rewards_after{index}", given)


def _judge_returns(records: Records) -> str:
    cases = _returns_cases()
    for index, (rewards, gamma, bootstrap) in enumerate(cases):
        case = _returns_case_text(rewards, gamma, bootstrap)
        expected = reference_returns(rewards, gamma, bootstrap)
        got = records[f"case{index}"]
        values = as_array(got, name="returns", shape=expected.shape)
        if not np.allclose(values, expected, atol=1e-5, rtol=1e-4):
            mistake = recognise(values, _returns_mistakes(rewards, gamma, bootstrap))
            if mistake is None and np.asarray(got).dtype.kind in "iu":
                mistake = Mistake(
                    "returns/integer-dtype", None,
                    f"your returns are integers ({np.asarray(got).dtype}): the "
                    "discounted values were truncated. With integer rewards, "
                    "np.zeros_like(rewards) makes an integer array; create the "
                    "result with a float dtype (np.zeros(len(rewards))).",
                )
            hint = (mistake.hint if mistake else
                    "G_t = r_t + gamma * G_(t+1), starting after the end from "
                    "`bootstrap`.")
            assert_close(values, expected, what="returns", case=case, hint=hint,
                         mistake=mistake.id if mistake else None)
        after = as_array(
            records[f"rewards_after{index}"], name="rewards", dtype_kind=None
        )
        if after.shape != np.shape(rewards) or not np.allclose(after, rewards):
            raise CheckFailed(
                f"your function changed the caller's `rewards` in place: called with "
                f"{_returns_case_text(rewards, gamma, bootstrap)}, the list/array "
                f"held {np.asarray(after).tolist()} afterwards. The training loop "
                "uses the rewards again (to sum the episode's reward): work on a "
                "copy, or write into a new array.",
                "returns/changes-input",
            )
    return f"discounted returns: {len(cases)} cases passed"


RETURNS = Check(EX_RETURNS, _probe_returns, _judge_returns)


def check_discounted_returns(discounted_returns: Callable[..., Any]) -> None:
    """Check `discounted_returns(rewards, gamma, bootstrap=0.0) -> np.ndarray`.

    Args:
        discounted_returns: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    run_check(RETURNS, discounted_returns)


# --------------------------------------------------------------------------------------
# Exercise 3: normalising the returns
# --------------------------------------------------------------------------------------
def _normalise_cases() -> list[list[float]]:
    rng = np.random.default_rng(2)
    return [
        [1.0, 2.0, 3.0],
        [10.0, 0.0, 0.0, 30.0],
        list(np.round(rng.normal(5.0, 3.0, size=25), 2)),
        list(np.round(reference_returns(np.ones(50), 0.99), 3)),
    ]


def _normalise_mistakes(x: np.ndarray) -> list[Mistake]:
    return [
        Mistake("normalise/unchanged", x,
                "the values came back unchanged: subtract their mean and divide by "
                "their standard deviation."),
        Mistake("normalise/only-centred", x - x.mean(),
                "you centred the values; now also divide by their standard "
                "deviation."),
        Mistake("normalise/only-scaled", x / (x.std() + 1e-8),
                "you scaled the values; first subtract their mean."),
        Mistake("normalise/variance", (x - x.mean()) / (x.var() + 1e-8),
                "you divided by the variance; divide by its square root, the std."),
    ]


EDGE_VALUES = ([7.0], [100.0] * 5)  # a one-step episode; constant values


def _probe_normalise(probe: Probe, normalise: Callable[..., Any]) -> None:
    for index, values in enumerate(_normalise_cases()):
        probe.call(f"case{index}", normalise, np.array(values))
    for index, values in enumerate(EDGE_VALUES):
        probe.call(f"edge{index}", normalise, np.array(values))


def _judge_normalise(records: Records) -> str:
    cases = _normalise_cases()
    for index, values in enumerate(cases):
        x = np.asarray(values, np.float64)
        expected = reference_normalise(x)
        result = as_array(
            records[f"case{index}"], name="normalised returns", shape=expected.shape
        )
        sample_std = (x - x.mean()) / (x.std(ddof=1) + 1e-8)
        if np.allclose(result, expected, atol=1e-4) or np.allclose(
            result, sample_std, atol=1e-4
        ):
            continue
        mistake = recognise(result, _normalise_mistakes(x), atol=1e-4)
        hint = mistake.hint if mistake else (
            "(values - mean) / (std + a small number like 1e-8).")
        assert_close(result, expected, what="normalised returns",
                     case={"values": values}, hint=hint, atol=1e-4,
                     mistake=mistake.id if mistake else None)
    for index, values in enumerate(EDGE_VALUES):
        result = records[f"edge{index}"]
        if len(values) == 1 and np.all(np.isnan(np.asarray(result, dtype=float))):
            raise CheckFailed(
                f"normalised returns of a one-step episode, values={values}, came "
                "back as NaN. With a single value, the sample standard deviation "
                "(ddof=1) divides by n - 1 = 0 and is NaN, so adding 1e-8 does not "
                "help. Use the population std (np.std's default, ddof=0): it is 0 "
                "here, and 0 / (0 + 1e-8) = 0.",
                "normalise/ddof1-single-value",
            )
        result = as_array(result, name="normalised returns", shape=(len(values),))
        assert_close(
            result, np.zeros(len(values)), what="normalised returns",
            case={"values": values},
            hint="when all values are equal their std is 0: add a small number "
            "(like 1e-8) to the std so that the result is 0, not NaN.",
            atol=1e-4, mistake="normalise/zero-std",
        )
    return f"normalise: {len(cases) + len(EDGE_VALUES)} cases passed"


NORMALISE = Check(EX_NORMALISE, _probe_normalise, _judge_normalise)


def check_normalise(normalise: Callable[..., Any]) -> None:
    """Check `normalise(values) -> np.ndarray`: zero mean and unit standard deviation.

    Both the population (ddof=0) and the sample (ddof=1) standard deviation are
    accepted, and any small guard against a zero standard deviation.

    Args:
        normalise: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    run_check(NORMALISE, normalise)


# --------------------------------------------------------------------------------------
# Exercise 4: the actor-critic loss
# --------------------------------------------------------------------------------------
def _loss_cases() -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)

    def probs(T: int, n: int) -> np.ndarray:
        logits = rng.normal(size=(T, n))
        e = np.exp(logits)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    return [
        {  # small errors: Huber is quadratic here
            "action_probs": probs(4, 2),
            "values": np.array([0.2, -0.1, 0.4, 0.0], np.float32),
            "actions": np.array([0, 1, 1, 0], np.int32),
            "returns": np.array([0.5, 0.3, -0.2, -0.4], np.float32),
        },
        {  # a one-step episode
            "action_probs": np.array([[0.3, 0.7]], np.float32),
            "values": np.array([0.5], np.float32),
            "actions": np.array([1], np.int32),
            "returns": np.array([1.5], np.float32),
        },
        {  # large errors (|return - value| > 1): Huber is linear, unlike MSE
            "action_probs": probs(5, 3),
            "values": np.array([3.0, -2.0, 0.5, 4.0, -1.0], np.float32),
            "actions": np.array([2, 0, 1, 1, 2], np.int32),
            "returns": np.array([-1.0, 2.5, 0.4, -0.5, 1.8], np.float32),
        },
    ]


def _case_text(case: dict[str, np.ndarray]) -> dict[str, Any]:
    return {key: np.round(np.asarray(value), 3) for key, value in case.items()}


def _loss_pair(result: Any) -> tuple[Any, Any]:
    if result is None:
        raise CheckFailed(
            "actor_critic_loss returned None: expected (actor_loss, critic_loss). "
            "Did you forget the `return`?"
        )
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(
            "actor_critic_loss should return two scalars (actor_loss, critic_loss), "
            f"got {type(result).__name__}"
            + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        )
    return result[0], result[1]


def check_actor_critic_loss(actor_critic_loss: Callable[..., Any]) -> None:
    """Check `actor_critic_loss(action_probs, values, actions, returns)`.

    Expected: ``(actor_loss, critic_loss)``, two scalar tensors, where
    ``actor_loss = mean(-log pi(a_t|s_t) * A_t)`` with the advantage
    ``A_t = G_t - V(s_t)`` held constant (no gradient), and ``critic_loss`` is the
    mean Huber loss (delta = 1) between returns and values.

    Args:
        actor_critic_loss: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    import tensorflow as tf

    for case in _loss_cases():
        shown = _case_text(case)
        probs = tf.constant(case["action_probs"])
        values = tf.constant(case["values"])
        actions = tf.constant(case["actions"])
        returns = tf.constant(case["returns"])
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(probs)
            tape.watch(values)
            result = call_student(
                actor_critic_loss, probs, values, actions, returns, exercise=EX_LOSS
            )
            actor_t, critic_t = _loss_pair(result)
        actor = float(as_array(actor_t, name="actor_loss (a scalar)", shape=()))
        critic = float(as_array(critic_t, name="critic_loss (a scalar)", shape=()))
        _check_actor_value(actor, case, shown)
        _check_critic_value(critic, case, shown)
        _check_loss_gradients(tape, actor_t, critic_t, probs, values, case, shown)
        del tape
    passed("actor-critic loss: values and gradients right on 3 cases")


def _check_actor_value(actor: float, case: dict, shown: dict) -> None:
    p = case["action_probs"].astype(np.float64)
    a, g, v = case["actions"], case["returns"].astype(np.float64), case["values"]
    T = len(a)
    taken = p[np.arange(T), a]
    advantage = g - v.astype(np.float64)
    expected, _ = reference_losses(p, v, a, g)
    if np.isclose(actor, expected, atol=1e-4, rtol=1e-3):
        return
    mistakes = [
        (
            -expected,
            "the sign is flipped (a missing minus, or values - returns "
            "instead of returns - values): minimising -log pi(a|s) * advantage makes "
            "actions that did better than the critic expected MORE likely.",
        ),
        (expected * T, "you summed over the steps; take the mean (tf.reduce_mean)."),
        (
            float(np.mean(-np.log(taken) * g)),
            "you weighted log pi by the return, not "
            "by the advantage: use advantage = returns - values.",
        ),
        (
            float(np.mean(-taken * advantage)),
            "use the LOG of the probability of the action taken (tf.math.log).",
        ),
        (
            float(np.mean(-np.log(p[:, 0]) * advantage)),
            "you used the probability of "
            "action 0 at every step: pick the probability of the action actually taken "
            "(e.g. tf.gather(probs, actions, batch_dims=1)).",
        ),
    ]
    hint = "actor_loss = mean over steps of -log(prob of the action taken) * advantage."
    for wrong, message in mistakes:
        if np.isclose(actor, wrong, atol=1e-4, rtol=1e-3):
            hint = message
            break
    assert_close(
        actor, expected, what="actor_loss", case=shown, hint=hint, atol=1e-4, rtol=1e-3
    )


def _check_critic_value(critic: float, case: dict, shown: dict) -> None:
    errors = case["returns"].astype(np.float64) - case["values"]
    _, expected = reference_losses(
        case["action_probs"], case["values"], case["actions"], case["returns"]
    )
    if np.isclose(critic, expected, atol=1e-4, rtol=1e-3):
        return
    mistakes = [
        (
            float(np.mean(errors**2)),
            "this is the mean squared error; the critic uses the Huber loss "
            "(keras.losses.Huber()), which grows only linearly for errors larger "
            "than 1, so a few surprising returns do not blow up the update.",
        ),
        (
            float(np.mean(0.5 * errors**2)),
            "this is half the squared error, which Huber "
            "only equals for small errors: use keras.losses.Huber().",
        ),
        (
            float(np.mean(np.abs(errors))),
            "this is the absolute error; use keras.losses.Huber().",
        ),
        (
            float(np.sum(reference_huber(errors))),
            "you summed over the steps; take the "
            "mean (keras.losses.Huber() averages for you).",
        ),
    ]
    hint = "critic_loss = keras.losses.Huber()(returns, values)."
    for wrong, message in mistakes:
        if np.isclose(critic, wrong, atol=1e-4, rtol=1e-3):
            hint = message
            break
    assert_close(
        critic,
        expected,
        what="critic_loss",
        case=shown,
        hint=hint,
        atol=1e-4,
        rtol=1e-3,
    )


def _check_loss_gradients(tape, actor_t, critic_t, probs, values, case, shown) -> None:
    import tensorflow as tf

    if not isinstance(actor_t, tf.Tensor) or not isinstance(critic_t, tf.Tensor):
        raise CheckFailed(
            "the losses must be TensorFlow tensors computed with TensorFlow "
            "operations, so that GradientTape can differentiate them; got "
            f"{type(actor_t).__name__} and {type(critic_t).__name__}. Hint: use tf.* "
            "functions (no .numpy(), no float())."
        )
    d_actor_values = tape.gradient(actor_t, values)
    if d_actor_values is not None and np.any(np.abs(d_actor_values.numpy()) > 1e-7):
        raise CheckFailed(
            "actor_loss sends a gradient into the critic's values "
            f"(d actor_loss / d values = {np.round(d_actor_values.numpy(), 4)}). The "
            "advantage must be a constant for the actor, otherwise the actor's loss "
            "also trains the critic, in the wrong direction. Hint: "
            "advantage = tf.stop_gradient(returns - values)."
        )
    d_actor_probs = tape.gradient(actor_t, probs)
    p, a = case["action_probs"].astype(np.float64), case["actions"]
    T = len(a)
    advantage = case["returns"].astype(np.float64) - case["values"]
    expected = np.zeros_like(p)
    expected[np.arange(T), a] = -advantage / (p[np.arange(T), a] * T)
    got = np.zeros_like(p) if d_actor_probs is None else d_actor_probs.numpy()
    # Probabilities sum to 1, so only the part of the gradient along the simplex
    # matters (a loss that renormalises them, like a cross-entropy, is also right).
    expected = expected - expected.mean(axis=1, keepdims=True)
    got = got - got.mean(axis=1, keepdims=True)
    assert_close(
        got,
        expected,
        what="the gradient of actor_loss with respect to action_probs",
        case=shown,
        hint="only the probability of the action taken should matter, through "
        "-log(prob) * advantage.",
        atol=1e-4,
        rtol=1e-3,
    )
    d_critic_values = tape.gradient(critic_t, values)
    errors = case["returns"].astype(np.float64) - case["values"]
    expected_v = -np.clip(errors, -HUBER_DELTA, HUBER_DELTA) / T
    got_v = np.zeros(T) if d_critic_values is None else d_critic_values.numpy()
    assert_close(
        got_v,
        expected_v,
        what="the gradient of critic_loss with respect to values",
        case=shown,
        hint="critic_loss must be computed from the values tensor you were given "
        "(keras.losses.Huber()(returns, values)).",
        atol=1e-4,
        rtol=1e-3,
    )


# --------------------------------------------------------------------------------------
# Exercise 5: a network that solves CartPole in fewer episodes
# --------------------------------------------------------------------------------------
def check_fewer_episodes(
    baseline_runs: Sequence[Any],
    my_runs: Sequence[Any],
    *,
    baseline_model: Any = None,
    my_model: Any = None,
    threshold: float = 475.0,
    window: int = 100,
) -> None:
    """Check that the student's network solves CartPole in fewer episodes.

    One training run is one noisy sample: the same network needs 170 episodes with
    one seed and 500 with another. So both sides are given as several runs, one per
    seed (the same seeds for both), and the check compares the *median* number of
    episodes to solve, recomputed from the rewards themselves. A single run (a flat
    list of rewards) is accepted too.

    Args:
        baseline_runs: episode rewards of the baseline agent, one list per seed.
        my_runs: episode rewards of the student's agent, one list per seed.
        baseline_model: the baseline keras.Model (to confirm the network differs).
        my_model: the student's keras.Model.
        threshold: mean reward that counts as solved.
        window: number of recent episodes averaged.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    base = _runs(baseline_runs, "baseline rewards")
    mine = _runs(my_runs, "your agent's rewards")
    if len(base) != len(mine):
        raise CheckFailed(
            f"got {len(base)} baseline runs but {len(mine)} runs of your agent: "
            "train both on the same seeds."
        )
    if my_model is not None and baseline_model is not None:
        if my_model is baseline_model or _architecture(my_model) == _architecture(
            baseline_model
        ):
            raise CheckFailed(
                "your network has the same layers as the baseline: change the number "
                "of hidden layers or of units."
            )
    base_solved = [episodes_to_solve(r, threshold, window) for r in base]
    my_solved = [episodes_to_solve(r, threshold, window) for r in mine]
    if None in base_solved:
        raise CheckFailed(
            f"a baseline run did not solve CartPole (run {base_solved.index(None) + 1})"
            ", so there is nothing to compare with: rerun the baseline's cell."
        )
    for run, (rewards, solved) in enumerate(zip(mine, my_solved, strict=True), 1):
        if solved is None:
            best = (
                float(np.max(np.convolve(rewards, np.ones(window) / window, "valid")))
                if len(rewards) >= window
                else float("nan")
            )
            raise CheckFailed(
                f"your agent did not solve CartPole in run {run} ({len(rewards)} "
                f"episodes; best mean of {window} consecutive episodes: {best:.1f}, "
                f"needed {threshold:g}). Hint: a network too small cannot represent "
                "a good policy; one too large learns slowly with this learning rate."
            )
    base_median, my_median = np.median(base_solved), np.median(my_solved)
    detail = f"per seed, yours {my_solved} vs baseline {base_solved}"
    if my_median >= base_median:
        raise CheckFailed(
            f"your agent needed a median of {my_median:g} episodes, the baseline "
            f"{base_median:g}: not fewer ({detail}). Hint: look at the spread between "
            "seeds before trusting one run; compare the curves on the plot and think "
            "about what makes learning steadier, not just faster once."
        )
    passed(
        f"fewer episodes: your network solved CartPole in a median of {my_median:g} "
        f"episodes, the baseline in {base_median:g} ({detail})"
    )


def _runs(value: Any, name: str) -> list[np.ndarray]:
    """One or several runs of episode rewards, each checked to be CartPole rewards."""
    if value is None:
        raise CheckFailed(f"expected {name} (a list of episode rewards), got None.")
    try:
        first = value[0]
    except Exception:
        first = None
    single = first is None or np.ndim(first) == 0
    runs = [value] if single else list(value)
    arrays = []
    for run in runs:
        rewards = as_array(run, name=name, shape=(None,))
        if np.any(rewards < 0) or np.any(rewards > 500):
            raise CheckFailed(
                f"{name} should be CartPole-v1 episode rewards (between 0 and 500); "
                f"got values from {rewards.min():g} to {rewards.max():g}."
            )
        arrays.append(rewards)
    return arrays


def _architecture(model: Any) -> list[tuple[str, tuple]]:
    try:
        return [(v.name, tuple(v.shape)) for v in model.trainable_variables]
    except Exception:
        return []
