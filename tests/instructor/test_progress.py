"""The progress display's estimated time left (``instructor.grading.progress``)."""

from __future__ import annotations

import io

from instructor.grading.progress import ESTIMATING, Estimate, Progress


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_estimating_until_the_first_submission_is_done():
    clock = Clock()
    estimate = Estimate(10, workers=2, clock=clock)
    assert estimate.seconds_left() is None and estimate.text() == ESTIMATING
    estimate.started("a")
    estimate.started("b")
    clock.now += 500
    assert estimate.text() == ESTIMATING  # a long first submission: still no guess


def test_mean_time_per_submission_times_remaining_over_workers():
    clock = Clock()
    estimate = Estimate(10, workers=2, clock=clock)
    estimate.started("a")
    estimate.started("b")
    clock.now += 60
    estimate.finished("a")  # 60 s; b has run 60 s of its expected 60
    estimate.started("c")
    # 7 waiting x 60 s + c's 60 s + b's 0 s, over 2 workers.
    assert estimate.seconds_left() == (7 * 60 + 60) / 2
    assert estimate.text() == "0:04:00"
    clock.now += 30  # the estimate counts down between completions
    assert estimate.seconds_left() == (7 * 60 + 30) / 2


def test_workers_default_to_the_most_seen_running_at_once():
    clock = Clock()
    estimate = Estimate(7, clock=clock)
    for name in "abc":
        estimate.started(name)
    clock.now += 90
    for name in "abc":
        estimate.finished(name)
    assert estimate.seconds_left() == 4 * 90 / 3


def test_never_less_than_one_submission_left_on_one_worker():
    clock = Clock()
    estimate = Estimate(3, workers=8, clock=clock)
    estimate.started("a")
    clock.now += 100
    estimate.finished("a")
    estimate.started("b")
    clock.now += 20
    # b (80 s left) and one waiting (100 s) on 8 workers: the waiting one's 100 s.
    assert estimate.seconds_left() == 100
    estimate.started("c")
    clock.now += 200  # both past the mean: nothing left to estimate, not negative
    assert estimate.seconds_left() == 0 and estimate.text() == "0:00:00"


def test_a_finish_without_a_start_counts_as_instant():
    estimate = Estimate(2, workers=1, clock=Clock())
    estimate.finished("unreadable.ipynb")
    assert estimate.seconds_left() == 0


def test_the_bar_shows_estimating_then_the_time_left():
    clock = Clock()
    stream = Terminal()
    with Progress(5, stream, workers=1, clock=clock) as progress:
        progress.started("first.ipynb")
        progress.bar.refresh()
        assert f"ETA {ESTIMATING}" in stream.getvalue()
        assert "-:--:--" not in stream.getvalue()
        clock.now += 75
        progress.finished("first.ipynb", "[1/5] first.ipynb: passed")
        progress.started("second.ipynb")
        progress.bar.refresh()
        drawn = stream.getvalue()
    assert "ETA 0:05:00" in drawn  # 4 left x 75 s, one worker
    assert "-:--:--" not in drawn
