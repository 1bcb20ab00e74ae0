//===- Passes.td - Sieve passes ----------------------------*- tablegen -*-===//
//
// Every Sieve pass, its options and the dialects it creates ops of.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PASSES_TD
#define SIEVE_PASSES_TD

include "mlir/Pass/PassBase.td"

def SieveLowerToReference : Pass<"sieve-lower-to-reference"> {
  let summary = "Lower sieve ops to upstream dialects on tensors: the CPU "
                "reference executor";
  let description = [{
    Rewrites every `sieve` op into `linalg`, `tensor`, `arith`, `math`, `scf`
    and `cf` ops on tensors that compute exactly what the op contract says, so
    that a graph of `func` + `linalg`/`tosa`/`tensor`/`arith` + `sieve` ops
    can go through one-shot bufferization and the LLVM CPU pipeline. This is
    the numeric oracle that every other executor of Sieve is tested against:
    it is written for clarity and exactness rather than speed.

    * Arithmetic happens in f32 (inputs extended, results truncated once at
      the end); sums run in ascending index order.
    * `sieve.attention`/`sieve.hybrid_attention` iterate, per query row, only
      the keys the row can see (the clipped window and the deduplicated
      globals): nothing quadratic in the sequence length is built. The row's
      softmax takes two passes over its keys (maximum, then weights).
    * Rules of the contract that dynamic sizes leave to run time (equal batch
      sizes, `Hq % Hkv == 0`, `count <= S`, `group_size` dividing `K`, ...)
      become `cf.assert`s naming the op and its location.

    Before:

    ```mlir
    %r = sieve.select_global %scores count(4)
        : tensor<2x?xf32> -> tensor<2x4xi32>
    ```

    After (sketch):

    ```mlir
    %s = tensor.dim %scores, %c1 : tensor<2x?xf32>
    %ok = arith.cmpi ule, %c4, %s : index
    cf.assert %ok, "sieve.select_global (loc): 'count' exceeds ..."
    %selected = scf.for %b = %c0 to %c2 step %c1 iter_args(...) { ... }
    %r = scf.for ... { tensor.insert ... }
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::cf::ControlFlowDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // SIEVE_PASSES_TD
