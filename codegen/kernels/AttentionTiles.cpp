//===- AttentionTiles.cpp - The tile table of the attention kernels -------===//
//
// Why these numbers (docs/kernels.md has the full discussion):
//  * 16 query rows per warp is one mma.sync M; 4 warps give 64-row tiles,
//    which keeps a band of w keys at w + 64 + 63 keys of work per row tile.
//  * 64 keys per tile: 8 n8 tiles of S per warp, 4 k16 chunks of P V; the
//    accumulators of D = 128 (64 f32 of O, 32 of S, 32 registers of Q) fit
//    in 255 registers without spilling.
//  * D = 256 halves the key tile and keeps Q in shared memory: O alone is
//    128 registers (and the band kernel still spills a little on sm_80).
//  * CTAs per SM: ptxas, left alone, trades a few spilled registers for
//    occupancy; these are the highest occupancies at which it spills
//    nothing (docs/kernels.md lists the registers it then uses).
//  * Shared memory (2-byte elements, rows padded by 16 bytes): D = 64
//    46 KiB, D = 128 85 KiB, D = 256 99 KiB: every target's per-block limit
//    (sm_86/sm_89: 99 KiB, sm_80: 163 KiB, sm_90: 227 KiB).
//  * The entries are the same on every target because the instruction is
//    the same (mma.sync), except that on sm_90a the band and global-rows
//    kernels of D = 64 and 128 use wgmma (WarpgroupMma): the 64 rows of a
//    CTA are one warpgroup, K/V tiles are unpadded and swizzled instead.
//
//===----------------------------------------------------------------------===//

#include "codegen/kernels/AttentionTiles.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

using namespace mlir;
using namespace mlir::sieve;

namespace {
struct TableEntry {
  const char *targets;
  AttentionTiles tiles;
};
} // namespace

// headDim, blockM, blockN, warps, stages, queryInRegisters (exact or i8
// scores, f8E4M3FN scores), decodeRows, decodeSplits,
// globalRowBlocksPerSplit, warpgroupMma, CTAs per SM of the band, decoding
// and global-rows kernels
static const TableEntry kTable[] = {
    {"sm_80 sm_86 sm_89 sm_90",
     {64, 64, 64, 4, 2, true, true, 16, 16, 8, false, 2, 4, 3}},
    {"sm_80 sm_86 sm_89 sm_90",
     {128, 64, 64, 4, 2, true, false, 16, 16, 8, false, 2, 3, 2}},
    {"sm_80 sm_86 sm_89 sm_90 sm_90a",
     {256, 64, 32, 4, 2, false, false, 16, 16, 16, false, 1, 1, 1}},
    // sm_90a: products by wgmma, warp-specialised: 128 query rows in two
    // consumer warpgroups (warps), a producer warpgroup besides loading
    // three stages ahead, one CTA per SM (setmaxnreg shares its registers
    // out). The decoding kernel keeps mma.sync and two stages.
    {"sm_90a", {64, 128, 64, 8, 3, true, true, 16, 16, 8, true, 1, 4, 1}},
    {"sm_90a", {128, 128, 64, 8, 3, true, true, 16, 16, 8, true, 1, 3, 1}},
};

std::optional<AttentionTiles>
mlir::sieve::lookupAttentionTiles(llvm::StringRef target, int64_t headDim) {
  for (const TableEntry &entry : kTable) {
    llvm::SmallVector<llvm::StringRef> targets;
    llvm::StringRef(entry.targets).split(targets, ' ');
    if (entry.tiles.headDim == headDim && llvm::is_contained(targets, target))
      return entry.tiles;
  }
  return std::nullopt;
}
