//===- WarpMma.cpp - mma.sync m16n8k16 / m16n8k32 fed by ldmatrix ---------===//

#include "codegen/kernels/WarpMma.h"

#include "codegen/KernelBuilder.h"

#include "passes/ScalarCode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::sieve;

WarpMma::WarpMma(ImplicitLocOpBuilder &b, Type elementType, Value lane)
    : b(b), elementType(elementType), lane(lane) {
  matrixCols = 128 / elementType.getIntOrFloatBitWidth();
  depth = 2 * matrixCols;
  group = b.createOrFold<arith::DivUIOp>(lane, indexConst(b, 4));
  quadLane = b.createOrFold<arith::RemUIOp>(lane, indexConst(b, 4));
}

Type WarpMma::getAccumulatorType() const {
  if (elementType.isInteger(8))
    return b.getI32Type();
  return b.getF32Type();
}

VectorType WarpMma::fragmentType(int64_t rows) const {
  // f8E4M3FN travels as its bytes (nvgpu has no fp8 fragments).
  Type storage = isa<Float8E4M3FNType>(elementType) ? b.getI8Type()
                                                    : elementType;
  return VectorType::get({rows, 32 / elementType.getIntOrFloatBitWidth()},
                         storage);
}

Value WarpMma::index(int64_t value) { return indexConst(b, value); }

Value WarpMma::rowInTile(int slot) const {
  return b.createOrFold<arith::AddIOp>(group, indexConst(b, 8 * slot));
}

Value WarpMma::colInTile(int64_t n8, int c) const {
  Value twoT = b.createOrFold<arith::MulIOp>(quadLane, indexConst(b, 2));
  return b.createOrFold<arith::AddIOp>(twoT, indexConst(b, 8 * n8 + c));
}

/// Rows r0 and r0 + 1 of a vector<4xNxT> ldmatrix result: a B fragment.
static Value takeRows(ImplicitLocOpBuilder &b, Value x4, int64_t r0) {
  auto type = cast<VectorType>(x4.getType());
  int64_t perRegister = type.getDimSize(1);
  SmallVector<Value> elements;
  for (int64_t r = r0; r < r0 + 2; ++r)
    for (int64_t c = 0; c < perRegister; ++c)
      elements.push_back(vector::ExtractOp::create(b, x4, ArrayRef<int64_t>{r, c}));
  return vector::FromElementsOp::create(
      b, VectorType::get({2, perRegister}, type.getElementType()), elements);
}

Value WarpMma::mma(Value a, Value bFragment, ArrayRef<Value> acc,
                   int64_t accBase, SmallVector<Value> &out) {
  auto accType = VectorType::get({2, 2}, getAccumulatorType());
  Value c = vector::FromElementsOp::create(b, accType,
                                           acc.slice(accBase, 4));
  auto d = nvgpu::MmaSyncOp::create(b, a, bFragment, c,
                                    ArrayRef<int64_t>{16, 8, depth});
  if (isa<Float8E4M3FNType>(elementType))
    d->setAttr(kE4M3MmaAttrName, b.getUnitAttr());
  for (int64_t slot = 0; slot < 2; ++slot)
    for (int64_t col = 0; col < 2; ++col)
      out[accBase + slot * 2 + col] =
          vector::ExtractOp::create(b, d, ArrayRef<int64_t>{slot, col});
  return d;
}

std::pair<Value, Value> WarpMma::ldmatrixX4Address(Value row0) {
  Value rowInMatrix = b.createOrFold<arith::RemUIOp>(lane, index(8));
  Value matrix = b.createOrFold<arith::DivUIOp>(lane, index(8));
  Value rowOffset = b.createOrFold<arith::MulIOp>(
      b.createOrFold<arith::RemUIOp>(matrix, index(2)), index(8));
  Value colOffset = b.createOrFold<arith::MulIOp>(
      b.createOrFold<arith::DivUIOp>(matrix, index(2)), index(matrixCols));
  Value row = b.createOrFold<arith::AddIOp>(
      row0, b.createOrFold<arith::AddIOp>(rowInMatrix, rowOffset));
  return {row, colOffset};
}

SmallVector<Value> WarpMma::loadA(Value smem, ValueRange prefix, Value row0,
                                  int64_t col0, int64_t k) {
  assert(k % depth == 0 && "A tiles are whole chunks");
  // Lanes 8i..8i+7 address matrix i: rows 0-7 / 8-15 of the tile (i % 2),
  // the first or second 16 bytes of the chunk (i / 2).
  auto [row, colOffset] = ldmatrixX4Address(row0);
  VectorType type = fragmentType(4);
  SmallVector<Value> fragments;
  for (int64_t kc = 0; kc < k / depth; ++kc) {
    Value col =
        b.createOrFold<arith::AddIOp>(colOffset, index(col0 + kc * depth));
    SmallVector<Value> indices(prefix);
    indices.append({row, col});
    fragments.push_back(nvgpu::LdMatrixOp::create(b, type, smem, indices,
                                                  /*transpose=*/false,
                                                  /*numTiles=*/4));
  }
  return fragments;
}

void WarpMma::mmaABt(SmallVector<Value> &acc, ArrayRef<Value> a, Value smem,
                     ValueRange prefix, Value row0, int64_t n, int64_t k) {
  assert(n % kN == 0 && k % (2 * depth) == 0 && "B^T tiles of n8 x 2 chunks");
  assert(static_cast<int64_t>(acc.size()) == accSize(n) &&
         static_cast<int64_t>(a.size()) == k / depth);
  // One ldmatrix.x4 gives the B fragments of one n8 tile for two chunks:
  // lane l addresses row (l % 8) of the n8 tile, bytes 16 (l / 8).. of the
  // two chunks.
  Value rowInMatrix = b.createOrFold<arith::RemUIOp>(lane, index(8));
  Value colOffset = b.createOrFold<arith::MulIOp>(
      b.createOrFold<arith::DivUIOp>(lane, index(8)), index(matrixCols));
  VectorType type = fragmentType(4);
  SmallVector<Value> out(acc);
  for (int64_t n8 = 0; n8 < n / kN; ++n8) {
    Value row = b.createOrFold<arith::AddIOp>(
        row0, b.createOrFold<arith::AddIOp>(rowInMatrix, index(n8 * kN)));
    for (int64_t kc = 0; kc < k / depth; kc += 2) {
      SmallVector<Value> indices(prefix);
      indices.append(
          {row, b.createOrFold<arith::AddIOp>(colOffset, index(kc * depth))});
      Value x4 = nvgpu::LdMatrixOp::create(b, type, smem, indices,
                                           /*transpose=*/false,
                                           /*numTiles=*/4);
      for (int64_t half = 0; half < 2; ++half)
        mma(a[kc + half], takeRows(b, x4, 2 * half), out, n8 * 4, out);
    }
  }
  acc = std::move(out);
}

void WarpMma::mmaABtSharedA(SmallVector<Value> &acc, Value aSmem,
                            Value aRow0, Value smem, ValueRange prefix,
                            Value row0, int64_t n, int64_t k) {
  assert(n % kN == 0 && k % (2 * depth) == 0 && "B^T tiles of n8 x 2 chunks");
  assert(static_cast<int64_t>(acc.size()) == accSize(n));
  Value rowInMatrix = b.createOrFold<arith::RemUIOp>(lane, index(8));
  Value colOffset = b.createOrFold<arith::MulIOp>(
      b.createOrFold<arith::DivUIOp>(lane, index(8)), index(matrixCols));
  VectorType type = fragmentType(4);
  SmallVector<Value> out(acc);
  // Slabs of two chunks outside, n8 tiles inside: A's two chunks are loaded
  // once per slab and die after it.
  for (int64_t kc = 0; kc < k / depth; kc += 2) {
    SmallVector<Value> a = loadA(aSmem, {}, aRow0, kc * depth, 2 * depth);
    for (int64_t n8 = 0; n8 < n / kN; ++n8) {
      Value row = b.createOrFold<arith::AddIOp>(
          row0, b.createOrFold<arith::AddIOp>(rowInMatrix, index(n8 * kN)));
      SmallVector<Value> indices(prefix);
      indices.append(
          {row, b.createOrFold<arith::AddIOp>(colOffset, index(kc * depth))});
      Value x4 = nvgpu::LdMatrixOp::create(b, type, smem, indices,
                                           /*transpose=*/false,
                                           /*numTiles=*/4);
      for (int64_t half = 0; half < 2; ++half)
        mma(a[half], takeRows(b, x4, 2 * half), out, n8 * 4, out);
    }
  }
  acc = std::move(out);
}

void WarpMma::mmaAB(SmallVector<Value> &acc, ArrayRef<Value> a, Value smem,
                    ValueRange prefix, Value row0, int64_t n, int64_t k) {
  assert(!elementType.isInteger(8) && "P V has float operands");
  assert(n % (2 * kN) == 0 && k % depth == 0 && "B tiles of k16 x n16");
  assert(static_cast<int64_t>(acc.size()) == accSize(n) &&
         static_cast<int64_t>(a.size()) == k / depth);
  // One ldmatrix.x4.trans gives the B fragments of one k16 chunk for two n8
  // tiles: lane l addresses row (l % 8) + 8 ((l / 8) % 2) of the chunk,
  // columns 8 (l / 16).. of the n16 slab.
  auto [rowBase, colOffset] = ldmatrixX4Address(row0);
  VectorType type = fragmentType(4);
  SmallVector<Value> out(acc);
  for (int64_t kc = 0; kc < k / depth; ++kc) {
    Value row = b.createOrFold<arith::AddIOp>(rowBase, index(kc * depth));
    for (int64_t n16 = 0; n16 < n / (2 * kN); ++n16) {
      SmallVector<Value> indices(prefix);
      indices.append({row, b.createOrFold<arith::AddIOp>(
                               colOffset, index(n16 * 2 * kN))});
      Value x4 = nvgpu::LdMatrixOp::create(b, type, smem, indices,
                                           /*transpose=*/true,
                                           /*numTiles=*/4);
      for (int64_t half = 0; half < 2; ++half)
        mma(a[kc], takeRows(b, x4, 2 * half), out, (2 * n16 + half) * 4,
            out);
    }
  }
  acc = std::move(out);
}

SmallVector<Value> WarpMma::accToA(ArrayRef<Value> acc, int64_t k) {
  assert(!elementType.isInteger(8) && "P is a float operand");
  assert(k % depth == 0 && static_cast<int64_t>(acc.size()) == accSize(k));
  SmallVector<Value> fragments;
  auto f32Type = VectorType::get({4, 2}, b.getF32Type());
  VectorType type = fragmentType(4);
  for (int64_t kc = 0; kc < k / depth; ++kc) {
    // A registers 0..3: (row g, cols 2t..), (row g + 8, cols 2t..),
    // (row g, cols 8 + 2t..), (row g + 8, cols 8 + 2t..).
    SmallVector<Value> elements;
    for (int64_t half = 0; half < 2; ++half)
      for (int slot = 0; slot < 2; ++slot)
        for (int c = 0; c < 2; ++c)
          elements.push_back(acc[accIndex(2 * kc + half, slot, c)]);
    Value wide = vector::FromElementsOp::create(b, f32Type, elements);
    fragments.push_back(arith::TruncFOp::create(b, type, wide));
  }
  return fragments;
}

static Value quadReduce(ImplicitLocOpBuilder &b, Value value, bool isMax) {
  // The four lanes of a quad (same g) hold the same rows.
  for (int32_t offset : {1, 2}) {
    Value other = gpu::ShuffleOp::create(b, value, offset, /*width=*/32,
                                         gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    value = isMax ? arith::MaximumFOp::create(b, value, other).getResult()
                  : arith::AddFOp::create(b, value, other).getResult();
  }
  return value;
}

Value WarpMma::rowReduceMax(Value value) {
  return quadReduce(b, value, /*isMax=*/true);
}

Value WarpMma::rowReduceSum(Value value) {
  return quadReduce(b, value, /*isMax=*/false);
}
