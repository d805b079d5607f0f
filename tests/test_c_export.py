"""C99 export: generated golden tests compiled with the host gcc, tanh bound, int8, Cortex-M4 size."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.test_chroma import paper_network
from tests.test_onnx_export import sample_policies
from wann_ros.cli import main as cli_main
from wann_ros.formats import save_policy
from wann_ros.formats.c_export import (
    FAST_TANH_BOUND,
    c_prelude,
    check_name,
    export_c,
    generate_c,
)

GCC = shutil.which("gcc")
ARM_GCC = shutil.which("arm-none-eabi-gcc")
WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
M4_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os"]
pytestmark = pytest.mark.skipif(GCC is None, reason="host gcc is required for the C export tests")


def build_and_run(files, out: Path, *flags: str) -> dict[str, float]:
    """Compile NAME.c + NAME_golden.c, run the test main, return its printed errors (fails on exit != 0)."""
    exe = out / f"{files.source.stem}_test"
    subprocess.run(
        [GCC, *WARNINGS, *flags, "-o", str(exe), str(files.source), str(files.golden), "-lm"],
        check=True,
        capture_output=True,
        text=True,
    )
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    values = {k: float(v) for k, v in re.findall(r"(\w+)=([-+0-9.e]+)", run.stdout)}
    assert run.returncode == 0, run.stdout
    return values


POLICIES = sample_policies()


@pytest.mark.parametrize("opt", ["-O2", "-Os"])
@pytest.mark.parametrize("name", list(POLICIES))
def test_golden_vectors_match_numpy(name, opt, tmp_path):
    policy = POLICIES[name]
    files = export_c(policy, tmp_path, name)
    result = build_and_run(files, tmp_path, opt)
    assert result["max_abs_error"] <= 1e-5 and result["command_max_abs_error"] <= 1e-5
    assert result["steps"] == (1000 if name.startswith("hebbian") else 64)


SHIPPED = sorted(
    p
    for p in (Path(__file__).resolve().parent.parent / "models").iterdir()
    if p.suffix in (".wrp", ".chroma")
)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_model_exports_and_passes_its_golden_test(path, tmp_path):
    """What a firmware user does: one export command per shipped model, then the documented gcc line."""
    assert cli_main(["export-c", str(path), "--out", str(tmp_path), "--name", "policy"]) == 0
    files = SimpleNamespace(source=tmp_path / "policy.c", golden=tmp_path / "policy_golden.c")
    result = build_and_run(files, tmp_path, "-O2")
    assert result["max_abs_error"] <= 1e-5  # commands (N m for the Ant) are checked relative to the scale


@pytest.mark.parametrize("name", [n for n in POLICIES if n.startswith("wann")])
def test_wann_exports_default_to_double_and_small_networks_also_hold_in_float(name, tmp_path):
    files = export_c(POLICIES[name], tmp_path, name)
    assert f"#define {name}_DOUBLE" in files.source.read_text()
    assert build_and_run(files, tmp_path, "-O2", f"-D{name}_FLOAT")["max_abs_error"] <= 1e-5


def test_generated_code_is_freestanding():
    for name, policy in POLICIES.items():
        header, source = generate_c(policy, name)
        for forbidden in ("malloc(", "<stdio.h>", "<stdlib.h>", "printf(", "free("):
            assert forbidden not in source + header, (name, forbidden)
        assert f"void {name}_step(const float *obs, float *action);" in header


def test_chromatic_expanded_to_ram_and_float_hebbian_with_constraints(tmp_path):
    chromatic = POLICIES["chromatic"]
    packed = generate_c(chromatic, "c")[1]
    assert "c_colour(" in packed and "static float c_w0" not in packed
    files = export_c(chromatic, tmp_path, "cx", expand=True)
    assert "static cx_real cx_w0[160];" in files.source.read_text()
    assert build_and_run(files, tmp_path, "-O2")["max_abs_error"] <= 1e-5
    # float plastic weights: with normalisation they stay within 1e-5 of numpy over 1,000 steps
    files = export_c(POLICIES["hebbian_normalized"], tmp_path, "hn")
    assert build_and_run(files, tmp_path, "-O2", "-Dhn_FLOAT")["max_abs_error"] <= 1e-5


@pytest.mark.parametrize("name", ["static", "chromatic"])
def test_int8_weights_with_per_output_scales(name, tmp_path):
    policy = POLICIES[name]
    files = export_c(policy, tmp_path, f"{name}8", int8=True)
    source = files.source.read_text()
    assert f"static const int8_t {name}8_q0[160]" in source
    result = build_and_run(files, tmp_path, "-O2")
    # the C int8 network equals its numpy dequantised twin; its error against float is reported
    assert result["max_abs_error"] <= 1e-5
    assert 0 < result["vs_float_policy"] < 0.05


def test_fast_tanh_error_bound(tmp_path):
    program = tmp_path / "tanh_bound.c"
    program.write_text(
        "#define t_FAST_TANH\n"
        + c_prelude("t_")
        + """#include <stdio.h>
int main(void)
{
    double worst = 0;
    long k;
    for (k = -2000000; k <= 2000000; ++k) {
        const float x = (float)k * 1e-5f;
        const double e = fabs((double)t_tanh(x) - tanh((double)x));
        if (e > worst) worst = e;
    }
    printf("%.3e\\n", worst);
    return 0;
}
"""
    )
    exe = tmp_path / "tanh_bound"
    subprocess.run([GCC, *WARNINGS, "-O2", "-o", str(exe), str(program), "-lm"], check=True)
    worst = float(subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout)
    assert 0 < worst <= FAST_TANH_BOUND


def test_fast_tanh_policy_stays_close(tmp_path):
    files = export_c(POLICIES["static"], tmp_path, "ft")
    result = build_and_run(files, tmp_path, "-O2", "-Dft_FAST_TANH", "-DGOLDEN_TOL=1e-4")
    assert result["max_abs_error"] <= 1e-5


def test_c_reset_draws_seeded_weights_in_range(tmp_path):
    policy = POLICIES["hebbian"]  # uniform(-0.1, 0.1)
    files = export_c(policy, tmp_path, "hb", golden_steps=0)
    assert files.golden is None
    main = tmp_path / "draw.c"
    main.write_text(
        """#include <stdio.h>
#include "hb.h"
int main(void)
{
    static float a[hb_N_WEIGHTS], b[hb_N_WEIGHTS], c[hb_N_WEIGHTS];
    int e, same = 1, differ = 0;
    float lo = 1, hi = -1;
    hb_reset(7u); hb_get_weights(a);
    hb_reset(7u); hb_get_weights(b);
    hb_reset(8u); hb_get_weights(c);
    for (e = 0; e < hb_N_WEIGHTS; ++e) {
        same &= a[e] == b[e];
        differ |= a[e] != c[e];
        if (a[e] < lo) lo = a[e];
        if (a[e] > hi) hi = a[e];
    }
    printf("%d %d %g %g\\n", same, differ, lo, hi);
    return 0;
}
"""
    )
    exe = tmp_path / "draw"
    subprocess.run([GCC, *WARNINGS, "-O2", "-o", str(exe), str(main), str(files.source), "-lm"], check=True)
    same, differ, lo, hi = subprocess.run([str(exe)], capture_output=True, text=True).stdout.split()
    assert same == "1" and differ == "1"
    assert -0.1 <= float(lo) < -0.09 and 0.09 < float(hi) <= 0.1


def test_names_and_options_are_checked():
    for bad in ("1abc", "a-b", "x" * 41, ""):
        with pytest.raises(ValueError, match="C identifier"):
            check_name(bad)
    with pytest.raises(ValueError, match="int8 export applies"):
        generate_c(POLICIES["hebbian"], "h", int8=True)
    with pytest.raises(ValueError, match="expand applies"):
        generate_c(POLICIES["static"], "s", expand=True)


def test_cli_export_c(tmp_path):
    path = tmp_path / "policy.wrp"
    save_policy(POLICIES["wann_ensemble"], path)
    assert cli_main(["export-c", str(path), "--out", str(tmp_path / "c"), "--name", "walker"]) == 0
    files = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert files == ["walker.c", "walker.h", "walker_golden.c"]
    assert cli_main(["export-c", str(path), "--out", str(tmp_path / "c"), "--int8"]) == 2


@pytest.mark.skipif(
    ARM_GCC is None, reason="arm-none-eabi-gcc not installed (apt-get install gcc-arm-none-eabi)"
)
def test_cortex_m4_chromatic_p17_links_under_4_5_kb(tmp_path):
    policy = paper_network(n_in=28, hidden=41, n_out=8, colours=17)
    export_c(policy, tmp_path, "chroma", golden_steps=0)
    main = tmp_path / "main.c"
    main.write_text(
        '#include "chroma.h"\n'
        "static float obs[chroma_N_OBS], action[chroma_N_ACT];\n"
        "int main(void) { chroma_reset(0u); chroma_step(obs, action); return action[0] > 0.0f; }\n"
    )
    sizes = {}
    for label, extra in (("fast_tanh", ["-Dchroma_FAST_TANH"]), ("nano", ["--specs=nano.specs"])):
        elf = tmp_path / f"{label}.elf"
        subprocess.run(
            [ARM_GCC, *WARNINGS[:-1], *M4_FLAGS, "-ffunction-sections", "-fdata-sections", *extra,
             "-o", str(elf), str(main), str(tmp_path / "chroma.c"),
             "--specs=nosys.specs", "-Wl,--gc-sections", "-lm"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        out = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True).stdout
        text, data = (int(v) for v in out.splitlines()[1].split()[:2])
        sizes[label] = text + data
    assert max(sizes.values()) <= 4608, sizes


def test_golden_inputs_are_float32_exact():
    from wann_ros.formats.c_export import golden_vectors

    g = golden_vectors(POLICIES["static"], 8)
    np.testing.assert_array_equal(g.obs, g.obs.astype(np.float32))


@pytest.mark.parametrize("expand", [False, True])
def test_single_colour_pool_compiles_warning_free_and_matches(expand, tmp_path):
    """P = 1: 0 bits per colour, so there is no colour table (an unused one fails -Werror)."""
    files = export_c(paper_network(n_in=5, hidden=7, n_out=3, colours=1), tmp_path, "one", expand=expand)
    assert "one_colours" not in files.source.read_text()
    assert build_and_run(files, tmp_path, "-O2")["max_abs_error"] <= 1e-5


def test_colour_pools_beyond_16_bits_are_refused_and_15_bits_decode(tmp_path):
    """The decoder reads 3 bytes: a 15-bit colour may start at bit 7 (22 bits); 17+ bits could overflow."""
    with pytest.raises(ValueError, match="at most 65535 colours, got P = 65536"):
        generate_c(paper_network(n_in=3, hidden=4, n_out=2, colours=65536), "big")
    generate_c(paper_network(n_in=3, hidden=4, n_out=2, colours=65536), "big", int8=True)  # dense tables
    policy = paper_network(n_in=5, hidden=7, n_out=3, colours=32768)
    assert max(int(c.max()) for c in policy.colors) >= 1 << 14  # the high bits are exercised
    files = export_c(policy, tmp_path, "wide")
    assert build_and_run(files, tmp_path, "-O2")["max_abs_error"] <= 1e-5


def test_export_leaves_the_callers_hebbian_policy_alone(tmp_path):
    policy = sample_policies()["hebbian"]
    policy.reset(5)
    for obs in np.random.default_rng(1).normal(size=(3, 10)):
        policy.act(obs)
    weights = [w.copy() for w in policy.weights]
    export_c(policy, tmp_path, "hb", golden_steps=20)
    for now, before in zip(policy.weights, weights, strict=True):
        np.testing.assert_array_equal(now, before)


def test_a_refused_export_writes_no_file(tmp_path):
    with pytest.raises(ValueError, match="golden_steps"):
        export_c(POLICIES["static"], tmp_path, "s", golden_steps=-1)
    assert not list(tmp_path.iterdir())
