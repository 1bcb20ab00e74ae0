//===- BundleRunnerTest.cpp - sieve-bundle-run's logic and runtime.hpp ---===//

#include "TestSupport.h"

#include "sieve/BundleRunner.h"
#include "sieve/RunTool.h"
#include "sieve/runtime.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

using namespace sieve;
using namespace sieve::test;

namespace {

struct RunResult {
  int code;
  std::string out, err;
};

/// sieve-bundle-run's main, in process.
RunResult run(const std::vector<std::string> &arguments) {
  BundleRunOptions options;
  std::string error;
  if (!parseBundleRunArguments(arguments, options, error))
    return {1, "", "sieve-bundle-run: error: " + error + "\n"};
  std::ostringstream out, err;
  int code = runBundle("sieve-bundle-run", options, out, err);
  return {code, out.str(), err.str()};
}
} // namespace

TEST(BundleRunnerTest, ParsesArguments) {
  BundleRunOptions options;
  std::string error;
  ASSERT_TRUE(parseBundleRunArguments({"dir", "--device=emulator", "-input",
                                       "a.npy", "--input", "b.npy",
                                       "--output-dir", "out", "--print-summary",
                                       "--repeat=3", "--stats", "--cuda-graph",
                                       "--emulator-schedule-seed", "7",
                                       "--emulator-check-races"},
                                      options, error))
      << error;
  EXPECT_EQ(options.bundle, "dir");
  EXPECT_EQ(options.device, "emulator");
  EXPECT_EQ(options.inputFiles, (std::vector<std::string>{"a.npy", "b.npy"}));
  EXPECT_EQ(options.outputDir, "out");
  EXPECT_TRUE(options.printSummary);
  EXPECT_EQ(options.repeat, 3u);
  EXPECT_TRUE(options.stats);
  EXPECT_TRUE(options.cudaGraph);
  EXPECT_EQ(options.emulatorScheduleSeed, 7u);
  EXPECT_TRUE(options.emulatorCheckRaces);

  auto parseError = [](const std::vector<std::string> &arguments) {
    BundleRunOptions options;
    std::string error;
    EXPECT_FALSE(parseBundleRunArguments(arguments, options, error));
    return error;
  };
  EXPECT_EQ(parseError({}), "no bundle directory given; see --help");
  EXPECT_EQ(parseError({"a", "b"}),
            "unexpected argument 'b' (one bundle directory only)");
  EXPECT_EQ(parseError({"a", "--frobnicate"}),
            "unknown option '--frobnicate'; see --help");
  EXPECT_EQ(parseError({"a", "--input"}), "--input needs a value");
  EXPECT_EQ(parseError({"a", "--repeat", "x"}),
            "--repeat expects a non-negative integer, got 'x'");
  EXPECT_EQ(parseError({"a", "--random-inputs=-1"}),
            "--random-inputs expects a non-negative integer, got '-1'");
  EXPECT_EQ(parseError({"a", "--stats=1"}), "--stats takes no value");
  for (const char *bad : {"0", "0=", "x=0,1", "0=1,1", "0=0,2", "0=0,,1"})
    EXPECT_EQ(parseError({"a", "--permuted-input", bad}),
              std::string("--permuted-input expects INPUT=P0,P1,... with a "
                          "permutation of 0..rank-1, got '") +
                  bad + "'");
  BundleRunOptions permuted;
  ASSERT_TRUE(parseBundleRunArguments({"a", "--permuted-input=1=0,2,1,3"},
                                      permuted, error))
      << error;
  ASSERT_EQ(permuted.permutedInputs.size(), 1u);
  EXPECT_EQ(permuted.permutedInputs[0].first, 1u);
  EXPECT_EQ(permuted.permutedInputs[0].second,
            (std::vector<std::size_t>{0, 2, 1, 3}));
  BundleRunOptions help;
  EXPECT_TRUE(parseBundleRunArguments({"--help"}, help, error));
  EXPECT_TRUE(help.help);
  EXPECT_NE(getBundleRunUsage("sieve-bundle-run").find("--random-inputs S"),
            std::string::npos);
}

TEST(BundleRunnerTest, RandomInputsOnTheEmulator) {
  TempDir dir;
  RunResult result = run({getToyBundle(), "--device", "emulator",
                          "--random-inputs", "7", "--dynamic-size", "100",
                          "--print-summary", "--output-dir", dir.getPath()});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.err, "");

  // The outputs are the toy graph of the inputs sieve-run would make.
  std::vector<ArgumentSpec> specs = getToySpecs();
  std::vector<HostTensor> inputs;
  std::string error;
  ASSERT_TRUE(makeRandomInputs(specs, 7, 100, inputs, error));
  HostTensor y, mask;
  ASSERT_TRUE(readNpy(dir.getPath() + "/out0.npy", DType::F32, y, error));
  ASSERT_TRUE(readNpy(dir.getPath() + "/out1.npy", DType::I1, mask, error));
  ASSERT_EQ(y.shape, std::vector<int64_t>{100});
  for (int64_t i = 0; i < 100; ++i) {
    float a = static_cast<float>(inputs[0].getAsDouble(i));
    float b = static_cast<float>(inputs[1].getAsDouble(i));
    EXPECT_EQ(static_cast<float>(y.getAsDouble(i)), 2.0f * (a + b) + 1.0f);
    EXPECT_EQ(mask.getAsDouble(i), 1.0f / (1.0f + std::exp(-a)) > 0.5f ? 1 : 0);
  }
  EXPECT_EQ(result.out, "out0: " + formatSummary(y) +
                            "\nout1: " + formatSummary(mask) + "\n");

  // The outputs fed back as inputs.
  result = run({getToyBundle(), "--device=emulator", "--input",
                dir.getPath() + "/out0.npy", "--input",
                dir.getPath() + "/out0.npy", "--repeat", "2", "--stats"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_NE(result.out.find("load: "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find(" ms\nrun: median "), std::string::npos);
  EXPECT_NE(result.out.find(" ms over 2 runs\n"), std::string::npos);
  EXPECT_NE(result.out.find("device: emulator\nkernels: kernels.emu.so\n"),
            std::string::npos);
  EXPECT_NE(result.out.find("launch 2: gate_f32 (sieve.gate at toy.mlir:5:8) "
                            "grid 4x1x1 block 32x1x1 dynamic_shared 0: "),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("work_units 100\n"), std::string::npos);
  EXPECT_NE(result.out.find("gate 0 (sieve.gate at toy.mlir:5:8): tokens 100 "),
            std::string::npos);
}

TEST(BundleRunnerTest, RandomHintsFromTheManifest) {
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "b", [](nlohmann::json &m) {
    m["inputs"][0]["random"] = {{"qmax", 7}, {"k", "n"}};
  });
  runtime::Bundle opened = runtime::Bundle::open(bundle);
  sieve_random_hint hint;
  ASSERT_EQ(sieve_bundle_get_random_hint(opened.get(), 0, 64, &hint), SIEVE_OK);
  EXPECT_EQ(hint.kind, SIEVE_RANDOM_QUANT_SCALE);
  EXPECT_DOUBLE_EQ(hint.scale, 3.0 / 56.0);
  ASSERT_EQ(sieve_bundle_get_random_hint(opened.get(), 1, 64, &hint), SIEVE_OK);
  EXPECT_EQ(hint.kind, SIEVE_RANDOM_DEFAULT);
  EXPECT_EQ(sieve_bundle_get_random_hint(opened.get(), 0, -1, &hint),
            SIEVE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(sieve_last_error(),
               "sieve_bundle_get_random_hint: input 'a' (#0): random 'n' "
               "depends on the sizes; give a dynamic size");

  RunResult result =
      run({bundle, "--device", "emulator", "--random-inputs", "3",
           "--dynamic-size", "64", "--output-dir", dir.getPath() + "/out"});
  ASSERT_EQ(result.code, 0) << result.err;
  HostTensor y;
  std::string error;
  ASSERT_TRUE(readNpy(dir.getPath() + "/out/out0.npy", DType::F32, y, error));
  std::vector<ArgumentSpec> specs = getToySpecs();
  specs[0].randomScale = 3.0 / 56.0;
  std::vector<HostTensor> inputs;
  ASSERT_TRUE(makeRandomInputs(specs, 3, 64, inputs, error));
  float a = static_cast<float>(inputs[0].getAsDouble(5));
  float b = static_cast<float>(inputs[1].getAsDouble(5));
  EXPECT_GT(a, 0.0f);
  EXPECT_EQ(static_cast<float>(y.getAsDouble(5)), 2.0f * (a + b) + 1.0f);
}

// --permuted-input binds a file with its dimensions in another order as a
// strided view of the file's data: the strided bundle's x [r, c] from a
// [c, r] file is the file's transpose.
TEST(BundleRunnerTest, PermutedInputs) {
  TempDir dir;
  std::string file = dir.getPath() + "/x.npy", message;
  HostTensor x(DType::F32, {3, 5});
  float *data = reinterpret_cast<float *>(x.data.data());
  for (int i = 0; i < 15; ++i)
    data[i] = static_cast<float>(i);
  ASSERT_TRUE(writeNpy(file, x, message)) << message;
  std::string out = dir.getPath() + "/out";
  RunResult result = run({getStridedBundle(), "--device", "emulator",
                          "--input", file, "--permuted-input", "0=1,0",
                          "--output-dir", out});
  ASSERT_EQ(result.code, 0) << result.err;
  HostTensor y;
  ASSERT_TRUE(readNpy(out + "/out0.npy", DType::F32, y, message)) << message;
  ASSERT_EQ(y.shape, (std::vector<int64_t>{5, 3}));
  const float *got = reinterpret_cast<const float *>(y.data.data());
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 3; ++j)
      ASSERT_EQ(got[i * 3 + j], data[j * 5 + i]) << i << " " << j;

  auto error = [](const std::vector<std::string> &arguments) {
    RunResult result = run(arguments);
    EXPECT_EQ(result.code, 1);
    return result.err;
  };
  EXPECT_EQ(error({getStridedBundle(), "--input", file, "--permuted-input",
                   "1=1,0"}),
            "sieve-bundle-run: error: --permuted-input: the bundle has 1 "
            "inputs, no input 1\n");
  EXPECT_EQ(error({getStridedBundle(), "--input", file, "--permuted-input",
                   "0=2,0,1"}),
            "sieve-bundle-run: error: --permuted-input: input 0 has rank 2, "
            "the permutation 3 entries\n");
  EXPECT_EQ(error({getStridedBundle(), "--random-inputs", "1",
                   "--permuted-input", "0=1,0"}),
            "sieve-bundle-run: error: --permuted-input applies to --input "
            "files\n");
}

TEST(BundleRunnerTest, Errors) {
  TempDir dir;
  auto error = [](const std::vector<std::string> &arguments) {
    RunResult result = run(arguments);
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(result.out, "");
    return result.err;
  };
  std::string toy = getToyBundle();
  EXPECT_EQ(error({toy, "--device", "emulator"}),
            "sieve-bundle-run: error: @toy takes 2 argument(s), got 0 --input "
            "file(s)\n");
  EXPECT_EQ(error({toy, "--device", "emulator", "--random-inputs", "1"}),
            "sieve-bundle-run: error: argument 0 (tensor<?xf32>) has dynamic "
            "dimensions: give their size with --dynamic-size when using "
            "--random-inputs\n");
  EXPECT_EQ(error({toy, "--random-inputs", "1", "--input", "a.npy"}),
            "sieve-bundle-run: error: give either --input files or "
            "--random-inputs, not both\n");
  EXPECT_EQ(error({toy, "--repeat", "0"}),
            "sieve-bundle-run: error: --repeat must be at least 1\n");
  EXPECT_EQ(error({toy, "--device", "tpu", "--random-inputs", "1",
                   "--dynamic-size", "4"}),
            "sieve-bundle-run: error: sieve_device_open: unknown device 'tpu' "
            "(expected cuda, cuda:N, emulator or auto)\n");
  EXPECT_EQ(error({dir.getPath(), "--random-inputs", "1"}),
            "sieve-bundle-run: error: sieve_bundle_open: " + dir.getPath() +
                ": not a bundle: it has no manifest.json\n");
  EXPECT_EQ(error({toy, "--device", "emulator", "--random-inputs", "1",
                   "--dynamic-size", "0"}),
            "sieve-bundle-run: error: sieve_session_run: the toy graph needs "
            "at least one element (check 'n >= 1' fails for n = 0)\n");
  // Inputs whose sizes disagree on the symbol n.
  std::string a = dir.getPath() + "/a.npy", b = dir.getPath() + "/b.npy";
  std::string message;
  ASSERT_TRUE(writeNpy(a, HostTensor(DType::F32, {3}), message));
  ASSERT_TRUE(writeNpy(b, HostTensor(DType::F32, {4}), message));
  EXPECT_EQ(error({toy, "--device", "emulator", "--input", a, "--input", b}),
            "sieve-bundle-run: error: sieve_session_bind_input_host: input "
            "'b' (#1): dimension 0 is 4, but symbol n is 3 from input 'a' (#0) "
            "dimension 0\n");
}

TEST(RuntimeHppTest, WrapsTheCApi) {
  runtime::Bundle bundle = runtime::Bundle::open(getToyBundle());
  EXPECT_EQ(bundle.getEntry(), "toy");
  EXPECT_EQ(bundle.getTarget(), "sm_80");
  std::vector<runtime::TensorInfo> inputs = bundle.getInputs();
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs[0].name, "a");
  EXPECT_EQ(inputs[0].shape[0].size, -1);
  EXPECT_EQ(inputs[0].shape[0].symbol, "n");
  EXPECT_EQ(bundle.getOutputs()[1].dtype, DType::I1);

  runtime::Device device = runtime::Device::open("emulator");
  EXPECT_EQ(device.getKind(), SIEVE_DEVICE_EMULATOR);
  runtime::Session session(bundle, device);
  HostTensor a(DType::F32, {3}), b(DType::F32, {3});
  auto *pa = reinterpret_cast<float *>(a.data.data());
  auto *pb = reinterpret_cast<float *>(b.data.data());
  pa[0] = 1, pa[1] = -2, pa[2] = 3;
  pb[0] = 0.5, pb[1] = 0.25, pb[2] = 0;
  session.bindInput(0, a);
  session.bindInput(1, b);
  session.run();
  EXPECT_EQ(session.getOutputShape(0), std::vector<int64_t>{3});
  HostTensor y = session.readOutput(0);
  EXPECT_EQ(y.getAsDouble(0), 4.0);
  EXPECT_EQ(y.getAsDouble(1), -2.5);
  EXPECT_EQ(y.getAsDouble(2), 7.0);
  HostTensor mask = session.readOutput(1);
  EXPECT_EQ(mask.dtype, DType::I1);
  EXPECT_EQ(mask.getAsDouble(1), 0.0);
  EXPECT_EQ(session.getLaunchInfo(0).emulator_work_units, 3u);
  EXPECT_EQ(session.getGateStats(0).active_tokens, 2);

  try {
    session.bindInput(0, HostTensor(DType::F16, {3}));
    FAIL() << "no exception";
  } catch (const runtime::Error &error) {
    EXPECT_EQ(error.getStatus(), SIEVE_ERROR_INVALID_ARGUMENT);
    EXPECT_STREQ(error.what(), "sieve_session_bind_input_host: input 'a' (#0): "
                               "dtype f16, the bundle expects f32");
  }
  EXPECT_THROW(session.readOutput(2), runtime::Error);
  EXPECT_THROW(runtime::Device::open("cuda:x"), runtime::Error);
  runtime::Session moved = std::move(session);
  EXPECT_EQ(moved.readOutput(0).getAsDouble(0), 4.0);
}
