//===- SizeExpr.cpp - Sizes as expressions of dynamic dimensions ----------===//

#include "codegen/SizeExpr.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir::sieve;

SizeExpr SizeExpr::symbol(llvm::StringRef name) { return SizeExpr(name.str()); }

std::string SizeExpr::str() const {
  return constant ? std::to_string(*constant) : text;
}

llvm::json::Value SizeExpr::toJSON() const {
  if (constant)
    return *constant;
  return text;
}

SizeExpr SizeExpr::binary(const SizeExpr &a, const SizeExpr &b,
                          llvm::StringRef op) {
  return SizeExpr("(" + a.str() + " " + op.str() + " " + b.str() + ")");
}

SizeExpr SizeExpr::call(llvm::StringRef fn, const SizeExpr &a,
                        const SizeExpr &b) {
  return SizeExpr(fn.str() + "(" + a.str() + ", " + b.str() + ")");
}

namespace mlir {
namespace sieve {
SizeExpr operator+(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant)
    return *a.constant + *b.constant;
  if (a.constant == 0)
    return b;
  if (b.constant == 0)
    return a;
  return SizeExpr::binary(a, b, "+");
}

SizeExpr operator-(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant)
    return *a.constant - *b.constant;
  if (b.constant == 0)
    return a;
  return SizeExpr::binary(a, b, "-");
}

SizeExpr operator*(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant)
    return *a.constant * *b.constant;
  if (a.constant == 1)
    return b;
  if (b.constant == 1)
    return a;
  if (a.constant == 0 || b.constant == 0)
    return 0;
  return SizeExpr::binary(a, b, "*");
}

SizeExpr operator/(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant && *b.constant != 0)
    return llvm::divideFloorSigned(*a.constant, *b.constant);
  if (b.constant == 1)
    return a;
  return SizeExpr::binary(a, b, "/");
}

SizeExpr operator%(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant && *b.constant != 0)
    return *a.constant - llvm::divideFloorSigned(*a.constant, *b.constant) *
                             *b.constant;
  if (b.constant == 1)
    return 0;
  return SizeExpr::binary(a, b, "%");
}
} // namespace sieve
} // namespace mlir

SizeExpr SizeExpr::ceilDiv(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant && *b.constant != 0)
    return llvm::divideCeilSigned(*a.constant, *b.constant);
  if (b.constant == 1)
    return a;
  return call("ceildiv", a, b);
}

SizeExpr SizeExpr::min(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant)
    return std::min(*a.constant, *b.constant);
  if (a == b)
    return a;
  return call("min", a, b);
}

SizeExpr SizeExpr::max(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant)
    return std::max(*a.constant, *b.constant);
  if (a == b)
    return a;
  return call("max", a, b);
}

SizeExpr SizeExpr::eq(const SizeExpr &a, const SizeExpr &b) {
  if (a == b)
    return 1;
  if (a.constant && b.constant)
    return 0;
  return binary(a, b, "==");
}

SizeExpr SizeExpr::le(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant)
    return *a.constant <= *b.constant ? 1 : 0;
  if (a == b)
    return 1;
  return binary(a, b, "<=");
}

SizeExpr SizeExpr::both(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant)
    return *a.constant ? b : SizeExpr(0);
  if (b.constant)
    return *b.constant ? a : SizeExpr(0);
  return binary(a, b, "&&");
}
