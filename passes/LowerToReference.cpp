//===- LowerToReference.cpp - sieve ops to upstream ops on tensors --------===//
//
// The CPU reference executor: every sieve op becomes upstream ops on tensors
// that compute exactly what the op contract says. Irregular ops (attention
// over a visible key set, top-k selection, compaction) are written as scalar
// scf loops over tensor.extract/tensor.insert; regular ones (the gate MLP,
// quantization, qmatmul) as linalg.generic. Everything is computed in f32.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/ScalarCode.h"

#include "dialects/sieve/SieveOps.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

namespace mlir {
namespace sieve {
#define GEN_PASS_DEF_SIEVELOWERTOREFERENCE
#include "passes/Passes.h.inc"
} // namespace sieve
} // namespace mlir

using namespace mlir;
using namespace mlir::sieve;

//===----------------------------------------------------------------------===//
// Tensor helpers
//===----------------------------------------------------------------------===//

/// The size of dimension `dim` of `tensor`, as a constant where it is static.
static Value dimSize(ImplicitLocOpBuilder &b, Value tensor, int64_t dim) {
  return b.createOrFold<tensor::DimOp>(tensor, dim);
}

/// An uninitialized tensor of `type` whose dynamic sizes are `sizes`.
static Value emptyLike(ImplicitLocOpBuilder &b, RankedTensorType type,
                       ArrayRef<Value> sizes) {
  SmallVector<Value> dynamicSizes;
  for (auto [dim, size] : llvm::enumerate(sizes))
    if (type.isDynamicDim(dim))
      dynamicSizes.push_back(size);
  return tensor::EmptyOp::create(b, type.getShape(), type.getElementType(),
                                 dynamicSizes);
}

static Value filledLike(ImplicitLocOpBuilder &b, RankedTensorType type,
                        ArrayRef<Value> sizes, TypedAttr fillValue) {
  Value value = arith::ConstantOp::create(b, fillValue);
  return linalg::FillOp::create(b, value, emptyLike(b, type, sizes))
      .getResult(0);
}

static Value extractAt(ImplicitLocOpBuilder &b, Value tensor,
                       ArrayRef<Value> indices) {
  return tensor::ExtractOp::create(b, tensor, indices);
}

static Value insertAt(ImplicitLocOpBuilder &b, Value scalar, Value tensor,
                      ArrayRef<Value> indices) {
  return tensor::InsertOp::create(b, scalar, tensor, indices);
}

/// Emits a run-time check of a contract rule that static shapes could not
/// settle. A condition that folds to true emits nothing.
static void checkAtRuntime(ImplicitLocOpBuilder &b, Operation *op, Value cond,
                           const Twine &rule) {
  if (auto constant = getConstantIntValue(cond); constant && *constant != 0)
    return;
  cf::AssertOp::create(b, cond,
                       (op->getName().getStringRef() + " at " +
                        formatLocation(op->getLoc()) + ": " + rule)
                           .str());
}

static void checkEqual(ImplicitLocOpBuilder &b, Operation *op, Value lhs,
                       Value rhs, const Twine &rule) {
  checkAtRuntime(b, op, cmpIndex(b, arith::CmpIPredicate::eq, lhs, rhs), rule);
}

/// A linalg.generic over the identity iteration space of `init`'s shape in
/// which every input uses the map in `inputMaps` (identity when empty).
static Value buildGeneric(ImplicitLocOpBuilder &b, ValueRange inputs,
                          Value init, ArrayRef<AffineMap> maps,
                          ArrayRef<utils::IteratorType> iterators,
                          function_ref<Value(ImplicitLocOpBuilder &,
                                             ValueRange)>
                              body) {
  auto generic = linalg::GenericOp::create(
      b, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nested, Location loc, ValueRange args) {
        ImplicitLocOpBuilder nb(loc, nested);
        linalg::YieldOp::create(nb, body(nb, args));
      });
  return generic.getResult(0);
}

/// Applies `body` element by element to `inputs` (all of the shape of
/// `init`).
static Value buildElementwise(ImplicitLocOpBuilder &b, ValueRange inputs,
                              Value init,
                              function_ref<Value(ImplicitLocOpBuilder &,
                                                 ValueRange)>
                                  body) {
  int64_t rank = cast<RankedTensorType>(init.getType()).getRank();
  SmallVector<AffineMap> maps(inputs.size() + 1,
                              b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return buildGeneric(b, inputs, init, maps, iterators, body);
}

/// Converts an f32 tensor to `type` (same shape), rounding once.
static Value truncateTo(ImplicitLocOpBuilder &b, Value value,
                        RankedTensorType type, ArrayRef<Value> sizes) {
  if (value.getType() == type)
    return value;
  Type elementType = type.getElementType();
  return buildElementwise(
      b, value, emptyLike(b, type, sizes),
      [&](ImplicitLocOpBuilder &nb, ValueRange args) {
        return fromF32(nb, args[0], elementType);
      });
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

namespace {
/// What distinguishes `sieve.hybrid_attention` from `sieve.attention`.
struct SparsityPattern {
  Value globals;
  int64_t windowLeft;
  int64_t windowRight;
  bool globalQueries;
};
} // namespace

/// `first[b, t]` is true when slot t of `globals[b]` names a key in [0, Sk)
/// that no earlier slot names: the globals each row may add, counted once.
static Value buildFirstOccurrences(ImplicitLocOpBuilder &b, Value globals,
                                   Value batch, Value numGlobals,
                                   Value keyLen) {
  Value zero = indexConst(b, 0);
  auto type = RankedTensorType::get(
      cast<RankedTensorType>(globals.getType()).getShape(), b.getI1Type());
  Value first = emptyLike(b, type, {batch, numGlobals});
  return buildFor(b, zero, batch, first, [&](ImplicitLocOpBuilder &b, Value bi,
                                             ValueRange args) {
    return buildFor(
        b, zero, numGlobals, args[0],
        [&](ImplicitLocOpBuilder &b, Value t, ValueRange args) {
          Value g = toIndex(b, extractAt(b, globals, {bi, t}));
          Value inRange =
              andI1(b, cmpIndex(b, arith::CmpIPredicate::sge, g, zero),
                    cmpIndex(b, arith::CmpIPredicate::slt, g, keyLen));
          Value duplicate = buildFor(
              b, zero, t, boolConst(b, false),
              [&](ImplicitLocOpBuilder &b, Value u, ValueRange args) {
                Value other = toIndex(b, extractAt(b, globals, {bi, u}));
                Value same = cmpIndex(b, arith::CmpIPredicate::eq, other, g);
                return SmallVector<Value>{
                    orI1(b, args[0], same)};
              })[0];
          Value isFirst = andI1(b, inRange, notI1(b, duplicate));
          return SmallVector<Value>{insertAt(b, isFirst, args[0], {bi, t})};
        });
  })[0];
}

/// Quantizes `x` [B, H, S, D], minus `mean` [B, H, D] when given, in blocks
/// of 64 rows as the attention ops' `qk_precision` defines: the quantized
/// values as exact f32 [B, H, S, D] and the scales [B, H, ceil(S / 64)].
static std::pair<Value, Value> quantizeScoreBlocks(ImplicitLocOpBuilder &b,
                                                   Value x, Value mean,
                                                   Type precision) {
  double qmax = getScorePrecisionMax(precision);
  Value zero = indexConst(b, 0);
  Value blockRows = indexConst(b, kScoreBlockRows);
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<Value> sizes = {dimSize(b, x, 0), dimSize(b, x, 1),
                              dimSize(b, x, 2), dimSize(b, x, 3)};
  Value numBlocks = b.createOrFold<arith::CeilDivUIOp>(sizes[2], blockRows);
  Value values = emptyLike(b, type.clone(b.getF32Type()), sizes);
  auto scalesType = RankedTensorType::get(
      {type.getDimSize(0), type.getDimSize(1), ShapedType::kDynamic},
      b.getF32Type());
  Value scales = emptyLike(b, scalesType, {sizes[0], sizes[1], numBlocks});

  auto element = [&](ImplicitLocOpBuilder &b, Value bi, Value h, Value i,
                     Value d) -> Value {
    Value v = toF32(b, extractAt(b, x, {bi, h, i, d}));
    if (!mean)
      return v;
    return arith::SubFOp::create(b, v, extractAt(b, mean, {bi, h, d}));
  };
  // Runs `body(i, d, state)` over rows [lo, hi) and all columns.
  auto forEachElement =
      [&](ImplicitLocOpBuilder &b, Value lo, Value hi, ValueRange init,
          function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Value, Value,
                                          ValueRange)>
              body) {
        return buildFor(b, lo, hi, init,
                        [&](ImplicitLocOpBuilder &b, Value i, ValueRange args) {
                          return buildFor(b, zero, sizes[3], args,
                                          [&](ImplicitLocOpBuilder &b, Value d,
                                              ValueRange args) {
                                            return body(b, i, d, args);
                                          });
                        });
      };

  auto quantizeBlock = [&](ImplicitLocOpBuilder &b, Value bi, Value h, Value r,
                           ValueRange args) {
    Value lo = arith::MulIOp::create(b, r, blockRows);
    Value hi = arith::MinUIOp::create(
        b, arith::AddIOp::create(b, lo, blockRows), sizes[2]);
    // amax = max |x| over the block; maximumf keeps a NaN.
    Value amax = forEachElement(
        b, lo, hi, f32Const(b, 0.0),
        [&](ImplicitLocOpBuilder &b, Value i, Value d, ValueRange args) {
          Value magnitude = math::AbsFOp::create(b, element(b, bi, h, i, d));
          return SmallVector<Value>{
              arith::MaximumFOp::create(b, args[0], magnitude)};
        })[0];
    Value inverse = arith::DivFOp::create(b, f32Const(b, qmax), amax);
    Value usable = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, amax,
                                         f32Const(b, 0.0));
    Value quantized = forEachElement(
        b, lo, hi, args[0],
        [&](ImplicitLocOpBuilder &b, Value i, Value d, ValueRange args) {
          Value scaled =
              arith::MulFOp::create(b, element(b, bi, h, i, d), inverse);
          Value q = arith::SelectOp::create(
              b, usable, roundToScorePrecision(b, scaled, precision),
              f32Const(b, 0.0));
          return SmallVector<Value>{insertAt(b, q, args[0], {bi, h, i, d})};
        })[0];
    Value scale = arith::DivFOp::create(b, amax, f32Const(b, qmax));
    return SmallVector<Value>{quantized,
                              insertAt(b, scale, args[1], {bi, h, r})};
  };

  SmallVector<Value> result = buildFor(
      b, zero, sizes[0], {values, scales},
      [&](ImplicitLocOpBuilder &b, Value bi, ValueRange args) {
        return buildFor(b, zero, sizes[1], args,
                        [&](ImplicitLocOpBuilder &b, Value h, ValueRange args) {
                          return buildFor(b, zero, numBlocks, args,
                                          [&](ImplicitLocOpBuilder &b, Value r,
                                              ValueRange args) {
                                            return quantizeBlock(b, bi, h, r,
                                                                 args);
                                          });
                        });
      });
  return {result[0], result[1]};
}

/// kmean[b, kh, d] = (sum over the 64-key blocks of their partial sums) / Sk
/// in f32, which `qk_precision` subtracts from the keys before quantizing
/// them.
static Value buildKeyMean(ImplicitLocOpBuilder &b, Value key) {
  Value zero = indexConst(b, 0);
  auto type = cast<RankedTensorType>(key.getType());
  SmallVector<Value> sizes = {dimSize(b, key, 0), dimSize(b, key, 1),
                              dimSize(b, key, 3)};
  Value keyLen = dimSize(b, key, 2);
  Value blockRows = indexConst(b, kScoreBlockRows);
  Value numBlocks = b.createOrFold<arith::CeilDivUIOp>(keyLen, blockRows);
  Value keyLenF32 = arith::UIToFPOp::create(
      b, b.getF32Type(),
      arith::IndexCastUIOp::create(b, b.getI64Type(), keyLen));
  auto meanType = RankedTensorType::get(
      {type.getDimSize(0), type.getDimSize(1), type.getDimSize(3)},
      b.getF32Type());
  return buildFor(
      b, zero, sizes[0], emptyLike(b, meanType, sizes),
      [&](ImplicitLocOpBuilder &b, Value bi, ValueRange args) {
        return buildFor(
            b, zero, sizes[1], args,
            [&](ImplicitLocOpBuilder &b, Value kh, ValueRange args) {
              return buildFor(
                  b, zero, sizes[2], args,
                  [&](ImplicitLocOpBuilder &b, Value d, ValueRange args) {
                    // The blocks' partial sums, added up block by block.
                    Value sum = buildFor(
                        b, zero, numBlocks, f32Const(b, 0.0),
                        [&](ImplicitLocOpBuilder &b, Value c, ValueRange args) {
                          Value lo = arith::MulIOp::create(b, c, blockRows);
                          Value hi = arith::MinUIOp::create(
                              b, arith::AddIOp::create(b, lo, blockRows),
                              keyLen);
                          Value partial = buildFor(
                              b, lo, hi, f32Const(b, 0.0),
                              [&](ImplicitLocOpBuilder &b, Value j,
                                  ValueRange args) {
                                Value kd =
                                    toF32(b, extractAt(b, key, {bi, kh, j, d}));
                                return SmallVector<Value>{
                                    arith::AddFOp::create(b, args[0], kd)};
                              })[0];
                          return SmallVector<Value>{
                              arith::AddFOp::create(b, args[0], partial)};
                        })[0];
                    Value mean = arith::DivFOp::create(b, sum, keyLenF32);
                    return SmallVector<Value>{
                        insertAt(b, mean, args[0], {bi, kh, d})};
                  });
            });
      })[0];
}

/// Lowers dense (`pattern == nullptr`) or hybrid attention. Each query row
/// visits its window [lo, hi] and then its extra globals, twice: once to
/// compute the scores and their maximum, once to accumulate exp(score - max)
/// and the weighted values into an f32 accumulator.
static Value lowerAttention(ImplicitLocOpBuilder &b, Operation *op, Value query,
                            Value key, Value value,
                            std::optional<APFloat> scaleAttr, bool causal,
                            const SparsityPattern *pattern,
                            Type scoreQuantization,
                            RankedTensorType resultType) {
  using Pred = arith::CmpIPredicate;
  Value zero = indexConst(b, 0), one = indexConst(b, 1);
  Value batch = dimSize(b, query, 0), queryHeads = dimSize(b, query, 1);
  Value queryLen = dimSize(b, query, 2), headDim = dimSize(b, query, 3);
  Value kvHeads = dimSize(b, key, 1), keyLen = dimSize(b, key, 2);
  Value valueDim = dimSize(b, value, 3);

  checkEqual(b, op, dimSize(b, key, 0), batch,
             "'key' and 'query' have different batch sizes");
  checkEqual(b, op, dimSize(b, value, 0), batch,
             "'value' and 'query' have different batch sizes");
  checkEqual(b, op, dimSize(b, value, 1), kvHeads,
             "'value' and 'key' have different numbers of heads");
  checkEqual(b, op, dimSize(b, key, 3), headDim,
             "'key' and 'query' have different head dimensions");
  checkEqual(b, op, dimSize(b, value, 2), keyLen,
             "'value' and 'key' have different sequence lengths");
  Value safeKvHeads = b.createOrFold<arith::MaxUIOp>(kvHeads, one);
  Value headsDivide = cmpIndex(
      b, Pred::eq, b.createOrFold<arith::RemUIOp>(queryHeads, safeKvHeads),
      zero);
  Value someKvHeads =
      b.createOrFold<arith::OrIOp>(cmpIndex(b, Pred::ne, kvHeads, zero),
                                   cmpIndex(b, Pred::eq, queryHeads, zero));
  checkAtRuntime(b, op, andI1(b, headsDivide, someKvHeads),
                 "the number of query heads is not a multiple of the number "
                 "of key/value heads");
  if (pattern)
    checkEqual(b, op, dimSize(b, pattern->globals, 0), batch,
               "'globals' and 'query' have different batch sizes");

  // 1/sqrt(D) unless given; D may be dynamic.
  Value scale;
  if (scaleAttr) {
    scale = f32Const(b, scaleAttr->convertToFloat());
  } else {
    Value dimF32 = arith::UIToFPOp::create(
        b, b.getF32Type(),
        arith::IndexCastUIOp::create(b, b.getI64Type(), headDim));
    scale = arith::DivFOp::create(b, f32Const(b, 1.0),
                                  math::SqrtOp::create(b, dimF32));
  }
  Value group = b.createOrFold<arith::DivUIOp>(queryHeads, safeKvHeads);

  Value numGlobals, first, windowLeft, windowRight;
  if (pattern) {
    numGlobals = dimSize(b, pattern->globals, 1);
    first = buildFirstOccurrences(b, pattern->globals, batch, numGlobals,
                                  keyLen);
    // Windows wider than both sequences are clipped, so that p +- window
    // cannot overflow.
    Value reach = b.createOrFold<arith::AddIOp>(keyLen, queryLen);
    windowLeft = b.createOrFold<arith::MinSIOp>(
        indexConst(b, pattern->windowLeft), reach);
    windowRight = b.createOrFold<arith::MinSIOp>(
        indexConst(b, pattern->windowRight), reach);
  }

  // With `qk_precision`, the scores use quantized queries and keys.
  Value scoreQuery = query, scoreKey = key, queryScales, keyScales;
  if (scoreQuantization) {
    std::tie(scoreQuery, queryScales) =
        quantizeScoreBlocks(b, query, /*mean=*/nullptr, scoreQuantization);
    std::tie(scoreKey, keyScales) =
        quantizeScoreBlocks(b, key, buildKeyMean(b, key), scoreQuantization);
  }
  Value blockRows = indexConst(b, kScoreBlockRows);

  SmallVector<Value> accSizes = {batch, queryHeads, queryLen, valueDim};
  Value acc = filledLike(b, resultType.clone(b.getF32Type()), accSizes,
                         b.getF32FloatAttr(0.0));
  Value lastKey = b.createOrFold<arith::SubIOp>(keyLen, one);

  // Scores of the current row, indexed by key position.
  Value rowScores = emptyLike(
      b,
      RankedTensorType::get({cast<RankedTensorType>(key.getType()).getDimSize(2)},
                            b.getF32Type()),
      {keyLen});
  acc = buildFor(b, zero, batch, {acc, rowScores}, [&](ImplicitLocOpBuilder &b,
                                                       Value bi,
                                                       ValueRange args) {
    return buildFor(b, zero, queryHeads, args, [&](ImplicitLocOpBuilder &b,
                                                   Value h, ValueRange args) {
      Value kh = arith::DivUIOp::create(b, h, group);
      return buildFor(b, zero, queryLen, args, [&](ImplicitLocOpBuilder &b,
                                                   Value i, ValueRange args) {
        // The row's key position (negative when Sq > Sk).
        Value p = arith::SubIOp::create(
            b, arith::AddIOp::create(b, i, keyLen), queryLen);

        // The keys the row sees through its window: [lo, hi].
        Value lo = zero, hi = lastKey, isGlobalRow = boolConst(b, false);
        if (pattern) {
          if (pattern->globalQueries) {
            isGlobalRow = buildFor(
                b, zero, numGlobals, isGlobalRow,
                [&](ImplicitLocOpBuilder &b, Value t, ValueRange args) {
                  Value g = toIndex(b, extractAt(b, pattern->globals, {bi, t}));
                  Value hit = andI1(b, extractAt(b, first, {bi, t}),
                                    cmpIndex(b, Pred::eq, g, p));
                  return SmallVector<Value>{
                      orI1(b, args[0], hit)};
                })[0];
          }
          Value windowLo = arith::MaxSIOp::create(
              b, arith::SubIOp::create(b, p, windowLeft), zero);
          Value windowHi = arith::MinSIOp::create(
              b, arith::AddIOp::create(b, p, windowRight), lastKey);
          lo = arith::SelectOp::create(b, isGlobalRow, zero, windowLo);
          hi = arith::SelectOp::create(b, isGlobalRow, lastKey, windowHi);
        }
        if (causal)
          hi = arith::MinSIOp::create(b, hi, p);
        Value end = arith::AddIOp::create(b, hi, one);

        // Global slots the row sees in addition to its window.
        auto globalVisible = [&](ImplicitLocOpBuilder &b, Value t, Value g) {
          Value inWindow = andI1(b, cmpIndex(b, Pred::sge, g, lo),
                                 cmpIndex(b, Pred::sle, g, hi));
          Value visible = andI1(b, extractAt(b, first, {bi, t}),
                                notI1(b, inWindow));
          visible = andI1(b, visible, notI1(b, isGlobalRow));
          if (causal)
            visible = andI1(b, visible, cmpIndex(b, Pred::sle, g, p));
          return visible;
        };

        auto score = [&](ImplicitLocOpBuilder &b, Value j) {
          Value dot = buildFor(
              b, zero, headDim, f32Const(b, 0.0),
              [&](ImplicitLocOpBuilder &b, Value d, ValueRange args) {
                Value qd = toF32(b, extractAt(b, scoreQuery, {bi, h, i, d}));
                Value kd = toF32(b, extractAt(b, scoreKey, {bi, kh, j, d}));
                Value prod = arith::MulFOp::create(b, qd, kd);
                return SmallVector<Value>{
                    arith::AddFOp::create(b, args[0], prod)};
              })[0];
          if (scoreQuantization) {
            Value qs =
                extractAt(b, queryScales,
                          {bi, h, arith::DivUIOp::create(b, i, blockRows)});
            Value ks =
                extractAt(b, keyScales,
                          {bi, kh, arith::DivUIOp::create(b, j, blockRows)});
            dot =
                arith::MulFOp::create(b, dot, arith::MulFOp::create(b, qs, ks));
          }
          return arith::MulFOp::create(b, dot, scale).getResult();
        };

        // Runs `visit(j, state)` for every visible key j: the window, then
        // the extra globals.
        auto forEachVisibleKey =
            [&](ImplicitLocOpBuilder &b, ValueRange init,
                function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Value,
                                                ValueRange)>
                    visit) {
              SmallVector<Value> state =
                  buildFor(b, lo, end, init, visit);
              if (!pattern)
                return state;
              return buildFor(
                  b, zero, numGlobals, state,
                  [&](ImplicitLocOpBuilder &b, Value t, ValueRange args) {
                    Value g =
                        toIndex(b, extractAt(b, pattern->globals, {bi, t}));
                    return buildIfUpdate(b, globalVisible(b, t, g), args,
                                         [&](ImplicitLocOpBuilder &b) {
                                           return visit(b, g, args);
                                         });
                  });
            };

        // Pass 1: the scores and their maximum.
        Value negInf = f32Const(b, -std::numeric_limits<double>::infinity());
        SmallVector<Value> maxAndScores = forEachVisibleKey(
            b, {negInf, args[1]},
            [&](ImplicitLocOpBuilder &b, Value j, ValueRange args) {
              Value s = score(b, j);
              return SmallVector<Value>{arith::MaximumFOp::create(b, args[0], s),
                                        insertAt(b, s, args[1], {j})};
            });
        Value rowMax = maxAndScores[0], scores = maxAndScores[1];

        // Pass 2: weights exp(s - max), their sum, and the weighted values.
        SmallVector<Value> sumAndAcc = forEachVisibleKey(
            b, {f32Const(b, 0.0), args[0]},
            [&](ImplicitLocOpBuilder &b, Value j, ValueRange args) {
              Value weight = math::ExpOp::create(
                  b, arith::SubFOp::create(b, extractAt(b, scores, {j}),
                                           rowMax));
              Value sum = arith::AddFOp::create(b, args[0], weight);
              Value acc = buildFor(
                  b, zero, valueDim, args[1],
                  [&](ImplicitLocOpBuilder &b, Value d, ValueRange args) {
                    Value vd = toF32(b, extractAt(b, value, {bi, kh, j, d}));
                    Value old = extractAt(b, args[0], {bi, h, i, d});
                    Value updated = arith::AddFOp::create(
                        b, old, arith::MulFOp::create(b, weight, vd));
                    return SmallVector<Value>{
                        insertAt(b, updated, args[0], {bi, h, i, d})};
                  })[0];
              return SmallVector<Value>{sum, acc};
            });

        // Normalize; a row without visible keys keeps its exact zeros.
        Value sum = sumAndAcc[0];
        Value nonEmpty = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT,
                                               sum, f32Const(b, 0.0));
        Value result = buildIfUpdate(
            b, nonEmpty, sumAndAcc[1], [&](ImplicitLocOpBuilder &b) {
              return buildFor(
                  b, zero, valueDim, sumAndAcc[1],
                  [&](ImplicitLocOpBuilder &b, Value d, ValueRange args) {
                    Value old = extractAt(b, args[0], {bi, h, i, d});
                    Value normalized = arith::DivFOp::create(b, old, sum);
                    return SmallVector<Value>{
                        insertAt(b, normalized, args[0], {bi, h, i, d})};
                  });
            })[0];
        return SmallVector<Value>{result, scores};
      });
    });
  })[0];
  return truncateTo(b, acc, resultType, accSizes);
}

namespace {
struct LowerAttention : public OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    rewriter.replaceOp(
        op, lowerAttention(b, op, op.getQuery(), op.getKey(), op.getValue(),
                           op.getScale(), op.getCausal(), /*pattern=*/nullptr,
                           op.getScoreQuantizationType(), op.getType()));
    return success();
  }
};

struct LowerHybridAttention : public OpRewritePattern<HybridAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(HybridAttentionOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    SparsityPattern pattern{op.getGlobals(),
                            static_cast<int64_t>(op.getWindowLeft()),
                            static_cast<int64_t>(op.getWindowRight()),
                            op.getGlobalQueries()};
    rewriter.replaceOp(
        op, lowerAttention(b, op, op.getQuery(), op.getKey(), op.getValue(),
                           op.getScale(), op.getCausal(), &pattern,
                           op.getScoreQuantizationType(), op.getType()));
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Top-k selection: select_global and capacity-routed gates
//===----------------------------------------------------------------------===//

/// Marks in an i1 [B, S] tensor the `k` highest of each row of the f32
/// `scores`: k rounds of picking the best unmarked position, scanning in
/// ascending order so that ties go to the lower position. NaN ranks below
/// every number.
static Value buildTopKMask(ImplicitLocOpBuilder &b, Value scores, Value k) {
  using Pred = arith::CmpFPredicate;
  Value zero = indexConst(b, 0), none = indexConst(b, -1);
  Value batch = dimSize(b, scores, 0), seqLen = dimSize(b, scores, 1);
  auto maskType = cast<RankedTensorType>(scores.getType())
                      .clone(b.getI1Type());
  Value mask =
      filledLike(b, maskType, {batch, seqLen}, b.getBoolAttr(false));

  return buildFor(b, zero, batch, mask, [&](ImplicitLocOpBuilder &b, Value bi,
                                            ValueRange args) {
    return buildFor(b, zero, k, args[0], [&](ImplicitLocOpBuilder &b, Value,
                                             ValueRange args) {
      Value mask = args[0];
      SmallVector<Value> best = buildFor(
          b, zero, seqLen, {none, f32Const(b, 0.0)},
          [&](ImplicitLocOpBuilder &b, Value s, ValueRange best) {
            Value v = extractAt(b, scores, {bi, s});
            Value bestIsNone =
                cmpIndex(b, arith::CmpIPredicate::slt, best[0], zero);
            Value vIsNumber = arith::CmpFOp::create(b, Pred::ORD, v, v);
            Value bestIsNaN =
                arith::CmpFOp::create(b, Pred::UNO, best[1], best[1]);
            Value greater = arith::CmpFOp::create(b, Pred::OGT, v, best[1]);
            Value beats = andI1(
                b, vIsNumber, orI1(b, bestIsNaN, greater));
            Value take = andI1(
                b, notI1(b, extractAt(b, mask, {bi, s})),
                orI1(b, bestIsNone, beats));
            return SmallVector<Value>{
                arith::SelectOp::create(b, take, s, best[0]),
                arith::SelectOp::create(b, take, v, best[1])};
          });
      Value found = cmpIndex(b, arith::CmpIPredicate::sge, best[0], zero);
      return buildIfUpdate(b, found, mask, [&](ImplicitLocOpBuilder &b) {
        return SmallVector<Value>{
            insertAt(b, boolConst(b, true), mask, {bi, best[0]})};
      });
    });
  })[0];
}

namespace {
struct LowerSelectGlobal : public OpRewritePattern<SelectGlobalOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SelectGlobalOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value scores = op.getScores();
    Value zero = indexConst(b, 0), one = indexConst(b, 1);
    Value batch = dimSize(b, scores, 0), seqLen = dimSize(b, scores, 1);
    Value count = indexConst(b, static_cast<int64_t>(op.getCount()));
    checkAtRuntime(b, op,
                   cmpIndex(b, arith::CmpIPredicate::sle, count, seqLen),
                   "'count' exceeds the sequence length of 'scores'");

    Value selected = buildTopKMask(b, scores, count);
    // The marked positions, in ascending order.
    Value positions = emptyLike(b, op.getType(), {batch, count});
    positions = buildFor(
        b, zero, batch, positions,
        [&](ImplicitLocOpBuilder &b, Value bi, ValueRange args) {
          return SmallVector<Value>{buildFor(
              b, zero, seqLen, {args[0], zero},
              [&](ImplicitLocOpBuilder &b, Value s, ValueRange args) {
                return buildIfUpdate(
                    b, extractAt(b, selected, {bi, s}), args,
                    [&](ImplicitLocOpBuilder &b) {
                      Value pos = arith::IndexCastOp::create(
                          b, b.getI32Type(), s);
                      return SmallVector<Value>{
                          insertAt(b, pos, args[0], {bi, args[1]}),
                          arith::AddIOp::create(b, args[1], one)};
                    });
              })[0]};
        })[0];
    rewriter.replaceOp(op, positions);
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Gate
//===----------------------------------------------------------------------===//

static Value applyActivation(ImplicitLocOpBuilder &b, Activation activation,
                             Value x) {
  switch (activation) {
  case Activation::Relu:
    return arith::MaximumFOp::create(b, x, f32Const(b, 0.0));
  case Activation::Silu: {
    // x * sigmoid(x) = x / (1 + exp(-x))
    Value e = math::ExpOp::create(b, arith::NegFOp::create(b, x));
    return arith::DivFOp::create(b, x,
                                 arith::AddFOp::create(b, f32Const(b, 1.0), e));
  }
  case Activation::Gelu: {
    // x * (1 + erf(x / sqrt(2))) / 2, the exact form.
    Value erf = math::ErfOp::create(
        b, arith::MulFOp::create(b, x, f32Const(b, M_SQRT1_2)));
    Value half = arith::MulFOp::create(b, x, f32Const(b, 0.5));
    return arith::MulFOp::create(
        b, half, arith::AddFOp::create(b, f32Const(b, 1.0), erf));
  }
  }
  llvm_unreachable("unknown activation");
}

namespace {
struct LowerGate : public OpRewritePattern<GateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GateOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value input = op.getInput(), w1 = op.getW1(), b1 = op.getB1(),
          w2 = op.getW2(), b2 = op.getB2();
    Value batch = dimSize(b, input, 0), seqLen = dimSize(b, input, 1);
    Value hidden = dimSize(b, w1, 0);
    checkEqual(b, op, dimSize(b, w1, 1), dimSize(b, input, 2),
               "'w1' and 'input' have different model dimensions");
    checkEqual(b, op, dimSize(b, b1, 0), hidden,
               "'b1' and 'w1' have different hidden dimensions");
    checkEqual(b, op, dimSize(b, w2, 0), hidden,
               "'w2' and 'w1' have different hidden dimensions");

    using utils::IteratorType;
    MLIRContext *ctx = b.getContext();
    AffineExpr d0, d1, d2, d3;
    bindDims(ctx, d0, d1, d2, d3);
    auto par = IteratorType::parallel, red = IteratorType::reduction;

    // h[b, s, j] = act(sum_m x[b, s, m] * w1[j, m] + b1[j])
    auto hiddenType = RankedTensorType::get(
        {op.getInput().getType().getDimSize(0),
         op.getInput().getType().getDimSize(1),
         op.getW1().getType().getDimSize(0)},
        b.getF32Type());
    SmallVector<Value> hiddenSizes = {batch, seqLen, hidden};
    Value h = buildGeneric(
        b, {input, w1},
        filledLike(b, hiddenType, hiddenSizes, b.getF32FloatAttr(0.0)),
        {AffineMap::get(4, 0, {d0, d1, d3}, ctx),
         AffineMap::get(4, 0, {d2, d3}, ctx),
         AffineMap::get(4, 0, {d0, d1, d2}, ctx)},
        {par, par, par, red}, [&](ImplicitLocOpBuilder &b, ValueRange args) {
          Value prod = arith::MulFOp::create(b, toF32(b, args[0]),
                                             toF32(b, args[1]));
          return arith::AddFOp::create(b, args[2], prod).getResult();
        });
    Activation activation = op.getActivation();
    h = buildGeneric(
        b, {h, b1}, emptyLike(b, hiddenType, hiddenSizes),
        {AffineMap::get(3, 0, {d0, d1, d2}, ctx),
         AffineMap::get(3, 0, {d2}, ctx),
         AffineMap::get(3, 0, {d0, d1, d2}, ctx)},
        {par, par, par}, [&](ImplicitLocOpBuilder &b, ValueRange args) {
          return applyActivation(
              b, activation, arith::AddFOp::create(b, args[0],
                                                   toF32(b, args[1])));
        });

    // score[b, s] = sigmoid(sum_j h[b, s, j] * w2[j] + b2)
    RankedTensorType scoreType = op.getScore().getType();
    SmallVector<Value> scoreSizes = {batch, seqLen};
    Value z = buildGeneric(
        b, {h, w2}, filledLike(b, scoreType, scoreSizes, b.getF32FloatAttr(0.0)),
        {AffineMap::get(3, 0, {d0, d1, d2}, ctx),
         AffineMap::get(3, 0, {d2}, ctx), AffineMap::get(3, 0, {d0, d1}, ctx)},
        {par, par, red}, [&](ImplicitLocOpBuilder &b, ValueRange args) {
          Value prod = arith::MulFOp::create(b, args[0], toF32(b, args[1]));
          return arith::AddFOp::create(b, args[2], prod).getResult();
        });
    Value bias2 = toF32(b, extractAt(b, b2, {}));
    Value score = buildElementwise(
        b, z, emptyLike(b, scoreType, scoreSizes),
        [&](ImplicitLocOpBuilder &b, ValueRange args) {
          Value logit = arith::AddFOp::create(b, args[0], bias2);
          Value e = math::ExpOp::create(b, arith::NegFOp::create(b, logit));
          return arith::DivFOp::create(
                     b, f32Const(b, 1.0),
                     arith::AddFOp::create(b, f32Const(b, 1.0), e))
              .getResult();
        });

    Value mask;
    if (std::optional<APFloat> threshold = op.getThreshold()) {
      Value t = f32Const(b, threshold->convertToFloat());
      mask = buildElementwise(
          b, score, emptyLike(b, op.getMask().getType(), scoreSizes),
          [&](ImplicitLocOpBuilder &b, ValueRange args) {
            return arith::CmpFOp::create(b, arith::CmpFPredicate::OGT,
                                         args[0], t)
                .getResult();
          });
    } else {
      // k = max(1, round(capacity * S)) in double, halves away from zero
      // (math.round), and never more than S.
      double capacity = op.getCapacity()->convertToDouble();
      Value seqLenF64 = arith::UIToFPOp::create(
          b, b.getF64Type(),
          arith::IndexCastUIOp::create(b, b.getI64Type(), seqLen));
      Value product = arith::MulFOp::create(
          b, arith::ConstantOp::create(b, b.getF64FloatAttr(capacity)),
          seqLenF64);
      Value rounded = arith::FPToSIOp::create(
          b, b.getI64Type(), math::RoundOp::create(b, product));
      Value k = arith::IndexCastOp::create(b, b.getIndexType(), rounded);
      k = arith::MaxSIOp::create(b, k, indexConst(b, 1));
      k = arith::MinSIOp::create(b, k, seqLen);
      mask = buildTopKMask(b, score, k);
    }
    rewriter.replaceOp(op, {score, mask});
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Compact and scatter
//===----------------------------------------------------------------------===//

/// Copies row `[srcB, srcRow, :]` of `source` over row `[dstB, dstRow, :]` of
/// `dest` (both [B, S, D]).
static Value copyRow(ImplicitLocOpBuilder &b, Value source, Value srcB,
                     Value srcRow, Value dest, Value dstB, Value dstRow,
                     Value rowSize) {
  auto sourceType = cast<RankedTensorType>(source.getType());
  auto rowType = RankedTensorType::get({sourceType.getDimSize(2)},
                                       sourceType.getElementType());
  OpFoldResult oneAttr = b.getIndexAttr(1), zeroAttr = b.getIndexAttr(0);
  SmallVector<OpFoldResult> sizes = {oneAttr, oneAttr,
                                     getAsOpFoldResult(rowSize)};
  SmallVector<OpFoldResult> strides(3, oneAttr);
  Value row = tensor::ExtractSliceOp::create(
      b, rowType, source, SmallVector<OpFoldResult>{srcB, srcRow, zeroAttr},
      sizes, strides);
  return tensor::InsertSliceOp::create(
      b, row, dest, SmallVector<OpFoldResult>{dstB, dstRow, zeroAttr}, sizes,
      strides);
}

namespace {
struct LowerCompact : public OpRewritePattern<CompactOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CompactOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value input = op.getInput(), mask = op.getMask();
    Value zero = indexConst(b, 0), one = indexConst(b, 1);
    Value batch = dimSize(b, input, 0), seqLen = dimSize(b, input, 1);
    Value rowSize = dimSize(b, input, 2);
    checkEqual(b, op, dimSize(b, mask, 0), batch,
               "'mask' and 'input' have different batch sizes");
    checkEqual(b, op, dimSize(b, mask, 1), seqLen,
               "'mask' and 'input' have different sequence lengths");

    RankedTensorType packedType = op.getPacked().getType();
    Value packed = filledLike(b, packedType, {batch, seqLen, rowSize},
                              b.getZeroAttr(packedType.getElementType()));
    Value positions = filledLike(b, op.getPositions().getType(),
                                 {batch, seqLen}, b.getI32IntegerAttr(-1));
    Value count = emptyLike(b, op.getCount().getType(), {batch});

    SmallVector<Value> results = buildFor(
        b, zero, batch, {packed, positions, count},
        [&](ImplicitLocOpBuilder &b, Value bi, ValueRange args) {
          // state: packed, positions, number of rows packed so far
          SmallVector<Value> state = buildFor(
              b, zero, seqLen, {args[0], args[1], zero},
              [&](ImplicitLocOpBuilder &b, Value s, ValueRange state) {
                Value r = state[2];
                return buildIfUpdate(
                    b, extractAt(b, mask, {bi, s}), state,
                    [&](ImplicitLocOpBuilder &b) {
                      Value packed = copyRow(b, input, bi, s, state[0], bi, r,
                                             rowSize);
                      Value pos =
                          arith::IndexCastOp::create(b, b.getI32Type(), s);
                      Value positions = insertAt(b, pos, state[1], {bi, r});
                      return SmallVector<Value>{
                          packed, positions, arith::AddIOp::create(b, r, one)};
                    });
              });
          Value n = arith::IndexCastOp::create(b, b.getI32Type(), state[2]);
          return SmallVector<Value>{state[0], state[1],
                                    insertAt(b, n, args[2], {bi})};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct LowerScatter : public OpRewritePattern<ScatterOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ScatterOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value packed = op.getPacked(), positions = op.getPositions(),
          base = op.getBase();
    Value zero = indexConst(b, 0);
    Value batch = dimSize(b, base, 0), seqLen = dimSize(b, base, 1);
    Value rowSize = dimSize(b, base, 2), rows = dimSize(b, packed, 1);
    checkEqual(b, op, dimSize(b, packed, 0), batch,
               "'packed' and 'base' have different batch sizes");
    checkEqual(b, op, rows, seqLen,
               "'packed' and 'base' have different sequence lengths");
    checkEqual(b, op, dimSize(b, packed, 2), rowSize,
               "'packed' and 'base' have different row sizes");
    checkEqual(b, op, dimSize(b, positions, 0), batch,
               "'positions' and 'base' have different batch sizes");
    checkEqual(b, op, dimSize(b, positions, 1), rows,
               "'positions' and 'packed' have different numbers of rows");

    Value result = base;
    if (result.getType() != op.getType())
      result = tensor::CastOp::create(b, op.getType(), result);
    result = buildFor(
        b, zero, batch, result,
        [&](ImplicitLocOpBuilder &b, Value bi, ValueRange args) {
          return buildFor(
              b, zero, rows, args[0],
              [&](ImplicitLocOpBuilder &b, Value r, ValueRange args) {
                Value pos = toIndex(b, extractAt(b, positions, {bi, r}));
                Value inRange = andI1(
                    b, cmpIndex(b, arith::CmpIPredicate::sge, pos, zero),
                    cmpIndex(b, arith::CmpIPredicate::slt, pos, seqLen));
                return buildIfUpdate(
                    b, inRange, args, [&](ImplicitLocOpBuilder &b) {
                      return SmallVector<Value>{copyRow(
                          b, packed, bi, r, args[0], bi, pos, rowSize)};
                    });
              });
        })[0];
    rewriter.replaceOp(op, result);
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

namespace {
/// A [..., K] tensor viewed as [..., G, g] groups of the last dimension.
struct GroupedView {
  Value value;
  RankedTensorType type;
  SmallVector<Value> sizes;
  SmallVector<ReassociationIndices> reassociation;
};
} // namespace

/// Checks that `groupSize` (0: the whole dimension) divides the last
/// dimension of `tensor` and returns the grouped view of it, with `numGroups`
/// the static number of groups if known.
static GroupedView groupLastDim(ImplicitLocOpBuilder &b, Operation *op,
                                Value tensor, uint64_t groupSize,
                                StringRef operand) {
  auto type = cast<RankedTensorType>(tensor.getType());
  int64_t rank = type.getRank();
  Value lastSize = dimSize(b, tensor, rank - 1);
  Value groupLen = groupSize == 0
                       ? lastSize
                       : indexConst(b, static_cast<int64_t>(groupSize));
  if (groupSize != 0)
    checkAtRuntime(
        b, op,
        cmpIndex(b, arith::CmpIPredicate::eq,
                 b.createOrFold<arith::RemUIOp>(lastSize, groupLen),
                 indexConst(b, 0)),
        "'group_size' does not divide the last dimension of '" + operand +
            "'");
  Value numGroups = groupSize == 0
                        ? indexConst(b, 1)
                        : b.createOrFold<arith::DivUIOp>(lastSize, groupLen);

  SmallVector<int64_t> shape(type.getShape().drop_back());
  int64_t lastStatic = type.getShape().back();
  if (groupSize == 0) {
    shape.append({1, lastStatic});
  } else {
    shape.push_back(ShapedType::isDynamic(lastStatic)
                        ? ShapedType::kDynamic
                        : lastStatic / static_cast<int64_t>(groupSize));
    shape.push_back(static_cast<int64_t>(groupSize));
  }
  GroupedView view;
  view.type = RankedTensorType::get(shape, type.getElementType());
  for (int64_t dim = 0; dim + 1 < rank; ++dim) {
    view.sizes.push_back(dimSize(b, tensor, dim));
    view.reassociation.push_back({dim});
  }
  view.sizes.append({numGroups, groupLen});
  view.reassociation.push_back({rank - 1, rank});
  SmallVector<OpFoldResult> outputShape = getAsOpFoldResult(view.sizes);
  view.value = tensor::ExpandShapeOp::create(b, view.type, tensor,
                                             view.reassociation, outputShape);
  return view;
}

/// `values[..., g, e] * scales[..., g]` in f32, for the grouped view of the
/// quantized values.
static Value dequantizeGroups(ImplicitLocOpBuilder &b, const GroupedView &q,
                              Value groupScales) {
  int64_t rank = q.type.getRank();
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  AffineMap perGroup = identity.dropResult(rank - 1);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return buildGeneric(
      b, {q.value, groupScales},
      emptyLike(b, RankedTensorType::get(q.type.getShape(), b.getF32Type()),
                q.sizes),
      {identity, perGroup, identity}, iterators,
      [&](ImplicitLocOpBuilder &b, ValueRange args) {
        return arith::MulFOp::create(b, toF32(b, args[0]), args[1])
            .getResult();
      });
}

/// Reshapes `scales` ([..., G]) for the grouped view ([..., G, g]) after
/// checking it has one scale per group.
static Value checkScales(ImplicitLocOpBuilder &b, Operation *op,
                         const GroupedView &q, Value scales,
                         StringRef valuesName, StringRef scalesName) {
  auto scalesType = cast<RankedTensorType>(scales.getType());
  int64_t rank = scalesType.getRank();
  for (int64_t dim = 0; dim < rank; ++dim)
    checkEqual(b, op, dimSize(b, scales, dim), q.sizes[dim],
               "'" + scalesName + "' does not hold one scale per group of '" +
                   valuesName + "'");
  return scales;
}

namespace {
struct LowerQuantize : public OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    GroupedView x = groupLastDim(b, op, op.getInput(), op.getGroupSize(),
                                 "input");
    int64_t rank = x.type.getRank();
    double qmax = op.getBits() == 8 ? 127.0 : 7.0;

    // amax[..., g] = max |x| over the group; maximumf keeps a NaN.
    AffineMap identity = b.getMultiDimIdentityMap(rank);
    AffineMap perGroup = identity.dropResult(rank - 1);
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    iterators.back() = utils::IteratorType::reduction;
    RankedTensorType scalesType = op.getScales().getType();
    SmallVector<Value> scaleSizes(x.sizes.begin(), x.sizes.end() - 1);
    Value amax = buildGeneric(
        b, x.value,
        filledLike(b, scalesType, scaleSizes, b.getF32FloatAttr(0.0)),
        {identity, perGroup}, iterators,
        [&](ImplicitLocOpBuilder &b, ValueRange args) {
          Value magnitude = math::AbsFOp::create(b, toF32(b, args[0]));
          return arith::MaximumFOp::create(b, args[1], magnitude).getResult();
        });

    // scale = amax / qmax, NaN when the group holds a NaN or an infinity.
    Value scales = buildElementwise(
        b, amax, emptyLike(b, scalesType, scaleSizes),
        [&](ImplicitLocOpBuilder &b, ValueRange args) {
          Value finite = arith::CmpFOp::create(
              b, arith::CmpFPredicate::OLT, args[0],
              f32Const(b, std::numeric_limits<double>::infinity()));
          Value scale = arith::DivFOp::create(b, args[0], f32Const(b, qmax));
          return arith::SelectOp::create(
                     b, finite, scale,
                     f32Const(b, std::numeric_limits<double>::quiet_NaN()))
              .getResult();
        });

    // q = clamp(round_half_even(x / scale), -qmax, qmax); 0 where the scale
    // is 0 or NaN.
    Type intType = op.getValues().getType().getElementType();
    iterators.back() = utils::IteratorType::parallel;
    Value q = buildGeneric(
        b, {x.value, scales}, emptyLike(b, x.type.clone(intType), x.sizes),
        {identity, perGroup, identity}, iterators,
        [&](ImplicitLocOpBuilder &b, ValueRange args) {
          Value scale = args[1];
          Value ratio = arith::DivFOp::create(b, toF32(b, args[0]), scale);
          Value rounded = math::RoundEvenOp::create(b, ratio);
          Value clamped = arith::MinimumFOp::create(
              b, arith::MaximumFOp::create(b, rounded, f32Const(b, -qmax)),
              f32Const(b, qmax));
          Value usable = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT,
                                               scale, f32Const(b, 0.0));
          Value value = arith::SelectOp::create(b, usable, clamped,
                                                f32Const(b, 0.0));
          return arith::FPToSIOp::create(b, intType, value).getResult();
        });
    Value values = tensor::CollapseShapeOp::create(
        b, op.getValues().getType(), q, x.reassociation);
    rewriter.replaceOp(op, {values, scales});
    return success();
  }
};

struct LowerDequantize : public OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DequantizeOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    GroupedView q = groupLastDim(b, op, op.getValues(), op.getGroupSize(),
                                 "values");
    Value scales = checkScales(b, op, q, op.getScales(), "values", "scales");
    Value x = dequantizeGroups(b, q, scales);
    rewriter.replaceOp(op, tensor::CollapseShapeOp::create(
                               b, op.getType(), x, q.reassociation));
    return success();
  }
};

struct LowerQMatmul : public OpRewritePattern<QMatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QMatmulOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value input = op.getInput(), bias = op.getBias();
    auto inputType = op.getInput().getType();
    int64_t rank = inputType.getRank();
    Value reduceLen = dimSize(b, input, rank - 1);
    Value outLen = dimSize(b, op.getWeightValues(), 0);
    checkEqual(b, op, dimSize(b, op.getWeightValues(), 1), reduceLen,
               "'weight_values' and 'input' have different reduction "
               "dimensions");
    if (bias)
      checkEqual(b, op, dimSize(b, bias, 0), outLen,
                 "'bias' and 'weight_values' have different output sizes");

    // The weights in f32, transposed: w[k, n] = q[n, k] * scale[n, k / gs].
    GroupedView q = groupLastDim(b, op, op.getWeightValues(),
                                 op.getGroupSize(), "weight_values");
    Value scales = checkScales(b, op, q, op.getWeightScales(),
                               "weight_values", "weight_scales");
    RankedTensorType weightType = op.getWeightValues().getType();
    Value weights = tensor::CollapseShapeOp::create(
        b, weightType.clone(b.getF32Type()), dequantizeGroups(b, q, scales),
        q.reassociation);
    auto transposedType = RankedTensorType::get(
        {weightType.getDimSize(1), weightType.getDimSize(0)}, b.getF32Type());
    weights = linalg::TransposeOp::create(
                  b, weights, emptyLike(b, transposedType, {reduceLen, outLen}),
                  ArrayRef<int64_t>{1, 0})
                  .getResult()[0];

    // acc[..., n] = sum_k x[..., k] * w[k, n], in ascending k. The loops run
    // (..., k, n): n innermost keeps each sum in k order and lets the
    // compiler vectorize across n.
    MLIRContext *ctx = b.getContext();
    SmallVector<AffineExpr> lead;
    for (int64_t dim = 0; dim + 1 < rank; ++dim)
      lead.push_back(getAffineDimExpr(dim, ctx));
    AffineExpr k = getAffineDimExpr(rank - 1, ctx);
    AffineExpr n = getAffineDimExpr(rank, ctx);
    auto withLead = [&](ArrayRef<AffineExpr> tail) {
      SmallVector<AffineExpr> exprs(lead);
      exprs.append(tail.begin(), tail.end());
      return AffineMap::get(rank + 1, 0, exprs, ctx);
    };
    SmallVector<utils::IteratorType> iterators(rank - 1,
                                               utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);
    iterators.push_back(utils::IteratorType::parallel);
    SmallVector<Value> resultSizes;
    for (int64_t dim = 0; dim + 1 < rank; ++dim)
      resultSizes.push_back(dimSize(b, input, dim));
    resultSizes.push_back(outLen);
    RankedTensorType resultType = op.getType();
    Value acc = buildGeneric(
        b, {input, weights},
        filledLike(b, resultType.clone(b.getF32Type()), resultSizes,
                   b.getF32FloatAttr(0.0)),
        {withLead({k}), AffineMap::get(rank + 1, 0, {k, n}, ctx),
         withLead({n})},
        iterators, [&](ImplicitLocOpBuilder &b, ValueRange args) {
          Value prod = arith::MulFOp::create(b, toF32(b, args[0]), args[1]);
          return arith::AddFOp::create(b, args[2], prod).getResult();
        });

    // y = acc + bias, rounded once to the input's element type.
    Type elementType = resultType.getElementType();
    AffineMap identity = b.getMultiDimIdentityMap(rank);
    SmallVector<Value> inputs = {acc};
    SmallVector<AffineMap> maps = {identity};
    if (bias) {
      inputs.push_back(bias);
      maps.push_back(AffineMap::get(rank, 0, {getAffineDimExpr(rank - 1, ctx)},
                                    ctx));
    }
    maps.push_back(identity);
    Value result = buildGeneric(
        b, inputs, emptyLike(b, resultType, resultSizes), maps,
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](ImplicitLocOpBuilder &b, ValueRange args) {
          Value sum = args[0];
          if (bias)
            sum = arith::AddFOp::create(b, sum, toF32(b, args[1]));
          return fromF32(b, sum, elementType);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

void mlir::sieve::populateLowerToReferencePatterns(
    RewritePatternSet &patterns) {
  patterns.add<LowerAttention, LowerHybridAttention, LowerSelectGlobal,
               LowerGate, LowerCompact, LowerScatter, LowerQuantize,
               LowerDequantize, LowerQMatmul>(patterns.getContext());
}

namespace {
struct DecomposeAggregatedOp
    : public OpInterfaceRewritePattern<linalg::AggregatedOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(linalg::AggregatedOpInterface op,
                                PatternRewriter &rewriter) const override {
    FailureOr<SmallVector<Value>> results = op.decomposeOperation(rewriter);
    if (failed(results))
      return failure();
    rewriter.replaceOp(op, *results);
    return success();
  }
};
} // namespace

void mlir::sieve::populateDecomposeAggregatedOpsPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeAggregatedOp>(patterns.getContext());
}

namespace {
struct SieveLowerToReferencePass
    : public sieve::impl::SieveLowerToReferenceBase<SieveLowerToReferencePass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    ConversionTarget target(*context);
    target.addIllegalDialect<SieveDialect>();
    // linalg.softmax has no lowering to loops.
    target.markUnknownOpDynamicallyLegal([](Operation *op) {
      return !isa<linalg::AggregatedOpInterface>(op);
    });
    RewritePatternSet patterns(context);
    populateLowerToReferencePatterns(patterns);
    populateDecomposeAggregatedOpsPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
