"""Parameter helpers shared by the nodes: float parameters that also take integers, and type errors.

``-p rate:=50`` or a launch argument ``damage_time:=10`` reaches the node as an integer, which rclpy
refuses for a parameter declared with a float default; ``number_parameter`` declares it dynamically typed
and checks the value itself. A value of the wrong type stops the node at start-up (``PARAMETER_ERRORS``,
exit code 2) instead of a traceback.
"""

from __future__ import annotations

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import InvalidParameterTypeException
from rclpy.node import Node


class ParameterError(ValueError):
    """A parameter has a value of the wrong type, or cannot change now; the message says which and why."""


PARAMETER_ERRORS = (ParameterError, InvalidParameterTypeException)


def as_number(name: str, value: object) -> float:
    """``value`` (an int or a float) as a float; ParameterError for anything else (a bool included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"parameter {name!r} must be a number, got {value!r}")
    return float(value)


def number_parameter(node: Node, name: str, default: float) -> float:
    """Declare a float parameter that also takes an integer value; its value as a float."""
    value = node.declare_parameter(name, default, ParameterDescriptor(dynamic_typing=True)).value
    return as_number(name, value)
