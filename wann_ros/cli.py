"""The ``wann-ros`` command line: one argparse subcommand per entry of :data:`COMMANDS`.

A module adds a subcommand by adding a :class:`Subcommand` to ``COMMANDS`` (``configure`` declares its
arguments, ``run`` returns the exit code). A bad policy file is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wann_ros.formats import (
    PolicyFileError,
    c_export,
    chroma,
    detect_format,
    file_sha256,
    onnx_export,
    read_file_bytes,
)
from wann_ros.policies.spec import PolicySpecError


@dataclass(frozen=True)
class Subcommand:
    """One ``wann-ros NAME ...`` command."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def inspect_summary(path: str) -> dict[str, Any]:
    """Everything ``wann-ros inspect`` reports about a policy file, as plain data."""
    data = read_file_bytes(path)
    try:
        fmt = detect_format(data)
        policy = fmt.load(data)
    except PolicyFileError as exc:
        raise PolicyFileError(f"{path}: {exc}") from None
    spec = policy.spec
    obs, act = spec.observation, spec.action
    describe = getattr(policy, "describe", None)
    return {
        "file": path,
        "format": fmt.name,
        "sha256": file_sha256(path),
        "bytes": len(data),
        "kind": spec.kind,
        "network": describe() if describe else {},
        "parameters": getattr(policy, "n_params", None),
        "observation": {
            "size": obs.size,
            "terms": [t.to_dict() for t in obs.terms],
            "normalized": {"mean": obs.mean is not None, "std": obs.std is not None, "clip": obs.clip},
        },
        "action": {
            "mode": act.mode,
            "joints": [
                {
                    "name": name,
                    "scale": float(act.scale[i]),
                    "offset": float(act.offset[i]),
                    "lower": float(act.lower[i]),
                    "upper": float(act.upper[i]),
                }
                for i, name in enumerate(act.joint_names)
            ],
        },
        "control_period": spec.control_period,
        "provenance": spec.provenance.to_dict(),
    }


def format_summary(s: dict[str, Any]) -> str:
    """The human-readable form of :func:`inspect_summary`."""
    lines = [
        f"file            {s['file']}",
        f"format          {s['format']} ({s['bytes']} bytes)",
        f"sha256          {s['sha256']}",
        f"kind            {s['kind']}",
        f"parameters      {s['parameters']}",
    ]
    lines += [f"  {k:<21} {v}" for k, v in s["network"].items()]
    norm = s["observation"]["normalized"]
    steps = [k for k in ("mean", "std") if norm[k]] + ([f"clip {norm['clip']:g}"] if norm["clip"] else [])
    lines.append(f"observation     {s['observation']['size']} values, normalised: {', '.join(steps) or 'no'}")
    for term in s["observation"]["terms"]:
        params = f" {term['params']}" if term["params"] else ""
        lines.append(f"  {term['name']:<21} {term['size']}{params}")
    lines.append(f"action          {len(s['action']['joints'])} joints, {s['action']['mode']} commands")
    for j in s["action"]["joints"]:
        lines.append(
            f"  {j['name']:<21} offset {j['offset']:+.4g} scale {j['scale']:.4g} "
            f"limits [{j['lower']:.4g}, {j['upper']:.4g}]"
        )
    period = s["control_period"]
    lines.append(f"control period  {period:g} s ({1.0 / period:g} Hz)")
    prov = s["provenance"]
    lines.append("provenance")
    for key in ("task", "seed", "generation", "score", "command"):
        lines.append(f"  {key:<21} {prov[key]}")
    lines += [f"  {k:<21} {v}" for k, v in prov["extra"].items()]
    return "\n".join(lines)


def _configure_inspect(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="policy file (any registered format, recognised by content)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def _run_inspect(args: argparse.Namespace) -> int:
    summary = inspect_summary(args.file)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


def _configure_rollout(p: argparse.ArgumentParser) -> None:
    p.add_argument("policy", help="policy file (any registered format)")
    p.add_argument("--env", required=True, help="gymnasium env id, e.g. wann_ros/AntDamage-v0")
    p.add_argument("--out", required=True, help="output .gif, .mp4 or .png (a strip of frames)")
    p.add_argument("--steps", type=int, default=1000, help="most env steps")
    p.add_argument("--every", type=int, default=10, help="keep every k-th frame")
    p.add_argument("--seed", type=int, default=0, help="env and policy seed")
    p.add_argument("--morphology", default=None, help="quadruped morphology (e.g. left_front)")


def _run_rollout(args: argparse.Namespace) -> int:
    from wann_ros.sim.render import rollout_main  # the sim extra (gymnasium, pybullet), only when used

    try:
        return rollout_main(args)
    except ValueError as exc:
        print(f"wann-ros rollout: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2


#: name -> subcommand; add entries here (or from another module before ``main`` runs)
COMMANDS: dict[str, Subcommand] = {
    "inspect": Subcommand("print a policy file's spec and network summary", _configure_inspect, _run_inspect),
    "rollout": Subcommand(
        "run a policy for one episode in a gymnasium env; write a GIF/MP4/PNG strip, print the return",
        _configure_rollout,
        _run_rollout,
    ),
    **{
        name: Subcommand(module.CLI_HELP, module.configure_cli, module.run_cli)
        for name, module in (
            ("export-c", c_export),
            ("export-chroma", chroma),
            ("export-onnx", onnx_export),
        )
    },
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="wann-ros", description="evolved compact control policies for ROS 2"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, cmd in COMMANDS.items():
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        cmd.configure(p)
        p.set_defaults(run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``wann-ros`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args)
    except PolicySpecError as exc:  # PolicyFileError included: a bad or unreadable file
        message = " ".join(str(exc).split())
        print(f"wann-ros {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
