// arith.maxnumf/minnumf (linalg.softmax's max reduction, clamps) become PTX
// max/min, not calls of libdevice's __nv_fmaxf/__nv_fminf, which the bundle
// does not link (ptxas: "Unresolved extern function '__nv_fmaxf'").
// RUN: rm -rf %t && sieve-compile %s -o %t --no-optimize
// RUN: FileCheck %s --input-file %t/kernels.ptx
// CHECK-NOT: __nv_
// CHECK-DAG: max.f32
// CHECK-DAG: max.f16
// CHECK-DAG: min.f16
// CHECK-DAG: max.bf16
// CHECK-NOT: __nv_

func.func @min_max(%x: tensor<8x128xf32>, %a: tensor<64xf16>, %b: tensor<64xf16>, %c: tensor<64xbf16>) -> (tensor<8x128xf32>, tensor<64xf16>, tensor<64xbf16>) {
  %e = tensor.empty() : tensor<8x128xf32>
  %s = linalg.softmax dimension(1) ins(%x : tensor<8x128xf32>) outs(%e : tensor<8x128xf32>) -> tensor<8x128xf32>
  %eh = tensor.empty() : tensor<64xf16>
  %clamped = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a, %b : tensor<64xf16>, tensor<64xf16>) outs(%eh : tensor<64xf16>) {
  ^bb0(%x0: f16, %y0: f16, %o: f16):
    %lo = arith.constant -1.0 : f16
    %m = arith.maxnumf %x0, %lo : f16
    %n = arith.minnumf %m, %y0 : f16
    linalg.yield %n : f16
  } -> tensor<64xf16>
  %eb = tensor.empty() : tensor<64xbf16>
  %relu = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%c : tensor<64xbf16>) outs(%eb : tensor<64xbf16>) {
  ^bb0(%x0: bf16, %o: bf16):
    %z = arith.constant 0.0 : bf16
    %m = arith.maxnumf %x0, %z : bf16
    linalg.yield %m : bf16
  } -> tensor<64xbf16>
  return %s, %clamped, %relu : tensor<8x128xf32>, tensor<64xf16>, tensor<64xbf16>
}
