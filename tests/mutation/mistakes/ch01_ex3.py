"""Typical wrong answers to chapter 01, Exercise 3 (normalising the returns).

From the lesson: (G - mean(G)) / (std(G) + eps), eps (say 1e-8) so that equal
returns (a one-step episode, a perfect one) give zeros, not a division by zero.
"""

import numpy as np

from instructor.tools.mutation.catalogue import wrong


@wrong("no epsilon: equal returns divide 0 by 0", mistake="normalise/zero-std")
def no_epsilon(values):
    values = np.asarray(values, dtype=np.float64)
    return (values - values.mean()) / values.std()


@wrong("the sample standard deviation (ddof=1): NaN on a one-step episode",
       mistake="normalise/ddof1-single-value")
def sample_std(values):
    values = np.asarray(values, dtype=np.float64)
    return (values - values.mean()) / (np.std(values, ddof=1) + 1e-8)


@wrong("divides by the variance instead of the standard deviation",
       mistake="normalise/variance")
def by_variance(values):
    values = np.asarray(values, dtype=np.float64)
    return (values - values.mean()) / (values.var() + 1e-8)


@wrong("only subtracts the mean", mistake="normalise/only-centred")
def only_centred(values):
    values = np.asarray(values, dtype=np.float64)
    return values - values.mean()


@wrong("only divides by the standard deviation", mistake="normalise/only-scaled")
def only_scaled(values):
    values = np.asarray(values, dtype=np.float64)
    return values / (values.std() + 1e-8)


@wrong("normalises the caller's array in place (values right)",
       mistake="normalise/changes-input")
def in_place(values):
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        values -= values.mean()
        values /= values.std() + 1e-8
        return values
    values = np.asarray(values, dtype=np.float64)
    return (values - values.mean()) / (values.std() + 1e-8)


@wrong("min-max scaling to [0, 1] instead of zero mean and unit spread")
def min_max(values):
    values = np.asarray(values, dtype=np.float64)
    return (values - values.min()) / (values.max() - values.min() + 1e-8)


@wrong("an epsilon of 1 ('small enough'): shrinks every small spread")
def epsilon_one(values):
    values = np.asarray(values, dtype=np.float64)
    return (values - values.mean()) / (values.std() + 1.0)


@wrong("a hand-written spread without the 1/T: sqrt(sum((G - mean)^2))")
def sum_not_mean(values):
    values = np.asarray(values, dtype=np.float64)
    centred = values - values.mean()
    return centred / (np.sqrt(np.sum(centred**2)) + 1e-8)


@wrong("special-cases equal values and returns them unchanged instead of zeros",
       mistake="normalise/zero-std")
def equal_values_unchanged(values):
    values = np.asarray(values, dtype=np.float64)
    if values.std() == 0:
        return values
    return (values - values.mean()) / values.std()
