"""Fixtures of the browser tests: a JupyterLab server, a headless Chromium, and each
solution notebook opened and run once (Run > Run All Cells) like a student would.

Run them with ``make test-browser``; ``make test`` leaves them out. Screenshots and the
server's log go to ``test-artifacts/browser/``.

Environment variables:
    CHROMIUM: the Chromium binary (default: Debian's ``/usr/bin/chromium``).
    BROWSER_NOTEBOOKS: folder of notebooks to serve (default: ``notebooks/``); every
        ``NN_name.ipynb`` directly inside it is tested.
    BROWSER_TIMEOUT: seconds allowed for one notebook's Run All (default 900).

A missing Chromium stops the run at once with exit status 3 and says how to install it.

Nothing leaves the machine: every request of the browser beyond 127.0.0.1 is aborted
and recorded (:class:`notebook_page.NetworkGuard`), and a notebook's tests fail
listing the URLs it tried to fetch.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import lab_server
import notebook_page
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
NOTEBOOKS_DIR = Path(os.environ.get("BROWSER_NOTEBOOKS", ROOT / "notebooks")).resolve()
NOTEBOOKS = sorted(p.name for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
RUN_TIMEOUT = float(os.environ.get("BROWSER_TIMEOUT", "900"))


@dataclass
class NotebookRun:
    """A notebook after Run All, still open in its browser tab.

    Attributes:
        name: file name, e.g. ``01_actor_critic_cartpole.ipynb``.
        page: the Playwright page showing it.
        cells: what each cell shows (:class:`notebook_page.Cell`), in order.
        sources: each cell's source, from the file, in the same order.
        seconds: how long Run All took.
        network: the browser's guard, with the requests it blocked.
        first_blocked: how many the guard had blocked before this notebook opened.
        reported: how many of this notebook's blocked requests a test reported.
    """

    name: str
    page: object
    cells: list
    sources: list[str]
    seconds: float
    network: notebook_page.NetworkGuard
    first_blocked: int = 0
    reported: int = 0

    def blocked(self) -> list[str]:
        """URLs beyond this machine the notebook's page asked for (all aborted)."""
        return self.network.since(self.first_blocked)

    def where(self, index: int) -> str:
        """Name a cell for a failure message: notebook, number and first line."""
        lines = self.sources[index].strip().splitlines()
        first = lines[0] if lines else "(empty)"
        return f"{self.name}, cell {index + 1} ({first!r})"

    def shot(self, label: str) -> Path:
        """Path of a screenshot named after the notebook and ``label``."""
        return ARTIFACTS / f"{Path(self.name).stem}-{label}.png"


@pytest.fixture(scope="session", autouse=True)
def chromium() -> str:
    """The system's Chromium; stops the whole run first thing, with a clear message
    and exit status 3, when there is none."""
    try:
        return notebook_page.find_chromium()
    except FileNotFoundError as error:
        pytest.exit(str(error), returncode=3)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """An empty ``test-artifacts/browser/`` folder."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def lab(tmp_path_factory, artifacts):
    """JupyterLab serving a temporary copy of the notebooks."""
    if not NOTEBOOKS:
        pytest.exit(f"no NN_name.ipynb notebooks in {NOTEBOOKS_DIR}", returncode=4)
    server = lab_server.start_lab(NOTEBOOKS_DIR, tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()
    shutil.copy(server.log, artifacts / "jupyterlab.log")


@pytest.fixture(scope="session")
def network() -> notebook_page.NetworkGuard:
    """The guard that blocks and records the browser's requests beyond 127.0.0.1."""
    return notebook_page.NetworkGuard()


@pytest.fixture(scope="session")
def browser(chromium, network, tmp_path_factory):
    """A headless Chromium with a fresh profile (a Playwright BrowserContext), which
    reaches nothing beyond this machine (see :func:`network`)."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    context = notebook_page.launch(
        playwright, chromium, tmp_path_factory.mktemp("chromium-profile")
    )
    network.install(context)
    yield context
    context.close()
    playwright.stop()


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=lambda n: Path(n).stem)
def run(request, lab, browser, network) -> NotebookRun:
    """Open one notebook, run all its cells, screenshot it; one run per notebook.

    Tests of one notebook share the run (module scope groups them); its kernel is
    shut down before the next notebook opens. Requests beyond this machine that no
    test reported (``test_nothing_from_the_network`` runs last) fail the teardown.
    """
    name = request.param
    page = browser.new_page()
    first_blocked = len(network.blocked)
    notebook = None
    try:
        notebook = run_notebook(page, lab, name, network, first_blocked)
        yield notebook
    finally:
        page.close()
        lab.shutdown_kernels()
        time.sleep(1)
    blocked = network.since(first_blocked)
    unreported = blocked[notebook.reported :] if notebook else blocked
    if unreported:
        pytest.fail(
            f"{name}: the page asked for {len(unreported)} URL(s) beyond this machine "
            "(blocked):\n" + "\n".join(unreported),
            pytrace=False,
        )


def run_notebook(
    page, lab, name: str, network: notebook_page.NetworkGuard, first_blocked: int
) -> NotebookRun:
    """Open ``name``, Run All, read the page and screenshot it (also on failure)."""
    shot = ARTIFACTS / f"{Path(name).stem}-notebook.png"
    try:
        notebook_page.open_notebook(page, lab, name, timeout=180)
        seconds = notebook_page.run_all(page, lab, name, timeout=RUN_TIMEOUT)
    except Exception:
        page.screenshot(path=str(shot))
        raise
    notebook_page.screenshot_notebook(page, shot)
    run = NotebookRun(
        name,
        page,
        notebook_page.read_cells(page),
        cell_sources(lab.root / name),
        seconds,
        network,
        first_blocked,
    )
    assert len(run.cells) == len(run.sources), (
        f"{name}: the page shows {len(run.cells)} cells, the file has "
        f"{len(run.sources)}"
    )
    print(f"{name}: Run All took {seconds:.0f} s")
    return run


def cell_sources(path: Path) -> list[str]:
    """Each cell's source text, in order, read from the notebook file."""
    cells = json.loads(path.read_text())["cells"]
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in cells
    ]
