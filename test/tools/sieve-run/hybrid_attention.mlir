// sieve-run on sieve.hybrid_attention, with q = 0 so that each row outputs
// the mean of v[j] = j over its visible keys: a causal window of one key back
// plus the global key 0 (listed twice and beside unused slots -1 and 99).
// Row i sees {i-1, i} and 0: means 0, 0.5, 1, 5/3, 7/3, 3.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/npy.py save %t/q.npy "np.zeros((1, 1, 6, 4), np.float32)"
// RUN: %python %S/Inputs/npy.py save %t/v.npy "np.arange(6, dtype=np.float32).reshape(1, 1, 6, 1)"
// RUN: %python %S/Inputs/npy.py save %t/g.npy "np.array([[0, -1, 0, 99]], np.int32)"
// RUN: sieve-run %s --input %t/q.npy --input %t/q.npy --input %t/v.npy --input %t/g.npy --output-dir %t/out --print-summary | FileCheck %s
// RUN: %python %S/Inputs/npy.py show %t/out/out0.npy | FileCheck %s --check-prefix=VALUES
// CHECK: out0: f32[1x1x6x1] min=0 max=3 mean=1.41667 nan=0
// VALUES: float32 [1, 1, 6, 1] [0.0, 0.5, 1.0, 1.66666{{[0-9]*}}, 2.33333{{[0-9]*}}, 3.0]
func.func @hybrid(%q: tensor<1x1x6x4xf32>, %k: tensor<1x1x6x4xf32>, %v: tensor<1x1x6x1xf32>, %g: tensor<1x4xi32>) -> tensor<1x1x6x1xf32> {
  %0 = sieve.hybrid_attention %q, %k, %v, %g window(1, 0) {causal = true} : tensor<1x1x6x4xf32>, tensor<1x1x6x4xf32>, tensor<1x1x6x1xf32>, tensor<1x4xi32> -> tensor<1x1x6x1xf32>
  return %0 : tensor<1x1x6x1xf32>
}
