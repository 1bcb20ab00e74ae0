// sieve-run on sieve.attention with inputs whose answer is known: with q = 0
// every visible key gets the same weight, so row i (key position p) outputs
// the mean of the values v[j] = j over its visible keys.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/npy.py save %t/q.npy "np.zeros((1, 2, 4, 8), np.float32)"
// RUN: %python %S/Inputs/npy.py save %t/k.npy "np.ones((1, 1, 4, 8), np.float32)"
// RUN: %python %S/Inputs/npy.py save %t/v.npy "np.arange(4, dtype=np.float32).reshape(1, 1, 4, 1)"
// RUN: sieve-run %s --entry causal --input %t/q.npy --input %t/k.npy --input %t/v.npy --output-dir %t/out --print-summary | FileCheck %s --check-prefix=CAUSAL
// RUN: %python %S/Inputs/npy.py show %t/out/out0.npy | FileCheck %s --check-prefix=CAUSAL-VALUES

// Causal GQA (2 query heads, 1 key/value head): row i sees keys 0..i.
// CAUSAL: out0: f32[1x2x4x1] min=0 max=1.5 mean=0.75 nan=0 checksum=0x{{[0-9a-f]+}}
// CAUSAL-VALUES: float32 [1, 2, 4, 1] [0.0, 0.5, 1.0, 1.5, 0.0, 0.5, 1.0, 1.5]
func.func @causal(%q: tensor<1x2x4x8xf32>, %k: tensor<1x1x4x8xf32>, %v: tensor<1x1x4x1xf32>) -> tensor<1x2x4x1xf32> {
  %0 = sieve.attention %q, %k, %v {causal = true} : tensor<1x2x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x1xf32> -> tensor<1x2x4x1xf32>
  return %0 : tensor<1x2x4x1xf32>
}

// More queries than keys, bottom-right aligned: the first two rows sit at key
// positions -2 and -1 and see nothing, so they are exactly 0.
// RUN: %python %S/Inputs/npy.py save %t/q6.npy "np.zeros((1, 1, 6, 8), np.float16)"
// RUN: %python %S/Inputs/npy.py save %t/k6.npy "np.ones((1, 1, 4, 8), np.float16)"
// RUN: %python %S/Inputs/npy.py save %t/v6.npy "np.arange(4, dtype=np.float16).reshape(1, 1, 4, 1)"
// RUN: sieve-run %s --entry more_queries --input %t/q6.npy --input %t/k6.npy --input %t/v6.npy --output-dir %t/out6 --print-summary | FileCheck %s --check-prefix=EMPTY
// RUN: %python %S/Inputs/npy.py show %t/out6/out0.npy | FileCheck %s --check-prefix=EMPTY-VALUES
// EMPTY: out0: f16[1x1x6x1] min=0 max=1.5 mean=0.5 nan=0
// EMPTY-VALUES: float16 [1, 1, 6, 1] [0.0, 0.0, 0.0, 0.5, 1.0, 1.5]
func.func @more_queries(%q: tensor<1x1x6x8xf16>, %k: tensor<1x1x4x8xf16>, %v: tensor<1x1x4x1xf16>) -> tensor<1x1x6x1xf16> {
  %0 = sieve.attention %q, %k, %v {causal = true} : tensor<1x1x6x8xf16>, tensor<1x1x4x8xf16>, tensor<1x1x4x1xf16> -> tensor<1x1x6x1xf16>
  return %0 : tensor<1x1x6x1xf16>
}
