//===- EmulatorInternal.h - State of the SIMT emulator ----------*- C++ -*-===//
//
// What the emulator's files share: a launch, the workers (OS threads) that
// run its blocks one at a time, the emulated CUDA threads of a block (one
// fiber each) and its warps. The C ABI of sieve/emulator.h is implemented on
// top of this; nothing here is visible outside the SieveEmulator library.
//
// Scheduling is cooperative: a worker's scheduler resumes the fibers of its
// block from a ready queue; a fiber runs until it blocks in a barrier or a
// warp collective (it then jumps back to the scheduler) or returns. A
// barrier or collective is completed by the last thread that arrives, which
// puts the others back on the ready queue. When the queue runs dry while
// threads are still live, nothing can ever complete again: a deadlock.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_EMULATOR_EMULATORINTERNAL_H
#define SIEVE_RUNTIME_EMULATOR_EMULATORINTERNAL_H

#include "sieve/HostTensor.h"
#include "sieve/emulator.h"

#include <boost/context/detail/fcontext.hpp>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sieve {
namespace emu {

using boost::context::detail::fcontext_t;

constexpr uint32_t kWarpSize = 32;
/// The threads of a warpgroup (warps 4i .. 4i+3).
constexpr uint32_t kWarpgroupSize = 4 * kWarpSize;
/// Warps of the largest block (CUDA's 1024 threads).
constexpr uint32_t kMaxWarpsPerBlock = 1024 / kWarpSize;
/// "No thread" in thread-id fields (shadow memory, lane slots).
constexpr uint32_t kNoThread = UINT32_MAX;
/// Bytes of a poisoned location (shared memory at block start, the
/// destination of a cp.async before its wait): NaN as f32, f16 and bf16.
constexpr uint8_t kPoisonByte = 0xFF;
/// Alignment of a block's shared memory: 2^18 bytes, the span of the
/// shared-memory addresses in wgmma descriptors.
constexpr uint64_t kSharedMemoryAlignment = uint64_t(1) << 18;

/// The swizzle of `bytes` bytes (0: none, 32, 64 or 128) on a shared-memory
/// offset, as wgmma descriptors and TMA use it: the 16-byte chunk (bits 4-6)
/// XOR the row within the pattern (bits 7-9).
inline uint64_t swizzleSharedOffset(uint64_t offset, uint32_t bytes) {
  if (bytes == 0)
    return offset;
  uint64_t mask = bytes / 16 - 1;
  return offset ^ (((offset >> 7) & mask) << 4);
}

class Worker;

//===----------------------------------------------------------------------===//
// Fiber stacks
//===----------------------------------------------------------------------===//

/// A fiber stack: an anonymous mapping whose lowest page is a guard page, so
/// that an overflow faults instead of corrupting the neighbouring stack.
struct FiberStack {
  void *mapping = nullptr;
  std::size_t mappingBytes = 0;

  /// The usable top of the stack (stacks grow down on every supported ABI).
  void *top() const { return static_cast<char *>(mapping) + mappingBytes; }
  /// The lowest usable byte, above the guard page.
  void *bottom() const;
  /// Usable bytes, without the guard page.
  std::size_t usableBytes() const;
};

/// Stacks are expensive to map and cheap to reuse, so they are kept in one
/// process-wide pool across blocks and launches. Their size comes from
/// SIEVE_EMU_STACK_KB (default 256), read once.
class StackPool {
public:
  static StackPool &get();
  /// Appends `count` stacks to `stacks`. Returns false if mapping failed.
  bool take(std::size_t count, std::vector<FiberStack> &stacks);
  /// Returns `stacks` to the pool and clears it.
  void give(std::vector<FiberStack> &stacks);
  std::size_t getStackBytes() const { return stackBytes; }

private:
  StackPool();
  std::mutex mutex;
  std::vector<FiberStack> free;
  std::size_t stackBytes;
};

//===----------------------------------------------------------------------===//
// Emulated threads and warps
//===----------------------------------------------------------------------===//

enum class ThreadStatus : uint8_t {
  Ready,          // on the ready queue or running
  AtBarrier,      // blocked in sieve_emu_barrier
  InCollective,   // blocked in a warp collective
  AtMbarrier,     // blocked in sieve_emu_mbarrier_wait_parity
  AtNamedBarrier, // blocked in sieve_emu_named_barrier (bar.sync)
  Returned,       // the kernel function returned
};

/// A cp.async issued and not yet completed by a wait.
struct AsyncCopy {
  const char *site;
  uint8_t *dst;
  const uint8_t *src;
  int32_t bytes;
  int32_t srcBytes;
  /// The commit group: the number of commits before the copy was issued.
  uint64_t group;
};

/// One emulated CUDA thread.
struct ThreadState {
  Worker *worker = nullptr;
  uint32_t linearId = 0;
  uint32_t id[3] = {0, 0, 0};
  ThreadStatus status = ThreadStatus::Ready;
  /// The site the thread blocks at (barrier, collective or mbarrier wait).
  const char *waitSite = nullptr;
  /// AtMbarrier: the barrier's shared-memory offset and the parity of the
  /// phase the thread waits for.
  uint64_t mbarrierOffset = 0;
  int32_t mbarrierParity = 0;
  /// AtNamedBarrier: the barrier's id. And per named barrier id (bit id),
  /// whether the thread arrived in its current phase.
  uint32_t namedBarrierId = 0;
  uint16_t namedBarrierArrivals = 0;
  /// The suspended fiber; valid while the thread is blocked or not started.
  fcontext_t context = nullptr;
  /// Async copies of this thread in issue order, and its number of commits.
  std::vector<AsyncCopy> asyncCopies;
  uint64_t committedGroups = 0;
  /// wgmma bookkeeping: whether a wgmma.fence came since the last commit,
  /// the products issued since then, the groups committed and retired.
  bool wgmmaFenced = false;
  uint32_t wgmmaOpenProducts = 0;
  const char *wgmmaOpenSite = nullptr;
  uint64_t wgmmaCommitted = 0, wgmmaRetired = 0;
  /// fence.proxy.async calls so far (shadow bytes record the count at
  /// their write).
  uint32_t proxyFences = 0;
  /// AddressSanitizer's state of the suspended fiber (unused without it).
  void *fakeStack = nullptr;

  uint32_t getWarp() const { return linearId / kWarpSize; }
  uint32_t getLane() const { return linearId % kWarpSize; }
};

enum class CollectiveKind : uint8_t { Shuffle, Vote, LdMatrix, MmaSync };

/// What a lane hands to a warp collective and where it wants the result.
/// Output pointers point into the lane's own (suspended) fiber stack or its
/// kernel's registers, which stay valid until the collective completes.
struct LaneSlot {
  bool arrived = false;
  // Shuffle and vote.
  uint32_t value = 0;
  int32_t offset = 0;
  uint32_t *result = nullptr;
  int32_t *valid = nullptr;
  // ldmatrix.
  const uint8_t *row = nullptr;
  uint32_t *fragment = nullptr;
  // mma.sync.
  const uint32_t *a = nullptr, *b = nullptr, *c = nullptr;
  uint32_t *d = nullptr;
};

/// The warp collective a warp's lanes are gathering in, if any.
struct WarpState {
  /// Lanes of this warp in the block (the last warp may be partial) and how
  /// many of them have not returned.
  uint32_t numLanes = 0;
  uint32_t liveLanes = 0;
  /// Lanes waiting in the pending collective (0: none pending).
  uint32_t arrived = 0;
  const char *site = nullptr;
  CollectiveKind kind = CollectiveKind::Shuffle;
  /// Arguments every lane must pass alike (width, mode, shape, ...).
  int32_t uniform[3] = {0, 0, 0};
  LaneSlot lanes[kWarpSize];
};

/// A thread's part in a pending wgmma: its A registers (null for a
/// shared-memory A) and its accumulators.
struct WarpgroupSlot {
  bool arrived = false;
  const uint32_t *a = nullptr;
  uint32_t *d = nullptr;
};

/// What all threads of a warpgroup must pass alike to a wgmma.
struct WgmmaArguments {
  int32_t n = 0, abType = 0, cdType = 0;
  uint64_t descA = 0, descB = 0;
  int32_t transA = 0, transB = 0, scaleD = 0;
  bool registerA = false;
  uint64_t group = 0;
};

/// The 128 threads of warps 4i .. 4i+3 gathering in a wgmma or a
/// setmaxnreg, and the warpgroup's register count.
struct WarpgroupState {
  uint32_t arrived = 0;
  const char *site = nullptr;
  /// The collective gathering ("wgmma", "setmaxnreg"), for messages.
  const char *operation = nullptr;
  WgmmaArguments arguments;
  /// setmaxnreg: the arguments of the pending one.
  int32_t setmaxnregRegisters = 0, setmaxnregIncrease = 0;
  /// The per-thread register count (see sieve_emu_setmaxnreg), and the
  /// count of an increase that waits for registers (0: none waits; its
  /// threads are blocked InCollective).
  uint32_t registers = 0;
  uint32_t waitingRegisters = 0;
  const char *waitingSite = nullptr;
  WarpgroupSlot slots[kWarpgroupSize];
};

/// The shared-memory bytes a wgmma read, until every thread of its
/// warpgroup has retired its group: writing them before is an error (the
/// hardware may still be reading).
struct WgmmaInFlight {
  const char *site;
  uint32_t warpgroup;
  uint64_t group;
  /// Sorted, disjoint [begin, end) byte ranges of shared memory.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
};

/// Race-check shadow of one shared-memory byte: its last writer and up to
/// two readers in their barrier intervals ("epochs", unique per worker).
struct ShadowByte {
  uint32_t writeEpoch = 0;
  uint32_t writer = kNoThread;
  /// The writer's proxyFences at the write: the write is visible to the
  /// async proxy once the writer's count has moved past it.
  uint32_t writerProxyFences = 0;
  uint32_t readEpoch = 0;
  uint32_t readers[2] = {kNoThread, kNoThread};
  const char *writeSite = nullptr;
  const char *readSites[2] = {nullptr, nullptr};
};

/// An initialized mbarrier object: 8 bytes of shared memory at `offset`
/// that only the mbarrier functions and TMA completions touch (its state
/// lives here, not in the bytes).
struct Mbarrier {
  uint64_t offset = 0;
  const char *initSite = nullptr;
  /// The phase in progress (phases completed so far); waits see its parity.
  uint64_t phase = 0;
  /// Arrivals per phase, and those the current phase still needs.
  uint32_t expected = 0, pending = 0;
  /// Transaction bytes expected and not delivered (negative: delivered
  /// before an expect_tx announced them).
  int64_t tx = 0;
  /// Threads blocked on the current phase; TMA loads that will complete_tx
  /// on it.
  uint32_t waiters = 0;
  uint32_t loads = 0;
};

/// The bytes of one mbarrier object.
constexpr uint64_t kMbarrierBytes = 8;
/// Bounds of an mbarrier's arrival count and of |tx| (PTX ISA, "Contents of
/// the mbarrier object").
constexpr int64_t kMbarrierMaxCount = (int64_t(1) << 20) - 1;

/// Named barriers 1 .. 15 (bar.sync / bar.arrive); 0 is gpu.barrier's.
constexpr uint32_t kNumNamedBarriers = 16;
/// The registers of an SM that a block's warps share (setmaxnreg).
constexpr uint32_t kRegistersPerBlock = 65536;

/// A named barrier's current phase.
struct NamedBarrier {
  /// Arrivals so far and the count they passed (valid while arrived > 0).
  uint32_t arrived = 0;
  uint32_t count = 0;
  /// Threads blocked on the phase (bar.sync).
  uint32_t waiters = 0;
  /// Phases completed.
  uint64_t phase = 0;
  /// The phase's first arrival, blamed if it never completes.
  uint32_t firstThread = kNoThread;
  const char *firstSite = nullptr;
  /// Arrivals per warp.
  uint8_t warpArrivals[kMaxWarpsPerBlock] = {};
};

/// A TMA load (cp.async.bulk.tensor) issued and not yet completed. The map
/// is copied at issue, as the hardware reads it then.
struct TmaLoad {
  const char *site;
  /// The issuing thread, blamed for errors found at completion.
  uint32_t thread;
  uint64_t dstOffset;
  uint64_t barrierOffset;
  sieve_emu_tensor_map map;
  int64_t coords[5];
  /// prod(box) * element_bytes: what completion subtracts from tx.
  uint64_t boxBytes;
};

//===----------------------------------------------------------------------===//
// Launch and workers
//===----------------------------------------------------------------------===//

/// One sieve_emu_launch call: its description, its first error and the
/// counters its workers add to.
class Launch {
public:
  explicit Launch(const sieve_emu_launch_desc &desc) : desc(desc) {}

  /// Records the first error of the launch (later ones are dropped) and
  /// writes it to stderr at once, unbuffered. `thread` may be null for
  /// errors that concern the launch as a whole.
  void reportError(const Worker *worker, const ThreadState *thread,
                   const char *site, const char *what);
  bool hasFailed() const { return failed.load(std::memory_order_relaxed); }

  const sieve_emu_launch_desc desc;
  uint64_t numBlocks = 0;
  uint32_t threadsPerBlock = 0;
  std::atomic<uint64_t> nextBlock{0};
  std::string errorMessage;

  std::atomic<uint64_t> blocksRun{0}, threadsRun{0}, barriers{0},
      collectives{0}, workUnits{0};

private:
  std::atomic<bool> failed{false};
};

/// An OS thread of a launch: runs whole blocks, one at a time, each CUDA
/// thread of a block on a fiber of its own.
class Worker {
public:
  explicit Worker(Launch &launch) : launch(launch) {}
  ~Worker();

  /// Runs blocks until none is left or the launch failed.
  void run();

  //===--------------------------------------------------------------------===//
  // For the ABI functions, called on a fiber of this worker.
  //===--------------------------------------------------------------------===//

  /// Blocks the calling thread (its status already set) until another
  /// thread wakes it.
  void suspend();
  /// Puts a blocked thread back on the ready queue.
  void wake(ThreadState &thread);
  /// sieve_emu_barrier for the calling thread `thread`: returns once every
  /// live thread of the block has arrived at `site`.
  void arriveAtBarrier(ThreadState &thread, const char *site);
  /// Ends the launch with an error blamed on `culprit` (not necessarily the
  /// calling thread: a collective's last lane checks the others' inputs)
  /// and abandons the calling fiber; does not return.
  [[noreturn]] void fail(const ThreadState &culprit, const char *site,
                         const char *format, ...)
      __attribute__((format(printf, 4, 5)));

  /// Race check of `bytes` bytes at `offset` into shared memory.
  void checkSharedAccess(const ThreadState &thread, const char *site,
                         uint64_t offset, uint64_t bytes, bool isWrite);
  /// Fails if [offset, offset + bytes) of shared memory is read by a wgmma
  /// whose group has not been retired by its whole warpgroup.
  void checkWgmmaInFlightWrite(const ThreadState &thread, const char *site,
                               uint64_t offset, uint64_t bytes);
  /// The mbarrier at shared-memory `offset`, or null if none was
  /// initialized there in this block.
  Mbarrier *findMbarrier(uint64_t offset);
  /// Fails if [offset, offset + bytes) of shared memory overlaps an
  /// mbarrier object; `what` names the access ("store or load", ...).
  void checkNotMbarrier(const ThreadState &thread, const char *site,
                        uint64_t offset, uint64_t bytes, const char *what) {
    if (mbarriers.empty() || offset >= mbarrierEnd ||
        offset + bytes <= mbarrierBegin)
      return;
    checkNotMbarrierSlow(thread, site, offset, bytes, what);
  }
  /// Completes the phase of `barrier` if pending == 0 and tx == 0, waking
  /// its waiters. Safe on a fiber and in the scheduler.
  void completeMbarrierPhases(Mbarrier &barrier);
  /// Puts every thread blocked on the mbarrier at `offset` back on the ready
  /// queue (in linear order, or a seeded random one).
  void wakeMbarrierWaiters(uint64_t offset);
  /// "waits for parity ... (phase ..., ...)": what a thread blocked on an
  /// mbarrier waits for and the barrier's state, for the deadlock report.
  void describeMbarrierWait(const ThreadState &thread, char *buffer,
                            std::size_t bytes);
  /// The first byte of [offset, offset + bytes) that a wgmma in flight
  /// reads, and that product; false if there is none.
  bool findWgmmaInFlightRead(uint64_t offset, uint64_t bytes, uint64_t &byte,
                             const WgmmaInFlight *&reader) const;
  /// Counts the arrival of the calling thread `thread` at named barrier
  /// `id` (checked) and, with `wait`, blocks until its phase completes.
  void arriveAtNamedBarrier(ThreadState &thread, const char *site, uint32_t id,
                            uint32_t count, bool wait);
  /// "waits at named barrier ...": for the deadlock report.
  void describeNamedBarrierWait(const ThreadState &thread, char *buffer,
                                std::size_t bytes) const;
  /// The block's total of registers with warpgroup `index` at
  /// `registers` per thread and the others at their counts.
  uint64_t getBlockRegisters(uint32_t index, uint32_t registers) const;
  /// Grants the waiting register increases that now fit, waking their
  /// warpgroups.
  void grantWaitingRegisters();
  /// Whether [address, address + bytes) lies in this block's shared memory.
  bool isInSharedMemory(const void *address, uint64_t bytes) const;
  /// The offset of `address` (in shared memory) from its start.
  uint64_t getSharedOffset(const void *address) const {
    return reinterpret_cast<uintptr_t>(address) -
           reinterpret_cast<uintptr_t>(sharedMemory);
  }
  /// "(x,y,z)": the thread ids of the block's thread `linearId`.
  void describeThread(uint32_t linearId, char *buffer, std::size_t bytes) const;

  Launch &launch;
  std::vector<ThreadState> threads;
  std::vector<WarpState> warps;
  /// The block's warpgroups (none if it is not made of whole ones), the
  /// products in flight, and per shared-memory byte how many of them read
  /// it (empty until the block's first wgmma).
  std::vector<WarpgroupState> warpgroups;
  std::vector<WgmmaInFlight> wgmmaInFlight;
  std::vector<uint16_t> wgmmaReaders;
  /// The block's initialized mbarriers (few: searched linearly), the span
  /// [mbarrierBegin, mbarrierEnd) of shared memory they cover, and the TMA
  /// loads issued and not completed, oldest first.
  std::vector<Mbarrier> mbarriers;
  uint64_t mbarrierBegin = 0, mbarrierEnd = 0;
  std::deque<TmaLoad> tmaLoads;
  /// Named barriers, by id (0 unused: gpu.barrier's).
  NamedBarrier namedBarriers[kNumNamedBarriers];
  uint32_t blockId[3] = {0, 0, 0};
  uint8_t *sharedMemory = nullptr;
  uint64_t sharedBytes = 0;
  bool checkRaces = false;

  /// The current barrier: its site, how many threads wait at it, how many
  /// have not returned.
  const char *barrierSite = nullptr;
  uint32_t barrierArrived = 0;
  uint32_t liveThreads = 0;

  /// The barrier interval of the running block, for the race check; unique
  /// across the blocks this worker runs in the launch.
  uint32_t epoch = 0;
  /// The first epoch of the running block: shadow bytes with an older
  /// writeEpoch were written by an earlier block.
  uint32_t blockFirstEpoch = 0;
  std::vector<ShadowByte> shadow;

  /// Counters for the launch's statistics, added to it when run() ends.
  uint64_t blocksRun = 0, barriers = 0, collectives = 0, workUnits = 0;

private:
  /// Runs one block to its end or to the launch's first error.
  void runBlock(uint64_t block);
  /// Puts every live thread on the (empty) ready queue, in linear order or,
  /// with a schedule seed, in a random one.
  void enqueueLiveThreads();
  /// The checks and bookkeeping of a thread whose kernel function returned.
  void exitThread(ThreadState &thread);
  void reportDeadlock();
  /// Completes the oldest pending TMA load (scheduler only: reports errors
  /// to the launch instead of failing a fiber). Returns false on an error.
  bool completeTmaLoad();
  /// The error of a block whose threads all returned with TMA loads pending.
  void reportTmaLoadNotWaited();
  /// Resets the named barriers and register counts for a new block.
  void resetWarpSpecialization();
  /// When no thread can run: reports a register increase that waits and
  /// returns true, or returns false if none waits.
  bool reportRegisterWait();
  /// When every thread returned: reports a named barrier left with a phase
  /// partly arrived and returns true, or returns false if there is none.
  bool reportNamedBarrierNotCompleted();
  /// Puts every thread blocked on named barrier `id` back on the ready
  /// queue (in linear order, or a seeded random one).
  void wakeNamedBarrierWaiters(uint32_t id);
  /// checkNotMbarrier past its quick test of the span of all mbarriers.
  void checkNotMbarrierSlow(const ThreadState &thread, const char *site,
                            uint64_t offset, uint64_t bytes, const char *what);

  static void fiberEntry(boost::context::detail::transfer_t transfer);
  /// Runs `thread`'s fiber until it blocks, returns or fails.
  void resume(ThreadState &thread);
  /// Leaves the calling fiber for good, back to the scheduler.
  [[noreturn]] void leaveFiber();

  /// The context of the scheduler loop while a fiber runs, and its stack
  /// (for AddressSanitizer).
  fcontext_t schedulerContext = nullptr;
  const void *schedulerStackBottom = nullptr;
  std::size_t schedulerStackBytes = 0;
  void *schedulerFakeStack = nullptr;
  std::vector<FiberStack> stacks;
  /// Ring buffer of thread ids; each thread is on it at most once.
  std::vector<uint32_t> readyQueue;
  std::size_t readyHead = 0, readySize = 0;
  std::vector<uint32_t> scratchOrder;
  /// Draws seeded schedules; reseeded per block so that a block's schedule
  /// does not depend on which worker runs it.
  RandomSource random{0};
  std::vector<uint8_t> sharedStorage;
};

/// Whether two site strings name the same operation (generated code passes
/// the same constant, but equal text counts too).
inline bool isSameSite(const char *a, const char *b) {
  return a == b || (a && b && std::strcmp(a, b) == 0);
}

/// The calling thread's warpgroup, after checking that the block is made of
/// whole warpgroups; `name` names the operation in the error.
uint32_t getWarpgroup(ThreadState &thread, const char *site, const char *name);
/// getWarpgroup for a warpgroup collective: all its threads must be live.
uint32_t requireWarpgroup(ThreadState &thread, const char *site,
                          const char *name);

/// A matrix-product operand element (SIEVE_EMU_TYPE_F16, _BF16 or _E4M3,
/// its bits in the low bits of `bits`) as an f32, exactly.
float getOperandValue(uint32_t bits, int32_t type);

/// The emulated thread running on this OS thread, or null outside a launch.
ThreadState *getCurrentThread();
/// getCurrentThread(), or a fatal error naming `function` if there is none.
ThreadState &requireCurrentThread(const char *function);

} // namespace emu
} // namespace sieve

#endif // SIEVE_RUNTIME_EMULATOR_EMULATORINTERNAL_H
