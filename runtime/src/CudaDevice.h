//===- CudaDevice.h - A CUDA GPU as a device --------------------*- C++ -*-===//

#ifndef SIEVE_RUNTIME_SRC_CUDADEVICE_H
#define SIEVE_RUNTIME_SRC_CUDADEVICE_H

#include "CudaDriver.h"
#include "Device.h"

namespace sieve::rt {

/// Opens GPU `ordinal` through `api` (the real driver or a test's fake):
/// initializes the driver, reads the device's limits and retains its
/// primary context.
Status openCudaDevice(std::shared_ptr<const CudaApi> api, int ordinal,
                      std::shared_ptr<Device> &device);

/// Whether a cubin built for `target` runs on compute capability
/// major.minor: same major and at least the minor, exactly the same for
/// architecture-specific ("a") targets.
bool isCubinCompatible(const Target &target, int major, int minor);
/// Whether the driver can JIT PTX for `target` to major.minor: any later
/// architecture, exactly the same for "a" targets.
bool isPtxCompatible(const Target &target, int major, int minor);

} // namespace sieve::rt

#endif // SIEVE_RUNTIME_SRC_CUDADEVICE_H
