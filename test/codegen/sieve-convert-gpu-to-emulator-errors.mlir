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

// -----

// Only the shared-memory proxy fence that wgmma operands need is emulated.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @proxy() kernel {
      // expected-error @+1 {{the SIMT emulator has only the fence.proxy.async.shared::cta proxy fence}}
      nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.global>}
      gpu.return
    }
  }
}

// -----

// A wgmma tag on assembly of the wrong shape is rejected, not misread.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @malformed(%a: i32, %desc: i64) kernel {
      %f = arith.constant 0.0 : f32
      // expected-error @+1 {{malformed sieve.wgmma inline assembly}}
      %d = llvm.inline_asm has_side_effects {sieve.wgmma = array<i32: 8, 0, 1>} "wgmma", "=f,=f,0,1,r,l" %f, %f, %a, %desc : (f32, f32, i32, i64) -> !llvm.struct<(f32, f32)>
      gpu.return
    }
  }
}

// -----

// Negated operands are not emulated.
!acc4 = !llvm.struct<(f32, f32, f32, f32)>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @negated(%descA: i64, %descB: i64) kernel {
      %zero = llvm.mlir.zero : !acc4
      // expected-error @+1 {{the SIMT emulator runs wgmma of f16, bf16, s8 or e4m3 operands, m64, without negation or satfinite}}
      %d = nvvm.wgmma.mma_async %descA, %descB, %zero, #nvvm.shape<m = 64, n = 8, k = 16>, D [<f32>, #nvvm.wgmma_scale_out<one>], A [<bf16>, #nvvm.wgmma_scale_in<neg>, <row>], B [<bf16>, #nvvm.wgmma_scale_in<one>, <col>] : !acc4 -> !acc4
      gpu.return
    }
  }
}

// -----

// A barrier pointer the emulator cannot trace back to an address.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @untraceable(%bar: !llvm.ptr<3>) kernel {
      %one = arith.constant 1 : i32
      // expected-error @+1 {{the SIMT emulator runs 'nvvm.mbarrier.init' only on pointers made by llvm.inttoptr of an i64 address, without predicate, result, multicast, cache hint or im2col (kernel untraceable)}}
      nvvm.mbarrier.init %bar, %one : !llvm.ptr<3>, i32
      gpu.return
    }
  }
}

// -----

// A named barrier needs its thread count.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @uncounted() kernel {
      %one = arith.constant 1 : i32
      // expected-error @+1 {{the SIMT emulator runs named barriers with both an id and a thread count}}
      nvvm.barrier id = %one
      gpu.return
    }
  }
}
