// The issue's example layer: S = 16384, a causal window of 512 keys plus 16
// global tokens, GQA 4:1, D = 64.
func.func @main(%q: tensor<1x8x16384x64xf16>, %k: tensor<1x2x16384x64xf16>,
                %v: tensor<1x2x16384x64xf16>, %g: tensor<1x16xi32>)
    -> tensor<1x8x16384x64xf16> {
  %o = sieve.hybrid_attention %q, %k, %v, %g window(512, 0) {causal = true} : tensor<1x8x16384x64xf16>, tensor<1x2x16384x64xf16>, tensor<1x2x16384x64xf16>, tensor<1x16xi32> -> tensor<1x8x16384x64xf16>
  return %o : tensor<1x8x16384x64xf16>
}
