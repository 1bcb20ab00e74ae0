//===- SparsifyAttention.cpp - Dense attention to hybrid attention --------===//
//
// sieve-sparsify-attention: gives each sieve.attention a sliding window plus
// global tokens (sieve.hybrid_attention). The globals are attention sinks (a
// constant) or the best-scoring tokens of a score tensor the graph names
// with the `sieve.global_scores` attribute.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialects/sieve/SieveOps.h"

#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir {
namespace sieve {
#define GEN_PASS_DEF_SIEVESPARSIFYATTENTION
#include "passes/Passes.h.inc"
} // namespace sieve
} // namespace mlir

using namespace mlir;
using namespace mlir::sieve;

/// The attribute that names a score tensor for global-source=scores.
static constexpr llvm::StringLiteral kGlobalScoresAttr = "sieve.global_scores";

static constexpr int64_t kDefaultCausalWindow = 512;
static constexpr int64_t kDefaultBidirectionalWindow = 256;

//===----------------------------------------------------------------------===//
// Counting visible score entries
//===----------------------------------------------------------------------===//

namespace {
/// The keys query row `i` may see, per the op contract.
struct RowPattern {
  int64_t queryLen, keyLen;
  bool causal;
  /// Hybrid only:
  int64_t windowLeft, windowRight;
  int64_t numGlobals; ///< globals are 0..numGlobals-1 (sinks)
};
} // namespace

/// The number of integers in [lo, hi] (0 when empty).
static int64_t rangeSize(int64_t lo, int64_t hi) {
  return hi < lo ? 0 : hi - lo + 1;
}

/// Visible entries of one head's score matrix of dense attention.
static int64_t countDense(const RowPattern &r) {
  int64_t total = 0;
  for (int64_t i = 0; i < r.queryLen; ++i) {
    int64_t p = i + r.keyLen - r.queryLen;
    total += rangeSize(0, r.causal ? std::min(p, r.keyLen - 1) : r.keyLen - 1);
  }
  return total;
}

/// Visible entries of one head's score matrix of hybrid attention. With
/// `sinks`, globals are the positions [0, G) and the count is exact;
/// otherwise every row is assumed to see G globals outside its window (as
/// far as it may see that many), an upper bound.
static int64_t countHybrid(const RowPattern &r, bool sinks) {
  int64_t total = 0;
  for (int64_t i = 0; i < r.queryLen; ++i) {
    int64_t p = i + r.keyLen - r.queryLen;
    int64_t cap = r.causal ? std::min(p, r.keyLen - 1) : r.keyLen - 1;
    int64_t lo = std::max<int64_t>(p - r.windowLeft, 0);
    int64_t hi = std::min(p + r.windowRight, cap);
    int64_t window = rangeSize(lo, hi);
    int64_t reachable = rangeSize(0, cap);
    int64_t globals;
    if (sinks) {
      // Sinks 0..G-1 that the row may see, less those already in the window.
      int64_t lastSink = std::min(r.numGlobals - 1, cap);
      globals = rangeSize(0, lastSink) -
                rangeSize(std::max<int64_t>(lo, 0), std::min(hi, lastSink));
    } else {
      globals = std::min(r.numGlobals, reachable - window);
    }
    total += window + globals;
  }
  return total;
}

//===----------------------------------------------------------------------===//
// Score tensor lookup
//===----------------------------------------------------------------------===//

/// Whether `type` can hold the scores of an attention of batch `batch` and
/// key length `keyLen`: [B, Sk] f32.
static bool isScoreType(Type type, int64_t batch, int64_t keyLen) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked || ranked.getRank() != 2 || !ranked.getElementType().isF32())
    return false;
  auto compatible = [](int64_t a, int64_t b) {
    return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
  };
  return compatible(ranked.getDimSize(0), batch) &&
         compatible(ranked.getDimSize(1), keyLen);
}

/// The score tensor of `op`: the unique value marked `sieve.global_scores`
/// (as an argument attribute of the enclosing function, or an attribute of
/// the producing op) that fits and dominates `op`, paired by string tag when
/// `op` carries one. Emits an error on `op` otherwise.
static FailureOr<Value> findGlobalScores(AttentionOp op) {
  auto tag = op->getAttrOfType<StringAttr>(kGlobalScoresAttr);
  auto matchesTag = [&](Attribute attr) {
    if (!tag)
      return true;
    auto str = dyn_cast<StringAttr>(attr);
    return str && str == tag;
  };
  int64_t batch = op.getQuery().getType().getDimSize(0);
  int64_t keyLen = op.getKey().getType().getDimSize(2);

  Operation *scope = op->getParentOfType<FunctionOpInterface>();
  if (!scope)
    scope = op->getParentOp();
  DominanceInfo dominance(scope);
  SmallVector<Value> candidates;
  auto consider = [&](Value value, Attribute attr) {
    if (matchesTag(attr) && isScoreType(value.getType(), batch, keyLen) &&
        dominance.properlyDominates(value, op))
      candidates.push_back(value);
  };
  if (auto fn = dyn_cast<FunctionOpInterface>(scope)) {
    if (!fn.isExternal())
      for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
        if (Attribute attr = fn.getArgAttr(i, kGlobalScoresAttr))
          consider(fn.getArgument(i), attr);
  }
  scope->walk([&](Operation *producer) {
    if (producer == op.getOperation())
      return;
    if (Attribute attr = producer->getAttr(kGlobalScoresAttr))
      for (Value result : producer->getResults())
        if (isScoreType(result.getType(), batch, keyLen)) {
          consider(result, attr);
          break;
        }
  });

  if (candidates.size() == 1)
    return candidates.front();
  std::string expected =
      llvm::formatv("a [{0}, {1}] f32 score tensor",
                    ShapedType::isDynamic(batch) ? "?" : std::to_string(batch),
                    ShapedType::isDynamic(keyLen) ? "?"
                                                  : std::to_string(keyLen))
          .str();
  std::string tagText =
      tag ? (" tagged \"" + tag.getValue() + "\"").str() : std::string();
  if (candidates.empty())
    return op.emitError()
           << "sieve-sparsify-attention: global-source=scores needs "
           << expected << tagText
           << " that dominates this op: a function argument with the "
              "argument attribute `sieve.global_scores` or a result of an op "
              "with the attribute `sieve.global_scores`; found none";
  return op.emitError() << "sieve-sparsify-attention: global-source=scores "
                           "found "
                        << candidates.size() << " candidates for " << expected
                        << tagText
                        << "; tag the producer and this op with the same "
                           "string, e.g. `sieve.global_scores = \"layer0\"`";
}

//===----------------------------------------------------------------------===//
// The rewrite
//===----------------------------------------------------------------------===//

/// The constant [B, G] i32 tensor 0..G-1 in every batch row, with B taken
/// from `query` when dynamic.
static Value buildSinks(OpBuilder &b, Location loc, Value query,
                        int64_t numGlobals) {
  int64_t batch = cast<RankedTensorType>(query.getType()).getDimSize(0);
  SmallVector<int32_t> row;
  for (int64_t g = 0; g < numGlobals; ++g)
    row.push_back(static_cast<int32_t>(g));
  if (!ShapedType::isDynamic(batch)) {
    SmallVector<int32_t> values;
    for (int64_t bi = 0; bi < batch; ++bi)
      values.append(row);
    auto type = RankedTensorType::get({batch, numGlobals}, b.getI32Type());
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, ArrayRef<int32_t>(values)));
  }
  auto rowType = RankedTensorType::get({numGlobals}, b.getI32Type());
  Value rowValue = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(rowType, ArrayRef<int32_t>(row)));
  Value batchSize = tensor::DimOp::create(b, loc, query, 0);
  Value init = tensor::EmptyOp::create(
      b, loc, ArrayRef<int64_t>{ShapedType::kDynamic, numGlobals},
      b.getI32Type(), ValueRange{batchSize});
  return linalg::BroadcastOp::create(b, loc, rowValue, init,
                                     ArrayRef<int64_t>{0})
      .getResult()[0];
}

FailureOr<AttentionSparsityReport>
mlir::sieve::sparsifyAttention(RewriterBase &rewriter, AttentionOp op,
                               const AttentionSparsityOptions &options) {
  AttentionSparsityReport report;
  bool causal = op.getCausal();
  report.windowLeft = options.windowLeft >= 0
                          ? options.windowLeft
                          : (causal ? kDefaultCausalWindow
                                    : kDefaultBidirectionalWindow);
  report.windowRight =
      causal ? 0
             : (options.windowRight >= 0 ? options.windowRight
                                         : kDefaultBidirectionalWindow);
  int64_t queryLen = op.getQuery().getType().getDimSize(2);
  int64_t keyLen = op.getKey().getType().getDimSize(2);
  bool staticLens =
      !ShapedType::isDynamic(queryLen) && !ShapedType::isDynamic(keyLen);
  report.numGlobals = std::max<int64_t>(options.numGlobals, 0);
  if (!ShapedType::isDynamic(keyLen))
    report.numGlobals = std::min(report.numGlobals, keyLen);
  bool sinks = options.globalSource == GlobalSource::Sinks;
  report.exact = sinks;

  if (!ShapedType::isDynamic(keyLen) && keyLen < options.minSeqLen) {
    report.reason = llvm::formatv("the key length {0} is below min-seq-len {1}",
                                  keyLen, options.minSeqLen);
    return report;
  }
  if (!ShapedType::isDynamic(keyLen) && report.windowLeft >= keyLen - 1 &&
      (causal || (!ShapedType::isDynamic(queryLen) &&
                  report.windowRight >= queryLen - 1))) {
    report.reason =
        llvm::formatv("window({0}, {1}) already covers every key of the "
                      "{2}x{3} score matrix",
                      report.windowLeft, report.windowRight, queryLen, keyLen);
    return report;
  }
  if (staticLens) {
    RowPattern rows{queryLen,           keyLen,
                    causal,             report.windowLeft,
                    report.windowRight, report.numGlobals};
    report.denseEntries = countDense(rows);
    report.sparseEntries = countHybrid(rows, sinks);
    if (sinks && *report.sparseEntries >= *report.denseEntries) {
      report.reason =
          llvm::formatv("window({0}, {1}) and {2} sinks already cover every "
                        "key of the {3}x{4} score matrix",
                        report.windowLeft, report.windowRight,
                        report.numGlobals, queryLen, keyLen);
      return report;
    }
  }

  Value scores;
  if (!sinks && report.numGlobals > 0) {
    FailureOr<Value> found = findGlobalScores(op);
    if (failed(found))
      return failure();
    scores = *found;
  }

  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  Value globals;
  if (scores)
    globals = SelectGlobalOp::create(rewriter, loc, scores,
                                     static_cast<uint64_t>(report.numGlobals));
  else
    globals = buildSinks(rewriter, loc, op.getQuery(), report.numGlobals);

  auto hybrid = HybridAttentionOp::create(
      rewriter, loc, op.getQuery(), op.getKey(), op.getValue(), globals,
      rewriter.getI64IntegerAttr(report.windowLeft),
      rewriter.getI64IntegerAttr(report.windowRight), op.getScaleAttr(),
      op.getCausalAttr(), rewriter.getBoolAttr(false), op.getQkPrecisionAttr());
  // Keep the op's own discardable attributes (but not the scores tag).
  for (NamedAttribute attr : op->getDiscardableAttrs())
    if (attr.getName() != kGlobalScoresAttr)
      hybrid->setAttr(attr.getName(), attr.getValue());
  Value result = hybrid.getResult();
  if (result.getType() != op.getType())
    result = tensor::CastOp::create(rewriter, loc, op.getType(), result);
  rewriter.replaceOp(op, result);
  report.hybrid = hybrid;
  return report;
}

namespace {
struct SparsifyAttentionPattern : public OpRewritePattern<AttentionOp> {
  SparsifyAttentionPattern(MLIRContext *context,
                           const AttentionSparsityOptions &options)
      : OpRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<AttentionSparsityReport> report =
        sparsifyAttention(rewriter, op, options);
    if (failed(report) || !report->hybrid)
      return rewriter.notifyMatchFailure(
          op, failed(report) ? "no score tensor" : report->reason);
    return success();
  }

  AttentionSparsityOptions options;
};
} // namespace

void mlir::sieve::populateSparsifyAttentionPatterns(
    RewritePatternSet &patterns, const AttentionSparsityOptions &options) {
  patterns.add<SparsifyAttentionPattern>(patterns.getContext(), options);
}

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

namespace {
struct SieveSparsifyAttentionPass
    : public sieve::impl::SieveSparsifyAttentionBase<
          SieveSparsifyAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    Operation *root = getOperation();
    for (auto [name, value] : {std::pair{"window-left", windowLeft.getValue()},
                               {"window-right", windowRight.getValue()}})
      if (value < -1) {
        root->emitError() << "sieve-sparsify-attention: " << name
                          << " must be -1 (the default) or >= 0, found "
                          << value;
        return signalPassFailure();
      }
    if (numGlobals < 0) {
      root->emitError() << "sieve-sparsify-attention: globals must be >= 0, "
                           "found "
                        << numGlobals.getValue();
      return signalPassFailure();
    }
    AttentionSparsityOptions options;
    options.windowLeft = windowLeft;
    options.windowRight = windowRight;
    options.numGlobals = numGlobals;
    options.globalSource = globalSource;
    options.minSeqLen = minSeqLen;

    SmallVector<AttentionOp> ops;
    root->walk([&](AttentionOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    bool failedAny = false;
    for (AttentionOp op : ops) {
      Location loc = op.getLoc();
      FailureOr<AttentionSparsityReport> report =
          sparsifyAttention(rewriter, op, options);
      if (failed(report)) {
        failedAny = true;
        continue;
      }
      if (!report->hybrid) {
        ++numKeptDense;
        emitRemark(loc) << "sieve-sparsify-attention: kept dense: "
                        << report->reason;
        continue;
      }
      ++numRewritten;
      InFlightDiagnostic remark = emitRemark(loc);
      remark << "sieve-sparsify-attention: window(" << report->windowLeft
             << ", " << report->windowRight << ") + " << report->numGlobals
             << (options.globalSource == GlobalSource::Sinks ? " sinks"
                                                             : " scored globals");
      if (report->denseEntries && report->sparseEntries) {
        int64_t dense = *report->denseEntries;
        int64_t removed = dense - *report->sparseEntries;
        denseEntries += dense;
        removedEntries += removed;
        remark << llvm::formatv(
            ": removes {0}{1:f1}% of the score entries per head ({2} of {3})",
            report->exact ? "" : "at least ",
            dense ? 100.0 * removed / dense : 0.0, removed, dense);
      } else {
        remark << ": the fraction of score entries removed depends on the "
                  "dynamic sequence lengths";
      }
    }
    if (denseEntries.getValue())
      removedPerMille = removedEntries.getValue() * 1000 /
                        denseEntries.getValue();
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace
