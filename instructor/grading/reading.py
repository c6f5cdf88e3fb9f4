"""Read a submitted notebook file without trusting it.

A submission's file is the student's: it may be a link to a system file, a device, a
file of gigabytes, or JSON built to exhaust memory. So (security decisions):

- the file is opened relative to the submissions folder, one path component at a
  time, never following a link (``O_NOFOLLOW``): a link found on the way is followed
  only when its target is inside the submissions folder, and the target is then
  opened the same way, so a link swapped in between is refused, not followed;
- only a regular file is read, and at most ``max_bytes + 1`` bytes of it: a larger
  one is ``invalid`` without being parsed;
- before the JSON is parsed, the number of values it can hold is estimated from its
  bytes (commas, braces, brackets): JSON made of millions of tiny values (``[{},{},
  ...``) would take 20-60 times its size in Python objects, so such a file is
  refused; a notebook's JSON (mostly text) stays far below the budget;
- error messages never quote the file's content (JSON errors say where, not what),
  and nbformat's validation, which logs what it finds, is not run.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import warnings
from pathlib import Path

MB = 2**20
DEFAULT_MAX_MB = 50
LINK_OUTSIDE = "a link to a {kind} outside the submissions folder (not read)"
# Estimated Python memory per JSON value (a string or number with its list slot)
# and per object (a dict): the pre-parse budget below uses these.
VALUE_BYTES, OBJECT_BYTES = 64, 200
# A file may hold values estimated at this many times its size, plus a constant: the
# course's notebooks come to about 2.5 times (code is full of commas and brackets).
BUDGET_RATIO, BUDGET_EXTRA = 4, 32 * MB
READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)


class InvalidNotebook(ValueError):
    """A file that is not a readable Jupyter notebook (the message says why)."""


def inside(path: str, root: str) -> bool:
    """Whether a real (resolved) path is ``root`` or below it."""
    return os.path.commonpath([path, root]) == root


def walk_open(root: Path, parts: tuple[str, ...]) -> int:
    """Open ``root/parts...`` without following a link on the way; return the fd.

    Raises:
        OSError: ELOOP (or ENOTDIR) when a component is a link, and any other
            failure to open.
    """
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            if part in ("", ".", ".."):
                raise OSError(errno.EINVAL, "not a plain path component")
            below = os.open(part, READ_FLAGS | os.O_DIRECTORY, dir_fd=directory)
            os.close(directory)
            directory = below
        # O_NONBLOCK: a FIFO named *.ipynb must not block the grader on open.
        return os.open(parts[-1], READ_FLAGS | os.O_NONBLOCK, dir_fd=directory)
    finally:
        os.close(directory)


def open_below(root: Path, relative: Path) -> int:
    """Open a file below ``root``, refusing any link that leads outside it.

    Args:
        root: the submissions folder (itself may be a link: the instructor's choice).
        relative: the file's path inside it.

    Returns:
        An open file descriptor, read-only.

    Raises:
        InvalidNotebook: a link leads outside ``root``, or the file cannot be opened.
    """
    parts = relative.parts
    if not parts or relative.is_absolute() or ".." in parts:
        raise InvalidNotebook("not a file inside the submissions folder")
    try:
        return walk_open(root, parts)
    except OSError as error:
        if error.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise InvalidNotebook(f"cannot be opened ({error.strerror})") from None
    # A link on the way: allowed only if it stays inside the submissions folder.
    real_root = os.path.realpath(root)
    target = os.path.realpath(root / relative)
    if not inside(target, real_root):
        kind = "folder" if os.path.isdir(target) else "file"
        raise InvalidNotebook(LINK_OUTSIDE.format(kind=kind))
    try:
        parts = Path(os.path.relpath(target, real_root)).parts
        return walk_open(Path(real_root), parts)
    except OSError:  # the resolved path holds a link again: it changed under us
        raise InvalidNotebook("a link that changed while it was read") from None


def read_limited(fd: int, max_bytes: int) -> bytes:
    """Read a regular file's bytes, at most ``max_bytes``; closes ``fd``.

    Raises:
        InvalidNotebook: not a regular file, or larger than ``max_bytes``.
    """
    limit_mb = f"{max_bytes / MB:g} MB"
    with os.fdopen(fd, "rb", buffering=0) as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InvalidNotebook("not a regular file")
        if info.st_size > max_bytes:
            raise InvalidNotebook(
                f"larger than the {limit_mb} limit ({info.st_size / MB:.1f} MB): "
                "not read (see --max-size-mb)"
            )
        data = handle.read(info.st_size + 1)
        if len(data) > info.st_size:  # grew since fstat: read on, to the limit
            data += handle.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        raise InvalidNotebook(f"larger than the {limit_mb} limit: not read")
    return data


def within_budget(data: bytes) -> bool:
    """Whether parsing this JSON stays within a few times its size in memory.

    Counts are upper bounds (commas and brackets inside strings count too), so a
    file passes only if even its worst reading fits.
    """
    objects = data.count(b"{")
    values = data.count(b",") + data.count(b"[") + 1
    estimate = VALUE_BYTES * values + OBJECT_BYTES * objects
    return estimate <= BUDGET_RATIO * len(data) + BUDGET_EXTRA


def parse_notebook(data: bytes):
    """Turn a file's bytes into an nbformat version 4 notebook.

    Args:
        data: the file's bytes (already size-limited).

    Returns:
        The ``NotebookNode``, without nbformat's validation.

    Raises:
        InvalidNotebook: with a message that names the problem and where, never
            the file's content.
    """
    if not within_budget(data):
        raise InvalidNotebook(
            "not a readable Jupyter notebook (far too many JSON values for its size)"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidNotebook(f"not UTF-8 text (byte {error.start})") from None
    del data  # keep one copy of the content in memory, not two
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise InvalidNotebook(f"not valid JSON ({where})") from None
    except RecursionError:
        raise InvalidNotebook("not valid JSON (nested too deeply)") from None
    del text
    return notebook_from(content)


def notebook_from(content) -> object:
    """An nbformat version 4 notebook from parsed JSON; InvalidNotebook otherwise."""
    import nbformat
    from nbformat import reader

    if not isinstance(content, dict):
        raise InvalidNotebook("not a Jupyter notebook (the JSON is not an object)")
    major, minor = reader.get_version(content)
    if not isinstance(major, int) or major not in nbformat.versions or major < 3:
        raise InvalidNotebook("not a Jupyter notebook (no supported nbformat version)")
    try:
        with warnings.catch_warnings():
            # Notebooks saved by older Jupyter versions have no cell ids: nbformat
            # adds them and warns, which means nothing to an instructor.
            warnings.simplefilter("ignore")
            notebook = nbformat.versions[major].to_notebook_json(content, minor=minor)
            if major != 4:
                notebook = nbformat.convert(notebook, 4)
    except (AttributeError, KeyError, TypeError):
        raise InvalidNotebook(
            "not a readable Jupyter notebook (a required field is missing or wrong)"
        ) from None
    except Exception as error:  # names the failure's kind only, never the content
        reason = type(error).__name__
        raise InvalidNotebook(f"not a readable Jupyter notebook ({reason})") from None
    cells = notebook.get("cells")
    if not isinstance(cells, list) or not all(
        isinstance(cell, dict) and "cell_type" in cell for cell in cells
    ):
        raise InvalidNotebook("not a readable Jupyter notebook (no list of cells)")
    return notebook


def read_submission(root: Path, relative: Path, max_bytes: int):
    """Read a submission below the submissions folder, safely (see the module).

    Args:
        root: the submissions folder.
        relative: the file's path inside it.
        max_bytes: the size limit; a larger file is not read.

    Returns:
        The ``NotebookNode`` (nbformat 4).

    Raises:
        InvalidNotebook: with the reason, which never quotes the file.
    """
    return parse_notebook(read_limited(open_below(root, relative), max_bytes))


def read_path(path: Path, max_bytes: int = DEFAULT_MAX_MB * MB):
    """Read a notebook file the instructor named (the course's own notebooks).

    Links are followed (the instructor chose the path); the size limit and the
    parsing are the same as for submissions.

    Raises:
        InvalidNotebook: the file cannot be read or is not a notebook.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as error:
        raise InvalidNotebook(f"cannot be opened ({error.strerror})") from None
    return parse_notebook(read_limited(fd, max_bytes))
