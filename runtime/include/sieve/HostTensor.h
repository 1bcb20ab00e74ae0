//===- HostTensor.h - Tensors in host memory and .npy files -----*- C++ -*-===//
//
// Host-side tensors as Sieve's executors take and return them, and their
// .npy form. Shared by sieve-run (compiler side) and the runtime's bundle
// runner, so both read, write, fill and summarize tensors the same way.
// C++17, no LLVM/MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_HOSTTENSOR_H
#define SIEVE_RUNTIME_HOSTTENSOR_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sieve {

/// Element types of Sieve graphs' inputs and outputs.
enum class DType { F32, F16, BF16, I64, I32, I8, I4, I1 };

/// The MLIR spelling: "f32", "bf16", "i4", ...
const char *getDTypeName(DType dtype);
/// The DType of an MLIR spelling, if it is one.
std::optional<DType> parseDTypeName(const std::string &name);
/// Bytes per element in memory: bf16 takes 2, i4 and i1 one byte each.
std::size_t getDTypeSize(DType dtype);
/// The numpy dtype of the .npy file that holds a tensor of `dtype`: bf16 is
/// stored as float32 and i4 as int8 (converted and range-checked on load).
const char *getNpyDescr(DType dtype);
/// Bytes per element in the .npy file.
std::size_t getNpyElementSize(DType dtype);

/// A dense, row-major tensor in host memory.
struct HostTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  /// numElements() * getDTypeSize(dtype) bytes.
  std::vector<uint8_t> data;

  HostTensor() = default;
  HostTensor(DType dtype, std::vector<int64_t> shape);

  int64_t numElements() const;
  /// The element at linear index `i` as a double (i4 sign-extended).
  double getAsDouble(int64_t i) const;
  /// "f16[1x8x128x64]"
  std::string describe() const;
};

/// Reads `path` as a tensor of `dtype`. The file's numpy dtype must be the
/// one getNpyDescr(dtype) names; i4 values must lie in [-8, 7] and bool
/// values be 0 or 1. On failure returns false and sets `error` to a message
/// naming the file.
bool readNpy(const std::string &path, DType dtype, HostTensor &tensor,
             std::string &error);

/// Writes `tensor` to `path` in the numpy dtype getNpyDescr names.
bool writeNpy(const std::string &path, const HostTensor &tensor,
              std::string &error);

/// The data bytes of the .npy file of `tensor` (bf16 widened to float32, i4
/// as sign-extended int8, i1 as 0/1 bytes).
std::vector<uint8_t> toNpyPayload(const HostTensor &tensor);

/// What the executors print for an output: shape, dtype, min, max, mean (NaNs
/// left out and counted), and a checksum (FNV-1a, 64-bit) of the bytes the
/// .npy file holds, so equal outputs give equal checksums across executors.
struct TensorSummary {
  double min = 0, max = 0, mean = 0;
  int64_t nanCount = 0;
  uint64_t checksum = 0;
};
TensorSummary summarize(const HostTensor &tensor);
/// "f16[1x8x128x64] min=-0.5 max=0.75 mean=0.0012 nan=0 checksum=0x..."
std::string formatSummary(const HostTensor &tensor);

/// Reproducible random data (xoshiro256**, seeded by splitmix64), the same on
/// every platform.
class RandomSource {
public:
  explicit RandomSource(uint64_t seed);
  uint64_t next();
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi);
  /// Uniform in [lo, hi] (integers).
  int64_t uniformInt(int64_t lo, int64_t hi);

private:
  uint64_t state[4];
};

/// Fills `tensor` with random data: floats uniform in [-1, 1) (rounded to
/// the element type), i1 true or false with equal odds, integers uniform in
/// [intLo, intHi].
void fillRandom(HostTensor &tensor, RandomSource &random, int64_t intLo,
                int64_t intHi);

/// IEEE half and bfloat16 conversions (round to nearest even).
uint16_t floatToHalf(float value);
float halfToFloat(uint16_t bits);
uint16_t floatToBFloat16(float value);
float bfloat16ToFloat(uint16_t bits);

} // namespace sieve

#endif // SIEVE_RUNTIME_HOSTTENSOR_H
