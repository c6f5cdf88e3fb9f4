"""The README's figures about the students' environment's size are the measured ones.

``make env-size`` (benchmarks/student_env_size.py) builds the environment, slims it
and records ``benchmarks/student_env_size.json``; it writes that file only when
``pip check`` was clean and the slimmed environment ran its Keras step and chapter 02.
These tests compare the README's paragraph (section "JupyterHub") with that record
and with the slimming tool, without building anything.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from instructor.tools import slim_env

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "benchmarks" / "student_env_size.json"


@pytest.fixture(scope="module")
def record() -> dict:
    return json.loads(RECORD.read_text())


@pytest.fixture(scope="module")
def paragraph() -> str:
    """The README's paragraph about the environment's size, on one line."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("The students' environment holds only what the notebooks")
    return " ".join(readme[start:readme.index("\n\n", start)].split())


def mb(value: int) -> str:
    return f"{value:,} MB"


def test_the_record_is_of_a_working_environment(record):
    assert record["pip_check"] == "No broken requirements found."
    assert record["notebook"] == "02_ddpg_pendulum.ipynb"
    assert re.fullmatch(r"tensorflow \S+, keras \S+: loss \S+ -> \S+",
                        record["keras_step"])
    assert record["python"].startswith("3.11.")
    assert record["strip_available"] and record["stripped_libraries"] > 0
    assert record["removed"] == list(slim_env.UNUSED_DIRS)
    assert record["after_mb"] < record["before_mb"]


def test_the_sizes_and_the_date_are_the_recorded_ones(record, paragraph):
    before = dict(record["largest_before"])
    after = dict(record["largest_after"])
    files = {Path(name).name: size for name, size in record["largest_files_after"]}
    expected = [
        f"takes {mb(record['before_mb'])}",
        f"measured {record['measured']}",
        f"{mb(before['tensorflow_cpu'])} of it TensorFlow's",
        f"brings it to {mb(record['after_mb'])}",
        f"TensorFlow still takes {mb(after['tensorflow_cpu'])}",
        f"{mb(files['libtensorflow_cc.so.2'])} of it one library",
        f"libclang, {mb(after['libclang'])}",
        f"add the {mb(record['stripped_libraries_mb'])} of stripped libraries",
        f"(under {mb(record['target_mb'])})",
    ]
    if record["target_met"]:
        expected.append("target of half the developers' 2.1 GB (under "
                        f"{mb(record['target_mb'])}) is met")
    else:
        missed = record["after_mb"] - record["target_mb"]
        expected.append(f"is missed by {mb(missed)}")
    missing = [claim for claim in expected if claim not in paragraph]
    assert not missing, (
        f"README (JupyterHub) disagrees with {RECORD.name}: {missing}; rerun "
        "`make env-size` and update the paragraph")


def test_the_slimming_is_described_as_the_tool_does_it(paragraph):
    assert slim_env.UNUSED_DIRS == ("tensorflow/include",)
    assert slim_env.STRIPPED_DIRS == ("tensorflow",)
    for claim in ("`tensorflow/include`", "TensorFlow's shared libraries",
                  "strip --strip-unneeded", "python instructor/tools/slim_env.py",
                  "`--dry-run`", "make env-size"):
        assert claim in paragraph, claim
    assert "--dry-run" in (ROOT / "instructor/tools/slim_env.py").read_text()


def test_binder_does_not_slim_in_a_later_layer(paragraph):
    """Slimming in postBuild would make Binder's image bigger (README)."""
    commands = [line for line in (ROOT / "binder/postBuild").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert not [line for line in commands if "slim_env" in line], commands
    assert "Binder's image is not slimmed" in paragraph
