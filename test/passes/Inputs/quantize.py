#!/usr/bin/env python3
"""Numeric check of sieve-quantize.

  quantize.py --sieve-opt PATH --sieve-run PATH --workdir DIR

Each case is a small graph with one contraction against constant float
weights (linalg.matmul, linalg.batch_matmul, linalg.generic; [K, N] or
[N, K] layout; with or without a bias; `dense` or `dense_resource`
constants). The case runs the pass and checks, on the same random input x:

  * bit-exact quantization: the pass's graph gives exactly the output of a
    graph that feeds sieve.qmatmul the weights quantized here by numpy
    (sieve_reference.quantize, the contract's f32 arithmetic) as inputs;
  * the result is the dequantized-weight contraction: the original graph
    with its weights replaced by q * scale (in f32, computed here) agrees
    within a relative error of 1e-5 (f32; the two sum in the same order and
    differ only where the bias is added);
  * the remark reports the weights' max and mean |w - q * scale| as
    computed here (to the 3 digits it prints);
  * and it prints the error against the float graph, informational.

QDQ cases (sieve.quantize -> sieve.dequantize, and a linalg.generic
computing clamp(roundeven(w / s), -qmax, qmax) * s) must be folded and equal
the original graph within 1e-5.

Prints `PASS <case> ...` or `FAIL <case>: <why>` and a last line
`<N> cases, <F> failures`; exits 1 when F > 0.
"""

import argparse
import os
import re
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numeric as N  # noqa: E402

R = N.R
TOL = 1e-5
M, K, NOUT = 8, 64, 48


def lit(a):
    return N.dense_literal(a)


def resource(name, a):
    """A dense_resource blob of f32 data: (attribute, dialect_resources
    entry)."""
    data = np.asarray(a, dtype="<f4").tobytes()
    return ("dense_resource<%s>" % name,
            '%s: "0x04000000%s"' % (name, data.hex().upper()))


def matmul_graph(kind, w_attr, w_shape, bias=None, resources=()):
    """A graph `y = x . w (+ bias)` with the weights as a constant attribute
    `w_attr` of shape `w_shape`; kind: matmul_kn, matmul_nk (transposed
    maps), generic_nk, generic_kn, batch_matmul."""
    x_t = "tensor<%dx%dxf32>" % (M, K)
    y_t = "tensor<%dx%dxf32>" % (M, NOUT)
    lead = "(m, n, k)"
    if kind == "batch_matmul":
        x_t = "tensor<2x%dx%dxf32>" % (M, K)
        y_t = "tensor<2x%dx%dxf32>" % (M, NOUT)
    w_t = "tensor<%sxf32>" % "x".join(str(d) for d in w_shape)
    lines = ["func.func @main(%%x: %s) -> %s {" % (x_t, y_t),
             "  %%w = arith.constant %s : %s" % (w_attr, w_t),
             "  %%e = tensor.empty() : %s" % y_t]
    if bias is not None:
        dims = "[0, 1]" if kind == "batch_matmul" else "[0]"
        lines += ["  %%b = arith.constant %s : tensor<%dxf32>" % (lit(bias), NOUT),
                  "  %%acc = linalg.broadcast ins(%%b : tensor<%dxf32>) "
                  "outs(%%e : %s) dimensions = %s" % (NOUT, y_t, dims)]
    else:
        lines += ["  %zero = arith.constant 0.0 : f32",
                  "  %%acc = linalg.fill ins(%%zero : f32) outs(%%e : %s) "
                  "-> %s" % (y_t, y_t)]
    if kind == "matmul_kn":
        lines.append("  %%y = linalg.matmul ins(%%x, %%w : %s, %s) "
                     "outs(%%acc : %s) -> %s" % (x_t, w_t, y_t, y_t))
    elif kind == "matmul_nk":
        lines.append(
            "  %%y = linalg.matmul indexing_maps = [affine_map<%s -> (m, k)>, "
            "affine_map<%s -> (n, k)>, affine_map<%s -> (m, n)>] "
            "ins(%%x, %%w : %s, %s) outs(%%acc : %s) -> %s"
            % (lead, lead, lead, x_t, w_t, y_t, y_t))
    elif kind == "batch_matmul":
        lines.append("  %%y = linalg.batch_matmul ins(%%x, %%w : %s, %s) "
                     "outs(%%acc : %s) -> %s" % (x_t, w_t, y_t, y_t))
    else:
        wmap = "(n, k)" if kind == "generic_nk" else "(k, n)"
        lines += [
            "  %%y = linalg.generic {indexing_maps = [affine_map<%s -> (m, k)>,"
            " affine_map<%s -> %s>, affine_map<%s -> (m, n)>], iterator_types"
            " = [\"parallel\", \"parallel\", \"reduction\"]} ins(%%x, %%w : %s, "
            "%s) outs(%%acc : %s) {" % (lead, lead, wmap, lead, x_t, w_t, y_t),
            "  ^bb0(%a: f32, %c: f32, %o: f32):",
            "    %p = arith.mulf %a, %c : f32",
            "    %s = arith.addf %o, %p : f32",
            "    linalg.yield %s : f32",
            "  } -> %s" % y_t]
    lines += ["  return %%y : %s" % y_t, "}"]
    text = "\n".join(lines) + "\n"
    if resources:
        text += ("{-#\n  dialect_resources: {\n    builtin: {\n      %s\n"
                 "    }\n  }\n#-}\n" % ",\n      ".join(resources))
    return text


def qmatmul_graph(bits, group, n_groups, batch, bias):
    x_t = ("tensor<2x%dx%dxf32>" if batch else "tensor<%dx%dxf32>") % (M, K) \
        if batch else "tensor<%dx%dxf32>" % (M, K)
    y_t = ("tensor<2x%dx%dxf32>" % (M, NOUT)) if batch else \
        "tensor<%dx%dxf32>" % (M, NOUT)
    q_t = "tensor<%dx%dxi%d>" % (NOUT, K, bits)
    s_t = "tensor<%dx%dxf32>" % (NOUT, n_groups)
    args = "%%x: %s, %%q: %s, %%s: %s" % (x_t, q_t, s_t)
    bias_text = ""
    if bias is not None:
        args += ", %%b: tensor<%dxf32>" % NOUT
        bias_text = " bias(%%b : tensor<%dxf32>)" % NOUT
    return ("func.func @main(%s) -> %s {\n"
            "  %%y = sieve.qmatmul %%x, %%q, %%s%s group_size(%d) : %s, %s, %s "
            "-> %s\n  return %%y : %s\n}\n"
            % (args, y_t, bias_text, group, x_t, q_t, s_t, y_t, y_t))


REMARK = re.compile(r"\|error\| max ([0-9.e+-]+), mean ([0-9.e+-]+)")


def close3(printed, value):
    return abs(float(printed) - value) <= 0.006 * max(abs(value), 1e-30)


def check_weight_case(opts, report, name, kind, bits, group, bias_on,
                      use_resource, rng):
    work = opts.workdir
    w_nk = (rng.normal(size=(NOUT, K)) * 0.05).astype(np.float32)
    # A few exact ties (x / scale = k + 0.5) and a zero row.
    w_nk[3, :] = 0.0
    w_nk[5, 0] = 1.0
    w_nk[5, 1] = 0.5 / (127 if bits == 8 else 7)
    bias = rng.normal(size=NOUT).astype(np.float32) if bias_on else None
    layout_kn = kind in ("matmul_kn", "generic_kn", "batch_matmul")
    w_graph = w_nk.T.copy() if layout_kn else w_nk
    if kind == "batch_matmul":
        w_graph = np.stack([w_graph, w_graph])
    resources = ()
    if use_resource:
        w_attr, entry = resource("weights", w_graph)
        resources = (entry,)
    else:
        w_attr = lit(w_graph)
    src = os.path.join(work, name + ".mlir")
    with open(src, "w") as f:
        f.write(matmul_graph(kind, w_attr, w_graph.shape, bias, resources))
    dst = os.path.join(work, name + ".q.mlir")
    remarks = N.sieve_opt(opts.sieve_opt, src, dst,
                          "--sieve-quantize=weight-bits=%d group-size=%d"
                          % (bits, group))
    if "sieve.qmatmul" not in open(dst).read():
        return report.fail(name, "not quantized: " + remarks.strip())

    # numpy's quantization, per the contract.
    gs = group if group and K % group == 0 else 0
    q, s = R.quantize(w_nk, bits, gs)
    dq = (R.dequantize(q, s, gs)).astype(np.float32)   # exact f32 products
    err = np.abs(dq.astype(np.float64) - w_nk.astype(np.float64))

    batch = kind == "batch_matmul"
    x = rng.uniform(-1, 1, size=((2, M, K) if batch else (M, K))
                    ).astype(np.float32)
    inputs = N.write_inputs(work, name, [x])
    out_q = N.sieve_run(opts.sieve_run, dst, inputs,
                        os.path.join(work, name, "q"))[0]
    out_f = N.sieve_run(opts.sieve_run, src, inputs,
                        os.path.join(work, name, "f"))[0]

    # Bit-exact against numpy-quantized weights fed to sieve.qmatmul.
    ref_src = os.path.join(work, name + ".qref.mlir")
    with open(ref_src, "w") as f:
        f.write(qmatmul_graph(bits, gs, s.shape[1], batch, bias))
    ref_inputs = N.write_inputs(work, name + ".qref",
                                [x, q, s] + ([bias] if bias_on else []))
    out_ref = N.sieve_run(opts.sieve_run, ref_src, ref_inputs,
                          os.path.join(work, name, "qref"))[0]
    if not np.array_equal(out_q, out_ref):
        return report.fail(name, "differs from sieve.qmatmul on numpy's "
                           "quantization (max |diff| %g)"
                           % np.abs(out_q - out_ref).max())

    # The dequantized-weight contraction, in f32.
    dq_graph = dq.T.copy() if layout_kn else dq
    if batch:
        dq_graph = np.stack([dq_graph, dq_graph])
    dq_src = os.path.join(work, name + ".dq.mlir")
    with open(dq_src, "w") as f:
        f.write(matmul_graph(kind, lit(dq_graph), dq_graph.shape, bias))
    out_dq = N.sieve_run(opts.sieve_run, dq_src, inputs,
                         os.path.join(work, name, "dq"))[0]
    e_dq = N.rel_err(out_q, out_dq)
    if e_dq > TOL:
        return report.fail(name, "relative error %.3g against the "
                           "dequantized-weight graph" % e_dq)

    m = REMARK.search(remarks)
    if not m or not close3(m.group(1), err.max()) or \
            not close3(m.group(2), err.mean()):
        return report.fail(name, "remark %r, numpy: max %.3e mean %.3e"
                           % (remarks.strip(), err.max(), err.mean()))
    report.ok(name, "bit-exact; vs dequantized err=%.2g; vs float err=%.2g; "
              "weights |err| max %.2e mean %.2e"
              % (e_dq, N.rel_err(out_q, out_f), err.max(), err.mean()))


QDQ_SIEVE = """
func.func @main(%x: tensor<8x64xf32>) -> tensor<8x48xf32> {
  %w = arith.constant WEIGHTS : tensor<48x64xf32>
  %q, %s = sieve.quantize %w bits(4) group_size(16) : tensor<48x64xf32> -> tensor<48x64xi4>, tensor<48x4xf32>
  %dq = sieve.dequantize %q, %s group_size(16) : tensor<48x64xi4>, tensor<48x4xf32> -> tensor<48x64xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x48xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<8x48xf32>) -> tensor<8x48xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %dq : tensor<8x64xf32>, tensor<48x64xf32>) outs(%acc : tensor<8x48xf32>) -> tensor<8x48xf32>
  return %y : tensor<8x48xf32>
}
"""

# Fake quantization as QAT exports carry it, per output channel of a [K, N]
# weight: clamp(roundeven(w / s[n]), -127, 127) * s[n].
QDQ_LINALG = """
func.func @main(%x: tensor<8x64xf32>) -> tensor<8x48xf32> {
  %w = arith.constant WEIGHTS : tensor<64x48xf32>
  %s = arith.constant SCALES : tensor<48xf32>
  %lo = arith.constant -127.0 : f32
  %hi = arith.constant 127.0 : f32
  %e0 = tensor.empty() : tensor<64x48xf32>
  %dq = linalg.generic {indexing_maps = [affine_map<(k, n) -> (k, n)>, affine_map<(k, n) -> (n)>, affine_map<(k, n) -> (k, n)>], iterator_types = ["parallel", "parallel"]}
      ins(%w, %s : tensor<64x48xf32>, tensor<48xf32>) outs(%e0 : tensor<64x48xf32>) {
  ^bb0(%a: f32, %sc: f32, %o: f32):
    %t = arith.divf %a, %sc : f32
    %r = math.roundeven %t : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %d = arith.mulf %c2, %sc : f32
    linalg.yield %d : f32
  } -> tensor<64x48xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x48xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<8x48xf32>) -> tensor<8x48xf32>
  %y = linalg.matmul ins(%x, %dq : tensor<8x64xf32>, tensor<64x48xf32>) outs(%acc : tensor<8x48xf32>) -> tensor<8x48xf32>
  return %y : tensor<8x48xf32>
}
"""


def check_qdq_case(opts, report, name, text, rng):
    work = opts.workdir
    src = os.path.join(work, name + ".mlir")
    with open(src, "w") as f:
        f.write(text)
    dst = os.path.join(work, name + ".q.mlir")
    remarks = N.sieve_opt(opts.sieve_opt, src, dst, "--sieve-quantize")
    out_text = open(dst).read()
    if "sieve.qmatmul" not in out_text or "folded" not in remarks or \
            "linalg.matmul" in out_text or "sieve.dequantize" in out_text:
        return report.fail(name, "not folded: " + remarks.strip())
    x = rng.uniform(-1, 1, size=(M, K)).astype(np.float32)
    inputs = N.write_inputs(work, name, [x])
    out_q = N.sieve_run(opts.sieve_run, dst, inputs,
                        os.path.join(work, name, "q"))[0]
    out_f = N.sieve_run(opts.sieve_run, src, inputs,
                        os.path.join(work, name, "f"))[0]
    e = N.rel_err(out_q, out_f)
    if e > TOL:
        return report.fail(name, "relative error %.3g against the QDQ graph"
                           % e)
    report.ok(name, "folded; vs the QDQ graph err=%.2g" % e)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sieve-opt", required=True)
    parser.add_argument("--sieve-run", required=True)
    parser.add_argument("--workdir", required=True)
    opts = parser.parse_args()
    report = N.Report()
    rng = np.random.default_rng(7)

    cases = [
        ("matmul_kn_i8_g32", "matmul_kn", 8, 32, False, False),
        ("matmul_nk_i4_g16_bias", "matmul_nk", 4, 16, True, False),
        ("generic_nk_i8_row", "generic_nk", 8, 0, False, False),
        ("generic_kn_i4_g128_fallback", "generic_kn", 4, 128, True, False),
        ("batch_matmul_i8_g64", "batch_matmul", 8, 64, False, False),
        ("resource_matmul_kn_i4_g32", "matmul_kn", 4, 32, False, True),
    ]
    for name, kind, bits, group, bias_on, use_resource in cases:
        try:
            check_weight_case(opts, report, name, kind, bits, group, bias_on,
                              use_resource, rng)
        except N.ToolError as e:
            report.fail(name, str(e))

    w = (rng.normal(size=(NOUT, K)) * 0.05).astype(np.float32)
    w_kn = (rng.normal(size=(K, NOUT)) * 0.05).astype(np.float32)
    scales = (np.abs(w_kn).max(axis=0) / 127).astype(np.float32)
    for name, text in [
            ("qdq_sieve_i4_g16", QDQ_SIEVE.replace("WEIGHTS", lit(w))),
            ("qdq_linalg_per_channel",
             QDQ_LINALG.replace("WEIGHTS", lit(w_kn))
             .replace("SCALES", lit(scales)))]:
        try:
            check_qdq_case(opts, report, name, text, rng)
        except N.ToolError as e:
            report.fail(name, str(e))
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
