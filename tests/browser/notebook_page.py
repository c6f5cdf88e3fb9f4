"""Drive a notebook in JupyterLab the way a student does, with Playwright.

Open the notebook, wait for its kernel, Run > Run All Cells, wait until every cell
has run, then read what is on the page: each cell's prompt, what it shows on stderr
or as a traceback, its images, animations and widgets. Cells are found by what they
display (a player's controls, a button's text), never by their position.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

# Flags for a headless Chromium that never talks to the network by itself.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
NO_CHROMIUM = (
    "No Chromium found for the browser tests (looked for {where}). Install Debian's: "
    "`apt-get install chromium` (as root), or point CHROMIUM at a Chromium binary. "
    "The tests never download a browser."
)
# An error output: "Traceback (most recent call last)", or "NameError: ..." alone.
TRACEBACK = re.compile(
    r"Traceback \(most recent call last\)|^\w*(Error|Exception)\b:", re.M
)
VIEWPORT = {"width": 1280, "height": 900}
# What a page may load: the machine itself (the JupyterLab server on 127.0.0.1, the
# report's file) and what it carries inline. Nothing else is ever allowed: the course
# promises that no network is needed after the set-up. (JupyterLab's own requests
# for news and updates are turned off by binder/overrides.json.)
LOCAL_SCHEMES = frozenset({"data", "blob", "file", "about"})
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Seconds within which Run All must have started a cell.
START_TIMEOUT = 60
# Chromium cannot capture images taller than about 16,000 pixels in one go.
MAX_SHOT_HEIGHT = 15000

# One pass over the notebook's DOM: for each cell, what a student would see.
# (Plain JavaScript run in the page by Playwright.)
CELLS_JS = """
() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) '
                                    + '.jp-Notebook .jp-Cell')].map((cell, index) => {
  const outputs = [...cell.querySelectorAll('.jp-OutputArea-output')];
  const text = (el) => (el.innerText || '').trim();
  const mime = (m) => outputs.filter((o) => o.dataset.mimeType === m).map(text);
  const animations = [...cell.querySelectorAll('.animation')].map((a) => ({
    frame: ((a.querySelector('img') || {}).src || '').slice(0, 40),
    buttons: a.querySelectorAll('button').length,
  }));
  return {
    index,
    code: cell.classList.contains('jp-CodeCell'),
    prompt: text(cell.querySelector('.jp-InputPrompt') || cell),
    // Source hidden (as the instrumentation cells are): JupyterLab then shows a
    // placeholder with no execution count, so whether it ran cannot be read here.
    collapsed: !!cell.querySelector('.jp-InputPlaceholder'),
    stderr: mime('application/vnd.jupyter.stderr'),
    images: [...cell.querySelectorAll('.jp-OutputArea-output img')]
      .filter((img) => !img.closest('.animation') && !img.closest('.jupyter-widgets'))
      .filter((img) => img.complete && img.naturalWidth > 0).length,
    animations,
    widgets: cell.querySelectorAll('.jp-OutputArea-output .jupyter-widgets').length,
    widgetErrors: outputs.map(text)
      .filter((t) => /Error displaying widget|Loading widget/.test(t)),
    buttons: [...cell.querySelectorAll('.jp-OutputArea-output button')].map(text),
  };
})
"""


@dataclass
class Cell:
    """What one cell shows after Run All (see :data:`CELLS_JS`)."""

    index: int
    code: bool
    prompt: str
    collapsed: bool = False
    stderr: list[str] = field(default_factory=list)
    images: int = 0
    animations: list[dict] = field(default_factory=list)
    widgets: int = 0
    widgetErrors: list[str] = field(default_factory=list)  # noqa: N815 (JS name)
    buttons: list[str] = field(default_factory=list)

    @property
    def tracebacks(self) -> list[str]:
        """Error outputs (JupyterLab renders them with the stderr MIME type)."""
        return [text for text in self.stderr if TRACEBACK.search(text)]

    @property
    def noise(self) -> list[str]:
        """Text written to stderr that is not an error's traceback."""
        return [text for text in self.stderr if not TRACEBACK.search(text)]

    @property
    def ran(self) -> bool:
        """Whether the cell shows an execution count, e.g. ``[12]:``."""
        return any(ch.isdigit() for ch in self.prompt)


def find_chromium() -> str:
    """Locate the system's Chromium.

    Returns:
        Path of the executable: ``$CHROMIUM`` when set, else Debian's.

    Raises:
        FileNotFoundError: none found (the message says how to install it).
    """
    wanted = os.environ.get("CHROMIUM")
    candidates = (wanted,) if wanted else CHROMIUM_CANDIDATES
    for candidate in candidates:
        path = shutil.which(candidate)
        if path:
            return path
    raise FileNotFoundError(NO_CHROMIUM.format(where=", ".join(candidates)))


def launch(playwright, executable: str, profile: Path):
    """Start headless Chromium with a fresh profile.

    Args:
        playwright: the object returned by ``sync_playwright().start()``.
        executable: the Chromium binary.
        profile: an empty folder, used as the browser's user-data-dir.

    Returns:
        A Playwright ``BrowserContext``.
    """
    return playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=executable,
        headless=True,
        args=list(CHROMIUM_FLAGS),
        viewport=VIEWPORT,
    )


class NetworkGuard:
    """Blocks every request a page makes beyond this machine, and records it.

    Installed on the browser context (all its pages), before any page opens. The
    tests read :attr:`blocked` and fail on what a notebook tried to fetch.

    Attributes:
        blocked: URLs aborted so far, in order (WebSockets included).
    """

    def __init__(self) -> None:
        self.blocked: list[str] = []

    def install(self, context) -> None:
        """Route all of ``context``'s requests through the guard."""
        context.route("**/*", self._route)
        context.route_web_socket(lambda url: not self.allows(url), self._refuse_socket)

    @staticmethod
    def allows(url: str) -> bool:
        """Whether ``url`` stays on this machine (loopback host or inline data)."""
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES:
            return True
        return (
            parts.scheme in ("http", "https", "ws", "wss")
            and (parts.hostname or "") in LOCAL_HOSTS
        )

    def since(self, start: int) -> list[str]:
        """The URLs blocked after the first ``start`` ones, each once, in order."""
        return list(dict.fromkeys(self.blocked[start:]))

    def _route(self, route) -> None:
        url = route.request.url
        if self.allows(url):
            route.fallback()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")

    def _refuse_socket(self, socket) -> None:
        # A WebSocket routed here is never connected to its server: closed at once.
        self.blocked.append(socket.url)
        socket.close()


def kernel_ready(server, name: str) -> bool:
    """Whether notebook ``name`` has a kernel that is idle and connected to the page."""
    kernel = server.kernel_of(name)
    return bool(
        kernel
        and kernel.get("execution_state") == "idle"
        and kernel.get("connections", 0) > 0
    )


def open_notebook(page, server, name: str, timeout: float) -> None:
    """Open notebook ``name`` and wait for its cells and its kernel.

    A "Select Kernel" dialog, if JupyterLab shows one, is answered with the
    notebook's own kernel, as a student would.

    Raises:
        TimeoutError: the kernel was not ready within ``timeout`` seconds.
    """
    page.goto(server.notebook_url(name))
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=120_000)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        accept_kernel_dialog(page)
        if kernel_ready(server, name):
            page.wait_for_timeout(1000)  # let the page see the kernel as idle too
            return
        time.sleep(0.5)
    raise TimeoutError(f"{name}: its kernel did not start within {timeout:.0f} s")


def accept_kernel_dialog(page) -> None:
    """Press "Select" in JupyterLab's kernel dialog when it is open."""
    dialog = page.locator(".jp-Dialog:has-text('Select Kernel')")
    if dialog.count():
        dialog.locator(".jp-mod-accept").click()


def run_all(page, server, name: str, timeout: float) -> float:
    """Run > Run All Cells, then wait until no cell is queued or running.

    Returns:
        Seconds the run took.

    Raises:
        TimeoutError: no cell started within :data:`START_TIMEOUT` seconds, or
            cells still running after ``timeout`` seconds.
    """
    start = time.monotonic()
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    while time.monotonic() - start < timeout:
        time.sleep(1.0)
        cells = [c for c in read_cells(page) if c.code]
        busy = any("*" in c.prompt for c in cells)
        started = busy or any(c.ran for c in cells)
        if started and not busy and kernel_ready(server, name):
            return time.monotonic() - start
        if not started and time.monotonic() - start > START_TIMEOUT:
            raise TimeoutError(
                f"{name}: Run > Run All Cells started no cell in {START_TIMEOUT} s"
            )
    running = [c.index + 1 for c in read_cells(page) if "*" in c.prompt]
    raise TimeoutError(
        f"{name}: cells {running} still running after {timeout:.0f} s (Run All Cells)"
    )


def read_cells(page) -> list[Cell]:
    """What every cell of the open notebook shows, in notebook order."""
    return [Cell(**raw) for raw in page.evaluate(CELLS_JS)]


def screenshot_notebook(page, path: Path) -> list[Path]:
    """Screenshot the whole notebook, taller than the window, as a student scrolls it.

    The window is stretched to the notebook's height (in slices of at most
    :data:`MAX_SHOT_HEIGHT` pixels), then restored.

    Returns:
        The image files written (``path``, or ``path`` with ``-2``, ``-3``...).
    """
    scroller = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer"
    height = page.evaluate(
        f"() => document.querySelector('{scroller}')?.scrollHeight || 0"
    )
    chrome = VIEWPORT["height"] - page.evaluate(
        f"() => document.querySelector('{scroller}')?.clientHeight || 0"
    )
    slice_height = min(max(height, 1), MAX_SHOT_HEIGHT)
    page.set_viewport_size(
        {"width": VIEWPORT["width"], "height": slice_height + chrome}
    )
    written = []
    try:
        for number, top in enumerate(range(0, max(height, 1), slice_height), start=1):
            page.evaluate(
                f"() => {{ document.querySelector('{scroller}').scrollTop = {top}; }}"
            )
            page.wait_for_timeout(300)
            target = path if number == 1 else path.with_stem(f"{path.stem}-{number}")
            page.screenshot(path=str(target))
            written.append(target)
    finally:
        page.set_viewport_size(VIEWPORT)
    return written
