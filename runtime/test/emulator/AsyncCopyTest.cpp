//===- AsyncCopyTest.cpp - Deferred cp.async and its groups ---------------===//

#include "EmulatorTestUtils.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

using namespace sieve::test;

namespace {
const char *const kCopySite =
    "copy.mlir:2:9 nvgpu.device_async_copy in kernel test";

/// What a thread saw of its copies' destinations, in stages.
struct CopyObservation {
  uint8_t afterIssue[16];
  uint8_t afterWait[16];
};
} // namespace

// The destination is poisoned at issue and holds the data only after a
// wait; the source is read at the wait, not at the issue.
extern "C" void copyVisibleAfterWaitKernel(void **params) {
  auto *source = getParam<uint8_t *>(params, 0);
  auto *observations = getParam<CopyObservation *>(params, 1);
  int64_t tid = sieve_emu_thread_id(0);
  uint8_t *dst = sieve_emu_shared_memory() + 16 * tid;
  std::memset(dst, 0x42, 16);
  sieve_emu_cp_async(kCopySite, dst, source + 16 * tid, 16, 16);
  sieve_emu_cp_async_commit();
  std::memcpy(observations[tid].afterIssue, dst, 16);
  source[16 * tid] = 0xEE; // still before the wait: the copy sees it
  sieve_emu_cp_async_wait(0);
  std::memcpy(observations[tid].afterWait, dst, 16);
}

TEST(EmulatorAsyncCopy, VisibleOnlyAfterWaitAndReadAtTheWait) {
  const int numThreads = 4;
  std::vector<uint8_t> source(16 * numThreads);
  for (std::size_t i = 0; i < source.size(); ++i)
    source[i] = static_cast<uint8_t>(i + 1);
  std::vector<CopyObservation> observations(numThreads);
  uint8_t *sourcePointer = source.data();
  CopyObservation *observationPointer = observations.data();
  void *params[] = {&sourcePointer, &observationPointer};
  sieve_emu_launch_desc desc =
      makeLaunch("copy", copyVisibleAfterWaitKernel, params, 1, numThreads);
  desc.static_shared_bytes = 16 * numThreads;
  LaunchResult result = runLaunch(desc);
  ASSERT_EQ(result.status, 0) << result.error;
  for (int t = 0; t < numThreads; ++t)
    for (int i = 0; i < 16; ++i) {
      EXPECT_EQ(observations[t].afterIssue[i], 0xFF) << "not poisoned";
      uint8_t expected = i == 0 ? 0xEE : static_cast<uint8_t>(16 * t + i + 1);
      EXPECT_EQ(observations[t].afterWait[i], expected);
    }
}

// src_bytes < bytes: the rest of the destination is zero-filled and the
// source past src_bytes is not read.
extern "C" void zeroFillKernel(void **params) {
  auto *source = getParam<const uint8_t *>(params, 0);
  auto *out = getParam<uint8_t *>(params, 1);
  uint8_t *shared = sieve_emu_shared_memory();
  sieve_emu_cp_async(kCopySite, shared, source, 8, 5);
  sieve_emu_cp_async(kCopySite, shared + 16, source, 16, 0);
  sieve_emu_cp_async(kCopySite, shared + 32, nullptr, 4, 0);
  sieve_emu_cp_async_commit();
  sieve_emu_cp_async_wait(0);
  std::memcpy(out, shared, 48);
}

TEST(EmulatorAsyncCopy, ZeroFillsPastSourceBytes) {
  alignas(16) uint8_t source[16] = {1, 2,  3,  4,  5,  6,  7,  8,
                                    9, 10, 11, 12, 13, 14, 15, 16};
  uint8_t out[48];
  std::memset(out, 0x33, sizeof(out));
  const uint8_t *sourcePointer = source;
  uint8_t *outPointer = out;
  void *params[] = {&sourcePointer, &outPointer};
  sieve_emu_launch_desc desc =
      makeLaunch("zfill", zeroFillKernel, params, 1, 1);
  desc.static_shared_bytes = 48;
  LaunchResult result = runLaunch(desc);
  ASSERT_EQ(result.status, 0) << result.error;
  const uint8_t expectedFirst[8] = {1, 2, 3, 4, 5, 0, 0, 0};
  EXPECT_EQ(std::memcmp(out, expectedFirst, 8), 0);
  for (int i = 8; i < 16; ++i)
    EXPECT_EQ(out[i], 0xFF) << "untouched shared memory stays poisoned";
  for (int i = 16; i < 36; ++i)
    EXPECT_EQ(out[i], 0) << i;
  for (int i = 36; i < 48; ++i)
    EXPECT_EQ(out[i], 0xFF) << i;
}

// wait(pending) completes all committed groups but the `pending` newest;
// copies not committed yet stay pending even under wait(0).
extern "C" void waitGroupsKernel(void **params) {
  auto *source = getParam<const uint32_t *>(params, 0);
  auto *out = getParam<uint32_t *>(params, 1);
  auto *shared = reinterpret_cast<uint32_t *>(sieve_emu_shared_memory());
  for (int group = 0; group < 3; ++group) {
    sieve_emu_cp_async(kCopySite, shared + group, source + group, 4, 4);
    sieve_emu_cp_async_commit();
  }
  sieve_emu_cp_async(kCopySite, shared + 3, source + 3, 4, 4); // uncommitted
  int stage = 0;
  for (int pending : {2, 1, 0}) {
    sieve_emu_cp_async_wait(pending);
    std::memcpy(out + 4 * stage++, shared, 16);
  }
  sieve_emu_cp_async_commit();
  sieve_emu_cp_async_wait(0);
  std::memcpy(out + 4 * stage, shared, 16);
}

TEST(EmulatorAsyncCopy, WaitKeepsTheNewestGroupsPending) {
  alignas(16) uint32_t source[4] = {10, 11, 12, 13};
  uint32_t out[16];
  const uint32_t *sourcePointer = source;
  uint32_t *outPointer = out;
  void *params[] = {&sourcePointer, &outPointer};
  sieve_emu_launch_desc desc =
      makeLaunch("groups", waitGroupsKernel, params, 1, 1);
  desc.static_shared_bytes = 16;
  LaunchResult result = runLaunch(desc);
  ASSERT_EQ(result.status, 0) << result.error;
  const uint32_t poison = 0xFFFFFFFFu;
  const uint32_t expected[16] = {10, poison, poison, poison, //
                                 10, 11,     poison, poison, //
                                 10, 11,     12,     poison, //
                                 10, 11,     12,     13};
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(out[i], expected[i]) << "stage " << i / 4 << " word " << i % 4;
}
