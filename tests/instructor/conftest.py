"""Tests of the instructor package. Those that start Jupyter kernels (they grade real
submissions) are marked ``kernel``: `make test` runs them, `make test-unit` does not."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

KERNEL_FIXTURES = {"graded", "attacked", "edited_demo"}


def pytest_collection_modifyitems(items):
    for item in items:
        if KERNEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.kernel)


# Where the trees 10,000 folders deep are made: on this host's disk (ext4, mounted with
# `discard`) making and removing one takes 2 s when the disk is quiet and up to 20 s
# when other programs write to it, in memory 0.3 s. The code they test works by
# descriptor, whatever the filesystem.
MEMORY = Path("/dev/shm")


@pytest.fixture
def memory_path(tmp_path):
    """A test's own empty folder, in memory when the host has a tmpfs at /dev/shm
    that this user may write to (else ``tmp_path``); removed afterwards, at any
    depth."""
    if not (MEMORY.is_dir() and os.access(MEMORY, os.W_OK | os.X_OK)):
        yield tmp_path
        return
    from instructor.grading.sandbox import remove_tree

    folder = Path(tempfile.mkdtemp(prefix="pytest-", dir=MEMORY))
    try:
        yield folder
    finally:
        remove_tree(folder)
