//===- ErrorTest.cpp - How launches fail, and the race check --------------===//
//
// Every error ends the launch with a non-zero status and one line naming the
// site, kernel, block and thread; the process goes on, and the next launch
// works.
//
//===----------------------------------------------------------------------===//

#include "EmulatorTestUtils.h"

#include <gtest/gtest.h>

#include <cstring>
#include <iterator>
#include <string>
#include <vector>

using namespace sieve::test;

namespace {
const char *const kFailSite = "err.mlir:1:1 memref.load in kernel failing";
const char *const kBarrierA = "err.mlir:2:1 gpu.barrier in kernel test";
const char *const kBarrierB = "err.mlir:3:1 gpu.barrier in kernel test";
const char *const kShuffleA = "err.mlir:4:1 gpu.shuffle in kernel test";
const char *const kShuffleB = "err.mlir:5:1 gpu.shuffle in kernel test";
const char *const kVoteSite = "err.mlir:6:1 vote in kernel test";
const char *const kMmaSite = "err.mlir:7:1 nvgpu.mma.sync in kernel test";
const char *const kCopySite = "err.mlir:8:1 nvgpu.device_async_copy";
const char *const kLdMatrixSite = "err.mlir:9:1 nvgpu.ldmatrix";
const char *const kStoreSite = "err.mlir:10:1 memref.store in kernel test";
const char *const kLoadSite = "err.mlir:11:1 memref.load in kernel test";

/// Checks the shape every error message has.
void expectOneLineError(const LaunchResult &result, const char *site,
                        const char *what, const char *block,
                        const char *thread) {
  EXPECT_NE(result.status, 0);
  EXPECT_CONTAINS(result.error, (site));
  EXPECT_CONTAINS(result.error, (what));
  EXPECT_CONTAINS(result.error, (std::string("block ") + block));
  EXPECT_CONTAINS(result.error, (std::string("thread ") + thread));
  EXPECT_EQ(result.error.find('\n'), std::string::npos) << result.error;
}

extern "C" void trivialKernel(void **params) {
  getParam<int *>(params, 0)[getLinearBlockId()] = 1;
}

/// A launch that must work: the emulator survived the failure before it.
void expectHealthyLaunch() {
  std::vector<int> out(8, 0);
  int *pointer = out.data();
  void *params[] = {&pointer};
  sieve_emu_launch_desc desc =
      makeLaunch("trivial", trivialKernel, params, 8, 32);
  desc.worker_threads = 2;
  LaunchResult result = runLaunch(desc);
  EXPECT_EQ(result.status, 0) << result.error;
  EXPECT_EQ(out, std::vector<int>(8, 1));
}
} // namespace

extern "C" void failingKernel(void **params) {
  if (sieve_emu_block_id(0) == 2 && sieve_emu_thread_id(0) == 1)
    sieve_emu_fail(kFailSite, "index out of bounds of %A", 17, 16);
  // The others wait for it; they are abandoned, never resumed.
  sieve_emu_barrier(kBarrierA);
}

TEST(EmulatorErrors, KernelFailureNamesSiteKernelBlockAndThread) {
  for (uint32_t workers : {1u, 4u}) {
    sieve_emu_launch_desc desc =
        makeLaunch("failing", failingKernel, nullptr, 6, 4);
    desc.worker_threads = workers;
    testing::internal::CaptureStderr();
    LaunchResult result = runLaunch(desc);
    std::string stderrText = testing::internal::GetCapturedStderr();
    expectOneLineError(result, kFailSite,
                       "index out of bounds of %A (value 17, bound 16)",
                       "(2,0,0)", "(1,0,0)");
    EXPECT_CONTAINS(result.error, ("kernel failing"));
    EXPECT_EQ(stderrText, result.error + "\n");
    expectHealthyLaunch();
  }
}

extern "C" void everyThreadFailsKernel(void **params) {
  sieve_emu_fail(kFailSite, "always", 0, 0);
}

TEST(EmulatorErrors, OnlyTheFirstErrorIsReported) {
  sieve_emu_launch_desc desc =
      makeLaunch("failing", everyThreadFailsKernel, nullptr, 32, 64);
  desc.worker_threads = 4;
  testing::internal::CaptureStderr();
  LaunchResult result = runLaunch(desc);
  std::string stderrText = testing::internal::GetCapturedStderr();
  EXPECT_NE(result.status, 0);
  EXPECT_EQ(stderrText, result.error + "\n");
  EXPECT_LT(result.stats.blocks, 32u);
  expectHealthyLaunch();
}

extern "C" void earlyReturnKernel(void **params) {
  if (sieve_emu_thread_id(0) == 3)
    return;
  sieve_emu_barrier(kBarrierA);
}

TEST(EmulatorErrors, ThreadReturningWhileOthersWaitAtABarrier) {
  LaunchResult result =
      runLaunch(makeLaunch("early", earlyReturnKernel, nullptr, 1, 8));
  expectOneLineError(result, kBarrierA,
                     "thread returned while 3 other threads of the block "
                     "wait at this barrier",
                     "(0,0,0)", "(3,0,0)");
  expectHealthyLaunch();
}

extern "C" void twoBarriersKernel(void **params) {
  sieve_emu_barrier(sieve_emu_thread_id(0) % 2 ? kBarrierB : kBarrierA);
}

TEST(EmulatorErrors, ThreadsWaitingAtDifferentBarriers) {
  LaunchResult result =
      runLaunch(makeLaunch("barriers", twoBarriersKernel, nullptr, 1, 4));
  expectOneLineError(result, kBarrierB, "threads wait at different barriers",
                     "(0,0,0)", "(1,0,0)");
  EXPECT_CONTAINS(result.error, (kBarrierA));
}

extern "C" void deadlockKernel(void **params) {
  // Lane 0 waits at a barrier for lanes that wait in a vote for lane 0.
  if (sieve_emu_lane_id() == 0)
    sieve_emu_barrier(kBarrierA);
  else
    sieve_emu_vote(kVoteSite, 0, 1);
}

TEST(EmulatorErrors, Deadlock) {
  sieve_emu_launch_desc desc =
      makeLaunch("deadlock", deadlockKernel, nullptr, 2, 32, 1, 1, 1, 1);
  desc.grid[0] = 1;
  desc.grid[1] = 2;
  desc.block[1] = 2; // two warps, the second one at thread (0,1,0)
  LaunchResult result = runLaunch(desc);
  expectOneLineError(result, kBarrierA, "deadlock", "(0,0,0)", "(0,0,0)");
  EXPECT_CONTAINS(result.error, (kVoteSite));
  expectHealthyLaunch();
}

extern "C" void divergentSitesKernel(void **params) {
  sieve_emu_shuffle(sieve_emu_lane_id() < 16 ? kShuffleA : kShuffleB, 0, 1, 1,
                    32, nullptr);
}

TEST(EmulatorErrors, LanesAtDifferentCollectives) {
  LaunchResult result =
      runLaunch(makeLaunch("divergent", divergentSitesKernel, nullptr, 1, 32));
  expectOneLineError(result, kShuffleB,
                     "divergent warp collective: lane 16 reaches this shuffle "
                     "while 16 other lanes of its warp wait in the shuffle at",
                     "(0,0,0)", "(16,0,0)");
}

extern "C" void laneReturnsKernel(void **params) {
  if (sieve_emu_lane_id() == 5)
    return;
  sieve_emu_vote(kVoteSite, 2, 1);
}

TEST(EmulatorErrors, LaneReturningWhileOthersWaitInACollective) {
  LaunchResult result =
      runLaunch(makeLaunch("lane", laneReturnsKernel, nullptr, 1, 32));
  expectOneLineError(result, kVoteSite,
                     "lane 5 returned while 5 other lanes of its warp wait",
                     "(0,0,0)", "(5,0,0)");
}

extern "C" void nonUniformWidthKernel(void **params) {
  sieve_emu_shuffle(kShuffleA, 0, 1, 1, sieve_emu_lane_id() == 7 ? 16 : 32,
                    nullptr);
}

TEST(EmulatorErrors, LanesPassingDifferentUniformArguments) {
  LaunchResult result =
      runLaunch(makeLaunch("width", nonUniformWidthKernel, nullptr, 1, 32));
  expectOneLineError(result, kShuffleA,
                     "lane 7 passes width 16 to this shuffle, other lanes 32",
                     "(0,0,0)", "(7,0,0)");
}

namespace {
/// Misuses of one ABI function each, run by invalidUseKernel.
struct InvalidUse {
  const char *name;
  uint32_t threads;
  const char *site;
  const char *what;
  const char *thread;
};

const InvalidUse kInvalidUses[] = {
    {"shuffle width 3", 32, kShuffleA, "invalid shuffle width 3", "(0,0,0)"},
    {"shuffle width 64", 32, kShuffleA, "invalid shuffle width 64", "(0,0,0)"},
    {"shuffle mode", 32, kShuffleA, "invalid shuffle mode 4", "(0,0,0)"},
    {"vote kind", 32, kVoteSite, "invalid vote kind 3", "(0,0,0)"},
    {"mma shape", 32, kMmaSite, "unsupported mma.sync: shape 3", "(0,0,0)"},
    {"mma types", 32, kMmaSite,
     "unsupported mma.sync: shape 0 with A/B type 0 and C/D type 4", "(0,0,0)"},
    {"mma s8 k16", 32, kMmaSite,
     "unsupported mma.sync: shape 0 with A/B type 2", "(0,0,0)"},
    {"mma partial warp", 16, kMmaSite, "mma.sync needs all 32 lanes",
     "(0,0,0)"},
    {"ldmatrix count", 32, kLdMatrixSite, "ldmatrix of 3 matrices", "(0,0,0)"},
    {"ldmatrix misaligned", 32, kLdMatrixSite,
     "misaligned ldmatrix row address: lane 3 gives shared-memory offset 56",
     "(3,0,0)"},
    {"ldmatrix outside", 32, kLdMatrixSite,
     "of lane 0 is outside the block's shared memory", "(0,0,0)"},
    {"ldmatrix partial warp", 40, kLdMatrixSite,
     "ldmatrix needs all 32 lanes of the warp; the block has 8", "(32,0,0)"},
    {"cp.async size", 1, kCopySite, "cp.async of 12 bytes", "(0,0,0)"},
    {"cp.async source bytes", 1, kCopySite,
     "cp.async reads 9 source bytes of 8", "(0,0,0)"},
    {"cp.async misaligned destination", 1, kCopySite,
     "misaligned cp.async destination: shared-memory offset 8", "(0,0,0)"},
    {"cp.async misaligned source", 1, kCopySite, "misaligned cp.async source",
     "(0,0,0)"},
    {"cp.async outside", 1, kCopySite, "outside the block's shared memory",
     "(0,0,0)"},
    {"cp.async not waited", 1, kCopySite,
     "thread returned with 2 cp.async copies that no wait completed",
     "(0,0,0)"},
};
} // namespace

extern "C" void invalidUseKernel(void **params) {
  int useIndex = getParam<int>(params, 0);
  alignas(16) static const uint8_t global[64] = {};
  uint8_t *shared = sieve_emu_shared_memory();
  int64_t lane = sieve_emu_lane_id();
  uint32_t a[4] = {}, b[2] = {}, c[4] = {}, d[4] = {}, fragment[4] = {};
  // One case per entry of kInvalidUses, in its order.
  switch (useIndex) {
  case 0:
    sieve_emu_shuffle(kShuffleA, 0, 1, 1, 3, nullptr);
    break;
  case 1:
    sieve_emu_shuffle(kShuffleA, 0, 1, 1, 64, nullptr);
    break;
  case 2:
    sieve_emu_shuffle(kShuffleA, 4, 1, 1, 32, nullptr);
    break;
  case 3:
    sieve_emu_vote(kVoteSite, 3, 1);
    break;
  case 4:
    sieve_emu_mma_sync(kMmaSite, 3, SIEVE_EMU_TYPE_F16, SIEVE_EMU_TYPE_F32, a,
                       b, c, d);
    break;
  case 5:
    sieve_emu_mma_sync(kMmaSite, SIEVE_EMU_MMA_M16N8K16, SIEVE_EMU_TYPE_F16,
                       SIEVE_EMU_TYPE_S32, a, b, c, d);
    break;
  case 6:
    sieve_emu_mma_sync(kMmaSite, SIEVE_EMU_MMA_M16N8K16, SIEVE_EMU_TYPE_S8,
                       SIEVE_EMU_TYPE_S32, a, b, c, d);
    break;
  case 7:
    sieve_emu_mma_sync(kMmaSite, SIEVE_EMU_MMA_M16N8K16, SIEVE_EMU_TYPE_F16,
                       SIEVE_EMU_TYPE_F32, a, b, c, d);
    break;
  case 8:
    sieve_emu_ldmatrix(kLdMatrixSite, shared + 16 * lane, 3, 0, fragment);
    break;
  case 9:
    sieve_emu_ldmatrix(kLdMatrixSite, shared + 16 * lane + (lane == 3 ? 8 : 0),
                       1, 0, fragment);
    break;
  case 10:
    sieve_emu_ldmatrix(kLdMatrixSite, global, 1, 0, fragment);
    break;
  case 11:
    sieve_emu_ldmatrix(kLdMatrixSite, shared + 16 * (lane % 8), 1, 0, fragment);
    break;
  case 12:
    sieve_emu_cp_async(kCopySite, shared, global, 12, 12);
    break;
  case 13:
    sieve_emu_cp_async(kCopySite, shared, global, 8, 9);
    break;
  case 14:
    sieve_emu_cp_async(kCopySite, shared + 8, global, 16, 16);
    break;
  case 15:
    sieve_emu_cp_async(kCopySite, shared, global + 4, 8, 8);
    break;
  case 16:
    sieve_emu_cp_async(kCopySite, shared + 512, global, 4, 4);
    break;
  case 17:
    sieve_emu_cp_async(kCopySite, shared, global, 4, 4);
    sieve_emu_cp_async_commit();
    sieve_emu_cp_async(kCopySite, shared + 4, global, 4, 4);
    sieve_emu_cp_async_commit();
    break;
  default:
    sieve_emu_fail("invalidUseKernel", "unknown case", useIndex, 0);
  }
}

TEST(EmulatorErrors, InvalidArguments) {
  for (int i = 0; i < static_cast<int>(std::size(kInvalidUses)); ++i) {
    const InvalidUse &use = kInvalidUses[i];
    void *params[] = {&i};
    sieve_emu_launch_desc desc =
        makeLaunch("invalid", invalidUseKernel, params, 1, use.threads);
    desc.static_shared_bytes = 512;
    LaunchResult result = runLaunch(desc);
    SCOPED_TRACE(use.name);
    expectOneLineError(result, use.site, use.what, "(0,0,0)", use.thread);
  }
  expectHealthyLaunch();
}

TEST(EmulatorErrors, InvalidLaunches) {
  std::vector<int> out(1);
  int *pointer = out.data();
  void *params[] = {&pointer};
  sieve_emu_launch_desc desc = makeLaunch("bad", trivialKernel, params, 1, 1);
  desc.grid[1] = 0;
  LaunchResult result = runLaunch(desc);
  EXPECT_NE(result.status, 0);
  EXPECT_CONTAINS(result.error, ("grid and block sizes must be at least 1"));

  desc = makeLaunch("bad", trivialKernel, params, 1, 64, 1, 32);
  result = runLaunch(desc);
  EXPECT_NE(result.status, 0);
  EXPECT_CONTAINS(result.error, ("a block of 2048 threads exceeds"));

  desc = makeLaunch("bad", nullptr, params, 1, 1);
  result = runLaunch(desc);
  EXPECT_NE(result.status, 0);
  EXPECT_CONTAINS(result.error, ("no kernel function"));
  EXPECT_EQ(sieve_emu_launch(nullptr, nullptr, nullptr, 0), 1);
  expectHealthyLaunch();
}

//===----------------------------------------------------------------------===//
// Races and schedules
//===----------------------------------------------------------------------===//

// Each thread writes its word, then reads its left neighbour's, with or
// without a barrier between. Reading poison (the neighbour has not written
// yet) is reported by the kernel itself if asked to. With the linear
// schedule a missing barrier goes unseen: the neighbour always ran first.
extern "C" void neighbourKernel(void **params) {
  int withBarrier = getParam<int>(params, 0);
  int checkPoison = getParam<int>(params, 1);
  auto *shared = reinterpret_cast<uint32_t *>(sieve_emu_shared_memory());
  uint32_t tid = static_cast<uint32_t>(sieve_emu_thread_id(0));
  sieve_emu_shared_access(kStoreSite, &shared[tid], 4, 1);
  shared[tid] = tid + 1;
  if (withBarrier)
    sieve_emu_barrier(kBarrierA);
  if (tid == 0)
    return;
  sieve_emu_shared_access(kLoadSite, &shared[tid - 1], 4, 0);
  if (checkPoison && shared[tid - 1] != tid)
    sieve_emu_fail(kLoadSite, "read an unwritten (poisoned) word",
                   shared[tid - 1], tid);
}

namespace {
LaunchResult runNeighbours(int withBarrier, uint64_t seed, int checkRaces) {
  // Under the race check, the check is what must find the bug.
  int checkPoison = !checkRaces;
  void *params[] = {&withBarrier, &checkPoison};
  sieve_emu_launch_desc desc =
      makeLaunch("neighbours", neighbourKernel, params, 2, 64);
  desc.static_shared_bytes = 64 * 4;
  desc.schedule_seed = seed;
  desc.check_races = checkRaces;
  return runLaunch(desc);
}
} // namespace

TEST(EmulatorRaces, RandomSchedulesExposeAMissingBarrier) {
  EXPECT_EQ(runNeighbours(/*withBarrier=*/0, /*seed=*/0, 0).status, 0)
      << "the linear schedule hides the missing barrier";
  int failures = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    testing::internal::CaptureStderr();
    LaunchResult result = runNeighbours(0, seed, 0);
    testing::internal::GetCapturedStderr();
    if (result.status != 0) {
      ++failures;
      EXPECT_CONTAINS(result.error, ("read an unwritten (poisoned) word"));
    }
  }
  EXPECT_GE(failures, 1);
  for (uint64_t seed = 0; seed <= 8; ++seed) {
    LaunchResult result = runNeighbours(/*withBarrier=*/1, seed, 1);
    EXPECT_EQ(result.status, 0) << "seed " << seed << ": " << result.error;
  }
}

// Order-independent: a read before the neighbour's write is flagged at
// that write, a read after it at the read.
TEST(EmulatorRaces, RaceCheckFlagsAMissingBarrierUnderAnySchedule) {
  for (uint64_t seed = 0; seed <= 8; ++seed) {
    testing::internal::CaptureStderr();
    LaunchResult result = runNeighbours(/*withBarrier=*/0, seed, 1);
    testing::internal::GetCapturedStderr();
    EXPECT_NE(result.status, 0);
    EXPECT_CONTAINS(result.error, ("data race on shared memory byte"));
    EXPECT_CONTAINS(result.error, ("with no barrier between"));
  }
  // The linear schedule: thread 1 reads what thread 0 wrote.
  LaunchResult result = runNeighbours(0, 0, 1);
  expectOneLineError(result, kLoadSite,
                     "data race on shared memory byte 0: read by this thread "
                     "after thread (0,0,0) wrote it at",
                     "(0,0,0)", "(1,0,0)");
  EXPECT_CONTAINS(result.error, (kStoreSite));
}

// Everyone reads a word written before the barrier (fine), then one thread
// writes it in the same interval: a write after other threads' reads. A
// vote orders the write after every read of the (single) warp. The first
// reader writing must be caught as well as any other thread.
extern "C" void writeAfterReadsKernel(void **params) {
  int writer = getParam<int>(params, 0);
  auto *shared = reinterpret_cast<uint32_t *>(sieve_emu_shared_memory());
  int64_t tid = sieve_emu_thread_id(0);
  if (tid == 0) {
    sieve_emu_shared_access(kStoreSite, &shared[0], 4, 1);
    shared[0] = 5;
  }
  sieve_emu_barrier(kBarrierA);
  sieve_emu_shared_access(kLoadSite, &shared[0], 4, 0);
  uint32_t value = shared[0];
  // Own accesses never race: a thread rereads and rewrites its own word.
  sieve_emu_shared_access(kStoreSite, &shared[1 + tid], 4, 1);
  shared[1 + tid] = value;
  sieve_emu_shared_access(kLoadSite, &shared[1 + tid], 4, 0);
  sieve_emu_shared_access(kStoreSite, &shared[1 + tid], 4, 1);
  sieve_emu_vote(kVoteSite, 0, 1);
  if (tid == writer) {
    sieve_emu_shared_access(kStoreSite, &shared[0], 2, 1);
    shared[0] = 6;
  }
}

TEST(EmulatorRaces, WriteAfterReadsOfOtherThreads) {
  for (int writer : {-1, 7, 0}) {
    void *params[] = {&writer};
    sieve_emu_launch_desc desc =
        makeLaunch("war", writeAfterReadsKernel, params, 1, 8);
    desc.static_shared_bytes = 64;
    desc.check_races = 1;
    LaunchResult result = runLaunch(desc);
    if (writer < 0) {
      EXPECT_EQ(result.status, 0) << result.error;
      continue;
    }
    expectOneLineError(result, kStoreSite,
                       writer == 0 ? "data race on shared memory byte 0: write "
                                     "by this thread after thread (1,0,0) "
                                     "read it at"
                                   : "data race on shared memory byte 0: write "
                                     "by this thread after thread (0,0,0) "
                                     "read it at",
                       "(0,0,0)", writer == 0 ? "(0,0,0)" : "(7,0,0)");
  }
}

// An async copy's destination belongs to the issuing thread until a barrier.
extern "C" void copyRaceKernel(void **params) {
  alignas(16) static const uint8_t global[16] = {1, 2, 3};
  uint8_t *shared = sieve_emu_shared_memory();
  if (sieve_emu_thread_id(0) == 0) {
    sieve_emu_cp_async(kCopySite, shared, global, 16, 16);
    sieve_emu_cp_async_commit();
    sieve_emu_cp_async_wait(0);
  }
  if (getParam<int>(params, 0))
    sieve_emu_barrier(kBarrierA);
  sieve_emu_shared_access(kLoadSite, shared + 2, 1, 0);
}

TEST(EmulatorRaces, AsyncCopyDestinations) {
  for (int withBarrier : {1, 0}) {
    void *params[] = {&withBarrier};
    sieve_emu_launch_desc desc =
        makeLaunch("copyrace", copyRaceKernel, params, 1, 4);
    desc.static_shared_bytes = 16;
    desc.check_races = 1;
    LaunchResult result = runLaunch(desc);
    if (withBarrier) {
      EXPECT_EQ(result.status, 0) << result.error;
      continue;
    }
    expectOneLineError(result, kLoadSite,
                       "data race on shared memory byte 2: read by this "
                       "thread after thread (0,0,0) wrote it at",
                       "(0,0,0)", "(1,0,0)");
    EXPECT_CONTAINS(result.error, (kCopySite));
  }
}
