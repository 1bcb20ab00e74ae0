//===- Device.h - What a device backend provides ----------------*- C++ -*-===//
//
// The seam between the device-independent session logic (binding, sizes,
// checks, argument packing, statistics; Session.cpp) and the two backends:
// CUDA (CudaDevice.cpp) and the SIMT emulator (EmulatorDevice.cpp). Device
// memory is named by a 64-bit address: a CUdeviceptr on CUDA, a host
// address on the emulator, so kernel parameters are built the same way for
// both.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_SRC_DEVICE_H
#define SIEVE_RUNTIME_SRC_DEVICE_H

#include "Bundle.h"
#include "Status.h"

#include "sieve/emulator.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace sieve::rt {

using DeviceAddress = uint64_t;

/// One kernel parameter value; cuLaunchKernel's kernelParams (and the
/// emulator's params) point at one of these per parameter.
union ParamValue {
  uint64_t address;
  int64_t i64;
  int32_t i32;
  float f32;
};

/// One launch of the schedule with every size evaluated.
struct LaunchPlan {
  std::size_t launch = 0; ///< index in Manifest::launches
  std::size_t kernel = 0; ///< index in Manifest::kernels
  uint32_t grid[3] = {0, 0, 0};
  uint32_t block[3] = {0, 0, 0};
  uint64_t dynamicSharedBytes = 0;
  /// Nothing to launch: an empty grid, or (`reused`) a launch with `reuse`
  /// whose results from an earlier run are still in its buffers.
  bool skipped = false;
  bool reused = false;
  /// The expanded parameters (a memref is five values) and pointers to them.
  std::vector<ParamValue> values;
  std::vector<void *> params;
};

/// "launch 2 (sieve.gate at g.mlir:5:8), kernel 'gate_f32'": how every
/// error about a launch names it.
inline std::string describeLaunch(const Manifest &manifest,
                                  std::size_t launch) {
  const LaunchSpec &spec = manifest.launches[launch];
  return "launch " + std::to_string(launch) + " (" + spec.op + "), kernel '" +
         manifest.kernels[spec.kernel].name + "'";
}

/// Bytes the runtime reserves for each encoded tensor map, on every device
/// (CUDA's CUtensorMap takes 128, the emulator's sieve_emu_tensor_map less).
constexpr uint64_t kTensorMapSlotBytes = SIEVE_TENSOR_MAP_SLOT_BYTES;

/// A tensor_map argument with every size evaluated and checked
/// (Session::planLaunches): what cuTensorMapEncodeTiled takes, plus the
/// buffer the map may read.
struct TensorMapSpec {
  DType dtype = DType::F32;
  uint32_t rank = 0;
  /// Element (0, ..., 0), 16-byte aligned.
  DeviceAddress base = 0;
  /// The buffer the tensor lies in: [buffer, buffer + bufferBytes).
  DeviceAddress buffer = 0;
  uint64_t bufferBytes = 0;
  /// Innermost first, `rank` entries each: sizes in elements, strides in
  /// bytes (strides[0] is the element size), the box in elements; unused
  /// entries are 0.
  uint64_t dims[kMaxTensorMapRank] = {};
  uint64_t strides[kMaxTensorMapRank] = {};
  uint32_t box[kMaxTensorMapRank] = {};
  /// 0 (none), 32, 64 or 128.
  uint32_t swizzleBytes = 0;

  bool operator==(const TensorMapSpec &other) const;
  bool operator!=(const TensorMapSpec &other) const {
    return !(*this == other);
  }
};

/// What one launch of the last run measured.
struct LaunchRecord {
  double milliseconds = std::numeric_limits<double>::quiet_NaN();
  uint64_t blocks = 0, threads = 0, barriers = 0, collectives = 0,
           workUnits = 0;
};

/// A device-to-device copy of `bytes` bytes.
struct DeviceCopy {
  DeviceAddress dst = 0, src = 0;
  uint64_t bytes = 0;
};

/// A bundle prepared on a device for one session: its kernels loaded, its
/// memory, its stream. Calls come from one thread at a time.
class Executor {
public:
  virtual ~Executor() = default;

  /// "cubin", "ptx (JIT)", "kernels.emu.so".
  virtual const std::string &getKernelSource() const = 0;

  /// `bytes` > 0; addresses are 256-byte aligned.
  virtual Status allocate(uint64_t bytes, DeviceAddress &address) = 0;
  virtual void release(DeviceAddress address) = 0;

  /// Queue copies on `stream` (a CUstream or null for the executor's own).
  virtual Status upload(DeviceAddress dst, const void *src, uint64_t bytes,
                        void *stream) = 0;
  virtual Status copy(DeviceAddress dst, DeviceAddress src, uint64_t bytes,
                      void *stream) = 0;
  /// Copies `height` rows of `width` bytes, `srcPitch` bytes apart in the
  /// source (>= width), to consecutive rows at `dst`.
  virtual Status copy2D(DeviceAddress dst, DeviceAddress src, uint64_t width,
                        uint64_t height, uint64_t srcPitch, void *stream) = 0;
  virtual Status zero(DeviceAddress dst, uint64_t bytes, void *stream) = 0;

  /// Checks that [address, address + bytes) is memory of this device.
  virtual Status checkDeviceRange(DeviceAddress address, uint64_t bytes) = 0;

  /// Encodes the tensor map `spec` (checked already) into `slot`, host
  /// memory the caller then uploads to a kTensorMapSlotBytes-byte slot of
  /// device memory, 256-byte aligned, whose address the kernels receive:
  /// a CUtensorMap from cuTensorMapEncodeTiled on CUDA, a
  /// sieve_emu_tensor_map on the emulator. Bytes the encoding leaves unused
  /// are zero.
  virtual Status encodeTensorMap(const TensorMapSpec &spec,
                                 uint8_t slot[kTensorMapSlotBytes]) = 0;

  /// Launches `plans` in order on `stream`, then queues `copiesAfter` (the
  /// outputs a caller bound to memory of its own that the kernels could not
  /// write in place); `records` receives one entry per plan once wait()
  /// returns, which also waits for the copies.
  virtual Status execute(std::vector<LaunchPlan> &plans,
                         const std::vector<DeviceCopy> &copiesAfter,
                         void *stream) = 0;
  /// Waits for the last execute() and collects its timings.
  virtual Status wait() = 0;
  virtual const std::vector<LaunchRecord> &getLaunchRecords() const = 0;
  /// The whole schedule of the last execute(), in milliseconds.
  virtual double getRunMilliseconds() const = 0;

  /// Copies to host memory and waits for the copy.
  virtual Status download(void *dst, DeviceAddress src, uint64_t bytes) = 0;
};

/// An opened device.
class Device {
public:
  virtual ~Device() = default;
  virtual sieve_device_kind getKind() const = 0;
  /// "cuda:0 (NVIDIA H200, sm_90)", "emulator".
  virtual const std::string &getName() const = 0;
  /// Prepares `bundle` for a session with sieve_session_create's `flags`.
  virtual Status createExecutor(std::shared_ptr<const Bundle> bundle,
                                uint32_t flags,
                                std::unique_ptr<Executor> &executor) = 0;
};

/// Opens "cuda", "cuda:N" or "emulator".
Status openDevice(const std::string &spec, const sieve_device_options &options,
                  std::shared_ptr<Device> &device);

} // namespace sieve::rt

#endif // SIEVE_RUNTIME_SRC_DEVICE_H
