"""Each exercise's challenge, drawn from a secret of the grading run.

The challenge decides the cases a probe runs on and its judge rebuilds
(``course_utils.checks.challenge``). It is an HMAC of the submission's name, the
notebook and the exercise under the run's secret: unknown to the student before the
probe cell runs, different for every exercise, submission and run (a fresh secret is
drawn for every unit unless the instructor fixes one), and the same for the probe and
the judge of one unit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from course_utils.checks.challenge import MAX_CHALLENGE


def challenge_of(secret: bytes, submission: str, notebook: str, number: str) -> int:
    """The challenge of one exercise of one submission, in [0, 2**63)."""
    message = "\0".join((submission, notebook, number)).encode("utf-8", "replace")
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") & MAX_CHALLENGE


def challenges_for(secret: bytes | None, submission: str, course_notebook) -> dict:
    """Per exercise number of a course notebook, its challenge for a submission.

    Args:
        secret: the run's secret; a fresh random one when None.
        submission: the submission's name in the report.
        course_notebook: the ``course.CourseNotebook`` it was recognised as.

    Returns:
        ``{"1": challenge, ...}``.
    """
    key = secret if secret is not None else secrets.token_bytes(32)
    return {exercise.number: challenge_of(key, submission, course_notebook.name,
                                          exercise.number)
            for exercise in course_notebook.exercises}
