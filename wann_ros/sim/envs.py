"""gymnasium envs: thin wrappers over :class:`QuadrupedWorld` and :class:`SwingUpBatch`.

Observations are made only by :func:`build_observation` from a :class:`RobotState`, and actions become
commands only through :meth:`ActionSpec.to_command`, so the ROS nodes see the same numbers.
An env is reusable across episodes: ``reset(seed=...)`` restores the saved world instead of rebuilding it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from wann_ros.policies.spec import all_finite
from wann_ros.sim import robot_specs as rs
from wann_ros.sim.damage import Damage, DamageError, parse_damage
from wann_ros.sim.int_range import draw_int, int_range
from wann_ros.sim.knobs import SimKnobs
from wann_ros.sim.observation import (
    RobotState,
    build_observation,
    compile_observation,
    observed_action,
    quat_to_rpy,
)
from wann_ros.sim.progress import EarlyStop, WalkProgress
from wann_ros.sim.swingup import SwingUpBatch, SwingUpParams
from wann_ros.sim.world import QuadrupedWorld

DamageLike = str | Damage | Mapping[str, Any] | None
StepLike = int | tuple[int, int]  # a policy step, or [low, high] drawn per episode
ScheduleEntry = tuple[StepLike, DamageLike]


def _morphology(morphology: DamageLike) -> Damage:
    """A morphology (preset, damage text, mapping or Damage) as a Damage; an unreadable one is refused."""
    try:
        return parse_damage(morphology)
    except DamageError as exc:
        raise DamageError(f"unknown morphology {morphology!r}: {exc}") from None


def _after_entry(current: Damage, entry: Damage) -> Damage:
    """The damage after a schedule entry: ``entry`` added to ``current``; an intact ``entry`` (``"standard"``)
    repairs everything."""
    return entry if entry == Damage() else current.merged(entry)


def split_midrun(morphology: DamageLike) -> tuple[DamageLike, list[ScheduleEntry]]:
    """``"right_front@300"``: start intact and take the damage before policy step 300;
    ``"right_front@200-600"``: at a step drawn per episode from [200, 600]. Others pass as they are."""
    if not (isinstance(morphology, str) and "@" in morphology):
        return morphology, []
    damage, _, when = morphology.partition("@")
    match = re.fullmatch(r"([0-9]+)(?:-([0-9]+))?", when)
    try:
        if match is None:
            raise ValueError(f"{when!r} is not STEP or LOW-HIGH in digits")
        steps = int_range((int(match[1]), int(match[2] or match[1])), "a damage step")
    except ValueError as exc:
        msg = f"morphology {morphology!r}: expected DAMAGE@STEP or DAMAGE@LOW-HIGH ({exc})"
        raise ValueError(msg) from None
    return "standard", [(steps, _morphology(damage))]


class _QuadrupedEnv(gym.Env):
    """Shared plumbing: world, specs, rendering, damage. ``gui=True`` opens pybullet's window."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        robot: str,
        obs_spec,
        act_spec,
        morphology: DamageLike,
        knobs: SimKnobs | None,
        damage_schedule: Sequence[ScheduleEntry],
        policy_steps: int,
        render_mode: str | None,
        gui: bool,
    ) -> None:
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None")
        self.render_mode = render_mode
        morphology, midrun = split_midrun(morphology)
        self.morphology = _morphology(morphology)
        self.obs_spec, self.act_spec = obs_spec, act_spec
        self._build = compile_observation(obs_spec)
        self.world = QuadrupedWorld(robot, self.morphology, knobs, gui=gui)
        self.schedule = self._read_schedule([*damage_schedule, *midrun], policy_steps)
        self.damage_steps = [low for (low, _high), _ in self.schedule]
        self.metadata = {**self.metadata, "render_fps": round(1.0 / self.world.control_period)}
        self.action_space = gym.spaces.Box(-1.0, 1.0, (act_spec.size,), np.float32)
        self.t = 0

    def _read_schedule(
        self, schedule: Sequence[ScheduleEntry], policy_steps: int
    ) -> list[tuple[tuple[int, int], Damage]]:
        """(step range, damage) pairs, checked now rather than when they fire: each damage against the
        robot's joints, each step against the episode's ``policy_steps`` (a later one would never fire)."""
        read = []
        for step, damage in schedule:
            low, high = int_range(step, "a damage step")
            if high >= policy_steps:
                raise ValueError(
                    f"damage step {step!r} is past the episode's last policy step {policy_steps - 1}"
                )
            read.append(((low, high), self.world.check_damage(damage)))
        return read

    def _obs(self) -> np.ndarray:
        return self._build(self.world.robot_state()).astype(np.float32)

    def _draw_damage_steps(self) -> None:
        """This episode's damage steps (a range draws one from ``np_random``; a fixed step draws nothing)."""
        self.damage_steps = [draw_int(self.np_random, lo, hi) for (lo, hi), _ in self.schedule]

    def _apply_scheduled_damage(self) -> None:
        for step, (_, damage) in zip(self.damage_steps, self.schedule, strict=True):
            if step == self.t:
                self.apply_damage(_after_entry(self.world.damage, damage))

    def apply_damage(self, damage: DamageLike) -> bool:
        """Make ``damage`` the robot's whole damage now, mid-episode (it replaces the current one; a schedule
        entry adds to it instead); returns True if the body was respawned."""
        return self.world.apply_damage(damage)

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self.world.render()
        return None

    def close(self) -> None:
        self.world.close()


class AntDamageEnv(_QuadrupedEnv):
    """pybullet Ant under the Hebbian paper's protocol (Najarro & Risi 2020) with AntBulletEnv-v0 physics.

    ``reset`` runs ``burn_in`` zero-action steps (they count towards ``max_steps``); the reward is the
    step's progress in paper units; the episode ends at ``max_steps`` env steps or, with ``early_stop``,
    by the paper's rule (which may fire after ``early_stop_grace`` policy steps; the paper's 200).
    ``info["distance"]`` = {"paper_units": ..., "metres": ...} since the burn-in.
    ``damage_schedule``: (policy step, damage) pairs applied before that step, mid-episode: each adds its
    damage to the robot's current one, and ``"standard"`` repairs everything. The step may be
    ``[low, high]``, drawn per episode (``damage_steps`` tells this episode's); it must come before the
    episode's last policy step. The morphology ``"right_front@200-600"`` is short for an intact start
    and that damage on such a schedule.
    ``fall_height``: the torso height (m) at or below which the robot counts as fallen; None is the
    Ant's own 0.26 (a higher one trains gaits that keep clearance, see docs/hebbian.md).
    """

    def __init__(
        self,
        morphology: DamageLike = "standard",
        knobs: SimKnobs | None = None,
        burn_in: int = rs.ANT_BURN_IN,
        max_steps: int = 1000,
        early_stop: bool = True,
        damage_schedule: Sequence[ScheduleEntry] = (),
        render_mode: str | None = None,
        gui: bool = False,
        early_stop_grace: int = EarlyStop.grace,
        fall_height: float | None = None,
    ) -> None:
        if early_stop_grace < 0:
            raise ValueError(f"early_stop_grace must be >= 0, got {early_stop_grace}")
        if fall_height is not None and not 0.0 < fall_height < 0.75:
            raise ValueError(f"fall_height must be in (0, 0.75) m, got {fall_height}")
        if not 0 <= burn_in < max_steps:
            raise ValueError(f"need 0 <= burn_in < max_steps, got burn_in={burn_in}, max_steps={max_steps}")
        super().__init__(
            "ant",
            rs.ant_observation_spec(),
            rs.ant_action_spec(),
            morphology,
            knobs,
            damage_schedule,
            max_steps - burn_in,
            render_mode,
            gui,
        )
        self.burn_in, self.max_steps, self.early_stop = burn_in, max_steps, early_stop
        self.observation_space = gym.spaces.Box(-rs.ANT_OBS_CLIP, rs.ANT_OBS_CLIP, (28,), np.float32)
        self.progress = WalkProgress(rs.ANT_TARGET_XY, self.world.control_period)
        self.stop_rule = EarlyStop(grace=early_stop_grace)
        self.fall_height = fall_height
        self._x0 = 0.0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.world.reset(self.np_random, damage=self.morphology)
        self._draw_damage_steps()
        zeros = np.zeros(self.act_spec.size)
        for _ in range(self.burn_in):
            self.world.step(self.act_spec.to_command(zeros), zeros)
        self.progress.reset(self.world.centroid_xy)
        self.stop_rule.reset()
        self.t = 0
        self._x0 = self.world.base_x
        return self._obs(), self._info(False)

    def apply_damage(self, damage: DamageLike) -> bool:
        respawned = self.world.apply_damage(damage)
        if respawned:
            self.progress.rebase(self.world.centroid_xy)
        return respawned

    def _info(self, fallen: bool) -> dict[str, Any]:
        metres = self.world.base_x - self._x0
        return {
            "distance": {"paper_units": self.progress.total, "metres": metres},
            "fallen": fallen,
            "steps": self.burn_in + self.t,
        }

    def step(self, action):
        self._apply_scheduled_damage()
        a = np.asarray(action, dtype=np.float64)
        self.world.step(self.act_spec.to_command(a), a)
        obs = self._obs()
        reward = self.progress.update(self.world.centroid_xy)
        down = self.world.fallen if self.fall_height is None else self.world.base_z <= self.fall_height
        fallen = down or not all_finite(obs)
        terminated = self.early_stop and self.stop_rule.update(self.t, reward, fallen)
        self.t += 1
        truncated = self.burn_in + self.t >= self.max_steps and not terminated
        return obs, reward, terminated, truncated, self._info(fallen)


class A1Env(_QuadrupedEnv):
    """Unitree A1 walking along +x with joint position (PD) control and proprioceptive observations.

    Reward per step: ``dx - 0.5 |dy| - 0.002 |a - a_prev|^2 + alive_bonus`` (base displacement in
    metres, network actions; the bonus, paid while the robot is up, makes standing worth more than
    diving forward, which a search finds first without it). Terminates when the base drops below
    0.15 m, |roll| or |pitch| exceeds 1 rad, or the observation is not finite. ``damage_schedule`` as
    for :class:`AntDamageEnv`. ``gait_clock_hz`` adds a gait clock to the observation
    (:func:`~wann_ros.sim.robot_specs.a1_observation_spec`).
    """

    def __init__(
        self,
        morphology: DamageLike = "standard",
        knobs: SimKnobs | None = None,
        max_steps: int = 1000,
        damage_schedule: Sequence[ScheduleEntry] = (),
        render_mode: str | None = None,
        gui: bool = False,
        alive_bonus: float = 0.002,
        gait_clock_hz: float | None = None,
    ) -> None:
        if not (math.isfinite(alive_bonus) and alive_bonus >= 0):
            raise ValueError(f"alive_bonus must be a finite number >= 0, got {alive_bonus!r}")
        super().__init__(
            "a1",
            rs.a1_observation_spec(gait_clock_hz),
            rs.a1_action_spec(),
            morphology,
            knobs,
            damage_schedule,
            max_steps,
            render_mode,
            gui,
        )
        self.max_steps = max_steps
        self.alive_bonus = float(alive_bonus)
        size = self.obs_spec.size
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), np.float32)
        self._prev_xy = np.zeros(2)
        self._x0 = 0.0
        self._prev_action = np.zeros(self.act_spec.size)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.world.reset(self.np_random, damage=self.morphology)
        self._draw_damage_steps()
        self.t = 0
        pos = self.world.ground_truth().base_pos
        self._prev_xy, self._x0 = pos[:2].copy(), float(pos[0])
        self._prev_action = np.zeros(self.act_spec.size)
        return self._obs(), self._info(False)

    def _info(self, fallen: bool) -> dict[str, Any]:
        return {
            "distance": {"metres": float(self.world.ground_truth().base_pos[0]) - self._x0},
            "fallen": fallen,
            "steps": self.t,
        }

    def step(self, action):
        self._apply_scheduled_damage()
        a = observed_action(action)
        self.world.step(self.act_spec.to_command(a), a)
        self.t += 1
        truth = self.world.ground_truth()
        dx, dy = truth.base_pos[:2] - self._prev_xy
        roll, pitch, _ = quat_to_rpy(truth.base_quat)
        obs = self._obs()
        fallen = self.world.fallen or abs(roll) > 1.0 or abs(pitch) > 1.0 or not all_finite(obs)
        smoothness = 0.002 * np.sum((a - self._prev_action) ** 2)
        reward = float(dx - 0.5 * abs(dy) - smoothness + (0.0 if fallen else self.alive_bonus))
        self._prev_xy, self._prev_action = truth.base_pos[:2].copy(), a
        truncated = self.t >= self.max_steps and not fallen
        return obs, reward, fallen, truncated, self._info(fallen)


class CartPoleSwingUpEnv(gym.Env):
    """The WANN paper's cart-pole swing-up (see :mod:`wann_ros.sim.swingup`), one cart."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 100}

    def __init__(self, params: SwingUpParams | None = None, render_mode: str | None = None) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError("render_mode must be 'rgb_array' or None")
        self.render_mode = render_mode
        self.batch = SwingUpBatch(1, params)
        self.obs_spec = rs.swingup_observation_spec()
        self.act_spec = rs.swingup_action_spec()
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (5,), np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def robot_state(self) -> RobotState:
        """The cart and pole as two joints, (cart position, pole angle), for the observation builder."""
        x, x_dot, theta, theta_dot = self.batch.state[0]
        return RobotState(rs.SWINGUP_JOINTS, np.array([x, theta]), np.array([x_dot, theta_dot]))

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.batch.reset([self.np_random])
        return build_observation(self.obs_spec, self.robot_state()), {}

    def step(self, action):
        a = np.asarray(action, dtype=np.float64).reshape(1)
        _, reward, done = self.batch.step(a)
        terminated = bool(self.batch.out_of_bounds[0])
        truncated = bool(done[0]) and not terminated
        return (
            build_observation(self.obs_spec, self.robot_state()),
            float(reward[0]),
            terminated,
            truncated,
            {},
        )

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        from wann_ros.sim.render import swingup_frame

        return swingup_frame(self.batch.state[0], self.batch.params)
