"""The catalogue of typical wrong answers, run against the exercises' checks.

A catalogue file, ``tests/mutation/mistakes/chNN_exN.py``, holds the wrong answers a
student is likely to write for one exercise, each a function (or, for an exercise
that is a class, a class holding the methods written wrong) marked with
:func:`wrong`::

    @wrong("walks the episode forwards: G_t built from the rewards before t",
           mistake="returns/forward")
    def forwards(rewards, gamma, bootstrap=0.0):
        ...

Each is handed to the exercise's check cell in place of the solution; the check
must fail, with the named mistake's id when the entry names one. A class entry
overrides the solution's methods (it is combined with the solution's class), so
that it holds only what the student got wrong.

An exercise that defines several names (chapter 01's Exercise 5: networks, then a
pick read off the experiment) takes entries ``answer(notebook) -> {name: value}``:
``notebook`` holds the module's names after the solution ran (a copy), and the
entry returns the names it answers differently, with any value of the notebook
that its answer changes (the experiment, once the notebook's loop has trained
its networks).
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from instructor.tools.mutation.extract import Exercise

MISTAKES = Path("tests") / "mutation" / "mistakes"
CAUGHT, MISSED, CRASHED, OTHER_ID = "caught", "missed", "check crashed", "other id"


@dataclass(frozen=True)
class Wrong:
    """One catalogue entry.

    Attributes:
        name: the entry's name in its file (a short id of the mistake).
        description: what the student got wrong, in one line.
        mistake: the id the check should name (``"returns/forward"``), or None.
    """

    name: str
    description: str
    mistake: str | None = None


def wrong(description: str, *, mistake: str | None = None) -> Callable[[Any], Any]:
    """Mark a function or class of a catalogue file as a typical wrong answer.

    Args:
        description: what the student got wrong, in one line.
        mistake: the id the check should name, if the check knows this mistake.

    Returns:
        A decorator that leaves its argument as it is, with a ``wrong`` attribute.
    """

    def mark(answer: Any) -> Any:
        answer.wrong = Wrong(answer.__name__, description, mistake)
        return answer

    return mark


@dataclass(frozen=True)
class Outcome:
    """What the check said about one wrong answer.

    Attributes:
        entry: the catalogue entry.
        status: ``caught`` (failed with the expected id, or any id when none is
            expected), ``other id`` (failed naming another mistake), ``missed``
            (passed), ``check crashed`` (raised something else than a failure).
        named: the mistake id the check gave, or None.
        message: the first line of the check's message.
    """

    entry: Wrong
    status: str
    named: str | None
    message: str


def load_module(path: Path, name: str) -> ModuleType:
    """Import a Python file as a module of the given name (not kept in sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def entries(path: Path) -> list[tuple[Wrong, Any]]:
    """The marked wrong answers of a catalogue file, in the file's order."""
    module = load_module(path, f"mistakes_{path.stem}")
    return [
        (value.wrong, value)
        for value in vars(module).values()
        if isinstance(getattr(value, "wrong", None), Wrong)
    ]


def as_student_object(answer: Any, solution: Any) -> Any:
    """What the check receives: the answer, or for a class the solution overridden.

    Args:
        answer: the catalogue's function or class.
        solution: the exercise's solution object of the same role.

    Returns:
        The function itself; for a class, a class named like the solution whose
        methods are the answer's where it has them, the solution's elsewhere.
    """
    if isinstance(answer, type) and isinstance(solution, type):
        return type(solution.__name__, (answer, solution), {"__doc__": answer.__doc__})
    return answer


class CheckCell:
    """An exercise's check cell, runnable on other answers than the solution."""

    def __init__(self, exercise: Exercise, module_dir: Path) -> None:
        self.exercise = exercise
        sys.path.insert(0, str(module_dir))
        try:
            self.module = load_module(module_dir / f"{exercise.name}.py",
                                      exercise.name)
        finally:
            sys.path.remove(str(module_dir))
        self.names: dict[str, Any] = {"__name__": f"check_{exercise.name}"}
        self.statements = []
        for statement in exercise.check_context:
            code = compile(statement.source, exercise.name, "exec")
            if statement.source.lstrip().startswith(("import ", "from ")):
                exec(code, self.names)
            else:
                self.statements.append(code)
        for name in exercise.from_module:
            self.names[name] = getattr(self.module, name)
        self.code = compile(exercise.check, f"check cell of {exercise.name}", "exec")

    @property
    def several(self) -> bool:
        """Whether the exercise defines several names (entries return overrides)."""
        return len(self.exercise.defines) > 1

    def answers(self, entry: Any) -> dict[str, Any]:
        """The names an entry stands for, as the check cell will see them.

        Raises:
            ValueError: an entry answering a name the exercise does not define.
        """
        if self.several:
            notebook = SimpleNamespace(**{
                name: copy.copy(value) if isinstance(value, (dict, list)) else value
                for name, value in vars(self.module).items()
            })
            overrides = entry(notebook)
            allowed = set(self.exercise.defines) | set(self.exercise.from_module)
            unknown = set(overrides) - allowed
            if unknown:
                raise ValueError(f"{entry.__name__} answers {sorted(unknown)}, not "
                                 f"among {sorted(allowed)}")
            return overrides
        (role,) = self.exercise.defines
        solution = getattr(self.module, role)
        return {role: as_student_object(entry, solution)}

    def run(self, answers: dict[str, Any]) -> tuple[str, str | None, str]:
        """Run the check cell with some of the exercise's names answered otherwise.

        Returns:
            ``(result, mistake id, first line of the message)``, the result being
            ``"passed"``, ``"failed"`` (a CheckFailed) or ``"crashed"``.
        """
        from course_utils.checks.core import CheckFailed

        namespace = dict(self.names)
        namespace.update(answers)
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                for code in self.statements:
                    exec(code, namespace)
                exec(self.code, namespace)
        except CheckFailed as failure:
            return "failed", failure.mistake, _first_line(str(failure))
        except Exception as error:  # a check must never crash on a wrong answer
            return "crashed", None, f"{type(error).__name__}: {_first_line(str(error))}"
        return "passed", None, _first_line(printed.getvalue())


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:160] if lines else ""


def run_catalogue(exercise: Exercise, module_dir: Path, root: Path) -> list[Outcome]:
    """Every catalogue entry of an exercise, judged by the exercise's check.

    Args:
        exercise: the exercise.
        module_dir: where its extracted module lives (``build/mutation/src``).
        root: the repository (holding ``tests/mutation/mistakes``).

    Returns:
        One outcome per entry, in the file's order; none when the exercise has no
        catalogue file.

    Raises:
        RuntimeError: the solution itself does not pass its check.
    """
    path = root / MISTAKES / f"{exercise.name}.py"
    if not path.exists():
        return []
    cell = CheckCell(exercise, module_dir)
    result, _, message = cell.run({})
    if result != "passed":
        raise RuntimeError(f"{exercise.label}: the solution fails its check: {message}")
    outcomes = []
    for entry, answer in entries(path):
        with contextlib.redirect_stdout(io.StringIO()):  # training runs print
            answers = cell.answers(answer)
        result, named, message = cell.run(answers)
        if result == "passed":
            status = MISSED
        elif result == "crashed":
            status = CRASHED
        elif entry.mistake is not None and named != entry.mistake:
            status = OTHER_ID
        else:
            status = CAUGHT
        outcomes.append(Outcome(entry, status, named, message))
    return outcomes
