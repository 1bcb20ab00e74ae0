#!/usr/bin/env python3
"""Numeric check of sieve-sparsify-gating: every graph of a lit file that the
pass rewrites must compute what it computed before.

  sparsify_gating.py --graphs FILE.mlir --sieve-opt PATH --sieve-run PATH
                     --workdir DIR

Splits FILE at `// -----`, runs the pass on each part, and for each part it
rewrote (the output holds a sieve.scatter) runs the original and the
rewritten graph with sieve-run on the same random inputs, twice: with random
masks (about 40% of the tokens active), and with batch rows alternately all
inactive and all active (count 0 and count S). Dynamic dimensions take size
3 in position 0 (batch) and 5 in position 1 (sequence).

The rewrite computes the branch's rows with the very same ops, in the same
order, on the same values, so the outputs must be equal; a difference up to
f32 rounding (relative error 1e-6) would pass but is reported.

Prints `PASS <name>/<masks> exact|err=<e>` or `FAIL ...` per run and a last
line `<N> cases, <F> failures`; exits 1 when F > 0.
"""

import argparse
import os
import re
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numeric as N  # noqa: E402

DYN = {0: 3, 1: 5}
TOL = 1e-6


def make_inputs(args, rng, masks):
    arrays = []
    for _, shape, elt in args:
        shape = [DYN[i] if d is None else d for i, d in enumerate(shape)]
        if elt == "i1":
            if masks == "random":
                a = rng.random(shape) < 0.4
            else:
                a = np.zeros(shape, dtype=bool)
                a[1::2] = True
        elif elt in ("i8", "i4"):
            q = 127 if elt == "i8" else 7
            a = rng.integers(-q, q + 1, size=shape).astype(np.int8)
        else:
            a = rng.uniform(-1, 1, size=shape).astype(N.NPY_DTYPE[elt])
        arrays.append(a)
    return arrays


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graphs", required=True)
    parser.add_argument("--sieve-opt", required=True)
    parser.add_argument("--sieve-run", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--pass-options", default="",
                        help="options of sieve-sparsify-gating, e.g. "
                        "slice-active-rows=false")
    opts = parser.parse_args()
    gating = "--sieve-sparsify-gating"
    if opts.pass_options:
        gating += "=" + opts.pass_options

    report = N.Report()
    parts = open(opts.graphs).read().split("// -----")
    for index, part in enumerate(parts):
        part = "\n".join(line for line in part.splitlines()
                         if not line.lstrip().startswith("//"))
        names = re.findall(r"func\.func @(\w+)\(", part)
        if not names:
            continue
        name = names[0]
        src = os.path.join(opts.workdir, "%s.mlir" % name)
        dst = os.path.join(opts.workdir, "%s.gated.mlir" % name)
        with open(src, "w") as f:
            f.write(part)
        try:
            N.sieve_opt(opts.sieve_opt, src, dst, gating)
        except N.ToolError as e:
            report.fail(name, str(e))
            continue
        rewritten = open(dst).read()
        if "sieve.scatter" not in rewritten or "sieve.scatter" in part:
            continue
        args = N.function_args(part, name)
        rng = np.random.default_rng(index)
        for masks in ("random", "alternating"):
            label = "%s/%s" % (name, masks)
            inputs = N.write_inputs(opts.workdir, label.replace("/", "."),
                                    make_inputs(args, rng, masks))
            try:
                before = N.sieve_run(opts.sieve_run, src, inputs,
                                     os.path.join(opts.workdir, label, "a"))
                after = N.sieve_run(opts.sieve_run, dst, inputs,
                                    os.path.join(opts.workdir, label, "b"))
            except N.ToolError as e:
                report.fail(label, str(e))
                continue
            exact = all(np.array_equal(a, b) for a, b in zip(before, after))
            err = max(N.rel_err(b, a) for a, b in zip(before, after))
            if len(before) != len(after) or err > TOL:
                report.fail(label, "relative error %.3g > %g" % (err, TOL))
            else:
                report.ok(label, "exact" if exact else "err=%.3g" % err)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
