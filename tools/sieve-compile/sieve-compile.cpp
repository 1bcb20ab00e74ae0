//===- sieve-compile.cpp - Compile a graph into a kernel bundle -----------===//
//
//   sieve-compile GRAPH.mlir -o BUNDLE_DIR [--entry NAME] [--target sm_90]
//                 [--pass-pipeline PIPELINE] [--no-optimize]
//                 [--optimize OPTIONS] [--load-plugin LIB.so]...
//                 [--cuda-path DIR] [--stats [--stats-seq-len N]]
//
// Runs the user's pipeline, sieve-optimize and the codegen preparation on the
// graph, then writes manifest.json, kernels.ptx (LLVM's NVPTX backend),
// kernels.cubin (ptxas, when a CUDA toolkit is found), kernels.emu.so (the
// same kernels for the SIMT emulator) and constants.bin (the graph's
// constants); docs/bundle-format.md describes them.
//
//===----------------------------------------------------------------------===//

#include "codegen/BundleBuilder.h"
#include "codegen/Passes.h"
#include "codegen/Plugin.h"
#include "codegen/emulator/Emulator.h"
#include "codegen/kernels/AttentionKernels.h"
#include "codegen/nvptx/PTXEmitter.h"
#include "dialects/sieve/SieveOps.h"
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
#include "llvm/ADT/Statistic.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
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
static cl::opt<bool> noOptimize(
    "no-optimize",
    cl::desc("Compile the graph as it is: do not run sieve-optimize (fusion "
             "into sieve ops, sparsification, quantization) first"),
    cl::cat(compileCategory));
static cl::opt<std::string> optimizeOptions(
    "optimize",
    cl::desc("Options of sieve-optimize, e.g. 'window-left=256 globals=16 "
             "weight-bits=4' (see sieve-opt --help)"),
    cl::value_desc("options"), cl::cat(compileCategory));
static cl::list<std::string>
    plugins("load-plugin",
            cl::desc("Load a plugin that registers dialects, passes and "
                     "kernel providers (codegen/Plugin.h)"),
            cl::value_desc("lib.so"), cl::cat(compileCategory));
static cl::opt<std::string>
    cudaPath("cuda-path",
             cl::desc("CUDA toolkit to find ptxas in (default: $CUDA_PATH, "
                      "/usr/local/cuda, PATH)"),
             cl::value_desc("dir"), cl::cat(compileCategory));

static cl::opt<int64_t> statsSeqLen(
    "stats-seq-len",
    cl::desc("With --stats: the sequence length to count the attention "
             "kernels' work at when it is dynamic"),
    cl::value_desc("n"), cl::init(0), cl::cat(compileCategory));

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

/// Loads the plugins; each may add dialects, passes and kernel providers.
static LogicalResult loadPlugins(std::vector<SieveCompilePluginInfo> &infos) {
  for (const std::string &path : plugins) {
    std::string error;
    auto library =
        llvm::sys::DynamicLibrary::getPermanentLibrary(path.c_str(), &error);
    if (!library.isValid()) {
      fail("cannot load plugin '" + path + "': " + error);
      return failure();
    }
    auto getInfo = reinterpret_cast<SieveCompilePluginInfo (*)()>(
        library.getAddressOfSymbol("sieveGetCompilePluginInfo"));
    if (!getInfo) {
      fail("'" + path + "' is not a sieve-compile plugin: it has no "
           "sieveGetCompilePluginInfo()");
      return failure();
    }
    SieveCompilePluginInfo info = getInfo();
    if (info.apiVersion != SIEVE_COMPILE_PLUGIN_API_VERSION) {
      fail("plugin '" + path + "' was built for plugin API version " +
           Twine(info.apiVersion) + "; this sieve-compile has version " +
           Twine(SIEVE_COMPILE_PLUGIN_API_VERSION));
      return failure();
    }
    infos.push_back(info);
  }
  return success();
}

/// The pipeline that takes the parsed graph to what the bundle builder
/// compiles.
static LogicalResult prepareGraph(ModuleOp module) {
  PassManager pm(module.getContext());
  if (!passPipeline.empty()) {
    // Anchored like mlir-opt's: 'builtin.module(...)'. Parsing it into `pm`
    // directly would nest a second module level that matches nothing.
    FailureOr<OpPassManager> user =
        parsePassPipeline(passPipeline, llvm::errs());
    if (failed(user)) {
      fail("invalid --pass-pipeline '" + passPipeline + "'");
      return failure();
    }
    if (user->getOpAnchorName() != ModuleOp::getOperationName()) {
      fail("--pass-pipeline must be anchored on builtin.module, e.g. "
           "'builtin.module(func.func(canonicalize))'");
      return failure();
    }
    static_cast<OpPassManager &>(pm) = *user;
  }
  if (!noOptimize) {
    // The gated branches run on whole packed tensors: the kernels skip the
    // inactive rows themselves.
    std::string options = optimizeOptions + " slice-active-rows=false";
    std::string pipeline = "func.func(sieve-optimize{" + options + "})";
    if (failed(parsePassPipeline(pipeline, pm, llvm::errs()))) {
      fail("invalid --optimize options '" + optimizeOptions + "'");
      return failure();
    }
  }
  buildCodegenPreparationPipeline(pm);
  return pm.run(module);
}

static void printSchedule(const BundleBuilder &bundle, StringRef dir) {
  const BundleManifest &manifest =
      const_cast<BundleBuilder &>(bundle).getManifest();
  const MemoryPlanStats &memory = bundle.getMemoryPlanStats();
  llvm::outs() << "sieve-compile: " << manifest.entry << " -> " << dir
               << "\n";
  llvm::outs() << "  kernels: " << manifest.kernels.size()
               << ", launches: " << manifest.launches.size() << "\n";
  for (const LaunchDecl &launch : manifest.launches)
    llvm::outs() << "    " << launch.kernel << "  <- " << launch.op << "\n";
  llvm::outs() << "  arena: " << memory.arenaBytes.str() << " bytes for "
               << memory.numTemporaries << " temporaries in "
               << memory.numSlots << " slots (unshared: "
               << memory.unsharedBytes.str() << " bytes)\n";
  llvm::outs() << "  constants: " << memory.constantBytes << " bytes\n";
  for (const std::string &line : bundle.getGatedRowsReport())
    llvm::outs() << "  " << line << "\n";
}

/// The score entries (query row x key) each attention op's kernels compute,
/// counted from their tiling, against dense attention.
static void printAttentionWork(func::FuncOp entry, StringRef target) {
  std::optional<int64_t> seqLen;
  if (statsSeqLen > 0)
    seqLen = statsSeqLen;
  entry.walk([&](Operation *op) {
    if (!isa<AttentionOp, HybridAttentionOp>(op))
      return;
    llvm::outs() << "  " << describeOp(op) << ": ";
    FailureOr<AttentionWork> work = estimateAttentionWork(op, target, seqLen);
    if (failed(work)) {
      llvm::outs() << "work unknown (a dynamic sequence length; give "
                      "--stats-seq-len)\n";
      return;
    }
    double percent =
        work->dense ? 100.0 * static_cast<double>(work->computed) /
                          static_cast<double>(work->dense)
                    : 0.0;
    llvm::outs() << work->kernel << "\n    scores: " << work->computed
                 << " of " << work->dense << " dense ("
                 << llvm::format("%.2f", percent) << "%)";
    if (work->tilesVisited)
      llvm::outs() << ", K/V tiles visited: " << work->tilesVisited;
    if (work->globalRowsComputed)
      llvm::outs() << ", global query rows: " << work->globalRowsComputed;
    llvm::outs() << "\n";
  });
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  registerAllPasses();
  registerAllSievePasses();
  // --stats is LLVM's own option (it also enables LLVM's statistics, which
  // release builds do not collect); sieve-compile gives it its meaning.
  if (cl::Option *stats = cl::getRegisteredOptions().lookup("stats")) {
    stats->setDescription("Print the schedule: launches and the ops they "
                          "implement, the memory plan, the gated rows");
    stats->addCategory(compileCategory);
    stats->setHiddenFlag(cl::NotHidden);
  }
  cl::HideUnrelatedOptions(compileCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "sieve-compile: compile a model graph into a "
                              "kernel bundle\n");
  if (!isSupportedTarget(targetArch))
    return fail("unknown target '" + targetArch +
                "'; use sm_80, sm_86, sm_89, sm_90 or sm_90a");

  std::vector<SieveCompilePluginInfo> loaded;
  if (failed(loadPlugins(loaded)))
    return 1;
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllSieveDialects(registry);
  for (const SieveCompilePluginInfo &info : loaded)
    if (info.registerDialects)
      info.registerDialects(registry);
  registerBuiltinKernelProviders();
  for (const SieveCompilePluginInfo &info : loaded)
    if (info.registerPassesAndProviders)
      info.registerPassesAndProviders(KernelProviderRegistry::global());
  MLIRContext context(registry);
  OneLineDiagnostics diagnostics(&context, "sieve-compile");

  std::string error;
  auto input = openInputFile(graphFile, &error);
  if (!input)
    return fail(error);
  if (failed(checkBytecodeReadable(*input, registry, "sieve-compile")))
    return 1;
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;
  if (failed(prepareGraph(*module)))
    return 1;
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

  llvm::sys::fs::remove(inBundle("constants.bin"));
  if (!bundle.getConstantData().empty()) {
    if (failed(writeFile(inBundle("constants.bin"), bundle.getConstantData(),
                         error)))
      return fail(error);
    files["constants"] = "constants.bin";
  }

  std::string manifestText;
  llvm::raw_string_ostream os(manifestText);
  os << llvm::formatv("{0:2}", manifest.toJSON(files)) << "\n";
  if (failed(writeFile(inBundle("manifest.json"), manifestText, error)))
    return fail(error);
  if (llvm::AreStatisticsEnabled()) {
    printSchedule(bundle, bundleDir);
    printAttentionWork(*entry, targetArch);
  }
  return 0;
}
