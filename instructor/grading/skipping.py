"""Grading pays only for what it judges: course cells no judge needs are not run.

Most of a notebook's time goes to cells that teach by showing: training runs, their
curves, animations, widgets, comparisons over seeds. No check reads what they make,
so when a submission holds such a cell exactly as the course wrote it, the grader
leaves it out. A cell the student changed, even by one character, runs as written:
skipping can drop none of the student's code.

Which cells: the course tags them (``training`` or ``demonstration``, see
``course_utils.contract``), and the grader keeps a tag only when it is safe, that is
when no later cell that still runs reads a name the tagged cell defines (functions'
bodies included: a name they read at call time counts). A tagged cell that fails
this test simply runs; the repository's tests insist that every tag holds.

Cells are compared by their code with blank space ignored, so an editor's trailing
newline or re-indented blank line does not make a course cell run again.
"""

from __future__ import annotations

import ast
import symtable

from course_utils.contract import INSTRUMENTATION_TAG, SKIPPED_IN_GRADING_TAGS

SKIPPED_KEY = "course_skipped"  # marks a prepared cell left out by the grader


def code_key(source: str) -> str:
    """Code compared while ignoring blank space."""
    return " ".join(source.split())


def cell_source(cell) -> str:
    """A cell's source as one string (nbformat may leave a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def cell_tags(cell) -> list[str]:
    """A cell's tags (none when its metadata holds something else)."""
    tags = (cell.get("metadata") or {}).get("tags") or []
    return [tag for tag in tags if isinstance(tag, str)]


def defined_names(source: str) -> set[str]:
    """The top-level names a cell's code binds (functions, classes, assignments,
    imports, loop and ``with`` targets); empty when it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update((alias.asname or alias.name).split(".")[0]
                         for alias in node.names)
        else:
            found.update(name.id for name in ast.walk(node) if isinstance(
                name, ast.Name) and isinstance(name.ctx, ast.Store))
    return found


def read_names(source: str) -> set[str] | None:
    """The global names a cell's code reads, at its top level or inside its
    functions and classes (Python's ``symtable``: a function's own parameters and
    locals do not count); None when it does not parse (it might read anything)."""
    try:
        table = symtable.symtable(source, "<cell>", "exec")
    except (SyntaxError, ValueError):
        return None
    found: set[str] = set()
    scopes = [table]
    while scopes:
        scope = scopes.pop()
        top = scope.get_type() == "module"
        for symbol in scope.get_symbols():
            if symbol.is_referenced() and (top or symbol.is_global()):
                found.add(symbol.get_name())
        scopes.extend(scope.get_children())
    return found


def skippable_sources(cells) -> frozenset[str]:
    """The code of the course cells the grader may leave out (see the module).

    Args:
        cells: a course notebook's cells (the solution notebook).

    Returns:
        The ``code_key`` of each tagged cell whose names no running cell reads.
    """
    code = [(cell_source(cell), cell_tags(cell)) for cell in cells
            if cell.get("cell_type") == "code"
            and INSTRUMENTATION_TAG not in cell_tags(cell)]
    candidates = {index for index, (_, tags) in enumerate(code)
                  if SKIPPED_IN_GRADING_TAGS.intersection(tags)}
    changed = True
    while changed:  # dropping one candidate can make an earlier one needed
        changed = False
        for index in sorted(candidates):
            defined = defined_names(code[index][0])
            for later in range(index + 1, len(code)):
                if later in candidates:
                    continue
                reads = read_names(code[later][0])
                if reads is None or defined & reads:
                    candidates.discard(index)
                    changed = True
                    break
    return frozenset(code_key(code[index][0]) for index in candidates)


def unsafe_tags(cells) -> list[int]:
    """Indexes of tagged code cells that cannot be skipped (for the course's tests)."""
    keep = skippable_sources(cells)
    return [index for index, cell in enumerate(cells)
            if cell.get("cell_type") == "code"
            and SKIPPED_IN_GRADING_TAGS.intersection(cell_tags(cell))
            and code_key(cell_source(cell)) not in keep]


def leave_out(notebook, skippable: frozenset[str], protected: set[int]) -> list[int]:
    """Empty the prepared notebook's cells that are course cells no judge needs.

    Args:
        notebook: the prepared notebook (its cells are the grader's copies).
        skippable: ``skippable_sources`` of the course notebook.
        protected: indexes never left out (the exercise and check cells).

    Returns:
        The indexes of the cells left out (the worker skips empty cells).
    """
    left = []
    # A cell much longer than every skippable one is not one of them (and its
    # key would cost time on student bytes): it runs.
    longest = 4 * max((len(key) for key in skippable), default=0) + 1000
    for index, cell in enumerate(notebook.cells):
        if (index in protected or cell.get("cell_type") != "code"
                or len(cell_source(cell)) > longest
                or code_key(cell_source(cell)) not in skippable):
            continue
        cell.source = ""
        cell.metadata[SKIPPED_KEY] = True
        left.append(index)
    return left
