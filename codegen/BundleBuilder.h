//===- BundleBuilder.h - From a graph to a launch schedule ------*- C++ -*-===//
//
// Walks the entry function of a graph and turns it into a bundle: every
// tensor gets a buffer, every dynamic dimension a symbol, every op its
// kernels (from the kernel-provider registry) and launches, in program order.
// Reshapes alias their operand's buffer, constants are stored once in the
// bundle's constants file, fills and empty tensors get a buffer only when a
// kernel reads them, and the temporaries share one arena planned by liveness
// (docs/codegen.md).
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_BUNDLEBUILDER_H
#define SIEVE_CODEGEN_BUNDLEBUILDER_H

#include "codegen/Bundle.h"
#include "codegen/KernelBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <deque>
#include <functional>
#include <optional>

namespace mlir {
namespace sieve {

/// Rows of a tensor that nothing ever reads: downstream of a `sieve.compact`,
/// rows `r >= count[b]` of the packed tensor and of everything computed from
/// it row by row reach no result (the `sieve.scatter` at the end reads only
/// the active rows). Kernels that write such a tensor skip those rows.
struct RowLimit {
  /// The compact's `count` ([B] i32).
  Value count;
  /// The dimension of the tensor that indexes `count`, or -1 for count[0].
  int64_t batchDim = -1;
  /// The row dimension: rows with index >= count[batch] are never read.
  int64_t rowDim = 0;
};

/// A tensor of the graph as the bundle holds it: a dense row-major buffer.
struct TensorBinding {
  std::string buffer;
  DType dtype;
  SmallVector<SizeExpr> shape;
  /// Strides in elements; empty for a dense row-major tensor.
  SmallVector<SizeExpr> strides;

  SizeExpr numElements() const;
  /// `strides`, or the row-major strides of `shape`.
  SmallVector<SizeExpr> getStrides() const;
};

class BundleBuilder;

/// Emits the kernels and launches of one op. Returns failure (after an error
/// on the op) when it cannot.
using KernelProvider =
    std::function<LogicalResult(Operation *op, BundleBuilder &bundle)>;

/// Whether the kernels of `op` read its operand `index` through strides
/// passed at run time (TensorBinding::getStrides), for `target`.
using StridedOperandQuery =
    std::function<bool(Operation *op, unsigned index, StringRef target)>;

/// Maps op names to the providers that compile them. Built-in providers are
/// registered by registerBuiltinKernelProviders(); plugins
/// (`sieve-compile --load-plugin`) may add or override entries.
class KernelProviderRegistry {
public:
  static KernelProviderRegistry &global();
  /// Registers `provider` for ops named `opName`, replacing any other.
  /// `skipsInactiveRows`: the provider's kernels skip the rows of the op's
  /// results that BundleBuilder::getRowLimit says nobody reads.
  void add(StringRef opName, KernelProvider provider,
           bool skipsInactiveRows = false);
  /// The provider of `op`: by name, else the one registered for
  /// "linalg.generic" when `op` is any other linalg structured op.
  const KernelProvider *lookup(Operation *op) const;
  bool skipsInactiveRows(Operation *op) const;

  /// Declares which operands of `opName` its provider reads with run-time
  /// strides. An entry argument whose every use is such an operand becomes a
  /// strided bundle input (docs/bundle-format.md): the caller's layout is
  /// used as is and its strides are symbols.
  void addStridedOperands(StringRef opName, StridedOperandQuery query);
  bool readsStrided(Operation *op, unsigned index, StringRef target) const;

private:
  struct Entry {
    KernelProvider provider;
    bool skipsInactiveRows;
  };
  const Entry *find(Operation *op) const;
  llvm::StringMap<Entry> providers;
  llvm::StringMap<StridedOperandQuery> stridedOperands;
};

/// Registers the providers of every op sieve-compile compiles: the sieve
/// ops, linalg structured ops, and the tensor/arith ops that only move or
/// name data.
void registerBuiltinKernelProviders();

/// What the schedule's memory costs, for `sieve-compile --stats`.
struct MemoryPlanStats {
  /// Bytes of the arena holding every temporary.
  SizeExpr arenaBytes;
  /// What the temporaries would take without sharing.
  SizeExpr unsharedBytes;
  int64_t numTemporaries = 0;
  int64_t numSlots = 0;
  int64_t constantBytes = 0;
};

class BundleBuilder {
public:
  BundleBuilder(func::FuncOp entry, gpu::GPUModuleOp kernels,
                StringRef target);

  /// Loads the dialects kernels are written in; before creating `kernels`.
  static void loadDialects(MLIRContext &context);

  /// Compiles the entry function into the manifest, the constants and the
  /// kernel module, then plans the arena.
  LogicalResult build();
  BundleManifest &getManifest() { return manifest; }
  /// The bytes of the constants file (empty when there are no constants).
  StringRef getConstantData() const { return constantData; }
  const MemoryPlanStats &getMemoryPlanStats() const { return memoryStats; }
  /// One line per sieve.compact: the ops that skip its inactive rows.
  std::vector<std::string> getGatedRowsReport() const;

  //===--------------------------------------------------------------------===//
  // For kernel providers
  //===--------------------------------------------------------------------===//

  /// The buffer and shape a value of the graph is bound to; a fill or an
  /// empty tensor gets its buffer (and a fill its fill kernel) now.
  const TensorBinding &get(Value value);
  /// The shape of a bound value, without materializing it.
  ArrayRef<SizeExpr> shape(Value value) const;
  SizeExpr dim(Value value, unsigned index) const;
  /// Strides in elements of a value (row-major unless a strided input);
  /// materializes it like get().
  SmallVector<SizeExpr> strides(Value value);
  StringRef getTarget() const { return manifest.target; }
  /// The scalar a value is filled with, if it is a `linalg.fill` of a
  /// constant (or a splat constant) that no kernel has materialized:
  /// kernels that only initialize from it use the scalar instead.
  std::optional<TypedAttr> getFillValue(Value value) const;
  /// The rows of `value` nobody reads, if any.
  std::optional<RowLimit> getRowLimit(Value value) const;
  /// The size an index value of the graph (tensor.dim, arith on index,
  /// constants) has, as an expression.
  FailureOr<SizeExpr> getSize(Value index);

  /// Binds an op result to a new buffer of the given shape.
  const TensorBinding &define(Value value, SmallVector<SizeExpr> shape);
  /// Binds `value` to the buffer of `source` with another shape of the same
  /// number of elements (reshapes, casts).
  void alias(Value value, Value source, SmallVector<SizeExpr> shape);
  /// Whether an op may write into the buffer of `value` (its only use): a
  /// temporary no other value is bound to, or an empty tensor.
  bool canUpdateInPlace(Value value) const;
  /// Whether `value` is an empty tensor (tensor.empty) no kernel has
  /// materialized: its contents are undefined.
  bool isUndefined(Value value) const;
  /// Binds `value` to a constant buffer holding `data`.
  LogicalResult defineConstant(Value value, ElementsAttr data);
  /// Binds `value` to a tensor filled with `scalar`, or left undefined when
  /// `scalar` is null, that gets a buffer only if a kernel reads it.
  void definePending(Value value, SmallVector<SizeExpr> shape,
                     std::optional<TypedAttr> scalar);
  /// A scratch buffer for the op being compiled.
  std::string addScratch(DType dtype, SizeExpr elements);
  /// The bytes of a constant buffer, or nullopt for other buffers.
  std::optional<StringRef> getConstantBytes(StringRef buffer) const;
  /// Stores `bytes` as a new constant buffer; returns its name.
  std::string addConstantBuffer(StringRef bytes);
  /// Buffers computed from another buffer once per bundle (repacked
  /// weights), under a key naming the source and the transformation. Every
  /// buffer is written by one op only, so a later op may reuse the result.
  std::optional<std::string> lookupDerived(StringRef key) const;
  void recordDerived(StringRef key, std::string buffer);
  /// Records a contract rule the sizes must satisfy (a no-op when `condition`
  /// folds to true).
  void check(SizeExpr condition, const Twine &message, Operation *op);
  /// Starts a new kernel with a unique name derived from `base`.
  KernelBuilder newKernel(StringRef base, Location loc);
  void addKernel(KernelDecl kernel);
  /// Appends a launch of `kernel` for `op`.
  void launch(Operation *op, LaunchDecl launch);
  void addGate(Operation *op, Value score, Value mask);

  gpu::GPUModuleOp getKernelModule() { return kernels; }
  MLIRContext *getContext() { return entry.getContext(); }

private:
  struct Pending {
    SmallVector<SizeExpr> shape;
    std::optional<TypedAttr> fill;
    Operation *op;
  };

  LogicalResult bindInputs();
  LogicalResult bindOutputs(func::ReturnOp ret);
  /// Tells --random-inputs of the runtime's tools what sieve-run derives
  /// from the graph: the ranges of `globals`, the scales of weights.
  void addRandomHints();
  std::string newBufferName(StringRef prefix);
  TensorBinding &bind(Value value, TensorBinding binding);
  void planMemory();

  func::FuncOp entry;
  gpu::GPUModuleOp kernels;
  BundleManifest manifest;
  /// Bindings live in a deque: providers hold references across define().
  std::deque<TensorBinding> storage;
  DenseMap<Value, TensorBinding *> bindings;
  DenseMap<Value, Pending> pending;
  DenseMap<Value, RowLimit> rowLimits;
  DenseMap<Value, SizeExpr> sizes;
  DenseMap<Attribute, std::string> constantBuffers;
  /// Where each constant buffer lies in constantData.
  llvm::StringMap<std::pair<int64_t, int64_t>> constantRanges;
  std::string constantData;
  llvm::StringMap<unsigned> nameCounts;
  MemoryPlanStats memoryStats;
  llvm::StringMap<std::string> derived;
};

/// The bundle dtype of an element type, if it has one.
std::optional<DType> getDType(Type elementType);
/// Storage bytes of one element of `dtype` (i4 and i1 take one byte).
int64_t getDTypeBytes(DType dtype);
/// "sieve.gate at graph.mlir:3:8"
std::string describeOp(Operation *op);

/// Evaluates `expr` on sizes (dims d0, d1, ... and symbols s0, ...); fails
/// for what the bundle's expressions cannot say (a division by a
/// non-constant that is not a size).
FailureOr<SizeExpr> evaluateAffineExpr(AffineExpr expr,
                                       ArrayRef<SizeExpr> dims,
                                       ArrayRef<SizeExpr> symbols = {});

/// Finds the rows downstream of each `sieve.compact` in `entry` that no
/// result depends on (RowLimit). `canSkipRows` says whether an op's kernels
/// skip limited rows (and so may read operands with limited rows); other
/// ops compute every row, which makes their operands' rows needed.
DenseMap<Value, RowLimit>
analyzeRowLimits(func::FuncOp entry,
                 function_ref<bool(Operation *)> canSkipRows);

/// Runs the math rewrites both kernel backends need (f16/bf16 math in f32,
/// polynomial approximations of the transcendental functions, expansions),
/// so that the PTX and the emulator compute the same thing.
LogicalResult legalizeKernelMath(gpu::GPUModuleOp kernels);

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_BUNDLEBUILDER_H
