//===- WarpMma.h - The matrix-product instruction layer ---------*- C++ -*-===//
//
// The attention kernels (AttentionKernels.cpp) are written against this
// class and never name a tensor-core instruction themselves: their
// structure (tiling, the walk over key blocks, the online softmax, the
// epilogue) stays the same when the instruction changes. This is the layer
// for `mma.sync.m16n8k16` (sm_80 and newer, f16 and bf16 operands, f32
// accumulators) and, for S = Q K^T with 8-bit queries and keys,
// `mma.sync.m16n8k32` (s8 operands with s32 accumulators, or e4m3 operands
// with f32 accumulators on sm_89 and newer), fed from shared
// memory by `ldmatrix`; WarpgroupMma (WarpgroupMma.h) is its sm_90a twin
// for the two shared-memory products (wgmma from shared-memory
// descriptors), with the same register layouts.
//
// What the kernels see:
//  * a warp owns a tile of kRows (16) rows; each thread of it holds
//    kRowSlots (2) of those rows (rowInTile(slot)), and of an accumulator of
//    16 x N f32 values the N/4 entries (n8, slot, c) at column
//    colInTile(n8, c), stored in a flat list at accIndex(n8, slot, c);
//  * loadA: the A operand (16 x K, row-major in shared memory) into
//    registers;
//  * mmaABt: acc += A * B^T with B (N x K) row-major in shared memory
//    (S = Q K^T with K as stored);
//  * mmaAB: acc += A * B with B (K x N) row-major in shared memory
//    (O += P V with V as stored);
//  * accToA: an accumulator converted to the A operand of the next product
//    (P stays in registers between Q K^T and P V);
//  * rowReduce: the combination of a per-thread value over the threads that
//    hold the same rows.
//
// Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16"), with
// lane l, g = l / 4, t = l % 4: A element j of a k16 chunk is row
// g + 8 ((j / 2) % 2), column 2t + j % 2 + 8 (j >= 4); B element j is k
// 2t + j % 2 + 8 (j >= 2), n g; C element j is row g + 8 (j >= 2), column
// 2t + j % 2. So the accumulator of two adjacent n8 tiles is, element for
// element, the A operand of one k16 chunk: accToA only converts types.
// The s8 fragments of m16n8k32 hold the same bytes at the same places
// (four int8 where f16 has two per register), so ldmatrix serves both: the
// addressing is in 16-byte matrix rows either way, and the C layout is the
// same.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_KERNELS_WARPMMA_H
#define SIEVE_CODEGEN_KERNELS_WARPMMA_H

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir {
namespace sieve {

class WarpMma {
public:
  /// Rows of a warp tile (M) and columns of an accumulator tile (N).
  static constexpr int64_t kRows = 16;
  static constexpr int64_t kN = 8;
  /// Rows of the warp tile each thread holds.
  static constexpr int kRowSlots = 2;

  /// `elementType` is f16 or bf16; or, for loadA, mmaABt and mmaABtSharedA
  /// only, i8 (s32 accumulators) or f8E4M3FN (f32 accumulators; shared
  /// memory and fragments hold its bytes as i8). `lane` is the thread's
  /// lane (an index).
  WarpMma(ImplicitLocOpBuilder &b, Type elementType, Value lane);

  Type getElementType() const { return elementType; }
  /// The accumulators' type: f32, or i32 for i8 operands.
  Type getAccumulatorType() const;
  /// The depth (K) of one instruction: 16, or 32 for 8-bit operands.
  int64_t getDepth() const { return depth; }

  /// The row (within the warp tile) that the thread's slot `slot` holds.
  Value rowInTile(int slot) const;
  /// The column (within an accumulator tile) of entry (n8, c) of a thread.
  Value colInTile(int64_t n8, int c) const;
  /// Position of entry (n8, slot, c) in a flat accumulator list.
  static int64_t accIndex(int64_t n8, int slot, int c) {
    return n8 * 4 + slot * 2 + c;
  }
  /// Entries per thread of a 16 x `cols` accumulator.
  static int64_t accSize(int64_t cols) { return cols / 2; }

  /// The A operand of the 16 x `k` tile at rows row0.., columns col0.. of
  /// `smem` (row-major; `prefix` indexes its leading dimensions), one value
  /// per chunk of the instruction's depth, which divides `k`.
  SmallVector<Value> loadA(Value smem, ValueRange prefix, Value row0,
                           int64_t col0, int64_t k);

  /// acc (16 x n) += A (16 x k) * B^T, where B (n x k) is the row-major tile
  /// at rows row0.., columns 0.. of `smem`. `n` is a multiple of 8, `k` of
  /// twice the depth.
  void mmaABt(SmallVector<Value> &acc, ArrayRef<Value> a, Value smem,
              ValueRange prefix, Value row0, int64_t n, int64_t k);

  /// The same with A read from shared memory (rows aRow0.., columns 0.. of
  /// `aSmem`) as it is needed, two k16 chunks at a time, so that only 8
  /// registers of A are live (for tiles whose A does not fit in registers).
  void mmaABtSharedA(SmallVector<Value> &acc, Value aSmem, Value aRow0,
                     Value smem, ValueRange prefix, Value row0, int64_t n,
                     int64_t k);

  /// acc (16 x n) += A (16 x k) * B, where B (k x n) is the row-major tile at
  /// rows row0.., columns 0.. of `smem`. `n` and `k` are multiples of 16.
  void mmaAB(SmallVector<Value> &acc, ArrayRef<Value> a, Value smem,
             ValueRange prefix, Value row0, int64_t n, int64_t k);

  /// The f32 accumulator `acc` (16 x k) rounded to the element type and laid
  /// out as the A operand of a following product.
  SmallVector<Value> accToA(ArrayRef<Value> acc, int64_t k);

  /// Combines `value` (f32) over the threads holding the same rows: every
  /// such thread gets the maximum (or sum). Warp-collective.
  Value rowReduceMax(Value value);
  Value rowReduceSum(Value value);

private:
  Value mma(Value a, Value bFragment, ArrayRef<Value> acc, int64_t accBase,
            SmallVector<Value> &out);
  Value index(int64_t value);
  /// The row (from `row0`) and column offset a lane addresses in an
  /// ldmatrix.x4 of a 16-row, 32-byte tile: matrix l / 8 is rows
  /// 8 ((l / 8) % 2) and bytes 16 (l / 16) of it, row l % 8 within.
  std::pair<Value, Value> ldmatrixX4Address(Value row0);
  /// The type of `rows` registers of ldmatrix or mma operands.
  VectorType fragmentType(int64_t rows) const;

  ImplicitLocOpBuilder &b;
  Type elementType;
  /// The instruction's K, and the elements in 16 bytes (a matrix row of
  /// ldmatrix).
  int64_t depth, matrixCols;
  Value lane, group, quadLane;
};

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_KERNELS_WARPMMA_H
