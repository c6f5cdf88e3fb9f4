"""nbgrader's cell metadata for the course's notebooks, without nbgrader.

The student versions (``make student``) and the nbgrader course folder (``make
nbgrader``) both carry nbgrader's cell metadata, schema version 3, so that what the
Colab and Binder badges open is the notebook ``nbgrader generate_assignment`` releases,
and a hand-in from anywhere autogrades. Three kinds of cells:

- solution cells: the exercises' code cells (those with ``### BEGIN SOLUTION``),
  ``solution: true, grade: false``, id ``chNN-exN-solution`` (a second one of the same
  exercise ``chNN-exN-solution-2``, and so on);
- graded check cells: the first code cell after an exercise's solution cell that calls
  ``checks.check_...``, ``grade: true, locked: true, points: N``, id ``chNN-exN-check``;
- every other cell read-only: ``locked: true``, id ``chNN-cell-NNN`` (its index in the
  solution notebook).

The course environment does not need nbgrader: :func:`compute_checksum` is a copy of
``nbgrader.utils.compute_checksum`` (nbgrader 0.9.6), and :func:`release_metadata` does
what ``LockCells`` and ``ComputeChecksums`` do to a cell. ``make test-nbgrader`` checks
both against the real nbgrader. Standard library only.
"""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path

SCHEMA_VERSION = 3
# A check cell calls the chapter's check module: ``checks.check_replay_buffer(...)``.
CHECK_CALL = re.compile(r"\bchecks\.check_\w+\s*\(")
SOLUTION, CHECK, READONLY = "solution", "check", "readonly"
DEFAULT_POINTS = 1
# The course's settings, which hold the points per exercise ([points]).
SETTINGS_FILE = "course.toml"


def chapter_id(name: str) -> str:
    """``"02_ddpg_pendulum.py"`` -> ``"ch02"``: the prefix of the chapter's grade ids
    (a name without the number: its stem, e.g. ``"nb"``)."""
    match = re.match(r"(\d+)_", name)
    if not match:
        return re.sub(r"[^A-Za-z0-9_-]", "-", name.rsplit(".", 1)[0]) or "nb"
    return f"ch{match.group(1)}"


def solution_grade_id(chapter: str, exercise: str, count: int = 1) -> str:
    """The grade id of an exercise's solution cell (``count``: the how-manyeth)."""
    suffix = "" if count == 1 else f"-{count}"
    return f"{chapter}-ex{exercise}-solution{suffix}"


def check_grade_id(chapter: str, exercise: str) -> str:
    """The grade id of an exercise's graded check cell."""
    return f"{chapter}-ex{exercise}-check"


def readonly_grade_id(chapter: str, index: int) -> str:
    """The grade id of a read-only cell, from its index in the solution notebook."""
    return f"{chapter}-cell-{index:03d}"


def source_metadata(role: str, grade_id: str, points: float | None = None) -> dict:
    """The ``nbgrader`` metadata of a cell in nbgrader's ``source/`` notebook.

    Args:
        role: ``SOLUTION``, ``CHECK`` or ``READONLY``.
        grade_id: the cell's grade id.
        points: the check cell's points (only for ``CHECK``).
    """
    meta = {
        "grade": role == CHECK,
        "grade_id": grade_id,
        "locked": role != SOLUTION,
        "schema_version": SCHEMA_VERSION,
        "solution": role == SOLUTION,
        "task": False,
    }
    if role == CHECK:
        if points is None:
            raise ValueError(f"{grade_id}: a graded cell needs points")
        meta["points"] = points
    return meta


def _is(cell, key: str) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get(key, False))


def is_locked(cell) -> bool:
    """nbgrader's ``utils.is_locked``: grade cells are, solution cells never."""
    if "nbgrader" not in cell.get("metadata", {}):
        return False
    if _is(cell, "solution"):
        return False
    if _is(cell, "grade"):
        return True
    return _is(cell, "locked")


def compute_checksum(cell) -> str:
    """nbgrader's ``utils.compute_checksum`` (0.9.6): MD5 of the cell's source, type,
    grade/solution/locked flags, grade id and (graded cells) points."""
    meta = cell["metadata"]["nbgrader"]
    digest = hashlib.md5()
    digest.update(cell["source"].encode("utf-8"))
    digest.update(cell["cell_type"].encode("utf-8"))
    digest.update(str(_is(cell, "grade")).encode("utf-8"))
    digest.update(str(_is(cell, "solution")).encode("utf-8"))
    digest.update(str(is_locked(cell)).encode("utf-8"))
    digest.update(meta["grade_id"].encode("utf-8"))
    if _is(cell, "grade"):
        digest.update(str(float(meta["points"])).encode("utf-8"))
    return digest.hexdigest()


def release_metadata(cell) -> dict:
    """The metadata ``nbgrader generate_assignment`` gives a cell in ``release/``.

    ``cell`` is the released cell (its solutions already replaced by stubs) with its
    ``source/`` metadata. Returns new metadata: ``LockCells`` (``deletable``,
    ``editable``) and ``ComputeChecksums`` (``checksum``, ``cell_type``) applied.
    """
    metadata = copy.deepcopy(dict(cell.get("metadata", {})))
    if "nbgrader" not in metadata:
        return metadata
    solution, grade = _is(cell, "solution"), _is(cell, "grade")
    # LockCells with its defaults (lock solution, grade and read-only cells).
    if solution:
        metadata["deletable"] = False
    elif grade or is_locked(cell):
        metadata["deletable"] = False
        metadata["editable"] = False
    # ComputeChecksums.
    if grade or solution or is_locked(cell):
        metadata["nbgrader"]["checksum"] = compute_checksum(cell)
        metadata["nbgrader"]["cell_type"] = cell["cell_type"]
    return metadata


def load_points(root) -> dict:
    """The ``[points]`` table of the course's settings (``course.toml`` at ``root``),
    which also sets the gradebook's points (``python -m instructor.grade``); empty
    when there is no such file or table (every exercise is then worth 1)."""
    path = Path(root) / SETTINGS_FILE
    if not path.is_file():
        return {}
    try:
        import tomllib  # Python >= 3.11
    except ImportError:  # pragma: no cover (Python 3.10)
        raise RuntimeError(f"{path}: reading it needs Python >= 3.11") from None
    table = tomllib.loads(path.read_text()).get("points", {})
    return table if isinstance(table, dict) else {}


def exercise_points(table: dict, name: str, exercise: str) -> float:
    """An exercise's points in nbgrader's gradebook, as ``course.toml`` sets them.

    Args:
        table: the ``[points]`` table (``load_points``): ``default`` (1 when unset),
            and per notebook, by number (``"01"``) or stem, a number (all its
            exercises) or a table of exercise numbers to numbers.
        name: the notebook's file name (``01_actor_critic_cartpole.py``).
        exercise: the exercise's number (``"5"``).
    """
    default = table.get("default", DEFAULT_POINTS)
    stem = name.rsplit(".", 1)[0]
    number = stem.split("_", 1)[0]
    value = table.get(number, table.get(stem, default))
    if isinstance(value, dict):
        value = value.get(exercise, default)
    return value
