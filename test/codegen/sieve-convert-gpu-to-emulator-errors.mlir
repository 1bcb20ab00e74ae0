// RUN: sieve-opt %s -split-input-file -sieve-convert-gpu-to-emulator -verify-diagnostics -o /dev/null

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

// -----

// Kernels call nothing but the emulator's work counter.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    func.func private @helper(i64)
    gpu.func @calls(%buf: memref<?xf32>) kernel {
      %c = arith.constant 1 : i64
      // expected-error @+1 {{the SIMT emulator cannot call 'helper' (kernel calls)}}
      func.call @helper(%c) : (i64) -> ()
      gpu.return
    }
  }
}

// -----

// Inline assembly other than KernelBuilder::opaque's has no emulation.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @assembly(%buf: memref<?xf32>) kernel {
      %x = arith.constant 1 : i32
      // expected-error @+1 {{the SIMT emulator cannot run inline assembly (kernel assembly)}}
      %y = llvm.inline_asm has_side_effects "add.s32 $0, $1, 1;", "=r,r" %x : (i32) -> i32
      gpu.return
    }
  }
}
