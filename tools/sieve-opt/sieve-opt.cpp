//===- sieve-opt.cpp - The Sieve optimizer driver -------------------------===//
//
// mlir-opt with Sieve's dialect and passes: every upstream dialect, pass and
// option (pass and dialect plugins, -split-input-file, -verify-diagnostics,
// --mlir-print-ir-after-all, ...) works as in the stock tool.
//
//===----------------------------------------------------------------------===//

#include "tools/RegisterSieve.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#ifndef SIEVE_VERSION
#define SIEVE_VERSION "unknown"
#endif

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::sieve::registerAllSievePasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::sieve::registerAllSieveDialects(registry);

  llvm::cl::AddExtraVersionPrinter([](llvm::raw_ostream &os) {
    os << "Sieve version " SIEVE_VERSION " (built with LLVM/MLIR "
          LLVM_VERSION_STRING ")\n";
  });

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "Sieve optimizer driver\n", registry));
}
