"""The grader's class report, report.html, opened in headless Chromium.

A small synthetic class (two notebooks, named mistakes, unnamed failures, errors, a
student whose file name is a script tag, an invalid file) is rendered with the
grader's own code; the page must open from disk with no console error, no request
beyond the file itself, its charts drawn, its status cells in place and opening to
their messages, and print to PDF. A screenshot and the PDF go to
``test-artifacts/browser/``.
"""

from __future__ import annotations

import pytest

from instructor.grading.html_report import Facts, write_html
from instructor.grading.report import Row

SCRIPT_NAME = "<script>alert(1)</script>.ipynb"
CARTPOLE, PENDULUM = "01_actor_critic_cartpole", "02_ddpg_pendulum"
RETURNS, LOSS = "Exercise 2: discounted returns", "Exercise 4: the losses"
BUFFER = "Exercise 1: the replay buffer"


def class_rows() -> list[Row]:
    """Five students of chapter 01, two of chapter 02, one unreadable file."""
    statuses = {
        "ada.ipynb": ("passed", "passed"),
        "bo.ipynb": ("failed", "passed"),
        "cy.ipynb": ("failed", "error"),
        SCRIPT_NAME: ("failed", "failed"),
        "dee.ipynb": ("not attempted", "missing"),
    }
    mistakes = {"bo.ipynb": "returns/no-discount", "cy.ipynb": "returns/no-discount",
                SCRIPT_NAME: "returns/reversed"}
    rows = []
    for name, (returns, loss) in statuses.items():
        rows.append(Row(name, CARTPOLE, RETURNS, returns, f"returns of {name}: "
                        f"{returns}", mistake=mistakes.get(name, "")))
        rows.append(Row(name, CARTPOLE, LOSS, loss, f"<b>loss</b> of {name}: {loss}",
                        "reference-call" if name == SCRIPT_NAME else ""))
    rows += [
        Row("eve.ipynb", PENDULUM, BUFFER, "passed", "the buffer works"),
        Row("fay.ipynb", PENDULUM, BUFFER, "failed", "sampled rows repeat",
            mistake="buffer/no-wrap"),
        Row("junk.ipynb", "", "", "invalid", "not valid JSON (line 1, column 2)"),
    ]
    return rows


FACTS = Facts(course_commit="0123456789ab", date="2026-11-30T12:00:00+00:00",
              submissions=8, limits={"time per cell": "120 s", "memory cap": "2048 MB"},
              seconds=480.0, mode="local pool, 2 worker(s)", sandbox="bubblewrap")


@pytest.fixture(scope="module")
def report(browser, artifacts, tmp_path_factory):
    """The report open in a page: (page, problems seen, URLs requested)."""
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_html(path, class_rows(), FACTS)
    page = browser.new_page()
    problems, requests = [], []
    page.on("console", lambda message: problems.append(
        f"console {message.type}: {message.text}")
        if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def dialog(box):
        problems.append(f"a dialog opened: {box.message}")
        box.dismiss()

    page.on("dialog", dialog)
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri(), wait_until="load")
    page.screenshot(path=str(artifacts / "class-report.png"), full_page=True)
    yield page, problems, requests, path
    page.close()


def test_the_report_opens_without_errors_or_network(report):
    page, problems, requests, path = report
    assert problems == []
    assert requests and all(url == path.as_uri() or url.startswith("data:")
                            for url in requests), requests


def test_the_charts_are_drawn(report):
    page = report[0]
    charts = page.locator("img.chart")
    assert charts.count() == 2  # one per notebook
    for index in range(2):
        size = charts.nth(index).evaluate(
            "i => [i.complete, i.naturalWidth, i.getBoundingClientRect().width]")
        assert size[0] and size[1] > 300 and size[2] > 300, size


def test_status_cells_show_their_messages(report):
    page = report[0]
    cells = page.locator("table.students td.status")
    assert cells.count() == 5 * 2 + 2
    failed = page.locator("table.students tr", has_text="bo.ipynb").locator(
        "td.s-failed")
    assert failed.count() == 1
    assert "returns/no-discount" in failed.get_attribute("title")
    message = failed.locator(".message")
    assert not message.is_visible()  # closed until clicked
    failed.locator("summary").click()
    assert message.is_visible()
    assert message.inner_text() == "returns of bo.ipynb: failed"
    colour = failed.evaluate("td => getComputedStyle(td).backgroundColor")
    assert colour == "rgb(215, 48, 39)"  # the failed colour


def test_the_most_frequent_mistake_is_named_per_exercise(report):
    page = report[0]
    row = page.locator("table.counts tr", has_text=RETURNS)
    assert "returns/no-discount (2)" in row.inner_text()
    top = page.locator("table.mistakes tr.top").first
    assert "returns/no-discount" in top.inner_text()


def test_a_script_in_a_file_name_stays_text(report):
    page = report[0]
    assert page.get_by_text(SCRIPT_NAME, exact=True).count() == 1
    assert page.locator("script").count() == 0
    assert page.locator("b").count() == 0  # "<b>loss</b>" from a message is text


def test_the_report_prints(report, artifacts):
    page = report[0]
    page.emulate_media(media="print")
    pdf = artifacts / "class-report.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    page.emulate_media(media="screen")
    assert pdf.stat().st_size > 10_000
