//===- KernelMath.cpp - Math the kernel backends share --------------------===//
//
// The NVPTX backend implements few math functions in hardware (exp2, sqrt,
// fabs, fma, rounding) and would call libdevice for the rest, which needs the
// CUDA toolkit; the emulator would call the host's libm, which rounds
// differently. So before the kernels go either way, the transcendental
// functions are rewritten into arithmetic both sides compute the same way:
// MLIR's polynomial approximations (accurate to a few ulp in f32) and
// expansions, with f16/bf16 math computed in f32.
//
//===----------------------------------------------------------------------===//

#include "codegen/BundleBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;
using namespace mlir::sieve;

/// Functions MLIR approximates by polynomials.
static constexpr StringLiteral kApproximated[] = {
    "acos", "asin", "atan", "atan2", "cbrt", "cos",   "erf", "erfc",
    "exp",  "expm1", "log", "log1p", "log2", "sin",  "tanh"};
/// Functions expanded into others (approximated above or in hardware).
static constexpr StringLiteral kExpanded[] = {
    "acosh", "asinh", "atanh", "cosh", "fpowi", "ipowi",
    "powf",  "rsqrt", "sinh",  "tan"};

LogicalResult mlir::sieve::legalizeKernelMath(gpu::GPUModuleOp kernels) {
  MLIRContext *ctx = kernels.getContext();
  ctx->loadDialect<vector::VectorDialect>();

  // f16/bf16 math in f32 (the approximations are for f32).
  PassManager pm(ctx, gpu::GPUModuleOp::getOperationName());
  pm.addPass(math::createMathExtendToSupportedTypes());
  if (failed(pm.run(kernels)))
    return failure();

  // The patterns ask about full op names ("math.sin").
  auto approximated = [](StringRef name) {
    return name.consume_front("math.") &&
           llvm::is_contained(kApproximated, name);
  };
  RewritePatternSet expansions(ctx);
  SmallVector<StringRef> expanded(std::begin(kExpanded), std::end(kExpanded));
  math::populateExpansionPatterns(expansions, expanded);
  if (failed(applyPatternsGreedily(kernels, std::move(expansions))))
    return kernels.emitError("cannot expand the kernels' math functions");

  RewritePatternSet approximations(ctx);
  populateMathF32ExpansionPatterns(approximations, approximated);
  populateMathPolynomialApproximationPatterns(approximations, approximated);
  if (failed(applyPatternsGreedily(kernels, std::move(approximations))))
    return kernels.emitError("cannot approximate the kernels' math functions");
  return success();
}
