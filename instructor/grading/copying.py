"""The ``copied-solution`` flag: exercise code that is the published solution.

The solution notebooks are public, so a submission can hold their code. The flag
compares each located exercise cell with the course's solution cell after
normalising what copying changes for free: formatting and comments (Python's ``ast``
drops them), docstrings, and the names of variables and parameters (renamed in order
of first appearance). Function and attribute names, literals and the structure of the
code must match. The flag never changes a verdict: it points the instructor at code
to read.

Bounded on student bytes: a cell longer than ``MAX_COMPARED`` characters, or nested
too deeply to parse, is not compared.
"""

from __future__ import annotations

import ast

# An exercise's solution is a few dozen lines (the course's longest code cell: 7,800
# characters): longer code is not the solution's, and is not parsed (ast takes about
# 0.15 s per 100,000 characters, on student bytes outside the sandbox's limits).
MAX_COMPARED = 20_000


class _Renamer(ast.NodeTransformer):
    """Variables and parameters renamed ``v0, v1, ...`` in order of appearance;
    docstrings removed."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def rename(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self.rename(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self.rename(node.arg)
        node.annotation = None
        return node

    def generic_visit(self, node: ast.AST) -> ast.AST:
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef,
                              ast.ClassDef)) and isinstance(body, list) and body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
        return super().generic_visit(node)


def code_shape(source: str) -> str | None:
    """Code with formatting, comments, docstrings and local names normalised;
    None when it is too long or does not parse."""
    if len(source) > MAX_COMPARED:
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    try:
        return ast.dump(_Renamer().visit(tree), annotate_fields=False,
                        include_attributes=False)
    except RecursionError:
        return None


def copied_exercises(cells, located: dict, course_notebook) -> list[str]:
    """The numbers of the exercises whose located cell is the solution's code.

    Args:
        cells: the submission's cells.
        located: ``match.locate``'s result (per exercise number, its cells).
        course_notebook: the ``course.CourseNotebook`` (its exercises carry the
            solution's ``solution_shape``).
    """
    from instructor.grading.course import source_of

    copied = []
    for exercise in course_notebook.exercises:
        where = located.get(exercise.number)
        if (where is None or where.exercise_cell is None
                or not exercise.solution_shape):
            continue
        shape = code_shape(source_of(cells[where.exercise_cell]))
        if shape is not None and shape in exercise.solution_shape:
            copied.append(exercise.number)
    return copied
