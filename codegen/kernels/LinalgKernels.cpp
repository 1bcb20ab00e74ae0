//===- LinalgKernels.cpp - Kernels for what is not a sieve op -------------===//
//
// One kernel per linalg structured op, after sieve-prepare-codegen has fused
// elementwise chains (and the transposes and broadcasts in them) into single
// linalg.generic ops:
//
//  elementwise  all loops parallel: one thread per iteration point; the
//               payload is cloned into the kernel, operands are read through
//               their indexing maps (so transposes, broadcasts and gathers
//               are address arithmetic), tensor.extract in the payload reads
//               the captured tensor's buffer
//  reduction    one warp per output point when the payload is a recognized
//               associative combiner (add, mul, max, min, ...) and the
//               innermost input dimension is reduced: lanes stride over the
//               reduced points, a butterfly of shuffles combines them;
//               otherwise one thread per output point in the order the
//               reference uses
//  contraction  (matmul, batch_matmul, any generic contraction with one
//               reduced dimension) f16 x f16 and bf16 x bf16 on the tensor
//               cores: 128x128 output tiles, mma.sync with f32
//               accumulators, operands staged in shared memory and read
//               with ldmatrix; other types on the SIMT kernel: 64x64
//               output tiles per block of 256 threads, 16-deep slices of
//               both operands staged in shared memory, 4x4 outputs per
//               thread, f32 accumulation
//
// Outputs whose rows nobody reads (BundleBuilder::getRowLimit, downstream of
// sieve.compact) are skipped: iteration points, warps or whole tiles past
// count[b] exit at once, and the work counter shows it.
//
//===----------------------------------------------------------------------===//

#include "codegen/kernels/LinalgKernels.h"

#include "codegen/kernels/IndexMath.h"
#include "codegen/kernels/MmaFragments.h"

#include "passes/ScalarCode.h"

#include "mlir/Dialect/Affine/Utils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::sieve;
using Pred = arith::CmpIPredicate;

static constexpr int64_t kBlockSize = 256;
// kWarpSize (32) comes from NVGPUDialect.h.

//===----------------------------------------------------------------------===//
// Kernel parameters
//===----------------------------------------------------------------------===//

namespace {
/// Declares a kernel's parameters and the matching launch arguments in one
/// go; sizes that are not constants become i64 parameters (once each).
class KernelParams {
public:
  explicit KernelParams(KernelBuilder &kb) : kb(kb) {}

  unsigned addBuffer(const std::string &buffer, DType dtype, Type type) {
    args.push_back(KernelArg::ofBuffer(buffer, dtype));
    return kb.addBuffer(type);
  }
  unsigned addBuffer(const TensorBinding &tensor, Type type) {
    return addBuffer(tensor.buffer, tensor.dtype, type);
  }
  void addSize(const SizeExpr &size) {
    if (size.isConstant() || scalars.count(size.str()))
      return;
    scalars[size.str()] = kb.addScalar();
    args.push_back(KernelArg::ofI64(size));
  }
  /// A size inside the kernel (after begin()).
  Value size(const SizeExpr &size) {
    if (std::optional<int64_t> constant = size.getConstant())
      return indexConst(kb.builder(), *constant);
    return kb.scalar(scalars.lookup(size.str()));
  }

  SmallVector<KernelArg> args;

private:
  KernelBuilder &kb;
  llvm::StringMap<unsigned> scalars;
};

} // namespace

/// Row-major strides of `shape`.
static SmallVector<SizeExpr> getStrides(ArrayRef<SizeExpr> shape) {
  SmallVector<SizeExpr> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// Splits `linear` into indices of `sizes` (row-major).
static SmallVector<Value> delinearize(IndexMath &m, Value linear,
                                      ArrayRef<Value> sizes) {
  SmallVector<Value> indices(sizes.size());
  for (int64_t i = static_cast<int64_t>(sizes.size()) - 1; i >= 0; --i) {
    if (i == 0) {
      indices[i] = linear;
      break;
    }
    indices[i] = m.rem(linear, sizes[i]);
    linear = m.div(linear, sizes[i]);
  }
  return indices;
}

//===----------------------------------------------------------------------===//
// Structured ops: operands, loops, payload
//===----------------------------------------------------------------------===//

namespace {
/// A tensor the kernel reads or writes through an indexing map.
struct Access {
  unsigned param = 0;
  AffineMap map;
  SmallVector<SizeExpr> strides;
};

/// What a structured op's kernel needs to know, gathered before the kernel
/// is created (parameters come first).
class StructuredKernel {
public:
  StructuredKernel(linalg::LinalgOp op, BundleBuilder &bundle)
      : op(op), bundle(bundle) {}

  /// Gathers loop sizes and captured values; fails (with an error) on what
  /// the generator cannot compile.
  LogicalResult analyze();

  /// Binds the results and declares every parameter: inputs the payload
  /// reads, inits it reads (unless they are constant fills), outputs,
  /// captured tensors and sizes, the row limit's count.
  void declare(KernelParams &params, KernelBuilder &kb);

  /// After begin(): the loop sizes, and a row-limit test.
  SmallVector<Value> loopSizes(KernelParams &params);
  /// True where iteration point `indices` computes an active row (null when
  /// the results have no row limit).
  Value isActive(KernelBuilder &kb, ArrayRef<Value> indices);

  /// The element offset of operand `operand` at `indices`.
  Value offset(ImplicitLocOpBuilder &b, KernelParams &params,
               const Access &access, ArrayRef<Value> indices);
  /// Loads the payload's block arguments of the inputs at `indices`.
  SmallVector<Value> loadInputs(KernelBuilder &kb, KernelParams &params,
                                ArrayRef<Value> indices);
  /// The initial value of init `i` at `indices`.
  Value loadInit(KernelBuilder &kb, KernelParams &params, unsigned i,
                 ArrayRef<Value> indices);
  /// Clones the payload with the given block arguments (null for those it
  /// must not read) at `indices`, recording in `mapping`; returns the
  /// yielded values. `skip` is left out (a reduction's combiner: the
  /// yielded values are then not all available).
  SmallVector<Value> emitPayload(KernelBuilder &kb, KernelParams &params,
                                 ArrayRef<Value> blockArgs,
                                 ArrayRef<Value> indices, IRMapping &mapping,
                                 Operation *skip = nullptr);
  void storeResult(KernelBuilder &kb, KernelParams &params, unsigned i,
                   Value value, ArrayRef<Value> indices);

  linalg::LinalgOp op;
  BundleBuilder &bundle;
  SmallVector<SizeExpr> loops;
  SmallVector<utils::IteratorType> iterators;
  /// Per DPS input / init: its access (param unset when not read).
  SmallVector<std::optional<Access>> inputs, inits;
  /// Constant fill values standing for inits.
  SmallVector<std::optional<TypedAttr>> initFills;
  SmallVector<Access> results;
  std::optional<RowLimit> rowLimit;
  std::optional<unsigned> rowLoop, batchLoop;
  unsigned countParam = 0;
  /// Tensors the payload reads with tensor.extract, and their params.
  SmallVector<Value> captured;
  DenseMap<Value, Access> capturedAccess;
  /// Index values the payload uses, as sizes.
  DenseMap<Value, SizeExpr> capturedSizes;
  /// Scalars the payload uses that are elements of tensors (tensor.extract
  /// outside the op), and where.
  DenseMap<Value, std::pair<Value, SmallVector<SizeExpr>>> capturedElements;
};
} // namespace

LogicalResult StructuredKernel::analyze() {
  if (!op.hasPureTensorSemantics())
    return op->emitError("sieve-compile compiles linalg ops on tensors only");
  iterators = op.getIteratorTypesArray();

  // Loop sizes from the operands that index a loop directly.
  SmallVector<std::optional<SizeExpr>> sizes(op.getNumLoops());
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<RankedTensorType>(operand.get().getType()))
      continue;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    ArrayRef<SizeExpr> shape = bundle.shape(operand.get());
    for (auto [i, expr] : llvm::enumerate(map.getResults())) {
      auto dim = dyn_cast<AffineDimExpr>(expr);
      if (!dim)
        continue;
      std::optional<SizeExpr> &size = sizes[dim.getPosition()];
      if (!size) {
        size = shape[i];
        continue;
      }
      if (!(*size == shape[i]))
        bundle.check(SizeExpr::eq(*size, shape[i]),
                     "operands disagree on the size of loop " +
                         Twine(dim.getPosition()),
                     op);
    }
  }
  for (auto [d, size] : llvm::enumerate(sizes)) {
    if (!size)
      return op->emitError() << "sieve-compile cannot tell the size of loop "
                             << d << " from the operands' shapes";
    loops.push_back(*size);
  }

  // What the payload captures from outside.
  Block *body = op.getBlock();
  llvm::SetVector<Value> above;
  getUsedValuesDefinedAbove(op->getRegion(0), above);
  for (Value value : above) {
    if (isa<RankedTensorType>(value.getType())) {
      if (!llvm::all_of(value.getUsers(), [&](Operation *user) {
            return !op->isAncestor(user) || isa<tensor::ExtractOp>(user);
          }))
        return op->emitError() << "the payload uses a tensor other than "
                                  "through tensor.extract";
      if (!llvm::is_contained(captured, value))
        captured.push_back(value);
      continue;
    }
    if (matchPattern(value, m_Constant()))
      continue;
    // An element of a tensor read at a position of sizes: read it in the
    // kernel.
    if (auto extract = value.getDefiningOp<tensor::ExtractOp>()) {
      SmallVector<SizeExpr> position;
      for (Value index : extract.getIndices()) {
        FailureOr<SizeExpr> size = bundle.getSize(index);
        if (failed(size))
          break;
        position.push_back(*size);
      }
      if (position.size() == extract.getIndices().size()) {
        if (!llvm::is_contained(captured, extract.getTensor()))
          captured.push_back(extract.getTensor());
        capturedElements[value] = {extract.getTensor(), position};
        continue;
      }
    }
    if (value.getType().isIndex()) {
      FailureOr<SizeExpr> size = bundle.getSize(value);
      if (failed(size))
        return op->emitError() << "the payload uses an index value that is "
                                  "not a size sieve-compile can compute";
      capturedSizes[value] = *size;
      continue;
    }
    return op->emitError() << "the payload uses a scalar computed outside "
                              "the op (" << value.getType()
                           << "); sieve-compile takes constants and sizes";
  }
  WalkResult walk = body->walk([&](Operation *inner) {
    if (isa<linalg::YieldOp, linalg::IndexOp, tensor::ExtractOp>(inner) ||
        isa<arith::ArithDialect, math::MathDialect>(inner->getDialect()))
      return WalkResult::advance();
    inner->emitError() << "sieve-compile cannot compile '" << inner->getName()
                       << "' in the payload of a linalg op";
    return WalkResult::interrupt();
  });
  if (walk.wasInterrupted())
    return failure();

  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<RankedTensorType>(operand.get().getType()) &&
        !matchPattern(operand.get(), m_Constant()) &&
        op.payloadUsesValueFromOperand(&operand))
      return op->emitError() << "sieve-compile takes only constant scalar "
                                "operands of linalg ops";
  }
  return success();
}

void StructuredKernel::declare(KernelParams &params, KernelBuilder &kb) {
  auto elementType = [](Value value) {
    return cast<RankedTensorType>(value.getType()).getElementType();
  };
  auto access = [&](Value value, AffineMap map) {
    const TensorBinding &tensor = bundle.get(value);
    Access result;
    result.param = params.addBuffer(tensor, elementType(value));
    result.map = map;
    result.strides = getStrides(tensor.shape);
    for (const SizeExpr &stride : result.strides)
      params.addSize(stride);
    return result;
  };
  for (OpOperand *input : op.getDpsInputOperands()) {
    std::optional<Access> read;
    if (isa<RankedTensorType>(input->get().getType()) &&
        op.payloadUsesValueFromOperand(input))
      read = access(input->get(), op.getMatchingIndexingMap(input));
    inputs.push_back(std::move(read));
  }
  for (OpOperand &init : op.getDpsInitsMutable()) {
    std::optional<Access> read;
    std::optional<TypedAttr> fill;
    if (op.payloadUsesValueFromOperand(&init)) {
      fill = bundle.getFillValue(init.get());
      if (!fill)
        read = access(init.get(), op.getMatchingIndexingMap(&init));
    }
    inits.push_back(std::move(read));
    initFills.push_back(fill);
  }
  for (Value value : captured) {
    const TensorBinding &tensor = bundle.get(value);
    Access result;
    result.param = params.addBuffer(tensor, elementType(value));
    result.strides = getStrides(tensor.shape);
    for (const SizeExpr &stride : result.strides)
      params.addSize(stride);
    capturedAccess[value] = result;
  }
  for (auto [value, size] : capturedSizes)
    params.addSize(size);
  for (auto &[value, element] : capturedElements)
    for (const SizeExpr &index : element.second)
      params.addSize(index);

  // The results: new buffers shaped like their inits.
  if (!op->getResults().empty())
    rowLimit = bundle.getRowLimit(op->getResult(0));
  for (auto [result, init] : llvm::zip(op->getResults(), op.getDpsInits())) {
    const TensorBinding &out =
        bundle.define(result, llvm::to_vector(bundle.shape(init)));
    Access write;
    write.param = params.addBuffer(out, elementType(result));
    write.map = op.getIndexingMapMatchingResult(cast<OpResult>(result));
    write.strides = getStrides(out.shape);
    for (const SizeExpr &stride : write.strides)
      params.addSize(stride);
    results.push_back(std::move(write));
  }
  for (const SizeExpr &size : loops)
    params.addSize(size);

  if (rowLimit) {
    AffineMap map = results.front().map;
    rowLoop = map.getDimPosition(rowLimit->rowDim);
    if (rowLimit->batchDim >= 0)
      batchLoop = map.getDimPosition(rowLimit->batchDim);
    const TensorBinding &count = bundle.get(rowLimit->count);
    countParam = params.addBuffer(count, IntegerType::get(op->getContext(), 32));
  }
}

SmallVector<Value> StructuredKernel::loopSizes(KernelParams &params) {
  SmallVector<Value> values;
  for (const SizeExpr &size : loops)
    values.push_back(params.size(size));
  return values;
}

Value StructuredKernel::isActive(KernelBuilder &kb, ArrayRef<Value> indices) {
  if (!rowLimit)
    return Value();
  ImplicitLocOpBuilder &b = kb.builder();
  Value batch = batchLoop ? indices[*batchLoop] : indexConst(b, 0);
  Value count = toIndex(b, kb.load(kb.buffer(countParam), batch));
  return cmpIndex(b, Pred::slt, indices[*rowLoop], count);
}

Value StructuredKernel::offset(ImplicitLocOpBuilder &b, KernelParams &params,
                               const Access &access, ArrayRef<Value> indices) {
  IndexMath m{b};
  Value result = m.c(0);
  for (auto [expr, stride] :
       llvm::zip(access.map.getResults(), access.strides)) {
    Value index = affine::expandAffineExpr(b, b.getLoc(), expr, indices, {});
    result = m.add(result, m.mul(index, params.size(stride)));
  }
  return result;
}

SmallVector<Value> StructuredKernel::loadInputs(KernelBuilder &kb,
                                                KernelParams &params,
                                                ArrayRef<Value> indices) {
  ImplicitLocOpBuilder &b = kb.builder();
  SmallVector<Value> values;
  for (auto [operand, read] : llvm::zip(op.getDpsInputOperands(), inputs)) {
    if (read) {
      values.push_back(kb.load(kb.buffer(read->param),
                               offset(b, params, *read, indices)));
      continue;
    }
    // A scalar operand (a constant) or a tensor the payload ignores.
    Value value = operand->get();
    if (Attribute attr; matchPattern(value, m_Constant(&attr)))
      values.push_back(arith::ConstantOp::create(b, cast<TypedAttr>(attr)));
    else
      values.push_back(Value());
  }
  return values;
}

Value StructuredKernel::loadInit(KernelBuilder &kb, KernelParams &params,
                                 unsigned i, ArrayRef<Value> indices) {
  ImplicitLocOpBuilder &b = kb.builder();
  if (initFills[i])
    return arith::ConstantOp::create(b, *initFills[i]);
  if (inits[i])
    return kb.load(kb.buffer(inits[i]->param),
                   offset(b, params, *inits[i], indices));
  return Value();
}

SmallVector<Value> StructuredKernel::emitPayload(
    KernelBuilder &kb, KernelParams &params, ArrayRef<Value> blockArgs,
    ArrayRef<Value> indices, IRMapping &mapping, Operation *skip) {
  ImplicitLocOpBuilder &b = kb.builder();
  Block *body = op.getBlock();
  for (auto [arg, value] : llvm::zip(body->getArguments(), blockArgs))
    if (value)
      mapping.map(arg, value);
  llvm::SetVector<Value> above;
  getUsedValuesDefinedAbove(op->getRegion(0), above);
  for (Value value : above) {
    if (Attribute attr; matchPattern(value, m_Constant(&attr)) &&
                        !isa<RankedTensorType>(value.getType()))
      mapping.map(value, arith::ConstantOp::create(b, cast<TypedAttr>(attr)));
    else if (auto it = capturedSizes.find(value); it != capturedSizes.end())
      mapping.map(value, params.size(it->second));
    else if (auto element = capturedElements.find(value);
             element != capturedElements.end()) {
      const Access &access = capturedAccess.lookup(element->second.first);
      IndexMath m{b};
      Value linear = m.c(0);
      for (auto [index, stride] :
           llvm::zip(element->second.second, access.strides))
        linear = m.add(linear,
                       m.mul(params.size(index), params.size(stride)));
      mapping.map(value, kb.load(kb.buffer(access.param), linear));
    }
  }
  SmallVector<Value> yielded;
  for (Operation &inner : body->without_terminator()) {
    if (&inner == skip)
      continue;
    if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
      mapping.map(index.getResult(), indices[index.getDim()]);
      continue;
    }
    if (auto extract = dyn_cast<tensor::ExtractOp>(inner)) {
      const Access &access = capturedAccess.lookup(extract.getTensor());
      IndexMath m{b};
      Value linear = m.c(0);
      for (auto [index, stride] :
           llvm::zip(extract.getIndices(), access.strides))
        linear = m.add(linear,
                       m.mul(mapping.lookupOrDefault(index),
                             params.size(stride)));
      mapping.map(extract.getResult(),
                  kb.load(kb.buffer(access.param), linear));
      continue;
    }
    b.clone(inner, mapping);
  }
  for (Value value : body->getTerminator()->getOperands())
    yielded.push_back(mapping.lookupOrDefault(value));
  return yielded;
}

void StructuredKernel::storeResult(KernelBuilder &kb, KernelParams &params,
                                   unsigned i, Value value,
                                   ArrayRef<Value> indices) {
  kb.store(value, kb.buffer(results[i].param),
           offset(kb.builder(), params, results[i], indices));
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

static SizeExpr product(ArrayRef<SizeExpr> sizes) {
  SizeExpr result = 1;
  for (const SizeExpr &size : sizes)
    result = result * size;
  return result;
}

static LaunchDecl launchOver(const KernelDecl &kernel, SizeExpr threads,
                             SmallVector<KernelArg> args) {
  LaunchDecl launch;
  launch.kernel = kernel.name;
  launch.grid = {SizeExpr::ceilDiv(threads, kBlockSize), 1, 1};
  launch.block = {kBlockSize, 1, 1};
  launch.args = std::move(args);
  return launch;
}

static LogicalResult buildElementwise(StructuredKernel &sk) {
  BundleBuilder &bundle = sk.bundle;
  KernelBuilder kb = bundle.newKernel("elementwise", sk.op.getLoc());
  KernelParams params(kb);
  sk.declare(params, kb);
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  SmallVector<Value> sizes = sk.loopSizes(params);
  Value total = m.c(1);
  for (Value size : sizes)
    total = m.mul(total, size);
  Value linear = kb.globalIdX();
  kb.ifThen(m.lt(linear, total), [&] {
    SmallVector<Value> indices = delinearize(m, linear, sizes);
    auto body = [&] {
      SmallVector<Value> args = sk.loadInputs(kb, params, indices);
      for (unsigned i = 0; i < sk.inits.size(); ++i)
        args.push_back(sk.loadInit(kb, params, i, indices));
      IRMapping mapping;
      SmallVector<Value> yielded =
          sk.emitPayload(kb, params, args, indices, mapping);
      for (auto [i, value] : llvm::enumerate(yielded))
        sk.storeResult(kb, params, i, value, indices);
      kb.countWork(m.c(1));
    };
    if (Value active = sk.isActive(kb, indices))
      kb.ifThen(active, body);
    else
      body();
  });
  KernelDecl decl = kb.finish();
  bundle.addKernel(decl);
  bundle.launch(sk.op, launchOver(decl, product(sk.loops), params.args));
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

namespace {
/// A payload `yield combiner(%out, f(inputs))`.
struct Combiner {
  Operation *op;
  /// The operand of `op` that is not the init block argument.
  Value contribution;
  TypedAttr identity;
};
} // namespace

/// The neutral element of `op` for `type`, if `op` is a combiner the
/// warp-parallel reduction handles.
static std::optional<TypedAttr> getIdentity(Operation *op, Type type) {
  Builder b(op->getContext());
  auto floatValue = [&](double value) -> std::optional<TypedAttr> {
    if (!type.isF32())
      return std::nullopt;
    return b.getF32FloatAttr(value);
  };
  auto intValue = [&](APInt value) -> std::optional<TypedAttr> {
    if (!type.isSignlessInteger(32))
      return std::nullopt;
    return b.getIntegerAttr(type, value);
  };
  double inf = std::numeric_limits<double>::infinity();
  return llvm::TypeSwitch<Operation *, std::optional<TypedAttr>>(op)
      .Case([&](arith::AddFOp) { return floatValue(-0.0); })
      .Case([&](arith::MulFOp) { return floatValue(1.0); })
      .Case<arith::MaximumFOp, arith::MaxNumFOp>(
          [&](Operation *) { return floatValue(-inf); })
      .Case<arith::MinimumFOp, arith::MinNumFOp>(
          [&](Operation *) { return floatValue(inf); })
      .Case<arith::AddIOp, arith::OrIOp, arith::XOrIOp, arith::MaxUIOp>(
          [&](Operation *) { return intValue(APInt(32, 0)); })
      .Case([&](arith::MulIOp) { return intValue(APInt(32, 1)); })
      .Case([&](arith::AndIOp) { return intValue(APInt::getAllOnes(32)); })
      .Case([&](arith::MinUIOp) { return intValue(APInt::getAllOnes(32)); })
      .Case([&](arith::MaxSIOp) {
        return intValue(APInt::getSignedMinValue(32));
      })
      .Case([&](arith::MinSIOp) {
        return intValue(APInt::getSignedMaxValue(32));
      })
      .Default([](Operation *) { return std::nullopt; });
}

static std::optional<Combiner> matchCombiner(linalg::LinalgOp op) {
  if (op.getNumDpsInits() != 1)
    return std::nullopt;
  Block *body = op.getBlock();
  BlockArgument out = body->getArguments().back();
  Value yielded = body->getTerminator()->getOperand(0);
  Operation *combiner = yielded.getDefiningOp();
  if (!combiner || combiner->getBlock() != body ||
      combiner->getNumOperands() != 2 || !out.hasOneUse() ||
      out.getUses().begin()->getOwner() != combiner)
    return std::nullopt;
  Value contribution = combiner->getOperand(0) == out
                           ? combiner->getOperand(1)
                           : combiner->getOperand(0);
  if (contribution == out)
    return std::nullopt;
  std::optional<TypedAttr> identity =
      getIdentity(combiner, yielded.getType());
  if (!identity)
    return std::nullopt;
  return Combiner{combiner, contribution, *identity};
}

/// Splits the loops into parallel ones (output points) and reduced ones.
static void splitLoops(StructuredKernel &sk, SmallVector<unsigned> &parallel,
                       SmallVector<unsigned> &reduced) {
  for (auto [d, iterator] : llvm::enumerate(sk.iterators))
    (iterator == utils::IteratorType::parallel ? parallel : reduced)
        .push_back(d);
}

/// Scatters the parallel and reduced indices back into loop order.
static SmallVector<Value> mergeIndices(ArrayRef<unsigned> parallel,
                                       ArrayRef<Value> parallelIndices,
                                       ArrayRef<unsigned> reduced,
                                       ArrayRef<Value> reducedIndices) {
  SmallVector<Value> indices(parallel.size() + reduced.size());
  for (auto [d, index] : llvm::zip(parallel, parallelIndices))
    indices[d] = index;
  for (auto [d, index] : llvm::zip(reduced, reducedIndices))
    indices[d] = index;
  return indices;
}

static SmallVector<Value> selectSizes(ArrayRef<Value> sizes,
                                      ArrayRef<unsigned> dims) {
  SmallVector<Value> result;
  for (unsigned d : dims)
    result.push_back(sizes[d]);
  return result;
}

static Value cloneCombiner(ImplicitLocOpBuilder &b, const Combiner &combiner,
                           Value lhs, Value rhs) {
  Operation *combined = b.clone(*combiner.op);
  combined->setOperands({lhs, rhs});
  return combined->getResult(0);
}

/// The loops of a reduction: the parallel ones (one output point each) and
/// the reduced ones, their sizes inside the kernel and the products.
struct ReductionLoops {
  ReductionLoops(StructuredKernel &sk, KernelParams &params, IndexMath &m) {
    splitLoops(sk, parallel, reduced);
    SmallVector<Value> sizes = sk.loopSizes(params);
    outerSizes = selectSizes(sizes, parallel);
    innerSizes = selectSizes(sizes, reduced);
    outputs = m.c(1);
    perOutput = m.c(1);
    for (Value size : outerSizes)
      outputs = m.mul(outputs, size);
    for (Value size : innerSizes)
      perOutput = m.mul(perOutput, size);
  }

  SmallVector<unsigned> parallel, reduced;
  SmallVector<Value> outerSizes, innerSizes;
  /// The number of output points and of reduced points per output.
  Value outputs, perOutput;
};

/// Adds `decl` and launches `threadsPerOutput` threads per output point.
static void launchPerOutput(StructuredKernel &sk, const ReductionLoops &loops,
                            const KernelDecl &decl,
                            SmallVector<KernelArg> args,
                            int64_t threadsPerOutput) {
  sk.bundle.addKernel(decl);
  SizeExpr outputPoints = threadsPerOutput;
  for (unsigned d : loops.parallel)
    outputPoints = outputPoints * sk.loops[d];
  sk.bundle.launch(sk.op, launchOver(decl, outputPoints, std::move(args)));
}

/// One warp per output point; lanes stride over the reduced points, then a
/// butterfly combines the lanes' partial results.
static LogicalResult buildWarpReduction(StructuredKernel &sk,
                                        const Combiner &combiner) {
  BundleBuilder &bundle = sk.bundle;
  KernelBuilder kb = bundle.newKernel("reduction", sk.op.getLoc());
  KernelParams params(kb);
  sk.declare(params, kb);
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  ReductionLoops loops(sk, params, m);

  Value warp = m.div(kb.globalIdX(), m.c(kWarpSize));
  Value lane = m.rem(kb.threadIdX(), m.c(kWarpSize));
  // Warps leave together (the condition is the same in every lane): the
  // shuffles need all 32 lanes.
  kb.ifThen(m.lt(warp, loops.outputs), [&] {
    SmallVector<Value> outer = delinearize(m, warp, loops.outerSizes);
    SmallVector<Value> zeros(loops.reduced.size(), m.c(0));
    SmallVector<Value> point =
        mergeIndices(loops.parallel, outer, loops.reduced, zeros);
    auto body = [&] {
      Value identity = arith::ConstantOp::create(b, combiner.identity);
      Value partial = buildStridedFor(
          b, lane, loops.perOutput, m.c(kWarpSize), {identity},
          [&](ImplicitLocOpBuilder &, Value r, ValueRange acc) {
            SmallVector<Value> indices =
                mergeIndices(loops.parallel, outer, loops.reduced,
                             delinearize(m, r, loops.innerSizes));
            SmallVector<Value> args = sk.loadInputs(kb, params, indices);
            args.push_back(Value());
            IRMapping mapping;
            sk.emitPayload(kb, params, args, indices, mapping, combiner.op);
            return SmallVector<Value>{
                cloneCombiner(b, combiner, acc[0],
                              mapping.lookupOrDefault(combiner.contribution))};
          })[0];
      Value total = kb.warpAllReduce(partial, [&](Value x, Value y) {
        return cloneCombiner(b, combiner, x, y);
      });
      kb.ifThen(cmpIndex(b, Pred::eq, lane, m.c(0)), [&] {
        Value init = sk.loadInit(kb, params, 0, point);
        sk.storeResult(kb, params, 0, cloneCombiner(b, combiner, init, total),
                       point);
        kb.countWork(loops.perOutput);
      });
    };
    if (Value active = sk.isActive(kb, point))
      kb.ifThen(active, body);
    else
      body();
  });
  launchPerOutput(sk, loops, kb.finish(), params.args, kWarpSize);
  return success();
}

/// One thread per output point, the reduced points in loop order: any
/// payload, in the order of the reference.
static LogicalResult buildSequentialReduction(StructuredKernel &sk) {
  BundleBuilder &bundle = sk.bundle;
  KernelBuilder kb = bundle.newKernel("reduction", sk.op.getLoc());
  KernelParams params(kb);
  sk.declare(params, kb);
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  ReductionLoops loops(sk, params, m);

  Value thread = kb.globalIdX();
  kb.ifThen(m.lt(thread, loops.outputs), [&] {
    SmallVector<Value> outer = delinearize(m, thread, loops.outerSizes);
    SmallVector<Value> zeros(loops.reduced.size(), m.c(0));
    SmallVector<Value> point =
        mergeIndices(loops.parallel, outer, loops.reduced, zeros);
    auto body = [&] {
      SmallVector<Value> state;
      for (unsigned i = 0; i < sk.inits.size(); ++i)
        state.push_back(sk.loadInit(kb, params, i, point));
      if (llvm::is_contained(state, Value()))
        // An init the payload does not read: start from anything.
        for (auto [i, value] : llvm::enumerate(state))
          if (!value)
            value = arith::ConstantOp::create(
                b, b.getZeroAttr(
                       getElementTypeOrSelf(sk.op.getDpsInits()[i].getType())));
      SmallVector<Value> final =
          buildFor(b, m.c(0), loops.perOutput, state,
                   [&](ImplicitLocOpBuilder &, Value r, ValueRange acc) {
                     SmallVector<Value> indices =
                         mergeIndices(loops.parallel, outer, loops.reduced,
                                      delinearize(m, r, loops.innerSizes));
                     SmallVector<Value> args =
                         sk.loadInputs(kb, params, indices);
                     args.append(acc.begin(), acc.end());
                     IRMapping mapping;
                     return sk.emitPayload(kb, params, args, indices, mapping);
                   });
      for (auto [i, value] : llvm::enumerate(final))
        sk.storeResult(kb, params, i, value, point);
      kb.countWork(loops.perOutput);
    };
    if (Value active = sk.isActive(kb, point))
      kb.ifThen(active, body);
    else
      body();
  });
  launchPerOutput(sk, loops, kb.finish(), params.args, 1);
  return success();
}

/// Whether the innermost dimension of the first input is reduced: then the
/// lanes of a warp read consecutive elements.
static bool readsReducedDimInnermost(StructuredKernel &sk) {
  for (OpOperand *input : sk.op.getDpsInputOperands()) {
    auto type = dyn_cast<RankedTensorType>(input->get().getType());
    if (!type || type.getRank() == 0)
      continue;
    AffineMap map = sk.op.getMatchingIndexingMap(input);
    auto dim = dyn_cast<AffineDimExpr>(map.getResults().back());
    return dim &&
           sk.iterators[dim.getPosition()] == utils::IteratorType::reduction;
  }
  return false;
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

namespace {
/// A contraction C[batch, m..., n...] += A[batch, m..., k] * B[batch, k, n...]
/// in any operand layout (the maps say where each loop is).
struct Contraction {
  linalg::ContractionDimensions dims;
  unsigned lhs = 0, rhs = 1;
};
} // namespace

static constexpr int64_t kTileM = 64, kTileN = 64, kTileK = 16;
/// Each of the 256 threads computes kThreadTile x kThreadTile outputs.
static constexpr int64_t kThreadTile = 4;
static constexpr int64_t kThreadsPerRow = kTileN / kThreadTile;

static std::optional<Contraction> matchContraction(StructuredKernel &sk) {
  linalg::LinalgOp op = sk.op;
  if (!linalg::isaContractionOpInterface(op) || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1)
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->k.size() != 1 || dims->m.empty() ||
      dims->n.empty())
    return std::nullopt;
  for (AffineMap map : op.getIndexingMapsArray())
    if (!map.isProjectedPermutation())
      return std::nullopt;
  for (Value operand : op->getOperands())
    if (!isa<FloatType>(getElementTypeOrSelf(operand.getType())))
      return std::nullopt;
  Contraction result;
  result.dims = *dims;
  AffineMap lhsMap = op.getMatchingIndexingMap(op.getDpsInputOperand(0));
  if (!lhsMap.getResultPosition(
          getAffineDimExpr(dims->m.front(), op.getContext())))
    std::swap(result.lhs, result.rhs);
  return result;
}

/// The coefficient of loop `loop` in the element offset of `access`
/// (null when the operand does not depend on it).
static Value loopStride(KernelParams &params, const Access &access,
                        unsigned loop) {
  for (auto [expr, stride] :
       llvm::zip(access.map.getResults(), access.strides))
    if (cast<AffineDimExpr>(expr).getPosition() == loop)
      return params.size(stride);
  return Value();
}

/// Sum of index * stride over `loops`.
static Value partialOffset(IndexMath &m, KernelParams &params,
                           const Access &access, ArrayRef<unsigned> loops,
                           ArrayRef<Value> indices) {
  Value result = m.c(0);
  for (auto [loop, index] : llvm::zip(loops, indices))
    if (Value stride = loopStride(params, access, loop))
      result = m.add(result, m.mul(index, stride));
  return result;
}

/// Whether the row tile [m0, m0 + tileM) of a contraction holds a row that
/// somebody reads; null when every row is read or the kernel cannot tell
/// cheaply (then every tile runs).
static Value isRowTileActive(StructuredKernel &sk, KernelBuilder &kb,
                             const linalg::ContractionDimensions &dims,
                             Value m0, int64_t tileM, Value M,
                             ArrayRef<Value> mSizes, ArrayRef<Value> batch) {
  // Tiles whose rows nobody reads exit at once: when the tile's rows share
  // every m index outside the row dimension, its row indices grow from the
  // first row's, so the first row being inactive makes all of them so.
  std::optional<unsigned> rowPos =
      sk.rowLoop ? std::optional<unsigned>(llvm::find(dims.m, *sk.rowLoop) -
                                           dims.m.begin())
                 : std::nullopt;
  if (!rowPos || *rowPos >= dims.m.size() ||
      !(!sk.batchLoop || llvm::is_contained(dims.batch, *sk.batchLoop) ||
        llvm::is_contained(ArrayRef(dims.m).take_front(*rowPos),
                           *sk.batchLoop)))
    return Value();
  ImplicitLocOpBuilder &b = kb.builder();
  IndexMath m{b};
  Value last = m.min(m.add(m0, m.c(tileM - 1)), m.sub(M, m.c(1)));
  SmallVector<Value> first = delinearize(m, m0, mSizes);
  SmallVector<Value> lastIdx = delinearize(m, last, mSizes);
  Value sameOuter = boolConst(b, true);
  for (unsigned i = 0; i < *rowPos; ++i)
    sameOuter =
        andI1(b, sameOuter, cmpIndex(b, Pred::eq, first[i], lastIdx[i]));
  Value batchIndex = m.c(0);
  if (sk.batchLoop) {
    auto inBatch = llvm::find(dims.batch, *sk.batchLoop);
    batchIndex =
        inBatch != dims.batch.end()
            ? batch[inBatch - dims.batch.begin()]
            : first[llvm::find(dims.m, *sk.batchLoop) - dims.m.begin()];
  }
  Value count = toIndex(b, kb.load(kb.buffer(sk.countParam), batchIndex));
  Value inactive = andI1(b, sameOuter, notI1(b, m.lt(first[*rowPos], count)));
  return notI1(b, inactive);
}

/// Adds `decl` and launches it over the output tiles of `tileM` x `tileN`:
/// grid x over the n tiles, y over the m tiles, z over the batch.
static void launchContractionTiles(StructuredKernel &sk,
                                   const linalg::ContractionDimensions &dims,
                                   const KernelDecl &decl,
                                   ArrayRef<KernelArg> args, int64_t tileM,
                                   int64_t tileN, int64_t threads) {
  BundleBuilder &bundle = sk.bundle;
  bundle.addKernel(decl);
  SizeExpr mTotal = 1, nTotal = 1, batchTotal = 1;
  for (unsigned d : dims.m)
    mTotal = mTotal * sk.loops[d];
  for (unsigned d : dims.n)
    nTotal = nTotal * sk.loops[d];
  for (unsigned d : dims.batch)
    batchTotal = batchTotal * sk.loops[d];
  SizeExpr gridY = SizeExpr::ceilDiv(mTotal, tileM);
  bundle.check(SizeExpr::le(gridY, 65535),
               "more than 65535 row tiles of " + std::to_string(tileM) +
                   " (a grid limit of CUDA)",
               sk.op);
  bundle.check(SizeExpr::le(batchTotal, 65535),
               "more than 65535 batches (a grid limit of CUDA)", sk.op);
  LaunchDecl launch;
  launch.kernel = decl.name;
  launch.grid = {SizeExpr::ceilDiv(nTotal, tileN), gridY, batchTotal};
  launch.block = {threads, 1, 1};
  launch.args.assign(args.begin(), args.end());
  bundle.launch(sk.op, std::move(launch));
}

static LogicalResult buildContraction(StructuredKernel &sk,
                                      const Contraction &contraction) {
  BundleBuilder &bundle = sk.bundle;
  MLIRContext *ctx = sk.op->getContext();
  const linalg::ContractionDimensions &dims = contraction.dims;
  KernelBuilder kb = bundle.newKernel("matmul", sk.op.getLoc());
  KernelParams params(kb);
  Type f32 = Float32Type::get(ctx);
  unsigned aTile = kb.addWorkgroupBuffer(f32, kTileK * kTileM);
  unsigned bTile = kb.addWorkgroupBuffer(f32, kTileK * kTileN);
  sk.declare(params, kb);
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  SmallVector<Value> sizes = sk.loopSizes(params);
  SmallVector<Value> mSizes = selectSizes(sizes, dims.m),
                     nSizes = selectSizes(sizes, dims.n),
                     batchSizes = selectSizes(sizes, dims.batch);
  Value M = m.c(1), N = m.c(1);
  for (Value size : mSizes)
    M = m.mul(M, size);
  for (Value size : nSizes)
    N = m.mul(N, size);
  Value K = sizes[dims.k.front()];
  unsigned kLoop = dims.k.front();
  const Access &lhs = *sk.inputs[contraction.lhs];
  const Access &rhs = *sk.inputs[contraction.rhs];
  const Access &out = sk.results.front();

  Value tid = kb.threadIdX();
  Value tx = m.rem(tid, m.c(kThreadsPerRow)),
        ty = m.div(tid, m.c(kThreadsPerRow));
  Value m0 = m.mul(gpu::BlockIdOp::create(b, gpu::Dimension::y), m.c(kTileM));
  Value n0 = m.mul(gpu::BlockIdOp::create(b, gpu::Dimension::x), m.c(kTileN));
  SmallVector<Value> batch = delinearize(
      m, gpu::BlockIdOp::create(b, gpu::Dimension::z), batchSizes);
  Value lhsBatch = partialOffset(m, params, lhs, dims.batch, batch);
  Value rhsBatch = partialOffset(m, params, rhs, dims.batch, batch);
  Value outBatch = partialOffset(m, params, out, dims.batch, batch);
  Value lhsK = loopStride(params, lhs, kLoop),
        rhsK = loopStride(params, rhs, kLoop);

  auto body = [&] {
    // Each thread stages kTileM * kTileK / 256 elements of each operand per
    // slice, always at the same rows and columns.
    constexpr int64_t kLoadsPerThread = kTileM * kTileK / kBlockSize;
    SmallVector<Value> aBase, aValid, aRow, aCol, bBase, bValid, bRow, bCol;
    for (int64_t r = 0; r < kLoadsPerThread; ++r) {
      Value e = m.add(tid, m.c(r * kBlockSize));
      Value row = m.div(e, m.c(kTileK)), col = m.rem(e, m.c(kTileK));
      Value mi = m.add(m0, row);
      Value valid = m.lt(mi, M);
      Value clamped = arith::SelectOp::create(b, valid, mi, m.c(0));
      aBase.push_back(m.add(lhsBatch,
                            partialOffset(m, params, lhs, dims.m,
                                          delinearize(m, clamped, mSizes))));
      aValid.push_back(valid);
      aRow.push_back(row);
      aCol.push_back(col);

      Value kRow = m.div(e, m.c(kTileN)), nCol = m.rem(e, m.c(kTileN));
      Value ni = m.add(n0, nCol);
      Value nValid = m.lt(ni, N);
      Value nClamped = arith::SelectOp::create(b, nValid, ni, m.c(0));
      bBase.push_back(m.add(rhsBatch,
                            partialOffset(m, params, rhs, dims.n,
                                          delinearize(m, nClamped, nSizes))));
      bValid.push_back(nValid);
      bRow.push_back(kRow);
      bCol.push_back(nCol);
    }
    Value zero = f32Const(b, 0.0);
    SmallVector<Value> init(kThreadTile * kThreadTile, zero);
    Value As = kb.workgroup(aTile), Bs = kb.workgroup(bTile);
    auto loadOperand = [&](Value buffer, Value base, Value kIndex,
                           Value kStride, Value valid) {
      Value inRange = andI1(b, valid, m.lt(kIndex, K));
      Value index = arith::SelectOp::create(
          b, inRange, m.add(base, kStride ? m.mul(kIndex, kStride) : m.c(0)),
          m.c(0));
      Value value = toF32(b, kb.load(buffer, index));
      return arith::SelectOp::create(b, inRange, value, zero).getResult();
    };
    SmallVector<Value> acc = buildStridedFor(
        b, m.c(0), K, m.c(kTileK), init,
        [&](ImplicitLocOpBuilder &, Value k0, ValueRange carried) {
          for (int64_t r = 0; r < kLoadsPerThread; ++r) {
            Value a = loadOperand(kb.buffer(lhs.param), aBase[r],
                                  m.add(k0, aCol[r]), lhsK, aValid[r]);
            kb.store(a, As, m.add(m.mul(aCol[r], m.c(kTileM)), aRow[r]));
            Value bv = loadOperand(kb.buffer(rhs.param), bBase[r],
                                   m.add(k0, bRow[r]), rhsK, bValid[r]);
            kb.store(bv, Bs, m.add(m.mul(bRow[r], m.c(kTileN)), bCol[r]));
          }
          gpu::BarrierOp::create(b);
          SmallVector<Value> next = buildFor(
              b, m.c(0), m.c(kTileK), carried,
              [&](ImplicitLocOpBuilder &, Value kk, ValueRange sums) {
                SmallVector<Value> as, bs, result;
                for (int64_t i = 0; i < kThreadTile; ++i) {
                  as.push_back(kb.load(
                      As, m.add(m.mul(kk, m.c(kTileM)),
                                m.add(ty, m.c(i * kThreadsPerRow)))));
                  bs.push_back(kb.load(
                      Bs, m.add(m.mul(kk, m.c(kTileN)),
                                m.add(tx, m.c(i * kThreadsPerRow)))));
                }
                for (int64_t i = 0; i < kThreadTile; ++i)
                  for (int64_t j = 0; j < kThreadTile; ++j)
                    result.push_back(math::FmaOp::create(
                        b, as[i], bs[j], sums[i * kThreadTile + j]));
                return result;
              });
          gpu::BarrierOp::create(b);
          return next;
        });

    Type outType = getElementTypeOrSelf(sk.op->getResult(0).getType());
    for (int64_t i = 0; i < kThreadTile; ++i) {
      Value mi = m.add(m0, m.add(ty, m.c(i * kThreadsPerRow)));
      kb.ifThen(m.lt(mi, M), [&] {
        SmallVector<Value> mIdx = delinearize(m, mi, mSizes);
        Value rowOffset = m.add(outBatch,
                                partialOffset(m, params, out, dims.m, mIdx));
        for (int64_t j = 0; j < kThreadTile; ++j) {
          Value ni = m.add(n0, m.add(tx, m.c(j * kThreadsPerRow)));
          kb.ifThen(m.lt(ni, N), [&] {
            Value offset = m.add(
                rowOffset, partialOffset(m, params, out, dims.n,
                                         delinearize(m, ni, nSizes)));
            Value sum = acc[i * kThreadTile + j];
            Value initValue;
            if (sk.initFills[0])
              initValue = arith::ConstantOp::create(b, *sk.initFills[0]);
            else if (sk.inits[0])
              initValue = kb.load(kb.buffer(sk.inits[0]->param), offset);
            if (initValue)
              sum = arith::AddFOp::create(b, toF32(b, initValue), sum);
            kb.store(fromF32(b, sum, outType), kb.buffer(out.param), offset);
          });
        }
        kb.countWork(m.mul(K, m.c(kThreadTile)));
      });
    }
  };

  if (Value active = isRowTileActive(sk, kb, dims, m0, kTileM, M, mSizes,
                                     batch))
    kb.ifThen(active, body);
  else
    body();

  launchContractionTiles(sk, dims, kb.finish(), params.args, kTileM, kTileN,
                         kBlockSize);
  return success();
}

//===----------------------------------------------------------------------===//
// Tensor-core contractions
//===----------------------------------------------------------------------===//
//
// Contractions of f16 by f16 or bf16 by bf16 run on mma.sync m16n8k16 with
// f32 accumulators, whatever type the payload adds in (a half-precision
// matmul accumulates in f32, as PyTorch's does, and as the SIMT kernel above
// does for every type); the sum plus the init is rounded to the result type
// once. Blocks of 8 warps compute 128 x 128 outputs (2 x 4 warps of 64 x 32),
// stepping through K 32 at a time with two shared-memory stages. Each
// operand tile is staged in the orientation its layout reads fastest: with
// K innermost (A[m, k], B as [n, k]) as rows of K, read by ldmatrix; with
// the m or n index innermost (B[k, n], A as [k, m]) as rows of that index,
// read by ldmatrix .trans. When the staged rows are contiguous in memory
// and their length is a multiple of 8, 16-byte cp.async copies (zero-filled
// past M, N and K) fill the next stage while the warps multiply the
// current one; otherwise (other layouts, lengths not a multiple of 8) the
// threads load elements one by one through the indexing maps. Any M, N and
// K: rows and columns past them are zeros in shared memory and are not
// stored. docs/kernels.md has the cost model.

static constexpr int64_t kTcTileM = 128, kTcTileN = 128, kTcTileK = 32;
static constexpr int64_t kTcWarpTileM = 64, kTcWarpTileN = 32;
static constexpr int64_t kTcThreads = 256;
static constexpr int64_t kTcStages = 2;
/// Elements per 16-byte copy.
static constexpr int64_t kTcChunk = 8;

/// Why the tensor-core kernel does not compute `contraction`, or an empty
/// string when it does.
static std::string getTensorCoreContractionLimit(
    StructuredKernel &sk, const Contraction &contraction) {
  linalg::LinalgOp op = sk.op;
  Type lhs = getElementTypeOrSelf(
      op.getDpsInputOperand(contraction.lhs)->get().getType());
  Type rhs = getElementTypeOrSelf(
      op.getDpsInputOperand(contraction.rhs)->get().getType());
  if (lhs != rhs || !(lhs.isF16() || lhs.isBF16()))
    return "the operands are not both f16 or both bf16";
  Type out = getElementTypeOrSelf(op->getResult(0).getType());
  if (!out.isF32() && !out.isF16() && !out.isBF16())
    return "the result is neither f32, f16 nor bf16";
  return "";
}

namespace {
/// How the tensor-core kernel stages one operand (A: rows are m indices,
/// B: n indices) into shared memory.
struct StagedOperand {
  /// The operand's innermost dimension is K: shared rows hold K.
  bool kContiguous = true;
  /// 16-byte copies: the staged rows are contiguous and 8-aligned.
  bool vectorized = false;
  /// Operand rows per tile, shared-memory row stride, elements per stage.
  int64_t tileRows = 0, stride = 0, stageSize = 0;
};
} // namespace

static StagedOperand planStaging(StructuredKernel &sk, unsigned input,
                                 const Contraction &contraction,
                                 ArrayRef<unsigned> rowLoops,
                                 int64_t tileRows) {
  AffineMap map =
      sk.op.getMatchingIndexingMap(sk.op.getDpsInputOperand(input));
  unsigned inner = cast<AffineDimExpr>(map.getResults().back()).getPosition();
  unsigned kLoop = contraction.dims.k.front();
  StagedOperand plan;
  plan.tileRows = tileRows;
  plan.kContiguous = inner == kLoop;
  // Copies run along K or along the innermost row loop; every other stride
  // of the operand is a multiple of that loop's size, so a size that is a
  // multiple of 8 keeps every copy 16-byte aligned and inside one row.
  unsigned along = plan.kContiguous ? kLoop : rowLoops.back();
  std::optional<int64_t> size = sk.loops[along].getConstant();
  plan.vectorized = inner == along && size && *size % kTcChunk == 0;
  // Rows of an odd number of 16-byte units: ldmatrix's 8 row addresses hit
  // 8 different bank groups.
  int64_t rowLength = plan.kContiguous ? kTcTileK : tileRows;
  plan.stride = rowLength + kTcChunk;
  plan.stageSize = (plan.kContiguous ? tileRows : kTcTileK) * plan.stride;
  return plan;
}

static LogicalResult
buildTensorCoreContraction(StructuredKernel &sk,
                           const Contraction &contraction) {
  BundleBuilder &bundle = sk.bundle;
  MLIRContext *ctx = sk.op->getContext();
  const linalg::ContractionDimensions &dims = contraction.dims;
  Type element = getElementTypeOrSelf(
      sk.op.getDpsInputOperand(contraction.lhs)->get().getType());
  KernelBuilder kb = bundle.newKernel("matmul_tc", sk.op.getLoc());
  KernelParams params(kb);
  StagedOperand aPlan =
      planStaging(sk, contraction.lhs, contraction, dims.m, kTcTileM);
  StagedOperand bPlan =
      planStaging(sk, contraction.rhs, contraction, dims.n, kTcTileN);
  unsigned aShared =
      kb.addWorkgroupBuffer(element, kTcStages * aPlan.stageSize);
  unsigned bShared =
      kb.addWorkgroupBuffer(element, kTcStages * bPlan.stageSize);
  sk.declare(params, kb);
  ImplicitLocOpBuilder &b = kb.begin({kTcThreads, 1, 1});
  IndexMath m{b};
  SmallVector<Value> sizes = sk.loopSizes(params);
  SmallVector<Value> mSizes = selectSizes(sizes, dims.m),
                     nSizes = selectSizes(sizes, dims.n),
                     batchSizes = selectSizes(sizes, dims.batch);
  Value M = m.c(1), N = m.c(1);
  for (Value size : mSizes)
    M = m.mul(M, size);
  for (Value size : nSizes)
    N = m.mul(N, size);
  unsigned kLoop = dims.k.front();
  Value K = sizes[kLoop];
  const Access &lhs = *sk.inputs[contraction.lhs];
  const Access &rhs = *sk.inputs[contraction.rhs];
  const Access &out = sk.results.front();

  Value tid = kb.threadIdX();
  Value warp = m.div(tid, m.c(kWarpSize)), lane = m.rem(tid, m.c(kWarpSize));
  Value g = m.div(lane, m.c(4)), t = m.rem(lane, m.c(4));
  constexpr int64_t kWarpsN = kTcTileN / kTcWarpTileN;
  Value warpRow = m.mul(m.div(warp, m.c(kWarpsN)), m.c(kTcWarpTileM));
  Value warpCol = m.mul(m.rem(warp, m.c(kWarpsN)), m.c(kTcWarpTileN));
  Value m0 =
      m.mul(gpu::BlockIdOp::create(b, gpu::Dimension::y), m.c(kTcTileM));
  Value n0 =
      m.mul(gpu::BlockIdOp::create(b, gpu::Dimension::x), m.c(kTcTileN));
  SmallVector<Value> batch = delinearize(
      m, gpu::BlockIdOp::create(b, gpu::Dimension::z), batchSizes);

  auto body = [&] {
    Value steps = m.div(m.add(K, m.c(kTcTileK - 1)), m.c(kTcTileK));
    auto tokenType = nvgpu::DeviceAsyncTokenType::get(ctx);
    Value zero = arith::ConstantOp::create(b, b.getZeroAttr(element));
    auto chunkType = VectorType::get({kTcChunk}, element);

    // Stages K columns [32 step, 32 step + 32) of an operand's tile rows
    // [row0, row0 + tileRows) into stage `stage` of `shared`.
    auto stageOperand = [&](const StagedOperand &plan, const Access &access,
                            Value shared, ArrayRef<unsigned> rowLoops,
                            ArrayRef<Value> rowSizes, Value rows, Value row0,
                            Value step, Value stage) {
      Value global = kb.buffer(access.param);
      Value base = partialOffset(m, params, access, dims.batch, batch);
      Value kStride = loopStride(params, access, kLoop);
      // The element offset of operand row `row` (in range) at column k.
      auto offsetOf = [&](Value row, Value k) {
        Value rowOffset = partialOffset(m, params, access, rowLoops,
                                        delinearize(m, row, rowSizes));
        return m.add(m.add(base, rowOffset), m.mul(k, kStride));
      };
      auto copy = [&](Value valid, Value src, Value dst) {
        nvgpu::DeviceAsyncCopyOp::create(
            b, tokenType, shared, ValueRange{dst}, global,
            ValueRange{arith::SelectOp::create(b, valid, src, m.c(0))},
            b.getIndexAttr(kTcChunk),
            arith::SelectOp::create(b, valid, m.c(kTcChunk), m.c(0)),
            b.getUnitAttr());
      };
      // Elements one by one; those out of range are zeros.
      auto gather = [&](ArrayRef<Value> valid, ArrayRef<Value> rowOf,
                        ArrayRef<Value> kOf, Value dst) {
        SmallVector<Value> values;
        for (int64_t j = 0; j < kTcChunk; ++j) {
          Value row = arith::SelectOp::create(b, valid[j], rowOf[j], m.c(0));
          Value index = arith::SelectOp::create(
              b, valid[j], offsetOf(row, kOf[j]), m.c(0));
          values.push_back(arith::SelectOp::create(
              b, valid[j], kb.load(global, index), zero));
        }
        vector::StoreOp::create(
            b, vector::FromElementsOp::create(b, chunkType, values), shared,
            ValueRange{dst}, /*nontemporal=*/false, llvm::Align(16));
      };
      int64_t rowLength = plan.kContiguous ? kTcTileK : plan.tileRows;
      int64_t chunksPerRow = rowLength / kTcChunk;
      int64_t chunks = plan.tileRows * kTcTileK / kTcChunk;
      for (int64_t i = 0; i < chunks / kTcThreads; ++i) {
        Value piece = m.add(tid, m.c(i * kTcThreads));
        Value line = m.div(piece, m.c(chunksPerRow));
        Value start = m.mul(m.rem(piece, m.c(chunksPerRow)), m.c(kTcChunk));
        Value dst = m.add(m.mul(stage, m.c(plan.stageSize)),
                          m.add(m.mul(line, m.c(plan.stride)), start));
        Value kFirst = m.mul(step, m.c(kTcTileK));
        // Shared row `line` is operand row row0 + line (K contiguous) or
        // column kFirst + line of K; the chunk runs along the other one.
        Value row = m.add(row0, plan.kContiguous ? line : start);
        Value k = m.add(kFirst, plan.kContiguous ? start : line);
        if (plan.vectorized) {
          Value valid = andI1(b, m.lt(row, rows), m.lt(k, K));
          copy(valid,
               offsetOf(arith::SelectOp::create(b, valid, row, m.c(0)), k),
               dst);
          continue;
        }
        SmallVector<Value> valid, rowOf, kOf;
        for (int64_t j = 0; j < kTcChunk; ++j) {
          Value rj = plan.kContiguous ? row : m.add(row, m.c(j));
          Value kj = plan.kContiguous ? m.add(k, m.c(j)) : k;
          valid.push_back(andI1(b, m.lt(rj, rows), m.lt(kj, K)));
          rowOf.push_back(rj);
          kOf.push_back(kj);
        }
        gather(valid, rowOf, kOf, dst);
      }
    };
    Value aTiles = kb.workgroup(aShared), bTiles = kb.workgroup(bShared);
    auto stageBoth = [&](Value step, Value stage) {
      stageOperand(aPlan, lhs, aTiles, dims.m, mSizes, M, m0, step, stage);
      stageOperand(bPlan, rhs, bTiles, dims.n, nSizes, N, n0, step, stage);
    };

    // The warp's accumulators: m-block i (16 rows), n-tile j (8 columns).
    constexpr int64_t kTilesM = kTcWarpTileM / 16, kTilesN = kTcWarpTileN / 8;
    auto accType = VectorType::get({2, 2}, Float32Type::get(ctx));
    SmallVector<Value> init(kTilesM * kTilesN, zerosOf(b, accType));
    buildIfThen(b, m.lt(m.c(0), steps),
                [&](ImplicitLocOpBuilder &) { stageBoth(m.c(0), m.c(0)); });
    nvgpu::DeviceAsyncCreateGroupOp::create(b, tokenType, ValueRange{});
    SmallVector<Value> acc = buildFor(
        b, m.c(0), steps, init,
        [&](ImplicitLocOpBuilder &b, Value step, ValueRange carried) {
          Value stage = m.rem(step, m.c(kTcStages));
          Value next = m.add(step, m.c(1));
          // Stage `next % 2` was last read in the previous step, before the
          // barrier that ended it.
          buildIfThen(b, m.lt(next, steps), [&](ImplicitLocOpBuilder &) {
            stageBoth(next, m.rem(next, m.c(kTcStages)));
          });
          // Every step commits a group (empty on the last), so that "all but
          // the newest group" is always this step's tiles.
          Value group = nvgpu::DeviceAsyncCreateGroupOp::create(
              b, tokenType, ValueRange{});
          nvgpu::DeviceAsyncWaitOp::create(b, group, b.getI32IntegerAttr(1));
          gpu::BarrierOp::create(b);
          SharedTile aTile{aTiles, m.mul(stage, m.c(aPlan.stageSize)),
                           aPlan.stride, aPlan.kContiguous};
          SharedTile bTile{bTiles, m.mul(stage, m.c(bPlan.stageSize)),
                           bPlan.stride, bPlan.kContiguous};
          SmallVector<Value> result =
              mmaWarpTile(b, lane, aTile, bTile, warpRow, warpCol, m.c(0),
                          kTilesM, kTilesN, kTcTileK,
                          SmallVector<Value>(carried));
          gpu::BarrierOp::create(b);
          return result;
        });

    // Lane (g, t) holds rows g and g + 8 of each m-block and columns 2t and
    // 2t + 1 of each n-tile; their offsets in the result are computed once.
    Value outBatch = partialOffset(m, params, out, dims.batch, batch);
    SmallVector<Value> rowValid, rowOffset, colValid, colOffset;
    for (int64_t i = 0; i < kTilesM; ++i)
      for (int64_t r = 0; r < 2; ++r) {
        Value row = m.add(m.add(m0, warpRow), m.add(m.c(16 * i + 8 * r), g));
        Value valid = m.lt(row, M);
        row = arith::SelectOp::create(b, valid, row, m.c(0));
        rowValid.push_back(valid);
        rowOffset.push_back(
            m.add(outBatch, partialOffset(m, params, out, dims.m,
                                          delinearize(m, row, mSizes))));
      }
    for (int64_t j = 0; j < kTilesN; ++j)
      for (int64_t e = 0; e < 2; ++e) {
        Value col = m.add(m.add(n0, warpCol),
                          m.add(m.c(8 * j + e), m.mul(t, m.c(2))));
        Value valid = m.lt(col, N);
        col = arith::SelectOp::create(b, valid, col, m.c(0));
        colValid.push_back(valid);
        colOffset.push_back(partialOffset(m, params, out, dims.n,
                                          delinearize(m, col, nSizes)));
      }
    Type outType = getElementTypeOrSelf(sk.op->getResult(0).getType());
    for (int64_t i = 0; i < kTilesM; ++i)
      for (int64_t j = 0; j < kTilesN; ++j)
        for (int64_t r = 0; r < 2; ++r)
          for (int64_t e = 0; e < 2; ++e) {
            int64_t ri = 2 * i + r, cj = 2 * j + e;
            kb.ifThen(andI1(b, rowValid[ri], colValid[cj]), [&] {
              Value offset = m.add(rowOffset[ri], colOffset[cj]);
              Value sum = vector::ExtractOp::create(
                  b, acc[i * kTilesN + j], ArrayRef<int64_t>{r, e});
              Value initValue;
              if (sk.initFills[0])
                initValue = arith::ConstantOp::create(b, *sk.initFills[0]);
              else if (sk.inits[0])
                initValue = kb.load(kb.buffer(sk.inits[0]->param), offset);
              if (initValue)
                sum = arith::AddFOp::create(b, toF32(b, initValue), sum);
              kb.store(fromF32(b, sum, outType), kb.buffer(out.param),
                       offset);
            });
          }
    kb.countWork(steps);
  };

  if (Value active = isRowTileActive(sk, kb, dims, m0, kTcTileM, M, mSizes,
                                     batch))
    kb.ifThen(active, body);
  else
    body();

  launchContractionTiles(sk, dims, kb.finish(), params.args, kTcTileM,
                         kTcTileN, kTcThreads);
  return success();
}

//===----------------------------------------------------------------------===//
// Providers
//===----------------------------------------------------------------------===//

static LogicalResult buildStructured(Operation *operation,
                                     BundleBuilder &bundle) {
  StructuredKernel sk(cast<linalg::LinalgOp>(operation), bundle);
  if (failed(sk.analyze()))
    return failure();
  if (sk.op.getNumReductionLoops() == 0)
    return buildElementwise(sk);
  if (std::optional<Contraction> contraction = matchContraction(sk)) {
    if (getTensorCoreContractionLimit(sk, *contraction).empty())
      return buildTensorCoreContraction(sk, *contraction);
    return buildContraction(sk, *contraction);
  }
  if (std::optional<Combiner> combiner = matchCombiner(sk.op);
      combiner && readsReducedDimInnermost(sk))
    return buildWarpReduction(sk, *combiner);
  return buildSequentialReduction(sk);
}

static SmallVector<SizeExpr> getShape(BundleBuilder &bundle, Operation *op,
                                      ValueRange dynamicSizes, Type type,
                                      LogicalResult &status) {
  SmallVector<SizeExpr> shape;
  auto ranked = cast<RankedTensorType>(type);
  unsigned next = 0;
  for (int64_t size : ranked.getShape()) {
    if (!ShapedType::isDynamic(size)) {
      shape.push_back(size);
      continue;
    }
    FailureOr<SizeExpr> dynamic = bundle.getSize(dynamicSizes[next++]);
    if (failed(dynamic)) {
      status = op->emitError("sieve-compile cannot compute this size from "
                             "the graph's dynamic dimensions");
      shape.push_back(0);
      continue;
    }
    shape.push_back(*dynamic);
  }
  return shape;
}

static LogicalResult buildFill(Operation *operation, BundleBuilder &bundle) {
  auto fill = cast<linalg::FillOp>(operation);
  Attribute scalar;
  if (!matchPattern(fill.value(), m_Constant(&scalar)))
    return buildStructured(operation, bundle);
  bundle.definePending(fill.result(),
                       llvm::to_vector(bundle.shape(fill.output())),
                       cast<TypedAttr>(scalar));
  return success();
}

static LogicalResult buildEmpty(Operation *operation, BundleBuilder &bundle) {
  auto empty = cast<tensor::EmptyOp>(operation);
  LogicalResult status = success();
  SmallVector<SizeExpr> shape = getShape(
      bundle, operation, empty.getDynamicSizes(), empty.getType(), status);
  if (failed(status))
    return failure();
  bundle.definePending(empty.getResult(), std::move(shape), std::nullopt);
  return success();
}

/// Splats of more elements than this become fills rather than constants.
static constexpr int64_t kMaxStoredSplat = 4096;

static LogicalResult buildConstant(Operation *operation,
                                   BundleBuilder &bundle) {
  auto constant = cast<arith::ConstantOp>(operation);
  auto type = dyn_cast<RankedTensorType>(constant.getType());
  auto elements = dyn_cast<ElementsAttr>(constant.getValue());
  if (!type || !elements || !getDType(type.getElementType()))
    return operation->emitError()
           << "sieve-compile cannot store a constant of type "
           << constant.getType();
  if (auto dense = dyn_cast<DenseElementsAttr>(elements);
      dense && dense.isSplat() && dense.getNumElements() > kMaxStoredSplat) {
    SmallVector<SizeExpr> shape;
    for (int64_t size : type.getShape())
      shape.push_back(size);
    bundle.definePending(constant.getResult(), std::move(shape),
                         dense.getSplatValue<TypedAttr>());
    return success();
  }
  return bundle.defineConstant(constant.getResult(), elements);
}

static LogicalResult buildReshape(Operation *operation,
                                  BundleBuilder &bundle) {
  Value source = operation->getOperand(0);
  Value result = operation->getResult(0);
  auto resultType = cast<RankedTensorType>(result.getType());
  SmallVector<SizeExpr> shape;
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(operation)) {
    for (OpFoldResult size : expand.getMixedOutputShape()) {
      if (auto attr = dyn_cast<Attribute>(size)) {
        shape.push_back(cast<IntegerAttr>(attr).getInt());
        continue;
      }
      FailureOr<SizeExpr> dynamic = bundle.getSize(cast<Value>(size));
      if (failed(dynamic))
        return operation->emitError("sieve-compile cannot compute this size "
                                    "from the graph's dynamic dimensions");
      shape.push_back(*dynamic);
    }
  } else if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(operation)) {
    ArrayRef<SizeExpr> sourceShape = bundle.shape(source);
    for (const ReassociationIndices &group :
         collapse.getReassociationIndices()) {
      SizeExpr size = 1;
      for (int64_t d : group)
        size = size * sourceShape[d];
      shape.push_back(size);
    }
  } else {
    // tensor.cast: same sizes; a static size of the result wins.
    shape = llvm::to_vector(bundle.shape(source));
  }
  (void)resultType;
  bundle.alias(result, source, std::move(shape));
  return success();
}

/// tensor.concat: one thread per output element reads the input whose
/// segment along the concatenated dimension holds it.
static LogicalResult buildConcat(Operation *operation, BundleBuilder &bundle) {
  auto concat = cast<tensor::ConcatOp>(operation);
  int64_t dim = concat.getDim();
  Type elementType = concat.getType().getElementType();
  SmallVector<SizeExpr> shape(bundle.shape(concat.getInputs().front()));
  SmallVector<SizeExpr> starts;
  SizeExpr total = 0;
  for (Value input : concat.getInputs()) {
    starts.push_back(total);
    total = total + bundle.dim(input, dim);
  }
  shape[dim] = total;
  KernelBuilder kb = bundle.newKernel("concat", operation->getLoc());
  KernelParams params(kb);
  SmallVector<unsigned> inputParams;
  for (Value input : concat.getInputs())
    inputParams.push_back(params.addBuffer(bundle.get(input), elementType));
  const TensorBinding &out = bundle.define(concat.getResult(), shape);
  unsigned outParam = params.addBuffer(out, elementType);
  // Element i of the result is at [outer, along, inner] around the
  // concatenated dimension.
  SizeExpr inner = 1;
  for (auto [d, size] : llvm::enumerate(out.shape))
    if (static_cast<int64_t>(d) > dim)
      inner = inner * size;
  SizeExpr elements = out.numElements();
  for (const SizeExpr &size : {inner, total, elements})
    params.addSize(size);
  for (auto [input, start] : llvm::zip(concat.getInputs(), starts)) {
    params.addSize(start);
    params.addSize(bundle.dim(input, dim));
  }
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  Value i = kb.globalIdX();
  kb.ifThen(m.lt(i, params.size(elements)), [&] {
    Value innerSize = params.size(inner), alongSize = params.size(total);
    Value innerIndex = m.rem(i, innerSize);
    Value along = m.rem(m.div(i, innerSize), alongSize);
    Value outerIndex = m.div(m.div(i, innerSize), alongSize);
    for (auto [input, start, param] :
         llvm::zip(concat.getInputs(), starts, inputParams)) {
      Value begin = params.size(start);
      Value size = params.size(bundle.dim(input, dim));
      Value local = m.sub(along, begin);
      Value inside = andI1(b, cmpIndex(b, Pred::sle, begin, along),
                           m.lt(local, size));
      kb.ifThen(inside, [&] {
        Value offset = m.add(m.mul(m.add(m.mul(outerIndex, size), local),
                                   innerSize),
                             innerIndex);
        kb.store(kb.load(kb.buffer(param), offset), kb.buffer(outParam), i);
      });
    }
  });
  KernelDecl decl = kb.finish();
  bundle.addKernel(decl);
  bundle.launch(operation, launchOver(decl, elements, params.args));
  return success();
}

/// tensor.insert_slice with static offsets and strides: the destination's
/// buffer is updated in place when nothing else reads it (a chain of
/// inserts into an empty tensor, as concatenations lower), else copied
/// first; one thread per source element then writes the window.
static LogicalResult buildInsertSlice(Operation *operation,
                                      BundleBuilder &bundle) {
  auto insert = cast<tensor::InsertSliceOp>(operation);
  if (ShapedType::isDynamicShape(insert.getStaticOffsets()) ||
      ShapedType::isDynamicShape(insert.getStaticStrides()))
    return insert.emitError("sieve-compile needs static offsets and strides "
                            "in tensor.insert_slice");
  Value dest = insert.getDest();
  SmallVector<SizeExpr> shape(bundle.shape(dest));
  if (bundle.isUndefined(dest)) {
    bundle.define(insert.getResult(), shape);
  } else if (bundle.canUpdateInPlace(dest)) {
    bundle.alias(insert.getResult(), dest, shape);
  } else {
    emitCopyLaunch(bundle, insert, dest, insert.getResult());
  }
  const TensorBinding &out = bundle.get(insert.getResult());
  Value source = insert.getSource();
  const TensorBinding &src = bundle.get(source);
  Type elementType = insert.getType().getElementType();

  KernelBuilder kb = bundle.newKernel("insert_slice", operation->getLoc());
  KernelParams params(kb);
  unsigned srcParam = params.addBuffer(src, elementType);
  unsigned outParam = params.addBuffer(out, elementType);
  // The source's dimensions are the kept (not dropped) ones of the window.
  llvm::SmallBitVector dropped = insert.getDroppedDims();
  SmallVector<SizeExpr> destStrides = getStrides(out.shape);
  SizeExpr elements = src.numElements();
  params.addSize(elements);
  for (const SizeExpr &size : src.shape)
    params.addSize(size);
  for (const SizeExpr &stride : destStrides)
    params.addSize(stride);
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  Value i = kb.globalIdX();
  kb.ifThen(m.lt(i, params.size(elements)), [&] {
    SmallVector<Value> sizes;
    for (const SizeExpr &size : src.shape)
      sizes.push_back(params.size(size));
    SmallVector<Value> indices = delinearize(m, i, sizes);
    Value offset = m.c(0);
    unsigned next = 0;
    for (auto [dim, start, stride] :
         llvm::enumerate(insert.getStaticOffsets(), insert.getStaticStrides())) {
      Value index = m.c(start);
      if (!dropped.test(dim))
        index = m.add(index, m.mul(indices[next++], m.c(stride)));
      offset = m.add(offset, m.mul(index, params.size(destStrides[dim])));
    }
    kb.store(kb.load(kb.buffer(srcParam), i), kb.buffer(outParam), offset);
  });
  KernelDecl decl = kb.finish();
  bundle.addKernel(decl);
  bundle.launch(operation, launchOver(decl, elements, params.args));
  return success();
}

void mlir::sieve::emitFillLaunch(BundleBuilder &bundle, Operation *op,
                                 const TensorBinding &out, TypedAttr scalar) {
  KernelBuilder kb = bundle.newKernel("fill", op->getLoc());
  KernelParams params(kb);
  unsigned outParam = params.addBuffer(out, scalar.getType());
  SizeExpr elements = out.numElements();
  params.addSize(elements);
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  Value i = kb.globalIdX();
  kb.ifThen(m.lt(i, params.size(elements)), [&] {
    kb.store(arith::ConstantOp::create(b, scalar), kb.buffer(outParam), i);
  });
  KernelDecl decl = kb.finish();
  bundle.addKernel(decl);
  bundle.launch(op, launchOver(decl, elements, params.args));
}

const TensorBinding &mlir::sieve::emitCopyLaunch(BundleBuilder &bundle,
                                                 Operation *op, Value value,
                                                 Value target) {
  TensorBinding source = bundle.get(value);
  Type elementType = getElementTypeOrSelf(value.getType());
  KernelBuilder kb = bundle.newKernel("copy", op->getLoc());
  KernelParams params(kb);
  unsigned in = params.addBuffer(source, elementType);
  const TensorBinding &copy = bundle.define(target, source.shape);
  unsigned outParam = params.addBuffer(copy, elementType);
  SizeExpr elements = source.numElements();
  params.addSize(elements);
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  Value i = kb.globalIdX();
  kb.ifThen(m.lt(i, params.size(elements)), [&] {
    kb.store(kb.load(kb.buffer(in), i), kb.buffer(outParam), i);
  });
  KernelDecl decl = kb.finish();
  bundle.addKernel(decl);
  bundle.launch(op, launchOver(decl, elements, params.args));
  return copy;
}

void mlir::sieve::registerLinalgKernelProviders() {
  KernelProviderRegistry &registry = KernelProviderRegistry::global();
  registry.add(linalg::GenericOp::getOperationName(), buildStructured,
               /*skipsInactiveRows=*/true);
  registry.add(linalg::FillOp::getOperationName(), buildFill);
  registry.add(tensor::EmptyOp::getOperationName(), buildEmpty);
  registry.add(arith::ConstantOp::getOperationName(), buildConstant);
  registry.add(tensor::ConcatOp::getOperationName(), buildConcat);
  registry.add(tensor::InsertSliceOp::getOperationName(), buildInsertSlice);
  for (StringRef name : {tensor::ExpandShapeOp::getOperationName(),
                         tensor::CollapseShapeOp::getOperationName(),
                         tensor::CastOp::getOperationName()})
    registry.add(name, buildReshape);
}
