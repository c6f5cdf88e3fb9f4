"""The ``--seeds`` argument of the benchmarks that train on many seeds."""

from __future__ import annotations


def seed_list(texts: list[str]) -> list[int]:
    """Seeds from ranges ("0-99", both ends included) and single numbers.

    Raises:
        SystemExit: a text that is neither, named in the message.
    """
    seeds = []
    for text in texts:
        first, _, last = text.partition("-")
        try:
            seeds += list(range(int(first), int(last or first) + 1))
        except ValueError:
            message = f"--seeds: {text!r} is not a seed or a range like 0-99"
            raise SystemExit(message) from None
    return seeds
