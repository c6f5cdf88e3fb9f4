"""Make an installed students' environment smaller without changing what it runs.

TensorFlow's wheel is most of the students' environment, and two parts of it are
never used by a notebook:

- ``tensorflow/include``: C++ headers, for compiling custom ops (287 MB);
- the symbol tables of the shared libraries (``.symtab``/``.strtab``, 205 MB in
  ``libtensorflow_cc.so.2`` alone): only debuggers and crash symbolisers read them.
  ``strip --strip-unneeded`` removes them and keeps the dynamic symbols, which are
  what the loader and Python's extension imports use. It is run on TensorFlow's
  shared libraries that have a symbol table (250 MB of the 290 MB that stripping
  every library would save), and on no other package's: ``strip`` corrupts the
  libraries that auditwheel rewrote with patchelf (numpy's vendored OpenBLAS then
  fails to load: "ELF load command address/offset not page-aligned").

No package is uninstalled: every one left is a declared dependency of a pinned
package (libclang and tensorboard of tensorflow, debugpy of ipykernel...), and
removing one would make ``pip check`` fail.

Safe by construction: it only touches files inside the site-packages of the given
prefix, which must be a Python environment (a venv's ``pyvenv.cfg`` or a conda
environment's ``conda-meta``); it follows no symbolic link, leaves hard-linked files
alone (a conda environment shares them with its package cache, so stripping one
would change every environment that links it), replaces a stripped library
atomically (a running kernel keeps the file it mapped), and is idempotent (a second
run finds nothing to do). Without ``strip`` (binutils) it says so and only deletes
the headers. Standard library only: ``binder/postBuild`` runs it as a plain script.

    python instructor/tools/slim_env.py PREFIX [--dry-run]
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Folders (relative to site-packages) that nothing imports at run time.
UNUSED_DIRS = ("tensorflow/include",)
# Folders (relative to site-packages) whose shared libraries are stripped: only
# those checked to work stripped (benchmarks/student_env_size.py runs a chapter).
STRIPPED_DIRS = ("tensorflow",)
SHT_SYMTAB = 2  # ELF section type of the (non-dynamic) symbol table
TEMPORARY_SUFFIX = ".slim-tmp"


class RefusedPrefix(ValueError):
    """The prefix is not a Python environment this tool may modify."""


@dataclass
class Summary:
    """What ``slim`` did (or, with ``dry_run``, would do)."""

    removed: list[Path] = field(default_factory=list)
    stripped: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    saved_bytes: int = 0


def environment_root(prefix: str | os.PathLike) -> Path:
    """Return the resolved prefix, or raise ``RefusedPrefix`` with the reason.

    A prefix is accepted when it is a directory holding ``pyvenv.cfg`` (venv) or
    ``conda-meta/`` (conda), and is not the file system's root.
    """
    path = Path(prefix)
    if not path.is_dir():
        raise RefusedPrefix(f"{prefix}: not a directory")
    root = path.resolve()
    if root == Path(root.anchor):
        raise RefusedPrefix(f"{prefix}: refusing the file system's root")
    if not (root / "pyvenv.cfg").is_file() and not (root / "conda-meta").is_dir():
        raise RefusedPrefix(
            f"{prefix}: not a Python environment (no pyvenv.cfg, no conda-meta/); "
            "give the prefix of a venv or conda environment, e.g. "
            "\"$(python -c 'import sys; print(sys.prefix)')\""
        )
    return root


def site_packages(root: Path) -> list[Path]:
    """The site-packages folders of the environment, inside it (each once)."""
    found = []
    for candidate in sorted(root.glob("lib*/python3*/site-packages")):
        # A venv's lib64 is a link to lib: resolve to count each folder once, and
        # never leave the prefix through a link.
        real = candidate.resolve()
        if real.is_dir() and real.is_relative_to(root) and real not in found:
            found.append(real)
    return found


def has_symbol_table(path: Path) -> bool:
    """Whether ``path`` is an ELF file with a ``.symtab`` section (not stripped).

    Reads the section headers only, so that an already stripped library costs no
    ``strip`` run: that is what makes a second ``slim`` cheap.
    """
    try:
        with path.open("rb") as file:
            ident = file.read(16)
            if len(ident) < 16 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2):
                return False
            wide = ident[4] == 2  # ELFCLASS64
            order = "<" if ident[5] == 1 else ">"
            header = file.read(48 if wide else 36)
            if wide:
                shoff, = struct.unpack_from(order + "Q", header, 0x28 - 16)
                shentsize, shnum = struct.unpack_from(order + "HH", header, 0x3A - 16)
            else:
                shoff, = struct.unpack_from(order + "I", header, 0x20 - 16)
                shentsize, shnum = struct.unpack_from(order + "HH", header, 0x2E - 16)
            if not shoff or shentsize < 8:
                return False
            if shnum == 0:  # more than 0xff00 sections: the count is in section 0
                file.seek(shoff + (32 if wide else 20))
                size = file.read(8 if wide else 4)
                shnum, = struct.unpack(order + ("Q" if wide else "I"), size)
            for index in range(shnum):
                file.seek(shoff + index * shentsize + 4)
                kind = file.read(4)
                if len(kind) < 4:
                    return False
                if struct.unpack(order + "I", kind)[0] == SHT_SYMTAB:
                    return True
    except (OSError, struct.error):
        return False
    return False


def shared_libraries(folder: Path) -> list[Path]:
    """Regular files named like shared libraries (``x.so``, ``x.so.2``) in folder."""
    found = []
    for parent, dirs, files in os.walk(folder):  # os.walk follows no link by default
        dirs.sort()
        for name in sorted(files):
            # A leftover of an interrupted strip_file is not a library to strip.
            if name.endswith(TEMPORARY_SUFFIX):
                continue
            if name.endswith(".so") or ".so." in name:
                path = Path(parent, name)
                if not path.is_symlink() and path.is_file():
                    found.append(path)
    return found


def disk_bytes(path: Path) -> int:
    """Bytes a file or folder takes on disk (like ``du``), links not followed."""
    if path.is_symlink() or not path.is_dir():
        return path.lstat().st_blocks * 512
    total = 0
    for parent, _, files in os.walk(path):
        total += sum(Path(parent, name).lstat().st_blocks * 512 for name in files)
    return total


def remove_tree(folder: Path) -> None:
    """``shutil.rmtree``, where a file already gone is no error: the goal is reached
    (a concurrent run, or a file vanishing under overlay file systems, as once seen
    while measuring)."""

    def ignore_missing(function, path, error):
        error = error if isinstance(error, BaseException) else error[1]
        if not isinstance(error, FileNotFoundError):
            raise error

    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=ignore_missing)
    else:
        shutil.rmtree(folder, onerror=ignore_missing)


def strip_file(strip: str, path: Path) -> int:
    """Strip ``path`` into a new file next to it, then replace it; return the bytes
    saved. Raises ``subprocess.CalledProcessError`` when strip fails (the original
    is then left as it was)."""
    temporary = path.with_name(f".{path.name}{TEMPORARY_SUFFIX}")
    before = disk_bytes(path)
    try:
        subprocess.run(
            [strip, "--strip-unneeded", "-o", str(temporary), str(path)],
            check=True, capture_output=True, text=True,
        )
        shutil.copymode(path, temporary)
        # os.replace gives the library a new inode: a kernel that has mapped the old
        # one keeps running on it, where rewriting in place could crash it.
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return before - disk_bytes(path)


def slim(
    prefix: str | os.PathLike,
    *,
    dry_run: bool = False,
    strip: str | None = "auto",
    log: Callable[[str], None] = print,
) -> Summary:
    """Delete the unused folders of an environment and strip TensorFlow's libraries.

    Args:
        prefix: the environment's prefix (``sys.prefix`` of its Python).
        dry_run: only report what would be done.
        strip: path of the ``strip`` program; ``"auto"`` looks it up on PATH, None
            skips stripping.
        log: where the messages go.

    Returns:
        A ``Summary``; with ``dry_run``, ``saved_bytes`` counts the folders only.

    Raises:
        RefusedPrefix: when ``prefix`` is not a Python environment.
    """
    root = environment_root(prefix)
    summary = Summary()

    def skip(message: str) -> None:
        summary.skipped.append(message)
        log(message)

    folders = site_packages(root)
    if not folders:
        raise RefusedPrefix(f"{prefix}: no lib/python3*/site-packages inside it")
    if strip == "auto":
        strip = shutil.which("strip")
        if strip is None:
            skip("strip (binutils) not found: shared libraries left unstripped "
                 "(apt-get install binutils to save about 250 MB more)")
    for folder in folders:
        for relative in UNUSED_DIRS:
            target = folder / relative
            if target.is_symlink():
                skip(f"{target}: a symbolic link, left alone")
            elif target.is_dir() and target.resolve().is_relative_to(root):
                size = disk_bytes(target)
                log(f"{'would remove' if dry_run else 'removing'} {target} "
                    f"({size / 2**20:.0f} MiB)")
                if not dry_run:
                    remove_tree(target)
                summary.removed.append(target)
                summary.saved_bytes += size
        if strip is None:
            continue
        libraries = [library for relative in STRIPPED_DIRS
                     if (folder / relative).is_dir()
                     and not (folder / relative).is_symlink()
                     for library in shared_libraries(folder / relative)]
        for library in libraries:
            if not library.resolve().is_relative_to(root):
                continue
            if not has_symbol_table(library):
                continue  # already stripped, or not ELF
            if library.stat().st_nlink > 1:
                skip(f"{library}: hard-linked (shared with other copies), left alone")
                continue
            if dry_run:
                log(f"would strip {library}")
                summary.stripped.append(library)
                continue
            try:
                saved = strip_file(strip, library)
            except subprocess.CalledProcessError as error:
                reason = error.stderr.strip()
                skip(f"{library}: strip failed, left as it was ({reason})")
                continue
            summary.stripped.append(library)
            summary.saved_bytes += saved
    libraries = "library" if len(summary.stripped) == 1 else "libraries"
    if dry_run:
        log(f"would remove {len(summary.removed)} folder(s) "
            f"({summary.saved_bytes / 2**20:.0f} MiB) and strip "
            f"{len(summary.stripped)} {libraries}")
    else:
        log(f"removed {len(summary.removed)} folder(s), stripped "
            f"{len(summary.stripped)} {libraries}: "
            f"{summary.saved_bytes / 2**20:.0f} MiB saved")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prefix", help="the environment's prefix (its sys.prefix)")
    parser.add_argument("--dry-run", action="store_true",
                        help="only list what would be removed or stripped")
    args = parser.parse_args(argv)
    try:
        slim(args.prefix, dry_run=args.dry_run)
    except RefusedPrefix as error:
        print(f"slim_env: refused: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
