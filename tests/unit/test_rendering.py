"""Animations and single frames."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from IPython.display import HTML
from matplotlib.figure import Figure

from course_utils.playing import Episode
from course_utils.rendering import _shrink, _subsample, animate, show_frame


def frames(count: int, height: int = 40, width: int = 60) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        rng.integers(0, 255, (height, width, 3), dtype=np.uint8) for _ in range(count)
    ]


def test_animate_returns_embedded_html():
    html = animate(frames(5), fps=10, title="random")
    assert isinstance(html, HTML)
    assert "<script" in html.data and "data:image/png;base64" in html.data
    assert html.data.count("data:image/png;base64") == 5


def test_animate_subsamples_to_max_frames():
    html = animate(frames(50), max_frames=7)
    assert html.data.count("data:image/png;base64") == 7


def test_animate_accepts_episode_and_floats():
    episode = Episode(
        "X",
        np.zeros(1),
        np.zeros(1),
        0.0,
        1,
        True,
        False,
        frames=[np.zeros((20, 30, 3)), np.ones((20, 30, 3))],
    )
    assert "data:image/png" in animate(episode).data
    rgba = [np.zeros((20, 30, 4), np.int32) + 300]
    assert "data:image/png" in animate(rgba).data


def test_cartpole_episode_is_small_and_fast():
    # 500 CartPole-sized frames: bounded HTML size and time (cheap check).
    big = [np.full((400, 600, 3), i % 255, np.uint8) for i in range(0, 500, 5)]
    start = time.process_time()
    html = animate(big, max_frames=30)
    assert time.process_time() - start < 10
    assert len(html.data) < 1_000_000


def test_animate_is_quiet_and_leaves_no_pyplot_figure():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        animate(frames(3))
    assert plt.get_fignums() == before


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([], "empty list"),
        (None, "got None"),
        (np.zeros((4, 5, 3), np.uint8), "single image"),
        ([np.zeros((4, 5))], r"frames\[0\] has shape \(4, 5\)"),
        ([np.zeros((4, 5, 3)), np.zeros((5, 4, 3))], "all frames must have one shape"),
        (5, "must be a list of images"),
    ],
)
def test_animate_rejects_bad_frames(bad, message):
    with pytest.raises(ValueError, match=message):
        animate(bad)


@pytest.mark.parametrize(
    "kwargs", [{"fps": 0}, {"max_frames": -1}, {"width": "4"}, {"dpi": True}]
)
def test_animate_rejects_bad_options(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        animate(frames(2), **kwargs)


def test_show_frame():
    import matplotlib.pyplot as plt

    fig = show_frame(frames(1)[0], title="start")
    assert isinstance(fig, Figure)
    assert fig.get_figwidth() == pytest.approx(4.0)
    assert fig not in map(plt.figure, plt.get_fignums())
    assert show_frame(frames(1)[0]).get_figheight() == pytest.approx(4.0 * 40 / 60)


def test_show_frame_rejects_bad_frame():
    with pytest.raises(ValueError, match=r"frame\[0\] has shape \(3,\)"):
        show_frame(np.zeros(3))
    with pytest.raises(ValueError, match="width must be positive"):
        show_frame(frames(1)[0], width=0)


def test_shrink_averages_blocks():
    image = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    small = _shrink(image, 2)
    assert small.shape == (2, 3, 3) and small.dtype == np.uint8
    assert abs(int(small[0, 0, 0]) - np.mean(image[:2, :2, 0])) <= 0.5
    assert _shrink(image, 1) is image


def test_subsample_keeps_ends():
    assert _subsample(3, 10) == [0, 1, 2]
    chosen = _subsample(500, 150)
    assert chosen[0] == 0 and chosen[-1] == 499 and len(chosen) == 150
