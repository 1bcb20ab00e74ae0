//===- CudaDevice.cpp - A CUDA GPU as a device ----------------------------===//
//
// The device keeps the GPU's primary context (shared with CUDA runtime code
// in the same process); every call into the driver pushes it for the
// duration and pops it after, so the caller's current context is left as it
// was. Each session has a non-blocking stream of its own, a module, and the
// events that time its runs.
//
//===----------------------------------------------------------------------===//

#include "CudaDevice.h"

#include <cstring>

using namespace sieve::rt;
using namespace sieve::cuda;
using sieve::DType;

bool sieve::rt::isCubinCompatible(const Target &target, int major, int minor) {
  if (target.archSpecific)
    return major == target.major && minor == target.minor;
  return major == target.major && minor >= target.minor;
}

bool sieve::rt::isPtxCompatible(const Target &target, int major, int minor) {
  if (target.archSpecific)
    return major == target.major && minor == target.minor;
  return major > target.major ||
         (major == target.major && minor >= target.minor);
}

namespace {
/// Makes a context current for a scope and restores the previous one.
class ScopedContext {
public:
  ScopedContext(const CudaApi &api, CUcontext context)
      : api(api), status(SIEVE_CU(api, cuCtxPushCurrent, (context))) {}
  ~ScopedContext() {
    if (status.isOk()) {
      CUcontext popped;
      (void)SIEVE_CU(api, cuCtxPopCurrent, (&popped));
    }
  }
  Status getStatus() const { return status; }

private:
  const CudaApi &api;
  Status status;
};

/// The limits of a device that launches are checked against.
struct DeviceLimits {
  int major = 0, minor = 0;
  int maxThreadsPerBlock = 0;
  int maxBlock[3] = {0, 0, 0};
  int maxGrid[3] = {0, 0, 0};
  int maxSharedOptin = 0;
};

class CudaDevice : public Device,
                   public std::enable_shared_from_this<CudaDevice> {
public:
  CudaDevice(std::shared_ptr<const CudaApi> api, int ordinal)
      : api(std::move(api)), ordinal(ordinal) {}

  ~CudaDevice() override {
    if (context)
      (void)SIEVE_CU(*api, cuDevicePrimaryCtxRelease, (device));
  }

  Status open() {
    std::string what = "cuda:" + std::to_string(ordinal);
    SIEVE_RETURN_IF_ERROR(SIEVE_CU(*api, cuInit, (0)).withContext(what));
    int count = 0;
    SIEVE_RETURN_IF_ERROR(
        SIEVE_CU(*api, cuDeviceGetCount, (&count)).withContext(what));
    if (count == 0)
      return unavailable(what + ": no CUDA device");
    if (ordinal < 0 || ordinal >= count)
      return invalidArgument(
          what + ": there " +
          (count == 1 ? std::string("is 1 CUDA device")
                      : "are " + std::to_string(count) + " CUDA devices") +
          " (cuda:0" +
          (count > 1 ? " to cuda:" + std::to_string(count - 1)
                     : std::string()) +
          ")");
    SIEVE_RETURN_IF_ERROR(
        SIEVE_CU(*api, cuDeviceGet, (&device, ordinal)).withContext(what));
    char deviceName[256] = {0};
    SIEVE_RETURN_IF_ERROR(SIEVE_CU(*api, cuDeviceGetName,
                                   (deviceName, sizeof(deviceName) - 1, device))
                              .withContext(what));
    struct {
      CUdevice_attribute attribute;
      int *value;
    } attributes[] = {
        {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, &limits.major},
        {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, &limits.minor},
        {CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, &limits.maxThreadsPerBlock},
        {CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X, &limits.maxBlock[0]},
        {CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y, &limits.maxBlock[1]},
        {CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z, &limits.maxBlock[2]},
        {CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X, &limits.maxGrid[0]},
        {CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y, &limits.maxGrid[1]},
        {CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z, &limits.maxGrid[2]},
        {CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
         &limits.maxSharedOptin},
    };
    for (auto &entry : attributes)
      SIEVE_RETURN_IF_ERROR(SIEVE_CU(*api, cuDeviceGetAttribute,
                                     (entry.value, entry.attribute, device))
                                .withContext(what));
    SIEVE_RETURN_IF_ERROR(
        SIEVE_CU(*api, cuDevicePrimaryCtxRetain, (&context, device))
            .withContext(what));
    name = what + " (" + deviceName + ", sm_" + std::to_string(limits.major) +
           std::to_string(limits.minor) + ")";
    return Status();
  }

  sieve_device_kind getKind() const override { return SIEVE_DEVICE_CUDA; }
  const std::string &getName() const override { return name; }

  Status createExecutor(std::shared_ptr<const Bundle> bundle, uint32_t flags,
                        std::unique_ptr<Executor> &executor) override;

  const CudaApi &getApi() const { return *api; }
  CUcontext getContext() const { return context; }
  int getOrdinal() const { return ordinal; }
  const DeviceLimits &getLimits() const { return limits; }

private:
  std::shared_ptr<const CudaApi> api;
  int ordinal;
  CUdevice device = 0;
  CUcontext context = nullptr;
  DeviceLimits limits;
  std::string name;
};

class CudaExecutor : public Executor {
public:
  CudaExecutor(std::shared_ptr<CudaDevice> device,
               std::shared_ptr<const Bundle> bundle, uint32_t flags)
      : device(std::move(device)), api(this->device->getApi()),
        bundle(std::move(bundle)), flags(flags) {}

  ~CudaExecutor() override {
    ScopedContext scope(api, device->getContext());
    if (!scope.getStatus().isOk())
      return;
    if (stream)
      (void)SIEVE_CU(api, cuStreamSynchronize, (stream));
    if (graphExec)
      (void)SIEVE_CU(api, cuGraphExecDestroy, (graphExec));
    for (CUevent event : launchEvents)
      (void)SIEVE_CU(api, cuEventDestroy, (event));
    if (startEvent)
      (void)SIEVE_CU(api, cuEventDestroy, (startEvent));
    if (endEvent)
      (void)SIEVE_CU(api, cuEventDestroy, (endEvent));
    if (stream)
      (void)SIEVE_CU(api, cuStreamDestroy, (stream));
    if (module)
      (void)SIEVE_CU(api, cuModuleUnload, (module));
  }

  Status init();

  const std::string &getKernelSource() const override { return source; }

  Status allocate(uint64_t bytes, DeviceAddress &address) override {
    ScopedContext scope(api, device->getContext());
    SIEVE_RETURN_IF_ERROR(scope.getStatus());
    CUdeviceptr pointer = 0;
    SIEVE_RETURN_IF_ERROR(
        SIEVE_CU(api, cuMemAlloc, (&pointer, static_cast<size_t>(bytes))));
    address = pointer;
    return Status();
  }

  void release(DeviceAddress address) override {
    ScopedContext scope(api, device->getContext());
    if (scope.getStatus().isOk())
      (void)SIEVE_CU(api, cuMemFree, (address));
  }

  Status upload(DeviceAddress dst, const void *src, uint64_t bytes,
                void *userStream) override {
    ScopedContext scope(api, device->getContext());
    SIEVE_RETURN_IF_ERROR(scope.getStatus());
    return SIEVE_CU(api, cuMemcpyHtoDAsync,
                    (dst, src, static_cast<size_t>(bytes), pick(userStream)));
  }

  Status copy(DeviceAddress dst, DeviceAddress src, uint64_t bytes,
              void *userStream) override {
    ScopedContext scope(api, device->getContext());
    SIEVE_RETURN_IF_ERROR(scope.getStatus());
    return SIEVE_CU(api, cuMemcpyDtoDAsync,
                    (dst, src, static_cast<size_t>(bytes), pick(userStream)));
  }

  Status copy2D(DeviceAddress dst, DeviceAddress src, uint64_t width,
                uint64_t height, uint64_t srcPitch,
                void *userStream) override {
    ScopedContext scope(api, device->getContext());
    SIEVE_RETURN_IF_ERROR(scope.getStatus());
    CUDA_MEMCPY2D copy = {};
    copy.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    copy.srcDevice = src;
    copy.srcPitch = static_cast<size_t>(srcPitch);
    copy.dstMemoryType = CU_MEMORYTYPE_DEVICE;
    copy.dstDevice = dst;
    copy.dstPitch = static_cast<size_t>(width);
    copy.WidthInBytes = static_cast<size_t>(width);
    copy.Height = static_cast<size_t>(height);
    return SIEVE_CU(api, cuMemcpy2DAsync, (&copy, pick(userStream)));
  }

  Status zero(DeviceAddress dst, uint64_t bytes, void *userStream) override {
    ScopedContext scope(api, device->getContext());
    SIEVE_RETURN_IF_ERROR(scope.getStatus());
    return SIEVE_CU(api, cuMemsetD8Async,
                    (dst, 0, static_cast<size_t>(bytes), pick(userStream)));
  }

  Status checkDeviceRange(DeviceAddress address, uint64_t bytes) override;
  Status encodeTensorMap(const TensorMapSpec &spec,
                         uint8_t slot[kTensorMapSlotBytes]) override;
  Status execute(std::vector<LaunchPlan> &plans,
                 const std::vector<DeviceCopy> &copiesAfter,
                 void *userStream) override;
  Status wait() override;
  const std::vector<LaunchRecord> &getLaunchRecords() const override {
    return records;
  }
  double getRunMilliseconds() const override { return runMilliseconds; }

  Status download(void *dst, DeviceAddress src, uint64_t bytes) override {
    ScopedContext scope(api, device->getContext());
    SIEVE_RETURN_IF_ERROR(scope.getStatus());
    SIEVE_RETURN_IF_ERROR(
        SIEVE_CU(api, cuMemcpyDtoHAsync,
                 (dst, src, static_cast<size_t>(bytes), stream)));
    return SIEVE_CU(api, cuStreamSynchronize, (stream));
  }

private:
  CUstream pick(void *userStream) const {
    return userStream ? static_cast<CUstream>(userStream) : stream;
  }
  Status loadModule();
  Status loadImage(const void *image, CUresult &result);
  Status checkLimits(const LaunchPlan &plan);
  /// Queues the launches on `target`; with `timed`, records an event after
  /// each one.
  Status launchAll(std::vector<LaunchPlan> &plans, CUstream target, bool timed);
  Status captureGraph(std::vector<LaunchPlan> &plans);
  std::string describe(const LaunchPlan &plan) const {
    return describeLaunch(bundle->getManifest(), plan.launch);
  }

  std::shared_ptr<CudaDevice> device;
  const CudaApi &api;
  std::shared_ptr<const Bundle> bundle;
  uint32_t flags;
  std::string source;
  CUmodule module = nullptr;
  CUstream stream = nullptr;
  CUevent startEvent = nullptr, endEvent = nullptr;
  /// One event after each launch, for per-launch timings.
  std::vector<CUevent> launchEvents;
  struct Kernel {
    CUfunction function = nullptr;
    int staticShared = 0;
    int maxThreads = 0;
    /// The CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES set so far.
    int dynamicSharedLimit = 0;
  };
  std::vector<Kernel> kernels;
  CUgraphExec graphExec = nullptr;
  /// What the graph was captured for: kernels, sizes and parameter values.
  std::vector<uint64_t> graphKey;
  bool pending = false;
  bool timedLaunches = false;
  std::vector<LaunchRecord> records;
  std::vector<int> recordEvent; ///< plan -> index of its end event, or -1
  double runMilliseconds = 0;
};
} // namespace

Status CudaDevice::createExecutor(std::shared_ptr<const Bundle> bundle,
                                  uint32_t flags,
                                  std::unique_ptr<Executor> &executor) {
  const Manifest &manifest = bundle->getManifest();
  if (!isPtxCompatible(manifest.target, limits.major, limits.minor))
    return unsupported(
        "the bundle targets " + manifest.targetName + " but " + name +
        " has compute capability " + std::to_string(limits.major) + "." +
        std::to_string(limits.minor) +
        (manifest.target.archSpecific
             ? " (an architecture-specific target runs on that exact "
               "architecture only)"
             : ""));
  if ((flags & SIEVE_SESSION_CUDA_GRAPH) &&
      (flags & SIEVE_SESSION_SYNC_EACH_LAUNCH))
    return invalidArgument("SIEVE_SESSION_CUDA_GRAPH and "
                           "SIEVE_SESSION_SYNC_EACH_LAUNCH exclude each other");
  auto result = std::make_unique<CudaExecutor>(shared_from_this(),
                                               std::move(bundle), flags);
  SIEVE_RETURN_IF_ERROR(result->init());
  executor = std::move(result);
  return Status();
}

Status CudaExecutor::init() {
  ScopedContext scope(api, device->getContext());
  SIEVE_RETURN_IF_ERROR(scope.getStatus());
  SIEVE_RETURN_IF_ERROR(
      SIEVE_CU(api, cuStreamCreate, (&stream, CU_STREAM_NON_BLOCKING)));
  SIEVE_RETURN_IF_ERROR(
      SIEVE_CU(api, cuEventCreate, (&startEvent, CU_EVENT_DEFAULT)));
  SIEVE_RETURN_IF_ERROR(
      SIEVE_CU(api, cuEventCreate, (&endEvent, CU_EVENT_DEFAULT)));
  SIEVE_RETURN_IF_ERROR(loadModule());

  const Manifest &manifest = bundle->getManifest();
  // A driver older than CUDA 12.0 runs bundles without tensor maps only.
  if (manifest.tensorMapCount && !api.cuTensorMapEncodeTiled)
    return unsupported(
        "the bundle passes tensor maps to its kernels, which needs "
        "cuTensorMapEncodeTiled (CUDA 12.0); this CUDA driver lacks it "
        "(update the driver)");
  for (const KernelSpec &spec : manifest.kernels) {
    Kernel kernel;
    std::string what = "kernel '" + spec.name + "'";
    CUresult result;
    Status status =
        SIEVE_CU_RESULT(api, cuModuleGetFunction,
                        (&kernel.function, module, spec.name.c_str()), result);
    if (result == CUDA_ERROR_NOT_FOUND)
      return invalidBundle(what + " is not in the module loaded from the " +
                           source);
    SIEVE_RETURN_IF_ERROR(std::move(status).withContext(what));
    SIEVE_RETURN_IF_ERROR(
        SIEVE_CU(api, cuFuncGetAttribute,
                 (&kernel.staticShared, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES,
                  kernel.function))
            .withContext(what));
    SIEVE_RETURN_IF_ERROR(
        SIEVE_CU(api, cuFuncGetAttribute,
                 (&kernel.maxThreads, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK,
                  kernel.function))
            .withContext(what));
    // The emulator gives a kernel exactly the manifest's static shared
    // memory; a kernel declaring more would overrun it there.
    if (kernel.staticShared > spec.staticSharedBytes)
      return invalidBundle(
          what + " declares " + std::to_string(kernel.staticShared) +
          " bytes of static shared memory, the manifest says " +
          std::to_string(spec.staticSharedBytes));
    kernel.dynamicSharedLimit =
        static_cast<int>(kDefaultSharedBytesLimit) - kernel.staticShared;
    kernels.push_back(kernel);
  }
  return Status();
}

Status CudaExecutor::loadImage(const void *image, CUresult &result) {
  // The JIT's logs go into the error message: "ptxas fatal: ..." is what
  // tells a user why a PTX module does not load.
  char errorLog[16384] = {0};
  char infoLog[4096] = {0};
  CUjit_option options[] = {
      CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
      CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {
      errorLog, reinterpret_cast<void *>(uintptr_t{sizeof(errorLog) - 1}),
      infoLog, reinterpret_cast<void *>(uintptr_t{sizeof(infoLog) - 1})};
  Status status = SIEVE_CU_RESULT(api, cuModuleLoadDataEx,
                                  (&module, image,
                                   static_cast<unsigned>(std::size(options)),
                                   options, values),
                                  result);
  if (status.isOk())
    return status;
  errorLog[sizeof(errorLog) - 1] = 0;
  std::string log = errorLog;
  while (!log.empty() && (log.back() == '\n' || log.back() == ' '))
    log.pop_back();
  if (log.empty())
    return status;
  return Status(status.getCode(), status.getMessage() + ": " + log);
}

Status CudaExecutor::loadModule() {
  const Manifest &manifest = bundle->getManifest();
  const DeviceLimits &limits = device->getLimits();
  std::string fallback;
  if (!bundle->getCubin().empty()) {
    if (isCubinCompatible(manifest.target, limits.major, limits.minor)) {
      CUresult result;
      Status status = loadImage(bundle->getCubin().data(), result);
      if (status.isOk()) {
        source = "cubin";
        return status;
      }
      // A cubin the driver cannot use (e.g. built for another minor
      // architecture than the manifest claims) still leaves the PTX.
      if (result != CUDA_ERROR_NO_BINARY_FOR_GPU &&
          result != CUDA_ERROR_INVALID_IMAGE)
        return std::move(status).withContext("loading '" + *manifest.cubinFile +
                                             "'");
      fallback = "; the cubin was rejected: " + describeCudaResult(api, result);
    } else {
      fallback = "; the cubin is for " + manifest.targetName;
    }
  }
  CUresult result;
  Status status = loadImage(bundle->getPtx().c_str(), result);
  std::string what = "JIT-compiling '" + manifest.ptxFile + "' (" +
                     manifest.targetName + ") for " + device->getName();
  if (result == CUDA_ERROR_INVALID_PTX)
    return invalidBundle(what + ": " + status.getMessage());
  if (result == CUDA_ERROR_UNSUPPORTED_PTX_VERSION)
    return unsupported(what + ": " + status.getMessage() +
                       " (the driver is older than the PTX ISA version; "
                       "update the driver)");
  if (result == CUDA_ERROR_JIT_COMPILER_NOT_FOUND)
    return unavailable(what + ": " + status.getMessage());
  SIEVE_RETURN_IF_ERROR(std::move(status).withContext(what));
  source = "ptx (JIT" + fallback + ")";
  return Status();
}

Status CudaExecutor::checkDeviceRange(DeviceAddress address, uint64_t bytes) {
  ScopedContext scope(api, device->getContext());
  SIEVE_RETURN_IF_ERROR(scope.getStatus());
  char text[32];
  std::snprintf(text, sizeof(text), "0x%llx",
                static_cast<unsigned long long>(address));
  std::string what = std::string("device pointer ") + text;
  unsigned memoryType = 0;
  Status status =
      SIEVE_CU(api, cuPointerGetAttribute,
               (&memoryType, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, address));
  if (!status.isOk())
    return invalidArgument(what + " is not CUDA memory (" +
                           status.getMessage() + ")");
  if (memoryType != CU_MEMORYTYPE_DEVICE && memoryType != CU_MEMORYTYPE_UNIFIED)
    return invalidArgument(what + " is host memory, not device memory");
  int ordinal = -1;
  SIEVE_RETURN_IF_ERROR(
      SIEVE_CU(api, cuPointerGetAttribute,
               (&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, address))
          .withContext(what));
  if (ordinal != device->getOrdinal())
    return invalidArgument(what +
                           " belongs to cuda:" + std::to_string(ordinal) +
                           ", the session runs on " + device->getName());
  CUdeviceptr start = 0;
  size_t size = 0;
  SIEVE_RETURN_IF_ERROR(
      SIEVE_CU(api, cuPointerGetAttribute,
               (&start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, address))
          .withContext(what));
  SIEVE_RETURN_IF_ERROR(
      SIEVE_CU(api, cuPointerGetAttribute,
               (&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, address))
          .withContext(what));
  if (address < start || address - start + bytes > size)
    return invalidArgument(what + ": the tensor's " + std::to_string(bytes) +
                           " bytes extend past its allocation of " +
                           std::to_string(size) + " bytes");
  return Status();
}

Status CudaExecutor::encodeTensorMap(const TensorMapSpec &spec,
                                     uint8_t slot[kTensorMapSlotBytes]) {
  static_assert(sizeof(CUtensorMap) <= kTensorMapSlotBytes,
                "a CUtensorMap must fit a slot");
  if (!api.cuTensorMapEncodeTiled)
    return unsupported("tensor maps need cuTensorMapEncodeTiled (CUDA 12.0); "
                       "this CUDA driver lacks it (update the driver)");
  CUtensorMapDataType dataType = CU_TENSOR_MAP_DATA_TYPE_UINT8;
  switch (spec.dtype) {
  case DType::F32:
    dataType = CU_TENSOR_MAP_DATA_TYPE_FLOAT32;
    break;
  case DType::F16:
    dataType = CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
    break;
  case DType::BF16:
    dataType = CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
    break;
  case DType::I32:
    dataType = CU_TENSOR_MAP_DATA_TYPE_INT32;
    break;
  case DType::I8:
    // i8 and e4m3 data alike: TMA copies bytes.
    dataType = CU_TENSOR_MAP_DATA_TYPE_UINT8;
    break;
  default:
    return Status(SIEVE_ERROR_INTERNAL,
                  std::string("no tensor map data type for ") +
                      getDTypeName(spec.dtype));
  }
  CUtensorMapSwizzle swizzle = CU_TENSOR_MAP_SWIZZLE_NONE;
  switch (spec.swizzleBytes) {
  case 32:
    swizzle = CU_TENSOR_MAP_SWIZZLE_32B;
    break;
  case 64:
    swizzle = CU_TENSOR_MAP_SWIZZLE_64B;
    break;
  case 128:
    swizzle = CU_TENSOR_MAP_SWIZZLE_128B;
    break;
  default:
    break;
  }
  // globalStrides has the rank - 1 byte strides of dimensions 1 and up;
  // elements are taken one by one (element strides 1).
  cuuint64_t dims[kMaxTensorMapRank], strides[kMaxTensorMapRank];
  cuuint32_t box[kMaxTensorMapRank], elementStrides[kMaxTensorMapRank];
  for (std::size_t d = 0; d < kMaxTensorMapRank; ++d) {
    dims[d] = spec.dims[d];
    strides[d] = d + 1 < kMaxTensorMapRank ? spec.strides[d + 1] : 0;
    box[d] = spec.box[d];
    elementStrides[d] = 1;
  }
  ScopedContext scope(api, device->getContext());
  SIEVE_RETURN_IF_ERROR(scope.getStatus());
  CUtensorMap map = {};
  SIEVE_RETURN_IF_ERROR(SIEVE_CU(
      api, cuTensorMapEncodeTiled,
      (&map, dataType, spec.rank,
       reinterpret_cast<void *>(static_cast<uintptr_t>(spec.base)), dims,
       strides, box, elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle,
       CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)));
  std::memset(slot, 0, kTensorMapSlotBytes);
  std::memcpy(slot, &map, sizeof(map));
  return Status();
}

Status CudaExecutor::checkLimits(const LaunchPlan &plan) {
  const DeviceLimits &limits = device->getLimits();
  Kernel &kernel = kernels[plan.kernel];
  std::string where = describe(plan);
  static const char *const kAxes[] = {"x", "y", "z"};
  for (int d = 0; d < 3; ++d) {
    if (plan.grid[d] > static_cast<uint32_t>(limits.maxGrid[d]))
      return unsupported(where + ": grid." + kAxes[d] + " is " +
                         std::to_string(plan.grid[d]) + ", " +
                         device->getName() + " allows " +
                         std::to_string(limits.maxGrid[d]));
    if (plan.block[d] > static_cast<uint32_t>(limits.maxBlock[d]))
      return unsupported(where + ": block." + kAxes[d] + " is " +
                         std::to_string(plan.block[d]) + ", " +
                         device->getName() + " allows " +
                         std::to_string(limits.maxBlock[d]));
  }
  uint64_t threads = uint64_t{plan.block[0]} * plan.block[1] * plan.block[2];
  if (threads > static_cast<uint64_t>(kernel.maxThreads))
    return unsupported(where + ": a block of " + std::to_string(threads) +
                       " threads; the kernel runs at most " +
                       std::to_string(kernel.maxThreads) + " per block on " +
                       device->getName() + " (registers)");
  uint64_t shared =
      static_cast<uint64_t>(kernel.staticShared) + plan.dynamicSharedBytes;
  if (shared > static_cast<uint64_t>(limits.maxSharedOptin))
    return unsupported(
        where + ": needs " + std::to_string(kernel.staticShared) +
        " bytes of static and " + std::to_string(plan.dynamicSharedBytes) +
        " of dynamic shared memory; " + device->getName() + " allows " +
        std::to_string(limits.maxSharedOptin) + " per block");
  // Beyond 48 KiB a kernel must opt in to its dynamic shared memory.
  if (plan.dynamicSharedBytes >
      static_cast<uint64_t>(kernel.dynamicSharedLimit)) {
    int bytes = static_cast<int>(plan.dynamicSharedBytes);
    SIEVE_RETURN_IF_ERROR(
        SIEVE_CU(api, cuFuncSetAttribute,
                 (kernel.function,
                  CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes))
            .withContext(where));
    kernel.dynamicSharedLimit = bytes;
  }
  return Status();
}

Status CudaExecutor::launchAll(std::vector<LaunchPlan> &plans, CUstream target,
                               bool timed) {
  int event = 0;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    LaunchPlan &plan = plans[i];
    if (plan.skipped)
      continue;
    std::string where = describe(plan);
    SIEVE_RETURN_IF_ERROR(
        SIEVE_CU(api, cuLaunchKernel,
                 (kernels[plan.kernel].function, plan.grid[0], plan.grid[1],
                  plan.grid[2], plan.block[0], plan.block[1], plan.block[2],
                  static_cast<unsigned>(plan.dynamicSharedBytes), target,
                  plan.params.data(), nullptr))
            .withContext(where));
    if (flags & SIEVE_SESSION_SYNC_EACH_LAUNCH)
      SIEVE_RETURN_IF_ERROR(
          SIEVE_CU(api, cuStreamSynchronize, (target)).withContext(where));
    if (timed) {
      SIEVE_RETURN_IF_ERROR(
          SIEVE_CU(api, cuEventRecord, (launchEvents[event], target))
              .withContext(where));
      recordEvent[i] = event++;
    }
  }
  return Status();
}

Status CudaExecutor::captureGraph(std::vector<LaunchPlan> &plans) {
  if (graphExec) {
    (void)SIEVE_CU(api, cuGraphExecDestroy, (graphExec));
    graphExec = nullptr;
  }
  graphKey.clear();
  SIEVE_RETURN_IF_ERROR(
      SIEVE_CU(api, cuStreamBeginCapture,
               (stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)));
  Status launched = launchAll(plans, stream, /*timed=*/false);
  CUgraph graph = nullptr;
  // Capture must end even after a failed launch, or the stream stays in
  // capture mode.
  Status ended = SIEVE_CU(api, cuStreamEndCapture, (stream, &graph));
  if (launched.isOk() && ended.isOk())
    launched =
        SIEVE_CU(api, cuGraphInstantiateWithFlags, (&graphExec, graph, 0));
  if (graph)
    (void)SIEVE_CU(api, cuGraphDestroy, (graph));
  SIEVE_RETURN_IF_ERROR(
      std::move(launched).withContext("capturing a CUDA graph"));
  return std::move(ended).withContext("capturing a CUDA graph");
}

Status CudaExecutor::execute(std::vector<LaunchPlan> &plans,
                             const std::vector<DeviceCopy> &copiesAfter,
                             void *userStream) {
  ScopedContext scope(api, device->getContext());
  SIEVE_RETURN_IF_ERROR(scope.getStatus());
  CUstream target = pick(userStream);
  records.assign(plans.size(), LaunchRecord());
  recordEvent.assign(plans.size(), -1);
  runMilliseconds = 0;
  // Everything that can be checked is checked before anything is queued.
  for (const LaunchPlan &plan : plans)
    if (!plan.skipped)
      SIEVE_RETURN_IF_ERROR(checkLimits(plan));

  bool useGraph = flags & SIEVE_SESSION_CUDA_GRAPH;
  timedLaunches = !useGraph && (flags & SIEVE_SESSION_LAUNCH_TIMINGS);
  if (useGraph) {
    std::vector<uint64_t> key;
    for (const LaunchPlan &plan : plans) {
      if (plan.skipped)
        continue;
      key.insert(key.end(), {plan.kernel, plan.grid[0], plan.grid[1],
                             plan.grid[2], plan.block[0], plan.block[1],
                             plan.block[2], plan.dynamicSharedBytes});
      for (const ParamValue &value : plan.values)
        key.push_back(value.address);
    }
    if (!graphExec || key != graphKey) {
      SIEVE_RETURN_IF_ERROR(captureGraph(plans));
      graphKey = std::move(key);
    }
  }
  if (timedLaunches) {
    while (launchEvents.size() < plans.size()) {
      CUevent event;
      SIEVE_RETURN_IF_ERROR(
          SIEVE_CU(api, cuEventCreate, (&event, CU_EVENT_DEFAULT)));
      launchEvents.push_back(event);
    }
  }

  SIEVE_RETURN_IF_ERROR(SIEVE_CU(api, cuEventRecord, (startEvent, target)));
  pending = true;
  if (useGraph)
    SIEVE_RETURN_IF_ERROR(SIEVE_CU(api, cuGraphLaunch, (graphExec, target))
                              .withContext("the schedule's CUDA graph"));
  else
    SIEVE_RETURN_IF_ERROR(launchAll(plans, target, timedLaunches));
  for (const DeviceCopy &copy : copiesAfter)
    SIEVE_RETURN_IF_ERROR(SIEVE_CU(api, cuMemcpyDtoDAsync,
                                   (copy.dst, copy.src,
                                    static_cast<size_t>(copy.bytes), target))
                              .withContext("copying an output to the memory "
                                           "bound to it"));
  return SIEVE_CU(api, cuEventRecord, (endEvent, target));
}

Status CudaExecutor::wait() {
  if (!pending)
    return Status();
  ScopedContext scope(api, device->getContext());
  SIEVE_RETURN_IF_ERROR(scope.getStatus());
  pending = false;
  SIEVE_RETURN_IF_ERROR(
      SIEVE_CU(api, cuEventSynchronize, (endEvent))
          .withContext("running the schedule (a kernel failed "
                       "asynchronously; SIEVE_SESSION_SYNC_EACH_LAUNCH names "
                       "the launch)"));
  float milliseconds = 0;
  SIEVE_RETURN_IF_ERROR(
      SIEVE_CU(api, cuEventElapsedTime, (&milliseconds, startEvent, endEvent)));
  runMilliseconds = milliseconds;
  if (!timedLaunches)
    return Status();
  CUevent previous = startEvent;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (recordEvent[i] < 0) {
      records[i].milliseconds = 0; // skipped: an empty grid
      continue;
    }
    CUevent end = launchEvents[recordEvent[i]];
    SIEVE_RETURN_IF_ERROR(
        SIEVE_CU(api, cuEventElapsedTime, (&milliseconds, previous, end)));
    records[i].milliseconds = milliseconds;
    previous = end;
  }
  return Status();
}

Status sieve::rt::openCudaDevice(std::shared_ptr<const CudaApi> api,
                                 int ordinal, std::shared_ptr<Device> &device) {
  auto result = std::make_shared<CudaDevice>(std::move(api), ordinal);
  SIEVE_RETURN_IF_ERROR(result->open());
  device = std::move(result);
  return Status();
}
