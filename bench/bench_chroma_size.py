"""Size report of the .chroma format (the table in docs/chroma-format.md).

For a chromatic 17->41->6 network with P = 17 (and 28->41->8), bits by the chromatic-network paper's
formula |E| ceil(log2 P) + 32 (P + hidden units) and by each section of our actual file, for fp32 and
fp16 storage, with and without observation normalisation and the metadata section.

    .venv/bin/python bench/bench_chroma_size.py
"""

from __future__ import annotations

import argparse

import numpy as np

from wann_ros.formats.chroma import size_report
from wann_ros.policies import ChromaticPolicy, generic_spec
from wann_ros.policies.dense import layer_shapes

TARGET_BITS = 6571  # the paper's count for 17->41->6, P = 17


def network(sizes: list[int], colours: int, normalised: bool, seed: int = 0) -> ChromaticPolicy:
    rng = np.random.default_rng(seed)
    spec = generic_spec("chromatic", sizes[0], sizes[-1])
    spec.provenance.task = "ant"
    if normalised:
        spec.observation.mean = rng.normal(size=sizes[0])
        spec.observation.std = rng.uniform(0.5, 2.0, size=sizes[0])
        spec.observation.clip = 5.0
    shapes = layer_shapes(sizes)
    return ChromaticPolicy(
        sizes,
        rng.normal(0, 0.5, size=colours),
        [rng.integers(0, colours, size=s) for s in shapes],
        [rng.normal(0, 0.1, size=b) for _, b in shapes],
        spec,
    )


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    argparse.ArgumentParser(description=__doc__, formatter_class=raw).parse_args()  # no options, only --help
    columns = (
        "colours",
        "pool",
        "biases",
        "normalisation",
        "payload+normalisation",
        "header",
        "metadata",
        "file",
    )
    print(f"| network | dtype | normalised | metadata | paper | {' | '.join(columns)} |")
    print("|---" * (5 + len(columns)) + "|")
    for sizes in ([17, 41, 6], [28, 41, 8]):
        for dtype in ("fp32", "fp16"):
            for normalised in (True, False):
                for metadata in (False, True):
                    r = size_report(network(sizes, 17, normalised), dtype, metadata)
                    r["metadata"] = r.get("metadata", 0) + r.get("metadata length", 0)
                    cells = " | ".join(str(r.get(c, 0)) for c in columns)
                    label = "->".join(map(str, sizes)) + " P=17"
                    print(f"| {label} | {dtype} | {normalised} | {metadata} | {r['paper']} | {cells} |")
    best = size_report(network([17, 41, 6], 17, True), "fp16", False)["payload+normalisation"]
    print(f"\n17->41->6, P=17, fp16: payload + normalisation = {best} bits (target <= {TARGET_BITS})")


if __name__ == "__main__":
    main()
