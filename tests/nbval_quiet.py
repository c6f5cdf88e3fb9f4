"""pytest plugin: a notebook cell run by nbval fails when it writes to stderr.

nbval's ``--nbval-lax`` mode checks that each cell runs without error, not what it
prints. The course also promises students quiet notebooks: no TensorFlow log lines, no
warnings, no stray stderr. This hook reads the outputs nbval collected for each cell
(``item.test_outputs``) and fails the cell when any of them went to stderr.
"""

from __future__ import annotations

import pytest


def stderr_text(outputs) -> str:
    """The text a cell wrote to stderr, from nbval's list of output nodes."""
    return "".join(
        output.get("text", "")
        for output in outputs or []
        if output.get("output_type") == "stream" and output.get("name") == "stderr"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    noise = stderr_text(getattr(item, "test_outputs", None))
    if noise:
        source = getattr(getattr(item, "cell", None), "source", "") or ""
        first_line = source.strip().splitlines()[0] if source.strip() else ""
        raise AssertionError(
            f"{item.nodeid} (the cell starting {first_line!r}) wrote to stderr, "
            f"which students would see:\n{noise[:2000]}"
        )
    return result
