"""Simulator + controller (+ optional rosbag2 recorder) for a quadruped policy.

    ros2 launch wann_ros quadruped.launch.py damage:=left_front damage_time:=10
    ros2 launch wann_ros quadruped.launch.py policy:=/path/to/policy.wrp robot:=ant

Arguments: robot (ant | a1; picks config/<robot>.yaml), policy (empty, the default: the robot's shipped
policy in models/, as wann_ros/shipped.py lists them), damage, damage_time (sim seconds),
gui, use_sim_time, rate (the controller's, Hz, 0 = the policy's; the simulator steps at the robot's control
period), lockstep, trigger, record, bag (output directory), seed, knobs (sim-to-real knobs for the
simulator, a YAML mapping: knobs:="{latency_steps: 2, gravity_tilt: 0.1}"). Numbers may be written as
integers (damage_time:=10, rate:=50). A bad damage stops the simulator at start-up (exit code 2).
"""

import os

from launch.actions import DeclareLaunchArgument, LogInfo, Shutdown
from launch.conditions import IfCondition
from launch.launch_context import LaunchContext
from launch.substitution import Substitution
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from launch import LaunchDescription
from wann_ros.shipped import SHIPPED_POLICIES

SHARE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # share/wann_ros or the source tree
CONFIG_DIR = os.path.join(SHARE_DIR, "config")
SHIPPED_PATHS = {robot: os.path.join(SHARE_DIR, "models", name) for robot, name in SHIPPED_POLICIES.items()}


class PolicyFile(Substitution):
    """The `policy` argument, or when it is empty the robot's shipped file ("" for a robot without one,
    which the controller refuses with its reason)."""

    def describe(self) -> str:
        return "policy, or the shipped file of robot"

    def perform(self, context: LaunchContext) -> str:
        policy = LaunchConfiguration("policy").perform(context)
        return policy or SHIPPED_PATHS.get(LaunchConfiguration("robot").perform(context), "")


ARGUMENTS = (
    ("robot", "ant", "robot model: ant or a1 (selects config/<robot>.yaml)"),
    (
        "policy",
        "",
        "policy file (native, .chroma or ONNX; the format is read from the content); empty: the robot's "
        f"shipped one in models/ ({', '.join(f'{r}: {n}' for r, n in SHIPPED_POLICIES.items())})",
    ),
    ("damage", "standard", "damage applied at damage_time, e.g. left_front, lock:hip_1, weak:ankle_2=0.3"),
    ("damage_time", "0.0", "sim time (s) at which `damage` is applied"),
    ("gui", "false", "open the pybullet GUI"),
    ("use_sim_time", "true", "nodes follow /clock from the simulator"),
    ("rate", "0.0", "the controller's rate in Hz (0 = the policy's own); the simulator keeps the robot's"),
    ("lockstep", "false", "the simulator waits for each step's command: deterministic runs"),
    (
        "trigger",
        "timer",
        "controller tick: timer (at the rate) or sensors (one step per complete sensor set)",
    ),
    ("record", "false", "write a rosbag2 of all topics"),
    ("bag", "runs/bags/quadruped", "rosbag2 output directory (must not exist)"),
    ("seed", "0", "seed of the simulator episode and of the policy's initial state"),
    ("knobs", "", "simulator's sim-to-real knobs, a YAML mapping of SimKnobs fields (fixed at start-up)"),
)


def generate_launch_description() -> LaunchDescription:
    arg = {name: LaunchConfiguration(name) for name, _, _ in ARGUMENTS}
    arg["policy"] = PolicyFile()
    config = [CONFIG_DIR + os.sep, arg["robot"], ".yaml"]  # a parameter file named by substitutions
    common = {"use_sim_time": arg["use_sim_time"], "lockstep": arg["lockstep"], "seed": arg["seed"]}
    sim = Node(
        package="wann_ros",
        executable="sim_node",
        name="sim",
        output="screen",
        on_exit=Shutdown(reason="the simulator stopped"),  # e.g. a bad damage: the rest stops with it
        parameters=[
            config,
            common,
            {
                "robot": arg["robot"],
                "gui": arg["gui"],
                "scheduled_damage": arg["damage"],
                "damage_time": arg["damage_time"],
                # a string parameter holding YAML: without value_type, launch_ros would parse it to a mapping
                "knobs": ParameterValue(arg["knobs"], value_type=str),
            },
        ],
    )
    controller = Node(
        package="wann_ros",
        executable="controller_node",
        name="controller",
        output="screen",
        on_exit=Shutdown(reason="the controller stopped"),  # e.g. it refused its policy
        parameters=[
            config,
            common,
            {"policy": arg["policy"], "trigger": arg["trigger"], "rate": arg["rate"]},
        ],
    )
    recorder = Node(
        package="wann_ros",
        executable="bag_recorder",
        name="bag_recorder",
        output="screen",
        condition=IfCondition(arg["record"]),
        parameters=[{"output": arg["bag"], "use_sim_time": arg["use_sim_time"]}],
    )
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=value, description=doc) for name, value, doc in ARGUMENTS]
        + [
            LogInfo(
                msg=[
                    "wann_ros: robot ",
                    arg["robot"],
                    ", policy ",
                    arg["policy"],
                    ", damage ",
                    arg["damage"],
                    " at t=",
                    arg["damage_time"],
                    " s",
                ]
            ),
            sim,
            controller,
            recorder,
        ]
    )
