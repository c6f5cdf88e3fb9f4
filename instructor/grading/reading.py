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
  and nbformat's validation, which logs what it finds, is not run: the notebook's
  shape is checked here, in one pass over its cells (nbformat validated each cell
  again and again: 100,000 tiny cells took ~50 s);
- every kind of hand-in is read or named (``KINDS``): a notebook (``.ipynb``), a
  jupytext percent script (``.py`` with ``# %%`` cells, its size checked before
  jupytext parses it, and its cell markers reduced to their kind, so that no
  header or cell option of the student's is parsed), a ``.zip`` (unpacked in
  memory, never on disk: at most ``ZIP_MAX_MEMBERS`` members, their sizes adding up
  to the size limit, no link, no path out of the archive, no archive inside, no
  member compressed more than ``ZIP_MAX_RATIO`` times), and anything else is
  ``invalid`` with what to hand in instead.
"""

from __future__ import annotations

import errno
import io
import json
import os
import stat
import warnings
import zipfile
from pathlib import Path, PurePosixPath

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
CELL_TYPES = frozenset({"code", "markdown", "raw"})
HAND_IN = "hand in the .ipynb file (File > Download > .ipynb)"
# What each kind of file is, by its suffix: what is graded, else why not.
KINDS = {
    ".ipynb": "notebook",
    ".py": "script",
    ".zip": "zip",
    ".html": f"an HTML export: {HAND_IN}",
    ".htm": f"an HTML export: {HAND_IN}",
    ".pdf": f"a PDF export: {HAND_IN}",
}
NOT_A_NOTEBOOK = "not a notebook (.ipynb)"
NOT_PERCENT = "a Python script, not a notebook: hand in the .ipynb"
# A jupytext script larger than these is refused before jupytext reads it: jupytext
# reads each line character by character (~1-2 us a character) and validates each
# cell it builds (~0.5 ms). A course notebook as a script: ~50,000 characters,
# 1,200 lines, 60 cells.
PY_MAX_CHARS, PY_MAX_LINES, PY_MAX_CELLS = 250_000, 20_000, 1_000
# A .zip: members, and how many times a member may be smaller packed than unpacked
# (notebooks pack 3-10 times; a zip bomb, thousands of times).
ZIP_MAX_MEMBERS, ZIP_MAX_RATIO = 50, 100
GRADED_IN_ZIP = (".ipynb", ".py")
ARCHIVES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".jar")


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


def read_limited(fd: int, max_bytes: int) -> bytearray:
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
        # A bytearray, so that parsing can free it once decoded, whoever else
        # holds it (``parse_notebook``): one copy of the content at a time.
        data = bytearray(info.st_size + 1)
        size = handle.readinto(data) or 0
        del data[size:]
        if size > info.st_size:  # grew since fstat: read on, to the limit
            data += handle.read(max_bytes + 1 - size)
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
    if isinstance(data, bytearray):  # read by read_limited: nothing else needs it
        data.clear()  # keep one copy of the content in memory, not two
    del data
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise InvalidNotebook(f"not valid JSON ({where})") from None
    except RecursionError:
        raise InvalidNotebook("not valid JSON (nested too deeply)") from None
    del text
    return notebook_from(content)


MAX_CELLS = 5_000  # the course's notebooks have about 60; a student adds a few dozen


def notebook_from(content) -> object:
    """An nbformat version 4 notebook from parsed JSON; InvalidNotebook otherwise.

    Built in one pass, without nbformat: each cell keeps its type, its source (one
    string), its metadata and, for code, its outputs as they are (the grader never
    runs or shows them). Version 3 notebooks (worksheets, ``input``, ``heading``
    cells) are converted the same way.
    """
    if not isinstance(content, dict):
        raise InvalidNotebook("not a Jupyter notebook (the JSON is not an object)")
    major, minor = content.get("nbformat"), content.get("nbformat_minor", 0)
    if type(major) is not int or major not in (3, 4):
        raise InvalidNotebook("not a Jupyter notebook (no supported nbformat version)")
    if major == 3:
        worksheets = content.get("worksheets", [])
        if not isinstance(worksheets, list) or not all(
            isinstance(sheet, dict) for sheet in worksheets
        ):
            raise InvalidNotebook(WRONG_FIELD)
        cells = [cell for sheet in worksheets for cell in sheet.get("cells", ())]
    else:
        cells = content.get("cells")
    if not isinstance(cells, list):
        raise InvalidNotebook(WRONG_FIELD)
    if len(cells) > MAX_CELLS:
        # Each cell costs the grader about 5 kB once built and prepared, outside
        # the sandbox's cap: a file of tiny cells would weigh 50 times its size.
        raise InvalidNotebook(f"more than {MAX_CELLS:,} cells (it has {len(cells):,}): "
                              "not a notebook of this course")
    from nbformat import NotebookNode

    metadata = content.get("metadata", {})
    return NotebookNode(
        cells=[cell_from(cell, major, NotebookNode) for cell in cells],
        metadata=NotebookNode(metadata if isinstance(metadata, dict) else {}),
        nbformat=4, nbformat_minor=minor if type(minor) is int else 0)


WRONG_FIELD = "not a readable Jupyter notebook (a required field is missing or wrong)"


def cell_from(cell, major: int, node):
    """One cell as the grader uses it (type, source, metadata, outputs).

    ``node`` is ``nbformat.NotebookNode`` (a dict with attribute access), given by
    the caller: importing it once per cell would cost more than the cell. The
    metadata stays a plain dict (nothing reads it by attribute).

    Raises:
        InvalidNotebook: not a cell (no known type, a source that is not text).
    """
    if not isinstance(cell, dict):
        raise InvalidNotebook(WRONG_FIELD)
    kind = cell.get("cell_type")
    source = cell.get("input" if major == 3 and kind == "code" else "source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise InvalidNotebook(WRONG_FIELD)
    if major == 3 and kind == "heading":
        level = cell.get("level", 1)
        level = level if type(level) is int and 1 <= level <= 6 else 1
        kind, source = "markdown", f"{'#' * level} {source}"
    if kind not in CELL_TYPES:
        raise InvalidNotebook(WRONG_FIELD)
    metadata = cell.get("metadata", {})
    built = node({"cell_type": kind, "source": source,
                  "metadata": metadata if isinstance(metadata, dict) else {}})
    if isinstance(cell.get("id"), str):
        built["id"] = cell["id"]
    if kind == "code":
        outputs = cell.get("outputs", [])
        built["outputs"] = outputs if isinstance(outputs, list) else []
        built["execution_count"] = None
    return built


# ------------------------------------------------------------------ kinds of file


def kind_of(filename: str) -> str:
    """``notebook``, ``script`` or ``zip``; else the message of an invalid file."""
    return KINDS.get(PurePosixPath(filename.lower()).suffix, NOT_A_NOTEBOOK)


def percent_cells(text: str) -> int | None:
    """The number of jupytext percent cell markers (``# %%``), None when there are
    none: then the script is not a notebook."""
    count = sum(1 for line in text.split("\n") if is_marker(line))
    return count or None


def is_marker(line: str) -> bool:
    """Whether a line starts a percent cell (``# %%``, ``#%%``)."""
    stripped = line.lstrip()
    return stripped.startswith("# %%") or stripped.startswith("#%%")


def canonical_markers(text: str) -> str:
    """The script with its YAML header dropped and each cell marker reduced to its
    kind (``# %%``, ``# %% [markdown]``, ``# %% [raw]``): the header and the cell
    options (titles, tags, JSON) are the student's text, which jupytext would parse
    with YAML and regular expressions; grading needs neither."""
    lines = text.split("\n")
    if lines and lines[0].rstrip() == "# ---":
        end = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "# ---"),
                   None)
        if end is not None:
            lines = lines[end + 1:]
    for index, line in enumerate(lines):
        if is_marker(line):
            options = line.lstrip()[4:].lstrip()
            kind = next((k for k in ("[markdown]", "[md]", "[raw]")
                         if options.startswith(k)), "")
            lines[index] = f"# %% {kind}".rstrip()
    return "\n".join(lines)


def parse_script(data: bytes):
    """A jupytext percent script (``.py``) as the notebook it encodes.

    Raises:
        InvalidNotebook: not UTF-8, no ``# %%`` cell (a plain Python script), more
            cells or lines than a notebook has, or jupytext cannot read it.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidNotebook(f"not UTF-8 text (byte {error.start})") from None
    too_large = len(text) > PY_MAX_CHARS or text.count("\n") > PY_MAX_LINES
    cells = None if too_large else percent_cells(text)
    if not too_large and cells is None:
        raise InvalidNotebook(NOT_PERCENT)
    if too_large or cells > PY_MAX_CELLS:
        raise InvalidNotebook(
            f"a jupytext script larger than a notebook (over {PY_MAX_CHARS:,} "
            f"characters, {PY_MAX_LINES:,} lines or {PY_MAX_CELLS:,} cells): not "
            "read; hand in the .ipynb"
        )
    import jupytext

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            notebook = jupytext.reads(canonical_markers(text), fmt="py:percent")
    except Exception as error:  # names the failure's kind only, never the content
        reason = type(error).__name__
        raise InvalidNotebook(f"not a readable jupytext script ({reason})") from None
    return notebook_from({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                          "cells": [dict(cell) for cell in notebook.cells]})


def zip_refusal(data: bytes, max_bytes: int) -> tuple[zipfile.ZipFile | None, str]:
    """The archive opened in memory, or why it is refused (security).

    Refused: more than ``ZIP_MAX_MEMBERS`` members (counted in the raw bytes
    before ``zipfile`` builds one object per member), members whose sizes add up to
    more than ``max_bytes``, a member compressed more than ``ZIP_MAX_RATIO`` times,
    a path that is absolute or climbs (``..``), a link or special file, an archive
    inside, encryption.
    """
    if data.count(b"PK\x01\x02") > ZIP_MAX_MEMBERS:  # central directory entries
        return None, f"a .zip of more than {ZIP_MAX_MEMBERS} files: not unpacked"
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        return None, "not a readable .zip archive"
    if len(members) > ZIP_MAX_MEMBERS:
        return None, f"a .zip of more than {ZIP_MAX_MEMBERS} files: not unpacked"
    total = 0
    for info in members:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ":" in parts[0] or ".." in parts or (
            "\x00" in name
        ):
            return None, "a .zip with a file outside the archive (an absolute path " \
                         "or ..): not unpacked"
        kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no Unix type recorded
        if info.create_system == 3 and kind and kind not in (stat.S_IFREG,
                                                             stat.S_IFDIR):
            return None, "a .zip holding a link or a special file: not unpacked"
        if info.flag_bits & 0x1:
            return None, "a password-protected .zip: not unpacked"
        if not info.is_dir() and name.lower().endswith(ARCHIVES):
            return None, "a .zip holding another archive: hand in the notebooks"
        if info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1) and (
            info.file_size > MB
        ):
            return None, (f"a .zip with a file compressed more than {ZIP_MAX_RATIO} "
                          "times (a zip bomb?): not unpacked")
        total += info.file_size
    if total > max_bytes:
        return None, (f"a .zip that unpacks to more than the {max_bytes / MB:g} MB "
                      "limit: not unpacked (see --max-size-mb)")
    return archive, ""


def open_zip(data: bytes, max_bytes: int) -> zipfile.ZipFile:
    """The archive, or InvalidNotebook with why it is refused (``zip_refusal``)."""
    archive, why = zip_refusal(data, max_bytes)
    if archive is None:
        raise InvalidNotebook(why)
    return archive


def graded_members(archive: zipfile.ZipFile) -> list[str]:
    """The members of an archive graded as submissions (``.ipynb``, ``.py``), sorted.

    Folders, hidden files and folders (``.ipynb_checkpoints`` too) and macOS's
    ``__MACOSX`` copies are left out.
    """
    found = set()
    for info in archive.infolist():
        parts = info.filename.split("/")
        if info.is_dir() or any(part.startswith(".") or part == "__MACOSX"
                                for part in parts):
            continue
        if info.filename.lower().endswith(GRADED_IN_ZIP):
            found.add(info.filename)
    return sorted(found)


def zip_member(data: bytes, member: str, max_bytes: int) -> bytes:
    """One member's bytes, unpacked in memory from a checked archive.

    Raises:
        InvalidNotebook: the archive is refused, or no longer holds the member, or
            the member cannot be unpacked.
    """
    archive = open_zip(data, max_bytes)
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise InvalidNotebook("the .zip no longer holds this file") from None
    try:
        with archive.open(info) as handle:
            unpacked = handle.read(info.file_size + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError,
            OSError, ValueError) as error:
        reason = type(error).__name__
        raise InvalidNotebook(f"a file of the .zip cannot be unpacked ({reason})"
                              ) from None
    except Exception as error:  # zlib.error, lzma.LZMAError...
        reason = type(error).__name__
        raise InvalidNotebook(f"a file of the .zip cannot be unpacked ({reason})"
                              ) from None
    if len(unpacked) > info.file_size:
        raise InvalidNotebook("a file of the .zip is larger than the archive says")
    return unpacked


def zip_contents(root: Path, relative: Path, max_bytes: int) -> list[str]:
    """The members of a submitted ``.zip`` to grade, one submission each.

    Raises:
        InvalidNotebook: the archive cannot be read or is refused, or holds no
            notebook.
    """
    return zip_contents_of(read_limited(open_below(root, relative), max_bytes),
                           max_bytes)


def parse_hand_in(data: bytes, filename: str, max_bytes: int,
                  member: str | None = None):
    """A hand-in's bytes as a notebook, whatever its kind (``KINDS``).

    Args:
        data: the file's bytes (already size-limited).
        filename: its name (the suffix says its kind).
        max_bytes: the size limit (a zip's members together).
        member: for a ``.zip``, the member to read.

    Raises:
        InvalidNotebook: with why, in words a student understands.
    """
    kind = kind_of(filename)
    if kind == "zip":
        if member is None:
            members = zip_contents_of(data, max_bytes)
            raise InvalidNotebook(f"a .zip: its {len(members)} notebook(s) are "
                                  "graded one by one")
        return parse_hand_in(zip_member(data, member, max_bytes), member, max_bytes)
    if kind == "notebook":
        return parse_notebook(data)
    if kind == "script":
        return parse_script(data)
    raise InvalidNotebook(kind)


def zip_contents_of(data: bytes, max_bytes: int) -> list[str]:
    """``graded_members`` of an archive's bytes; InvalidNotebook if none or refused."""
    members = graded_members(open_zip(data, max_bytes))
    if not members:
        raise InvalidNotebook("a .zip holding no notebook (.ipynb) or jupytext "
                              "script (.py)")
    return members


def read_submission(root: Path, relative: Path, max_bytes: int,
                    member: str | None = None):
    """Read a submission below the submissions folder, safely (see the module).

    Args:
        root: the submissions folder.
        relative: the file's path inside it.
        max_bytes: the size limit; a larger file is not read.
        member: for a ``.zip``, the file inside it to read.

    Returns:
        The ``NotebookNode`` (nbformat 4).

    Raises:
        InvalidNotebook: with the reason, which never quotes the file.
    """
    fd = open_below(root, relative)
    kind = kind_of(relative.name)
    if kind not in ("notebook", "script", "zip"):
        os.close(fd)  # opened only to tell a link outside from a wrong kind
        raise InvalidNotebook(kind)
    return parse_hand_in(read_limited(fd, max_bytes), relative.name, max_bytes,
                         member)


def submission_bytes(root: Path, relative: Path, max_bytes: int,
                     member: str | None = None) -> bytes:
    """A submission's bytes as the grader reads them: the file's, or for a ``.zip``
    member the member's, unpacked in memory (for grading elsewhere: Dask).

    Raises:
        InvalidNotebook: the file, or the archive, cannot be read.
    """
    data = read_limited(open_below(root, relative), max_bytes)
    return data if member is None else zip_member(data, member, max_bytes)


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
