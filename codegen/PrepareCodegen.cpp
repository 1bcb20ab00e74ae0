//===- PrepareCodegen.cpp - Bring a graph into the kernels' form ----------===//

#include "codegen/Passes.h"

#include "passes/Passes.h"

#include "mlir/Conversion/TosaToArith/TosaToArith.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Conversion/TosaToTensor/TosaToTensor.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/SmallBitVector.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"

namespace mlir {
namespace sieve {
#define GEN_PASS_DEF_SIEVEPREPARECODEGEN
#include "codegen/Passes.h.inc"
} // namespace sieve
} // namespace mlir

using namespace mlir;
using namespace mlir::sieve;

/// A generic that only moves data: its payload yields block arguments.
static bool onlyMovesData(linalg::GenericOp op) {
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  return op.getBody()->getOperations().size() == 1 &&
         llvm::all_of(yield.getOperands(), [&](Value value) {
           auto arg = dyn_cast<BlockArgument>(value);
           return arg && arg.getOwner() == op.getBody();
         });
}

bool mlir::sieve::shouldFuseForCodegen(OpOperand *operand) {
  auto producer = operand->get().getDefiningOp<linalg::GenericOp>();
  auto consumer = dyn_cast<linalg::LinalgOp>(operand->getOwner());
  if (!producer || !consumer)
    return false;
  bool intoContraction = linalg::isaContractionOpInterface(consumer);
  if (onlyMovesData(producer)) {
    // A transpose keeps a contraction a contraction (its operand's map
    // permutes); a broadcast would leave an operand map without the reduced
    // or a parallel dimension, which the matmul kernels do not take.
    return !intoContraction ||
           llvm::all_of(producer.getIndexingMapsArray(),
                        [](AffineMap map) { return map.isPermutation(); });
  }
  if (!producer->getResult(0).hasOneUse() || producer->getNumResults() != 1)
    return false;
  return !intoContraction;
}

namespace {
/// Named ops (but fills) to linalg.generic.
struct GeneralizeNamedOp
    : public OpInterfaceRewritePattern<linalg::LinalgOp> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(linalg::LinalgOp op,
                                PatternRewriter &rewriter) const override {
    if (isa<linalg::GenericOp, linalg::FillOp>(op))
      return failure();
    return linalg::generalizeNamedOp(rewriter, op);
  }
};

/// tensor.extract_slice with static offsets and strides to a linalg.generic
/// whose payload reads the source at offset + stride * index (tensor.extract
/// of the captured source: indexing maps cannot hold offsets); elementwise
/// fusion then folds it into its consumers.
struct ExtractSliceToGeneric : public OpRewritePattern<tensor::ExtractSliceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tensor::ExtractSliceOp slice,
                                PatternRewriter &rewriter) const override {
    if (ShapedType::isDynamicShape(slice.getStaticOffsets()) ||
        ShapedType::isDynamicShape(slice.getStaticStrides()))
      return rewriter.notifyMatchFailure(slice, "dynamic offsets or strides");
    RankedTensorType resultType = slice.getType();
    llvm::SmallBitVector dropped = slice.getDroppedDims();
    unsigned rank = resultType.getRank();
    Location loc = slice.getLoc();
    Value init = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, slice.getResult()),
        resultType.getElementType());
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    Value source = slice.getSource();
    SmallVector<int64_t> offsets(slice.getStaticOffsets()),
        strides(slice.getStaticStrides());
    rewriter.replaceOpWithNewOp<linalg::GenericOp>(
        slice, resultType, ValueRange{}, ValueRange{init},
        ArrayRef<AffineMap>{rewriter.getMultiDimIdentityMap(rank)},
        iterators, [&](OpBuilder &b, Location loc, ValueRange) {
          SmallVector<Value> indices;
          unsigned next = 0;
          for (auto [dim, offset] : llvm::enumerate(offsets)) {
            Value index = arith::ConstantIndexOp::create(b, loc, offset);
            if (!dropped.test(dim)) {
              Value step = linalg::IndexOp::create(b, loc, next++);
              if (strides[dim] != 1)
                step = arith::MulIOp::create(
                    b, loc, step,
                    arith::ConstantIndexOp::create(b, loc, strides[dim]));
              index = arith::AddIOp::create(b, loc, index, step);
            }
            indices.push_back(index);
          }
          Value element = tensor::ExtractOp::create(b, loc, source, indices);
          linalg::YieldOp::create(b, loc, element);
        });
    return success();
  }
};

struct SievePrepareCodegenPass
    : public sieve::impl::SievePrepareCodegenBase<SievePrepareCodegenPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populatePrepareCodegenPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace

void mlir::sieve::populatePrepareCodegenPatterns(RewritePatternSet &patterns) {
  populateDecomposeAggregatedOpsPatterns(patterns);
  patterns.add<ExtractSliceToGeneric, GeneralizeNamedOp>(
      patterns.getContext());
  linalg::populateConstantFoldLinalgOperations(
      patterns, [](OpOperand *) { return true; });
  linalg::populateElementwiseOpsFusionPatterns(patterns, shouldFuseForCodegen);
  linalg::FillOp::getCanonicalizationPatterns(patterns,
                                              patterns.getContext());
  linalg::GenericOp::getCanonicalizationPatterns(patterns,
                                                 patterns.getContext());
}

void mlir::sieve::buildCodegenPreparationPipeline(OpPassManager &pm) {
  tosa::addTosaToLinalgPasses(pm, TosaToLinalgOptions(),
                              TosaToLinalgNamedOptions());
  OpPassManager &fn = pm.nest<func::FuncOp>();
  fn.addPass(createTosaToArithPass());
  fn.addPass(createTosaToTensorPass());
  fn.addPass(createConvertElementwiseToLinalgPass());
  fn.addPass(createSievePrepareCodegen());
  fn.addPass(createCanonicalizerPass());
  fn.addPass(createCSEPass());
}
