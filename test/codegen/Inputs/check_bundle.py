#!/usr/bin/env python3
"""Whole-graph check of sieve-compile: a graph compiled into one bundle and
run on the SIMT emulator computes what the CPU reference computes.

  check_bundle.py --graph G.mlir --workdir DIR --sieve-compile PATH
      --sieve-opt PATH --sieve-run PATH --sieve-bundle-run PATH
      [--optimize "OPTIONS" | --no-optimize] [--sizes N1,N2,...]
      [--seed S] [--tol T] [--emulator-checks]

The graph is compiled once (sieve-compile runs sieve-optimize with OPTIONS
first, or nothing with --no-optimize). The reference is sieve-run on the
graph after `sieve-opt --sieve-optimize=OPTIONS` (the same rewrites, so the
comparison isolates code generation; the error the rewrites themselves make,
sparsity and quantization, is checked by the tests of the passes). Both
tools fill the inputs with --random-inputs SEED, the bundle's manifest
telling sieve-bundle-run what sieve-run reads off the graph, so they see the
same data; with --sizes every dynamic dimension takes each size in turn,
all from the one bundle.

--emulator-checks runs the emulator with a random thread order after every
barrier (seeded by --seed) and its shared-memory race checks.

Float outputs must agree within --tol (relative error, ||out - ref|| /
||ref||; the kernels sum in other orders, and use polynomial sin/cos/exp
where the CPU uses libm); integer and boolean outputs exactly. Prints one
line per size:

  PASS <graph> S=<n>: out0 err=1.2e-07 out1 exact, gates active=0.34
  FAIL <graph> S=<n>: <why>

and `<N> cases, <F> failures` last.

Requires numpy (run with /usr/bin/python3, lit's %python).
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


def outputs(folder):
    result = []
    while os.path.exists(os.path.join(folder, "out%d.npy" % len(result))):
        result.append(np.load(os.path.join(folder, "out%d.npy" % len(result))))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graph", required=True)
    parser.add_argument("--workdir", required=True)
    for tool in ("sieve-compile", "sieve-opt", "sieve-run",
                 "sieve-bundle-run"):
        parser.add_argument("--" + tool, required=True)
    parser.add_argument("--optimize", default="")
    parser.add_argument("--no-optimize", action="store_true")
    parser.add_argument("--sizes", default="")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tol", type=float, default=1e-5)
    parser.add_argument("--emulator-checks", action="store_true")
    opts = parser.parse_args()

    name = os.path.splitext(os.path.basename(opts.graph))[0]
    os.makedirs(opts.workdir, exist_ok=True)
    report = N.Report()
    bundle = os.path.join(opts.workdir, "bundle")
    compile_cmd = [opts.sieve_compile, opts.graph, "-o", bundle]
    reference = opts.graph
    try:
        if opts.no_optimize:
            compile_cmd.append("--no-optimize")
        else:
            compile_cmd.append("--optimize=" + opts.optimize)
            reference = os.path.join(opts.workdir, "reference.mlir")
            N.sieve_opt(opts.sieve_opt, opts.graph, reference,
                        "--sieve-optimize=" + opts.optimize)
        N.run(compile_cmd, "sieve-compile")
    except N.ToolError as e:
        report.fail(name, str(e))
        return report.finish()

    sizes = [int(s) for s in opts.sizes.split(",") if s] or [None]
    checks = []
    if opts.emulator_checks:
        checks = ["--emulator-schedule-seed", str(opts.seed),
                  "--emulator-check-races"]
    for size in sizes:
        label = name if size is None else "%s S=%d" % (name, size)
        tag = "static" if size is None else str(size)
        common = ["--random-inputs", str(opts.seed)]
        if size is not None:
            common += ["--dynamic-size", str(size)]
        ref_dir = os.path.join(opts.workdir, "reference-" + tag)
        emu_dir = os.path.join(opts.workdir, "emulator-" + tag)
        try:
            N.run([opts.sieve_run, reference, "--output-dir", ref_dir] +
                  common, "sieve-run")
            run = N.run([opts.sieve_bundle_run, bundle, "--device",
                         "emulator", "--output-dir", emu_dir, "--stats"] +
                        common + checks, "sieve-bundle-run")
        except N.ToolError as e:
            report.fail(label, str(e))
            continue
        expected, got = outputs(ref_dir), outputs(emu_dir)
        if len(expected) != len(got) or not expected:
            report.fail(label, "%d outputs, the reference has %d"
                        % (len(got), len(expected)))
            continue
        details, problems = [], []
        for i, (a, b) in enumerate(zip(got, expected)):
            if a.shape != b.shape:
                problems.append("out%d has shape %s, the reference %s"
                                % (i, a.shape, b.shape))
            elif a.dtype.kind in "biu":
                if np.array_equal(a, b):
                    details.append("out%d exact" % i)
                else:
                    problems.append("out%d differs in %d of %d elements"
                                    % (i, int(np.sum(a != b)), a.size))
            else:
                err = N.rel_err(a, b)
                details.append("out%d err=%.2g" % (i, err))
                if not err <= opts.tol:
                    problems.append("out%d relative error %.3g > %g"
                                    % (i, err, opts.tol))
        for m in re.finditer(r"active_token_ratio ([0-9.]+)", run.stdout):
            details.append("gate active=%.3f" % float(m.group(1)))
        if problems:
            report.fail(label, "; ".join(problems))
        else:
            report.ok(label + ":", " ".join(details))
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
