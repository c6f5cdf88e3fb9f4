"""Chapter 03's experiments restart compiled steps instead of building new ones.

``restarter`` (in the notebook) must leave a learner exactly as a fresh
``make_ddpg``/``make_td3`` from the same seed would: same weights for the networks
and their targets, and Adam's state from before any update. Otherwise the
comparison's later seeds would start from where the previous run ended, and the
chapter's "from scratch" would be false. The check is behavioural: after a restart,
the same update on the same batches gives exactly what a fresh learner gives.
"""

from __future__ import annotations

import numpy as np
import pytest
from bench_loading import load


@pytest.fixture(scope="module")
def chapter():
    """The chapter's untagged code cells up to TD3's training cell (as td3_claims)."""
    return load("td3_claims").load_chapter()


def stacks(seed, updates=4, batch=16):
    """Random stacks of batches in the update steps' argument layout."""
    rng = np.random.default_rng(seed)
    shapes = ((updates, batch, n) for n in (3, 1, 1, 3, 1, 1))
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    arrays[4] = (arrays[4] > 1.0).astype(np.float32)  # terminated flags: 0 or 1
    return [*arrays, np.int32(1)]


def weights(*networks):
    return [w for network in networks for w in network.get_weights()]


@pytest.mark.parametrize("maker", ["make_ddpg", "make_td3"])
def test_a_restarted_learner_updates_exactly_as_a_fresh_one(chapter, maker):
    cu, make = chapter["cu"], chapter[maker]
    env = cu.make_env(chapter["ENV_ID"], seed=0)

    cu.seed_everything(7)
    fresh_actor, fresh_critic, fresh_step, _ = make(env)
    start = weights(fresh_actor, fresh_critic)
    fresh_step(*stacks(0))
    fresh_step(*stacks(1))
    expected = weights(fresh_actor, fresh_critic)

    actor, critic, step, restart = make(env)  # other weights: the seed moved on
    for k in range(3):  # train it elsewhere first: weights and Adam's state move
        step(*stacks(10 + k))
    moved = zip(weights(actor, critic), start, strict=True)
    assert not all(np.array_equal(a, b) for a, b in moved)

    rng = restart(7)
    assert isinstance(rng, np.random.Generator)
    for got, want in zip(weights(actor, critic), start, strict=True):
        np.testing.assert_array_equal(got, want)
    step(*stacks(0))
    step(*stacks(1))
    # Equal only if the targets were copies again and Adam's moments and step count
    # were back at zero: each of them changes the second update.
    for got, want in zip(weights(actor, critic), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
