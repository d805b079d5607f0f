"""Fuzzing the native reader: whatever the bytes, the result is a valid policy or a PolicyFileError.

The mutants that keep a valid frame (CRC and lengths recomputed) reach the JSON and array validation,
which is where lies about sizes, types and values must be caught before any allocation.
"""

from __future__ import annotations

import json
import random

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_native_format import frame, split
from tests.test_policies import all_kinds
from wann_ros.formats import PolicyFileError, read_policy_bytes, write_policy_bytes
from wann_ros.formats.native import decode

SEEDS = [write_policy_bytes(p) for p in all_kinds()]
ODD_VALUES = [
    None,
    True,
    0,
    -1,
    1,
    3,
    2**31,
    2**63,
    10**30,
    -(10**20),
    0.5,
    -1e308,
    1e308,
    "",
    "tanh",
    "synapse",
    "x" * 100,
    [],
    [1],
    [3, 4, 2],
    [[1, 2], [3]],
    [3, 65536, 2],
    {},
    {"a": 1},
    [None],
    ["a", "b"],
]


def outcome(data: bytes) -> str:
    """'ok' (and the policy works) or 'refused'; any other exception fails the test."""
    try:
        policy = read_policy_bytes(data)
    except PolicyFileError:
        return "refused"
    n = policy.spec.observation.size
    out = policy.act(np.zeros(n))
    assert out.shape == (policy.spec.action.size,)
    return "ok"


def paths(node, prefix=()):
    """Every (path, value) in a JSON tree."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, (*prefix, i))


def set_path(tree, path, value):
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def mutate(rng: random.Random, data: bytes) -> bytes:
    kind = rng.randrange(7)
    if kind == 0:  # bit flips, CRC left as is
        b = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        return bytes(b)
    if kind == 1:  # truncation
        return data[: rng.randrange(len(data))]
    if kind == 2:  # inserted bytes
        at = rng.randrange(len(data))
        return data[:at] + rng.randbytes(rng.randint(1, 16)) + data[at:]
    header, blob = split(data)
    if kind == 3:  # one JSON value replaced, frame and CRC fixed
        path, _ = rng.choice([p for p in paths(header) if p[0]])
        set_path(header, path, rng.choice(ODD_VALUES))
        return frame(header, blob)
    if kind == 4:  # one JSON key removed
        path, _ = rng.choice([p for p in paths(header) if p[0] and isinstance(p[0][-1], str)])
        parent = header
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
        return frame(header, blob)
    if kind == 5:  # bits flipped inside header text or blob, frame and CRC fixed
        text = bytearray(json.dumps(header).encode())
        body = bytearray(blob)
        target = text if rng.random() < 0.5 or not body else body
        target[rng.randrange(len(target))] ^= 1 << rng.randrange(8)
        return frame(bytes(text), bytes(body))
    # lied sizes: array shapes/offsets or the blob length
    name = rng.choice(sorted(header["arrays"]))
    meta = header["arrays"][name]
    field = rng.choice(["shape", "offset", "blob"])
    if field == "shape":
        meta["shape"] = [rng.choice([0, 1, 7, 2**20, 2**31, 2**40]) for _ in range(rng.randint(0, 5))]
    elif field == "offset":
        meta["offset"] = rng.choice([8, 16, 2**32, -8, len(blob) - 8, len(blob)])
    else:
        blob = blob[: rng.randrange(len(blob) + 1)] if rng.random() < 0.5 else blob + bytes(rng.randrange(64))
    return frame(header, blob)


def test_seeded_mutation_loop_only_yields_policies_or_policy_file_errors():
    rng = random.Random(20240601)
    counts = {"ok": 0, "refused": 0}
    for i in range(4000):
        counts[outcome(mutate(rng, SEEDS[i % len(SEEDS)]))] += 1
    assert counts["refused"] > 2500  # most mutants are caught...
    assert counts["ok"] > 0  # ...while harmless edits (e.g. provenance text) still load


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_arbitrary_bytes_are_refused(data):
    assert outcome(data) == "refused"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.integers(0, len(SEEDS) - 1), st.data())
def test_single_byte_edits_with_a_fixed_frame(index, data):
    header, blob = split(SEEDS[index])
    text = bytearray(json.dumps(header).encode())
    at = data.draw(st.integers(0, len(text) - 1))
    text[at] = data.draw(st.integers(0, 255))
    outcome(frame(bytes(text), blob))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.integers(0, len(SEEDS) - 1), st.data())
def test_byte_edits_anywhere_without_fixing_the_crc_are_refused(index, data):
    raw = bytearray(SEEDS[index])
    at = data.draw(st.integers(0, len(raw) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != raw[at]))
    raw[at] = value
    try:
        decode(bytes(raw))
    except PolicyFileError:
        return
    raise AssertionError("a corrupted byte went unnoticed")
