"""QuadrupedWorld: one pybullet world with one quadruped, shared by the gymnasium envs and the ROS sim node.

Commands go in by joint name (or as an array in ``joint_names`` order); state comes out as a
:class:`RobotState` (what the robot's sensors say, with sensor noise if the knobs ask for it) plus
ground truth (base pose and velocity, foot contacts). Damage can be applied at any time: a changed
morphology respawns the body with the old base pose, velocities and joint states, and nothing else
(step counter, time, episode bookkeeping outside the world) is reset.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pybullet as pb

from wann_ros.policies.spec import all_finite
from wann_ros.sim.damage import Damage, DamageError, parse_damage
from wann_ros.sim.int_range import draw_int
from wann_ros.sim.knobs import SimKnobs
from wann_ros.sim.models import pybullet_data_path
from wann_ros.sim.observation import RobotState, quat_to_matrix, rotate
from wann_ros.sim.robots import ROBOTS, RobotConfig

_LOCK_FORCE = 1.0e4  # N m: a locked joint's holding motor


@dataclass
class GroundTruth:
    """What only a simulator knows exactly: base pose and velocity in the world frame, foot contacts now."""

    base_pos: np.ndarray
    base_quat: np.ndarray
    base_lin_vel: np.ndarray
    base_ang_vel: np.ndarray
    foot_contacts: np.ndarray


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _small_rotation(rng: np.random.Generator, std: float) -> np.ndarray:
    """Quaternion (x, y, z, w) of a random rotation vector with per-axis std ``std`` (rad)."""
    v = rng.normal(0.0, std, 3)
    angle = float(np.linalg.norm(v))
    if angle < 1e-12:
        return np.array([0.0, 0.0, 0.0, 1.0])
    return np.concatenate([np.sin(angle / 2) * v / angle, [np.cos(angle / 2)]])


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ]
    )


class QuadrupedWorld:
    """A pybullet world (DIRECT, or GUI with ``gui=True``) with a ground plane and one quadruped.

    ``robot``: "ant" | "a1" | a :class:`RobotConfig`. ``damage``: anything :func:`parse_damage` reads.
    ``knobs``: :class:`SimKnobs` (all off by default).
    """

    def __init__(
        self,
        robot: str | RobotConfig = "ant",
        damage: str | Damage | Mapping | None = None,
        knobs: SimKnobs | None = None,
        gui: bool = False,
    ) -> None:
        if isinstance(robot, str):
            if robot not in ROBOTS:
                raise ValueError(f"unknown robot {robot!r}; known robots: {sorted(ROBOTS)}")
            robot = ROBOTS[robot]
        self.config = robot
        self.knobs = knobs or SimKnobs()
        self.joint_names = robot.joint_names
        self.foot_names = robot.foot_links
        self.control_period = robot.control_period
        self.damage = self.check_damage(damage)
        self._client = pb.connect(pb.GUI if gui else pb.DIRECT)
        if self._client < 0:
            raise RuntimeError("pybullet could not connect (GUI needs a display)")
        self._c = {"physicsClientId": self._client}
        self._setup_physics()
        self._body = -1
        self._loaded_morphology: tuple | None = None
        self._saved_state = -1
        self._load_robot(self.damage.morphology)
        self.step_count = 0
        self.sim_time = 0.0
        self._n = len(self.joint_names)
        self._effort = [float(e) for e in robot.max_effort]
        self._kp, self._kd = np.asarray(robot.kp, dtype=np.float64), np.asarray(robot.kd, dtype=np.float64)
        self._strength = np.ones(self._n)
        self._knob_strength = np.ones(self._n)
        self._knob_rng = np.random.default_rng(0)
        self._pending: collections.deque[np.ndarray] = collections.deque()
        self._contacts_now = self._contacts_obs = (0.0,) * len(self.foot_names)
        self._prev_action: np.ndarray | None = None
        self.reset(0)

    # ----------------------------------------------------------------------------------------- setup
    def check_damage(self, damage: str | Damage | Mapping | None) -> Damage:
        """``damage`` read by :func:`parse_damage` and checked against this robot's joints (DamageError)."""
        damage = parse_damage(damage)
        unknown = damage.joints() - set(self.joint_names)
        if unknown:
            raise DamageError(
                f"{self.config.name} has no joint(s) {sorted(unknown)}; joints: {self.joint_names}"
            )
        return damage

    def _setup_physics(self) -> None:
        cfg, c = self.config, self._c
        pb.setPhysicsEngineParameter(deterministicOverlappingPairs=1, **c)
        pb.setGravity(0, 0, -cfg.gravity, **c)
        if cfg.contact_erp is not None:
            pb.setDefaultContactERP(cfg.contact_erp, **c)
        params = {"fixedTimeStep": cfg.control_period if cfg.internal_substeps else cfg.timestep}
        params["numSubSteps"] = cfg.substeps if cfg.internal_substeps else 0
        if cfg.solver_iterations is not None:
            params["numSolverIterations"] = cfg.solver_iterations
        pb.setPhysicsEngineParameter(**params, **c)
        path = str(pybullet_data_path() / cfg.ground)
        grounds = pb.loadSDF(path, **c) if path.endswith(".sdf") else (pb.loadURDF(path, **c),)
        self._ground = grounds[0]
        self._set_ground_friction(cfg.ground_friction)
        if cfg.ground_restitution is not None:
            pb.changeDynamics(self._ground, -1, restitution=cfg.ground_restitution, **c)

    def _set_ground_friction(self, friction: float) -> None:
        pb.changeDynamics(self._ground, -1, lateralFriction=friction, **self._c)

    def _load_robot(self, morphology: tuple) -> None:
        """(Re)load the robot body for ``morphology`` at the spawn pose and index its joints and links."""
        cfg, c = self.config, self._c
        if self._body >= 0:
            pb.removeBody(self._body, **c)
        path = str(cfg.model(morphology))
        if cfg.model_format == "mjcf":
            flags = pb.URDF_GOOGLEY_UNDEFINED_COLORS
            if cfg.self_collision:
                flags |= pb.URDF_USE_SELF_COLLISION | pb.URDF_USE_SELF_COLLISION_EXCLUDE_ALL_PARENTS
            self._body = pb.loadMJCF(path, flags=flags, **c)[0]
        else:
            flags = pb.URDF_USE_INERTIA_FROM_FILE | (pb.URDF_USE_SELF_COLLISION if cfg.self_collision else 0)
            self._body = pb.loadURDF(path, cfg.spawn_pos, flags=flags, **c)
        self._loaded_morphology = morphology
        joints, links = {}, {}
        n_links = pb.getNumJoints(self._body, **c)
        for j in range(n_links):
            info = pb.getJointInfo(self._body, j, **c)
            joints[info[1].decode()] = j
            links[info[12].decode()] = j
        missing = [n for n in (*cfg.joint_names, *cfg.foot_links) if n not in joints and n not in links]
        if missing:
            raise RuntimeError(f"{path} lacks joints/links {missing}")
        self._jidx = [joints[n] for n in cfg.joint_names]
        self._foot_idx = [links[n] for n in cfg.foot_links]
        self._all_links = list(range(n_links))
        dynamics = [pb.getDynamicsInfo(self._body, i, **c) for i in range(-1, n_links)]
        self._masses = [d[0] for d in dynamics]
        self._inertia = [d[2] for d in dynamics]  # local inertia diagonals (the URDF's, for the A1)
        self._disable_motors()

    def _disable_motors(self) -> None:
        """Free every joint for torque control (pybullet's default velocity motors off)."""
        n = len(self._all_links)
        pb.setJointMotorControlArray(
            self._body,
            self._all_links,
            pb.POSITION_CONTROL,
            targetPositions=[0.0] * n,
            targetVelocities=[0.0] * n,
            positionGains=[0.1] * n,
            velocityGains=[0.1] * n,
            forces=[0.0] * n,
            **self._c,
        )

    def _apply_joint_damage(self) -> None:
        """Lock the damaged joints where they are now; the rest stay free. Sets motor strength."""
        self._disable_motors()
        self._locked = np.array([n in self.damage.locked for n in self.joint_names])
        strength = dict(self.damage.strength)
        self._strength = np.array([strength.get(n, 1.0) for n in self.joint_names])
        self._free = ~self._locked
        self._all_free = bool(self._free.all())
        self._free_idx = [j for j, lk in zip(self._jidx, self._locked, strict=True) if not lk]
        self._gain = (self._strength * self._knob_strength).tolist()
        locked_idx = [j for j, lk in zip(self._jidx, self._locked, strict=True) if lk]
        if locked_idx:
            pos = [s[0] for s in pb.getJointStates(self._body, locked_idx, **self._c)]
            pb.setJointMotorControlArray(
                self._body,
                locked_idx,
                pb.POSITION_CONTROL,
                targetPositions=pos,
                targetVelocities=[0.0] * len(pos),
                forces=[_LOCK_FORCE] * len(pos),
                **self._c,
            )

    # ------------------------------------------------------------------------------------- episodes
    def reset(
        self,
        seed: int | np.random.Generator | None = None,
        damage: str | Damage | Mapping | None = None,
    ) -> RobotState:
        """Start an episode: body at the spawn pose, joints at the default pose + U(-noise, noise) drawn
        from ``seed``; ``damage`` (if given) replaces the current damage, else the current one stays."""
        rng = _rng(seed)
        cfg, c = self.config, self._c
        if damage is not None:
            self.damage = self.check_damage(damage)
        if self._loaded_morphology != self.damage.morphology or self._saved_state < 0:
            self._load_robot(self.damage.morphology)
            if self._saved_state >= 0:
                pb.removeState(self._saved_state, **c)
            if cfg.model_format == "urdf":
                pb.resetBasePositionAndOrientation(self._body, cfg.spawn_pos, (0, 0, 0, 1), **c)
            self._saved_state = pb.saveState(**c)
        else:
            pb.restoreState(self._saved_state, **c)
        spread = self.knobs.spawn_joint_noise or cfg.init_joint_noise
        for j, q0 in zip(self._jidx, cfg.default_pose, strict=True):
            noise = rng.uniform(low=-spread, high=spread)
            pb.resetJointState(self._body, j, q0 + noise, 0.0, **c)
        self._apply_joint_damage()
        self._knob_strength = np.ones(self._n)
        self._mass_factors = np.ones(len(self._masses))
        latency = self.knobs.latency_range[0]
        if self.knobs.active:
            self._knob_rng = np.random.default_rng(rng.integers(2**63))
            if self.knobs.randomises_episode:
                self._randomise_physics()
            if self.knobs.spawn_yaw is not None:
                self._turn_start()
            latency = draw_int(self._knob_rng, *self.knobs.latency_range)
        self._pending = collections.deque([np.asarray(cfg.neutral_command, dtype=np.float64)] * latency)
        self.step_count = 0
        self.sim_time = 0.0
        self._prev_action = None
        self._contacts_now = (0.0,) * len(self.foot_names)
        if not cfg.contacts_lag_one_step:
            self._contacts_now = self._read_contacts()
        self._contacts_obs = self._contacts_now
        self._read()
        return self.robot_state()

    def _randomise_physics(self) -> None:
        k, rng = self.knobs, self._knob_rng
        friction = self.config.ground_friction
        if k.ground_friction is not None:
            friction = rng.uniform(*k.ground_friction)
        self._set_ground_friction(friction)
        if k.mass_scale is not None:
            self._mass_factors = rng.uniform(*k.mass_scale, size=len(self._masses))
            self._scale_masses()
        if k.motor_strength is not None:
            self._knob_strength = rng.uniform(*k.motor_strength, size=self._n)
            self._gain = (self._strength * self._knob_strength).tolist()
        if k.gravity_tilt is not None:
            tilt = rng.uniform(*k.gravity_tilt)
            heading = rng.uniform(*(k.gravity_heading or (0.0, 2 * np.pi)))
            g = self.config.gravity
            lean = g * np.sin(tilt)
            pb.setGravity(lean * np.cos(heading), lean * np.sin(heading), -g * np.cos(tilt), **self._c)

    def _turn_start(self) -> None:
        """Turn the body about z by a yaw drawn from ``knobs.spawn_yaw``."""
        pos, quat = pb.getBasePositionAndOrientation(self._body, **self._c)
        turn = pb.getQuaternionFromEuler((0.0, 0.0, self._knob_rng.uniform(*self.knobs.spawn_yaw)))
        pb.resetBasePositionAndOrientation(
            self._body, pos, pb.multiplyTransforms((0, 0, 0), turn, (0, 0, 0), quat)[1], **self._c
        )

    def _scale_masses(self) -> None:
        """Each link's loaded mass and inertia times its factor (a mass alone would make pybullet recompute
        the inertia from the collision shapes, replacing the URDF's)."""
        links = zip(
            range(-1, len(self._all_links)), self._masses, self._inertia, self._mass_factors, strict=True
        )
        for link, m, inertia, f in links:
            diagonal = [i * f for i in inertia]
            pb.changeDynamics(self._body, link, mass=m * f, localInertiaDiagonal=diagonal, **self._c)

    # ---------------------------------------------------------------------------------------- damage
    def apply_damage(self, damage: str | Damage | Mapping | None) -> bool:
        """Switch to ``damage`` now, without resetting anything. Returns True if the body was respawned
        (a changed morphology); the new body takes over base pose, velocities and joint states."""
        new = self.check_damage(damage)
        respawn = new.morphology != self._loaded_morphology
        self.damage = new
        if respawn:
            c = self._c
            pos, quat = pb.getBasePositionAndOrientation(self._body, **c)
            lin, ang = pb.getBaseVelocity(self._body, **c)
            joints = pb.getJointStates(self._body, self._all_links, **c)
            self._load_robot(new.morphology)
            pb.resetBasePositionAndOrientation(self._body, pos, quat, **c)
            pb.resetBaseVelocity(self._body, lin, ang, **c)
            for j, s in zip(self._all_links, joints, strict=True):
                pb.resetJointState(self._body, j, s[0], s[1], **c)
            if self.knobs.mass_scale is not None:
                self._scale_masses()  # keep this episode's randomised mass factors
            self._saved_state_stale()
        self._apply_joint_damage()
        self._read()
        return respawn

    def _saved_state_stale(self) -> None:
        if self._saved_state >= 0:
            pb.removeState(self._saved_state, **self._c)
        self._saved_state = -1

    # ------------------------------------------------------------------------------------------ step
    def command_array(self, command: Mapping[str, float] | np.ndarray) -> np.ndarray:
        """A command by joint name (all joints required) or an array in ``joint_names`` order, checked."""
        if type(command) is np.ndarray and command.dtype == np.float64 and command.shape == (self._n,):
            if not all_finite(command):
                raise ValueError(f"command contains NaN or inf: {command}")
            return command
        if isinstance(command, Mapping):
            unknown = set(command) - set(self.joint_names)
            missing = [n for n in self.joint_names if n not in command]
            if unknown or missing:
                raise ValueError(
                    f"command joints do not match the robot: unknown {sorted(unknown)}, missing {missing}"
                )
            cmd = np.array([float(command[n]) for n in self.joint_names])
        else:
            cmd = np.asarray(command, dtype=np.float64)
            if cmd.shape != (self._n,):
                raise ValueError(
                    f"command needs {self._n} values ({self.joint_names}), got shape {cmd.shape}"
                )
        if not np.all(np.isfinite(cmd)):
            raise ValueError(f"command contains NaN or inf: {cmd}")
        return cmd

    def step(self, command: Mapping[str, float] | np.ndarray, action: np.ndarray | None = None) -> None:
        """Advance one control period. ``command``: torques (N m) for torque-controlled robots, joint
        position targets (rad) for PD-controlled ones. ``action`` (optional) is remembered as the
        network action behind it, reported as ``RobotState.prev_action``."""
        cmd = self.command_array(command)
        if self._pending:
            self._pending.append(cmd.copy())  # the caller may reuse its array before this one acts
            cmd = self._pending.popleft()
        cfg, c, body = self.config, self._c, self._body
        push = self._push_force()
        if cfg.control == "torque":
            self._apply_torques(cmd)
            if push is not None:
                pb.applyExternalForce(body, -1, push, (0, 0, 0), pb.LINK_FRAME, **c)
            pb.stepSimulation(**c)
        else:
            kp, kd = self._kp, self._kd
            for _ in range(cfg.substeps):
                states = pb.getJointStates(body, self._jidx, **c)
                q = np.array([s[0] for s in states])
                qd = np.array([s[1] for s in states])
                self._apply_torques(kp * (cmd - q) - kd * qd)
                if push is not None:
                    pos, quat = pb.getBasePositionAndOrientation(body, **c)
                    world_push = quat_to_matrix(np.asarray(quat)) @ push
                    pb.applyExternalForce(body, -1, world_push, pos, pb.WORLD_FRAME, **c)
                pb.stepSimulation(**c)
        self.step_count += 1
        self.sim_time += self.control_period
        self._prev_action = None if action is None else np.array(action, dtype=np.float64)
        self._contacts_obs = self._contacts_now if cfg.contacts_lag_one_step else None
        self._contacts_now = self._read_contacts()
        if self._contacts_obs is None:
            self._contacts_obs = self._contacts_now
        self._read()

    def _apply_torques(self, torque: np.ndarray) -> None:
        """Torques clamped to each joint's max effort and scaled by its motor strength, on the joints
        that are not locked (locked ones keep their holding motor). Scalar arithmetic: eight to twelve
        joints per physics step, where numpy calls cost more than the arithmetic."""
        forces = [
            (-e if t < -e else e if t > e else t) * g
            for t, e, g in zip(torque.tolist(), self._effort, self._gain, strict=True)
        ]
        if not self._all_free:
            forces = [f for f, free in zip(forces, self._free, strict=True) if free]
            if not forces:
                return
        pb.setJointMotorControlArray(self._body, self._free_idx, pb.TORQUE_CONTROL, forces=forces, **self._c)

    def _push_force(self) -> np.ndarray | None:
        """A horizontal push (base frame, N) this step, or None."""
        k = self.knobs
        if k.push_force <= 0 or self.step_count == 0 or self.step_count % k.push_interval:
            return None
        angle = self._knob_rng.uniform(0, 2 * np.pi)
        return np.array([np.cos(angle), np.sin(angle), 0.0]) * k.push_force

    # ---------------------------------------------------------------------------------------- state
    def _read_contacts(self) -> tuple[float, ...]:
        touching = {pt[3] for pt in pb.getContactPoints(self._body, self._ground, **self._c)}
        return tuple([1.0 if i in touching else 0.0 for i in self._foot_idx])

    def _read(self) -> None:
        """Cache this control step's state (called once per step: this is the env's hot path)."""
        c, body = self._c, self._body
        states = pb.getJointStates(body, self._jidx, **c)
        # tuples, not arrays: numpy arrays for these few values cost about 25 us per step in the stepping
        # loop (cold after the physics step), more than everything that reads them (paired A/B runs of
        # bench/bench_sim.py's `ours` loop, see docs/simulation.md)
        self._q, self._qd = tuple([s[0] for s in states]), tuple([s[1] for s in states])
        self._pos, self._quat = pb.getBasePositionAndOrientation(body, **c)
        self._lin, self._ang = pb.getBaseVelocity(body, **c)
        self._ang_body = rotate(self._quat, self._ang, inverse=True)
        if self.config.centroid_counts_ground:
            sx, sy = self._pos[0], self._pos[1]
            for link in pb.getLinkStates(body, self._all_links, **c):
                x, y, _ = link[0]
                sx += x
                sy += y
            n = len(self._all_links) + 2  # base + links + the ground plane at the origin
            self._centroid = (sx / n, sy / n)
        else:
            self._centroid = None

    def robot_state(self, noisy: bool = True) -> RobotState:
        """The robot's sensor readings now (with the knobs' sensor noise unless ``noisy=False``).
        Its vectors are tuples (arrays where sensor noise is added), fresh each control step: callers may
        keep them."""
        q, qd, quat, ang_body = self._q, self._qd, self._quat, self._ang_body
        k = self.knobs
        if noisy and k.noisy:
            rng = self._knob_rng
            q = q + rng.normal(0.0, k.joint_pos_noise, self._n) if k.joint_pos_noise else q
            qd = qd + rng.normal(0.0, k.joint_vel_noise, self._n) if k.joint_vel_noise else qd
            if k.imu_noise:
                ang_body = ang_body + rng.normal(0.0, k.imu_noise, 3)
                quat = _quat_mul(quat, _small_rotation(rng, k.imu_noise))
        return RobotState(
            joint_names=self.joint_names,
            joint_pos=q,
            joint_vel=qd,
            base_pos=self._pos,
            base_quat=quat,
            base_lin_vel=self._lin,
            base_ang_vel=ang_body,
            foot_contacts=self._contacts_obs,
            prev_action=self._prev_action,
            clock=self.step_count * self.control_period,
            centroid_xy=self._centroid,
        )

    @property
    def latency_steps(self) -> int:
        """Control steps by which this episode's commands act late (drawn at reset from a range)."""
        return len(self._pending)

    @property
    def centroid_xy(self) -> tuple[float, float] | None:
        """The planar centroid pybullet_envs measures walking progress on (Ant), else None."""
        return self._centroid

    def ground_truth(self) -> GroundTruth:
        """Exact base pose and velocity (world frame) and the feet touching the ground now."""
        return GroundTruth(
            np.array(self._pos),
            np.array(self._quat),
            np.array(self._lin),
            np.array(self._ang),
            np.array(self._read_contacts()),
        )

    @property
    def base_x(self) -> float:
        """The base's exact x position (world frame, m)."""
        return float(self._pos[0])

    @property
    def base_z(self) -> float:
        """The base's exact height (world frame, m)."""
        return float(self._pos[2])

    @property
    def fallen(self) -> bool:
        """The base is below the robot's fallen height."""
        return bool(self._pos[2] <= self.config.fallen_z)

    # -------------------------------------------------------------------------------------- viewing
    def render(
        self,
        width: int = 160,
        height: int = 120,
        distance: float = 2.5,
        yaw: float = 30.0,
        pitch: float = -25.0,
    ) -> np.ndarray:
        """An RGB frame (height, width, 3) from pybullet's TinyRenderer, looking at the base."""
        c = self._c
        view = pb.computeViewMatrixFromYawPitchRoll(list(self._pos), distance, yaw, pitch, 0, 2, **c)
        proj = pb.computeProjectionMatrixFOV(60, width / height, 0.05, 50.0, **c)
        _, _, rgba, _, _ = pb.getCameraImage(width, height, view, proj, renderer=pb.ER_TINY_RENDERER, **c)
        return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3]

    def close(self) -> None:
        """Disconnect from pybullet (idempotent)."""
        if self._client >= 0:
            pb.disconnect(**self._c)
            self._client = -1

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
