"""Reader for the WANN reference implementation's champion files (google/brain-tokyo-workshop WANNRelease).

The reference writes an individual with ``numpy.savetxt(..., delimiter=',')`` as an ``N x (N+1)`` text
matrix (``exportNet``): row = source node, column = destination node, in topological order (bias,
inputs, hidden, outputs); the last column holds each node's activation id (1-11). A cell of ``0``
means no connection and ``NaN`` a disabled connection (the reference's ``getNodeOrder`` writes the
weights of disabled genes as NaN; its ``importNet`` treats both as absent). Any other value is a
connection with that weight. The file does not say which nodes are inputs, so the caller gives
``n_inputs`` and ``n_outputs``.

The reference's ``wann_test`` replaces every weight by one shared value, while WANNTool's fine-tuning
keeps per-connection weights: pass ``shared_weight`` (and optionally ``ensemble_weights``) for the
former, nothing for the latter.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from wann_ros.formats import read_file_bytes
from wann_ros.formats.errors import PolicyFileError
from wann_ros.policies.factory import generic_spec
from wann_ros.policies.spec import PolicySpec, PolicySpecError
from wann_ros.policies.wann import WannPolicy

MAX_NODES = 4096


def parse_wann_matrix(text: str) -> np.ndarray:
    """The ``N x (N+1)`` matrix of a reference file (PolicyFileError if it is not one)."""
    rows = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise PolicyFileError("reference WANN file is empty")
    if len(rows) > MAX_NODES:
        raise PolicyFileError(f"reference WANN file has {len(rows)} rows; at most {MAX_NODES} nodes are read")
    values = []
    for i, line in enumerate(rows):
        cells = line.split(",")
        if len(cells) != len(rows) + 1:
            raise PolicyFileError(
                f"reference WANN row {i} has {len(cells)} columns; "
                f"a file of {len(rows)} nodes needs {len(rows) + 1}"
            )
        try:
            row = [float(c) for c in cells]
        except ValueError as exc:
            raise PolicyFileError(f"reference WANN row {i}: {exc}") from None
        if any(math.isinf(v) for v in row):
            raise PolicyFileError(f"reference WANN row {i} contains inf")
        values.append(row)
    return np.array(values)


def wann_from_matrix(
    matrix: np.ndarray,
    n_inputs: int,
    n_outputs: int,
    spec: PolicySpec | None = None,
    *,
    shared_weight: float | None = None,
    ensemble_weights: Sequence[float] | None = None,
) -> WannPolicy:
    """A WannPolicy from a reference matrix (see the module docstring for the convention)."""
    n = matrix.shape[0]
    if matrix.shape != (n, n + 1):
        raise PolicyFileError(f"reference WANN matrix must be N x (N+1), got {matrix.shape}")
    if not (isinstance(n_inputs, int) and isinstance(n_outputs, int) and n_inputs >= 1 and n_outputs >= 1):
        raise PolicyFileError("n_inputs and n_outputs must be positive integers")
    first_free = 1 + n_inputs
    if n < first_free + n_outputs:
        raise PolicyFileError(f"{n} nodes cannot hold the bias, {n_inputs} inputs and {n_outputs} outputs")
    weights, act_column = matrix[:, :n], matrix[:, n]
    acts = act_column[first_free:]
    if np.any(np.isnan(acts)) or np.any(acts != np.round(acts)) or np.any((acts < 1) | (acts > 11)):
        bad = int(np.flatnonzero(np.isnan(acts) | (acts != np.round(acts)) | (acts < 1) | (acts > 11))[0])
        raise PolicyFileError(f"node {first_free + bad} has activation {acts[bad]!r}; ids are 1-11")
    activations = np.ones(n, dtype=np.int64)  # bias and inputs take no activation
    activations[first_free:] = acts.astype(np.int64)
    present = np.isnan(weights) | (weights != 0)
    src, dst = np.nonzero(present)
    if np.any(dst < first_free):
        e = int(np.flatnonzero(dst < first_free)[0])
        raise PolicyFileError(f"connection {src[e]} -> {dst[e]} ends in the bias or an input node")
    if np.any(src >= dst):
        e = int(np.flatnonzero(src >= dst)[0])
        raise PolicyFileError(
            f"connection {src[e]} -> {dst[e]} is not feed-forward (rows must be topologically sorted)"
        )
    w = weights[src, dst]
    enabled = ~np.isnan(w)
    connections = np.stack([src, dst, enabled.astype(np.int64)], axis=1)
    if spec is None:
        spec = generic_spec("wann", n_inputs, n_outputs)
    try:
        return WannPolicy(
            n_inputs,
            n_outputs,
            activations,
            connections,
            spec,
            shared_weight=shared_weight,
            weights=None if shared_weight is not None else np.where(enabled, w, 0.0),
            ensemble_weights=ensemble_weights,
        )
    except PolicySpecError as exc:
        raise PolicyFileError(f"reference WANN: {exc}") from None


def read_wann_reference(
    path: str | os.PathLike,
    n_inputs: int,
    n_outputs: int,
    spec: PolicySpec | None = None,
    *,
    shared_weight: float | None = None,
    ensemble_weights: Sequence[float] | None = None,
) -> WannPolicy:
    """Read a reference champion file (e.g. ``champions/swing.out``: 5 inputs, 1 output) as a WannPolicy.

    ``spec`` defaults to :func:`~wann_ros.policies.factory.generic_spec`; per-connection weights from the
    file unless ``shared_weight`` is given. PolicyFileError (naming the file) when it is malformed.
    """
    data = read_file_bytes(path)
    try:
        text = data.decode("ascii")
        return wann_from_matrix(
            parse_wann_matrix(text),
            n_inputs,
            n_outputs,
            spec,
            shared_weight=shared_weight,
            ensemble_weights=ensemble_weights,
        )
    except UnicodeDecodeError:
        raise PolicyFileError(f"{os.fspath(path)}: not a text matrix (non-ASCII bytes)") from None
    except PolicyFileError as exc:
        raise PolicyFileError(f"{os.fspath(path)}: {exc}") from None
