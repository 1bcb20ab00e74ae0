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

def SieveFuseAttention : Pass<"sieve-fuse-attention"> {
  let summary = "Raise scaled-dot-product attention and the token-gating MLP "
                "written as separate ops into `sieve.attention` and "
                "`sieve.gate`";
  let description = [{
    Recognises the graphs that exporters (torch-mlir, TOSA front ends, IREE's
    attention decomposition, ...) emit for attention and rewrites each into
    one `sieve.attention`:

    ```
    O = softmax(scale * Q . K^T + mask) . V
    ```

    * The two contractions are `linalg.batch_matmul`, `linalg.matmul` (also
      with `indexing_maps` that transpose an operand), `linalg.generic`
      contractions of any rank, or `tosa.matmul`; their accumulators must
      start at zero. The transpose of K is a `linalg.transpose`, a copy
      `linalg.generic`, a `tosa.transpose`, or folded into the indexing maps.
    * Operands are traced back through transposes, reshapes between the
      `[B*H, S, D]` and `[B, H, S, D]` views, and `extf`; a broadcast of the
      K/V heads (`linalg.broadcast`, a broadcasting copy `linalg.generic`,
      `tosa.add` of zeros, `tosa.tile` of a unit dimension) that gives query
      head `h` the key/value head `h / rep` becomes grouped-query attention
      (`Hkv = Hq / rep`); other repeats (a tile: `h % Hkv`) keep the
      repeated tensors.
    * The scale is any product of multiplications or divisions by constants,
      on the scores or on Q or K; it is left implicit when it is `1/sqrt(D)`.
    * The softmax (over the key dimension only) is `linalg.softmax`; a
      max-reduction (also the value result of a max-with-index reduction),
      subtraction, `exp` (or `exp2`, whose `ln 2` joins the scale),
      sum-reduction and division (or multiplication by a reciprocal) in
      `linalg.generic`/`linalg.reduce`/named elementwise ops, arith/math ops
      on tensors or TOSA; or `exp(x - (max + log(sum)))`.
    * An additive mask is accepted when it is a constant splat, or a
      constant or computed (`linalg.index`/`tensor.generate` + `cmpi` +
      `select`) triangle of 0 and `-inf` (or a value <= -1e9, or the lowest
      finite value of its type) that hides exactly the keys
      `j > i + Sk - Sq` (bottom-right alignment) and leaves every row a
      visible key; it becomes `causal = true`. Any other mask, a top-left
      triangle with `Sq != Sk`, or a dynamic one where `Sq <= Sk` cannot be
      proved is left alone with a remark.
    * Mixed precision: the element type of `sieve.attention` is the widest
      of Q, K, V (before their `extf`) and the result; every intermediate
      (scores, softmax, accumulators, a rounded P) must be of that type or
      wider. f16/bf16 graphs that compute the softmax in f32, and graphs that
      accumulate in f16, are raised (the op accumulates in f32).

    The token-gating MLP `sigmoid(act(x . W1^T + b1) . w2 + b2)` (`act` is
    relu, silu or exact-erf gelu) followed by a comparison with a constant
    threshold in [0, 1] (`arith.cmpf ogt`, `tosa.greater`) or by top-k
    routing becomes `sieve.gate`, with the weights transposed/reshaped to the
    contract's layouts (`w1` `[Dh, Dm]`, `w2` `[Dh]`, `b2` a 0-D tensor). No
    upstream dialect has a top-k op, so top-k is recognised as the positions
    of `sieve.select_global` scattered into a mask by a one-hot reduction
    (`mask[b, s] = any_g(positions[b, g] == s)`, static S), which becomes
    `capacity = k / S`. The MLP must accumulate in the gate's element type or
    wider, and the score be computed and compared in f32.

    Near misses (a softmax over another dimension, a reduction with another
    combiner, a maximum of another tensor, a contraction over the wrong
    dimension, a mask that is not such a triangle) are left untouched; where
    the graph looks like attention, a remark on the second contraction says
    why it was not raised.

    Before:

    ```mlir
    %s = linalg.batch_matmul
        indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>,
                         affine_map<(b, m, n, k) -> (b, n, k)>,
                         affine_map<(b, m, n, k) -> (b, m, n)>]
        ins(%q, %k : tensor<8x128x64xf32>, tensor<8x128x64xf32>)
        outs(%zero : tensor<8x128x128xf32>) -> tensor<8x128x128xf32>
    %t = linalg.generic ... { arith.mulf %in, %cst_0_125 } // scale
    %p = linalg.softmax dimension(2) ins(%t : ...) outs(...)
    %o = linalg.batch_matmul ins(%p, %v : ...) outs(%zero2 : ...)
    ```

    After:

    ```mlir
    %q4 = tensor.expand_shape %q [[0, 1], [2], [3]] output_shape [1, 8, 128, 64]
    %k4 = tensor.expand_shape %k ...
    %v4 = tensor.expand_shape %v ...
    %a = sieve.attention %q4, %k4, %v4 : tensor<1x8x128x64xf32>, ...
        -> tensor<1x8x128x64xf32>
    %o = tensor.collapse_shape %a [[0, 1], [2], [3]]
        : tensor<1x8x128x64xf32> into tensor<8x128x64xf32>
    ```
  }];
  let options = [
    Option<"attention", "attention", "bool", /*default=*/"true",
           "Raise attention into sieve.attention">,
    Option<"gate", "gate", "bool", /*default=*/"true",
           "Raise the token-gating MLP into sieve.gate">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::sieve::SieveDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // SIEVE_PASSES_TD
