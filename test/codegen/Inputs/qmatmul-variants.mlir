// Every variant of the tensor-core qmatmul kernels in one graph: f16 and
// bf16 activations x int8 and int4 weights x group 64 and whole rows, with
// and without bias. M is dynamic, so each op gets the decode and the tiled
// kernel (and int4 the repacking kernel).
func.func @variants(%x16: tensor<?x256xf16>, %xb: tensor<?x256xbf16>,
                    %q8: tensor<512x256xi8>, %q4: tensor<512x256xi4>,
                    %s64: tensor<512x4xf32>, %s0: tensor<512x1xf32>,
                    %b16: tensor<512xf16>, %bb: tensor<512xbf16>)
    -> (tensor<?x512xf16>, tensor<?x512xf16>, tensor<?x512xf16>,
        tensor<?x512xf16>, tensor<?x512xbf16>, tensor<?x512xbf16>,
        tensor<?x512xbf16>, tensor<?x512xbf16>) {
  %0 = sieve.qmatmul %x16, %q8, %s64 bias(%b16 : tensor<512xf16>) group_size(64)
      : tensor<?x256xf16>, tensor<512x256xi8>, tensor<512x4xf32> -> tensor<?x512xf16>
  %1 = sieve.qmatmul %x16, %q4, %s64 group_size(64)
      : tensor<?x256xf16>, tensor<512x256xi4>, tensor<512x4xf32> -> tensor<?x512xf16>
  %2 = sieve.qmatmul %x16, %q8, %s0 group_size(0)
      : tensor<?x256xf16>, tensor<512x256xi8>, tensor<512x1xf32> -> tensor<?x512xf16>
  %3 = sieve.qmatmul %x16, %q4, %s0 bias(%b16 : tensor<512xf16>) group_size(0)
      : tensor<?x256xf16>, tensor<512x256xi4>, tensor<512x1xf32> -> tensor<?x512xf16>
  %4 = sieve.qmatmul %xb, %q8, %s64 group_size(64)
      : tensor<?x256xbf16>, tensor<512x256xi8>, tensor<512x4xf32> -> tensor<?x512xbf16>
  %5 = sieve.qmatmul %xb, %q4, %s64 bias(%bb : tensor<512xbf16>) group_size(64)
      : tensor<?x256xbf16>, tensor<512x256xi4>, tensor<512x4xf32> -> tensor<?x512xbf16>
  %6 = sieve.qmatmul %xb, %q8, %s0 bias(%bb : tensor<512xbf16>) group_size(0)
      : tensor<?x256xbf16>, tensor<512x256xi8>, tensor<512x1xf32> -> tensor<?x512xbf16>
  %7 = sieve.qmatmul %xb, %q4, %s0 group_size(0)
      : tensor<?x256xbf16>, tensor<512x256xi4>, tensor<512x1xf32> -> tensor<?x512xbf16>
  return %0, %1, %2, %3, %4, %5, %6, %7 : tensor<?x512xf16>, tensor<?x512xf16>,
      tensor<?x512xf16>, tensor<?x512xf16>, tensor<?x512xbf16>,
      tensor<?x512xbf16>, tensor<?x512xbf16>, tensor<?x512xbf16>
}
