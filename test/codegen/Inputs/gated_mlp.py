#!/usr/bin/env python3
"""A gated MLP at 0%, 12.5% and 100% active tokens: the bundle's kernels do
only the work of the active rows, and compute what the CPU reference does.

  gated_mlp.py --workdir DIR --sieve-compile PATH --sieve-opt PATH
               --sieve-run PATH --sieve-bundle-run PATH
               [--variant f32|f16|f16-int4]

The graph, in plain linalg (B = 1, S = 512 tokens, model dimension 64, MLP
hidden size 256):

    y = mask ? x + silu(x @ W1^T) @ W2^T : x

sieve-compile's sieve-optimize makes it compact -> MLP on the packed rows
-> scatter, and the kernels of the branch skip the packed rows past the
active count. Variant f32: the weights are arguments, the MLP's matmuls
are the generic tiled contraction. Variant f16: the same in f16, the
matmuls on the tensor-core contraction kernel. Variant f16-int4: the weights are
constants, quantized to int4 (groups of 64) by sieve-optimize, and the
matmuls are the tensor-core sieve.qmatmul kernels.

For each ratio the same mask (random positions, a fixed seed) and inputs
go to sieve-run on the graph after `sieve-opt --sieve-optimize` with the
same options (the quantized weights: the error of quantization is the
quantize pass's to check) and to sieve-bundle-run --device emulator
--stats; the outputs must agree within 1e-5 (f32), 2e-3 (f16-int4) or 5e-3
(f16: the reference adds the matmuls' products in f16, the kernel in f32),
and the work units the branch's kernels report
(sieve_emu_count_work) must be 0 at 0%, and at 12.5% at most 1/8 of the
dense run's plus one tile of rows per kernel. Prints, per ratio:

  PASS f32 active=0.125: err=3.1e-08 branch work 12.5% of dense (4 kernels)

and `<N> cases, <F> failures` last.
"""

import argparse
import os
import re
import subprocess
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "passes", "Inputs"))
import numeric as N  # noqa: E402

S, D, H = 512, 64, 256
RATIOS = (0.0, 0.125, 1.0)

GRAPH = """// A gated MLP (see test/codegen/Inputs/gated_mlp.py).
#tok = affine_map<(b, s, n, k) -> (b, s, k)>
#w = affine_map<(b, s, n, k) -> (n, k)>
#out = affine_map<(b, s, n, k) -> (b, s, n)>
#id = affine_map<(b, s, d) -> (b, s, d)>
#row = affine_map<(b, s, d) -> (b, s)>
func.func @gated_mlp(%x: tensor<1x{S}x{D}x{T}>, %mask: tensor<1x{S}xi1>{ARGS})
    -> tensor<1x{S}x{D}x{T}> {{
{CONSTS}  %zero = arith.constant 0.0 : {T}
  %e1 = tensor.empty() : tensor<1x{S}x{H}x{T}>
  %z1 = linalg.fill ins(%zero : {T}) outs(%e1 : tensor<1x{S}x{H}x{T}>) -> tensor<1x{S}x{H}x{T}>
  %h = linalg.generic {{indexing_maps = [#tok, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
      ins(%x, %w1 : tensor<1x{S}x{D}x{T}>, tensor<{H}x{D}x{T}>) outs(%z1 : tensor<1x{S}x{H}x{T}>) {{
  ^bb0(%a: {T}, %b: {T}, %c: {T}):
    %m = arith.mulf %a, %b : {T}
    %s = arith.addf %c, %m : {T}
    linalg.yield %s : {T}
  }} -> tensor<1x{S}x{H}x{T}>
  %act = linalg.generic {{indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}}
      ins(%h : tensor<1x{S}x{H}x{T}>) outs(%e1 : tensor<1x{S}x{H}x{T}>) {{
  ^bb0(%v: {T}, %unused: {T}):
    %n = arith.negf %v : {T}
    %e = math.exp %n : {T}
    %one = arith.constant 1.0 : {T}
    %d = arith.addf %one, %e : {T}
    %r = arith.divf %v, %d : {T}
    linalg.yield %r : {T}
  }} -> tensor<1x{S}x{H}x{T}>
  %e2 = tensor.empty() : tensor<1x{S}x{D}x{T}>
  %z2 = linalg.fill ins(%zero : {T}) outs(%e2 : tensor<1x{S}x{D}x{T}>) -> tensor<1x{S}x{D}x{T}>
  %o = linalg.generic {{indexing_maps = [#tok, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
      ins(%act, %w2 : tensor<1x{S}x{H}x{T}>, tensor<{D}x{H}x{T}>) outs(%z2 : tensor<1x{S}x{D}x{T}>) {{
  ^bb0(%a: {T}, %b: {T}, %c: {T}):
    %m = arith.mulf %a, %b : {T}
    %s = arith.addf %c, %m : {T}
    linalg.yield %s : {T}
  }} -> tensor<1x{S}x{D}x{T}>
  %t = arith.addf %x, %o : tensor<1x{S}x{D}x{T}>
  %y = linalg.generic {{indexing_maps = [#row, #id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}}
      ins(%mask, %t, %x : tensor<1x{S}xi1>, tensor<1x{S}x{D}x{T}>, tensor<1x{S}x{D}x{T}>) outs(%e2 : tensor<1x{S}x{D}x{T}>) {{
  ^bb0(%m: i1, %a: {T}, %b: {T}, %unused: {T}):
    %r = arith.select %m, %a, %b : {T}
    linalg.yield %r : {T}
  }} -> tensor<1x{S}x{D}x{T}>
  return %y : tensor<1x{S}x{D}x{T}>
}}
"""


def make_graph(variant, rng):
    if variant in ("f32", "f16"):
        T = variant
        args = (", %w1: tensor<{H}x{D}x{T}>, %w2: tensor<{D}x{H}x{T}>"
                .format(H=H, D=D, T=T))
        return GRAPH.format(S=S, D=D, H=H, T=T, ARGS=args, CONSTS=""), []
    # Constant f16 weights: sieve-quantize takes them to int4.
    w1 = (rng.standard_normal((H, D)) / np.sqrt(D)).astype(np.float16)
    w2 = (rng.standard_normal((D, H)) / np.sqrt(H)).astype(np.float16)
    consts = ""
    for name, w in (("w1", w1), ("w2", w2)):
        consts += "  %%%s = arith.constant %s : tensor<%dx%dxf16>\n" % (
            name, N.dense_literal(w.astype(np.float32)), w.shape[0],
            w.shape[1])
    return GRAPH.format(S=S, D=D, H=H, T="f16", ARGS="", CONSTS=consts), []


def branch_work(stats):
    """Work units of the generic and matmul kernels (the branch's), and how
    many such launches there were."""
    total, kernels = 0, 0
    for m in re.finditer(r"launch \d+: (\S+) .* work_units (\d+)", stats):
        if re.search(r"matmul|elementwise|reduction", m.group(1)):
            total += int(m.group(2))
            kernels += 1
    return total, kernels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--sieve-compile", required=True)
    parser.add_argument("--sieve-opt", required=True)
    parser.add_argument("--sieve-run", required=True)
    parser.add_argument("--sieve-bundle-run", required=True)
    parser.add_argument("--variant", default="f32",
                        choices=["f32", "f16", "f16-int4"])
    opts = parser.parse_args()
    os.makedirs(opts.workdir, exist_ok=True)
    rng = np.random.default_rng(12)
    report = N.Report()

    text, _ = make_graph(opts.variant, rng)
    graph = os.path.join(opts.workdir, "gated_mlp.mlir")
    with open(graph, "w") as f:
        f.write(text)
    bundle = os.path.join(opts.workdir, "bundle")
    optimize = "min-branch-flops=0"
    if opts.variant == "f16-int4":
        optimize += " weight-bits=4 group-size=64"
    reference = os.path.join(opts.workdir, "reference.mlir")
    try:
        compiled = N.run([opts.sieve_compile, graph, "-o", bundle,
                          "--optimize=" + optimize, "--stats"],
                         "sieve-compile")
        N.sieve_opt(opts.sieve_opt, graph, reference,
                    "--sieve-optimize=" + optimize)
    except N.ToolError as e:
        report.fail(opts.variant, str(e))
        return report.finish()
    skipping = re.search(r"gated rows: (\d+) ops skip", compiled.stdout)
    print("# %s" % (skipping.group(0) if skipping else "no gated rows"))

    dtype = np.float32 if opts.variant == "f32" else np.float16
    x = rng.uniform(-1, 1, (1, S, D)).astype(dtype)
    weights = []
    if opts.variant in ("f32", "f16"):
        weights = [(rng.standard_normal((H, D)) / np.sqrt(D)).astype(dtype),
                   (rng.standard_normal((D, H)) / np.sqrt(H)).astype(dtype)]
    tol = {"f32": 1e-5, "f16": 5e-3, "f16-int4": 2e-3}[opts.variant]
    dense = None
    for ratio in sorted(RATIOS, reverse=True):
        label = "%s active=%g" % (opts.variant, ratio)
        mask = np.zeros((1, S), dtype=np.bool_)
        mask[0, rng.permutation(S)[:int(round(ratio * S))]] = True
        inputs = N.write_inputs(opts.workdir, "r%g" % ratio,
                                [x, mask] + weights)
        ref_dir = os.path.join(opts.workdir, "reference-%g" % ratio)
        emu_dir = os.path.join(opts.workdir, "emulator-%g" % ratio)
        args = []
        for path in inputs:
            args += ["--input", path]
        try:
            N.run([opts.sieve_run, reference, "--output-dir", ref_dir] +
                  args, "sieve-run")
            run = N.run([opts.sieve_bundle_run, bundle, "--device",
                         "emulator", "--stats", "--output-dir", emu_dir] +
                        args, "sieve-bundle-run")
        except N.ToolError as e:
            report.fail(label, str(e))
            continue
        ref = np.load(os.path.join(ref_dir, "out0.npy"))
        got = np.load(os.path.join(emu_dir, "out0.npy"))
        err = N.rel_err(got, ref)
        work, kernels = branch_work(run.stdout)
        problems = []
        if not err <= tol:
            problems.append("relative error %.3g > %g" % (err, tol))
        if ratio == 1.0:
            dense = work
            if work <= 0:
                problems.append("the dense run reports no work")
            share = "dense: %d units" % work
        else:
            fraction = work / dense if dense else float("nan")
            share = "%.1f%% of dense" % (100 * fraction)
            # Skipping is by tiles (up to 128 rows) in the matmul kernels.
            bound = ratio + kernels * 128 / S if ratio > 0 else 0.0
            if not fraction <= bound:
                problems.append("the branch did %s of the dense work, more "
                                "than %.1f%%" % (share, 100 * bound))
        if problems:
            report.fail(label, "; ".join(problems))
        else:
            report.ok(label + ":", "err=%.2g branch work %s (%d kernels)"
                      % (err, share, kernels))
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
