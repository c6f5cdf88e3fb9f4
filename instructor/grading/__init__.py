"""Instructor grading of student submissions, behind ``instructor.grade``.

- ``course``: reads notebooks and the course's exercises (heading, exercise cell, check)
- ``match``: recognises which course notebook a submission is, and locates its exercises
- ``runner`` and ``worker``: execute a submission in a fresh kernel, with limits
- ``verdict``: turns what ran into a status per exercise
- ``report``: the CSV, the summary table and the class pass rates
- ``html_report``: ``report.html``, what the class got wrong (Jinja2 template in
  ``templates/``, matplotlib charts)
- ``progress``: the progress bar (or lines) while grading
- ``unit``: one submission -> one verdict record (the unit of work), and the checks a
  verdict file from elsewhere must pass
- ``cluster``: the units on a Dask cluster (``--scheduler``)

Nothing here is imported by ``import course_utils``; nbformat, nbclient and psutil are
imported inside the functions that need them, so students never need them.
"""

from __future__ import annotations

import sys


def skip_slow_imports() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax`` (when nbformat loads).

    When installed, ``rfc3987_syntax`` builds a grammar at import time: 7-10 s on a
    busy 2-core machine, paid by the grader and by every worker. It only checks the
    "iri" string formats of JSON schemas, which the notebook schema does not use;
    jsonschema skips that check when the import fails.
    """
    sys.modules.setdefault("rfc3987_syntax", None)
