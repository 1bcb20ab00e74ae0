//===- EmulatorTest.cpp - Bundles on the emulator, through the C API ------===//
//
// The whole path load -> bind -> run -> read with the hand-made toy bundle,
// on the SIMT emulator (SieveEmulator when built, otherwise the fake
// launcher), and the errors a caller can run into on the way.
//
//===----------------------------------------------------------------------===//

#include "EmulatorDevice.h"
#include "TestSupport.h"

#include "sieve/emulator.h"
#include "sieve/runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

using namespace sieve::test;

namespace {
using BundlePtr = Handle<sieve_bundle>;
using DevicePtr = Handle<sieve_device>;
using SessionPtr = Handle<sieve_session>;

class EmulatorTest : public ::testing::Test {
protected:
  void SetUp() override {
    sieve_device *raw = nullptr;
    ASSERT_SIEVE_OK(sieve_device_open("emulator", nullptr, &raw));
    device.reset(raw);
  }

  /// A session on the emulator for the bundle at `path`.
  SessionPtr open(const std::string &path, uint32_t flags = 0) {
    sieve_bundle *rawBundle = nullptr;
    sieve_status status = sieve_bundle_open(path.c_str(), &rawBundle);
    EXPECT_EQ(status, SIEVE_OK) << sieve_last_error();
    BundlePtr bundle(rawBundle);
    sieve_session *session = nullptr;
    if (bundle) {
      status =
          sieve_session_create(bundle.get(), device.get(), flags, &session);
      EXPECT_EQ(status, SIEVE_OK) << sieve_last_error();
    }
    // The session keeps the bundle alive.
    return SessionPtr(session);
  }

  static sieve_status bind(sieve_session *session, int64_t index,
                           const std::vector<float> &data,
                           const int64_t *strides = nullptr,
                           int64_t size = -1) {
    int64_t shape[1] = {size >= 0 ? size : static_cast<int64_t>(data.size())};
    return sieve_session_bind_input_host(session, index, SIEVE_DTYPE_F32, 1,
                                         shape, strides, data.data());
  }

  static void runAndCheck(sieve_session *session, int64_t n) {
    runToyAndCheck(session, n);
  }

  DevicePtr device;
};
} // namespace

TEST_F(EmulatorTest, DeviceDescription) {
  EXPECT_EQ(sieve_device_get_kind(device.get()), SIEVE_DEVICE_EMULATOR);
  EXPECT_STREQ(sieve_device_name(device.get()), "emulator");
}

TEST_F(EmulatorTest, AutoIsTheGpuOrElseTheEmulator) {
  sieve_device *raw = nullptr;
  ASSERT_SIEVE_OK(sieve_device_open("auto", nullptr, &raw));
  DevicePtr automatic(raw);
  sieve_device *cuda = nullptr;
  sieve_status cudaStatus = sieve_device_open("cuda", nullptr, &cuda);
  DevicePtr cudaDevice(cuda);
  if (cudaStatus == SIEVE_OK) {
    EXPECT_EQ(sieve_device_get_kind(automatic.get()), SIEVE_DEVICE_CUDA);
  } else {
    EXPECT_EQ(cudaStatus, SIEVE_ERROR_UNAVAILABLE);
    EXPECT_EQ(sieve_device_get_kind(automatic.get()), SIEVE_DEVICE_EMULATOR);
  }
}

TEST_F(EmulatorTest, RunsTheToyBundle) {
  SessionPtr session = open(getToyBundle());
  ASSERT_TRUE(session);
  EXPECT_STREQ(sieve_session_kernel_source(session.get()), "kernels.emu.so");
  const int64_t n = 100;
  runAndCheck(session.get(), n);

  int64_t shape[4];
  int32_t rank = 0;
  ASSERT_SIEVE_OK(
      sieve_session_get_output_shape(session.get(), 1, shape, 4, &rank));
  ASSERT_EQ(rank, 1);
  EXPECT_EQ(shape[0], n);

  // Per-launch records: sizes evaluated, the emulator's statistics, times.
  struct Expected {
    const char *kernel, *op;
    uint32_t grid, block;
  } expected[] = {{"add_f32", "arith.addf at toy.mlir:3:8", 2, 64},
                  {"axpb_f32", "linalg.generic at toy.mlir:4:8", 2, 64},
                  {"gate_f32", "sieve.gate at toy.mlir:5:8", 4, 32}};
  for (int64_t l = 0; l < 3; ++l) {
    sieve_launch_info info;
    ASSERT_SIEVE_OK(sieve_session_get_launch_info(session.get(), l, &info));
    EXPECT_STREQ(info.kernel, expected[l].kernel);
    EXPECT_STREQ(info.op, expected[l].op);
    EXPECT_EQ(info.grid[0], expected[l].grid);
    EXPECT_EQ(info.grid[1], 1u);
    EXPECT_EQ(info.block[0], expected[l].block);
    EXPECT_FALSE(info.skipped);
    EXPECT_GE(info.milliseconds, 0.0);
    EXPECT_EQ(info.emulator_blocks, expected[l].grid);
    EXPECT_EQ(info.emulator_threads, expected[l].grid * expected[l].block);
    EXPECT_EQ(info.emulator_work_units, static_cast<uint64_t>(n));
  }
  double total = -1;
  ASSERT_SIEVE_OK(sieve_session_get_run_time(session.get(), &total));
  EXPECT_GE(total, 0.0);

  // The output's memory, read in place (a host address on the emulator).
  uint64_t address = 0;
  size_t bytes = 0;
  ASSERT_SIEVE_OK(sieve_session_get_output_device_pointer(session.get(), 0,
                                                          &address, &bytes));
  EXPECT_EQ(bytes, 4u * n);
  EXPECT_EQ(address % 256, 0u);
  ToyInputs inputs(n);
  const float *y = reinterpret_cast<const float *>(address);
  EXPECT_EQ(y[7], 2.0f * (inputs.a[7] + inputs.b[7]) + 1.0f);
}

TEST_F(EmulatorTest, GateStatistics) {
  SessionPtr session = open(getToyBundle());
  ASSERT_TRUE(session);
  const int64_t n = 77;
  runAndCheck(session.get(), n);
  ToyInputs inputs(n);
  int64_t active = 0;
  double entropy = 0;
  for (float a : inputs.a) {
    active += a > 0;
    // The kernel's own arithmetic, so that the check can be tight.
    double p = 1.0f / (1.0f + std::exp(-a));
    if (p > 0 && p < 1)
      entropy += -p * std::log2(p) - (1 - p) * std::log2(1 - p);
  }
  sieve_gate_stats stats;
  ASSERT_SIEVE_OK(sieve_session_get_gate_stats(session.get(), 0, &stats));
  EXPECT_STREQ(stats.op, "sieve.gate at toy.mlir:5:8");
  EXPECT_EQ(stats.tokens, n);
  EXPECT_EQ(stats.active_tokens, active);
  EXPECT_DOUBLE_EQ(stats.active_token_ratio, static_cast<double>(active) / n);
  EXPECT_NEAR(stats.mean_score_entropy_bits, entropy / n, 1e-6);
  EXPECT_EQ(stats.nan_scores, 0);
  EXPECT_EQ(sieve_session_get_gate_stats(session.get(), 1, &stats),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(), "sieve_session_get_gate_stats: gate index 1 "
                                   "is out of range (1 gates)");
}

TEST_F(EmulatorTest, SizesChangeBetweenRuns) {
  SessionPtr session = open(getToyBundle());
  ASSERT_TRUE(session);
  for (int64_t n : {10, 1000, 3, 1000})
    runAndCheck(session.get(), n);
}

TEST_F(EmulatorTest, StaleBindingsAreCheckedAtRunTime) {
  SessionPtr session = open(getToyBundle());
  ASSERT_TRUE(session);
  runAndCheck(session.get(), 10);
  // Rebinding one input for new sizes is fine until the next run.
  std::vector<float> data(20, 1.0f);
  ASSERT_SIEVE_OK(bind(session.get(), 0, data));
  EXPECT_EQ(sieve_session_run(session.get(), nullptr),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_run: input 'a' (#0): dimension 0 is 20, but "
               "symbol n is 10 from input 'b' (#1) dimension 0 (input 'b' (#1) "
               "was bound before the last run; bind it again for the new "
               "sizes)");
  ASSERT_SIEVE_OK(bind(session.get(), 1, data));
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
}

TEST_F(EmulatorTest, StridedHostInputsArePacked) {
  SessionPtr session = open(getToyBundle());
  ASSERT_TRUE(session);
  const int64_t n = 50;
  ToyInputs inputs(n);
  // b as every other element of a larger array, and a reversed.
  std::vector<float> wide(2 * n, -99.0f);
  for (int64_t i = 0; i < n; ++i)
    wide[2 * i] = inputs.b[i];
  int64_t two[1] = {2};
  ASSERT_SIEVE_OK(bind(session.get(), 1, wide, two, n));
  std::vector<float> reversed(inputs.a.rbegin(), inputs.a.rend());
  int64_t shape[1] = {n}, minusOne[1] = {-1};
  ASSERT_SIEVE_OK(sieve_session_bind_input_host(
      session.get(), 0, SIEVE_DTYPE_F32, 1, shape, minusOne, &reversed[n - 1]));
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  std::vector<float> y(n);
  ASSERT_SIEVE_OK(sieve_session_read_output(session.get(), 0, y.data(), 4 * n));
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(y[i], 2.0f * (inputs.a[i] + inputs.b[i]) + 1.0f) << i;
}

TEST_F(EmulatorTest, BindingErrorsNameTheInput) {
  SessionPtr session = open(getToyBundle());
  ASSERT_TRUE(session);
  std::vector<float> data(100, 1.0f);
  int64_t shape[2] = {100, 1};
  EXPECT_EQ(sieve_session_bind_input_host(session.get(), 0, SIEVE_DTYPE_F16, 1,
                                          shape, nullptr, data.data()),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_bind_input_host: input 'a' (#0): dtype f16, the "
               "bundle expects f32");
  EXPECT_EQ(sieve_session_bind_input_host(session.get(), 0, SIEVE_DTYPE_F32, 2,
                                          shape, nullptr, data.data()),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_bind_input_host: input 'a' (#0): shape [100x1], "
               "the bundle expects [n]");
  ASSERT_SIEVE_OK(bind(session.get(), 0, data));
  EXPECT_EQ(bind(session.get(), 1, data, nullptr, 99),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_bind_input_host: input 'b' (#1): dimension 0 is "
               "99, but symbol n is 100 from input 'a' (#0) dimension 0");
  EXPECT_EQ(bind(session.get(), 5, data), SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(), "sieve_session_bind_input_host: input index "
                                   "5 is out of range (2 inputs)");
  int64_t negative[1] = {-3};
  EXPECT_EQ(sieve_session_bind_input_host(session.get(), 1, SIEVE_DTYPE_F32, 1,
                                          negative, nullptr, data.data()),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(), "sieve_session_bind_input_host: input 'b' "
                                   "(#1): dimension 0 is negative (-3)");
  EXPECT_EQ(sieve_session_bind_input_host(session.get(), 1, SIEVE_DTYPE_F32, 1,
                                          shape, nullptr, nullptr),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(), "sieve_session_bind_input_host: input 'b' "
                                   "(#1): null data pointer");
  EXPECT_EQ(sieve_session_bind_input_host(session.get(), 1,
                                          static_cast<sieve_dtype>(42), 1,
                                          shape, nullptr, data.data()),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(), "sieve_session_bind_input_host: dtype 42 is "
                                   "not a sieve_dtype");
  // Binding a again with another size re-checks against b: b is unbound
  // after its failed binding, so the new size is accepted.
  ASSERT_SIEVE_OK(bind(session.get(), 0, data, nullptr, 60));
  int64_t sixty[1] = {60};
  EXPECT_EQ(sieve_session_bind_input_device(session.get(), 1, SIEVE_DTYPE_F32,
                                            1, sixty, nullptr, 4096),
            SIEVE_ERROR_UNSUPPORTED);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_bind_input_device: input 'b' (#1): the emulator "
               "has no device memory of its own; bind a host tensor");
  EXPECT_EQ(sieve_session_bind_output_device(session.get(), 0, 4096, 240),
            SIEVE_ERROR_UNSUPPORTED);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_bind_output_device: output 'y' (#0): the "
               "emulator has no device memory of its own; read outputs with "
               "sieve_session_read_output");
  EXPECT_EQ(sieve_session_bind_output_device(session.get(), 2, 4096, 240),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_bind_output_device: output index 2 is out of "
               "range (2 outputs)");
  EXPECT_EQ(sieve_session_bind_output_device(nullptr, 0, 4096, 240),
            SIEVE_ERROR_INVALID_ARGUMENT);
}

TEST(RuntimeVersionTest, LibraryMatchesHeader) {
  EXPECT_STREQ(sieve_runtime_version(), SIEVE_RUNTIME_VERSION);
  EXPECT_EQ(std::string(SIEVE_RUNTIME_VERSION)
                .rfind(std::to_string(SIEVE_RUNTIME_VERSION_MAJOR) + ".", 0),
            0u);
}

TEST_F(EmulatorTest, StateErrors) {
  SessionPtr session = open(getToyBundle());
  ASSERT_TRUE(session);
  std::vector<float> data(8, 1.0f);
  ASSERT_SIEVE_OK(bind(session.get(), 0, data));
  EXPECT_EQ(sieve_session_run(session.get(), nullptr),
            SIEVE_ERROR_FAILED_PRECONDITION);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_run: input 'b' (#1) is not bound");
  std::vector<float> y(8);
  EXPECT_EQ(sieve_session_read_output(session.get(), 0, y.data(), 32),
            SIEVE_ERROR_FAILED_PRECONDITION);
  EXPECT_STREQ(sieve_last_error(), "sieve_session_read_output: the session has "
                                   "not run (or its last run failed)");
  ASSERT_SIEVE_OK(bind(session.get(), 1, data));
  int stream;
  EXPECT_EQ(sieve_session_run(session.get(), &stream),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(), "sieve_session_run: the emulator runs on no "
                                   "CUDA stream; pass NULL");
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  EXPECT_EQ(sieve_session_read_output(session.get(), 0, y.data(), 16),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(), "sieve_session_read_output: output 'y' (#0) "
                                   "is f32[8], 32 bytes; got room for 16");
  EXPECT_EQ(sieve_session_read_output(session.get(), 2, y.data(), 32),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(), "sieve_session_read_output: output index 2 "
                                   "is out of range (2 outputs)");
  int64_t shape[1];
  int32_t rank;
  EXPECT_EQ(sieve_session_get_output_shape(session.get(), 0, shape, 0, &rank),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(rank, 1);
}

TEST_F(EmulatorTest, ChecksFailBeforeAnyLaunch) {
  SessionPtr session = open(getToyBundle());
  ASSERT_TRUE(session);
  std::vector<float> empty;
  ASSERT_SIEVE_OK(bind(session.get(), 0, empty));
  ASSERT_SIEVE_OK(bind(session.get(), 1, empty));
  EXPECT_EQ(sieve_session_run(session.get(), nullptr),
            SIEVE_ERROR_FAILED_PRECONDITION);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_run: the toy graph needs at least one element "
               "(check 'n >= 1' fails for n = 0)");
}

TEST_F(EmulatorTest, EmptyGridsAreSkipped) {
  TempDir dir;
  SessionPtr session = open(makeToyVariant(dir, "b", [](nlohmann::json &m) {
    m["checks"] = nlohmann::json::array();
  }));
  ASSERT_TRUE(session);
  std::vector<float> empty;
  ASSERT_SIEVE_OK(bind(session.get(), 0, empty));
  ASSERT_SIEVE_OK(bind(session.get(), 1, empty));
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  sieve_launch_info info;
  ASSERT_SIEVE_OK(sieve_session_get_launch_info(session.get(), 0, &info));
  EXPECT_TRUE(info.skipped);
  EXPECT_EQ(info.grid[0], 0u);
  EXPECT_EQ(info.emulator_threads, 0u);
  ASSERT_SIEVE_OK(sieve_session_read_output(session.get(), 0, nullptr, 0));
  sieve_gate_stats stats;
  ASSERT_SIEVE_OK(sieve_session_get_gate_stats(session.get(), 0, &stats));
  EXPECT_EQ(stats.tokens, 0);
  EXPECT_TRUE(std::isnan(stats.active_token_ratio));
  // Then a non-empty run in the same session.
  runAndCheck(session.get(), 5);
}

TEST_F(EmulatorTest, ReusedLaunchesRunAgainOnlyWhenTheirInputsChange) {
  // Launch 0 (sum = a + b, a temporary) says that its result depends on a
  // and b alone.
  TempDir dir;
  SessionPtr session = open(makeToyVariant(dir, "b", [](nlohmann::json &m) {
    m["launches"][0]["reuse"] = {"a", "b"};
    // What a reused launch writes is kept across runs: `sum` needs arena
    // bytes of its own.
    m["buffers"][4]["offset"] = "ceildiv(4*n, 256) * 256";
    m["arena_bytes"] = "2 * ceildiv(4*n, 256) * 256";
  }));
  ASSERT_TRUE(session);
  auto skipped = [&](int64_t launch) {
    sieve_launch_info info = {};
    EXPECT_EQ(sieve_session_get_launch_info(session.get(), launch, &info),
              SIEVE_OK);
    return info.skipped;
  };
  auto expectY = [&](const std::vector<float> &a, const std::vector<float> &b) {
    std::vector<float> y(a.size());
    ASSERT_SIEVE_OK(sieve_session_read_output(session.get(), 0, y.data(),
                                              4 * y.size()));
    for (std::size_t i = 0; i < y.size(); ++i)
      ASSERT_EQ(y[i], 2.0f * (a[i] + b[i]) + 1.0f) << i;
  };
  const int64_t n = 40;
  ToyInputs inputs(n);
  runAndCheck(session.get(), n);
  EXPECT_EQ(skipped(0), 0);
  // The same bindings: the sum of the first run is still in its buffer.
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  EXPECT_EQ(skipped(0), 2);
  EXPECT_EQ(skipped(1), 0);
  expectY(inputs.a, inputs.b);
  // Binding b again, even to the same values, computes the sum again.
  ASSERT_SIEVE_OK(bind(session.get(), 1, inputs.b));
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  EXPECT_EQ(skipped(0), 0);
  std::vector<float> ones(n, 1.0f);
  ASSERT_SIEVE_OK(bind(session.get(), 1, ones));
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  EXPECT_EQ(skipped(0), 0);
  expectY(inputs.a, ones);
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  EXPECT_EQ(skipped(0), 2);
  expectY(inputs.a, ones);
  // New sizes.
  runAndCheck(session.get(), 70);
  EXPECT_EQ(skipped(0), 0);
  ASSERT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
  EXPECT_EQ(skipped(0), 2);
}

TEST_F(EmulatorTest, KernelErrorsNameTheLaunch) {
  TempDir dir;
  // The add kernel is told about one element more than its buffers hold; its
  // bounds check ends the launch.
  SessionPtr session = open(makeToyVariant(dir, "b", [](nlohmann::json &m) {
    m["launches"][0]["args"][3] = {{"i64", "n + 1"}};
  }));
  ASSERT_TRUE(session);
  std::vector<float> data(100, 1.0f);
  ASSERT_SIEVE_OK(bind(session.get(), 0, data));
  ASSERT_SIEVE_OK(bind(session.get(), 1, data));
  EXPECT_EQ(sieve_session_run(session.get(), nullptr), SIEVE_ERROR_DEVICE);
  std::string error = sieve_last_error();
  EXPECT_EQ(error.rfind("sieve_session_run: launch 0 (arith.addf at "
                        "toy.mlir:3:8), kernel 'add_f32': ",
                        0),
            0u)
      << error;
  EXPECT_NE(error.find("index out of bounds"), std::string::npos) << error;
  std::vector<float> y(100);
  EXPECT_EQ(sieve_session_read_output(session.get(), 0, y.data(), 400),
            SIEVE_ERROR_FAILED_PRECONDITION);
}

TEST_F(EmulatorTest, SizeErrorsAtRunTime) {
  TempDir dir;
  std::vector<float> data(100, 1.0f);
  struct Case {
    const char *name;
    std::function<void(nlohmann::json &)> edit;
    sieve_status status;
    const char *message;
  } cases[] = {
      {"small-buffer",
       [](nlohmann::json &m) { m["buffers"][0]["bytes"] = "2*n"; },
       SIEVE_ERROR_INVALID_BUNDLE,
       "sieve_session_run: buffer 'a' holds 200 bytes, input 'a' (#0) needs "
       "400 (n = 100)"},
      {"small-output",
       [](nlohmann::json &m) { m["buffers"][5]["bytes"] = "n - 1"; },
       SIEVE_ERROR_INVALID_BUNDLE,
       "sieve_session_run: buffer 'mask' holds 99 bytes, output 'mask' needs "
       "100 (n = 100)"},
      {"ragged-memref",
       [](nlohmann::json &m) { m["buffers"][2]["bytes"] = "4*n + 2"; },
       SIEVE_ERROR_INVALID_BUNDLE,
       "sieve_session_run: launch 0 (arith.addf at toy.mlir:3:8), kernel "
       "'add_f32': argument 2: "
       "buffer 'sum' holds 402 bytes, not a whole number of f32 elements"},
      {"negative-buffer",
       [](nlohmann::json &m) { m["buffers"][2]["bytes"] = "n - 1000"; },
       SIEVE_ERROR_INVALID_BUNDLE,
       "sieve_session_run: buffer 'sum' (bytes 'n - 1000') is -900 bytes for "
       "n = 100"},
      {"arena",
       [](nlohmann::json &m) {
         m["arena_bytes"] = "4*n";
         m["buffers"][4]["offset"] = 256;
       },
       SIEVE_ERROR_INVALID_BUNDLE,
       "sieve_session_run: buffer 'score': 400 bytes at offset 256 do not "
       "lie 256-byte aligned in the arena of 400 bytes (n = 100)"},
      {"arena-overlap",
       // The gate reads `sum` after the run: it is live while `score` is,
       // at the same offset.
       [](nlohmann::json &m) { m["gates"][0]["score"] = "sum"; },
       SIEVE_ERROR_INVALID_BUNDLE,
       "sieve_session_run: temporaries 'sum' and 'score' share arena bytes "
       "but are both live at launch 2 (n = 100)"},
      {"grid",
       [](nlohmann::json &m) { m["launches"][0]["grid"][1] = "n * 1000"; },
       SIEVE_ERROR_INVALID_ARGUMENT,
       "sieve_session_run: launch 0 (arith.addf at toy.mlir:3:8), kernel "
       "'add_f32': grid.y "
       "'n * 1000' is 100000 for n = 100; CUDA allows 0 to 65535"},
      {"block",
       [](nlohmann::json &m) {
         m["launches"][0]["block"] = {"n", 11, 1};
       },
       SIEVE_ERROR_INVALID_ARGUMENT,
       "sieve_session_run: launch 0 (arith.addf at toy.mlir:3:8), kernel "
       "'add_f32': a block of "
       "1100 threads for n = 100; CUDA allows at most 1024"},
      {"i32",
       [](nlohmann::json &m) {
         m["launches"][1]["args"][3] = {{"i32", "n * 100000000"}};
       },
       SIEVE_ERROR_INVALID_ARGUMENT,
       "sieve_session_run: launch 1 (linalg.generic at toy.mlir:4:8), "
       "kernel 'axpb_f32': argument 3 'n * 100000000' is 10000000000 for n = "
       "100; an i32 "
       "argument must fit in 32 bits"},
      {"division",
       [](nlohmann::json &m) {
         m["launches"][0]["grid"][0] = "1000 / (n - 100)";
       },
       SIEVE_ERROR_INVALID_ARGUMENT,
       "sieve_session_run: launch 0 (arith.addf at toy.mlir:3:8), kernel "
       "'add_f32': grid.x: "
       "'1000 / (n - 100)' divides by zero with n = 100"},
      {"shared",
       [](nlohmann::json &m) {
         m["launches"][2]["dynamic_shared_bytes"] = "n * 2048";
       },
       SIEVE_ERROR_UNSUPPORTED,
       "sieve_session_run: launch 2 (sieve.gate at toy.mlir:5:8), kernel "
       "'gate_f32': needs 204800 bytes of shared memory per block; sm_80 "
       "allows 166912"},
  };
  for (const Case &c : cases) {
    SessionPtr session = open(makeToyVariant(dir, c.name, c.edit));
    ASSERT_TRUE(session) << c.name;
    ASSERT_SIEVE_OK(bind(session.get(), 0, data));
    ASSERT_SIEVE_OK(bind(session.get(), 1, data));
    EXPECT_EQ(sieve_session_run(session.get(), nullptr), c.status) << c.name;
    EXPECT_STREQ(sieve_last_error(), c.message) << c.name;
  }
}

TEST_F(EmulatorTest, PaddedInputBuffers) {
  TempDir dir;
  // Input buffers larger than their tensors: the rest reads as zeros.
  SessionPtr session = open(makeToyVariant(dir, "b", [](nlohmann::json &m) {
    m["buffers"][0]["bytes"] = "4*n + 256";
    m["buffers"][1]["bytes"] = "4*n + 4";
  }));
  ASSERT_TRUE(session);
  runAndCheck(session.get(), 9);
}

TEST_F(EmulatorTest, MissingKernelSymbol) {
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "b", [](nlohmann::json &m) {
    m["kernels"][2]["name"] = "gate_x";
    m["launches"][2]["kernel"] = "gate_x";
  });
  std::string ptx = readText(bundle + "/kernels.ptx");
  for (std::size_t pos; (pos = ptx.find("gate_f32")) != std::string::npos;)
    ptx.replace(pos, 8, "gate_x");
  writeText(bundle + "/kernels.ptx", ptx);
  sieve_bundle *raw = nullptr;
  ASSERT_SIEVE_OK(sieve_bundle_open(bundle.c_str(), &raw));
  BundlePtr opened(raw);
  sieve_session *session = nullptr;
  EXPECT_EQ(sieve_session_create(opened.get(), device.get(), 0, &session),
            SIEVE_ERROR_INVALID_BUNDLE);
  EXPECT_EQ(session, nullptr);
  EXPECT_EQ(std::string(sieve_last_error()),
            "sieve_session_create: preparing bundle '" +
                std::filesystem::canonical(bundle).string() +
                "' on emulator: 'kernels.emu.so' has no symbol "
                "'sieve_emu_kernel_gate_x' for kernel 'gate_x'");
}

TEST_F(EmulatorTest, UnloadableEmulatorLibrary) {
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "b");
  // An ELF shared object that is not a kernel library: the test binary's own
  // fake launcher does load, so use a truncated copy of the real one.
  std::string library = readText(bundle + "/kernels.emu.so");
  writeText(bundle + "/kernels.emu.so", library.substr(0, 200));
  sieve_bundle *raw = nullptr;
  ASSERT_SIEVE_OK(sieve_bundle_open(bundle.c_str(), &raw));
  BundlePtr opened(raw);
  sieve_session *session = nullptr;
  EXPECT_EQ(sieve_session_create(opened.get(), device.get(), 0, &session),
            SIEVE_ERROR_INVALID_BUNDLE);
  EXPECT_NE(
      std::string(sieve_last_error()).find("cannot load 'kernels.emu.so'"),
      std::string::npos)
      << sieve_last_error();
}

TEST_F(EmulatorTest, HandlesOutliveTheirCallersReferences) {
  sieve_bundle *bundle = nullptr;
  ASSERT_SIEVE_OK(sieve_bundle_open(getToyBundle().c_str(), &bundle));
  sieve_device *second = nullptr;
  ASSERT_SIEVE_OK(sieve_device_open("emulator", nullptr, &second));
  sieve_session *raw = nullptr;
  ASSERT_SIEVE_OK(sieve_session_create(bundle, second, 0, &raw));
  SessionPtr session(raw);
  sieve_bundle_close(bundle);
  sieve_device_close(second);
  runAndCheck(session.get(), 33);
}

TEST(EmulatorDeviceTest, NoEmulatorInTheProcess) {
  std::shared_ptr<sieve::rt::Device> device;
  sieve::rt::Status status =
      sieve::rt::openEmulatorDevice(nullptr, sieve_device_options(), device);
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_UNAVAILABLE);
  EXPECT_EQ(status.getMessage(),
            "no SIMT emulator in this process: the runtime was built without "
            "SieveEmulator (it needs Boost.Context) and no loaded library "
            "provides sieve_emu_launch");
  EXPECT_NE(sieve::rt::findEmulatorLauncher(), nullptr);
}

TEST(CApiTest, BundleDescription) {
  sieve_bundle *raw = nullptr;
  ASSERT_SIEVE_OK(sieve_bundle_open(getToyBundle().c_str(), &raw));
  BundlePtr bundle(raw);
  EXPECT_STREQ(sieve_bundle_entry(bundle.get()), "toy");
  EXPECT_STREQ(sieve_bundle_target(bundle.get()), "sm_80");
  EXPECT_STREQ(sieve_bundle_producer(bundle.get()),
               "hand-written test bundle (runtime/test/bundles/toy)");
  EXPECT_EQ(sieve_bundle_num_inputs(bundle.get()), 2);
  EXPECT_EQ(sieve_bundle_num_outputs(bundle.get()), 2);
  EXPECT_EQ(sieve_bundle_num_launches(bundle.get()), 3);
  EXPECT_EQ(sieve_bundle_num_gates(bundle.get()), 1);
  sieve_tensor_info info;
  ASSERT_SIEVE_OK(sieve_bundle_get_input(bundle.get(), 1, &info));
  EXPECT_STREQ(info.name, "b");
  EXPECT_EQ(info.dtype, SIEVE_DTYPE_F32);
  ASSERT_EQ(info.rank, 1);
  EXPECT_EQ(info.dims[0].size, -1);
  EXPECT_STREQ(info.dims[0].symbol, "n");
  ASSERT_SIEVE_OK(sieve_bundle_get_output(bundle.get(), 1, &info));
  EXPECT_STREQ(info.name, "mask");
  EXPECT_EQ(info.dtype, SIEVE_DTYPE_I1);
  EXPECT_EQ(sieve_bundle_get_output(bundle.get(), 2, &info),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_bundle_get_output: output index 2 is out of range (2 "
               "outputs)");
}

TEST(CApiTest, NullArgumentsAreErrors) {
  sieve_bundle *bundle = reinterpret_cast<sieve_bundle *>(1);
  EXPECT_EQ(sieve_bundle_open(nullptr, &bundle), SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(bundle, nullptr);
  EXPECT_STREQ(sieve_last_error(), "sieve_bundle_open: path is NULL");
  EXPECT_EQ(sieve_bundle_open("x", nullptr), SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sieve_session_run(nullptr, nullptr), SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(), "sieve_session_run: session is NULL");
  EXPECT_EQ(sieve_session_create(nullptr, nullptr, 0, nullptr),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sieve_bundle_entry(nullptr), nullptr);
  EXPECT_EQ(sieve_bundle_num_inputs(nullptr), 0);
  EXPECT_EQ(sieve_session_kernel_source(nullptr), nullptr);
  sieve_bundle_close(nullptr);
  sieve_device_close(nullptr);
  sieve_session_destroy(nullptr);
  sieve_device *device = nullptr;
  EXPECT_EQ(sieve_device_open("tpu", nullptr, &device),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(), "sieve_device_open: unknown device 'tpu' "
                                   "(expected cuda, cuda:N, emulator or auto)");
  EXPECT_EQ(sieve_device_open("cuda:x", nullptr, &device),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_status_name(SIEVE_ERROR_UNAVAILABLE),
               "SIEVE_ERROR_UNAVAILABLE");
  EXPECT_STREQ(sieve_dtype_name(SIEVE_DTYPE_BF16), "bf16");
  EXPECT_EQ(sieve_dtype_size(SIEVE_DTYPE_I4), 1u);
  EXPECT_EQ(sieve_dtype_name(static_cast<sieve_dtype>(9)), nullptr);
}

TEST(CApiTest, BundleErrorsNameThePath) {
  TempDir dir;
  std::string bundle =
      makeToyVariant(dir, "b", [](nlohmann::json &m) { m["version"] = 7; });
  sieve_bundle *raw = nullptr;
  EXPECT_EQ(sieve_bundle_open(bundle.c_str(), &raw),
            SIEVE_ERROR_INVALID_BUNDLE);
  EXPECT_EQ(std::string(sieve_last_error()),
            "sieve_bundle_open: " + bundle +
                ": manifest.json: version: is 7; this runtime reads version 2 "
                "only (recompile the bundle with the sieve-compile of this "
                "release)");
}

TEST(CApiTest, UnknownSessionFlags) {
  sieve_bundle *rawBundle = nullptr;
  ASSERT_SIEVE_OK(sieve_bundle_open(getToyBundle().c_str(), &rawBundle));
  BundlePtr bundle(rawBundle);
  sieve_device *rawDevice = nullptr;
  ASSERT_SIEVE_OK(sieve_device_open("emulator", nullptr, &rawDevice));
  DevicePtr device(rawDevice);
  sieve_session *session = nullptr;
  EXPECT_EQ(sieve_session_create(bundle.get(), device.get(), 0x100, &session),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_session_create: unknown session flags 0x100");
}

// A strided input keeps the caller's layout: the kernel reads it through the
// stride symbols, whatever the strides (transposed, broadcast, dense).
TEST_F(EmulatorTest, StridedInputs) {
  SessionPtr session = open(getStridedBundle());
  ASSERT_TRUE(session);
  sieve_bundle *bundle = nullptr;
  ASSERT_SIEVE_OK(sieve_bundle_open(getStridedBundle().c_str(), &bundle));
  EXPECT_EQ(sieve_bundle_input_is_strided(bundle, 0), 1);
  EXPECT_EQ(sieve_bundle_input_is_strided(bundle, 1), 0);
  sieve_bundle_close(bundle);

  std::vector<float> m(4 * 6);
  for (std::size_t i = 0; i < m.size(); ++i)
    m[i] = static_cast<float>(i);
  auto runWith = [&](std::vector<int64_t> shape, const int64_t *strides) {
    std::vector<float> y(shape[0] * shape[1], -1.0f);
    EXPECT_SIEVE_OK(sieve_session_bind_input_host(
        session.get(), 0, SIEVE_DTYPE_F32, 2, shape.data(), strides,
        m.data()));
    EXPECT_SIEVE_OK(sieve_session_run(session.get(), nullptr));
    EXPECT_SIEVE_OK(
        sieve_session_read_output(session.get(), 0, y.data(), 4 * y.size()));
    return y;
  };
  // The transpose of the 4 x 6 matrix, as a 6 x 4 view.
  int64_t transposed[2] = {1, 6};
  std::vector<float> y = runWith({6, 4}, transposed);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 4; ++j)
      ASSERT_EQ(y[i * 4 + j], m[j * 6 + i]) << i << " " << j;
  // Every other row and column: the span (17 elements) is copied as is.
  int64_t sparse[2] = {12, 2};
  y = runWith({2, 3}, sparse);
  EXPECT_EQ(y, (std::vector<float>{0, 2, 4, 12, 14, 16}));
  // Row 1 broadcast to three rows (stride 0): the span is one row, less
  // than the dense tensor.
  int64_t broadcast[2] = {0, 1};
  y = runWith({3, 6}, broadcast);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 6; ++j)
      ASSERT_EQ(y[i * 6 + j], m[j]);
  // No strides: row-major, and the stride symbols say so.
  y = runWith({4, 6}, nullptr);
  EXPECT_EQ(y, m);
  int64_t negative[2] = {-6, 1};
  int64_t shape[2] = {4, 6};
  EXPECT_EQ(sieve_session_bind_input_host(session.get(), 0, SIEVE_DTYPE_F32,
                                          2, shape, negative, m.data()),
            SIEVE_ERROR_UNSUPPORTED);
  // Stride symbols take part in the bundle's checks.
  int64_t huge[2] = {1, 2000};
  int64_t one[2] = {1, 1};
  std::vector<float> big(2001);
  ASSERT_SIEVE_OK(sieve_session_bind_input_host(
      session.get(), 0, SIEVE_DTYPE_F32, 2, one, huge, big.data()));
  EXPECT_EQ(sieve_session_run(session.get(), nullptr),
            SIEVE_ERROR_FAILED_PRECONDITION);
  EXPECT_NE(std::string(sieve_last_error())
                .find("the test kernel wants small column strides (check "
                      "'x_stride1 <= 1000' fails for r = 1, c = 1, x_stride0 "
                      "= 1, x_stride1 = 2000)"),
            std::string::npos)
      << sieve_last_error();
}

// A tensor_map argument is the address of a slot holding a
// sieve_emu_tensor_map; the probe kernel copies the slot into output 2.
TEST_F(EmulatorTest, TensorMaps) {
  TempDir dir;
  SessionPtr session = open(makeToyVariant(dir, "b", [](nlohmann::json &m) {
    addTensorMapProbe(m, getToyTensorMap());
  }));
  ASSERT_TRUE(session);
  for (int64_t n : {512, 512, 1024}) {
    ASSERT_NO_FATAL_FAILURE(runToyAndCheck(session.get(), n));
    uint8_t slot[SIEVE_TENSOR_MAP_SLOT_BYTES];
    ASSERT_SIEVE_OK(
        sieve_session_read_output(session.get(), 2, slot, sizeof(slot)));
    sieve_emu_tensor_map map;
    std::memcpy(&map, slot, sizeof(map));
    EXPECT_EQ(map.magic, SIEVE_EMU_TENSOR_MAP_MAGIC);
    // The buffer is input a's; the tensor starts at bf16 element n.
    ASSERT_EQ(map.buffer_end - map.buffer_begin, 4 * n);
    ToyInputs inputs(n);
    EXPECT_EQ(std::memcmp(map.buffer_begin, inputs.a.data(), 4 * n), 0);
    EXPECT_EQ(map.base - map.buffer_begin, 2 * n);
    EXPECT_EQ(map.rank, 4u);
    EXPECT_EQ(map.element_bytes, 2u);
    EXPECT_EQ(map.swizzle_bytes, 128u);
    EXPECT_EQ(map.reserved, 0u);
    uint64_t k = static_cast<uint64_t>(n / 256);
    EXPECT_EQ(std::vector<uint64_t>(map.dims, map.dims + 5),
              (std::vector<uint64_t>{64, k, 2, 2, 1}));
    EXPECT_EQ(std::vector<uint64_t>(map.strides, map.strides + 5),
              (std::vector<uint64_t>{2, 128, 128 * k, 256 * k, 0}));
    EXPECT_EQ(std::vector<uint32_t>(map.box, map.box + 5),
              (std::vector<uint32_t>{64, 2, 1, 1, 1}));
    for (std::size_t i = sizeof(map); i < sizeof(slot); ++i)
      ASSERT_EQ(slot[i], 0) << i;
  }
}

TEST_F(EmulatorTest, TensorMapErrorsAtRunTime) {
  TempDir dir;
  const std::string where = "sieve_session_run: launch 3 (tma probe at "
                            "toy.mlir:6:8), kernel 'read_tensor_map': "
                            "argument 0 (tensor map of buffer 'a'): ";
  struct Case {
    const char *name;
    std::function<void(nlohmann::json &)> edit;
    int64_t n;
    sieve_status status;
    std::string message;
  } cases[] = {
      {"misaligned", [](nlohmann::json &map) { map["offset"] = 1; }, 512,
       SIEVE_ERROR_INVALID_ARGUMENT,
       where + "its first element, 2 bytes into the buffer (offset '1' = 1 x "
               "bf16, n = 512), is not 16-byte aligned"},
      {"stride", [](nlohmann::json &map) { map["strides"][0] = "n - 392"; },
       512, SIEVE_ERROR_INVALID_ARGUMENT,
       where + "strides[0] 'n - 392' is 120 for n = 512; a tensor map's "
               "strides are positive multiples of 16 bytes below 2^40"},
      {"past-the-buffer", [](nlohmann::json &map) { map["offset"] = "n + 8"; },
       512, SIEVE_ERROR_INVALID_BUNDLE,
       where + "the tensor spans bytes [1040, 2064) of the buffer, which "
               "holds 2048 (n = 512); a tensor map must not reach outside its "
               "buffer"},
      {"negative-offset",
       [](nlohmann::json &map) { map["offset"] = "n - 1000"; }, 512,
       SIEVE_ERROR_INVALID_ARGUMENT,
       where + "offset 'n - 1000' is -488 for n = 512; expected at least 0"},
  };
  for (const Case &c : cases) {
    SessionPtr session =
        open(makeToyVariant(dir, c.name, [&](nlohmann::json &m) {
          nlohmann::json map = getToyTensorMap();
          c.edit(map);
          addTensorMapProbe(m, map);
        }));
    ASSERT_TRUE(session) << c.name;
    ASSERT_NO_FATAL_FAILURE(bindToyInputs(session.get(), c.n));
    EXPECT_EQ(sieve_session_run(session.get(), nullptr), c.status) << c.name;
    EXPECT_EQ(sieve_last_error(), c.message) << c.name;
  }

  // A map of an empty tensor (here dims[1] = n / 256 = 0) is not checked
  // or encoded: its slot holds zeros.
  {
    SessionPtr empty = open(makeToyVariant(dir, "empty", [](nlohmann::json &m) {
      addTensorMapProbe(m, getToyTensorMap());
    }));
    ASSERT_TRUE(empty);
    ASSERT_NO_FATAL_FAILURE(runToyAndCheck(empty.get(), 128));
    uint8_t slot[SIEVE_TENSOR_MAP_SLOT_BYTES];
    ASSERT_SIEVE_OK(
        sieve_session_read_output(empty.get(), 2, slot, sizeof(slot)));
    EXPECT_TRUE(std::all_of(slot, slot + sizeof(slot),
                            [](uint8_t byte) { return byte == 0; }));
  }

  // A launch with an empty grid is skipped with its tensor maps, which are
  // not checked then.
  SessionPtr session = open(makeToyVariant(dir, "grid", [](nlohmann::json &m) {
    addTensorMapProbe(m, getToyTensorMap());
    m["launches"][3]["grid"][0] = "4 * min(n / 256, 1)";
  }));
  ASSERT_TRUE(session);
  ASSERT_NO_FATAL_FAILURE(runToyAndCheck(session.get(), 128));
  sieve_launch_info info;
  ASSERT_SIEVE_OK(sieve_session_get_launch_info(session.get(), 3, &info));
  EXPECT_EQ(info.skipped, 1);
  ASSERT_NO_FATAL_FAILURE(runToyAndCheck(session.get(), 256));
  uint64_t magic = 0;
  uint8_t slot[SIEVE_TENSOR_MAP_SLOT_BYTES];
  ASSERT_SIEVE_OK(
      sieve_session_read_output(session.get(), 2, slot, sizeof(slot)));
  std::memcpy(&magic, slot, sizeof(magic));
  EXPECT_EQ(magic, SIEVE_EMU_TENSOR_MAP_MAGIC);
}
