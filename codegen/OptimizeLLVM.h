//===- OptimizeLLVM.h - LLVM's optimization pipeline for kernels -*- C++ -*-===//
//
// The kernels reach LLVM IR twice, for the NVPTX backend and for the host
// (the emulator); both run LLVM's default module pipeline for their target.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_OPTIMIZELLVM_H
#define SIEVE_CODEGEN_OPTIMIZELLVM_H

#include "llvm/Passes/OptimizationLevel.h"

namespace llvm {
class Module;
class TargetMachine;
} // namespace llvm

namespace mlir {
namespace sieve {

/// Runs LLVM's default per-module pipeline at `level` on `module`, with the
/// target-specific passes of `machine`.
void optimizeLLVMModule(llvm::Module &module, llvm::TargetMachine &machine,
                        llvm::OptimizationLevel level);

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_OPTIMIZELLVM_H
