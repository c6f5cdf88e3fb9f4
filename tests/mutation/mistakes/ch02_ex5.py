"""Typical wrong answers to chapter 02, Exercise 5 (the soft target update).

From the lesson: theta' <- tau * theta + (1 - tau) * theta', for each weight;
return the new list and leave the inputs alone (the update step assigns); plain
arithmetic, so that it works on NumPy arrays and TensorFlow variables alike (in
tf.function too).
"""

import numpy as np
import tensorflow as tf

from instructor.tools.mutation.catalogue import wrong


@wrong("tau on the wrong side: tau * target + (1 - tau) * online",
       mistake="soft/tau-backwards")
def tau_backwards(target_weights, online_weights, tau):
    return [
        tau * target + (1 - tau) * online
        for target, online in zip(target_weights, online_weights, strict=True)
    ]


@wrong("the arguments read in the wrong order by zip", mistake="soft/tau-backwards")
def zip_swapped(target_weights, online_weights, tau):
    return [
        tau * online + (1 - tau) * target
        for online, target in zip(target_weights, online_weights, strict=True)
    ]


@wrong("copies the online weights (a hard update)", mistake="soft/hard-copy")
def hard_copy(target_weights, online_weights, tau):
    return [online for online in online_weights]


@wrong("returns the target weights unchanged", mistake="soft/not-moved")
def not_moved(target_weights, online_weights, tau):
    return list(target_weights)


@wrong("updates the target arrays in place (values right)",
       mistake="soft/changes-input")
def in_place(target_weights, online_weights, tau):
    for target, online in zip(target_weights, online_weights, strict=True):
        target *= 1 - tau
        target += tau * online
    return target_weights


@wrong("target.assign(...) as in keras.io's code: NumPy arrays have no assign")
def assigns(target_weights, online_weights, tau):
    for target, online in zip(target_weights, online_weights, strict=True):
        target.assign(tau * online + (1 - tau) * target)
    return target_weights


@wrong("off by one: the last weight (the output layer's bias) is left behind")
def skips_last(target_weights, online_weights, tau):
    new = [
        tau * online_weights[i] + (1 - tau) * target_weights[i]
        for i in range(len(target_weights) - 1)
    ]
    return new + [target_weights[-1]]


@wrong("np.asarray on the weights: works on arrays, not on symbolic tensors")
def numpy_convert(target_weights, online_weights, tau):
    return [
        tau * np.asarray(online) + (1 - tau) * np.asarray(target)
        for target, online in zip(target_weights, online_weights, strict=True)
    ]


@wrong("wraps each result in a new tf.Variable: impossible at every call of "
       "tf.function")
def new_variables(target_weights, online_weights, tau):
    return [
        tf.Variable(tau * online + (1 - tau) * target)
        for target, online in zip(target_weights, online_weights, strict=True)
    ]


@wrong("forgets to take tau of the target away: target + tau * online")
def missing_term(target_weights, online_weights, tau):
    return [
        target + tau * online
        for target, online in zip(target_weights, online_weights, strict=True)
    ]


@wrong("returns float64 weights (values right): the float32 variables refuse them",
       mistake="soft/float64")
def float64(target_weights, online_weights, tau):
    return [
        tf.cast(tau * o + (1.0 - tau) * t, tf.float64)
        for t, o in zip(target_weights, online_weights, strict=True)
    ]


@wrong("steps away from the online weights", mistake="soft/moves-away")
def moves_away(target_weights, online_weights, tau):
    return [t + tau * (t - o) for t, o in zip(target_weights, online_weights,
                                              strict=True)]


@wrong("forgets the (1 - tau) on the target", mistake="soft/no-one-minus-tau")
def no_one_minus_tau(target_weights, online_weights, tau):
    return [tau * o + t for t, o in zip(target_weights, online_weights, strict=True)]


@wrong("tau on both weights", mistake="soft/tau-on-both")
def tau_on_both(target_weights, online_weights, tau):
    return [tau * o + tau * t for t, o in zip(target_weights, online_weights,
                                              strict=True)]


@wrong("averages the two networks", mistake="soft/averaged")
def averaged(target_weights, online_weights, tau):
    return [(o + t) / 2 for t, o in zip(target_weights, online_weights, strict=True)]
