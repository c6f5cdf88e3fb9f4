"""Typical wrong answers to chapter 03, Exercise 2 (target policy smoothing).

From the lesson: noise = clip(noise_std * normal_sample, -noise_clip, noise_clip);
the target action is clip(target_action + noise, -action_bound, action_bound); the
standard normal draws are given (no random numbers of one's own); tf functions, as
the compiled update step calls it on tensors.
"""

import numpy as np
import tensorflow as tf

from instructor.tools.mutation.catalogue import wrong


def clip(x, low, high):
    return tf.clip_by_value(x, low, high)


@wrong("the noise is not clipped", mistake="smoothing/noise-not-clipped")
def noise_not_clipped(target_action, normal_sample, noise_std, noise_clip,
                      action_bound):
    return clip(target_action + noise_std * normal_sample, -action_bound,
                action_bound)


@wrong("the noisy action is not clipped to the bounds",
       mistake="smoothing/action-not-clipped")
def action_not_clipped(target_action, normal_sample, noise_std, noise_clip,
                       action_bound):
    return target_action + clip(noise_std * normal_sample, -noise_clip, noise_clip)


@wrong("nothing clipped", mistake="smoothing/nothing-clipped")
def nothing_clipped(target_action, normal_sample, noise_std, noise_clip,
                    action_bound):
    return target_action + noise_std * normal_sample


@wrong("the two clips swapped: the noise to the bounds, the action to noise_clip",
       mistake="smoothing/clips-swapped")
def clips_swapped(target_action, normal_sample, noise_std, noise_clip,
                  action_bound):
    noise = clip(noise_std * normal_sample, -action_bound, action_bound)
    return clip(target_action + noise, -noise_clip, noise_clip)


@wrong("clips the standard normal draw, then scales it",
       mistake="smoothing/clipped-before-scaling")
def clipped_before_scaling(target_action, normal_sample, noise_std, noise_clip,
                           action_bound):
    noise = noise_std * clip(normal_sample, -noise_clip, noise_clip)
    return clip(target_action + noise, -action_bound, action_bound)


@wrong("clips the noise from above only (tf.minimum)",
       mistake="smoothing/noise-clip-one-sided")
def noise_clip_above_only(target_action, normal_sample, noise_std, noise_clip,
                          action_bound):
    noise = tf.minimum(noise_std * normal_sample, noise_clip)
    return clip(target_action + noise, -action_bound, action_bound)


@wrong("clips the action from below only (tf.maximum)",
       mistake="smoothing/action-clip-one-sided")
def action_clip_below_only(target_action, normal_sample, noise_std, noise_clip,
                           action_bound):
    noise = clip(noise_std * normal_sample, -noise_clip, noise_clip)
    return tf.maximum(target_action + noise, -action_bound)


@wrong("forgets noise_std", mistake="smoothing/no-std")
def no_std(target_action, normal_sample, noise_std, noise_clip, action_bound):
    noise = clip(normal_sample, -noise_clip, noise_clip)
    return clip(target_action + noise, -action_bound, action_bound)


@wrong("scales by sqrt(noise_std), as if it were a variance",
       mistake="smoothing/std-as-variance")
def std_as_variance(target_action, normal_sample, noise_std, noise_clip,
                    action_bound):
    noise = clip(noise_std**0.5 * normal_sample, -noise_clip, noise_clip)
    return clip(target_action + noise, -action_bound, action_bound)


@wrong("subtracts the noise", mistake="smoothing/noise-subtracted")
def noise_subtracted(target_action, normal_sample, noise_std, noise_clip,
                     action_bound):
    noise = clip(noise_std * normal_sample, -noise_clip, noise_clip)
    return clip(target_action - noise, -action_bound, action_bound)


@wrong("adds no noise at all", mistake="smoothing/no-noise")
def no_noise(target_action, normal_sample, noise_std, noise_clip, action_bound):
    return clip(target_action, -action_bound, action_bound)


@wrong("draws its own noise instead of using normal_sample",
       mistake="smoothing/own-random")
def own_noise(target_action, normal_sample, noise_std, noise_clip, action_bound):
    draw = np.random.standard_normal(np.shape(target_action))
    noise = np.clip(noise_std * draw, -noise_clip, noise_clip)
    return np.clip(target_action + noise, -action_bound, action_bound)


@wrong("adds the noise into target_action in place (values right)",
       mistake="smoothing/changes-input")
def in_place(target_action, normal_sample, noise_std, noise_clip, action_bound):
    target_action += np.clip(noise_std * normal_sample, -noise_clip, noise_clip)
    return np.clip(target_action, -action_bound, action_bound)


@wrong("np.clip: works on arrays, cannot run on the update step's tensors",
       mistake="tf/numpy-in-graph")
def numpy_clip(target_action, normal_sample, noise_std, noise_clip, action_bound):
    noise = np.clip(noise_std * normal_sample, -noise_clip, noise_clip)
    return np.clip(target_action + noise, -action_bound, action_bound)


@wrong("a float64 noise constant (values right): the float32 update step refuses it",
       mistake="smoothing/float64")
def float64(target_action, normal_sample, noise_std, noise_clip, action_bound):
    noise = tf.constant(noise_std, tf.float64) * tf.cast(normal_sample, tf.float64)
    noise = clip(noise, -noise_clip, noise_clip)
    return clip(tf.cast(target_action, tf.float64) + noise, -action_bound,
                action_bound)


@wrong("returns the clipped noise without the target action",
       mistake="smoothing/no-action")
def noise_only(target_action, normal_sample, noise_std, noise_clip, action_bound):
    noise = clip(noise_std * normal_sample, -noise_clip, noise_clip)
    return clip(noise, -action_bound, action_bound)
