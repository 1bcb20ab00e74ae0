//===- SievePlugin.cpp - Sieve as an mlir-opt plugin ----------------------===//
//
// Entry points that let the stock mlir-opt load Sieve:
//   mlir-opt --load-dialect-plugin=SievePlugin.so   (dialect and passes)
//   mlir-opt --load-pass-plugin=SievePlugin.so      (passes only)
//
//===----------------------------------------------------------------------===//

#include "tools/RegisterSieve.h"

#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Compiler.h"

using namespace mlir;

extern "C" LLVM_ATTRIBUTE_WEAK DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "Sieve", LLVM_VERSION_STRING,
          [](DialectRegistry *registry) {
            sieve::registerAllSieveDialects(*registry);
            sieve::registerAllSievePasses();
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "SievePasses", LLVM_VERSION_STRING,
          []() { sieve::registerAllSievePasses(); }};
}
