//===- Manifest.h - A bundle's manifest.json, validated ---------*- C++ -*-===//
//
// The in-memory form of docs/bundle-format.md's manifest. parseManifest()
// accepts only manifests that the rest of the runtime can execute without
// further structural checks: names resolve to indices, expressions are
// parsed against the declared symbols, argument lists match the kernels'
// parameters, and everything that does not depend on the bound sizes
// (constant grids, shared memory, file names) is range-checked.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_SRC_MANIFEST_H
#define SIEVE_RUNTIME_SRC_MANIFEST_H

#include "Expr.h"
#include "Status.h"

#include "sieve/HostTensor.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sieve::rt {

/// CUDA's launch limits (the same on every architecture a bundle can
/// target); the emulator enforces them too, so that a bundle that runs there
/// can launch on a GPU.
constexpr int64_t kMaxBlockDims[3] = {1024, 1024, 64};
constexpr int64_t kMaxThreadsPerBlock = 1024;
constexpr int64_t kMaxGridDims[3] = {2147483647, 65535, 65535};
/// Static shared memory a kernel can declare (CUDA's limit without opt-in).
constexpr int64_t kMaxStaticSharedBytes = 48 * 1024;
/// Above this total a launch needs
/// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES.
constexpr int64_t kDefaultSharedBytesLimit = 48 * 1024;

/// A GPU architecture, "sm_90" or "sm_90a".
struct Target {
  int major = 0;
  int minor = 0;
  /// "a" targets use architecture-specific features and run only on exactly
  /// this compute capability.
  bool archSpecific = false;

  /// Parses "sm_<major><minor>[a]"; false if `text` is not of that form.
  static bool parse(const std::string &text, Target &target);
  /// The most shared memory one block can use (opt-in), from NVIDIA's tables;
  /// the emulator uses it in place of the device attribute.
  int64_t getMaxSharedBytesPerBlock() const;
};

/// One dimension of an input or output shape.
struct DimSpec {
  /// The size when static.
  std::optional<int64_t> size;
  /// Otherwise: inputs name a symbol (`expr` is that symbol), outputs may use
  /// any expression.
  Expr expr;
};

enum class BufferKind { Input, Output, Temporary, Constant };

/// How --random-inputs fills an input (the optional `random` field).
struct RandomSpec {
  /// Integer inputs: values uniform in [min, max] (evaluated with every
  /// symbol set to the --dynamic-size value).
  Expr min, max;
  /// f32 scales of quantized weights: scale 3 / (qmax * sqrt(k)).
  std::optional<int64_t> scaleQmax;
  Expr scaleK;
};

struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<DimSpec> shape;
  std::size_t buffer = 0;
  RandomSpec random;
  /// Inputs only: the kernels read the tensor through its strides (stride
  /// symbols), so the runtime keeps the caller's layout instead of packing.
  bool strided = false;
};

struct SymbolSpec {
  std::string name;
  std::size_t input = 0;
  /// Bound from dimension `dim` of the input, or, for a stride symbol, from
  /// the stride (in elements) of that dimension.
  std::size_t dim = 0;
  bool isStride = false;
};

struct BufferSpec {
  std::string name;
  BufferKind kind = BufferKind::Temporary;
  Expr bytes;
  /// Temporaries: the byte offset in the arena; constants: in the constants
  /// file (an integer).
  Expr offset;
  /// The launches that use the buffer, [firstUse, lastUse]; -1 when none.
  /// Gate buffers are read after the last launch: their range extends to
  /// the end; launches marked `reuse` may be skipped: what they use is live
  /// throughout.
  int64_t firstUse = -1, lastUse = -1;
};

struct CheckSpec {
  Expr expr;
  std::string message;
};

/// A "tensor_map" parameter is the 64-bit device address of an encoded
/// tensor map (a CUtensorMap on CUDA; docs/bundle-format.md, "Tensor maps").
enum class ParamKind { Memref, I64, I32, F32, TensorMap };

/// "memref", "i64", "i32", "f32", "tensor_map".
const char *getParamKindName(ParamKind kind);

/// cuTensorMapEncodeTiled's limits: rank and box sizes.
constexpr std::size_t kMaxTensorMapRank = 5;
constexpr int64_t kMaxTensorMapBox = 256;
/// Global dimensions are at most 2^32 elements, byte strides below 2^40 and
/// multiples of 16, the base address 16-byte aligned.
constexpr int64_t kMaxTensorMapDim = int64_t{1} << 32;
constexpr int64_t kTensorMapStrideLimit = int64_t{1} << 40;
constexpr int64_t kTensorMapAlignment = 16;

/// The element types a tensor map may have (f32, f16, bf16, i32, i8).
bool isTensorMapDType(DType dtype);

struct KernelSpec {
  std::string name;
  int64_t staticSharedBytes = 0;
  std::vector<ParamKind> params;
};

/// The rest of a tensor_map argument (its buffer and element type are
/// ArgSpec::buffer and ArgSpec::dtype): a tiled view of the buffer that TMA
/// copies boxes of.
struct TensorMapArg {
  /// The element offset of element (0, ..., 0) in the buffer.
  Expr offset;
  /// Innermost dimension first: `rank` sizes in elements, and the byte
  /// strides of dimensions 1 .. rank - 1 (dimension 0 is contiguous).
  std::vector<Expr> dims, strides;
  /// The box TMA copies, in elements, `rank` entries.
  std::vector<uint32_t> box;
  /// 0 (none), 32, 64 or 128.
  uint32_t swizzleBytes = 0;
  /// Every tensor_map argument of the manifest has a slot of its own in the
  /// session's tensor maps, numbered in the order of the launches.
  std::size_t slot = 0;
};

struct ArgSpec {
  ParamKind kind = ParamKind::I64;
  /// Memref and tensor_map arguments.
  std::size_t buffer = 0;
  DType dtype = DType::F32;
  /// i64 and i32 arguments.
  Expr value;
  /// f32 arguments.
  float f32 = 0;
  /// tensor_map arguments.
  TensorMapArg tensorMap;
};

struct LaunchSpec {
  std::size_t kernel = 0;
  std::string op;
  std::array<Expr, 3> grid, block;
  Expr dynamicSharedBytes;
  std::vector<ArgSpec> args;
  /// The optional `reuse` field: indices of the inputs the launch's results
  /// depend on (with its scalar arguments); empty when it has none, and then
  /// the launch runs in every run.
  std::vector<std::size_t> reuseInputs;
};

struct GateSpec {
  std::string op;
  std::size_t score = 0;
  std::size_t mask = 0;
  Expr tokens;
};

struct Manifest {
  std::string producer;
  std::string targetName;
  Target target;
  std::string entry;
  std::vector<SymbolSpec> symbols;
  /// symbols[i].name, in the order expressions index them.
  std::vector<std::string> symbolNames;
  std::vector<TensorSpec> inputs, outputs;
  std::vector<BufferSpec> buffers;
  std::vector<CheckSpec> checks;
  std::vector<KernelSpec> kernels;
  std::vector<LaunchSpec> launches;
  std::vector<GateSpec> gates;
  /// The number of tensor_map arguments over all launches (their slots).
  std::size_t tensorMapCount = 0;
  /// Bytes of the arena that holds every temporary buffer.
  Expr arenaBytes;
  std::string ptxFile;
  std::optional<std::string> cubinFile;
  std::string emulatorFile;
  /// The constants file, when a buffer is of kind constant.
  std::optional<std::string> constantsFile;
};

/// Temporaries and constants start at multiples of this in the arena and the
/// constants file (and the runtime aligns the allocations so), enough for any
/// vector access a kernel makes.
constexpr int64_t kBufferAlignment = 256;

/// Parses and validates the text of a manifest.json. Error messages start
/// with "manifest.json: " and name the field ("launches[0].args[4]: ...").
Status parseManifest(const std::string &text, Manifest &manifest);

/// True if `name` is a plain file name: not empty, no '/', '\\' or NUL, not
/// "." or "..". Bundles name their files relative to their directory only.
bool isPlainFileName(const std::string &name);

} // namespace sieve::rt

#endif // SIEVE_RUNTIME_SRC_MANIFEST_H
