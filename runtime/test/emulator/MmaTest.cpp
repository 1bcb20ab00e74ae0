//===- MmaTest.cpp - mma.sync against plain matrix products ---------------===//
//
// The fragment layouts below are written out per shape from the PTX ISA
// sections "Matrix Fragments for mma.m16n8k16 with floating point type",
// "Matrix Fragments for mma.m16n8k8" and "Matrix Fragments for
// mma.m16n8k32", independently of the emulator's own (unified) formulas.
//
//===----------------------------------------------------------------------===//

#include "EmulatorTestUtils.h"

#include "sieve/HostTensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

using namespace sieve;
using namespace sieve::test;

namespace {
const char *const kMmaSite = "mma.mlir:9:5 nvgpu.mma.sync in kernel test";

struct Coord {
  int row, col;
};

int getK(int shape) {
  return shape == SIEVE_EMU_MMA_M16N8K8    ? 8
         : shape == SIEVE_EMU_MMA_M16N8K32 ? 32
                                           : 16;
}
int getElementsPerRegister(int shape) {
  return shape == SIEVE_EMU_MMA_M16N8K32 ? 4 : 2;
}
int getAElements(int shape) { return 16 * getK(shape) / 32; }
int getBElements(int shape) { return 8 * getK(shape) / 32; }

/// Element a_i of lane `lane`'s A fragment.
Coord getAElement(int shape, int lane, int i) {
  int groupId = lane >> 2, threadInGroup = lane % 4;
  switch (shape) {
  case SIEVE_EMU_MMA_M16N8K16:
    return {(i < 2 || (i >= 4 && i < 6)) ? groupId : groupId + 8,
            threadInGroup * 2 + (i & 1) + (i >= 4 ? 8 : 0)};
  case SIEVE_EMU_MMA_M16N8K8:
    return {i < 2 ? groupId : groupId + 8, threadInGroup * 2 + (i & 1)};
  default: // m16n8k32 .s8
    return {(i < 4 || (i >= 8 && i < 12)) ? groupId : groupId + 8,
            threadInGroup * 4 + (i & 3) + (i >= 8 ? 16 : 0)};
  }
}

/// Element b_i of lane `lane`'s B fragment: {k, n}.
Coord getBElement(int shape, int lane, int i) {
  int groupId = lane >> 2, threadInGroup = lane % 4;
  switch (shape) {
  case SIEVE_EMU_MMA_M16N8K16:
    return {threadInGroup * 2 + (i & 1) + (i >= 2 ? 8 : 0), groupId};
  case SIEVE_EMU_MMA_M16N8K8:
    return {threadInGroup * 2 + i, groupId};
  default: // m16n8k32 .s8
    return {threadInGroup * 4 + (i & 3) + (i >= 4 ? 16 : 0), groupId};
  }
}

/// Element c_i (and d_i) of lane `lane`: the same for every shape.
Coord getCElement(int lane, int i) {
  return {i < 2 ? lane >> 2 : (lane >> 2) + 8, (lane % 4) * 2 + (i & 1)};
}

/// Matrices as raw element bits (f16/bf16/s8 in the low bits; f32/s32).
struct MmaProblem {
  int shape, abType, cdType;
  std::vector<uint32_t> a; // 16 x K
  std::vector<uint32_t> b; // K x 8
  std::vector<uint32_t> c; // 16 x 8
};

/// Packs the per-lane registers of A, B and C.
void packFragments(const MmaProblem &problem, std::vector<uint32_t> &aRegs,
                   std::vector<uint32_t> &bRegs, std::vector<uint32_t> &cRegs) {
  int k = getK(problem.shape),
      perRegister = getElementsPerRegister(problem.shape);
  int bits = 32 / perRegister;
  uint32_t mask = (1u << bits) - 1;
  aRegs.assign(32 * 4, 0);
  bRegs.assign(32 * 2, 0);
  cRegs.assign(32 * 4, 0);
  for (int lane = 0; lane < 32; ++lane) {
    for (int i = 0; i < getAElements(problem.shape); ++i) {
      Coord at = getAElement(problem.shape, lane, i);
      aRegs[lane * 4 + i / perRegister] |=
          (problem.a[at.row * k + at.col] & mask) << (bits * (i % perRegister));
    }
    for (int i = 0; i < getBElements(problem.shape); ++i) {
      Coord at = getBElement(problem.shape, lane, i);
      bRegs[lane * 2 + i / perRegister] |=
          (problem.b[at.row * 8 + at.col] & mask) << (bits * (i % perRegister));
    }
    for (int i = 0; i < 4; ++i) {
      Coord at = getCElement(lane, i);
      cRegs[lane * 4 + i] = problem.c[at.row * 8 + at.col];
    }
  }
}

} // namespace

extern "C" void mmaKernel(void **params) {
  auto *aRegs = getParam<const uint32_t *>(params, 0);
  auto *bRegs = getParam<const uint32_t *>(params, 1);
  auto *cRegs = getParam<const uint32_t *>(params, 2);
  auto *dRegs = getParam<uint32_t *>(params, 3);
  int shape = getParam<int>(params, 4), abType = getParam<int>(params, 5),
      cdType = getParam<int>(params, 6), inPlace = getParam<int>(params, 7);
  int64_t lane = sieve_emu_lane_id();
  uint32_t a[4], b[2], c[4], d[4] = {0, 0, 0, 0};
  std::memcpy(a, aRegs + lane * 4, sizeof(a));
  std::memcpy(b, bRegs + lane * 2, sizeof(b));
  std::memcpy(c, cRegs + lane * 4, sizeof(c));
  sieve_emu_mma_sync(kMmaSite, shape, abType, cdType, a, b, c, inPlace ? c : d);
  std::memcpy(dRegs + lane * 4, inPlace ? c : d, sizeof(d));
}

namespace {
/// Runs `problem` on the emulator and returns D as a 16 x 8 row-major
/// matrix of raw 32-bit elements.
std::vector<uint32_t> runMma(const MmaProblem &problem, bool inPlace = false) {
  std::vector<uint32_t> aRegs, bRegs, cRegs, dRegs(32 * 4, 0);
  packFragments(problem, aRegs, bRegs, cRegs);
  const uint32_t *aPointer = aRegs.data(), *bPointer = bRegs.data(),
                 *cPointer = cRegs.data();
  uint32_t *dPointer = dRegs.data();
  int shape = problem.shape, abType = problem.abType, cdType = problem.cdType,
      isInPlace = inPlace;
  void *params[] = {&aPointer, &bPointer, &cPointer, &dPointer,
                    &shape,    &abType,   &cdType,   &isInPlace};
  LaunchResult result = runLaunch(makeLaunch("mma", mmaKernel, params, 1, 32));
  EXPECT_EQ(result.status, 0) << result.error;
  EXPECT_EQ(result.stats.collectives, 1u);
  std::vector<uint32_t> d(16 * 8, 0);
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      Coord at = getCElement(lane, i);
      d[at.row * 8 + at.col] = dRegs[lane * 4 + i];
    }
  return d;
}

float bitsToFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}
uint32_t floatToBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  return bits;
}
uint32_t toElement(float value, int type) {
  return type == SIEVE_EMU_TYPE_F16 ? floatToHalf(value)
                                    : floatToBFloat16(value);
}
double fromElement(uint32_t bits, int type) {
  return type == SIEVE_EMU_TYPE_F16
             ? halfToFloat(static_cast<uint16_t>(bits))
             : bfloat16ToFloat(static_cast<uint16_t>(bits));
}

struct FloatCase {
  int shape, type;
};
const FloatCase kFloatCases[] = {
    {SIEVE_EMU_MMA_M16N8K16, SIEVE_EMU_TYPE_F16},
    {SIEVE_EMU_MMA_M16N8K16, SIEVE_EMU_TYPE_BF16},
    {SIEVE_EMU_MMA_M16N8K8, SIEVE_EMU_TYPE_F16},
    {SIEVE_EMU_MMA_M16N8K8, SIEVE_EMU_TYPE_BF16},
};

MmaProblem makeFloatProblem(const FloatCase &floatCase) {
  MmaProblem problem;
  problem.shape = floatCase.shape;
  problem.abType = floatCase.type;
  problem.cdType = SIEVE_EMU_TYPE_F32;
  int k = getK(floatCase.shape);
  problem.a.assign(16 * k, 0);
  problem.b.assign(k * 8, 0);
  problem.c.assign(16 * 8, 0);
  return problem;
}
} // namespace

// Small integers are exact in every type and every partial sum, so D must
// equal the plain product bit for bit; a wrong fragment map cannot hide.
TEST(EmulatorMma, FloatShapesExactOnSmallIntegers) {
  for (const FloatCase &floatCase : kFloatCases) {
    for (bool inPlace : {false, true}) {
      MmaProblem problem = makeFloatProblem(floatCase);
      int k = getK(problem.shape);
      std::vector<float> a(16 * k), b(k * 8), c(16 * 8);
      for (int i = 0; i < 16 * k; ++i) {
        a[i] = static_cast<float>((i * 7 + 3) % 9 - 4);
        problem.a[i] = toElement(a[i], problem.abType);
      }
      for (int i = 0; i < k * 8; ++i) {
        b[i] = static_cast<float>((i * 5 + 1) % 7 - 3);
        problem.b[i] = toElement(b[i], problem.abType);
      }
      for (int i = 0; i < 16 * 8; ++i) {
        c[i] = static_cast<float>(i % 13 - 6);
        problem.c[i] = floatToBits(c[i]);
      }
      std::vector<uint32_t> d = runMma(problem, inPlace);
      for (int row = 0; row < 16; ++row)
        for (int col = 0; col < 8; ++col) {
          float expected = c[row * 8 + col];
          for (int kk = 0; kk < k; ++kk)
            expected += a[row * k + kk] * b[kk * 8 + col];
          EXPECT_EQ(d[row * 8 + col], floatToBits(expected))
              << "shape " << problem.shape << " type " << problem.abType
              << (inPlace ? " in place" : "") << " at (" << row << ", " << col
              << ")";
        }
    }
  }
}

TEST(EmulatorMma, FloatShapesCloseToDoubleOnRandomInputs) {
  RandomSource random(1234);
  for (const FloatCase &floatCase : kFloatCases) {
    MmaProblem problem = makeFloatProblem(floatCase);
    int k = getK(problem.shape);
    for (uint32_t &element : problem.a)
      element =
          toElement(static_cast<float>(random.uniform(-2, 2)), problem.abType);
    for (uint32_t &element : problem.b)
      element =
          toElement(static_cast<float>(random.uniform(-2, 2)), problem.abType);
    for (uint32_t &element : problem.c)
      element = floatToBits(static_cast<float>(random.uniform(-4, 4)));
    std::vector<uint32_t> d = runMma(problem);
    for (int row = 0; row < 16; ++row)
      for (int col = 0; col < 8; ++col) {
        double expected = bitsToFloat(problem.c[row * 8 + col]);
        double magnitude = std::fabs(expected);
        for (int kk = 0; kk < k; ++kk) {
          double product =
              fromElement(problem.a[row * k + kk], problem.abType) *
              fromElement(problem.b[kk * 8 + col], problem.abType);
          expected += product;
          magnitude += std::fabs(product);
        }
        // k sums, each rounded to f32 (unit roundoff 2^-24).
        double bound = (k + 1) * std::ldexp(magnitude, -24);
        EXPECT_NEAR(bitsToFloat(d[row * 8 + col]), expected, bound)
            << "shape " << problem.shape << " type " << problem.abType
            << " at (" << row << ", " << col << ")";
      }
  }
}

// Sums run in ascending k, each rounded to f32: a big product first absorbs
// the small ones after it (2^30 + 16 rounds back to 2^30), while small ones
// first add up to something the big one keeps (240 + 2^30 -> 2^30 + 256).
TEST(EmulatorMma, SumsInAscendingKWithF32Rounding) {
  for (const FloatCase &floatCase : kFloatCases) {
    int k = getK(floatCase.shape);
    for (int bigAt : {0, k - 1}) {
      MmaProblem problem = makeFloatProblem(floatCase);
      for (int kk = 0; kk < k; ++kk) {
        problem.a[kk] = toElement(kk == bigAt ? 32768.0f : 1.0f,
                                  problem.abType); // row 0
        problem.b[kk * 8] = toElement(kk == bigAt ? 32768.0f : 16.0f,
                                      problem.abType); // column 0
      }
      // Elsewhere: C = 2^24 plus products of 1 stays 2^24 (ties to even).
      for (int kk = 0; kk < k; ++kk) {
        problem.a[1 * k + kk] = toElement(1.0f, problem.abType);
        problem.b[kk * 8 + 1] = toElement(1.0f, problem.abType);
      }
      problem.c[1 * 8 + 1] = floatToBits(16777216.0f);
      std::vector<uint32_t> d = runMma(problem);
      double smallSum = 16.0 * (k - 1);
      double expected = bigAt == 0 ? std::ldexp(1.0, 30)
                                   : std::ldexp(1.0, 30) +
                                         128.0 * std::nearbyint(smallSum / 128);
      EXPECT_EQ(bitsToFloat(d[0]), expected)
          << "shape " << problem.shape << " type " << problem.abType
          << " big product at k = " << bigAt;
      EXPECT_EQ(bitsToFloat(d[1 * 8 + 1]), 16777216.0f);
    }
  }
}

TEST(EmulatorMma, Int8ShapeExactWithWrappingAccumulator) {
  RandomSource random(99);
  MmaProblem problem;
  problem.shape = SIEVE_EMU_MMA_M16N8K32;
  problem.abType = SIEVE_EMU_TYPE_S8;
  problem.cdType = SIEVE_EMU_TYPE_S32;
  std::vector<int32_t> a(16 * 32), b(32 * 8), c(16 * 8);
  for (int32_t &element : a)
    element = static_cast<int32_t>(random.uniformInt(-128, 127));
  for (int32_t &element : b)
    element = static_cast<int32_t>(random.uniformInt(-128, 127));
  for (int i = 0; i < 16 * 8; ++i)
    // Some accumulators sit at the edge of s32 so that sums wrap.
    c[i] = i % 5 == 0
               ? INT32_MAX - 1000 * (i % 3)
               : static_cast<int32_t>(random.uniformInt(-100000, 100000));
  for (int32_t element : a)
    problem.a.push_back(static_cast<uint32_t>(element) & 0xFFu);
  for (int32_t element : b)
    problem.b.push_back(static_cast<uint32_t>(element) & 0xFFu);
  for (int32_t element : c)
    problem.c.push_back(static_cast<uint32_t>(element));
  std::vector<uint32_t> d = runMma(problem);
  for (int row = 0; row < 16; ++row)
    for (int col = 0; col < 8; ++col) {
      int64_t expected = c[row * 8 + col];
      for (int kk = 0; kk < 32; ++kk)
        expected += int64_t(a[row * 32 + kk]) * b[kk * 8 + col];
      EXPECT_EQ(d[row * 8 + col], static_cast<uint32_t>(expected))
          << "at (" << row << ", " << col << ")";
    }
}

/// An f8E4M3FN value from the format's definition (PTX ISA "Alternate
/// floating point data formats"): exponent bias 7, subnormals below 2^-6,
/// no infinities; the NaN patterns are not generated here.
static float decodeE4M3(uint32_t bits) {
  int sign = (bits >> 7) & 1, exponent = (bits >> 3) & 15, mantissa = bits & 7;
  double value = exponent == 0
                     ? mantissa / 8.0 * std::pow(2.0, -6)
                     : (1.0 + mantissa / 8.0) * std::pow(2.0, exponent - 7);
  return static_cast<float>(sign ? -value : value);
}

TEST(EmulatorMma, E4M3ShapeSumsExactProductsInAscendingK) {
  RandomSource random(7);
  MmaProblem problem;
  problem.shape = SIEVE_EMU_MMA_M16N8K32;
  problem.abType = SIEVE_EMU_TYPE_E4M3;
  problem.cdType = SIEVE_EMU_TYPE_F32;
  auto randomE4M3 = [&] {
    uint32_t bits;
    do
      bits = static_cast<uint32_t>(random.uniformInt(0, 255));
    while ((bits & 0x7F) == 0x7F);
    return bits;
  };
  std::vector<float> a(16 * 32), b(32 * 8), c(16 * 8);
  for (float &element : a) {
    problem.a.push_back(randomE4M3());
    element = decodeE4M3(problem.a.back());
  }
  for (float &element : b) {
    problem.b.push_back(randomE4M3());
    element = decodeE4M3(problem.b.back());
  }
  for (float &element : c) {
    element = static_cast<float>(random.uniformInt(-1000, 1000)) / 8.0f;
    uint32_t bits;
    std::memcpy(&bits, &element, 4);
    problem.c.push_back(bits);
  }
  std::vector<uint32_t> d = runMma(problem);
  for (int row = 0; row < 16; ++row)
    for (int col = 0; col < 8; ++col) {
      float expected = c[row * 8 + col];
      for (int kk = 0; kk < 32; ++kk)
        expected = expected + a[row * 32 + kk] * b[kk * 8 + col];
      EXPECT_EQ(bitsToFloat(d[row * 8 + col]), expected)
          << "at (" << row << ", " << col << ")";
    }
}
