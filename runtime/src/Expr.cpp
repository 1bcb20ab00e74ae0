//===- Expr.cpp - Size expressions of bundle manifests --------------------===//
//
// A recursive-descent parser into an immutable tree, and a checked
// evaluator. Grammar (lowest precedence first):
//
//   predicate  := comparison ('&&' comparison)*          (Mode::Predicate)
//   comparison := sum (('=='|'!='|'<'|'<='|'>'|'>=') sum)?
//   sum        := product (('+'|'-') product)*
//   product    := unary (('*'|'/'|'%') unary)*
//   unary      := '-' unary | primary
//   primary    := INTEGER | SYMBOL | ('ceildiv'|'min'|'max') '(' top ',' top
//   ')'
//               | '(' top ')'
//
// where `top` is `predicate` in Mode::Predicate and `sum` otherwise.
//
//===----------------------------------------------------------------------===//

#include "Expr.h"

#include <algorithm>
#include <cctype>
#include <limits>

using namespace sieve::rt;

namespace {
/// Bounds on untrusted input: a manifest cannot make the parser recurse
/// without limit or hold megabytes of expression text.
constexpr std::size_t kMaxTextLength = 4096;
constexpr int kMaxDepth = 64;

enum class Op {
  Constant,
  Symbol,
  Negate,
  Add,
  Sub,
  Mul,
  Div,
  Rem,
  CeilDiv,
  Min,
  Max,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  And,
};
} // namespace

struct Expr::Node {
  Op op = Op::Constant;
  int64_t value = 0;      // Op::Constant
  std::size_t symbol = 0; // Op::Symbol
  std::shared_ptr<const Node> lhs, rhs;
};

using NodePtr = std::shared_ptr<const Expr::Node>;

//===----------------------------------------------------------------------===//
// Checked arithmetic
//===----------------------------------------------------------------------===//

bool sieve::rt::floorDivide(int64_t a, int64_t b, int64_t &result) {
  if (b == 0 || (a == std::numeric_limits<int64_t>::min() && b == -1))
    return false;
  int64_t quotient = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0)))
    --quotient;
  result = quotient;
  return true;
}

bool sieve::rt::floorRemainder(int64_t a, int64_t b, int64_t &result) {
  if (b == 0)
    return false;
  // INT64_MIN % -1 traps on x86 although the remainder is 0.
  if (b == -1) {
    result = 0;
    return true;
  }
  int64_t remainder = a % b;
  if (remainder != 0 && ((remainder < 0) != (b < 0)))
    remainder += b;
  result = remainder;
  return true;
}

bool sieve::rt::ceilDivide(int64_t a, int64_t b, int64_t &result) {
  if (b == 0 || (a == std::numeric_limits<int64_t>::min() && b == -1))
    return false;
  int64_t quotient = a / b;
  if (a % b != 0 && ((a < 0) == (b < 0)))
    ++quotient;
  result = quotient;
  return true;
}

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

namespace {
class Parser {
public:
  Parser(const std::string &text, const std::vector<std::string> &symbols,
         Expr::Mode mode)
      : text(text), symbols(symbols), mode(mode) {}

  Status parse(NodePtr &root, std::vector<std::size_t> &used) {
    SIEVE_RETURN_IF_ERROR(parseTop(root, 0));
    skipSpace();
    if (pos != text.size()) {
      if (mode == Expr::Mode::Arithmetic &&
          std::string("=!<>&").find(text[pos]) != std::string::npos)
        return error("comparisons and && are only allowed in checks");
      return error("unexpected '" + std::string(1, text[pos]) + "'");
    }
    std::sort(usedSymbols.begin(), usedSymbols.end());
    usedSymbols.erase(std::unique(usedSymbols.begin(), usedSymbols.end()),
                      usedSymbols.end());
    used = usedSymbols;
    return Status();
  }

private:
  Status error(const std::string &what) const {
    return invalidBundle("expression '" + text + "': " + what + " at column " +
                         std::to_string(pos + 1));
  }

  void skipSpace() {
    while (pos < text.size() &&
           std::isspace(static_cast<unsigned char>(text[pos])))
      ++pos;
  }

  /// Consumes `token` if it comes next.
  bool accept(const char *token) {
    skipSpace();
    std::size_t length = std::char_traits<char>::length(token);
    if (text.compare(pos, length, token) != 0)
      return false;
    pos += length;
    return true;
  }

  Status expect(const char *token) {
    if (accept(token))
      return Status();
    return error(std::string("expected '") + token + "'");
  }

  static NodePtr makeBinary(Op op, NodePtr lhs, NodePtr rhs) {
    auto node = std::make_shared<Expr::Node>();
    node->op = op;
    node->lhs = std::move(lhs);
    node->rhs = std::move(rhs);
    return node;
  }

  Status parseTop(NodePtr &result, int depth) {
    if (depth > kMaxDepth)
      return error("nested more than " + std::to_string(kMaxDepth) +
                   " levels deep");
    if (mode == Expr::Mode::Predicate)
      return parseConjunction(result, depth);
    return parseSum(result, depth);
  }

  Status parseConjunction(NodePtr &result, int depth) {
    SIEVE_RETURN_IF_ERROR(parseComparison(result, depth));
    while (accept("&&")) {
      NodePtr rhs;
      SIEVE_RETURN_IF_ERROR(parseComparison(rhs, depth));
      result = makeBinary(Op::And, result, rhs);
    }
    return Status();
  }

  Status parseComparison(NodePtr &result, int depth) {
    SIEVE_RETURN_IF_ERROR(parseSum(result, depth));
    static const std::pair<const char *, Op> kComparisons[] = {
        {"==", Op::Eq}, {"!=", Op::Ne}, {"<=", Op::Le},
        {">=", Op::Ge}, {"<", Op::Lt},  {">", Op::Gt}};
    for (const auto &[token, op] : kComparisons) {
      if (!accept(token))
        continue;
      NodePtr rhs;
      SIEVE_RETURN_IF_ERROR(parseSum(rhs, depth));
      result = makeBinary(op, result, rhs);
      // "a < b < c" reads as a chain but would compare a boolean with c.
      skipSpace();
      if (pos < text.size() &&
          std::string("=!<>").find(text[pos]) != std::string::npos)
        return error("comparisons do not chain; use &&");
      return Status();
    }
    return Status();
  }

  Status parseSum(NodePtr &result, int depth) {
    SIEVE_RETURN_IF_ERROR(parseProduct(result, depth));
    while (true) {
      Op op;
      if (accept("+"))
        op = Op::Add;
      else if (accept("-"))
        op = Op::Sub;
      else
        return Status();
      NodePtr rhs;
      SIEVE_RETURN_IF_ERROR(parseProduct(rhs, depth));
      result = makeBinary(op, result, rhs);
    }
  }

  Status parseProduct(NodePtr &result, int depth) {
    SIEVE_RETURN_IF_ERROR(parseUnary(result, depth));
    while (true) {
      Op op;
      if (accept("*"))
        op = Op::Mul;
      else if (accept("/"))
        op = Op::Div;
      else if (accept("%"))
        op = Op::Rem;
      else
        return Status();
      NodePtr rhs;
      SIEVE_RETURN_IF_ERROR(parseUnary(rhs, depth));
      result = makeBinary(op, result, rhs);
    }
  }

  Status parseUnary(NodePtr &result, int depth) {
    if (depth > kMaxDepth)
      return error("nested more than " + std::to_string(kMaxDepth) +
                   " levels deep");
    if (accept("-")) {
      NodePtr operand;
      SIEVE_RETURN_IF_ERROR(parseUnary(operand, depth + 1));
      auto node = std::make_shared<Expr::Node>();
      node->op = Op::Negate;
      node->lhs = std::move(operand);
      result = node;
      return Status();
    }
    return parsePrimary(result, depth);
  }

  Status parsePrimary(NodePtr &result, int depth) {
    skipSpace();
    if (pos == text.size())
      return error("expected a number, a symbol or '('");
    char c = text[pos];
    if (c == '(') {
      ++pos;
      SIEVE_RETURN_IF_ERROR(parseTop(result, depth + 1));
      return expect(")");
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      uint64_t value = 0;
      std::size_t start = pos;
      while (pos < text.size() &&
             std::isdigit(static_cast<unsigned char>(text[pos]))) {
        value = value * 10 + static_cast<uint64_t>(text[pos++] - '0');
        // A literal may be -INT64_MIN's magnitude only as
        // "-9223372036854775808", which this grammar reads as a negation; keep
        // literals in range.
        if (value >
            static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          pos = start;
          return error("integer literal out of the 64-bit range");
        }
      }
      auto node = std::make_shared<Expr::Node>();
      node->value = static_cast<int64_t>(value);
      result = node;
      return Status();
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t start = pos;
      while (pos < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[pos])) ||
              text[pos] == '_'))
        ++pos;
      std::string name = text.substr(start, pos - start);
      std::optional<Op> function;
      if (name == "ceildiv")
        function = Op::CeilDiv;
      else if (name == "min")
        function = Op::Min;
      else if (name == "max")
        function = Op::Max;
      if (function) {
        NodePtr lhs, rhs;
        SIEVE_RETURN_IF_ERROR(expect("("));
        SIEVE_RETURN_IF_ERROR(parseTop(lhs, depth + 1));
        SIEVE_RETURN_IF_ERROR(expect(","));
        SIEVE_RETURN_IF_ERROR(parseTop(rhs, depth + 1));
        SIEVE_RETURN_IF_ERROR(expect(")"));
        result = makeBinary(*function, lhs, rhs);
        return Status();
      }
      auto it = std::find(symbols.begin(), symbols.end(), name);
      if (it == symbols.end()) {
        pos = start;
        return error("unknown symbol '" + name + "'");
      }
      auto node = std::make_shared<Expr::Node>();
      node->op = Op::Symbol;
      node->symbol = static_cast<std::size_t>(it - symbols.begin());
      usedSymbols.push_back(node->symbol);
      result = node;
      return Status();
    }
    return error("unexpected '" + std::string(1, c) + "'");
  }

  const std::string &text;
  const std::vector<std::string> &symbols;
  Expr::Mode mode;
  std::size_t pos = 0;
  std::vector<std::size_t> usedSymbols;
};
} // namespace

Expr Expr::constant(int64_t value) {
  auto node = std::make_shared<Node>();
  node->value = value;
  Expr expr;
  expr.root = node;
  expr.text = std::to_string(value);
  return expr;
}

Status Expr::parse(const std::string &text,
                   const std::vector<std::string> &symbols, Mode mode,
                   Expr &result) {
  if (text.size() > kMaxTextLength)
    return invalidBundle("expression of " + std::to_string(text.size()) +
                         " characters; at most " +
                         std::to_string(kMaxTextLength) + " are allowed");
  if (text.find('\0') != std::string::npos)
    return invalidBundle("expression contains a NUL character");
  Expr expr;
  expr.text = text;
  Parser parser(text, symbols, mode);
  NodePtr root;
  SIEVE_RETURN_IF_ERROR(parser.parse(root, expr.symbols));
  expr.root = root;
  result = std::move(expr);
  return Status();
}

//===----------------------------------------------------------------------===//
// Evaluation
//===----------------------------------------------------------------------===//

namespace {
enum class EvalError { None, Overflow, DivisionByZero };

EvalError evaluateNode(const Expr::Node &node,
                       const std::vector<int64_t> &values, int64_t &result) {
  switch (node.op) {
  case Op::Constant:
    result = node.value;
    return EvalError::None;
  case Op::Symbol:
    result = values[node.symbol];
    return EvalError::None;
  case Op::Negate: {
    int64_t operand;
    if (EvalError e = evaluateNode(*node.lhs, values, operand);
        e != EvalError::None)
      return e;
    if (__builtin_sub_overflow(int64_t{0}, operand, &result))
      return EvalError::Overflow;
    return EvalError::None;
  }
  case Op::And: {
    // Short-circuit, so that "s0 > 0 && 4096 / s0 >= 2" is a valid check.
    int64_t lhs;
    if (EvalError e = evaluateNode(*node.lhs, values, lhs);
        e != EvalError::None)
      return e;
    if (lhs == 0) {
      result = 0;
      return EvalError::None;
    }
    int64_t rhs;
    if (EvalError e = evaluateNode(*node.rhs, values, rhs);
        e != EvalError::None)
      return e;
    result = rhs != 0;
    return EvalError::None;
  }
  default:
    break;
  }

  int64_t lhs, rhs;
  if (EvalError e = evaluateNode(*node.lhs, values, lhs); e != EvalError::None)
    return e;
  if (EvalError e = evaluateNode(*node.rhs, values, rhs); e != EvalError::None)
    return e;
  switch (node.op) {
  case Op::Add:
    return __builtin_add_overflow(lhs, rhs, &result) ? EvalError::Overflow
                                                     : EvalError::None;
  case Op::Sub:
    return __builtin_sub_overflow(lhs, rhs, &result) ? EvalError::Overflow
                                                     : EvalError::None;
  case Op::Mul:
    return __builtin_mul_overflow(lhs, rhs, &result) ? EvalError::Overflow
                                                     : EvalError::None;
  case Op::Div:
  case Op::Rem:
  case Op::CeilDiv: {
    if (rhs == 0)
      return EvalError::DivisionByZero;
    bool ok = node.op == Op::Div   ? floorDivide(lhs, rhs, result)
              : node.op == Op::Rem ? floorRemainder(lhs, rhs, result)
                                   : ceilDivide(lhs, rhs, result);
    return ok ? EvalError::None : EvalError::Overflow;
  }
  case Op::Min:
    result = std::min(lhs, rhs);
    return EvalError::None;
  case Op::Max:
    result = std::max(lhs, rhs);
    return EvalError::None;
  case Op::Eq:
    result = lhs == rhs;
    return EvalError::None;
  case Op::Ne:
    result = lhs != rhs;
    return EvalError::None;
  case Op::Lt:
    result = lhs < rhs;
    return EvalError::None;
  case Op::Le:
    result = lhs <= rhs;
    return EvalError::None;
  case Op::Gt:
    result = lhs > rhs;
    return EvalError::None;
  case Op::Ge:
    result = lhs >= rhs;
    return EvalError::None;
  default:
    return EvalError::Overflow; // unreachable: every Op is handled above
  }
}
} // namespace

std::optional<int64_t> Expr::getConstant() const {
  if (!root || !symbols.empty())
    return std::nullopt;
  int64_t value;
  if (evaluateNode(*root, {}, value) != EvalError::None)
    return std::nullopt;
  return value;
}

Status Expr::evaluate(const std::vector<int64_t> &values,
                      const std::vector<std::string> &names,
                      int64_t &result) const {
  if (!root)
    return Status(SIEVE_ERROR_INTERNAL, "evaluating a null expression");
  for (std::size_t symbol : symbols)
    if (symbol >= values.size())
      return Status(SIEVE_ERROR_INTERNAL,
                    "expression '" + text + "' uses symbol #" +
                        std::to_string(symbol) + " but only " +
                        std::to_string(values.size()) + " have values");
  EvalError error = evaluateNode(*root, values, result);
  if (error == EvalError::None)
    return Status();
  std::string message =
      "'" + text + "' " +
      (error == EvalError::Overflow ? "overflows 64-bit integers"
                                    : "divides by zero");
  std::string bindings;
  for (std::size_t symbol : symbols)
    bindings +=
        (bindings.empty() ? "" : ", ") +
        (symbol < names.size() ? names[symbol] : "#" + std::to_string(symbol)) +
        " = " + std::to_string(values[symbol]);
  if (!bindings.empty())
    message += " with " + bindings;
  return invalidArgument(message);
}
