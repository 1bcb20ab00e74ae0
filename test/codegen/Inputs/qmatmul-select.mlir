// Kernel selection for sieve.qmatmul: M = 1 (decode), M = 17 (tiled), f32
// activations and group_size 32 (the SIMT kernel).
func.func @select(%x1: tensor<1x128xf16>, %x17: tensor<17x128xbf16>,
                  %x32: tensor<4x128xf32>, %q: tensor<64x128xi8>,
                  %s: tensor<64x2xf32>, %s32: tensor<64x4xf32>)
    -> (tensor<1x64xf16>, tensor<17x64xbf16>, tensor<4x64xf32>,
        tensor<1x64xf16>) {
  %0 = sieve.qmatmul %x1, %q, %s group_size(64)
      : tensor<1x128xf16>, tensor<64x128xi8>, tensor<64x2xf32> -> tensor<1x64xf16>
  %1 = sieve.qmatmul %x17, %q, %s group_size(64)
      : tensor<17x128xbf16>, tensor<64x128xi8>, tensor<64x2xf32> -> tensor<17x64xbf16>
  %2 = sieve.qmatmul %x32, %q, %s group_size(64)
      : tensor<4x128xf32>, tensor<64x128xi8>, tensor<64x2xf32> -> tensor<4x64xf32>
  %3 = sieve.qmatmul %x1, %q, %s32 group_size(32)
      : tensor<1x128xf16>, tensor<64x128xi8>, tensor<64x4xf32> -> tensor<1x64xf16>
  return %0, %1, %2, %3 : tensor<1x64xf16>, tensor<17x64xbf16>,
      tensor<4x64xf32>, tensor<1x64xf16>
}
