"""The course's notebooks as the grader sees them: titles, exercises and their checks.

A course notebook is a solution notebook (``notebooks/NN_*.ipynb``). Under a markdown
heading ``### Exercise N: title``, the exercise is the code cell holding nbgrader's
``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers (or several such cells), and its
check is the next code cell that calls a check function (a call whose dotted name
contains "check"), or else simply the next code cell.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from instructor.grading.reading import InvalidNotebook, read_path
from instructor.grading.skipping import skippable_sources
from instructor.tools.student import BEGIN, END, strip_solution

# Patterns applied to a student's text are linear in its length (issue 21): each
# position of the text is the start of at most one attempt that reads beyond it,
# and no two adjacent quantifiers can share characters (``\s*`` beside ``.*``).
# DEFINITION and the line patterns are anchored (re.match on one line, or ``^`` of
# re.M); CALL consumes every dotted name whole, with or without its ``(``, so that
# findall never restarts inside a long name (``[\w.]*\s*\(`` did: quadratic).
DEFINITION = re.compile(r"^(?:async[ \t]+def|def|class)[ \t]+([A-Za-z_]\w*)", re.M)
CALL = re.compile(r"([A-Za-z_][\w.]*)(\s*\()?")
WORD = re.compile(r"[a-z0-9]+")
# A longer cell is not parsed for its imports (ast costs ~0.5 s per 100,000).
MAX_PARSE = 100_000
HEADING_START = re.compile(r"#+[^\S\n]*Exercise[^\S\n]+(\d+[a-z]?)[^\S\n]*[:.\-\u2013]")
# Where a probe cell takes its submission's challenge (see ``with_challenge``).
CHALLENGE_SLOT = "__course_challenge__"


class CourseError(ValueError):
    """The course notebooks cannot be read or hold no gradable exercise."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of a course notebook.

    Attributes:
        number: the exercise's number as written in its heading ("1", "2b").
        title: the heading's title.
        cells: the student version of the exercise's code cell(s) (solutions stubbed).
        names: functions and classes the exercise cells define at top level.
        check: the source of the course's check cell.
        check_calls: names of the check functions the check cell calls.
        probe: what the grader runs instead of the check cell: the same call, but to
            the check's probe only (``emit_named``), which hands plain data to the
            grader's judge; None when the check cell calls no check it can resolve.
        check_target: ``(module, function)`` of the check, e.g.
            ``("course_utils.checks.cartpole", "check_normalise")``, or None.
        request: the probe as a kernel message's content (JSON text: module,
            function, the names of the student's objects it passes), which the
            kernel runs without looking anything up in the student's globals
            (``course_utils.checks.grading_probe``); None when the check call
            passes anything but plain names (the probe cell runs instead).
        solution_shape: the solution cells' code, normalised
            (``copying.code_shape``), for the ``copied-solution`` flag.
    """

    number: str
    title: str
    cells: tuple[str, ...]
    names: frozenset[str]
    check: str
    check_calls: frozenset[str]
    probe: str | None = None
    check_target: tuple[str, str] | None = None
    request: str | None = None
    solution_shape: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How reports name the exercise: ``Exercise 1: sum of rewards``."""
        return f"Exercise {self.number}: {self.title}"


@dataclass(frozen=True)
class CourseNotebook:
    """A course notebook: its file stem, its title and its exercises in order.

    ``skippable`` holds the code (``skipping.code_key``) of the course cells that
    grading leaves out when a submission holds them unchanged (``skipping``).
    """

    name: str
    title: str
    exercises: tuple[Exercise, ...]
    skippable: frozenset[str] = frozenset()


def read_notebook(path: Path):
    """Read a notebook file as nbformat version 4, without strict validation.

    Submissions are read with ``reading.read_submission`` (links, size limit); this
    reads a file the instructor named, such as a course notebook.

    Args:
        path: the ``.ipynb`` file.

    Returns:
        The ``NotebookNode``.

    Raises:
        InvalidNotebook: the file is unreadable, not JSON, or not a notebook (the
            message never quotes the file).
    """
    return read_path(path)


def normalise(text: str) -> str:
    """Lower-case words separated by single spaces, for tolerant comparisons."""
    return " ".join(WORD.findall(text.lower()))


def title_of(text: str) -> str | None:
    """The first level-1 heading (``# Title``) of some markdown, or None.

    Line by line with string methods (linear): the line, less its indentation,
    starts with a single ``#`` and blank space, and has text after it.
    """
    for line in text.split("\n"):
        line = line.lstrip()
        if line[:1] == "#" and line[1:2].isspace():
            title = line[1:].strip()
            if title:
                return title
    return None


def notebook_title(cells) -> str:
    """The normalised first level-1 heading of the notebook's markdown, or ""."""
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            found = title_of(source_of(cell))
            if found is not None:
                return normalise(found)
    return ""


def source_of(cell) -> str:
    """A cell's source as one string (nbformat may leave a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def defined_names(source: str) -> frozenset[str]:
    """Functions and classes defined at the top level of some code."""
    return frozenset(DEFINITION.findall(source))


def check_calls(source: str) -> frozenset[str]:
    """Names of the check functions some code calls.

    A call counts when its dotted name contains "check" (``cu.checks.cartpole.returns``,
    ``check_double``); the name kept is its last component.
    """
    if "check" not in source.lower():
        return frozenset()
    return frozenset(
        found.group(1).rsplit(".", 1)[-1]
        for found in CALL.finditer(source)
        if found.group(2) and "check" in found.group(1).lower()
    )


def exercise_headings(text: str) -> list[tuple[str, str]]:
    """The ``(number, title)`` of each ``### Exercise N: title`` line of markdown.

    What ``course_utils.contract.EXERCISE_HEADING`` finds, line by line in linear
    time: its lazy title followed by ``\\s*$`` backtracks quadratically on a long
    line of blanks; here the title is the rest of the line, stripped.
    """
    found = []
    for line in text.split("\n"):
        start = HEADING_START.match(line) if line[:1] == "#" else None
        if start is not None:
            title = line[start.end():].strip()
            if title:
                found.append((start.group(1), title))
    return found


def exercise_heading(cell) -> tuple[str, str] | None:
    """The (number, title) of the last exercise heading in a markdown cell, if any."""
    if cell.get("cell_type") != "markdown":
        return None
    found = exercise_headings(source_of(cell))
    if not found:
        return None
    number, title = found[-1]
    return number, title.rstrip(".")


def has_markers(cell) -> bool:
    """Whether a code cell holds nbgrader solution markers."""
    source = source_of(cell)
    return cell.get("cell_type") == "code" and (BEGIN in source or END in source)


def sections(cells) -> list[tuple[tuple[str, str], list]]:
    """Split cells at exercise headings: ``[((number, title), cells below), ...]``."""
    found: list[tuple[tuple[str, str], list]] = []
    for cell in cells:
        heading = exercise_heading(cell)
        if heading is not None:
            found.append((heading, []))
        elif found:
            found[-1][1].append(cell)
    return found


def pick_check(code_cells: list) -> str | None:
    """The check among the code cells after an exercise: first to call one, or first."""
    for cell in code_cells:
        if check_calls(source_of(cell)):
            return source_of(cell)
    return source_of(code_cells[0]) if code_cells else None


def module_aliases(cells) -> dict[str, str]:
    """What each imported name stands for in a notebook: ``{"checks": "a.b.c"}``.

    Only ``import a.b [as x]`` and ``from a.b import c [as x]`` at a cell's top level
    count; cells that do not parse are skipped.
    """
    aliases: dict[str, str] = {}
    for cell in cells:
        source = source_of(cell)
        if cell.get("cell_type") != "code" or "import" not in source or len(
            source
        ) > MAX_PARSE:
            continue
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # ValueError: a null byte; RecursionError: nested too deeply
        for node in tree.body:
            if isinstance(node, ast.Import):
                for name in node.names:
                    if name.asname:
                        aliases[name.asname] = name.name
                    else:
                        head = name.name.split(".")[0]
                        aliases[head] = head
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for name in node.names:
                    aliases[name.asname or name.name] = f"{node.module}.{name.name}"
    return aliases


def dotted_name(node: ast.AST) -> str | None:
    """``a.b.c`` for an attribute chain on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def probe_cell(check: str, aliases: dict[str, str]):
    """The check cell rewritten to run only the check's probe.

    ``checks.check_x(args)`` becomes ``emit_named("<module>", "check_x", args,
    challenge=<slot>)``, the module resolved through the notebook's imports; the
    grader writes each submission's challenge into the slot (``with_challenge``), so
    the probe runs on cases drawn afresh (``course_utils.checks.challenge``). The
    probe hands the student's outputs to the grader, whose judge decides (the
    check's own verdict in the kernel would be the student's to fake).

    Returns:
        ``(source, (module, function))``, or ``(None, None)`` when the cell holds no
        single resolvable check call.
    """
    try:
        tree = ast.parse(check)
    except SyntaxError:
        return None, None
    calls = [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call) and "check" in (dotted_name(node.func) or "")
    ]
    if len(calls) != 1:
        return None, None
    call = calls[0]
    dotted = dotted_name(call.func)
    head, _, rest = dotted.partition(".")
    if head not in aliases or not rest:
        return None, None
    target = f"{aliases[head]}.{rest}"
    module, function = target.rsplit(".", 1)
    emitter = ast.Attribute(
        value=ast.Call(
            func=ast.Name("__import__", ast.Load()),
            args=[ast.Constant("course_utils.checks.core")],
            keywords=[ast.keyword("fromlist", ast.List([ast.Constant("emit_named")],
                                                       ast.Load()))],
        ),
        attr="emit_named",
        ctx=ast.Load(),
    )
    call.func = emitter
    call.args[:0] = [ast.Constant(module), ast.Constant(function)]
    call.keywords.append(ast.keyword("challenge", ast.Name(CHALLENGE_SLOT, ast.Load())))
    return ast.unparse(ast.fix_missing_locations(tree)), (module, function)


def probe_request(check: str, target: tuple[str, str] | None) -> str | None:
    """The check call as a probe request (see ``Exercise.request``), or None.

    Only a call whose arguments are all plain names (``check_x(f)``,
    ``check_y(NETWORKS, experiment, baseline=CRAMPED)``) becomes a request: the
    kernel then takes each object from the student's namespace by its name.
    """
    import json

    if target is None:
        return None
    calls = [node for node in ast.walk(ast.parse(check)) if isinstance(node, ast.Call)
             and "check" in (dotted_name(node.func) or "")]
    call = calls[0]
    if not all(isinstance(arg, ast.Name) for arg in call.args) or not all(
        keyword.arg and isinstance(keyword.value, ast.Name)
        for keyword in call.keywords
    ):
        return None
    module, function = target
    return json.dumps({
        "module": module, "function": function,
        "args": [arg.id for arg in call.args],
        "kwargs": {keyword.arg: keyword.value.id for keyword in call.keywords},
    }, sort_keys=True)


def request_with_challenge(request: str, challenge: int) -> dict:
    """A probe request's content for one submission: the exercise's challenge in."""
    import json

    if type(challenge) is not int or challenge < 0:
        raise ValueError(f"a challenge is a whole number >= 0, got {challenge!r}")
    return {**json.loads(request), "challenge": challenge}


def with_challenge(probe: str, challenge: int) -> str:
    """A probe cell's source with this submission's challenge written in.

    The slot is a name the course's own probe source holds (never student text);
    the challenge reaches the kernel only when the probe cell runs.
    """
    if type(challenge) is not int or challenge < 0:
        raise ValueError(f"a challenge is a whole number >= 0, got {challenge!r}")
    return probe.replace(CHALLENGE_SLOT, str(challenge))


def build_exercise(heading: tuple[str, str], cells: list, where: str, aliases=None):
    """The exercise of one section of a course notebook, or None when it has none.

    Args:
        heading: the section's (number, title).
        cells: the cells below the heading, up to the next exercise heading.
        where: the notebook's name, for error messages.

    Returns:
        The ``Exercise``; None when no code cell of the section has solution markers.

    Raises:
        CourseError: the exercise has no check cell after it.
    """
    number, title = heading
    marked = [i for i, cell in enumerate(cells) if has_markers(cell)]
    if not marked:
        return None
    name = f"Exercise {number} ({title})"
    stubbed = tuple(
        strip_solution(source_of(cells[i]), name, f"{where}, {name}") for i in marked
    )
    after = [c for c in cells[marked[-1] + 1 :] if c.get("cell_type") == "code"]
    check = pick_check(after)
    if check is None:
        raise CourseError(f"{where}: {name} has no check cell after it")
    names = frozenset().union(*(defined_names(source) for source in stubbed))
    probe, target = probe_cell(check, aliases or {})
    from instructor.grading.copying import code_shape

    shapes = (code_shape(source_of(cells[i])) for i in marked)
    return Exercise(number, title, stubbed, names, check, check_calls(check), probe,
                    target, probe_request(check, target),
                    tuple(shape for shape in shapes if shape))


def course_notebook(notebook, name: str) -> CourseNotebook:
    """Describe one solution notebook as a ``CourseNotebook``."""
    exercises = []
    aliases = module_aliases(notebook.cells)
    for heading, cells in sections(notebook.cells):
        exercise = build_exercise(heading, cells, name, aliases)
        if exercise is not None:
            exercises.append(exercise)
    return CourseNotebook(name, notebook_title(notebook.cells), tuple(exercises),
                          skippable_sources(notebook.cells))


def load_course(folder: Path) -> list[CourseNotebook]:
    """Read the course notebooks (``*.ipynb``, not recursive) of a folder.

    Args:
        folder: a folder of solution notebooks, such as the repository's ``notebooks/``.

    Returns:
        The course notebooks that hold at least one exercise, sorted by file name.

    Raises:
        CourseError: the folder holds no notebook with an exercise.
    """
    if not folder.is_dir():
        raise CourseError(f"course folder {folder} does not exist")
    course = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            described = course_notebook(read_notebook(path), path.stem)
        except InvalidNotebook as error:
            raise CourseError(f"course notebook {path}: {error}") from None
        if described.exercises:
            course.append(described)
    if not course:
        raise CourseError(
            f"no course notebook with an 'Exercise N: title' heading and solution "
            f"markers in {folder}"
        )
    return course
