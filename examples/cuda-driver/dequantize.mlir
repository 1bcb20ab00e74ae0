// The graph of the plain-CUDA launch example (launch_dequantize.cpp):
// per-group int4 weights to f32.
func.func @dequantize(%q: tensor<64x128xi4>, %s: tensor<64x4xf32>) -> tensor<64x128xf32> {
  %0 = sieve.dequantize %q, %s group_size(32) : tensor<64x128xi4>, tensor<64x4xf32> -> tensor<64x128xf32>
  return %0 : tensor<64x128xf32>
}
