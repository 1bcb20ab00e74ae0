// One graph holding every sieve op, for the whole-bundle tests.
func.func @all_ops(%q: tensor<1x4x?x64xf16>, %k: tensor<1x2x?x64xf16>, %x: tensor<1x?x64xf16>,
                   %w1: tensor<16x64xf16>, %b1: tensor<16xf16>, %w2: tensor<16xf16>, %b2: tensor<f32>,
                   %w: tensor<32x64xf16>)
    -> (tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x?x64xf16>, tensor<1x?x32xf16>, tensor<32x64xf32>) {
  %dense = sieve.attention %q, %k, %k {causal = true} : tensor<1x4x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x4x?x64xf16>
  %score, %mask = sieve.gate %x, %w1, %b1, %w2, %b2 activation(gelu) threshold(0.5) : tensor<1x?x64xf16>, tensor<16x64xf16>, tensor<16xf16>, tensor<16xf16>, tensor<f32> -> tensor<1x?xf32>, tensor<1x?xi1>
  %globals = sieve.select_global %score count(4) : tensor<1x?xf32> -> tensor<1x4xi32>
  %hybrid = sieve.hybrid_attention %q, %k, %k, %globals window(8, 0) {causal = true} : tensor<1x4x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x4xi32> -> tensor<1x4x?x64xf16>
  %packed, %positions, %count = sieve.compact %x, %mask : tensor<1x?x64xf16>, tensor<1x?xi1> -> tensor<1x?x64xf16>, tensor<1x?xi32>, tensor<1xi32>
  %y = sieve.scatter %packed, %positions, %packed : tensor<1x?x64xf16>, tensor<1x?xi32>, tensor<1x?x64xf16> -> tensor<1x?x64xf16>
  %qw, %sw = sieve.quantize %w bits(4) group_size(32) : tensor<32x64xf16> -> tensor<32x64xi4>, tensor<32x2xf32>
  %dq = sieve.dequantize %qw, %sw group_size(32) : tensor<32x64xi4>, tensor<32x2xf32> -> tensor<32x64xf32>
  %proj = sieve.qmatmul %y, %qw, %sw group_size(32) : tensor<1x?x64xf16>, tensor<32x64xi4>, tensor<32x2xf32> -> tensor<1x?x32xf16>
  return %dense, %hybrid, %y, %proj, %dq : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x?x64xf16>, tensor<1x?x32xf16>, tensor<32x64xf32>
}
