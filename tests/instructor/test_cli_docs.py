"""The README documents every option of the instructor's commands, and the commands
are installed (``[project.scripts]``)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pytest

from instructor import grade, grade_unit, merge

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


class Built(Exception):
    """Raised instead of parsing, with the parser that was built."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


def options_of(module) -> set[str]:
    """Every long option of ``module.parse_arguments``'s parser (help left out)."""

    def capture(parser, *args, **kwargs):
        raise Built(parser)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_args", capture)
        with pytest.raises(Built) as built:
            module.parse_arguments([])
    return {option for action in built.value.parser._actions
            for option in action.option_strings
            if option.startswith("--") and option != "--help"}


def section(title: str) -> str:
    """A README section: from its heading to the next heading of its level or above."""
    start = README.index(f"\n### {title}")
    end = re.search(r"\n#{1,3} ", README[start + 1:])
    return README[start:start + 1 + end.start()] if end else README[start:]


def options_table(text: str) -> dict[str, str]:
    """The rows of the first ``| option | default | meaning |`` table: option -> row."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if re.fullmatch(r"\|\s*option\s*\|\s*default\s*\|\s*meaning\s*\|",
                                 line.strip()))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        first = line.split("|")[1]
        for option in OPTION.findall(first):
            rows[option] = line
    return rows


GRADING = section("Grade students' submissions")
BEYOND = section("Grading beyond one machine")


def test_the_parsers_are_found():
    assert {"--out", "--workers", "--kernel", "--scheduler"} <= options_of(grade)
    assert {"--index", "--count", "--out"} <= options_of(grade_unit)
    assert {"--submissions", "--key-file"} <= options_of(merge)


def test_every_option_of_the_grader_has_a_row_in_the_options_table():
    table = options_table(GRADING)
    missing = sorted(options_of(grade) - set(table))
    assert not missing, f"README's options table of instructor.grade lacks {missing}"
    unknown = sorted(set(table) - options_of(grade))
    assert not unknown, f"README's options table names options that do not exist: " \
        f"{unknown}"
    for row in table.values():  # a default and a meaning in every row
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        assert len(cells) == 3 and all(cells), row


@pytest.mark.parametrize("module", [grade_unit, merge], ids=["grade_unit", "merge"])
def test_every_option_of_the_unit_and_the_merge_is_documented(module):
    # Their options are in "Grading beyond one machine" (the commands' table and the
    # paragraph under it).
    documented = set(OPTION.findall(BEYOND))
    missing = sorted(options_of(module) - documented)
    assert not missing, f"README's 'Grading beyond one machine' lacks {missing} of " \
        f"{module.__name__}"


def test_the_commands_are_installed_scripts_and_documented():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"course-grade": "instructor.grade:main",
                       "course-merge": "instructor.merge:main",
                       "course-grade-unit": "instructor.grade_unit:main"}
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
        "setuptools"]["packages"]["find"]["include"]
    assert "instructor*" in packages  # the scripts import it from any folder
    for name in scripts:
        assert f"`{name}`" in GRADING


def test_an_installed_command_runs_from_another_folder(tmp_path):
    script = Path(sys.executable).parent / "course-grade"
    if not script.exists():
        pytest.skip("course-grade is not installed (pip install -e . installs it)")
    import subprocess

    done = subprocess.run([str(script), "--help"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--kernel" in done.stdout
