"""A throw-away JupyterLab server for the browser tests, started as `make lab` does.

The server is the course environment's ``jupyter lab`` (the command `make lab` runs),
with the environment it gets from `make` (no variable added to quiet anything), so
that the page shows what a student sees: TensorFlow's start-up notices, JupyterLab's
news prompt, anything the course's own settings fail to silence. Only what a test
needs differs: a free local port, a random token, a temporary copy of the notebooks
(running them cannot write outputs into the repository's), temporary workspaces and
runtime files, and one user setting that keeps every cell in the page.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# User settings of the temporary JupyterLab: every cell kept in the page (no virtual
# scrolling), so that all outputs can be inspected and appear in full-page screenshots.
# Nothing here hides a prompt or a notice: those must be silenced by the course's own
# settings (binder/overrides.json, installed by `make venv`), which the tests check.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
    },
}
# TensorFlow turns oneDNN on by itself on CPUs with AVX512-VNNI, AVX512-BF16 or AMX
# (recent Intel and AMD processors, many students' laptops) and then prints its
# oneDNN notice at import, whatever TF_CPP_MIN_LOG_LEVEL says. Turned on here, so that
# on any test machine the notebooks show what they show on those CPUs.
STUDENT_CPU = {"TF_ENABLE_ONEDNN_OPTS": "1"}


@dataclass
class LabServer:
    """A running JupyterLab server.

    Attributes:
        url: base address, e.g. ``http://127.0.0.1:40123``.
        token: the token that authenticates requests.
        root: the folder it serves (a copy of the notebooks).
        process: the server process.
        log: file receiving the server's output.
    """

    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path

    def notebook_url(self, name: str) -> str:
        """Address that opens notebook ``name`` (relative to ``root``) alone, in a
        fresh workspace of its own (no tab of an earlier notebook comes back)."""
        workspace = f"{self.url}/lab/workspaces/{Path(name).stem}"
        return f"{workspace}/tree/{name}?reset&token={self.token}"

    def api(self, path: str, method: str = "GET"):
        """Call the server's REST API.

        Args:
            path: e.g. ``/api/kernels``.
            method: HTTP method.

        Returns:
            The decoded JSON answer, or None when there is none.
        """
        request = urllib.request.Request(
            f"{self.url}{path}?token={self.token}", method=method
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def kernels(self) -> list[dict]:
        """The running kernels (id, execution_state, connections...)."""
        return self.api("/api/kernels")

    def kernel_of(self, name: str) -> dict | None:
        """The kernel of notebook ``name``'s session, or None when it has none."""
        for session in self.api("/api/sessions"):
            if session.get("path") == name and session.get("kernel"):
                return session["kernel"]
        return None

    def shutdown_kernels(self) -> None:
        """Shut down every running kernel (between two notebooks)."""
        for kernel in self.kernels():
            self.api(f"/api/kernels/{kernel['id']}", method="DELETE")

    def stop(self) -> None:
        """Stop the server (and the kernels it started)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_notebooks(source: Path, destination: Path) -> Path:
    """Copy the notebooks folder (without checkpoints) to ``destination``.

    Returns:
        The copy's path.
    """
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    shutil.copytree(source, destination, ignore=ignore)
    return destination


def write_settings(folder: Path) -> Path:
    """Write :data:`LAB_SETTINGS` as JupyterLab user settings under ``folder``.

    Returns:
        The user-settings folder to pass to JupyterLab.
    """
    for name, values in LAB_SETTINGS.items():
        plugin_folder, file_name = name.rsplit("/", 1)
        path = folder / plugin_folder / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))
    return folder


def start_lab(notebooks: Path, workdir: Path, *, timeout: float = 120.0) -> LabServer:
    """Start JupyterLab on a copy of ``notebooks``.

    Args:
        notebooks: folder to serve (copied first; the original is left alone).
        workdir: empty temporary folder for the copy, settings and logs.
        timeout: seconds to wait for the server to answer.

    Returns:
        The running server.

    Raises:
        RuntimeError: the server exited or did not answer in time (with its log).
    """
    root = copy_notebooks(notebooks, workdir / "notebooks")
    settings = write_settings(workdir / "lab-settings")
    token, port = secrets.token_hex(24), free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(workdir / "runtime"), **STUDENT_CPU)
    # pytest sets PYTEST_CURRENT_TEST while a fixture runs; a kernel that inherits it
    # does not forward what C code writes to file descriptors 1 and 2 (ipykernel's
    # iostream leaves that to pytest's capture), so TensorFlow's C++ notices would go
    # to the server's log instead of the notebook: the test saw nothing a student saw.
    env.pop("PYTEST_CURRENT_TEST", None)
    command = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={workdir / 'workspaces'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        command.append("--allow-root")
    log = workdir / "jupyterlab.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, root, process, log)
    _wait_until_up(server, timeout)
    return server


def _wait_until_up(server: LabServer, timeout: float) -> None:
    """Poll the server's status API until it answers.

    Raises:
        RuntimeError: the process died or the deadline passed.
    """
    deadline = time.monotonic() + timeout
    status = f"{server.url}/api/status?token={server.token}"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with code {server.process.returncode}:\n"
                f"{server.log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(status, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(
        f"JupyterLab did not answer on {server.url} within {timeout:.0f} s:\n"
        f"{server.log.read_text()[-3000:]}"
    )
