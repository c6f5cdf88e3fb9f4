"""Each student notebook runs cleanly up to its first exercise and stops there.

A student opens the generated version, runs every cell, and must meet a clean notebook
(no error, nothing on stderr) until the first exercise, whose stub raises
``NotImplementedError`` naming the exercise. The cells are executed with nbclient in a
fresh kernel, in a temporary working folder.
"""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from instructor.tools import student

ROOT = student.Path(__file__).resolve().parent.parent
STUDENT_NOTEBOOKS = [student.student_path(s) for s in student.solution_notebooks(ROOT)]


def first_stub_index(notebook) -> int:
    """Index of the first code cell that holds an exercise's stub."""
    return next(
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and "raise NotImplementedError(" in cell.source
    )


@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=lambda p: p.name)
def test_student_notebook_stops_at_first_exercise(path, tmp_path, monkeypatch):
    # A kernel started with PYTEST_CURRENT_TEST set leaves C-level output (TensorFlow's
    # C++ notices) out of the cells' outputs (ipykernel defers to pytest's capture):
    # without it, the kernel shows the cells what a student sees.
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    # oneDNN on, as TensorFlow sets it by itself on AVX512-VNNI/AMX processors, where
    # it prints a notice at import whatever TF_CPP_MIN_LOG_LEVEL says (no training
    # runs before the first exercise, so its numerics do not matter here).
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    notebook = nbformat.read(path, as_version=4)
    stub = first_stub_index(notebook)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    failure = None
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as error:
                failure = (index, error)
                break
            noise = [
                out.get("text", "")
                for out in cell.outputs
                if out.get("output_type") == "stream" and out.get("name") == "stderr"
            ]
            assert not noise, f"{path.name}, cell {index + 1} wrote to stderr: {noise}"
    assert failure is not None, (
        f"{path.name} ran to the end: its exercises raise nothing"
    )
    index, error = failure
    assert index >= stub, (
        f"{path.name}: cell {index + 1} failed before the first exercise "
        f"(cell {stub + 1}):\n{str(error)[-1500:]}"
    )
    # The stub may sit in a function definition: the check cell right after it then
    # reports the exercise as not done (CheckFailed), naming the stub.
    next_code = next(
        (i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and i > stub),
        stub,
    )
    assert index in (stub, next_code), (
        f"{path.name}: the first exercise's stub (cell {stub + 1}) did not stop the "
        f"notebook; it stopped at cell {index + 1}: {error.ename}: {error.evalue}"
    )
    stopped_by_stub = error.ename == "NotImplementedError" or (
        error.ename == "CheckFailed" and "not done yet" in error.evalue
    )
    assert stopped_by_stub, (
        f"{path.name}, cell {index + 1}: expected the exercise's NotImplementedError "
        f"(or its check saying it is not done yet), got {error.ename}: {error.evalue}"
    )
    assert "Exercise" in error.evalue, error.evalue
