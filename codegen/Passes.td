//===- Passes.td - Codegen passes --------------------------*- tablegen -*-===//
//
// Passes of the kernel code generator, registered so that each stage can be
// run and tested on its own with sieve-opt.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_PASSES_TD
#define SIEVE_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def SieveConvertGPUToEmulator : Pass<"sieve-convert-gpu-to-emulator",
                                     "ModuleOp"> {
  let summary = "Turn GPU kernels into host code for the SIMT emulator";
  let description = [{
    Replaces every `gpu.module` of the module by host functions, one per
    kernel, that run ONE CUDA thread: `sieve_emu_body_<kernel>(params...,
    %shared: memref<?xi8>, %dynamic_shared: memref<?xi8>)`. GPU-only
    operations become calls of the emulator's C ABI
    (runtime/include/sieve/emulator.h): ids and dims, `gpu.barrier`,
    `gpu.shuffle`, `nvgpu.ldmatrix`, `nvgpu.mma.sync` and the async copies;
    workgroup memory becomes views into the block's shared memory. Every
    memref and vector access is bounds-checked first (and alignment-checked
    when the access states an alignment); shared-memory accesses report to
    the emulator's race checker. An op without an emulation is an error.

    Before:

    ```mlir
    gpu.module @kernels {
      gpu.func @k(%out: memref<?xf32>) kernel {
        %tid = gpu.thread_id x
        %v = arith.constant 1.0 : f32
        memref.store %v, %out[%tid] : memref<?xf32>
        gpu.return
      }
    }
    ```

    After (sketch):

    ```mlir
    func.func @sieve_emu_body_k(%out: memref<?xf32>, %shared: memref<?xi8>,
                                %dynamic_shared: memref<?xi8>) {
      %id = call @sieve_emu_thread_id(%c0_i32) : (i32) -> i64
      %tid = arith.index_cast %id : i64 to index
      %size = memref.dim %out, %c0 : memref<?xf32>
      scf.if %out_of_bounds { call @sieve_emu_fail(...) }
      memref.store %v, %out[%tid] : memref<?xf32>
      return
    }
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def SievePrepareCodegen : Pass<"sieve-prepare-codegen",
                               "::mlir::func::FuncOp"> {
  let summary = "Bring a graph into the form sieve-compile's kernels take";
  let description = [{
    sieve-compile turns every linalg structured op into one kernel, so this
    pass makes those ops as few and as large as the kernels can take:

    * Ops that are compositions of others (`linalg.softmax`) are decomposed
      into them.
    * Named linalg ops become `linalg.generic` (except `linalg.fill`, which
      the bundle builder keeps lazy: a fill no kernel reads costs nothing,
      and one a reduction or contraction starts from is folded into it).
    * Generic ops on constants (a transposed weight) are folded at compile
      time.
    * `tensor.extract_slice` with static offsets and strides becomes a
      generic that reads its source at `offset + stride * index`, which
      fusion folds into the consumers' indexing (rotate-half in RoPE).
    * Elementwise producers are fused into their consumers, so that a chain
      of elementwise ops, broadcasts and transposes becomes one kernel that
      writes no intermediate tensor. A producer with several uses is fused
      only when it merely moves data (a transpose or broadcast: recomputing
      it is free), and only transposes are fused into contractions, so that
      those stay contractions for the tiled matmul kernels.

    Run `tosa-to-linalg` and `convert-elementwise-to-linalg` first, and
    canonicalize and CSE afterwards; `sieve-compile` does all of that.

    Before:

    ```mlir
    %t = linalg.transpose ins(%x : tensor<4x8xf32>)
        outs(%e : tensor<8x4xf32>) permutation = [1, 0]
    %y = linalg.generic {... ["parallel", "parallel"]}
        ins(%t, %b : tensor<8x4xf32>, tensor<8x4xf32>) ... {
      %s = arith.addf %in, %in_0 : f32
      linalg.yield %s : f32
    }
    ```

    After: one `linalg.generic` that reads `%x` through `(d0, d1) -> (d1,
    d0)` and adds `%b`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // SIEVE_CODEGEN_PASSES_TD
