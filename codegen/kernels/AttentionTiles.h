//===- AttentionTiles.h - Tile sizes of the attention kernels ---*- C++ -*-===//
//
// The one place where the tensor-core attention kernels get their sizes:
// a table indexed by target and head dimension (docs/kernels.md explains
// each entry and lists the registers and shared memory ptxas reports for
// it). A shape without an entry (another head dimension, f32, a value head
// dimension different from the key's) is compiled by the simple SIMT
// kernel instead.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_KERNELS_ATTENTIONTILES_H
#define SIEVE_CODEGEN_KERNELS_ATTENTIONTILES_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace mlir {
namespace sieve {

struct AttentionTiles {
  /// The head dimension (of queries, keys and values) the entry is for.
  int64_t headDim;
  /// Query rows per CTA of the band kernel (16 per warp) and keys per K/V
  /// tile.
  int64_t blockM, blockN;
  /// The warps that own query rows (with warpgroupMma, the consumer warps;
  /// the band and global-rows kernels add a producer warpgroup).
  int64_t warps;
  /// K/V tiles in flight in shared memory with warpgroupMma (the
  /// producer's lead); the cp.async pipelines of the other kernels
  /// double-buffer, and their entries say 2.
  int64_t stages;
  /// Whether each warp keeps its query rows in registers for the whole
  /// loop (else it reloads them from shared memory for every tile): with
  /// exact or i8 scores (whose int8 Q takes half the registers), and in the
  /// band and global-rows kernels with f8E4M3FN scores (the decoding
  /// kernel, with its 16 rows, follows the first column).
  bool queryInRegisters;
  bool queryInRegistersF8Scores;
  /// Query rows per CTA of the split-KV decoding kernel (the warps split the
  /// keys of each tile instead of the rows), and the number of key splits it
  /// aims for.
  int64_t decodeRows;
  int64_t decodeSplits;
  /// Key blocks per CTA of the split-K kernel of global query rows.
  int64_t globalRowBlocksPerSplit;
  /// Whether the band and global-rows kernels compute their products with
  /// wgmma (sm_90a: WarpgroupMma, K/V tiles swizzled and loaded by a
  /// producer warpgroup) instead of mma.sync; warps is then a multiple of
  /// 4.
  bool warpgroupMma;
  /// CTAs per SM that ptxas keeps registers low enough for (.minnctapersm)
  /// in the band, decoding and global-rows kernels: the highest occupancy at
  /// which none of them spills.
  int64_t bandBlocksPerSm, decodeBlocksPerSm, globalRowsBlocksPerSm;

  int64_t threads() const { return warps * 32; }
  /// Elements per shared-memory row: the head dimension plus 8 elements
  /// (16 bytes) of padding, so that the 8 rows an ldmatrix reads, and the
  /// rows cp.async writes, start in 8 different 4-bank groups.
  int64_t pitch() const { return headDim + 8; }
};

/// The table's entry for `target` (sm_80 ... sm_90a) and `headDim`, if any.
std::optional<AttentionTiles> lookupAttentionTiles(llvm::StringRef target,
                                                   int64_t headDim);

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_KERNELS_ATTENTIONTILES_H
