// sieve-run on sieve.gate: with zero weights and biases every score is
// sigmoid(0) = 0.5. A threshold of 0.3 selects every token; a capacity of
// 0.25 over 8 tokens selects k = 2, the ties going to positions 0 and 1.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/npy.py save %t/x.npy "np.ones((1, 8, 4), np.float32)"
// RUN: %python %S/Inputs/npy.py save %t/w1.npy "np.zeros((3, 4), np.float32)"
// RUN: %python %S/Inputs/npy.py save %t/b1.npy "np.zeros((3,), np.float32)"
// RUN: %python %S/Inputs/npy.py save %t/b2.npy "np.zeros((), np.float32)"
// RUN: sieve-run %s --input %t/x.npy --input %t/w1.npy --input %t/b1.npy --input %t/b1.npy --input %t/b2.npy --output-dir %t/out --print-summary | FileCheck %s
// RUN: %python %S/Inputs/npy.py show %t/out/out2.npy | FileCheck %s --check-prefix=TOPK
// CHECK: out0: f32[1x8] min=0.5 max=0.5 mean=0.5 nan=0
// CHECK: out1: i1[1x8] min=1 max=1 mean=1 nan=0
// CHECK: out2: i1[1x8] min=0 max=1 mean=0.25 nan=0
// TOPK: bool [1, 8] [True, True, False, False, False, False, False, False]
func.func @gate(%x: tensor<1x8x4xf32>, %w1: tensor<3x4xf32>, %b1: tensor<3xf32>, %w2: tensor<3xf32>, %b2: tensor<f32>) -> (tensor<1x8xf32>, tensor<1x8xi1>, tensor<1x8xi1>) {
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(gelu) threshold(0.3) : tensor<1x8x4xf32>, tensor<3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<f32> -> tensor<1x8xf32>, tensor<1x8xi1>
  %s2, %m2 = sieve.gate %x, %w1, %b1, %w2, %b2 activation(relu) capacity(0.25) : tensor<1x8x4xf32>, tensor<3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<f32> -> tensor<1x8xf32>, tensor<1x8xi1>
  return %s, %m, %m2 : tensor<1x8xf32>, tensor<1x8xi1>, tensor<1x8xi1>
}
