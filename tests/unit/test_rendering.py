"""Animations and single frames."""

from __future__ import annotations

import re
import time
import warnings

import numpy as np
import pytest
from IPython.display import HTML
from matplotlib.figure import Figure

from course_utils.playing import Episode
from course_utils.rendering import (
    _shrink,
    _subsample,
    animate,
    self_contained,
    show_frame,
)

# Anything a page would fetch from another host: <link href>, <script src>, <img src>,
# srcset, CSS url(...) and @import, with http:, https: or protocol-relative "//".
REMOTE_REFERENCE = re.compile(
    r"""(?:\b(?:href|src|srcset|data|poster|action)\s*=\s*["']?\s*"""
    r"""|url\(\s*["']?\s*|@import\s+(?:url\()?["']?\s*)(?:https?:)?//""",
    re.I,
)
# Embedded frames (base64 may spell "http" by chance).
DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]*")
# The player's buttons and the methods of matplotlib's Animation they call.
PLAYER_METHODS = (
    "slower", "first_frame", "previous_frame", "reverse_animation",
    "pause_animation", "play_animation", "next_frame", "last_frame", "faster",
)  # fmt: skip


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


def remote_references(html: str) -> list[str]:
    """What in ``html`` would be fetched from the network (empty when nothing)."""
    text = DATA_URI.sub("data:", html)
    found = [m.group(0) for m in REMOTE_REFERENCE.finditer(text)]
    found += re.findall(r"https?://\S{0,60}", text)
    return found


def test_animation_needs_no_network():
    # Offline, matplotlib's Font Awesome icons (from a CDN) left the buttons blank.
    html = animate(frames(3)).data
    assert remote_references(html) == []
    assert "<link" not in html and "font-awesome" not in html.lower()
    assert not re.search(r"""class=["'][^"']*\bfa\b""", html), "a Font Awesome icon"
    buttons = re.findall(r"<button\b[^>]*>(.*?)</button>", html, re.S)
    assert len(buttons) == len(PLAYER_METHODS)
    assert all(b.strip().startswith("<svg") and "<path" in b for b in buttons)
    for method in PLAYER_METHODS:  # the same JavaScript behind each button
        assert re.search(rf'onclick="anim\w+\.{method}\(\)"', html), method
    assert "Animation.prototype.play_animation" in html
    assert html.count("data:image/png;base64") == 3


def test_self_contained_handles_other_matplotlib_templates():
    # Variants of the template (matplotlib 3.10's and older ones differ in details):
    # another CDN, quotes, extra classes; unknown icons still get a symbol.
    html = (
        '<link rel="stylesheet"\nhref="https://cdnjs.cloudflare.com/ajax/libs/'
        'font-awesome/4.7.0/css/font-awesome.min.css">\n'
        "<link rel='stylesheet' href='//maxcdn.example.com/fa.css' />"
        '<link rel="icon" href="data:image/png;base64,AAAA">'
        '<button onclick="anim1.play_animation()"><i class="fa fa-play"></i></button>'
        '<button onclick="anim1.reverse_animation()">'
        "<i class='fa fa-play fa-flip-horizontal'></i></button>"
        '<button onclick="anim1.spin()"><i class="fa fa-refresh"> </i></button>'
    )
    out = self_contained(html)
    assert remote_references(out) == []
    assert 'href="data:image/png;base64,AAAA"' in out  # local links stay
    assert out.count("<svg") == 3 and "<i " not in out
    assert out.count('transform="scale(-1 1)') == 1  # only "play backwards" mirrored
    assert 'onclick="anim1.spin()"' in out


def test_self_contained_leaves_other_html_alone():
    html = '<div class="animation"><img id="x"><form action="#n"></form></div>'
    assert self_contained(html) == html
    # What it cannot recognise stays, and the check above would report it.
    odd = '<script src="https://cdn.example.com/player.js"></script>'
    assert self_contained(odd) == odd
    assert remote_references(odd)
