"""The class report, report.html (no kernel: rows are made up).

The page must be self-contained (nothing fetched to open it), escape everything a
student wrote, stay small for a class, and put the right mistake on top of each
exercise.
"""

from __future__ import annotations

import re

import pytest

from instructor.grading import html_report
from instructor.grading.report import Row

SCRIPT_NAME = "<script>alert(1)</script>.ipynb"
FACTS = html_report.Facts(
    course_commit="abc123def456", date="2026-11-30T12:00:00+00:00", submissions=3,
    limits={"time per cell": "120 s", "memory cap": "2048 MB"}, seconds=95.0,
    mode="local pool, 2 worker(s)", sandbox="bubblewrap 0.8.0",
)
EX1, EX2 = "Exercise 1: returns", "Exercise 2: loss"


def class_rows() -> list[Row]:
    """Three students, two exercises, a mistake twice, an unnamed failure twice."""
    return [
        Row("ada.ipynb", "01_x", EX1, "failed", "returns: got 3.5, expected 4",
            mistake="returns/no-discount"),
        Row("ada.ipynb", "01_x", EX2, "passed", "loss works"),
        Row(SCRIPT_NAME, "01_x", EX1, "failed", "returns: got 1.25, expected 4",
            "reference-call", mistake="returns/no-discount"),
        Row(SCRIPT_NAME, "01_x", EX2, "failed", "<b>loss</b> off by 2",
            "reference-call"),
        Row("cy.ipynb", "01_x", EX1, "failed", "returns: reversed",
            mistake="returns/reversed"),
        Row("cy.ipynb", "01_x", EX2, "failed", "<b>loss</b> off by 7"),
        Row("<img src=x onerror=alert(2)>.ipynb", "", "", "invalid",
            "not valid JSON (line 1, column 2)"),
    ]


@pytest.fixture(scope="module")
def page() -> str:
    """The report of ``class_rows``, rendered once."""
    return html_report.render(class_rows(), FACTS)


def test_student_text_is_escaped_and_nothing_can_run(page):
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<b>loss</b>" not in page and "&lt;b&gt;loss&lt;/b&gt;" in page
    assert "<script" not in page.lower()
    # Defence in depth: the page forbids scripts and every resource but inline data.
    assert "default-src 'none'; img-src data:; style-src 'unsafe-inline'" in page


def test_the_page_needs_no_network(page):
    sources = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page)
    assert sources and all(source.startswith("data:image/svg+xml;base64,")
                           for source in sources), sources
    assert not re.search(r"url\(|@import|https?://", page)


def test_most_frequent_mistake_is_on_top_of_its_exercise(page):
    notebooks, ungraded = html_report.summarise(class_rows())
    (notebook,) = notebooks
    first, second = notebook.exercises
    assert first.top_mistake.key == "returns/no-discount"
    assert (first.top_mistake.count, first.mistakes[1].key) == (2, "returns/reversed")
    assert first.top_mistake.example == "returns: got 3.5, expected 4"
    assert first.counts == {"passed": 0, "failed": 3, "error": 0, "not attempted": 0,
                            "missing": 0}
    # Unnamed failures group once their numbers are folded.
    assert [(g.key, g.count) for g in second.unnamed] == [("<b>loss</b> off by #", 2)]
    assert second.top_mistake is None
    assert [row.status for row in ungraded] == ["invalid"]
    row = re.search(r"<tr><td>Exercise 1: returns</td>.*?</tr>", page, re.S).group()
    assert "returns/no-discount</span> (2)" in row and "reversed" not in row


def test_tied_mistakes_are_all_named_on_top():
    rows = [Row(f"s{i}.ipynb", "01_x", EX1, "failed", "m", mistake=mistake)
            for i, mistake in enumerate(["b/two", "a/one", "b/two", "a/one", "c/x"])]
    page = html_report.render(rows, FACTS)
    row = re.search(r"<tr><td>Exercise 1: returns</td>.*?</tr>", page, re.S).group()
    assert "a/one</span> (2), " in row and "b/two</span> (2)" in row
    assert "c/x" not in row
    assert page.count('<tr class="top">') == 2


def test_facts_are_stated(page):
    for fact in ("abc123def456", "2026-11-30T12:00:00+00:00", "95 s", "1.6 min",
                 "local pool, 2 worker(s)", "time per cell: 120 s", "bubblewrap 0.8.0"):
        assert fact in page, fact


def test_each_status_shows_its_message(page):
    cells = re.findall(r'<td class="status (s-[a-z-]+)" title="([^"]*)">', page)
    assert len(cells) == 6
    assert ("s-failed", "failed (returns/reversed): returns: reversed") in cells
    assert ("s-passed", "passed: loss works") in cells


def test_a_class_of_30_stays_under_2_mb():
    rows = []
    statuses = ["passed", "failed", "error", "not attempted", "missing"]
    for student in range(30):
        for notebook in ("01_actor_critic_cartpole", "02_ddpg_pendulum"):
            for exercise in range(1, 8):
                status = statuses[(student + exercise) % 5]
                rows.append(Row(f"student_{student:02d}/{notebook}.ipynb", notebook,
                                f"Exercise {exercise}: part {exercise}", status,
                                f"message {student} " + "x" * 990, "flag",
                                mistake=f"ex{exercise}/m{student % 4}"
                                if status == "failed" else ""))
    page = html_report.render(rows, FACTS)
    assert len(page.encode()) < 2 * 2**20, len(page.encode())


def test_the_template_is_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "report.html"
    html_report.write_html(out, class_rows(), FACTS)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("csv_name, html_name", [("report.csv", "report.html"),
                                                 ("report.html", "report-class.html"),
                                                 ("grades", "grades.html")])
def test_html_path_is_beside_the_csv(tmp_path, csv_name, html_name):
    assert html_report.html_path(tmp_path / csv_name) == tmp_path / html_name


def test_limits_from_a_verdict_file_are_shown_in_words():
    shown = html_report.limits_shown({"cell_timeout": 120.0, "memory_mb": 2048,
                                      "sandbox": False, "kernel": "x" * 500,
                                      "unknown": "ignored"})
    assert shown == {"time per cell": "120 s", "memory cap": "2048 MB",
                     "kernel": "x" * 100, "sandbox": "off (--no-sandbox)"}
    assert html_report.limits_shown(["not", "a", "dict"]) == {}


def test_a_failure_to_draw_the_page_is_reported_not_raised(tmp_path, monkeypatch):
    def broken(rows, facts):
        raise ValueError("no chart today")

    monkeypatch.setattr(html_report, "render", broken)
    problem = html_report.try_write_html(tmp_path / "report.html", class_rows(), FACTS)
    assert "ValueError: no chart today" in problem and "CSV is complete" in problem
    assert not (tmp_path / "report.html").exists()
