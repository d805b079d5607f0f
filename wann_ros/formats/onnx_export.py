"""ONNX export of every policy kind, with the policy spec in ``metadata_props`` (docs/onnx.md).

Graph interface (all kinds):
  * input ``obs``: the *raw* observation, ``[batch, n_obs]`` (Hebbian: ``[1, n_obs]``); the spec's
    normalisation (mean, std, clip) is part of the graph, exactly as ``Policy.act`` applies it;
  * output ``action``: the network action ``[batch, n_actions]`` (``spec.action.to_command`` maps it to
    joint commands, as for the native runtime).
Per kind:
  * WANN: optional input ``weight`` ``[K]`` whose default (an initializer) is the tuned shared weight or
    the K ensemble weights (the output is the mean over them); tuned per-edge networks have no ``weight``;
  * chromatic: every layer's ``W = Gather(pool, colours)`` (``expand=True`` stores dense ``W`` instead);
  * Hebbian: one plastic step: inputs ``obs`` and ``w0..w{L-1}`` (current ``W[in, out]``), outputs
    ``action`` and ``w0_next..`` (weights after the ABCD update and the optional constraints);
  * static: MatMul + Add + activation per layer.

This module needs the ``onnx`` package (a training/export extra); loading needs only onnxruntime
(:mod:`wann_ros.formats.onnx_policy`).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from wann_ros import __version__
from wann_ros.formats import write_atomic
from wann_ros.formats.onnx_policy import (
    FORMAT_NAME,
    FORMAT_VERSION,
    META_FORMAT,
    META_HEBBIAN,
    META_SPEC,
    META_VERSION,
)
from wann_ros.policies.activations import activation_id
from wann_ros.policies.base import Policy
from wann_ros.policies.chromatic import ChromaticPolicy
from wann_ros.policies.dense import layer_shapes
from wann_ros.policies.hebbian import HebbianPolicy, rule_terms
from wann_ros.policies.spec import PolicySpec
from wann_ros.policies.static import StaticPolicy
from wann_ros.policies.wann import WannPolicy

DTYPES = {"float32": (np.float32, TensorProto.FLOAT), "float64": (np.float64, TensorProto.DOUBLE)}
MIN_OPSET = 18  # ReduceMax/ReduceMean with axes as an input


@functools.cache
def target_opset() -> int:
    """The newest default-domain opset of the installed onnx that the installed onnxruntime accepts.

    Without onnxruntime: the installed onnx's newest opset.
    """
    newest = onnx.defs.onnx_opset_version()
    try:
        import onnxruntime as ort
    except ImportError:
        return newest
    for opset in range(newest, MIN_OPSET - 1, -1):
        graph = helper.make_graph(
            [helper.make_node("Neg", ["x"], ["y"])],
            "probe",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        )
        model = _finish(helper.make_model(graph), opset)
        try:
            ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        except Exception:  # onnxruntime rejects an opset newer than it knows
            continue
        return opset
    raise RuntimeError(f"the installed onnxruntime accepts no opset in {MIN_OPSET}..{newest}")


def _finish(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """Set the opset and the oldest IR version that can carry it (so older runtimes load the file)."""
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("", opset))
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
    return model


class _Graph:
    """A tiny graph builder: unique names, constants as initializers, one dtype for all floats."""

    def __init__(self, dtype: str) -> None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {tuple(DTYPES)}, got {dtype!r}")
        self.np_dtype, self.elem = DTYPES[dtype]
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value: Any, hint: str = "c", integer: bool = False) -> str:
        arr = np.asarray(value, dtype=np.int64 if integer else self.np_dtype)
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type: str, *inputs: str, hint: str | None = None, **attrs: Any) -> str:
        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def add_input(self, name: str, shape: Sequence[int | str], default: np.ndarray | None = None) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, self.elem, list(shape)))
        if default is not None:  # an initializer that is also an input: an overridable default
            self.initializers.append(numpy_helper.from_array(np.asarray(default, self.np_dtype), name))
        return name

    def add_output(self, source: str, name: str, shape: Sequence[int | str]) -> None:
        self.nodes.append(helper.make_node("Identity", [source], [name]))
        self.outputs.append(helper.make_tensor_value_info(name, self.elem, list(shape)))

    def activation(self, act: int | str, x: str) -> str:
        """The ONNX form of a WANN activation (formulas as wann_ros.policies.activations)."""
        a = activation_id(act)
        if a == 1:
            return x
        if a == 2:
            return self.op("Cast", self.op("Greater", x, self.const(0.0)), to=self.elem)
        if a in (3, 10):
            return self.op("Sin" if a == 3 else "Cos", self.op("Mul", x, self.const(math.pi)))
        if a == 4:
            return self.op("Exp", self.op("Mul", self.op("Mul", x, x), self.const(-0.5)))
        if a == 6:
            half = self.const(0.5)
            t = self.op("Tanh", self.op("Mul", x, half))
            return self.op("Mul", self.op("Add", t, self.const(1.0)), half)
        if a == 11:
            return self.op("Mul", x, x)
        return self.op({5: "Tanh", 7: "Neg", 8: "Abs", 9: "Relu"}[a], x)

    def normalize(self, spec: PolicySpec, x: str) -> str:
        """``(x - mean) / std`` then clip to ``±clip``, each step only when the spec has it."""
        obs = spec.observation
        if obs.mean is not None:
            x = self.op("Sub", x, self.const(obs.mean, "obs_mean"))
        if obs.std is not None:
            x = self.op("Div", x, self.const(obs.std, "obs_std"))
        if obs.clip is not None:
            x = self.op("Clip", x, self.const(-obs.clip), self.const(obs.clip))
        return x

    def dense(self, x: str, w: str, b: np.ndarray | None, act: int) -> str:
        y = self.op("MatMul", x, w)
        if b is not None:
            y = self.op("Add", y, self.const(b, "bias"))
        return self.activation(act, y)

    def model(self, spec: PolicySpec, opset: int | None, extra_meta: dict[str, str]) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, f"wann_ros_{spec.kind}", self.inputs, self.outputs, self.initializers
        )
        model = helper.make_model(graph, producer_name="wann_ros", producer_version=__version__)
        model.doc_string = f"wann_ros {spec.kind} policy; spec in metadata_props[{META_SPEC!r}]"
        meta = {
            META_FORMAT: FORMAT_NAME,
            META_VERSION: FORMAT_VERSION,
            META_SPEC: json.dumps(spec.to_dict(), allow_nan=False, sort_keys=True, separators=(",", ":")),
            **extra_meta,
        }
        helper.set_model_props(model, meta)
        model = _finish(model, target_opset() if opset is None else opset)
        onnx.checker.check_model(model)
        return model


def _feed_forward(g: _Graph, policy: StaticPolicy | ChromaticPolicy, weights: Sequence[str]) -> None:
    x = g.normalize(policy.spec, g.add_input("obs", ["batch", policy.layer_sizes[0]]))
    for w, b, act in zip(weights, policy.biases, policy.layer_activations, strict=True):
        x = g.dense(x, w, b, act)
    g.add_output(x, "action", ["batch", policy.layer_sizes[-1]])


def _static(g: _Graph, policy: StaticPolicy) -> None:
    ws = [g.const(w, f"w{k}") for k, w in enumerate(policy.weights)]
    _feed_forward(g, policy, ws)


def _chromatic(g: _Graph, policy: ChromaticPolicy, expand: bool) -> None:
    if expand:
        ws = [g.const(w, f"w{k}") for k, w in enumerate(policy.weights)]
    else:
        pool = g.const(policy.pool, "pool")
        ws = [
            g.op("Gather", pool, g.const(c, f"colours{k}", integer=True)) for k, c in enumerate(policy.colors)
        ]
    _feed_forward(g, policy, ws)


def _hebbian(g: _Graph, policy: HebbianPolicy) -> dict[str, str]:
    sizes, opts = policy.layer_sizes, policy.options
    shapes = layer_shapes(sizes)
    ws = [g.add_input(f"w{k}", list(s)) for k, s in enumerate(shapes)]
    obs = g.add_input("obs", [1, sizes[0]])
    pre = g.normalize(policy.spec, obs)
    posts, x = [], pre
    for w, act in zip(ws, policy.layer_activations, strict=True):
        x = g.dense(x, w, None, act)
        posts.append(x)
    g.add_output(posts[-1], "action", [1, sizes[-1]])
    for k, (w, post, rule, (n_in, n_out)) in enumerate(zip(ws, posts, policy.rules, shapes, strict=True)):
        gain, offset = rule_terms(rule, n_in, n_out, opts.rule_mode)
        pre_col = g.op("Reshape", pre, g.const([n_in, 1], integer=True))
        # w += pre * (eta*A * post + eta*B) + (eta*C * post + eta*D)   (hebbian_update's order)
        t = g.op("Add", g.op("Mul", g.const(gain[0], f"etaA{k}"), post), g.const(offset[0], f"etaB{k}"))
        new = g.op("Add", w, g.op("Mul", t, pre_col))
        c = g.op("Add", g.op("Mul", g.const(gain[1], f"etaC{k}"), post), g.const(offset[1], f"etaD{k}"))
        new = g.op("Add", new, c)
        if opts.normalize:
            m = g.op("ReduceMax", g.op("Abs", new), g.const([0, 1], integer=True), keepdims=0)
            m = g.op("Where", g.op("Greater", m, g.const(0.0)), m, g.const(1.0))
            new = g.op("Div", new, m)
        if opts.weight_bound is not None:
            new = g.op("Clip", new, g.const(-opts.weight_bound), g.const(opts.weight_bound))
        g.add_output(new, f"w{k}_next", [n_in, n_out])
        pre = post
    init_weights = policy.init_weights
    meta = {
        "layer_sizes": list(sizes),
        "init": opts.init,
        "init_scale": opts.init_scale,
        "frozen": opts.frozen,
        "init_weights": None if init_weights is None else [w.tolist() for w in init_weights],
    }
    return {META_HEBBIAN: json.dumps(meta, allow_nan=False, separators=(",", ":"))}


def _wann_levels(policy: WannPolicy) -> tuple[list[list[tuple[int, list[int]]]], np.ndarray, np.ndarray]:
    """Nodes grouped by depth, then by activation: ``levels[d] = [(act, nodes), ...]``.

    Also returns the enabled edges ``(src, dst)`` and their weights (1 for a shared-weight network).
    """
    n, first = policy.activations.size, 1 + policy.n_inputs
    src, dst, on = policy.connections.T
    keep = on == 1
    src, dst = src[keep], dst[keep]
    weight = np.ones(src.size) if policy.weights is None else policy.weights[keep]
    depth = np.zeros(n, dtype=np.int64)
    depth[first:] = 1
    for s, d in sorted(zip(src.tolist(), dst.tolist(), strict=True), key=lambda e: e[1]):
        depth[d] = max(depth[d], depth[s] + 1)
    levels = []
    for d in range(1, int(depth.max()) + 1 if n > first else 1):
        nodes = np.flatnonzero(depth == d)
        acts = policy.activations[nodes]
        levels.append([(int(a), nodes[acts == a].tolist()) for a in np.unique(acts)])
    return levels, np.stack([src, dst]), weight


def _wann(g: _Graph, policy: WannPolicy) -> None:
    n_in, n_out, n = policy.n_inputs, policy.n_outputs, policy.activations.size
    levels, (src, dst), weight = _wann_levels(policy)
    if policy.weights is None:
        default = policy.ensemble_weights if policy.ensemble_weights is not None else [policy.shared_weight]
        k = len(default)
        w = g.add_input("weight", [k], np.asarray(default))
        w_col = g.op("Unsqueeze", w, g.const([1], integer=True))
    else:
        k, w_col = 1, None
    x = g.normalize(policy.spec, g.add_input("obs", ["batch", n_in]))
    x = g.op("Unsqueeze", x, g.const([1], integer=True))  # [batch, 1, n_in]
    values = g.op("Expand", x, g.const([1, k, 1], integer=True))  # [batch, K, n_in]
    slot = np.full(n, -1, dtype=np.int64)
    slot[1 : 1 + n_in] = np.arange(n_in)  # the bias node 0 has no slot: its edges become a bias vector
    filled = n_in
    for level in levels:
        parts = []
        for act, nodes in level:
            col = {node: j for j, node in enumerate(nodes)}
            into = np.isin(dst, nodes)
            mat = np.zeros((filled, len(nodes)))
            bias = np.zeros(len(nodes))
            for s, d, wt in zip(src[into].tolist(), dst[into].tolist(), weight[into].tolist(), strict=True):
                if s == 0:
                    bias[col[d]] += wt
                else:
                    mat[slot[s], col[d]] += wt
            pre = g.op("MatMul", values, g.const(mat, "level"))
            if np.any(bias):
                pre = g.op("Add", pre, g.const(bias, "level_bias"))
            if w_col is not None:
                pre = g.op("Mul", pre, w_col)
            parts.append(g.activation(act, pre))
        for _, nodes in level:
            slot[nodes] = filled + np.arange(len(nodes))
            filled += len(nodes)
        values = g.op("Concat", values, *parts, axis=2)
    y = g.op("Gather", values, g.const(slot[n - n_out :], "out_slots", integer=True), axis=2)
    y = g.op("ReduceMean", y, g.const([1], integer=True), keepdims=0)
    g.add_output(y, "action", ["batch", n_out])


def export_onnx(
    policy: Policy,
    path: str | Path | None = None,
    *,
    dtype: str = "float64",
    expand: bool = False,
    opset: int | None = None,
) -> onnx.ModelProto:
    """The ONNX model of ``policy`` (any kind); written to ``path`` when given.

    ``dtype`` ("float64" or "float32") is the element type of every float tensor (float64, the
    default, follows the numpy runtime to ~1e-12 even over long Hebbian runs); ``expand`` stores a
    chromatic network's dense weights instead of pool + colours; ``opset`` defaults to
    :func:`target_opset`.
    """
    g = _Graph(dtype)
    meta: dict[str, str] = {}
    if isinstance(policy, WannPolicy):
        _wann(g, policy)
    elif isinstance(policy, ChromaticPolicy):
        _chromatic(g, policy, expand)
    elif isinstance(policy, HebbianPolicy):
        meta = _hebbian(g, policy)
    elif isinstance(policy, StaticPolicy):
        _static(g, policy)
    else:
        raise TypeError(f"no ONNX export for {type(policy).__name__}")
    model = g.model(policy.spec, opset, meta)
    if path is not None:
        write_atomic(path, model.SerializeToString())
    return model


# -- command line (``wann-ros export-onnx``) ----------------------------------------------------------
CLI_HELP = "write a policy as ONNX (spec in metadata_props), runnable by onnxruntime"


def configure_cli(p: argparse.ArgumentParser) -> None:
    p.add_argument("policy", help="policy file (any registered format)")
    p.add_argument("--out", required=True, help="output .onnx file")
    p.add_argument("--dtype", choices=tuple(DTYPES), default="float64", help="float type of the graph")
    p.add_argument("--expand", action="store_true", help="chromatic: dense weights instead of Gather")


def run_cli(args: argparse.Namespace) -> int:
    from wann_ros.formats import load_policy

    policy = load_policy(args.policy)
    try:
        export_onnx(policy, args.out, dtype=args.dtype, expand=args.expand)
    except (TypeError, ValueError) as exc:
        print(f"wann-ros export-onnx: error: {exc}", file=sys.stderr)
        return 2
    print(args.out)
    return 0
