"""`make lab` serves JupyterLab on the notebooks (the README's first command)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_lab_serves_the_notebooks(tmp_path):
    port = free_port()
    log = tmp_path / "lab.log"
    env = dict(os.environ, CI="1", PORT=str(port), JUPYTER_RUNTIME_DIR=str(tmp_path))
    with log.open("w") as out:
        server = subprocess.Popen(
            ["make", "--no-print-directory", "lab"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        token, deadline = None, time.monotonic() + 90
        while token is None and time.monotonic() < deadline:
            assert server.poll() is None, f"make lab exited:\n{log.read_text()[-3000:]}"
            match = re.search(r"token=([0-9a-f]+)", log.read_text())
            token = match.group(1) if match else None
            time.sleep(0.5)
        assert token, f"JupyterLab did not start in 90 s:\n{log.read_text()[-3000:]}"
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/lab?token={token}", timeout=30) as page:
            assert page.status == 200
        listing = f"{base}/api/contents/notebooks?token={token}"
        with urllib.request.urlopen(listing, timeout=30) as response:
            names = {item["name"] for item in json.load(response)["content"]}
        assert {"01_actor_critic_cartpole.ipynb", "02_ddpg_pendulum.ipynb"} <= names
        assert "student" in names
        # No "get notified about official Jupyter news?" prompt: the environment's
        # settings override (binder/overrides.json) makes "never" the default.
        plugin = "@jupyterlab/apputils-extension:notification"
        with urllib.request.urlopen(
            f"{base}/lab/api/settings/{plugin}?token={token}", timeout=30
        ) as response:
            defaults = json.load(response)["schema"]["properties"]
        assert defaults["fetchNews"]["default"] == "false"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
