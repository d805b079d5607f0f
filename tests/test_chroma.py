"""The bit-packed .chroma format: test vector, round trips, size target, validation and fuzzing."""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_onnx_export import observations, robot_spec, sample_policies
from wann_ros.formats import PolicyFileError, load_policy, read_policy_bytes
from wann_ros.formats.chroma import (
    bits_per_colour,
    encode_chroma,
    pack_colours,
    paper_bits,
    read_chroma,
    save_chroma,
    size_report,
    unpack_colours,
)
from wann_ros.policies import ChromaticPolicy, generic_spec
from wann_ros.policies.dense import layer_shapes

# The test vector of docs/chroma-format.md: a 2->2->1 network, P = 3, fp32, no normalisation, no metadata.
VECTOR = bytes.fromhex(
    "89434852"  # magic
    "01"  # version
    "00"  # flags: fp32, no mean/std/clip, default action, no metadata
    "01"  # action mode: position
    "05"  # hidden activation: tanh
    "01"  # output activation: linear
    "03"  # three layer sizes
    "0ad7a33c"  # control period 0.02 (f32)
    "0300"  # P = 3
    "02"  # 2 bits per colour
    "0200"
    "0200"
    "0100"  # sizes 2, 2, 1
    "2409"  # colours 0,1,2,0 | 1,2 packed LSB first
    "0000003f"
    "000080bf"
    "00000040"  # pool 0.5, -1, 2
    "0000803e"
    "000000bf"
    "0000803f"  # biases 0.25, -0.5 | 1
    "2a8056f3"  # CRC32
)


def vector_policy() -> ChromaticPolicy:
    return ChromaticPolicy(
        [2, 2, 1],
        [0.5, -1.0, 2.0],
        [np.array([[0, 1], [2, 0]]), np.array([[1], [2]])],
        [np.array([0.25, -0.5]), np.array([1.0])],
        generic_spec("chromatic", 2, 1, control_period=0.02),
        output_activation="linear",
    )


def paper_network(dtype_seed: int = 0, n_in: int = 17, hidden: int = 41, n_out: int = 6, colours: int = 17):
    rng = np.random.default_rng(dtype_seed)
    sizes = [n_in, hidden, n_out]
    shapes = layer_shapes(sizes)
    return ChromaticPolicy(
        sizes,
        rng.normal(0, 0.5, size=colours),
        [rng.integers(0, colours, s) for s in shapes],
        [rng.normal(0, 0.1, size=b) for _, b in shapes],
        robot_spec("chromatic", n_in, n_out, rng),
    )


def test_spec_test_vector_byte_for_byte():
    assert encode_chroma(vector_policy(), "fp32", metadata=False) == VECTOR
    assert struct.unpack("<I", VECTOR[-4:])[0] == zlib.crc32(VECTOR[:-4])
    policy = read_chroma(VECTOR)
    np.testing.assert_array_equal(policy.colors[0], [[0, 1], [2, 0]])
    np.testing.assert_array_equal(policy.pool, [0.5, -1.0, 2.0])
    x = np.array([0.3, -0.7])
    np.testing.assert_array_equal(policy.act(x), vector_policy().act(x))
    assert policy.spec.action.joint_names == ("joint_0",) and policy.spec.control_period == pytest.approx(
        0.02
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 70000), st.integers(0, 300), st.integers(0, 2**32 - 1))
def test_colour_packing_round_trips_and_uses_ceil_log2_bits(n_colours, count, seed):
    bits = bits_per_colour(n_colours)
    assert bits == int(np.ceil(np.log2(n_colours)))
    colours = np.random.default_rng(seed).integers(0, n_colours, size=count)
    packed = pack_colours(colours, bits)
    assert len(packed) == -(-count * bits // 8)
    np.testing.assert_array_equal(unpack_colours(packed, count, bits), colours)


def test_fp32_round_trip_keeps_the_spec_and_float32_values(tmp_path):
    policy = sample_policies()["chromatic"]
    policy.spec.provenance.task = "ant"
    policy.spec.provenance.seed = 4
    path = tmp_path / "p.chroma"
    save_chroma(policy, path)
    back = load_policy(path)
    assert isinstance(back, ChromaticPolicy)
    a, b = back.spec.to_dict(), policy.spec.to_dict()
    assert a["provenance"] == b["provenance"] and a["observation"]["terms"] == b["observation"]["terms"]
    assert a["action"]["joint_names"] == b["action"]["joint_names"] and a["control_period"] == 0.0125
    for key in ("mean", "std"):
        np.testing.assert_array_equal(a["observation"][key], np.float32(b["observation"][key]))
    for key in ("scale", "offset", "lower", "upper"):
        np.testing.assert_array_equal(a["action"][key], np.float32(b["action"][key]))
    obs = observations(policy, 50)
    np.testing.assert_allclose(back.act_batch(obs), policy.act_batch(obs), atol=1e-6)
    np.testing.assert_array_equal(back.pool, policy.pool.astype(np.float32))


def test_fp16_stores_half_precision_and_metadata_is_optional():
    policy = sample_policies()["chromatic"]
    back = read_chroma(encode_chroma(policy, "fp16", metadata=False))
    np.testing.assert_array_equal(back.pool, policy.pool.astype(np.float16))
    np.testing.assert_array_equal(back.spec.observation.std, policy.spec.observation.std.astype(np.float16))
    assert back.spec.observation.terms[0].name == "obs" and back.spec.provenance.task == ""
    for a, b in zip(back.colors, policy.colors, strict=True):
        np.testing.assert_array_equal(a, b)
    obs = observations(policy, 50)
    np.testing.assert_allclose(back.act_batch(obs), policy.act_batch(obs), atol=2e-2)


def test_writer_refuses_values_that_do_not_fit_fp16_and_other_kinds():
    policy = paper_network()
    policy.pool[0] = 1e6
    with pytest.raises(ValueError, match="colour pool does not fit in float16"):
        encode_chroma(policy, "fp16")
    with pytest.raises(TypeError, match="only chromatic"):
        encode_chroma(sample_policies()["static"])
    with pytest.raises(ValueError, match="dtype"):
        encode_chroma(paper_network(), "int4")


def test_writer_refuses_a_policy_that_rounding_would_make_unreadable(tmp_path):
    policy = vector_policy()
    policy.spec.observation.clip = 1e-8  # 0 in fp16
    assert read_chroma(encode_chroma(policy, "fp32")).spec.observation.clip == pytest.approx(1e-8)
    with pytest.raises(ValueError, match=r"fp16 storage: .*observation clip must be a positive"):
        encode_chroma(policy, "fp16")
    policy = vector_policy()
    policy.spec.observation.std = np.array([1.0, 1e-9])  # 0 in fp16
    with pytest.raises(ValueError, match=r"fp16 storage: .*observation std must be > 0"):
        encode_chroma(policy, "fp16")
    policy = vector_policy()
    policy.spec.control_period = 9.9999999  # 10.0 in f32
    with pytest.raises(ValueError, match=r"fp32 storage: .*control period must be in \(0, 10\)"):
        save_chroma(policy, tmp_path / "p.chroma")
    assert not list(tmp_path.iterdir())


def test_save_chroma_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "p.chroma"
    save_chroma(vector_policy(), path)

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        save_chroma(paper_network(), path)
    assert path.read_bytes() == encode_chroma(vector_policy())  # the previous file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["p.chroma"]


def test_paper_network_fits_the_paper_bit_budget():
    """17->41->6, P = 17: colours + pool + biases + normalisation <= |E| ceil(log2 P) + 32 (P + hidden)."""
    policy = paper_network()
    assert paper_bits(policy) == 943 * 5 + 32 * (17 + 41) == 6571
    report = size_report(policy, "fp16", metadata=False)
    assert report["payload+normalisation"] <= 6571
    assert report["file"] == 8 * len(encode_chroma(policy, "fp16", metadata=False))
    assert report["colours"] == 8 * -(-943 * 5 // 8)


def test_load_policy_dispatches_by_magic_not_by_name(tmp_path):
    path = tmp_path / "policy.bin"
    path.write_bytes(VECTOR)
    assert isinstance(load_policy(path), ChromaticPolicy)


LIES = {
    "version": (4, 2, "version"),
    "flags": (5, 0x80, "flag bits"),
    "mode": (6, 9, "action mode"),
    "hidden activation": (7, 99, "activation"),
    "layer count": (9, 1, "layer sizes"),
    "bits": (16, 3, "bits per colour"),
}


@pytest.mark.parametrize("field", LIES)
def test_header_lies_are_named(field):
    offset, value, message = LIES[field]
    bad = bytearray(VECTOR)
    bad[offset] = value
    with pytest.raises(PolicyFileError, match=message):
        read_policy_bytes(restamp(bytes(bad)))


def restamp(data: bytes) -> bytes:
    """Recompute the CRC so that a mutant reaches the parser behind the checksum."""
    return data[:-4] + struct.pack("<I", zlib.crc32(data[:-4]))


def test_huge_declared_sizes_are_refused_before_any_allocation():
    bad = bytearray(VECTOR)
    bad[17:23] = struct.pack("<HHH", 4096, 4096, 4096)  # 32 M colours declared in a 50-byte file
    with pytest.raises(PolicyFileError, match="implies"):
        read_chroma(restamp(bytes(bad)))
    bad = bytearray(VECTOR)
    bad[9] = 64
    with pytest.raises(PolicyFileError, match="past the end"):
        read_chroma(restamp(bytes(bad)))
    # P = 1 stores colours in 0 bits, so the file length cannot bound the edge count: 2 x 4 G edges in a
    # 524 KB file whose length matches its header (pool + biases) are refused by the size limit instead
    head = bytearray(VECTOR[:23])
    head[14:17] = struct.pack("<HB", 1, 0)
    head[17:23] = struct.pack("<HHH", 65535, 65535, 65535)
    with pytest.raises(PolicyFileError, match="more than 67108864 synapses"):
        read_chroma(restamp(bytes(head) + bytes(4 * (1 + 2 * 65535)) + b"\0\0\0\0"))


def test_colour_outside_pool_crc_and_padding_are_checked():
    bad = bytearray(VECTOR)
    bad[23] = 0x27  # first colour 3 with P = 3
    with pytest.raises(PolicyFileError, match="outside the pool"):
        read_chroma(restamp(bytes(bad)))
    bad = bytearray(VECTOR)
    bad[24] |= 0x80  # a padding bit
    with pytest.raises(PolicyFileError, match="padding"):
        read_chroma(restamp(bytes(bad)))
    bad = bytearray(VECTOR)
    bad[30] ^= 1
    with pytest.raises(PolicyFileError, match="CRC32"):
        read_chroma(bytes(bad))
    for n in range(len(VECTOR)):
        with pytest.raises(PolicyFileError):
            read_chroma(VECTOR[:n])


SCORED = b'{"terms": [{"name": "obs", "size": 2}], "joint_names": ["a"], "provenance": {"score": %s}}'


def test_bad_metadata_is_refused():
    data = encode_chroma(vector_policy(), metadata=True)
    body = data[:-4]
    meta_at = len(encode_chroma(vector_policy(), metadata=False)) - 4
    for blob, message in (
        (zlib.compress(b"[1, 2]"), "JSON object"),
        (zlib.compress(b"\xff\xfe"), "not valid JSON"),
        (b"not zlib", "not valid zlib"),
        (
            zlib.compress(b'{"terms": [{"name": "obs", "size": 3}], "joint_names": ["a"]}'),
            "invalid chromatic",
        ),
        (zlib.compress(b"{}" + b" " * (17 << 20)), "at most"),
        (zlib.compress(SCORED % b"1e999"), "metadata number 1e999 is out of range"),
        (zlib.compress(SCORED % b"NaN"), "metadata contains NaN"),
        (zlib.compress(SCORED % b"-Infinity"), "metadata contains -Infinity"),
        (zlib.compress(SCORED % (b"1" + b"0" * 400)), "provenance score must be finite"),
        (zlib.compress(SCORED % (b"1" * 5000)), "metadata is not valid JSON.*digits"),
    ):
        mutant = body[:meta_at] + struct.pack("<I", len(blob)) + blob
        mutant = bytes([*mutant[:5], mutant[5] | 0x20, *mutant[6:]])
        with pytest.raises(PolicyFileError, match=message):
            read_chroma(restamp(mutant + b"\0\0\0\0"))


def fuzz_outcome(data: bytes) -> str:
    try:
        policy = read_policy_bytes(data)
    except PolicyFileError:
        return "refused"
    assert policy.act(np.zeros(policy.spec.observation.size)).shape == (policy.spec.action.size,)
    return "ok"


def test_thousands_of_mutants_give_only_policy_file_errors():
    rng = np.random.default_rng(7)
    seeds = [
        VECTOR,
        encode_chroma(sample_policies()["chromatic"], "fp16"),
        encode_chroma(paper_network(), "fp32", metadata=True),
    ]
    outcomes = {"ok": 0, "refused": 0}
    for i in range(3000):
        data = bytearray(seeds[i % len(seeds)])
        kind = i % 4
        if kind == 0:  # flip bytes
            for j in rng.integers(0, len(data), size=rng.integers(1, 4)):
                data[j] = rng.integers(0, 256)
        elif kind == 1:  # truncate or extend
            data = (
                data[: rng.integers(0, len(data))] if rng.random() < 0.5 else data + bytes(rng.integers(1, 9))
            )
        elif kind == 2:  # header bytes only
            for j in rng.integers(0, 23, size=rng.integers(1, 3)):
                data[j] = rng.integers(0, 256)
        else:  # anywhere
            data[rng.integers(0, len(data))] ^= 1 << rng.integers(0, 8)
        mutant = bytes(data)
        outcomes[fuzz_outcome(mutant)] += 1
        if len(mutant) >= 4:
            outcomes[fuzz_outcome(restamp(mutant))] += 1
    assert outcomes["refused"] > 1000 and outcomes["ok"] > 100


def test_cli_export_chroma_prints_the_size_report(tmp_path, capsys):
    from wann_ros.cli import main
    from wann_ros.formats import save_policy

    save_policy(paper_network(), tmp_path / "p.wrp")
    assert (
        main(
            ["export-chroma", str(tmp_path / "p.wrp"), "--out", str(tmp_path / "p.chroma"), "--dtype", "fp16"]
        )
        == 0
    )
    assert "payload+normalisation       6304 bits" in capsys.readouterr().out
    assert isinstance(load_policy(tmp_path / "p.chroma"), ChromaticPolicy)
    save_policy(sample_policies()["static"], tmp_path / "s.wrp")
    assert main(["export-chroma", str(tmp_path / "s.wrp"), "--out", str(tmp_path / "s.chroma")]) == 2
    assert "only chromatic" in capsys.readouterr().err
