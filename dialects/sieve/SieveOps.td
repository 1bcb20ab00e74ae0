//===- SieveOps.td - sieve dialect ops ---------------------*- tablegen -*-===//
//
// The op contract of the sieve dialect: every op states its exact forward
// semantics, which the reference lowering, the SIMT emulator and the CUDA
// kernels all implement.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_OPS_TD
#define SIEVE_OPS_TD

include "dialects/sieve/SieveDialect.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Sieve_FloatElement : AnyTypeOf<[F32, F16, BF16], "f32, f16 or bf16">;
def Sieve_QuantElement : AnyTypeOf<[I8, I<4>], "i8 or i4">;

class Sieve_TensorOf<list<Type> types, int rank>
    : RankedTensorOf<types, [HasAnyRankOfPred<[rank]>], rank # "D tensor">;
class Sieve_Non0RankTensorOf<list<Type> types>
    : RankedTensorOf<types, [HasRankGreaterOrEqualPred<1>],
                     "ranked tensor of rank >= 1">;

def Sieve_NonNegativeI64Attr : ConfinedAttr<I64Attr, [IntNonNegative]>;

// The element type the scores of an attention op are computed in: i8 or
// f8E4M3FN quantize them, the operands' own float type leaves them exact.
def Sieve_QKPrecisionAttr
    : TypeAttrOf<AnyTypeOf<[I8, F8E4M3FN, F32, F16, BF16]>>;

// What both attention ops offer their users.
defvar Sieve_AttentionExtraDecls = [{
  /// The type queries and keys are quantized to for the scores (i8 or
  /// f8E4M3FN), or null when the scores are exact.
  ::mlir::Type getScoreQuantizationType() {
    auto precision = getQkPrecision();
    if (!precision || *precision == getQuery().getType().getElementType())
      return {};
    return *precision;
  }
}];

def Sieve_DataElement : AnyTypeOf<[AnySignlessInteger, AnyFloat],
                                  "signless integer or float">;

//===----------------------------------------------------------------------===//
// Traits shared by every op
//===----------------------------------------------------------------------===//

// Sieve ops have value semantics. With static shapes the verifier has checked
// every rule of the contract; with dynamic shapes an executor may still fail
// a run-time check, so such an op must not be hoisted out of a guard.
def Sieve_SpeculatableIfStaticShapes
    : NativeOpTrait<"SpeculatableIfStaticShapes"> {
  let cppNamespace = "::mlir::sieve";
}

class Sieve_ComputeOp<string mnemonic, list<Trait> traits = []>
    : Sieve_Op<mnemonic, !listconcat(traits, [
        NoMemoryEffect, ConditionallySpeculatable,
        Sieve_SpeculatableIfStaticShapes, InferTypeOpAdaptor])> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Sieve_AttentionOp : Sieve_ComputeOp<"attention",
    [AllElementTypesMatch<["query", "key", "value"]>]> {
  let summary = "Scaled dot-product attention with GQA and bottom-right "
                "causal masking";
  let description = [{
    Dense multi-head attention:

    ```
    out[b, h, i, :] = softmax_j(scale * query[b, h, i, :] . key[b, kh, j, :])
                      @ value[b, kh, :, :]        over the visible keys j
    ```

    * `query` is `[B, Hq, Sq, D]`, `key` is `[B, Hkv, Sk, D]`, `value` is
      `[B, Hkv, Sk, Dv]`, the result is `[B, Hq, Sq, Dv]` with the element
      type of `query`. All three share one float element type; products and
      sums accumulate in f32.
    * Grouped-query attention: `Hq % Hkv == 0`, and query head `h` reads
      key/value head `kh = h / (Hq / Hkv)` (`Hkv = 1` is multi-query
      attention).
    * `scale` defaults to `1 / sqrt(D)`; it is resolved when lowering because
      `D` may be dynamic.
    * Query row `i` sits at key position `p = i + Sk - Sq` (bottom-right
      alignment, as FlashAttention >= 2.1 and ONNX `Attention`; PyTorch
      SDPA's `is_causal` is top-left aligned, and the two agree only when
      `Sq == Sk`). Without `causal` every key is visible; with `causal = true`
      row `i` sees the keys `j <= p`.
    * A row with no visible key (possible when `causal` and `Sq > Sk`)
      outputs exactly 0, never NaN.

    Quantized scores (SageAttention's scheme). With `qk_precision = i8` or
    `qk_precision = f8E4M3FN`, the scores come from quantized queries and
    keys; absent, or equal to the operands' element type, the scores are the
    exact f32 products above. With `qmax` = 127 (i8) or 448 (f8E4M3FN):

    * Keys are smoothed first: `kmean[b, kh, d] = (sum_c P_c) / Sk` with
      `P_c = sum_j f32(key[b, kh, j, d])` over the rows `j` of key block
      `c` (below); both sums in f32, in ascending order. The quantized keys
      are those of `key - kmean`. (The mean shifts every score of a row by
      the same `q . kmean`, which the softmax cancels.)
    * Blocks: rows `64r .. min(64r + 64, Sq) - 1` of `query[b, h]`, and rows
      `64c .. min(64c + 64, Sk) - 1` of `key[b, kh] - kmean`, all `D`
      columns.
    * A block `X` (f32 values) with `a = max |X|` quantizes to scale `s = a
      / qmax` and values `x_q = quant(x * (qmax / a))`, where `quant` rounds
      half to even and clamps to `[-127, 127]` (i8), or rounds to the nearest
      f8E4M3FN value, ties to even, saturating at `±448` (f8E4M3FN). A block
      with `a = 0` quantizes to scale 0 and values 0.
    * `score(i, j) = scale * ((s_Q * s_K) * sum_d q_q[d] * k_q[d])`, with
      `s_Q` the scale of row `i`'s query block, `s_K` that of key `j`'s
      block and the sum in f32 (exact for i8 while `D * 127^2 < 2^24`, i.e.
      `D <= 1040`). The softmax and `P @ V` are as without quantization.

    Example (GQA, 8 query heads over 2 key/value heads, causal):

    ```mlir
    %out = sieve.attention %q, %k, %v {causal = true}
        : tensor<1x8x1024x64xf16>, tensor<1x2x1024x64xf16>,
          tensor<1x2x1024x64xf16> -> tensor<1x8x1024x64xf16>
    ```
  }];
  let arguments = (ins
    Sieve_TensorOf<[Sieve_FloatElement], 4>:$query,
    Sieve_TensorOf<[Sieve_FloatElement], 4>:$key,
    Sieve_TensorOf<[Sieve_FloatElement], 4>:$value,
    OptionalAttr<F32Attr>:$scale,
    DefaultValuedAttr<BoolAttr, "false">:$causal,
    OptionalAttr<Sieve_QKPrecisionAttr>:$qk_precision
  );
  let results = (outs Sieve_TensorOf<[Sieve_FloatElement], 4>:$result);
  let extraClassDeclaration = Sieve_AttentionExtraDecls;
  let assemblyFormat = [{
    $query `,` $key `,` $value attr-dict `:` type($query) `,` type($key) `,`
    type($value) `->` type($result)
  }];
}

def Sieve_HybridAttentionOp : Sieve_ComputeOp<"hybrid_attention",
    [AllElementTypesMatch<["query", "key", "value"]>]> {
  let summary = "Sliding-window attention plus global tokens";
  let description = [{
    Attention in which every query row sees a band of nearby keys plus a few
    global tokens, each visible key counted once. Operands, results, `scale`,
    GQA and the position `p = i + Sk - Sq` of query row `i` are as in
    `sieve.attention`; `globals` is `[B, G]` i32.

    The visible key set of row `i` of batch `b` is

    ```
    V(b, i) = { j in [0, Sk) : p - window_left <= j <= p + window_right }
            ∪ { g in globals[b, :] : 0 <= g < Sk }
    ```

    * Entries of `globals` that are negative or `>= Sk` are unused slots;
      duplicates and globals inside the window count once.
    * With `causal = true` (which requires `window_right = 0`), every key
      `j > p` is removed from `V(b, i)` afterwards, globals included.
    * With `global_queries = true`, a row whose own position `p` is one of
      the used entries of `globals[b, :]` (so `0 <= p < Sk`) sees every key
      `j in [0, Sk)` (still subject to `causal`): Longformer's symmetric
      global attention.
    * `out[b, h, i, :] = softmax(scale * q . k) @ v` over `V(b, i)`; an empty
      set gives exactly 0.

    `window_left` and `window_right` must be non-negative; a window wider than
    the sequence is allowed and simply clipped. `qk_precision` quantizes the
    scores exactly as in `sieve.attention` (blocks and `kmean` span the whole
    sequences, not only the visible keys).

    Example (causal window of 512 keys plus 16 global tokens):

    ```mlir
    %out = sieve.hybrid_attention %q, %k, %v, %globals window(512, 0)
        {causal = true}
        : tensor<1x32x16384x128xbf16>, tensor<1x8x16384x128xbf16>,
          tensor<1x8x16384x128xbf16>, tensor<1x16xi32>
        -> tensor<1x32x16384x128xbf16>
    ```
  }];
  let arguments = (ins
    Sieve_TensorOf<[Sieve_FloatElement], 4>:$query,
    Sieve_TensorOf<[Sieve_FloatElement], 4>:$key,
    Sieve_TensorOf<[Sieve_FloatElement], 4>:$value,
    Sieve_TensorOf<[I32], 2>:$globals,
    Sieve_NonNegativeI64Attr:$window_left,
    Sieve_NonNegativeI64Attr:$window_right,
    OptionalAttr<F32Attr>:$scale,
    DefaultValuedAttr<BoolAttr, "false">:$causal,
    DefaultValuedAttr<BoolAttr, "false">:$global_queries,
    OptionalAttr<Sieve_QKPrecisionAttr>:$qk_precision
  );
  let results = (outs Sieve_TensorOf<[Sieve_FloatElement], 4>:$result);
  let extraClassDeclaration = Sieve_AttentionExtraDecls;
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $globals
    `window` `(` $window_left `,` $window_right `)` attr-dict `:`
    type($query) `,` type($key) `,` type($value) `,` type($globals) `->`
    type($result)
  }];
  let hasCanonicalizer = 1;
}

def Sieve_SelectGlobalOp : Sieve_ComputeOp<"select_global"> {
  let summary = "Positions of the highest-scoring tokens";
  let description = [{
    `scores` is `[B, S]` f32; the result is `[B, G]` i32 with `G = count`:
    for each batch row, the positions of its `G` highest scores, returned in
    ascending position order. Ties go to the lower position; NaN ranks below
    every number (including -inf). The verifier requires `1 <= G`, and
    `G <= S` when `S` is static; executors check `G <= S` at run time
    otherwise.

    The result is meant as the `globals` operand of `sieve.hybrid_attention`.

    ```mlir
    %globals = sieve.select_global %scores count(16)
        : tensor<1x16384xf32> -> tensor<1x16xi32>
    ```
  }];
  let arguments = (ins
    Sieve_TensorOf<[F32], 2>:$scores,
    ConfinedAttr<I64Attr, [IntPositive]>:$count
  );
  let results = (outs Sieve_TensorOf<[I32], 2>:$result);
  let assemblyFormat = [{
    $scores `count` `(` $count `)` attr-dict `:` type($scores) `->`
    type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Gating
//===----------------------------------------------------------------------===//

def Sieve_GateOp : Sieve_ComputeOp<"gate",
    [AllElementTypesMatch<["input", "w1", "b1", "w2"]>]> {
  let summary = "Token-gating MLP: a score in [0, 1] and a routing mask";
  let description = [{
    Scores every token with a two-layer MLP and decides which tokens take the
    expensive path:

    ```
    score[b, s] = sigmoid(act(input[b, s, :] . w1^T + b1) . w2 + b2)
    ```

    * `input` is `[B, S, Dm]`; `w1` is `[Dh, Dm]` and `b1` is `[Dh]` (a
      PyTorch `Linear` layer, out x in); `w2` is `[Dh]` and `b2` a scalar
      (`tensor<f32>`, or the element type of `input`). `input`, `w1`, `b1`
      and `w2` share one float element type; the MLP accumulates in f32.
    * Results: `score` `[B, S]` f32 and `mask` `[B, S]` i1.
    * `activation` is `relu`, `silu` (`x * sigmoid(x)`) or `gelu` in its exact
      form `x * (1 + erf(x / sqrt(2))) / 2`.
    * Exactly one of `threshold` and `capacity` is given:
      * `threshold` in `[0, 1]`: `mask = score > threshold` (strict);
      * `capacity` in `(0, 1]`: `mask` marks the `k` highest scores of each
        batch row, `k = max(1, round(capacity * S))` computed in double from
        the attribute's f32 value with halves rounded away from zero; ties go
        to the lower position (Mixture-of-Depths top-k routing).

    Users monitor the fraction of tokens the mask selects
    (`active_token_ratio`) and the binary entropy of the scores.

    ```mlir
    %score, %mask = sieve.gate %x, %w1, %b1, %w2, %b2 activation(silu)
        threshold(3.000000e-01)
        : tensor<1x4096x2048xf16>, tensor<128x2048xf16>, tensor<128xf16>,
          tensor<128xf16>, tensor<f32>
        -> tensor<1x4096xf32>, tensor<1x4096xi1>
    ```
  }];
  let arguments = (ins
    Sieve_TensorOf<[Sieve_FloatElement], 3>:$input,
    Sieve_TensorOf<[Sieve_FloatElement], 2>:$w1,
    Sieve_TensorOf<[Sieve_FloatElement], 1>:$b1,
    Sieve_TensorOf<[Sieve_FloatElement], 1>:$w2,
    Sieve_TensorOf<[Sieve_FloatElement], 0>:$b2,
    Sieve_ActivationAttr:$activation,
    OptionalAttr<F32Attr>:$threshold,
    OptionalAttr<F32Attr>:$capacity
  );
  let results = (outs
    Sieve_TensorOf<[F32], 2>:$score,
    Sieve_TensorOf<[I1], 2>:$mask
  );
  let assemblyFormat = [{
    $input `,` $w1 `,` $b1 `,` $w2 `,` $b2 `activation` `(` custom<Activation>($activation) `)`
    (`threshold` `(` $threshold^ `)`)? (`capacity` `(` $capacity^ `)`)?
    attr-dict `:` type($input) `,` type($w1) `,` type($b1) `,` type($w2) `,`
    type($b2) `->` type($score) `,` type($mask)
  }];
}

def Sieve_CompactOp : Sieve_ComputeOp<"compact",
    [AllTypesMatch<["input", "packed"]>]> {
  let summary = "Packs the rows a mask selects to the front";
  let description = [{
    `input` is `[B, S, D]` and `mask` `[B, S]` i1. For each batch row `b`, the
    rows `input[b, s, :]` with `mask[b, s] = 1`, in ascending `s`, fill
    `packed[b, 0 : count[b], :]`; the rest of `packed` is 0.
    `positions[b, r]` is the original position of packed row `r`, and -1 for
    `r >= count[b]`. Results: `packed` (the type of `input`), `positions`
    `[B, S]` i32, `count` `[B]` i32.

    Work that follows on `packed` need only touch its first `count[b]` rows;
    `sieve.scatter` puts them back.

    ```mlir
    %packed, %positions, %count = sieve.compact %x, %mask
        : tensor<1x4096x2048xf16>, tensor<1x4096xi1>
        -> tensor<1x4096x2048xf16>, tensor<1x4096xi32>, tensor<1xi32>
    ```
  }];
  let arguments = (ins
    Sieve_TensorOf<[Sieve_DataElement], 3>:$input,
    Sieve_TensorOf<[I1], 2>:$mask
  );
  let results = (outs
    Sieve_TensorOf<[Sieve_DataElement], 3>:$packed,
    Sieve_TensorOf<[I32], 2>:$positions,
    Sieve_TensorOf<[I32], 1>:$count
  );
  let assemblyFormat = [{
    $input `,` $mask attr-dict `:` type($input) `,` type($mask) `->`
    type($packed) `,` type($positions) `,` type($count)
  }];
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Sieve_ScatterOp : Sieve_ComputeOp<"scatter",
    [AllElementTypesMatch<["packed", "base", "result"]>]> {
  let summary = "Writes packed rows back to their original positions";
  let description = [{
    `packed` and `base` are `[B, S, D]`, `positions` is `[B, S]` i32. The
    result starts as `base`, and `packed[b, r, :]` is written to row
    `positions[b, r]` for every `r` with `0 <= positions[b, r] < S`; other
    entries (such as the -1 padding of `sieve.compact`) are skipped. If two
    rows name the same position one of them wins, which one is unspecified;
    `sieve.compact` never produces duplicates.

    ```mlir
    %y = sieve.scatter %packed, %positions, %residual
        : tensor<1x4096x2048xf16>, tensor<1x4096xi32>, tensor<1x4096x2048xf16>
        -> tensor<1x4096x2048xf16>
    ```
  }];
  let arguments = (ins
    Sieve_TensorOf<[Sieve_DataElement], 3>:$packed,
    Sieve_TensorOf<[I32], 2>:$positions,
    Sieve_TensorOf<[Sieve_DataElement], 3>:$base
  );
  let results = (outs Sieve_TensorOf<[Sieve_DataElement], 3>:$result);
  let assemblyFormat = [{
    $packed `,` $positions `,` $base attr-dict `:` type($packed) `,`
    type($positions) `,` type($base) `->` type($result)
  }];
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

def Sieve_QuantizeOp : Sieve_ComputeOp<"quantize"> {
  let summary = "Symmetric per-group quantization to int8 or int4";
  let description = [{
    Quantizes `input` (`[..., K]`, float) in groups of `group_size`
    consecutive elements along the last dimension; `group_size = 0` means the
    whole last dimension is one group. For each group, with
    `qmax = 127` (`bits = 8`) or `7` (`bits = 4`):

    ```
    scale = max |x| / qmax                        (computed in f32)
    q     = clamp(round_half_to_even(x / scale), -qmax, qmax)
    ```

    * A group whose scale is 0 has q 0: a group of zeros, or one so small
      that `max |x| / qmax` underflows to 0 in f32.
    * A group holding a NaN or an infinity has scale NaN and q 0.
    * Results: `values` `[..., K]` of `i8` (`bits = 8`) or `i4` (`bits = 4`),
      and `scales` `[..., K / group_size]` f32 (`[..., 1]` for
      `group_size = 0`).

    The verifier requires `bits` in {4, 8} matching the element type of
    `values`, `group_size >= 0`, and that `group_size` divides `K` when `K` is
    static; executors check the division at run time otherwise.

    ```mlir
    %q, %scales = sieve.quantize %w bits(4) group_size(128)
        : tensor<2048x2048xf16> -> tensor<2048x2048xi4>, tensor<2048x16xf32>
    ```
  }];
  let arguments = (ins
    Sieve_Non0RankTensorOf<[Sieve_FloatElement]>:$input,
    ConfinedAttr<I64Attr, [IntIsOneOf<[4, 8]>]>:$bits,
    Sieve_NonNegativeI64Attr:$group_size
  );
  let results = (outs
    Sieve_Non0RankTensorOf<[Sieve_QuantElement]>:$values,
    Sieve_Non0RankTensorOf<[F32]>:$scales
  );
  let assemblyFormat = [{
    $input `bits` `(` $bits `)` `group_size` `(` $group_size `)` attr-dict
    `:` type($input) `->` type($values) `,` type($scales)
  }];
}

def Sieve_DequantizeOp : Sieve_ComputeOp<"dequantize"> {
  let summary = "Per-group dequantization to f32";
  let description = [{
    The inverse of `sieve.quantize`: `values` (`[..., K]`, i8 or i4) and
    `scales` (`[..., K / group_size]` f32, or `[..., 1]` when
    `group_size = 0`) give

    ```
    result[..., k] = values[..., k] * scales[..., k / group_size]   (f32)
    ```

    ```mlir
    %w = sieve.dequantize %q, %scales group_size(128)
        : tensor<2048x2048xi4>, tensor<2048x16xf32> -> tensor<2048x2048xf32>
    ```
  }];
  let arguments = (ins
    Sieve_Non0RankTensorOf<[Sieve_QuantElement]>:$values,
    Sieve_Non0RankTensorOf<[F32]>:$scales,
    Sieve_NonNegativeI64Attr:$group_size
  );
  let results = (outs Sieve_Non0RankTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $values `,` $scales `group_size` `(` $group_size `)` attr-dict `:`
    type($values) `,` type($scales) `->` type($result)
  }];
}

def Sieve_QMatmulOp : Sieve_ComputeOp<"qmatmul"> {
  let summary = "Matmul against int8/int4 weights with per-group scales";
  let description = [{
    A PyTorch `Linear` layer (weights out x in) whose weights are quantized
    as by `sieve.quantize`:

    ```
    y[..., n] = sum_k x[..., k] * q[n, k] * scale[n, k / group_size] + bias[n]
    ```

    * `input` is `[..., K]` (float), `weight_values` `[N, K]` i8 or i4,
      `weight_scales` `[N, K / group_size]` f32 (`[N, 1]` for
      `group_size = 0`), the optional `bias` `[N]` has the element type of
      `input`. The result is `[..., N]` with the element type of `input`;
      the sum accumulates in f32.
    * `group_size >= 0` must divide `K` when `K` is static.

    ```mlir
    %y = sieve.qmatmul %x, %q, %scales bias(%b : tensor<2048xf16>)
        group_size(128)
        : tensor<1x4096x2048xf16>, tensor<2048x2048xi4>, tensor<2048x16xf32>
        -> tensor<1x4096x2048xf16>
    ```
  }];
  let arguments = (ins
    Sieve_Non0RankTensorOf<[Sieve_FloatElement]>:$input,
    Sieve_TensorOf<[Sieve_QuantElement], 2>:$weight_values,
    Sieve_TensorOf<[F32], 2>:$weight_scales,
    Optional<Sieve_TensorOf<[Sieve_FloatElement], 1>>:$bias,
    Sieve_NonNegativeI64Attr:$group_size
  );
  let results = (outs Sieve_Non0RankTensorOf<[Sieve_FloatElement]>:$result);
  let assemblyFormat = [{
    $input `,` $weight_values `,` $weight_scales
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    `group_size` `(` $group_size `)` attr-dict `:` type($input) `,`
    type($weight_values) `,` type($weight_scales) `->` type($result)
  }];
}

#endif // SIEVE_OPS_TD
