"""One control step of the controller node, ROS-free: sensors -> observation -> policy -> safe command.

``ControlLoop.step(now)`` decides, in this order: e-stop, inactive, stale inputs (watchdog), rejected
sensor values (hold the last command), then runs the policy, ramps it in after every safe command (soft
start) and passes the result through the ``SafetyGate``. A policy step that yields NaN/inf holds the last
command for up to ``input_timeout``, then sends the safe command; one that raises sends it at once. The
node only converts messages and calls this.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from wann_ros.nodes.safety import EStop, SafeCommand, SafetyGate, SoftStart, Watchdog
from wann_ros.nodes.sensors import SensorCache, SpecMismatchError, inputs_for
from wann_ros.policies.base import Policy
from wann_ros.policies.spec import all_finite
from wann_ros.sim.observation import compile_observation, observed_action, required_inputs


@dataclass
class LoopConfig:
    """Safety settings of a control loop (node parameters of the same names)."""

    safe_mode: str = "damping"
    safe_kd: float = 1.0
    soft_start: float = 1.0
    input_timeout: float = 0.25
    input_timeouts: dict[str, float] = field(default_factory=dict)


POLICY_ERROR = "policy error"  # the source of a step whose observation or policy raised


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
    """Runs a policy on a ``SensorCache`` with every safety rule applied; times are in seconds.

    ``estop`` is the node's: a latched e-stop outlives the loop (cleanup and configure make a new one).
    """

    def __init__(self, policy: Policy, config: LoopConfig, period: float, estop: EStop | None = None) -> None:
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
        self.estop = EStop() if estop is None else estop
        self.soft_start = SoftStart(config.soft_start)
        self.hold_timeout = config.input_timeout  # a failing policy's last command is held this long
        self.failing_since: float | None = None  # first of the consecutive non-finite policy steps
        self.needs_ramp = True  # set by every safe command; the next policy step starts the soft start
        self.active = False
        self.stats = LoopStats(period)
        self.prev_action = np.zeros(spec.action.size)
        self.policy_steps = 0  # the policy's clock (a gait_clock term) is policy_steps * period
        self.last_source = "inactive"
        # a plastic policy's weight update waits until the command is out (finish_step)
        self._act_kwargs = {"defer_update": True} if hasattr(policy, "finish_update") else {}

    def activate(self) -> None:
        """Let the policy drive; the first step ramps in from the safe command (soft start)."""
        self.active = True
        self.needs_ramp = True
        self.failing_since = None

    def deactivate(self) -> None:
        self.active = False

    def reset(self, seed: int | None) -> None:
        """New episode: the policy redraws its state (Hebbian weights); the previous action and the policy's
        clock go back to zero."""
        self.policy.reset(seed)
        self.prev_action = np.zeros(self.spec.action.size)
        self.policy_steps = 0

    def safe_command(self) -> np.ndarray:
        return self.safe(self.sensors.joint_pos, self.sensors.joint_vel)

    def check_policy(self) -> bool:
        """One observation and one policy step on the current sensor values, so that a policy that cannot
        run on this robot (e.g. a term of the wrong size) raises now rather than at its first tick. False
        (nothing checked) while a required input has no good value. The step may change the policy's
        state: ``reset`` it afterwards."""
        if any(self.sensors.count[k] == 0 for k in self.required):
            return False
        action = np.asarray(self.policy.act(self._observation()))
        if action.shape != (self.spec.action.size,):
            raise SpecMismatchError(
                f"the policy gives {action.shape} actions, its spec {self.spec.action.size} joints"
            )
        return True

    def step(self, now: float) -> StepResult:
        self.stats.tick(time.perf_counter())
        stale = self.watchdog.stale(now)
        bad = [k for k in self.required if self.sensors.bad[k]]
        if self.estop.engaged:
            result = self._safe(f"estop: {self.estop.reason}")
        elif not self.active:
            result = self._safe("inactive")
        elif stale:
            result = self._safe("stale: " + ", ".join(stale))
        elif bad:
            result = StepResult(self.gate.last, "rejected sensor values: " + ", ".join(bad))
        else:
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

    def _safe(self, source: str, inference_s: float = 0.0) -> StepResult:
        """The safe command; the policy ramps in again when it next takes over."""
        self.needs_ramp = True
        return StepResult(self.gate(self.safe_command()), source, inference_s)

    def _failed(self, now: float, why: str, inference_s: float = 0.0) -> StepResult:
        """A policy step without a usable action: hold the last command, the safe one once the failures
        have lasted longer than ``input_timeout``."""
        if self.failing_since is None:
            self.failing_since = now
        if now - self.failing_since > self.hold_timeout:
            return self._safe(f"{why} for > {self.hold_timeout:g} s: safe command", inference_s)
        return StepResult(self.gate.last, why, inference_s)

    def _observation(self) -> np.ndarray:
        # float32, as the gymnasium envs hand observations to policies in training
        state = self.sensors.robot_state(self.prev_action, self.policy_steps * self.period)
        return self.build_observation(state).astype(np.float32)

    def _run_policy(self, now: float) -> StepResult:
        if self.needs_ramp:  # coming back from a safe command: ramp in again
            self.soft_start.start(now)
            self.needs_ramp = False
        try:
            obs = self._observation()
            if not all_finite(obs):
                return self._failed(now, "non-finite observation")
            t0 = time.perf_counter()
            action = np.asarray(self.policy.act(obs, **self._act_kwargs), dtype=np.float64)
        except Exception as exc:  # a policy that cannot run must not stop the loop: the safe command
            return self._safe(f"{POLICY_ERROR}: {type(exc).__name__}: {exc}")
        dt = time.perf_counter() - t0
        self.stats.record_inference(dt)
        if action.shape != (self.spec.action.size,) or not all_finite(action):
            return self._failed(now, "non-finite policy action", dt)
        self.failing_since = None
        self.prev_action = observed_action(action)
        self.policy_steps += 1
        command = self.spec.action.to_command(action)
        ramp = self.soft_start.fraction(now) < 1.0
        if ramp:
            command = self.soft_start.blend(now, self.safe_command(), command)
        return StepResult(self.gate(command), "ramp" if ramp else "policy", dt)
