//===- Emulator.h - Sieve's kernels for the SIMT emulator -------*- C++ -*-===//
//
// The compiler side of the SIMT emulator: converting kernels into host code
// that runs one CUDA thread each (ConvertToEmulator.cpp) and building that
// code into the bundle's kernels.emu.so (EmulatorLibrary.cpp). The runtime
// side is runtime/include/sieve/emulator.h.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_EMULATOR_EMULATOR_H
#define SIEVE_CODEGEN_EMULATOR_EMULATOR_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace mlir {
namespace sieve {

/// Moves every kernel of `kernels` into `host` as a function
/// `sieve_emu_body_<kernel>(params..., shared, dynamicShared)` that runs one
/// thread, calling the emulator's ABI. Fails with an error naming any op it
/// cannot emulate. The gpu.funcs are erased from `kernels`.
LogicalResult convertKernelsToEmulator(gpu::GPUModuleOp kernels, ModuleOp host);

/// The symbol of a kernel's body and of its exported entry point
/// `void sieve_emu_kernel_<kernel>(void **params)`.
std::string getEmulatorBodyName(StringRef kernel);
std::string getEmulatorEntryName(StringRef kernel);

/// Compiles a copy of `kernels` for the emulator into the shared object
/// `path`: conversion, host lowering, the entry points, LLVM -O2 for the
/// host CPU, and a link with the system C compiler driver (cc).
LogicalResult buildEmulatorLibrary(gpu::GPUModuleOp kernels, StringRef path);

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_EMULATOR_EMULATOR_H
