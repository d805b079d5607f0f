"""Engine speed: ES bookkeeping, and seconds per generation of each evaluation backend on the Ant and on
the WANN swing-up (vectorised batch evaluator: serial makes one batch call, process one per worker).

    .venv/bin/python bench/bench_engine.py                      # everything
    .venv/bin/python bench/bench_engine.py --skip-ray --generations 2

Targets: ES ask+tell for 200 x 61,440 <= 0.2 s; process backend >= 1.8x faster than in-process serial
on 2 cores (Ant, and WANN swing-up); ray within 15% of the process backend on one machine. Every backend
evaluates the same candidates with the same seeds, and the bench checks that their fitnesses are identical.
The WANN population is the shipped swing-up network mutated 192 times (networks of the size a search
reaches), each at the six shared weights, 3 episodes of 1,000 steps: 3,456 episodes per generation.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from training.backends import make_backend
from training.es import ESConfig, make_search
from training.evaluation import Evaluator
from training.strategies import OpenAIES


def bench_es(popsize: int, dim: int, repeats: int) -> dict[str, float]:
    es = OpenAIES(np.zeros(dim), popsize, seed=0)
    fitness = np.random.default_rng(1).normal(size=popsize)
    times, cpu = [], []
    for _ in range(repeats + 1):
        t, c = time.perf_counter(), time.process_time()
        es.ask()
        es.tell(fitness)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {
        "first_s": times[0],
        "median_s": statistics.median(times[1:]),
        "max_s": max(times[1:]),
        "median_cpu_s": statistics.median(cpu[1:]),
    }


def bench_backend(name: str, search, candidates: list[np.ndarray], workers: int, seed: int) -> dict:
    backend = make_backend(name, search.task, workers)
    evaluator = Evaluator(search.task, backend, search.episodes, seed)
    in_process = getattr(backend, "in_process", False)
    try:
        evaluator.evaluate(candidates[0][:workers], generation=0)  # start workers and build their envs
        walls, cpus, fitness = [], [], []
        for gen, cands in enumerate(candidates):
            wall0, cpu0 = time.perf_counter(), time.process_time()
            result = evaluator.evaluate(cands, generation=gen)
            walls.append(time.perf_counter() - wall0)
            cpus.append(time.process_time() - cpu0 + (0.0 if in_process else result.cpu_s))
            fitness.append(result.episode_fitness)
    finally:
        backend.close()
    return {
        "wall_s": statistics.mean(walls),
        "cpu_s": statistics.mean(cpus),
        "episodes": int(fitness[0].size),
        "fitness": fitness,
    }


def wann_generations(generations: int) -> tuple[object, list[list]]:
    """The swing-up WANN task and ``generations`` populations grown from the shipped network."""
    from training.wann.config import LAPTOP, SWINGUP_WEIGHTS
    from training.wann.engine import WannCandidate, wann_task
    from training.wann.operators import mutate
    from training.wann.policy import from_policy
    from wann_ros.formats import load_policy

    task, _, _ = wann_task("swingup")
    genome = from_policy(load_policy(Path(__file__).parent.parent / "models" / "swingup_wann_tuned.wrp"))[0]
    rng = np.random.default_rng(0)
    c = dataclasses.replace(LAPTOP, connection_rule="layered")
    pops = []
    for _ in range(generations):
        pop = [
            mutate(genome, rng, c.operator_probabilities, c.hidden_activations, c.connection_rule)
            for _ in range(192)
        ]
        pops.append([WannCandidate(g, w) for g in pop for w in SWINGUP_WEIGHTS])
    return task, pops


def bench_wann(task, populations: list[list], workers: int, rounds: int) -> dict:
    """Serial and process on the same generations, interleaved (serial, process, serial, ...) so that
    both see the same machine; medians over ``rounds`` x generations."""
    backends = {"serial": make_backend("serial", task), "process": make_backend("process", task, workers)}
    evaluator = Evaluator(task, backends["serial"], 3, 0)
    jobs = [evaluator.jobs(len(c), g, [0] * len(c)) for g, c in enumerate(populations)]
    out: dict = {name: {"wall": [], "cpu": [], "fitness": []} for name in backends}
    try:
        backends["process"].run(populations[0][:12], jobs[0][:36])  # start the workers
        for _ in range(rounds):
            for g, cands in enumerate(populations):
                for name, backend in backends.items():
                    wall0, cpu0 = time.perf_counter(), time.process_time()
                    results = backend.run(cands, jobs[g])
                    out[name]["wall"].append(time.perf_counter() - wall0)
                    main_cpu = time.process_time() - cpu0
                    worker_cpu = 0.0 if name == "serial" else sum(info["cpu_s"] for _, info in results)
                    out[name]["cpu"].append(main_cpu + worker_cpu)
                    out[name]["fitness"].append([f for f, _ in results])
    finally:
        for backend in backends.values():
            backend.close()
    return {
        name: {
            "wall_s": statistics.median(r["wall"]),
            "cpu_s": statistics.median(r["cpu"]),
            "fitness": r["fitness"],
        }
        for name, r in out.items()
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--popsize", type=int, default=8)
    p.add_argument("--generations", type=int, default=3)
    p.add_argument("--max-steps", type=int, default=300)
    p.add_argument("--workers", type=int, default=os.cpu_count())
    p.add_argument("--es-repeats", type=int, default=10)
    p.add_argument("--skip-ray", action="store_true")
    p.add_argument("--skip-wann", action="store_true", help="leave out the WANN swing-up comparison")
    p.add_argument("--json", default=None, help="also write the numbers to this file")
    args = p.parse_args()

    out: dict = {"cores": os.cpu_count(), "load_avg_start": os.getloadavg()[0]}
    es = bench_es(200, 61_440, args.es_repeats)
    out["es_200x61440"] = es
    print(
        f"ES ask+tell 200 x 61,440: median {es['median_s']:.3f} s wall ({es['median_cpu_s']:.3f} s CPU), "
        f"max {es['max_s']:.3f} s (first generation {es['first_s']:.3f} s: page faults of fresh buffers)"
    )

    search = make_search(ESConfig(popsize=args.popsize, max_steps=args.max_steps), "ant", 0)
    candidates = [np.array(search.strategy.ask()) for _ in range(args.generations)]
    backends = ["serial", "process"] + ([] if args.skip_ray else ["ray"])
    results = {}
    for name in backends:
        results[name] = bench_backend(name, search, candidates, args.workers, seed=0)
        r = results[name]
        print(
            f"{name:8s} {r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU per generation "
            f"({r['episodes']} Ant episodes of <= {args.max_steps} steps, {args.workers} workers)"
        )
    for name in backends[1:]:
        for a, b in zip(results["serial"]["fitness"], results[name]["fitness"], strict=True):
            np.testing.assert_array_equal(a, b, err_msg=f"{name} fitness differs from serial")
    speedup = results["serial"]["wall_s"] / results["process"]["wall_s"]
    print(f"process vs serial: {speedup:.2f}x faster (target >= 1.8x on 2 cores); fitness identical")
    out["process_speedup"] = speedup
    if "ray" in results:
        overhead = results["ray"]["wall_s"] / results["process"]["wall_s"] - 1.0
        print(f"ray vs process: {overhead:+.1%} wall time (target <= +15%)")
        out["ray_overhead"] = overhead
        import ray

        ray.shutdown()
    out["backends"] = {k: {kk: vv for kk, vv in v.items() if kk != "fitness"} for k, v in results.items()}
    if not args.skip_wann:
        task, populations = wann_generations(args.generations)
        wann = bench_wann(task, populations, args.workers, rounds=2)
        for a, b in zip(wann["serial"]["fitness"], wann["process"]["fitness"], strict=True):
            np.testing.assert_array_equal(a, b, err_msg="WANN: process fitness differs from serial")
        for name, r in wann.items():
            print(
                f"WANN swing-up {name:8s} {r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU per generation "
                f"(median, interleaved; 192 x 6 x 3 episodes of 1,000 steps)"
            )
        speedup = wann["serial"]["wall_s"] / wann["process"]["wall_s"]
        print(f"WANN swing-up process vs serial: {speedup:.2f}x faster (target >= 1.8x); fitness identical")
        out["wann_process_speedup"] = speedup
        out["wann_backends"] = {
            k: {kk: vv for kk, vv in v.items() if kk != "fitness"} for k, v in wann.items()
        }
    out["load_avg_end"] = os.getloadavg()[0]
    print(f"load average (1 min) at start {out['load_avg_start']:.2f}, at end {out['load_avg_end']:.2f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
