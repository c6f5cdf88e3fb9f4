"""Put this process in a submission's cgroups and namespaces, then exec.

Usage (by the grader only, as the first words of the worker's and the kernel's
commands)::

    python -I -S jail.py [--procs FILE]... [--rlimit-as BYTES]
        [--tmpfs DIR BYTES UID GID] [--user UID GID] -- COMMAND...

Each ``--procs`` names a ``cgroup.procs`` file: the process writes its own pid there,
so that it, what it becomes and everything that starts later are counted against that
group's memory and process caps from their first instruction. Without a writable
cgroup, ``--rlimit-as`` caps each process's address space instead (weaker: per
process, virtual memory).

``--tmpfs`` (the worker's launch, as root): the process moves to a mount namespace of
its own (nothing it mounts is seen by the host) and mounts there, on DIR, a tmpfs of
BYTES bytes, ``nosuid,nodev,noexec``, mode 0700, owned by UID:GID: the kernel's socket
folder. It vanishes, whatever was written in it, when the worker and the sandbox are
gone; the host keeps only the empty folder DIR.

``--user`` (the kernel's launch, as root): COMMAND (``bwrap``) runs as the
unprivileged UID:GID instead of root, so that its user namespace maps the sandbox's
uid 0 to UID. Before dropping root, the process moves to a mount namespace of its own
where every folder ``bwrap`` binds (``--bind``, ``--ro-bind``, ``--ro-bind-try``) is
reachable by UID: a folder on the way that UID may not enter (``/root``, mode 0700,
holding pyenv's Python, say) is covered with an empty read-only tmpfs in which only the
bound paths are put back (bind mounts of folders opened beforehand). The sandbox's
processes then read those files with UID's rights (world-readable files only).

Then it replaces itself with COMMAND. It is run by path with ``-I -S`` and imports
only the standard library, so that nothing from the worker's environment or the
course's packages runs before the sandbox is in place.
"""

from __future__ import annotations

import ctypes
import os
import resource
import stat
import sys

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
# Files and folders a socket folder may hold (a kernel makes about 6).
TMPFS_INODES = 16384
ARITY = {"--procs": 1, "--rlimit-as": 1, "--tmpfs": 4, "--user": 2}
BIND_OPTIONS = ("--bind", "--ro-bind", "--ro-bind-try", "--bind-try")


def parse(argv: list[str]) -> tuple[dict[str, list[list[str]]], list[str]]:
    """Split the command line.

    Args:
        argv: the arguments after the script's name.

    Returns:
        (each option's argument lists, in order, the command).

    Raises:
        SystemExit: no command after ``--``, or an unknown or incomplete option.
    """
    options: dict[str, list[list[str]]] = {name: [] for name in ARITY}
    index = 0
    while index < len(argv) and argv[index] != "--":
        option = argv[index]
        count = ARITY.get(option)
        if count is None or index + count >= len(argv):
            raise SystemExit(f"jail: unknown or incomplete argument {option!r}")
        options[option].append(argv[index + 1 : index + 1 + count])
        index += 1 + count
    command = argv[index + 1 :]
    if not command:
        raise SystemExit("jail: no command after --")
    return options, command


def libc_call(name: str, *arguments) -> None:
    """Call a libc function that returns -1 on failure; raise OSError then."""
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*arguments) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{name}: {os.strerror(number)}")


def mount(source: str | None, target: str, kind: str | None, flags: int,
          data: str | None = None) -> None:
    """mount(2)."""
    encode = lambda text: None if text is None else os.fsencode(text)  # noqa: E731
    libc_call("mount", encode(source), encode(target), encode(kind),
              ctypes.c_ulong(flags), encode(data))


def private_mounts() -> None:
    """Move to a mount namespace of our own whose mounts never reach the host's."""
    libc_call("unshare", CLONE_NEWNS)
    mount(None, "/", None, MS_REC | MS_PRIVATE)


def mount_tmpfs(folder: str, size: int, uid: int, gid: int) -> None:
    """A small ``nosuid,nodev,noexec`` tmpfs on ``folder``, owned by uid:gid."""
    mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
          f"size={size},nr_inodes={TMPFS_INODES},mode=0700,uid={uid},gid={gid}")


def may_enter(info: os.stat_result, uid: int, gid: int) -> bool:
    """Whether uid:gid (no other groups) may search a folder with this status."""
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid == gid:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def first_barrier(path: str, uid: int, gid: int) -> str | None:
    """The outermost folder on the way to ``path`` that uid:gid may not enter."""
    parts = path.strip("/").split("/")
    for depth in range(len(parts)):
        folder = "/" + "/".join(parts[:depth])
        if not may_enter(os.stat(folder), uid, gid):
            return folder
    return None


def bind_sources(command: list[str]) -> list[str]:
    """The existing host paths that ``bwrap``'s bind options name, resolved."""
    found = []
    for index, word in enumerate(command[:-2]):
        if word in BIND_OPTIONS:
            source = os.path.realpath(command[index + 1])
            if os.path.exists(source) and source not in found:
                found.append(source)
    return found


def make_reachable(command: list[str], uid: int, gid: int) -> None:
    """Cover each folder uid:gid may not enter on the way to a bound path with an
    empty tmpfs holding only the bound paths (in our own mount namespace)."""
    blocked: dict[str, list[tuple[str, int]]] = {}
    for source in bind_sources(command):
        barrier = first_barrier(source, uid, gid)
        if barrier is not None:
            # Opened before anything is covered: the bind below mounts what it opened.
            handle = os.open(source, os.O_PATH)
            blocked.setdefault(barrier, []).append((source, handle))
    for barrier, sources in blocked.items():
        mount("tmpfs", barrier, "tmpfs", MS_NOSUID | MS_NODEV,
              "size=65536,nr_inodes=1024,mode=0755")
        for source, handle in sources:
            if stat.S_ISDIR(os.stat(handle).st_mode):
                os.makedirs(source, mode=0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(source), mode=0o755, exist_ok=True)
                open(source, "a").close()  # noqa: SIM115
            mount(f"/proc/self/fd/{handle}", source, None, MS_BIND | MS_REC)
            os.close(handle)
        mount(None, barrier, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def drop_to(uid: int, gid: int) -> None:
    """Become uid:gid for good, with no supplementary groups."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def main(argv: list[str]) -> None:
    """Join the cgroups, set the limits, mounts and user, and exec (never returns)."""
    options, command = parse(argv)
    for (path,) in options["--procs"]:
        # If this fails, the exception stops the launch: a sandbox that would run
        # without its memory cap must not start at all.
        with open(path, "w", encoding="ascii") as handle:
            handle.write(str(os.getpid()))
    for (limit,) in options["--rlimit-as"]:
        resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))
    if options["--tmpfs"] or options["--user"]:
        private_mounts()
    for folder, size, uid, gid in options["--tmpfs"]:
        mount_tmpfs(folder, int(size), int(uid), int(gid))
    for uid, gid in options["--user"]:
        make_reachable(command, int(uid), int(gid))
        drop_to(int(uid), int(gid))
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
