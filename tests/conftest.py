"""Fixtures shared by the test modules."""

import pytest


@pytest.fixture(scope="module")
def ros():
    """rclpy initialised for one test module (isolated by ``isolate_ros_domain``) and an executor."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    rclpy.init(args=[])
    executor = SingleThreadedExecutor()
    yield executor
    executor.shutdown()
    rclpy.try_shutdown()
