"""Tests of the instructor package. Those that start Jupyter kernels (they grade real
submissions) are marked ``kernel``: `make test` runs them, `make test-unit` does not."""

from __future__ import annotations

import pytest

KERNEL_FIXTURES = {"graded", "attacked", "edited_demo"}


def pytest_collection_modifyitems(items):
    for item in items:
        if KERNEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.kernel)
