"""Chapter 02's words about its compiled update step hold for its code.

The chapter says that the step is compiled by XLA, that one call runs
``UPDATE_EVERY * UPDATES_PER_STEP`` = 20 updates, and that one update is hundreds of
separate TensorFlow operations in the plain graph (what XLA fuses). These tests read
those facts from the chapter's own ``make_update_step``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bench_loading import load

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def chapter():
    loader = load("chapter_code")
    cells = loader.code_cells(
        ROOT / "notebooks" / "02_ddpg_pendulum.py", "def train(", {"demonstration"}
    )
    return loader.run_cells(cells, "chapter 02")


def test_one_call_is_one_xla_program_running_twenty_updates_of_hundreds_of_ops(chapter):
    c = chapter
    step = c["make_update_step"](
        c["actor"], c["critic"], c["target_actor"], c["target_critic"],
        c["actor_optimizer"], c["critic_optimizer"], c["GAMMA"], c["TAU"],
    )
    k = c["UPDATE_EVERY"] * c["UPDATES_PER_STEP"]
    assert k == 20  # the chapter's prose says 20
    rng = np.random.default_rng(0)
    stacks = [
        rng.standard_normal((k, c["BATCH_SIZE"], n)).astype(np.float32)
        for n in (3, 1, 1, 3, 1, 1)
    ]
    graph = step.get_concrete_function(*stacks).graph
    bodies = [f for f in graph.as_graph_def().library.function
              if f.signature.name.startswith("while_body")]
    assert len(bodies) == 1  # the loop over the stack: one update per iteration
    assert len(bodies[0].node_def) >= 200, len(bodies[0].node_def)  # "hundreds"
    assert step.function_spec.jit_compile is True

    before = int(c["critic_optimizer"].iterations.numpy())
    step(*stacks)
    assert int(c["critic_optimizer"].iterations.numpy()) == before + k
