// RUN: sieve-opt %s -split-input-file --sieve-lower-to-reference -canonicalize | FileCheck %s
// The numeric checks of this lowering against an independent reference are in
// test/reference/; here: its structure.

// Dense attention: per row, scores into a per-row buffer and their maximum,
// then exp-weights and the weighted values into an f32 accumulator, rounded
// to f16 once at the end. With static shapes nothing is checked at run time,
// and the default scale 1/sqrt(64) is a constant.
// CHECK-LABEL: func.func @attention_static(
//   CHECK-NOT:   cf.assert
//   CHECK-DAG:   %[[SCALE:.+]] = arith.constant 1.250000e-01 : f32
//   CHECK-DAG:   %[[ACC:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x8x128x64xf32>)
//   CHECK-DAG:   %[[ROW:.+]] = tensor.empty() : tensor<128xf32>
//       CHECK:   scf.for {{.+}} iter_args(%{{.+}} = %[[ACC]], %{{.+}} = %[[ROW]])
//       CHECK:     arith.mulf %{{.+}}, %[[SCALE]] : f32
//       CHECK:     arith.maximumf
//       CHECK:     math.exp
//       CHECK:     arith.divf
//       CHECK:   linalg.generic
//       CHECK:     arith.truncf %{{.+}} : f32 to f16
//   CHECK-NOT:   sieve.
func.func @attention_static(%q: tensor<1x8x128x64xf16>, %k: tensor<1x2x128x64xf16>) -> tensor<1x8x128x64xf16> {
  %0 = sieve.attention %q, %k, %k {causal = true} : tensor<1x8x128x64xf16>, tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16> -> tensor<1x8x128x64xf16>
  return %0 : tensor<1x8x128x64xf16>
}

// -----

// Dynamic sizes leave the contract's shape rules to run time.
// CHECK-LABEL: func.func @attention_dynamic(
//   CHECK-DAG:   cf.assert %{{.+}}, "sieve.attention at {{.+}}: 'key' and 'query' have different batch sizes"
//   CHECK-DAG:   cf.assert %{{.+}}, "sieve.attention at {{.+}}: 'value' and 'key' have different numbers of heads"
//   CHECK-DAG:   cf.assert %{{.+}}, "sieve.attention at {{.+}}: 'value' and 'key' have different sequence lengths"
//   CHECK-DAG:   cf.assert %{{.+}}, "sieve.attention at {{.+}}: 'key' and 'query' have different head dimensions"
//   CHECK-DAG:   cf.assert %{{.+}}, "sieve.attention at {{.+}}: the number of query heads is not a multiple of the number of key/value heads"
//       CHECK:   math.sqrt
func.func @attention_dynamic(%q: tensor<?x8x?x?xf32>, %k: tensor<?x?x?x?xf32>) -> tensor<?x8x?x?xf32> {
  %0 = sieve.attention %q, %k, %k : tensor<?x8x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32> -> tensor<?x8x?x?xf32>
  return %0 : tensor<?x8x?x?xf32>
}

// -----

// Hybrid attention walks the window and then the deduplicated globals; it
// never builds anything of size S x S.
// CHECK-LABEL: func.func @hybrid_attention(
//   CHECK-NOT:   tensor<{{.*}}4096x4096
//       CHECK:   %[[FIRST:.+]] = scf.for {{.+}} -> (tensor<1x16xi1>)
//       CHECK:   scf.for
//       CHECK:     tensor.extract %[[FIRST]]
//       CHECK:     math.exp
//   CHECK-NOT:   tensor<{{.*}}4096x4096
func.func @hybrid_attention(%q: tensor<1x8x4096x64xbf16>, %k: tensor<1x2x4096x64xbf16>, %g: tensor<1x16xi32>) -> tensor<1x8x4096x64xbf16> {
  %0 = sieve.hybrid_attention %q, %k, %k, %g window(512, 0) {causal = true, global_queries = true} : tensor<1x8x4096x64xbf16>, tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16>, tensor<1x16xi32> -> tensor<1x8x4096x64xbf16>
  return %0 : tensor<1x8x4096x64xbf16>
}

// -----

// CHECK-LABEL: func.func @select_global(
//       CHECK:   cf.assert %{{.+}}, "sieve.select_global at {{.+}}: 'count' exceeds the sequence length of 'scores'"
//       CHECK:   arith.cmpf uno
//       CHECK:   arith.cmpf ogt
//       CHECK:   arith.index_cast %{{.+}} : index to i32
func.func @select_global(%s: tensor<2x?xf32>) -> tensor<2x16xi32> {
  %0 = sieve.select_global %s count(16) : tensor<2x?xf32> -> tensor<2x16xi32>
  return %0 : tensor<2x16xi32>
}

// -----

// The gate MLP is linalg: two contractions, the activation (exact gelu via
// erf), the sigmoid; a threshold gives a strict comparison.
// CHECK-LABEL: func.func @gate_threshold(
//       CHECK:   linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
//       CHECK:   math.erf
//       CHECK:   linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "reduction"]
//       CHECK:   math.exp
//       CHECK:   arith.cmpf ogt, %{{.+}}, %{{.+}} : f32
//   CHECK-NOT:   math.round
func.func @gate_threshold(%x: tensor<2x64x32xf16>, %w1: tensor<16x32xf16>, %b1: tensor<16xf16>, %w2: tensor<16xf16>, %b2: tensor<f32>) -> (tensor<2x64xf32>, tensor<2x64xi1>) {
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(gelu) threshold(0.3) : tensor<2x64x32xf16>, tensor<16x32xf16>, tensor<16xf16>, tensor<16xf16>, tensor<f32> -> tensor<2x64xf32>, tensor<2x64xi1>
  return %s, %m : tensor<2x64xf32>, tensor<2x64xi1>
}

// -----

// Capacity routing: k = max(1, round(capacity * S)) in f64, then top-k.
// CHECK-LABEL: func.func @gate_capacity(
//       CHECK:   arith.constant 1.250000e-01 : f64
//       CHECK:   math.round %{{.+}} : f64
//       CHECK:   arith.maxsi
//       CHECK:   arith.minsi
//       CHECK:   arith.cmpf uno
func.func @gate_capacity(%x: tensor<2x?x32xf32>, %w1: tensor<16x32xf32>, %b1: tensor<16xf32>, %w2: tensor<16xf32>, %b2: tensor<f32>) -> tensor<2x?xi1> {
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(silu) capacity(0.125) : tensor<2x?x32xf32>, tensor<16x32xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32> -> tensor<2x?xf32>, tensor<2x?xi1>
  return %m : tensor<2x?xi1>
}

// -----

// Compact fills zeros and -1 first and moves whole rows; scatter moves rows
// back over `base` where the position is in range.
// CHECK-LABEL: func.func @compact_scatter(
//   CHECK-DAG:   linalg.fill ins(%{{.+}} : f16) outs(%{{.+}} : tensor<2x64x32xf16>)
//   CHECK-DAG:   linalg.fill ins(%{{.+}} : i32) outs(%{{.+}} : tensor<2x64xi32>)
//       CHECK:   tensor.extract_slice %{{.+}}[%{{.+}}, %{{.+}}, 0] [1, 1, 32] [1, 1, 1] : tensor<2x64x32xf16> to tensor<32xf16>
//       CHECK:   tensor.insert_slice
//       CHECK:   arith.cmpi slt, %{{.+}}, %c64
//       CHECK:   tensor.insert_slice
func.func @compact_scatter(%x: tensor<2x64x32xf16>, %m: tensor<2x64xi1>, %base: tensor<2x64x32xf16>) -> (tensor<2x64x32xf16>, tensor<2xi32>) {
  %p, %pos, %c = sieve.compact %x, %m : tensor<2x64x32xf16>, tensor<2x64xi1> -> tensor<2x64x32xf16>, tensor<2x64xi32>, tensor<2xi32>
  %y = sieve.scatter %p, %pos, %base : tensor<2x64x32xf16>, tensor<2x64xi32>, tensor<2x64x32xf16> -> tensor<2x64x32xf16>
  return %y, %c : tensor<2x64x32xf16>, tensor<2xi32>
}

// -----

// Quantize groups the last dimension, takes max|x| per group (maximumf keeps
// NaN), rounds half to even and clamps to +-7 for 4 bits.
// CHECK-LABEL: func.func @quantize(
//   CHECK-DAG:   %[[QMAX:.+]] = arith.constant 7.000000e+00 : f32
//   CHECK-DAG:   %[[QMIN:.+]] = arith.constant -7.000000e+00 : f32
//       CHECK:   tensor.expand_shape %{{.+}} {{\[}}[0], [1, 2]] output_shape [16, 4, 8] : tensor<16x32xbf16> into tensor<16x4x8xbf16>
//       CHECK:   math.absf
//       CHECK:   arith.maximumf
//       CHECK:   arith.divf %{{.+}}, %[[QMAX]] : f32
//       CHECK:   math.roundeven
//       CHECK:   arith.maximumf %{{.+}}, %[[QMIN]] : f32
//       CHECK:   arith.minimumf %{{.+}}, %[[QMAX]] : f32
//       CHECK:   arith.fptosi %{{.+}} : f32 to i4
//       CHECK:   tensor.collapse_shape %{{.+}} {{\[}}[0], [1, 2]] : tensor<16x4x8xi4> into tensor<16x32xi4>
func.func @quantize(%w: tensor<16x32xbf16>) -> (tensor<16x32xi4>, tensor<16x4xf32>) {
  %q, %s = sieve.quantize %w bits(4) group_size(8) : tensor<16x32xbf16> -> tensor<16x32xi4>, tensor<16x4xf32>
  return %q, %s : tensor<16x32xi4>, tensor<16x4xf32>
}

// -----

// With a dynamic K the division is checked at run time. The weights are
// dequantized to f32 and transposed so that the contraction runs k outside n:
// each sum stays in ascending k and the loop over n vectorizes.
// CHECK-LABEL: func.func @qmatmul(
//       CHECK:   cf.assert %{{.+}}, "sieve.qmatmul at {{.+}}: 'weight_values' and 'input' have different reduction dimensions"
//       CHECK:   cf.assert %{{.+}}, "sieve.qmatmul at {{.+}}: 'group_size' does not divide the last dimension of 'weight_values'"
//       CHECK:   arith.sitofp %{{.+}} : i8 to f32
//       CHECK:   linalg.transpose ins(%{{.+}} : tensor<16x?xf32>) outs(%{{.+}} : tensor<?x16xf32>) permutation = [1, 0]
//       CHECK:   linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "reduction", "parallel"]
//       CHECK:   arith.truncf %{{.+}} : f32 to f16
func.func @qmatmul(%x: tensor<2x3x?xf16>, %q: tensor<16x?xi8>, %s: tensor<16x?xf32>, %b: tensor<16xf16>) -> tensor<2x3x16xf16> {
  %0 = sieve.qmatmul %x, %q, %s bias(%b : tensor<16xf16>) group_size(32) : tensor<2x3x?xf16>, tensor<16x?xi8>, tensor<16x?xf32> -> tensor<2x3x16xf16>
  return %0 : tensor<2x3x16xf16>
}

// -----

// Ops of other dialects are left alone.
// CHECK-LABEL: func.func @other_ops(
//       CHECK:   %[[R:.+]] = arith.addf
//       CHECK:   return %[[R]]
func.func @other_ops(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = arith.addf %x, %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}
