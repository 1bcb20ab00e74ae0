//===- Bundle.h - What a kernel bundle holds --------------------*- C++ -*-===//
//
// The in-memory form of a bundle's manifest (docs/bundle-format.md): the
// entry's tensors, the buffers, the run-time checks, the kernels and the
// launch schedule, with sizes as SizeExprs over the dynamic dimensions.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_BUNDLE_H
#define SIEVE_CODEGEN_BUNDLE_H

#include "codegen/SizeExpr.h"
#include "sieve/HostTensor.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/JSON.h"

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
namespace sieve {

using ::sieve::DType;

/// The manifest's format version; bump it with any incompatible change.
constexpr int64_t kBundleFormatVersion = 2;
/// Alignment of temporaries in the arena and of constants in their file.
constexpr int64_t kBufferAlignment = 256;

struct SymbolDecl {
  std::string name;
  unsigned input;
  unsigned dim;
  /// The stride of dimension `dim` of a strided input, not its size.
  bool stride = false;
};

/// How `--random-inputs` fills an input (docs/bundle-format.md): integers
/// in [min, max], or f32 quantization scales around 3 / (qmax * sqrt(k)).
struct RandomHint {
  std::optional<std::pair<SizeExpr, SizeExpr>> range;
  std::optional<std::pair<int64_t, SizeExpr>> scale;
};

/// An input or output of the entry function.
struct TensorDecl {
  std::string name;
  DType dtype;
  llvm::SmallVector<SizeExpr> shape;
  std::string buffer;
  RandomHint random;
  /// An input the kernels read through stride symbols.
  bool strided = false;
};

struct BufferDecl {
  std::string name;
  /// "input", "output", "temporary" or "constant".
  std::string kind;
  SizeExpr bytes;
  /// Temporaries: the byte offset in the arena (set by the memory plan);
  /// constants: in the constants file.
  SizeExpr offset;
};

/// A contract rule the sizes must satisfy before anything runs.
struct CheckDecl {
  SizeExpr condition;
  std::string message;
};

struct KernelDecl {
  std::string name;
  int64_t staticSharedBytes = 0;
  /// "memref", "i64", "i32", "f32" or "tensor_map" per parameter.
  llvm::SmallVector<std::string> params;
};

/// A TMA tensor map over a buffer (docs/bundle-format.md, `tensor_map`):
/// the runtime encodes it for each run and passes its device address.
struct TensorMapDecl {
  /// Element (0, ..., 0), in elements from the buffer's start.
  SizeExpr offset = 0;
  /// Innermost dimension first: sizes in elements, byte strides of
  /// dimensions 1.. (dimension 0 is contiguous).
  llvm::SmallVector<SizeExpr> dims, strides;
  /// The box one load copies, in elements, and the swizzle in bytes (0, 32,
  /// 64 or 128).
  llvm::SmallVector<int64_t> box;
  int64_t swizzle = 0;
};

struct KernelArg {
  enum class Kind { Buffer, I64, TensorMap };
  Kind kind;
  /// The buffer of a Buffer or TensorMap argument.
  std::string buffer;
  DType dtype = DType::F32;
  SizeExpr value;
  /// Of a TensorMap argument (shared: arguments are copied around).
  std::shared_ptr<const TensorMapDecl> tensorMap;

  static KernelArg ofBuffer(std::string buffer, DType dtype) {
    return {Kind::Buffer, std::move(buffer), dtype, 0, nullptr};
  }
  static KernelArg ofI64(SizeExpr value) {
    return {Kind::I64, "", DType::I64, std::move(value), nullptr};
  }
  static KernelArg ofTensorMap(std::string buffer, DType dtype,
                               TensorMapDecl map) {
    return {Kind::TensorMap, std::move(buffer), dtype, 0,
            std::make_shared<const TensorMapDecl>(std::move(map))};
  }
  /// Whether the argument names a buffer (whose memory it reads or writes).
  bool usesBuffer() const { return kind != Kind::I64; }
};

struct LaunchDecl {
  std::string kernel;
  /// The op the launch implements, "sieve.gate at file:line:col".
  std::string op;
  std::array<SizeExpr, 3> grid = {1, 1, 1};
  std::array<int64_t, 3> block = {1, 1, 1};
  SizeExpr dynamicSharedBytes = 0;
  llvm::SmallVector<KernelArg> args;
  /// The inputs the launch's results depend on alone (with its scalar
  /// arguments), when a runtime may keep them across runs (`reuse`): the
  /// launch reads these inputs and writes temporaries no other launch
  /// writes.
  llvm::SmallVector<std::string> reuseInputs;
};

struct GateDecl {
  std::string op;
  std::string score;
  std::string mask;
  SizeExpr tokens;
};

struct BundleManifest {
  std::string producer;
  std::string target;
  std::string entry;
  std::vector<SymbolDecl> symbols;
  std::vector<TensorDecl> inputs;
  std::vector<TensorDecl> outputs;
  std::vector<BufferDecl> buffers;
  std::vector<CheckDecl> checks;
  std::vector<KernelDecl> kernels;
  std::vector<LaunchDecl> launches;
  std::vector<GateDecl> gates;
  SizeExpr arenaBytes;

  /// The manifest.json document; `files` maps "ptx", "cubin", "emulator",
  /// "constants" to file names (absent entries are left out).
  llvm::json::Value toJSON(const llvm::json::Object &files) const;
};

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_BUNDLE_H
