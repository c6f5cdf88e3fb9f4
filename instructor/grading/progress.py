"""What the grader shows while it works, on stderr.

On a terminal: a progress bar (rich's) with the submissions done out of all, the time
elapsed and the estimated time left, and the file(s) being graded now; each graded
submission's line scrolls above it. The time left is estimated from the submissions
done (``Estimate``): "estimating" until the first one is. Elsewhere (a log file, CI,
a pipe): only those lines, one per submission, as plain text. With ``--quiet``: nothing.

File names are the students' (security): every name shown goes through
``report.visible`` (its invisible and control characters escaped) and every line
through ``report.printable`` (no escape sequence or control character reaches the
terminal)
and is printed as plain text, never as rich markup (a file named ``[blink]x.ipynb``
stays that text).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

NAME_WIDTH = 40
ESTIMATING = "estimating"


class Estimate:
    """The time left, from how long the submissions done so far took.

    Each submission's time runs from ``started`` to ``finished``. With ``mean`` their
    mean, the work left is ``mean`` for each submission not started plus, for each one
    running, what ``mean`` leaves of it; shared by the workers, and never less than
    the longest single piece left (one submission runs on one worker). The workers
    are ``workers`` if given, else the most submissions seen running at once.

    Rich's own estimate (its ``TimeRemainingColumn``) averages the speed over the
    last 30 seconds: with submissions that take a minute or more each, it has no
    sample most of the time and shows ``-:--:--`` for the whole run.

    Thread-safe: ``started`` and ``finished`` come from the grading threads,
    ``seconds_left`` from the bar's refresh thread.
    """

    def __init__(self, total: int, workers: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.workers = workers
        self.clock = clock
        self.running: list[tuple[str, float]] = []  # (name, start), in start order
        self.durations: list[float] = []
        self.peak = 0
        self.lock = threading.Lock()

    def started(self, name: str) -> None:
        with self.lock:
            self.running.append((name, self.clock()))
            self.peak = max(self.peak, len(self.running))

    def finished(self, name: str) -> None:
        with self.lock:
            now = self.clock()
            for position, (running, start) in enumerate(self.running):
                if running == name:
                    del self.running[position]
                    self.durations.append(max(0.0, now - start))
                    return
            self.durations.append(0.0)  # finished without a start: took no time

    def seconds_left(self) -> float | None:
        """The estimated seconds left; None until a submission is done."""
        with self.lock:
            if not self.durations:
                return None
            now = self.clock()
            mean = sum(self.durations) / len(self.durations)
            waiting = max(0, self.total - len(self.durations) - len(self.running))
            pieces = [max(0.0, mean - (now - start)) for _, start in self.running]
            if waiting:
                pieces.append(mean)
            workers = max(1, self.workers or self.peak)
            total = sum(pieces) + mean * max(0, waiting - 1)
            return max(total / workers, max(pieces, default=0.0))

    def text(self) -> str:
        """The time left as the bar shows it: ``0:01:05``, or "estimating"."""
        left = self.seconds_left()
        if left is None:
            return ESTIMATING
        seconds = round(left)
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def eta_column(estimate: Estimate):
    """A rich column showing ``estimate.text()`` each time the bar is drawn."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class TimeLeft(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"ETA {estimate.text()}", style="progress.remaining")

    return TimeLeft()


def shown(name: str, width: int = NAME_WIDTH) -> str:
    """A file name as the bar shows it: visible, clipped from the left."""
    from instructor.grading.report import visible

    text = visible(name)
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
        workers: how many submissions are graded at once, for the time left; None
            counts the most seen running at once.
        clock: the time in seconds (tests give their own).
    """

    def __init__(self, total: int, stream: TextIO | None = None, quiet: bool = False,
                 interactive: bool | None = None, workers: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.estimate = Estimate(total, workers, clock)
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
                eta_column(self.estimate),
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
        self.estimate.started(name)
        with self.lock:
            self.running.append(name)
            if self.bar is not None:
                self.bar.update(self.task, current=self._current())

    def finished(self, name: str, line: str) -> None:
        """A submission is graded: advance the bar and print its line."""
        self.estimate.finished(name)
        with self.lock:
            if name in self.running:
                self.running.remove(name)
            if self.bar is not None:
                self.bar.update(self.task, advance=1, current=self._current())
        self.log(line)
