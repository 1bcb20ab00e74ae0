//===- FakeCuda.cpp - An in-process fake of the CUDA driver ---------------===//
//
// One fake per entry of CudaSymbols.def (makeFakeCudaApi expands the same
// table, so a new driver function does not build until it has a fake).
// Work is done at once, in order: streams are always idle, events hold the
// time they were recorded at, and a captured graph replays the launches with
// the parameter values copied at capture time, as the driver does.
//
//===----------------------------------------------------------------------===//

#include "FakeCuda.h"

#include "Bundle.h"

#include "sieve/emulator.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

using namespace sieve::cuda;
using sieve::test::FakeCudaState;

namespace {
FakeCudaState state;

struct FakeFunction;

struct FakeModule {
  std::string ptx;
  void *library = nullptr;
  std::vector<std::unique_ptr<FakeFunction>> functions;
};

struct FakeFunction {
  std::string name;
  sieve_emu_kernel_fn kernel = nullptr;
  std::size_t paramCount = 0;
};

/// A launch recorded by stream capture, with its parameter values.
struct FakeNode {
  FakeFunction *function;
  unsigned grid[3], block[3], sharedBytes;
  std::vector<uint64_t> params;
};

struct FakeGraph {
  std::vector<FakeNode> nodes;
};

struct FakeStream {
  FakeGraph *capture = nullptr;
};

struct FakeEvent {
  double milliseconds = 0;
};

double now() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// The allocation holding [address, address + bytes), if any.
bool findAllocation(uint64_t address, uint64_t bytes, uint64_t &start,
                    uint64_t &size) {
  auto it = state.allocations.upper_bound(address);
  if (it == state.allocations.begin())
    return false;
  --it;
  if (address < it->first || address - it->first + bytes > it->second)
    return false;
  start = it->first;
  size = it->second;
  return true;
}

CUresult runKernel(FakeFunction *function, const unsigned grid[3],
                   const unsigned block[3], unsigned sharedBytes, void **params,
                   bool fromGraph, void *stream) {
  state.events.push_back("launch " + function->name);
  state.launches.push_back({function->name,
                            {grid[0], grid[1], grid[2]},
                            {block[0], block[1], block[2]},
                            sharedBytes,
                            stream,
                            fromGraph});
  if (!function->kernel)
    return CUDA_ERROR_LAUNCH_FAILED;
  sieve_emu_launch_desc desc = {};
  desc.kernel_name = function->name.c_str();
  desc.kernel = function->kernel;
  desc.params = params;
  for (int d = 0; d < 3; ++d) {
    desc.grid[d] = grid[d];
    desc.block[d] = block[d];
  }
  desc.static_shared_bytes = static_cast<uint64_t>(state.kernelStaticShared);
  desc.dynamic_shared_bytes = sharedBytes;
  desc.worker_threads = 1;
  char error[1024];
  if (sieve_emu_launch(&desc, nullptr, error, sizeof(error)) != 0)
    return CUDA_ERROR_LAUNCH_FAILED;
  return CUDA_SUCCESS;
}

//===----------------------------------------------------------------------===//
// The fakes, one per CudaSymbols.def entry
//===----------------------------------------------------------------------===//

CUresult fake_cuGetErrorName(CUresult result, const char **name) {
  switch (result) {
  case CUDA_SUCCESS:
    *name = "CUDA_SUCCESS";
    return CUDA_SUCCESS;
  case CUDA_ERROR_INVALID_VALUE:
    *name = "CUDA_ERROR_INVALID_VALUE";
    return CUDA_SUCCESS;
  case CUDA_ERROR_OUT_OF_MEMORY:
    *name = "CUDA_ERROR_OUT_OF_MEMORY";
    return CUDA_SUCCESS;
  case CUDA_ERROR_NO_DEVICE:
    *name = "CUDA_ERROR_NO_DEVICE";
    return CUDA_SUCCESS;
  case CUDA_ERROR_STUB_LIBRARY:
    *name = "CUDA_ERROR_STUB_LIBRARY";
    return CUDA_SUCCESS;
  case CUDA_ERROR_INVALID_PTX:
    *name = "CUDA_ERROR_INVALID_PTX";
    return CUDA_SUCCESS;
  case CUDA_ERROR_NO_BINARY_FOR_GPU:
    *name = "CUDA_ERROR_NO_BINARY_FOR_GPU";
    return CUDA_SUCCESS;
  case CUDA_ERROR_UNSUPPORTED_PTX_VERSION:
    *name = "CUDA_ERROR_UNSUPPORTED_PTX_VERSION";
    return CUDA_SUCCESS;
  case CUDA_ERROR_ILLEGAL_ADDRESS:
    *name = "CUDA_ERROR_ILLEGAL_ADDRESS";
    return CUDA_SUCCESS;
  case CUDA_ERROR_LAUNCH_FAILED:
    *name = "CUDA_ERROR_LAUNCH_FAILED";
    return CUDA_SUCCESS;
  default:
    *name = nullptr;
    return CUDA_ERROR_INVALID_VALUE;
  }
}

CUresult fake_cuGetErrorString(CUresult result, const char **text) {
  switch (result) {
  case CUDA_ERROR_OUT_OF_MEMORY:
    *text = "out of memory";
    return CUDA_SUCCESS;
  case CUDA_ERROR_NO_DEVICE:
    *text = "no CUDA-capable device is detected";
    return CUDA_SUCCESS;
  case CUDA_ERROR_INVALID_PTX:
    *text = "a PTX JIT compilation failed";
    return CUDA_SUCCESS;
  case CUDA_ERROR_ILLEGAL_ADDRESS:
    *text = "an illegal memory access was encountered";
    return CUDA_SUCCESS;
  default:
    *text = nullptr;
    return CUDA_ERROR_INVALID_VALUE;
  }
}

CUresult fake_cuInit(unsigned) { return state.initResult; }

CUresult fake_cuDriverGetVersion(int *version) {
  *version = 13000;
  return CUDA_SUCCESS;
}

CUresult fake_cuDeviceGetCount(int *count) {
  *count = state.deviceCount;
  return CUDA_SUCCESS;
}

CUresult fake_cuDeviceGet(CUdevice *device, int ordinal) {
  if (ordinal < 0 || ordinal >= state.deviceCount)
    return CUDA_ERROR_INVALID_DEVICE;
  *device = ordinal;
  return CUDA_SUCCESS;
}

CUresult fake_cuDeviceGetName(char *name, int length, CUdevice) {
  std::snprintf(name, static_cast<size_t>(length), "%s",
                state.deviceName.c_str());
  return CUDA_SUCCESS;
}

CUresult fake_cuDeviceGetAttribute(int *value, CUdevice_attribute attribute,
                                   CUdevice) {
  switch (attribute) {
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
    *value = state.major;
    return CUDA_SUCCESS;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
    *value = state.minor;
    return CUDA_SUCCESS;
  case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK:
    *value = state.maxThreadsPerBlock;
    return CUDA_SUCCESS;
  case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X:
  case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y:
    *value = 1024;
    return CUDA_SUCCESS;
  case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z:
    *value = 64;
    return CUDA_SUCCESS;
  case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X:
    *value = 2147483647;
    return CUDA_SUCCESS;
  case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y:
  case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z:
    *value = 65535;
    return CUDA_SUCCESS;
  case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN:
    *value = state.maxSharedOptin;
    return CUDA_SUCCESS;
  default:
    return CUDA_ERROR_INVALID_VALUE;
  }
}

CUresult fake_cuDevicePrimaryCtxRetain(CUcontext *context, CUdevice) {
  *context = reinterpret_cast<CUcontext>(&state);
  ++state.primaryContextsRetained;
  return CUDA_SUCCESS;
}

CUresult fake_cuDevicePrimaryCtxRelease(CUdevice) {
  --state.primaryContextsRetained;
  return CUDA_SUCCESS;
}

CUresult fake_cuCtxPushCurrent(CUcontext) {
  ++state.contextDepth;
  return CUDA_SUCCESS;
}

CUresult fake_cuCtxPopCurrent(CUcontext *context) {
  if (state.contextDepth == 0)
    return CUDA_ERROR_INVALID_VALUE;
  --state.contextDepth;
  *context = reinterpret_cast<CUcontext>(&state);
  return CUDA_SUCCESS;
}

CUresult fake_cuModuleLoadDataEx(CUmodule *module, const void *image,
                                 unsigned count, CUjit_option *options,
                                 void **values) {
  bool cubin = std::memcmp(image,
                           "\x7f"
                           "ELF",
                           4) == 0;
  state.imagesLoaded.push_back(cubin ? "cubin" : "ptx");
  CUresult result = cubin ? state.cubinLoadResult : state.ptxLoadResult;
  if (cubin && state.cubinPtx.empty())
    result = CUDA_ERROR_INVALID_IMAGE;
  if (result != CUDA_SUCCESS) {
    // The driver writes its log into the buffer the options give.
    char *log = nullptr;
    std::size_t capacity = 0;
    for (unsigned i = 0; i < count; ++i) {
      if (options[i] == CU_JIT_ERROR_LOG_BUFFER)
        log = static_cast<char *>(values[i]);
      if (options[i] == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES)
        capacity = reinterpret_cast<uintptr_t>(values[i]);
    }
    if (log && capacity)
      std::snprintf(log, capacity, "%s", state.jitErrorLog.c_str());
    return result;
  }
  auto fake = std::make_unique<FakeModule>();
  fake->ptx = cubin ? state.cubinPtx : static_cast<const char *>(image);
  if (!state.emulatorLibrary.empty()) {
    fake->library =
        dlopen(state.emulatorLibrary.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!fake->library)
      return CUDA_ERROR_INVALID_IMAGE;
  }
  ++state.liveModules;
  *module = reinterpret_cast<CUmodule>(fake.release());
  return CUDA_SUCCESS;
}

CUresult fake_cuModuleUnload(CUmodule module) {
  auto *fake = reinterpret_cast<FakeModule *>(module);
  if (fake->library)
    dlclose(fake->library);
  delete fake;
  --state.liveModules;
  return CUDA_SUCCESS;
}

CUresult fake_cuModuleGetFunction(CUfunction *function, CUmodule module,
                                  const char *name) {
  auto *fake = reinterpret_cast<FakeModule *>(module);
  std::vector<std::string> entries = sieve::rt::getPtxEntries(fake->ptx);
  if (std::find(entries.begin(), entries.end(), name) == entries.end())
    return CUDA_ERROR_NOT_FOUND;
  auto entry = std::make_unique<FakeFunction>();
  entry->name = name;
  // The parameter count, from the .entry's parameter list.
  std::size_t open = fake->ptx.find(std::string(".entry ") + name);
  open = fake->ptx.find('(', open);
  std::size_t close = fake->ptx.find(')', open);
  for (std::size_t pos = fake->ptx.find(".param", open);
       pos != std::string::npos && pos < close;
       pos = fake->ptx.find(".param", pos + 1))
    ++entry->paramCount;
  if (fake->library)
    entry->kernel = reinterpret_cast<sieve_emu_kernel_fn>(dlsym(
        fake->library, (std::string("sieve_emu_kernel_") + name).c_str()));
  *function = reinterpret_cast<CUfunction>(entry.get());
  fake->functions.push_back(std::move(entry));
  return CUDA_SUCCESS;
}

CUresult fake_cuFuncGetAttribute(int *value, CUfunction_attribute attribute,
                                 CUfunction) {
  switch (attribute) {
  case CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES:
    *value = state.kernelStaticShared;
    return CUDA_SUCCESS;
  case CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK:
    *value = state.kernelMaxThreads;
    return CUDA_SUCCESS;
  default:
    return CUDA_ERROR_INVALID_VALUE;
  }
}

CUresult fake_cuFuncSetAttribute(CUfunction function,
                                 CUfunction_attribute attribute, int value) {
  auto *fake = reinterpret_cast<FakeFunction *>(function);
  state.attributesSet.emplace_back(fake->name, attribute, value);
  if (attribute == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES &&
      value > state.maxSharedOptin - state.kernelStaticShared)
    return CUDA_ERROR_INVALID_VALUE;
  return CUDA_SUCCESS;
}

CUresult fake_cuMemAlloc(CUdeviceptr *pointer, size_t bytes) {
  if (bytes == 0)
    return CUDA_ERROR_INVALID_VALUE;
  void *memory = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!memory)
    return CUDA_ERROR_OUT_OF_MEMORY;
  std::memset(memory, 0xAB, bytes);
  *pointer = reinterpret_cast<uintptr_t>(memory);
  state.allocations[*pointer] = bytes;
  ++state.allocationCount;
  return CUDA_SUCCESS;
}

CUresult fake_cuMemFree(CUdeviceptr pointer) {
  auto it = state.allocations.find(pointer);
  if (it == state.allocations.end())
    return CUDA_ERROR_INVALID_VALUE;
  std::free(reinterpret_cast<void *>(static_cast<uintptr_t>(pointer)));
  state.allocations.erase(it);
  return CUDA_SUCCESS;
}

void *toHost(CUdeviceptr pointer) {
  return reinterpret_cast<void *>(static_cast<uintptr_t>(pointer));
}

CUresult fake_cuMemcpyHtoDAsync(CUdeviceptr dst, const void *src, size_t bytes,
                                CUstream) {
  uint64_t start, size;
  if (!findAllocation(dst, bytes, start, size))
    return CUDA_ERROR_INVALID_VALUE;
  state.events.push_back("upload " + std::to_string(bytes));
  std::memcpy(toHost(dst), src, bytes);
  return CUDA_SUCCESS;
}

CUresult fake_cuMemcpyDtoHAsync(void *dst, CUdeviceptr src, size_t bytes,
                                CUstream) {
  uint64_t start, size;
  if (!findAllocation(src, bytes, start, size))
    return CUDA_ERROR_INVALID_VALUE;
  std::memcpy(dst, toHost(src), bytes);
  return CUDA_SUCCESS;
}

CUresult fake_cuMemcpyDtoDAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                                CUstream) {
  uint64_t start, size;
  if (!findAllocation(src, bytes, start, size) ||
      !findAllocation(dst, bytes, start, size))
    return CUDA_ERROR_INVALID_VALUE;
  std::memmove(toHost(dst), toHost(src), bytes);
  return CUDA_SUCCESS;
}

CUresult fake_cuMemcpy2DAsync(const CUDA_MEMCPY2D *copy, CUstream) {
  // Device to device only, as the runtime uses it; pitches as the driver
  // checks them.
  if (!copy || copy->srcMemoryType != static_cast<int>(CU_MEMORYTYPE_DEVICE) ||
      copy->dstMemoryType != static_cast<int>(CU_MEMORYTYPE_DEVICE) ||
      copy->srcXInBytes || copy->srcY || copy->dstXInBytes || copy->dstY ||
      copy->srcPitch < copy->WidthInBytes ||
      copy->dstPitch < copy->WidthInBytes)
    return CUDA_ERROR_INVALID_VALUE;
  ++state.memcpy2DCount;
  if (!copy->WidthInBytes || !copy->Height)
    return CUDA_SUCCESS;
  uint64_t start, size;
  uint64_t lastRow = copy->Height - 1;
  if (!findAllocation(copy->srcDevice,
                      lastRow * copy->srcPitch + copy->WidthInBytes, start,
                      size) ||
      !findAllocation(copy->dstDevice,
                      lastRow * copy->dstPitch + copy->WidthInBytes, start,
                      size))
    return CUDA_ERROR_INVALID_VALUE;
  for (size_t row = 0; row < copy->Height; ++row)
    std::memmove(toHost(copy->dstDevice + row * copy->dstPitch),
                 toHost(copy->srcDevice + row * copy->srcPitch),
                 copy->WidthInBytes);
  return CUDA_SUCCESS;
}

CUresult fake_cuMemsetD8Async(CUdeviceptr dst, unsigned char value,
                              size_t bytes, CUstream) {
  uint64_t start, size;
  if (!findAllocation(dst, bytes, start, size))
    return CUDA_ERROR_INVALID_VALUE;
  std::memset(toHost(dst), value, bytes);
  return CUDA_SUCCESS;
}

CUresult fake_cuPointerGetAttribute(void *data, CUpointer_attribute attribute,
                                    CUdeviceptr pointer) {
  uint64_t start, size;
  if (!findAllocation(pointer, 0, start, size))
    return CUDA_ERROR_INVALID_VALUE;
  switch (attribute) {
  case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
    *static_cast<unsigned *>(data) = CU_MEMORYTYPE_DEVICE;
    return CUDA_SUCCESS;
  case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
    *static_cast<int *>(data) = 0;
    return CUDA_SUCCESS;
  case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
    *static_cast<CUdeviceptr *>(data) = start;
    return CUDA_SUCCESS;
  case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
    *static_cast<size_t *>(data) = size;
    return CUDA_SUCCESS;
  default:
    return CUDA_ERROR_INVALID_VALUE;
  }
}

CUresult fake_cuStreamCreate(CUstream *stream, unsigned) {
  *stream = reinterpret_cast<CUstream>(new FakeStream());
  ++state.liveStreams;
  return CUDA_SUCCESS;
}

CUresult fake_cuStreamDestroy(CUstream stream) {
  delete reinterpret_cast<FakeStream *>(stream);
  --state.liveStreams;
  return CUDA_SUCCESS;
}

CUresult fake_cuStreamSynchronize(CUstream) {
  return state.streamSynchronizeResult;
}

CUresult fake_cuEventCreate(CUevent *event, unsigned) {
  *event = reinterpret_cast<CUevent>(new FakeEvent());
  ++state.liveEvents;
  return CUDA_SUCCESS;
}

CUresult fake_cuEventDestroy(CUevent event) {
  delete reinterpret_cast<FakeEvent *>(event);
  --state.liveEvents;
  return CUDA_SUCCESS;
}

CUresult fake_cuEventRecord(CUevent event, CUstream) {
  reinterpret_cast<FakeEvent *>(event)->milliseconds = now();
  return CUDA_SUCCESS;
}

CUresult fake_cuEventSynchronize(CUevent) {
  return state.eventSynchronizeResult;
}

CUresult fake_cuEventElapsedTime(float *milliseconds, CUevent start,
                                 CUevent end) {
  *milliseconds =
      static_cast<float>(reinterpret_cast<FakeEvent *>(end)->milliseconds -
                         reinterpret_cast<FakeEvent *>(start)->milliseconds);
  return CUDA_SUCCESS;
}

CUresult fake_cuLaunchKernel(CUfunction function, unsigned gx, unsigned gy,
                             unsigned gz, unsigned bx, unsigned by, unsigned bz,
                             unsigned sharedBytes, CUstream stream,
                             void **params, void **extra) {
  auto *fake = reinterpret_cast<FakeFunction *>(function);
  if (extra || !params)
    return CUDA_ERROR_INVALID_VALUE;
  if (bx * by * bz > static_cast<unsigned>(state.kernelMaxThreads))
    return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
  unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
  auto *fakeStream = reinterpret_cast<FakeStream *>(stream);
  if (fakeStream && fakeStream->capture) {
    // Capture copies the values, so the caller may reuse its parameters.
    FakeNode node{fake, {gx, gy, gz}, {bx, by, bz}, sharedBytes, {}};
    for (std::size_t i = 0; i < fake->paramCount; ++i) {
      uint64_t value = 0;
      std::memcpy(&value, params[i], sizeof(value));
      node.params.push_back(value);
    }
    fakeStream->capture->nodes.push_back(std::move(node));
    return CUDA_SUCCESS;
  }
  return runKernel(fake, grid, block, sharedBytes, params, false, stream);
}

CUresult fake_cuStreamBeginCapture(CUstream stream, CUstreamCaptureMode) {
  auto *fake = reinterpret_cast<FakeStream *>(stream);
  if (!fake || fake->capture)
    return CUDA_ERROR_INVALID_VALUE;
  fake->capture = new FakeGraph();
  return CUDA_SUCCESS;
}

CUresult fake_cuStreamEndCapture(CUstream stream, CUgraph *graph) {
  auto *fake = reinterpret_cast<FakeStream *>(stream);
  if (!fake || !fake->capture)
    return CUDA_ERROR_INVALID_VALUE;
  *graph = reinterpret_cast<CUgraph>(fake->capture);
  fake->capture = nullptr;
  return CUDA_SUCCESS;
}

CUresult fake_cuGraphInstantiateWithFlags(CUgraphExec *exec, CUgraph graph,
                                          unsigned long long) {
  *exec = reinterpret_cast<CUgraphExec>(
      new FakeGraph(*reinterpret_cast<FakeGraph *>(graph)));
  ++state.graphsInstantiated;
  return CUDA_SUCCESS;
}

CUresult fake_cuGraphLaunch(CUgraphExec exec, CUstream stream) {
  ++state.graphLaunches;
  for (FakeNode &node : reinterpret_cast<FakeGraph *>(exec)->nodes) {
    std::vector<void *> params;
    for (uint64_t &value : node.params)
      params.push_back(&value);
    if (CUresult result =
            runKernel(node.function, node.grid, node.block, node.sharedBytes,
                      params.data(), true, stream))
      return result;
  }
  return CUDA_SUCCESS;
}

CUresult fake_cuGraphDestroy(CUgraph graph) {
  delete reinterpret_cast<FakeGraph *>(graph);
  return CUDA_SUCCESS;
}

CUresult fake_cuGraphExecDestroy(CUgraphExec exec) {
  delete reinterpret_cast<FakeGraph *>(exec);
  return CUDA_SUCCESS;
}

CUresult fake_cuTensorMapEncodeTiled(
    CUtensorMap *map, CUtensorMapDataType dataType, cuuint32_t rank,
    void *address, const cuuint64_t *dims, const cuuint64_t *strides,
    const cuuint32_t *box, const cuuint32_t *elementStrides,
    CUtensorMapInterleave interleave, CUtensorMapSwizzle swizzle,
    CUtensorMapL2promotion l2Promotion, CUtensorMapFloatOOBfill oobFill) {
  // What the driver documents it checks first.
  if (!map || reinterpret_cast<uintptr_t>(map) % 64 != 0 || rank < 1 ||
      rank > 5 || reinterpret_cast<uintptr_t>(address) % 16 != 0)
    return CUDA_ERROR_INVALID_VALUE;
  sieve::test::FakeTensorMapEncode encode;
  encode.dataType = dataType;
  encode.rank = rank;
  encode.address = reinterpret_cast<uintptr_t>(address);
  encode.dims.assign(dims, dims + rank);
  encode.strides.assign(strides, strides + rank - 1);
  encode.box.assign(box, box + rank);
  encode.elementStrides.assign(elementStrides, elementStrides + rank);
  encode.interleave = interleave;
  encode.swizzle = swizzle;
  encode.l2Promotion = l2Promotion;
  encode.oobFill = oobFill;
  if (state.tensorMapEncodeResult != CUDA_SUCCESS)
    return state.tensorMapEncodeResult;
  std::memset(map, 0xCD, sizeof(*map));
  map->opaque[0] = sieve::test::kFakeTensorMapMagic;
  map->opaque[1] = state.tensorMapEncodes.size();
  map->opaque[2] = encode.address;
  state.tensorMapEncodes.push_back(std::move(encode));
  return CUDA_SUCCESS;
}
} // namespace

FakeCudaState &sieve::test::fakeCuda() { return state; }

void sieve::test::resetFakeCuda() {
  for (auto &[address, bytes] : state.allocations)
    std::free(toHost(address));
  state = FakeCudaState();
}

std::shared_ptr<const sieve::rt::CudaApi> sieve::test::makeFakeCudaApi() {
  auto api = std::make_shared<sieve::rt::CudaApi>();
#define SIEVE_CUDA_SYMBOL(name, exported, params) api->name = &fake_##name;
#include "CudaSymbols.def"
#undef SIEVE_CUDA_SYMBOL
  if (state.lacksTensorMaps)
    api->cuTensorMapEncodeTiled = nullptr;
  return api;
}
