"""Play-it-yourself widgets, driven by clicks as a student would."""

from __future__ import annotations

import warnings

import ipywidgets
import pytest

from course_utils import widgets
from course_utils.widgets import cartpole_widget, pendulum_widget

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _strict_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_cartpole_widget_layout():
    box = cartpole_widget(seed=0)
    assert isinstance(box, ipywidgets.VBox)
    assert bytes(box.image.value).startswith(PNG) and box.image.format == "png"
    assert box.image in box.children and box.status in box.children
    assert set(box.buttons) == {"left", "right", "reset"}
    assert all(isinstance(b, ipywidgets.Button) for b in box.buttons.values())
    assert box.status.value.startswith("step 0")


def test_cartpole_clicks_step_redraw_and_count():
    box = cartpole_widget(seed=0)
    first_image = bytes(box.image.value)
    for _ in range(3):
        box.buttons["left"].click()
    box.buttons["right"].click()
    assert box.game.steps == 4 and box.game.total_reward == 4.0
    assert "step 4" in box.status.value and "reward 4" in box.status.value
    assert bytes(box.image.value) != first_image


def test_cartpole_game_over_and_reset():
    box = cartpole_widget(seed=0)
    for _ in range(200):
        box.buttons["right"].click()
        if box.game.over:
            break
    assert box.game.terminated and not box.game.truncated
    assert "Game over" in box.status.value and "terminated" in box.status.value
    assert box.buttons["left"].disabled and box.buttons["right"].disabled
    steps = box.game.steps
    box.game.step(0)  # ignored once the episode is over
    assert box.game.steps == steps
    box.buttons["reset"].click()
    assert box.game.steps == 0 and not box.game.over
    assert not box.buttons["left"].disabled
    assert box.status.value.startswith("step 0")


def test_cartpole_win_message():
    box = cartpole_widget(seed=0)
    box.game.truncated = True
    assert "YOU WIN!" in widgets._cartpole_status(box.game)


def test_same_seed_same_start():
    first, second = cartpole_widget(seed=3), cartpole_widget(seed=3)
    assert bytes(first.image.value) == bytes(second.image.value)


def test_pendulum_widget_slider_and_steps():
    box = pendulum_widget(seed=0)
    assert isinstance(box.slider, ipywidgets.FloatSlider)
    assert (box.slider.min, box.slider.max) == (-2.0, 2.0)
    assert set(box.buttons) == {"step", "run", "reset"}
    box.slider.value = 1.5
    assert "torque +1.5" in box.status.value
    box.buttons["step"].click()
    assert box.game.steps == 1
    assert box.game.last_reward <= 0
    assert "last" in box.status.value
    image = bytes(box.image.value)
    box.buttons["run"].click()
    assert box.game.steps == 21 and bytes(box.image.value) != image
    assert box.game.env.unwrapped.last_u == pytest.approx(1.5)


def test_pendulum_time_limit_and_reset():
    box = pendulum_widget(seed=0)
    for _ in range(10):
        box.buttons["run"].click()
    assert box.game.steps == 200 and box.game.truncated
    assert "Time's up" in box.status.value
    assert box.buttons["step"].disabled and box.buttons["run"].disabled
    box.buttons["reset"].click()
    assert box.game.steps == 0 and not box.buttons["run"].disabled


def test_png_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="rendered nothing"):
        widgets._png_bytes(None)
