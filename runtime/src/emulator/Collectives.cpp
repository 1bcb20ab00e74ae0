//===- Collectives.cpp - Warp collectives of the emulator ABI -------------===//
//
// gpu.shuffle, votes, nvgpu.ldmatrix and nvgpu.mma.sync. Every lane of a warp
// that has not returned must reach the same site with the same uniform
// arguments; each lane leaves its inputs and result pointers in its slot
// and blocks, and the last lane to arrive computes every lane's result and
// wakes the others. Inputs are only read once all lanes are in, so results
// never depend on the schedule.
//
//===----------------------------------------------------------------------===//

#include "EmulatorInternal.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace sieve;
using namespace sieve::emu;

namespace {

/// What a lane reads from a lane that has returned or lies past the end of
/// a partial last warp (the GPU gives an undefined value): NaN as f32.
constexpr uint32_t kPoisonWord = 0xFFFFFFFFu;

const char *getCollectiveName(CollectiveKind kind) {
  switch (kind) {
  case CollectiveKind::Shuffle:
    return "shuffle";
  case CollectiveKind::Vote:
    return "vote";
  case CollectiveKind::LdMatrix:
    return "ldmatrix";
  case CollectiveKind::MmaSync:
    return "mma.sync";
  }
  return "collective";
}

/// A lane's call of a collective: where, what, and the arguments all lanes
/// must agree on (named for the message when they do not).
struct CollectiveCall {
  const char *site;
  CollectiveKind kind;
  int32_t uniform[3];
  const char *uniformNames[3];
};

/// Joins the calling lane (its slot already filled) to its warp's pending
/// collective. Returns the warp if the caller is the last lane to arrive; it
/// must then compute every arrived lane's result and call finish(). Returns
/// null once another lane has done so.
WarpState *arrive(ThreadState &thread, const CollectiveCall &call) {
  Worker &worker = *thread.worker;
  WarpState &warp = worker.warps[thread.getWarp()];
  uint32_t lane = thread.getLane();
  if (warp.arrived == 0) {
    warp.site = call.site;
    warp.kind = call.kind;
    std::memcpy(warp.uniform, call.uniform, sizeof(warp.uniform));
  } else {
    if (warp.kind != call.kind || !isSameSite(warp.site, call.site))
      worker.fail(thread, call.site,
                  "divergent warp collective: lane %u reaches this %s while "
                  "%u other lanes of its warp wait in the %s at %s",
                  lane, getCollectiveName(call.kind), warp.arrived,
                  getCollectiveName(warp.kind), warp.site ? warp.site : "?");
    for (int i = 0; i < 3; ++i)
      if (call.uniformNames[i] && call.uniform[i] != warp.uniform[i])
        worker.fail(thread, call.site,
                    "divergent warp collective: lane %u passes %s %d to this "
                    "%s, other lanes %d",
                    lane, call.uniformNames[i], call.uniform[i],
                    getCollectiveName(call.kind), warp.uniform[i]);
  }
  warp.lanes[lane].arrived = true;
  if (++warp.arrived == warp.liveLanes)
    return &warp;
  thread.status = ThreadStatus::InCollective;
  thread.waitSite = call.site;
  worker.suspend();
  return nullptr;
}

/// Ends the collective `thread` completed: wakes the other lanes.
void finish(ThreadState &thread, WarpState &warp) {
  Worker &worker = *thread.worker;
  uint32_t firstThread = thread.getWarp() * kWarpSize;
  for (uint32_t lane = 0; lane < warp.numLanes; ++lane) {
    if (!warp.lanes[lane].arrived)
      continue;
    warp.lanes[lane].arrived = false;
    if (lane != thread.getLane())
      worker.wake(worker.threads[firstThread + lane]);
  }
  warp.arrived = 0;
  ++worker.collectives;
}

/// ldmatrix and mma.sync are .sync.aligned: all 32 lanes take part.
void requireFullWarp(ThreadState &thread, const char *site, const char *name) {
  const WarpState &warp = thread.worker->warps[thread.getWarp()];
  if (warp.numLanes != kWarpSize || warp.liveLanes != kWarpSize)
    thread.worker->fail(thread, site,
                        "%s needs all 32 lanes of the warp; the block has %u "
                        "of them and %u have not returned",
                        name, warp.numLanes, warp.liveLanes);
}

//===----------------------------------------------------------------------===//
// mma.sync fragments
//===----------------------------------------------------------------------===//

/// The register counts of a shape (PTX ISA, "Matrix Fragments for mma.m16n8k16
/// with floating point type", "Matrix Fragments for mma.m16n8k8", "Matrix
/// Fragments for mma.m16n8k32"): every register holds `perRegister` elements
/// of A or B, lowest bits first; C and D are four 32-bit registers.
struct MmaShape {
  int k;
  int aRegisters;
  int bRegisters;
  int perRegister;
};

MmaShape getMmaShape(int32_t shape) {
  switch (shape) {
  case SIEVE_EMU_MMA_M16N8K8:
    return {8, 2, 1, 2};
  case SIEVE_EMU_MMA_M16N8K32:
    return {32, 4, 2, 4};
  default:
    return {16, 4, 2, 2};
  }
}

// Fragment layouts. With lane l, g = l >> 2 ("groupID"), t = l % 4
// ("threadID_in_group"), register r and element q within it (element index
// i = perRegister * r + q in the ISA's a_i / b_i / c_i numbering):
//
// m16n8k16, .f16/.bf16 (ISA "Matrix Fragments for mma.m16n8k16 with floating
// point type"), two elements per register:
//   A (16x16, 4 regs): row g + 8 * (r % 2), col 2t + q + 8 * (r / 2)
//   B (16x8,  2 regs): k 2t + q + 8r,       n g
// m16n8k8, .f16/.bf16 (ISA "Matrix Fragments for mma.m16n8k8"):
//   A (16x8,  2 regs): row g + 8r,          col 2t + q
//                      (a0, a1: row g; a2, a3: row g + 8; col 2t + (i & 1))
//   B (8x8,   1 reg):  k 2t + q,            n g
// m16n8k32, .s8 and .e4m3 (ISA "Matrix Fragments for mma.m16n8k32"), four
// elements per register:
//   A (16x32, 4 regs): row g + 8 * (r % 2), col 4t + q + 16 * (r / 2)
//                      (row g for a0..a3 and a8..a11, else g + 8;
//                       col 4t + (i & 3), plus 16 for i >= 8)
//   B (32x8,  2 regs): k 4t + q + 16r,      n g
//                      (k 4t + (i & 3), plus 16 for i >= 4)
// C and D of every shape (.f32 or .s32, one element per register):
//   row g + 8 * (r / 2), col 2t + r % 2
//
// All of them are one rule, A and B being made of 8-row by 16-byte tiles
// (as MLIR's NVGPU MMA utilities model them): A's register r is tile
// (r % 2, r / 2) of A, B's register r is tile r of B's columns.

int getARow(int lane, int r) { return (lane >> 2) + 8 * (r % 2); }
int getACol(int lane, int r, int q, int perRegister) {
  return perRegister * (lane % 4) + q + 4 * perRegister * (r / 2);
}
int getBRow(int lane, int r, int q, int perRegister) {
  return perRegister * (lane % 4) + q + 4 * perRegister * r;
}
int getBCol(int lane) { return lane >> 2; }
int getCRow(int lane, int r) { return (lane >> 2) + 8 * (r / 2); }
int getCCol(int lane, int r) { return 2 * (lane % 4) + r % 2; }

/// An f8E4M3FN value: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no
/// infinities, S.1111.111 is NaN.
float e4m3ToFloat(uint32_t bits8) {
  int exponent = (bits8 >> 3) & 0xF, mantissa = bits8 & 7;
  float magnitude;
  if (exponent == 15 && mantissa == 7)
    magnitude = std::numeric_limits<float>::quiet_NaN();
  else if (exponent == 0)
    magnitude = std::ldexp(static_cast<float>(mantissa), -9);
  else
    magnitude = std::ldexp(static_cast<float>(8 + mantissa), exponent - 10);
  return (bits8 & 0x80) ? -magnitude : magnitude;
}

float bitsToFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

uint32_t floatToBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  return bits;
}

/// D = A * B + C for the whole warp. Products of f16/bf16/e4m3 are exact in
/// f32 (at most 22 significant bits) and are added in ascending k, each sum
/// rounded to f32; the library is built with -ffp-contract=off so that no
/// fused multiply-add changes the rounding. s8 sums wrap as s32.
void computeMma(const WarpState &warp, int32_t shape, int32_t abType) {
  MmaShape dims = getMmaShape(shape);
  bool isInteger = abType == SIEVE_EMU_TYPE_S8;
  float aFloat[16][32], bFloat[32][8];
  int32_t aInt[16][32], bInt[32][8];
  uint32_t c[16][8], d[16][8];
  int bitsPerElement = 32 / dims.perRegister;
  uint32_t elementMask = (1u << bitsPerElement) - 1;
  for (int lane = 0; lane < static_cast<int>(kWarpSize); ++lane) {
    const LaneSlot &slot = warp.lanes[lane];
    for (int r = 0; r < dims.aRegisters; ++r)
      for (int q = 0; q < dims.perRegister; ++q) {
        uint32_t bits = (slot.a[r] >> (bitsPerElement * q)) & elementMask;
        int row = getARow(lane, r), col = getACol(lane, r, q, dims.perRegister);
        if (isInteger)
          aInt[row][col] = static_cast<int8_t>(bits);
        else
          aFloat[row][col] = getOperandValue(bits, abType);
      }
    for (int r = 0; r < dims.bRegisters; ++r)
      for (int q = 0; q < dims.perRegister; ++q) {
        uint32_t bits = (slot.b[r] >> (bitsPerElement * q)) & elementMask;
        int k = getBRow(lane, r, q, dims.perRegister), n = getBCol(lane);
        if (isInteger)
          bInt[k][n] = static_cast<int8_t>(bits);
        else
          bFloat[k][n] = getOperandValue(bits, abType);
      }
    for (int r = 0; r < 4; ++r)
      c[getCRow(lane, r)][getCCol(lane, r)] = slot.c[r];
  }
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j) {
      if (isInteger) {
        uint32_t sum = c[i][j];
        for (int k = 0; k < dims.k; ++k)
          sum += static_cast<uint32_t>(aInt[i][k] * bInt[k][j]);
        d[i][j] = sum;
      } else {
        float sum = bitsToFloat(c[i][j]);
        for (int k = 0; k < dims.k; ++k) {
          float product = aFloat[i][k] * bFloat[k][j];
          sum = sum + product;
        }
        d[i][j] = floatToBits(sum);
      }
    }
  // Written only now: a lane's D may be its own C.
  for (int lane = 0; lane < static_cast<int>(kWarpSize); ++lane)
    for (int r = 0; r < 4; ++r)
      warp.lanes[lane].d[r] = d[getCRow(lane, r)][getCCol(lane, r)];
}

bool isSupportedMma(int32_t shape, int32_t abType, int32_t cdType) {
  switch (shape) {
  case SIEVE_EMU_MMA_M16N8K16:
  case SIEVE_EMU_MMA_M16N8K8:
    return (abType == SIEVE_EMU_TYPE_F16 || abType == SIEVE_EMU_TYPE_BF16) &&
           cdType == SIEVE_EMU_TYPE_F32;
  case SIEVE_EMU_MMA_M16N8K32:
    return (abType == SIEVE_EMU_TYPE_S8 && cdType == SIEVE_EMU_TYPE_S32) ||
           (abType == SIEVE_EMU_TYPE_E4M3 && cdType == SIEVE_EMU_TYPE_F32);
  default:
    return false;
  }
}

} // namespace

float sieve::emu::getOperandValue(uint32_t bits, int32_t type) {
  switch (type) {
  case SIEVE_EMU_TYPE_F16:
    return halfToFloat(static_cast<uint16_t>(bits));
  case SIEVE_EMU_TYPE_E4M3:
    return e4m3ToFloat(bits);
  default:
    return bfloat16ToFloat(static_cast<uint16_t>(bits));
  }
}

extern "C" {

uint32_t sieve_emu_shuffle(const char *site, int32_t mode, uint32_t value,
                           int32_t offset, int32_t width, int32_t *valid) {
  ThreadState &thread = requireCurrentThread("sieve_emu_shuffle");
  Worker &worker = *thread.worker;
  if (mode < 0 || mode > 3)
    worker.fail(thread, site,
                "invalid shuffle mode %d: 0 (xor), 1 (up), 2 (down) or 3 (idx)",
                mode);
  if (width < 1 || width > 32 || (width & (width - 1)) != 0)
    worker.fail(thread, site,
                "invalid shuffle width %d: must be a power of two <= 32",
                width);
  uint32_t result = 0;
  int32_t isValid = 0;
  LaneSlot &slot = worker.warps[thread.getWarp()].lanes[thread.getLane()];
  slot.value = value;
  slot.offset = offset;
  slot.result = &result;
  slot.valid = &isValid;
  WarpState *warp = arrive(thread, {site,
                                    CollectiveKind::Shuffle,
                                    {mode, width, 0},
                                    {"mode", "width", nullptr}});
  if (warp) {
    // The warp is cut into segments of `width` lanes; a lane's source is
    // computed from its position in its segment and must lie in the same
    // segment, else it keeps its own value and gets valid = 0 (gpu.shuffle;
    // PTX shfl.sync with the segment mask CUDA's width sets).
    for (uint32_t lane = 0; lane < warp->numLanes; ++lane) {
      LaneSlot &laneSlot = warp->lanes[lane];
      if (!laneSlot.arrived)
        continue;
      int64_t base = lane & ~static_cast<uint32_t>(width - 1);
      int64_t position = lane & static_cast<uint32_t>(width - 1);
      int64_t source = 0;
      switch (mode) {
      case 0:
        source = position ^
                 static_cast<int64_t>(static_cast<uint32_t>(laneSlot.offset));
        break;
      case 1:
        source = position - laneSlot.offset;
        break;
      case 2:
        source = position + laneSlot.offset;
        break;
      default:
        source = laneSlot.offset;
        break;
      }
      if (source < 0 || source >= width) {
        *laneSlot.result = laneSlot.value;
        *laneSlot.valid = 0;
        continue;
      }
      uint32_t sourceLane = static_cast<uint32_t>(base + source);
      *laneSlot.result =
          sourceLane < warp->numLanes && warp->lanes[sourceLane].arrived
              ? warp->lanes[sourceLane].value
              : kPoisonWord;
      *laneSlot.valid = 1;
    }
    finish(thread, *warp);
  }
  if (valid)
    *valid = isValid;
  return result;
}

uint32_t sieve_emu_vote(const char *site, int32_t kind, int32_t predicate) {
  ThreadState &thread = requireCurrentThread("sieve_emu_vote");
  Worker &worker = *thread.worker;
  if (kind < 0 || kind > 2)
    worker.fail(thread, site,
                "invalid vote kind %d: 0 (any), 1 (all) or 2 (ballot)", kind);
  uint32_t result = 0;
  LaneSlot &slot = worker.warps[thread.getWarp()].lanes[thread.getLane()];
  slot.value = predicate != 0;
  slot.result = &result;
  WarpState *warp = arrive(
      thread,
      {site, CollectiveKind::Vote, {kind, 0, 0}, {"kind", nullptr, nullptr}});
  if (warp) {
    // Lanes that returned, or lie past a partial last warp, do not vote.
    uint32_t ballot = 0, arrivedMask = 0;
    for (uint32_t lane = 0; lane < warp->numLanes; ++lane) {
      if (!warp->lanes[lane].arrived)
        continue;
      arrivedMask |= 1u << lane;
      if (warp->lanes[lane].value)
        ballot |= 1u << lane;
    }
    uint32_t answer = kind == 2   ? ballot
                      : kind == 0 ? uint32_t(ballot != 0)
                                  : uint32_t(ballot == arrivedMask);
    for (uint32_t lane = 0; lane < warp->numLanes; ++lane)
      if (warp->lanes[lane].arrived)
        *warp->lanes[lane].result = answer;
    finish(thread, *warp);
  }
  return result;
}

void sieve_emu_ldmatrix(const char *site, const void *row, int32_t num_matrices,
                        int32_t transpose, uint32_t *fragment) {
  ThreadState &thread = requireCurrentThread("sieve_emu_ldmatrix");
  Worker &worker = *thread.worker;
  if (num_matrices != 1 && num_matrices != 2 && num_matrices != 4)
    worker.fail(thread, site, "ldmatrix of %d matrices: must be 1, 2 or 4",
                num_matrices);
  requireFullWarp(thread, site, "ldmatrix");
  uint32_t lane = thread.getLane();
  // Only the lanes that give row addresses are checked; the others' `row`
  // is not read.
  if (lane < 8u * static_cast<uint32_t>(num_matrices)) {
    if (!worker.isInSharedMemory(row, 16))
      worker.fail(thread, site,
                  "ldmatrix row address %p of lane %u is outside the "
                  "block's shared memory",
                  row, lane);
    uint64_t offset = worker.getSharedOffset(row);
    if (offset % 16 != 0)
      worker.fail(thread, site,
                  "misaligned ldmatrix row address: lane %u gives "
                  "shared-memory offset %llu, not a multiple of 16",
                  lane, static_cast<unsigned long long>(offset));
    worker.checkNotMbarrier(thread, site, offset, 16, "ldmatrix row read");
  }
  LaneSlot &slot = worker.warps[thread.getWarp()].lanes[lane];
  slot.row = static_cast<const uint8_t *>(row);
  slot.fragment = fragment;
  int32_t isTransposed = transpose != 0;
  WarpState *warp = arrive(thread, {site,
                                    CollectiveKind::LdMatrix,
                                    {num_matrices, isTransposed, 0},
                                    {"num_matrices", "transpose", nullptr}});
  if (!warp)
    return;
  // Matrix i's row r comes from the address lane 8i + r gives.
  uint16_t matrices[4][8][8];
  uint32_t firstThread = thread.getWarp() * kWarpSize;
  for (int i = 0; i < num_matrices; ++i)
    for (int r = 0; r < 8; ++r) {
      const uint8_t *address = warp->lanes[8 * i + r].row;
      if (worker.checkRaces)
        worker.checkSharedAccess(worker.threads[firstThread + 8 * i + r], site,
                                 worker.getSharedOffset(address), 16, false);
      std::memcpy(matrices[i][r], address, 16);
    }
  // Lane l gets M_i[l / 4][2(l % 4) + {0, 1}], or with .trans
  // M_i[2(l % 4) + {0, 1}][l / 4], low half first (PTX ISA "Warp-level
  // matrix load instruction: ldmatrix").
  for (uint32_t l = 0; l < kWarpSize; ++l) {
    uint32_t g = l / 4, t = l % 4;
    for (int i = 0; i < num_matrices; ++i) {
      uint32_t low =
          isTransposed ? matrices[i][2 * t][g] : matrices[i][g][2 * t];
      uint32_t high =
          isTransposed ? matrices[i][2 * t + 1][g] : matrices[i][g][2 * t + 1];
      warp->lanes[l].fragment[i] = low | high << 16;
    }
  }
  finish(thread, *warp);
}

void sieve_emu_mma_sync(const char *site, int32_t shape, int32_t ab_type,
                        int32_t cd_type, const uint32_t *a, const uint32_t *b,
                        const uint32_t *c, uint32_t *d) {
  ThreadState &thread = requireCurrentThread("sieve_emu_mma_sync");
  Worker &worker = *thread.worker;
  if (!isSupportedMma(shape, ab_type, cd_type))
    worker.fail(thread, site,
                "unsupported mma.sync: shape %d with A/B type %d and C/D type "
                "%d; supported are m16n8k16 and m16n8k8 with f16 or bf16 into "
                "f32, and m16n8k32 with s8 into s32",
                shape, ab_type, cd_type);
  requireFullWarp(thread, site, "mma.sync");
  LaneSlot &slot = worker.warps[thread.getWarp()].lanes[thread.getLane()];
  slot.a = a;
  slot.b = b;
  slot.c = c;
  slot.d = d;
  WarpState *warp = arrive(thread, {site,
                                    CollectiveKind::MmaSync,
                                    {shape, ab_type, cd_type},
                                    {"shape", "A/B type", "C/D type"}});
  if (!warp)
    return;
  computeMma(*warp, shape, ab_type);
  finish(thread, *warp);
}

} // extern "C"
