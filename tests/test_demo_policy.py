"""Which policy the demo runs for each robot: the shipped file, else the best one for the robot's joints,
else a placeholder that says so."""

import shutil

import numpy as np
import pytest

from wann_ros import demo
from wann_ros.demo import MODELS, find_policy, placeholder_policy
from wann_ros.formats import load_policy
from wann_ros.shipped import SHIPPED_POLICIES, shipped_policy
from wann_ros.sim import robot_specs as rs


def test_the_shipped_policies_are_in_models_and_fit_their_robots():
    joints = {"ant": rs.ANT_JOINTS, "a1": rs.A1_JOINTS}
    for robot, name in SHIPPED_POLICIES.items():
        path = shipped_policy(robot, MODELS)
        assert path == MODELS / name
        assert tuple(load_policy(path).spec.action.joint_names) == joints[robot]
    assert find_policy(MODELS, "ant") == (MODELS / "ant_hebbian.wrp", "the shipped Ant policy")
    with pytest.raises(ValueError, match="no shipped policy for robot 'spot'; robots with one: a1, ant"):
        shipped_policy("spot", MODELS)


def test_without_the_shipped_file_the_robots_own_policies_are_searched(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "broken.wrp").write_bytes(b"not a policy")
    assert find_policy(models, "a1") == (None, "no A1 policy in models/")
    ant = placeholder_policy(models, 0, "ant")  # an Ant policy is no candidate for the A1
    assert find_policy(models, "a1")[0] is None
    a1 = placeholder_policy(models, 1, "a1")
    path, note = find_policy(models, "a1")
    assert path == a1 and note == "Hebbian: the best A1 policy available (no recorded score)"
    assert find_policy(models, "ant")[0] == ant
    policy = load_policy(a1)
    assert policy.spec.action.mode == "position" and policy.spec.observation.size == 42
    shutil.copy(MODELS / "ant_hebbian.wrp", models / "ant_hebbian.wrp")
    assert find_policy(models, "ant") == (models / "ant_hebbian.wrp", "the shipped Ant policy")


def test_the_plot_has_a_weight_norm_panel_only_for_a_plastic_policy(tmp_path):
    import matplotlib.image

    track = np.array([[0.0, 0.0], [1.0, 0.5], [2.0, 1.0]])
    norms = {"static.png": np.zeros((0, 2)), "plastic.png": np.array([[0.0, 1.0], [2.0, 1.5]])}
    for name, norm in norms.items():
        demo.plot(tmp_path / name, track, norm, 1.0, "left_front", name)
    static, plastic = (matplotlib.image.imread(tmp_path / n).shape[0] for n in ("static.png", "plastic.png"))
    assert static == round(3.5 * 110) and plastic == 6 * 110
