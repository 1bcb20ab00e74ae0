//===- IndexMath.h - Index arithmetic for kernel builders -------*- C++ -*-===//
//
// Kernel builders compute addresses and bounds with index values; these
// helpers make that code read like the formulas it implements, and fold
// constants as they go.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_KERNELS_INDEXMATH_H
#define SIEVE_CODEGEN_KERNELS_INDEXMATH_H

#include "passes/ScalarCode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir {
namespace sieve {

/// Index arithmetic (unsigned division and remainder, signed comparisons).
struct IndexMath {
  ImplicitLocOpBuilder &b;
  Value add(Value x, Value y) { return b.createOrFold<arith::AddIOp>(x, y); }
  Value sub(Value x, Value y) { return b.createOrFold<arith::SubIOp>(x, y); }
  Value mul(Value x, Value y) { return b.createOrFold<arith::MulIOp>(x, y); }
  Value div(Value x, Value y) { return b.createOrFold<arith::DivUIOp>(x, y); }
  Value rem(Value x, Value y) { return b.createOrFold<arith::RemUIOp>(x, y); }
  Value ceilDiv(Value x, Value y) {
    return b.createOrFold<arith::CeilDivUIOp>(x, y);
  }
  Value min(Value x, Value y) { return b.createOrFold<arith::MinSIOp>(x, y); }
  Value max(Value x, Value y) { return b.createOrFold<arith::MaxSIOp>(x, y); }
  Value c(int64_t value) { return indexConst(b, value); }
  Value lt(Value x, Value y) {
    return cmpIndex(b, arith::CmpIPredicate::slt, x, y);
  }
  Value le(Value x, Value y) {
    return cmpIndex(b, arith::CmpIPredicate::sle, x, y);
  }
  Value eq(Value x, Value y) {
    return cmpIndex(b, arith::CmpIPredicate::eq, x, y);
  }
};

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_KERNELS_INDEXMATH_H
