//===- WarpgroupMma.h - The Hopper matrix-product layer ---------*- C++ -*-===//
//
// The sm_90a twin of WarpMma's two shared-memory products: `wgmma`
// (wgmma.mma_async m64nNk16 f16/bf16 into f32, and for scores m64nNk32 s8
// into s32 or e4m3 into f32) with A from registers and B read by the
// tensor cores from shared memory through a matrix descriptor.
// Four consecutive warps form a warpgroup whose 64 rows are their four
// 16-row warp tiles, and the per-warp register layouts are exactly
// WarpMma's: A is what WarpMma::loadA and accToA give, and accumulator
// entry i of a thread is WarpMma's accIndex (the ISA's "Register Fragments"
// of wgmma are mma.sync's, tiled along N, and 8-bit A is mma.sync
// m16n8k32's; docs/hopper-design.md §2.1). So a
// kernel written against WarpMma switches instruction at its two product
// calls and in the layout of the tiles those read, nothing else.
//
// B tiles are SwizzledTiles: the swizzle that TMA writes and that makes
// wgmma's reads conflict-free (§2.2). mmaABt and mmaAB issue a group of
// products (fence, products, commit) and retire it (wait 0); issueABt and
// issueAB only issue theirs, so that other work (a softmax) runs while the
// tensor cores multiply, until retire waits. Retired results pass through
// a register fence, so that no use is scheduled above the wait.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_KERNELS_WARPGROUPMMA_H
#define SIEVE_CODEGEN_KERNELS_WARPGROUPMMA_H

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir {
namespace sieve {

/// Tiles of `rows` x `cols` elements of `elementBytes` bytes, one per stage,
/// in 1024-byte aligned shared memory, as wgmma's swizzled layouts have
/// them: a row of the tile is cut into boxes of S bytes, S = min(128, row
/// bytes) (the swizzle span: 128, 64 or 32), each box `rows` rows of S
/// bytes, the 16-byte chunk c of row r at S r + 16 c with the swizzle
/// applied to that offset (chunk bits 4-6 XOR bits 7-9; for S = 128, chunk
/// c ^ r % 8). The same bytes serve as a K-major operand (rows are N, e.g.
/// K for S = Q K^T) and, for 16-bit elements, as an MN-major one (rows are
/// K, e.g. V for O = P V).
struct SwizzledTiles {
  /// memref<stages * rows * cols x T, workgroup>, 1024-byte aligned.
  Value memref;
  int64_t rows = 0, cols = 0, elementBytes = 2;

  static constexpr int64_t kAlignment = 1024;
  static int64_t getStageBytes(int64_t rows, int64_t cols,
                               int64_t elementBytes) {
    return rows * cols * elementBytes;
  }
  int64_t getStageBytes() const {
    return getStageBytes(rows, cols, elementBytes);
  }
  /// The swizzle span S in bytes, and the bytes of one box.
  int64_t getSwizzleBytes() const;
  int64_t getBoxBytes() const { return rows * getSwizzleBytes(); }
  /// The index into `memref` of element (row, col) of stage `stage`, for a
  /// col that starts a 16-byte chunk (writers copy whole chunks).
  Value chunkIndex(ImplicitLocOpBuilder &b, Value stage, Value row,
                   Value col) const;
  /// The shared-memory address of stage `stage`'s box `box`, row `row` (a
  /// multiple of 8), as an i64.
  Value address(ImplicitLocOpBuilder &b, Value stage, int64_t box,
                int64_t row) const;
};

class WarpgroupMma {
public:
  /// `elementType` is f16 or bf16, or, for mmaABt only, i8 (s32
  /// accumulators) or f8E4M3FN (f32 accumulators; its bytes travel as i8).
  WarpgroupMma(ImplicitLocOpBuilder &b, Type elementType);

  /// The depth (K) of one instruction: 16, or 32 for 8-bit operands.
  int64_t getDepth() const { return depth; }

  /// acc (64 x n per warpgroup, WarpMma's layout per warp) += A * B^T, with
  /// A (64 x k) in registers (WarpMma::loadA of the same element type: one
  /// value per chunk of the depth) and B (n x k) rows row0.. of `tiles`'
  /// stage `stage`. n is a multiple of 8 up to 256 (of 16 for i8), k of
  /// the depth.
  void mmaABt(SmallVector<Value> &acc, ArrayRef<Value> a,
              const SwizzledTiles &tiles, Value stage, int64_t row0, int64_t n,
              int64_t k);
  /// acc (64 x n) += A * B, A (64 x k) in registers (WarpMma::accToA), B
  /// (k x n) rows row0.. of `tiles`' stage `stage`; 16-bit types only.
  void mmaAB(SmallVector<Value> &acc, ArrayRef<Value> a,
             const SwizzledTiles &tiles, Value stage, int64_t row0, int64_t n,
             int64_t k);

  /// mmaABt and mmaAB without the wait: the products run as one committed
  /// group, and `acc` must not be used (nor A's registers written) until
  /// retire() has waited for the group.
  void issueABt(SmallVector<Value> &acc, ArrayRef<Value> a,
                const SwizzledTiles &tiles, Value stage, int64_t row0,
                int64_t n, int64_t k);
  void issueAB(SmallVector<Value> &acc, ArrayRef<Value> a,
               const SwizzledTiles &tiles, Value stage, int64_t row0, int64_t n,
               int64_t k);
  /// Waits until at most `pendingGroups` of the warpgroup's newest groups
  /// are in flight, and fences `acc`, the results of a group issued before
  /// them.
  void retire(SmallVector<Value> &acc, int64_t pendingGroups);

private:
  /// Issues one group of products acc = sum over steps of A_s * B_s (B_s
  /// by descriptor); `transB` marks MN-major B.
  void issue(SmallVector<Value> &acc, ArrayRef<Value> a,
             ArrayRef<Value> descriptors, int64_t n, bool transB);
  /// The descriptor of a swizzled operand at `address`.
  Value descriptor(Value address, int64_t swizzleBytes, int64_t leadingBytes,
                   int64_t strideBytes);

  ImplicitLocOpBuilder &b;
  Type elementType;
  int64_t depth;
};

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_KERNELS_WARPGROUPMMA_H
