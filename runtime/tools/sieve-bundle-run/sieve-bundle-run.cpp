//===- sieve-bundle-run.cpp - Run a Sieve kernel bundle -------------------===//
//
// Runs a bundle written by sieve-compile on a CUDA GPU or the SIMT emulator,
// with sieve-run's options and output lines (the logic is the runtime's
// BundleRunner, shared with other tools). Every failure is one
// "sieve-bundle-run: error: ..." line and exit code 1.
//
//===----------------------------------------------------------------------===//

#include "sieve/BundleRunner.h"

#include <iostream>

int main(int argc, char **argv) {
  const std::string tool = "sieve-bundle-run";
  sieve::BundleRunOptions options;
  std::string error;
  if (!sieve::parseBundleRunArguments(
          std::vector<std::string>(argv + 1, argv + argc), options, error)) {
    std::cerr << tool << ": error: " << error << "\n";
    return 1;
  }
  if (options.help) {
    std::cout << sieve::getBundleRunUsage(tool);
    return 0;
  }
  return sieve::runBundle(tool, options, std::cout, std::cerr);
}
