//===- WarpgroupMma.cpp - The Hopper matrix-product layer -----------------===//

#include "codegen/kernels/WarpgroupMma.h"

#include "codegen/KernelBuilder.h"

#include "passes/ScalarCode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <string>

using namespace mlir;
using namespace mlir::sieve;

int64_t SwizzledTiles::getSwizzleBytes() const {
  int64_t rowBytes = cols * elementBytes;
  assert((rowBytes == 32 || rowBytes == 64 || rowBytes % 128 == 0) &&
         "rows are 32 or 64 bytes or whole 128-byte boxes");
  return std::min<int64_t>(rowBytes, 128);
}

Value SwizzledTiles::chunkIndex(ImplicitLocOpBuilder &b, Value stage, Value row,
                                Value col) const {
  auto c = [&](int64_t value) { return indexConst(b, value); };
  auto add = [&](Value x, Value y) {
    return b.createOrFold<arith::AddIOp>(x, y);
  };
  auto mul = [&](Value x, int64_t y) {
    return b.createOrFold<arith::MulIOp>(x, c(y));
  };
  auto div = [&](Value x, int64_t y) {
    return b.createOrFold<arith::DivUIOp>(x, c(y));
  };
  auto rem = [&](Value x, int64_t y) {
    return b.createOrFold<arith::RemUIOp>(x, c(y));
  };
  // The byte offset in the box, then the swizzle on it: boxes start at
  // multiples of 8 rows, so the box's bits 7-9 are the address's.
  int64_t span = getSwizzleBytes();
  Value colByte = mul(col, elementBytes);
  Value inBox = add(mul(row, span), rem(colByte, span));
  Value pattern = mul(rem(div(inBox, 128), span / 16), 16);
  Value swizzled = b.createOrFold<arith::XOrIOp>(inBox, pattern);
  Value byte = add(
      add(mul(stage, getStageBytes()), mul(div(colByte, span), getBoxBytes())),
      swizzled);
  return div(byte, elementBytes);
}

Value SwizzledTiles::address(ImplicitLocOpBuilder &b, Value stage, int64_t box,
                             int64_t row) const {
  assert(row % 8 == 0 && "swizzled operands start at a pattern boundary");
  auto metadata = memref::ExtractStridedMetadataOp::create(b, memref);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, memref);
  Value offset = b.createOrFold<arith::MulIOp>(metadata.getOffset(),
                                               indexConst(b, elementBytes));
  Value stageOffset =
      b.createOrFold<arith::MulIOp>(stage, indexConst(b, getStageBytes()));
  Value address = b.createOrFold<arith::AddIOp>(
      b.createOrFold<arith::AddIOp>(base, offset),
      b.createOrFold<arith::AddIOp>(
          stageOffset,
          indexConst(b, box * getBoxBytes() + row * getSwizzleBytes())));
  return arith::IndexCastOp::create(b, b.getI64Type(), address);
}

WarpgroupMma::WarpgroupMma(ImplicitLocOpBuilder &b, Type elementType)
    : b(b), elementType(elementType) {
  b.getContext()->getOrLoadDialect<NVVM::NVVMDialect>();
  assert((elementType.isF16() || elementType.isBF16() ||
          elementType.isInteger(8) || isa<Float8E4M3FNType>(elementType)) &&
         "wgmma from registers takes f16, bf16, i8 or f8E4M3FN");
  depth = elementType.getIntOrFloatBitWidth() == 8 ? 32 : 16;
}

Value WarpgroupMma::descriptor(Value address, int64_t swizzleBytes,
                               int64_t leadingBytes, int64_t strideBytes) {
  // ISA "Matrix Descriptor Format": start address bits 0-13, LBO 16-29,
  // SBO 32-45 (all >> 4), base offset 0, the swizzle in bits 62-63 (1:
  // 128 bytes, 2: 64, 3: 32).
  auto i64 = [&](int64_t value) {
    return arith::ConstantIntOp::create(b, b.getI64Type(), value).getResult();
  };
  int64_t layout = swizzleBytes == 128 ? 1 : swizzleBytes == 64 ? 2 : 3;
  Value start = arith::ShRUIOp::create(
      b, arith::AndIOp::create(b, address, i64(0x3FFFF)), i64(4));
  int64_t fields =
      ((leadingBytes >> 4) << 16) | ((strideBytes >> 4) << 32) | (layout << 62);
  return arith::OrIOp::create(b, start, i64(fields));
}

void WarpgroupMma::issue(SmallVector<Value> &acc, ArrayRef<Value> a,
                         ArrayRef<Value> descriptors, int64_t n, bool transB) {
  MLIRContext *ctx = b.getContext();
  int64_t registers = n / 2;
  assert(static_cast<int64_t>(acc.size()) == registers &&
         a.size() == descriptors.size());
  Type i32 = b.getI32Type();
  bool integer = elementType.isInteger(8);
  Type accType = integer ? i32 : b.getF32Type();
  auto resultType = LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(registers, accType));

  // wgmma.mma_async with A from registers has no NVVM op (its A is always a
  // descriptor there): inline assembly, in the operand order of NVVM's own
  // PTX builder. $0.. are D, tied to the inputs after them, then A's four
  // registers, B's descriptor and scale-d. Immediates: scale-a and scale-b
  // (1: no negation) for float types, and for 16-bit ones transpose-b.
  std::string dList, constraints;
  for (int64_t i = 0; i < registers; ++i) {
    dList += (i ? ", $" : "$") + std::to_string(i);
    constraints += integer ? "=r," : "=f,";
  }
  for (int64_t i = 0; i < registers; ++i)
    constraints += std::to_string(i) + ",";
  constraints += "r,r,r,r,l,n";
  int64_t aBase = 2 * registers;
  auto operand = [](int64_t index) { return "$" + std::to_string(index); };
  std::string shape = "m64n" + std::to_string(n) + "k" + std::to_string(depth);
  std::string types, immediates;
  if (integer) {
    types = ".s32.s8.s8";
  } else if (isa<Float8E4M3FNType>(elementType)) {
    types = ".f32.e4m3.e4m3";
    immediates = ", 1, 1";
  } else {
    std::string type = elementType.isF16() ? "f16" : "bf16";
    types = ".f32." + type + "." + type;
    immediates = std::string(", 1, 1, ") + (transB ? "1" : "0");
  }
  std::string asmString =
      "{\n.reg .pred p;\nsetp.ne.b32 p, " + operand(aBase + 5) +
      ", 0;\nwgmma.mma_async.sync.aligned." + shape + types + " {" + dList +
      "}, {" + operand(aBase) + ", " + operand(aBase + 1) + ", " +
      operand(aBase + 2) + ", " + operand(aBase + 3) + "}, " +
      operand(aBase + 4) + ", p" + immediates + ";\n}\n";
  Value one = arith::ConstantIntOp::create(b, i32, 1);

  NVVM::WgmmaFenceAlignedOp::create(b);
  SmallVector<Value> d(acc);
  for (auto [fragment, descriptor] : llvm::zip(a, descriptors)) {
    // The A fragment (vector<4xNxT>) as its four 32-bit registers.
    SmallVector<Value> operands(d);
    for (int64_t r = 0; r < 4; ++r) {
      Value row = vector::ExtractOp::create(b, fragment, ArrayRef<int64_t>{r});
      Value word = vector::BitCastOp::create(b, VectorType::get({1}, i32), row);
      operands.push_back(
          vector::ExtractOp::create(b, word, ArrayRef<int64_t>{0}));
    }
    operands.append({descriptor, one});
    auto product = LLVM::InlineAsmOp::create(
        b, resultType, operands, StringAttr::get(ctx, asmString),
        StringAttr::get(ctx, constraints),
        /*has_side_effects=*/UnitAttr::get(ctx), UnitAttr(),
        LLVM::TailCallKindAttr(), LLVM::AsmDialectAttr(), ArrayAttr());
    product->setAttr(kWgmmaAttrName, DenseI32ArrayAttr::get(
                                         ctx, {static_cast<int32_t>(n),
                                               getEmulatorTypeCode(elementType),
                                               transB ? 1 : 0}));
    for (int64_t i = 0; i < registers; ++i)
      d[i] = LLVM::ExtractValueOp::create(b, product.getResult(0), i);
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
  acc = std::move(d);
}

void WarpgroupMma::retire(SmallVector<Value> &acc, int64_t pendingGroups) {
  NVVM::WgmmaWaitGroupSyncOp::create(b, pendingGroups);
  acc = fenceRegisters(b, acc);
}

void WarpgroupMma::mmaABt(SmallVector<Value> &acc, ArrayRef<Value> a,
                          const SwizzledTiles &tiles, Value stage, int64_t row0,
                          int64_t n, int64_t k) {
  issueABt(acc, a, tiles, stage, row0, n, k);
  retire(acc, 0);
}

void WarpgroupMma::issueABt(SmallVector<Value> &acc, ArrayRef<Value> a,
                            const SwizzledTiles &tiles, Value stage,
                            int64_t row0, int64_t n, int64_t k) {
  assert(n % 8 == 0 && n <= 256 && n <= tiles.rows - row0 && k % depth == 0 &&
         k <= tiles.cols && static_cast<int64_t>(a.size()) == k / depth &&
         tiles.elementBytes * 8 == elementType.getIntOrFloatBitWidth());
  // K-major B: each step reads 32 bytes of every row, at that offset of
  // its box; 8-row groups are 8 rows of a box apart (SBO); LBO is unused
  // with a swizzle.
  int64_t span = tiles.getSwizzleBytes();
  SmallVector<Value> descriptors;
  for (int64_t j = 0; j < k / depth; ++j) {
    Value box = tiles.address(b, stage, 32 * j / span, row0);
    Value start = arith::AddIOp::create(
        b, box, arith::ConstantIntOp::create(b, b.getI64Type(), 32 * j % span));
    descriptors.push_back(descriptor(start, span, 16, 8 * span));
  }
  issue(acc, a, descriptors, n, /*transB=*/false);
}

void WarpgroupMma::mmaAB(SmallVector<Value> &acc, ArrayRef<Value> a,
                         const SwizzledTiles &tiles, Value stage, int64_t row0,
                         int64_t n, int64_t k) {
  issueAB(acc, a, tiles, stage, row0, n, k);
  retire(acc, 0);
}

void WarpgroupMma::issueAB(SmallVector<Value> &acc, ArrayRef<Value> a,
                           const SwizzledTiles &tiles, Value stage,
                           int64_t row0, int64_t n, int64_t k) {
  assert(depth == 16 && tiles.elementBytes == 2 && "MN-major B is 16-bit");
  assert(n % 8 == 0 && n <= 256 && n <= tiles.cols && k % 16 == 0 &&
         k <= tiles.rows - row0 && static_cast<int64_t>(a.size()) == k / 16);
  // MN-major B: k16 step j is rows row0 + 16 j.., 8-row groups 8 rows of a
  // box apart (SBO), the boxes of N one box apart (LBO).
  int64_t span = tiles.getSwizzleBytes();
  SmallVector<Value> descriptors;
  for (int64_t j = 0; j < k / 16; ++j)
    descriptors.push_back(descriptor(tiles.address(b, stage, 0, row0 + 16 * j),
                                     span, tiles.getBoxBytes(), 8 * span));
  issue(acc, a, descriptors, n, /*transB=*/true);
}
