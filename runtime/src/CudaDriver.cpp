//===- CudaDriver.cpp - The CUDA driver, opened with dlopen ---------------===//

#include "CudaDriver.h"

#include <dlfcn.h>
#include <mutex>

using namespace sieve::rt;
using namespace sieve::cuda;

Status sieve::rt::loadCudaApi(const char *library, CudaApi &api) {
  void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return unavailable(std::string("no CUDA driver (") + library +
                       " not found)");
  CudaApi result;
#define SIEVE_CUDA_SYMBOL(name, exported, params)                              \
  result.name =                                                                \
      reinterpret_cast<decltype(result.name)>(dlsym(handle, #exported));       \
  if (!result.name) {                                                          \
    dlclose(handle);                                                           \
    return unavailable(std::string("the CUDA driver ") + library +             \
                       " lacks " #exported "; it is older than this runtime "  \
                       "needs (CUDA 11.4)");                                   \
  }
#define SIEVE_CUDA_OPTIONAL_SYMBOL(name, exported, params)                     \
  result.name =                                                                \
      reinterpret_cast<decltype(result.name)>(dlsym(handle, #exported));
#include "CudaSymbols.def"
#undef SIEVE_CUDA_SYMBOL
  api = result;
  return Status();
}

Status sieve::rt::getCudaDriver(std::shared_ptr<const CudaApi> &api) {
  // Loaded once: the driver library is never unloaded, and a missing one
  // stays missing for the life of the process.
  static std::once_flag once;
  static std::shared_ptr<const CudaApi> driver;
  static Status status;
  std::call_once(once, [] {
    auto loaded = std::make_shared<CudaApi>();
    status = loadCudaApi(kCudaDriverLibrary, *loaded);
    if (status.isOk())
      driver = std::move(loaded);
  });
  if (!status.isOk())
    return status;
  api = driver;
  return Status();
}

std::string sieve::rt::describeCudaResult(const CudaApi &api, CUresult result) {
  const char *name = nullptr, *text = nullptr;
  if (api.cuGetErrorName(result, &name) != CUDA_SUCCESS || !name)
    name = nullptr;
  if (api.cuGetErrorString(result, &text) != CUDA_SUCCESS || !text)
    text = nullptr;
  std::string description = name ? name : "CUresult " + std::to_string(result);
  if (text)
    description += std::string(" (") + text + ")";
  return description;
}

Status sieve::rt::checkCudaResult(const CudaApi &api, CUresult result,
                                  const char *call) {
  if (result == CUDA_SUCCESS)
    return Status();
  std::string message =
      std::string(call) + " failed: " + describeCudaResult(api, result);
  switch (result) {
  case CUDA_ERROR_OUT_OF_MEMORY:
    return Status(SIEVE_ERROR_OUT_OF_MEMORY, message);
  case CUDA_ERROR_NO_DEVICE:
  case CUDA_ERROR_STUB_LIBRARY:
  case CUDA_ERROR_DEVICE_UNAVAILABLE:
  case CUDA_ERROR_SYSTEM_DRIVER_MISMATCH:
  case CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE:
    return unavailable(message);
  default:
    return deviceError(message);
  }
}
