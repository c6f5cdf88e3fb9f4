"""Learning curves: a static plot to compare runs, and a live curve for training.

RL rewards are noisy from one episode to the next, so curves show each episode's
reward faintly and its trailing moving average in bold; "solved" criteria such as
CartPole-v1's are stated on that average (mean of the last 100 episodes >= 475).
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def moving_average(values: Any, window: int) -> np.ndarray:
    """Trailing mean over the last ``window`` values (fewer at the start).

    Args:
        values: 1-D sequence of numbers, length ``n``.
        window: number of values averaged (>= 1).

    Returns:
        float64 array of shape ``(n,)``: element ``i`` is the mean of
        ``values[max(0, i - window + 1) : i + 1]``.
    """
    _check_window(window)
    data = _as_curve(values, name="values", allow_empty=True)
    if data.size == 0:
        return data
    sums = np.cumsum(data)
    counts = np.minimum(np.arange(1, data.size + 1), window)
    shifted = np.concatenate([np.zeros(window), sums])[: data.size]
    return (sums - shifted) / counts


def average_label(episodes: int, window: int) -> str:
    """What the bold curve of a run of ``episodes`` episodes shows, in words.

    The trailing mean averages the last ``window`` episodes, or all of them while
    there are fewer: a short run's curve is the mean of the episodes so far.

    Args:
        episodes: number of episodes in the run.
        window: moving-average window.

    Returns:
        ``"mean of the last 100 episodes"``, or ``"mean of the episodes so far"``
        when ``episodes <= window``.
    """
    if episodes <= window:
        return "mean of the episodes so far"
    return f"mean of the last {window} episodes"


def plot_rewards(
    rewards: Any,
    *,
    window: int = 100,
    threshold: float | None = None,
    labels: Any = None,
    ax: Any = None,
    title: str | None = None,
    legend: bool = True,
):
    """Plot episode rewards with their moving average, for one run or several.

    Args:
        rewards: one run (a 1-D sequence of episode rewards), a dict
            ``{label: rewards}``, or a list of runs.
        window: moving-average window in episodes.
        threshold: reward of the "solved" line (dashed), e.g.
            ``env.spec.reward_threshold``; None draws no line.
        labels: a label for one run, or a list of labels for a list of runs
            (ignored for a dict, whose keys are the labels).
        ax: matplotlib Axes to draw on; by default a new figure is created.
        title: optional title.
        legend: draw a legend on the Axes (False: e.g. to draw one for a whole
            figure of small Axes with ``fig.legend``).

    Returns:
        The ``matplotlib.figure.Figure``. A new figure is closed for pyplot so it
        shows once, as the cell's value or through ``display(fig)``.

    Raises:
        ValueError: empty runs, non-numeric rewards, labels not matching runs.
    """
    _check_window(window)
    runs = _as_runs(rewards, labels)
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        plt.close(fig)
    _draw_runs(ax, runs, window=window, threshold=threshold, title=title,
               legend=legend)
    return ax.figure


def plot_experiment(
    experiment: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    window: int = 100,
    threshold: float | None = None,
):
    """Compare networks trained on several seeds, on one figure.

    Left, each run's moving average (one colour per network, one line per seed);
    right, each run's episodes to solve (one dot per seed) and the network's median
    (a bar). A run that never solved is drawn as a cross above the others.

    Args:
        experiment: ``{network name: [run, ...]}``, each run a dict with
            ``"rewards"`` (episode rewards, 1-D) and ``"solved_at"`` (episodes
            played when solved, or None).
        window: moving-average window in episodes.
        threshold: reward of the "solved" line on the left, or None.

    Returns:
        The ``matplotlib.figure.Figure`` (closed for pyplot, shown once).

    Raises:
        ValueError: no networks, a network without runs, or malformed rewards.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    _check_window(window)
    if not experiment:
        raise ValueError("plot_experiment() got no networks")
    fig, (curves, points) = plt.subplots(
        1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]}
    )
    plt.close(fig)
    solved_at = {}
    for index, (name, runs) in enumerate(experiment.items()):
        if not runs:
            raise ValueError(f"network {name!r} has no runs")
        color = f"C{index % 10}"
        for number, run in enumerate(runs):
            values = _as_curve(run["rewards"], name=f"{name!r} rewards")
            curves.plot(
                np.arange(1, values.size + 1),
                moving_average(values, window),
                color=color,
                linewidth=1.5,
                label=name if number == 0 else None,
            )
        solved_at[name] = [run.get("solved_at") for run in runs]
    if threshold is not None:
        curves.axhline(threshold, color="black", linestyle="--", linewidth=1,
                       label=f"threshold {threshold:g}")
    curves.set(xlabel="episode", ylabel=f"mean of the last {window} episodes",
               title="learning curves, one line per seed")
    curves.xaxis.set_major_locator(MaxNLocator(integer=True))
    curves.legend(loc="best", fontsize="small")
    curves.grid(alpha=0.3)
    _draw_episodes_to_solve(points, solved_at)
    fig.tight_layout()
    return fig


def _draw_episodes_to_solve(ax, solved_at: Mapping[str, list]) -> None:
    """Dots per seed and a median bar per network; unsolved runs as crosses on top.

    Args:
        ax: matplotlib Axes.
        solved_at: ``{network name: [episodes to solve or None, one per run]}``.
    """
    done = [at for ats in solved_at.values() for at in ats if at is not None]
    ceiling = 1.1 * max(done) if done else 1.0
    for index, ats in enumerate(solved_at.values()):
        color = f"C{index % 10}"
        shown = [ceiling if at is None else at for at in ats]
        offsets = np.linspace(-0.15, 0.15, len(ats)) if len(ats) > 1 else [0.0]
        for offset, at, y in zip(offsets, ats, shown, strict=True):
            ax.plot(index + offset, y, "x" if at is None else "o", color=color)
        median = float(np.median([np.inf if at is None else at for at in ats]))
        if np.isfinite(median):
            ax.hlines(median, index - 0.3, index + 0.3, color=color, linewidth=3)
    if len(done) < sum(len(ats) for ats in solved_at.values()):
        ax.axhline(ceiling, color="grey", linewidth=0.5)
        ax.annotate("not solved", (ax.get_xlim()[0], ceiling), fontsize="small",
                    va="bottom")
    ax.set_xticks(range(len(solved_at)), list(solved_at), rotation=20, ha="right")
    ax.set(ylabel="episodes to solve", title="per seed (dots) and median (bar)")
    ax.grid(alpha=0.3, axis="y")


class LiveCurve:
    """A learning curve that redraws in place while an agent trains.

    In a notebook (JupyterLab, Colab, Binder) it shows one image and replaces it
    every ``every`` calls to :meth:`update` (at most about once per
    ``min_interval`` seconds, so plotting never slows training down). Outside a
    notebook, :meth:`update` only keeps a reference to the rewards.

    Args:
        title: title of the plot.
        window: moving-average window in episodes.
        threshold: "solved" line, or None.
        every: redraw every this many calls.
        min_interval: least number of seconds between two redraws.
        live: force (True) or disable (False) live display; None detects a
            notebook kernel.
    """

    def __init__(
        self,
        *,
        title: str = "",
        window: int = 100,
        threshold: float | None = None,
        every: int = 10,
        min_interval: float = 0.5,
        live: bool | None = None,
    ):
        _check_window(window)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.title = title
        self.window = window
        self.threshold = threshold
        self.every = every
        self.min_interval = float(min_interval)
        self.live = _in_notebook() if live is None else bool(live)
        self.calls = 0
        self.redraws = 0
        self._rewards: Any = []
        self._handle: Any = None
        self._last_draw = -np.inf

    def update(self, rewards: Any) -> None:
        """Record the rewards so far, redrawing now and then in a notebook.

        Args:
            rewards: all episode rewards so far (1-D sequence of numbers); not
                copied until drawn, so keep appending to the same list.
        """
        self.calls += 1
        self._rewards = rewards
        if not self.live or self.calls % self.every:
            return
        now = time.monotonic()
        if now - self._last_draw >= self.min_interval:
            self._last_draw = now
            self._show(self._figure())

    def close(self):
        """Draw the final curve once.

        Returns:
            The final ``matplotlib.figure.Figure`` (also shown in place in a
            notebook; end the cell with ``;`` or assign it to avoid a second copy).
        """
        fig = self._figure()
        if self.live:
            self._show(fig)
        return fig

    def _figure(self):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 4))
        ax = fig.add_subplot()
        values = _as_curve(self._rewards, name="rewards", allow_empty=True)
        runs = {"": values} if values.size else {}
        _draw_runs(
            ax,
            runs,
            window=self.window,
            threshold=self.threshold,
            title=self.title or None,
        )
        if values.size:
            recent = values[-self.window :].mean()
            ax.set_xlabel(
                f"episode ({values.size} so far; "
                f"{average_label(values.size, self.window)}: {recent:.1f})"
            )
        return fig

    def _show(self, fig) -> None:
        from IPython.display import Image, display

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=72)
        image = Image(data=buffer.getvalue(), format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)
        self.redraws += 1


def _draw_runs(
    ax, runs: Mapping[str, np.ndarray], *, window, threshold, title, legend=True
):
    """Draw raw rewards (faint) and moving averages (bold) for each run.

    Args:
        ax: matplotlib Axes.
        runs: ``{label: float64 rewards of shape (n,)}``; "" means unlabelled.
        window: moving-average window.
        threshold: dashed horizontal line, or None.
        title: Axes title, or None.
        legend: whether to draw the Axes' legend.
    """
    from matplotlib.ticker import MaxNLocator

    for index, (label, values) in enumerate(runs.items()):
        color = f"C{index % 10}"
        episodes = np.arange(1, values.size + 1)
        ax.plot(episodes, values, color=color, alpha=0.3, linewidth=0.8)
        name = f"{label}: " if label else ""
        ax.plot(
            episodes,
            moving_average(values, window),
            color=color,
            linewidth=2,
            label=name + average_label(values.size, window),
        )
    if threshold is not None:
        ax.axhline(
            threshold,
            color="black",
            linestyle="--",
            linewidth=1,
            label=f"threshold {threshold:g}",
        )
    ax.set_xlabel("episode")
    # Episodes are counted: no tick at 2.5 when a short run is drawn.
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("total reward of the episode")
    if title:
        ax.set_title(title)
    if legend and (runs or threshold is not None):
        ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)


def _as_runs(rewards: Any, labels: Any) -> dict[str, np.ndarray]:
    """Normalise the accepted forms of ``rewards`` to ``{label: 1-D float64}``.

    Args:
        rewards: one run, a dict of runs, or a list of runs.
        labels: None, a label, or a list of labels.

    Returns:
        Ordered dict of label -> rewards.
    """
    if isinstance(rewards, Mapping):
        if not rewards:
            raise ValueError("plot_rewards() got an empty dict of runs")
        return {
            str(k): _as_curve(v, name=f"rewards[{k!r}]") for k, v in rewards.items()
        }
    if _is_list_of_runs(rewards):
        names = _run_labels(labels, len(rewards))
        return {
            name: _as_curve(run, name=f"rewards[{i}]")
            for i, (name, run) in enumerate(zip(names, rewards, strict=True))
        }
    if labels is not None and not isinstance(labels, str):
        raise ValueError(f"labels for one run must be a string, got {labels!r}")
    return {labels or "": _as_curve(rewards, name="rewards")}


def _is_list_of_runs(rewards: Any) -> bool:
    if isinstance(rewards, np.ndarray):
        return rewards.ndim == 2
    if isinstance(rewards, Sequence) and not isinstance(rewards, str) and rewards:
        first = rewards[0]
        return isinstance(first, (Sequence, np.ndarray)) and not isinstance(first, str)
    return False


def _run_labels(labels: Any, count: int) -> list[str]:
    if labels is None:
        return [f"run {i + 1}" for i in range(count)]
    if isinstance(labels, str) or len(labels) != count:
        raise ValueError(f"expected {count} labels (one per run), got {labels!r}")
    return [str(label) for label in labels]


def _as_curve(values: Any, *, name: str, allow_empty: bool = False) -> np.ndarray:
    """Check a run of rewards.

    Args:
        values: 1-D sequence of numbers.
        name: what to call it in error messages.
        allow_empty: accept a run with no episodes.

    Returns:
        float64 array of shape ``(n,)``.
    """
    try:
        data = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a 1-D sequence of numbers (one total reward per "
            f"episode), got {type(values).__name__}"
        ) from None
    if data.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one total reward per episode), got shape {data.shape}"
        )
    if data.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty: no episode rewards to plot")
    return data


def _check_window(window: Any) -> None:
    if (
        isinstance(window, bool)
        or not isinstance(window, (int, np.integer))
        or window < 1
    ):
        raise ValueError(f"window must be a positive integer, got {window!r}")


def _in_notebook() -> bool:
    """True inside a Jupyter/Colab kernel, False in scripts, pytest and IPython.

    Returns:
        Whether an IPython kernel is running (checked without importing IPython).
    """
    ipython_module = sys.modules.get("IPython")
    if ipython_module is None:
        return False
    shell = ipython_module.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def plot_bands(
    ax,
    curves: Mapping[str, Mapping[str, Any]],
    *,
    xlabel: str = "episode",
    ylabel: str | None = None,
    title: str | None = None,
    zero_line: bool = True,
    band_alpha: float = 0.2,
) -> None:
    """Draw, for each curve, a median line and the band between two quantiles.

    On a linear axis, so that a difference of 10 looks the same size everywhere.

    Args:
        ax: matplotlib Axes.
        curves: ``{label: {"x": (n,), "median": (n,), "low": (n,), "high": (n,)}}``;
            ``low`` and ``high`` (for instance the first and third quartiles) may be
            left out, and then no band is drawn for that curve; an optional
            ``"mean"`` (n,) is drawn as a thin dashed line of the same colour.
        xlabel, ylabel, title: texts of the Axes.
        zero_line: draw a thin black line at 0.
        band_alpha: opacity of the bands.
    """
    for index, (label, curve) in enumerate(curves.items()):
        color = f"C{index % 10}"
        x = np.asarray(curve["x"], dtype=float)
        ax.plot(x, np.asarray(curve["median"], dtype=float), "o-", color=color,
                label=label, markersize=4)
        if "mean" in curve:
            ax.plot(x, np.asarray(curve["mean"], dtype=float), "--", color=color,
                    linewidth=1, label=f"{label} (mean)")
        if "low" in curve and "high" in curve:
            ax.fill_between(x, np.asarray(curve["low"], dtype=float),
                            np.asarray(curve["high"], dtype=float), color=color,
                            alpha=band_alpha, linewidth=0)
    if zero_line:
        ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if curves:
        ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
