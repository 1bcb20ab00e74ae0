//===- WarpSpecializationTest.cpp - Named barriers and setmaxnreg ---------===//
//
// sieve_emu_named_barrier and sieve_emu_setmaxnreg against the comments
// above them in sieve/emulator.h: a producer warpgroup handing data to two
// consumer warpgroups through shared memory with named barriers, the
// consumers taking turns as FlashAttention-3's warp scheduler barriers make
// them (bar.sync on their own id, bar.arrive on the other's), under several
// schedules with the race check on; producers that only bar.arrive and
// return; setmaxnreg moving registers from a producer to two consumers,
// with increases that wait for the decrease; and every misuse with its
// message (deadlock reports included).
//
//===----------------------------------------------------------------------===//

#include "EmulatorTestUtils.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace sieve::test;

namespace {
const char *const kSyncSite = "ws.mlir:1:1 nvvm.barrier in kernel t";
const char *const kArriveSite = "ws.mlir:2:1 nvvm.barrier.arrive in kernel t";
const char *const kSyncSite2 = "ws.mlir:3:1 nvvm.barrier in kernel t";
const char *const kArriveSite2 = "ws.mlir:4:1 nvvm.barrier.arrive in kernel t";
const char *const kIncSite = "ws.mlir:5:1 nvvm.setmaxregister in kernel t";
const char *const kDecSite = "ws.mlir:6:1 nvvm.setmaxregister in kernel t";
const char *const kBarrierSite = "ws.mlir:7:1 gpu.barrier in kernel t";
const char *const kStoreSite = "ws.mlir:8:1 memref.store in kernel t";
const char *const kLoadSite = "ws.mlir:9:1 memref.load in kernel t";

constexpr int kWarpgroup = 128;

/// A store or load of an int in shared memory, announced to the race check.
void storeShared(int *address, int value) {
  sieve_emu_shared_access(kStoreSite, address, 4, 1);
  *address = value;
}
int loadShared(const int *address) {
  sieve_emu_shared_access(kLoadSite, address, 4, 0);
  return *address;
}
} // namespace

//===----------------------------------------------------------------------===//
// A producer and two consumers taking turns
//===----------------------------------------------------------------------===//

namespace {
// Named barrier ids: the buffer full / empty, and one scheduler barrier per
// consumer warpgroup (FlashAttention-3's WarpSchedulerWG1, WG2).
constexpr int32_t kFull = 1, kEmpty = 2, kSchedulerWG1 = 3;
// Shared memory: the buffer (256 ints, 128 per consumer), then the log of
// the consumers' turns (128 ints per turn).
constexpr int kBufferInts = 2 * kWarpgroup;
constexpr int kMaxRounds = 8;
constexpr int64_t kPingPongShared =
    4 * (kBufferInts + 2 * kMaxRounds * kWarpgroup);

struct PingPongParams {
  int rounds;
  int setmaxnreg;
  // Per turn s = 2 round + consumer (0 or 1) and thread of the consumer
  // warpgroup: the buffer value it read, and the log entry of the turn
  // before (-1 for the first turn).
  int *values;
  int *previous;
};

int getBufferValue(int round, int index) { return 1000 * round + index; }
int getLogValue(int turn, int lane) { return 100000 + 1000 * turn + lane; }
} // namespace

// Warpgroup 0 produces 256 values per round into the buffer (bar.arrive
// kFull 384 after writing, bar.sync kEmpty 384 before overwriting);
// warpgroups 1 and 2 consume 128 each. Within a round the consumers take
// turns in a critical section, warpgroup 1 first: each bar.syncs its own
// scheduler barrier (count 256: its 128 threads and the other's 128
// arrivals) and bar.arrives the other's when done. The critical section
// reads the log entry the other consumer wrote in the turn before and
// writes its own. Barriers left with half a phase are errors, so the last
// round leaves out the arrivals nobody waits for.
extern "C" void namedPingPongKernel(void **params) {
  const PingPongParams &p = *getParam<const PingPongParams *>(params, 0);
  int *shared = reinterpret_cast<int *>(sieve_emu_shared_memory());
  int *buffer = shared, *log = shared + kBufferInts;
  int thread = static_cast<int>(getLinearThreadId());
  int warpgroup = thread / kWarpgroup, lane = thread % kWarpgroup;
  sieve_emu_barrier(kBarrierSite);
  if (warpgroup == 0) {
    if (p.setmaxnreg)
      sieve_emu_setmaxnreg(kDecSite, 24, 0);
    for (int round = 0; round < p.rounds; ++round) {
      if (round > 0)
        sieve_emu_named_barrier(kSyncSite, kEmpty, 384, 1);
      for (int i = lane; i < kBufferInts; i += kWarpgroup)
        storeShared(&buffer[i], getBufferValue(round, i));
      sieve_emu_named_barrier(kArriveSite, kFull, 384, 0);
    }
    return;
  }
  if (p.setmaxnreg)
    sieve_emu_setmaxnreg(kIncSite, 240, 1);
  int consumer = warpgroup - 1;
  int32_t own = kSchedulerWG1 + consumer, other = kSchedulerWG1 + 1 - consumer;
  // Warpgroup 1 goes first: warpgroup 2 gives it the first turn.
  if (consumer == 1)
    sieve_emu_named_barrier(kArriveSite2, other, 256, 0);
  for (int round = 0; round < p.rounds; ++round) {
    int turn = 2 * round + consumer;
    bool last = round == p.rounds - 1;
    sieve_emu_named_barrier(kSyncSite, kFull, 384, 1);
    sieve_emu_named_barrier(kSyncSite2, own, 256, 1);
    p.values[turn * kWarpgroup + lane] =
        loadShared(&buffer[consumer * kWarpgroup + lane]);
    p.previous[turn * kWarpgroup + lane] =
        turn == 0 ? -1 : loadShared(&log[(turn - 1) * kWarpgroup + lane]);
    storeShared(&log[turn * kWarpgroup + lane], getLogValue(turn, lane));
    if (!(last && consumer == 1))
      sieve_emu_named_barrier(kArriveSite2, other, 256, 0);
    if (!last)
      sieve_emu_named_barrier(kArriveSite, kEmpty, 384, 0);
  }
}

TEST(EmulatorNamedBarrier, ProducerAndTwoConsumersTakingTurns) {
  for (int setmaxnreg : {0, 1})
    for (uint64_t seed : {0ull, 1ull, 42ull, 9999ull})
      for (int races : {0, 1}) {
        SCOPED_TRACE(testing::Message()
                     << "seed " << seed << ", races " << races
                     << ", setmaxnreg " << setmaxnreg);
        PingPongParams p = {5, setmaxnreg, nullptr, nullptr};
        std::vector<int> values(2 * p.rounds * kWarpgroup, -7);
        std::vector<int> previous(2 * p.rounds * kWarpgroup, -7);
        p.values = values.data();
        p.previous = previous.data();
        const PingPongParams *pointer = &p;
        void *params[] = {&pointer};
        sieve_emu_launch_desc desc = makeLaunch("pingpong", namedPingPongKernel,
                                                params, 2, 3 * kWarpgroup);
        desc.static_shared_bytes = kPingPongShared;
        desc.schedule_seed = seed;
        desc.check_races = races;
        LaunchResult result = runLaunch(desc);
        ASSERT_EQ(result.status, 0) << result.error;
        for (int round = 0; round < p.rounds; ++round)
          for (int consumer = 0; consumer < 2; ++consumer)
            for (int lane = 0; lane < kWarpgroup; ++lane) {
              int turn = 2 * round + consumer;
              EXPECT_EQ(values[turn * kWarpgroup + lane],
                        getBufferValue(round, consumer * kWarpgroup + lane));
              EXPECT_EQ(previous[turn * kWarpgroup + lane],
                        turn == 0 ? -1 : getLogValue(turn - 1, lane));
            }
        // Two blocks (one after the other, writing the same values), each
        // with the gpu.barrier, a full and (but the last round) an empty
        // phase per round, and two turns per round.
        EXPECT_EQ(result.stats.barriers, 2u * (1 + 4 * p.rounds - 1));
        EXPECT_EQ(result.stats.collectives, setmaxnreg ? 2u * 3 : 0u);
      }
}

namespace {
struct HandOffParams {
  int *out;
};
} // namespace

// Warps 0 and 1 produce and only bar.arrive, then return at once; warps
// 2 and 3 bar.sync and read, then hand on in turn to warps 4 and 5 through
// another barrier, arriving and returning likewise.
extern "C" void namedHandOffKernel(void **params) {
  int *out = getParam<const HandOffParams *>(params, 0)->out;
  int *shared = reinterpret_cast<int *>(sieve_emu_shared_memory());
  int thread = static_cast<int>(getLinearThreadId());
  int warp = thread / 32;
  if (warp < 2) {
    storeShared(&shared[thread], 3 * thread + 1);
    sieve_emu_named_barrier(kArriveSite, 7, 128, 0);
    return;
  }
  if (warp < 4) {
    sieve_emu_named_barrier(kSyncSite, 7, 128, 1);
    out[thread - 64] = loadShared(&shared[thread - 64]);
    storeShared(&shared[thread], out[thread - 64] + 5);
    sieve_emu_named_barrier(kArriveSite2, 15, 128, 0);
    return;
  }
  sieve_emu_named_barrier(kSyncSite2, 15, 128, 1);
  out[thread - 64] = loadShared(&shared[thread - 64]);
}

TEST(EmulatorNamedBarrier, ProducersThatOnlyArriveAndReturn) {
  for (uint64_t seed : {0ull, 3ull, 77ull})
    for (int races : {0, 1}) {
      SCOPED_TRACE(testing::Message()
                   << "seed " << seed << ", races " << races);
      std::vector<int> out(128, -1);
      HandOffParams p = {out.data()};
      const HandOffParams *pointer = &p;
      void *params[] = {&pointer};
      sieve_emu_launch_desc desc =
          makeLaunch("handoff", namedHandOffKernel, params, 1, 192);
      desc.static_shared_bytes = 192 * 4;
      desc.schedule_seed = seed;
      desc.check_races = races;
      LaunchResult result = runLaunch(desc);
      ASSERT_EQ(result.status, 0) << result.error;
      for (int i = 0; i < 64; ++i) {
        EXPECT_EQ(out[i], 3 * i + 1);
        EXPECT_EQ(out[64 + i], 3 * i + 1 + 5);
      }
      EXPECT_EQ(result.stats.barriers, 2u);
    }
}

// A named barrier reused over many phases by the whole block, with
// bar.sync and bar.arrive mixed: every phase orders like a gpu.barrier for
// the race check (each thread writes the int its neighbour reads next).
extern "C" void namedPhasesKernel(void **params) {
  int *out = getParam<const HandOffParams *>(params, 0)->out;
  int *shared = reinterpret_cast<int *>(sieve_emu_shared_memory());
  int thread = static_cast<int>(getLinearThreadId());
  int threads = static_cast<int>(sieve_emu_block_dim(0));
  int warp = thread / 32;
  for (int phase = 0; phase < 6; ++phase) {
    storeShared(&shared[thread], phase * 1000 + thread);
    // Warp 0 arrives without waiting in odd phases; it reads its
    // neighbour's value only after the next phase it waits for.
    bool arriveOnly = warp == 0 && phase % 2 == 1;
    sieve_emu_named_barrier(arriveOnly ? kArriveSite : kSyncSite, 1, threads,
                            arriveOnly ? 0 : 1);
    if (!arriveOnly)
      out[phase * threads + thread] =
          loadShared(&shared[(thread + 1) % threads]);
    sieve_emu_named_barrier(kSyncSite2, 2, threads, 1);
  }
}

TEST(EmulatorNamedBarrier, PhasesOrderLikeBarriers) {
  for (uint64_t seed : {0ull, 11ull}) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    const int threads = 96;
    std::vector<int> out(6 * threads, -1);
    HandOffParams p = {out.data()};
    const HandOffParams *pointer = &p;
    void *params[] = {&pointer};
    sieve_emu_launch_desc desc =
        makeLaunch("phases", namedPhasesKernel, params, 1, threads);
    desc.static_shared_bytes = threads * 4;
    desc.schedule_seed = seed;
    desc.check_races = 1;
    LaunchResult result = runLaunch(desc);
    ASSERT_EQ(result.status, 0) << result.error;
    for (int phase = 0; phase < 6; ++phase)
      for (int t = 0; t < threads; ++t)
        EXPECT_EQ(out[phase * threads + t],
                  t < 32 && phase % 2 == 1 ? -1
                                           : phase * 1000 + (t + 1) % threads);
    EXPECT_EQ(result.stats.barriers, 12u);
  }
}

//===----------------------------------------------------------------------===//
// setmaxnreg
//===----------------------------------------------------------------------===//

namespace {
struct RegisterParams {
  int *out;
};
} // namespace

// 384 threads start at 168 registers (65536 / 384 = 170, down to a
// multiple of 8). Warpgroup 1 releases warpgroup 0 from a named barrier
// and asks for 240 before warpgroup 0 gave any up (168 + 240 + 168 > 512
// per lane of a warpgroup): it waits, and so does warpgroup 2's increase,
// until warpgroup 0's decrease to 24 makes room for both (24 + 240 + 240 =
// 504: 64512 of 65536 registers).
extern "C" void setmaxnregKernel(void **params) {
  int *out = getParam<const RegisterParams *>(params, 0)->out;
  int thread = static_cast<int>(getLinearThreadId());
  int warpgroup = thread / kWarpgroup;
  if (warpgroup == 0) {
    sieve_emu_named_barrier(kSyncSite, 1, 256, 1);
    sieve_emu_setmaxnreg(kDecSite, 24, 0);
    // Decreasing again, to the same count, is allowed.
    sieve_emu_setmaxnreg(kDecSite, 24, 0);
  } else {
    if (warpgroup == 1)
      sieve_emu_named_barrier(kArriveSite, 1, 256, 0);
    sieve_emu_setmaxnreg(kIncSite, 240, 1);
    sieve_emu_setmaxnreg(kIncSite, 240, 1);
  }
  out[thread] = warpgroup;
}

TEST(EmulatorSetmaxnreg, IncreasesWaitForTheDecrease) {
  for (uint64_t seed : {0ull, 2ull, 31ull}) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    std::vector<int> out(384, -1);
    RegisterParams p = {out.data()};
    const RegisterParams *pointer = &p;
    void *params[] = {&pointer};
    sieve_emu_launch_desc desc =
        makeLaunch("registers", setmaxnregKernel, params, 1, 384);
    desc.schedule_seed = seed;
    LaunchResult result = runLaunch(desc);
    ASSERT_EQ(result.status, 0) << result.error;
    for (int t = 0; t < 384; ++t)
      EXPECT_EQ(out[t], t / kWarpgroup);
    EXPECT_EQ(result.stats.collectives, 6u);
    EXPECT_EQ(result.stats.barriers, 1u);
  }
}

//===----------------------------------------------------------------------===//
// Misuses
//===----------------------------------------------------------------------===//

namespace {
enum Misuse {
  kIdZero,
  kIdSixteen,
  kCountNotMultipleOf32,
  kCountAboveBlock,
  kMismatchedCounts,
  kDoubleArrival,
  kPartialWarpAtCompletion,
  kWarpWithReturnedLanes,
  kPartialLastWarp,
  kDeadlockCountNeverReached,
  kDeadlockTwoBarriers,
  kPhaseNeverCompleted,
  kSetmaxnregDivergentValues,
  kSetmaxnregDivergentSites,
  kSetmaxnregNotMultipleOf8,
  kSetmaxnregAbove256,
  kSetmaxnregBelow24,
  kSetmaxnregIncBelowCurrent,
  kSetmaxnregDecAboveCurrent,
  kSetmaxnregOverBudget,
  kSetmaxnregNotWholeWarpgroups,
  kSetmaxnregThreadReturns,
  // Not errors.
  kProducerReturnsWhileOthersWait,
  kSetmaxnregInitialCount,
};

struct MisuseCase {
  const char *name;
  Misuse misuse;
  uint32_t threads;
  const char *message; // nullptr: the launch must succeed
  const char *message2;
  const char *site;
  const char *thread;
};

const MisuseCase kMisuseCases[] = {
    {"id 0", kIdZero, 32,
     "bar.sync 0, 32: barrier 0 is gpu.barrier's (sieve_emu_barrier); named "
     "barriers are 1 to 15",
     nullptr, kSyncSite, "(0,0,0)"},
    {"id 16", kIdSixteen, 32,
     "bar.arrive 16, 32: named barrier 16 is not 1 to 15", nullptr, kArriveSite,
     "(0,0,0)"},
    {"count 48", kCountNotMultipleOf32, 64,
     "bar.sync 1, 48: the thread count 48 is not a positive multiple of 32",
     nullptr, kSyncSite, "(0,0,0)"},
    {"count above the block", kCountAboveBlock, 40,
     "bar.sync 1, 96: the thread count 96 exceeds the block's 40 threads "
     "rounded up to whole warps (64)",
     nullptr, kSyncSite, "(0,0,0)"},
    {"mismatched counts", kMismatchedCounts, 128,
     "bar.sync 1, 128: named barrier 1's phase 0 has 32 arrivals with count "
     "64: all arrivals of a phase must pass the same count",
     nullptr, kSyncSite, "(32,0,0)"},
    {"double arrival", kDoubleArrival, 64,
     "bar.arrive 1, 64: the thread arrives twice at named barrier 1 in phase "
     "0 (1 of 64 arrivals so far)",
     nullptr, kArriveSite, "(0,0,0)"},
    {"partial warp at completion", kPartialWarpAtCompletion, 96,
     "partial warp at named barrier 1: phase 0 reaches its count of 64 with "
     "16 of the 32 lanes of warp 0 arrived (thread (16,0,0) returned without "
     "arriving)",
     nullptr, kSyncSite, "(79,0,0)"},
    {"warp with returned lanes", kWarpWithReturnedLanes, 64,
     "partial warp at named barrier 1: warp 0 arrives with 16 live lanes",
     nullptr, kSyncSite, "(16,0,0)"},
    {"partial last warp", kPartialLastWarp, 48,
     "partial warp at named barrier 1: warp 1 arrives with 16 live lanes",
     nullptr, kSyncSite, "(32,0,0)"},
    {"deadlock: count never reached", kDeadlockCountNeverReached, 128,
     "deadlock: no thread of the block can proceed; this thread waits at "
     "named barrier 1 (64 of 96 arrivals, phase 0) here (and 63 other "
     "threads alike)",
     nullptr, kSyncSite, "(0,0,0)"},
    {"deadlock: two barriers", kDeadlockTwoBarriers, 64,
     "deadlock: no thread of the block can proceed; this thread waits at "
     "named barrier 1 (32 of 64 arrivals, phase 1) here (and 31 other "
     "threads alike) while thread (32,0,0) waits at named barrier 2 (32 of "
     "64 arrivals, phase 0) at ",
     kSyncSite, kSyncSite, "(0,0,0)"},
    {"phase never completed", kPhaseNeverCompleted, 96,
     "named barrier 5: 64 of 96 arrivals, phase never completed", nullptr,
     kArriveSite, "(0,0,0)"},
    {"setmaxnreg with divergent values", kSetmaxnregDivergentValues, 128,
     "divergent setmaxnreg: thread 64 asks for setmaxnreg.inc 256 while the "
     "other 64 threads of its warpgroup asked for setmaxnreg.dec 24",
     nullptr, kIncSite, "(64,0,0)"},
    {"setmaxnreg at divergent sites", kSetmaxnregDivergentSites, 128,
     "divergent setmaxnreg: thread 64 reaches this setmaxnreg.dec while 64 "
     "other threads of its warpgroup wait in the setmaxnreg at ",
     kIncSite, kDecSite, "(64,0,0)"},
    {"setmaxnreg 100", kSetmaxnregNotMultipleOf8, 128,
     "setmaxnreg.inc with 100 registers: not a multiple of 8", nullptr,
     kIncSite, "(0,0,0)"},
    {"setmaxnreg 264", kSetmaxnregAbove256, 128,
     "setmaxnreg.inc with 264 registers: must be 24 to 256", nullptr, kIncSite,
     "(0,0,0)"},
    {"setmaxnreg 16", kSetmaxnregBelow24, 128,
     "setmaxnreg.dec with 16 registers: must be 24 to 256", nullptr, kDecSite,
     "(0,0,0)"},
    {"setmaxnreg.inc below the current count", kSetmaxnregIncBelowCurrent, 128,
     "setmaxnreg.inc to 240 registers, below the warpgroup's 248", nullptr,
     kIncSite, "(0,0,0)"},
    {"setmaxnreg.dec above the current count", kSetmaxnregDecAboveCurrent, 384,
     "setmaxnreg.dec to 200 registers, above the warpgroup's 168", nullptr,
     kDecSite, "(128,0,0)"},
    {"setmaxnreg over budget", kSetmaxnregOverBudget, 384,
     "setmaxnreg.inc asks for 256 registers: the block would need 75776 of "
     "the 65536 registers (128 threads per warpgroup at 256, 168, 168 "
     "registers)",
     nullptr, kIncSite, "(0,0,0)"},
    {"setmaxnreg in a block of 64 threads", kSetmaxnregNotWholeWarpgroups, 64,
     "setmaxnreg.dec needs whole warpgroups (128 threads); the block has 64 "
     "threads",
     nullptr, kDecSite, "(0,0,0)"},
    {"a thread returns while its warpgroup waits in setmaxnreg",
     kSetmaxnregThreadReturns, 128,
     "thread returned while 127 other threads of its warpgroup wait in this "
     "setmaxnreg",
     nullptr, kDecSite, "(127,0,0)"},
    {"producer returns while others wait", kProducerReturnsWhileOthersWait, 64,
     nullptr, nullptr, nullptr, nullptr},
    {"setmaxnreg to the initial count", kSetmaxnregInitialCount, 256, nullptr,
     nullptr, nullptr, nullptr},
};
} // namespace

extern "C" void warpSpecializationMisuseKernel(void **params) {
  Misuse misuse = static_cast<Misuse>(getParam<int>(params, 0));
  int thread = static_cast<int>(getLinearThreadId());
  int warp = thread / 32;
  switch (misuse) {
  case kIdZero:
    sieve_emu_named_barrier(kSyncSite, 0, 32, 1);
    break;
  case kIdSixteen:
    sieve_emu_named_barrier(kArriveSite, 16, 32, 0);
    break;
  case kCountNotMultipleOf32:
    sieve_emu_named_barrier(kSyncSite, 1, 48, 1);
    break;
  case kCountAboveBlock:
    sieve_emu_named_barrier(kSyncSite, 1, 96, 1);
    break;
  case kMismatchedCounts:
    if (warp == 0)
      sieve_emu_named_barrier(kArriveSite, 1, 64, 0);
    else
      sieve_emu_named_barrier(kSyncSite, 1, 128, 1);
    break;
  case kDoubleArrival:
    sieve_emu_named_barrier(kArriveSite, 1, 64, 0);
    sieve_emu_named_barrier(kArriveSite, 1, 64, 0);
    break;
  case kPartialWarpAtCompletion:
    // Lanes 0-15 of warp 0 and 64-79 of warp 2 with all of warp 1 make the
    // count of 64: three warps, two of them partial.
    if (warp == 0 && thread < 16)
      sieve_emu_named_barrier(kArriveSite, 1, 64, 0);
    else if (warp == 1 || (warp == 2 && thread < 80))
      sieve_emu_named_barrier(kSyncSite, 1, 64, 1);
    break;
  case kWarpWithReturnedLanes:
    if (thread >= 16)
      sieve_emu_named_barrier(kSyncSite, 1, 64, 1);
    break;
  case kPartialLastWarp:
    sieve_emu_named_barrier(kSyncSite, 1, 64, 1);
    break;
  case kDeadlockCountNeverReached:
    if (warp < 2)
      sieve_emu_named_barrier(kSyncSite, 1, 96, 1);
    break;
  case kDeadlockTwoBarriers:
    // One phase of barrier 1 completes; then each warp waits for the other
    // at a barrier of its own.
    sieve_emu_named_barrier(kSyncSite, 1, 64, 1);
    sieve_emu_named_barrier(kSyncSite, warp == 0 ? 1 : 2, 64, 1);
    break;
  case kPhaseNeverCompleted:
    if (warp < 2)
      sieve_emu_named_barrier(kArriveSite, 5, 96, 0);
    break;
  case kSetmaxnregDivergentValues:
    if (thread < 64)
      sieve_emu_setmaxnreg(kIncSite, 24, 0);
    else
      sieve_emu_setmaxnreg(kIncSite, 256, 1);
    break;
  case kSetmaxnregDivergentSites:
    sieve_emu_setmaxnreg(thread < 64 ? kIncSite : kDecSite, 248, 0);
    break;
  case kSetmaxnregNotMultipleOf8:
    sieve_emu_setmaxnreg(kIncSite, 100, 1);
    break;
  case kSetmaxnregAbove256:
    sieve_emu_setmaxnreg(kIncSite, 264, 1);
    break;
  case kSetmaxnregBelow24:
    sieve_emu_setmaxnreg(kDecSite, 16, 0);
    break;
  case kSetmaxnregIncBelowCurrent:
    sieve_emu_setmaxnreg(kIncSite, 240, 1);
    break;
  case kSetmaxnregDecAboveCurrent:
    if (thread >= 128)
      sieve_emu_setmaxnreg(kDecSite, 200, 0);
    break;
  case kSetmaxnregOverBudget:
    // Nobody else gives registers up: the increase can never be granted.
    if (thread < 128)
      sieve_emu_setmaxnreg(kIncSite, 256, 1);
    break;
  case kSetmaxnregNotWholeWarpgroups:
    sieve_emu_setmaxnreg(kDecSite, 24, 0);
    break;
  case kSetmaxnregThreadReturns:
    if (thread < 127)
      sieve_emu_setmaxnreg(kDecSite, 24, 0);
    break;
  case kProducerReturnsWhileOthersWait:
    // Warp 0 waits; warp 1 arrives and returns while it does.
    sieve_emu_named_barrier(warp == 0 ? kSyncSite : kArriveSite, 9, 64,
                            warp == 0 ? 1 : 0);
    break;
  case kSetmaxnregInitialCount:
    // 256 threads: 65536 / 256 = 256, capped at 255, down to 248; both
    // directions accept the current count.
    sieve_emu_setmaxnreg(kIncSite, 248, 1);
    sieve_emu_setmaxnreg(kDecSite, 248, 0);
    // 248 + 256 = 504 per lane: 64512 registers.
    if (thread < 128)
      sieve_emu_setmaxnreg(kIncSite, 256, 1);
    break;
  }
}

// Each misuse ends the launch with a one-line error naming the operation
// at fault and the thread; the correct uses next to them work.
TEST(EmulatorWarpSpecializationErrors, Misuses) {
  for (const MisuseCase &misuseCase : kMisuseCases) {
    SCOPED_TRACE(misuseCase.name);
    int misuse = misuseCase.misuse;
    void *params[] = {&misuse};
    sieve_emu_launch_desc desc =
        makeLaunch("misuse", warpSpecializationMisuseKernel, params, 1,
                   misuseCase.threads);
    std::string stderrText;
    LaunchResult result = runLaunchCapturingStderr(desc, stderrText);
    if (!misuseCase.message) {
      EXPECT_EQ(result.status, 0) << result.error;
      continue;
    }
    expectMisuseError(result, stderrText, misuseCase.message,
                      misuseCase.message2, misuseCase.site, misuseCase.thread);
  }
}
