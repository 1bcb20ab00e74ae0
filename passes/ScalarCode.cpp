//===- ScalarCode.cpp - Helpers to emit scalar scf/arith code -------------===//

#include "passes/ScalarCode.h"

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
