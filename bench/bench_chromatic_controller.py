"""Time of one ``sample`` + ``update`` of each colouring controller at the Ant's and the swing-up's size.

The Ant's chromatic network 28 -> 41 -> 8 has E = 1,476 edges and P = K = 17 colours; the swing-up's
5 -> 16 -> 1 has 96 edges and 8 colours. A generation of 32 candidates samples 16 colourings (one per
antithetic pair). Prints microseconds per call (median of ``--repeats``); no assertions.

    .venv/bin/python bench/bench_chromatic_controller.py
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from training.chromatic.controller import ColouringController
from training.chromatic.recurrent import RecurrentColouringController

SAMPLES = 16
#: name -> (edges per layer, colours)
SIZES = {"ant": ((28 * 41, 41 * 8), 17), "swingup": ((5 * 16, 16 * 1), 8)}


def median_us(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--hidden", type=int, default=32, help="LSTM hidden size of the recurrent controller")
    args = p.parse_args()
    print(f"{SAMPLES} colourings per call; median of {args.repeats} runs")
    print("| network | E | K | controller | sample (us) | update (us) | sample + update (us) |")
    print("|---|---|---|---|---|---|---|")
    for network, (layers, choices) in SIZES.items():
        edges = sum(layers)
        rng = np.random.default_rng(0)
        start = rng.integers(0, choices, edges)
        controllers = {
            "independent": ColouringController(edges, choices, 0.5, 0.9, 0.001, start, 3.0),
            f"recurrent (hidden {args.hidden})": RecurrentColouringController(
                edges, choices, args.hidden, 0.5, 0.9, 0.001, start, 3.0, layers=layers, rng=rng
            ),
        }
        for name, c in controllers.items():
            colours = c.sample(SAMPLES, rng)
            rewards = rng.normal(size=SAMPLES)
            t_sample = median_us(lambda c=c, g=rng: c.sample(SAMPLES, g), args.repeats)
            t_update = median_us(lambda c=c, x=colours, r=rewards: c.update(x, r), args.repeats)
            print(
                f"| {network} | {edges:,} | {choices} | {name} | {t_sample:,.0f} | {t_update:,.0f} "
                f"| {t_sample + t_update:,.0f} |"
            )


if __name__ == "__main__":
    main()
