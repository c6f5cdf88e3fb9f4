"""Shared helpers of the unit tests of the notebooks' checks.

Besides running a check expected to fail (:func:`fails`, :func:`mistake_of`), they
forge a probe's data the way a tampered kernel could (:func:`replacements`,
:func:`assert_forged_records_refused`): a judge must refuse every forgery, never
return a success message.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import functools
import inspect
import json
import re
from types import ModuleType

import numpy as np
import pytest

from course_utils.checks import hints
from course_utils.checks.challenge import challenged
from course_utils.checks.core import Check, CheckFailed, judge_payload, run_probe
from course_utils.checks.plain import MAX_PAYLOAD, MalformedProbe, dumps, loads

# Payloads that are not a probe's data at all; each chapter adds its own.
GARBAGE_PAYLOADS = (
    "",
    "not json",
    "[]",
    "{}",
    '{"records": {}}',
    '{"records": {}, "stopped": null}',
    '{"records": [], "stopped": null}',
    '{"records": {"case0": {"kind": "array", "dtype": "object", "shape": [],'
    ' "data": [1]}}}',
)
# Too large, too deep: refused before any judging.
OVERSIZED_PAYLOADS = (
    "x" * (MAX_PAYLOAD + 1),
    '{"records": {"case0": ' * 500 + "{}" + "}" * 500,
)


def first_failure(check, answer) -> CheckFailed:
    """Run a check expected to fail, as a first failure in a fresh kernel.

    The first stage of the feedback (see ``course_utils.checks.hints``): a failure
    that knows its fix offers it, and never shows it.
    """
    hints.reset()
    with pytest.raises(CheckFailed) as info:
        check(answer)
    failure = info.value
    message = str(failure)
    assert hints.FIX_LEAD not in message, message
    if failure.fix:
        assert message.endswith(hints.FIX_OFFER), message
        assert failure.fix not in message, message
    return failure


def fails(check, answer, *fragments, fix=()):
    """Run a check expected to fail; assert its message holds every fragment.

    Args:
        fix: fragments of the line that fixes it (held back from the message).
    """
    failure = first_failure(check, answer)
    message = str(failure)
    for fragment in fragments:
        assert fragment in message, message
    for fragment in fix:
        assert fragment in (failure.fix or ""), (failure.fix, message)
    return message


def mistake_of(check, answer, mistake, *fragments, fix=()):
    """Run a check expected to fail with ``mistake``; return its message.

    Args:
        fix: fragments of the line that fixes it (held back from the message).
    """
    failure = first_failure(check, answer)
    message = str(failure)
    assert failure.mistake == mistake, message
    for fragment in fragments:
        assert fragment in message, message
    for fragment in fix:
        assert fragment in (failure.fix or ""), (failure.fix, message)
    return message


def fix_of(check, answer) -> str | None:
    """The line that fixes a failing answer (its failure's ``fix``)."""
    return first_failure(check, answer).fix


def top_level_imports(module: ModuleType) -> list[str]:
    """The names a module imports at its top level (not inside functions)."""
    tree = ast.parse(inspect.getsource(module))
    return [
        alias.name
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]


def mistake_ids(module: ModuleType, prefixes: tuple[str, ...]) -> set[str]:
    """The mistake ids a check module names; each must be a stable name.

    Args:
        module: a check module, e.g. ``course_utils.checks.td3``.
        prefixes: its exercises' id prefixes, e.g. ``("double-q", "smoothing")``.

    Returns:
        The ids found in its source, e.g. ``{"double-q/max", ...}``.
    """
    group = "|".join(prefixes)
    ids = set(re.findall(rf'"((?:{group})/[^"{{]*)"', inspect.getsource(module)))
    for mistake in ids:
        assert re.fullmatch(rf"({group})/[a-z0-9]+(-[a-z0-9]+)*", mistake), mistake
    return ids


def genuine_data(module: ModuleType, answers: dict) -> dict:
    """The probe's data of each right answer, by the name of its Check in module."""
    return {
        name: run_probe(getattr(module, name), answer)
        for name, answer in answers.items()
    }


def assert_genuine_passes(check: Check, data: dict) -> None:
    """The probe's data of a right answer survives JSON and passes its judge."""
    assert data["stopped"] is None
    text = dumps(data)
    assert loads(text) == data
    message = judge_payload(check, text)
    assert message and "✔" not in message


def refused(check: Check, payload: str) -> None:
    """The judge must raise CheckFailed or MalformedProbe, never return."""
    with pytest.raises((CheckFailed, MalformedProbe)):
        judge_payload(check, payload)


def replacements(record: dict, texts: tuple[str, ...] = ()) -> list[dict]:
    """Wrong records in place of a genuine one.

    Args:
        record: the genuine record (plain data).
        texts: other values to try when the record is a text (e.g. other orders
            of updates); none by default.
    """
    wrong = [
        {"kind": "none"},
        {"kind": "opaque", "description": "forged"},
        {"kind": "seq", "type": "list", "items": []},
        {"kind": "array", "dtype": "float64", "shape": [2, 2], "data": [0.0] * 4},
    ]
    if record.get("kind") == "array" and record["data"]:
        nan = dict(record, dtype="float64", data=["nan"] * len(record["data"]))
        shifted = dict(record, dtype="float64",
                       data=[float(x) + 0.5 for x in record["data"]])
        wrong += [nan, shifted]
    if record.get("kind") == "text":
        calls = record["text"]
        wrong += [dict(record, text=other) for other in texts if other != calls]
    return wrong


def assert_forged_records_refused(
    check: Check,
    data: dict,
    keys,
    *,
    read_only_when_wrong: re.Pattern,
    value_ignored: re.Pattern | None = None,
    texts: tuple[str, ...] = (),
) -> None:
    """Each record missing, or replaced by a wrong one, is refused.

    Args:
        check: the check whose probe wrote ``data``.
        data: the probe's data for a right answer.
        keys: the records to forge.
        read_only_when_wrong: records a judge reads only when an answer is wrong
            (forging them changes nothing): skipped.
        value_ignored: records that must be there but whose value is not part of
            the answer: only removed, never replaced.
        texts: see :func:`replacements`.
    """
    for key in keys:
        if read_only_when_wrong.search(key):
            continue
        missing = copy.deepcopy(data)
        del missing["records"][key]
        refused(check, dumps(missing))
        if value_ignored is not None and value_ignored.search(key):
            continue
        for record in replacements(data["records"][key], texts):
            forged = copy.deepcopy(data)
            forged["records"][key] = record
            refused(check, dumps(forged))


def assert_stop_refused(check: Check, data: dict, message: str) -> None:
    """A probe that stopped early never passes, whatever else its data holds."""
    stopped = copy.deepcopy(data)
    stopped["stopped"] = {"kind": "error", "message": message, "mistake": None}
    with pytest.raises(CheckFailed, match=re.escape(message)):
        judge_payload(check, dumps(stopped))


# --------------------------------------------------------------------------------------
# Challenge-response (grading): fresh cases drawn from a challenge
# --------------------------------------------------------------------------------------
CHALLENGES = tuple(range(101, 111))  # ten challenges the tests grade under


@functools.cache
def probed_once(check: Check, *objects, challenge: int | None) -> str:
    """The probe's JSON for a right answer under ``challenge``, probed once a process.

    A right answer's data is judged under its own challenge (it passes) and under
    others (a replay, refused): probing it again for each costs a TensorFlow
    trace, and the grader itself probes a submission once. Only for answers
    without state of their own across probes (a class is instantiated afresh by
    its probe).
    """
    return dumps(run_probe(check, *objects, challenge=challenge))


def graded(
    check: Check, *objects, challenge: int, reuse: bool = False
) -> tuple[str, str | None]:
    """Probe and judge as the grader does, under ``challenge``.

    Args:
        reuse: take the probe's data from :func:`probed_once` (right answers).

    Returns:
        ``("passed", None)`` or ``("failed", mistake id or None)``.
    """
    if reuse:
        payload = probed_once(check, *objects, challenge=challenge)
    else:
        payload = dumps(run_probe(check, *objects, challenge=challenge))
    try:
        judge_payload(check, payload, challenge)
    except CheckFailed as failure:
        return "failed", failure.mistake
    return "passed", None


def replayed(check: Check, *objects, recorded_under: int | None, judged_under: int):
    """A payload recorded under one challenge (None: the notebook's fixed cases),
    judged under another: what the judge says (see :func:`graded`). A right
    answer's data, so probed once (:func:`probed_once`)."""
    payload = probed_once(check, *objects, challenge=recorded_under)
    try:
        judge_payload(check, payload, judged_under)
    except CheckFailed as failure:
        return "failed", failure.mistake
    except MalformedProbe:
        return "malformed", None
    return "passed", None


def plain_cases(cases):
    """Cases as comparable, JSON-ready plain data (arrays with dtype and shape)."""
    if dataclasses.is_dataclass(cases) and not isinstance(cases, type):
        return plain_cases(dataclasses.asdict(cases))
    if isinstance(cases, dict):
        return {key: plain_cases(value) for key, value in cases.items()}
    if isinstance(cases, (list, tuple)):
        return [plain_cases(value) for value in cases]
    if isinstance(cases, np.ndarray):
        return [str(cases.dtype), list(cases.shape), cases.tolist()]
    return [type(cases).__name__, cases]


def built(builder, challenge: int | None):
    """A case builder's cases under ``challenge`` (None: the notebook's), plain."""
    with challenged(challenge):
        return plain_cases(builder())


def assert_replays_refused(check: Check, answer) -> None:
    """A right answer's data, recorded on the notebook's cases or under another
    challenge, answers other inputs than the judge's: never passed."""
    for judged, recorded in zip(CHALLENGES, (None, *CHALLENGES[:-1]), strict=True):
        verdict, _ = replayed(check, answer, recorded_under=recorded,
                              judged_under=judged)
        assert verdict in ("failed", "malformed"), (recorded, judged)


def assert_cases_new_and_repeatable(builder) -> None:
    """Without a challenge the notebook's cases; under each challenge new ones,
    the same each time they are built (the probe's = the judge's), all different."""
    fixed = built(builder, None)
    assert plain_cases(builder()) == fixed
    drawn = [built(builder, challenge) for challenge in CHALLENGES]
    for challenge, cases in zip(CHALLENGES, drawn, strict=True):
        assert cases != fixed, challenge
        assert built(builder, challenge) == cases, challenge
    assert len({json.dumps(cases) for cases in drawn}) == len(CHALLENGES)
