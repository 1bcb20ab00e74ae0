//===- CudaTest.cpp - The CUDA backend ------------------------------------===//
//
// Most tests run the CUDA backend against FakeCuda (an in-process fake
// driver that executes the toy bundle's kernels through the emulator ABI),
// so every code path is exercised without a GPU. The rest use the real
// driver where there is one: the "no driver" path on machines without
// libcuda.so.1, the toolkit's stub library when it is installed, and the
// toy bundle on a real GPU when one is present (skipped otherwise).
//
//===----------------------------------------------------------------------===//

#include "CApi.h"
#include "CudaDevice.h"
#include "FakeCuda.h"
#include "Session.h"
#include "TestSupport.h"

#include "sieve/runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <dlfcn.h>

using namespace sieve::rt;
using namespace sieve::test;
using namespace sieve::cuda;

namespace {
class CudaTest : public ::testing::Test {
protected:
  void SetUp() override {
    resetFakeCuda();
    fakeCuda().emulatorLibrary = getToyBundle() + "/kernels.emu.so";
    api = makeFakeCudaApi();
  }

  void TearDown() override {
    // Whatever the test did, every handle is closed by now: the fake GPU
    // must be back to empty, and no context left pushed.
    EXPECT_EQ(fakeCuda().contextDepth, 0);
    EXPECT_EQ(fakeCuda().primaryContextsRetained, 0);
    EXPECT_TRUE(fakeCuda().allocations.empty());
    EXPECT_EQ(fakeCuda().liveStreams, 0);
    EXPECT_EQ(fakeCuda().liveEvents, 0);
    EXPECT_EQ(fakeCuda().liveModules, 0);
    resetFakeCuda();
  }

  Handle<sieve_device> openDevice(int ordinal = 0) {
    std::shared_ptr<Device> device;
    Status status = openCudaDevice(api, ordinal, device);
    EXPECT_TRUE(status.isOk()) << status.getMessage();
    return Handle<sieve_device>(status.isOk() ? wrapDevice(device) : nullptr);
  }

  Status openDeviceStatus(int ordinal = 0) {
    std::shared_ptr<Device> device;
    return openCudaDevice(api, ordinal, device);
  }

  /// A session for the bundle at `path`; fails the test if it cannot be
  /// created.
  Handle<sieve_session> openSession(sieve_device *device,
                                    const std::string &path,
                                    uint32_t flags = 0) {
    sieve_session *session = nullptr;
    sieve_status status = createSession(device, path, flags, &session);
    EXPECT_EQ(status, SIEVE_OK) << sieve_last_error();
    return Handle<sieve_session>(session);
  }

  static sieve_status createSession(sieve_device *device,
                                    const std::string &path, uint32_t flags,
                                    sieve_session **session) {
    sieve_bundle *raw = nullptr;
    sieve_status status = sieve_bundle_open(path.c_str(), &raw);
    if (status != SIEVE_OK)
      return status;
    Handle<sieve_bundle> bundle(raw);
    return sieve_session_create(bundle.get(), device, flags, session);
  }

  std::shared_ptr<const CudaApi> api;
};

std::string withCubin(const TempDir &dir, const std::string &name) {
  std::string bundle = makeToyVariant(dir, name, [](nlohmann::json &m) {
    m["files"]["cubin"] = "kernels.cubin";
  });
  writeText(bundle + "/kernels.cubin", makeElfHeader(190, 2));
  return bundle;
}
} // namespace

TEST_F(CudaTest, OpensADevice) {
  Handle<sieve_device> device = openDevice();
  ASSERT_TRUE(device);
  EXPECT_EQ(sieve_device_get_kind(device.get()), SIEVE_DEVICE_CUDA);
  EXPECT_STREQ(sieve_device_name(device.get()), "cuda:0 (Fake H200, sm_90)");
  EXPECT_EQ(fakeCuda().primaryContextsRetained, 1);
}

TEST_F(CudaTest, DeviceErrors) {
  fakeCuda().initResult = CUDA_ERROR_NO_DEVICE;
  Status status = openDeviceStatus();
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_UNAVAILABLE);
  EXPECT_EQ(status.getMessage(), "cuda:0: cuInit failed: CUDA_ERROR_NO_DEVICE "
                                 "(no CUDA-capable device is detected)");
  fakeCuda().initResult = CUDA_ERROR_STUB_LIBRARY;
  status = openDeviceStatus();
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_UNAVAILABLE);
  EXPECT_EQ(status.getMessage(),
            "cuda:0: cuInit failed: CUDA_ERROR_STUB_LIBRARY");
  fakeCuda().initResult = CUDA_SUCCESS;
  fakeCuda().deviceCount = 0;
  status = openDeviceStatus();
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_UNAVAILABLE);
  EXPECT_EQ(status.getMessage(), "cuda:0: no CUDA device");
  fakeCuda().deviceCount = 1;
  status = openDeviceStatus(1);
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(status.getMessage(), "cuda:1: there is 1 CUDA device (cuda:0)");
  fakeCuda().deviceCount = 2;
  status = openDeviceStatus(2);
  EXPECT_EQ(status.getMessage(),
            "cuda:2: there are 2 CUDA devices (cuda:0 to cuda:1)");
}

TEST_F(CudaTest, RunsTheToyBundle) {
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session = openSession(device.get(), getToyBundle());
  ASSERT_TRUE(session);
  // sm_80 PTX on an sm_90 device: JIT-compiled.
  EXPECT_STREQ(sieve_session_kernel_source(session.get()), "ptx (JIT)");
  EXPECT_EQ(fakeCuda().imagesLoaded, std::vector<std::string>{"ptx"});
  runToyAndCheck(session.get(), 100);

  const std::vector<FakeLaunch> &launches = fakeCuda().launches;
  ASSERT_EQ(launches.size(), 3u);
  EXPECT_EQ(launches[0].kernel, "add_f32");
  EXPECT_EQ(launches[0].grid[0], 2u);
  EXPECT_EQ(launches[0].block[0], 64u);
  EXPECT_EQ(launches[2].kernel, "gate_f32");
  EXPECT_EQ(launches[2].grid[0], 4u);
  EXPECT_EQ(launches[2].block[0], 32u);
  EXPECT_NE(launches[0].stream, nullptr); // the session's own stream
  EXPECT_FALSE(launches[0].fromGraph);
  // Two inputs, two outputs and the arena of both temporaries, allocated
  // once.
  EXPECT_EQ(fakeCuda().allocationCount, 5);

  sieve_launch_info info;
  ASSERT_SIEVE_OK(sieve_session_get_launch_info(session.get(), 1, &info));
  EXPECT_STREQ(info.kernel, "axpb_f32");
  EXPECT_TRUE(std::isnan(info.milliseconds)); // not asked for
  EXPECT_EQ(info.emulator_work_units, 0u);
  double total = -1;
  ASSERT_SIEVE_OK(sieve_session_get_run_time(session.get(), &total));
  EXPECT_GE(total, 0.0);

  sieve_gate_stats stats;
  ASSERT_SIEVE_OK(sieve_session_get_gate_stats(session.get(), 0, &stats));
  EXPECT_EQ(stats.tokens, 100);
  EXPECT_EQ(stats.active_tokens, 50);

  uint64_t address = 0;
  size_t bytes = 0;
  ASSERT_SIEVE_OK(sieve_session_get_output_device_pointer(session.get(), 0,
                                                          &address, &bytes));
  EXPECT_EQ(bytes, 400u);
  EXPECT_TRUE(fakeCuda().allocations.count(address));

  // The same sizes again: no new allocation, no new upload needed.
  runToyAndCheck(session.get(), 100);
  EXPECT_EQ(fakeCuda().allocationCount, 5);
  // Larger: the buffers grow.
  runToyAndCheck(session.get(), 1000);
  EXPECT_EQ(fakeCuda().allocationCount, 10);
}

TEST_F(CudaTest, LaunchTimings) {
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session =
      openSession(device.get(), getToyBundle(), SIEVE_SESSION_LAUNCH_TIMINGS);
  ASSERT_TRUE(session);
  runToyAndCheck(session.get(), 10);
  for (int64_t l = 0; l < 3; ++l) {
    sieve_launch_info info;
    ASSERT_SIEVE_OK(sieve_session_get_launch_info(session.get(), l, &info));
    EXPECT_GE(info.milliseconds, 0.0) << l;
  }
}

TEST_F(CudaTest, ComputeCapability) {
  fakeCuda().major = 7;
  fakeCuda().minor = 5;
  fakeCuda().deviceName = "Fake T4";
  Handle<sieve_device> device = openDevice();
  sieve_session *session = nullptr;
  EXPECT_EQ(createSession(device.get(), getToyBundle(), 0, &session),
            SIEVE_ERROR_UNSUPPORTED);
  EXPECT_EQ(std::string(sieve_last_error()),
            "sieve_session_create: preparing bundle '" + getToyBundle() +
                "' on cuda:0 (Fake T4, sm_75): the bundle targets sm_80 but "
                "cuda:0 (Fake T4, sm_75) has compute capability 7.5");

  Target sm80, sm90a;
  ASSERT_TRUE(Target::parse("sm_80", sm80));
  ASSERT_TRUE(Target::parse("sm_90a", sm90a));
  EXPECT_TRUE(isCubinCompatible(sm80, 8, 0));
  EXPECT_TRUE(isCubinCompatible(sm80, 8, 6));
  EXPECT_FALSE(isCubinCompatible(sm80, 9, 0));
  EXPECT_TRUE(isPtxCompatible(sm80, 9, 0));
  EXPECT_FALSE(isPtxCompatible(sm80, 7, 5));
  EXPECT_TRUE(isCubinCompatible(sm90a, 9, 0));
  EXPECT_FALSE(isPtxCompatible(sm90a, 10, 0));
  EXPECT_FALSE(isCubinCompatible(sm90a, 9, 1));
}

TEST_F(CudaTest, ArchitectureSpecificTargets) {
  TempDir dir;
  std::string bundle = makeToyVariant(
      dir, "b", [](nlohmann::json &m) { m["target"] = "sm_90a"; });
  std::string ptx = readText(bundle + "/kernels.ptx");
  ptx.replace(ptx.find(".target sm_80"), 13, ".target sm_90a");
  writeText(bundle + "/kernels.ptx", ptx);
  fakeCuda().major = 10;
  Handle<sieve_device> device = openDevice();
  sieve_session *session = nullptr;
  EXPECT_EQ(createSession(device.get(), bundle, 0, &session),
            SIEVE_ERROR_UNSUPPORTED);
  EXPECT_NE(std::string(sieve_last_error())
                .find("the bundle targets sm_90a but cuda:0 (Fake H200, "
                      "sm_100) has compute capability 10.0 (an "
                      "architecture-specific target runs on that exact "
                      "architecture only)"),
            std::string::npos)
      << sieve_last_error();
}

TEST_F(CudaTest, JitErrorsCarryTheLog) {
  fakeCuda().ptxLoadResult = CUDA_ERROR_INVALID_PTX;
  fakeCuda().jitErrorLog =
      "ptxas application ptx input, line 12; error   : Unknown symbol 'foo'\n";
  Handle<sieve_device> device = openDevice();
  sieve_session *session = nullptr;
  EXPECT_EQ(createSession(device.get(), getToyBundle(), 0, &session),
            SIEVE_ERROR_INVALID_BUNDLE);
  EXPECT_EQ(std::string(sieve_last_error()),
            "sieve_session_create: preparing bundle '" + getToyBundle() +
                "' on cuda:0 (Fake H200, sm_90): JIT-compiling 'kernels.ptx' "
                "(sm_80) for cuda:0 (Fake H200, sm_90): cuModuleLoadDataEx "
                "failed: CUDA_ERROR_INVALID_PTX (a PTX JIT compilation "
                "failed): ptxas application ptx input, line 12; error   : "
                "Unknown symbol 'foo'");

  fakeCuda().ptxLoadResult = CUDA_ERROR_UNSUPPORTED_PTX_VERSION;
  fakeCuda().jitErrorLog = "";
  EXPECT_EQ(createSession(device.get(), getToyBundle(), 0, &session),
            SIEVE_ERROR_UNSUPPORTED);
  EXPECT_NE(std::string(sieve_last_error())
                .find("cuModuleLoadDataEx failed: "
                      "CUDA_ERROR_UNSUPPORTED_PTX_VERSION (the driver is older "
                      "than the PTX ISA version; update the driver)"),
            std::string::npos)
      << sieve_last_error();
}

TEST_F(CudaTest, CubinWhenItMatches) {
  TempDir dir;
  std::string bundle = withCubin(dir, "b");
  fakeCuda().cubinPtx = readText(bundle + "/kernels.ptx");
  fakeCuda().minor = 6;
  fakeCuda().major = 8;
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session = openSession(device.get(), bundle);
  ASSERT_TRUE(session);
  EXPECT_STREQ(sieve_session_kernel_source(session.get()), "cubin");
  EXPECT_EQ(fakeCuda().imagesLoaded, std::vector<std::string>{"cubin"});
  runToyAndCheck(session.get(), 70);
}

TEST_F(CudaTest, PtxWhenTheCubinDoesNotMatch) {
  TempDir dir;
  std::string bundle = withCubin(dir, "b");
  fakeCuda().cubinPtx = readText(bundle + "/kernels.ptx");
  {
    // sm_80 cubin, sm_90 device: another major architecture.
    Handle<sieve_device> device = openDevice();
    Handle<sieve_session> session = openSession(device.get(), bundle);
    ASSERT_TRUE(session);
    EXPECT_STREQ(sieve_session_kernel_source(session.get()),
                 "ptx (JIT; the cubin is for sm_80)");
    EXPECT_EQ(fakeCuda().imagesLoaded, std::vector<std::string>{"ptx"});
    runToyAndCheck(session.get(), 3);
  }
  {
    // The driver rejects the cubin: fall back to the PTX.
    fakeCuda().major = 8;
    fakeCuda().imagesLoaded.clear();
    fakeCuda().cubinLoadResult = CUDA_ERROR_NO_BINARY_FOR_GPU;
    Handle<sieve_device> device = openDevice();
    Handle<sieve_session> session = openSession(device.get(), bundle);
    ASSERT_TRUE(session);
    EXPECT_STREQ(sieve_session_kernel_source(session.get()),
                 "ptx (JIT; the cubin was rejected: "
                 "CUDA_ERROR_NO_BINARY_FOR_GPU)");
    EXPECT_EQ(fakeCuda().imagesLoaded,
              (std::vector<std::string>{"cubin", "ptx"}));
  }
  {
    // Any other failure is an error.
    fakeCuda().cubinLoadResult = CUDA_ERROR_OUT_OF_MEMORY;
    Handle<sieve_device> device = openDevice();
    sieve_session *session = nullptr;
    EXPECT_EQ(createSession(device.get(), bundle, 0, &session),
              SIEVE_ERROR_OUT_OF_MEMORY);
    EXPECT_NE(std::string(sieve_last_error())
                  .find("loading 'kernels.cubin': cuModuleLoadDataEx failed: "
                        "CUDA_ERROR_OUT_OF_MEMORY (out of memory)"),
              std::string::npos)
        << sieve_last_error();
  }
}

TEST_F(CudaTest, StaticSharedMemoryMustMatchTheManifest) {
  fakeCuda().kernelStaticShared = 1024;
  Handle<sieve_device> device = openDevice();
  sieve_session *session = nullptr;
  EXPECT_EQ(createSession(device.get(), getToyBundle(), 0, &session),
            SIEVE_ERROR_INVALID_BUNDLE);
  EXPECT_NE(std::string(sieve_last_error())
                .find("kernel 'add_f32' declares 1024 bytes of static shared "
                      "memory, the manifest says 0"),
            std::string::npos)
      << sieve_last_error();
}

TEST_F(CudaTest, DynamicSharedMemoryAbove48KiB) {
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "b", [](nlohmann::json &m) {
    m["launches"][2]["dynamic_shared_bytes"] = "n * 1024";
  });
  fakeCuda().maxSharedOptin = 100 * 1024;
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session = openSession(device.get(), bundle);
  ASSERT_TRUE(session);
  using Set = std::tuple<std::string, int, int>;
  runToyAndCheck(session.get(), 40); // 40 KiB: below the default limit
  EXPECT_TRUE(fakeCuda().attributesSet.empty());
  runToyAndCheck(session.get(), 60); // 60 KiB: the kernel must opt in
  EXPECT_EQ(fakeCuda().attributesSet,
            (std::vector<Set>{{"gate_f32",
                               CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                               61440}}));
  runToyAndCheck(session.get(), 50); // below what was set: nothing to do
  EXPECT_EQ(fakeCuda().attributesSet.size(), 1u);
  EXPECT_EQ(fakeCuda().launches.back().sharedBytes, 51200u);

  // 120 KiB: more than the device has.
  ASSERT_NO_FATAL_FAILURE(bindToyInputs(session.get(), 120));
  std::size_t launched = fakeCuda().launches.size();
  EXPECT_EQ(sieve_session_run(session.get(), nullptr), SIEVE_ERROR_UNSUPPORTED);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_run: launch 2 (sieve.gate at toy.mlir:5:8), "
               "kernel 'gate_f32': needs 0 bytes of static and 122880 of "
               "dynamic shared memory; cuda:0 (Fake H200, sm_90) allows 102400 "
               "per block");
  // Checked before anything was queued.
  EXPECT_EQ(fakeCuda().launches.size(), launched);
}

TEST_F(CudaTest, KernelThreadLimit) {
  fakeCuda().kernelMaxThreads = 32;
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session = openSession(device.get(), getToyBundle());
  ASSERT_TRUE(session);
  ASSERT_NO_FATAL_FAILURE(bindToyInputs(session.get(), 10));
  EXPECT_EQ(sieve_session_run(session.get(), nullptr), SIEVE_ERROR_UNSUPPORTED);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_run: launch 0 (arith.addf at toy.mlir:3:8), "
               "kernel 'add_f32': a block of 64 threads; the kernel runs at "
               "most 32 per block on cuda:0 (Fake H200, sm_90) (registers)");
}

TEST_F(CudaTest, CudaGraphs) {
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session =
      openSession(device.get(), getToyBundle(), SIEVE_SESSION_CUDA_GRAPH);
  ASSERT_TRUE(session);
  runToyAndCheck(session.get(), 100);
  EXPECT_EQ(fakeCuda().graphsInstantiated, 1);
  EXPECT_EQ(fakeCuda().graphLaunches, 1);
  ASSERT_EQ(fakeCuda().launches.size(), 3u);
  EXPECT_TRUE(fakeCuda().launches[0].fromGraph);
  // Same sizes and buffers: the graph is replayed.
  runToyAndCheck(session.get(), 100);
  EXPECT_EQ(fakeCuda().graphsInstantiated, 1);
  EXPECT_EQ(fakeCuda().graphLaunches, 2);
  // New sizes change the launches: captured again.
  runToyAndCheck(session.get(), 50);
  EXPECT_EQ(fakeCuda().graphsInstantiated, 2);
  sieve_launch_info info;
  ASSERT_SIEVE_OK(sieve_session_get_launch_info(session.get(), 0, &info));
  EXPECT_TRUE(std::isnan(info.milliseconds));

  sieve_session *both = nullptr;
  EXPECT_EQ(
      createSession(device.get(), getToyBundle(),
                    SIEVE_SESSION_CUDA_GRAPH | SIEVE_SESSION_SYNC_EACH_LAUNCH,
                    &both),
      SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sieve_last_error())
                .find("SIEVE_SESSION_CUDA_GRAPH and "
                      "SIEVE_SESSION_SYNC_EACH_LAUNCH exclude each other"),
            std::string::npos);
}

TEST_F(CudaTest, DeviceInputs) {
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session = openSession(device.get(), getToyBundle());
  ASSERT_TRUE(session);
  const int64_t n = 100;
  ToyInputs inputs(n);
  CUdeviceptr a = 0, b = 0;
  ASSERT_EQ(api->cuMemAlloc(&a, 4 * n), CUDA_SUCCESS);
  ASSERT_EQ(api->cuMemAlloc(&b, 4 * n + 16), CUDA_SUCCESS);
  ASSERT_EQ(api->cuMemcpyHtoDAsync(a, inputs.a.data(), 4 * n, nullptr),
            CUDA_SUCCESS);
  // b starts 4 bytes into its allocation: not aligned, so it is copied.
  ASSERT_EQ(api->cuMemcpyHtoDAsync(b + 4, inputs.b.data(), 4 * n, nullptr),
            CUDA_SUCCESS);
  int64_t shape[1] = {n};
  ASSERT_SIEVE_OK(sieve_session_bind_input_device(
      session.get(), 0, SIEVE_DTYPE_F32, 1, shape, nullptr, a));
  ASSERT_SIEVE_OK(sieve_session_bind_input_device(
      session.get(), 1, SIEVE_DTYPE_F32, 1, shape, nullptr, b + 4));
  int before = fakeCuda().allocationCount;
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  // a is used in place; b, the outputs and the arena are allocated.
  EXPECT_EQ(fakeCuda().allocationCount - before, 4);
  std::vector<float> y(n);
  ASSERT_SIEVE_OK(sieve_session_read_output(session.get(), 0, y.data(), 4 * n));
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(y[i], 2.0f * (inputs.a[i] + inputs.b[i]) + 1.0f) << i;

  // The caller changes its memory; the next run reads it again.
  std::vector<float> ones(n, 1.0f);
  ASSERT_EQ(api->cuMemcpyHtoDAsync(b + 4, ones.data(), 4 * n, nullptr),
            CUDA_SUCCESS);
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  ASSERT_SIEVE_OK(sieve_session_read_output(session.get(), 0, y.data(), 4 * n));
  EXPECT_EQ(y[3], 2.0f * (inputs.a[3] + 1.0f) + 1.0f);

  // Not device memory, past the allocation, strided.
  std::vector<float> host(n);
  EXPECT_EQ(sieve_session_bind_input_device(
                session.get(), 0, SIEVE_DTYPE_F32, 1, shape, nullptr,
                reinterpret_cast<uintptr_t>(host.data())),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sieve_last_error())
                .find("is not CUDA memory (cuPointerGetAttribute failed: "
                      "CUDA_ERROR_INVALID_VALUE)"),
            std::string::npos)
      << sieve_last_error();
  EXPECT_EQ(sieve_session_bind_input_device(session.get(), 1, SIEVE_DTYPE_F32,
                                            1, shape, nullptr, b + 20),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sieve_last_error())
                .find(": the tensor's 400 bytes extend past its allocation of "
                      "416 bytes"),
            std::string::npos)
      << sieve_last_error();
  session.reset();
  EXPECT_EQ(api->cuMemFree(a), CUDA_SUCCESS);
  EXPECT_EQ(api->cuMemFree(b), CUDA_SUCCESS);
}

TEST_F(CudaTest, StridedDeviceInputs) {
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session = openSession(device.get(), getToyBundle());
  ASSERT_TRUE(session);
  // Every other element of 2n floats: a = even positions of `pairs`, b the
  // odd ones.
  const int64_t n = 50;
  ToyInputs inputs(n);
  std::vector<float> pairs;
  for (int64_t i = 0; i < n; ++i)
    pairs.insert(pairs.end(), {inputs.a[i], inputs.b[i]});
  CUdeviceptr memory = 0;
  ASSERT_EQ(api->cuMemAlloc(&memory, 8 * n), CUDA_SUCCESS);
  ASSERT_EQ(api->cuMemcpyHtoDAsync(memory, pairs.data(), 8 * n, nullptr),
            CUDA_SUCCESS);
  int64_t shape[1] = {n}, strides[1] = {2};
  ASSERT_SIEVE_OK(sieve_session_bind_input_device(
      session.get(), 0, SIEVE_DTYPE_F32, 1, shape, strides, memory));
  ASSERT_SIEVE_OK(sieve_session_bind_input_device(
      session.get(), 1, SIEVE_DTYPE_F32, 1, shape, strides, memory + 4));
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  // One 2-D copy per input: n rows of one float, 8 bytes apart.
  EXPECT_EQ(fakeCuda().memcpy2DCount, 2);
  std::vector<float> y(n);
  ASSERT_SIEVE_OK(sieve_session_read_output(session.get(), 0, y.data(), 4 * n));
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(y[i], 2.0f * (inputs.a[i] + inputs.b[i]) + 1.0f) << i;

  // The view's last element must lie in the allocation: the span of 50
  // elements 2 apart from memory + 8 is 4 * 99 bytes, past 8 * 50 - 8.
  EXPECT_EQ(sieve_session_bind_input_device(session.get(), 1, SIEVE_DTYPE_F32,
                                            1, shape, strides, memory + 8),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sieve_last_error())
                .find(": the tensor's 396 bytes extend past its allocation of "
                      "400 bytes"),
            std::string::npos)
      << sieve_last_error();
  int64_t negative[1] = {-1};
  EXPECT_EQ(sieve_session_bind_input_device(session.get(), 1, SIEVE_DTYPE_F32,
                                            1, shape, negative, memory + 4),
            SIEVE_ERROR_UNSUPPORTED);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_bind_input_device: input 'b' (#1): dimension 0 "
               "has stride -1; negative strides are not supported");
  session.reset();
  EXPECT_EQ(api->cuMemFree(memory), CUDA_SUCCESS);
}

TEST_F(CudaTest, DeviceOutputs) {
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session = openSession(device.get(), getToyBundle());
  ASSERT_TRUE(session);
  const int64_t n = 64;
  ToyInputs inputs(n);
  CUdeviceptr y = 0, mask = 0;
  ASSERT_EQ(api->cuMemAlloc(&y, 4 * n), CUDA_SUCCESS);
  ASSERT_EQ(api->cuMemAlloc(&mask, n + 8), CUDA_SUCCESS);
  // y: aligned and exactly its buffer, written in place; mask: 4 bytes into
  // its allocation, copied there after the launches.
  ASSERT_SIEVE_OK(sieve_session_bind_output_device(session.get(), 0, y, 4 * n));
  ASSERT_SIEVE_OK(
      sieve_session_bind_output_device(session.get(), 1, mask + 4, n + 4));
  ASSERT_NO_FATAL_FAILURE(bindToyInputs(session.get(), n));
  int before = fakeCuda().allocationCount;
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  // a, b, the arena (sum and score) and mask; not y.
  EXPECT_EQ(fakeCuda().allocationCount - before, 4);
  std::vector<float> yHost(n);
  std::vector<uint8_t> maskHost(n);
  ASSERT_EQ(api->cuMemcpyDtoHAsync(yHost.data(), y, 4 * n, nullptr),
            CUDA_SUCCESS);
  ASSERT_EQ(api->cuMemcpyDtoHAsync(maskHost.data(), mask + 4, n, nullptr),
            CUDA_SUCCESS);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(yHost[i], 2.0f * (inputs.a[i] + inputs.b[i]) + 1.0f) << i;
    ASSERT_EQ(maskHost[i], inputs.a[i] > 0 ? 1 : 0) << i;
  }
  // Reading still works, and so do the gate statistics.
  uint64_t pointer = 0;
  size_t bytes = 0;
  ASSERT_SIEVE_OK(
      sieve_session_get_output_device_pointer(session.get(), 0, &pointer,
                                              &bytes));
  EXPECT_EQ(pointer, y);
  std::vector<uint8_t> read(n);
  ASSERT_SIEVE_OK(sieve_session_read_output(session.get(), 1, read.data(), n));
  EXPECT_EQ(read, maskHost);
  sieve_gate_stats stats;
  ASSERT_SIEVE_OK(sieve_session_get_gate_stats(session.get(), 0, &stats));
  EXPECT_EQ(stats.tokens, n);

  // Larger inputs no longer fit the bound memory: the run says which output.
  ASSERT_NO_FATAL_FAILURE(bindToyInputs(session.get(), n + 1));
  EXPECT_EQ(sieve_session_run(session.get(), nullptr),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_run: output 'y' (#0) is f32[65], 260 bytes, but "
               "the device memory bound to it holds 256");
  // Unbound, the session's own memory serves again.
  ASSERT_SIEVE_OK(sieve_session_bind_output_device(session.get(), 0, 0, 0));
  ASSERT_SIEVE_OK(sieve_session_bind_output_device(session.get(), 1, 0, 0));
  runToyAndCheck(session.get(), n + 1);

  // Memory that is not the device's.
  std::vector<float> host(n);
  EXPECT_EQ(sieve_session_bind_output_device(
                session.get(), 0, reinterpret_cast<uintptr_t>(host.data()),
                4 * n),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sieve_last_error())
                .find("sieve_session_bind_output_device: output 'y' (#0)"),
            std::string::npos)
      << sieve_last_error();
  session.reset();
  EXPECT_EQ(api->cuMemFree(y), CUDA_SUCCESS);
  EXPECT_EQ(api->cuMemFree(mask), CUDA_SUCCESS);
}

TEST(StridedCopyPlanTest, Layouts) {
  StridedCopyPlan plan;
  // The [B, H, S, D] view of a [B, S, H, D] tensor: one copy per head of S
  // rows of D elements, H * D apart.
  const int64_t B = 1, S = 5, H = 3, D = 4;
  std::vector<int64_t> shape = {B, H, S, D};
  int64_t strides[4] = {S * H * D, D, H * D, 1};
  ASSERT_TRUE(planStridedCopy(shape, strides, 2, 1 << 16, plan).isOk());
  EXPECT_EQ(plan.width, 2u * D);
  EXPECT_EQ(plan.height, static_cast<uint64_t>(S));
  EXPECT_EQ(plan.pitch, 2u * H * D);
  EXPECT_EQ(plan.sourceOffsets, (std::vector<uint64_t>{0, 8, 16}));
  EXPECT_EQ(plan.span, 2u * S * H * D);

  // Contiguous dimensions merge: [2, 3, 4] inside rows of 20 elements is
  // one copy of 2 rows of 12 elements.
  shape = {2, 3, 4};
  int64_t padded[3] = {20, 4, 1};
  ASSERT_TRUE(planStridedCopy(shape, padded, 4, 1 << 16, plan).isOk());
  EXPECT_EQ(plan.width, 48u);
  EXPECT_EQ(plan.height, 2u);
  EXPECT_EQ(plan.pitch, 80u);
  EXPECT_EQ(plan.sourceOffsets, (std::vector<uint64_t>{0}));

  // A broadcast dimension (stride 0) repeats its source.
  shape = {3, 4};
  int64_t broadcast[2] = {0, 1};
  ASSERT_TRUE(planStridedCopy(shape, broadcast, 4, 1 << 16, plan).isOk());
  EXPECT_EQ(plan.width, 16u);
  EXPECT_EQ(plan.height, 1u);
  EXPECT_EQ(plan.sourceOffsets, (std::vector<uint64_t>{0, 0, 0}));
  EXPECT_EQ(plan.span, 16u);

  // A transposed matrix: single elements, one copy per output row.
  shape = {3, 2};
  int64_t transposed[2] = {1, 3};
  ASSERT_TRUE(planStridedCopy(shape, transposed, 4, 1 << 16, plan).isOk());
  EXPECT_EQ(plan.width, 4u);
  EXPECT_EQ(plan.height, 2u);
  EXPECT_EQ(plan.pitch, 12u);
  EXPECT_EQ(plan.sourceOffsets, (std::vector<uint64_t>{0, 4, 8}));
  Status tooMany = planStridedCopy(shape, transposed, 4, 2, plan);
  EXPECT_EQ(tooMany.getCode(), SIEVE_ERROR_UNSUPPORTED);
  EXPECT_EQ(tooMany.getMessage(), "its layout takes 3 strided copies (at "
                                  "most 2); pass a contiguous tensor");

  // Empty: nothing to copy.
  shape = {0, 4};
  ASSERT_TRUE(planStridedCopy(shape, broadcast, 4, 1 << 16, plan).isOk());
  EXPECT_TRUE(plan.sourceOffsets.empty());
}

TEST_F(CudaTest, ReusedLaunchesNeedHostInputs) {
  // Launch 0 (sum = a + b, a temporary) says that its result depends on a
  // and b alone.
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "reuse", [](nlohmann::json &m) {
    m["launches"][0]["reuse"] = {"a", "b"};
    // What a reused launch writes is kept across runs: `sum` needs arena
    // bytes of its own.
    m["buffers"][4]["offset"] = "ceildiv(4*n, 256) * 256";
    m["arena_bytes"] = "2 * ceildiv(4*n, 256) * 256";
  });
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session = openSession(device.get(), bundle);
  ASSERT_TRUE(session);
  const int64_t n = 100;
  runToyAndCheck(session.get(), n);
  std::size_t launches = fakeCuda().launches.size();
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  EXPECT_EQ(fakeCuda().launches.size(), launches + 2);
  std::vector<float> y(n);
  ToyInputs inputs(n);
  ASSERT_SIEVE_OK(sieve_session_read_output(session.get(), 0, y.data(), 4 * n));
  EXPECT_EQ(y[5], 2.0f * (inputs.a[5] + inputs.b[5]) + 1.0f);

  // Device memory may change between runs without a new binding: a launch
  // that reads a device input runs every time.
  CUdeviceptr a = 0;
  ASSERT_EQ(api->cuMemAlloc(&a, 4 * n), CUDA_SUCCESS);
  ASSERT_EQ(api->cuMemcpyHtoDAsync(a, inputs.a.data(), 4 * n, nullptr),
            CUDA_SUCCESS);
  int64_t shape[1] = {n};
  ASSERT_SIEVE_OK(sieve_session_bind_input_device(
      session.get(), 0, SIEVE_DTYPE_F32, 1, shape, nullptr, a));
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  std::vector<float> ones(n, 1.0f);
  ASSERT_EQ(api->cuMemcpyHtoDAsync(a, ones.data(), 4 * n, nullptr),
            CUDA_SUCCESS);
  launches = fakeCuda().launches.size();
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  EXPECT_EQ(fakeCuda().launches.size(), launches + 3);
  ASSERT_SIEVE_OK(sieve_session_read_output(session.get(), 0, y.data(), 4 * n));
  EXPECT_EQ(y[5], 2.0f * (1.0f + inputs.b[5]) + 1.0f);
  session.reset();
  EXPECT_EQ(api->cuMemFree(a), CUDA_SUCCESS);
}

// A strided input takes device memory with any strides: in place when it is
// 16-byte aligned, else the bytes its view spans are copied; it is never
// packed.
TEST_F(CudaTest, StridedInputKeepsLayout) {
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session = openSession(device.get(), getStridedBundle());
  ASSERT_TRUE(session);
  // x is the transpose of a 3 x 5 row-major matrix m: x[i][j] = m[j][i].
  const int64_t rows = 5, cols = 3;
  std::vector<float> m(rows * cols);
  for (std::size_t i = 0; i < m.size(); ++i)
    m[i] = static_cast<float>(i) + 0.5f;
  CUdeviceptr memory = 0;
  ASSERT_EQ(api->cuMemAlloc(&memory, 4 * m.size() + 64), CUDA_SUCCESS);
  int64_t shape[2] = {rows, cols}, strides[2] = {1, rows};
  // 16 bytes in: x in place, y allocated; 4 bytes in: x copied into a
  // buffer of its own; 16 again: in place, nothing new.
  for (auto [offset, allocations] :
       {std::pair<uint64_t, int>{16, 1}, {4, 1}, {16, 0}}) {
    ASSERT_EQ(api->cuMemcpyHtoDAsync(memory + offset, m.data(), 4 * m.size(),
                                     nullptr),
              CUDA_SUCCESS);
    ASSERT_SIEVE_OK(sieve_session_bind_input_device(
        session.get(), 0, SIEVE_DTYPE_F32, 2, shape, strides,
        memory + offset));
    int before = fakeCuda().allocationCount;
    ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
    EXPECT_EQ(fakeCuda().allocationCount - before, allocations) << offset;
    std::vector<float> y(rows * cols);
    ASSERT_SIEVE_OK(
        sieve_session_read_output(session.get(), 0, y.data(), 4 * y.size()));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        ASSERT_EQ(y[i * cols + j], m[j * rows + i]) << i << " " << j;
  }
  int64_t negative[2] = {1, -5};
  EXPECT_EQ(sieve_session_bind_input_device(session.get(), 0, SIEVE_DTYPE_F32,
                                            2, shape, negative, memory),
            SIEVE_ERROR_UNSUPPORTED);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_bind_input_device: input 'x' (#0): stride -5 of "
               "dimension 1 is negative; strided inputs take strides >= 0");
  // The view's span must lie in the allocation.
  int64_t wide[2] = {1, 100};
  EXPECT_EQ(sieve_session_bind_input_device(session.get(), 0, SIEVE_DTYPE_F32,
                                            2, shape, wide, memory),
            SIEVE_ERROR_INVALID_ARGUMENT);
  session.reset();
  EXPECT_EQ(api->cuMemFree(memory), CUDA_SUCCESS);
}

TEST_F(CudaTest, CallerStream) {
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session = openSession(device.get(), getToyBundle());
  ASSERT_TRUE(session);
  CUstream stream = nullptr;
  ASSERT_EQ(api->cuStreamCreate(&stream, 0), CUDA_SUCCESS);
  runToyAndCheck(session.get(), 20, stream);
  ASSERT_EQ(fakeCuda().launches.size(), 3u);
  for (const FakeLaunch &launch : fakeCuda().launches)
    EXPECT_EQ(launch.stream, stream);
  session.reset();
  EXPECT_EQ(api->cuStreamDestroy(stream), CUDA_SUCCESS);
}

TEST_F(CudaTest, AsynchronousErrors) {
  Handle<sieve_device> device = openDevice();
  {
    Handle<sieve_session> session = openSession(device.get(), getToyBundle());
    ASSERT_TRUE(session);
    fakeCuda().eventSynchronizeResult = CUDA_ERROR_ILLEGAL_ADDRESS;
    ASSERT_NO_FATAL_FAILURE(bindToyInputs(session.get(), 10));
    EXPECT_EQ(sieve_session_run(session.get(), nullptr), SIEVE_ERROR_DEVICE);
    EXPECT_STREQ(sieve_last_error(),
                 "sieve_session_run: running the schedule (a kernel failed "
                 "asynchronously; SIEVE_SESSION_SYNC_EACH_LAUNCH names the "
                 "launch): cuEventSynchronize failed: "
                 "CUDA_ERROR_ILLEGAL_ADDRESS (an illegal memory access was "
                 "encountered)");
    fakeCuda().eventSynchronizeResult = CUDA_SUCCESS;
    std::vector<float> y(10);
    EXPECT_EQ(sieve_session_read_output(session.get(), 0, y.data(), 40),
              SIEVE_ERROR_FAILED_PRECONDITION);
  }
  {
    Handle<sieve_session> session = openSession(device.get(), getToyBundle(),
                                                SIEVE_SESSION_SYNC_EACH_LAUNCH);
    ASSERT_TRUE(session);
    ASSERT_NO_FATAL_FAILURE(bindToyInputs(session.get(), 10));
    fakeCuda().streamSynchronizeResult = CUDA_ERROR_ILLEGAL_ADDRESS;
    EXPECT_EQ(sieve_session_run(session.get(), nullptr), SIEVE_ERROR_DEVICE);
    EXPECT_STREQ(sieve_last_error(),
                 "sieve_session_run: launch 0 (arith.addf at toy.mlir:3:8), "
                 "kernel 'add_f32': cuStreamSynchronize failed: "
                 "CUDA_ERROR_ILLEGAL_ADDRESS (an illegal memory access was "
                 "encountered)");
    fakeCuda().streamSynchronizeResult = CUDA_SUCCESS;
  }
}

TEST_F(CudaTest, LaunchFailuresNameTheLaunch) {
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "b", [](nlohmann::json &m) {
    m["launches"][1]["args"][4] = {{"i64", "n + 1"}};
  });
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session = openSession(device.get(), bundle);
  ASSERT_TRUE(session);
  ASSERT_NO_FATAL_FAILURE(bindToyInputs(session.get(), 10));
  EXPECT_EQ(sieve_session_run(session.get(), nullptr), SIEVE_ERROR_DEVICE);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_run: launch 1 (linalg.generic at toy.mlir:4:8), "
               "kernel 'axpb_f32': cuLaunchKernel failed: "
               "CUDA_ERROR_LAUNCH_FAILED");
}

namespace {
/// What the fake encoded into a slot (FakeCudaState::tensorMapEncodes).
struct FakeSlot {
  uint64_t magic = 0, encode = 0, address = 0;
  bool restZero = true;
};

FakeSlot readFakeSlot(sieve_session *session) {
  uint8_t slot[SIEVE_TENSOR_MAP_SLOT_BYTES];
  FakeSlot result;
  EXPECT_SIEVE_OK(sieve_session_read_output(session, 2, slot, sizeof(slot)));
  std::memcpy(&result.magic, slot, 8);
  std::memcpy(&result.encode, slot + 8, 8);
  std::memcpy(&result.address, slot + 16, 8);
  // The CUtensorMap's 128 bytes, then zeros.
  for (std::size_t i = 128; i < sizeof(slot); ++i)
    result.restZero = result.restZero && slot[i] == 0;
  return result;
}

/// The index of the first event `prefix` starts, or -1.
int findEvent(const std::vector<std::string> &events, const std::string &prefix,
              std::size_t from = 0) {
  for (std::size_t i = from; i < events.size(); ++i)
    if (events[i].rfind(prefix, 0) == 0)
      return static_cast<int>(i);
  return -1;
}
} // namespace

TEST_F(CudaTest, TensorMapsAreEncodedBeforeTheLaunches) {
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "b", [](nlohmann::json &m) {
    addTensorMapProbe(m, getToyTensorMap());
  });
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session = openSession(device.get(), bundle);
  ASSERT_TRUE(session);
  // One slot, allocated with the session.
  EXPECT_EQ(fakeCuda().allocationCount, 1);
  // Input a in device memory of its own, used in place: the map's address
  // is known.
  const int64_t n = 512;
  ToyInputs inputs(n);
  CUdeviceptr a = 0;
  ASSERT_EQ(api->cuMemAlloc(&a, 4 * n), CUDA_SUCCESS);
  ASSERT_EQ(api->cuMemcpyHtoDAsync(a, inputs.a.data(), 4 * n, nullptr),
            CUDA_SUCCESS);
  int64_t shape[1] = {n};
  ASSERT_SIEVE_OK(sieve_session_bind_input_device(
      session.get(), 0, SIEVE_DTYPE_F32, 1, shape, nullptr, a));
  ASSERT_SIEVE_OK(sieve_session_bind_input_host(
      session.get(), 1, SIEVE_DTYPE_F32, 1, shape, nullptr, inputs.b.data()));
  fakeCuda().events.clear();
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));

  ASSERT_EQ(fakeCuda().tensorMapEncodes.size(), 1u);
  const FakeTensorMapEncode &encode = fakeCuda().tensorMapEncodes[0];
  EXPECT_EQ(encode.dataType, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16);
  EXPECT_EQ(encode.rank, 4u);
  EXPECT_EQ(encode.address, a + 2 * n); // bf16 element n
  EXPECT_EQ(encode.dims, (std::vector<uint64_t>{64, 2, 2, 2}));
  EXPECT_EQ(encode.strides, (std::vector<uint64_t>{128, 256, 512}));
  EXPECT_EQ(encode.box, (std::vector<uint32_t>{64, 2, 1, 1}));
  EXPECT_EQ(encode.elementStrides, (std::vector<uint32_t>{1, 1, 1, 1}));
  EXPECT_EQ(encode.interleave, CU_TENSOR_MAP_INTERLEAVE_NONE);
  EXPECT_EQ(encode.swizzle, CU_TENSOR_MAP_SWIZZLE_128B);
  EXPECT_EQ(encode.l2Promotion, CU_TENSOR_MAP_L2_PROMOTION_L2_128B);
  EXPECT_EQ(encode.oobFill, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  // The slot (256 bytes) is uploaded once, before the first launch.
  const std::vector<std::string> &events = fakeCuda().events;
  int upload = findEvent(events, "upload 256");
  ASSERT_GE(upload, 0);
  EXPECT_LT(upload, findEvent(events, "launch "));
  EXPECT_EQ(findEvent(events, "upload 256", upload + 1), -1);
  FakeSlot slot = readFakeSlot(session.get());
  EXPECT_EQ(slot.magic, kFakeTensorMapMagic);
  EXPECT_EQ(slot.encode, 0u);
  EXPECT_EQ(slot.address, a + 2 * n);
  EXPECT_TRUE(slot.restZero);

  // The same map again: neither encoded nor uploaded.
  fakeCuda().events.clear();
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  EXPECT_EQ(fakeCuda().tensorMapEncodes.size(), 1u);
  EXPECT_EQ(findEvent(fakeCuda().events, "upload 256"), -1);
  EXPECT_GE(findEvent(fakeCuda().events, "launch read_tensor_map"), 0);
  // New sizes: a new map, in the same slot.
  ASSERT_NO_FATAL_FAILURE(runToyAndCheck(session.get(), 2 * n));
  ASSERT_EQ(fakeCuda().tensorMapEncodes.size(), 2u);
  EXPECT_EQ(fakeCuda().tensorMapEncodes[1].dims,
            (std::vector<uint64_t>{64, 4, 2, 2}));
  EXPECT_EQ(readFakeSlot(session.get()).encode, 1u);

  // The driver's errors name the argument.
  fakeCuda().tensorMapEncodeResult = CUDA_ERROR_INVALID_VALUE;
  ASSERT_NO_FATAL_FAILURE(bindToyInputs(session.get(), n));
  EXPECT_EQ(sieve_session_run(session.get(), nullptr), SIEVE_ERROR_DEVICE);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_run: launch 3 (tma probe at toy.mlir:6:8), "
               "kernel 'read_tensor_map': argument 0 (tensor map of buffer "
               "'a'): cuTensorMapEncodeTiled failed: CUDA_ERROR_INVALID_VALUE");
  fakeCuda().tensorMapEncodeResult = CUDA_SUCCESS;
  ASSERT_NO_FATAL_FAILURE(runToyAndCheck(session.get(), n));
  EXPECT_EQ(readFakeSlot(session.get()).encode, 2u);
  session.reset();
  EXPECT_EQ(api->cuMemFree(a), CUDA_SUCCESS);
}

// A captured graph launches with the slots' addresses; their contents are
// uploaded ahead of each replay.
TEST_F(CudaTest, TensorMapsInCudaGraphs) {
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "b", [](nlohmann::json &m) {
    addTensorMapProbe(m, getToyTensorMap());
    // The probe alone: its launch stays the same whatever n is.
    nlohmann::json probe = m["launches"][3];
    m["launches"] = nlohmann::json::array();
    m["launches"].push_back(probe);
    m["gates"] = nlohmann::json::array();
  });
  Handle<sieve_device> device = openDevice();
  Handle<sieve_session> session =
      openSession(device.get(), bundle, SIEVE_SESSION_CUDA_GRAPH);
  ASSERT_TRUE(session);
  for (int64_t n : {512, 1024, 1024, 256}) {
    ASSERT_NO_FATAL_FAILURE(bindToyInputs(session.get(), n));
    fakeCuda().events.clear();
    ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
    const std::vector<FakeTensorMapEncode> &encodes =
        fakeCuda().tensorMapEncodes;
    ASSERT_FALSE(encodes.empty());
    EXPECT_EQ(encodes.back().dims[1], static_cast<uint64_t>(n / 256)) << n;
    FakeSlot slot = readFakeSlot(session.get());
    EXPECT_EQ(slot.encode, encodes.size() - 1) << n;
    EXPECT_EQ(slot.address, encodes.back().address) << n;
    int upload = findEvent(fakeCuda().events, "upload 256");
    if (upload >= 0) {
      EXPECT_LT(upload, findEvent(fakeCuda().events, "launch ")) << n;
    }
  }
  // Rebinding a (same sizes) does not change the map: three encodes.
  EXPECT_EQ(fakeCuda().tensorMapEncodes.size(), 3u);
  EXPECT_EQ(fakeCuda().graphsInstantiated, 1);
  EXPECT_EQ(fakeCuda().graphLaunches, 4);
}

// cuTensorMapEncodeTiled is CUDA 12.0: an older driver runs bundles without
// tensor maps and rejects the others when the session is created.
TEST_F(CudaTest, TensorMapsNeedCuda12) {
  fakeCuda().lacksTensorMaps = true;
  api = makeFakeCudaApi();
  EXPECT_EQ(api->cuTensorMapEncodeTiled, nullptr);
  Handle<sieve_device> device = openDevice();
  {
    Handle<sieve_session> session = openSession(device.get(), getToyBundle());
    ASSERT_TRUE(session);
    runToyAndCheck(session.get(), 100);
  }
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "b", [](nlohmann::json &m) {
    addTensorMapProbe(m, getToyTensorMap());
  });
  sieve_session *session = nullptr;
  EXPECT_EQ(createSession(device.get(), bundle, 0, &session),
            SIEVE_ERROR_UNSUPPORTED);
  EXPECT_EQ(session, nullptr);
  EXPECT_NE(std::string(sieve_last_error())
                .find("the bundle passes tensor maps to its kernels, which "
                      "needs cuTensorMapEncodeTiled (CUDA 12.0); this CUDA "
                      "driver lacks it (update the driver)"),
            std::string::npos)
      << sieve_last_error();
}

//===----------------------------------------------------------------------===//
// The real driver
//===----------------------------------------------------------------------===//

TEST(CudaDriverTest, MissingLibraryIsUnavailable) {
  CudaApi api;
  Status status = loadCudaApi("libsieve-no-such-driver.so.1", api);
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_UNAVAILABLE);
  EXPECT_EQ(status.getMessage(),
            "no CUDA driver (libsieve-no-such-driver.so.1 not found)");
  EXPECT_EQ(api.cuInit, nullptr);
}

TEST(CudaDriverTest, NoDriverOnThisMachine) {
  void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (driver) {
    dlclose(driver);
    GTEST_SKIP() << "this machine has a CUDA driver";
  }
  for (const char *spec : {"cuda", "cuda:3"}) {
    sieve_device *device = reinterpret_cast<sieve_device *>(1);
    EXPECT_EQ(sieve_device_open(spec, nullptr, &device),
              SIEVE_ERROR_UNAVAILABLE);
    EXPECT_EQ(device, nullptr);
    EXPECT_STREQ(sieve_last_error(),
                 "sieve_device_open: no CUDA driver (libcuda.so.1 not found)");
  }
}

#ifdef SIEVE_TEST_CUDA_STUB
// The toolkit's stub libcuda.so exports the whole driver API but fails
// every call: loading it checks every exported name of CudaSymbols.def
// against a real driver library.
TEST(CudaDriverTest, StubLibrary) {
  auto api = std::make_shared<CudaApi>();
  Status status = loadCudaApi(SIEVE_TEST_CUDA_STUB, *api);
  ASSERT_TRUE(status.isOk()) << status.getMessage();
  std::shared_ptr<Device> device;
  status = openCudaDevice(api, 0, device);
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_UNAVAILABLE);
  EXPECT_EQ(status.getMessage().rfind("cuda:0: cuInit failed: ", 0), 0u)
      << status.getMessage();
}
#endif

TEST(CudaDriverTest, ToyBundleOnARealGpu) {
  sieve_device *raw = nullptr;
  if (sieve_device_open("cuda", nullptr, &raw) != SIEVE_OK)
    GTEST_SKIP() << "no CUDA device: " << sieve_last_error();
  Handle<sieve_device> device(raw);
  for (uint32_t flags : {0u, unsigned(SIEVE_SESSION_LAUNCH_TIMINGS),
                         unsigned(SIEVE_SESSION_CUDA_GRAPH)}) {
    sieve_bundle *bundle = nullptr;
    ASSERT_SIEVE_OK(sieve_bundle_open(getToyBundle().c_str(), &bundle));
    Handle<sieve_bundle> owned(bundle);
    sieve_session *session = nullptr;
    ASSERT_SIEVE_OK(
        sieve_session_create(bundle, device.get(), flags, &session));
    Handle<sieve_session> owner(session);
    for (int64_t n : {1, 100, 100, 4097})
      runToyAndCheck(session, n);
    sieve_launch_info info;
    ASSERT_SIEVE_OK(sieve_session_get_launch_info(session, 2, &info));
    if (flags == SIEVE_SESSION_LAUNCH_TIMINGS) {
      EXPECT_GE(info.milliseconds, 0.0);
    }
  }
}
