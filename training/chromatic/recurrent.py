"""An autoregressive recurrent (ENAS-style) colouring controller, numpy only.

:class:`RecurrentColouringController` has the public interface of
:class:`training.chromatic.controller.ColouringController` but colours the edges one after another in
the fixed edge order (layer by layer, C order; ``structures.py``). With ``a_t`` the colour of edge ``t``:

    x_t = e(a_{t-1}) + l(layer of edge t)          e(a_{-1}) = s, a learned start token
    h_t, c_t = LSTM(x_t, h_{t-1}, c_{t-1})          h_{-1} = c_{-1} = 0; gates i, f, g, o
    p(a_t | a_<t) = softmax(h_t V + v + O[t])

``e`` is a learned colour embedding (``K x H``), ``l`` an optional learned per-layer embedding, ``V, v``
the linear head and ``O`` an optional per-edge offset table (``E x K``, see *start* below). All are
trained together.

**REINFORCE.** For colourings ``c_k`` with rewards ``R_k``: ``A_k = (R_k - b) / s`` (``s`` the batch's
reward std, 1 when it is 0; ``b`` the moving-average baseline, the first batch's mean at first). The
ascent direction is the exact gradient (backpropagation through time by hand, trajectories held fixed) of

    J = mean_k A_k log p(c_k) + entropy * mean_k sum_t H(p(. | c_k,<t)),

followed by one Adam step on all parameters flattened; then ``b <- d * b + (1 - d) * mean(R)``.

**Entropy.** :meth:`entropy` is the ENAS-style estimate: the sum over steps of the entropy of each
step's distribution along sampled trajectories, averaged over the samples. By the chain rule its
expectation is the entropy of the joint distribution over colourings (it is unbiased); its gradient with
the samples held fixed, used for the bonus, omits the score-function term of the true entropy gradient.

**Start.** An autoregressive model has no per-edge parameter in which to put the independent
controller's per-edge lead. When ``start`` is given, the controller gets the trainable per-edge logit
offset table ``O`` with ``O[t, start[t]] = lead`` (0 elsewhere); without ``start`` there is no ``O`` and
the controller is a pure ENAS LSTM. With ``O`` the model contains the independent controller (LSTM
output 0) plus an autoregressive correction; it is a hybrid, not a pure ENAS controller.

:meth:`mode` is greedy decoding (the argmax at every step, fed back): an approximation of the most
likely colouring, not the exact maximiser of ``p``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from training.chromatic.controller import ReinforceController
from training.strategies.optimizers import Adam


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class RecurrentColouringController(ReinforceController):
    """LSTM over the edges emitting one of ``n_choices`` colours per edge, trained by REINFORCE."""

    def __init__(
        self,
        n_edges: int,
        n_choices: int,
        hidden: int = 32,
        lr: float = 0.05,
        baseline_decay: float = 0.9,
        entropy: float = 0.01,
        start: np.ndarray | None = None,
        lead: float = 0.0,
        layers: Sequence[int] | None = None,
        rng: np.random.Generator | None = None,
        init_scale: float = 0.1,
    ) -> None:
        """``layers``: edges per layer (summing to ``n_edges``) for the per-layer embedding (None: none);
        ``rng`` draws the initial weights, uniform in ``+-init_scale`` (None: seed 0)."""
        if n_edges < 1 or n_choices < 1 or hidden < 1:
            raise ValueError(
                f"controller needs >= 1 edge, choice and hidden unit, got {n_edges}, {n_choices}, {hidden}"
            )
        self.n_edges, self.n_choices, self.hidden = int(n_edges), int(n_choices), int(hidden)
        self.baseline_decay, self.entropy_coef = float(baseline_decay), float(entropy)
        if layers is not None and (sum(layers) != self.n_edges or min(layers) < 1):
            raise ValueError(f"layers must be positive edge counts summing to {self.n_edges}, got {layers}")
        self.edge_layer = None if layers is None else np.repeat(np.arange(len(layers)), layers)
        H, K = self.hidden, self.n_choices
        shapes: dict[str, tuple[int, ...]] = {"start_token": (H,), "colour_embedding": (K, H)}
        if layers is not None:
            shapes["layer_embedding"] = (len(layers), H)
        shapes |= {"lstm_w": (2 * H, 4 * H), "lstm_b": (4 * H,), "head_w": (H, K), "head_b": (K,)}
        if start is not None:
            shapes["offsets"] = (self.n_edges, K)
        self.shapes = shapes
        self.theta = np.zeros(sum(int(np.prod(s)) for s in shapes.values()))
        self.params = self._views(self.theta)
        rng = np.random.default_rng(0) if rng is None else rng
        for name in ("start_token", "colour_embedding", "layer_embedding", "lstm_w", "head_w"):
            if name in self.params:
                self.params[name][...] = rng.uniform(-init_scale, init_scale, self.shapes[name])
        if start is not None:
            s = np.asarray(start)
            if s.shape != (self.n_edges,) or s.min() < 0 or s.max() >= K:
                raise ValueError(f"start must be {self.n_edges} colours in 0..{K - 1}")
            self.params["offsets"][np.arange(self.n_edges), s] = lead
        self.optimizer = Adam(self.theta.size, lr)
        self.baseline: float | None = None

    def _views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Named views into a flat parameter (or gradient) vector."""
        out, i = {}, 0
        for name, shape in self.shapes.items():
            size = int(np.prod(shape))
            out[name] = flat[i : i + size].reshape(shape)
            i += size
        return out

    # -- forward ---------------------------------------------------------------------------------------

    def _forward(
        self, n: int, colours: np.ndarray | None = None, u: np.ndarray | None = None, keep: bool = False
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray] | None]:
        """Run the LSTM over the edges for ``n`` trajectories. Step ``t``'s colour is ``colours[:, t]``
        (teacher forcing), else inverse CDF of ``u[:, t]``, else the argmax. Returns the colours, the
        step log-probabilities ``(E, n, K)`` and, with ``keep``, the activations for backpropagation."""
        P, H, E = self.params, self.hidden, self.n_edges
        out = np.empty((n, E), dtype=np.int64) if colours is None else colours
        log_p = np.empty((E, n, self.n_choices))
        h, c = np.zeros((n, H)), np.zeros((n, H))
        cache = None
        if keep:
            cache = {
                "xh": np.empty((E, n, 2 * H)),
                "gates": np.empty((E, n, 4 * H)),
                "c": np.zeros((E + 1, n, H)),  # c[t] is the cell state before step t
                "tanh_c": np.empty((E, n, H)),
                "h": np.empty((E, n, H)),
            }
        xh = np.empty((n, 2 * H))
        # all four gates with one tanh: sigmoid(z) = (1 + tanh(z / 2)) / 2 for i, f and o, tanh for g
        half = np.full(4 * H, 0.5)
        half[2 * H : 3 * H] = 1.0
        shift = 1.0 - half
        for t in range(E):
            xh[:, :H] = P["start_token"] if t == 0 else P["colour_embedding"][out[:, t - 1]]
            if self.edge_layer is not None:
                xh[:, :H] += P["layer_embedding"][self.edge_layer[t]]
            xh[:, H:] = h
            gates = np.tanh((xh @ P["lstm_w"] + P["lstm_b"]) * half) * half + shift
            i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
            c = f * c + i * g
            tanh_c = np.tanh(c)
            h = o * tanh_c
            logits = h @ P["head_w"] + P["head_b"]
            if "offsets" in P:
                logits = logits + P["offsets"][t]
            log_p[t] = _log_softmax(logits)
            if colours is None:
                if u is None:
                    out[:, t] = np.argmax(logits, axis=1)
                else:
                    cdf = np.cumsum(np.exp(log_p[t]), axis=1)[:, :-1]
                    out[:, t] = (u[:, t, None] >= cdf).sum(axis=1)
            if cache is not None:
                cache["xh"][t], cache["gates"][t], cache["c"][t + 1] = xh, gates, c
                cache["tanh_c"][t], cache["h"][t] = tanh_c, h
        return out, log_p, cache

    # -- the controller interface ----------------------------------------------------------------------

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` colourings, shape ``(n, n_edges)``: one uniform per edge (drawn up front), inverse CDF of
        each step's distribution; the ``n`` trajectories advance together, one LSTM step per edge."""
        u = rng.random((n, self.n_edges))
        return self._forward(n, u=u)[0]

    def step_probs(self, colours: np.ndarray) -> np.ndarray:
        """Each step's distribution along the given colourings, ``(n, n_edges, n_choices)``."""
        c = self._check(colours)
        return np.exp(self._forward(len(c), colours=c)[1]).transpose(1, 0, 2)

    def log_prob(self, colours: np.ndarray) -> np.ndarray:
        """Log-probability of each colouring in ``colours`` (``(n, n_edges)``) -> ``(n,)``."""
        c = self._check(colours)
        log_p = self._forward(len(c), colours=c)[1]
        return np.take_along_axis(log_p, c.T[:, :, None], axis=2)[:, :, 0].sum(axis=0)

    def entropy(self, colours: np.ndarray | None = None, n: int = 64) -> float:
        """ENAS-style entropy estimate (nats; module docstring) along ``colours``, or along ``n``
        colourings sampled with a fixed seed (so the search's random stream is not touched)."""
        if colours is None:
            colours = self.sample(n, np.random.default_rng(0))
        c = self._check(colours)
        log_p = self._forward(len(c), colours=c)[1]
        return float(-(np.exp(log_p) * log_p).sum(axis=(0, 2)).mean())

    def mode(self) -> np.ndarray:
        """Greedy decoding (argmax at every step, fed back): the greedy approximation of the most likely
        colouring."""
        return self._forward(1)[0][0]

    def gradient(self, colours: np.ndarray, rewards: np.ndarray) -> np.ndarray:
        """Ascent direction on the flat parameters (module docstring); does not change the controller."""
        c = self._check(colours)
        n, H = len(c), self.hidden
        adv = self.advantages(rewards, n)
        _, log_p, cache = self._forward(n, colours=c, keep=True)
        assert cache is not None
        p = np.exp(log_p)  # (E, n, K)
        step_h = -(p * log_p).sum(axis=2, keepdims=True)
        d_logits = -adv[None, :, None] * p + self.entropy_coef * (-p * (log_p + step_h))
        E_idx, n_idx = np.meshgrid(np.arange(self.n_edges), np.arange(n), indexing="ij")
        d_logits[E_idx, n_idx, c.T] += adv[None, :]
        d_logits /= n
        grad = np.zeros_like(self.theta)
        G, P = self._views(grad), self.params
        G["head_w"][...] = np.einsum("tnh,tnk->hk", cache["h"], d_logits)
        G["head_b"][...] = d_logits.sum(axis=(0, 1))
        if "offsets" in G:
            G["offsets"][...] = d_logits.sum(axis=1)
        d_h_all = d_logits @ P["head_w"].T  # (E, n, H)
        dh_next, dc_next = np.zeros((n, H)), np.zeros((n, H))
        dz_all = np.empty((self.n_edges, n, 4 * H))
        d_x_all = np.empty((self.n_edges, n, H))
        for t in range(self.n_edges - 1, -1, -1):
            gates = cache["gates"][t]
            i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
            tanh_c = cache["tanh_c"][t]
            dz = dz_all[t]
            dh = d_h_all[t] + dh_next
            dc = dh * o * (1.0 - tanh_c**2) + dc_next
            dz[:, :H] = dc * g * i * (1.0 - i)
            dz[:, H : 2 * H] = dc * cache["c"][t] * f * (1.0 - f)
            dz[:, 2 * H : 3 * H] = dc * i * (1.0 - g**2)
            dz[:, 3 * H :] = dh * tanh_c * o * (1.0 - o)
            dxh = dz @ P["lstm_w"].T
            d_x_all[t], dh_next, dc_next = dxh[:, :H], dxh[:, H:], dc * f
        G["lstm_w"][...] = cache["xh"].reshape(-1, 2 * H).T @ dz_all.reshape(-1, 4 * H)
        G["lstm_b"][...] = dz_all.sum(axis=(0, 1))
        G["start_token"][...] = d_x_all[0].sum(axis=0)
        if self.n_edges > 1:
            np.add.at(G["colour_embedding"], c[:, :-1].T, d_x_all[1:])
        if self.edge_layer is not None:
            np.add.at(G["layer_embedding"], self.edge_layer, d_x_all.sum(axis=1))
        return grad

    def update(self, colours: np.ndarray, rewards: np.ndarray) -> None:
        """One REINFORCE step (Adam on all parameters), then the baseline update."""
        grad = self.gradient(colours, rewards)
        self.theta += self.optimizer.step(grad)
        self._update_baseline(rewards)

    # -- state -----------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": "recurrent",
            "names": list(self.shapes),
            "theta": self.theta.copy(),
            "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        theta = np.array(state.get("theta", ()), dtype=np.float64)
        if (
            state.get("kind") != "recurrent"
            or list(state.get("names", ())) != list(self.shapes)
            or theta.shape != self.theta.shape
        ):
            raise ValueError(
                f"not a recurrent controller state for {list(self.shapes)} ({self.theta.size} numbers)"
            )
        self.theta[...] = theta  # in place: the named views stay valid
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = None if state["baseline"] is None else float(state["baseline"])
