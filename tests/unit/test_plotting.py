"""Learning curves and the live curve."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_utils import plotting
from course_utils.plotting import LiveCurve, moving_average, plot_rewards


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
    assert legend == ["moving average (2 episodes)", "threshold 475"]


def test_plot_several_runs_from_dict():
    fig = plot_rewards({"small": [1, 2], "big": np.arange(5)}, window=3)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == [
        "small: moving average (3 episodes)",
        "big: moving average (3 episodes)",
    ]
    assert lines(fig)[1].get_color() != lines(fig)[3].get_color()


def test_plot_without_legend_keeps_the_labels_for_a_figure_legend():
    fig = plot_rewards({"a": [1, 2, 3]}, window=2, threshold=3, legend=False)
    ax = fig.axes[0]
    assert ax.get_legend() is None
    _, labels = ax.get_legend_handles_labels()
    assert labels == ["a: moving average (2 episodes)", "threshold 3"]


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
