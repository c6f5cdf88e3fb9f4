"""Instructor and maintainer tooling: student versions, links, environment files.

Nothing here is imported by `import course_utils`; students never need it. It uses the
optional `instructor` dependencies (nbformat, jupytext, nbclient).
"""
