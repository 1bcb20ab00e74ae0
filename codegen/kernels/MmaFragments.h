//===- MmaFragments.h - mma.sync fragments for tensor-core kernels -*- C++ -*-//
//
// What the tensor-core kernels (QMatmulKernels.cpp, the linalg contraction
// in LinalgKernels.cpp) share: building the fragments of mma.sync m16n8k16
// (f16/bf16 operands, f32 accumulators) from 32-bit words, and reading a
// warp's A and B fragments from shared-memory tiles with ldmatrix, in either
// orientation of the tile.
//
// Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16 with
// floating point type"), lane l = 4g + t: A registers (rows g, g + 8,
// g, g + 8; columns 2t + {0, 1}, then + 8 for the last two), B registers
// (k = 2t + {0, 1}, then + 8; column g), C registers (rows g, g + 8;
// columns 2t + {0, 1}).
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_KERNELS_MMAFRAGMENTS_H
#define SIEVE_CODEGEN_KERNELS_MMAFRAGMENTS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir {
namespace sieve {

/// An i32 constant.
Value i32Const(ImplicitLocOpBuilder &b, int64_t value);

/// A constant vector of `type` with every element `element`.
Value splatConst(ImplicitLocOpBuilder &b, VectorType type, Attribute element);
Value floatSplat(ImplicitLocOpBuilder &b, VectorType type, double value);
Value zerosOf(ImplicitLocOpBuilder &b, VectorType type);

/// A vector load of `type` from memref[index] when `cond` holds, else zeros.
Value loadVectorIf(ImplicitLocOpBuilder &b, Value cond, VectorType type,
                   Value memref, Value index, unsigned alignment);

/// The 32-bit words of a vector (reinterpreted).
SmallVector<Value> toWords(ImplicitLocOpBuilder &b, Value vector);

/// A 32-bit word reinterpreted as a vector<2 x element> (one register of an
/// mma fragment).
Value wordToPair(ImplicitLocOpBuilder &b, Value word, Type element);

/// The fragment vector<N x 2 x element> whose rows are `rows`. Fragments
/// are built row by row: the NVVM lowering has no n-D vector.shape_cast.
Value fragmentOf(ImplicitLocOpBuilder &b, ValueRange rows);

/// Words reinterpreted as the rows of a fragment.
Value fragmentOfWords(ImplicitLocOpBuilder &b, ValueRange words,
                      Type element);

/// c + a * b with mma.sync m16n8k16.
Value mmaSync(ImplicitLocOpBuilder &b, Value a, Value bFragment, Value c);

/// An operand tile of a warp's multiplication in shared memory (one stage):
/// element (row, k) of the operand (row an m index of A or an n index of B)
/// is at base + row * stride + k when `kContiguous`, else at
/// base + k * stride + row (read with ldmatrix .trans). `stride` keeps
/// 16-byte rows aligned and is padded so that ldmatrix's 8 row addresses
/// fall in different bank groups (an odd number of 16-byte units).
struct SharedTile {
  Value memref;
  Value base;
  int64_t stride = 0;
  bool kContiguous = true;
};

/// One step of a warp tile: the warp multiplies rows [row0, row0 + 16 *
/// tilesM) of `a` by columns [col0, col0 + 8 * tilesN) of `b` over
/// k [k0, k0 + depth) (depth a multiple of 16, tilesN even), adding to
/// `acc` (tilesM x tilesN vector<2x2xf32> accumulators, m-block major).
/// ldmatrix.x4 reads the A fragment of each 16 x 16 block and the B
/// fragments of each pair of n-tiles.
SmallVector<Value> mmaWarpTile(ImplicitLocOpBuilder &b, Value lane,
                               const SharedTile &a, const SharedTile &bTile,
                               Value row0, Value col0, Value k0,
                               int64_t tilesM, int64_t tilesN, int64_t depth,
                               SmallVector<Value> acc);

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_KERNELS_MMAFRAGMENTS_H
