//===- CApi.h - The C API's handles, for tests ------------------*- C++ -*-===//
//
// The structs behind runtime.h's opaque handles. Tests use wrapDevice() to
// run the public C API on a device opened with a fake driver.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_SRC_CAPI_H
#define SIEVE_RUNTIME_SRC_CAPI_H

#include "Bundle.h"
#include "Device.h"
#include "Session.h"

struct sieve_bundle {
  std::shared_ptr<const sieve::rt::Bundle> bundle;
};

struct sieve_device {
  std::shared_ptr<sieve::rt::Device> device;
};

struct sieve_session {
  std::unique_ptr<sieve::rt::Session> session;
};

namespace sieve::rt {
/// A C handle for `device`; release it with sieve_device_close.
sieve_device *wrapDevice(std::shared_ptr<Device> device);
} // namespace sieve::rt

#endif // SIEVE_RUNTIME_SRC_CAPI_H
