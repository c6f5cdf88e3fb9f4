"""Put this process in a submission's cgroups (or under a memory limit), then exec.

Usage (by the grader's worker only, as the first word of the kernel's command)::

    python -I -S jail.py [--procs FILE]... [--rlimit-as BYTES] -- COMMAND...

Each ``--procs`` names a ``cgroup.procs`` file: the process writes its own pid there,
so that it, ``bwrap`` (which it becomes) and everything the sandbox starts are counted
against that group's memory and process caps from their first instruction. Without a
writable cgroup, ``--rlimit-as`` caps each process's address space instead (weaker: per
process, virtual memory). Then it replaces itself with COMMAND. It is run by path with
``-I -S`` and imports only the standard library, so that nothing from the worker's
environment or the course's packages runs before the sandbox is in place.
"""

from __future__ import annotations

import os
import resource
import sys


def parse(argv: list[str]) -> tuple[list[str], int | None, list[str]]:
    """Split the command line.

    Args:
        argv: the arguments after the script's name.

    Returns:
        (cgroup.procs files, address-space limit in bytes or None, the command).

    Raises:
        SystemExit: no command after ``--``, or an unknown option.
    """
    procs, limit = [], None
    index = 0
    while index < len(argv) and argv[index] != "--":
        option = argv[index]
        if option == "--procs" and index + 1 < len(argv):
            procs.append(argv[index + 1])
        elif option == "--rlimit-as" and index + 1 < len(argv):
            limit = int(argv[index + 1])
        else:
            raise SystemExit(f"jail: unknown argument {option!r}")
        index += 2
    command = argv[index + 1 :]
    if not command:
        raise SystemExit("jail: no command after --")
    return procs, limit, command


def main(argv: list[str]) -> None:
    """Join the cgroups, set the limit and exec the command (never returns)."""
    procs, limit, command = parse(argv)
    for path in procs:
        # If this fails, the exception stops the launch: a sandbox that would run
        # without its memory cap must not start at all.
        with open(path, "w", encoding="ascii") as handle:
            handle.write(str(os.getpid()))
    if limit is not None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
