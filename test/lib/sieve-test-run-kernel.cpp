//===- sieve-test-run-kernel.cpp - Run one GPU kernel on the emulator -----===//
//
// A test tool: compiles the gpu.module of an .mlir file for the SIMT emulator
// (the same path as sieve-compile's kernels.emu.so) and launches one kernel
// on buffers read from .npy files, so that tests can check hand-written
// kernels end to end, e.g. ldmatrix + mma.sync fragments against numpy.
//
//   sieve-test-run-kernel KERNELS.mlir --kernel NAME --grid X,Y,Z
//       --block X,Y,Z [--shared BYTES] [--seed N]
//       --arg f16:a.npy --arg i64:42 ... --output INDEX:out.npy
//   sieve-test-run-kernel KERNELS.mlir --emit-ptx TARGET
//       prints the gpu.module's PTX (sieve-compile's path) instead, so that
//       tests can check the lowering of ops no kernel builder emits yet.
//
// Each --arg is a kernel parameter in order: a buffer (a 1-D memref, from an
// .npy file of that dtype, flattened) or an i64 scalar. --output writes the
// buffer of argument INDEX after the launch.
//
//===----------------------------------------------------------------------===//

#include "codegen/BundleBuilder.h"
#include "codegen/emulator/Emulator.h"
#include "codegen/nvptx/PTXEmitter.h"
#include "sieve/HostTensor.h"
#include "sieve/emulator.h"
#include "tools/RegisterSieve.h"
#include "tools/ToolSupport.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"

#include <dlfcn.h>

using namespace mlir;
using namespace mlir::sieve;
namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::Required,
                                      cl::desc("<kernels.mlir>"));
static cl::opt<std::string> kernelName("kernel",
                                       cl::desc("The kernel to launch"));
static cl::opt<std::string>
    emitPtxTarget("emit-ptx", cl::desc("Print the PTX for this target (e.g. "
                                       "sm_90a) instead of running a kernel"));
static cl::opt<std::string> gridOption("grid", cl::init("1,1,1"),
                                       cl::desc("Grid size x,y,z"));
static cl::opt<std::string> blockOption("block", cl::init("32,1,1"),
                                        cl::desc("Block size x,y,z"));
static cl::opt<uint64_t> sharedBytes("shared", cl::init(0),
                                     cl::desc("Dynamic shared memory bytes"));
static cl::opt<uint64_t> seed("seed", cl::init(0),
                              cl::desc("Schedule seed of the emulator"));
static cl::list<std::string> argOptions("arg",
                                        cl::desc("dtype:file.npy or i64:N"));
static cl::list<std::string> outputOptions("output",
                                           cl::desc("index:file.npy"));

static int fail(const Twine &message) {
  llvm::errs() << "sieve-test-run-kernel: error: " << message << "\n";
  return 1;
}

static bool parseTriple(StringRef text, uint32_t out[3]) {
  SmallVector<StringRef> parts;
  text.split(parts, ',');
  if (parts.size() != 3)
    return false;
  for (int i = 0; i < 3; ++i)
    if (parts[i].getAsInteger(10, out[i]) || out[i] == 0)
      return false;
  return true;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "run one GPU kernel on the emulator\n");
  uint32_t grid[3], block[3];
  if (!parseTriple(gridOption, grid) || !parseTriple(blockOption, block))
    return fail("--grid and --block take three positive sizes x,y,z");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllSieveDialects(registry);
  MLIRContext context(registry);
  OneLineDiagnostics diagnostics(&context, "sieve-test-run-kernel");
  BundleBuilder::loadDialects(context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(inputFile, &context);
  if (!module)
    return 1;
  auto kernels = *module->getOps<gpu::GPUModuleOp>().begin();
  if (!kernels)
    return fail("no gpu.module in '" + inputFile + "'");
  if (!emitPtxTarget.empty()) {
    if (!isSupportedTarget(emitPtxTarget))
      return fail("unknown target '" + emitPtxTarget + "'");
    FailureOr<std::string> ptx = emitPTX(kernels, emitPtxTarget);
    if (failed(ptx))
      return 1;
    llvm::outs() << *ptx;
    return 0;
  }
  if (kernelName.empty())
    return fail("give --kernel NAME (or --emit-ptx TARGET)");

  SmallString<128> library;
  if (llvm::sys::fs::createTemporaryFile("sieve-test-kernels", "so", library))
    return fail("cannot create a temporary file");
  if (failed(buildEmulatorLibrary(kernels, library)))
    return 1;
  void *handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  llvm::sys::fs::remove(library);
  if (!handle)
    return fail(Twine("cannot load the kernels: ") + dlerror());
  auto kernel = reinterpret_cast<sieve_emu_kernel_fn>(
      dlsym(handle, getEmulatorEntryName(kernelName).c_str()));
  if (!kernel)
    return fail("no kernel '" + kernelName + "'");

  // Parameters: five descriptor fields per buffer, one value per scalar.
  std::vector<::sieve::HostTensor> buffers(argOptions.size());
  std::vector<int64_t> words;
  words.reserve(argOptions.size() * 5);
  std::vector<int> bufferOfArg(argOptions.size(), -1);
  for (auto [index, option] : llvm::enumerate(argOptions)) {
    auto [kind, value] = StringRef(option).split(':');
    if (kind == "i64") {
      int64_t scalar;
      if (value.getAsInteger(10, scalar))
        return fail("bad i64 argument '" + option + "'");
      words.push_back(scalar);
      continue;
    }
    std::optional<::sieve::DType> dtype = ::sieve::parseDTypeName(kind.str());
    std::string error;
    if (!dtype || !::sieve::readNpy(value.str(), *dtype, buffers[index], error))
      return fail("argument " + Twine(index) + ": " +
                  (dtype ? error : "unknown dtype '" + kind.str() + "'"));
    auto address = reinterpret_cast<int64_t>(buffers[index].data.data());
    words.insert(words.end(),
                 {address, address, 0, buffers[index].numElements(), 1});
    bufferOfArg[index] = index;
  }
  std::vector<void *> params;
  for (int64_t &word : words)
    params.push_back(&word);

  sieve_emu_launch_desc desc = {};
  desc.kernel_name = kernelName.c_str();
  desc.kernel = kernel;
  desc.params = params.data();
  std::copy(grid, grid + 3, desc.grid);
  std::copy(block, block + 3, desc.block);
  desc.dynamic_shared_bytes = sharedBytes;
  // The workgroup buffers' total, as sieve-compile's manifests record it.
  for (auto fn : kernels.getOps<gpu::GPUFuncOp>())
    if (fn.getName() == kernelName)
      for (BlockArgument arg : fn.getWorkgroupAttributions()) {
        auto type = cast<MemRefType>(arg.getType());
        int64_t bytes =
            type.getNumElements() * ((type.getElementTypeBitWidth() + 7) / 8);
        desc.static_shared_bytes += (bytes + 15) / 16 * 16;
      }
  desc.schedule_seed = seed;
  desc.check_races = 1;
  desc.worker_threads = 1;
  char error[1024];
  if (sieve_emu_launch(&desc, nullptr, error, sizeof(error)) != 0)
    return fail(error);

  for (const std::string &option : outputOptions) {
    auto [indexText, path] = StringRef(option).split(':');
    unsigned index;
    if (indexText.getAsInteger(10, index) || index >= buffers.size() ||
        bufferOfArg[index] < 0)
      return fail("--output '" + option + "' does not name a buffer argument");
    std::string writeError;
    if (!::sieve::writeNpy(path.str(), buffers[index], writeError))
      return fail(writeError);
  }
  return 0;
}
