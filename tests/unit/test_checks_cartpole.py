"""Checks of notebook 01: right answers pass (however written), typical mistakes fail
with a message that names the mistake and its id, and forged probe data never passes.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from check_testing import (
    CHALLENGES,
    fails,
    graded,
    mistake_of,
    replayed,
    top_level_imports,
)

from course_utils.checks import cartpole, plain
from course_utils.checks.challenge import challenged
from course_utils.checks.core import (
    NOT_DONE,
    CheckFailed,
    judge_payload,
    run_probe,
)
from course_utils.checks.plain import MalformedProbe
from instructor.tools.mutation.catalogue import entries

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


# --------------------------------------------------------------------------------------
# Forged data: whatever a submission's kernel hands over, the judge never passes it
# unless it holds the right outputs.
# --------------------------------------------------------------------------------------
@functools.cache
def probe_text(check, answer) -> str:
    """The probe's JSON for an answer (probed once: TensorFlow tracing is slow)."""
    return plain.dumps(run_probe(check, answer))


def payload_of(check, answer) -> dict:
    """The probe's data for an answer, as the grader receives it (a fresh dict)."""
    return json.loads(probe_text(check, answer))


def never_passes(check, data) -> Exception:
    """Judge hand-made data; it must fail (CheckFailed or MalformedProbe)."""
    text = data if isinstance(data, str) else json.dumps(data)
    with pytest.raises((CheckFailed, MalformedProbe)) as info:
        judge_payload(check, text)
    return info.value


def wrong_records(record: dict) -> list[dict]:
    """Records a probe would not have written in place of ``record``."""
    nan = {"kind": "array", "dtype": "float64", "shape": [3], "data": ["nan"] * 3}
    replacements = [
        {"kind": "none"},
        {"kind": "opaque", "description": "forged"},
        {"kind": "error", "message": "forged", "mistake": None},
        {"kind": "array", "dtype": "float64", "shape": [0], "data": []},
        {"kind": "array", "dtype": "float64", "shape": [2, 2, 2], "data": [1.0] * 8},
        {"kind": "seq", "type": "list", "items": []},
        {"kind": "text", "text": "forged"},
        nan,
    ]
    if record.get("kind") == "array":  # the same shape, but not numbers a probe keeps
        size = len(record["data"])
        replacements.append({**record, "dtype": "float64", "data": ["nan"] * size})
        replacements.append({**record, "dtype": "float64", "data": ["inf"] * size})
    if record.get("kind") == "seq":
        replacements.append({**record, "items": record["items"][:-1]})
        replacements.append({**record, "items": record["items"] + [nan]})
    if record.get("kind") == "opaque":  # a description only: any other is as good
        replacements = [r for r in replacements if r["kind"] != "opaque"]
    return [r for r in replacements if r != record]


def array_leaves(record: dict, path=()):
    """Paths to every array record, at any depth of sequences."""
    if record.get("kind") == "array":
        yield path
    for index, item in enumerate(record.get("items", [])):
        yield from array_leaves(item, (*path, index))


def with_nan_leaf(record: dict, path: tuple) -> dict:
    """A copy of the record whose array at ``path`` holds NaN (as float64)."""
    if not path:
        return {**record, "dtype": "float64", "data": ["nan"] * len(record["data"])}
    items = list(record["items"])
    items[path[0]] = with_nan_leaf(items[path[0]], path[1:])
    return {**record, "items": items}


def forged_payloads(valid: dict):
    """Hand-made payloads from a valid one: every record missing or replaced."""
    records = valid["records"]
    yield "{}"
    yield "not json"
    yield json.dumps({"records": {}, "stopped": None})
    yield json.dumps({"records": records})[:-10]  # cut short
    yield json.dumps({"records": records, "stopped": {"kind": "none"}})
    yield json.dumps({"records": {**records, "x": {"kind": "array"}}})
    yield " " * (plain.MAX_PAYLOAD + 1)
    # A probe that stopped early, with fake records of a right answer.
    yield json.dumps({"records": records, "stopped": {
        "kind": "error", "message": "stopped", "mistake": None}})
    for key in records:
        yield json.dumps({"records": {k: v for k, v in records.items() if k != key}})
        for wrong in wrong_records(records[key]):
            yield json.dumps({"records": {**records, key: wrong}})
        # No number a probe keeps is NaN: one NaN anywhere must fail.
        paths = list(array_leaves(records[key]))
        for path in paths[:: max(1, len(paths) // 6)]:  # at most about 6 per record
            nan = with_nan_leaf(records[key], path)
            yield json.dumps({"records": {**records, key: nan}})


def assert_forgeries_fail(check, answer) -> int:
    """Every forged variant of the right answer's data fails; return how many."""
    valid = payload_of(check, answer)
    assert judge_payload(check, json.dumps(valid))  # the genuine data passes
    count = 0
    for payload in forged_payloads(valid):
        never_passes(check, payload)
        count += 1
    return count


def assert_round_trip(check, answer):
    """The probe's data survives plain.dumps/loads; judging it gives run_check's
    verdict."""
    data = run_probe(check, answer)
    again = plain.loads(plain.dumps(data))
    assert again == json.loads(json.dumps(data))
    assert plain.dumps(again) == plain.dumps(data)
    try:
        verdict = judge_payload(check, plain.dumps(data))
    except CheckFailed as failure:
        verdict = (str(failure), failure.mistake)
    try:
        second = judge_payload(check, plain.dumps(again))
    except CheckFailed as failure:
        second = (str(failure), failure.mistake)
    assert verdict == second  # the judge is deterministic
    return verdict


def test_garbage_is_malformed_for_every_check():
    for check in (cartpole.NETWORK, cartpole.RETURNS, cartpole.NORMALISE,
                  cartpole.LOSS):
        for text in ("", "[]", "null", '{"records": []}', "{" * 100_000,
                     json.dumps({"records": {"case0": {"kind": "array",
                                 "dtype": "float64", "shape": [10**6], "data": []}}})):
            assert isinstance(never_passes(check, text), MalformedProbe)


# --------------------------------------------------------------------------------------
# Exercise 1: the agent network
# --------------------------------------------------------------------------------------
def network(
    actor_activation="softmax",
    critic_activation=None,
    shared=True,
    fixed_hidden=None,
    outputs="both",
):
    def build_agent(num_inputs, num_actions, num_hidden):
        num_hidden = fixed_hidden or num_hidden
        inputs = keras.Input(shape=(num_inputs,))
        hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
        critic_in = hidden
        if not shared:
            critic_in = keras.layers.Dense(num_hidden, activation="relu")(inputs)
        probs = keras.layers.Dense(num_actions, activation=actor_activation)(hidden)
        value = keras.layers.Dense(1, activation=critic_activation)(critic_in)
        if outputs == "actor":
            return keras.Model(inputs, probs)
        return keras.Model(inputs, [probs, value])

    return build_agent


def functional(build_heads):
    """A functional model: build_heads(inputs, num_actions, num_hidden) -> outputs."""

    def build_agent(num_inputs, num_actions, num_hidden):
        inputs = keras.Input(shape=(num_inputs,))
        return keras.Model(inputs, build_heads(inputs, num_actions, num_hidden))

    return build_agent


class SubclassAgent(keras.Model):
    """Right maths, subclass API: no model.inputs for the training loop."""

    def __init__(self, num_actions, num_hidden):
        super().__init__()
        self.common = keras.layers.Dense(num_hidden, activation="relu")
        self.actor = keras.layers.Dense(num_actions)
        self.critic = keras.layers.Dense(1)

    def call(self, x):
        h = self.common(x)
        return tf.nn.softmax(self.actor(h)), self.critic(h)


RIGHT_NETWORK = network()


def test_network_reference_passes(capsys):
    cartpole.check_agent_network(RIGHT_NETWORK)
    out = capsys.readouterr().out
    assert out.startswith("✔ agent network") and "training loop" in out


def sequential_trunk(inputs, num_actions, num_hidden):
    trunk = keras.Sequential([keras.layers.Dense(num_hidden, activation="relu")])
    hidden = trunk(inputs)
    return [
        keras.layers.Dense(num_actions, activation="softmax")(hidden),
        keras.layers.Dense(1)(hidden),
    ]


def separate_activations(inputs, num_actions, num_hidden):
    hidden = keras.layers.Activation("relu")(keras.layers.Dense(num_hidden)(inputs))
    logits = keras.layers.Dense(num_actions)(hidden)
    value = keras.layers.Dense(1, activation="linear")(hidden)
    return (keras.layers.Softmax()(logits), value)  # a tuple of outputs


def tuple_heads(inputs, num_actions, num_hidden):
    hidden = keras.layers.Dense(num_hidden, activation=keras.activations.relu)(inputs)
    value = keras.layers.Dense(1, activation=None, name="v")(hidden)
    return (keras.layers.Dense(num_actions, activation="softmax")(hidden), value)


def test_network_written_differently_passes():
    cartpole.check_agent_network(functional(tuple_heads))


def test_network_the_numpy_copy_cannot_read_is_rejected_saying_why():
    # Right as a Keras model, but the chapter's numpy_policy reads the model's
    # layers one by one: it crashed on a nested Sequential.
    mistake_of(cartpole.check_agent_network, functional(sequential_trunk),
               "network/uncopyable-layer", "NumPy copy", "no nested Sequential")


def relu_layer(inputs, num_actions, num_hidden):
    hidden = keras.layers.ReLU()(keras.layers.Dense(num_hidden)(inputs))
    return [
        keras.layers.Dense(num_actions, activation="softmax")(hidden),
        keras.layers.Dense(1)(hidden),
    ]


@pytest.mark.parametrize("heads", [separate_activations, relu_layer])
def test_network_with_activation_layers_passes(heads):
    # Issue 23, item 8: Dense(n) then ReLU() / Activation("relu") is the same
    # network as Dense(n, activation="relu"); it was rejected, saying the NumPy
    # copy could not read it.
    cartpole.check_agent_network(functional(heads))


def test_network_subclass_model_is_rejected_saying_why():
    # Issue 13: it passed the check, then make_update_step crashed on model.inputs.
    message = mistake_of(
        cartpole.check_agent_network,
        lambda n_in, n_act, n_hid: SubclassAgent(n_act, n_hid),
        "network/no-inputs",
        "model.inputs[0].shape[-1]",
        "subclass",
        "functional API",
        fix=("keras.Input(shape=(num_inputs,))",),
    )
    assert "AttributeError" in message


def test_network_without_softmax_fails():
    mistake_of(cartpole.check_agent_network, network(actor_activation=None),
               "network/no-softmax", "softmax")


def test_network_with_sigmoid_actor_fails():
    mistake_of(cartpole.check_agent_network, network(actor_activation="sigmoid"),
               "network/no-softmax", "softmax")


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_network_with_squashed_critic_fails(activation):
    mistake_of(
        cartpole.check_agent_network,
        network(critic_activation=activation),
        "network/squashed-critic",
        "critic",
        "linear",
    )


def test_linear_critic_with_positive_values_passes_and_is_left_as_built():
    # A right network whose critic happens to output only positive values (all its
    # weights positive, as random initialisation sometimes nearly gives) is right.
    built = []

    def build_agent(num_inputs, num_actions, num_hidden):
        model = network()(num_inputs, num_actions, num_hidden)
        critic = model.layers[-1]
        critic.kernel.assign(tf.abs(critic.kernel))
        critic.bias.assign([0.5])
        built.append((model, [w.copy() for w in model.get_weights()]))
        return model

    cartpole.check_agent_network(build_agent)
    for model, weights in built:
        for now, before in zip(model.get_weights(), weights, strict=True):
            np.testing.assert_array_equal(now, before)


def test_network_with_one_output_fails():
    mistake_of(cartpole.check_agent_network, network(outputs="actor"),
               "network/not-two-outputs", "two outputs")


def test_network_without_hidden_activation_fails_saying_why():
    # Mutation testing's catalogue: a linear hidden layer passed the check before.
    def linear_hidden(inputs, num_actions, num_hidden):
        hidden = keras.layers.Dense(num_hidden)(inputs)
        return [
            keras.layers.Dense(num_actions, activation="softmax")(hidden),
            keras.layers.Dense(1)(hidden),
        ]

    mistake_of(cartpole.check_agent_network, functional(linear_hidden),
               "network/linear-hidden", "linear functions of the state",
               "non-linear activation", fix=('activation="relu"',))


def test_network_activation_the_heads_skip_is_not_called_missing():
    # Issue 23, item 8: the layer list shows a ReLU, applied to a tensor the heads
    # do not read; the message says what the outputs show, not "no activation".
    def relu_unused(inputs, num_actions, num_hidden):
        hidden = keras.layers.Dense(num_hidden)(inputs)
        keras.layers.ReLU()(hidden)
        return [
            keras.layers.Dense(num_actions, activation="softmax")(hidden),
            keras.layers.Dense(1)(hidden),
        ]

    message = mistake_of(cartpole.check_agent_network, functional(relu_unused),
                         "network/linear-hidden", "between the inputs and the heads")
    assert "no activation" not in message


def test_network_ignoring_num_hidden_fails():
    mistake_of(cartpole.check_agent_network, network(fixed_hidden=128),
               "network/weight-count", "num_hidden")


def test_network_without_shared_layer_fails():
    mistake_of(cartpole.check_agent_network, network(shared=False),
               "network/weight-count", "same hidden layer")


def test_network_critic_cut_off_from_the_shared_layer_fails():
    # Same weights as the right network, but the critic's gradient never reaches
    # the hidden layer: the heads share nothing they learn.
    def detached(inputs, num_actions, num_hidden):
        hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
        frozen = keras.layers.Lambda(keras.ops.stop_gradient)(hidden)
        return [
            keras.layers.Dense(num_actions, activation="softmax")(hidden),
            keras.layers.Dense(1)(frozen),
        ]

    mistake_of(cartpole.check_agent_network, functional(detached),
               "network/no-shared-layer", "share no layer")


def test_network_head_shapes_fail():
    def wide_critic(inputs, num_actions, num_hidden):
        hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
        return [keras.layers.Dense(num_actions, activation="softmax")(hidden),
                keras.layers.Dense(2)(hidden)]

    def one_action(inputs, num_actions, num_hidden):
        hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
        return [keras.layers.Dense(1, activation="softmax")(hidden),
                keras.layers.Dense(1)(hidden)]

    mistake_of(cartpole.check_agent_network, functional(wide_critic),
               "network/critic-shape", "value (the critic's output)", "(7, 1)")
    mistake_of(cartpole.check_agent_network, functional(one_action),
               "network/actor-shape", "action_probs", "(7, 2)")


def test_network_with_dropout_fails_where_training_differs():
    # Dropout is active in the training loop's call (training=True): the update
    # would score the actions with another policy than the one that played.
    def dropout(inputs, num_actions, num_hidden):
        hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
        hidden = keras.layers.Dropout(0.5)(hidden)
        return [keras.layers.Dense(num_actions, activation="softmax")(hidden),
                keras.layers.Dense(1)(hidden)]

    mistake_of(cartpole.check_agent_network, functional(dropout),
               "network/graph-differs", "tf.function", "Dropout")


class DriftingDense(keras.layers.Dense):
    """A head whose call moves its own bias: the model changes when called."""

    def call(self, inputs):
        self.bias.assign_add(tf.fill(tf.shape(self.bias), 0.01))
        return super().call(inputs)


def test_network_that_changes_when_called_fails():
    def drifting(inputs, num_actions, num_hidden):
        hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
        return [DriftingDense(num_actions, activation="softmax")(hidden),
                keras.layers.Dense(1)(hidden)]

    mistake_of(cartpole.check_agent_network, functional(drifting),
               "network/changes-when-called", "weights changed")


def test_network_rejecting_its_batch_names_the_input_shape():
    def wrong_input(num_inputs, num_actions, num_hidden):
        return network()(num_inputs + 1, num_actions, num_hidden)

    mistake_of(cartpole.check_agent_network, wrong_input, "network/call-fails",
               "calling the model on a batch of states of shape (7, 4)")


def test_network_with_scalar_input_shape_fails():
    def build_agent(num_inputs, num_actions, num_hidden):
        inputs = keras.Input(shape=num_inputs)  # the original's bug: not a tuple
        hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
        return keras.Model(
            inputs,
            [
                keras.layers.Dense(num_actions, activation="softmax")(hidden),
                keras.layers.Dense(1)(hidden),
            ],
        )

    fails(cartpole.check_agent_network, build_agent, "Exercise 1")


def test_network_none_and_not_done():
    mistake_of(cartpole.check_agent_network, lambda a, b, c: None,
               "network/returned-none", "None")
    mistake_of(cartpole.check_agent_network, lambda a, b, c: 3,
               "network/not-a-model", "int 3", "keras.Model")

    def todo(a, b, c):
        raise NotImplementedError("Exercise 1")

    mistake_of(cartpole.check_agent_network, todo, NOT_DONE, "not done yet")
    fails(cartpole.check_agent_network, None, "expected a function")


def forged(check, answer, key, record):
    """The right answer's data with one record replaced (or removed if None)."""
    data = payload_of(check, answer)
    if record is None:
        del data["records"][key]
    else:
        data["records"][key] = record
    return data


def integer(value):
    return {"kind": "array", "dtype": "int64", "shape": [], "data": [value]}


def test_network_judge_names_training_loop_mistakes_from_data():
    # Reached by real models only in contrived ways; the judge still names them.
    error = {"kind": "error", "message": "calling the model inside tf.function "
               "raised ValueError: no", "mistake": None}
    cases = [
        ("net0/input-width", integer(5), "network/input-width"),
        ("net0/input-width", {"kind": "none"}, "network/input-width"),
        ("net0/graph", error, "network/fails-in-graph"),
    ]
    for key, record, mistake in cases:
        failure = never_passes(cartpole.NETWORK,
                               forged(cartpole.NETWORK, RIGHT_NETWORK, key, record))
        assert isinstance(failure, CheckFailed) and failure.mistake == mistake


def test_network_judge_requires_one_critic_bias():
    data = payload_of(cartpole.NETWORK, RIGHT_NETWORK)
    shapes = data["records"]["net0/weight-shapes"]["items"]
    bias = next(i for i, shape in enumerate(shapes) if shape["data"] == [1])
    # The same count of weights, but no (1,) bias: the linearity test cannot run.
    shapes[bias] = {"kind": "array", "dtype": "int64", "shape": [2], "data": [1, 1]}
    failure = never_passes(cartpole.NETWORK, data)
    assert failure.mistake == "network/critic-head"


def test_network_probe_data_stays_small_for_a_big_network():
    # Weights travel as fingerprints: a network that ignores num_hidden and is
    # large still gets its message, not "the check's data is too large".
    big = network(fixed_hidden=4096)
    assert len(probe_text(cartpole.NETWORK, big)) < 50_000
    mistake_of(cartpole.check_agent_network, big, "network/weight-count")


def test_network_forged_data_never_passes():
    assert assert_forgeries_fail(cartpole.NETWORK, RIGHT_NETWORK) > 100


@pytest.mark.parametrize("answer", [RIGHT_NETWORK, network(critic_activation="relu"),
                                    lambda a, b, c: SubclassAgent(b, c),
                                    lambda a, b, c: None])
def test_network_probe_data_round_trips(answer):
    assert_round_trip(cartpole.NETWORK, answer)


# --------------------------------------------------------------------------------------
# Exercise 2: discounted returns
# --------------------------------------------------------------------------------------
def returns_loop(rewards, gamma, bootstrap=0.0):
    returns = np.zeros(len(rewards))
    running = bootstrap
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def returns_tf_style(rewards, gamma, bootstrap=0.0):
    out = []
    g = float(bootstrap)
    for r in np.asarray(rewards, dtype=np.float32)[::-1]:
        g = r + gamma * g
        out.insert(0, g)
    return tf.constant(out)


def returns_python_floats(rewards, gamma, bootstrap=0.0):
    # A list of Python floats, built backwards and reversed at the end.
    g, out = float(bootstrap), []
    for r in reversed(list(rewards)):
        g = float(r) + gamma * g
        out.append(g)
    out.reverse()
    return out


def returns_cumsum(rewards, gamma, bootstrap=0.0):
    # G_t = gamma^-t * sum_{k>=t} gamma^k r_k: a cumulative sum of the reversed,
    # discounted rewards. Dividing by gamma^t needs gamma > 0.
    r = np.asarray(rewards, dtype=np.float64)
    if gamma == 0:
        return r.copy()
    powers = gamma ** np.arange(len(r))
    tail = np.cumsum((powers * r)[::-1])[::-1] / powers
    return tail + gamma ** (len(r) - np.arange(len(r))) * bootstrap


def returns_matrix(rewards, gamma, bootstrap=0.0):
    # An upper-triangular matrix of powers of gamma times the rewards.
    r = np.asarray(rewards, dtype=np.float64)
    T = len(r)
    ahead = np.arange(T)[None, :] - np.arange(T)[:, None]
    with np.errstate(divide="ignore"):
        weights = np.triu(np.float_power(gamma, ahead))
    return weights @ r + np.float_power(gamma, T - np.arange(T)) * bootstrap


def test_returns_reference_passes(capsys):
    cartpole.check_discounted_returns(returns_loop)
    assert "✔ discounted returns" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer", [returns_tf_style, returns_python_floats, returns_cumsum, returns_matrix]
)
def test_returns_written_differently_passes(answer):
    cartpole.check_discounted_returns(answer)


def test_returns_without_discount_fails():
    mistake_of(
        cartpole.check_discounted_returns,
        lambda rewards, gamma, bootstrap=0.0: returns_loop(rewards, 1.0, bootstrap),
        "returns/no-discount",
        "gamma is not used",
    )


def test_returns_discounted_forward_fails():
    def forward(rewards, gamma, bootstrap=0.0):
        out, g = [], 0.0
        for r in rewards:
            g = r + gamma * g
            out.append(g)
        return np.array(out)

    mistake_of(cartpole.check_discounted_returns, forward, "returns/looking-back",
               "from the start of the episode")


def test_returns_left_reversed_fails():
    def backwards_not_flipped(rewards, gamma, bootstrap=0.0):
        out, g = [], bootstrap
        for r in rewards[::-1]:
            g = r + gamma * g
            out.append(g)
        return np.array(out)

    mistake_of(cartpole.check_discounted_returns, backwards_not_flipped,
               "returns/reversed", "reverse")


def test_returns_ignoring_bootstrap_fails():
    mistake_of(
        cartpole.check_discounted_returns,
        lambda rewards, gamma, bootstrap=0.0: returns_loop(rewards, gamma),
        "returns/bootstrap-ignored",
        "bootstrap value is ignored",
    )


def test_returns_undiscounted_bootstrap_fails():
    mistake_of(
        cartpole.check_discounted_returns,
        lambda rewards, gamma, bootstrap=0.0: returns_loop(rewards, gamma) + bootstrap,
        "returns/bootstrap-undiscounted",
        "gamma^(T-t)",
    )


def test_returns_bootstrap_added_to_the_last_reward_undiscounted_fails():
    # Mutation testing's catalogue: G_(T-1) = r_(T-1) + bootstrap, no gamma.
    def last_reward_plus_bootstrap(rewards, gamma, bootstrap=0.0):
        returns = returns_loop(rewards, gamma, 0.0)
        return returns + bootstrap * gamma ** np.arange(len(rewards))[::-1]

    mistake_of(
        cartpole.check_discounted_returns, last_reward_plus_bootstrap,
        "returns/bootstrap-on-last-reward", "r_(T-1) + gamma * bootstrap",
    )


def test_returns_normalised_fails():
    def normalised(rewards, gamma, bootstrap=0.0):
        g = returns_loop(rewards, gamma, bootstrap)
        return (g - g.mean()) / (g.std() + 1e-8)

    mistake_of(cartpole.check_discounted_returns, normalised, "returns/normalised",
               "Exercise 3")


def test_returns_integer_result_fails():
    # Issue 13: np.zeros_like of integer rewards makes integer returns ([2 1 1]).
    def zeros_like(rewards, gamma, bootstrap=0.0):
        returns = np.zeros_like(np.asarray(rewards))
        running = bootstrap
        for t in reversed(range(len(rewards))):
            running = rewards[t] + gamma * running
            returns[t] = running
        return returns

    mistake_of(cartpole.check_discounted_returns, zeros_like, "returns/integer-dtype",
               "rewards=[1, 1, 1]", "integers", "float dtype")


def test_returns_wrong_shape_and_types_fail():
    fails(
        cartpole.check_discounted_returns,
        lambda rewards, gamma, bootstrap=0.0: returns_loop(rewards, gamma)[:, None],
        "shape",
    )
    fails(cartpole.check_discounted_returns, lambda r, g, bootstrap=0.0: None, "None")
    fails(
        cartpole.check_discounted_returns,
        lambda r, g, bootstrap=0.0: 1 / 0,
        "ZeroDivisionError",
    )
    fails(cartpole.check_discounted_returns, lambda rewards: rewards, "TypeError")


def test_returns_changing_rewards_in_place_is_reported_by_name():
    # Issue 13: reversing the caller's rewards in place (values returned right)
    # passed, because the check looked at its own copy.
    def reverses_in_place(rewards, gamma, bootstrap=0.0):
        rewards.reverse() if isinstance(rewards, list) else None
        if isinstance(rewards, np.ndarray):
            rewards[:] = rewards[::-1].copy()
        out, g = [], bootstrap
        for r in rewards:
            g = r + gamma * g
            out.append(g)
        return np.array(out[::-1], dtype=float)

    def overwrites_after(rewards, gamma, bootstrap=0.0):
        result = returns_loop(rewards, gamma, bootstrap)
        rewards[0] = 1e9
        return result

    for answer in (reverses_in_place, overwrites_after):
        mistake_of(cartpole.check_discounted_returns, answer, "returns/changes-input",
                 "changed the caller's `rewards` in place", "work on a copy")


def test_returns_truth_value_of_rewards_gets_a_hint():
    # `if not rewards:` works on a list, not on an array of rewards.
    def empty_test(rewards, gamma, bootstrap=0.0):
        if not rewards:
            return np.zeros(0)
        return returns_loop(rewards, gamma, bootstrap)

    mistake_of(cartpole.check_discounted_returns, empty_test, "array/truth-value",
               "ValueError", "if not rewards", "len(x) == 0")


def test_returns_forged_data_never_passes():
    assert assert_forgeries_fail(cartpole.RETURNS, returns_loop) > 100


@pytest.mark.parametrize("answer", [returns_loop, returns_python_floats,
                                    lambda r, g, bootstrap=0.0: None])
def test_returns_probe_data_round_trips(answer):
    assert_round_trip(cartpole.RETURNS, answer)


# --------------------------------------------------------------------------------------
# Exercise 3: normalisation
# --------------------------------------------------------------------------------------
def normalise_reference(x):
    return (x - np.mean(x)) / (np.std(x) + 1e-8)


def test_normalise_reference_passes(capsys):
    cartpole.check_normalise(normalise_reference)
    assert "✔ normalise" in capsys.readouterr().out


def test_normalise_written_differently_passes():
    def with_tf(values):
        x = tf.constant(values, tf.float32)
        return (x - tf.reduce_mean(x)) / (tf.math.reduce_std(x) + 1e-7)

    cartpole.check_normalise(with_tf)
    cartpole.check_normalise(
        lambda x: (
            (x - x.mean()) / max(float(np.std(x, ddof=1 if len(x) > 1 else 0)), 1e-8)
        )
    )

    def in_a_copy(values):
        x = np.array(values, dtype=np.float64)  # a copy: changing it is fine
        x -= x.mean()
        x /= x.std() + 1e-8
        return x

    cartpole.check_normalise(in_a_copy)


def test_normalise_missing_fails():
    mistake_of(cartpole.check_normalise, lambda x: x.copy(), "normalise/unchanged",
               "unchanged")


def test_normalise_only_centred_fails():
    mistake_of(cartpole.check_normalise, lambda x: x - x.mean(),
               "normalise/only-centred", "centred")


def test_normalise_only_scaled_fails():
    mistake_of(cartpole.check_normalise, lambda x: x / (x.std() + 1e-8),
               "normalise/only-scaled", "first subtract their mean")


def test_normalise_by_variance_fails():
    mistake_of(
        cartpole.check_normalise,
        lambda x: (x - x.mean()) / (x.var() + 1e-8),
        "normalise/variance",
        "variance",
    )


def test_normalise_nan_on_constant_fails():
    def no_eps(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            return (x - x.mean()) / x.std()

    # NaN on one value AND on equal values is a missing epsilon, not ddof=1
    # (mutation testing's catalogue found the ddof hint given for it).
    message = mistake_of(cartpole.check_normalise, no_eps, "normalise/zero-std",
                       "0 / 0", "1e-8")
    assert "ddof" not in message


def test_normalise_sample_std_on_one_value_explains_the_nan():
    def ddof1(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            return (x - x.mean()) / (x.std(ddof=1) + 1e-8)

    mistake_of(cartpole.check_normalise, ddof1, "normalise/ddof1-single-value",
               "n - 1 = 0", "ddof=0")


def test_normalise_changing_values_in_place_is_reported_by_name():
    def in_place(values):
        values -= values.mean()
        values /= values.std() + 1e-8
        return values

    mistake_of(cartpole.check_normalise, in_place, "normalise/changes-input",
               "changed the caller's `values` in place", "new array")


def test_normalise_forged_data_never_passes():
    assert assert_forgeries_fail(cartpole.NORMALISE, normalise_reference) > 50


@pytest.mark.parametrize("answer", [normalise_reference, lambda x: x,
                                    lambda x: [1, "a"]])
def test_normalise_probe_data_round_trips(answer):
    assert_round_trip(cartpole.NORMALISE, answer)


# --------------------------------------------------------------------------------------
# Exercise 4: the actor-critic loss
# --------------------------------------------------------------------------------------
HUBER = keras.losses.Huber()


def loss_reference(action_probs, values, actions, returns):
    idx = tf.stack([tf.range(tf.shape(actions)[0]), tf.cast(actions, tf.int32)], 1)
    log_prob = tf.math.log(tf.gather_nd(action_probs, idx))
    advantage = tf.stop_gradient(returns - values)
    return -tf.reduce_mean(log_prob * advantage), HUBER(returns, values)


def loss_one_hot(action_probs, values, actions, returns):
    # Written differently: one-hot mask, explicit Huber formula with tf.where.
    mask = tf.one_hot(actions, tf.shape(action_probs)[1])
    log_prob = tf.reduce_sum(mask * tf.math.log(action_probs + 1e-12), axis=1)
    advantage = returns - tf.stop_gradient(values)
    error = tf.abs(returns - values)
    huber = tf.where(error <= 1.0, 0.5 * error**2, error - 0.5)
    return tf.reduce_mean(-log_prob * advantage), tf.reduce_mean(huber)


def loss_crossentropy(action_probs, values, actions, returns):
    advantage = tf.stop_gradient(returns - values)
    scce = keras.losses.SparseCategoricalCrossentropy()
    return scce(actions, action_probs, sample_weight=advantage), HUBER(values, returns)


def loss_keras_ops(action_probs, values, actions, returns):
    # keras.ops and the functional Huber with an explicit delta; a list, not a tuple.
    taken = keras.ops.take_along_axis(action_probs, actions[:, None], axis=1)[:, 0]
    advantage = keras.ops.stop_gradient(returns - values)
    actor = keras.ops.mean(-keras.ops.log(taken) * advantage)
    critic = keras.ops.mean(keras.losses.huber(returns[:, None], values[:, None],
                                               delta=1.0))
    return [actor, critic]


def variant(actor=None, critic=None):
    def loss(action_probs, values, actions, returns):
        a, c = loss_reference(action_probs, values, actions, returns)
        if actor is not None:
            a = actor(action_probs, values, actions, returns)
        if critic is not None:
            c = critic(returns, values)
        return a, c

    return loss


def taken_log_prob(action_probs, actions):
    return tf.math.log(tf.gather(action_probs, actions, batch_dims=1))


def test_loss_reference_passes(capsys):
    cartpole.check_actor_critic_loss(loss_reference)
    out = capsys.readouterr().out
    assert "✔ actor-critic loss" in out and "tf.function" in out


@pytest.mark.parametrize(
    "answer", [loss_one_hot, loss_crossentropy, loss_keras_ops]
)
def test_loss_written_differently_passes(answer):
    cartpole.check_actor_critic_loss(answer)


def test_loss_sign_flipped_fails():
    def flipped(p, v, a, g):
        return tf.reduce_mean(taken_log_prob(p, a) * tf.stop_gradient(g - v))

    mistake_of(cartpole.check_actor_critic_loss, variant(actor=flipped),
               "loss/actor-sign-flipped", "sign is flipped")


def test_loss_not_detached_fails():
    def attached(p, v, a, g):
        return -tf.reduce_mean(taken_log_prob(p, a) * (g - v))

    mistake_of(cartpole.check_actor_critic_loss, variant(actor=attached),
               "loss/advantage-not-detached", "stop the gradient",
               fix=("tf.stop_gradient(returns - values)",))


def test_loss_without_baseline_fails():
    def returns_only(p, v, a, g):
        return -tf.reduce_mean(taken_log_prob(p, a) * g)

    mistake_of(cartpole.check_actor_critic_loss, variant(actor=returns_only),
               "loss/return-not-advantage", "advantage")


def test_loss_summed_fails():
    def summed(p, v, a, g):
        return -tf.reduce_sum(taken_log_prob(p, a) * tf.stop_gradient(g - v))

    mistake_of(cartpole.check_actor_critic_loss, variant(actor=summed),
               "loss/actor-summed", "mean")


def test_loss_probability_not_log_fails():
    def no_log(p, v, a, g):
        taken = tf.gather(p, a, batch_dims=1)
        return -tf.reduce_mean(taken * tf.stop_gradient(g - v))

    mistake_of(cartpole.check_actor_critic_loss, variant(actor=no_log),
               "loss/prob-not-log-prob", "LOG")


def test_loss_wrong_action_fails():
    def first_action(p, v, a, g):
        return -tf.reduce_mean(tf.math.log(p[:, 0]) * tf.stop_gradient(g - v))

    mistake_of(cartpole.check_actor_critic_loss, variant(actor=first_action),
               "loss/first-action", "taken")


def test_loss_mse_fails():
    mse = keras.losses.MeanSquaredError()
    mistake_of(
        cartpole.check_actor_critic_loss,
        variant(critic=lambda g, v: mse(g, v)),
        "loss/critic-mse",
        "mean squared error",
        "Huber",
    )


def test_loss_half_squared_error_fails():
    mistake_of(
        cartpole.check_actor_critic_loss,
        variant(critic=lambda g, v: tf.reduce_mean(0.5 * (g - v) ** 2)),
        "loss/critic-half-squared",
        "half the squared error",
    )


def test_loss_absolute_error_fails():
    mistake_of(
        cartpole.check_actor_critic_loss,
        variant(critic=lambda g, v: tf.reduce_mean(tf.abs(g - v))),
        "loss/critic-absolute",
        "absolute error",
    )


def test_loss_critic_summed_fails():
    def huber_sum(g, v):  # one Huber loss per step, then a sum
        return tf.reduce_sum(keras.losses.huber(g[:, None], v[:, None]))

    mistake_of(
        cartpole.check_actor_critic_loss,
        variant(critic=huber_sum),
        "loss/critic-summed",
        "summed",
    )


def test_loss_critic_without_gradient_fails():
    # Right value, but computed from a constant copy: the critic would never learn.
    mistake_of(
        cartpole.check_actor_critic_loss,
        variant(critic=lambda g, v: HUBER(g, tf.stop_gradient(v))),
        "loss/critic-gradient",
        "gradient of critic_loss",
    )


def test_loss_numpy_result_fails():
    def numpy_losses(p, v, a, g):
        actor, critic = loss_reference(p, v, a, g)
        return float(actor), float(critic)

    mistake_of(cartpole.check_actor_critic_loss, numpy_losses, "loss/not-tensors",
               "TensorFlow", "got float and float")


def test_loss_bad_results_fail():
    mistake_of(cartpole.check_actor_critic_loss, lambda p, v, a, g: None,
               "loss/returned-none", "None")
    mistake_of(
        cartpole.check_actor_critic_loss,
        lambda p, v, a, g: loss_reference(p, v, a, g)[0],
        "loss/not-a-pair",
        "(actor_loss, critic_loss)",
    )
    mistake_of(
        cartpole.check_actor_critic_loss,
        lambda p, v, a, g: (p, v),
        "loss/not-scalars",
        "actor_loss (a scalar)",
    )


def test_loss_broadcasting_bug_fails():
    def broadcast(p, v, a, g):
        v = v[:, None]  # (T, 1) - (T,) broadcasts to (T, T)
        advantage = tf.stop_gradient(g - v)
        actor = -tf.reduce_mean(taken_log_prob(p, a) * advantage)
        return actor, HUBER(g, v)

    mistake_of(cartpole.check_actor_critic_loss, broadcast, "loss/broadcast",
               "actor_loss", "(T, T)")


def test_loss_numpy_inside_tf_function_names_the_operation():
    # Issue 13: .numpy() passes eagerly and breaks in the compiled update step.
    def numpy_advantage(p, v, a, g):
        advantage = (g - v).numpy()
        actor = -tf.reduce_mean(taken_log_prob(p, a) * advantage)
        return actor, HUBER(g, v)

    message = mistake_of(cartpole.check_actor_critic_loss, numpy_advantage,
                       "tf/numpy-in-graph", ".numpy()", "inside tf.function",
                       "advantage = (g - v).numpy()")
    assert "not done yet" not in message

    def numpy_mean(p, v, a, g):
        advantage = tf.stop_gradient(g - v)
        actor = -np.mean(taken_log_prob(p, a) * advantage)
        return actor, HUBER(g, v)

    mistake_of(cartpole.check_actor_critic_loss, numpy_mean, "tf/numpy-in-graph",
               "np.mean", "tf.reduce_mean")


def test_loss_static_length_fails_inside_tf_function():
    # x.shape[0] is None in the training loop's compiled step (any episode length).
    def static_length(p, v, a, g):
        rows = tf.range(p.shape[0])
        taken = tf.gather_nd(p, tf.stack([rows, a], axis=1))
        actor = -tf.reduce_mean(tf.math.log(taken) * tf.stop_gradient(g - v))
        return actor, HUBER(g, v)

    mistake_of(cartpole.check_actor_critic_loss, static_length, "loss/fails-in-graph",
               "inside tf.function", "tf.shape(x)[0]")


def test_loss_if_on_a_tensor_gets_a_hint():
    def branching(p, v, a, g):
        advantage = tf.stop_gradient(g - v)
        if advantage > 0:  # one comparison per step: not one True/False
            advantage = advantage * 1.0
        return -tf.reduce_mean(taken_log_prob(p, a) * advantage), HUBER(g, v)

    mistake_of(cartpole.check_actor_critic_loss, branching, "array/truth-value",
               "ONE True or False", "tf.where")


def test_loss_forged_data_never_passes():
    assert assert_forgeries_fail(cartpole.LOSS, loss_reference) > 100


@pytest.mark.parametrize("answer", [loss_reference, variant(
    critic=lambda g, v: tf.reduce_mean(tf.abs(g - v))), lambda p, v, a, g: None])
def test_loss_probe_data_round_trips(answer):
    assert_round_trip(cartpole.LOSS, answer)


def test_loss_pair_returned_the_other_way_round_is_named():
    # Mutation testing's catalogue: (critic_loss, actor_loss) got "actor_loss is
    # not right" (it is the critic's value).
    def swapped(action_probs, values, actions, returns):
        actor_loss, critic_loss = loss_reference(action_probs, values, actions, returns)
        return critic_loss, actor_loss

    mistake_of(cartpole.check_actor_critic_loss, swapped, "loss/swapped-pair",
               "the pair is swapped", "(actor_loss, critic_loss)")


def test_every_recognised_mistake_has_a_well_formed_id():
    import re

    ids = [m.id for m in cartpole._returns_mistakes([1.0, 2.0], 0.9, 1.0)]
    ids += [m.id for m in cartpole._normalise_mistakes(np.array([1.0, 2.0]))]
    case = cartpole._loss_cases()[0]
    ids += [m.id for m in cartpole._actor_mistakes(case)]
    ids += [m.id for m in cartpole._critic_mistakes(case)]
    assert len(ids) == len(set(ids))
    for mistake in ids:
        assert re.fullmatch(r"(returns|normalise|loss)/[a-z0-9]+(-[a-z0-9]+)*",
                            mistake), mistake


# --------------------------------------------------------------------------------------
# Exercise 5: which network learns fastest (an experiment over seeds)
# --------------------------------------------------------------------------------------
def agent(*hidden, activation="relu"):
    """A builder(num_inputs, num_actions) with the given hidden layer sizes."""

    def build(num_inputs, num_actions):
        inputs = keras.Input(shape=(num_inputs,))
        x = inputs
        for units in hidden:
            x = keras.layers.Dense(units, activation=activation)(x)
        probs = keras.layers.Dense(num_actions, activation="softmax")(x)
        return keras.Model(inputs, [probs, keras.layers.Dense(1)(x)])

    return build


def run_solved_at(seed, solved_at, cap=600):
    """A run as train() returns it: solved after `solved_at` episodes (None: never).

    95 episodes at 500 after episodes at 10 make the mean of the last 100 first
    reach 475 (475.5) on the last episode; 94 would make 470.6.
    """
    if solved_at is None:
        rewards = [10.0] * cap
    else:
        rewards = [10.0] * (solved_at - 95) + [500.0] * 95
    return {"seed": seed, "rewards": rewards, "episodes": len(rewards),
            "solved": solved_at is not None, "solved_at": solved_at,
            "env_steps": int(sum(rewards)), "seconds": 1.0}


CRAMPED = "cramped (8 units)"


def experiment_of(**solved_ats):
    """Networks and runs: name=(solved_at per seed 0, 1, 2); the cramped first."""
    builders = {CRAMPED: agent(8), "wide": agent(128), "deep": agent(32, 32),
                "tanh": agent(16, activation="tanh"),
                "linear": agent(16, activation=None),
                "stacked linear": agent(32, 32, activation="linear")}
    networks = {name: builders[name.replace("_", " ")] for name in solved_ats}
    networks = {name.replace("_", " "): build for name, build in networks.items()}
    experiment = {
        name.replace("_", " "): [run_solved_at(s, at) for s, at in enumerate(ats)]
        for name, ats in solved_ats.items()
    }
    return networks, experiment


def choice(networks, experiment, pick, baseline=CRAMPED):
    return lambda _: cartpole.check_network_choice(
        networks, experiment, pick, baseline=baseline
    )


# 'wide' wins clearly: its slowest seed (255) beats every other network's median.
STANDARD = {"cramped": (300, 350, 400), "wide": (200, 250, 255),
            "deep": (260, 270, None)}


def standard():
    return experiment_of(**{CRAMPED if k == "cramped" else k: v
                            for k, v in STANDARD.items()})


def test_choice_of_the_best_network_passes(capsys):
    networks, experiment = standard()
    cartpole.check_network_choice(networks, experiment, "wide", baseline=CRAMPED)
    out = capsys.readouterr().out
    assert out.startswith("✔ network choice: 'wide' won clearly")
    assert "median 250, slowest seed 255" in out and "median 350" in out


def test_choice_written_differently_passes(capsys):
    """A tanh network and a tuple of runs are as good as ReLU and a list."""
    networks, experiment = experiment_of(**{CRAMPED: (300, 350, 400),
                                            "tanh": (200, 210, 220),
                                            "wide": (230, 240, 250)})
    experiment["tanh"] = tuple(experiment["tanh"])
    cartpole.check_network_choice(networks, experiment, "tanh", baseline=CRAMPED)
    assert "'tanh'" in capsys.readouterr().out


def test_choice_not_the_best_fails_with_the_data():
    networks, experiment = standard()
    message = fails(choice(networks, experiment, "deep"), None,
                    "not the network that needed the fewest", "'wide'",
                    "seed 2: not solved")
    assert "'deep': median 270" in message


def test_choice_on_a_gap_the_seeds_do_not_support_fails():
    """The smallest median, but a seed as slow as the runner-up's median: MY_PICK =
    None is the conclusion the data supports (the solution's own data, recorded)."""
    networks, experiment = experiment_of(**{CRAMPED: (456, 318, 281),
                                            "wide": (228, 276, 148),
                                            "deep": (282, 218, 244)})
    mistake_of(choice(networks, experiment, "wide"), None, "choice/unsupported-gap",
               "smallest median (228)", "slowest seed needed 276",
               "'deep' (median 244)", "state it in MY_PICK", fix=["MY_PICK = None"])
    cartpole.check_network_choice(networks, experiment, None, baseline=CRAMPED)


def test_choice_none_passes_only_without_a_clear_win(capsys):
    networks, experiment = experiment_of(**{CRAMPED: (300, 350, 400),
                                            "wide": (200, 250, 500),
                                            "deep": (250, 240, 900)})
    cartpole.check_network_choice(networks, experiment, None, baseline=CRAMPED)
    assert "no network won clearly" in capsys.readouterr().out
    networks, experiment = standard()
    mistake_of(choice(networks, experiment, None), None, "choice/missed-clear-win",
               "'wide' won clearly", "255", fix=["MY_PICK = 'wide'"])


def test_choice_ties_are_no_clear_win():
    networks, experiment = experiment_of(**{CRAMPED: (300, 350, 400),
                                            "wide": (200, 250, 500),
                                            "deep": (250, 240, 900)})
    mistake_of(choice(networks, experiment, "deep"), None, "choice/unsupported-gap")


def test_choice_a_clear_win_must_beat_the_cramped_median_too():
    """Ahead of the runner-up, but a seed slower than the cramped median: no clear
    win; an unsolved seed never wins clearly."""
    networks, experiment = experiment_of(**{CRAMPED: (300, 310, 320),
                                            "wide": (100, 110, 315),
                                            "deep": (400, 420, 440)})
    mistake_of(choice(networks, experiment, "wide"), None, "choice/unsupported-gap",
               "'cramped (8 units)' (median 310)")
    networks, experiment = experiment_of(**{CRAMPED: (300, 310, 320),
                                            "wide": (100, 110, None),
                                            "deep": (400, 420, 440)})
    mistake_of(choice(networks, experiment, "wide"), None, "choice/unsupported-gap",
               "not solved")


def test_choice_no_better_than_cramped_fails():
    networks, experiment = experiment_of(**{CRAMPED: (200, 210, 220),
                                            "wide": (300, 250, 500),
                                            "deep": (None, 240, None)})
    with pytest.raises(CheckFailed, match="not fewer") as info:
        cartpole.check_network_choice(networks, experiment, "wide", baseline=CRAMPED)
    assert info.value.mistake == "choice/not-better-than-cramped"
    assert info.value.fix == "MY_PICK = None"
    cartpole.check_network_choice(networks, experiment, None, baseline=CRAMPED)
    with pytest.raises(CheckFailed, match="the cramped network itself"):
        cartpole.check_network_choice(networks, experiment, CRAMPED,
                                      baseline=CRAMPED)


def test_choice_unsolved_everywhere_is_not_better():
    networks, experiment = experiment_of(**{CRAMPED: (None, None, 300),
                                            "wide": (None, 250, None),
                                            "deep": (None, None, None)})
    fails(choice(networks, experiment, "wide"), None, "not solved", "not fewer")


@pytest.mark.parametrize("linear", ["linear", "stacked linear"])
def test_choice_rejects_a_linear_network_for_that_reason(linear):
    """However good its runs, a network with no hidden non-linearity fails, and the
    message says why (not a median)."""
    networks, experiment = experiment_of(**{CRAMPED: (300, 350, 400),
                                            "wide": (250, 250, 250),
                                            linear.replace(" ", "_"): (100, 100, 100)})
    with pytest.raises(CheckFailed) as info:
        cartpole.check_network_choice(networks, experiment, linear, baseline=CRAMPED)
    assert info.value.mistake == "choice/linear-network"
    message = str(info.value)
    assert f"'{linear}'" in message and "no non-linearity" in message
    assert "Dense(32, linear) -> Dense(32, linear)" in message or linear == "linear"
    # Not the pick: still a network of the experiment, still rejected.
    with pytest.raises(CheckFailed, match="no non-linearity"):
        cartpole.check_network_choice(networks, experiment, "wide", baseline=CRAMPED)


def one_linear_layer(first_linear):
    """Two hidden Dense layers of 32, one of them without activation."""

    def build(num_inputs, num_actions):
        inputs = keras.Input(shape=(num_inputs,))
        first = None if first_linear else "relu"
        x = keras.layers.Dense(32, activation=first)(inputs)
        x = keras.layers.Dense(32, activation="relu" if first_linear else None)(x)
        probs = keras.layers.Dense(num_actions, activation="softmax")(x)
        return keras.Model(inputs, [probs, keras.layers.Dense(1)(x)])

    return build


def no_softmax(num_inputs, num_actions):
    inputs = keras.Input(shape=(num_inputs,))
    x = keras.layers.Dense(32, activation="relu")(inputs)
    scores = keras.layers.Dense(num_actions)(x)
    return keras.Model(inputs, [scores, keras.layers.Dense(1)(x)])


@pytest.mark.parametrize("first_linear", [True, False])
def test_choice_rejects_a_hidden_layer_left_linear(first_linear):
    """Mutation testing: one of two hidden layers without activation passed (the
    network as a whole is not linear); the lesson asks for an activation on each."""
    networks, experiment = standard()
    networks["deep"] = one_linear_layer(first_linear)
    mistake_of(choice(networks, experiment, "wide"), None, "choice/linear-layer",
               "'deep'", "2 Dense layers without an activation", "Dense(32, linear)")


def test_choice_rejects_an_actor_without_softmax():
    """Mutation testing: an actor head without softmax passed the affine test."""
    networks, experiment = standard()
    networks["deep"] = no_softmax
    mistake_of(choice(networks, experiment, "wide"), None, "choice/no-softmax",
               "'deep'", "not probabilities", "a softmax activation")


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("episodes", 999, "episodes=999"),
        ("solved", False, "solved="),
        ("solved_at", 120, "solved_at="),
        ("solved_at", None, "solved_at=None"),
        ("seed", "one", "does not say which seed"),
    ],
)
def test_choice_recomputes_every_run_from_its_rewards(field, value, fragment):
    networks, experiment = standard()
    experiment["wide"][1][field] = value
    message = fails(choice(networks, experiment, "wide"), None, fragment)
    if field != "seed":
        assert "'wide', seed 1" in message


def test_choice_rewards_must_be_cartpole_rewards():
    networks, experiment = standard()
    experiment["deep"][0]["rewards"] = [600.0] * 100
    fails(choice(networks, experiment, "wide"), None, "'deep', seed 0",
          "not CartPole-v1 episode rewards")
    experiment["deep"][0]["rewards"] = [10.5] * 100
    fails(choice(networks, experiment, "wide"), None, "whole numbers")
    experiment["deep"][0]["rewards"] = None
    fails(choice(networks, experiment, "wide"), None, "got None")


def test_choice_needs_the_same_seeds_and_enough_of_them():
    networks, experiment = standard()
    experiment["deep"][2]["seed"] = 7
    fails(choice(networks, experiment, "wide"), None, "same seeds", "[0, 1, 7]")
    networks, experiment = standard()
    for name in experiment:
        experiment[name] = experiment[name][:2]
    fails(choice(networks, experiment, "wide"), None, "at least 3")


def test_choice_needs_two_networks_of_ones_own_and_the_cramped_one():
    networks, experiment = experiment_of(**{CRAMPED: (300, 350, 400),
                                            "wide": (200, 250, 500)})
    fails(choice(networks, experiment, "wide"), None, "at least 2")
    networks, experiment = standard()
    fails(choice(networks, experiment, "wide", baseline="tiny"), None,
          "'tiny' is not among")


@pytest.mark.parametrize("pick", ["Wide", 3, ["wide"]])
def test_choice_pick_must_name_a_network(pick):
    networks, experiment = standard()
    fails(choice(networks, experiment, pick), None, "MY_PICK should be the name",
          "'wide'")


def test_choice_bad_structures_fail_clearly():
    networks, experiment = standard()
    fails(choice(list(networks), experiment, "wide"), None,
          "expected `networks` as a dict")
    fails(choice(networks, None, "wide"), None, "expected `experiment` as a dict")
    del experiment["deep"]
    fails(choice(networks, experiment, "wide"), None, "no runs of network 'deep'")


def test_choice_builder_errors_are_the_students():
    networks, experiment = standard()

    def broken(num_inputs, num_actions):
        raise ValueError("units must be positive")

    networks["deep"] = broken
    fails(choice(networks, experiment, "wide"), None, "Exercise 5",
          "units must be positive")
    networks["deep"] = lambda num_inputs, num_actions: keras.Sequential(
        [keras.Input((num_inputs,)), keras.layers.Dense(num_actions)]
    )
    fails(choice(networks, experiment, "wide"), None, "network 'deep'",
          "[action_probs, value]")


def test_vetting_passes_networks_the_loop_can_use(capsys):
    networks, _ = standard()
    cartpole.vet_networks({"wide": networks["wide"], "deep": networks["deep"]})
    out = capsys.readouterr().out
    assert out.startswith("✔ networks ready to train: 'wide', 'deep'")


def vet(networks):
    return lambda _: cartpole.vet_networks(networks)


@pytest.mark.parametrize("linear", ["linear", "stacked linear"])
def test_vetting_rejects_a_linear_network_before_training(linear):
    networks, _ = experiment_of(**{"wide": (1, 1, 1),
                                   linear.replace(" ", "_"): (1, 1, 1)})
    mistake_of(vet(networks), None, "choice/linear-network", f"'{linear}'",
               "no non-linearity")


def test_vetting_rejects_what_the_training_loop_cannot_use():
    networks, _ = standard()
    wide = networks["wide"]
    mistake_of(vet({"wide": wide}), None, "choice/too-few-networks", "at least 2")
    mistake_of(vet({"wide": wide, "deep": one_linear_layer(True)}), None,
               "choice/linear-layer", "'deep'")
    mistake_of(vet({"wide": wide, "deep": no_softmax}), None, "choice/no-softmax",
               "'deep'")
    mistake_of(vet({"wide": wide, "f": lambda n, m: (lambda x: x)}), None,
               "choice/not-a-model", "network 'f'", "'function'", "keras.Model")
    fails(vet({"wide": wide, "five": lambda n, m: agent(16)(5, m)}), None,
          "network 'five'")
    fails(vet({"wide": wide, "three": lambda n, m: agent(16)(n, 3)}), None,
          "'three' action_probs", "(48, 2)")

    def broken(num_inputs, num_actions):
        raise ValueError("units must be positive")

    fails(vet({"wide": wide, "broken": broken}), None, "network 'broken'",
          "units must be positive")
    fails(vet([wide, wide]), None, "expected `networks` as a dict")


def assert_choice_records_needed(check, data: dict) -> None:
    """Each record of Exercise 5's data missing, or replaced by an unexpected value,
    never passes (the ``/layers`` records are descriptive only: named in the message
    of a failure)."""
    from course_utils.checks.core import judge_payload
    from course_utils.checks.plain import MalformedProbe, dumps

    for key in data["records"]:
        if key.endswith("/layers"):
            continue
        for forged in (None, {"kind": "none"}, {"kind": "text", "text": "x"}):
            if forged == data["records"][key]:
                continue
            records = dict(data["records"])
            if forged is None:
                del records[key]
            else:
                records[key] = forged
            with pytest.raises((CheckFailed, MalformedProbe)):
                judge_payload(check, dumps({**data, "records": records}))


def test_vetting_judge_never_trusts_the_data():
    from course_utils.checks.plain import dumps

    networks, _ = standard()
    data = run_probe(cartpole.CHOICE_BUILDS, {"wide": networks["wide"],
                                              "deep": networks["deep"]})
    assert judge_payload(cartpole.CHOICE_BUILDS, dumps(data)).startswith("networks")
    assert_choice_records_needed(cartpole.CHOICE_BUILDS, data)


def test_choice_judge_never_trusts_the_data():
    """Each record missing, or replaced by an unexpected value, never passes."""
    from course_utils.checks.core import judge_payload, run_probe
    from course_utils.checks.plain import dumps

    networks, experiment = standard()
    data = run_probe(cartpole.CHOICE, networks, experiment, "wide", baseline=CRAMPED)
    assert judge_payload(cartpole.CHOICE, dumps(data)).startswith("network choice")
    assert_choice_records_needed(cartpole.CHOICE, data)


def test_module_does_not_import_tensorflow_at_top():
    top_level = top_level_imports(cartpole)
    assert "tensorflow" not in top_level and "keras" not in top_level


# --------------------------------------------------------------------------------------
# Challenge-response (grading): Exercises 1-4 draw new cases from the grader's
# challenge; right answers pass, catalogued mistakes keep their id, replays fail.
# --------------------------------------------------------------------------------------
MISTAKES_DIR = Path(__file__).resolve().parents[1] / "mutation" / "mistakes"
CHALLENGE_CHECKS = {  # exercise: (check, right answers, as the tests above use them)
    1: (cartpole.NETWORK, (RIGHT_NETWORK, functional(relu_layer))),
    2: (cartpole.RETURNS, (returns_loop, returns_tf_style, returns_python_floats,
                           returns_cumsum, returns_matrix)),
    3: (cartpole.NORMALISE, (normalise_reference,)),
    4: (cartpole.LOSS, (loss_reference, loss_one_hot, loss_crossentropy,
                        loss_keras_ops)),
}


def catalogue(exercise: int) -> list:
    """``pytest.param(answer, id)`` per wrong answer of ch01_ex{exercise}.py."""
    return [
        pytest.param(answer, entry.mistake, id=f"ex{exercise}-{entry.name}")
        for entry, answer in entries(MISTAKES_DIR / f"ch01_ex{exercise}.py")
    ]


@pytest.mark.parametrize(
    ("check", "answer"),
    [pytest.param(check, answer, id=f"ex{exercise}-{answer.__name__}")
     for exercise, (check, answers) in CHALLENGE_CHECKS.items()
     for answer in answers],
)
def test_right_answers_pass_under_every_challenge(check, answer):
    for challenge in CHALLENGES:
        verdict = graded(check, answer, challenge=challenge, reuse=True)
        assert verdict == ("passed", None), challenge


@pytest.mark.parametrize(
    ("exercise", "answer", "mistake"),
    [pytest.param(exercise, *param.values, id=param.id)
     for exercise in (1, 2, 3, 4) for param in catalogue(exercise)],
)
def test_catalogued_mistakes_keep_their_id_under_every_challenge(
    exercise, answer, mistake
):
    """Each wrong answer fails under every challenge, naming its catalogued id.

    An entry the catalogue gives no id to must fail, with any id: e.g. Exercise 1's
    CartPole sizes written in (``hard_coded_sizes``) fails on its weight count when
    a drawn case has 4 inputs, and on the call itself when it has not.
    """
    check = CHALLENGE_CHECKS[exercise][0]
    for challenge in CHALLENGES:
        status, named = graded(check, answer, challenge=challenge)
        assert status == "failed", challenge
        if mistake is not None:
            assert named == mistake, (challenge, named)


@pytest.mark.parametrize("exercise", [1, 2, 3, 4])
def test_a_replayed_payload_never_passes_under_a_challenge(exercise):
    """A right answer's data recorded on the fixed cases, or under another
    challenge, is not an answer to this challenge."""
    check, (answer, *_) = CHALLENGE_CHECKS[exercise]
    for index, challenge in enumerate(CHALLENGES):
        other = CHALLENGES[(index + 1) % len(CHALLENGES)]
        for recorded_under in (None, other):
            status, _ = replayed(check, answer, recorded_under=recorded_under,
                                 judged_under=challenge)
            assert status in ("failed", "malformed"), (recorded_under, challenge)


def plain_cases(value):
    """Cases as comparable plain data (arrays as (dtype, list))."""
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.tolist())
    if isinstance(value, dict):
        return {key: plain_cases(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_cases(item) for item in value]
    return (type(value).__name__, value)


def all_cases():
    """Every case builder's cases of Exercises 1-4, under the challenge in force."""
    networks = cartpole._network_cases()
    return plain_cases({
        "network": networks,
        "states": [cartpole._network_states(n, i) for i, (n, _, _) in
                   enumerate(networks)],
        "affine": [cartpole._network_affine_states(n, i) for i, (n, _, _) in
                   enumerate(networks)],
        "shift": cartpole._critic_shift(),
        "returns": cartpole._returns_cases(),
        "normalise": cartpole._normalise_cases(),
        "edge": cartpole._edge_values(),
        "loss": cartpole._loss_cases(),
    })


def test_cases_under_a_challenge_are_new_and_deterministic():
    fixed = all_cases()
    with challenged(None):
        assert all_cases() == fixed
    drawn = {}
    for challenge in CHALLENGES:
        with challenged(challenge):
            drawn[challenge] = all_cases()
        with challenged(challenge):
            assert all_cases() == drawn[challenge]
        for name, cases in drawn[challenge].items():
            assert cases != fixed[name], (challenge, name)
    for name in fixed:
        assert len({repr(cases[name]) for cases in drawn.values()}) > 1, name
    # The fixed cases are the published ones (the notebook's messages unchanged).
    assert cartpole._network_cases() == cartpole.NETWORK_CASES
    assert cartpole._critic_shift() == cartpole.SHIFT
    assert cartpole._edge_values() == cartpole.EDGE_VALUES
    assert cartpole._normalise_cases()[3] == list(cartpole.LONG_EPISODE)


@pytest.mark.parametrize("challenge", CHALLENGES)
def test_drawn_cases_keep_the_structure_and_edge_cases(challenge):
    with challenged(challenge):
        networks = cartpole._network_cases()
        returns = cartpole._returns_cases()
        normalise = cartpole._normalise_cases()
        single, equal = cartpole._edge_values()
        losses = cartpole._loss_cases()
    # Exercise 1: two actions, then more; no extra weight of shape (1,); not 128.
    (inputs0, actions0, hidden0), (inputs1, actions1, hidden1) = networks
    assert actions0 == 2 and actions1 >= 3
    assert min(inputs0, inputs1) >= 2 and min(hidden0, hidden1) >= 4
    assert 128 not in (hidden0, hidden1)
    # Exercise 2: the same edge cases, in the same order.
    assert len(returns) == len(cartpole._returns_cases())
    lengths = [len(rewards) for rewards, _, _ in returns]
    gammas = [gamma for _, gamma, _ in returns]
    bootstraps = [bootstrap for _, _, bootstrap in returns]
    assert len(set(returns[0][0])) == 1  # constant rewards
    assert lengths[2] == lengths[6] == 1  # one-step episodes
    assert gammas[3] == 0.0 and gammas[4] == 1.0
    assert all(0.3 <= g <= 0.99 for i, g in enumerate(gammas) if i not in (3, 4))
    assert [i for i, b in enumerate(bootstraps) if b != 0.0] == [5, 6, 8]
    assert all(abs(b) >= 1.0 for b in bootstraps if b != 0.0)
    assert lengths[7] >= 25 and lengths[8] >= 15
    assert all(type(r) is int for r in returns[9][0])
    assert isinstance(returns[10][0], np.ndarray) and 0.0 in returns[10][0]
    # Exercise 3: a mean away from 0, a spread far from 1 and from sqrt(n).
    assert [len(values) for values in normalise][1:] == [4, 25, 50]
    for values in normalise:
        x = np.asarray(values)
        assert abs(x.mean()) >= 1.0 and x.std() >= 2.0
        assert abs(x.std() - np.sqrt(x.size)) >= 0.2
    assert np.all(np.diff(normalise[3]) <= 0)  # decreasing, like returns
    assert len(single) == 1 and single[0] != 0.0
    assert len(equal) >= 3 and len(set(equal)) == 1 and equal[0] != 0.0
    assert np.std(equal) == 0.0 and np.mean(equal) == equal[0]
    # Exercise 4: small errors, one step, large errors; probabilities.
    shapes = [case["action_probs"].shape for case in losses]
    assert shapes == [(4, 2), (1, 2), (5, 3)]
    for case in losses:
        probs = case["action_probs"]
        assert np.all(probs > 0) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-6)
        assert case["actions"].dtype == np.int32
    errors = [np.abs(case["returns"] - case["values"]) for case in losses]
    assert np.all(errors[0] < 1.0) and np.all(errors[1] > 1.0)
    assert np.sum(errors[2] > 1.0) == 4 and np.sum(errors[2] < 1.0) == 1
    assert set(losses[0]["actions"].tolist()) == {0, 1}


def probe_reachable(module) -> dict[str, set[str]]:
    """Per Check of the module, the module-level and imported names its probe
    reaches (through the bodies of the module's functions and the values of its
    assignments, transitively; a Check assignment reaches its probe only)."""
    tree = ast.parse(inspect.getsource(module))
    bodies: dict[str, list[ast.AST]] = {}
    probes: dict[str, str] = {}
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bodies[node.name] = [node]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            is_check = (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                        and value.func.id == "Check")
            for target in targets:
                if isinstance(target, ast.Name):
                    if is_check:
                        probes[target.id] = value.args[1].id
                        bodies[target.id] = [value.args[1]]
                    else:
                        bodies[target.id] = [value]
    reached = {}
    for check, probe in probes.items():
        seen, todo = set(), [probe]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for body in bodies.get(name, []):
                todo += [n.id for n in ast.walk(body) if isinstance(n, ast.Name)]
        reached[check] = seen & (set(bodies) | imported)
    return reached


def test_probes_and_case_builders_reach_no_reference_judge_or_mistake():
    """The grader's kernel gets a probe-only view of the package (references,
    judges and mistake builders stubbed): no probe may need them, and none of what
    a probe reaches computes an answer."""
    reached = probe_reachable(cartpole)
    assert set(reached) >= {"NETWORK", "RETURNS", "NORMALISE", "LOSS"}
    builders = {
        "NETWORK": {"_network_cases", "_network_states", "_critic_shift",
                    "_network_affine_states", "_affine_states"},
        "RETURNS": {"_returns_cases", "_drawn_returns_cases"},
        "NORMALISE": {"_normalise_cases", "_edge_values", "LONG_EPISODE"},
        "LOSS": {"_loss_cases", "_drawn_loss_cases"},
    }
    for check, names in reached.items():
        assert builders.get(check, set()) <= names, check
        forbidden = sorted(
            name for name in names
            if name.startswith("reference_") or "judge" in name.lower()
            or "mistake" in name.lower() or name in {"recognise", "episodes_to_solve"}
        )
        assert not forbidden, (check, forbidden)
