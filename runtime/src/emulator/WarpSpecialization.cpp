//===- WarpSpecialization.cpp - Named barriers and setmaxnreg -------------===//
//
// What Hopper's warp-specialized kernels use besides wgmma, TMA and
// mbarriers: named barriers (PTX bar.sync / bar.arrive with an id and a
// thread count) through which groups of warps wait for each other without
// stopping the block, and setmaxnreg, which moves registers between the
// warpgroups of a block.
//
// A named barrier is a counter per id in the worker: each arrival adds one
// (a thread, not a warp as in PTX: the emulator requires whole warps and
// checks it), a thread in bar.sync blocks (ThreadStatus::AtNamedBarrier),
// and the arrival that reaches the count completes the phase and wakes the
// waiters, in linear or seeded order, the arriving thread among them.
//
// setmaxnreg is a warpgroup collective gathered like sieve_emu_wgmma (in
// the same WarpgroupState, so that a warpgroup divided between the two
// fails as divergent). It only tracks the per-thread register count of each
// warpgroup: an increase the block's 65536 registers cannot hold waits for
// decreases of other warpgroups, as on a GPU, and is reported when nothing
// else can run.
//
//===----------------------------------------------------------------------===//

#include "EmulatorInternal.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

using namespace sieve;
using namespace sieve::emu;

namespace {

/// The register count of a warpgroup at block start: what ptxas gives a
/// kernel with no launch bounds or maxrregcount, min(255, 65536 / threads)
/// rounded down to a multiple of 8.
uint32_t getInitialRegisters(std::size_t threadsPerBlock) {
  uint64_t perThread =
      std::min<uint64_t>(255, kRegistersPerBlock / threadsPerBlock);
  return static_cast<uint32_t>(perThread / 8 * 8);
}

/// Wakes the 128 threads of warpgroup `index` but `except`.
void wakeWarpgroup(Worker &worker, uint32_t index, uint32_t except) {
  uint32_t first = index * kWarpgroupSize;
  for (uint32_t t = first; t < first + kWarpgroupSize; ++t)
    if (t != except)
      worker.wake(worker.threads[t]);
}

} // namespace

//===----------------------------------------------------------------------===//
// Worker: named barriers
//===----------------------------------------------------------------------===//

void Worker::resetWarpSpecialization() {
  for (NamedBarrier &barrier : namedBarriers)
    barrier = NamedBarrier();
  uint32_t registers = getInitialRegisters(threads.size());
  for (WarpgroupState &group : warpgroups) {
    group.operation = nullptr;
    group.registers = registers;
    group.waitingRegisters = 0;
    group.waitingSite = nullptr;
  }
}

void Worker::arriveAtNamedBarrier(ThreadState &thread, const char *site,
                                  uint32_t id, uint32_t count, bool wait) {
  const char *operation = wait ? "bar.sync" : "bar.arrive";
  NamedBarrier &barrier = namedBarriers[id];
  const uint16_t bit = static_cast<uint16_t>(1u << id);
  if (barrier.arrived > 0 && barrier.count != count)
    fail(thread, site,
         "%s %u, %u: named barrier %u's phase %" PRIu64
         " has %u arrivals with count %u: all arrivals of a phase must pass "
         "the same count",
         operation, id, count, id, barrier.phase, barrier.arrived,
         barrier.count);
  if (thread.namedBarrierArrivals & bit)
    fail(thread, site,
         "%s %u, %u: the thread arrives twice at named barrier %u in phase "
         "%" PRIu64 " (%u of %u arrivals so far); a thread arrives once per "
         "phase",
         operation, id, count, id, barrier.phase, barrier.arrived,
         barrier.count);
  const uint32_t warpIndex = thread.getWarp();
  const WarpState &warp = warps[warpIndex];
  if (barrier.warpArrivals[warpIndex] == 0 &&
      (warp.numLanes != kWarpSize || warp.liveLanes != kWarpSize))
    fail(thread, site,
         "partial warp at named barrier %u: warp %u arrives with %u live "
         "lanes; PTX counts a warp's arrival as 32, the emulator counts "
         "threads and requires whole warps",
         id, warpIndex, warp.liveLanes);

  if (barrier.arrived == 0) {
    barrier.count = count;
    barrier.firstThread = thread.linearId;
    barrier.firstSite = site;
  }
  ++barrier.arrived;
  ++barrier.warpArrivals[warpIndex];
  thread.namedBarrierArrivals |= bit;
  if (wait) {
    // Among the waiters the completion wakes, so that the order after it
    // is linear or seeded for every thread.
    thread.status = ThreadStatus::AtNamedBarrier;
    thread.waitSite = site;
    thread.namedBarrierId = id;
    ++barrier.waiters;
  }

  if (barrier.arrived == barrier.count) {
    for (uint32_t w = 0; w < warps.size(); ++w) {
      uint32_t arrived = barrier.warpArrivals[w];
      if (arrived == 0 || arrived == kWarpSize)
        continue;
      uint32_t missing = w * kWarpSize;
      while (threads[missing].namedBarrierArrivals & bit)
        ++missing;
      char other[48];
      describeThread(missing, other, sizeof(other));
      fail(thread, site,
           "partial warp at named barrier %u: phase %" PRIu64
           " reaches its count of %u with %u of the 32 lanes of warp %u "
           "arrived (thread %s %s); PTX counts whole warps, so every lane of "
           "an arriving warp must arrive",
           id, barrier.phase, barrier.count, arrived, w, other,
           threads[missing].status == ThreadStatus::Returned
               ? "returned without arriving"
               : "did not arrive");
    }
    for (uint32_t w = 0; w < warps.size(); ++w) {
      if (barrier.warpArrivals[w] == 0)
        continue;
      barrier.warpArrivals[w] = 0;
      for (uint32_t t = w * kWarpSize; t < (w + 1) * kWarpSize; ++t)
        threads[t].namedBarrierArrivals &= static_cast<uint16_t>(~bit);
    }
    barrier.arrived = 0;
    barrier.count = 0;
    barrier.firstThread = kNoThread;
    barrier.firstSite = nullptr;
    ++barrier.phase;
    ++barriers;
    // For the race check, a phase completion orders like a barrier (see
    // completeMbarrierPhases).
    ++epoch;
    if (barrier.waiters > 0) {
      barrier.waiters = 0;
      wakeNamedBarrierWaiters(id);
    }
  }
  if (wait)
    suspend();
}

void Worker::wakeNamedBarrierWaiters(uint32_t id) {
  scratchOrder.clear();
  for (const ThreadState &thread : threads)
    if (thread.status == ThreadStatus::AtNamedBarrier &&
        thread.namedBarrierId == id)
      scratchOrder.push_back(thread.linearId);
  if (launch.desc.schedule_seed != 0)
    for (std::size_t i = scratchOrder.size(); i > 1; --i)
      std::swap(scratchOrder[i - 1], scratchOrder[random.next() % i]);
  for (uint32_t waiter : scratchOrder)
    wake(threads[waiter]);
}

void Worker::describeNamedBarrierWait(const ThreadState &thread, char *buffer,
                                      std::size_t bytes) const {
  const NamedBarrier &barrier = namedBarriers[thread.namedBarrierId];
  std::snprintf(
      buffer, bytes,
      "waits at named barrier %u (%u of %u arrivals, phase %" PRIu64 ")",
      thread.namedBarrierId, barrier.arrived, barrier.count, barrier.phase);
}

bool Worker::reportNamedBarrierNotCompleted() {
  for (uint32_t id = 1; id < kNumNamedBarriers; ++id) {
    const NamedBarrier &barrier = namedBarriers[id];
    if (barrier.arrived == 0)
      continue;
    char what[512];
    std::snprintf(what, sizeof(what),
                  "named barrier %u: %u of %u arrivals, phase never completed: "
                  "every thread of the block returned (phase %" PRIu64
                  "; its first arrival was this thread's, here)",
                  id, barrier.arrived, barrier.count, barrier.phase);
    launch.reportError(this, &threads[barrier.firstThread], barrier.firstSite,
                       what);
    return true;
  }
  return false;
}

//===----------------------------------------------------------------------===//
// Worker: registers
//===----------------------------------------------------------------------===//

uint64_t Worker::getBlockRegisters(uint32_t index, uint32_t registers) const {
  uint64_t total = 0;
  for (uint32_t g = 0; g < warpgroups.size(); ++g)
    total += uint64_t(g == index ? registers : warpgroups[g].registers) *
             kWarpgroupSize;
  return total;
}

void Worker::grantWaitingRegisters() {
  for (uint32_t g = 0; g < warpgroups.size(); ++g) {
    WarpgroupState &group = warpgroups[g];
    if (group.waitingRegisters == 0 ||
        getBlockRegisters(g, group.waitingRegisters) > kRegistersPerBlock)
      continue;
    group.registers = group.waitingRegisters;
    group.waitingRegisters = 0;
    group.waitingSite = nullptr;
    wakeWarpgroup(*this, g, kNoThread);
  }
}

bool Worker::reportRegisterWait() {
  for (uint32_t g = 0; g < warpgroups.size(); ++g) {
    const WarpgroupState &group = warpgroups[g];
    if (group.waitingRegisters == 0)
      continue;
    char counts[256];
    std::size_t used = 0;
    for (uint32_t i = 0; i < warpgroups.size() && used < sizeof(counts); ++i)
      used += static_cast<std::size_t>(std::snprintf(
          counts + used, sizeof(counts) - used, "%s%u", i == 0 ? "" : ", ",
          i == g ? group.waitingRegisters : warpgroups[i].registers));
    char what[768];
    std::snprintf(what, sizeof(what),
                  "setmaxnreg.inc asks for %u registers: the block would "
                  "need %" PRIu64
                  " of the 65536 registers (128 threads per warpgroup at %s "
                  "registers), and no setmaxnreg.dec of another warpgroup can "
                  "make room: no thread of the block can proceed",
                  group.waitingRegisters,
                  getBlockRegisters(g, group.waitingRegisters), counts);
    launch.reportError(this, &threads[g * kWarpgroupSize], group.waitingSite,
                       what);
    return true;
  }
  return false;
}

//===----------------------------------------------------------------------===//
// The ABI
//===----------------------------------------------------------------------===//

extern "C" {

void sieve_emu_named_barrier(const char *site, int32_t id, int32_t count,
                             int32_t wait) {
  ThreadState &thread = requireCurrentThread("sieve_emu_named_barrier");
  Worker &worker = *thread.worker;
  const char *operation = wait != 0 ? "bar.sync" : "bar.arrive";
  if (id == 0)
    worker.fail(thread, site,
                "%s 0, %d: barrier 0 is gpu.barrier's (sieve_emu_barrier); "
                "named barriers are 1 to 15",
                operation, count);
  if (id < 0 || static_cast<uint32_t>(id) >= kNumNamedBarriers)
    worker.fail(thread, site, "%s %d, %d: named barrier %d is not 1 to 15",
                operation, id, count, id);
  std::size_t roundedThreads = worker.warps.size() * kWarpSize;
  if (count <= 0 || count % kWarpSize != 0)
    worker.fail(thread, site,
                "%s %d, %d: the thread count %d is not a positive multiple "
                "of 32",
                operation, id, count, count);
  if (static_cast<std::size_t>(count) > roundedThreads)
    worker.fail(thread, site,
                "%s %d, %d: the thread count %d exceeds the block's %zu "
                "threads rounded up to whole warps (%zu)",
                operation, id, count, count, worker.threads.size(),
                roundedThreads);
  worker.arriveAtNamedBarrier(thread, site, static_cast<uint32_t>(id),
                              static_cast<uint32_t>(count), wait != 0);
}

void sieve_emu_setmaxnreg(const char *site, int32_t registers,
                          int32_t increase) {
  ThreadState &thread = requireCurrentThread("sieve_emu_setmaxnreg");
  Worker &worker = *thread.worker;
  const char *operation = increase != 0 ? "setmaxnreg.inc" : "setmaxnreg.dec";
  if (registers % 8 != 0)
    worker.fail(thread, site,
                "%s with %d registers: not a multiple of 8 (24 to 256)",
                operation, registers);
  if (registers < 24 || registers > 256)
    worker.fail(thread, site, "%s with %d registers: must be 24 to 256",
                operation, registers);
  uint32_t index = requireWarpgroup(thread, site, operation);
  WarpgroupState &group = worker.warpgroups[index];
  if (group.arrived == 0) {
    group.site = site;
    group.operation = "setmaxnreg";
    group.setmaxnregRegisters = registers;
    group.setmaxnregIncrease = increase != 0;
  } else if (!isSameSite(group.site, site)) {
    worker.fail(thread, site,
                "divergent setmaxnreg: thread %u reaches this %s while %u "
                "other threads of its warpgroup wait in the %s at %s",
                thread.linearId, operation, group.arrived,
                group.operation ? group.operation : "?",
                group.site ? group.site : "?");
  } else if (group.setmaxnregRegisters != registers ||
             group.setmaxnregIncrease != (increase != 0)) {
    worker.fail(thread, site,
                "divergent setmaxnreg: thread %u asks for %s %d while the "
                "other %u threads of its warpgroup asked for %s %d",
                thread.linearId, operation, registers, group.arrived,
                group.setmaxnregIncrease ? "setmaxnreg.inc" : "setmaxnreg.dec",
                group.setmaxnregRegisters);
  }
  uint32_t current = group.registers;
  if (increase != 0 && static_cast<uint32_t>(registers) < current)
    worker.fail(thread, site,
                "setmaxnreg.inc to %d registers, below the warpgroup's %u: an "
                "increase must not lower the count",
                registers, current);
  if (increase == 0 && static_cast<uint32_t>(registers) > current)
    worker.fail(thread, site,
                "setmaxnreg.dec to %d registers, above the warpgroup's %u: a "
                "decrease must not raise the count",
                registers, current);
  if (++group.arrived < kWarpgroupSize) {
    thread.status = ThreadStatus::InCollective;
    thread.waitSite = site;
    worker.suspend();
    return;
  }
  group.arrived = 0;
  ++worker.collectives;
  uint32_t wanted = static_cast<uint32_t>(registers);
  if (increase != 0 &&
      worker.getBlockRegisters(index, wanted) > kRegistersPerBlock) {
    // Too many for now: the whole warpgroup waits for decreases of the
    // others (grantWaitingRegisters wakes it, the caller included).
    group.waitingRegisters = wanted;
    group.waitingSite = site;
    thread.status = ThreadStatus::InCollective;
    thread.waitSite = site;
    worker.suspend();
    return;
  }
  group.registers = wanted;
  wakeWarpgroup(worker, index, thread.linearId);
  if (increase == 0)
    worker.grantWaitingRegisters();
}

} // extern "C"
