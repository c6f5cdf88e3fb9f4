"""One call to make a run repeatable, seeded environments, and a quiet start.

Seeding in RL has more moving parts than in supervised learning: the network's
initial weights (TensorFlow/Keras), the exploration noise and action sampling
(NumPy), and the environment's own random start states (gymnasium, seeded through
``env.reset(seed=...)``) and ``action_space.sample()`` (seeded separately).

A notebook's first import of TensorFlow goes through :func:`import_tensorflow`, which
keeps TensorFlow's start-up notices out of the student's output.
"""

from __future__ import annotations

import contextlib
import importlib.util
import operator
import os
import random
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np

from .contract import SEED_ENV_VAR

# TensorFlow's start-up lines that no setting silences. TensorFlow 2.21 logs through
# absl, and a line logged before absl::InitializeLog() goes to the process's stderr
# whatever TF_CPP_MIN_LOG_LEVEL says (that variable still hides the others, e.g.
# cpu_feature_guard's). Two such lines appear at `import tensorflow` on CPUs where
# TensorFlow turns oneDNN on by default (AVX512-VNNI, AVX512-BF16, AMX...):
# port.cc's "oneDNN custom operations are on..." (twice: two of TensorFlow's shared
# libraries each carry a copy of that file) under absl's own warning. The only
# switch, TF_ENABLE_ONEDNN_OPTS=0, turns oneDNN off: other numerics, slower training.
# So instead, during that import only, file descriptor 2 is captured and everything
# but these lines is written back to stderr (any other message still shows).
TF_START_UP_NOTICES = (
    "oneDNN custom operations are on",
    "All log messages before absl::InitializeLog() is called are written to STDERR",
)


def import_tensorflow() -> ModuleType:
    """Import TensorFlow (once), leaving out the start-up notices nothing silences.

    Sets ``TF_CPP_MIN_LOG_LEVEL=2`` (unless set) to hide TensorFlow's C++ log lines,
    then imports it with :data:`TF_START_UP_NOTICES` filtered out of what the import
    writes to stderr. Numerics are untouched: oneDNN stays as TensorFlow chose.

    Returns:
        The ``tensorflow`` module.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules:
        with stderr_without(TF_START_UP_NOTICES):
            import tensorflow  # noqa: F401 (imported for its side effects here)
    return sys.modules["tensorflow"]


@contextlib.contextmanager
def stderr_without(notices: tuple[str, ...]) -> Iterator[list[str]]:
    """Capture what the process writes to stderr (file descriptor 2, so C++ too);
    afterwards write it back, without the lines that contain one of ``notices``.

    In a Jupyter kernel, descriptor 2 is a pipe that the kernel forwards to the
    notebook: it is swapped for a temporary file and put back. Without a descriptor
    2 (some embedded interpreters), nothing is captured.

    Args:
        notices: substrings of the lines to leave out.

    Yields:
        A list that receives, on exit, the lines left out.
    """
    dropped: list[str] = []
    try:
        saved = os.dup(2)
    except OSError:
        yield dropped
        return
    _flush(sys.stderr)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield dropped
        finally:
            _flush(sys.stderr)
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = []
            for line in text.splitlines(keepends=True):
                noise = any(notice in line for notice in notices)
                (dropped if noise else kept).append(line)
            if kept and sys.stderr is not None:
                sys.stderr.write("".join(kept))
                _flush(sys.stderr)


def _flush(stream: Any) -> None:
    """Flush a stream that may be None or closed (sys.stderr in odd hosts)."""
    with contextlib.suppress(AttributeError, ValueError, OSError):
        stream.flush()


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
    import_tensorflow()  # quietly, if it is the first import
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
