//===- BundleBuilder.cpp - From a graph to a launch schedule --------------===//

#include "codegen/BundleBuilder.h"

#include "passes/ScalarCode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::sieve;

SizeExpr TensorBinding::numElements() const {
  SizeExpr count = 1;
  for (const SizeExpr &size : shape)
    count = count * size;
  return count;
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

//===----------------------------------------------------------------------===//
// KernelProviderRegistry
//===----------------------------------------------------------------------===//

KernelProviderRegistry &KernelProviderRegistry::global() {
  static KernelProviderRegistry registry;
  return registry;
}

void KernelProviderRegistry::add(StringRef opName, KernelProvider provider) {
  providers[opName] = std::move(provider);
}

const KernelProvider *KernelProviderRegistry::lookup(StringRef opName) const {
  auto it = providers.find(opName);
  return it == providers.end() ? nullptr : &it->second;
}

//===----------------------------------------------------------------------===//
// BundleBuilder
//===----------------------------------------------------------------------===//

void BundleBuilder::loadDialects(MLIRContext &context) {
  context.loadDialect<arith::ArithDialect, gpu::GPUDialect, math::MathDialect,
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

const TensorBinding &BundleBuilder::get(Value value) const {
  auto it = bindings.find(value);
  assert(it != bindings.end() && "value has no buffer yet");
  return it->second;
}

SizeExpr BundleBuilder::dim(Value value, unsigned index) const {
  return get(value).shape[index];
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
       binding.numElements() * getDTypeBytes(binding.dtype)});
  return bindings[value] = binding;
}

std::string BundleBuilder::addScratch(DType dtype, SizeExpr elements) {
  std::string name = newBufferName("scratch");
  manifest.buffers.push_back(
      {name, "temporary", elements * getDTypeBytes(dtype)});
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
      std::string symbol = "s" + std::to_string(manifest.symbols.size());
      manifest.symbols.push_back(
          {symbol, static_cast<unsigned>(index), static_cast<unsigned>(dim)});
      binding.shape.push_back(SizeExpr::symbol(symbol));
    }
    manifest.inputs.push_back(
        {binding.buffer, *dtype, binding.shape, binding.buffer});
    manifest.buffers.push_back(
        {binding.buffer, "input",
         binding.numElements() * getDTypeBytes(*dtype)});
    bindings[arg] = std::move(binding);
  }
  return success();
}

LogicalResult BundleBuilder::bindOutputs(func::ReturnOp ret) {
  llvm::DenseSet<StringRef> claimed;
  for (auto [index, value] : llvm::enumerate(ret.getOperands())) {
    const TensorBinding &binding = get(value);
    // An output needs a buffer of its own: an input returned as is, or a
    // value returned twice, would otherwise alias.
    auto it = llvm::find_if(manifest.buffers, [&](const BufferDecl &buffer) {
      return buffer.name == binding.buffer;
    });
    if (it->kind != "temporary" || claimed.contains(binding.buffer))
      return ret.emitError()
             << "result " << index
             << " is a function argument or is returned twice; sieve-compile "
                "needs each result to be computed by an op of its own";
    it->kind = "output";
    claimed.insert(it->name);
    manifest.outputs.push_back({"out" + std::to_string(index), binding.dtype,
                                binding.shape, binding.buffer});
  }
  return success();
}

LogicalResult BundleBuilder::build() {
  if (failed(bindInputs()))
    return failure();
  for (Operation &op : entry.getBody().front()) {
    if (auto ret = dyn_cast<func::ReturnOp>(op))
      return bindOutputs(ret);
    const KernelProvider *provider =
        KernelProviderRegistry::global().lookup(op.getName().getStringRef());
    if (!provider)
      return op.emitError() << "sieve-compile has no kernel for '"
                            << op.getName()
                            << "'; bundles compile graphs of sieve ops";
    if (failed((*provider)(&op, *this)))
      return failure();
  }
  return entry.emitError() << "entry function has no return";
}
