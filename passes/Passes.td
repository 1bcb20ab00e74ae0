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
    * Upstream ops defined as a composition of others (`linalg.softmax`),
      which the CPU pipeline cannot lower to loops, are decomposed into them.
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

def SieveSparsifyAttention : Pass<"sieve-sparsify-attention"> {
  let summary = "Rewrite dense attention into sliding-window attention plus "
                "global tokens";
  let description = [{
    Rewrites each `sieve.attention` into a `sieve.hybrid_attention` that keeps
    the op's `scale` and `causal` and lets every query row see a window of
    nearby keys plus `globals` global tokens. This changes the result: the
    model is assumed to have been trained (or to tolerate running) with this
    sparsity pattern.

    * Window: `window-left`/`window-right` keys before/after the row's key
      position `p = i + Sk - Sq`. The default (`-1`) depends on the op: a
      causal attention gets `window(512, 0)` (512 keys back, the row's own
      key included, nothing ahead, which is all `causal` allows), a
      bidirectional one `window(256, 256)`; either way a row sees up to 513
      keys of its neighbourhood. On a causal op `window-right` is ignored:
      the op contract requires `window_right = 0` with `causal`.
    * Globals (`globals`, default 16), chosen by `global-source`:
      * `sinks` (default): the first `G` positions, as attention sinks
        (StreamingLLM): a constant `[B, G]` i32 tensor `0, 1, ..., G-1`
        (`G` clipped to a static key length).
      * `scores`: `sieve.select_global` over a per-token `[B, Sk]` f32 score
        tensor that the graph names with the `sieve.global_scores`
        attribute: either a function argument carrying the argument
        attribute `sieve.global_scores`, or the (first) result of an op
        carrying the attribute `sieve.global_scores`. The value must dominate
        the attention and have the attention's batch size and key length.
        When a function holds several such values, give the attribute a
        string value on the producer (`sieve.global_scores = "layer3"`) and
        the same string on the `sieve.attention` op to pair them; an
        untagged attention needs exactly one candidate. A missing or
        ambiguous score tensor is an error naming the op.
    * Ops stay dense (with a remark saying why) when their static key length
      is below `min-seq-len` (default 1024), or when the window already
      covers every key each row may see (`window_left >= Sk - 1` and, unless
      causal, `window_right >= Sq - 1`), or when, with sinks, the rewrite
      would remove no score entry. A dynamic key length is rewritten.
    * Every rewritten op gets a remark with the fraction of the `Sq x Sk`
      score entries of each head that the rewrite removes (exact for sinks;
      for scores a lower bound that counts every global as outside the
      window); the pass statistics (`--mlir-pass-statistics`) sum the entries
      over all rewritten ops with static sequence lengths. (An LLVM built
      without assertions, such as Debian's packages, compiles statistics
      out and prints an empty report; the remarks carry the same numbers.)

    Before (`min-seq-len=1024`, defaults otherwise):

    ```mlir
    %o = sieve.attention %q, %k, %v {causal = true}
        : tensor<1x8x4096x64xf16>, tensor<1x2x4096x64xf16>,
          tensor<1x2x4096x64xf16> -> tensor<1x8x4096x64xf16>
    ```

    After:

    ```mlir
    %globals = arith.constant dense<[[0, 1, ..., 15]]> : tensor<1x16xi32>
    %o = sieve.hybrid_attention %q, %k, %v, %globals window(512, 0)
        {causal = true}
        : tensor<1x8x4096x64xf16>, tensor<1x2x4096x64xf16>,
          tensor<1x2x4096x64xf16>, tensor<1x16xi32> -> tensor<1x8x4096x64xf16>
    ```

    With `global-source=scores` and `%s : tensor<1x4096xf32>
    {sieve.global_scores}` a function argument, `%globals` is instead
    `sieve.select_global %s count(16)`.
  }];
  let options = [
    Option<"windowLeft", "window-left", "int64_t", "-1",
           "Keys each row sees before its own position; -1: 512 for causal "
           "attention, 256 otherwise">,
    Option<"windowRight", "window-right", "int64_t", "-1",
           "Keys each row sees after its own position; -1: 256 for "
           "bidirectional attention; always 0 for causal attention">,
    Option<"numGlobals", "globals", "int64_t", "16",
           "Number of global tokens (0: window only)">,
    Option<"globalSource", "global-source", "::mlir::sieve::GlobalSource",
           "::mlir::sieve::GlobalSource::Sinks",
           "Where the global tokens come from",
           [{::llvm::cl::values(
               clEnumValN(::mlir::sieve::GlobalSource::Sinks, "sinks",
                          "the first `globals` positions (attention sinks)"),
               clEnumValN(::mlir::sieve::GlobalSource::Scores, "scores",
                          "sieve.select_global over the score tensor the "
                          "graph marks with `sieve.global_scores`"))}]>,
    Option<"minSeqLen", "min-seq-len", "int64_t", "1024",
           "Attention whose static key length is below this stays dense">,
  ];
  let statistics = [
    Statistic<"numRewritten", "rewritten",
              "sieve.attention ops rewritten into sieve.hybrid_attention">,
    Statistic<"numKeptDense", "kept-dense",
              "sieve.attention ops left dense">,
    Statistic<"denseEntries", "dense-score-entries",
              "Score entries per head of the rewritten ops before the "
              "rewrite (ops with static sequence lengths)">,
    Statistic<"removedEntries", "removed-score-entries",
              "Score entries per head the rewrite removed (for "
              "global-source=scores, a lower bound)">,
    Statistic<"removedPerMille", "removed-per-mille",
              "removed-score-entries / dense-score-entries, in 1/1000">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::sieve::SieveDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def SieveSparsifyGating : Pass<"sieve-sparsify-gating"> {
  let summary = "Run a gated token-wise branch on the selected tokens only";
  let description = [{
    Finds a per-token choice between an expensive token-wise branch and a
    cheap path, `y = select(mask, branch(x), cheap)`, and rewrites it so that
    the branch only runs on the tokens the mask selects:

    ```
    packed, positions, count = sieve.compact(x, mask)
    for b in [0, B):  r[b, 0:count[b]] = branch(packed[b, 0:count[b]])
    y = sieve.scatter(r, positions, cheap)
    ```

    **The select.** `mask` is a `[B, S]` i1 tensor (typically the `mask` of
    a `sieve.gate`), `y`, `branch(x)` and `cheap` are `[B, S, D]`. The
    select is either `arith.select %m, %branch, %cheap` on tensors where
    `%m` is `mask` broadcast along the last dimension (by `linalg.broadcast
    dimensions = [2]` or a broadcasting `linalg.generic`), or a
    `linalg.generic` over `(b, s, d)` that reads `mask` through
    `(b, s, d) -> (b, s)` and the other two through the identity, and yields
    `arith.select %m, %branch, %cheap`. The true side must be the branch.
    `cheap` can be any value of `y`'s type (`x`, a residual, ...): it stays
    dense and becomes the base of the scatter.

    **The branch** is the largest set of ops that feed only the true side
    and are token-wise: result row `(b, s)` depends only on row `(b, s)` of
    the branch's token inputs. Qualifying ops:
    * `linalg` structured ops (`matmul`, `batch_matmul`, `generic`, `fill`,
      `broadcast`, elementwise, ... with tensor semantics) whose results are
      indexed by two parallel loops `(b, s)` first (`[B, S, ...]` values) or
      by one parallel loop `r` first after `tensor.collapse_shape` of
      `[B, S]` into rows (`[B*S, ...]` values); every operand is either a
      token value indexed the same way, or token-invariant: a map that does
      not use `s`/`r` (weights, biases; a map that uses `b` as one of its
      results is sliced per batch row). The region must not read
      `linalg.index` of `b`, `s` or `r`.
    * `sieve.qmatmul` on a token value (weights token-invariant).
    * Elementwise ops on tensors (`arith`, `math`) whose operands are token
      values or splat constants.
    * `tensor.collapse_shape` merging `[B, S]` into rows, and the
      `tensor.expand_shape` that splits them back.
    An op whose results are also used outside the branch (other than by
    `tensor.dim`, which is recomputed) stays dense in front of the select,
    and so does everything it depends on. Values that enter the branch from
    outside in token position are its token inputs; each must be `[B, S]` or
    `[B, S, D]` and is compacted with the same mask (`tensor.empty`, splat
    constants and fills of them are recreated at the new size instead). A
    select whose true side is not computed by a qualifying op is left
    untouched with a remark saying why.

    **Work.** The branch is cloned into an `scf.for` over batch rows whose
    body applies it to `packed[b : b+1, 0 : count[b], :]` (a dynamic-size
    slice), so every executor, the reference lowering included, computes
    exactly `count[b]` rows; the rows of the packed result past `count[b]`
    stay 0 and `sieve.scatter` never reads them. A remark reports the
    branch's FLOPs per active token (a multiply-add counts 2), so the saving
    at an active ratio `a` is `(1 - a)` of `B * S` times that.

    With `slice-active-rows=false` the branch is applied to the whole packed
    tensors instead (no loop, no slices, static shapes stay static): the
    result is the same, and the work is saved by `sieve-compile`, whose
    kernels take `count` and skip the rows past it (docs/codegen.md). The
    CPU reference then computes the inactive (zero) rows too.

    Before:

    ```mlir
    %score, %mask = sieve.gate %x, ... threshold(0.5) : ...
    %m = linalg.broadcast ins(%mask : tensor<2x128xi1>)
        outs(%e : tensor<2x128x64xi1>) dimensions = [2]
    %h = linalg.generic ... ins(%x, %w : ...) outs(%acc : ...)  // x @ w^T
    %t = arith.addf %x, %h : tensor<2x128x64xf32>
    %y = arith.select %m, %t, %x : tensor<2x128x64xi1>, tensor<2x128x64xf32>
    ```

    After:

    ```mlir
    %packed, %positions, %count = sieve.compact %x, %mask : ...
    %r = scf.for %b = %c0 to %c2 step %c1 iter_args(%acc = %zeros) {
      %c = tensor.extract %count[%b] : tensor<2xi32>
      %rows = tensor.extract_slice %packed[%b, 0, 0] [1, %n, 64] [1, 1, 1]
          : tensor<2x128x64xf32> to tensor<1x?x64xf32>
      %h = linalg.generic ... ins(%rows, %w : ...) -> tensor<1x?x64xf32>
      %t = arith.addf %rows, %h : tensor<1x?x64xf32>
      %next = tensor.insert_slice %t into %acc[%b, 0, 0] [1, %n, 64] ...
      scf.yield %next : tensor<2x128x64xf32>
    }
    %y = sieve.scatter %r, %positions, %x : ...
    ```
  }];
  let options = [
    Option<"minBranchFlops", "min-branch-flops", "int64_t", "0",
           "Branches with fewer FLOPs per token than this (when known) stay "
           "dense: compaction would cost more than it saves">,
    Option<"sliceActiveRows", "slice-active-rows", "bool", "true",
           "Run the branch on packed[b, 0:count[b]] slices (every executor "
           "skips the inactive rows); false: on the whole packed tensor, for "
           "sieve-compile, whose kernels skip rows past count[b] themselves">,
  ];
  let statistics = [
    Statistic<"numRewritten", "rewritten",
              "Gated selects whose branch now runs on active tokens only">,
    Statistic<"numSkipped", "skipped",
              "Gated selects left untouched">,
    Statistic<"branchFlops", "branch-flops-per-token",
              "FLOPs per active token of the rewritten branches, summed">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::sieve::SieveDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def SieveQuantize : Pass<"sieve-quantize"> {
  let summary = "Quantize contractions against constant weights into "
                "sieve.qmatmul";
  let description = [{
    Rewrites contractions `y[..., n] = init[..., n] + sum_k x[..., k] * w(n,
    k)` whose weights are compile-time constants (`arith.constant` or
    `tosa.const` with a `dense` or `dense_resource` value, possibly through a
    `linalg.transpose`) into `sieve.qmatmul`, with the weights quantized at
    compile time exactly as `sieve.quantize` would (f32 `scale = max|w| /
    qmax` per group of `group-size` consecutive `k`, round half to even,
    clamp to `[-qmax, qmax]`). Weights are stored in `[N, K]` (PyTorch
    `Linear`) layout: a graph that holds them as `[K, N]` has them
    transposed at compile time.

    * Contractions: `linalg.matmul` (`[M, K] x [K, N]`, or any
      `indexing_maps` with one `k`), `linalg.batch_matmul` whose constant
      weight slices are equal across the batch, and `linalg.generic` with
      one reduction loop `k`, an input map `(L..., k)`, a weight map
      `(n, k)` or `(k, n)` and an output map `(L..., n)`, and the body
      `out + in * w` (with `arith.extf` of the operands allowed). The
      input, output and result share one element type (f32, f16, bf16).
    * The init: zeros (`linalg.fill` / constant) gives no bias; a bias
      `[N]` broadcast along the leading dimensions becomes the `bias`
      operand; any other init is added after the `sieve.qmatmul`.
    * `targets` is a comma-separated list of `matmul`, `batch_matmul`,
      `generic` (each: that kind of op) or `all` (default); weights with
      fewer than `min-weight-elements` elements are left in float.
    * `group-size` (default 128; 0: one group per row) falls back to one
      group per row, with a remark, when it does not divide `K`.
    * With `fold-qdq` (default), weights that already went through a
      quantize-dequantize pair keep their quantization instead: a
      `sieve.dequantize` (of constants, or of a `sieve.quantize`) whose
      `[N, K]` result is the weight becomes the `qmatmul`'s values and
      scales (no requantization); and an elementwise `linalg.generic` on a
      constant weight computing `clamp(round(w / a), lo, hi) * s` (or `w *
      a`; `math.roundeven` or `math.round`; `arith.maximumf`/`minimumf`
      clamps; `a` and `s` scalar constants or constant tensors read through
      projections of the weight's loops: per tensor, per output channel, or
      a full `[N, K]` tensor), as quantization-aware-trained exports carry,
      is evaluated at compile time in f32 into integer values (i4 when
      `-8 <= lo` and `hi <= 7`, else i8) and `s` as the scales, with the
      largest group size over which `s` is constant. Both give a
      `sieve.qmatmul` that computes exactly the dequantized weights of the
      graph.
    * Each quantized weight gets a remark with the maximum and mean absolute
      error of its dequantized values against the float weights (0 for
      folded QDQ).

    Anything else (non-constant weights, dynamic `K`, other bodies, integer
    or f64 data, mixed element types) is left untouched with a remark; ops
    on buffers are not looked at.

    With `qk-precision=i8` or `qk-precision=f8E4M3FN`, every
    `sieve.attention` and `sieve.hybrid_attention` also gets that
    `qk_precision`: its scores are computed from per-block quantized queries
    and smoothed keys (the ops' descriptions define it exactly), with a
    remark per op. The default, empty, leaves attention alone.

    Before:

    ```mlir
    %w = arith.constant dense<...> : tensor<64x256xf32>       // [K, N]
    %y = linalg.matmul ins(%x, %w : tensor<128x64xf32>, tensor<64x256xf32>)
        outs(%zero : tensor<128x256xf32>) -> tensor<128x256xf32>
    ```

    After (`weight-bits=4 group-size=32`):

    ```mlir
    %q = arith.constant dense<...> : tensor<256x64xi4>        // [N, K]
    %s = arith.constant dense<...> : tensor<256x2xf32>
    %y = sieve.qmatmul %x, %q, %s group_size(32)
        : tensor<128x64xf32>, tensor<256x64xi4>, tensor<256x2xf32>
        -> tensor<128x256xf32>
    ```
  }];
  let options = [
    Option<"weightBits", "weight-bits", "int64_t", "8",
           "Bits per quantized weight: 8 (i8) or 4 (i4)">,
    Option<"groupSize", "group-size", "int64_t", "128",
           "Consecutive k per scale; 0: one scale per output row">,
    ListOption<"targets", "targets", "std::string",
               "Contractions to quantize: all (default), matmul, "
               "batch_matmul, generic">,
    Option<"minWeightElements", "min-weight-elements", "int64_t", "0",
           "Weights with fewer elements than this stay in float">,
    Option<"foldQDQ", "fold-qdq", "bool", "true",
           "Fold quantize-dequantize pairs on weights into sieve.qmatmul">,
    Option<"qkPrecision", "qk-precision", "std::string", "\"\"",
           "Quantize attention scores: i8 or f8E4M3FN (empty: leave them "
           "exact)">,
  ];
  let statistics = [
    Statistic<"numQuantized", "quantized-weights",
              "Contractions whose float weights were quantized">,
    Statistic<"numScoreQuantized", "quantized-attention-scores",
              "Attention ops given a qk_precision">,
    Statistic<"numFolded", "folded-qdq",
              "Contractions whose quantize-dequantize pair was folded">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::sieve::SieveDialect",
  ];
}

#endif // SIEVE_PASSES_TD
