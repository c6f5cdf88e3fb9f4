"""Typical wrong answers to chapter 01, Exercise 2 (discounted returns).

From the lesson: G_t = r_t + gamma * G_(t+1), walked backwards from G_T = bootstrap;
rewards come as a list or an array (of ints, in CartPole).
"""

import numpy as np

from instructor.tools.mutation.catalogue import wrong


@wrong("walks forwards: accumulates the rewards BEFORE t",
       mistake="returns/looking-back")
def forwards(rewards, gamma, bootstrap=0.0):
    returns = np.zeros(len(rewards))
    running = bootstrap
    for t in range(len(rewards)):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


@wrong("forgets gamma: plain sums of the rewards to come",
       mistake="returns/no-discount")
def no_discount(rewards, gamma, bootstrap=0.0):
    returns = np.zeros(len(rewards))
    running = bootstrap
    for t in reversed(range(len(rewards))):
        running = rewards[t] + running
        returns[t] = running
    return returns


@wrong("starts the sum from 0 whatever the bootstrap",
       mistake="returns/bootstrap-ignored")
def bootstrap_ignored(rewards, gamma, bootstrap=0.0):
    returns = np.zeros(len(rewards))
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


@wrong("adds the bootstrap to the last reward without discounting it",
       mistake="returns/bootstrap-on-last-reward")
def bootstrap_undiscounted(rewards, gamma, bootstrap=0.0):
    returns = np.zeros(len(rewards))
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        if t == len(rewards) - 1:
            running += bootstrap
        returns[t] = running
    return returns


@wrong("reverses the caller's list in place to walk it backwards (values right)",
       mistake="returns/changes-input")
def reverses_in_place(rewards, gamma, bootstrap=0.0):
    if isinstance(rewards, list):
        rewards.reverse()
    else:
        rewards[:] = rewards[::-1]
    returns, running = [], bootstrap
    for reward in rewards:
        running = reward + gamma * running
        returns.append(running)
    return np.array(returns[::-1], dtype=float)


@wrong("np.zeros_like of the rewards: integer returns when the rewards are ints",
       mistake="returns/integer-dtype")
def integer_returns(rewards, gamma, bootstrap=0.0):
    returns = np.zeros_like(np.asarray(rewards))
    running = bootstrap
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


@wrong("off by one: the loop skips the last step (its return stays 0)")
def skips_last_step(rewards, gamma, bootstrap=0.0):
    returns = np.zeros(len(rewards))
    running = bootstrap
    for t in reversed(range(len(rewards) - 1)):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


@wrong("discounts the current reward too: G_t = gamma * (r_t + G_(t+1))")
def discounts_current_reward(rewards, gamma, bootstrap=0.0):
    returns = np.zeros(len(rewards))
    running = bootstrap
    for t in reversed(range(len(rewards))):
        running = gamma * (rewards[t] + running)
        returns[t] = running
    return returns


@wrong("appends while walking backwards and never reverses the list",
       mistake="returns/reversed")
def left_reversed(rewards, gamma, bootstrap=0.0):
    returns, running = [], bootstrap
    for reward in reversed(rewards):
        running = reward + gamma * running
        returns.append(running)
    return np.array(returns)


@wrong("normalises the returns already (that is Exercise 3's job)",
       mistake="returns/normalised")
def normalised_already(rewards, gamma, bootstrap=0.0):
    returns = np.zeros(len(rewards))
    running = bootstrap
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return (returns - returns.mean()) / (returns.std() + 1e-8)
