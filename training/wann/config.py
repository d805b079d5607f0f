"""Settings of the WANN search. Defaults are the reference's swingup settings (``p/swingup.json`` on top
of ``p/default_wan.json`` in google/brain-tokyo-workshop WANNRelease/WANN); :data:`LAPTOP` is its
``p/laptop_swing.json``. The ranking defaults to what ``WANNRelease/prettyNeatWann`` runs (see docs/wann.md):
complexity enters the ranking in 20 % of the generations, the others rank on mean fitness alone;
:data:`PAPER_RANKING` gives the paper's 80 % (mean, connections) / 20 % (mean, peak).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from training.wann.operators import CONNECTION_RULES

SWINGUP_WEIGHTS = (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0)
HIDDEN_ACTIVATIONS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)  # the reference's swingup pool (square, 11, excluded)
OTHER_RANKINGS = ("mean", "peak")
WEIGHT_SAMPLINGS = ("series", "stratified")
# what a saved config (run.json, checkpoint) lacking a key ran: settings written before the key existed
SAVED_DEFAULTS = {"other_ranking": "peak"}


@dataclass(frozen=True)
class WannConfig:
    """Everything that shapes a WANN search (see docs/wann.md for the meaning of each field)."""

    pop_size: int = 192
    n_reps: int = 3  # episodes per shared weight and individual
    weights: tuple[float, ...] = SWINGUP_WEIGHTS
    # "series" = every generation runs ``weights``; "stratified" = every generation draws len(weights)
    # weights, one uniformly from each of that many equal slices of [min(weights), max(weights)]
    weight_sampling: str = "series"
    prob_moo: float = 0.2  # chance that a generation ranks on (mean, -connections)
    other_ranking: str = "mean"  # the other generations: "mean" alone (prettyNeatWann) or "peak" (mean, max)
    prob_init_enable: float = 0.5
    prob_add_connection: float = 0.20
    prob_add_node: float = 0.25
    prob_enable: float = 0.05
    prob_change_activation: float = 0.50
    # add connection: "acyclic" = to any node that does not lead back to the source; "layered" = only to a
    # node of a strictly later layer (the reference's rule: hidden layers by depth, outputs last)
    connection_rule: str = "acyclic"
    hidden_activations: tuple[int, ...] = HIDDEN_ACTIVATIONS
    output_activation: int = 1  # linear: what the reference runs (its task declares tanh, never applied)
    cull_ratio: float = 0.2
    elite_ratio: float = 0.2
    tournament_size: int = 8
    best_reps: int = 60  # episodes per weight that confirm a new best (reference: 20 workers x 3 reps)
    generations: int = 1024
    # "" = minimal networks; else a WANN network (run directory, policy file or a reference export) to
    # start from: the first population is that network and pop_size - 1 single mutations of it
    init_network: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
        object.__setattr__(self, "hidden_activations", tuple(int(a) for a in self.hidden_activations))
        for name in ("pop_size", "n_reps", "tournament_size", "best_reps", "generations"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"wann config: {name} must be a positive integer, got {value!r}")
        if self.pop_size < 2:
            raise ValueError("wann config: pop_size must be at least 2")
        if not self.weights or not all(math.isfinite(w) and w != 0 for w in self.weights):
            raise ValueError(f"wann config: weights must be non-zero finite numbers, got {self.weights}")
        for name in ("prob_moo", "prob_init_enable", "cull_ratio", "elite_ratio", *self._operator_fields()):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise ValueError(f"wann config: {name} must be in [0, 1], got {value!r}")
        if sum(self.operator_probabilities) <= 0:
            raise ValueError("wann config: at least one operator probability must be positive")
        if self.cull_ratio >= 1.0 or int(self.pop_size * (1 - self.cull_ratio)) < 1:
            raise ValueError("wann config: cull_ratio leaves no parents")
        if not self.hidden_activations:
            raise ValueError("wann config: hidden_activations is empty")
        if self.connection_rule not in CONNECTION_RULES:
            raise ValueError(
                f"wann config: connection_rule must be one of {CONNECTION_RULES}, "
                f"got {self.connection_rule!r}"
            )
        if self.weight_sampling not in WEIGHT_SAMPLINGS:
            raise ValueError(
                f"wann config: weight_sampling must be one of {WEIGHT_SAMPLINGS}, "
                f"got {self.weight_sampling!r}"
            )
        if self.weight_sampling == "stratified" and min(self.weights) == max(self.weights):
            raise ValueError("wann config: stratified weight_sampling needs weights spanning a range")
        if self.other_ranking not in OTHER_RANKINGS:
            raise ValueError(
                f"wann config: other_ranking must be one of {OTHER_RANKINGS}, got {self.other_ranking!r}"
            )

    @staticmethod
    def _operator_fields() -> tuple[str, ...]:
        return tuple(f"prob_{name}" for name in ("add_connection", "add_node", "enable", "change_activation"))

    @property
    def operator_probabilities(self) -> tuple[float, ...]:
        """Roulette weights in :data:`training.wann.operators.OPERATORS` order."""
        return tuple(getattr(self, f) for f in self._operator_fields())

    def _slices(self, per_weight: int = 1) -> tuple[np.ndarray, float]:
        n = len(self.weights) * per_weight
        lo, hi = min(self.weights), max(self.weights)
        return lo + (hi - lo) * np.arange(n) / n, (hi - lo) / n

    def generation_weights(self, rng: np.random.Generator) -> tuple[float, ...]:
        """The shared weights one generation runs: ``weights``, or one uniform draw per slice."""
        if self.weight_sampling == "series":
            return self.weights
        starts, width = self._slices()
        return tuple(float(w) for w in starts + width * rng.random(starts.size))

    @property
    def confirm_weights(self) -> tuple[float, ...]:
        """The shared weights that confirm a new best: ``weights``, or the midpoints of four times as
        many slices (a grid fine enough that sharp peaks at a few weights do not pass for a flat mean)."""
        if self.weight_sampling == "series":
            return self.weights
        starts, width = self._slices(per_weight=4)
        return tuple(float(w) for w in starts + width / 2)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["weights"], d["hidden_activations"] = list(self.weights), list(self.hidden_activations)
        return d

    @staticmethod
    def from_dict(d: dict[str, Any]) -> WannConfig:
        if not isinstance(d, dict):
            raise ValueError(f"wann config must be a mapping, got {type(d).__name__}")
        known = {f.name for f in fields(WannConfig)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"wann config: unknown keys {unknown}; known keys: {sorted(known)}")
        return WannConfig(**{**SAVED_DEFAULTS, **d})

    def differences(self, other: WannConfig) -> list[str]:
        """``name: mine != other`` for every field in which the two configs differ."""
        return [
            f"{f.name}: {getattr(self, f.name)!r} != {getattr(other, f.name)!r}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        ]


REFERENCE = WannConfig()
LAPTOP = replace(REFERENCE, pop_size=64, elite_ratio=0.05, tournament_size=4, best_reps=48)
PAPER_RANKING = {"prob_moo": 0.8, "other_ranking": "peak"}  # WANNRelease/WANN and the paper, sec. 3.2
