"""The score table of a mutation run: per exercise, tool mutants and catalogue.

Printed as text after ``make test-mutation``, written as Markdown to
``build/mutation/report.md`` and, with ``--readme``, into the README between
``<!-- mutation:start -->`` and ``<!-- mutation:end -->``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from instructor.tools.mutation.catalogue import CAUGHT, MISSED, Outcome
from instructor.tools.mutation.extract import Exercise
from instructor.tools.mutation.tool import (
    KILLED,
    SURVIVED,
    Equivalent,
    Mutant,
    explained,
)

MIN_MISTAKES = 8  # catalogue entries wanted per exercise
README_START = "<!-- mutation:start -->"
README_END = "<!-- mutation:end -->"
EQUIVALENT_NOTE = "listed with their reasons in tests/mutation/equivalent.toml"


@dataclass
class Row:
    """One exercise's scores."""

    exercise: Exercise
    mutants: int = 0
    killed: int = 0
    equivalent: int = 0
    survived: list[Mutant] = field(default_factory=list)
    other: list[Mutant] = field(default_factory=list)  # timeouts, no tests
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def caught(self) -> int:
        return sum(outcome.status == CAUGHT for outcome in self.outcomes)

    @property
    def named(self) -> int:
        """Catalogue entries the check failed with a mistake id."""
        return sum(
            outcome.status == CAUGHT and outcome.named is not None
            for outcome in self.outcomes
        )

    @property
    def problems(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status != CAUGHT]

    @property
    def score(self) -> str:
        """Killed share of the non-equivalent tool mutants."""
        counted = self.mutants - self.equivalent
        return f"{100 * self.killed / counted:.0f}%" if counted else "-"


def build_rows(
    exercises: list[Exercise],
    mutants: list[Mutant],
    equivalents: list[Equivalent],
    outcomes: dict[str, list[Outcome]],
) -> tuple[list[Row], list[Equivalent]]:
    """Count per exercise; also return the equivalent entries that matched nothing.

    Returns:
        ``(rows, stale)``: one row per exercise, in order; entries of
        ``equivalent.toml`` (for the exercises run) that explain no survivor.
    """
    rows = {exercise.name: Row(exercise) for exercise in exercises}
    used: set[int] = set()
    for mutant in mutants:
        row = rows[mutant.exercise]
        row.mutants += 1
        if mutant.status == KILLED:
            row.killed += 1
        elif mutant.status == SURVIVED:
            entry = explained(mutant, equivalents)
            if entry is None:
                row.survived.append(mutant)
            else:
                row.equivalent += 1
                used.add(id(entry))
        else:
            row.other.append(mutant)
    for name, found in outcomes.items():
        rows[name].outcomes = found
    stale = [e for e in equivalents if e.exercise in rows and id(e) not in used]
    return list(rows.values()), stale


def failures(
    rows: list[Row], stale: list[Equivalent], *, tool: bool = True,
    catalogue: bool = True,
) -> list[str]:
    """What keeps the run from passing, one line each (empty: all targets met).

    Args:
        rows: the scores.
        stale: entries of equivalent.toml that explain no survivor.
        tool: whether mutmut ran (else its part is not judged).
        catalogue: whether the catalogue ran (else its part is not judged).
    """
    found = []
    for row in rows:
        name = row.exercise.name
        if tool and row.mutants == 0:
            found.append(f"{name}: mutmut made no mutant of the solution")
        for mutant in row.survived:
            found.append(f"{name}: mutant survived: {_change(mutant)}")
        for mutant in row.other:
            found.append(f"{name}: mutant {mutant.status}: {_change(mutant)}")
        for outcome in row.problems:
            found.append(
                f"{name}: catalogue '{outcome.entry.name}' {outcome.status}"
                + (f" ({outcome.named}, expected {outcome.entry.mistake})"
                   if outcome.status != MISSED else "")
                + f": {outcome.message}"
            )
        if catalogue and len(row.outcomes) < MIN_MISTAKES:
            found.append(
                f"{name}: {len(row.outcomes)} catalogue entries, {MIN_MISTAKES} wanted"
            )
    for entry in stale:
        found.append(
            f"{entry.exercise}: equivalent.toml lists a change that no longer "
            f"survives (remove it): {entry.original!r} -> {entry.mutated!r}"
        )
    return found


def _change(mutant: Mutant) -> str:
    return f"{mutant.original!r} -> {mutant.mutated!r} ({mutant.name})"


HEADER = (
    "| Exercise | Tool mutants | Killed | Equivalent | Survived | Score "
    "| Catalogue | Caught | With its id | Missed |"
)


def markdown(rows: list[Row]) -> str:
    """The score table in Markdown."""
    lines = [HEADER, "|" + "---|" * 10]
    for row in rows:
        label = f"{row.exercise.chapter}/{row.exercise.number}: {row.exercise.title}"
        lines.append(
            f"| {label} | {row.mutants} | {row.killed} | {row.equivalent} "
            f"| {len(row.survived) + len(row.other)} | {row.score} "
            f"| {len(row.outcomes)} | {row.caught} | {row.named} "
            f"| {len(row.problems)} |"
        )
    return "\n".join(lines)


def text(rows: list[Row]) -> str:
    """The score table for a terminal."""
    head = (
        f"{'exercise':<44} {'mutants':>7} {'killed':>6} {'equiv':>5} {'surv':>4} "
        f"{'score':>5} | {'mistakes':>8} {'caught':>6} {'id':>3} {'missed':>6}"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        label = f"{row.exercise.name} {row.exercise.title}"[:44]
        lines.append(
            f"{label:<44} {row.mutants:>7} {row.killed:>6} {row.equivalent:>5} "
            f"{len(row.survived) + len(row.other):>4} {row.score:>5} | "
            f"{len(row.outcomes):>8} {row.caught:>6} {row.named:>3} "
            f"{len(row.problems):>6}"
        )
    return "\n".join(lines)


def catalogue_listing(rows: list[Row]) -> str:
    """Every catalogue entry: what it gets wrong, the check's verdict and first line.

    Written to ``build/mutation/catalogue.md``, to read the messages a student
    would get.
    """
    lines = ["# Catalogue of wrong answers: what each check said", ""]
    for row in rows:
        if not row.outcomes:
            continue
        lines += [f"## {row.exercise.label}", ""]
        for outcome in row.outcomes:
            named = f" `{outcome.named}`" if outcome.named else ""
            lines.append(
                f"- **{outcome.entry.name}** ({outcome.entry.description}): "
                f"{outcome.status}{named}. {outcome.message}"
            )
        lines.append("")
    return "\n".join(lines)


def update_readme(readme: Path, table: str, footer: str) -> None:
    """Replace the README's block between the mutation markers.

    Raises:
        ValueError: the README has no such block.
    """
    content = readme.read_text()
    start, end = content.find(README_START), content.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"{readme} needs {README_START} ... {README_END}")
    block = f"{README_START}\n{table}\n\n{footer}\n{README_END}"
    readme.write_text(content[:start] + block + content[end + len(README_END):])
