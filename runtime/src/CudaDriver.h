//===- CudaDriver.h - The CUDA driver, opened with dlopen -------*- C++ -*-===//
//
// CudaApi is the runtime's whole view of the CUDA driver: one function
// pointer per entry of CudaSymbols.def. The real one comes from
// libcuda.so.1; tests fill one with fakes, which is how the CUDA backend is
// tested on machines without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_SRC_CUDADRIVER_H
#define SIEVE_RUNTIME_SRC_CUDADRIVER_H

#include "CudaTypes.h"
#include "Status.h"

#include <memory>
#include <string>

namespace sieve::rt {

/// The driver entry points; every member is set once loaded, except the
/// optional ones of CudaSymbols.def, which are null when the driver lacks
/// them.
struct CudaApi {
  // The table's parameter types, in the struct's scope.
  using CUresult = cuda::CUresult;
  using CUdevice = cuda::CUdevice;
  using CUdeviceptr = cuda::CUdeviceptr;
  using CUcontext = cuda::CUcontext;
  using CUmodule = cuda::CUmodule;
  using CUfunction = cuda::CUfunction;
  using CUstream = cuda::CUstream;
  using CUevent = cuda::CUevent;
  using CUgraph = cuda::CUgraph;
  using CUgraphExec = cuda::CUgraphExec;
  using CUdevice_attribute = cuda::CUdevice_attribute;
  using CUfunction_attribute = cuda::CUfunction_attribute;
  using CUjit_option = cuda::CUjit_option;
  using CUpointer_attribute = cuda::CUpointer_attribute;
  using CUstreamCaptureMode = cuda::CUstreamCaptureMode;
  using CUDA_MEMCPY2D = cuda::CUDA_MEMCPY2D;
  using cuuint32_t = cuda::cuuint32_t;
  using cuuint64_t = cuda::cuuint64_t;
  using CUtensorMap = cuda::CUtensorMap;
  using CUtensorMapDataType = cuda::CUtensorMapDataType;
  using CUtensorMapInterleave = cuda::CUtensorMapInterleave;
  using CUtensorMapSwizzle = cuda::CUtensorMapSwizzle;
  using CUtensorMapL2promotion = cuda::CUtensorMapL2promotion;
  using CUtensorMapFloatOOBfill = cuda::CUtensorMapFloatOOBfill;

#define SIEVE_CUDA_SYMBOL(name, exported, params)                              \
  CUresult(*name) params = nullptr;
#include "CudaSymbols.def"
#undef SIEVE_CUDA_SYMBOL
};

/// The library the runtime loads the driver from.
constexpr const char *kCudaDriverLibrary = "libcuda.so.1";

/// dlopens `library` and resolves every symbol of CudaSymbols.def into
/// `api`. A library that cannot be loaded is SIEVE_ERROR_UNAVAILABLE "no
/// CUDA driver (<library> not found)"; a missing symbol is
/// SIEVE_ERROR_UNAVAILABLE naming it (a driver older than CUDA 11.4), except
/// for optional symbols, which are left null. The library stays loaded for
/// the life of the process.
Status loadCudaApi(const char *library, CudaApi &api);

/// The process's driver from libcuda.so.1, loaded on first use.
Status getCudaDriver(std::shared_ptr<const CudaApi> &api);

/// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
std::string describeCudaResult(const CudaApi &api, cuda::CUresult result);

/// The Status of a driver call: success, or an error naming the call and
/// the CUresult. Out of memory maps to SIEVE_ERROR_OUT_OF_MEMORY; "no
/// device", a stub or mismatched driver to SIEVE_ERROR_UNAVAILABLE; the rest
/// to SIEVE_ERROR_DEVICE.
Status checkCudaResult(const CudaApi &api, cuda::CUresult result,
                       const char *call);

} // namespace sieve::rt

/// Calls driver function `fn` of `api` with the parenthesized `args` and
/// yields a Status naming `fn` on failure. Every driver call goes through
/// it: `SIEVE_RETURN_IF_ERROR(SIEVE_CU(api, cuMemAlloc, (&ptr, bytes)));`
#define SIEVE_CU(api, fn, args)                                                \
  ::sieve::rt::checkCudaResult((api), (api).fn args, #fn)

/// SIEVE_CU that also stores the CUresult in `result`, for the few callers
/// that act on particular codes (e.g. falling back from a cubin to PTX).
#define SIEVE_CU_RESULT(api, fn, args, result)                                 \
  ::sieve::rt::checkCudaResult((api), (result) = (api).fn args, #fn)

#endif // SIEVE_RUNTIME_SRC_CUDADRIVER_H
