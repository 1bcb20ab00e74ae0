//===- Expr.h - Size expressions of bundle manifests ------------*- C++ -*-===//
//
// The small integer language of docs/bundle-format.md ("Expressions"):
// 64-bit signed integers, symbols, + - * / % (floor division and the
// matching remainder), ceildiv/min/max, parentheses, and in `checks` also
// comparisons and &&. Manifests are untrusted, so parsing bounds length and
// nesting, and evaluation reports overflow and division by zero instead of
// wrapping or trapping.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_SRC_EXPR_H
#define SIEVE_RUNTIME_SRC_EXPR_H

#include "Status.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sieve::rt {

/// A parsed expression; cheap to copy (the tree is shared and immutable).
class Expr {
public:
  /// Which operators an expression may use.
  enum class Mode {
    /// Sizes, grids, scalar arguments: arithmetic only.
    Arithmetic,
    /// `checks`: arithmetic, comparisons (== != < <= > >=) and &&.
    Predicate,
  };

  /// The null expression (no value).
  Expr() = default;

  /// An integer constant, as a manifest writes it as a JSON number.
  static Expr constant(int64_t value);

  /// Parses `text`. Identifiers must be names in `symbols`; a symbol's
  /// index in that list is its index in the values given to evaluate().
  static Status parse(const std::string &text,
                      const std::vector<std::string> &symbols, Mode mode,
                      Expr &result);

  bool isNull() const { return !root; }
  /// The source text ("ceildiv(s0, 64)"; a constant's decimal digits).
  const std::string &getText() const { return text; }
  /// The value, if the expression uses no symbol.
  std::optional<int64_t> getConstant() const;
  /// Indices of the symbols the expression uses, ascending, no duplicates.
  const std::vector<std::size_t> &getSymbols() const { return symbols; }

  /// Evaluates with `values[i]` for symbol i. Overflow and division or
  /// remainder by zero are errors whose message quotes the expression and
  /// the values of the symbols it uses (`names` gives their names).
  Status evaluate(const std::vector<int64_t> &values,
                  const std::vector<std::string> &names, int64_t &result) const;

  struct Node;

private:
  std::shared_ptr<const Node> root;
  std::string text;
  std::vector<std::size_t> symbols;
};

/// Floor division and its remainder (sign of the divisor), ceiling division;
/// false on division by zero or overflow (INT64_MIN / -1).
bool floorDivide(int64_t a, int64_t b, int64_t &result);
bool floorRemainder(int64_t a, int64_t b, int64_t &result);
bool ceilDivide(int64_t a, int64_t b, int64_t &result);

} // namespace sieve::rt

#endif // SIEVE_RUNTIME_SRC_EXPR_H
