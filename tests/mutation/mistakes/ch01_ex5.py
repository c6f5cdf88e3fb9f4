"""Typical wrong answers to chapter 01, Exercise 5 (a network that learns faster).

From the lesson: propose at least two networks of your own in MY_NETWORKS (a name
-> a build(num_inputs, num_actions) function), each a chain of Dense hidden
layers WITH a non-linear activation, shared by a softmax actor head and a
one-unit linear critic head; the notebook trains each on the comparison seeds;
MY_PICK names the network that won clearly (even its slowest seed needed fewer
episodes than the median of every other network, the cramped one included), or is
None when none did: on the solution's recorded runs '128 units' won clearly (its
slowest seed, 276 episodes, beat the cramped network's median, 318, and that of
'512 units', 501), so an answer that always says None, or never finds a winner, is
caught.

Each entry is answer(notebook) -> {name: value}: `notebook` holds the notebook's
names after the solution ran (its experiment recorded, see recorded.toml); an
entry that proposes other networks has them trained as the notebook's loop does.
"""

import keras

from instructor.tools.mutation.catalogue import wrong


def trained(notebook, networks):
    """The notebook's training loop (the cell after MY_NETWORKS), for the networks
    the recorded experiment lacks; returns the overrides it implies."""
    for name, build in networks.items():
        if name not in notebook.experiment:
            notebook.experiment[name] = notebook.train_on_seeds(
                build, notebook.COMPARE_SEEDS
            )
    return {"MY_NETWORKS": networks, "experiment": notebook.experiment}


def best(notebook, networks):
    """The network of `networks` with the fewest episodes by the median."""
    return min(networks, key=lambda name: notebook.median_episodes(
        notebook.experiment[name]))


@wrong("MY_PICK names the cramped network", mistake="choice/picked-cramped")
def picks_cramped(notebook):
    return {"MY_PICK": notebook.CRAMPED}


@wrong("max instead of min: picks the network that needed the MOST episodes",
       mistake="choice/not-best")
def picks_slowest(notebook):
    return {"MY_PICK": max(notebook.MY_NETWORKS, key=lambda name: (
        notebook.median_episodes(notebook.experiment[name])))}


@wrong("a typo in the picked name", mistake="choice/unknown-pick")
def typo_in_name(notebook):
    return {"MY_PICK": best(notebook, notebook.MY_NETWORKS).upper()}


@wrong("MY_PICK is the build function, not the network's name",
       mistake="choice/unknown-pick")
def function_not_name(notebook):
    return {"MY_PICK": notebook.MY_NETWORKS[best(notebook, notebook.MY_NETWORKS)]}


def build_deep_agent(num_inputs, num_actions):
    """Two hidden layers of 64 ReLU units: close to '128 units' on these seeds
    (medians 244 and 228, each spread over 60 to 130 episodes)."""
    inputs = keras.Input(shape=(num_inputs,))
    hidden = keras.layers.Dense(64, activation="relu")(inputs)
    hidden = keras.layers.Dense(64, activation="relu")(hidden)
    action_probs = keras.layers.Dense(num_actions, activation="softmax")(hidden)
    value = keras.layers.Dense(1)(hidden)
    return keras.Model(inputs=inputs, outputs=[action_probs, value])


@wrong("the smallest median picked, although a seed of it is slower than the "
       "runner-up's median (a gap the seeds do not support)",
       mistake="choice/unsupported-gap")
def pick_on_unsupported_gap(notebook):
    networks = {"128 units": notebook.build_wide_agent,
                "2 layers of 64": build_deep_agent}
    return {**trained(notebook, networks), "MY_PICK": best(notebook, networks)}


@wrong("MY_PICK left as None although one network won clearly",
       mistake="choice/missed-clear-win")
def none_despite_a_clear_win(notebook):
    return {"MY_PICK": None}


@wrong("build returns the builder function instead of calling it",
       mistake="choice/not-a-model")
def builder_not_model(notebook):
    networks = {**notebook.MY_NETWORKS,
                "lazy": lambda num_inputs, num_actions: notebook.build_wide_agent}
    return {"MY_NETWORKS": networks, "MY_PICK": None}


@wrong("only one network of one's own: no comparison of ideas",
       mistake="choice/too-few-networks")
def one_network(notebook):
    networks = {"128 units": notebook.build_wide_agent}
    return {**trained(notebook, networks), "MY_PICK": "128 units"}


def build_linear_agent(num_inputs, num_actions):
    """Two Dense layers WITHOUT activation: together one linear map."""
    inputs = keras.Input(shape=(num_inputs,))
    hidden = keras.layers.Dense(64)(inputs)
    hidden = keras.layers.Dense(64)(hidden)
    action_probs = keras.layers.Dense(num_actions, activation="softmax")(hidden)
    value = keras.layers.Dense(1)(hidden)
    return keras.Model(inputs=inputs, outputs=[action_probs, value])


@wrong("a deeper network whose hidden layers have no activation (it is linear)",
       mistake="choice/linear-network")
def linear_layers(notebook):
    # Not trained: the check rejects it from its structure, before reading any run
    # (and the notebook's vet_networks cell rejects it before the training cell).
    networks = {**notebook.MY_NETWORKS, "2 linear layers": build_linear_agent}
    return {"MY_NETWORKS": networks, "MY_PICK": "2 linear layers"}


def build_one_unit_agent(num_inputs, num_actions):
    """A single ReLU unit: non-linear, but far too small to learn the task."""
    inputs = keras.Input(shape=(num_inputs,))
    hidden = keras.layers.Dense(1, activation="relu")(inputs)
    action_probs = keras.layers.Dense(num_actions, activation="softmax")(hidden)
    value = keras.layers.Dense(1)(hidden)
    return keras.Model(inputs=inputs, outputs=[action_probs, value])


def build_two_unit_agent(num_inputs, num_actions):
    """Two ReLU units: still far smaller than the cramped network.

    (Two tanh units have beaten the cramped network's median on the comparison
    seeds: small is not always slower, so this entry uses networks measured to lose;
    `make test-mutation` fails if they stop losing.)
    """
    inputs = keras.Input(shape=(num_inputs,))
    hidden = keras.layers.Dense(2, activation="relu")(inputs)
    action_probs = keras.layers.Dense(num_actions, activation="softmax")(hidden)
    value = keras.layers.Dense(1)(hidden)
    return keras.Model(inputs=inputs, outputs=[action_probs, value])


@wrong("the best of one's own networks, although none beats the cramped one",
       mistake="choice/not-better-than-cramped")
def none_better(notebook):
    networks = {"1 unit": build_one_unit_agent, "2 units": build_two_unit_agent}
    return {**trained(notebook, networks), "MY_PICK": best(notebook, networks)}
