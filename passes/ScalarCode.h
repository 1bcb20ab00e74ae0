//===- ScalarCode.h - Helpers to emit scalar scf/arith code -----*- C++ -*-===//
//
// Small builders for the scalar code that both the reference lowering and the
// kernel builders write: constants, loops and branches that carry values,
// index comparisons and f32 conversions. Each takes an ImplicitLocOpBuilder
// positioned where the code goes.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PASSES_SCALARCODE_H
#define SIEVE_PASSES_SCALARCODE_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir {
namespace sieve {

/// Builds a loop body from the induction variable and the carried values;
/// returns the values to carry on. Bodies get the caller's builder,
/// positioned inside the loop or branch.
using LoopBody = function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Value,
                                                 ValueRange)>;
/// Builds a branch; returns the values it yields.
using BranchBody = function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)>;

Value indexConst(ImplicitLocOpBuilder &b, int64_t value);
Value f32Const(ImplicitLocOpBuilder &b, double value);
Value boolConst(ImplicitLocOpBuilder &b, bool value);

/// `scf.for %iv = lb to ub step 1` carrying `inits`. Bounds are signed, so
/// `lb >= ub` runs no iteration.
SmallVector<Value> buildFor(ImplicitLocOpBuilder &b, Value lb, Value ub,
                            ValueRange inits, LoopBody body);
/// The same with `step`.
SmallVector<Value> buildStridedFor(ImplicitLocOpBuilder &b, Value lb, Value ub,
                                   Value step, ValueRange inits, LoopBody body);
/// `scf.if` with both branches yielding values of `types`.
SmallVector<Value> buildIf(ImplicitLocOpBuilder &b, Value cond,
                           TypeRange types, BranchBody thenBody,
                           BranchBody elseBody);
/// Runs `thenBody` on `state` when `cond` holds, else passes `state` through.
SmallVector<Value> buildIfUpdate(ImplicitLocOpBuilder &b, Value cond,
                                 ValueRange state, BranchBody thenBody);
/// `scf.if` without results.
void buildIfThen(ImplicitLocOpBuilder &b, Value cond,
                 function_ref<void(ImplicitLocOpBuilder &)> thenBody);

/// Extends a float (or converts a signed integer) to f32.
Value toF32(ImplicitLocOpBuilder &b, Value value);
/// Rounds an f32 to `type` (no-op for f32).
Value fromF32(ImplicitLocOpBuilder &b, Value value, Type type);
/// Sign-extends an integer (e.g. a position stored as i32) to index.
Value toIndex(ImplicitLocOpBuilder &b, Value value);

/// Folding comparisons and boolean algebra on i1, so that static shapes give
/// constants.
Value cmpIndex(ImplicitLocOpBuilder &b, arith::CmpIPredicate pred, Value lhs,
               Value rhs);
Value andI1(ImplicitLocOpBuilder &b, Value lhs, Value rhs);
Value orI1(ImplicitLocOpBuilder &b, Value lhs, Value rhs);
Value notI1(ImplicitLocOpBuilder &b, Value value);

/// The attention ops' quantized scores (`qk_precision`): the rows of one
/// block, which shares one scale; the largest quantized magnitude of
/// `precision` (127 for i8, 448 for f8E4M3FN); and the rounding of an f32
/// `scaled` (a value times qmax / amax) to the nearest value of `precision`
/// (i8: half to even, clamped to +-127; f8E4M3FN: ties to even, saturating
/// at +-448), returned as that exact value in f32.
constexpr int64_t kScoreBlockRows = 64;
double getScorePrecisionMax(Type precision);
Value roundToScorePrecision(ImplicitLocOpBuilder &b, Value scaled,
                            Type precision);

/// "file:line:col" of `loc` (the first file location in it), or its printed
/// form.
std::string formatLocation(Location loc);

} // namespace sieve
} // namespace mlir

#endif // SIEVE_PASSES_SCALARCODE_H
