"""Seeding: COURSE_SEED override, repeatable generators, seeded environments."""

from __future__ import annotations

import importlib.util
import os
import random
import subprocess
import sys
import textwrap
import types

import gymnasium
import numpy as np
import pytest

from course_utils import seeding


@pytest.fixture(autouse=True)
def _no_course_seed(monkeypatch):
    monkeypatch.delenv("COURSE_SEED", raising=False)


def test_resolve_seed_uses_argument_without_env_var():
    assert seeding.resolve_seed(42) == 42
    assert seeding.resolve_seed(np.int64(3)) == 3


def test_course_seed_overrides(monkeypatch):
    monkeypatch.setenv("COURSE_SEED", " 7 ")
    assert seeding.resolve_seed(42) == 7


def test_empty_course_seed_is_ignored(monkeypatch):
    monkeypatch.setenv("COURSE_SEED", "")
    assert seeding.resolve_seed(42) == 42


@pytest.mark.parametrize("raw", ["abc", "1.5"])
def test_bad_course_seed_is_a_clear_error(monkeypatch, raw):
    monkeypatch.setenv("COURSE_SEED", raw)
    with pytest.raises(ValueError, match="COURSE_SEED must be an integer"):
        seeding.resolve_seed(1)


def test_negative_course_seed(monkeypatch):
    monkeypatch.setenv("COURSE_SEED", "-1")
    with pytest.raises(ValueError, match="non-negative"):
        seeding.resolve_seed(1)


@pytest.mark.parametrize("bad", [1.5, "3", None, True])
def test_bad_seed_types(bad):
    with pytest.raises(TypeError, match="seed must be an integer"):
        seeding.resolve_seed(bad)


def test_negative_seed():
    with pytest.raises(ValueError, match="non-negative"):
        seeding.resolve_seed(-3)


def test_seed_everything_without_tensorflow(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    rng = seeding.seed_everything(5)
    first = (random.random(), np.random.random(), rng.random())
    rng = seeding.seed_everything(5)
    assert (random.random(), np.random.random(), rng.random()) == first
    assert isinstance(rng, np.random.Generator)


def test_seed_everything_seeds_keras(monkeypatch):
    calls = []
    fake_keras = types.SimpleNamespace(
        utils=types.SimpleNamespace(set_random_seed=calls.append)
    )
    determinism = []
    fake_tf = types.SimpleNamespace(
        config=types.SimpleNamespace(
            experimental=types.SimpleNamespace(
                enable_op_determinism=lambda: determinism.append(True)
            )
        )
    )
    monkeypatch.setitem(sys.modules, "keras", fake_keras)
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tf)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    monkeypatch.setenv("COURSE_SEED", "11")
    seeding.seed_everything(3, deterministic_ops=True)
    assert calls == [11]
    assert determinism == [True]


def test_seed_everything_imports_tensorflow_quietly(monkeypatch):
    fake_keras = types.SimpleNamespace(
        utils=types.SimpleNamespace(set_random_seed=lambda seed: None)
    )
    imports = []
    monkeypatch.setitem(sys.modules, "keras", fake_keras)
    monkeypatch.setattr(seeding, "import_tensorflow", lambda: imports.append(1))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    seeding.seed_everything(0)
    assert imports == [1]


def test_import_tensorflow_sets_the_log_level_first(monkeypatch):
    fake = types.ModuleType("tensorflow")
    monkeypatch.setitem(sys.modules, "tensorflow", fake)
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    assert seeding.import_tensorflow() is fake
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # a maintainer's choice stays
    seeding.import_tensorflow()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (descriptor 2 of its own)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


def test_stderr_without_filters_c_level_output_and_keeps_the_rest():
    done = run_python(
        """
        import os, sys
        from course_utils.seeding import stderr_without
        try:
            with stderr_without(("NOTICE",)) as dropped:
                os.write(2, b"NOTICE from C\\nkeep this\\n")
                print("python-level, kept", file=sys.stderr)
                raise KeyError("still raised")
        except KeyError:
            print(len(dropped), dropped[0].strip())
        os.write(2, b"NOTICE after the block stays\\n")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "1 NOTICE from C\n"
    assert done.stderr.splitlines() == [
        "keep this",
        "python-level, kept",
        "NOTICE after the block stays",
    ]


def test_stderr_without_in_process(capfd):
    with seeding.stderr_without(("NOTICE",)) as dropped:
        os.write(2, b"NOTICE from C\nkeep this\n")
    assert dropped == ["NOTICE from C\n"]
    assert capfd.readouterr().err == "keep this\n"


def test_tensorflow_start_up_notices_are_left_out():
    """With oneDNN on (the default on AVX512-VNNI/AMX CPUs; forced here), TensorFlow
    2.21 prints its oneDNN notice whatever TF_CPP_MIN_LOG_LEVEL says: the filtered
    import drops it, and nothing else reaches stderr."""
    pytest.importorskip("tensorflow")
    done = run_python(
        """
        import sys
        from course_utils import seeding
        with seeding.stderr_without(seeding.TF_START_UP_NOTICES) as dropped:
            import tensorflow
        print(sum("oneDNN" in line for line in dropped))
        """,
        TF_ENABLE_ONEDNN_OPTS="1",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 1, "TensorFlow printed no oneDNN notice to filter"
    assert done.stderr == ""


def test_make_env_is_seeded_and_repeatable():
    first = seeding.make_env("CartPole-v1", 3)
    second = seeding.make_env("CartPole-v1", 3)
    assert isinstance(first, gymnasium.Env)
    samples = [first.action_space.sample() for _ in range(20)]
    assert samples == [second.action_space.sample() for _ in range(20)]
    np.testing.assert_array_equal(first.reset()[0], second.reset()[0])
    other = seeding.make_env("CartPole-v1", 4)
    assert not np.array_equal(other.unwrapped.state, first.unwrapped.state)


def test_make_env_passes_kwargs_and_render_mode(monkeypatch):
    monkeypatch.delenv("PYGAME_HIDE_SUPPORT_PROMPT", raising=False)
    env = seeding.make_env(
        "Pendulum-v1", 0, render_mode="rgb_array", g=5.0, max_episode_steps=10
    )
    assert env.render_mode == "rgb_array"
    assert env.unwrapped.g == 5.0
    assert env.spec.max_episode_steps == 10
    import os

    assert os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] == "1"


def test_headless_defaults_set_dummy_video_driver(monkeypatch):
    import os

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
    seeding.headless_render_defaults()
    assert os.environ["SDL_VIDEODRIVER"] == "dummy"


def test_headless_defaults_keep_a_real_display(monkeypatch):
    import os

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
    seeding.headless_render_defaults()
    assert "SDL_VIDEODRIVER" not in os.environ


def test_make_env_rejects_non_string_id():
    with pytest.raises(TypeError, match="environment id such as 'CartPole-v1'"):
        seeding.make_env(gymnasium.make, 0)


def test_make_env_rejects_bad_seed():
    with pytest.raises(TypeError, match="seed must be an integer"):
        seeding.make_env("CartPole-v1", "0")
