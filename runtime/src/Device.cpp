//===- Device.cpp - Opening a device by name ------------------------------===//

#include "Device.h"

#include "CudaDevice.h"
#include "EmulatorDevice.h"

#include <algorithm>

using namespace sieve::rt;

bool TensorMapSpec::operator==(const TensorMapSpec &other) const {
  return dtype == other.dtype && rank == other.rank && base == other.base &&
         buffer == other.buffer && bufferBytes == other.bufferBytes &&
         std::equal(dims, dims + kMaxTensorMapRank, other.dims) &&
         std::equal(strides, strides + kMaxTensorMapRank, other.strides) &&
         std::equal(box, box + kMaxTensorMapRank, other.box) &&
         swizzleBytes == other.swizzleBytes;
}

Status sieve::rt::openDevice(const std::string &spec,
                             const sieve_device_options &options,
                             std::shared_ptr<Device> &device) {
  if (spec == "emulator")
    return openEmulatorDevice(findEmulatorLauncher(), options, device);
  if (spec == "auto") {
    // The first GPU where there is one; the emulator where the driver or a
    // device is missing. Other CUDA errors are not hidden by the fallback.
    Status cuda = openDevice("cuda", options, device);
    if (cuda.getCode() != SIEVE_ERROR_UNAVAILABLE)
      return cuda;
    return openEmulatorDevice(findEmulatorLauncher(), options, device);
  }
  int ordinal = -1;
  if (spec == "cuda") {
    ordinal = 0;
  } else if (spec.compare(0, 5, "cuda:") == 0 && spec.size() > 5 &&
             spec.size() <= 5 + 9) {
    ordinal = 0;
    for (std::size_t i = 5; i < spec.size() && ordinal >= 0; ++i)
      ordinal = spec[i] >= '0' && spec[i] <= '9'
                    ? ordinal * 10 + (spec[i] - '0')
                    : -1;
  }
  if (ordinal < 0)
    return invalidArgument("unknown device '" + spec +
                           "' (expected cuda, cuda:N, emulator or auto)");
  std::shared_ptr<const CudaApi> api;
  SIEVE_RETURN_IF_ERROR(getCudaDriver(api));
  return openCudaDevice(std::move(api), ordinal, device);
}
