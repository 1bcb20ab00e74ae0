#!/usr/bin/env python3
"""Numeric check of sieve-sparsify-attention.

  sparsify_attention.py --sieve-opt PATH --sieve-run PATH --workdir DIR

Each case is a graph with one sieve.attention (f32, GQA). The pass rewrites
it into sieve.hybrid_attention; sieve-run runs that graph and, on the same
inputs, a dense attention written in plain linalg whose additive mask
(0 or -inf, an input) shows each query row exactly the keys the sparsity
pattern leaves it: the window and the globals (the first G positions for
sinks; for global-source=scores the top G of the scores, computed here with
sieve_reference.select_global), clipped by causality. The two must agree
within a relative error of 1e-5 (f32; ||out - ref|| / ||ref||).

The fraction of score entries the pass's remark reports is checked against
the mask: equal for sinks, a lower bound for scores.

Prints `PASS <case> ...` or `FAIL <case>: <why>` and a last line
`<N> cases, <F> failures`; exits 1 when F > 0.
"""

import argparse
import math
import os
import re
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numeric as N  # noqa: E402

R = N.R
TOL = 1e-5

ATTENTION = """
func.func @main(%q: tensor<{B}x{HQ}x{SQ}x{D}xf32>, %k: tensor<{B}x{HKV}x{SK}x{D}xf32>,
                %v: tensor<{B}x{HKV}x{SK}x{D}xf32>{scores_arg})
    -> tensor<{B}x{HQ}x{SQ}x{D}xf32> {{
  %o = sieve.attention %q, %k, %v {{causal = {causal}}}
      : tensor<{B}x{HQ}x{SQ}x{D}xf32>, tensor<{B}x{HKV}x{SK}x{D}xf32>,
        tensor<{B}x{HKV}x{SK}x{D}xf32> -> tensor<{B}x{HQ}x{SQ}x{D}xf32>
  return %o : tensor<{B}x{HQ}x{SQ}x{D}xf32>
}}
"""

# softmax(scale * q . k^T + mask) . v, with query head h reading key/value
# head h floordiv REP, all in linalg.generic.
MASKED = """
#q = affine_map<(b, h, i, j, d) -> (b, h, i, d)>
#k = affine_map<(b, h, i, j, d) -> (b, h floordiv {REP}, j, d)>
#s = affine_map<(b, h, i, j, d) -> (b, h, i, j)>
#p4 = affine_map<(b, h, i, j) -> (b, h, i, j)>
#m4 = affine_map<(b, h, i, j) -> (b, i, j)>
#r4 = affine_map<(b, h, i, j) -> (b, h, i)>
#pv_p = affine_map<(b, h, i, d, j) -> (b, h, i, j)>
#pv_v = affine_map<(b, h, i, d, j) -> (b, h floordiv {REP}, j, d)>
#pv_o = affine_map<(b, h, i, d, j) -> (b, h, i, d)>
func.func @main(%q: tensor<{B}x{HQ}x{SQ}x{D}xf32>, %k: tensor<{B}x{HKV}x{SK}x{D}xf32>,
                %v: tensor<{B}x{HKV}x{SK}x{D}xf32>, %mask: tensor<{B}x{SQ}x{SK}xf32>)
    -> tensor<{B}x{HQ}x{SQ}x{D}xf32> {{
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %scale = arith.constant {SCALE} : f32
  %es = tensor.empty() : tensor<{B}x{HQ}x{SQ}x{SK}xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<{B}x{HQ}x{SQ}x{SK}xf32>) -> tensor<{B}x{HQ}x{SQ}x{SK}xf32>
  %dot = linalg.generic {{indexing_maps = [#q, #k, #s],
      iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}}
      ins(%q, %k : tensor<{B}x{HQ}x{SQ}x{D}xf32>, tensor<{B}x{HKV}x{SK}x{D}xf32>)
      outs(%zs : tensor<{B}x{HQ}x{SQ}x{SK}xf32>) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  }} -> tensor<{B}x{HQ}x{SQ}x{SK}xf32>
  %logits = linalg.generic {{indexing_maps = [#p4, #m4, #p4],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
      ins(%dot, %mask : tensor<{B}x{HQ}x{SQ}x{SK}xf32>, tensor<{B}x{SQ}x{SK}xf32>)
      outs(%es : tensor<{B}x{HQ}x{SQ}x{SK}xf32>) {{
  ^bb0(%a: f32, %m: f32, %o: f32):
    %t = arith.mulf %a, %scale : f32
    %u = arith.addf %t, %m : f32
    linalg.yield %u : f32
  }} -> tensor<{B}x{HQ}x{SQ}x{SK}xf32>
  %er = tensor.empty() : tensor<{B}x{HQ}x{SQ}xf32>
  %mr = linalg.fill ins(%ninf : f32) outs(%er : tensor<{B}x{HQ}x{SQ}xf32>) -> tensor<{B}x{HQ}x{SQ}xf32>
  %max = linalg.generic {{indexing_maps = [#p4, #r4],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
      ins(%logits : tensor<{B}x{HQ}x{SQ}x{SK}xf32>) outs(%mr : tensor<{B}x{HQ}x{SQ}xf32>) {{
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %o : f32
    linalg.yield %m : f32
  }} -> tensor<{B}x{HQ}x{SQ}xf32>
  %ex = linalg.generic {{indexing_maps = [#p4, #r4, #p4],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
      ins(%logits, %max : tensor<{B}x{HQ}x{SQ}x{SK}xf32>, tensor<{B}x{HQ}x{SQ}xf32>)
      outs(%es : tensor<{B}x{HQ}x{SQ}x{SK}xf32>) {{
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  }} -> tensor<{B}x{HQ}x{SQ}x{SK}xf32>
  %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<{B}x{HQ}x{SQ}xf32>) -> tensor<{B}x{HQ}x{SQ}xf32>
  %sum = linalg.generic {{indexing_maps = [#p4, #r4],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
      ins(%ex : tensor<{B}x{HQ}x{SQ}x{SK}xf32>) outs(%zr : tensor<{B}x{HQ}x{SQ}xf32>) {{
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  }} -> tensor<{B}x{HQ}x{SQ}xf32>
  %p = linalg.generic {{indexing_maps = [#p4, #r4, #p4],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
      ins(%ex, %sum : tensor<{B}x{HQ}x{SQ}x{SK}xf32>, tensor<{B}x{HQ}x{SQ}xf32>)
      outs(%es : tensor<{B}x{HQ}x{SQ}x{SK}xf32>) {{
  ^bb0(%a: f32, %s: f32, %o: f32):
    %d = arith.divf %a, %s : f32
    linalg.yield %d : f32
  }} -> tensor<{B}x{HQ}x{SQ}x{SK}xf32>
  %eo = tensor.empty() : tensor<{B}x{HQ}x{SQ}x{D}xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<{B}x{HQ}x{SQ}x{D}xf32>) -> tensor<{B}x{HQ}x{SQ}x{D}xf32>
  %out = linalg.generic {{indexing_maps = [#pv_p, #pv_v, #pv_o],
      iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}}
      ins(%p, %v : tensor<{B}x{HQ}x{SQ}x{SK}xf32>, tensor<{B}x{HKV}x{SK}x{D}xf32>)
      outs(%zo : tensor<{B}x{HQ}x{SQ}x{D}xf32>) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  }} -> tensor<{B}x{HQ}x{SQ}x{D}xf32>
  return %out : tensor<{B}x{HQ}x{SQ}x{D}xf32>
}}
"""

REMARK = re.compile(r"removes (at least )?([0-9.]+)% of the score entries per "
                    r"head \(([0-9]+) of ([0-9]+)\)")


def check_case(opts, report, name, B, HQ, HKV, SQ, SK, D, causal, options,
               wl, wr, G, source, rng):
    work = opts.workdir
    fmt = dict(B=B, HQ=HQ, HKV=HKV, SQ=SQ, SK=SK, D=D, REP=HQ // HKV,
               causal="true" if causal else "false",
               SCALE="%.9e" % R.f32(1.0 / math.sqrt(D)),
               scores_arg="" if source == "sinks" else
               ", %%scores: tensor<%dx%dxf32> {sieve.global_scores}" % (B, SK))
    src = os.path.join(work, name + ".mlir")
    with open(src, "w") as f:
        f.write(ATTENTION.format(**fmt))
    dst = os.path.join(work, name + ".sparse.mlir")
    remarks = N.sieve_opt(
        opts.sieve_opt, src, dst,
        "--sieve-sparsify-attention=window-left=%d window-right=%d "
        "globals=%d global-source=%s min-seq-len=0" % (wl, wr, G, source))
    if "sieve.hybrid_attention" not in open(dst).read():
        return report.fail(name, "not rewritten: " + remarks.strip())

    q = rng.uniform(-1, 1, size=(B, HQ, SQ, D)).astype(np.float32)
    k = rng.uniform(-1, 1, size=(B, HKV, SK, D)).astype(np.float32)
    v = rng.uniform(-1, 1, size=(B, HKV, SK, D)).astype(np.float32)
    args = [q, k, v]
    if source == "sinks":
        globals_ = np.tile(np.arange(min(G, SK), dtype=np.int32), (B, 1))
    else:
        scores = rng.normal(size=(B, SK)).astype(np.float32)
        args.append(scores)
        globals_ = R.select_global(scores, G)

    # The visible set of every row, as an additive mask; and its size.
    mask = np.full((B, SQ, SK), -np.inf, dtype=np.float32)
    visible = 0
    for b in range(B):
        for i in range(SQ):
            keys = R.hybrid_visible_set(i, SQ, SK, set(int(g) for g in
                                                       globals_[b]),
                                        wl, 0 if causal else wr, causal,
                                        False)
            mask[b, i, keys] = 0.0
            visible += len(keys)
    dense = sum(min(i + SK - SQ, SK - 1) + 1 if causal else SK
                for i in range(SQ))
    removed_min = B * dense - visible   # over the batch; per head below

    out_sparse = N.sieve_run(opts.sieve_run, dst,
                             N.write_inputs(work, name, args),
                             os.path.join(work, name, "sparse"))[0]
    masked_src = os.path.join(work, name + ".masked.mlir")
    with open(masked_src, "w") as f:
        f.write(MASKED.format(**fmt))
    out_masked = N.sieve_run(opts.sieve_run, masked_src,
                             N.write_inputs(work, name + ".masked",
                                            [q, k, v, mask]),
                             os.path.join(work, name, "masked"))[0]
    err = N.rel_err(out_sparse, out_masked)
    if err > TOL:
        return report.fail(name, "relative error %.3g > %g against the "
                           "masked dense graph" % (err, TOL))

    m = REMARK.search(remarks)
    if not m:
        return report.fail(name, "no fraction in the remark: " + remarks)
    rem_removed, rem_dense = int(m.group(3)), int(m.group(4))
    if rem_dense != dense:
        return report.fail(name, "remark counts %d dense entries, expected %d"
                           % (rem_dense, dense))
    if source == "sinks" and rem_removed * B != removed_min:
        return report.fail(name, "remark says %d removed per head, the mask "
                           "%g" % (rem_removed, removed_min / B))
    if source == "scores" and rem_removed * B > removed_min:
        return report.fail(name, "remark's lower bound %d exceeds what the "
                           "mask removes (%g per head)"
                           % (rem_removed, removed_min / B))
    report.ok(name, "err=%.2g; removes %.1f%% of the score entries (remark: "
              "%s%s%%)" % (err, 100.0 * removed_min / (B * dense),
                           m.group(1) or "", m.group(2)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sieve-opt", required=True)
    parser.add_argument("--sieve-run", required=True)
    parser.add_argument("--workdir", required=True)
    opts = parser.parse_args()
    report = N.Report()
    rng = np.random.default_rng(11)
    cases = [
        # name, B, Hq, Hkv, Sq, Sk, D, causal, wl, wr, G, source
        ("causal_gqa_sinks", 1, 4, 2, 192, 192, 16, True, 24, 0, 4, "sinks"),
        ("bidirectional_sinks", 2, 2, 1, 96, 160, 8, False, 20, 12, 3,
         "sinks"),
        ("causal_scores", 2, 2, 2, 128, 128, 8, True, 16, 0, 5, "scores"),
        ("bidirectional_scores", 1, 4, 1, 64, 128, 16, False, 8, 8, 6,
         "scores"),
    ]
    for (name, B, HQ, HKV, SQ, SK, D, causal, wl, wr, G, source) in cases:
        try:
            check_case(opts, report, name, B, HQ, HKV, SQ, SK, D, causal, {},
                       wl, wr, G, source, rng)
        except N.ToolError as e:
            report.fail(name, str(e))
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
