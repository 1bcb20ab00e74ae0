//===- QMatmulKernels.h - Tensor-core kernels of sieve.qmatmul --*- C++ -*-===//
//
// The fast kernels of the weight-only quantized matmul: a decode kernel for
// up to 16 rows that streams the weights once and dequantizes them in
// registers, a tiled kernel for more rows that dequantizes into shared
// memory, and the int4 repacking kernel both read their weights through.
// SieveOpKernels.cpp's one-thread-per-output kernel stays the fallback for
// the shapes these do not take (getTensorCoreQMatmulLimit).
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_KERNELS_QMATMULKERNELS_H
#define SIEVE_CODEGEN_KERNELS_QMATMULKERNELS_H

#include "codegen/BundleBuilder.h"

#include "dialects/sieve/SieveOps.h"

#include <optional>
#include <string>

namespace mlir {
namespace sieve {

/// The operands of one sieve.qmatmul as the bundle binds them, after the
/// contract checks: `rows` (M) is the product of the input's leading
/// dimensions, `outLen` N, `reduceLen` K; `groups` scales per weight row.
struct QMatmulBinding {
  const TensorBinding *input = nullptr, *weights = nullptr,
                      *scales = nullptr, *bias = nullptr, *result = nullptr;
  SizeExpr rows, outLen, reduceLen, groups;
  /// Rows nobody reads (a gated branch): row m is read iff
  /// m % rowsPerBatch < count[m / rowsPerBatch].
  struct RowSkip {
    const TensorBinding *count;
    SizeExpr rowsPerBatch;
  };
  std::optional<RowSkip> skip;
};

/// The rows of `op`'s result nobody reads, in the flattened-rows form the
/// qmatmul kernels test, if the bundle found any.
std::optional<QMatmulBinding::RowSkip> getQMatmulRowSkip(QMatmulOp op,
                                                         BundleBuilder &bundle);

/// Why the tensor-core kernels do not compute `op` with these sizes, or an
/// empty string when they do.
std::string getTensorCoreQMatmulLimit(QMatmulOp op,
                                      const QMatmulBinding &binding);

/// Emits the tensor-core kernels of `op` and their launches: the int4
/// repacking (int4 weights only), then the decode kernel for M <= 16 and the
/// tiled kernel for M > 16 (one of them when M is static; both, each with a
/// grid that is empty unless M selects it, when M is dynamic).
LogicalResult buildTensorCoreQMatmul(QMatmulOp op, BundleBuilder &bundle,
                                     const QMatmulBinding &binding);

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_KERNELS_QMATMULKERNELS_H
