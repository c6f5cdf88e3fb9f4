"""Plain data between a check's probe and its judge: encode, decode, validate.

A probe runs in the student's kernel and keeps what the student's code returned; the
judge compares it with the reference. Between them travels only plain JSON: numbers,
strings, lists and small records. In the notebook both ends run in one process; when
grading, the probe's JSON leaves the sandboxed kernel as a display output and the
judge reads it in the grader. So nothing here may trust its input: ``decode``
validates every record and refuses anything else (security: a forged payload can only
claim outputs, never run code or grow without bound).

Records (``kind``):

- ``array``: ``{"dtype": "float64", "shape": [2, 3], "data": [...]}`` (numbers,
  booleans; NaN and inf allowed);
- ``none``: the student returned ``None``;
- ``text``: a string, ``{"text": ...}`` (at most ``MAX_TEXT`` characters);
- ``seq``: a list or tuple, ``{"type": "tuple", "items": [record, ...]}``;
- ``opaque``: anything else, kept as a short description (``{"description": ...}``);
- ``error``: the student's code raised, or a probe step failed
  (``{"message": ..., "mistake": ...}``, and ``"fix"`` when it has one).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

MAX_PAYLOAD = 4_000_000  # characters of JSON a judge accepts
MAX_DEPTH = 8
MAX_DIMS = 6
MAX_ITEMS = 1_000_000  # the largest size of one array dimension
MAX_TEXT = 2_000
DTYPES = frozenset(
    {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
     "uint16", "uint32", "uint64", "bool"}
)


class MalformedProbe(ValueError):
    """The probe's data is not what a probe writes: truncated, forged or too big."""


@dataclass(frozen=True)
class Opaque:
    """A value the probe could not turn into numbers, kept as its description."""

    description: str


@dataclass(frozen=True)
class StudentError:
    """A failure recorded by the probe: the student's code raised, or a step failed.

    Attributes:
        message: the failure's message, in the exercise's terms.
        mistake: a stable identifier of the mistake, or None.
        fix: the line that fixes it, shown only on request (see :mod:`.hints`),
            or None.
    """

    message: str
    mistake: str | None = None
    fix: str | None = None


def encode(value: Any, describe, depth: int = 0) -> dict:
    """Turn what the student's code returned into a plain record.

    Args:
        value: any object (NumPy array, TensorFlow tensor, list, number, None...).
        describe: a function giving a short description of a value (for opaque ones).
        depth: nesting level, to stop at ``MAX_DEPTH``.

    Returns:
        A JSON-ready dict (see the module's docstring).
    """
    if value is None:
        return {"kind": "none"}
    if isinstance(value, str) and len(value) <= MAX_TEXT:
        return {"kind": "text", "text": value}
    if isinstance(value, StudentError):
        record = {"kind": "error", "message": value.message[:MAX_TEXT],
                  "mistake": value.mistake}
        if value.fix is not None:
            record["fix"] = value.fix[:MAX_TEXT]
        return record
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        if depth >= MAX_DEPTH:
            return {"kind": "opaque", "description": describe(value)[:MAX_TEXT]}
        return {"kind": "seq", "type": type(value).__name__,
                "items": [encode(item, describe, depth + 1) for item in value]}
    array = _numeric(value)
    if array is None:
        return {"kind": "opaque", "description": describe(value)[:MAX_TEXT]}
    data = array.ravel().tolist()
    # Only floats can be NaN or infinite: others, and finite floats, go as they are
    # (one pass in NumPy, not a Python call per number).
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        data = [_number(x) for x in data]
    return {"kind": "array", "dtype": array.dtype.name, "shape": list(array.shape),
            "data": data}


def _numeric(value: Any) -> np.ndarray | None:
    """A NumPy copy of a numeric value (array, tensor, number), else None."""
    if isinstance(value, (str, bytes, dict)) or callable(value):
        return None
    try:
        array = np.array(value)
    except Exception:  # symbolic tensors, ragged lists, objects that refuse
        return None
    if array.dtype.name not in DTYPES or array.ndim > MAX_DIMS:
        return None
    return array


def _number(x: Any) -> Any:
    """A JSON number; NaN and infinities travel as strings."""
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    return x


def dumps(data: dict) -> str:
    """The probe's data as JSON text (the form that crosses the sandbox)."""
    return json.dumps(data, allow_nan=False, separators=(",", ":"))


def loads(text: str) -> dict:
    """Parse and validate a probe's JSON text.

    Raises:
        MalformedProbe: too large, not JSON, or not made of valid records.
    """
    if not isinstance(text, str) or len(text) > MAX_PAYLOAD:
        raise MalformedProbe("the check's data is missing or too large")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedProbe("the check's data is not valid JSON") from None
    return validate(data)


def validate(data: Any) -> dict:
    """Check the shape of a probe's data: ``{"records": {key: record}, ...}``.

    Returns:
        ``data`` itself, with every record checked.

    Raises:
        MalformedProbe: at the first thing a probe would not write.
    """
    if not isinstance(data, dict) or not isinstance(data.get("records"), dict):
        raise MalformedProbe("the check's data has no records")
    for key, record in data["records"].items():
        if not isinstance(key, str) or len(key) > 200:
            raise MalformedProbe("a record of the check's data has a bad name")
        _validate_record(record, 0)
    stopped = data.get("stopped")
    if stopped is not None:
        _validate_record(stopped, 0)
        if stopped.get("kind") != "error":
            raise MalformedProbe("the check's data ends with a bad failure record")
    return data


def _validate_record(record: Any, depth: int) -> None:
    if depth > MAX_DEPTH or not isinstance(record, dict):
        raise MalformedProbe("a record of the check's data is malformed")
    kind = record.get("kind")
    if kind == "none":
        return
    if kind == "text":
        if not isinstance(record.get("text"), str) or len(record["text"]) > MAX_TEXT:
            raise MalformedProbe("a text record is malformed")
        return
    if kind in ("opaque", "error"):
        text = record.get("description" if kind == "opaque" else "message")
        mistake = record.get("mistake")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise MalformedProbe(f"a record of kind {kind} has no valid text")
        if mistake is not None and (not isinstance(mistake, str) or len(mistake) > 60):
            raise MalformedProbe("a failure record has a bad mistake name")
        fix = record.get("fix")
        if fix is not None and (not isinstance(fix, str) or len(fix) > MAX_TEXT):
            raise MalformedProbe("a failure record has a bad fix")
        return
    if kind == "seq":
        items = record.get("items")
        if not isinstance(items, list) or record.get("type") not in ("list", "tuple"):
            raise MalformedProbe("a sequence record is malformed")
        for item in items:
            _validate_record(item, depth + 1)
        return
    if kind == "array":
        shape, data = record.get("shape"), record.get("data")
        if (
            record.get("dtype") not in DTYPES
            or not isinstance(shape, list)
            or len(shape) > MAX_DIMS
            or not all(isinstance(n, int) and 0 <= n <= MAX_ITEMS for n in shape)
            or not isinstance(data, list)
            or len(data) != math.prod(shape)
        ):
            raise MalformedProbe("an array record is malformed")
        # Numbers (bool is an int) pass in one pass in C; only then look closer.
        if all(map(isinstance, data, repeat((int, float)))):
            return
        for x in data:
            if isinstance(x, (int, float)):
                continue
            if x not in ("nan", "inf", "-inf"):
                raise MalformedProbe("an array record holds something not a number")
        return
    raise MalformedProbe("a record of the check's data has an unknown kind")


def decode(record: dict) -> Any:
    """A validated record as a value for the judge.

    Returns:
        ``np.ndarray`` (of the recorded dtype), None, a list or tuple of decoded
        items, an :class:`Opaque` or a :class:`StudentError`.
    """
    kind = record["kind"]
    if kind == "none":
        return None
    if kind == "text":
        return record["text"]
    if kind == "opaque":
        return Opaque(record["description"])
    if kind == "error":
        return StudentError(record["message"], record.get("mistake"),
                            record.get("fix"))
    if kind == "seq":
        items = [decode(item) for item in record["items"]]
        return tuple(items) if record["type"] == "tuple" else items
    values = record["data"]
    if not all(map(isinstance, values, repeat((int, float)))):  # "nan", "inf"...
        values = [float(x) if isinstance(x, str) else x for x in values]
    dtype = np.dtype(record["dtype"])
    return np.array(values, dtype=np.float64).astype(dtype).reshape(record["shape"])
