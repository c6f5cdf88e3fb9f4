"""The check framework: failures in the student's terms, never a crash."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.checks.core import (
    NOT_DONE,
    CheckFailed,
    as_array,
    assert_close,
    call_student,
    passed,
)


def test_check_failed_is_an_assertion_error():
    assert issubclass(CheckFailed, AssertionError)


def test_call_student_returns_value_and_copies_arrays():
    def mutate(values, extra, *, table):
        values[0] = 100.0
        extra[0][0] = 100.0
        table["a"][0] = 100.0
        return values.sum()

    values = np.ones(3)
    nested = [np.ones(2)]
    table = {"a": np.ones(2)}
    result = call_student(mutate, values, [nested[0]], table=table, exercise="1")
    assert result == 102.0
    np.testing.assert_array_equal(values, np.ones(3))
    np.testing.assert_array_equal(nested[0], np.ones(2))
    np.testing.assert_array_equal(table["a"], np.ones(2))


def test_call_student_passes_other_objects_as_they_are():
    class Buffer:
        pass

    buffer = Buffer()
    assert call_student(lambda b: b, buffer, exercise="2") is buffer


def test_not_implemented_is_not_done_yet():
    def stub(x):
        raise NotImplementedError("Exercise 1.2: discounted returns")

    with pytest.raises(CheckFailed) as info:
        call_student(stub, 1, exercise="1.2")
    message = str(info.value)
    assert message.startswith("Exercise 1.2 is not done yet")
    assert "discounted returns" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_not_implemented_without_message():
    def stub():
        raise NotImplementedError

    with pytest.raises(CheckFailed, match=r"not done yet: replace .*solution\.$"):
        call_student(stub, exercise="3")


def test_student_exception_names_type_line_and_inputs():
    def student(rewards, gamma=0.9):
        total = rewards.reshape(7)
        return total

    with pytest.raises(CheckFailed) as info:
        call_student(student, np.array([1.0, 2.0, 3.0]), gamma=0.5, exercise="1.3")
    message = str(info.value)
    assert "Exercise 1.3: your code raised ValueError" in message
    assert "total = rewards.reshape(7)" in message
    assert "of student()" in message
    assert "array shape (3,) float64 [1., 2., 3.]" in message
    assert "gamma=float 0.5" in message
    # No chained traceback into the checker or the student's code.
    assert info.value.__suppress_context__


def test_callable_object_line_found():
    class Student:
        def __call__(self, x):
            return x / 0

    with pytest.raises(
        CheckFailed,
        match=r"(?s)ZeroDivisionError.*line \d+ of __call__\(\): return x / 0",
    ):
        call_student(Student(), 1, exercise="4")


def test_builtin_raising_has_no_line():
    with pytest.raises(CheckFailed, match="your code raised TypeError"):
        call_student(len, 5, exercise="5")


def test_error_deep_in_a_library_points_at_the_student_line():
    import functools
    import json

    def student(text):
        return json.loads(text)

    with pytest.raises(CheckFailed, match=r"JSONDecodeError.*\n.*return json.loads"):
        call_student(student, "{", exercise="6")
    with pytest.raises(CheckFailed) as info:
        call_student(functools.partial(json.loads), "{", exercise="6")
    assert " at line " not in str(info.value)


def test_long_messages_are_shortened():
    def noisy():
        raise RuntimeError("x" * 2000)

    with pytest.raises(CheckFailed) as info:
        call_student(noisy, exercise="7")
    assert len(str(info.value)) < 500 and "..." in str(info.value)


@pytest.mark.parametrize("fn", [None, 3, "returns"])
def test_not_a_function(fn):
    with pytest.raises(CheckFailed, match="expected a function"):
        call_student(fn, exercise="8")


def test_as_array_accepts_lists_numbers_and_tensors():
    class Tensor:
        shape = (2,)
        dtype = "float32"

        def __array__(self, dtype=None, copy=None):
            return np.array([1.0, 2.0], dtype=np.float32)

    assert as_array([1, 2], name="x", shape=(2,)).dtype == np.float64
    assert as_array(3, name="x", shape=()).shape == ()
    np.testing.assert_array_equal(as_array(Tensor(), name="x"), [1.0, 2.0])
    assert as_array(np.ones((4, 3)), name="x", shape=(None, 3)).shape == (4, 3)
    assert as_array([1, 2], name="x", dtype_kind="i").dtype == np.int64
    assert as_array([True], name="x", dtype_kind="b").dtype == bool
    kept = as_array(np.ones(2, np.float32), name="x", dtype_kind=None)
    assert kept.dtype == np.float32


def test_as_array_returns_a_copy():
    original = np.ones(3)
    converted = as_array(original, name="x", dtype_kind=None)
    converted[0] = 5
    assert original[0] == 1


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        (None, {"shape": (5,)}, r"expected returns with shape \(5,\), got None"),
        ("abc", {}, "expected returns, got str"),
        ({"a": 1}, {}, "got dict"),
        (len, {}, "got builtin_function_or_method"),
        ([[1, 2], [3]], {}, "cannot be turned into an array"),
        ([object()], {}, "made of numbers"),
        (np.ones((5, 1)), {"shape": (5,)}, r"got shape \(5, 1\).*broadcast"),
        (np.ones(4), {"shape": (5,)}, r"with shape \(5,\), got shape \(4,\)$"),
        (np.ones((2, 2)), {"shape": (None, 3)}, r"with shape \(n, 3\)"),
        ([1.0, np.nan], {}, "contains NaN or inf"),
        ([1.5], {"dtype_kind": "i"}, "as integers"),
        ([1], {"dtype_kind": "b"}, "as booleans"),
    ],
)
def test_as_array_failures(value, kwargs, message):
    with pytest.raises(CheckFailed, match=message):
        as_array(value, name="returns", **kwargs)


def test_as_array_bad_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="dtype_kind"):
        as_array([1], name="x", dtype_kind="z")


def test_assert_close_passes():
    assert_close([1.0, 2.0], np.array([1.0, 2.0 + 1e-7]), what="x", case="c", hint="h")


def test_assert_close_message():
    with pytest.raises(CheckFailed) as info:
        assert_close(
            np.array([1.0, 0.5, 0.3]),
            [1.0, 0.5, 0.25],
            what="discounted returns",
            case={"rewards": [1, 1, 1], "gamma": 0.5},
            hint="work backwards from the last reward",
        )
    assert str(info.value).splitlines() == [
        "discounted returns is not right on this case:",
        "  rewards=[1, 1, 1], gamma=0.5",
        "  expected: [1.  , 0.5 , 0.25]",
        "  got:      [1. , 0.5, 0.3]",
        "  (largest difference 0.05 at index 2)",
        "Hint: work backwards from the last reward",
    ]


def test_assert_close_recognises_sign_and_order():
    with pytest.raises(CheckFailed, match="opposite sign"):
        assert_close([-1.0, -2.0], [1.0, 2.0], what="loss", case="c", hint="h")
    with pytest.raises(CheckFailed, match="reverse order"):
        assert_close([3.0, 2.0, 1.0], [1.0, 2.0, 3.0], what="r", case="c", hint="h")


def test_assert_close_scalar_and_2d():
    with pytest.raises(CheckFailed, match=r"expected: 1\.5\n  got:      2\n"):
        assert_close(2.0, 1.5, what="value", case="one state", hint="h")
    with pytest.raises(CheckFailed, match=r"at index \(1, 0\)"):
        assert_close(
            np.array([[0.0], [1.0]]), np.zeros((2, 1)), what="v", case="c", hint="h"
        )


def test_assert_close_wrong_shape_or_none():
    with pytest.raises(CheckFailed, match=r"shape \(3,\), got None"):
        assert_close(None, [1, 2, 3], what="returns", case="c", hint="h")
    with pytest.raises(CheckFailed, match=r"got shape \(2,\)"):
        assert_close([1, 2], [1, 2, 3], what="returns", case="c", hint="h")


def test_assert_close_empty_and_odd_case():
    assert_close([], np.zeros(0), what="x", case=[1, 2], hint="h")
    with pytest.raises(CheckFailed, match=r"case:\n  \[\[1\], \[1, 2\]\]"):
        assert_close([1.0], [2.0], what="x", case=[[1], [1, 2]], hint="h")


def test_passed_prints_one_line(capsys):
    passed("discounted returns: 4 cases")
    assert capsys.readouterr().out == "✔ discounted returns: 4 cases\n"


def test_never_mutates_arguments():
    got, expected = np.array([1.0, 2.0]), np.array([1.0, 3.0])
    with pytest.raises(CheckFailed):
        assert_close(got, expected, what="x", case="c", hint="h")
    np.testing.assert_array_equal(got, [1.0, 2.0])
    np.testing.assert_array_equal(expected, [1.0, 3.0])


def test_wrong_number_of_arguments():
    def student(a, b):
        return a + b

    with pytest.raises(CheckFailed) as info:
        call_student(student, 1, exercise="9")
    assert "TypeError" in str(info.value) and " at line " not in str(info.value)


def test_symbolic_tensor_is_described_without_values():
    class Symbolic:
        shape = (None, 4)
        dtype = "float32"

        def __array__(self, dtype=None, copy=None):
            raise TypeError("symbolic")

    with pytest.raises(
        CheckFailed, match=r"got Symbolic shape \(None, 4\) float32 that"
    ):
        as_array(Symbolic(), name="x")


# --------------------------------------------------------------------------------------
# Errors inside tf.function and arrays used as one True/False (real TensorFlow)
# --------------------------------------------------------------------------------------
def compiled(fn):
    tf = pytest.importorskip("tensorflow")
    return tf.function(fn, input_signature=[tf.TensorSpec([None], tf.float32)])


def numpy_mean_in_graph(x):
    return x - np.mean(x)


def aliased_mean_in_graph(x):
    from numpy import mean

    return x - mean(x)


def numpy_method_in_graph(x):
    return x * x.numpy()


@pytest.mark.parametrize(
    ("fn", "fragments"),
    [
        (numpy_mean_in_graph, ["np.mean -> tf.reduce_mean", "return x - np.mean(x)"]),
        (aliased_mean_in_graph, ["np.mean -> tf.reduce_mean", "return x - mean(x)"]),
        (numpy_method_in_graph, [".numpy() cannot run", "return x * x.numpy()"]),
    ],
)
def test_numpy_inside_tf_function_names_the_operation(fn, fragments):
    with pytest.raises(CheckFailed) as info:
        call_student(compiled(fn), np.ones(3, np.float32), exercise="4")
    message = str(info.value)
    assert info.value.mistake == "tf/numpy-in-graph"
    assert "inside tf.function" in message and "not done yet" not in message
    for fragment in fragments:
        assert fragment in message, message


def stub_in_graph(x):
    raise NotImplementedError("Exercise 4: write the loss")


def test_stub_inside_tf_function_is_not_done_yet():
    with pytest.raises(CheckFailed, match="not done yet") as info:
        call_student(compiled(stub_in_graph), np.ones(3, np.float32), exercise="4")
    assert info.value.mistake == NOT_DONE


def if_on_flags(x):
    if x > 0:
        return x
    return -x


def if_on_values(x):
    if x:
        return x
    return -x


def test_if_on_an_array_gets_a_hint_eagerly_and_in_graph():
    tf = pytest.importorskip("tensorflow")
    graph_without_autograph = tf.function(
        if_on_flags, input_signature=[tf.TensorSpec([None], tf.float32)],
        autograph=False,
    )
    for fn, value in [
        (if_on_flags, np.ones(3)),  # NumPy
        (if_on_flags, tf.ones(3)),  # eager TensorFlow
        (compiled(if_on_flags), np.ones(3, np.float32)),  # tf.cond on 3 flags
        (compiled(if_on_values), np.ones(3, np.float32)),  # AutoGraph's if
        (graph_without_autograph, np.ones(3, np.float32)),  # a tensor as a bool
    ]:
        with pytest.raises(CheckFailed) as info:
            call_student(fn, value, exercise="2")
        assert info.value.mistake == "array/truth-value", str(info.value)
        assert "ONE True or False" in str(info.value)
        assert ": if x" in str(info.value)  # the student's line, also from a graph


def test_other_value_errors_get_no_truth_hint():
    def bad(x):
        raise ValueError("shapes do not match")

    with pytest.raises(CheckFailed) as info:
        call_student(bad, 1, exercise="2")
    assert info.value.mistake is None and "ONE True" not in str(info.value)


# --------------------------------------------------------------------------------------
# Feedback in stages (issue 23): the line that fixes it only on request
# --------------------------------------------------------------------------------------
def _staged_check():
    """A check that names two mistakes, each with its fix, and one without a fix."""
    from course_utils.checks.core import Check, Mistake, assert_close_naming

    def probe(recorder, fn):
        recorder.call("value", fn, 2.0)

    def judge(records):
        got = records["value"]
        if isinstance(got, np.ndarray) and got.shape == () and float(got) < 0:
            raise CheckFailed("negative: think about the sign.", "toy/negative")
        assert_close_naming(
            got, 4.0,
            [Mistake("toy/half", 2.0, "you returned x, not twice x.",
                     "`return 2 * x`"),
             Mistake("toy/triple", 6.0, "three times is one too many.",
                     "`return 2 * x`")],
            what="twice x", case="x=2", hint="double it.", fix="`return 2 * x`",
        )
        return "twice x: right"

    return Check("9 (toy)", probe, judge)


def _failure(check, answer):
    from course_utils.checks.core import run_check

    with pytest.raises(CheckFailed) as info:
        run_check(check, answer)
    return info.value


def test_first_failure_offers_the_fix_without_showing_it():
    from course_utils.checks import hints

    hints.reset()
    failure = _failure(_staged_check(), lambda x: x)
    message = str(failure)
    assert failure.mistake == "toy/half" and failure.fix == "`return 2 * x`"
    assert "you returned x, not twice x." in message
    assert "return 2 * x" not in message and hints.FIX_LEAD not in message
    assert message.endswith(hints.FIX_OFFER)
    assert "cu.show_fix()" in message


def test_same_mistake_again_shows_the_fix_and_another_resets():
    from course_utils.checks import hints

    hints.reset()
    check = _staged_check()
    first = str(_failure(check, lambda x: x))
    second = _failure(check, lambda x: x + 0.0)  # a change that still fails
    assert second.mistake == "toy/half"
    assert str(second).endswith("Fix: `return 2 * x`")
    assert hints.FIX_OFFER not in str(second)
    assert str(second).startswith(first[: -len(hints.FIX_OFFER)])
    other = _failure(check, lambda x: 3 * x)  # another mistake: first stage again
    assert other.mistake == "toy/triple" and str(other).endswith(hints.FIX_OFFER)
    back = _failure(check, lambda x: x)  # and back: the streak starts again
    assert str(back).endswith(hints.FIX_OFFER)


def test_a_pass_forgets_the_failures():
    from course_utils.checks import hints
    from course_utils.checks.core import run_check

    hints.reset()
    check = _staged_check()
    _failure(check, lambda x: x)
    run_check(check, lambda x: 2 * x)
    assert str(_failure(check, lambda x: x)).endswith(hints.FIX_OFFER)


def test_show_fix_prints_the_last_fix_or_says_why_not(capsys):
    import course_utils as cu
    from course_utils.checks import hints
    from course_utils.checks.core import run_check

    hints.reset()
    cu.show_fix()
    assert "No check has failed" in capsys.readouterr().out
    check = _staged_check()
    _failure(check, lambda x: 3 * x)
    cu.show_fix()
    assert capsys.readouterr().out.strip() == (
        "Exercise 9 (toy): Fix: `return 2 * x`"
    )
    # Asked for once: the next failure of the same mistake shows it too.
    assert str(_failure(check, lambda x: 3 * x)).endswith("Fix: `return 2 * x`")
    failure = _failure(check, lambda x: -x)  # a mistake without a fix
    assert str(failure) == "negative: think about the sign."  # nothing offered
    cu.show_fix()
    assert "no fix line to show" in capsys.readouterr().out
    run_check(check, lambda x: 2 * x)
    capsys.readouterr()
    cu.show_fix()
    assert "no fix to show" in capsys.readouterr().out


def test_unnamed_failure_with_a_fix_is_staged_by_its_fix():
    from course_utils.checks import hints

    hints.reset()
    check = _staged_check()
    first = _failure(check, lambda x: x + 7)  # no typical mistake: the generic hint
    assert first.mistake is None and str(first).endswith(hints.FIX_OFFER)
    assert str(_failure(check, lambda x: x + 9)).endswith("Fix: `return 2 * x`")


def test_grader_report_holds_both_stages():
    # judge_payload is the grader's: the instructor's report shows the fix at once.
    from course_utils.checks import hints
    from course_utils.checks.core import judge_payload, run_probe
    from course_utils.checks.plain import dumps

    hints.reset()
    check = _staged_check()
    with pytest.raises(CheckFailed) as info:
        judge_payload(check, dumps(run_probe(check, lambda x: x)))
    message = str(info.value)
    assert info.value.mistake == "toy/half"
    assert "you returned x, not twice x." in message
    assert message.endswith("Fix: `return 2 * x`")
    assert hints.FIX_OFFER not in message


def test_fix_of_a_probe_failure_travels_in_the_payload():
    from course_utils.checks.core import Check, run_check
    from course_utils.checks.plain import (
        MalformedProbe,
        StudentError,
        decode,
        encode,
        validate,
    )

    def probe(recorder, fn):
        raise CheckFailed("record() overflows.", "toy/overflow", "`row = n % size`")

    check = Check("9 (toy)", probe, lambda records: "never")
    from course_utils.checks import hints

    hints.reset()
    failure = _failure(check, lambda: None)
    assert failure.mistake == "toy/overflow" and failure.fix == "`row = n % size`"
    assert "row = n % size" not in str(failure)
    with pytest.raises(CheckFailed, match="Fix: `row = n % size`"):
        run_check(check, lambda: None)
    record = encode(StudentError("m", "toy/x", "`fix`"), repr)
    assert decode(record) == StudentError("m", "toy/x", "`fix`")
    assert "fix" not in encode(StudentError("m"), repr)  # unchanged without one
    with pytest.raises(MalformedProbe):
        validate({"records": {"a": dict(record, fix=["not", "text"])}})
