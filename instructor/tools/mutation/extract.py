"""Each exercise of the solution notebooks as a module and a test, for mutmut.

An exercise becomes ``build/mutation/src/chNN_exN.py``: its cell (the function or
class the student writes, solution markers kept) with, above it, the few statements
of earlier cells it needs (imports, constants, functions of earlier exercises),
found by Python's own scope analysis. Only the lines between the markers may be
mutated: every other line of the student's function carries ``# pragma: no
mutate`` (mutmut's pragma), a function it merely needs (or a method given complete,
such as a constructor) ``# pragma: no mutate block``. Beside it,
``build/mutation/tests/test_chNN_exN.py`` holds the exercise's check cell as the
body of one test: it passes if and only if the check passes.
"""

from __future__ import annotations

import ast
import builtins
import io
import symtable
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from instructor.grading.course import has_markers, pick_check, sections, source_of
from instructor.tools.student import BEGIN, END, solution_notebooks

BUILD = Path("build") / "mutation"
PRAGMA = "# pragma: no mutate"
BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "display"}


class ExtractionError(ValueError):
    """An exercise that cannot be turned into a module (a name it needs is missing)."""


# --------------------------------------------------------------------------------------
# Reading the notebooks
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Statement:
    """One top-level statement of a notebook's code cell.

    Attributes:
        position: ``(cell index, statement index)``: notebook order.
        source: its source text, as written.
        binds: the names it binds (imports, assignments to names, def, class).
        needs: the global names it reads without binding them itself.
        touches: names whose object it changes without rebinding them
            (``experiment[name] = ...``, ``log.x = ...``, ``total += 1`` inside a
            loop): the object's state at a later point depends on it.
        exercise: True when solution markers touch it (the student writes it).
        whole: True when it lies entirely between markers at the cell's top level
            (all of it is the student's: every line may be mutated).
    """

    position: tuple[int, int]
    source: str
    binds: frozenset[str]
    needs: frozenset[str]
    touches: frozenset[str] = frozenset()
    exercise: bool = False
    whole: bool = False

    @property
    def is_definition(self) -> bool:
        """A function or class: its body runs later, so mutmut may mutate it."""
        return self.source.lstrip().startswith(("def ", "class ", "async def ", "@"))


@dataclass(frozen=True)
class Exercise:
    """One exercise, ready to be written as a module and a test.

    Attributes:
        chapter: the notebook's number, e.g. ``"01"``.
        number: the exercise's number, e.g. ``"2"``.
        title: its heading's title.
        notebook: the solution notebook's source path.
        statements: the exercise's own statements (holding markers), in order.
        context: the statements it needs from the notebook, in order.
        check: the check cell's source.
        check_context: the statements the check cell needs that the module does
            not hold, in order.
        from_module: the names the check cell (and its context) take from the
            module.
    """

    chapter: str
    number: str
    title: str
    notebook: Path
    statements: tuple[Statement, ...]
    context: tuple[Statement, ...]
    check: str
    check_context: tuple[Statement, ...] = field(default=())
    from_module: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        """The module's name: ``ch01_ex2``."""
        return f"ch{self.chapter}_ex{self.number}"

    @property
    def defines(self) -> tuple[str, ...]:
        """The names the student's code defines (``discounted_returns``)."""
        return tuple(sorted(set().union(*(s.binds for s in self.statements))))

    @property
    def label(self) -> str:
        """``chapter 01, Exercise 2 (discounted returns)``."""
        return f"chapter {self.chapter}, Exercise {self.number} ({self.title})"


def global_reads(source: str) -> frozenset[str]:
    """The global names some code reads without binding them at its top level.

    Uses Python's own scope analysis (``symtable``): a name local to a function, a
    comprehension or a class body is never mistaken for a notebook variable.

    Args:
        source: a cell, a statement or a function's source.

    Returns:
        Names that must come from elsewhere (builtins excluded).
    """
    table = symtable.symtable(source, "<cell>", "exec")
    bound = set()
    reads = set()
    for symbol in table.get_symbols():
        if symbol.is_assigned() or symbol.is_imported():
            bound.add(symbol.get_name())
        elif symbol.is_referenced():
            reads.add(symbol.get_name())
    pending = list(table.get_children())
    while pending:
        child = pending.pop()
        pending.extend(child.get_children())
        for symbol in child.get_symbols():
            if symbol.is_global() and symbol.is_referenced():
                reads.add(symbol.get_name())
    return frozenset(reads - bound - BUILTINS)


def bound_names(node: ast.stmt) -> frozenset[str]:
    """Names a top-level statement binds, for the kinds that can provide a name.

    Imports, assignments to plain names (tuples of names too), functions and
    classes. A name bound only by a ``for`` loop or a ``with`` is no notebook
    constant: it provides nothing.
    """
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return frozenset(
            (alias.asname or alias.name).split(".")[0] for alias in node.names
        )
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return frozenset({node.name})
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    names = set()
    while targets:
        target = targets.pop()
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            targets.extend(target.elts)
    return frozenset(names)


def changed_names(node: ast.stmt) -> frozenset[str]:
    """Names whose object a top-level statement changes in place.

    Assignments to ``name[...]`` or ``name.attr`` and augmented assignments, at any
    depth of the statement but outside the functions and classes it defines (their
    bodies run later, when called).
    """
    names = set()
    pending: list[ast.AST] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                ast.Lambda)):
            continue
        targets: list[ast.expr] = []
        if isinstance(current, ast.Assign):
            targets = list(current.targets)
        elif isinstance(current, (ast.AugAssign, ast.AnnAssign)):
            targets = [current.target]
        for target in targets:
            while isinstance(target, (ast.Subscript, ast.Attribute)):
                target = target.value
                if isinstance(target, ast.Name):
                    names.add(target.id)
            if isinstance(current, ast.AugAssign) and isinstance(target, ast.Name):
                names.add(target.id)
        pending.extend(ast.iter_child_nodes(current))
    return frozenset(names)


def cell_statements(source: str, cell: int) -> list[Statement]:
    """The top-level statements of a code cell (empty when it does not parse).

    Cells holding IPython magics or shell escapes are skipped: no exercise needs them.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines(keepends=True)
    # Markers may sit inside a function (the usual case) or around whole
    # statements at the cell's top level (an exercise that defines several names).
    ranges = _marker_ranges(source.splitlines())
    statements = []
    for index, node in enumerate(tree.body):
        decorators = getattr(node, "decorator_list", [])
        first = min([node.lineno] + [d.lineno for d in decorators])
        last = node.end_lineno
        # A block's last lines may be indented comments, such as ``### END
        # SOLUTION``: the syntax tree leaves them out, the statement keeps them.
        while last < len(lines) and (
            not lines[last].strip()
            or (lines[last][:1].isspace() and lines[last].strip().startswith("#"))
        ):
            last += 1
        text = "".join(lines[first - 1 : last]).rstrip() + "\n"
        statements.append(
            Statement(
                position=(cell, index),
                source=text,
                binds=bound_names(node),
                needs=global_reads(text),
                touches=changed_names(node) - bound_names(node),
                exercise=any(
                    start <= last and end >= first for start, end in ranges
                ),
                whole=any(start < first and last < end for start, end in ranges),
            )
        )
    return statements


def resolve(
    needs: frozenset[str], before: tuple[int, int], statements: list[Statement]
) -> list[Statement]:
    """The statements that provide some names, and what those need, in order.

    A name comes from the last statement before ``before`` that binds it, plus the
    statements after that one which change its object in place (a loop filling a
    dict). What those statements need is resolved the same way: before the
    statement itself, except for a function's or class's body, which runs when
    called, so its names may come from later (up to ``before``).

    Raises:
        ExtractionError: a name that no earlier statement provides.
    """
    chosen: dict[tuple[int, int], Statement] = {}
    pending = [(name, before) for name in sorted(needs)]
    while pending:
        name, limit = pending.pop()
        providers = [
            s for s in statements if s.position < limit and name in s.binds
        ]
        if not providers:
            raise ExtractionError(
                f"no statement before cell {limit[0] + 1} provides {name!r} (an "
                "import, an assignment, a def or a class)"
            )
        provider = providers[-1]
        changers = [
            s for s in statements
            if provider.position < s.position < limit and name in s.touches
        ]
        for statement in [provider, *changers]:
            if statement.position in chosen:
                continue
            chosen[statement.position] = statement
            later = limit if statement.is_definition else statement.position
            pending.extend((need, later) for need in statement.needs)
    return [chosen[position] for position in sorted(chosen)]


def read_exercises(path: Path) -> tuple[list[Exercise], list[str]]:
    """Every exercise of a solution notebook, with what it and its check need.

    Args:
        path: a solution source, ``notebooks/NN_*.py`` (jupytext percent format).

    Returns:
        ``(exercises, problems)``: the exercises that could be extracted, in
        notebook order, and one line per exercise that could not (a name it
        needs that no earlier statement provides, no check cell...).
    """
    import jupytext

    cells = jupytext.read(path, fmt="py:percent").cells
    index_of = {id(cell): i for i, cell in enumerate(cells)}
    every = [
        statement
        for i, cell in enumerate(cells)
        if cell.get("cell_type") == "code"
        for statement in cell_statements(source_of(cell), i)
    ]
    exercises, problems = [], []
    for (number, title), section in sections(cells):
        marked = [cell for cell in section if has_markers(cell)]
        if not marked:
            continue
        try:
            exercises.append(
                _exercise(path, number, title, section, marked, index_of, every)
            )
        except ExtractionError as error:
            problems.append(f"{path.name}, Exercise {number}: {error}")
    return exercises, problems


def _exercise(path, number, title, section, marked, index_of, every) -> Exercise:
    """One exercise: its statements, what they need, its check and what that needs.

    Raises:
        ExtractionError: no statement between the markers, a name that no earlier
            statement provides, or no check cell after the exercise.
    """
    indices = {index_of[id(cell)] for cell in marked}
    own = [s for s in every if s.position[0] in indices and s.exercise]
    if not own:
        raise ExtractionError("solution markers around no statement")
    # Each statement's names come from before it: an exercise split over two cells
    # may need what a cell between them computes (and that may need the first).
    mine = {s.position for s in own}
    context: dict[tuple[int, int], Statement] = {}
    for statement in own:
        for found in resolve(statement.needs, statement.position, every):
            if found.position not in mine:
                context[found.position] = found
    after = [c for c in section[section.index(marked[-1]) + 1 :]
             if c.get("cell_type") == "code"]
    check = pick_check(after)
    if check is None:
        raise ExtractionError("no check cell after the exercise")
    check_cell = index_of[id(next(c for c in after if source_of(c) == check))]
    # The check cell takes from the module what the module computes (running it
    # again would, for an experiment, train everything twice).
    module = mine | set(context)
    try:
        check_context = [
            s for s in resolve(global_reads(check), (check_cell, 0), every)
            if s.position not in module
        ]
    except ExtractionError as error:
        raise ExtractionError(f"check cell: {error}") from None
    module_names = frozenset().union(
        *(s.binds for s in own), *(s.binds for s in context.values())
    )
    wanted = frozenset().union(global_reads(check), *(s.needs for s in check_context))
    from_module = (wanted & module_names) - frozenset().union(
        *(s.binds for s in check_context)
    )
    return Exercise(
        path.stem[:2], number, title.rstrip("."), path, tuple(own),
        tuple(context[p] for p in sorted(context)), check, tuple(check_context),
        tuple(sorted(from_module)),
    )


def course_exercises(root: Path) -> tuple[list[Exercise], list[str]]:
    """Every exercise of every solution notebook under ``root``, in order.

    Returns:
        ``(exercises, problems)`` as :func:`read_exercises` gives them.
    """
    exercises, problems = [], []
    for notebook in solution_notebooks(root):
        found, failed = read_exercises(notebook)
        exercises += found
        problems += failed
    return exercises, problems


# --------------------------------------------------------------------------------------
# Writing the modules and the tests
# --------------------------------------------------------------------------------------
def _open_lines(source: str) -> set[int]:
    """Line numbers (1-based) at whose end a comment can be added.

    Not the lines inside a multi-line string, nor those continued by a backslash,
    nor blank or comment-only lines.
    """
    lines = source.splitlines()
    inside_strings: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.STRING and token.end[0] > token.start[0]:
            inside_strings.update(range(token.start[0], token.end[0]))
    return {
        number
        for number, line in enumerate(lines, start=1)
        if line.strip()
        and not line.strip().startswith("#")
        and not line.rstrip().endswith("\\")
        and number not in inside_strings
    }


def _header_colon(source: str) -> tuple[int, int]:
    """Where the ``:`` ending a def's or class's header is: ``(line, column)``."""
    depth, seen_keyword = 0, False
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME and token.string in ("def", "class"):
            seen_keyword = True
        elif token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        elif seen_keyword and depth == 0 and token.string == ":":
            return token.start
    raise ExtractionError("a definition without a header")


def _with_comment(line: str, comment: str) -> str:
    return f"{line.rstrip()}  {comment}"


def frozen_definition(source: str) -> str:
    """A function or class mutmut must leave alone: ``no mutate block`` on its header.

    The pragma goes at the end of the header's last line (after the colon), where
    mutmut looks for it; the rest of that line (a comment) stays.
    """
    lines = source.splitlines()
    row, _ = _header_colon(source)
    lines[row - 1] = _with_comment(lines[row - 1], f"{PRAGMA} block")
    return "\n".join(lines)


def _marker_ranges(lines: list[str]) -> list[tuple[int, int]]:
    """The (BEGIN line, END line) pairs, 1-based."""
    ranges, start = [], None
    for number, line in enumerate(lines, start=1):
        if line.strip() == BEGIN:
            start = number
        elif line.strip() == END and start is not None:
            ranges.append((start, number))
            start = None
    return ranges


def mutable_definition(source: str) -> str:
    """The student's function or class: mutable between the markers only.

    A method that holds no markers (given code, such as a constructor) gets ``no
    mutate block``; every other line outside the markers gets ``no mutate``.
    """
    lines = source.splitlines()
    ranges = _marker_ranges(lines)
    inside = {n for start, end in ranges for n in range(start, end + 1)}
    frozen_blocks: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        first, last = node.lineno, node.end_lineno
        holds_markers = any(first <= start <= last for start, _ in ranges)
        if not holds_markers and first not in inside:
            frozen_blocks.update(range(first, last + 1))
            method = "\n".join(lines[first - 1 : last])
            row, _ = _header_colon(method)
            lines[first + row - 2] = _with_comment(
                lines[first + row - 2], f"{PRAGMA} block"
            )
    for number in sorted(_open_lines(source)):
        if number in inside or number in frozen_blocks:
            continue
        lines[number - 1] = _with_comment(lines[number - 1], PRAGMA)
    return "\n".join(lines)


RECORDING = ".recorded.pickle"  # beside the module: the recorded values


def render_module(exercise: Exercise, recorded: frozenset[str] = frozenset()) -> str:
    """The source of ``src/<exercise>.py``: the notebook's statements, in order.

    Args:
        exercise: the exercise.
        recorded: names whose value the module reads from a recording of the
            solution's run instead of computing them (an experiment that trains
            networks for minutes): the statements that bind or fill them are
            replaced by the recorded value.

    Raises:
        ExtractionError: a statement that binds a recorded name with others.
    """
    header = (
        f'"""The solution of {exercise.label}.\n\n'
        f"Extracted from notebooks/{exercise.notebook.name} for mutation testing "
        "by\n`python -m instructor.tools.mutation`: do not edit. mutmut mutates "
        "the lines between\nthe solution markers only.\n"
        '"""\n\n'
    )
    if recorded:
        header += (
            "import pathlib\nimport pickle\n\n"
            "# Computed once by the solution (the same statements, run as written).\n"
            f"RECORDED = pickle.loads(pathlib.Path(__file__).with_suffix("
            f'"{RECORDING}").read_bytes())\n\n'
        )
    own = {statement.position for statement in exercise.statements}
    blocks, previous = [], None
    for statement in sorted(
        exercise.context + exercise.statements, key=lambda s: s.position
    ):
        mine = statement.position in own
        if not mine and statement.binds & recorded:
            if statement.binds - recorded:
                raise ExtractionError(
                    f"a statement binds {sorted(statement.binds)}: record all or none"
                )
            statement = Statement(
                statement.position,
                "".join(f"{name} = RECORDED[{name!r}]\n"
                        for name in sorted(statement.binds)),
                statement.binds, frozenset(),
            )
        elif not mine and statement.touches & recorded:
            continue  # what it adds is in the recording
        if mine != previous:
            blocks.append(
                "# The exercise.\n" if mine
                else "# From the notebook: what the exercise needs (never mutated).\n"
            )
            previous = mine
        if not mine:
            text = (frozen_definition(statement.source) if statement.is_definition
                    else statement.source)
        elif statement.is_definition and not statement.whole:
            text = mutable_definition(statement.source)
        else:
            text = statement.source
        blocks.append(text)
    return header + _join(blocks)


def _join(blocks: list[str]) -> str:
    """Statements one per line; definitions and headings apart by two blank lines."""
    out: list[str] = []
    for block in blocks:
        block = block.rstrip() + "\n"
        heading = out and out[-1].startswith("# ")
        if out and not heading and (_spaced(block) or _spaced(out[-1])):
            out.append("\n\n")
        out.append(block)
    return "".join(out)


def _spaced(block: str) -> bool:
    """A def, a class or a heading comment: set apart by blank lines (PEP 8)."""
    return block.lstrip().startswith(("def ", "class ", "async def ", "@", "# "))


def _is_import(statement: Statement) -> bool:
    return statement.source.lstrip().startswith(("import ", "from "))


def render_test(exercise: Exercise) -> str:
    """The source of ``tests/test_<exercise>.py``: the check cell as one test.

    Imports sit at the top, so that mutmut's fork server loads them (TensorFlow
    included) once; everything that runs code (the module itself, which may train
    networks, and the statements the check cell needs) runs inside the test, in
    the forked process: TensorFlow is not fork-safe once it has run an operation.
    """
    imports = [s for s in exercise.context + exercise.check_context if _is_import(s)]
    unique = list(dict.fromkeys(s.source.rstrip() for s in sorted(
        imports, key=lambda s: s.position)))
    body = [f"from {exercise.name} import {', '.join(exercise.from_module)}"]
    body += [s.source.rstrip() for s in exercise.check_context if not _is_import(s)]
    body.append(exercise.check.rstrip())
    indented = "\n".join(
        "    " + line if line.strip() else ""
        for line in "\n".join(body).splitlines()
    )
    return (
        f'"""{exercise.label}: passes if and only if its check passes.\n\n'
        "Generated by `python -m instructor.tools.mutation`: do not edit.\n"
        '"""\n\n'
        + "\n".join(unique)
        + "\nimport course_utils\n\n"
        "# TensorFlow loaded once, by mutmut's fork server: importing runs no "
        "operation.\n"
        "course_utils.import_tensorflow()\n"
        + "\n\ndef test_check_passes():\n"
        + indented
        + "\n"
    )


MUTMUT_CONFIG = """\
# Generated by `python -m instructor.tools.mutation`: do not edit.
[tool.mutmut]
source_paths = ["src"]
pytest_add_cli_args_test_selection = ["tests"]
# TensorFlow is not fork-safe once it has run an operation: each mutant's process
# is forked from a server that has only imported the tests, never from one that ran
# them (forking straight from mutmut's process left some mutants hanging).
process_isolation = "forkserver"
use_git_change_detection = false
# A mutant's CPU-time limit is (its test's time in the clean run + this) x 15 x 2
# seconds. The clean run times a test with TensorFlow warm; a fresh worker pays its
# first operations and tf.function tracing, which on a loaded machine exceeded the
# default of 1 (timeouts, not hangs: alone, the same mutants fail in seconds).
timeout_constant = 10

[tool.pytest.ini_options]
# This file, not the repository's, configures pytest here.
addopts = "-p no:cacheprovider"
"""


def write_build(
    exercises: list[Exercise], out: Path,
    recorded: dict[str, frozenset[str]] | None = None,
) -> None:
    """Write ``src/``, ``tests/`` and mutmut's configuration under ``out``.

    What an earlier build left (mutants and mutmut's results included) is removed:
    a run always starts afresh, so no result survives a change of the checks.

    Args:
        exercises: the exercises to write.
        out: the build folder.
        recorded: per exercise name, the names its module reads from a recording
            (see :func:`render_module`); the recording is made here, by running
            the module as extracted, in a separate process.

    Raises:
        RuntimeError: the recording run failed.
    """
    import shutil

    recorded = recorded or {}
    if out.exists():
        shutil.rmtree(out)
    (out / "src").mkdir(parents=True)
    (out / "tests").mkdir()
    (out / "pyproject.toml").write_text(MUTMUT_CONFIG)
    for exercise in exercises:
        names = recorded.get(exercise.name, frozenset())
        module = out / "src" / f"{exercise.name}.py"
        if names:
            record(exercise, names, out)
        module.write_text(render_module(exercise, names))
        (out / "tests" / f"test_{exercise.name}.py").write_text(render_test(exercise))


def record(exercise: Exercise, names: frozenset[str], out: Path) -> None:
    """Run the exercise's module as extracted (in a new process); pickle ``names``.

    Raises:
        RuntimeError: the run failed; the message ends with its last output lines.
    """
    import subprocess
    import sys

    folder = out / "recording"
    folder.mkdir(exist_ok=True)
    script = folder / f"{exercise.name}.py"
    script.write_text(render_module(exercise))
    target = (out / "src" / exercise.name).with_suffix(RECORDING)
    program = (
        "import pickle, runpy, sys\n"
        "values = runpy.run_path(sys.argv[1])\n"
        "names = sys.argv[3:]\n"
        "with open(sys.argv[2], 'wb') as stream:\n"
        "    pickle.dump({name: values[name] for name in names}, stream)\n"
    )
    log = folder / f"{exercise.name}.log"
    with log.open("w") as stream:
        done = subprocess.run(
            [sys.executable, "-c", program, str(script), str(target), *sorted(names)],
            cwd=folder, stdout=stream, stderr=subprocess.STDOUT, check=False,
        )
    if done.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-20:]
        raise RuntimeError(
            f"recording {exercise.label} failed; end of {log}:\n" + "\n".join(tail)
        )
