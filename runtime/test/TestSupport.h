//===- TestSupport.h - Helpers shared by the runtime's tests ----*- C++ -*-===//

#ifndef SIEVE_RUNTIME_TEST_TESTSUPPORT_H
#define SIEVE_RUNTIME_TEST_TESTSUPPORT_H

#include "sieve/RunTool.h"
#include "sieve/runtime.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <unistd.h>

/// Asserts that a C API call succeeds, showing its last error if not.
#define ASSERT_SIEVE_OK(call)                                                  \
  do {                                                                         \
    sieve_status status_ = (call);                                             \
    ASSERT_EQ(status_, SIEVE_OK) << sieve_last_error();                        \
  } while (false)

/// The same as a non-fatal expectation.
#define EXPECT_SIEVE_OK(call)                                                  \
  do {                                                                         \
    sieve_status status_ = (call);                                             \
    EXPECT_EQ(status_, SIEVE_OK) << sieve_last_error();                        \
  } while (false)

namespace sieve::test {

/// Owning C API handles.
struct Closer {
  void operator()(sieve_bundle *b) const { sieve_bundle_close(b); }
  void operator()(sieve_device *d) const { sieve_device_close(d); }
  void operator()(sieve_session *s) const { sieve_session_destroy(s); }
};
template <typename T> using Handle = std::unique_ptr<T, Closer>;

/// The toy bundle in the build tree (manifest.json, kernels.ptx,
/// kernels.emu.so).
inline std::string getToyBundle() { return SIEVE_TEST_TOY_BUNDLE; }
/// The toy kernels with a strided input x [r, c] copied densely into y.
inline std::string getStridedBundle() { return SIEVE_TEST_STRIDED_BUNDLE; }

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
inline std::string
makeToyVariant(const TempDir &dir, const std::string &name,
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

/// A 4-D bf16 tensor map over the toy bundle's input buffer 'a' (4n bytes,
/// n a multiple of 256): dims [64, n / 256, 2, 2] at element offset n,
/// which ends exactly at the end of the buffer.
inline nlohmann::json getToyTensorMap() {
  return {{"buffer", "a"},
          {"dtype", "bf16"},
          {"offset", "n"},
          {"dims", {64, "n / 256", 2, 2}},
          {"strides", {128, "128 * (n / 256)", "256 * (n / 256)"}},
          {"box", {64, 2, 1, 1}},
          {"swizzle", 128}};
}

/// Adds the kernel read_tensor_map (kernels.cu) to the toy manifest `m`,
/// and a last launch of it that copies the 256 bytes of the slot of tensor
/// map `map` into a new output 'map' (#2, i8[256]).
inline void addTensorMapProbe(nlohmann::json &m, const nlohmann::json &map) {
  using json = nlohmann::json;
  m["kernels"].push_back({{"name", "read_tensor_map"},
                          {"static_shared_bytes", 0},
                          {"params", json::array({"tensor_map", "memref"})}});
  m["buffers"].push_back({{"name", "map"}, {"kind", "output"}, {"bytes", 256}});
  m["outputs"].push_back({{"name", "map"},
                          {"dtype", "i8"},
                          {"shape", json::array({256})},
                          {"buffer", "map"}});
  json args = json::array();
  args.push_back({{"tensor_map", map}});
  args.push_back({{"buffer", "map"}, {"dtype", "i8"}});
  m["launches"].push_back({{"kernel", "read_tensor_map"},
                           {"op", "tma probe at toy.mlir:6:8"},
                           {"grid", json::array({4, 1, 1})},
                           {"block", json::array({64, 1, 1})},
                           {"dynamic_shared_bytes", 0},
                           {"args", args}});
}

/// The toy graph's inputs for `n` elements: a avoids 0 (where the gate's
/// decision would hinge on rounding), b is a ramp.
struct ToyInputs {
  std::vector<float> a, b;
  explicit ToyInputs(int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      a.push_back(static_cast<float>(i - n / 2) * 0.25f + 0.125f);
      b.push_back(0.5f * static_cast<float>(i));
    }
  }
};

/// Binds the toy inputs for `n` as host tensors.
inline void bindToyInputs(sieve_session *session, int64_t n) {
  ToyInputs inputs(n);
  int64_t shape[1] = {n};
  ASSERT_SIEVE_OK(sieve_session_bind_input_host(
      session, 0, SIEVE_DTYPE_F32, 1, shape, nullptr, inputs.a.data()));
  ASSERT_SIEVE_OK(sieve_session_bind_input_host(
      session, 1, SIEVE_DTYPE_F32, 1, shape, nullptr, inputs.b.data()));
}

/// Binds the toy inputs for `n`, runs on `stream`, and checks both
/// outputs: y = 2 (a + b) + 1 and mask = sigmoid(a) > 0.5.
inline void runToyAndCheck(sieve_session *session, int64_t n,
                           void *stream = nullptr) {
  ASSERT_NO_FATAL_FAILURE(bindToyInputs(session, n));
  ASSERT_SIEVE_OK(sieve_session_run(session, stream));
  ToyInputs inputs(n);
  std::vector<float> y(n);
  std::vector<uint8_t> mask(n);
  ASSERT_SIEVE_OK(sieve_session_read_output(session, 0, y.data(), 4 * n));
  ASSERT_SIEVE_OK(sieve_session_read_output(session, 1, mask.data(), n));
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(y[i], 2.0f * (inputs.a[i] + inputs.b[i]) + 1.0f) << i;
    ASSERT_EQ(mask[i], inputs.a[i] > 0 ? 1 : 0) << i;
  }
}

/// The toy bundle's inputs as a run tool sees them.
inline std::vector<ArgumentSpec> getToySpecs() {
  ArgumentSpec spec;
  spec.dtype = DType::F32;
  spec.shape = {-1};
  spec.typeText = "tensor<?xf32>";
  return {spec, spec};
}

/// A 64-byte header of a 64-bit little-endian ELF file for `machine` (62:
/// x86-64, 190: CUDA) of ELF type `type` (2: executable, 3: shared).
inline std::string makeElfHeader(uint16_t machine, uint16_t type) {
  std::string header(64, '\0');
  header.replace(0, 4,
                 "\x7f"
                 "ELF");
  header[4] = 2;
  header[5] = 1;
  header[16] = static_cast<char>(type & 0xff);
  header[18] = static_cast<char>(machine & 0xff);
  return header;
}

} // namespace sieve::test

#endif // SIEVE_RUNTIME_TEST_TESTSUPPORT_H
