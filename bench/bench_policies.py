"""Per-call latency of ``Policy.act`` for each kind; prints a markdown table.

    .venv/bin/python bench/bench_policies.py [--calls 100000]

Targets: chromatic and static 28->41->8 <= 8 us per step; Hebbian 28->128->64->8 forward + plastic
update <= 100 us per step. Every spec normalises its observation (mean, std, clip), as deployed ones do.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from wann_ros.policies import ChromaticPolicy, HebbianPolicy, StaticPolicy, WannPolicy, generic_spec
from wann_ros.policies.hebbian import hebbian_param_count
from wann_ros.policies.spec import ObservationSpec, PolicySpec
from wann_ros.policies.static import static_param_count


def spec(kind: str, n_obs: int, n_act: int, rng: np.random.Generator) -> PolicySpec:
    s = generic_spec(kind, n_obs, n_act)
    s.observation = ObservationSpec(
        s.observation.terms, rng.normal(size=n_obs), rng.uniform(0.5, 2, n_obs), 5.0
    )
    return s


def random_wann(rng: np.random.Generator, n_in: int, n_hidden: int, n_out: int, n_conn: int) -> WannPolicy:
    """A random feed-forward WANN: bias + inputs + hidden + outputs nodes, ``n_conn`` enabled edges."""
    n = 1 + n_in + n_hidden + n_out
    candidates = [(s, d) for d in range(1 + n_in, n) for s in range(d) if s < n - n_out]
    picks = rng.choice(len(candidates), size=n_conn, replace=False)
    conn = [[*candidates[i], 1] for i in sorted(picks)]
    acts = [1] * (1 + n_in) + rng.integers(1, 12, size=n_hidden).tolist() + [5] * n_out
    return WannPolicy(n_in, n_out, acts, conn, spec("wann", n_in, n_out, rng), shared_weight=-1.5)


def latency_us(policy, obs: np.ndarray, calls: int) -> tuple[float, float]:
    """Median and 99th percentile of single ``act`` calls, in microseconds."""
    for i in range(min(calls, 1000)):
        policy.act(obs[i % len(obs)])
    times = np.empty(calls)
    clock, act = time.perf_counter_ns, policy.act
    for i in range(calls):
        x = obs[i & 1023]
        t0 = clock()
        act(x)
        times[i] = clock() - t0
    return float(np.median(times)) / 1e3, float(np.percentile(times, 99)) / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    sizes = [28, 41, 8]
    shapes = [(28, 41), (41, 8)]
    hebb_sizes = [28, 128, 64, 8]
    hebb_rules = rng.normal(scale=0.01, size=hebbian_param_count(hebb_sizes))
    cases = [
        (
            "chromatic 28->41->8, 17 colours",
            ChromaticPolicy(
                sizes,
                rng.normal(size=17),
                [rng.integers(0, 17, size=s) for s in shapes],
                [rng.normal(size=41), rng.normal(size=8)],
                spec("chromatic", 28, 8, rng),
            ),
            8.0,
        ),
        (
            "static 28->41->8",
            StaticPolicy.from_flat(
                rng.normal(size=static_param_count(sizes)), sizes, spec("static", 28, 8, rng)
            ),
            8.0,
        ),
        (
            "hebbian 28->128->64->8, plastic",
            HebbianPolicy.from_flat(hebb_rules, hebb_sizes, spec("hebbian", 28, 8, rng)),
            100.0,
        ),
        (
            "hebbian 28->128->64->8, plastic + normalize",
            HebbianPolicy.from_flat(hebb_rules, hebb_sizes, spec("hebbian", 28, 8, rng), normalize=True),
            100.0,
        ),
        ("wann 30 nodes (5 in, 23 hidden, 1 out, 60 edges)", random_wann(rng, 5, 23, 1, 60), None),
    ]
    print(
        f"{args.calls} calls each; numpy {np.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}\n"
    )
    print("| policy | median µs | p99 µs | target µs |")
    print("|---|---:|---:|---:|")
    for name, policy, target in cases:
        obs = rng.normal(size=(1024, policy.spec.observation.size))
        med, p99 = latency_us(policy, obs, args.calls)
        print(f"| {name} | {med:.1f} | {p99:.1f} | {'-' if target is None else f'<= {target:g}'} |")


if __name__ == "__main__":
    main()
