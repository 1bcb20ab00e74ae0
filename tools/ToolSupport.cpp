//===- ToolSupport.cpp - What Sieve's command-line tools share ------------===//

#include "tools/ToolSupport.h"

#include "passes/ScalarCode.h"

#include "mlir/Bytecode/BytecodeReader.h"
#include "mlir/IR/Block.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CrashRecoveryContext.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::sieve;

LogicalResult
mlir::sieve::checkBytecodeReadable(llvm::MemoryBufferRef buffer,
                                   const DialectRegistry &registry,
                                   StringRef tool) {
  if (!isBytecode(buffer))
    return success();
  // After a crash the context may be in any state: it is leaked, not
  // destroyed. The reader's own errors are left to the real parse.
  auto *context = new MLIRContext(registry, MLIRContext::Threading::DISABLED);
  context->getDiagEngine().registerHandler([](Diagnostic &) {});
  llvm::CrashRecoveryContext::Enable();
  bool survived;
  {
    llvm::CrashRecoveryContext recovery;
    survived = recovery.RunSafely([&] {
      Block block;
      (void)readBytecodeFile(buffer, &block, ParserConfig(context));
    });
  }
  llvm::CrashRecoveryContext::Disable();
  if (!survived) {
    llvm::errs() << tool << ": error: " << buffer.getBufferIdentifier()
                 << ": malformed MLIR bytecode\n";
    return failure();
  }
  delete context;
  return success();
}

FailureOr<func::FuncOp>
mlir::sieve::findEntryFunction(ModuleOp module, StringRef requested,
                               StringRef fileName, std::string &error) {
  SmallVector<func::FuncOp> candidates;
  std::string names;
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (fn.isDeclaration())
      continue;
    names += (names.empty() ? "@" : ", @") + fn.getName().str();
    if (!requested.empty() ? fn.getName() == requested : fn.isPublic())
      candidates.push_back(fn);
  }
  if (candidates.size() == 1)
    return candidates.front();
  if (names.empty())
    names = "none";
  if (!requested.empty())
    error = ("no function @" + requested + " in '" + fileName +
             "' (functions: " + names + ")")
                .str();
  else
    error = ("'" + fileName + "' has " +
             (candidates.empty() ? "no public function"
                                 : "several public functions") +
             "; choose one with --entry (functions: " + names + ")")
                .str();
  return failure();
}

OneLineDiagnostics::OneLineDiagnostics(MLIRContext *context, StringRef tool)
    : tool(tool.str()),
      handler(context, [this](Diagnostic &diag) {
        const char *kind =
            diag.getSeverity() == DiagnosticSeverity::Error     ? "error"
            : diag.getSeverity() == DiagnosticSeverity::Warning ? "warning"
                                                                : nullptr;
        if (!kind)
          return success();
        if (diag.getSeverity() == DiagnosticSeverity::Error)
          ++errors;
        llvm::errs() << this->tool << ": " << kind << ": "
                     << formatLocation(diag.getLocation()) << ": "
                     << diag.str() << "\n";
        return success();
      }) {
  context->printOpOnDiagnostic(false);
}
