"""The check framework: cases, a probe, a judge; failures explained simply.

A check is a :class:`Check`: a **probe** calls the student's code on the check's
cases and keeps what comes back as plain data (:mod:`.plain`); a **judge** compares
that data with an independent reference and returns the success message, or raises
:class:`CheckFailed` naming the mistake. In a notebook, ``check_x(student_fn)`` runs
both in the student's kernel (:func:`run_check`). The grader runs only the probe in
the sandboxed kernel (:func:`emit_probe`) and the judge in its own process
(:func:`judge_payload`), so no code of the student's can decide a verdict: the most a
forged payload can do is hand over correct outputs.

Inside a probe, :func:`call_student` calls the student's function and turns any
exception, ``None`` or wrong type into a failure in the exercise's terms; the judge
converts values with :func:`as_array` and compares with :func:`assert_close`.
"""

from __future__ import annotations

import linecache
import re
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..contract import PROBE_MIME, STUB_MESSAGE, SUCCESS_MARK
from .challenge import challenged
from .hints import fix_line, forget, staged
from .plain import (
    MalformedProbe,
    Opaque,
    StudentError,
    decode,
    dumps,
    encode,
    loads,
    validate,
)

NOT_DONE = "not-done"  # the mistake id of an exercise whose stub still raises

_MAX_MESSAGE = 300


class CheckFailed(AssertionError):
    """A check did not pass; the message says why, in the exercise's terms.

    The message is the first stage of the feedback: what is wrong and how to think
    about it. The line of code that fixes it, when the check knows one, is ``fix``,
    shown only on request (see :mod:`.hints`).

    Attributes:
        mistake: a stable identifier of the typical mistake recognised (for example
            ``"returns/no-discount"``), or None when the check names none.
        fix: the line that fixes it (e.g. "write the test as `if ...:`"), or None.
    """

    def __init__(
        self, message: str = "", mistake: str | None = None, fix: str | None = None
    ) -> None:
        super().__init__(message)
        self.mistake = mistake
        self.fix = fix

    def _render_traceback_(self) -> list[str]:
        """What IPython shows: the message alone, not the checker's frames."""
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer: what it returns on a case, its id and its hint.

    Attributes:
        id: stable identifier, e.g. ``"returns/no-discount"``.
        value: what such an answer returns on the case.
        hint: the message that explains it: what is wrong, how to think about it
            (no line of code that fixes it).
        fix: the line of code that fixes it, shown only on request, or None.
    """

    id: str
    value: Any
    hint: str
    fix: str | None = None


def recognise(
    got: np.ndarray, mistakes: list[Mistake], *, atol: float = 1e-5, rtol: float = 1e-4
) -> Mistake | None:
    """The first typical mistake whose value matches ``got``, or None.

    Args:
        got: the student's value (as an array).
        mistakes: candidates, most specific first.
        atol: absolute tolerance.
        rtol: relative tolerance.

    Returns:
        The matching :class:`Mistake`, or None.
    """
    for mistake in mistakes:
        wrong = np.asarray(mistake.value, dtype=np.float64)
        if wrong.shape == got.shape and np.allclose(got, wrong, atol=atol, rtol=rtol):
            return mistake
    return None


def unpack(value: Any, names: tuple[str, ...], *, function: str) -> tuple:
    """The items of a tuple or list the student's function returned (judge side).

    Args:
        value: the decoded result, e.g. ``(actor_loss, critic_loss)``.
        names: what each item is, in order, e.g. ``("actor_loss", "critic_loss")``.
        function: how to name the function in messages, e.g. ``"ddpg_losses"``.

    Returns:
        The items, as a tuple of ``len(names)``.

    Raises:
        CheckFailed: None, a failure, or not a tuple/list of that length.
    """
    expected = "(" + ", ".join(names) + ")"
    if isinstance(value, StudentError):
        raise CheckFailed(value.message, value.mistake, value.fix)
    if value is None:
        raise CheckFailed(
            f"{function} returned None: expected {expected}. Did you forget the "
            "`return`?"
        )
    if isinstance(value, (tuple, list)) and len(value) == len(names):
        return tuple(value)
    if isinstance(value, (tuple, list)):
        got = f"{type(value).__name__} of length {len(value)}"
    elif isinstance(value, Opaque):
        got = value.description
    else:
        got = _describe(value)
    raise CheckFailed(
        f"{function} should return {len(names)} values, {expected}, got {_short(got)}."
    )


# --------------------------------------------------------------------------------------
# Checks: a probe (student's kernel) and a judge (anywhere)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One exercise's check.

    Attributes:
        exercise: the exercise's name in messages, e.g. ``"2 (discounted returns)"``.
        probe: ``probe(probe_recorder, *student_objects)``: calls the student's code on
            the cases and keeps the results with ``Probe.call`` / ``Probe.keep``.
        judge: ``judge(records) -> str``: reads the kept results (a :class:`Records`),
            compares them with the reference, returns the success message or raises
            :class:`CheckFailed`.
    """

    exercise: str
    probe: Callable[..., None]
    judge: Callable[[Records], str]


class Probe:
    """What a probe keeps of the student's outputs, as plain records."""

    def __init__(self, exercise: str) -> None:
        self.exercise = exercise
        self.records: dict[str, dict] = {}
        self.stopped: dict | None = None

    def call(self, key: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call the student's function; keep its result (or its failure) as ``key``.

        Returns:
            The result, or None when the call failed (the failure is kept).
        """
        try:
            result = call_student(fn, *args, exercise=self.exercise, **kwargs)
        except CheckFailed as failure:
            self.keep(key, StudentError(str(failure), failure.mistake, failure.fix))
            return None
        self.keep(key, result)
        return result

    def call_keeping_inputs(
        self, key: str, fn: Callable[..., Any], inputs: Mapping[str, Any]
    ) -> Any:
        """Like :meth:`call` with ``fn(*inputs.values())``; also keep the inputs.

        The student's function gets copies; each copy is kept as the call left it,
        as ``f"{key}:{name}"``, so that the judge can see an input changed in place
        (and name it).

        Returns:
            The result, or None when the call failed (the failure is kept).
        """
        given = _copy_inputs(list(inputs.values()))
        try:
            result = _invoke(fn, given, {}, self.exercise)
        except CheckFailed as failure:
            result = None
            self.keep(key, StudentError(str(failure), failure.mistake, failure.fix))
        else:
            self.keep(key, result)
        for name, value in zip(inputs, given, strict=True):
            self.keep(f"{key}:{name}", value)
        return result

    def keep(self, key: str, value: Any) -> None:
        """Keep a value (array, tensor, number, sequence, anything) as ``key``."""
        self.records[key] = encode(value, _describe)

    def data(self) -> dict:
        """Everything kept, as plain JSON-ready data."""
        return {"records": self.records, "stopped": self.stopped}


class Records:
    """The judge's view of a probe's data: ``records[key]`` gives a decoded value.

    A key the probe never wrote raises the failure that stopped the probe (so
    failures surface in the order the cases run), or :class:`MalformedProbe` when
    the probe did not stop: such data was not written by the course's probe.
    """

    def __init__(self, data: dict) -> None:
        self._data = validate(data)

    def __contains__(self, key: str) -> bool:
        return key in self._data["records"]

    def __getitem__(self, key: str) -> Any:
        record = self._data["records"].get(key)
        if record is None:
            self.raise_stop()
            raise MalformedProbe(f"the check's data has no {key!r}")
        value = decode(record)
        if isinstance(value, StudentError):
            raise CheckFailed(value.message, value.mistake, value.fix)
        return value

    def raise_stop(self) -> None:
        """Raise the failure that stopped the probe early, if any."""
        stopped = self._data.get("stopped")
        if stopped is not None:
            raise CheckFailed(
                stopped["message"], stopped.get("mistake"), stopped.get("fix")
            )


def run_probe(
    check: Check, *args: Any, challenge: int | None = None, **kwargs: Any
) -> dict:
    """Run a check's probe on the student's objects (in the student's kernel).

    Args:
        check: the check.
        *args, **kwargs: the student's objects, as the check function takes them.
        challenge: the grader's challenge (fresh cases, see :mod:`.challenge`), or
            None for the fixed cases of the notebook.

    Returns:
        Plain data: the kept records, and the failure that stopped the probe if one
        did (a step of the probe itself raising :class:`CheckFailed`).
    """
    probe = Probe(check.exercise)
    with challenged(challenge):
        try:
            check.probe(probe, *args, **kwargs)
        except CheckFailed as failure:
            probe.stopped = encode(
                StudentError(str(failure), failure.mistake, failure.fix), _describe
            )
    return probe.data()


def judge_payload(check: Check, payload: str, challenge: int | None = None) -> str:
    """Judge a probe's JSON (in the grader, or in the notebook after the probe).

    Args:
        check: the check whose probe wrote the payload.
        payload: the probe's data as JSON text.
        challenge: the challenge the probe ran under (the judge builds the same
            cases and recomputes the reference on them), or None.

    Returns:
        The success message.

    Raises:
        CheckFailed: the answer is wrong (with the mistake's id when recognised),
            its message ending with the line that fixes it when the check knows one:
            the grader's report is the instructor's, who sees both stages at once.
        MalformedProbe: the payload is not what the course's probe writes.
    """
    try:
        return _judge_staged(check, payload, challenge)
    except CheckFailed as failure:
        if not failure.fix:
            raise
        raise CheckFailed(
            f"{failure}\n{fix_line(failure.fix)}", failure.mistake, failure.fix
        ) from None


def _judge_staged(check: Check, payload: str, challenge: int | None = None) -> str:
    """:func:`judge_payload`, its failure's fix kept apart (``CheckFailed.fix``)."""
    with challenged(challenge):
        records = Records(loads(payload))
        message = check.judge(records)
        records.raise_stop()  # a probe that stopped early never passes
    return message


def run_check(check: Check, *args: Any, **kwargs: Any) -> None:
    """Probe the student's code, judge the result, print the success line.

    The data goes through the same JSON as in grading, so a check behaves the same
    in the notebook and in the grader. Feedback comes in stages (:mod:`.hints`):
    the line that fixes a mistake is held back until the student asks for it
    (``cu.show_fix()``) or the same mistake fails again.

    Raises:
        CheckFailed: with what is wrong and a hint.
    """
    payload = dumps(run_probe(check, *args, **kwargs))
    try:
        message = _judge_staged(check, payload)
    except MalformedProbe as error:  # only a bug of the course's own probe
        raise CheckFailed(f"Exercise {check.exercise}: {error}") from None
    except CheckFailed as failure:
        raise staged(check.exercise, failure) from None
    forget(check.exercise)
    passed(message)


def check_of(function: Callable[..., Any]) -> Check:
    """The :class:`Check` behind a notebook's check function (``check_x``).

    A check function is ``def check_x(student): run_check(CHECK_X, student)``: its
    Check is the module global it names. (Used by the grader, which calls the probe
    and the judge apart.)

    Raises:
        LookupError: the function does not run a Check.
    """
    found = getattr(function, "check", None)
    if isinstance(found, Check):
        return found
    code = getattr(function, "__code__", None)
    module_globals = getattr(function, "__globals__", {})
    for name in getattr(code, "co_names", ()):
        candidate = module_globals.get(name)
        if isinstance(candidate, Check):
            return candidate
    raise LookupError(f"{getattr(function, '__name__', function)!r} runs no Check")


def find_check(module: str, function: str) -> Check:
    """The Check of ``module.function`` (e.g. ``course_utils.checks.cartpole``)."""
    import importlib

    return check_of(getattr(importlib.import_module(module), function))


def emit_named(
    module: str, function: str, *args: Any, challenge: int | None = None,
    **kwargs: Any,
) -> None:
    """Run the probe of ``module.function`` on the student's objects, for the grader.

    This is what the grader puts in a check cell instead of the check call, with the
    challenge of this submission (fresh cases the judge rebuilds).
    """
    emit_probe(find_check(module, function), *args, challenge=challenge, **kwargs)


def emit_probe(
    check: Check, *args: Any, challenge: int | None = None, **kwargs: Any
) -> None:
    """Run the probe and display its data for the grader (no verdict here).

    The grader reads the display output of MIME type ``PROBE_MIME`` from the check
    cell and judges it in its own process.
    """
    from IPython.display import display

    payload = dumps(run_probe(check, *args, challenge=challenge, **kwargs))
    display({PROBE_MIME: payload, "text/plain": "(check data for the grader)"},
            raw=True)


def call_student(fn: Callable[..., Any], *args: Any, exercise: str, **kwargs: Any):
    """Call the student's function on copies of the inputs.

    NumPy arrays (also inside lists, tuples and dicts) are deep-copied, so the
    student's code can neither change the check's cases nor be blamed for it;
    other objects (models, buffers) are passed as they are.

    Args:
        fn: the student's function.
        *args: positional inputs.
        exercise: exercise name used in messages, e.g. ``"1.2 returns"``.
        **kwargs: keyword inputs.

    Returns:
        Whatever ``fn`` returns.

    Raises:
        CheckFailed: ``fn`` is not callable, is not done yet
            (``NotImplementedError``), or raised another exception.
    """
    return _invoke(fn, _copy_inputs(args), _copy_inputs(kwargs), exercise)


def _invoke(fn: Callable[..., Any], args, kwargs, exercise: str) -> Any:
    """Call ``fn(*args, **kwargs)`` as given; explain any failure (see call_student)."""
    if not callable(fn):
        raise CheckFailed(
            f"Exercise {exercise}: expected a function, got {_describe(fn)}."
        )
    try:
        return fn(*args, **kwargs)
    except Exception as error:  # any student error is a failure
        if isinstance(error, NotImplementedError) and not _symbolic_misuse(error):
            detail = _stub_detail(str(error), exercise)
            raise CheckFailed(
                f"Exercise {exercise} is not done yet: replace the "
                f"`raise NotImplementedError` line with your solution{detail}.",
                NOT_DONE,
            ) from None
        if _symbolic_misuse(error):
            # TensorFlow raises NotImplementedError here, the stub's exception too:
            # say what happened instead, so that no one looks for a stub left over.
            message = _error_message(
                fn, error, exercise, args, kwargs, lead=_symbolic_lead(error)
            )
            raise CheckFailed(
                message + "\n" + _symbolic_hint(error), "tf/numpy-in-graph"
            ) from None
        message = _error_message(fn, error, exercise, args, kwargs)
        if _ambiguous_truth(error, _student_line(fn, error)):
            hinted = message + "\n" + TRUTH_HINT
            raise CheckFailed(hinted, "array/truth-value") from None
        raise CheckFailed(message) from None


def as_array(
    value: Any,
    *,
    name: str,
    shape: tuple[int | None, ...] | None = None,
    dtype_kind: str | None = "f",
) -> np.ndarray:
    """Convert a student's result to a NumPy array, or fail with a clear message.

    Args:
        value: the result (NumPy array, list, number, or TensorFlow tensor).
        name: what the value is, in the exercise's words, e.g. ``"returns"``.
        shape: expected shape; ``None`` entries match any size; ``None`` skips
            the check.
        dtype_kind: ``"f"`` numbers (returned as float64, must be finite),
            ``"i"`` integers (returned as int64), ``"b"`` booleans, ``None`` any
            numbers (dtype kept).

    Returns:
        A new array of ``shape`` (never a view of ``value``).

    Raises:
        CheckFailed: ``None``, not numeric, ragged, wrong shape, wrong kind, NaN.
    """
    expected = f"{name} with shape {_shape_text(shape)}" if shape is not None else name
    if isinstance(value, StudentError):
        raise CheckFailed(value.message, value.mistake, value.fix)
    if isinstance(value, Opaque):
        raise CheckFailed(f"expected {expected}, got {value.description}")
    if value is None:
        raise CheckFailed(f"expected {expected}, got None. Did you forget a `return`?")
    array = _to_numpy(value, expected)
    if shape is not None:
        _check_shape(array, shape, name)
    return _check_kind(array, dtype_kind, name)


def assert_close(
    got: Any,
    expected: Any,
    *,
    what: str,
    case: Any,
    hint: str,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    mistake: str | None = None,
    fix: str | None = None,
) -> None:
    """Fail unless ``got`` matches ``expected`` within tolerances.

    Args:
        got: the student's value (converted with :func:`as_array`).
        expected: the reference value (array-like of numbers).
        what: name of the value, e.g. ``"discounted returns"``.
        case: the small input case, as a string or a dict of input names to values.
        hint: what to look at when it fails.
        atol: absolute tolerance.
        rtol: relative tolerance.
        mistake: the id of the typical mistake the hint explains, if one.
        fix: the line that fixes it, shown only on request (:mod:`.hints`).

    Raises:
        CheckFailed: showing the case, expected vs got (rounded) and the hint.
    """
    reference = np.asarray(expected, dtype=np.float64)
    values = as_array(got, name=what, shape=reference.shape)
    if np.allclose(values, reference, atol=atol, rtol=rtol):
        return
    lines = [
        f"{what} is not right on this case:",
        f"  {_case_text(case)}",
        "  expected: " + _format(reference).replace("\n", "\n" + " " * 12),
        "  got:      " + _format(values).replace("\n", "\n" + " " * 12),
    ]
    diagnosis = _diagnose(values, reference, atol=atol, rtol=rtol)
    if diagnosis:
        lines.append(f"  ({diagnosis})")
    lines.append(f"Hint: {hint}")
    raise CheckFailed("\n".join(lines), mistake, fix)


def assert_close_naming(
    got: Any,
    expected: Any,
    mistakes: Sequence[Mistake],
    *,
    what: str,
    case: Any,
    hint: str,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    fix: str | None = None,
) -> None:
    """:func:`assert_close`, naming the first typical mistake ``got`` matches.

    Args:
        got: the student's value (converted with :func:`as_array`).
        expected: the reference value (array-like of numbers).
        mistakes: what typical wrong answers return on this case, most specific
            first (see :func:`recognise`).
        what: name of the value, e.g. ``"the target y"``.
        case: the small input case, as a string or a dict of input names to values.
        hint: what to look at when no typical mistake matches.
        atol: absolute tolerance.
        rtol: relative tolerance.
        fix: the line that fixes it when no typical mistake matches (a matching
            mistake brings its own), shown only on request.

    Raises:
        CheckFailed: with the matching mistake's id, hint and fix, or ``hint``
            and ``fix``.
    """
    reference = np.asarray(expected, dtype=np.float64)
    values = as_array(got, name=what, shape=reference.shape)
    if np.allclose(values, reference, atol=atol, rtol=rtol):
        return
    mistake = recognise(values, list(mistakes), atol=atol, rtol=rtol)
    assert_close(
        values, reference, what=what, case=case,
        hint=mistake.hint if mistake else hint,
        mistake=mistake.id if mistake else None, atol=atol, rtol=rtol,
        fix=mistake.fix if mistake else fix,
    )


def first_change(after: Any, original: Any, label: str) -> tuple | None:
    """The first part of an input that the student's function changed in place.

    Args:
        after: the input as the call left it (decoded from the probe's data; lists
            and tuples of arrays are compared item by item).
        original: the input as the check gave it.
        label: the input's name, e.g. ``"x"``; items get ``"x[0]"``.

    Returns:
        ``(label, before, after)`` of the first changed part, or None when nothing
        changed. Anything that is not an array of numbers where one was given
        counts as changed.
    """
    if isinstance(original, (list, tuple)):
        if not isinstance(after, (list, tuple)) or len(after) != len(original):
            return label, original, after
        for index, (item_after, item) in enumerate(zip(after, original, strict=True)):
            changed = first_change(item_after, item, f"{label}[{index}]")
            if changed is not None:
                return changed
        return None
    if not isinstance(after, np.ndarray) or after.dtype.kind not in "biuf":
        return label, original, after
    before = np.asarray(original, dtype=np.float64)
    now = after.astype(np.float64)
    if now.shape != before.shape or not np.array_equal(now, before):
        return label, original, after
    return None


def show_input(value: Any) -> str:
    """An input before or after the call, for a message (see :func:`first_change`).

    Returns:
        Numbers rounded to 4 digits (long arrays shortened), lists item by item,
        anything else by its ``repr``.
    """
    if isinstance(value, (Opaque, StudentError)) or value is None:
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show_input(item) for item in value) + "]"
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return repr(value)[:80]
    return np.array2string(array, precision=4, threshold=12, separator=", ")


def passed(message: str) -> None:
    """Print the one-line success message of a check.

    Args:
        message: what passed, e.g. ``"discounted returns: 4 cases passed"``.
    """
    print(f"{SUCCESS_MARK} {message}")


def _copy_inputs(value: Any) -> Any:
    """Copy NumPy arrays, recursing into lists, tuples and dicts.

    Args:
        value: an input or container of inputs.

    Returns:
        The same structure with fresh copies of every array.
    """
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_copy_inputs(item) for item in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_copy_inputs(item) for item in value)
    if isinstance(value, dict):
        return {key: _copy_inputs(item) for key, item in value.items()}
    return value


def _symbolic_misuse(error: Exception) -> bool:
    """Whether TensorFlow refused NumPy use on a symbolic tensor (in tf.function).

    TensorFlow raises NotImplementedError when ``np.asarray`` (any ``np.*``
    function) meets a symbolic tensor, and AttributeError for ``.numpy()``; the
    course's stub raises NotImplementedError too, with a message that names its
    exercise. Only the former are mistakes in the code.
    """
    text = str(error)
    if isinstance(error, AttributeError):
        return "SymbolicTensor" in text and "numpy" in text
    if not isinstance(error, NotImplementedError) or not text:
        return False
    if STUB_MESSAGE.search(text):
        return False
    return "symbolic" in text or "eager execution" in text or "numpy()" in text


# `if terminated:` where terminated holds one flag per row: NumPy and eager TensorFlow
# raise "The truth value of an array with more than one element is ambiguous";
# inside tf.function, AutoGraph and TensorFlow refuse a tensor as a Python bool.
_TRUTH_TEXTS = (
    "truth value of an array",
    "condition of if statement expected to be `tf.bool` scalar",
    "as a Python `bool` is not allowed",
)
TRUTH_HINT = (
    "Hint: `if`, `and`, `or` and `not` need ONE True or False, but this array holds "
    "one value per row (per step). To test for an empty input use len(x) == 0; to "
    "treat each row, use arithmetic (e.g. multiply by (1 - terminated)) or "
    "np.where / tf.where."
)


def _ambiguous_truth(error: Exception, where: str | None) -> bool:
    """Whether the error is an array (one value per row) used as one True/False.

    Args:
        error: what the student's code raised.
        where: the student's line (see :func:`_student_line`), or None.
    """
    text = str(error)
    if isinstance(error, (ValueError, TypeError)):
        return any(known in text for known in _TRUTH_TEXTS)
    # `if x > 0:` on a tensor of unknown length inside tf.function: AutoGraph makes
    # a tf.cond, whose condition fails at run time when reshaped to one value.
    return (
        "Input to reshape is a tensor with" in text
        and where is not None
        and re.search(r"\(\): (if|elif|while) ", where) is not None
    )


# NumPy functions students reach for, and what works on a symbolic tensor instead.
_TF_FOR_NP = {
    "where": "tf.where", "mean": "tf.reduce_mean", "sum": "tf.reduce_sum",
    "max": "tf.reduce_max", "min": "tf.reduce_min", "square": "tf.square",
    "sqrt": "tf.sqrt", "abs": "tf.abs", "maximum": "tf.maximum",
    "minimum": "tf.minimum", "exp": "tf.exp", "log": "tf.math.log",
    "clip": "tf.clip_by_value", "concatenate": "tf.concat", "stack": "tf.stack",
    "logical_not": "tf.logical_not", "multiply": "*", "add": "+", "subtract": "-",
}
_NP_CALL = re.compile(r"\bnp\.([A-Za-z_][A-Za-z0-9_]*)\s*\(")
# TensorFlow's error text inside tf.function: 'File "...", line N, in name  *' and
# the source line under it, for each frame of the user's code.
_GRAPH_FRAME = re.compile(
    r'File "([^"]+)", line (\d+), in (\S+)[ \t]*(\**)[ \t]*\n[ \t]*([^\n]*)'
)
# TensorFlow marks the user's frames with " *", a library's first frame with " **".
_USER, _LIBRARY = "*", "**"


def _symbolic_hint(error: Exception) -> str:
    """Name the operation that cannot run on a symbolic tensor, and what to use.

    Returns:
        A ``"Hint: ..."`` line.
    """
    frames = _GRAPH_FRAME.findall(str(error))
    user = [index for index, frame in enumerate(frames) if frame[3] == _USER]
    source = frames[user[-1]][4] if user else ""
    names = list(dict.fromkeys(_NP_CALL.findall(source)))
    # The student's line may not say np.<name> (an alias, a helper): the NumPy
    # function entered right after it names the operation.
    called = [
        frame[2] for frame in frames[user[-1] + 1:] if frame[3] == _LIBRARY
        and "numpy" in frame[0].replace("\\", "/").split("/")
    ][:1] if user else []
    if not names and called and not called[0].startswith("_"):
        names = called
    advice = []
    for name in names:
        if name in ("asarray", "array", "float32", "float64"):
            advice.append(f"np.{name}(...) is not needed: use the tensor as it is "
                          "(tf.cast to change its dtype)")
        else:
            instead = _TF_FOR_NP.get(name, "the tf.* function of that name")
            advice.append(f"np.{name} -> {instead}")
    if ".numpy()" in source:
        advice.append(".numpy() has no value to give yet: drop it and compute with "
                      "the tensor itself")
    used = [f"np.{name}" for name in names]
    used += [".numpy()"] if ".numpy()" in source else []
    what = " and ".join(filter(None, [", ".join(used[:-1]), "".join(used[-1:])]))
    lead = (f"Hint: inside tf.function the tensors are symbolic (no values yet), "
            f"so {what or '.numpy() and np.* functions'} cannot run on them. ")
    if not advice:
        return lead + ("Use TensorFlow operations (tf.reduce_mean, tf.square, *, "
                       "+...) instead.")
    return lead + "Instead: " + "; ".join(advice) + "."


def _stub_detail(text: str, exercise: str) -> str:
    """What a not-done message adds of the stub's own text, e.g. ``" (...)"``.

    The course's stub names its exercise ("Exercise 2 (title): replace this line
    ..."): repeating it after "Exercise 2 (title) is not done yet" says nothing
    new, so it is left out. Any other text is kept, in particular the stub of
    another exercise that this one calls (the grader reads that exercise's number
    in the message).

    Args:
        text: the NotImplementedError's message.
        exercise: the check's exercise, e.g. ``"2 (discounted returns)"``.

    Returns:
        ``""`` or ``" (<text>)"``.
    """
    if not text:
        return ""
    number = re.match(r"\s*(\d+[a-z]?)\b", exercise)
    named = set(STUB_MESSAGE.findall(text))
    if number is not None and named == {number.group(1)}:
        return ""
    return f" ({_short(text)})"


def _symbolic_lead(error: Exception) -> str:
    """The first line's wording for NumPy used on a symbolic tensor (no error name)."""
    if isinstance(error, AttributeError):
        what = "called .numpy() on"
    else:
        what = "called NumPy on"
    return (
        f"your code {what} a symbolic tensor inside tf.function (the compiled "
        "update step), where tensors have no values yet."
    )


def _error_message(
    fn, error: Exception, exercise: str, args, kwargs, *, lead: str | None = None
) -> str:
    """Explain an exception raised by the student's code.

    Args:
        fn, error, exercise, args, kwargs: the call that failed and its error.
        lead: the first line's text after "Exercise <exercise>: ", in place of
            "your code raised <Error>: <text>".

    Returns:
        The message: exception type and text (or ``lead``), the student's line,
        the inputs.
    """
    text, inside = str(error), ""
    if text.startswith("in user code:"):  # raised inside tf.function
        # The error's own text is the last paragraph, after TensorFlow's frames.
        text = text.strip().split("\n\n")[-1].strip()
        prefix = f"{type(error).__name__}: "
        text = text[len(prefix):] if text.startswith(prefix) else text
        inside = " inside tf.function"
    if lead is None:
        lead = f"your code raised {type(error).__name__}{inside}: {_short(text)}"
    lines = [f"Exercise {exercise}: {lead}"]
    where = _student_line(fn, error)
    if where:
        lines.append(f"  at {where}")
    inputs = [_describe(arg) for arg in args]
    inputs += [f"{key}={_describe(value)}" for key, value in kwargs.items()]
    if inputs:
        lines.append("  when called with: " + ", ".join(inputs))
    return "\n".join(lines)


def _student_line(fn, error: Exception) -> str | None:
    """Find the deepest line of the traceback inside the student's source file.

    Returns:
        ``"line N of name(): <source>"``, or None when the function has no Python
        source.
    """
    # Plain functions, lambdas and methods have __code__; a class has it on its
    # __init__, a callable object on its __call__, a tf.function on the Python
    # function it compiles.
    fn = getattr(fn, "python_function", fn)
    if isinstance(fn, type):
        code = getattr(fn.__init__, "__code__", None)
    else:
        code = getattr(fn, "__code__", None)
        if code is None:
            code = getattr(type(fn).__call__, "__code__", None)
    if code is None:
        return None
    frames = [
        (frame.lineno, frame.name, frame.line or "")
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename == code.co_filename
    ]
    # Inside tf.function, TensorFlow runs converted code and writes the user's
    # frames into the error's text instead.
    frames += [
        (int(line), name, source)
        for filename, line, name, _, source in _GRAPH_FRAME.findall(str(error))
        if filename == code.co_filename
    ]
    if not frames:
        return None
    lineno, name, line = frames[-1]
    # A graph execution error names the line without its source: read it.
    line = line.strip() or linecache.getline(code.co_filename, lineno).strip()
    source = f": {line}" if line else ""
    return f"line {lineno} of {name}(){source}"


def _to_numpy(value: Any, expected: str) -> np.ndarray:
    if isinstance(value, (str, bytes, Mapping)) or callable(value):
        raise CheckFailed(f"expected {expected}, got {_describe(value)}")
    try:
        array = np.array(value)
    except Exception:  # ragged lists, symbolic tensors, ...
        raise CheckFailed(
            f"expected {expected}, got {_describe(value)} that cannot be turned "
            "into an array (nested lists of different lengths?)"
        ) from None
    if array.dtype.kind not in "biuf":
        raise CheckFailed(
            f"expected {expected} made of numbers, got {_describe(value)}"
        )
    return array


def _check_shape(array: np.ndarray, shape: tuple, name: str) -> None:
    pairs = zip(shape, array.shape, strict=False)
    if len(array.shape) == len(shape) and all(
        want is None or want == have for want, have in pairs
    ):
        return
    message = (
        f"expected {name} with shape {_shape_text(shape)}, got shape {array.shape}"
    )
    if array.size == int(np.prod([s or 1 for s in shape])) and None not in shape:
        message += (
            ". Same number of values, different dimensions: an extra or missing "
            "axis of size 1 makes NumPy broadcast, e.g. (5,) - (5, 1) gives (5, 5). "
            "Use np.squeeze/reshape or index with [0]."
        )
    raise CheckFailed(message)


def _check_kind(array: np.ndarray, kind: str | None, name: str) -> np.ndarray:
    if kind is None:
        return array
    if kind == "f":
        result = array.astype(np.float64)
        if not np.all(np.isfinite(result)):
            raise CheckFailed(
                f"{name} contains NaN or inf: {_format(result)}. Look for a division "
                "by zero (e.g. normalising by a standard deviation of 0) or a log of 0."
            )
        return result
    if kind == "i":
        if array.dtype.kind not in "iu":
            raise CheckFailed(f"expected {name} as integers, got dtype {array.dtype}")
        return array.astype(np.int64)
    if kind == "b":
        if array.dtype.kind != "b":
            raise CheckFailed(f"expected {name} as booleans, got dtype {array.dtype}")
        return array.copy()
    raise ValueError(f"dtype_kind must be 'f', 'i', 'b' or None, got {kind!r}")


def _diagnose(got: np.ndarray, expected: np.ndarray, *, atol, rtol) -> str | None:
    """Name a common mistake when the answer is a simple transform of the truth.

    Returns:
        A short remark, or None.
    """
    if np.any(expected != 0) and np.allclose(got, -expected, atol=atol, rtol=rtol):
        return "right size, opposite sign"
    if expected.ndim == 1 and expected.size > 1:
        if np.allclose(got, expected[::-1], atol=atol, rtol=rtol):
            return "the right values in reverse order"
    difference = np.abs(got - expected)
    index = tuple(
        int(i) for i in np.unravel_index(int(np.argmax(difference)), difference.shape)
    )
    at = f" at index {index[0] if len(index) == 1 else index}" if index else ""
    return f"largest difference {float(difference[index]):.4g}{at}"


def _case_text(case: Any) -> str:
    if isinstance(case, Mapping):
        return ", ".join(f"{key}={_format(value)}" for key, value in case.items())
    return str(case)


def _format(value: Any) -> str:
    if isinstance(value, np.ndarray) or isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value)
        except ValueError:
            return _short(repr(value))
        if array.dtype.kind in "biuf" and array.ndim == 0:
            return _format(array.item())
        if array.dtype.kind in "biuf":
            return np.array2string(
                array,
                precision=4,
                suppress_small=True,
                threshold=12,
                edgeitems=3,
                separator=", ",
            )
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return _short(repr(value))


def _describe(value: Any) -> str:
    """Short description of a value for messages: type, shape and content.

    Returns:
        e.g. ``"None"``, ``"float 0.5"``, ``"array shape (3,) float32 [1, 2, 3]"``.
    """
    if value is None:
        return "None"
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        kind = "array" if isinstance(value, np.ndarray) else type(value).__name__
        content = _format(np.asarray(value)) if _is_concrete(value) else ""
        dtype_name = getattr(dtype, "name", dtype)
        return f"{kind} shape {tuple(shape)} {dtype_name} {content}".strip()
    if isinstance(value, (int, float, bool, np.generic)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} {_format(value)}"
    return _short(f"{type(value).__name__} {value!r}")


def _is_concrete(value: Any) -> bool:
    try:
        np.asarray(value)
    except Exception:  # symbolic tensors cannot be converted
        return False
    return True


def _shape_text(shape: tuple) -> str:
    parts = ["n" if size is None else str(size) for size in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."
