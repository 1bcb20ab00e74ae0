//===- OtherVersionPlugin.cpp - A plugin of another API version -----------===//
//
// sieve-compile must refuse a plugin built against other plugin headers
// before it calls into it.
//
//===----------------------------------------------------------------------===//

#include "codegen/Plugin.h"

extern "C" SieveCompilePluginInfo sieveGetCompilePluginInfo() {
  return {SIEVE_COMPILE_PLUGIN_API_VERSION + 1, "sieve-test-other-version",
          nullptr, nullptr};
}
