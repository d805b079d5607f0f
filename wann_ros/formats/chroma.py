"""The bit-packed ``.chroma`` file: a chromatic network in as few bits as the paper counts.

Layout (little-endian, no padding; the full specification is docs/chroma-format.md)::

    header    magic b"\\x89CHR", version u8, flags u8, action mode u8, hidden act u8, output act u8,
              n_sizes u8, control period f32, P u16, bits per colour u8, layer sizes u16 x n_sizes
    colours   every layer's [in][out] colour matrix (C order), ``bits`` bits each, LSB first
    pool      P floats                           (float = f32 or f16, flag bit 0)
    biases    sum(sizes[1:]) floats
    mean, std n_in floats each                   (flag bits 1, 2)
    clip      1 float                            (flag bit 3)
    action    scale, offset, lower, upper: n_out floats each (flag bit 4; absent = 1, 0, -1, 1)
    metadata  u32 length + zlib(JSON)            (flag bit 5): observation terms, joint names, provenance
    crc32     u32 of every byte before it

The numbers the runtime uses live in the binary sections only; the optional metadata carries the names
and provenance, so a file without it loads with generic names (one ``obs`` term, ``joint_i`` joints).
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from wann_ros.formats import register_format, write_atomic
from wann_ros.formats.errors import PolicyFileError
from wann_ros.formats.native import loads_json
from wann_ros.policies.activations import activation_id
from wann_ros.policies.checks import as_layer_sizes
from wann_ros.policies.chromatic import ChromaticPolicy
from wann_ros.policies.dense import layer_shapes
from wann_ros.policies.spec import (
    ACTION_MODES,
    ActionSpec,
    ObservationSpec,
    ObsTerm,
    PolicySpec,
    PolicySpecError,
    Provenance,
)

MAGIC = b"\x89CHR"
VERSION = 1
DTYPES = {"fp32": np.dtype("<f4"), "fp16": np.dtype("<f2")}
FLAG_FP16, FLAG_MEAN, FLAG_STD, FLAG_CLIP, FLAG_ACTION, FLAG_METADATA = (1 << k for k in range(6))
KNOWN_FLAGS = (1 << 6) - 1
MAX_U16 = 0xFFFF
MAX_METADATA = 16 << 20  # bytes of decompressed metadata JSON
_HEAD = struct.Struct("<4sBBBBBBfHB")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_CRC = struct.Struct("<I")


def bits_per_colour(n_colours: int) -> int:
    """``ceil(log2 P)``: 0 for a single colour."""
    return (n_colours - 1).bit_length()


def sniff(data: bytes) -> bool:
    """True when ``data`` starts with the ``.chroma`` magic."""
    return data[: len(MAGIC)] == MAGIC


# -- bit packing -----------------------------------------------------------------------------------
def pack_colours(colours: np.ndarray, bits: int) -> bytes:
    """Colours ``0..2**bits-1`` as a bitstream, ``bits`` bits each, least significant bit first."""
    idx = np.asarray(colours, dtype=np.int64).ravel()
    if bits == 0:
        return b""
    planes = ((idx[:, None] >> np.arange(bits)) & 1).astype(np.uint8)
    return np.packbits(planes.ravel(), bitorder="little").tobytes()


def unpack_colours(buf: bytes, count: int, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_colours`: ``count`` colours (int64) from the first bytes of ``buf``."""
    if bits == 0:
        return np.zeros(count, dtype=np.int64)
    planes = np.unpackbits(np.frombuffer(buf, dtype=np.uint8), count=count * bits, bitorder="little")
    return planes.reshape(count, bits).astype(np.int64) @ (np.int64(1) << np.arange(bits, dtype=np.int64))


# -- writing ---------------------------------------------------------------------------------------
def _floats(values: np.ndarray, dtype: np.dtype, what: str) -> bytes:
    arr = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore"):
        out = arr.astype(dtype)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{what} does not fit in {dtype.name}: largest |value| is {np.abs(arr).max():g}")
    return out.tobytes()


def _is_default_action(action: ActionSpec) -> bool:
    return bool(
        np.all(action.scale == 1)
        and np.all(action.offset == 0)
        and np.all(action.lower == -1)
        and np.all(action.upper == 1)
    )


def _metadata_json(spec: PolicySpec) -> bytes:
    """The spec minus everything the binary sections hold, as compact JSON."""
    doc = {
        "terms": [t.to_dict() for t in spec.observation.terms],
        "joint_names": list(spec.action.joint_names),
        "provenance": spec.provenance.to_dict(),
    }
    try:
        return json.dumps(doc, allow_nan=False, sort_keys=True, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"policy spec cannot be written: it is not plain finite data ({exc})") from None


def encode_chroma(policy: ChromaticPolicy, dtype: str = "fp32", metadata: bool = True) -> bytes:
    """The ``.chroma`` bytes of a chromatic policy; ``dtype`` ("fp32" or "fp16") for every float."""
    if not isinstance(policy, ChromaticPolicy):
        raise TypeError(f"only chromatic policies have a .chroma form, got {type(policy).__name__}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {tuple(DTYPES)}, got {dtype!r}")
    ft = DTYPES[dtype]
    spec, sizes = policy.spec, policy.layer_sizes
    if policy.n_colors > MAX_U16 or max(sizes) > MAX_U16 or len(sizes) > 255:
        raise ValueError(f".chroma holds at most {MAX_U16} colours and units per layer, 255 layers")
    obs, act = spec.observation, spec.action
    flags = (
        (FLAG_FP16 if dtype == "fp16" else 0)
        | (FLAG_MEAN if obs.mean is not None else 0)
        | (FLAG_STD if obs.std is not None else 0)
        | (FLAG_CLIP if obs.clip is not None else 0)
        | (0 if _is_default_action(act) else FLAG_ACTION)
        | (FLAG_METADATA if metadata else 0)
    )
    bits = bits_per_colour(policy.n_colors)
    parts = [
        _HEAD.pack(
            MAGIC,
            VERSION,
            flags,
            ACTION_MODES.index(act.mode),
            policy.hidden_activation,
            policy.output_activation,
            len(sizes),
            spec.control_period,
            policy.n_colors,
            bits,
        ),
        b"".join(_U16.pack(n) for n in sizes),
        pack_colours(np.concatenate([c.ravel() for c in policy.colors]), bits),
        _floats(policy.pool, ft, "colour pool"),
        _floats(np.concatenate(policy.biases), ft, "biases"),
    ]
    if obs.mean is not None:
        parts.append(_floats(obs.mean, ft, "observation mean"))
    if obs.std is not None:
        parts.append(_floats(obs.std, ft, "observation std"))
    if obs.clip is not None:
        parts.append(_floats([obs.clip], ft, "observation clip"))
    if flags & FLAG_ACTION:
        parts += [
            _floats(v, ft, f"action {n}") for n, v in zip(_ACTION_FIELDS, _action_arrays(act), strict=True)
        ]
    if metadata:
        packed = zlib.compress(_metadata_json(spec), 9)
        parts += [_U32.pack(len(packed)), packed]
    body = b"".join(parts)
    data = body + _CRC.pack(zlib.crc32(body))
    try:  # rounding to f32/f16 can break a value (a clip that becomes 0, a period that becomes 10 s)
        read_chroma(data)
    except PolicyFileError as exc:
        raise ValueError(f"the policy does not survive {dtype} storage: {exc}") from None
    return data


_ACTION_FIELDS = ("scale", "offset", "lower", "upper")


def _action_arrays(act: ActionSpec) -> tuple[np.ndarray, ...]:
    return act.scale, act.offset, act.lower, act.upper


def save_chroma(policy: ChromaticPolicy, path: str | Path, dtype: str = "fp32", metadata: bool = True) -> int:
    """Write ``policy`` as a ``.chroma`` file, atomically; returns the number of bytes written."""
    data = encode_chroma(policy, dtype, metadata)
    write_atomic(path, data)
    return len(data)


# -- reading ---------------------------------------------------------------------------------------
class _Cursor:
    """Reads consecutive sections of a buffer whose total length was checked up front."""

    def __init__(self, data: bytes, start: int, end: int) -> None:
        self.data, self.pos, self.end = data, start, end
        self.sections: dict[str, int] = {}

    def take(self, n: int, what: str) -> bytes:
        if n > self.end - self.pos:
            raise PolicyFileError(f"truncated: the {what} needs {n} bytes, {self.end - self.pos} remain")
        chunk = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        self.sections[what] = self.sections.get(what, 0) + n
        return chunk

    def floats(self, count: int, dtype: np.dtype, what: str) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            arr = np.frombuffer(self.take(count * dtype.itemsize, what), dtype=dtype).astype(np.float64)
        if not np.all(np.isfinite(arr)):
            raise PolicyFileError(f"{what} contains NaN or inf")
        return arr


def _parse_header(data: bytes) -> tuple[dict[str, Any], int]:
    if len(data) < _HEAD.size + _CRC.size:
        raise PolicyFileError(f"truncated: {len(data)} bytes is shorter than a .chroma header")
    magic, version, flags, mode, hidden, output, n_sizes, period, n_colours, bits = _HEAD.unpack_from(data)
    if magic != MAGIC:
        raise PolicyFileError("not a .chroma file (wrong magic bytes)")
    if version != VERSION:
        raise PolicyFileError(f"unsupported .chroma version {version}; this reader knows {VERSION}")
    if flags & ~KNOWN_FLAGS:
        raise PolicyFileError(f"unknown flag bits 0x{flags & ~KNOWN_FLAGS:02x} set")
    if mode >= len(ACTION_MODES):
        raise PolicyFileError(f"action mode byte {mode} is not one of 0..{len(ACTION_MODES) - 1}")
    if not 2 <= n_sizes <= 64:
        raise PolicyFileError(f"{n_sizes} layer sizes; a network has 2..64")
    if n_colours < 1:
        raise PolicyFileError("the colour pool is empty (P = 0)")
    if bits != bits_per_colour(n_colours):
        raise PolicyFileError(
            f"{bits} bits per colour, but P = {n_colours} needs {bits_per_colour(n_colours)}"
        )
    end = _HEAD.size + 2 * n_sizes
    if end + _CRC.size > len(data):
        raise PolicyFileError(f"truncated: the header lists {n_sizes} layer sizes past the end of the file")
    sizes = [_U16.unpack_from(data, _HEAD.size + 2 * k)[0] for k in range(n_sizes)]
    try:  # bounds the edge count before anything is unpacked: with P = 1 colours take no bytes at all
        as_layer_sizes(sizes)
    except PolicySpecError as exc:
        raise PolicyFileError(str(exc)) from None
    header = {
        "flags": flags,
        "mode": ACTION_MODES[mode],
        "hidden": hidden,
        "output": output,
        "period": float(str(np.float32(period))),  # the shortest decimal of the stored f32
        "n_colours": n_colours,
        "bits": bits,
        "sizes": sizes,
    }
    return header, end


def _expected_size(h: dict[str, Any], header_len: int) -> int:
    """Bytes of every fixed section (all but the metadata text) implied by the header."""
    item = 2 if h["flags"] & FLAG_FP16 else 4
    sizes, flags = h["sizes"], h["flags"]
    n_edges = sum(a * b for a, b in layer_shapes(sizes))
    n_floats = h["n_colours"] + sum(sizes[1:])
    n_floats += sizes[0] * (bool(flags & FLAG_MEAN) + bool(flags & FLAG_STD)) + bool(flags & FLAG_CLIP)
    n_floats += 4 * sizes[-1] * bool(flags & FLAG_ACTION)
    meta = _U32.size if flags & FLAG_METADATA else 0
    return header_len + math.ceil(n_edges * h["bits"] / 8) + item * n_floats + meta + _CRC.size


def _read_metadata(cur: _Cursor, remaining: int) -> dict[str, Any]:
    (length,) = _U32.unpack(cur.take(_U32.size, "metadata length"))
    if length != remaining - _U32.size:
        raise PolicyFileError(
            f"metadata length {length} does not match the {remaining - _U32.size} bytes left"
        )
    packed = cur.take(length, "metadata")
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(packed, MAX_METADATA + 1)
    except zlib.error as exc:
        raise PolicyFileError(f"metadata is not valid zlib data: {exc}") from None
    if len(text) > MAX_METADATA or not inflater.eof or inflater.unused_data:
        raise PolicyFileError(f"metadata is not one zlib stream of at most {MAX_METADATA} bytes")
    doc = loads_json(text, "metadata")
    if not isinstance(doc, dict) or not isinstance(doc.get("terms"), list):
        raise PolicyFileError("metadata must be a JSON object with a 'terms' list")
    if not isinstance(doc.get("joint_names"), list):
        raise PolicyFileError("metadata must list 'joint_names'")
    return doc


def _build_spec(h: dict[str, Any], norm: dict[str, Any], action: tuple, doc: dict | None) -> PolicySpec:
    n_in, n_out = h["sizes"][0], h["sizes"][-1]
    if doc is None:
        terms: tuple[ObsTerm, ...] = (ObsTerm("obs", n_in),)
        joints: tuple[str, ...] = tuple(f"joint_{i}" for i in range(n_out))
        provenance = Provenance()
    else:
        terms = ObservationSpec.from_dict({"terms": doc["terms"]}).terms
        joints = tuple(doc["joint_names"])
        provenance = Provenance.from_dict(doc.get("provenance", {}))
    return PolicySpec(
        kind="chromatic",
        observation=ObservationSpec(terms, norm["mean"], norm["std"], norm["clip"]),
        action=ActionSpec(joints, h["mode"], *action),
        control_period=h["period"],
        provenance=provenance,
    )


def read_chroma_sections(data: bytes) -> tuple[ChromaticPolicy, dict[str, int]]:
    """The policy in ``.chroma`` bytes and the byte count of each section (header, colours, pool...)."""
    data = bytes(data)
    h, header_len = _parse_header(data)
    fixed = _expected_size(h, header_len)
    has_meta = bool(h["flags"] & FLAG_METADATA)
    if len(data) < fixed or (not has_meta and len(data) != fixed):
        raise PolicyFileError(
            f"the header implies {'at least ' if has_meta else ''}{fixed} bytes, file has {len(data)}"
        )
    (crc,) = _CRC.unpack_from(data, len(data) - _CRC.size)
    if zlib.crc32(memoryview(data)[: -_CRC.size]) != crc:
        raise PolicyFileError("CRC32 mismatch: the file is corrupted")
    flags, sizes = h["flags"], h["sizes"]
    ft = DTYPES["fp16" if flags & FLAG_FP16 else "fp32"]
    cur = _Cursor(data, header_len, len(data) - _CRC.size)
    cur.sections["header"] = header_len
    shapes = layer_shapes(sizes)
    n_edges = sum(a * b for a, b in shapes)
    stream = cur.take(math.ceil(n_edges * h["bits"] / 8), "colours")
    colours = unpack_colours(stream, n_edges, h["bits"])
    if (n_edges * h["bits"]) % 8 and stream[-1] >> ((n_edges * h["bits"]) % 8):
        raise PolicyFileError("padding bits after the last colour are not zero")
    if colours.size and colours.max() >= h["n_colours"]:
        raise PolicyFileError(f"colour {colours.max()} is outside the pool of {h['n_colours']}")
    pool = cur.floats(h["n_colours"], ft, "pool")
    biases = cur.floats(sum(sizes[1:]), ft, "biases")
    n_in, n_out = sizes[0], sizes[-1]
    norm: dict[str, Any] = {
        "mean": cur.floats(n_in, ft, "normalisation") if flags & FLAG_MEAN else None,
        "std": cur.floats(n_in, ft, "normalisation") if flags & FLAG_STD else None,
        "clip": float(cur.floats(1, ft, "normalisation")[0]) if flags & FLAG_CLIP else None,
    }
    if flags & FLAG_ACTION:
        action = tuple(cur.floats(n_out, ft, "action") for _ in _ACTION_FIELDS)
    else:
        ones = np.ones(n_out)
        action = (ones, 0 * ones, -ones, ones)
    doc = _read_metadata(cur, cur.end - cur.pos) if has_meta else None
    cur.sections["crc"] = _CRC.size
    try:
        spec = _build_spec(h, norm, action, doc)
        splits = np.cumsum([a * b for a, b in shapes])[:-1]
        bias_splits = np.cumsum(sizes[1:-1])
        policy = ChromaticPolicy(
            sizes,
            pool,
            [c.reshape(s) for c, s in zip(np.split(colours, splits), shapes, strict=True)],
            np.split(biases, bias_splits),
            spec,
            activation_id(h["hidden"]),
            activation_id(h["output"]),
        )
    except PolicySpecError as exc:
        if isinstance(exc, PolicyFileError):
            raise
        raise PolicyFileError(f"invalid chromatic policy: {exc}") from None
    return policy, cur.sections


def read_chroma(data: bytes) -> ChromaticPolicy:
    """The chromatic policy in ``.chroma`` bytes; PolicyFileError names whatever is wrong."""
    return read_chroma_sections(data)[0]


def load_chroma(path: str | Path) -> ChromaticPolicy:
    """Read a ``.chroma`` file from disk."""
    return read_chroma(Path(path).read_bytes())


# -- size report -----------------------------------------------------------------------------------
def paper_bits(policy: ChromaticPolicy) -> int:
    """The chromatic-network paper's count: ``|E| * ceil(log2 P) + 32 * (P + hidden units)``."""
    n_edges = sum(c.size for c in policy.colors)
    hidden = sum(policy.layer_sizes[1:-1])
    return n_edges * bits_per_colour(policy.n_colors) + 32 * (policy.n_colors + hidden)


def size_report(policy: ChromaticPolicy, dtype: str = "fp32", metadata: bool = True) -> dict[str, int]:
    """Bits of each section of the file ``encode_chroma(policy, dtype, metadata)`` plus the totals."""
    return report_of_file(policy, encode_chroma(policy, dtype, metadata))


def report_of_file(policy: ChromaticPolicy, data: bytes) -> dict[str, int]:
    """:func:`size_report` of ``data``, the ``.chroma`` bytes of ``policy``.

    ``payload`` = colours + pool + biases; ``payload+normalisation`` adds mean, std and clip.
    """
    sections = read_chroma_sections(data)[1]
    bits = {name: 8 * n for name, n in sections.items()}
    payload = bits["colours"] + bits["pool"] + bits["biases"]
    return {
        **bits,
        "payload": payload,
        "payload+normalisation": payload + bits.get("normalisation", 0),
        "file": 8 * len(data),
        "paper": paper_bits(policy),
    }


# -- command line (``wann-ros export-chroma``) --------------------------------------------------------
CLI_HELP = "write a chromatic policy as a bit-packed .chroma file and print its size report"


def configure_cli(p: argparse.ArgumentParser) -> None:
    p.add_argument("policy", help="chromatic policy file (any registered format)")
    p.add_argument("--out", required=True, help="output .chroma file")
    p.add_argument("--dtype", choices=tuple(DTYPES), default="fp32", help="float type of every stored number")
    p.add_argument("--no-metadata", action="store_true", help="omit names and provenance (generic names)")


def run_cli(args: argparse.Namespace) -> int:
    from wann_ros.formats import load_policy

    policy = load_policy(args.policy)
    try:
        data = encode_chroma(policy, args.dtype, not args.no_metadata)
    except (TypeError, ValueError) as exc:
        print(f"wann-ros export-chroma: error: {exc}", file=sys.stderr)
        return 2
    write_atomic(args.out, data)
    for key, bits in report_of_file(policy, data).items():
        print(f"{key:<24}{bits:>8} bits")
    return 0


register_format("chroma", sniff, read_chroma)
