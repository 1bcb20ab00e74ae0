//===- sieve-run.cpp - Run a Sieve graph ----------------------------------===//
//
// Runs one function of an .mlir graph on the CPU through the reference
// lowering: inputs from .npy files (or random), outputs to .npy files, with
// summaries and timings. Every failure is one "sieve-run: error: ..." line and
// a non-zero exit.
//
//===----------------------------------------------------------------------===//

#include "tools/RegisterSieve.h"
#include "tools/sieve-run/ReferenceExecutor.h"
#include "tools/ToolSupport.h"

#include "sieve/HostTensor.h"

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
#include <cmath>
#include <chrono>

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

static std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? "x" : "") +
            (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  return "[" + text + "]";
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
    if (ShapedType::isDynamic(k))
      k = std::max<int64_t>(dynamicSize, 1);
    return 3.0 / (qmax * std::sqrt(static_cast<double>(std::max<int64_t>(k, 1))));
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

static int makeRandomInputs(func::FuncOp entry, ArrayRef<TensorSpec> specs,
                            std::vector<HostTensor> &inputs) {
  ::sieve::RandomSource random(randomSeed);
  for (auto [index, spec] : llvm::enumerate(specs)) {
    std::vector<int64_t> shape;
    for (int64_t size : spec.shape) {
      if (size < 0 && dynamicSize < 0)
        return fail("argument " + Twine(index) + " (" + spec.typeText +
                    ") has dynamic dimensions: give their size with "
                    "--dynamic-size when using --random-inputs");
      shape.push_back(size < 0 ? dynamicSize.getValue() : size);
    }
    HostTensor tensor(spec.dtype, shape);
    int64_t lo = 0, hi = 15;
    if (spec.dtype == DType::I8)
      lo = -127, hi = 127;
    else if (spec.dtype == DType::I4)
      lo = -7, hi = 7;
    if (std::optional<int64_t> keyLen =
            getGlobalsKeyLength(entry.getArgument(index)))
      lo = 0, hi = std::max<int64_t>(*keyLen - 1, 0);
    ::sieve::fillRandom(tensor, random, lo, hi);
    if (std::optional<double> scale = getTypicalScale(entry.getArgument(index));
        scale && spec.dtype == DType::F32) {
      auto *values = reinterpret_cast<float *>(tensor.data.data());
      for (int64_t i = 0, e = tensor.numElements(); i < e; ++i)
        values[i] = static_cast<float>(*scale * random.uniform(0.5, 1.5));
    }
    inputs.push_back(std::move(tensor));
  }
  return 0;
}

static int readInputs(func::FuncOp entry, ArrayRef<TensorSpec> specs,
                      std::vector<HostTensor> &inputs) {
  if (inputFiles.size() != specs.size())
    return fail("@" + entry.getName() + " takes " + Twine(specs.size()) +
                " argument(s), got " + Twine(inputFiles.size()) +
                " --input file(s)");
  for (auto [index, spec] : llvm::enumerate(specs)) {
    std::string what = "argument " + std::to_string(index) + " of @" +
                       entry.getName().str() + " (" + spec.typeText + ")";
    HostTensor tensor;
    std::string error;
    if (!::sieve::readNpy(inputFiles[index], spec.dtype, tensor, error))
      return fail(what + ": " + error);
    bool matches = tensor.shape.size() == spec.shape.size();
    for (size_t dim = 0; matches && dim < spec.shape.size(); ++dim)
      matches = spec.shape[dim] < 0 || spec.shape[dim] == tensor.shape[dim];
    if (!matches)
      return fail(what + ": '" + inputFiles[index] + "' has shape " +
                  formatShape(tensor.shape) + ", expected " +
                  formatShape(spec.shape));
    inputs.push_back(std::move(tensor));
  }
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
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
  if (int status = randomInputs ? makeRandomInputs(*entry, argSpecs, inputs)
                                : readInputs(*entry, argSpecs, inputs))
    return status;

  using Clock = std::chrono::steady_clock;
  auto compileStart = Clock::now();
  FailureOr<std::unique_ptr<ReferenceExecutor>> executor =
      ReferenceExecutor::compile(*module, entrySymbol);
  if (failed(executor))
    return diagnostics.getErrorCount() ? 1
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

  if (!outputDir.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(outputDir))
      return fail("cannot create '" + outputDir + "': " + ec.message());
    for (auto [index, output] : llvm::enumerate(outputs)) {
      SmallString<128> path(outputDir);
      llvm::sys::path::append(path, "out" + std::to_string(index) + ".npy");
      std::string error;
      if (!::sieve::writeNpy(path.str().str(), output, error))
        return fail(error);
    }
  }
  if (printSummary)
    for (auto [index, output] : llvm::enumerate(outputs))
      llvm::outs() << "out" << index << ": " << ::sieve::formatSummary(output)
                   << "\n";
  if (repeatCount > 1) {
    std::sort(runMs.begin(), runMs.end());
    double median = repeatCount % 2
                        ? runMs[repeatCount / 2]
                        : (runMs[repeatCount / 2 - 1] + runMs[repeatCount / 2]) / 2;
    llvm::outs() << llvm::formatv("jit-compile: {0:f1} ms\n", compileMs);
    llvm::outs() << llvm::formatv("run: median {0:f3} ms over {1} runs\n",
                                  median, repeatCount.getValue());
  }
  return 0;
}
