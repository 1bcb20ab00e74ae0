// Attention shapes the tensor-core kernels do not take (f32; a head
// dimension outside the tile table): the simple SIMT kernels compile them.
func.func @simple(%q: tensor<1x4x?x64xf32>, %k: tensor<1x2x?x64xf32>, %g: tensor<1x4xi32>,
                  %q2: tensor<1x4x?x48xf16>, %k2: tensor<1x2x?x48xf16>)
    -> (tensor<1x4x?x64xf32>, tensor<1x4x?x48xf16>) {
  %dense = sieve.attention %q, %k, %k {causal = true} : tensor<1x4x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x4x?x64xf32>
  %hybrid = sieve.hybrid_attention %q2, %k2, %k2, %g window(8, 0) {causal = true} : tensor<1x4x?x48xf16>, tensor<1x2x?x48xf16>, tensor<1x2x?x48xf16>, tensor<1x4xi32> -> tensor<1x4x?x48xf16>
  return %dense, %hybrid : tensor<1x4x?x64xf32>, tensor<1x4x?x48xf16>
}
