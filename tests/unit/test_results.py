"""record_result: one JSON line when COURSE_RESULTS is set, nothing otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from course_utils.results import record_result

FIELDS = dict(
    notebook="01_actor_critic_cartpole",
    env_id="CartPole-v1",
    seed=np.int64(3),
    solved=np.bool_(True),
    criterion="mean of last 100 >= 475",
    episodes=250,
    env_steps=np.int64(60_000),
    train_seconds=np.float32(12.5),
)


def test_invisible_without_env_var(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("COURSE_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert record_result(**FIELDS) is None
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr() == ("", "")


def test_appends_json_lines(monkeypatch, tmp_path, capsys):
    target = tmp_path / "sub" / "results.jsonl"
    monkeypatch.setenv("COURSE_RESULTS", str(target))
    first = record_result(**FIELDS, curve=np.arange(3), where=Path("x"))
    second = record_result(**{**FIELDS, "seed": 4})
    lines = target.read_text().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == first
    assert first["seed"] == 3 and first["solved"] is True
    assert first["train_seconds"] == 12.5 and first["curve"] == [0, 1, 2]
    assert first["where"] == "x"
    assert "timestamp" in first and "python" in first
    assert json.loads(lines[1])["seed"] == 4 == second["seed"]
    assert capsys.readouterr() == ("", "")


def test_reserved_and_unserialisable_fields(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_RESULTS", str(tmp_path / "r.jsonl"))
    with pytest.raises(ValueError, match="filled in automatically"):
        record_result(**FIELDS, timestamp="now")
    with pytest.raises(TypeError, match="cannot save object"):
        record_result(**FIELDS, model=object())


def test_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        record_result("nb", "CartPole-v1", 0, True, "c", 1, 1, 1.0)
