"""The one observation builder (DESIGN.md contract 2), numpy only.

``build_observation(spec, state)`` turns a :class:`RobotState` into the policy's observation vector,
term by term, following ``spec.terms``. The gymnasium envs, the ROS controller node and hardware
drivers all fill a ``RobotState`` and call this one function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RobotState:
    """What a robot's sensors say at one instant. Fields a robot lacks stay ``None``.

    Frames: ``base_pos`` and ``base_lin_vel`` in the world frame (odometry); ``base_quat`` is the
    base orientation in the world frame as (x, y, z, w) (IMU / odometry); ``base_ang_vel`` in the base
    frame (IMU gyro). Joint arrays follow ``joint_names``.
    """

    joint_names: tuple[str, ...]
    joint_pos: np.ndarray
    joint_vel: np.ndarray
    base_pos: np.ndarray | None = None
    base_quat: np.ndarray | None = None
    base_lin_vel: np.ndarray | None = None
    base_ang_vel: np.ndarray | None = None
    foot_contacts: np.ndarray | None = None
    prev_action: np.ndarray | None = None
