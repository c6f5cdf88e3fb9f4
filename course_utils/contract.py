"""The strings the course's notebooks, checks and instructor tools agree on.

Each is written here once and imported everywhere else (nbgrader keeps its markers as
settings of one class; this module plays that part). Nothing here imports anything
beyond the standard library, so the grader can read it without loading the course.
"""

from __future__ import annotations

import re

# --- exercises (nbgrader's convention)
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
# Markdown cells with this tag hold answers to questions asked in prose: the student
# version leaves them out.
SOLUTION_TAG = "solution"
# Cells with this tag are instrumentation for tests and benchmarks (recording results,
# asserting targets): nbval runs them; the student version and the lesson omit them.
INSTRUMENTATION_TAG = "instrumentation"
# Cells with these tags teach by showing (training runs, curves, animations, widgets,
# comparisons): no check reads what they make, so the grader leaves them out when a
# submission holds them unchanged (instructor/grading/skipping.py).
TRAINING_TAG = "training"
DEMONSTRATION_TAG = "demonstration"
SKIPPED_IN_GRADING_TAGS = frozenset({TRAINING_TAG, DEMONSTRATION_TAG})
EXERCISE_HEADING = re.compile(
    r"^#+\s*Exercise\s+(\d+[a-z]?)\s*[:.\-–]\s*(.+?)\s*$", re.M
)

# --- the stub that replaces a solution in the student version
STUB_ERROR = "NotImplementedError"
STUB_TEXT = "replace this line with your code, then run the check below."
# The stub's message names its exercise: "Exercise 2 (discounted returns): replace ..."
STUB_MESSAGE = re.compile(
    r"Exercise\s+(\d+[a-z]?)\s*(?:\([^)]*\))?:\s*replace this line"
)


def stub_message(exercise: str) -> str:
    """The message the stub of an exercise raises.

    Args:
        exercise: the exercise's name, e.g. ``"Exercise 2 (discounted returns)"``.

    Returns:
        ``"<exercise>: replace this line with your code, then run the check below."``
    """
    return f"{exercise}: {STUB_TEXT}"


# --- checks
SUCCESS_MARK = "✔"
# The MIME type of a check's probe output: plain data that the grader's judge reads.
PROBE_MIME = "application/vnd.course-probe+json"

# --- grading statuses
PASSED, FAILED, ERROR = "passed", "failed", "error"
NOT_ATTEMPTED, MISSING = "not attempted", "missing"
INVALID, UNRECOGNISED, NOT_GRADED = "invalid", "unrecognised", "not graded"
STATUSES = (
    PASSED, FAILED, ERROR, NOT_ATTEMPTED, MISSING, INVALID, UNRECOGNISED, NOT_GRADED
)

# --- environment variables
SEED_ENV_VAR = "COURSE_SEED"  # overrides a notebook's seed
RESULTS_ENV_VAR = "COURSE_RESULTS"  # a JSON-lines file that training runs append to
