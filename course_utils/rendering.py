"""Show rendered frames in a notebook: an animation, or a single image.

Animations are matplotlib ``FuncAnimation`` objects converted with ``to_jshtml``:
plain HTML + JavaScript with the frames embedded as PNG, so they need no ffmpeg and
work in JupyterLab, Colab, Binder and static viewers (GitHub, nbviewer).

They also need no network: matplotlib's player takes its button icons from Font
Awesome on a CDN (a ``<link>`` to a stylesheet, ``<i class="fa fa-play">`` icons);
:func:`self_contained` removes that link and draws the icons as inline SVG.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np


def animate(
    frames: Any,
    *,
    fps: int = 30,
    max_frames: int = 150,
    width: float = 4.0,
    title: str | None = None,
    dpi: int = 72,
):
    """Turn frames into an HTML animation with play/pause controls.

    Size stays bounded: at most ``max_frames`` frames (evenly subsampled, first
    and last kept), drawn ``width`` inches wide at ``dpi``. With the defaults a
    500-step CartPole episode gives about 2 MB of HTML in a few seconds.

    Args:
        frames: sequence of ``(H, W, 3)`` (or ``(H, W, 4)``) uint8 images, all of one
            shape, e.g. ``Episode.frames`` (an :class:`Episode` itself is accepted).
        fps: frames shown per second.
        max_frames: largest number of frames embedded.
        width: figure width in inches (height follows the frames' aspect ratio).
        title: optional title above the animation.
        dpi: resolution of the embedded frames.

    Returns:
        ``IPython.display.HTML``: display it, or leave it as the cell's last value.

    Raises:
        ValueError: no frames, frames of the wrong shape or mixed shapes, or bad
            ``fps``/``max_frames``/``width``.
    """
    from IPython.display import HTML
    from matplotlib.animation import FuncAnimation

    images = _validate_frames(getattr(frames, "frames", frames))
    _check_positive(fps=fps, max_frames=max_frames, width=width, dpi=dpi)
    chosen = _subsample(len(images), int(max_frames))
    # Shrinking the frames to about the output size first makes each frame's
    # drawing several times cheaper than letting imshow resample 600x400 images.
    factor = int(images[0].shape[1] // (width * dpi))
    images = [_shrink(images[i], factor) for i in chosen]
    chosen = list(range(len(images)))
    fig, image = _image_figure(images[chosen[0]], width=width, title=title, dpi=dpi)

    def draw(index: int):
        image.set_data(images[chosen[index]])
        return (image,)

    animation = FuncAnimation(
        fig, draw, frames=len(chosen), interval=1000.0 / fps, blit=False
    )
    html = animation.to_jshtml(fps=fps, default_mode="once")
    # The figure was never registered with pyplot: nothing else gets displayed.
    return HTML(self_contained(html))


# Icons of the player's buttons, by Font Awesome name: SVG paths on a 16x16 grid.
_ICON_PATHS = {
    "minus": "M2 7h12v2H2z",
    "plus": "M2 7h12v2H2zM7 2h2v12H7z",
    "play": "M4 2l9 6-9 6z",
    "pause": "M3 2h4v12H3zM9 2h4v12H9z",
    "step-forward": "M3 2l8 6-8 6zM11 2h2v12h-2z",
    "step-backward": "M13 2L5 8l8 6zM3 2h2v12H3z",
    "fast-forward": "M1 2l6 6-6 6zM7 2l6 6-6 6zM13 2h2v12h-2z",
    "fast-backward": "M15 2L9 8l6 6zM9 2L3 8l6 6zM1 2h2v12H1z",
}
# A dot for an icon matplotlib may add one day and this table does not know.
_UNKNOWN_ICON = "M5 5h6v6H5z"
# <link ...> tags that fetch anything from another host (Font Awesome's stylesheet).
_REMOTE_LINK = re.compile(
    r"<link\b[^>]*?\bhref\s*=\s*[\"']?\s*(?:https?:)?//[^>]*>\s*", re.I
)
# Font Awesome icons: <i class="fa fa-play fa-flip-horizontal"></i>.
_FA_ICON = re.compile(
    r"<i\s+class\s*=\s*[\"']([^\"']*\bfa\b[^\"']*)[\"']\s*>\s*</i>", re.I
)


def self_contained(html: str) -> str:
    """Make ``to_jshtml``'s player independent of the network.

    Removes every ``<link>`` to another host (matplotlib's Font Awesome stylesheet)
    and replaces each Font Awesome icon (``<i class="fa fa-...">``) by the same
    symbol drawn in inline SVG. The buttons and their JavaScript are unchanged.
    Markup this does not recognise is left alone (the tests check that no remote
    reference remains with the installed matplotlib).

    Args:
        html: HTML from ``Animation.to_jshtml()``.

    Returns:
        The same player, with nothing to fetch.
    """
    html = _REMOTE_LINK.sub("", html)
    return _FA_ICON.sub(lambda match: _svg_icon(match.group(1).split()), html)


def _svg_icon(classes: list[str]) -> str:
    """Inline SVG for a Font Awesome icon given its classes (``fa``, ``fa-play``...).

    Drawn in the button's text colour, one text line high; ``fa-flip-horizontal``
    mirrors it (matplotlib's "play backwards" is a mirrored "play").
    """
    names = [c[3:] for c in classes if c.startswith("fa-")]
    path = next((_ICON_PATHS[n] for n in names if n in _ICON_PATHS), _UNKNOWN_ICON)
    mirrored = "flip-horizontal" in names
    flip = ' transform="scale(-1 1) translate(-16 0)"' if mirrored else ""
    return (
        '<svg class="anim-icon" viewBox="0 0 16 16" width="1em" height="1em" '
        'aria-hidden="true" focusable="false" style="vertical-align:-0.125em">'
        f'<path fill="currentColor"{flip} d="{path}"/></svg>'
    )


def show_frame(frame: Any, *, title: str | None = None, width: float = 4.0):
    """Show one rendered frame as a figure.

    Args:
        frame: an ``(H, W, 3)`` uint8 image, e.g. ``env.render()``.
        title: optional title.
        width: figure width in inches.

    Returns:
        ``matplotlib.figure.Figure``; as the last value of a cell it is shown once
        (it is closed for pyplot, so it is not drawn a second time).
    """
    import matplotlib.pyplot as plt

    image = _validate_frames([frame], what="frame")[0]
    _check_positive(width=width)
    fig, _ = _image_figure(image, width=width, title=title, dpi=None, pyplot=plt)
    plt.close(fig)
    return fig


def _image_figure(frame: np.ndarray, *, width, title, dpi, pyplot=None):
    """Create a borderless figure showing ``frame``.

    Args:
        frame: ``(H, W, C)`` image.
        width: figure width in inches.
        title: optional title (extra room is left above the image).
        dpi: figure dpi, or None for the default.
        pyplot: ``matplotlib.pyplot`` to register the figure with, or None for a
            free-standing ``Figure`` (never displayed by itself).

    Returns:
        ``(figure, AxesImage)``.
    """
    from matplotlib.figure import Figure

    height_px, width_px = frame.shape[:2]
    top = 0.3 if title else 0.0
    size = (width, width * height_px / width_px + top)
    kwargs = {} if dpi is None else {"dpi": dpi}
    fig = pyplot.figure(figsize=size, **kwargs) if pyplot else Figure(size, **kwargs)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0 - top / size[1]))
    ax.set_axis_off()
    if title:
        fig.suptitle(title, y=1.0 - 0.05 / size[1], va="top", fontsize=10)
    # A single frame is resampled smoothly (thin lines such as CartPole's track
    # survive); animation frames are pre-shrunk, so "nearest" is enough and fast.
    smooth = pyplot is not None
    image = ax.imshow(frame, interpolation="antialiased" if smooth else "nearest")
    return fig, image


def _validate_frames(frames: Any, *, what: str = "frames") -> list[np.ndarray]:
    """Check frames and return them as a list of uint8 arrays.

    Args:
        frames: sequence of images.
        what: name used in error messages.

    Returns:
        List of ``(H, W, C)`` uint8 arrays (C is 3 or 4), all of one shape.
    """
    hint = (
        "Expected a list of (H, W, 3) uint8 images, e.g. the frames of "
        "cu.play_episode(env, render=True) with an env made with "
        "render_mode='rgb_array'."
    )
    if frames is None:
        raise ValueError(f"got None instead of {what}. {hint}")
    if isinstance(frames, np.ndarray) and frames.ndim == 3 and what == "frames":
        raise ValueError(f"got a single image of shape {frames.shape}. {hint}")
    try:
        images = [np.asarray(frame) for frame in frames]
    except TypeError:
        raise ValueError(
            f"{what} must be a list of images, got {type(frames).__name__}. {hint}"
        ) from None
    if not images:
        raise ValueError(f"no {what} to show (empty list). {hint}")
    first = images[0].shape
    for index, image in enumerate(images):
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise ValueError(f"{what}[{index}] has shape {image.shape}. {hint}")
        if image.shape != first:
            raise ValueError(
                f"{what}[{index}] has shape {image.shape} but {what}[0] has {first}; "
                "all frames must have one shape."
            )
    return [_to_uint8(image) for image in images]


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype.kind == "f" and np.nanmax(image, initial=0.0) <= 1.0:
        return (np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    return np.clip(image, 0, 255).astype(np.uint8)


def _shrink(image: np.ndarray, factor: int) -> np.ndarray:
    """Downscale an image by an integer factor, averaging blocks of pixels.

    Args:
        image: ``(H, W, C)`` uint8 image.
        factor: block size; values below 2 return the image unchanged.

    Returns:
        ``(H // factor, W // factor, C)`` uint8 image.
    """
    if factor < 2:
        return image
    height = image.shape[0] // factor * factor
    width = image.shape[1] // factor * factor
    total = np.zeros((height // factor, width // factor, image.shape[2]), np.uint32)
    for row in range(factor):
        for col in range(factor):
            total += image[row:height:factor, col:width:factor]
    return ((total + factor * factor // 2) // (factor * factor)).astype(np.uint8)


def _subsample(count: int, limit: int) -> list[int]:
    """Evenly spaced indices into ``count`` items, at most ``limit``, ends kept.

    Args:
        count: number of frames.
        limit: maximum number of indices.

    Returns:
        Increasing list of indices, first 0 and last ``count - 1``.
    """
    if count <= limit:
        return list(range(count))
    return sorted(set(np.linspace(0, count - 1, limit).round().astype(int).tolist()))


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
