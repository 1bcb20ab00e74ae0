//===- HostTensor.cpp - Tensors in host memory ----------------------------===//

#include "sieve/HostTensor.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

using namespace sieve;

namespace {
struct DTypeInfo {
  DType dtype;
  const char *name;
  std::size_t size;
  const char *npyDescr;
  std::size_t npySize;
};

const DTypeInfo kDTypes[] = {
    {DType::F32, "f32", 4, "<f4", 4},  {DType::F16, "f16", 2, "<f2", 2},
    {DType::BF16, "bf16", 2, "<f4", 4}, {DType::I64, "i64", 8, "<i8", 8},
    {DType::I32, "i32", 4, "<i4", 4},  {DType::I8, "i8", 1, "|i1", 1},
    {DType::I4, "i4", 1, "|i1", 1},    {DType::I1, "i1", 1, "|b1", 1},
};

const DTypeInfo &info(DType dtype) {
  for (const DTypeInfo &entry : kDTypes)
    if (entry.dtype == dtype)
      return entry;
  return kDTypes[0];
}

template <typename T> T load(const uint8_t *p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}
} // namespace

const char *sieve::getDTypeName(DType dtype) { return info(dtype).name; }
std::size_t sieve::getDTypeSize(DType dtype) { return info(dtype).size; }
const char *sieve::getNpyDescr(DType dtype) { return info(dtype).npyDescr; }
std::size_t sieve::getNpyElementSize(DType dtype) { return info(dtype).npySize; }

std::optional<DType> sieve::parseDTypeName(const std::string &name) {
  for (const DTypeInfo &entry : kDTypes)
    if (name == entry.name)
      return entry.dtype;
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Half and bfloat16
//===----------------------------------------------------------------------===//

uint16_t sieve::floatToHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  uint32_t sign = (bits >> 16) & 0x8000u;
  uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) // Inf or NaN (kept quiet, payload kept)
    return sign | 0x7c00u |
           (magnitude > 0x7f800000u ? 0x200u | ((magnitude >> 13) & 0x3ffu)
                                    : 0u);
  if (magnitude >= 0x477ff000u) // >= 65520 rounds to infinity
    return sign | 0x7c00u;
  if (magnitude < 0x38800000u) { // below 2^-14: a subnormal half or zero
    float abs;
    std::memcpy(&abs, &magnitude, 4);
    // abs * 2^24 is exact; nearbyint rounds half to even.
    return sign | static_cast<uint32_t>(std::nearbyint(abs * 16777216.0f));
  }
  uint32_t half = ((magnitude >> 23) - 112u) << 10 | ((magnitude >> 13) & 0x3ffu);
  uint32_t rest = magnitude & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
    ++half;
  return sign | half;
}

float sieve::halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  float result;
  if (exponent == 0) {
    result = std::ldexp(static_cast<float>(mantissa), -24);
    uint32_t bits;
    std::memcpy(&bits, &result, 4);
    bits |= sign;
    std::memcpy(&result, &bits, 4);
    return result;
  }
  uint32_t bits = exponent == 0x1f
                      ? sign | 0x7f800000u | (mantissa << 13)
                      : sign | ((exponent + 112u) << 23) | (mantissa << 13);
  std::memcpy(&result, &bits, 4);
  return result;
}

uint16_t sieve::floatToBFloat16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) // NaN: keep it quiet
    return static_cast<uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float sieve::bfloat16ToFloat(uint16_t bits) {
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float result;
  std::memcpy(&result, &wide, 4);
  return result;
}

//===----------------------------------------------------------------------===//
// HostTensor
//===----------------------------------------------------------------------===//

HostTensor::HostTensor(DType dtype, std::vector<int64_t> shape)
    : dtype(dtype), shape(std::move(shape)) {
  data.assign(static_cast<std::size_t>(numElements()) * getDTypeSize(dtype),
              0);
}

int64_t HostTensor::numElements() const {
  int64_t count = 1;
  for (int64_t size : shape)
    count *= size;
  return count;
}

double HostTensor::getAsDouble(int64_t i) const {
  const uint8_t *p = data.data() + i * getDTypeSize(dtype);
  switch (dtype) {
  case DType::F32:
    return load<float>(p);
  case DType::F16:
    return halfToFloat(load<uint16_t>(p));
  case DType::BF16:
    return bfloat16ToFloat(load<uint16_t>(p));
  case DType::I64:
    return static_cast<double>(load<int64_t>(p));
  case DType::I32:
    return load<int32_t>(p);
  case DType::I8:
    return static_cast<int8_t>(*p);
  case DType::I4:
    // Only the low nibble is the value; sign-extend it.
    return static_cast<int8_t>(static_cast<uint8_t>(*p << 4)) >> 4;
  case DType::I1:
    return *p & 1;
  }
  return 0;
}

std::string HostTensor::describe() const {
  std::string text = getDTypeName(dtype);
  text += "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    text += (i ? "x" : "") + std::to_string(shape[i]);
  return text + "]";
}

//===----------------------------------------------------------------------===//
// Summaries
//===----------------------------------------------------------------------===//

TensorSummary sieve::summarize(const HostTensor &tensor) {
  TensorSummary summary;
  double sum = 0;
  int64_t counted = 0;
  summary.min = std::numeric_limits<double>::infinity();
  summary.max = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0, e = tensor.numElements(); i < e; ++i) {
    double value = tensor.getAsDouble(i);
    if (std::isnan(value)) {
      ++summary.nanCount;
      continue;
    }
    summary.min = std::min(summary.min, value);
    summary.max = std::max(summary.max, value);
    sum += value;
    ++counted;
  }
  if (counted == 0)
    summary.min = summary.max = std::numeric_limits<double>::quiet_NaN();
  summary.mean =
      counted ? sum / counted : std::numeric_limits<double>::quiet_NaN();

  uint64_t hash = 0xcbf29ce484222325ull;
  for (uint8_t byte : toNpyPayload(tensor)) {
    hash ^= byte;
    hash *= 0x100000001b3ull;
  }
  summary.checksum = hash;
  return summary;
}

std::string sieve::formatSummary(const HostTensor &tensor) {
  TensorSummary summary = summarize(tensor);
  char text[256];
  std::snprintf(text, sizeof(text),
                " min=%.6g max=%.6g mean=%.6g nan=%lld checksum=0x%016llx",
                summary.min, summary.max, summary.mean,
                static_cast<long long>(summary.nanCount),
                static_cast<unsigned long long>(summary.checksum));
  return tensor.describe() + text;
}

//===----------------------------------------------------------------------===//
// Random data
//===----------------------------------------------------------------------===//

RandomSource::RandomSource(uint64_t seed) {
  for (uint64_t &word : state) {
    seed += 0x9e3779b97f4a7c15ull;
    uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    word = z ^ (z >> 31);
  }
}

uint64_t RandomSource::next() {
  auto rotl = [](uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
  uint64_t result = rotl(state[1] * 5, 7) * 9;
  uint64_t t = state[1] << 17;
  state[2] ^= state[0];
  state[3] ^= state[1];
  state[1] ^= state[2];
  state[0] ^= state[3];
  state[2] ^= t;
  state[3] = rotl(state[3], 45);
  return result;
}

double RandomSource::uniform(double lo, double hi) {
  double unit = static_cast<double>(next() >> 11) * 0x1.0p-53;
  return lo + (hi - lo) * unit;
}

int64_t RandomSource::uniformInt(int64_t lo, int64_t hi) {
  uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  return lo + static_cast<int64_t>(next() % span);
}

void sieve::fillRandom(HostTensor &tensor, RandomSource &random, int64_t intLo,
                       int64_t intHi) {
  uint8_t *p = tensor.data.data();
  std::size_t size = getDTypeSize(tensor.dtype);
  for (int64_t i = 0, e = tensor.numElements(); i < e; ++i, p += size) {
    switch (tensor.dtype) {
    case DType::F32: {
      float value = static_cast<float>(random.uniform(-1.0, 1.0));
      std::memcpy(p, &value, 4);
      break;
    }
    case DType::F16: {
      uint16_t bits = floatToHalf(static_cast<float>(random.uniform(-1.0, 1.0)));
      std::memcpy(p, &bits, 2);
      break;
    }
    case DType::BF16: {
      uint16_t bits =
          floatToBFloat16(static_cast<float>(random.uniform(-1.0, 1.0)));
      std::memcpy(p, &bits, 2);
      break;
    }
    case DType::I1:
      *p = static_cast<uint8_t>(random.next() >> 63);
      break;
    case DType::I64: {
      int64_t value = random.uniformInt(intLo, intHi);
      std::memcpy(p, &value, 8);
      break;
    }
    case DType::I32: {
      auto value = static_cast<int32_t>(random.uniformInt(intLo, intHi));
      std::memcpy(p, &value, 4);
      break;
    }
    case DType::I8:
    case DType::I4:
      *p = static_cast<uint8_t>(random.uniformInt(intLo, intHi));
      break;
    }
  }
}
