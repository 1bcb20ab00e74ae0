//===- MmaFragments.cpp - mma.sync fragments for tensor-core kernels ------===//
//
// See MmaFragments.h; the ldmatrix addressing follows the PTX ISA's
// "Warp-level matrix load instruction: ldmatrix": lanes 8i .. 8i + 7 give
// the row addresses of matrix i, and lane l receives M_i[l / 4][2 (l % 4) +
// {0, 1}], or M_i[2 (l % 4) + {0, 1}][l / 4] with .trans.
//
//===----------------------------------------------------------------------===//

#include "codegen/kernels/MmaFragments.h"

#include "passes/ScalarCode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::sieve;

Value mlir::sieve::i32Const(ImplicitLocOpBuilder &b, int64_t value) {
  return arith::ConstantIntOp::create(b, b.getI32Type(), value);
}

Value mlir::sieve::splatConst(ImplicitLocOpBuilder &b, VectorType type,
                              Attribute element) {
  return arith::ConstantOp::create(
      b, DenseElementsAttr::get(type, cast<TypedAttr>(element)));
}

Value mlir::sieve::floatSplat(ImplicitLocOpBuilder &b, VectorType type,
                              double value) {
  return splatConst(b, type, b.getFloatAttr(type.getElementType(), value));
}

Value mlir::sieve::zerosOf(ImplicitLocOpBuilder &b, VectorType type) {
  return splatConst(b, type, b.getZeroAttr(type.getElementType()));
}

Value mlir::sieve::loadVectorIf(ImplicitLocOpBuilder &b, Value cond,
                                VectorType type, Value memref, Value index,
                                unsigned alignment) {
  return buildIf(
      b, cond, TypeRange{type},
      [&](ImplicitLocOpBuilder &b) {
        return SmallVector<Value>{
            vector::LoadOp::create(b, type, memref, ValueRange{index},
                                   /*nontemporal=*/false,
                                   llvm::Align(alignment))
                .getResult()};
      },
      [&](ImplicitLocOpBuilder &b) {
        return SmallVector<Value>{zerosOf(b, type)};
      })[0];
}

SmallVector<Value> mlir::sieve::toWords(ImplicitLocOpBuilder &b,
                                        Value vector) {
  auto type = cast<VectorType>(vector.getType());
  int64_t count = type.getNumElements() * type.getElementTypeBitWidth() / 32;
  Value words = vector::BitCastOp::create(
      b, VectorType::get({count}, b.getI32Type()), vector);
  SmallVector<Value> result;
  for (int64_t i = 0; i < count; ++i)
    result.push_back(
        vector::ExtractOp::create(b, words, ArrayRef<int64_t>{i}));
  return result;
}

Value mlir::sieve::wordToPair(ImplicitLocOpBuilder &b, Value word,
                              Type element) {
  Value vector = vector::FromElementsOp::create(
      b, VectorType::get({1}, b.getI32Type()), ValueRange{word});
  return vector::BitCastOp::create(b, VectorType::get({2}, element), vector);
}

Value mlir::sieve::fragmentOf(ImplicitLocOpBuilder &b, ValueRange rows) {
  auto rowType = cast<VectorType>(rows.front().getType());
  auto type = VectorType::get({static_cast<int64_t>(rows.size()), 2},
                              rowType.getElementType());
  Value fragment = zerosOf(b, type);
  for (auto [i, row] : llvm::enumerate(rows))
    fragment = vector::InsertOp::create(
        b, row, fragment, ArrayRef<int64_t>{static_cast<int64_t>(i)});
  return fragment;
}

Value mlir::sieve::fragmentOfWords(ImplicitLocOpBuilder &b, ValueRange words,
                                   Type element) {
  SmallVector<Value> rows;
  for (Value word : words)
    rows.push_back(wordToPair(b, word, element));
  return fragmentOf(b, rows);
}

Value mlir::sieve::mmaSync(ImplicitLocOpBuilder &b, Value a, Value bFragment,
                           Value c) {
  return nvgpu::MmaSyncOp::create(b, a, bFragment, c,
                                  ArrayRef<int64_t>{16, 8, 16});
}

namespace {
/// Index arithmetic that folds constants.
struct Index {
  ImplicitLocOpBuilder &b;
  Value add(Value x, Value y) { return b.createOrFold<arith::AddIOp>(x, y); }
  Value mul(Value x, Value y) { return b.createOrFold<arith::MulIOp>(x, y); }
  Value div(Value x, Value y) { return b.createOrFold<arith::DivUIOp>(x, y); }
  Value rem(Value x, Value y) { return b.createOrFold<arith::RemUIOp>(x, y); }
  Value c(int64_t value) { return indexConst(b, value); }
};
} // namespace

/// ldmatrix.x4 of four 8 x 8 matrices of `tile`: matrix i (lanes 8i ..
/// 8i + 7) covers rows rowStart[i] + [0, 8) and k kStart[i] + [0, 8) of the
/// operand; `lane / 8` selects the matrix, `lane % 8` its row address.
static Value loadFour(ImplicitLocOpBuilder &b, const SharedTile &tile,
                      Value lane, Value rowStart, Value kStart) {
  Index m{b};
  Value r = m.rem(lane, m.c(8));
  Value stride = m.c(tile.stride);
  // Without .trans the 8 addressed rows are operand rows, with it k rows.
  Value index =
      tile.kContiguous
          ? m.add(tile.base, m.add(m.mul(m.add(rowStart, r), stride), kStart))
          : m.add(tile.base, m.add(m.mul(m.add(kStart, r), stride), rowStart));
  Type element = cast<MemRefType>(tile.memref.getType()).getElementType();
  return nvgpu::LdMatrixOp::create(b, VectorType::get({4, 2}, element),
                                   tile.memref, ValueRange{index},
                                   /*transpose=*/!tile.kContiguous,
                                   /*numTiles=*/4);
}

SmallVector<Value> mlir::sieve::mmaWarpTile(
    ImplicitLocOpBuilder &b, Value lane, const SharedTile &a,
    const SharedTile &bTile, Value row0, Value col0, Value k0, int64_t tilesM,
    int64_t tilesN, int64_t depth, SmallVector<Value> acc) {
  Index m{b};
  Value quad = m.div(lane, m.c(8));
  // Matrix q of the A fragment: rows 8 (q % 2), k 8 (q / 2) of the block
  // (registers a0..a3 are rows g, g + 8, g, g + 8 at k 2t, 2t, 2t + 8,
  // 2t + 8). Matrix q of a B pair: n-tile q / 2, k 8 (q % 2).
  Value aRow = m.mul(m.rem(quad, m.c(2)), m.c(8));
  Value aK = m.mul(m.div(quad, m.c(2)), m.c(8));
  Value bRow = m.mul(m.div(quad, m.c(2)), m.c(8));
  Value bK = m.mul(m.rem(quad, m.c(2)), m.c(8));
  for (int64_t kk = 0; kk < depth; kk += 16) {
    Value k = m.add(k0, m.c(kk));
    SmallVector<Value> aFrag, bFrag;
    for (int64_t i = 0; i < tilesM; ++i)
      aFrag.push_back(loadFour(b, a, lane,
                               m.add(m.add(row0, m.c(16 * i)), aRow),
                               m.add(k, aK)));
    for (int64_t j = 0; j < tilesN; j += 2) {
      Value four = loadFour(b, bTile, lane,
                            m.add(m.add(col0, m.c(8 * j)), bRow),
                            m.add(k, bK));
      for (int64_t half = 0; half < 2; ++half) {
        SmallVector<Value> rows;
        for (int64_t r = 0; r < 2; ++r)
          rows.push_back(vector::ExtractOp::create(
              b, four, ArrayRef<int64_t>{2 * half + r}));
        bFrag.push_back(fragmentOf(b, rows));
      }
    }
    for (int64_t i = 0; i < tilesM; ++i)
      for (int64_t j = 0; j < tilesN; ++j)
        acc[i * tilesN + j] =
            mmaSync(b, aFrag[i], bFrag[j], acc[i * tilesN + j]);
  }
  return acc;
}
