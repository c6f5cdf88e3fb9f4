"""Chapter 01's NumPy copy of the actor (``numpy_policy``) acts as the Keras model
does, whether the activations are Dense arguments or layers of their own (the
network check accepts both), and refuses a layer it cannot copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SOURCE = NOTEBOOKS / "01_actor_critic_cartpole.py"


@pytest.fixture(scope="module")
def chapter() -> dict:
    """The chapter's dense_layers, NUMPY_ACTIVATIONS and numpy_policy, as written."""
    text = SOURCE.read_text(encoding="utf-8")
    start = text.index("def dense_layers(model):")
    end = text.index("compiled_model = tf.function(model)")
    namespace = {"np": np, "keras": keras}
    exec(compile(text[start:end], str(SOURCE), "exec"), namespace)
    return namespace


def heads(inputs, hidden, actor_logits):
    return keras.Model(inputs, [actor_logits, keras.layers.Dense(1)(hidden)])


def networks():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    yield "arguments", keras.Model(inputs, [
        keras.layers.Dense(2, activation="softmax")(hidden),
        keras.layers.Dense(1)(hidden)])
    inputs = keras.Input((4,))
    hidden = keras.layers.ReLU()(keras.layers.Dense(16)(inputs))
    yield "layers", heads(inputs, hidden,
                          keras.layers.Softmax()(keras.layers.Dense(2)(hidden)))
    inputs = keras.Input((4,))
    hidden = keras.layers.Activation("tanh")(keras.layers.Dense(16)(inputs))
    hidden = keras.layers.Activation("relu")(keras.layers.Dense(8)(hidden))
    yield "two hidden", heads(inputs, hidden, keras.layers.Activation("softmax")(
        keras.layers.Dense(3)(hidden)))


@pytest.mark.parametrize("name, model", list(networks()), ids=lambda v: str(v)[:12])
def test_the_numpy_copy_acts_as_the_model(chapter, name, model):
    policy = chapter["numpy_policy"](model)
    states = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    expected = model(states)[0].numpy()
    got = np.array([policy(state) for state in states])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_layer_it_cannot_copy_is_refused(chapter):
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(16, activation="relu")(inputs)
    hidden = keras.layers.Dropout(0.1)(dense)
    model = heads(inputs, hidden, keras.layers.Dense(2, activation="softmax")(hidden))
    with pytest.raises(ValueError, match="Dropout"):
        chapter["numpy_policy"](model)
