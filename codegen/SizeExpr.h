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
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mlir {
namespace sieve {

class SizeExpr {
public:
  SizeExpr(int64_t value = 0) : constant(value) {}
  static SizeExpr symbol(llvm::StringRef name);

  bool isConstant() const { return constant.has_value(); }
  /// Whether the value is >= 0 whatever the symbols (sizes, >= 0) are.
  bool isKnownNonNegative() const;
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
    return constant == other.constant && terms == other.terms &&
           offset == other.offset;
  }

private:
  /// A product of atoms, sorted.
  using Monomial = std::vector<std::string>;

  /// An atom: a symbol or an expression SizeExpr does not look into.
  static SizeExpr atom(std::string text, bool nonNegative);
  /// The atom "(a op b)", of unknown sign.
  static SizeExpr binary(const SizeExpr &a, const SizeExpr &b,
                         llvm::StringRef op);
  /// sum(terms) + offset, folded to a constant when there are no terms.
  static SizeExpr polynomial(std::map<Monomial, int64_t> terms,
                             int64_t offset, std::set<std::string> signedAtoms);
  /// Whether every coefficient and the offset are multiples of `divisor`.
  bool isMultipleOf(int64_t divisor) const;

  std::optional<int64_t> constant;
  /// When not constant: sum of coefficient * monomial, plus offset.
  std::map<Monomial, int64_t> terms;
  int64_t offset = 0;
  /// The atoms that may be negative (symbols are sizes, >= 0); max/min and
  /// division folds need to know.
  std::set<std::string> signedAtoms;
};

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_SIZEEXPR_H
