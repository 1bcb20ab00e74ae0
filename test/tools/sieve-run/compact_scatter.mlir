// sieve-run on sieve.compact and sieve.scatter: rows 0, 2 and 3 of five are
// selected; doubling the packed rows and scattering them back over the input
// doubles exactly those rows.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/npy.py save %t/x.npy "np.arange(10, dtype=np.float16).reshape(1, 5, 2)"
// RUN: %python %S/Inputs/npy.py save %t/m.npy "np.array([[1, 0, 1, 1, 0]], bool)"
// RUN: sieve-run %s --input %t/x.npy --input %t/m.npy --output-dir %t/out --print-summary | FileCheck %s
// RUN: %python %S/Inputs/npy.py show %t/out/out0.npy | FileCheck %s --check-prefix=PACKED
// RUN: %python %S/Inputs/npy.py show %t/out/out1.npy | FileCheck %s --check-prefix=POSITIONS
// RUN: %python %S/Inputs/npy.py show %t/out/out2.npy | FileCheck %s --check-prefix=COUNT
// RUN: %python %S/Inputs/npy.py show %t/out/out3.npy | FileCheck %s --check-prefix=SCATTERED
// CHECK: out0: f16[1x5x2] min=0 max=7 mean=2.3 
// CHECK: out1: i32[1x5] min=-1 max=3 mean=0.6
// CHECK: out2: i32[1] min=3 max=3 mean=3
// CHECK: out3: f16[1x5x2]
// PACKED: float16 [1, 5, 2] [0.0, 1.0, 4.0, 5.0, 6.0, 7.0, 0.0, 0.0, 0.0, 0.0]
// POSITIONS: int32 [1, 5] [0, 2, 3, -1, -1]
// COUNT: int32 [1] [3]
// SCATTERED: float16 [1, 5, 2] [0.0, 2.0, 2.0, 3.0, 8.0, 10.0, 12.0, 14.0, 8.0, 9.0]
func.func @gated(%x: tensor<1x5x2xf16>, %m: tensor<1x5xi1>) -> (tensor<1x5x2xf16>, tensor<1x5xi32>, tensor<1xi32>, tensor<1x5x2xf16>) {
  %p, %pos, %c = sieve.compact %x, %m : tensor<1x5x2xf16>, tensor<1x5xi1> -> tensor<1x5x2xf16>, tensor<1x5xi32>, tensor<1xi32>
  %doubled = arith.addf %p, %p : tensor<1x5x2xf16>
  %y = sieve.scatter %doubled, %pos, %x : tensor<1x5x2xf16>, tensor<1x5xi32>, tensor<1x5x2xf16> -> tensor<1x5x2xf16>
  return %p, %pos, %c, %y : tensor<1x5x2xf16>, tensor<1x5xi32>, tensor<1xi32>, tensor<1x5x2xf16>
}
