//===- PTXEmitter.h - Kernels to PTX through LLVM's NVPTX backend -*- C++ -*-===//
//
// gpu.module → NVVM → LLVM IR → PTX, all in-process with LLVM: no CUDA
// toolkit, no libdevice (math is lowered to LLVM intrinsics the NVPTX backend
// implements, e.g. exp2 → ex2.approx). ptxas, when present, turns the PTX
// into a cubin.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_NVPTX_PTXEMITTER_H
#define SIEVE_CODEGEN_NVPTX_PTXEMITTER_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Support/LLVM.h"

#include <optional>
#include <string>

namespace mlir {
namespace sieve {

/// The GPU architectures sieve-compile targets.
bool isSupportedTarget(StringRef target);

/// Whether `target` has the e4m3 `mma.sync` (PTX ISA: sm_89 and newer).
bool hasE4M3MmaSync(StringRef target);

/// Lowers a copy of `module` to NVVM and returns its PTX for `target`
/// (sm_80 ... sm_90a). Errors are reported on the module.
FailureOr<std::string> emitPTX(gpu::GPUModuleOp module, StringRef target);

/// The ptxas of a CUDA toolkit: `cudaPath`/bin/ptxas if given, else
/// $CUDA_PATH/bin/ptxas, else /usr/local/cuda/bin/ptxas, else PATH.
std::optional<std::string> findPtxas(StringRef cudaPath);

/// Runs ptxas on `ptxFile`, writing `cubinFile`. Returns the error log on
/// failure.
LogicalResult runPtxas(StringRef ptxas, StringRef target, StringRef ptxFile,
                       StringRef cubinFile, std::string &log);

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_NVPTX_PTXEMITTER_H
