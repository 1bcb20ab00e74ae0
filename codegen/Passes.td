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

#endif // SIEVE_CODEGEN_PASSES_TD
