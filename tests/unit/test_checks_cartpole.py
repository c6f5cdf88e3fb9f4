"""Checks of notebook 01: right answers pass (however written), typical mistakes fail
with a message that names the mistake."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from check_testing import fails

from course_utils.checks import cartpole
from course_utils.checks.core import CheckFailed

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")



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


def test_network_reference_passes(capsys):
    cartpole.check_agent_network(network())
    assert capsys.readouterr().out.startswith("✔ agent network")


def test_network_written_differently_passes():
    class Agent(keras.Model):
        def __init__(self, num_actions, num_hidden):
            super().__init__()
            self.common = keras.layers.Dense(num_hidden, activation="relu")
            self.actor = keras.layers.Dense(num_actions)
            self.critic = keras.layers.Dense(1)

        def call(self, x):
            h = self.common(x)
            return tf.nn.softmax(self.actor(h)), self.critic(h)

    cartpole.check_agent_network(lambda n_in, n_act, n_hid: Agent(n_act, n_hid))


def test_network_without_softmax_fails():
    fails(cartpole.check_agent_network, network(actor_activation=None), "softmax")


def test_network_with_sigmoid_actor_fails():
    fails(cartpole.check_agent_network, network(actor_activation="sigmoid"), "softmax")


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_network_with_squashed_critic_fails(activation):
    fails(
        cartpole.check_agent_network,
        network(critic_activation=activation),
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
    fails(cartpole.check_agent_network, network(outputs="actor"), "two outputs")


def test_network_ignoring_num_hidden_fails():
    fails(cartpole.check_agent_network, network(fixed_hidden=128), "num_hidden")


def test_network_without_shared_layer_fails():
    fails(cartpole.check_agent_network, network(shared=False), "same hidden layer")


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
    fails(cartpole.check_agent_network, lambda a, b, c: None, "None")
    fails(cartpole.check_agent_network, lambda a, b, c: 3, "keras.Model")

    def todo(a, b, c):
        raise NotImplementedError("Exercise 1")

    fails(cartpole.check_agent_network, todo, "not done yet")
    fails(cartpole.check_agent_network, None, "expected a function")


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


def test_returns_reference_passes(capsys):
    cartpole.check_discounted_returns(returns_loop)
    assert "✔ discounted returns" in capsys.readouterr().out


def test_returns_written_differently_passes():
    cartpole.check_discounted_returns(returns_tf_style)


def test_returns_without_discount_fails():
    fails(
        cartpole.check_discounted_returns,
        lambda rewards, gamma, bootstrap=0.0: returns_loop(rewards, 1.0, bootstrap),
        "gamma is not used",
    )


def test_returns_discounted_forward_fails():
    def forward(rewards, gamma, bootstrap=0.0):
        out, g = [], 0.0
        for r in rewards:
            g = r + gamma * g
            out.append(g)
        return np.array(out)

    fails(cartpole.check_discounted_returns, forward, "from the start of the episode")


def test_returns_left_reversed_fails():
    def backwards_not_flipped(rewards, gamma, bootstrap=0.0):
        out, g = [], bootstrap
        for r in rewards[::-1]:
            g = r + gamma * g
            out.append(g)
        return np.array(out)

    fails(cartpole.check_discounted_returns, backwards_not_flipped, "reverse")


def test_returns_ignoring_bootstrap_fails():
    fails(
        cartpole.check_discounted_returns,
        lambda rewards, gamma, bootstrap=0.0: returns_loop(rewards, gamma),
        "bootstrap value is ignored",
    )


def test_returns_normalised_fails():
    def normalised(rewards, gamma, bootstrap=0.0):
        g = returns_loop(rewards, gamma, bootstrap)
        return (g - g.mean()) / (g.std() + 1e-8)

    fails(cartpole.check_discounted_returns, normalised, "Exercise 3")


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


def test_returns_check_does_not_mutate():
    def mutating(rewards, gamma, bootstrap=0.0):
        result = returns_loop(rewards, gamma, bootstrap)
        rewards[0] = 1e9  # must not affect later cases
        return result

    cartpole.check_discounted_returns(mutating)


# --------------------------------------------------------------------------------------
# Exercise 3: normalisation
# --------------------------------------------------------------------------------------
def test_normalise_reference_passes(capsys):
    cartpole.check_normalise(lambda x: (x - np.mean(x)) / (np.std(x) + 1e-8))
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


def test_normalise_missing_fails():
    fails(cartpole.check_normalise, lambda x: x, "unchanged")


def test_normalise_only_centred_fails():
    fails(cartpole.check_normalise, lambda x: x - x.mean(), "centred")


def test_normalise_by_variance_fails():
    fails(
        cartpole.check_normalise,
        lambda x: (x - x.mean()) / (x.var() + 1e-8),
        "variance",
    )


def test_normalise_nan_on_constant_fails():
    def no_eps(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            return (x - x.mean()) / x.std()

    fails(cartpole.check_normalise, no_eps, "NaN")


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
    # Written differently: one-hot mask, explicit Huber formula, crossentropy style.
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
    assert "✔ actor-critic loss" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [loss_one_hot, loss_crossentropy])
def test_loss_written_differently_passes(answer):
    cartpole.check_actor_critic_loss(answer)


def test_loss_sign_flipped_fails():
    def flipped(p, v, a, g):
        return tf.reduce_mean(taken_log_prob(p, a) * tf.stop_gradient(g - v))

    fails(cartpole.check_actor_critic_loss, variant(actor=flipped), "sign is flipped")


def test_loss_not_detached_fails():
    def attached(p, v, a, g):
        return -tf.reduce_mean(taken_log_prob(p, a) * (g - v))

    fails(cartpole.check_actor_critic_loss, variant(actor=attached), "tf.stop_gradient")


def test_loss_without_baseline_fails():
    def returns_only(p, v, a, g):
        return -tf.reduce_mean(taken_log_prob(p, a) * g)

    fails(cartpole.check_actor_critic_loss, variant(actor=returns_only), "advantage")


def test_loss_summed_fails():
    def summed(p, v, a, g):
        return -tf.reduce_sum(taken_log_prob(p, a) * tf.stop_gradient(g - v))

    fails(cartpole.check_actor_critic_loss, variant(actor=summed), "mean")


def test_loss_wrong_action_fails():
    def first_action(p, v, a, g):
        return -tf.reduce_mean(tf.math.log(p[:, 0]) * tf.stop_gradient(g - v))

    fails(cartpole.check_actor_critic_loss, variant(actor=first_action), "taken")


def test_loss_mse_fails():
    mse = keras.losses.MeanSquaredError()
    fails(
        cartpole.check_actor_critic_loss,
        variant(critic=lambda g, v: mse(g, v)),
        "mean squared error",
        "Huber",
    )


def test_loss_absolute_error_fails():
    fails(
        cartpole.check_actor_critic_loss,
        variant(critic=lambda g, v: tf.reduce_mean(tf.abs(g - v))),
        "absolute error",
    )


def test_loss_numpy_result_fails():
    def numpy_losses(p, v, a, g):
        actor, critic = loss_reference(p, v, a, g)
        return float(actor), float(critic)

    fails(cartpole.check_actor_critic_loss, numpy_losses, "TensorFlow")


def test_loss_bad_results_fail():
    fails(cartpole.check_actor_critic_loss, lambda p, v, a, g: None, "None")
    fails(
        cartpole.check_actor_critic_loss,
        lambda p, v, a, g: loss_reference(p, v, a, g)[0],
        "two scalars",
    )
    fails(
        cartpole.check_actor_critic_loss,
        lambda p, v, a, g: (p, v),
        "actor_loss (a scalar)",
    )


def test_loss_broadcasting_bug_fails():
    def broadcast(p, v, a, g):
        v = v[:, None]  # (T, 1) - (T,) broadcasts to (T, T)
        advantage = tf.stop_gradient(g - v)
        actor = -tf.reduce_mean(taken_log_prob(p, a) * advantage)
        return actor, HUBER(g, v)

    fails(cartpole.check_actor_critic_loss, broadcast, "actor_loss")


# --------------------------------------------------------------------------------------
# Exercise 5: fewer episodes
# --------------------------------------------------------------------------------------
def test_fewer_episodes_passes(capsys):
    # 95 episodes at 500 in the last 100 make a mean of exactly 475.
    cartpole.check_fewer_episodes([0.0] * 150 + [500.0] * 100, [500.0] * 100)
    assert "median of 100 episodes, the baseline in 245" in capsys.readouterr().out


def test_fewer_episodes_compares_medians_over_seeds(capsys):
    fast, slow = [500.0] * 100, [0.0] * 200 + [500.0] * 100
    # Lucky on one seed, slower on two: the median says no.
    with pytest.raises(CheckFailed, match="median of 295 .*not fewer"):
        cartpole.check_fewer_episodes([slow, fast, fast], [fast, slow, slow])
    cartpole.check_fewer_episodes([slow, slow, fast], [fast, fast, slow])
    assert "[100, 100, 295] vs baseline [295, 295, 100]" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="same seeds"):
        cartpole.check_fewer_episodes([slow, slow], [fast])
    with pytest.raises(CheckFailed, match="run 2"):
        cartpole.check_fewer_episodes([slow, slow], [fast, [100.0] * 120])


def test_fewer_episodes_recomputes_solve_point():
    assert cartpole.episodes_to_solve([500.0] * 100) == 100
    assert cartpole.episodes_to_solve([0.0] * 10 + [500.0] * 94) is None
    assert cartpole.episodes_to_solve([0.0] * 6 + [500.0] * 100) == 101


def test_fewer_episodes_not_fewer_fails():
    with pytest.raises(CheckFailed, match="not fewer"):
        cartpole.check_fewer_episodes([500.0] * 100, [100.0] * 5 + [500.0] * 100)


def test_fewer_episodes_not_solved_fails():
    with pytest.raises(CheckFailed, match="did not solve"):
        cartpole.check_fewer_episodes([500.0] * 120, [300.0] * 50)


def test_fewer_episodes_bad_inputs_fail():
    with pytest.raises(CheckFailed, match="None"):
        cartpole.check_fewer_episodes([500.0] * 100, None)
    with pytest.raises(CheckFailed, match="between 0 and 500"):
        cartpole.check_fewer_episodes([500.0] * 100, [5000.0] * 100)


def test_fewer_episodes_same_network_fails():
    model = network()(4, 2, 8)
    same = network()(4, 2, 8)
    with pytest.raises(CheckFailed, match="same layers"):
        cartpole.check_fewer_episodes(
            [100.0] * 50 + [500.0] * 100,
            [500.0] * 100,
            baseline_model=model,
            my_model=same,
        )
    cartpole.check_fewer_episodes(
        [100.0] * 50 + [500.0] * 100,
        [500.0] * 100,
        baseline_model=model,
        my_model=network()(4, 2, 16),
    )


def test_module_does_not_import_tensorflow_at_top():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(cartpole))
    top_level = [
        alias.name
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]
    assert "tensorflow" not in top_level and "keras" not in top_level
