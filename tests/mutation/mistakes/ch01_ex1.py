"""Typical wrong answers to chapter 01, Exercise 1 (the agent network).

From the lesson: Keras's functional API, keras.Input(shape=(num_inputs,)) (a
tuple); one shared Dense layer of num_hidden ReLU units; an actor head of
num_actions softmax units; a critic head of one linear unit; the outputs in the
order [action_probs, value].
"""

import keras

from instructor.tools.mutation.catalogue import wrong


@wrong("an actor head without softmax: scores, not probabilities",
       mistake="network/no-softmax")
def no_softmax(num_inputs, num_actions, num_hidden):
    inputs = keras.Input(shape=(num_inputs,))
    hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
    action_probs = keras.layers.Dense(num_actions)(hidden)
    value = keras.layers.Dense(1)(hidden)
    return keras.Model(inputs=inputs, outputs=[action_probs, value])


@wrong("sigmoid for the actor: each action in (0, 1), but they do not sum to 1",
       mistake="network/no-softmax")
def sigmoid_actor(num_inputs, num_actions, num_hidden):
    inputs = keras.Input(shape=(num_inputs,))
    hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
    action_probs = keras.layers.Dense(num_actions, activation="sigmoid")(hidden)
    value = keras.layers.Dense(1)(hidden)
    return keras.Model(inputs=inputs, outputs=[action_probs, value])


@wrong("a ReLU on the critic: a value can never be negative",
       mistake="network/squashed-critic")
def relu_critic(num_inputs, num_actions, num_hidden):
    inputs = keras.Input(shape=(num_inputs,))
    hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
    action_probs = keras.layers.Dense(num_actions, activation="softmax")(hidden)
    value = keras.layers.Dense(1, activation="relu")(hidden)
    return keras.Model(inputs=inputs, outputs=[action_probs, value])


@wrong("a softmax on the one-unit critic: the value is always 1",
       mistake="network/squashed-critic")
def softmax_critic(num_inputs, num_actions, num_hidden):
    inputs = keras.Input(shape=(num_inputs,))
    hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
    action_probs = keras.layers.Dense(num_actions, activation="softmax")(hidden)
    value = keras.layers.Dense(1, activation="softmax")(hidden)
    return keras.Model(inputs=inputs, outputs=[action_probs, value])


@wrong("one hidden layer per head: nothing is shared (too many weights)",
       mistake="network/weight-count")
def separate_hidden_layers(num_inputs, num_actions, num_hidden):
    inputs = keras.Input(shape=(num_inputs,))
    actor_hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
    critic_hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
    action_probs = keras.layers.Dense(num_actions, activation="softmax")(actor_hidden)
    value = keras.layers.Dense(1)(critic_hidden)
    return keras.Model(inputs=inputs, outputs=[action_probs, value])


@wrong("the outputs in the wrong order: [value, action_probs]")
def outputs_swapped(num_inputs, num_actions, num_hidden):
    inputs = keras.Input(shape=(num_inputs,))
    hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
    action_probs = keras.layers.Dense(num_actions, activation="softmax")(hidden)
    value = keras.layers.Dense(1)(hidden)
    return keras.Model(inputs=inputs, outputs=[value, action_probs])


@wrong("a critic of num_actions units (one value per action)",
       mistake="network/critic-shape")
def critic_per_action(num_inputs, num_actions, num_hidden):
    inputs = keras.Input(shape=(num_inputs,))
    hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
    action_probs = keras.layers.Dense(num_actions, activation="softmax")(hidden)
    value = keras.layers.Dense(num_actions)(hidden)
    return keras.Model(inputs=inputs, outputs=[action_probs, value])


@wrong("CartPole's sizes written in: 4 inputs, 2 actions, 128 units")
def hard_coded_sizes(num_inputs, num_actions, num_hidden):
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(128, activation="relu")(inputs)
    action_probs = keras.layers.Dense(2, activation="softmax")(hidden)
    value = keras.layers.Dense(1)(hidden)
    return keras.Model(inputs=inputs, outputs=[action_probs, value])


@wrong("a hidden layer without activation: the whole network is linear",
       mistake="network/linear-hidden")
def linear_hidden(num_inputs, num_actions, num_hidden):
    inputs = keras.Input(shape=(num_inputs,))
    hidden = keras.layers.Dense(num_hidden)(inputs)
    action_probs = keras.layers.Dense(num_actions, activation="softmax")(hidden)
    value = keras.layers.Dense(1)(hidden)
    return keras.Model(inputs=inputs, outputs=[action_probs, value])


class _Agent(keras.Model):
    """The right layers, written with the subclass API."""

    def __init__(self, num_actions, num_hidden):
        super().__init__()
        self.hidden = keras.layers.Dense(num_hidden, activation="relu")
        self.actor = keras.layers.Dense(num_actions, activation="softmax")
        self.critic = keras.layers.Dense(1)

    def call(self, states):
        hidden = self.hidden(states)
        return [self.actor(hidden), self.critic(hidden)]


@wrong("the subclass API: works when called, but has no model.inputs for the "
       "training loop", mistake="network/no-inputs")
def subclass_model(num_inputs, num_actions, num_hidden):
    return _Agent(num_actions, num_hidden)


@wrong("one output of num_actions + 1 units instead of two heads",
       mistake="network/not-two-outputs")
def one_output(num_inputs, num_actions, num_hidden):
    inputs = keras.Input(shape=(num_inputs,))
    hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
    both = keras.layers.Dense(num_actions + 1)(hidden)
    return keras.Model(inputs=inputs, outputs=both)


@wrong("keras.Input(shape=num_inputs): an int where Keras wants a tuple")
def shape_not_a_tuple(num_inputs, num_actions, num_hidden):
    inputs = keras.Input(shape=num_inputs)
    hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
    action_probs = keras.layers.Dense(num_actions, activation="softmax")(hidden)
    value = keras.layers.Dense(1)(hidden)
    return keras.Model(inputs=inputs, outputs=[action_probs, value])
