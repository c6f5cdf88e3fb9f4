"""What only instructors and maintainers run: grading, student versions, links.

Nothing here is installed in Colab or importable from a sandboxed grading kernel:
students install only ``course_utils``. Run the tools as modules, for example
``python -m instructor.grade submissions/ --out report.csv``.
"""
