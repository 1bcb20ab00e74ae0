// sieve-compile writes a bundle: a manifest whose sizes are expressions of the
// dynamic dimensions, PTX from LLVM's NVPTX backend, and the emulator build.
// RUN: rm -rf %t && sieve-compile %s -o %t --target sm_80 2>&1 | FileCheck %s --check-prefix=WARN --allow-empty
// RUN: FileCheck %s --input-file %t/manifest.json
// RUN: FileCheck %s --input-file %t/kernels.ptx --check-prefix=PTX
// RUN: test -f %t/kernels.emu.so
// WARN-NOT: error

// Temporaries share one arena; the gate's score (t0) and mask (t1) are read
// after the run, so they stay live to the end and keep their own bytes.
// CHECK:      "arena_bytes": "{{.+}}",
// CHECK:      "buffers": [
// CHECK:          "bytes": "(s0 * 4)",
// CHECK-NEXT:     "kind": "temporary",
// CHECK-NEXT:     "name": "t0",
// CHECK-NEXT:     "offset": 0
// CHECK:          "bytes": "s0",
// CHECK-NEXT:     "kind": "temporary",
// CHECK-NEXT:     "name": "t1",
// CHECK-NEXT:     "offset": "(ceildiv((s0 * 4), 256) * 256)"
// CHECK: "entry": "block"
// CHECK: "format": "sieve-bundle"
// The gate's statistics come from its score and mask buffers.
// CHECK:      "gates": [
// CHECK-NEXT:   {
// CHECK-NEXT:     "mask": "t1",
// CHECK-NEXT:     "op": "sieve.gate at {{.*}}manifest.mlir:{{[0-9]+}}:{{[0-9]+}}",
// CHECK-NEXT:     "score": "t0",
// CHECK-NEXT:     "tokens": "s0"
// CHECK:      "inputs": [
// CHECK:          "dtype": "f16",
// CHECK-NEXT:     "name": "arg0",
// CHECK-NEXT:     "shape": [
// CHECK-NEXT:       1,
// CHECK-NEXT:       "s0",
// CHECK-NEXT:       32
// CHECK:      "kernels": [
// CHECK:          "name": "sieve_gate_0",
// CHECK-NEXT:     "params": [
// CHECK-NEXT:       "memref",
// CHECK:          "name": "sieve_compact_scan_0",
// CHECK:          "static_shared_bytes": 1040
// CHECK:          "name": "sieve_compact_gather_0",
// CHECK:      "launches": [
// One warp per token: 32 * s0 threads in blocks of 128.
// CHECK:          "grid": [
// CHECK-NEXT:       "ceildiv((s0 * 32), 128)",
// CHECK:          "kernel": "sieve_gate_0",
// CHECK:      "outputs": [
// CHECK:          "buffer": "t2",
// CHECK-NEXT:     "dtype": "f16",
// CHECK-NEXT:     "name": "out0",
// CHECK:      "symbols": [
// CHECK-NEXT:   {
// CHECK-NEXT:     "dim": 1,
// CHECK-NEXT:     "input": 0,
// CHECK-NEXT:     "name": "s0"
// CHECK:      "target": "sm_80",
// CHECK:      "version": 2

// PTX: .version 8.0
// PTX: .target sm_80
// PTX: .entry sieve_gate_0(
// PTX: shfl.sync.bfly.b32
// PTX: ex2.approx.f32
// PTX: .entry sieve_compact_scan_0(
// PTX: bar.sync
// PTX: .entry sieve_compact_gather_0(
// PTX: ld.global.v4.b32
// PTX: st.global.v4.b32
// PTX-NOT: __nv_
func.func @block(%x: tensor<1x?x32xf16>, %w1: tensor<8x32xf16>, %b1: tensor<8xf16>, %w2: tensor<8xf16>, %b2: tensor<f32>) -> tensor<1x?x32xf16> {
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(silu) threshold(0.5) : tensor<1x?x32xf16>, tensor<8x32xf16>, tensor<8xf16>, tensor<8xf16>, tensor<f32> -> tensor<1x?xf32>, tensor<1x?xi1>
  %p, %pos, %c = sieve.compact %x, %m : tensor<1x?x32xf16>, tensor<1x?xi1> -> tensor<1x?x32xf16>, tensor<1x?xi32>, tensor<1xi32>
  return %p : tensor<1x?x32xf16>
}
