// A transformer block of a long-context model, written with Sieve's ops:
//
//   score, mask = gate(x)                    token gating MLP (threshold 0.3)
//   globals     = select_global(score, 16)   16 global tokens by learned score
//   q, k, v     = x @ Wq, x @ Wk, x @ Wv     int4/int8 weights, GQA 8:2 heads
//   h           = x + hybrid_attention(q, k, v, globals) @ Wo
//                                            causal window 512 + 16 globals
//   y           = h + mlp(h) for the tokens the gate selects, h for the rest
//                                            (compact -> int4 MLP -> scatter)
//
// Sizes: any sequence length S (4096 in the tests of the CPU reference),
// model dimension 512, 8 query heads and 2 key/value
// heads of dimension 64, MLP hidden size 1024, gate hidden size 64. The
// weights are arguments so that any set of quantized weights can be fed in.

func.func @attention_block(
    %x: tensor<1x?x512xf16>,
    %gate_w1: tensor<64x512xf16>, %gate_b1: tensor<64xf16>,
    %gate_w2: tensor<64xf16>, %gate_b2: tensor<f32>,
    %wq: tensor<512x512xi4>, %wq_scales: tensor<512x4xf32>,
    %wk: tensor<128x512xi8>, %wk_scales: tensor<128x4xf32>,
    %wv: tensor<128x512xi8>, %wv_scales: tensor<128x4xf32>,
    %wo: tensor<512x512xi4>, %wo_scales: tensor<512x4xf32>,
    %w_up: tensor<1024x512xi4>, %w_up_scales: tensor<1024x4xf32>,
    %w_down: tensor<512x1024xi4>, %w_down_scales: tensor<512x8xf32>)
    -> (tensor<1x?x512xf16>, tensor<1x?xf32>) {
  %c1 = arith.constant 1 : index
  %seq = tensor.dim %x, %c1 : tensor<1x?x512xf16>
  // Gating: which tokens take the expensive MLP, and which are global.
  %score, %mask = sieve.gate %x, %gate_w1, %gate_b1, %gate_w2, %gate_b2
      activation(silu) threshold(0.3)
      : tensor<1x?x512xf16>, tensor<64x512xf16>, tensor<64xf16>,
        tensor<64xf16>, tensor<f32> -> tensor<1x?xf32>, tensor<1x?xi1>
  %globals = sieve.select_global %score count(16)
      : tensor<1x?xf32> -> tensor<1x16xi32>

  // Quantized Q/K/V projections, split into heads: [1, S, H*D] -> [1, H, S, D].
  %q2 = sieve.qmatmul %x, %wq, %wq_scales group_size(128)
      : tensor<1x?x512xf16>, tensor<512x512xi4>, tensor<512x4xf32>
      -> tensor<1x?x512xf16>
  %k2 = sieve.qmatmul %x, %wk, %wk_scales group_size(128)
      : tensor<1x?x512xf16>, tensor<128x512xi8>, tensor<128x4xf32>
      -> tensor<1x?x128xf16>
  %v2 = sieve.qmatmul %x, %wv, %wv_scales group_size(128)
      : tensor<1x?x512xf16>, tensor<128x512xi8>, tensor<128x4xf32>
      -> tensor<1x?x128xf16>
  %q3 = tensor.expand_shape %q2 [[0], [1], [2, 3]] output_shape [1, %seq, 8, 64]
      : tensor<1x?x512xf16> into tensor<1x?x8x64xf16>
  %k3 = tensor.expand_shape %k2 [[0], [1], [2, 3]] output_shape [1, %seq, 2, 64]
      : tensor<1x?x128xf16> into tensor<1x?x2x64xf16>
  %v3 = tensor.expand_shape %v2 [[0], [1], [2, 3]] output_shape [1, %seq, 2, 64]
      : tensor<1x?x128xf16> into tensor<1x?x2x64xf16>
  %q_init = tensor.empty(%seq) : tensor<1x8x?x64xf16>
  %kv_init = tensor.empty(%seq) : tensor<1x2x?x64xf16>
  %q = linalg.transpose ins(%q3 : tensor<1x?x8x64xf16>)
      outs(%q_init : tensor<1x8x?x64xf16>) permutation = [0, 2, 1, 3]
  %k = linalg.transpose ins(%k3 : tensor<1x?x2x64xf16>)
      outs(%kv_init : tensor<1x2x?x64xf16>) permutation = [0, 2, 1, 3]
  %v = linalg.transpose ins(%v3 : tensor<1x?x2x64xf16>)
      outs(%kv_init : tensor<1x2x?x64xf16>) permutation = [0, 2, 1, 3]

  // Causal sliding window of 512 keys plus the 16 global tokens, GQA 8:2.
  %attn = sieve.hybrid_attention %q, %k, %v, %globals window(512, 0)
      {causal = true}
      : tensor<1x8x?x64xf16>, tensor<1x2x?x64xf16>,
        tensor<1x2x?x64xf16>, tensor<1x16xi32> -> tensor<1x8x?x64xf16>

  // Merge the heads, project out, add the residual.
  %attn_init = tensor.empty(%seq) : tensor<1x?x8x64xf16>
  %attn_t = linalg.transpose ins(%attn : tensor<1x8x?x64xf16>)
      outs(%attn_init : tensor<1x?x8x64xf16>) permutation = [0, 2, 1, 3]
  %attn2 = tensor.collapse_shape %attn_t [[0], [1], [2, 3]]
      : tensor<1x?x8x64xf16> into tensor<1x?x512xf16>
  %o = sieve.qmatmul %attn2, %wo, %wo_scales group_size(128)
      : tensor<1x?x512xf16>, tensor<512x512xi4>, tensor<512x4xf32>
      -> tensor<1x?x512xf16>
  %h = arith.addf %x, %o : tensor<1x?x512xf16>

  // The MLP runs only on the tokens the gate selected.
  %packed, %positions, %count = sieve.compact %h, %mask
      : tensor<1x?x512xf16>, tensor<1x?xi1>
      -> tensor<1x?x512xf16>, tensor<1x?xi32>, tensor<1xi32>
  %up = sieve.qmatmul %packed, %w_up, %w_up_scales group_size(128)
      : tensor<1x?x512xf16>, tensor<1024x512xi4>, tensor<1024x4xf32>
      -> tensor<1x?x1024xf16>
  %act_init = tensor.empty(%seq) : tensor<1x?x1024xf16>
  %act = linalg.generic {
      indexing_maps = [affine_map<(b, s, d) -> (b, s, d)>,
                       affine_map<(b, s, d) -> (b, s, d)>],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%up : tensor<1x?x1024xf16>) outs(%act_init : tensor<1x?x1024xf16>) {
  ^bb0(%in: f16, %out: f16):
    // silu(x) = x * sigmoid(x), in f32.
    %xf = arith.extf %in : f16 to f32
    %neg = arith.negf %xf : f32
    %e = math.exp %neg : f32
    %one = arith.constant 1.0 : f32
    %den = arith.addf %one, %e : f32
    %silu = arith.divf %xf, %den : f32
    %res = arith.truncf %silu : f32 to f16
    linalg.yield %res : f16
  } -> tensor<1x?x1024xf16>
  %down = sieve.qmatmul %act, %w_down, %w_down_scales group_size(128)
      : tensor<1x?x1024xf16>, tensor<512x1024xi4>, tensor<512x8xf32>
      -> tensor<1x?x512xf16>
  %branch = arith.addf %packed, %down : tensor<1x?x512xf16>
  %y = sieve.scatter %branch, %positions, %h
      : tensor<1x?x512xf16>, tensor<1x?xi32>, tensor<1x?x512xf16>
      -> tensor<1x?x512xf16>
  return %y, %score : tensor<1x?x512xf16>, tensor<1x?xf32>
}
