//===- RegisterSieve.h - Register Sieve with a tool -------------*- C++ -*-===//
//
// The one place that lists what Sieve adds to an MLIR tool. sieve-opt,
// sieve-compile, sieve-run and SievePlugin.so all register through it, so a
// new dialect or pass shows up in every one of them.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_TOOLS_REGISTERSIEVE_H
#define SIEVE_TOOLS_REGISTERSIEVE_H

#include "dialects/sieve/SieveDialect.h"
#include "codegen/Passes.h"
#include "passes/Passes.h"
#include "mlir/IR/DialectRegistry.h"

namespace mlir {
namespace sieve {

/// Registers Sieve's dialects.
inline void registerAllSieveDialects(DialectRegistry &registry) {
  registry.insert<SieveDialect>();
}

/// Registers Sieve's passes and pass pipelines with the global registry.
inline void registerAllSievePasses() {
  registerSievePasses();
  registerSievePipelines();
  registerSieveCodegenPasses();
}

} // namespace sieve
} // namespace mlir

#endif // SIEVE_TOOLS_REGISTERSIEVE_H
