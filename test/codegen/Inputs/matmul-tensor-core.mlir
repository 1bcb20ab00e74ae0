// Contractions the tensor-core kernel takes (f16 x f16 or bf16 x bf16, f32
// results), in every staging path: K and the row lengths multiples of 8 or
// not (16-byte copies or element loads), B as [K, N] and A as [K, M]
// (ldmatrix .trans) or with K innermost, batch dimensions, several m
// dimensions, an init that is not a fill, several tiles in both directions.
// The f32 results accumulate in f32 in the reference too, so only the order
// of the sums differs. Then the SIMT kernel's cases: f32 operands and mixed
// f16 x bf16.
#mk = affine_map<(m, n, k) -> (m, k)>
#km = affine_map<(m, n, k) -> (k, m)>
#nk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>
#tok = affine_map<(b, s, n, k) -> (b, s, k)>
#w = affine_map<(b, s, n, k) -> (n, k)>
#out = affine_map<(b, s, n, k) -> (b, s, n)>
func.func @matmul_tensor_core(
    %a0: tensor<33x40xf16>, %b0: tensor<40x70xf16>,
    %a1: tensor<128x64xf16>, %b1: tensor<64x128xf16>,
    %a2: tensor<3x33x40xf16>, %b2: tensor<3x40x72xf16>,
    %a3: tensor<70x48xf16>, %b3: tensor<50x48xf16>,
    %a4: tensor<20x27xf16>, %b4: tensor<27x24xf16>,
    %a5: tensor<40x36xbf16>, %b5: tensor<36x48xbf16>,
    %a6: tensor<32x40xf16>, %b6: tensor<24x32xf16>,
    %a7: tensor<17x33xf16>, %b7: tensor<33x19xf16>, %c7: tensor<17x19xf32>,
    %a8: tensor<200x96xf16>, %b8: tensor<96x260xf16>,
    %a9: tensor<2x17x40xf16>, %b9: tensor<24x40xf16>,
    %a10: tensor<33x40xf32>, %b10: tensor<40x70xf32>,
    %b11: tensor<40x70xbf16>)
    -> (tensor<33x70xf32>, tensor<128x128xf32>, tensor<3x33x72xf32>,
        tensor<70x50xf32>, tensor<20x24xf32>, tensor<40x48xf32>,
        tensor<40x24xf32>, tensor<17x19xf32>, tensor<200x260xf32>,
        tensor<2x17x24xf32>, tensor<33x70xf32>, tensor<33x70xf32>) {
  %zero = arith.constant 0.0 : f32

  // 33 x 70 x 40: A copied (K = 40), B loaded element by element (N = 70).
  %e0 = tensor.empty() : tensor<33x70xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<33x70xf32>) -> tensor<33x70xf32>
  %r0 = linalg.matmul ins(%a0, %b0 : tensor<33x40xf16>, tensor<40x70xf16>)
      outs(%z0 : tensor<33x70xf32>) -> tensor<33x70xf32>

  // Aligned 128 x 128 x 64: both copied, B through ldmatrix .trans.
  %e1 = tensor.empty() : tensor<128x128xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<128x128xf32>) -> tensor<128x128xf32>
  %r1 = linalg.matmul ins(%a1, %b1 : tensor<128x64xf16>, tensor<64x128xf16>)
      outs(%z1 : tensor<128x128xf32>) -> tensor<128x128xf32>

  // batch_matmul, 3 x 33 x 72 x 40.
  %e2 = tensor.empty() : tensor<3x33x72xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<3x33x72xf32>) -> tensor<3x33x72xf32>
  %r2 = linalg.batch_matmul ins(%a2, %b2 : tensor<3x33x40xf16>, tensor<3x40x72xf16>)
      outs(%z2 : tensor<3x33x72xf32>) -> tensor<3x33x72xf32>

  // B transposed (x @ W^T): K innermost in both, 70 x 50 x 48.
  %e3 = tensor.empty() : tensor<70x50xf32>
  %z3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<70x50xf32>) -> tensor<70x50xf32>
  %r3 = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a3, %b3 : tensor<70x48xf16>, tensor<50x48xf16>) outs(%z3 : tensor<70x50xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<70x50xf32>

  // K = 27: A loaded element by element, one partial mma step.
  %e4 = tensor.empty() : tensor<20x24xf32>
  %z4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<20x24xf32>) -> tensor<20x24xf32>
  %r4 = linalg.matmul ins(%a4, %b4 : tensor<20x27xf16>, tensor<27x24xf16>)
      outs(%z4 : tensor<20x24xf32>) -> tensor<20x24xf32>

  // bf16.
  %e5 = tensor.empty() : tensor<40x48xf32>
  %z5 = linalg.fill ins(%zero : f32) outs(%e5 : tensor<40x48xf32>) -> tensor<40x48xf32>
  %r5 = linalg.matmul ins(%a5, %b5 : tensor<40x36xbf16>, tensor<36x48xbf16>)
      outs(%z5 : tensor<40x48xf32>) -> tensor<40x48xf32>

  // A transposed ([K, M], ldmatrix .trans for A), B as [N, K].
  %e6 = tensor.empty() : tensor<40x24xf32>
  %z6 = linalg.fill ins(%zero : f32) outs(%e6 : tensor<40x24xf32>) -> tensor<40x24xf32>
  %r6 = linalg.generic {indexing_maps = [#km, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a6, %b6 : tensor<32x40xf16>, tensor<24x32xf16>) outs(%z6 : tensor<40x24xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<40x24xf32>

  // C + A B with C an input; nothing a multiple of 8.
  %r7 = linalg.matmul ins(%a7, %b7 : tensor<17x33xf16>, tensor<33x19xf16>)
      outs(%c7 : tensor<17x19xf32>) -> tensor<17x19xf32>

  // 2 x 3 tiles, 3 steps of K.
  %e8 = tensor.empty() : tensor<200x260xf32>
  %z8 = linalg.fill ins(%zero : f32) outs(%e8 : tensor<200x260xf32>) -> tensor<200x260xf32>
  %r8 = linalg.matmul ins(%a8, %b8 : tensor<200x96xf16>, tensor<96x260xf16>)
      outs(%z8 : tensor<200x260xf32>) -> tensor<200x260xf32>

  // Two m dimensions (tokens of a [B, S, D] activation) by W^T.
  %e9 = tensor.empty() : tensor<2x17x24xf32>
  %z9 = linalg.fill ins(%zero : f32) outs(%e9 : tensor<2x17x24xf32>) -> tensor<2x17x24xf32>
  %r9 = linalg.generic {indexing_maps = [#tok, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a9, %b9 : tensor<2x17x40xf16>, tensor<24x40xf16>) outs(%z9 : tensor<2x17x24xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x17x24xf32>

  // The SIMT kernel: f32 operands, and f16 by bf16.
  %r10 = linalg.matmul ins(%a10, %b10 : tensor<33x40xf32>, tensor<40x70xf32>)
      outs(%z0 : tensor<33x70xf32>) -> tensor<33x70xf32>
  %r11 = linalg.matmul ins(%a0, %b11 : tensor<33x40xf16>, tensor<40x70xbf16>)
      outs(%z0 : tensor<33x70xf32>) -> tensor<33x70xf32>

  return %r0, %r1, %r2, %r3, %r4, %r5, %r6, %r7, %r8, %r9, %r10, %r11
      : tensor<33x70xf32>, tensor<128x128xf32>, tensor<3x33x72xf32>,
        tensor<70x50xf32>, tensor<20x24xf32>, tensor<40x48xf32>,
        tensor<40x24xf32>, tensor<17x19xf32>, tensor<200x260xf32>,
        tensor<2x17x24xf32>, tensor<33x70xf32>, tensor<33x70xf32>
}
