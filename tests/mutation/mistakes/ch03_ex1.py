"""Typical wrong answers to chapter 03, Exercise 1 (the clipped double-Q target).

From the lesson: y = r + gamma * (1 - terminated) * min(Q'_1, Q'_2), row by row; the
smaller of the two target critics' estimates, because the larger (or one critic
alone) keeps the over-estimation; plain arithmetic or tf functions, as the compiled
update step calls it on tensors.
"""

import numpy as np
import tensorflow as tf

from instructor.tools.mutation.catalogue import wrong


@wrong("takes the larger estimate", mistake="double-q/max")
def larger(rewards, next_q1, next_q2, terminated, gamma):
    return rewards + gamma * (1.0 - terminated) * tf.maximum(next_q1, next_q2)


@wrong("averages the two estimates", mistake="double-q/mean")
def average(rewards, next_q1, next_q2, terminated, gamma):
    return rewards + gamma * (1.0 - terminated) * (next_q1 + next_q2) / 2


@wrong("uses the first critic alone (DDPG's target)", mistake="double-q/one-critic")
def first_only(rewards, next_q1, next_q2, terminated, gamma):
    return rewards + gamma * (1.0 - terminated) * next_q1


@wrong("uses the second critic alone", mistake="double-q/one-critic")
def second_only(rewards, next_q1, next_q2, terminated, gamma):
    return rewards + gamma * (1.0 - terminated) * next_q2


@wrong("tf.reduce_min: the smallest value of the whole batch for every row",
       mistake="double-q/batch-min")
def batch_min(rewards, next_q1, next_q2, terminated, gamma):
    smallest = tf.reduce_min(tf.minimum(next_q1, next_q2))
    return rewards + gamma * (1.0 - terminated) * smallest


@wrong("Python's min() on two arrays", mistake="double-q/python-min")
def python_min(rewards, next_q1, next_q2, terminated, gamma):
    return rewards + gamma * (1.0 - terminated) * min(next_q1, next_q2)


@wrong("ignores terminated", mistake="double-q/no-terminal")
def no_terminal(rewards, next_q1, next_q2, terminated, gamma):
    return rewards + gamma * tf.minimum(next_q1, next_q2)


@wrong("the flag the wrong way round", mistake="double-q/inverted-flag")
def inverted_flag(rewards, next_q1, next_q2, terminated, gamma):
    return rewards + gamma * terminated * tf.minimum(next_q1, next_q2)


@wrong("forgets the discount", mistake="double-q/no-gamma")
def no_gamma(rewards, next_q1, next_q2, terminated, gamma):
    return rewards + (1.0 - terminated) * tf.minimum(next_q1, next_q2)


@wrong("forgets the reward", mistake="double-q/no-reward")
def no_reward(rewards, next_q1, next_q2, terminated, gamma):
    return gamma * (1.0 - terminated) * tf.minimum(next_q1, next_q2)


@wrong("np.minimum: works on arrays, cannot run on the update step's tensors",
       mistake="tf/numpy-in-graph")
def numpy_minimum(rewards, next_q1, next_q2, terminated, gamma):
    return rewards + gamma * (1.0 - terminated) * np.minimum(next_q1, next_q2)


@wrong("writes the smaller estimate into next_q1 in place (values right)",
       mistake="double-q/changes-input")
def in_place(rewards, next_q1, next_q2, terminated, gamma):
    np.minimum(next_q1, next_q2, out=next_q1)
    return rewards + gamma * (1.0 - terminated) * next_q1


@wrong("computes in float64 (values right): the float32 update step refuses it",
       mistake="double-q/float64")
def float64(rewards, next_q1, next_q2, terminated, gamma):
    smaller = tf.cast(tf.minimum(next_q1, next_q2), tf.float64)
    return (tf.cast(rewards, tf.float64)
            + gamma * (1.0 - tf.cast(terminated, tf.float64)) * smaller)


@wrong("discounts the future twice: gamma ** 2", mistake="double-q/gamma-twice")
def gamma_twice(rewards, next_q1, next_q2, terminated, gamma):
    return rewards + gamma * gamma * (1.0 - terminated) * tf.minimum(next_q1, next_q2)


@wrong("subtracts the discounted future", mistake="double-q/future-subtracted")
def future_subtracted(rewards, next_q1, next_q2, terminated, gamma):
    return rewards - gamma * (1.0 - terminated) * tf.minimum(next_q1, next_q2)


@wrong("adds the two critics' values", mistake="double-q/sum")
def summed(rewards, next_q1, next_q2, terminated, gamma):
    return rewards + gamma * (1.0 - terminated) * (next_q1 + next_q2)
