//===- TestSupport.h - Helpers shared by the runtime's tests ----*- C++ -*-===//

#ifndef SIEVE_RUNTIME_TEST_TESTSUPPORT_H
#define SIEVE_RUNTIME_TEST_TESTSUPPORT_H

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <unistd.h>

namespace sieve::test {

/// The toy bundle in the build tree (manifest.json, kernels.ptx,
/// kernels.emu.so).
inline std::string getToyBundle() { return SIEVE_TEST_TOY_BUNDLE; }

inline std::string readText(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

inline void writeText(const std::string &path, const std::string &text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
}

inline nlohmann::json getToyManifest() {
  return nlohmann::json::parse(readText(getToyBundle() + "/manifest.json"));
}

/// A fresh directory under the system's temporary folder, removed with
/// everything in it when this goes out of scope.
class TempDir {
public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sieve-runtime-test-XXXXXX")
            .string();
    if (!mkdtemp(pattern.data()))
      std::abort();
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  const std::string &getPath() const { return path; }

private:
  std::string path;
};

/// Copies the toy bundle into `dir`/`name` with `edit` applied to its
/// manifest, and returns the new bundle's path.
inline std::string makeToyVariant(
    const TempDir &dir, const std::string &name,
    const std::function<void(nlohmann::json &)> &edit = nullptr) {
  std::filesystem::path bundle = std::filesystem::path(dir.getPath()) / name;
  std::filesystem::create_directories(bundle);
  for (const char *file : {"kernels.ptx", "kernels.emu.so"})
    std::filesystem::copy_file(std::filesystem::path(getToyBundle()) / file,
                               bundle / file);
  nlohmann::json manifest = getToyManifest();
  if (edit)
    edit(manifest);
  writeText((bundle / "manifest.json").string(), manifest.dump(2));
  return bundle.string();
}

} // namespace sieve::test

#endif // SIEVE_RUNTIME_TEST_TESTSUPPORT_H
