//===- sieve-run.cpp - Run a Sieve graph ----------------------------------===//
//
// Runs one function of an .mlir graph on the CPU through the reference
// lowering: inputs from .npy files (or random), outputs to .npy files, with
// summaries and timings. Every failure is one "sieve-run: error: ..." line and
// a non-zero exit.
//
//===----------------------------------------------------------------------===//

#include "tools/RegisterSieve.h"
#include "tools/ToolSupport.h"
#include "tools/sieve-run/ReferenceExecutor.h"

#include "sieve/HostTensor.h"
#include "sieve/BundleRunner.h"
#include "sieve/RunTool.h"

#include "dialects/sieve/SieveOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <iostream>

using namespace mlir;
using namespace mlir::sieve;
using ::sieve::DType;
using ::sieve::HostTensor;

namespace cl = llvm::cl;

static cl::OptionCategory runCategory("sieve-run options");

static cl::opt<std::string> graphFile(cl::Positional, cl::Required,
                                      cl::desc("<graph.mlir>"),
                                      cl::cat(runCategory));
static cl::opt<std::string>
    entryName("entry",
              cl::desc("Function to run (default: the only public function)"),
              cl::value_desc("name"), cl::cat(runCategory));
static cl::list<std::string>
    inputFiles("input",
               cl::desc("A .npy file per function argument, in order"),
               cl::value_desc("file.npy"), cl::cat(runCategory));
static cl::opt<std::string>
    outputDir("output-dir",
              cl::desc("Folder for the results: out0.npy, out1.npy, ..."),
              cl::value_desc("dir"), cl::cat(runCategory));
static cl::opt<std::string>
    deviceName("device", cl::desc("Executor: 'reference' (the CPU oracle)"),
               cl::init("reference"), cl::cat(runCategory));
static cl::opt<uint64_t> randomSeed(
    "random-inputs",
    cl::desc("Instead of --input files, fill the arguments with reproducible "
             "random data: floats uniform in [-1, 1), i1 true or false with "
             "equal odds, the 'globals' of sieve.hybrid_attention valid key "
             "positions, i8 in [-127, 127], i4 in [-7, 7], other integers in "
             "[0, 15]; scales of quantized weights (sieve.qmatmul, "
             "sieve.dequantize) positive, around 3 / (qmax * sqrt(K)), so that "
             "products stay of order one"),
    cl::value_desc("seed"), cl::cat(runCategory));
static cl::opt<int64_t> dynamicSize(
    "dynamic-size",
    cl::desc("With --random-inputs: the size of every dynamic dimension"),
    cl::value_desc("n"), cl::init(-1), cl::cat(runCategory));
static cl::opt<bool>
    printSummary("print-summary",
                 cl::desc("Print shape, dtype, min, max, mean and a checksum "
                          "of each output"),
                 cl::cat(runCategory));
static cl::opt<unsigned>
    repeatCount("repeat",
                cl::desc("Run N times and report the median wall time (JIT "
                         "compile time is reported apart)"),
                cl::value_desc("N"), cl::init(1), cl::cat(runCategory));

static const char kOverview[] =
    "sieve-run: run one function of a Sieve graph on the CPU\n\n"
    "  sieve-run GRAPH.mlir [--entry NAME] --input A.npy --input B.npy ...\n"
    "            --output-dir DIR [--device reference] [--print-summary]\n"
    "            [--repeat N] [--random-inputs SEED [--dynamic-size N]]\n\n"
    "  sieve-run BUNDLE_DIR --device cuda[:N]|emulator|auto ... [--stats]\n\n"
    "Inputs bind positionally to the function's arguments and are checked "
    "against its signature; dynamic dimensions take their sizes from the "
    "inputs. Results are written as DIR/out0.npy, DIR/out1.npy, ...\n\n"
    ".npy dtypes: f32 <-> float32, f16 <-> float16, i64 <-> int64, i32 <-> "
    "int32, i8 <-> int8, i1 <-> bool. bf16 tensors are read and written as "
    "float32 files (rounded to nearest even on input) and i4 tensors as int8 "
    "files (values must lie in [-8, 7]).\n";

/// Prints one error line and returns the exit code for it.
static int fail(const Twine &message) {
  llvm::errs() << "sieve-run: error: " << message << "\n";
  return 1;
}

/// The key length bounding the values of an argument that is the `globals`
/// of a hybrid attention, if it is one.
static std::optional<int64_t> getGlobalsKeyLength(BlockArgument arg) {
  for (OpOperand &use : arg.getUses())
    if (auto op = dyn_cast<HybridAttentionOp>(use.getOwner());
        op && use.get() == op.getGlobals()) {
      int64_t keyLen = op.getKey().getType().getDimSize(2);
      return ShapedType::isDynamic(keyLen) ? dynamicSize.getValue() : keyLen;
    }
  return std::nullopt;
}

/// For an argument that holds the per-group scales of quantized weights
/// (`weight_scales` of sieve.qmatmul, `scales` of sieve.dequantize): the
/// scale that keeps a product with random inputs of order one,
/// 3 / (qmax * sqrt(K)).
static std::optional<double> getTypicalScale(BlockArgument arg) {
  auto typical = [](Value values) {
    auto type = cast<RankedTensorType>(values.getType());
    double qmax = type.getElementType().isInteger(4) ? 7.0 : 127.0;
    int64_t k = type.getShape().back();
    return ::sieve::getTypicalQuantScale(
        qmax, ShapedType::isDynamic(k) ? dynamicSize.getValue() : k);
  };
  for (OpOperand &use : arg.getUses()) {
    if (auto op = dyn_cast<QMatmulOp>(use.getOwner());
        op && use.get() == op.getWeightScales())
      return typical(op.getWeightValues());
    if (auto op = dyn_cast<DequantizeOp>(use.getOwner());
        op && use.get() == op.getScales())
      return typical(op.getValues());
  }
  return std::nullopt;
}

/// What the run tools need to know of each argument: its type, and how
/// --random-inputs fills it (ranges and scales read off the graph).
static std::vector<::sieve::ArgumentSpec>
getArgumentSpecs(func::FuncOp entry, ArrayRef<TensorSpec> specs) {
  std::vector<::sieve::ArgumentSpec> arguments;
  for (auto [index, spec] : llvm::enumerate(specs)) {
    ::sieve::ArgumentSpec argument;
    argument.dtype = spec.dtype;
    argument.shape.assign(spec.shape.begin(), spec.shape.end());
    argument.typeText = spec.typeText;
    ::sieve::getDefaultRandomRange(spec.dtype, argument.randomLo,
                                   argument.randomHi);
    if (std::optional<int64_t> keyLen =
            getGlobalsKeyLength(entry.getArgument(index))) {
      argument.randomLo = 0;
      argument.randomHi = std::max<int64_t>(*keyLen - 1, 0);
    }
    argument.randomScale = getTypicalScale(entry.getArgument(index));
    arguments.push_back(std::move(argument));
  }
  return arguments;
}

/// Whether `path` is a bundle directory written by sieve-compile.
static bool isBundleDirectory(StringRef path) {
  SmallString<128> manifest(path);
  llvm::sys::path::append(manifest, "manifest.json");
  return llvm::sys::fs::is_directory(path) &&
         llvm::sys::fs::exists(manifest);
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);

  // A bundle directory runs through the runtime (on CUDA or the emulator),
  // with the same options and output lines.
  std::vector<std::string> commandLine(argv + 1, argv + argc);
  if (llvm::any_of(commandLine, [](const std::string &argument) {
        return isBundleDirectory(argument);
      })) {
    ::sieve::BundleRunOptions options;
    std::string error;
    if (!::sieve::parseBundleRunArguments(commandLine, options, error))
      return fail(error);
    if (options.device == "reference")
      return fail("a bundle runs on 'cuda' or 'emulator', not on "
                  "'reference' (that is for .mlir graphs)");
    return ::sieve::runBundle("sieve-run", options, std::cout, std::cerr);
  }

  cl::HideUnrelatedOptions(runCategory);
  cl::ParseCommandLineOptions(argc, argv, kOverview);

  if (deviceName != "reference")
    return fail("unknown device '" + deviceName +
                "'; an .mlir graph runs on 'reference'");
  if (repeatCount == 0)
    return fail("--repeat must be at least 1");
  bool randomInputs = randomSeed.getNumOccurrences() > 0;
  if (randomInputs && !inputFiles.empty())
    return fail("give either --input files or --random-inputs, not both");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllSieveDialects(registry);
  MLIRContext context(registry);
  OneLineDiagnostics diagnostics(&context, "sieve-run");

  std::string openError;
  auto file = openInputFile(graphFile, &openError);
  if (!file)
    return fail(openError);
  if (failed(checkBytecodeReadable(*file, registry, "sieve-run")))
    return 1;
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  std::string entryError;
  FailureOr<func::FuncOp> entry =
      findEntryFunction(*module, entryName, graphFile, entryError);
  if (failed(entry))
    return fail(entryError);
  std::string entrySymbol = entry->getName().str();
  SmallVector<TensorSpec> argSpecs;
  for (auto [index, type] : llvm::enumerate(entry->getArgumentTypes())) {
    FailureOr<TensorSpec> spec = getTensorSpec(type);
    if (failed(spec))
      return fail("argument " + Twine(index) + " of @" + entrySymbol +
                  " has type " + llvm::formatv("{0}", type).str() +
                  "; sieve-run binds ranked tensors of f32, f16, bf16, i64, "
                  "i32, i8, i4 or i1");
    argSpecs.push_back(*spec);
  }

  std::vector<HostTensor> inputs;
  std::vector<::sieve::ArgumentSpec> arguments =
      getArgumentSpecs(*entry, argSpecs);
  std::string inputError;
  if (!(randomInputs ? ::sieve::makeRandomInputs(arguments, randomSeed,
                                                 dynamicSize, inputs,
                                                 inputError)
                     : ::sieve::readInputFiles(entrySymbol, inputFiles,
                                               arguments, inputs, inputError)))
    return fail(inputError);

  using Clock = std::chrono::steady_clock;
  auto compileStart = Clock::now();
  FailureOr<std::unique_ptr<ReferenceExecutor>> executor =
      ReferenceExecutor::compile(*module, entrySymbol);
  if (failed(executor))
    return diagnostics.getErrorCount()
               ? 1
               : fail("compiling @" + entrySymbol + " failed");
  double compileMs =
      std::chrono::duration<double, std::milli>(Clock::now() - compileStart)
          .count();

  std::vector<HostTensor> outputs;
  std::vector<double> runMs;
  for (unsigned run = 0; run < repeatCount; ++run) {
    std::string error;
    auto start = Clock::now();
    if (!(*executor)->run(inputs, outputs, error))
      return fail(error);
    runMs.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start)
            .count());
  }

  std::string outputError;
  if (!outputDir.empty() &&
      !::sieve::writeOutputs(outputDir, outputs, outputError))
    return fail(outputError);
  if (printSummary)
    llvm::outs() << ::sieve::formatOutputSummaries(outputs);
  if (repeatCount > 1) {
    llvm::outs() << llvm::formatv("jit-compile: {0:f1} ms\n", compileMs);
    llvm::outs() << llvm::formatv("run: median {0:f3} ms over {1} runs\n",
                                  ::sieve::getMedian(runMs),
                                  repeatCount.getValue());
  }
  return 0;
}
