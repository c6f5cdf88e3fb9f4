"""Playing episodes: players, records, reports, validation, evaluation."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

from course_utils import make_env
from course_utils.playing import Episode, Evaluation, evaluate, play_episode, to_action


@pytest.fixture(scope="module")
def cartpole():
    return make_env("CartPole-v1", 0)


@pytest.fixture(scope="module")
def pendulum():
    return make_env("Pendulum-v1", 0)


def balance(observation):
    """A hand-written CartPole player: push towards where the pole falls."""
    x, x_dot, theta, theta_dot = observation
    return int(theta + 0.5 * theta_dot + 0.05 * x + 0.1 * x_dot > 0)


def test_random_player_record(cartpole):
    episode = play_episode(cartpole, seed=1)
    assert isinstance(episode, Episode)
    assert episode.env_id == "CartPole-v1"
    assert episode.actions.dtype == np.int64
    assert episode.actions.shape == (episode.length,)
    assert episode.rewards.dtype == np.float64
    assert episode.rewards.shape == (episode.length,)
    assert episode.total_reward == pytest.approx(episode.rewards.sum())
    assert episode.terminated and not episode.truncated
    assert episode.frames == []
    assert episode.reward_to_win == 475.0
    assert episode.won is False


def test_same_seed_same_episode(cartpole):
    first = play_episode(cartpole, seed=5)
    second = play_episode(cartpole, seed=5)
    np.testing.assert_array_equal(first.actions, second.actions)


def test_good_player_is_truncated_not_terminated(cartpole):
    episode = play_episode(cartpole, balance, seed=0)
    # Reaching CartPole-v1's 500-step limit is a truncation: the pole is still up.
    assert episode.length == 500
    assert episode.truncated and not episode.terminated
    assert episode.won is True


@pytest.mark.parametrize(
    "output",
    [1, np.int64(0), np.array([1]), np.array([[0.0]]), 1.0, [0.3, 0.7], [[0.5, 0.5]]],
)
def test_discrete_outputs_accepted(output):
    action = to_action(output, spaces.Discrete(2), np.random.default_rng(0))
    assert action in (0, 1)
    assert isinstance(action, int)


def test_probabilities_are_sampled_with_rng():
    space = spaces.Discrete(3)
    draws = [
        to_action([0.0, 0.0, 1.0], space, np.random.default_rng(i)) for i in range(5)
    ]
    assert draws == [2] * 5
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    a = [to_action([0.2, 0.3, 0.5], space, rng_a) for _ in range(30)]
    b = [to_action([0.2, 0.3, 0.5], space, rng_b) for _ in range(30)]
    assert a == b and len(set(a)) > 1


def test_discrete_space_with_start():
    space = spaces.Discrete(2, start=-1)
    rng = np.random.default_rng(0)
    assert to_action([0.0, 1.0], space, rng) == 0
    assert to_action(-1, space, rng) == -1


def test_tf_like_tensor_probabilities():
    class Tensor:
        def __array__(self, dtype=None, copy=None):
            return np.array([[0.0, 1.0]], dtype=np.float32)

    assert to_action(Tensor(), spaces.Discrete(2), np.random.default_rng(0)) == 1


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (2, "out of range"),
        (-1, "out of range"),
        (0.5, r"an action in \{0, \.\.\., 1\}"),
        (None, "got None"),
        ([0.2, 0.2, 0.6], r"got an array of shape \(3,\)"),
        ([0.9, 0.9], "not probabilities.*softmax"),
        ([-0.5, 1.5], "not probabilities"),
        ([np.nan, 0.5], "NaN"),
        ("left", "dtype"),
        ([[0.5], [0.5, 0.1]], "not an array"),
    ],
)
def test_bad_discrete_outputs(output, message):
    with pytest.raises(ValueError, match=message):
        to_action(output, spaces.Discrete(2), np.random.default_rng(0))


def test_continuous_player(pendulum):
    episode = play_episode(
        pendulum,
        lambda obs: np.array([[-obs[2]]]).clip(-2, 2),
        seed=0,
        reward_to_win=-1e9,
    )
    assert episode.actions.shape == (200, 1)
    assert episode.actions.dtype == np.float32
    assert episode.truncated and not episode.terminated
    assert episode.reward_to_win == -1e9 and episode.won is True


def test_pendulum_has_no_threshold(pendulum):
    episode = play_episode(pendulum, seed=0, max_steps=3)
    assert episode.reward_to_win is None and episode.won is None
    assert episode.length == 3 and episode.truncated


def test_box_action_clips_rounding_error():
    space = spaces.Box(-2.0, 2.0, (1,), np.float32)
    action = to_action(2.00001, space, np.random.default_rng(0))
    assert action.shape == (1,) and action.dtype == np.float32
    assert action[0] == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (3.0, r"shape \(1,\) inside \[-2, 2\].*out of range"),
        ([1.0, 1.0], r"got shape \(2,\)"),
        (np.nan, "non-finite"),
        (None, "got None"),
    ],
)
def test_bad_box_outputs(output, message):
    space = spaces.Box(-2.0, 2.0, (1,), np.float32)
    with pytest.raises(ValueError, match=message):
        to_action(output, space, np.random.default_rng(0))


def test_box_with_per_dimension_bounds():
    space = spaces.Box(np.array([-1.0, 0.0]), np.array([1.0, 5.0]), dtype=np.float64)
    with pytest.raises(ValueError, match=r"\[\[-1.0, 0.0\], \[1.0, 5.0\]\]"):
        to_action([0.0, 6.0], space, np.random.default_rng(0))


def test_other_spaces_use_contains():
    space = spaces.MultiBinary(2)
    np.testing.assert_array_equal(
        to_action(np.array([1, 0], dtype=np.int8), space, None), [1, 0]
    )
    with pytest.raises(ValueError, match="not in MultiBinary"):
        to_action(np.array([2, 0]), space, None)


def test_player_errors_in_episode(cartpole):
    with pytest.raises(ValueError, match="out of range"):
        play_episode(cartpole, lambda obs: 3, seed=0)
    with pytest.raises(ValueError, match=r"got an array of shape \(1, 4\)"):
        play_episode(cartpole, lambda obs: obs[None], seed=0)


def test_non_gymnasium_env_is_a_type_error():
    with pytest.raises(TypeError, match="expected a gymnasium environment"):
        play_episode(object())
    with pytest.raises(TypeError, match=r"make_env\('CartPole-v1'"):
        play_episode("CartPole-v1")
    with pytest.raises(TypeError, match="expected a gymnasium environment"):
        evaluate(None, None)


def test_old_gym_env_gets_a_hint():
    old_gym_env = type("CartPoleEnv", (), {"__module__": "gym.envs.classic_control"})
    with pytest.raises(TypeError, match="old `gym` package"):
        play_episode(old_gym_env())


def test_player_must_be_callable(cartpole):
    with pytest.raises(TypeError, match="player must be a function"):
        play_episode(cartpole, player=[0, 1])


def test_argument_validation(cartpole):
    with pytest.raises(ValueError, match="max_steps"):
        play_episode(cartpole, max_steps=0)
    with pytest.raises(ValueError, match="max_frames"):
        play_episode(cartpole, max_frames=1)


def test_render_needs_rgb_array(cartpole):
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        play_episode(cartpole, render=True)


def test_render_collects_frames():
    env = make_env("CartPole-v1", 0, render_mode="rgb_array")
    episode = play_episode(env, seed=2, render=True)
    assert len(episode.frames) == episode.length + 1
    assert episode.frames[0].shape == (400, 600, 3)
    assert episode.frames[0].dtype == np.uint8
    np.testing.assert_array_equal(episode.frame_steps, np.arange(episode.length + 1))


def test_long_episode_keeps_a_bounded_number_of_frames():
    env = make_env("CartPole-v1", 0, render_mode="rgb_array", max_episode_steps=100)
    episode = play_episode(env, balance, seed=0, render=True, max_frames=16)
    assert 8 <= len(episode.frames) <= 17
    steps = episode.frame_steps
    assert steps[0] == 0 and steps[-1] == 100
    assert np.all(np.diff(steps) > 0)
    # frames are evenly spaced apart from the final one
    assert len(set(np.diff(steps[:-1]).tolist())) == 1


def test_render_returning_nothing_is_reported():
    class NoFrames(gymnasium.Wrapper):
        def render(self):
            return None

    env = NoFrames(make_env("CartPole-v1", 0, render_mode="rgb_array"))
    with pytest.raises(ValueError, match=r"\(H, W, 3\) image, got None"):
        play_episode(env, render=True)


def test_report_cartpole(cartpole, capsys):
    episode = play_episode(cartpole, seed=1, verbose=True)
    printed = capsys.readouterr().out
    assert printed.strip() == episode.report()
    lines = episode.report().splitlines()
    assert set(lines[0].removeprefix("actions: ").split()) <= {"L", "R"}
    assert lines[1] == f"terminated after {episode.length} steps"
    assert lines[2].endswith("Sorry, try again...")


def test_report_long_and_won(cartpole):
    report = play_episode(cartpole, balance, seed=0).report(max_actions=10)
    first = report.splitlines()[0].split()
    assert "..." in first and len(first) == 1 + 10 + 1
    assert "truncated at 500 steps" in report
    assert report.endswith("YOU WIN!")


def test_report_continuous(pendulum):
    episode = play_episode(pendulum, lambda obs: [0.5], seed=0, max_steps=3)
    assert episode.report().splitlines() == [
        "actions: +0.50 +0.50 +0.50",
        "truncated at 3 steps (time limit)",
        f"total reward: {episode.total_reward:.2f}",
    ]


def test_report_other_cases():
    two_d = Episode(
        "X-v0", np.zeros((2, 2), np.float32), np.zeros(2), 0.0, 2, False, False
    )
    assert two_d.report().splitlines()[:2] == [
        "actions: [+0.00,+0.00] [+0.00,+0.00]",
        "stopped after 2 steps",
    ]
    empty = Episode(
        "MountainCar-v0", np.zeros(0, np.int64), np.zeros(0), 0.0, 0, True, False
    )
    assert empty.report().startswith("actions: (none)")
    digits = Episode(
        "MountainCar-v0", np.array([0, 2]), np.zeros(2), 0.0, 2, True, False
    )
    assert digits.report().startswith("actions: 0 2")


def test_unregistered_env_and_generic_space():
    class Coin(gymnasium.Env):
        observation_space = spaces.Discrete(1)
        action_space = spaces.MultiBinary(2)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return 0, {}

        def step(self, action):
            return 0, float(action.sum()), True, False, {}

    episode = play_episode(Coin(), seed=0)
    assert episode.env_id == "?" and episode.reward_to_win is None
    assert episode.actions.dtype == object and episode.length == 1


def test_evaluate_is_repeatable(cartpole):
    first = evaluate(cartpole, lambda obs: [0.5, 0.5], n_episodes=4, seed=10)
    second = evaluate(cartpole, lambda obs: [0.5, 0.5], n_episodes=4, seed=10)
    assert isinstance(first, Evaluation)
    assert first.returns.dtype == np.float64 and first.returns.shape == (4,)
    assert first.lengths.dtype == np.int64
    np.testing.assert_array_equal(first.returns, second.returns)
    assert first.mean == pytest.approx(first.returns.mean())
    assert str(first).startswith("mean reward over 4 episodes: ")
    assert "±" in str(first)


def test_evaluate_good_player(cartpole):
    result = evaluate(cartpole, balance, n_episodes=2, seed=0, max_steps=50)
    assert str(result) == "mean reward over 2 episodes: 50.0 ± 0.0"


@pytest.mark.parametrize(
    ("n", "error"), [(0, ValueError), (2.5, TypeError), (True, TypeError)]
)
def test_evaluate_validates_n_episodes(cartpole, n, error):
    with pytest.raises(error, match="n_episodes"):
        evaluate(cartpole, None, n_episodes=n)


def test_playing_and_rendering_emit_no_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for env_id in ("CartPole-v1", "Pendulum-v1"):
            env = make_env(env_id, 0, render_mode="rgb_array")
            episode = play_episode(env, seed=0, render=True, max_steps=5)
            assert len(episode.frames) == 6
