"""Feedback in stages: what is wrong first, the line that fixes it on request.

A failed check first says what is wrong and how to think about it (its message).
When the failure also knows the line of code that fixes it (``CheckFailed.fix``),
that line is held back: the message ends with :data:`FIX_OFFER`, and the fix is
shown

- by :func:`show_fix` (``cu.show_fix()``), for the last check that failed, or
- when the same check fails again with the same mistake (same mistake id, or the
  same fix when the mistake has no id), in the same kernel.

A different mistake starts again from the first stage; a check that passes
forgets its failures. The memory is this module's, so it lives as long as the
kernel: one mechanism for every chapter, kept by :func:`~.core.run_check`.

The grader, which shows its report to the instructor, gets the fix at once
(:func:`~.core.judge_payload` appends :func:`fix_line`).
"""

from __future__ import annotations

from dataclasses import dataclass

FIX_OFFER = (
    "Run `cu.show_fix()` (or run the check again after a change that still "
    "fails) to see the line that fixes it."
)
FIX_LEAD = "Fix: "


@dataclass
class _Failure:
    """The last failure of one exercise's check, and how often it came in a row."""

    exercise: str
    key: tuple
    fix: str | None
    count: int = 1


# Per kernel: the last failure of each exercise, and which exercise failed last.
_failures: dict[str, _Failure] = {}
_last: list[str] = []  # at most one exercise name


def fix_line(fix: str) -> str:
    """The fix as shown after the message: ``"Fix: <fix>"``."""
    return FIX_LEAD + fix


def staged(exercise: str, failure: AssertionError) -> AssertionError:
    """Remember a failure of ``exercise``'s check; the failure to show for it.

    Args:
        exercise: the check's exercise, e.g. ``"2 (discounted returns)"``.
        failure: the judge's :class:`~.core.CheckFailed` (``mistake``, ``fix``).

    Returns:
        ``failure`` itself when it has no fix; otherwise a new failure of the same
        type whose message ends with :data:`FIX_OFFER` (first time) or with the fix
        (the same mistake again).
    """
    mistake = getattr(failure, "mistake", None)
    fix = getattr(failure, "fix", None)
    key = (mistake, None if mistake is not None else fix)
    previous = _failures.get(exercise)
    if previous is not None and previous.key == key:
        previous.count += 1
        previous.fix = fix
        current = previous
    else:
        current = _failures[exercise] = _Failure(exercise, key, fix)
    _last[:] = [exercise]
    if not fix:
        return failure
    ending = fix_line(fix) if current.count >= 2 else FIX_OFFER
    return type(failure)(f"{failure}\n{ending}", mistake, fix)


def forget(exercise: str) -> None:
    """The check of ``exercise`` passed: forget its failures."""
    _failures.pop(exercise, None)
    if _last == [exercise]:
        _last.clear()


def show_fix() -> None:
    """Print the line that fixes the last failed check (or why there is none).

    Usage in a notebook: ``cu.show_fix()`` after a check cell failed.
    """
    if not _last or _last[0] not in _failures:
        print("No check has failed in this kernel (or the last one that failed "
              "passes now): there is no fix to show.")
        return
    failure = _failures[_last[0]]
    if not failure.fix:
        print(f"Exercise {failure.exercise}: this failure has no fix line to show; "
              "its message says what is wrong and what to look at.")
        return
    failure.count = max(failure.count, 2)  # shown: a repeat shows it too
    print(f"Exercise {failure.exercise}: {fix_line(failure.fix)}")


def reset() -> None:
    """Forget every failure (a fresh kernel; used by the tests)."""
    _failures.clear()
    _last.clear()
