"""Exercise checks: ``cu.checks.cartpole``, ``cu.checks.pendulum``, ``cu.checks.td3``.

The framework lives in ``core`` (numpy only). Submodules load on first access, so
importing this package never imports TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES: frozenset[str] = frozenset({"core", "cartpole", "pendulum", "td3"})
_CORE_NAMES: frozenset[str] = frozenset(
    {"CheckFailed", "call_student", "as_array", "assert_close", "passed"}
)


def __getattr__(name: str) -> Any:
    """Load a check module, or a name from ``core``, on first access (PEP 562).

    Args:
        name: attribute looked up on the package.

    Returns:
        The submodule, or the ``core`` object named ``name``.
    """
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _CORE_NAMES:
        return getattr(importlib.import_module(".core", __name__), name)
    raise AttributeError(f"module 'course_utils.checks' has no attribute {name!r}")


def __dir__() -> list[str]:
    """List public names, including those not loaded yet.

    Returns:
        Sorted attribute names.
    """
    return sorted(set(globals()) | _SUBMODULES | _CORE_NAMES)
