"""The native policy file (``.wrp``): pickle-free, versioned, self-describing, checksummed.

Layout (all integers little-endian; the full description is docs/native-format.md)::

    magic        8 bytes   b"\\x89WRP\\r\\n\\x1a\\n"
    version      uint32    FORMAT_VERSION
    header_len   uint32    bytes of the JSON header
    blob_len     uint64    bytes of the array blob
    header       JSON (UTF-8): {"format", "spec", "network", "arrays", "writer"}
    blob         raw arrays, each at an 8-byte aligned offset
    crc32        uint32    zlib.crc32 of every byte before it

``header["network"]`` holds the network's plain values; ``header["arrays"]`` maps each array name to
``{"dtype": "<f8" | "<i8", "shape": [...], "offset": n}`` inside the blob. Together they are the
``network_dict()`` of the policy.
"""

from __future__ import annotations

import itertools
import json
import math
import struct
import zlib
from typing import Any

import numpy as np

from wann_ros import __version__
from wann_ros.formats.errors import PolicyFileError
from wann_ros.policies.base import Policy
from wann_ros.policies.factory import make_policy
from wann_ros.policies.spec import PolicySpec, PolicySpecError

MAGIC = b"\x89WRP\r\n\x1a\n"
FORMAT_VERSION = 1
FORMAT_NAME = "wann_ros.native"
_PREFIX = struct.Struct("<8sIIQ")
_CRC = struct.Struct("<I")
MIN_SIZE = _PREFIX.size + _CRC.size
MAX_HEADER = 64 << 20  # bytes of JSON header
MAX_ARRAYS = 256
MAX_NDIM = 4
MAX_EXTENT = 1 << 31  # largest size of one array axis, and of the product of all axes
ALIGN = 8
DTYPES = {"<f8": np.dtype("<f8"), "<i8": np.dtype("<i8")}


def sniff(data: bytes) -> bool:
    """True when ``data`` starts with the native magic."""
    return data[: len(MAGIC)] == MAGIC


# -- writing ---------------------------------------------------------------------------------------
def _canonical(name: str, arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "f":
        return np.ascontiguousarray(arr, dtype="<f8")
    if arr.dtype.kind in "iub":
        return np.ascontiguousarray(arr, dtype="<i8")
    raise ValueError(f"network array {name!r} has unsupported dtype {arr.dtype}")


def encode(policy: Policy) -> bytes:
    """The native file bytes of ``policy`` (its spec plus ``network_dict()``)."""
    plain: dict[str, Any] = {}
    arrays: dict[str, dict[str, Any]] = {}
    chunks: list[bytes] = []
    offset = 0
    for name, value in policy.network_dict().items():
        if not isinstance(value, np.ndarray):
            plain[name] = value
            continue
        raw = _canonical(name, value).tobytes()
        arrays[name] = {
            "dtype": _canonical(name, value).dtype.str,
            "shape": list(value.shape),
            "offset": offset,
        }
        pad = -len(raw) % ALIGN
        chunks.append(raw + b"\0" * pad)
        offset += len(raw) + pad
    header = {
        "format": FORMAT_NAME,
        "spec": policy.spec.to_dict(),
        "network": plain,
        "arrays": arrays,
        "writer": f"wann_ros {__version__}",
    }
    try:
        text = json.dumps(header, allow_nan=False, sort_keys=True, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"policy cannot be written: its spec or network is not plain finite data ({exc})"
        ) from None
    blob = b"".join(chunks)
    body = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(text), len(blob)) + text + blob
    return body + _CRC.pack(zlib.crc32(body))


# -- reading ---------------------------------------------------------------------------------------
def loads_json(raw: str | bytes, what: str) -> Any:
    """Parse JSON text (bytes: UTF-8) whose numbers are all finite (shared by every format storing JSON).

    NaN, Infinity, a float out of range (``1e999``) or anything else malformed is a PolicyFileError
    naming ``what``; huge integers stay Python ints, refused where a float is needed (spec.as_float)."""

    def constant(name: str) -> None:
        raise PolicyFileError(f"{what} contains {name}, which is not a finite number")

    def finite(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise PolicyFileError(f"{what} number {text[:40]} is out of range")
        return value

    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return json.loads(text, parse_constant=constant, parse_float=finite)
    except PolicyFileError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, int digit limit
        raise PolicyFileError(f"{what} is not valid JSON: {exc}") from None


def _split(data: bytes) -> tuple[dict[str, Any], memoryview]:
    """Check the frame (size, magic, version, lengths, CRC) and return the parsed header and the blob."""
    if len(data) < MIN_SIZE:
        raise PolicyFileError(f"truncated: {len(data)} bytes, a native policy file has at least {MIN_SIZE}")
    magic, version, header_len, blob_len = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise PolicyFileError("not a native wann_ros policy file (wrong magic bytes)")
    if version != FORMAT_VERSION:
        raise PolicyFileError(
            f"unsupported native format version {version}; this reader knows {FORMAT_VERSION}"
        )
    if header_len > MAX_HEADER:
        raise PolicyFileError(f"declared header length {header_len} exceeds the limit {MAX_HEADER}")
    expected = _PREFIX.size + header_len + blob_len + _CRC.size
    if expected != len(data):
        raise PolicyFileError(
            f"declared sizes (header {header_len}, arrays {blob_len}) need {expected} bytes, "
            f"the file has {len(data)}"
        )
    (crc,) = _CRC.unpack_from(data, len(data) - _CRC.size)
    if zlib.crc32(memoryview(data)[: -_CRC.size]) != crc:
        raise PolicyFileError("CRC32 mismatch: the file is corrupted")
    header = loads_json(bytes(data[_PREFIX.size : _PREFIX.size + header_len]), "header")
    if not isinstance(header, dict):
        raise PolicyFileError("header must be a JSON object")
    if header.get("format") != FORMAT_NAME:
        raise PolicyFileError(f"header format must be {FORMAT_NAME!r}, got {header.get('format')!r}")
    for key in ("spec", "network", "arrays"):
        if not isinstance(header.get(key), dict):
            raise PolicyFileError(f"header {key!r} must be a JSON object")
    start = _PREFIX.size + header_len
    return header, memoryview(data)[start : start + blob_len]


def _read_arrays(table: dict[str, Any], blob: memoryview) -> dict[str, np.ndarray]:
    """Validate the array table against the blob, then copy each array out."""
    if len(table) > MAX_ARRAYS:
        raise PolicyFileError(f"header lists {len(table)} arrays, more than {MAX_ARRAYS}")
    spans: list[tuple[int, int, str]] = []
    layout: dict[str, tuple[np.dtype, tuple[int, ...], int]] = {}
    for name, meta in table.items():
        if not isinstance(meta, dict):
            raise PolicyFileError(f"array {name!r}: entry must be an object")
        dtype, shape, offset = meta.get("dtype"), meta.get("shape"), meta.get("offset")
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise PolicyFileError(f"array {name!r}: dtype must be one of {tuple(DTYPES)}, got {dtype!r}")
        if (
            not isinstance(shape, list)
            or len(shape) > MAX_NDIM
            or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_EXTENT for d in shape)
        ):
            raise PolicyFileError(
                f"array {name!r}: shape must be a list of at most {MAX_NDIM} sizes in 0..{MAX_EXTENT}"
            )
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0 or offset % ALIGN:
            raise PolicyFileError(f"array {name!r}: offset must be a non-negative multiple of {ALIGN}")
        if math.prod(max(d, 1) for d in shape) > MAX_EXTENT:
            raise PolicyFileError(f"array {name!r}: shape {shape} is absurdly large")
        nbytes = math.prod(shape) * DTYPES[dtype].itemsize  # Python ints: no overflow
        if offset + nbytes > len(blob):
            raise PolicyFileError(
                f"array {name!r}: {nbytes} bytes at offset {offset} run past the {len(blob)}-byte array blob"
            )
        spans.append((offset, offset + nbytes, name))
        layout[name] = (DTYPES[dtype], tuple(shape), offset)
    spans.sort()
    for (_, end, a), (start, _, b) in itertools.pairwise(spans):
        if start < end:
            raise PolicyFileError(f"arrays {a!r} and {b!r} overlap in the blob")
    arrays = {}
    for name, (dtype, shape, offset) in layout.items():
        arr = np.frombuffer(blob, dtype=dtype, count=math.prod(shape), offset=offset).reshape(shape)
        if dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise PolicyFileError(f"array {name!r} contains NaN or inf")
        arrays[name] = arr.astype(dtype.newbyteorder("="), copy=True)
    return arrays


def decode(data: bytes) -> Policy:
    """The policy in native file bytes ``data``; PolicyFileError names whatever is wrong."""
    header, blob = _split(data)
    arrays = _read_arrays(header["arrays"], blob)
    network = dict(header["network"])
    clash = sorted(set(network) & set(arrays))
    if clash:
        raise PolicyFileError(f"network entries {clash} appear both as values and as arrays")
    network.update(arrays)
    try:
        spec = PolicySpec.from_dict(header["spec"])
        return make_policy(spec.kind, network, spec)
    except PolicyFileError:
        raise
    except PolicySpecError as exc:
        raise PolicyFileError(f"invalid policy: {exc}") from None
