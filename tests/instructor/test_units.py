"""Verdict records, merge, the unit's command line and the progress display.

No kernel here: records are written by hand for the tiny course of test_grade.py
(``tests/instructor/test_distributed.py`` makes real ones). A verdict file comes from
elsewhere (a cluster's job, a shared folder), so every way of forging or breaking one
must be reported, and must never reach the report as it says.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
from pathlib import Path

import nbformat
import pytest
from test_grade import make_course, solved, student_version

from instructor import grade_unit, merge
from instructor.grading import course as course_model
from instructor.grading import unit
from instructor.grading.progress import Progress

LABELS = ["Exercise 1: double", "Exercise 2: greeting", "Exercise 3: the answer"]
KEY = b"a secret key of the instructor's"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny course, two submissions on disk, and a record for each."""
    base = tmp_path_factory.mktemp("units")
    course_dir = make_course(base / "course")
    course = course_model.load_course(course_dir)
    subs = base / "subs"
    subs.mkdir()
    nbformat.write(solved(course_dir), subs / "ada.ipynb")
    nbformat.write(student_version(course_dir, "01_tiny"), subs / "bob.ipynb")
    return {"course_dir": course_dir, "course": course, "subs": subs,
            "fingerprint": unit.course_fingerprint(course)}


def record_for(tiny, name: str, index: int, statuses=("passed",) * 3) -> dict:
    """A record as run_unit writes it, for a submission of the tiny course."""
    rows = [{"notebook": "01_tiny", "exercise": label, "status": status,
             "mistake": "double/wrong" if status == "failed" else "",
             "message": f"{label}: {status}", "flags": ""}
            for label, status in zip(LABELS, statuses, strict=True)]
    digest = unit.file_digest(tiny["subs"], Path(name), 2**20)
    return {"format": unit.FORMAT, "submission": name, "index": index,
            "sha256": digest,
            "course": {"fingerprint": tiny["fingerprint"], "commit": "abc"},
            "limits": unit.Settings().describe(),
            "run": {"host": "node-1", "started": "2026-11-30T12:00:00+00:00",
                    "seconds": 12.5, "sandbox": "bubblewrap"},
            "rows": rows}


def rows_of(tiny, record, key=None):
    return unit.rows_of(record, tiny["course"], tiny["fingerprint"], key)


def test_a_record_round_trips_through_its_file(tiny, tmp_path):
    record = record_for(tiny, "ada.ipynb", 0, ("passed", "failed", "error"))
    unit.write_record(tmp_path / "00000.json", record)
    assert os.listdir(tmp_path) == ["00000.json"]  # no temporary file left
    loaded = unit.load_record(tmp_path, Path("00000.json"))
    rows = rows_of(tiny, loaded)
    assert [(r.submission, r.exercise, r.status, r.mistake) for r in rows] == [
        ("ada.ipynb", LABELS[0], "passed", ""),
        ("ada.ipynb", LABELS[1], "failed", "double/wrong"),
        ("ada.ipynb", LABELS[2], "error", ""),
    ]


SPOILERS = {
    "wrong format": lambda r: r.update(format="course-grade-verdict/0"),
    "unknown status": lambda r: r["rows"][0].update(status="top marks"),
    "another notebook": lambda r: [row.update(notebook="03_fake") for row in r["rows"]],
    "an exercise left out": lambda r: r["rows"].pop(),
    "exercises reordered": lambda r: r["rows"].reverse(),
    "passed with a mistake": lambda r: r["rows"][0].update(mistake="double/wrong"),
    "another course": lambda r: r["course"].update(fingerprint="0" * 64),
    "an extra field": lambda r: r["rows"][0].update(grade="A+"),
    "a missing field": lambda r: r["rows"][0].pop("flags"),
    "a number for text": lambda r: r["rows"][0].update(message=42),
    "a huge message": lambda r: r["rows"][0].update(message="x" * 6000),
    "no name": lambda r: r.update(submission=""),
    "a negative index": lambda r: r.update(index=-1),
    "an index that is not whole": lambda r: r.update(index=True),
    "no rows": lambda r: r.update(rows=[]),
    "a whole-file row passed": lambda r: r.update(rows=[{
        "notebook": "", "exercise": "", "status": "passed", "mistake": "",
        "message": "", "flags": ""}]),
    "not graded per exercise": lambda r: r["rows"][0].update(status="not graded"),
}


@pytest.mark.parametrize("spoil", SPOILERS.values(), ids=SPOILERS.keys())
def test_spoilt_records_are_rejected(tiny, spoil):
    record = record_for(tiny, "ada.ipynb", 0)
    rows_of(tiny, record)  # the unspoilt one is accepted
    spoilt = copy.deepcopy(record)
    spoil(spoilt)
    with pytest.raises(unit.BadVerdict):
        rows_of(tiny, spoilt)


RAW = {
    "cut short": lambda text: text[: len(text) // 2],
    "not an object": lambda text: "[" + text + "]",
    "a repeated key": lambda text: text.replace(
        '"status": "failed"', '"status": "failed", "status": "passed"'),
    "NaN": lambda text: text.replace('"seconds": 12.5', '"seconds": NaN'),
    "not UTF-8": lambda text: text.replace("Exercise 1", "Exercise \udcff1"),
    "too large": lambda text: text.replace('"flags": ""', '"flags": "' + " " * 3_000_000
                                           + '"', 1),
}


@pytest.mark.parametrize("spoil", RAW.values(), ids=RAW.keys())
def test_corrupt_files_are_rejected(tiny, tmp_path, spoil):
    record = record_for(tiny, "ada.ipynb", 0, ("failed", "passed", "passed"))
    text = spoil(json.dumps(record, indent=1))
    (tmp_path / "v.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(unit.BadVerdict):
        rows_of(tiny, unit.load_record(tmp_path, Path("v.json")))


def test_a_link_out_of_the_verdict_folder_is_not_read(tiny, tmp_path):
    outside = tmp_path / "outside.json"
    unit.write_record(outside, record_for(tiny, "ada.ipynb", 0))
    folder = tmp_path / "verdicts"
    folder.mkdir()
    (folder / "00000.json").symlink_to(outside)
    with pytest.raises(unit.BadVerdict, match="outside"):
        unit.load_record(folder, Path("00000.json"))


def test_with_a_key_only_records_signed_with_it_count(tiny):
    record = record_for(tiny, "ada.ipynb", 0, ("failed", "passed", "passed"))
    signed = unit.sign(record, KEY)
    assert len(rows_of(tiny, signed, KEY)) == 3
    with pytest.raises(unit.BadVerdict, match="not signed"):
        rows_of(tiny, record, KEY)
    edited = copy.deepcopy(signed)
    edited["rows"][0].update(status="passed", mistake="")
    with pytest.raises(unit.BadVerdict, match="signature"):
        rows_of(tiny, edited, KEY)
    with pytest.raises(unit.BadVerdict, match="signature"):
        rows_of(tiny, unit.sign(record, b"another key, not the instructor's"), KEY)


def test_a_key_file_must_hold_a_real_key(tmp_path):
    (tmp_path / "short").write_bytes(b"abc\n")
    with pytest.raises(ValueError, match="fewer than 16"):
        unit.read_key(tmp_path / "short")
    with pytest.raises(ValueError, match="cannot read"):
        unit.read_key(tmp_path / "missing")
    (tmp_path / "key").write_bytes(KEY + b"\n")
    assert unit.read_key(tmp_path / "key") == KEY


# --- merge --------------------------------------------------------------------------


def run_merge(tiny, folder: Path, out: Path, *extra: str) -> tuple[int, list[dict]]:
    """``python -m instructor.merge`` on a folder: (exit code, CSV rows)."""
    code = merge.main([str(folder), "--out", str(out), "--course",
                       str(tiny["course_dir"]), "--quiet", *extra])
    with open(out, newline="", encoding="utf-8") as handle:
        return code, list(csv.DictReader(handle))


def test_merge_orders_by_index_and_writes_both_reports(tiny, tmp_path):
    folder = tmp_path / "verdicts"
    unit.write_record(folder / "b.json", record_for(tiny, "bob.ipynb", 1,
                                                    ("not attempted",) * 3))
    unit.write_record(folder / "a.json", record_for(tiny, "ada.ipynb", 0))
    code, rows = run_merge(tiny, folder, tmp_path / "report.csv")
    assert code == 0
    assert [(r["submission"], r["status"]) for r in rows] == [
        ("ada.ipynb", "passed")] * 3 + [("bob.ipynb", "not attempted")] * 3
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "merged from 2 accepted verdict file(s)" in page and "abc" in page


def test_merge_reports_a_forged_file_and_keeps_the_rest(tiny, tmp_path, capsys):
    folder = tmp_path / "verdicts"
    unit.write_record(folder / "00000.json", unit.sign(record_for(tiny, "ada.ipynb",
                                                                  0), KEY))
    forgery = record_for(tiny, "bob.ipynb", 1)  # all passed, and not signed
    unit.write_record(folder / "00001.json", forgery)
    (folder / "00002.json").write_text('{"format": ')
    (tmp_path / "key").write_bytes(KEY)
    code, rows = run_merge(tiny, folder, tmp_path / "report.csv",
                           "--key-file", str(tmp_path / "key"),
                           "--submissions", str(tiny["subs"]))
    assert code == 1
    by_name = {}
    for row in rows:
        by_name.setdefault(row["submission"], []).append(row["status"])
    assert by_name == {"ada.ipynb": ["passed"] * 3, "bob.ipynb": ["not graded"]}
    err = capsys.readouterr().err
    assert "00001.json (for bob.ipynb): rejected: not signed" in err
    assert "00002.json: rejected: not valid JSON" in err


def test_merge_against_the_submissions_folder(tiny, tmp_path, capsys):
    folder = tmp_path / "verdicts"
    stale = record_for(tiny, "bob.ipynb", 1)
    stale["sha256"] = "0" * 64  # graded before the file changed
    unit.write_record(folder / "00001.json", stale)
    unit.write_record(folder / "00009.json", record_for(tiny, "zed.ipynb", 9))
    code, rows = run_merge(tiny, folder, tmp_path / "report.csv", "--submissions",
                           str(tiny["subs"]))
    assert code == 1
    assert [(r["submission"], r["status"]) for r in rows] == [
        ("ada.ipynb", "not graded"), ("bob.ipynb", "not graded")]
    assert "no verdict file" in rows[0]["message"]
    assert "other content" in rows[1]["message"]
    err = capsys.readouterr().err
    assert "zed.ipynb, which is not in the submissions folder" in err


def test_merge_rejects_verdicts_that_disagree(tiny, tmp_path):
    folder = tmp_path / "verdicts"
    unit.write_record(folder / "00000.json", record_for(tiny, "ada.ipynb", 0))
    unit.write_record(folder / "copy.json", record_for(tiny, "ada.ipynb", 0))
    code, rows = run_merge(tiny, folder, tmp_path / "same.csv")
    assert code == 0 and len(rows) == 3  # the same verdict twice counts once
    unit.write_record(folder / "other.json", record_for(
        tiny, "ada.ipynb", 0, ("failed", "passed", "passed")))
    code, rows = run_merge(tiny, folder, tmp_path / "differ.csv")
    assert code == 1
    assert {row["status"] for row in rows} == {"not graded"}
    assert "disagree" in rows[0]["message"]


def test_merge_of_a_missing_folder_is_misuse(tiny, tmp_path, capsys):
    code = merge.main([str(tmp_path / "nope"), "--out", str(tmp_path / "r.csv"),
                       "--course", str(tiny["course_dir"])])
    assert code == 2 and "no such folder" in capsys.readouterr().err


# --- the unit's command line (no grading) ---------------------------------------------


def test_unit_counts_and_picks_submissions_as_the_grader_lists_them(tiny, capsys):
    assert grade_unit.main([str(tiny["subs"]), "--count"]) == 0
    assert capsys.readouterr().out.strip() == "2"
    submission, index = grade_unit.pick(tiny["subs"], 1)
    assert (submission.name, index) == ("bob.ipynb", 1)


@pytest.mark.parametrize("argv, words", [
    (["--index", "2"], "out of range"),
    ([], "give --index"),
])
def test_unit_misuse(tiny, tmp_path, capsys, argv, words):
    code = grade_unit.main([str(tiny["subs"]), "--out", str(tmp_path / "v.json"),
                            "--course", str(tiny["course_dir"]), *argv])
    assert code == 2 and words in capsys.readouterr().err


def test_unit_names_its_verdict_file_after_the_index(tmp_path):
    assert grade_unit.verdict_path(tmp_path, 7) == tmp_path / "00007.json"
    assert grade_unit.verdict_path(tmp_path / "v.json", None) == tmp_path / "v.json"


# --- progress -----------------------------------------------------------------------


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


EVIL = "\x1b[2J\x1b]0;pwned\x07[bold red]evil[/]\r.ipynb"


def test_progress_off_a_terminal_prints_one_line_per_submission():
    stream = io.StringIO()
    with Progress(2, stream) as progress:
        progress.started(EVIL)
        progress.finished(EVIL, f"[1/2] {EVIL}: passed")
    assert stream.getvalue() == "[1/2] [bold red]evil[/] .ipynb: passed\n"


def test_progress_is_silent_when_quiet():
    stream = Terminal()
    with Progress(2, stream, quiet=True) as progress:
        progress.started("a.ipynb")
        progress.finished("a.ipynb", "[1/2] a.ipynb: passed")
        progress.log("grading 2 submissions")
    assert stream.getvalue() == ""


def test_progress_on_a_terminal_draws_a_bar_naming_the_file():
    stream = Terminal()
    with Progress(3, stream) as progress:
        progress.started("first.ipynb")
        progress.finished("first.ipynb", "[1/3] first.ipynb: passed")
        progress.started(EVIL)
        progress.bar.refresh()
        drawn = stream.getvalue()
    assert "1/3" in drawn and "ETA" in drawn
    assert "[1/3] first.ipynb: passed" in drawn
    # The student's name is shown as plain text: its controls escaped, no markup.
    assert "\\u0007[bold red]evil[" in drawn
    assert "\x1b[2J" not in drawn and "pwned\x07" not in drawn
    assert "\r.ipynb" not in drawn
