"""What the grader shows while it works, on stderr.

On a terminal: a progress bar (rich's) with the submissions done out of all, the time
elapsed and the estimated time left, and the file(s) being graded now; each graded
submission's line scrolls above it. Elsewhere (a log file, CI, a pipe): only those
lines, one per submission, as plain text. With ``--quiet``: nothing.

File names are the students' (security): every name and line shown goes through
``report.printable`` (no escape sequence or control character reaches the terminal)
and is printed as plain text, never as rich markup (a file named ``[blink]x.ipynb``
stays that text).
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

NAME_WIDTH = 40


def shown(name: str, width: int = NAME_WIDTH) -> str:
    """A file name as the bar shows it: printable, clipped from the left."""
    from instructor.grading.report import printable

    text = printable(name)
    return text if len(text) <= width else "…" + text[-(width - 1):]


class Progress:
    """The grader's progress display (see the module).

    Use as a context manager; ``started`` and ``finished`` may be called from
    several threads.

    Args:
        total: how many submissions will be graded.
        stream: where to write (stderr).
        quiet: show nothing at all.
        interactive: draw the bar; None decides from ``stream.isatty()``.
    """

    def __init__(self, total: int, stream: TextIO | None = None, quiet: bool = False,
                 interactive: bool | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.quiet = quiet
        if interactive is None:
            isatty = getattr(self.stream, "isatty", None)
            interactive = bool(isatty and isatty())
        self.interactive = interactive and not quiet
        self.running: list[str] = []
        self.lock = threading.Lock()
        self.bar = None
        self.task = None

    def __enter__(self) -> Progress:
        if self.interactive:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Column,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            console = Console(file=self.stream, force_terminal=True, highlight=False)
            # The file names take what is left of the line and are cut there: the
            # counts and times keep their width on an 80-column terminal.
            names = Column(no_wrap=True, overflow="ellipsis", ratio=1)
            self.bar = Bar(
                TextColumn("grading"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[current]}", markup=False, table_column=names),
                console=console,
                transient=False,
                expand=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("grading", total=self.total, current="")
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop drawing the bar (it stays on screen in its last state)."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def log(self, line: str) -> None:
        """Print a line (above the bar on a terminal); nothing when quiet."""
        from instructor.grading.report import printable

        if self.quiet:
            return
        if self.bar is not None:
            self.bar.console.print(printable(line), markup=False, highlight=False)
        else:
            print(printable(line), file=self.stream, flush=True)

    def _current(self) -> str:
        """The files being graded, each clipped so that all of them fit."""
        width = max(12, NAME_WIDTH // max(1, len(self.running)))
        return ", ".join(shown(name, width) for name in self.running)

    def started(self, name: str) -> None:
        """A submission's grading started: the bar names it."""
        with self.lock:
            self.running.append(name)
            if self.bar is not None:
                self.bar.update(self.task, current=self._current())

    def finished(self, name: str, line: str) -> None:
        """A submission is graded: advance the bar and print its line."""
        with self.lock:
            if name in self.running:
                self.running.remove(name)
            if self.bar is not None:
                self.bar.update(self.task, advance=1, current=self._current())
        self.log(line)
