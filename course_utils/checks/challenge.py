"""Challenge-response cases: fresh inputs for every grading run, fixed ones in class.

In a notebook a check runs on fixed, published cases, so that its messages read the
same for every student. Fixed cases cannot certify anything in grading, though: the
correct outputs for known inputs are constants, and constants can be replayed. So
when the grader runs a probe it first sets a *challenge*, a 63-bit number drawn from
a secret of its run, and every case builder asks :func:`case_rng` for its numbers:

- no challenge (the notebook): ``case_rng`` returns None and the builder returns its
  fixed cases;
- a challenge (grading): ``case_rng(name)`` returns a generator seeded by the
  challenge and the builder's name, and the builder draws new values with the same
  structure and edge cases (shapes, zeros, terminal steps, wrap-around).

The probe (in the sandboxed kernel) and the judge (in the grader) each build the
cases under the same challenge, so the judge recomputes the reference on exactly the
inputs the student's code was called with, and a payload recorded on any other
inputs fails. The challenge reaches the kernel only inside the probe cell, after the
student's own cells have run.
"""

from __future__ import annotations

import contextlib
import contextvars
import zlib
from collections.abc import Iterator

import numpy as np

MAX_CHALLENGE = 2**63 - 1

_CURRENT: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "course_challenge", default=None
)


def current() -> int | None:
    """The challenge in force, or None (the notebook's fixed cases)."""
    return _CURRENT.get()


@contextlib.contextmanager
def challenged(challenge: int | None) -> Iterator[None]:
    """Build cases under ``challenge`` inside the ``with`` block (None: fixed cases).

    Args:
        challenge: a whole number in [0, 2**63), or None.

    Raises:
        ValueError: the challenge is not such a number.
    """
    if challenge is not None and (
        type(challenge) is not int or not 0 <= challenge <= MAX_CHALLENGE
    ):
        raise ValueError(f"a challenge is a whole number in [0, 2**63), got "
                         f"{challenge!r}")
    token = _CURRENT.set(challenge)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def case_rng(name: str) -> np.random.Generator | None:
    """The generator a case builder draws its values from, or None for fixed cases.

    Args:
        name: the case builder's own name (e.g. ``"cartpole.returns"``), so that
            two builders under one challenge draw independent values.

    Returns:
        None without a challenge; else a generator seeded by (challenge, name).
    """
    challenge = _CURRENT.get()
    if challenge is None:
        return None
    return np.random.default_rng([challenge, zlib.crc32(name.encode("utf-8"))])


def rounded(values: np.ndarray, digits: int = 2) -> list[float]:
    """Values rounded for readable messages, as plain floats (never ``-0.0``)."""
    return [float(v) + 0.0 for v in np.round(np.asarray(values, np.float64), digits)]
