//===- Quantize.cpp - Contractions against constant weights to qmatmul ----===//
//
// sieve-quantize: a linalg contraction `y = init + x . w` whose weights are a
// compile-time constant becomes sieve.qmatmul with the weights quantized at
// compile time exactly as sieve.quantize specifies; weights that went
// through a quantize-dequantize pair keep the graph's own quantization.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialects/sieve/SieveOps.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace mlir {
namespace sieve {
#define GEN_PASS_DEF_SIEVEQUANTIZE
#include "passes/Passes.h.inc"
} // namespace sieve
} // namespace mlir

using namespace mlir;
using namespace mlir::sieve;

//===----------------------------------------------------------------------===//
// Weights on the host
//===----------------------------------------------------------------------===//

namespace {
/// A 2-D matrix of f32 values, row-major.
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;

  float at(int64_t r, int64_t c) const { return data[r * cols + c]; }
  Matrix transposed() const {
    Matrix t{cols, rows, std::vector<float>(data.size())};
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        t.data[c * rows + r] = at(r, c);
    return t;
  }
};

/// Integer weights [N, K] with per-group f32 scales [N, K / groupSize].
struct QuantizedWeights {
  int64_t n = 0, k = 0, bits = 8, groupSize = 0;
  std::vector<int8_t> values;
  std::vector<float> scales;

  int64_t numGroups() const { return groupSize == 0 ? 1 : k / groupSize; }
  float scaleAt(int64_t r, int64_t c) const {
    return scales[r * numGroups() + (groupSize == 0 ? 0 : c / groupSize)];
  }
};
} // namespace

/// The f32 values of a float constant (f32, f16 or bf16; `dense` or a
/// `dense_resource` whose blob is present), row-major.
static std::optional<std::vector<float>> getFloatValues(ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  auto floatType = dyn_cast<FloatType>(type.getElementType());
  if (!floatType || !type.hasStaticShape() ||
      !(floatType.isF32() || floatType.isF16() || floatType.isBF16()))
    return std::nullopt;
  int64_t count = type.getNumElements();
  std::vector<float> values;
  values.reserve(count);
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    for (APFloat value : dense.getValues<APFloat>())
      values.push_back(value.convertToFloat()); // exact from f16/bf16
    return values;
  }
  auto resource = dyn_cast<DenseResourceElementsAttr>(attr);
  if (!resource)
    return std::nullopt;
  AsmResourceBlob *blob = resource.getRawHandle().getBlob();
  if (!blob)
    return std::nullopt;
  ArrayRef<char> bytes = blob->getData();
  unsigned width = floatType.getWidth() / 8;
  if (static_cast<int64_t>(bytes.size()) != count * width)
    return std::nullopt;
  for (int64_t i = 0; i < count; ++i) {
    uint64_t bits = 0;
    std::memcpy(&bits, bytes.data() + i * width, width); // little endian
    APFloat value(floatType.getFloatSemantics(),
                  APInt(floatType.getWidth(), bits));
    values.push_back(value.convertToFloat());
  }
  return values;
}

/// Quantizes each row of `w` ([N, K]) per sieve.quantize: f32 scale =
/// max|x| / qmax per group, q = clamp(round_half_even(x / scale)); a group
/// whose scale is 0 has q 0, one holding a NaN or an infinity scale NaN and
/// q 0.
static QuantizedWeights quantizeRows(const Matrix &w, int64_t bits,
                                     int64_t groupSize) {
  QuantizedWeights q;
  q.n = w.rows;
  q.k = w.cols;
  q.bits = bits;
  q.groupSize = groupSize;
  const float qmax = bits == 8 ? 127.0f : 7.0f;
  int64_t groupLen = groupSize == 0 ? w.cols : groupSize;
  q.values.assign(w.rows * w.cols, 0);
  for (int64_t r = 0; r < w.rows; ++r) {
    for (int64_t g0 = 0; g0 < w.cols; g0 += groupLen) {
      float amax = 0.0f;
      bool finite = true;
      for (int64_t c = g0; c < g0 + groupLen; ++c) {
        float x = w.at(r, c);
        finite &= std::isfinite(x);
        amax = std::max(amax, std::fabs(x));
      }
      float scale = finite ? amax / qmax
                           : std::numeric_limits<float>::quiet_NaN();
      q.scales.push_back(scale);
      if (!(scale > 0.0f))
        continue;
      for (int64_t c = g0; c < g0 + groupLen; ++c) {
        float ratio = w.at(r, c) / scale;
        // nearbyint rounds half to even in the default rounding mode.
        float rounded = std::nearbyint(ratio);
        q.values[r * w.cols + c] = static_cast<int8_t>(
            std::min(std::max(rounded, -qmax), qmax));
      }
    }
  }
  return q;
}

/// Fills in the error of `q` against the float weights `w` ([N, K]).
static void measureError(const QuantizedWeights &q, const Matrix &w,
                         QuantizeReport &report) {
  double sum = 0, maxErr = 0, maxWeight = 0;
  for (int64_t r = 0; r < q.n; ++r)
    for (int64_t c = 0; c < q.k; ++c) {
      // The dequantized value as every executor computes it: in f32.
      float dq = static_cast<float>(q.values[r * q.k + c]) * q.scaleAt(r, c);
      double err = std::fabs(static_cast<double>(dq) - w.at(r, c));
      sum += err;
      maxErr = std::max(maxErr, err);
      maxWeight = std::max(maxWeight, std::fabs(double(w.at(r, c))));
    }
  report.maxAbsError = maxErr;
  int64_t count = q.n * q.k;
  report.meanAbsError = count > 0 ? sum / double(count) : 0.0;
  report.maxAbsWeight = maxWeight;
}

static Value buildWeightConstants(OpBuilder &b, Location loc,
                                  const QuantizedWeights &q, Value &scales) {
  auto intType = b.getIntegerType(q.bits);
  SmallVector<APInt> values;
  values.reserve(q.values.size());
  for (int8_t v : q.values)
    values.push_back(APInt(q.bits, static_cast<uint64_t>(int64_t(v)),
                           /*isSigned=*/true, /*implicitTrunc=*/true));
  auto valuesType = RankedTensorType::get({q.n, q.k}, intType);
  auto scalesType =
      RankedTensorType::get({q.n, q.numGroups()}, b.getF32Type());
  scales = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(scalesType, ArrayRef<float>(q.scales)));
  return arith::ConstantOp::create(b, loc,
                                   DenseElementsAttr::get(valuesType, values));
}

//===----------------------------------------------------------------------===//
// Matching the contraction
//===----------------------------------------------------------------------===//

namespace {
/// A contraction `y[L..., n] = init[L..., n] + sum_k x[L..., k] * w(n, k)`.
struct Contraction {
  linalg::LinalgOp op;
  Value input;                 ///< x
  OpOperand *weight = nullptr; ///< w
  Value init;
  /// The weight map is (k, n) ([K, N] weights) rather than (n, k).
  bool weightKN = false;
  /// Leading weight dimensions that are batch loops (sliced at 0).
  int64_t numBatchDims = 0;
  int64_t n = 0, k = 0;
};
} // namespace

static Value stripExtF(Value value) {
  if (auto ext = value.getDefiningOp<arith::ExtFOp>())
    return ext.getIn();
  return value;
}

/// Whether the body is `yield out + ext?(in0) * ext?(in1)` and nothing else.
static bool isMulAddBody(linalg::LinalgOp op) {
  Block &body = op->getRegion(0).front();
  if (body.getNumArguments() != 3 || body.getOperations().size() > 5)
    return false;
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!yield || yield.getNumOperands() != 1)
    return false;
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value out = body.getArgument(2), lhs = add.getLhs(), rhs = add.getRhs();
  if (rhs == out)
    std::swap(lhs, rhs);
  auto mul = rhs.getDefiningOp<arith::MulFOp>();
  if (lhs != out || !mul)
    return false;
  Value a = stripExtF(mul.getLhs()), b = stripExtF(mul.getRhs());
  Value in0 = body.getArgument(0), in1 = body.getArgument(1);
  return (a == in0 && b == in1) || (a == in1 && b == in0);
}

/// Matches `op` as a contraction with its weight on input `weightIndex`.
static FailureOr<Contraction> matchContraction(linalg::LinalgOp op,
                                               unsigned weightIndex,
                                               std::string &why) {
  Contraction c;
  c.op = op;
  c.weight = op.getDpsInputOperand(weightIndex);
  OpOperand *input = op.getDpsInputOperand(1 - weightIndex);
  c.input = input->get();
  c.init = op.getDpsInitOperand(0)->get();
  auto inputType = dyn_cast<RankedTensorType>(c.input.getType());
  auto weightType = dyn_cast<RankedTensorType>(c.weight->get().getType());
  auto resultType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!inputType || !weightType || !resultType) {
    why = "its operands are not ranked tensors";
    return failure();
  }

  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (llvm::count(iterators, utils::IteratorType::reduction) != 1) {
    why = "it does not reduce over exactly one dimension";
    return failure();
  }
  unsigned k = llvm::find(iterators, utils::IteratorType::reduction) -
               iterators.begin();
  AffineMap inputMap = op.getMatchingIndexingMap(input);
  AffineMap weightMap = op.getMatchingIndexingMap(c.weight);
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  auto dimAt = [](AffineMap map, unsigned i) -> std::optional<unsigned> {
    if (i >= map.getNumResults())
      return std::nullopt;
    if (auto dim = dyn_cast<AffineDimExpr>(map.getResult(i)))
      return dim.getPosition();
    return std::nullopt;
  };

  // x: (L..., k); out: (L..., n).
  unsigned rank = inputMap.getNumResults();
  if (rank == 0 || dimAt(inputMap, rank - 1) != k) {
    why = "its input is not indexed [..., k]";
    return failure();
  }
  if (outMap.getNumResults() != rank) {
    why = "its output does not replace the input's k by one n";
    return failure();
  }
  std::optional<unsigned> n = dimAt(outMap, rank - 1);
  if (!n || *n == k) {
    why = "its output is not indexed [..., n]";
    return failure();
  }
  SmallVector<unsigned> lead;
  for (unsigned i = 0; i + 1 < rank; ++i) {
    std::optional<unsigned> dim = dimAt(inputMap, i);
    if (!dim || dimAt(outMap, i) != dim || *dim == *n) {
      why = "its input and output do not share their leading dimensions";
      return failure();
    }
    lead.push_back(*dim);
  }

  // w: (batch..., n, k) or (batch..., k, n), the batch dims among L.
  unsigned weightRank = weightMap.getNumResults();
  if (weightRank < 2) {
    why = "its weights are not a matrix";
    return failure();
  }
  c.numBatchDims = weightRank - 2;
  for (unsigned i = 0; i < c.numBatchDims; ++i) {
    std::optional<unsigned> dim = dimAt(weightMap, i);
    if (!dim || !llvm::is_contained(lead, *dim)) {
      why = "its weights have dimensions other than batch, n and k";
      return failure();
    }
  }
  std::optional<unsigned> w0 = dimAt(weightMap, weightRank - 2);
  std::optional<unsigned> w1 = dimAt(weightMap, weightRank - 1);
  if (w0 == n && w1 == k) {
    c.weightKN = false;
  } else if (w0 == k && w1 == n) {
    c.weightKN = true;
  } else {
    why = "its weights are not indexed (n, k) or (k, n)";
    return failure();
  }
  if (!isMulAddBody(op)) {
    why = "its body is not `out + in * w`";
    return failure();
  }
  Type elementType = inputType.getElementType();
  if (!isa<Float32Type, Float16Type, BFloat16Type>(elementType) ||
      resultType.getElementType() != elementType ||
      cast<RankedTensorType>(c.init.getType()).getElementType() !=
          elementType ||
      !isa<FloatType>(weightType.getElementType())) {
    why = "its input, output and weights are not floats of one type";
    return failure();
  }
  c.k = inputType.getDimSize(rank - 1);
  c.n = resultType.getDimSize(rank - 1);
  if (ShapedType::isDynamic(c.k) || ShapedType::isDynamic(c.n)) {
    why = "its K or N is dynamic";
    return failure();
  }
  return c;
}

//===----------------------------------------------------------------------===//
// Where the weights come from
//===----------------------------------------------------------------------===//

namespace {
/// The weights of a contraction, traced to their source.
struct WeightSource {
  /// Float constant weights, as [N, K].
  std::optional<Matrix> floats;
  /// Or weights already quantized: constants, or the results of a
  /// sieve.quantize, with their group size.
  std::optional<QuantizedWeights> quantized;
  Value values, scales;
  int64_t groupSize = 0;
  bool folded = false;
};
} // namespace

/// Follows 2-D `linalg.transpose`s from `value`; flips `transposed` for each.
static Value lookThroughTransposes(Value value, bool &transposed) {
  while (auto t = value.getDefiningOp<linalg::TransposeOp>()) {
    if (t.getPermutation() != ArrayRef<int64_t>{1, 0})
      break;
    transposed = !transposed;
    value = t.getInput();
  }
  return value;
}

/// The float values of a constant [R, C] (or [B..., R, C] whose batch slices
/// are all equal: the first one) tensor.
static FailureOr<Matrix> getConstantMatrix(Value value, int64_t numBatchDims,
                                           std::string &why) {
  ElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr))) {
    why = "its weights are not a constant";
    return failure();
  }
  std::optional<std::vector<float>> values = getFloatValues(attr);
  if (!values) {
    why = "its constant weights are not f32/f16/bf16 data that can be read "
          "(a dense_resource without its blob?)";
    return failure();
  }
  auto type = cast<ShapedType>(attr.getType());
  int64_t rank = type.getRank();
  Matrix m{type.getDimSize(rank - 2), type.getDimSize(rank - 1), {}};
  size_t sliceSize = m.rows * m.cols;
  for (size_t offset = sliceSize; offset < values->size();
       offset += sliceSize)
    if (!std::equal(values->begin(), values->begin() + sliceSize,
                    values->begin() + offset)) {
      why = "its weights differ across the batch";
      return failure();
    }
  (void)numBatchDims;
  m.data.assign(values->begin(), values->begin() + sliceSize);
  return m;
}

//===----------------------------------------------------------------------===//
// Quantize-dequantize patterns
//===----------------------------------------------------------------------===//

namespace {
/// A per-element value in a QDQ generic: a constant scalar, or a constant
/// tensor input read through a projection of the (row, col) loops.
struct ScaleSource {
  std::optional<float> scalar;
  std::optional<std::vector<float>> values;
  AffineMap map;
  SmallVector<int64_t> shape;

  float at(int64_t r, int64_t c) const {
    if (scalar)
      return *scalar;
    SmallVector<int64_t> index;
    for (AffineExpr expr : map.getResults()) {
      int64_t v = 0;
      if (auto dim = dyn_cast<AffineDimExpr>(expr))
        v = dim.getPosition() == 0 ? r : c;
      index.push_back(v);
    }
    int64_t linear = 0;
    for (auto [i, size] : llvm::enumerate(shape))
      linear = linear * size + index[i];
    return (*values)[linear];
  }
};
} // namespace

static std::optional<float> getScalarConstant(Value value) {
  FloatAttr attr;
  if (matchPattern(value, m_Constant(&attr)))
    return static_cast<float>(attr.getValueAsDouble());
  return std::nullopt;
}

/// Resolves a value used in the body of `generic` to a ScaleSource.
static std::optional<ScaleSource> getScaleSource(linalg::GenericOp generic,
                                                 Value value) {
  ScaleSource source;
  if (std::optional<float> scalar = getScalarConstant(value)) {
    source.scalar = scalar;
    return source;
  }
  auto arg = dyn_cast<BlockArgument>(value);
  if (!arg || arg.getOwner() != generic.getBody() ||
      arg.getArgNumber() >= generic.getNumDpsInputs())
    return std::nullopt;
  OpOperand *operand = generic.getDpsInputOperand(arg.getArgNumber());
  AffineMap map = generic.getMatchingIndexingMap(operand);
  for (AffineExpr expr : map.getResults()) {
    auto c = dyn_cast<AffineConstantExpr>(expr);
    if (!isa<AffineDimExpr>(expr) && !(c && c.getValue() == 0))
      return std::nullopt;
  }
  ElementsAttr attr;
  if (!matchPattern(operand->get(), m_Constant(&attr)))
    return std::nullopt;
  source.values = getFloatValues(attr);
  if (!source.values)
    return std::nullopt;
  source.map = map;
  source.shape = llvm::to_vector(cast<ShapedType>(attr.getType()).getShape());
  return source;
}

/// Matches an elementwise linalg.generic over a constant [R, C] weight that
/// computes `clamp(round(w / a), lo, hi) * s` (or `w * a`), and evaluates it
/// at compile time into integers and the scales `s`. `qRows`/`sRows` are
/// [R, C] row-major.
static LogicalResult evaluateQDQ(linalg::GenericOp generic,
                                 std::vector<float> &q, std::vector<float> &s,
                                 int64_t &rows, int64_t &cols, int64_t &lo,
                                 int64_t &hi, std::string &why) {
  why = "its weights are a linalg.generic that is not a recognized "
        "quantize-dequantize of constants";
  auto resultType =
      dyn_cast<RankedTensorType>(generic->getResult(0).getType());
  if (!resultType || resultType.getRank() != 2 ||
      !resultType.hasStaticShape() || !resultType.getElementType().isF32() ||
      generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      generic.getNumLoops() != 2 ||
      !generic.getMatchingIndexingMap(generic.getDpsInitOperand(0))
           .isIdentity())
    return failure();
  rows = resultType.getDimSize(0);
  cols = resultType.getDimSize(1);
  Block *body = generic.getBody();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());

  // yield(mulf(clamped, s))
  auto dequant = yield.getOperand(0).getDefiningOp<arith::MulFOp>();
  if (!dequant)
    return failure();
  // clamp: min(max(r, lo), hi) or max(min(r, hi), lo)
  auto isMax = [](Operation *op) {
    return isa_and_nonnull<arith::MaximumFOp, arith::MaxNumFOp>(op);
  };
  auto isMin = [](Operation *op) {
    return isa_and_nonnull<arith::MinimumFOp, arith::MinNumFOp>(op);
  };
  Value clamped, scaleValue;
  for (auto [a, b] : {std::pair(dequant.getLhs(), dequant.getRhs()),
                      std::pair(dequant.getRhs(), dequant.getLhs())}) {
    Operation *def = a.getDefiningOp();
    if (isMax(def) || isMin(def)) {
      clamped = a;
      scaleValue = b;
      break;
    }
  }
  if (!clamped)
    return failure();
  std::optional<float> low, high;
  Value rounded = clamped;
  for (int step = 0; step < 2; ++step) {
    Operation *def = rounded.getDefiningOp();
    if (!isMax(def) && !isMin(def))
      return failure();
    Value x = def->getOperand(0), bound = def->getOperand(1);
    std::optional<float> value = getScalarConstant(bound);
    if (!value) {
      std::swap(x, bound);
      value = getScalarConstant(bound);
    }
    if (!value)
      return failure();
    (isMax(def) ? low : high) = value;
    rounded = x;
  }
  if (!low || !high || *low != std::floor(*low) ||
      *high != std::floor(*high) || *low > *high)
    return failure();
  lo = static_cast<int64_t>(*low);
  hi = static_cast<int64_t>(*high);

  Operation *roundOp = rounded.getDefiningOp();
  if (!isa_and_nonnull<math::RoundEvenOp, math::RoundOp>(roundOp))
    return failure();
  bool halfEven = isa<math::RoundEvenOp>(roundOp);
  Operation *scaleOp = roundOp->getOperand(0).getDefiningOp();
  if (!isa_and_nonnull<arith::DivFOp, arith::MulFOp>(scaleOp))
    return failure();
  bool divide = isa<arith::DivFOp>(scaleOp);
  Value weightValue = stripExtF(scaleOp->getOperand(0));
  Value divisor = scaleOp->getOperand(1);
  auto weightArg = dyn_cast<BlockArgument>(weightValue);
  if (!divide && !(weightArg && weightArg.getOwner() == body)) {
    std::swap(weightValue, divisor);
    weightValue = stripExtF(weightValue);
    weightArg = dyn_cast<BlockArgument>(weightValue);
  }
  if (!weightArg || weightArg.getOwner() != body ||
      weightArg.getArgNumber() >= generic.getNumDpsInputs())
    return failure();
  OpOperand *weightOperand =
      generic.getDpsInputOperand(weightArg.getArgNumber());
  if (!generic.getMatchingIndexingMap(weightOperand).isIdentity())
    return failure();
  std::string constWhy;
  FailureOr<Matrix> weights =
      getConstantMatrix(weightOperand->get(), 0, constWhy);
  if (failed(weights))
    return failure();
  std::optional<ScaleSource> a = getScaleSource(generic, divisor);
  std::optional<ScaleSource> sSource = getScaleSource(generic, scaleValue);
  if (!a || !sSource)
    return failure();
  // Nothing else may happen in the body.
  if (body->getOperations().size() > 7)
    return failure();

  q.assign(rows * cols, 0.0f);
  s.assign(rows * cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float w = weights->at(r, c), av = a->at(r, c);
      float t = divide ? w / av : w * av; // f32, as the graph computes it
      float rd = halfEven ? std::nearbyint(t) : std::round(t);
      float v = std::min(std::max(rd, *low), *high);
      float sv = sSource->at(r, c);
      if (!std::isfinite(v) || !std::isfinite(sv)) {
        why = "its quantize-dequantize gives a non-finite value";
        return failure();
      }
      q[r * cols + c] = v;
      s[r * cols + c] = sv;
    }
  return success();
}

/// The largest group size (K itself meaning 0, one group per row) over which
/// every row of `s` ([N, K]) is constant.
static int64_t findGroupSize(const std::vector<float> &s, int64_t n,
                             int64_t k) {
  for (int64_t g = k; g >= 1; --g) {
    if (k % g)
      continue;
    bool uniform = true;
    for (int64_t r = 0; r < n && uniform; ++r)
      for (int64_t c = 0; c < k && uniform; ++c)
        uniform = s[r * k + c] == s[r * k + (c / g) * g];
    if (uniform)
      return g == k ? 0 : g;
  }
  return 1;
}

//===----------------------------------------------------------------------===//
// The rewrite
//===----------------------------------------------------------------------===//

/// The bias that `init` broadcasts along all but its last dimension, or null;
/// sets `zero` when `init` is all zeros.
static Value getBiasOrZero(Value init, bool &zero) {
  zero = false;
  SplatElementsAttr splat;
  if (matchPattern(init, m_Constant(&splat))) {
    auto value = splat.getSplatValue<Attribute>();
    zero = isa<FloatAttr>(value) && cast<FloatAttr>(value).getValue().isZero();
    return {};
  }
  if (auto fill = init.getDefiningOp<linalg::FillOp>()) {
    std::optional<float> value = getScalarConstant(fill.getInputs()[0]);
    zero = value && *value == 0.0f;
    return {};
  }
  auto rank = cast<RankedTensorType>(init.getType()).getRank();
  if (auto broadcast = init.getDefiningOp<linalg::BroadcastOp>()) {
    SmallVector<int64_t> expected;
    for (int64_t i = 0; i + 1 < rank; ++i)
      expected.push_back(i);
    if (broadcast.getDimensions() == ArrayRef<int64_t>(expected))
      return broadcast.getInput();
    return {};
  }
  if (auto generic = init.getDefiningOp<linalg::GenericOp>()) {
    std::optional<SmallVector<int64_t>> dims =
        linalg::isaBroadcastOpInterface(generic);
    SmallVector<int64_t> expected;
    for (int64_t i = 0; i + 1 < rank; ++i)
      expected.push_back(i);
    if (dims && *dims == expected && generic.getNumDpsInputs() == 1)
      return generic.getDpsInputs()[0];
  }
  return {};
}

/// Erases the producer of `value` and then its producers, as long as they
/// are unused and free of side effects.
static void eraseDeadProducers(RewriterBase &rewriter, Value value) {
  SmallVector<Operation *> worklist;
  if (Operation *def = value.getDefiningOp())
    worklist.push_back(def);
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (!isOpTriviallyDead(op))
      continue;
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp())
        worklist.push_back(def);
    rewriter.eraseOp(op);
  }
}

static StringRef kindOf(Operation *op) {
  if (isa<linalg::MatmulOp>(op))
    return "matmul";
  if (isa<linalg::BatchMatmulOp>(op))
    return "batch_matmul";
  if (isa<linalg::GenericOp>(op))
    return "generic";
  return "";
}

/// Traces the weights of `c` to constants or a quantize-dequantize pair.
static FailureOr<WeightSource> traceWeights(const Contraction &c,
                                            const QuantizeOptions &options,
                                            QuantizeReport &report) {
  WeightSource source;
  bool transposed = c.weightKN; // true: the traced tensor is [K, N]
  Value value = c.weight->get();
  if (c.numBatchDims == 0)
    value = lookThroughTransposes(value, transposed);

  if (options.foldQDQ && c.numBatchDims == 0) {
    if (auto dq = value.getDefiningOp<DequantizeOp>()) {
      if (transposed) {
        report.reason = "its weights are a sieve.dequantize in [K, N] "
                        "layout: groups along N cannot be a sieve.qmatmul";
        return failure();
      }
      source.folded = true;
      source.groupSize = static_cast<int64_t>(dq.getGroupSize());
      source.values = dq.getValues();
      source.scales = dq.getScales();
      // A quantize of constants is folded at compile time too.
      if (auto quantize = dq.getValues().getDefiningOp<QuantizeOp>();
          quantize && quantize.getScales() == dq.getScales()) {
        std::string why;
        FailureOr<Matrix> w = getConstantMatrix(quantize.getInput(), 0, why);
        if (succeeded(w) && quantize.getGroupSize() == dq.getGroupSize())
          source.quantized = quantizeRows(
              *w, static_cast<int64_t>(quantize.getBits()), source.groupSize);
        if (succeeded(w))
          source.floats = *w;
      }
      return source;
    }
    if (auto generic = value.getDefiningOp<linalg::GenericOp>()) {
      std::vector<float> q, s;
      int64_t rows, cols, lo, hi;
      std::string why;
      if (failed(evaluateQDQ(generic, q, s, rows, cols, lo, hi, why))) {
        report.reason = why;
        return failure();
      }
      Matrix qm{rows, cols, q}, sm{rows, cols, s};
      if (transposed) {
        qm = qm.transposed();
        sm = sm.transposed();
      }
      QuantizedWeights quantized;
      quantized.n = qm.rows;
      quantized.k = qm.cols;
      if (lo >= -8 && hi <= 7)
        quantized.bits = 4;
      else if (lo >= -128 && hi <= 127)
        quantized.bits = 8;
      else {
        report.reason = llvm::formatv("its quantize-dequantize clamps to "
                                      "[{0}, {1}], wider than i8",
                                      lo, hi);
        return failure();
      }
      quantized.groupSize = findGroupSize(sm.data, sm.rows, sm.cols);
      int64_t groupLen =
          quantized.groupSize == 0 ? quantized.k : quantized.groupSize;
      for (int64_t r = 0; r < qm.rows; ++r)
        for (int64_t col = 0; col < qm.cols; col += groupLen)
          quantized.scales.push_back(sm.at(r, col));
      for (float v : qm.data)
        quantized.values.push_back(static_cast<int8_t>(v));
      source.folded = true;
      source.groupSize = quantized.groupSize;
      source.quantized = std::move(quantized);
      return source;
    }
  }

  FailureOr<Matrix> w = getConstantMatrix(value, c.numBatchDims,
                                          report.reason);
  if (failed(w))
    return failure();
  source.floats = transposed ? w->transposed() : *w;
  return source;
}

QuantizeReport mlir::sieve::quantizeContraction(RewriterBase &rewriter,
                                                Operation *op,
                                                const QuantizeOptions &options) {
  QuantizeReport report;
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  StringRef kind = kindOf(op);
  if (!linalgOp || kind.empty() || linalgOp.getNumDpsInputs() != 2 ||
      linalgOp.getNumDpsInits() != 1 || !linalgOp.hasPureTensorSemantics()) {
    report.reason = "not a linalg.matmul, batch_matmul or generic with two "
                    "inputs on tensors";
    return report;
  }
  if ((kind == "matmul" && !options.matmul) ||
      (kind == "batch_matmul" && !options.batchMatmul) ||
      (kind == "generic" && !options.generic)) {
    report.reason = ("linalg." + kind + " is not among the targets").str();
    return report;
  }
  if (options.weightBits != 4 && options.weightBits != 8) {
    report.reason = "weight-bits must be 4 or 8";
    return report;
  }

  // Either input may hold the weights; the second is the usual place.
  FailureOr<Contraction> contraction = failure();
  FailureOr<WeightSource> source = failure();
  std::string firstWhy;
  for (unsigned weightIndex : {1u, 0u}) {
    std::string why;
    contraction = matchContraction(linalgOp, weightIndex, why);
    if (failed(contraction)) {
      if (firstWhy.empty())
        firstWhy = why;
      continue;
    }
    QuantizeReport attempt;
    source = traceWeights(*contraction, options, attempt);
    if (succeeded(source))
      break;
    if (firstWhy.empty() || weightIndex == 1)
      firstWhy = attempt.reason;
  }
  if (failed(contraction) || failed(source)) {
    report.reason = firstWhy;
    return report;
  }
  Contraction &c = *contraction;
  report.n = c.n;
  report.k = c.k;
  report.foldedQDQ = source->folded;
  if (!source->folded && c.n * c.k < options.minWeightElements) {
    report.reason = llvm::formatv("its {0}x{1} weights have fewer than "
                                  "min-weight-elements = {2} elements",
                                  c.n, c.k, options.minWeightElements);
    return report;
  }

  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op->getLoc();
  Value values, scales;
  int64_t groupSize;
  if (source->quantized) {
    const QuantizedWeights &q = *source->quantized;
    values = buildWeightConstants(rewriter, loc, q, scales);
    groupSize = q.groupSize;
    report.bits = q.bits;
    if (source->floats)
      measureError(q, *source->floats, report);
  } else if (source->folded) {
    values = source->values;
    scales = source->scales;
    groupSize = source->groupSize;
    report.bits =
        cast<RankedTensorType>(values.getType()).getElementType()
            .getIntOrFloatBitWidth();
  } else {
    groupSize = options.groupSize;
    if (groupSize != 0 && c.k % groupSize != 0) {
      report.reason = llvm::formatv("group-size {0} does not divide K = {1}: "
                                    "one group per row",
                                    groupSize, c.k);
      groupSize = 0;
    }
    QuantizedWeights q = quantizeRows(*source->floats, options.weightBits,
                                      groupSize);
    values = buildWeightConstants(rewriter, loc, q, scales);
    report.bits = q.bits;
    measureError(q, *source->floats, report);
  }
  report.groupSize = groupSize;

  bool zero = false;
  Value bias = getBiasOrZero(c.init, zero);
  if (bias && cast<RankedTensorType>(bias.getType()).getElementType() !=
                  cast<RankedTensorType>(c.input.getType()).getElementType())
    bias = {};
  auto qmatmul = QMatmulOp::create(rewriter, loc, c.input, values, scales,
                                   bias, rewriter.getI64IntegerAttr(groupSize));
  Value result = qmatmul.getResult();
  Type resultType = op->getResult(0).getType();
  if (result.getType() != resultType)
    result = tensor::CastOp::create(rewriter, loc, resultType, result);
  if (!zero && !bias)
    result = arith::AddFOp::create(rewriter, loc, c.init, result);
  Value oldWeights = c.weight->get(), oldInit = c.init;
  rewriter.replaceOp(op, result);
  // The float weights and their quantize-dequantize are dead now.
  eraseDeadProducers(rewriter, oldWeights);
  eraseDeadProducers(rewriter, oldInit);
  report.qmatmul = qmatmul;
  return report;
}

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

namespace {
struct SieveQuantizePass
    : public sieve::impl::SieveQuantizeBase<SieveQuantizePass> {
  using Base::Base;

  void runOnOperation() override {
    Operation *root = getOperation();
    QuantizeOptions options;
    options.weightBits = weightBits;
    options.groupSize = groupSize;
    options.minWeightElements = minWeightElements;
    options.foldQDQ = foldQDQ;
    if (weightBits != 4 && weightBits != 8) {
      root->emitError() << "sieve-quantize: weight-bits must be 4 or 8, found "
                        << weightBits.getValue();
      return signalPassFailure();
    }
    if (groupSize < 0) {
      root->emitError() << "sieve-quantize: group-size must be >= 0, found "
                        << groupSize.getValue();
      return signalPassFailure();
    }
    if (!targets.empty()) {
      options.matmul = options.batchMatmul = options.generic = false;
      for (const std::string &target : targets) {
        if (target == "all")
          options.matmul = options.batchMatmul = options.generic = true;
        else if (target == "matmul")
          options.matmul = true;
        else if (target == "batch_matmul")
          options.batchMatmul = true;
        else if (target == "generic")
          options.generic = true;
        else {
          root->emitError() << "sieve-quantize: unknown target '" << target
                            << "'; expected all, matmul, batch_matmul or "
                               "generic";
          return signalPassFailure();
        }
      }
    }

    Type scorePrecision;
    if (qkPrecision == "i8")
      scorePrecision = IntegerType::get(&getContext(), 8);
    else if (qkPrecision == "f8E4M3FN")
      scorePrecision = Float8E4M3FNType::get(&getContext());
    else if (!qkPrecision.empty()) {
      root->emitError() << "sieve-quantize: unknown qk-precision '"
                        << qkPrecision << "'; expected i8 or f8E4M3FN";
      return signalPassFailure();
    }
    if (scorePrecision)
      root->walk([&](Operation *op) {
        auto precision = TypeAttr::get(scorePrecision);
        if (auto dense = dyn_cast<AttentionOp>(op))
          dense.setQkPrecisionAttr(precision);
        else if (auto hybrid = dyn_cast<HybridAttentionOp>(op))
          hybrid.setQkPrecisionAttr(precision);
        else
          return;
        ++numScoreQuantized;
        emitRemark(op->getLoc()) << "sieve-quantize: " << op->getName()
                                 << " scores in " << scorePrecision;
      });

    SmallVector<Operation *> candidates;
    // Contractions on tensors; ops on buffers are not graph-level IR.
    root->walk([&](linalg::LinalgOp op) {
      if (!op.hasPureTensorSemantics())
        return;
      if (isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op) ||
          (isa<linalg::GenericOp>(op) && op.getNumReductionLoops() == 1 &&
           op.getNumDpsInputs() == 2))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : candidates) {
      Location loc = op->getLoc();
      std::string name = op->getName().getStringRef().str();
      QuantizeReport report = quantizeContraction(rewriter, op, options);
      if (!report.qmatmul) {
        emitRemark(loc) << "sieve-quantize: left " << name
                        << " in float: " << report.reason;
        continue;
      }
      InFlightDiagnostic remark = emitRemark(loc);
      remark << "sieve-quantize: " << name << " -> sieve.qmatmul with "
             << report.n << "x" << report.k << " i" << report.bits
             << " weights, group_size " << report.groupSize;
      if (report.foldedQDQ) {
        ++numFolded;
        remark << " (folded the graph's quantize-dequantize)";
      } else {
        ++numQuantized;
      }
      if (!report.reason.empty())
        remark << " (" << report.reason << ")";
      if (report.maxAbsWeight > 0 || !report.foldedQDQ)
        remark << llvm::formatv(": |error| max {0:e2}, mean {1:e2} (max "
                                "|w| {2:e2})",
                                report.maxAbsError, report.meanAbsError,
                                report.maxAbsWeight);
    }
  }
};
} // namespace
