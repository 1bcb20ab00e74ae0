// sieve-run on sieve.select_global: the 3 best of 3 1 4 1 5 9 2 6 are 9, 6
// and 5, at positions 5, 7 and 4, returned in ascending order.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/npy.py save %t/s.npy "np.array([[3, 1, 4, 1, 5, 9, 2, 6]], np.float32)"
// RUN: sieve-run %s --input %t/s.npy --output-dir %t/out --print-summary | FileCheck %s
// RUN: %python %S/Inputs/npy.py show %t/out/out0.npy | FileCheck %s --check-prefix=VALUES
// CHECK: out0: i32[1x3] min=4 max=7 mean=5.33333 nan=0
// VALUES: int32 [1, 3] [4, 5, 7]
func.func @select(%s: tensor<1x8xf32>) -> tensor<1x3xi32> {
  %0 = sieve.select_global %s count(3) : tensor<1x8xf32> -> tensor<1x3xi32>
  return %0 : tensor<1x3xi32>
}
