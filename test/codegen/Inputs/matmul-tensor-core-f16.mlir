// Half-precision results of the tensor-core contraction: the kernel sums in
// f32 and rounds once, so out0 and out1 are out2 and out3 (the same
// products with f32 results) rounded to f16. The reference adds in f16, as
// the payload says, and differs by its own roundings
// (matmul-tensor-core.test).
func.func @matmul_tensor_core_f16(
    %a0: tensor<33x40xf16>, %b0: tensor<40x70xf16>,
    %a1: tensor<2x64x64xf16>, %b1: tensor<2x64x128xf16>)
    -> (tensor<33x70xf16>, tensor<2x64x128xf16>, tensor<33x70xf32>,
        tensor<2x64x128xf32>) {
  %zero = arith.constant 0.0 : f16
  %zero32 = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<33x70xf16>
  %z0 = linalg.fill ins(%zero : f16) outs(%e0 : tensor<33x70xf16>) -> tensor<33x70xf16>
  %r0 = linalg.matmul ins(%a0, %b0 : tensor<33x40xf16>, tensor<40x70xf16>)
      outs(%z0 : tensor<33x70xf16>) -> tensor<33x70xf16>
  %e1 = tensor.empty() : tensor<2x64x128xf16>
  %z1 = linalg.fill ins(%zero : f16) outs(%e1 : tensor<2x64x128xf16>) -> tensor<2x64x128xf16>
  %r1 = linalg.batch_matmul ins(%a1, %b1 : tensor<2x64x64xf16>, tensor<2x64x128xf16>)
      outs(%z1 : tensor<2x64x128xf16>) -> tensor<2x64x128xf16>
  %e2 = tensor.empty() : tensor<33x70xf32>
  %z2 = linalg.fill ins(%zero32 : f32) outs(%e2 : tensor<33x70xf32>) -> tensor<33x70xf32>
  %r2 = linalg.matmul ins(%a0, %b0 : tensor<33x40xf16>, tensor<40x70xf16>)
      outs(%z2 : tensor<33x70xf32>) -> tensor<33x70xf32>
  %e3 = tensor.empty() : tensor<2x64x128xf32>
  %z3 = linalg.fill ins(%zero32 : f32) outs(%e3 : tensor<2x64x128xf32>) -> tensor<2x64x128xf32>
  %r3 = linalg.batch_matmul ins(%a1, %b1 : tensor<2x64x64xf16>, tensor<2x64x128xf16>)
      outs(%z3 : tensor<2x64x128xf32>) -> tensor<2x64x128xf32>
  return %r0, %r1, %r2, %r3 : tensor<33x70xf16>, tensor<2x64x128xf16>,
      tensor<33x70xf32>, tensor<2x64x128xf32>
}
