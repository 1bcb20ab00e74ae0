//===- SparsifyGating.cpp - Run gated branches on active tokens only ------===//
//
// sieve-sparsify-gating: `select(mask, branch(x), cheap)` with a token-wise
// branch becomes sieve.compact -> the branch on the first count[b] rows of
// each batch row -> sieve.scatter over the cheap path. The analysis walks
// back from the select and takes every op that feeds only the branch and
// keeps rows apart; the rewrite clones those ops into a loop over batch
// rows with the token dimensions of every value resized to [1, count[b]].
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialects/sieve/SieveOps.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir {
namespace sieve {
#define GEN_PASS_DEF_SIEVESPARSIFYGATING
#include "passes/Passes.h.inc"
} // namespace sieve
} // namespace mlir

using namespace mlir;
using namespace mlir::sieve;

//===----------------------------------------------------------------------===//
// The gated select
//===----------------------------------------------------------------------===//

namespace {
struct GatedSelect {
  Operation *select = nullptr;
  Value mask;                  ///< [B, S] i1
  Value condition;             ///< the select's own condition operand
  OpOperand *branch = nullptr; ///< the true side, [B, S, D]
  Value cheap;                 ///< the false side
};
} // namespace

static bool isRankedI1(Type type, int64_t rank) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  return ranked && ranked.getRank() == rank &&
         ranked.getElementType().isInteger(1);
}

/// The [B, S] mask that `cond` ([B, S, D] i1) broadcasts along its last
/// dimension, or null.
static Value getBroadcastSource(Value cond) {
  if (!isRankedI1(cond.getType(), 3))
    return {};
  if (auto broadcast = cond.getDefiningOp<linalg::BroadcastOp>()) {
    if (broadcast.getDimensions() == ArrayRef<int64_t>{2} &&
        isRankedI1(broadcast.getInput().getType(), 2))
      return broadcast.getInput();
    return {};
  }
  if (auto generic = cond.getDefiningOp<linalg::GenericOp>()) {
    std::optional<SmallVector<int64_t>> dims =
        linalg::isaBroadcastOpInterface(generic);
    if (dims && *dims == SmallVector<int64_t>{2} &&
        generic.getNumDpsInputs() == 1 &&
        isRankedI1(generic.getDpsInputs()[0].getType(), 2))
      return generic.getDpsInputs()[0];
  }
  return {};
}

/// Matches `arith.select %m, %t, %f` on [B, S, D] tensors with `%m` a
/// broadcast mask, or a linalg.generic that yields such a select of its
/// inputs.
static std::optional<GatedSelect> matchGatedSelect(Operation *op) {
  GatedSelect gated;
  gated.select = op;
  if (auto select = dyn_cast<arith::SelectOp>(op)) {
    auto type = dyn_cast<RankedTensorType>(select.getType());
    if (!type || type.getRank() != 3)
      return std::nullopt;
    gated.condition = select.getCondition();
    gated.mask = getBroadcastSource(gated.condition);
    if (!gated.mask)
      return std::nullopt;
    gated.branch = &select->getOpOperand(1);
    gated.cheap = select.getFalseValue();
    return gated;
  }

  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic || generic.getNumDpsInputs() != 3 ||
      generic.getNumDpsInits() != 1 || generic.getNumLoops() != 3 ||
      generic.getNumParallelLoops() != 3 ||
      !generic.hasPureTensorSemantics())
    return std::nullopt;
  Block &body = generic.getRegion().front();
  if (body.getOperations().size() != 2)
    return std::nullopt;
  auto select = dyn_cast<arith::SelectOp>(body.front());
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!select || !yield || yield.getValues().size() != 1 ||
      yield.getValues()[0] != select.getResult())
    return std::nullopt;
  auto inputIndex = [&](Value value) -> std::optional<unsigned> {
    auto arg = dyn_cast<BlockArgument>(value);
    if (!arg || arg.getOwner() != &body || arg.getArgNumber() >= 3)
      return std::nullopt;
    return arg.getArgNumber();
  };
  std::optional<unsigned> cond = inputIndex(select.getCondition());
  std::optional<unsigned> onTrue = inputIndex(select.getTrueValue());
  std::optional<unsigned> onFalse = inputIndex(select.getFalseValue());
  if (!cond || !onTrue || !onFalse || *onTrue == *onFalse || *cond == *onTrue ||
      *cond == *onFalse)
    return std::nullopt;
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  MLIRContext *ctx = op->getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(3, ctx);
  if (maps[*onTrue] != identity || maps[*onFalse] != identity ||
      maps[3] != identity)
    return std::nullopt;
  Value condValue = generic.getDpsInputs()[*cond];
  gated.condition = condValue;
  if (maps[*cond] == AffineMap::getMultiDimIdentityMap(3, ctx).getMajorSubMap(2)
      && isRankedI1(condValue.getType(), 2))
    gated.mask = condValue;
  else if (maps[*cond] == identity)
    gated.mask = getBroadcastSource(condValue);
  if (!gated.mask)
    return std::nullopt;
  // The three values must have the result's type, so that the branch's
  // value is [B, S, D] like the result.
  Type type = generic.getResult(0).getType();
  if (generic.getDpsInputs()[*onTrue].getType() != type ||
      generic.getDpsInputs()[*onFalse].getType() != type)
    return std::nullopt;
  gated.branch = generic.getDpsInputOperand(*onTrue);
  gated.cheap = generic.getDpsInputs()[*onFalse];
  return gated;
}

Value mlir::sieve::getGatingMask(Operation *op) {
  std::optional<GatedSelect> gated = matchGatedSelect(op);
  return gated ? gated->mask : Value();
}

//===----------------------------------------------------------------------===//
// Branch analysis
//===----------------------------------------------------------------------===//

namespace {
/// How the token dimensions sit in a value of the branch: [B, S, ...], or
/// [B*S, ...] after a collapse of the two into rows.
enum class Layout { Tokens, Rows };

/// What an operand of a branch op is to the rewrite.
enum class Role {
  /// A value indexed by the token dimensions (a branch value, or a token
  /// input to compact).
  Token,
  /// Does not depend on the token position: used as it is, or sliced at the
  /// batch row when `batchDim >= 0`.
  Invariant,
};

struct OperandInfo {
  Role role = Role::Invariant;
  int64_t batchDim = -1;
};

struct BranchOp {
  Operation *op;
  Layout layout;
  SmallVector<OperandInfo> operands;
  /// FLOPs per token, if known.
  std::optional<int64_t> flops;
};

/// External token-role operands that the rewrite recreates rather than
/// compacts: shape-only tensors and fills.
struct Recreated {
  enum Kind { Empty, Fill } kind;
  TypedAttr fillAttr; ///< Fill from a splat constant
  Value fillValue;    ///< Fill from a linalg.fill's scalar
};
} // namespace

static std::string describe(Operation *op) {
  return ("'" + op->getName().getStringRef() + "'").str();
}

static int64_t countBodyFlops(Region &region) {
  int64_t flops = 0;
  region.walk([&](Operation *op) {
    if (isa<CastOpInterface>(op) || op->hasTrait<OpTrait::ConstantLike>() ||
        op->hasTrait<OpTrait::IsTerminator>())
      return;
    if (isa<arith::ArithDialect, math::MathDialect>(op->getDialect()))
      ++flops;
  });
  return flops;
}

/// The product of the sizes in `sizes` except those at `skip`; nullopt if
/// one of them is dynamic.
static std::optional<int64_t> productExcept(ArrayRef<int64_t> sizes,
                                            ArrayRef<unsigned> skip) {
  int64_t product = 1;
  for (auto [index, size] : llvm::enumerate(sizes)) {
    if (llvm::is_contained(skip, index))
      continue;
    if (ShapedType::isDynamic(size))
      return std::nullopt;
    product *= size;
  }
  return product;
}

static unsigned numTokenDims(Layout layout) {
  return layout == Layout::Tokens ? 2 : 1;
}

/// Checks that a linalg op keeps token rows apart when its results are in
/// `layout`, and fills in the roles of its operands.
static LogicalResult classifyLinalg(linalg::LinalgOp op, Layout layout,
                                    BranchOp &info, std::string &why) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() == 0) {
    why = "it does not have tensor semantics";
    return failure();
  }
  unsigned need = numTokenDims(layout);
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  AffineMap initMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  SmallVector<unsigned> tokenLoops;
  for (unsigned i = 0; i < need; ++i) {
    auto dim = i < initMap.getNumResults()
                   ? dyn_cast<AffineDimExpr>(initMap.getResult(i))
                   : nullptr;
    if (!dim || iterators[dim.getPosition()] != utils::IteratorType::parallel ||
        llvm::is_contained(tokenLoops, dim.getPosition())) {
      why = "its result is not indexed by parallel token loops";
      return failure();
    }
    tokenLoops.push_back(dim.getPosition());
  }
  unsigned seqLoop = tokenLoops.back();

  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    OperandInfo operandInfo;
    auto isLeadingTokenMap = [&]() {
      if (map.getNumResults() < need)
        return false;
      for (unsigned i = 0; i < map.getNumResults(); ++i) {
        AffineExpr expr = map.getResult(i);
        bool usesToken = llvm::any_of(tokenLoops, [&](unsigned loop) {
          return expr.isFunctionOfDim(loop);
        });
        if (i < need) {
          auto dim = dyn_cast<AffineDimExpr>(expr);
          if (!dim || dim.getPosition() != tokenLoops[i])
            return false;
        } else if (usesToken) {
          return false;
        }
      }
      return true;
    };
    if (map.isFunctionOfDim(seqLoop)) {
      if (!isLeadingTokenMap()) {
        why = "operand #" + std::to_string(operand.getOperandNumber()) +
              " mixes token positions";
        return failure();
      }
      operandInfo.role = Role::Token;
    } else {
      if (op.isDpsInit(&operand)) {
        why = "an init does not follow the token loops";
        return failure();
      }
      if (layout == Layout::Tokens && map.isFunctionOfDim(tokenLoops[0])) {
        for (unsigned i = 0; i < map.getNumResults(); ++i) {
          auto dim = dyn_cast<AffineDimExpr>(map.getResult(i));
          if (dim && dim.getPosition() == tokenLoops[0] &&
              operandInfo.batchDim < 0) {
            operandInfo.batchDim = i;
          } else if (map.getResult(i).isFunctionOfDim(tokenLoops[0])) {
            why = "operand #" + std::to_string(operand.getOperandNumber()) +
                  " mixes batch rows";
            return failure();
          }
        }
      }
    }
    info.operands.push_back(operandInfo);
  }

  bool readsTokenIndex = false;
  op->walk([&](linalg::IndexOp index) {
    if (llvm::is_contained(tokenLoops, index.getDim()))
      readsTokenIndex = true;
  });
  if (readsTokenIndex) {
    why = "its body reads the index of a token loop";
    return failure();
  }

  std::optional<int64_t> perToken =
      productExcept(op.getStaticLoopRanges(), tokenLoops);
  if (perToken)
    info.flops = *perToken * countBodyFlops(op->getRegion(0));
  return success();
}

/// Whether `type`'s token dimensions fit a mask of [batch, seqLen].
static bool fitsLayout(Type type, Layout layout, int64_t batch,
                       int64_t seqLen) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked || ranked.getRank() < static_cast<int64_t>(numTokenDims(layout)))
    return false;
  auto fits = [](int64_t size, int64_t expected) {
    return ShapedType::isDynamic(size) || ShapedType::isDynamic(expected) ||
           size == expected;
  };
  if (layout == Layout::Tokens)
    return fits(ranked.getDimSize(0), batch) &&
           fits(ranked.getDimSize(1), seqLen);
  int64_t rows = ShapedType::isDynamic(batch) || ShapedType::isDynamic(seqLen)
                     ? ShapedType::kDynamic
                     : batch * seqLen;
  return fits(ranked.getDimSize(0), rows);
}

/// Checks that `op` keeps token rows apart when its results are in `layout`
/// and fills in `info`.
static LogicalResult classify(Operation *op, Layout layout, int64_t batch,
                              int64_t seqLen, BranchOp &info,
                              std::string &why) {
  info.op = op;
  info.layout = layout;
  for (Type type : op->getResultTypes())
    if (!fitsLayout(type, layout, batch, seqLen)) {
      why = "its result is not a [B, S, ...] (or [B*S, ...]) tensor";
      return failure();
    }
  for (Type type : op->getOperandTypes())
    if (isa<TensorType>(type) && !isa<RankedTensorType>(type)) {
      why = "it has unranked operands";
      return failure();
    }

  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return classifyLinalg(linalgOp, layout, info, why);

  if (auto qmatmul = dyn_cast<QMatmulOp>(op)) {
    info.operands.assign(op->getNumOperands(), OperandInfo());
    info.operands[0].role = Role::Token;
    auto weights = qmatmul.getWeightValues().getType();
    if (weights.hasStaticShape())
      info.flops = 2 * weights.getDimSize(0) * weights.getDimSize(1) +
                   (qmatmul.getBias() ? weights.getDimSize(0) : 0);
    return success();
  }

  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
    SmallVector<ReassociationIndices> groups =
        collapse.getReassociationIndices();
    bool rowsFromTokens =
        layout == Layout::Rows && !groups.empty() &&
        groups[0] == ReassociationIndices{0, 1} &&
        llvm::all_of(llvm::drop_begin(groups),
                     [](const ReassociationIndices &g) { return g.size() == 1; });
    if (!rowsFromTokens) {
      why = "it does not merge [B, S] into rows";
      return failure();
    }
    info.operands.push_back({Role::Token, -1});
    info.flops = 0;
    return success();
  }

  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    SmallVector<ReassociationIndices> groups = expand.getReassociationIndices();
    bool tokensFromRows =
        layout == Layout::Tokens && !groups.empty() &&
        groups[0] == ReassociationIndices{0, 1} &&
        llvm::all_of(llvm::drop_begin(groups),
                     [](const ReassociationIndices &g) { return g.size() == 1; });
    if (!tokensFromRows) {
      why = "it does not split rows into [B, S]";
      return failure();
    }
    info.operands.assign(op->getNumOperands(), OperandInfo());
    info.operands[0].role = Role::Token;
    info.flops = 0;
    return success();
  }

  if (op->hasTrait<OpTrait::Elementwise>() && op->getNumResults() == 1 &&
      isa<RankedTensorType>(op->getResult(0).getType()) &&
      isMemoryEffectFree(op) && op->getNumRegions() == 0) {
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    for (Type operandType : op->getOperandTypes()) {
      auto ranked = dyn_cast<RankedTensorType>(operandType);
      if (!ranked || ranked.getShape() != type.getShape()) {
        why = "its operands are not of its result's shape";
        return failure();
      }
      info.operands.push_back({Role::Token, -1});
    }
    std::optional<int64_t> perToken = productExcept(
        type.getShape(),
        layout == Layout::Tokens ? ArrayRef<unsigned>{0, 1}
                                 : ArrayRef<unsigned>{0});
    if (perToken)
      info.flops = *perToken * (isa<CastOpInterface>(op) ? 0 : 1);
    return success();
  }

  why = "it is not a token-wise op sieve-sparsify-gating knows";
  return failure();
}

/// How an external token-role value can be recreated at the new size
/// instead of being compacted.
static std::optional<Recreated> getRecreated(Value value) {
  if (value.getDefiningOp<tensor::EmptyOp>())
    return Recreated{Recreated::Empty, {}, {}};
  SplatElementsAttr splat;
  if (matchPattern(value, m_Constant(&splat)))
    return Recreated{Recreated::Fill, splat.getSplatValue<TypedAttr>(), {}};
  if (auto fill = value.getDefiningOp<linalg::FillOp>())
    if (fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>())
      return Recreated{Recreated::Fill, {}, fill.getInputs()[0]};
  return std::nullopt;
}

/// Whether `use` is a `tensor.dim` with a constant index that can be
/// answered without the value, from the sizes of the producer's operands.
static bool isResolvableDim(OpOperand &use) {
  auto dim = dyn_cast<tensor::DimOp>(use.getOwner());
  if (!dim || !dim.getConstantIndex())
    return false;
  Operation *producer = use.get().getDefiningOp();
  return producer && (isa<ReifyRankedShapedTypeOpInterface>(producer) ||
                      producer->hasTrait<OpTrait::Elementwise>());
}

/// Replaces the `tensor.dim`s of the results of `ops` by sizes computed from
/// values outside `ops`, so that the ops can be erased.
static LogicalResult resolveDims(RewriterBase &rewriter,
                                 const DenseSet<Operation *> &ops) {
  SmallVector<tensor::DimOp> worklist;
  auto collect = [&](Operation *op) {
    for (Value result : op->getResults())
      for (Operation *user : result.getUsers())
        if (auto dim = dyn_cast<tensor::DimOp>(user))
          worklist.push_back(dim);
  };
  for (Operation *op : ops)
    collect(op);
  while (!worklist.empty()) {
    tensor::DimOp dim = worklist.pop_back_val();
    auto result = cast<OpResult>(dim.getSource());
    Operation *producer = result.getOwner();
    int64_t index = *dim.getConstantIndex();
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPoint(dim);
    OpFoldResult size;
    auto type = cast<RankedTensorType>(result.getType());
    if (!type.isDynamicDim(index)) {
      size = rewriter.getIndexAttr(type.getDimSize(index));
    } else if (producer->hasTrait<OpTrait::Elementwise>()) {
      size = tensor::getMixedSize(rewriter, dim.getLoc(),
                                  producer->getOperand(0), index);
    } else {
      ReifiedRankedShapedTypeDims shapes;
      if (failed(reifyResultShapes(rewriter, producer, shapes)))
        return failure();
      size = shapes[result.getResultNumber()][index];
    }
    Value value = getValueOrCreateConstantIndexOp(rewriter, dim.getLoc(), size);
    rewriter.replaceOp(dim, value);
    // The new size may read another op of the branch.
    if (auto next = value.getDefiningOp<tensor::DimOp>())
      if (Operation *def = next.getSource().getDefiningOp();
          def && ops.contains(def))
        worklist.push_back(next);
  }
  return success();
}

namespace {
/// The ops of the branch, in program order, and its token inputs.
struct Branch {
  SmallVector<BranchOp> ops;
  SetVector<Value> tokenInputs;
  DenseMap<Value, Recreated> recreated;
  std::optional<int64_t> flops;
};
} // namespace

static FailureOr<Branch> analyzeBranch(const GatedSelect &gated,
                                       std::string &why) {
  Value root = gated.branch->get();
  Operation *rootOp = root.getDefiningOp();
  if (!rootOp || rootOp->getBlock() != gated.select->getBlock()) {
    why = "the branch value is not computed next to the select";
    return failure();
  }
  if (root == gated.cheap) {
    why = "both sides of the select are the same value";
    return failure();
  }
  auto maskType = cast<RankedTensorType>(gated.mask.getType());
  int64_t batch = maskType.getDimSize(0), seqLen = maskType.getDimSize(1);
  if (!fitsLayout(root.getType(), Layout::Tokens, batch, seqLen)) {
    why = "the mask does not fit the branch's [B, S] dimensions";
    return failure();
  }

  // Token-role uses by branch ops, with the layout they expect.
  DenseMap<OpOperand *, Layout> tokenUses;
  tokenUses[gated.branch] = Layout::Tokens;
  DenseSet<Operation *> inBranch;
  SmallVector<BranchOp> reversed;
  std::string rootWhy;
  for (Operation *op = gated.select->getPrevNode(); op;
       op = op->getPrevNode()) {
    if (op->getNumResults() == 0 || op->hasTrait<OpTrait::ConstantLike>() ||
        isa<tensor::EmptyOp>(op))
      continue;
    std::optional<Layout> layout;
    bool allTokenUses = true;
    for (Value result : op->getResults())
      for (OpOperand &use : result.getUses()) {
        // Sizes read off a branch value are recomputed without it.
        if (isResolvableDim(use))
          continue;
        auto it = tokenUses.find(&use);
        if (it == tokenUses.end() || (layout && *layout != it->second)) {
          allTokenUses = false;
          break;
        }
        layout = it->second;
      }
    if (!allTokenUses || !layout)
      continue;
    BranchOp info;
    std::string opWhy;
    if (failed(classify(op, *layout, batch, seqLen, info, opWhy))) {
      if (op == rootOp)
        rootWhy = opWhy;
      continue;
    }
    // Operands in token role keep the layout, except across reshapes.
    Layout operandLayout = *layout;
    if (isa<tensor::CollapseShapeOp>(op))
      operandLayout = Layout::Tokens;
    else if (isa<tensor::ExpandShapeOp>(op))
      operandLayout = Layout::Rows;
    for (auto [operand, operandInfo] :
         llvm::zip(op->getOpOperands(), info.operands))
      if (operandInfo.role == Role::Token)
        tokenUses[&operand] = operandLayout;
    inBranch.insert(op);
    reversed.push_back(std::move(info));
  }
  if (!inBranch.contains(rootOp)) {
    why = "the branch value is computed by " + describe(rootOp);
    why += rootWhy.empty() ? ", which has other uses"
                           : ", which is not token-wise: " + rootWhy;
    return failure();
  }

  Branch branch;
  branch.ops.assign(reversed.rbegin(), reversed.rend());
  branch.flops = 0;
  for (BranchOp &info : branch.ops) {
    if (!info.flops)
      branch.flops.reset();
    else if (branch.flops)
      *branch.flops += *info.flops;
    for (auto [operand, operandInfo] :
         llvm::zip(info.op->getOpOperands(), info.operands)) {
      Value value = operand.get();
      if (operandInfo.role != Role::Token)
        continue;
      Operation *def = value.getDefiningOp();
      if (def && inBranch.contains(def))
        continue;
      if (std::optional<Recreated> recreated = getRecreated(value)) {
        branch.recreated.try_emplace(value, *recreated);
        continue;
      }
      Layout layout = tokenUses.lookup(&operand);
      auto type = cast<RankedTensorType>(value.getType());
      if (layout != Layout::Tokens || type.getRank() > 3) {
        why = "the branch reads " +
              std::string(layout == Layout::Rows ? "a [B*S, ...]"
                                                 : "a rank > 3") +
              " token value from outside; only [B, S] and [B, S, D] token "
              "inputs can be compacted";
        return failure();
      }
      branch.tokenInputs.insert(value);
    }
  }
  if (branch.tokenInputs.empty()) {
    why = "the branch reads no token input";
    return failure();
  }
  return branch;
}

//===----------------------------------------------------------------------===//
// The rewrite
//===----------------------------------------------------------------------===//

/// `type` with its token dimensions resized to one batch row of `count`
/// tokens (dynamic).
static RankedTensorType resizeTokens(RankedTensorType type, Layout layout) {
  SmallVector<int64_t> shape(type.getShape());
  if (layout == Layout::Tokens) {
    shape[0] = 1;
    shape[1] = ShapedType::kDynamic;
  } else {
    shape[0] = ShapedType::kDynamic;
  }
  return RankedTensorType::get(shape, type.getElementType(),
                               type.getEncoding());
}

/// The sizes of `value` with the token dimensions resized to [1, count].
static SmallVector<OpFoldResult> resizedSizes(OpBuilder &b, Location loc,
                                              Value value, Layout layout,
                                              Value count) {
  SmallVector<OpFoldResult> sizes;
  if (auto empty = value.getDefiningOp<tensor::EmptyOp>())
    sizes = empty.getMixedSizes();
  else
    sizes = tensor::getMixedSizes(b, loc, value);
  if (layout == Layout::Tokens) {
    sizes[0] = b.getIndexAttr(1);
    sizes[1] = count;
  } else {
    sizes[0] = count;
  }
  return sizes;
}

/// Emits the branch on the active rows of batch row `bi`, given the
/// compacted token inputs; returns the branch value ([1, count, ...]).
static Value cloneBranchForRow(OpBuilder &b, Location loc,
                               const GatedSelect &gated, const Branch &branch,
                               ArrayRef<Value> packedInputs, Value bi,
                               Value count) {
  IRMapping mapping;
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);

  // The active rows of each token input: [1, count, D] (or [1, count]).
  for (auto [input, packed] : llvm::zip(branch.tokenInputs, packedInputs)) {
    auto packedType = cast<RankedTensorType>(packed.getType());
    SmallVector<OpFoldResult> offsets = {bi, zero, zero};
    SmallVector<OpFoldResult> sizes = {one, count,
                                       tensor::getMixedSize(b, loc, packed, 2)};
    SmallVector<OpFoldResult> strides(3, one);
    auto sliceType = resizeTokens(packedType, Layout::Tokens);
    Value rows = tensor::ExtractSliceOp::create(b, loc, sliceType, packed,
                                                offsets, sizes, strides);
    auto inputType = cast<RankedTensorType>(input.getType());
    if (inputType.getRank() == 2)
      rows = tensor::CollapseShapeOp::create(
          b, loc, resizeTokens(inputType, Layout::Tokens), rows,
          SmallVector<ReassociationIndices>{{0}, {1, 2}});
    mapping.map(input, rows);
  }

  auto lookupOrRecreate = [&](Value value, Layout layout) -> Value {
    if (Value mapped = mapping.lookupOrNull(value))
      return mapped;
    const Recreated &recreated = branch.recreated.at(value);
    auto type = cast<RankedTensorType>(value.getType());
    SmallVector<OpFoldResult> sizes =
        resizedSizes(b, loc, value, layout, count);
    Value result =
        tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
    if (recreated.kind == Recreated::Fill) {
      Value scalar = recreated.fillValue;
      if (!scalar)
        scalar = arith::ConstantOp::create(b, loc, recreated.fillAttr);
      result = linalg::FillOp::create(b, loc, scalar, result).getResult(0);
    }
    mapping.map(value, result);
    return result;
  };

  for (const BranchOp &info : branch.ops) {
    Operation *op = info.op;
    Layout operandLayout = info.layout;
    if (isa<tensor::CollapseShapeOp>(op))
      operandLayout = Layout::Tokens;
    else if (isa<tensor::ExpandShapeOp>(op))
      operandLayout = Layout::Rows;

    SmallVector<Value> operands;
    for (auto [operand, operandInfo] :
         llvm::zip(op->getOperands(), info.operands)) {
      if (operandInfo.role == Role::Token) {
        operands.push_back(lookupOrRecreate(operand, operandLayout));
        continue;
      }
      if (operandInfo.batchDim < 0) {
        operands.push_back(operand);
        continue;
      }
      // A per-batch operand: its slice at the batch row.
      auto type = cast<RankedTensorType>(operand.getType());
      SmallVector<OpFoldResult> offsets(type.getRank(), zero);
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, operand);
      SmallVector<OpFoldResult> strides(type.getRank(), one);
      offsets[operandInfo.batchDim] = bi;
      sizes[operandInfo.batchDim] = one;
      SmallVector<int64_t> shape(type.getShape());
      shape[operandInfo.batchDim] = 1;
      operands.push_back(tensor::ExtractSliceOp::create(
          b, loc, RankedTensorType::get(shape, type.getElementType()), operand,
          offsets, sizes, strides));
    }

    SmallVector<Type> resultTypes;
    for (Type type : op->getResultTypes())
      resultTypes.push_back(
          resizeTokens(cast<RankedTensorType>(type), info.layout));

    Operation *clone;
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
      // Results take the types of the resized inits.
      resultTypes.clear();
      for (OpOperand &init : linalgOp.getDpsInitsMutable())
        resultTypes.push_back(operands[init.getOperandNumber()].getType());
      clone = mlir::clone(b, op, resultTypes, operands);
    } else if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
      clone = tensor::CollapseShapeOp::create(
          b, loc, resultTypes[0], operands[0],
          collapse.getReassociationIndices());
    } else if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
      SmallVector<OpFoldResult> outputShape = expand.getMixedOutputShape();
      outputShape[0] = one;
      outputShape[1] = count;
      clone = tensor::ExpandShapeOp::create(b, loc, resultTypes[0],
                                            operands[0],
                                            expand.getReassociationIndices(),
                                            outputShape);
    } else {
      clone = b.clone(*op);
      clone->setOperands(operands);
      for (auto [result, type] : llvm::zip(clone->getResults(), resultTypes))
        result.setType(type);
    }
    mapping.map(op->getResults(), clone->getResults());
  }
  return mapping.lookup(gated.branch->get());
}

/// The branch on count[b] rows of each batch row b, in an scf.for over the
/// batch rows; the rows past count stay 0.
static Value emitBranchPerBatchRow(OpBuilder &b, Location loc,
                                   const GatedSelect &gated,
                                   const Branch &branch,
                                   ArrayRef<Value> packedInputs, Value counts,
                                   RankedTensorType resultType) {
  Value zeroScalar = arith::ConstantOp::create(
      b, loc, b.getZeroAttr(resultType.getElementType()));
  Value init = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, gated.cheap),
      resultType.getElementType());
  init = linalg::FillOp::create(b, loc, zeroScalar, init).getResult(0);
  if (init.getType() != resultType)
    init = tensor::CastOp::create(b, loc, resultType, init);
  Value lb = arith::ConstantIndexOp::create(b, loc, 0);
  Value step = arith::ConstantIndexOp::create(b, loc, 1);
  Value ub = tensor::DimOp::create(b, loc, gated.mask, 0);
  auto loop = scf::ForOp::create(
      b, loc, lb, ub, step, ValueRange{init},
      [&](OpBuilder &b, Location loc, Value bi, ValueRange args) {
        Value count = arith::IndexCastOp::create(
            b, loc, b.getIndexType(),
            tensor::ExtractOp::create(b, loc, counts, ValueRange{bi}));
        Value rows = cloneBranchForRow(b, loc, gated, branch, packedInputs,
                                       bi, count);
        OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
        SmallVector<OpFoldResult> offsets = {bi, zero, zero};
        SmallVector<OpFoldResult> sizes = {
            one, count, tensor::getMixedSize(b, loc, args[0], 2)};
        SmallVector<OpFoldResult> strides(3, one);
        Value next = tensor::InsertSliceOp::create(b, loc, rows, args[0],
                                                   offsets, sizes, strides);
        scf::YieldOp::create(b, loc, next);
      });

  return loop.getResult(0);
}

/// Emits the branch on the whole compacted token inputs ([B, S, ...]: the
/// rows past count[b] are the zeros compaction pads with); returns the branch
/// value.
static Value cloneBranchWhole(OpBuilder &b, Location loc,
                              const GatedSelect &gated, const Branch &branch,
                              ArrayRef<Value> packedInputs) {
  IRMapping mapping;
  for (auto [input, packed] : llvm::zip(branch.tokenInputs, packedInputs)) {
    Value rows = packed;
    if (cast<RankedTensorType>(input.getType()).getRank() == 2)
      rows = tensor::CollapseShapeOp::create(
          b, loc, input.getType(), rows,
          SmallVector<ReassociationIndices>{{0}, {1, 2}});
    mapping.map(input, rows);
  }
  // Fills and empty tensors keep their sizes: the originals serve.
  for (const BranchOp &info : branch.ops)
    b.clone(*info.op, mapping);
  return mapping.lookup(gated.branch->get());
}

GatingReport mlir::sieve::sparsifyGating(RewriterBase &rewriter,
                                         Operation *select,
                                         int64_t minBranchFlops,
                                         bool sliceActiveRows) {
  GatingReport report;
  std::optional<GatedSelect> gated = matchGatedSelect(select);
  if (!gated) {
    report.reason = "not a select between a branch and a cheap path under a "
                    "[B, S] mask broadcast along the last dimension";
    return report;
  }
  FailureOr<Branch> branch = analyzeBranch(*gated, report.reason);
  if (failed(branch))
    return report;
  report.numBranchOps = branch->ops.size();
  report.flopsPerToken = branch->flops;
  if (branch->flops && *branch->flops < minBranchFlops) {
    report.reason = llvm::formatv("the branch costs {0} FLOPs per token, "
                                  "below min-branch-flops {1}",
                                  *branch->flops, minBranchFlops);
    return report;
  }

  Location loc = select->getLoc();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(select);
  auto resultType = cast<RankedTensorType>(select->getResult(0).getType());

  // Compact every token input with the mask.
  SmallVector<Value> packedInputs;
  Value positions, counts;
  for (Value input : branch->tokenInputs) {
    auto type = cast<RankedTensorType>(input.getType());
    Value data = input;
    if (type.getRank() == 2) {
      SmallVector<int64_t> shape(type.getShape());
      shape.push_back(1);
      SmallVector<OpFoldResult> outputShape =
          tensor::getMixedSizes(rewriter, loc, input);
      outputShape.push_back(rewriter.getIndexAttr(1));
      data = tensor::ExpandShapeOp::create(
          rewriter, loc, RankedTensorType::get(shape, type.getElementType()),
          input, SmallVector<ReassociationIndices>{{0}, {1, 2}}, outputShape);
    }
    auto compact = CompactOp::create(rewriter, loc, data, gated->mask);
    packedInputs.push_back(compact.getPacked());
    if (!positions) {
      positions = compact.getPositions();
      counts = compact.getCount();
    }
  }

  Value rows;
  if (!sliceActiveRows) {
    rows = cloneBranchWhole(rewriter, loc, *gated, *branch, packedInputs);
  } else {
    rows = emitBranchPerBatchRow(rewriter, loc, *gated, *branch, packedInputs,
                                 counts, resultType);
  }

  auto scatter = ScatterOp::create(rewriter, loc, rows, positions,
                                   gated->cheap);
  Value result = scatter.getResult();
  if (result.getType() != resultType)
    result = tensor::CastOp::create(rewriter, loc, resultType, result);

  // The select and the branch's original ops are dead now (once the sizes
  // read off them are computed otherwise).
  Value cond = gated->condition;
  rewriter.replaceOp(select, result);
  DenseSet<Operation *> branchOps;
  for (const BranchOp &info : branch->ops)
    branchOps.insert(info.op);
  if (failed(resolveDims(rewriter, branchOps))) {
    // Every producer was checked to reify its sizes; keep the originals
    // around if one does not after all (the result is still correct).
    report.scatter = scatter;
    return report;
  }
  for (const BranchOp &info : llvm::reverse(branch->ops))
    rewriter.eraseOp(info.op);
  if (Operation *def = cond.getDefiningOp(); def && def->use_empty() &&
                                             isMemoryEffectFree(def))
    rewriter.eraseOp(def);
  report.scatter = scatter;
  return report;
}

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

namespace {
struct SieveSparsifyGatingPass
    : public sieve::impl::SieveSparsifyGatingBase<SieveSparsifyGatingPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> selects;
    getOperation()->walk([&](Operation *op) {
      if (isa<arith::SelectOp, linalg::GenericOp>(op) && getGatingMask(op))
        selects.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *select : selects) {
      Location loc = select->getLoc();
      GatingReport report = sparsifyGating(rewriter, select, minBranchFlops,
                                           sliceActiveRows);
      if (!report.scatter) {
        ++numSkipped;
        emitRemark(loc) << "sieve-sparsify-gating: left untouched: "
                        << report.reason;
        continue;
      }
      ++numRewritten;
      InFlightDiagnostic remark = emitRemark(loc);
      remark << "sieve-sparsify-gating: the branch (" << report.numBranchOps
             << " ops) runs on the active tokens only: ";
      if (report.flopsPerToken) {
        branchFlops += *report.flopsPerToken;
        remark << *report.flopsPerToken << " FLOPs per active token";
      } else {
        remark << "FLOPs per active token unknown (dynamic sizes)";
      }
    }
  }
};
} // namespace
