//===- LinalgKernels.h - Kernels for what is not a sieve op -----*- C++ -*-===//
//
// The generic code generator for the upstream ops a model graph carries
// around its sieve ops: linalg structured ops (elementwise chains, reductions,
// contractions), fills, and the tensor/arith ops that only name or reshape
// data (docs/codegen.md).
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_KERNELS_LINALGKERNELS_H
#define SIEVE_CODEGEN_KERNELS_LINALGKERNELS_H

#include "codegen/BundleBuilder.h"

namespace mlir {
namespace sieve {

/// Launches a kernel (for `op`) that fills `out` with `scalar`.
void emitFillLaunch(BundleBuilder &bundle, Operation *op,
                    const TensorBinding &out, TypedAttr scalar);
/// Copies `value` into a new buffer (a launch for `op`) and binds `target`
/// (which may be `value` itself) to it.
const TensorBinding &emitCopyLaunch(BundleBuilder &bundle, Operation *op,
                                    Value value, Value target);

/// Registers the providers of linalg structured ops, `arith.constant`,
/// `tensor.empty`, reshapes and casts.
void registerLinalgKernelProviders();

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_KERNELS_LINALGKERNELS_H
