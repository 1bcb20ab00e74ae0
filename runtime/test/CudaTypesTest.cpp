//===- CudaTypesTest.cpp - CudaTypes.h and CudaSymbols.def against cuda.h -===//
//
// Built only when the CUDA toolkit's cuda.h is found (the runtime itself
// never includes it). Everything here is checked at compile time: the values
// the runtime declares itself, and that every exported name of the symbol
// table is a driver function with the arity the table gives it.
//
//===----------------------------------------------------------------------===//

#include <cuda.h>

#include "CudaDriver.h"

#include <gtest/gtest.h>

#include <cstddef>

namespace {
namespace ours = sieve::cuda;

#define SIEVE_SAME_VALUE(name)                                                 \
  static_assert(static_cast<long long>(ours::name) ==                          \
                    static_cast<long long>(::name),                            \
                #name " differs from cuda.h");
SIEVE_SAME_VALUE(CUDA_SUCCESS)
SIEVE_SAME_VALUE(CUDA_ERROR_INVALID_VALUE)
SIEVE_SAME_VALUE(CUDA_ERROR_OUT_OF_MEMORY)
SIEVE_SAME_VALUE(CUDA_ERROR_NOT_INITIALIZED)
SIEVE_SAME_VALUE(CUDA_ERROR_STUB_LIBRARY)
SIEVE_SAME_VALUE(CUDA_ERROR_DEVICE_UNAVAILABLE)
SIEVE_SAME_VALUE(CUDA_ERROR_NO_DEVICE)
SIEVE_SAME_VALUE(CUDA_ERROR_INVALID_DEVICE)
SIEVE_SAME_VALUE(CUDA_ERROR_INVALID_IMAGE)
SIEVE_SAME_VALUE(CUDA_ERROR_NO_BINARY_FOR_GPU)
SIEVE_SAME_VALUE(CUDA_ERROR_INVALID_PTX)
SIEVE_SAME_VALUE(CUDA_ERROR_JIT_COMPILER_NOT_FOUND)
SIEVE_SAME_VALUE(CUDA_ERROR_UNSUPPORTED_PTX_VERSION)
SIEVE_SAME_VALUE(CUDA_ERROR_NOT_FOUND)
SIEVE_SAME_VALUE(CUDA_ERROR_NOT_READY)
SIEVE_SAME_VALUE(CUDA_ERROR_ILLEGAL_ADDRESS)
SIEVE_SAME_VALUE(CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES)
SIEVE_SAME_VALUE(CUDA_ERROR_LAUNCH_FAILED)
SIEVE_SAME_VALUE(CUDA_ERROR_SYSTEM_DRIVER_MISMATCH)
SIEVE_SAME_VALUE(CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE)
SIEVE_SAME_VALUE(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK)
SIEVE_SAME_VALUE(CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X)
SIEVE_SAME_VALUE(CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y)
SIEVE_SAME_VALUE(CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z)
SIEVE_SAME_VALUE(CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X)
SIEVE_SAME_VALUE(CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y)
SIEVE_SAME_VALUE(CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z)
SIEVE_SAME_VALUE(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
SIEVE_SAME_VALUE(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
SIEVE_SAME_VALUE(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)
SIEVE_SAME_VALUE(CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK)
SIEVE_SAME_VALUE(CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES)
SIEVE_SAME_VALUE(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
SIEVE_SAME_VALUE(CU_JIT_INFO_LOG_BUFFER)
SIEVE_SAME_VALUE(CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES)
SIEVE_SAME_VALUE(CU_JIT_ERROR_LOG_BUFFER)
SIEVE_SAME_VALUE(CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES)
SIEVE_SAME_VALUE(CU_JIT_LOG_VERBOSE)
SIEVE_SAME_VALUE(CU_POINTER_ATTRIBUTE_MEMORY_TYPE)
SIEVE_SAME_VALUE(CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL)
SIEVE_SAME_VALUE(CU_POINTER_ATTRIBUTE_RANGE_START_ADDR)
SIEVE_SAME_VALUE(CU_POINTER_ATTRIBUTE_RANGE_SIZE)
SIEVE_SAME_VALUE(CU_MEMORYTYPE_DEVICE)
SIEVE_SAME_VALUE(CU_MEMORYTYPE_UNIFIED)
SIEVE_SAME_VALUE(CU_STREAM_NON_BLOCKING)
SIEVE_SAME_VALUE(CU_EVENT_DEFAULT)
SIEVE_SAME_VALUE(CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_DATA_TYPE_UINT8)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_DATA_TYPE_UINT16)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_DATA_TYPE_UINT32)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_DATA_TYPE_INT32)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_DATA_TYPE_UINT64)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_DATA_TYPE_INT64)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_DATA_TYPE_FLOAT16)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_DATA_TYPE_FLOAT32)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_DATA_TYPE_FLOAT64)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_DATA_TYPE_BFLOAT16)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_INTERLEAVE_NONE)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_SWIZZLE_NONE)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_SWIZZLE_32B)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_SWIZZLE_64B)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_SWIZZLE_128B)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_L2_PROMOTION_NONE)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_L2_PROMOTION_L2_64B)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_L2_PROMOTION_L2_128B)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_L2_PROMOTION_L2_256B)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)
SIEVE_SAME_VALUE(CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA)
#undef SIEVE_SAME_VALUE

// The encoded tensor map: its size, and at least the 64-byte alignment
// cuTensorMapEncodeTiled requires (cuda.h 13.0 declares 128).
static_assert(sizeof(ours::CUtensorMap) == sizeof(::CUtensorMap));
static_assert(alignof(ours::CUtensorMap) >= 64);
static_assert(sizeof(ours::cuuint32_t) == sizeof(::cuuint32_t));
static_assert(sizeof(ours::cuuint64_t) == sizeof(::cuuint64_t));
static_assert(sizeof(ours::CUtensorMapDataType) ==
              sizeof(::CUtensorMapDataType));

static_assert(sizeof(ours::CUdeviceptr) == sizeof(::CUdeviceptr));
static_assert(sizeof(ours::CUmemorytype) == sizeof(::CUmemorytype));

// CUDA_MEMCPY2D: every field at cuda.h's offset.
static_assert(sizeof(ours::CUDA_MEMCPY2D) == sizeof(::CUDA_MEMCPY2D));
#define SIEVE_SAME_OFFSET(field)                                               \
  static_assert(offsetof(ours::CUDA_MEMCPY2D, field) ==                        \
                    offsetof(::CUDA_MEMCPY2D, field),                          \
                "CUDA_MEMCPY2D::" #field " differs from cuda.h");
SIEVE_SAME_OFFSET(srcXInBytes)
SIEVE_SAME_OFFSET(srcY)
SIEVE_SAME_OFFSET(srcMemoryType)
SIEVE_SAME_OFFSET(srcHost)
SIEVE_SAME_OFFSET(srcDevice)
SIEVE_SAME_OFFSET(srcArray)
SIEVE_SAME_OFFSET(srcPitch)
SIEVE_SAME_OFFSET(dstXInBytes)
SIEVE_SAME_OFFSET(dstY)
SIEVE_SAME_OFFSET(dstMemoryType)
SIEVE_SAME_OFFSET(dstHost)
SIEVE_SAME_OFFSET(dstDevice)
SIEVE_SAME_OFFSET(dstArray)
SIEVE_SAME_OFFSET(dstPitch)
SIEVE_SAME_OFFSET(WidthInBytes)
SIEVE_SAME_OFFSET(Height)
#undef SIEVE_SAME_OFFSET
static_assert(sizeof(ours::CUdevice) == sizeof(::CUdevice));
static_assert(sizeof(ours::CUresult) == sizeof(::CUresult));

template <typename F> struct Arity;
template <typename R, typename... Args> struct Arity<R (*)(Args...)> {
  static constexpr std::size_t value = sizeof...(Args);
};

// cuda.h maps some names to their current version with macros (e.g.
// cuEventElapsedTime to cuEventElapsedTime_v2); those keep the signature.
#define SIEVE_CUDA_SYMBOL(name, exported, params)                              \
  static_assert(Arity<decltype(&::exported)>::value ==                         \
                    Arity<decltype(sieve::rt::CudaApi::name)>::value,          \
                #exported " takes another number of parameters in cuda.h");
#include "CudaSymbols.def"
#undef SIEVE_CUDA_SYMBOL
} // namespace

TEST(CudaTypesTest, MatchCudaHeader) {
  // Everything is checked by the static_asserts above; this records that
  // the check was compiled in.
  SUCCEED() << "checked against cuda.h " << CUDA_VERSION;
}

#if defined(SIEVE_TEST_CUDA_STUB) && CUDA_VERSION >= 12000
// Optional symbols are loaded where the driver has them: a CUDA 12 stub
// library exports cuTensorMapEncodeTiled.
TEST(CudaTypesTest, OptionalSymbolsOfTheStubLibrary) {
  sieve::rt::CudaApi api;
  sieve::rt::Status status = sieve::rt::loadCudaApi(SIEVE_TEST_CUDA_STUB, api);
  ASSERT_TRUE(status.isOk()) << status.getMessage();
  EXPECT_NE(api.cuTensorMapEncodeTiled, nullptr);
}
#endif
