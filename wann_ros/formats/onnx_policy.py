"""Running an exported ONNX policy with onnxruntime: :class:`OnnxPolicy` implements the Policy protocol.

The graph interface is described in :mod:`wann_ros.formats.onnx_export` and docs/onnx.md. The graph
normalises the raw observation itself, so ``act`` feeds the raw observation and returns the network
action, exactly as the native policies do. A Hebbian graph is one plastic step; this class keeps the
weights between calls and redraws them at ``reset(seed)`` the way ``HebbianPolicy`` does.
Needs only numpy and onnxruntime (not the ``onnx`` package).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from wann_ros.formats import register_format
from wann_ros.formats.errors import PolicyFileError
from wann_ros.formats.native import loads_json
from wann_ros.policies.checks import as_float, as_float_array, as_layer_sizes
from wann_ros.policies.dense import layer_shapes
from wann_ros.policies.hebbian import draw_initial_weights
from wann_ros.policies.spec import PolicySpec, PolicySpecError

FORMAT_NAME = "wann_ros.onnx"
FORMAT_VERSION = "1"
META_FORMAT, META_VERSION, META_SPEC, META_HEBBIAN = (
    "wann_ros.format",
    "wann_ros.format_version",
    "wann_ros.spec",
    "wann_ros.hebbian",
)
_ELEM_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64}
# the first field of a serialized ModelProto is ir_version (field 1, varint) followed by another field
_NEXT_FIELD_TAGS = frozenset({0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42})


def sniff(data: bytes) -> bool:
    """A cheap check for a serialized ONNX ModelProto: ``ir_version`` first, then a known field."""
    return len(data) > 3 and data[0] == 0x08 and 0 < data[1] < 0x80 and data[2] in _NEXT_FIELD_TAGS


def _json_meta(meta: dict[str, str], key: str) -> Any:
    if key not in meta:
        raise PolicyFileError(f"ONNX model has no {key!r} metadata: not a wann_ros policy export")
    return loads_json(meta[key], f"ONNX metadata {key!r}")


class OnnxPolicy:
    """An exported policy run by an onnxruntime ``InferenceSession`` (any kind)."""

    def __init__(self, model: bytes | str | Path, threads: int = 1) -> None:
        data = model if isinstance(model, bytes) else Path(model).read_bytes()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # basic (exact) rewrites only: the extended fusions change results at the 1e-6 level
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        try:
            self.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for every kind of bad model
            raise PolicyFileError(f"onnxruntime cannot load the model: {str(exc)[:300]}") from None
        try:
            meta = self.session.get_modelmeta().custom_metadata_map
        except (UnicodeDecodeError, RuntimeError) as exc:
            raise PolicyFileError(f"ONNX metadata is unreadable: {exc}") from None
        if meta.get(META_FORMAT) != FORMAT_NAME or meta.get(META_VERSION) != FORMAT_VERSION:
            raise PolicyFileError(
                f"ONNX model metadata says format {meta.get(META_FORMAT)!r} version "
                f"{meta.get(META_VERSION)!r}; this reader knows {FORMAT_NAME!r} version {FORMAT_VERSION}"
            )
        try:
            self.spec = PolicySpec.from_dict(_json_meta(meta, META_SPEC))
        except PolicySpecError as exc:
            raise PolicyFileError(f"ONNX metadata spec is invalid: {exc}") from None
        self.kind = self.spec.kind
        graph_inputs = [*self.session.get_inputs(), *self.session.get_overridable_initializers()]
        self._inputs = {i.name: i for i in graph_inputs}
        self._outputs = [o.name for o in self.session.get_outputs()]
        self._check_io()
        self._dtype = _ELEM_TYPES[self._inputs["obs"].type]
        self._weight: np.ndarray | None = None  # WANN shared weight override
        self._plastic: list[np.ndarray] = []
        self._hebbian: dict[str, Any] | None = None
        self.frozen = False
        if self.kind == "hebbian":
            self._setup_hebbian(_json_meta(meta, META_HEBBIAN))

    def _check_io(self) -> None:
        obs = self._inputs.get("obs")
        n_obs, n_act = self.spec.observation.size, self.spec.action.size
        if obs is None or obs.type not in _ELEM_TYPES or len(obs.shape) != 2 or obs.shape[1] != n_obs:
            raise PolicyFileError(f"ONNX model needs a float input 'obs' of shape [batch, {n_obs}]")
        if not self._outputs or self._outputs[0] != "action":
            raise PolicyFileError("ONNX model's first output must be 'action'")
        shape = self.session.get_outputs()[0].shape
        if len(shape) != 2 or shape[1] != n_act:
            raise PolicyFileError(f"ONNX output 'action' must have shape [batch, {n_act}], got {shape}")

    def _setup_hebbian(self, meta: Any) -> None:
        if not isinstance(meta, dict):
            raise PolicyFileError("ONNX 'wann_ros.hebbian' metadata must be a JSON object")
        try:
            shapes = layer_shapes(as_layer_sizes(meta["layer_sizes"]))
            init = meta["init"]
            scale = as_float(meta["init_scale"], "hebbian init_scale")
            given = meta.get("init_weights")
            if given is not None:
                given = [
                    as_float_array(w, f"init_weights[{k}]", s)
                    for k, (w, s) in enumerate(zip(given, shapes, strict=True))
                ]
        except (KeyError, TypeError, ValueError) as exc:
            raise PolicyFileError(f"ONNX 'wann_ros.hebbian' metadata is invalid: {exc}") from None
        if init not in ("uniform", "normal", "given") or (init == "given") != (given is not None):
            raise PolicyFileError(f"ONNX hebbian init {init!r} does not match its init_weights")
        names = [f"w{k}" for k in range(len(shapes))]
        for name, shape in zip(names, shapes, strict=True):
            if name not in self._inputs or tuple(self._inputs[name].shape) != shape:
                raise PolicyFileError(f"ONNX hebbian model needs an input {name!r} of shape {list(shape)}")
            if f"{name}_next" not in self._outputs:
                raise PolicyFileError(f"ONNX hebbian model needs an output '{name}_next'")
        self._hebbian = {"shapes": shapes, "init": init, "scale": scale, "given": given, "names": names}
        self.frozen = bool(meta.get("frozen", False))
        self.reset(0)

    # -- Policy protocol ---------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Hebbian: redraw the weights exactly as ``HebbianPolicy.reset(seed)``; others: nothing."""
        h = self._hebbian
        if h is None:
            return
        if h["given"] is not None:
            fresh = h["given"]
        else:
            fresh = draw_initial_weights(np.random.default_rng(seed), h["shapes"], h["init"], h["scale"])
        self._plastic = [np.asarray(w, dtype=self._dtype) for w in fresh]

    def _obs(self, obs: np.ndarray, batch: bool) -> np.ndarray:
        try:
            x = np.asarray(obs, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"observation must be a vector of numbers: {exc}") from None
        n = self.spec.observation.size
        if batch and (x.ndim != 2 or x.shape[1] != n):
            raise ValueError(f"observation batch must have shape (B, {n}), got {x.shape}")
        if not batch and x.shape != (n,):
            raise ValueError(f"observation must have shape ({n},), got {x.shape}")
        return np.atleast_2d(x).astype(self._dtype)

    def _feeds(self, x: np.ndarray) -> dict[str, np.ndarray]:
        feeds = {"obs": x}
        if self._weight is not None:
            feeds["weight"] = self._weight
        if self._hebbian is not None:
            feeds.update(zip(self._hebbian["names"], self._plastic, strict=True))
        return feeds

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Raw observation -> network action (float64, shape (n_actions,)); Hebbian weights then update."""
        out = self.session.run(None, self._feeds(self._obs(obs, batch=False)))
        if self._hebbian is not None and not self.frozen:
            self._plastic = out[1:]
        return out[0][0].astype(np.float64)

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        """Raw observations ``[B, n_obs]`` -> actions ``[B, n_actions]`` (stateless kinds only)."""
        if self._hebbian is not None:
            raise TypeError("a Hebbian ONNX policy steps one observation at a time; use act")
        return self.session.run(["action"], self._feeds(self._obs(obs, batch=True)))[0].astype(np.float64)

    # -- kind-specific controls --------------------------------------------------------------------
    @property
    def shared_weight(self) -> np.ndarray | None:
        """WANN: the weight(s) fed to the optional ``weight`` input (``None``: the graph's default)."""
        return self._weight

    @shared_weight.setter
    def shared_weight(self, value: float | Sequence[float]) -> None:
        info = self._inputs.get("weight")
        if info is None:
            raise ValueError("this ONNX policy has no 'weight' input (not a shared-weight WANN)")
        w = np.atleast_1d(np.asarray(value, dtype=np.float64))
        if w.shape != tuple(info.shape) or not np.all(np.isfinite(w)):
            raise ValueError(f"shared weight must be {info.shape[0]} finite number(s), got {value!r}")
        self._weight = w.astype(self._dtype)

    @property
    def weights(self) -> list[np.ndarray]:
        """Hebbian: the current weights ``W[in, out]`` per layer (float64 copies)."""
        return [w.astype(np.float64) for w in self._plastic]

    @weights.setter
    def weights(self, values: Sequence[np.ndarray]) -> None:
        if self._hebbian is None:
            raise ValueError("only a Hebbian policy has plastic weights")
        shapes = self._hebbian["shapes"]
        if not isinstance(values, (list, tuple)) or len(values) != len(shapes):
            raise ValueError(f"weights must be a list of {len(shapes)} matrices")
        self._plastic = [
            as_float_array(v, f"weights[{k}]", s).astype(self._dtype)
            for k, (v, s) in enumerate(zip(values, shapes, strict=True))
        ]

    def freeze(self) -> None:
        """Hebbian: stop feeding the updated weights back."""
        self.frozen = True

    def unfreeze(self) -> None:
        self.frozen = False

    def describe(self) -> dict[str, Any]:
        return {
            "inputs": {n: list(i.shape) for n, i in self._inputs.items()},
            "outputs": self._outputs,
            "dtype": np.dtype(self._dtype).name,
        }


def read_onnx(data: bytes) -> OnnxPolicy:
    """The policy in exported ONNX bytes; PolicyFileError names whatever is wrong."""
    return OnnxPolicy(bytes(data))


register_format("onnx", sniff, read_onnx)
