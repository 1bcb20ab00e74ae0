//===- Status.h - Errors inside the runtime ---------------------*- C++ -*-===//
//
// The runtime's internal error type: a sieve_status code and a message. The
// C API turns it into a return code and the thread's last-error message, so
// every layer adds the context it knows ("input 'q' (#0): ...") and nothing
// throws across the C boundary.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_SRC_STATUS_H
#define SIEVE_RUNTIME_SRC_STATUS_H

#include "sieve/runtime.h"

#include <string>
#include <utility>

namespace sieve::rt {

/// Success, or an error code with a message. Must be looked at.
class [[nodiscard]] Status {
public:
  /// Success.
  Status() = default;
  Status(sieve_status code, std::string message)
      : code(code), message(std::move(message)) {}

  bool isOk() const { return code == SIEVE_OK; }
  sieve_status getCode() const { return code; }
  const std::string &getMessage() const { return message; }

  /// Puts `context` and ": " before the message of an error.
  Status &&withContext(const std::string &context) && {
    if (!isOk())
      message = context + ": " + message;
    return std::move(*this);
  }

private:
  sieve_status code = SIEVE_OK;
  std::string message;
};

inline Status invalidArgument(std::string message) {
  return Status(SIEVE_ERROR_INVALID_ARGUMENT, std::move(message));
}
inline Status invalidBundle(std::string message) {
  return Status(SIEVE_ERROR_INVALID_BUNDLE, std::move(message));
}
inline Status failedPrecondition(std::string message) {
  return Status(SIEVE_ERROR_FAILED_PRECONDITION, std::move(message));
}
inline Status unsupported(std::string message) {
  return Status(SIEVE_ERROR_UNSUPPORTED, std::move(message));
}
inline Status unavailable(std::string message) {
  return Status(SIEVE_ERROR_UNAVAILABLE, std::move(message));
}
inline Status deviceError(std::string message) {
  return Status(SIEVE_ERROR_DEVICE, std::move(message));
}

} // namespace sieve::rt

/// Returns the status of `expr` from the enclosing function if it failed.
#define SIEVE_RETURN_IF_ERROR(expr)                                            \
  do {                                                                         \
    ::sieve::rt::Status sieveStatus_ = (expr);                                 \
    if (!sieveStatus_.isOk())                                                  \
      return sieveStatus_;                                                     \
  } while (false)

#endif // SIEVE_RUNTIME_SRC_STATUS_H
