// Upstream ops defined as compositions of others run too: linalg.softmax is
// decomposed by sieve-lower-to-reference (the CPU pipeline has no loops for
// it). Rows [0, ln 3] and [ln 3, 0] give [1/4, 3/4] and [3/4, 1/4].
// RUN: sieve-run %s --print-summary | FileCheck %s
// CHECK: out0: f32[2x2] min=0.25 max=0.75 mean=0.5 nan=0
func.func @softmax() -> tensor<2x2xf32> {
  %x = arith.constant dense<[[0.0, 1.0986123], [1.0986123, 0.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %s = linalg.softmax dimension(1) ins(%x : tensor<2x2xf32>)
      outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %s : tensor<2x2xf32>
}
