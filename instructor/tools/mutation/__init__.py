"""Mutation testing of the exercise checks (``make test-mutation``).

A check is only as good as the wrong answers it rejects. This package measures that,
per exercise of the solution notebooks:

- :mod:`.extract` writes each exercise's solution as a module and its check cell
  as a test (``build/mutation/``);
- :mod:`.tool` runs mutmut on them (a mutant is killed when the check fails) and
  reads its verdicts; survivors must be listed, with a reason, in
  ``tests/mutation/equivalent.toml``;
- :mod:`.catalogue` runs the typical wrong answers of
  ``tests/mutation/mistakes/<exercise>.py`` against the checks;
- :mod:`.report` prints the score table.

Usage::

    python -m instructor.tools.mutation extract       # build/mutation only
    python -m instructor.tools.mutation run           # everything, then the table
    python -m instructor.tools.mutation run --only ch02_ex2 --skip-tool
"""
