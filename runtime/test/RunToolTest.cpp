//===- RunToolTest.cpp - What the run tools share -------------------------===//

#include "TestSupport.h"

#include "sieve/RunTool.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

using namespace sieve;
using namespace sieve::test;

TEST(RunToolTest, Formatting) {
  EXPECT_EQ(formatShape({1, -1, 64}), "[1x?x64]");
  EXPECT_EQ(formatShape({}), "[]");
  EXPECT_EQ(formatTensorType({1, -1, 64}, DType::F16), "tensor<1x?x64xf16>");
  EXPECT_EQ(formatTensorType({}, DType::I1), "tensor<i1>");
  EXPECT_EQ(getMedian({3, 1, 2}), 2);
  EXPECT_EQ(getMedian({4, 1, 3, 2}), 2.5);
  EXPECT_TRUE(std::isnan(getMedian({})));
  int64_t lo, hi;
  getDefaultRandomRange(DType::I8, lo, hi);
  EXPECT_EQ(lo, -127);
  EXPECT_EQ(hi, 127);
  getDefaultRandomRange(DType::I4, lo, hi);
  EXPECT_EQ(lo, -7);
  getDefaultRandomRange(DType::I32, lo, hi);
  EXPECT_EQ(hi, 15);
  EXPECT_DOUBLE_EQ(getTypicalQuantScale(7, 64), 3.0 / 56.0);
  EXPECT_DOUBLE_EQ(getTypicalQuantScale(127, 0), 3.0 / 127.0);
}

TEST(RunToolTest, RandomInputs) {
  std::vector<ArgumentSpec> specs = getToySpecs();
  std::vector<HostTensor> inputs;
  std::string error;
  EXPECT_FALSE(makeRandomInputs(specs, 1, -1, inputs, error));
  EXPECT_EQ(error, "argument 0 (tensor<?xf32>) has dynamic dimensions: give "
                   "their size with --dynamic-size when using --random-inputs");
  specs[1].dtype = DType::I32;
  specs[1].randomLo = 5;
  specs[1].randomHi = 6;
  ASSERT_TRUE(makeRandomInputs(specs, 1, 8, inputs, error)) << error;
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs[0].shape, std::vector<int64_t>{8});
  for (int64_t i = 0; i < 8; ++i) {
    EXPECT_GE(inputs[0].getAsDouble(i), -1.0);
    EXPECT_LT(inputs[0].getAsDouble(i), 1.0);
    EXPECT_GE(inputs[1].getAsDouble(i), 5);
    EXPECT_LE(inputs[1].getAsDouble(i), 6);
  }
  // The same seed gives the same data.
  std::vector<HostTensor> again;
  ASSERT_TRUE(makeRandomInputs(specs, 1, 8, again, error));
  EXPECT_EQ(again[0].data, inputs[0].data);
  EXPECT_EQ(again[1].data, inputs[1].data);
  // Scales replace the uniform values.
  specs[0].randomScale = 0.5;
  std::vector<HostTensor> scaled;
  ASSERT_TRUE(makeRandomInputs(specs, 1, 8, scaled, error));
  for (int64_t i = 0; i < 8; ++i) {
    EXPECT_GE(scaled[0].getAsDouble(i), 0.25);
    EXPECT_LT(scaled[0].getAsDouble(i), 0.75);
  }
}

TEST(RunToolTest, InputFiles) {
  TempDir dir;
  std::vector<ArgumentSpec> specs = getToySpecs();
  specs[1].shape = {4};
  specs[1].typeText = "tensor<4xf32>";
  HostTensor a(DType::F32, {3}), b(DType::F32, {5}), wrong(DType::F16, {4});
  std::string error, pa = dir.getPath() + "/a.npy",
                     pb = dir.getPath() + "/b.npy",
                     pw = dir.getPath() + "/w.npy";
  ASSERT_TRUE(writeNpy(pa, a, error));
  ASSERT_TRUE(writeNpy(pb, b, error));
  ASSERT_TRUE(writeNpy(pw, wrong, error));
  std::vector<HostTensor> inputs;
  EXPECT_FALSE(readInputFiles("toy", {pa}, specs, inputs, error));
  EXPECT_EQ(error, "@toy takes 2 argument(s), got 1 --input file(s)");
  EXPECT_FALSE(readInputFiles("toy", {pa, pb}, specs, inputs, error));
  EXPECT_EQ(error, "argument 1 of @toy (tensor<4xf32>): '" + pb +
                       "' has shape [5], expected [4]");
  inputs.clear();
  EXPECT_FALSE(readInputFiles("toy", {pa, pw}, specs, inputs, error));
  EXPECT_EQ(error,
            "argument 1 of @toy (tensor<4xf32>): '" + pw +
                "' holds float16 data ('<f2'), expected float32 ('<f4')");
  inputs.clear();
  ASSERT_TRUE(writeNpy(pb, HostTensor(DType::F32, {4}), error));
  ASSERT_TRUE(readInputFiles("toy", {pa, pb}, specs, inputs, error)) << error;
  EXPECT_EQ(inputs[0].shape, std::vector<int64_t>{3});
}

TEST(RunToolTest, WriteOutputs) {
  TempDir dir;
  std::string error;
  std::string target = dir.getPath() + "/deep/er";
  HostTensor t(DType::I1, {2});
  t.data = {1, 0};
  ASSERT_TRUE(writeOutputs(target, {t, t}, error)) << error;
  EXPECT_TRUE(std::filesystem::exists(target + "/out1.npy"));
  writeText(dir.getPath() + "/file", "x");
  EXPECT_FALSE(writeOutputs(dir.getPath() + "/file/sub", {t}, error));
  EXPECT_EQ(error.rfind("cannot create '" + dir.getPath() + "/file/sub': ", 0),
            0u)
      << error;
  EXPECT_EQ(formatOutputSummaries({t}), "out0: " + formatSummary(t) + "\n");
}
