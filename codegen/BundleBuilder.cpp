//===- BundleBuilder.cpp - From a graph to a launch schedule --------------===//

#include "codegen/BundleBuilder.h"

#include "codegen/MemoryPlan.h"
#include "codegen/kernels/LinalgKernels.h"
#include "passes/ScalarCode.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::sieve;

SizeExpr TensorBinding::numElements() const {
  SizeExpr count = 1;
  for (const SizeExpr &size : shape)
    count = count * size;
  return count;
}

SmallVector<SizeExpr> TensorBinding::getStrides() const {
  if (!strides.empty())
    return strides;
  SmallVector<SizeExpr> dense(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;)
    dense[i - 1] = dense[i] * shape[i];
  return dense;
}

std::optional<DType> mlir::sieve::getDType(Type type) {
  if (type.isF32())
    return DType::F32;
  if (type.isF16())
    return DType::F16;
  if (type.isBF16())
    return DType::BF16;
  if (type.isSignlessInteger(64))
    return DType::I64;
  if (type.isSignlessInteger(32))
    return DType::I32;
  if (type.isSignlessInteger(8))
    return DType::I8;
  if (type.isSignlessInteger(4))
    return DType::I4;
  if (type.isSignlessInteger(1))
    return DType::I1;
  return std::nullopt;
}

int64_t mlir::sieve::getDTypeBytes(DType dtype) {
  return static_cast<int64_t>(::sieve::getDTypeSize(dtype));
}

std::string mlir::sieve::describeOp(Operation *op) {
  return (op->getName().getStringRef() + " at " + formatLocation(op->getLoc()))
      .str();
}

FailureOr<SizeExpr> mlir::sieve::evaluateAffineExpr(AffineExpr expr,
                                                    ArrayRef<SizeExpr> dims,
                                                    ArrayRef<SizeExpr> symbols) {
  if (auto constant = dyn_cast<AffineConstantExpr>(expr))
    return SizeExpr(constant.getValue());
  if (auto dim = dyn_cast<AffineDimExpr>(expr))
    return dims[dim.getPosition()];
  if (auto symbol = dyn_cast<AffineSymbolExpr>(expr))
    return symbols[symbol.getPosition()];
  auto binary = cast<AffineBinaryOpExpr>(expr);
  FailureOr<SizeExpr> lhs = evaluateAffineExpr(binary.getLHS(), dims, symbols);
  FailureOr<SizeExpr> rhs = evaluateAffineExpr(binary.getRHS(), dims, symbols);
  if (failed(lhs) || failed(rhs))
    return failure();
  switch (binary.getKind()) {
  case AffineExprKind::Add:
    return *lhs + *rhs;
  case AffineExprKind::Mul:
    return *lhs * *rhs;
  case AffineExprKind::FloorDiv:
    return *lhs / *rhs;
  case AffineExprKind::CeilDiv:
    return SizeExpr::ceilDiv(*lhs, *rhs);
  case AffineExprKind::Mod:
    return *lhs % *rhs;
  default:
    return failure();
  }
}

//===----------------------------------------------------------------------===//
// KernelProviderRegistry
//===----------------------------------------------------------------------===//

KernelProviderRegistry &KernelProviderRegistry::global() {
  static KernelProviderRegistry registry;
  return registry;
}

void KernelProviderRegistry::add(StringRef opName, KernelProvider provider,
                                 bool skipsInactiveRows) {
  providers[opName] = {std::move(provider), skipsInactiveRows};
}

const KernelProviderRegistry::Entry *
KernelProviderRegistry::find(Operation *op) const {
  auto it = providers.find(op->getName().getStringRef());
  if (it == providers.end() && isa<linalg::LinalgOp>(op))
    it = providers.find(linalg::GenericOp::getOperationName());
  return it == providers.end() ? nullptr : &it->second;
}

const KernelProvider *KernelProviderRegistry::lookup(Operation *op) const {
  const Entry *entry = find(op);
  return entry ? &entry->provider : nullptr;
}

bool KernelProviderRegistry::skipsInactiveRows(Operation *op) const {
  const Entry *entry = find(op);
  return entry && entry->skipsInactiveRows;
}

void KernelProviderRegistry::addStridedOperands(StringRef opName,
                                                StridedOperandQuery query) {
  stridedOperands[opName] = std::move(query);
}

bool KernelProviderRegistry::readsStrided(Operation *op, unsigned index,
                                          StringRef target) const {
  auto it = stridedOperands.find(op->getName().getStringRef());
  return it != stridedOperands.end() && it->second(op, index, target);
}

//===----------------------------------------------------------------------===//
// BundleBuilder
//===----------------------------------------------------------------------===//

void BundleBuilder::loadDialects(MLIRContext &context) {
  context.loadDialect<arith::ArithDialect, func::FuncDialect, gpu::GPUDialect,
                      LLVM::LLVMDialect, math::MathDialect,
                      memref::MemRefDialect, nvgpu::NVGPUDialect,
                      scf::SCFDialect, vector::VectorDialect>();
}

BundleBuilder::BundleBuilder(func::FuncOp entry, gpu::GPUModuleOp kernels,
                             StringRef target)
    : entry(entry), kernels(kernels) {
  manifest.target = target.str();
  manifest.entry = entry.getName().str();
}

std::string BundleBuilder::newBufferName(StringRef prefix) {
  unsigned &count = nameCounts[prefix];
  return (prefix + Twine(count++)).str();
}

TensorBinding &BundleBuilder::bind(Value value, TensorBinding binding) {
  storage.push_back(std::move(binding));
  bindings[value] = &storage.back();
  return storage.back();
}

const TensorBinding &BundleBuilder::get(Value value) {
  auto it = bindings.find(value);
  if (it != bindings.end())
    return *it->second;
  auto pendingIt = pending.find(value);
  assert(pendingIt != pending.end() && "value has no buffer yet");
  Pending state = pendingIt->second;
  pending.erase(pendingIt);
  const TensorBinding &binding = define(value, state.shape);
  if (state.fill)
    emitFillLaunch(*this, state.op, binding, *state.fill);
  return binding;
}

ArrayRef<SizeExpr> BundleBuilder::shape(Value value) const {
  auto it = bindings.find(value);
  if (it != bindings.end())
    return it->second->shape;
  auto pendingIt = pending.find(value);
  assert(pendingIt != pending.end() && "value has no buffer yet");
  return pendingIt->second.shape;
}

SizeExpr BundleBuilder::dim(Value value, unsigned index) const {
  return shape(value)[index];
}

std::optional<TypedAttr> BundleBuilder::getFillValue(Value value) const {
  auto it = pending.find(value);
  if (it == pending.end())
    return std::nullopt;
  return it->second.fill;
}

std::optional<RowLimit> BundleBuilder::getRowLimit(Value value) const {
  auto it = rowLimits.find(value);
  if (it == rowLimits.end())
    return std::nullopt;
  return it->second;
}

FailureOr<SizeExpr> BundleBuilder::getSize(Value index) {
  if (auto it = sizes.find(index); it != sizes.end())
    return it->second;
  Operation *def = index.getDefiningOp();
  if (!def)
    return failure();
  auto operand = [&](unsigned i) { return getSize(def->getOperand(i)); };
  auto binary = [&](function_ref<SizeExpr(SizeExpr, SizeExpr)> fn)
      -> FailureOr<SizeExpr> {
    FailureOr<SizeExpr> lhs = operand(0), rhs = operand(1);
    if (failed(lhs) || failed(rhs))
      return failure();
    return fn(*lhs, *rhs);
  };
  FailureOr<SizeExpr> result =
      llvm::TypeSwitch<Operation *, FailureOr<SizeExpr>>(def)
          .Case([&](arith::ConstantOp op) -> FailureOr<SizeExpr> {
            if (auto attr = dyn_cast<IntegerAttr>(op.getValue()))
              return SizeExpr(attr.getInt());
            return failure();
          })
          .Case([&](tensor::DimOp op) -> FailureOr<SizeExpr> {
            std::optional<int64_t> i = op.getConstantIndex();
            if (!i || (!bindings.count(op.getSource()) &&
                       !pending.count(op.getSource())))
              return failure();
            return dim(op.getSource(), *i);
          })
          .Case([&](arith::AddIOp) {
            return binary([](SizeExpr a, SizeExpr b) { return a + b; });
          })
          .Case([&](arith::SubIOp) {
            return binary([](SizeExpr a, SizeExpr b) { return a - b; });
          })
          .Case([&](arith::MulIOp) {
            return binary([](SizeExpr a, SizeExpr b) { return a * b; });
          })
          // Sizes are not negative: signed and unsigned division agree.
          .Case<arith::DivUIOp, arith::DivSIOp, arith::FloorDivSIOp>(
              [&](Operation *) {
                return binary([](SizeExpr a, SizeExpr b) { return a / b; });
              })
          .Case<arith::RemUIOp, arith::RemSIOp>([&](Operation *) {
            return binary([](SizeExpr a, SizeExpr b) { return a % b; });
          })
          .Case<arith::CeilDivUIOp, arith::CeilDivSIOp>([&](Operation *) {
            return binary(
                [](SizeExpr a, SizeExpr b) { return SizeExpr::ceilDiv(a, b); });
          })
          .Case<arith::MinSIOp, arith::MinUIOp>([&](Operation *) {
            return binary(
                [](SizeExpr a, SizeExpr b) { return SizeExpr::min(a, b); });
          })
          .Case<arith::MaxSIOp, arith::MaxUIOp>([&](Operation *) {
            return binary(
                [](SizeExpr a, SizeExpr b) { return SizeExpr::max(a, b); });
          })
          .Case([&](affine::AffineApplyOp op) -> FailureOr<SizeExpr> {
            SmallVector<SizeExpr> operands;
            for (Value v : op.getMapOperands()) {
              FailureOr<SizeExpr> size = getSize(v);
              if (failed(size))
                return failure();
              operands.push_back(*size);
            }
            return evaluateAffineExpr(
                op.getAffineMap().getResult(0),
                ArrayRef(operands).take_front(op.getAffineMap().getNumDims()),
                ArrayRef(operands).drop_front(op.getAffineMap().getNumDims()));
          })
          .Default([](Operation *) { return failure(); });
  if (succeeded(result))
    sizes[index] = *result;
  return result;
}

SmallVector<SizeExpr> BundleBuilder::strides(Value value) {
  return get(value).getStrides();
}

const TensorBinding &BundleBuilder::define(Value value,
                                           SmallVector<SizeExpr> shape) {
  auto type = cast<RankedTensorType>(value.getType());
  // A static size the type knows wins over the expression of the operands.
  for (auto [index, size] : llvm::enumerate(type.getShape()))
    if (!ShapedType::isDynamic(size))
      shape[index] = size;
  TensorBinding binding;
  binding.buffer = newBufferName("t");
  binding.dtype = *getDType(type.getElementType());
  binding.shape = std::move(shape);
  manifest.buffers.push_back(
      {binding.buffer, "temporary",
       binding.numElements() * getDTypeBytes(binding.dtype), 0});
  return bind(value, std::move(binding));
}

bool BundleBuilder::isUndefined(Value value) const {
  auto it = pending.find(value);
  return it != pending.end() && !it->second.fill;
}

bool BundleBuilder::canUpdateInPlace(Value value) const {
  if (!value.hasOneUse())
    return false;
  auto it = bindings.find(value);
  if (it == bindings.end())
    return pending.count(value);
  const std::string &buffer = it->second->buffer;
  auto decl = llvm::find_if(manifest.buffers, [&](const BufferDecl &decl) {
    return decl.name == buffer;
  });
  if (decl == manifest.buffers.end() || decl->kind != "temporary")
    return false;
  return llvm::count_if(bindings, [&](const auto &entry) {
           return entry.second->buffer == buffer;
         }) == 1;
}

void BundleBuilder::alias(Value value, Value source,
                          SmallVector<SizeExpr> shape) {
  auto type = cast<RankedTensorType>(value.getType());
  for (auto [index, size] : llvm::enumerate(type.getShape()))
    if (!ShapedType::isDynamic(size))
      shape[index] = size;
  if (auto it = pending.find(source); it != pending.end()) {
    Pending state = it->second;
    state.shape = std::move(shape);
    pending[value] = std::move(state);
    return;
  }
  TensorBinding binding = get(source);
  binding.shape = std::move(shape);
  bind(value, std::move(binding));
}

/// The bytes of `data` in bundle layout (row-major, i1 and i4 one byte per
/// element, little-endian), or failure for element types bundles lack.
static FailureOr<std::string> serializeElements(ElementsAttr data) {
  Type elementType = data.getElementType();
  std::optional<DType> dtype = getDType(elementType);
  if (!dtype)
    return failure();
  int64_t bytes = getDTypeBytes(*dtype);
  std::string result;
  result.reserve(data.getNumElements() * bytes);
  auto appendInt = [&](uint64_t value) {
    for (int64_t i = 0; i < bytes; ++i)
      result.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  };
  // Dense storage in the bundle's layout already: copy it.
  if (auto dense = dyn_cast<DenseElementsAttr>(data);
      dense && !dense.isSplat() && bytes * 8 == static_cast<int64_t>(
                                      elementType.getIntOrFloatBitWidth())) {
    ArrayRef<char> raw = dense.getRawData();
    return std::string(raw.data(), raw.size());
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(data)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return failure();
    ArrayRef<char> raw = blob->getData();
    if (bytes * 8 != static_cast<int64_t>(elementType.getIntOrFloatBitWidth()) ||
        static_cast<int64_t>(raw.size()) != data.getNumElements() * bytes)
      return failure();
    return std::string(raw.data(), raw.size());
  }
  if (isa<FloatType>(elementType)) {
    auto values = data.tryGetValues<APFloat>();
    if (!values)
      return failure();
    for (APFloat value : *values)
      appendInt(value.bitcastToAPInt().getZExtValue());
    return result;
  }
  auto values = data.tryGetValues<APInt>();
  if (!values)
    return failure();
  for (APInt value : *values)
    appendInt(value.getZExtValue());
  return result;
}

LogicalResult BundleBuilder::defineConstant(Value value, ElementsAttr data) {
  auto type = cast<RankedTensorType>(value.getType());
  std::string &buffer = constantBuffers[data];
  if (buffer.empty()) {
    FailureOr<std::string> bytes = serializeElements(data);
    if (failed(bytes))
      return emitError(value.getLoc())
             << "sieve-compile cannot store a constant of type " << type;
    buffer = addConstantBuffer(*bytes);
  }
  TensorBinding binding;
  binding.buffer = buffer;
  binding.dtype = *getDType(type.getElementType());
  for (int64_t size : type.getShape())
    binding.shape.push_back(size);
  bind(value, std::move(binding));
  return success();
}

std::string BundleBuilder::addConstantBuffer(StringRef bytes) {
  std::string name = newBufferName("c");
  int64_t offset = llvm::alignTo(constantData.size(), kBufferAlignment);
  constantData.resize(offset, '\0');
  constantData += bytes;
  int64_t size = static_cast<int64_t>(bytes.size());
  constantRanges[name] = {offset, size};
  manifest.buffers.push_back({name, "constant", size, offset});
  return name;
}

std::optional<StringRef>
BundleBuilder::getConstantBytes(StringRef buffer) const {
  auto it = constantRanges.find(buffer);
  if (it == constantRanges.end())
    return std::nullopt;
  return StringRef(constantData).substr(it->second.first, it->second.second);
}

void BundleBuilder::definePending(Value value, SmallVector<SizeExpr> shape,
                                  std::optional<TypedAttr> scalar) {
  auto type = cast<RankedTensorType>(value.getType());
  for (auto [index, size] : llvm::enumerate(type.getShape()))
    if (!ShapedType::isDynamic(size))
      shape[index] = size;
  pending[value] = {std::move(shape), scalar, value.getDefiningOp()};
}

std::string BundleBuilder::addScratch(DType dtype, SizeExpr elements) {
  std::string name = newBufferName("scratch");
  manifest.buffers.push_back(
      {name, "temporary", elements * getDTypeBytes(dtype), 0});
  return name;
}

std::optional<std::string> BundleBuilder::lookupDerived(StringRef key) const {
  auto it = derived.find(key);
  if (it == derived.end())
    return std::nullopt;
  return it->second;
}

void BundleBuilder::recordDerived(StringRef key, std::string buffer) {
  derived[key] = std::move(buffer);
}

void BundleBuilder::check(SizeExpr condition, const Twine &message,
                          Operation *op) {
  if (condition.getConstant() && *condition.getConstant() != 0)
    return;
  manifest.checks.push_back({condition, describeOp(op) + ": " + message.str()});
}

KernelBuilder BundleBuilder::newKernel(StringRef base, Location loc) {
  return KernelBuilder(kernels, newBufferName(("sieve_" + base + "_").str()),
                       loc);
}

void BundleBuilder::addKernel(KernelDecl kernel) {
  manifest.kernels.push_back(std::move(kernel));
}

void BundleBuilder::launch(Operation *op, LaunchDecl launch) {
  launch.op = describeOp(op);
  manifest.launches.push_back(std::move(launch));
}

void BundleBuilder::addGate(Operation *op, Value score, Value mask) {
  const TensorBinding &scoreBinding = get(score);
  manifest.gates.push_back({describeOp(op), scoreBinding.buffer,
                            get(mask).buffer, scoreBinding.numElements()});
}

LogicalResult BundleBuilder::bindInputs() {
  for (auto [index, arg] : llvm::enumerate(entry.getArguments())) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    std::optional<DType> dtype =
        type ? getDType(type.getElementType()) : std::nullopt;
    if (!dtype)
      return entry.emitError() << "argument " << index << " has type "
                               << arg.getType()
                               << "; bundles take ranked tensors of f32, "
                                  "f16, bf16, i64, i32, i8, i4 or i1";
    TensorBinding binding;
    binding.buffer = "arg" + std::to_string(index);
    binding.dtype = *dtype;
    for (auto [dim, size] : llvm::enumerate(type.getShape())) {
      if (!ShapedType::isDynamic(size)) {
        binding.shape.push_back(size);
        continue;
      }
      std::string symbol = "s" + std::to_string(llvm::count_if(
                                     manifest.symbols, [](const SymbolDecl &s) {
                                       return !s.stride;
                                     }));
      manifest.symbols.push_back(
          {symbol, static_cast<unsigned>(index), static_cast<unsigned>(dim)});
      binding.shape.push_back(SizeExpr::symbol(symbol));
    }
    // An argument that only kernels reading through run-time strides use
    // keeps the caller's layout: a strided input with one stride symbol
    // per dimension.
    bool strided = !arg.use_empty() &&
                   llvm::all_of(arg.getUses(), [&](OpOperand &use) {
                     return KernelProviderRegistry::global().readsStrided(
                         use.getOwner(), use.getOperandNumber(),
                         manifest.target);
                   });
    if (strided)
      for (unsigned dim = 0; dim < type.getRank(); ++dim) {
        std::string symbol = binding.buffer + "_stride" + std::to_string(dim);
        manifest.symbols.push_back(
            {symbol, static_cast<unsigned>(index), dim, /*stride=*/true});
        binding.strides.push_back(SizeExpr::symbol(symbol));
      }
    TensorDecl input{binding.buffer, *dtype, binding.shape, binding.buffer};
    input.strided = strided;
    manifest.inputs.push_back(std::move(input));
    manifest.buffers.push_back(
        {binding.buffer, "input",
         binding.numElements() * getDTypeBytes(*dtype), 0});
    bind(arg, std::move(binding));
  }
  return success();
}

void BundleBuilder::addRandomHints() {
  // What sieve-run derives from the graph for --random-inputs, so that
  // sieve-bundle-run fills the inputs the same way.
  for (auto [index, arg] : llvm::enumerate(entry.getArguments())) {
    RandomHint &hint = manifest.inputs[index].random;
    for (OpOperand &use : arg.getUses()) {
      Operation *user = use.getOwner();
      StringRef name = user->getName().getStringRef();
      if (name == "sieve.hybrid_attention" && use.getOperandNumber() == 3) {
        // `globals`: valid key positions.
        hint.range = {SizeExpr(0), dim(user->getOperand(1), 2) - 1};
      } else if ((name == "sieve.qmatmul" && use.getOperandNumber() == 2) ||
                 (name == "sieve.dequantize" &&
                  use.getOperandNumber() == 1)) {
        // Per-group scales of quantized weights: the values are the
        // operand before them.
        Value values = user->getOperand(use.getOperandNumber() - 1);
        auto type = cast<RankedTensorType>(values.getType());
        int64_t qmax = type.getElementType().isInteger(4) ? 7 : 127;
        hint.scale = {qmax, dim(values, type.getRank() - 1)};
      }
    }
  }
}

LogicalResult BundleBuilder::bindOutputs(func::ReturnOp ret) {
  // Each result needs a buffer of its own that no launch after its producer
  // writes: a result that is an argument, a constant, a view of another
  // result or of a buffer written later gets a copy.
  llvm::DenseSet<StringRef> claimed;
  for (auto [index, value] : llvm::enumerate(ret.getOperands())) {
    const TensorBinding *binding = &get(value);
    auto findBuffer = [&](StringRef name) {
      return llvm::find_if(manifest.buffers, [&](const BufferDecl &buffer) {
        return buffer.name == name;
      });
    };
    auto it = findBuffer(binding->buffer);
    bool aliased = llvm::count_if(storage, [&](const TensorBinding &other) {
                     return other.buffer == binding->buffer;
                   }) > 1;
    if (it->kind != "temporary" || claimed.contains(binding->buffer) ||
        aliased) {
      binding = &emitCopyLaunch(*this, ret, value, value);
      it = findBuffer(binding->buffer);
    }
    it->kind = "output";
    claimed.insert(it->name);
    manifest.outputs.push_back({"out" + std::to_string(index),
                                binding->dtype, binding->shape,
                                binding->buffer});
  }
  return success();
}

std::vector<std::string> BundleBuilder::getGatedRowsReport() const {
  std::vector<std::string> lines;
  Block &body = const_cast<func::FuncOp &>(entry).getBody().front();
  for (Operation &compact : body) {
    Operation *op = &compact;
    if (op->getName().getStringRef() != "sieve.compact")
      continue;
    Value count = op->getResult(2);
    std::string skipping;
    int64_t numSkipping = 0;
    for (Operation &user : body) {
      if (user.getNumResults() == 0 || isa<ViewLikeOpInterface>(user) ||
          user.getName().getStringRef().starts_with("tensor."))
        continue;
      auto it = rowLimits.find(user.getResult(0));
      if (it == rowLimits.end() || it->second.count != count ||
          &user == op)
        continue;
      skipping += (numSkipping++ ? ", " : "") +
                  user.getName().getStringRef().str();
    }
    lines.push_back("gated rows: " + std::to_string(numSkipping) +
                    " ops skip the rows past count of " + describeOp(op) +
                    (numSkipping ? " (" + skipping + ")" : ""));
  }
  return lines;
}

LogicalResult BundleBuilder::build() {
  if (failed(bindInputs()))
    return failure();
  rowLimits = analyzeRowLimits(entry, [](Operation *op) {
    return KernelProviderRegistry::global().skipsInactiveRows(op);
  });
  for (Operation &op : entry.getBody().front()) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      if (failed(bindOutputs(ret)))
        return failure();
      addRandomHints();
      memoryStats = planArena(manifest);
      memoryStats.constantBytes = constantData.size();
      return legalizeKernelMath(kernels);
    }
    // Scalars (sizes, constants) are evaluated where kernels use them.
    if (op.getNumResults() > 0 &&
        llvm::none_of(op.getResultTypes(), llvm::IsaPred<ShapedType>) &&
        isMemoryEffectFree(&op))
      continue;
    const KernelProvider *provider =
        KernelProviderRegistry::global().lookup(&op);
    if (!provider)
      return op.emitError() << "sieve-compile has no kernel for '"
                            << op.getName() << "'";
    if (failed((*provider)(&op, *this)))
      return failure();
  }
  return entry.emitError() << "entry function has no return";
}
