#!/usr/bin/env python3
"""Numeric check of sieve-fuse-attention: a raised graph computes what the
graph it was raised from computes.

  fuse_attention_numeric.py --cases test/passes/sieve-fuse-attention.mlir \
      --sieve-opt PATH --sieve-run PATH --workdir DIR

For each case below (a function of the lit test file, which holds one
function per `// -----` split), on the same random inputs:

  1. runs the graph with sieve-run;
  2. runs `sieve-opt --sieve-fuse-attention` on it, writes the result to a
     file, checks that it holds the expected sieve op, and runs that file
     with sieve-run;
  3. compares every output: ||fused - graph|| / ||graph|| <= 1e-5 for f32
     graphs, 1e-2 when an operand or result is f16/bf16; i1 masks must agree
     exactly except where the graph's own score is within that tolerance of
     the threshold.

sieve-run's reference pipeline runs neither linalg.softmax nor all of TOSA
(tosa.const and tosa.reshape need tosa-to-arith/tosa-to-tensor, which it does
not run; its TOSA validation rejects what tosa.tile lowers to), so both graphs
are first put through upstream, semantics-preserving rewrites: linalg.softmax's
own decomposition (the transform dialect's decompose_interface) and TOSA's
lowering to linalg/tensor/arith. The fusion itself always runs on the graph
as written.

Prints `PASS <name> <err>` or `FAIL <name>: <why>` per case and a last line
`<N> cases, <F> failures`; exits 1 when F > 0. Needs numpy (/usr/bin/python3,
lit's %python).
"""

import argparse
import os
import re
import subprocess
import sys
import zlib

import numpy as np

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "reference"))
import sieve_reference as R  # noqa: E402

# (function, sieve op it must be raised to, sizes of the dynamic dimensions
# in the order they appear in the signature, gate threshold or None).
# Not here: tosa_logsumexp_dynamic (sieve-run's TOSA validation rejects
# dynamic shapes; the log-sum-exp softmax is covered by tosa_gqa_decode).
CASES = [
    ("named_ops", "sieve.attention", [], None),
    ("named_ops_dynamic", "sieve.attention", [12, 20, 20], None),
    ("generic_softmax_dynamic", "sieve.attention", [12, 20, 20], None),
    ("matmul_named_softmax", "sieve.attention", [], None),
    ("matmul_named_softmax_dynamic", "sieve.attention", [12, 20, 20], None),
    ("iree_f16", "sieve.attention", [], None),
    ("bf16_named_dynamic", "sieve.attention", [12, 20, 20], None),
    ("tosa_causal", "sieve.attention", [], None),
    ("tosa_gqa_decode", "sieve.attention", [], None),
    ("torch_gqa_causal_dynamic", "sieve.attention", [24, 24, 24], None),
    ("gqa_prefill_causal", "sieve.attention", [], None),
    ("mqa_dynamic", "sieve.attention", [12, 20, 20], None),
    ("tosa_tile_heads", "sieve.attention", [], None),
    ("f16_in_f32_out", "sieve.attention", [], None),
    ("generate_mask", "sieve.attention", [], None),
    ("torch_is_causal_dynamic", "sieve.attention", [24, 24, 24], None),
    ("iree_exp2", "sieve.attention", [], None),
    ("repeat_outer", "sieve.attention", [], None),
    ("gate_gelu", "sieve.gate", [], 0.3),
    ("gate_tosa_relu", "sieve.gate", [], 0.5),
    ("gate_silu_dynamic", "sieve.gate", [24], 0.75),
    ("gate_f16", "sieve.gate", [], 0.5),
    ("gate_top_k", "sieve.gate", [], None),
]

DECOMPOSE_SOFTMAX = """
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(
      %root: !transform.any_op {transform.readonly}) {
    %0 = transform.structured.match ops{["linalg.softmax"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %1 = transform.structured.decompose_interface %0
        : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}
"""

# All of TOSA to linalg/tensor/arith, as tosa-to-linalg and its companions
# define it (sieve-run's pipeline lacks tosa-to-arith/tosa-to-tensor, and its
# TOSA validation rejects the rank-8 reshape tosa.tile lowers to).
TOSA_LOWERING = ("builtin.module(func.func(tosa-to-linalg-named, tosa-to-linalg,"
                 " tosa-to-arith, tosa-to-tensor))")

NPY_DTYPE = {"f32": np.float32, "f16": np.float16, "bf16": np.float32}
TENSOR = re.compile(r"%[\w]+\s*:\s*tensor<([^>]*)>")


def split_cases(path):
    """Maps each function name of a -split-input-file test to its split."""
    text = open(path).read()
    cases = {}
    for chunk in re.split(r"^// -----$", text, flags=re.M):
        match = re.search(r"^func\.func @(\w+)\(", chunk, flags=re.M)
        if match:
            cases[match.group(1)] = chunk
    return cases


def signature(chunk, name):
    """The (shape with None for '?', element type) of each argument."""
    start = re.search(r"^func\.func @%s\(" % name, chunk, flags=re.M).start()
    header = chunk[start:chunk.index("{", start)]
    args = header[:header.index(") ->")] if ") ->" in header else header
    result = []
    for body in TENSOR.findall(args):
        *dims, elt = body.split("x")
        result.append(([None if d == "?" else int(d) for d in dims], elt))
    return result


def run(cmd, what):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    if proc.returncode != 0:
        raise RuntimeError("%s failed: %s" % (what, proc.stderr.strip()[-600:]))
    return proc.stdout


def load_outputs(folder):
    outs = []
    while os.path.exists(os.path.join(folder, "out%d.npy" % len(outs))):
        outs.append(np.load(os.path.join(folder, "out%d.npy" % len(outs))))
    return outs


def check_case(name, chunk, op, dynamic, threshold, args, workdir):
    case_dir = os.path.join(workdir, name)
    os.makedirs(case_dir, exist_ok=True)
    graph = os.path.join(case_dir, "graph.mlir")
    with open(graph, "w") as f:
        f.write(chunk)

    # Random inputs in their element types; one size per dynamic dimension.
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    sizes = iter(dynamic)
    inputs, narrow = [], False
    for i, (shape, elt) in enumerate(signature(chunk, name)):
        shape = [next(sizes) if d is None else d for d in shape]
        narrow |= elt in ("f16", "bf16")
        data = R.round_to(rng.uniform(-1.0, 1.0, size=shape), elt)
        path = os.path.join(case_dir, "in%d.npy" % i)
        np.save(path, data.astype(NPY_DTYPE[elt]))
        inputs += ["--input", path]

    # Fuse the graph as written; both graphs then go through the upstream
    # rewrites sieve-run needs.
    fused = os.path.join(case_dir, "fused.mlir")
    run([args.sieve_opt, graph, "--sieve-fuse-attention", "-o", fused],
        "sieve-opt --sieve-fuse-attention")
    if op not in open(fused).read():
        raise RuntimeError("the fused graph holds no %s" % op)
    library = os.path.join(workdir, "decompose-softmax.mlir")
    outputs = {}
    for label, source in (("graph", graph), ("fused", fused)):
        decomposed = os.path.join(case_dir, label + ".decomposed.mlir")
        run([args.sieve_opt, source,
             "--transform-preload-library=transform-library-paths=" + library,
             "--transform-interpreter", "-o", decomposed],
            "decomposing linalg.softmax in the %s" % label)
        prepared = os.path.join(case_dir, label + ".prepared.mlir")
        run([args.sieve_opt, decomposed, "-pass-pipeline=" + TOSA_LOWERING,
             "-o", prepared], "lowering TOSA in the %s" % label)
        out_dir = os.path.join(case_dir, label)
        run([args.sieve_run, prepared, "--output-dir", out_dir] + inputs,
            "sieve-run on the %s" % label)
        outputs[label] = load_outputs(out_dir)

    tol = 1e-2 if narrow else 1e-5
    ref, got = outputs["graph"], outputs["fused"]
    if len(ref) != len(got) or not ref:
        raise RuntimeError("%d outputs before fusion, %d after"
                           % (len(ref), len(got)))
    scores = [r for r in ref if r.dtype != np.bool_]
    err = 0.0
    for k, (r, g) in enumerate(zip(ref, got)):
        if r.shape != g.shape or r.dtype != g.dtype:
            raise RuntimeError("out%d: %s %s before, %s %s after"
                               % (k, r.dtype, r.shape, g.dtype, g.shape))
        if r.dtype == np.bool_:
            differ = r != g
            if scores and threshold is not None:
                near = np.abs(scores[0].reshape(r.shape).astype(np.float64)
                              - threshold) <= tol
                differ &= ~near
            if differ.any():
                raise RuntimeError("out%d: %d mask entries differ"
                                   % (k, int(differ.sum())))
            continue
        r64, g64 = r.astype(np.float64), g.astype(np.float64)
        if not np.all(np.isfinite(g64)):
            raise RuntimeError("out%d: non-finite values after fusion" % k)
        norm = np.linalg.norm(r64)
        e = np.linalg.norm(g64 - r64) / norm if norm > 0 else \
            np.linalg.norm(g64)
        err = max(err, e)
        if not e <= tol:
            raise RuntimeError("out%d: relative error %.3e > %g" % (k, e, tol))
    return err


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", required=True)
    parser.add_argument("--sieve-opt", required=True)
    parser.add_argument("--sieve-run", required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    with open(os.path.join(args.workdir, "decompose-softmax.mlir"), "w") as f:
        f.write(DECOMPOSE_SOFTMAX)

    chunks = split_cases(args.cases)
    failures = 0
    for name, op, dynamic, threshold in CASES:
        try:
            if name not in chunks:
                raise RuntimeError("no function @%s in %s" % (name, args.cases))
            err = check_case(name, chunks[name], op, dynamic, threshold, args,
                             args.workdir)
            print("PASS %s %.3e" % (name, err))
        except RuntimeError as e:
            failures += 1
            print("FAIL %s: %s" % (name, e))
    print("%d cases, %d failures" % (len(CASES), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
