// The stock mlir-opt of LLVM 22 loads Sieve from SievePlugin.so.
// RUN: %mlir_opt --load-dialect-plugin=%sieve_plugin %s | FileCheck %s
// RUN: %mlir_opt --load-dialect-plugin=%sieve_plugin %s --mlir-print-op-generic | %mlir_opt --load-dialect-plugin=%sieve_plugin | FileCheck %s
// RUN: %mlir_opt --load-dialect-plugin=%sieve_plugin %s -canonicalize | FileCheck %s --check-prefix=CANON
// RUN: %mlir_opt --load-pass-plugin=%sieve_plugin --load-dialect-plugin=%sieve_plugin %s | FileCheck %s

// The pass plugin brings Sieve's passes (the dialect plugin the ops).
// RUN: %mlir_opt --load-dialect-plugin=%sieve_plugin --load-pass-plugin=%sieve_plugin %s --pass-pipeline="builtin.module(sieve-lower-to-reference)" | FileCheck %s --check-prefix=LOWERED
// RUN: %mlir_opt --load-pass-plugin=%sieve_plugin --help | FileCheck %s --check-prefix=PASSES
// PASSES: --sieve-lower-to-reference
// PASSES: --sieve-reference-to-llvm

// Without the plugin the dialect is unknown.
// RUN: not %mlir_opt %s 2>&1 | FileCheck %s --check-prefix=NOPLUGIN
// NOPLUGIN: Dialect `sieve' not found for custom op 'sieve.hybrid_attention'

// CHECK-LABEL: func.func @block(
//       CHECK:   sieve.hybrid_attention %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} window(127, 0) {causal = true}
// LOWERED-LABEL: func.func @block(
//   LOWERED-NOT:   sieve.
//       LOWERED:   math.exp
//   LOWERED-NOT:   sieve.
// CANON-LABEL: func.func @block(
//       CANON:   sieve.attention %{{.+}}, %{{.+}}, %{{.+}} {causal = true}
func.func @block(%q: tensor<1x4x128x32xf16>, %g: tensor<1x4xi32>) -> tensor<1x4x128x32xf16> {
  %0 = sieve.hybrid_attention %q, %q, %q, %g window(127, 0) {causal = true} : tensor<1x4x128x32xf16>, tensor<1x4x128x32xf16>, tensor<1x4x128x32xf16>, tensor<1x4xi32> -> tensor<1x4x128x32xf16>
  return %0 : tensor<1x4x128x32xf16>
}
