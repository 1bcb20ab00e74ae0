// A band, globals and a dynamic sequence length, small enough for the
// emulator: its band kernel counts one work unit per K/V tile a CTA visits.
func.func @main(%q: tensor<1x8x?x64xf16>, %k: tensor<1x2x?x64xf16>,
                %v: tensor<1x2x?x64xf16>, %g: tensor<1x4xi32>)
    -> tensor<1x8x?x64xf16> {
  %o = sieve.hybrid_attention %q, %k, %v, %g window(40, 20) : tensor<1x8x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x4xi32> -> tensor<1x8x?x64xf16>
  return %o : tensor<1x8x?x64xf16>
}
