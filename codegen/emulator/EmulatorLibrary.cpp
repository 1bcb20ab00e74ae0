//===- EmulatorLibrary.cpp - Build kernels.emu.so -------------------------===//
//
// Lowers the emulator form of the kernels to LLVM for the host, adds one
// exported entry point per kernel, `void sieve_emu_kernel_<K>(void **params)`,
// taking the same parameter array as cuLaunchKernel, and links a shared
// object whose sieve_emu_* references the runtime resolves when it loads it.
//
//===----------------------------------------------------------------------===//

#include "codegen/emulator/Emulator.h"

#include "codegen/OptimizeLLVM.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

using namespace mlir;
using namespace mlir::sieve;

static void buildHostLoweringPipeline(OpPassManager &pm) {
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  arith::ArithExpandOpsPassOptions expandOptions;
  expandOptions.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expandOptions));
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

/// Declares (once) an external LLVM function of the emulator ABI.
static LLVM::LLVMFuncOp declareAbi(ModuleOp module, StringRef name,
                                   Type result) {
  if (auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
    return fn;
  OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
  return LLVM::LLVMFuncOp::create(builder, module.getLoc(), name,
                                  LLVM::LLVMFunctionType::get(result, {}));
}

/// Adds `sieve_emu_kernel_<kernel>(void **params)`: loads each parameter
/// from the array, builds the two shared-memory descriptors from the
/// emulator's block state, and calls the kernel's body.
static LogicalResult addEntryPoint(ModuleOp module, StringRef kernel) {
  auto body = module.lookupSymbol<LLVM::LLVMFuncOp>(getEmulatorBodyName(kernel));
  if (!body)
    return module.emitError() << "lost the emulator body of kernel "
                              << kernel;
  body.setLinkage(LLVM::Linkage::Internal);
  MLIRContext *ctx = module.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i64 = IntegerType::get(ctx, 64);
  ArrayRef<Type> bodyParams = body.getFunctionType().getParams();
  // The two shared-memory memrefs are the last 2 x 5 descriptor fields.
  constexpr unsigned kSharedFields = 10;
  if (bodyParams.size() < kSharedFields)
    return body.emitError("unexpected signature of an emulated kernel");
  unsigned numKernelParams = bodyParams.size() - kSharedFields;

  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  Location loc = body.getLoc();
  auto entry = LLVM::LLVMFuncOp::create(
      builder, loc, getEmulatorEntryName(kernel),
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr}));
  Block *block = entry.addEntryBlock(builder);
  builder.setInsertionPointToStart(block);
  Value params = block->getArgument(0);

  SmallVector<Value> args;
  for (unsigned i = 0; i < numKernelParams; ++i) {
    Value slot = LLVM::GEPOp::create(builder, loc, ptr, ptr, params,
                                     ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
    Value address = LLVM::LoadOp::create(builder, loc, ptr, slot);
    args.push_back(LLVM::LoadOp::create(builder, loc, bodyParams[i], address));
  }
  auto call = [&](StringRef name, Type result) {
    return LLVM::CallOp::create(builder, loc, declareAbi(module, name, result),
                                ValueRange{})
        .getResult();
  };
  Value base = call("sieve_emu_shared_memory", ptr);
  Value size = call("sieve_emu_shared_memory_size", i64);
  Value dynamicOffset = call("sieve_emu_dynamic_shared_offset", i64);
  Value dynamicBase =
      LLVM::GEPOp::create(builder, loc, ptr, builder.getI8Type(), base,
                          ArrayRef<LLVM::GEPArg>{dynamicOffset});
  Value dynamicSize = LLVM::SubOp::create(builder, loc, size, dynamicOffset);
  Value zero = LLVM::ConstantOp::create(builder, loc, i64, 0);
  Value one = LLVM::ConstantOp::create(builder, loc, i64, 1);
  args.append({base, base, zero, size, one, dynamicBase, dynamicBase, zero,
               dynamicSize, one});
  LLVM::CallOp::create(builder, loc, body, args);
  LLVM::ReturnOp::create(builder, loc, ValueRange{});
  return success();
}

static std::unique_ptr<llvm::TargetMachine> createHostTargetMachine(
    std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  llvm::SubtargetFeatures features;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    features.AddFeature(feature.first(), feature.second);
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      triple, llvm::sys::getHostCPUName(), features.getString(),
      llvm::TargetOptions(), llvm::Reloc::PIC_));
}

/// Links `object` into the shared object `path` with the system's C compiler
/// driver.
static LogicalResult linkSharedObject(Location loc, StringRef object,
                                      StringRef path) {
  std::optional<std::string> driver;
  for (StringRef name : {"cc", "gcc", "clang"})
    if (auto found = llvm::sys::findProgramByName(name)) {
      driver = *found;
      break;
    }
  if (!driver)
    return emitError(loc) << "no C compiler driver (cc, gcc or clang) to link "
                             "the emulator's kernels.emu.so";
  SmallString<128> logFile;
  if (llvm::sys::fs::createTemporaryFile("sieve-link", "log", logFile))
    return emitError(loc) << "cannot create a temporary file";
  std::optional<StringRef> redirects[] = {std::nullopt, logFile.str(),
                                          logFile.str()};
  SmallVector<StringRef> args = {*driver, "-shared", "-o", path, object,
                                 "-lm"};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*driver, args, std::nullopt,
                                         redirects, 0, 0, &message);
  std::string log;
  if (auto buffer = llvm::MemoryBuffer::getFile(logFile))
    log = (*buffer)->getBuffer().str();
  llvm::sys::fs::remove(logFile);
  if (status != 0)
    return emitError(loc) << "linking the emulator's kernels.emu.so failed: "
                          << (log.empty() ? message : log);
  return success();
}

LogicalResult mlir::sieve::buildEmulatorLibrary(gpu::GPUModuleOp kernels,
                                                StringRef path) {
  MLIRContext *ctx = kernels.getContext();
  ctx->loadDialect<arith::ArithDialect, cf::ControlFlowDialect,
                   func::FuncDialect, LLVM::LLVMDialect, math::MathDialect,
                   memref::MemRefDialect, scf::SCFDialect,
                   vector::VectorDialect>();
  // convert-to-llvm finds its patterns through dialect extensions; without
  // them it would leave ops unconverted without a word.
  DialectRegistry extensions;
  registerAllExtensions(extensions);
  ctx->appendDialectRegistry(extensions);
  Location loc = kernels.getLoc();
  OwningOpRef<ModuleOp> host = ModuleOp::create(loc);
  OpBuilder builder(ctx);
  builder.setInsertionPointToStart(host->getBody());
  auto copy = cast<gpu::GPUModuleOp>(builder.clone(*kernels));
  SmallVector<std::string> names;
  for (auto kernel : copy.getOps<gpu::GPUFuncOp>())
    names.push_back(kernel.getName().str());
  if (failed(convertKernelsToEmulator(copy, *host)))
    return failure();
  copy.erase();
  if (failed(verify(*host)))
    return failure();

  PassManager pm(ctx);
  buildHostLoweringPipeline(pm);
  if (failed(pm.run(*host)))
    return failure();
  for (const std::string &name : names)
    if (failed(addEntryPoint(*host, name)))
      return failure();

  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  ctx->appendDialectRegistry(registry);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*host, llvmContext, "sieve_emulator");
  if (!llvmModule)
    return emitError(loc) << "cannot translate the emulated kernels to LLVM IR";

  std::string error;
  std::unique_ptr<llvm::TargetMachine> machine = createHostTargetMachine(error);
  if (!machine)
    return emitError(loc) << "cannot target the host: " << error;
  llvmModule->setTargetTriple(machine->getTargetTriple());
  llvmModule->setDataLayout(machine->createDataLayout());

  optimizeLLVMModule(*llvmModule, *machine, llvm::OptimizationLevel::O2);

  SmallString<128> objectFile;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("sieve-emu", "o", fd, objectFile))
    return emitError(loc) << "cannot create a temporary object file";
  {
    llvm::raw_fd_ostream stream(fd, /*shouldClose=*/true);
    llvm::legacy::PassManager codegen;
    if (machine->addPassesToEmitFile(codegen, stream, nullptr,
                                     llvm::CodeGenFileType::ObjectFile))
      return emitError(loc) << "the host backend cannot emit an object file";
    codegen.run(*llvmModule);
  }
  LogicalResult linked = linkSharedObject(loc, objectFile, path);
  llvm::sys::fs::remove(objectFile);
  return linked;
}
