//===- ReferenceExecutor.h - Run a graph on the CPU -------------*- C++ -*-===//
//
// Compiles one function of a Sieve graph through the reference lowering to
// native code (MLIR's ExecutionEngine, LLVM -O2) and calls it on host tensors.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_TOOLS_SIEVE_RUN_REFERENCEEXECUTOR_H
#define SIEVE_TOOLS_SIEVE_RUN_REFERENCEEXECUTOR_H

#include "sieve/HostTensor.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir {
namespace sieve {

/// The element type and shape (-1 for dynamic sizes) of a function argument
/// or result that sieve-run can bind.
struct TensorSpec {
  ::sieve::DType dtype;
  SmallVector<int64_t> shape;
  std::string typeText;
};

/// The spec of `type`, or failure if sieve-run cannot bind it (only ranked
/// tensors of f32, f16, bf16, i64, i32, i8, i4 and i1).
FailureOr<TensorSpec> getTensorSpec(Type type);

class ReferenceExecutor {
public:
  /// Lowers `module` in place and JIT-compiles it; `entry` is the function to
  /// run. Failures are reported as diagnostics on the module's context.
  static FailureOr<std::unique_ptr<ReferenceExecutor>>
  compile(ModuleOp module, StringRef entry);

  /// Runs the entry once on `inputs` (already checked against the signature)
  /// and returns its results. A run-time check of the op contract that fails
  /// returns false with `error` naming the op, its location and the rule.
  bool run(const std::vector<::sieve::HostTensor> &inputs,
           std::vector<::sieve::HostTensor> &outputs, std::string &error);

private:
  ReferenceExecutor() = default;

  std::unique_ptr<ExecutionEngine> engine;
  void (*entryFn)(void **) = nullptr;
  std::vector<TensorSpec> resultSpecs;
  /// The rule each run-time check id stands for.
  std::vector<std::string> checkMessages;
};

} // namespace sieve
} // namespace mlir

#endif // SIEVE_TOOLS_SIEVE_RUN_REFERENCEEXECUTOR_H
