"""Typical wrong answers to chapter 02, Exercise 3 (the critic's target).

From the lesson: y = r + gamma * (1 - terminated) * Q'; a *truncated* episode was
only stopped by the clock and keeps bootstrapping; the flags hold 0. or 1. per row;
plain arithmetic or tf functions, as the compiled update step calls it on tensors.
"""

import numpy as np
import tensorflow as tf

from instructor.tools.mutation.catalogue import wrong


@wrong("stops the bootstrap on truncated episodes too",
       mistake="target/truncated-too")
def truncated_too(rewards, next_q, terminated, truncated, gamma):
    return rewards + gamma * (1.0 - terminated) * (1.0 - truncated) * next_q


@wrong("uses truncated where terminated belongs",
       mistake="target/truncated-for-terminated")
def truncated_for_terminated(rewards, next_q, terminated, truncated, gamma):
    return rewards + gamma * (1.0 - truncated) * next_q


@wrong("the flag the wrong way round: bootstraps only from terminal states",
       mistake="target/inverted-flag")
def inverted_flag(rewards, next_q, terminated, truncated, gamma):
    return rewards + gamma * terminated * next_q


@wrong("ignores terminated: bootstraps from every next state",
       mistake="target/no-terminal")
def no_terminal(rewards, next_q, terminated, truncated, gamma):
    return rewards + gamma * next_q


@wrong("forgets the discount", mistake="target/no-gamma")
def no_gamma(rewards, next_q, terminated, truncated, gamma):
    return rewards + (1.0 - terminated) * next_q


@wrong("forgets the reward", mistake="target/no-reward")
def no_reward(rewards, next_q, terminated, truncated, gamma):
    return gamma * (1.0 - terminated) * next_q


@wrong("`if terminated:` on a whole batch of flags")
def if_on_flags(rewards, next_q, terminated, truncated, gamma):
    if terminated:
        return rewards
    return rewards + gamma * next_q


@wrong("np.where: works on arrays, cannot run on the update step's tensors")
def numpy_where(rewards, next_q, terminated, truncated, gamma):
    return np.where(terminated > 0.5, rewards, rewards + gamma * next_q)


@wrong("adds into the caller's rewards in place (values right)",
       mistake="target/changes-input")
def in_place(rewards, next_q, terminated, truncated, gamma):
    rewards += gamma * (1.0 - terminated) * next_q
    return rewards


@wrong("`~terminated` as if the flags were booleans (they are 0. and 1.)")
def bitwise_not(rewards, next_q, terminated, truncated, gamma):
    return rewards + gamma * ~terminated * next_q


@wrong("missing brackets: gamma * 1 - terminated * next_q")
def precedence(rewards, next_q, terminated, truncated, gamma):
    return rewards + gamma * 1.0 - terminated * next_q


@wrong("casts to float64: right numbers, a dtype the float32 update step refuses",
       mistake="target/float64")
def float64(rewards, next_q, terminated, truncated, gamma):
    rewards, next_q, terminated = (
        tf.cast(x, tf.float64) for x in (rewards, next_q, terminated)
    )
    return rewards + gamma * (1.0 - terminated) * next_q


@wrong("discounts the future twice: gamma ** 2", mistake="target/gamma-twice")
def gamma_twice(rewards, next_q, terminated, truncated, gamma):
    return rewards + gamma * gamma * (1.0 - terminated) * next_q


@wrong("subtracts the discounted future", mistake="target/future-subtracted")
def future_subtracted(rewards, next_q, terminated, truncated, gamma):
    return rewards - gamma * (1.0 - terminated) * next_q


@wrong("discounts the reward too", mistake="target/reward-discounted")
def reward_discounted(rewards, next_q, terminated, truncated, gamma):
    return gamma * (rewards + gamma * (1.0 - terminated) * next_q)


@wrong("reward and next_q swapped", mistake="target/reward-and-q-swapped")
def reward_and_q_swapped(rewards, next_q, terminated, truncated, gamma):
    return next_q + gamma * (1.0 - terminated) * rewards
