//===- SizeExpr.cpp - Sizes as expressions of dynamic dimensions ----------===//

#include "codegen/SizeExpr.h"

#include "llvm/Support/MathExtras.h"

#include <algorithm>

using namespace mlir::sieve;

SizeExpr SizeExpr::atom(std::string text, bool nonNegative) {
  SizeExpr result;
  result.constant.reset();
  if (!nonNegative)
    result.signedAtoms.insert(text);
  result.terms[{std::move(text)}] = 1;
  return result;
}

SizeExpr SizeExpr::polynomial(std::map<Monomial, int64_t> terms,
                              int64_t offset,
                              std::set<std::string> signedAtoms) {
  for (auto it = terms.begin(); it != terms.end();)
    it = it->second == 0 ? terms.erase(it) : std::next(it);
  if (terms.empty())
    return offset;
  SizeExpr result;
  result.constant.reset();
  result.terms = std::move(terms);
  result.offset = offset;
  result.signedAtoms = std::move(signedAtoms);
  return result;
}

bool SizeExpr::isKnownNonNegative() const {
  if (constant)
    return *constant >= 0;
  if (offset < 0)
    return false;
  return std::all_of(terms.begin(), terms.end(), [&](const auto &term) {
    return term.second >= 0 &&
           std::none_of(term.first.begin(), term.first.end(),
                        [&](const std::string &atom) {
                          return signedAtoms.count(atom);
                        });
  });
}

bool SizeExpr::isMultipleOf(int64_t divisor) const {
  if (constant)
    return *constant % divisor == 0;
  if (offset % divisor != 0)
    return false;
  return std::all_of(terms.begin(), terms.end(), [&](const auto &term) {
    return term.second % divisor == 0;
  });
}

SizeExpr SizeExpr::symbol(llvm::StringRef name) {
  return atom(name.str(), /*nonNegative=*/true);
}

std::string SizeExpr::str() const {
  if (constant)
    return std::to_string(*constant);
  // Terms in order, subtractions written as such: (s0 * 4 - t * 2 + 16).
  std::vector<std::pair<std::string, bool>> parts; // text, negative
  for (const auto &[monomial, coefficient] : terms) {
    std::string text;
    for (const std::string &factor : monomial)
      text += (text.empty() ? "" : " * ") + factor;
    int64_t magnitude = coefficient < 0 ? -coefficient : coefficient;
    if (magnitude != 1)
      text += " * " + std::to_string(magnitude);
    parts.push_back({std::move(text), coefficient < 0});
  }
  if (offset)
    parts.push_back({std::to_string(offset < 0 ? -offset : offset),
                     offset < 0});
  if (parts.size() == 1 && !parts.front().second &&
      terms.begin()->first.size() == 1 && terms.begin()->second == 1)
    return parts.front().first;
  // Additions first, so that a subtraction never starts the expression
  // unless all of it is subtracted.
  std::stable_partition(parts.begin(), parts.end(),
                        [](const auto &part) { return !part.second; });
  std::string text;
  for (const auto &[part, negative] : parts) {
    if (text.empty())
      text = negative ? "0 - " + part : part;
    else
      text += (negative ? " - " : " + ") + part;
  }
  return "(" + text + ")";
}

llvm::json::Value SizeExpr::toJSON() const {
  if (constant)
    return *constant;
  return str();
}

SizeExpr SizeExpr::binary(const SizeExpr &a, const SizeExpr &b,
                          llvm::StringRef op) {
  return atom("(" + a.str() + " " + op.str() + " " + b.str() + ")",
              /*nonNegative=*/false);
}

static std::set<std::string> unite(const std::set<std::string> &a,
                                   const std::set<std::string> &b) {
  std::set<std::string> result = a;
  result.insert(b.begin(), b.end());
  return result;
}

namespace mlir {
namespace sieve {
SizeExpr operator+(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant)
    return *a.constant + *b.constant;
  std::map<SizeExpr::Monomial, int64_t> terms = a.terms;
  for (const auto &[monomial, coefficient] : b.terms)
    terms[monomial] += coefficient;
  return SizeExpr::polynomial(std::move(terms),
                              a.constant.value_or(a.offset) +
                                  b.constant.value_or(b.offset),
                              unite(a.signedAtoms, b.signedAtoms));
}

SizeExpr operator-(const SizeExpr &a, const SizeExpr &b) {
  return a + b * SizeExpr(-1);
}

SizeExpr operator*(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant)
    return *a.constant * *b.constant;
  if (b.constant)
    return b * a;
  std::set<std::string> signedAtoms = unite(a.signedAtoms, b.signedAtoms);
  if (a.constant) {
    std::map<SizeExpr::Monomial, int64_t> terms = b.terms;
    for (auto &term : terms)
      term.second *= *a.constant;
    return SizeExpr::polynomial(std::move(terms), *a.constant * b.offset,
                                std::move(signedAtoms));
  }
  // Distribute (a.terms + a.offset) * (b.terms + b.offset).
  std::map<SizeExpr::Monomial, int64_t> terms;
  for (const auto &[ma, ca] : a.terms) {
    for (const auto &[mb, cb] : b.terms) {
      SizeExpr::Monomial product = ma;
      product.insert(product.end(), mb.begin(), mb.end());
      std::sort(product.begin(), product.end());
      terms[product] += ca * cb;
    }
    terms[ma] += ca * b.offset;
  }
  for (const auto &[mb, cb] : b.terms)
    terms[mb] += a.offset * cb;
  return SizeExpr::polynomial(std::move(terms), a.offset * b.offset,
                              std::move(signedAtoms));
}

SizeExpr operator/(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant && *b.constant != 0)
    return llvm::divideFloorSigned(*a.constant, *b.constant);
  if (b.constant == 1)
    return a;
  // Exact when every coefficient is a multiple of the divisor.
  if (!a.constant && b.constant && *b.constant > 0 &&
      a.isMultipleOf(*b.constant)) {
    std::map<SizeExpr::Monomial, int64_t> terms = a.terms;
    for (auto &term : terms)
      term.second /= *b.constant;
    return SizeExpr::polynomial(std::move(terms), a.offset / *b.constant,
                                a.signedAtoms);
  }
  return SizeExpr::atom("(" + a.str() + " / " + b.str() + ")",
                        a.isKnownNonNegative() && b.constant > 0);
}

SizeExpr operator%(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant && *b.constant != 0)
    return *a.constant - llvm::divideFloorSigned(*a.constant, *b.constant) *
                             *b.constant;
  if (b.constant == 1)
    return 0;
  if (!a.constant && b.constant && *b.constant > 0 &&
      a.isMultipleOf(*b.constant))
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
  if (!a.constant && b.constant && *b.constant > 0 &&
      a.isMultipleOf(*b.constant))
    return a / b;
  return atom("ceildiv(" + a.str() + ", " + b.str() + ")",
              a.isKnownNonNegative() && b.constant > 0);
}

/// Whether a - b >= 0 for all symbol values: every coefficient of the
/// difference and its offset are >= 0 and its atoms are non-negative.
static bool isAtLeast(const SizeExpr &a, const SizeExpr &b) {
  SizeExpr difference = a - b;
  if (std::optional<int64_t> constant = difference.getConstant())
    return *constant >= 0;
  return difference.isKnownNonNegative();
}

SizeExpr SizeExpr::min(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant)
    return std::min(*a.constant, *b.constant);
  if (isAtLeast(b, a))
    return a;
  if (isAtLeast(a, b))
    return b;
  return atom("min(" + a.str() + ", " + b.str() + ")",
              a.isKnownNonNegative() && b.isKnownNonNegative());
}

SizeExpr SizeExpr::max(const SizeExpr &a, const SizeExpr &b) {
  if (a.constant && b.constant)
    return std::max(*a.constant, *b.constant);
  if (isAtLeast(a, b))
    return a;
  if (isAtLeast(b, a))
    return b;
  return atom("max(" + a.str() + ", " + b.str() + ")",
              a.isKnownNonNegative() || b.isKnownNonNegative());
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
