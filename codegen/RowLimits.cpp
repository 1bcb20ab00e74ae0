//===- RowLimits.cpp - Rows of gated branches that nobody reads -----------===//
//
// `sieve.compact` packs the active rows of each batch row first; with
// `sieve-sparsify-gating{slice-active-rows=false}` the gated branch then
// runs on the whole packed tensor and `sieve.scatter` reads back only rows
// r < count[b]. The rows past count are never observed, so the kernels of
// the branch need not compute them: this analysis finds which values that
// holds for.
//
// Forward, from each packed tensor, a RowLimit flows to the results of ops
// that compute row by row (the result row depends only on the same row of
// the limited operands) and whose kernels skip limited rows, and through
// reshapes that keep the batch and row dimensions. Backward, a value keeps
// its limit only if every use reads only its active rows: an op whose
// results are limited too (it skips the same rows), the packed operand of a
// scatter whose positions come from the same compact, or tensor.dim. This
// is iterated to a fixed point, since dropping a limit from a result makes
// its op compute every row, which needs every row of its operands.
//
//===----------------------------------------------------------------------===//

#include "codegen/BundleBuilder.h"

#include "dialects/sieve/SieveOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::sieve;

/// The result dimension of a reshape that source dimension `dim` becomes,
/// if it stays a dimension of its own.
static std::optional<int64_t>
mapThroughReassociation(ArrayRef<ReassociationIndices> groups, int64_t dim,
                        bool sourceIsCollapsed) {
  for (auto [index, group] : llvm::enumerate(groups)) {
    if (sourceIsCollapsed ? static_cast<int64_t>(index) != dim
                          : !llvm::is_contained(group, dim))
      continue;
    if (group.size() != 1)
      return std::nullopt;
    return sourceIsCollapsed ? group[0] : static_cast<int64_t>(index);
  }
  return std::nullopt;
}

static std::optional<RowLimit> throughReshape(Operation *op,
                                              const RowLimit &limit) {
  ArrayRef<ReassociationIndices> groups;
  SmallVector<ReassociationIndices> storage;
  bool sourceIsCollapsed;
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    storage = expand.getReassociationIndices();
    sourceIsCollapsed = true;
  } else {
    storage = cast<tensor::CollapseShapeOp>(op).getReassociationIndices();
    sourceIsCollapsed = false;
  }
  groups = storage;
  RowLimit result = limit;
  std::optional<int64_t> row =
      mapThroughReassociation(groups, limit.rowDim, sourceIsCollapsed);
  if (!row)
    return std::nullopt;
  result.rowDim = *row;
  if (limit.batchDim >= 0) {
    std::optional<int64_t> batch =
        mapThroughReassociation(groups, limit.batchDim, sourceIsCollapsed);
    if (!batch)
      return std::nullopt;
    result.batchDim = *batch;
  }
  return result;
}

/// The limits of a linalg op's results: the limited operands must all read
/// their row (and batch) dimension through the same parallel loops, which
/// each result must have as dimensions of its own.
static std::optional<SmallVector<RowLimit>>
throughLinalg(linalg::LinalgOp op, const DenseMap<Value, RowLimit> &limits) {
  if (!op.hasPureTensorSemantics())
    return std::nullopt;
  std::optional<unsigned> rowLoop, batchLoop;
  bool hasBatch = false;
  Value count;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (OpOperand &operand : op->getOpOperands()) {
    auto it = limits.find(operand.get());
    if (it == limits.end())
      continue;
    const RowLimit &limit = it->second;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    auto loopOf = [&](int64_t dim) -> std::optional<unsigned> {
      auto expr = dyn_cast<AffineDimExpr>(map.getResult(dim));
      if (!expr || iterators[expr.getPosition()] !=
                       utils::IteratorType::parallel)
        return std::nullopt;
      return expr.getPosition();
    };
    std::optional<unsigned> row = loopOf(limit.rowDim);
    std::optional<unsigned> batch =
        limit.batchDim >= 0 ? loopOf(limit.batchDim) : std::nullopt;
    if (!row || (limit.batchDim >= 0 && !batch))
      return std::nullopt;
    if (count) {
      if (count != limit.count || row != rowLoop ||
          hasBatch != (limit.batchDim >= 0) || batch != batchLoop)
        return std::nullopt;
      continue;
    }
    count = limit.count;
    rowLoop = row;
    batchLoop = batch;
    hasBatch = limit.batchDim >= 0;
  }
  if (!count)
    return std::nullopt;
  SmallVector<RowLimit> results;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&init);
    std::optional<unsigned> rowPos =
        map.getResultPosition(getAffineDimExpr(*rowLoop, op.getContext()));
    if (!rowPos)
      return std::nullopt;
    RowLimit limit{count, -1, *rowPos};
    if (hasBatch) {
      std::optional<unsigned> batchPos = map.getResultPosition(
          getAffineDimExpr(*batchLoop, op.getContext()));
      if (!batchPos)
        return std::nullopt;
      limit.batchDim = *batchPos;
    }
    results.push_back(limit);
  }
  return results;
}

/// The limits of `op`'s results given its operands', if it computes row by
/// row.
static std::optional<SmallVector<RowLimit>>
propagate(Operation *op, const DenseMap<Value, RowLimit> &limits,
          function_ref<bool(Operation *)> canSkipRows) {
  auto limitOf = [&](Value value) -> std::optional<RowLimit> {
    auto it = limits.find(value);
    if (it == limits.end())
      return std::nullopt;
    return it->second;
  };
  if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(op)) {
    std::optional<RowLimit> limit = limitOf(op->getOperand(0));
    if (!limit)
      return std::nullopt;
    std::optional<RowLimit> result = throughReshape(op, *limit);
    if (!result)
      return std::nullopt;
    return SmallVector<RowLimit>{*result};
  }
  if (auto cast = dyn_cast<tensor::CastOp>(op)) {
    std::optional<RowLimit> limit = limitOf(cast.getSource());
    if (!limit)
      return std::nullopt;
    return SmallVector<RowLimit>{*limit};
  }
  if (!canSkipRows(op))
    return std::nullopt;
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return throughLinalg(linalgOp, limits);
  if (auto qmatmul = dyn_cast<QMatmulOp>(op)) {
    std::optional<RowLimit> limit = limitOf(qmatmul.getInput());
    int64_t rank = cast<RankedTensorType>(qmatmul.getInput().getType()).getRank();
    if (!limit || limit->rowDim == rank - 1 || limit->batchDim == rank - 1)
      return std::nullopt;
    return SmallVector<RowLimit>{*limit};
  }
  return std::nullopt;
}

/// Whether `use` reads only the active rows of its value, given the limits
/// of everything else.
static bool readsActiveRowsOnly(OpOperand &use, const RowLimit &limit,
                                const DenseMap<Value, RowLimit> &limits) {
  Operation *user = use.getOwner();
  if (isa<tensor::DimOp>(user))
    return true;
  if (auto scatter = dyn_cast<ScatterOp>(user)) {
    auto compact = limit.count.getDefiningOp<CompactOp>();
    return use.get() == scatter.getPacked() && compact &&
           scatter.getPositions() == compact.getPositions() &&
           limit.batchDim == 0 && limit.rowDim == 1;
  }
  return user->getNumResults() > 0 &&
         llvm::all_of(user->getResults(),
                      [&](Value result) { return limits.count(result); });
}

DenseMap<Value, RowLimit> mlir::sieve::analyzeRowLimits(
    func::FuncOp entry, function_ref<bool(Operation *)> canSkipRows) {
  DenseMap<Value, RowLimit> limits;
  for (Operation &op : entry.getBody().front()) {
    if (auto compact = dyn_cast<CompactOp>(op)) {
      limits[compact.getPacked()] = {compact.getCount(), 0, 1};
      continue;
    }
    std::optional<SmallVector<RowLimit>> results =
        propagate(&op, limits, canSkipRows);
    if (!results)
      continue;
    for (auto [result, limit] : llvm::zip(op.getResults(), *results))
      limits[result] = limit;
  }

  bool changed = true;
  while (changed) {
    changed = false;
    SmallVector<Value> dropped;
    for (auto &[value, limit] : limits)
      if (!llvm::all_of(value.getUses(), [&](OpOperand &use) {
            return readsActiveRowsOnly(use, limit, limits);
          }))
        dropped.push_back(value);
    for (Value value : dropped) {
      // An op computes all of its results' rows or none skipped.
      if (Operation *def = value.getDefiningOp())
        for (Value result : def->getResults())
          limits.erase(result);
      limits.erase(value);
      changed = true;
    }
  }
  return limits;
}
