"""Size and speed of the C export (the table in docs/c-export.md).

For a 28->41->8 tanh policy of each kind: object sizes (``size``: text/data/bss) at -O3 -march=native and
-Os, ns per ``NAME_step`` at -O3 -march=native, against a hand-written C baseline of the same static
network and against onnxruntime's Python ``run``; then the chromatic P = 17 policy cross-compiled for a
Cortex-M4 (text + data of the linked ELF with a minimal main).

    .venv/bin/python bench/bench_c_export.py [--iterations 300000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from wann_ros.formats.c_export import c_array, export_c
from wann_ros.formats.onnx_export import export_onnx
from wann_ros.formats.onnx_policy import OnnxPolicy
from wann_ros.policies import ChromaticPolicy, HebbianPolicy, StaticPolicy, WannPolicy, generic_spec
from wann_ros.policies.dense import layer_shapes
from wann_ros.policies.hebbian import hebbian_layout

SIZES = [28, 41, 8]
HOST = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-D_POSIX_C_SOURCE=199309L"]
M4 = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os"]

TIMER = """#include <stdio.h>
#include <time.h>
#include "{h}"
#define N {n}
static float obs[64][{n_obs}], act[{n_act}];
int main(void)
{{
    struct timespec t0, t1;
    double best = 1e30, sink = 0;
    long k;
    int r, i;
    for (k = 0; k < 64; ++k)
        for (i = 0; i < {n_obs}; ++i) obs[k][i] = (float)((k * 7 + i * 13) % 17) / 8.0f - 1.0f;
    {reset}
    for (r = 0; r < 5; ++r) {{
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (k = 0; k < N; ++k) {{ {step}(obs[k & 63], act); sink += act[0]; }}
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec) < best)
            best = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    }}
    printf("%.2f %g\\n", best / N, sink);
    return 0;
}}
"""

# The hand-written baseline: the plain C a person writes for a 28->41->8 tanh MLP with normalisation.
BASELINE = """#include <math.h>
#include "base.h"
#ifdef BASE_FAST_TANH /* the same rational approximation as the export's FAST_TANH */
static float base_tanh(float x)
{{
    float t;
    x = x > 9.0f ? 9.0f : (x < -9.0f ? -9.0f : x);
    t = x * x;
    return x * ((((1.3184404e-08f * t + 2.04719604e-05f) * t + 0.00348658978f) * t + 0.133732043f) * t
                + 0.999999906f)
        / ((((7.70273718e-07f * t + 0.000327139829f) * t + 0.0258420092f) * t + 0.467065012f) * t + 1.0f);
}}
#define tanhf base_tanh
#endif
{tables}
void base_step(const float *obs, float *out)
{{
    float x[28], h[41];
    int i, j;
    for (i = 0; i < 28; ++i) {{
        float v = (obs[i] - mean[i]) * inv_std[i];
        x[i] = v > 5.0f ? 5.0f : (v < -5.0f ? -5.0f : v);
    }}
    for (j = 0; j < 41; ++j) h[j] = b0[j];
    for (i = 0; i < 28; ++i) for (j = 0; j < 41; ++j) h[j] += x[i] * W0[i * 41 + j];
    for (j = 0; j < 41; ++j) h[j] = tanhf(h[j]);
    for (j = 0; j < 8; ++j) out[j] = b1[j];
    for (i = 0; i < 41; ++i) for (j = 0; j < 8; ++j) out[j] += h[i] * W1[i * 8 + j];
    for (j = 0; j < 8; ++j) out[j] = tanhf(out[j]);
}}
"""


def policies(rng: np.random.Generator) -> dict[str, object]:
    shapes = layer_shapes(SIZES)

    def spec(kind, n_obs=SIZES[0], n_act=SIZES[-1]):
        s = generic_spec(kind, n_obs, n_act)
        s.observation.mean = rng.normal(size=n_obs)
        s.observation.std = rng.uniform(0.5, 2.0, size=n_obs)
        s.observation.clip = 5.0
        return s

    n_hidden, n = 41, 1 + 28 + 41 + 8
    acts = np.concatenate([np.ones(29, dtype=int), rng.integers(1, 12, size=n_hidden), np.full(8, 5)])
    conns = [(int(s), d, 1) for d in range(29, n) for s in rng.choice(min(d, n - 8), size=4, replace=False)]
    return {
        "static": StaticPolicy(
            [rng.normal(0, 0.3, size=s) for s in shapes],
            [rng.normal(0, 0.1, size=b) for _, b in shapes],
            spec("static")
        ),
        "chromatic P=17": ChromaticPolicy(
            SIZES,
            rng.normal(0, 0.4, size=17),
            [rng.integers(0, 17, size=s) for s in shapes],
            [rng.normal(0, 0.1, size=b) for _, b in shapes],
            spec("chromatic"),
        ),
        "hebbian": HebbianPolicy(
            SIZES, [rng.normal(0, 0.02, size=s) for s in hebbian_layout(SIZES, "synapse")], spec("hebbian"),
            normalize=True,
        ),
        "wann (41 hidden, 4 in-edges/node)": WannPolicy(28, 8, acts, conns, spec("wann"), shared_weight=0.5),
    }  # fmt: skip


def run(cmd: list[str], **kw) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def object_size(cc: str, src: Path, flags: list[str], out: Path) -> tuple[int, int, int]:
    obj = out / f"{src.stem}{abs(hash(tuple(flags)))}.o"
    run([cc, *HOST[:-1], *flags, "-c", "-o", str(obj), str(src)])
    size = "arm-none-eabi-size" if "arm" in cc else "size"
    text, data, bss = run([size, str(obj)]).splitlines()[1].split()[:3]
    return int(text), int(data), int(bss)


def time_step(
    src: list[Path], header: str, name: str, out: Path, n: int, reset: bool, macros: tuple[str, ...] = ()
) -> float:
    timer = out / f"time_{name}.c"
    timer.write_text(
        TIMER.format(
            h=header,
            n=n,
            n_obs=SIZES[0],
            n_act=SIZES[-1],
            step=f"{name}_step",
            reset=f"{name}_reset(0u);" if reset else "",
        )
    )
    exe = out / f"time_{name}"
    run(["gcc", *HOST, "-O3", "-march=native", *macros, "-o", str(exe), str(timer), *map(str, src), "-lm"])
    return float(run([str(exe)]).split()[0])


def baseline(policy: StaticPolicy, out: Path, n: int, macros: tuple[str, ...] = ()) -> float:
    obs = policy.spec.observation
    tables = "".join(
        c_array("float", name, values)
        for name, values in (
            ("mean", obs.mean),
            ("inv_std", 1.0 / obs.std),
            ("W0", policy.weights[0].ravel()),
            ("b0", policy.biases[0]),
            ("W1", policy.weights[1].ravel()),
            ("b1", policy.biases[1]),
        )
    )
    (out / "base.h").write_text("void base_step(const float *obs, float *out);\n")
    (out / "base.c").write_text(BASELINE.format(tables=tables))
    return time_step([out / "base.c"], "base.h", "base", out, n, False, macros)


def onnxruntime_ns(policy, repeats: int = 20000) -> float:
    runner = OnnxPolicy(export_onnx(policy, dtype="float32").SerializeToString())
    session, x = runner.session, np.zeros((1, 28), dtype=np.float32)
    for _ in range(200):
        session.run(None, {"obs": x})
    t0 = time.perf_counter()
    for _ in range(repeats):
        session.run(None, {"obs": x})
    return (time.perf_counter() - t0) / repeats * 1e9


def m4_sizes(policy, out: Path) -> dict[str, int]:
    export_c(policy, out, "m4", golden_steps=0)
    (out / "m4_main.c").write_text(
        '#include "m4.h"\nstatic float obs[m4_N_OBS], action[m4_N_ACT];\n'
        "int main(void) { m4_reset(0u); m4_step(obs, action); return action[0] > 0.0f; }\n"
    )
    sizes = {}
    for label, extra in (
        ("libm tanhf, nosys", []),
        ("FAST_TANH, nosys", ["-Dm4_FAST_TANH"]),
        ("libm tanhf, nosys + nano", ["--specs=nano.specs"]),
        ("FAST_TANH, nosys + nano", ["-Dm4_FAST_TANH", "--specs=nano.specs"]),
    ):
        elf = out / "m4.elf"
        sources = [str(out / "m4_main.c"), str(out / "m4.c")]
        link = ["--specs=nosys.specs", "-Wl,--gc-sections", "-lm"]
        run(
            [
                "arm-none-eabi-gcc",
                *HOST[:-1],
                *M4,
                "-ffunction-sections",
                "-fdata-sections",
                *extra,
                "-o",
                str(elf),
                *sources,
                *link,
            ]
        )
        text, data = run(["arm-none-eabi-size", str(elf)]).splitlines()[1].split()[:2]
        sizes[label] = (int(text), int(data))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    pols = policies(rng)
    out = Path(tempfile.mkdtemp(prefix="bench_c_"))
    rows = []
    variants = [(k, p, {}) for k, p in pols.items()]
    variants.insert(2, ("chromatic P=17 --expand", pols["chromatic P=17"], {"expand": True}))
    variants.insert(1, ("static --int8", pols["static"], {"int8": True}))
    for label, policy, opts in variants:
        name = "p" + str(len(rows))
        files = export_c(policy, out, name, golden_steps=0, **opts)
        o3 = object_size("gcc", files.source, ["-O3", "-march=native"], out)
        os_ = object_size("gcc", files.source, ["-Os"], out)
        ns = [
            time_step([files.source], files.header.name, name, out, args.iterations, True, macros)
            for macros in ((), (f"-D{name}_FAST_TANH",))
        ]
        rows.append((label, o3, os_, ns))
    base = [baseline(pols["static"], out, args.iterations, m) for m in ((), ("-DBASE_FAST_TANH",))]
    ort_ns = onnxruntime_ns(pols["static"])
    print(
        "| policy (28->41->8) | text/data/bss -O3 -march=native | text/data/bss -Os "
        "| ns/step tanhf | ns/step FAST_TANH |"
    )
    print("|---|---|---|---|---|")
    for label, o3, os_, ns in rows:
        print(
            f"| {label} | {'/'.join(map(str, o3))} | {'/'.join(map(str, os_))} | {ns[0]:.0f} | {ns[1]:.0f} |"
        )
    print(f"| hand-written C baseline (static) | | | {base[0]:.0f} | {base[1]:.0f} |")
    print(f"| onnxruntime Python `run` (static, float32) | | | {ort_ns:.0f} | |")
    static_ns = rows[0][3]
    for k, tanh in enumerate(("tanhf", "FAST_TANH")):
        print(
            f"\n{tanh}: static export / hand-written baseline = {static_ns[k] / base[k]:.2f}x "
            "(target <= 1.5x)"
        )
        print(f"{tanh}: onnxruntime run / static export = {ort_ns / static_ns[k]:.1f}x (target >= 10x)")
    if shutil.which("arm-none-eabi-gcc"):
        print("\nCortex-M4 (-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os, --gc-sections), "
              "chromatic 28->41->8 P=17, linked with a minimal main:")  # fmt: skip
        print("| configuration | text | data | text+data |")
        print("|---|---|---|---|")
        for label, (text, data) in m4_sizes(pols["chromatic P=17"], out).items():
            print(f"| {label} | {text} | {data} | {text + data} |")
    else:
        print("\narm-none-eabi-gcc not found: Cortex-M4 sizes skipped (apt-get install gcc-arm-none-eabi)")
    shutil.rmtree(out)


if __name__ == "__main__":
    main()
