//===- Passes.h - Codegen passes --------------------------------*- C++ -*-===//

#ifndef SIEVE_CODEGEN_PASSES_H
#define SIEVE_CODEGEN_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace sieve {

#define GEN_PASS_DECL
#include "codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/Passes.h.inc"

/// Whether sieve-prepare-codegen fuses the producer of `operand` into the
/// operand's owner (see the pass description).
bool shouldFuseForCodegen(OpOperand *operand);

/// Adds sieve-prepare-codegen's patterns: generalization of named ops (but
/// fills), constant folding of generics, elementwise fusion.
void populatePrepareCodegenPatterns(RewritePatternSet &patterns);

/// Adds what sieve-compile runs between the graph passes and the bundle
/// builder: tosa to linalg, elementwise tensor ops to linalg,
/// sieve-prepare-codegen, canonicalize, CSE.
void buildCodegenPreparationPipeline(OpPassManager &pm);

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_PASSES_H
