"""Importing course_utils stays cheap: no TensorFlow, pyplot, ipywidgets or IPython."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import course_utils

HEAVY = [
    "tensorflow",
    "keras",
    "matplotlib.pyplot",
    "ipywidgets",
    "IPython",
    "gymnasium",
]


def _loaded_after(code: str) -> dict[str, bool]:
    script = (
        f"import json, sys\n{code}\n"
        f"print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stderr == ""
    return json.loads(result.stdout)


def test_import_loads_no_heavy_library():
    loaded = _loaded_after("import course_utils")
    assert not any(loaded.values()), loaded


def test_checks_package_does_not_import_tensorflow():
    loaded = _loaded_after(
        "import course_utils.checks\nfrom course_utils.checks import core"
    )
    assert not loaded["tensorflow"] and not loaded["keras"]


def test_lazy_names_resolve_to_their_modules():
    from course_utils import playing, seeding

    assert course_utils.play_episode is playing.play_episode
    assert course_utils.make_env is seeding.make_env
    assert course_utils.checks.core.CheckFailed is course_utils.CheckFailed
    assert course_utils.checks.CheckFailed is course_utils.CheckFailed
    assert course_utils.checks.__getattr__("core") is course_utils.checks.core
    assert isinstance(course_utils.__version__, str)


def test_every_exported_name_exists():
    for name in course_utils.__all__:
        assert getattr(course_utils, name) is not None
    assert set(course_utils.__all__) <= set(dir(course_utils))
    assert "checks" in dir(course_utils.checks) or "core" in dir(course_utils.checks)


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = course_utils.nope
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = course_utils.checks.nope


def test_version_without_metadata(monkeypatch):
    from importlib import metadata

    def missing(_name):
        raise metadata.PackageNotFoundError

    monkeypatch.setattr(metadata, "version", missing)
    assert course_utils.__version__ == "unknown"
