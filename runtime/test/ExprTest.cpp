//===- ExprTest.cpp - The manifest expression language --------------------===//

#include "Expr.h"

#include <gtest/gtest.h>

#include <limits>

using namespace sieve::rt;

namespace {
const std::vector<std::string> kSymbols = {"s0", "s1"};

/// Parses and evaluates `text` with s0 and s1; returns the status.
Status evaluate(const std::string &text, int64_t s0, int64_t s1,
                int64_t &result, Expr::Mode mode = Expr::Mode::Arithmetic) {
  Expr expr;
  Status status = Expr::parse(text, kSymbols, mode, expr);
  if (!status.isOk())
    return status;
  return expr.evaluate({s0, s1}, kSymbols, result);
}

int64_t value(const std::string &text, int64_t s0 = 0, int64_t s1 = 0,
              Expr::Mode mode = Expr::Mode::Arithmetic) {
  int64_t result = 0;
  Status status = evaluate(text, s0, s1, result, mode);
  EXPECT_TRUE(status.isOk()) << text << ": " << status.getMessage();
  return result;
}

int64_t predicate(const std::string &text, int64_t s0 = 0, int64_t s1 = 0) {
  return value(text, s0, s1, Expr::Mode::Predicate);
}

std::string parseError(const std::string &text,
                       Expr::Mode mode = Expr::Mode::Arithmetic) {
  Expr expr;
  Status status = Expr::parse(text, kSymbols, mode, expr);
  EXPECT_FALSE(status.isOk()) << text << " parsed";
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_INVALID_BUNDLE);
  return status.getMessage();
}

std::string evaluationError(const std::string &text, int64_t s0 = 0,
                            int64_t s1 = 0) {
  int64_t result;
  Status status = evaluate(text, s0, s1, result);
  EXPECT_FALSE(status.isOk()) << text << " evaluated to " << result;
  return status.getMessage();
}
} // namespace

TEST(ExprTest, ArithmeticAndPrecedence) {
  EXPECT_EQ(value("42"), 42);
  EXPECT_EQ(value("1 + 2 * 3"), 7);
  EXPECT_EQ(value("(1 + 2) * 3"), 9);
  EXPECT_EQ(value("10 - 2 - 3"), 5);
  EXPECT_EQ(value("100 / 10 / 5"), 2);
  EXPECT_EQ(value("-3 + 5"), 2);
  EXPECT_EQ(value("--3"), 3);
  EXPECT_EQ(value("2 * -3"), -6);
  EXPECT_EQ(value("  1024*s0 ", 3), 3072);
  EXPECT_EQ(value("s0 * s1 + s0", 3, 4), 15);
}

TEST(ExprTest, DivisionRoundsTowardNegativeInfinity) {
  EXPECT_EQ(value("7 / 2"), 3);
  EXPECT_EQ(value("-7 / 2"), -4);
  EXPECT_EQ(value("7 / -2"), -4);
  EXPECT_EQ(value("-7 / -2"), 3);
  EXPECT_EQ(value("-8 / 2"), -4);
  // The remainder takes the divisor's sign, so a == (a / b) * b + a % b.
  EXPECT_EQ(value("7 % 3"), 1);
  EXPECT_EQ(value("-7 % 3"), 2);
  EXPECT_EQ(value("7 % -3"), -2);
  EXPECT_EQ(value("-7 % -3"), -1);
  for (int64_t a : {-9, -7, -1, 0, 1, 7, 9})
    for (int64_t b : {-4, -3, -1, 1, 3, 4})
      EXPECT_EQ(value("(s0 / s1) * s1 + s0 % s1", a, b), a) << a << " " << b;
}

TEST(ExprTest, Functions) {
  EXPECT_EQ(value("ceildiv(s0, 64)", 64), 1);
  EXPECT_EQ(value("ceildiv(s0, 64)", 65), 2);
  EXPECT_EQ(value("ceildiv(s0, 64)", 0), 0);
  EXPECT_EQ(value("ceildiv(-7, 2)"), -3);
  EXPECT_EQ(value("ceildiv(7, -2)"), -3);
  EXPECT_EQ(value("ceildiv(-7, -2)"), 4);
  EXPECT_EQ(value("min(s0, s1)", 3, -4), -4);
  EXPECT_EQ(value("max(s0, s1)", 3, -4), 3);
  EXPECT_EQ(value("max(min(s0, 512), 1) * 2", 4096), 1024);
}

TEST(ExprTest, Predicates) {
  EXPECT_EQ(predicate("s0 % 64 == 0 && s0 >= 64", 128), 1);
  EXPECT_EQ(predicate("s0 % 64 == 0 && s0 >= 64", 96), 0);
  EXPECT_EQ(predicate("s0 != s1", 1, 2), 1);
  EXPECT_EQ(predicate("s0 < s1", 2, 2), 0);
  EXPECT_EQ(predicate("s0 <= s1", 2, 2), 1);
  EXPECT_EQ(predicate("s0 > s1", 3, 2), 1);
  EXPECT_EQ(predicate("(s0 > 1) && (s1 > 1)", 3, 1), 0);
  // && short-circuits: the division is not evaluated for s0 = 0.
  EXPECT_EQ(predicate("s0 > 0 && 100 / s0 > 1", 0), 0);
  EXPECT_EQ(predicate("s0 > 0 && 100 / s0 > 1", 10), 1);
}

TEST(ExprTest, ComparisonsOnlyInChecks) {
  EXPECT_NE(parseError("s0 == 1").find("only allowed in checks"),
            std::string::npos);
  EXPECT_NE(parseError("s0 && 1").find("only allowed in checks"),
            std::string::npos);
  EXPECT_NE(parseError("1 < 2 < 3", Expr::Mode::Predicate).find("do not chain"),
            std::string::npos);
}

TEST(ExprTest, SyntaxErrors) {
  EXPECT_EQ(parseError("s2 + 1"),
            "expression 's2 + 1': unknown symbol 's2' at column 1");
  EXPECT_EQ(parseError(""),
            "expression '': expected a number, a symbol or '(' at column 1");
  EXPECT_EQ(parseError("1 +"),
            "expression '1 +': expected a number, a symbol or '(' at column 4");
  EXPECT_EQ(parseError("(1"), "expression '(1': expected ')' at column 3");
  EXPECT_EQ(parseError("min(1)"),
            "expression 'min(1)': expected ',' at column 6");
  EXPECT_EQ(parseError("1 2"), "expression '1 2': unexpected '2' at column 3");
  EXPECT_EQ(parseError("s0 $"),
            "expression 's0 $': unexpected '$' at column 4");
  EXPECT_NE(parseError("9223372036854775808").find("out of the 64-bit range"),
            std::string::npos);
  EXPECT_EQ(value("9223372036854775807"), std::numeric_limits<int64_t>::max());
}

TEST(ExprTest, BoundsOnUntrustedInput) {
  std::string deep = std::string(100, '(') + "1" + std::string(100, ')');
  EXPECT_NE(parseError(deep).find("nested more than 64 levels"),
            std::string::npos);
  std::string negations = std::string(100, '-') + "1";
  EXPECT_NE(parseError(negations).find("nested more than 64 levels"),
            std::string::npos);
  std::string longSum = "1";
  while (longSum.size() <= 4096)
    longSum += "+1";
  EXPECT_NE(parseError(longSum).find("at most 4096"), std::string::npos);
  EXPECT_NE(parseError(std::string("1\0", 2)).find("NUL"), std::string::npos);
}

TEST(ExprTest, OverflowAndDivisionByZeroAreErrors) {
  EXPECT_EQ(evaluationError("1024 / s0", 0),
            "'1024 / s0' divides by zero with s0 = 0");
  EXPECT_EQ(evaluationError("s1 % s0", 0, 5),
            "'s1 % s0' divides by zero with s0 = 0, s1 = 5");
  EXPECT_EQ(evaluationError("ceildiv(s0, 0)", 3),
            "'ceildiv(s0, 0)' divides by zero with s0 = 3");
  EXPECT_EQ(evaluationError("s0 * s0", int64_t{1} << 32),
            "'s0 * s0' overflows 64-bit integers with s0 = 4294967296");
  EXPECT_NE(evaluationError("9223372036854775807 + 1").find("overflows"),
            std::string::npos);
  EXPECT_NE(evaluationError("-9223372036854775807 - 2").find("overflows"),
            std::string::npos);
  int64_t min = std::numeric_limits<int64_t>::min();
  EXPECT_NE(evaluationError("s0 / -1", min).find("overflows"),
            std::string::npos);
  EXPECT_NE(evaluationError("ceildiv(s0, -1)", min).find("overflows"),
            std::string::npos);
  EXPECT_NE(evaluationError("-s0", min).find("overflows"), std::string::npos);
  // The remainder of INT64_MIN by -1 is 0, not a trap.
  EXPECT_EQ(value("s0 % -1", min), 0);
}

TEST(ExprTest, ConstantsAndSymbols) {
  Expr expr;
  ASSERT_TRUE(Expr::parse("ceildiv(1000, 64) * 2", kSymbols,
                          Expr::Mode::Arithmetic, expr)
                  .isOk());
  EXPECT_EQ(expr.getConstant(), 32);
  EXPECT_TRUE(expr.getSymbols().empty());
  ASSERT_TRUE(
      Expr::parse("s1 * s0 + s1", kSymbols, Expr::Mode::Arithmetic, expr)
          .isOk());
  EXPECT_FALSE(expr.getConstant());
  EXPECT_EQ(expr.getSymbols(), (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(expr.getText(), "s1 * s0 + s1");
  EXPECT_EQ(Expr::constant(-5).getConstant(), -5);
  EXPECT_EQ(Expr::constant(-5).getText(), "-5");
  // A constant that cannot be evaluated has no value.
  ASSERT_TRUE(
      Expr::parse("1 / 0", kSymbols, Expr::Mode::Arithmetic, expr).isOk());
  EXPECT_FALSE(expr.getConstant());
}
