# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,jupytext,-all
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Actor-Critic on CartPole-v1
#
# *Hands-on reinforcement learning*: see the course's README for the other chapters and
# for how to run this notebook in Colab, Binder or JupyterLab.
#
# A pole stands on a cart. Push the cart left or right and keep the pole up for 500
# steps. In this chapter you teach a small neural network to do it, from nothing but
# the reward, with the **actor-critic** method:
#
# 1. meet the environment, and play it at random and by hand;
# 2. build one network with two heads: an *actor* that picks actions, a *critic* that
#    predicts how well things will go;
# 3. turn rewards into learning targets (discounted, normalised returns);
# 4. write the two losses;
# 5. see where the time goes, and train fast: seconds, not minutes;
# 6. watch the trained agent, then run an experiment: which network learns in the
#    fewest episodes?
#
# Exercises are marked **Exercise N**. Each one is followed by a check cell: run it, it
# prints a ✔ line or tells you what to fix.

# %% [markdown]
# ## Set-up
#
# In Colab, the next cell installs the course's helper package (`course_utils`);
# anywhere else it does nothing, because the course environment already has it.

# %%
import sys

# Colab already has TensorFlow, Keras, gymnasium and ipywidgets: add only the helpers.
COURSE_PACKAGE = "course-utils @ git+https://github.com/handson-rl/rl-course@main"
if "google.colab" in sys.modules:
    import subprocess

    pip = [sys.executable, "-m", "pip", "install", "--quiet", COURSE_PACKAGE]
    subprocess.run(pip, check=True)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import course_utils as cu

tf = cu.import_tensorflow()  # TensorFlow, without its start-up notices on stderr
import keras

from course_utils.checks import cartpole as checks

# %% [markdown]
# Every knob of this chapter sits in the next cell, and one call seeds Python, NumPy,
# TensorFlow and Keras. Same seed, same learning curve: rerun the notebook and you get
# the same numbers. (An instructor can set the environment variable `COURSE_SEED` to
# rerun everything with another seed without editing the notebook.)

# %%
ENV_ID = "CartPole-v1"  # gymnasium's CartPole, 500 steps at most
SEED = cu.resolve_seed(42)  # COURSE_SEED, when set, overrides 42
NUM_HIDDEN = 128  # units in the hidden layer shared by actor and critic
LEARNING_RATE = 0.03  # Adam's step size (tuned: 0.01 also works, a little slower)
SKIP_PERFECT = True  # no update after a perfect (500-step) episode: see section 7
GAMMA = 0.99  # discount: a reward k steps ahead counts GAMMA**k as much as one now
WINDOW = 100  # "solved" = mean reward of the last WINDOW episodes reaches the target
MAX_EPISODES = 1000  # give up after this many training episodes
EVAL_EPISODES = 20  # seeded episodes played to evaluate a trained agent
COMPARE_SEEDS = (0, 1, 2)  # Exercise 5 trains each network on these, whatever SEED is
COMPARE_MAX_EPISODES = 600  # Exercise 5: not solved by then counts as not solved
CRAMPED_HIDDEN = 8  # Exercise 5's reference: a network with few units

rng = cu.seed_everything(SEED)  # also returns a NumPy generator for action sampling
print(f"seed: {SEED}")

# %% [markdown]
# ## 1. The CartPole environment
#
# gymnasium describes a task as an *environment*: `reset()` starts an episode and
# returns the first observation; `step(action)` applies an action and returns five
# things: the next observation, the reward, `terminated`, `truncated` and an `info`
# dictionary.
#
# **Observation**: four numbers (a NumPy array of shape `(4,)`).
#
# | index | meaning               | range seen                   | episode ends if     |
# |------:|-----------------------|------------------------------|---------------------|
# | 0     | cart position         | -4.8 … 4.8                   | beyond ±2.4         |
# | 1     | cart velocity         | any                          |                     |
# | 2     | pole angle (radians)  | -0.418 … 0.418 (±24°)        | beyond ±0.2095 (12°)|
# | 3     | pole angular velocity | any                          |                     |
#
# **Action**: one of two integers.
#
# | action | effect                  |
# |-------:|-------------------------|
# | 0      | push the cart left      |
# | 1      | push the cart right     |
#
# **Reward**: +1 for every step, the last one included. The total reward of an episode
# is simply the number of steps the pole stayed up.
#
# **Two ways to end.** An episode ends in one of two ways, and the difference matters
# for learning:
#
# - **terminated**: the pole fell past 12° or the cart left the track. The game is
#   really over: no reward can follow.
# - **truncated**: 500 steps went by. The pole is still up; the episode is cut by a
#   time limit, not by failure. Had it gone on, more reward would have followed.
#
# The task counts as solved when the mean total reward of 100 consecutive episodes
# reaches the threshold stored in the environment's specification:

# %%
env = cu.make_env(ENV_ID, SEED)
num_inputs = int(env.observation_space.shape[0])
num_actions = int(env.action_space.n)  # a NumPy integer: Keras wants an int
threshold = env.spec.reward_threshold
print(f"observation space: {env.observation_space}")
print(f"action space:      {env.action_space}")
print(f"time limit:        {env.spec.max_episode_steps} steps")
print(f"reward threshold:  {threshold}")

state, info = env.reset(seed=SEED)
print(f"first observation: {state}")
state, reward, terminated, truncated, info = env.step(0)  # push left once
print(f"after one push:    {state}, reward={reward}, {terminated=}, {truncated=}")

# %% [markdown]
# An environment made with `render_mode="rgb_array"` draws itself as an image (a NumPy
# array of pixels), which needs no screen, so it works in Colab, Binder and on a
# server alike.

# %% tags=["demonstration"]
screen = cu.make_env(ENV_ID, SEED, render_mode="rgb_array")
cu.show_frame(screen.render(), title="CartPole-v1, first state")

# %% [markdown]
# ## 2. Playing
#
# A *player* (a *policy*, in RL words) is any function from an observation to an
# action. The simplest player ignores the observation and picks at random. Here is
# one of its episodes:

# %% tags=["demonstration"]
random_episode = cu.play_episode(screen, seed=SEED, render=True, verbose=True)
cu.animate(random_episode, title="random player")

# %% [markdown]
# A random player keeps the pole up for twenty steps or so: far from 475.
#
# ### Play it yourself
#
# Try to beat the random player with the buttons below (the cart is redrawn after
# every push). It is harder than it looks: the pole's lean only shows after a few
# pushes, so you have to act early.

# %% tags=["demonstration"]
cu.cartpole_widget(seed=SEED)

# %% [markdown]
# ## 3. The agent: one network, two heads
#
# The agent is a single neural network that takes an observation and gives two
# answers:
#
# - the **actor** head says what to do: a probability for each action,
#   $\pi_\theta(a \mid s)$, from a softmax over two units;
# - the **critic** head says how good the situation is: one number $V_\theta(s)$, the
#   return it expects from state $s$ on (a linear unit: a value can be any number).
#
# Both heads read the same hidden layer. Features useful to judge a state (is the pole
# falling fast?) are also useful to choose the action, so sharing them lets each head
# help the other learn.
#
# $$
# h = \mathrm{ReLU}(W_1 s + b_1), \qquad
# \pi_\theta(\cdot \mid s) = \mathrm{softmax}(W_\pi h + b_\pi), \qquad
# V_\theta(s) = w_V^\top h + b_V
# $$

# %% [markdown]
# ### Exercise 1: the agent network
#
# Write `build_agent(num_inputs, num_actions, num_hidden)`, returning a `keras.Model`
# that maps a batch of observations, shape `(batch, num_inputs)`, to two outputs:
#
# - `action_probs`, shape `(batch, num_actions)`, from a Dense layer with a softmax;
# - `value`, shape `(batch, 1)`, from a Dense layer of one unit and no activation;
#
# both computed from one shared Dense layer of `num_hidden` ReLU units. Use Keras's
# functional API: `keras.Input(shape=(num_inputs,))` (a tuple), layers called on
# tensors, then `keras.Model(inputs=..., outputs=[action_probs, value])`.
#
# If a check fails, its message says what is wrong and how to think about it; run
# `cu.show_fix()` for the line that fixes it (it also shows when the same mistake
# fails again).


# %%
def build_agent(num_inputs, num_actions, num_hidden):
    """The actor-critic network: a shared hidden layer and two heads.

    Args:
        num_inputs: size of an observation (4 for CartPole).
        num_actions: number of discrete actions (2 for CartPole).
        num_hidden: units in the shared hidden layer.

    Returns:
        A keras.Model: (batch, num_inputs) -> [(batch, num_actions), (batch, 1)].
    """
    ### BEGIN SOLUTION
    inputs = keras.Input(shape=(num_inputs,))
    hidden = keras.layers.Dense(num_hidden, activation="relu")(inputs)
    action_probs = keras.layers.Dense(num_actions, activation="softmax")(hidden)
    value = keras.layers.Dense(1)(hidden)
    return keras.Model(inputs=inputs, outputs=[action_probs, value])
    ### END SOLUTION


# %%
checks.check_agent_network(build_agent)

# %% [markdown]
# Let us build the agent and ask it about the first observation. Untrained, it hesitates
# (probabilities near one half) and its value means nothing yet.

# %%
model = build_agent(num_inputs, num_actions, NUM_HIDDEN)
model.summary()

state, _ = env.reset(seed=SEED)
batch = np.expand_dims(state, axis=0)  # shape (4,) -> (1, 4)
action_probs, value = model(batch)
print(f"observation shape {state.shape}, network input shape {batch.shape}")
print(f"action_probs: {action_probs.numpy()}  (shape {action_probs.shape})")
print(f"value:        {value.numpy()}  (shape {value.shape})")

# %% [markdown]
# **Question.** We added an extra dimension to the observation before calling the
# network, and both outputs carry one too. Why? Think it over, then open the answer.
#
# <details>
# <summary><b>Show the answer</b></summary>
#
# Keras layers work on *batches*: the first axis indexes examples, the others
# describe one example. `Dense` multiplies a `(batch, inputs)` matrix by its
# `(inputs, units)` weights, so a lone observation of shape `(4,)` must become a batch
# of one, `(1, 4)`. The outputs keep that batch axis: `(1, 2)` probabilities and a
# `(1, 1)` value, one row per example. Batches are what make training efficient: the
# update step below feeds a whole episode, `(T, 4)`, through the network in one call.
#
# </details>

# %% [markdown]
# ## 4. From rewards to learning targets
#
# ### Discounted returns
#
# An action is good if what *follows* it is good, so each step is judged by the
# rewards from that step on, its **return**. Rewards far in the future are less
# certain and less tied to the action, so each step of distance multiplies them by a
# **discount factor** $\gamma < 1$:
#
# $$
# G_t = r_t + \gamma\, r_{t+1} + \gamma^2 r_{t+2} + \dots
#     = r_t + \gamma\, G_{t+1}.
# $$
#
# The right-hand form gives the algorithm: walk the episode **backwards**, from the last
# reward to the first, carrying the running sum.
#
# What comes after the last reward? If the pole fell (terminated), nothing: the sum
# starts from 0. If the episode was cut at 500 steps (truncated), the pole was still up
# and rewards would have kept coming. Pretending they stop would tell the agent that
# its last moves, which were fine, lead nowhere. So we start the sum from a
# **bootstrap** value, an estimate of what the rest would have been worth. For
# CartPole we know it: a pole balanced forever earns $1 + \gamma + \gamma^2 + \dots =
# 1/(1-\gamma) = 100$. (In other tasks one uses the critic's estimate $V(s_T)$.)

# %% [markdown]
# ### Exercise 2: discounted returns
#
# Write `discounted_returns(rewards, gamma, bootstrap=0.0)`: given the `T` rewards of
# one episode, return a NumPy array of the `T` returns, with $G_{T} = $ `bootstrap` as
# the value after the last step, so that $G_{T-1} = r_{T-1} + \gamma\,$`bootstrap`.
# Accept a list or a NumPy array of rewards.


# %%
def discounted_returns(rewards, gamma, bootstrap=0.0):
    """Discounted return of every step of one episode.

    Args:
        rewards: the T rewards, in order (list or array).
        gamma: discount factor in [0, 1].
        bootstrap: value of what follows the last reward (0 if the episode ended).

    Returns:
        float array of shape (T,): G_t = r_t + gamma * G_(t+1), G_T = bootstrap.
    """
    ### BEGIN SOLUTION
    returns = np.zeros(len(rewards))
    running = bootstrap
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns
    ### END SOLUTION


# %%
checks.check_discounted_returns(discounted_returns)

# %% [markdown]
# ### Exercise 3: normalising the returns
#
# The returns of a long episode go from about 100 down to 1, those of a short one stay
# small: their scale changes as the agent improves, and so would the size of the
# updates. As in the original tutorial, we rescale the returns of each episode to
# **zero mean and unit standard deviation**:
#
# $$
# \hat G_t = \frac{G_t - \operatorname{mean}(G)}{\operatorname{std}(G) + \varepsilon}.
# $$
#
# After this, the better half of an episode's steps get positive targets and the worse
# half negative ones. $\varepsilon$ (say $10^{-8}$) avoids a division by zero when all
# returns are equal: a one-step episode, or a perfect 500-step one.
#
# Write `normalise(values)` returning the normalised array.


# %%
def normalise(values):
    """Rescale to zero mean and unit standard deviation.

    Args:
        values: float array of shape (T,).

    Returns:
        float array of shape (T,); all zeros if the values are all equal.
    """
    ### BEGIN SOLUTION
    values = np.asarray(values, dtype=np.float64)
    return (values - values.mean()) / (values.std() + 1e-8)
    ### END SOLUTION


# %%
checks.check_normalise(normalise)

# %% [markdown]
# Here are the targets for a pole that falls after 60 steps, and for an episode cut at
# 500 steps (with the bootstrap value of 100). Notice the first: the returns drop as
# the fall comes near, so after normalisation the last steps stand out as the bad ones.
# In the second, all returns equal 100: after normalisation they are all zero, since
# no step did better than another (section 7 comes back to this).

# %% tags=["demonstration"]
fallen = discounted_returns(np.ones(60), GAMMA)
balanced = discounted_returns(np.ones(500), GAMMA, bootstrap=1 / (1 - GAMMA))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
for ax, returns, title in [
    (axes[0], fallen, "pole fell after 60 steps"),
    (axes[1], balanced, "cut at 500 steps, bootstrap 100"),
]:
    ax.plot(returns / 100, label="return $G_t$ / 100")
    ax.plot(normalise(returns), label="normalised $\\hat G_t$")
    ax.set(title=title, xlabel="step t")
    ax.axhline(0, color="grey", lw=0.5)
axes[0].legend()
plt.show()


# %% [markdown]
# ## 5. The losses
#
# **The critic** learns to predict the normalised return from each state: a
# regression. Instead of the squared error we use the **Huber loss**, quadratic for
# small errors and linear for large ones, so that one surprising return cannot yank
# the weights (its gradient is at most 1 in size):
#
# $$
# L_\text{critic} = \frac{1}{T}\sum_t \ell_\delta\big(\hat G_t - V(s_t)\big), \qquad
# \ell_\delta(x) = \begin{cases} \tfrac12 x^2 & |x| \le \delta \\
# \delta\,(|x| - \tfrac12\delta) & \text{otherwise} \end{cases}
# $$
# with $\delta = 1$ (`keras.losses.Huber()`).
#
# **The actor** should make an action more likely when it turned out *better than the
# critic expected*. That surprise is the **advantage**, $A_t = \hat G_t - V(s_t)$. The
# loss to minimise is
#
# $$
# L_\text{actor} = -\frac{1}{T}\sum_t \log \pi_\theta(a_t \mid s_t)\, A_t .
# $$
#
# Minimising it raises $\log\pi(a_t|s_t)$ where $A_t > 0$ and lowers it where
# $A_t < 0$. The critic acts as a *baseline*: without it, every action of a long
# episode would be encouraged, the lucky ones with the good ones.
#
# One subtlety: for the actor, $A_t$ is a fixed weight, not something to optimise.
# If gradients flowed through $V(s_t)$ inside $A_t$, the actor's loss would also push
# the critic, towards values that make the advantage large, the opposite of what the
# critic's own loss wants. `tf.stop_gradient` cuts that path.

# %% tags=["demonstration"]
errors = np.linspace(-4, 4, 161, dtype=np.float32)
huber_per_step = keras.losses.Huber(reduction=None)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(errors, 0.5 * errors**2, label="squared error / 2")
ax.plot(errors, huber_per_step(np.zeros((161, 1)), errors[:, None]), label="Huber")
ax.set(xlabel="error $\\hat G_t - V(s_t)$", ylabel="loss", ylim=(0, 4))
ax.legend()
plt.show()


# %% [markdown]
# ### Exercise 4: the actor-critic loss
#
# Write `actor_critic_loss(action_probs, values, actions, returns)` returning the pair
# `(actor_loss, critic_loss)`, two scalar tensors, as defined above. Inputs, for an
# episode of `T` steps:
#
# - `action_probs`: the actor's output, a tensor of shape `(T, num_actions)`;
# - `values`: the critic's output, shape `(T,)` (the training code drops the last axis
#   of size 1: a `(T, 1)` minus a `(T,)` would broadcast to `(T, T)`!);
# - `actions`: the actions taken, int32, shape `(T,)`;
# - `returns`: the normalised returns, float32, shape `(T,)`.
#
# Use TensorFlow operations only (the function runs inside a `tf.function` and a
# `GradientTape`). Useful: `tf.gather(action_probs, actions, batch_dims=1)` picks each
# row's entry at the action taken; `tf.math.log`; `tf.stop_gradient`;
# `tf.reduce_mean`; `keras.losses.Huber()`.

# %%
huber_loss = keras.losses.Huber()  # delta = 1, averaged over the steps


def actor_critic_loss(action_probs, values, actions, returns):
    """Actor and critic losses for one batch of steps.

    Args:
        action_probs: (T, num_actions) float32 tensor, pi(.|s_t).
        values: (T,) float32 tensor, V(s_t).
        actions: (T,) int32 tensor, the actions taken.
        returns: (T,) float32 tensor, the normalised returns.

    Returns:
        (actor_loss, critic_loss): two scalar float32 tensors.
    """
    ### BEGIN SOLUTION
    taken = tf.gather(action_probs, actions, batch_dims=1)  # pi(a_t | s_t)
    advantage = tf.stop_gradient(returns - values)  # a weight, not a target
    actor_loss = -tf.reduce_mean(tf.math.log(taken) * advantage)
    critic_loss = huber_loss(returns, values)
    return actor_loss, critic_loss
    ### END SOLUTION


# %%
checks.check_actor_critic_loss(actor_critic_loss)

# %% [markdown]
# ## 6. Where the time goes
#
# The original tutorial called the Keras model on every step of every episode, inside
# a `GradientTape`. It learns, but slowly: minutes for CartPole. Not because of the
# maths (a 4→128→2 network is a few thousand multiplications) nor the environment, but
# because of *overhead*: an eager Keras call goes through layers of Python and
# TensorFlow bookkeeping before and after the tiny computation. Let us measure it on
# one observation.


# %%
def seconds_per_call(function, repeats):
    """Average wall-clock time of function() over repeats calls (after a warm-up)."""
    function()
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def dense_layers(model):
    """The actor's path: ``(Dense layer, activation name)`` for each hidden layer in
    order, then the actor head.

    Assumes the shape used in this chapter: a chain of hidden layers shared by a
    softmax actor head and a one-unit linear critic head (the critic is skipped).
    A layer's activation is its own argument, or the ReLU / Activation / Softmax
    layer that follows it (Keras lists a model's layers in the order it computes
    them).
    """
    path = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.Dense):
            if layer.units == 1 and layer.activation.__name__ == "linear":
                continue  # the critic head
            path.append([layer, layer.activation.__name__])
        elif path and isinstance(layer, keras.layers.ReLU):
            path[-1][1] = "relu"
        elif path and isinstance(layer, keras.layers.Softmax):
            path[-1][1] = "softmax"
        elif path and isinstance(layer, keras.layers.Activation):
            path[-1][1] = layer.activation.__name__
        else:
            # Skipping it would make the NumPy copy act with another policy than
            # the one being trained.
            raise ValueError(f"numpy_policy does not copy {layer.__class__.__name__} "
                             "layers: use Dense layers and activations")
    return [tuple(step) for step in path]


NUMPY_ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "linear": lambda x: x,
}


def numpy_policy(model):
    """A NumPy copy of the actor's forward pass, for one observation at a time.

    The weights are copied now: call it again after each update.
    """
    layers = [
        (layer.kernel.numpy(), layer.bias.numpy(), activation)
        for layer, activation in dense_layers(model)
    ]
    for _, _, activation in layers[:-1]:
        if activation not in NUMPY_ACTIVATIONS:
            raise ValueError(
                f"numpy_policy knows the activations {sorted(NUMPY_ACTIVATIONS)}, "
                f"not {activation!r}: use one of them in the hidden layers"
            )

    def policy(state):
        x = state
        for kernel, bias, activation in layers[:-1]:
            x = NUMPY_ACTIVATIONS[activation](x @ kernel + bias)
        kernel, bias, _ = layers[-1]
        logits = x @ kernel + bias
        exp = np.exp(logits - logits.max())  # minus the max: no overflow
        return exp / exp.sum()

    return policy


compiled_model = tf.function(model)
fast_policy = numpy_policy(model)
speed_env = cu.make_env(ENV_ID, SEED)


def env_step():
    _, _, terminated, truncated, _ = speed_env.step(0)
    if terminated or truncated:
        speed_env.reset()


timings = {
    "Keras model, eager call": seconds_per_call(lambda: model(batch), 200),
    "Keras model, tf.function": seconds_per_call(lambda: compiled_model(batch), 1000),
    "NumPy forward pass": seconds_per_call(lambda: fast_policy(state), 5000),
    "CartPole env.step": seconds_per_call(env_step, 5000),
}
for name, seconds in timings.items():
    print(f"{name:26s} {seconds * 1e6:8.1f} µs")
print(
    np.allclose(fast_policy(state), compiled_model(batch)[0][0].numpy(), atol=1e-5),
    "<- NumPy and Keras agree",
)

# %% [markdown]
# Compare your numbers: the eager call costs by far the most; a compiled call
# (`tf.function` traces the Python once into a graph) several times less; the same
# forward pass in NumPy costs *microseconds*, about as little as the physics step
# itself. A training run takes some 100,000 steps: multiply that by the eager call's
# cost, then by the NumPy pass's, and you see why the original took minutes.
#
# So the training loop below splits the work by size:
#
# - **acting**, one observation at a time, thousands of times: the NumPy copy of the
#   actor, refreshed after every update;
# - **learning**, once per episode on all its steps as one batch: a compiled
#   (`tf.function`) update, where the network's cost is worth the call.
#
# The algorithm is unchanged: the update recomputes the probabilities and values of the
# whole episode with the same weights the NumPy copy used to play it.
#
# Chapters 02 and 03 go one step further and hand their update to XLA, TensorFlow's
# compiler (`jit_compile=True`). Not here: XLA compiles for fixed shapes, and every
# episode has a length of its own, so each new length would mean a new compilation.

# %% [markdown]
# ## 7. Training
#
# One update per episode:
#
# 1. play an episode with the current policy, sampling each action from
#    $\pi_\theta(\cdot|s_t)$ (sampling *is* the exploration);
# 2. compute the returns (bootstrapped if truncated) and normalise them;
# 3. one gradient step (Adam) on $L_\text{actor} + L_\text{critic}$ over the whole
#    episode, unless the episode was perfect (see below).
#
# We stop when the mean reward of the last 100 episodes reaches 475, or after
# `MAX_EPISODES`.
#
# **Why a perfect episode gets no update.** An episode that lasts all 500 steps has
# nothing to teach: every step led to the same, best possible outcome, and its
# normalised returns are all zero. An update would still move the actor, though,
# because its advantage becomes the critic's leftover guess, with the sign flipped:
#
# $$
# A_t = \hat G_t - V(s_t) = -V(s_t).
# $$
#
# The critic learned $V$ on earlier, imperfect episodes, so this push is noise, and it
# can tip over a policy that has just learned to balance. Now and then it does worse:
# it makes the actor almost sure of one action in every state, and a softmax actor
# never unlearns that. The gradient of the log-probability of the action taken, with
# respect to that action's own logit $z_a$, is
#
# $$
# \frac{\partial \log \pi(a \mid s)}{\partial z_a} = 1 - \pi(a \mid s),
# $$
#
# which goes to zero as $\pi(a|s)$ goes to 1; and the other action, no longer
# sampled, never shows that it would do better. Such an agent pushes the same way
# every time, and the pole falls within about ten steps, episode after episode.
#
# So `train` skips the update after a perfect episode (`SKIP_PERFECT`). Trained on a
# hundred seeds with updates after perfect episodes, the agent left a few seeds
# unsolved after 1,000 episodes (one of them stuck in just this way); without them, it
# solved every seed, in about a fifth fewer steps (the median). The experiment is one
# command in the course's repository:
# `python benchmarks/cartpole_seeds.py --perfect skip keep`. Or set
# `SKIP_PERFECT = False` here and rerun, to see the difference on your seed.


# %%
def make_update_step(model, optimizer):
    """A compiled update: one gradient step on a whole episode.

    Args:
        model: the agent, states (T, num_inputs) -> [(T, num_actions), (T, 1)].
        optimizer: a Keras optimizer for the model's weights.

    Returns:
        update_step(states, actions, returns) -> (actor_loss, critic_loss).
    """
    signature = [
        tf.TensorSpec([None, model.inputs[0].shape[-1]], tf.float32),  # states
        tf.TensorSpec([None], tf.int32),  # actions
        tf.TensorSpec([None], tf.float32),  # normalised returns
    ]

    # Create Adam's moment variables now: variables created during the first call
    # make tf.function trace the step twice, a second lost in every training run.
    optimizer.build(model.trainable_variables)

    # A fixed signature with unknown T: traced once, whatever the episode's length.
    @tf.function(input_signature=signature)
    def update_step(states, actions, returns):
        with tf.GradientTape() as tape:
            action_probs, values = model(states, training=True)
            actor_loss, critic_loss = actor_critic_loss(
                action_probs, values[:, 0], actions, returns
            )
            loss = actor_loss + critic_loss
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return actor_loss, critic_loss

    return update_step


def play_for_training(env, policy, rng, seed):
    """Play one episode, sampling actions from the policy's probabilities.

    Returns:
        states (T, 4) float, actions (T,) int, rewards (T,) float, and whether the
        time limit (not a fall) ended the episode.
    """
    states, actions, rewards = [], [], []
    state, _ = env.reset(seed=seed)
    # One uniform number per step, drawn at once for the longest possible episode:
    # one call to the generator instead of one per step.
    uniforms = rng.random(env.spec.max_episode_steps)
    terminated = truncated = False
    while not (terminated or truncated):
        # Take the first action whose cumulative probability reaches u: the
        # interval of action a has length pi(a|s), so a is drawn with exactly that
        # probability (rng.choice does the same, but costs as much as an env.step).
        # u is scaled by the total, which rounding leaves a hair away from 1.
        cumulative = policy(state).cumsum()
        u = uniforms[len(actions)] * cumulative[-1]
        action = int(cumulative.searchsorted(u))
        states.append(state)
        actions.append(action)
        state, reward, terminated, truncated, _ = env.step(action)
        rewards.append(reward)
    # Cut by the time limit with the pole still up: the future is worth about
    # 1 / (1 - gamma), not 0 (see section 4).
    ended_by_time = truncated and not terminated
    return np.array(states), np.array(actions), np.array(rewards), ended_by_time


def train(
    model,
    *,
    env_id,
    seed,
    rng,
    learning_rate,
    gamma,
    window,
    threshold,
    max_episodes,
    skip_perfect=True,
    title="",
    live=True,
):
    """Train the model, one update per episode, until solved or max_episodes.

    Args:
        model: the agent network (see build_agent), trained in place.
        env_id: the gymnasium environment to train on.
        seed: seeds the environment's episodes (episode k starts from
            seed * 10_000 + k).
        rng: NumPy generator for the actions' sampling.
        learning_rate: Adam's step size.
        gamma: discount factor.
        window, threshold: solved when the mean reward of the last `window`
            episodes reaches `threshold`.
        max_episodes: give up after this many episodes.
        skip_perfect: no update after an episode the time limit ended (all its
            normalised returns are 0: only the critic's error would move the actor).
        title: title of the live curve.
        live: draw the live curve (False: train silently).

    Returns:
        dict: rewards (list of float, one per episode), solved (bool), solved_at
        (episodes played when solved, or None), episodes, env_steps (int),
        seconds (float, training wall time), compile_seconds (float: the first
        call of the update step, which traces it into a graph; part of seconds).
    """
    env = cu.make_env(env_id, seed)
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    update_step = make_update_step(model, optimizer)
    curve = cu.LiveCurve(
        title=title,
        window=window,
        threshold=threshold,
        every=20,
        min_interval=2.0,  # redrawing costs ~0.1 s: not more than every 2 s
        live=None if live else False,
    )
    episode_rewards, env_steps = [], 0
    solved, compile_seconds = False, None
    start = time.perf_counter()
    for episode in range(max_episodes):
        policy = numpy_policy(model)  # fresh copy of the weights
        states, actions, rewards, ended_by_time = play_for_training(
            env, policy, rng, seed=seed * 10_000 + episode
        )
        bootstrap = 1 / (1 - gamma) if ended_by_time else 0.0
        returns = normalise(discounted_returns(rewards, gamma, bootstrap))
        if not (skip_perfect and ended_by_time):
            called = time.perf_counter()
            update_step(
                states.astype(np.float32),
                actions.astype(np.int32),
                returns.astype(np.float32),
            )
            if compile_seconds is None:  # the first call traces the graph
                compile_seconds = time.perf_counter() - called
        episode_rewards.append(float(rewards.sum()))
        env_steps += len(rewards)
        curve.update(episode_rewards)
        if len(episode_rewards) >= window:
            solved = np.mean(episode_rewards[-window:]) >= threshold
            if solved:
                break
    seconds = time.perf_counter() - start
    if live:
        curve.close()
    return {
        "rewards": episode_rewards,
        "solved": bool(solved),
        "solved_at": len(episode_rewards) if solved else None,
        "episodes": len(episode_rewards),
        "env_steps": env_steps,
        "seconds": seconds,
        "compile_seconds": compile_seconds,
    }


# %% [markdown]
# Now train. Watch the curve: the faint line is each episode's reward, the bold one
# the mean of the last 100 (of all episodes so far, before the 100th), the dashed one
# the target.

# %% tags=["training"]
baseline = train(
    model,
    env_id=ENV_ID,
    seed=SEED,
    rng=rng,
    learning_rate=LEARNING_RATE,
    gamma=GAMMA,
    window=WINDOW,
    threshold=threshold,
    max_episodes=MAX_EPISODES,
    skip_perfect=SKIP_PERFECT,
    title=f"actor-critic, {NUM_HIDDEN} hidden units",
)
print(
    f"solved: {baseline['solved']} after {baseline['episodes']} episodes, "
    f"{baseline['env_steps']} steps, {baseline['seconds']:.1f} s "
    f"({baseline['seconds'] / baseline['env_steps'] * 1e6:.0f} µs per step, "
    f"update included; {baseline['compile_seconds']:.1f} s of it tracing the "
    "update step, at its first call)"
)

# %% tags=["instrumentation"]
cu.record_result(
    notebook="01_actor_critic_cartpole",
    env_id=ENV_ID,
    seed=SEED,
    solved=baseline["solved"],
    criterion=f"mean of last {WINDOW} episodes >= {threshold:g}",
    episodes=baseline["episodes"],
    env_steps=baseline["env_steps"],
    train_seconds=round(baseline["seconds"], 2),
    compile_seconds=baseline["compile_seconds"],
)
assert baseline["solved"], "training did not reach the threshold"

# %% [markdown]
# ## 8. The trained agent
#
# The agent is the actor: observation in, action probabilities out. Here is one of its
# episodes (a subsample of its frames), then its score over 20 new seeded episodes.

# %% tags=["demonstration"]
trained_policy = numpy_policy(model)
trained_episode = cu.play_episode(
    screen, trained_policy, seed=SEED + 1, rng=rng, render=True, verbose=True
)
cu.animate(trained_episode, title="trained agent")

# %% tags=["demonstration"]
evaluation = cu.evaluate(env, trained_policy, n_episodes=EVAL_EPISODES, seed=SEED + 100)
print(evaluation)

# %% [markdown]
# ## 9. An experiment: which network learns fastest?
#
# The original tutorial ends with an open question: can another network (more or
# fewer units, more layers) solve CartPole in **fewer episodes**?
#
# Answering it honestly takes an experiment, because one training run is one sample
# of a noisy process. The same network, trained with another seed, meets other start
# states and samples other actions, and can need twice as many episodes. (Even the
# same seed gives slightly different curves on another computer: its processor
# rounds the sums differently, and the small differences grow.) A network that "wins"
# on one seed can lose on the next. So we train every network on the same few seeds,
# `COMPARE_SEEDS`, and compare the **median** number of episodes to solve. To keep
# the experiment short, a run stops after `COMPARE_MAX_EPISODES` episodes: one not
# solved by then counts as slower than any that was.
#
# The reference is a cramped network, with only `CRAMPED_HIDDEN` hidden units. Here
# it is on the comparison seeds (a few seconds per run):


# %%
def train_on_seeds(build, seeds):
    """Train a fresh network per seed, without live curve.

    Args:
        build: build(num_inputs, num_actions) -> keras.Model, like build_agent.
        seeds: the seeds, one training run each.

    Returns:
        One result of train() per seed, with its "seed" added.
    """
    runs = []
    for run_seed in seeds:
        # Seed Keras and the sampling generator with the comparison seed itself (not
        # through seed_everything, which COURSE_SEED would override): every network
        # then meets the same seeds, whatever the notebook's own seed.
        keras.utils.set_random_seed(run_seed)
        run = train(
            build(num_inputs, num_actions),
            env_id=ENV_ID,
            seed=run_seed,
            rng=np.random.default_rng(run_seed),
            learning_rate=LEARNING_RATE,
            gamma=GAMMA,
            window=WINDOW,
            threshold=threshold,
            max_episodes=COMPARE_MAX_EPISODES,
            skip_perfect=SKIP_PERFECT,
            live=False,
        )
        run["seed"] = run_seed
        print(
            f"  seed {run_seed}: {episodes_text(run['solved_at'])} "
            f"({run['seconds']:.1f} s)"
        )
        runs.append(run)
    return runs


def episodes_text(solved_at):
    """'solved after N episodes', or 'not solved'."""
    if solved_at is None:
        return f"not solved in {COMPARE_MAX_EPISODES} episodes"
    return f"solved after {solved_at} episodes"


def median_episodes(runs):
    """Median over the runs of the episodes to solve (unsolved: infinitely many)."""
    return float(np.median([run["solved_at"] or np.inf for run in runs]))


def build_cramped_agent(num_inputs, num_actions):
    return build_agent(num_inputs, num_actions, CRAMPED_HIDDEN)


CRAMPED = f"cramped ({CRAMPED_HIDDEN} units)"
print(f"{CRAMPED}:")
experiment = {CRAMPED: train_on_seeds(build_cramped_agent, COMPARE_SEEDS)}

# %% [markdown]
# ### Exercise 5: a network that learns faster
#
# Propose **at least two networks of your own** in `MY_NETWORKS`: a dict from a name
# you choose to a function `build(num_inputs, num_actions)` that returns a new
# `keras.Model`, like `build_agent` does. The training loop expects the same shape:
# a chain of Dense hidden layers **with a non-linear activation** (`"relu"` or
# `"tanh"`), shared by a softmax actor head and a one-unit linear critic head. Ideas
# to test: more units, fewer, a second hidden layer, tanh instead of ReLU.
#
# After a quick check of their structure, a cell trains each of your networks on the
# comparison seeds, exactly like the cramped one (same seeds, same learning rate, same
# start states); then a plot and a table compare them all. Each network costs one
# training run per seed: two or three networks are plenty.
#
# Think before you try: what does a hidden unit buy the agent? Why would stacking
# Dense layers *without* an activation add nothing? What does a much larger network
# cost, with a learning rate tuned for 128 units?
#
# <details>
# <summary><b>Show the answer</b></summary>
#
# - A hidden unit is a **feature**: a bend (ReLU) or a soft step (tanh) of one weighted
#   sum of the 4 observations, such as "the pole leans right and is still falling
#   right". The actor and the critic both build their outputs from these features, so
#   more units let the action preferences and the value take more shapes.
# - Dense layers without an activation compose into one: $W_2 (W_1 s + b_1) + b_2 =
#   (W_2 W_1) s + (W_2 b_1 + b_2)$, an affine map of the state whatever the number and
#   size of the layers. The stack computes nothing a network without hidden layer
#   could not; it only looks bigger.
# - A much larger network has many more weights to set from the same few episodes, and
#   each update moves them all by steps sized for 128 units: it may learn in more
#   episodes, not fewer, and every step costs more arithmetic. Bigger is not
#   automatically faster.
#
# </details>
#
# **Why even a linear network can balance the pole.** Do not be surprised if a network
# without hidden activation solves CartPole on some seeds. Its actor's preference for
# "push right" over "push left" is a weighted sum of the 4 observations, and through the
# softmax it pushes right more often when that sum is positive. That is already the
# classic controller for CartPole: push toward the side the pole is falling, weighted
# by its angle and its angular velocity (and a little by the cart's position and
# velocity, to stay on the track). A well-chosen linear rule balances the pole for 500
# steps. What hidden units add is *features*: a critic whose value need not be linear
# in the state (a state's value is highest near upright and centred, and falls off on
# both sides, which no linear function can do), and a policy that can treat small and
# large deviations differently. So a linear network may solve CartPole, but it is a
# smaller network than it looks, not the experiment you meant: the check after your
# networks refuses it, before training it.

# %%
# MY_NETWORKS = {"a name": build, ...}: at least two networks of your own, each
# build(num_inputs, num_actions) returning a new keras.Model (see build_agent).
### BEGIN SOLUTION
def build_wide_agent(num_inputs, num_actions):
    """The chapter's tuned size: 128 ReLU units."""
    return build_agent(num_inputs, num_actions, 128)


def build_large_agent(num_inputs, num_actions):
    """Four times the chapter's size, at the learning rate tuned for 128 units."""
    return build_agent(num_inputs, num_actions, 512)


MY_NETWORKS = {"128 units": build_wide_agent, "512 units": build_large_agent}
### END SOLUTION

# %% [markdown]
# Training takes a while, so first a quick look at your networks: the next cell builds
# each of them once, calls it on a batch of states, and checks that the training loop
# can use it (a `keras.Model` giving action probabilities and a value for each state)
# and that it has a hidden non-linearity. It trains nothing. (The graded check is the
# one at the end of the exercise.)

# %% tags=["demonstration"]
checks.vet_networks(MY_NETWORKS)

# %%
NETWORKS = {CRAMPED: build_cramped_agent, **MY_NETWORKS}
for name, build in MY_NETWORKS.items():
    print(f"{name}:")
    experiment[name] = train_on_seeds(build, COMPARE_SEEDS)

# %% [markdown]
# Here is the experiment. Left, each run's learning curve (one colour per network,
# one line per seed); right, how many episodes each run needed (a dot per seed, a
# cross for a run that never solved) and the network's median (a bar).

# %% tags=["demonstration"]
compared = {name: experiment[name] for name in NETWORKS}
for name, runs in compared.items():
    per_seed = ", ".join(
        f"seed {run['seed']}: {run['solved_at'] or 'not solved'}" for run in runs
    )
    print(f"{name:>20}: median {median_episodes(runs):g} episodes ({per_seed})")
cu.plot_experiment(compared, window=WINDOW, threshold=threshold)

# %% [markdown]
# Before you name a winner, look at the dots: how far apart are the seeds of one
# network, compared with the gap between the medians?
#
# <details>
# <summary><b>Show the answer</b></summary>
#
# Often farther apart than the medians. On our machine, "128 units" solved in 148, 228
# and 276 episodes: a spread of 128 episodes for one network. Against the cramped
# network (281, 318 and 456) and "512 units" (232, 501, and one seed not solved in
# 600), even its slowest seed needed fewer episodes than their medians, so the gap is
# larger than its own spread: a clear win. Two networks whose medians differ by a few
# dozen episodes, each spread over a hundred, are not ranked by three seeds: three
# other seeds could well swap them. Your figures will differ; comparing the spread
# with the gap is what matters.
#
# </details>
#
# Now state your conclusion in `MY_PICK`. Three seeds are few, so we accept a winner
# only on a gap the seeds support. A network **wins clearly** when even its slowest
# seed needed fewer episodes than the median of every other network, the cramped one
# included: its gap to each of them is then larger than its own spread. Set `MY_PICK`
# to the name of your network that won clearly, or to `None` if none did ("no network
# beat the others clearly" is a finding too). The check recomputes every run from its
# rewards and verifies that your conclusion holds on the data above. (If none of yours
# even has a smaller median than the cramped network, try other networks.)

# %%
# MY_PICK = "the name of your network that won clearly", or None if none did
### BEGIN SOLUTION
# Read by code, not by eye: which network wins, and whether one wins clearly, depends
# on the seeds, and even on the processor.
def slowest_episodes(runs):
    """The slowest run's episodes to solve (unsolved: infinitely many)."""
    return max(run["solved_at"] or np.inf for run in runs)


def won_clearly(name):
    """Whether even the slowest seed of `name` beats every other network's median."""
    return all(
        slowest_episodes(experiment[name]) < median_episodes(experiment[other])
        for other in experiment
        if other != name
    )


clear_winners = [name for name in MY_NETWORKS if won_clearly(name)]
MY_PICK = clear_winners[0] if clear_winners else None
print(f"MY_PICK = {MY_PICK!r}")
### END SOLUTION

# %%
checks.check_network_choice(NETWORKS, experiment, MY_PICK, baseline=CRAMPED)

# %% [markdown]
# ## What to remember
#
# - An RL environment hands out observations and rewards; `terminated` (the game is
#   over) and `truncated` (a time limit) are different, and the learning targets must
#   treat them differently.
# - Actor-critic: the actor's loss weights $\log\pi(a_t|s_t)$ by the advantage, the
#   critic provides the baseline that turns raw returns into "better or worse than
#   expected", and the advantage is held constant for the actor.
# - Speed comes from removing per-call overhead: act with a cheap forward pass, learn
#   in batches inside a compiled function. Same algorithm, a hundred times faster.
# - One training run is one sample: compare ideas over several seeds, by the median,
#   and believe a difference only when it is larger than the seeds' spread. A linear
#   policy can already balance a pole: what hidden units buy is features.
#
# Next chapter: DDPG on Pendulum, where the action is a continuous torque.

# %% [markdown]
# <!-- bench:start -->
# **Measured on our machine** (`make bench`, 2026-12-08 04:23 UTC: AMD EPYC, 2 cores, 24
# GiB, Linux, Python 3.11.7; seeds 0, 1, 2, 3, 4). This chapter's agent solved
# CartPole-v1 on 5 of 5 seeds, in a median of 155 episodes (147 to 308 over the seeds)
# and 1.2 s of training (1.0 to 1.5 s), 52,946 environment steps; the notebook's kernel
# peaked at 839 MB. The whole notebook ran in 21 s. Tracing the update step into a graph
# (its first call) took 0.4 s, 30% of the training time. On the same machine, to the
# same criterion, Stable-Baselines3 needed 775 episodes and 11.7 s with A2C, 263
# episodes and 9.3 s with PPO (medians). Your machine will give other figures.
# <!-- bench:end -->
