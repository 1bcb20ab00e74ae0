//===- ReferenceExecutor.cpp - Run a graph on the CPU ---------------------===//
//
// The graph is lowered with the reference pipelines (passes/Pipelines.cpp),
// its entry called through the C interface MLIR generates
// (`_mlir_ciface_<name>(results*, args*...)`, memrefs as descriptors).
//
// Run-time checks of the op contract arrive as `cf.assert`. Lowered as usual
// they would abort the process; here each becomes a call to `sieveRunCheck`,
// which on failure jumps back to `run()` so that the tool reports the rule and
// exits cleanly. The jump only crosses JIT-compiled frames, which hold no C++
// objects; buffers the graph allocated before the failure are leaked.
//
//===----------------------------------------------------------------------===//

#include "tools/sieve-run/ReferenceExecutor.h"

#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Support/TargetSelect.h"

#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <set>

using namespace mlir;
using namespace mlir::sieve;
using ::sieve::DType;
using ::sieve::HostTensor;

FailureOr<TensorSpec> mlir::sieve::getTensorSpec(Type type) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  if (!tensorType)
    return failure();
  Type element = tensorType.getElementType();
  std::optional<DType> dtype;
  if (element.isF32())
    dtype = DType::F32;
  else if (element.isF16())
    dtype = DType::F16;
  else if (element.isBF16())
    dtype = DType::BF16;
  else if (element.isSignlessInteger(64))
    dtype = DType::I64;
  else if (element.isSignlessInteger(32))
    dtype = DType::I32;
  else if (element.isSignlessInteger(8))
    dtype = DType::I8;
  else if (element.isSignlessInteger(4))
    dtype = DType::I4;
  else if (element.isSignlessInteger(1))
    dtype = DType::I1;
  if (!dtype)
    return failure();
  TensorSpec spec;
  spec.dtype = *dtype;
  for (int64_t size : tensorType.getShape())
    spec.shape.push_back(ShapedType::isDynamic(size) ? -1 : size);
  llvm::raw_string_ostream os(spec.typeText);
  os << type;
  return spec;
}

//===----------------------------------------------------------------------===//
// Run-time checks
//===----------------------------------------------------------------------===//

namespace {
thread_local std::jmp_buf *activeRun = nullptr;
thread_local int64_t failedCheck = -1;
} // namespace

/// Called by the JIT-compiled graph for every run-time check.
extern "C" void sieveRunCheck(int32_t ok, int64_t id) {
  if (ok)
    return;
  failedCheck = id;
  std::longjmp(*activeRun, 1);
}

/// Replaces each `cf.assert` with a call of `sieveRunCheck(cond, id)` and
/// records its message under `id`.
static void lowerAssertsToChecks(ModuleOp module,
                                 std::vector<std::string> &messages) {
  OpBuilder builder(module.getContext());
  auto i32 = builder.getI32Type(), i64 = builder.getI64Type();
  SmallVector<cf::AssertOp> asserts;
  module.walk([&](cf::AssertOp op) { asserts.push_back(op); });
  if (asserts.empty())
    return;

  builder.setInsertionPointToStart(module.getBody());
  auto checkFn = func::FuncOp::create(builder, module.getLoc(), "sieveRunCheck",
                                      builder.getFunctionType({i32, i64}, {}));
  checkFn.setPrivate();
  for (cf::AssertOp op : asserts) {
    builder.setInsertionPoint(op);
    Location loc = op.getLoc();
    Value ok = arith::ExtUIOp::create(builder, loc, i32, op.getArg());
    Value id = arith::ConstantIntOp::create(
        builder, loc, i64, static_cast<int64_t>(messages.size()));
    func::CallOp::create(builder, loc, checkFn, ValueRange{ok, id});
    messages.push_back(op.getMsg().str());
    op.erase();
  }
}

//===----------------------------------------------------------------------===//
// Memref descriptors
//===----------------------------------------------------------------------===//

/// A ranked memref descriptor as the C interface lays it out: allocated and
/// aligned pointers, offset, sizes, strides; all 8-byte words.
static std::vector<int64_t> makeDescriptor(const HostTensor &tensor) {
  size_t rank = tensor.shape.size();
  std::vector<int64_t> words(3 + 2 * rank);
  auto data = reinterpret_cast<int64_t>(tensor.data.data());
  words[0] = words[1] = data;
  words[2] = 0;
  int64_t stride = 1;
  for (size_t dim = rank; dim-- > 0;) {
    words[3 + dim] = tensor.shape[dim];
    words[3 + rank + dim] = stride;
    stride *= tensor.shape[dim];
  }
  return words;
}

/// Copies the memref a result descriptor describes into a dense host tensor.
static HostTensor copyOut(const int64_t *words, const TensorSpec &spec) {
  size_t rank = spec.shape.size();
  std::vector<int64_t> shape(words + 3, words + 3 + rank);
  const int64_t *strides = words + 3 + rank;
  HostTensor tensor(spec.dtype, shape);
  size_t elementSize = ::sieve::getDTypeSize(spec.dtype);
  auto base = reinterpret_cast<const uint8_t *>(words[1]) +
              words[2] * static_cast<int64_t>(elementSize);
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0, e = tensor.numElements(); i < e; ++i) {
    int64_t offset = 0;
    for (size_t dim = 0; dim < rank; ++dim)
      offset += index[dim] * strides[dim];
    uint8_t *dst = tensor.data.data() + i * elementSize;
    std::memcpy(dst, base + offset * static_cast<int64_t>(elementSize),
                elementSize);
    // Only the low bits of i4/i1 bytes are defined.
    if (spec.dtype == DType::I4)
      *dst = static_cast<uint8_t>(static_cast<int8_t>(*dst << 4) >> 4);
    else if (spec.dtype == DType::I1)
      *dst &= 1;
    for (size_t dim = rank; dim-- > 0;) {
      if (++index[dim] < shape[dim])
        break;
      index[dim] = 0;
    }
  }
  return tensor;
}

//===----------------------------------------------------------------------===//
// ReferenceExecutor
//===----------------------------------------------------------------------===//

FailureOr<std::unique_ptr<ReferenceExecutor>>
ReferenceExecutor::compile(ModuleOp module, StringRef entry) {
  MLIRContext *context = module.getContext();
  auto entryFn = module.lookupSymbol<func::FuncOp>(entry);
  if (!entryFn)
    return module.emitError() << "no function @" << entry;

  std::unique_ptr<ReferenceExecutor> executor(new ReferenceExecutor());
  for (Type type : entryFn.getResultTypes()) {
    FailureOr<TensorSpec> spec = getTensorSpec(type);
    if (failed(spec))
      return entryFn.emitError()
             << "result of type " << type
             << " cannot be returned to the host; sieve-run returns ranked "
                "tensors of f32, f16, bf16, i64, i32, i8, i4 or i1";
    executor->resultSpecs.push_back(*spec);
  }

  // The C interface is what we call; inputs belong to the caller, so the
  // graph must not write into them.
  entryFn->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                   UnitAttr::get(context));
  for (unsigned i = 0; i < entryFn.getNumArguments(); ++i)
    entryFn.setArgAttr(i, "bufferization.writable", BoolAttr::get(context, false));

  PassManager lowering(context);
  buildReferenceLoweringPipeline(lowering);
  if (failed(lowering.run(module)))
    return failure();
  lowerAssertsToChecks(module, executor->checkMessages);
  PassManager codegen(context);
  buildCPUCodegenPipeline(codegen);
  if (failed(codegen.run(module)))
    return failure();

  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  registerBuiltinDialectTranslation(*context);
  registerLLVMDialectTranslation(*context);

  // The optimizer needs the host's target machine to know its vector units.
  auto targetBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!targetBuilder)
    return module.emitError() << "cannot target the host: "
                              << llvm::toString(targetBuilder.takeError());
  targetBuilder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Default);
  auto targetMachine = targetBuilder->createTargetMachine();
  if (!targetMachine)
    return module.emitError() << "cannot target the host: "
                              << llvm::toString(targetMachine.takeError());
  auto transformer = makeOptimizingTransformer(/*optLevel=*/2,
                                               /*sizeLevel=*/0,
                                               targetMachine->get());
  ExecutionEngineOptions options;
  options.transformer = transformer;
  options.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Default;
  auto engine =
      ExecutionEngine::create(module, options, std::move(*targetMachine));
  if (!engine)
    return module.emitError() << "JIT compilation failed: "
                              << llvm::toString(engine.takeError());
  executor->engine = std::move(*engine);
  executor->engine->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    symbols[interner("sieveRunCheck")] = {
        llvm::orc::ExecutorAddr::fromPtr(&sieveRunCheck),
        llvm::JITSymbolFlags::Exported};
    symbols[interner("memrefCopy")] = {
        llvm::orc::ExecutorAddr::fromPtr(&memrefCopy),
        llvm::JITSymbolFlags::Exported};
    return symbols;
  });
  auto fn = executor->engine->lookupPacked(("_mlir_ciface_" + entry).str());
  if (!fn)
    return module.emitError() << "cannot find the compiled @" << entry << ": "
                              << llvm::toString(fn.takeError());
  executor->entryFn = *fn;
  return executor;
}

/// Calls the packed entry under a jump target for failed checks. Kept apart
/// from run() so that no C++ object lives in the frame the jump returns to.
static bool callUnderChecks(void (*fn)(void **), void **args) {
  std::jmp_buf target;
  activeRun = &target;
  failedCheck = -1;
  if (setjmp(target) != 0) {
    activeRun = nullptr;
    return false;
  }
  fn(args);
  activeRun = nullptr;
  return true;
}

bool ReferenceExecutor::run(const std::vector<HostTensor> &inputs,
                            std::vector<HostTensor> &outputs,
                            std::string &error) {
  std::vector<std::vector<int64_t>> descriptors;
  descriptors.reserve(inputs.size());
  for (const HostTensor &input : inputs)
    descriptors.push_back(makeDescriptor(input));

  size_t resultWords = 0;
  for (const TensorSpec &spec : resultSpecs)
    resultWords += 3 + 2 * spec.shape.size();
  std::vector<int64_t> results(std::max<size_t>(resultWords, 1), 0);

  // _mlir_ciface_f(results*, desc0*, desc1*, ...): the packed wrapper takes
  // the address of each of those pointer arguments.
  std::vector<void *> pointers, args;
  if (!resultSpecs.empty())
    pointers.push_back(results.data());
  for (std::vector<int64_t> &descriptor : descriptors)
    pointers.push_back(descriptor.data());
  for (void *&pointer : pointers)
    args.push_back(&pointer);

  if (!callUnderChecks(entryFn, args.data())) {
    error = checkMessages.at(static_cast<size_t>(failedCheck));
    return false;
  }

  outputs.clear();
  std::set<int64_t> freed;
  for (const HostTensor &input : inputs)
    freed.insert(reinterpret_cast<int64_t>(input.data.data()));
  const int64_t *words = results.data();
  for (const TensorSpec &spec : resultSpecs) {
    outputs.push_back(copyOut(words, spec));
    // The caller owns returned buffers; several results may share one.
    if (words[0] && freed.insert(words[0]).second)
      std::free(reinterpret_cast<void *>(words[0]));
    words += 3 + 2 * spec.shape.size();
  }
  return true;
}
