"""Turn what ran into one status per exercise, with a message in plain words.

Statuses:

- ``passed``: the course's check ran without error and printed its "✔ " line;
- ``failed``: the check raised ``CheckFailed`` (or another ``AssertionError``); the
  message is the check's;
- ``error``: anything else went wrong (an exception in the exercise or the check, a
  time limit, the memory cap, a dead kernel); the message is the exception's last line
  or what stopped the run;
- ``not attempted``: the exercise's stub still raises ``NotImplementedError``;
- ``missing``: the exercise's cell or its check cell was deleted.

Whole submissions that cannot be graded get one row with ``invalid`` (not a readable
notebook) or ``unrecognised`` (not a notebook of this course).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from course_utils.contract import (  # noqa: F401 (statuses re-exported)
    ERROR,
    FAILED,
    INVALID,
    MISSING,
    NOT_ATTEMPTED,
    NOT_GRADED,
    PASSED,
    STATUSES,
    STUB_MESSAGE,
    UNRECOGNISED,
)
from course_utils.contract import STUB_ERROR as STUB
from instructor.grading.course import Exercise
from instructor.grading.match import Located
from instructor.grading.runner import Limits, Outcome
from instructor.grading.worker import TIMEOUT_NAME

FAILURE_NAMES = ("CheckFailed", "AssertionError")
MESSAGE_LIMIT = 1000
EXERCISE_NAMED = re.compile(r"Exercise\s+(\d+[a-z]?)\b")


@dataclass(frozen=True)
class Verdict:
    """One exercise's status and message, and the typical mistake recognised."""

    status: str
    message: str = ""
    mistake: str = ""


def judge_probe(exercise: Exercise, check: dict, challenge: int | None = None
                ) -> Verdict:
    """The verdict on a check cell that ran: the course's judge, in this process.

    The student's kernel only handed over data (the probe's JSON); the comparison
    with the reference happens here, on the cases of ``challenge`` (drawn afresh for
    this submission, rebuilt here), so nothing the student's code did in its kernel
    (a printed ✔, patched checks or NumPy, rewritten cells, a payload recorded from
    the published solution) can make it pass: only outputs its code computed on
    inputs it could not know in advance can.
    """
    from course_utils.checks.core import (
        NOT_DONE,
        CheckFailed,
        find_check,
        judge_payload,
    )
    from course_utils.checks.plain import MalformedProbe

    if exercise.check_target is None:
        return Verdict(ERROR, "the course's check cell calls no check the grader can "
                       "judge (a problem of the course notebook, not the student's)")
    count = check.get("probe_count", 0)
    if count != 1:
        why = ("no data: the probe did not run to its end" if count == 0 else
               f"{count} sets of data where the check makes one (output forged by "
               "the submission's code?)")
        return Verdict(ERROR, f"the check produced {why}")
    try:
        check_object = find_check(*exercise.check_target)
        message = judge_payload(check_object, check.get("probe") or "", challenge)
    except CheckFailed as failure:
        if failure.mistake == NOT_DONE:
            others = set(STUB_MESSAGE.findall(str(failure))) - {exercise.number}
            if others:  # the student's code called another exercise's stub
                return Verdict(ERROR, f"needs Exercise {min(others)}, which is not "
                               f"done: {shorten(str(failure), 300)}")
            return Verdict(NOT_ATTEMPTED, shorten(str(failure)), NOT_DONE)
        return Verdict(FAILED, shorten(str(failure)), failure.mistake or "")
    except MalformedProbe as error:
        return Verdict(ERROR, f"the check's data is malformed ({error}): tampered "
                       "with by the submission's code?")
    except Exception as error:  # a judge must never crash the grader
        return Verdict(ERROR, f"the grader's judge failed: {type(error).__name__}")
    return Verdict(PASSED, shorten(message, 300))


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Strip a message and cut it to ``limit`` characters."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def last_line(result: dict) -> str:
    """An exception as its traceback's last line: ``Name: first line of message``."""
    lines = str(result.get("evalue", "")).strip().splitlines()
    name = result.get("ename", "") or "Error"
    return shorten(f"{name}: {lines[0]}" if lines else name, 300)


def stub_raised(result: dict | None, number: str, stub_left: bool) -> bool:
    """Whether a cell's error is this exercise's stub still raising.

    The stub's message names its exercise ("Exercise 2 (title): replace this
    line..."), which may be another exercise this one depends on; without the stub's
    message, any exercise named counts (a check's "Exercise 2 is not done yet"), and an
    unnamed ``NotImplementedError`` counts when the exercise cell still holds the stub.
    """
    if not result or result.get("status") != "error":
        return False
    text = f"{result.get('ename', '')}: {result.get('evalue', '')}"
    if STUB not in text:
        return False
    value = str(result.get("evalue", ""))
    named = STUB_MESSAGE.findall(value) or EXERCISE_NAMED.findall(value)
    return number in named if named else stub_left


def other_stub(result: dict | None, number: str) -> str | None:
    """Another exercise whose stub raised in a cell, if any (a dependency not done)."""
    if not result or result.get("status") != "error":
        return None
    others = set(STUB_MESSAGE.findall(str(result.get("evalue", "")))) - {number}
    return min(others) if others else None


def not_reached(outcome: Outcome, limits: Limits) -> Verdict:
    """The error for a check that never ran, from how the run ended."""
    number = "?" if outcome.last_cell is None else str(outcome.last_cell + 1)
    cell = "" if outcome.last_cell is None else f" in cell {number}"
    reasons = {
        "timeout": f"the notebook ran over its time limit ({limits.notebook_timeout:g}"
        f" s){cell} and was stopped before this check",
        "memory": f"the notebook used {outcome.peak_mb:.0f} MB, over the memory cap "
        f"({limits.memory_mb:g} MB){cell}, and was stopped before this check",
        "kernel_died": f"the kernel died{cell} (a crash, os._exit or exit()) "
        "before this check",
        "stuck": f"the notebook was stopped: cell {number} ran over the "
        f"time limit per cell ({limits.cell_timeout:g} s) and ignored the interrupt",
        "crash": f"the notebook could not be run: {outcome.detail}",
        "cancelled": "grading was interrupted",
    }
    return Verdict(ERROR, reasons.get(outcome.end, "the check did not run"))


def check_error(check: dict, exercise_result: dict | None) -> Verdict:
    """The verdict for a check cell that raised something other than a stub."""
    name = check.get("ename", "")
    if name in FAILURE_NAMES or name.endswith("CheckFailed"):
        return Verdict(FAILED, shorten(str(check.get("evalue", ""))) or name)
    if name == TIMEOUT_NAME:
        return Verdict(ERROR, f"the check {check.get('evalue', 'timed out')}")
    if exercise_result and exercise_result.get("status") == "error":
        return Verdict(ERROR, f"in the exercise cell: {last_line(exercise_result)}")
    return Verdict(ERROR, last_line(check))


def judge(exercise: Exercise, where: Located, outcome: Outcome, limits: Limits,
          challenge: int | None = None):
    """The verdict for one exercise of a submission that ran.

    Args:
        exercise: the course's exercise.
        where: where its cells are in the submission.
        outcome: what happened when the submission ran.
        limits: the limits it ran under (for messages).
        challenge: the challenge its probe ran under (``match.prepare``); None for
            the fixed cases of the notebook.

    Returns:
        A ``Verdict``.
    """
    if where.exercise_cell is None:
        return Verdict(MISSING, "the exercise's code cell was deleted")
    if where.check_cell is None:
        calls = ", ".join(sorted(exercise.check_calls))
        return Verdict(MISSING, f"the exercise's check cell was deleted (no cell "
                       f"calls {calls} any more)")
    check = outcome.results.get(where.check_cell)
    mine = outcome.results.get(where.exercise_cell)
    if check is None:
        if stub_raised(mine, exercise.number, where.stub_left):
            return Verdict(NOT_ATTEMPTED, last_line(mine))
        return not_reached(outcome, limits)
    if stub_raised(mine, exercise.number, where.stub_left):
        # The exercise's own cell still ends in its stub: whatever data a probe
        # handed over (code elsewhere, or a forgery), this exercise was not written
        # where it is asked for.
        return Verdict(NOT_ATTEMPTED, last_line(mine))
    if check.get("status") == "ok":
        return judge_probe(exercise, check, challenge)
    for result in (mine, check):
        if stub_raised(result, exercise.number, where.stub_left):
            return Verdict(NOT_ATTEMPTED, last_line(result))
    needed = other_stub(check, exercise.number)
    if needed is not None:
        return Verdict(ERROR, f"needs Exercise {needed}, which is not done: "
                       f"{last_line(check)}")
    result = check_error(check, mine)
    knock_on = result.status == ERROR and check.get("ename") != TIMEOUT_NAME
    if knock_on and where.stub_left and mine and mine.get("status") == "ok":
        # The stub sits in a function that a cell between the exercise and its check
        # calls (Exercise 5 of notebook 01 trains with it): that cell raised, so the
        # check fails on a name it never defined. The student has not written it.
        # (A check that FAILED a half-written exercise keeps its verdict.)
        return Verdict(NOT_ATTEMPTED, f"the exercise still holds its stub "
                       f"(raise {STUB}); its check then raised {last_line(check)}")
    return result
