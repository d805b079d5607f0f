"""Looking at rollouts: frames from an env, written as GIF / MP4 (imageio) or a PNG strip; swing-up
drawings with matplotlib. Headless: quadruped frames come from pybullet's TinyRenderer."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import gymnasium
import numpy as np

from wann_ros.sim.robot_specs import gait_clock_hz
from wann_ros.sim.swingup import SwingUpParams


def record_rollout(
    env,
    path: str | Path,
    policy: Callable[[np.ndarray], np.ndarray] | None = None,
    steps: int = 200,
    seed: int = 0,
    every: int = 1,
    fps: int = 30,
) -> Path:
    """Run ``policy`` (random actions if None) in an env made with ``render_mode="rgb_array"`` and write
    every ``every``-th frame to ``path``: ``.gif`` / ``.mp4`` as an animation, ``.png`` as a strip."""
    import imageio.v2 as imageio

    if getattr(env, "render_mode", None) != "rgb_array":
        raise ValueError("record_rollout needs an env made with render_mode='rgb_array'")
    path = Path(path)
    if path.suffix not in (".gif", ".mp4", ".png"):
        raise ValueError(f"record_rollout writes .gif, .mp4 or .png, not {path.suffix!r}")
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    frames = [env.render()]
    for t in range(steps):
        action = env.action_space.sample() if policy is None else policy(obs)
        obs, _, terminated, truncated, _ = env.step(action)
        if (t + 1) % every == 0:
            frames.append(env.render())
        if terminated or truncated:
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".png":
        imageio.imwrite(path, np.concatenate(frames, axis=1))
    elif path.suffix == ".gif":
        imageio.mimsave(path, frames, duration=1000.0 / fps, loop=0)
    else:
        imageio.mimsave(path, frames, fps=fps)
    return path


def draw_swingup(ax, state: np.ndarray, params: SwingUpParams | None = None, alpha: float = 1.0) -> None:
    """Draw one cart-pole state ``[x, x_dot, theta, theta_dot]`` on a matplotlib axis (theta = 0 is up)."""
    p = params or SwingUpParams()
    x, theta = float(state[0]), float(state[2])
    ax.add_patch(_rect((x - 0.25, -0.1), 0.5, 0.2, alpha))
    tip = (x + p.pole_length * np.sin(theta), p.pole_length * np.cos(theta))
    ax.plot([x, tip[0]], [0.0, tip[1]], color="tab:orange", lw=4, alpha=alpha)
    ax.plot([-p.x_threshold, p.x_threshold], [-0.1, -0.1], color="k", lw=1)
    ax.set_xlim(-p.x_threshold - 0.5, p.x_threshold + 0.5)
    ax.set_ylim(-1.0, 1.0)
    ax.set_aspect("equal")


def _rect(xy, w, h, alpha):
    from matplotlib.patches import Rectangle

    return Rectangle(xy, w, h, color="tab:blue", alpha=alpha)


def swingup_frame(
    state: np.ndarray, params: SwingUpParams | None = None, width: int = 320, height: int = 160
) -> np.ndarray:
    """An RGB frame (height, width, 3) of one cart-pole state, drawn with matplotlib (Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width / 80, height / 80), dpi=80)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.axis("off")
    draw_swingup(ax, state, params)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def plot_swingup_trajectory(
    states: np.ndarray, path: str | Path, params: SwingUpParams | None = None, snapshots: int = 8
) -> Path:
    """Save a figure of a swing-up trajectory ``(T, 4)``: poses over time (fading in) and x, theta curves."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    states = np.asarray(states, dtype=np.float64)
    if states.ndim != 2 or states.shape[1] != 4 or len(states) == 0:
        raise ValueError(f"states must have shape (T, 4), got {states.shape}")
    p = params or SwingUpParams()
    fig = Figure(figsize=(8, 6))
    FigureCanvasAgg(fig)
    top, bottom = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2)
    for k, i in enumerate(np.linspace(0, len(states) - 1, snapshots).astype(int)):
        draw_swingup(top, states[i], p, alpha=0.2 + 0.8 * (k + 1) / snapshots)
    t = np.arange(len(states)) * p.dt
    bottom.plot(t, states[:, 0], label="x (m)")
    bottom.plot(t, np.cos(states[:, 2]), label="cos theta (1 = up)")
    bottom.set_xlabel("time (s)")
    bottom.legend()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


class _Tape(gymnasium.Wrapper):
    """Keeps what a rollout summary needs: the episode's rewards and observations."""

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        self.rewards: list[float] = []
        self.observations: list[np.ndarray] = []

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.rewards, self.observations = [], [obs]
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.rewards.append(float(reward))
        self.observations.append(obs)
        return obs, reward, terminated, truncated, info


def rollout_main(args: argparse.Namespace) -> int:
    """``wann-ros rollout``: one episode recorded with :func:`record_rollout`, summary on stdout."""
    import wann_ros.sim  # noqa: F401  (registers the envs)
    from wann_ros.formats import load_policy

    if Path(args.out).suffix not in (".gif", ".mp4", ".png"):
        raise ValueError(f"--out must end in .gif, .mp4 or .png, not {args.out!r}")
    policy = load_policy(args.policy)
    policy.reset(args.seed)
    kwargs = {} if args.morphology is None else {"morphology": args.morphology}
    clock = gait_clock_hz(policy.spec.observation)
    if clock is not None:  # the env must feed the clock the policy was trained with (A1Env)
        kwargs["gait_clock_hz"] = clock
    try:
        env = _Tape(gymnasium.make(args.env, render_mode="rgb_array", disable_env_checker=True, **kwargs))
    except (gymnasium.error.Error, TypeError) as exc:
        raise ValueError(f"cannot make env {args.env!r}: {exc}") from None
    try:
        path = record_rollout(env, args.out, policy.act, args.steps, args.seed, args.every)
    finally:
        env.close()
    summary = {"out": str(path), "steps": len(env.rewards), "return": sum(env.rewards)}
    obs = np.asarray(env.observations)
    if args.env.startswith("wann_ros/CartPoleSwingUp"):  # observation [x, x_dot, cos, sin, theta_dot]
        summary["fraction_upright"] = float(np.mean(obs[:, 2] > 0.95))
        summary["mean_abs_x"] = float(np.mean(np.abs(obs[:, 0])))
    print(json.dumps(summary))
    return 0
