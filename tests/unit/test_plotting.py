"""Learning curves and the live curve."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_utils import plotting
from course_utils.plotting import (
    LiveCurve,
    moving_average,
    plot_experiment,
    plot_rewards,
)


def test_moving_average_trailing():
    np.testing.assert_allclose(
        moving_average([1, 2, 3, 4, 5], 2), [1, 1.5, 2.5, 3.5, 4.5]
    )
    np.testing.assert_allclose(moving_average([2, 4, 6], 10), [2, 3, 4])
    result = moving_average(np.ones(5, np.float32), 1)
    assert result.dtype == np.float64 and result.shape == (5,)
    assert moving_average([], 3).shape == (0,)


@pytest.mark.parametrize("window", [0, 2.5, True, "3"])
def test_moving_average_bad_window(window):
    with pytest.raises(ValueError, match="window must be a positive integer"):
        moving_average([1, 2], window)


def test_moving_average_bad_values():
    with pytest.raises(ValueError, match=r"must be 1-D .*got shape \(2, 2\)"):
        moving_average([[1, 2], [3, 4]], 2)
    with pytest.raises(ValueError, match="sequence of numbers"):
        moving_average(["a", "b"], 2)


def lines(fig: Figure):
    return fig.axes[0].get_lines()


def test_plot_one_run_with_threshold():
    fig = plot_rewards([10, 20, 30], window=2, threshold=475, title="CartPole")
    assert isinstance(fig, Figure)
    raw, average, threshold = lines(fig)
    np.testing.assert_allclose(raw.get_ydata(), [10, 20, 30])
    np.testing.assert_allclose(average.get_ydata(), [10, 15, 25])
    np.testing.assert_allclose(raw.get_xdata(), [1, 2, 3])
    assert threshold.get_linestyle() == "--"
    assert fig.axes[0].get_title() == "CartPole"
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["mean of the last 2 episodes", "threshold 475"]


def test_plot_several_runs_from_dict():
    fig = plot_rewards({"small": [1, 2], "big": np.arange(5)}, window=3)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == [
        "small: mean of the episodes so far",
        "big: mean of the last 3 episodes",
    ]
    assert lines(fig)[1].get_color() != lines(fig)[3].get_color()


def test_plot_without_legend_keeps_the_labels_for_a_figure_legend():
    fig = plot_rewards({"a": [1, 2, 3]}, window=2, threshold=3, legend=False)
    ax = fig.axes[0]
    assert ax.get_legend() is None
    _, labels = ax.get_legend_handles_labels()
    assert labels == ["a: mean of the last 2 episodes", "threshold 3"]


def test_plot_list_of_runs_and_labels():
    fig = plot_rewards([[1, 2, 3], [4, 5]], labels=["a", "b"])
    assert len(lines(fig)) == 4
    fig = plot_rewards(np.ones((3, 4)))
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[0].startswith("run 1")
    fig = plot_rewards([1.0, 2.0], labels="mine")
    assert fig.axes[0].get_legend().get_texts()[0].get_text().startswith("mine")


def test_plot_on_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_rewards([1, 2], ax=ax) is fig


@pytest.mark.parametrize(
    ("rewards", "labels", "message"),
    [
        ([], None, "empty"),
        ({}, None, "empty dict"),
        ({"a": []}, None, r"rewards\['a'\] is empty"),
        ([[1, 2], [3]], ["only one"], "expected 2 labels"),
        ([[1, 2], [3]], "a", "expected 2 labels"),
        ([1, 2], ["a"], "labels for one run must be a string"),
        ("abc", None, "sequence of numbers"),
    ],
)
def test_plot_bad_input(rewards, labels, message):
    with pytest.raises(ValueError, match=message):
        plot_rewards(rewards, labels=labels)


def test_plot_is_shown_once():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot_rewards([1, 2, 3])
    assert plt.get_fignums() == before


def test_live_curve_outside_notebook_draws_nothing(monkeypatch):
    curve = LiveCurve(title="x", threshold=475, every=1)
    assert curve.live is False
    rewards = []
    for episode in range(50):
        rewards.append(episode)
        curve.update(rewards)
    assert curve.redraws == 0 and curve.calls == 50
    fig = curve.close()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert "50 so far" in ax.get_xlabel() and ax.get_title() == "x"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), np.arange(50))


def test_episode_ticks_are_whole_numbers():
    """A short run (the live curve's first redraws) gets no tick at episode 2.5."""
    for fig in (plot_rewards([10, 20, 30, 40]), live_figure(4, window=100)):
        ticks = fig.axes[0].get_xticks()
        assert len(ticks) >= 2
        np.testing.assert_array_equal(ticks, np.round(ticks))


def live_figure(episodes: int, window: int) -> Figure:
    curve = LiveCurve(window=window, live=False)
    rewards = []
    for episode in range(episodes):
        rewards.append(float(episode % 7))
        curve.update(rewards)
    return curve.close()


@pytest.mark.parametrize(
    ("episodes", "words"),
    [(20, "mean of the episodes so far"), (150, "mean of the last 100 episodes")],
)
def test_live_curve_legend_and_label_say_the_same(episodes, words):
    """The legend names what the bold curve shows; the axis label gives its last
    value in the same words (never "100 episodes" beside "the last 20")."""
    ax = live_figure(episodes, window=100).axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == words
    recent = np.mean([float(e % 7) for e in range(episodes)][-100:])
    assert ax.get_xlabel() == f"episode ({episodes} so far; {words}: {recent:.1f})"
    bold = ax.get_lines()[1].get_ydata()
    assert bold[-1] == pytest.approx(recent)


def test_live_curve_empty_close():
    fig = LiveCurve().close()
    assert fig.axes[0].get_xlabel() == "episode"


class FakeHandle:
    def __init__(self):
        self.updates = []

    def update(self, obj):
        self.updates.append(obj)


def test_live_curve_in_notebook_updates_in_place(monkeypatch):
    import IPython.display

    shown = []
    handle = FakeHandle()

    def fake_display(obj, display_id=False):
        shown.append((obj, display_id))
        return handle

    monkeypatch.setattr(IPython.display, "display", fake_display)
    curve = LiveCurve(every=5, min_interval=0.0, live=True, window=3)
    rewards = []
    for episode in range(20):
        rewards.append(float(episode))
        curve.update(rewards)
    assert curve.redraws == 4
    assert len(shown) == 1 and shown[0][1] is True
    assert len(handle.updates) == 3
    assert shown[0][0].data[:8] == b"\x89PNG\r\n\x1a\n"
    curve.close()
    assert len(handle.updates) == 4


def test_live_curve_throttles_by_time(monkeypatch):
    import IPython.display

    monkeypatch.setattr(
        IPython.display, "display", lambda obj, display_id: FakeHandle()
    )
    curve = LiveCurve(every=1, min_interval=3600, live=True)
    for _ in range(5):
        curve.update([1.0, 2.0])
    assert curve.redraws == 1


@pytest.mark.parametrize("every", [0, 1.5, True])
def test_live_curve_bad_every(every):
    with pytest.raises(ValueError, match="every must be a positive integer"):
        LiveCurve(every=every)


def test_notebook_detection(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert plotting._in_notebook() is False
    shell = types.SimpleNamespace(kernel=object())
    fake = types.SimpleNamespace(get_ipython=lambda: shell)
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert plotting._in_notebook() is True
    assert LiveCurve().live is True
    fake.get_ipython = lambda: types.SimpleNamespace()  # terminal IPython: no kernel
    assert plotting._in_notebook() is False
    fake.get_ipython = lambda: None
    assert plotting._in_notebook() is False


def run(rewards, solved_at, seed=0):
    return {"rewards": rewards, "solved_at": solved_at, "seed": seed}


def test_plot_experiment_shows_curves_and_episodes_to_solve():
    fast = [500.0] * 100
    slow = [10.0] * 50 + [500.0] * 100
    never = [20.0] * 130
    fig = plot_experiment(
        {
            "cramped": [run(slow, 148), run(never, None, 1), run(slow, 148, 2)],
            "wide": [run(fast, 100), run(slow, 148, 1), run(fast, 100, 2)],
        },
        window=100,
        threshold=475,
    )
    curves, points = fig.axes
    assert len(curves.get_lines()) == 3 + 3 + 1  # one line per run, the threshold
    legend = [t.get_text() for t in curves.get_legend().get_texts()]
    assert legend == ["cramped", "wide", "threshold 475"]
    assert curves.get_lines()[0].get_color() != curves.get_lines()[3].get_color()
    markers = [(line.get_marker(), line.get_ydata()[0]) for line in points.get_lines()]
    assert ("x", pytest.approx(1.1 * 148)) in markers  # never solved: drawn on top
    assert sorted(y for m, y in markers if m == "o") == [100, 100, 148, 148, 148]
    medians = sorted(c.get_segments()[0][0][1] for c in points.collections)
    assert medians == [100, 148]
    assert [t.get_text() for t in points.get_xticklabels()] == ["cramped", "wide"]


def test_plot_experiment_bad_input():
    with pytest.raises(ValueError, match="no networks"):
        plot_experiment({})
    with pytest.raises(ValueError, match="'a' has no runs"):
        plot_experiment({"a": []})
