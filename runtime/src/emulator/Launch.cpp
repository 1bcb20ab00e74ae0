//===- Launch.cpp - Running a grid on fibers ------------------------------===//
//
// sieve_emu_launch and what it rests on: fiber stacks, the workers that run
// whole blocks on OS threads, the per-block scheduler, and how the first
// error ends a launch.
//
// Context switches use Boost.Context's fcontext layer (make_fcontext /
// jump_fcontext): a switch saves and restores a few callee-saved registers
// and costs tens of nanoseconds, against hundreds for ucontext's system
// calls. The fiber/continuation classes above it are not used on purpose:
// they unwind a fiber's stack with an exception when it is destroyed
// unfinished, and generated kernels have no unwind tables. A fiber that the
// launch abandons after an error is simply never resumed; its stack goes
// back to the pool as it is. So nothing on a fiber's stack may own memory
// across a call that can block or fail; the ABI functions keep to that.
//
//===----------------------------------------------------------------------===//

#include "EmulatorInternal.h"

#include <sys/mman.h>
#include <unistd.h>

// AddressSanitizer must be told about stack switches, or it takes one
// fiber's frames for overflows of another's.
#if defined(__SANITIZE_ADDRESS__)
#define SIEVE_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIEVE_EMU_ASAN 1
#endif
#endif
#ifdef SIEVE_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <thread>

using namespace sieve;
using namespace sieve::emu;
using boost::context::detail::jump_fcontext;
using boost::context::detail::make_fcontext;
using boost::context::detail::transfer_t;

namespace {
/// The emulated thread whose fiber runs on this OS thread. Fibers never move
/// between OS threads (a block stays on its worker), so a thread_local is
/// how the ABI functions find their caller.
thread_local ThreadState *currentThread = nullptr;

/// Largest shared memory a launch may ask for: far above any GPU's, low
/// enough that a garbage size fails cleanly instead of exhausting memory.
constexpr uint64_t kMaxSharedBytes = 64ull << 20;
/// CUDA's limit on threads per block.
constexpr uint64_t kMaxThreadsPerBlock = 1024;
constexpr std::size_t kDefaultStackKiB = 256;

/// Writes `text` to stderr with write(2): the process may die right after
/// an error (a kernel that goes on after a failed check, a crash), and a
/// message still in a stdio buffer would be lost.
void writeStderr(const std::string &text) {
  const char *data = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t written = ::write(STDERR_FILENO, data, left);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    data += written;
    left -= static_cast<std::size_t>(written);
  }
}

/// Before a context switch: `fakeStackSave` keeps ASan's state of the stack
/// being left (null when it is left for good); bottom and size describe the
/// stack being entered.
void startSwitch(void **fakeStackSave, const void *bottom, std::size_t size) {
#ifdef SIEVE_EMU_ASAN
  __sanitizer_start_switch_fiber(fakeStackSave, bottom, size);
#endif
}

/// After a context switch, on the stack entered.
void finishSwitch(void *fakeStackSave, const void **oldBottom,
                  std::size_t *oldSize) {
#ifdef SIEVE_EMU_ASAN
  __sanitizer_finish_switch_fiber(fakeStackSave, oldBottom, oldSize);
#endif
}

std::size_t getPageBytes() {
  static const std::size_t pageBytes =
      static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return pageBytes;
}
} // namespace

ThreadState *emu::getCurrentThread() { return currentThread; }

ThreadState &emu::requireCurrentThread(const char *function) {
  if (ThreadState *thread = currentThread)
    return *thread;
  writeStderr(std::string("sieve-emu: fatal: ") + function +
              " called outside sieve_emu_launch\n");
  std::abort();
}

//===----------------------------------------------------------------------===//
// Fiber stacks
//===----------------------------------------------------------------------===//

std::size_t FiberStack::usableBytes() const {
  return mappingBytes - getPageBytes();
}

void *FiberStack::bottom() const {
  return static_cast<char *>(mapping) + getPageBytes();
}

StackPool &StackPool::get() {
  static StackPool pool;
  return pool;
}

StackPool::StackPool() {
  std::size_t kib = kDefaultStackKiB;
  if (const char *env = std::getenv("SIEVE_EMU_STACK_KB")) {
    char *end = nullptr;
    unsigned long long value = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0' && value >= 16 && value <= (1u << 20))
      kib = static_cast<std::size_t>(value);
    else
      writeStderr(std::string("sieve-emu: warning: ignoring "
                              "SIEVE_EMU_STACK_KB='") +
                  env + "' (want 16 to 1048576); using 256\n");
  }
  std::size_t page = getPageBytes();
  stackBytes = (kib * 1024 + page - 1) / page * page;
}

bool StackPool::take(std::size_t count, std::vector<FiberStack> &stacks) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (; count > 0 && !free.empty(); --count) {
      stacks.push_back(free.back());
      free.pop_back();
    }
  }
  std::size_t page = getPageBytes();
  for (; count > 0; --count) {
    std::size_t bytes = stackBytes + page;
    // MAP_NORESERVE: a stack costs only the pages its fiber touches.
    void *mapping =
        ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED)
      return false;
    if (::mprotect(mapping, page, PROT_NONE) != 0) {
      ::munmap(mapping, bytes);
      return false;
    }
    stacks.push_back({mapping, bytes});
  }
  return true;
}

void StackPool::give(std::vector<FiberStack> &stacks) {
  std::lock_guard<std::mutex> lock(mutex);
  free.insert(free.end(), stacks.begin(), stacks.end());
  stacks.clear();
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

void Launch::reportError(const Worker *worker, const ThreadState *thread,
                         const char *site, const char *what) {
  if (failed.exchange(true))
    return;
  std::string message = "sieve-emu: error: ";
  if (site && *site) {
    message += site;
    message += ": ";
  }
  message += what;
  message += " (kernel ";
  message += desc.kernel_name && *desc.kernel_name ? desc.kernel_name : "?";
  if (worker && thread) {
    char ids[128];
    std::snprintf(ids, sizeof(ids), ", block (%u,%u,%u), thread (%u,%u,%u)",
                  worker->blockId[0], worker->blockId[1], worker->blockId[2],
                  thread->id[0], thread->id[1], thread->id[2]);
    message += ids;
  }
  message += ")";
  // One line, whatever the site strings hold.
  for (char &c : message)
    if (c == '\n' || c == '\r')
      c = ' ';
  errorMessage = message;
  writeStderr(message + "\n");
}

void Worker::fail(const ThreadState &culprit, const char *site,
                  const char *format, ...) {
  // Formatted on the stack: nothing here may own heap memory, since this
  // fiber is never resumed to free it.
  char what[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(what, sizeof(what), format, args);
  va_end(args);
  launch.reportError(this, &culprit, site, what);
  // The scheduler sees the failed launch and abandons the block without
  // resuming any of its fibers.
  leaveFiber();
}

void Worker::describeThread(uint32_t linearId, char *buffer,
                            std::size_t bytes) const {
  const ThreadState &thread = threads[linearId];
  std::snprintf(buffer, bytes, "(%u,%u,%u)", thread.id[0], thread.id[1],
                thread.id[2]);
}

void Worker::reportDeadlock() {
  // Blame the first blocked thread; group the blocked threads by what they
  // wait for (status, site and, for an mbarrier, the barrier and parity)
  // and name the first thread of each other group, which is what keeps the
  // others from proceeding.
  constexpr int kMaxGroups = 4;
  struct Group {
    const ThreadState *first;
    uint32_t count;
  } groups[kMaxGroups];
  int numGroups = 0;
  uint32_t ungrouped = 0;
  auto isSameWait = [](const ThreadState &x, const ThreadState &y) {
    return x.status == y.status && isSameSite(x.waitSite, y.waitSite) &&
           (x.status != ThreadStatus::AtMbarrier ||
            (x.mbarrierOffset == y.mbarrierOffset &&
             x.mbarrierParity == y.mbarrierParity)) &&
           (x.status != ThreadStatus::AtNamedBarrier ||
            x.namedBarrierId == y.namedBarrierId);
  };
  for (const ThreadState &thread : threads) {
    if (thread.status == ThreadStatus::Returned)
      continue;
    int g = 0;
    while (g < numGroups && !isSameWait(thread, *groups[g].first))
      ++g;
    if (g < numGroups)
      ++groups[g].count;
    else if (numGroups < kMaxGroups)
      groups[numGroups++] = {&thread, 1};
    else
      ++ungrouped;
  }
  // Formatted into fixed buffers: the report is one line of bounded size.
  char what[2048];
  std::size_t used = 0;
  auto append = [&](const char *format, auto... args) {
    if (used < sizeof(what))
      used += static_cast<std::size_t>(
          std::snprintf(what + used, sizeof(what) - used, format, args...));
  };
  auto where = [&](const ThreadState &thread, char *buffer, std::size_t bytes) {
    switch (thread.status) {
    case ThreadStatus::AtBarrier:
      std::snprintf(buffer, bytes, "waits in a barrier");
      break;
    case ThreadStatus::AtMbarrier:
      describeMbarrierWait(thread, buffer, bytes);
      break;
    case ThreadStatus::AtNamedBarrier:
      describeNamedBarrierWait(thread, buffer, bytes);
      break;
    default:
      std::snprintf(buffer, bytes, "waits in a warp collective");
      break;
    }
  };
  char wait[512];
  append("deadlock: no thread of the block can proceed");
  for (int g = 0; g < numGroups; ++g)
    if (groups[g].first->status == ThreadStatus::AtMbarrier) {
      append(" and no TMA load is pending");
      break;
    }
  where(*groups[0].first, wait, sizeof(wait));
  append("; this thread %s here", wait);
  if (groups[0].count > 1)
    append(" (and %u other threads alike)", groups[0].count - 1);
  for (int g = 1; g < numGroups; ++g) {
    char id[48];
    describeThread(groups[g].first->linearId, id, sizeof(id));
    where(*groups[g].first, wait, sizeof(wait));
    append("%s thread %s %s at %s", g == 1 ? " while" : ";", id, wait,
           groups[g].first->waitSite ? groups[g].first->waitSite : "?");
    if (groups[g].count > 1)
      append(" (and %u other threads alike)", groups[g].count - 1);
  }
  if (ungrouped > 0)
    append("; %u more threads wait elsewhere", ungrouped);
  launch.reportError(this, groups[0].first, groups[0].first->waitSite, what);
}

//===----------------------------------------------------------------------===//
// Scheduling
//===----------------------------------------------------------------------===//

Worker::~Worker() {
  if (!stacks.empty())
    StackPool::get().give(stacks);
}

void Worker::suspend() {
  ThreadState &thread = *currentThread;
  startSwitch(&thread.fakeStack, schedulerStackBottom, schedulerStackBytes);
  schedulerContext = jump_fcontext(schedulerContext, nullptr).fctx;
  finishSwitch(thread.fakeStack, nullptr, nullptr);
}

void Worker::leaveFiber() {
  startSwitch(nullptr, schedulerStackBottom, schedulerStackBytes);
  jump_fcontext(schedulerContext, nullptr);
  std::abort();
}

void Worker::resume(ThreadState &thread) {
  const FiberStack &stack = stacks[thread.linearId];
  currentThread = &thread;
  startSwitch(&schedulerFakeStack, stack.bottom(), stack.usableBytes());
  thread.context = jump_fcontext(thread.context, &thread).fctx;
  finishSwitch(schedulerFakeStack, nullptr, nullptr);
  currentThread = nullptr;
}

void Worker::wake(ThreadState &thread) {
  thread.status = ThreadStatus::Ready;
  thread.waitSite = nullptr;
  readyQueue[(readyHead + readySize) % readyQueue.size()] = thread.linearId;
  ++readySize;
}

void Worker::wakeMbarrierWaiters(uint64_t offset) {
  scratchOrder.clear();
  for (const ThreadState &thread : threads)
    if (thread.status == ThreadStatus::AtMbarrier &&
        thread.mbarrierOffset == offset)
      scratchOrder.push_back(thread.linearId);
  if (launch.desc.schedule_seed != 0)
    for (std::size_t i = scratchOrder.size(); i > 1; --i)
      std::swap(scratchOrder[i - 1], scratchOrder[random.next() % i]);
  for (uint32_t id : scratchOrder)
    wake(threads[id]);
}

void Worker::enqueueLiveThreads() {
  scratchOrder.resize(threads.size());
  std::iota(scratchOrder.begin(), scratchOrder.end(), 0u);
  if (launch.desc.schedule_seed != 0)
    for (std::size_t i = scratchOrder.size(); i > 1; --i)
      std::swap(scratchOrder[i - 1], scratchOrder[random.next() % i]);
  for (uint32_t id : scratchOrder)
    if (threads[id].status != ThreadStatus::Returned)
      wake(threads[id]);
}

void Worker::arriveAtBarrier(ThreadState &thread, const char *site) {
  if (barrierArrived > 0 && !isSameSite(barrierSite, site))
    fail(thread, site,
         "threads wait at different barriers: this one, and %u other "
         "threads at %s",
         barrierArrived, barrierSite);
  if (barrierArrived == 0)
    barrierSite = site;
  thread.status = ThreadStatus::AtBarrier;
  thread.waitSite = site;
  if (++barrierArrived == liveThreads) {
    // Every live thread is here, so none is on the ready queue: the next
    // barrier interval starts with all of them, the caller included, in
    // linear or seeded order.
    ++barriers;
    ++epoch;
    barrierArrived = 0;
    barrierSite = nullptr;
    enqueueLiveThreads();
  }
  suspend();
}

void Worker::exitThread(ThreadState &thread) {
  if (!thread.asyncCopies.empty())
    fail(thread, thread.asyncCopies.front().site,
         "thread returned with %zu cp.async copies that no wait completed",
         thread.asyncCopies.size());
  if (thread.wgmmaOpenProducts > 0)
    fail(thread, thread.wgmmaOpenSite,
         "thread returned with %u wgmma products that no "
         "wgmma.commit_group closed",
         thread.wgmmaOpenProducts);
  if (thread.wgmmaCommitted > thread.wgmmaRetired)
    fail(thread, nullptr,
         "thread returned with %llu wgmma groups in flight that no "
         "wgmma.wait_group retired",
         static_cast<unsigned long long>(thread.wgmmaCommitted -
                                         thread.wgmmaRetired));
  if (!warpgroups.empty()) {
    const WarpgroupState &group = warpgroups[thread.linearId / (4 * kWarpSize)];
    if (group.arrived > 0)
      fail(thread, group.site,
           "thread returned while %u other threads of its warpgroup wait in "
           "this %s",
           group.arrived, group.operation ? group.operation : "wgmma");
  }
  WarpState &warp = warps[thread.getWarp()];
  if (warp.arrived > 0)
    fail(thread, warp.site,
         "divergent warp collective: lane %u returned while %u other lanes "
         "of its warp wait here",
         thread.getLane(), warp.arrived);
  if (barrierArrived > 0)
    fail(thread, barrierSite,
         "thread returned while %u other threads of the block wait at this "
         "barrier",
         barrierArrived);
  thread.status = ThreadStatus::Returned;
  --warp.liveLanes;
  --liveThreads;
}

void Worker::fiberEntry(transfer_t transfer) {
  ThreadState &thread = *static_cast<ThreadState *>(transfer.data);
  Worker &worker = *thread.worker;
  finishSwitch(nullptr, &worker.schedulerStackBottom,
               &worker.schedulerStackBytes);
  worker.schedulerContext = transfer.fctx;
  worker.launch.desc.kernel(worker.launch.desc.params);
  worker.exitThread(thread);
  // A returned thread is never put on the ready queue again.
  worker.leaveFiber();
}

void Worker::runBlock(uint64_t block) {
  const sieve_emu_launch_desc &desc = launch.desc;
  blockId[0] = static_cast<uint32_t>(block % desc.grid[0]);
  blockId[1] = static_cast<uint32_t>(block / desc.grid[0] % desc.grid[1]);
  blockId[2] = static_cast<uint32_t>(block / desc.grid[0] / desc.grid[1]);

  std::memset(sharedMemory, kPoisonByte, sharedBytes);
  ++epoch;
  blockFirstEpoch = epoch;
  barrierSite = nullptr;
  barrierArrived = 0;
  liveThreads = static_cast<uint32_t>(threads.size());
  for (WarpgroupState &group : warpgroups) {
    group.arrived = 0;
    for (WarpgroupSlot &slot : group.slots)
      slot.arrived = false;
  }
  wgmmaInFlight.clear();
  std::fill(wgmmaReaders.begin(), wgmmaReaders.end(), 0);
  mbarriers.clear();
  mbarrierBegin = mbarrierEnd = 0;
  tmaLoads.clear();
  resetWarpSpecialization();
  for (WarpState &warp : warps) {
    warp.liveLanes = warp.numLanes;
    warp.arrived = 0;
    for (LaneSlot &slot : warp.lanes)
      slot.arrived = false;
  }
  for (std::size_t i = 0; i < threads.size(); ++i) {
    ThreadState &thread = threads[i];
    thread.status = ThreadStatus::Ready;
    thread.waitSite = nullptr;
    thread.mbarrierOffset = 0;
    thread.mbarrierParity = 0;
    thread.namedBarrierId = 0;
    thread.namedBarrierArrivals = 0;
    thread.asyncCopies.clear();
    thread.committedGroups = 0;
    thread.wgmmaFenced = false;
    thread.wgmmaOpenProducts = 0;
    thread.wgmmaOpenSite = nullptr;
    thread.wgmmaCommitted = 0;
    thread.wgmmaRetired = 0;
    thread.proxyFences = 0;
    thread.fakeStack = nullptr;
#ifdef SIEVE_EMU_ASAN
    // Frames of fibers abandoned on this stack left their poison behind.
    ASAN_UNPOISON_MEMORY_REGION(stacks[i].bottom(), stacks[i].usableBytes());
#endif
    thread.context = make_fcontext(stacks[i].top(), stacks[i].usableBytes(),
                                   &Worker::fiberEntry);
  }
  if (desc.schedule_seed != 0)
    random = RandomSource(desc.schedule_seed ^ (block * 0x9e3779b97f4a7c15ull));

  readyHead = 0;
  readySize = 0;
  enqueueLiveThreads();
  for (;;) {
    while (readySize > 0) {
      // Another block's error ends this one too; its fibers are abandoned.
      if (launch.hasFailed())
        return;
      ThreadState &thread = threads[readyQueue[readyHead]];
      readyHead = (readyHead + 1) % readyQueue.size();
      --readySize;
      resume(thread);
    }
    if (launch.hasFailed())
      return;
    // No thread can run: TMA loads complete now, as late as the hardware
    // may let them, one at a time and oldest first, since each may
    // complete a phase and wake threads that then run before the next.
    if (liveThreads == 0 || tmaLoads.empty())
      break;
    if (!completeTmaLoad())
      return;
  }
  if (!tmaLoads.empty()) {
    reportTmaLoadNotWaited();
    return;
  }
  if (liveThreads > 0) {
    // A register increase that waits is what keeps the others, if any,
    // from proceeding: no warpgroup will make room for it.
    if (!reportRegisterWait())
      reportDeadlock();
    return;
  }
  if (reportNamedBarrierNotCompleted())
    return;
  ++blocksRun;
}

void Worker::run() {
  const sieve_emu_launch_desc &desc = launch.desc;
  uint32_t numThreads = launch.threadsPerBlock;
  if (!StackPool::get().take(numThreads, stacks)) {
    launch.reportError(nullptr, nullptr, nullptr,
                       "cannot map the fiber stacks of a block");
    return;
  }
  threads.assign(numThreads, ThreadState());
  for (uint32_t i = 0; i < numThreads; ++i) {
    ThreadState &thread = threads[i];
    thread.worker = this;
    thread.linearId = i;
    thread.id[0] = i % desc.block[0];
    thread.id[1] = i / desc.block[0] % desc.block[1];
    thread.id[2] = i / desc.block[0] / desc.block[1];
  }
  warps.assign((numThreads + kWarpSize - 1) / kWarpSize, WarpState());
  for (std::size_t w = 0; w < warps.size(); ++w)
    warps[w].numLanes =
        std::min<uint32_t>(kWarpSize, numThreads - w * kWarpSize);
  warpgroups.assign(
      numThreads % (4 * kWarpSize) == 0 ? numThreads / (4 * kWarpSize) : 0,
      WarpgroupState());
  readyQueue.assign(numThreads, 0);

  sharedBytes = desc.static_shared_bytes + desc.dynamic_shared_bytes;
  // Slack to align the start, and never an empty buffer, so that
  // sieve_emu_shared_memory() is a valid pointer even for 0 bytes. The
  // alignment makes the low 18 bits of a host address into it the
  // shared-memory address a GPU would see (wgmma descriptors hold those).
  sharedStorage.assign(sharedBytes + kSharedMemoryAlignment, 0);
  uintptr_t address = reinterpret_cast<uintptr_t>(sharedStorage.data());
  sharedMemory = sharedStorage.data() +
                 ((kSharedMemoryAlignment - address % kSharedMemoryAlignment) %
                  kSharedMemoryAlignment);
  checkRaces = desc.check_races != 0;
  if (checkRaces)
    shadow.assign(sharedBytes, ShadowByte());

  while (!launch.hasFailed()) {
    uint64_t block = launch.nextBlock.fetch_add(1);
    if (block >= launch.numBlocks)
      break;
    runBlock(block);
  }
  launch.blocksRun += blocksRun;
  launch.threadsRun += blocksRun * numThreads;
  launch.barriers += barriers;
  launch.collectives += collectives;
  launch.workUnits += workUnits;
}

//===----------------------------------------------------------------------===//
// Shared memory
//===----------------------------------------------------------------------===//

bool Worker::isInSharedMemory(const void *address, uint64_t bytes) const {
  uintptr_t begin = reinterpret_cast<uintptr_t>(address);
  uintptr_t base = reinterpret_cast<uintptr_t>(sharedMemory);
  return begin >= base && bytes <= sharedBytes &&
         begin - base <= sharedBytes - bytes;
}

void Worker::checkSharedAccess(const ThreadState &thread, const char *site,
                               uint64_t offset, uint64_t bytes, bool isWrite) {
  uint32_t self = thread.linearId;
  char other[48];
  for (uint64_t i = offset; i < offset + bytes; ++i) {
    ShadowByte &shadowByte = shadow[i];
    if (shadowByte.writeEpoch == epoch && shadowByte.writer != self) {
      describeThread(shadowByte.writer, other, sizeof(other));
      fail(thread, site,
           "data race on shared memory byte %llu: %s by this thread after "
           "thread %s wrote it at %s, with no barrier between",
           static_cast<unsigned long long>(i), isWrite ? "write" : "read",
           other, shadowByte.writeSite ? shadowByte.writeSite : "?");
    }
    if (isWrite) {
      if (shadowByte.readEpoch == epoch) {
        int reader = shadowByte.readers[0] != self        ? 0
                     : shadowByte.readers[1] != kNoThread ? 1
                                                          : -1;
        if (reader >= 0) {
          describeThread(shadowByte.readers[reader], other, sizeof(other));
          const char *readSite = shadowByte.readSites[reader];
          fail(thread, site,
               "data race on shared memory byte %llu: write by this thread "
               "after thread %s read it at %s, with no barrier between",
               static_cast<unsigned long long>(i), other,
               readSite ? readSite : "?");
        }
      }
      shadowByte.writeEpoch = epoch;
      shadowByte.writer = self;
      shadowByte.writerProxyFences = thread.proxyFences;
      shadowByte.writeSite = site;
      continue;
    }
    // Two readers are enough: a later write by any thread conflicts with at
    // least one of them unless it is the only reader itself.
    if (shadowByte.readEpoch != epoch) {
      shadowByte.readEpoch = epoch;
      shadowByte.readers[0] = self;
      shadowByte.readSites[0] = site;
      shadowByte.readers[1] = kNoThread;
    } else if (shadowByte.readers[0] != self &&
               shadowByte.readers[1] == kNoThread) {
      shadowByte.readers[1] = self;
      shadowByte.readSites[1] = site;
    }
  }
}

//===----------------------------------------------------------------------===//
// sieve_emu_launch
//===----------------------------------------------------------------------===//

extern "C" int sieve_emu_launch(const sieve_emu_launch_desc *desc,
                                sieve_emu_launch_stats *stats, char *error,
                                size_t error_capacity) {
  if (stats)
    *stats = sieve_emu_launch_stats();
  if (error && error_capacity > 0)
    error[0] = '\0';
  sieve_emu_launch_desc empty = {};
  Launch launch(desc ? *desc : empty);
  auto invalid = [&](const char *what) {
    launch.reportError(nullptr, nullptr, "sieve_emu_launch", what);
  };

  uint64_t threadsPerBlock = 1, numBlocks = 1;
  if (!desc) {
    invalid("no launch description");
  } else if (currentThread) {
    invalid("called from inside a launch");
  } else if (!desc->kernel) {
    invalid("no kernel function");
  } else {
    for (int dim = 0; dim < 3; ++dim) {
      if (desc->grid[dim] == 0 || desc->block[dim] == 0) {
        invalid("grid and block sizes must be at least 1 in every dimension");
        break;
      }
      threadsPerBlock *= desc->block[dim];
      // Three 32-bit sizes can overflow 64 bits.
      if (numBlocks > UINT64_MAX / desc->grid[dim]) {
        invalid("the grid has more than 2^64 blocks");
        break;
      }
      numBlocks *= desc->grid[dim];
    }
    if (!launch.hasFailed() && threadsPerBlock > kMaxThreadsPerBlock) {
      char what[96];
      std::snprintf(what, sizeof(what),
                    "a block of %llu threads exceeds CUDA's %llu",
                    static_cast<unsigned long long>(threadsPerBlock),
                    static_cast<unsigned long long>(kMaxThreadsPerBlock));
      invalid(what);
    }
    if (!launch.hasFailed() && (desc->static_shared_bytes > kMaxSharedBytes ||
                                desc->dynamic_shared_bytes > kMaxSharedBytes)) {
      invalid("more than 64 MiB of shared memory");
    }
  }

  if (!launch.hasFailed()) {
    launch.numBlocks = numBlocks;
    launch.threadsPerBlock = static_cast<uint32_t>(threadsPerBlock);
    uint64_t numWorkers = desc->worker_threads;
    if (numWorkers == 0)
      numWorkers = std::max(1u, std::thread::hardware_concurrency());
    numWorkers = std::min(numWorkers, numBlocks);

    std::vector<std::unique_ptr<Worker>> workers;
    for (uint64_t i = 0; i < numWorkers; ++i)
      workers.push_back(std::make_unique<Worker>(launch));
    // The calling thread is worker 0; the others get OS threads of their
    // own. If the system has no more threads to give, fewer workers do.
    std::vector<std::thread> osThreads;
    for (uint64_t i = 1; i < numWorkers; ++i) {
      try {
        osThreads.emplace_back([&worker = *workers[i]] { worker.run(); });
      } catch (const std::system_error &) {
        break;
      }
    }
    workers[0]->run();
    for (std::thread &osThread : osThreads)
      osThread.join();
  }

  if (stats) {
    stats->blocks = launch.blocksRun;
    stats->threads = launch.threadsRun;
    stats->barriers = launch.barriers;
    stats->collectives = launch.collectives;
    stats->work_units = launch.workUnits;
  }
  if (!launch.hasFailed())
    return 0;
  if (error && error_capacity > 0) {
    std::size_t bytes =
        std::min(launch.errorMessage.size(), error_capacity - 1);
    std::memcpy(error, launch.errorMessage.data(), bytes);
    error[bytes] = '\0';
  }
  return 1;
}
