// TOSA graphs run: what tosa-to-linalg leaves (tosa.const, tosa.reshape,
// tosa.slice, tosa.concat) is lowered too.
// RUN: sieve-run %s --print-summary | FileCheck %s
// [[1, 2], [3, 4]] -> [1, 2, 3, 4] -> [3, 4, 1, 2] -> * 2
// CHECK: out0: f32[1x4] min=2 max=8 mean=5 nan=0
func.func @tosa_data_movement() -> tensor<1x4xf32> {
  %c = "tosa.const"() <{values = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>}> : () -> tensor<2x2xf32>
  %two = "tosa.const"() <{values = dense<2.0> : tensor<1x4xf32>}> : () -> tensor<1x4xf32>
  %shape = tosa.const_shape {values = dense<[1, 4]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %flat = tosa.reshape %c, %shape : (tensor<2x2xf32>, !tosa.shape<2>) -> tensor<1x4xf32>
  %start = tosa.const_shape {values = dense<[0, 2]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %size = tosa.const_shape {values = dense<[1, 2]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %tail = tosa.slice %flat, %start, %size : (tensor<1x4xf32>, !tosa.shape<2>, !tosa.shape<2>) -> tensor<1x2xf32>
  %head_start = tosa.const_shape {values = dense<[0, 0]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %head = tosa.slice %flat, %head_start, %size : (tensor<1x4xf32>, !tosa.shape<2>, !tosa.shape<2>) -> tensor<1x2xf32>
  %swapped = tosa.concat %tail, %head {axis = 1 : i32} : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x4xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %r = tosa.mul %swapped, %two, %shift : (tensor<1x4xf32>, tensor<1x4xf32>, tensor<1xi8>) -> tensor<1x4xf32>
  return %r : tensor<1x4xf32>
}
