"""Verdicts only working code can earn: attacks on the probe, graded for real.

Each submission is chapter 01's student notebook with Exercises 2 and 3 answered in
a way that must NOT pass: answers replayed from the published cases, the course's
reference functions called by a name spelled at run time, the probe's ``__import__``
shadowed to hand over a payload recorded from the published solution (with the
exercise written wrong, or its stub left in place). Graded by ``instructor.grade``
in its sandbox with fresh challenges; the right answers written in their cells (the
control) pass.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest

from course_utils.checks import cartpole, core, plain
from course_utils.contract import PROBE_MIME
from instructor import grade
from instructor.grading import challenges as challenge_model
from instructor.grading import course as course_model
from instructor.grading import probe_view
from instructor.tools import student

ROOT = Path(__file__).resolve().parents[2]
SOURCE = student.solution_notebooks(ROOT)[0]

RIGHT_RETURNS = '''
def discounted_returns(rewards, gamma, bootstrap=0.0):
    out = np.zeros(len(rewards))
    running = float(bootstrap)
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out
'''
RIGHT_NORMALISE = '''
def normalise(values):
    values = np.asarray(values, dtype=np.float64)
    return (values - values.mean()) / (values.std() + 1e-8)
'''


def published_answers() -> dict:
    """The right outputs on the notebook's fixed (published) returns cases."""
    table = {}
    for rewards, gamma, bootstrap in cartpole._returns_cases():
        key = repr((tuple(float(r) for r in rewards), float(gamma), float(bootstrap)))
        table[key] = cartpole.reference_returns(rewards, gamma, bootstrap).tolist()
    return table


def replay_cell() -> str:
    """discounted_returns as a table of the published cases' answers."""
    return (
        f"ANSWERS = {json.dumps(published_answers())}\n"
        "def discounted_returns(rewards, gamma, bootstrap=0.0):\n"
        "    key = repr((tuple(float(r) for r in rewards), float(gamma), "
        "float(bootstrap)))\n"
        "    return np.array(ANSWERS.get(key, [0.0] * len(rewards)))\n"
    )


def reference_call_cell() -> str:
    """normalise handing over to the course's reference, its name built at run
    time (no flag can see it)."""
    return (
        "import importlib\n"
        "_m = importlib.import_module('course_utils.checks.' + 'cart' + 'pole')\n"
        "def normalise(values):\n"
        "    return getattr(_m, 'refer' + 'ence_' + 'normalise')(values)\n"
    )


def shadowing_code() -> str:
    """A global __import__ that hands the probe cell a recorded payload."""
    payload = plain.dumps(core.run_probe(cartpole.RETURNS, cartpole.reference_returns))
    return (
        "import builtins as _b\n"
        f"_PAYLOAD = {payload!r}\n"
        "class _Fake:\n"
        "    def emit_named(self, *args, **kwargs):\n"
        "        from IPython.display import display\n"
        f"        display({{{PROBE_MIME!r}: _PAYLOAD, 'text/plain': ''}}, raw=True)\n"
        "def __import__(name, *args, **kwargs):\n"
        "    if name == 'course_utils.checks.core':\n"
        "        return _Fake()\n"
        "    return _b.__import__(name, *args, **kwargs)\n"
    )


def shadowing_cell() -> str:
    """The shadowing, and discounted_returns written wrong (its cell runs)."""
    return (shadowing_code() + "def discounted_returns(rewards, gamma, "
            "bootstrap=0.0):\n    return None\n")


def variant(path: Path, replace: dict[str, str], append: str = "") -> None:
    """Chapter 01's student notebook with some exercise cells replaced."""
    notebook = nbformat.read(student.student_path(SOURCE), as_version=4)
    for cell in notebook.cells:
        for head, source in replace.items():
            if cell.cell_type == "code" and cell.source.startswith(head):
                cell.source = source
    if append:
        notebook.cells.append(nbformat.v4.new_code_cell(append))
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def attacked(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("attacks")
    subs = folder / "subs"
    subs.mkdir()
    variant(subs / "control.ipynb", {"def discounted_returns": RIGHT_RETURNS,
                                     "def normalise": RIGHT_NORMALISE})
    variant(subs / "replay.ipynb", {"def discounted_returns": replay_cell(),
                                    "def normalise": reference_call_cell()})
    variant(subs / "shadow.ipynb", {"def discounted_returns": shadowing_cell()})
    # The stub left in its cell; the shadowing (handing over the published
    # solution's payload) in a cell of its own before it.
    notebook = nbformat.read(student.student_path(SOURCE), as_version=4)
    at = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code"
              and c.source.startswith("def discounted_returns"))
    notebook.cells.insert(at, nbformat.v4.new_code_cell(shadowing_code()))
    nbformat.write(notebook, subs / "stub_left.ipynb")
    out = folder / "report.csv"
    argv = [str(subs), "--out", str(out), "--workers", "2", "--cell-timeout", "60",
            "--timeout", "300", "--quiet"]
    assert grade.main(argv) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        found = list(csv.DictReader(handle))
    return {(row["submission"], row["exercise"].split(":")[0]): row for row in found}


def test_right_answers_pass_under_fresh_challenges(attacked):
    assert attacked[("control.ipynb", "Exercise 2")]["status"] == "passed"
    assert attacked[("control.ipynb", "Exercise 3")]["status"] == "passed"


def test_answers_replayed_from_the_published_cases_fail(attacked):
    row = attacked[("replay.ipynb", "Exercise 2")]
    assert row["status"] == "failed", row


def test_a_reference_function_called_by_a_built_name_is_an_error(attacked):
    row = attacked[("replay.ipynb", "Exercise 3")]
    assert row["status"] in ("error", "failed"), row
    assert "is not available while grading" in row["message"], row


def test_a_shadowed_import_handing_over_a_recorded_payload_fails(attacked):
    row = attacked[("shadow.ipynb", "Exercise 2")]
    assert row["status"] == "failed", row
    assert "got None" in row["message"], row  # judged on the student's own function


def test_a_shadowed_name_cannot_intercept_the_probe(attacked):
    # The exercise cell only defines the stubbed function; the shadowed __import__
    # would hand over the published solution's payload, but the probe runs as the
    # kernel's own request handler, which looks up nothing among the student's
    # globals: it calls the stub, and the exercise is not attempted.
    row = attacked[("stub_left.ipynb", "Exercise 2")]
    assert row["status"] == "not attempted", row
    # Exercise 3 of the shadowing submissions was left as its stub too.
    for name in ("stub_left.ipynb", "shadow.ipynb"):
        row = attacked[(name, "Exercise 3")]
        assert row["status"] == "not attempted", row


# ------------------------------------------------------------ without a kernel


def test_challenges_differ_per_exercise_submission_and_secret():
    course = course_model.load_course(ROOT / "notebooks")
    first = challenge_model.challenges_for(b"k" * 32, "alice.ipynb", course[0])
    assert first == challenge_model.challenges_for(b"k" * 32, "alice.ipynb", course[0])
    assert len(set(first.values())) == len(first)
    assert first != challenge_model.challenges_for(b"k" * 32, "bob.ipynb", course[0])
    assert first != challenge_model.challenges_for(b"j" * 32, "alice.ipynb", course[0])
    fresh = challenge_model.challenges_for(None, "alice.ipynb", course[0])
    assert fresh != challenge_model.challenges_for(None, "alice.ipynb", course[0])
    assert all(0 <= value < 2**63 for value in first.values())


def test_the_challenge_key_never_reaches_a_record():
    from instructor.grading.unit import Settings

    settings = Settings(challenge_key="ab" * 16)
    assert "challenge_key" not in settings.describe()
    assert "ab" * 16 not in repr(settings)
    assert settings.secret() == bytes.fromhex("ab" * 16)
    assert Settings().secret() != Settings().secret()


def test_the_probe_only_view_holds_no_answer(tmp_path):
    view = probe_view.build(ROOT / "course_utils", tmp_path)
    for name in ("cartpole", "pendulum", "td3"):
        text = (view / "checks" / f"{name}.py").read_text(encoding="utf-8")
        module = __import__(f"course_utils.checks.{name}", fromlist=["_"])
        withheld = [attr for attr in vars(module)
                    if probe_view.withheld_by_name(attr) and callable(getattr(
                        module, attr)) and getattr(getattr(module, attr),
                                                   "__module__", "") == module.__name__]
        assert withheld, name
        for attr in withheld:
            assert f"def {attr}(*args, **kwargs):\n    raise RuntimeError" in text, attr
    core_text = (view / "checks" / "core.py").read_text(encoding="utf-8")
    assert core_text == (ROOT / "course_utils" / "checks" / "core.py").read_text(
        encoding="utf-8")


def test_probes_run_the_same_in_the_probe_only_view(tmp_path):
    """The view's probes give the payload the full package gives (same cases)."""
    import subprocess
    import sys

    view = probe_view.build(ROOT / "course_utils", tmp_path)
    script = (
        "import numpy as np\n"
        "from course_utils.checks import cartpole, core, plain\n"
        f"{RIGHT_RETURNS}\n"
        "print(cartpole.__file__)\n"
        "print(plain.dumps(core.run_probe(cartpole.RETURNS, discounted_returns, "
        "challenge=7)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, cwd=tmp_path, env={"PYTHONPATH": str(view.parent),
                                                       "PATH": "/usr/bin:/bin"},
                          timeout=120)
    assert done.returncode == 0, done.stderr
    namespace: dict = {"np": __import__("numpy")}
    exec(RIGHT_RETURNS, namespace)
    here = plain.dumps(core.run_probe(cartpole.RETURNS, namespace[
        "discounted_returns"], challenge=7))
    where, payload = done.stdout.strip().split("\n", 1)
    assert Path(where).is_relative_to(view), where
    assert payload == here
