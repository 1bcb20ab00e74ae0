//===- BundleBuilder.h - From a graph to a launch schedule ------*- C++ -*-===//
//
// Walks the entry function of a graph and turns it into a bundle: every
// tensor gets a buffer, every dynamic dimension a symbol, every op its
// kernels (from the kernel-provider registry) and launches, in program order.
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

#include <functional>
#include <optional>

namespace mlir {
namespace sieve {

/// A tensor of the graph as the bundle holds it: a dense row-major buffer.
struct TensorBinding {
  std::string buffer;
  DType dtype;
  SmallVector<SizeExpr> shape;

  SizeExpr numElements() const;
};

class BundleBuilder;

/// Emits the kernels and launches of one op. Returns failure (after an error
/// on the op) when it cannot.
using KernelProvider =
    std::function<LogicalResult(Operation *op, BundleBuilder &bundle)>;

/// Maps op names to the providers that compile them. Built-in providers are
/// registered by registerBuiltinKernelProviders(); plugins may add or
/// override entries.
class KernelProviderRegistry {
public:
  static KernelProviderRegistry &global();
  void add(StringRef opName, KernelProvider provider);
  const KernelProvider *lookup(StringRef opName) const;

private:
  llvm::StringMap<KernelProvider> providers;
};

/// Registers the providers of every sieve op.
void registerBuiltinKernelProviders();

class BundleBuilder {
public:
  BundleBuilder(func::FuncOp entry, gpu::GPUModuleOp kernels,
                StringRef target);

  /// Loads the dialects kernels are written in; before creating `kernels`.
  static void loadDialects(MLIRContext &context);

  /// Compiles the entry function into the manifest and the kernel module.
  LogicalResult build();
  BundleManifest &getManifest() { return manifest; }

  //===--------------------------------------------------------------------===//
  // For kernel providers
  //===--------------------------------------------------------------------===//

  /// The buffer and shape a value of the graph is bound to.
  const TensorBinding &get(Value value) const;
  SizeExpr dim(Value value, unsigned index) const;
  /// Binds an op result to a new buffer of the given shape.
  const TensorBinding &define(Value value, SmallVector<SizeExpr> shape);
  /// A scratch buffer for the op being compiled.
  std::string addScratch(DType dtype, SizeExpr elements);
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

private:
  LogicalResult bindInputs();
  LogicalResult bindOutputs(func::ReturnOp ret);
  std::string newBufferName(StringRef prefix);

  func::FuncOp entry;
  gpu::GPUModuleOp kernels;
  BundleManifest manifest;
  DenseMap<Value, TensorBinding> bindings;
  llvm::StringMap<unsigned> nameCounts;
  llvm::StringMap<std::string> derived;
};

/// The bundle dtype of an element type, if it has one.
std::optional<DType> getDType(Type elementType);
/// Storage bytes of one element of `dtype` (i4 and i1 take one byte).
int64_t getDTypeBytes(DType dtype);
/// "sieve.gate at graph.mlir:3:8"
std::string describeOp(Operation *op);

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_BUNDLEBUILDER_H
