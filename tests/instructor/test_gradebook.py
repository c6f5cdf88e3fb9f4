"""The gradebook: the points file, grades.csv and the totals of report.html.

No kernel: the report's rows are made up, the course is a small made-up one (and the
real one where the points file of the repository is read).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from instructor import grade, merge
from instructor.grading import gradebook, html_report
from instructor.grading.course import CourseNotebook, Exercise, load_course
from instructor.grading.report import Row

ROOT = Path(__file__).resolve().parents[2]
NB1, NB2 = "01_cartpole", "02_pendulum"


def exercise(number: str, title: str) -> Exercise:
    return Exercise(number, title, (), frozenset(), "", frozenset())


COURSE = [
    CourseNotebook(NB1, "CartPole", (exercise("1", "network"),
                                     exercise("2", "returns"),
                                     exercise("3", "loss"))),
    CourseNotebook(NB2, "Pendulum", (exercise("1", "noise"),
                                     exercise("2b", "buffer"))),
]
E = {(nb.name, ex.number): ex.label for nb in COURSE for ex in nb.exercises}


def rows_of(submission: str, notebook: str, statuses: dict[str, str]) -> list[Row]:
    return [Row(submission, notebook, E[notebook, number], status)
            for number, status in statuses.items()]


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


# The points file ---------------------------------------------------------------


def test_without_a_points_table_every_exercise_is_worth_one():
    points = gradebook.parse_points("", COURSE)
    assert set(points.values()) == {1.0}
    assert list(points) == [(nb.name, ex.label) for nb in COURSE for ex in nb.exercises]
    assert gradebook.load_points(None, COURSE) == points


def test_points_by_notebook_number_or_name_by_exercise_or_whole_notebook():
    text = """
[repository]
url = "https://github.com/someone/course"

[points]
default = 2
"01" = { 3 = 5, 1 = 0.5 }
02_pendulum = 0
"""
    points = gradebook.parse_points(text, COURSE)
    assert points[NB1, E[NB1, "1"]] == 0.5
    assert points[NB1, E[NB1, "2"]] == 2
    assert points[NB1, E[NB1, "3"]] == 5
    assert points[NB2, E[NB2, "1"]] == points[NB2, E[NB2, "2b"]] == 0
    columns = gradebook.columns_of(COURSE, points)
    # A notebook worth 0 leaves the gradebook.
    assert [c.header for c in columns] == [
        "01 Exercise 1: network", "01 Exercise 2: returns", "01 Exercise 3: loss"]


@pytest.mark.parametrize(("text", "expected"), [
    ('[points]\n"04" = 1\n', "names notebook '04', which the course does not have "
     "(its notebooks: 01 (01_cartpole), 02 (02_pendulum))"),
    ('[points]\n"02" = { 2 = 1 }\n', "notebook 02_pendulum has no Exercise 2 "
     "(its exercises: 1, 2b)"),
    ('[points]\n"01" = { 1 = -1 }\n', "points must be a number >= 0, not -1"),
    ('[points]\n"01" = true\n', "points must be a number, not True"),
    ('[points]\ndefault = "one"\n', "points must be a number, not 'one'"),
    ('[points]\ndefault = nan\n', "points must be a number >= 0, not nan"),
    ('[point]\n"01" = 2\n', "unknown section(s) 'point'"),
    ("points = 3\n", "'points' must be a table"),
    ('[points]\n"01" = 1\n01_cartpole = 2\n', "names notebook 01_cartpole twice"),
    ("[points\n", "not valid TOML"),
])
def test_a_wrong_points_file_is_refused_with_a_clear_message(text, expected):
    with pytest.raises(gradebook.PointsError) as error:
        gradebook.parse_points(text, COURSE, "points.toml")
    assert str(error.value).startswith("points.toml")
    assert expected in str(error.value)


def test_a_course_elsewhere_uses_its_own_course_toml_or_one_point_each(tmp_path):
    (tmp_path / "course").mkdir()
    assert grade.points_file(None, tmp_path / "course") is None
    (tmp_path / "course.toml").write_text("[points]\ndefault = 2\n")
    assert grade.points_file(None, tmp_path / "course") == tmp_path / "course.toml"
    given = tmp_path / "mine.toml"
    assert grade.points_file(given, tmp_path / "course") == given


def test_an_unreadable_points_file_is_refused(tmp_path):
    with pytest.raises(gradebook.PointsError, match="cannot read the points file"):
        gradebook.load_points(tmp_path / "none.toml", COURSE)


def test_the_repository_points_file_fits_the_course():
    course = load_course(ROOT / "notebooks")
    assert gradebook.default_points_file(ROOT / "notebooks") == ROOT / "course.toml"
    assert grade.points_file(None, ROOT / "notebooks") == ROOT / "course.toml"
    points = gradebook.load_points(ROOT / "course.toml", course)
    assert len(points) == sum(len(nb.exercises) for nb in course)
    assert all(value > 0 for value in points.values())


# Students and grades.csv -------------------------------------------------------


@pytest.mark.parametrize(("path", "student"), [
    ("alice/01_cartpole.ipynb", "alice"),
    ("alice/week3/01_cartpole.ipynb", "alice"),
    ("alice.zip/01_cartpole.ipynb", "alice"),
    ("alice.ipynb", "alice"),
    ("bob_smith.py", "bob_smith"),
    ("alice\\01.ipynb", "alice"),
])
def test_a_student_is_the_top_folder_else_the_file_stem(path, student):
    assert gradebook.student_of(path) == student


def class_rows() -> list[Row]:
    return [
        # alice: a folder with both notebooks (one row, points of both).
        *rows_of("alice/01.ipynb", NB1, {"1": "passed", "2": "passed", "3": "failed"}),
        *rows_of("alice/02.ipynb", NB2, {"1": "passed", "2b": "error"}),
        # bob: one file, only passed earns (not attempted, missing earn nothing).
        *rows_of("bob.ipynb", NB1, {"1": "passed", "2": "not attempted",
                                    "3": "missing"}),
        # carol: her file could not be read.
        Row("carol/broken.ipynb", "", "", "invalid", "not valid JSON"),
    ]


def test_grades_csv_has_one_row_per_student_with_totals(tmp_path):
    points = gradebook.parse_points('[points]\n"01" = { 3 = 3 }\n', COURSE)
    book = gradebook.build(class_rows(), COURSE, points)
    path = tmp_path / "grades.csv"
    gradebook.write_grades(path, book)
    lines = read_csv(path)
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                      "01 Exercise 1: network", "01 Exercise 2: returns",
                      "01 Exercise 3: loss", "02 Exercise 1: noise",
                      "02 Exercise 2b: buffer", "Total", "Percent"]
    assert [line["Student"] for line in lines] == ["alice", "bob", "carol"]
    alice, bob, carol = lines
    assert alice["SIS Login ID"] == "alice" and alice["ID"] == alice["Section"] == ""
    assert [alice[h] for h in header[5:]] == ["1", "1", "0", "1", "0", "3", "42.9"]
    assert [bob[h] for h in header[5:]] == ["1", "0", "0", "0", "0", "1", "14.3"]
    assert [carol[h] for h in header[5:]] == ["0"] * 6 + ["0.0"]
    assert book.maximum == 7
    assert [g.ungraded for g in book.students] == [(), (), ("carol/broken.ipynb",)]
    assert book.by_notebook(book.students[0]) == [2, 1]
    assert "3 student(s), out of 7 points" in gradebook.summary_line(book)


def test_a_notebook_handed_in_twice_counts_each_exercise_once():
    rows = [*rows_of("dan/a.ipynb", NB1, {"1": "passed", "2": "failed", "3": "failed"}),
            *rows_of("dan/b.ipynb", NB1, {"1": "passed", "2": "passed", "3": "error"})]
    book = gradebook.build(rows, COURSE, gradebook.parse_points("", COURSE))
    (dan,) = book.students
    assert dan.total == 2 and dan.submissions == ("dan/a.ipynb", "dan/b.ipynb")
    assert book.warnings == ("dan handed in 01_cartpole 2 times (dan/a.ipynb, "
                             "dan/b.ipynb): an exercise passed in any of them counts "
                             "once",)


def test_fractional_points_are_written_as_a_spreadsheet_reads_them():
    assert [gradebook.points_text(v) for v in (3.0, 2.5, 1 / 3, 0.0)] == [
        "3", "2.5", "0.33", "0"]


def test_grades_csv_is_safe_to_open(tmp_path):
    names = ["=HYPERLINK(\"http://x\")/01.ipynb", "+cmd|' /C calc'!A0.ipynb",
             "@SUM(1)/01.ipynb", "-2+3.ipynb", "ev\x1b[31mil\u200b/01.ipynb",
             "\tx.ipynb"]
    rows = [row for name in names
            for row in rows_of(name, NB1, {"1": "passed", "2": "failed"})]
    book = gradebook.build(rows, COURSE, gradebook.parse_points("", COURSE))
    path = tmp_path / "grades.csv"
    gradebook.write_grades(path, book)
    text = path.read_text(encoding="utf-8")
    assert "\x1b" not in text and "\u200b" not in text and "\t" not in text
    for line in read_csv(path):
        for column in ("Student", "SIS Login ID"):
            cell = line[column]
            assert cell[0] not in "=+-@\t\r", cell
    students = [line["Student"] for line in read_csv(path)]
    assert students[0].startswith("'=HYPERLINK")
    # Invisible characters in a name are shown escaped, as in report.csv.
    assert "ev\\u001b[31mil\\u200b" in students


def test_grades_path_is_beside_the_report(tmp_path):
    assert gradebook.grades_path(tmp_path / "report.csv") == tmp_path / "grades.csv"
    week3 = gradebook.grades_path(tmp_path / "week3.csv")
    assert week3 == tmp_path / "week3-grades.csv"


def test_the_grader_reads_a_student_from_the_path_inside_the_folder(tmp_path):
    # A file named on the command line (subs/alice.ipynb) is alice, not "subs".
    submissions = [grade.Submission("subs/alice.ipynb", tmp_path, Path("alice.ipynb")),
                   grade.Submission("bob.zip/01.ipynb", tmp_path, Path("bob.zip"),
                                    "01.ipynb")]
    rows = [*rows_of("subs/alice.ipynb", NB1, {"1": "passed"}),
            *rows_of("bob.zip/01.ipynb", NB1, {"1": "failed"})]
    out = tmp_path / "report.csv"
    book, warnings = grade.write_gradebook(out, rows, COURSE,
                                           gradebook.parse_points("", COURSE),
                                           submissions)
    assert warnings == []
    assert [(g.student, g.total) for g in book.students] == [("alice", 1), ("bob", 0)]
    assert [line["Student"] for line in read_csv(tmp_path / "grades.csv")] == [
        "alice", "bob"]


def test_a_grades_csv_that_cannot_be_written_is_a_warning(tmp_path):
    (tmp_path / "grades.csv").mkdir()
    book, warnings = grade.write_gradebook(tmp_path / "report.csv", class_rows(),
                                           COURSE, gradebook.parse_points("", COURSE))
    assert book is None and "cannot write" in warnings[0]


# The commands --------------------------------------------------------------------


def test_the_grader_refuses_a_wrong_points_file_before_grading(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "alice.ipynb").write_text("{}")
    points = tmp_path / "points.toml"
    points.write_text('[points]\n"07" = 2\n')
    out = tmp_path / "report.csv"
    code = grade.main([str(tmp_path / "subs"), "--out", str(out), "--points",
                       str(points), "--quiet"])
    assert code == 2
    assert "names notebook '07', which the course does not have" in (
        capsys.readouterr().err)
    assert not out.exists() and not (tmp_path / "grades.csv").exists()


def test_merge_refuses_a_wrong_points_file(tmp_path, capsys):
    (tmp_path / "verdicts").mkdir()
    points = tmp_path / "points.toml"
    points.write_text('[points]\n"01" = { 99 = 1 }\n')
    code = merge.main([str(tmp_path / "verdicts"), "--out",
                       str(tmp_path / "report.csv"), "--points", str(points)])
    assert code == 2 and "has no Exercise 99" in capsys.readouterr().err


# report.html ----------------------------------------------------------------------


def test_report_html_shows_the_totals():
    rows = [*class_rows(),
            *rows_of("<script>alert(1)</script>/01.ipynb", NB1, {"1": "passed"})]
    book = gradebook.build(rows, COURSE, gradebook.parse_points("", COURSE))
    facts = html_report.Facts("abc", "2026-12-01T00:00:00+00:00", 4, {}, 1.0, "local")
    page = html_report.render(rows, facts, book)
    assert 'id="totals"' in page and "out of 5 points" in page
    assert "<th class=\"num\">Total (/5)</th>" in page
    alice = page.split('<td class="name">alice</td>')[1].split("</tr>")[0]
    assert '<td class="num">2</td><td class="num">1</td>' in alice  # per notebook
    assert '<td class="num total">3</td><td class="num">60.0%</td>' in alice
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    carol = page.split('<td class="name">carol</td>')[1].split("</tr>")[0]
    assert "carol/broken.ipynb" in carol  # not graded: says which file
    assert 'id="totals"' not in html_report.render(rows, facts)
