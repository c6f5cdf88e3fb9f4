"""The students' environment stays lean and the developers' sits on top of it.

``environment.yml`` (and Binder's copy) holds what the notebooks import, JupyterLab
and its companions, pinned; ``requirements-dev.txt`` holds the tools (tests, lint,
browser, cluster), pinned too; ``make venv`` installs both in one resolution.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from packaging.requirements import Requirement

from instructor.tools import envfile

ROOT = Path(__file__).resolve().parent.parent
DEV_TOOLS = {"pytest", "pytest-cov", "pytest-xdist", "ruff", "playwright", "dask",
             "distributed", "nbval", "mutmut", "coverage", "rich"}
# What an import name is installed as, where the two differ.
DISTRIBUTIONS = {"tensorflow": "tensorflow-cpu", "PIL": "matplotlib",
                 "IPython": "ipykernel", "pygame": "pygame-ce"}


def student_pins() -> dict[str, Requirement]:
    text = (ROOT / "environment.yml").read_text()
    return {Requirement(line).name.lower(): Requirement(line)
            for line in envfile.pip_requirements(text)}


def dev_pins() -> dict[str, Requirement]:
    lines = [line.split("#")[0].strip()
             for line in (ROOT / "requirements-dev.txt").read_text().splitlines()]
    return {Requirement(line).name.lower(): Requirement(line)
            for line in lines if line}


def imported_modules() -> set[str]:
    """Top-level modules the notebooks and course_utils import (not the stdlib)."""
    found = set()
    sources = [*ROOT.glob("notebooks/[0-9][0-9]_*.py"),
               *ROOT.glob("course_utils/**/*.py")]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return {name for name in found
            if name not in sys.stdlib_module_names and name != "course_utils"}


def test_the_student_environment_holds_no_development_tool():
    bundled = sorted(DEV_TOOLS & set(student_pins()))
    assert not bundled, (
        f"environment.yml (students, Binder, hubs) holds {bundled}: move them to "
        "requirements-dev.txt")


def test_the_student_environment_has_what_the_notebooks_import():
    pins = student_pins()
    missing = sorted(
        name for name in imported_modules()
        if DISTRIBUTIONS.get(name, name).lower().replace("_", "-") not in pins)
    assert not missing, f"the notebooks import {missing}: pin them in environment.yml"
    for needed in ("jupyterlab", "ipykernel", "ipywidgets", "jupytext", "notebook",
                   "nbgitpuller"):
        assert needed in pins, f"environment.yml must pin {needed}"


def test_jupyterlab_and_notebook_agree():
    # Binder's base image has its own notebook; notebook 7.N works with jupyterlab
    # 4.N only (7.4 wants jupyterlab < 4.5), so both are pinned, in step.
    pins = student_pins()
    lab = next(iter(pins["jupyterlab"].specifier)).version.split(".")
    notebook = next(iter(pins["notebook"].specifier)).version.split(".")
    assert (notebook[0], notebook[1]) == ("7", lab[1]) and lab[0] == "4", (
        f"notebook {'.'.join(notebook)} does not go with jupyterlab {'.'.join(lab)}")


def test_the_dev_requirements_are_pinned_and_separate():
    student, dev = student_pins(), dev_pins()
    assert {"pytest", "pytest-xdist", "ruff", "nbval", "playwright"} <= set(dev)
    loose = [str(p) for p in dev.values()
             if len(p.specifier) != 1 or "==" not in str(p.specifier)]
    assert not loose, f"requirements-dev.txt: pin exact versions (==), not {loose}"
    both = sorted(set(student) & set(dev))
    assert not both, f"{both} pinned in both environment.yml and requirements-dev.txt"


def test_make_venv_installs_both_files_in_one_resolution():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^\$\(STAMP\):(.*?)\n\n", makefile, re.M | re.S).group(0)
    assert "requirements-dev.txt" in recipe.splitlines()[0], "a $(STAMP) prerequisite"
    assert re.search(r"pip install .*-r \$\(VENV\)/requirements\.txt "
                     r"-r requirements-dev\.txt", recipe), recipe
