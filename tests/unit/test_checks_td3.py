"""Checks of notebook 03: right answers pass (however written), typical mistakes fail
with a message and an id that name the mistake, and forged check data never passes."""

from __future__ import annotations

import ast
import copy
import inspect
import json
import operator
import os
import re
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from check_testing import (
    CHALLENGES,
    GARBAGE_PAYLOADS,
    OVERSIZED_PAYLOADS,
    assert_cases_new_and_repeatable,
    assert_forged_records_refused,
    assert_genuine_passes,
    assert_replays_refused,
    assert_stop_refused,
    fails,
    fix_of,
    genuine_data,
    graded,
    mistake_ids,
    mistake_of,
    refused,
    top_level_imports,
)

import course_utils as cu
from course_utils.checks import td3
from course_utils.checks.challenge import challenged
from course_utils.checks.core import CheckFailed, judge_payload, recognise
from course_utils.checks.plain import MAX_PAYLOAD, dumps
from instructor.tools.mutation.catalogue import entries as catalogue_entries

tf = pytest.importorskip("tensorflow")


def stub(*args):
    raise NotImplementedError(
        "Exercise 1 (the clipped double-Q target): replace this line with your code, "
        "then run the check below."
    )


# --------------------------------------------------------------------------------------
# Exercise 1: the clipped double-Q target
# --------------------------------------------------------------------------------------
def double_q_reference(rewards, next_q1, next_q2, terminated, gamma):
    return rewards + gamma * (1.0 - terminated) * tf.minimum(next_q1, next_q2)


def double_q_where(rewards, next_q1, next_q2, terminated, gamma):
    smaller = tf.where(next_q1 < next_q2, next_q1, next_q2)
    return rewards + gamma * (1 - terminated) * smaller


def double_q_concat(rewards, next_q1, next_q2, terminated, gamma):
    both = tf.concat([next_q1, next_q2], axis=1)
    smaller = tf.reduce_min(both, axis=1, keepdims=True)
    return rewards + gamma * (1 - tf.cast(terminated, smaller.dtype)) * smaller


def double_q_arithmetic(rewards, next_q1, next_q2, terminated, gamma):
    # min(a, b) = (a + b - |a - b|) / 2: plain arithmetic works on arrays and tensors.
    smaller = (next_q1 + next_q2 - abs(next_q1 - next_q2)) / 2
    return rewards + gamma * (1 - terminated) * smaller


def test_double_q_reference_passes(capsys):
    td3.check_clipped_double_q_target(double_q_reference)
    assert capsys.readouterr().out.startswith("✔ clipped double-Q target")


@pytest.mark.parametrize(
    "answer", [double_q_where, double_q_concat, double_q_arithmetic]
)
def test_double_q_written_differently_passes(answer):
    td3.check_clipped_double_q_target(answer)


def numpy_minimum(rewards, next_q1, next_q2, terminated, gamma):
    return rewards + gamma * (1 - terminated) * np.minimum(next_q1, next_q2)


def in_place_target(rewards, next_q1, next_q2, terminated, gamma):
    np.minimum(next_q1, next_q2, out=next_q1)
    return rewards + gamma * (1 - terminated) * next_q1


@pytest.mark.parametrize(
    ("answer", "mistake", "fragment"),
    [
        (lambda r, a, b, d, g: r + g * (1 - d) * tf.maximum(a, b),
         "double-q/max", "LARGER"),
        (lambda r, a, b, d, g: r + g * (1 - d) * (a + b) / 2,
         "double-q/mean", "averaged"),
        (lambda r, a, b, d, g: r + g * (1 - d) * a, "double-q/one-critic",
         "only next_q1"),
        (lambda r, a, b, d, g: r + g * (1 - d) * b, "double-q/one-critic",
         "only next_q2"),
        (lambda r, a, b, d, g: r + g * (1 - d) * tf.reduce_min(tf.minimum(a, b)),
         "double-q/batch-min", "whole batch"),
        (lambda r, a, b, d, g: r + g * tf.minimum(a, b), "double-q/no-terminal",
         "switch the future value off"),
        (lambda r, a, b, d, g: r + g * d * tf.minimum(a, b),
         "double-q/inverted-flag", "inverted"),
        (lambda r, a, b, d, g: r + (1 - d) * tf.minimum(a, b), "double-q/no-gamma",
         "gamma is missing"),
        (lambda r, a, b, d, g: g * (1 - d) * tf.minimum(a, b), "double-q/no-reward",
         "reward r is missing"),
        (lambda r, a, b, d, g: r + g * (1 - d) * min(a, b), "double-q/python-min",
         "Python's min()"),
        (in_place_target, "double-q/changes-input", "changed its input `next_q1`"),
        (numpy_minimum, "tf/numpy-in-graph", "np.minimum -> tf.minimum"),
    ],
)
def test_double_q_mistakes_fail(answer, mistake, fragment):
    mistake_of(td3.check_clipped_double_q_target, answer, mistake, fragment)


@pytest.mark.parametrize(
    "answer",
    [
        lambda r, a, b, d, g: r + g * (1 - d) * tf.maximum(a, b),
        lambda r, a, b, d, g: r + g * (1 - d) * (a + b) / 2,
        lambda r, a, b, d, g: r + g * (1 - d) * a,
        lambda r, a, b, d, g: r + g * (1 - d) * b,
        lambda r, a, b, d, g: r + g * (1 - d) * tf.reduce_min(tf.minimum(a, b)),
        lambda r, a, b, d, g: r + g * (1 - d) * min(a, b),
        lambda r, a, b, d, g: 2 * r + g * (1 - d) * tf.minimum(a, b),  # generic
    ],
)
def test_double_q_fixes_lead_with_tf_minimum(answer):
    # The update step is compiled: np.minimum cannot run there, tf.minimum can. The
    # line is the fix, held back: the first message says it in words.
    message = fails(td3.check_clipped_double_q_target, answer,
                    fix=("tf.minimum(next_q1, next_q2)",))
    assert "tf.minimum(next_q1" not in message, message
    assert "np.minimum(next_q1" not in message, message


def test_double_q_numpy_only_code_is_named_in_graph():
    def array_methods(rewards, next_q1, next_q2, terminated, gamma):
        smaller = next_q1.copy()  # NumPy arrays only: tensors have no .copy()
        smaller[next_q2 < next_q1] = next_q2[next_q2 < next_q1]
        return rewards + gamma * (1 - terminated) * smaller

    mistake_of(td3.check_clipped_double_q_target, array_methods,
               "double-q/graph-only", "fails inside tf.function")


def test_numpy_in_graph_does_not_look_like_the_stub():
    message = mistake_of(td3.check_clipped_double_q_target, numpy_minimum,
                         "tf/numpy-in-graph", "called NumPy on a symbolic tensor",
                         "np.minimum -> tf.minimum")
    assert "NotImplementedError" not in message


def test_stub_message_is_not_repeated():
    message = mistake_of(td3.check_clipped_double_q_target, stub, "not-done")
    assert message.count("the clipped double-Q target") == 1, message
    assert "replace this line" not in message


def test_another_exercises_stub_is_still_named():
    def calls_exercise_2(*args):
        raise NotImplementedError(
            "Exercise 2 (target policy smoothing): replace this line with your "
            "code, then run the check below."
        )

    mistake_of(td3.check_clipped_double_q_target, calls_exercise_2, "not-done",
               "Exercise 2 (target policy smoothing): replace this line")


def test_double_q_bad_returns_and_errors_fail_cleanly():
    check = td3.check_clipped_double_q_target
    fails(check, lambda *args: None, "got None")
    fails(check, lambda r, a, b, d, g: tf.reshape(r, (-1,)), "shape")
    fails(check, lambda *args: 1 / 0, "ZeroDivisionError")
    mistake_of(check, stub, "not-done", "not done yet")
    fails(check, None, "expected a function")


# --------------------------------------------------------------------------------------
# Exercise 2: target policy smoothing
# --------------------------------------------------------------------------------------
def smoothing_reference(target_action, normal_sample, noise_std, noise_clip,
                        action_bound):
    noise = tf.clip_by_value(noise_std * normal_sample, -noise_clip, noise_clip)
    return tf.clip_by_value(target_action + noise, -action_bound, action_bound)


def smoothing_min_max(target_action, normal_sample, noise_std, noise_clip,
                      action_bound):
    noise = tf.maximum(tf.minimum(noise_std * normal_sample, noise_clip), -noise_clip)
    action = target_action + noise
    return tf.maximum(tf.minimum(action, action_bound), -action_bound)


def test_smoothing_reference_passes(capsys):
    td3.check_smoothed_target_action(smoothing_reference)
    assert capsys.readouterr().out.startswith("✔ target policy smoothing")


def test_smoothing_written_differently_passes():
    td3.check_smoothed_target_action(smoothing_min_max)


def clip(x, low, high):
    return tf.clip_by_value(x, low, high)


def smoothing_in_place(target_action, normal_sample, noise_std, noise_clip,
                       action_bound):
    target_action += np.clip(noise_std * normal_sample, -noise_clip, noise_clip)
    return np.clip(target_action, -action_bound, action_bound)


def numpy_clip(target_action, normal_sample, noise_std, noise_clip, action_bound):
    noise = np.clip(noise_std * normal_sample, -noise_clip, noise_clip)
    return np.clip(target_action + noise, -action_bound, action_bound)


def smoothing_own_noise(target_action, normal_sample, noise_std, noise_clip,
                        action_bound):
    draw = np.random.standard_normal(np.shape(target_action))
    noise = np.clip(noise_std * draw, -noise_clip, noise_clip)
    return np.clip(target_action + noise, -action_bound, action_bound)


@pytest.mark.parametrize(
    ("answer", "mistake", "fragment"),
    [
        (lambda a, e, s, c, b: clip(a + s * e, -b, b),
         "smoothing/noise-not-clipped", "noise is not clipped"),
        (lambda a, e, s, c, b: a + clip(s * e, -c, c),
         "smoothing/action-not-clipped", "not clipped to [-action_bound"),
        (lambda a, e, s, c, b: a + s * e, "smoothing/nothing-clipped",
         "nothing is clipped"),
        (lambda a, e, s, c, b: clip(a + clip(s * e, -b, b), -c, c),
         "smoothing/clips-swapped", "swapped"),
        (lambda a, e, s, c, b: clip(clip(a + s * e, -b, b), -c, c),
         "smoothing/clips-swapped", "noise_clip limits the NOISE"),
        (lambda a, e, s, c, b: clip(a + s * clip(e, -c, c), -b, b),
         "smoothing/clipped-before-scaling", "before being scaled"),
        (lambda a, e, s, c, b: clip(a + tf.minimum(s * e, c), -b, b),
         "smoothing/noise-clip-one-sided", "from above only"),
        (lambda a, e, s, c, b: clip(a + tf.maximum(s * e, -c), -b, b),
         "smoothing/noise-clip-one-sided", "from below only"),
        (lambda a, e, s, c, b: tf.minimum(a + clip(s * e, -c, c), b),
         "smoothing/action-clip-one-sided", "from above only"),
        (lambda a, e, s, c, b: tf.maximum(a + clip(s * e, -c, c), -b),
         "smoothing/action-clip-one-sided", "from below only"),
        (lambda a, e, s, c, b: clip(a + clip(e, -c, c), -b, b),
         "smoothing/no-std", "noise_std is missing"),
        (lambda a, e, s, c, b: clip(a + clip(s**0.5 * e, -c, c), -b, b),
         "smoothing/std-as-variance", "sqrt(noise_std)"),
        (lambda a, e, s, c, b: clip(a - clip(s * e, -c, c), -b, b),
         "smoothing/noise-subtracted", "subtracted"),
        (lambda a, e, s, c, b: clip(a, -b, b), "smoothing/no-noise",
         "no noise was added"),
        (smoothing_own_noise, "smoothing/own-random", "use the normal_sample"),
        (smoothing_in_place, "smoothing/changes-input",
         "changed its input `target_action`"),
        (numpy_clip, "tf/numpy-in-graph", "np.clip -> tf.clip_by_value"),
    ],
)
def test_smoothing_mistakes_fail(answer, mistake, fragment):
    mistake_of(td3.check_smoothed_target_action, answer, mistake, fragment)


def python_min_max(target_action, normal_sample, noise_std, noise_clip,
                   action_bound):
    noise = max(-noise_clip, min(noise_clip, noise_std * normal_sample))
    return clip(target_action + noise, -action_bound, action_bound)


@pytest.mark.parametrize(
    ("answer", "mistake", "fragments", "absent"),
    [
        (lambda a, e, s, c, b: clip(a + clip(s * e, -b, b), -b, b),
         "smoothing/noise-clip-bound", ("wrong bound", "noise_clip is the noise's"),
         "not clipped"),
        (lambda a, e, s, c, b: clip(a + clip(s * e, -c, c), -(b - c), b - c),
         "smoothing/action-bound-shrunk", ("action_bound - noise_clip",),
         "swapped"),
        (python_min_max, "smoothing/python-min",
         ("Python's min() and max()", "clips element by element"), "`if`"),
    ],
)
def test_smoothing_mistakes_named_rightly(answer, mistake, fragments, absent):
    message = mistake_of(td3.check_smoothed_target_action, answer, mistake,
                         *fragments)
    assert absent not in message, message


def test_smoothing_fix_leads_with_tf_clip_by_value():
    message = fails(td3.check_smoothed_target_action,
                    lambda a, e, s, c, b: clip(a + s * e, -b, b),
                    "Clip the noise to [-noise_clip, noise_clip] first",
                    fix=("tf.clip_by_value(noise_std * normal_sample",))
    assert "np.clip" not in message and "tf.clip_by_value" not in message
    assert "tf.clip_by_value" in fix_of(td3.check_smoothed_target_action,
                                        python_min_max)


def test_smoothing_bad_returns_and_errors_fail_cleanly():
    check = td3.check_smoothed_target_action
    fails(check, lambda *args: None, "got None")
    fails(check, lambda a, e, s, c, b: tf.reshape(a, (-1,)), "shape")
    fails(check, lambda *args: {}["missing"], "KeyError")
    mistake_of(check, stub, "not-done", "not done yet")
    fails(check, "not a function", "expected a function")


# --------------------------------------------------------------------------------------
# Exercise 3: delayed policy updates
# --------------------------------------------------------------------------------------
def round_reference(update_number, policy_delay, update_critics, update_actor,
                    update_targets):
    update_critics()
    if update_number % policy_delay == 0:
        update_actor()
        update_targets()


def round_with_tf_cond(update_number, policy_delay, update_critics, update_actor,
                       update_targets):
    def both():
        update_actor()
        update_targets()

    update_critics()
    due = tf.equal(tf.math.floormod(update_number, policy_delay), 0)
    tf.cond(due, lambda: both() or tf.constant(0), lambda: tf.constant(0))


def round_with_else(update_number, policy_delay, update_critics, update_actor,
                    update_targets):
    if update_number % policy_delay:
        update_critics()
    else:
        update_critics()
        update_actor()
        update_targets()


def test_round_reference_passes(capsys):
    td3.check_td3_update_round(round_reference)
    assert capsys.readouterr().out.startswith("✔ delayed policy updates")


def test_round_written_differently_passes():
    td3.check_td3_update_round(round_with_tf_cond)


def test_round_with_a_number_as_condition_is_named():
    # Right in plain Python; in the compiled step, `if remainder:` needs a boolean.
    mistake_of(td3.check_td3_update_round, round_with_else, "delay/graph-only",
               "used as True/False", "line")


def rounds(condition, order=("c", "a", "t"), targets_always=False):
    """A student's round: the callbacks in ``order``, actor and targets if due."""

    def answer(n, d, update_critics, update_actor, update_targets):
        calls = {"c": update_critics, "a": update_actor, "t": update_targets}
        due = condition(n, d)
        for name in order:
            if name == "c" or (name == "t" and targets_always) or due:
                calls[name]()

    return answer


def critics_when_due(n, d, update_critics, update_actor, update_targets):
    if n % d == 0:
        update_critics()
        update_actor()
        update_targets()


def critics_twice(n, d, update_critics, update_actor, update_targets):
    update_critics()
    update_critics()
    if n % d == 0:
        update_actor()
        update_targets()


def targets_never(n, d, update_critics, update_actor, update_targets):
    update_critics()
    if n % d == 0:
        update_actor()


def actor_never(n, d, update_critics, update_actor, update_targets):
    update_critics()
    if n % d == 0:
        update_targets()


def targets_apart(n, d, update_critics, update_actor, update_targets):
    update_critics()
    if n % d == 0:
        update_actor()
    if n % d == 1 % d:
        update_targets()


class Counted:
    """A round that counts its own calls instead of using update_number."""

    def __init__(self):
        self.count = 0

    def __call__(self, n, d, update_critics, update_actor, update_targets):
        self.count += 1
        update_critics()
        if self.count % d == 0:
            update_actor()
            update_targets()


def python_int_only(n, d, update_critics, update_actor, update_targets):
    update_critics()
    remainder = n % d
    # Decided in Python: in a graph `remainder` is a tensor, so never an int.
    if isinstance(remainder, int) and remainder == 0:
        update_actor()
        update_targets()


def not_remainder(n, d, update_critics, update_actor, update_targets):
    update_critics()
    if not n % d:
        update_actor()
        update_targets()


@pytest.mark.parametrize(
    ("answer", "mistake", "fragment"),
    [
        (rounds(lambda n, d: True), "delay/no-delay", "at every critic update"),
        (rounds(lambda n, d: n % d == 0, targets_always=True),
         "delay/targets-every-update", "the targets change at every critic update"),
        (rounds(lambda n, d: (n - 1) % d == 0), "delay/off-by-one",
         "first at update 1, expected 3"),
        (rounds(lambda n, d: (n + 1) % d == 0), "delay/off-by-one",
         "first at update 2, expected 3"),
        (rounds(lambda n, d: n % d != 0), "delay/inverted", "inverted"),
        (rounds(lambda n, d: n % 2 == 0), "delay/hard-coded", "policy_delay is 3"),
        (rounds(lambda n, d: n % d == 0, order=("a", "c", "t")),
         "delay/actor-before-critics", "does not start with the critics"),
        (rounds(lambda n, d: n % d == 0, order=("c", "t", "a")),
         "delay/targets-before-actor", "before the actor"),
        (critics_when_due, "delay/critics-skipped", "EVERY round"),
        (critics_twice, "delay/repeated-call", "more than once"),
        (targets_never, "delay/targets-never", "update_targets() was never called"),
        (actor_never, "delay/actor-never", "update_actor() was never called"),
        (targets_apart, "delay/targets-apart", "other rounds than the actor"),
        (python_int_only, "delay/graph-differs", "inside tf.function"),
        (not_remainder, "delay/graph-only", "`not`, `and`, `or`"),
    ],
)
def test_round_mistakes_fail(answer, mistake, fragment):
    message = mistake_of(td3.check_td3_update_round, answer, mistake, fragment)
    assert "expected" in message or "tf.function" in message


def test_round_with_its_own_counter_fails():
    # Right in the first run when the count starts in step; the replay of that run,
    # 20 rounds later, shows the counter (never "inverted" or "off by one").
    message = mistake_of(td3.check_td3_update_round, Counted(), "delay/own-counter",
                         "use", "update_number argument", "counter of your own")
    assert "inverted" not in message


def test_round_with_a_global_counter_fails_whatever_its_start():
    for start in range(6):  # a counter left over from earlier runs of the check
        count = [start]

        def counted(n, d, update_critics, update_actor, update_targets, count=count):
            count[0] += 1
            update_critics()
            if count[0] % d == 0:
                update_actor()
                update_targets()

        mistake_of(td3.check_td3_update_round, counted, "delay/own-counter",
                   "update_number argument")


def only_once(n, d, update_critics, update_actor, update_targets):
    update_critics()
    if n == d:
        update_actor()
        update_targets()


def test_round_due_only_once_is_named():
    message = mistake_of(td3.check_td3_update_round, only_once, "delay/only-once",
                         "only once, at update 3", "every policy_delay = 3")
    assert "wrong ones" not in message and "expected 3)" not in message


def is_zero(n, d, update_critics, update_actor, update_targets):
    update_critics()
    if operator.is_(n % d, 0):  # `n % d is 0`: decided once, when traced
        update_actor()
        update_targets()


def int_remainder(n, d, update_critics, update_actor, update_targets):
    update_critics()
    if int(n % d) == 0:  # AutoGraph casts the tensor: this works in the graph
        update_actor()
        update_targets()


def test_round_graph_hint_names_what_is_decided_when_traced():
    message = mistake_of(td3.check_td3_update_round, is_zero, "delay/graph-differs",
                         "`is`", "counter of your own")
    assert "int()" not in message and "bool()" not in message
    td3.check_td3_update_round(int_remainder)


def test_round_probe_needs_no_source_of_the_check(monkeypatch):
    # A kernel that imported td3.py before the file changed on disk: AutoGraph cannot
    # read the check's own code again. Only the student's function is converted.
    import linecache

    readable = linecache.getlines
    check_file = os.path.abspath(td3.__file__)

    def getlines(filename, module_globals=None):
        if os.path.abspath(filename) == check_file:
            return []
        return readable(filename, module_globals)

    def fresh_round(update_number, policy_delay, update_critics, update_actor,
                    update_targets):
        update_critics()
        if update_number % policy_delay == 0:
            update_actor()
            update_targets()

    monkeypatch.setattr(linecache, "getlines", getlines)
    td3.check_td3_update_round(fresh_round)


def test_round_fix_comes_in_stages(capsys):
    # Issue 23: the line that fixes the round is not handed over at once.
    from course_utils.checks import hints

    hints.reset()
    check = td3.check_td3_update_round
    line = "if update_number % policy_delay == 0:"
    with pytest.raises(CheckFailed) as first:
        check(rounds(lambda n, d: True))
    assert first.value.mistake == "delay/no-delay"
    assert line not in str(first.value) and str(first.value).endswith(hints.FIX_OFFER)
    assert "multiple of policy_delay" in str(first.value)
    with pytest.raises(CheckFailed) as again:  # the same mistake: the fix now
        check(rounds(lambda n, d: True))
    assert str(again.value).startswith(str(first.value).split("\nRun `")[0])
    assert line in str(again.value) and hints.FIX_OFFER not in str(again.value)
    with pytest.raises(CheckFailed) as other:  # another mistake: first stage again
        check(rounds(lambda n, d: n % d != 0))
    assert other.value.mistake == "delay/inverted" and line not in str(other.value)
    capsys.readouterr()
    cu.show_fix()
    assert line in capsys.readouterr().out
    check(round_reference)
    capsys.readouterr()
    cu.show_fix()
    assert "no fix to show" in capsys.readouterr().out


def test_round_shows_the_schedule():
    message = fails(td3.check_td3_update_round, rounds(lambda n, d: True))
    assert "update 1: expected critics; got critics, actor, targets" in message
    assert "update 3: expected critics, actor, targets;" in message


def test_round_bad_answers_fail_cleanly():
    check = td3.check_td3_update_round
    fails(check, lambda n, d, c, a, t: c(n), "TypeError")
    fails(check, lambda *args: 1 / 0, "ZeroDivisionError")
    mistake_of(check, stub, "not-done", "not done yet")
    fails(check, None, "expected a function")
    fails(check, lambda n, d, c, a, t: None, "update 1")


# --------------------------------------------------------------------------------------
# Probe + judge: mistake ids, plain data, forged data never passes
# --------------------------------------------------------------------------------------
RIGHT_ANSWERS = {
    "DOUBLE_Q_TARGET": double_q_reference,
    "SMOOTHING": smoothing_reference,
    "DELAYED_UPDATES": round_reference,
}
CHECK_FUNCTIONS = {
    "DOUBLE_Q_TARGET": td3.check_clipped_double_q_target,
    "SMOOTHING": td3.check_smoothed_target_action,
    "DELAYED_UPDATES": td3.check_td3_update_round,
}
# Records a judge reads only when an answer is wrong (the repeated call that tells an
# answer drawing its own noise): forging them changes nothing.
READ_ONLY_WHEN_WRONG = re.compile(r"^again\d+$")
# What td3_update_round returns is not part of the answer (only the calls are): such
# a record must be there, but any value in it is as good as None.
VALUE_IGNORED = re.compile(r"^(again/)?(d\d+|graph)/n\d+$")


@pytest.fixture(scope="module")
def genuine():
    """The probe's data for each check's right answer."""
    return genuine_data(td3, RIGHT_ANSWERS)


def test_mistake_ids_are_stable_names():
    assert len(mistake_ids(td3, ("double-q", "smoothing", "delay"))) >= 35


@pytest.mark.parametrize("name", sorted(RIGHT_ANSWERS))
def test_probe_data_survives_json_and_passes(genuine, name):
    assert_genuine_passes(getattr(td3, name), genuine[name])


@pytest.mark.parametrize("name", sorted(RIGHT_ANSWERS))
@pytest.mark.parametrize(
    "payload",
    [
        *GARBAGE_PAYLOADS,
        '{"records": {"d3/n1/calls": {"kind": "text", "text": "CAT"}}}',
        *OVERSIZED_PAYLOADS,
    ],
)
def test_forged_garbage_never_passes(name, payload):
    refused(getattr(td3, name), payload)


@pytest.mark.parametrize("name", sorted(RIGHT_ANSWERS))
def test_a_stopped_probe_never_passes(genuine, name):
    assert_stop_refused(getattr(td3, name), genuine[name], "probe failed")


@pytest.mark.parametrize("name", sorted(RIGHT_ANSWERS))
def test_forged_records_never_pass(genuine, name):
    data = genuine[name]
    assert_forged_records_refused(
        getattr(td3, name), data, data["records"],
        read_only_when_wrong=READ_ONLY_WHEN_WRONG, value_ignored=VALUE_IGNORED,
        texts=("C", "CAT", "CTA", "CCAT", "X", ""),
    )


def test_forged_graph_logs_never_pass(genuine):
    data = genuine["DELAYED_UPDATES"]
    # Negative, nothing called, too many calls, a 0 digit ("C0T"), critics and targets.
    for value in (-1, 0, 4**20, 1 * 16 + 0 * 4 + 3, 1 * 4 + 3):
        forged = copy.deepcopy(data)
        forged["records"]["graph/n2/log"] = {
            "kind": "array", "dtype": "int64", "shape": [], "data": [value]
        }
        refused(td3.DELAYED_UPDATES, dumps(forged))


def test_a_failed_call_is_not_excused_by_a_forged_list(genuine):
    data = copy.deepcopy(genuine["DELAYED_UPDATES"])
    data["records"]["d3/n2"] = {"kind": "error", "message": "boom", "mistake": None}
    with pytest.raises(CheckFailed, match="boom"):
        judge_payload(td3.DELAYED_UPDATES, dumps(data))


def test_judges_never_import_tensorflow():
    import inspect

    top_level = top_level_imports(td3)
    assert "tensorflow" not in top_level and "keras" not in top_level
    for function in (td3._judge_double_q, td3._judge_smoothing, td3._judge_delay,
                     td3._delay_mistake):
        assert "tensorflow" not in inspect.getsource(function)


def test_check_functions_run_their_checks():
    from course_utils.checks import core

    for name, function in CHECK_FUNCTIONS.items():
        assert core.check_of(function) is getattr(td3, name)


def test_lazy_submodule():
    import course_utils.checks as checks

    assert "td3" in dir(checks)
    assert checks.td3 is td3


def test_references_agree_with_the_formulas():
    # The references themselves, on one row each, against numbers worked by hand.
    y = td3.reference_double_q_target([[-1.0]], [[-10.0]], [[-12.0]], [[0.0]], 0.5)
    assert y.tolist() == [[-7.0]]
    action = td3.reference_smoothed_action([[1.5]], [[3.0]], 0.4, 1.0, 2.0)
    assert action.tolist() == [[2.0]]
    action = td3.reference_smoothed_action([[0.0]], [[-3.0]], 0.4, 1.0, 2.0)
    assert action.tolist() == [[-1.0]]
    assert [td3.reference_round(n, 2) for n in (1, 2, 3, 4)] == ["C", "CAT"] * 2


def test_payload_size_is_bounded(genuine):
    for data in genuine.values():
        assert len(json.dumps(data)) < MAX_PAYLOAD // 4


# --------------------------------------------------------------------------------------
# Challenge-response (grading): fresh cases under the grader's challenge
# --------------------------------------------------------------------------------------
MISTAKES_DIR = Path(__file__).resolve().parents[1] / "mutation" / "mistakes"
CATALOGUES = {
    "DOUBLE_Q_TARGET": "ch03_ex1.py",
    "SMOOTHING": "ch03_ex2.py",
    "DELAYED_UPDATES": "ch03_ex3.py",
}
# Right answers however written (the solutions the tests above pass).
WRITTEN_DIFFERENTLY = {
    "DOUBLE_Q_TARGET": (double_q_where, double_q_concat, double_q_arithmetic),
    "SMOOTHING": (smoothing_min_max,),
    "DELAYED_UPDATES": (round_with_tf_cond, int_remainder),
}
BUILDERS = {
    "double_q": td3._double_q_cases,
    "smoothing": td3._smoothing_cases,
    "delay": td3._delay_cases,
}


def catalogued(name):
    """(check name, answer, mistake id) of each entry of a check's catalogue."""
    return [
        pytest.param(name, answer, wrong.mistake, id=f"{name}-{wrong.name}")
        for wrong, answer in catalogue_entries(MISTAKES_DIR / CATALOGUES[name])
        if wrong.mistake is not None
    ]






@pytest.mark.parametrize("name", sorted(RIGHT_ANSWERS))
def test_right_answers_pass_under_every_challenge(name):
    check = getattr(td3, name)
    for answer in (RIGHT_ANSWERS[name], *WRITTEN_DIFFERENTLY[name]):
        for challenge in CHALLENGES:
            verdict = graded(check, answer, challenge=challenge, reuse=True)
            assert verdict == ("passed", None), (answer.__name__, challenge)


@pytest.mark.parametrize(
    ("name", "answer", "mistake"),
    [entry for name in sorted(CATALOGUES) for entry in catalogued(name)],
)
def test_catalogued_mistakes_keep_their_id_under_every_challenge(name, answer, mistake):
    check = getattr(td3, name)
    for challenge in CHALLENGES:
        assert graded(check, answer, challenge=challenge) == ("failed", mistake), (
            challenge
        )


@pytest.mark.parametrize(
    ("answer", "mistake"),
    [
        (Counted, "delay/own-counter"),
        (lambda: only_once, "delay/only-once"),
        (lambda: critics_twice, "delay/repeated-call"),
        (lambda: targets_apart, "delay/targets-apart"),
        (lambda: is_zero, "delay/graph-differs"),
    ],
)
def test_other_round_mistakes_keep_their_id_under_every_challenge(answer, mistake):
    for challenge in CHALLENGES:
        graded_answer = answer()  # a fresh counter for each grading run
        assert graded(td3.DELAYED_UPDATES, graded_answer, challenge=challenge) == (
            "failed", mistake,
        ), challenge


@pytest.mark.parametrize("name", sorted(RIGHT_ANSWERS))
def test_replayed_payloads_never_pass(name):
    assert_replays_refused(getattr(td3, name), RIGHT_ANSWERS[name])


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_challenged_cases_are_new_and_repeatable(builder):
    assert_cases_new_and_repeatable(BUILDERS[builder])


def test_challenged_cases_keep_the_structure():
    fixed_q, fixed_s = td3._double_q_cases(), td3._smoothing_cases()
    for challenge in range(200):
        with challenged(challenge):
            drawn_q, drawn_s = td3._double_q_cases(), td3._smoothing_cases()
            (first, first_numbers), *others = td3._delay_cases()[0]
            graph_delay, graph_numbers = td3._delay_cases()[1]
        for drawn, fixed in ((drawn_q, fixed_q), (drawn_s, fixed_s)):
            assert len(drawn) == len(fixed)
            for new, old in zip(drawn, fixed, strict=True):
                assert list(new) == list(old)
                for key, value in old.items():
                    if isinstance(value, np.ndarray):
                        assert new[key].shape == value.shape
                        assert new[key].dtype == value.dtype
        for new, old in zip(drawn_q, fixed_q, strict=True):
            assert new["terminated"].sum() == old["terminated"].sum()
            assert (new["gamma"] == 0) == (old["gamma"] == 0)
        first_case = drawn_q[0]
        live = first_case["terminated"][:, 0] == 0
        q1, q2 = first_case["next_q1"][live], first_case["next_q2"][live]
        assert (q1 < q2).any() and (q1 > q2).any()
        noise = drawn_s[0]["noise_std"] * drawn_s[0]["normal_sample"]
        assert (noise > 1).any() and (noise < -1).any()  # beyond the clip
        assert np.isclose(abs(noise), 1).any() and (abs(noise) > 2).any()
        assert (abs(drawn_s[1]["target_action"]) == 1).any()  # at the bound
        # The first run starts at 1, with two due rounds or more; then delays 2, 1.
        assert first_numbers[0] == 1 and 3 <= first <= 5
        assert len(first_numbers) >= 2 * first
        assert [delay for delay, _ in others] == [2, 1]
        played = len(first_numbers) + sum(len(numbers) for _, numbers in others)
        assert played % first != 0  # a counter of one's own drifts in the replay
        due = [n % graph_delay == 0 for n in graph_numbers]
        assert any(due) and not all(due)


def test_mistakes_stay_apart_under_many_challenges():
    # Each typical mistake, on the first case where it is wrong, is recognised as
    # itself (no two coincide there) under any challenge, not only the tested ones.
    def reference_q(case):
        return td3.reference_double_q_target(
            case["rewards"], case["next_q1"], case["next_q2"], case["terminated"],
            case["gamma"],
        )

    def reference_s(case):
        return td3.reference_smoothed_action(**case)

    checked = (
        (td3._double_q_cases, td3._double_q_mistakes, reference_q),
        (td3._smoothing_cases, td3._smoothing_mistakes, reference_s),
    )
    for challenge in (None, *range(300)):
        for build, mistakes_of, reference in checked:
            with challenged(challenge):
                cases = build()
            lists = [mistakes_of(case) for case in cases]
            expected = [reference(case) for case in cases]
            for index in range(len(lists[0])):
                for mistakes, right in zip(lists, expected, strict=True):
                    mistake = mistakes[index]
                    value = np.broadcast_to(mistake.value, right.shape)
                    if not np.allclose(value, right, **td3._TOL):
                        assert recognise(value, mistakes, **td3._TOL) is mistake, (
                            challenge, mistake.id
                        )
                        break
                else:
                    pytest.fail(f"{lists[0][index].id} never wrong ({challenge})")


def probe_side_names():
    """Top-level names of td3.py reachable from its probes and case builders."""
    tree = ast.parse(inspect.getsource(td3))
    definitions, checks = {}, set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            definitions[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            value = node.value
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Tuple):  # CRITICS, ACTOR, ... = ...
                    definitions.update(
                        (item.id, value) for item in target.elts
                        if isinstance(item, ast.Name)
                    )
                elif isinstance(target, ast.Name):
                    is_check = (
                        isinstance(value, ast.Call)
                        and isinstance(value.func, ast.Name)
                        and value.func.id == "Check"
                    )
                    if is_check:
                        checks.add(value.args[1].id)  # only the probe is reachable
                        definitions[target.id] = value.args[1]
                    else:
                        definitions[target.id] = value
    builders = {
        name for name, node in definitions.items()
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(n, ast.Name) and n.id == "case_rng" for n in ast.walk(node))
    }
    assert checks == {"_probe_double_q", "_probe_smoothing", "_probe_delay"}
    assert builders == {"_double_q_cases", "_smoothing_cases", "_delay_cases"}
    reachable, todo = set(), [*checks, *builders]
    while todo:
        name = todo.pop()
        if name in reachable or name not in definitions:
            continue
        reachable.add(name)
        todo += [n.id for n in ast.walk(definitions[name]) if isinstance(n, ast.Name)]
    return reachable


def test_probes_and_case_builders_reach_no_reference_judge_or_mistake():
    reachable = probe_side_names()
    assert {"_drawn_double_q_cases", "_drawn_smoothing_cases", "_probe_delay_graph"} \
        <= reachable
    for name in reachable:
        assert not name.startswith("reference_"), name
        assert "judge" not in name and "mistake" not in name, name
    # Nor anything that computes an answer: the clips and the schedule stay judge-side.
    assert not reachable & {"_clip", "_delay_mistake", "_schedule", "_own_counter"}
