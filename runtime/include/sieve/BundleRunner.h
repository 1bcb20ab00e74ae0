//===- BundleRunner.h - Run a bundle like sieve-run runs a graph *- C++ -*-===//
//
// The command line logic of sieve-bundle-run, in the runtime library so that
// other tools (sieve-run, for bundle directories) run bundles the same way:
// the same options, input checks, messages and output lines as sieve-run,
// plus per-launch timings and gate statistics (--stats).
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_BUNDLERUNNER_H
#define SIEVE_RUNTIME_BUNDLERUNNER_H

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sieve {

struct BundleRunOptions {
  std::string bundle;
  /// "cuda", "cuda:N" or "emulator".
  std::string device = "cuda";
  std::vector<std::string> inputFiles;
  /// --permuted-input N=P0,P1,...: the file of input N holds the tensor with
  /// its dimensions in the order P0, P1, ...; it is bound as a strided view
  /// of the file's data (input, permutation).
  std::vector<std::pair<std::size_t, std::vector<std::size_t>>> permutedInputs;
  std::optional<uint64_t> randomSeed;
  /// --dynamic-size; -1 when not given.
  int64_t dynamicSize = -1;
  std::string outputDir;
  bool printSummary = false;
  unsigned repeat = 1;
  /// Per-launch timings and gate statistics of the last run.
  bool stats = false;
  /// Capture the schedule into a CUDA graph (SIEVE_SESSION_CUDA_GRAPH).
  bool cudaGraph = false;
  /// The emulator's options (sieve_device_options): a random thread order
  /// after each barrier from this seed (0: linear order), shared-memory race
  /// checks.
  uint64_t emulatorScheduleSeed = 0;
  bool emulatorCheckRaces = false;
  bool help = false;
};

/// The --help text of a tool named `tool`.
std::string getBundleRunUsage(const std::string &tool);

/// Parses the arguments after the program name. Accepts "--name value",
/// "--name=value" and single-dash spellings. False with `error` set on a
/// bad command line.
bool parseBundleRunArguments(const std::vector<std::string> &arguments,
                             BundleRunOptions &options, std::string &error);

/// Runs the bundle: binds the inputs (.npy files or random), runs
/// `options.repeat` times, writes DIR/out<i>.npy, and prints to `out`:
///   out0: f32[128] min=... max=... mean=... nan=0 checksum=0x...
///   (--print-summary) load: 12.3 ms (--repeat N > 1) run: median 0.456 ms over
///   N runs                   (--repeat N > 1) device, launch and gate lines
///   (--stats)
/// Every failure is one "<tool>: error: ..." line on `err` and exit code 1.
int runBundle(const std::string &tool, const BundleRunOptions &options,
              std::ostream &out, std::ostream &err);

} // namespace sieve

#endif // SIEVE_RUNTIME_BUNDLERUNNER_H
