//===- ScalarCode.cpp - Helpers to emit scalar scf/arith code -------------===//

#include "passes/ScalarCode.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::sieve;

Value mlir::sieve::indexConst(ImplicitLocOpBuilder &b, int64_t value) {
  return arith::ConstantIndexOp::create(b, value);
}

Value mlir::sieve::f32Const(ImplicitLocOpBuilder &b, double value) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(value));
}

Value mlir::sieve::boolConst(ImplicitLocOpBuilder &b, bool value) {
  return arith::ConstantIntOp::create(b, value, 1);
}

SmallVector<Value> mlir::sieve::buildFor(ImplicitLocOpBuilder &b, Value lb,
                                         Value ub, ValueRange inits,
                                         LoopBody body) {
  return buildStridedFor(b, lb, ub, indexConst(b, 1), inits, body);
}

SmallVector<Value> mlir::sieve::buildStridedFor(ImplicitLocOpBuilder &b,
                                                Value lb, Value ub, Value step,
                                                ValueRange inits,
                                                LoopBody body) {
  auto loop = scf::ForOp::create(b, lb, ub, step, inits);
  Block *block = loop.getBody();
  // The body is built with `b` itself, so that helpers holding a reference to
  // it keep inserting in the right place.
  OpBuilder::InsertionGuard guard(b);
  if (!block->empty())
    block->back().erase();
  b.setInsertionPointToEnd(block);
  SmallVector<Value> results =
      body(b, loop.getInductionVar(), loop.getRegionIterArgs());
  scf::YieldOp::create(b, results);
  return llvm::to_vector_of<Value>(loop.getResults());
}

SmallVector<Value> mlir::sieve::buildIf(ImplicitLocOpBuilder &b, Value cond,
                                        TypeRange types, BranchBody thenBody,
                                        BranchBody elseBody) {
  auto ifOp = scf::IfOp::create(b, types, cond, /*addThenBlock=*/true,
                                /*addElseBlock=*/true);
  OpBuilder::InsertionGuard guard(b);
  for (auto [block, body] : {std::pair(ifOp.thenBlock(), thenBody),
                             std::pair(ifOp.elseBlock(), elseBody)}) {
    b.setInsertionPointToEnd(block);
    scf::YieldOp::create(b, body(b));
  }
  return llvm::to_vector_of<Value>(ifOp.getResults());
}

SmallVector<Value> mlir::sieve::buildIfUpdate(ImplicitLocOpBuilder &b,
                                              Value cond, ValueRange state,
                                              BranchBody thenBody) {
  SmallVector<Value> unchanged(state);
  return buildIf(b, cond, TypeRange(state), thenBody,
                 [&](ImplicitLocOpBuilder &) { return unchanged; });
}

void mlir::sieve::buildIfThen(
    ImplicitLocOpBuilder &b, Value cond,
    function_ref<void(ImplicitLocOpBuilder &)> thenBody) {
  auto ifOp = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  thenBody(b);
}

Value mlir::sieve::toF32(ImplicitLocOpBuilder &b, Value value) {
  if (value.getType().isF32())
    return value;
  if (isa<FloatType>(value.getType()))
    return arith::ExtFOp::create(b, b.getF32Type(), value);
  return arith::SIToFPOp::create(b, b.getF32Type(), value);
}

Value mlir::sieve::fromF32(ImplicitLocOpBuilder &b, Value value, Type type) {
  if (type.isF32())
    return value;
  return arith::TruncFOp::create(b, type, value);
}

Value mlir::sieve::toIndex(ImplicitLocOpBuilder &b, Value value) {
  return arith::IndexCastOp::create(b, b.getIndexType(), value);
}

Value mlir::sieve::cmpIndex(ImplicitLocOpBuilder &b, arith::CmpIPredicate pred,
                            Value lhs, Value rhs) {
  return b.createOrFold<arith::CmpIOp>(pred, lhs, rhs);
}

Value mlir::sieve::andI1(ImplicitLocOpBuilder &b, Value lhs, Value rhs) {
  return b.createOrFold<arith::AndIOp>(lhs, rhs);
}

Value mlir::sieve::orI1(ImplicitLocOpBuilder &b, Value lhs, Value rhs) {
  return b.createOrFold<arith::OrIOp>(lhs, rhs);
}

Value mlir::sieve::notI1(ImplicitLocOpBuilder &b, Value value) {
  return b.createOrFold<arith::XOrIOp>(value, boolConst(b, true));
}

double mlir::sieve::getScorePrecisionMax(Type precision) {
  return precision.isInteger(8) ? 127.0 : 448.0;
}

Value mlir::sieve::roundToScorePrecision(ImplicitLocOpBuilder &b, Value scaled,
                                         Type precision) {
  Value rounded;
  if (precision.isInteger(8)) {
    rounded = math::RoundEvenOp::create(b, scaled);
  } else {
    // f8E4M3FN has 3 mantissa bits and its smallest normal exponent is -6,
    // below which its (subnormal) spacing stays 2^-9: round to a multiple of
    // quantum = 2^(max(e, -6) - 3), e the f32 exponent of `scaled`. Dividing
    // and multiplying by a power of two is exact.
    auto i32Const = [&](int64_t v) {
      return arith::ConstantOp::create(b, b.getI32IntegerAttr(v)).getResult();
    };
    Value bits = arith::BitcastOp::create(b, b.getI32Type(), scaled);
    Value biased = arith::AndIOp::create(
        b, arith::ShRUIOp::create(b, bits, i32Const(23)), i32Const(0xff));
    Value exponent = arith::MaxSIOp::create(
        b, arith::SubIOp::create(b, biased, i32Const(127)), i32Const(-6));
    Value quantumBits = arith::ShLIOp::create(
        b, arith::AddIOp::create(b, exponent, i32Const(127 - 3)), i32Const(23));
    Value quantum = arith::BitcastOp::create(b, b.getF32Type(), quantumBits);
    Value steps =
        math::RoundEvenOp::create(b, arith::DivFOp::create(b, scaled, quantum));
    rounded = arith::MulFOp::create(b, steps, quantum);
  }
  double qmax = getScorePrecisionMax(precision);
  return arith::MinimumFOp::create(
      b, arith::MaximumFOp::create(b, rounded, f32Const(b, -qmax)),
      f32Const(b, qmax));
}

std::string mlir::sieve::formatLocation(Location loc) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (auto fileLoc = loc->findInstanceOf<FileLineColLoc>())
    os << fileLoc.getFilename().strref() << ":" << fileLoc.getLine() << ":"
       << fileLoc.getColumn();
  else
    loc.print(os);
  return text;
}
