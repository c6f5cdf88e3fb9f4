"""Checks of notebook 02: right answers pass (however written), typical mistakes fail
with a message that names the mistake."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from check_testing import fails

from course_utils.checks import pendulum

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")



# --------------------------------------------------------------------------------------
# Exercise 1: Ornstein-Uhlenbeck step
# --------------------------------------------------------------------------------------
def ou_reference(x, mu, theta, sigma, dt, normal_sample):
    return x + theta * (mu - x) * dt + sigma * np.sqrt(dt) * normal_sample


def ou_other_way(x, mu, theta, sigma, dt, normal_sample):
    x = np.asarray(x, dtype=np.float32)
    decay = 1.0 - theta * dt
    return decay * x + theta * dt * mu + sigma * dt**0.5 * normal_sample


def test_ou_reference_passes(capsys):
    pendulum.check_ou_step(ou_reference)
    assert capsys.readouterr().out.startswith("✔ Ornstein-Uhlenbeck")


def test_ou_written_differently_passes():
    pendulum.check_ou_step(ou_other_way)


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (lambda x, mu, th, sg, dt, n: x + sg * np.sqrt(dt) * n, "not mean-reverting"),
        (
            lambda x, mu, th, sg, dt, n: x + th * (x - mu) * dt + sg * np.sqrt(dt) * n,
            "wrong sign",
        ),
        (
            lambda x, mu, th, sg, dt, n: x + th * (mu - x) * dt + sg * dt * n,
            "scaled by dt instead of sqrt(dt)",
        ),
        (
            lambda x, mu, th, sg, dt, n: x + th * (mu - x) * dt + sg * n,
            "missing its sqrt(dt)",
        ),
        (
            lambda x, mu, th, sg, dt, n: th * (mu - x) * dt + sg * np.sqrt(dt) * n,
            "returned the change dx",
        ),
        (
            lambda x, mu, th, sg, dt, n: (
                x
                + th * (mu - x) * dt
                + sg * np.sqrt(dt) * np.random.standard_normal(np.shape(x))
            ),
            "use the normal_sample argument",
        ),
    ],
)
def test_ou_mistakes_fail(answer, fragment):
    fails(pendulum.check_ou_step, answer, fragment, "Hint")


def test_ou_bad_returns_and_errors_fail_cleanly():
    fails(pendulum.check_ou_step, lambda *args: None, "got None")
    fails(pendulum.check_ou_step, lambda x, *rest: np.zeros((1, 1)), "shape")
    fails(pendulum.check_ou_step, lambda *args: 1 / 0, "ZeroDivisionError")

    def not_done(*args):
        raise NotImplementedError("Exercise 1")

    fails(pendulum.check_ou_step, not_done, "not done yet")
    fails(pendulum.check_ou_step, None, "expected a function")


# --------------------------------------------------------------------------------------
# Exercise 2: replay buffer
# --------------------------------------------------------------------------------------
class Buffer:
    """The reference: a counter and row = count % capacity."""

    def __init__(self, capacity, state_dim, action_dim):
        self.capacity = capacity
        self.count = 0
        self.states = np.zeros((capacity, state_dim), np.float32)
        self.actions = np.zeros((capacity, action_dim), np.float32)
        self.rewards = np.zeros((capacity, 1), np.float32)
        self.next_states = np.zeros((capacity, state_dim), np.float32)
        self.terminated = np.zeros((capacity, 1), np.float32)
        self.truncated = np.zeros((capacity, 1), np.float32)

    def __len__(self):
        return min(self.count, self.capacity)

    def _row(self):
        return self.count % self.capacity

    def record(self, state, action, reward, next_state, terminated, truncated):
        row = self._row()
        self.states[row] = state
        self.actions[row] = action
        self.rewards[row] = reward
        self.next_states[row] = next_state
        self.terminated[row] = terminated
        self.truncated[row] = truncated
        self.count += 1

    def _rows(self, batch_size, rng):
        return rng.integers(0, len(self), size=batch_size)

    def sample(self, batch_size, rng):
        rows = self._rows(batch_size, rng)
        return (
            self.states[rows],
            self.actions[rows],
            self.rewards[rows],
            self.next_states[rows],
            self.terminated[rows],
            self.truncated[rows],
        )


class ListBuffer:
    """Written differently: one structured array, a write pointer, a fill level."""

    def __init__(self, capacity, state_dim, action_dim):
        width = 2 * state_dim + action_dim + 3
        self.data = np.zeros((capacity, width))
        self.dims = (state_dim, action_dim)
        self.pointer, self.filled = 0, 0

    def record(self, state, action, reward, next_state, terminated, truncated):
        flags = [reward, float(terminated), float(truncated)]
        self.data[self.pointer] = np.concatenate([state, action, next_state, flags])
        self.pointer = (self.pointer + 1) % len(self.data)
        self.filled = min(self.filled + 1, len(self.data))

    def sample(self, batch_size, rng):
        rows = self.data[rng.choice(self.filled, size=batch_size)]
        s, a = self.dims
        return (
            rows[:, :s],
            rows[:, s : s + a],
            rows[:, [2 * s + a]],
            rows[:, s + a : 2 * s + a],
            rows[:, [2 * s + a + 1]],
            rows[:, [2 * s + a + 2]],
        )


class SamplesEmptyRows(Buffer):
    def _rows(self, batch_size, rng):
        return rng.integers(0, self.capacity, size=batch_size)


class NeverWraps(Buffer):
    def record(self, *transition):
        if self.count < self.capacity:
            super().record(*transition)


class GrowsPastCapacity(Buffer):
    def _row(self):
        return self.count


class GlobalRandom(Buffer):
    def _rows(self, batch_size, rng):
        return np.random.randint(0, len(self), size=batch_size)


class MixedRows(Buffer):
    def sample(self, batch_size, rng):
        batch = list(super().sample(batch_size, rng))
        batch[2] = self.rewards[self._rows(batch_size, rng)]
        return tuple(batch)


class LastRowsOnly(Buffer):
    def _rows(self, batch_size, rng):
        return np.full(batch_size, (self.count - 1) % self.capacity)


class RecordNotDone(Buffer):
    def record(self, *transition):
        raise NotImplementedError("Exercise 2 (the replay buffer)")


def test_buffer_reference_passes(capsys):
    pendulum.check_replay_buffer(Buffer)
    assert capsys.readouterr().out.startswith("✔ replay buffer")


def test_buffer_written_differently_passes():
    pendulum.check_replay_buffer(ListBuffer)


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        (SamplesEmptyRows, ("empty rows", "filled so far")),
        (NeverWraps, ("never wraps",)),
        (GrowsPastCapacity, ("IndexError",)),
        (GlobalRandom, ("rng argument",)),
        (MixedRows, ("mixes different transitions",)),
        (LastRowsOnly, ("uniformly",)),
        (RecordNotDone, ("not done yet",)),
    ],
)
def test_buffer_mistakes_fail(answer, fragments):
    fails(pendulum.check_replay_buffer, answer, *fragments)


def test_buffer_wrong_returns_fail_cleanly():
    class ReturnsNone(Buffer):
        def sample(self, batch_size, rng):
            return None

    class Squeezed(Buffer):
        def sample(self, batch_size, rng):
            return tuple(np.squeeze(a) for a in super().sample(batch_size, rng))

    fails(pendulum.check_replay_buffer, ReturnsNone, "tuple of 6 arrays")
    fails(pendulum.check_replay_buffer, Squeezed, "shape")
    fails(pendulum.check_replay_buffer, lambda *a: 1 / 0, "ZeroDivisionError")


# --------------------------------------------------------------------------------------
# Exercise 3: critic target
# --------------------------------------------------------------------------------------
def target_reference(rewards, next_q, terminated, truncated, gamma):
    return rewards + gamma * (1.0 - terminated) * next_q


def target_other_way(rewards, next_q, terminated, truncated, gamma):
    alive = tf.cast(tf.equal(terminated, 0.0), tf.float32)
    return tf.cast(rewards, tf.float32) + gamma * alive * tf.cast(next_q, tf.float32)


def test_target_reference_passes(capsys):
    pendulum.check_critic_target(target_reference)
    assert capsys.readouterr().out.startswith("✔ critic target")


def test_target_written_differently_passes():
    pendulum.check_critic_target(target_other_way)


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (
            lambda r, q, te, tr, g: r + g * (1 - np.maximum(te, tr)) * q,
            "truncated rows too",
        ),
        (lambda r, q, te, tr, g: r + g * (1 - tr) * q, "used `truncated`"),
        (lambda r, q, te, tr, g: r + g * q, "Multiply by (1 - terminated)"),
        (lambda r, q, te, tr, g: r + g * te * q, "inverted"),
        (lambda r, q, te, tr, g: r + (1 - te) * q, "gamma is missing"),
        (lambda r, q, te, tr, g: np.ravel(r + g * (1 - te) * q), "shape"),
    ],
)
def test_target_mistakes_fail(answer, fragment):
    fails(pendulum.check_critic_target, answer, fragment)


def test_target_numpy_only_fails_in_graph():
    def numpy_only(r, q, te, tr, g):
        return np.asarray(r) + g * np.where(np.asarray(te) > 0, 0.0, np.asarray(q))

    fails(pendulum.check_critic_target, numpy_only, "inside tf.function")


# --------------------------------------------------------------------------------------
# Exercise 4: the losses
# --------------------------------------------------------------------------------------
def losses_reference(batch, actor, critic, target_actor, target_critic, gamma):
    s, a, r, s2, te, tr = batch
    y = target_reference(r, target_critic([s2, target_actor(s2)]), te, tr, gamma)
    critic_loss = tf.reduce_mean(tf.square(y - critic([s, a])))
    actor_loss = -tf.reduce_mean(critic([s, actor(s)]))
    return critic_loss, actor_loss


def losses_other_way(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions, rewards, next_states, terminated, _ = batch
    next_q = target_critic([next_states, target_actor(next_states)], training=False)
    y = tf.stop_gradient(rewards + gamma * (1 - terminated) * next_q)
    critic_loss = keras.losses.MeanSquaredError()(y, critic([states, actions]))
    actor_loss = tf.reduce_mean(-critic([states, actor(states)]))
    return [critic_loss, actor_loss]


def make_losses(
    online_target=False, sign=-1.0, buffer_actions=False, power=2, mean=True
):
    def losses(batch, actor, critic, target_actor, target_critic, gamma):
        s, a, r, s2, te, tr = batch
        t_actor, t_critic = (
            (actor, critic) if online_target else (target_actor, target_critic)
        )
        y = r + gamma * (1 - te) * t_critic([s2, t_actor(s2)])
        err = tf.abs(y - critic([s, a])) ** power
        critic_loss = tf.reduce_mean(err) if mean else tf.reduce_sum(err)
        actions = a if buffer_actions else actor(s)
        actor_loss = sign * tf.reduce_mean(critic([s, actions]))
        return critic_loss, actor_loss

    return losses


def test_losses_reference_passes(capsys):
    pendulum.check_ddpg_losses(losses_reference)
    assert capsys.readouterr().out.startswith("✔ DDPG losses")


def test_losses_written_differently_passes():
    pendulum.check_ddpg_losses(losses_other_way)


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (make_losses(online_target=True), "ONLINE actor and critic"),
        (make_losses(sign=1.0), "wrong sign"),
        (make_losses(buffer_actions=True), "actions stored in the buffer"),
        (make_losses(power=1), "ABSOLUTE"),
        (make_losses(mean=False), "summed over the batch"),
    ],
)
def test_losses_mistakes_fail(answer, fragment):
    fails(pendulum.check_ddpg_losses, answer, fragment)


def test_losses_swapped_or_numpy_fail():
    def swapped(*args):
        critic_loss, actor_loss = losses_reference(*args)
        return actor_loss, critic_loss

    def through_numpy(*args):
        critic_loss, actor_loss = losses_reference(*args)
        return float(critic_loss.numpy()), actor_loss

    fails(pendulum.check_ddpg_losses, swapped, "(critic_loss, actor_loss)")
    fails(pendulum.check_ddpg_losses, through_numpy, "TensorFlow tensors")
    fails(pendulum.check_ddpg_losses, lambda *args: None, "two values")


# --------------------------------------------------------------------------------------
# Exercise 5: soft update
# --------------------------------------------------------------------------------------
def soft_reference(target_weights, online_weights, tau):
    return [
        tau * o + (1 - tau) * t
        for t, o in zip(target_weights, online_weights, strict=True)
    ]


def soft_other_way(target_weights, online_weights, tau):
    new = []
    for i in range(len(online_weights)):
        new.append(target_weights[i] + tau * (online_weights[i] - target_weights[i]))
    return tuple(new)


def test_soft_reference_passes(capsys):
    pendulum.check_soft_update(soft_reference)
    assert capsys.readouterr().out.startswith("✔ soft update")


def test_soft_written_differently_passes():
    pendulum.check_soft_update(soft_other_way)


def test_soft_tau_backwards_fails():
    def backwards(t_list, o_list, tau):
        return [(1 - tau) * o + tau * t for t, o in zip(t_list, o_list, strict=True)]

    fails(pendulum.check_soft_update, backwards, "wrong way round")


def test_soft_hard_copy_fails():
    fails(pendulum.check_soft_update, lambda t, o, tau: list(o), "copied the online")


def test_soft_in_place_fails():
    def in_place(t_list, o_list, tau):
        for t, o in zip(t_list, o_list, strict=True):
            t.assign(tau * o + (1 - tau) * t)
        return t_list

    def in_place_numpy(t_list, o_list, tau):
        for t, o in zip(t_list, o_list, strict=True):
            if isinstance(t, np.ndarray):
                t *= 1 - tau
                t += tau * o
            else:
                t.assign(tau * o + (1 - tau) * t)
        return t_list

    fails(pendulum.check_soft_update, in_place, "AttributeError")
    fails(pendulum.check_soft_update, in_place_numpy, "changed its inputs in place")


def test_soft_bad_returns_fail_cleanly():
    fails(pendulum.check_soft_update, lambda t, o, tau: None, "list")
    fails(pendulum.check_soft_update, lambda t, o, tau: [t[0]], "returned 1 arrays")
    fails(
        pendulum.check_soft_update,
        lambda t, o, tau: [np.asarray(x) * 0 + 1 for x in t],
        "new target weight",
    )
