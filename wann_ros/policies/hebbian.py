"""Hebbian plastic networks (Najarro & Risi 2020): evolved per-synapse ABCD rules, random initial weights.

A layered network without biases (``tanh`` by default). At ``reset(seed)`` the weights ``W[in, out]`` are
drawn afresh (default ``U(-0.1, 0.1)`` from ``np.random.default_rng(seed)``, layer by layer); after every
forward pass each layer changes by

    dW[i, j] = eta * (A * pre[i] * post[j] + B * pre[i] + C * post[j] + D)

with ``pre`` the layer's input and ``post`` its output in that pass. Optional per-step constraints:
``normalize`` divides each layer by its largest ``|W|``, then ``weight_bound`` clips to ``±bound``.

Rule modes (the shape of one layer's coefficient block, last axis = ``A, B, C, D, eta``):
  * ``"synapse"``: ``[in, out, 5]``, one rule per synapse;
  * ``"post"``: ``[out, 5]``, one rule per output neuron; ``"pre"``: ``[in, 5]``, one per input neuron.

Flat parameter vector (``to_flat``/``from_flat``, the ES genome): the layers' blocks in order, each in C
order, so for ``"synapse"`` the coefficients of a synapse are adjacent and synapses run input-major.
28->128->64->8 has 12,288 synapses, so 5 x 12,288 = 61,440 parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from wann_ros.policies.checks import (
    as_bool,
    as_choice,
    as_float,
    as_float_array,
    as_layer_sizes,
    as_opt_float,
    fail,
    get,
)
from wann_ros.policies.dense import DenseStack, layer_shapes, split_flat
from wann_ros.policies.inputs import network_input
from wann_ros.policies.layered import LayeredPolicy
from wann_ros.policies.spec import PolicySpec

RULE_MODES = ("synapse", "pre", "post")
INIT_DISTRIBUTIONS = ("uniform", "normal", "given")
N_COEFFS = 5  # A, B, C, D, eta


def rule_shape(n_in: int, n_out: int, mode: str) -> tuple[int, ...]:
    """Shape of one layer's coefficient block in ``mode``."""
    return {"synapse": (n_in, n_out, N_COEFFS), "post": (n_out, N_COEFFS), "pre": (n_in, N_COEFFS)}[mode]


def hebbian_layout(layer_sizes: Sequence[int], mode: str) -> list[tuple[int, ...]]:
    """Shapes of the coefficient blocks in flat order."""
    return [rule_shape(a, b, mode) for a, b in layer_shapes(layer_sizes)]


def hebbian_param_count(layer_sizes: Sequence[int], mode: str = "synapse") -> int:
    """Length of the flat rule vector."""
    return sum(int(np.prod(s)) for s in hebbian_layout(layer_sizes, mode))


def rule_terms(rule: np.ndarray, n_in: int, n_out: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Precompute a layer's rule as ``gain = [eta*A, eta*C]`` and ``offset = [eta*B, eta*D]``.

    Both are ``[..., 2, in, out]`` (any leading population axes of ``rule`` are kept).
    """
    if mode == "post":
        rule = rule[..., None, :, :]
    elif mode == "pre":
        rule = rule[..., :, None, :]
    full = np.broadcast_to(rule, (*rule.shape[:-3], n_in, n_out, N_COEFFS))
    a, b, c, d, eta = (full[..., k] for k in range(N_COEFFS))
    return np.stack([eta * a, eta * c], axis=-3), np.stack([eta * b, eta * d], axis=-3)


def hebbian_update(
    w: np.ndarray,
    pre: np.ndarray,
    post: np.ndarray,
    gain: np.ndarray,
    offset: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """In place: ``w += pre * (eta*A * post + eta*B) + (eta*C * post + eta*D)`` (the ABCD rule).

    ``w[..., in, out]``, ``pre[..., in]``, ``post[..., out]``; ``gain``/``offset`` from :func:`rule_terms`;
    ``scratch`` is a work array shaped like ``gain``.
    """
    np.multiply(gain, post[..., None, None, :], out=scratch)
    np.add(scratch, offset, out=scratch)
    pre_term = scratch[..., 0, :, :]
    np.multiply(pre_term, pre[..., :, None], out=pre_term)
    np.add(w, pre_term, out=w)
    np.add(w, scratch[..., 1, :, :], out=w)


def constrain_weights(w: np.ndarray, bound: float | None, normalize: bool) -> None:
    """In place: optionally divide each ``[in, out]`` matrix by its max ``|w|``, then clip to ``±bound``."""
    if normalize and w.ndim == 2:
        m = max(w.max(), -w.min())
        if m > 0:
            np.divide(w, m, out=w)
    elif normalize:
        m = np.maximum(w.max(axis=(-2, -1)), -w.min(axis=(-2, -1)))
        np.divide(w, np.where(m > 0, m, 1.0)[..., None, None], out=w)
    if bound is not None:
        np.clip(w, -bound, bound, out=w)


def draw_initial_weights(
    rng: np.random.Generator, shapes: Sequence[tuple[int, int]], init: str, scale: float
) -> list:
    if init == "uniform":
        return [rng.uniform(-scale, scale, size=s) for s in shapes]
    return [rng.normal(0.0, scale, size=s) for s in shapes]


def _plastic_step(
    net: HebbianPolicy | HebbianPopulation, x: np.ndarray, outputs: Sequence[np.ndarray]
) -> None:
    """Every layer's update from one forward pass (input ``x``, layer outputs), then the constraints."""
    pre = x
    for w, post, gain, offset, scratch in zip(
        net._weights, outputs, net._gain, net._offset, net._scratch, strict=True
    ):
        hebbian_update(w, pre, post, gain, offset, scratch)
        constrain_weights(w, net.options.weight_bound, net.options.normalize)
        pre = post


class _Plasticity:
    """Options shared by the single and population variants, validated once."""

    def __init__(
        self,
        rule_mode: str,
        init: str,
        init_scale: float,
        weight_bound: float | None,
        normalize: bool,
        frozen: bool,
    ) -> None:
        self.rule_mode = as_choice(rule_mode, "hebbian rule_mode", RULE_MODES)
        self.init = as_choice(init, "hebbian init", INIT_DISTRIBUTIONS)
        self.init_scale = as_float(init_scale, "hebbian init_scale")
        if self.init_scale < 0:
            fail(f"hebbian init_scale must be >= 0, got {self.init_scale}")
        self.weight_bound = as_opt_float(weight_bound, "hebbian weight_bound", positive=True)
        self.normalize = as_bool(normalize, "hebbian normalize")
        self.frozen = as_bool(frozen, "hebbian frozen")


class HebbianPolicy(LayeredPolicy):
    """A plastic network: weights drawn at ``reset(seed)``, changed by the ABCD rule after every ``act``."""

    kind = "hebbian"

    def __init__(
        self,
        layer_sizes: Sequence[int],
        rules: Sequence[np.ndarray],
        spec: PolicySpec,
        *,
        rule_mode: str = "synapse",
        hidden_activation: int | str = "tanh",
        output_activation: int | str = "tanh",
        init: str = "uniform",
        init_scale: float = 0.1,
        init_weights: Sequence[np.ndarray] | None = None,
        weight_bound: float | None = None,
        normalize: bool = False,
        frozen: bool = False,
        seed: int | None = 0,
    ) -> None:
        super().__init__(layer_sizes, spec, hidden_activation, output_activation)
        if init_weights is not None:
            init = "given"
        self.options = _Plasticity(rule_mode, init, init_scale, weight_bound, normalize, frozen)
        self._shapes = layer_shapes(self.layer_sizes)
        layout = hebbian_layout(self.layer_sizes, self.options.rule_mode)
        if not isinstance(rules, (list, tuple)) or len(rules) != len(layout):
            fail(f"hebbian rules must be a list of {len(layout)} per-layer coefficient arrays")
        self.rules = [
            as_float_array(r, f"hebbian rules[{k}]", s)
            for k, (r, s) in enumerate(zip(rules, layout, strict=True))
        ]
        self.init_weights = None
        if self.options.init == "given":
            if not isinstance(init_weights, (list, tuple)) or len(init_weights) != len(self._shapes):
                fail(f"hebbian init 'given' needs init_weights: a list of {len(self._shapes)} W[in, out]")
            self.init_weights = [
                as_float_array(w, f"hebbian init_weights[{k}]", s)
                for k, (w, s) in enumerate(zip(init_weights, self._shapes, strict=True))
            ]
        terms = [
            rule_terms(r, a, b, self.options.rule_mode)
            for r, (a, b) in zip(self.rules, self._shapes, strict=True)
        ]
        self._gain = [g for g, _ in terms]
        self._offset = [o for _, o in terms]
        self._scratch = [np.empty_like(g) for g in self._gain]
        self._weights = [np.zeros(s) for s in self._shapes]
        self._pending = False  # a deferred plastic update (act(defer_update=True)) not applied yet
        self._build_stack(self._weights, None)
        self.reset(seed)

    # -- construction from / to the flat ES genome ------------------------------------------------
    @classmethod
    def from_flat(
        cls, params: np.ndarray, layer_sizes: Sequence[int], spec: PolicySpec, **options: Any
    ) -> HebbianPolicy:
        """Build from the flat rule vector (layout in the module docstring); ``options`` as ``__init__``."""
        sizes = as_layer_sizes(layer_sizes)
        mode = as_choice(options.get("rule_mode", "synapse"), "hebbian rule_mode", RULE_MODES)
        flat = as_float_array(params, "hebbian rules", (hebbian_param_count(sizes, mode),))
        return cls(sizes, split_flat(flat, hebbian_layout(sizes, mode)), spec, **options)

    def to_flat(self) -> np.ndarray:
        """The flat rule vector (a copy)."""
        return np.concatenate([r.ravel() for r in self.rules])

    # -- runtime -----------------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Redraw the initial weights from ``np.random.default_rng(seed)`` (or copy the given ones)."""
        self._pending = False
        if self.init_weights is not None:
            fresh = self.init_weights
        else:
            rng = np.random.default_rng(seed)
            fresh = draw_initial_weights(rng, self._shapes, self.options.init, self.options.init_scale)
        for w, f in zip(self._weights, fresh, strict=True):
            np.copyto(w, f)

    def act(self, obs: np.ndarray, defer_update: bool = False) -> np.ndarray:
        """Forward pass, then (unless frozen) the plastic update with this pass's activity.

        ``defer_update`` leaves the update for :meth:`finish_update` (a controller sends the action
        first); it only changes the weights of the next step, and the next ``act`` applies it if nobody
        did, so the sequence of actions is the same either way."""
        self.finish_update()
        x = network_input(self.spec, obs, out=self._stack.input)
        y = self._stack.forward(x).copy()
        if not self.options.frozen:
            if defer_update:
                self._pending = True  # the input and layer outputs stay in the stack's buffers
            else:
                _plastic_step(self, x, self._stack.outputs)
        return y

    def finish_update(self) -> None:
        """Apply the plastic update an ``act(..., defer_update=True)`` left pending (no-op otherwise)."""
        if self._pending:
            self._pending = False
            _plastic_step(self, self._stack.input, self._stack.outputs)

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        """Not offered: plastic weights change with every step, so a batch has no single meaning."""
        raise TypeError("HebbianPolicy has no act_batch; use HebbianPopulation for parallel individuals")

    @property
    def frozen(self) -> bool:
        return self.options.frozen

    def freeze(self) -> None:
        """Stop plasticity: ``act`` leaves the weights unchanged."""
        self.options.frozen = True

    def unfreeze(self) -> None:
        """Resume plasticity."""
        self.options.frozen = False

    @property
    def weights(self) -> list[np.ndarray]:
        """The current weights ``W[in, out]`` per layer (copies)."""
        return [w.copy() for w in self._weights]

    @weights.setter
    def weights(self, values: Sequence[np.ndarray]) -> None:
        if not isinstance(values, (list, tuple)) or len(values) != len(self._weights):
            fail(f"weights must be a list of {len(self._weights)} matrices")
        checked = [
            as_float_array(v, f"weights[{k}]", s)
            for k, (v, s) in enumerate(zip(values, self._shapes, strict=True))
        ]
        for w, v in zip(self._weights, checked, strict=True):
            np.copyto(w, v)
        self._pending = False

    def weight_norms(self) -> list[float]:
        """Frobenius norm of each layer's current weights."""
        return [float(np.linalg.norm(w)) for w in self._weights]

    # -- description -------------------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        extra = 0 if self.init_weights is None else sum(w.size for w in self.init_weights)
        return sum(r.size for r in self.rules) + extra

    def network_dict(self) -> dict[str, Any]:
        o = self.options
        return {
            "layer_sizes": list(self.layer_sizes),
            "rule_mode": o.rule_mode,
            "rules": self.to_flat(),
            **self._activation_fields(),
            "init": o.init,
            "init_scale": o.init_scale,
            "init_weights": None
            if self.init_weights is None
            else np.concatenate([w.ravel() for w in self.init_weights]),
            "weight_bound": o.weight_bound,
            "normalize": o.normalize,
            "frozen": o.frozen,
        }

    @classmethod
    def from_network(cls, network: Mapping[str, Any], spec: PolicySpec) -> HebbianPolicy:
        sizes = as_layer_sizes(get(network, "layer_sizes"))
        shapes = layer_shapes(sizes)
        init_weights = get(network, "init_weights", None)
        if init_weights is not None:
            flat = as_float_array(init_weights, "hebbian init_weights", (sum(a * b for a, b in shapes),))
            init_weights = split_flat(flat, shapes)
        return cls.from_flat(
            get(network, "rules"),
            sizes,
            spec,
            rule_mode=get(network, "rule_mode", "synapse"),
            hidden_activation=get(network, "hidden_activation", "tanh"),
            output_activation=get(network, "output_activation", "tanh"),
            init=get(network, "init", "uniform"),
            init_scale=get(network, "init_scale", 0.1),
            init_weights=init_weights,
            weight_bound=get(network, "weight_bound", None),
            normalize=get(network, "normalize", False),
            frozen=get(network, "frozen", False),
        )

    def describe(self) -> dict[str, Any]:
        o = self.options
        return {
            "layer_sizes": list(self.layer_sizes),
            "synapses": sum(a * b for a, b in self._shapes),
            "rule_mode": o.rule_mode,
            "parameters": self.n_params,
            "init": o.init if o.init == "given" else f"{o.init}({o.init_scale:g})",
            "weight_bound": o.weight_bound,
            "normalize": o.normalize,
            "frozen": o.frozen,
            **self._activation_fields(),
        }


class HebbianPopulation:
    """``N`` Hebbian networks of one shape stepping in parallel: rules ``params[N, n_params]``.

    Weights are ``W[N, in, out]`` per layer. Equal to ``N`` separate :class:`HebbianPolicy` objects
    reset with the same seeds and fed the same observation rows. ``options`` as for HebbianPolicy
    (``init`` ``"uniform"`` or ``"normal"``; individual initial weights are not supported here).
    """

    def __init__(
        self, params: np.ndarray, layer_sizes: Sequence[int], spec: PolicySpec, **options: Any
    ) -> None:
        sizes = as_layer_sizes(layer_sizes)
        mode = options.get("rule_mode", "synapse")
        self.template = HebbianPolicy.from_flat(
            np.zeros(hebbian_param_count(sizes, mode)), sizes, spec, **options
        )
        if self.template.init_weights is not None:
            fail("HebbianPopulation draws initial weights; 'given' init_weights are not supported")
        self.spec = spec
        self.options = self.template.options
        params = np.asarray(params, dtype=np.float64)
        n_params = self.template.n_params
        if params.ndim != 2 or params.shape[1] != n_params:
            fail(f"population params must have shape (N, {n_params}), got {params.shape}")
        self.params = as_float_array(params, "population params")
        n = self.params.shape[0]
        shapes = layer_shapes(sizes)
        rules = split_flat(self.params, hebbian_layout(sizes, self.options.rule_mode))
        terms = [rule_terms(r, a, b, self.options.rule_mode) for r, (a, b) in zip(rules, shapes, strict=True)]
        self._gain = [g for g, _ in terms]
        self._offset = [o for _, o in terms]
        self._scratch = [np.empty_like(g) for g in self._gain]
        self._shapes = shapes
        self._weights = [np.zeros((n, a, b)) for a, b in shapes]
        self._stack = DenseStack(self._weights, None, self.template.layer_activations)
        self.reset(0)

    def __len__(self) -> int:
        return self.params.shape[0]

    def reset(self, seeds: int | Sequence[int] | None = None) -> None:
        """Redraw every individual's weights: one seed for all (common random numbers) or one each."""
        n = len(self)
        if seeds is None or isinstance(seeds, (int, np.integer)):
            seeds = [seeds] * n
        if len(seeds) != n:
            raise ValueError(f"need one seed per individual ({n}), got {len(seeds)}")
        for i, seed in enumerate(seeds):
            rng = np.random.default_rng(seed)
            for w, f in zip(
                self._weights,
                draw_initial_weights(rng, self._shapes, self.options.init, self.options.init_scale),
                strict=True,
            ):
                w[i] = f

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        """Raw observations ``[N, n_obs]`` -> actions ``[N, n_actions]``, then every individual's update."""
        x = network_input(self.spec, obs, batch=True)
        if x.shape[0] != len(self):
            raise ValueError(f"need one observation row per individual ({len(self)}), got {x.shape[0]}")
        outs = self._stack.forward_batch(x)
        if not self.options.frozen:
            _plastic_step(self, x, outs)
        return outs[-1]

    @property
    def weights(self) -> list[np.ndarray]:
        """Current weights ``W[N, in, out]`` per layer (copies)."""
        return [w.copy() for w in self._weights]
