"""What a student sees after Run All in JupyterLab, in a real (headless) Chromium.

Each solution notebook is opened and run once (see ``conftest.run``); these tests read
the page. Which cells should show an animation, a curve or a widget is found from the
cells' sources (the course's helpers they call); what they show is read from the page.
Every failure names the notebook and the cell (its number and first line).
"""

from __future__ import annotations

import ast
import re
import time

import pytest

# A cell that calls one of these helpers must show the matching output.
ANIMATION_CALL = re.compile(r"\banimate\(")
CURVE_MAKERS = frozenset({"LiveCurve", "plot_rewards"})
WIDGET_CALL = re.compile(r"\b(cartpole|pendulum)_widget\(")
# Widgets to click, found by the text of a button: kind -> (label, text pattern).
WIDGET_PROBES = {
    "cartpole": ("push right", re.compile(r"^push right")),
    "pendulum": ("step", re.compile(r"^step$")),
}
# A learning curve is a real plot, not an icon.
MIN_CURVE_WIDTH = 200
# Clicks allowed for a widget's image to change (one CartPole step barely moves it).
MAX_CLICKS = 5
# What JupyterLab asks when its news setting was never chosen (a toast that stays).
NEWS_PROMPT = "official Jupyter news"
# TensorFlow's notice on CPUs where it turns oneDNN on (the lab forces it on).
ONEDNN_NOTICE = "oneDNN custom operations are on"


def calls(run, pattern: re.Pattern) -> list[int]:
    """Indices of the code cells whose source matches ``pattern``."""
    return [
        cell.index
        for cell in run.cells
        if cell.code and pattern.search(strip_comments(run.sources[cell.index]))
    ]


def strip_comments(source: str) -> str:
    """The source without ``#`` comment lines (mentions in comments do not count)."""
    return "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith("#")
    )


def fail_with(problems: list[str], run) -> None:
    """Fail listing every problem, pointing at the notebook's screenshot."""
    if problems:
        pytest.fail(
            "\n".join(problems) + f"\n(screenshot: {run.shot('notebook')})",
            pytrace=False,
        )


def test_every_cell_runs_without_error(run):
    """Run All reaches the end: every code cell has run, with no traceback and
    nothing on stderr (TensorFlow logs, warnings).

    A cell shown collapsed (source hidden) shows no execution count; an error in it
    still shows in its output, and Run All would stop there: the cells after it
    would not have run.
    """
    problems = []
    for cell in run.cells:
        if not cell.code or not run.sources[cell.index].strip():
            continue
        where = run.where(cell.index)
        for text in cell.tracebacks:
            problems.append(f"{where} shows an error:\n{last_lines(text)}")
        for text in cell.noise:
            problems.append(f"{where} writes to stderr: {text[:500]!r}")
        if not cell.ran and not cell.tracebacks and not cell.collapsed:
            problems.append(f"{where} did not run (prompt {cell.prompt!r})")
    fail_with(problems, run)


def test_no_tensorflow_notice(run):
    """No cell shows TensorFlow's oneDNN notice (TF 2.21 prints it at import on
    stderr whatever TF_CPP_MIN_LOG_LEVEL says; the notebook's import leaves it out)."""
    problems = [
        f"{run.where(cell.index)} shows TensorFlow's oneDNN notice: "
        f"{text.strip()[:300]!r}"
        for cell in run.cells
        for text in cell.stderr
        if ONEDNN_NOTICE in text
    ]
    fail_with(problems, run)


def test_no_news_prompt(run):
    """JupyterLab asks nothing about news or updates: `make venv` installs the
    course's settings (binder/overrides.json), which say no."""
    prompts = run.page.get_by_text(NEWS_PROMPT)
    if prompts.count():
        fail_with([f"JupyterLab asks: {prompts.first.inner_text()[:200]!r}"], run)


def last_lines(text: str, count: int = 6) -> str:
    """The end of a traceback, where the error is."""
    return "\n".join(text.strip().splitlines()[-count:])


def test_animations_play(run):
    """Each cell calling ``animate(...)`` shows matplotlib's player, with a frame
    drawn by its JavaScript and its controls; its last frame differs from its first."""
    expected = calls(run, ANIMATION_CALL)
    shown = [cell.index for cell in run.cells if cell.animations]
    if not expected and not shown:
        pytest.skip(f"{run.name}: no cell calls animate(...)")
    problems = []
    for index in sorted(set(expected) | set(shown)):
        problems += animation_problems(run, index)
    fail_with(problems, run)


def animation_problems(run, index: int) -> list[str]:
    """What is wrong with the animation player of cell ``index`` (empty if fine)."""
    cell, where = run.cells[index], run.where(index)
    if not cell.animations:
        return [f"{where} calls animate(...) but shows no animation player"]
    player = cell.animations[0]
    if not player["frame"].startswith("data:image/"):
        return [f"{where}: the animation shows no frame (its JavaScript did not run)"]
    if player["buttons"] < 3:
        return [f"{where}: the animation has {player['buttons']} control buttons"]
    if not last_frame_changes_image(run, index):
        return [f"{where}: the animation's first and last frames are the same"]
    return []


def last_frame_changes_image(run, index: int) -> bool:
    """Show the player's first frame, then its last: did the image change?"""
    player = output_of(run, index).locator(".animation").first
    image = player.locator("img").first
    player.locator("button[onclick*='first_frame']").first.click()
    first = image.get_attribute("src")
    player.locator("button[onclick*='last_frame']").first.click()
    return wait_for_change(image.get_attribute, first, "src", timeout_ms=5_000)


def output_of(run, index: int):
    """Locator of cell ``index``'s output area on the page."""
    return run.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(index)


def wait_for_change(read, before, *args, timeout_ms: int = 20_000) -> bool:
    """Poll ``read(*args)`` until it differs from ``before``.

    Returns:
        True when it changed within ``timeout_ms``.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        if read(*args) != before:
            return True
        time.sleep(0.2)
    return False


def test_learning_curve_drawn(run):
    """Each training cell shows its learning curve: a plot image in its output.

    Training cells are those that call ``plot_rewards(...)`` or ``LiveCurve(...)``,
    or call a function defined in the notebook that makes a ``LiveCurve``.
    """
    expected = training_cells(run)
    if not expected:
        pytest.skip(f"{run.name}: no cell calls LiveCurve(...) or plot_rewards(...)")
    problems = [
        f"{run.where(index)} draws no learning curve (no plot image in its output)"
        for index in expected
        if curve_width(run, index) < MIN_CURVE_WIDTH
    ]
    fail_with(problems, run)


def training_cells(run) -> list[int]:
    """Indices of the code cells that should draw a learning curve."""
    trees = {cell.index: parse(run.sources[cell.index]) for cell in run.cells}
    trainers = {
        node.name
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and calls_curve(node)
    }
    return [
        cell.index
        for cell in run.cells
        if cell.code and draws_curve(trees[cell.index], trainers)
    ]


def parse(source: str) -> ast.Module:
    """The cell's syntax tree (IPython magics and shell lines left out)."""
    lines = [
        "" if line.lstrip().startswith(("%", "!")) else line
        for line in source.splitlines()
    ]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


def called_names(node: ast.AST, *, skip_defs: bool) -> set[str]:
    """Names of the functions called under ``node`` (``f(...)``, ``cu.f(...)``)."""
    names = set()
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        if skip_defs and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(child, ast.Call) and not asks_for_no_curve(child):
            func = child.func
            names.add(getattr(func, "id", None) or getattr(func, "attr", ""))
        stack.extend(ast.iter_child_nodes(child))
    return names


def asks_for_no_curve(call: ast.Call) -> bool:
    """Whether the call passes ``live=False`` (a training run told not to draw)."""
    return any(
        keyword.arg == "live"
        and isinstance(keyword.value, ast.Constant)
        and keyword.value.value is False
        for keyword in call.keywords
    )


def calls_curve(function: ast.FunctionDef) -> bool:
    """Whether the function makes a LiveCurve or plots rewards."""
    return bool(called_names(function, skip_defs=False) & CURVE_MAKERS)


def draws_curve(tree: ast.Module, trainers: set[str]) -> bool:
    """Whether the cell's own statements (not its functions' bodies) draw a curve."""
    return bool(called_names(tree, skip_defs=True) & (CURVE_MAKERS | trainers))


def curve_width(run, index: int) -> int:
    """Width in pixels of the widest plot image in cell ``index``'s output."""
    if not run.cells[index].images:
        return 0
    return output_of(run, index).evaluate(
        """(cell) => Math.max(0, ...[...cell.querySelectorAll(
            '.jp-OutputArea-output img')].filter((img) => !img.closest('.animation')
            && !img.closest('.jupyter-widgets')).map((img) => img.naturalWidth))"""
    )


def test_widgets_render(run):
    """Each cell creating a play-it-yourself widget shows it, without the "Error
    displaying widget" a missing or mismatched ipywidgets would give."""
    expected = calls(run, WIDGET_CALL)
    if not expected:
        pytest.skip(f"{run.name}: no cell calls cartpole_widget() or pendulum_widget()")
    problems = []
    for cell in run.cells:
        for text in cell.widgetErrors:
            problems.append(f"{run.where(cell.index)}: {text[:200]!r}")
    for index in expected:
        if not run.cells[index].widgets:
            problems.append(f"{run.where(index)} creates a widget but shows none")
    fail_with(problems, run)


@pytest.mark.parametrize("kind", sorted(WIDGET_PROBES))
def test_widget_responds_to_a_click(run, kind):
    """Clicking the widget's button redraws the frame and updates the step/reward
    text, as the student's click would (screenshots before and after)."""
    label, pattern = WIDGET_PROBES[kind]
    index = cell_with_button(run, pattern)
    if index is None:
        if calls(run, re.compile(rf"\b{kind}_widget\(")):
            pytest.fail(f"{run.name}: no {label!r} button on the page", pytrace=False)
        pytest.skip(f"{run.name}: no {kind} widget")
    problems = click_and_compare(run, index, pattern, label)
    fail_with(problems, run)


def cell_with_button(run, pattern: re.Pattern) -> int | None:
    """Index of the first cell whose output has a button whose text matches."""
    for cell in run.cells:
        if any(pattern.search(text) for text in cell.buttons):
            return cell.index
    return None


def click_and_compare(run, index: int, pattern: re.Pattern, label: str) -> list[str]:
    """Click the button and check that the widget's text and image both change.

    One CartPole step moves the cart by a fraction of a pixel, so the image may
    take a few clicks (at most :data:`MAX_CLICKS`) to change; the text (step count,
    reward) must change at the first.

    Returns:
        Problems found (empty when the widget responded).
    """
    box = widget_box(run, index, pattern)
    image, status = box.locator("img").first, box.locator(".widget-html").last
    button = box.locator("button").filter(has_text=pattern).first
    box.scroll_into_view_if_needed()
    slug = label.replace(" ", "-")
    box.screenshot(path=str(run.shot(f"widget-{slug}-before")))
    src_before, text_before = image.get_attribute("src"), status.inner_text()
    button.click()
    text_changed = wait_for_change(status.inner_text, text_before)
    image_changed = False
    for _ in range(MAX_CLICKS if text_changed else 1):
        if wait_for_change(image.get_attribute, src_before, "src", timeout_ms=3_000):
            image_changed = True
            break
        button.click()
    box.screenshot(path=str(run.shot(f"widget-{slug}-after")))
    where = run.where(index)
    problems = []
    if not text_changed:
        problems.append(
            f"{where}: clicking {label!r} did not change the text {text_before!r}"
        )
    if not image_changed:
        problems.append(f"{where}: clicking {label!r} did not redraw the image")
    return problems


def widget_box(run, index: int, pattern: re.Pattern):
    """Locator of the innermost widget box holding the button (image, buttons,
    status text)."""
    button = run.page.locator("button").filter(has_text=pattern)
    boxes = output_of(run, index).locator(".widget-vbox").filter(has=button)
    return boxes.last


def test_nothing_from_the_network(run):
    """The notebook needs no network: neither JupyterLab's page nor any output
    (animation players, widgets, plots) asked for anything beyond this machine.

    The browser aborts every such request (``conftest.network``); defined last, this
    test sees those of the other tests' clicks too. Any made after it fail the
    notebook's teardown.
    """
    run.page.wait_for_timeout(500)  # let requests of the last clicks start
    blocked = run.blocked()
    run.reported = len(blocked)
    if blocked:
        fail_with(
            [
                f"{run.name}: the page asked for {len(blocked)} URL(s) beyond this "
                "machine (blocked, as offline):"
            ]
            + [f"  {url}" for url in blocked],
            run,
        )
