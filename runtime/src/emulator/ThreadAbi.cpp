//===- ThreadAbi.cpp - Per-thread functions of the emulator ABI -----------===//
//
// The functions of sieve/emulator.h that concern one CUDA thread or its
// block: ids, shared memory, barriers, async copies, the race check, the
// kernel's own failures and the work counter. Warp collectives are in
// Collectives.cpp.
//
//===----------------------------------------------------------------------===//

#include "EmulatorInternal.h"

#include <cinttypes>
#include <cstring>

using namespace sieve::emu;

namespace {
/// The dimension argument of the id functions, checked.
int checkedDim(ThreadState &thread, int32_t dim, const char *function) {
  if (dim < 0 || dim > 2)
    thread.worker->fail(thread, function,
                        "dimension %d is not 0 (x), 1 (y) or 2 (z)", dim);
  return dim;
}

/// Performs a cp.async at its wait: reads the source now, as late as PTX
/// allows, so that a source overwritten before the wait shows.
void completeAsyncCopy(ThreadState &thread, const AsyncCopy &copy) {
  Worker &worker = *thread.worker;
  worker.checkNotMbarrier(thread, copy.site, worker.getSharedOffset(copy.dst),
                          static_cast<uint64_t>(copy.bytes),
                          "cp.async destination");
  worker.checkWgmmaInFlightWrite(thread, copy.site,
                                 worker.getSharedOffset(copy.dst),
                                 static_cast<uint64_t>(copy.bytes));
  if (worker.checkRaces)
    worker.checkSharedAccess(thread, copy.site,
                             worker.getSharedOffset(copy.dst),
                             static_cast<uint64_t>(copy.bytes), true);
  if (copy.srcBytes > 0)
    std::memcpy(copy.dst, copy.src, static_cast<std::size_t>(copy.srcBytes));
  std::memset(copy.dst + copy.srcBytes, 0,
              static_cast<std::size_t>(copy.bytes - copy.srcBytes));
}
} // namespace

extern "C" {

int64_t sieve_emu_thread_id(int32_t dim) {
  ThreadState &thread = requireCurrentThread("sieve_emu_thread_id");
  return thread.id[checkedDim(thread, dim, "sieve_emu_thread_id")];
}

int64_t sieve_emu_block_id(int32_t dim) {
  ThreadState &thread = requireCurrentThread("sieve_emu_block_id");
  return thread.worker->blockId[checkedDim(thread, dim, "sieve_emu_block_id")];
}

int64_t sieve_emu_block_dim(int32_t dim) {
  ThreadState &thread = requireCurrentThread("sieve_emu_block_dim");
  return thread.worker->launch.desc
      .block[checkedDim(thread, dim, "sieve_emu_block_dim")];
}

int64_t sieve_emu_grid_dim(int32_t dim) {
  ThreadState &thread = requireCurrentThread("sieve_emu_grid_dim");
  return thread.worker->launch.desc
      .grid[checkedDim(thread, dim, "sieve_emu_grid_dim")];
}

int64_t sieve_emu_lane_id(void) {
  return requireCurrentThread("sieve_emu_lane_id").getLane();
}

uint8_t *sieve_emu_shared_memory(void) {
  return requireCurrentThread("sieve_emu_shared_memory").worker->sharedMemory;
}

int64_t sieve_emu_shared_memory_size(void) {
  return static_cast<int64_t>(
      requireCurrentThread("sieve_emu_shared_memory_size").worker->sharedBytes);
}

int64_t sieve_emu_dynamic_shared_offset(void) {
  return static_cast<int64_t>(
      requireCurrentThread("sieve_emu_dynamic_shared_offset")
          .worker->launch.desc.static_shared_bytes);
}

void sieve_emu_barrier(const char *site) {
  ThreadState &thread = requireCurrentThread("sieve_emu_barrier");
  thread.worker->arriveAtBarrier(thread, site);
}

void sieve_emu_cp_async(const char *site, void *dst, const void *src,
                        int32_t bytes, int32_t src_bytes) {
  ThreadState &thread = requireCurrentThread("sieve_emu_cp_async");
  Worker &worker = *thread.worker;
  if (bytes != 4 && bytes != 8 && bytes != 16)
    worker.fail(thread, site, "cp.async of %d bytes: it copies 4, 8 or 16",
                bytes);
  if (src_bytes < 0 || src_bytes > bytes)
    worker.fail(thread, site,
                "cp.async reads %d source bytes of %d: must be 0 to %d",
                src_bytes, bytes, bytes);
  if (!worker.isInSharedMemory(dst, static_cast<uint64_t>(bytes)))
    worker.fail(thread, site,
                "cp.async destination %p (%d bytes) is outside the block's "
                "shared memory",
                dst, bytes);
  uint64_t offset = worker.getSharedOffset(dst);
  if (offset % static_cast<uint64_t>(bytes) != 0)
    worker.fail(thread, site,
                "misaligned cp.async destination: shared-memory offset %" PRIu64
                " is not a multiple of its %d bytes",
                offset, bytes);
  worker.checkNotMbarrier(thread, site, offset, static_cast<uint64_t>(bytes),
                          "cp.async destination");
  // The source is not read without src_bytes, so it may be anything then
  // (zero-fill of out-of-bounds elements).
  if (src_bytes > 0 && (!src || reinterpret_cast<uintptr_t>(src) % bytes != 0))
    worker.fail(thread, site,
                "misaligned cp.async source %p: not a multiple of its %d "
                "bytes",
                src, bytes);
  worker.checkWgmmaInFlightWrite(thread, site, offset,
                                 static_cast<uint64_t>(bytes));
  if (worker.checkRaces)
    worker.checkSharedAccess(thread, site, offset, static_cast<uint64_t>(bytes),
                             true);
  auto *destination = static_cast<uint8_t *>(dst);
  std::memset(destination, kPoisonByte, static_cast<std::size_t>(bytes));
  thread.asyncCopies.push_back({site, destination,
                                static_cast<const uint8_t *>(src), bytes,
                                src_bytes, thread.committedGroups});
}

void sieve_emu_cp_async_commit(void) {
  ++requireCurrentThread("sieve_emu_cp_async_commit").committedGroups;
}

void sieve_emu_cp_async_wait(int32_t pending) {
  ThreadState &thread = requireCurrentThread("sieve_emu_cp_async_wait");
  if (pending < 0)
    thread.worker->fail(thread, "sieve_emu_cp_async_wait",
                        "negative number of pending groups: %d", pending);
  // Complete every committed group but the `pending` newest; copies not yet
  // committed stay pending, as in PTX's cp.async.wait_group.
  uint64_t limit = thread.committedGroups > static_cast<uint64_t>(pending)
                       ? thread.committedGroups - static_cast<uint64_t>(pending)
                       : 0;
  std::vector<AsyncCopy> &copies = thread.asyncCopies;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < copies.size(); ++i) {
    if (copies[i].group < limit)
      completeAsyncCopy(thread, copies[i]);
    else
      copies[kept++] = copies[i];
  }
  copies.resize(kept);
}

void sieve_emu_shared_access(const char *site, const void *address,
                             int64_t bytes, int32_t is_write) {
  ThreadState &thread = requireCurrentThread("sieve_emu_shared_access");
  Worker &worker = *thread.worker;
  bool checkInFlight = is_write != 0 && !worker.wgmmaInFlight.empty();
  bool checkMbarriers = !worker.mbarriers.empty();
  if ((!worker.checkRaces && !checkInFlight && !checkMbarriers) || bytes == 0)
    return;
  if (bytes < 0 ||
      !worker.isInSharedMemory(address, static_cast<uint64_t>(bytes)))
    worker.fail(thread, site,
                "shared-memory access of %" PRId64
                " bytes at %p is outside the block's %" PRIu64
                " bytes of shared memory",
                bytes, address, worker.sharedBytes);
  if (checkMbarriers)
    worker.checkNotMbarrier(thread, site, worker.getSharedOffset(address),
                            static_cast<uint64_t>(bytes),
                            is_write != 0 ? "store" : "load");
  if (checkInFlight)
    worker.checkWgmmaInFlightWrite(thread, site,
                                   worker.getSharedOffset(address),
                                   static_cast<uint64_t>(bytes));
  if (worker.checkRaces)
    worker.checkSharedAccess(thread, site, worker.getSharedOffset(address),
                             static_cast<uint64_t>(bytes), is_write != 0);
}

void sieve_emu_fail(const char *site, const char *message, int64_t value,
                    int64_t bound) {
  ThreadState &thread = requireCurrentThread("sieve_emu_fail");
  thread.worker->fail(thread, site, "%s (value %" PRId64 ", bound %" PRId64 ")",
                      message && *message ? message : "kernel check failed",
                      value, bound);
}

void sieve_emu_count_work(int64_t units) {
  requireCurrentThread("sieve_emu_count_work").worker->workUnits +=
      static_cast<uint64_t>(units);
}

} // extern "C"
