//===- FuseAttention.cpp - raise attention and gating written as ops ------===//
//
// sieve-fuse-attention: recognises scaled-dot-product attention and the
// token-gating MLP in the forms exporters emit (linalg named ops and
// generics, TOSA, arith/math on tensors) and raises them into sieve.attention
// and sieve.gate.
//
// The matchers share one view of elementwise computations (`Read`, `Node`):
// whatever op computes a tensor (a linalg payload, a named linalg op, TOSA,
// arith/math on tensors, tensor.generate), a node says which scalar operation
// it applies and how it reads its operands, as maps from the operands'
// dimensions to the dimensions of the tensor being matched. Copies,
// transposes, broadcasts and reshapes that only add or drop unit dimensions
// become part of those maps, so the softmax, scale and mask matchers see the
// arithmetic and never the op spelling.
//
// Everything here only reads the IR until a match is complete; a failed
// match changes nothing.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialects/sieve/SieveOps.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/Rewrite/PatternApplicator.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <string>

namespace mlir {
namespace sieve {
#define GEN_PASS_DEF_SIEVEFUSEATTENTION
#include "passes/Passes.h.inc"
} // namespace sieve
} // namespace mlir

using namespace mlir;
using namespace mlir::sieve;

using Variable = ValueBoundsConstraintSet::Variable;

namespace {

//===----------------------------------------------------------------------===//
// Elementwise view: Read and Node
//===----------------------------------------------------------------------===//

/// Entries of `Read::dims` that name no dimension of the matched tensor.
constexpr int64_t kBroadcast = -1; ///< a unit dimension, read at index 0
constexpr int64_t kReduced = -2;   ///< the dimension a reduction runs over

/// How a computation reads a value, in the coordinates of the tensor being
/// matched (its "domain"). `value` is a ranked tensor, a scalar in the
/// payload of `owner` (a linalg op or tensor.generate; it then stands for the
/// tensor the op would produce from it), or a scalar defined outside any
/// payload (`owner` null, `dims` empty). `dims[i]` is the domain dimension
/// that dimension `i` of the value (for a payload scalar: loop `i` of
/// `owner`) follows, or kBroadcast/kReduced.
struct Read {
  Value value;
  Operation *owner = nullptr;
  SmallVector<int64_t> dims;

  /// The whole of `tensor`, as its own domain.
  static Read of(Value tensor) {
    Read read{tensor, nullptr, {}};
    if (auto type = dyn_cast<RankedTensorType>(tensor.getType()))
      read.dims = llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()));
    return read;
  }
  bool isTensor() const {
    return !owner && isa<RankedTensorType>(value.getType());
  }
  bool operator==(const Read &other) const {
    return value == other.value && owner == other.owner && dims == other.dims;
  }
  bool operator!=(const Read &other) const { return !(*this == other); }
};

/// The scalar operation a node applies.
enum class Kind {
  Unknown,  // an op the matchers do not model
  Leaf,     // a function argument, a contraction, a non-splat constant, ...
  Constant, // a scalar or splat constant
  Index,    // linalg.index / a tensor.generate index
  Add,
  Sub,
  Mul,
  Div,
  Max,
  Min,
  Neg,
  Exp,
  Exp2,
  Log,
  Recip,
  Sqrt,
  Rsqrt,
  Erf,
  Tanh,
  Sigmoid,
  Clamp,
  ExtF,
  TruncF,
  Select,
  CmpF,
  CmpI,
  IntCast,
  AddI,
  SubI,
  MulI,
  XOrI,
  Reduce,  // a reduction over one dimension (`combiner`, `init`)
  Reshape, // a reshape that moves non-unit dimensions
  Softmax, // linalg.softmax
};

/// One step of an elementwise computation: the operation and how it reads
/// its operands, in the coordinates of the read it was built for.
struct Node {
  Kind kind = Kind::Unknown;
  Operation *op = nullptr;
  SmallVector<Read> operands;
  Type type;                     ///< element type of the node's result
  double value = 0.0;            ///< Constant
  int64_t dim = 0;               ///< Index, Softmax: the domain dimension
  int64_t predicate = 0;         ///< CmpF, CmpI
  Kind combiner = Kind::Unknown; ///< Reduce
  std::optional<double> init;    ///< Reduce: its initial value when constant
  double lo = 0.0, hi = 0.0;     ///< Clamp
};

static Type elementTypeOf(Value value) {
  return getElementTypeOrSelf(value.getType());
}

static std::optional<double> attrToDouble(Attribute attr) {
  if (auto f = dyn_cast<FloatAttr>(attr))
    return f.getValueAsDouble();
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return static_cast<double>(i.getValue().getSExtValue());
  if (auto dense = dyn_cast<SplatElementsAttr>(attr))
    return attrToDouble(dense.getSplatValue<Attribute>());
  return std::nullopt;
}

/// The shape of the domain a read's value lives in.
static SmallVector<int64_t> domainShape(Value value, Operation *owner) {
  if (owner) {
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(owner))
      return linalgOp.getStaticLoopRanges();
    if (auto generate = dyn_cast<tensor::GenerateOp>(owner))
      return llvm::to_vector(generate.getType().getShape());
    return {};
  }
  if (auto type = dyn_cast<RankedTensorType>(value.getType()))
    return llvm::to_vector(type.getShape());
  return {};
}
static SmallVector<int64_t> domainShape(const Read &read) {
  return domainShape(read.value, read.owner);
}

/// A linalg op that computes its one result elementwise.
static bool isElementwise(linalg::LinalgOp op) {
  if (op->getNumResults() != 1 || op.getNumDpsInits() != 1 ||
      !op.hasPureTensorSemantics() || op.getNumLoops() == 0 ||
      op.getNumParallelLoops() != op.getNumLoops())
    return false;
  AffineMap out = op.getIndexingMapMatchingResult(op->getResult(0));
  return out.isPermutation();
}

/// Composes an operand's indexing map with the loop-to-domain map `loops`.
static std::optional<SmallVector<int64_t>>
composeMap(AffineMap map, ArrayRef<int64_t> loops, Value operand) {
  auto type = dyn_cast<RankedTensorType>(operand.getType());
  if (!type || type.getRank() != map.getNumResults())
    return std::nullopt;
  SmallVector<int64_t> dims;
  for (auto [i, expr] : llvm::enumerate(map.getResults())) {
    if (auto d = dyn_cast<AffineDimExpr>(expr)) {
      dims.push_back(loops[d.getPosition()]);
      continue;
    }
    auto c = dyn_cast<AffineConstantExpr>(expr);
    if (!c || c.getValue() != 0 || type.getDimSize(i) != 1)
      return std::nullopt;
    dims.push_back(kBroadcast);
  }
  return dims;
}

/// The loop-to-domain map of an elementwise linalg op read through `dims`.
static SmallVector<int64_t> loopsOf(linalg::LinalgOp op,
                                    ArrayRef<int64_t> dims) {
  AffineMap out = op.getIndexingMapMatchingResult(op->getResult(0));
  SmallVector<int64_t> loops(op.getNumLoops(), kBroadcast);
  for (unsigned t = 0; t < out.getNumResults(); ++t)
    loops[out.getDimPosition(t)] = dims[t];
  return loops;
}

/// For a reshape that only inserts or removes unit dimensions: for each
/// source dimension, the result dimension it becomes, or kBroadcast.
static std::optional<SmallVector<int64_t>>
unitReshapeMap(ArrayRef<int64_t> src, ArrayRef<int64_t> dst,
               ArrayRef<ReassociationIndices> groups, bool collapsing) {
  SmallVector<int64_t> map(src.size(), kBroadcast);
  auto isUnit = [](int64_t size) { return size == 1; };
  for (auto [g, group] : llvm::enumerate(groups)) {
    // `group` indexes the higher-rank side.
    ArrayRef<int64_t> wide = collapsing ? src : dst;
    int64_t nonUnit = -1, count = 0;
    for (int64_t d : group)
      if (!isUnit(wide[d])) {
        nonUnit = d;
        ++count;
      }
    if (count > 1)
      return std::nullopt;
    if (collapsing) {
      if (nonUnit >= 0)
        map[nonUnit] = g;
    } else {
      map[g] = nonUnit >= 0 ? nonUnit : kBroadcast;
    }
  }
  return map;
}

/// Matches static shapes that differ only by unit dimensions.
static std::optional<SmallVector<int64_t>>
unitReshapeMapByShape(ArrayRef<int64_t> src, ArrayRef<int64_t> dst) {
  if (ShapedType::isDynamicShape(src) || ShapedType::isDynamicShape(dst))
    return std::nullopt;
  SmallVector<int64_t> map(src.size(), kBroadcast);
  size_t j = 0;
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == 1)
      continue;
    while (j < dst.size() && dst[j] == 1)
      ++j;
    if (j == dst.size() || dst[j] != src[i])
      return std::nullopt;
    map[i] = j++;
  }
  for (; j < dst.size(); ++j)
    if (dst[j] != 1)
      return std::nullopt;
  return map;
}

/// The source and source-to-result map of a reshape that only inserts or
/// removes unit dimensions.
static std::optional<std::pair<Value, SmallVector<int64_t>>>
asUnitReshape(Operation *op) {
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
    auto map = unitReshapeMap(collapse.getSrcType().getShape(),
                              collapse.getResultType().getShape(),
                              collapse.getReassociationIndices(), true);
    if (map)
      return std::make_pair(collapse.getSrc(), *map);
    return std::nullopt;
  }
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    auto map = unitReshapeMap(expand.getSrcType().getShape(),
                              expand.getResultType().getShape(),
                              expand.getReassociationIndices(), false);
    if (map)
      return std::make_pair(expand.getSrc(), *map);
    return std::nullopt;
  }
  if (auto reshape = dyn_cast<tosa::ReshapeOp>(op)) {
    auto src = dyn_cast<RankedTensorType>(reshape.getInput1().getType());
    auto dst = dyn_cast<RankedTensorType>(reshape.getType());
    if (!src || !dst)
      return std::nullopt;
    if (auto map = unitReshapeMapByShape(src.getShape(), dst.getShape()))
      return std::make_pair(reshape.getInput1(), *map);
  }
  return std::nullopt;
}

/// The integer values of a constant 1-D tensor or tosa shape.
static std::optional<SmallVector<int64_t>> constantInts(Value value) {
  DenseElementsAttr attr;
  if (auto shape = value.getDefiningOp<tosa::ConstShapeOp>())
    attr = dyn_cast<DenseElementsAttr>(shape.getValues());
  else if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  if (!attr || !attr.getElementType().isIntOrIndex())
    return std::nullopt;
  return llvm::to_vector(llvm::map_range(
      attr.getValues<APInt>(), [](APInt v) { return v.getSExtValue(); }));
}

static std::optional<double> evalConstant(const Read &read, int depth = 8);

static bool isZeroConstant(const Read &read) {
  std::optional<double> value = evalConstant(read, 2);
  return value && *value == 0.0;
}

/// Follows the reads that only move data: a payload reading a block
/// argument, the payload of an elementwise linalg op or tensor.generate
/// (copies, transposes and broadcasts included), tensor.cast, unit-dimension
/// reshapes, tosa.transpose, tosa.tile of unit dimensions and the addition
/// of a zero splat.
static Read canonical(Read read) {
  for (int step = 0; step < 64; ++step) {
    if (read.owner) {
      Value value = read.value;
      if (auto arg = dyn_cast<BlockArgument>(value)) {
        auto linalgOp = dyn_cast<linalg::LinalgOp>(read.owner);
        if (!linalgOp || arg.getOwner() != linalgOp.getBlock())
          return read;
        OpOperand *operand = linalgOp.getMatchingOpOperand(arg);
        Value source = operand->get();
        if (!isa<RankedTensorType>(source.getType())) {
          read = Read{source, nullptr, {}};
          continue;
        }
        auto dims = composeMap(linalgOp.getMatchingIndexingMap(operand),
                               read.dims, source);
        if (!dims)
          return read;
        read = Read{source, nullptr, *dims};
        continue;
      }
      Operation *def = value.getDefiningOp();
      if (!def || !read.owner->isProperAncestor(def)) {
        read = Read{value, nullptr, {}};
        continue;
      }
      if (auto add = dyn_cast<arith::AddFOp>(def)) {
        Read lhs{add.getLhs(), read.owner, read.dims};
        Read rhs{add.getRhs(), read.owner, read.dims};
        if (isZeroConstant(rhs)) {
          read = lhs;
          continue;
        }
        if (isZeroConstant(lhs)) {
          read = rhs;
          continue;
        }
      }
      return read;
    }

    auto type = dyn_cast<RankedTensorType>(read.value.getType());
    Operation *def = read.value.getDefiningOp();
    if (!type || !def)
      return read;
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(def);
        linalgOp && isElementwise(linalgOp)) {
      Value yielded = linalgOp.getBlock()->getTerminator()->getOperand(0);
      read = Read{yielded, def, loopsOf(linalgOp, read.dims)};
      continue;
    }
    if (auto generate = dyn_cast<tensor::GenerateOp>(def)) {
      Value yielded = generate.getBody().front().getTerminator()->getOperand(0);
      read = Read{yielded, def, read.dims};
      continue;
    }
    if (auto cast = dyn_cast<tensor::CastOp>(def)) {
      auto srcType = dyn_cast<RankedTensorType>(cast.getSource().getType());
      if (!srcType || srcType.getRank() != type.getRank())
        return read;
      read.value = cast.getSource();
      continue;
    }
    if (auto unit = asUnitReshape(def)) {
      SmallVector<int64_t> dims;
      for (int64_t d : unit->second)
        dims.push_back(d == kBroadcast ? kBroadcast : read.dims[d]);
      read = Read{unit->first, nullptr, dims};
      continue;
    }
    if (auto transpose = dyn_cast<tosa::TransposeOp>(def)) {
      ArrayRef<int32_t> perms = transpose.getPerms();
      SmallVector<int64_t> dims(perms.size(), kBroadcast);
      for (auto [i, p] : llvm::enumerate(perms))
        dims[p] = read.dims[i];
      read = Read{transpose.getInput1(), nullptr, dims};
      continue;
    }
    if (auto tile = dyn_cast<tosa::TileOp>(def)) {
      auto multiples = constantInts(tile.getMultiples());
      auto srcType = dyn_cast<RankedTensorType>(tile.getInput1().getType());
      if (!multiples || !srcType)
        return read;
      SmallVector<int64_t> dims;
      for (auto [i, m] : llvm::enumerate(*multiples)) {
        if (m == 1)
          dims.push_back(read.dims[i]);
        else if (srcType.getDimSize(i) == 1)
          dims.push_back(kBroadcast);
        else
          return read;
      }
      read = Read{tile.getInput1(), nullptr, dims};
      continue;
    }
    if (auto add = dyn_cast<tosa::AddOp>(def)) {
      // x + zeros, possibly broadcasting x: a copy of x.
      auto asOperand = [&](Value v) -> std::optional<Read> {
        auto t = dyn_cast<RankedTensorType>(v.getType());
        if (!t || t.getRank() != type.getRank())
          return std::nullopt;
        Read r{v, nullptr, {}};
        for (int64_t i = 0; i < t.getRank(); ++i)
          r.dims.push_back(t.getDimSize(i) == 1 && type.getDimSize(i) != 1
                               ? kBroadcast
                               : read.dims[i]);
        return r;
      };
      auto lhs = asOperand(add.getInput1()), rhs = asOperand(add.getInput2());
      if (lhs && rhs && isZeroConstant(*rhs)) {
        read = *lhs;
        continue;
      }
      if (lhs && rhs && isZeroConstant(*lhs)) {
        read = *rhs;
        continue;
      }
    }
    return read;
  }
  return read;
}

/// The kind of a scalar or elementwise tensor op.
static Kind elementwiseKind(Operation *op) {
  if (isa<arith::AddFOp, tosa::AddOp>(op))
    return Kind::Add;
  if (isa<arith::SubFOp, tosa::SubOp>(op))
    return Kind::Sub;
  if (isa<arith::MulFOp, tosa::MulOp>(op))
    return Kind::Mul;
  if (isa<arith::DivFOp>(op))
    return Kind::Div;
  if (isa<arith::MaximumFOp, arith::MaxNumFOp, tosa::MaximumOp>(op))
    return Kind::Max;
  if (isa<arith::MinimumFOp, arith::MinNumFOp, tosa::MinimumOp>(op))
    return Kind::Min;
  if (isa<arith::NegFOp, tosa::NegateOp>(op))
    return Kind::Neg;
  if (isa<math::ExpOp, tosa::ExpOp>(op))
    return Kind::Exp;
  if (isa<math::Exp2Op>(op))
    return Kind::Exp2;
  if (isa<math::LogOp, tosa::LogOp>(op))
    return Kind::Log;
  if (isa<tosa::ReciprocalOp>(op))
    return Kind::Recip;
  if (isa<math::SqrtOp>(op))
    return Kind::Sqrt;
  if (isa<math::RsqrtOp, tosa::RsqrtOp>(op))
    return Kind::Rsqrt;
  if (isa<math::ErfOp, tosa::ErfOp>(op))
    return Kind::Erf;
  if (isa<math::TanhOp, tosa::TanhOp>(op))
    return Kind::Tanh;
  if (isa<tosa::SigmoidOp>(op))
    return Kind::Sigmoid;
  if (isa<tosa::ClampOp>(op))
    return Kind::Clamp;
  if (isa<arith::ExtFOp>(op))
    return Kind::ExtF;
  if (isa<arith::TruncFOp>(op))
    return Kind::TruncF;
  if (auto cast = dyn_cast<tosa::CastOp>(op)) {
    auto in = dyn_cast<FloatType>(elementTypeOf(cast.getInput()));
    auto out = dyn_cast<FloatType>(elementTypeOf(cast.getOutput()));
    if (!in || !out)
      return Kind::Unknown;
    return out.getWidth() >= in.getWidth() ? Kind::ExtF : Kind::TruncF;
  }
  if (isa<arith::SelectOp, tosa::SelectOp>(op))
    return Kind::Select;
  if (isa<arith::CmpFOp, tosa::GreaterOp, tosa::GreaterEqualOp>(op))
    return Kind::CmpF;
  if (isa<arith::CmpIOp>(op))
    return Kind::CmpI;
  if (isa<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp,
          arith::ExtUIOp, arith::TruncIOp>(op))
    return Kind::IntCast;
  if (isa<arith::AddIOp>(op))
    return Kind::AddI;
  if (isa<arith::SubIOp>(op))
    return Kind::SubI;
  if (isa<arith::MulIOp>(op))
    return Kind::MulI;
  if (isa<arith::XOrIOp>(op))
    return Kind::XOrI;
  return Kind::Unknown;
}

/// The operands of an elementwise op that carry data (not TOSA's shift and
/// zero points).
static SmallVector<Value> dataOperands(Operation *op) {
  if (auto mul = dyn_cast<tosa::MulOp>(op))
    return {mul.getInput1(), mul.getInput2()};
  if (auto neg = dyn_cast<tosa::NegateOp>(op))
    return {neg.getInput1()};
  return llvm::to_vector(op->getOperands());
}

static void setPredicate(Node &node, Operation *op) {
  if (auto cmp = dyn_cast<arith::CmpFOp>(op))
    node.predicate = static_cast<int64_t>(cmp.getPredicate());
  else if (isa<tosa::GreaterOp>(op))
    node.predicate = static_cast<int64_t>(arith::CmpFPredicate::OGT);
  else if (isa<tosa::GreaterEqualOp>(op))
    node.predicate = static_cast<int64_t>(arith::CmpFPredicate::OGE);
  else if (auto cmpi = dyn_cast<arith::CmpIOp>(op))
    node.predicate = static_cast<int64_t>(cmpi.getPredicate());
}

static void setClamp(Node &node, Operation *op) {
  if (auto clamp = dyn_cast<tosa::ClampOp>(op)) {
    node.lo = attrToDouble(clamp.getMinValAttr()).value_or(-INFINITY);
    node.hi = attrToDouble(clamp.getMaxValAttr()).value_or(INFINITY);
  }
}

/// The combiner of result `index` of a one-input reduction payload:
/// `combine(in, acc)` (casts on `in` allowed), where `acc` is that result's
/// accumulator. Other results (such as the argmax of torch's max.dim) do not
/// matter.
static Kind reductionCombiner(linalg::LinalgOp op, unsigned index) {
  Block *body = op.getBlock();
  if (body->getNumArguments() != 1 + op.getNumDpsInits())
    return Kind::Unknown;
  Value in = body->getArgument(0), acc = body->getArgument(1 + index);
  Value yielded = body->getTerminator()->getOperand(index);
  auto isIn = [&](Value v) {
    while (auto ext = v.getDefiningOp<arith::ExtFOp>())
      v = ext.getIn();
    return v == in;
  };
  Operation *def = yielded.getDefiningOp();
  if (!def)
    return Kind::Unknown;
  if (auto select = dyn_cast<arith::SelectOp>(def)) {
    auto cmp = select.getCondition().getDefiningOp<arith::CmpFOp>();
    if (!cmp)
      return Kind::Unknown;
    Value t = select.getTrueValue(), f = select.getFalseValue();
    bool forward =
        isIn(t) && f == acc && cmp.getLhs() == t && cmp.getRhs() == acc;
    bool backward =
        isIn(f) && t == acc && cmp.getLhs() == acc && cmp.getRhs() == f;
    if (!forward && !backward)
      return Kind::Unknown;
    // forward: in OP acc ? in : acc;  backward: acc OP in ? acc : in.
    switch (cmp.getPredicate()) {
    case arith::CmpFPredicate::OGT:
    case arith::CmpFPredicate::OGE:
    case arith::CmpFPredicate::UGT:
    case arith::CmpFPredicate::UGE:
      return Kind::Max;
    case arith::CmpFPredicate::OLT:
    case arith::CmpFPredicate::OLE:
    case arith::CmpFPredicate::ULT:
    case arith::CmpFPredicate::ULE:
      return Kind::Min;
    default:
      return Kind::Unknown;
    }
  }
  if (def->getNumOperands() != 2)
    return Kind::Unknown;
  Value a = def->getOperand(0), b = def->getOperand(1);
  if (!((isIn(a) && b == acc) || (isIn(b) && a == acc)))
    return Kind::Unknown;
  Kind kind = elementwiseKind(def);
  if (kind == Kind::Add || kind == Kind::Mul || kind == Kind::Max ||
      kind == Kind::Min)
    return kind;
  return Kind::Unknown;
}

static Node getNode(const Read &start);

/// Builds the node of a scalar constant or an SSA scalar outside payloads.
static Node scalarNode(Value value) {
  Node node;
  node.type = value.getType();
  node.op = value.getDefiningOp();
  Attribute attr;
  if (matchPattern(value, m_Constant(&attr))) {
    if (auto v = attrToDouble(attr)) {
      node.kind = Kind::Constant;
      node.value = *v;
      return node;
    }
  }
  node.kind = Kind::Leaf;
  return node;
}

/// The node that computes `start`: canonicalizes the read, then describes
/// its defining operation with operand reads in the same coordinates.
static Node getNode(const Read &start) {
  Read read = canonical(start);
  Node node;
  node.type = elementTypeOf(read.value);

  if (read.owner) {
    if (auto arg = dyn_cast<BlockArgument>(read.value)) {
      if (isa<tensor::GenerateOp>(read.owner) &&
          arg.getArgNumber() < read.dims.size()) {
        node.kind = Kind::Index;
        node.dim = read.dims[arg.getArgNumber()];
      }
      return node;
    }
    Operation *op = read.value.getDefiningOp();
    node.op = op;
    if (auto index = dyn_cast<linalg::IndexOp>(op)) {
      if (index.getDim() < read.dims.size()) {
        node.kind = Kind::Index;
        node.dim = read.dims[index.getDim()];
      }
      return node;
    }
    if (op->hasTrait<OpTrait::ConstantLike>())
      return scalarNode(read.value);
    node.kind = elementwiseKind(op);
    if (node.kind == Kind::Unknown)
      return node;
    for (Value operand : dataOperands(op))
      node.operands.push_back(Read{operand, read.owner, read.dims});
    setPredicate(node, op);
    setClamp(node, op);
    return node;
  }

  auto type = dyn_cast<RankedTensorType>(read.value.getType());
  if (!type)
    return scalarNode(read.value);
  Operation *def = read.value.getDefiningOp();
  node.op = def;
  if (!def) {
    node.kind = Kind::Leaf;
    return node;
  }

  // Splat constants are scalars; other constants are leaves.
  Attribute attr;
  if (matchPattern(read.value, m_Constant(&attr))) {
    node.kind = Kind::Leaf;
    if (auto splat = dyn_cast<SplatElementsAttr>(attr)) {
      if (auto v = attrToDouble(splat)) {
        node.kind = Kind::Constant;
        node.value = *v;
      }
    }
    return node;
  }
  if (auto splat = dyn_cast<tensor::SplatOp>(def)) {
    Node inner = scalarNode(splat.getInput());
    inner.type = node.type;
    return inner;
  }

  if (auto softmax = dyn_cast<linalg::SoftmaxOp>(def)) {
    node.kind = Kind::Softmax;
    node.dim = read.dims[softmax.getDimension()];
    node.operands.push_back(Read{softmax.getInput(), nullptr, read.dims});
    return node;
  }

  // Reductions over one dimension.
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(def)) {
    if (linalgOp.getNumReductionLoops() != 1 ||
        linalgOp.getNumDpsInputs() != 1 ||
        linalgOp.getNumDpsInits() != def->getNumResults() ||
        !linalgOp.hasPureTensorSemantics()) {
      node.kind = Kind::Leaf;
      return node;
    }
    auto result = cast<OpResult>(read.value);
    unsigned index = result.getResultNumber();
    AffineMap out = linalgOp.getIndexingMapMatchingResult(result);
    if (!out.isProjectedPermutation()) {
      node.kind = Kind::Leaf;
      return node;
    }
    SmallVector<int64_t> loops(linalgOp.getNumLoops(), kReduced);
    for (unsigned t = 0; t < out.getNumResults(); ++t)
      loops[out.getDimPosition(t)] = read.dims[t];
    OpOperand *input = linalgOp.getDpsInputOperand(0);
    auto dims =
        composeMap(linalgOp.getMatchingIndexingMap(input), loops, input->get());
    if (!dims) {
      node.kind = Kind::Leaf;
      return node;
    }
    node.kind = Kind::Reduce;
    node.combiner = reductionCombiner(linalgOp, index);
    node.operands.push_back(Read{input->get(), nullptr, *dims});
    node.init = evalConstant(
        Read{linalgOp.getDpsInitOperand(index)->get(), nullptr, read.dims});
    return node;
  }
  if (isa<tosa::ReduceMaxOp, tosa::ReduceSumOp, tosa::ReduceMinOp,
          tosa::ReduceProductOp>(def)) {
    Value input = def->getOperand(0);
    auto axis = def->getAttrOfType<IntegerAttr>("axis");
    if (!axis) {
      node.kind = Kind::Leaf;
      return node;
    }
    SmallVector<int64_t> dims(read.dims);
    dims[axis.getInt()] = kReduced;
    node.kind = Kind::Reduce;
    node.operands.push_back(Read{input, nullptr, dims});
    if (isa<tosa::ReduceMaxOp>(def)) {
      node.combiner = Kind::Max;
      node.init = -INFINITY;
    } else if (isa<tosa::ReduceSumOp>(def)) {
      node.combiner = Kind::Add;
      node.init = 0.0;
    } else if (isa<tosa::ReduceMinOp>(def)) {
      node.combiner = Kind::Min;
      node.init = INFINITY;
    } else {
      node.combiner = Kind::Mul;
      node.init = 1.0;
    }
    return node;
  }

  if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tosa::ReshapeOp>(
          def)) {
    node.kind = Kind::Reshape;
    node.operands.push_back(Read::of(def->getOperand(0)));
    return node;
  }

  // Elementwise tensor ops: TOSA broadcasts unit dimensions.
  node.kind = elementwiseKind(def);
  if (node.kind == Kind::Unknown) {
    node.kind = Kind::Leaf;
    return node;
  }
  for (Value operand : dataOperands(def)) {
    auto operandType = dyn_cast<RankedTensorType>(operand.getType());
    if (!operandType || operandType.getRank() != type.getRank()) {
      node.kind = Kind::Unknown;
      node.operands.clear();
      return node;
    }
    Read r{operand, nullptr, {}};
    for (int64_t i = 0; i < type.getRank(); ++i)
      r.dims.push_back(operandType.getDimSize(i) == 1 && type.getDimSize(i) != 1
                           ? kBroadcast
                           : read.dims[i]);
    node.operands.push_back(r);
  }
  setPredicate(node, def);
  setClamp(node, def);
  return node;
}

/// Rounds `value` to the float type `type` (the graph's constants live in
/// their own element type).
static double roundTo(double value, Type type) {
  auto floatType = dyn_cast<FloatType>(type);
  if (!floatType)
    return value;
  APFloat f(value);
  bool lost;
  f.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
  f.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
  return f.convertToDouble();
}

/// Evaluates a read that is the same scalar everywhere.
static std::optional<double> evalConstant(const Read &read, int depth) {
  if (depth == 0)
    return std::nullopt;
  Node node = getNode(read);
  auto arg = [&](unsigned i) -> std::optional<double> {
    if (i >= node.operands.size())
      return std::nullopt;
    return evalConstant(node.operands[i], depth - 1);
  };
  auto both = [&](auto fn) -> std::optional<double> {
    auto a = arg(0), b = arg(1);
    if (!a || !b)
      return std::nullopt;
    return roundTo(fn(*a, *b), node.type);
  };
  auto one = [&](auto fn) -> std::optional<double> {
    auto a = arg(0);
    if (!a)
      return std::nullopt;
    return roundTo(fn(*a), node.type);
  };
  switch (node.kind) {
  case Kind::Constant:
    return node.value;
  case Kind::ExtF:
  case Kind::TruncF:
    return one([](double a) { return a; });
  case Kind::Neg:
    return one([](double a) { return -a; });
  case Kind::Recip:
    return one([](double a) { return 1.0 / a; });
  case Kind::Sqrt:
    return one([](double a) { return std::sqrt(a); });
  case Kind::Rsqrt:
    return one([](double a) { return 1.0 / std::sqrt(a); });
  case Kind::Exp:
    return one([](double a) { return std::exp(a); });
  case Kind::Log:
    return one([](double a) { return std::log(a); });
  case Kind::Add:
    return both([](double a, double b) { return a + b; });
  case Kind::Sub:
    return both([](double a, double b) { return a - b; });
  case Kind::Mul:
    return both([](double a, double b) { return a * b; });
  case Kind::Div:
    return both([](double a, double b) { return a / b; });
  default:
    return std::nullopt;
  }
}

/// Whether two reads compute the same values: the same read, or the same
/// operations on the same reads.
static bool sameRead(const Read &a, const Read &b, int depth = 8) {
  if (a == b)
    return true;
  Read ca = canonical(a), cb = canonical(b);
  if (ca == cb)
    return true;
  if (depth == 0)
    return false;
  Node na = getNode(ca), nb = getNode(cb);
  if (na.kind != nb.kind || na.kind == Kind::Unknown || na.kind == Kind::Leaf)
    return false;
  if (na.type != nb.type || na.operands.size() != nb.operands.size())
    return false;
  switch (na.kind) {
  case Kind::Constant:
    return na.value == nb.value;
  case Kind::Index:
    return na.dim == nb.dim;
  case Kind::Reduce:
    if (na.combiner != nb.combiner || na.init != nb.init)
      return false;
    break;
  case Kind::CmpF:
  case Kind::CmpI:
    if (na.predicate != nb.predicate)
      return false;
    break;
  case Kind::Clamp:
    if (na.lo != nb.lo || na.hi != nb.hi)
      return false;
    break;
  case Kind::Softmax:
  case Kind::Reshape:
    return false;
  default:
    break;
  }
  for (auto [x, y] : llvm::zip(na.operands, nb.operands))
    if (!sameRead(x, y, depth - 1))
      return false;
  return true;
}

/// Returns the operand of a commutative two-operand node that is not the
/// constant one, and the constant.
static std::optional<std::pair<Read, double>>
splitConstantOperand(const Node &node) {
  if (node.operands.size() != 2)
    return std::nullopt;
  if (auto c = evalConstant(node.operands[1]))
    return std::make_pair(node.operands[0], *c);
  if (auto c = evalConstant(node.operands[0]))
    return std::make_pair(node.operands[1], *c);
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Contraction matcher
//===----------------------------------------------------------------------===//

/// A contraction `res[batch, m, n] += lhs[batch, m, k] * rhs[batch, n, k]`
/// with the positions of each loop class in each operand. Loops of a class
/// are ordered as they appear in the result (k: as in lhs).
struct Contraction {
  Operation *op = nullptr;
  Value lhs, rhs, result;
  SmallVector<int64_t> lhsBatch, rhsBatch, resBatch;
  SmallVector<int64_t> lhsM, resM, rhsN, resN, lhsK, rhsK;
  Type accType;

  /// `res` is `[batch..., m, n]` with one m, one n and one k loop.
  bool isPlainBatched() const {
    if (resM.size() != 1 || resN.size() != 1 || lhsK.size() != 1)
      return false;
    int64_t nb = resBatch.size();
    for (int64_t i = 0; i < nb; ++i)
      if (resBatch[i] != i)
        return false;
    return resM[0] == nb && resN[0] == nb + 1;
  }
};

static FailureOr<Contraction> matchContraction(Operation *op,
                                               std::string &why) {
  Contraction c;
  c.op = op;
  if (auto matmul = dyn_cast<tosa::MatMulOp>(op)) {
    auto zero = [](Value zp) {
      auto v = evalConstant(Read::of(zp));
      return v && *v == 0.0;
    };
    if (!zero(matmul.getAZp()) || !zero(matmul.getBZp())) {
      why = "tosa.matmul has non-zero zero points";
      return failure();
    }
    c.lhs = matmul.getA();
    c.rhs = matmul.getB();
    c.result = matmul.getOutput();
    c.lhsBatch = {0};
    c.rhsBatch = {0};
    c.resBatch = {0};
    c.lhsM = {1};
    c.resM = {1};
    c.rhsN = {2};
    c.resN = {2};
    c.lhsK = {2};
    c.rhsK = {1};
    c.accType = elementTypeOf(c.result);
  } else if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
    if (op->getNumResults() != 1 || linalgOp.getNumDpsInputs() != 2 ||
        linalgOp.getNumDpsInits() != 1 || !linalgOp.hasPureTensorSemantics() ||
        !linalg::isaContractionOpInterface(linalgOp)) {
      why = "not a contraction";
      return failure();
    }
    SmallVector<AffineMap> maps = linalgOp.getIndexingMapsArray();
    for (AffineMap map : maps)
      if (!map.isProjectedPermutation(/*allowZeroInResults=*/false)) {
        why = "contraction with non-permutation indexing maps";
        return failure();
      }
    c.lhs = linalgOp.getDpsInputOperand(0)->get();
    c.rhs = linalgOp.getDpsInputOperand(1)->get();
    c.result = op->getResult(0);
    auto pos = [&](AffineMap map, unsigned loop) -> int64_t {
      std::optional<unsigned> p =
          map.getResultPosition(getAffineDimExpr(loop, op->getContext()));
      return p ? static_cast<int64_t>(*p) : -1;
    };
    // Classify the loops by the operands they index (m or n may be empty,
    // as in a matrix-vector product).
    linalg::ContractionDimensions classes;
    SmallVector<utils::IteratorType> iterators =
        linalgOp.getIteratorTypesArray();
    for (unsigned loop = 0; loop < linalgOp.getNumLoops(); ++loop) {
      bool inL = pos(maps[0], loop) >= 0, inR = pos(maps[1], loop) >= 0,
           inO = pos(maps[2], loop) >= 0;
      bool reduction = iterators[loop] == utils::IteratorType::reduction;
      if (inL && inR && inO && !reduction) {
        classes.batch.push_back(loop);
      } else if (inL && !inR && inO && !reduction) {
        classes.m.push_back(loop);
      } else if (!inL && inR && inO && !reduction) {
        classes.n.push_back(loop);
      } else if (inL && inR && !inO && reduction) {
        classes.k.push_back(loop);
      } else {
        why = "contraction with a loop that is neither batch, m, n nor k";
        return failure();
      }
    }
    const linalg::ContractionDimensions *dims = &classes;
    auto ordered = [&](SmallVector<unsigned, 2> loops, AffineMap by) {
      SmallVector<unsigned> sorted(loops.begin(), loops.end());
      llvm::sort(sorted, [&](unsigned a, unsigned b) {
        return pos(by, a) < pos(by, b);
      });
      return sorted;
    };
    AffineMap lhsMap = maps[0], rhsMap = maps[1], resMap = maps[2];
    for (unsigned loop : ordered(dims->batch, resMap)) {
      c.lhsBatch.push_back(pos(lhsMap, loop));
      c.rhsBatch.push_back(pos(rhsMap, loop));
      c.resBatch.push_back(pos(resMap, loop));
    }
    for (unsigned loop : ordered(dims->m, resMap)) {
      c.lhsM.push_back(pos(lhsMap, loop));
      c.resM.push_back(pos(resMap, loop));
    }
    for (unsigned loop : ordered(dims->n, resMap)) {
      c.rhsN.push_back(pos(rhsMap, loop));
      c.resN.push_back(pos(resMap, loop));
    }
    for (unsigned loop : ordered(dims->k, lhsMap)) {
      c.lhsK.push_back(pos(lhsMap, loop));
      c.rhsK.push_back(pos(rhsMap, loop));
    }
    // Every operand dimension must be one of the classified loops.
    auto covers = [](int64_t rank,
                     std::initializer_list<ArrayRef<int64_t>> lists) {
      int64_t count = 0;
      for (ArrayRef<int64_t> l : lists)
        count += l.size();
      return count == rank;
    };
    if (!covers(lhsMap.getNumResults(), {c.lhsBatch, c.lhsM, c.lhsK}) ||
        !covers(rhsMap.getNumResults(), {c.rhsBatch, c.rhsN, c.rhsK}) ||
        !covers(resMap.getNumResults(), {c.resBatch, c.resM, c.resN})) {
      why = "contraction with dimensions that are neither batch, m, n nor k";
      return failure();
    }
    Value init = linalgOp.getDpsInitOperand(0)->get();
    std::optional<double> initValue = evalConstant(Read::of(init));
    if (!initValue || *initValue != 0.0) {
      why = "the contraction accumulates into a tensor that is not zero";
      return failure();
    }
    c.accType = elementTypeOf(c.result);
  } else {
    why = "not a contraction";
    return failure();
  }
  for (Value v : {c.lhs, c.rhs, c.result})
    if (!isa<RankedTensorType>(v.getType()) ||
        !isa<FloatType>(elementTypeOf(v))) {
      why = "contraction on non-float or unranked tensors";
      return failure();
    }
  return c;
}

/// Whether `op` could be the root of one of the patterns.
static bool isContractionLike(Operation *op) {
  if (isa<tosa::MatMulOp>(op))
    return true;
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  return linalgOp && linalgOp.getNumDpsInputs() == 2 &&
         linalgOp.getNumReductionLoops() > 0 &&
         linalg::isaContractionOpInterface(linalgOp);
}

//===----------------------------------------------------------------------===//
// Chains of layout-preserving steps
//===----------------------------------------------------------------------===//

/// Whether `read` (a value whose last two dimensions are the query and key
/// positions) is, in the current domain of shape `shape`, the same data
/// with only its leading (batch) dimensions regrouped: the last two
/// dimensions map to the last two, the others keep their order, and no
/// non-unit batch dimension is broadcast.
static bool isLeadingRegroup(const Read &read, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> own = domainShape(read);
  int64_t r = own.size(), rc = shape.size();
  if (r < 2 || rc < 2 || static_cast<int64_t>(read.dims.size()) != r)
    return false;
  if (read.dims[r - 2] != rc - 2 || read.dims[r - 1] != rc - 1)
    return false;
  int64_t last = -1;
  llvm::SmallDenseSet<int64_t> covered;
  for (int64_t i = 0; i < r - 2; ++i) {
    int64_t d = read.dims[i];
    if (d == kBroadcast)
      continue;
    if (d < 0 || d >= rc - 2 || d <= last)
      return false;
    last = d;
    covered.insert(d);
  }
  for (int64_t d = 0; d < rc - 2; ++d)
    if (shape[d] != 1 && !covered.contains(d))
      return false;
  return true;
}

/// Re-reads `read` as its own domain.
static Read rebase(const Read &read) {
  Read r = read;
  r.dims = llvm::to_vector(
      llvm::seq<int64_t>(0, static_cast<int64_t>(domainShape(read).size())));
  return r;
}

/// Whether a general reshape keeps the last `count` dimensions as they are.
static bool keepsLast(Operation *reshape, int64_t count) {
  auto src = dyn_cast<RankedTensorType>(reshape->getOperand(0).getType());
  auto dst = dyn_cast<RankedTensorType>(reshape->getResult(0).getType());
  if (!src || !dst || src.getRank() < count || dst.getRank() < count)
    return false;
  auto groupsKeepLast = [&](ArrayRef<ReassociationIndices> groups,
                            int64_t rank) {
    if (static_cast<int64_t>(groups.size()) < count)
      return false;
    for (int64_t i = 1; i <= count; ++i)
      if (groups[groups.size() - i] != ReassociationIndices{rank - i})
        return false;
    return true;
  };
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(reshape))
    return groupsKeepLast(collapse.getReassociationIndices(), src.getRank());
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(reshape))
    return groupsKeepLast(expand.getReassociationIndices(), dst.getRank());
  // tosa.reshape: static shapes with equal trailing dimensions.
  if (!src.hasStaticShape() || !dst.hasStaticShape())
    return false;
  return src.getShape().take_back(count) == dst.getShape().take_back(count);
}
static bool keepsLastTwo(Operation *reshape) { return keepsLast(reshape, 2); }

//===----------------------------------------------------------------------===//
// Softmax matcher
//===----------------------------------------------------------------------===//

/// For a read of a reduction result that is broadcast along domain dimension
/// `dim`: the reduction's node and its input read in domain coordinates
/// (the reduced dimension mapped to `dim`).
static std::optional<std::pair<Node, Read>>
reducedAlong(const Read &read, Kind combiner, int64_t dim, std::string &why,
             StringRef what) {
  Node node = getNode(read);
  if (node.kind != Kind::Reduce) {
    why = ("the " + what + " is not a reduction").str();
    return std::nullopt;
  }
  if (node.combiner != combiner) {
    why = ("the " + what + " is not reduced with " +
           (combiner == Kind::Max ? "a maximum" : "a sum"))
              .str();
    return std::nullopt;
  }
  Read input = node.operands[0];
  int64_t reduced = 0;
  for (int64_t &d : input.dims) {
    if (d == dim) {
      why = ("the " + what + " is not reduced over the key dimension").str();
      return std::nullopt;
    }
    if (d == kReduced) {
      d = dim;
      ++reduced;
    }
  }
  if (reduced != 1) {
    why = ("the " + what + " is not reduced over the key dimension").str();
    return std::nullopt;
  }
  if (combiner == Kind::Add && node.init != 0.0) {
    why = "the sum does not start at 0";
    return std::nullopt;
  }
  if (combiner == Kind::Max && !(node.init && *node.init <= -1e30)) {
    why = "the maximum does not start at -inf or a very negative value";
    return std::nullopt;
  }
  return std::make_pair(node, input);
}

/// The softmax matcher: `read` is a softmax along domain dimension `dim` of
/// the returned read. Recognised: linalg.softmax; exp(x - max(x)) / sum
/// (or times a reciprocal of the sum); exp(x - (max(x) + log(sum))).
/// `types` collects the element types of the intermediates.
static std::optional<Read> matchSoftmax(const Read &read, int64_t dim,
                                        SmallVectorImpl<Type> &types,
                                        double &expScale, std::string &why) {
  expScale = 1.0;
  Node node = getNode(read);
  types.push_back(node.type);
  if (node.kind == Kind::Softmax) {
    if (node.dim != dim) {
      why = "the softmax is not taken over the key dimension";
      return std::nullopt;
    }
    return node.operands[0];
  }

  // e = exp(x - max(x)): returns x.
  // e = exp(x - max(x)), or exp2 (IREE's decomposition): softmax(x * ln 2).
  auto matchShiftedExp = [&](const Read &e) -> std::optional<Read> {
    Node exp = getNode(e);
    if (exp.kind != Kind::Exp && exp.kind != Kind::Exp2) {
      why = "the softmax numerator is not an exponential";
      return std::nullopt;
    }
    if (exp.kind == Kind::Exp2)
      expScale = M_LN2;
    types.push_back(exp.type);
    Node sub = getNode(exp.operands[0]);
    if (sub.kind != Kind::Sub) {
      why = "the exponential's argument is not x - max(x)";
      return std::nullopt;
    }
    types.push_back(sub.type);
    auto max = reducedAlong(sub.operands[1], Kind::Max, dim, why, "maximum");
    if (!max)
      return std::nullopt;
    if (!sameRead(max->second, sub.operands[0])) {
      why = "the maximum subtracted is not the maximum of the same tensor";
      return std::nullopt;
    }
    types.push_back(max->first.type);
    return sub.operands[0];
  };

  // numerator / sum(numerator), or numerator * reciprocal(sum(...)).
  std::optional<Read> numerator, sum;
  if (node.kind == Kind::Div) {
    numerator = node.operands[0];
    sum = node.operands[1];
  } else if (node.kind == Kind::Mul) {
    for (int i = 0; i < 2 && !sum; ++i) {
      Node recip = getNode(node.operands[1 - i]);
      if (recip.kind == Kind::Recip) {
        sum = recip.operands[0];
      } else if (recip.kind == Kind::Div) {
        auto one = evalConstant(recip.operands[0]);
        if (one && *one == 1.0)
          sum = recip.operands[1];
      }
      if (sum) {
        numerator = node.operands[i];
        types.push_back(recip.type);
      }
    }
  }
  if (numerator && sum) {
    auto reduced = reducedAlong(*sum, Kind::Add, dim, why, "denominator");
    if (!reduced)
      return std::nullopt;
    types.push_back(reduced->first.type);
    if (!sameRead(reduced->second, *numerator)) {
      why = "the denominator is not the sum of the numerator";
      return std::nullopt;
    }
    return matchShiftedExp(*numerator);
  }

  // exp(x - (max + log(sum))) or exp((x - max) - log(sum)).
  if (node.kind == Kind::Exp) {
    Node sub = getNode(node.operands[0]);
    if (sub.kind != Kind::Sub) {
      why = "not a softmax";
      return std::nullopt;
    }
    types.push_back(sub.type);
    std::optional<Read> x, maxRead, logRead;
    Node rhs = getNode(sub.operands[1]);
    if (rhs.kind == Kind::Add) {
      x = sub.operands[0];
      for (int i = 0; i < 2; ++i)
        if (getNode(rhs.operands[1 - i]).kind == Kind::Log) {
          maxRead = rhs.operands[i];
          logRead = rhs.operands[1 - i];
        }
    } else if (rhs.kind == Kind::Log) {
      Node lhs = getNode(sub.operands[0]);
      if (lhs.kind == Kind::Sub) {
        x = lhs.operands[0];
        maxRead = lhs.operands[1];
        logRead = sub.operands[1];
      }
    }
    if (!x || !maxRead || !logRead) {
      why = "the exponential's argument is not x - max(x) - log(sum)";
      return std::nullopt;
    }
    auto max = reducedAlong(*maxRead, Kind::Max, dim, why, "maximum");
    if (!max)
      return std::nullopt;
    if (!sameRead(max->second, *x)) {
      why = "the maximum subtracted is not the maximum of the same tensor";
      return std::nullopt;
    }
    Node log = getNode(*logRead);
    auto reduced =
        reducedAlong(log.operands[0], Kind::Add, dim, why, "log-sum");
    if (!reduced)
      return std::nullopt;
    types.append({max->first.type, log.type, reduced->first.type});
    // The sum must be of exp(x - max) with the same max.
    Node exp = getNode(reduced->second);
    if (exp.kind != Kind::Exp) {
      why = "the log-sum is not a sum of exponentials";
      return std::nullopt;
    }
    Node inner = getNode(exp.operands[0]);
    if (inner.kind != Kind::Sub || !sameRead(inner.operands[0], *x)) {
      why = "the log-sum is not over exp(x - max(x))";
      return std::nullopt;
    }
    auto innerMax =
        reducedAlong(inner.operands[1], Kind::Max, dim, why, "maximum");
    if (!innerMax || !sameRead(innerMax->second, *x)) {
      why = "the log-sum is not over exp(x - max(x))";
      return std::nullopt;
    }
    return x;
  }
  why = "not a softmax (expected exp(x - max) / sum, its log-sum-exp form or "
        "linalg.softmax)";
  return std::nullopt;
}

/// Whether the value looks like the output of a softmax (a linalg.softmax,
/// or an exponential and a reduction within a few steps): then a failure to
/// raise deserves a remark.
static bool looksLikeSoftmax(Value value) {
  SmallVector<std::pair<Read, int>> worklist = {{Read::of(value), 0}};
  bool exp = false, reduce = false;
  while (!worklist.empty()) {
    auto [read, depth] = worklist.pop_back_val();
    Node node = getNode(read);
    exp |= node.kind == Kind::Exp || node.kind == Kind::Exp2;
    reduce |= node.kind == Kind::Reduce;
    if (node.kind == Kind::Softmax || (exp && reduce))
      return true;
    if (depth < 6)
      for (const Read &operand : node.operands)
        worklist.push_back({operand, depth + 1});
  }
  return false;
}

//===----------------------------------------------------------------------===//
// Mask matcher
//===----------------------------------------------------------------------===//

/// Masked entries: -inf, at most kMaskedBelow, or the lowest finite value of
/// the mask's element type.
constexpr double kMaskedBelow = -1e9;

enum class MaskKind { None, Causal };

/// What the softmax sees at the additive mask: the domain shape and how to
/// name its sizes for the value-bounds analysis.
struct MaskContext {
  SmallVector<int64_t> shape; ///< the domain; the last two dims are (i, j)
  Read anchor;                ///< a read whose domain is the scores'
  double multiplier = 1.0;    ///< factor applied to the mask afterwards
};

static std::optional<Variable> sizeVariable(const Read &anchor, int64_t dim) {
  if (anchor.isTensor())
    return Variable(anchor.value, dim);
  if (auto linalgOp = dyn_cast_or_null<linalg::LinalgOp>(anchor.owner)) {
    if (!isElementwise(linalgOp))
      return std::nullopt;
    AffineMap out =
        linalgOp.getIndexingMapMatchingResult(linalgOp->getResult(0));
    for (unsigned t = 0; t < out.getNumResults(); ++t)
      if (out.getDimPosition(t) == static_cast<unsigned>(dim))
        return Variable(linalgOp->getResult(0), t);
  }
  return std::nullopt;
}

/// Classifies a mask entry, after the multiplier.
static std::optional<bool> isMaskedValue(double value, Type type,
                                         double multiplier) {
  if (value == 0.0)
    return false;
  if (std::isinf(value) && value < 0)
    return true;
  if (value * multiplier <= kMaskedBelow)
    return true;
  if (auto f = dyn_cast<FloatType>(type)) {
    double lowest =
        APFloat::getLargest(f.getFloatSemantics(), /*Negative=*/true)
            .convertToDouble();
    if (value <= lowest && multiplier >= 1.0)
      return true;
  }
  return std::nullopt;
}

/// A linear form `i*I + j*J + c + sum(coef * symbol)` over the query row I,
/// the key column J and index-typed SSA values.
struct Linear {
  int64_t i = 0, j = 0, c = 0;
  SmallVector<std::pair<Value, int64_t>> symbols;

  Linear scaled(int64_t k) const {
    Linear r = *this;
    r.i *= k;
    r.j *= k;
    r.c *= k;
    for (auto &s : r.symbols)
      s.second *= k;
    return r;
  }
  Linear plus(const Linear &o) const {
    Linear r = *this;
    r.i += o.i;
    r.j += o.j;
    r.c += o.c;
    for (auto [v, k] : o.symbols) {
      auto it = llvm::find_if(r.symbols, [&](auto &s) { return s.first == v; });
      if (it != r.symbols.end())
        it->second += k;
      else
        r.symbols.push_back({v, k});
    }
    llvm::erase_if(r.symbols, [](auto &s) { return s.second == 0; });
    return r;
  }
  bool nonNegative() const {
    return i >= 0 && j >= 0 && c >= 0 &&
           llvm::all_of(symbols, [](auto &s) { return s.second >= 0; });
  }
};

static std::optional<Linear> linearOf(const Read &read, int64_t rank,
                                      int depth = 12) {
  if (depth == 0)
    return std::nullopt;
  Node node = getNode(read);
  auto arg = [&](unsigned n) {
    return linearOf(node.operands[n], rank, depth - 1);
  };
  switch (node.kind) {
  case Kind::Index: {
    Linear l;
    if (node.dim == rank - 2)
      l.i = 1;
    else if (node.dim == rank - 1)
      l.j = 1;
    else if (node.dim != kBroadcast)
      return std::nullopt;
    return l;
  }
  case Kind::Constant: {
    Linear l;
    if (node.value != std::floor(node.value))
      return std::nullopt;
    l.c = static_cast<int64_t>(node.value);
    return l;
  }
  case Kind::IntCast:
    return arg(0);
  case Kind::AddI:
  case Kind::SubI: {
    auto a = arg(0), b = arg(1);
    if (!a || !b)
      return std::nullopt;
    return a->plus(node.kind == Kind::AddI ? *b : b->scaled(-1));
  }
  case Kind::MulI: {
    auto ka = evalConstant(node.operands[0]),
         kb = evalConstant(node.operands[1]);
    if (kb) {
      auto a = arg(0);
      return a ? std::optional<Linear>(a->scaled(*kb)) : std::nullopt;
    }
    if (ka) {
      auto b = arg(1);
      return b ? std::optional<Linear>(b->scaled(*ka)) : std::nullopt;
    }
    return std::nullopt;
  }
  case Kind::Leaf: {
    Read c = canonical(read);
    if (c.owner || !c.value.getType().isIndex())
      return std::nullopt;
    if (std::optional<int64_t> v = getConstantIntValue(c.value)) {
      Linear l;
      l.c = *v;
      return l;
    }
    Linear l;
    l.symbols.push_back({c.value, 1});
    return l;
  }
  default:
    return std::nullopt;
  }
}

/// A boolean read as `L > 0`.
static std::optional<Linear> conditionOf(const Read &read, int64_t rank,
                                         int depth = 8) {
  if (depth == 0)
    return std::nullopt;
  Node node = getNode(read);
  if (node.kind == Kind::XOrI) {
    for (int k = 0; k < 2; ++k) {
      auto one = evalConstant(node.operands[k]);
      if (one && *one != 0.0) {
        auto inner = conditionOf(node.operands[1 - k], rank, depth - 1);
        if (!inner)
          return std::nullopt;
        // !(L > 0)  <=>  -L + 1 > 0.
        Linear l = inner->scaled(-1);
        l.c += 1;
        return l;
      }
    }
    return std::nullopt;
  }
  if (node.kind != Kind::CmpI)
    return std::nullopt;
  auto lhs = linearOf(node.operands[0], rank),
       rhs = linearOf(node.operands[1], rank);
  if (!lhs || !rhs)
    return std::nullopt;
  using P = arith::CmpIPredicate;
  auto pred = static_cast<P>(node.predicate);
  bool isUnsigned =
      pred == P::ugt || pred == P::uge || pred == P::ult || pred == P::ule;
  if (isUnsigned && (!lhs->nonNegative() || !rhs->nonNegative()))
    return std::nullopt;
  Linear d = lhs->plus(rhs->scaled(-1));
  switch (pred) {
  case P::sgt:
  case P::ugt:
    return d;
  case P::sge:
  case P::uge:
    d.c += 1;
    return d;
  case P::slt:
  case P::ult:
    return d.scaled(-1);
  case P::sle:
  case P::ule: {
    Linear l = d.scaled(-1);
    l.c += 1;
    return l;
  }
  default:
    return std::nullopt;
  }
}

/// Whether `a == b` for index expressions over domain sizes and symbols.
static bool provedEqual(const Variable &a, const Variable &b) {
  FailureOr<bool> equal = ValueBoundsConstraintSet::areEqual(a, b);
  return succeeded(equal) && *equal;
}

/// The mask matcher: `mask` is added to the scores of domain `ctx.shape`.
static FailureOr<MaskKind> matchMask(const Read &mask, const MaskContext &ctx,
                                     std::string &why) {
  int64_t rank = ctx.shape.size();
  int64_t sq = ctx.shape[rank - 2], sk = ctx.shape[rank - 1];
  if (ctx.multiplier <= 0.0) {
    why = "the mask is scaled by a non-positive factor";
    return failure();
  }
  Node node = getNode(mask);
  if (node.kind == Kind::Constant) {
    // Adding the same finite number to every score does not change softmax.
    if (std::isfinite(node.value))
      return MaskKind::None;
    why = "the mask adds an infinite constant to every score";
    return failure();
  }

  // A dense constant: check every entry.
  Read dense = canonical(mask);
  DenseElementsAttr attr;
  if (dense.isTensor() && node.kind == Kind::Reshape) {
    DenseElementsAttr source;
    if (matchPattern(node.operands[0].value, m_Constant(&source)) &&
        source.getType().hasStaticShape() &&
        cast<RankedTensorType>(dense.value.getType()).hasStaticShape())
      attr = source.reshape(cast<ShapedType>(dense.value.getType()));
  } else if (dense.isTensor()) {
    matchPattern(dense.value, m_Constant(&attr));
  }
  if (attr) {
    auto type = cast<RankedTensorType>(attr.getType());
    if (!isa<FloatType>(type.getElementType())) {
      why = "the mask is not a float tensor";
      return failure();
    }
    int64_t qi = -1, qj = -1;
    for (auto [q, d] : llvm::enumerate(dense.dims)) {
      if (d == rank - 2)
        qi = q;
      else if (d == rank - 1)
        qj = q;
    }
    int64_t rows = qi >= 0 ? type.getDimSize(qi) : sq;
    int64_t cols = qj >= 0 ? type.getDimSize(qj) : sk;
    if (ShapedType::isDynamic(rows) || ShapedType::isDynamic(cols)) {
      why = "the mask is a constant but the sequence lengths are dynamic";
      return failure();
    }
    SmallVector<double> values = llvm::to_vector(
        llvm::map_range(attr.getValues<APFloat>(),
                        [](APFloat v) { return v.convertToDouble(); }));
    SmallVector<int64_t> strides = computeStrides(type.getShape());
    bool anyMasked = false, bottomRight = true, topLeft = true;
    for (auto [linear, v] : llvm::enumerate(values)) {
      std::optional<bool> masked =
          isMaskedValue(v, type.getElementType(), ctx.multiplier);
      if (!masked) {
        why = "the mask holds values other than 0 and -inf (or a large "
              "negative number)";
        return failure();
      }
      anyMasked |= *masked;
      int64_t i0 = 0, i1 = rows, j0 = 0, j1 = cols;
      if (qi >= 0) {
        i0 = (static_cast<int64_t>(linear) / strides[qi]) % rows;
        i1 = i0 + 1;
      }
      if (qj >= 0) {
        j0 = (static_cast<int64_t>(linear) / strides[qj]) % cols;
        j1 = j0 + 1;
      }
      for (int64_t i = i0; i < i1 && (bottomRight || topLeft); ++i)
        for (int64_t j = j0; j < j1 && (bottomRight || topLeft); ++j) {
          bottomRight &= *masked == (j > i + cols - rows);
          topLeft &= *masked == (j > i);
        }
    }
    if (!anyMasked)
      return MaskKind::None;
    if (!bottomRight) {
      if (topLeft)
        why = "the causal mask is top-left aligned and Sq (" +
              std::to_string(rows) + ") != Sk (" + std::to_string(cols) +
              "); sieve.attention aligns it bottom-right";
      else
        why = "the mask is not a causal triangle";
      return failure();
    }
    if (rows > cols) {
      why = "the causal mask leaves query rows with no visible key (Sq > Sk)";
      return failure();
    }
    return MaskKind::Causal;
  }

  // A computed mask: select(cond, masked, 0) with cond linear in (i, j).
  std::optional<Linear> hidden;
  {
    Node select = node;
    while (select.kind == Kind::ExtF || select.kind == Kind::TruncF)
      select = getNode(select.operands[0]);
    if (select.kind == Kind::Select) {
      auto a = evalConstant(select.operands[1]);
      auto b = evalConstant(select.operands[2]);
      Type t = select.type;
      // 1: masked, 0: visible, -1: neither.
      auto classify = [&](std::optional<double> c) {
        if (!c)
          return -1;
        std::optional<bool> masked = isMaskedValue(*c, t, ctx.multiplier);
        return masked ? static_cast<int>(*masked) : -1;
      };
      int ma = classify(a), mb = classify(b);
      std::optional<Linear> cond = conditionOf(select.operands[0], rank);
      if (cond && ma >= 0 && mb >= 0 && ma != mb) {
        if (ma == 1) {
          hidden = cond;
        } else {
          hidden = cond->scaled(-1);
          hidden->c += 1;
        }
      }
    }
  }
  if (!hidden) {
    why = "the additive mask is neither a constant nor a computed causal "
          "triangle";
    return failure();
  }
  // hidden(i, j) <=> j - i + rest > 0; causal needs rest == Sq - Sk.
  if (hidden->j != 1 || hidden->i != -1) {
    why = "the mask is not a causal triangle";
    return failure();
  }
  Linear rest = *hidden;
  rest.i = rest.j = 0;
  auto sqVar = sizeVariable(ctx.anchor, rank - 2);
  auto skVar = sizeVariable(ctx.anchor, rank - 1);
  MLIRContext *context = mask.value.getContext();
  bool aligned = false, equalLengths = false;
  if (!ShapedType::isDynamic(sq) && !ShapedType::isDynamic(sk) &&
      rest.symbols.empty()) {
    aligned = rest.c == sq - sk;
    equalLengths = sq == sk;
  } else if (sqVar && skVar) {
    // rest == sq - sk, proved by the value-bounds analysis.
    SmallVector<Variable> operands;
    AffineExpr expr = getAffineConstantExpr(rest.c, context);
    for (auto [v, k] : rest.symbols) {
      expr = expr + getAffineDimExpr(operands.size(), context) * k;
      operands.push_back(Variable(v));
    }
    AffineMap restMap = AffineMap::get(operands.size(), 0, expr);
    AffineMap diff = AffineMap::get(
        2, 0, getAffineDimExpr(0, context) - getAffineDimExpr(1, context));
    aligned = provedEqual(Variable(restMap, operands),
                          Variable(diff, {*sqVar, *skVar}));
    equalLengths = provedEqual(*sqVar, *skVar);
  }
  if (!aligned) {
    if (rest.c == 0 && rest.symbols.empty())
      why = "the causal mask is top-left aligned and Sq == Sk cannot be "
            "proved; sieve.attention aligns it bottom-right";
    else
      why = "the causal mask's diagonal is not the bottom-right one";
    return failure();
  }
  bool rowsSeeAKey = equalLengths;
  if (!rowsSeeAKey) {
    if (!ShapedType::isDynamic(sq) && !ShapedType::isDynamic(sk))
      rowsSeeAKey = sq <= sk;
    else if (sqVar && skVar)
      rowsSeeAKey = ValueBoundsConstraintSet::compare(
          *sqVar, ValueBoundsConstraintSet::ComparisonOperator::LE, *skVar);
  }
  if (!rowsSeeAKey) {
    why = "the causal mask may leave query rows with no visible key "
          "(Sq <= Sk cannot be proved)";
    return failure();
  }
  return MaskKind::Causal;
}

//===----------------------------------------------------------------------===//
// Scores: scale, mask, casts and reshapes down to Q.K^T
//===----------------------------------------------------------------------===//

struct Scores {
  Contraction qk;
  double scale = 1.0;
  bool causal = false;
  SmallVector<Type> types;
};

/// Matches `read` (in a domain of shape `shape`) down to the Q.K^T
/// contraction. `factor` is the product of the scale factors applied after
/// this point.
static FailureOr<Scores> matchScores(Read read, SmallVector<int64_t> shape,
                                     double factor, bool haveMask,
                                     std::string &why, int &budget,
                                     int depth = 0) {
  Scores scores;
  for (; depth < 32; ++depth) {
    // Additions try both operands as the chain; bound the search.
    if (--budget < 0) {
      why = "the scores are computed by too many steps";
      return failure();
    }
    Read c = canonical(read);
    if (!isLeadingRegroup(c, shape)) {
      why = "the scores are transposed or broadcast between the contraction "
            "and the softmax";
      return failure();
    }
    shape = domainShape(c);
    read = rebase(c);
    if (read.isTensor()) {
      if (Operation *def = read.value.getDefiningOp();
          def && isContractionLike(def)) {
        std::string reason;
        FailureOr<Contraction> qk = matchContraction(def, reason);
        if (failed(qk)) {
          why = "Q.K^T: " + reason;
          return failure();
        }
        if (!qk->isPlainBatched()) {
          why = "Q.K^T is not a batched [.., Sq, D] x [.., Sk, D] "
                "contraction";
          return failure();
        }
        scores.qk = *qk;
        scores.types.push_back(qk->accType);
        return scores;
      }
    }
    Node node = getNode(read);
    scores.types.push_back(node.type);
    switch (node.kind) {
    case Kind::ExtF:
    case Kind::TruncF:
      read = node.operands[0];
      continue;
    case Kind::Reshape:
      if (!keepsLastTwo(node.op)) {
        why = "a reshape between the contraction and the softmax moves the "
              "sequence dimensions";
        return failure();
      }
      read = node.operands[0];
      shape = domainShape(read);
      continue;
    case Kind::Mul:
    case Kind::Div: {
      std::optional<double> c;
      Read rest;
      if (node.kind == Kind::Div) {
        c = evalConstant(node.operands[1]);
        if (c)
          c = 1.0 / *c;
        rest = node.operands[0];
      } else if (auto split = splitConstantOperand(node)) {
        rest = split->first;
        c = split->second;
      }
      if (!c) {
        why = "the scores are scaled by a value that is not a constant";
        return failure();
      }
      scores.scale *= *c;
      factor *= *c;
      read = rest;
      continue;
    }
    case Kind::Add: {
      // One operand continues to the contraction, the other is the mask.
      std::string firstWhy;
      for (int k = 0; k < 2; ++k) {
        const Read &chain = node.operands[k], &mask = node.operands[1 - k];
        Read chainCanon = canonical(chain);
        if (!isLeadingRegroup(chainCanon, shape))
          continue;
        std::string reason;
        FailureOr<Scores> rest =
            matchScores(chain, shape, factor, true, reason, budget, depth + 1);
        if (failed(rest)) {
          if (firstWhy.empty())
            firstWhy = reason;
          continue;
        }
        if (haveMask) {
          why = "more than one additive mask";
          return failure();
        }
        MaskContext ctx{shape, read, factor};
        FailureOr<MaskKind> kind = matchMask(mask, ctx, why);
        if (failed(kind))
          return failure();
        rest->scale *= scores.scale;
        rest->causal |= *kind == MaskKind::Causal;
        rest->types.append(scores.types);
        return rest;
      }
      why = firstWhy.empty() ? "the softmax input is a sum of two tensors "
                               "neither of which is Q.K^T"
                             : firstWhy;
      return failure();
    }
    default:
      why = "the softmax input is not computed from a Q.K^T contraction";
      return failure();
    }
  }
  why = "the chain from Q.K^T to the softmax is too long";
  return failure();
}

//===----------------------------------------------------------------------===//
// Heads: tracing Q, K and V back to [B, H, S, D] tensors
//===----------------------------------------------------------------------===//

/// What a broadcast along a batch dimension of a traced operand means.
enum class BatchBroadcast {
  Stop,   ///< not followed
  Repeat, ///< K/V heads repeated for GQA (innermost batch dimension only)
  Drop,   ///< weights shared by every batch entry
};

/// A contraction operand seen as a stack of heads (or of tokens): which
/// dimensions of `base` form the flattened batch (row-major, in the
/// contraction's batch order), which is the sequence (-1: none) and which
/// the feature dimension. Unit dimensions that belong to none are in
/// `units`.
struct HeadsView {
  Value base;
  SmallVector<int64_t> batch, units;
  int64_t seq = -1, feature = 0;
  double scale = 1.0; ///< constant factors peeled off on the way
  int64_t repeat = 1; ///< each head is repeated this many times (GQA)
  /// Element types of the values between the contraction and `base`.
  SmallVector<Type> types;

  RankedTensorType type() const {
    return cast<RankedTensorType>(base.getType());
  }
  int64_t size(int64_t dim) const { return type().getDimSize(dim); }
  /// Sizes of the batch dimensions (kDynamic where dynamic).
  SmallVector<int64_t> batchSizes() const {
    return llvm::to_vector(
        llvm::map_range(batch, [&](int64_t d) { return size(d); }));
  }
  void normalizeUnits() {
    for (int64_t d : batch)
      if (size(d) == 1)
        units.push_back(d);
    llvm::erase_if(batch, [&](int64_t d) { return size(d) == 1; });
  }
};

/// Follows a data-moving read (transpose, broadcast, unit reshape) from the
/// current base to `read.value`.
static std::optional<HeadsView>
throughRead(const HeadsView &view, const Read &read, BatchBroadcast broadcast) {
  HeadsView next = view;
  next.base = read.value;
  auto find = [&](int64_t d) -> int64_t {
    for (auto [q, e] : llvm::enumerate(read.dims))
      if (e == d)
        return q;
    return -1;
  };
  for (int64_t e : read.dims)
    if (e == kReduced)
      return std::nullopt;
  // Unit dimensions are interchangeable: a unit sequence or feature
  // dimension may come from any unit dimension of the source.
  SmallVector<int64_t> freeUnits;
  for (auto [q, e] : llvm::enumerate(read.dims))
    if (e == kBroadcast)
      freeUnits.push_back(q);
  auto findRole = [&](int64_t d) -> int64_t {
    if (int64_t q = find(d); q >= 0)
      return q;
    if (view.size(d) != 1 || freeUnits.empty())
      return -1;
    return freeUnits.pop_back_val();
  };
  next.seq = view.seq >= 0 ? findRole(view.seq) : -1;
  next.feature = findRole(view.feature);
  if ((view.seq >= 0 && next.seq < 0) || next.feature < 0)
    return std::nullopt;
  next.batch.clear();
  for (auto [idx, d] : llvm::enumerate(view.batch)) {
    int64_t q = find(d);
    if (q >= 0) {
      next.batch.push_back(q);
      continue;
    }
    if (broadcast == BatchBroadcast::Drop)
      continue;
    // GQA: a broadcast along the innermost batch dimension repeats heads.
    if (broadcast != BatchBroadcast::Repeat || view.repeat != 1 ||
        idx + 1 != view.batch.size() || ShapedType::isDynamic(view.size(d)))
      return std::nullopt;
    next.repeat = view.size(d);
  }
  next.units.clear();
  for (int64_t d : view.units)
    if (int64_t q = find(d); q >= 0)
      next.units.push_back(q);
  next.units.append(freeUnits);
  if (next.batch.size() + next.units.size() + (next.seq >= 0) + 1 !=
      static_cast<size_t>(next.type().getRank()))
    return std::nullopt;
  next.normalizeUnits();
  return next;
}

/// Pairs of source and result dimension groups of a reshape between static
/// shapes, each pair holding the same number of elements (row-major).
static std::optional<
    SmallVector<std::pair<ReassociationIndices, ReassociationIndices>>>
matchReshapeGroups(ArrayRef<int64_t> src, ArrayRef<int64_t> dst) {
  SmallVector<std::pair<ReassociationIndices, ReassociationIndices>> groups;
  size_t i = 0, j = 0;
  while (i < src.size() || j < dst.size()) {
    ReassociationIndices s, d;
    int64_t ps = 1, pd = 1;
    if (i < src.size()) {
      s.push_back(i);
      ps *= src[i++];
    }
    if (j < dst.size()) {
      d.push_back(j);
      pd *= dst[j++];
    }
    while (ps != pd) {
      if (ps < pd && i < src.size()) {
        s.push_back(i);
        ps *= src[i++];
      } else if (pd < ps && j < dst.size()) {
        d.push_back(j);
        pd *= dst[j++];
      } else {
        return std::nullopt;
      }
    }
    if (ps == 0)
      return std::nullopt;
    // Trailing unit dimensions on one side only join the previous group.
    if ((s.empty() || d.empty()) && !groups.empty()) {
      groups.back().first.append(s.begin(), s.end());
      groups.back().second.append(d.begin(), d.end());
      continue;
    }
    groups.push_back({s, d});
  }
  return groups;
}

/// Follows a reshape from its result (the current base) to its source.
static std::optional<HeadsView> throughReshape(const HeadsView &view,
                                               Operation *reshape) {
  auto src = dyn_cast<RankedTensorType>(reshape->getOperand(0).getType());
  auto dst = dyn_cast<RankedTensorType>(reshape->getResult(0).getType());
  if (!src || !dst)
    return std::nullopt;
  // (source dims, result dims) holding the same elements.
  SmallVector<std::pair<ReassociationIndices, ReassociationIndices>> groups;
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(reshape)) {
    for (auto [g, group] : llvm::enumerate(collapse.getReassociationIndices()))
      groups.push_back({group, {static_cast<int64_t>(g)}});
  } else if (auto expand = dyn_cast<tensor::ExpandShapeOp>(reshape)) {
    for (auto [g, group] : llvm::enumerate(expand.getReassociationIndices()))
      groups.push_back({{static_cast<int64_t>(g)}, group});
  } else if (isa<tosa::ReshapeOp>(reshape) && src.hasStaticShape() &&
             dst.hasStaticShape()) {
    auto matched = matchReshapeGroups(src.getShape(), dst.getShape());
    if (!matched)
      return std::nullopt;
    groups = *matched;
  } else {
    return std::nullopt;
  }

  HeadsView next = view;
  next.base = reshape->getOperand(0);
  next.batch.clear();
  next.units.clear();
  next.seq = -1;
  // Source dims replacing each run of the batch, by the run's start.
  DenseMap<int64_t, std::pair<ReassociationIndices, int64_t>> runs;
  for (auto &[srcDims, dstDims] : groups) {
    SmallVector<int64_t> nonUnit;
    for (int64_t d : dstDims)
      if (!llvm::is_contained(view.units, d))
        nonUnit.push_back(d);
    if (nonUnit.empty()) {
      next.units.append(srcDims.begin(), srcDims.end());
      continue;
    }
    if (nonUnit.size() == 1 &&
        (nonUnit[0] == view.seq || nonUnit[0] == view.feature)) {
      // The role moves to the one non-unit source dim (any if all are unit).
      if (srcDims.empty())
        return std::nullopt;
      int64_t chosen = srcDims.back(), count = 0;
      for (int64_t d : srcDims)
        if (src.getDimSize(d) != 1) {
          chosen = d;
          ++count;
        }
      if (count > 1)
        return std::nullopt;
      (nonUnit[0] == view.seq ? next.seq : next.feature) = chosen;
      for (int64_t d : srcDims)
        if (d != chosen)
          next.units.push_back(d);
      continue;
    }
    // A run of the batch, contiguous and in order.
    auto it = llvm::find(view.batch, nonUnit[0]);
    if (it == view.batch.end() ||
        static_cast<size_t>(view.batch.end() - it) < nonUnit.size() ||
        !std::equal(nonUnit.begin(), nonUnit.end(), it))
      return std::nullopt;
    runs[it - view.batch.begin()] = {srcDims,
                                     static_cast<int64_t>(nonUnit.size())};
  }
  for (size_t p = 0; p < view.batch.size();) {
    auto run = runs.find(p);
    if (run == runs.end())
      return std::nullopt;
    next.batch.append(run->second.first.begin(), run->second.first.end());
    p += run->second.second;
  }
  if ((view.seq >= 0) != (next.seq >= 0) ||
      next.batch.size() + next.units.size() + (next.seq >= 0) + 1 !=
          static_cast<size_t>(next.type().getRank()))
    return std::nullopt;
  next.normalizeUnits();
  return next;
}

/// A read of `value` through the data-moving linalg op that defines it (a
/// broadcast, a transpose, a copy: its body yields one of its inputs), as a
/// read of that input. canonical() would walk on into a computation feeding
/// the input (RoPE ahead of a GQA repeat, say) and lose the tensor-level view.
static std::optional<Read> throughDataMove(Value value) {
  auto linalgOp = value.getDefiningOp<linalg::LinalgOp>();
  if (!linalgOp || !isElementwise(linalgOp) || linalgOp->getNumResults() != 1)
    return std::nullopt;
  auto yielded = dyn_cast<BlockArgument>(
      linalgOp.getBlock()->getTerminator()->getOperand(0));
  if (!yielded || yielded.getOwner() != linalgOp.getBlock())
    return std::nullopt;
  OpOperand *operand = linalgOp.getMatchingOpOperand(yielded);
  if (!linalgOp.isDpsInput(operand) ||
      !isa<RankedTensorType>(operand->get().getType()))
    return std::nullopt;
  Read read = Read::of(value);
  auto dims = composeMap(linalgOp.getMatchingIndexingMap(operand),
                         loopsOf(linalgOp, read.dims), operand->get());
  if (!dims)
    return std::nullopt;
  return Read{operand->get(), nullptr, *dims};
}

/// Traces a contraction operand back through transposes, reshapes, casts,
/// constant scales (`allowScale`) and batch broadcasts.
/// Returns every stage, the contraction operand first.
static SmallVector<HeadsView> traceHeads(HeadsView view, bool allowScale,
                                         BatchBroadcast broadcast) {
  view.normalizeUnits();
  SmallVector<HeadsView> stages = {view};
  for (int guard = 0; guard < 64; ++guard) {
    HeadsView &cur = stages.back();
    Read read = Read::of(cur.base);
    double scale = 1.0;
    SmallVector<Type> types;
    std::optional<HeadsView> next;
    for (int step = 0; step < 16 && !next; ++step) {
      Read c = canonical(read);
      if (!c.isTensor() && read.value == cur.base)
        if (std::optional<Read> moved = throughDataMove(cur.base))
          c = *moved;
      if (c.isTensor() && c.value != cur.base) {
        next = throughRead(cur, c, broadcast);
        if (!next)
          break;
        continue;
      }
      Node node = getNode(c);
      if (node.kind == Kind::Reshape && c.value == cur.base) {
        next = throughReshape(cur, node.op);
        if (!next)
          break;
        continue;
      }
      if (node.kind == Kind::ExtF || node.kind == Kind::TruncF) {
        types.push_back(node.type);
        read = node.operands[0];
        continue;
      }
      if (allowScale && (node.kind == Kind::Mul || node.kind == Kind::Div)) {
        std::optional<std::pair<Read, double>> split;
        if (node.kind == Kind::Mul) {
          split = splitConstantOperand(node);
        } else if (auto c = evalConstant(node.operands[1])) {
          split = std::make_pair(node.operands[0], 1.0 / *c);
        }
        if (!split)
          break;
        types.push_back(node.type);
        scale *= split->second;
        read = split->first;
        continue;
      }
      break;
    }
    if (!next)
      break;
    next->scale = cur.scale * scale;
    next->types = cur.types;
    next->types.push_back(elementTypeOf(cur.base));
    next->types.append(types);
    stages.push_back(*next);
  }
  return stages;
}

//===----------------------------------------------------------------------===//
// Attention: match and rewrite
//===----------------------------------------------------------------------===//

/// Precision order of the float types sieve.attention takes.
static Type widerFloat(Type a, Type b) {
  if (!a)
    return b;
  if (a == b)
    return a;
  auto fa = cast<FloatType>(a), fb = cast<FloatType>(b);
  if (fa.getWidth() != fb.getWidth())
    return fa.getWidth() > fb.getWidth() ? a : b;
  // f16 and bf16: neither holds the other; f32 holds both.
  return Float32Type::get(a.getContext());
}

static bool isSieveFloat(Type type) {
  return type.isF32() || type.isF16() || type.isBF16();
}

/// Whether an intermediate of type `t` keeps all of `target`'s precision.
static bool holds(Type t, Type target) {
  auto ft = dyn_cast<FloatType>(t);
  if (!ft)
    return false;
  return t == target || ft.getWidth() > cast<FloatType>(target).getWidth();
}

static std::string typeString(Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << type;
  return s;
}

struct AttentionMatch {
  Contraction pv;
  Scores scores;
  HeadsView q, k, v;
  bool natural = true; ///< split the batch as [B, H]; else [1, B*H]
  Type elementType;    ///< of sieve.attention
  Value result;        ///< the value the attention replaces
};

/// Picks the stages of Q, K and V and how to split their batch.
static bool planHeads(ArrayRef<HeadsView> qs, ArrayRef<HeadsView> ks,
                      ArrayRef<HeadsView> vs, AttentionMatch &m) {
  auto sameSizes = [](ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
    if (a.size() != b.size())
      return false;
    for (auto [x, y] : llvm::zip(a, b))
      if (x != y)
        return false;
    return true;
  };
  auto product = [](ArrayRef<int64_t> sizes) -> int64_t {
    int64_t p = 1;
    for (int64_t s : sizes) {
      if (ShapedType::isDynamic(s))
        return ShapedType::kDynamic;
      p *= s;
    }
    return p;
  };
  const HeadsView &q = qs.back();
  SmallVector<int64_t> qb = q.batchSizes();
  // Grouped-query attention: K and V broadcast the same heads. Each is taken
  // at the stage right behind its repeat: further back K and V may part
  // ways (K through RoPE, V through a reshape that merges heads).
  auto behindRepeat = [](ArrayRef<HeadsView> stages) {
    for (const HeadsView &s : stages)
      if (s.repeat > 1)
        return s;
    return stages.back();
  };
  HeadsView kDeep = behindRepeat(ks), vDeep = behindRepeat(vs);
  if (kDeep.repeat > 1 && kDeep.repeat == vDeep.repeat) {
    SmallVector<int64_t> kb = kDeep.batchSizes(), vb = vDeep.batchSizes();
    int64_t hkv = kb.empty() ? 1 : kb.back();
    int64_t hq = qb.empty() ? 1 : qb.back();
    ArrayRef<int64_t> kLead = ArrayRef(kb).drop_back(kb.empty() ? 0 : 1);
    ArrayRef<int64_t> qLead = ArrayRef(qb).drop_back(qb.empty() ? 0 : 1);
    bool leadOk =
        sameSizes(kLead, qLead) || (!ShapedType::isDynamic(product(kLead)) &&
                                    product(kLead) == product(qLead));
    if (sameSizes(kb, vb) && !ShapedType::isDynamic(hkv) &&
        !ShapedType::isDynamic(hq) && hq == hkv * kDeep.repeat && leadOk &&
        kLead.size() <= 1 && qLead.size() <= 1) {
      m.q = q;
      m.k = kDeep;
      m.v = vDeep;
      m.natural = true;
      return true;
    }
  }
  // Without GQA: the stages before any head broadcast.
  auto lastPlain = [](ArrayRef<HeadsView> stages) {
    for (const HeadsView &s : llvm::reverse(stages))
      if (s.repeat == 1)
        return s;
    return stages.front();
  };
  m.q = q;
  m.k = lastPlain(ks);
  m.v = lastPlain(vs);
  m.natural = sameSizes(qb, m.k.batchSizes()) &&
              sameSizes(qb, m.v.batchSizes()) && qb.size() <= 2;
  return true;
}

/// A dimension size as an OpFoldResult.
static OpFoldResult dimOf(OpBuilder &b, Location loc, Value tensor,
                          int64_t dim) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (!type.isDynamicDim(dim))
    return b.getIndexAttr(type.getDimSize(dim));
  return tensor::DimOp::create(b, loc, tensor, dim).getResult();
}

static Value expandTo(OpBuilder &b, Location loc, Value src,
                      ArrayRef<ReassociationIndices> groups,
                      ArrayRef<OpFoldResult> shape) {
  auto [staticShape, dynamic] = decomposeMixedValues(
      SmallVector<OpFoldResult>(shape.begin(), shape.end()));
  auto type = RankedTensorType::get(
      staticShape, cast<RankedTensorType>(src.getType()).getElementType());
  return tensor::ExpandShapeOp::create(b, loc, type, src, groups, shape);
}

/// Builds the [B, H, S, D] tensor of a view, in `elementType`.
static Value buildHeads(OpBuilder &b, Location loc, const HeadsView &view,
                        bool natural, Type elementType) {
  Value t = view.base;
  SmallVector<int64_t> order(view.units);
  order.append(view.batch);
  order.push_back(view.seq);
  order.push_back(view.feature);
  if (!llvm::equal(order, llvm::seq<int64_t>(0, order.size()))) {
    SmallVector<OpFoldResult> sizes;
    for (int64_t d : order)
      sizes.push_back(dimOf(b, loc, t, d));
    Value init = tensor::EmptyOp::create(
        b, loc, sizes, cast<RankedTensorType>(t.getType()).getElementType());
    t = linalg::TransposeOp::create(b, loc, t, init, order).getResult()[0];
  }
  int64_t lead = order.size() - 2;
  auto tail = [&](int64_t start) {
    return SmallVector<ReassociationIndices>{{start}, {start + 1}};
  };
  if (lead == 0) {
    t = expandTo(b, loc, t, {{0, 1, 2}, {3}},
                 {b.getIndexAttr(1), b.getIndexAttr(1), dimOf(b, loc, t, 0),
                  dimOf(b, loc, t, 1)});
  } else if (lead == 2 && (natural || !view.units.empty())) {
    // Already [B, H, S, D] (units first, so a unit B stays in front; with a
    // unit B it is also the flat [1, B*H, S, D]).
  } else if (natural && lead > 2) {
    ReassociationIndices first;
    for (int64_t d = 0; d < lead - 1; ++d)
      first.push_back(d);
    SmallVector<ReassociationIndices> groups = {first, {lead - 1}};
    groups.append(tail(lead));
    t = tensor::CollapseShapeOp::create(b, loc, t, groups);
  } else if (!view.units.empty() && lead > 2) {
    // [units..., batch..., S, D] -> [1, FB, S, D].
    int64_t units = view.units.size();
    ReassociationIndices unitGroup, batchGroup;
    for (int64_t d = 0; d < units; ++d)
      unitGroup.push_back(d);
    for (int64_t d = units; d < lead; ++d)
      batchGroup.push_back(d);
    SmallVector<ReassociationIndices> groups = {unitGroup, batchGroup};
    groups.append(tail(lead));
    t = tensor::CollapseShapeOp::create(b, loc, t, groups);
  } else {
    // [.., S, D] -> [FB, S, D] -> [1, FB, S, D].
    if (lead > 1) {
      ReassociationIndices all;
      for (int64_t d = 0; d < lead; ++d)
        all.push_back(d);
      SmallVector<ReassociationIndices> groups = {all};
      groups.append(tail(lead));
      t = tensor::CollapseShapeOp::create(b, loc, t, groups);
    }
    t = expandTo(b, loc, t, {{0, 1}, {2}, {3}},
                 {b.getIndexAttr(1), dimOf(b, loc, t, 0), dimOf(b, loc, t, 1),
                  dimOf(b, loc, t, 2)});
  }
  if (elementTypeOf(t) != elementType)
    t = arith::ExtFOp::create(
        b, loc, cast<RankedTensorType>(t.getType()).clone(elementType), t);
  return t;
}

/// A single-use elementwise truncation of `value`, if any.
static Value truncatingUser(Value value) {
  if (!value.hasOneUse())
    return nullptr;
  Operation *user = *value.getUsers().begin();
  if (user->getNumResults() != 1 ||
      user->getResult(0).getType() == value.getType())
    return nullptr;
  Node node = getNode(Read::of(user->getResult(0)));
  if (node.kind != Kind::TruncF ||
      canonical(node.operands[0]) != Read::of(value))
    return nullptr;
  return user->getResult(0);
}

/// Matches the attention whose second contraction is `root`.
static FailureOr<AttentionMatch> matchAttention(Operation *root,
                                                std::string &why) {
  AttentionMatch m;
  FailureOr<Contraction> pv = matchContraction(root, why);
  if (failed(pv))
    return failure();
  if (!pv->isPlainBatched()) {
    why = "P.V is not a batched [.., Sq, Sk] x [.., Sk, Dv] contraction";
    return failure();
  }
  m.pv = *pv;
  int64_t nb = pv->resBatch.size();
  // P must be [batch..., Sq, Sk] with the contraction over Sk.
  for (int64_t i = 0; i < nb; ++i)
    if (pv->lhsBatch[i] != i) {
      why = "P is transposed in P.V";
      return failure();
    }
  if (pv->lhsM[0] != nb || pv->lhsK[0] != nb + 1) {
    why = "P.V does not contract over the key dimension of the softmax";
    return failure();
  }

  // P: casts and batch reshapes, then the softmax.
  SmallVector<Type> types = {pv->accType};
  Read p = Read::of(pv->lhs);
  SmallVector<int64_t> shape = domainShape(p);
  std::optional<Read> x;
  double expScale = 1.0;
  for (int step = 0; step < 16 && !x; ++step) {
    Read c = canonical(p);
    if (!isLeadingRegroup(c, shape)) {
      why = "P is transposed or broadcast between the softmax and P.V";
      return failure();
    }
    shape = domainShape(c);
    p = rebase(c);
    Node node = getNode(p);
    if (node.kind == Kind::ExtF || node.kind == Kind::TruncF) {
      types.push_back(node.type);
      p = node.operands[0];
      continue;
    }
    if (node.kind == Kind::Reshape) {
      if (!keepsLastTwo(node.op)) {
        why = "a reshape between the softmax and P.V moves the sequence "
              "dimensions";
        return failure();
      }
      p = node.operands[0];
      shape = domainShape(p);
      continue;
    }
    x = matchSoftmax(p, shape.size() - 1, types, expScale, why);
    if (!x)
      return failure();
  }
  if (!x) {
    why = "P is not a softmax";
    return failure();
  }
  Read xc = canonical(*x);
  if (!isLeadingRegroup(xc, shape)) {
    why = "the softmax input is transposed or broadcast";
    return failure();
  }
  int budget = 256;
  FailureOr<Scores> scores =
      matchScores(*x, shape, expScale, /*haveMask=*/false, why, budget);
  if (failed(scores))
    return failure();
  m.scores = *scores;
  m.scores.scale *= expScale;
  types.append(scores->types);

  // Q, K and V as stacks of heads.
  const Contraction &qk = scores->qk;
  HeadsView q{qk.lhs, qk.lhsBatch, {}, qk.lhsM[0], qk.lhsK[0]};
  HeadsView k{qk.rhs, qk.rhsBatch, {}, qk.rhsN[0], qk.rhsK[0]};
  HeadsView v{pv->rhs, pv->rhsBatch, {}, pv->rhsK[0], pv->rhsN[0]};
  SmallVector<HeadsView> qs = traceHeads(q, true, BatchBroadcast::Stop);
  SmallVector<HeadsView> ks = traceHeads(k, true, BatchBroadcast::Repeat);
  SmallVector<HeadsView> vs = traceHeads(v, false, BatchBroadcast::Repeat);
  if (!planHeads(qs, ks, vs, m)) {
    why = "Q, K and V do not have matching heads";
    return failure();
  }

  // The value to replace: P.V, or its truncation.
  m.result = pv->result;
  if (Value trunc = truncatingUser(m.result))
    m.result = trunc;

  // Element type: the widest of Q, K, V and the result.
  Type elementType;
  for (Type t : {elementTypeOf(m.q.base), elementTypeOf(m.k.base),
                 elementTypeOf(m.v.base), elementTypeOf(m.result)}) {
    if (!isa<FloatType>(t)) {
      why = "non-float operands";
      return failure();
    }
    elementType = widerFloat(elementType, t);
  }
  if (!isSieveFloat(elementType)) {
    why = "attention in " + typeString(elementType) +
          " (sieve.attention takes f32, f16 or bf16)";
    return failure();
  }
  m.elementType = elementType;
  for (const HeadsView *view : {&m.q, &m.k, &m.v})
    types.append(view->types);
  for (Type t : types)
    if (!holds(t, elementType)) {
      why = "an intermediate is computed in " + typeString(t) +
            ", narrower than the attention's " + typeString(elementType);
      return failure();
    }
  return m;
}

/// The operands of `op` and the values its regions capture.
static SmallVector<Value> producersOf(Operation *op) {
  SetVector<Value> used(op->getOperands().begin(), op->getOperands().end());
  getUsedValuesDefinedAbove(op->getRegions(), used);
  return used.takeVector();
}

/// Erases the ops that fed `seeds` and are now dead.
static void eraseDeadProducers(PatternRewriter &rewriter,
                               SmallVector<Value> seeds) {
  SmallVector<Operation *> worklist;
  for (Value v : seeds)
    if (Operation *op = v.getDefiningOp())
      worklist.push_back(op);
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (!op->use_empty() || !isMemoryEffectFree(op) ||
        op->hasTrait<OpTrait::IsTerminator>())
      continue;
    for (Value operand : producersOf(op))
      if (Operation *def = operand.getDefiningOp())
        worklist.push_back(def);
    // An op may be queued twice; erase it once.
    llvm::erase(worklist, op);
    rewriter.eraseOp(op);
  }
}

static void rewriteAttention(PatternRewriter &rewriter, Operation *root,
                             const AttentionMatch &m) {
  Location loc = root->getLoc();
  rewriter.setInsertionPoint(root);
  Value q = buildHeads(rewriter, loc, m.q, m.natural, m.elementType);
  Value k = buildHeads(rewriter, loc, m.k, m.natural, m.elementType);
  Value v = buildHeads(rewriter, loc, m.v, m.natural, m.elementType);

  double scale = m.scores.scale * m.q.scale * m.k.scale;
  FloatAttr scaleAttr;
  int64_t d = cast<RankedTensorType>(q.getType()).getDimSize(3);
  bool isDefault =
      !ShapedType::isDynamic(d) &&
      std::abs(scale * std::sqrt(static_cast<double>(d)) - 1.0) <= 1e-6;
  if (!isDefault)
    scaleAttr = rewriter.getF32FloatAttr(static_cast<float>(scale));
  Value attention =
      AttentionOp::create(rewriter, loc, q, k, v, scaleAttr, m.scores.causal,
                          /*qk_precision=*/nullptr)
          .getResult();

  // A reshape of the result back to [B, H, S, D] is the attention itself.
  auto attType = cast<RankedTensorType>(attention.getType());
  Value result = m.result;
  if (result.hasOneUse()) {
    Operation *user = *result.getUsers().begin();
    if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp, tosa::ReshapeOp>(
            user) &&
        user->getResult(0).getType() == attType && keepsLastTwo(user))
      result = user->getResult(0);
  }

  // Back to the layout and type of the replaced value.
  auto target = cast<RankedTensorType>(result.getType());
  Value out = attention;
  int64_t nb = target.getRank() - 2;
  bool same = nb == 2 && target.getShape().take_front(2) ==
                             attType.getShape().take_front(2);
  if (!same && nb == 0) {
    out = tensor::CollapseShapeOp::create(
        rewriter, loc, out, SmallVector<ReassociationIndices>{{0, 1, 2}, {3}});
  } else if (!same) {
    out = tensor::CollapseShapeOp::create(
        rewriter, loc, out,
        SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}});
    if (nb > 1) {
      // The batch sizes of P.V are those of P.
      SmallVector<OpFoldResult> sizes;
      for (int64_t i = 0; i < nb; ++i)
        sizes.push_back(dimOf(rewriter, loc, m.pv.lhs, i));
      sizes.push_back(dimOf(rewriter, loc, out, 1));
      sizes.push_back(dimOf(rewriter, loc, out, 2));
      ReassociationIndices first;
      for (int64_t i = 0; i < nb; ++i)
        first.push_back(i);
      out = expandTo(rewriter, loc, out, {first, {nb}, {nb + 1}}, sizes);
    }
  }
  if (elementTypeOf(out) != target.getElementType())
    out = arith::TruncFOp::create(
        rewriter, loc,
        cast<RankedTensorType>(out.getType()).clone(target.getElementType()),
        out);
  if (out.getType() != target)
    out = tensor::CastOp::create(rewriter, loc, target, out);

  Operation *replaced = result.getDefiningOp();
  SmallVector<Value> seeds = producersOf(replaced);
  rewriter.replaceOp(replaced, out);
  eraseDeadProducers(rewriter, seeds);
}

struct FuseAttentionPattern : public RewritePattern {
  FuseAttentionPattern(MLIRContext *context)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, context) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (!isContractionLike(op))
      return failure();
    std::string why;
    FailureOr<AttentionMatch> match = matchAttention(op, why);
    if (failed(match)) {
      Value lhs = op->getOperand(0);
      if (looksLikeSoftmax(lhs))
        op->emitRemark() << "not raised to sieve.attention: " << why;
      return rewriter.notifyMatchFailure(op, why);
    }
    rewriteAttention(rewriter, op, *match);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Gate: sigmoid(act(x . W1^T + b1) . w2 + b2) > threshold
//===----------------------------------------------------------------------===//

/// Whether `read` maps onto the domain of shape `shape` keeping the
/// flattened (row-major) order: its non-broadcast dimensions increase and
/// cover every non-unit domain dimension. With `lastToLast`, its last
/// dimension is the domain's last.
static bool isOrderPreserving(const Read &read, ArrayRef<int64_t> shape,
                              bool lastToLast) {
  SmallVector<int64_t> own = domainShape(read);
  if (own.size() != read.dims.size())
    return false;
  if (lastToLast &&
      (own.empty() || shape.empty() ||
       read.dims.back() != static_cast<int64_t>(shape.size()) - 1))
    return false;
  int64_t last = -1;
  llvm::SmallDenseSet<int64_t> covered;
  for (int64_t d : read.dims) {
    if (d == kBroadcast)
      continue;
    if (d < 0 || d <= last)
      return false;
    last = d;
    covered.insert(d);
  }
  for (auto [d, size] : llvm::enumerate(shape))
    if (size != 1 && !covered.contains(d))
      return false;
  return true;
}

/// Follows extensions (extf) of a tensor read, recording their types.
static Read peelExtension(Read read, SmallVectorImpl<Type> &types) {
  for (int step = 0; step < 4; ++step) {
    Read c = canonical(read);
    Node node = getNode(c);
    if (node.kind != Kind::ExtF || !c.isTensor())
      return c;
    types.push_back(node.type);
    read = node.operands[0];
  }
  return canonical(read);
}

/// Whether a read is the same value everywhere in its domain (every
/// dimension broadcast): a scalar bias.
static bool isScalarRead(const Read &read) {
  if (evalConstant(read))
    return true;
  Read c = canonical(read);
  if (!isa<ShapedType>(c.value.getType()) && !c.owner)
    return true;
  SmallVector<int64_t> shape = domainShape(c);
  for (auto [i, d] : llvm::enumerate(c.dims))
    if (d != kBroadcast && shape[i] != 1)
      return false;
  return true;
}

/// Relative tolerance for constants of a float type (they were rounded).
static double constantTolerance(Type type) {
  auto f = dyn_cast<FloatType>(type);
  if (!f)
    return 1e-6;
  return std::max(
      1e-6, 4.0 * std::ldexp(1.0, -static_cast<int>(f.getFPMantissaWidth())));
}

static bool approx(double value, double expected, Type type) {
  return std::abs(value - expected) <=
         constantTolerance(type) * std::abs(expected);
}

/// -z: negf, 0 - z or z * -1.
static std::optional<Read> matchNegation(const Read &read) {
  Node node = getNode(read);
  if (node.kind == Kind::Neg)
    return node.operands[0];
  if (node.kind == Kind::Sub) {
    auto zero = evalConstant(node.operands[0]);
    if (zero && *zero == 0.0)
      return node.operands[1];
  }
  if (node.kind == Kind::Mul)
    if (auto split = splitConstantOperand(node); split && split->second == -1.0)
      return split->first;
  return std::nullopt;
}

/// 1 + exp(-z): returns z.
static std::optional<Read> matchOnePlusExpNeg(const Read &read) {
  Node node = getNode(read);
  if (node.kind != Kind::Add)
    return std::nullopt;
  auto split = splitConstantOperand(node);
  if (!split || split->second != 1.0)
    return std::nullopt;
  Node exp = getNode(split->first);
  if (exp.kind != Kind::Exp)
    return std::nullopt;
  return matchNegation(exp.operands[0]);
}

/// sigmoid(z): tosa.sigmoid, 1 / (1 + exp(-z)) or reciprocal(1 + exp(-z)).
static std::optional<Read> matchSigmoid(const Read &read) {
  Node node = getNode(read);
  if (node.kind == Kind::Sigmoid)
    return node.operands[0];
  if (node.kind == Kind::Recip)
    return matchOnePlusExpNeg(node.operands[0]);
  if (node.kind == Kind::Div) {
    auto one = evalConstant(node.operands[0]);
    if (one && *one == 1.0)
      return matchOnePlusExpNeg(node.operands[1]);
  }
  return std::nullopt;
}

/// Flattens a product into its constant factor and other factors.
static void collectFactors(const Read &read, double &constant,
                           SmallVectorImpl<Read> &factors, int depth = 4) {
  if (auto c = evalConstant(read)) {
    constant *= *c;
    return;
  }
  Node node = getNode(read);
  if (depth > 0 && node.kind == Kind::Mul) {
    collectFactors(node.operands[0], constant, factors, depth - 1);
    collectFactors(node.operands[1], constant, factors, depth - 1);
    return;
  }
  if (depth > 0 && node.kind == Kind::Div) {
    if (auto c = evalConstant(node.operands[1])) {
      constant /= *c;
      collectFactors(node.operands[0], constant, factors, depth - 1);
      return;
    }
  }
  factors.push_back(read);
}

/// The activation of the gate's hidden layer: relu (max(u, 0), a clamp at 0
/// or select(u > 0, u, 0)), silu (u * sigmoid(u), u / (1 + exp(-u))) or the
/// exact gelu (u * 0.5 * (1 + erf(u / sqrt(2))), in any association).
/// Returns the activation and u.
static std::optional<std::pair<Activation, Read>>
matchActivation(const Read &read, std::string &why) {
  Node node = getNode(read);
  // relu
  if (node.kind == Kind::Max) {
    if (auto split = splitConstantOperand(node); split && split->second == 0.0)
      return std::make_pair(Activation::Relu, split->first);
  }
  if (node.kind == Kind::Clamp && node.lo == 0.0 && node.hi >= 3.0e38)
    return std::make_pair(Activation::Relu, node.operands[0]);
  if (node.kind == Kind::Select) {
    Node cmp = getNode(node.operands[0]);
    auto zeroAt = [&](const Read &r) {
      auto c = evalConstant(r);
      return c && *c == 0.0;
    };
    using P = arith::CmpFPredicate;
    auto pred = static_cast<P>(cmp.predicate);
    bool greater =
        pred == P::OGT || pred == P::OGE || pred == P::UGT || pred == P::UGE;
    bool less =
        pred == P::OLT || pred == P::OLE || pred == P::ULT || pred == P::ULE;
    if (cmp.kind == Kind::CmpF && zeroAt(cmp.operands[1])) {
      const Read &u = cmp.operands[0];
      if (greater && sameRead(node.operands[1], u) && zeroAt(node.operands[2]))
        return std::make_pair(Activation::Relu, u);
      if (less && zeroAt(node.operands[1]) && sameRead(node.operands[2], u))
        return std::make_pair(Activation::Relu, u);
    }
  }
  // silu
  if (node.kind == Kind::Mul) {
    for (int k = 0; k < 2; ++k)
      if (auto z = matchSigmoid(node.operands[1 - k]);
          z && sameRead(*z, node.operands[k]))
        return std::make_pair(Activation::Silu, node.operands[k]);
  }
  if (node.kind == Kind::Div) {
    if (auto z = matchOnePlusExpNeg(node.operands[1]);
        z && sameRead(*z, node.operands[0]))
      return std::make_pair(Activation::Silu, node.operands[0]);
  }
  // gelu: u, 0.5 and (1 + erf(u / sqrt(2))) as factors.
  if (node.kind == Kind::Mul) {
    double constant = 1.0;
    SmallVector<Read> factors;
    collectFactors(read, constant, factors);
    if (factors.size() == 2) {
      for (int k = 0; k < 2; ++k) {
        const Read &u = factors[k];
        Node add = getNode(factors[1 - k]);
        if (add.kind != Kind::Add)
          continue;
        auto split = splitConstantOperand(add);
        if (!split || split->second != 1.0)
          continue;
        Node erf = getNode(split->first);
        if (erf.kind != Kind::Erf)
          continue;
        double inner = 1.0;
        SmallVector<Read> innerFactors;
        collectFactors(erf.operands[0], inner, innerFactors);
        if (innerFactors.size() != 1 || !sameRead(innerFactors[0], u))
          continue;
        if (!approx(inner, M_SQRT1_2, erf.type) ||
            !approx(constant, 0.5, node.type)) {
          why = "the activation is not the exact (erf) gelu";
          return std::nullopt;
        }
        return std::make_pair(Activation::Gelu, u);
      }
    }
  }
  why = "the hidden activation is not relu, silu or the exact gelu";
  return std::nullopt;
}

struct GateMatch {
  HeadsView x, w1, w2;
  std::optional<Read> b1, b2;
  Activation activation;
  double threshold = 0.0;
  std::optional<double> capacity; ///< top-k routing instead of a threshold
  Value mask;                     ///< the comparison's result
  Value score; ///< the sigmoid's result, when it is a tensor of its own
  Type elementType;
};

/// Follows casts and order-preserving reshapes from `read` (domain `shape`)
/// to a contraction result. `types` collects the element types passed.
static FailureOr<Contraction>
contractionBehind(Read read, SmallVector<int64_t> shape, bool lastToLast,
                  SmallVectorImpl<Type> &types, std::string &why,
                  StringRef what) {
  for (int step = 0; step < 16; ++step) {
    Read c = canonical(read);
    if (!isOrderPreserving(c, shape, lastToLast)) {
      why = (what + " is transposed or broadcast before its use").str();
      return failure();
    }
    shape = domainShape(c);
    read = rebase(c);
    Node node = getNode(read);
    types.push_back(node.type);
    if (read.isTensor()) {
      Operation *def = read.value.getDefiningOp();
      if (def && isContractionLike(def)) {
        std::string reason;
        FailureOr<Contraction> contraction = matchContraction(def, reason);
        if (failed(contraction))
          why = (what + ": " + reason).str();
        return contraction;
      }
    }
    if (node.kind == Kind::ExtF || node.kind == Kind::TruncF) {
      read = node.operands[0];
      continue;
    }
    if (node.kind == Kind::Reshape) {
      read = node.operands[0];
      shape = domainShape(read);
      continue;
    }
    break;
  }
  why = (what + " is not computed by a contraction").str();
  return failure();
}

/// Positions 0, 1, ... in order.
static bool isIota(ArrayRef<int64_t> values, int64_t start = 0) {
  for (auto [i, v] : llvm::enumerate(values))
    if (v != start + static_cast<int64_t>(i))
      return false;
  return true;
}

/// The token dimensions of a contraction result `[batch..., m..., n?]`.
static bool hasTokensThenN(const Contraction &c) {
  int64_t nb = c.resBatch.size(), nm = c.resM.size();
  return c.lhsK.size() == 1 && c.resN.size() <= 1 && isIota(c.resBatch) &&
         isIota(c.resM, nb) && (c.resN.empty() || c.resN[0] == nb + nm);
}

/// A top-k routing mask: `mask[b, s] = any_g(positions[b, g] == s)` over the
/// positions `sieve.select_global` picks (a linalg reduction over g of
/// `or(cmpi eq(positions, index s), acc)`, starting from false). Returns the
/// scores and the count.
static std::optional<std::pair<Value, int64_t>> matchTopKMask(Operation *root) {
  auto generic = dyn_cast<linalg::GenericOp>(root);
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 || generic.getNumLoops() != 3 ||
      generic.getNumReductionLoops() != 1 ||
      generic.getIteratorTypesArray()[2] != utils::IteratorType::reduction)
    return std::nullopt;
  auto select =
      generic.getDpsInputOperand(0)->get().getDefiningOp<SelectGlobalOp>();
  if (!select)
    return std::nullopt;
  MLIRContext *ctx = root->getContext();
  AffineExpr b = getAffineDimExpr(0, ctx), s = getAffineDimExpr(1, ctx),
             g = getAffineDimExpr(2, ctx);
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  if (maps[0] != AffineMap::get(3, 0, {b, g}, ctx) ||
      maps[1] != AffineMap::get(3, 0, {b, s}, ctx))
    return std::nullopt;
  std::optional<double> init =
      evalConstant(Read::of(generic.getDpsInitOperand(0)->get()));
  if (!init || *init != 0.0)
    return std::nullopt;
  // Payload: yield or(eq(position, index 1), acc).
  Block *body = generic.getBlock();
  Value in = body->getArgument(0), acc = body->getArgument(1);
  auto orOp =
      body->getTerminator()->getOperand(0).getDefiningOp<arith::OrIOp>();
  if (!orOp)
    return std::nullopt;
  Value eqValue = orOp.getLhs() == acc ? orOp.getRhs() : orOp.getLhs();
  if (orOp.getLhs() != acc && orOp.getRhs() != acc)
    return std::nullopt;
  auto eq = eqValue.getDefiningOp<arith::CmpIOp>();
  if (!eq || eq.getPredicate() != arith::CmpIPredicate::eq)
    return std::nullopt;
  auto strip = [](Value v) {
    while (Operation *def = v.getDefiningOp()) {
      if (!isa<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp>(def))
        break;
      v = def->getOperand(0);
    }
    return v;
  };
  auto isTokenIndex = [&](Value v) {
    auto index = strip(v).getDefiningOp<linalg::IndexOp>();
    return index && index.getDim() == 1;
  };
  Value lhs = strip(eq.getLhs()), rhs = strip(eq.getRhs());
  if (!((lhs == in && isTokenIndex(eq.getRhs())) ||
        (rhs == in && isTokenIndex(eq.getLhs()))))
    return std::nullopt;
  return std::make_pair(select.getScores(),
                        static_cast<int64_t>(select.getCount()));
}

/// Matches the gate whose final comparison is `root`. `looksLikeGate` is set
/// once a comparison of a sigmoid with a constant was found.
static FailureOr<GateMatch> matchGate(Operation *root, std::string &why,
                                      bool &looksLikeGate) {
  GateMatch m;
  if (root->getNumResults() != 1)
    return failure();
  auto maskType = dyn_cast<RankedTensorType>(root->getResult(0).getType());
  if (!maskType || !maskType.getElementType().isInteger(1))
    return failure();
  m.mask = root->getResult(0);
  Read score;
  std::optional<double> threshold;
  // The op computing the mask, before any reshape of it.
  Operation *producer = root;
  while (producer &&
         isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tosa::ReshapeOp>(
             producer))
    producer = producer->getOperand(0).getDefiningOp();
  if (auto topK = producer ? matchTopKMask(producer) : std::nullopt) {
    // Top-k routing: the k = count highest scores of each row of S.
    score = Read::of(topK->first);
    auto rows = cast<RankedTensorType>(producer->getResult(0).getType());
    int64_t tokens = rows.getShape().back();
    if (rows.getRank() != 2 || ShapedType::isDynamic(tokens)) {
      looksLikeGate = true;
      why = "a top-k mask over a dynamic sequence length has no constant "
            "capacity";
      return failure();
    }
    m.capacity = static_cast<double>(topK->second) / tokens;
    threshold = 0.0;
  } else {
    Node cmp = getNode(Read::of(m.mask));
    if (cmp.kind != Kind::CmpF)
      return failure();
    using P = arith::CmpFPredicate;
    auto pred = static_cast<P>(cmp.predicate);
    if (pred == P::OGT) {
      score = cmp.operands[0];
      threshold = evalConstant(cmp.operands[1]);
    } else if (pred == P::OLT) {
      score = cmp.operands[1];
      threshold = evalConstant(cmp.operands[0]);
    } else {
      return failure();
    }
    if (!threshold)
      return failure();
  }

  // The score: sigmoid(z), compared in f32.
  SmallVector<Type> scoreTypes, types;
  if (score.isTensor() && score.value != m.mask)
    m.score = score.value;
  std::optional<Read> z;
  SmallVector<int64_t> shape = domainShape(Read::of(m.mask));
  for (int step = 0; step < 8 && !z; ++step) {
    Read c = canonical(score);
    if (!isOrderPreserving(c, shape, /*lastToLast=*/false))
      return failure();
    shape = domainShape(c);
    score = rebase(c);
    Node node = getNode(score);
    scoreTypes.push_back(node.type);
    if (node.kind == Kind::ExtF || node.kind == Kind::TruncF) {
      score = node.operands[0];
      continue;
    }
    if (node.kind == Kind::Reshape) {
      score = node.operands[0];
      shape = domainShape(score);
      continue;
    }
    z = matchSigmoid(score);
    if (!z)
      return failure();
  }
  if (!z)
    return failure();
  looksLikeGate = true;
  if (!m.capacity && (*threshold < 0.0 || *threshold > 1.0)) {
    why = "the threshold is outside [0, 1]";
    return failure();
  }
  m.threshold = *threshold;

  // z = h . w2 + b2.
  Read y2 = *z;
  for (int step = 0; step < 8; ++step) {
    Node node = getNode(y2);
    scoreTypes.push_back(node.type);
    if (node.kind == Kind::ExtF || node.kind == Kind::TruncF) {
      y2 = node.operands[0];
      continue;
    }
    if (node.kind == Kind::Add && !m.b2) {
      for (int k = 0; k < 2; ++k)
        if (isScalarRead(node.operands[1 - k])) {
          m.b2 = evalConstant(node.operands[1 - k])
                     ? node.operands[1 - k]
                     : peelExtension(node.operands[1 - k], scoreTypes);
          y2 = node.operands[k];
          break;
        }
      if (m.b2)
        continue;
    }
    break;
  }
  FailureOr<Contraction> c2 =
      contractionBehind(y2, shape, false, scoreTypes, why, "the second layer");
  if (failed(c2))
    return failure();
  int64_t nb2 = c2->resBatch.size(), nm2 = c2->resM.size();
  if (!hasTokensThenN(*c2) || !isIota(c2->lhsBatch) || !isIota(c2->lhsM, nb2) ||
      c2->lhsK[0] != nb2 + nm2) {
    why = "the second layer is not a [tokens, Dh] x [Dh] product";
    return failure();
  }
  for (int64_t n : c2->rhsN)
    if (cast<RankedTensorType>(c2->rhs.getType()).getDimSize(n) != 1) {
      why = "the second layer has more than one output";
      return failure();
    }
  scoreTypes.push_back(c2->accType);

  // h = act(x . W1^T + b1).
  Read h = Read::of(c2->lhs);
  SmallVector<int64_t> hShape = domainShape(h);
  std::optional<std::pair<Activation, Read>> act;
  for (int step = 0; step < 8 && !act; ++step) {
    Read c = canonical(h);
    if (!isOrderPreserving(c, hShape, /*lastToLast=*/true)) {
      why = "the hidden layer is transposed or broadcast";
      return failure();
    }
    hShape = domainShape(c);
    h = rebase(c);
    Node node = getNode(h);
    types.push_back(node.type);
    if (node.kind == Kind::ExtF || node.kind == Kind::TruncF) {
      h = node.operands[0];
      continue;
    }
    if (node.kind == Kind::Reshape && keepsLast(node.op, 1)) {
      h = node.operands[0];
      hShape = domainShape(h);
      continue;
    }
    act = matchActivation(h, why);
    if (!act)
      return failure();
  }
  if (!act)
    return failure();
  m.activation = act->first;
  int64_t hidden = hShape.size() - 1;
  Read y1 = act->second;
  for (int step = 0; step < 8; ++step) {
    Node node = getNode(y1);
    types.push_back(node.type);
    if (node.kind == Kind::ExtF || node.kind == Kind::TruncF) {
      y1 = node.operands[0];
      continue;
    }
    if (node.kind == Kind::Add && !m.b1) {
      for (int k = 0; k < 2; ++k) {
        Read bias = peelExtension(node.operands[1 - k], types);
        if (!bias.isTensor() && isScalarRead(bias)) {
          m.b1 = bias;
        } else if (bias.isTensor() &&
                   llvm::count_if(bias.dims,
                                  [](int64_t d) { return d != kBroadcast; }) ==
                       1 &&
                   llvm::is_contained(bias.dims, hidden)) {
          m.b1 = bias;
        }
        if (m.b1) {
          y1 = node.operands[k];
          break;
        }
      }
      if (m.b1)
        continue;
    }
    break;
  }
  FailureOr<Contraction> c1 =
      contractionBehind(y1, hShape, true, types, why, "the first layer");
  if (failed(c1))
    return failure();
  if (!hasTokensThenN(*c1) || c1->resN.size() != 1) {
    why = "the first layer is not a [tokens, Dm] x [Dm, Dh] product";
    return failure();
  }
  types.push_back(c1->accType);

  // The operands as [B, S, Dm], [Dh, Dm] and [Dh].
  HeadsView x;
  x.base = c1->lhs;
  x.batch = c1->lhsBatch;
  x.batch.append(c1->lhsM);
  x.feature = c1->lhsK[0];
  HeadsView w1;
  w1.base = c1->rhs;
  w1.batch = c1->rhsBatch;
  w1.seq = c1->rhsN[0];
  w1.feature = c1->rhsK[0];
  HeadsView w2;
  w2.base = c2->rhs;
  w2.batch = c2->rhsBatch;
  w2.units = c2->rhsN;
  w2.feature = c2->rhsK[0];
  m.x = traceHeads(x, false, BatchBroadcast::Stop).back();
  m.w1 = traceHeads(w1, false, BatchBroadcast::Drop).back();
  m.w2 = traceHeads(w2, false, BatchBroadcast::Drop).back();
  if (!m.w1.batch.empty() || !m.w2.batch.empty()) {
    why = "the weights differ between batch entries";
    return failure();
  }

  // Element types: the MLP in the widest input type, the score in f32.
  Type elementType;
  SmallVector<Type> inputs = {elementTypeOf(m.x.base), elementTypeOf(m.w1.base),
                              elementTypeOf(m.w2.base)};
  if (m.b1)
    inputs.push_back(elementTypeOf(m.b1->value));
  for (Type t : inputs) {
    if (!isa<FloatType>(t)) {
      why = "non-float operands";
      return failure();
    }
    elementType = widerFloat(elementType, t);
  }
  if (!isSieveFloat(elementType)) {
    why = "a gate in " + typeString(elementType) +
          " (sieve.gate takes f32, f16 or bf16)";
    return failure();
  }
  m.elementType = elementType;
  for (const HeadsView *view : {&m.x, &m.w1, &m.w2})
    types.append(view->types);
  for (Type t : types)
    if (!holds(t, elementType)) {
      why = "an intermediate is computed in " + typeString(t) +
            ", narrower than the gate's " + typeString(elementType);
      return failure();
    }
  Type f32 = Float32Type::get(root->getContext());
  for (Type t : scoreTypes)
    if (!holds(t, f32)) {
      why = "the score is computed in " + typeString(t) +
            "; sieve.gate computes it in f32";
      return failure();
    }
  // The score is replaced too when it is f32 and all its other users are in
  // the comparison's block (the gate then goes before the first of them).
  if (m.score && (elementTypeOf(m.score) != f32 ||
                  llvm::any_of(m.score.getUsers(), [&](Operation *user) {
                    return user->getBlock() != root->getBlock();
                  })))
    m.score = nullptr;

  // The results must be reshapeable from sieve.gate's [B, S].
  SmallVector<int64_t> lead = m.x.batchSizes();
  SmallVector<int64_t> tokens = {1, 1};
  if (lead.size() == 1) {
    tokens[1] = lead[0];
  } else if (lead.size() >= 2) {
    tokens[1] = lead.back();
    tokens[0] = 1;
    for (int64_t s : ArrayRef(lead).drop_back())
      tokens[0] = ShapedType::isDynamic(s) || ShapedType::isDynamic(tokens[0])
                      ? ShapedType::kDynamic
                      : tokens[0] * s;
  }
  auto reshapeable = [&](Value v) {
    ArrayRef<int64_t> shape = cast<RankedTensorType>(v.getType()).getShape();
    return shape == ArrayRef<int64_t>(tokens) ||
           llvm::count_if(shape, ShapedType::isDynamic) <= 1;
  };
  if (!reshapeable(m.mask) || (m.score && !reshapeable(m.score))) {
    why = "the mask has more than one dynamic dimension besides [B, S]";
    return failure();
  }
  if (m.b2 && !evalConstant(*m.b2) && !canonical(*m.b2).isTensor()) {
    why = "the second bias is not a tensor";
    return failure();
  }
  return m;
}

/// `value` ([B, S]) reshaped to `target`, which has the same number of
/// elements in the same order.
static Value reshapeTokens(OpBuilder &b, Location loc, Value value,
                           RankedTensorType target) {
  auto type = cast<RankedTensorType>(value.getType());
  if (target.getShape() == type.getShape())
    return value;
  if (type.hasStaticShape() && target.hasStaticShape()) {
    // One expand_shape or collapse_shape when the reshape is either.
    if (auto groups = matchReshapeGroups(type.getShape(), target.getShape())) {
      SmallVector<ReassociationIndices> expand, collapse;
      bool canExpand = true, canCollapse = true;
      for (auto &[src, dst] : *groups) {
        canExpand &= src.size() == 1;
        canCollapse &= dst.size() == 1;
        expand.push_back(dst);
        collapse.push_back(src);
      }
      if (canExpand)
        return tensor::ExpandShapeOp::create(b, loc, target, value, expand);
      if (canCollapse)
        return tensor::CollapseShapeOp::create(b, loc, target, value, collapse);
    }
  }
  Value flat = tensor::CollapseShapeOp::create(
      b, loc, value, SmallVector<ReassociationIndices>{{0, 1}});
  if (target.getRank() == 1)
    return flat.getType() == target
               ? flat
               : tensor::CastOp::create(b, loc, target, flat).getResult();
  // The one dynamic size (if any) is the element count over the others.
  SmallVector<OpFoldResult> sizes;
  int64_t known = 1, dynamic = 0;
  for (int64_t size : target.getShape()) {
    if (ShapedType::isDynamic(size))
      ++dynamic;
    else
      known *= size;
  }
  if (dynamic > 1)
    return nullptr;
  for (int64_t size : target.getShape()) {
    if (!ShapedType::isDynamic(size)) {
      sizes.push_back(b.getIndexAttr(size));
      continue;
    }
    Value count = tensor::DimOp::create(b, loc, flat, 0);
    Value divisor = arith::ConstantIndexOp::create(b, loc, known);
    sizes.push_back(arith::DivUIOp::create(b, loc, count, divisor).getResult());
  }
  ReassociationIndices all;
  for (int64_t d = 0; d < target.getRank(); ++d)
    all.push_back(d);
  return expandTo(b, loc, flat, {all}, sizes);
}

/// The base of a view as `[batch..., seq?, feature]` in `elementType`, its
/// unit dimensions dropped; transposed only when the kept dimensions are out
/// of order.
static Value squeezeView(OpBuilder &b, Location loc, const HeadsView &view,
                         Type elementType) {
  Value t = view.base;
  SmallVector<int64_t> kept(view.batch);
  if (view.seq >= 0)
    kept.push_back(view.seq);
  kept.push_back(view.feature);
  int64_t rank = cast<RankedTensorType>(t.getType()).getRank();
  SmallVector<int64_t> keptPositions;
  if (llvm::is_sorted(kept)) {
    keptPositions = kept;
  } else {
    SmallVector<int64_t> order(view.units);
    order.append(kept);
    SmallVector<OpFoldResult> sizes;
    for (int64_t d : order)
      sizes.push_back(dimOf(b, loc, t, d));
    Value init = tensor::EmptyOp::create(b, loc, sizes, elementTypeOf(t));
    t = linalg::TransposeOp::create(b, loc, t, init, order).getResult()[0];
    for (size_t i = 0; i < kept.size(); ++i)
      keptPositions.push_back(view.units.size() + i);
  }
  if (rank > static_cast<int64_t>(kept.size())) {
    // Each unit dimension joins the next kept one (trailing: the last).
    SmallVector<ReassociationIndices> groups;
    ReassociationIndices current;
    for (int64_t d = 0; d < rank; ++d) {
      current.push_back(d);
      if (llvm::is_contained(keptPositions, d)) {
        groups.push_back(current);
        current.clear();
      }
    }
    groups.back().append(current.begin(), current.end());
    t = tensor::CollapseShapeOp::create(b, loc, t, groups);
  }
  if (elementTypeOf(t) != elementType)
    t = arith::ExtFOp::create(
        b, loc, cast<RankedTensorType>(t.getType()).clone(elementType), t);
  return t;
}

/// A 1-D tensor of `size` (static, or that of `like`'s dim) holding `value`.
static Value splatVector(OpBuilder &b, Location loc, double value,
                         Type elementType, Value like, int64_t dim) {
  OpFoldResult size = dimOf(b, loc, like, dim);
  Value init = tensor::EmptyOp::create(b, loc, {size}, elementType);
  Value scalar =
      arith::ConstantOp::create(b, loc, b.getFloatAttr(elementType, value));
  return linalg::FillOp::create(b, loc, scalar, init).getResult(0);
}

static void rewriteGate(PatternRewriter &rewriter, Operation *root,
                        const GateMatch &m) {
  Location loc = root->getLoc();
  Operation *insertionPoint = root;
  if (m.score)
    for (Operation *user : m.score.getUsers())
      if (user->isBeforeInBlock(insertionPoint))
        insertionPoint = user;
  rewriter.setInsertionPoint(insertionPoint);
  Type t = m.elementType;
  Type f32 = rewriter.getF32Type();

  // x: [tokens..., Dm] -> [B, S, Dm] ([1, S, Dm] is taken as it is).
  bool unitThenTokens = m.x.units == SmallVector<int64_t>{0} &&
                        m.x.batch == SmallVector<int64_t>{1} &&
                        m.x.feature == 2;
  Value x = unitThenTokens ? m.x.base : squeezeView(rewriter, loc, m.x, t);
  int64_t lead = unitThenTokens ? 2 : m.x.batch.size();
  if (unitThenTokens && elementTypeOf(x) != t)
    x = arith::ExtFOp::create(rewriter, loc,
                              cast<RankedTensorType>(x.getType()).clone(t), x);
  if (lead == 0) {
    x = expandTo(rewriter, loc, x, {{0, 1, 2}},
                 {rewriter.getIndexAttr(1), rewriter.getIndexAttr(1),
                  dimOf(rewriter, loc, x, 0)});
  } else if (lead == 1) {
    x = expandTo(rewriter, loc, x, {{0, 1}, {2}},
                 {rewriter.getIndexAttr(1), dimOf(rewriter, loc, x, 0),
                  dimOf(rewriter, loc, x, 1)});
  } else if (lead > 2) {
    ReassociationIndices first;
    for (int64_t d = 0; d < lead - 1; ++d)
      first.push_back(d);
    x = tensor::CollapseShapeOp::create(
        rewriter, loc, x,
        SmallVector<ReassociationIndices>{first, {lead - 1}, {lead}});
  }
  Value w1 = squeezeView(rewriter, loc, m.w1, t);
  Value w2 = squeezeView(rewriter, loc, m.w2, t);

  // b1: [Dh], zeros when absent.
  Value b1;
  if (m.b1 && m.b1->isTensor()) {
    HeadsView bias;
    bias.base = m.b1->value;
    for (auto [q, d] : llvm::enumerate(m.b1->dims))
      if (d == kBroadcast)
        bias.units.push_back(q);
      else
        bias.feature = q;
    b1 = squeezeView(rewriter, loc, bias, t);
  } else {
    double value = m.b1 ? evalConstant(*m.b1).value_or(0.0) : 0.0;
    b1 = splatVector(rewriter, loc, value, t, w1, 0);
  }

  // b2: a 0-D tensor, f32 unless it is the input's element type.
  Value b2;
  std::optional<double> b2Value =
      m.b2 ? evalConstant(*m.b2) : std::optional<double>(0.0);
  if (b2Value) {
    b2 = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(RankedTensorType::get({}, f32),
                               rewriter.getF32FloatAttr(*b2Value)));
  } else {
    b2 = canonical(*m.b2).value;
    auto type = cast<RankedTensorType>(b2.getType());
    if (type.getRank() > 0)
      b2 = tensor::CollapseShapeOp::create(rewriter, loc, b2,
                                           SmallVector<ReassociationIndices>{});
    Type bt = elementTypeOf(b2);
    if (bt != f32 && bt != t)
      b2 = arith::ExtFOp::create(rewriter, loc, RankedTensorType::get({}, f32),
                                 b2);
  }

  auto gate = GateOp::create(
      rewriter, loc, x, w1, b1, w2, b2,
      ActivationAttr::get(rewriter.getContext(), m.activation),
      m.capacity ? FloatAttr()
                 : rewriter.getF32FloatAttr(static_cast<float>(m.threshold)),
      m.capacity ? rewriter.getF32FloatAttr(static_cast<float>(*m.capacity))
                 : FloatAttr());

  Value mask = reshapeTokens(rewriter, loc, gate.getMask(),
                             cast<RankedTensorType>(m.mask.getType()));
  Value score;
  bool scoreUsed =
      m.score &&
      llvm::any_of(m.score.getUsers(), [&](Operation *u) { return u != root; });
  if (scoreUsed)
    score = reshapeTokens(rewriter, loc, gate.getScore(),
                          cast<RankedTensorType>(m.score.getType()));
  SmallVector<Value> seeds = producersOf(root);
  if (m.score)
    seeds.push_back(m.score);
  if (scoreUsed)
    rewriter.replaceAllUsesWith(m.score, score);
  rewriter.replaceOp(root, mask);
  eraseDeadProducers(rewriter, seeds);
}

struct FuseGatePattern : public RewritePattern {
  FuseGatePattern(MLIRContext *context)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, context) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (op->getNumResults() != 1 || isa<GateOp>(op))
      return failure();
    auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!type || !type.getElementType().isInteger(1))
      return failure();
    // A mask only reshaped afterwards is matched from the reshape.
    Value result = op->getResult(0);
    if (result.hasOneUse() &&
        isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tosa::ReshapeOp>(
            *result.getUsers().begin()))
      return failure();
    std::string why;
    bool looksLikeGate = false;
    FailureOr<GateMatch> match = matchGate(op, why, looksLikeGate);
    if (failed(match)) {
      if (looksLikeGate)
        op->emitRemark() << "not raised to sieve.gate: " << why;
      return rewriter.notifyMatchFailure(op, why);
    }
    rewriteGate(rewriter, op, *match);
    return success();
  }
};

} // namespace

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

void mlir::sieve::populateFuseAttentionPatterns(
    RewritePatternSet &patterns, const SieveFuseAttentionOptions &options) {
  if (options.attention)
    patterns.add<FuseAttentionPattern>(patterns.getContext());
  if (options.gate)
    patterns.add<FuseGatePattern>(patterns.getContext());
}

namespace {
/// Records the ops erased while the pass rewrites.
struct ErasedOps : public RewriterBase::Listener {
  void notifyOperationErased(Operation *op) override { erased.insert(op); }
  llvm::DenseSet<Operation *> erased;
};

struct SieveFuseAttentionPass
    : public sieve::impl::SieveFuseAttentionBase<SieveFuseAttentionPass> {
  using SieveFuseAttentionBase::SieveFuseAttentionBase;

  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    SieveFuseAttentionOptions options;
    options.attention = attention;
    options.gate = gate;
    populateFuseAttentionPatterns(patterns, options);
    FrozenRewritePatternSet frozen(std::move(patterns));
    PatternApplicator applicator(frozen);
    applicator.applyDefaultCostModel();

    // Each candidate is tried once, in program order, so that every remark
    // is reported once.
    SmallVector<Operation *> candidates;
    getOperation()->walk([&](Operation *op) {
      if (op != getOperation())
        candidates.push_back(op);
    });
    ErasedOps listener;
    PatternRewriter rewriter(context);
    rewriter.setListener(&listener);
    for (Operation *op : candidates) {
      if (listener.erased.contains(op))
        continue;
      (void)applicator.matchAndRewrite(op, rewriter);
    }
  }
};
} // namespace
