//===- sieve-compile.cpp - Compile a graph into a kernel bundle -----------===//
//
//   sieve-compile GRAPH.mlir -o BUNDLE_DIR [--entry NAME] [--target sm_90]
//                 [--pass-pipeline PIPELINE] [--cuda-path DIR]
//
// Writes manifest.json, kernels.ptx (LLVM's NVPTX backend), kernels.cubin
// (ptxas, when a CUDA toolkit is found) and kernels.emu.so (the same kernels
// for the SIMT emulator); docs/bundle-format.md describes them.
//
//===----------------------------------------------------------------------===//

#include "codegen/BundleBuilder.h"
#include "codegen/emulator/Emulator.h"
#include "codegen/nvptx/PTXEmitter.h"
#include "tools/RegisterSieve.h"
#include "tools/ToolSupport.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
using namespace mlir::sieve;
namespace cl = llvm::cl;

static cl::OptionCategory compileCategory("sieve-compile options");
static cl::opt<std::string> graphFile(cl::Positional, cl::Required,
                                      cl::desc("<graph.mlir>"),
                                      cl::cat(compileCategory));
static cl::opt<std::string> bundleDir("o", cl::Required,
                                      cl::desc("The bundle directory to write"),
                                      cl::value_desc("dir"),
                                      cl::cat(compileCategory));
static cl::opt<std::string>
    entryName("entry",
              cl::desc("Function to compile (default: the only public one)"),
              cl::value_desc("name"), cl::cat(compileCategory));
static cl::opt<std::string>
    targetArch("target",
               cl::desc("GPU architecture: sm_80, sm_86, sm_89, sm_90 or "
                        "sm_90a"),
               cl::init("sm_90"), cl::cat(compileCategory));
static cl::opt<std::string> passPipeline(
    "pass-pipeline",
    cl::desc("A pass pipeline to run on the graph before codegen, e.g. "
             "'builtin.module(canonicalize)'"),
    cl::cat(compileCategory));
static cl::opt<std::string>
    cudaPath("cuda-path",
             cl::desc("CUDA toolkit to find ptxas in (default: $CUDA_PATH, "
                      "/usr/local/cuda, PATH)"),
             cl::value_desc("dir"), cl::cat(compileCategory));

static int fail(const Twine &message) {
  llvm::errs() << "sieve-compile: error: " << message << "\n";
  return 1;
}

static LogicalResult writeFile(StringRef path, StringRef contents,
                               std::string &error) {
  std::unique_ptr<llvm::ToolOutputFile> file = openOutputFile(path, &error);
  if (!file)
    return failure();
  file->os() << contents;
  file->keep();
  return success();
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  registerAllPasses();
  registerAllSievePasses();
  cl::HideUnrelatedOptions(compileCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "sieve-compile: compile a graph of sieve ops "
                              "into a kernel bundle\n");
  if (!isSupportedTarget(targetArch))
    return fail("unknown target '" + targetArch +
                "'; use sm_80, sm_86, sm_89, sm_90 or sm_90a");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllSieveDialects(registry);
  MLIRContext context(registry);
  OneLineDiagnostics diagnostics(&context, "sieve-compile");

  std::string error;
  auto input = openInputFile(graphFile, &error);
  if (!input)
    return fail(error);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;
  if (!passPipeline.empty()) {
    PassManager pm(&context);
    if (failed(parsePassPipeline(passPipeline, pm, llvm::errs())))
      return fail("invalid --pass-pipeline '" + passPipeline + "'");
    if (failed(pm.run(*module)))
      return 1;
  }
  FailureOr<func::FuncOp> entry =
      findEntryFunction(*module, entryName, graphFile, error);
  if (failed(entry))
    return fail(error);

  // The kernels go into a gpu.module beside the graph.
  BundleBuilder::loadDialects(context);
  OpBuilder builder(&context);
  builder.setInsertionPointToEnd(module->getBody());
  auto kernels =
      gpu::GPUModuleOp::create(builder, entry->getLoc(), "sieve_kernels");
  (*module)->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                     builder.getUnitAttr());
  registerBuiltinKernelProviders();
  BundleBuilder bundle(*entry, kernels, targetArch);
  if (failed(bundle.build()))
    return 1;
  BundleManifest &manifest = bundle.getManifest();
  manifest.producer = "sieve-compile " SIEVE_VERSION " (LLVM " LLVM_VERSION_STRING ")";

  FailureOr<std::string> ptx = emitPTX(kernels, targetArch);
  if (failed(ptx))
    return 1;

  if (std::error_code ec = llvm::sys::fs::create_directories(bundleDir))
    return fail("cannot create '" + bundleDir + "': " + ec.message());
  auto inBundle = [](StringRef name) {
    SmallString<128> path(bundleDir);
    llvm::sys::path::append(path, name);
    return path.str().str();
  };
  llvm::json::Object files{{"ptx", "kernels.ptx"}};
  if (failed(writeFile(inBundle("kernels.ptx"), *ptx, error)))
    return fail(error);

  if (std::optional<std::string> ptxas = findPtxas(cudaPath)) {
    std::string log;
    if (failed(runPtxas(*ptxas, targetArch, inBundle("kernels.ptx"),
                        inBundle("kernels.cubin"), log)))
      return fail("ptxas failed on the generated PTX: " + log);
    files["cubin"] = "kernels.cubin";
  } else {
    llvm::sys::fs::remove(inBundle("kernels.cubin"));
    llvm::errs() << "sieve-compile: warning: no CUDA toolkit found (ptxas); "
                    "the bundle carries PTX only and the driver will "
                    "JIT-compile it\n";
  }

  if (failed(buildEmulatorLibrary(kernels, inBundle("kernels.emu.so"))))
    return 1;
  files["emulator"] = "kernels.emu.so";

  std::string manifestText;
  llvm::raw_string_ostream os(manifestText);
  os << llvm::formatv("{0:2}", manifest.toJSON(files)) << "\n";
  if (failed(writeFile(inBundle("manifest.json"), manifestText, error)))
    return fail(error);
  return 0;
}
