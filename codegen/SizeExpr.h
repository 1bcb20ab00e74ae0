//===- SizeExpr.h - Sizes as expressions of dynamic dimensions --*- C++ -*-===//
//
// A bundle's buffer sizes, grids and scalar kernel arguments are integers or
// expressions over the symbols that name the graph's dynamic dimensions, in
// the language docs/bundle-format.md defines. SizeExpr builds them with
// constant folding, so that static shapes give plain integers.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_SIZEEXPR_H
#define SIEVE_CODEGEN_SIZEEXPR_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir {
namespace sieve {

class SizeExpr {
public:
  SizeExpr(int64_t value = 0) : constant(value) {}
  static SizeExpr symbol(llvm::StringRef name);

  bool isConstant() const { return constant.has_value(); }
  std::optional<int64_t> getConstant() const { return constant; }
  /// The expression text, fully parenthesized where needed.
  std::string str() const;
  /// An integer when constant, else the expression string.
  llvm::json::Value toJSON() const;

  friend SizeExpr operator+(const SizeExpr &a, const SizeExpr &b);
  friend SizeExpr operator-(const SizeExpr &a, const SizeExpr &b);
  friend SizeExpr operator*(const SizeExpr &a, const SizeExpr &b);
  /// Floor division and its remainder, as the bundle language defines them.
  friend SizeExpr operator/(const SizeExpr &a, const SizeExpr &b);
  friend SizeExpr operator%(const SizeExpr &a, const SizeExpr &b);
  static SizeExpr ceilDiv(const SizeExpr &a, const SizeExpr &b);
  static SizeExpr min(const SizeExpr &a, const SizeExpr &b);
  static SizeExpr max(const SizeExpr &a, const SizeExpr &b);
  /// Conditions for a bundle's `checks`: 1 when true, 0 when false.
  static SizeExpr eq(const SizeExpr &a, const SizeExpr &b);
  static SizeExpr le(const SizeExpr &a, const SizeExpr &b);
  static SizeExpr both(const SizeExpr &a, const SizeExpr &b);

  bool operator==(const SizeExpr &other) const {
    return constant == other.constant && text == other.text;
  }

private:
  SizeExpr(std::string text) : text(std::move(text)) {}
  static SizeExpr binary(const SizeExpr &a, const SizeExpr &b,
                         llvm::StringRef op);
  static SizeExpr call(llvm::StringRef fn, const SizeExpr &a,
                       const SizeExpr &b);

  std::optional<int64_t> constant;
  /// Set when not constant; an atom (symbol, call) or a parenthesized
  /// expression.
  std::string text;
};

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_SIZEEXPR_H
