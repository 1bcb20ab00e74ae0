// RUN: sieve-opt %s -sieve-convert-gpu-to-emulator -verify-diagnostics -o /dev/null

// An op without an emulation is an error naming it.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @unknown(%buf: memref<?xf32>) kernel {
      %x = arith.constant 1.0 : f32
      // expected-error @+1 {{the SIMT emulator cannot run 'gpu.subgroup_reduce' (kernel unknown)}}
      %r = gpu.subgroup_reduce add %x : (f32) -> f32
      gpu.return
    }
  }
}
