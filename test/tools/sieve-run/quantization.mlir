// sieve-run on sieve.quantize, sieve.dequantize and sieve.qmatmul. The row
// [1, -2, 3, 0.5] has scale 3/127 and quantizes to [42, -85, 127, 21]; int4
// weights come in and go out as int8 files.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/npy.py save %t/x.npy "np.array([[1, -2, 3, 0.5]], np.float32)"
// RUN: %python %S/Inputs/npy.py save %t/q4.npy "np.array([[-8, 7], [1, -1]], np.int8)"
// RUN: %python %S/Inputs/npy.py save %t/s4.npy "np.array([[0.5], [2.0]], np.float32)"
// RUN: %python %S/Inputs/npy.py save %t/b.npy "np.array([0.25, -0.25], np.float32)"
// RUN: sieve-run %s --input %t/x.npy --input %t/q4.npy --input %t/s4.npy --input %t/b.npy --output-dir %t/out --print-summary | FileCheck %s
// RUN: %python %S/Inputs/npy.py show %t/out/out0.npy | FileCheck %s --check-prefix=VALUES
// RUN: %python %S/Inputs/npy.py show %t/out/out3.npy | FileCheck %s --check-prefix=MATMUL
// CHECK: out0: i8[1x4] min=-85 max=127 mean=26.25
// CHECK: out1: f32[1x1] min=0.023622 max=0.023622 mean=0.023622
// CHECK: out2: f32[1x4] min=-2.00787 max=3 mean=0.620079
// CHECK: out3: f32[1x2] min=-2.25 max=3.25 mean=0.5
// CHECK: out4: i4[2x2] min=-8 max=7 mean=-0.25
// VALUES: int8 [1, 4] [42, -85, 127, 21]
// y = x . w + b with x = [1, 2], w rows [-4, 3.5] and [2, -2]: 3 + 0.25, -2 - 0.25.
// MATMUL: float32 [1, 2] [3.25, -2.25]
func.func @quantization(%x: tensor<1x4xf32>, %q4: tensor<2x2xi4>, %s4: tensor<2x1xf32>, %b: tensor<2xf32>) -> (tensor<1x4xi8>, tensor<1x1xf32>, tensor<1x4xf32>, tensor<1x2xf32>, tensor<2x2xi4>) {
  %q, %s = sieve.quantize %x bits(8) group_size(0) : tensor<1x4xf32> -> tensor<1x4xi8>, tensor<1x1xf32>
  %d = sieve.dequantize %q, %s group_size(0) : tensor<1x4xi8>, tensor<1x1xf32> -> tensor<1x4xf32>
  %in = arith.constant dense<[[1.0, 2.0]]> : tensor<1x2xf32>
  %y = sieve.qmatmul %in, %q4, %s4 bias(%b : tensor<2xf32>) group_size(0) : tensor<1x2xf32>, tensor<2x2xi4>, tensor<2x1xf32> -> tensor<1x2xf32>
  return %q, %s, %d, %y, %q4 : tensor<1x4xi8>, tensor<1x1xf32>, tensor<1x4xf32>, tensor<1x2xf32>, tensor<2x2xi4>
}
