//===- Wgmma.cpp - Hopper warpgroup matrix products of the emulator ABI ---===//
//
// wgmma.mma_async and its fence, commit_group and wait_group (PTX ISA,
// "Asynchronous Warpgroup Level Matrix Multiply-Accumulate Instructions").
// A product is a warpgroup collective: the 128 threads of the warpgroup
// leave their registers in their slots and block, and the last to arrive
// decodes the shared-memory descriptors, computes the product for all of
// them and wakes the others. The hardware runs the product asynchronously
// until wait_group retires its group; the emulator computes it at once but
// keeps the shared-memory bytes it read "in flight" until then, and a wait
// that retires a group lets the other threads run first, so that a kernel
// overwriting an operand too early fails instead of passing by luck.
//
//===----------------------------------------------------------------------===//

#include "EmulatorInternal.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>

using namespace sieve;
using namespace sieve::emu;

namespace {

constexpr int kRows = 64;

/// The fields of a shared-memory matrix descriptor (ISA "Matrix Descriptor
/// Format"), addresses and offsets in bytes.
struct Descriptor {
  uint64_t start, leadingOffset, strideOffset;
  uint32_t baseOffset;
  /// The swizzle span in bytes; 0 without swizzle.
  uint32_t swizzleBytes;
};

Descriptor decodeDescriptor(uint64_t bits) {
  static const uint32_t kSwizzleBytes[4] = {0, 128, 64, 32};
  Descriptor descriptor;
  descriptor.start = (bits & 0x3FFF) << 4;
  descriptor.leadingOffset = ((bits >> 16) & 0x3FFF) << 4;
  descriptor.strideOffset = ((bits >> 32) & 0x3FFF) << 4;
  descriptor.baseOffset = (bits >> 49) & 7;
  descriptor.swizzleBytes = kSwizzleBytes[bits >> 62];
  return descriptor;
}

/// The swizzle of `bytes` bytes on a shared-memory address (shared with
/// TMA, see EmulatorInternal.h).
uint64_t swizzle(uint64_t offset, uint32_t bytes) {
  return swizzleSharedOffset(offset, bytes);
}

/// The shared-memory offset of element (mn, k) of an operand with
/// `elementBytes`-byte elements, K-major or (`mnMajor`) MN-major.
uint64_t getElementOffset(const Descriptor &d, bool mnMajor, int mn, int k,
                          int elementBytes) {
  uint64_t width = d.swizzleBytes;
  if (!mnMajor) {
    if (width == 0) {
      int perChunk = 16 / elementBytes;
      return d.start + 16 * (mn % 8) + d.strideOffset * (mn / 8) +
             d.leadingOffset * (k / perChunk) + elementBytes * (k % perChunk);
    }
    return swizzle(d.start + width * (mn % 8) + d.strideOffset * (mn / 8) +
                       elementBytes * k,
                   d.swizzleBytes);
  }
  if (width == 0)
    return d.start + 16 * (k % 8) + d.leadingOffset * (k / 8) +
           d.strideOffset * (mn / 8) + 2 * (mn % 8);
  uint64_t perRow = width / 2;
  return swizzle(d.start + width * (k % 8) + d.strideOffset * (k / 8) +
                     d.leadingOffset * (mn / perRow) + 2 * (mn % perRow),
                 d.swizzleBytes);
}

bool isEightBit(int32_t type) {
  return type == SIEVE_EMU_TYPE_S8 || type == SIEVE_EMU_TYPE_E4M3;
}

bool isSupportedWgmma(int32_t n, int32_t abType, int32_t cdType) {
  bool types =
      ((abType == SIEVE_EMU_TYPE_F16 || abType == SIEVE_EMU_TYPE_BF16 ||
        abType == SIEVE_EMU_TYPE_E4M3) &&
       cdType == SIEVE_EMU_TYPE_F32) ||
      (abType == SIEVE_EMU_TYPE_S8 && cdType == SIEVE_EMU_TYPE_S32);
  if (!types || n < 8 || n > 256 || n % 8 != 0)
    return false;
  // s8 has N = 8, 24 and the multiples of 16.
  return abType != SIEVE_EMU_TYPE_S8 || n == 8 || n == 24 || n % 16 == 0;
}

/// One operand of a product as read from shared memory: its element bits
/// and the bytes they came from.
class OperandReader {
public:
  OperandReader(Worker &worker, ThreadState &thread, const char *site,
                int elementBytes)
      : worker(worker), thread(thread), site(site), elementBytes(elementBytes) {
  }

  /// Checks a descriptor once, naming the operand in messages.
  void check(const Descriptor &d, const char *operand) {
    if (d.baseOffset != 0)
      worker.fail(thread, site,
                  "wgmma %s descriptor has base offset %u; the emulator "
                  "supports only 0 (swizzled tiles aligned to their pattern)",
                  operand, d.baseOffset);
    if (d.swizzleBytes != 0 &&
        ((d.start >> 7) & (d.swizzleBytes / 16 - 1)) != 0)
      worker.fail(thread, site,
                  "wgmma %s descriptor: start address %" PRIu64
                  " of a %u-byte swizzle is not aligned to the swizzle "
                  "pattern (%u bytes)",
                  operand, d.start, d.swizzleBytes, d.swizzleBytes * 8);
  }

  uint32_t read(const Descriptor &d, bool mnMajor, int mn, int k,
                const char *operand) {
    uint64_t offset = getElementOffset(d, mnMajor, mn, k, elementBytes);
    if (offset + elementBytes > worker.sharedBytes)
      worker.fail(thread, site,
                  "wgmma %s element (%d, %d) at shared-memory offset %" PRIu64
                  " is outside the block's %" PRIu64 " bytes of shared memory",
                  operand, mn, k, offset, worker.sharedBytes);
    uint32_t bits = 0;
    std::memcpy(&bits, worker.sharedMemory + offset, elementBytes);
    offsets.push_back(offset);
    return bits;
  }

  /// The bytes read, as sorted disjoint ranges.
  std::vector<std::pair<uint64_t, uint64_t>> takeRanges() {
    std::sort(offsets.begin(), offsets.end());
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (uint64_t offset : offsets) {
      if (!ranges.empty() && offset <= ranges.back().second)
        ranges.back().second =
            std::max<uint64_t>(ranges.back().second, offset + elementBytes);
      else
        ranges.push_back({offset, offset + elementBytes});
    }
    offsets.clear();
    return ranges;
  }

private:
  Worker &worker;
  ThreadState &thread;
  const char *site;
  int elementBytes;
  std::vector<uint64_t> offsets;
};

/// Fails if a byte of [begin, end) was written by a thread that has not
/// executed fence.proxy.async since: wgmma reads through the async proxy,
/// which may not see such a write.
void checkAsyncProxyVisible(Worker &worker, ThreadState &thread,
                            const char *site, uint64_t begin, uint64_t end) {
  for (uint64_t i = begin; i < end; ++i) {
    const ShadowByte &byte = worker.shadow[i];
    if (byte.writer == kNoThread || byte.writeEpoch < worker.blockFirstEpoch ||
        worker.threads[byte.writer].proxyFences != byte.writerProxyFences)
      continue;
    char writer[48];
    worker.describeThread(byte.writer, writer, sizeof(writer));
    worker.fail(thread, site,
                "wgmma reads shared memory byte %" PRIu64
                " that thread %s wrote at %s without a fence.proxy.async "
                "since: the write may be invisible to the async proxy",
                i, writer, byte.writeSite ? byte.writeSite : "?");
  }
}

/// Computes the pending product of warpgroup `index` for all its threads;
/// `thread` is the last to arrive.
void computeWgmma(ThreadState &thread, uint32_t index, const char *site) {
  Worker &worker = *thread.worker;
  WarpgroupState &group = worker.warpgroups[index];
  const WgmmaArguments &args = group.arguments;
  const int depth = isEightBit(args.abType) ? 32 : 16;
  const int elementBytes = isEightBit(args.abType) ? 1 : 2;
  const bool isInteger = args.abType == SIEVE_EMU_TYPE_S8;
  const int n = args.n;
  OperandReader reader(worker, thread, site, elementBytes);

  // A (64 x depth) and B (depth x n) as element bits.
  std::vector<uint32_t> a(kRows * depth), b(depth * n);
  if (args.registerA) {
    for (uint32_t t = 0; t < kWarpgroupSize; ++t) {
      const uint32_t *registers = group.slots[t].a;
      int rowBase = 16 * static_cast<int>(t / kWarpSize);
      int g = (t % kWarpSize) / 4, quad = t % 4;
      if (elementBytes == 2) {
        for (int j = 0; j < 8; ++j) {
          int row = rowBase + g + 8 * ((j / 2) % 2);
          int col = 2 * quad + j % 2 + 8 * (j / 4);
          a[row * depth + col] = (registers[j / 2] >> (16 * (j % 2))) & 0xFFFF;
        }
      } else {
        for (int j = 0; j < 16; ++j) {
          int r = j / 4;
          int row = rowBase + g + 8 * (r % 2);
          int col = 4 * quad + j % 4 + 16 * (r / 2);
          a[row * depth + col] = (registers[r] >> (8 * (j % 4))) & 0xFF;
        }
      }
    }
  } else {
    Descriptor descriptor = decodeDescriptor(args.descA);
    reader.check(descriptor, "A");
    for (int m = 0; m < kRows; ++m)
      for (int k = 0; k < depth; ++k)
        a[m * depth + k] = reader.read(descriptor, args.transA != 0, m, k, "A");
  }
  Descriptor descriptorB = decodeDescriptor(args.descB);
  reader.check(descriptorB, "B");
  for (int col = 0; col < n; ++col)
    for (int k = 0; k < depth; ++k)
      b[k * n + col] = reader.read(descriptorB, args.transB != 0, col, k, "B");

  std::vector<std::pair<uint64_t, uint64_t>> ranges = reader.takeRanges();
  for (auto [begin, end] : ranges)
    worker.checkNotMbarrier(thread, site, begin, end - begin,
                            "wgmma operand read");
  if (worker.checkRaces)
    for (auto [begin, end] : ranges) {
      worker.checkSharedAccess(thread, site, begin, end - begin, false);
      checkAsyncProxyVisible(worker, thread, site, begin, end);
    }

  std::vector<float> aFloat, bFloat;
  if (!isInteger) {
    aFloat.resize(a.size());
    bFloat.resize(b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
      aFloat[i] = getOperandValue(a[i], args.abType);
    for (std::size_t i = 0; i < b.size(); ++i)
      bFloat[i] = getOperandValue(b[i], args.abType);
  }
  for (uint32_t t = 0; t < kWarpgroupSize; ++t) {
    uint32_t *d = group.slots[t].d;
    int rowBase = 16 * static_cast<int>(t / kWarpSize);
    int g = (t % kWarpSize) / 4, quad = t % 4;
    for (int i = 0; i < n / 2; ++i) {
      int row = rowBase + g + 8 * ((i / 2) % 2);
      int col = 8 * (i / 4) + 2 * quad + i % 2;
      if (isInteger) {
        uint32_t sum = args.scaleD ? d[i] : 0;
        for (int k = 0; k < depth; ++k)
          sum += static_cast<uint32_t>(static_cast<int8_t>(a[row * depth + k]) *
                                       static_cast<int8_t>(b[k * n + col]));
        d[i] = sum;
      } else {
        float sum = 0;
        if (args.scaleD)
          std::memcpy(&sum, &d[i], 4);
        for (int k = 0; k < depth; ++k) {
          float product = aFloat[row * depth + k] * bFloat[k * n + col];
          sum = sum + product;
        }
        std::memcpy(&d[i], &sum, 4);
      }
    }
  }

  if (worker.wgmmaReaders.empty())
    worker.wgmmaReaders.assign(worker.sharedBytes, 0);
  for (auto [begin, end] : ranges)
    for (uint64_t i = begin; i < end; ++i)
      ++worker.wgmmaReaders[i];
  worker.wgmmaInFlight.push_back({site, index, args.group, std::move(ranges)});
}

/// Frees the in-flight bytes of the products of warpgroup `index` that all
/// its threads have retired.
void releaseRetired(Worker &worker, uint32_t index) {
  uint64_t retired = UINT64_MAX;
  for (uint32_t t = index * kWarpgroupSize; t < (index + 1) * kWarpgroupSize;
       ++t)
    retired = std::min(retired, worker.threads[t].wgmmaRetired);
  auto &inFlight = worker.wgmmaInFlight;
  for (std::size_t i = 0; i < inFlight.size();) {
    if (inFlight[i].warpgroup != index || inFlight[i].group >= retired) {
      ++i;
      continue;
    }
    for (auto [begin, end] : inFlight[i].ranges)
      for (uint64_t byte = begin; byte < end; ++byte)
        --worker.wgmmaReaders[byte];
    inFlight.erase(inFlight.begin() + i);
  }
}

bool operator!=(const WgmmaArguments &x, const WgmmaArguments &y) {
  return x.n != y.n || x.abType != y.abType || x.cdType != y.cdType ||
         x.descA != y.descA || x.descB != y.descB || x.transA != y.transA ||
         x.transB != y.transB || x.scaleD != y.scaleD ||
         x.registerA != y.registerA || x.group != y.group;
}

} // namespace

uint32_t emu::getWarpgroup(ThreadState &thread, const char *site,
                           const char *name) {
  Worker &worker = *thread.worker;
  if (worker.warpgroups.empty())
    worker.fail(thread, site,
                "%s needs whole warpgroups (128 threads); the block has %zu "
                "threads",
                name, worker.threads.size());
  return thread.linearId / kWarpgroupSize;
}

uint32_t emu::requireWarpgroup(ThreadState &thread, const char *site,
                               const char *name) {
  Worker &worker = *thread.worker;
  uint32_t index = getWarpgroup(thread, site, name);
  uint32_t live = 0;
  for (uint32_t w = 4 * index; w < 4 * index + 4; ++w)
    live += worker.warps[w].liveLanes;
  if (live != kWarpgroupSize)
    worker.fail(thread, site,
                "%s needs all 128 threads of the warpgroup; %u of them have "
                "returned",
                name, kWarpgroupSize - live);
  return index;
}

bool Worker::findWgmmaInFlightRead(uint64_t offset, uint64_t bytes,
                                   uint64_t &byte,
                                   const WgmmaInFlight *&reader) const {
  if (wgmmaInFlight.empty())
    return false;
  for (uint64_t i = offset; i < offset + bytes && i < wgmmaReaders.size();
       ++i) {
    if (wgmmaReaders[i] == 0)
      continue;
    byte = i;
    reader = nullptr;
    for (const WgmmaInFlight &product : wgmmaInFlight)
      for (auto [begin, end] : product.ranges)
        if (i >= begin && i < end)
          reader = &product;
    return true;
  }
  return false;
}

void Worker::checkWgmmaInFlightWrite(const ThreadState &thread,
                                     const char *site, uint64_t offset,
                                     uint64_t bytes) {
  uint64_t i = 0;
  const WgmmaInFlight *reader = nullptr;
  if (!findWgmmaInFlightRead(offset, bytes, i, reader))
    return;
  fail(thread, site,
       "write to shared memory byte %" PRIu64
       " while the wgmma at %s reads it: its group is still in flight "
       "until every thread of warpgroup %u has waited for it "
       "(wgmma.wait_group)",
       i, reader ? reader->site : "?", reader ? reader->warpgroup : 0);
}

extern "C" {

void sieve_emu_wgmma(const char *site, int32_t n, int32_t ab_type,
                     int32_t cd_type, const uint32_t *a, uint64_t desc_a,
                     uint64_t desc_b, int32_t trans_a, int32_t trans_b,
                     int32_t scale_d, uint32_t *d) {
  ThreadState &thread = requireCurrentThread("sieve_emu_wgmma");
  Worker &worker = *thread.worker;
  if (!isSupportedWgmma(n, ab_type, cd_type))
    worker.fail(thread, site,
                "unsupported wgmma: m64n%dk%d with A/B type %d and D type %d; "
                "supported are f16, bf16 and e4m3 into f32 and s8 into s32, "
                "n a multiple of 8 from 8 to 256 (s8: 8, 24 or a multiple of "
                "16)",
                n, isEightBit(ab_type) ? 32 : 16, ab_type, cd_type);
  if (isEightBit(ab_type) && (trans_b != 0 || (!a && trans_a != 0)))
    worker.fail(thread, site,
                "wgmma with 8-bit operands takes K-major operands only, not "
                "transposed (MN-major) ones");
  if (a && trans_a != 0)
    worker.fail(thread, site, "wgmma with A in registers cannot transpose A");
  uint32_t index = requireWarpgroup(thread, site, "wgmma");
  if (!thread.wgmmaFenced)
    worker.fail(thread, site,
                "wgmma without a wgmma.fence since the thread's last "
                "wgmma.commit_group: every group of products starts with a "
                "fence");

  WgmmaArguments arguments;
  arguments.n = n;
  arguments.abType = ab_type;
  arguments.cdType = cd_type;
  arguments.descA = a ? 0 : desc_a;
  arguments.descB = desc_b;
  arguments.transA = trans_a;
  arguments.transB = trans_b;
  arguments.scaleD = scale_d != 0;
  arguments.registerA = a != nullptr;
  arguments.group = thread.wgmmaCommitted;

  WarpgroupState &group = worker.warpgroups[index];
  if (group.arrived == 0) {
    group.site = site;
    group.operation = "wgmma";
    group.arguments = arguments;
  } else if (!isSameSite(group.site, site)) {
    worker.fail(thread, site,
                "divergent wgmma: thread %u reaches this wgmma while %u other "
                "threads of its warpgroup wait in the one at %s",
                thread.linearId, group.arrived, group.site ? group.site : "?");
  } else if (arguments != group.arguments) {
    worker.fail(thread, site,
                "divergent wgmma: thread %u passes other arguments (shape, "
                "types, descriptors 0x%" PRIx64 " and 0x%" PRIx64
                ", transposes, scale-d, or wgmma group) than the other threads "
                "of its warpgroup (descriptors 0x%" PRIx64 " and 0x%" PRIx64
                ")",
                thread.linearId, arguments.descA, arguments.descB,
                group.arguments.descA, group.arguments.descB);
  }
  WarpgroupSlot &slot = group.slots[thread.linearId % kWarpgroupSize];
  slot.arrived = true;
  slot.a = a;
  slot.d = d;
  ++thread.wgmmaOpenProducts;
  thread.wgmmaOpenSite = site;
  if (++group.arrived < kWarpgroupSize) {
    thread.status = ThreadStatus::InCollective;
    thread.waitSite = site;
    worker.suspend();
    return;
  }
  computeWgmma(thread, index, site);
  uint32_t first = index * kWarpgroupSize;
  for (uint32_t t = 0; t < kWarpgroupSize; ++t) {
    group.slots[t].arrived = false;
    if (first + t != thread.linearId)
      worker.wake(worker.threads[first + t]);
  }
  group.arrived = 0;
  ++worker.collectives;
}

void sieve_emu_wgmma_fence(const char *site) {
  ThreadState &thread = requireCurrentThread("sieve_emu_wgmma_fence");
  getWarpgroup(thread, site, "wgmma.fence");
  thread.wgmmaFenced = true;
}

void sieve_emu_wgmma_commit(const char *site) {
  ThreadState &thread = requireCurrentThread("sieve_emu_wgmma_commit");
  getWarpgroup(thread, site, "wgmma.commit_group");
  ++thread.wgmmaCommitted;
  thread.wgmmaOpenProducts = 0;
  thread.wgmmaFenced = false;
}

void sieve_emu_wgmma_wait(const char *site, int32_t pending) {
  ThreadState &thread = requireCurrentThread("sieve_emu_wgmma_wait");
  Worker &worker = *thread.worker;
  uint32_t index = getWarpgroup(thread, site, "wgmma.wait_group");
  if (pending < 0 || pending > 7)
    worker.fail(thread, site,
                "wgmma.wait_group %d: the number of pending groups is 0 to 7",
                pending);
  uint64_t pendingGroups = static_cast<uint64_t>(pending);
  if (thread.wgmmaCommitted <= thread.wgmmaRetired + pendingGroups)
    return;
  // The products of the groups this wait retires ran until now: the other
  // threads run first, so that whatever they do meanwhile (a producer
  // refilling a stage that this thread released too early) meets the
  // operands still in flight.
  worker.wake(thread);
  worker.suspend();
  thread.wgmmaRetired = thread.wgmmaCommitted - pendingGroups;
  releaseRetired(worker, index);
}

void sieve_emu_fence_proxy_async(const char *site) {
  ++requireCurrentThread("sieve_emu_fence_proxy_async").proxyFences;
}

} // extern "C"
