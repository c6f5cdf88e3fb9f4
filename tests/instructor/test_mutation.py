"""Tests (no kernel) of the mutation-testing set-up: extraction from the real
notebooks, the solutions passing their checks through it, the catalogue and the
equivalents staying attached to the code, and the report's verdict.

`make test-mutation` runs mutmut itself (minutes); these tests make sure that the
set-up cannot rot silently in between: a notebook change that breaks the extraction,
a catalogue entry for an exercise that no longer exists, an equivalent-mutant entry
whose line left the solution, all fail here.
"""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

import pytest

from course_utils.contract import BEGIN_SOLUTION, END_SOLUTION, EXERCISE_HEADING
from instructor.tools.mutation import report
from instructor.tools.mutation.__main__ import read_recorded
from instructor.tools.mutation.catalogue import MISTAKES, CheckCell, Outcome, Wrong
from instructor.tools.mutation.catalogue import entries as catalogue_entries
from instructor.tools.mutation.extract import (
    PRAGMA,
    RECORDING,
    ExtractionError,
    _open_lines,
    cell_statements,
    course_exercises,
    global_reads,
    mutable_definition,
    render_module,
    render_test,
    resolve,
)
from instructor.tools.mutation.tool import Mutant, read_equivalents

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def course():
    exercises, problems = course_exercises(ROOT)
    return exercises, problems


def headings_with_markers() -> list[str]:
    """``chNN_exN`` of every exercise heading followed by solution markers."""
    names = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        # Markdown cells are comments in the percent format: "# ### Exercise 2: ..."
        text = "\n".join(
            line[2:] if line.startswith("# ") else line
            for line in path.read_text().splitlines()
        )
        found = list(EXERCISE_HEADING.finditer(text))
        for index, match in enumerate(found):
            end = found[index + 1].start() if index + 1 < len(found) else len(text)
            if BEGIN_SOLUTION in text[match.end() : end]:
                names.append(f"ch{path.stem[:2]}_ex{match.group(1)}")
    return names


def test_every_exercise_of_the_notebooks_is_extracted(course):
    exercises, problems = course
    assert problems == []
    assert [e.name for e in exercises] == headings_with_markers()
    for exercise in exercises:
        assert exercise.defines, exercise.name
        assert "check" in exercise.check, exercise.name


def test_every_exercise_has_a_catalogue_of_at_least_eight_mistakes(course):
    exercises, _ = course
    names = {exercise.name for exercise in exercises}
    files = {path.stem for path in (ROOT / MISTAKES).glob("ch*_ex*.py")}
    assert files == names  # none missing, none for an exercise that is gone
    for name in sorted(names):
        found = catalogue_entries(ROOT / MISTAKES / f"{name}.py")
        assert len(found) >= report.MIN_MISTAKES, name
        assert len({entry.name for entry, _ in found}) == len(found)
        assert all(entry.description.strip() for entry, _ in found)


def mutable_lines(source: str) -> list[str]:
    """The code lines of a module that carry no mutmut pragma and are not in a
    block mutmut skips."""
    lines, skipped, indent = [], False, 0
    code = _open_lines(source)  # not inside a docstring: a string is one node
    for number, line in enumerate(source.splitlines(), start=1):
        body = line.strip()
        width = len(line) - len(line.lstrip())
        if skipped and body and width <= indent:
            skipped = False
        if f"{PRAGMA} block" in line:
            skipped, indent = True, width
            continue
        if skipped or number not in code or PRAGMA in line:
            continue
        lines.append(body)
    return lines


def test_only_the_lines_between_the_markers_can_be_mutated(course):
    exercises, _ = course
    for exercise in exercises:
        if any(statement.whole for statement in exercise.statements):
            continue  # markers around whole statements: all of them is the student's
        source = render_module(exercise)
        definitions = source.split("# The exercise.")[-1]
        inside, marked = False, []
        for line in definitions.splitlines():
            if line.strip() == BEGIN_SOLUTION:
                inside = True
            elif line.strip() == END_SOLUTION:
                inside = False
            elif inside and line.strip() and not line.strip().startswith("#"):
                marked.append(line.strip())
        assert marked and mutable_lines(definitions) == marked, exercise.name


def synthetic_runs(name: str) -> list[dict]:
    """Runs of CartPole as train() returns them: the cramped network solves after
    300-400 episodes, every other one after 200-300."""
    start = 300 if "cramped" in name else 200
    runs = []
    for seed, solved_at in enumerate((start, start + 50, start + 100)):
        rewards = [10.0] * (solved_at - 95) + [500.0] * 95
        runs.append({"seed": seed, "rewards": rewards, "episodes": len(rewards),
                     "solved": True, "solved_at": solved_at})
    return runs


class SyntheticExperiment(dict):
    """An experiment that makes up the runs of any network asked for (fast: no
    training); the check recomputes them from their rewards all the same."""

    def __missing__(self, name):
        self[name] = synthetic_runs(name)
        return self[name]

    def get(self, name, default=None):
        return self[name]


def chapter_networks() -> list[str]:
    """The networks chapter 01's experiment holds once its cells ran: the cramped
    one and the solution's MY_NETWORKS (a solution reading the experiment's keys
    must see them all, as in the notebook)."""
    text = (ROOT / "notebooks" / "01_actor_critic_cartpole.py").read_text(
        encoding="utf-8")
    hidden = re.search(r"^CRAMPED_HIDDEN = (\d+)", text, re.M).group(1)
    line = re.search(r"^MY_NETWORKS = (\{.*\})$", text, re.M).group(1)
    mine = [key.value for key in ast.parse(line, mode="eval").body.keys]
    return [f"cramped ({hidden} units)", *mine]


@pytest.fixture(scope="module")
def modules(course, tmp_path_factory):
    """The extracted modules, written as `make test-mutation` writes them; a recorded
    name gets a synthetic value instead of the solution's training runs."""
    exercises, _ = course
    src = tmp_path_factory.mktemp("mutation") / "src"
    src.mkdir()
    recorded = read_recorded(ROOT)
    for exercise in exercises:
        names = recorded.get(exercise.name, frozenset())
        (src / f"{exercise.name}.py").write_text(render_module(exercise, names))
        if names:
            assert names == {"experiment"}, "make up the new recorded names here"
            target = (src / exercise.name).with_suffix(RECORDING)
            experiment = SyntheticExperiment(
                {name: synthetic_runs(name) for name in chapter_networks()})
            target.write_bytes(pickle.dumps({"experiment": experiment}))
        compile(render_test(exercise), f"test_{exercise.name}.py", "exec")
    return src


def test_the_extracted_solutions_pass_their_checks(course, modules):
    exercises, _ = course
    for exercise in exercises:
        result, mistake, message = CheckCell(exercise, modules).run({})
        assert result == "passed", (exercise.name, mistake, message)


def test_a_wrong_answer_fails_through_the_same_check_cell(course, modules):
    exercises, _ = course
    returns = next(e for e in exercises if "discounted_returns" in e.defines)

    def no_discount(rewards, gamma, bootstrap=0.0):
        import numpy as np

        return np.cumsum(np.asarray(rewards, float)[::-1])[::-1] + bootstrap

    cell = CheckCell(returns, modules)
    result, mistake, _ = cell.run(cell.answers(no_discount))
    assert (result, mistake) == ("failed", "returns/no-discount")


def test_each_equivalent_entry_names_a_line_of_its_solution(course):
    exercises, _ = course
    by_name = {exercise.name: exercise for exercise in exercises}
    for entry in read_equivalents(ROOT):
        assert entry.exercise in by_name, entry
        solution = "".join(s.source for s in by_name[entry.exercise].statements)
        code = {line.strip() for line in solution.splitlines()}
        assert set(entry.original.splitlines()) <= code, entry
        assert entry.original != entry.mutated and len(entry.why) > 20


def test_global_reads_leave_out_locals_and_builtins():
    source = (
        "def f(rewards, gamma):\n"
        "    returns = np.zeros(len(rewards))\n"
        "    total = [r * GAMMA for r in rewards]\n"
        "    return returns, total\n"
    )
    assert global_reads(source) == {"np", "GAMMA"}


def test_resolve_follows_the_notebook_order():
    cells = [
        "import numpy as np\nSCALE = 2\n",
        "def helper(x):\n    return later(x) * SCALE\n",
        "def later(x):\n    return np.abs(x)\n",
        "table = {}\nfor k in range(3):\n    table[k] = helper(k)\nSCALE = 3\n",
    ]
    statements = [s for i, c in enumerate(cells) for s in cell_statements(c, i)]
    needed = resolve(frozenset({"table"}), (4, 0), statements)
    sources = [s.source.split("\n")[0] for s in needed]
    # A function's body may use what a later cell defines (it runs when called); the
    # loop filling the table belongs to it; SCALE = 3 comes after the loop ran.
    assert sources == [
        "import numpy as np", "SCALE = 2", "def helper(x):", "def later(x):",
        "table = {}", "for k in range(3):",
    ]
    with pytest.raises(ExtractionError, match="'missing'"):
        resolve(frozenset({"missing"}), (4, 0), statements)


def test_mutable_definition_freezes_what_lies_outside_the_markers():
    source = (
        "class Memory:\n"
        '    """Given."""\n'
        "\n"
        "    def __init__(self):\n"
        "        self.count = 0\n"
        "\n"
        "    def add(self, x):\n"
        '        """The exercise."""\n'
        "        ### BEGIN SOLUTION\n"
        "        self.count += x\n"
        "        ### END SOLUTION\n"
    )
    text = mutable_definition(source)
    assert f"def __init__(self):  {PRAGMA} block" in text
    assert f"def add(self, x):  {PRAGMA}" in text
    assert "        self.count += x\n" in text + "\n"
    assert mutable_lines(text) == ["self.count += x"]


def row_with(mutants, outcomes=()):
    exercise = type("E", (), {"name": "ch01_ex2", "chapter": "01", "number": "2",
                              "title": "returns", "label": "returns"})()
    rows, stale = report.build_rows(
        [exercise], mutants, EQUIVALENTS, {"ch01_ex2": list(outcomes)}
    )
    return rows, stale


EQUIVALENTS = [
    type("Q", (), {"exercise": "ch01_ex2", "original": "a = 1", "mutated": "a = 2",
                   "why": "the same"})()
]


def test_report_fails_on_an_unexplained_survivor_and_a_stale_entry():
    killed = Mutant("m1", "ch01_ex2", "killed")
    listed = Mutant("m2", "ch01_ex2", "survived", "a = 1", "a = 2")
    other = Mutant("m3", "ch01_ex2", "survived", "b = 1", "b = None")
    caught = Outcome(Wrong("w", "wrong"), "caught", "returns/x", "")
    missed = Outcome(Wrong("v", "wrong"), "missed", None, "")
    rows, stale = row_with([killed, listed], [caught] * 8)
    assert (rows[0].killed, rows[0].equivalent, rows[0].score) == (1, 1, "100%")
    assert report.failures(rows, stale) == []
    rows, stale = row_with([killed, other], [caught] * 7 + [missed])
    problems = report.failures(rows, stale)
    assert any("survived" in line and "b = None" in line for line in problems)
    assert any("'v' missed" in line for line in problems)
    assert any("no longer survives" in line for line in problems)  # a = 1 killed
    assert rows[0].score == "50%"


def test_an_exercise_of_several_names_takes_entries_that_answer_some(course, modules):
    exercises, _ = course
    several = [e for e in exercises if len(e.defines) > 1]
    assert several, "chapter 01's Exercise 5 defines networks and a pick"
    cell = CheckCell(several[0], modules)
    entries = dict((e.name, answer) for e, answer in catalogue_entries(
        ROOT / MISTAKES / f"{several[0].name}.py"))
    result, mistake, _ = cell.run(cell.answers(entries["picks_cramped"]))
    assert (result, mistake) == ("failed", "choice/picked-cramped")
    with pytest.raises(ValueError, match="answers"):
        cell.answers(lambda notebook: {"not_a_name": 1})


def test_command_line_extracts_and_runs_the_catalogue(tmp_path, capsys):
    from instructor.tools.mutation.__main__ import main

    out = tmp_path / "build"
    common = ["--root", str(ROOT), "--out", str(out), "--only", "ch01_ex2"]
    assert main(["extract", *common]) == 0
    assert (out / "src" / "ch01_ex2.py").exists()
    assert (out / "tests" / "test_ch01_ex2.py").exists()
    assert main(["run", "--skip-tool", *common]) == 0
    printed = capsys.readouterr().out
    assert "ch01_ex2 discounted returns" in printed and "Measured" in printed
    assert "| 01/2: discounted returns |" in (out / "report.md").read_text()
    assert "**forwards**" in (out / "catalogue.md").read_text()
    with pytest.raises(SystemExit, match="unknown exercise"):
        main(["extract", "--root", str(ROOT), "--out", str(out), "--only", "ch9_ex9"])


def test_mutmuts_verdicts_and_diffs_are_read(tmp_path, monkeypatch):
    from instructor.tools.mutation import tool

    meta = tmp_path / "mutants" / "src" / "ch01_ex2.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(
        '{"exit_code_by_key": {"ch01_ex2.x_f__mutmut_1": 1, '
        '"ch01_ex2.x_f__mutmut_2": 0, "ch01_ex2.x_f__mutmut_3": -24}}'
    )
    monkeypatch.setattr(tool, "change_of", lambda out, name: ("a = 1", name[-1]))
    found = {m.name[-1]: m for m in tool.read_verdicts(tmp_path)}
    assert [found[k].status for k in "123"] == ["killed", "survived", "timeout"]
    assert (found["2"].original, found["2"].mutated) == ("a = 1", "2")
    diff = "--- src/x.py\n+++ src/x.py\n@@ -1 +1 @@\n-    a = b + c\n+    a = b - c\n"
    assert tool.diff_lines(diff) == ("a = b + c", "a = b - c")


def test_a_failing_mutmut_run_shows_the_end_of_its_log(tmp_path, monkeypatch):
    from instructor.tools.mutation import tool

    fake = tmp_path / "mutmut"
    fake.write_text("#!/bin/sh\necho 'Failed to run clean test'\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(tool, "mutmut_command", lambda: fake)
    with pytest.raises(RuntimeError, match="Failed to run clean test"):
        tool.run_mutmut(tmp_path, 2, tmp_path / "mutmut.log")
