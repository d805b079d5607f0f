"""What the world needs to know to load and drive each quadruped: files, physics, control, feet.

Ant numbers replicate pybullet_envs' AntBulletEnv-v0 (gym_locomotion_envs.py, scene_stadium.py,
scene_abstract.py, robot_bases.py, robot_locomotors.py in the installed pybullet): gravity 9.8,
stepSimulation of 0.0165 s made of 4 substeps, 5 solver iterations, default contact ERP 0.9, the
``plane_stadium.sdf`` ground with lateral friction 0.8 and restitution 0.5, the MJCF loaded with self
collision (excluding parents), torque control with the default motors disabled, each joint reset to
U(-0.1, 0.1) rad.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wann_ros.sim import robot_specs as rs
from wann_ros.sim.models import a1_model, ant_model


@dataclass(frozen=True)
class RobotConfig:
    """A quadruped as the world drives it. ``control`` is "torque" (commands are N m) or "pd" (commands
    are joint position targets tracked by a PD loop at every physics substep with ``kp``/``kd``)."""

    name: str
    joint_names: tuple[str, ...]
    foot_links: tuple[str, ...]
    model: Callable[[tuple[tuple[str, float], ...]], Path]
    model_format: str  # "mjcf" | "urdf"
    control: str
    max_effort: tuple[float, ...]
    timestep: float  # one physics substep (s)
    substeps: int  # physics substeps per control step
    internal_substeps: bool  # let pybullet run the substeps inside one stepSimulation call
    gravity: float
    ground: str  # file in pybullet_data
    ground_friction: float
    ground_restitution: float | None
    spawn_pos: tuple[float, float, float]
    init_joint_noise: float  # each joint starts at default_pose + U(-noise, noise)
    default_pose: tuple[float, ...]
    fallen_z: float  # base below this height counts as fallen
    kp: tuple[float, ...] = ()
    kd: tuple[float, ...] = ()
    solver_iterations: int | None = None
    contact_erp: float | None = None
    self_collision: bool = False
    contacts_lag_one_step: bool = False  # pybullet_envs reads foot contacts after building the obs
    centroid_counts_ground: bool = False  # pybullet_envs averages part positions with the floor among them

    @property
    def control_period(self) -> float:
        return self.timestep * self.substeps

    @property
    def neutral_command(self) -> tuple[float, ...]:
        return self.default_pose if self.control == "pd" else (0.0,) * len(self.joint_names)


ANT = RobotConfig(
    name="ant",
    joint_names=rs.ANT_JOINTS,
    foot_links=rs.ANT_FEET,
    model=ant_model,
    model_format="mjcf",
    control="torque",
    max_effort=(rs.ANT_TORQUE_SCALE,) * len(rs.ANT_JOINTS),
    timestep=rs.ANT_CONTROL_PERIOD / 4,
    substeps=4,
    internal_substeps=True,
    gravity=9.8,
    ground="plane_stadium.sdf",
    ground_friction=0.8,
    ground_restitution=0.5,
    spawn_pos=(0.0, 0.0, rs.ANT_INITIAL_Z),
    init_joint_noise=0.1,
    default_pose=(0.0,) * len(rs.ANT_JOINTS),
    fallen_z=0.26,  # robot_locomotors.Ant.alive_bonus: the torso sphere (r = 0.25) scrapes the ground
    solver_iterations=5,
    contact_erp=0.9,
    self_collision=True,
    contacts_lag_one_step=True,
    centroid_counts_ground=True,
)

A1 = RobotConfig(
    name="a1",
    joint_names=rs.A1_JOINTS,
    foot_links=rs.A1_FEET,
    model=a1_model,
    model_format="urdf",
    control="pd",
    max_effort=rs.A1_EFFORT,
    timestep=0.002,
    substeps=10,
    internal_substeps=False,
    gravity=9.81,
    ground="plane.urdf",
    ground_friction=1.0,
    ground_restitution=None,
    spawn_pos=(0.0, 0.0, 0.29),
    init_joint_noise=0.05,
    default_pose=rs.A1_DEFAULT_POSE,
    fallen_z=0.15,
    kp=rs.A1_KP,
    kd=rs.A1_KD,
)

ROBOTS = {"ant": ANT, "a1": A1}
