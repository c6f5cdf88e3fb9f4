"""Intake of submissions (issue 21, items 4 and 7): every hand-in gets a row, and
everything done on a submission's bytes before its kernel runs is linear and bounded.

The adversarial inputs took 10 s to minutes before (regular expressions that
backtrack quadratically over a long name or a long line of blanks; nbformat's work on
each of 100,000 cells); the bounds below are generous for a loaded 2-core machine and
far below the quadratic times.
"""

from __future__ import annotations

import io
import json
import stat
import time
import zipfile
from pathlib import Path

import jupytext
import pytest

from course_utils.contract import STUB_ERROR
from instructor import grade
from instructor.grading import course as course_model
from instructor.grading import flags, match, reading

ROOT = Path(__file__).resolve().parents[2]
STUDENT_01 = ROOT / "notebooks" / "student" / "01_actor_critic_cartpole.ipynb"
MB = 2**20
BOUND = 2.0  # seconds for 1 MB of one adversarial input, per function


@pytest.fixture(scope="module")
def course():
    return course_model.load_course(ROOT / "notebooks")


def code(source: str) -> dict:
    return {"cell_type": "code", "source": source, "metadata": {}, "outputs": [],
            "execution_count": None}


def markdown(source: str) -> dict:
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def notebook_bytes(cells: list[dict]) -> bytes:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": cells}).encode()


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


# --- linear time on adversarial text ------------------------------------------------

ADVERSARIAL = {
    "one long name": code("a" * MB),
    "blank space": code(" " * MB),
    "calls a(a(a(": code("a(" * (MB // 2)),
    "open brackets": code("(" * MB),
    "a dotted name": code("a." * (MB // 2)),
    "an attribute chain": code("np" + ".a" * (MB // 2)),
    "newlines": code("\n" * MB),
    "stub raises on one line": code(f"raise {STUB_ERROR}(" * (MB // 27)),
    "assignments": code("x=1\n" * (MB // 4)),
    "a long heading": markdown("# " + "a" * MB),
    "a heading with blanks": markdown("# a" + " " * MB + "b"),
    "a long exercise heading": markdown("### Exercise 1: " + "a" * MB),
    "an exercise heading with blanks": markdown("### Exercise 1: a" + " " * MB + "b"),
    "hashes": markdown("#" * MB),
    "blank lines": markdown("\n" * MB),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_each_step_is_linear_on_a_megabyte_of_adversarial_text(name, course):
    cell = ADVERSARIAL[name]
    cells = [markdown("# A title"), cell]
    data = notebook_bytes(cells)
    source = cell["source"]
    steps = {
        "read": lambda: reading.parse_notebook(data),
        "signals": lambda: match.signals(cells),
        "recognise": lambda: match.recognise(cells, "x.ipynb", course),
        "locate": lambda: [match.locate(cells, notebook) for notebook in course],
        "flags": lambda: flags.notebook_flags(cells),
        "has_stub": lambda: match.has_stub(source, "1"),
        "module_aliases": lambda: course_model.module_aliases(cells),
    }
    times = {step: timed(function) for step, function in steps.items()}
    slow = {step: round(seconds, 2) for step, seconds in times.items()
            if seconds > BOUND}
    assert not slow, slow


FLAGGED_TEXT = {  # just under the size flags scan, each also made not to parse
    "one long name": "a" * 99_000,
    "blank space": " " * 99_000,
    "calls a(a(a(": "a(" * 49_000,
    "open brackets": "(" * 99_000,
    "a dotted name": "a." * 49_000,
    "an attribute chain": "np" + ".a" * 49_000,
    "exec and blanks": "exec" + " " * 99_000,
    "open and blanks": ("open(" + " " * 20) * 3_900,
    "a magic with blanks": "%" + " " * 99_000 + "x",
    "a magic assigned": "a" * 99_000 + " = %x",
    "shell words": "!" + "nohup " * 16_000,
    "shell ampersands": "!" + "& " * 49_000 + "x",
    "help lines": " " * 99_000 + "a?",
    "path strings": "'/..' " * 16_000,
    "a bash cell": "%%bash\n" + "/.. " * 24_000,
}


@pytest.mark.parametrize("name", list(FLAGGED_TEXT))
def test_the_flag_scan_is_linear_whether_or_not_the_cell_parses(name):
    for source in (FLAGGED_TEXT[name], FLAGGED_TEXT[name] + "\n)"):
        assert len(source) <= flags.MAX_SCAN
        assert timed(flags.scan, [source]) < BOUND


def test_a_cell_too_large_or_too_deep_to_scan_is_flagged_not_scanned():
    assert flags.scan(["x = 1\n" * 20_000]) == (flags.UNSCANNED,)
    # An attribute chain deeper than the parser's recursion: no crash.
    assert flags.UNSCANNED in flags.scan(["np" + ".a" * 40_000])
    many = ["x = 1  # " + "." * 99_000] * 12  # past the scan's total budget
    assert flags.scan(many) == (flags.UNSCANNED,)
    assert flags.scan(["import os\nos.fork()"]) == (flags.PROCESSES,)


def test_100000_tiny_cells_are_refused_quickly_and_5000_read_quickly(course):
    tiny = "x = 1  # a tiny cell of code, forty chars"

    def notebook(count: int) -> bytes:
        cells = [{"cell_type": "code", "source": tiny, "metadata": {}, "outputs": []}
                 if i % 2 else markdown("a tiny markdown cell, of forty characters")
                 for i in range(count)]
        return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                           "cells": cells}, separators=(",", ":")).encode()

    start = time.perf_counter()
    with pytest.raises(reading.InvalidNotebook, match="more than 5,000 cells"):
        reading.parse_notebook(notebook(100_000))
    assert time.perf_counter() - start < 5
    start = time.perf_counter()
    read = reading.parse_notebook(notebook(reading.MAX_CELLS)).cells
    match.recognise(read, "x.ipynb", course)
    flags.notebook_flags(read)
    match.locate(read, course[0])
    # nbformat's per-cell work took ~50 s for 100,000 cells.
    assert time.perf_counter() - start < 5
    assert len(read) == reading.MAX_CELLS and read[1].source == tiny


def test_the_notebook_is_built_without_nbformat_but_as_nbformat_would(course):
    data = STUDENT_01.read_bytes()
    built = reading.parse_notebook(data)
    import nbformat

    reference = nbformat.reads(data.decode(), as_version=4)
    assert [(c.cell_type, c.source) for c in built.cells] == [
        (c.cell_type, c.source) for c in reference.cells]
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [{"cell_type": "heading", "level": 1, "source": "Title"},
                   {"cell_type": "code", "input": ["x = ", "1"], "outputs": []}]}]}
    cells = reading.notebook_from(v3).cells
    assert [(c.cell_type, c.source) for c in cells] == [("markdown", "# Title"),
                                                        ("code", "x = 1")]


# --- every hand-in gets a row ---------------------------------------------------------


def rows_of(folder: Path, course, max_bytes: int = 50 * MB) -> dict[str, tuple]:
    """``{name: (status, message, notebook)}`` of each submission found, read and
    recognised as ``grade_one`` does (no kernel: invalid rows and recognition)."""
    found = {}
    for submission in grade.find_submissions([str(folder)], max_bytes):
        try:
            cells = reading.read_submission(submission.root, submission.relative,
                                            max_bytes, submission.member).cells
        except reading.InvalidNotebook as error:
            found[submission.name] = ("invalid", str(error), "")
            continue
        notebook = match.recognise(cells, submission.filename, course)
        found[submission.name] = ("read", "", notebook.name if notebook else "")
    return found


def percent_script(path: Path = STUDENT_01) -> str:
    return jupytext.writes(jupytext.read(path), fmt="py:percent")


def test_every_kind_of_hand_in_gets_a_row_a_student_understands(tmp_path, course):
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    (subs / "alice" / "01.ipynb").write_bytes(STUDENT_01.read_bytes())
    (subs / "bob.py").write_text(percent_script())
    (subs / "carol.html").write_text("<html></html>")
    (subs / "dave.pdf").write_bytes(b"%PDF-1.4")
    (subs / "erin.py").write_text("import numpy\nprint(numpy.pi)\n")
    (subs / "frank.docx").write_bytes(b"PK\x03\x04")
    (subs / ".hidden.ipynb").write_text("{}")
    (subs / ".ipynb_checkpoints").mkdir()
    (subs / ".ipynb_checkpoints" / "01-checkpoint.ipynb").write_text("{}")
    rows = rows_of(subs, course)
    assert rows == {
        "alice/01.ipynb": ("read", "", "01_actor_critic_cartpole"),
        "bob.py": ("read", "", "01_actor_critic_cartpole"),
        "carol.html": ("invalid", "an HTML export: hand in the .ipynb file (File > "
                       "Download > .ipynb)", ""),
        "dave.pdf": ("invalid", "a PDF export: hand in the .ipynb file (File > "
                     "Download > .ipynb)", ""),
        "erin.py": ("invalid", "a Python script, not a notebook: hand in the .ipynb",
                    ""),
        "frank.docx": ("invalid", "not a notebook (.ipynb)", ""),
    }


def test_a_jupytext_script_is_graded_as_the_notebook_it_encodes(tmp_path, course):
    (tmp_path / "mine.py").write_text(percent_script())
    submission, = grade.find_submissions([str(tmp_path / "mine.py")])
    cells = reading.read_submission(submission.root, submission.relative, MB).cells
    notebook = match.recognise(cells, submission.filename, course)
    assert notebook is not None and notebook.name == "01_actor_critic_cartpole"
    located = match.locate(cells, notebook)
    assert all(where.exercise_cell is not None and where.check_cell is not None
               and where.stub_left for where in located.values())


def test_a_jupytext_header_and_cell_options_are_not_parsed():
    bomb = "# ---\n# jupyter:\n#   a: &a [1, 1]\n#   b: &b [*a, *a, *a]\n# ---\n"
    text = bomb + '# %% [markdown] {"tags": ["x"' + ", 1" * 10_000 + "]}\n# # Title\n"
    cells = reading.parse_script(text.encode()).cells
    assert [(c.cell_type, c.source) for c in cells] == [("markdown", "# Title")]


def test_a_jupytext_script_larger_than_a_notebook_is_refused_before_parsing():
    for text in ("# %%\n" + "x" * reading.PY_MAX_CHARS, "# %%\nx\n" * 20_000):
        start = time.perf_counter()
        with pytest.raises(reading.InvalidNotebook, match="larger than a notebook"):
            reading.parse_script(text.encode())
        assert time.perf_counter() - start < BOUND


def zip_of(members: dict[str, bytes], *, links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def test_each_notebook_in_a_zip_is_its_own_submission(tmp_path, course):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "grace.zip").write_bytes(zip_of({
        "work/01.ipynb": STUDENT_01.read_bytes(),
        "work/01.py": percent_script().encode(),
        "work/helper.py": b"x = 1\n",
        "work/data.csv": b"1,2\n",
        "__MACOSX/work/._01.ipynb": b"junk",
        "work/.ipynb_checkpoints/01-checkpoint.ipynb": b"{}",
    }))
    rows = rows_of(subs, course)
    assert rows == {
        "grace.zip/work/01.ipynb": ("read", "", "01_actor_critic_cartpole"),
        "grace.zip/work/01.py": ("read", "", "01_actor_critic_cartpole"),
        "grace.zip/work/helper.py": ("invalid", reading.NOT_PERCENT, ""),
    }
    member = next(s for s in grade.find_submissions([str(subs)])
                  if s.name == "grace.zip/work/01.ipynb")
    data = reading.submission_bytes(member.root, member.relative, MB, member.member)
    assert data == STUDENT_01.read_bytes()  # what the Dask path sends
    assert member.filename == "01.ipynb"


def refusal(tmp_path: Path, data: bytes, course, max_bytes: int = 50 * MB) -> str:
    subs = tmp_path / "subs"
    subs.mkdir(exist_ok=True)
    (subs / "x.zip").write_bytes(data)
    rows = rows_of(subs, course, max_bytes)
    assert list(rows) == ["x.zip"]  # one row for the archive, never a member
    status, message, _ = rows["x.zip"]
    assert status == "invalid"
    return message


@pytest.mark.parametrize("members, words", [
    ({"../evil.ipynb": b"{}"}, "outside the archive"),
    ({"/etc/evil.ipynb": b"{}"}, "outside the archive"),
    ({"a/../../evil.ipynb": b"{}"}, "outside the archive"),
    ({"inner.zip": b"PK"}, "another archive"),
    ({f"n{i}.ipynb": b"{}" for i in range(51)}, "more than 50 files"),
    ({"notes.txt": b"hello"}, "holding no notebook"),
    ({"bomb.ipynb": b"\0" * (20 * MB)}, "zip bomb"),
])
def test_a_dangerous_or_empty_zip_is_one_invalid_row(tmp_path, course, members, words):
    assert words in refusal(tmp_path, zip_of(members), course)


def test_a_zip_with_a_link_is_refused(tmp_path, course):
    data = zip_of({"a.ipynb": b"{}"}, links=("passwd.ipynb",))
    assert "a link" in refusal(tmp_path, data, course)


def test_a_zip_larger_unpacked_than_the_size_limit_is_refused(tmp_path, course):
    data = zip_of({"a.ipynb": b"\0" * (3 * MB // 4), "b.ipynb": b"\0" * (3 * MB // 4)})
    assert "unpacks to more than the 1 MB limit" in refusal(tmp_path, data, course, MB)


def test_a_file_that_is_not_a_zip_but_named_so_is_invalid(tmp_path, course):
    assert refusal(tmp_path, b"not a zip at all", course) == (
        "not a readable .zip archive")


def test_the_count_of_submissions_is_the_count_of_rows(tmp_path, course):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a.zip").write_bytes(zip_of({"1.ipynb": b"{}", "2.ipynb": b"{}"}))
    (subs / "b.zip").write_bytes(b"broken")
    (subs / "c.txt").write_text("x")
    found = grade.find_submissions([str(subs)])
    assert [s.name for s in found] == ["a.zip/1.ipynb", "a.zip/2.ipynb", "b.zip",
                                       "c.txt"]
    assert len(rows_of(subs, course)) == len(found)


def test_reading_keeps_one_copy_of_a_large_file_at_a_time(tmp_path):
    """The file's bytes are freed once decoded: the peak is the text plus its
    parsed cells (twice the file), not three copies."""
    import json
    import tracemalloc

    from instructor.grading.reading import read_submission

    size = 20 * 2**20
    cell = {"cell_type": "code", "source": "x" * size, "metadata": {},
            "outputs": [], "execution_count": None}
    path = tmp_path / "big.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                "cells": [cell]}), encoding="utf-8")
    tracemalloc.start()
    try:
        cells = read_submission(tmp_path, Path("big.ipynb"), 50 * 2**20).cells
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(cells[0]["source"]) == size
    assert peak < 2.1 * size, f"peak {peak / 2**20:.1f} MB for a 20 MB file"
