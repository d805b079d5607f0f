"""Reading and writing policy files, numpy only (no ROS, no pybullet).

``load_policy(path)`` recognises a file by its content (magic bytes), never by its name, through a
registry of formats: ``register_format(name, sniff, load)``. The native format is built in; every other
module of this package is imported on first use, so a format module (``.chroma``, ONNX, ...) only has
to call :func:`register_format` at import time. Any malformed file raises :class:`PolicyFileError`.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import pkgutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wann_ros.formats import native
from wann_ros.formats.errors import PolicyFileError
from wann_ros.policies.base import Policy

MAX_FILE_SIZE = 1 << 30  # refuse to read policy files larger than 1 GiB

__all__ = [
    "MAX_FILE_SIZE",
    "PolicyFileError",
    "PolicyFormat",
    "detect_format",
    "file_sha256",
    "formats",
    "load_policy",
    "read_file_bytes",
    "read_policy_bytes",
    "register_format",
    "save_policy",
    "write_atomic",
    "write_policy_bytes",
]


@dataclass(frozen=True)
class PolicyFormat:
    """A registered file format: ``sniff(data) -> bool`` recognises it, ``load(data) -> Policy`` reads it."""

    name: str
    sniff: Callable[[bytes], bool]
    load: Callable[[bytes], Policy]


_FORMATS: dict[str, PolicyFormat] = {}
_NOT_FORMATS = {"errors", "native", "wann_reference", "onnx_export", "c_export"}  # register nothing
_discovered = False


def register_format(name: str, sniff: Callable[[bytes], bool], load: Callable[[bytes], Policy]) -> None:
    """Make ``load_policy`` recognise files for which ``sniff(data)`` is true and read them with ``load``.

    ``load`` must raise PolicyFileError for malformed data. Registering a name again replaces it.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("format name must be a non-empty string")
    _FORMATS[name] = PolicyFormat(name, sniff, load)


def _discover() -> None:
    """Import this package's format modules once so that they register themselves."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name in _NOT_FORMATS:
            continue
        try:
            importlib.import_module(f"{__name__}.{info.name}")
        except ImportError as exc:  # an optional dependency (e.g. onnxruntime) is missing
            if exc.name and exc.name.startswith(__name__):
                raise


def formats() -> list[PolicyFormat]:
    """Every registered format, in registration order."""
    _discover()
    return list(_FORMATS.values())


def detect_format(data: bytes) -> PolicyFormat:
    """The registered format whose ``sniff`` accepts ``data``; PolicyFileError when none does."""
    for fmt in formats():
        try:
            if fmt.sniff(data):
                return fmt
        except Exception:  # a sniffer that fails on odd bytes just does not recognise them
            continue
    names = ", ".join(f.name for f in formats())
    raise PolicyFileError(
        f"unrecognised policy file (first bytes {bytes(data[:8])!r}); known formats: {names}"
    )


def read_policy_bytes(data: bytes) -> Policy:
    """The policy held in ``data``, in any registered format (recognised by content)."""
    return detect_format(data).load(data)


def write_policy_bytes(policy: Policy) -> bytes:
    """The native file bytes of ``policy``."""
    return native.encode(policy)


def read_file_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of a policy file; PolicyFileError when it is unreadable or absurdly large."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_FILE_SIZE:
                raise PolicyFileError(
                    f"{os.fspath(path)}: {size} bytes is larger than the {MAX_FILE_SIZE} limit"
                )
            data = f.read(MAX_FILE_SIZE + 1)  # a FIFO, a device or a growing file has no honest st_size
    except OSError as exc:
        raise PolicyFileError(f"{os.fspath(path)}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_SIZE:
        raise PolicyFileError(f"{os.fspath(path)}: more bytes than the {MAX_FILE_SIZE} limit")
    return data


def load_policy(path: str | os.PathLike) -> Policy:
    """Load a policy file of any registered format; PolicyFileError (naming the file) if it is bad."""
    data = read_file_bytes(path)
    try:
        return read_policy_bytes(data)
    except PolicyFileError as exc:
        raise PolicyFileError(f"{os.fspath(path)}: {exc}") from None


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, fsync, then rename.

    A failure at any point leaves the previous file (if any) intact and no temporary file behind."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:  # owns (and closes) fd from here on, whatever fails
            os.fchmod(f.fileno(), 0o644)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_policy(policy: Policy, path: str | os.PathLike) -> Path:
    """Write ``policy`` as a native file, atomically (:func:`write_atomic`)."""
    return write_atomic(path, write_policy_bytes(policy))


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (the policy hash reported in diagnostics)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


register_format("native", native.sniff, native.decode)
