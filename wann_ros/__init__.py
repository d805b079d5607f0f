"""wann_ros: evolved compact control policies (WANN, chromatic, Hebbian, static) for ROS 2."""

__version__ = "0.1.0"
