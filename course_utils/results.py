"""Record training results for benchmarks and CI, invisibly for students.

When the environment variable ``COURSE_RESULTS`` names a file, each notebook run
appends one JSON line to it (how long training took, whether it reached its goal).
Otherwise nothing happens.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .contract import RESULTS_ENV_VAR

_RESERVED = frozenset({"timestamp", "python", "tensorflow", "keras", "gymnasium"})


def record_result(
    *,
    notebook: str,
    env_id: str,
    seed: int,
    solved: bool,
    criterion: str,
    episodes: int,
    env_steps: int,
    train_seconds: float,
    **extra: Any,
) -> dict[str, Any] | None:
    """Append one training result as a JSON line to ``$COURSE_RESULTS``.

    Args:
        notebook: notebook name, e.g. ``"01_actor_critic_cartpole"``.
        env_id: environment id, e.g. ``"CartPole-v1"``.
        seed: seed of the run.
        solved: whether the goal was reached.
        criterion: the goal in words, e.g. ``"mean of last 100 >= 475"``.
        episodes: episodes trained.
        env_steps: environment steps taken while training.
        train_seconds: wall-clock training time in seconds.
        **extra: more JSON-serialisable fields (numpy scalars and arrays are
            converted).

    Returns:
        The record written (a dict, with ``timestamp`` and library versions
        added), or None when ``COURSE_RESULTS`` is not set.
    """
    path = os.environ.get(RESULTS_ENV_VAR, "").strip()
    if not path:
        return None
    clash = _RESERVED & extra.keys()
    if clash:
        raise ValueError(
            f"record_result(): {sorted(clash)} are filled in automatically"
        )
    record = {
        "notebook": notebook,
        "env_id": env_id,
        "seed": seed,
        "solved": solved,
        "criterion": criterion,
        "episodes": episodes,
        "env_steps": env_steps,
        "train_seconds": train_seconds,
        **extra,
        **_environment(),
    }
    record = json.loads(json.dumps(record, default=_to_json))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as stream:
        stream.write(json.dumps(record, sort_keys=True) + "\n")
    return record


def _environment() -> dict[str, Any]:
    """Time stamp and versions of libraries already imported (nothing is imported).

    Returns:
        Dict with ``timestamp`` (UTC, ISO 8601), ``python`` and, when loaded,
        ``tensorflow``, ``keras`` and ``gymnasium`` versions.
    """
    info: dict[str, Any] = {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
    }
    for name in ("tensorflow", "keras", "gymnasium"):
        module = sys.modules.get(name)
        if module is not None:
            info[name] = getattr(module, "__version__", None)
    return info


def _to_json(value: Any) -> Any:
    """Convert numpy values (and paths) for ``json.dumps``.

    Args:
        value: an object json cannot serialise by itself.

    Returns:
        A JSON-compatible equivalent.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(
        f"record_result(): cannot save {type(value).__name__} {value!r} as JSON"
    )
