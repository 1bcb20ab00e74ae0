//===- SieveOps.cpp - sieve dialect ops -----------------------------------===//
//
// Result-type inference, verifiers, folders and canonicalization patterns of
// the sieve ops. Inference is lenient (a static size wins over a dynamic one
// and mismatches are left to the verifier), so that the verifier can report a
// mismatch by the names of the operands involved.
//
//===----------------------------------------------------------------------===//

#include "dialects/sieve/SieveOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::sieve;

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

/// The size of one dimension known from several operands: the first static
/// one, or dynamic if none is static.
static int64_t joinSizes(ArrayRef<int64_t> sizes) {
  for (int64_t size : sizes)
    if (!ShapedType::isDynamic(size))
      return size;
  return ShapedType::kDynamic;
}

namespace {
/// One dimension of one named operand, for verifier messages.
struct Dim {
  StringRef operand;
  Value value;
  unsigned index;

  int64_t size() const {
    return cast<RankedTensorType>(value.getType()).getDimSize(index);
  }
};
} // namespace

/// Checks that two operand dimensions that the contract ties together agree
/// where both are static, e.g. "expected batch size of 'key' (dimension 0) to
/// match 'query' (dimension 0): expected 1, found 2".
static LogicalResult verifySameSize(Operation *op, StringRef what, Dim found,
                                    Dim expected) {
  int64_t foundSize = found.size(), expectedSize = expected.size();
  if (ShapedType::isDynamic(foundSize) ||
      ShapedType::isDynamic(expectedSize) || foundSize == expectedSize)
    return success();
  return op->emitOpError()
         << "expected " << what << " of '" << found.operand << "' (dimension "
         << found.index << ") to match '" << expected.operand
         << "' (dimension " << expected.index << "): expected " << expectedSize
         << ", found " << foundSize;
}

static RankedTensorType getRankedType(Value value) {
  return value ? dyn_cast<RankedTensorType>(value.getType()) : nullptr;
}

static LogicalResult verifyFinite(Operation *op, StringRef name,
                                  std::optional<APFloat> value) {
  if (!value || value->isFinite())
    return success();
  SmallString<16> text;
  value->toString(text);
  return op->emitOpError() << "expected '" << name
                           << "' to be finite, found " << text;
}

/// Verifies the operands that `sieve.attention` and `sieve.hybrid_attention`
/// share.
static LogicalResult verifyAttentionOperands(Operation *op, Value query,
                                             Value key, Value value,
                                             std::optional<APFloat> scale,
                                             std::optional<Type> qkPrecision) {
  Dim qB{"query", query, 0}, kB{"key", key, 0}, vB{"value", value, 0};
  if (failed(verifySameSize(op, "batch size", kB, qB)) ||
      failed(verifySameSize(op, "batch size", vB, qB)) ||
      failed(verifySameSize(op, "batch size", vB, kB)) ||
      failed(verifySameSize(op, "number of heads", Dim{"value", value, 1},
                            Dim{"key", key, 1})) ||
      failed(verifySameSize(op, "head dimension", Dim{"key", key, 3},
                            Dim{"query", query, 3})) ||
      failed(verifySameSize(op, "key sequence length", Dim{"value", value, 2},
                            Dim{"key", key, 2})))
    return failure();

  int64_t queryHeads = Dim{"query", query, 1}.size();
  int64_t kvHeads = joinSizes({Dim{"key", key, 1}.size(),
                               Dim{"value", value, 1}.size()});
  if (!ShapedType::isDynamic(queryHeads) && !ShapedType::isDynamic(kvHeads)) {
    if (kvHeads == 0 ? queryHeads != 0 : queryHeads % kvHeads != 0)
      return op->emitOpError()
             << "expected the number of query heads (" << queryHeads
             << ") to be a multiple of the number of key/value heads ("
             << kvHeads << ")";
  }
  Type element = getElementTypeOrSelf(query.getType());
  if (qkPrecision && *qkPrecision != element &&
      !isa<IntegerType, Float8E4M3FNType>(*qkPrecision))
    return op->emitOpError()
           << "expected 'qk_precision' to be i8, f8E4M3FN or the operands' "
              "element type "
           << element << ", found " << *qkPrecision;
  return verifyFinite(op, "scale", scale);
}

/// [B, Hq, Sq, Dv] with the element type of `query`.
static LogicalResult
inferAttentionResult(Value query, Value key, Value value, Value globals,
                     SmallVectorImpl<Type> &inferredReturnTypes) {
  auto q = getRankedType(query), k = getRankedType(key),
       v = getRankedType(value);
  if (!q || !k || !v || q.getRank() != 4 || k.getRank() != 4 ||
      v.getRank() != 4)
    return failure();
  SmallVector<int64_t, 4> batchSizes = {q.getDimSize(0), k.getDimSize(0),
                                        v.getDimSize(0)};
  if (auto g = getRankedType(globals); g && g.getRank() == 2)
    batchSizes.push_back(g.getDimSize(0));
  inferredReturnTypes.push_back(RankedTensorType::get(
      {joinSizes(batchSizes), q.getDimSize(1), q.getDimSize(2),
       v.getDimSize(3)},
      q.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult
AttentionOp::inferReturnTypes(MLIRContext *context,
                              std::optional<Location> location,
                              Adaptor adaptor,
                              SmallVectorImpl<Type> &inferredReturnTypes) {
  return inferAttentionResult(adaptor.getQuery(), adaptor.getKey(),
                              adaptor.getValue(), /*globals=*/nullptr,
                              inferredReturnTypes);
}

LogicalResult AttentionOp::verify() {
  return verifyAttentionOperands(*this, getQuery(), getKey(), getValue(),
                                 getScale(), getQkPrecision());
}

//===----------------------------------------------------------------------===//
// HybridAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult HybridAttentionOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> location, Adaptor adaptor,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  return inferAttentionResult(adaptor.getQuery(), adaptor.getKey(),
                              adaptor.getValue(), adaptor.getGlobals(),
                              inferredReturnTypes);
}

LogicalResult HybridAttentionOp::verify() {
  if (failed(verifyAttentionOperands(*this, getQuery(), getKey(), getValue(),
                                     getScale(), getQkPrecision())))
    return failure();
  Dim gB{"globals", getGlobals(), 0};
  if (failed(verifySameSize(*this, "batch size", gB,
                            Dim{"query", getQuery(), 0})) ||
      failed(verifySameSize(*this, "batch size", gB, Dim{"key", getKey(), 0})))
    return failure();
  if (getCausal() && getWindowRight() != 0)
    return emitOpError() << "'causal' requires 'window_right' = 0, found "
                         << getWindowRight();
  return success();
}

namespace {
/// A hybrid attention whose window alone already shows every row all the keys
/// it may see is dense attention: the globals add nothing. Row `i` sits at
/// key position `p = i + Sk - Sq`, so the window covers [0, Sk) for every row
/// when `window_left >= Sk - 1` and `window_right >= Sq - 1`; with `causal`
/// only [0, p] must be covered, which needs `window_left >= Sk - 1` alone.
struct HybridAttentionWithFullWindow
    : public OpRewritePattern<HybridAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(HybridAttentionOp op,
                                PatternRewriter &rewriter) const override {
    int64_t queryLen = op.getQuery().getType().getDimSize(2);
    int64_t keyLen = op.getKey().getType().getDimSize(2);
    if (ShapedType::isDynamic(queryLen) || ShapedType::isDynamic(keyLen))
      return rewriter.notifyMatchFailure(op, "sequence lengths are dynamic");
    auto windowLeft = static_cast<int64_t>(op.getWindowLeft());
    auto windowRight = static_cast<int64_t>(op.getWindowRight());
    if (windowLeft < keyLen - 1 ||
        (!op.getCausal() && windowRight < queryLen - 1))
      return rewriter.notifyMatchFailure(op, "window does not cover all keys");

    auto dense = AttentionOp::create(
        rewriter, op.getLoc(), op.getQuery(), op.getKey(), op.getValue(),
        op.getScaleAttr(), op.getCausalAttr(), op.getQkPrecisionAttr());
    // A static batch size known only from `globals` is lost; keep the type.
    if (dense.getType() != op.getType()) {
      rewriter.eraseOp(dense);
      return rewriter.notifyMatchFailure(op, "result type would change");
    }
    rewriter.replaceOp(op, dense.getResult());
    return success();
  }
};
} // namespace

void HybridAttentionOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                    MLIRContext *context) {
  results.add<HybridAttentionWithFullWindow>(context);
}

//===----------------------------------------------------------------------===//
// SelectGlobalOp
//===----------------------------------------------------------------------===//

LogicalResult SelectGlobalOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> location, Adaptor adaptor,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  auto scores = getRankedType(adaptor.getScores());
  if (!scores || scores.getRank() != 2)
    return failure();
  inferredReturnTypes.push_back(RankedTensorType::get(
      {scores.getDimSize(0), static_cast<int64_t>(adaptor.getCount())},
      IntegerType::get(context, 32)));
  return success();
}

LogicalResult SelectGlobalOp::verify() {
  int64_t seqLen = getScores().getType().getDimSize(1);
  auto count = static_cast<int64_t>(getCount());
  if (!ShapedType::isDynamic(seqLen) && count > seqLen)
    return emitOpError() << "expected 'count' to be at most the sequence "
                            "length of 'scores' (dimension 1): expected <= "
                         << seqLen << ", found " << count;
  return success();
}

//===----------------------------------------------------------------------===//
// GateOp
//===----------------------------------------------------------------------===//

/// Parses the bare keyword of an activation, as in `activation(silu)`.
static ParseResult parseActivation(OpAsmParser &parser,
                                   ActivationAttr &activation) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<Activation> kind = symbolizeActivation(keyword);
  if (!kind)
    return parser.emitError(loc)
           << "expected activation 'relu', 'silu' or 'gelu', found '"
           << keyword << "'";
  activation = ActivationAttr::get(parser.getContext(), *kind);
  return success();
}

static void printActivation(OpAsmPrinter &printer, Operation *,
                            ActivationAttr activation) {
  printer << stringifyActivation(activation.getValue());
}

LogicalResult
GateOp::inferReturnTypes(MLIRContext *context,
                         std::optional<Location> location, Adaptor adaptor,
                         SmallVectorImpl<Type> &inferredReturnTypes) {
  auto input = getRankedType(adaptor.getInput());
  if (!input || input.getRank() != 3)
    return failure();
  SmallVector<int64_t, 2> shape = {input.getDimSize(0), input.getDimSize(1)};
  inferredReturnTypes.push_back(
      RankedTensorType::get(shape, Float32Type::get(context)));
  inferredReturnTypes.push_back(
      RankedTensorType::get(shape, IntegerType::get(context, 1)));
  return success();
}

LogicalResult GateOp::verify() {
  Dim hidden{"w1", getW1(), 0};
  if (failed(verifySameSize(*this, "model dimension", Dim{"w1", getW1(), 1},
                            Dim{"input", getInput(), 2})) ||
      failed(verifySameSize(*this, "hidden dimension", Dim{"b1", getB1(), 0},
                            hidden)) ||
      failed(verifySameSize(*this, "hidden dimension", Dim{"w2", getW2(), 0},
                            hidden)) ||
      failed(verifySameSize(*this, "hidden dimension", Dim{"w2", getW2(), 0},
                            Dim{"b1", getB1(), 0})))
    return failure();

  Type biasType = getB2().getType().getElementType();
  Type inputType = getInput().getType().getElementType();
  if (!biasType.isF32() && biasType != inputType)
    return emitOpError() << "expected 'b2' element type to be f32 or the "
                            "element type of 'input' ("
                         << inputType << "), found " << biasType;

  std::optional<APFloat> threshold = getThreshold(), capacity = getCapacity();
  if (threshold.has_value() == capacity.has_value())
    return emitOpError() << "expected exactly one of 'threshold' and "
                            "'capacity', found "
                         << (threshold ? "both" : "neither");
  if (threshold) {
    float value = threshold->convertToFloat();
    if (!(value >= 0.0f && value <= 1.0f))
      return emitOpError() << "expected 'threshold' in [0, 1], found "
                           << value;
  } else {
    float value = capacity->convertToFloat();
    if (!(value > 0.0f && value <= 1.0f))
      return emitOpError() << "expected 'capacity' in (0, 1], found " << value;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// CompactOp
//===----------------------------------------------------------------------===//

LogicalResult
CompactOp::inferReturnTypes(MLIRContext *context,
                            std::optional<Location> location, Adaptor adaptor,
                            SmallVectorImpl<Type> &inferredReturnTypes) {
  auto input = getRankedType(adaptor.getInput());
  auto mask = getRankedType(adaptor.getMask());
  if (!input || !mask || input.getRank() != 3 || mask.getRank() != 2)
    return failure();
  int64_t batch = joinSizes({input.getDimSize(0), mask.getDimSize(0)});
  int64_t seqLen = joinSizes({input.getDimSize(1), mask.getDimSize(1)});
  auto i32 = IntegerType::get(context, 32);
  inferredReturnTypes.push_back(input);
  inferredReturnTypes.push_back(RankedTensorType::get({batch, seqLen}, i32));
  inferredReturnTypes.push_back(RankedTensorType::get({batch}, i32));
  return success();
}

LogicalResult CompactOp::verify() {
  if (failed(verifySameSize(*this, "batch size", Dim{"mask", getMask(), 0},
                            Dim{"input", getInput(), 0})) ||
      failed(verifySameSize(*this, "sequence length", Dim{"mask", getMask(), 1},
                            Dim{"input", getInput(), 1})))
    return failure();
  return success();
}

/// With a mask known to be all false, nothing is packed.
LogicalResult CompactOp::fold(FoldAdaptor adaptor,
                              SmallVectorImpl<OpFoldResult> &results) {
  auto mask = dyn_cast_if_present<SplatElementsAttr>(adaptor.getMask());
  if (!mask || mask.getSplatValue<bool>())
    return failure();
  auto packedType = getPacked().getType();
  auto positionsType = getPositions().getType();
  auto countType = getCount().getType();
  if (!packedType.hasStaticShape() || !positionsType.hasStaticShape() ||
      !countType.hasStaticShape())
    return failure();
  Type elementType = packedType.getElementType();
  Builder builder(getContext());
  results.push_back(DenseElementsAttr::get(packedType,
                                           builder.getZeroAttr(elementType)));
  results.push_back(
      DenseElementsAttr::get(positionsType, builder.getI32IntegerAttr(-1)));
  results.push_back(
      DenseElementsAttr::get(countType, builder.getI32IntegerAttr(0)));
  return success();
}

namespace {
/// With a mask known to be all true, `packed` is the input itself and every
/// `count` is the sequence length. `positions` (an iota) stays with the op.
struct CompactWithAllTrueMask : public OpRewritePattern<CompactOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CompactOp op,
                                PatternRewriter &rewriter) const override {
    SplatElementsAttr mask;
    if (!matchPattern(op.getMask(), m_Constant(&mask)) ||
        !mask.getSplatValue<bool>())
      return rewriter.notifyMatchFailure(op, "mask is not all true");

    bool changed = false;
    if (!op.getPacked().use_empty()) {
      rewriter.replaceAllUsesWith(op.getPacked(), op.getInput());
      changed = true;
    }
    RankedTensorType countType = op.getCount().getType();
    int64_t seqLen = op.getPositions().getType().getDimSize(1);
    if (!op.getCount().use_empty() && countType.hasStaticShape() &&
        !ShapedType::isDynamic(seqLen)) {
      auto count = arith::ConstantOp::create(
          rewriter, op.getLoc(),
          DenseElementsAttr::get(countType, rewriter.getI32IntegerAttr(
                                                static_cast<int32_t>(seqLen))));
      rewriter.replaceAllUsesWith(op.getCount(), count);
      changed = true;
    }
    return success(changed);
  }
};
} // namespace

void CompactOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<CompactWithAllTrueMask>(context);
}

//===----------------------------------------------------------------------===//
// ScatterOp
//===----------------------------------------------------------------------===//

LogicalResult
ScatterOp::inferReturnTypes(MLIRContext *context,
                            std::optional<Location> location, Adaptor adaptor,
                            SmallVectorImpl<Type> &inferredReturnTypes) {
  auto packed = getRankedType(adaptor.getPacked());
  auto base = getRankedType(adaptor.getBase());
  if (!packed || !base || packed.getRank() != 3 || base.getRank() != 3)
    return failure();
  SmallVector<int64_t, 3> shape;
  for (unsigned dim = 0; dim < 3; ++dim)
    shape.push_back(joinSizes({base.getDimSize(dim), packed.getDimSize(dim)}));
  inferredReturnTypes.push_back(
      RankedTensorType::get(shape, base.getElementType()));
  return success();
}

LogicalResult ScatterOp::verify() {
  Value packed = getPacked(), positions = getPositions(), base = getBase();
  if (failed(verifySameSize(*this, "batch size", Dim{"positions", positions, 0},
                            Dim{"packed", packed, 0})) ||
      failed(verifySameSize(*this, "number of rows",
                            Dim{"positions", positions, 1},
                            Dim{"packed", packed, 1})) ||
      failed(verifySameSize(*this, "batch size", Dim{"base", base, 0},
                            Dim{"packed", packed, 0})) ||
      failed(verifySameSize(*this, "sequence length", Dim{"base", base, 1},
                            Dim{"packed", packed, 1})) ||
      failed(verifySameSize(*this, "row size", Dim{"base", base, 2},
                            Dim{"packed", packed, 2})))
    return failure();
  return success();
}

OpFoldResult ScatterOp::fold(FoldAdaptor adaptor) {
  if (getBase().getType() != getType())
    return {};

  // Scattering the rows of a compact back over its own input changes nothing.
  if (auto compact = getPacked().getDefiningOp<CompactOp>();
      compact && compact.getPacked() == getPacked() &&
      compact.getPositions() == getPositions() &&
      compact.getInput() == getBase())
    return getBase();

  // No position in range: nothing is written.
  int64_t seqLen = getType().getDimSize(1);
  auto positions = dyn_cast_if_present<DenseIntElementsAttr>(
      adaptor.getPositions());
  if (!positions || ShapedType::isDynamic(seqLen))
    return {};
  if (llvm::all_of(positions.getValues<APInt>(), [&](const APInt &position) {
        return position.isNegative() || position.sge(seqLen);
      }))
    return getBase();
  return {};
}

//===----------------------------------------------------------------------===//
// Quantization ops
//===----------------------------------------------------------------------===//

/// The number of groups along a last dimension of `size` elements, as a
/// static size where it is known.
static int64_t getNumGroups(int64_t size, uint64_t groupSize) {
  if (groupSize == 0)
    return 1;
  if (ShapedType::isDynamic(size))
    return ShapedType::kDynamic;
  return size / static_cast<int64_t>(groupSize);
}

static LogicalResult verifyGroupSizeDivides(Operation *op, StringRef operand,
                                            RankedTensorType type,
                                            uint64_t groupSize) {
  int64_t size = type.getShape().back();
  if (groupSize == 0 || ShapedType::isDynamic(size) ||
      size % static_cast<int64_t>(groupSize) == 0)
    return success();
  return op->emitOpError() << "expected 'group_size' (" << groupSize
                           << ") to divide the last dimension of '" << operand
                           << "' (" << size << ")";
}

/// Checks that `scales` holds one scale per group of `values`: the same
/// leading dimensions and `K / group_size` (or 1) in the last one.
static LogicalResult verifyScalesShape(Operation *op, StringRef valuesName,
                                       Value values, StringRef scalesName,
                                       Value scales, uint64_t groupSize) {
  auto valuesType = cast<RankedTensorType>(values.getType());
  auto scalesType = cast<RankedTensorType>(scales.getType());
  if (valuesType.getRank() != scalesType.getRank())
    return op->emitOpError()
           << "expected '" << scalesName << "' to have the rank of '"
           << valuesName << "': expected " << valuesType.getRank()
           << ", found " << scalesType.getRank();
  unsigned last = valuesType.getRank() - 1;
  for (unsigned dim = 0; dim < last; ++dim)
    if (failed(verifySameSize(op, "size", Dim{scalesName, scales, dim},
                              Dim{valuesName, values, dim})))
      return failure();
  int64_t expected = getNumGroups(valuesType.getDimSize(last), groupSize);
  int64_t found = scalesType.getDimSize(last);
  if (!ShapedType::isDynamic(expected) && !ShapedType::isDynamic(found) &&
      expected != found)
    return op->emitOpError()
           << "expected the last dimension of '" << scalesName
           << "' to be the number of groups of '" << valuesName
           << "' (group_size " << groupSize << "): expected " << expected
           << ", found " << found;
  return success();
}

LogicalResult
QuantizeOp::inferReturnTypes(MLIRContext *context,
                             std::optional<Location> location, Adaptor adaptor,
                             SmallVectorImpl<Type> &inferredReturnTypes) {
  auto input = getRankedType(adaptor.getInput());
  if (!input || input.getRank() < 1)
    return failure();
  unsigned width = adaptor.getBits() == 4 ? 4 : 8;
  inferredReturnTypes.push_back(
      input.clone(IntegerType::get(context, width)));
  SmallVector<int64_t> scalesShape(input.getShape());
  scalesShape.back() = getNumGroups(scalesShape.back(), adaptor.getGroupSize());
  inferredReturnTypes.push_back(
      RankedTensorType::get(scalesShape, Float32Type::get(context)));
  return success();
}

LogicalResult QuantizeOp::verify() {
  return verifyGroupSizeDivides(*this, "input", getInput().getType(),
                                getGroupSize());
}

LogicalResult DequantizeOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> location, Adaptor adaptor,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  auto values = getRankedType(adaptor.getValues());
  if (!values)
    return failure();
  inferredReturnTypes.push_back(values.clone(Float32Type::get(context)));
  return success();
}

LogicalResult DequantizeOp::verify() {
  if (failed(verifyGroupSizeDivides(*this, "values", getValues().getType(),
                                    getGroupSize())))
    return failure();
  return verifyScalesShape(*this, "values", getValues(), "scales",
                           getScales(), getGroupSize());
}

LogicalResult
QMatmulOp::inferReturnTypes(MLIRContext *context,
                            std::optional<Location> location, Adaptor adaptor,
                            SmallVectorImpl<Type> &inferredReturnTypes) {
  auto input = getRankedType(adaptor.getInput());
  auto weights = getRankedType(adaptor.getWeightValues());
  auto scales = getRankedType(adaptor.getWeightScales());
  if (!input || !weights || !scales || input.getRank() < 1 ||
      weights.getRank() != 2 || scales.getRank() != 2)
    return failure();
  SmallVector<int64_t, 3> outSizes = {weights.getDimSize(0),
                                      scales.getDimSize(0)};
  if (auto bias = getRankedType(adaptor.getBias()); bias && bias.getRank() == 1)
    outSizes.push_back(bias.getDimSize(0));
  SmallVector<int64_t> shape(input.getShape());
  shape.back() = joinSizes(outSizes);
  inferredReturnTypes.push_back(
      RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult QMatmulOp::verify() {
  Value input = getInput(), weights = getWeightValues(),
        scales = getWeightScales();
  unsigned inputLast = getInput().getType().getRank() - 1;
  if (failed(verifySameSize(*this, "reduction dimension",
                            Dim{"weight_values", weights, 1},
                            Dim{"input", input, inputLast})) ||
      failed(verifyGroupSizeDivides(*this, "weight_values",
                                    getWeightValues().getType(),
                                    getGroupSize())) ||
      failed(verifyScalesShape(*this, "weight_values", weights,
                               "weight_scales", scales, getGroupSize())))
    return failure();

  if (Value bias = getBias()) {
    if (failed(verifySameSize(*this, "output dimension", Dim{"bias", bias, 0},
                              Dim{"weight_values", weights, 0})))
      return failure();
    Type biasType = getBias().getType().getElementType();
    Type inputType = getInput().getType().getElementType();
    if (biasType != inputType)
      return emitOpError() << "expected 'bias' element type to match 'input': "
                              "expected "
                           << inputType << ", found " << biasType;
  }
  return success();
}

#define GET_OP_CLASSES
#include "dialects/sieve/SieveOps.cpp.inc"
