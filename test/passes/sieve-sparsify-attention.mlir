// Defaults: causal window(512, 0), bidirectional window(256, 256), 16 sinks,
// min-seq-len 1024.
// RUN: sieve-opt %s -split-input-file --sieve-sparsify-attention -verify-diagnostics | FileCheck %s

// Options: window-right is ignored on causal ops; shorter sequences qualify.
// RUN: sieve-opt %s -split-input-file --sieve-sparsify-attention="window-left=128 window-right=64 globals=4 min-seq-len=256" 2>/dev/null | FileCheck %s --check-prefix=OPT

// A window that covers every key leaves the op dense; so do sinks that cover
// what the window leaves out (rows past 4080 see 1..p through the window and
// 0..15 through the sinks).
// RUN: sieve-opt %s -split-input-file --sieve-sparsify-attention="window-left=8191 window-right=8191 min-seq-len=0" 2>&1 | FileCheck %s --check-prefix=COVERED
// RUN: sieve-opt %s -split-input-file --sieve-sparsify-attention="window-left=4079" 2>&1 | FileCheck %s --check-prefix=SINKS-COVER

// global-source=scores: sieve.select_global over the tensor the graph marks
// with `sieve.global_scores`; a missing or ambiguous one is an error.
// RUN: not sieve-opt %s -split-input-file --sieve-sparsify-attention="global-source=scores" 2>/dev/null | FileCheck %s --check-prefix=SCORES
// RUN: not sieve-opt %s -split-input-file --sieve-sparsify-attention="global-source=scores" 2>&1 >/dev/null | FileCheck %s --check-prefix=SCORES-DIAG

// The numbers: each rewritten graph equals, within f32 rounding, a dense
// attention in linalg whose mask shows each row exactly the window and the
// globals; the remark's fraction is what that mask removes.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/sparsify_attention.py --sieve-opt sieve-opt --sieve-run sieve-run --workdir %t | FileCheck %s --check-prefix=NUMERIC
// NUMERIC-NOT: FAIL
// NUMERIC: {{^[0-9]+}} cases, 0 failures

// Bad option values.
// RUN: not sieve-opt %s --sieve-sparsify-attention="window-left=-2" 2>&1 | FileCheck %s --check-prefix=BAD-WINDOW
// RUN: not sieve-opt %s --sieve-sparsify-attention="global-source=random" 2>&1 | FileCheck %s --check-prefix=BAD-SOURCE
// RUN: not sieve-opt %s --sieve-sparsify-attention="globals=-3" 2>&1 | FileCheck %s --check-prefix=BAD-GLOBALS
// BAD-GLOBALS: error: sieve-sparsify-attention: globals must be >= 0, found -3
// BAD-WINDOW: error: sieve-sparsify-attention: window-left must be -1 (the default) or >= 0, found -2
// BAD-SOURCE: Cannot find option named 'random'!

// CHECK-LABEL: func.func @causal(
//  CHECK-SAME:     %[[Q:.+]]: tensor<1x8x4096x64xf16>, %[[K:.+]]: tensor<1x2x4096x64xf16>, %[[V:.+]]: tensor<1x2x4096x64xf16>
//       CHECK:   %[[G:.+]] = arith.constant dense<{{\[\[}}0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]]> : tensor<1x16xi32>
//       CHECK:   %[[O:.+]] = sieve.hybrid_attention %[[Q]], %[[K]], %[[V]], %[[G]] window(512, 0) {causal = true, scale = 1.250000e-01 : f32}
//   CHECK-NOT:   sieve.attention
//       CHECK:   return %[[O]]
// OPT-LABEL: func.func @causal(
//       OPT:   arith.constant dense<{{\[\[}}0, 1, 2, 3]]> : tensor<1x4xi32>
//       OPT:   sieve.hybrid_attention {{.+}} window(128, 0) {causal = true
// COVERED: remark: sieve-sparsify-attention: kept dense: window(8191, 0) already covers every key of the 4096x4096 score matrix
// SINKS-COVER: remark: sieve-sparsify-attention: kept dense: window(4079, 0) and 16 sinks already cover every key of the 4096x4096 score matrix
// SCORES-DIAG: error: sieve-sparsify-attention: global-source=scores needs a [1, 4096] f32 score tensor that dominates this op: a function argument with the argument attribute `sieve.global_scores` or a result of an op with the attribute `sieve.global_scores`; found none
func.func @causal(%q: tensor<1x8x4096x64xf16>, %k: tensor<1x2x4096x64xf16>, %v: tensor<1x2x4096x64xf16>) -> tensor<1x8x4096x64xf16> {
  // expected-remark @+1 {{sieve-sparsify-attention: window(512, 0) + 16 sinks: removes 75.8% of the score entries per head (6363528 of 8390656)}}
  %0 = sieve.attention %q, %k, %v {causal = true, scale = 0.125 : f32} : tensor<1x8x4096x64xf16>, tensor<1x2x4096x64xf16>, tensor<1x2x4096x64xf16> -> tensor<1x8x4096x64xf16>
  return %0 : tensor<1x8x4096x64xf16>
}

// -----

// Bidirectional, more keys than queries, batch 2: one row of sinks per batch
// row.
// CHECK-LABEL: func.func @bidirectional(
//       CHECK:   %[[G:.+]] = arith.constant dense<{{\[\[}}0, 1, {{.+}}, 15], [0, 1, {{.+}}, 15]]> : tensor<2x16xi32>
//       CHECK:   sieve.hybrid_attention %{{.+}}, %{{.+}}, %{{.+}}, %[[G]] window(256, 256) :
// OPT-LABEL: func.func @bidirectional(
//       OPT:   sieve.hybrid_attention {{.+}} window(128, 64) :
func.func @bidirectional(%q: tensor<2x4x1024x32xf32>, %k: tensor<2x2x2048x32xf32>) -> tensor<2x4x1024x32xf32> {
  // expected-remark @+1 {{sieve-sparsify-attention: window(256, 256) + 16 sinks: removes 75.7% of the score entries per head (1588352 of 2097152)}}
  %0 = sieve.attention %q, %k, %k : tensor<2x4x1024x32xf32>, tensor<2x2x2048x32xf32>, tensor<2x2x2048x32xf32> -> tensor<2x4x1024x32xf32>
  return %0 : tensor<2x4x1024x32xf32>
}

// -----

// The quantized scores (qk_precision) stay with the op.
// CHECK-LABEL: func.func @quantized_scores(
//       CHECK:   sieve.hybrid_attention {{.+}} window(512, 0) {causal = true, qk_precision = i8} :
func.func @quantized_scores(%q: tensor<1x4x2048x32xf16>) -> tensor<1x4x2048x32xf16> {
  // expected-remark @+1 {{sieve-sparsify-attention: window(512, 0)}}
  %0 = sieve.attention %q, %q, %q {causal = true, qk_precision = i8} : tensor<1x4x2048x32xf16>, tensor<1x4x2048x32xf16>, tensor<1x4x2048x32xf16> -> tensor<1x4x2048x32xf16>
  return %0 : tensor<1x4x2048x32xf16>
}

// -----

// Dynamic batch and sequence: the sinks are broadcast to the run-time batch,
// and the saving is only known at run time.
// CHECK-LABEL: func.func @dynamic(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<?x8x?x64xf32>
//       CHECK:   %[[ROW:.+]] = arith.constant dense<[0, 1, {{.+}}, 15]> : tensor<16xi32>
//       CHECK:   %[[B:.+]] = tensor.dim %[[Q]], %{{.+}} : tensor<?x8x?x64xf32>
//       CHECK:   %[[E:.+]] = tensor.empty(%[[B]]) : tensor<?x16xi32>
//       CHECK:   %[[G:.+]] = linalg.broadcast ins(%[[ROW]] : tensor<16xi32>) outs(%[[E]] : tensor<?x16xi32>) dimensions = [0]
//       CHECK:   sieve.hybrid_attention %{{.+}}, %{{.+}}, %{{.+}}, %[[G]] window(512, 0) {causal = true}
func.func @dynamic(%q: tensor<?x8x?x64xf32>, %k: tensor<?x2x?x64xf32>) -> tensor<?x8x?x64xf32> {
  // expected-remark @+1 {{sieve-sparsify-attention: window(512, 0) + 16 sinks: the fraction of score entries removed depends on the dynamic sequence lengths}}
  %0 = sieve.attention %q, %k, %k {causal = true} : tensor<?x8x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32> -> tensor<?x8x?x64xf32>
  return %0 : tensor<?x8x?x64xf32>
}

// -----

// Short sequences stay dense by default.
// CHECK-LABEL: func.func @short(
//       CHECK:   sieve.attention
//   CHECK-NOT:   sieve.hybrid_attention
// OPT-LABEL: func.func @short(
//       OPT:   sieve.hybrid_attention {{.+}} window(128, 64) :
func.func @short(%q: tensor<1x8x512x64xf32>, %k: tensor<1x8x512x64xf32>) -> tensor<1x8x512x64xf32> {
  // expected-remark @+1 {{sieve-sparsify-attention: kept dense: the key length 512 is below min-seq-len 1024}}
  %0 = sieve.attention %q, %k, %k : tensor<1x8x512x64xf32>, tensor<1x8x512x64xf32>, tensor<1x8x512x64xf32> -> tensor<1x8x512x64xf32>
  return %0 : tensor<1x8x512x64xf32>
}

// -----

// The scores as a marked function argument. With sinks the mark is ignored.
// CHECK-LABEL: func.func @scores_argument(
//       CHECK:   arith.constant dense<{{.+}}> : tensor<1x16xi32>
//   CHECK-NOT:   sieve.select_global
// SCORES-LABEL: func.func @scores_argument(
//  SCORES-SAME:     %[[S:[^:]+]]: tensor<1x2048xf32> {sieve.global_scores}
//       SCORES:   %[[G:.+]] = sieve.select_global %[[S]] count(16) : tensor<1x2048xf32> -> tensor<1x16xi32>
//       SCORES:   sieve.hybrid_attention %{{.+}}, %{{.+}}, %{{.+}}, %[[G]] window(256, 256) :
func.func @scores_argument(%q: tensor<1x4x2048x32xf32>, %k: tensor<1x4x2048x32xf32>, %s: tensor<1x2048xf32> {sieve.global_scores}) -> tensor<1x4x2048x32xf32> {
  // expected-remark @+1 {{sieve-sparsify-attention: window(256, 256) + 16}}
  %0 = sieve.attention %q, %k, %k : tensor<1x4x2048x32xf32>, tensor<1x4x2048x32xf32>, tensor<1x4x2048x32xf32> -> tensor<1x4x2048x32xf32>
  return %0 : tensor<1x4x2048x32xf32>
}
// SCORES-DIAG: remark: sieve-sparsify-attention: window(256, 256) + 16 scored globals: removes at least 75.7% of the score entries per head (3176704 of 4194304)

// -----

// The scores as the result of a marked op; arguments that do not fit (wrong
// key length, i32) are not candidates.
// SCORES-LABEL: func.func @scores_op(
//       SCORES:   %[[S:.+]] = arith.mulf %{{.+}}, %{{.+}} {sieve.global_scores} : tensor<2x2048xf32>
//       SCORES:   %[[G:.+]] = sieve.select_global %[[S]] count(16) : tensor<2x2048xf32> -> tensor<2x16xi32>
//       SCORES:   sieve.hybrid_attention {{.+}}, %[[G]] window(512, 0) {causal = true}
func.func @scores_op(%q: tensor<2x4x2048x32xf32>, %k: tensor<2x4x2048x32xf32>, %logits: tensor<2x2048xf32>, %other: tensor<2x1024xf32> {sieve.global_scores}, %int: tensor<2x2048xi32> {sieve.global_scores}) -> tensor<2x4x2048x32xf32> {
  %s = arith.mulf %logits, %logits {sieve.global_scores} : tensor<2x2048xf32>
  // expected-remark @+1 {{sieve-sparsify-attention: window(512, 0) + 16}}
  %0 = sieve.attention %q, %k, %k {causal = true} : tensor<2x4x2048x32xf32>, tensor<2x4x2048x32xf32>, tensor<2x4x2048x32xf32> -> tensor<2x4x2048x32xf32>
  return %0 : tensor<2x4x2048x32xf32>
}

// -----

// Several layers: string tags pair each attention with its scores.
// SCORES-LABEL: func.func @scores_tagged(
//  SCORES-SAME:     %[[S0:[^:]+]]: tensor<1x2048xf32> {sieve.global_scores = "layer0"}, %[[S1:[^:]+]]: tensor<1x2048xf32> {sieve.global_scores = "layer1"}
//       SCORES:   sieve.select_global %[[S0]] count(16)
//       SCORES:   sieve.select_global %[[S1]] count(16)
func.func @scores_tagged(%q: tensor<1x4x2048x32xf32>, %s0: tensor<1x2048xf32> {sieve.global_scores = "layer0"}, %s1: tensor<1x2048xf32> {sieve.global_scores = "layer1"}) -> tensor<1x4x2048x32xf32> {
  // expected-remark @+1 {{sieve-sparsify-attention: window(256, 256) + 16}}
  %0 = sieve.attention %q, %q, %q {sieve.global_scores = "layer0"} : tensor<1x4x2048x32xf32>, tensor<1x4x2048x32xf32>, tensor<1x4x2048x32xf32> -> tensor<1x4x2048x32xf32>
  // expected-remark @+1 {{sieve-sparsify-attention: window(256, 256) + 16}}
  %1 = sieve.attention %0, %0, %0 {sieve.global_scores = "layer1"} : tensor<1x4x2048x32xf32>, tensor<1x4x2048x32xf32>, tensor<1x4x2048x32xf32> -> tensor<1x4x2048x32xf32>
  return %1 : tensor<1x4x2048x32xf32>
}

// -----

// Two untagged candidates are ambiguous.
// SCORES-DIAG: error: sieve-sparsify-attention: global-source=scores found 2 candidates for a [1, 2048] f32 score tensor; tag the producer and this op with the same string, e.g. `sieve.global_scores = "layer0"`
func.func @scores_ambiguous(%q: tensor<1x4x2048x32xf32>, %s0: tensor<1x2048xf32> {sieve.global_scores}, %s1: tensor<1x2048xf32> {sieve.global_scores}) -> tensor<1x4x2048x32xf32> {
  // expected-remark @+1 {{sieve-sparsify-attention: window(256, 256) + 16}}
  %0 = sieve.attention %q, %q, %q : tensor<1x4x2048x32xf32>, tensor<1x4x2048x32xf32>, tensor<1x4x2048x32xf32> -> tensor<1x4x2048x32xf32>
  return %0 : tensor<1x4x2048x32xf32>
}

// -----

// Scores computed after the attention do not dominate it.
// SCORES-DIAG: error: sieve-sparsify-attention: global-source=scores needs a [1, 2048] f32 score tensor that dominates this op
func.func @scores_after(%q: tensor<1x4x2048x32xf32>, %l: tensor<1x2048xf32>) -> (tensor<1x4x2048x32xf32>, tensor<1x2048xf32>) {
  // expected-remark @+1 {{sieve-sparsify-attention: window(256, 256) + 16}}
  %0 = sieve.attention %q, %q, %q : tensor<1x4x2048x32xf32>, tensor<1x4x2048x32xf32>, tensor<1x4x2048x32xf32> -> tensor<1x4x2048x32xf32>
  %s = arith.addf %l, %l {sieve.global_scores} : tensor<1x2048xf32>
  return %0, %s : tensor<1x4x2048x32xf32>, tensor<1x2048xf32>
}

// -----

// Nothing else is touched: hybrid attention, attention in nested regions is
// handled like any other, and IR without attention passes through.
// CHECK-LABEL: func.func @nested(
//       CHECK:   scf.if
//       CHECK:     sieve.hybrid_attention {{.+}} window(512, 0) {causal = true}
//       CHECK:   sieve.hybrid_attention {{.+}} window(7, 0)
func.func @nested(%c: i1, %q: tensor<1x1x4096x8xf32>, %g: tensor<1x2xi32>) -> tensor<1x1x4096x8xf32> {
  %0 = scf.if %c -> tensor<1x1x4096x8xf32> {
    // expected-remark @+1 {{sieve-sparsify-attention: window(512, 0) + 16 sinks}}
    %1 = sieve.attention %q, %q, %q {causal = true} : tensor<1x1x4096x8xf32>, tensor<1x1x4096x8xf32>, tensor<1x1x4096x8xf32> -> tensor<1x1x4096x8xf32>
    scf.yield %1 : tensor<1x1x4096x8xf32>
  } else {
    scf.yield %q : tensor<1x1x4096x8xf32>
  }
  %2 = sieve.hybrid_attention %0, %0, %0, %g window(7, 0) : tensor<1x1x4096x8xf32>, tensor<1x1x4096x8xf32>, tensor<1x1x4096x8xf32>, tensor<1x2xi32> -> tensor<1x1x4096x8xf32>
  return %2 : tensor<1x1x4096x8xf32>
}
