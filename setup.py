"""wann_ros: evolved compact control policies for ROS 2 (ament_python package)."""

import os
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "wann_ros"

ROS_WHEELS = [  # the ROS 2 "kilted" wheels from PyPI, for machines without a ROS distribution
    "ros-rclpy",
    "ros-std-msgs",
    "ros-sensor-msgs",
    "ros-nav-msgs",
    "ros-std-srvs",
    "ros-diagnostic-msgs",
    "ros-rosgraph-msgs",
    "ros-lifecycle-msgs",
    "ros-rmw-fastrtps-cpp",
]

setup(
    name=PACKAGE,
    version="0.1.0",
    description="Evolved compact control policies (WANN, chromatic, Hebbian, static) on ROS 2",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*", "training", "training.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/models", [f for f in glob("models/*") if os.path.isfile(f)]),
    ],
    install_requires=["numpy>=1.24", "pyyaml"],
    extras_require={
        "onnx": ["onnx", "onnxruntime"],
        "sim": ["pybullet>=3.2.6", "gymnasium[box2d]>=1.0", "imageio"],
        "train": [
            "pybullet>=3.2.6",
            "gymnasium[box2d]>=1.0",
            "onnx",
            "onnxruntime",
            "cma",
            "ray[default]",
            "tqdm",
            "matplotlib",
            "imageio",
        ],
        "ros": [*ROS_WHEELS, "rosbags"],
        "dev": ["pytest", "pytest-timeout", "hypothesis", "ruff"],
    },
    zip_safe=True,
    entry_points={
        "console_scripts": [
            "wann-ros = wann_ros.cli:main",
            "controller_node = wann_ros.nodes.controller:main",
            "sim_node = wann_ros.nodes.sim:main",
            "bag_recorder = wann_ros.nodes.recorder:main",
        ],
    },
)
