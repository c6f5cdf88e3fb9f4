"""The grader's probe, run by the kernel itself instead of by a cell (grading only).

In grading, the check after an exercise is not run as a cell: a cell's code looks its
names up among the student's globals, and a submission can shadow any of them
(``__import__``, the checks module, ``display``) to hand the grader data recorded
beforehand. The grader's kernel loads this module as an IPython extension at start,
before any cell runs, and it registers a handler for one more kind of kernel message,
``course_probe_request``. The grader's worker sends that message where the check cell
stood; the handler takes the student's objects from the namespace by the names the
course's check call passes, and runs the probe (``core.emit_named``) from this
module's own globals, with the request's challenge. It answers with a
``course_probe_reply`` (``status`` and, for a failure outside the probe, ``ename``
and ``evalue``); the probe's data goes out as display data, as from a cell.

Nothing here decides a verdict: the grader judges the data in its own process, on
cases rebuilt from the challenge (``challenge``). Student code runs in the same
process and could still replace this handler; what it cannot do is produce correct
outputs for cases it has not seen without computing them.
"""

from __future__ import annotations

import functools
from typing import Any

REQUEST = "course_probe_request"
REPLY = "course_probe_reply"
MAX_NAMES = 20
EVALUE_LIMIT = 2000


def load_ipython_extension(shell: Any) -> None:
    """Register the probe request's handler with the shell's kernel (IPython calls
    this for ``--InteractiveShellApp.extensions``)."""
    kernel = getattr(shell, "kernel", None)
    if kernel is not None and isinstance(getattr(kernel, "shell_handlers", None),
                                         dict):
        kernel.shell_handlers[REQUEST] = functools.partial(handle, kernel, shell)


def handle(kernel: Any, shell: Any, stream: Any, idents: Any, msg: dict) -> None:
    """Run one probe request and send its reply (ipykernel's handler signature)."""
    try:
        reply = run_request(shell.user_ns, msg.get("content") or {})
    except KeyboardInterrupt:  # the grader interrupted a probe over its time limit
        reply = failure("KeyboardInterrupt", "interrupted")
    except BaseException as error:  # noqa: BLE001 (the student's SystemExit & co.)
        # Whatever the student's code raised past the probe, the grader must get a
        # reply, or it would wait for the cell's time limit and lose the error.
        reply = failure(type(error).__name__, str(error))
    kernel.session.send(stream, REPLY, reply, msg, idents)


def failure(name: str, value: str) -> dict:
    """A reply for a failure outside the probe, like a cell's error."""
    return {"status": "error", "ename": name, "evalue": value[:EVALUE_LIMIT]}


def run_request(namespace: dict, content: dict) -> dict:
    """Run the probe that a request names on the student's objects.

    Args:
        namespace: the student's namespace (the shell's ``user_ns``).
        content: ``{"module", "function", "args": [names], "kwargs": {key: name},
            "challenge"}``, written by the grader.

    Returns:
        The reply's content.
    """
    from .core import emit_named

    if content.get("ping"):  # the grader's worker asks whether this handler is here
        return {"status": "ok"}
    names = list(content.get("args") or [])
    keywords = dict(content.get("kwargs") or {})
    if len(names) + len(keywords) > MAX_NAMES:
        return failure("ValueError", "too many names in the probe request")
    try:
        objects = [namespace[name] for name in names]
        keyword_objects = {key: namespace[name] for key, name in keywords.items()}
    except KeyError as missing:
        return failure("NameError", f"name {missing.args[0]!r} is not defined")
    try:
        emit_named(str(content["module"]), str(content["function"]), *objects,
                   challenge=content.get("challenge"), **keyword_objects)
    except Exception as error:  # reported like an exception in a check cell
        return failure(type(error).__name__, str(error))
    return {"status": "ok"}
