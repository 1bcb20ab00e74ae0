//===- Mbarrier.cpp - mbarrier objects and TMA loads of the emulator ABI --===//
//
// mbarrier.init / arrive / expect_tx / try_wait.parity (PTX ISA "Parallel
// Synchronization and Communication Instructions: mbarrier") and TMA tile
// loads (cp.async.bulk.tensor ... mbarrier::complete_tx::bytes).
//
// A barrier's state lives in a per-block side table keyed by its
// shared-memory offset; its 8 bytes are guarded: any other access to them
// is an error. A thread waiting for a phase blocks (ThreadStatus::
// AtMbarrier) and is woken by whatever completes the phase: an arrival, an
// expect_tx, or a TMA load delivering the last transaction bytes.
//
// TMA loads are checked and their destination poisoned at issue, then
// queued. The scheduler completes them only when no thread of the block can
// run (Worker::runBlock), one at a time and oldest first: the latest moment
// the hardware may, so that a kernel reading a destination without waiting
// for its barrier reads the poison. A completion reads the source then,
// writes the box (zeros outside the tensor, swizzled like wgmma operands),
// and subtracts the box's bytes from the barrier's tx.
//
//===----------------------------------------------------------------------===//

#include "EmulatorInternal.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <vector>

using namespace sieve;
using namespace sieve::emu;

namespace {

constexpr int kMaxTmaRank = 5;

/// The shared-memory offset of the mbarrier object at `barrier`, checked to
/// lie in shared memory and be 8-byte aligned.
uint64_t checkMbarrierAddress(ThreadState &thread, const char *site,
                              const void *barrier, const char *operation) {
  Worker &worker = *thread.worker;
  if (!worker.isInSharedMemory(barrier, kMbarrierBytes))
    worker.fail(thread, site,
                "%s: mbarrier object %p (8 bytes) is outside the block's "
                "%" PRIu64 " bytes of shared memory",
                operation, barrier, worker.sharedBytes);
  uint64_t offset = worker.getSharedOffset(barrier);
  if (offset % kMbarrierBytes != 0)
    worker.fail(thread, site,
                "%s: misaligned mbarrier object at shared-memory offset "
                "%" PRIu64 ": not a multiple of 8",
                operation, offset);
  return offset;
}

/// The initialized mbarrier at `barrier`.
Mbarrier &requireMbarrier(ThreadState &thread, const char *site,
                          const void *barrier, const char *operation) {
  Worker &worker = *thread.worker;
  uint64_t offset = checkMbarrierAddress(thread, site, barrier, operation);
  Mbarrier *found = worker.findMbarrier(offset);
  if (!found)
    worker.fail(thread, site,
                "%s on the mbarrier at shared-memory offset %" PRIu64
                " before its mbarrier.init",
                operation, offset);
  return *found;
}

/// tx += bytes for an expect_tx, checked.
void addExpectedTx(ThreadState &thread, const char *site, Mbarrier &barrier,
                   int32_t bytes, const char *operation) {
  Worker &worker = *thread.worker;
  if (bytes < 0)
    worker.fail(thread, site,
                "%s of %d bytes on the mbarrier at shared-memory offset "
                "%" PRIu64 ": the transaction count must not be negative",
                operation, bytes, barrier.offset);
  if (barrier.tx + bytes > kMbarrierMaxCount)
    worker.fail(thread, site,
                "%s of %d bytes brings the tx count of the mbarrier at "
                "shared-memory offset %" PRIu64 " to %" PRId64
                " bytes, beyond its limit of 2^20 - 1",
                operation, bytes, barrier.offset, barrier.tx + bytes);
  barrier.tx += bytes;
}

/// "phase P, A of E arrivals pending, tx T bytes".
void describeMbarrierState(const Mbarrier &barrier, char *buffer,
                           std::size_t bytes) {
  std::snprintf(buffer, bytes,
                "phase %" PRIu64 ", %u of %u arrivals pending, tx %" PRId64
                " bytes",
                barrier.phase, barrier.pending, barrier.expected, barrier.tx);
}

/// Calls f(o, s) for every 16-byte chunk of a box of `boxBytes` bytes
/// written at shared-memory offset `dstOffset`: o its dense offset in the
/// box, s its swizzled shared-memory offset.
template <typename F>
void forEachChunk(uint64_t dstOffset, uint64_t boxBytes, uint32_t swizzleBytes,
                  F f) {
  for (uint64_t o = 0; o < boxBytes; o += 16)
    f(o, swizzleSharedOffset(dstOffset + o, swizzleBytes));
}

/// The bytes the box of `map` covers in shared memory from an aligned
/// destination: the box, rounded up to whole swizzle patterns (the swizzle
/// moves chunks within an S-byte span).
uint64_t getFootprintBytes(const sieve_emu_tensor_map &map, uint64_t boxBytes) {
  uint64_t span = map.swizzle_bytes;
  return span == 0 ? boxBytes : (boxBytes + span - 1) / span * span;
}

/// Writes a signed 128-bit value in decimal.
void formatInt128(__int128 value, char *buffer, std::size_t bytes) {
  char digits[48];
  int count = 0;
  bool negative = value < 0;
  unsigned __int128 magnitude = negative
                                    ? -static_cast<unsigned __int128>(value)
                                    : static_cast<unsigned __int128>(value);
  do {
    digits[count++] = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  std::size_t used = 0;
  if (negative && used + 1 < bytes)
    buffer[used++] = '-';
  while (count > 0 && used + 1 < bytes)
    buffer[used++] = digits[--count];
  buffer[used] = '\0';
}

/// "(c0, c1, ...)", innermost first.
void formatCoordinates(const int32_t *coords, int rank, char *buffer,
                       std::size_t bytes) {
  std::size_t used = 0;
  for (int i = 0; i < rank && used < bytes; ++i)
    used += static_cast<std::size_t>(std::snprintf(
        buffer + used, bytes - used, "%s%d", i == 0 ? "(" : ", ", coords[i]));
  if (used < bytes)
    std::snprintf(buffer + used, bytes - used, ")");
}

/// Checks the tensor map of a TMA load and that every source byte the box
/// reads lies in the map's buffer.
void checkTmaSource(ThreadState &thread, const char *site,
                    const sieve_emu_tensor_map &map, int32_t rank,
                    const int32_t *coords) {
  Worker &worker = *thread.worker;
  if (map.rank < 1 || map.rank > kMaxTmaRank)
    worker.fail(thread, site, "TMA load: tensor map of rank %u: must be 1 to 5",
                map.rank);
  if (rank != static_cast<int32_t>(map.rank))
    worker.fail(thread, site,
                "TMA load of rank %d with a tensor map of rank %u (rank "
                "mismatch)",
                rank, map.rank);
  uint32_t elementBytes = map.element_bytes;
  if (elementBytes != 1 && elementBytes != 2 && elementBytes != 4)
    worker.fail(thread, site,
                "TMA load: tensor map element size of %u bytes: must be 1, 2 "
                "or 4",
                elementBytes);
  uint32_t swizzleBytes = map.swizzle_bytes;
  if (swizzleBytes != 0 && swizzleBytes != 32 && swizzleBytes != 64 &&
      swizzleBytes != 128)
    worker.fail(thread, site,
                "TMA load: tensor map swizzle of %u bytes: must be 0, 32, 64 "
                "or 128",
                swizzleBytes);
  if (map.strides[0] != elementBytes)
    worker.fail(thread, site,
                "TMA load: tensor map stride of dimension 0 is %" PRIu64
                " bytes: must be the element size, %u",
                map.strides[0], elementBytes);
  for (int i = 0; i < rank; ++i)
    if (map.box[i] < 1 || map.box[i] > 256)
      worker.fail(thread, site,
                  "TMA load: tensor map box dimension %d of %u elements: must "
                  "be 1 to 256",
                  i, map.box[i]);
  uint64_t rowBytes = uint64_t(map.box[0]) * elementBytes;
  if (rowBytes % 16 != 0)
    worker.fail(thread, site,
                "TMA load: the box's inner dimension of %" PRIu64
                " bytes (%u elements of %u bytes) is not a multiple of 16",
                rowBytes, map.box[0], elementBytes);
  if (swizzleBytes != 0 && rowBytes > swizzleBytes)
    worker.fail(thread, site,
                "TMA load: the box's inner dimension of %" PRIu64
                " bytes exceeds the %u-byte swizzle",
                rowBytes, swizzleBytes);
  if (!coords)
    worker.fail(thread, site, "TMA load without coordinates");

  // The elements read are those of [lo_i, hi_i) in every dimension; the
  // lowest and highest of them bound every source byte (strides are
  // unsigned). 128-bit arithmetic: garbage sizes must not wrap around.
  __int128 lowest =
      static_cast<__int128>(reinterpret_cast<uintptr_t>(map.base));
  __int128 highest = lowest;
  for (int i = 0; i < rank; ++i) {
    __int128 coordinate = coords[i];
    __int128 lo = std::max<__int128>(coordinate, 0);
    __int128 hi = std::min<__int128>(coordinate + map.box[i],
                                     static_cast<__int128>(map.dims[i]));
    if (lo >= hi)
      return; // Nothing read: the box lies outside the tensor.
    lowest += lo * static_cast<__int128>(map.strides[i]);
    highest += (hi - 1) * static_cast<__int128>(map.strides[i]);
  }
  __int128 end = highest + elementBytes;
  __int128 begin =
      static_cast<__int128>(reinterpret_cast<uintptr_t>(map.buffer_begin));
  __int128 bufferEnd =
      static_cast<__int128>(reinterpret_cast<uintptr_t>(map.buffer_end));
  if (lowest >= begin && end <= bufferEnd)
    return;
  char first[48], last[48], box[96];
  formatInt128(lowest - begin, first, sizeof(first));
  formatInt128(end - begin, last, sizeof(last));
  formatCoordinates(coords, rank, box, sizeof(box));
  worker.fail(thread, site,
              "TMA load of the box at %s reads source bytes %s to %s of the "
              "tensor map's buffer (relative to its start), outside the "
              "buffer of %" PRIu64 " bytes",
              box, first, last,
              static_cast<uint64_t>(bufferEnd > begin ? bufferEnd - begin : 0));
}

} // namespace

//===----------------------------------------------------------------------===//
// Worker: the mbarrier table, phases, TMA completion
//===----------------------------------------------------------------------===//

Mbarrier *Worker::findMbarrier(uint64_t offset) {
  for (Mbarrier &barrier : mbarriers)
    if (barrier.offset == offset)
      return &barrier;
  return nullptr;
}

void Worker::checkNotMbarrierSlow(const ThreadState &thread, const char *site,
                                  uint64_t offset, uint64_t bytes,
                                  const char *what) {
  for (const Mbarrier &barrier : mbarriers)
    if (offset < barrier.offset + kMbarrierBytes &&
        barrier.offset < offset + bytes)
      fail(thread, site,
           "%s of %" PRIu64 " bytes at shared-memory offset %" PRIu64
           " touches the mbarrier object at offset %" PRIu64
           " (initialized at %s): only mbarrier operations may access it",
           what, bytes, offset, barrier.offset,
           barrier.initSite ? barrier.initSite : "?");
}

void Worker::completeMbarrierPhases(Mbarrier &barrier) {
  if (barrier.pending != 0 || barrier.tx != 0)
    return;
  ++barrier.phase;
  barrier.pending = barrier.expected;
  ++barriers;
  // For the race check, a phase completion orders like a barrier: what any
  // thread did before it counts as done before what any thread does after.
  // (Exact for the threads that arrived and those that wait; lenient for
  // the others, so that it never reports a hand-over through an mbarrier.)
  ++epoch;
  if (barrier.waiters > 0) {
    barrier.waiters = 0;
    wakeMbarrierWaiters(barrier.offset);
  }
}

void Worker::describeMbarrierWait(const ThreadState &thread, char *buffer,
                                  std::size_t bytes) {
  const Mbarrier *barrier = findMbarrier(thread.mbarrierOffset);
  if (!barrier) {
    std::snprintf(buffer, bytes,
                  "waits for parity %d of the mbarrier at shared-memory "
                  "offset %" PRIu64,
                  thread.mbarrierParity, thread.mbarrierOffset);
    return;
  }
  char state[128];
  describeMbarrierState(*barrier, state, sizeof(state));
  char diagnosis[160] = "";
  if (barrier->tx > 0)
    std::snprintf(diagnosis, sizeof(diagnosis),
                  ": expect_tx of %" PRId64 " bytes never delivered",
                  barrier->tx);
  else if (barrier->tx < 0)
    std::snprintf(diagnosis, sizeof(diagnosis),
                  ": %" PRId64 " bytes delivered that no expect_tx announced",
                  -barrier->tx);
  std::snprintf(buffer, bytes,
                "waits for parity %d of the mbarrier at shared-memory offset "
                "%" PRIu64 " (%s%s)",
                thread.mbarrierParity, thread.mbarrierOffset, state, diagnosis);
}

bool Worker::completeTmaLoad() {
  TmaLoad load = tmaLoads.front();
  tmaLoads.pop_front();
  const ThreadState &issuer = threads[load.thread];
  const sieve_emu_tensor_map &map = load.map;
  const int rank = static_cast<int>(map.rank);
  const uint32_t elementBytes = map.element_bytes;
  char what[1024];

  if (!wgmmaInFlight.empty()) {
    uint64_t byte = 0;
    const WgmmaInFlight *reader = nullptr;
    bool found = false;
    forEachChunk(load.dstOffset, load.boxBytes, map.swizzle_bytes,
                 [&](uint64_t, uint64_t offset) {
                   if (!found)
                     found = findWgmmaInFlightRead(offset, 16, byte, reader);
                 });
    if (found) {
      std::snprintf(
          what, sizeof(what),
          "TMA load completing: write to shared memory byte "
          "%" PRIu64 " while the wgmma at %s reads it: its group is still in "
          "flight until every thread of warpgroup %u has waited for "
          "it (wgmma.wait_group)",
          byte, reader ? reader->site : "?", reader ? reader->warpgroup : 0);
      launch.reportError(this, &issuer, load.site, what);
      return false;
    }
  }

  // The box, dense: element e (dim 0 fastest) at byte offset
  // ((e4 * b3 + e3) * b2 + e2) * b1 + e1) * rowBytes + e0 * elementBytes.
  uint64_t box[kMaxTmaRank] = {1, 1, 1, 1, 1};
  for (int i = 0; i < rank; ++i)
    box[i] = map.box[i];
  const uint64_t rowBytes = box[0] * elementBytes;
  const uint64_t rows = box[1] * box[2] * box[3] * box[4];
  std::vector<uint8_t> dense(load.boxBytes, 0);
  const uintptr_t base = reinterpret_cast<uintptr_t>(map.base);
  // The part of a row inside the tensor: box elements [first, last).
  const int64_t c0 = load.coords[0];
  const int64_t first = std::max<int64_t>(0, -c0);
  const __int128 rowEnd = static_cast<__int128>(map.dims[0]) - c0;
  const int64_t last = static_cast<int64_t>(
      std::max<__int128>(0, std::min<__int128>(box[0], rowEnd)));
  for (uint64_t row = 0; row < rows && first < last; ++row) {
    // Checked at issue: every element inside the tensor lies in the
    // buffer, so these sums do not wrap.
    uintptr_t address = base;
    bool inside = true;
    uint64_t rest = row;
    for (int i = 1; i < kMaxTmaRank; ++i) {
      uint64_t e = rest % box[i];
      rest /= box[i];
      if (i >= rank)
        continue;
      int64_t coordinate = load.coords[i] + static_cast<int64_t>(e);
      if (coordinate < 0 || static_cast<uint64_t>(coordinate) >= map.dims[i]) {
        inside = false;
        break;
      }
      address += static_cast<uintptr_t>(coordinate) * map.strides[i];
    }
    if (!inside)
      continue;
    address += static_cast<uintptr_t>(c0 + first) * elementBytes;
    std::memcpy(dense.data() + row * rowBytes + first * elementBytes,
                reinterpret_cast<const uint8_t *>(address),
                static_cast<std::size_t>(last - first) * elementBytes);
  }

  // TMA writes through the async proxy, as no thread: the race shadow
  // forgets the bytes' writer, so that neither readers that waited on the
  // barrier nor wgmma (no proxy fence needed) see a conflict.
  forEachChunk(load.dstOffset, load.boxBytes, map.swizzle_bytes,
               [&](uint64_t o, uint64_t offset) {
                 std::memcpy(sharedMemory + offset, dense.data() + o, 16);
                 if (checkRaces)
                   for (uint64_t i = offset; i < offset + 16; ++i) {
                     shadow[i].writeEpoch = 0;
                     shadow[i].writer = kNoThread;
                     shadow[i].writeSite = load.site;
                   }
               });

  Mbarrier *barrier = findMbarrier(load.barrierOffset);
  // Re-initializing a barrier with loads in flight is an error, so it is
  // still there.
  --barrier->loads;
  barrier->tx -= static_cast<int64_t>(load.boxBytes);
  if (barrier->tx < -kMbarrierMaxCount) {
    std::snprintf(what, sizeof(what),
                  "TMA load completing: its %" PRIu64
                  " bytes bring the tx count of the mbarrier at "
                  "shared-memory offset %" PRIu64 " to %" PRId64
                  ", beyond -(2^20 - 1): more bytes delivered than any "
                  "expect_tx announced",
                  load.boxBytes, barrier->offset, barrier->tx);
    launch.reportError(this, &issuer, load.site, what);
    return false;
  }
  completeMbarrierPhases(*barrier);
  return true;
}

void Worker::reportTmaLoadNotWaited() {
  const TmaLoad &load = tmaLoads.front();
  char state[128] = "not initialized";
  if (const Mbarrier *barrier = findMbarrier(load.barrierOffset))
    describeMbarrierState(*barrier, state, sizeof(state));
  char what[1024];
  std::snprintf(what, sizeof(what),
                "every thread of the block returned with %zu TMA loads "
                "pending: this one (%" PRIu64
                " bytes into shared-memory offset %" PRIu64
                ", completing on the mbarrier at offset %" PRIu64
                ": %s) was never waited for",
                tmaLoads.size(), load.boxBytes, load.dstOffset,
                load.barrierOffset, state);
  launch.reportError(this, &threads[load.thread], load.site, what);
}

//===----------------------------------------------------------------------===//
// The ABI
//===----------------------------------------------------------------------===//

extern "C" {

void sieve_emu_mbarrier_init(const char *site, void *barrier, int32_t count) {
  ThreadState &thread = requireCurrentThread("sieve_emu_mbarrier_init");
  Worker &worker = *thread.worker;
  uint64_t offset =
      checkMbarrierAddress(thread, site, barrier, "mbarrier.init");
  if (count < 1 || count > kMbarrierMaxCount)
    worker.fail(thread, site,
                "mbarrier.init with count %d: must be 1 to 2^20 - 1", count);
  Mbarrier *existing = worker.findMbarrier(offset);
  if (existing) {
    const Mbarrier &b = *existing;
    if (b.pending != b.expected || b.tx != 0 || b.waiters != 0 || b.loads != 0)
      worker.fail(thread, site,
                  "mbarrier.init of the mbarrier at shared-memory offset "
                  "%" PRIu64 " while its phase %" PRIu64
                  " is in progress (%u of %u arrivals pending, tx %" PRId64
                  " bytes, %u threads waiting, %u TMA loads in flight)",
                  offset, b.phase, b.pending, b.expected, b.tx, b.waiters,
                  b.loads);
  } else {
    if (worker.mbarriers.empty()) {
      worker.mbarrierBegin = offset;
      worker.mbarrierEnd = offset + kMbarrierBytes;
    }
    worker.mbarrierBegin = std::min(worker.mbarrierBegin, offset);
    worker.mbarrierEnd = std::max(worker.mbarrierEnd, offset + kMbarrierBytes);
    worker.mbarriers.emplace_back();
    existing = &worker.mbarriers.back();
  }
  Mbarrier &b = *existing;
  b.offset = offset;
  b.initSite = site;
  b.phase = 0;
  b.expected = b.pending = static_cast<uint32_t>(count);
  b.tx = 0;
  b.waiters = 0;
  b.loads = 0;
}

void sieve_emu_mbarrier_arrive(const char *site, void *barrier,
                               int32_t expect_tx_bytes) {
  ThreadState &thread = requireCurrentThread("sieve_emu_mbarrier_arrive");
  Worker &worker = *thread.worker;
  const char *operation =
      expect_tx_bytes != 0 ? "mbarrier.arrive.expect_tx" : "mbarrier.arrive";
  Mbarrier &b = requireMbarrier(thread, site, barrier, operation);
  if (b.pending == 0)
    worker.fail(thread, site,
                "%s on the mbarrier at shared-memory offset %" PRIu64
                " with no arrival pending: all %u arrivals of phase %" PRIu64
                " came, and it waits for tx %" PRId64 " bytes",
                operation, b.offset, b.expected, b.phase, b.tx);
  addExpectedTx(thread, site, b, expect_tx_bytes, operation);
  --b.pending;
  worker.completeMbarrierPhases(b);
}

void sieve_emu_mbarrier_expect_tx(const char *site, void *barrier,
                                  int32_t bytes) {
  ThreadState &thread = requireCurrentThread("sieve_emu_mbarrier_expect_tx");
  Mbarrier &b = requireMbarrier(thread, site, barrier, "mbarrier.expect_tx");
  addExpectedTx(thread, site, b, bytes, "mbarrier.expect_tx");
  // Bytes delivered before they were announced (tx < 0) may now balance.
  thread.worker->completeMbarrierPhases(b);
}

void sieve_emu_mbarrier_wait_parity(const char *site, void *barrier,
                                    int32_t parity) {
  ThreadState &thread = requireCurrentThread("sieve_emu_mbarrier_wait_parity");
  Worker &worker = *thread.worker;
  if (parity != 0 && parity != 1)
    worker.fail(thread, site,
                "mbarrier.try_wait.parity with parity %d: must be 0 or 1",
                parity);
  Mbarrier &b =
      requireMbarrier(thread, site, barrier, "mbarrier.try_wait.parity");
  if ((b.phase & 1) != static_cast<uint64_t>(parity))
    return;
  // The phase of this parity is in progress: block until it completes
  // (completeMbarrierPhases wakes every waiter of the barrier).
  thread.status = ThreadStatus::AtMbarrier;
  thread.waitSite = site;
  thread.mbarrierOffset = b.offset;
  thread.mbarrierParity = parity;
  ++b.waiters;
  worker.suspend();
}

void sieve_emu_tma_load(const char *site, void *dst, const void *map,
                        void *barrier, int32_t rank, const int32_t *coords) {
  ThreadState &thread = requireCurrentThread("sieve_emu_tma_load");
  Worker &worker = *thread.worker;
  if (!map)
    worker.fail(thread, site, "TMA load with a null tensor map");
  const auto &tensorMap = *static_cast<const sieve_emu_tensor_map *>(map);
  if (tensorMap.magic != SIEVE_EMU_TENSOR_MAP_MAGIC)
    worker.fail(thread, site,
                "TMA load: %p is not a tensor map (bad magic 0x%016" PRIx64
                ", want 0x%016" PRIx64 ")",
                map, tensorMap.magic,
                static_cast<uint64_t>(SIEVE_EMU_TENSOR_MAP_MAGIC));
  if (rank < 1 || rank > kMaxTmaRank)
    worker.fail(thread, site, "TMA load of rank %d: must be 1 to 5", rank);
  checkTmaSource(thread, site, tensorMap, rank, coords);

  uint64_t boxBytes = tensorMap.element_bytes;
  for (int i = 0; i < rank; ++i)
    boxBytes *= tensorMap.box[i];
  uint64_t footprint = getFootprintBytes(tensorMap, boxBytes);
  if (!worker.isInSharedMemory(dst, footprint))
    worker.fail(thread, site,
                "TMA load destination %p (a box of %" PRIu64
                " bytes) is outside the block's %" PRIu64
                " bytes of shared memory",
                dst, footprint, worker.sharedBytes);
  uint64_t dstOffset = worker.getSharedOffset(dst);
  uint64_t alignment =
      tensorMap.swizzle_bytes != 0 ? 8 * tensorMap.swizzle_bytes : 128;
  if (dstOffset % alignment != 0)
    worker.fail(thread, site,
                "misaligned TMA load destination: shared-memory offset "
                "%" PRIu64 " is not a multiple of %" PRIu64 " (%s)",
                dstOffset, alignment,
                tensorMap.swizzle_bytes != 0 ? "8 times the swizzle bytes"
                                             : "no swizzle");
  worker.checkNotMbarrier(thread, site, dstOffset, footprint,
                          "TMA load destination");
  Mbarrier &b = requireMbarrier(thread, site, barrier, "TMA load");

  // The destination holds poison until the load completes; the hardware
  // may write it any time from now, so a wgmma in flight must not read it.
  forEachChunk(dstOffset, boxBytes, tensorMap.swizzle_bytes,
               [&](uint64_t, uint64_t offset) {
                 worker.checkWgmmaInFlightWrite(thread, site, offset, 16);
               });
  forEachChunk(dstOffset, boxBytes, tensorMap.swizzle_bytes,
               [&](uint64_t, uint64_t offset) {
                 std::memset(worker.sharedMemory + offset, kPoisonByte, 16);
                 if (worker.checkRaces)
                   for (uint64_t i = offset; i < offset + 16; ++i) {
                     worker.shadow[i].writeEpoch = 0;
                     worker.shadow[i].writer = kNoThread;
                     worker.shadow[i].writeSite = site;
                   }
               });

  TmaLoad load;
  load.site = site;
  load.thread = thread.linearId;
  load.dstOffset = dstOffset;
  load.barrierOffset = b.offset;
  load.map = tensorMap;
  for (int i = 0; i < kMaxTmaRank; ++i)
    load.coords[i] = i < rank ? coords[i] : 0;
  load.boxBytes = boxBytes;
  ++b.loads;
  worker.tmaLoads.push_back(load);
}

} // extern "C"
