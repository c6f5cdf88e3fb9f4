"""Merge never crashes on a verdict folder, refuses stale signed verdicts, and no
output lets two submissions' names look the same.

No kernel here: verdict files are written by hand for the tiny course of
test_grade.py (``test_units.record_for``), and the one ``instructor.grade`` run below
grades files that are not notebooks (``invalid``, no kernel started).
"""

from __future__ import annotations

import copy
import csv
import errno
import json
import os
import shutil
import unicodedata
from pathlib import Path

import pytest
from test_units import KEY, record_for, tiny  # noqa: F401 (tiny is a fixture)

from instructor import grade, merge
from instructor.grading import reading, unit
from instructor.grading.html_report import Facts, render
from instructor.grading.report import (
    LOOKALIKE_FLAG,
    Row,
    flag_lookalikes,
    lookalikes,
    summary,
    visible,
    write_csv,
)

GOOD = "ada.ipynb"


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def run_merge(tiny, folder: Path, out: Path, *extra: str) -> int:  # noqa: F811
    return merge.main([str(folder), "--out", str(out), "--course",
                       str(tiny["course_dir"]), "--quiet", *extra])


# --- any file at all is a rejection, never a crash ------------------------------------


def spoilt(tiny, name: str, spoil) -> bytes:  # noqa: F811
    """A record for ``name``, spoilt by ``spoil(record)``, as bytes."""
    record = record_for(tiny, GOOD, 5)
    record["submission"] = name
    spoil(record)
    return json.dumps(record).encode()


def nested(depth: int, open_: str = "[", close: str = "]") -> bytes:
    return (open_ * depth + close * depth).encode()


def bad_files(tiny) -> dict[str, bytes]:  # noqa: F811
    """About thirty malformed verdict files: file name -> bytes."""
    good = json.dumps(record_for(tiny, GOOD, 0))
    deep_run = {"a": None}
    for _ in range(20):
        deep_run = {"a": deep_run}
    return {
        "empty.json": b"",
        "cut.json": good[: len(good) // 2].encode(),
        "latin1.json": good.replace("Exercise 1", "Exercise \xe91").encode("latin-1"),
        "invalid-utf8.json": b"\xff\xfe{\x00",
        "bom.json": b"\xef\xbb\xbf" + good.encode(),
        "arrays-100k.json": nested(100_000),
        "objects-100k.json": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        "nested-900.json": nested(900),
        "inf.json": b'{"x": 1e999999}',
        "minus-inf.json": b'{"x": -1e999999}',
        "int-100k-digits.json": b'{"x": ' + b"9" * 100_000 + b"}",
        "float-100k-digits.json": b'{"x": 0.' + b"1" * 100_000 + b"}",
        "nan.json": b'{"x": NaN}',
        "array.json": b"[]",
        "null.json": b"null",
        "string.json": b'"a verdict"',
        "number.json": b"42",
        "repeated-key.json": good.replace('"index": 0', '"index": 0, "index": 1')
        .encode(),
        "lone-surrogate.json": good.replace("Exercise 1: double",
                                            "Exercise 1: \\ud800").encode(),
        "name-a-number.json": spoilt(tiny, "x", lambda r: r.update(submission=42)),
        "name-an-object.json": spoilt(tiny, "x", lambda r: r.update(
            submission={"a": 1})),
        "rows-text.json": spoilt(tiny, "b1.ipynb", lambda r: r.update(rows="all")),
        "rows-numbers.json": spoilt(tiny, "b2.ipynb", lambda r: r.update(rows=[1, 2])),
        "status-number.json": spoilt(tiny, "b3.ipynb",
                                     lambda r: r["rows"][0].update(status=5)),
        "course-text.json": spoilt(tiny, "b4.ipynb", lambda r: r.update(course="x")),
        "commit-list.json": spoilt(tiny, "b5.ipynb",
                                   lambda r: r["course"].update(commit=[1])),
        "index-text.json": spoilt(tiny, "b6.ipynb", lambda r: r.update(index="3")),
        "index-real.json": spoilt(tiny, "b7.ipynb", lambda r: r.update(index=1.5)),
        "limits-list.json": spoilt(tiny, "b8.ipynb", lambda r: r.update(limits=[1])),
        "run-nested.json": spoilt(tiny, "b9.ipynb",
                                  lambda r: r["run"].update(seconds=[1])),
        "run-deep.json": spoilt(tiny, "b10.ipynb", lambda r: r.update(run=deep_run)),
        "sha-number.json": spoilt(tiny, "b11.ipynb", lambda r: r.update(sha256=123)),
        "too-large.json": b'{"x": "' + b" " * (3 * 2**20) + b'"}',
        "unreadable.json": b"{not json",
    }


def test_any_malformed_verdict_file_is_a_rejected_row(tiny, tmp_path, capsys):  # noqa: F811
    folder = tmp_path / "verdicts"
    unit.write_record(folder / "00000.json", record_for(tiny, GOOD, 0))
    files = bad_files(tiny)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "unreadable.json").chmod(0)  # unreadable (root reads it: bad JSON)
    (folder / "folder.json").mkdir()
    os.mkfifo(folder / "fifo.json")
    (folder / "link-out.json").symlink_to("/etc/passwd")
    (folder / "dangling.json").symlink_to(folder / "nowhere")
    (folder / "loop.json").symlink_to(folder / "loop.json")
    # A name that is not UTF-8, with a zero-width space in it.
    os.close(os.open(os.fsencode(folder) + b"/\xff\xe2\x80\x8bodd.json",
                     os.O_CREAT | os.O_WRONLY, 0o600))
    odd = os.fsdecode(b"\xff\xe2\x80\x8bodd.json")
    bad = [*files, "folder.json", "fifo.json", "link-out.json", "dangling.json",
           "loop.json", odd]
    assert len(bad) >= 30

    out = tmp_path / "report.csv"
    code = run_merge(tiny, folder, out)
    assert code == 1
    rows = read_csv(out)
    assert (tmp_path / "report.html").is_file()
    good = [row for row in rows if row["submission"] == GOOD]
    assert [row["status"] for row in good] == ["passed"] * 3
    rejected = [row for row in rows if row["submission"] != GOOD]
    assert {row["status"] for row in rejected} == {"not graded"}
    assert len(rejected) == len(bad)
    for name in bad:
        mentions = [row for row in rejected if
                    f"its verdict file {visible(name)} was rejected" in row["message"]]
        assert len(mentions) == 1, name
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count(": rejected: ") == len(bad)
    # The odd name is shown escaped, in the CSV and in the warnings.
    assert "\\udcff\\u200bodd.json (verdict file)" in {row["submission"]
                                                       for row in rows}
    assert "\\udcff\\u200bodd.json: rejected:" in err


HOSTILE = {
    "arrays-100k.json": "nested too deeply",
    "objects-100k.json": "nested too deeply",
    "nested-900.json": "not an object",
    "run-deep.json": "nested more than 8 levels",
    "inf.json": "out of range",
    "int-100k-digits.json": "more than 40 digits",
    "float-100k-digits.json": "more than 40 digits",
    "nan.json": "NaN",
    "repeated-key.json": "repeats a key",
    "lone-surrogate.json": "lone surrogate",
    "too-large.json": "larger than a verdict file can be",
    "latin1.json": "not UTF-8",
    "commit-list.json": "commit is not a string",
    "run-nested.json": "not a plain value",
    "sha-number.json": "not a SHA-256 digest",
}


@pytest.mark.parametrize("name, words", HOSTILE.items(), ids=HOSTILE.keys())
def test_each_hostile_file_raises_bad_verdict_with_its_reason(tiny, tmp_path,  # noqa: F811
                                                             name, words):
    (tmp_path / "v.json").write_bytes(bad_files(tiny)[name])
    with pytest.raises(unit.BadVerdict, match=words):
        record = unit.load_record(tmp_path, Path("v.json"))
        unit.rows_of(record, tiny["course"], tiny["fingerprint"])


def test_a_file_that_cannot_be_opened_is_rejected(tiny, tmp_path, monkeypatch):  # noqa: F811
    folder = tmp_path / "verdicts"
    unit.write_record(folder / "00000.json", record_for(tiny, GOOD, 0))
    unit.write_record(folder / "00001.json", record_for(tiny, "bob.ipynb", 1))
    opened = reading.walk_open

    def walk_open(root, parts):
        if parts[-1] == "00001.json":
            raise PermissionError(errno.EACCES, "Permission denied")
        return opened(root, parts)

    monkeypatch.setattr(reading, "walk_open", walk_open)
    out = tmp_path / "report.csv"
    assert run_merge(tiny, folder, out) == 1
    rows = read_csv(out)
    assert [row["status"] for row in rows] == ["passed"] * 3 + ["not graded"]
    assert "cannot be opened (Permission denied)" in rows[-1]["message"]


def test_a_failure_of_the_checks_themselves_is_a_rejection(tiny, tmp_path,  # noqa: F811
                                                          monkeypatch):
    folder = tmp_path / "verdicts"
    unit.write_record(folder / "00000.json", record_for(tiny, GOOD, 0))

    def broken(*args, **kwargs):
        raise RecursionError("somewhere deep")

    monkeypatch.setattr(unit, "rows_of", broken)
    out = tmp_path / "report.csv"
    assert run_merge(tiny, folder, out) == 1
    rows = read_csv(out)
    assert rows[0]["status"] == "not graded"
    assert "could not be checked (RecursionError)" in rows[0]["message"]


# --- stale signed verdicts ---------------------------------------------------------


def test_a_signed_verdict_of_an_earlier_version_is_rejected(tiny, tmp_path,  # noqa: F811
                                                           capsys):
    subs = tmp_path / "subs"
    shutil.copytree(tiny["subs"], subs)
    folder, key = tmp_path / "verdicts", tmp_path / "key"
    key.write_bytes(KEY)
    unit.write_record(folder / "00000.json", unit.sign(record_for(tiny, GOOD, 0), KEY))
    # bob.ipynb as it was when graded (all passed), then edited.
    earlier = record_for(tiny, "bob.ipynb", 1)
    earlier["sha256"] = unit.file_digest(subs, Path("bob.ipynb"), 2**20)
    unit.write_record(folder / "00001.json", unit.sign(earlier, KEY))
    with open(subs / "bob.ipynb", "a", encoding="utf-8") as handle:
        handle.write("\n")

    out = tmp_path / "report.csv"
    # Without the submissions folder, the signature alone cannot tell: refused.
    assert run_merge(tiny, folder, out, "--key-file", str(key)) == 2
    err = capsys.readouterr().err
    assert "--key-file needs --submissions" in err and "earlier version" in err
    assert not out.exists()

    code = run_merge(tiny, folder, out, "--key-file", str(key), "--submissions",
                     str(subs))
    assert code == 1
    statuses = {row["submission"]: row["status"] for row in read_csv(out)}
    assert statuses == {GOOD: "passed", "bob.ipynb": "not graded"}
    assert "other content than the file holds now" in capsys.readouterr().err


# --- names ------------------------------------------------------------------------


INVISIBLES = ["\u200b", "\u202e", "\u00ad", "\u200d", "\ufeff", "\u2060", "\u00a0",
              "\u3000", "\u2028", "\u2029", "\u034f", "\ufe0f", "\u3164", "\u115f",
              "\u2800", "\ue000", "\U000e0041", "\U0001d173", "\x00", "\x1b", "\x7f",
              "\x85", "\t", "\n", "\r", "\ud800"]


@pytest.mark.parametrize("char", INVISIBLES,
                         ids=[f"U+{ord(c):04X}" for c in INVISIBLES])
def test_invisible_characters_in_a_name_are_shown_escaped(char):
    shown = visible(f"ali{char}ce.ipynb")
    code = ord(char)
    escape = f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    assert shown == f"ali{escape}ce.ipynb"
    assert shown.isprintable() and shown.isascii()


def test_letters_accents_and_scripts_are_kept():
    for name in ["alice.ipynb", "José Müller/tp1.ipynb", "cafe\u0301.ipynb",
                 "Nguyễn/bài 1.ipynb", "Ngu\u0079\u0323\u0302n.ipynb",
                 "Алиса.ipynb", "王小明.ipynb", "مريم.ipynb", "a b.ipynb"]:
        assert visible(name) == name


def test_odd_combining_marks_are_escaped():
    assert visible("\u0301x.ipynb") == "\\u0301x.ipynb"  # nothing to sit on
    assert visible("a/\u0301b") == "a/\\u0301b"
    assert visible("e\u0301\u0302\u0303\u0304") == "e\u0301\u0302\\u0303\\u0304"


def test_no_two_names_are_shown_the_same():
    names = ["alice.ipynb", "ali\u200bce.ipynb", "ali\\u200bce.ipynb",
             "ali\\\u200bce.ipynb", "a\u202egnp.ipynb", "agnp.ipynb", "a\\b", "a\\\\b",
             "so\u00adft", "soft", "x\ud800", "x\\ud800"]
    shown = [visible(name) for name in names]
    assert len(set(shown)) == len(names)


def test_lookalike_names_are_grouped():
    names = ["alice.ipynb", "bob.ipynb", "ali\u200bce.ipynb", "alice.ipynb",
             unicodedata.normalize("NFD", "José.ipynb"), "José.ipynb",
             "\uff41lice.ipynb", "so\u00adft.ipynb", "soft.ipynb", "Alice.ipynb"]
    assert lookalikes(names) == [
        ["alice.ipynb", "ali\u200bce.ipynb", "\uff41lice.ipynb"],
        [unicodedata.normalize("NFD", "José.ipynb"), "José.ipynb"],
        ["so\u00adft.ipynb", "soft.ipynb"],
    ]
    assert lookalikes(["a.ipynb", "b.ipynb"]) == []


def class_rows() -> list[Row]:
    rows = []
    for name in ["alice.ipynb", "ali\u200bce.ipynb", "bob.ipynb"]:
        rows += [Row(name, "01_x", "Exercise 1: a", "passed"),
                 Row(name, "01_x", "Exercise 2: b", "failed", "wrong", "monkeypatch")]
    return rows + [Row("a\u202egnp.exe.ipynb", "", "", "invalid", "not JSON")]


def test_every_output_shows_names_escaped_and_flags_lookalikes(tmp_path):
    rows, warnings = flag_lookalikes(class_rows())
    assert len(warnings) == 1
    assert "alice.ipynb, ali\\u200bce.ipynb" in warnings[0]
    flags = {(row.submission, row.exercise): row.flags for row in rows}
    assert flags[("alice.ipynb", "Exercise 1: a")] == LOOKALIKE_FLAG
    assert flags[("ali\u200bce.ipynb", "Exercise 2: b")] == "monkeypatch;" + (
        LOOKALIKE_FLAG)
    assert flags[("bob.ipynb", "Exercise 1: a")] == ""
    assert flag_lookalikes(rows)[0] == rows  # flagged once

    write_csv(tmp_path / "r.csv", rows)
    table = read_csv(tmp_path / "r.csv")
    names = list(dict.fromkeys(row["submission"] for row in table))
    assert names == ["alice.ipynb", "ali\\u200bce.ipynb", "bob.ipynb",
                     "a\\u202egnp.exe.ipynb"]
    assert table[0]["flags"] == LOOKALIKE_FLAG

    text = summary(rows)
    assert "ali\\u200bce.ipynb" in text and "a\\u202egnp.exe.ipynb" in text
    assert "\u200b" not in text and "\u202e" not in text

    facts = Facts("abc", "2026-12-01", 4, {}, 1.0, "local").with_notes(warnings)
    page = render(rows, facts)
    assert "ali\\u200bce.ipynb" in page and "a\\u202egnp.exe.ipynb" in page
    assert "\u200b" not in page and "\u202e" not in page
    assert "look alike" in page

    line = grade.progress_line(1, 2, "ali\u200bce.ipynb", rows[:2], 3.0)
    assert line == "[1/2] ali\\u200bce.ipynb: 01_x, 1/2 passed (3 s)"


def test_merge_warns_about_lookalike_names(tiny, tmp_path, capsys):  # noqa: F811
    folder = tmp_path / "verdicts"
    unit.write_record(folder / "00000.json", record_for(tiny, GOOD, 0))
    other = copy.deepcopy(record_for(tiny, GOOD, 1))
    other["submission"] = "a\u200bda.ipynb"
    unit.write_record(folder / "00001.json", other)
    out = tmp_path / "report.csv"
    assert run_merge(tiny, folder, out) == 0  # a warning, not a rejection
    rows = read_csv(out)
    assert [row["submission"] for row in rows] == [GOOD] * 3 + ["a\\u200bda.ipynb"] * 3
    assert {row["flags"] for row in rows} == {LOOKALIKE_FLAG}
    err = capsys.readouterr().err
    assert "look alike" in err and "ada.ipynb, a\\u200bda.ipynb" in err
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "look alike" in page and "\u200b" not in page


def test_the_grader_warns_about_lookalike_names(tiny, tmp_path, capsys):  # noqa: F811
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ["alice.ipynb", "ali\u200bce.ipynb", "bob.ipynb"]:
        (subs / name).write_text("not a notebook")  # invalid: no kernel started
    out = tmp_path / "report.csv"
    code = grade.main([str(subs), "--out", str(out), "--course",
                       str(tiny["course_dir"]), "--no-sandbox", "--workers", "1",
                       "--quiet"])
    assert code == 0
    flags = {row["submission"]: row["flags"] for row in read_csv(out)}
    assert flags == {"alice.ipynb": LOOKALIKE_FLAG,
                     "ali\\u200bce.ipynb": LOOKALIKE_FLAG, "bob.ipynb": ""}
    captured = capsys.readouterr()
    assert "look alike" in captured.err and "ali\\u200bce.ipynb" in captured.err
    assert "\u200b" not in captured.out + captured.err
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "look alike" in page


def test_a_submission_to_grade_again_is_named_with_its_unit_index():
    from instructor.merge import rerun

    assert rerun(17) == ("re-run its unit: python -m instructor.grade_unit "
                         "SUBMISSIONS --index 17 --out VERDICTS/")
    assert rerun(None) == "re-run its unit"
