// Every op parses, verifies and prints in its custom form; the generic form and
// bytecode round-trip to the same IR.
// RUN: sieve-opt %s | sieve-opt | FileCheck %s
// RUN: sieve-opt %s --mlir-print-op-generic | sieve-opt | FileCheck %s
// RUN: sieve-opt %s -emit-bytecode | sieve-opt | FileCheck %s
// RUN: sieve-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// CHECK-LABEL: func.func @attention(
//  CHECK-SAME:     %[[Q:.+]]: tensor<1x8x128x64xf16>, %[[K:.+]]: tensor<1x2x128x64xf16>, %[[V:.+]]: tensor<1x2x128x32xf16>
//       CHECK:   %{{.+}} = sieve.attention %[[Q]], %[[K]], %[[V]] : tensor<1x8x128x64xf16>, tensor<1x2x128x64xf16>, tensor<1x2x128x32xf16> -> tensor<1x8x128x32xf16>
//       CHECK:   %{{.+}} = sieve.attention %[[Q]], %[[K]], %[[V]] {causal = true, scale = 1.250000e-01 : f32} : tensor<1x8x128x64xf16>, tensor<1x2x128x64xf16>, tensor<1x2x128x32xf16> -> tensor<1x8x128x32xf16>
// GENERIC-LABEL: sym_name = "attention"
//       GENERIC:   "sieve.attention"(%{{.+}}, %{{.+}}, %{{.+}}) <{causal = false}> : (tensor<1x8x128x64xf16>, tensor<1x2x128x64xf16>, tensor<1x2x128x32xf16>) -> tensor<1x8x128x32xf16>
//       GENERIC:   "sieve.attention"(%{{.+}}, %{{.+}}, %{{.+}}) <{causal = true, scale = 1.250000e-01 : f32}>
func.func @attention(%q: tensor<1x8x128x64xf16>, %k: tensor<1x2x128x64xf16>, %v: tensor<1x2x128x32xf16>) -> (tensor<1x8x128x32xf16>, tensor<1x8x128x32xf16>) {
  %0 = sieve.attention %q, %k, %v : tensor<1x8x128x64xf16>, tensor<1x2x128x64xf16>, tensor<1x2x128x32xf16> -> tensor<1x8x128x32xf16>
  %1 = sieve.attention %q, %k, %v {causal = true, scale = 0.125 : f32} : tensor<1x8x128x64xf16>, tensor<1x2x128x64xf16>, tensor<1x2x128x32xf16> -> tensor<1x8x128x32xf16>
  return %0, %1 : tensor<1x8x128x32xf16>, tensor<1x8x128x32xf16>
}

// Quantized scores.
// CHECK-LABEL: func.func @attention_qk_precision(
//       CHECK:   sieve.attention %{{.+}}, %{{.+}}, %{{.+}} {qk_precision = i8} : tensor<1x8x128x64xf16>
//       CHECK:   sieve.hybrid_attention %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} window(64, 0) {causal = true, qk_precision = f8E4M3FN} : tensor<1x8x128x64xf16>
// GENERIC-LABEL: sym_name = "attention_qk_precision"
//       GENERIC:   "sieve.attention"(%{{.+}}, %{{.+}}, %{{.+}}) <{causal = false, qk_precision = i8}>
func.func @attention_qk_precision(%q: tensor<1x8x128x64xf16>, %g: tensor<1x16xi32>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) {
  %0 = sieve.attention %q, %q, %q {qk_precision = i8} : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16> -> tensor<1x8x128x64xf16>
  %1 = sieve.hybrid_attention %q, %q, %q, %g window(64, 0) {causal = true, qk_precision = f8E4M3FN} : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x16xi32> -> tensor<1x8x128x64xf16>
  return %0, %1 : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>
}

// Dynamic sizes are accepted wherever the contract does not need them; the
// result takes the static sizes that any operand knows.
// CHECK-LABEL: func.func @attention_dynamic(
//       CHECK:   sieve.attention %{{.+}}, %{{.+}}, %{{.+}} : tensor<?x?x?x?xbf16>, tensor<2x?x?x?xbf16>, tensor<?x?x?x16xbf16> -> tensor<2x?x?x16xbf16>
func.func @attention_dynamic(%q: tensor<?x?x?x?xbf16>, %k: tensor<2x?x?x?xbf16>, %v: tensor<?x?x?x16xbf16>) -> tensor<2x?x?x16xbf16> {
  %0 = sieve.attention %q, %k, %v : tensor<?x?x?x?xbf16>, tensor<2x?x?x?xbf16>, tensor<?x?x?x16xbf16> -> tensor<2x?x?x16xbf16>
  return %0 : tensor<2x?x?x16xbf16>
}

// CHECK-LABEL: func.func @hybrid_attention(
//       CHECK:   sieve.hybrid_attention %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} window(512, 0) {causal = true} : tensor<1x32x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x16xi32> -> tensor<1x32x?x128xbf16>
//       CHECK:   sieve.hybrid_attention %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} window(256, 256) {global_queries = true, scale = 5.000000e-01 : f32} : tensor<1x32x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x16xi32> -> tensor<1x32x?x128xbf16>
// GENERIC-LABEL: sym_name = "hybrid_attention"
//       GENERIC:   "sieve.hybrid_attention"(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) <{causal = true, global_queries = false, window_left = 512 : i64, window_right = 0 : i64}>
func.func @hybrid_attention(%q: tensor<1x32x?x128xbf16>, %k: tensor<1x8x?x128xbf16>, %v: tensor<1x8x?x128xbf16>, %g: tensor<1x16xi32>) -> (tensor<1x32x?x128xbf16>, tensor<1x32x?x128xbf16>) {
  %0 = sieve.hybrid_attention %q, %k, %v, %g window(512, 0) {causal = true} : tensor<1x32x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x16xi32> -> tensor<1x32x?x128xbf16>
  %1 = sieve.hybrid_attention %q, %k, %v, %g window(256, 256) {global_queries = true, scale = 0.5 : f32} : tensor<1x32x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x16xi32> -> tensor<1x32x?x128xbf16>
  return %0, %1 : tensor<1x32x?x128xbf16>, tensor<1x32x?x128xbf16>
}

// Hand-written generic form, as tests written against the contract use it.
// CHECK-LABEL: func.func @hybrid_attention_generic(
//       CHECK:   sieve.hybrid_attention %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} window(256, 0) {causal = true} : tensor<2x4x64x32xf32>, tensor<2x4x64x32xf32>, tensor<2x4x64x32xf32>, tensor<2x0xi32> -> tensor<2x4x64x32xf32>
func.func @hybrid_attention_generic(%q: tensor<2x4x64x32xf32>, %g: tensor<2x0xi32>) -> tensor<2x4x64x32xf32> {
  %0 = "sieve.hybrid_attention"(%q, %q, %q, %g) <{window_left = 256 : i64, window_right = 0 : i64, causal = true}> : (tensor<2x4x64x32xf32>, tensor<2x4x64x32xf32>, tensor<2x4x64x32xf32>, tensor<2x0xi32>) -> tensor<2x4x64x32xf32>
  return %0 : tensor<2x4x64x32xf32>
}

// CHECK-LABEL: func.func @select_global(
//       CHECK:   sieve.select_global %{{.+}} count(16) : tensor<?x4096xf32> -> tensor<?x16xi32>
//       CHECK:   sieve.select_global %{{.+}} count(16) : tensor<2x?xf32> -> tensor<2x16xi32>
// GENERIC-LABEL: sym_name = "select_global"
//       GENERIC:   "sieve.select_global"(%{{.+}}) <{count = 16 : i64}> : (tensor<?x4096xf32>) -> tensor<?x16xi32>
func.func @select_global(%s: tensor<?x4096xf32>, %t: tensor<2x?xf32>) -> (tensor<?x16xi32>, tensor<2x16xi32>) {
  %0 = sieve.select_global %s count(16) : tensor<?x4096xf32> -> tensor<?x16xi32>
  %1 = "sieve.select_global"(%t) <{count = 16 : i64}> : (tensor<2x?xf32>) -> tensor<2x16xi32>
  return %0, %1 : tensor<?x16xi32>, tensor<2x16xi32>
}

// CHECK-LABEL: func.func @gate(
//       CHECK:   sieve.gate %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} activation(silu) threshold(3.000000e-01) : tensor<2x?x64xf16>, tensor<16x64xf16>, tensor<16xf16>, tensor<16xf16>, tensor<f32> -> tensor<2x?xf32>, tensor<2x?xi1>
//       CHECK:   sieve.gate %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} activation(gelu) capacity(1.250000e-01) : tensor<2x?x64xf16>, tensor<16x64xf16>, tensor<16xf16>, tensor<16xf16>, tensor<f16> -> tensor<2x?xf32>, tensor<2x?xi1>
//       CHECK:   sieve.gate %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} activation(relu) threshold(0.000000e+00) :
// GENERIC-LABEL: sym_name = "gate"
//       GENERIC:   "sieve.gate"(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) <{activation = #sieve<activation silu>, threshold = 3.000000e-01 : f32}>
//       GENERIC:   "sieve.gate"(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) <{activation = #sieve<activation gelu>, capacity = 1.250000e-01 : f32}>
func.func @gate(%x: tensor<2x?x64xf16>, %w1: tensor<16x64xf16>, %b1: tensor<16xf16>, %w2: tensor<16xf16>, %b2: tensor<f32>, %b2h: tensor<f16>) -> (tensor<2x?xi1>, tensor<2x?xi1>, tensor<2x?xi1>) {
  %s0, %m0 = sieve.gate %x, %w1, %b1, %w2, %b2 activation(silu) threshold(0.3) : tensor<2x?x64xf16>, tensor<16x64xf16>, tensor<16xf16>, tensor<16xf16>, tensor<f32> -> tensor<2x?xf32>, tensor<2x?xi1>
  %s1, %m1 = sieve.gate %x, %w1, %b1, %w2, %b2h activation(gelu) capacity(0.125) : tensor<2x?x64xf16>, tensor<16x64xf16>, tensor<16xf16>, tensor<16xf16>, tensor<f16> -> tensor<2x?xf32>, tensor<2x?xi1>
  %s2, %m2 = "sieve.gate"(%x, %w1, %b1, %w2, %b2) <{activation = #sieve<activation relu>, threshold = 0.0 : f32}> : (tensor<2x?x64xf16>, tensor<16x64xf16>, tensor<16xf16>, tensor<16xf16>, tensor<f32>) -> (tensor<2x?xf32>, tensor<2x?xi1>)
  return %m0, %m1, %m2 : tensor<2x?xi1>, tensor<2x?xi1>, tensor<2x?xi1>
}

// CHECK-LABEL: func.func @compact_scatter(
//       CHECK:   %[[P:.+]], %[[POS:.+]], %[[C:.+]] = sieve.compact %{{.+}}, %{{.+}} : tensor<?x?x64xbf16>, tensor<2x?xi1> -> tensor<?x?x64xbf16>, tensor<2x?xi32>, tensor<2xi32>
//       CHECK:   sieve.scatter %[[P]], %[[POS]], %{{.+}} : tensor<?x?x64xbf16>, tensor<2x?xi32>, tensor<2x128x64xbf16> -> tensor<2x128x64xbf16>
// GENERIC-LABEL: sym_name = "compact_scatter"
//       GENERIC:   "sieve.compact"(%{{.+}}, %{{.+}}) : (tensor<?x?x64xbf16>, tensor<2x?xi1>) -> (tensor<?x?x64xbf16>, tensor<2x?xi32>, tensor<2xi32>)
//       GENERIC:   "sieve.scatter"
func.func @compact_scatter(%x: tensor<?x?x64xbf16>, %m: tensor<2x?xi1>, %base: tensor<2x128x64xbf16>) -> (tensor<2x128x64xbf16>, tensor<2xi32>) {
  %p, %pos, %c = sieve.compact %x, %m : tensor<?x?x64xbf16>, tensor<2x?xi1> -> tensor<?x?x64xbf16>, tensor<2x?xi32>, tensor<2xi32>
  %y = sieve.scatter %p, %pos, %base : tensor<?x?x64xbf16>, tensor<2x?xi32>, tensor<2x128x64xbf16> -> tensor<2x128x64xbf16>
  return %y, %c : tensor<2x128x64xbf16>, tensor<2xi32>
}

// CHECK-LABEL: func.func @quantization(
//       CHECK:   %[[Q:.+]], %[[S:.+]] = sieve.quantize %{{.+}} bits(4) group_size(128) : tensor<256x512xf16> -> tensor<256x512xi4>, tensor<256x4xf32>
//       CHECK:   sieve.dequantize %[[Q]], %[[S]] group_size(128) : tensor<256x512xi4>, tensor<256x4xf32> -> tensor<256x512xf32>
//       CHECK:   sieve.qmatmul %{{.+}}, %[[Q]], %[[S]] bias(%{{.+}} : tensor<256xf16>) group_size(128) : tensor<1x?x512xf16>, tensor<256x512xi4>, tensor<256x4xf32> -> tensor<1x?x256xf16>
//       CHECK:   %[[Q8:.+]], %[[S8:.+]] = sieve.quantize %{{.+}} bits(8) group_size(0) : tensor<256x?xbf16> -> tensor<256x?xi8>, tensor<256x1xf32>
//       CHECK:   sieve.qmatmul %{{.+}}, %[[Q8]], %[[S8]] group_size(0) : tensor<?x?xbf16>, tensor<256x?xi8>, tensor<256x1xf32> -> tensor<?x256xbf16>
//       CHECK:   sieve.quantize %{{.+}} bits(8) group_size(32) : tensor<256x?xbf16> -> tensor<256x?xi8>, tensor<256x?xf32>
// GENERIC-LABEL: sym_name = "quantization"
//       GENERIC:   "sieve.quantize"(%{{.+}}) <{bits = 4 : i64, group_size = 128 : i64}>
//       GENERIC:   "sieve.dequantize"(%{{.+}}, %{{.+}}) <{group_size = 128 : i64}>
//       GENERIC:   "sieve.qmatmul"(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) <{group_size = 128 : i64}>
func.func @quantization(%w: tensor<256x512xf16>, %x: tensor<1x?x512xf16>, %b: tensor<256xf16>, %w8: tensor<256x?xbf16>, %x8: tensor<?x?xbf16>) -> (tensor<256x512xf32>, tensor<1x?x256xf16>, tensor<?x256xbf16>, tensor<256x?xf32>) {
  %q, %s = sieve.quantize %w bits(4) group_size(128) : tensor<256x512xf16> -> tensor<256x512xi4>, tensor<256x4xf32>
  %d = sieve.dequantize %q, %s group_size(128) : tensor<256x512xi4>, tensor<256x4xf32> -> tensor<256x512xf32>
  %y = sieve.qmatmul %x, %q, %s bias(%b : tensor<256xf16>) group_size(128) : tensor<1x?x512xf16>, tensor<256x512xi4>, tensor<256x4xf32> -> tensor<1x?x256xf16>
  %q8, %s8 = sieve.quantize %w8 bits(8) group_size(0) : tensor<256x?xbf16> -> tensor<256x?xi8>, tensor<256x1xf32>
  %y8 = sieve.qmatmul %x8, %q8, %s8 group_size(0) : tensor<?x?xbf16>, tensor<256x?xi8>, tensor<256x1xf32> -> tensor<?x256xbf16>
  %qd, %sd = "sieve.quantize"(%w8) <{bits = 8 : i64, group_size = 32 : i64}> : (tensor<256x?xbf16>) -> (tensor<256x?xi8>, tensor<256x?xf32>)
  return %d, %y, %y8, %sd : tensor<256x512xf32>, tensor<1x?x256xf16>, tensor<?x256xbf16>, tensor<256x?xf32>
}
