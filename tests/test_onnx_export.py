"""ONNX export of every kind, run by onnxruntime through OnnxPolicy, against the numpy runtime."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from wann_ros.formats import PolicyFileError, load_policy, read_policy_bytes, save_policy
from wann_ros.formats.onnx_export import export_onnx, target_opset
from wann_ros.formats.onnx_policy import OnnxPolicy, sniff
from wann_ros.policies import (
    ChromaticPolicy,
    HebbianPolicy,
    StaticPolicy,
    WannPolicy,
    generic_spec,
)
from wann_ros.policies.dense import layer_shapes
from wann_ros.policies.hebbian import hebbian_layout


# -- sample policies (also used by the .chroma and C export tests) ---------------------------------
def robot_spec(kind: str, n_obs: int, n_act: int, rng: np.random.Generator):
    """A spec with normalisation (mean, std, clip) and non-trivial action scaling and limits."""
    spec = generic_spec(kind, n_obs, n_act, control_period=0.0125)
    spec.observation.mean = rng.normal(size=n_obs)
    spec.observation.std = rng.uniform(0.5, 2.0, size=n_obs)
    spec.observation.clip = 4.0
    spec.action = dataclasses.replace(
        spec.action,
        scale=rng.uniform(0.2, 1.0, size=n_act),
        offset=rng.uniform(-0.1, 0.1, size=n_act),
        lower=np.full(n_act, -0.6),
        upper=np.full(n_act, 0.5),
    )
    return spec


def random_wann(rng: np.random.Generator, n_in=6, n_hidden=14, n_out=3, **weights) -> WannPolicy:
    """A random feed-forward DAG using every activation id 1-11, with a few disabled connections."""
    n = 1 + n_in + n_hidden + n_out
    acts = np.concatenate([np.ones(1 + n_in, dtype=int), np.arange(n - 1 - n_in) % 11 + 1])
    conns = []
    for d in range(1 + n_in, n - n_out + 1):  # the first output gets sources; the others may have none
        for s in rng.choice(min(d, n - n_out), size=min(d, 3), replace=False):
            conns.append((int(s), d, int(rng.random() < 0.9)))
    if "weights" in weights and weights["weights"] == "random":
        weights["weights"] = rng.normal(size=len(conns))
    return WannPolicy(n_in, n_out, acts, conns, robot_spec("wann", n_in, n_out, rng), **weights)


def sample_policies(seed: int = 3) -> dict[str, object]:
    """One policy per kind and option worth exporting, each with normalisation and action scaling."""
    rng = np.random.default_rng(seed)
    sizes = [10, 16, 4]
    shapes = layer_shapes(sizes)

    def hebbian(mode="synapse", **options):
        rules = [rng.normal(0, 0.05, size=s) for s in hebbian_layout(sizes, mode)]
        return HebbianPolicy(sizes, rules, robot_spec("hebbian", 10, 4, rng), rule_mode=mode, **options)

    return {
        "wann_shared": random_wann(rng, shared_weight=0.8),
        "wann_ensemble": random_wann(rng, shared_weight=1.0, ensemble_weights=[-1.5, -0.5, 0.5, 1.5]),
        "wann_tuned": random_wann(rng, weights="random"),
        "chromatic": ChromaticPolicy(
            sizes,
            rng.normal(0, 0.5, size=5),
            [rng.integers(0, 5, s) for s in shapes],
            [rng.normal(0, 0.1, size=b) for _, b in shapes],
            robot_spec("chromatic", 10, 4, rng),
        ),
        "hebbian": hebbian(),
        "hebbian_normalized": hebbian(normalize=True, init="normal", init_scale=0.3),
        "hebbian_pre_bound": hebbian("pre", weight_bound=0.8, output_activation="linear"),
        "hebbian_given": hebbian("post", init_weights=[rng.normal(0, 0.1, size=s) for s in shapes]),
        "static": StaticPolicy(
            [rng.normal(0, 0.4, size=s) for s in shapes],
            [rng.normal(0, 0.1, size=b) for _, b in shapes],
            robot_spec("static", 10, 4, rng),
            output_activation="sigmoid",
        ),
    }


def observations(policy, n: int, seed: int = 0) -> np.ndarray:
    """Raw observations around the spec's mean (0 without normalisation), some beyond the clip."""
    obs = policy.spec.observation
    rng = np.random.default_rng(seed)
    mean, std = (0.0, 1.0) if obs.mean is None else (obs.mean, obs.std)
    return mean + std * rng.normal(0, 2.0, size=(n, obs.size))


def onnx_of(policy, **kw) -> OnnxPolicy:
    return OnnxPolicy(export_onnx(policy, **kw).SerializeToString())


STATELESS = ["wann_shared", "wann_ensemble", "wann_tuned", "chromatic", "static"]
HEBBIAN = ["hebbian", "hebbian_normalized", "hebbian_pre_bound", "hebbian_given"]


# -- tests -----------------------------------------------------------------------------------------
def test_model_uses_the_onnx_opset_that_onnxruntime_accepts_and_the_oldest_ir_for_it():
    model = export_onnx(sample_policies()["static"])
    opset = target_opset()
    assert model.opset_import[0].version == opset <= onnx.defs.onnx_opset_version()
    assert model.ir_version == onnx.helper.find_min_ir_version_for(list(model.opset_import))
    onnx.checker.check_model(model, full_check=True)
    ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("name", STATELESS)
def test_stateless_kinds_equal_numpy(name):
    policy = sample_policies()[name]
    obs = observations(policy, 300)
    expected = policy.act_batch(obs)
    # default float64 graph: within 1e-6 of numpy (WANN 1e-5, chromatic 1e-6 asked)
    np.testing.assert_allclose(onnx_of(policy).act_batch(obs), expected, rtol=0, atol=1e-9)
    single = onnx_of(policy)
    for o in obs[:20]:
        np.testing.assert_allclose(single.act(o), policy.act(o), rtol=0, atol=1e-9)
    # float32 graph: float rounding only
    np.testing.assert_allclose(onnx_of(policy, dtype="float32").act_batch(obs), expected, atol=1e-5)


def test_chromatic_gathers_from_the_pool_or_stores_dense_weights():
    policy = sample_policies()["chromatic"]
    gathered = export_onnx(policy)
    expanded = export_onnx(policy, expand=True)
    assert "Gather" in {n.op_type for n in gathered.graph.node}
    assert "Gather" not in {n.op_type for n in expanded.graph.node}
    colours = [i for i in gathered.graph.initializer if i.name.startswith("colours")]
    assert [tuple(c.dims) for c in colours] == [(10, 16), (16, 4)]
    obs = observations(policy, 100)
    for model in (gathered, expanded):
        out = OnnxPolicy(model.SerializeToString()).act_batch(obs)
        np.testing.assert_allclose(out, policy.act_batch(obs), rtol=0, atol=1e-6)


def test_wann_shared_weight_is_an_overridable_input_with_the_tuned_default():
    policy = sample_policies()["wann_shared"]
    model = export_onnx(policy)
    assert "weight" in {i.name for i in model.graph.input}
    (default,) = [i for i in model.graph.initializer if i.name == "weight"]
    assert onnx.numpy_helper.to_array(default).tolist() == [0.8]
    runner = OnnxPolicy(model.SerializeToString())
    obs = observations(policy, 50)
    for w in (-2.0, 0.5, 1.5):
        runner.shared_weight = w
        policy.shared_weight = w
        np.testing.assert_allclose(runner.act_batch(obs), policy.act_batch(obs), atol=1e-9)
    with pytest.raises(ValueError, match="finite"):
        runner.shared_weight = float("nan")
    with pytest.raises(ValueError, match="no 'weight' input"):
        onnx_of(sample_policies()["wann_tuned"]).shared_weight = 1.0


def test_every_wann_activation_appears_per_node():
    model = export_onnx(sample_policies()["wann_shared"])
    ops = {n.op_type for n in model.graph.node}
    assert {"Sin", "Cos", "Exp", "Tanh", "Neg", "Abs", "Relu", "Greater"} <= ops


@pytest.mark.parametrize("name", HEBBIAN)
def test_hebbian_step_graph_equals_numpy_over_1000_steps(name):
    policy = sample_policies()[name]
    runner = onnx_of(policy)
    policy.reset(11)
    runner.reset(11)
    for a, b in zip(policy.weights, runner.weights, strict=True):
        np.testing.assert_array_equal(a, b)  # reset(seed) redraws exactly as numpy
    worst = 0.0
    for o in observations(policy, 1000, seed=4):
        worst = max(worst, np.abs(runner.act(o) - policy.act(o)).max())
    assert worst <= 1e-5
    for a, b in zip(policy.weights, runner.weights, strict=True):
        np.testing.assert_allclose(b, a, atol=1e-5)


def test_hebbian_graph_outputs_updated_weights_and_freeze_stops_feeding_them_back():
    policy = sample_policies()["hebbian"]
    model = export_onnx(policy)
    assert [o.name for o in model.graph.output] == ["action", "w0_next", "w1_next"]
    runner = OnnxPolicy(model.SerializeToString())
    obs = observations(policy, 3)
    start = runner.weights
    runner.freeze()
    runner.act(obs[0])
    np.testing.assert_array_equal(runner.weights[0], start[0])
    runner.unfreeze()
    runner.act(obs[0])
    assert np.abs(runner.weights[0] - start[0]).max() > 0
    runner.weights = start
    np.testing.assert_array_equal(runner.weights[1], start[1])
    with pytest.raises(TypeError, match="one observation at a time"):
        runner.act_batch(obs)


def test_spec_travels_in_metadata_props_and_load_policy_recognises_onnx(tmp_path):
    policy = sample_policies()["static"]
    path = tmp_path / "policy.onnx"
    export_onnx(policy, path)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(props["wann_ros.spec"]) == json.loads(json.dumps(policy.spec.to_dict()))
    native = tmp_path / "policy.wrp"
    save_policy(policy, native)
    loaded = load_policy(path)
    assert isinstance(loaded, OnnxPolicy)
    assert loaded.spec.to_dict() == load_policy(native).spec.to_dict()
    obs = observations(policy, 5)
    np.testing.assert_allclose(np.array([loaded.act(o) for o in obs]), policy.act_batch(obs), atol=1e-9)


def test_observation_shape_errors_are_clear():
    runner = onnx_of(sample_policies()["static"])
    with pytest.raises(ValueError, match=r"shape \(10,\)"):
        runner.act(np.zeros(9))
    with pytest.raises(ValueError, match=r"\(B, 10\)"):
        runner.act_batch(np.zeros((2, 3)))


def test_bad_onnx_files_are_policy_file_errors():
    data = export_onnx(sample_policies()["static"]).SerializeToString()
    assert sniff(data)
    with pytest.raises(PolicyFileError, match="onnxruntime cannot load"):
        read_policy_bytes(data[: len(data) // 2])
    model = export_onnx(sample_policies()["static"])
    del model.metadata_props[:]
    with pytest.raises(PolicyFileError, match="metadata"):
        read_policy_bytes(model.SerializeToString())
    model = export_onnx(sample_policies()["static"])
    for p in model.metadata_props:
        if p.key == "wann_ros.spec":
            p.value = '{"kind": "static"}'
    with pytest.raises(PolicyFileError, match="spec is invalid"):
        read_policy_bytes(model.SerializeToString())
    rng = np.random.default_rng(0)
    for _ in range(200):  # random corruption: only PolicyFileError (or a model that still runs)
        bad = bytearray(data)
        for i in rng.integers(0, len(bad), size=4):
            bad[i] = rng.integers(0, 256)
        try:
            runner = read_policy_bytes(bytes(bad))
        except PolicyFileError:
            continue
        assert runner.act(np.zeros(10)).shape == (4,)


def with_metadata(policy, key: str, edit) -> bytes:
    """The exported model of ``policy`` with metadata ``key``'s JSON text replaced by ``edit(text)``."""
    model = export_onnx(policy)
    for p in model.metadata_props:
        if p.key == key:
            p.value = edit(p.value)
    return model.SerializeToString()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("NaN", "contains NaN"),
        ("Infinity", "contains Infinity"),
        ("1e999", "number 1e999 is out of range"),
        ("1" + "0" * 400, "provenance score must be finite"),
        ("1" * 5000, "is not valid JSON.*digits"),
    ],
)
def test_metadata_numbers_must_be_finite(value, message):
    def edit(text: str) -> str:
        assert '"score":null' in text
        return text.replace('"score":null', f'"score":{value}')

    data = with_metadata(sample_policies()["static"], "wann_ros.spec", edit)
    with pytest.raises(PolicyFileError, match=message):
        read_policy_bytes(data)


def test_hebbian_metadata_with_a_huge_init_scale_is_a_policy_file_error():
    data = with_metadata(
        sample_policies()["hebbian"],
        "wann_ros.hebbian",
        lambda t: json.dumps({**json.loads(t), "init_scale": 10**400}),
    )
    with pytest.raises(PolicyFileError, match="init_scale must be finite"):
        read_policy_bytes(data)


def test_export_to_a_path_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "p.onnx"
    export_onnx(sample_policies()["static"], path)
    first = path.read_bytes()

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        export_onnx(sample_policies()["chromatic"], path)
    assert path.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["p.onnx"]


def test_export_refuses_unknown_objects_and_dtypes():
    with pytest.raises(TypeError, match="no ONNX export"):
        export_onnx(object())
    with pytest.raises(ValueError, match="dtype"):
        export_onnx(sample_policies()["static"], dtype="int8")


def test_cli_export_onnx(tmp_path):
    from wann_ros.cli import main

    policy = sample_policies()["wann_ensemble"]
    save_policy(policy, tmp_path / "p.wrp")
    assert main(["export-onnx", str(tmp_path / "p.wrp"), "--out", str(tmp_path / "p.onnx")]) == 0
    obs = observations(policy, 10)
    np.testing.assert_allclose(
        load_policy(tmp_path / "p.onnx").act_batch(obs), policy.act_batch(obs), atol=1e-9
    )


SHIPPED = sorted((Path(__file__).resolve().parents[1] / "models").glob("*.wrp"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_policy_exports_to_an_equal_onnx_model(path):
    """The files in models/ themselves; a Hebbian one drives the Ant for 1,000 steps, its weights fed back."""
    policy = load_policy(path)
    runner = onnx_of(policy)
    if not isinstance(policy, HebbianPolicy):
        obs = observations(policy, 200)
        np.testing.assert_allclose(runner.act_batch(obs), policy.act_batch(obs), atol=1e-9)
        return
    import gymnasium as gym

    import wann_ros.sim  # noqa: F401  (registers the envs)

    env = gym.make("wann_ros/AntDamage-v0", early_stop=False)
    obs, _ = env.reset(seed=3)
    policy.reset(7)
    runner.reset(7)
    worst = 0.0
    for _ in range(1000):
        action = policy.act(obs)
        worst = max(worst, np.abs(runner.act(obs) - action).max())
        obs, *_ = env.step(action)
    env.close()
    assert worst <= 1e-5
    for a, b in zip(policy.weights, runner.weights, strict=True):
        scale = np.abs(a).max()
        assert scale > 1.0  # the rules did change the weights
        assert np.abs(b - a).max() <= 1e-5 * scale
