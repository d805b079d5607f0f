"""Observation and action layouts of each robot and task, numpy only (the ROS nodes import this).

Numbers come from the models pybullet ships (checked against them in tests/test_sim_specs.py):
Ant joint limits as pybullet reads them from ``mjcf/ant.xml``; A1 joint names, limits and efforts from
``a1/a1.urdf``; A1 PD gains and default pose from google-research/motion_imitation (``robots/a1.py``).
"""

from __future__ import annotations

import numpy as np

from wann_ros.policies.spec import ActionSpec, ObservationSpec, ObsTerm

# --- Ant (pybullet_data mjcf/ant.xml, as AntBulletEnv-v0 drives it) ----------------------------------
ANT_JOINTS = ("hip_1", "ankle_1", "hip_2", "ankle_2", "hip_3", "ankle_3", "hip_4", "ankle_4")
ANT_FEET = ("front_left_foot", "front_right_foot", "left_back_foot", "right_back_foot")  # pybullet_envs order
_HIP = 0.6981317400932312  # 40 degrees, as pybullet stores it
_ANK_LO, _ANK_HI = 0.5235987901687622, 1.7453292608261108  # 30 and 100 degrees
ANT_LOWER = (-_HIP, _ANK_LO, -_HIP, -_ANK_HI, -_HIP, -_ANK_HI, -_HIP, _ANK_LO)
ANT_UPPER = (_HIP, _ANK_HI, _HIP, -_ANK_LO, _HIP, -_ANK_LO, _HIP, _ANK_HI)
ANT_TORQUE_SCALE = 250.0  # power 2.5 (robot_locomotors.Ant) x power_coef 100 (robot_bases.XmlBasedRobot)
ANT_INITIAL_Z = 0.75  # torso height in ant.xml = the initial_z AntBulletEnv measures at reset
ANT_TARGET_XY = (1000.0, 0.0)  # WalkerBase.walk_target_x / _y: a kilometre along +x
ANT_CONTROL_PERIOD = 0.0165  # 4 substeps of 0.0165 / 4 s
ANT_OBS_CLIP = 5.0
ANT_BURN_IN = 40  # zero-action steps after a reset (the Hebbian paper's code), counted in the episode
# The Ant's mirror image through the x-z plane (y -> -y), as (index, sign) per entry: mirrored[k] =
# sign * v[index]. Legs swap sides (hip_1/ankle_1 at (+x, +y) <-> hip_4/ankle_4 at (+x, -y), hip_2 <->
# hip_3 at the back); hips turn about z, so their angles and torques change sign, while each ankle's axis
# mirrors onto minus its partner's, so ankles keep theirs. Checked against the physics in tests.
ANT_JOINT_MIRROR = ((6, -1), (7, 1), (4, -1), (5, 1), (2, -1), (3, 1), (0, -1), (1, 1))
_ANT_BODY_MIRROR = ((0, 1), (1, -1), (2, 1), (3, 1), (4, -1), (5, 1), (6, -1), (7, 1))  # sin, vy, roll flip
_ANT_FOOT_MIRROR = ((3, 1), (2, 1), (1, 1), (0, 1))

# --- Unitree A1 (pybullet_data a1/a1.urdf) -----------------------------------------------------------
A1_LEGS = ("FR", "FL", "RR", "RL")
A1_JOINTS = tuple(f"{leg}_{part}_joint" for leg in A1_LEGS for part in ("hip", "upper", "lower"))
A1_FEET = tuple(f"{leg}_toe" for leg in A1_LEGS)
A1_LOWER = (-0.802851455917, -1.0471975512, -2.69653369433) * 4
A1_UPPER = (0.802851455917, 4.18879020479, -0.916297857297) * 4
A1_EFFORT = (20.0, 55.0, 55.0) * 4  # URDF <limit effort>
A1_KP = (100.0, 100.0, 100.0) * 4  # motion_imitation a1.py: ABDUCTION/HIP/KNEE_P_GAIN
A1_KD = (1.0, 2.0, 2.0) * 4  # motion_imitation a1.py: ABDUCTION/HIP/KNEE_D_GAIN
A1_DEFAULT_POSE = (0.0, 0.9, -1.8) * 4  # motion_imitation a1.py: INIT_MOTOR_ANGLES
A1_ACTION_RANGE = (0.4, 0.8, 0.8) * 4  # network action +-1 moves a joint this far (rad) from the default pose
A1_CONTROL_PERIOD = 0.02  # 50 Hz policy, PD at 500 Hz

# --- Cart-pole swing-up and BipedalWalker ------------------------------------------------------------
SWINGUP_JOINTS = ("cart", "pole")
SWINGUP_CONTROL_PERIOD = 0.01
BIPEDAL_JOINTS = ("hip_1", "knee_1", "hip_2", "knee_2")
BIPEDAL_CONTROL_PERIOD = 1.0 / 50.0  # gymnasium BipedalWalker FPS


def ant_observation_spec() -> ObservationSpec:
    """AntBulletEnv-v0's 28 values: 8 body terms, 8 x (position, velocity) joint terms, 4 foot contacts."""
    return ObservationSpec(
        (
            ObsTerm(
                "walker_body",
                8,
                {
                    "initial_z": ANT_INITIAL_Z,
                    "target_xy": list(ANT_TARGET_XY),
                    "vel_scale": 0.3,
                    "clip": ANT_OBS_CLIP,
                },
            ),
            ObsTerm(
                "joint_pos_vel_interleaved",
                16,
                {
                    "joints": list(ANT_JOINTS),
                    "lower": list(ANT_LOWER),
                    "upper": list(ANT_UPPER),
                    "vel_scale": 0.1,
                    "clip": ANT_OBS_CLIP,
                },
            ),
            ObsTerm("foot_contacts", 4, {"feet": list(ANT_FEET), "clip": ANT_OBS_CLIP}),
        )
    )


def ant_action_spec() -> ActionSpec:
    """Torques 250 * clip(a, -1, 1) N m on the eight MJCF joints, in AntBulletEnv's order."""
    n = len(ANT_JOINTS)
    return ActionSpec(
        ANT_JOINTS,
        "effort",
        np.full(n, ANT_TORQUE_SCALE),
        np.zeros(n),
        np.full(n, -ANT_TORQUE_SCALE),
        np.full(n, ANT_TORQUE_SCALE),
    )


def ant_mirror() -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """The Ant's (observation, action) mirror maps, (index, sign) per entry, in the specs' order."""
    joints = tuple((8 + 2 * j + k, sign) for j, sign in ANT_JOINT_MIRROR for k in (0, 1))
    feet = tuple((24 + f, sign) for f, sign in _ANT_FOOT_MIRROR)
    return _ANT_BODY_MIRROR + joints + feet, ANT_JOINT_MIRROR


def a1_observation_spec(gait_clock_hz: float | None = None) -> ObservationSpec:
    """Proprioception only (42 values): gravity in the base frame, gyro, joint positions relative to the
    default pose, joint velocities, previous action. No base velocity: a real A1 does not measure it.
    With ``gait_clock_hz`` two more: the sine and cosine of a clock at that frequency (a gait phase)."""
    joints = list(A1_JOINTS)
    n = len(joints)
    clock = () if gait_clock_hz is None else (ObsTerm("gait_clock", 2, {"frequency_hz": gait_clock_hz}),)
    return ObservationSpec(
        (
            ObsTerm("gravity_body", 3),
            ObsTerm("base_ang_vel", 3, {"scale": 0.25}),
            ObsTerm("joint_pos", n, {"joints": joints, "offset": list(A1_DEFAULT_POSE), "scale": 1.0}),
            ObsTerm("joint_vel", n, {"joints": joints, "scale": 0.05}),
            ObsTerm("prev_action", n),
            *clock,
        )
    )


def gait_clock_hz(spec: ObservationSpec) -> float | None:
    """The frequency of ``spec``'s ``gait_clock`` term (what ``A1Env(gait_clock_hz=...)`` needs to feed a
    policy with this spec), None when it has none."""
    for term in spec.terms:
        if term.name == "gait_clock":
            return float(term.params["frequency_hz"])
    return None


def a1_action_spec() -> ActionSpec:
    """Joint position targets: default pose + range * clip(a, -1, 1), clamped to the URDF limits."""
    return ActionSpec(A1_JOINTS, "position", A1_ACTION_RANGE, A1_DEFAULT_POSE, A1_LOWER, A1_UPPER)


def swingup_observation_spec() -> ObservationSpec:
    """[x, x_dot, cos(theta), sin(theta), theta_dot] from the joints (cart, pole)."""
    return ObservationSpec((ObsTerm("swingup_state", 5, {"joints": list(SWINGUP_JOINTS)}),))


def swingup_action_spec() -> ActionSpec:
    """Cart force 10 * clip(a, -1, 1) N."""
    return ActionSpec(("cart",), "effort", [10.0], [0.0], [-10.0], [10.0])


def bipedal_observation_spec() -> ObservationSpec:
    """gymnasium BipedalWalker-v3's own 24 values (hull, joints, contacts, lidar), passed through."""
    return ObservationSpec((ObsTerm("raw", 24, {"source": "gymnasium BipedalWalker-v3"}),))


def bipedal_action_spec() -> ActionSpec:
    """BipedalWalker's four motor commands in [-1, 1]."""
    return ActionSpec(BIPEDAL_JOINTS, "effort", np.ones(4), np.zeros(4), -np.ones(4), np.ones(4))


# pybullet_envs averages 22 part positions for the Ant's walking progress: the torso, 20 links and the
# floor (fixed at the origin). A rigid move of the robot by 1 m along +x moves that mean by 21/22 m, which
# the potential divides by the control period. So 1 m of straight forward progress = 57.85 paper units.
ANT_PAPER_UNITS_PER_METRE = 21.0 / 22.0 / ANT_CONTROL_PERIOD
