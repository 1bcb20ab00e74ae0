//===- FakeCuda.h - An in-process fake of the CUDA driver -------*- C++ -*-===//
//
// A CudaApi whose functions act on a pretend GPU in host memory, so that the
// CUDA backend's code paths (module loading and the JIT log, limits and
// shared-memory attributes, copies, launches, events, graph capture, the
// pointer checks) run and can be inspected without a GPU. Device memory is
// host memory (a CUdeviceptr is its address) and cuLaunchKernel runs the
// kernel's counterpart from a bundle's kernels.emu.so through
// sieve_emu_launch, so results are real numbers. State is global: one fake
// GPU per test process, reset by each test.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_TEST_FAKECUDA_H
#define SIEVE_RUNTIME_TEST_FAKECUDA_H

#include "CudaDriver.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace sieve::test {

struct FakeLaunch {
  std::string kernel;
  unsigned grid[3], block[3];
  unsigned sharedBytes;
  void *stream;
  bool fromGraph;
};

/// The arguments of one cuTensorMapEncodeTiled call (arrays: `rank`
/// entries, strides `rank - 1`).
struct FakeTensorMapEncode {
  int dataType;
  unsigned rank;
  uint64_t address;
  std::vector<uint64_t> dims, strides;
  std::vector<uint32_t> box, elementStrides;
  int interleave, swizzle, l2Promotion, oobFill;
};

/// The first bytes the fake writes into a CUtensorMap: kFakeTensorMapMagic,
/// then the encode's index in FakeCudaState::tensorMapEncodes, then the
/// global address.
constexpr uint64_t kFakeTensorMapMagic = 0x70616d656b6166ull; // "fakemap"

struct FakeCudaState {
  // What the fake GPU is.
  cuda::CUresult initResult = cuda::CUDA_SUCCESS;
  int deviceCount = 1;
  std::string deviceName = "Fake H200";
  int major = 9, minor = 0;
  int maxSharedOptin = 227 * 1024;
  int maxThreadsPerBlock = 1024;
  /// cuFuncGetAttribute's answers for every kernel.
  int kernelStaticShared = 0;
  int kernelMaxThreads = 1024;
  /// cuModuleLoadDataEx: the result for PTX and for cubin images, and the
  /// JIT error log written on failure.
  cuda::CUresult ptxLoadResult = cuda::CUDA_SUCCESS;
  cuda::CUresult cubinLoadResult = cuda::CUDA_SUCCESS;
  std::string jitErrorLog;
  /// The kernels a cubin "contains": the PTX it was built from.
  std::string cubinPtx;
  /// Where kernels come from when launched: a kernels.emu.so.
  std::string emulatorLibrary;
  /// Injected failures.
  cuda::CUresult eventSynchronizeResult = cuda::CUDA_SUCCESS;
  cuda::CUresult streamSynchronizeResult = cuda::CUDA_SUCCESS;
  /// A driver older than CUDA 12.0: makeFakeCudaApi leaves
  /// cuTensorMapEncodeTiled null.
  bool lacksTensorMaps = false;
  cuda::CUresult tensorMapEncodeResult = cuda::CUDA_SUCCESS;

  // What happened.
  std::vector<std::string> imagesLoaded; ///< "ptx" or "cubin", in order
  std::vector<FakeLaunch> launches;
  /// (kernel, attribute, value) of every cuFuncSetAttribute.
  std::vector<std::tuple<std::string, int, int>> attributesSet;
  /// cuMemcpy2DAsync calls (strided device inputs).
  int memcpy2DCount = 0;
  std::vector<FakeTensorMapEncode> tensorMapEncodes;
  /// Every cuMemcpyHtoDAsync and launch, in order: "upload <bytes>" or
  /// "launch <kernel>".
  std::vector<std::string> events;
  int graphsInstantiated = 0;
  int graphLaunches = 0;
  int contextDepth = 0;
  int primaryContextsRetained = 0;
  std::map<uint64_t, uint64_t> allocations; ///< address -> bytes
  int allocationCount = 0;
  int liveStreams = 0;
  int liveEvents = 0;
  int liveModules = 0;
};

/// The fake GPU's state; reset() starts a test from a clean GPU.
FakeCudaState &fakeCuda();
void resetFakeCuda();

/// A CudaApi whose every member is the fake (but cuTensorMapEncodeTiled
/// with FakeCudaState::lacksTensorMaps).
std::shared_ptr<const rt::CudaApi> makeFakeCudaApi();

} // namespace sieve::test

#endif // SIEVE_RUNTIME_TEST_FAKECUDA_H
