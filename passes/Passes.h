//===- Passes.h - Sieve passes ----------------------------------*- C++ -*-===//
//
// Declares Sieve's passes (generated from Passes.td) and the public pattern
// sets they are thin wrappers of, so that other passes and plugins can reuse
// them.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PASSES_PASSES_H
#define SIEVE_PASSES_PASSES_H

#include "dialects/sieve/SieveDialect.h"
#include "dialects/sieve/SieveOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <optional>
#include <string>

namespace mlir {
class RewriterBase;
class RewritePatternSet;

namespace sieve {

/// Where `sieve-sparsify-attention` takes the global tokens from.
enum class GlobalSource {
  /// The first G positions (attention sinks).
  Sinks,
  /// `sieve.select_global` over a score tensor the graph marks with the
  /// `sieve.global_scores` attribute.
  Scores,
};

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

/// Adds the patterns that rewrite every sieve op into upstream ops on tensors
/// (the reference semantics; see `sieve-lower-to-reference`).
void populateLowerToReferencePatterns(RewritePatternSet &patterns);

/// Adds a pattern that replaces ops defined as a composition of others
/// (`linalg::AggregatedOpInterface`: `linalg.softmax`) by those others, which
/// the reference lowering and the kernels both take.
void populateDecomposeAggregatedOpsPatterns(RewritePatternSet &patterns);

/// Adds the patterns of `sieve-fuse-attention`: scaled-dot-product attention
/// written as separate ops becomes `sieve.attention` (`options.attention`)
/// and the token-gating MLP becomes `sieve.gate` (`options.gate`). Each
/// pattern is rooted at the last contraction (attention) or the final
/// comparison (gate); it leaves the IR untouched when it does not match and
/// then, where the graph looks like attention, emits a remark saying why.
/// (A driver that retries ops, such as the greedy one, may repeat remarks.)
void populateFuseAttentionPatterns(
    RewritePatternSet &patterns, const SieveFuseAttentionOptions &options = {});

//===----------------------------------------------------------------------===//
// sieve-sparsify-attention
//===----------------------------------------------------------------------===//

/// The sparsity pattern `sparsifyAttention` gives an op. Negative windows
/// take the defaults of `sieve-sparsify-attention`, which depend on `causal`.
struct AttentionSparsityOptions {
  int64_t windowLeft = -1;
  int64_t windowRight = -1;
  int64_t numGlobals = 16;
  GlobalSource globalSource = GlobalSource::Sinks;
  int64_t minSeqLen = 1024;
};

/// What `sparsifyAttention` did to one op.
struct AttentionSparsityReport {
  /// The new op, or null when the attention stays dense (see `reason`).
  HybridAttentionOp hybrid;
  std::string reason;
  /// The resolved pattern.
  int64_t windowLeft = 0, windowRight = 0, numGlobals = 0;
  /// Visible score entries of one head's Sq x Sk score matrix before and
  /// after the rewrite, when both sequence lengths are static. With
  /// global-source=scores, `sparseEntries` is an upper bound.
  std::optional<int64_t> denseEntries, sparseEntries;
  bool exact = true;
};

/// Rewrites `op` into `sieve.hybrid_attention` per `options`, or leaves it
/// dense and says why in the report. Fails (with an error on `op`, IR
/// untouched) only when `global-source=scores` finds no unique score tensor.
FailureOr<AttentionSparsityReport>
sparsifyAttention(RewriterBase &rewriter, AttentionOp op,
                  const AttentionSparsityOptions &options);

/// Adds a pattern that applies `sparsifyAttention` to every
/// `sieve.attention` (without remarks).
void populateSparsifyAttentionPatterns(RewritePatternSet &patterns,
                                       const AttentionSparsityOptions &options);

//===----------------------------------------------------------------------===//
// sieve-sparsify-gating
//===----------------------------------------------------------------------===//

/// What `sparsifyGating` did to one select.
struct GatingReport {
  /// The `sieve.scatter` that replaced the select, or null when the select
  /// was left untouched (see `reason`).
  Operation *scatter = nullptr;
  std::string reason;
  /// Ops moved into the branch that runs on the active tokens.
  int64_t numBranchOps = 0;
  /// FLOPs per token of the branch (a multiply-add counts 2), when all the
  /// sizes it depends on are static.
  std::optional<int64_t> flopsPerToken;
};

/// If `select` (an `arith.select` or a select-like `linalg.generic`) chooses
/// per token between a token-wise branch and a cheap path, rewrites it into
/// compact -> branch on the active rows -> scatter (see
/// `sieve-sparsify-gating`). Branches with fewer than `minBranchFlops` FLOPs
/// per token (when known) are left alone. `sliceActiveRows`: run the branch
/// on `count[b]`-row slices of the packed tensors, else on them whole.
GatingReport sparsifyGating(RewriterBase &rewriter, Operation *select,
                            int64_t minBranchFlops = 0,
                            bool sliceActiveRows = true);

/// Whether `op` has the form of a gated select that `sparsifyGating` looks
/// at: the mask operand ([B, S] i1), or null.
Value getGatingMask(Operation *op);

//===----------------------------------------------------------------------===//
// sieve-quantize
//===----------------------------------------------------------------------===//

/// Which contractions `quantizeContraction` rewrites and how.
struct QuantizeOptions {
  int64_t weightBits = 8;
  int64_t groupSize = 128;
  bool matmul = true, batchMatmul = true, generic = true;
  int64_t minWeightElements = 0;
  bool foldQDQ = true;
};

/// What `quantizeContraction` did to one op.
struct QuantizeReport {
  /// The `sieve.qmatmul`, or null when the op was left alone.
  Operation *qmatmul = nullptr;
  /// Why the op was left alone, or a note on the rewrite (a group size that
  /// fell back to one group per row).
  std::string reason;
  /// Whether the weights came from a folded quantize-dequantize pair.
  bool foldedQDQ = false;
  /// The shape [N, K] of the weights, their quantization, and the absolute
  /// error of the dequantized weights against the float weights.
  int64_t n = 0, k = 0, bits = 0, groupSize = 0;
  double maxAbsError = 0, meanAbsError = 0, maxAbsWeight = 0;
};

/// Rewrites `op` (a linalg contraction against constant or
/// quantize-dequantized weights) into `sieve.qmatmul` (see `sieve-quantize`).
QuantizeReport quantizeContraction(RewriterBase &rewriter, Operation *op,
                                   const QuantizeOptions &options);

//===----------------------------------------------------------------------===//
// Pipelines
//===----------------------------------------------------------------------===//

/// Adds the passes that turn a graph of func + tosa/linalg/tensor/arith +
/// sieve ops into upstream ops on tensors: TOSA to linalg, then
/// `sieve-lower-to-reference`, then elementwise arith on tensors to linalg.
void buildReferenceLoweringPipeline(OpPassManager &pm);

/// Adds the passes that bufferize such a tensor-level graph and lower it to
/// the LLVM dialect for the CPU. Function boundaries use identity-layout
/// memrefs; `cf.assert`s are left for the caller to lower.
void buildCPUCodegenPipeline(OpPassManager &pm);

/// The options of `sieve-optimize`: those of sieve-sparsify-attention,
/// sieve-sparsify-gating and sieve-quantize, under the same names and with
/// the same defaults.
struct SieveOptimizeOptions
    : public PassPipelineOptions<SieveOptimizeOptions> {
  // sieve-sparsify-attention
  Option<int64_t> windowLeft{
      *this, "window-left",
      llvm::cl::desc("Keys each row sees before its own position; -1: 512 "
                     "for causal attention, 256 otherwise"),
      llvm::cl::init(SieveSparsifyAttentionOptions().windowLeft)};
  Option<int64_t> windowRight{
      *this, "window-right",
      llvm::cl::desc("Keys each row sees after its own position; -1: 256 "
                     "for bidirectional attention; always 0 for causal"),
      llvm::cl::init(SieveSparsifyAttentionOptions().windowRight)};
  Option<int64_t> numGlobals{
      *this, "globals", llvm::cl::desc("Number of global tokens"),
      llvm::cl::init(SieveSparsifyAttentionOptions().numGlobals)};
  Option<GlobalSource> globalSource{
      *this, "global-source",
      llvm::cl::desc("Where the global tokens come from"),
      llvm::cl::init(SieveSparsifyAttentionOptions().globalSource),
      llvm::cl::values(
          clEnumValN(GlobalSource::Sinks, "sinks",
                     "the first `globals` positions (attention sinks)"),
          clEnumValN(GlobalSource::Scores, "scores",
                     "sieve.select_global over the score tensor the graph "
                     "marks with `sieve.global_scores`"))};
  Option<int64_t> minSeqLen{
      *this, "min-seq-len",
      llvm::cl::desc("Attention whose static key length is below this stays "
                     "dense"),
      llvm::cl::init(SieveSparsifyAttentionOptions().minSeqLen)};
  // sieve-sparsify-gating
  Option<int64_t> minBranchFlops{
      *this, "min-branch-flops",
      llvm::cl::desc("Gated branches with fewer FLOPs per token stay dense"),
      llvm::cl::init(SieveSparsifyGatingOptions().minBranchFlops)};
  Option<bool> sliceActiveRows{
      *this, "slice-active-rows",
      llvm::cl::desc("Run gated branches on count-row slices (false: on the "
                     "whole packed tensors, for sieve-compile)"),
      llvm::cl::init(SieveSparsifyGatingOptions().sliceActiveRows)};
  // sieve-quantize
  Option<int64_t> weightBits{
      *this, "weight-bits",
      llvm::cl::desc("Bits per quantized weight: 8 (i8) or 4 (i4)"),
      llvm::cl::init(SieveQuantizeOptions().weightBits)};
  Option<int64_t> groupSize{
      *this, "group-size",
      llvm::cl::desc("Consecutive k per scale; 0: one scale per output row"),
      llvm::cl::init(SieveQuantizeOptions().groupSize)};
  ListOption<std::string> targets{
      *this, "targets",
      llvm::cl::desc("Contractions to quantize: all (default), matmul, "
                     "batch_matmul, generic")};
  Option<int64_t> minWeightElements{
      *this, "min-weight-elements",
      llvm::cl::desc("Weights with fewer elements than this stay in float"),
      llvm::cl::init(SieveQuantizeOptions().minWeightElements)};
  Option<bool> foldQDQ{
      *this, "fold-qdq",
      llvm::cl::desc("Fold quantize-dequantize pairs on weights into "
                     "sieve.qmatmul"),
      llvm::cl::init(SieveQuantizeOptions().foldQDQ)};
  Option<std::string> qkPrecision{
      *this, "qk-precision",
      llvm::cl::desc("Quantize attention scores: i8 or f8E4M3FN (empty: "
                     "leave them exact)"),
      llvm::cl::init("")};
};

/// Adds `sieve-optimize`: sieve-fuse-attention, sieve-sparsify-attention,
/// sieve-sparsify-gating, sieve-quantize, then canonicalize and CSE.
void buildSieveOptimizePipeline(OpPassManager &pm,
                                const SieveOptimizeOptions &options);

/// Registers `sieve-reference-to-llvm`, the two pipelines above in a row,
/// and `sieve-optimize`.
void registerSievePipelines();

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace sieve
} // namespace mlir

#endif // SIEVE_PASSES_PASSES_H
