"""Helpers for the hands-on reinforcement-learning course.

Notebooks use it as ``import course_utils as cu``. Importing the package is cheap:
submodules (and the heavy libraries they need: gymnasium, matplotlib, ipywidgets,
TensorFlow) are loaded on first attribute access, through PEP 562 ``__getattr__``.

Main entry points:

- seeding: ``cu.seed_everything``, ``cu.resolve_seed``, ``cu.make_env``,
  ``cu.import_tensorflow``
- playing: ``cu.play_episode``, ``cu.evaluate``, ``cu.Episode``, ``cu.Evaluation``
- rendering: ``cu.animate``, ``cu.show_frame``
- plotting: ``cu.plot_rewards``, ``cu.plot_experiment``, ``cu.moving_average``,
  ``cu.LiveCurve``
- widgets: ``cu.cartpole_widget``, ``cu.pendulum_widget``
- results: ``cu.record_result``
- checks: ``cu.checks.cartpole``, ``cu.checks.pendulum``, ``cu.CheckFailed``,
  ``cu.show_fix`` (the line that fixes the last failed check)
"""

from __future__ import annotations

import importlib
from types import MappingProxyType
from typing import Any

# Public name -> submodule that defines it. Immutable on purpose (no module state).
_EXPORTS: MappingProxyType[str, str] = MappingProxyType(
    {
        "resolve_seed": "seeding",
        "import_tensorflow": "seeding",
        "seed_everything": "seeding",
        "make_env": "seeding",
        "Episode": "playing",
        "Evaluation": "playing",
        "play_episode": "playing",
        "evaluate": "playing",
        "animate": "rendering",
        "show_frame": "rendering",
        "moving_average": "plotting",
        "plot_rewards": "plotting",
        "plot_experiment": "plotting",
        "LiveCurve": "plotting",
        "cartpole_widget": "widgets",
        "pendulum_widget": "widgets",
        "record_result": "results",
        "CheckFailed": "checks.core",
        "show_fix": "checks.hints",
    }
)

_SUBMODULES: frozenset[str] = frozenset(
    {"seeding", "playing", "rendering", "plotting", "widgets", "results", "checks"}
)

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Load a submodule or a public name on first access (PEP 562).

    Args:
        name: attribute looked up on the package.

    Returns:
        The submodule, or the object it defines under ``name``.
    """
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        return getattr(module, name)
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'course_utils' has no attribute {name!r}")


def __dir__() -> list[str]:
    """List public names, including those not loaded yet.

    Returns:
        Sorted attribute names for tab completion.
    """
    return sorted(set(globals()) | set(_EXPORTS) | _SUBMODULES | {"__version__"})


def _version() -> str:
    """Installed package version, or "unknown" when run from a source tree.

    Returns:
        The version string from the package metadata.
    """
    from importlib import metadata

    try:
        return metadata.version("course-utils")
    except metadata.PackageNotFoundError:
        return "unknown"
