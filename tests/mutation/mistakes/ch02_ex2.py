"""Typical wrong answers to chapter 02, Exercise 2 (the replay buffer).

From the lesson: `record` stores one transition at row count % capacity, then
counts it; `sample` draws batch_size row indices with rng.integers, uniformly and
with replacement, among the filled rows only, and returns the six arrays at those
rows in record's order. Each entry holds only the methods written wrong; the rest
of the class is the notebook's.
"""

import numpy as np

from instructor.tools.mutation.catalogue import wrong

_FIELDS = ("states", "actions", "rewards", "next_states", "terminated", "truncated")


def _store(buffer, row, transition):
    """Write one transition's six values at a row (right)."""
    for name, value in zip(_FIELDS, transition, strict=True):
        getattr(buffer, name)[row] = value


def _rows(buffer, rows):
    """The six arrays at some rows, in record's order (right)."""
    return tuple(getattr(buffer, name)[rows] for name in _FIELDS)


@wrong("counts before writing: every transition lands one row ahead",
       mistake="buffer/record-ahead")
class CountsFirst:
    def record(self, state, action, reward, next_state, terminated, truncated):
        self.count += 1
        _store(self, self.count % self.capacity,
               (state, action, reward, next_state, terminated, truncated))


@wrong("never counts: every transition overwrites row 0",
       mistake="buffer/record-not-counting")
class NeverCounts:
    def record(self, state, action, reward, next_state, terminated, truncated):
        _store(self, self.count % self.capacity,
               (state, action, reward, next_state, terminated, truncated))


@wrong("counts in a local variable: the count is not kept between calls",
       mistake="buffer/record-not-counting")
class LocalCount:
    def record(self, state, action, reward, next_state, terminated, truncated):
        count = self.count
        _store(self, count % self.capacity,
               (state, action, reward, next_state, terminated, truncated))
        count += 1


@wrong("no modulo: writes past the end once the buffer is full",
       mistake="buffer/never-wraps")
class NoWrap:
    def record(self, state, action, reward, next_state, terminated, truncated):
        _store(self, self.count,
               (state, action, reward, next_state, terminated, truncated))
        self.count += 1


@wrong("once full, keeps overwriting the last row instead of the oldest",
       mistake="buffer/not-overwritten")
class OverwritesLastRow:
    def record(self, state, action, reward, next_state, terminated, truncated):
        row = min(self.count, self.capacity - 1)
        _store(self, row, (state, action, reward, next_state, terminated, truncated))
        self.count += 1


@wrong("samples among all capacity rows, empty ones included",
       mistake="buffer/empty-rows")
class SamplesEmptyRows:
    def sample(self, batch_size, rng):
        return _rows(self, rng.integers(0, self.capacity, size=batch_size))


@wrong("samples among the first batch_size rows only",
       mistake="buffer/first-rows-only")
class FirstRowsOnly:
    def sample(self, batch_size, rng):
        return _rows(self, rng.integers(0, min(batch_size, len(self)),
                                         size=batch_size))


@wrong("off by one: rng.integers(0, len(self) - 1) never draws the newest row",
       mistake="buffer/sample-off-by-one")
class OffByOne:
    def sample(self, batch_size, rng):
        return _rows(self, rng.integers(0, max(len(self) - 1, 1), size=batch_size))


@wrong("np.random instead of the rng passed in: batches cannot be repeated",
       mistake="buffer/not-repeatable")
class OwnRandom:
    def sample(self, batch_size, rng):
        return _rows(self, np.random.randint(0, len(self), size=batch_size))


@wrong("draws separate rows for each array: transitions mixed up",
       mistake="buffer/mixed-rows")
class MixedRows:
    def sample(self, batch_size, rng):
        return tuple(
            getattr(self, name)[rng.integers(0, len(self), size=batch_size)]
            for name in _FIELDS
        )


@wrong("terminated and truncated returned in swapped order",
       mistake="buffer/mixed-rows")
class FlagsSwapped:
    def sample(self, batch_size, rng):
        rows = rng.integers(0, len(self), size=batch_size)
        batch = _rows(self, rows)
        return batch[:4] + (batch[5], batch[4])


@wrong("a fresh seeded generator at every call: the same batch every time",
       mistake="buffer/same-batch")
class ReseedsEveryCall:
    def sample(self, batch_size, rng):
        rng = np.random.default_rng(0)
        return _rows(self, rng.integers(0, len(self), size=batch_size))


@wrong("without replacement: fails while fewer rows than a batch are filled")
class WithoutReplacement:
    def sample(self, batch_size, rng):
        return _rows(self, rng.choice(len(self), size=batch_size, replace=False))


@wrong("modulo of a range one wider: row 0 drawn twice as often as the others",
       mistake="buffer/not-uniform")
class ModuloBias:
    def sample(self, batch_size, rng):
        n = len(self)
        return _rows(self, rng.integers(0, n + 1, size=batch_size) % n)


@wrong("rounds a scaled float: the first and last rows drawn half as often",
       mistake="buffer/not-uniform")
class RoundedIndex:
    def sample(self, batch_size, rng):
        n = len(self)
        return _rows(self, np.round(rng.random(batch_size) * (n - 1)).astype(int))
