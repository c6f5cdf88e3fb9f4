"""The animation player offline, in headless Chromium, without JupyterLab (seconds).

The browser blocks every request beyond this machine (``conftest.network``). First a
check that the guard sees what matplotlib's own player asks for (its Font Awesome
stylesheet, on a CDN), then the course's player: nothing requested, every button
showing its icon, and the buttons still driving the frames.
"""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.rendering import animate

PLAYER_BUTTONS = 9


def frames(count: int = 4) -> list[np.ndarray]:
    """Frames of different greys, so that each one looks different."""
    return [np.full((40, 60, 3), 60 * i, np.uint8) for i in range(count)]


@pytest.fixture
def page(browser):
    page = browser.new_page()
    yield page
    page.close()


def show(page, html: str) -> None:
    """Put ``html`` in the page and let its scripts run."""
    page.set_content(f"<!doctype html><html><body>{html}</body></html>")
    page.wait_for_selector(".animation img[src^='data:image/']", timeout=10_000)
    page.wait_for_timeout(300)


def test_the_guard_blocks_matplotlibs_own_player(page, network):
    from matplotlib.animation import FuncAnimation
    from matplotlib.figure import Figure

    figure = Figure()
    image = figure.add_subplot().imshow(frames(1)[0])
    player = FuncAnimation(figure, lambda i: (image,), frames=2).to_jshtml()
    start = len(network.blocked)
    show(page, player)
    blocked = network.since(start)
    assert any(url.startswith("https://") for url in blocked), blocked


def test_the_course_player_works_offline(page, network):
    start = len(network.blocked)
    show(page, animate(frames(), fps=10).data)
    assert network.since(start) == []
    buttons = page.locator(".animation button")
    assert buttons.count() == PLAYER_BUTTONS
    sizes = buttons.evaluate_all(
        """(all) => all.map((b) => {
            const icon = b.querySelector('svg');
            const box = icon ? icon.getBoundingClientRect() : {width: 0, height: 0};
            return [box.width, box.height];
        })"""
    )
    assert all(w >= 8 and h >= 8 for w, h in sizes), sizes  # an icon in each button
    image = page.locator(".animation img").first
    page.click(".animation button[title='First frame']")
    first = image.get_attribute("src")
    page.click(".animation button[title='Last frame']")
    assert image.get_attribute("src") != first
    page.click(".animation button[title='Previous frame']")
    assert page.locator(".animation input[type=range]").input_value() == "2"
