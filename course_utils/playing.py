"""Play episodes of a gymnasium environment with a player, and evaluate players.

A *player* is any callable ``player(observation) -> action`` that takes ONE
observation (the environment's observation shape, no batch dimension):

- discrete action spaces (CartPole): it returns an action (an int) or a vector of
  ``n`` action probabilities (e.g. a softmax output of shape ``(n,)`` or
  ``(1, n)``), from which the action is sampled with ``rng``;
- continuous spaces (Pendulum): it returns an array-like that reshapes to
  ``action_space.shape`` and lies inside ``[low, high]``.

``player=None`` plays at random (``env.action_space.sample()``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from .seeding import headless_render_defaults

# Slack allowed beyond a Box's bounds before an action counts as out of range
# (float32 rounding of e.g. 2.0 * tanh(x)); the action is then clipped.
_BOUND_TOLERANCE = 1e-4
_PROBABILITY_TOLERANCE = 1e-3

Player = Callable[[np.ndarray], Any]


@dataclass
class Episode:
    """Record of one played episode.

    Attributes:
        env_id: id of the environment, e.g. ``"CartPole-v1"`` (``"?"`` if unknown).
        actions: actions taken, shape ``(length,)`` int64 for discrete spaces,
            ``(length, *action_shape)`` float for continuous ones.
        rewards: reward of each step, shape ``(length,)`` float64.
        total_reward: sum of ``rewards`` (the undiscounted return).
        length: number of steps played.
        terminated: the episode reached a terminal state (CartPole: the pole fell
            or the cart left the track). Bootstrapping must stop here.
        truncated: the episode was cut by a time limit (CartPole-v1: 500 steps,
            Pendulum-v1: 200) or by ``max_steps``. NOT a terminal state: the
            value of the last state is not zero.
        frames: rendered ``(H, W, 3)`` uint8 images (empty unless ``render=True``),
            evenly spaced in time when the episode was long (see ``frame_steps``).
        reward_to_win: the total reward that counts as a win, or ``None``.
        won: ``total_reward >= reward_to_win``, or ``None`` without a target.
        frame_steps: step index of each frame, shape ``(len(frames),)`` int64
            (0 is the initial state, ``length`` the final one).
    """

    env_id: str
    actions: np.ndarray
    rewards: np.ndarray
    total_reward: float
    length: int
    terminated: bool
    truncated: bool
    frames: list[np.ndarray] = field(default_factory=list, repr=False)
    reward_to_win: float | None = None
    won: bool | None = None
    frame_steps: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False
    )

    def report(self, *, max_actions: int = 40) -> str:
        """Describe the episode in three short lines.

        Args:
            max_actions: longest action log shown in full; longer logs show
                the first and last actions with "..." between.

        Returns:
            The action log ("L R R L ..." for CartPole, "+1.23 -0.40 ..." for
            torques), how the episode ended, the total reward and the verdict.
        """
        lines = [_action_log(self.env_id, self.actions, max_actions), self._ending()]
        total = f"total reward: {self.total_reward:.2f}"
        if self.reward_to_win is not None:
            verdict = "YOU WIN!" if self.won else "Sorry, try again..."
            total += f" (to win: {self.reward_to_win:g}). {verdict}"
        lines.append(total)
        return "\n".join(lines)

    def _ending(self) -> str:
        if self.terminated:
            return f"terminated after {self.length} steps"
        if self.truncated:
            return f"truncated at {self.length} steps (time limit)"
        return f"stopped after {self.length} steps"


@dataclass
class Evaluation:
    """Total rewards of several seeded episodes.

    Attributes:
        returns: total reward of each episode, shape ``(n_episodes,)`` float64.
        lengths: steps of each episode, shape ``(n_episodes,)`` int64.
        mean: mean of ``returns``.
        std: standard deviation of ``returns``.
    """

    returns: np.ndarray
    lengths: np.ndarray
    mean: float
    std: float

    def __str__(self) -> str:
        return (
            f"mean reward over {len(self.returns)} episodes: "
            f"{self.mean:.1f} ± {self.std:.1f}"
        )


def play_episode(
    env: gymnasium.Env,
    player: Player | None = None,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    render: bool = False,
    max_steps: int | None = None,
    reward_to_win: float | None = None,
    verbose: bool = False,
    max_frames: int | None = 150,
) -> Episode:
    """Play one episode from reset to termination or truncation.

    Args:
        env: a ``gymnasium.Env`` (``render_mode="rgb_array"`` if ``render``).
        player: ``player(observation) -> action or probabilities``, see the module
            docstring; ``None`` plays at random.
        seed: seed for ``env.reset`` (and for the random player's sampling);
            ``None`` continues the environment's own random sequence.
        rng: generator used to sample from returned probabilities; defaults to
            ``np.random.default_rng(seed)``.
        render: collect frames (``Episode.frames``) for :func:`animate`.
        max_steps: stop after this many steps (counted as a truncation).
        reward_to_win: total reward for "YOU WIN!"; defaults to
            ``env.spec.reward_threshold`` (475 for CartPole-v1, none for Pendulum).
        verbose: print :meth:`Episode.report` at the end.
        max_frames: keep at most about this many frames, evenly spaced (the first
            and last always kept), so a long episode does not fill the memory
            (a 600x400 frame is 0.7 MB); ``None`` keeps every frame.

    Returns:
        The :class:`Episode` record.

    Raises:
        TypeError: ``env`` is not a gymnasium environment or ``player`` is not
            callable.
        ValueError: the player returns an invalid action, or ``render=True`` on an
            environment not made with ``render_mode="rgb_array"``.
    """
    _check_env(env)
    if player is not None and not callable(player):
        raise TypeError(
            f"player must be a function observation -> action (or None for a random "
            f"player), got {type(player).__name__}"
        )
    if render:
        _check_can_render(env)
        headless_render_defaults()
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps}")
    if max_frames is not None and max_frames < 2:
        raise ValueError(f"max_frames must be at least 2 (or None), got {max_frames}")
    if rng is None:
        rng = np.random.default_rng(seed)
    if reward_to_win is None:
        reward_to_win = _spec_threshold(env)

    observation, _ = env.reset(seed=seed)
    if player is None and seed is not None:
        env.action_space.seed(seed)
    frames = _FrameKeeper(max_frames)
    if render:
        frames.add(0, _render(env))
    actions, rewards = [], []
    terminated = truncated = False
    while not (terminated or truncated):
        if player is None:
            action = env.action_space.sample()
        else:
            action = to_action(player(observation), env.action_space, rng)
        observation, reward, terminated, truncated, _ = env.step(action)
        actions.append(action)
        rewards.append(float(reward))
        step = len(rewards)
        if max_steps is not None and step >= max_steps and not terminated:
            truncated = True
        if render and (frames.wants(step) or terminated or truncated):
            # The final frame (the pole falling) is always kept.
            frames.add(step, _render(env), final=terminated or truncated)

    episode = _make_episode(
        env, actions, rewards, terminated, truncated, frames, reward_to_win
    )
    if verbose:
        print(episode.report())
    return episode


def evaluate(
    env: gymnasium.Env,
    player: Player | None,
    *,
    n_episodes: int = 20,
    seed: int = 0,
    rng: np.random.Generator | None = None,
    max_steps: int | None = None,
) -> Evaluation:
    """Play ``n_episodes`` seeded episodes and summarise their total rewards.

    Episode ``i`` starts from ``env.reset(seed=seed + i)``, so two players are
    compared on the same start states and a rerun gives the same numbers.

    Args:
        env: a ``gymnasium.Env``.
        player: as in :func:`play_episode` (``None`` plays at random).
        n_episodes: number of episodes (>= 1).
        seed: seed of the first episode.
        rng: generator for sampling from probabilities; defaults to
            ``np.random.default_rng(seed)``.
        max_steps: optional step limit per episode.

    Returns:
        An :class:`Evaluation` (returns float64 and lengths int64, shape
        ``(n_episodes,)``, their mean and std).
    """
    _check_env(env)
    if isinstance(n_episodes, bool) or not isinstance(n_episodes, (int, np.integer)):
        raise TypeError(f"n_episodes must be an integer, got {n_episodes!r}")
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be at least 1, got {n_episodes}")
    if rng is None:
        rng = np.random.default_rng(seed)
    returns = np.zeros(n_episodes, dtype=np.float64)
    lengths = np.zeros(n_episodes, dtype=np.int64)
    for i in range(n_episodes):
        episode = play_episode(
            env, player, seed=seed + i, rng=rng, max_steps=max_steps, max_frames=None
        )
        returns[i] = episode.total_reward
        lengths[i] = episode.length
    return Evaluation(
        returns=returns,
        lengths=lengths,
        mean=float(returns.mean()),
        std=float(returns.std()),
    )


def to_action(output: Any, action_space: spaces.Space, rng: np.random.Generator):
    """Turn a player's output into a valid action for ``action_space``.

    Args:
        output: what the player returned: an action, or (discrete spaces) a
            probability vector squeezable to ``(n,)``; tf tensors are accepted.
        action_space: the environment's action space.
        rng: generator to sample from probabilities.

    Returns:
        An ``int`` for ``Discrete`` spaces, an array of ``action_space.shape`` and
        dtype for ``Box`` spaces, ``output`` itself for other spaces.

    Raises:
        ValueError: the output is not a valid action, naming expected vs got.
    """
    if isinstance(action_space, spaces.Discrete):
        return _discrete_action(output, action_space, rng)
    if isinstance(action_space, spaces.Box):
        return _box_action(output, action_space)
    if not action_space.contains(output):
        raise ValueError(f"the player returned {output!r}, not in {action_space}")
    return output


def _discrete_action(
    output: Any, space: spaces.Discrete, rng: np.random.Generator
) -> int:
    n, start = int(space.n), int(space.start)
    expected = (
        f"an action in {{{start}, ..., {start + n - 1}}} or a probability vector "
        f"of length {n}"
    )
    values = _as_numbers(output, expected)
    if values.size == n and (values.dtype.kind == "f" or n > 1):
        return start + _sample(values.reshape(n), rng, expected)
    if values.size == 1:
        value = values.reshape(()).item()
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"the player must return {expected}, got {value}")
        if not start <= int(value) < start + n:
            raise ValueError(
                f"the player must return {expected}; got action {int(value)}, "
                "out of range"
            )
        return int(value)
    raise ValueError(
        f"the player must return {expected}; got an array of shape {values.shape}"
    )


def _sample(probs: np.ndarray, rng: np.random.Generator, expected: str) -> int:
    if not np.all(np.isfinite(probs)):
        raise ValueError(
            f"the player's probabilities contain NaN or inf: {probs}. "
            "Did the network's weights diverge (learning rate too high)?"
        )
    total = probs.sum()
    if probs.min() < -_PROBABILITY_TOLERANCE or abs(total - 1) > _PROBABILITY_TOLERANCE:
        raise ValueError(
            f"the player must return {expected}; got {probs}, which are not "
            f"probabilities (sum {total:.4f}). Did you forget the softmax?"
        )
    probs = np.clip(probs.astype(np.float64), 0.0, None)
    return int(rng.choice(probs.size, p=probs / probs.sum()))


def _box_action(output: Any, space: spaces.Box) -> np.ndarray:
    shape = space.shape
    expected = f"an action of shape {shape} inside [{_bounds(space)}]"
    values = _as_numbers(output, expected)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"the player must return {expected}; got shape {values.shape}")
    action = values.astype(np.float64).reshape(shape)
    if not np.all(np.isfinite(action)):
        raise ValueError(f"the player returned a non-finite action: {action}")
    low, high = space.low.astype(np.float64), space.high.astype(np.float64)
    slack = _BOUND_TOLERANCE * (1.0 + np.maximum(np.abs(low), np.abs(high)))
    if np.any(action < low - slack) or np.any(action > high + slack):
        raise ValueError(
            f"the player must return {expected}; got {action}, out of range. "
            "Hint: scale a tanh output by the bound, or clip the action."
        )
    return np.clip(action, low, high).astype(space.dtype)


def _as_numbers(output: Any, expected: str) -> np.ndarray:
    if output is None:
        raise ValueError(f"the player must return {expected}, got None")
    try:
        values = np.asarray(output)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"the player must return {expected}; got {type(output).__name__} "
            f"that is not an array ({error})"
        ) from None
    if values.dtype.kind not in "iuf":
        raise ValueError(
            f"the player must return {expected}; got {type(output).__name__} "
            f"with dtype {values.dtype}"
        )
    return values


def _bounds(space: spaces.Box) -> str:
    if np.all(space.low == space.low.flat[0]) and np.all(
        space.high == space.high.flat[0]
    ):
        return f"{float(space.low.flat[0]):g}, {float(space.high.flat[0]):g}"
    return f"{space.low.tolist()}, {space.high.tolist()}"


class _FrameKeeper:
    """Keep at most ~``limit`` frames, evenly spaced, of an episode of unknown length.

    Frames are kept every ``stride`` steps; when there are too many, every other
    one is dropped and the stride doubles.
    """

    def __init__(self, limit: int | None):
        self.limit = limit
        self.stride = 1
        self.frames: list[np.ndarray] = []
        self.steps: list[int] = []

    def wants(self, step: int) -> bool:
        return step % self.stride == 0

    def add(self, step: int, frame: np.ndarray, *, final: bool = False) -> None:
        self.frames.append(frame)
        self.steps.append(step)
        if not final and self.limit is not None and len(self.frames) > self.limit:
            self.stride *= 2
            kept = [i for i, s in enumerate(self.steps) if s % self.stride == 0]
            self.frames = [self.frames[i] for i in kept]
            self.steps = [self.steps[i] for i in kept]


def _make_episode(env, actions, rewards, terminated, truncated, frames, reward_to_win):
    rewards_array = np.asarray(rewards, dtype=np.float64)
    total = float(rewards_array.sum())
    won = None if reward_to_win is None else bool(total >= reward_to_win)
    return Episode(
        env_id=_env_id(env),
        actions=_stack_actions(actions, env.action_space),
        rewards=rewards_array,
        total_reward=total,
        length=len(rewards),
        terminated=bool(terminated),
        truncated=bool(truncated),
        frames=frames.frames,
        reward_to_win=None if reward_to_win is None else float(reward_to_win),
        won=won,
        frame_steps=np.asarray(frames.steps, dtype=np.int64),
    )


def _stack_actions(actions: list, space: spaces.Space) -> np.ndarray:
    if isinstance(space, spaces.Discrete):
        return np.asarray(actions, dtype=np.int64).reshape(len(actions))
    if isinstance(space, spaces.Box):
        return np.asarray(actions, dtype=space.dtype).reshape(
            (len(actions), *space.shape)
        )
    result = np.empty(len(actions), dtype=object)
    result[:] = actions
    return result


def _action_log(env_id: str, actions: np.ndarray, max_actions: int) -> str:
    tokens = [_action_token(env_id, action) for action in actions]
    if len(tokens) > max_actions:
        head = max(1, max_actions - 5)
        tokens = [*tokens[:head], "...", *tokens[-5:]]
    return "actions: " + (" ".join(tokens) if tokens else "(none)")


def _action_token(env_id: str, action: Any) -> str:
    if isinstance(action, np.ndarray) and action.dtype.kind == "f":
        parts = [f"{value:+.2f}" for value in action.ravel()]
        return parts[0] if len(parts) == 1 else "[" + ",".join(parts) + "]"
    if env_id.startswith("CartPole") and isinstance(action, (int, np.integer)):
        return "LR"[int(action)]
    return str(action)


def _check_env(env: Any) -> None:
    if not isinstance(env, gymnasium.Env):
        hint = ""
        if isinstance(env, str):
            hint = f" Create it first, e.g. cu.make_env({env!r}, seed=0)."
        elif type(env).__module__.split(".")[0] == "gym":
            hint = " This looks like the old `gym` package: use `gymnasium` instead."
        raise TypeError(
            f"expected a gymnasium environment (gymnasium.Env), got "
            f"{type(env).__name__}.{hint}"
        )


def _check_can_render(env: gymnasium.Env) -> None:
    if env.render_mode != "rgb_array":
        raise ValueError(
            "render=True needs an environment made with render_mode='rgb_array' "
            f"(this one has render_mode={env.render_mode!r}); e.g. "
            f"cu.make_env({_env_id(env)!r}, seed=0, render_mode='rgb_array')"
        )


def _render(env: gymnasium.Env) -> np.ndarray:
    frame = env.render()
    array = None if frame is None else np.asarray(frame)
    if array is None or array.ndim != 3 or array.shape[2] != 3:
        shape = None if array is None else array.shape
        raise ValueError(f"env.render() should return an (H, W, 3) image, got {shape}")
    return array.astype(np.uint8, copy=False)


def _spec_threshold(env: gymnasium.Env) -> float | None:
    spec = env.spec
    if spec is None or spec.reward_threshold is None:
        return None
    return float(spec.reward_threshold)


def _env_id(env: gymnasium.Env) -> str:
    return env.spec.id if env.spec is not None else "?"
