//===- WgmmaTest.cpp - wgmma against plain matrix products ----------------===//
//
// Hopper's warpgroup products (sieve_emu_wgmma and its fence / commit / wait)
// checked against plain matrix products. The shared-memory layouts, the
// register fragments and the descriptor encoding are written out here from
// the formulas of the comment above sieve_emu_wgmma in sieve/emulator.h
// (themselves from the PTX ISA sections "Matrix Descriptor Format", "Shared
// Memory Matrix Layout" and "Register Fragments"), independently of the
// emulator's own code. Two tests also build tiles from the plain-words
// description of the common TMA layouts (a 64 x 64 bf16 tile with the
// 128-byte swizzle; V as two 64-column boxes) and check that the general
// formulas place every element where that description does.
//
// Products are exact and summed in ascending k with f32 rounding (s32:
// wrapping), so every result is compared bit for bit with the plain product.
// Kernels fill shared memory, fence it for the async proxy
// (sieve_emu_fence_proxy_async), meet at a barrier, then fence, issue the
// products, commit and wait.
//
//===----------------------------------------------------------------------===//

#include "EmulatorTestUtils.h"

#include "sieve/HostTensor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

using namespace sieve;
using namespace sieve::test;

namespace {
const char *const kWgmmaSite =
    "wgmma.mlir:7:5 nvgpu.wgmma.mma_async in kernel test";
const char *const kFenceSite = "wgmma.mlir:6:5 wgmma.fence in kernel test";
const char *const kCommitSite =
    "wgmma.mlir:8:5 wgmma.commit_group in kernel test";
const char *const kWaitSite = "wgmma.mlir:9:5 wgmma.wait_group in kernel test";
const char *const kBarrierSite = "wgmma.mlir:5:5 gpu.barrier in kernel test";
const char *const kStoreSite = "wgmma.mlir:10:5 memref.store in kernel test";
const char *const kLoadSite = "wgmma.mlir:11:5 memref.load in kernel test";
const char *const kCopySite =
    "wgmma.mlir:13:5 nvgpu.device_async_copy in kernel test";
const char *const kProxyFenceSite =
    "wgmma.mlir:14:5 nvgpu.fence.proxy.async in kernel test";
const char *const kNamedBarrierSite =
    "wgmma.mlir:15:5 nvvm.barrier in kernel test";

constexpr int kWarpgroupThreads = 128;
constexpr int kMaxSteps = 8;
constexpr int kMaxWarpgroups = 2;
constexpr int64_t kSharedAlignment = int64_t(1) << 18; // 256 KiB

// Descriptor swizzle modes (bits 62-63).
enum Swizzle {
  kNoSwizzle = 0,
  kSwizzle128B = 1,
  kSwizzle64B = 2,
  kSwizzle32B = 3
};

/// S, the swizzle's bytes (0 without swizzle).
int getSwizzleBytes(int swizzle) {
  return swizzle == kSwizzle128B  ? 128
         : swizzle == kSwizzle64B ? 64
         : swizzle == kSwizzle32B ? 32
                                  : 0;
}
/// W of the layout formulas: S, or 16 without swizzle.
int getRowBytes(int swizzle) {
  return swizzle == kNoSwizzle ? 16 : getSwizzleBytes(swizzle);
}
const char *getSwizzleName(int swizzle) {
  return swizzle == kSwizzle128B  ? "128B"
         : swizzle == kSwizzle64B ? "64B"
         : swizzle == kSwizzle32B ? "32B"
                                  : "none";
}

bool isEightBit(int type) {
  return type == SIEVE_EMU_TYPE_S8 || type == SIEVE_EMU_TYPE_E4M3;
}
int getElementBytes(int type) { return isEightBit(type) ? 1 : 2; }
/// K of one product: 16 for 16-bit types, 32 for 8-bit ones.
int getStepK(int type) { return 32 / getElementBytes(type); }
int getAccumulatorType(int type) {
  return type == SIEVE_EMU_TYPE_S8 ? SIEVE_EMU_TYPE_S32 : SIEVE_EMU_TYPE_F32;
}
const char *getTypeName(int type) {
  switch (type) {
  case SIEVE_EMU_TYPE_F16:
    return "f16";
  case SIEVE_EMU_TYPE_BF16:
    return "bf16";
  case SIEVE_EMU_TYPE_S8:
    return "s8";
  default:
    return "e4m3";
  }
}

int64_t roundUp(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

//===----------------------------------------------------------------------===//
// Descriptors and shared-memory layouts (the header's formulas)
//===----------------------------------------------------------------------===//

/// A matrix descriptor: start, LBO and SBO in bytes (multiples of 16).
uint64_t makeDescriptor(int64_t start, int64_t lbo, int64_t sbo, int swizzle,
                        int baseOffset = 0) {
  return (uint64_t(start >> 4) & 0x3FFF) |
         ((uint64_t(lbo >> 4) & 0x3FFF) << 16) |
         ((uint64_t(sbo >> 4) & 0x3FFF) << 32) |
         (uint64_t(baseOffset & 7) << 49) | (uint64_t(swizzle & 3) << 62);
}

struct Descriptor {
  int64_t start, lbo, sbo;
  int swizzle;
};
Descriptor decodeDescriptor(uint64_t bits) {
  return {int64_t(bits & 0x3FFF) << 4, int64_t((bits >> 16) & 0x3FFF) << 4,
          int64_t((bits >> 32) & 0x3FFF) << 4, int((bits >> 62) & 3)};
}

/// swz(o): exchanges address bits 4-6 with bits 7-9 for an S-byte swizzle.
int64_t applySwizzle(int64_t offset, int swizzle) {
  int swizzleBytes = getSwizzleBytes(swizzle);
  if (!swizzleBytes)
    return offset;
  return offset ^ (((offset >> 7) & (swizzleBytes / 16 - 1)) << 4);
}

/// Shared-memory offset of element (row, k) of a K-major operand ("row" A,
/// "col" B; row is m for A, n for B), k within one product.
int64_t getKMajorOffset(uint64_t descriptor, int elementBytes, int row, int k) {
  Descriptor d = decodeDescriptor(descriptor);
  if (d.swizzle == kNoSwizzle) {
    int perCore = 16 / elementBytes; // 8 (16-bit) or 16 (8-bit)
    return d.start + 16 * (row % 8) + d.sbo * (row / 8) +
           d.lbo * (k / perCore) + elementBytes * (k % perCore);
  }
  int w = getRowBytes(d.swizzle);
  return applySwizzle(d.start + w * (row % 8) + d.sbo * (row / 8) +
                          elementBytes * k,
                      d.swizzle);
}

/// Shared-memory offset of element (mn, k) of an MN-major (transposed)
/// 16-bit operand.
int64_t getMNMajorOffset(uint64_t descriptor, int mn, int k) {
  Descriptor d = decodeDescriptor(descriptor);
  if (d.swizzle == kNoSwizzle)
    return d.start + 16 * (k % 8) + d.lbo * (k / 8) + d.sbo * (mn / 8) +
           2 * (mn % 8);
  int w = getRowBytes(d.swizzle);
  return applySwizzle(d.start + w * (k % 8) + d.sbo * (k / 8) +
                          d.lbo * (mn / (w / 2)) + 2 * (mn % (w / 2)),
                      d.swizzle);
}

/// How an operand is laid out in shared memory.
struct OperandSpec {
  int swizzle = kNoSwizzle;
  bool mnMajor = false; // trans = 1
  /// Without swizzle: false puts the core matrices of a row group next to
  /// each other along k (K-major; MN-major: the mn groups of a k group),
  /// true the other way round. Exchanges the roles of LBO and SBO.
  bool otherOrder = false;
  bool inRegisters = false; // A only: register fragments
};

std::string describe(const OperandSpec &spec) {
  if (spec.inRegisters)
    return "registers";
  std::string text = spec.mnMajor ? "MN-major " : "K-major ";
  text += getSwizzleName(spec.swizzle);
  if (spec.swizzle == kNoSwizzle)
    text += spec.otherOrder ? " (LBO inner)" : " (SBO inner)";
  return text;
}

/// An operand's descriptor fields and the start of each k step's product,
/// laid out the way a TMA copy or a hand-written kernel would.
struct OperandLayout {
  OperandSpec spec;
  int64_t lbo = 0, sbo = 0;
  std::vector<int64_t> stepStarts;
  int64_t bytes = 0;
  uint64_t getDescriptor(int step) const {
    return makeDescriptor(stepStarts[step], lbo, sbo, spec.swizzle);
  }
};

/// `rows` is the operand's m or n extent, `kSteps` the number of products;
/// the layout begins at shared offset `base` (a multiple of 1024).
OperandLayout makeLayout(const OperandSpec &spec, int rows, int kSteps,
                         int elementBytes, int64_t base) {
  OperandLayout layout;
  layout.spec = spec;
  int stepBytes = 32; // of k per row (or, MN-major, k rows of 16 bytes: 2)
  int kTotal = kSteps * (stepBytes / elementBytes);
  if (!spec.mnMajor) {
    if (spec.swizzle == kNoSwizzle) {
      // Core matrices of 8 rows x 16 bytes; a product spans two along k.
      int coresAlongK = kTotal * elementBytes / 16;
      if (!spec.otherOrder) {
        layout.lbo = 128;
        layout.sbo = 128 * coresAlongK;
        layout.bytes = rows / 8 * layout.sbo;
      } else {
        layout.sbo = 128;
        layout.lbo = 128 * (rows / 8);
        layout.bytes = coresAlongK * layout.lbo;
      }
      for (int j = 0; j < kSteps; ++j)
        layout.stepStarts.push_back(base + 2 * j * layout.lbo);
      return layout;
    }
    // Rows of W bytes, 8-row atoms SBO = 8 W apart; a box holds W bytes of
    // k of every row, so W / 32 products, boxes 1024-byte aligned. LBO is
    // not used by the swizzled K-major formula; give it a harmless value.
    int w = getRowBytes(spec.swizzle);
    int stepsPerBox = w / stepBytes;
    layout.lbo = 16;
    layout.sbo = 8 * w;
    int64_t boxStride = roundUp(rows / 8 * layout.sbo, 1024);
    for (int j = 0; j < kSteps; ++j)
      layout.stepStarts.push_back(base + (j / stepsPerBox) * boxStride +
                                  stepBytes * (j % stepsPerBox));
    layout.bytes = (kSteps + stepsPerBox - 1) / stepsPerBox * boxStride;
    return layout;
  }
  // MN-major, 16-bit.
  if (spec.swizzle == kNoSwizzle) {
    // Core matrices of 8 k rows x 8 mn (16 bytes); a product spans two k
    // groups.
    if (!spec.otherOrder) {
      layout.sbo = 128;
      layout.lbo = 128 * (rows / 8);
      layout.bytes = kTotal / 8 * layout.lbo;
    } else {
      layout.lbo = 128;
      layout.sbo = 128 * (kTotal / 8);
      layout.bytes = rows / 8 * layout.sbo;
    }
    for (int j = 0; j < kSteps; ++j)
      layout.stepStarts.push_back(base + 2 * j * layout.lbo);
    return layout;
  }
  // k rows of W bytes (W / 2 mn), 8-row atoms SBO = 8 W apart; boxes of
  // W / 2 columns LBO apart.
  int w = getRowBytes(spec.swizzle);
  layout.sbo = 8 * w;
  layout.lbo = roundUp(kTotal / 8 * layout.sbo, 1024);
  for (int j = 0; j < kSteps; ++j)
    layout.stepStarts.push_back(base + 2 * j * layout.sbo);
  layout.bytes = (rows + w / 2 - 1) / (w / 2) * layout.lbo;
  return layout;
}

/// The bytes a kernel copies into shared memory before its products, and
/// which of them the test wrote (each at most once, or the test's layout is
/// wrong).
struct SharedImage {
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> written;

  /// Reserves `size` bytes at the next 1024-byte boundary.
  int64_t allocate(int64_t size) {
    int64_t at = roundUp(static_cast<int64_t>(bytes.size()), 1024);
    bytes.resize(roundUp(at + size, 16), 0xFF);
    written.resize(bytes.size(), 0);
    return at;
  }
  void put(int64_t offset, uint32_t bits, int size) {
    ASSERT_GE(offset, 0);
    ASSERT_LE(offset + size, static_cast<int64_t>(bytes.size()))
        << "test layout writes past its image";
    for (int i = 0; i < size; ++i) {
      ASSERT_FALSE(written[offset + i])
          << "test layout writes shared byte " << offset + i << " twice";
      written[offset + i] = 1;
      bytes[offset + i] = static_cast<uint8_t>(bits >> (8 * i));
    }
  }
};

//===----------------------------------------------------------------------===//
// Problems and the reference product
//===----------------------------------------------------------------------===//

/// Matrices as raw element bits (16- or 8-bit types in the low bits; D as
/// f32 or s32 bits).
struct Problem {
  int abType = SIEVE_EMU_TYPE_BF16;
  int n = 64;
  int kSteps = 4;
  std::vector<int> scaleD;  // per product
  std::vector<uint32_t> a;  // 64 x K
  std::vector<uint32_t> b;  // K x n
  std::vector<uint32_t> d0; // 64 x n, D before the first product
  int getK() const { return kSteps * getStepK(abType); }
  uint32_t getA(int m, int k) const { return a[m * getK() + k]; }
  uint32_t getB(int k, int col) const { return b[k * n + col]; }
};

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

/// An f8E4M3FN value from the format's definition: exponent bias 7,
/// subnormals below 2^-6, no infinities (NaN patterns are not generated).
float decodeE4M3(uint32_t bits) {
  int sign = (bits >> 7) & 1, exponent = (bits >> 3) & 15, mantissa = bits & 7;
  double value = exponent == 0
                     ? mantissa / 8.0 * std::pow(2.0, -6)
                     : (1.0 + mantissa / 8.0) * std::pow(2.0, exponent - 7);
  return static_cast<float>(sign ? -value : value);
}

float decodeElement(uint32_t bits, int type) {
  switch (type) {
  case SIEVE_EMU_TYPE_F16:
    return halfToFloat(static_cast<uint16_t>(bits));
  case SIEVE_EMU_TYPE_BF16:
    return bfloat16ToFloat(static_cast<uint16_t>(bits));
  default:
    return decodeE4M3(bits);
  }
}

uint32_t makeRandomElement(RandomSource &random, int type) {
  switch (type) {
  case SIEVE_EMU_TYPE_F16:
    return floatToHalf(static_cast<float>(random.uniform(-2, 2)));
  case SIEVE_EMU_TYPE_BF16:
    return floatToBFloat16(static_cast<float>(random.uniform(-2, 2)));
  case SIEVE_EMU_TYPE_S8:
    return static_cast<uint32_t>(random.uniformInt(0, 255));
  default: { // e4m3 without its NaNs
    uint32_t bits;
    do
      bits = static_cast<uint32_t>(random.uniformInt(0, 255));
    while ((bits & 0x7F) == 0x7F);
    return bits;
  }
  }
}

Problem makeRandomProblem(int abType, int n, int kSteps, uint64_t seed) {
  RandomSource random(seed);
  Problem problem;
  problem.abType = abType;
  problem.n = n;
  problem.kSteps = kSteps;
  problem.scaleD.assign(kSteps, 1);
  int k = problem.getK();
  for (int i = 0; i < 64 * k; ++i)
    problem.a.push_back(makeRandomElement(random, abType));
  for (int i = 0; i < k * n; ++i)
    problem.b.push_back(makeRandomElement(random, abType));
  for (int i = 0; i < 64 * n; ++i) {
    if (abType == SIEVE_EMU_TYPE_S8)
      // Some accumulators sit at the edges of s32 so that sums wrap.
      problem.d0.push_back(
          i % 5 == 0   ? static_cast<uint32_t>(INT32_MAX - 1000 * (i % 3))
          : i % 5 == 1 ? static_cast<uint32_t>(INT32_MIN + 1000 * (i % 3))
                       : static_cast<uint32_t>(static_cast<int32_t>(
                             random.uniformInt(-100000, 100000))));
    else
      problem.d0.push_back(
          floatToBits(static_cast<float>(random.uniform(-4, 4))));
  }
  return problem;
}

/// D of the plain product, 64 x n: ascending k, f32 rounding after every
/// addition (s32: wrapping); a product with scale_d = 0 starts from 0.
std::vector<uint32_t> computeExpected(const Problem &problem) {
  int n = problem.n, stepK = getStepK(problem.abType);
  std::vector<uint32_t> d(64 * n);
  for (int m = 0; m < 64; ++m)
    for (int col = 0; col < n; ++col) {
      if (problem.abType == SIEVE_EMU_TYPE_S8) {
        uint32_t sum = problem.d0[m * n + col];
        for (int step = 0; step < problem.kSteps; ++step) {
          if (!problem.scaleD[step])
            sum = 0;
          for (int k = step * stepK; k < (step + 1) * stepK; ++k)
            sum += static_cast<uint32_t>(int32_t(int8_t(problem.getA(m, k))) *
                                         int32_t(int8_t(problem.getB(k, col))));
        }
        d[m * n + col] = sum;
        continue;
      }
      float sum = bitsToFloat(problem.d0[m * n + col]);
      for (int step = 0; step < problem.kSteps; ++step) {
        if (!problem.scaleD[step])
          sum = 0.0f;
        for (int k = step * stepK; k < (step + 1) * stepK; ++k) {
          // Exact in f32 for every input type; one rounding per addition.
          float product = decodeElement(problem.getA(m, k), problem.abType) *
                          decodeElement(problem.getB(k, col), problem.abType);
          sum = sum + product;
        }
      }
      d[m * n + col] = floatToBits(sum);
    }
  return d;
}

//===----------------------------------------------------------------------===//
// Register fragments (the header's formulas)
//===----------------------------------------------------------------------===//

struct Coord {
  int row, col;
};

/// Register i of thread T (of its warpgroup) of the accumulator.
Coord getDElement(int thread, int i) {
  return {16 * (thread / 32) + (thread % 32) / 4 + 8 * ((i / 2) % 2),
          8 * (i / 4) + 2 * (thread % 4) + i % 2};
}

/// Element j of thread T's A registers (register j / 2 for 16-bit types,
/// j / 4 for 8-bit ones), within one product's 64 x K of A.
Coord getAElement(int type, int thread, int j) {
  int warpRow = 16 * (thread / 32) + (thread % 32) / 4;
  if (!isEightBit(type))
    return {warpRow + 8 * ((j / 2) % 2),
            2 * (thread % 4) + j % 2 + 8 * (j / 4)};
  // mma.sync m16n8k32's A layout on the warp's 16 rows.
  return {warpRow + 8 * ((j / 4) % 2), 4 * (thread % 4) + j % 4 + 16 * (j / 8)};
}

/// The 4 A registers of every thread of a warpgroup for every product:
/// [step][thread][4].
std::vector<uint32_t> packRegisterA(const Problem &problem) {
  int perRegister = 4 / getElementBytes(problem.abType);
  int bits = 32 / perRegister, stepK = getStepK(problem.abType);
  uint32_t mask = bits == 32 ? ~0u : (1u << bits) - 1;
  std::vector<uint32_t> registers(problem.kSteps * kWarpgroupThreads * 4, 0);
  for (int step = 0; step < problem.kSteps; ++step)
    for (int thread = 0; thread < kWarpgroupThreads; ++thread)
      for (int j = 0; j < 4 * perRegister; ++j) {
        Coord at = getAElement(problem.abType, thread, j);
        registers[(step * kWarpgroupThreads + thread) * 4 + j / perRegister] |=
            (problem.getA(at.row, step * stepK + at.col) & mask)
            << (bits * (j % perRegister));
      }
  return registers;
}

//===----------------------------------------------------------------------===//
// The test kernel
//===----------------------------------------------------------------------===//

/// Everything wgmmaKernel does, given through its one parameter. Descriptor
/// starts hold shared-memory offsets; the kernel turns them into the low 18
/// bits of the host address, as generated code does.
struct WgmmaKernelArgs {
  const uint8_t *image = nullptr;
  int64_t imageBytes = 0;
  int32_t n = 64, abType = SIEVE_EMU_TYPE_BF16, cdType = SIEVE_EMU_TYPE_F32;
  int32_t transA = 0, transB = 0;
  int32_t kSteps = 1;
  int32_t warpgroups = 1;
  /// 0: one fence, all products, one commit, wait(0). 1: each product in a
  /// group of its own (fence, wgmma, commit, wait(1)), wait(0) at the end.
  int32_t groupPerStep = 0;
  int32_t scaleD[kMaxSteps] = {};
  uint64_t descA[kMaxWarpgroups][kMaxSteps] = {};
  uint64_t descB[kMaxWarpgroups][kMaxSteps] = {};
  /// NULL: A from shared memory; else [step][block thread][4].
  const uint32_t *aRegisters = nullptr;
  /// [block thread][n / 2], D in and out.
  uint32_t *d = nullptr;
  /// Receives sieve_emu_shared_memory() (thread 0).
  uint64_t *sharedAddress = nullptr;
  /// Non-zero: the copy into shared memory tells the race check its writes.
  int32_t checkRaces = 0;
  /// Non-zero: a barrier after the last wait, before the threads return.
  int32_t barrierAfterWait = 1;
};

uint64_t relocateDescriptor(uint64_t descriptor, const uint8_t *shared) {
  uint64_t offset = (descriptor & 0x3FFF) << 4;
  uint64_t address = reinterpret_cast<uintptr_t>(shared + offset);
  return (descriptor & ~uint64_t(0x3FFF)) | ((address & 0x3FFFF) >> 4);
}

/// Copies `bytes` from `image` into shared memory at 0, spread over the
/// block's threads, makes the writes visible to wgmma (fence.proxy.async),
/// then waits for all of them.
void fillSharedMemory(const uint8_t *image, int64_t bytes, int64_t thread,
                      int64_t threads, bool checkRaces) {
  uint8_t *shared = sieve_emu_shared_memory();
  for (int64_t offset = 16 * thread; offset < bytes; offset += 16 * threads) {
    int64_t size = std::min<int64_t>(16, bytes - offset);
    if (checkRaces)
      sieve_emu_shared_access(kStoreSite, shared + offset, size, 1);
    std::memcpy(shared + offset, image + offset, static_cast<size_t>(size));
  }
  sieve_emu_fence_proxy_async(kProxyFenceSite);
  sieve_emu_barrier(kBarrierSite);
}
} // namespace

extern "C" void wgmmaKernel(void **params) {
  const auto *args = getParam<const WgmmaKernelArgs *>(params, 0);
  uint8_t *shared = sieve_emu_shared_memory();
  int64_t thread = getLinearThreadId();
  int64_t threads = int64_t(kWarpgroupThreads) * args->warpgroups;
  int warpgroup = static_cast<int>(thread / kWarpgroupThreads);
  if (thread == 0 && args->sharedAddress)
    *args->sharedAddress = reinterpret_cast<uintptr_t>(shared);
  fillSharedMemory(args->image, args->imageBytes, thread, threads,
                   args->checkRaces);
  int registers = args->n / 2;
  uint32_t d[128];
  std::memcpy(d, args->d + thread * registers, sizeof(uint32_t) * registers);
  if (!args->groupPerStep)
    sieve_emu_wgmma_fence(kFenceSite);
  for (int step = 0; step < args->kSteps; ++step) {
    if (args->groupPerStep)
      sieve_emu_wgmma_fence(kFenceSite);
    const uint32_t *a = args->aRegisters
                            ? args->aRegisters + (step * threads + thread) * 4
                            : nullptr;
    sieve_emu_wgmma(kWgmmaSite, args->n, args->abType, args->cdType, a,
                    relocateDescriptor(args->descA[warpgroup][step], shared),
                    relocateDescriptor(args->descB[warpgroup][step], shared),
                    args->transA, args->transB, args->scaleD[step], d);
    if (args->groupPerStep) {
      sieve_emu_wgmma_commit(kCommitSite);
      sieve_emu_wgmma_wait(kWaitSite, 1);
    }
  }
  if (!args->groupPerStep)
    sieve_emu_wgmma_commit(kCommitSite);
  sieve_emu_wgmma_wait(kWaitSite, 0);
  if (args->barrierAfterWait)
    sieve_emu_barrier(kBarrierSite);
  std::memcpy(args->d + thread * registers, d, sizeof(uint32_t) * registers);
}

namespace {
/// One run of wgmmaKernel on a block of `problems.size()` warpgroups, each
/// with its own problem (all of the same type, n and k steps).
struct WgmmaRun {
  std::vector<Problem> problems;
  SharedImage image;
  uint64_t descA[kMaxWarpgroups][kMaxSteps] = {};
  uint64_t descB[kMaxWarpgroups][kMaxSteps] = {};
  int transA = 0, transB = 0;
  bool registerA = false;
  bool groupPerStep = false;
};

struct LaunchOptions {
  uint64_t scheduleSeed = 0;
  bool checkRaces = false;
  /// The threads meet at a barrier after their last wait (as an epilogue
  /// would), or each returns as soon as its own wait is done.
  bool barrierAfterWait = true;
  uint64_t *sharedAddress = nullptr;
};

/// Runs `run`; returns each warpgroup's D (64 x n) gathered from the
/// accumulator registers, or nothing if the launch failed.
std::vector<std::vector<uint32_t>>
launchWgmma(const WgmmaRun &run, const LaunchOptions &options = {}) {
  const Problem &first = run.problems.front();
  int warpgroups = static_cast<int>(run.problems.size());
  int threads = kWarpgroupThreads * warpgroups, registers = first.n / 2;
  WgmmaKernelArgs args;
  args.image = run.image.bytes.data();
  args.imageBytes = static_cast<int64_t>(run.image.bytes.size());
  args.n = first.n;
  args.abType = first.abType;
  args.cdType = getAccumulatorType(first.abType);
  args.transA = run.transA;
  args.transB = run.transB;
  args.kSteps = first.kSteps;
  args.warpgroups = warpgroups;
  args.groupPerStep = run.groupPerStep;
  for (int step = 0; step < first.kSteps; ++step)
    args.scaleD[step] = first.scaleD[step];
  std::memcpy(args.descA, run.descA, sizeof(args.descA));
  std::memcpy(args.descB, run.descB, sizeof(args.descB));

  std::vector<uint32_t> aRegisters;
  if (run.registerA) {
    aRegisters.assign(first.kSteps * threads * 4, 0);
    for (int w = 0; w < warpgroups; ++w) {
      std::vector<uint32_t> packed = packRegisterA(run.problems[w]);
      for (int step = 0; step < first.kSteps; ++step)
        for (int t = 0; t < kWarpgroupThreads; ++t)
          for (int r = 0; r < 4; ++r)
            aRegisters[(step * threads + w * kWarpgroupThreads + t) * 4 + r] =
                packed[(step * kWarpgroupThreads + t) * 4 + r];
    }
    args.aRegisters = aRegisters.data();
  }
  std::vector<uint32_t> dRegisters(threads * registers, 0);
  for (int w = 0; w < warpgroups; ++w)
    for (int t = 0; t < kWarpgroupThreads; ++t)
      for (int i = 0; i < registers; ++i) {
        Coord at = getDElement(t, i);
        dRegisters[(w * kWarpgroupThreads + t) * registers + i] =
            run.problems[w].d0[at.row * first.n + at.col];
      }
  args.d = dRegisters.data();
  args.sharedAddress = options.sharedAddress;
  args.checkRaces = options.checkRaces;
  args.barrierAfterWait = options.barrierAfterWait;

  const WgmmaKernelArgs *argsPointer = &args;
  void *params[] = {&argsPointer};
  sieve_emu_launch_desc desc =
      makeLaunch("wgmma", wgmmaKernel, params, 1, threads);
  // Part static, part dynamic: operands may lie in either.
  desc.static_shared_bytes = std::min<int64_t>(args.imageBytes, 4096);
  desc.dynamic_shared_bytes = args.imageBytes - desc.static_shared_bytes;
  desc.schedule_seed = options.scheduleSeed;
  desc.check_races = options.checkRaces;
  LaunchResult result = runLaunch(desc);
  EXPECT_EQ(result.status, 0) << result.error;
  if (result.status != 0)
    return {};
  std::vector<std::vector<uint32_t>> ds(warpgroups,
                                        std::vector<uint32_t>(64 * first.n));
  for (int w = 0; w < warpgroups; ++w)
    for (int t = 0; t < kWarpgroupThreads; ++t)
      for (int i = 0; i < registers; ++i) {
        Coord at = getDElement(t, i);
        ds[w][at.row * first.n + at.col] =
            dRegisters[(w * kWarpgroupThreads + t) * registers + i];
      }
  return ds;
}

/// Places an operand, `getBits(mn, k)` giving element (row m of A / column
/// n of B, k over all products), at the layout's descriptors; returns them.
template <typename GetBits>
void placeOperand(SharedImage &image, const OperandLayout &layout, int rows,
                  int kSteps, int elementBytes, GetBits getBits,
                  uint64_t *descriptors) {
  int stepK = 32 / elementBytes;
  for (int step = 0; step < kSteps; ++step) {
    uint64_t descriptor = layout.getDescriptor(step);
    descriptors[step] = descriptor;
    for (int mn = 0; mn < rows; ++mn)
      for (int k = 0; k < stepK; ++k) {
        int64_t offset = layout.spec.mnMajor
                             ? getMNMajorOffset(descriptor, mn, k)
                             : getKMajorOffset(descriptor, elementBytes, mn, k);
        image.put(offset, getBits(mn, step * stepK + k), elementBytes);
      }
  }
}

/// Lays out every warpgroup's A and B by `aSpec` and `bSpec`.
WgmmaRun makeRun(const std::vector<Problem> &problems, const OperandSpec &aSpec,
                 const OperandSpec &bSpec) {
  WgmmaRun run;
  run.problems = problems;
  run.transA = aSpec.mnMajor;
  run.transB = bSpec.mnMajor;
  run.registerA = aSpec.inRegisters;
  for (std::size_t w = 0; w < problems.size(); ++w) {
    const Problem &problem = problems[w];
    int bytes = getElementBytes(problem.abType);
    if (!aSpec.inRegisters) {
      OperandLayout a = makeLayout(aSpec, 64, problem.kSteps, bytes, 0);
      int64_t base = run.image.allocate(a.bytes);
      a = makeLayout(aSpec, 64, problem.kSteps, bytes, base);
      placeOperand(
          run.image, a, 64, problem.kSteps, bytes,
          [&](int m, int k) { return problem.getA(m, k); }, run.descA[w]);
    }
    OperandLayout b = makeLayout(bSpec, problem.n, problem.kSteps, bytes, 0);
    int64_t base = run.image.allocate(b.bytes);
    b = makeLayout(bSpec, problem.n, problem.kSteps, bytes, base);
    placeOperand(
        run.image, b, problem.n, problem.kSteps, bytes,
        [&](int col, int k) { return problem.getB(k, col); }, run.descB[w]);
  }
  return run;
}

/// Compares `actual` (64 x n) with the plain product, bit for bit; stops at
/// a few mismatches.
void expectProduct(const Problem &problem, const std::vector<uint32_t> &actual,
                   const std::string &what) {
  if (actual.empty())
    return; // the launch failed, already reported
  std::vector<uint32_t> expected = computeExpected(problem);
  int mismatches = 0;
  for (int m = 0; m < 64; ++m)
    for (int col = 0; col < problem.n; ++col) {
      uint32_t want = expected[m * problem.n + col],
               got = actual[m * problem.n + col];
      if (want == got)
        continue;
      if (++mismatches > 4)
        continue;
      if (problem.abType == SIEVE_EMU_TYPE_S8)
        ADD_FAILURE() << what << ": D(" << m << ", " << col << ") is "
                      << int32_t(got) << ", expected " << int32_t(want);
      else
        ADD_FAILURE() << what << ": D(" << m << ", " << col << ") is "
                      << bitsToFloat(got) << ", expected " << bitsToFloat(want);
    }
  EXPECT_EQ(mismatches, 0) << what << ": mismatches in all";
}

struct WgmmaCase {
  int abType = SIEVE_EMU_TYPE_BF16;
  int n = 64;
  int kSteps = 4;
  OperandSpec a, b;
  bool groupPerStep = false;
  int warpgroups = 1;
};

std::string describe(const WgmmaCase &c) {
  std::ostringstream text;
  text << getTypeName(c.abType) << " m64n" << c.n << "k" << getStepK(c.abType)
       << " x" << c.kSteps << ", A " << describe(c.a) << ", B "
       << describe(c.b);
  if (c.groupPerStep)
    text << ", a group per product";
  if (c.warpgroups > 1)
    text << ", " << c.warpgroups << " warpgroups";
  return text.str();
}

/// Runs a random problem of `c` and checks D.
void checkCase(const WgmmaCase &c, uint64_t seed,
               const std::vector<int> &scaleD = {},
               const LaunchOptions &options = {}) {
  std::vector<Problem> problems;
  for (int w = 0; w < c.warpgroups; ++w) {
    problems.push_back(makeRandomProblem(c.abType, c.n, c.kSteps, seed + w));
    if (!scaleD.empty())
      problems.back().scaleD = scaleD;
  }
  WgmmaRun run = makeRun(problems, c.a, c.b);
  run.groupPerStep = c.groupPerStep;
  std::vector<std::vector<uint32_t>> ds = launchWgmma(run, options);
  for (int w = 0; w < c.warpgroups && !ds.empty(); ++w)
    expectProduct(problems[w], ds[w], describe(c) + (w ? ", warpgroup 1" : ""));
}

OperandSpec kMajor(int swizzle, bool otherOrder = false) {
  OperandSpec spec;
  spec.swizzle = swizzle;
  spec.otherOrder = otherOrder;
  return spec;
}
OperandSpec mnMajor(int swizzle, bool otherOrder = false) {
  OperandSpec spec = kMajor(swizzle, otherOrder);
  spec.mnMajor = true;
  return spec;
}
OperandSpec inRegisters() {
  OperandSpec spec;
  spec.inRegisters = true;
  return spec;
}

/// Every swizzle, and both orders of the core matrices without one.
std::vector<OperandSpec> getEveryLayout(bool transposed) {
  auto make = transposed ? mnMajor : kMajor;
  return {make(kNoSwizzle, false), make(kNoSwizzle, true),
          make(kSwizzle32B, false), make(kSwizzle64B, false),
          make(kSwizzle128B, false)};
}

const int kFloatTypes[] = {SIEVE_EMU_TYPE_BF16, SIEVE_EMU_TYPE_F16};
} // namespace

//===----------------------------------------------------------------------===//
// Products
//===----------------------------------------------------------------------===//

// The descriptors' addresses are offsets into a 256 KiB-aligned shared
// memory, static and dynamic parts alike.
TEST(EmulatorWgmma, SharedMemoryIs256KiBAligned) {
  WgmmaRun run = makeRun({makeRandomProblem(SIEVE_EMU_TYPE_BF16, 8, 1, 1)},
                         kMajor(kNoSwizzle), kMajor(kNoSwizzle));
  uint64_t sharedAddress = 1;
  LaunchOptions options;
  options.sharedAddress = &sharedAddress;
  std::vector<std::vector<uint32_t>> ds = launchWgmma(run, options);
  EXPECT_EQ(sharedAddress % kSharedAlignment, 0u);
  ASSERT_FALSE(ds.empty());
  expectProduct(run.problems[0], ds[0], "m64n8k16");
}

// A and B K-major, the same layout for both, every swizzle, several n;
// four or five k steps accumulating (the first with scale_d = 0, so D's
// old contents are ignored).
TEST(EmulatorWgmma, KMajorEveryLayoutAndSwizzle) {
  uint64_t seed = 100;
  for (int type : kFloatTypes)
    for (const OperandSpec &layout : getEveryLayout(false))
      for (int n : {8, 64, 128, 256}) {
        WgmmaCase c;
        c.abType = type;
        c.n = n;
        c.kSteps = n == 64 ? 5 : 4; // 5: past a 128-byte swizzle's box
        c.a = c.b = layout;
        std::vector<int> scaleD(c.kSteps, 1);
        scaleD[0] = 0;
        checkCase(c, ++seed, scaleD);
      }
}

// Kernels mix layouts: A and B with different swizzles.
TEST(EmulatorWgmma, KMajorMixedSwizzles) {
  const std::pair<OperandSpec, OperandSpec> mixes[] = {
      {kMajor(kSwizzle128B), kMajor(kNoSwizzle)},
      {kMajor(kNoSwizzle, true), kMajor(kSwizzle32B)},
      {kMajor(kSwizzle64B), kMajor(kSwizzle128B)},
      {kMajor(kSwizzle32B), kMajor(kSwizzle64B)},
  };
  uint64_t seed = 200;
  for (int type : kFloatTypes)
    for (const auto &mix : mixes) {
      WgmmaCase c;
      c.abType = type;
      c.n = 96;
      c.kSteps = 4;
      c.a = mix.first;
      c.b = mix.second;
      checkCase(c, ++seed);
    }
}

// The layout the header spells out: a 64 x 64 bf16 tile, 128-byte swizzle,
// row r at 128 r, 16-byte chunk c at 128 r + 16 (c ^ (r % 8)); SBO = 1024;
// the k16 step j adds 32 j bytes to the start address. A is such a tile,
// and B (64 x 64, K-major: n rows of k) another.
TEST(EmulatorWgmma, Bf16TileOf64x64With128ByteSwizzle) {
  auto getTileOffset = [](int row, int k) {
    int chunk = k / 8;
    return 128 * row + 16 * (chunk ^ (row % 8)) + 2 * (k % 8);
  };
  Problem problem = makeRandomProblem(SIEVE_EMU_TYPE_BF16, 64, 4, 300);
  WgmmaRun run;
  run.problems = {problem};
  int64_t aBase = run.image.allocate(8192), bBase = run.image.allocate(8192);
  for (int row = 0; row < 64; ++row)
    for (int k = 0; k < 64; ++k) {
      run.image.put(aBase + getTileOffset(row, k), problem.getA(row, k), 2);
      run.image.put(bBase + getTileOffset(row, k), problem.getB(k, row), 2);
    }
  for (int step = 0; step < 4; ++step) {
    run.descA[0][step] =
        makeDescriptor(aBase + 32 * step, 16, 1024, kSwizzle128B);
    run.descB[0][step] =
        makeDescriptor(bBase + 32 * step, 16, 1024, kSwizzle128B);
    // The header's general formula agrees with the description.
    for (int row = 0; row < 64; ++row)
      for (int k = 0; k < 16; ++k)
        ASSERT_EQ(getKMajorOffset(run.descA[0][step], 2, row, k),
                  aBase + getTileOffset(row, 16 * step + k))
            << "step " << step << " row " << row << " k " << k;
  }
  std::vector<std::vector<uint32_t>> ds = launchWgmma(run);
  ASSERT_FALSE(ds.empty());
  expectProduct(problem, ds[0], "64x64 bf16 tiles, 128-byte swizzle");
}

// B MN-major (trans_b = 1): every swizzle and both orders without one.
TEST(EmulatorWgmma, BMNMajorEveryLayoutAndSwizzle) {
  uint64_t seed = 400;
  for (int type : kFloatTypes)
    for (const OperandSpec &layout : getEveryLayout(true))
      for (int n : {8, 64, 128, 256}) {
        WgmmaCase c;
        c.abType = type;
        c.n = n;
        c.kSteps = 4;
        c.a = kMajor(kSwizzle128B);
        c.b = layout;
        checkCase(c, ++seed);
      }
}

// A MN-major (trans_a = 1) as well.
TEST(EmulatorWgmma, AMNMajor) {
  uint64_t seed = 500;
  for (int type : kFloatTypes)
    for (const OperandSpec &layout : getEveryLayout(true)) {
      WgmmaCase c;
      c.abType = type;
      c.n = 32;
      c.kSteps = 3;
      c.a = layout;
      c.b = mnMajor(kSwizzle64B);
      checkCase(c, ++seed);
    }
}

// Attention's P V product: V stored [keys][d] with d = 128 as two boxes of
// 64 columns (the TMA box of a 128-byte swizzle): within a box, key row r
// at 128 r, 16-byte chunk c (columns 8 c .. 8 c + 7) at 128 r + 16 (c ^ (r %
// 8)); boxes LBO = 64 * 128 bytes apart, 8-key groups SBO = 1024 apart; the
// k16 step j starts 2048 j bytes further.
TEST(EmulatorWgmma, VAsTwo64ColumnBoxesWith128ByteSwizzle) {
  for (int type : kFloatTypes) {
    Problem problem = makeRandomProblem(type, 128, 4, 600 + type);
    WgmmaRun run;
    run.problems = {problem};
    run.transB = 1;
    const int64_t boxBytes = 64 * 128;
    int64_t vBase = run.image.allocate(2 * boxBytes);
    for (int key = 0; key < 64; ++key)
      for (int col = 0; col < 128; ++col)
        run.image.put(vBase + boxBytes * (col / 64) + 128 * key +
                          16 * (((col % 64) / 8) ^ (key % 8)) + 2 * (col % 8),
                      problem.getB(key, col), 2);
    OperandLayout a = makeLayout(kMajor(kSwizzle128B), 64, 4, 2, 0);
    int64_t aBase = run.image.allocate(a.bytes);
    a = makeLayout(kMajor(kSwizzle128B), 64, 4, 2, aBase);
    placeOperand(
        run.image, a, 64, 4, 2,
        [&](int m, int k) { return problem.getA(m, k); }, run.descA[0]);
    for (int step = 0; step < 4; ++step) {
      run.descB[0][step] =
          makeDescriptor(vBase + 2048 * step, boxBytes, 1024, kSwizzle128B);
      for (int col = 0; col < 128; ++col)
        for (int k = 0; k < 16; ++k) {
          int key = 16 * step + k;
          ASSERT_EQ(getMNMajorOffset(run.descB[0][step], col, k),
                    vBase + boxBytes * (col / 64) + 128 * key +
                        16 * (((col % 64) / 8) ^ (key % 8)) + 2 * (col % 8))
              << "step " << step << " column " << col << " k " << k;
        }
    }
    std::vector<std::vector<uint32_t>> ds = launchWgmma(run);
    ASSERT_FALSE(ds.empty());
    expectProduct(problem, ds[0],
                  std::string(getTypeName(type)) + " P V, V in two boxes");
  }
}

// A from registers (a != NULL) gives what A from shared memory gives.
TEST(EmulatorWgmma, RegisterAMatchesSharedA) {
  const int types[] = {SIEVE_EMU_TYPE_BF16, SIEVE_EMU_TYPE_F16,
                       SIEVE_EMU_TYPE_S8, SIEVE_EMU_TYPE_E4M3};
  uint64_t seed = 700;
  for (int type : types)
    for (const OperandSpec &bSpec :
         {kMajor(kSwizzle128B), kMajor(kNoSwizzle), mnMajor(kSwizzle64B)}) {
      if (bSpec.mnMajor && isEightBit(type))
        continue;
      int n = type == SIEVE_EMU_TYPE_S8 ? 48 : 40;
      Problem problem = makeRandomProblem(type, n, 3, ++seed);
      std::string what = std::string(getTypeName(type)) + " m64n" +
                         std::to_string(n) + ", B " + describe(bSpec);
      std::vector<std::vector<uint32_t>> fromShared =
          launchWgmma(makeRun({problem}, kMajor(kSwizzle128B), bSpec));
      std::vector<std::vector<uint32_t>> fromRegisters =
          launchWgmma(makeRun({problem}, inRegisters(), bSpec));
      ASSERT_FALSE(fromShared.empty());
      ASSERT_FALSE(fromRegisters.empty());
      expectProduct(problem, fromShared[0], what + ", A shared");
      expectProduct(problem, fromRegisters[0], what + ", A in registers");
      EXPECT_EQ(fromShared[0], fromRegisters[0]) << what;
    }
}

// s8 with s32 accumulators that wrap, k = 32 per product.
TEST(EmulatorWgmma, Int8KMajorWrapping) {
  uint64_t seed = 800;
  for (const OperandSpec &layout : getEveryLayout(false))
    for (int n : {16, 64, 256}) {
      WgmmaCase c;
      c.abType = SIEVE_EMU_TYPE_S8;
      c.n = n;
      c.kSteps = 3;
      c.a = c.b = layout;
      checkCase(c, ++seed);
    }
  // All 127s and -128s: every product sum wraps.
  Problem problem = makeRandomProblem(SIEVE_EMU_TYPE_S8, 16, 4, 1);
  for (std::size_t i = 0; i < problem.a.size(); ++i)
    problem.a[i] = i % 3 ? 0x80 : 0x7F;
  for (std::size_t i = 0; i < problem.b.size(); ++i)
    problem.b[i] = 0x80;
  std::vector<std::vector<uint32_t>> ds =
      launchWgmma(makeRun({problem}, kMajor(kSwizzle128B), kMajor(kNoSwizzle)));
  ASSERT_FALSE(ds.empty());
  expectProduct(problem, ds[0], "s8 extremes");
}

// e4m3 with f32 accumulators, k = 32 per product.
TEST(EmulatorWgmma, E4M3KMajor) {
  uint64_t seed = 900;
  for (const OperandSpec &layout : getEveryLayout(false))
    for (int n : {8, 64, 256}) {
      WgmmaCase c;
      c.abType = SIEVE_EMU_TYPE_E4M3;
      c.n = n;
      c.kSteps = 3;
      c.a = c.b = layout;
      checkCase(c, ++seed);
    }
}

// Sums run in ascending k with f32 rounding, across products too: a big
// product first absorbs the small ones after it; small ones first add up
// to something the big one keeps.
TEST(EmulatorWgmma, SumsInAscendingKAcrossProducts) {
  for (int type : kFloatTypes)
    for (int bigAt : {0, 47}) {
      Problem problem = makeRandomProblem(type, 8, 3, 1000);
      auto encode = [&](float value) {
        return type == SIEVE_EMU_TYPE_F16 ? floatToHalf(value)
                                          : floatToBFloat16(value);
      };
      // Row 0 of A times column 0 of B: 2^30 once, 16 (= 1 x 16) 47 times.
      for (int k = 0; k < 48; ++k) {
        problem.a[k] = encode(k == bigAt ? 32768.0f : 1.0f);
        problem.b[k * 8] = encode(k == bigAt ? 32768.0f : 16.0f);
      }
      problem.d0[0] = floatToBits(0.0f);
      std::vector<std::vector<uint32_t>> ds = launchWgmma(
          makeRun({problem}, kMajor(kSwizzle64B), kMajor(kSwizzle32B)));
      ASSERT_FALSE(ds.empty());
      double expected = bigAt == 0 ? std::ldexp(1.0, 30)
                                   : std::ldexp(1.0, 30) + 768.0; // 752 -> 768
      EXPECT_EQ(bitsToFloat(ds[0][0]), expected)
          << getTypeName(type) << " big product at k = " << bigAt;
      expectProduct(problem, ds[0], getTypeName(type));
    }
}

// scale_d = 0 ignores D's old contents (here NaN and infinities), on the
// first product or a later one.
TEST(EmulatorWgmma, ScaleDZeroIgnoresOldD) {
  const std::vector<int> scales[] = {{0, 1, 1}, {1, 1, 0}, {0, 0, 1}};
  uint64_t seed = 1100;
  for (int type : {SIEVE_EMU_TYPE_BF16, SIEVE_EMU_TYPE_F16, SIEVE_EMU_TYPE_S8,
                   SIEVE_EMU_TYPE_E4M3})
    for (const std::vector<int> &scaleD : scales) {
      Problem problem = makeRandomProblem(type, 64, 3, ++seed);
      problem.scaleD = scaleD;
      if (scaleD[0] == 0)
        for (std::size_t i = 0; i < problem.d0.size(); ++i)
          problem.d0[i] = i % 3 == 0   ? 0x7FC00000u  // NaN
                          : i % 3 == 1 ? 0xFF800000u  // -inf
                                       : 0x7F800000u; // +inf
      std::vector<std::vector<uint32_t>> ds = launchWgmma(
          makeRun({problem}, kMajor(kSwizzle128B), kMajor(kSwizzle128B)));
      ASSERT_FALSE(ds.empty());
      std::ostringstream what;
      what << getTypeName(type) << " scale_d";
      for (int scale : scaleD)
        what << " " << scale;
      expectProduct(problem, ds[0], what.str());
    }
}

// Each product in a group of its own, one kept in flight (wait(1)) while
// the next is issued into the same accumulators.
TEST(EmulatorWgmma, AGroupPerProduct) {
  WgmmaCase c;
  c.n = 64;
  c.kSteps = 5;
  c.a = kMajor(kSwizzle128B);
  c.b = mnMajor(kSwizzle128B);
  c.groupPerStep = true;
  checkCase(c, 1200);
}

// Two warpgroups in a block, each with its own operands and descriptors.
TEST(EmulatorWgmma, TwoWarpgroupsEachWithItsOwnOperands) {
  WgmmaCase c;
  c.n = 128;
  c.kSteps = 2;
  c.a = kMajor(kSwizzle128B);
  c.b = kMajor(kSwizzle64B);
  c.warpgroups = 2;
  checkCase(c, 1300);
  c.a = inRegisters();
  c.abType = SIEVE_EMU_TYPE_F16;
  c.b = mnMajor(kNoSwizzle);
  checkCase(c, 1400);
}

// Threads and warps reach the fence, commit and wait in any order: random
// schedules, with and without the race check (the copy into shared memory,
// fenced for the async proxy before the barrier, is no race with the
// products' reads after it).
TEST(EmulatorWgmma, AnyScheduleWithOrWithoutTheRaceCheck) {
  WgmmaCase c;
  c.n = 64;
  c.kSteps = 3;
  c.a = kMajor(kSwizzle128B);
  c.b = mnMajor(kSwizzle128B);
  c.warpgroups = 2;
  for (uint64_t scheduleSeed : {0, 1, 2, 3})
    for (bool checkRaces : {false, true})
      for (bool groupPerStep : {false, true}) {
        SCOPED_TRACE(testing::Message() << "schedule seed " << scheduleSeed
                                        << (checkRaces ? ", race check" : ""));
        LaunchOptions options;
        options.scheduleSeed = scheduleSeed;
        options.checkRaces = checkRaces;
        c.groupPerStep = groupPerStep;
        checkCase(c, 1600 + scheduleSeed, {}, options);
      }
}

// Nothing ties a thread to the others after its own wait: fence, wgmma,
// commit, wait(0) and return is a whole kernel, even when some threads
// return before others of their warpgroup have committed or waited.
TEST(EmulatorWgmma, ThreadsReturnRightAfterTheirOwnWait) {
  WgmmaCase c;
  c.n = 32;
  c.kSteps = 2;
  c.a = kMajor(kSwizzle128B);
  c.b = kMajor(kNoSwizzle);
  for (int warpgroups : {1, 2})
    for (uint64_t scheduleSeed : {0, 1, 2})
      for (bool groupPerStep : {false, true}) {
        SCOPED_TRACE(testing::Message() << "schedule seed " << scheduleSeed);
        LaunchOptions options;
        options.scheduleSeed = scheduleSeed;
        options.barrierAfterWait = false;
        c.warpgroups = warpgroups;
        c.groupPerStep = groupPerStep;
        checkCase(c, 1700 + scheduleSeed, {}, options);
      }
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

namespace {
// The key words each misuse's message must contain: short phrases of the
// emulator's messages, one place to change each.
const char *const kNotWholeWarpgroupsMessage = "whole warpgroups";
const char *const kNoFenceMessage = "without a wgmma.fence";
const char *const kNotWaitedMessage = "no wgmma.wait_group retired";
const char *const kNotCommittedMessage = "no wgmma.commit_group closed";
const char *const kDivergentMessage = "divergent wgmma";
const char *const kOutsideMessage = "outside the block's";
const char *const kBaseOffsetMessage = "base offset 1";
const char *const kSwizzleStartMessage = "not aligned to the swizzle pattern";
const char *const kTransposedInt8Message = "K-major operands only";
const char *const kInvalidNMessage = "m64n20k16";
const char *const kInvalidInt8NMessage = "m64n40k32";
const char *const kNTooLargeMessage = "m64n264k16";
const char *const kInFlightMessage = "in flight";
const char *const kReturnedMessage = "returned while";
const char *const kNoProxyFenceMessage = "fence.proxy.async";

/// One misuse each, run by wgmmaMisuseKernel.
enum Misuse {
  kNotWholeWarpgroups,
  kNoFence,
  kNotWaited,
  kNotCommitted,
  kDivergentDescriptors,
  kOutsideSharedMemory,
  kNonZeroBaseOffset,
  kMisalignedSwizzledStart,
  kTransposedInt8,
  kInvalidN,
  kInvalidInt8N,
  kNTooLarge,
  kSharedWriteInFlight,
  kAsyncCopyInFlight,
  kSignalledBeforeWait,
  kThreadReturnsEarly,
  kStoreWithoutProxyFence,
  kAsyncCopyWithoutProxyFence,
  // Not errors: the same accesses once every thread has waited, and reads.
  kSharedReadInFlight,
  kStoreWithProxyFence,
  kAsyncCopyWithProxyFence,
  kSharedWriteAfterWait,
  kAsyncCopyAfterWait,
};

struct MisuseCase {
  const char *name;
  Misuse misuse;
  uint32_t threads;
  int checkRaces;
  const char *message; // nullptr: the launch must succeed
  const char *site;    // the operation named, if any is checked
  const char *thread;  // the thread named, if it is determined
};

const MisuseCase kMisuseCases[] = {
    {"block of 96 threads", kNotWholeWarpgroups, 96, 0,
     kNotWholeWarpgroupsMessage, nullptr, nullptr},
    {"no fence", kNoFence, 128, 0, kNoFenceMessage, kWgmmaSite, nullptr},
    {"committed, not waited", kNotWaited, 128, 0, kNotWaitedMessage, nullptr,
     nullptr},
    {"not committed", kNotCommitted, 128, 0, kNotCommittedMessage, nullptr,
     nullptr},
    {"divergent descriptors", kDivergentDescriptors, 128, 0, kDivergentMessage,
     kWgmmaSite, "(37,0,0)"},
    {"operand outside shared memory", kOutsideSharedMemory, 128, 0,
     kOutsideMessage, kWgmmaSite, nullptr},
    {"non-zero base offset", kNonZeroBaseOffset, 128, 0, kBaseOffsetMessage,
     kWgmmaSite, nullptr},
    {"swizzled start with bit 7 set", kMisalignedSwizzledStart, 128, 0,
     kSwizzleStartMessage, kWgmmaSite, nullptr},
    {"trans_b on s8", kTransposedInt8, 128, 0, kTransposedInt8Message,
     kWgmmaSite, nullptr},
    {"n = 20", kInvalidN, 128, 0, kInvalidNMessage, kWgmmaSite, nullptr},
    {"s8 with n = 40", kInvalidInt8N, 128, 0, kInvalidInt8NMessage, kWgmmaSite,
     nullptr},
    {"n = 264", kNTooLarge, 128, 0, kNTooLargeMessage, kWgmmaSite, nullptr},
    {"shared write before the wait", kSharedWriteInFlight, 128, 1,
     kInFlightMessage, kStoreSite, "(0,0,0)"},
    {"cp.async into the operand before the wait", kAsyncCopyInFlight, 128, 0,
     kInFlightMessage, kCopySite, "(0,0,0)"},
    {"another warpgroup signalled before the wait", kSignalledBeforeWait, 256,
     0, kInFlightMessage, kStoreSite, "(128,0,0)"},
    {"a thread returns", kThreadReturnsEarly, 128, 0, kReturnedMessage,
     kWgmmaSite, "(5,0,0)"},
    {"store, no fence.proxy.async", kStoreWithoutProxyFence, 128, 1,
     kNoProxyFenceMessage, kWgmmaSite, nullptr},
    {"cp.async, no fence.proxy.async", kAsyncCopyWithoutProxyFence, 128, 1,
     kNoProxyFenceMessage, kWgmmaSite, nullptr},
    {"shared read before the wait", kSharedReadInFlight, 128, 1, nullptr,
     nullptr, nullptr},
    {"store, fence.proxy.async", kStoreWithProxyFence, 128, 1, nullptr, nullptr,
     nullptr},
    {"cp.async, fence.proxy.async", kAsyncCopyWithProxyFence, 128, 1, nullptr,
     nullptr, nullptr},
    {"shared write after wait and barrier", kSharedWriteAfterWait, 128, 1,
     nullptr, nullptr, nullptr},
    {"cp.async after wait and barrier", kAsyncCopyAfterWait, 128, 1, nullptr,
     nullptr, nullptr},
};

// Shared memory of the misuse kernel: 16 KiB of zeros; A (64 x 16 bf16, or
// 64 x 32 s8) at 0 and B (64 rows of n, same bytes) at 4096, K-major
// without swizzle: LBO 128, SBO 256, 2 KiB each.
constexpr int64_t kMisuseSharedBytes = 16384;
constexpr int64_t kMisuseBOffset = 4096;

uint64_t makeSharedDescriptor(const uint8_t *shared, int64_t offset,
                              int64_t lbo, int64_t sbo, int swizzle,
                              int baseOffset = 0) {
  return relocateDescriptor(
      makeDescriptor(offset, lbo, sbo, swizzle, baseOffset), shared);
}
} // namespace

extern "C" void wgmmaMisuseKernel(void **params) {
  Misuse misuse = static_cast<Misuse>(getParam<int>(params, 0));
  alignas(16) static const uint8_t global[16] = {};
  uint8_t *shared = sieve_emu_shared_memory();
  int64_t thread = getLinearThreadId(), threads = sieve_emu_block_dim(0);
  for (int64_t offset = 16 * thread; offset < kMisuseSharedBytes;
       offset += 16 * threads)
    std::memset(shared + offset, 0, 16);
  // Thread 0 rewrites 16 bytes of B, the race check seeing it.
  uint8_t *operandB = shared + kMisuseBOffset + 64;
  if (thread == 0) {
    switch (misuse) {
    case kStoreWithoutProxyFence:
    case kStoreWithProxyFence:
      sieve_emu_shared_access(kStoreSite, operandB, 16, 1);
      std::memset(operandB, 0, 16);
      break;
    case kAsyncCopyWithoutProxyFence:
    case kAsyncCopyWithProxyFence:
      sieve_emu_cp_async(kCopySite, operandB, global, 16, 16);
      sieve_emu_cp_async_commit();
      sieve_emu_cp_async_wait(0);
      break;
    default:
      break;
    }
  }
  if (misuse != kStoreWithoutProxyFence &&
      misuse != kAsyncCopyWithoutProxyFence)
    sieve_emu_fence_proxy_async(kProxyFenceSite);
  sieve_emu_barrier(kBarrierSite);

  int n = 64, abType = SIEVE_EMU_TYPE_BF16, cdType = SIEVE_EMU_TYPE_F32,
      transB = 0;
  uint64_t descA = makeSharedDescriptor(shared, 0, 128, 256, kNoSwizzle);
  uint64_t descB =
      makeSharedDescriptor(shared, kMisuseBOffset, 128, 256, kNoSwizzle);
  switch (misuse) {
  case kDivergentDescriptors:
    if (thread == 37)
      descB = makeSharedDescriptor(shared, 8192, 128, 256, kNoSwizzle);
    break;
  case kOutsideSharedMemory: // 2 KiB from 15 KiB
    descB = makeSharedDescriptor(shared, kMisuseSharedBytes - 1024, 128, 256,
                                 kNoSwizzle);
    break;
  case kNonZeroBaseOffset:
    descB = makeSharedDescriptor(shared, kMisuseBOffset, 128, 256, kNoSwizzle,
                                 /*baseOffset=*/1);
    break;
  case kMisalignedSwizzledStart: // 8 KiB from 4 KiB + 128
    descB = makeSharedDescriptor(shared, kMisuseBOffset + 128, 16, 1024,
                                 kSwizzle128B);
    break;
  case kTransposedInt8:
    abType = SIEVE_EMU_TYPE_S8;
    cdType = SIEVE_EMU_TYPE_S32;
    transB = 1;
    break;
  case kInvalidN:
    n = 20;
    break;
  case kInvalidInt8N: // the ISA's s8 n: 8, 16, 24, then multiples of 16
    abType = SIEVE_EMU_TYPE_S8;
    cdType = SIEVE_EMU_TYPE_S32;
    n = 40;
    break;
  case kNTooLarge:
    n = 264;
    break;
  case kThreadReturnsEarly:
    if (thread == 5)
      return;
    break;
  default:
    break;
  }

  if (misuse == kSignalledBeforeWait && thread >= kWarpgroupThreads) {
    // Warpgroup 1 multiplies nothing: once warpgroup 0 says so, thread 128
    // rewrites B, which warpgroup 0's products still read.
    sieve_emu_named_barrier(kNamedBarrierSite, 1, 256, 1);
    if (thread == kWarpgroupThreads)
      sieve_emu_shared_access(kStoreSite, operandB, 4, 1);
    sieve_emu_barrier(kBarrierSite);
    return;
  }
  uint32_t d[160] = {};
  if (misuse != kNoFence)
    sieve_emu_wgmma_fence(kFenceSite);
  sieve_emu_wgmma(kWgmmaSite, n, abType, cdType, nullptr, descA, descB, 0,
                  transB, 0, d);
  if (misuse == kNotCommitted)
    return;
  sieve_emu_wgmma_commit(kCommitSite);
  if (misuse == kNotWaited)
    return;
  if (misuse == kSignalledBeforeWait)
    sieve_emu_named_barrier(kNamedBarrierSite, 1, 256, 0);
  if (thread == 0) {
    switch (misuse) {
    case kSharedWriteInFlight:
      sieve_emu_shared_access(kStoreSite, operandB, 4, 1);
      break;
    case kSharedReadInFlight:
      sieve_emu_shared_access(kLoadSite, operandB, 4, 0);
      break;
    case kAsyncCopyInFlight:
      sieve_emu_cp_async(kCopySite, operandB, global, 16, 16);
      sieve_emu_cp_async_commit();
      sieve_emu_cp_async_wait(0);
      break;
    default:
      break;
    }
  }
  sieve_emu_wgmma_wait(kWaitSite, 0);
  sieve_emu_barrier(kBarrierSite);
  if (thread == 0) {
    switch (misuse) {
    case kSharedWriteAfterWait:
      sieve_emu_shared_access(kStoreSite, operandB, 4, 1);
      operandB[0] = 1;
      break;
    case kAsyncCopyAfterWait:
      sieve_emu_cp_async(kCopySite, operandB, global, 16, 16);
      sieve_emu_cp_async_commit();
      sieve_emu_cp_async_wait(0);
      break;
    default:
      break;
    }
  }
}

namespace {
/// A product that must work: the emulator survived the failure before it.
void expectHealthyWgmma() {
  WgmmaCase c;
  c.n = 16;
  c.kSteps = 2;
  c.a = kMajor(kSwizzle128B);
  c.b = kMajor(kNoSwizzle);
  checkCase(c, 1500);
}
} // namespace

// Each misuse ends the launch with a one-line error containing its key
// phrase (the k...Message constants above), naming the operation at fault
// and the thread where those are determined:
//  - a block of 96 threads (not whole warpgroups);
//  - wgmma with no fence before it in its group;
//  - returning with a committed group that no wait retired;
//  - returning with an uncommitted product;
//  - thread 37 passing a different (valid) desc_b;
//  - B's 2 KiB starting 1 KiB before the end of shared memory;
//  - a base offset of 1 (descriptor bits 49-51);
//  - a 128-byte-swizzled start with bit 7 set;
//  - trans_b = 1 with s8;
//  - n = 20, s8 with n = 40, n = 264;
//  - thread 0 writing B's bytes (sieve_emu_shared_access, is_write = 1,
//    race check on) after the commit, before the wait;
//  - thread 0 issuing and completing a cp.async into B's bytes (race check
//    off) before the wait;
//  - warpgroup 0 signalling warpgroup 1 (bar.arrive) before its wait, and
//    thread 128 then writing B's bytes (race check off): a wait lets the
//    other threads run first, as the hardware's products run until then;
//  - thread 5 returning while the others wait in the wgmma;
//  - thread 0 writing B's bytes before the barrier (a store, or a completed
//    cp.async; race check on) with no fence.proxy.async after.
// Reading the operand before the wait, writing it (store or cp.async) after
// every thread waited and a barrier, and writing it before the products
// with a fence.proxy.async after, are fine.
TEST(EmulatorWgmmaErrors, Misuses) {
  for (const MisuseCase &misuseCase : kMisuseCases) {
    SCOPED_TRACE(misuseCase.name);
    int misuse = misuseCase.misuse;
    void *params[] = {&misuse};
    sieve_emu_launch_desc desc =
        makeLaunch("misuse", wgmmaMisuseKernel, params, 1, misuseCase.threads);
    desc.static_shared_bytes = kMisuseSharedBytes;
    desc.check_races = misuseCase.checkRaces;
    testing::internal::CaptureStderr();
    LaunchResult result = runLaunch(desc);
    std::string stderrText = testing::internal::GetCapturedStderr();
    if (!misuseCase.message) {
      EXPECT_EQ(result.status, 0) << result.error;
      continue;
    }
    EXPECT_NE(result.status, 0);
    EXPECT_CONTAINS(result.error, misuseCase.message);
    EXPECT_CONTAINS(result.error, "block (0,0,0)");
    EXPECT_CONTAINS(result.error, "thread (");
    if (misuseCase.site) {
      EXPECT_CONTAINS(result.error, misuseCase.site);
    }
    if (misuseCase.thread) {
      EXPECT_CONTAINS(result.error, std::string("thread ") + misuseCase.thread);
    }
    EXPECT_EQ(result.error.find('\n'), std::string::npos) << result.error;
    EXPECT_EQ(stderrText, result.error + "\n");
    expectHealthyWgmma();
  }
}
