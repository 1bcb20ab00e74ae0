//===- MbarrierTest.cpp - mbarrier objects and TMA loads ------------------===//
//
// sieve_emu_mbarrier_* and sieve_emu_tma_load against the comment above
// them in sieve/emulator.h: phases with one and many arriving threads,
// producer / consumer hand-overs, a two-stage TMA pipeline, TMA boxes at
// every edge of the tensor (rank 1 to 5, every element size and swizzle)
// checked byte by byte against a placement computed here independently,
// the poison of a destination read before the wait, and every misuse with
// its message (deadlock reports included).
//
//===----------------------------------------------------------------------===//

#include "EmulatorTestUtils.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace sieve::test;

namespace {
const char *const kInitSite = "mbar.mlir:1:1 nvgpu.mbarrier.init in kernel t";
const char *const kArriveSite =
    "mbar.mlir:2:1 nvgpu.mbarrier.arrive in kernel t";
const char *const kExpectSite =
    "mbar.mlir:3:1 nvgpu.mbarrier.arrive.expect_tx in kernel t";
const char *const kWaitSite =
    "mbar.mlir:4:1 nvgpu.mbarrier.try_wait.parity in kernel t";
const char *const kTmaSite = "mbar.mlir:5:1 nvgpu.tma.async.load in kernel t";
const char *const kBarrierSite = "mbar.mlir:6:1 gpu.barrier in kernel t";
const char *const kStoreSite = "mbar.mlir:7:1 memref.store in kernel t";
const char *const kLoadSite = "mbar.mlir:8:1 memref.load in kernel t";
const char *const kCopySite = "mbar.mlir:9:1 nvgpu.device_async_copy in t";
const char *const kWaitSite2 =
    "mbar.mlir:10:1 nvgpu.mbarrier.try_wait.parity in kernel t";

/// A tensor map over `data` (the buffer is exactly the bytes the tensor
/// spans) with the given sizes, strides and box, innermost first.
sieve_emu_tensor_map makeMap(const uint8_t *data, uint64_t dataBytes,
                             uint32_t rank, uint32_t elementBytes,
                             uint32_t swizzleBytes,
                             const std::vector<uint64_t> &dims,
                             const std::vector<uint64_t> &strides,
                             const std::vector<uint32_t> &box) {
  sieve_emu_tensor_map map = {};
  map.magic = SIEVE_EMU_TENSOR_MAP_MAGIC;
  map.base = data;
  map.buffer_begin = data;
  map.buffer_end = data + dataBytes;
  map.rank = rank;
  map.element_bytes = elementBytes;
  map.swizzle_bytes = swizzleBytes;
  for (uint32_t i = 0; i < rank; ++i) {
    map.dims[i] = dims[i];
    map.strides[i] = strides[i];
    map.box[i] = box[i];
  }
  return map;
}

/// The bytes a tensor of `dims` with `strides` spans from its element 0.
uint64_t getSpanBytes(const std::vector<uint64_t> &dims,
                      const std::vector<uint64_t> &strides,
                      uint32_t elementBytes) {
  uint64_t last = 0;
  for (std::size_t i = 0; i < dims.size(); ++i)
    last += (dims[i] - 1) * strides[i];
  return last + elementBytes;
}

//===----------------------------------------------------------------------===//
// Single TMA loads
//===----------------------------------------------------------------------===//

struct TmaParams {
  const sieve_emu_tensor_map *map;
  int32_t coords[5];
  int32_t rank;
  int64_t dstOffset;
  int32_t expectBytes;
  uint8_t *sharedOut; // the whole shared memory after the wait
  uint8_t *early;     // the first 16 destination bytes right after issue
};

constexpr int64_t kBarrierOffset = 0;
constexpr int64_t kTmaSharedBytes = 32768;

} // namespace

extern "C" void tmaLoadKernel(void **params) {
  const TmaParams &p = *getParam<const TmaParams *>(params, 0);
  uint8_t *shared = sieve_emu_shared_memory();
  uint8_t *barrier = shared + kBarrierOffset;
  sieve_emu_mbarrier_init(kInitSite, barrier, 1);
  sieve_emu_mbarrier_arrive(kExpectSite, barrier, p.expectBytes);
  std::memset(shared + p.dstOffset, 0x11, 16);
  sieve_emu_tma_load(kTmaSite, shared + p.dstOffset, p.map, barrier, p.rank,
                     p.coords);
  // Not waited for yet: the destination is poisoned (over what the thread
  // wrote there before the load).
  if (p.early)
    std::memcpy(p.early, shared + p.dstOffset, 16);
  sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, 0);
  // Waited for: phase 0 has completed, so a wait on it returns at once.
  sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, 0);
  std::memcpy(p.sharedOut, shared, kTmaSharedBytes);
}

namespace {

/// The shared memory a TMA load of `map`'s box at `coords` to `dstOffset`
/// leaves, from the header's words: box element e (dim 0 fastest) holds
/// global element coords + e, or zeros outside [0, dims); its dense offset
/// d has row pitch box[0] * element_bytes; with a swizzle of S bytes, the
/// 16-byte chunk at shared-memory offset a = dstOffset + d - d % 16 moves
/// to the chunk whose index within its 128-byte row is (a / 16 % 8) XOR
/// (a / 128 % (S / 16)). Everything else keeps the 0xFF of a fresh block.
std::vector<uint8_t> placeBox(const sieve_emu_tensor_map &map,
                              const int32_t *coords, int64_t dstOffset) {
  std::vector<uint8_t> shared(kTmaSharedBytes, 0xFF);
  uint32_t rank = map.rank, eb = map.element_bytes;
  uint64_t box[5] = {1, 1, 1, 1, 1};
  for (uint32_t i = 0; i < rank; ++i)
    box[i] = map.box[i];
  uint64_t index = 0;
  for (uint64_t e4 = 0; e4 < box[4]; ++e4)
    for (uint64_t e3 = 0; e3 < box[3]; ++e3)
      for (uint64_t e2 = 0; e2 < box[2]; ++e2)
        for (uint64_t e1 = 0; e1 < box[1]; ++e1)
          for (uint64_t e0 = 0; e0 < box[0]; ++e0, ++index) {
            uint64_t e[5] = {e0, e1, e2, e3, e4};
            bool inside = true;
            const uint8_t *source = map.base;
            for (uint32_t i = 0; i < rank; ++i) {
              int64_t c = coords[i] + static_cast<int64_t>(e[i]);
              if (c < 0 || c >= static_cast<int64_t>(map.dims[i]))
                inside = false;
              else
                source += c * map.strides[i];
            }
            uint64_t dense = index * eb;
            for (uint32_t b = 0; b < eb; ++b) {
              uint64_t d = dense + b;
              uint64_t a = dstOffset + d - d % 16;
              if (map.swizzle_bytes != 0) {
                uint64_t chunk = a / 16 % 8;
                uint64_t row = a / 128 % (map.swizzle_bytes / 16);
                a = a - 16 * chunk + 16 * (chunk ^ row);
              }
              shared[a + d % 16] = inside ? source[b] : 0;
            }
          }
  return shared;
}

struct BoxCase {
  uint32_t rank, elementBytes, swizzleBytes;
  std::vector<uint64_t> dims;
  std::vector<uint32_t> box;
  std::vector<int32_t> coords;
};

/// Runs one load and compares the whole shared memory with placeBox.
void checkBox(const BoxCase &c) {
  SCOPED_TRACE(testing::Message()
               << "rank " << c.rank << ", " << c.elementBytes
               << "-byte elements, swizzle " << c.swizzleBytes << ", box[0] "
               << c.box[0] << ", coords[0] " << c.coords[0]);
  // Rows padded by 16 bytes, higher dimensions by one row: strides that are
  // not the dense ones.
  std::vector<uint64_t> strides(c.rank);
  strides[0] = c.elementBytes;
  for (uint32_t i = 1; i < c.rank; ++i)
    strides[i] = strides[i - 1] * c.dims[i - 1] + (i == 1 ? 16 : 0);
  uint64_t span = getSpanBytes(c.dims, strides, c.elementBytes);
  std::vector<uint8_t> data(span);
  std::mt19937 random(c.rank * 1000 + c.elementBytes * 100 + c.swizzleBytes);
  for (uint8_t &byte : data)
    byte = static_cast<uint8_t>(random() % 255); // never 0xFF
  sieve_emu_tensor_map map = makeMap(data.data(), span, c.rank, c.elementBytes,
                                     c.swizzleBytes, c.dims, strides, c.box);
  uint64_t boxBytes = c.elementBytes;
  for (uint32_t b : c.box)
    boxBytes *= b;

  std::vector<uint8_t> shared(kTmaSharedBytes), early(16);
  TmaParams p = {};
  p.map = &map;
  for (uint32_t i = 0; i < c.rank; ++i)
    p.coords[i] = c.coords[i];
  p.rank = static_cast<int32_t>(c.rank);
  p.dstOffset = 2048;
  p.expectBytes = static_cast<int32_t>(boxBytes);
  p.sharedOut = shared.data();
  p.early = early.data();
  const TmaParams *pointer = &p;
  void *params[] = {&pointer};
  sieve_emu_launch_desc desc = makeLaunch("tma", tmaLoadKernel, params, 1, 1);
  desc.dynamic_shared_bytes = kTmaSharedBytes;
  LaunchResult result = runLaunch(desc);
  ASSERT_EQ(result.status, 0) << result.error;
  EXPECT_EQ(early, std::vector<uint8_t>(16, 0xFF));
  std::vector<uint8_t> expected = placeBox(map, p.coords, p.dstOffset);
  // The barrier's bytes are not memory the kernel may read.
  for (int64_t i = 0; i < 8; ++i)
    shared[kBarrierOffset + i] = expected[kBarrierOffset + i];
  int mismatches = 0;
  for (int64_t i = 0; i < kTmaSharedBytes && mismatches < 8; ++i)
    if (shared[i] != expected[i]) {
      ADD_FAILURE() << "shared byte " << i << ": "
                    << static_cast<int>(shared[i]) << ", expected "
                    << static_cast<int>(expected[i]);
      ++mismatches;
    }
}

} // namespace

// Every rank, element size and swizzle, with boxes inside the tensor, at
// negative coordinates, running past the end, and entirely outside (all
// zeros, the tx count still the whole box). The barrier expects the whole
// box's bytes: a tx count without the out-of-bounds bytes would deadlock.
TEST(EmulatorTma, BoxesAtEveryEdgeEveryRankElementSizeAndSwizzle) {
  const uint64_t highDims[5] = {0, 3, 4, 2, 3};
  const uint32_t highBox[5] = {0, 2, 3, 2, 2};
  for (uint32_t rank = 1; rank <= 5; ++rank)
    for (uint32_t eb : {1u, 2u, 4u})
      for (uint32_t swizzle : {0u, 32u, 64u, 128u}) {
        // The inner box: 16 bytes, and the whole swizzle span (or 48
        // bytes without swizzle).
        for (uint32_t rowBytes : {16u, swizzle == 0 ? 48u : swizzle}) {
          uint32_t box0 = rowBytes / eb;
          uint64_t dim0 = box0 + 5; // not a multiple of the box
          std::vector<std::vector<int32_t>> coordSets = {
              {0, 0, 0, 0, 0},
              {3, 1, 1, 1, 1},
              {-2, -1, -2, -1, -1},
              {static_cast<int32_t>(dim0) - 3, 2, 3, 1, 2},
              {static_cast<int32_t>(dim0) + 1, 0, 0, 0, 0},
              {-static_cast<int32_t>(box0), 0, 0, 0, 0},
              {0, -5, 0, 0, 0},
              {0, 0, 0, 0, 7},
          };
          for (const std::vector<int32_t> &coords : coordSets) {
            BoxCase c;
            c.rank = rank;
            c.elementBytes = eb;
            c.swizzleBytes = swizzle;
            c.dims.push_back(dim0);
            c.box.push_back(box0);
            for (uint32_t i = 1; i < rank; ++i) {
              c.dims.push_back(highDims[i]);
              c.box.push_back(highBox[i]);
            }
            c.coords.assign(coords.begin(), coords.begin() + rank);
            checkBox(c);
          }
        }
      }
}

// A 64 x 64 bf16 tile with the 128-byte swizzle, as wgmma's tests lay it
// out by hand: row r's 16-byte chunk j lands in chunk j ^ (r % 8).
TEST(EmulatorTma, Bf16TileWith128ByteSwizzle) {
  BoxCase c;
  c.rank = 2;
  c.elementBytes = 2;
  c.swizzleBytes = 128;
  c.dims = {64, 64};
  c.box = {64, 64};
  c.coords = {0, 0};
  checkBox(c);
}

//===----------------------------------------------------------------------===//
// Phases and hand-overs
//===----------------------------------------------------------------------===//

namespace {
struct PingPongParams {
  int rounds;
  int *out; // out[round * consumers + consumer]
};
constexpr int64_t kFullOffset = 0, kEmptyOffset = 8, kSlotOffset = 16;
} // namespace

// Thread 0 produces a value per round into one shared slot; the other
// threads consume it. "full" (count 1) and "empty" (count = consumers)
// hand the slot back and forth over many phases; the producer's first
// wait on "empty" (parity 1) passes at once.
extern "C" void pingPongKernel(void **params) {
  const PingPongParams &p = *getParam<const PingPongParams *>(params, 0);
  uint8_t *shared = sieve_emu_shared_memory();
  uint8_t *full = shared + kFullOffset, *empty = shared + kEmptyOffset;
  int *slot = reinterpret_cast<int *>(shared + kSlotOffset);
  int64_t thread = getLinearThreadId();
  int consumers = static_cast<int>(sieve_emu_block_dim(0)) - 1;
  if (thread == 0) {
    sieve_emu_mbarrier_init(kInitSite, full, 1);
    sieve_emu_mbarrier_init(kInitSite, empty, consumers);
  }
  sieve_emu_barrier(kBarrierSite);
  for (int round = 0; round < p.rounds; ++round) {
    int parity = round & 1;
    if (thread == 0) {
      sieve_emu_mbarrier_wait_parity(kWaitSite, empty, parity ^ 1);
      sieve_emu_shared_access(kStoreSite, slot, 4, 1);
      *slot = 1000 * round + 7;
      sieve_emu_mbarrier_arrive(kArriveSite, full, 0);
    } else {
      sieve_emu_mbarrier_wait_parity(kWaitSite2, full, parity);
      sieve_emu_shared_access(kLoadSite, slot, 4, 0);
      p.out[round * consumers + (thread - 1)] = *slot;
      sieve_emu_mbarrier_arrive(kArriveSite, empty, 0);
    }
  }
}

TEST(EmulatorMbarrier, PingPongOneProducerManyConsumers) {
  for (uint32_t threads : {2u, 33u, 96u})
    for (uint64_t seed : {0ull, 1ull, 77ull})
      for (int races : {0, 1}) {
        SCOPED_TRACE(testing::Message() << threads << " threads, seed " << seed
                                        << ", races " << races);
        int consumers = static_cast<int>(threads) - 1;
        PingPongParams p = {7, nullptr};
        std::vector<int> out(p.rounds * consumers, -1);
        p.out = out.data();
        const PingPongParams *pointer = &p;
        void *params[] = {&pointer};
        sieve_emu_launch_desc desc =
            makeLaunch("pingpong", pingPongKernel, params, 1, threads);
        desc.static_shared_bytes = 64;
        desc.schedule_seed = seed;
        desc.check_races = races;
        LaunchResult result = runLaunch(desc);
        ASSERT_EQ(result.status, 0) << result.error;
        for (int round = 0; round < p.rounds; ++round)
          for (int c = 0; c < consumers; ++c)
            EXPECT_EQ(out[round * consumers + c], 1000 * round + 7);
        // 2 phases per round, and the gpu.barrier.
        EXPECT_EQ(result.stats.barriers, 2u * p.rounds + 1);
      }
}

namespace {
struct PhaseParams {
  int *out;
};
} // namespace

// Many arrivals per phase: 64 threads arrive on a barrier of count 64 and
// wait for each phase; a wait for the phase before returns at once.
extern "C" void manyArrivalsKernel(void **params) {
  int *out = getParam<PhaseParams *>(params, 0)->out;
  uint8_t *barrier = sieve_emu_shared_memory();
  int64_t thread = getLinearThreadId();
  if (thread == 0)
    sieve_emu_mbarrier_init(kInitSite, barrier, 64);
  sieve_emu_barrier(kBarrierSite);
  // Phase 0 has not completed: a wait for parity 1 (the phase before it)
  // returns at once.
  sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, 1);
  for (int phase = 0; phase < 4; ++phase) {
    sieve_emu_mbarrier_arrive(kArriveSite, barrier, 0);
    sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, phase & 1);
    out[thread] += 1;
  }
}

TEST(EmulatorMbarrier, ManyArrivalsPerPhase) {
  for (uint64_t seed : {0ull, 5ull}) {
    std::vector<int> out(64, 0);
    PhaseParams p = {out.data()};
    PhaseParams *pointer = &p;
    void *params[] = {&pointer};
    sieve_emu_launch_desc desc =
        makeLaunch("arrivals", manyArrivalsKernel, params, 1, 64);
    desc.static_shared_bytes = 8;
    desc.schedule_seed = seed;
    LaunchResult result = runLaunch(desc);
    ASSERT_EQ(result.status, 0) << result.error;
    EXPECT_EQ(out, std::vector<int>(64, 4));
  }
}

//===----------------------------------------------------------------------===//
// A two-stage TMA pipeline
//===----------------------------------------------------------------------===//

namespace {
constexpr int kTileRows = 8, kCols = 32, kTiles = 6;
constexpr int64_t kStageOffset = 1024, kStageBytes = kTileRows * kCols * 4;
struct PipelineParams {
  const sieve_emu_tensor_map *map;
  float *out; // kTiles * kTileRows x kCols
};
} // namespace

// Thread 0 loads tiles of 8 rows by TMA into two stages (full[s] / empty[s]
// barriers); threads 1.. copy each tile out, then release the stage. The
// 32-column f32 rows are two 64-byte boxes side by side, with the 64-byte
// swizzle; consumers undo it as the header describes.
extern "C" void pipelineKernel(void **params) {
  const PipelineParams &p = *getParam<const PipelineParams *>(params, 0);
  uint8_t *shared = sieve_emu_shared_memory();
  int64_t thread = getLinearThreadId();
  int consumers = static_cast<int>(sieve_emu_block_dim(0)) - 1;
  auto full = [&](int s) { return shared + 16 * s; };
  auto empty = [&](int s) { return shared + 16 * s + 8; };
  if (thread == 0)
    for (int s = 0; s < 2; ++s) {
      sieve_emu_mbarrier_init(kInitSite, full(s), 1);
      sieve_emu_mbarrier_init(kInitSite, empty(s), consumers);
    }
  sieve_emu_barrier(kBarrierSite);
  for (int tile = 0; tile < kTiles; ++tile) {
    int s = tile % 2, parity = (tile / 2) & 1;
    uint8_t *stage = shared + kStageOffset + s * kStageBytes;
    if (thread == 0) {
      sieve_emu_mbarrier_wait_parity(kWaitSite, empty(s), parity ^ 1);
      sieve_emu_mbarrier_arrive(kExpectSite, full(s),
                                static_cast<int32_t>(kStageBytes));
      for (int half = 0; half < 2; ++half) {
        int32_t coords[2] = {16 * half, kTileRows * tile};
        sieve_emu_tma_load(kTmaSite, stage + half * kStageBytes / 2, p.map,
                           full(s), 2, coords);
      }
      continue;
    }
    sieve_emu_mbarrier_wait_parity(kWaitSite2, full(s), parity);
    for (int i = static_cast<int>(thread) - 1; i < kTileRows * kCols;
         i += consumers) {
      int row = i / kCols, col = i % kCols, half = col / 16;
      uint64_t offset = kStageOffset + s * kStageBytes +
                        half * kStageBytes / 2 + row * 64 + (col % 16) * 4;
      // The 64-byte swizzle: chunk bits 4-5 XOR bits 7-8.
      offset ^= ((offset >> 7) & 3) << 4;
      sieve_emu_shared_access(kLoadSite, shared + offset, 4, 0);
      std::memcpy(&p.out[(tile * kTileRows + row) * kCols + col],
                  shared + offset, 4);
    }
    sieve_emu_mbarrier_arrive(kArriveSite, empty(s), 0);
  }
}

TEST(EmulatorTma, TwoStagePipelineAnyScheduleWithOrWithoutRaceCheck) {
  std::vector<float> source(kTiles * kTileRows * kCols);
  for (std::size_t i = 0; i < source.size(); ++i)
    source[i] = static_cast<float>(i) * 0.5f - 3.0f;
  sieve_emu_tensor_map map = makeMap(
      reinterpret_cast<const uint8_t *>(source.data()), source.size() * 4, 2, 4,
      64, {kCols, kTiles * kTileRows}, {4, kCols * 4}, {16, kTileRows});
  for (uint32_t threads : {2u, 65u})
    for (uint64_t seed : {0ull, 3ull, 12345ull})
      for (int races : {0, 1}) {
        SCOPED_TRACE(testing::Message() << threads << " threads, seed " << seed
                                        << ", races " << races);
        std::vector<float> out(source.size(), -1.0f);
        PipelineParams p = {&map, out.data()};
        const PipelineParams *pointer = &p;
        void *params[] = {&pointer};
        sieve_emu_launch_desc desc =
            makeLaunch("pipeline", pipelineKernel, params, 1, threads);
        desc.static_shared_bytes = kStageOffset + 2 * kStageBytes;
        desc.schedule_seed = seed;
        desc.check_races = races;
        LaunchResult result = runLaunch(desc);
        ASSERT_EQ(result.status, 0) << result.error;
        EXPECT_EQ(out, source);
      }
}

//===----------------------------------------------------------------------===//
// TMA feeding wgmma
//===----------------------------------------------------------------------===//

namespace {
constexpr int64_t kOperandA = 1024, kOperandB = 4096;
const char *const kFenceSite = "mbar.mlir:11:1 wgmma.fence in kernel t";
const char *const kWgmmaSite = "mbar.mlir:12:1 wgmma.mma_async in kernel t";
const char *const kCommitSite = "mbar.mlir:13:1 wgmma.commit in kernel t";
const char *const kWgmmaWaitSite = "mbar.mlir:14:1 wgmma.wait in kernel t";
const char *const kPrefetchSite = "mbar.mlir:15:1 nvgpu.tma.async.load in t";

struct WgmmaTmaParams {
  const sieve_emu_tensor_map *mapA, *mapB; // 64 x 16 and 8 x 16 bf16
  float *d;                                // 64 x 8
  int prefetchTooEarly;
};

/// A K-major descriptor with the 32-byte swizzle: 8 rows of 32 bytes, SBO
/// 256 (sieve_emu_shared_memory() is 256 KiB aligned: the offset is the
/// address).
uint64_t makeSwizzle32Descriptor(int64_t offset) {
  return (uint64_t(offset) >> 4) | (uint64_t(16 >> 4) << 16) |
         (uint64_t(256 >> 4) << 32) | (uint64_t(3) << 62);
}

uint16_t toBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  return static_cast<uint16_t>(bits >> 16); // exact for small integers
}
} // namespace

// A (64 x 16) and B (8 x 16, i.e. B^T) arrive by TMA with the 32-byte
// swizzle, exactly the K-major swizzled layout wgmma reads; all 128
// threads wait on the mbarrier and issue the product. TMA writes through
// the async proxy: no fence.proxy.async is needed even with the race check.
extern "C" void wgmmaTmaKernel(void **params) {
  const WgmmaTmaParams &p = *getParam<const WgmmaTmaParams *>(params, 0);
  uint8_t *shared = sieve_emu_shared_memory();
  uint8_t *barrier = shared;
  int64_t thread = getLinearThreadId();
  if (thread == 0)
    sieve_emu_mbarrier_init(kInitSite, barrier, 1);
  sieve_emu_barrier(kBarrierSite);
  int32_t origin[2] = {0, 0};
  if (thread == 0) {
    sieve_emu_mbarrier_arrive(kExpectSite, barrier, 64 * 32 + 8 * 32);
    sieve_emu_tma_load(kTmaSite, shared + kOperandA, p.mapA, barrier, 2,
                       origin);
    sieve_emu_tma_load(kTmaSite, shared + kOperandB, p.mapB, barrier, 2,
                       origin);
  }
  sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, 0);
  // The bug of prefetching the next A into the stage still being read: the
  // load completes while the product is in flight.
  if (p.prefetchTooEarly && thread == 0) {
    sieve_emu_mbarrier_arrive(kExpectSite, barrier, 64 * 32);
    sieve_emu_tma_load(kPrefetchSite, shared + kOperandA, p.mapA, barrier, 2,
                       origin);
  }
  uint32_t d[4] = {};
  sieve_emu_wgmma_fence(kFenceSite);
  sieve_emu_wgmma(kWgmmaSite, 8, SIEVE_EMU_TYPE_BF16, SIEVE_EMU_TYPE_F32,
                  nullptr, makeSwizzle32Descriptor(kOperandA),
                  makeSwizzle32Descriptor(kOperandB), 0, 0, 0, d);
  sieve_emu_wgmma_commit(kCommitSite);
  if (p.prefetchTooEarly)
    sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, 1);
  sieve_emu_wgmma_wait(kWgmmaWaitSite, 0);
  int t = static_cast<int>(thread);
  for (int i = 0; i < 4; ++i) {
    int row = 16 * (t / 32) + (t % 32) / 4 + 8 * ((i / 2) % 2);
    int col = 2 * (t % 4) + i % 2;
    std::memcpy(&p.d[row * 8 + col], &d[i], 4);
  }
}

TEST(EmulatorTma, FeedsWgmmaWithoutProxyFence) {
  std::vector<uint16_t> a(64 * 16), b(8 * 16);
  for (int m = 0; m < 64; ++m)
    for (int k = 0; k < 16; ++k)
      a[m * 16 + k] = toBf16(static_cast<float>((m * 3 + k) % 7 - 3));
  for (int n = 0; n < 8; ++n)
    for (int k = 0; k < 16; ++k)
      b[n * 16 + k] = toBf16(static_cast<float>((n + 2 * k) % 5 - 2));
  sieve_emu_tensor_map mapA =
      makeMap(reinterpret_cast<const uint8_t *>(a.data()), a.size() * 2, 2, 2,
              32, {16, 64}, {2, 32}, {16, 64});
  sieve_emu_tensor_map mapB =
      makeMap(reinterpret_cast<const uint8_t *>(b.data()), b.size() * 2, 2, 2,
              32, {16, 8}, {2, 32}, {16, 8});
  std::vector<float> expected(64 * 8, 0.0f);
  auto toFloat = [](uint16_t bits) {
    uint32_t word = uint32_t(bits) << 16;
    float value;
    std::memcpy(&value, &word, 4);
    return value;
  };
  for (int m = 0; m < 64; ++m)
    for (int n = 0; n < 8; ++n)
      for (int k = 0; k < 16; ++k)
        expected[m * 8 + n] += toFloat(a[m * 16 + k]) * toFloat(b[n * 16 + k]);
  for (uint64_t seed : {0ull, 9ull}) {
    std::vector<float> d(64 * 8, -1.0f);
    WgmmaTmaParams p = {&mapA, &mapB, d.data(), 0};
    const WgmmaTmaParams *pointer = &p;
    void *params[] = {&pointer};
    sieve_emu_launch_desc desc =
        makeLaunch("wgmma", wgmmaTmaKernel, params, 1, 128);
    desc.static_shared_bytes = 8192;
    desc.check_races = 1;
    desc.schedule_seed = seed;
    LaunchResult result = runLaunch(desc);
    ASSERT_EQ(result.status, 0) << result.error;
    EXPECT_EQ(d, expected);
  }

  // A load into A's bytes, issued before the product and completing while
  // it is in flight (the threads wait on the barrier before wgmma.wait).
  WgmmaTmaParams p = {&mapA, &mapB, nullptr, 1};
  std::vector<float> d(64 * 8);
  p.d = d.data();
  const WgmmaTmaParams *pointer = &p;
  void *params[] = {&pointer};
  sieve_emu_launch_desc desc =
      makeLaunch("wgmma", wgmmaTmaKernel, params, 1, 128);
  desc.static_shared_bytes = 8192;
  testing::internal::CaptureStderr();
  LaunchResult result = runLaunch(desc);
  testing::internal::GetCapturedStderr();
  EXPECT_NE(result.status, 0);
  EXPECT_CONTAINS(result.error, std::string(kPrefetchSite) +
                                    ": TMA load completing: write to shared "
                                    "memory byte 1024 while the wgmma at " +
                                    kWgmmaSite + " reads it");
  EXPECT_CONTAINS(result.error, "thread (0,0,0)");
}

//===----------------------------------------------------------------------===//
// Misuses
//===----------------------------------------------------------------------===//

namespace {
enum Misuse {
  kUseBeforeInit,
  kArriveWithNothingPending,
  kMisalignedBarrier,
  kBarrierOutsideShared,
  kCountZero,
  kInitWhileInProgress,
  kBadParity,
  kStoreToBarrier,
  kLoadFromBarrier,
  kCpAsyncToBarrier,
  kTmaOntoBarrier,
  kNullMap,
  kBadMagic,
  kRankMismatch,
  kBoxTooBig,
  kInnerNotMultipleOf16,
  kInnerExceedsSwizzle,
  kBadElementSize,
  kMisalignedDst,
  kMisalignedSwizzledDst,
  kDstOutsideShared,
  kSourceOutsideBuffer,
  kTmaBeforeInit,
  kNegativeExpectTx,
  kDeadlockExpectTooMuch,
  kDeadlockMissingArrive,
  kDeadlockNobodyCompletes,
  kDeadlockUnannouncedBytes,
  kTmaNeverWaited,
  // Not errors.
  kExpectTxSeparately,
  kBytesBeforeExpect,
  kReinitAfterPhase,
  kProducerReturnsEarly,
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

// The map of the misuse kernel: a 16 x 16 f32 matrix, boxes of 16 x 8
// (512 bytes); the barrier at 0, a second one at 8, the destination at
// 1024 of 4 KiB of shared memory.
constexpr int64_t kMisuseShared = 4096, kMisuseDst = 1024;
constexpr int32_t kMisuseBox = 512;
float misuseSource[16 * 16];

const MisuseCase kMisuseCases[] = {
    {"arrive before init", kUseBeforeInit, 1,
     "mbarrier.arrive on the mbarrier at shared-memory offset 8 before its "
     "mbarrier.init",
     nullptr, kArriveSite, "(0,0,0)"},
    {"arrival with none pending", kArriveWithNothingPending, 1,
     "mbarrier.arrive on the mbarrier at shared-memory offset 0 with no "
     "arrival pending",
     nullptr, kArriveSite, "(0,0,0)"},
    {"misaligned barrier", kMisalignedBarrier, 1,
     "misaligned mbarrier object at shared-memory offset 4", nullptr, kInitSite,
     "(0,0,0)"},
    {"barrier outside shared memory", kBarrierOutsideShared, 1,
     "is outside the block's 4096 bytes of shared memory", nullptr, kInitSite,
     "(0,0,0)"},
    {"count 0", kCountZero, 1, "mbarrier.init with count 0", nullptr, kInitSite,
     "(0,0,0)"},
    {"init while a phase is in progress", kInitWhileInProgress, 1,
     "while its phase 0 is in progress (1 of 2 arrivals pending", nullptr,
     kInitSite, "(0,0,0)"},
    {"parity 2", kBadParity, 1,
     "mbarrier.try_wait.parity with parity 2: must be 0 or 1", nullptr,
     kWaitSite, "(0,0,0)"},
    {"store to a barrier", kStoreToBarrier, 1,
     "store of 4 bytes at shared-memory offset 4 touches the mbarrier object "
     "at offset 0",
     kInitSite, kStoreSite, "(0,0,0)"},
    {"load from a barrier", kLoadFromBarrier, 1,
     "load of 16 bytes at shared-memory offset 0 touches the mbarrier object",
     nullptr, kLoadSite, "(0,0,0)"},
    {"cp.async onto a barrier", kCpAsyncToBarrier, 1,
     "cp.async destination of 16 bytes at shared-memory offset 0 touches the "
     "mbarrier object",
     nullptr, kCopySite, "(0,0,0)"},
    {"TMA onto a barrier", kTmaOntoBarrier, 1,
     "TMA load destination of 512 bytes at shared-memory offset 1024 touches "
     "the mbarrier object at offset 1280",
     nullptr, kTmaSite, "(0,0,0)"},
    {"null map", kNullMap, 1, "TMA load with a null tensor map", nullptr,
     kTmaSite, "(0,0,0)"},
    {"bad magic", kBadMagic, 1, "is not a tensor map (bad magic", nullptr,
     kTmaSite, "(0,0,0)"},
    {"rank mismatch", kRankMismatch, 1,
     "TMA load of rank 3 with a tensor map of rank 2 (rank mismatch)", nullptr,
     kTmaSite, "(0,0,0)"},
    {"box of 300 rows", kBoxTooBig, 1,
     "box dimension 1 of 300 elements: must be 1 to 256", nullptr, kTmaSite,
     "(0,0,0)"},
    {"inner box of 12 bytes", kInnerNotMultipleOf16, 1,
     "inner dimension of 12 bytes (3 elements of 4 bytes) is not a multiple "
     "of 16",
     nullptr, kTmaSite, "(0,0,0)"},
    {"inner box beyond the swizzle", kInnerExceedsSwizzle, 1,
     "inner dimension of 64 bytes exceeds the 32-byte swizzle", nullptr,
     kTmaSite, "(0,0,0)"},
    {"element of 8 bytes", kBadElementSize, 1,
     "element size of 8 bytes: must be 1, 2 or 4", nullptr, kTmaSite,
     "(0,0,0)"},
    {"destination at 1088", kMisalignedDst, 1,
     "misaligned TMA load destination: shared-memory offset 1088 is not a "
     "multiple of 128",
     nullptr, kTmaSite, "(0,0,0)"},
    {"swizzled destination at 1536", kMisalignedSwizzledDst, 1,
     "shared-memory offset 1536 is not a multiple of 1024 (8 times the "
     "swizzle bytes)",
     nullptr, kTmaSite, "(0,0,0)"},
    {"destination past the end", kDstOutsideShared, 1,
     "(a box of 512 bytes) is outside the block's 4096 bytes of shared memory",
     nullptr, kTmaSite, "(0,0,0)"},
    {"source past the buffer", kSourceOutsideBuffer, 1,
     "TMA load of the box at (0, 8) reads source bytes 512 to 1024 of the "
     "tensor map's buffer (relative to its start), outside the buffer of 1020 "
     "bytes",
     nullptr, kTmaSite, "(0,0,0)"},
    {"TMA before init", kTmaBeforeInit, 1,
     "TMA load on the mbarrier at shared-memory offset 0 before its "
     "mbarrier.init",
     nullptr, kTmaSite, "(0,0,0)"},
    {"negative expect_tx", kNegativeExpectTx, 1,
     "the transaction count must not be negative", nullptr, kExpectSite,
     "(0,0,0)"},
    {"expect_tx beyond the loads", kDeadlockExpectTooMuch, 1,
     "deadlock: no thread of the block can proceed and no TMA load is "
     "pending; this thread waits for parity 0 of the mbarrier at "
     "shared-memory offset 0 (phase 0, 0 of 1 arrivals pending, tx 16 bytes: "
     "expect_tx of 16 bytes never delivered) here",
     nullptr, kWaitSite, "(0,0,0)"},
    {"a missing arrive", kDeadlockMissingArrive, 4,
     "deadlock: no thread of the block can proceed and no TMA load is "
     "pending; this thread waits for parity 0 of the mbarrier at "
     "shared-memory offset 0 (phase 0, 1 of 4 arrivals pending, tx 0 bytes) "
     "here (and 2 other threads alike)",
     nullptr, kWaitSite, "(0,0,0)"},
    {"a phase nobody completes", kDeadlockNobodyCompletes, 2,
     "deadlock: no thread of the block can proceed and no TMA load is "
     "pending; this thread waits in a barrier here while thread (1,0,0) "
     "waits for parity 1 of the mbarrier at shared-memory offset 8 (phase 1, "
     "1 of 1 arrivals pending, tx 0 bytes) at",
     kWaitSite2, kBarrierSite, "(0,0,0)"},
    {"bytes no expect_tx announced", kDeadlockUnannouncedBytes, 1,
     "(phase 0, 1 of 1 arrivals pending, tx -512 bytes: 512 bytes delivered "
     "that no expect_tx announced) here",
     nullptr, kWaitSite, "(0,0,0)"},
    {"TMA load never waited for", kTmaNeverWaited, 2,
     "every thread of the block returned with 1 TMA loads pending: this one "
     "(512 bytes into shared-memory offset 1024, completing on the mbarrier "
     "at offset 0: phase 0, 0 of 1 arrivals pending, tx 512 bytes) was never "
     "waited for",
     nullptr, kTmaSite, "(1,0,0)"},
    {"expect_tx, then arrive", kExpectTxSeparately, 1, nullptr, nullptr,
     nullptr, nullptr},
    {"bytes before the expect_tx", kBytesBeforeExpect, 1, nullptr, nullptr,
     nullptr, nullptr},
    {"init again after a phase", kReinitAfterPhase, 1, nullptr, nullptr,
     nullptr, nullptr},
    {"producer returns before consumers", kProducerReturnsEarly, 64, nullptr,
     nullptr, nullptr, nullptr},
};
} // namespace

extern "C" void mbarrierMisuseKernel(void **params) {
  Misuse misuse = static_cast<Misuse>(getParam<int>(params, 0));
  uint8_t *shared = sieve_emu_shared_memory();
  uint8_t *barrier = shared, *barrier2 = shared + 8;
  int64_t thread = getLinearThreadId();
  sieve_emu_tensor_map map =
      makeMap(reinterpret_cast<const uint8_t *>(misuseSource),
              sizeof(misuseSource), 2, 4, 0, {16, 16}, {4, 64}, {16, 8});
  int32_t coords[3] = {0, 8, 0};
  int32_t rank = 2;
  uint8_t *dst = shared + kMisuseDst;
  alignas(16) static const uint8_t global[16] = {};

  if (misuse == kUseBeforeInit) {
    sieve_emu_mbarrier_init(kInitSite, barrier, 1);
    sieve_emu_mbarrier_arrive(kArriveSite, barrier2, 0);
  }
  if (misuse == kMisalignedBarrier)
    sieve_emu_mbarrier_init(kInitSite, shared + 4, 1);
  if (misuse == kBarrierOutsideShared)
    sieve_emu_mbarrier_init(kInitSite, shared + kMisuseShared - 4, 1);
  if (misuse == kCountZero)
    sieve_emu_mbarrier_init(kInitSite, barrier, 0);
  if (misuse == kTmaBeforeInit) {
    sieve_emu_tma_load(kTmaSite, dst, &map, barrier, rank, coords);
  }

  if (thread == 0) {
    int32_t count = misuse == kInitWhileInProgress     ? 2
                    : misuse == kDeadlockMissingArrive ? 4
                                                       : 1;
    sieve_emu_mbarrier_init(kInitSite, barrier, count);
    sieve_emu_mbarrier_init(kInitSite, barrier2, 1);
  }
  sieve_emu_barrier(kBarrierSite);

  switch (misuse) {
  case kArriveWithNothingPending:
    sieve_emu_mbarrier_arrive(kExpectSite, barrier, 16);
    sieve_emu_mbarrier_arrive(kArriveSite, barrier, 0);
    break;
  case kInitWhileInProgress:
    sieve_emu_mbarrier_arrive(kArriveSite, barrier, 0);
    sieve_emu_mbarrier_init(kInitSite, barrier, 1);
    break;
  case kBadParity:
    sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, 2);
    break;
  case kStoreToBarrier:
    sieve_emu_shared_access(kStoreSite, shared + 4, 4, 1);
    break;
  case kLoadFromBarrier:
    sieve_emu_shared_access(kLoadSite, shared, 16, 0);
    break;
  case kCpAsyncToBarrier:
    sieve_emu_cp_async(kCopySite, shared, global, 16, 16);
    break;
  case kTmaOntoBarrier:
    sieve_emu_mbarrier_init(kInitSite, dst + 256, 1);
    sieve_emu_tma_load(kTmaSite, dst, &map, barrier, rank, coords);
    break;
  case kNullMap:
    sieve_emu_tma_load(kTmaSite, dst, nullptr, barrier, rank, coords);
    break;
  case kBadMagic:
    map.magic ^= 1;
    sieve_emu_tma_load(kTmaSite, dst, &map, barrier, rank, coords);
    break;
  case kRankMismatch:
    sieve_emu_tma_load(kTmaSite, dst, &map, barrier, 3, coords);
    break;
  case kBoxTooBig:
    map.box[1] = 300;
    sieve_emu_tma_load(kTmaSite, dst, &map, barrier, rank, coords);
    break;
  case kInnerNotMultipleOf16:
    map.box[0] = 3;
    sieve_emu_tma_load(kTmaSite, dst, &map, barrier, rank, coords);
    break;
  case kInnerExceedsSwizzle:
    map.swizzle_bytes = 32;
    sieve_emu_tma_load(kTmaSite, dst, &map, barrier, rank, coords);
    break;
  case kBadElementSize:
    map.element_bytes = 8;
    map.strides[0] = 8;
    sieve_emu_tma_load(kTmaSite, dst, &map, barrier, rank, coords);
    break;
  case kMisalignedDst:
    sieve_emu_tma_load(kTmaSite, dst + 64, &map, barrier, rank, coords);
    break;
  case kMisalignedSwizzledDst:
    map.swizzle_bytes = 128;
    sieve_emu_tma_load(kTmaSite, dst + 512, &map, barrier, rank, coords);
    break;
  case kDstOutsideShared:
    sieve_emu_tma_load(kTmaSite, shared + kMisuseShared - 256, &map, barrier,
                       rank, coords);
    break;
  case kSourceOutsideBuffer:
    map.buffer_end -= 4;
    sieve_emu_tma_load(kTmaSite, dst, &map, barrier, rank, coords);
    break;
  case kNegativeExpectTx:
    sieve_emu_mbarrier_arrive(kExpectSite, barrier, -4);
    break;
  case kDeadlockExpectTooMuch:
    sieve_emu_mbarrier_arrive(kExpectSite, barrier, kMisuseBox + 16);
    sieve_emu_tma_load(kTmaSite, dst, &map, barrier, rank, coords);
    sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, 0);
    break;
  case kDeadlockMissingArrive:
    // Threads 0 to 2 arrive; thread 3 returns without arriving.
    if (thread == 3)
      return;
    sieve_emu_mbarrier_arrive(kArriveSite, barrier, 0);
    sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, 0);
    break;
  case kDeadlockNobodyCompletes:
    // Thread 1 completes phase 0 of barrier2, then waits for phase 1,
    // which nobody completes; thread 0 waits for it at a barrier.
    if (thread == 1) {
      sieve_emu_mbarrier_arrive(kArriveSite, barrier2, 0);
      sieve_emu_mbarrier_wait_parity(kWaitSite2, barrier2, 1);
    }
    sieve_emu_barrier(kBarrierSite);
    break;
  case kDeadlockUnannouncedBytes:
    sieve_emu_tma_load(kTmaSite, dst, &map, barrier, rank, coords);
    sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, 0);
    break;
  case kTmaNeverWaited:
    // Thread 1 issues a load; nobody waits for it.
    if (thread == 1) {
      sieve_emu_mbarrier_arrive(kExpectSite, barrier, kMisuseBox);
      sieve_emu_tma_load(kTmaSite, dst, &map, barrier, rank, coords);
    }
    break;
  case kExpectTxSeparately:
    sieve_emu_mbarrier_expect_tx(kExpectSite, barrier, kMisuseBox);
    sieve_emu_tma_load(kTmaSite, dst, &map, barrier, rank, coords);
    sieve_emu_mbarrier_arrive(kArriveSite, barrier, 0);
    sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, 0);
    break;
  case kBytesBeforeExpect:
    // The bytes of a load on `barrier` arrive before their expect_tx: the
    // thread waits for a second load on barrier2, issued after the first,
    // so the first completes before (tx -512); the arrive.expect_tx then
    // balances it and completes the phase.
    sieve_emu_mbarrier_arrive(kExpectSite, barrier2, kMisuseBox);
    sieve_emu_tma_load(kTmaSite, dst, &map, barrier, rank, coords);
    sieve_emu_tma_load(kTmaSite, dst + kMisuseBox, &map, barrier2, rank,
                       coords);
    sieve_emu_mbarrier_wait_parity(kWaitSite, barrier2, 0);
    sieve_emu_mbarrier_arrive(kExpectSite, barrier, kMisuseBox);
    sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, 0);
    if (std::memcmp(dst, dst + kMisuseBox, kMisuseBox) != 0)
      sieve_emu_fail(kLoadSite, "the two loads differ", 0, 0);
    break;
  case kReinitAfterPhase:
    sieve_emu_mbarrier_arrive(kArriveSite, barrier, 0);
    sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, 0);
    sieve_emu_mbarrier_init(kInitSite, barrier, 2);
    sieve_emu_mbarrier_arrive(kArriveSite, barrier, 0);
    sieve_emu_mbarrier_arrive(kArriveSite, barrier, 0);
    sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, 0);
    break;
  case kProducerReturnsEarly:
    // Thread 0 issues the load and returns; the others wait for it.
    if (thread == 0) {
      sieve_emu_mbarrier_arrive(kExpectSite, barrier, kMisuseBox);
      sieve_emu_tma_load(kTmaSite, dst, &map, barrier, rank, coords);
      return;
    }
    sieve_emu_mbarrier_wait_parity(kWaitSite, barrier, 0);
    if (std::memcmp(dst, misuseSource + 8 * 16, kMisuseBox) != 0)
      sieve_emu_fail(kLoadSite, "wrong TMA data", 0, 0);
    break;
  default:
    break;
  }
}

// Each misuse ends the launch with a one-line error naming the operation
// at fault and the thread; the correct uses next to them work.
TEST(EmulatorMbarrierErrors, Misuses) {
  for (std::size_t i = 0; i < sizeof(misuseSource) / 4; ++i)
    misuseSource[i] = static_cast<float>(i);
  for (const MisuseCase &misuseCase : kMisuseCases) {
    SCOPED_TRACE(misuseCase.name);
    int misuse = misuseCase.misuse;
    void *params[] = {&misuse};
    sieve_emu_launch_desc desc = makeLaunch("misuse", mbarrierMisuseKernel,
                                            params, 1, misuseCase.threads);
    desc.static_shared_bytes = kMisuseShared;
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
