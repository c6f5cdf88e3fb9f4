"""Checks for notebook 01, Actor-Critic on CartPole-v1.

Each of Exercises 1-4 is a :class:`~.core.Check`: a probe calls the student's code on
small cases and keeps what comes back as plain data (values, gradients, weights,
flags); a judge compares that data with a reference written here, independently, in
plain NumPy, and words the verdict. When the answer is wrong, the judge looks for the
usual mistakes (no discount, discounting the wrong way, no normalisation, the
advantage's sign or its gradient, a squared error instead of Huber, a head with the
wrong shape or activation, a model the training loop cannot use) and names the one it
sees, with a stable id (``"<exercise>/<mistake>"``, e.g. ``"returns/no-discount"``).

The probe never decides: it only calls and keeps. The judge never trusts: data that a
probe would not write fails (``CheckFailed`` or ``MalformedProbe``), never passes.

In the notebook the cases are fixed. In grading (a challenge, see :mod:`.challenge`)
every case builder of Exercises 1-4 draws new values with the same structure and
edge cases, from ``case_rng`` under its own name; the builders and the probes call no
reference, judge or mistake builder (the grader's kernel has none of them).

TensorFlow is imported inside the functions that need it, never at module level.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from .challenge import case_rng, rounded
from .core import (
    Check,
    CheckFailed,
    Mistake,
    Probe,
    Records,
    as_array,
    assert_close,
    assert_close_naming,
    recognise,
    run_check,
    unpack,
)
from .plain import MalformedProbe, Opaque, StudentError

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
# Probe helpers shared by the exercises
# --------------------------------------------------------------------------------------
def _attempt(
    probe: Probe,
    key: str,
    step: Callable[[], Any],
    what: str,
    mistake: str | None = None,
) -> Any:
    """Run one step of a probe that uses the student's objects; keep its result.

    A step that raises (the student's model cannot be called, has no ``inputs``...)
    is kept as a failure record saying what raised what: the probe never crashes
    and never decides; the judge reads the record in its turn.

    Args:
        probe: the probe's recorder.
        key: the record's name.
        step: the step, without arguments.
        what: the step in the student's terms, e.g. ``"calling the model"``.
        mistake: the mistake id of a failure of this step, if one.

    Returns:
        The step's result, or None when it raised.
    """
    try:
        value = step()
    except Exception as error:  # the student's object failed: a record, not a crash
        probe.keep(key, StudentError(f"{what} raised {_error_text(error)}", mistake))
        return None
    probe.keep(key, value)
    return value


def _error_text(error: Exception) -> str:
    """``"Type: message"`` of an exception, TensorFlow's frame listing left out."""
    text = str(error).strip()
    if text.startswith("in user code:"):  # raised inside tf.function
        text = text.split("\n\n")[-1].strip()
    prefix = f"{type(error).__name__}: "
    text = text[len(prefix):] if text.startswith(prefix) else text
    text = " ".join(text.split())
    return prefix + (text if len(text) <= 240 else text[:237] + "...")


@contextmanager
def _mistaken(mistake: str) -> Iterator[None]:
    """A context in which a CheckFailed that names no mistake gets ``mistake``."""
    try:
        yield
    except CheckFailed as failure:
        if failure.mistake is not None:
            raise
        raise CheckFailed(str(failure), mistake) from None


def _returned_text(value: Any) -> str:
    """What a decoded record holds, in words, e.g. ``"int 3"``, ``"Functional ..."``."""
    if isinstance(value, Opaque):
        return value.description
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            kind = {"b": "bool", "i": "int", "u": "int"}.get(value.dtype.kind, "float")
            return f"{kind} {value.item()!r}"
        return f"an array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return "None" if value is None else type(value).__name__


def _inputs_unchanged(
    records: Records, key: str, inputs: dict[str, Any], case: Any, why: str,
    mistake: str,
) -> None:
    """Fail when the student's function left an input changed (judge side).

    Args:
        records: the probe's records; ``f"{key}:{name}"`` holds input ``name`` as
            the student's function left it (``Probe.call_keeping_inputs``).
        key: the call's record name.
        inputs: each input's name and the value it was given.
        case: the case, for the message.
        why: why it matters, in the exercise's terms.
        mistake: the mistake id.

    Raises:
        CheckFailed: naming the input that changed.
    """
    for name, given in inputs.items():
        after = records[f"{key}:{name}"]
        if _same_numbers(after, given):
            continue
        try:
            held = np.asarray(after, dtype=np.float64)
            shown = np.array2string(held, precision=4, threshold=12, separator=", ")
        except (TypeError, ValueError, OverflowError):
            shown = _returned_text(after)
        called = (", ".join(f"{k}={v}" for k, v in case.items())
                  if isinstance(case, dict) else case)
        raise CheckFailed(
            f"your function changed the caller's `{name}` in place: called with "
            f"{called}, `{name}` held {shown} afterwards. {why}",
            mistake,
        )


def _same_numbers(after: Any, given: Any) -> bool:
    """Whether a decoded value holds exactly the numbers given (same shape)."""
    try:
        held = np.asarray(after, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # Opaque, ragged, ...: changed
        return False
    original = np.asarray(given, dtype=np.float64)
    return held.shape == original.shape and np.array_equal(
        held, original, equal_nan=True
    )


# --------------------------------------------------------------------------------------
# Exercise 1: the agent network
# --------------------------------------------------------------------------------------
NETWORK_CASES = ((4, 2, 16), (3, 5, 8))  # (num_inputs, num_actions, num_hidden)
BATCH = 7  # states per batch the model is called on
SHIFT = 1e4  # moved onto the critic's bias to see whether the value follows


def _network_cases() -> tuple[tuple[int, int, int], ...]:
    """(num_inputs, num_actions, num_hidden) of each model the check builds.

    Without a challenge, NETWORK_CASES. Under one, new sizes of the same structure:
    a CartPole-like case (two actions), then one with more actions than two, each
    never equal to the fixed one, with at least 2 inputs and 4 hidden units (so the
    critic's bias stays the model's only weight of shape (1,)) and never 128 hidden
    units (CartPole's sizes written in must fail).
    """
    rng = case_rng("cartpole.network")
    if rng is None:
        return NETWORK_CASES
    ranges = (((3, 6), (2, 2), (8, 24)), ((2, 5), (3, 5), (4, 12)))
    cases = []
    for fixed, bounds in zip(NETWORK_CASES, ranges, strict=True):
        case = fixed
        while case == fixed:
            case = tuple(int(rng.integers(lo, hi + 1)) for lo, hi in bounds)
        cases.append(case)
    return tuple(cases)


def _network_states(num_inputs: int, index: int = 0) -> np.ndarray:
    """The batch of states case ``index`` calls the model on, (BATCH, num_inputs).

    Fixed (the same for every case) without a challenge; drawn afresh, rounded to
    2 decimals, under one.
    """
    rng = case_rng(f"cartpole.network.states{index}")
    if rng is None:
        rng = np.random.default_rng(0)
        return rng.normal(size=(BATCH, num_inputs)).astype(np.float32)
    states = np.round(rng.normal(size=(BATCH, num_inputs)), 2)
    return states.astype(np.float32)


def _critic_shift() -> float:
    """How far the probe moves the critic's bias: SHIFT, or drawn in [5e3, 2e4]."""
    rng = case_rng("cartpole.network.shift")
    if rng is None:
        return SHIFT
    return float(rng.integers(5_000, 20_001))


def _network_affine_states(num_inputs: int, index: int) -> np.ndarray:
    """The states of the affine test of case ``index`` (see :func:`_affine_states`)."""
    return _affine_states(num_inputs, case_rng(f"cartpole.network.affine{index}"))


def _probe_network(probe: Probe, build_agent: Callable[..., Any]) -> None:
    for index, (num_inputs, num_actions, num_hidden) in enumerate(_network_cases()):
        done = _probe_one_network(
            probe, index, build_agent, num_inputs, num_actions, num_hidden
        )
        if not done:  # the judge fails on this case's records: nothing more to keep
            return


def _probe_one_network(
    probe: Probe, index: int, build_agent: Callable[..., Any], num_inputs: int,
    num_actions: int, num_hidden: int,
) -> bool:
    """Build model ``index`` and keep how it behaves; False when it cannot be probed."""
    import tensorflow as tf

    key = f"net{index}"
    model = probe.call(f"{key}/model", build_agent, num_inputs, num_actions, num_hidden)
    if model is None:
        return False
    is_model = _attempt(
        probe, f"{key}/is-model",
        lambda: callable(model) and hasattr(model, "trainable_variables"),
        "looking at the model",
    )
    if not is_model:
        return False
    states = _network_states(num_inputs, index)
    outputs = _attempt(
        probe, f"{key}/outputs", lambda: model(states),
        f"calling the model on a batch of states of shape {states.shape}",
        "network/call-fails",
    )
    if not isinstance(outputs, (list, tuple)) or len(outputs) != 2:
        return False
    shapes = _attempt(
        probe, f"{key}/weight-shapes",
        lambda: [np.array(v.shape, dtype=np.int64) for v in model.trainable_variables],
        "reading model.trainable_variables",
    )
    if shapes is None:
        return False
    _attempt(
        probe, f"{key}/weights-before", lambda: _fingerprints(model),
        "reading model.trainable_variables",
    )
    _attempt(
        probe, f"{key}/gradients", lambda: _output_gradients(model, states),
        "differentiating the model's outputs",
    )
    if sum(shape.tolist() == [1] for shape in shapes) == 1:  # the judge counts too
        _attempt(
            probe, f"{key}/values-shifted", lambda: _shifted_values(model, states),
            "calling the model with its critic's bias moved",
        )
    _attempt(
        probe, f"{key}/weights-after", lambda: _fingerprints(model),
        "reading model.trainable_variables",
    )
    # The training loop: make_update_step reads model.inputs[0].shape[-1] for its
    # input signature, then calls the model inside tf.function on (None, n) states.
    _attempt(
        probe, f"{key}/input-width", lambda: model.inputs[0].shape[-1],
        "model.inputs[0].shape[-1]",
    )
    _attempt(
        probe, f"{key}/graph",
        lambda: _graph_outputs(model, states, tf.TensorSpec([None, num_inputs])),
        "calling the model inside tf.function",
    )
    # The training loop acts with a NumPy copy of the network read layer by layer.
    _attempt(
        probe, f"{key}/layers",
        lambda: [type(layer).__name__ for layer in model.layers],
        "reading model.layers",
    )
    # A hidden layer without activation makes the heads affine in the state.
    _attempt(
        probe, f"{key}/affine",
        lambda: model(_network_affine_states(num_inputs, index)),
        "calling the model on a batch of states",
    )
    return True


def _fingerprints(model: Any) -> list[str]:
    """One SHA-256 of each trainable variable's dtype, shape and values.

    Kept before and after the check uses the model, so the judge can tell whether
    it changed (a fingerprint keeps the data small, whatever the network's size).
    """
    found = []
    for variable in model.trainable_variables:
        values = np.ascontiguousarray(variable.numpy())
        digest = hashlib.sha256(f"{values.dtype}{values.shape}".encode())
        digest.update(values.tobytes())
        found.append(digest.hexdigest())
    return found


def _output_gradients(model: Any, states: np.ndarray) -> tuple[list, list]:
    """Per trainable variable: the largest |gradient| from each head, or None.

    Returns:
        (actor, critic): one entry per variable, a float, or None when the output
        does not depend on the variable at all.
    """
    import tensorflow as tf

    with tf.GradientTape(persistent=True) as tape:
        probs, values = model(tf.constant(states))
        actor_out = tf.reduce_sum(probs[:, 0])
        critic_out = tf.reduce_sum(values)
    variables = model.trainable_variables
    sizes = []
    for output in (actor_out, critic_out):
        grads = tape.gradient(output, variables)
        sizes.append(
            [None if g is None else float(np.max(np.abs(g.numpy()), initial=0.0))
             for g in grads]
        )
    del tape
    return sizes[0], sizes[1]


def _shifted_values(model: Any, states: np.ndarray) -> tuple[Any, Any, Any]:
    """The values with the critic's bias as it is, moved by + and - the shift.

    The critic head's bias is the model's only weight of shape (1,). A linear value
    follows it one for one; a relu, sigmoid, tanh or softmax head cannot follow both
    ways. The bias is put back afterwards (the probe keeps the weights before and
    after, so the judge sees that it was).
    """
    bias = next(v for v in model.trainable_variables if tuple(v.shape) == (1,))
    original = bias.numpy().copy()
    found = [model(states)[1]]
    size = _critic_shift()
    try:
        for shift in (size, -size):
            bias.assign(original + shift)
            found.append(model(states)[1])
    finally:
        bias.assign(original)
    return tuple(found)


def _graph_outputs(model: Any, states: np.ndarray, spec: Any) -> Any:
    """The model's outputs when called as the training loop calls it."""
    import tensorflow as tf

    def forward(batch):
        return model(batch, training=True)

    return tf.function(forward, input_signature=[spec])(states)


def _judge_network(records: Records) -> str:
    for index, case in enumerate(_network_cases()):
        _judge_one_network(records, f"net{index}", *case)
    return (
        "agent network: shapes, softmax actor, linear critic, shared layer, works "
        "in the training loop"
    )


def _judge_one_network(
    records: Records, key: str, num_inputs: int, num_actions: int, hidden: int
) -> None:
    case = f"build_agent({num_inputs}, {num_actions}, {hidden})"
    model = records[f"{key}/model"]
    if model is None:
        raise CheckFailed(
            f"{case} returned None. Did you forget `return model`?",
            "network/returned-none",
        )
    is_model = as_array(records[f"{key}/is-model"], name="is-model", shape=(),
                        dtype_kind="b")
    # A keras.Model is kept as its description (Opaque): numbers, lists or a flag
    # alone are not a model.
    if not is_model or not isinstance(model, Opaque):
        raise CheckFailed(
            f"{case} returned {_returned_text(model)}, expected a keras.Model. "
            "Hint: build it with Keras's functional API: the model goes from the "
            "input layer to two outputs, the probabilities and the value.",
            "network/not-a-model", _NETWORK_FIX,
        )
    eager = _judge_network_outputs(records, key, case, num_actions)
    shapes = _weight_shapes(records[f"{key}/weight-shapes"])
    _judge_weight_count(shapes, case, num_inputs, num_actions, hidden)
    _judge_linear_critic(records, key, case, shapes)
    _judge_shared_layer(records, key, case, len(shapes))
    _judge_hidden_activation(records, key, case, num_actions)
    _judge_unchanged(records, key, case, len(shapes))
    _judge_training_loop(records, key, case, num_inputs, eager)


def _weight_shapes(value: Any) -> list[tuple[int, ...]]:
    """The shapes of the model's trainable variables, as the probe kept them."""
    if not isinstance(value, (list, tuple)):
        raise MalformedProbe("the model's weight shapes are not a list")
    shapes = []
    for item in value:
        shape = as_array(item, name="weight shape", shape=(None,), dtype_kind="i")
        if shape.size > 6 or np.any(shape < 0):
            raise MalformedProbe("a weight shape is not a shape")
        shapes.append(tuple(int(n) for n in shape))
    return shapes


# The lines that fix each exercise (shown on request, see hints.py).
_RETURNS_FIX = (
    "walk backwards from the bootstrap value: `returns = np.zeros(len(rewards))`, "
    "`running = bootstrap`, then `for t in reversed(range(len(rewards))):` "
    "`running = rewards[t] + gamma * running` and `returns[t] = running`."
)
_ACTOR_LOSS_FIX = (
    "`taken = tf.gather(action_probs, actions, batch_dims=1)`, `advantage = "
    "tf.stop_gradient(returns - values)`, `actor_loss = "
    "-tf.reduce_mean(tf.math.log(taken) * advantage)`"
)
_CRITIC_LOSS_FIX = (
    "`critic_loss = huber_loss(returns, values)` (huber_loss = "
    "keras.losses.Huber(), defined above)"
)
_NORMALISE_FIX = (
    "`values = np.asarray(values, dtype=np.float64)`, then "
    "`return (values - values.mean()) / (values.std() + 1e-8)`"
)
_NETWORK_FIX = (
    "`inputs = keras.Input(shape=(num_inputs,))`, `hidden = "
    "keras.layers.Dense(num_hidden, activation=\"relu\")(inputs)`, "
    "`action_probs = keras.layers.Dense(num_actions, activation=\"softmax\")(hidden)`, "
    "`value = keras.layers.Dense(1)(hidden)`, "
    "`return keras.Model(inputs=inputs, outputs=[action_probs, value])`"
)

def _judge_network_outputs(
    records: Records, key: str, case: str, num_actions: int
) -> tuple[np.ndarray, np.ndarray]:
    """The model's two outputs on the fixed states: shapes, probabilities."""
    outputs = records[f"{key}/outputs"]
    if not isinstance(outputs, (list, tuple)) or len(outputs) != 2:
        raise CheckFailed(
            f"{case}: calling the model on a batch should give two outputs "
            f"[action_probs, value], got {_returned_text(outputs)}. "
            "Hint: the model's outputs are the actor head and the critic head, in "
            "that order.",
            "network/not-two-outputs", _NETWORK_FIX,
        )
    with _mistaken("network/actor-shape"):
        probs = as_array(
            outputs[0], name="action_probs (the actor's output)",
            shape=(BATCH, num_actions),
        )
    with _mistaken("network/critic-shape"):
        values = as_array(
            outputs[1], name="value (the critic's output)", shape=(BATCH, 1)
        )
    if np.any(probs < -1e-6) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-4):
        raise CheckFailed(
            f"{case}: the actor's outputs should be probabilities (each row >= 0 and "
            f"summing to 1); row sums are {np.round(probs.sum(axis=1), 3)}. "
            "Hint: the actor head needs a softmax activation, which turns its "
            "outputs into probabilities.",
            "network/no-softmax", _NETWORK_FIX,
        )
    return probs, values


def _judge_weight_count(
    shapes: list[tuple[int, ...]], case: str, num_inputs: int, num_actions: int,
    hidden: int,
) -> None:
    expected = (num_inputs + 1) * hidden + (hidden + 1) * num_actions + (hidden + 1)
    count = sum(math.prod(shape) for shape in shapes)  # Python ints: no overflow
    if count != expected:
        raise CheckFailed(
            f"{case}: the model has {count} trainable weights, expected {expected} for "
            f"one hidden layer of {hidden} units shared by an actor head of "
            f"{num_actions} units and a critic head of 1 unit. Hint: use the "
            "num_hidden argument (no fixed size) and connect both heads to the same "
            "hidden layer.",
            "network/weight-count", _NETWORK_FIX,
        )


def _judge_linear_critic(
    records: Records, key: str, case: str, shapes: list[tuple[int, ...]]
) -> None:
    """Fail unless the critic's value followed its bias one for one (no activation)."""
    count = sum(shape == (1,) for shape in shapes)
    if count != 1:
        raise CheckFailed(
            f"{case}: the model has {count} weights of shape (1,), expected exactly "
            "one: the bias of the critic's single output unit. Hint: the critic "
            "head is one Dense unit, with its bias.",
            "network/critic-head", _NETWORK_FIX,
        )
    shifted = records[f"{key}/values-shifted"]
    if not isinstance(shifted, (list, tuple)) or len(shifted) != 3:
        raise MalformedProbe("the critic's shifted values are not three batches")
    base, up, down = (
        as_array(values, name="value", shape=(BATCH, 1)) for values in shifted
    )
    up, down = up - base, down - base
    shift = _critic_shift()
    if not (np.allclose(up, shift, atol=1.0) and np.allclose(down, -shift, atol=1.0)):
        raise CheckFailed(
            f"{case}: the critic's value looks squashed: moving its output unit's "
            f"bias by +{shift:g} and -{shift:g} moved the values by "
            f"[{up.min():.3g}, {up.max():.3g}] and [{down.min():.3g}, "
            f"{down.max():.3g}], not by exactly that. A value estimates a sum of "
            "future rewards: it can be any real number. Hint: give the critic head a "
            "single unit with no activation (linear).",
            "network/squashed-critic", _NETWORK_FIX,
        )


def _judge_shared_layer(records: Records, key: str, case: str, count: int) -> None:
    """Both heads must depend on one shared layer: some weights get both gradients."""
    gradients = records[f"{key}/gradients"]
    if not isinstance(gradients, (list, tuple)) or len(gradients) != 2:
        raise MalformedProbe("the gradients are not an (actor, critic) pair")
    actor, critic = (_reached(sizes) for sizes in gradients)
    if not len(actor) == len(critic) == count:
        raise MalformedProbe("the gradients do not cover the model's variables")
    if not np.any(actor & critic):
        raise CheckFailed(
            f"{case}: the actor and the critic share no layer. Hint: compute one "
            "hidden layer from the inputs and feed it to both heads.",
            "network/no-shared-layer", _NETWORK_FIX,
        )


def _judge_hidden_activation(
    records: Records, key: str, case: str, num_actions: int
) -> None:
    """The shared layer has an activation: the heads are not affine in the state.

    Uses Exercise 5's affine test (:func:`_affine_heads`) on the model's outputs.
    """
    outputs = records[f"{key}/affine"]
    if not isinstance(outputs, (list, tuple)) or len(outputs) != 2:
        raise MalformedProbe("the outputs of the affine test are not a pair")
    count = 3 * AFFINE_PAIRS
    probs = as_array(outputs[0], name="action_probs", shape=(count, num_actions))
    values = as_array(outputs[1], name="value", shape=(count, 1))
    if _affine_heads(probs, values):
        raise CheckFailed(
            f"{case}: the actor's preferences (before its softmax) and the "
            "critic's value are linear functions of the state: no non-linear "
            "activation acts between the inputs and the heads, so the agent could "
            "only learn a linear policy (two Dense layers with nothing non-linear "
            "between them are one linear map). Hint: the heads must read the hidden "
            "layer's output AFTER a non-linear activation (ReLU is the usual one).",
            "network/linear-hidden", _NETWORK_FIX,
        )


def _reached(sizes: Any) -> np.ndarray:
    """Which variables an output reaches: a gradient that is there and not 0."""
    if not isinstance(sizes, (list, tuple)):
        raise MalformedProbe("the gradient sizes are not a list")
    reached = []
    for size in sizes:
        if size is None:
            reached.append(False)
            continue
        value = float(as_array(size, name="gradient size", shape=()))
        reached.append(value > 0.0)
    return np.array(reached, dtype=bool)


def _judge_unchanged(records: Records, key: str, case: str, count: int) -> None:
    """The weights after the check used the model are the weights before."""
    before, after = records[f"{key}/weights-before"], records[f"{key}/weights-after"]
    for fingerprints in (before, after):
        if (
            not isinstance(fingerprints, (list, tuple))
            or len(fingerprints) != count
            or not all(isinstance(f, str) and len(f) == 64 for f in fingerprints)
        ):
            raise MalformedProbe("the model's weight fingerprints are malformed")
    if list(before) != list(after):
        raise CheckFailed(
            f"{case}: the model's weights changed while the check called it. "
            "Calling a model must not change it (the training loop calls it to act "
            "and to learn): look for assign() or add_weight() inside call().",
            "network/changes-when-called",
        )


# The layers a right network is made of: Dense layers, with their activation as an
# argument or as a layer of its own (ReLU(), Activation("relu"), Softmax()): the
# model computes the same function either way (issue 23, item 8: a right answer
# written with activation layers was rejected).
COPYABLE_LAYERS = frozenset({"InputLayer", "Dense", "Activation", "ReLU", "Softmax"})


def _judge_copyable(
    records: Records, key: str, case: str, shapes: list[tuple[int, ...]]
) -> None:
    """The network is made of layers the training loop's NumPy copy reads.

    The chapter acts with a NumPy copy of the network (section 6), which reads its
    layers one by one: a nested model or any other kind of layer (Dropout,
    normalisation...) would be skipped and the agent would act with another policy.
    Activation layers (ReLU, Activation, Softmax) are accepted: they are one way of
    writing the activation.
    """
    names = records[f"{key}/layers"]
    if not isinstance(names, (list, tuple)) or not all(
        isinstance(name, str) for name in names
    ):
        raise MalformedProbe("the model's layer names are not a list of names")
    other = sorted(set(names) - COPYABLE_LAYERS)
    kernels = sum(len(shape) == 2 for shape in shapes)
    if not other and names.count("Dense") != kernels:  # one kernel per Dense layer
        raise MalformedProbe("the model's layer names do not match its weights")
    if other:
        raise CheckFailed(
            f"{case}: the model has layers of type {', '.join(other)}. The training "
            "loop acts with a NumPy copy of the network that reads Dense layers and "
            "their activations only, so it would act with another policy (or "
            "crash). Hint: build the model from Dense layers (with their "
            "activations), directly in the model (no nested Sequential).",
            "network/uncopyable-layer", _NETWORK_FIX,
        )


def _judge_training_loop(
    records: Records, key: str, case: str, num_inputs: int,
    eager: tuple[np.ndarray, np.ndarray],
) -> None:
    """The model works the way make_update_step and the NumPy copy use it."""
    try:
        width = records[f"{key}/input-width"]
    except CheckFailed as failure:
        raise CheckFailed(
            f"{case}: the training loop reads model.inputs[0].shape[-1] (its "
            "compiled update step takes states of that width), and your model has "
            f"no inputs ({failure}). A model written as a subclass of keras.Model "
            "has none, so training would crash. Hint: build it with the functional "
            "API, from an input layer to the two outputs.",
            "network/no-inputs", _NETWORK_FIX,
        ) from None
    width = None if width is None else int(
        as_array(width, name="input width", shape=(), dtype_kind="i"))
    if width != num_inputs:
        raise CheckFailed(
            f"{case}: model.inputs[0].shape[-1] is {width}, expected {num_inputs}: "
            "the training loop's compiled update step takes states of that width. "
            "Hint: the input layer's width is the num_inputs argument.",
            "network/input-width", _NETWORK_FIX,
        )
    try:
        graph = records[f"{key}/graph"]
    except CheckFailed as failure:
        raise CheckFailed(
            f"{case}: the training loop calls the model inside tf.function (states "
            f"of shape (None, {num_inputs}), training=True); {failure}. Hint: keep "
            "to Keras layers and TensorFlow operations.",
            "network/fails-in-graph",
        ) from None
    if not isinstance(graph, (list, tuple)) or len(graph) != 2:
        raise CheckFailed(
            f"{case}: inside tf.function the model gave {_returned_text(graph)}, "
            "not two outputs [action_probs, value].",
            "network/graph-differs",
        )
    for got, expected, name in zip(graph, eager, ("action_probs", "value"),
                                   strict=True):
        values = as_array(got, name=name, shape=expected.shape)
        if not np.allclose(values, expected, atol=1e-5, rtol=1e-4):
            raise CheckFailed(
                f"{case}: inside tf.function with training=True, as the training "
                f"loop calls it, the model's {name} differ from a plain call on the "
                "same states. A Dropout or BatchNormalization layer? The update must "
                "score the actions with the policy that chose them: leave them out.",
                "network/graph-differs",
            )
    _judge_copyable(
        records, key, case, _weight_shapes(records[f"{key}/weight-shapes"])
    )


NETWORK = Check(EX_NETWORK, _probe_network, _judge_network)


def check_agent_network(build_agent: Callable[..., Any]) -> None:
    """Check `build_agent(num_inputs, num_actions, num_hidden) -> keras.Model`.

    The model maps a batch of states (batch, num_inputs) to two outputs: action
    probabilities (batch, num_actions) from a softmax, and values (batch, 1) from a
    linear unit, both heads on one shared hidden layer of num_hidden ReLU units. It
    must also work the way the training loop uses it: ``model.inputs`` (a
    functional model) and a call inside ``tf.function``.

    Args:
        build_agent: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    run_check(NETWORK, build_agent)


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
                _RETURNS_FIX,
            ),
            Mistake(
                "returns/bootstrap-undiscounted",
                reference_returns(r, gamma, 0.0) + float(bootstrap),
                "the bootstrap value is added without discounting: it lies one step "
                "after the last reward, so it reaches G_t multiplied by gamma^(T-t).",
                _RETURNS_FIX,
            ),
        ]
        if gamma > 0:  # added once, to the last reward: G_(T-1) = r_(T-1) + bootstrap
            mistakes.append(
                Mistake(
                    "returns/bootstrap-on-last-reward",
                    reference_returns(r, gamma, float(bootstrap) / gamma),
                    "the bootstrap value is added to the last reward without "
                    "discounting: it lies one step after the last reward, so "
                    "G_(T-1) = r_(T-1) + gamma * bootstrap.",
                    _RETURNS_FIX,
                )
            )
    return mistakes + [
        Mistake(
            "returns/no-discount",
            reference_returns(r, 1.0, bootstrap),
            "your returns are plain sums of the future rewards: gamma is not used. "
            "Each step further away must be multiplied by one more factor gamma.",
            _RETURNS_FIX,
        ),
        Mistake(
            "returns/looking-back",
            forward,
            "you accumulated the rewards from the start of the episode (looking "
            "back). A return looks ahead: G_t sums r_t and the rewards AFTER t. "
            "Walk through the rewards from the last one to the first.",
            _RETURNS_FIX,
        ),
        Mistake(
            "returns/reversed",
            right[::-1].copy(),
            "the values are right but in reverse order: walking backwards through "
            "the rewards, you stored G_(T-1) first. Reverse the list at the end, or "
            "write each G_t at index t.",
            _RETURNS_FIX,
        ),
        Mistake(
            "returns/normalised",
            reference_normalise(right),
            "your returns are normalised: this function returns the raw discounted "
            "returns; normalisation is Exercise 3.",
            _RETURNS_FIX,
        ),
    ]


def _returns_cases() -> list[tuple[Any, float, float]]:
    """(rewards, gamma, bootstrap) cases; the same on both sides of the sandbox.

    Under a challenge, :func:`_drawn_returns_cases`: the same cases in the same
    order, with new values.
    """
    rng = case_rng("cartpole.returns")
    if rng is not None:
        return _drawn_returns_cases(rng)
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


def _drawn_returns_cases(rng: np.random.Generator) -> list[tuple[Any, float, float]]:
    """The cases of :func:`_returns_cases`, values drawn from ``rng`` (2 decimals).

    Away from the edge cases, gamma stays in [0.3, 0.99] (never 0 or 1, where
    forgetting gamma or looking back would give the right returns), rewards are
    distinct (no list that reads the same reversed) and a bootstrap value is at
    least 1 away from 0. The integer rewards (1 to 3) come with a gamma in
    [0.81, 0.97], so that their returns are never whole numbers (truncating them
    must show).
    """
    def gamma(lo: float, hi: float) -> float:
        return round(float(rng.uniform(lo, hi)), 2)

    def rewards(size: int, lo: float = -3.0, hi: float = 5.0) -> list[float]:
        while True:
            drawn = rounded(rng.uniform(lo, hi, size))
            if len(set(drawn)) == size:
                return drawn

    def away(lo: float, hi: float) -> float:  # +-[lo, hi]: never near 0
        return round(float(rng.choice([-1.0, 1.0]) * rng.uniform(lo, hi)), 2)

    def length(lo: int, hi: int) -> int:
        return int(rng.integers(lo, hi + 1))

    array = rewards(length(3, 4))
    array[int(rng.integers(len(array)))] = 0.0  # a reward of 0 among them
    return [
        ([round(float(rng.uniform(0.5, 3.0)), 2)] * length(3, 5), gamma(0.6, 0.95),
         0.0),  # constant rewards
        (rewards(length(4, 6)), gamma(0.3, 0.7), 0.0),
        ([away(1.0, 9.0)], gamma(0.8, 0.99), 0.0),  # a one-step episode
        (rewards(length(3, 4)), 0.0, 0.0),  # gamma = 0: returns are the rewards
        (rewards(length(3, 4)), 1.0, 0.0),  # gamma = 1: plain sums of what follows
        (rewards(length(2, 3)), gamma(0.4, 0.9), away(1.0, 8.0)),  # cut short
        ([away(0.5, 3.0)], gamma(0.5, 0.95), round(float(rng.uniform(2.0, 15.0)), 2)),
        (rounded(rng.normal(size=length(25, 35))), gamma(0.9, 0.99), 0.0),
        (rounded(rng.normal(size=length(15, 25))), gamma(0.7, 0.9), away(1.0, 5.0)),
        ([int(r) for r in rng.integers(1, 4, size=length(3, 5))], gamma(0.81, 0.97),
         0.0),  # integer rewards
        (np.array(array), gamma(0.3, 0.8), 0.0),  # an array
    ]


def _returns_case_text(rewards, gamma, bootstrap) -> dict[str, Any]:
    if isinstance(rewards, np.ndarray):
        rewards = f"np.array({rewards.tolist()})"
    case = {"rewards": rewards, "gamma": gamma}
    if bootstrap != 0.0:
        case["bootstrap"] = bootstrap
    return case


def _returns_inputs(rewards, gamma, bootstrap) -> dict[str, Any]:
    """The inputs of one call, by name (bootstrap only when the case has one)."""
    given = rewards.copy() if isinstance(rewards, np.ndarray) else list(rewards)
    inputs = {"rewards": given, "gamma": gamma}
    if bootstrap != 0.0:
        inputs["bootstrap"] = bootstrap
    return inputs


def _probe_returns(probe: Probe, discounted_returns: Callable[..., Any]) -> None:
    for index, case in enumerate(_returns_cases()):
        # The inputs are kept as the student's function left them, so the judge can
        # see (and name) an input changed in place.
        probe.call_keeping_inputs(
            f"case{index}", discounted_returns, _returns_inputs(*case)
        )


def _judge_returns(records: Records) -> str:
    cases = _returns_cases()
    for index, (rewards, gamma, bootstrap) in enumerate(cases):
        case = _returns_case_text(rewards, gamma, bootstrap)
        expected = reference_returns(rewards, gamma, bootstrap)
        got = records[f"case{index}"]
        values = as_array(got, name="returns", shape=expected.shape)
        if not np.allclose(values, expected, atol=1e-5, rtol=1e-4):
            mistake = _recognise_returns(records, cases, index, values)
            if mistake is None and np.asarray(got).dtype.kind in "iu":
                mistake = Mistake(
                    "returns/integer-dtype", None,
                    f"your returns are integers ({np.asarray(got).dtype}): the "
                    "discounted values were truncated. With integer rewards, "
                    "np.zeros_like(rewards) makes an integer array; create the "
                    "result with a float dtype.",
                )
            hint = (mistake.hint if mistake else
                    "G_t = r_t + gamma * G_(t+1), starting after the end from "
                    "`bootstrap`.")
            assert_close(values, expected, what="returns", case=case, hint=hint,
                         mistake=mistake.id if mistake else None, fix=_RETURNS_FIX)
        _inputs_unchanged(
            records, f"case{index}", _returns_inputs(rewards, gamma, bootstrap), case,
            "The training loop uses the rewards again (to sum the episode's reward): "
            "work on a copy, or write into a new array.",
            "returns/changes-input",
        )
    return f"discounted returns: {len(cases)} cases passed"


def _recognise_returns(
    records: Records, cases: list, index: int, values: np.ndarray
) -> Mistake | None:
    """The typical mistake that explains this case and the other cases too.

    Two mistakes can give the same values on one case (on constant rewards,
    accumulating from the start equals the right returns reversed); the other
    cases' results tell them apart.
    """
    matching = [
        mistake for mistake in _returns_mistakes(*cases[index])
        if recognise(values, [mistake]) is not None
    ]
    for mistake in matching:
        if all(
            _explains(records, cases, other, mistake.id)
            for other in range(len(cases)) if other != index
        ):
            return mistake
    return matching[0] if matching else None


def _explains(records: Records, cases: list, index: int, mistake_id: str) -> bool:
    """Whether case ``index``'s result fits the mistake (no result: no evidence)."""
    rewards, gamma, bootstrap = cases[index]
    try:
        got = as_array(records[f"case{index}"], name="returns", shape=(len(rewards),))
    except CheckFailed:
        return True
    values = {m.id: m.value for m in _returns_mistakes(rewards, gamma, bootstrap)}
    wrong = values.get(mistake_id, reference_returns(rewards, gamma, bootstrap))
    return bool(np.allclose(got, wrong, atol=1e-5, rtol=1e-4))


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
# The returns of 50 rewards of 1 with gamma = 0.99, to 3 decimals, written out: the
# cases are inputs, never computed by an answer (the probe's kernel has no reference).
LONG_EPISODE = (
    39.499, 38.888, 38.271, 37.647, 37.018, 36.381, 35.739, 35.09, 34.434, 33.772,
    33.103, 32.427, 31.745, 31.055, 30.359, 29.655, 28.945, 28.227, 27.502, 26.77,
    26.03, 25.283, 24.528, 23.766, 22.996, 22.218, 21.432, 20.639, 19.837, 19.027,
    18.209, 17.383, 16.549, 15.706, 14.854, 13.994, 13.125, 12.248, 11.362, 10.466,
    9.562, 8.648, 7.726, 6.793, 5.852, 4.901, 3.94, 2.97, 1.99, 1.0,
)


def _normalise_cases() -> list[list[float]]:
    """The cases of unequal values; under a challenge, new values of the same kind.

    Drawn cases keep a mean at least 1 away from 0 and a standard deviation of at
    least 2 and 0.2 away from sqrt(len): so that no typical mistake gives the right
    values or another mistake's (only centring is right when the std is 1, dividing
    by the variance looks like dividing by sqrt(sum of squares) when std = sqrt(n),
    by std + 1 when std is the golden ratio).
    """
    rng = case_rng("cartpole.normalise")
    if rng is None:
        rng = np.random.default_rng(2)
        return [
            [1.0, 2.0, 3.0],
            [10.0, 0.0, 0.0, 30.0],
            list(np.round(rng.normal(5.0, 3.0, size=25), 2)),
            list(LONG_EPISODE),
        ]
    draws = (
        lambda: rounded(np.cumsum(rng.uniform([-5.0, 3.0, 3.0], [5.0, 8.0, 8.0]))),
        lambda: [round(float(rng.uniform(5.0, 20.0)), 2), 0.0, 0.0,
                 round(float(rng.uniform(20.0, 40.0)), 2)],
        lambda: rounded(rng.normal(rng.uniform(3.0, 8.0), rng.uniform(3.0, 5.0),
                                   size=25)),
        lambda: rounded(np.sort(rng.uniform(rng.uniform(0.5, 3.0),
                                            rng.uniform(30.0, 60.0), size=50))[::-1]),
    )
    cases = []
    for draw in draws:
        values = draw()
        while not _spread_apart(values):
            values = draw()
        cases.append(values)
    return cases


def _spread_apart(values: list[float]) -> bool:
    """Whether a drawn case keeps the typical mistakes apart (see _normalise_cases)."""
    x = np.asarray(values, np.float64)
    std = float(x.std())
    return abs(float(x.mean())) >= 1.0 and std >= 2.0 and abs(
        std - math.sqrt(x.size)) >= 0.2


def _normalise_mistakes(x: np.ndarray) -> list[Mistake]:
    return [
        Mistake("normalise/unchanged", x,
                "the values came back unchanged: subtract their mean and divide by "
                "their standard deviation.", _NORMALISE_FIX),
        Mistake("normalise/only-centred", x - x.mean(),
                "you centred the values; now also divide by their standard "
                "deviation.", _NORMALISE_FIX),
        Mistake("normalise/only-scaled", x / (x.std() + 1e-8),
                "you scaled the values; first subtract their mean.", _NORMALISE_FIX),
        Mistake("normalise/variance", (x - x.mean()) / (x.var() + 1e-8),
                "you divided by the variance; divide by its square root, the std.",
                _NORMALISE_FIX),
    ]


EDGE_VALUES = ([7.0], [100.0] * 5)  # a one-step episode; constant values


def _edge_values() -> tuple[list[float], list[float]]:
    """EDGE_VALUES, or under a challenge one value and 3 to 7 equal ones (not 0).

    The equal values are quarters (0.25 to 100): their mean is exactly each of them
    in floating point, so their std is exactly 0 (with 2 decimals, the mean of
    5 x 37.41 can differ in its last bit, and a missing epsilon would not show).
    """
    rng = case_rng("cartpole.normalise.edge")
    if rng is None:
        return EDGE_VALUES
    single = round(float(rng.choice([-1.0, 1.0]) * rng.uniform(1.0, 50.0)), 2)
    equal = float(rng.integers(1, 401)) / 4
    return [single], [equal] * int(rng.integers(3, 8))


NORMALISE_WHY = (
    "A function that overwrites its argument surprises its caller (whoever plots or "
    "sums the raw returns afterwards gets normalised ones): compute a new array, "
    "e.g. (values - mean) / (std + 1e-8), instead of -= and /=."
)


def _probe_normalise(probe: Probe, normalise: Callable[..., Any]) -> None:
    calls = [(f"case{i}", values) for i, values in enumerate(_normalise_cases())]
    calls += [(f"edge{i}", values) for i, values in enumerate(_edge_values())]
    for key, values in calls:
        probe.call_keeping_inputs(key, normalise, {"values": np.array(values)})


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
            _inputs_unchanged(records, f"case{index}", {"values": values},
                              {"values": values}, NORMALISE_WHY,
                              "normalise/changes-input")
            continue
        mistake = recognise(result, _normalise_mistakes(x), atol=1e-4)
        hint = mistake.hint if mistake else (
            "subtract the mean of the values, then divide by their standard "
            "deviation plus a small number (like 1e-8).")
        assert_close(result, expected, what="normalised returns",
                     case={"values": values}, hint=hint, atol=1e-4,
                     mistake=mistake.id if mistake else None, fix=_NORMALISE_FIX)
    edges = _edge_values()
    for index, values in enumerate(edges):
        result = as_array(records[f"edge{index}"], name="normalised returns",
                          shape=(len(values),), dtype_kind=None)
        if len(values) == 1 and np.all(np.isnan(result.astype(np.float64))) and (
            not _all_nan(records, f"edge{len(edges) - 1}")
        ):
            raise CheckFailed(
                f"normalised returns of a one-step episode, values={values}, came "
                "back as NaN. With a single value, the sample standard deviation "
                "(ddof=1) divides by n - 1 = 0 and is NaN, so adding 1e-8 does not "
                "help. Use the population std (np.std's default, ddof=0): it is 0 "
                "here, and 0 / (0 + 1e-8) = 0.",
                "normalise/ddof1-single-value", _NORMALISE_FIX,
            )
        zero_std = (
            "when all values are equal their std is 0: add a small number (like "
            "1e-8) to the std so that the result is 0, not NaN."
        )
        if np.any(np.isnan(result.astype(np.float64))):
            raise CheckFailed(
                f"normalised returns of values={values} came back as "
                f"{result.astype(np.float64).tolist()}: 0 / 0. Hint: {zero_std}",
                "normalise/zero-std", _NORMALISE_FIX,
            )
        result = as_array(result, name="normalised returns", shape=(len(values),))
        assert_close(
            result, np.zeros(len(values)), what="normalised returns",
            case={"values": values}, hint=zero_std, atol=1e-4,
            mistake="normalise/zero-std", fix=_NORMALISE_FIX,
        )
        _inputs_unchanged(records, f"edge{index}", {"values": values},
                          {"values": values}, NORMALISE_WHY, "normalise/changes-input")
    return f"normalise: {len(cases) + len(edges)} cases passed"


def _all_nan(records: Records, key: str) -> bool:
    """Whether a record holds an array of NaN only (equal values divided by 0).

    NaN on a single value alone is the sample std's (ddof=1: it divides by n - 1);
    NaN on equal values too is a missing epsilon (0 / 0).
    """
    try:
        value = records[key]
    except CheckFailed:
        return False
    return (
        isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size > 0
        and bool(np.all(np.isnan(value)))
    )


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
LOSS_INPUTS = ("action_probs", "values", "actions", "returns")
LOSS_TOLERANCE = {"atol": 1e-4, "rtol": 1e-3}  # float32 arithmetic in TensorFlow


def _loss_cases() -> list[dict[str, np.ndarray]]:
    """The cases of (action_probs, values, actions, returns); under a challenge,
    :func:`_drawn_loss_cases`."""
    drawn = case_rng("cartpole.loss")
    if drawn is not None:
        return _drawn_loss_cases(drawn)
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


def _drawn_loss_cases(rng: np.random.Generator) -> list[dict[str, np.ndarray]]:
    """The three cases of :func:`_loss_cases` with values drawn from ``rng``.

    Numbers have 2 decimals. The first case is built so that no typical mistake
    gives the right losses or another mistake's, by construction (the judge meets
    most wrong answers there): every advantage is negative, from -0.9 to -0.55
    (quadratic Huber, where 2 * squared errors > absolute errors > squared errors);
    the probability of the action taken is 0.6 to 0.9, all different (so
    -log p < p, and the probability of the other action is smaller); actions 0 and
    1 both occur; the values are 0.1 to 0.8, all different and in the same order
    as -log p (so averaging them changes the actor's loss). The one-step case has an
    error of 1.1 to 1.8 (where Huber is neither half the squared error nor the
    absolute error); the last case has three actions, four errors of 1.5 to 4.5 and
    one below 0.5.
    """
    def signs(size: int) -> np.ndarray:
        return rng.choice([-1.0, 1.0], size=size)

    def simplex(rows: int, n: int) -> np.ndarray:  # rows of n probabilities >= 0.05
        probs = np.round(0.05 + (1.0 - 0.05 * n) * rng.dirichlet(np.ones(n), rows), 2)
        probs[:, -1] = np.round(1.0 - probs[:, :-1].sum(axis=1), 2)
        return probs

    # Case 0: 4 steps, 2 actions.
    taken = np.sort(rng.choice(np.arange(60, 95, 5), size=4, replace=False)) / 100
    values = np.sort(rng.choice(np.arange(1, 9), size=4, replace=False)) / 10
    # The larger a step's -log p (the smaller p), the larger its value: shuffled
    # together, so that -log p and the values keep the same order.
    order = rng.permutation(4)
    taken, values = taken[::-1][order], values[order]
    actions = rng.permutation([0, 1, int(rng.integers(2)), int(rng.integers(2))])
    probs = np.where(actions[:, None] == np.arange(2), taken[:, None],
                     1.0 - taken[:, None])
    advantages = -np.round(rng.uniform(0.55, 0.9, size=4), 2)
    # Case 1: one step.
    one_value = round(float(signs(1)[0] * rng.uniform(0.2, 0.8)), 2)
    one_error = round(float(signs(1)[0] * rng.uniform(1.1, 1.8)), 2)
    # Case 2: 5 steps, 3 actions, large errors but one.
    errors = signs(5) * rng.uniform(1.5, 4.5, size=5)
    errors[int(rng.integers(5))] = signs(1)[0] * rng.uniform(0.05, 0.5)
    last_values = np.round(rng.uniform(-3.0, 4.0, size=5), 2)
    last_actions = rng.integers(0, 3, size=5)
    last_actions[int(rng.integers(5))] = int(rng.integers(1, 3))  # not all action 0
    return [
        {
            "action_probs": np.round(probs, 2).astype(np.float32),
            "values": values.astype(np.float32),
            "actions": actions.astype(np.int32),
            "returns": np.round(values + advantages, 2).astype(np.float32),
        },
        {
            "action_probs": simplex(1, 2).astype(np.float32),
            "values": np.array([one_value], np.float32),
            "actions": np.array([1], np.int32),
            "returns": np.array([round(one_value + one_error, 2)], np.float32),
        },
        {
            "action_probs": simplex(5, 3).astype(np.float32),
            "values": last_values.astype(np.float32),
            "actions": last_actions.astype(np.int32),
            "returns": np.round(last_values + errors, 2).astype(np.float32),
        },
    ]


def _case_text(case: dict[str, np.ndarray]) -> dict[str, Any]:
    return {key: np.round(np.asarray(value), 3) for key, value in case.items()}


def _probe_loss(probe: Probe, actor_critic_loss: Callable[..., Any]) -> None:
    import tensorflow as tf

    for index, case in enumerate(_loss_cases()):
        key = f"loss{index}"
        probs, values, actions, returns = (tf.constant(case[n]) for n in LOSS_INPUTS)
        # The inputs are tensors: immutable, so the student's function cannot change
        # them in place (no need to keep them after the call).
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(probs)
            tape.watch(values)
            result = probe.call(key, actor_critic_loss, probs, values, actions, returns)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            del tape
            return  # the judge fails on this result: nothing more to keep
        actor, critic = result
        probe.keep(f"{key}/tensors", [isinstance(loss, tf.Tensor) for loss in result])
        probe.keep(f"{key}/types", [type(loss).__name__[:60] for loss in result])
        for name, loss, source, what in (
            ("d-actor/d-values", actor, values, "actor_loss"),
            ("d-actor/d-probs", actor, probs, "actor_loss"),
            ("d-critic/d-values", critic, values, "critic_loss"),
        ):
            _attempt(
                probe, f"{key}/{name}", _gradient_step(tape, loss, source),
                f"differentiating {what} with tf.GradientTape",
            )
        del tape
        # The training loop calls the loss inside tf.function, where the number of
        # steps is unknown (None) and tensors have no values yet.
        signature = [
            tf.TensorSpec([None, case["action_probs"].shape[1]], tf.float32),
            tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([None], tf.float32),
        ]
        compiled = tf.function(actor_critic_loss, input_signature=signature)
        probe.call(f"{key}/graph", compiled, probs, values, actions, returns)


def _gradient_step(tape: Any, loss: Any, source: Any) -> Callable[[], Any]:
    return lambda: tape.gradient(loss, source)


def _actor_mistakes(case: dict[str, np.ndarray]) -> list[Mistake]:
    """What typical wrong actor losses give on a case, most specific first."""
    p = case["action_probs"].astype(np.float64)
    a, g = case["actions"], case["returns"].astype(np.float64)
    v = case["values"].astype(np.float64)
    T = len(a)
    taken = p[np.arange(T), a]
    advantage = g - v
    expected, _ = reference_losses(p, v, a, g)
    return [
        Mistake(
            "loss/actor-sign-flipped", -expected,
            "the sign is flipped (a missing minus, or values - returns instead of "
            "returns - values): minimising -log pi(a|s) * advantage makes actions "
            "that did better than the critic expected MORE likely.",
            _ACTOR_LOSS_FIX,
        ),
        Mistake(
            "loss/actor-summed", expected * T,
            "you summed over the steps; take the mean.",
            _ACTOR_LOSS_FIX,
        ),
        Mistake(
            "loss/return-not-advantage", np.mean(-np.log(taken) * g),
            "you weighted log pi by the return, not by the advantage: use "
            "advantage = returns - values.",
            _ACTOR_LOSS_FIX,
        ),
        Mistake(
            "loss/prob-not-log-prob", np.mean(-taken * advantage),
            "use the LOG of the probability of the action taken.",
            _ACTOR_LOSS_FIX,
        ),
        Mistake(
            "loss/first-action", np.mean(-np.log(p[:, 0]) * advantage),
            "you used the probability of action 0 at every step: pick, in each "
            "row, the probability of the action actually taken at that step.",
            _ACTOR_LOSS_FIX,
        ),
        Mistake(
            "loss/broadcast", np.mean(-np.log(taken) * (g - v.mean())),
            "the advantage has the wrong shape: (T,) - (T, 1) broadcasts to (T, T), "
            "so every step is weighted by the mean value. Keep values and returns "
            "of shape (T,).",
            _ACTOR_LOSS_FIX,
        ),
    ]


def _critic_mistakes(case: dict[str, np.ndarray]) -> list[Mistake]:
    """What typical wrong critic losses give on a case, most specific first."""
    errors = case["returns"].astype(np.float64) - case["values"]
    return [
        Mistake(
            "loss/critic-mse", np.mean(errors**2),
            "this is the mean squared error; the critic uses the Huber loss, "
            "which grows only linearly for errors larger "
            "than 1, so a few surprising returns do not blow up the update.",
            _CRITIC_LOSS_FIX,
        ),
        Mistake(
            "loss/critic-half-squared", np.mean(0.5 * errors**2),
            "this is half the squared error, which Huber only equals for small "
            "errors: use the Huber loss.",
            _CRITIC_LOSS_FIX,
        ),
        Mistake(
            "loss/critic-absolute", np.mean(np.abs(errors)),
            "this is the absolute error; use the Huber loss (squared for small "
            "errors, linear for large ones).",
            _CRITIC_LOSS_FIX,
        ),
        Mistake(
            "loss/critic-summed", np.sum(reference_huber(errors)),
            "you summed over the steps; take the mean (the course's Huber loss "
            "averages for you).",
            _CRITIC_LOSS_FIX,
        ),
    ]


def _judge_loss(records: Records) -> str:
    cases = _loss_cases()
    for index, case in enumerate(cases):
        _judge_one_loss(records, f"loss{index}", case, cases)
    return (
        f"actor-critic loss: values and gradients right on {len(cases)} cases, "
        "also inside tf.function"
    )


def _judge_one_loss(
    records: Records, key: str, case: dict[str, np.ndarray],
    cases: Sequence[dict[str, np.ndarray]] = (),
) -> None:
    shown = _case_text(case)
    result = records[key]
    if result is None:
        raise CheckFailed(
            "actor_critic_loss returned None: expected (actor_loss, critic_loss). "
            "Did you forget the `return`?",
            "loss/returned-none",
        )
    with _mistaken("loss/not-a-pair"):
        actor_got, critic_got = unpack(
            result, ("actor_loss", "critic_loss"), function="actor_critic_loss"
        )
    with _mistaken("loss/not-scalars"):
        actor = as_array(actor_got, name="actor_loss (a scalar)", shape=())
        critic = as_array(critic_got, name="critic_loss (a scalar)", shape=())
    expected_actor, expected_critic = reference_losses(
        *(case[name] for name in LOSS_INPUTS)
    )
    swapped = np.allclose(actor, expected_critic, **LOSS_TOLERANCE) and np.allclose(
        critic, expected_actor, **LOSS_TOLERANCE
    )
    if swapped and not np.allclose(expected_actor, expected_critic, **LOSS_TOLERANCE):
        raise CheckFailed(
            f"your actor_loss ({float(actor):.4g}) is the critic's loss and your "
            f"critic_loss ({float(critic):.4g}) the actor's: the pair is swapped. "
            "Hint: return "
            "(actor_loss, critic_loss), in that order (the update step unpacks it "
            "so).",
            "loss/swapped-pair",
        )
    _judge_loss_value(
        actor, expected_actor, "actor_loss", shown,
        _consistent_first(records, cases, 0, _actor_mistakes(case), _actor_mistakes),
        "actor_loss = mean over steps of -log(prob of the action taken) * advantage.",
        _ACTOR_LOSS_FIX,
    )
    _judge_loss_value(
        critic, expected_critic, "critic_loss", shown,
        _consistent_first(records, cases, 1, _critic_mistakes(case),
                          _critic_mistakes),
        "critic_loss is the Huber loss between the returns and the values, "
        "averaged over the steps.", _CRITIC_LOSS_FIX,
    )
    _judge_graph_call(records, key, (expected_actor, expected_critic))
    tensors = as_array(records[f"{key}/tensors"], name="tensor flags", shape=(2,),
                       dtype_kind="b")
    types = records[f"{key}/types"]
    if (
        not isinstance(types, (list, tuple))
        or len(types) != 2
        or not all(isinstance(name, str) for name in types)
    ):
        raise MalformedProbe("the losses' type names are malformed")
    if not tensors.all():
        raise CheckFailed(
            "the losses must be TensorFlow tensors computed with TensorFlow "
            "operations, so that GradientTape can differentiate them; got "
            f"{types[0]} and {types[1]}. Hint: use tf.* functions (no .numpy(), no "
            "float(), no np.*).",
            "loss/not-tensors",
        )
    _judge_loss_gradients(records, key, case, shown)


def _consistent_first(
    records: Records, cases: Sequence[dict[str, np.ndarray]], item: int,
    mistakes: list[Mistake], mistakes_of: Callable[..., list[Mistake]],
) -> list[Mistake]:
    """The mistakes, those the results on every case agree with first.

    Two mistakes can give the same loss on one case by a coincidence of its
    numbers; the results on the other cases tell them apart, so that a message
    never blames the coincidence.

    Args:
        records: the probe's records.
        cases: all the cases (none: the order is left as it is).
        item: 0 for the actor's loss, 1 for the critic's.
        mistakes: the mistakes on the case being judged, most specific first.
        mistakes_of: what gives the mistakes of a case.
    """
    def agrees(mistake: Mistake) -> bool:
        for index, other in enumerate(cases):
            try:
                pair = unpack(records[f"loss{index}"], ("actor_loss", "critic_loss"),
                              function="actor_critic_loss")
                got = as_array(pair[item], name="loss", shape=())
            except (CheckFailed, MalformedProbe):
                continue  # no result on that case: no evidence
            wrong = {m.id: m.value for m in mistakes_of(other)}[mistake.id]
            if not np.allclose(got, wrong, **LOSS_TOLERANCE):
                return False
        return True

    flags = [agrees(mistake) for mistake in mistakes]
    return [m for m, ok in zip(mistakes, flags, strict=True) if ok] + [
        m for m, ok in zip(mistakes, flags, strict=True) if not ok
    ]


def _judge_loss_value(
    got: np.ndarray, expected: float, what: str, shown: dict, mistakes: list[Mistake],
    hint: str,
    fix: str | None = None,
) -> None:
    assert_close_naming(
        got, expected, mistakes, what=what, case=shown, hint=hint, fix=fix,
        **LOSS_TOLERANCE,
    )


def _judge_graph_call(
    records: Records, key: str, expected: tuple[float, float]
) -> None:
    """The loss also works inside tf.function, as the training loop calls it."""
    try:
        result = records[f"{key}/graph"]
    except CheckFailed as failure:
        if failure.mistake is not None:  # already named (NumPy in the graph, ...)
            raise
        raise CheckFailed(
            f"{failure}\nHint: the training loop calls actor_critic_loss inside "
            "tf.function, where the number of steps is unknown (shape (None,)): use "
            "tf.shape(x)[0] rather than x.shape[0], and TensorFlow operations "
            "rather than NumPy.",
            "loss/fails-in-graph",
        ) from None
    with _mistaken("loss/graph-differs"):
        pair = unpack(result, ("actor_loss", "critic_loss"),
                      function="actor_critic_loss inside tf.function")
        for got, want, name in zip(pair, expected, ("actor_loss", "critic_loss"),
                                   strict=True):
            assert_close(
                got, want, what=f"{name} inside tf.function",
                case="the same case, called as the training loop does",
                hint="your loss gives a different value when compiled: look for "
                "Python code that runs only once, while tracing (print, Python "
                "numbers taken from tensors, tf.executing_eagerly()).",
                **LOSS_TOLERANCE,
            )


def _judge_loss_gradients(
    records: Records, key: str, case: dict[str, np.ndarray], shown: dict
) -> None:
    p, a = case["action_probs"].astype(np.float64), case["actions"]
    T = len(a)
    errors = case["returns"].astype(np.float64) - case["values"]
    d_actor_values = _gradient(records[f"{key}/d-actor/d-values"], (T,))
    if np.any(np.abs(d_actor_values) > 1e-7):
        raise CheckFailed(
            "actor_loss sends a gradient into the critic's values "
            f"(d actor_loss / d values = {np.round(d_actor_values, 4)}). The "
            "advantage must be a constant for the actor, otherwise the actor's loss "
            "also trains the critic, in the wrong direction. Hint: stop the "
            "gradient on the advantage, returns - values.",
            "loss/advantage-not-detached", _ACTOR_LOSS_FIX,
        )
    expected = np.zeros_like(p)
    expected[np.arange(T), a] = -errors / (p[np.arange(T), a] * T)
    got = _gradient(records[f"{key}/d-actor/d-probs"], p.shape)
    # Probabilities sum to 1, so only the part of the gradient along the simplex
    # matters (a loss that renormalises them, like a cross-entropy, is also right).
    assert_close(
        got - got.mean(axis=1, keepdims=True),
        expected - expected.mean(axis=1, keepdims=True),
        what="the gradient of actor_loss with respect to action_probs",
        case=shown,
        hint="only the probability of the action taken should matter, through "
        "-log(prob) * advantage.",
        mistake="loss/actor-gradient", fix=_ACTOR_LOSS_FIX,
        **LOSS_TOLERANCE,
    )
    assert_close(
        _gradient(records[f"{key}/d-critic/d-values"], (T,)),
        -np.clip(errors, -HUBER_DELTA, HUBER_DELTA) / T,
        what="the gradient of critic_loss with respect to values",
        case=shown,
        hint="critic_loss must be computed from the values tensor you were given "
        "(the Huber loss between returns and values).",
        mistake="loss/critic-gradient", fix=_CRITIC_LOSS_FIX,
        **LOSS_TOLERANCE,
    )


def _gradient(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A kept gradient: None (no dependence) reads as zeros."""
    if value is None:
        return np.zeros(shape)
    return as_array(value, name="gradient", shape=shape)


LOSS = Check(EX_LOSS, _probe_loss, _judge_loss)


def check_actor_critic_loss(actor_critic_loss: Callable[..., Any]) -> None:
    """Check `actor_critic_loss(action_probs, values, actions, returns)`.

    Expected: ``(actor_loss, critic_loss)``, two scalar tensors, where
    ``actor_loss = mean(-log pi(a_t|s_t) * A_t)`` with the advantage
    ``A_t = G_t - V(s_t)`` held constant (no gradient), and ``critic_loss`` is the
    mean Huber loss (delta = 1) between returns and values. It must also work
    inside ``tf.function``, as the training loop calls it.

    Args:
        actor_critic_loss: the student's function.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    run_check(LOSS, actor_critic_loss)


# --------------------------------------------------------------------------------------
# Exercise 5: a network that learns faster (an experiment over seeds)
# --------------------------------------------------------------------------------------
CHOICE_INPUTS, CHOICE_ACTIONS = 4, 2  # CartPole's observation size and actions
SOLVE_THRESHOLD, SOLVE_WINDOW = 475.0, 100  # CartPole-v1's criterion
MAX_EPISODE_REWARD = 500.0  # CartPole-v1's time limit: one reward per step
MIN_SEEDS = 3  # a median over fewer runs is one lucky run away from the other answer
MIN_OWN_NETWORKS = 2  # the student's networks, besides the cramped one
RUN_KEYS = ("seed", "rewards", "episodes", "solved", "solved_at")
AFFINE_MIX = 0.3  # f(0.3 x + 0.7 y) = 0.3 f(x) + 0.7 f(y) for an affine f
AFFINE_PAIRS = 16  # pairs of random states (x, y) tried
AFFINE_TOLERANCE = 1e-3  # relative: float32 rounding stays far below, a ReLU far above


def _affine_states(
    num_inputs: int = CHOICE_INPUTS, rng: np.random.Generator | None = None
) -> np.ndarray:
    """States x, y and their mix, stacked: float32 (3 * AFFINE_PAIRS, num_inputs).

    Spread wide (standard deviation 2) so that every ReLU or tanh unit of a fresh
    network works on both sides of its bend somewhere between the pairs.

    Args:
        num_inputs: the width of a state.
        rng: where x and y come from (rounded to 2 decimals); None for the fixed
            states (Exercise 5's, and Exercise 1's without a challenge).
    """
    if rng is None:
        rng = np.random.default_rng(5)
        x = rng.normal(0.0, 2.0, size=(AFFINE_PAIRS, num_inputs))
        y = rng.normal(0.0, 2.0, size=(AFFINE_PAIRS, num_inputs))
    else:
        x = np.round(rng.normal(0.0, 2.0, size=(AFFINE_PAIRS, num_inputs)), 2)
        y = np.round(rng.normal(0.0, 2.0, size=(AFFINE_PAIRS, num_inputs)), 2)
    mix = AFFINE_MIX * x + (1.0 - AFFINE_MIX) * y
    return np.concatenate([x, y, mix]).astype(np.float32)


def _layer_text(layer: Any) -> str | None:
    """A layer in words, e.g. ``"Dense(64, relu)"``; None for the input layer."""
    kind = type(layer).__name__
    if kind == "InputLayer":
        return None
    units = getattr(layer, "units", None)
    activation = getattr(getattr(layer, "activation", None), "__name__", None)
    details = [str(part) for part in (units, activation) if part is not None]
    return f"{kind}({', '.join(details)})" if details else kind


def _probe_choice(
    probe: Probe, networks: Any, experiment: Any, pick: Any, *, baseline: Any
) -> None:
    """Keep, per network: its layers, its outputs on the affine test, its runs."""
    from collections.abc import Mapping

    probe.keep("pick", pick)
    probe.keep("baseline", baseline)
    if not isinstance(experiment, Mapping):
        raise CheckFailed(
            f"Exercise {EX_BETTER}: expected `experiment` as a dict "
            f"{{network name: ...}}, got {type(experiment).__name__}.",
            "choice/not-a-dict",
        )
    names = _probe_choice_names(probe, networks)
    for index, name in enumerate(names):
        _probe_choice_network(probe, f"net{index}", networks[name])
        _probe_choice_runs(probe, f"net{index}", experiment.get(name))


def _probe_choice_names(probe: Probe, networks: Any) -> list:
    """Keep the networks' names (the dict's keys), or fail on a dict of another kind."""
    from collections.abc import Mapping

    if not isinstance(networks, Mapping):
        raise CheckFailed(
            f"Exercise {EX_BETTER}: expected `networks` as a dict "
            f"{{network name: ...}}, got {type(networks).__name__}.",
            "choice/not-a-dict",
        )
    names = list(networks)
    if not all(isinstance(name, str) for name in names):
        raise CheckFailed(
            f"Exercise {EX_BETTER}: name each network with a string, got keys "
            f"{names!r}.",
            "choice/not-a-dict",
        )
    probe.keep("names", names)
    return names


def _probe_choice_network(probe: Probe, key: str, build: Any) -> None:
    """A fresh network from the builder: whether it is a Keras model (True, else its
    type's name), its layers and its outputs on the states."""
    import keras

    from .core import call_student

    try:
        model = call_student(build, CHOICE_INPUTS, CHOICE_ACTIONS, exercise=EX_BETTER)
    except CheckFailed as failure:
        probe.keep(f"{key}/outputs", StudentError(str(failure), failure.mistake))
        return
    if not isinstance(model, keras.Model):
        probe.keep(f"{key}/keras", type(model).__name__)
        probe.keep(f"{key}/outputs", None)  # not called: the loop could not use it
        return
    probe.keep(f"{key}/keras", True)
    layers = [_layer_text(layer) for layer in getattr(model, "layers", None) or []]
    probe.keep(f"{key}/layers", [text for text in layers if text])
    probe.call(f"{key}/outputs", model, _affine_states())


def _probe_choice_runs(probe: Probe, key: str, runs: Any) -> None:
    """Each run's seed, rewards and what the run reported about itself."""
    from collections.abc import Mapping

    if not isinstance(runs, (list, tuple)):
        probe.keep(f"{key}/runs", None if runs is None else StudentError(
            f"expected a list of runs (one per seed), got {type(runs).__name__}"))
        return
    probe.keep(f"{key}/runs", len(runs))
    for index, run in enumerate(runs):
        for field in RUN_KEYS:
            value = run.get(field) if isinstance(run, Mapping) else None
            if field == "rewards" and value is not None:
                try:  # one array record, not a list of 500 number records
                    value = np.asarray(value, dtype=np.float64)
                except (TypeError, ValueError):
                    pass
            probe.keep(f"{key}/run{index}/{field}", value)


def _judge_choice(records: Records) -> str:
    names = _choice_names(records)
    baseline, pick = _choice_baseline(records, names), _choice_pick(records, names)
    if pick == baseline:
        raise CheckFailed(
            f"MY_PICK names the cramped network itself ({pick!r}): pick the one of "
            "YOUR networks that needed the fewest episodes.",
            "choice/picked-cramped",
        )
    for index, name in enumerate(names):
        _judge_hidden_nonlinearity(records, f"net{index}", name)
    seeds, solved_at = None, {}
    for index, name in enumerate(names):
        runs = _judge_choice_runs(records, f"net{index}", name)
        these = [seed for seed, _ in runs]
        if seeds is None:
            seeds = these
        elif sorted(these) != sorted(seeds):
            raise CheckFailed(
                f"'{name}' was trained on seeds {these}, '{names[0]}' on {seeds}: "
                "compare every network on the same seeds (COMPARE_SEEDS).",
                "choice/different-seeds",
            )
        solved_at[name] = dict(runs)
    if len(seeds) < MIN_SEEDS or len(set(seeds)) != len(seeds):
        raise CheckFailed(
            f"the networks were trained on seeds {seeds}: use at least {MIN_SEEDS} "
            "different seeds. One run is one noisy sample; a median over a few "
            "seeds is the least that tells a network from a lucky run.",
            "choice/too-few-seeds",
        )
    return _judge_medians(solved_at, sorted(seeds), baseline, pick)


def _choice_names(records: Records) -> list[str]:
    names = records["names"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise MalformedProbe("the network names are not a list of strings")
    return names


def _choice_baseline(records: Records, names: list[str]) -> str:
    baseline = records["baseline"]
    if baseline not in names:
        raise CheckFailed(
            f"the cramped network {baseline!r} is not among the networks compared "
            f"({names}): keep it in, it is what your networks must beat.",
            "choice/no-baseline",
        )
    own = len(names) - 1
    if own < MIN_OWN_NETWORKS:
        raise CheckFailed(
            f"you proposed {own} network(s) of your own: propose at least "
            f"{MIN_OWN_NETWORKS} in MY_NETWORKS, so that the experiment compares "
            "ideas, not just one guess against the cramped network.",
            "choice/too-few-networks",
        )
    return baseline


def _choice_pick(records: Records, names: list[str]) -> str | None:
    pick = records["pick"]
    if pick is None:
        return None  # "no network won clearly": judged with the medians
    if not isinstance(pick, str) or pick not in names:
        raise CheckFailed(
            f"MY_PICK should be the name of one of the networks you trained "
            f"({', '.join(repr(n) for n in names)}), or None when none won clearly; "
            f"got {_shown(pick)}.",
            "choice/unknown-pick",
        )
    return pick


def _shown(value: Any) -> str:
    """A decoded value as the student wrote it, e.g. ``999``, ``None``, ``'x'``."""
    if isinstance(value, Opaque):
        return value.description
    if isinstance(value, np.ndarray):
        return repr(value.item()) if value.shape == () else f"array {value.tolist()}"
    return repr(value)


def _affine_heads(probs: np.ndarray, values: np.ndarray) -> bool:
    """Whether both heads are affine in the state, on :func:`_affine_states`.

    Softmax makes the probabilities non-linear even for a linear model, so the test
    looks at what the heads compute before it: log(p_a / p_0) (the logits'
    differences) and the value. For a network without a hidden activation both are
    affine in the state, f(t x + (1 - t) y) = t f(x) + (1 - t) f(y), whatever its
    number of layers.

    Args:
        probs: (3 * AFFINE_PAIRS, num_actions) action probabilities on the states.
        values: (3 * AFFINE_PAIRS, 1) values on the states.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(probs[:, 1:]) - np.log(probs[:, :1])
    features = np.concatenate([log_ratio, values], axis=1)
    x, y, mix = np.split(features, 3)
    for column in range(features.shape[1]):
        # A probability rounded to 0 in float32 has no log: leave that pair out.
        ok = np.isfinite(x[:, column]) & np.isfinite(y[:, column]) & np.isfinite(
            mix[:, column]
        )
        if not ok.any():
            continue
        seen = np.concatenate([x[ok, column], y[ok, column], mix[ok, column]])
        residual = mix[ok, column] - (
            AFFINE_MIX * x[ok, column] + (1.0 - AFFINE_MIX) * y[ok, column]
        )
        scale = max(1.0, float(np.max(np.abs(seen))))
        if np.max(np.abs(residual)) > AFFINE_TOLERANCE * scale:
            return False
    return True


def _judge_hidden_nonlinearity(records: Records, key: str, name: str) -> None:
    """Fail a network whose actor gives no probabilities, whose outputs are affine
    in the state (no hidden non-linearity), or with a hidden layer left linear.

    Softmax makes the probabilities non-linear even for a linear model, so the test
    looks at what the heads compute before it: log(p_a / p_0) (the logits' differences)
    and the value. For a network without a hidden activation both are affine in the
    state, f(t x + (1 - t) y) = t f(x) + (1 - t) f(y), whatever its number of layers.
    """
    try:
        outputs = records[f"{key}/outputs"]
    except CheckFailed as failure:  # the build or the call raised: say which network
        raise CheckFailed(f"network '{name}': {failure}", failure.mistake,
                          failure.fix) from None
    kind = records[f"{key}/keras"]
    if not (isinstance(kind, np.ndarray) and kind.shape == () and kind.dtype.kind == "b"
            and bool(kind)):
        raise CheckFailed(
            f"network '{name}': build(num_inputs, num_actions) returned "
            f"{_shown(kind) if isinstance(kind, str) else 'something'} that is not a "
            "keras.Model; the training loop needs one (its trainable_variables, "
            "one call on a batch of states). Hint: end build with "
            "`return keras.Model(inputs=inputs, outputs=[action_probs, value])`, "
            "as build_agent does.",
            "choice/not-a-model",
        )
    if not isinstance(outputs, (list, tuple)) or len(outputs) != 2:
        raise CheckFailed(
            f"network '{name}': calling it on a batch of states should give "
            "[action_probs, value], like build_agent's model.",
            "choice/outputs",
        )
    count = 3 * AFFINE_PAIRS
    probs = as_array(outputs[0], name=f"'{name}' action_probs",
                     shape=(count, CHOICE_ACTIONS))
    values = as_array(outputs[1], name=f"'{name}' value", shape=(count, 1))
    if np.any(probs < -1e-6) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-4):
        raise CheckFailed(
            f"network '{name}': its actor's outputs are not probabilities (each row "
            ">= 0 and summing to 1), yet the training loop samples the actions "
            "from them. Hint: give the actor head a softmax activation, as in "
            "build_agent.",
            "choice/no-softmax",
        )
    layers = records[f"{key}/layers"] if f"{key}/layers" in records else []
    described = " -> ".join(layers) if isinstance(layers, list) else "?"
    if _affine_heads(probs, values):
        raise CheckFailed(
            f"network '{name}' ({described}) has no non-linearity between the state "
            "and its heads: its action preferences (the logits before the softmax) "
            "and its value are linear functions of the state. Dense layers without "
            "an activation compose into one linear map, W2 (W1 s + b1) + b2 = W s + "
            "b, so stacking them adds no features, whatever their size. Give the "
            "hidden layers an activation (ReLU or tanh).",
            "choice/linear-network",
        )
    # Only the critic's head is linear: a hidden layer without activation merges
    # with the layer after it into one (the network is then a smaller one than
    # it looks, and not the one the student meant to try).
    linear = [
        text for text in layers if isinstance(text, str)
        and text.startswith("Dense(") and text.endswith(", linear)")
    ] if isinstance(layers, list) else []
    if len(linear) > 1:
        raise CheckFailed(
            f"network '{name}' ({described}) has {len(linear)} Dense layers without "
            "an activation; only the critic's one-unit head should be linear. A "
            "hidden layer without activation adds nothing: with the layer after it, "
            "it composes into one (W2 (W1 s + b1) + b2 = W s + b), so the network is "
            "not the one you meant to try. Hint: give every hidden layer an "
            "activation (ReLU or tanh).",
            "choice/linear-layer",
        )


def _judge_choice_runs(records: Records, key: str, name: str) -> list[tuple]:
    """The network's runs as (seed, episodes to solve or None), each checked."""
    count = records[f"{key}/runs"]
    if count is None:
        raise CheckFailed(
            f"no runs of network '{name}' in the experiment: run the cell that "
            "trains the networks after changing MY_NETWORKS.",
            "choice/missing-runs",
        )
    runs = []
    total = as_array(count, name="number of runs", shape=(), dtype_kind="i")
    for index in range(int(total)):
        runs.append(_judge_one_run(records, f"{key}/run{index}", name))
    if not runs:
        raise CheckFailed(f"network '{name}' has no runs.", "choice/missing-runs")
    return runs


def _judge_one_run(records: Records, key: str, name: str) -> tuple[int, int | None]:
    """One run: its rewards are CartPole's, and what it reports matches them.

    The episode count and the solved point are recomputed here from the rewards
    with the course's reference criterion (:func:`episodes_to_solve`), never read
    from the run: a run that disagrees with its own rewards fails.
    """
    seed = records[f"{key}/seed"]
    if not (isinstance(seed, np.ndarray) and seed.shape == ()
            and seed.dtype.kind in "iu"):
        raise CheckFailed(
            f"a run of '{name}' does not say which seed it used (its 'seed' is "
            f"{_shown(seed)}): train with train_on_seeds, which records it.",
            "choice/inconsistent-run",
        )
    seed = int(seed)
    where = f"'{name}', seed {seed}"
    rewards = as_array(records[f"{key}/rewards"], name=f"the rewards of {where}",
                       shape=(None,))
    if rewards.size and (rewards.min() < 0 or rewards.max() > MAX_EPISODE_REWARD
                         or np.any(rewards != np.round(rewards))):
        raise CheckFailed(
            f"{where}: the rewards are not CartPole-v1 episode rewards (whole numbers "
            f"from 0 to 500), got values from {rewards.min():g} to {rewards.max():g}.",
            "choice/inconsistent-run",
        )
    reference = episodes_to_solve(rewards, SOLVE_THRESHOLD, SOLVE_WINDOW)
    claims = {
        "episodes": (records[f"{key}/episodes"], rewards.size),
        "solved": (records[f"{key}/solved"], reference is not None),
        "solved_at": (records[f"{key}/solved_at"], reference),
    }
    for field, (claimed, truth) in claims.items():
        if not _same_claim(claimed, truth):
            raise CheckFailed(
                f"{where}: the run reports {field}={_shown(claimed)}, but its "
                f"{rewards.size} episode rewards say {truth!r} (solved = the mean of "
                f"{SOLVE_WINDOW} consecutive episodes reaches {SOLVE_THRESHOLD:g}). "
                "Rerun the training cell rather than editing its results.",
                "choice/inconsistent-run",
            )
    return seed, reference


def _same_claim(claimed: Any, truth: Any) -> bool:
    if truth is None:
        return claimed is None
    if not isinstance(claimed, np.ndarray) or claimed.shape != ():
        return False
    if isinstance(truth, bool):
        return claimed.dtype.kind == "b" and bool(claimed) == truth
    return claimed.dtype.kind in "iu" and int(claimed) == truth


def _judge_medians(
    solved_at: dict[str, dict[int, int | None]], seeds: list[int], baseline: str,
    pick: str | None,
) -> str:
    """The pick must be the network that won clearly, or None when none did.

    A network wins clearly when even its slowest seed needed fewer episodes than the
    median of every other network, the cramped one included: the gap to each of them
    is then larger than the spread of its own seeds. At most one network can. A run
    that never solved counts as slower than any that did.
    """
    def episodes(name: str) -> list[float]:
        return [np.inf if solved_at[name][s] is None else solved_at[name][s]
                for s in seeds]

    medians = {name: float(np.median(episodes(name))) for name in solved_at}
    slowest = {name: max(episodes(name)) for name in solved_at}

    def runs_text(name: str) -> str:
        return ", ".join(
            f"seed {seed}: {_episodes_text(solved_at[name][seed])}" for seed in seeds
        )

    table = "; ".join(
        f"'{name}': median {_episodes_text(medians[name])} ({runs_text(name)})"
        for name in solved_at
    )
    rule = ("A clear win: even the network's slowest seed needed fewer episodes "
            "than the median of every other network.")
    clear = [
        name for name in solved_at if name != baseline
        and all(slowest[name] < medians[other] for other in solved_at if other != name)
    ]
    winner = clear[0] if clear else None
    if pick is None:
        if winner is not None:
            raise CheckFailed(
                f"MY_PICK is None, but '{winner}' won clearly: its slowest seed needed "
                f"{_episodes_text(slowest[winner])} episodes, fewer than the median of "
                f"every other network. {rule} Your data: {table}.",
                "choice/missed-clear-win",
                fix=f"MY_PICK = {winner!r}",
            )
        return (
            "network choice: no network won clearly on seeds "
            f"{', '.join(map(str, seeds))} (medians: "
            + ", ".join(f"'{n}' {_episodes_text(m)}" for n, m in medians.items())
            + "), so MY_PICK = None is what the data supports. " + rule
        )
    best = min(medians.values())
    own_best = min(m for name, m in medians.items() if name != baseline)
    if medians[pick] > best and own_best < medians[baseline]:
        winners = [name for name, m in medians.items() if m == best]
        raise CheckFailed(
            f"your pick '{pick}' is not the network that needed the fewest episodes "
            f"on these seeds: {' and '.join(repr(w) for w in winners)} did "
            f"(median {_episodes_text(best)}). Your data: {table}. Read the "
            "medians, not one curve: a conclusion has to hold on the data.",
            "choice/not-best",
        )
    if medians[pick] >= medians[baseline]:
        raise CheckFailed(
            f"your pick '{pick}' needed a median of {_episodes_text(medians[pick])} "
            f"episodes, the cramped network {_episodes_text(medians[baseline])}: not "
            f"fewer, and none of your networks did better. Your data: {table}. That "
            "is a finding too: state it in MY_PICK, or try other networks. "
            "Hint: more hidden units give the actor and the critic more features to "
            "share; a much larger network learns slowly with a learning rate tuned "
            "for 128 units.",
            "choice/not-better-than-cramped",
            fix="MY_PICK = None",
        )
    if pick != winner:
        rivals = [other for other in solved_at
                  if other != pick and slowest[pick] >= medians[other]]
        rivals_text = ", ".join(
            f"'{other}' (median {_episodes_text(medians[other])})" for other in rivals
        )
        raise CheckFailed(
            f"your pick '{pick}' has the smallest median "
            f"({_episodes_text(medians[pick])}), but its slowest seed needed "
            f"{_episodes_text(slowest[pick])} episodes, no fewer than the median of "
            f"{rivals_text}: the seeds overlap, and a gap that small may well reverse "
            f"on three other seeds. {rule} Your data: {table}. When no network won "
            "clearly, that is the conclusion the data supports: state it in MY_PICK.",
            "choice/unsupported-gap",
            fix="MY_PICK = None",
        )
    return (
        f"network choice: '{pick}' won clearly over the {len(medians) - 1} other "
        f"networks (seeds {', '.join(map(str, seeds))}: median "
        f"{_episodes_text(medians[pick])}, slowest seed "
        f"{_episodes_text(slowest[pick])}; the cramped network's median "
        f"{_episodes_text(medians[baseline])})"
    )


def _episodes_text(value: float | int | None) -> str:
    if value is None or not np.isfinite(value):
        return "not solved"
    return f"{value:g}"


CHOICE = Check(EX_BETTER, _probe_choice, _judge_choice)


def check_network_choice(
    networks: Any, experiment: Any, pick: Any, *, baseline: Any
) -> None:
    """Check Exercise 5's experiment and the conclusion drawn from it.

    Args:
        networks: ``{name: build(num_inputs, num_actions) -> keras.Model}``, the
            cramped network and the student's own (at least two).
        experiment: ``{name: [run, ...]}``, one run per comparison seed, each the
            dict ``train`` returns (``rewards``, ``episodes``, ``solved``,
            ``solved_at``) plus the ``seed`` it ran with.
        pick: the name of the network the student concludes learns fastest, or
            None when no network won clearly.
        baseline: the cramped network's name.

    The judge recomputes every run's episodes to solve from its rewards, then
    requires the pick to be the network that won clearly (even its slowest seed
    needed fewer episodes than the median of every other network, the cramped one
    included), or None when no network did. Every network must have a hidden
    non-linearity (tested on its outputs, not on its layers' names).

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    run_check(CHOICE, networks, experiment, pick, baseline=baseline)


def _probe_choice_builds(probe: Probe, networks: Any) -> None:
    """Build each network once (no training): its layers, its outputs on the states."""
    names = _probe_choice_names(probe, networks)
    for index, name in enumerate(names):
        _probe_choice_network(probe, f"net{index}", networks[name])


def _judge_choice_builds(records: Records) -> str:
    """At least two networks, each a Keras model the training loop can use, with a
    hidden non-linearity (the judge of :func:`check_network_choice`'s networks)."""
    names = _choice_names(records)
    if len(names) < MIN_OWN_NETWORKS:
        raise CheckFailed(
            f"MY_NETWORKS holds {len(names)} network(s): propose at least "
            f"{MIN_OWN_NETWORKS}, so that the experiment compares ideas, not just "
            "one guess against the cramped network.",
            "choice/too-few-networks",
        )
    for index, name in enumerate(names):
        _judge_hidden_nonlinearity(records, f"net{index}", name)
    return (
        f"networks ready to train: {', '.join(repr(name) for name in names)}, each a "
        "Keras model with a hidden non-linearity, giving action probabilities and a "
        "value per state. Now run the training cell."
    )


CHOICE_BUILDS = Check(EX_BETTER, _probe_choice_builds, _judge_choice_builds)


def vet_networks(networks: Any) -> None:
    """Exercise 5, before the long training: build each proposed network once.

    Not named ``check_*``: the exercise's graded check is :func:`check_network_choice`
    (nbgrader's export and the grader take the first ``checks.check_*`` call after
    the exercise's solution cells as its check); this one only saves the student a
    training run of a network the final check would reject.

    Args:
        networks: ``MY_NETWORKS``, ``{name: build(num_inputs, num_actions)}``.

    Raises:
        CheckFailed: fewer than two networks; a builder that raises, returns no
            Keras model, or one whose outputs are not ``[action_probs, value]`` of
            the right shapes on a batch of CartPole states; a network without a
            hidden non-linearity (its heads affine in the state) or with a hidden
            layer left linear.
    """
    run_check(CHOICE_BUILDS, networks)
