"""mutmut's side: run it on the extracted exercises, read its verdicts and diffs.

mutmut (3.8.1, pinned in ``tests/mutation/requirements.txt``) keeps its verdicts in
``mutants/src/<module>.py.meta`` (JSON, an exit code per mutant) and shows a mutant
with ``mutmut show <name>``. A survivor is *equivalent* when
``tests/mutation/equivalent.toml`` lists its change (the exercise, the original
line(s), the mutated line(s)) with the reason why no input the exercise allows can
tell it from the solution.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import tomllib

EQUIVALENT = Path("tests") / "mutation" / "equivalent.toml"

# mutmut's exit codes (mutmut/stats.py): 1 and 3 are kills; 0 a survivor.
KILLED, SURVIVED, TIMEOUT, NO_TESTS, OTHER = (
    "killed", "survived", "timeout", "no tests", "other"
)
_STATUS = {1: KILLED, 3: KILLED, 0: SURVIVED, 5: NO_TESTS, 33: NO_TESTS,
           36: TIMEOUT, -24: TIMEOUT, 24: TIMEOUT, 152: TIMEOUT, 255: TIMEOUT}


@dataclass(frozen=True)
class Mutant:
    """One of mutmut's mutants and its verdict.

    Attributes:
        name: mutmut's name, ``ch01_ex2.x_discounted_returns__mutmut_3``.
        exercise: the module it mutates, ``ch01_ex2``.
        status: ``killed``, ``survived``, ``timeout``, ``no tests`` or ``other``.
        original: the line(s) it changes, stripped, joined by newlines.
        mutated: the line(s) it puts instead (empty when it deletes).
    """

    name: str
    exercise: str
    status: str
    original: str = ""
    mutated: str = ""


@dataclass(frozen=True)
class Equivalent:
    """An entry of ``equivalent.toml``: a surviving change, and why it is harmless."""

    exercise: str
    original: str
    mutated: str
    why: str


def mutmut_command() -> Path:
    """The ``mutmut`` script of the running interpreter's environment."""
    return Path(sys.executable).parent / "mutmut"


def run_mutmut(out: Path, jobs: int, log: Path) -> None:
    """Run ``mutmut run`` in the build folder; its chatter goes to ``log``.

    Raises:
        RuntimeError: mutmut failed (for instance a solution that fails its own
            check in the clean run); the message ends with the log's last lines.
    """
    with log.open("w") as stream:
        done = subprocess.run(
            [str(mutmut_command()), "run", "--max-children", str(jobs)],
            cwd=out, stdout=stream, stderr=subprocess.STDOUT, check=False,
        )
    if done.returncode != 0:
        tail = log.read_text(errors="replace").replace("\r", "\n").splitlines()[-25:]
        raise RuntimeError(
            f"mutmut failed (exit {done.returncode}); end of {log}:\n" + "\n".join(tail)
        )


def read_verdicts(out: Path) -> list[Mutant]:
    """Every mutant's verdict, from mutmut's ``.meta`` files; survivors with diffs."""
    mutants = []
    for meta in sorted((out / "mutants" / "src").glob("*.py.meta")):
        exercise = meta.name.removesuffix(".py.meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in codes.items():
            status = _STATUS.get(code, OTHER)
            if status == KILLED:
                mutants.append(Mutant(name, exercise, status))
            else:
                original, mutated = change_of(out, name)
                mutants.append(Mutant(name, exercise, status, original, mutated))
    return mutants


def change_of(out: Path, name: str) -> tuple[str, str]:
    """The lines a mutant removes and adds (stripped), from ``mutmut show``."""
    shown = subprocess.run(
        [str(mutmut_command()), "show", name], cwd=out, capture_output=True,
        text=True, check=True,
    ).stdout
    return diff_lines(shown)


def diff_lines(diff: str) -> tuple[str, str]:
    """A unified diff's removed and added lines, each stripped, joined by newlines."""
    removed, added = [], []
    for line in diff.splitlines():
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("-"):
            removed.append(line[1:].strip())
        elif line.startswith("+"):
            added.append(line[1:].strip())
    return "\n".join(removed), "\n".join(added)


def read_equivalents(root: Path) -> list[Equivalent]:
    """The entries of ``tests/mutation/equivalent.toml``.

    Raises:
        ValueError: an entry without its four fields, or with an empty reason.
    """
    path = root / EQUIVALENT
    if not path.exists():
        return []
    entries = []
    for index, item in enumerate(tomllib.loads(path.read_text()).get("equivalent",
                                                                       [])):
        fields = ("exercise", "original", "mutated", "why")
        if not all(isinstance(item.get(key), str) for key in fields) or not item[
            "why"
        ].strip():
            raise ValueError(f"{path}: entry {index + 1} needs {', '.join(fields)}")
        entries.append(Equivalent(*(item[key].strip() for key in fields)))
    return entries


def explained(mutant: Mutant, equivalents: list[Equivalent]) -> Equivalent | None:
    """The entry that explains a surviving mutant, or None."""
    for entry in equivalents:
        if (entry.exercise, entry.original, entry.mutated) == (
            mutant.exercise, mutant.original, mutant.mutated
        ):
            return entry
    return None
