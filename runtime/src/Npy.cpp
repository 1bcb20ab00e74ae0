//===- Npy.cpp - .npy files -----------------------------------------------===//
//
// Reads and writes numpy's .npy format (versions 1.0 to 3.0, C order, little
// endian). Files are untrusted input: every size is checked against the file.
//
//===----------------------------------------------------------------------===//

#include "sieve/HostTensor.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

using namespace sieve;

namespace {
const char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLength = 6;

/// Reads a quoted string value of `key` in a header dict.
bool findString(const std::string &header, const std::string &key,
                std::string &value) {
  std::size_t pos = header.find("'" + key + "'");
  if (pos == std::string::npos)
    return false;
  pos = header.find(':', pos);
  if (pos == std::string::npos)
    return false;
  std::size_t open = header.find_first_of("'\"", pos);
  if (open == std::string::npos)
    return false;
  std::size_t close = header.find(header[open], open + 1);
  if (close == std::string::npos)
    return false;
  value = header.substr(open + 1, close - open - 1);
  return true;
}

bool parseShape(const std::string &header, std::vector<int64_t> &shape) {
  std::size_t pos = header.find("'shape'");
  if (pos == std::string::npos)
    return false;
  std::size_t open = header.find('(', pos), close = header.find(')', pos);
  if (open == std::string::npos || close == std::string::npos || close < open)
    return false;
  std::string inside = header.substr(open + 1, close - open - 1);
  std::size_t i = 0;
  while (i < inside.size()) {
    while (i < inside.size() && (inside[i] == ' ' || inside[i] == ','))
      ++i;
    if (i == inside.size())
      break;
    if (inside[i] < '0' || inside[i] > '9')
      return false;
    int64_t value = 0;
    while (i < inside.size() && inside[i] >= '0' && inside[i] <= '9') {
      if (value > (int64_t{1} << 40))
        return false;
      value = value * 10 + (inside[i++] - '0');
    }
    shape.push_back(value);
  }
  return true;
}

/// numpy writes one-byte types with '|' and sometimes with '<' or '='.
std::string normalizeDescr(std::string descr) {
  if (descr.size() == 3 && descr[2] == '1' && (descr[0] == '<' || descr[0] == '='))
    descr[0] = '|';
  if (descr.size() == 3 && descr[0] == '=')
    descr[0] = '<';
  return descr;
}

const char *describeDescr(const std::string &descr) {
  static const std::pair<const char *, const char *> kNames[] = {
      {"<f4", "float32"}, {"<f2", "float16"}, {"<f8", "float64"},
      {"<i4", "int32"},   {"<i8", "int64"},   {"<i2", "int16"},
      {"|i1", "int8"},    {"|u1", "uint8"},   {"|b1", "bool"},
      {"<u4", "uint32"},  {"<u8", "uint64"},  {"<u2", "uint16"}};
  for (auto &[code, name] : kNames)
    if (descr == code)
      return name;
  return "an unsupported dtype";
}
} // namespace

std::vector<uint8_t> sieve::toNpyPayload(const HostTensor &tensor) {
  int64_t n = tensor.numElements();
  const uint8_t *src = tensor.data.data();
  std::vector<uint8_t> payload;
  switch (tensor.dtype) {
  case DType::BF16:
    payload.resize(n * 4);
    for (int64_t i = 0; i < n; ++i) {
      uint16_t bits;
      std::memcpy(&bits, src + 2 * i, 2);
      float value = bfloat16ToFloat(bits);
      std::memcpy(payload.data() + 4 * i, &value, 4);
    }
    return payload;
  case DType::I4:
    payload.resize(n);
    for (int64_t i = 0; i < n; ++i)
      payload[i] = static_cast<uint8_t>(static_cast<int8_t>(tensor.getAsDouble(i)));
    return payload;
  case DType::I1:
    payload.resize(n);
    for (int64_t i = 0; i < n; ++i)
      payload[i] = src[i] & 1;
    return payload;
  default:
    return tensor.data;
  }
}

bool sieve::readNpy(const std::string &path, DType dtype, HostTensor &tensor,
                    std::string &error) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    error = "cannot open '" + path + "'";
    return false;
  }
  std::string bytes((std::istreambuf_iterator<char>(file)),
                    std::istreambuf_iterator<char>());
  auto fail = [&](const std::string &why) {
    error = "'" + path + "' is not a valid .npy file: " + why;
    return false;
  };
  if (bytes.size() < kMagicLength + 4 ||
      std::memcmp(bytes.data(), kMagic, kMagicLength) != 0)
    return fail("missing the \\x93NUMPY magic");
  unsigned major = static_cast<uint8_t>(bytes[6]);
  std::size_t headerLength, headerStart;
  if (major == 1) {
    headerLength = static_cast<uint8_t>(bytes[8]) |
                   static_cast<std::size_t>(static_cast<uint8_t>(bytes[9])) << 8;
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return fail("truncated header");
    headerLength = 0;
    for (int i = 3; i >= 0; --i)
      headerLength = headerLength << 8 | static_cast<uint8_t>(bytes[8 + i]);
    headerStart = 12;
  } else {
    return fail("unsupported format version " + std::to_string(major));
  }
  if (headerLength > bytes.size() - headerStart)
    return fail("truncated header");
  std::string header = bytes.substr(headerStart, headerLength);

  std::string descr, fortran;
  std::vector<int64_t> shape;
  if (!findString(header, "descr", descr))
    return fail("no 'descr' in the header");
  if (!parseShape(header, shape))
    return fail("no valid 'shape' in the header");
  const std::string fortranKey = "'fortran_order'";
  std::size_t fortranPos = header.find(fortranKey);
  if (fortranPos == std::string::npos)
    return fail("no 'fortran_order' in the header");
  std::size_t valuePos =
      header.find_first_not_of(" :", fortranPos + fortranKey.size());
  if (valuePos != std::string::npos && header.compare(valuePos, 4, "True") == 0)
    return fail("Fortran-ordered arrays are not supported (save a C-contiguous "
                "array, e.g. numpy.ascontiguousarray)");
  descr = normalizeDescr(descr);
  const char *expected = getNpyDescr(dtype);
  if (descr != expected) {
    error = "'" + path + "' holds " + describeDescr(descr) + " data ('" +
            descr + "'), expected " + describeDescr(expected) + " ('" +
            expected + "')";
    return false;
  }

  std::size_t fileElementSize = getNpyElementSize(dtype);
  HostTensor result(dtype, shape);
  std::size_t payloadSize =
      static_cast<std::size_t>(result.numElements()) * fileElementSize;
  std::size_t available = bytes.size() - headerStart - headerLength;
  if (available != payloadSize)
    return fail("the data holds " + std::to_string(available) +
                " bytes, the header's shape needs " +
                std::to_string(payloadSize));
  const uint8_t *payload =
      reinterpret_cast<const uint8_t *>(bytes.data()) + headerStart + headerLength;
  int64_t n = result.numElements();
  switch (dtype) {
  case DType::BF16:
    for (int64_t i = 0; i < n; ++i) {
      float value;
      std::memcpy(&value, payload + 4 * i, 4);
      uint16_t bits = floatToBFloat16(value);
      std::memcpy(result.data.data() + 2 * i, &bits, 2);
    }
    break;
  case DType::I4:
    for (int64_t i = 0; i < n; ++i) {
      auto value = static_cast<int8_t>(payload[i]);
      if (value < -8 || value > 7) {
        error = "'" + path + "' holds " + std::to_string(value) +
                " at flat index " + std::to_string(i) +
                ", outside the i4 range [-8, 7]";
        return false;
      }
      result.data[i] = static_cast<uint8_t>(value);
    }
    break;
  case DType::I1:
    for (int64_t i = 0; i < n; ++i) {
      if (payload[i] > 1) {
        error = "'" + path + "' holds a bool that is neither 0 nor 1 at flat index " +
                std::to_string(i);
        return false;
      }
      result.data[i] = payload[i];
    }
    break;
  default:
    std::memcpy(result.data.data(), payload, payloadSize);
    break;
  }
  tensor = std::move(result);
  return true;
}

bool sieve::writeNpy(const std::string &path, const HostTensor &tensor,
                     std::string &error) {
  std::ostringstream dict;
  dict << "{'descr': '" << getNpyDescr(tensor.dtype)
       << "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < tensor.shape.size(); ++i)
    dict << tensor.shape[i] << (tensor.shape.size() == 1 || i + 1 < tensor.shape.size() ? "," : "")
         << (i + 1 < tensor.shape.size() ? " " : "");
  dict << "), }";
  std::string header = dict.str();
  // Pad with spaces and a newline so that the data starts 64-byte aligned.
  std::size_t total = kMagicLength + 4 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');

  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) {
    error = "cannot write '" + path + "'";
    return false;
  }
  file.write(kMagic, kMagicLength);
  char version[2] = {1, 0};
  file.write(version, 2);
  char length[2] = {static_cast<char>(header.size() & 0xff),
                    static_cast<char>(header.size() >> 8)};
  file.write(length, 2);
  file << header;
  std::vector<uint8_t> payload = toNpyPayload(tensor);
  file.write(reinterpret_cast<const char *>(payload.data()),
             static_cast<std::streamsize>(payload.size()));
  if (!file) {
    error = "failed writing '" + path + "'";
    return false;
  }
  return true;
}
