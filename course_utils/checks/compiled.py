"""Checking a student's function where the training step runs it: in ``tf.function``.

Chapters 02 and 03 compile their update step, so an exercise's function must also
work on symbolic float32 tensors: code that only works on NumPy arrays (``np.*``,
``.numpy()``, ``float()``) passes eager cases and then breaks training. The probe
calls the function once more inside ``tf.function`` (:func:`call_compiled`,
:class:`Compiled`); the judge reads that result with :func:`graph_value`, which says
"works on NumPy only" when the graph call failed for a reason the core did not
already name.

TensorFlow is imported inside the probe-side helpers only: judges stay NumPy-only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .core import CheckFailed, Probe, Records, assert_close


class Compiled:
    """A compiled call of the student's function, named after that function (so that
    an error message shows the student's line, not the check's).

    Attributes:
        compiled: the ``tf.function`` to call.
        python_function: the student's function (the core reads its source line).
    """

    def __init__(self, compiled: Callable[..., Any], student: Any) -> None:
        self.compiled = compiled
        self.python_function = student

    def __call__(self, *args: Any) -> Any:
        return self.compiled(*args)


def call_compiled(
    probe: Probe,
    key: str,
    function: Any,
    case: Mapping[str, Any],
    tensors: Sequence[str],
) -> None:
    """Call ``function`` inside ``tf.function`` on a case; keep the result as ``key``.

    Args:
        probe: the probe recorder.
        key: the record's name, e.g. ``"graph"``.
        function: the student's function (passed on as it is when not callable, so
            that the core reports it).
        case: the inputs by name, in the function's order.
        tensors: the names of the inputs given as float32 tensors, as the compiled
            update step gives them; the others (gamma, bounds) stay Python numbers.
    """
    import tensorflow as tf

    compiled = tf.function(function) if callable(function) else function
    args = [
        tf.constant(value, dtype=tf.float32) if name in tensors else value
        for name, value in case.items()
    ]
    probe.call(key, compiled, *args)


def graph_value(
    records: Records, key: str, *, mistake: str, hint: str, fix: str | None = None
) -> Any:
    """A result computed inside tf.function, after the eager cases passed.

    Args:
        records: the probe's data.
        key: the graph call's record.
        mistake: the id of "works on NumPy arrays (or plain numbers) only".
        hint: what to think about instead, added to the failure's message.
        fix: the line that fixes it (shown on request, see :mod:`.hints`), or None.

    Returns:
        The decoded result.

    Raises:
        CheckFailed: the graph call failed; a failure the core already named keeps
            its id, any other gets ``mistake``, ``hint`` and ``fix``.
    """
    try:
        return records[key]
    except CheckFailed as failure:
        if failure.mistake is not None:
            raise
        raise CheckFailed(f"{failure}\n{hint}", mistake, fix) from None


def assert_graph_close(
    records: Records,
    key: str,
    expected: Any,
    *,
    what: str,
    hint: str,
    graph_only: tuple[str, str],
    mistake: str,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    fix: str | None = None,
    float32: tuple[str, str] | None = None,
) -> None:
    """Fail unless the graph call of the first case gave the reference's values.

    Args:
        records: the probe's data.
        key: the graph call's record (see :func:`call_compiled`).
        expected: the reference's values on that case.
        what: the value's name in messages, e.g. ``"the target y inside
            tf.function"``.
        hint: what to look at when the graph's values differ.
        graph_only: ``(id, hint)`` when the graph call failed (see
            :func:`graph_value`).
        mistake: the id of values that differ inside the graph.
        atol: absolute tolerance.
        rtol: relative tolerance.
        fix: the line that fixes the exercise (shown on request), for both failures.
        float32: ``(id, exercise)`` when the compiled step needs the value in
            float32 (see :func:`require_float32`), or None.

    Raises:
        CheckFailed: the graph call failed, its dtype is not float32 (with
            ``float32``), or its values differ.
    """
    only_id, only_hint = graph_only
    got = graph_value(records, key, mistake=only_id, hint=only_hint, fix=fix)
    if float32 is not None:
        require_float32(got, what=what, exercise=float32[1], mistake=float32[0],
                        fix=fix)
    assert_close(
        got, expected, what=what,
        case="the first case, as float32 TensorFlow tensors", hint=hint,
        mistake=mistake, atol=atol, rtol=rtol, fix=fix,
    )


def require_float32(
    value: Any, *, what: str, exercise: str, mistake: str, fix: str | None = None
) -> None:
    """Fail when a graph result the compiled update step needs in float32 is not.

    On float32 tensors a function that casts to float64 (``tf.cast(..., tf.float64)``,
    a ``tf.float64`` constant) returns the right numbers in float64; the update step
    then meets them with float32 tensors and stops with a raw TensorFlow error that
    names neither the exercise nor the dtype. So the dtype is checked here, where it
    is produced.

    Args:
        value: the decoded graph result (an array, or a list/tuple of arrays).
        what: the value's name in messages, e.g. ``"the target y"``.
        exercise: the exercise's name, e.g. ``"3 (the critic's target)"``.
        mistake: the id of "computes in another float dtype", e.g.
            ``"target/float64"``.
        fix: the line that fixes the exercise (shown on request), or None.

    Raises:
        CheckFailed: a floating-point array that is not float32.
    """
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if not isinstance(item, np.ndarray) or item.dtype.kind != "f":
            continue  # not a float array: the value checks report it
        if item.dtype == np.float32:
            continue
        raise CheckFailed(
            f"Exercise {exercise}: given float32 tensors inside tf.function, "
            f"{what.removesuffix(' inside tf.function')} came back as "
            f"{item.dtype.name}. The compiled update step "
            f"computes in float32: a {item.dtype.name} tensor there fails with a "
            "TensorFlow dtype error when it meets the float32 ones.\n"
            "Hint: keep the inputs' dtype: no cast to float64 and no float64 "
            "constants (`tf.float64`, `np.float64`).",
            mistake, fix,
        )
