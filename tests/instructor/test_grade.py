"""The instructor's grader, ``python -m instructor.grade``.

Most tests grade a tiny synthetic course (two notebooks, cheap exercises, checks in a
small module) so that kernels start and finish in seconds. One batch of synthetic
submissions, built from the tiny course's student versions, covers each case the
grader must survive: correct (written differently), untouched, wrong, broken,
tampered, deleted and reordered cells, an infinite loop, a hang that ignores
interrupts, a memory hog, a dying kernel, megabytes of output, exceptions everywhere,
invalid JSON, another course's notebook. It is graded once, in parallel, and each
test reads its rows. One end-to-end test grades a real student notebook.
"""

from __future__ import annotations

import csv
import hashlib
import textwrap
from pathlib import Path
from uuid import uuid4

import nbformat
import psutil
import pytest

from instructor import grade
from instructor.grading import course as course_model
from instructor.grading import match, verdict
from instructor.grading.runner import Limits, Outcome
from instructor.tools import student

ROOT = Path(__file__).resolve().parents[2]

CHECKS = '''
from course_utils.checks.core import Check, CheckFailed, as_array, run_check

CASES = (0, 1, -2.5)


def _probe_double(probe, double):
    for index, x in enumerate(CASES):
        probe.call(f"x{index}", double, x)


def _judge_double(records):
    for index, x in enumerate(CASES):
        got = as_array(records[f"x{index}"], name=f"double({x})", shape=())
        if got != 2 * x:
            raise CheckFailed(f"double({x}) should be {2 * x}, got {got.item():g}",
                              "double/wrong")
    return "double works"


def _probe_greet(probe, greet):
    probe.call("ada", greet, "Ada")


def _judge_greet(records):
    got = records["ada"]
    if got != "Hello, Ada!":
        raise CheckFailed(f"greet('Ada') should be 'Hello, Ada!', got {got!r}")
    return "greet works"


def _probe_answer(probe, answer):
    probe.keep("answer", answer)


def _judge_answer(records):
    if records["answer"] != 42:
        raise CheckFailed(f"answer should be 42, got {records['answer']!r}")
    return "the answer is right"


def _probe_negate(probe, negate):
    probe.call("three", negate, 3)


def _judge_negate(records):
    if records["three"] != -3:
        raise CheckFailed("negate(3) should be -3")
    return "negate works"


DOUBLE = Check("1 (double)", _probe_double, _judge_double)
GREET = Check("2 (greeting)", _probe_greet, _judge_greet)
ANSWER = Check("3 (the answer)", _probe_answer, _judge_answer)
NEGATE = Check("1 (negate)", _probe_negate, _judge_negate)


def check_double(double):
    run_check(DOUBLE, double)


def check_greet(greet):
    run_check(GREET, greet)


def check_answer(answer):
    run_check(ANSWER, answer)


def check_negate(negate):
    run_check(NEGATE, negate)
'''

TINY = [
    ("markdown", "# 01 · Tiny course\n\nA course for the grader's tests."),
    ("code", "import tinychecks"),
    ("markdown", "### Exercise 1: double\n\nReturn twice `x`."),
    ("code", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
             "    ### END SOLUTION"),
    ("code", "tinychecks.check_double(double)"),
    ("markdown", "### Exercise 2: greeting"),
    ("code", "def greet(name):\n    ### BEGIN SOLUTION\n    return f'Hello, {name}!'\n"
             "    ### END SOLUTION"),
    ("code", "tinychecks.check_greet(greet)"),
    ("markdown", "### Exercise 3: the answer"),
    ("code", "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION"),
    ("code", "tinychecks.check_answer(answer)"),
    ("markdown", "## The end"),
    ("code", "print('done')"),
]
OTHER = [
    ("markdown", "# 02 · Another chapter"),
    ("code", "import tinychecks"),
    ("markdown", "### Exercise 1: negate"),
    ("code", "def negate(x):\n    ### BEGIN SOLUTION\n    return -x\n"
             "    ### END SOLUTION"),
    ("code", "tinychecks.check_negate(negate)"),
]
FOREIGN = [
    ("markdown", "# Pandas basics"),
    ("markdown", "### Exercise 1: load a CSV"),
    ("code", "def load(path):\n    return path"),
    ("code", "print(load('data.csv'))"),
]
LIMITS = {"cell_timeout": 3, "timeout": 30, "memory_mb": 250}


def notebook_of(cells):
    """A notebook made of (type, source) pairs."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    for kind, source in cells:
        if kind == "code":
            notebook.cells.append(nbformat.v4.new_code_cell(source))
        else:
            notebook.cells.append(nbformat.v4.new_markdown_cell(source))
    return notebook


def make_course(folder: Path) -> Path:
    """Write the tiny course (two notebooks) and its checks module."""
    folder.mkdir(parents=True)
    nbformat.write(notebook_of(TINY), folder / "01_tiny.ipynb")
    nbformat.write(notebook_of(OTHER), folder / "02_other.ipynb")
    # The checks module sits apart from the course folder, on PYTHONPATH: a
    # sandboxed kernel sees the former (read-only) but never the latter.
    checks_path(folder).mkdir()
    (checks_path(folder) / "tinychecks.py").write_text(CHECKS)
    return folder


def checks_path(course: Path) -> Path:
    """Where the tiny course's checks module lives."""
    return course.parent / "checks"


def student_version(course: Path, name: str):
    """The student version of a tiny-course notebook, as the course tooling makes it."""
    notebook = nbformat.read(course / f"{name}.ipynb", as_version=4)
    return student.make_student(notebook, name)


def index_of(notebook, text: str) -> int:
    """Index of the first cell whose source contains ``text``."""
    return next(i for i, cell in enumerate(notebook.cells) if text in cell.source)


def solve(notebook, number: str, code: str) -> None:
    """Replace exercise ``number``'s stub line by ``code`` (same indentation)."""
    cell = notebook.cells[index_of(notebook, f"Exercise {number} (")]
    lines = []
    for line in cell.source.splitlines():
        if "raise NotImplementedError(" in line and f"Exercise {number} (" in line:
            indent = line[: len(line) - len(line.lstrip())]
            lines += [indent + part for part in textwrap.dedent(code).splitlines()]
        else:
            lines.append(line)
    cell.source = "\n".join(lines)


def prepend(notebook, text: str, code: str) -> None:
    """Put ``code`` at the top of the first cell containing ``text``."""
    cell = notebook.cells[index_of(notebook, text)]
    cell.source = textwrap.dedent(code) + "\n" + cell.source


def solved(course: Path):
    """A correct submission, written differently from the solution."""
    notebook = student_version(course, "01_tiny")
    solve(notebook, "1", "return x + x")
    solve(notebook, "2", "return 'Hello, ' + name + '!'")
    solve(notebook, "3", "answer = 6 * 7")
    return notebook


def build_submissions(course: Path, folder: Path, hang_name: str) -> None:
    """Write one synthetic submission per case into ``folder``."""
    folder.mkdir()
    write = lambda name, nb: nbformat.write(nb, folder / f"{name}.ipynb")  # noqa: E731

    correct = solved(course)
    correct.cells[0].outputs = []
    correct.metadata["colab"] = {"provenance": []}
    write("correct", correct)
    write("untouched", student_version(course, "01_tiny"))

    wrong = student_version(course, "01_tiny")
    solve(wrong, "1", "return 3 * x")
    solve(wrong, "2", "raise ValueError('no names today')")
    solve(wrong, "3", "answer = 1 / 0")
    write("wrong", wrong)

    tampered = solved(course)
    solve_wrong = tampered.cells[index_of(tampered, "def double")]
    solve_wrong.source = "def double(x):\n    return 3 * x"
    tampered.cells[index_of(tampered, "check_double")].source = (
        "tinychecks.check_double(lambda x: 2 * x)"
    )
    write("tampered", tampered)

    deleted = solved(course)
    del deleted.cells[index_of(deleted, "check_greet")]
    del deleted.cells[index_of(deleted, "def double")]
    del deleted.cells[0]  # the title: still recognised by its exercises
    (folder / "alice").mkdir()
    nbformat.write(deleted, folder / "alice" / "renamed by alice.ipynb")

    reordered = solved(course)
    cells = reordered.cells
    first, second, third = (
        index_of(reordered, f"Exercise {n}:") for n in ("1", "2", "3")
    )
    section_two = cells[second:third]
    rest = cells[:first] + section_two + cells[first:second] + cells[third:]
    check3 = next(c for c in rest if "check_answer" in c.source)
    rest.remove(check3)
    rest.insert(rest.index(next(c for c in rest if "Exercise 3:" in c.source)) + 1,
                check3)
    reordered.cells = rest
    write("reordered", reordered)

    loop = solved(course)
    loop.cells[index_of(loop, "def double")].source = (
        "def double(x):\n    while True:\n        pass"
    )
    write("loop", loop)

    hang = solved(course)
    prepend(hang, "def greet", f"""\
        import signal
        # The kernel names itself, for the test to look for it on the host: its pid
        # inside the sandbox means nothing outside.
        open("/proc/self/comm", "w").write({hang_name!r})
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            pass
        """)
    write("hang", hang)

    slow = solved(course)
    sleeps = [nbformat.v4.new_code_cell("time.sleep(2.5)") for _ in range(15)]
    sleeps[0].source = "import time\n" + sleeps[0].source
    third = index_of(slow, "Exercise 3:")
    slow.cells = slow.cells[:third] + sleeps + slow.cells[third:]
    write("_slow", slow)  # sorts first: its 30 s overlap the other submissions

    hog = solved(course)
    hog_code = "import time\nblob = b'x' * (400 * 2**20)\ntime.sleep(2.5)"
    prepend(hog, "def greet", hog_code)
    write("hog", hog)

    died = solved(course)
    prepend(died, "def greet", "import os\nos._exit(1)")
    write("died", died)

    flood = solved(course)
    flood.cells[index_of(flood, "def double")].source = (
        "def double(x):\n    print('y' * 5_000_000)\n    return 2 * x"
    )
    flood.cells.append(nbformat.v4.new_code_cell(
        "for _ in range(200):\n    print('x' * 100_000)"
    ))
    write("flood", flood)

    raising = solved(course)
    for cell in raising.cells:
        if cell.cell_type == "code":
            cell.source = "raise RuntimeError('boom')\n" + cell.source
    write("raising", raising)

    (folder / "invalid.ipynb").write_text('{"cells": [ this is not JSON')
    write("foreign", notebook_of(FOREIGN))
    other = student_version(course, "02_other")
    solve(other, "1", "return 0 - x")
    write("bob_02", other)
    (folder / ".ipynb_checkpoints").mkdir()
    write(".ipynb_checkpoints/correct-checkpoint", correct)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under a folder with the hash of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the synthetic batch once: (rows by (submission, exercise), run details)."""
    base = tmp_path_factory.mktemp("grade")
    course = make_course(base / "course")
    subs, out, hang_name = base / "subs", base / "report.csv", f"hang{uuid4().hex[:10]}"
    build_submissions(course, subs, hang_name)
    before = snapshot(subs)
    argv = [str(subs), "--out", str(out), "--course", str(course), "--workers", "2",
            "--cell-timeout", str(LIMITS["cell_timeout"]),
            "--timeout", str(LIMITS["timeout"]),
            "--memory-mb", str(LIMITS["memory_mb"])]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(checks_path(course)))
        patch.syspath_prepend(str(checks_path(course)))  # the judge imports it
        code = grade.main(argv)
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_key = {(row["submission"], row["exercise"].split(":")[0]): row for row in rows}
    return {"code": code, "rows": rows, "by": by_key, "before": before,
            "after": snapshot(subs), "hang_name": hang_name, "out": out}


def status(graded, submission: str, exercise: str) -> str:
    """The status of one submission's exercise."""
    return graded["by"][(f"{submission}.ipynb", exercise)]["status"]


def message(graded, submission: str, exercise: str) -> str:
    """The message of one submission's exercise."""
    return graded["by"][(f"{submission}.ipynb", exercise)]["message"]


EX1, EX2, EX3 = "Exercise 1", "Exercise 2", "Exercise 3"


def test_grading_completes_and_reports_every_submission(graded):
    assert graded["code"] == 0
    submissions = {row["submission"] for row in graded["rows"]}
    assert len(submissions) == 16, sorted(submissions)
    assert not any("checkpoint" in name for name in submissions)
    assert list(graded["rows"][0]) == ["submission", "notebook", "exercise", "status",
                                      "mistake", "message", "flags"]


def test_submissions_are_never_written(graded):
    assert graded["after"] == graded["before"]


def test_correct_submission_written_differently_passes(graded):
    for exercise in (EX1, EX2, EX3):
        assert status(graded, "correct", exercise) == "passed"
    assert graded["by"][("correct.ipynb", EX1)]["notebook"] == "01_tiny"


def test_untouched_stubs_are_not_attempted(graded):
    for exercise in (EX1, EX2, EX3):
        assert status(graded, "untouched", exercise) == "not attempted"
        assert f"{exercise} (" in message(graded, "untouched", exercise)


def test_wrong_answers_fail_with_the_checks_message(graded):
    assert status(graded, "wrong", EX1) == "failed"
    assert "double(1) should be 2, got 3" in message(graded, "wrong", EX1)
    # The check named the mistake: the CSV's mistake column carries its id; a failure
    # the check does not name leaves it empty.
    assert graded["by"][("wrong.ipynb", EX1)]["mistake"] == "double/wrong"
    assert graded["by"][("wrong.ipynb", EX2)]["mistake"] == ""
    assert graded["by"][("correct.ipynb", EX1)]["mistake"] == ""
    assert status(graded, "wrong", EX2) == "failed"
    assert "ValueError: no names today" in message(graded, "wrong", EX2)
    assert status(graded, "wrong", EX3) == "error"
    assert "ZeroDivisionError" in message(graded, "wrong", EX3)


def test_tampered_check_cell_is_replaced_by_the_courses(graded):
    assert status(graded, "tampered", EX1) == "failed"
    assert status(graded, "tampered", EX2) == "passed"


def test_deleted_cells_are_missing_and_renamed_file_is_recognised(graded):
    name = "alice/renamed by alice"
    assert status(graded, name, EX1) == "missing"
    assert "code cell" in message(graded, name, EX1)
    assert status(graded, name, EX2) == "missing"
    assert "check cell" in message(graded, name, EX2)
    assert status(graded, name, EX3) == "passed"


def test_reordered_cells_run_in_the_students_order(graded):
    assert status(graded, "reordered", EX1) == "passed"
    assert status(graded, "reordered", EX2) == "passed"
    assert status(graded, "reordered", EX3) == "error"
    assert "NameError" in message(graded, "reordered", EX3)


def test_infinite_loop_is_interrupted_and_grading_goes_on(graded):
    assert status(graded, "loop", EX1) == "error"
    assert "time limit of 3 s per cell" in message(graded, "loop", EX1)
    assert status(graded, "loop", EX2) == "passed"
    assert status(graded, "loop", EX3) == "passed"


def test_hang_ignoring_interrupts_is_stopped(graded):
    assert status(graded, "hang", EX1) == "passed"
    for exercise in (EX2, EX3):
        assert status(graded, "hang", exercise) == "error"
        assert "ignored the interrupt" in message(graded, "hang", exercise)
    alive = [p for p in psutil.process_iter(["name", "status"])
             if p.info["name"] == graded["hang_name"] and p.info["status"] != "zombie"]
    assert not alive, "the hung kernel survived the grader"


def test_slow_notebook_is_killed_at_the_notebook_limit(graded):
    assert status(graded, "_slow", EX1) == "passed"
    assert status(graded, "_slow", EX2) == "passed"
    assert status(graded, "_slow", EX3) == "error"
    assert "time limit (30 s)" in message(graded, "_slow", EX3)


def test_memory_hog_is_stopped_at_the_cap(graded):
    assert status(graded, "hog", EX1) == "passed"
    assert status(graded, "hog", EX2) == "error"
    assert "memory cap (250 MB)" in message(graded, "hog", EX2)


def test_dead_kernel_is_reported(graded):
    assert status(graded, "died", EX1) == "passed"
    assert "kernel died" in message(graded, "died", EX2)
    assert status(graded, "died", EX3) == "error"


def test_megabytes_of_output_are_capped(graded):
    for exercise in (EX1, EX2, EX3):
        assert status(graded, "flood", exercise) == "passed"
    assert graded["out"].stat().st_size < 20_000


def test_exceptions_everywhere_are_errors_naming_the_cause(graded):
    for exercise in (EX1, EX2, EX3):
        assert status(graded, "raising", exercise) == "error"
        assert "RuntimeError: boom" in message(graded, "raising", exercise)


def test_unreadable_and_foreign_notebooks_get_one_row(graded):
    assert status(graded, "invalid", "") == "invalid"
    # Where the JSON breaks, never what the file holds.
    assert message(graded, "invalid", "") == "not valid JSON (line 1, column 13)"
    assert status(graded, "foreign", "") == "unrecognised"


def test_second_course_notebook_is_recognised(graded):
    row = graded["by"][("bob_02.ipynb", EX1)]
    assert (row["notebook"], row["status"]) == ("02_other", "passed")


def test_summary_table_and_pass_rates(graded, tmp_path):
    rows = [grade_row(**row) for row in graded["rows"]]
    text = report_summary(rows)
    assert "01_tiny (13 submissions)" in text
    assert "02_other (1 submission)" in text
    rate_line = next(line for line in text.splitlines() if "class pass rate" in line)
    # Exercise 1 passes in correct, reordered, hang, slow, hog, died, flood: 7 of 13.
    assert rate_line.split()[3:5] == ["7/13", "54%"]
    assert "Not graded" in text and "unrecognised" in text


def grade_row(**fields):
    """A report row from a CSV line."""
    from instructor.grading.report import Row

    return Row(**fields)


def report_summary(rows) -> str:
    """The printed summary of some rows."""
    from instructor.grading.report import summary

    return summary(rows)


# Misuse: exit code 2, a clear message, no kernel started.


def test_no_submissions_is_misuse(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert grade.main([str(tmp_path / "empty"), "--out", str(tmp_path / "r.csv")]) == 2
    assert "no .ipynb submission" in capsys.readouterr().err


def test_missing_path_is_misuse(tmp_path, capsys):
    assert grade.main([str(tmp_path / "nope"), "--out", str(tmp_path / "r.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["missing/dir/r.csv", "."])
def test_unwritable_output_is_misuse(tmp_path, capsys, where):
    submission = tmp_path / "a.ipynb"
    submission.write_text("{}")
    out = tmp_path / where
    assert grade.main([str(submission), "--out", str(out)]) == 2
    assert "error:" in capsys.readouterr().err


def test_course_without_exercises_is_misuse(tmp_path, capsys):
    submission = tmp_path / "a.ipynb"
    submission.write_text("{}")
    course = tmp_path / "course"
    course.mkdir()
    argv = [str(submission), "--out", str(tmp_path / "r.csv"), "--course", str(course)]
    assert grade.main(argv) == 2
    assert "no course notebook" in capsys.readouterr().err


# Recognition and verdicts, without kernels.


def course_paths():
    """The repository's solution notebooks."""
    return [s.with_suffix(".ipynb") for s in student.solution_notebooks(ROOT)]


@pytest.mark.parametrize("source", course_paths(), ids=lambda p: p.name)
def test_real_notebooks_are_recognised_with_every_exercise(source):
    course = course_model.load_course(ROOT / "notebooks")
    expected = next(c for c in course if c.name == source.stem)
    assert len(expected.exercises) >= 1
    for path in (source, student.student_path(source.with_suffix(".py"))):
        cells = course_model.read_notebook(path).cells
        found = match.recognise(cells, "submission.ipynb", course)
        assert found is not None and found.name == expected.name, path
        challenges = {e.number: 1000 + i for i, e in enumerate(found.exercises)}
        plan = match.prepare(cells, found, challenges)
        for exercise in found.exercises:
            where = plan.located[exercise.number]
            assert where.exercise_cell is not None and where.check_cell is not None
            # The check cell runs the course's probe, never the student's copy,
            # with this exercise's challenge written in.
            ran = plan.notebook.cells[where.check_cell].source
            assert exercise.probe and ran == course_model.with_challenge(
                exercise.probe, challenges[exercise.number])
            assert f"challenge={challenges[exercise.number]})" in ran
            assert "emit_named" in ran and exercise.check_target is not None
            assert where.stub_left == (path != source)


NORMALISE = ("course_utils.checks.cartpole", "check_normalise")


def exercise(number="1", names=frozenset({"f"})):
    """A course exercise for verdict tests (judged by the course's normalise check)."""
    return course_model.Exercise(number, "t", ("def f(): ...",), names, "check_f(f)",
                                 frozenset({"check_f"}), "emit(f)", NORMALISE)


def probed(function):
    """The check cell's record when the probe of the normalise check ran on it."""
    from course_utils.checks import cartpole, core, plain

    payload = plain.dumps(core.run_probe(cartpole.NORMALISE, function))
    return {"status": "ok", "probe_count": 1, "probe": payload}


def np_stub():
    raise NotImplementedError("Exercise 1 (t): replace this line with your code")


def right_normalise(values):
    return (values - values.mean()) / (values.std() + 1e-8)


def run(check=None, mine=None, end="finished"):
    """An outcome with given results for the exercise cell (0) and check cell (1)."""
    results = {i: r for i, r in ((0, mine), (1, check)) if r is not None}
    return Outcome(results=results, end=end, last_cell=1)


def error(name, value):
    """A cell's error record."""
    return {"status": "error", "ename": name, "evalue": value}


@pytest.mark.parametrize(
    "check, mine, expected",
    [
        (probed(right_normalise), None, "passed"),
        (probed(lambda values: values - values.mean()), None, "failed"),
        (probed(lambda values: 1 / 0), None, "failed"),
        # A printed ✔ line counts for nothing: only the judge's verdict does.
        ({"status": "ok", "success_line": True, "probe_count": 0}, None, "error"),
        ({**probed(right_normalise), "probe_count": 2}, None, "error"),
        ({**probed(right_normalise), "probe": '{"records": {}}'}, None, "error"),
        ({**probed(right_normalise), "probe": "[1, 2"}, None, "error"),
        (probed(lambda values: np_stub()), None, "not attempted"),
        (error("CheckFailed", "f(1) should be 2"), None, "failed"),
        (error("AssertionError", ""), None, "failed"),
        (error("NotImplementedError", "Exercise 1 (t): stub"), None, "not attempted"),
        (error("CheckFailed", "f raised NotImplementedError: Exercise 1 (t)"), None,
         "not attempted"),
        (error("NotImplementedError", "Exercise 2 (u): replace this line"), None,
         "error"),
        (error("CheckFailed", "Exercise 1 (t) is not done yet: replace the `raise "
               "NotImplementedError` line (Exercise 2 (u): replace this line)"), None,
         "error"),
        (error("CheckFailed", "Exercise 1 is not done yet: NotImplementedError"), None,
         "not attempted"),
        (error("NameError", "name 'x'"), error("NotImplementedError", "Exercise 1"),
         "not attempted"),
        (error("NameError", "name 'x'"), error("SyntaxError", "bad"), "error"),
        # The exercise's own cell still raises its stub: whatever a probe handed
        # over (the function written elsewhere, or a forgery), not attempted.
        (probed(right_normalise),
         error("NotImplementedError", "Exercise 1 (t): replace this line with your "
               "code, then run the check below."), "not attempted"),
        (error("CellTimeout", "ran over"), None, "error"),
    ],
)
def test_verdicts(check, mine, expected):
    """Statuses from what ran; a probe's data is judged by the course's check."""
    where = match.Located(exercise_cell=0, check_cell=1, stub_left=True)
    result = verdict.judge(exercise(), where, run(check, mine), Limits())
    assert result.status == expected, result


def test_stub_left_in_a_function_used_before_its_check_is_not_attempted():
    # Notebook 01's Exercise 5: the stub sits in build_my_agent, which the training
    # cell before the check calls; the check then meets a name never defined.
    check = error("NameError", "name 'my_runs' is not defined")
    ran = {"status": "ok"}
    left = match.Located(exercise_cell=0, check_cell=1, stub_left=True)
    result = verdict.judge(exercise(), left, run(check, ran), Limits())
    assert result.status == "not attempted" and "my_runs" in result.message
    written = match.Located(exercise_cell=0, check_cell=1, stub_left=False)
    assert verdict.judge(exercise(), written, run(check, ran), Limits()).status == (
        "error"
    )
    # Half written (one stub left, the other part wrong): the check's failure stands,
    # and so does a check that ran over its time limit.
    wrong = error("CheckFailed", "record() stored the wrong row")
    assert verdict.judge(exercise(), left, run(wrong, ran), Limits()).status == (
        "failed"
    )
    slow = error("CellTimeout", "ran over the time limit")
    assert verdict.judge(exercise(), left, run(slow, ran), Limits()).status == "error"


def test_verdict_for_checks_never_reached_names_the_cause():
    where = match.Located(exercise_cell=0, check_cell=1)
    for end, words in [("timeout", "time limit"), ("memory", "memory cap"),
                       ("kernel_died", "kernel died"), ("crash", "could not be run")]:
        result = verdict.judge(exercise(), where, run(end=end), Limits())
        assert result.status == "error" and words in result.message


# End to end on a real student notebook: every exercise left as the stub.


@pytest.mark.kernel
def test_real_student_notebook_with_stubs(tmp_path):
    source = student.solution_notebooks(ROOT)[0]
    submission = tmp_path / "subs" / "student.ipynb"
    submission.parent.mkdir()
    original = student.student_path(source).read_bytes()
    submission.write_bytes(original)
    out = tmp_path / "report.csv"
    argv = [str(submission.parent), "--out", str(out), "--workers", "1",
            "--cell-timeout", "120", "--timeout", "400", "--quiet"]
    assert grade.main(argv) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["notebook"] for row in rows} == {source.stem}
    assert rows[0]["exercise"].startswith("Exercise 1")
    assert rows[0]["status"] == "not attempted", rows[0]
    assert {row["status"] for row in rows} == {"not attempted"}, rows
    assert submission.read_bytes() == original
