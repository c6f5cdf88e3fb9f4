"""Chapter 03's sentences about the critics say what the numbers say.

The notebook generates every sentence about over-estimation from its measurements
(``describe_critics``). These tests feed that generator synthetic measurements (no
training, no TensorFlow): it must never call a critic closer to the truth when its
error is the larger one, and it must report a mid-run gap when there is one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03_td3_pendulum.py"


@pytest.fixture(scope="module")
def chapter():
    """The notebook cell that defines describe_critics, run with NumPy alone."""
    import jupytext

    for cell in jupytext.read(NOTEBOOK).cells:
        if cell.cell_type == "code" and "def describe_critics(" in cell.source:
            namespace = {"np": np, "__name__": "chapter03"}
            exec(compile(cell.source, "<chapter 03>", "exec"), namespace)  # noqa: S102
            return namespace
    raise AssertionError("notebook 03 no longer defines describe_critics")


def measurements(medians, spread=5.0, first_episode=5, every=5, means=None):
    """Measurement dicts as measure_bias returns them, for given median errors
    (and mean errors: the medians unless given)."""
    means = medians if means is None else means
    return [
        {
            "episode": first_episode + every * i,
            "q": float(mean) - 100.0,
            "g": -100.0,
            "error_median": float(m),
            "error_mean": float(mean),
            "error_low": float(m) - spread,
            "error_high": float(m) + spread,
            "positive": 0.0,
            "states": 1000,
            "score": -150.0,
        }
        for i, (m, mean) in enumerate(zip(medians, means, strict=True))
    ]


def text_of(chapter, ddpg, td3):
    runs = {"DDPG": measurements(ddpg), "TD3": measurements(td3)}
    return "\n".join(chapter["describe_critics"](runs, twin=("TD3",)))


def test_never_calls_the_worse_critic_closer(chapter):
    rng = np.random.default_rng(0)
    for _ in range(400):
        ddpg = rng.normal(0, 60, size=10)
        td3 = rng.normal(0, 60, size=10)
        # Some cases with nearly equal final errors, of either sign.
        if rng.random() < 0.3:
            td3[-1] = np.sign(rng.normal()) * abs(ddpg[-1]) * rng.uniform(0.9, 1.1)
        text = text_of(chapter, ddpg, td3)
        if abs(td3[-1]) >= abs(ddpg[-1]):
            assert "TD3's critic is closer" not in text, text
        if abs(ddpg[-1]) >= abs(td3[-1]):
            assert "DDPG's critic is closer" not in text, text
        assert not ("TD3's critic is closer" in text and "equally far" in text)


def test_a_clear_difference_is_reported_and_a_tie_is_not(chapter):
    text = text_of(chapter, [300, 100, 40, 30, 25, 20, 18, 16, 15, 14],
                   [200, 60, 20, 10, 8, 6, 5, 4, 3, 3])
    assert "TD3's critic is closer" in text
    text = text_of(chapter, [300, 100, 40, 30, 25, 20, 18, 16, 15, 10],
                   [200, 60, 20, 10, 8, 6, 5, 4, 3, -10.5])
    assert "equally far" in text and "critic is closer" not in text


def test_the_mid_run_gap_of_the_issue_is_reported(chapter):
    # Seed 0 as the student saw it: TD3's first critic about 85 above the return
    # obtained at episodes 25, 30 and 35, DDPG's final error near 8.
    ddpg = [250, 120, 60, 30, 20, 15, 12, 10, 9, 8]
    td3 = [180, 70, 30, 20, 85, 86, 84, 20, 10, 6]
    text = text_of(chapter, ddpg, td3)
    assert "Mid-run gap" in text
    assert "episode(s) 25, 30, 35" in text
    assert "same batches" in text  # why the minimum of two critics kept it
    assert "compare the curves" in text  # ten times DDPG's final error, said so
    assert "does not only shrink" in text  # it came down to 20, then grew again


def test_mid_run_gaps_are_mentioned_whenever_present(chapter):
    rng = np.random.default_rng(1)
    for _ in range(300):
        values = rng.normal(0, 20, size=10)
        text = "\n".join(chapter["describe_critics"]({"TD3": measurements(values)}))
        limit = max(chapter["GAP_FLOOR"], chapter["GAP_RATIO"] * abs(values[-1]))
        has_gap = bool(np.any(np.abs(values[1:-1]) >= limit))
        assert ("Mid-run gap" in text) == has_gap, (values, text)


def test_under_estimates_are_not_called_over_estimates(chapter):
    text = text_of(chapter, [50, 40, 30, 20, 10, 8, 6, 5, 4, 3],
                   [-50, -40, -30, -60, -55, -8, -6, -5, -4, -3])
    gap = next(line for line in text.splitlines()
               if line.startswith("Mid-run") and "TD3's" in line)
    assert "under-estimated" in gap and "over-estimated" not in gap
    assert "same batches" not in text  # that explanation is about over-estimates


def test_the_benchmark_finds_no_contradiction_in_synthetic_runs(chapter):
    """benchmarks/td3_claims.py's independent checker agrees with the generator."""
    import importlib.util

    path = NOTEBOOK.parent.parent / "benchmarks" / "td3_claims.py"
    spec = importlib.util.spec_from_file_location("td3_claims", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rng = np.random.default_rng(2)
    for _ in range(300):
        runs = {name: measurements(rng.normal(0, 50, size=10),
                                   means=rng.normal(0, 80, size=10))
                for name in ("DDPG", "TD3")}
        text = chapter["describe_critics"](runs, twin=("TD3",))
        found = bench.contradictions(runs, text, chapter["GAP_RATIO"],
                                     chapter["GAP_FLOOR"], chapter["TIE"])
        assert found == [], (found, text)
    # And it does catch a false claim.
    runs = {"DDPG": measurements([50, 20, 5]), "TD3": measurements([50, 20, 30])}
    text = chapter["describe_critics"](runs, twin=("TD3",))
    text = [line.replace("DDPG's critic is closer", "TD3's critic is closer")
            for line in text]
    assert any("TD3's critic is closer" in p
               for p in bench.contradictions(runs, text, 2.0, 10.0, 0.2))


def test_a_gap_of_the_mean_alone_is_reported(chapter):
    # Most states well predicted (median small), a few far off: the mean shows it.
    medians = [150, 40, 10, 5, 4, 4, 3, 3, 3, 3]
    means = [200, 60, 20, 15, 85, 86, 84, 15, 8, 6]
    runs = {"DDPG": measurements([250, 120, 60, 30, 20, 15, 12, 10, 9, 8]),
            "TD3": measurements(medians, means=means)}
    text = "\n".join(chapter["describe_critics"](runs, twin=("TD3",)))
    assert "TD3's mean error was +86.0" in text
    assert "episode(s) 25, 30, 35" in text
    assert "disagree" in text  # the mean and the median, at that measurement


def test_every_separate_gap_is_listed(chapter):
    # A second, later bump of the mean (as TD3's at episode 40 on seed 0).
    medians = [600, 0, 1, -2, -2, 0, -1, -2, -5, -3]
    means = [550, 140, 1, -2, -2, 0, -1, 75, -5, -4.5]
    text = "\n".join(chapter["describe_critics"](
        {"TD3": measurements(medians, means=means)}, twin=("TD3",)))
    assert "TD3's mean error was +140.0" in text
    assert "+75.0 at episode 40" in text
