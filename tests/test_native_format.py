"""The native policy file: bit-exact round trips, content dispatch, atomic writes, named errors."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib

import numpy as np
import pytest

import wann_ros.formats as formats
from tests.test_policies import all_kinds
from wann_ros.formats import (
    PolicyFileError,
    detect_format,
    file_sha256,
    load_policy,
    read_policy_bytes,
    register_format,
    save_policy,
    write_policy_bytes,
)
from wann_ros.formats.native import _PREFIX, MAGIC, decode
from wann_ros.policies import generic_spec
from wann_ros.policies.spec import ObservationSpec, Provenance


def split(data: bytes) -> tuple[dict, bytes]:
    _, _, hlen, blen = _PREFIX.unpack_from(data)
    header = json.loads(data[_PREFIX.size : _PREFIX.size + hlen])
    return header, data[_PREFIX.size + hlen : _PREFIX.size + hlen + blen]


def frame(header: dict | bytes, blob: bytes, version: int = 1) -> bytes:
    """A file with a correct frame and CRC around any header and blob."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    body = _PREFIX.pack(MAGIC, version, len(text), len(blob)) + text + blob
    return body + struct.pack("<I", zlib.crc32(body))


def with_provenance(pol):
    pol.spec.provenance = Provenance("ant_damaged", 42, 317, 2154.5, "python -m training ...", {"note": "é"})
    rng = np.random.default_rng(0)
    n = pol.spec.observation.size
    pol.spec.observation = ObservationSpec(
        pol.spec.observation.terms, rng.normal(size=n), rng.uniform(1, 2, n), 5.0
    )
    return pol


@pytest.mark.parametrize("index", range(5))
def test_every_kind_round_trips_bit_exactly(tmp_path, index):
    pol = with_provenance(all_kinds()[index])
    path = save_policy(pol, tmp_path / "policy.wrp")
    again = load_policy(path)
    assert type(again) is type(pol)
    assert again.spec.to_dict() == pol.spec.to_dict()
    a, b = pol.network_dict(), again.network_dict()
    assert a.keys() == b.keys()
    for key, value in a.items():
        if isinstance(value, np.ndarray):
            assert value.dtype.kind == b[key].dtype.kind and value.shape == b[key].shape
            assert value.tobytes() == b[key].astype(value.dtype).tobytes()
        else:
            assert b[key] == value
    rng = np.random.default_rng(1)
    pol.reset(9)
    again.reset(9)
    for _ in range(5):
        x = rng.normal(size=3)
        assert pol.act(x).tobytes() == again.act(x).tobytes()
    assert write_policy_bytes(again) == path.read_bytes()  # deterministic bytes


def test_format_is_chosen_by_content_not_name(tmp_path):
    pol = all_kinds()[4]
    path = save_policy(pol, tmp_path / "policy.onnx")
    assert detect_format(path.read_bytes()).name == "native"
    assert load_policy(path).spec.kind == "static"
    (tmp_path / "policy.wrp").write_bytes(b"ir_version: 7 (not ours)")
    with pytest.raises(PolicyFileError, match="unrecognised policy file"):
        load_policy(tmp_path / "policy.wrp")


def test_registered_formats_are_dispatched_by_sniffing(monkeypatch):
    monkeypatch.setattr(formats, "_FORMATS", dict(formats._FORMATS))
    marker = all_kinds()[0]

    def sniff(data: bytes) -> bool:
        if data.startswith(b"\0"):
            raise IndexError("a sniffer that trips over odd bytes")
        return data.startswith(b"TEST")

    register_format("test", sniff, lambda data: marker)
    assert read_policy_bytes(b"TEST....") is marker
    assert read_policy_bytes(write_policy_bytes(all_kinds()[4])).spec.kind == "static"
    with pytest.raises(PolicyFileError, match=r"known formats: native, .*test"):
        read_policy_bytes(b"\0\0\0")


def test_save_is_atomic_and_hash_matches(tmp_path):
    path = tmp_path / "p.wrp"
    save_policy(all_kinds()[2], path)
    first = path.read_bytes()
    save_policy(all_kinds()[3], path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.wrp"]  # no temporary left behind
    assert path.read_bytes() != first
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="not plain finite data"):
        bad = all_kinds()[4]
        bad.spec.provenance.extra = {"when": object()}
        save_policy(bad, tmp_path / "bad.wrp")
    assert not (tmp_path / "bad.wrp").exists()


@pytest.fixture
def good() -> bytes:
    return write_policy_bytes(all_kinds()[4])


def test_frame_errors_are_named(good):
    cases = [
        (good[:20], "truncated"),
        (good[:-1], "declared sizes"),
        (good + b"\0", "declared sizes"),
        (b"PK\x03\x04" + good[4:], "wrong magic"),
        (good[:8] + struct.pack("<I", 2) + good[12:], "version 2"),
        (good[:12] + struct.pack("<I", 1 << 30) + good[16:], "header length"),
        (good[:16] + struct.pack("<Q", 1 << 60) + good[24:], "declared sizes"),
        (good[:-40] + bytes([good[-40] ^ 1]) + good[-39:], "CRC32"),
    ]
    for data, match in cases:
        with pytest.raises(PolicyFileError, match=match):
            decode(data)
    with pytest.raises(PolicyFileError, match="unrecognised"):
        read_policy_bytes(cases[3][0])


def test_content_errors_are_named(good):
    header, blob = split(good)
    nan_blob = bytearray(blob)
    nan_blob[0:8] = struct.pack("<d", float("nan"))

    def edit(fn):
        h = json.loads(json.dumps(header))
        fn(h)
        return frame(h, blob)

    cases = [
        (frame(b"{not json", blob), "not valid JSON"),
        (frame(b'{"x": NaN}', blob), "NaN"),
        (frame(b"[1, 2]", blob), "JSON object"),
        (frame(header, bytes(nan_blob)), "NaN or inf"),
        (edit(lambda h: h["spec"].update(kind="lstm")), "unknown policy kind"),
        (edit(lambda h: h["network"].update(output_activation="softmax")), "activation"),
        (edit(lambda h: h["network"].update(hidden_activation=99)), "activation"),
        (edit(lambda h: h["network"].update(layer_sizes=[3, "4", 2])), "integer"),
        (edit(lambda h: h["network"].update(layer_sizes=[3, 65536, 65536, 2])), "synapses"),
        (edit(lambda h: h["network"].update(layer_sizes=[3, 5, 2])), "shape"),
        (edit(lambda h: h["arrays"]["params"].update(dtype="<f4")), "dtype"),
        (edit(lambda h: h["arrays"]["params"].update(shape=[1 << 30])), "run past"),
        (edit(lambda h: h["arrays"]["params"].update(shape=[-1])), "shape"),
        (edit(lambda h: h["arrays"]["params"].update(offset=4)), "multiple of 8"),
        (edit(lambda h: h["arrays"].update(extra={"dtype": "<f8", "shape": [2], "offset": 0})), "overlap"),
        (edit(lambda h: h["network"].update(params=[1.0])), "both"),
        (edit(lambda h: h.update(spec=[])), "'spec' must be"),
        (edit(lambda h: h["spec"].update(control_period="fast")), "control_period"),
        (edit(lambda h: h["spec"]["action"].update(joint_names=["a", "a"])), "unique"),
        (edit(lambda h: h.update(format="other")), "format"),
        (edit(lambda h: h["arrays"].pop("params")), "missing 'params'"),
    ]
    for data, match in cases:
        with pytest.raises(PolicyFileError, match=match):
            read_policy_bytes(data)


def test_load_names_the_file(tmp_path):
    path = tmp_path / "broken.wrp"
    path.write_bytes(b"\x89WRP")
    with pytest.raises(PolicyFileError, match=r"broken\.wrp: unrecognised"):
        load_policy(path)
    with pytest.raises(PolicyFileError, match="cannot read"):
        load_policy(tmp_path / "missing.wrp")


def test_spec_of_generic_policy_survives(tmp_path):
    pol = all_kinds()[0]
    pol.spec = generic_spec("wann", 3, 2, control_period=0.01)
    again = load_policy(save_policy(pol, tmp_path / "w.wrp"))
    assert again.spec.control_period == 0.01
    assert again.spec.action.joint_names == ("joint_0", "joint_1")


HUGE = 10**400  # valid JSON (Python accepts up to 4,300 digits), too large for a float
FLOAT_FIELDS = [
    (0, ("spec", "provenance", "score"), "provenance score"),
    (0, ("spec", "control_period"), "control_period"),
    (0, ("spec", "observation", "clip"), "observation clip"),
    (0, ("network", "shared_weight"), "wann shared_weight"),
    (3, ("network", "init_scale"), "hebbian init_scale"),
    (3, ("network", "weight_bound"), "hebbian weight_bound"),
]


@pytest.mark.parametrize(("index", "path", "what"), FLOAT_FIELDS)
def test_huge_integers_where_a_float_belongs_are_policy_file_errors(index, path, what):
    header, blob = split(write_policy_bytes(all_kinds()[index]))
    node = header
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = HUGE
    with pytest.raises(PolicyFileError, match=f"{what} must be finite, got an integer of 1329 bits"):
        read_policy_bytes(frame(header, blob))


def test_inspect_of_a_huge_score_is_one_line_and_exit_2(tmp_path, capsys):
    from wann_ros.cli import main

    header, blob = split(write_policy_bytes(all_kinds()[4]))
    header["spec"]["provenance"]["score"] = HUGE
    path = tmp_path / "huge.wrp"
    path.write_bytes(frame(header, blob))
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "huge.wrp" in err and "provenance score must be finite" in err


def test_a_stream_longer_than_its_size_is_cut_at_the_limit(monkeypatch):
    monkeypatch.setattr(formats, "MAX_FILE_SIZE", 4096)
    with pytest.raises(PolicyFileError, match="more bytes than the 4096 limit"):
        load_policy("/dev/zero")  # st_size 0, endless content


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("failing", ["fchmod", "fsync", "replace"])
def test_a_failed_save_keeps_the_old_file_and_leaks_nothing(tmp_path, monkeypatch, failing):
    path = save_policy(all_kinds()[2], tmp_path / "p.wrp")
    first = path.read_bytes()
    before = open_fds()

    def broken(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, broken)
    with pytest.raises(OSError, match="No space"):
        save_policy(all_kinds()[3], path)
    monkeypatch.undo()
    assert path.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["p.wrp"]
    assert open_fds() == before
