// RUN: sieve-opt %s -split-input-file --sieve-quantize -verify-diagnostics | FileCheck %s

// Options: 4 bits in groups of 2, only linalg.matmul, a minimum size.
// RUN: sieve-opt %s -split-input-file --sieve-quantize="weight-bits=4 group-size=2 targets=matmul" 2>/dev/null | FileCheck %s --check-prefix=MATMUL-I4
// RUN: sieve-opt %s -split-input-file --sieve-quantize="targets=generic,batch_matmul min-weight-elements=64" 2>&1 | FileCheck %s --check-prefix=TARGETS
// RUN: sieve-opt %s -split-input-file --sieve-quantize="fold-qdq=false" 2>/dev/null | FileCheck %s --check-prefix=NO-QDQ

// Bad option values.
// RUN: not sieve-opt %s --sieve-quantize="weight-bits=3" 2>&1 | FileCheck %s --check-prefix=BAD-BITS
// RUN: not sieve-opt %s --sieve-quantize="targets=conv" 2>&1 | FileCheck %s --check-prefix=BAD-TARGET
// RUN: not sieve-opt %s --sieve-quantize="qk-precision=f16" 2>&1 | FileCheck %s --check-prefix=BAD-QK
// BAD-QK: error: sieve-quantize: unknown qk-precision 'f16'; expected i8 or f8E4M3FN

// qk-precision sets the scores' quantization of both attention ops.
// RUN: sieve-opt %s -split-input-file --sieve-quantize="qk-precision=i8" 2>&1 | FileCheck %s --check-prefix=QK-I8
// RUN: sieve-opt %s -split-input-file --sieve-quantize="qk-precision=f8E4M3FN" 2>/dev/null | FileCheck %s --check-prefix=QK-F8
// QK-I8: remark: sieve-quantize: sieve.attention scores in 'i8'
// QK-I8: remark: sieve-quantize: sieve.hybrid_attention scores in 'i8'
// QK-I8-LABEL: func.func @attention_scores(
// QK-I8: sieve.attention {{.*}} {causal = true, qk_precision = i8}
// QK-I8: sieve.hybrid_attention {{.*}} {qk_precision = i8}
// QK-F8-LABEL: func.func @attention_scores(
// QK-F8: sieve.attention {{.*}} {causal = true, qk_precision = f8E4M3FN}
// QK-F8: sieve.hybrid_attention {{.*}} {qk_precision = f8E4M3FN}
// BAD-BITS: error: sieve-quantize: weight-bits must be 4 or 8, found 3
// BAD-TARGET: error: sieve-quantize: unknown target 'conv'; expected all, matmul, batch_matmul or generic

// The numbers: bit-exact quantization, equality with the dequantized-weight
// graph, the reported errors, QDQ folding.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/quantize.py --sieve-opt sieve-opt --sieve-run sieve-run --workdir %t | FileCheck %s --check-prefix=NUMERIC
// NUMERIC-NOT: FAIL
// NUMERIC: {{^[0-9]+}} cases, 0 failures

// linalg.matmul against [K, N] weights: the constant is transposed to
// [N, K] and quantized per row (group-size 128 does not divide K = 4). Row
// 0 of [N, K] is [1, 0.5, 0, -1]: scale f32(1/127), q [127, 64, 0, -127];
// row 1 is [2, -1, 0.25, 4]: scale f32(4/127), q [64, -32, 8, 127]. The
// numbers agree with sieve_reference.quantize (see Inputs/quantize.py).
// CHECK-LABEL: func.func @matmul_kn(
//  CHECK-SAME:     %[[X:[^:]+]]: tensor<3x4xf32>
//   CHECK-DAG:   %[[Q:.+]] = arith.constant dense<{{\[\[}}127, 64, 0, -127], [64, -32, 8, 127]]> : tensor<2x4xi8>
//   CHECK-DAG:   %[[S:.+]] = arith.constant dense<{{\[\[}}0.00787401571], [0.0314960629]]> : tensor<2x1xf32>
//       CHECK:   %[[Y:.+]] = sieve.qmatmul %[[X]], %[[Q]], %[[S]] group_size(0) : tensor<3x4xf32>, tensor<2x4xi8>, tensor<2x1xf32> -> tensor<3x2xf32>
//   CHECK-NOT:   linalg.matmul
//       CHECK:   return %[[Y]]
// MATMUL-I4-LABEL: func.func @matmul_kn(
//       MATMUL-I4:   sieve.qmatmul {{.+}} group_size(2) : tensor<3x4xf32>, tensor<2x4xi4>, tensor<2x2xf32>
// TARGETS: remark: sieve-quantize: left linalg.matmul in float: linalg.matmul is not among the targets
func.func @matmul_kn(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [0.5, -1.0], [0.0, 0.25], [-1.0, 4.0]]> : tensor<4x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<3x2xf32>) -> tensor<3x2xf32>
  // expected-remark @+1 {{sieve-quantize: linalg.matmul -> sieve.qmatmul with 2x4 i8 weights, group_size 0 (group-size 128 does not divide K = 4: one group per row): |error| max 1.57e-02, mean 3.69e-03 (max |w| 4.00e+00)}}
  %y = linalg.matmul ins(%x, %w : tensor<3x4xf32>, tensor<4x2xf32>) outs(%acc : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// A linalg.generic over [B, S, K] against [N, K] weights (PyTorch Linear
// layout, no transpose), whose init broadcasts a bias: the bias becomes the
// qmatmul's. Dynamic batch and sequence sizes are fine.
#x = affine_map<(b, s, n, k) -> (b, s, k)>
#w = affine_map<(b, s, n, k) -> (n, k)>
#y = affine_map<(b, s, n, k) -> (b, s, n)>
// CHECK-LABEL: func.func @generic_bias(
//  CHECK-SAME:     %[[X:[^:]+]]: tensor<?x?x256xf16>
//   CHECK-DAG:   %[[B:.+]] = arith.constant dense<{{.+}}> : tensor<8xf16>
//   CHECK-DAG:   %[[Q:.+]] = arith.constant dense<{{.+}}> : tensor<8x256xi8>
//   CHECK-DAG:   %[[S:.+]] = arith.constant dense<{{.+}}> : tensor<8x2xf32>
//       CHECK:   sieve.qmatmul %[[X]], %[[Q]], %[[S]] bias(%[[B]] : tensor<8xf16>) group_size(128) : tensor<?x?x256xf16>, tensor<8x256xi8>, tensor<8x2xf32> -> tensor<?x?x8xf16>
//   CHECK-NOT:   linalg.broadcast
// MATMUL-I4-LABEL: func.func @generic_bias(
//       MATMUL-I4:   linalg.generic
// TARGETS: remark: sieve-quantize: linalg.generic -> sieve.qmatmul with 8x256 i8 weights, group_size 128
func.func @generic_bias(%x: tensor<?x?x256xf16>) -> tensor<?x?x8xf16> {
  %w = arith.constant dense<0.5> : tensor<8x256xf16>
  %bias = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf16>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d0 = tensor.dim %x, %c0 : tensor<?x?x256xf16>
  %d1 = tensor.dim %x, %c1 : tensor<?x?x256xf16>
  %e = tensor.empty(%d0, %d1) : tensor<?x?x8xf16>
  %init = linalg.broadcast ins(%bias : tensor<8xf16>) outs(%e : tensor<?x?x8xf16>) dimensions = [0, 1]
  // expected-remark @+1 {{sieve-quantize: linalg.generic -> sieve.qmatmul with 8x256 i8 weights, group_size 128: |error| max 0.00e+00, mean 0.00e+00 (max |w| 5.00e-01)}}
  %y = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x?x256xf16>, tensor<8x256xf16>) outs(%init : tensor<?x?x8xf16>) {
  ^bb0(%a: f16, %b: f16, %o: f16):
    %m = arith.mulf %a, %b : f16
    %s = arith.addf %o, %m : f16
    linalg.yield %s : f16
  } -> tensor<?x?x8xf16>
  return %y : tensor<?x?x8xf16>
}

// -----

// An init that is neither zeros nor a bias is added after the qmatmul;
// weights through a linalg.transpose of the constant are looked through.
// CHECK-LABEL: func.func @init_and_transpose(
//  CHECK-SAME:     %[[X:[^:]+]]: tensor<2x4xf32>, %[[INIT:[^:]+]]: tensor<2x4xf32>
//       CHECK:   %[[Y:.+]] = sieve.qmatmul %[[X]], {{.+}} group_size(0) : tensor<2x4xf32>, tensor<4x4xi8>, tensor<4x1xf32> -> tensor<2x4xf32>
//       CHECK:   %[[SUM:.+]] = arith.addf %[[INIT]], %[[Y]] : tensor<2x4xf32>
//   CHECK-NOT:   linalg.transpose
//       CHECK:   return %[[SUM]]
func.func @init_and_transpose(%x: tensor<2x4xf32>, %init: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 2.0]]> : tensor<4x4xf32>
  %e = tensor.empty() : tensor<4x4xf32>
  %wt = linalg.transpose ins(%w : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) permutation = [1, 0]
  // expected-remark @+1 {{sieve-quantize: linalg.matmul -> sieve.qmatmul with 4x4 i8 weights, group_size 0 (group-size 128 does not divide K = 4: one group per row)}}
  %y = linalg.matmul ins(%x, %wt : tensor<2x4xf32>, tensor<4x4xf32>) outs(%init : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// linalg.batch_matmul: weights equal across the batch are quantized once;
// weights that differ across the batch stay in float.
// CHECK-LABEL: func.func @batch_matmul(
//       CHECK:   sieve.qmatmul %{{.+}}, %{{.+}}, %{{.+}} group_size(0) : tensor<2x3x4xf32>, tensor<2x4xi8>, tensor<2x1xf32> -> tensor<2x3x2xf32>
//       CHECK:   linalg.batch_matmul
// TARGETS: remark: sieve-quantize: left linalg.batch_matmul in float: its 2x4 weights have fewer than min-weight-elements = 64 elements
func.func @batch_matmul(%x: tensor<2x3x4xf32>) -> (tensor<2x3x2xf32>, tensor<2x3x2xf32>) {
  %same = arith.constant dense<[[[1.0, 2.0], [0.5, -1.0], [0.0, 0.25], [-1.0, 4.0]], [[1.0, 2.0], [0.5, -1.0], [0.0, 0.25], [-1.0, 4.0]]]> : tensor<2x4x2xf32>
  %other = arith.constant dense<[[[1.0, 2.0], [0.5, -1.0], [0.0, 0.25], [-1.0, 4.0]], [[1.0, 2.0], [0.5, -1.0], [0.0, 0.25], [-1.0, 5.0]]]> : tensor<2x4x2xf32>
  %zero = arith.constant dense<0.0> : tensor<2x3x2xf32>
  // expected-remark @+1 {{sieve-quantize: linalg.batch_matmul -> sieve.qmatmul with 2x4 i8 weights}}
  %y = linalg.batch_matmul ins(%x, %same : tensor<2x3x4xf32>, tensor<2x4x2xf32>) outs(%zero : tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
  // expected-remark @+1 {{sieve-quantize: left linalg.batch_matmul in float: its weights differ across the batch}}
  %z = linalg.batch_matmul ins(%x, %other : tensor<2x3x4xf32>, tensor<2x4x2xf32>) outs(%zero : tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
  return %y, %z : tensor<2x3x2xf32>, tensor<2x3x2xf32>
}

// -----

// Quantize-dequantize pairs keep the graph's quantization: of constants,
// folded at compile time; of an argument, the sieve.quantize stays and
// feeds the qmatmul.
// CHECK-LABEL: func.func @qdq_sieve(
//  CHECK-SAME:     %[[X:[^:]+]]: tensor<3x4xf32>, %[[W:[^:]+]]: tensor<2x4xf32>
//   CHECK-DAG:   %[[Q:.+]] = arith.constant dense<{{\[\[}}7, 3, 0, -7], [3, -2, 0, 7]]> : tensor<2x4xi4>
//       CHECK:   sieve.qmatmul %[[X]], %[[Q]], %{{.+}} group_size(0) : tensor<3x4xf32>, tensor<2x4xi4>, tensor<2x1xf32>
//       CHECK:   %[[QW:.+]], %[[SW:.+]] = sieve.quantize %[[W]] bits(8) group_size(2)
//       CHECK:   sieve.qmatmul %[[X]], %[[QW]], %[[SW]] group_size(2)
//   CHECK-NOT:   sieve.dequantize
// NO-QDQ-LABEL: func.func @qdq_sieve(
//       NO-QDQ:   sieve.dequantize
//       NO-QDQ:   linalg.matmul
#mk = affine_map<(m, n, k) -> (m, k)>
#nk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>
func.func @qdq_sieve(%x: tensor<3x4xf32>, %w: tensor<2x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %c = arith.constant dense<[[1.0, 0.5, 0.0, -1.0], [2.0, -1.0, 0.25, 4.0]]> : tensor<2x4xf32>
  %q, %s = sieve.quantize %c bits(4) group_size(0) : tensor<2x4xf32> -> tensor<2x4xi4>, tensor<2x1xf32>
  %dq = sieve.dequantize %q, %s group_size(0) : tensor<2x4xi4>, tensor<2x1xf32> -> tensor<2x4xf32>
  %zero = arith.constant dense<0.0> : tensor<3x2xf32>
  // expected-remark @+1 {{sieve-quantize: linalg.matmul -> sieve.qmatmul with 2x4 i4 weights, group_size 0 (folded the graph's quantize-dequantize): |error| max 2.86e-01, mean 9.37e-02 (max |w| 4.00e+00)}}
  %y = linalg.matmul indexing_maps = [#mk, #nk, #mn] ins(%x, %dq : tensor<3x4xf32>, tensor<2x4xf32>) outs(%zero : tensor<3x2xf32>) -> tensor<3x2xf32>
  %q2, %s2 = sieve.quantize %w bits(8) group_size(2) : tensor<2x4xf32> -> tensor<2x4xi8>, tensor<2x2xf32>
  %dq2 = sieve.dequantize %q2, %s2 group_size(2) : tensor<2x4xi8>, tensor<2x2xf32> -> tensor<2x4xf32>
  // expected-remark @+1 {{sieve-quantize: linalg.matmul -> sieve.qmatmul with 2x4 i8 weights, group_size 2 (folded the graph's quantize-dequantize)}}
  %z = linalg.matmul indexing_maps = [#mk, #nk, #mn] ins(%x, %dq2 : tensor<3x4xf32>, tensor<2x4xf32>) outs(%zero : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %y, %z : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

// A dequantize of [K, N] weights has its groups along N: no qmatmul can
// express it.
// CHECK-LABEL: func.func @dequantize_kn(
//       CHECK:   linalg.matmul
func.func @dequantize_kn(%x: tensor<3x4xf32>, %q: tensor<4x2xi8>, %s: tensor<4x1xf32>) -> tensor<3x2xf32> {
  %dq = sieve.dequantize %q, %s group_size(0) : tensor<4x2xi8>, tensor<4x1xf32> -> tensor<4x2xf32>
  %zero = arith.constant dense<0.0> : tensor<3x2xf32>
  // expected-remark @+1 {{sieve-quantize: left linalg.matmul in float: its weights are a sieve.dequantize in [K, N] layout: groups along N cannot be a sieve.qmatmul}}
  %y = linalg.matmul ins(%x, %dq : tensor<3x4xf32>, tensor<4x2xf32>) outs(%zero : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Fake quantization in linalg as QAT exports carry it, per output channel
// of [K, N] weights (scales 1/7 and 1/2, clamp to [-7, 7]): evaluated at
// compile time into i4 values and the graph's scales, one group per row.
// w^T = [[1, 0.5, 0, -1], [2, -1, 0.25, 4]]: q = [[7, 3, 0, -7],
// [4, -2, 0, 7]] (0.5 / f32(1/7) = 3.4999998 in f32; 8 clamps to 7).
// CHECK-LABEL: func.func @qdq_linalg(
//   CHECK-DAG:   %[[Q:.+]] = arith.constant dense<{{\[\[}}7, 3, 0, -7], [4, -2, 0, 7]]> : tensor<2x4xi4>
//   CHECK-DAG:   %[[S:.+]] = arith.constant dense<{{\[\[}}0.142857149], [5.000000e-01]]> : tensor<2x1xf32>
//       CHECK:   sieve.qmatmul %{{.+}}, %[[Q]], %[[S]] group_size(0)
//   CHECK-NOT:   math.roundeven
func.func @qdq_linalg(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [0.5, -1.0], [0.0, 0.25], [-1.0, 4.0]]> : tensor<4x2xf32>
  %s = arith.constant dense<[0.142857149, 0.5]> : tensor<2xf32>
  %lo = arith.constant -7.0 : f32
  %hi = arith.constant 7.0 : f32
  %e = tensor.empty() : tensor<4x2xf32>
  %dq = linalg.generic {indexing_maps = [affine_map<(k, n) -> (k, n)>, affine_map<(k, n) -> (n)>, affine_map<(k, n) -> (k, n)>], iterator_types = ["parallel", "parallel"]}
      ins(%w, %s : tensor<4x2xf32>, tensor<2xf32>) outs(%e : tensor<4x2xf32>) {
  ^bb0(%a: f32, %sc: f32, %o: f32):
    %t = arith.divf %a, %sc : f32
    %r = math.roundeven %t : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %d = arith.mulf %c2, %sc : f32
    linalg.yield %d : f32
  } -> tensor<4x2xf32>
  %zero = arith.constant dense<0.0> : tensor<3x2xf32>
  // expected-remark @+1 {{sieve-quantize: linalg.matmul -> sieve.qmatmul with 2x4 i4 weights, group_size 0 (folded the graph's quantize-dequantize)}}
  %y = linalg.matmul ins(%x, %dq : tensor<3x4xf32>, tensor<4x2xf32>) outs(%zero : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Left alone, with a remark: weights that are not constant, a body that is
// not a multiply-add, a dense_resource whose blob is not there. No remark
// for contractions the pass does not look at (one input, two reductions).
// CHECK-LABEL: func.func @left_alone(
//   CHECK-NOT:   sieve.qmatmul
#x2 = affine_map<(m, n, k) -> (m, k)>
#w2 = affine_map<(m, n, k) -> (n, k)>
#y2 = affine_map<(m, n, k) -> (m, n)>
func.func @left_alone(%x: tensor<3x4xf32>, %w: tensor<4x2xf32>, %acc: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<f32>) {
  // expected-remark @+1 {{sieve-quantize: left linalg.matmul in float: its weights are not a constant}}
  %a = linalg.matmul ins(%x, %w : tensor<3x4xf32>, tensor<4x2xf32>) outs(%acc : tensor<3x2xf32>) -> tensor<3x2xf32>
  %c = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-remark @+1 {{sieve-quantize: left linalg.generic in float: its body is not `out + in * w`}}
  %b = linalg.generic {indexing_maps = [#x2, #w2, #y2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %c : tensor<3x4xf32>, tensor<2x4xf32>) outs(%acc : tensor<3x2xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.maximumf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<3x2xf32>
  %r = arith.constant dense_resource<__elided__> : tensor<4x2xf32>
  // expected-remark @+1 {{sieve-quantize: left linalg.matmul in float: its constant weights are not f32/f16/bf16 data that can be read (a dense_resource without its blob?)}}
  %d = linalg.matmul ins(%x, %r : tensor<3x4xf32>, tensor<4x2xf32>) outs(%acc : tensor<3x2xf32>) -> tensor<3x2xf32>
  %z = tensor.empty() : tensor<f32>
  %sum = linalg.reduce ins(%x : tensor<3x4xf32>) outs(%z : tensor<f32>) dimensions = [0, 1]
    (%in: f32, %out: f32) {
      %t = arith.addf %in, %out : f32
      linalg.yield %t : f32
    }
  return %a, %b, %d, %sum : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<f32>
}

// -----

// Odd inputs: bf16 data is quantized like any float; integer, f64 and mixed
// f16 -> f32 contractions stay; ops on buffers are not looked at.
// CHECK-LABEL: func.func @odd_types(
//       CHECK:   sieve.qmatmul %{{.+}} : tensor<2x4xbf16>, tensor<3x4xi8>, tensor<3x1xf32> -> tensor<2x3xbf16>
//       CHECK:   linalg.matmul {{.+}} -> tensor<2x3xi32>
//       CHECK:   linalg.matmul {{.+}} -> tensor<2x3xf64>
//       CHECK:   linalg.matmul {{.+}} -> tensor<2x3xf32>
//       CHECK:   linalg.matmul ins(%{{.+}} : memref<4x8xf32>, memref<8x4xf32>)
func.func @odd_types(%xb: tensor<2x4xbf16>, %xi: tensor<2x4xi32>, %xd: tensor<2x4xf64>, %xh: tensor<2x4xf16>, %a: memref<4x8xf32>, %b: memref<8x4xf32>, %c: memref<4x4xf32>) -> (tensor<2x3xbf16>, tensor<2x3xi32>, tensor<2x3xf64>, tensor<2x3xf32>) {
  %wb = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [1.0, 1.0, 1.0]]> : tensor<4x3xbf16>
  %zb = arith.constant dense<0.0> : tensor<2x3xbf16>
  // expected-remark @+1 {{sieve-quantize: linalg.matmul -> sieve.qmatmul with 3x4 i8 weights}}
  %yb = linalg.matmul ins(%xb, %wb : tensor<2x4xbf16>, tensor<4x3xbf16>) outs(%zb : tensor<2x3xbf16>) -> tensor<2x3xbf16>
  %wi = arith.constant dense<1> : tensor<4x3xi32>
  %zi = arith.constant dense<0> : tensor<2x3xi32>
  // expected-remark @+1 {{sieve-quantize: left linalg.matmul in float: its body is not `out + in * w`}}
  %yi = linalg.matmul ins(%xi, %wi : tensor<2x4xi32>, tensor<4x3xi32>) outs(%zi : tensor<2x3xi32>) -> tensor<2x3xi32>
  %wd = arith.constant dense<1.0> : tensor<4x3xf64>
  %zd = arith.constant dense<0.0> : tensor<2x3xf64>
  // expected-remark @+1 {{sieve-quantize: left linalg.matmul in float: its input, output and weights are not floats of one type}}
  %yd = linalg.matmul ins(%xd, %wd : tensor<2x4xf64>, tensor<4x3xf64>) outs(%zd : tensor<2x3xf64>) -> tensor<2x3xf64>
  %wh = arith.constant dense<1.0> : tensor<4x3xf16>
  %zh = arith.constant dense<0.0> : tensor<2x3xf32>
  // expected-remark @+1 {{sieve-quantize: left linalg.matmul in float: its input, output and weights are not floats of one type}}
  %yh = linalg.matmul ins(%xh, %wh : tensor<2x4xf16>, tensor<4x3xf16>) outs(%zh : tensor<2x3xf32>) -> tensor<2x3xf32>
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x4xf32>) outs(%c : memref<4x4xf32>)
  return %yb, %yi, %yd, %yh : tensor<2x3xbf16>, tensor<2x3xi32>, tensor<2x3xf64>, tensor<2x3xf32>
}

// -----

// Attention is left alone without qk-precision.
// CHECK-LABEL: func.func @attention_scores(
// CHECK: sieve.attention {{.*}} {causal = true} :
// CHECK: sieve.hybrid_attention {{.*}} window(8, 8) :
func.func @attention_scores(%q: tensor<1x4x64x32xbf16>, %g: tensor<1x2xi32>) -> (tensor<1x4x64x32xbf16>, tensor<1x4x64x32xbf16>) {
  %0 = sieve.attention %q, %q, %q {causal = true} : tensor<1x4x64x32xbf16>, tensor<1x4x64x32xbf16>, tensor<1x4x64x32xbf16> -> tensor<1x4x64x32xbf16>
  %1 = sieve.hybrid_attention %q, %q, %q, %g window(8, 8) : tensor<1x4x64x32xbf16>, tensor<1x4x64x32xbf16>, tensor<1x4x64x32xbf16>, tensor<1x2xi32> -> tensor<1x4x64x32xbf16>
  return %0, %1 : tensor<1x4x64x32xbf16>, tensor<1x4x64x32xbf16>
}
