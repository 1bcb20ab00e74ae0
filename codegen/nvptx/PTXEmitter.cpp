//===- PTXEmitter.cpp - Kernels to PTX through LLVM's NVPTX backend -------===//

#include "codegen/nvptx/PTXEmitter.h"

#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/Passes.h"
#include "codegen/KernelBuilder.h"
#include "codegen/OptimizeLLVM.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/TypeSwitch.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Triple.h"

#include <cstdlib>

using namespace mlir;
using namespace mlir::sieve;

static constexpr StringLiteral kTriple = "nvptx64-nvidia-cuda";
/// PTX 8.0 is the oldest ISA LLVM 22 accepts for these targets and the one
/// sm_90a needs; the tensormap proxy fence (before TMA loads through maps
/// the runtime copied into memory) needs PTX 8.3 and the e4m3 mma.sync PTX
/// 8.4 (and sm_89), so only a bundle with a kernel that uses them gets the
/// newer ISA (and needs the driver that knows it).
static constexpr StringLiteral kFeatures = "+ptx80";
static constexpr StringLiteral kTensorMapFenceFeatures = "+ptx83";
static constexpr StringLiteral kE4M3MmaFeatures = "+ptx84";

bool mlir::sieve::hasE4M3MmaSync(StringRef target) {
  return llvm::is_contained({"sm_89", "sm_90", "sm_90a"}, target);
}

bool mlir::sieve::isSupportedTarget(StringRef target) {
  return llvm::is_contained({"sm_80", "sm_86", "sm_89", "sm_90", "sm_90a"},
                            target);
}

/// Removes the work counting calls only the emulator implements.
static void dropWorkCounters(gpu::GPUModuleOp module) {
  module.walk([](func::CallOp call) {
    if (call.getCallee() == kCountWorkFunction)
      call.erase();
  });
  if (auto decl = module.lookupSymbol<func::FuncOp>(kCountWorkFunction))
    decl.erase();
}

/// Replaces the math the kernels use (after legalizeKernelMath) by calls of
/// the LLVM intrinsics the NVPTX backend implements in hardware (exp2 ->
/// ex2.approx, sqrt -> sqrt.rn, roundeven -> cvt.rni, ...). The GPU lowering
/// would otherwise turn them into libdevice calls, which need the CUDA
/// toolkit. The same holds for arith.maxnumf/minnumf (__nv_fmaxf/fminf;
/// linalg.softmax's max reduction), which PTX's max/min implement (for f32,
/// f16 and bf16 alike: both return the other operand for one NaN).
static LogicalResult lowerMathToIntrinsics(gpu::GPUModuleOp module) {
  SmallVector<Operation *> minMaxOps;
  module.walk([&](Operation *op) {
    if (isa<arith::MaxNumFOp, arith::MinNumFOp>(op) &&
        isa<Float32Type, Float16Type, BFloat16Type>(
            op->getResult(0).getType()))
      minMaxOps.push_back(op);
  });
  for (Operation *op : minMaxOps) {
    Type type = op->getResult(0).getType();
    std::string intrinsic = isa<arith::MaxNumFOp>(op) ? "llvm.maxnum."
                                                      : "llvm.minnum.";
    intrinsic += type.isF32() ? "f32" : type.isF16() ? "f16" : "bf16";
    OpBuilder builder(op);
    auto call = LLVM::CallIntrinsicOp::create(
        builder, op->getLoc(), type, builder.getStringAttr(intrinsic),
        op->getOperands());
    op->getResult(0).replaceAllUsesWith(call.getResult(0));
    op->erase();
  }

  auto intrinsicFor = [](Operation *op) -> StringRef {
    return llvm::TypeSwitch<Operation *, StringRef>(op)
        .Case([](math::Exp2Op) { return "llvm.exp2"; })
        .Case([](math::SqrtOp) { return "llvm.sqrt"; })
        .Case([](math::AbsFOp) { return "llvm.fabs"; })
        .Case([](math::RoundEvenOp) { return "llvm.roundeven"; })
        .Case([](math::FmaOp) { return "llvm.fma"; })
        .Case([](math::FloorOp) { return "llvm.floor"; })
        .Case([](math::CeilOp) { return "llvm.ceil"; })
        .Case([](math::TruncOp) { return "llvm.trunc"; })
        .Case([](math::RoundOp) { return "llvm.round"; })
        .Case([](math::CopySignOp) { return "llvm.copysign"; })
        .Default([](Operation *) { return StringRef(); });
  };
  SmallVector<Operation *> mathOps;
  module.walk([&](Operation *op) {
    if (isa<math::MathDialect>(op->getDialect()))
      mathOps.push_back(op);
  });
  for (Operation *op : mathOps) {
    StringRef intrinsic = intrinsicFor(op);
    Type type = op->getResult(0).getType();
    if (intrinsic.empty() || !type.isF32())
      return op->emitError() << "no PTX lowering for '" << op->getName()
                             << "' on " << type;
    OpBuilder builder(op);
    auto call = LLVM::CallIntrinsicOp::create(
        builder, op->getLoc(), type,
        builder.getStringAttr(intrinsic + ".f32"), op->getOperands());
    op->getResult(0).replaceAllUsesWith(call.getResult(0));
    op->erase();
  }
  return success();
}

/// LLVM 22's NVGPU-to-NVVM lowering has no bf16 mma.sync ("failed to deduce
/// operand PTX types") and nvgpu has no fp8 one (kE4M3MmaAttrName marks
/// those): such ops become nvvm.mma.sync (bf16) or a call of LLVM's e4m3
/// mma intrinsic (NVVM's op has no dense fp8 form) directly, on the i32
/// registers PTX takes bf16 pairs and e4m3 quadruples in.
static LogicalResult lowerMmaSyncWithoutNVGPU(gpu::GPUModuleOp module) {
  SmallVector<nvgpu::MmaSyncOp> mmaOps;
  module.walk([&](nvgpu::MmaSyncOp op) {
    if (op.getMatrixA().getType().getElementType().isBF16() ||
        op->hasAttr(kE4M3MmaAttrName))
      mmaOps.push_back(op);
  });
  for (nvgpu::MmaSyncOp op : mmaOps) {
    bool isE4M3 = op->hasAttr(kE4M3MmaAttrName);
    std::array<int64_t, 3> shape = {16, 8, isE4M3 ? 32 : 16};
    if (op.getMmaShapeAsArray() != shape ||
        !op.getMatrixC().getType().getElementType().isF32())
      return op.emitOpError("the PTX emitter lowers bf16 mma.sync of shape "
                            "16x8x16 and e4m3 mma.sync of shape 16x8x32 "
                            "with f32 accumulators only");
    ImplicitLocOpBuilder b(op.getLoc(), op);
    Type i32 = b.getI32Type(), f32 = b.getF32Type();
    auto registers = [&](Value fragment) {
      SmallVector<Value> words;
      int64_t rows = cast<VectorType>(fragment.getType()).getDimSize(0);
      for (int64_t r = 0; r < rows; ++r) {
        Value pair = vector::ExtractOp::create(b, fragment, ArrayRef<int64_t>{r});
        Value word = vector::BitCastOp::create(b, VectorType::get({1}, i32),
                                               pair);
        words.push_back(
            vector::ExtractOp::create(b, word, ArrayRef<int64_t>{0}));
      }
      return words;
    };
    SmallVector<Value> c;
    for (int64_t i = 0; i < 4; ++i)
      c.push_back(vector::ExtractOp::create(b, op.getMatrixC(),
                                            ArrayRef<int64_t>{i / 2, i % 2}));
    auto resultType =
        LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
    Value d;
    if (isE4M3) {
      SmallVector<Value> operands = registers(op.getMatrixA());
      llvm::append_range(operands, registers(op.getMatrixB()));
      llvm::append_range(operands, c);
      d = LLVM::CallIntrinsicOp::create(
              b, resultType,
              b.getStringAttr("llvm.nvvm.mma.m16n8k32.row.col.f32.e4m3.e4m3.f32"),
              operands)
              .getResult(0);
    } else {
      d = NVVM::MmaOp::create(
          b, resultType, registers(op.getMatrixA()),
          registers(op.getMatrixB()), c, shape, std::nullopt, std::nullopt,
          std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                        NVVM::MMATypes::bf16},
          std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                         NVVM::MMALayout::col});
    }
    auto accType = VectorType::get({2, 2}, f32);
    Value result = arith::ConstantOp::create(
        b, DenseElementsAttr::get(accType, b.getZeroAttr(f32)));
    for (int64_t i = 0; i < 4; ++i)
      result = vector::InsertOp::create(
          b, LLVM::ExtractValueOp::create(b, d, ArrayRef<int64_t>{i}), result,
          ArrayRef<int64_t>{i / 2, i % 2});
    op.replaceAllUsesWith(result);
    op.erase();
  }
  return success();
}

static void buildNVVMLoweringPipeline(OpPassManager &pm) {
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createSCFToControlFlowPass());
  kernels.addPass(memref::createExpandStridedMetadataPass());
  kernels.addPass(createLowerAffinePass());
  // nvgpu before gpu, as upstream's GPU-to-NVVM pipeline orders them:
  // nvgpu.mbarrier.create becomes a memref.global that the gpu conversion
  // then lowers; the other way round it would be left behind.
  kernels.addPass(createConvertNVGPUToNVVMPass());
  ConvertGpuOpsToNVVMOpsOptions gpuOptions;
  gpuOptions.indexBitwidth = 64;
  kernels.addPass(createConvertGpuOpsToNVVMOps(gpuOptions));
  kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
}

FailureOr<std::string> mlir::sieve::emitPTX(gpu::GPUModuleOp module,
                                            StringRef target) {
  MLIRContext *context = module.getContext();
  context->loadDialect<LLVM::LLVMDialect, NVVM::NVVMDialect>();
  OpBuilder builder(context);
  OwningOpRef<ModuleOp> container = ModuleOp::create(module.getLoc());
  (*container)->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                        builder.getUnitAttr());
  builder.setInsertionPointToStart(container->getBody());
  auto copy = cast<gpu::GPUModuleOp>(builder.clone(*module));
  // NVVM ops check their SM version against the module's target: an op the
  // target lacks (wgmma below sm_90a) is an error here, not in LLVM's
  // instruction selection, which would abort.
  copy.setTargetsAttr(builder.getArrayAttr(
      {NVVM::NVVMTargetAttr::get(context, /*optLevel=*/2, kTriple, target)}));
  if (failed(verify(copy)))
    return failure();
  dropWorkCounters(copy);
  bool usesE4M3Mma = false;
  copy.walk([&](nvgpu::MmaSyncOp op) {
    usesE4M3Mma |= op->hasAttr(kE4M3MmaAttrName);
  });
  bool usesTensorMapFence = false;
  copy.walk([&](NVVM::FenceProxyAcquireOp) { usesTensorMapFence = true; });
  if (usesE4M3Mma && !hasE4M3MmaSync(target))
    return module.emitError()
           << "the e4m3 mma.sync needs sm_89 or newer, not " << target;
  if (failed(lowerMathToIntrinsics(copy)) ||
      failed(lowerMmaSyncWithoutNVGPU(copy)))
    return failure();

  PassManager pm(context);
  buildNVVMLoweringPipeline(pm);
  if (failed(pm.run(*container)))
    return failure();

  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  context->appendDialectRegistry(registry);

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(copy, llvmContext, "sieve_kernels");
  if (!llvmModule)
    return module.emitError() << "cannot translate the kernels to LLVM IR";

  // 32-bit shared-memory pointers: addresses of the tiles in shared memory
  // take one register instead of two (the attention kernels keep many).
  static const bool shortPointers = [] {
    auto &options = llvm::cl::getRegisteredOptions();
    auto it = options.find("nvptx-short-ptr");
    if (it != options.end())
      if (auto *option = static_cast<llvm::cl::opt<bool> *>(it->second))
        *option = true;
    return true;
  }();
  (void)shortPointers;
  LLVMInitializeNVPTXTargetInfo();
  LLVMInitializeNVPTXTarget();
  LLVMInitializeNVPTXTargetMC();
  LLVMInitializeNVPTXAsmPrinter();
  llvm::Triple triple(kTriple);
  std::string error;
  const llvm::Target *llvmTarget =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget)
    return module.emitError() << "LLVM has no NVPTX backend: " << error;
  std::unique_ptr<llvm::TargetMachine> machine(llvmTarget->createTargetMachine(
      triple, target,
      usesE4M3Mma          ? kE4M3MmaFeatures
      : usesTensorMapFence ? kTensorMapFenceFeatures
                           : kFeatures,
      llvm::TargetOptions(), std::nullopt));
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(machine->createDataLayout());

  // The usual -O3 pipeline, with the NVPTX backend's own passes.
  optimizeLLVMModule(*llvmModule, *machine, llvm::OptimizationLevel::O3);

  std::string ptx;
  {
    llvm::raw_string_ostream stream(ptx);
    llvm::buffer_ostream bufferStream(stream);
    llvm::legacy::PassManager codegen;
    if (machine->addPassesToEmitFile(codegen, bufferStream, nullptr,
                                     llvm::CodeGenFileType::AssemblyFile))
      return module.emitError() << "the NVPTX backend cannot emit PTX";
    codegen.run(*llvmModule);
  }
  return ptx;
}

std::optional<std::string> mlir::sieve::findPtxas(StringRef cudaPath) {
  SmallVector<std::string> roots;
  if (!cudaPath.empty())
    roots.push_back(cudaPath.str());
  if (const char *env = std::getenv("CUDA_PATH"))
    roots.push_back(env);
  roots.push_back("/usr/local/cuda");
  for (const std::string &root : roots) {
    SmallString<128> path(root);
    llvm::sys::path::append(path, "bin", "ptxas");
    if (llvm::sys::fs::can_execute(path))
      return path.str().str();
  }
  if (auto found = llvm::sys::findProgramByName("ptxas"))
    return *found;
  return std::nullopt;
}

LogicalResult mlir::sieve::runPtxas(StringRef ptxas, StringRef target,
                                    StringRef ptxFile, StringRef cubinFile,
                                    std::string &log) {
  SmallString<128> logFile;
  if (llvm::sys::fs::createTemporaryFile("sieve-ptxas", "log", logFile)) {
    log = "cannot create a temporary file for ptxas' log";
    return failure();
  }
  std::optional<StringRef> redirects[] = {std::nullopt, logFile.str(),
                                          logFile.str()};
  SmallVector<StringRef> args = {ptxas,   "-arch", target,   ptxFile,
                                 "-o",    cubinFile};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects,
                                         0, 0, &message);
  if (auto buffer = llvm::MemoryBuffer::getFile(logFile))
    log = (*buffer)->getBuffer().str();
  llvm::sys::fs::remove(logFile);
  if (status != 0 && log.empty())
    log = message;
  return success(status == 0);
}
