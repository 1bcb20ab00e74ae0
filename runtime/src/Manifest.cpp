//===- Manifest.cpp - A bundle's manifest.json, validated -----------------===//
//
// Every field is checked for presence, type and range; unknown fields are
// errors too, because a runtime cannot know what they would mean.
// Error messages point at the field with a JSON-path-like name.
//
//===----------------------------------------------------------------------===//

#include "Manifest.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <set>

using namespace sieve;
using namespace sieve::rt;
using json = nlohmann::json;

namespace {
/// Bounds on untrusted input beyond what the format itself limits.
constexpr std::size_t kMaxRank = 16;
/// CUDA passes at most 4 KiB of kernel parameters (before Volta's 32 KiB
/// extension, which needs CUDA 12.1 and is not worth the dependency).
constexpr int64_t kMaxParamBytes = 4096;
constexpr int64_t kManifestVersion = 2;
} // namespace

const char *sieve::rt::getParamKindName(ParamKind kind) {
  switch (kind) {
  case ParamKind::Memref:
    return "memref";
  case ParamKind::I64:
    return "i64";
  case ParamKind::I32:
    return "i32";
  case ParamKind::F32:
    return "f32";
  case ParamKind::TensorMap:
    return "tensor_map";
  }
  return "?";
}

bool sieve::rt::isTensorMapDType(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 ||
         dtype == DType::I32 || dtype == DType::I8;
}

bool sieve::rt::isPlainFileName(const std::string &name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string("/\\\0", 3)) == std::string::npos;
}

bool Target::parse(const std::string &text, Target &target) {
  if (text.compare(0, 3, "sm_") != 0)
    return false;
  std::size_t pos = 3, digits = 0;
  int number = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' &&
         digits < 4) {
    number = number * 10 + (text[pos++] - '0');
    ++digits;
  }
  if (digits < 2 || digits > 3)
    return false;
  Target result;
  result.major = number / 10;
  result.minor = number % 10;
  if (pos < text.size() && text[pos] == 'a') {
    result.archSpecific = true;
    ++pos;
  }
  if (pos != text.size())
    return false;
  target = result;
  return true;
}

int64_t Target::getMaxSharedBytesPerBlock() const {
  // CUDA C++ Programming Guide, "Technical Specifications per Compute
  // Capability": maximum shared memory per thread block (opt-in).
  int cc = major * 10 + minor;
  switch (cc) {
  case 70:
  case 72:
    return 96 * 1024;
  case 75:
    return 64 * 1024;
  case 80:
  case 87:
    return 163 * 1024;
  case 86:
  case 89:
  case 120:
  case 121:
    return 99 * 1024;
  case 90:
  case 100:
  case 101:
  case 103:
  case 110:
    return 227 * 1024;
  default:
    // An architecture this table does not know: only what every GPU offers.
    return kDefaultSharedBytesLimit;
  }
}

//===----------------------------------------------------------------------===//
// Validator
//===----------------------------------------------------------------------===//

namespace {
bool isIdentifier(const std::string &name) {
  if (name.empty() ||
      !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_'))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::string indexed(const std::string &path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string member(const std::string &path, const char *key) {
  return path.empty() ? key : path + "." + key;
}

class Validator {
public:
  explicit Validator(Manifest &manifest) : m(manifest) {}

  Status run(const json &root);

private:
  Status fail(const std::string &path, const std::string &what) const {
    return invalidBundle("manifest.json: " + (path.empty() ? "" : path + ": ") +
                         what);
  }

  /// "a string", "an array", ... for error messages.
  static std::string describe(const json &value) {
    switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a floating-point number";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
    }
  }

  Status expectObject(const json &value, const std::string &path,
                      std::initializer_list<const char *> allowed) const {
    if (!value.is_object())
      return fail(path, "expected an object, found " + describe(value));
    for (const auto &item : value.items()) {
      bool known =
          std::any_of(allowed.begin(), allowed.end(),
                      [&](const char *key) { return item.key() == key; });
      if (!known)
        return fail(path, "unknown field '" + item.key() + "'");
    }
    return Status();
  }

  /// The member `key` of `object`; an error when it is missing.
  Status getField(const json &object, const std::string &path, const char *key,
                  const json *&field) const {
    auto it = object.find(key);
    if (it == object.end())
      return fail(path, "missing field '" + std::string(key) + "'");
    field = &*it;
    return Status();
  }

  Status getString(const json &object, const std::string &path, const char *key,
                   std::string &result) const {
    const json *field;
    SIEVE_RETURN_IF_ERROR(getField(object, path, key, field));
    if (!field->is_string())
      return fail(member(path, key),
                  "expected a string, found " + describe(*field));
    result = field->get<std::string>();
    if (result.find('\0') != std::string::npos)
      return fail(member(path, key), "contains a NUL character");
    return Status();
  }

  Status getNonEmptyString(const json &object, const std::string &path,
                           const char *key, std::string &result) const {
    SIEVE_RETURN_IF_ERROR(getString(object, path, key, result));
    if (result.empty())
      return fail(member(path, key), "must not be empty");
    return Status();
  }

  Status getInteger(const json &value, const std::string &path,
                    int64_t &result) const {
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() >
            static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return fail(path, "integer out of the 64-bit range");
    if (!value.is_number_integer())
      return fail(path, "expected an integer, found " + describe(value));
    result = value.get<int64_t>();
    return Status();
  }

  Status getArray(const json &object, const std::string &path, const char *key,
                  const json *&array) const {
    SIEVE_RETURN_IF_ERROR(getField(object, path, key, array));
    if (!array->is_array())
      return fail(member(path, key),
                  "expected an array, found " + describe(*array));
    return Status();
  }

  /// An integer or an expression string over the declared symbols.
  Status getExpr(const json &value, const std::string &path, Expr::Mode mode,
                 Expr &result) const {
    if (value.is_string()) {
      return Expr::parse(value.get<std::string>(), m.symbolNames, mode, result)
          .withContext("manifest.json: " + path);
    }
    if (value.is_number_integer() || value.is_number_unsigned()) {
      int64_t constant;
      SIEVE_RETURN_IF_ERROR(getInteger(value, path, constant));
      result = Expr::constant(constant);
      return Status();
    }
    return fail(path, "expected an integer or an expression string, found " +
                          describe(value));
  }

  Status getExprField(const json &object, const std::string &path,
                      const char *key, Expr::Mode mode, Expr &result) const {
    const json *field;
    SIEVE_RETURN_IF_ERROR(getField(object, path, key, field));
    return getExpr(*field, member(path, key), mode, result);
  }

  /// An expression whose value, when constant, must lie in [lo, hi].
  Status checkConstantRange(const Expr &expr, const std::string &path,
                            int64_t lo, int64_t hi) const {
    std::optional<int64_t> value = expr.getConstant();
    if (!value) {
      // A constant expression that fails to evaluate ("1/0") is wrong for
      // every input; say so now rather than at the first run.
      if (expr.getSymbols().empty()) {
        int64_t ignored;
        Status status = expr.evaluate({}, {}, ignored);
        return invalidBundle("manifest.json: " + path + ": " +
                             status.getMessage());
      }
      return Status();
    }
    if (*value < lo || *value > hi)
      return fail(path, "is " + std::to_string(*value) +
                            ", expected a value in [" + std::to_string(lo) +
                            ", " + std::to_string(hi) + "]");
    return Status();
  }

  Status lookupBuffer(const json &object, const std::string &path,
                      const char *key, std::size_t &index) const {
    std::string name;
    SIEVE_RETURN_IF_ERROR(getString(object, path, key, name));
    auto it = bufferIndex.find(name);
    if (it == bufferIndex.end())
      return fail(member(path, key), "unknown buffer '" + name + "'");
    index = it->second;
    return Status();
  }

  Status getDType(const json &object, const std::string &path,
                  DType &dtype) const {
    std::string name;
    SIEVE_RETURN_IF_ERROR(getString(object, path, "dtype", name));
    std::optional<DType> parsed = parseDTypeName(name);
    if (!parsed)
      return fail(member(path, "dtype"),
                  "unknown dtype '" + name +
                      "' (expected f32, f16, bf16, i64, i32, i8, i4 or i1)");
    dtype = *parsed;
    return Status();
  }

  Status parseHeader(const json &root);
  Status parseSymbolNames(const json &root, const json *&symbols);
  Status parseBuffers(const json &root);
  Status parseTensors(const json &root, const char *key, BufferKind kind,
                      std::vector<TensorSpec> &tensors);
  Status parseRandom(const json &value, const std::string &path,
                     TensorSpec &tensor) const;
  Status bindSymbols(const json &symbols);
  Status parseChecks(const json &root);
  Status parseKernels(const json &root);
  Status parseLaunches(const json &root);
  Status parseLaunch(const json &value, const std::string &path,
                     LaunchSpec &launch);
  Status parseArg(const json &value, const std::string &path, ParamKind param,
                  std::size_t paramIndex, ArgSpec &arg);
  Status parseTensorMap(const json &value, const std::string &path,
                        ArgSpec &arg);
  Status parseReuse(const json &value, const std::string &path,
                    LaunchSpec &launch);
  Status parseGates(const json &root);
  void computeBufferUses();
  Status parseFiles(const json &root);

  Manifest &m;
  std::map<std::string, std::size_t> bufferIndex;
  std::map<std::string, std::size_t> kernelIndex;
};
} // namespace

Status Validator::run(const json &root) {
  SIEVE_RETURN_IF_ERROR(
      expectObject(root, "",
                   {"format", "version", "producer", "target", "entry",
                    "symbols", "inputs", "outputs", "buffers", "arena_bytes",
                    "checks", "kernels", "launches", "gates", "files"}));
  SIEVE_RETURN_IF_ERROR(parseHeader(root));
  const json *symbols;
  SIEVE_RETURN_IF_ERROR(parseSymbolNames(root, symbols));
  SIEVE_RETURN_IF_ERROR(parseBuffers(root));
  SIEVE_RETURN_IF_ERROR(
      parseTensors(root, "inputs", BufferKind::Input, m.inputs));
  SIEVE_RETURN_IF_ERROR(
      parseTensors(root, "outputs", BufferKind::Output, m.outputs));
  SIEVE_RETURN_IF_ERROR(bindSymbols(*symbols));
  SIEVE_RETURN_IF_ERROR(parseChecks(root));
  SIEVE_RETURN_IF_ERROR(parseKernels(root));
  SIEVE_RETURN_IF_ERROR(parseLaunches(root));
  SIEVE_RETURN_IF_ERROR(parseGates(root));
  computeBufferUses();
  return parseFiles(root);
}

void Validator::computeBufferUses() {
  auto use = [&](std::size_t buffer, int64_t launch) {
    BufferSpec &spec = m.buffers[buffer];
    if (spec.firstUse < 0)
      spec.firstUse = launch;
    spec.lastUse = std::max(spec.lastUse, launch);
  };
  // A tensor map reads its buffer (through TMA) at the launches it is
  // passed to.
  auto usesBuffer = [](const ArgSpec &arg) {
    return arg.kind == ParamKind::Memref || arg.kind == ParamKind::TensorMap;
  };
  for (std::size_t l = 0; l < m.launches.size(); ++l)
    for (const ArgSpec &arg : m.launches[l].args)
      if (usesBuffer(arg))
        use(arg.buffer, static_cast<int64_t>(l));
  int64_t end = static_cast<int64_t>(m.launches.size());
  for (const GateSpec &gate : m.gates) {
    use(gate.score, end);
    use(gate.mask, end);
  }
  // A launch marked `reuse` may be skipped by the next run: what it writes
  // is live throughout.
  for (const LaunchSpec &launch : m.launches)
    if (!launch.reuseInputs.empty())
      for (const ArgSpec &arg : launch.args)
        if (usesBuffer(arg)) {
          use(arg.buffer, 0);
          use(arg.buffer, end);
        }
}

Status Validator::parseHeader(const json &root) {
  std::string format;
  SIEVE_RETURN_IF_ERROR(getString(root, "", "format", format));
  if (format != "sieve-bundle")
    return fail("format", "is '" + format + "', expected 'sieve-bundle'");
  const json *version;
  SIEVE_RETURN_IF_ERROR(getField(root, "", "version", version));
  int64_t versionNumber;
  SIEVE_RETURN_IF_ERROR(getInteger(*version, "version", versionNumber));
  if (versionNumber != kManifestVersion)
    return fail("version", "is " + std::to_string(versionNumber) +
                               "; this runtime reads version " +
                               std::to_string(kManifestVersion) +
                               " only (recompile the bundle with the "
                               "sieve-compile of this release)");
  SIEVE_RETURN_IF_ERROR(getString(root, "", "producer", m.producer));
  SIEVE_RETURN_IF_ERROR(getString(root, "", "target", m.targetName));
  if (!Target::parse(m.targetName, m.target))
    return fail("target",
                "'" + m.targetName +
                    "' is not a GPU architecture like sm_90 or sm_90a");
  return getNonEmptyString(root, "", "entry", m.entry);
}

Status Validator::parseSymbolNames(const json &root, const json *&symbols) {
  SIEVE_RETURN_IF_ERROR(getArray(root, "", "symbols", symbols));
  for (std::size_t i = 0; i < symbols->size(); ++i) {
    std::string path = indexed("symbols", i);
    const json &entry = (*symbols)[i];
    SIEVE_RETURN_IF_ERROR(
        expectObject(entry, path, {"name", "input", "dim", "stride"}));
    SymbolSpec symbol;
    SIEVE_RETURN_IF_ERROR(getString(entry, path, "name", symbol.name));
    if (!isIdentifier(symbol.name) || symbol.name == "ceildiv" ||
        symbol.name == "min" || symbol.name == "max")
      return fail(member(path, "name"),
                  "'" + symbol.name +
                      "' is not a valid symbol name (an identifier other than "
                      "ceildiv, min and max)");
    if (std::find(m.symbolNames.begin(), m.symbolNames.end(), symbol.name) !=
        m.symbolNames.end())
      return fail(member(path, "name"),
                  "duplicate symbol '" + symbol.name + "'");
    m.symbolNames.push_back(symbol.name);
    m.symbols.push_back(symbol);
  }
  return Status();
}

Status Validator::parseBuffers(const json &root) {
  const json *buffers;
  SIEVE_RETURN_IF_ERROR(getArray(root, "", "buffers", buffers));
  for (std::size_t i = 0; i < buffers->size(); ++i) {
    std::string path = indexed("buffers", i);
    const json &entry = (*buffers)[i];
    SIEVE_RETURN_IF_ERROR(
        expectObject(entry, path, {"name", "kind", "bytes", "offset"}));
    BufferSpec buffer;
    SIEVE_RETURN_IF_ERROR(getNonEmptyString(entry, path, "name", buffer.name));
    if (bufferIndex.count(buffer.name))
      return fail(member(path, "name"),
                  "duplicate buffer '" + buffer.name + "'");
    std::string kind;
    SIEVE_RETURN_IF_ERROR(getString(entry, path, "kind", kind));
    if (kind == "input")
      buffer.kind = BufferKind::Input;
    else if (kind == "output")
      buffer.kind = BufferKind::Output;
    else if (kind == "temporary")
      buffer.kind = BufferKind::Temporary;
    else if (kind == "constant")
      buffer.kind = BufferKind::Constant;
    else
      return fail(member(path, "kind"), "is '" + kind +
                                            "', expected input, output, "
                                            "temporary or constant");
    SIEVE_RETURN_IF_ERROR(getExprField(entry, path, "bytes",
                                       Expr::Mode::Arithmetic, buffer.bytes));
    SIEVE_RETURN_IF_ERROR(
        checkConstantRange(buffer.bytes, member(path, "bytes"), 0,
                           std::numeric_limits<int64_t>::max()));
    bool placed = buffer.kind == BufferKind::Temporary ||
                  buffer.kind == BufferKind::Constant;
    if (placed != entry.contains("offset"))
      return fail(path, placed ? "a " + kind + " buffer needs an 'offset'"
                               : "an " + kind + " buffer has no 'offset'");
    if (placed) {
      SIEVE_RETURN_IF_ERROR(getExprField(
          entry, path, "offset", Expr::Mode::Arithmetic, buffer.offset));
      SIEVE_RETURN_IF_ERROR(
          checkConstantRange(buffer.offset, member(path, "offset"), 0,
                             std::numeric_limits<int64_t>::max()));
      if (std::optional<int64_t> offset = buffer.offset.getConstant();
          offset && *offset % kBufferAlignment != 0)
        return fail(member(path, "offset"),
                    "is " + std::to_string(*offset) + ", not a multiple of " +
                        std::to_string(kBufferAlignment));
    }
    if (buffer.kind == BufferKind::Constant &&
        (!buffer.bytes.getConstant() || !buffer.offset.getConstant()))
      return fail(path, "the bytes and offset of a constant buffer are "
                        "integers");
    bufferIndex[buffer.name] = m.buffers.size();
    m.buffers.push_back(std::move(buffer));
  }
  SIEVE_RETURN_IF_ERROR(getExprField(root, "", "arena_bytes",
                                     Expr::Mode::Arithmetic, m.arenaBytes));
  return checkConstantRange(m.arenaBytes, "arena_bytes", 0,
                            std::numeric_limits<int64_t>::max());
}

Status Validator::parseTensors(const json &root, const char *key,
                               BufferKind kind,
                               std::vector<TensorSpec> &tensors) {
  bool isInput = kind == BufferKind::Input;
  const json *list;
  SIEVE_RETURN_IF_ERROR(getArray(root, "", key, list));
  std::set<std::string> names;
  std::set<std::size_t> buffersUsed;
  for (std::size_t i = 0; i < list->size(); ++i) {
    std::string path = indexed(key, i);
    const json &entry = (*list)[i];
    if (isInput)
      SIEVE_RETURN_IF_ERROR(expectObject(
          entry, path,
          {"name", "dtype", "shape", "buffer", "random", "strided"}));
    else
      SIEVE_RETURN_IF_ERROR(
          expectObject(entry, path, {"name", "dtype", "shape", "buffer"}));
    TensorSpec tensor;
    SIEVE_RETURN_IF_ERROR(getNonEmptyString(entry, path, "name", tensor.name));
    if (!names.insert(tensor.name).second)
      return fail(member(path, "name"), std::string("duplicate ") +
                                            (isInput ? "input" : "output") +
                                            " '" + tensor.name + "'");
    SIEVE_RETURN_IF_ERROR(getDType(entry, path, tensor.dtype));

    const json *shape;
    SIEVE_RETURN_IF_ERROR(getArray(entry, path, "shape", shape));
    if (shape->size() > kMaxRank)
      return fail(member(path, "shape"),
                  "rank " + std::to_string(shape->size()) + " exceeds " +
                      std::to_string(kMaxRank));
    for (std::size_t d = 0; d < shape->size(); ++d) {
      std::string dimPath = indexed(member(path, "shape"), d);
      const json &dim = (*shape)[d];
      DimSpec spec;
      if (dim.is_string() && isInput) {
        std::string name = dim.get<std::string>();
        if (std::find(m.symbolNames.begin(), m.symbolNames.end(), name) ==
            m.symbolNames.end())
          return fail(dimPath, "'" + name +
                                   "' is not a declared symbol (input shapes "
                                   "hold integers and symbol names)");
        SIEVE_RETURN_IF_ERROR(
            getExpr(dim, dimPath, Expr::Mode::Arithmetic, spec.expr));
      } else if (dim.is_string()) {
        SIEVE_RETURN_IF_ERROR(
            getExpr(dim, dimPath, Expr::Mode::Arithmetic, spec.expr));
        spec.size = spec.expr.getConstant();
        if (spec.size && *spec.size < 0)
          return fail(dimPath, "is negative");
      } else {
        int64_t size;
        SIEVE_RETURN_IF_ERROR(getInteger(dim, dimPath, size));
        if (size < 0)
          return fail(dimPath, "is negative");
        spec.size = size;
        spec.expr = Expr::constant(size);
      }
      tensor.shape.push_back(std::move(spec));
    }

    SIEVE_RETURN_IF_ERROR(lookupBuffer(entry, path, "buffer", tensor.buffer));
    const BufferSpec &buffer = m.buffers[tensor.buffer];
    if (buffer.kind != kind)
      return fail(member(path, "buffer"), "buffer '" + buffer.name +
                                              "' is not of kind " +
                                              (isInput ? "input" : "output"));
    if (!buffersUsed.insert(tensor.buffer).second)
      return fail(member(path, "buffer"),
                  "buffer '" + buffer.name + "' holds another " +
                      (isInput ? "input" : "output") + " already");

    if (auto it = entry.find("random"); it != entry.end())
      SIEVE_RETURN_IF_ERROR(parseRandom(*it, member(path, "random"), tensor));
    if (auto it = entry.find("strided"); it != entry.end()) {
      if (!it->is_boolean())
        return fail(member(path, "strided"),
                    "expected true or false, found " + describe(*it));
      tensor.strided = it->get<bool>();
    }
    tensors.push_back(std::move(tensor));
  }
  // Every input or output buffer holds exactly one tensor; an orphan would
  // be read (inputs) or produced (outputs) by nobody.
  for (std::size_t b = 0; b < m.buffers.size(); ++b)
    if (m.buffers[b].kind == kind && !buffersUsed.count(b))
      return fail(indexed("buffers", b),
                  "buffer '" + m.buffers[b].name + "' of kind " +
                      (isInput ? "input" : "output") + " holds no " +
                      (isInput ? "input" : "output"));
  return Status();
}

Status Validator::parseRandom(const json &value, const std::string &path,
                              TensorSpec &tensor) const {
  SIEVE_RETURN_IF_ERROR(expectObject(value, path, {"min", "max", "qmax", "k"}));
  bool range = value.contains("min") || value.contains("max");
  bool scale = value.contains("qmax") || value.contains("k");
  if (range == scale)
    return fail(path, "expected either 'min' and 'max' or 'qmax' and 'k'");
  if (range) {
    if (tensor.dtype == DType::F32 || tensor.dtype == DType::F16 ||
        tensor.dtype == DType::BF16 || tensor.dtype == DType::I1)
      return fail(path, "'min' and 'max' apply to integer inputs (i64, i32, "
                        "i8, i4), not " +
                            std::string(getDTypeName(tensor.dtype)));
    SIEVE_RETURN_IF_ERROR(getExprField(
        value, path, "min", Expr::Mode::Arithmetic, tensor.random.min));
    return getExprField(value, path, "max", Expr::Mode::Arithmetic,
                        tensor.random.max);
  }
  if (tensor.dtype != DType::F32)
    return fail(path, "'qmax' and 'k' apply to f32 scales, not " +
                          std::string(getDTypeName(tensor.dtype)));
  const json *qmax;
  SIEVE_RETURN_IF_ERROR(getField(value, path, "qmax", qmax));
  int64_t qmaxValue;
  SIEVE_RETURN_IF_ERROR(getInteger(*qmax, member(path, "qmax"), qmaxValue));
  if (qmaxValue <= 0)
    return fail(member(path, "qmax"), "must be positive");
  tensor.random.scaleQmax = qmaxValue;
  return getExprField(value, path, "k", Expr::Mode::Arithmetic,
                      tensor.random.scaleK);
}

Status Validator::bindSymbols(const json &symbols) {
  for (std::size_t i = 0; i < m.symbols.size(); ++i) {
    std::string path = indexed("symbols", i);
    const json &entry = symbols[i];
    SymbolSpec &symbol = m.symbols[i];
    const json *field;
    int64_t input, dim;
    SIEVE_RETURN_IF_ERROR(getField(entry, path, "input", field));
    SIEVE_RETURN_IF_ERROR(getInteger(*field, member(path, "input"), input));
    if (input < 0 || static_cast<std::size_t>(input) >= m.inputs.size())
      return fail(member(path, "input"),
                  "input " + std::to_string(input) + " does not exist (" +
                      std::to_string(m.inputs.size()) + " inputs)");
    // Exactly one of "dim" (a dynamic size) and "stride" (the stride of a
    // dimension of a strided input).
    bool hasDim = entry.contains("dim"), hasStride = entry.contains("stride");
    if (hasDim == hasStride)
      return fail(path, "expected either 'dim' or 'stride'");
    const char *key = hasDim ? "dim" : "stride";
    SIEVE_RETURN_IF_ERROR(getField(entry, path, key, field));
    SIEVE_RETURN_IF_ERROR(getInteger(*field, member(path, key), dim));
    const TensorSpec &tensor = m.inputs[input];
    if (dim < 0 || static_cast<std::size_t>(dim) >= tensor.shape.size())
      return fail(member(path, key), "input '" + tensor.name + "' has rank " +
                                         std::to_string(tensor.shape.size()) +
                                         ", no dimension " +
                                         std::to_string(dim));
    if (hasStride) {
      if (!tensor.strided)
        return fail(member(path, "stride"),
                    "input '" + tensor.name +
                        "' is not strided (its layout is dense)");
      for (const TensorSpec &other : m.inputs)
        for (const DimSpec &spec : other.shape)
          if (!spec.size && spec.expr.getText() == symbol.name)
            return fail(path, "stride symbol '" + symbol.name +
                                  "' is also a dimension of input '" +
                                  other.name + "'");
      symbol.isStride = true;
      symbol.input = static_cast<std::size_t>(input);
      symbol.dim = static_cast<std::size_t>(dim);
      continue;
    }
    const DimSpec &spec = tensor.shape[dim];
    if (spec.size || spec.expr.getText() != symbol.name)
      return fail(path, "dimension " + std::to_string(dim) + " of input '" +
                            tensor.name + "' is " + spec.expr.getText() +
                            ", not the symbol '" + symbol.name + "'");
    symbol.input = static_cast<std::size_t>(input);
    symbol.dim = static_cast<std::size_t>(dim);
  }
  return Status();
}

Status Validator::parseChecks(const json &root) {
  const json *checks;
  SIEVE_RETURN_IF_ERROR(getArray(root, "", "checks", checks));
  for (std::size_t i = 0; i < checks->size(); ++i) {
    std::string path = indexed("checks", i);
    const json &entry = (*checks)[i];
    SIEVE_RETURN_IF_ERROR(expectObject(entry, path, {"expr", "message"}));
    CheckSpec check;
    SIEVE_RETURN_IF_ERROR(
        getExprField(entry, path, "expr", Expr::Mode::Predicate, check.expr));
    SIEVE_RETURN_IF_ERROR(
        getNonEmptyString(entry, path, "message", check.message));
    m.checks.push_back(std::move(check));
  }
  return Status();
}

Status Validator::parseKernels(const json &root) {
  const json *kernels;
  SIEVE_RETURN_IF_ERROR(getArray(root, "", "kernels", kernels));
  for (std::size_t i = 0; i < kernels->size(); ++i) {
    std::string path = indexed("kernels", i);
    const json &entry = (*kernels)[i];
    SIEVE_RETURN_IF_ERROR(
        expectObject(entry, path, {"name", "static_shared_bytes", "params"}));
    KernelSpec kernel;
    SIEVE_RETURN_IF_ERROR(getString(entry, path, "name", kernel.name));
    // The name is also a C symbol (sieve_emu_kernel_<name>) and a PTX .entry.
    if (!isIdentifier(kernel.name))
      return fail(member(path, "name"),
                  "'" + kernel.name + "' is not a C identifier");
    if (kernelIndex.count(kernel.name))
      return fail(member(path, "name"),
                  "duplicate kernel '" + kernel.name + "'");
    const json *shared;
    SIEVE_RETURN_IF_ERROR(getField(entry, path, "static_shared_bytes", shared));
    SIEVE_RETURN_IF_ERROR(getInteger(*shared,
                                     member(path, "static_shared_bytes"),
                                     kernel.staticSharedBytes));
    if (kernel.staticSharedBytes < 0 ||
        kernel.staticSharedBytes > kMaxStaticSharedBytes)
      return fail(member(path, "static_shared_bytes"),
                  "is " + std::to_string(kernel.staticSharedBytes) +
                      "; static shared memory is limited to " +
                      std::to_string(kMaxStaticSharedBytes) + " bytes");
    const json *params;
    SIEVE_RETURN_IF_ERROR(getArray(entry, path, "params", params));
    int64_t paramBytes = 0;
    for (std::size_t p = 0; p < params->size(); ++p) {
      std::string paramPath = indexed(member(path, "params"), p);
      const json &param = (*params)[p];
      if (!param.is_string())
        return fail(paramPath, "expected a string, found " + describe(param));
      std::string name = param.get<std::string>();
      ParamKind kind;
      int64_t size;
      if (name == "memref")
        kind = ParamKind::Memref, size = 40;
      else if (name == "i64")
        kind = ParamKind::I64, size = 8;
      else if (name == "i32")
        kind = ParamKind::I32, size = 4;
      else if (name == "f32")
        kind = ParamKind::F32, size = 4;
      else if (name == "tensor_map")
        kind = ParamKind::TensorMap, size = 8;
      else
        return fail(paramPath, "is '" + name +
                                   "', expected memref, i64, i32, f32 or "
                                   "tensor_map");
      // Parameters are laid out at their natural alignment (8 for memref
      // fields and i64).
      int64_t align = size >= 8 ? 8 : size;
      paramBytes = (paramBytes + align - 1) / align * align + size;
      kernel.params.push_back(kind);
    }
    if (paramBytes > kMaxParamBytes)
      return fail(member(path, "params"), "take " + std::to_string(paramBytes) +
                                              " bytes; CUDA passes at most " +
                                              std::to_string(kMaxParamBytes));
    kernelIndex[kernel.name] = m.kernels.size();
    m.kernels.push_back(std::move(kernel));
  }
  return Status();
}

Status Validator::parseLaunches(const json &root) {
  const json *launches;
  SIEVE_RETURN_IF_ERROR(getArray(root, "", "launches", launches));
  for (std::size_t i = 0; i < launches->size(); ++i) {
    LaunchSpec launch;
    SIEVE_RETURN_IF_ERROR(
        parseLaunch((*launches)[i], indexed("launches", i), launch));
    m.launches.push_back(std::move(launch));
  }
  return Status();
}

Status Validator::parseLaunch(const json &entry, const std::string &path,
                              LaunchSpec &launch) {
  SIEVE_RETURN_IF_ERROR(expectObject(entry, path,
                                     {"kernel", "op", "grid", "block",
                                      "dynamic_shared_bytes", "args",
                                      "reuse"}));
  std::string kernelName;
  SIEVE_RETURN_IF_ERROR(getString(entry, path, "kernel", kernelName));
  auto it = kernelIndex.find(kernelName);
  if (it == kernelIndex.end())
    return fail(member(path, "kernel"), "unknown kernel '" + kernelName + "'");
  launch.kernel = it->second;
  const KernelSpec &kernel = m.kernels[launch.kernel];
  SIEVE_RETURN_IF_ERROR(getNonEmptyString(entry, path, "op", launch.op));

  for (const char *key : {"grid", "block"}) {
    const json *dims;
    SIEVE_RETURN_IF_ERROR(getArray(entry, path, key, dims));
    if (dims->size() != 3)
      return fail(member(path, key), "expected 3 sizes (x, y, z), found " +
                                         std::to_string(dims->size()));
    bool isGrid = std::string(key) == "grid";
    std::array<Expr, 3> &target = isGrid ? launch.grid : launch.block;
    for (int d = 0; d < 3; ++d) {
      std::string dimPath = indexed(member(path, key), d);
      SIEVE_RETURN_IF_ERROR(
          getExpr((*dims)[d], dimPath, Expr::Mode::Arithmetic, target[d]));
      // An empty grid (a zero size) is a launch with nothing to do; an
      // empty block is an error.
      SIEVE_RETURN_IF_ERROR(
          checkConstantRange(target[d], dimPath, isGrid ? 0 : 1,
                             isGrid ? kMaxGridDims[d] : kMaxBlockDims[d]));
    }
  }
  std::optional<int64_t> bx = launch.block[0].getConstant(),
                         by = launch.block[1].getConstant(),
                         bz = launch.block[2].getConstant();
  if (bx && by && bz && *bx * *by * *bz > kMaxThreadsPerBlock)
    return fail(member(path, "block"), "has " +
                                           std::to_string(*bx * *by * *bz) +
                                           " threads; a block holds at most " +
                                           std::to_string(kMaxThreadsPerBlock));

  SIEVE_RETURN_IF_ERROR(getExprField(entry, path, "dynamic_shared_bytes",
                                     Expr::Mode::Arithmetic,
                                     launch.dynamicSharedBytes));
  SIEVE_RETURN_IF_ERROR(checkConstantRange(
      launch.dynamicSharedBytes, member(path, "dynamic_shared_bytes"), 0,
      m.target.getMaxSharedBytesPerBlock() - kernel.staticSharedBytes));

  const json *args;
  SIEVE_RETURN_IF_ERROR(getArray(entry, path, "args", args));
  if (args->size() != kernel.params.size())
    return fail(member(path, "args"), "kernel '" + kernel.name + "' takes " +
                                          std::to_string(kernel.params.size()) +
                                          " parameters, the launch gives " +
                                          std::to_string(args->size()) +
                                          " arguments");
  for (std::size_t a = 0; a < args->size(); ++a) {
    ArgSpec arg;
    SIEVE_RETURN_IF_ERROR(parseArg((*args)[a], indexed(member(path, "args"), a),
                                   kernel.params[a], a, arg));
    launch.args.push_back(std::move(arg));
  }
  if (auto it = entry.find("reuse"); it != entry.end())
    SIEVE_RETURN_IF_ERROR(parseReuse(*it, member(path, "reuse"), launch));
  return Status();
}

Status Validator::parseReuse(const json &value, const std::string &path,
                             LaunchSpec &launch) {
  // A launch whose results a run may take from an earlier one: it reads the
  // buffers of the listed inputs and writes temporaries only.
  if (!value.is_array() || value.empty())
    return fail(path, "expected a non-empty array of input names, found " +
                          (value.is_array() ? std::string("an empty array")
                                            : describe(value)));
  for (std::size_t i = 0; i < value.size(); ++i) {
    const json &name = value[i];
    std::string where = indexed(path, i);
    if (!name.is_string())
      return fail(where, "expected an input name, found " + describe(name));
    std::string text = name.get<std::string>();
    auto input = std::find_if(
        m.inputs.begin(), m.inputs.end(),
        [&](const TensorSpec &spec) { return spec.name == text; });
    if (input == m.inputs.end())
      return fail(where, "no input named '" + text + "'");
    auto index = static_cast<std::size_t>(input - m.inputs.begin());
    if (std::find(launch.reuseInputs.begin(), launch.reuseInputs.end(),
                  index) != launch.reuseInputs.end())
      return fail(where, "input '" + input->name + "' is listed twice");
    launch.reuseInputs.push_back(index);
  }
  for (std::size_t a = 0; a < launch.args.size(); ++a) {
    const ArgSpec &arg = launch.args[a];
    if (arg.kind != ParamKind::Memref && arg.kind != ParamKind::TensorMap)
      continue;
    const BufferSpec &buffer = m.buffers[arg.buffer];
    bool listed = std::any_of(
        launch.reuseInputs.begin(), launch.reuseInputs.end(),
        [&](std::size_t input) { return m.inputs[input].buffer == arg.buffer; });
    if (buffer.kind == BufferKind::Temporary || listed)
      continue;
    return fail(path, "argument " + std::to_string(a) + " is buffer '" +
                          buffer.name + "', " +
                          (buffer.kind == BufferKind::Output
                               ? std::string("an output")
                               : "an input not listed") +
                          "; a reused launch reads the listed inputs and "
                          "writes temporaries only");
  }
  return Status();
}

Status Validator::parseArg(const json &value, const std::string &path,
                           ParamKind param, std::size_t paramIndex,
                           ArgSpec &arg) {
  if (!value.is_object())
    return fail(path, "expected an object, found " + describe(value));
  if (value.contains("buffer"))
    arg.kind = ParamKind::Memref;
  else if (value.contains("i64"))
    arg.kind = ParamKind::I64;
  else if (value.contains("i32"))
    arg.kind = ParamKind::I32;
  else if (value.contains("f32"))
    arg.kind = ParamKind::F32;
  else if (value.contains("tensor_map"))
    arg.kind = ParamKind::TensorMap;
  else
    return fail(path, "expected {\"buffer\": ..., \"dtype\": ...}, "
                      "{\"i64\": ...}, {\"i32\": ...}, {\"f32\": ...} or "
                      "{\"tensor_map\": ...}");
  if (arg.kind != param)
    return fail(path, "parameter " + std::to_string(paramIndex) +
                          " of the kernel is " + getParamKindName(param) +
                          ", the argument is " + getParamKindName(arg.kind));
  switch (arg.kind) {
  case ParamKind::Memref:
    SIEVE_RETURN_IF_ERROR(expectObject(value, path, {"buffer", "dtype"}));
    SIEVE_RETURN_IF_ERROR(lookupBuffer(value, path, "buffer", arg.buffer));
    return getDType(value, path, arg.dtype);
  case ParamKind::I64:
    SIEVE_RETURN_IF_ERROR(expectObject(value, path, {"i64"}));
    return getExprField(value, path, "i64", Expr::Mode::Arithmetic, arg.value);
  case ParamKind::I32:
    SIEVE_RETURN_IF_ERROR(expectObject(value, path, {"i32"}));
    SIEVE_RETURN_IF_ERROR(
        getExprField(value, path, "i32", Expr::Mode::Arithmetic, arg.value));
    return checkConstantRange(arg.value, member(path, "i32"),
                              std::numeric_limits<int32_t>::min(),
                              std::numeric_limits<int32_t>::max());
  case ParamKind::F32: {
    SIEVE_RETURN_IF_ERROR(expectObject(value, path, {"f32"}));
    const json &number = value["f32"];
    if (!number.is_number())
      return fail(member(path, "f32"),
                  "expected a number, found " + describe(number));
    double wide = number.get<double>();
    if (!(std::fabs(wide) <= std::numeric_limits<float>::max()))
      return fail(member(path, "f32"), "is outside the f32 range");
    arg.f32 = static_cast<float>(wide);
    return Status();
  }
  case ParamKind::TensorMap:
    SIEVE_RETURN_IF_ERROR(expectObject(value, path, {"tensor_map"}));
    return parseTensorMap(value["tensor_map"], member(path, "tensor_map"), arg);
  }
  return Status();
}

Status Validator::parseTensorMap(const json &value, const std::string &path,
                                 ArgSpec &arg) {
  // What cuTensorMapEncodeTiled requires of its arguments, as far as it is
  // known before the sizes are; the rest is checked at run time.
  SIEVE_RETURN_IF_ERROR(expectObject(
      value, path,
      {"buffer", "dtype", "offset", "dims", "strides", "box", "swizzle"}));
  TensorMapArg &map = arg.tensorMap;
  SIEVE_RETURN_IF_ERROR(lookupBuffer(value, path, "buffer", arg.buffer));
  SIEVE_RETURN_IF_ERROR(getDType(value, path, arg.dtype));
  if (!isTensorMapDType(arg.dtype))
    return fail(member(path, "dtype"),
                "is " + std::string(getDTypeName(arg.dtype)) +
                    "; a tensor map holds f32, f16, bf16, i32 or i8 elements "
                    "(e4m3 data as i8)");
  map.offset = Expr::constant(0);
  if (value.contains("offset")) {
    SIEVE_RETURN_IF_ERROR(getExprField(value, path, "offset",
                                       Expr::Mode::Arithmetic, map.offset));
    SIEVE_RETURN_IF_ERROR(
        checkConstantRange(map.offset, member(path, "offset"), 0,
                           std::numeric_limits<int64_t>::max()));
  }

  const json *dims;
  SIEVE_RETURN_IF_ERROR(getArray(value, path, "dims", dims));
  std::size_t rank = dims->size();
  if (rank < 1 || rank > kMaxTensorMapRank)
    return fail(member(path, "dims"),
                "has " + std::to_string(rank) +
                    " entries; a tensor map has rank 1 to " +
                    std::to_string(kMaxTensorMapRank));
  for (std::size_t d = 0; d < rank; ++d) {
    std::string dimPath = indexed(member(path, "dims"), d);
    Expr dim;
    SIEVE_RETURN_IF_ERROR(
        getExpr((*dims)[d], dimPath, Expr::Mode::Arithmetic, dim));
    SIEVE_RETURN_IF_ERROR(
        checkConstantRange(dim, dimPath, 1, kMaxTensorMapDim));
    map.dims.push_back(std::move(dim));
  }

  const json *strides;
  SIEVE_RETURN_IF_ERROR(getArray(value, path, "strides", strides));
  if (strides->size() != rank - 1)
    return fail(member(path, "strides"),
                "has " + std::to_string(strides->size()) +
                    " entries; a tensor map of rank " + std::to_string(rank) +
                    " takes " + std::to_string(rank - 1) +
                    " (the byte strides of dimensions 1 and up)");
  for (std::size_t d = 0; d < strides->size(); ++d) {
    std::string stridePath = indexed(member(path, "strides"), d);
    Expr stride;
    SIEVE_RETURN_IF_ERROR(
        getExpr((*strides)[d], stridePath, Expr::Mode::Arithmetic, stride));
    SIEVE_RETURN_IF_ERROR(
        checkConstantRange(stride, stridePath, 1, kTensorMapStrideLimit - 1));
    if (std::optional<int64_t> bytes = stride.getConstant();
        bytes && *bytes % kTensorMapAlignment != 0)
      return fail(stridePath, "is " + std::to_string(*bytes) +
                                  ", not a multiple of " +
                                  std::to_string(kTensorMapAlignment));
    map.strides.push_back(std::move(stride));
  }

  const json *box;
  SIEVE_RETURN_IF_ERROR(getArray(value, path, "box", box));
  if (box->size() != rank)
    return fail(member(path, "box"), "has " + std::to_string(box->size()) +
                                         " entries; a tensor map of rank " +
                                         std::to_string(rank) + " takes " +
                                         std::to_string(rank));
  for (std::size_t d = 0; d < rank; ++d) {
    std::string boxPath = indexed(member(path, "box"), d);
    int64_t size;
    SIEVE_RETURN_IF_ERROR(getInteger((*box)[d], boxPath, size));
    SIEVE_RETURN_IF_ERROR(
        checkConstantRange(Expr::constant(size), boxPath, 1, kMaxTensorMapBox));
    map.box.push_back(static_cast<uint32_t>(size));
  }

  const json *swizzle;
  SIEVE_RETURN_IF_ERROR(getField(value, path, "swizzle", swizzle));
  int64_t swizzleBytes;
  SIEVE_RETURN_IF_ERROR(
      getInteger(*swizzle, member(path, "swizzle"), swizzleBytes));
  if (swizzleBytes != 0 && swizzleBytes != 32 && swizzleBytes != 64 &&
      swizzleBytes != 128)
    return fail(member(path, "swizzle"), "is " + std::to_string(swizzleBytes) +
                                             ", expected 0, 32, 64 or 128");
  map.swizzleBytes = static_cast<uint32_t>(swizzleBytes);

  // The box's rows: whole 16-byte chunks, and within the swizzle span.
  int64_t rowBytes = static_cast<int64_t>(map.box[0] * getDTypeSize(arg.dtype));
  std::string row = std::to_string(rowBytes) + " bytes (" +
                    std::to_string(map.box[0]) + " x " +
                    getDTypeName(arg.dtype) + ")";
  if (rowBytes % kTensorMapAlignment != 0)
    return fail(member(path, "box"), "the inner box dimension is " + row +
                                         ", not a multiple of " +
                                         std::to_string(kTensorMapAlignment));
  if (swizzleBytes != 0 && rowBytes > swizzleBytes)
    return fail(member(path, "box"),
                "the inner box dimension is " + row + ", more than the " +
                    std::to_string(swizzleBytes) + "-byte swizzle span");
  map.slot = m.tensorMapCount++;
  return Status();
}

Status Validator::parseGates(const json &root) {
  const json *gates;
  SIEVE_RETURN_IF_ERROR(getArray(root, "", "gates", gates));
  for (std::size_t i = 0; i < gates->size(); ++i) {
    std::string path = indexed("gates", i);
    const json &entry = (*gates)[i];
    SIEVE_RETURN_IF_ERROR(
        expectObject(entry, path, {"op", "score", "mask", "tokens"}));
    GateSpec gate;
    SIEVE_RETURN_IF_ERROR(getNonEmptyString(entry, path, "op", gate.op));
    SIEVE_RETURN_IF_ERROR(lookupBuffer(entry, path, "score", gate.score));
    SIEVE_RETURN_IF_ERROR(lookupBuffer(entry, path, "mask", gate.mask));
    SIEVE_RETURN_IF_ERROR(getExprField(entry, path, "tokens",
                                       Expr::Mode::Arithmetic, gate.tokens));
    SIEVE_RETURN_IF_ERROR(
        checkConstantRange(gate.tokens, member(path, "tokens"), 0,
                           std::numeric_limits<int64_t>::max()));
    m.gates.push_back(std::move(gate));
  }
  return Status();
}

Status Validator::parseFiles(const json &root) {
  const json *files;
  SIEVE_RETURN_IF_ERROR(getField(root, "", "files", files));
  SIEVE_RETURN_IF_ERROR(
      expectObject(*files, "files", {"ptx", "cubin", "emulator", "constants"}));
  auto getFileName = [&](const char *key, std::string &name) -> Status {
    SIEVE_RETURN_IF_ERROR(getString(*files, "files", key, name));
    if (!isPlainFileName(name))
      return fail(member("files", key),
                  "'" + name +
                      "' is not a plain file name in the bundle "
                      "directory (no '/', '..' or '\\')");
    return Status();
  };
  SIEVE_RETURN_IF_ERROR(getFileName("ptx", m.ptxFile));
  SIEVE_RETURN_IF_ERROR(getFileName("emulator", m.emulatorFile));
  if (files->contains("cubin")) {
    std::string cubin;
    SIEVE_RETURN_IF_ERROR(getFileName("cubin", cubin));
    m.cubinFile = cubin;
  }
  bool hasConstants =
      std::any_of(m.buffers.begin(), m.buffers.end(), [](const BufferSpec &b) {
        return b.kind == BufferKind::Constant;
      });
  if (hasConstants != files->contains("constants"))
    return fail("files", hasConstants
                             ? "constant buffers need a 'constants' file"
                             : "'constants' given but no buffer is constant");
  if (hasConstants) {
    std::string constants;
    SIEVE_RETURN_IF_ERROR(getFileName("constants", constants));
    m.constantsFile = constants;
  }
  return Status();
}

Status sieve::rt::parseManifest(const std::string &text, Manifest &manifest) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error &error) {
    // what() is "[json.exception.parse_error.101] parse error at line 1, ...".
    std::string what = error.what();
    std::size_t start = what.find("] ");
    return invalidBundle(
        "manifest.json: not valid JSON: " +
        (start == std::string::npos ? what : what.substr(start + 2)));
  }
  Manifest result;
  try {
    SIEVE_RETURN_IF_ERROR(Validator(result).run(root));
  } catch (const json::exception &error) {
    // The validator checks types before every access; this is a safety net.
    return invalidBundle(std::string("manifest.json: ") + error.what());
  }
  manifest = std::move(result);
  return Status();
}
