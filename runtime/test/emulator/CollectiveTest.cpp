//===- CollectiveTest.cpp - Shuffles, votes and ldmatrix ------------------===//

#include "EmulatorTestUtils.h"

#include <gtest/gtest.h>

#include <vector>

using namespace sieve::test;

namespace {
const char *const kShuffleSite = "coll.mlir:3:7 gpu.shuffle in kernel test";
const char *const kVoteSite = "coll.mlir:4:7 vote in kernel test";
const char *const kLdMatrixSite = "coll.mlir:5:7 nvgpu.ldmatrix in kernel test";
const char *const kBarrierSite = "coll.mlir:6:7 gpu.barrier in kernel test";

struct ShuffleConfig {
  int32_t mode, width, offset;
};

std::vector<ShuffleConfig> getShuffleConfigs() {
  std::vector<ShuffleConfig> configs;
  for (int32_t mode = 0; mode < 4; ++mode)
    for (int32_t width : {1, 2, 4, 8, 16, 32})
      for (int32_t offset : {0, 1, 3, 5, 8, 16, 31, 33, -1})
        configs.push_back({mode, width, offset});
  return configs;
}

/// idx lanes read from lanes of their own choosing; vary it per lane.
int32_t getLaneOffset(const ShuffleConfig &config, int64_t lane) {
  return config.mode == 3 ? config.offset + static_cast<int32_t>(lane % 5)
                          : config.offset;
}

uint32_t getShuffleValue(int64_t thread) {
  return static_cast<uint32_t>(thread) * 1000u + 7u;
}
} // namespace

extern "C" void shuffleKernel(void **params) {
  auto *results = getParam<uint32_t *>(params, 0);
  auto *valids = getParam<int32_t *>(params, 1);
  auto *configs = getParam<const ShuffleConfig *>(params, 2);
  int numConfigs = getParam<int>(params, 3);
  int64_t n = sieve_emu_block_dim(0), tid = sieve_emu_thread_id(0);
  for (int i = 0; i < numConfigs; ++i) {
    int32_t valid = -1;
    results[i * n + tid] =
        sieve_emu_shuffle(kShuffleSite, configs[i].mode, getShuffleValue(tid),
                          getLaneOffset(configs[i], sieve_emu_lane_id()),
                          configs[i].width, &valid);
    valids[i * n + tid] = valid;
  }
}

// gpu.shuffle: lanes form segments of `width`; the source lane is computed
// from the lane's position in its segment and must stay in it, else the
// lane keeps its value and valid is 0. A source lane beyond a partial last
// warp gives poison with valid 1, as an undefined GPU value.
TEST(EmulatorCollectives, ShuffleAllModesAndWidths) {
  std::vector<ShuffleConfig> configs = getShuffleConfigs();
  int numConfigs = static_cast<int>(configs.size());
  for (uint32_t numThreads : {64u, 40u}) {
    std::vector<uint32_t> results(configs.size() * numThreads, 0);
    std::vector<int32_t> valids(configs.size() * numThreads, -1);
    uint32_t *resultPointer = results.data();
    int32_t *validPointer = valids.data();
    const ShuffleConfig *configPointer = configs.data();
    void *params[] = {&resultPointer, &validPointer, &configPointer,
                      &numConfigs};
    LaunchResult result =
        runLaunch(makeLaunch("shuffle", shuffleKernel, params, 1, numThreads));
    ASSERT_EQ(result.status, 0) << result.error;
    EXPECT_EQ(result.stats.collectives,
              configs.size() * ((numThreads + 31) / 32));

    for (std::size_t i = 0; i < configs.size(); ++i) {
      const ShuffleConfig &config = configs[i];
      for (uint32_t tid = 0; tid < numThreads; ++tid) {
        int64_t lane = tid % 32, warpBase = tid - lane;
        int64_t segment = lane / config.width * config.width;
        int64_t position = lane % config.width;
        int64_t offset = getLaneOffset(config, lane), source;
        switch (config.mode) {
        case 0:
          source = position ^ static_cast<uint32_t>(offset);
          break;
        case 1:
          source = position - offset;
          break;
        case 2:
          source = position + offset;
          break;
        default:
          source = offset;
          break;
        }
        uint32_t expected = getShuffleValue(tid);
        int32_t expectedValid = 0;
        if (source >= 0 && source < config.width) {
          int64_t sourceThread = warpBase + segment + source;
          expected = sourceThread < numThreads ? getShuffleValue(sourceThread)
                                               : 0xFFFFFFFFu;
          expectedValid = 1;
        }
        EXPECT_EQ(results[i * numThreads + tid], expected)
            << "mode " << config.mode << " width " << config.width << " offset "
            << offset << " thread " << tid << " of " << numThreads;
        EXPECT_EQ(valids[i * numThreads + tid], expectedValid)
            << "mode " << config.mode << " width " << config.width << " offset "
            << offset << " thread " << tid;
      }
    }
  }
}

namespace {
int32_t getPredicate(int pattern, int64_t thread) {
  switch (pattern) {
  case 0:
    return 0;
  case 1:
    return 5; // any non-zero value is true
  case 2:
    return thread % 3 == 0;
  default:
    return thread != 37;
  }
}
} // namespace

extern "C" void voteKernel(void **params) {
  auto *out = getParam<uint32_t *>(params, 0);
  int64_t n = sieve_emu_block_dim(0), tid = sieve_emu_thread_id(0);
  for (int pattern = 0; pattern < 4; ++pattern)
    for (int kind = 0; kind < 3; ++kind)
      out[(pattern * 3 + kind) * n + tid] =
          sieve_emu_vote(kVoteSite, kind, getPredicate(pattern, tid));
}

TEST(EmulatorCollectives, VotesOverFullAndPartialWarps) {
  const uint32_t numThreads = 72; // warps of 32, 32 and 8 lanes
  std::vector<uint32_t> out(12 * numThreads, 0xDEAD);
  uint32_t *pointer = out.data();
  void *params[] = {&pointer};
  LaunchResult result =
      runLaunch(makeLaunch("vote", voteKernel, params, 1, numThreads));
  ASSERT_EQ(result.status, 0) << result.error;
  for (int pattern = 0; pattern < 4; ++pattern)
    for (uint32_t tid = 0; tid < numThreads; ++tid) {
      uint32_t warpBase = tid / 32 * 32;
      uint32_t lanes = std::min(32u, numThreads - warpBase);
      uint32_t ballot = 0;
      for (uint32_t lane = 0; lane < lanes; ++lane)
        if (getPredicate(pattern, warpBase + lane))
          ballot |= 1u << lane;
      uint32_t all = lanes == 32 ? 0xFFFFFFFFu : (1u << lanes) - 1;
      EXPECT_EQ(out[(pattern * 3 + 0) * numThreads + tid], ballot != 0u)
          << "any, pattern " << pattern << " thread " << tid;
      EXPECT_EQ(out[(pattern * 3 + 1) * numThreads + tid], ballot == all)
          << "all, pattern " << pattern << " thread " << tid;
      EXPECT_EQ(out[(pattern * 3 + 2) * numThreads + tid], ballot)
          << "ballot, pattern " << pattern << " thread " << tid;
    }
}

namespace {
/// Shared-memory layout of the ldmatrix test: 4 stored matrices of 8 rows,
/// 16 data bytes per row and a pitch of 32 bytes.
constexpr int kRowPitch = 32;
/// Matrix i's logical row r is stored in row (3r + i) % 8: lanes pass
/// arbitrary row addresses, not a contiguous block.
int getStoredRow(int matrix, int row) { return (3 * row + matrix) % 8; }
uint16_t getStoredValue(int matrix, int storedRow, int col) {
  return static_cast<uint16_t>(matrix * 1000 + storedRow * 10 + col);
}
} // namespace

extern "C" void ldmatrixKernel(void **params) {
  auto *out = getParam<uint32_t *>(params, 0);
  uint8_t *shared = sieve_emu_shared_memory();
  int64_t tid = sieve_emu_thread_id(0);
  // Thread t fills stored row t (of 32: 4 matrices x 8 rows).
  int matrix = static_cast<int>(tid / 8), storedRow = static_cast<int>(tid % 8);
  auto *row = reinterpret_cast<uint16_t *>(shared + tid * kRowPitch);
  for (int col = 0; col < 8; ++col)
    row[col] = getStoredValue(matrix, storedRow, col);
  sieve_emu_barrier(kBarrierSite);

  int config = 0;
  for (int numMatrices : {1, 2, 4})
    for (int transpose : {0, 1}) {
      const void *address = nullptr;
      if (tid < 8 * numMatrices)
        address =
            shared + (matrix * 8 + getStoredRow(matrix, storedRow)) * kRowPitch;
      uint32_t fragment[4] = {0, 0, 0, 0};
      sieve_emu_ldmatrix(kLdMatrixSite, address, numMatrices, transpose,
                         fragment);
      for (int i = 0; i < 4; ++i)
        out[(config * 32 + tid) * 4 + i] = fragment[i];
      ++config;
    }
}

TEST(EmulatorCollectives, LdMatrixMatchesDirectIndexing) {
  std::vector<uint32_t> out(6 * 32 * 4, 0);
  uint32_t *pointer = out.data();
  void *params[] = {&pointer};
  sieve_emu_launch_desc desc =
      makeLaunch("ldmatrix", ldmatrixKernel, params, 1, 32);
  desc.static_shared_bytes = 32 * kRowPitch;
  desc.check_races = 1;
  LaunchResult result = runLaunch(desc);
  ASSERT_EQ(result.status, 0) << result.error;

  int config = 0;
  for (int numMatrices : {1, 2, 4})
    for (int transpose : {0, 1}) {
      for (int lane = 0; lane < 32; ++lane)
        for (int i = 0; i < 4; ++i) {
          uint32_t got = out[(config * 32 + lane) * 4 + i];
          if (i >= numMatrices) {
            EXPECT_EQ(got, 0u) << "untouched fragment register";
            continue;
          }
          // M_i[r][c] is stored row getStoredRow(i, r), column c.
          auto element = [&](int r, int c) {
            return static_cast<uint32_t>(
                getStoredValue(i, getStoredRow(i, r), c));
          };
          int g = lane / 4, t = lane % 4;
          uint32_t low = transpose ? element(2 * t, g) : element(g, 2 * t);
          uint32_t high =
              transpose ? element(2 * t + 1, g) : element(g, 2 * t + 1);
          EXPECT_EQ(got, low | high << 16)
              << "x" << numMatrices << (transpose ? ".trans" : "") << " lane "
              << lane << " matrix " << i;
        }
      ++config;
    }
}
