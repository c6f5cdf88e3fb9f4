"""Checks of notebook 02: right answers pass (however written), typical mistakes fail
with a message and an id that name the mistake, and forged check data never passes."""

from __future__ import annotations

import ast
import collections
import copy
import inspect
import json
import os
import re
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from check_testing import (
    CHALLENGES,
    GARBAGE_PAYLOADS,
    OVERSIZED_PAYLOADS,
    assert_cases_new_and_repeatable,
    assert_forged_records_refused,
    assert_genuine_passes,
    assert_replays_refused,
    assert_stop_refused,
    fails,
    genuine_data,
    graded,
    mistake_ids,
    mistake_of,
    refused,
    top_level_imports,
)

from course_utils.checks import pendulum
from course_utils.checks.challenge import challenged
from course_utils.checks.core import CheckFailed, recognise
from course_utils.checks.plain import MAX_PAYLOAD, dumps
from instructor.tools.mutation.catalogue import as_student_object
from instructor.tools.mutation.catalogue import entries as catalogue_entries

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


def ou_into_a_new_array(x, mu, theta, sigma, dt, normal_sample):
    out = np.array(x, dtype=np.float64)  # a float copy: += is safe here
    out += theta * (mu - out) * dt
    out += sigma * np.sqrt(dt) * np.asarray(normal_sample)
    return out


def ou_in_place(x, mu, theta, sigma, dt, normal_sample):
    x += theta * (mu - x) * dt + sigma * np.sqrt(dt) * normal_sample
    return x


def ou_integer_result(x, mu, theta, sigma, dt, normal_sample):
    out = np.zeros_like(x)
    out[:] = x + theta * (mu - x) * dt + sigma * np.sqrt(dt) * normal_sample
    return out


def test_ou_reference_passes(capsys):
    pendulum.check_ou_step(ou_reference)
    assert capsys.readouterr().out.startswith("✔ Ornstein-Uhlenbeck")


@pytest.mark.parametrize("answer", [ou_other_way, ou_into_a_new_array])
def test_ou_written_differently_passes(answer):
    pendulum.check_ou_step(answer)


@pytest.mark.parametrize(
    ("answer", "mistake", "fragment"),
    [
        (lambda x, mu, th, sg, dt, n: x + sg * np.sqrt(dt) * n,
         "ou/not-mean-reverting", "not mean-reverting"),
        (lambda x, mu, th, sg, dt, n: x + th * (x - mu) * dt + sg * np.sqrt(dt) * n,
         "ou/pull-sign", "wrong sign"),
        (lambda x, mu, th, sg, dt, n: x + th * (mu - x) * dt + sg * dt * n,
         "ou/kick-dt", "scaled by dt instead of sqrt(dt)"),
        (lambda x, mu, th, sg, dt, n: x + th * (mu - x) * dt + sg * n,
         "ou/kick-no-sqrt-dt", "missing its sqrt(dt)"),
        (lambda x, mu, th, sg, dt, n: x + th * (mu - x) + sg * np.sqrt(dt) * n,
         "ou/pull-no-dt", "missing its dt factor"),
        (lambda x, mu, th, sg, dt, n: x + th * (mu - x) * np.sqrt(dt) + sg * dt * n,
         "ou/dt-swapped", "swapped"),
        (lambda x, mu, th, sg, dt, n: th * (mu - x) * dt + sg * np.sqrt(dt) * n,
         "ou/returns-change", "returned the change dx"),
        (lambda x, mu, th, sg, dt, n: x + th * (mu - x) * dt + np.sqrt(sg * dt) * n,
         "ou/sigma-in-sqrt", "inside the square root"),
        (
            lambda x, mu, th, sg, dt, n: (
                x
                + th * (mu - x) * dt
                + sg * np.sqrt(dt) * np.random.standard_normal(np.shape(x))
            ),
            "ou/own-random",
            "use the normal_sample argument",
        ),
        (ou_in_place, "ou/changes-input", "changed its input `x` in place"),
        (ou_integer_result, "ou/integer-dtype", "integers"),
    ],
)
def test_ou_mistakes_fail(answer, mistake, fragment):
    mistake_of(pendulum.check_ou_step, answer, mistake, fragment)


def test_ou_bad_returns_and_errors_fail_cleanly():
    fails(pendulum.check_ou_step, lambda *args: None, "got None")
    fails(pendulum.check_ou_step, lambda x, *rest: np.zeros((1, 1)), "shape")
    fails(pendulum.check_ou_step, lambda *args: 1 / 0, "ZeroDivisionError")

    def not_done(*args):
        raise NotImplementedError("Exercise 1")

    mistake_of(pendulum.check_ou_step, not_done, "not-done", "not done yet")
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


class DequeBuffer:
    """Written differently: a Python deque of tuples, no __len__, lists -> arrays."""

    def __init__(self, capacity, state_dim, action_dim):
        self.memory = collections.deque(maxlen=capacity)

    def record(self, *transition):
        self.memory.append(transition)

    def sample(self, batch_size, rng):
        rows = rng.integers(len(self.memory), size=batch_size)
        picked = [self.memory[i] for i in rows]
        columns = list(zip(*picked, strict=True))
        return tuple(
            np.array(column, dtype=np.float32).reshape(batch_size, -1)
            for column in columns
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


class FirstBatchRowsOnly(Buffer):
    """Issue 13: draws among the first batch_size rows only."""

    def _rows(self, batch_size, rng):
        return rng.integers(0, min(len(self), batch_size), size=batch_size)


class CountsBeforeWriting(Buffer):
    """Issue 13: record() increments the counter, then writes at the new row."""

    def record(self, state, action, reward, next_state, terminated, truncated):
        self.count += 1
        row = self.count % self.capacity
        self.states[row] = state
        self.actions[row] = action
        self.rewards[row] = reward
        self.next_states[row] = next_state
        self.terminated[row] = terminated
        self.truncated[row] = truncated


class SampleOffByOne(Buffer):
    def _rows(self, batch_size, rng):
        return rng.integers(1, len(self) + 1, size=batch_size)


class NeverCounts(Buffer):
    def record(self, *transition):
        super().record(*transition)
        self.count -= 1  # forgets to count: every transition lands on row 0


class Skewed(Buffer):
    def _rows(self, batch_size, rng):
        weights = np.arange(1, len(self) + 1, dtype=float) ** 2
        return rng.choice(len(self), size=batch_size, p=weights / weights.sum())


class WrongLen(Buffer):
    def __len__(self):
        return self.count

    def _rows(self, batch_size, rng):
        return rng.integers(0, min(self.count, self.capacity), size=batch_size)


class SkipsNewestRow(Buffer):
    """Mutation testing's catalogue: high - 1, as if rng.integers included high."""

    def _rows(self, batch_size, rng):
        return rng.integers(0, max(len(self) - 1, 1), size=batch_size)


class ReseedsEveryCall(Buffer):
    """Mutation testing's catalogue: a fresh seeded generator inside sample()."""

    def _rows(self, batch_size, rng):
        return np.random.default_rng(0).integers(0, len(self), size=batch_size)


def test_buffer_reference_passes(capsys):
    pendulum.check_replay_buffer(Buffer)
    assert capsys.readouterr().out.startswith("✔ replay buffer")


@pytest.mark.parametrize("answer", [ListBuffer, DequeBuffer])
def test_buffer_written_differently_passes(answer):
    pendulum.check_replay_buffer(answer)


@pytest.mark.parametrize(
    ("answer", "mistake", "fragments"),
    [
        (SamplesEmptyRows, "buffer/empty-rows", ("empty rows", "filled so far")),
        (NeverWraps, "buffer/never-wraps", ("never wraps",)),
        (GlobalRandom, "buffer/not-repeatable", ("rng argument", "seeded 1")),
        (MixedRows, "buffer/mixed-rows", ("mixes different transitions",)),
        (LastRowsOnly, "buffer/misses-rows", ("uniformly",)),
        (RecordNotDone, "not-done", ("not done yet",)),
        (FirstBatchRowsOnly, "buffer/first-rows-only",
         ("none beyond row 5 (batch_size is 5)", "every filled row")),
        (CountsBeforeWriting, "buffer/record-ahead",
         ("record()'s doing", "never transition 3")),
        (SampleOffByOne, "buffer/sample-off-by-one", ("never transition 1",)),
        (NeverCounts, "buffer/record-not-counting", ("does record() count",)),
        (Skewed, "buffer/not-uniform", ("uniform",)),
        (WrongLen, "buffer/wrong-len", ("len(buffer) is 8",)),
        (SkipsNewestRow, "buffer/sample-off-by-one",
         ("never returned transition 3, the newest", "never returns high")),
        (ReseedsEveryCall, "buffer/same-batch",
         ("same batch every time", "rng passed to sample()")),
    ],
)
def test_buffer_mistakes_fail(answer, mistake, fragments):
    mistake_of(pendulum.check_replay_buffer, answer, mistake, *fragments)


def test_buffer_counting_before_writing_blames_record_not_sample():
    message = mistake_of(
        pendulum.check_replay_buffer, CountsBeforeWriting, "buffer/record-ahead",
        fix=("self.count % self.capacity", "then `self.count += 1`"),
    )
    assert "in record(), write the transition at the row of the current count " \
        "first" in message
    assert "% capacity" not in message  # the line itself is the fix
    assert "picks rows that were never written" not in message


def test_fixes_of_each_exercise_are_held_back():
    # Issue 23: the first failure says what is wrong; the line is the fix.
    cases = [
        (pendulum.check_critic_target, lambda r, q, te, tr, g: r + g * q,
         "(1.0 - terminated) * next_q"),
        (pendulum.check_soft_update,
         lambda ts, os_, tau: [(1 - tau) * o + tau * t for t, o in zip(ts, os_,
                                                                      strict=True)],
         "target + tau * (online - target)"),
    ]
    for check, answer, line in cases:
        message = fails(check, answer, fix=(line,))
        assert line not in message


def test_buffer_error_in_record_names_record():
    message = mistake_of(
        pendulum.check_replay_buffer, GrowsPastCapacity, "buffer/never-wraps",
        "IndexError", "must wrap around to 0",
        fix=("row = self.count % self.capacity",),  # from the probe, in the payload
    )
    assert "record() failed on transition 6, recorded after 5 others" in message
    assert "of record()" in message  # the student's line


def test_buffer_wrong_returns_fail_cleanly():
    class ReturnsNone(Buffer):
        def sample(self, batch_size, rng):
            return None

    class ReturnsFive(Buffer):
        def sample(self, batch_size, rng):
            return super().sample(batch_size, rng)[:5]

    class Squeezed(Buffer):
        def sample(self, batch_size, rng):
            return tuple(np.squeeze(a) for a in super().sample(batch_size, rng))

    class NoSample:
        def __init__(self, *args):
            pass

        def record(self, *transition):
            pass

    fails(pendulum.check_replay_buffer, ReturnsNone, "sample() returned None",
          "(states, actions, rewards, next_states, terminated, truncated)")
    fails(pendulum.check_replay_buffer, ReturnsFive, "should return 6 values",
          "tuple of length 5")
    fails(pendulum.check_replay_buffer, Squeezed, "shape")
    fails(pendulum.check_replay_buffer, NoSample, "no method sample()")
    fails(pendulum.check_replay_buffer, lambda *a: 1 / 0, "ZeroDivisionError")
    fails(pendulum.check_replay_buffer, None, "expected a function")


# --------------------------------------------------------------------------------------
# Exercise 3: critic target
# --------------------------------------------------------------------------------------
def target_reference(rewards, next_q, terminated, truncated, gamma):
    return rewards + gamma * (1.0 - terminated) * next_q


def target_other_way(rewards, next_q, terminated, truncated, gamma):
    alive = tf.cast(tf.equal(tf.cast(terminated, tf.float32), 0.0), tf.float32)
    return tf.cast(rewards, tf.float32) + gamma * alive * tf.cast(next_q, tf.float32)


def target_tf_where(rewards, next_q, terminated, truncated, gamma):
    rewards = tf.cast(rewards, tf.float32)
    bootstrap = rewards + gamma * tf.cast(next_q, tf.float32)
    return tf.where(tf.cast(terminated, tf.float32) > 0, rewards, bootstrap)


def target_np_where(rewards, next_q, terminated, truncated, gamma):
    return np.where(terminated > 0, rewards, rewards + gamma * next_q)


def target_if_terminated(rewards, next_q, terminated, truncated, gamma):
    if terminated:
        return rewards
    return rewards + gamma * next_q


def target_in_place(rewards, next_q, terminated, truncated, gamma):
    rewards += gamma * (1.0 - terminated) * next_q
    return rewards


def test_target_reference_passes(capsys):
    pendulum.check_critic_target(target_reference)
    assert capsys.readouterr().out.startswith("✔ critic target")


@pytest.mark.parametrize("answer", [target_other_way, target_tf_where])
def test_target_written_differently_passes(answer):
    pendulum.check_critic_target(answer)


@pytest.mark.parametrize(
    ("answer", "mistake", "fragment"),
    [
        (lambda r, q, te, tr, g: r + g * (1 - np.maximum(te, tr)) * q,
         "target/truncated-too", "truncated rows too"),
        (lambda r, q, te, tr, g: r + g * (1 - tr) * q,
         "target/truncated-for-terminated", "used `truncated`"),
        (lambda r, q, te, tr, g: r + g * q,
         "target/no-terminal", "switch the future value off"),
        (lambda r, q, te, tr, g: r + g * te * q, "target/inverted-flag", "inverted"),
        (lambda r, q, te, tr, g: r + (1 - te) * q,
         "target/no-gamma", "gamma is missing"),
        (lambda r, q, te, tr, g: g * (1 - te) * q,
         "target/no-reward", "r is missing"),
        (target_if_terminated, "array/truth-value", "(1 - terminated)"),
        (target_in_place, "target/changes-input", "`rewards` in place"),
        (lambda r, q, te, tr, g: np.ravel(r + g * (1 - te) * q), None, "shape"),
    ],
)
def test_target_mistakes_fail(answer, mistake, fragment):
    mistake_of(pendulum.check_critic_target, answer, mistake, fragment)


def test_target_numpy_in_graph_names_the_operation():
    message = mistake_of(
        pendulum.check_critic_target, target_np_where, "tf/numpy-in-graph",
        "inside tf.function", "np.where -> tf.where",
    )
    assert "line" in message and "np.where(terminated > 0" in message


def test_target_numpy_method_in_graph_names_it():
    def with_numpy_method(rewards, next_q, terminated, truncated, gamma):
        if isinstance(terminated, np.ndarray):
            return rewards + gamma * (1 - terminated) * next_q
        return rewards + gamma * (1 - terminated.numpy()) * next_q

    mistake_of(pendulum.check_critic_target, with_numpy_method, "tf/numpy-in-graph",
               "so .numpy() cannot run", "drop it")


def test_target_integer_flags_are_among_the_cases():
    def float_flags_only(rewards, next_q, terminated, truncated, gamma):
        alive = 1.0 - np.asarray(terminated, dtype=np.float32)
        if alive.dtype != np.asarray(terminated).dtype:
            raise TypeError("flags must be floats")
        return rewards + gamma * alive * next_q

    fails(pendulum.check_critic_target, float_flags_only, "flags must be floats",
          "int64")


# --------------------------------------------------------------------------------------
# Exercise 4: the losses, (actor_loss, critic_loss)
# --------------------------------------------------------------------------------------
def losses_reference(batch, actor, critic, target_actor, target_critic, gamma):
    s, a, r, s2, te, tr = batch
    y = target_reference(r, target_critic([s2, target_actor(s2)]), te, tr, gamma)
    critic_loss = tf.reduce_mean(tf.square(y - critic([s, a])))
    actor_loss = -tf.reduce_mean(critic([s, actor(s)]))
    return actor_loss, critic_loss


def losses_other_way(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions, rewards, next_states, terminated, _ = batch
    next_q = target_critic([next_states, target_actor(next_states)], training=False)
    y = tf.stop_gradient(rewards + gamma * (1 - terminated) * next_q)
    critic_loss = keras.losses.MeanSquaredError()(y, critic([states, actions]))
    actor_loss = tf.reduce_mean(-critic([states, actor(states)]))
    return [actor_loss, critic_loss]


def losses_third_way(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions, rewards, next_states, terminated, truncated = batch
    del truncated
    alive = tf.where(terminated > 0.5, 0.0, 1.0)
    next_q = target_critic([next_states, target_actor(next_states)])
    y = rewards + gamma * alive * next_q
    errors = y - critic([states, actions])
    critic_loss = tf.reduce_sum(errors * errors) / tf.cast(tf.size(errors), tf.float32)
    actor_loss = tf.negative(tf.reduce_mean(critic([states, actor(states)])))
    return (actor_loss, critic_loss)


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
        return actor_loss, critic_loss

    return losses


def swapped(*args):
    actor_loss, critic_loss = losses_reference(*args)
    return critic_loss, actor_loss


def through_numpy(*args):
    actor_loss, critic_loss = losses_reference(*args)
    return actor_loss, float(critic_loss.numpy())


def actor_cut_off(batch, actor, critic, target_actor, target_critic, gamma):
    _, critic_loss = losses_reference(batch, actor, critic, target_actor,
                                      target_critic, gamma)
    states = batch[0]
    actions = tf.stop_gradient(actor(states))
    return -tf.reduce_mean(critic([states, actions])), critic_loss


def critic_cut_off(batch, actor, critic, target_actor, target_critic, gamma):
    actor_loss, critic_loss = losses_reference(batch, actor, critic, target_actor,
                                               target_critic, gamma)
    return actor_loss, tf.stop_gradient(critic_loss)


def actor_half_gradient(batch, actor, critic, target_actor, target_critic, gamma):
    _, critic_loss = losses_reference(batch, actor, critic, target_actor,
                                      target_critic, gamma)
    states = batch[0]
    actions = actor(states)
    actions = 0.5 * actions + 0.5 * tf.stop_gradient(actions)  # same value
    return -tf.reduce_mean(critic([states, actions])), critic_loss


def numpy_only_in_graph(batch, actor, critic, target_actor, target_critic, gamma):
    s, a, r, s2, te, tr = batch
    alive = 1 - te.numpy()  # a value eagerly; nothing inside tf.function
    y = r + gamma * alive * target_critic([s2, target_actor(s2)])
    critic_loss = tf.reduce_mean(tf.square(y - critic([s, a])))
    return -tf.reduce_mean(critic([s, actor(s)])), critic_loss


def losses_if_terminated(batch, actor, critic, target_actor, target_critic, gamma):
    s, a, r, s2, te, tr = batch
    y = r if te else r + gamma * target_critic([s2, target_actor(s2)])
    critic_loss = tf.reduce_mean(tf.square(y - critic([s, a])))
    return -tf.reduce_mean(critic([s, actor(s)])), critic_loss


def squeezed_q(batch, actor, critic, target_actor, target_critic, gamma):
    """Mutation testing's catalogue: Q squeezed to (B,), y kept (B, 1)."""
    s, a, r, s2, te, tr = batch
    y = r + gamma * (1 - te) * target_critic([s2, target_actor(s2)])
    q = tf.squeeze(critic([s, a]), axis=1)
    return -tf.reduce_mean(critic([s, actor(s)])), tf.reduce_mean(tf.square(y - q))


def test_losses_reference_passes(capsys):
    pendulum.check_ddpg_losses(losses_reference)
    assert capsys.readouterr().out.startswith("✔ DDPG losses")


@pytest.mark.parametrize("answer", [losses_other_way, losses_third_way])
def test_losses_written_differently_passes(answer):
    pendulum.check_ddpg_losses(answer)


@pytest.mark.parametrize(
    ("answer", "mistake", "fragment"),
    [
        (make_losses(online_target=True), "losses/critic-target-from-online",
         "ONLINE actor and critic"),
        (make_losses(sign=1.0), "losses/actor-sign", "wrong sign"),
        (make_losses(buffer_actions=True), "losses/actor-buffer-actions",
         "actions stored in the buffer"),
        (make_losses(power=1), "losses/critic-absolute-error", "ABSOLUTE"),
        (make_losses(mean=False), "losses/critic-sum", "summed over the batch"),
        (swapped, "losses/swapped-pair", "(actor_loss, critic_loss)"),
        (through_numpy, "losses/not-tensors", "got EagerTensor (actor_loss) and "
         "float (critic_loss)"),
        (actor_cut_off, "losses/no-actor-gradient", "no gradient"),
        (critic_cut_off, "losses/no-critic-gradient", "no gradient"),
        (actor_half_gradient, "losses/wrong-gradient", "not the right gradient"),
        (numpy_only_in_graph, "tf/numpy-in-graph", "so .numpy() cannot run"),
        (losses_if_terminated, "array/truth-value", "(1 - terminated)"),
        (squeezed_q, "losses/critic-broadcast", "broadcasts to (B, B)"),
    ],
)
def test_losses_mistakes_fail(answer, mistake, fragment):
    mistake_of(pendulum.check_ddpg_losses, answer, mistake, fragment)


def test_losses_bad_returns_fail_cleanly():
    fails(pendulum.check_ddpg_losses, lambda *args: None, "returned None",
          "(actor_loss, critic_loss)")
    fails(pendulum.check_ddpg_losses, lambda *args: (tf.constant(1.0),),
          "should return 2 values")
    fails(pendulum.check_ddpg_losses,
          lambda *args: (tf.constant([1.0, 2.0]), tf.constant(1.0)), "shape")


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


def soft_nest(target_weights, online_weights, tau):
    return tf.nest.map_structure(
        lambda t, o: tf.add(tf.multiply(1 - tau, t), tf.multiply(tau, o)),
        list(target_weights),
        list(online_weights),
    )


def soft_tf_ops(target_weights, online_weights, tau):
    pairs = zip(target_weights, online_weights, strict=True)
    return [tf.identity(t) + tau * (o - t) for t, o in pairs]


def soft_variable_copies(target_weights, online_weights, tau):
    """New tf.Variables assigned: right eagerly, but the compiled update step cannot
    create variables at every call."""
    new = []
    for t, o in zip(target_weights, online_weights, strict=True):
        copy_ = tf.Variable(tf.identity(t))
        copy_.assign(tau * o + (1 - tau) * copy_)
        new.append(copy_)
    return new


def soft_in_place_numpy(t_list, o_list, tau):
    for t, o in zip(t_list, o_list, strict=True):
        t *= 1 - tau
        t += tau * o
    return t_list


def soft_assign_variables_only(t_list, o_list, tau):
    new = soft_reference(t_list, o_list, tau)
    for t, value in zip(t_list, new, strict=True):
        if not isinstance(t, np.ndarray):
            t.assign(value)
    return new


def test_soft_reference_passes(capsys):
    pendulum.check_soft_update(soft_reference)
    assert capsys.readouterr().out.startswith("✔ soft update")


@pytest.mark.parametrize("answer", [soft_other_way, soft_nest, soft_tf_ops])
def test_soft_written_differently_passes(answer):
    pendulum.check_soft_update(answer)


@pytest.mark.parametrize(
    ("answer", "mistake", "fragment"),
    [
        (lambda ts, os_, tau: [(1 - tau) * o + tau * t for t, o in zip(ts, os_,
                                                                        strict=True)],
         "soft/tau-backwards", "wrong way round"),
        (lambda t, o, tau: list(o), "soft/hard-copy", "copied the online"),
        (lambda t, o, tau: [w * 1.0 for w in t], "soft/not-moved", "did not move"),
        (soft_in_place_numpy, "soft/changes-input",
         "changed its input `target_weights` in place"),
        (soft_assign_variables_only, "soft/changes-input", "on Keras variables"),
        (soft_variable_copies, "soft/graph-only", "fails inside tf.function"),
    ],
)
def test_soft_mistakes_fail(answer, mistake, fragment):
    mistake_of(pendulum.check_soft_update, answer, mistake, fragment)


def test_soft_assign_on_arrays_fails():
    def in_place(t_list, o_list, tau):
        for t, o in zip(t_list, o_list, strict=True):
            t.assign(tau * o + (1 - tau) * t)
        return t_list

    fails(pendulum.check_soft_update, in_place, "AttributeError")


def test_soft_numpy_inside_graph_fails():
    def numpy_sum(t_list, o_list, tau):
        pairs = zip(t_list, o_list, strict=True)
        return [np.add((1 - tau) * t, tau * o) for t, o in pairs]

    mistake_of(pendulum.check_soft_update, numpy_sum, "tf/numpy-in-graph",
               "np.add -> +")


def test_soft_bad_returns_fail_cleanly():
    fails(pendulum.check_soft_update, lambda t, o, tau: None, "list", "got None")
    fails(pendulum.check_soft_update, lambda t, o, tau: [t[0]], "returned 1 arrays")
    fails(
        pendulum.check_soft_update,
        lambda t, o, tau: [np.asarray(x) * 0 + 1 for x in t],
        "new target weight",
    )


# --------------------------------------------------------------------------------------
# Probe + judge: mistake ids, plain data, forged data never passes
# --------------------------------------------------------------------------------------
RIGHT_ANSWERS = {
    "OU_STEP": ou_reference,
    "REPLAY_BUFFER": Buffer,
    "CRITIC_TARGET": target_reference,
    "LOSSES": losses_reference,
    "SOFT_UPDATE": soft_reference,
}
# Records a judge reads only when an answer is wrong (the repeated call that tells a
# step drawing its own random numbers, the type names of losses that are not
# tensors): forging them changes nothing.
READ_ONLY_WHEN_WRONG = re.compile(r"^again\d+$|/type\d$")


@pytest.fixture(scope="module")
def genuine():
    """The probe's data for each check's right answer."""
    return genuine_data(pendulum, RIGHT_ANSWERS)


def test_mistake_ids_are_stable_names():
    import inspect

    prefixes = ("ou", "buffer", "target", "losses", "soft")
    assert len(mistake_ids(pendulum, prefixes)) >= 40
    source = inspect.getsource(pendulum)
    assert re.findall(r'f"losses/no-\{owner\}-gradient"', source)


@pytest.mark.parametrize("name", sorted(RIGHT_ANSWERS))
def test_probe_data_survives_json_and_passes(genuine, name):
    assert_genuine_passes(getattr(pendulum, name), genuine[name])


@pytest.mark.parametrize("name", sorted(RIGHT_ANSWERS))
@pytest.mark.parametrize(
    "payload",
    [
        *GARBAGE_PAYLOADS,
        '{"records": {"case0": {"kind": "array", "dtype": "float64",'
        ' "shape": [1000000000], "data": []}}}',
        '{"records": {"case0": {"kind": "array", "dtype": "float64", "shape": [2],'
        ' "data": ["NaN", "1"]}}}',
        *OVERSIZED_PAYLOADS,
    ],
)
def test_forged_garbage_never_passes(name, payload):
    refused(getattr(pendulum, name), payload)


@pytest.mark.parametrize("name", sorted(RIGHT_ANSWERS))
def test_a_stopped_probe_never_passes(genuine, name):
    assert_stop_refused(getattr(pendulum, name), genuine[name], "record() failed")


def keys_to_forge(data: dict) -> list[str]:
    """Every record; of the buffer's 200 alike small batches, the first and last
    (each forged buffer payload costs a full decoding of its 300 kB)."""
    last = f"many{pendulum._MANY_CALLS - 1}"
    return [
        key for key in data["records"]
        if not re.fullmatch(r"many\d+|repeat|one", key) or key in ("many0", last)
    ]


@pytest.mark.parametrize("name", sorted(RIGHT_ANSWERS))
def test_forged_records_never_pass(genuine, name):
    data = genuine[name]
    assert_forged_records_refused(
        getattr(pendulum, name), data, keys_to_forge(data),
        read_only_when_wrong=READ_ONLY_WHEN_WRONG,
    )


def test_forged_buffer_rows_never_pass(genuine):
    data = genuine["REPLAY_BUFFER"]
    first = data["records"]["first"]
    # Every sampled row replaced by transition 1: right shapes, wrong sampling.
    forged = copy.deepcopy(data)
    for item in forged["records"]["first"]["items"]:
        width = item["shape"][1]
        item["data"] = item["data"][:width] * item["shape"][0]
    refused(pendulum.REPLAY_BUFFER, dumps(forged))
    # An error recorded for len() (optional) does not excuse anything else.
    forged = copy.deepcopy(data)
    forged["records"]["len"] = {"kind": "error", "message": "no len", "mistake": None}
    forged["records"]["first"] = {"kind": "none"}
    refused(pendulum.REPLAY_BUFFER, dumps(forged))
    assert first["kind"] == "seq"


def test_forged_gradients_never_pass(genuine):
    data = genuine["LOSSES"]
    for key in ("losses0/grad0/actor", "losses1/grad1/critic"):
        forged = copy.deepcopy(data)
        grads = forged["records"][key]["items"]
        grads[0]["data"] = [2.0 * float(x) for x in grads[0]["data"]]
        refused(pendulum.LOSSES, dumps(forged))
        forged["records"][key] = {"kind": "seq", "type": "list", "items": grads[:2]}
        refused(pendulum.LOSSES, dumps(forged))
    forged = copy.deepcopy(data)
    forged["records"]["losses0/tensor1"] = {
        "kind": "array", "dtype": "bool", "shape": [], "data": [False]
    }
    refused(pendulum.LOSSES, dumps(forged))
    forged["records"]["losses0/type1"] = {"kind": "none"}
    refused(pendulum.LOSSES, dumps(forged))


def test_judges_never_import_tensorflow():
    import inspect

    top_level = top_level_imports(pendulum)
    assert "tensorflow" not in top_level and "keras" not in top_level
    for function in (pendulum._judge_ou, pendulum._judge_buffer,
                     pendulum._judge_target, pendulum._judge_losses,
                     pendulum._judge_soft):
        assert "tensorflow" not in inspect.getsource(function)


def test_check_functions_run_their_checks():
    from course_utils.checks import core

    if not hasattr(core, "check_of"):
        pytest.skip("check_of not in the core yet")
    for name in RIGHT_ANSWERS:
        function = {
            "OU_STEP": pendulum.check_ou_step,
            "REPLAY_BUFFER": pendulum.check_replay_buffer,
            "CRITIC_TARGET": pendulum.check_critic_target,
            "LOSSES": pendulum.check_ddpg_losses,
            "SOFT_UPDATE": pendulum.check_soft_update,
        }[name]
        assert core.check_of(function) is getattr(pendulum, name)


def test_payload_size_is_bounded(genuine):
    for data in genuine.values():
        assert len(json.dumps(data)) < MAX_PAYLOAD // 4


# --------------------------------------------------------------------------------------
# Challenge-response (grading): fresh cases drawn from the grader's challenge
# --------------------------------------------------------------------------------------
MISTAKES_DIR = Path(__file__).parents[1] / "mutation" / "mistakes"
CATALOGUES = {
    "OU_STEP": "ch02_ex1.py",
    "REPLAY_BUFFER": "ch02_ex2.py",
    "CRITIC_TARGET": "ch02_ex3.py",
    "LOSSES": "ch02_ex4.py",
    "SOFT_UPDATE": "ch02_ex5.py",
}
# Right answers however written (the solutions the tests above pass).
WRITTEN_DIFFERENTLY = {
    "OU_STEP": (ou_other_way, ou_into_a_new_array),
    "REPLAY_BUFFER": (ListBuffer, DequeBuffer),
    "CRITIC_TARGET": (target_other_way, target_tf_where),
    "LOSSES": (losses_other_way, losses_third_way),
    "SOFT_UPDATE": (soft_other_way, soft_nest, soft_tf_ops),
}
BUILDERS = {
    "ou": pendulum._ou_cases,
    "buffer": pendulum._buffer_plan,
    "target": pendulum._target_cases,
    "losses": pendulum._loss_setup,
    "soft": pendulum._soft_cases,
}


def catalogued(name):
    """(check name, answer as the check receives it, mistake id or None) of each
    entry of a check's catalogue (a class entry overrides the solution's methods)."""
    return [
        pytest.param(
            name, as_student_object(answer, RIGHT_ANSWERS[name]), wrong.mistake,
            id=f"{name}-{wrong.name}",
        )
        for wrong, answer in catalogue_entries(MISTAKES_DIR / CATALOGUES[name])
    ]






_LOSS_NETS: dict = {}  # Exercise 4's four Keras networks, built once a process


@pytest.fixture
def loss_nets_built_once(monkeypatch):
    """Exercise 4's probe with its four networks built once, not at every probe.

    Building them is about 40% of that probe, and the challenge tests probe it about
    250 times. Each probe still gets them with its own challenge's weights, set as
    the check sets them (the same networks, the same numbers); networks an answer
    left with other trainable weights are built again.
    """
    build = pendulum._keras_nets

    def trainable(nets):
        return [[id(v) for v in net.trainable_variables] for net in nets]

    def nets(weights):
        if not _LOSS_NETS or trainable(_LOSS_NETS["nets"]) != _LOSS_NETS["trainable"]:
            _LOSS_NETS["nets"] = build(weights)
            _LOSS_NETS["trainable"] = trainable(_LOSS_NETS["nets"])
        for net, values in zip(_LOSS_NETS["nets"], weights, strict=True):
            net.set_weights([x.astype(np.float32) for x in values])
        return _LOSS_NETS["nets"]

    monkeypatch.setattr(pendulum, "_keras_nets", nets)


@pytest.mark.parametrize("name", sorted(RIGHT_ANSWERS))
def test_right_answers_pass_under_every_challenge(name, loss_nets_built_once):
    check = getattr(pendulum, name)
    for answer in (RIGHT_ANSWERS[name], *WRITTEN_DIFFERENTLY[name]):
        for challenge in CHALLENGES:
            verdict = graded(check, answer, challenge=challenge, reuse=True)
            assert verdict == ("passed", None), (answer.__name__, challenge)


@pytest.mark.parametrize(
    ("name", "answer", "mistake"),
    [entry for name in sorted(CATALOGUES) for entry in catalogued(name)],
)
def test_catalogued_mistakes_keep_their_id_under_every_challenge(
    name, answer, mistake, loss_nets_built_once
):
    check = getattr(pendulum, name)
    for challenge in CHALLENGES:
        status, named = graded(check, answer, challenge=challenge)
        assert status == "failed", challenge
        if mistake is not None:  # an entry without an id only has to fail
            assert named == mistake, challenge


@pytest.mark.parametrize(
    ("answer", "mistake"),
    [
        (SamplesEmptyRows, "buffer/empty-rows"),
        (NeverWraps, "buffer/never-wraps"),
        (GrowsPastCapacity, "buffer/never-wraps"),
        (GlobalRandom, "buffer/not-repeatable"),
        (MixedRows, "buffer/mixed-rows"),
        (LastRowsOnly, "buffer/misses-rows"),
        (SampleOffByOne, "buffer/sample-off-by-one"),
        (Skewed, "buffer/not-uniform"),
        (WrongLen, "buffer/wrong-len"),
    ],
)
def test_other_buffer_mistakes_keep_their_id_under_every_challenge(answer, mistake):
    for challenge in CHALLENGES:
        assert graded(pendulum.REPLAY_BUFFER, answer, challenge=challenge) == (
            "failed", mistake,
        ), challenge


@pytest.mark.parametrize("name", sorted(RIGHT_ANSWERS))
def test_replayed_payloads_never_pass(name, loss_nets_built_once):
    assert_replays_refused(getattr(pendulum, name), RIGHT_ANSWERS[name])


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_challenged_cases_are_new_and_repeatable(builder):
    assert_cases_new_and_repeatable(BUILDERS[builder])


def test_fixed_cases_are_the_notebook_ones():
    # Without a challenge the cases, and so the messages, are the published ones.
    assert pendulum._buffer_plan() == pendulum._BufferPlan()
    plan = pendulum._BufferPlan()
    assert (plan.capacity, plan.first, plan.wrapped) == (5, (1, 2, 3), (4, 5, 6, 7, 8))
    assert plan.overwriting == (6, 7, 8)
    state, action, reward, next_state, terminated, truncated = (
        pendulum._transition(3, plan)
    )
    assert state.tolist() == [3.0, 3.25, -3.0] and action.tolist() == [0.03]
    assert reward == -3.0 and next_state.tolist() == [1003.0, 0.5, 3.0]
    assert (terminated, truncated) == (True, False)
    setup = pendulum._loss_setup()
    assert setup["gamma"] == 0.9 and [len(b["rewards"]) for b in setup["batches"]] \
        == [5, 2]
    assert [case["tau"] for case in pendulum._soft_cases()] == [0.1, 0.25, 0.0, 1.0]


def same_layout(new, old):
    """Same keys, and arrays of the same shapes and dtypes."""
    assert list(new) == list(old)
    for key, value in old.items():
        if isinstance(value, np.ndarray):
            assert new[key].shape == value.shape and new[key].dtype == value.dtype, key
        else:
            assert type(new[key]) is type(value), key


def test_challenged_cases_keep_the_structure():
    fixed_ou, fixed_target = pendulum._ou_cases(), pendulum._target_cases()
    fixed_soft, fixed_losses = pendulum._soft_cases(), pendulum._loss_setup()
    for challenge in range(200):
        with challenged(challenge):
            ou, target = pendulum._ou_cases(), pendulum._target_cases()
            soft, setup, plan = (
                pendulum._soft_cases(), pendulum._loss_setup(), pendulum._buffer_plan()
            )
        # OU: no kick in case 0, x at the mean in case 3, integers in case 4.
        for new, old in zip(ou, fixed_ou, strict=True):
            same_layout(new, old)
        assert not ou[0]["normal_sample"].any() and ou[1]["normal_sample"].all()
        assert (ou[3]["x"] == ou[3]["mu"]).all() and (ou[2]["x"] == 0).any()
        assert ou[4]["mu"] == 0 and ou[4]["x"].dtype.kind == "i"
        assert all(0 < case["dt"] < 1 and case["sigma"] != 1 for case in ou)
        # Critic target: the same flags, gamma 0 where it was.
        for new, old in zip(target, fixed_target, strict=True):
            same_layout(new, old)
            for flag in ("terminated", "truncated"):
                assert np.array_equal(new[flag], old[flag])
            assert (new["gamma"] == 0) == (old["gamma"] == 0)
            assert (new["rewards"] != 0).all() and (np.abs(new["next_q"]) >= 1).all()
        # Soft update: tau 0 and 1 kept, never 1/2; online apart from target.
        assert [case["tau"] for case in soft][2:] == [0.0, 1.0]
        assert all(0 < case["tau"] < 1 and case["tau"] != 0.5 for case in soft[:2])
        for new, old in zip(soft, fixed_soft, strict=True):
            for key in ("target_weights", "online_weights"):
                assert [w.shape for w in new[key]] == [w.shape for w in old[key]]
            for t, o in zip(new["target_weights"], new["online_weights"], strict=True):
                assert (np.abs(o - t) >= 0.19).all()
        # Losses: new weights of the same shapes; row 0 terminated, the last truncated.
        for new, old in zip(setup["weights"], fixed_losses["weights"], strict=True):
            assert [w.shape for w in new] == [w.shape for w in old]
        sizes = [len(batch["rewards"]) for batch in setup["batches"]]
        assert 4 <= sizes[0] <= 6 and sizes[1] == 2
        for batch, size in zip(setup["batches"], sizes, strict=True):
            assert batch["terminated"][:, 0].tolist() == [1] + [0] * (size - 1)
            assert batch["truncated"][:, 0].tolist() == [0] * (size - 1) + [1]
        # Buffer: partly filled, then wrapped once over all of step 1; the many
        # rows far fewer than their capacity, at least 1,000 draws among them.
        assert 3 <= len(plan.first) < plan.capacity and plan.first[0] == 1
        assert plan.wrapped[0] == len(plan.first) + 1
        assert len(plan.wrapped) == plan.capacity
        assert plan.many_batch < plan.many_rows < plan.many_capacity
        assert plan.many_calls * plan.many_batch >= 1000
        rows = pendulum._transition_rows(np.array(plan.first), plan)
        assert ((rows[4] == 1) & (rows[5] == 0)).any()  # terminated, not truncated
        every = pendulum._transition_rows(np.arange(1, plan.many_rows + 1), plan)
        assert (np.abs(every[1]) <= 2).all()  # Pendulum's actions


def test_mistakes_stay_apart_under_many_challenges():
    # Each typical mistake, on the first case where it is wrong, is recognised as
    # itself (no two coincide there) under any challenge, not only the tested ones.
    def reference_ou(case):
        return pendulum.reference_ou_step(**case)

    def reference_target(case):
        return pendulum.reference_critic_target(
            case["rewards"], case["next_q"], case["terminated"], case["gamma"]
        )

    def reference_soft(case):  # the first weight (every case has one)
        return pendulum.reference_soft_update(
            case["target_weights"], case["online_weights"], case["tau"]
        )[0]

    checked = [
        (pendulum._ou_cases, pendulum._ou_mistakes, reference_ou),
        (pendulum._target_cases, pendulum._target_mistakes, reference_target),
        (pendulum._soft_cases, lambda case: pendulum._soft_mistakes(case, 0),
         reference_soft),
    ]
    tol = pendulum._TOL
    loose = {key: 10 * value for key, value in tol.items()}  # a margin
    firsts = {}
    for challenge in (None, *range(300)):
        for build, mistakes_of, reference in checked:
            with challenged(challenge):
                cases = build()
            lists = [mistakes_of(case) for case in cases]
            expected = [np.asarray(reference(case), float) for case in cases]
            for index in range(len(lists[0])):
                for number, (mistakes, right) in enumerate(
                    zip(lists, expected, strict=True)
                ):
                    mistake = mistakes[index]
                    value = np.asarray(mistake.value, float)
                    if not np.allclose(value, right, **tol):
                        # Apart from the right answer and the mistakes before it
                        # by 10 times the tolerance.
                        assert not np.allclose(value, right, **loose), challenge
                        assert recognise(value, mistakes, **loose) is mistake, (
                            challenge, mistake.id
                        )
                        first = firsts.setdefault(mistake.id, number)
                        assert number == first, (challenge, mistake.id)
                        break
                else:
                    pytest.fail(f"{lists[0][index].id} never wrong ({challenge})")


def test_loss_mistakes_stay_apart_under_many_challenges():
    # One batch's losses are two numbers, and with random networks a typical
    # mistake's loss comes within the tolerance of another's under a few
    # challenges in a hundred: the judge names a mistake only when the student's
    # values on the other batch agree with it. Under any challenge, each
    # mistake's values are named as that mistake (by the judge's own code).
    entries = [(0, ref, id_) for ref, id_, _ in pendulum._ACTOR_MISTAKES] + [
        (1, ref, id_) for ref, id_, _ in pendulum._CRITIC_MISTAKES
    ]

    def named(refs_all, slot, ref):
        values = []
        for refs in refs_all:
            pair = [refs["actor"], refs["critic"]]
            pair[slot] = refs[ref]
            values.append(tuple(np.float64(v) for v in pair))
        records = {f"losses{index}": pair for index, pair in enumerate(values)}
        for index in range(len(values)):
            try:
                pendulum._judge_loss_values(
                    records, f"losses{index}", index, values, refs_all, "a batch"
                )
            except CheckFailed as failure:
                return failure.mistake
        return "passed"

    for challenge in (None, *range(300)):
        with challenged(challenge):
            setup = pendulum._loss_setup()
        # The references depend on the challenge only: once for every entry.
        refs_all = [
            pendulum._loss_references(case, setup["weights"], setup["gamma"])
            for case in setup["batches"]
        ]
        for slot, ref, mistake in entries:
            assert named(refs_all, slot, ref) == mistake, (challenge, ref)


def probe_side_names():
    """Top-level names of pendulum.py reachable from its probes and case builders."""
    tree = ast.parse(inspect.getsource(pendulum))
    definitions, checks = {}, set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            definitions[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            value = node.value
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Tuple):  # _SMALL, _FIRST = ...
                    definitions.update(
                        (item.id, value) for item in target.elts
                        if isinstance(item, ast.Name)
                    )
                elif isinstance(target, ast.Name):
                    is_check = (
                        isinstance(value, ast.Call)
                        and isinstance(value.func, ast.Name)
                        and value.func.id == "Check"
                    )
                    if is_check:
                        checks.add(value.args[1].id)  # only the probe is reachable
                        definitions[target.id] = value.args[1]
                    else:
                        definitions[target.id] = value
    builders = {
        name for name, node in definitions.items()
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(n, ast.Name) and n.id == "case_rng" for n in ast.walk(node))
    }
    assert checks == {
        "_probe_ou", "_probe_buffer", "_probe_target", "_probe_losses", "_probe_soft"
    }
    assert builders == {
        "_ou_cases", "_buffer_plan", "_target_cases", "_loss_setup", "_soft_cases"
    }
    reachable, todo = set(), [*checks, *builders]
    while todo:
        name = todo.pop()
        if name in reachable or name not in definitions:
            continue
        reachable.add(name)
        todo += [n.id for n in ast.walk(definitions[name]) if isinstance(n, ast.Name)]
    return reachable


def test_probes_and_case_builders_reach_no_reference_judge_or_mistake():
    reachable = probe_side_names()
    assert {"_ou_drawn", "_target_drawn", "_BufferPlan", "_transition_rows",
            "_net_weights", "_loss_batch", "_keras_nets"} <= reachable
    for name in reachable:
        assert not name.startswith("reference_"), name
        assert "judge" not in name and "mistake" not in name, name
    # Nor anything that computes an answer: the NumPy networks and losses stay
    # judge-side (the probe runs the student's code on Keras copies).
    assert not reachable & {
        "_np_actor", "_np_critic", "_loss_references", "_reference_gradients",
        "_transition_ids", "_CRITIC_MISTAKES", "_ACTOR_MISTAKES",
    }


def test_chi_square_tail_matches_known_quantiles():
    for statistic, df in ((3.841, 1), (5.991, 2), (7.815, 3), (54.572, 39)):
        assert abs(pendulum._chi_square_tail(statistic, df) - 0.05) < 1e-4


@pytest.mark.parametrize("rows", [4, 5, 6, 7])
def test_buffer_uniformity_catches_one_row_twice_as_likely(rows):
    rng = np.random.default_rng(rows)
    doubled = np.full(rows, 1.0)
    doubled[0] = 2.0
    for _ in range(20):  # the smallest step-2 sample: 2,000 draws
        counts = rng.multinomial(2000, doubled / doubled.sum())
        with pytest.raises(CheckFailed) as failure:
            pendulum._uniform_counts(counts, "2000 draws")
        assert failure.value.mistake == "buffer/not-uniform"
        assert "twice" not in str(failure.value)  # the numbers show unevenness only
        fair = rng.multinomial(2000, np.full(rows, 1.0 / rows))
        pendulum._uniform_counts(fair, "2000 draws")
