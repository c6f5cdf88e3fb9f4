"""Typical wrong answers to chapter 02, Exercise 1 (one step of OU noise).

From the lesson: x_next = x + theta * (mu - x) * dt + sigma * sqrt(dt) * eps, the
pull toward mu scaled by dt, the kick by sqrt(dt); eps is `normal_sample` (the
seeded draws), not numbers drawn by the function itself.
"""

import numpy as np

from instructor.tools.mutation.catalogue import wrong


@wrong("the pull pushes away from the mean: theta * (x - mu)", mistake="ou/pull-sign")
def pull_sign(x, mu, theta, sigma, dt, normal_sample):
    return x + theta * (x - mu) * dt + sigma * np.sqrt(dt) * normal_sample


@wrong("the kick scaled by dt instead of sqrt(dt)", mistake="ou/kick-dt")
def kick_dt(x, mu, theta, sigma, dt, normal_sample):
    return x + theta * (mu - x) * dt + sigma * dt * normal_sample


@wrong("the kick without sqrt(dt)", mistake="ou/kick-no-sqrt-dt")
def kick_no_sqrt_dt(x, mu, theta, sigma, dt, normal_sample):
    return x + theta * (mu - x) * dt + sigma * normal_sample


@wrong("the pull without dt", mistake="ou/pull-no-dt")
def pull_no_dt(x, mu, theta, sigma, dt, normal_sample):
    return x + theta * (mu - x) + sigma * np.sqrt(dt) * normal_sample


@wrong("draws its own random numbers instead of using normal_sample",
       mistake="ou/own-random")
def own_random(x, mu, theta, sigma, dt, normal_sample):
    eps = np.random.standard_normal(np.shape(x))
    return x + theta * (mu - x) * dt + sigma * np.sqrt(dt) * eps


@wrong("updates the caller's x in place (value right)", mistake="ou/changes-input")
def in_place(x, mu, theta, sigma, dt, normal_sample):
    change = theta * (mu - x) * dt + sigma * np.sqrt(dt) * normal_sample
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        x += change
        return x
    return x + change


@wrong("returns the change, not the next value", mistake="ou/returns-change")
def returns_change(x, mu, theta, sigma, dt, normal_sample):
    return theta * (mu - x) * dt + sigma * np.sqrt(dt) * normal_sample


@wrong("sigma inside the square root: sqrt(sigma * dt)", mistake="ou/sigma-in-sqrt")
def sigma_in_sqrt(x, mu, theta, sigma, dt, normal_sample):
    return x + theta * (mu - x) * dt + np.sqrt(sigma * dt) * normal_sample


@wrong("np.zeros_like(x) for the result: integer noise when x holds ints",
       mistake="ou/integer-dtype")
def zeros_like(x, mu, theta, sigma, dt, normal_sample):
    x = np.asarray(x)
    out = np.zeros_like(x)
    out[:] = x + theta * (mu - x) * dt + sigma * np.sqrt(dt) * normal_sample
    return out


@wrong("no brackets: theta * mu - x * dt instead of theta * (mu - x) * dt")
def precedence(x, mu, theta, sigma, dt, normal_sample):
    return x + theta * mu - x * dt + sigma * np.sqrt(dt) * normal_sample


@wrong("dt and sqrt(dt) swapped between the pull and the kick",
       mistake="ou/dt-swapped")
def dt_swapped(x, mu, theta, sigma, dt, normal_sample):
    return x + theta * (mu - x) * np.sqrt(dt) + sigma * dt * normal_sample
