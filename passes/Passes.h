//===- Passes.h - Sieve passes ----------------------------------*- C++ -*-===//
//
// Declares Sieve's passes (generated from Passes.td) and the public pattern
// sets they are thin wrappers of, so that other passes and plugins can reuse
// them.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PASSES_PASSES_H
#define SIEVE_PASSES_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace mlir {
class RewritePatternSet;

namespace sieve {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

/// Adds the patterns that rewrite every sieve op into upstream ops on tensors
/// (the reference semantics; see `sieve-lower-to-reference`).
void populateLowerToReferencePatterns(RewritePatternSet &patterns);

/// Adds the patterns of `sieve-fuse-attention`: scaled-dot-product attention
/// written as separate ops becomes `sieve.attention` (`options.attention`)
/// and the token-gating MLP becomes `sieve.gate` (`options.gate`). Each
/// pattern is rooted at the last contraction (attention) or the final
/// comparison (gate); it leaves the IR untouched when it does not match and
/// then, where the graph looks like attention, emits a remark saying why.
/// (A driver that retries ops, such as the greedy one, may repeat remarks.)
void populateFuseAttentionPatterns(
    RewritePatternSet &patterns, const SieveFuseAttentionOptions &options = {});

/// Adds the passes that turn a graph of func + tosa/linalg/tensor/arith +
/// sieve ops into upstream ops on tensors: TOSA to linalg, then
/// `sieve-lower-to-reference`, then elementwise arith on tensors to linalg.
void buildReferenceLoweringPipeline(OpPassManager &pm);

/// Adds the passes that bufferize such a tensor-level graph and lower it to
/// the LLVM dialect for the CPU. Function boundaries use identity-layout
/// memrefs; `cf.assert`s are left for the caller to lower.
void buildCPUCodegenPipeline(OpPassManager &pm);

/// Registers `sieve-reference-to-llvm`, the two pipelines above in a row.
void registerSievePipelines();

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace sieve
} // namespace mlir

#endif // SIEVE_PASSES_PASSES_H
