// Dynamic sizes on the tensor-core contraction: one bundle for every S.
// A dynamic M keeps the 16-byte copies (K = 64); a dynamic K (%x2's
// columns) turns them into element loads.
#tok = affine_map<(b, s, n, k) -> (b, s, k)>
#w = affine_map<(b, s, n, k) -> (n, k)>
#out = affine_map<(b, s, n, k) -> (b, s, n)>
func.func @matmul_tensor_core_dynamic(%x: tensor<2x?x64xf16>,
                                      %w: tensor<72x64xf16>,
                                      %x2: tensor<5x?xf16>,
                                      %w2: tensor<?x24xf16>)
    -> (tensor<2x?x72xf32>, tensor<5x24xf32>) {
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %s = tensor.dim %x, %c1 : tensor<2x?x64xf16>
  %e0 = tensor.empty(%s) : tensor<2x?x72xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x?x72xf32>) -> tensor<2x?x72xf32>
  %r0 = linalg.generic {indexing_maps = [#tok, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x?x64xf16>, tensor<72x64xf16>) outs(%z0 : tensor<2x?x72xf32>) {
  ^bb0(%a: f16, %b: f16, %acc: f32):
    %af = arith.extf %a : f16 to f32
    %bf = arith.extf %b : f16 to f32
    %p = arith.mulf %af, %bf : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x?x72xf32>
  %e1 = tensor.empty() : tensor<5x24xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<5x24xf32>) -> tensor<5x24xf32>
  %r1 = linalg.matmul ins(%x2, %w2 : tensor<5x?xf16>, tensor<?x24xf16>)
      outs(%z1 : tensor<5x24xf32>) -> tensor<5x24xf32>
  return %r0, %r1 : tensor<2x?x72xf32>, tensor<5x24xf32>
}
