"""Self-contained C99 export of any policy kind, with golden vectors (docs/c-export.md).

``export_c(policy, out_dir, name)`` writes ``NAME.h`` and ``NAME.c`` (no malloc, no stdio, static buffers)
and ``NAME_golden.c``: inputs and the numpy runtime's outputs plus a test ``main`` (it uses stdio).

C API (every kind)::

    void NAME_reset(uint32_t seed);                         start an episode (call once before stepping)
    void NAME_step(const float *obs, float *action);        raw observation -> network action
    void NAME_command(const float *action, float *command); network action -> joint command

``NAME_step`` normalises the raw observation and returns the *network action*, like ``Policy.act``;
``NAME_command`` is ``ActionSpec.to_command`` (scale, offset, clamp to the joint limits). Dense loops are
input-major (``W[in][out]``, the inner loop runs over outputs) so compilers vectorise them.
Macros (define when compiling ``NAME.c``): ``NAME_DOUBLE`` computes in double instead of float
(the default for Hebbian and WANN exports; ``NAME_FLOAT`` opts out);
``NAME_FAST_TANH`` replaces libm ``tanhf`` by a rational approximation (|error| <= FAST_TANH_BOUND).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from wann_ros.formats import write_atomic
from wann_ros.formats.chroma import MAX_U16, bits_per_colour, pack_colours
from wann_ros.policies.activations import activation_id
from wann_ros.policies.base import Policy
from wann_ros.policies.chromatic import ChromaticPolicy
from wann_ros.policies.dense import layer_shapes
from wann_ros.policies.factory import make_policy
from wann_ros.policies.hebbian import HebbianPolicy, rule_terms
from wann_ros.policies.static import StaticPolicy
from wann_ros.policies.wann import WannPolicy

#: tanh(x) ~ x * P(x^2) / Q(x^2) on |x| <= FAST_TANH_CLAMP (a 4/4 rational fit made for wann_ros)
FAST_TANH_P = (0.999999906, 0.133732043, 0.00348658978, 2.04719604e-05, 1.3184404e-08)
FAST_TANH_Q = (1.0, 0.467065012, 0.0258420092, 0.000327139829, 7.70273718e-07)
FAST_TANH_CLAMP = 9.0
FAST_TANH_BOUND = 5e-7  # max |approx - tanh| in float, tested in tests/test_c_export.py
GOLDEN_TOLERANCE = 1e-5


def check_name(name: str) -> str:
    """A valid C identifier (at most 40 characters): every symbol of an export is ``NAME_...``."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}", name):
        raise ValueError(f"name must be a C identifier of at most 40 characters, got {name!r}")
    return name


# -- C text helpers ---------------------------------------------------------------------------------
def c_number(value: float) -> str:
    """A double literal that round-trips ``value`` (converted to float when stored in a float)."""
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"cannot write the non-finite value {v} into C")
    text = repr(v)
    return text if any(c in text for c in ".e") else text + ".0"


def c_array(
    ctype: str, name: str, values: Iterable, fmt=c_number, per_line: int = 8, const: bool = True
) -> str:
    """``static const ctype name[n] = {...};`` with ``per_line`` values per line."""
    items = [fmt(v) for v in values]
    lines = [", ".join(items[k : k + per_line]) for k in range(0, len(items), per_line)]
    body = ",\n    ".join(lines)
    qual = "static const" if const else "static"
    return f"{qual} {ctype} {name}[{max(len(items), 1)}] = {{\n    {body if items else '0'}\n}};\n"


def _act(act: int, x: str, p: str) -> str:
    """C expression of a WANN activation applied to the variable ``x`` (prefix ``p``)."""
    r = f"{p}real"
    return {
        1: x,
        2: f"({x} > 0 ? ({r})1 : ({r})0)",
        3: f"{p}SIN(({r})3.14159265358979323846 * {x})",
        4: f"{p}EXP(({r})-0.5 * {x} * {x})",
        5: f"{p}tanh({x})",
        6: f"(({r})0.5 * ({p}tanh(({r})0.5 * {x}) + ({r})1))",
        7: f"(-{x})",
        8: f"{p}FABS({x})",
        9: f"({x} > 0 ? {x} : ({r})0)",
        10: f"{p}COS(({r})3.14159265358979323846 * {x})",
        11: f"({x} * {x})",
    }[activation_id(act)]


def c_prelude(p: str, double_default: bool = False) -> str:
    """Types, libm mapping and the tanh selection shared by every generated source (prefix ``p``).

    ``double_default``: compute in double unless ``{p}FLOAT`` is defined (Hebbian and WANN exports).
    """
    pn = ", ".join(c_number(v) for v in FAST_TANH_P)
    qn = ", ".join(c_number(v) for v in FAST_TANH_Q)
    default = (
        f"#if !defined({p}FLOAT) && !defined({p}DOUBLE)\n#define {p}DOUBLE\n#endif\n"
        if double_default
        else ""
    )
    return f"""#include <math.h>
#include <stdint.h>

{default}#ifdef {p}DOUBLE
typedef double {p}real;
#define {p}TANH_LIBM tanh
#define {p}SIN sin
#define {p}COS cos
#define {p}EXP exp
#define {p}FABS fabs
#else
typedef float {p}real;
#define {p}TANH_LIBM tanhf
#define {p}SIN sinf
#define {p}COS cosf
#define {p}EXP expf
#define {p}FABS fabsf
#endif

#ifdef {p}FAST_TANH
/* tanh(x) ~ x P(x^2) / Q(x^2), x clamped to +-{FAST_TANH_CLAMP}: |error| <= {FAST_TANH_BOUND:g} in float */
static {p}real {p}tanh({p}real x)
{{
    static const {p}real P[5] = {{{pn}}};
    static const {p}real Q[5] = {{{qn}}};
    {p}real t;
    if (x > ({p}real){FAST_TANH_CLAMP}) x = ({p}real){FAST_TANH_CLAMP};
    if (x < -({p}real){FAST_TANH_CLAMP}) x = -({p}real){FAST_TANH_CLAMP};
    t = x * x;
    return x * ((((P[4] * t + P[3]) * t + P[2]) * t + P[1]) * t + P[0])
        / ((((Q[4] * t + Q[3]) * t + Q[2]) * t + Q[1]) * t + Q[0]);
}}
#else
#define {p}tanh(x) {p}TANH_LIBM(x)
#endif
"""


@dataclasses.dataclass
class _Code:
    """The pieces of one generated source: tables, state, helper functions, step body, extra API."""

    tables: list[str] = dataclasses.field(default_factory=list)
    state: list[str] = dataclasses.field(default_factory=list)
    helpers: list[str] = dataclasses.field(default_factory=list)
    reset: list[str] = dataclasses.field(default_factory=list)
    step: list[str] = dataclasses.field(default_factory=list)
    api: list[str] = dataclasses.field(default_factory=list)
    header_api: list[str] = dataclasses.field(default_factory=list)
    header_defines: list[str] = dataclasses.field(default_factory=list)


# -- shared pieces: normalisation, dense layers, commands ----------------------------------------------
def _normalisation(code: _Code, policy: Policy, p: str, dst: str) -> None:
    obs = policy.spec.observation
    n = obs.size
    code.state.append(f"static {p}real {dst}[{n}];\n")
    lines = [f"    for (i = 0; i < {n}; ++i) {{", f"        {p}real v = ({p}real)obs[i];"]
    if obs.mean is not None:
        code.tables.append(c_array(f"{p}real", f"{p}obs_mean", obs.mean))
        lines.append(f"        v -= {p}obs_mean[i];")
    if obs.std is not None:
        code.tables.append(c_array(f"{p}real", f"{p}obs_inv_std", 1.0 / obs.std))
        lines.append(f"        v *= {p}obs_inv_std[i];")
    if obs.clip is not None:
        c = c_number(obs.clip)
        lines += [
            f"        if (v > ({p}real){c}) v = ({p}real){c};",
            f"        if (v < -({p}real){c}) v = -({p}real){c};",
        ]
    lines += [f"        {dst}[i] = v;", "    }"]
    code.step += lines


def _dense_layer(
    code: _Code,
    p: str,
    k: int,
    src: str,
    dst: str,
    n_in: int,
    n_out: int,
    weight: str,
    bias: str | None,
    act: int,
    scale: str | None = None,
) -> None:
    """``dst = act(src @ W + b)`` with the weight of ``(i, j)`` given by the C expression ``weight``."""
    code.state.append(f"static {p}real {dst}[{n_out}];\n")
    init = f"{bias}[j]" if bias and scale is None else f"({p}real)0"
    code.step += [
        f"    /* layer {k}: {n_in} -> {n_out} */",
        f"    for (j = 0; j < {n_out}; ++j) {dst}[j] = {init};",
        f"    for (i = 0; i < {n_in}; ++i) {{",
        f"        const {p}real xi = {src}[i];",
        f"        for (j = 0; j < {n_out}; ++j) {dst}[j] += xi * {weight};",
        "    }",
    ]
    post = f"{dst}[j]" if scale is None else f"{dst}[j] * {scale}[j]" + (f" + {bias}[j]" if bias else "")
    code.step += [
        f"    for (j = 0; j < {n_out}; ++j) {{",
        f"        const {p}real s = {post};",
        f"        {dst}[j] = {_act(act, 's', p)};",
        "    }",
    ]


def _command(code: _Code, policy: Policy, p: str) -> str:
    act = policy.spec.action
    for field in ("scale", "offset", "lower", "upper"):
        code.tables.append(c_array(f"{p}real", f"{p}act_{field}", getattr(act, field)))
    return f"""void {p}command(const float *action, float *command)
{{
    int j;
    for (j = 0; j < {act.size}; ++j) {{
        {p}real a = ({p}real)action[j];
        {p}real c;
        if (a != a) a = 0;
        if (a > 1) a = 1;
        if (a < -1) a = -1;
        c = {p}act_offset[j] + {p}act_scale[j] * a;
        if (c > {p}act_upper[j]) c = {p}act_upper[j];
        if (c < {p}act_lower[j]) c = {p}act_lower[j];
        command[j] = (float)c;
    }}
}}
"""


def quantize_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output unit: ``W[in, out] ~ q[in, out] * scale[out]`` with |q| <= 127."""
    peak = np.abs(w).max(axis=0)
    scale = np.where(peak > 0, peak / 127.0, 1.0)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


def _int8_weights(policy: StaticPolicy | ChromaticPolicy) -> list[tuple[np.ndarray, np.ndarray]]:
    return [quantize_rows(w) for w in policy.weights]


def dequantized_policy(policy: StaticPolicy | ChromaticPolicy) -> StaticPolicy:
    """The static policy whose weights are exactly what the int8 export computes with."""
    weights = [q.astype(np.float64) * s for q, s in _int8_weights(policy)]
    spec = dataclasses.replace(policy.spec, kind="static")
    return StaticPolicy(
        weights, list(policy.biases), spec, policy.hidden_activation, policy.output_activation
    )


# -- per kind ---------------------------------------------------------------------------------------
def _colour_decoder(code: _Code, policy: ChromaticPolicy, p: str) -> None:
    """The bit-packed colour table and ``{p}colour(e)``, which reads 3 bytes: at most 16 bits per colour
    (P <= 65535, the ``.chroma`` limit) since a colour may start at bit 7 of its first byte."""
    if policy.n_colors > MAX_U16:
        raise ValueError(
            f"the packed C export holds at most {MAX_U16} colours, got P = {policy.n_colors} (use int8)"
        )
    bits = bits_per_colour(policy.n_colors)
    head = f"/* colour of edge e: {bits} bits at bit e*{bits} of the LSB-first stream */\n"
    head += f"static uint32_t {p}colour(uint32_t e)\n{{\n"
    if not bits:  # P = 1: every edge has colour 0 and there is no table to read
        code.helpers.append(head + "    (void)e;\n    return 0;\n}\n")
        return
    stream = pack_colours(np.concatenate([c.ravel() for c in policy.colors]), bits) + b"\0\0"
    code.tables.append(c_array("uint8_t", f"{p}colours", stream, fmt=str, per_line=16))
    code.helpers.append(
        head + f"    const uint32_t bit = e * {bits}u, byte = bit >> 3;\n"
        f"    const uint32_t v = (uint32_t){p}colours[byte] | ((uint32_t){p}colours[byte + 1] << 8)\n"
        f"        | ((uint32_t){p}colours[byte + 2] << 16);\n"
        f"    return (v >> (bit & 7u)) & {(1 << bits) - 1}u;\n}}\n"
    )


def _feed_forward(
    code: _Code, policy: StaticPolicy | ChromaticPolicy, p: str, int8: bool, expand: bool
) -> None:
    sizes, shapes = policy.layer_sizes, layer_shapes(policy.layer_sizes)
    _normalisation(code, policy, p, f"{p}x")
    chromatic_packed = isinstance(policy, ChromaticPolicy) and not int8
    if chromatic_packed:
        code.tables.append(c_array(f"{p}real", f"{p}pool", policy.pool))
        _colour_decoder(code, policy, p)
    src, edge = f"{p}x", 0
    for k, (n_in, n_out) in enumerate(shapes):
        bias = f"{p}b{k}"
        code.tables.append(c_array(f"{p}real", bias, policy.biases[k]))
        scale = None
        if int8:
            q, s = quantize_rows(policy.weights[k])
            code.tables.append(c_array("int8_t", f"{p}q{k}", q.ravel(), fmt=str, per_line=16))
            code.tables.append(c_array(f"{p}real", f"{p}s{k}", s))
            weight, scale = f"({p}real){p}q{k}[i * {n_out} + j]", f"{p}s{k}"
        elif chromatic_packed and expand:
            code.state.append(f"static {p}real {p}w{k}[{n_in * n_out}];\n")
            code.reset.append(
                f"    for (e = 0; e < {n_in * n_out}u; ++e) {p}w{k}[e] = {p}pool[{p}colour({edge}u + e)];"
            )
            weight = f"{p}w{k}[i * {n_out} + j]"
        elif chromatic_packed:
            weight = f"{p}pool[{p}colour({edge}u + (uint32_t)(i * {n_out} + j))]"
        else:
            code.tables.append(c_array(f"{p}real", f"{p}w{k}", policy.weights[k].ravel()))
            weight = f"{p}w{k}[i * {n_out} + j]"
        act = policy.layer_activations[k]
        _dense_layer(code, p, k, src, f"{p}h{k + 1}", n_in, n_out, weight, bias, act, scale)
        src, edge = f"{p}h{k + 1}", edge + n_in * n_out
    code.step.append(f"    for (j = 0; j < {sizes[-1]}; ++j) action[j] = (float){src}[j];")
    if chromatic_packed and expand:
        code.reset.insert(0, "    uint32_t e;")


def _hebbian(code: _Code, policy: HebbianPolicy, p: str) -> None:
    opts, shapes = policy.options, layer_shapes(policy.layer_sizes)
    n_weights = sum(a * b for a, b in shapes)
    _normalisation(code, policy, p, f"{p}x")
    code.state.append(f"static int {p}plastic = {0 if opts.frozen else 1};\n")
    src = f"{p}x"
    index = {"synapse": "i * {n} + j", "post": "j", "pre": "i"}[opts.rule_mode]
    update = []
    for k, ((n_in, n_out), rule) in enumerate(zip(shapes, policy.rules, strict=True)):
        code.state.append(f"static {p}real {p}w{k}[{n_in * n_out}];\n")
        gain, offset = rule_terms(rule, n_in, n_out, opts.rule_mode)
        pick = {"synapse": lambda a: a, "post": lambda a: a[0], "pre": lambda a: a[:, 0]}[opts.rule_mode]
        for tag, arr in (("eA", gain[0]), ("eB", offset[0]), ("eC", gain[1]), ("eD", offset[1])):
            code.tables.append(c_array(f"{p}real", f"{p}{tag}{k}", np.ascontiguousarray(pick(arr)).ravel()))
        dst = f"{p}h{k + 1}"
        _dense_layer(
            code, p, k, src, dst, n_in, n_out, f"{p}w{k}[i * {n_out} + j]", None, policy.layer_activations[k]
        )
        ix = index.format(n=n_out)
        update += [
            f"    /* layer {k}: w += pre * (eta A post + eta B) + (eta C post + eta D) */",
            f"    for (i = 0; i < {n_in}; ++i) {{",
            f"        const {p}real pre = {src}[i];",
            f"        {p}real *w = {p}w{k} + i * {n_out};",
            f"        for (j = 0; j < {n_out}; ++j)",
            f"            w[j] = (w[j] + pre * ({p}eA{k}[{ix}] * {dst}[j] + {p}eB{k}[{ix}]))",
            f"                + ({p}eC{k}[{ix}] * {dst}[j] + {p}eD{k}[{ix}]);",
            "    }",
        ]
        if opts.normalize:
            update += [
                "    m = 0;",
                f"    for (e = 0; e < {n_in * n_out}; ++e)",
                f"        if ({p}FABS({p}w{k}[e]) > m) m = {p}FABS({p}w{k}[e]);",
                f"    if (m > 0) for (e = 0; e < {n_in * n_out}; ++e) {p}w{k}[e] /= m;",
            ]
        if opts.weight_bound is not None:
            b = c_number(opts.weight_bound)
            update += [
                f"    for (e = 0; e < {n_in * n_out}; ++e) {{",
                f"        if ({p}w{k}[e] > ({p}real){b}) {p}w{k}[e] = ({p}real){b};",
                f"        if ({p}w{k}[e] < -({p}real){b}) {p}w{k}[e] = -({p}real){b};",
                "    }",
            ]
        src = dst
    code.step.append(f"    for (j = 0; j < {policy.layer_sizes[-1]}; ++j) action[j] = (float){src}[j];")
    decl = ["        int e;"] if opts.normalize or opts.weight_bound is not None else []
    decl += [f"        {p}real m;"] if opts.normalize else []
    code.step += [f"    if ({p}plastic) {{", *decl, *update, "    }"]
    # weights in one flat order: layer by layer, W[in][out]
    layers = [(f"{p}w{k}", a * b) for k, (a, b) in enumerate(shapes)]
    copy_in = "".join(f"    for (e = 0; e < {n}; ++e) {w}[e] = ({p}real)*src++;\n" for w, n in layers)
    copy_out = "".join(f"    for (e = 0; e < {n}; ++e) *dst++ = (float){w}[e];\n" for w, n in layers)
    code.api += [
        f"void {p}set_weights(const float *src)\n{{\n    int e;\n{copy_in}}}\n",
        f"void {p}get_weights(float *dst)\n{{\n    int e;\n{copy_out}}}\n",
        f"void {p}set_plastic(int on)\n{{\n    {p}plastic = on != 0;\n}}\n",
    ]
    code.header_defines.append(f"#define {p}N_WEIGHTS {n_weights}")
    code.header_api += [
        f"/* The plastic weights, layer by layer, each W[in][out] input-major ({p}N_WEIGHTS floats). */",
        f"void {p}set_weights(const float *src);",
        f"void {p}get_weights(float *dst);",
        "/* 0 freezes the weights (no plastic update), 1 resumes. */",
        f"void {p}set_plastic(int on);",
    ]
    if opts.init == "given":
        flat = np.concatenate([w.ravel() for w in policy.init_weights])
        code.tables.append(c_array(f"{p}real", f"{p}w_init", flat))
        src_init = "".join(f"    for (e = 0; e < {n}; ++e) {w}[e] = {p}w_init[o++];\n" for w, n in layers)
        code.reset += ["    int e, o = 0;", "    (void)seed;", src_init.rstrip("\n")]
        return
    draw = {
        "uniform": f"({p}real){c_number(opts.init_scale)} * (({p}real)2 * {p}uniform(&s) - ({p}real)1)",
        "normal": f"({p}real){c_number(opts.init_scale)} * {p}gauss(&s)",
    }[opts.init]
    code.helpers.append(
        f"""/* Weyl sequence + murmur3 finaliser: NOT numpy's generator (see {p}set_weights) */
static uint32_t {p}next(uint32_t *s)
{{
    uint32_t z = (*s += 0x9E3779B9u);
    z = (z ^ (z >> 16)) * 0x85EBCA6Bu;
    z = (z ^ (z >> 13)) * 0xC2B2AE35u;
    return z ^ (z >> 16);
}}

/* uniform in (0, 1] */
static {p}real {p}uniform(uint32_t *s)
{{
    return (({p}real)({p}next(s) >> 8) + ({p}real)1) * ({p}real)5.9604644775390625e-08;
}}
"""
    )
    if opts.init == "normal":
        code.helpers.append(
            f"""/* Box-Muller */
static {p}real {p}gauss(uint32_t *s)
{{
    const {p}real u = {p}uniform(s), v = {p}uniform(s);
    return ({p}real)sqrt(-2.0 * log((double)u)) * {p}COS(({p}real)6.283185307179586 * v);
}}
"""
        )
    fill = "".join(f"    for (e = 0; e < {n}; ++e) {w}[e] = {draw};\n" for w, n in layers)
    code.reset += ["    int e;", "    uint32_t s = seed;", fill.rstrip("\n")]


def _wann(code: _Code, policy: WannPolicy, p: str) -> None:
    n_in, n_out, n = policy.n_inputs, policy.n_outputs, policy.activations.size
    _normalisation(code, policy, p, f"{p}x")
    src, dst, on = policy.connections.T
    keep = on == 1
    src, dst = src[keep], dst[keep]
    tuned = policy.weights is not None
    weight = policy.weights[keep] if tuned else np.ones(src.size)
    order = np.lexsort((src, dst))
    lines = ["    v[0] = 1;", f"    for (i = 0; i < {n_in}; ++i) v[1 + i] = {p}x[i];"]
    by_dst: dict[int, list[str]] = {}
    for s, d, w in zip(src[order].tolist(), dst[order].tolist(), weight[order].tolist(), strict=True):
        by_dst.setdefault(d, []).append(f"({p}real){c_number(w)} * v[{s}]" if tuned else f"v[{s}]")
    for d in range(1 + n_in, n):
        terms = by_dst.get(d, [f"({p}real)0"])
        total = " + ".join(terms)
        lines.append(f"    s = {total if tuned else f'w * ({total})'};")
        lines.append(f"    v[{d}] = {_act(int(policy.activations[d]), 's', p)};")
    lines.append(f"    for (j = 0; j < {n_out}; ++j) out[j] = v[{n - n_out} + j];")
    code.state.append(f"static {p}real {p}v[{n}];\n")
    code.helpers.append(
        f"/* one pass of the network with shared weight w (unused when weights are tuned) */\n"
        f"static void {p}net({p}real w, {p}real *out)\n{{\n"
        f"    {p}real *v = {p}v;\n    {p}real s;\n    int i, j;\n"
        + ("    (void)w;\n" if tuned else "")
        + "\n".join(lines)
        + "\n}\n"
    )
    code.state.append(f"static {p}real {p}out[{n_out}];\n")
    if policy.ensemble_weights is not None:
        ens = policy.ensemble_weights
        code.tables.append(c_array(f"{p}real", f"{p}ensemble", ens))
        code.state.append(f"static {p}real {p}acc[{n_out}];\n")
        code.step += [
            f"    for (j = 0; j < {n_out}; ++j) {p}acc[j] = 0;",
            f"    for (i = 0; i < {ens.size}; ++i) {{",
            f"        {p}net({p}ensemble[i], {p}out);",
            f"        for (j = 0; j < {n_out}; ++j) {p}acc[j] += {p}out[j];",
            "    }",
            f"    for (j = 0; j < {n_out}; ++j) action[j] = (float)({p}acc[j] / ({p}real){ens.size});",
        ]
        return
    if tuned:
        code.step += [f"    {p}net(0, {p}out);"]
    else:
        code.state.append(f"static {p}real {p}weight = ({p}real){c_number(policy.shared_weight)};\n")
        code.api.append(f"void {p}set_weight(float w)\n{{\n    {p}weight = ({p}real)w;\n}}\n")
        code.header_api += [
            "/* Change the shared weight (default: the tuned value). */",
            f"void {p}set_weight(float w);",
        ]
        code.step += [f"    {p}net({p}weight, {p}out);"]
    code.step.append(f"    for (j = 0; j < {n_out}; ++j) action[j] = (float){p}out[j];")


# -- assembling the files ---------------------------------------------------------------------------
def generate_c(
    policy: Policy, name: str = "policy", *, int8: bool = False, expand: bool = False
) -> tuple[str, str]:
    """``(header, source)`` C99 text of ``policy``.

    ``int8``: int8 weights with per-output scales (static, chromatic); ``expand``: chromatic colours
    expanded to dense float weights in RAM at reset instead of decoded from flash at every step.
    """
    check_name(name)
    p = f"{name}_"
    code = _Code()
    if int8 and not isinstance(policy, (StaticPolicy, ChromaticPolicy)):
        raise ValueError(f"int8 export applies to static and chromatic policies, not {policy.spec.kind}")
    if expand and not isinstance(policy, ChromaticPolicy):
        raise ValueError(f"expand applies to chromatic policies, not {policy.spec.kind}")
    if isinstance(policy, (StaticPolicy, ChromaticPolicy)):
        _feed_forward(code, policy, p, int8, expand)
    elif isinstance(policy, HebbianPolicy):
        _hebbian(code, policy, p)
    elif isinstance(policy, WannPolicy):
        _wann(code, policy, p)
    else:
        raise TypeError(f"no C export for {type(policy).__name__}")
    command = _command(code, policy, p)
    spec = policy.spec
    guard = f"{name.upper()}_H"
    variant = ", int8 weights" if int8 else (", colours expanded at reset" if expand else "")
    header = f"""/* {name}.h: {spec.kind} policy exported by wann_ros (C99, no malloc, no stdio){variant}. */
#ifndef {guard}
#define {guard}

#include <stdint.h>

#define {p}N_OBS {spec.observation.size}
#define {p}N_ACT {spec.action.size}
#define {p}CONTROL_PERIOD {c_number(spec.control_period)}
{chr(10).join(code.header_defines)}

/* Start an episode; call once before the first step. */
void {p}reset(uint32_t seed);
/* One control step: raw observation ({p}N_OBS floats, normalised inside) -> network action ({p}N_ACT). */
void {p}step(const float *obs, float *action);
/* Network action -> joint command: offset + scale * clip(action, -1, 1), clamped to the joint limits. */
void {p}command(const float *action, float *command);
{chr(10).join(code.header_api)}

#endif
"""
    needs_ready = bool(code.reset)  # state drawn or expanded at reset: step resets once if nobody did
    reset_body = "\n".join(code.reset) if code.reset else "    (void)seed;"
    step_guard = f"    if (!{p}ready) {p}reset(0u);\n" if needs_ready else ""
    ready_state = f"static int {p}ready = 0;\n" if needs_ready else ""
    ready_set = f"\n    {p}ready = 1;" if needs_ready else ""
    if code.reset and "seed" not in reset_body:
        reset_body = "    (void)seed;\n" + reset_body
    source = f"""/* {name}.c: {spec.kind} policy exported by wann_ros. Generated: regenerate, do not edit.
 * Layout: dense weights W[in][out] input-major; step() returns the network action (see {name}.h). */
#include "{name}.h"
{c_prelude(p, isinstance(policy, HebbianPolicy | WannPolicy))}
/* ---- constant tables (flash) ---- */
{"".join(code.tables)}
/* ---- state and buffers (RAM) ---- */
{ready_state}{"".join(code.state)}
{"".join(h + chr(10) for h in code.helpers)}void {p}reset(uint32_t seed)
{{
{reset_body}{ready_set}
}}

void {p}step(const float *obs, float *action)
{{
    int i, j;
{step_guard}{chr(10).join(code.step)}
}}

{command}
{"".join(a + chr(10) for a in code.api)}"""
    return header, source


# -- golden vectors ---------------------------------------------------------------------------------
@dataclasses.dataclass
class GoldenVectors:
    """Inputs and the numpy runtime's outputs for a generated test ``main``."""

    obs: np.ndarray  # [T, n_obs], float32-representable
    action: np.ndarray  # [T, n_act] what the exported C must compute (within the tolerance)
    command: np.ndarray  # [T, n_act]
    reference: np.ndarray  # [T, n_act] the float policy's actions (differs from ``action`` for int8)
    weights: np.ndarray | None  # Hebbian: the initial weights the test sets, flat, float32-representable
    command_scale: float = 1.0  # commands are checked to GOLDEN_TOL in action units: tol * max(1, |scale|)


def _f32(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def golden_vectors(policy: Policy, steps: int, seed: int = 0, int8: bool = False) -> GoldenVectors:
    """Draw ``steps`` observations around the spec's mean (seeded) and run the numpy policy on them.

    Hebbian: reset with ``seed``, weights rounded to float32 and set, then ``steps`` plastic steps, all
    on a fresh copy built from ``network_dict()`` (the caller's policy keeps its weights and state).
    """
    policy = make_policy(policy.spec.kind, policy.network_dict(), policy.spec)
    rng = np.random.default_rng(seed)
    obs_spec = policy.spec.observation
    obs = rng.normal(0.0, 1.5, size=(steps, obs_spec.size))
    if obs_spec.std is not None:
        obs = obs * obs_spec.std
    if obs_spec.mean is not None:
        obs = obs + obs_spec.mean
    obs = _f32(obs)
    weights = None
    if isinstance(policy, HebbianPolicy):
        policy.reset(seed)
        start = [_f32(w) for w in policy.weights]
        policy.weights = start
        weights = np.concatenate([w.ravel() for w in start])
    reference = np.array([policy.act(o) for o in obs])
    action = np.array([dequantized_policy(policy).act(o) for o in obs]) if int8 else reference
    command = policy.spec.action.to_command(action)
    scale = max(1.0, float(np.max(np.abs(policy.spec.action.scale))))
    return GoldenVectors(obs, action, command, reference, weights, scale)


def generate_golden(name: str, g: GoldenVectors, tolerance: float = GOLDEN_TOLERANCE) -> str:
    """A C test program: feeds ``g.obs`` step by step and compares action and command (stdio allowed)."""
    p = f"{check_name(name)}_"
    steps, n_obs = g.obs.shape
    n_act = g.action.shape[1]
    set_weights = f"    {p}set_weights(golden_weights);\n" if g.weights is not None else ""
    weights = c_array("float", "golden_weights", g.weights) if g.weights is not None else ""
    return f"""/* {name}_golden.c: golden vectors from the wann_ros numpy runtime, and a test main. */
#include <math.h>
#include <stdio.h>
#include "{name}.h"

#ifndef GOLDEN_TOL
#define GOLDEN_TOL {c_number(tolerance)}
#endif
/* commands are in joint units (offset + scale * action): the same tolerance in action units */
#define GOLDEN_COMMAND_TOL (GOLDEN_TOL * {c_number(g.command_scale)})
#define STEPS {steps}

{c_array("float", "golden_obs", g.obs.ravel())}
{c_array("double", "golden_action", g.action.ravel())}
{c_array("double", "golden_command", g.command.ravel())}
{c_array("double", "golden_reference", g.reference.ravel())}
{weights}
static double worst(double err, double a, double b)
{{
    const double d = fabs(a - b);
    return (d > err || d != d) ? d : err;
}}

int main(void)
{{
    static float action[{n_act}], command[{n_act}];
    double err = 0, cmd_err = 0, ref_err = 0;
    int t, j;
    {p}reset(0u);
{set_weights}    for (t = 0; t < STEPS; ++t) {{
        {p}step(golden_obs + t * {n_obs}, action);
        {p}command(action, command);
        for (j = 0; j < {n_act}; ++j) {{
            err = worst(err, action[j], golden_action[t * {n_act} + j]);
            cmd_err = worst(cmd_err, command[j], golden_command[t * {n_act} + j]);
            ref_err = worst(ref_err, action[j], golden_reference[t * {n_act} + j]);
        }}
    }}
    printf("steps=%d max_abs_error=%.3e command_max_abs_error=%.3e vs_float_policy=%.3e\\n",
           STEPS, err, cmd_err, ref_err);
    return (err <= GOLDEN_TOL && cmd_err <= GOLDEN_COMMAND_TOL) ? 0 : 1;
}}
"""


@dataclasses.dataclass
class CExport:
    """The files one export wrote."""

    header: Path
    source: Path
    golden: Path | None


def default_golden_steps(policy: Policy) -> int:
    """1,000 steps for Hebbian policies (plastic drift), 64 for stateless kinds."""
    return 1000 if isinstance(policy, HebbianPolicy) else 64


def export_c(
    policy: Policy,
    out_dir: str | Path,
    name: str = "policy",
    *,
    int8: bool = False,
    expand: bool = False,
    golden_steps: int | None = None,
    seed: int = 0,
) -> CExport:
    """Write ``NAME.h``, ``NAME.c`` and (unless ``golden_steps == 0``) ``NAME_golden.c`` into ``out_dir``.

    Every text is generated before the first file is written; each file is written atomically.
    """
    steps = default_golden_steps(policy) if golden_steps is None else golden_steps
    if steps < 0:
        raise ValueError(f"golden_steps must be >= 0, got {steps}")
    header, source = generate_c(policy, name, int8=int8, expand=expand)
    out = Path(out_dir)
    files = CExport(out / f"{name}.h", out / f"{name}.c", out / f"{name}_golden.c" if steps else None)
    texts = {files.header: header, files.source: source}
    if files.golden is not None:
        texts[files.golden] = generate_golden(name, golden_vectors(policy, steps, seed, int8))
    out.mkdir(parents=True, exist_ok=True)
    for path, text in texts.items():
        write_atomic(path, text.encode())
    return files


# -- command line (``wann-ros export-c``) -------------------------------------------------------------
CLI_HELP = "write a policy as self-contained C99 (NAME.h, NAME.c) with golden vectors (NAME_golden.c)"


def configure_cli(p: argparse.ArgumentParser) -> None:
    p.add_argument("policy", help="policy file (any registered format)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--name", default="policy", help="C identifier prefix of the API (default: policy)")
    p.add_argument(
        "--int8", action="store_true", help="int8 weights with per-output scales (static, chromatic)"
    )
    p.add_argument(
        "--expand", action="store_true", help="chromatic: expand colours to dense RAM weights at reset"
    )
    p.add_argument(
        "--golden-steps", type=int, default=None, help="golden steps (default 64; Hebbian 1000; 0: none)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the golden observations")


def run_cli(args: argparse.Namespace) -> int:
    from wann_ros.formats import load_policy

    policy = load_policy(args.policy)
    try:
        files = export_c(
            policy, args.out, args.name, int8=args.int8, expand=args.expand,
            golden_steps=args.golden_steps, seed=args.seed,
        )  # fmt: skip
    except (TypeError, ValueError) as exc:
        print(f"wann-ros export-c: error: {exc}", file=sys.stderr)
        return 2
    for path in (files.header, files.source, files.golden):
        if path is not None:
            print(path)
    return 0
