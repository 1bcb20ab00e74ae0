// The tensor-core attention kernels with quantized scores (qk_precision) at
// D = 64 and 128, f16 and bf16: hybrid with global query rows (band,
// decoding, merge and global-rows kernels, plus the key-mean and quantizing
// kernels) with i8 and f8E4M3FN scores, and dense with i8 scores at
// D = 128 and f8E4M3FN scores at D = 64; dynamic sequence length. On sm_90
// f8E4M3FN runs on the e4m3 mma.sync, on sm_80 on the f16/bf16 one.
func.func @main(%q64: tensor<1x8x?x64xf16>, %k64: tensor<1x2x?x64xf16>,
                %v64: tensor<1x2x?x64xf16>,
                %q128: tensor<1x8x?x128xbf16>, %k128: tensor<1x2x?x128xbf16>,
                %v128: tensor<1x2x?x128xbf16>, %g: tensor<1x16xi32>)
    -> (tensor<1x8x?x64xf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>,
        tensor<1x8x?x64xf16>) {
  %h64 = sieve.hybrid_attention %q64, %k64, %v64, %g window(512, 0) {causal = true, global_queries = true, qk_precision = i8} : tensor<1x8x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x16xi32> -> tensor<1x8x?x64xf16>
  %h128 = sieve.hybrid_attention %q128, %k128, %v128, %g window(256, 256) {global_queries = true, qk_precision = f8E4M3FN} : tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x16xi32> -> tensor<1x8x?x128xbf16>
  %d128 = sieve.attention %q128, %k128, %v128 {causal = true, qk_precision = i8} : tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16> -> tensor<1x8x?x128xbf16>
  %d64 = sieve.attention %q64, %k64, %v64 {causal = true, qk_precision = f8E4M3FN} : tensor<1x8x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x8x?x64xf16>
  return %h64, %h128, %d128, %d64 : tensor<1x8x?x64xf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?x64xf16>
}
