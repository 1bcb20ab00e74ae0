//===- ToolSupport.h - What Sieve's command-line tools share ----*- C++ -*-===//
//
// Choosing the function to run or compile, and reporting diagnostics as one
// "<tool>: error: <file:line:col>: <message>" line each.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_TOOLS_TOOLSUPPORT_H
#define SIEVE_TOOLS_TOOLSUPPORT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "llvm/Support/MemoryBufferRef.h"

#include <string>

namespace mlir {
namespace sieve {

/// The function named `requested`, or the module's only public function when
/// `requested` is empty. On failure `error` says what exists to choose from.
FailureOr<func::FuncOp> findEntryFunction(ModuleOp module, StringRef requested,
                                          StringRef fileName,
                                          std::string &error);

/// MLIR 22's bytecode reader can crash (not fail) on a corrupted file. When
/// `buffer` is bytecode, reads it once in a context of its own inside a
/// crash-recovery context; if that crashes, prints "<tool>: error: <name>:
/// malformed MLIR bytecode" and fails, so that the tool exits cleanly before
/// its real parse. Text and readable bytecode pass.
LogicalResult checkBytecodeReadable(llvm::MemoryBufferRef buffer,
                                    const DialectRegistry &registry,
                                    StringRef tool);

/// Prints errors (and warnings) of `context` as single lines prefixed with
/// `tool`, dropping notes; counts the errors.
class OneLineDiagnostics {
public:
  OneLineDiagnostics(MLIRContext *context, StringRef tool);
  int getErrorCount() const { return errors; }

private:
  std::string tool;
  int errors = 0;
  ScopedDiagnosticHandler handler;
};

} // namespace sieve
} // namespace mlir

#endif // SIEVE_TOOLS_TOOLSUPPORT_H
