"""Shared helpers of the numeric checks of Sieve's graph passes: run
sieve-opt and sieve-run, bind .npy inputs, compare outputs.

The drivers next to this file import it; they run with numpy (lit's %python,
/usr/bin/python3).
"""

import os
import re
import subprocess
import sys

import numpy as np

sys.dont_write_bytecode = True  # keep the source tree clean

REFERENCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "..", "..", "reference")
sys.path.insert(0, REFERENCE_DIR)
import sieve_reference as R  # noqa: E402,F401  (re-exported)

NPY_DTYPE = {"f32": np.float32, "f16": np.float16, "bf16": np.float32,
             "i64": np.int64, "i32": np.int32, "i8": np.int8, "i4": np.int8,
             "i1": np.bool_}

TENSOR = re.compile(r"tensor<((?:[0-9?]+x)*)([a-z0-9]+)>")


class ToolError(Exception):
    pass


def run(cmd, what):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolError("%s failed (%d): %s" % (what, proc.returncode,
                                                proc.stderr.strip()[-2000:]))
    return proc


def sieve_opt(tool, src, dst, pipeline):
    """Runs `tool src pipeline -o dst`; returns stderr (the remarks)."""
    return run([tool, src, pipeline, "-o", dst], "sieve-opt").stderr


def sieve_run(tool, graph, inputs, outdir, entry=None):
    """Runs `graph` on the .npy files `inputs`; returns the outputs."""
    cmd = [tool, graph, "--output-dir", outdir]
    if entry:
        cmd += ["--entry", entry]
    for path in inputs:
        cmd += ["--input", path]
    run(cmd, "sieve-run " + os.path.basename(graph))
    outs = []
    i = 0
    while os.path.exists(os.path.join(outdir, "out%d.npy" % i)):
        outs.append(np.load(os.path.join(outdir, "out%d.npy" % i)))
        i += 1
    return outs


def parse_type(text):
    m = TENSOR.fullmatch(text.strip())
    if not m:
        raise ValueError("not a tensor type: " + text)
    dims = [d for d in m.group(1).split("x") if d]
    return [None if d == "?" else int(d) for d in dims], m.group(2)


def function_args(mlir, name):
    """[(arg name, shape with None for '?', element type)] of @name."""
    start = mlir.index("func.func @%s(" % name)
    depth, i = 0, mlir.index("(", start)
    for j in range(i, len(mlir)):
        if mlir[j] == "(":
            depth += 1
        elif mlir[j] == ")":
            depth -= 1
            if depth == 0:
                break
    args = []
    for m in re.finditer(r"%([\w.]+)\s*:\s*(tensor<[^>]*>)", mlir[i:j]):
        shape, elt = parse_type(m.group(2))
        args.append((m.group(1), shape, elt))
    return args


def write_inputs(workdir, prefix, arrays):
    paths = []
    for i, a in enumerate(arrays):
        path = os.path.join(workdir, "%s.in%d.npy" % (prefix, i))
        np.save(path, a)
        paths.append(path)
    return paths


def rel_err(out, ref):
    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if not np.all(np.isfinite(out)):
        return float("inf")
    norm = np.linalg.norm(ref)
    return float(np.linalg.norm(out - ref) / (norm if norm > 0 else 1.0))


def dense_literal(a):
    """An MLIR dense literal of a float or integer array (f32 values printed
    exactly)."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        flat = ["%.9e" % float(np.float32(v)) for v in a.reshape(-1)]
    else:
        flat = ["%d" % int(v) for v in a.reshape(-1)]

    def nest(items, shape):
        if not shape:
            return items[0]
        step = len(items) // shape[0] if shape[0] else 0
        return "[" + ", ".join(nest(items[k * step:(k + 1) * step], shape[1:])
                               for k in range(shape[0])) + "]"
    return "dense<%s>" % nest(flat, list(a.shape))


class Report:
    """PASS/FAIL lines and the final `<N> cases, <F> failures` line."""

    def __init__(self):
        self.cases = 0
        self.failures = 0

    def ok(self, name, detail):
        self.cases += 1
        print("PASS %s %s" % (name, detail))

    def fail(self, name, why):
        self.cases += 1
        self.failures += 1
        print("FAIL %s: %s" % (name, why))

    def finish(self):
        print("%d cases, %d failures" % (self.cases, self.failures))
        sys.stdout.flush()
        return 1 if self.failures else 0
