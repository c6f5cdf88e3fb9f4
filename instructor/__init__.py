"""What only instructors and maintainers run: grading, student versions, links.

Packaged beside ``course_utils`` (pure Python, nothing imported at install or import
time beyond the standard library), so that the ``course-grade``, ``course-merge`` and
``course-grade-unit`` commands work from any folder; never importable from a
sandboxed grading kernel, which sees only a probe-only view of ``course_utils``. Run
the tools as commands or as modules, for example
``python -m instructor.grade submissions/ --out report.csv``.
"""
