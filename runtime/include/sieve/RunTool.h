//===- RunTool.h - What the run tools share ---------------------*- C++ -*-===//
//
// The parts of a "run a function" command line tool that do not depend on
// what executes the function: binding .npy files to the arguments with the
// same checks and messages, reproducible random inputs, writing and
// summarizing outputs, and medians of repeated runs. sieve-run (an .mlir
// graph on the CPU reference) and sieve-bundle-run (a compiled bundle on a
// GPU or the emulator) both use it, so their inputs, messages and output
// lines agree. C++17, no LLVM/MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_RUNTOOL_H
#define SIEVE_RUNTIME_RUNTOOL_H

#include "sieve/HostTensor.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sieve {

/// One argument of the function a tool runs.
struct ArgumentSpec {
  DType dtype = DType::F32;
  /// Sizes; -1 for a dynamic dimension.
  std::vector<int64_t> shape;
  /// The argument's type as messages print it, e.g. "tensor<?x64xf16>".
  std::string typeText;
  /// --random-inputs: integers are uniform in [randomLo, randomHi]...
  int64_t randomLo = 0, randomHi = 15;
  /// ...and f32 scales of quantized weights are randomScale * U[0.5, 1.5).
  std::optional<double> randomScale;
};

/// The integer range --random-inputs uses unless an argument says otherwise:
/// i8 in [-127, 127], i4 in [-7, 7], other integers in [0, 15].
void getDefaultRandomRange(DType dtype, int64_t &lo, int64_t &hi);

/// The per-group scale that keeps products of random quantized weights of
/// order one: 3 / (qmax * sqrt(k)), with k at least 1.
double getTypicalQuantScale(double qmax, int64_t k);

/// "tensor<1x?x64xf16>" for `shape` (-1 printed as '?') and `dtype`.
std::string formatTensorType(const std::vector<int64_t> &shape, DType dtype);

/// "[1x?x64]".
std::string formatShape(const std::vector<int64_t> &shape);

/// Reads `files[i]` as argument i of @`entry`. The number of files must
/// match, every file must hold the argument's dtype (see readNpy) and a
/// shape that matches its static sizes. Messages:
///   "@f takes 3 argument(s), got 2 --input file(s)"
///   "argument 1 of @f (tensor<?x64xf16>): '<file>' has shape [8x32],
///    expected [?x64]"
bool readInputFiles(const std::string &entry,
                    const std::vector<std::string> &files,
                    const std::vector<ArgumentSpec> &specs,
                    std::vector<HostTensor> &inputs, std::string &error);

/// Fills one tensor per argument from one RandomSource seeded with `seed`,
/// in argument order: floats uniform in [-1, 1), i1 even odds, integers in
/// the argument's range, f32 scales from randomScale. Dynamic sizes take
/// `dynamicSize`; without one (-1) an argument with a dynamic size is an
/// error:
///   "argument 0 (tensor<?xf32>) has dynamic dimensions: give their size
///    with --dynamic-size when using --random-inputs"
bool makeRandomInputs(const std::vector<ArgumentSpec> &specs, uint64_t seed,
                      int64_t dynamicSize, std::vector<HostTensor> &inputs,
                      std::string &error);

/// Writes outputs[i] to `directory`/out<i>.npy, creating the directory.
bool writeOutputs(const std::string &directory,
                  const std::vector<HostTensor> &outputs, std::string &error);

/// "out0: <formatSummary>\n" per output.
std::string formatOutputSummaries(const std::vector<HostTensor> &outputs);

/// The median (the mean of the middle two for an even count); NaN if empty.
double getMedian(std::vector<double> values);

} // namespace sieve

#endif // SIEVE_RUNTIME_RUNTOOL_H
