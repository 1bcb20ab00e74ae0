//===- LaunchTest.cpp - Grids, ids, barriers and shared memory ------------===//

#include "EmulatorTestUtils.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

using namespace sieve::test;

namespace {
const char *const kBarrierSite = "launch.mlir:10:3 gpu.barrier in kernel test";
const char *const kSecondBarrierSite =
    "launch.mlir:12:3 gpu.barrier in kernel test";

/// What one thread saw of its ids.
struct IdRecord {
  int64_t thread[3], block[3], blockDim[3], gridDim[3], lane;
};
} // namespace

extern "C" void recordIdsKernel(void **params) {
  auto *records = getParam<IdRecord *>(params, 0);
  int64_t threadsPerBlock =
      sieve_emu_block_dim(0) * sieve_emu_block_dim(1) * sieve_emu_block_dim(2);
  IdRecord &record =
      records[getLinearBlockId() * threadsPerBlock + getLinearThreadId()];
  for (int dim = 0; dim < 3; ++dim) {
    record.thread[dim] = sieve_emu_thread_id(dim);
    record.block[dim] = sieve_emu_block_id(dim);
    record.blockDim[dim] = sieve_emu_block_dim(dim);
    record.gridDim[dim] = sieve_emu_grid_dim(dim);
  }
  record.lane = sieve_emu_lane_id();
}

TEST(EmulatorLaunch, IdsAndDimsOverMultiDimensionalGrids) {
  const uint32_t grid[3] = {3, 2, 2}, block[3] = {5, 3, 4};
  const int threadsPerBlock = 5 * 3 * 4, numBlocks = 3 * 2 * 2;
  std::vector<IdRecord> records(threadsPerBlock * numBlocks);
  std::memset(records.data(), 0xAB, records.size() * sizeof(IdRecord));
  IdRecord *pointer = records.data();
  void *params[] = {&pointer};
  sieve_emu_launch_desc desc =
      makeLaunch("ids", recordIdsKernel, params, grid[0], block[0], grid[1],
                 block[1], grid[2], block[2]);
  LaunchResult result = runLaunch(desc);
  ASSERT_EQ(result.status, 0) << result.error;
  EXPECT_EQ(result.stats.blocks, uint64_t(numBlocks));
  EXPECT_EQ(result.stats.threads, uint64_t(numBlocks * threadsPerBlock));

  for (int b = 0; b < numBlocks; ++b)
    for (int t = 0; t < threadsPerBlock; ++t) {
      const IdRecord &record = records[b * threadsPerBlock + t];
      // x varies fastest, for threads and blocks alike.
      int64_t expectedThread[3] = {t % 5, t / 5 % 3, t / 15};
      int64_t expectedBlock[3] = {b % 3, b / 3 % 2, b / 6};
      for (int dim = 0; dim < 3; ++dim) {
        EXPECT_EQ(record.thread[dim], expectedThread[dim]);
        EXPECT_EQ(record.block[dim], expectedBlock[dim]);
        EXPECT_EQ(record.blockDim[dim], block[dim]);
        EXPECT_EQ(record.gridDim[dim], grid[dim]);
      }
      EXPECT_EQ(record.lane, t % 32);
    }
}

// Every thread publishes a value, waits, and reads other threads' values:
// after a barrier, everything written before it is visible, in every round
// and under every schedule.
extern "C" void exchangeThroughBarriersKernel(void **params) {
  auto *out = getParam<int64_t *>(params, 0);
  int rounds = getParam<int>(params, 1);
  auto *shared = reinterpret_cast<int64_t *>(sieve_emu_shared_memory());
  int64_t n = sieve_emu_block_dim(0), tid = sieve_emu_thread_id(0);
  int64_t sum = 0;
  for (int round = 0; round < rounds; ++round) {
    shared[tid] = tid * 1000 + round;
    sieve_emu_barrier(kBarrierSite);
    int64_t other = (tid + 1 + round * 7) % n;
    sum += shared[other] - (other * 1000 + round); // 0 if visible
    sum +=
        shared[(tid + n - 1) % n] == ((tid + n - 1) % n) * 1000 + round ? 0 : 1;
    sieve_emu_barrier(kSecondBarrierSite);
  }
  out[getLinearBlockId() * n + tid] = sum;
}

TEST(EmulatorLaunch, BarrierMakesEarlierWritesVisibleUnderAnySchedule) {
  const uint32_t numBlocks = 3, numThreads = 96;
  int rounds = 5;
  for (uint64_t seed : {0ull, 1ull, 2ull, 99ull}) {
    std::vector<int64_t> out(numBlocks * numThreads, -1);
    int64_t *pointer = out.data();
    void *params[] = {&pointer, &rounds};
    sieve_emu_launch_desc desc =
        makeLaunch("exchange", exchangeThroughBarriersKernel, params, numBlocks,
                   numThreads);
    desc.static_shared_bytes = numThreads * sizeof(int64_t);
    desc.schedule_seed = seed;
    desc.check_races = 0;
    LaunchResult result = runLaunch(desc);
    ASSERT_EQ(result.status, 0) << result.error;
    for (int64_t value : out)
      EXPECT_EQ(value, 0) << "seed " << seed;
    EXPECT_EQ(result.stats.barriers, uint64_t(numBlocks * rounds * 2));
  }
}

// Shared memory: 16-byte aligned, static + dynamic bytes, all 0xFF when a
// block starts even if the block before it on the same worker wrote it.
extern "C" void inspectSharedMemoryKernel(void **params) {
  auto *out = getParam<int64_t *>(params, 0);
  uint8_t *shared = sieve_emu_shared_memory();
  int64_t size = sieve_emu_shared_memory_size();
  int64_t block = getLinearBlockId();
  if (sieve_emu_thread_id(0) == 0) {
    int64_t poisoned = 0;
    for (int64_t i = 0; i < size; ++i)
      poisoned += shared[i] == 0xFF;
    out[block * 4 + 0] = poisoned;
    out[block * 4 + 1] = size;
    out[block * 4 + 2] = sieve_emu_dynamic_shared_offset();
    out[block * 4 + 3] = reinterpret_cast<uintptr_t>(shared) % 16;
  }
  sieve_emu_barrier(kBarrierSite);
  // Dirty it for the next block.
  std::memset(shared, 0x11, static_cast<std::size_t>(size));
}

TEST(EmulatorLaunch, SharedMemoryIsAlignedSizedAndPoisonedPerBlock) {
  const uint32_t numBlocks = 4;
  std::vector<int64_t> out(numBlocks * 4, -1);
  int64_t *pointer = out.data();
  void *params[] = {&pointer};
  sieve_emu_launch_desc desc =
      makeLaunch("shared", inspectSharedMemoryKernel, params, numBlocks, 8);
  desc.static_shared_bytes = 100;
  desc.dynamic_shared_bytes = 60;
  LaunchResult result = runLaunch(desc);
  ASSERT_EQ(result.status, 0) << result.error;
  for (uint32_t b = 0; b < numBlocks; ++b) {
    EXPECT_EQ(out[b * 4 + 0], 160) << "block " << b;
    EXPECT_EQ(out[b * 4 + 1], 160);
    EXPECT_EQ(out[b * 4 + 2], 100);
    EXPECT_EQ(out[b * 4 + 3], 0);
  }
}

// A block's result mixes barriers, shared memory and shuffles, so that
// running blocks on several OS threads must give what one thread gives.
extern "C" void mixedWorkKernel(void **params) {
  auto *out = getParam<uint32_t *>(params, 0);
  auto *shared = reinterpret_cast<uint32_t *>(sieve_emu_shared_memory());
  uint32_t n = static_cast<uint32_t>(sieve_emu_block_dim(0));
  uint32_t tid = static_cast<uint32_t>(sieve_emu_thread_id(0));
  uint32_t block = static_cast<uint32_t>(getLinearBlockId());
  uint32_t value = block * 2654435761u + tid * 40503u;
  for (int round = 0; round < 4; ++round) {
    shared[tid] = value;
    sieve_emu_barrier(kBarrierSite);
    value = value * 31 + shared[(tid * 7 + round) % n];
    value += sieve_emu_shuffle("mixed.mlir:1:1 gpu.shuffle", 0, value,
                               1 << round, 32, nullptr);
    sieve_emu_count_work(1);
    sieve_emu_barrier(kSecondBarrierSite);
  }
  out[block * n + tid] = value;
}

TEST(EmulatorLaunch, SeveralWorkersGiveTheResultsOfOne) {
  const uint32_t numBlocks = 24, numThreads = 64;
  std::vector<uint32_t> reference;
  for (uint32_t workers : {1u, 3u, 0u}) {
    std::vector<uint32_t> out(numBlocks * numThreads, 0);
    uint32_t *pointer = out.data();
    void *params[] = {&pointer};
    sieve_emu_launch_desc desc =
        makeLaunch("mixed", mixedWorkKernel, params, numBlocks, numThreads);
    desc.static_shared_bytes = numThreads * 4;
    desc.worker_threads = workers;
    LaunchResult result = runLaunch(desc);
    ASSERT_EQ(result.status, 0) << result.error;
    EXPECT_EQ(result.stats.blocks, numBlocks);
    EXPECT_EQ(result.stats.threads, numBlocks * numThreads);
    EXPECT_EQ(result.stats.barriers, numBlocks * 8u);
    EXPECT_EQ(result.stats.collectives, numBlocks * (numThreads / 32) * 4u);
    EXPECT_EQ(result.stats.work_units, numBlocks * numThreads * 4u);
    if (reference.empty())
      reference = out;
    else
      EXPECT_EQ(out, reference) << workers << " workers";
  }
}

extern "C" void countWorkKernel(void **params) {
  // Only some threads do work, so the counter shows what was skipped.
  if (sieve_emu_thread_id(0) % 3 == 0)
    sieve_emu_count_work(sieve_emu_block_id(0) + 1);
}

TEST(EmulatorLaunch, WorkCounterSumsOverThreadsAndBlocks) {
  sieve_emu_launch_desc desc = makeLaunch("work", countWorkKernel, nullptr,
                                          /*gridX=*/4, /*blockX=*/10);
  desc.worker_threads = 2;
  LaunchResult result = runLaunch(desc);
  ASSERT_EQ(result.status, 0) << result.error;
  // Threads 0, 3, 6, 9 of each block add block + 1.
  EXPECT_EQ(result.stats.work_units, 4u * (1 + 2 + 3 + 4));
  EXPECT_EQ(result.stats.barriers, 0u);
  EXPECT_EQ(result.stats.collectives, 0u);
}

extern "C" void bigFrameKernel(void **params) {
  // 96 KiB of locals: fits the default 256 KiB fiber stack.
  volatile uint8_t frame[96 * 1024];
  for (std::size_t i = 0; i < sizeof(frame); i += 4096)
    frame[i] = static_cast<uint8_t>(i);
  sieve_emu_barrier(kBarrierSite);
  uint32_t sum = 0;
  for (std::size_t i = 0; i < sizeof(frame); i += 4096)
    sum += frame[i];
  getParam<uint32_t *>(params, 0)[sieve_emu_thread_id(0)] = sum;
}

TEST(EmulatorLaunch, FibersHaveRoomForLargeFrames) {
  std::vector<uint32_t> out(64, 0);
  uint32_t *pointer = out.data();
  void *params[] = {&pointer};
  LaunchResult result =
      runLaunch(makeLaunch("frames", bigFrameKernel, params, 2, 64));
  ASSERT_EQ(result.status, 0) << result.error;
  uint32_t expected = 0;
  for (std::size_t i = 0; i < 96 * 1024; i += 4096)
    expected += static_cast<uint8_t>(i);
  for (uint32_t value : out)
    EXPECT_EQ(value, expected);
}

extern "C" void tenBarriersKernel(void **params) {
  for (int i = 0; i < 10; ++i)
    sieve_emu_barrier(kBarrierSite);
}

// 64 blocks of 128 threads with 10 barriers each: milliseconds, not
// seconds. The bound is loose (slow CI machines, sanitizers); the figures
// are printed.
TEST(EmulatorLaunch, BarrierThroughput) {
  for (uint32_t workers : {1u, 2u}) {
    for (uint64_t seed : {0ull, 7ull}) {
      sieve_emu_launch_desc desc =
          makeLaunch("barriers", tenBarriersKernel, nullptr, 64, 128);
      desc.worker_threads = workers;
      desc.schedule_seed = seed;
      runLaunch(desc); // warm the stack pool
      auto start = std::chrono::steady_clock::now();
      LaunchResult result = runLaunch(desc);
      double seconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
      ASSERT_EQ(result.status, 0) << result.error;
      EXPECT_EQ(result.stats.barriers, 640u);
      double arrivals = 64.0 * 128 * 10;
      std::printf("[ perf     ] 64 blocks x 128 threads x 10 barriers, %u "
                  "worker(s), seed %llu: %.2f ms, %.1f ns per barrier "
                  "arrival\n",
                  workers, static_cast<unsigned long long>(seed), seconds * 1e3,
                  seconds * 1e9 / arrivals);
      EXPECT_LT(seconds, 2.0);
    }
  }
}
