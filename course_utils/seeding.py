"""One call to make a run repeatable, and seeded environments.

Seeding in RL has more moving parts than in supervised learning: the network's
initial weights (TensorFlow/Keras), the exploration noise and action sampling
(NumPy), and the environment's own random start states (gymnasium, seeded through
``env.reset(seed=...)``) and ``action_space.sample()`` (seeded separately).
"""

from __future__ import annotations

import importlib.util
import operator
import os
import random
import sys
from typing import Any

import numpy as np

from .contract import SEED_ENV_VAR


def resolve_seed(seed: int) -> int:
    """Return the seed to use: ``COURSE_SEED`` from the environment wins.

    Instructors set ``COURSE_SEED`` to rerun every notebook with another seed
    without editing it.

    Args:
        seed: the notebook's own seed (a non-negative int).

    Returns:
        ``int(os.environ["COURSE_SEED"])`` when that variable is set and not empty,
        otherwise ``seed``.

    Raises:
        ValueError: ``COURSE_SEED`` is not an integer, or a seed is negative.
        TypeError: ``seed`` is not an integer.
    """
    raw = os.environ.get(SEED_ENV_VAR, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(
                f"{SEED_ENV_VAR} must be an integer, got {raw!r}"
            ) from None
    else:
        value = _as_seed(seed)
    if value < 0:
        raise ValueError(f"a seed must be a non-negative integer, got {value}")
    return value


def seed_everything(
    seed: int, *, deterministic_ops: bool = False
) -> np.random.Generator:
    """Seed Python, NumPy and (if installed) TensorFlow/Keras in one call.

    Args:
        seed: the notebook's seed; ``COURSE_SEED`` overrides it (see
            :func:`resolve_seed`).
        deterministic_ops: also ask TensorFlow for deterministic kernels
            (``tf.config.experimental.enable_op_determinism``); slower, rarely
            needed on CPU.

    Returns:
        ``np.random.default_rng(seed)``: a NumPy generator to pass to the code that
        samples actions or noise, so those draws are repeatable too.
    """
    seed = resolve_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    if importlib.util.find_spec("tensorflow") is not None:
        _seed_tensorflow(seed, deterministic_ops=deterministic_ops)
    return np.random.default_rng(seed)


def _seed_tensorflow(seed: int, *, deterministic_ops: bool) -> None:
    """Seed Keras and TensorFlow's global generators.

    Args:
        seed: the resolved seed.
        deterministic_ops: enable TensorFlow's op determinism as well.
    """
    if "tensorflow" not in sys.modules:
        # Importing TensorFlow here would otherwise print C++ log lines.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(seed)
    if deterministic_ops:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def make_env(env_id: str, seed: int, *, render_mode: str | None = None, **kwargs: Any):
    """Create a gymnasium environment whose randomness is fixed by ``seed``.

    ``reset(seed=seed)`` seeds the start states of this and all later episodes;
    the action and observation spaces have their own generators, seeded too, so
    that a random player (``action_space.sample()``) is repeatable.

    Args:
        env_id: a registered id, e.g. ``"CartPole-v1"`` or ``"Pendulum-v1"``.
        seed: the seed (used as given: pass ``resolve_seed(...)`` to honour
            ``COURSE_SEED``).
        render_mode: ``None`` (fastest, for training) or ``"rgb_array"`` (frames as
            ``(H, W, 3)`` uint8 arrays, needs no display).
        **kwargs: passed on to ``gymnasium.make``.

    Returns:
        The environment, already reset once (``gymnasium.Env``).
    """
    import gymnasium

    if not isinstance(env_id, str):
        raise TypeError(
            f"make_env() expects an environment id such as 'CartPole-v1', "
            f"got {type(env_id).__name__}"
        )
    seed = _as_seed(seed)
    if render_mode is not None:
        headless_render_defaults()
    env = gymnasium.make(env_id, render_mode=render_mode, **kwargs)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    env.observation_space.seed(seed)
    return env


def headless_render_defaults() -> None:
    """Keep pygame (used by gymnasium's renderers) quiet and display-free.

    Sets, only where unset: ``PYGAME_HIDE_SUPPORT_PROMPT`` (no banner on import)
    and, on Linux without a display, ``SDL_VIDEODRIVER=dummy`` (no "XDG_RUNTIME_DIR"
    error on stderr). ``render_mode="rgb_array"`` never needs a window.
    """
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    has_display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not has_display:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def _as_seed(seed: Any) -> int:
    """Check that ``seed`` is a non-negative integer (bool excluded).

    Args:
        seed: candidate seed.

    Returns:
        ``seed`` as a Python int.
    """
    if isinstance(seed, bool):
        raise TypeError("a seed must be an integer, got a bool")
    try:
        value = operator.index(seed)
    except TypeError:
        raise TypeError(
            f"a seed must be an integer, got {type(seed).__name__} {seed!r}"
        ) from None
    if value < 0:
        raise ValueError(f"a seed must be a non-negative integer, got {value}")
    return value
