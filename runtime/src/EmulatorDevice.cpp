//===- EmulatorDevice.cpp - The SIMT emulator as a device -----------------===//
//
// Device memory is host memory (256-byte aligned, like cuMemAlloc), filled
// with 0xFF bytes when allocated so that a kernel reading what nobody wrote
// sees NaNs, as the emulator does for shared memory. Launches run
// synchronously; their timings are wall-clock times.
//
//===----------------------------------------------------------------------===//

#include "EmulatorDevice.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

using namespace sieve::rt;

namespace {
constexpr uint64_t kAlignment = 256;
constexpr std::size_t kErrorCapacity = 4096;

class EmulatorExecutor : public Executor {
public:
  EmulatorExecutor(std::shared_ptr<const Bundle> bundle,
                   EmulatorLaunchFn launch, const sieve_device_options &options)
      : bundle(std::move(bundle)), launchFn(launch), options(options) {}

  ~EmulatorExecutor() override {
    if (library)
      dlclose(library);
  }

  Status load() {
    const std::string &path = bundle->getEmulatorPath();
    const std::string &fileName = bundle->getManifest().emulatorFile;
    // RTLD_NOW: a kernel library calling an emulator function the process
    // lacks fails here, not in the middle of a launch.
    library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      const char *why = dlerror();
      return invalidBundle("cannot load '" + fileName +
                           "': " + (why ? why : "unknown dlopen error"));
    }
    for (const KernelSpec &kernel : bundle->getManifest().kernels) {
      std::string symbol = getEmulatorKernelSymbol(kernel.name);
      dlerror();
      void *address = dlsym(library, symbol.c_str());
      if (!address)
        return invalidBundle("'" + fileName + "' has no symbol '" + symbol +
                             "' for kernel '" + kernel.name + "'");
      kernels.push_back(reinterpret_cast<sieve_emu_kernel_fn>(address));
    }
    return Status();
  }

  const std::string &getKernelSource() const override { return source; }

  Status allocate(uint64_t bytes, DeviceAddress &address) override {
    uint64_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    if (rounded < bytes || rounded > SIZE_MAX)
      return Status(SIEVE_ERROR_OUT_OF_MEMORY,
                    "cannot allocate " + std::to_string(bytes) + " bytes");
    void *memory = std::aligned_alloc(kAlignment, static_cast<size_t>(rounded));
    if (!memory)
      return Status(SIEVE_ERROR_OUT_OF_MEMORY, "cannot allocate " +
                                                   std::to_string(bytes) +
                                                   " bytes of emulator memory");
    std::memset(memory, 0xFF, static_cast<size_t>(rounded));
    address = reinterpret_cast<uintptr_t>(memory);
    return Status();
  }

  void release(DeviceAddress address) override {
    std::free(reinterpret_cast<void *>(static_cast<uintptr_t>(address)));
  }

  Status upload(DeviceAddress dst, const void *src, uint64_t bytes,
                void *stream) override {
    std::memcpy(toPointer(dst), src, static_cast<size_t>(bytes));
    return Status();
  }

  Status copy(DeviceAddress dst, DeviceAddress src, uint64_t bytes,
              void *stream) override {
    std::memmove(toPointer(dst), toPointer(src), static_cast<size_t>(bytes));
    return Status();
  }

  Status copy2D(DeviceAddress dst, DeviceAddress src, uint64_t width,
                uint64_t height, uint64_t srcPitch, void *stream) override {
    for (uint64_t row = 0; row < height; ++row)
      std::memmove(toPointer(dst + row * width), toPointer(src + row * srcPitch),
                   static_cast<size_t>(width));
    return Status();
  }

  Status zero(DeviceAddress dst, uint64_t bytes, void *stream) override {
    std::memset(toPointer(dst), 0, static_cast<size_t>(bytes));
    return Status();
  }

  Status checkDeviceRange(DeviceAddress address, uint64_t bytes) override {
    return unsupported("the emulator has no device memory of its own; bind "
                       "host tensors");
  }

  Status encodeTensorMap(const TensorMapSpec &spec,
                         uint8_t slot[kTensorMapSlotBytes]) override {
    // The emulator's TMA reads this struct (sieve/emulator.h); device
    // addresses are host addresses here.
    static_assert(sizeof(sieve_emu_tensor_map) <= kTensorMapSlotBytes,
                  "a sieve_emu_tensor_map must fit a slot");
    static_assert(kMaxTensorMapRank == 5, "sieve_emu_tensor_map has 5 dims");
    sieve_emu_tensor_map map = {};
    map.magic = SIEVE_EMU_TENSOR_MAP_MAGIC;
    map.base = static_cast<const uint8_t *>(toPointer(spec.base));
    map.buffer_begin = static_cast<const uint8_t *>(toPointer(spec.buffer));
    map.buffer_end = map.buffer_begin + spec.bufferBytes;
    map.rank = spec.rank;
    map.element_bytes = static_cast<uint32_t>(getDTypeSize(spec.dtype));
    map.swizzle_bytes = spec.swizzleBytes;
    // Dimensions beyond the rank: one element, one box element, stride 0.
    for (uint32_t d = 0; d < kMaxTensorMapRank; ++d) {
      bool used = d < spec.rank;
      map.dims[d] = used ? spec.dims[d] : 1;
      map.strides[d] = used ? spec.strides[d] : 0;
      map.box[d] = used ? spec.box[d] : 1;
    }
    std::memset(slot, 0, kTensorMapSlotBytes);
    std::memcpy(slot, &map, sizeof(map));
    return Status();
  }

  Status execute(std::vector<LaunchPlan> &plans,
                 const std::vector<DeviceCopy> &copiesAfter,
                 void *stream) override {
    using Clock = std::chrono::steady_clock;
    const Manifest &manifest = bundle->getManifest();
    records.assign(plans.size(), LaunchRecord());
    runMilliseconds = 0;
    auto runStart = Clock::now();
    for (std::size_t i = 0; i < plans.size(); ++i) {
      LaunchPlan &plan = plans[i];
      const KernelSpec &kernel = manifest.kernels[plan.kernel];
      std::string where = describeLaunch(manifest, plan.launch);
      if (plan.skipped) {
        records[i].milliseconds = 0;
        continue;
      }
      int64_t shared = kernel.staticSharedBytes +
                       static_cast<int64_t>(plan.dynamicSharedBytes);
      int64_t limit = manifest.target.getMaxSharedBytesPerBlock();
      if (shared > limit)
        return unsupported(where + ": needs " + std::to_string(shared) +
                           " bytes of shared memory per block; " +
                           manifest.targetName + " allows " +
                           std::to_string(limit));
      sieve_emu_launch_desc desc = {};
      desc.kernel_name = kernel.name.c_str();
      desc.kernel = kernels[plan.kernel];
      desc.params = plan.params.data();
      for (int d = 0; d < 3; ++d) {
        desc.grid[d] = plan.grid[d];
        desc.block[d] = plan.block[d];
      }
      desc.static_shared_bytes =
          static_cast<uint64_t>(kernel.staticSharedBytes);
      desc.dynamic_shared_bytes = plan.dynamicSharedBytes;
      desc.schedule_seed = options.emulator_schedule_seed;
      desc.check_races = options.emulator_check_races;
      desc.worker_threads = options.emulator_worker_threads;
      sieve_emu_launch_stats stats = {};
      char error[kErrorCapacity] = {0};
      auto start = Clock::now();
      int failed = launchFn(&desc, &stats, error, sizeof(error));
      auto end = Clock::now();
      if (failed) {
        error[sizeof(error) - 1] = 0;
        return deviceError(where + ": " +
                           (error[0] ? error
                                     : "the emulator reported a failure "
                                       "without a message"));
      }
      LaunchRecord &record = records[i];
      record.milliseconds =
          std::chrono::duration<double, std::milli>(end - start).count();
      record.blocks = stats.blocks;
      record.threads = stats.threads;
      record.barriers = stats.barriers;
      record.collectives = stats.collectives;
      record.workUnits = stats.work_units;
    }
    for (const DeviceCopy &copy : copiesAfter)
      std::memmove(toPointer(copy.dst), toPointer(copy.src),
                   static_cast<size_t>(copy.bytes));
    runMilliseconds =
        std::chrono::duration<double, std::milli>(Clock::now() - runStart)
            .count();
    return Status();
  }

  Status wait() override { return Status(); }
  const std::vector<LaunchRecord> &getLaunchRecords() const override {
    return records;
  }
  double getRunMilliseconds() const override { return runMilliseconds; }

  Status download(void *dst, DeviceAddress src, uint64_t bytes) override {
    std::memcpy(dst, toPointer(src), static_cast<size_t>(bytes));
    return Status();
  }

private:
  static void *toPointer(DeviceAddress address) {
    return reinterpret_cast<void *>(static_cast<uintptr_t>(address));
  }

  std::shared_ptr<const Bundle> bundle;
  EmulatorLaunchFn launchFn;
  sieve_device_options options;
  void *library = nullptr;
  std::vector<sieve_emu_kernel_fn> kernels;
  std::vector<LaunchRecord> records;
  double runMilliseconds = 0;
  const std::string source = "kernels.emu.so";
};

class EmulatorDevice : public Device {
public:
  EmulatorDevice(EmulatorLaunchFn launch, const sieve_device_options &options)
      : launch(launch), options(options) {}

  sieve_device_kind getKind() const override { return SIEVE_DEVICE_EMULATOR; }
  const std::string &getName() const override { return name; }

  Status createExecutor(std::shared_ptr<const Bundle> bundle, uint32_t flags,
                        std::unique_ptr<Executor> &executor) override {
    auto result =
        std::make_unique<EmulatorExecutor>(std::move(bundle), launch, options);
    SIEVE_RETURN_IF_ERROR(result->load());
    executor = std::move(result);
    return Status();
  }

private:
  EmulatorLaunchFn launch;
  sieve_device_options options;
  const std::string name = "emulator";
};
} // namespace

#ifdef SIEVE_RUNTIME_HAS_EMULATOR
EmulatorLaunchFn sieve::rt::findEmulatorLauncher() { return &sieve_emu_launch; }
#else
EmulatorLaunchFn sieve::rt::findEmulatorLauncher() {
  return reinterpret_cast<EmulatorLaunchFn>(
      dlsym(RTLD_DEFAULT, "sieve_emu_launch"));
}
#endif

std::string sieve::rt::getEmulatorKernelSymbol(const std::string &name) {
  return "sieve_emu_kernel_" + name;
}

Status sieve::rt::openEmulatorDevice(EmulatorLaunchFn launch,
                                     const sieve_device_options &options,
                                     std::shared_ptr<Device> &device) {
  if (!launch)
    return unavailable(
        "no SIMT emulator in this process: the runtime was built without "
        "SieveEmulator (it needs Boost.Context) and no loaded library "
        "provides sieve_emu_launch");
  device = std::make_shared<EmulatorDevice>(launch, options);
  return Status();
}
