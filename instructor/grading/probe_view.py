"""The probe-only view of ``course_utils`` that the grading sandbox sees.

In class, a check runs whole in the student's kernel: its probe calls the student's
code, its judge compares with a reference. In grading, the judge runs in the grader
(``verdict.judge_probe``), so the kernel needs only the probes. Answers left in the
kernel would let a submission pass without code of its own (call
``checks.cartpole.reference_returns`` on the cases, spelled however it likes), so the
sandbox binds, at the package's own path, a copy of ``course_utils`` in which each
check module keeps only what its probes and public functions need:

- removed by name: every top-level function or class named ``reference_*``, or whose
  name contains ``judge`` or ``mistake`` (the judges and the typical wrong answers,
  which are near-answers);
- removed by reach: every other top-level definition that only those use. What a
  public name, a probe (the second argument of ``Check(...)``) or a module-level
  statement uses is kept; ``Check(...)``'s judge argument is not followed.

A removed function becomes a stub that raises ``RuntimeError`` saying it is not
available while grading: a submission that calls one gets an ordinary error, which
its verdict reports. Only modules that define checks are filtered: the framework
(``checks.core``...) and the modules outside ``checks/`` hold no answers and are
copied as they are. The view is built once per grading run from the package's
source (Python's ``ast``), never from student bytes.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

CHECKS_FOLDER = "checks"
WITHHELD = (
    "{name} is not available while grading: the grader's kernel holds only the "
    "checks' probes (the judges and references run in the grader)"
)


def withheld_by_name(name: str) -> bool:
    """Whether a top-level name is an answer by its name alone."""
    lowered = name.lower()
    return (lowered.startswith("reference_") or "judge" in lowered
            or "mistake" in lowered)


def defined_names(statement: ast.stmt) -> list[str]:
    """The top-level names a statement defines (functions, classes, assignments)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        targets = [statement.target]
    return [node.id for target in targets for node in ast.walk(target)
            if isinstance(node, ast.Name)]


def is_check_call(node: ast.AST) -> bool:
    """``Check(...)`` (its third argument, the judge, is not followed)."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "Check")


def used_names(statement: ast.stmt) -> set[str]:
    """The names a statement reads, leaving out the judge of a ``Check(...)``."""
    skipped: set[int] = set()
    for node in ast.walk(statement):
        if is_check_call(node):
            skipped.update(id(arg) for arg in node.args[2:])
            skipped.update(id(kw.value) for kw in node.keywords if kw.arg == "judge")
    found: set[str] = set()
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Name):
            found.add(node.id)
        stack.extend(ast.iter_child_nodes(node))
    return found


def kept_names(tree: ast.Module) -> set[str]:
    """The top-level names the probe-only view keeps (see the module docstring)."""
    uses: dict[str, set[str]] = {}
    roots: set[str] = set()
    for statement in tree.body:
        names = defined_names(statement)
        reads = used_names(statement)
        if not names:  # imports, expressions, if blocks: always kept
            roots |= reads
            continue
        for name in names:
            uses.setdefault(name, set()).update(reads)
            if not name.startswith("_") and not withheld_by_name(name):
                roots.add(name)
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            roots |= {alias.asname or alias.name.split(".")[0]
                      for alias in statement.names}
    kept: set[str] = set()
    stack = [name for name in roots if not withheld_by_name(name)]
    while stack:
        name = stack.pop()
        if name in kept:
            continue
        kept.add(name)
        stack.extend(other for other in uses.get(name, ())
                     if other not in kept and not withheld_by_name(other))
    return kept


def stub(name: str) -> ast.stmt:
    """``def name(*args, **kwargs): raise RuntimeError(...)``."""
    message = WITHHELD.format(name=name)
    return ast.parse(
        f"def {name}(*args, **kwargs):\n    raise RuntimeError({message!r})\n"
    ).body[0]


def probe_only_source(source: str) -> str:
    """A check module's source with its answers replaced by stubs."""
    tree = ast.parse(source)
    kept = kept_names(tree)
    body: list[ast.stmt] = []
    for statement in tree.body:
        names = defined_names(statement)
        if not names or all(name in kept for name in names):
            body.append(statement)
            continue
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef,
                                  ast.ClassDef)):
            body.append(stub(statement.name))
        else:  # an assignment only answers need: each name becomes a stub
            body.extend(stub(name) for name in names)
    tree.body = body
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def build(package: Path, destination: Path) -> Path:
    """Write the probe-only copy of a package; return the copy's folder.

    Args:
        package: the ``course_utils`` folder.
        destination: an empty folder of the grader's; the copy is written as
            ``destination / package.name``.

    Returns:
        The copy's folder, to bind read-only at ``package``'s path.
    """
    target = destination / package.name
    shutil.copytree(package, target, ignore=shutil.ignore_patterns(
        "__pycache__", "*.pyc", "*.pyo"))
    checks = target / CHECKS_FOLDER
    for path in sorted(checks.glob("*.py")) if checks.is_dir() else []:
        source = path.read_text(encoding="utf-8")
        if defines_checks(ast.parse(source)):
            path.write_text(probe_only_source(source), encoding="utf-8")
    return target


def defines_checks(tree: ast.Module) -> bool:
    """Whether a module defines exercise checks (a top-level ``X = Check(...)``):
    only those hold answers; the framework (``core``, ``plain``...) holds none."""
    return any(isinstance(statement, ast.Assign) and is_check_call(statement.value)
               for statement in tree.body)
