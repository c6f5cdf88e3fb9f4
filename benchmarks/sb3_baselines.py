"""Stable-Baselines3 on the course's tasks, to the course's criteria.

Runs in the optional benchmark environment (PyTorch CPU, stable-baselines3), never in
the course environment. One invocation trains one algorithm on one task with one seed
and prints one JSON record, for example::

    python benchmarks/sb3_baselines.py --task cartpole --algo ppo --seed 0

Hyperparameters are rl-baselines3-zoo's for these tasks (hyperparams/{a2c,ppo,ddpg,
td3}.yml). Training stops as soon as the course's criterion holds:

- CartPole-v1: mean reward of the last 100 finished episodes >= 475;
- Pendulum-v1: mean reward of the last 10 finished episodes >= -200, followed by a
  20-episode evaluation of the deterministic policy from the start states of
  ``reset(seed=EVAL_SEED + i)``: the same 20 start states as the course's notebook,
  whatever the training seed.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np

ZOO = {
    ("cartpole", "a2c"): dict(n_envs=8, n_timesteps=500_000, kwargs=dict(ent_coef=0.0)),
    ("cartpole", "ppo"): dict(
        n_envs=8,
        n_timesteps=100_000,
        kwargs=dict(
            n_steps=32,
            batch_size=256,
            gae_lambda=0.8,
            gamma=0.98,
            n_epochs=20,
            ent_coef=0.0,
            learning_rate="lin_0.001",
            clip_range="lin_0.2",
        ),
    ),
    **{
        ("pendulum", algo): dict(
            n_envs=1,
            n_timesteps=20_000,
            kwargs=dict(
                gamma=0.98,
                buffer_size=200_000,
                learning_starts=10_000,
                action_noise=("normal", 0.1),
                gradient_steps=-1,
                train_freq=(1, "episode"),
                learning_rate=1e-3,
                policy_kwargs=dict(net_arch=[400, 300]),
            ),
        )
        for algo in ("ddpg", "td3")
    },
}
# The evaluation's start states: reset(seed=EVAL_SEED + i), i < EVAL_EPISODES. Chapter
# 02's notebook uses the same two numbers, so every implementation and every training
# seed is scored on the same 20 start states (benchmarks/run.py checks the records).
EVAL_SEED = 10_000
EVAL_EPISODES = 20
TASKS = {
    "cartpole": dict(env_id="CartPole-v1", window=100, goal=475.0),
    "pendulum": dict(env_id="Pendulum-v1", window=10, goal=-200.0),
}


def linear(start: float):
    """rl-zoo's ``lin_X``: decays linearly from X to 0 over the run."""
    return lambda progress_remaining: progress_remaining * start


def build_kwargs(raw: dict, n_actions: int) -> dict:
    from stable_baselines3.common.noise import NormalActionNoise

    kwargs = {}
    for key, value in raw.items():
        if isinstance(value, str) and value.startswith("lin_"):
            value = linear(float(value[4:]))
        if key == "action_noise":
            _, sigma = value
            value = NormalActionNoise(np.zeros(n_actions), sigma * np.ones(n_actions))
        kwargs[key] = value
    return kwargs


def run(task: str, algo: str, seed: int) -> dict:
    import stable_baselines3 as sb3
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(2)
    spec, zoo = TASKS[task], ZOO[(task, algo)]
    env = make_vec_env(spec["env_id"], n_envs=zoo["n_envs"], seed=seed)
    n_actions = env.action_space.shape[0] if task == "pendulum" else 0
    model_class = getattr(sb3, algo.upper())
    model = model_class(
        "MlpPolicy",
        env,
        seed=seed,
        verbose=0,
        device="cpu",
        **build_kwargs(zoo["kwargs"], n_actions),
    )

    class Criterion(BaseCallback):
        """Stops training when the course's criterion holds."""

        def __init__(self):
            super().__init__()
            self.rewards: list[float] = []
            self.solved_at: tuple[int, int, float] | None = None

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.rewards.append(float(info["episode"]["r"]))
            recent = self.rewards[-spec["window"] :]
            if len(recent) == spec["window"] and np.mean(recent) >= spec["goal"]:
                elapsed = time.perf_counter() - start
                self.solved_at = (len(self.rewards), self.num_timesteps, elapsed)
                return False
            return True

    callback = Criterion()
    start = time.perf_counter()
    model.learn(total_timesteps=zoo["n_timesteps"], callback=callback)
    total_seconds = time.perf_counter() - start
    record = dict(
        implementation=f"SB3 {algo.upper()}",
        task=task,
        env_id=spec["env_id"],
        seed=seed,
        solved=callback.solved_at is not None,
        episodes=callback.solved_at[0] if callback.solved_at else len(callback.rewards),
        env_steps=callback.solved_at[1] if callback.solved_at else model.num_timesteps,
        train_seconds=callback.solved_at[2] if callback.solved_at else total_seconds,
        library=f"stable-baselines3 {sb3.__version__}, torch {torch.__version__}",
    )
    if task == "pendulum":
        returns = evaluate(model, spec["env_id"])
        record.update(
            eval_mean=float(np.mean(returns)),
            eval_returns=returns,
            eval_seed=EVAL_SEED,
            eval_episodes=EVAL_EPISODES,
        )
    record["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return record


def evaluate(model, env_id: str) -> list[float]:
    """Returns of the deterministic policy from the shared evaluation start states."""
    import gymnasium as gym

    env = gym.make(env_id)
    returns = []
    for i in range(EVAL_EPISODES):
        observation, _ = env.reset(seed=EVAL_SEED + i)
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(observation, deterministic=True)
            observation, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), required=True)
    parser.add_argument("--algo", choices=["a2c", "ppo", "ddpg", "td3"], required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if (args.task, args.algo) not in ZOO:
        parser.error(f"no rl-zoo settings for {args.algo} on {args.task}")
    print(json.dumps(run(args.task, args.algo, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
