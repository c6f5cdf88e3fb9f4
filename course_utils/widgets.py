"""Play the environments yourself: CartPole with buttons, Pendulum with a slider.

Only widgets and arguments present in both ipywidgets 7.7 (Colab) and 8 are
used: Button, FloatSlider, Image(value=png_bytes, format="png"), HBox, VBox, HTML.
Each function returns a VBox with extra attributes (``buttons``, ``image``,
``status``, ``game``) so that tests can drive it with ``button.click()``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from .seeding import make_env

# CartPole-v1 actions: 0 pushes the cart to the left, 1 to the right.
_CARTPOLE_ACTIONS = MappingProxyType({"left": 0, "right": 1})


class _Game:
    """One environment played step by step, with its running score.

    Args:
        env_id: gymnasium id.
        seed: seed of the first episode; later resets continue the sequence.
    """

    def __init__(self, env_id: str, seed: int):
        self.env = make_env(env_id, seed, render_mode="rgb_array")
        self.steps = 0
        self.total_reward = 0.0
        self.last_reward: float | None = None
        self.terminated = False
        self.truncated = False

    @property
    def over(self) -> bool:
        return self.terminated or self.truncated

    def step(self, action: Any) -> None:
        """Apply ``action`` unless the episode is over.

        Args:
            action: a valid action for the environment.
        """
        if self.over:
            return
        _, reward, terminated, truncated, _ = self.env.step(action)
        self.steps += 1
        self.last_reward = float(reward)
        self.total_reward += float(reward)
        self.terminated, self.truncated = bool(terminated), bool(truncated)

    def reset(self) -> None:
        """Start a new episode (a new random start state)."""
        self.env.reset()
        self.steps = 0
        self.total_reward = 0.0
        self.last_reward = None
        self.terminated = self.truncated = False

    def png(self) -> bytes:
        """Render the current state.

        Returns:
            PNG-encoded bytes of the ``(H, W, 3)`` uint8 frame.
        """
        return _png_bytes(self.env.render())


def cartpole_widget(*, seed: int = 0):
    """Balance the pole yourself with "push left" / "push right" buttons.

    Each click is one step (1/50 s of simulated time); the reward is +1 per step
    until the pole tips over 12 degrees or the cart leaves the track
    (terminated), or 500 steps pass (truncated: you win).

    Args:
        seed: seed of the first episode.

    Returns:
        ``ipywidgets.VBox`` with attributes ``buttons`` (dict "left", "right",
        "reset" -> Button), ``image`` (Image), ``status`` (HTML) and ``game``.
    """
    import ipywidgets as widgets

    game = _Game("CartPole-v1", seed)
    buttons = {
        "left": widgets.Button(description="◀ push left"),
        "right": widgets.Button(description="push right ▶"),
        "reset": widgets.Button(description="reset"),
    }
    image = widgets.Image(value=game.png(), format="png", width="360")
    status = widgets.HTML(value=_cartpole_status(game))

    def refresh() -> None:
        image.value = game.png()
        status.value = _cartpole_status(game)
        buttons["left"].disabled = buttons["right"].disabled = game.over

    def push(name: str):
        def on_click(_button) -> None:
            game.step(_CARTPOLE_ACTIONS[name])
            refresh()

        return on_click

    def on_reset(_button) -> None:
        game.reset()
        refresh()

    buttons["left"].on_click(push("left"))
    buttons["right"].on_click(push("right"))
    buttons["reset"].on_click(on_reset)
    row = widgets.HBox([buttons["left"], buttons["right"], buttons["reset"]])
    return _attach(widgets.VBox([image, row, status]), game, buttons, image, status)


def pendulum_widget(*, seed: int = 0):
    """Swing the pendulum up yourself: choose a torque, then step.

    The reward of a step is ``-(angle**2 + 0.1 * speed**2 + 0.001 * torque**2)``:
    0 when upright and still, about -16.3 at worst; episodes last 200 steps.

    Args:
        seed: seed of the first episode.

    Returns:
        ``ipywidgets.VBox`` with attributes ``slider`` (FloatSlider in [-2, 2]),
        ``buttons`` (dict "step", "run", "reset" -> Button), ``image``,
        ``status`` and ``game``.
    """
    import ipywidgets as widgets

    game = _Game("Pendulum-v1", seed)
    low = float(game.env.action_space.low[0])
    high = float(game.env.action_space.high[0])
    slider = widgets.FloatSlider(
        value=0.0,
        min=low,
        max=high,
        step=0.1,
        description="torque",
        continuous_update=False,
        readout_format=".1f",
    )
    buttons = {
        "step": widgets.Button(description="step"),
        "run": widgets.Button(description="run 20 steps"),
        "reset": widgets.Button(description="reset"),
    }
    image = widgets.Image(value=game.png(), format="png", width="300")
    status = widgets.HTML(value=_pendulum_status(game, slider.value))

    def refresh(_change=None) -> None:
        image.value = game.png()
        status.value = _pendulum_status(game, slider.value)
        buttons["step"].disabled = buttons["run"].disabled = game.over

    def run(steps: int):
        def on_click(_button) -> None:
            torque = np.array([slider.value], dtype=np.float32)
            for _ in range(steps):
                game.step(torque)
            refresh()

        return on_click

    def on_reset(_button) -> None:
        game.reset()
        refresh()

    buttons["step"].on_click(run(1))
    buttons["run"].on_click(run(20))
    buttons["reset"].on_click(on_reset)
    slider.observe(lambda change: _update_status(status, game, change), names="value")
    row = widgets.HBox([buttons["step"], buttons["run"], buttons["reset"]])
    box = widgets.VBox([image, slider, row, status])
    box.slider = slider
    return _attach(box, game, buttons, image, status)


def _update_status(status, game: _Game, change: Mapping) -> None:
    status.value = _pendulum_status(game, change["new"])


def _attach(box, game: _Game, buttons: dict, image, status):
    """Expose the parts of a widget for tests and curious students.

    Returns:
        ``box`` with ``game``, ``buttons``, ``image`` and ``status`` attributes.
    """
    box.game = game
    box.buttons = buttons
    box.image = image
    box.status = status
    return box


def _cartpole_status(game: _Game) -> str:
    text = f"step {game.steps} &middot; reward {game.total_reward:.0f}"
    if game.terminated:
        return (
            f"{text}<br><b>Game over</b>: the pole fell or the cart left the track "
            "(terminated). Sorry, try again... press reset."
        )
    if game.truncated:
        return f"{text}<br><b>Time's up</b> (truncated): <b>YOU WIN!</b>"
    return text


def _pendulum_status(game: _Game, torque: float) -> str:
    last = "" if game.last_reward is None else f" &middot; last {game.last_reward:.2f}"
    text = (
        f"torque {torque:+.1f} &middot; step {game.steps} &middot; "
        f"reward {game.total_reward:.1f}{last}"
    )
    if game.over:
        return f"{text}<br><b>Time's up</b> (200 steps, truncated): press reset."
    return text


def _png_bytes(frame: np.ndarray) -> bytes:
    """Encode an ``(H, W, 3)`` uint8 image as PNG.

    Returns:
        The PNG file's bytes.
    """
    from PIL import Image

    if frame is None:
        raise ValueError("the environment rendered nothing (render_mode missing?)")
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(frame, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
