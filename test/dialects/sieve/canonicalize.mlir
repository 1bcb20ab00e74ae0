// RUN: sieve-opt %s -canonicalize -split-input-file | FileCheck %s

// A window that covers every key of every row makes the globals irrelevant:
// non-causal needs window_left >= Sk - 1 and window_right >= Sq - 1.
// CHECK-LABEL: func.func @hybrid_full_window(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x4x64x32xf16>, %[[K:[^:]+]]: tensor<1x4x128x32xf16>
//       CHECK:   %[[R:.+]] = sieve.attention %[[Q]], %[[K]], %[[K]] {scale = 2.500000e-01 : f32} :
//   CHECK-NOT:   sieve.hybrid_attention
//       CHECK:   return %[[R]]
func.func @hybrid_full_window(%q: tensor<1x4x64x32xf16>, %k: tensor<1x4x128x32xf16>, %g: tensor<1x16xi32>) -> tensor<1x4x64x32xf16> {
  %0 = sieve.hybrid_attention %q, %k, %k, %g window(127, 63) {scale = 0.25 : f32} : tensor<1x4x64x32xf16>, tensor<1x4x128x32xf16>, tensor<1x4x128x32xf16>, tensor<1x16xi32> -> tensor<1x4x64x32xf16>
  return %0 : tensor<1x4x64x32xf16>
}

// -----

// One key short on the right: the last-but-one rows do not see the last key
// through the window, so the globals still matter.
// CHECK-LABEL: func.func @hybrid_window_short_right(
//       CHECK:   sieve.hybrid_attention
func.func @hybrid_window_short_right(%q: tensor<1x4x64x32xf16>, %k: tensor<1x4x128x32xf16>, %g: tensor<1x16xi32>) -> tensor<1x4x64x32xf16> {
  %0 = sieve.hybrid_attention %q, %k, %k, %g window(127, 62) : tensor<1x4x64x32xf16>, tensor<1x4x128x32xf16>, tensor<1x4x128x32xf16>, tensor<1x16xi32> -> tensor<1x4x64x32xf16>
  return %0 : tensor<1x4x64x32xf16>
}

// -----

// CHECK-LABEL: func.func @hybrid_window_short_left(
//       CHECK:   sieve.hybrid_attention
func.func @hybrid_window_short_left(%q: tensor<1x4x64x32xf16>, %k: tensor<1x4x128x32xf16>, %g: tensor<1x16xi32>) -> tensor<1x4x64x32xf16> {
  %0 = sieve.hybrid_attention %q, %k, %k, %g window(126, 1000) : tensor<1x4x64x32xf16>, tensor<1x4x128x32xf16>, tensor<1x4x128x32xf16>, tensor<1x16xi32> -> tensor<1x4x64x32xf16>
  return %0 : tensor<1x4x64x32xf16>
}

// -----

// Causal rows only need [0, p] covered.
// CHECK-LABEL: func.func @hybrid_causal_full_window(
//       CHECK:   sieve.attention %{{.+}}, %{{.+}}, %{{.+}} {causal = true} :
//   CHECK-NOT:   sieve.hybrid_attention
func.func @hybrid_causal_full_window(%q: tensor<1x4x64x32xf16>, %k: tensor<1x4x128x32xf16>, %g: tensor<1x16xi32>) -> tensor<1x4x64x32xf16> {
  %0 = sieve.hybrid_attention %q, %k, %k, %g window(127, 0) {causal = true, global_queries = true} : tensor<1x4x64x32xf16>, tensor<1x4x128x32xf16>, tensor<1x4x128x32xf16>, tensor<1x16xi32> -> tensor<1x4x64x32xf16>
  return %0 : tensor<1x4x64x32xf16>
}

// -----

// CHECK-LABEL: func.func @hybrid_dynamic_length(
//       CHECK:   sieve.hybrid_attention
func.func @hybrid_dynamic_length(%q: tensor<1x4x?x32xf16>, %g: tensor<1x16xi32>) -> tensor<1x4x?x32xf16> {
  %0 = sieve.hybrid_attention %q, %q, %q, %g window(100000, 100000) : tensor<1x4x?x32xf16>, tensor<1x4x?x32xf16>, tensor<1x4x?x32xf16>, tensor<1x16xi32> -> tensor<1x4x?x32xf16>
  return %0 : tensor<1x4x?x32xf16>
}

// -----

// The batch size is known only from `globals`: dense attention would lose it.
// CHECK-LABEL: func.func @hybrid_batch_from_globals(
//       CHECK:   sieve.hybrid_attention
func.func @hybrid_batch_from_globals(%q: tensor<?x4x8x32xf16>, %g: tensor<1x16xi32>) -> tensor<1x4x8x32xf16> {
  %0 = sieve.hybrid_attention %q, %q, %q, %g window(8, 8) : tensor<?x4x8x32xf16>, tensor<?x4x8x32xf16>, tensor<?x4x8x32xf16>, tensor<1x16xi32> -> tensor<1x4x8x32xf16>
  return %0 : tensor<1x4x8x32xf16>
}

// -----

// CHECK-LABEL: func.func @compact_all_false(
//   CHECK-DAG:   %[[ZERO:.+]] = arith.constant dense<0.000000e+00> : tensor<2x8x4xf32>
//   CHECK-DAG:   %[[NONE:.+]] = arith.constant dense<-1> : tensor<2x8xi32>
//   CHECK-DAG:   %[[COUNT:.+]] = arith.constant dense<0> : tensor<2xi32>
//   CHECK-NOT:   sieve.compact
//       CHECK:   return %[[ZERO]], %[[NONE]], %[[COUNT]]
func.func @compact_all_false(%x: tensor<2x8x4xf32>) -> (tensor<2x8x4xf32>, tensor<2x8xi32>, tensor<2xi32>) {
  %m = arith.constant dense<false> : tensor<2x8xi1>
  %p, %pos, %c = sieve.compact %x, %m : tensor<2x8x4xf32>, tensor<2x8xi1> -> tensor<2x8x4xf32>, tensor<2x8xi32>, tensor<2xi32>
  return %p, %pos, %c : tensor<2x8x4xf32>, tensor<2x8xi32>, tensor<2xi32>
}

// -----

// CHECK-LABEL: func.func @compact_all_true(
//  CHECK-SAME:     %[[X:[^:]+]]: tensor<2x8x4xf32>
//       CHECK:   %[[COUNT:.+]] = arith.constant dense<8> : tensor<2xi32>
//       CHECK:   %{{.+}}, %[[POS:.+]], %{{.+}} = sieve.compact %[[X]]
//       CHECK:   return %[[X]], %[[POS]], %[[COUNT]]
func.func @compact_all_true(%x: tensor<2x8x4xf32>) -> (tensor<2x8x4xf32>, tensor<2x8xi32>, tensor<2xi32>) {
  %m = arith.constant dense<true> : tensor<2x8xi1>
  %p, %pos, %c = sieve.compact %x, %m : tensor<2x8x4xf32>, tensor<2x8xi1> -> tensor<2x8x4xf32>, tensor<2x8xi32>, tensor<2xi32>
  return %p, %pos, %c : tensor<2x8x4xf32>, tensor<2x8xi32>, tensor<2xi32>
}

// -----

// Without uses of `positions` the compact disappears altogether.
// CHECK-LABEL: func.func @compact_all_true_no_positions(
//  CHECK-SAME:     %[[X:[^:]+]]: tensor<2x8x4xf32>
//   CHECK-NOT:   sieve.compact
//       CHECK:   return %[[X]]
func.func @compact_all_true_no_positions(%x: tensor<2x8x4xf32>) -> tensor<2x8x4xf32> {
  %m = arith.constant dense<true> : tensor<2x8xi1>
  %p, %pos, %c = sieve.compact %x, %m : tensor<2x8x4xf32>, tensor<2x8xi1> -> tensor<2x8x4xf32>, tensor<2x8xi32>, tensor<2xi32>
  return %p : tensor<2x8x4xf32>
}

// -----

// A mask that is not constant is left alone.
// CHECK-LABEL: func.func @compact_unknown_mask(
//       CHECK:   sieve.compact
func.func @compact_unknown_mask(%x: tensor<2x8x4xf32>, %m: tensor<2x8xi1>) -> tensor<2x8x4xf32> {
  %p, %pos, %c = sieve.compact %x, %m : tensor<2x8x4xf32>, tensor<2x8xi1> -> tensor<2x8x4xf32>, tensor<2x8xi32>, tensor<2xi32>
  return %p : tensor<2x8x4xf32>
}

// -----

// Scattering a compact's rows back over its own input is the input.
// CHECK-LABEL: func.func @scatter_of_compact(
//  CHECK-SAME:     %[[X:[^:]+]]: tensor<2x?x4xf16>
//   CHECK-NOT:   sieve.
//       CHECK:   return %[[X]]
func.func @scatter_of_compact(%x: tensor<2x?x4xf16>, %m: tensor<2x?xi1>) -> tensor<2x?x4xf16> {
  %p, %pos, %c = sieve.compact %x, %m : tensor<2x?x4xf16>, tensor<2x?xi1> -> tensor<2x?x4xf16>, tensor<2x?xi32>, tensor<2xi32>
  %y = sieve.scatter %p, %pos, %x : tensor<2x?x4xf16>, tensor<2x?xi32>, tensor<2x?x4xf16> -> tensor<2x?x4xf16>
  return %y : tensor<2x?x4xf16>
}

// -----

// Over another base the scatter stays.
// CHECK-LABEL: func.func @scatter_of_compact_other_base(
//       CHECK:   sieve.scatter
func.func @scatter_of_compact_other_base(%x: tensor<2x8x4xf16>, %m: tensor<2x8xi1>, %b: tensor<2x8x4xf16>) -> tensor<2x8x4xf16> {
  %p, %pos, %c = sieve.compact %x, %m : tensor<2x8x4xf16>, tensor<2x8xi1> -> tensor<2x8x4xf16>, tensor<2x8xi32>, tensor<2xi32>
  %y = sieve.scatter %p, %pos, %b : tensor<2x8x4xf16>, tensor<2x8xi32>, tensor<2x8x4xf16> -> tensor<2x8x4xf16>
  return %y : tensor<2x8x4xf16>
}

// -----

// No position in [0, S): nothing is written.
// CHECK-LABEL: func.func @scatter_out_of_range(
//  CHECK-SAME:     %[[P:[^:]+]]: tensor<1x4x2xf32>, %[[B:[^:]+]]: tensor<1x4x2xf32>
//   CHECK-NOT:   sieve.scatter
//       CHECK:   return %[[B]]
func.func @scatter_out_of_range(%p: tensor<1x4x2xf32>, %b: tensor<1x4x2xf32>) -> tensor<1x4x2xf32> {
  %pos = arith.constant dense<[[-1, 4, 100, -7]]> : tensor<1x4xi32>
  %y = sieve.scatter %p, %pos, %b : tensor<1x4x2xf32>, tensor<1x4xi32>, tensor<1x4x2xf32> -> tensor<1x4x2xf32>
  return %y : tensor<1x4x2xf32>
}

// -----

// One position in range (3): the scatter stays.
// CHECK-LABEL: func.func @scatter_one_in_range(
//       CHECK:   sieve.scatter
func.func @scatter_one_in_range(%p: tensor<1x4x2xf32>, %b: tensor<1x4x2xf32>) -> tensor<1x4x2xf32> {
  %pos = arith.constant dense<[[-1, 3, 100, -7]]> : tensor<1x4xi32>
  %y = sieve.scatter %p, %pos, %b : tensor<1x4x2xf32>, tensor<1x4xi32>, tensor<1x4x2xf32> -> tensor<1x4x2xf32>
  return %y : tensor<1x4x2xf32>
}

// -----

// The dense attention keeps the quantized scores.
// CHECK-LABEL: func.func @hybrid_full_window_qk_precision(
//       CHECK:   sieve.attention %{{.+}}, %{{.+}}, %{{.+}} {causal = true, qk_precision = f8E4M3FN} :
func.func @hybrid_full_window_qk_precision(%q: tensor<1x4x64x32xf16>, %k: tensor<1x4x128x32xf16>, %g: tensor<1x16xi32>) -> tensor<1x4x64x32xf16> {
  %0 = sieve.hybrid_attention %q, %k, %k, %g window(127, 0) {causal = true, qk_precision = f8E4M3FN} : tensor<1x4x64x32xf16>, tensor<1x4x128x32xf16>, tensor<1x4x128x32xf16>, tensor<1x16xi32> -> tensor<1x4x64x32xf16>
  return %0 : tensor<1x4x64x32xf16>
}
