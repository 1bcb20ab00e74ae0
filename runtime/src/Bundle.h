//===- Bundle.h - A bundle directory, validated -----------------*- C++ -*-===//
//
// An opened bundle: its manifest and the kernel images, read into memory at
// open time so that what is validated is what gets loaded. Immutable once
// opened; sessions share it.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_SRC_BUNDLE_H
#define SIEVE_RUNTIME_SRC_BUNDLE_H

#include "Manifest.h"
#include "Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sieve::rt {

class Bundle {
public:
  Bundle() = default;
  /// The C API's sieve_dim views point into the bundle; it never moves.
  Bundle(const Bundle &) = delete;
  Bundle &operator=(const Bundle &) = delete;

  /// Reads and validates `directory`/manifest.json and the files it names
  /// (messages do not repeat `directory`; callers add it):
  /// each must be a regular file inside the directory (symbolic links are
  /// followed but may not leave it), kernels.ptx must declare every kernel
  /// as an .entry for the manifest's target, the cubin must be a CUDA ELF
  /// file and the emulator library a shared object for this host.
  static Status open(const std::string &directory,
                     std::shared_ptr<const Bundle> &bundle);

  const Manifest &getManifest() const { return manifest; }
  /// The bundle directory, canonical.
  const std::string &getDirectory() const { return directory; }
  /// The PTX text (NUL-terminated, as cuModuleLoadDataEx reads it).
  const std::string &getPtx() const { return ptx; }
  /// The cubin image; empty when the bundle has none.
  const std::vector<uint8_t> &getCubin() const { return cubin; }
  /// The canonical path of the emulator library (loaded only by emulator
  /// sessions: loading a library runs its code).
  const std::string &getEmulatorPath() const { return emulatorPath; }
  /// The constants file (weights, tables): every constant buffer is a range
  /// of it. Empty when the bundle has none.
  const std::vector<uint8_t> &getConstants() const { return constants; }

  /// The sieve_dim views of the C API, kept with the bundle so that the
  /// pointers it hands out live as long as the bundle.
  struct DimView {
    std::vector<std::string> texts;
    std::vector<sieve_dim> dims;
  };
  const DimView &getInputDims(std::size_t index) const {
    return inputDims[index];
  }
  const DimView &getOutputDims(std::size_t index) const {
    return outputDims[index];
  }

private:
  Manifest manifest;
  std::string directory;
  std::string ptx;
  std::vector<uint8_t> cubin;
  std::string emulatorPath;
  std::vector<uint8_t> constants;
  std::vector<DimView> inputDims, outputDims;
};

/// The `.entry` names a PTX module declares.
std::vector<std::string> getPtxEntries(const std::string &ptx);
/// The argument of the PTX `.target` directive's first item ("sm_90"), or
/// "" when there is none.
std::string getPtxTarget(const std::string &ptx);

} // namespace sieve::rt

#endif // SIEVE_RUNTIME_SRC_BUNDLE_H
