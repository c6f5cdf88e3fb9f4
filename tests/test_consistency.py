"""Repository consistency: pairs in sync, student versions up to date and leak-free,
environment files that agree, generated links current, lint clean.

Each failure names the file and the command that fixes it.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys

import jupytext
import nbformat
import pytest
import tomllib
from packaging.requirements import Requirement

from instructor.tools import envfile, links, student

ROOT = student.Path(__file__).resolve().parent.parent
SOURCES = student.solution_notebooks(ROOT)


def cell_signature(notebook) -> list[tuple[str, str, tuple[str, ...]]]:
    """What a pair must agree on: each cell's type, source and tags."""
    return [
        (cell.cell_type, cell.source, tuple(cell.get("metadata", {}).get("tags", [])))
        for cell in notebook.cells
    ]


def test_there_are_notebooks():
    assert len(SOURCES) >= 2, "expected notebooks/01_*.py and notebooks/02_*.py"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_pair_in_sync(source):
    pair = source.with_suffix(".ipynb")
    rel = pair.relative_to(ROOT)
    assert pair.exists(), f"{rel} is missing: run `make sync`"
    expected = cell_signature(jupytext.read(source, fmt="py:percent"))
    got = cell_signature(nbformat.read(pair, as_version=4))
    assert got == expected, (
        f"{rel} has drifted from {source.relative_to(ROOT)} (the .py is the source of "
        "truth): run `make sync`"
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_pair_committed_without_outputs(source):
    notebook = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    with_outputs = [
        index + 1
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count)
    ]
    assert not with_outputs, (
        f"{source.with_suffix('.ipynb').relative_to(ROOT)} has outputs in cells "
        f"{with_outputs}: clear them (Kernel > Restart and Clear Outputs, then "
        "`make sync`)"
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_pair_has_a_kernel(source):
    notebook = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3", (
        f"{source.relative_to(ROOT)} has no python3 kernelspec: run `make sync`"
    )


def test_student_versions_up_to_date():
    stale = [str(p.relative_to(ROOT)) for p in student.stale_student_versions(ROOT)]
    assert not stale, f"out of date: {', '.join(stale)}: run `make student`"


def solution_lines(source_text: str) -> list[str]:
    """The meaningful lines written between solution markers."""
    lines, inside = [], False
    for line in source_text.splitlines():
        marker = line.strip()
        if marker in (student.BEGIN, student.END):
            inside = marker == student.BEGIN
        elif inside and len(marker) > 12 and not marker.startswith("#"):
            lines.append(marker)
    return lines


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_student_version_leaks_no_solution(source):
    solution = jupytext.read(source, fmt="py:percent")
    student_nb = nbformat.read(student.student_path(source), as_version=4)
    student_text = "\n".join(cell.source for cell in student_nb.cells)
    code_lines = [
        line
        for cell in solution.cells
        if cell.cell_type == "code"
        for line in solution_lines(cell.source)
    ]
    # A solution line may legitimately appear elsewhere in the notebook (outside the
    # markers); only count it as a leak when the student version has it more often.
    outside = "\n".join(
        student.strip_solution(c.source, "x", "x") if c.cell_type == "code" else ""
        for c in solution.cells
        if student.SOLUTION_TAG not in c.get("metadata", {}).get("tags", [])
    )
    leaks = [
        line for line in code_lines if student_text.count(line) > outside.count(line)
    ]
    hidden_cells = [
        cell.source
        for cell in solution.cells
        if student.SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])
    ]
    leaks += [text[:60] for text in hidden_cells if text.strip() in student_text]
    assert not leaks, f"{student.student_path(source).name} leaks solutions: {leaks}"
    stubs = student_text.count("raise NotImplementedError(")
    markers = sum(cell.source.count(student.BEGIN) for cell in solution.cells)
    assert markers >= 1 and stubs >= markers, (
        f"{source.name}: {markers} solution regions but {stubs} stubs in the student "
        "version"
    )


def test_environment_files_agree():
    main = (ROOT / "environment.yml").read_text()
    binder = (ROOT / "binder" / "environment.yml").read_text()
    assert binder == main, (
        "binder/environment.yml differs from environment.yml: copy it "
        "(`cp environment.yml binder/environment.yml`)"
    )
    assert envfile.conda_python(main) == "3.11", "environment.yml must pin python=3.11"
    pins = [Requirement(line) for line in envfile.pip_requirements(main)]
    loose = [
        str(p) for p in pins if len(p.specifier) != 1 or "==" not in str(p.specifier)
    ]
    assert not loose, f"environment.yml: pin exact versions (==), not {loose}"


def test_package_requirements_are_loose_and_met_by_the_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {
        Requirement(line).name.lower(): Requirement(line)
        for line in envfile.pip_requirements((ROOT / "environment.yml").read_text())
    }
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = requirement.name.lower()
        assert name not in {"tensorflow", "tensorflow-cpu", "keras", "ipywidgets"}, (
            f"pyproject.toml: course-utils must not depend on {name} (Colab has it)"
        )
        assert "==" not in str(requirement.specifier), f"{line}: keep it loose"
        assert name in pins, f"{name} is required by pyproject.toml but not pinned"
        pinned = next(iter(pins[name].specifier)).version
        assert requirement.specifier.contains(pinned), (
            f"environment.yml pins {name}=={pinned}, outside pyproject.toml's {line}"
        )


def test_links_up_to_date():
    stale = [str(p.relative_to(ROOT)) for p in links.stale_files(ROOT)]
    assert not stale, f"repository links out of date in {stale}: run `make sync`"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_colab_cell_installs_only_the_course_package(source):
    text = source.read_text()
    match = re.search(r'^COURSE_PACKAGE = "(.*)"$', text, re.M)
    assert match, (
        f"{source.name}: the Colab install cell (COURSE_PACKAGE = ...) is gone"
    )
    assert match.group(1) == links.course_package(ROOT), "run `make links`"
    assert "google.colab" in text
    for package in ("tensorflow", "keras", "ipywidgets"):
        assert not re.search(rf"pip.*install.*\b{package}\b", text), (
            f"{source.name} must not reinstall Colab's {package}"
        )


def test_binder_config():
    binder = ROOT / "binder"
    post_build = (binder / "postBuild").read_text()
    start = (binder / "start").read_text()
    assert "pip install" in post_build and "--no-deps" in post_build
    # Binder and `make venv` install the same JupyterLab settings (no news prompt).
    assert "binder/overrides.json" in post_build
    assert "binder/overrides.json" in (ROOT / "Makefile").read_text()
    overrides = json.loads((binder / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == (
        "false"
    )
    assert "TF_CPP_MIN_LOG_LEVEL" in start and 'exec "$@"' in start
    for script in ("postBuild", "start"):
        assert (binder / script).stat().st_mode & 0o111, f"binder/{script}: chmod +x"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme


def test_ruff_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"ruff (run `make lint`):\n{result.stdout[-3000:]}"


def bench_runner():
    """benchmarks/run.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location(
        "bench_run", ROOT / "benchmarks" / "run.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_closing_notes_come_from_the_saved_bench_run():
    """Each chapter's "Measured on our machine" note, the README's Performance text
    and the saved run (benchmarks/last_run.json) agree: no figure typed by hand."""
    bench = bench_runner()
    run = bench.load_run()
    fix = "run `python benchmarks/run.py --notes` (or `make bench`)"
    for task, path in bench.CHAPTERS.items():
        block = bench.notes_in(path.read_text())
        assert block is not None, f"{path.name} has no closing note markers: {fix}"
        expected = bench.note_block(bench.chapter_note(run, task))
        assert block == expected, f"{path.name}: its closing note is stale: {fix}"
    readme = (ROOT / "README.md").read_text()
    start = readme.index(bench.README_START) + len(bench.README_START)
    assert readme[start : readme.index(bench.README_END)].strip() == run["readme"], (
        "README.md's Performance text differs from benchmarks/last_run.json"
    )
