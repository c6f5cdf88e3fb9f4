"""A chapter's own code, run outside its notebook (for the benchmarks).

The benchmarks that repeat a chapter's experiment on many seeds run the notebook's
code cells as written, from its jupytext source, up to the cell where the notebook
starts the run they repeat: the same functions, no copy to drift.
"""

from __future__ import annotations

import contextlib
import io
import linecache
import os
from pathlib import Path


def code_cells(path: Path, stop: str, skipped_tags=frozenset()) -> list[str]:
    """The notebook's code cells before the first one that starts with ``stop``.

    Args:
        path: the notebook's ``.py`` source.
        stop: how the first cell NOT taken starts (the run being repeated).
        skipped_tags: cells with any of these tags are left out.

    Raises:
        ValueError: no cell starts with ``stop``.
    """
    import jupytext

    cells = []
    for cell in jupytext.read(path).cells:
        if cell.cell_type != "code":
            continue
        if cell.source.lstrip().startswith(stop):
            return cells
        if set(skipped_tags).intersection(cell.metadata.get("tags", [])):
            continue
        cells.append(cell.source)
    raise ValueError(f"{path} has no cell starting with {stop!r}")


def run_cells(sources: list[str], label: str) -> dict:
    """Run code cells in one new namespace, quietly; return the namespace.

    Each cell gets a file name of its own in linecache, as in a kernel: tf.function's
    AutoGraph reads the functions' source there.
    """
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace = {"__name__": label.replace(" ", "")}
    # The cells print and draw as they would for a student: not wanted here.
    with contextlib.redirect_stdout(io.StringIO()):
        for index, source in enumerate(sources):
            name = f"<{label}, cell {index}>"
            lines = source.splitlines(keepends=True)
            linecache.cache[name] = (len(source), None, lines, name)
            exec(compile(source, name, "exec"), namespace)  # noqa: S102
    return namespace
