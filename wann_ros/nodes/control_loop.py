"""One control step of the controller node, ROS-free: sensors -> observation -> policy -> safe command.

``ControlLoop.step(now)`` decides, in this order: e-stop, inactive, stale inputs (watchdog), rejected
sensor values (hold the last command), then runs the policy, ramps it in after activation (soft start)
and passes the result through the ``SafetyGate``. The node only converts messages and calls this.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from wann_ros.nodes.safety import EStop, SafeCommand, SafetyGate, SoftStart, Watchdog
from wann_ros.nodes.sensors import SensorCache, inputs_for
from wann_ros.policies.base import Policy
from wann_ros.policies.spec import all_finite
from wann_ros.sim.observation import compile_observation, required_inputs


@dataclass
class LoopConfig:
    """Safety settings of a control loop (node parameters of the same names)."""

    safe_mode: str = "damping"
    safe_kd: float = 1.0
    soft_start: float = 1.0
    input_timeout: float = 0.25
    input_timeouts: dict[str, float] = field(default_factory=dict)


@dataclass
class StepResult:
    command: tuple[float, ...]  # what the SafetyGate passed, in the policy's joint order
    source: str  # "policy", "ramp", or why the safe/held command was sent
    inference_s: float = 0.0


class LoopStats:
    """Tick intervals, overruns (a tick later than 1.5 periods after the previous one) and inference times."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.ticks = 0
        self.overruns = 0
        self.last_tick: float | None = None
        self.intervals: list[float] = []
        self.inference: list[float] = []
        self.inference_max = 0.0

    def tick(self, wall: float) -> None:
        if self.last_tick is not None:
            dt = wall - self.last_tick
            self.intervals.append(dt)
            if dt > 1.5 * self.period:
                self.overruns += 1
        self.last_tick = wall
        self.ticks += 1

    def record_inference(self, seconds: float) -> None:
        self.inference.append(seconds)
        self.inference_max = max(self.inference_max, seconds)

    def window(self) -> dict[str, float]:
        """Summary since the last call (rate in Hz, mean/max inference in ms); resets the window."""
        iv, inf = self.intervals, self.inference
        out = {
            "rate_hz": (1.0 / float(np.mean(iv))) if iv else 0.0,
            "interval_max_ms": 1e3 * max(iv) if iv else 0.0,
            "inference_mean_ms": 1e3 * float(np.mean(inf)) if inf else 0.0,
            "inference_max_ms": 1e3 * max(inf) if inf else 0.0,
        }
        self.intervals, self.inference = [], []
        return out


class ControlLoop:
    """Runs a policy on a ``SensorCache`` with every safety rule applied; times are in seconds."""

    def __init__(self, policy: Policy, config: LoopConfig, period: float) -> None:
        spec = policy.spec
        self.policy = policy
        self.spec = spec
        self.period = period
        self.required = inputs_for(required_inputs(spec.observation))
        self.build_observation = compile_observation(spec.observation)  # the shared builder, validated once
        self.sensors = SensorCache(spec.action.joint_names)
        timeouts = {name: config.input_timeouts.get(name, config.input_timeout) for name in self.required}
        self.watchdog = Watchdog(timeouts)
        self.safe = SafeCommand(spec.action, config.safe_mode, config.safe_kd)
        self.gate = SafetyGate(spec.action, self.safe(None, None))
        self.estop = EStop()
        self.soft_start = SoftStart(config.soft_start)
        self.active = False
        self.stats = LoopStats(period)
        self.prev_action = np.zeros(spec.action.size)
        self.last_source = "inactive"
        # a plastic policy's weight update waits until the command is out (finish_step)
        self._act_kwargs = {"defer_update": True} if hasattr(policy, "finish_update") else {}

    def activate(self) -> None:
        """Let the policy drive; the first step ramps in from the safe command (soft start)."""
        self.active = True

    def deactivate(self) -> None:
        self.active = False

    def reset(self, seed: int | None) -> None:
        """New episode: the policy redraws its state (Hebbian weights) and the previous action is zeroed."""
        self.policy.reset(seed)
        self.prev_action = np.zeros(self.spec.action.size)

    def safe_command(self) -> np.ndarray:
        return self.safe(self.sensors.joint_pos, self.sensors.joint_vel)

    def step(self, now: float) -> StepResult:
        self.stats.tick(time.perf_counter())
        stale = self.watchdog.stale(now)
        bad = [k for k in self.required if self.sensors.bad[k]]
        if self.estop.engaged:
            result = StepResult(self.gate(self.safe_command()), f"estop: {self.estop.reason}")
        elif not self.active:
            result = StepResult(self.gate(self.safe_command()), "inactive")
        elif stale:
            result = StepResult(self.gate(self.safe_command()), "stale: " + ", ".join(stale))
        elif bad:
            result = StepResult(self.gate.last, "rejected sensor values: " + ", ".join(bad))
        else:
            if self.last_source not in ("policy", "ramp") and not self.last_source.startswith("rejected"):
                self.soft_start.start(now)  # coming back from a safe command: ramp in again
            result = self._run_policy(now)
        if result.source == "policy":
            self.safe.release()
        self.last_source = result.source
        return result

    def finish_step(self) -> None:
        """After the command went out: the work that only matters for the next step (a plastic policy's
        weight update; the next ``step`` would do it anyway)."""
        if self._act_kwargs:
            self.policy.finish_update()

    def _run_policy(self, now: float) -> StepResult:
        # float32, as the gymnasium envs hand observations to policies in training
        obs = self.build_observation(self.sensors.robot_state(self.prev_action)).astype(np.float32)
        if not all_finite(obs):
            return StepResult(self.gate.last, "non-finite observation")
        t0 = time.perf_counter()
        action = np.asarray(self.policy.act(obs, **self._act_kwargs), dtype=np.float64)
        dt = time.perf_counter() - t0
        self.stats.record_inference(dt)
        if action.shape != (self.spec.action.size,) or not all_finite(action):
            return StepResult(self.gate.last, "non-finite policy action", dt)
        self.prev_action = action
        command = self.spec.action.to_command(action)
        ramp = self.soft_start.fraction(now) < 1.0
        if ramp:
            command = self.soft_start.blend(now, self.safe_command(), command)
        return StepResult(self.gate(command), "ramp" if ramp else "policy", dt)
