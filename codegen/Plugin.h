//===- Plugin.h - sieve-compile plugins -------------------------*- C++ -*-===//
//
// A sieve-compile plugin is a shared library that `sieve-compile
// --load-plugin LIB.so` loads before it reads the graph. It exports
//
//   extern "C" SieveCompilePluginInfo sieveGetCompilePluginInfo();
//
// and may register dialects (for ops of its own), passes (usable in
// --pass-pipeline) and kernel providers, for new ops or in place of built-in
// ones (registered later, they win). Plugins are built against the same
// Sieve and MLIR headers as the sieve-compile that loads them; they resolve
// Sieve's symbols from the sieve-compile executable and MLIR's from
// libMLIR.so. test/lib/plugin is a complete example.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_PLUGIN_H
#define SIEVE_CODEGEN_PLUGIN_H

#include "codegen/BundleBuilder.h"

#include "mlir/IR/DialectRegistry.h"

#include <cstdint>

/// Bumped whenever this interface or the ones it passes change.
#define SIEVE_COMPILE_PLUGIN_API_VERSION 1

extern "C" {
struct SieveCompilePluginInfo {
  /// SIEVE_COMPILE_PLUGIN_API_VERSION of the headers the plugin was built
  /// with; sieve-compile refuses other versions.
  uint32_t apiVersion;
  /// For messages.
  const char *name;
  /// Adds the dialects of the plugin's ops (may be null).
  void (*registerDialects)(mlir::DialectRegistry &registry);
  /// Registers the plugin's passes and kernel providers (may be null).
  void (*registerPassesAndProviders)(
      mlir::sieve::KernelProviderRegistry &providers);
};

/// The entry point every plugin defines.
SieveCompilePluginInfo sieveGetCompilePluginInfo();
}

#endif // SIEVE_CODEGEN_PLUGIN_H
