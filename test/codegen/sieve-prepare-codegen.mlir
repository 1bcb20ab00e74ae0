// RUN: sieve-opt %s -split-input-file -sieve-prepare-codegen | FileCheck %s

// Named ops become linalg.generic.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @generalize(
//  CHECK-SAME:     %[[A:.+]]: tensor<4x8xf32>, %[[B:.+]]: tensor<4x8xf32>)
//       CHECK:   %[[R:.+]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[ID]], #[[ID]], #[[ID]]]
//  CHECK-SAME:       ins(%[[A]], %[[B]] :
//       CHECK:     arith.addf
//   CHECK-NOT:   linalg.add
//       CHECK:   return %[[R]]
func.func @generalize(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %0 = linalg.add ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// A broadcast and an elementwise chain become one generic that reads the
// vector through the broadcast's map.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @broadcast_chain(
//  CHECK-SAME:     %[[X:.+]]: tensor<4x8xf32>, %[[W:.+]]: tensor<8xf32>)
//       CHECK:   %[[R:.+]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]]
//  CHECK-SAME:       ins(%[[X]], %[[W]] : tensor<4x8xf32>, tensor<8xf32>)
//       CHECK:     %[[M:.+]] = arith.mulf
//       CHECK:     %[[E:.+]] = math.exp %[[M]]
//       CHECK:     arith.addf %[[E]]
//   CHECK-NOT:   linalg.generic
//       CHECK:   return %[[R]]
func.func @broadcast_chain(%x: tensor<4x8xf32>, %w: tensor<8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %bw = linalg.broadcast ins(%w : tensor<8xf32>) outs(%e : tensor<4x8xf32>) dimensions = [0]
  %0 = linalg.mul ins(%x, %bw : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = linalg.exp ins(%0 : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = linalg.add ins(%1, %x : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}

// -----

// A transpose with two uses only moves data: each consumer reads the
// source through the transposed map; no transposed tensor remains.
// CHECK-DAG: #[[T:.+]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @transpose_two_uses(
//  CHECK-SAME:     %[[X:.+]]: tensor<4x8xf32>, %[[B:.+]]: tensor<8x4xf32>)
//       CHECK:   %[[S:.+]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[T]], #[[ID]], #[[ID]]]
//  CHECK-SAME:       ins(%[[X]], %[[B]] : tensor<4x8xf32>, tensor<8x4xf32>)
//       CHECK:     arith.addf
//       CHECK:   %[[P:.+]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[T]], #[[ID]], #[[ID]]]
//  CHECK-SAME:       ins(%[[X]], %[[B]] : tensor<4x8xf32>, tensor<8x4xf32>)
//       CHECK:     arith.mulf
//   CHECK-NOT:   linalg.generic
//       CHECK:   return %[[S]], %[[P]]
func.func @transpose_two_uses(%x: tensor<4x8xf32>, %b: tensor<8x4xf32>) -> (tensor<8x4xf32>, tensor<8x4xf32>) {
  %e = tensor.empty() : tensor<8x4xf32>
  %t = linalg.transpose ins(%x : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = [1, 0]
  %0 = linalg.add ins(%t, %b : tensor<8x4xf32>, tensor<8x4xf32>) outs(%e : tensor<8x4xf32>) -> tensor<8x4xf32>
  %1 = linalg.mul ins(%t, %b : tensor<8x4xf32>, tensor<8x4xf32>) outs(%e : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %0, %1 : tensor<8x4xf32>, tensor<8x4xf32>
}

// -----

// A producer that computes and has two uses is not fused: recomputing the
// exponential in both consumers would cost more than reading it.
// CHECK-LABEL: func.func @computing_producer_two_uses(
//       CHECK:   %[[EXP:.+]] = linalg.generic
//       CHECK:     math.exp
//       CHECK:   %[[S:.+]] = linalg.generic
//  CHECK-SAME:       ins(%[[EXP]], %{{.+}} :
//   CHECK-NOT:     math.exp
//       CHECK:     arith.addf
//       CHECK:   %[[P:.+]] = linalg.generic
//  CHECK-SAME:       ins(%[[EXP]], %{{.+}} :
//   CHECK-NOT:     math.exp
//       CHECK:     arith.mulf
//       CHECK:   return %[[S]], %[[P]]
func.func @computing_producer_two_uses(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %0 = linalg.exp ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = linalg.add ins(%0, %y : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = linalg.mul ins(%0, %y : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %1, %2 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Of a multi-result producer, only the used results matter: with one result
// returned as well, it stays separate.
// CHECK-LABEL: func.func @multi_result_producer(
//       CHECK:   %[[P:.+]]:2 = linalg.generic
//       CHECK:   %[[S:.+]] = linalg.generic
//  CHECK-SAME:       ins(%[[P]]#0, %{{.+}} :
//       CHECK:   return %[[S]], %[[P]]#1
func.func @multi_result_producer(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %0:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e, %e : tensor<4x8xf32>, tensor<4x8xf32>) {
  ^bb0(%in: f32, %o0: f32, %o1: f32):
    %a = math.exp %in : f32
    %b = math.log %in : f32
    linalg.yield %a, %b : f32, f32
  } -> (tensor<4x8xf32>, tensor<4x8xf32>)
  %1 = linalg.add ins(%0#0, %x : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %1, %0#1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Contractions stay contractions: a computing producer (exp) is not fused
// into the matmul, a transpose is (the operand's map permutes); the fill
// stays a linalg.fill.
// CHECK-DAG: #[[LHS:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[RHS_T:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @matmul_operands(
//  CHECK-SAME:     %[[A:.+]]: tensor<4x16xf32>, %[[B:.+]]: tensor<8x16xf32>)
//       CHECK:   %[[FILL:.+]] = linalg.fill
//       CHECK:   %[[EXP:.+]] = linalg.generic
//  CHECK-SAME:       ins(%[[A]] : tensor<4x16xf32>)
//       CHECK:     math.exp
//       CHECK:   %[[MM:.+]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[LHS]], #[[RHS_T]], #[[OUT]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel", "reduction"]
//  CHECK-SAME:       ins(%[[EXP]], %[[B]] : tensor<4x16xf32>, tensor<8x16xf32>)
//  CHECK-SAME:       outs(%[[FILL]] :
//   CHECK-NOT:     math.exp
//       CHECK:     arith.mulf
//       CHECK:     arith.addf
//       CHECK:   return %[[MM]]
func.func @matmul_operands(%a: tensor<4x16xf32>, %b: tensor<8x16xf32>) -> tensor<4x8xf32> {
  %ea = tensor.empty() : tensor<4x16xf32>
  %eb = tensor.empty() : tensor<16x8xf32>
  %ec = tensor.empty() : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %c = linalg.fill ins(%zero : f32) outs(%ec : tensor<4x8xf32>) -> tensor<4x8xf32>
  %ea2 = linalg.exp ins(%a : tensor<4x16xf32>) outs(%ea : tensor<4x16xf32>) -> tensor<4x16xf32>
  %bt = linalg.transpose ins(%b : tensor<8x16xf32>) outs(%eb : tensor<16x8xf32>) permutation = [1, 0]
  %m = linalg.matmul ins(%ea2, %bt : tensor<4x16xf32>, tensor<16x8xf32>) outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %m : tensor<4x8xf32>
}

// -----

// A broadcast is not fused into a contraction: the operand's map would lose
// a dimension and the op would no longer be the matmul the kernels take.
// CHECK-LABEL: func.func @matmul_broadcast_operand(
//       CHECK:   %[[BA:.+]] = linalg.generic
//  CHECK-SAME:       iterator_types = ["parallel", "parallel"]
//       CHECK:   linalg.generic
//  CHECK-SAME:       iterator_types = ["parallel", "parallel", "reduction"]
//  CHECK-SAME:       ins(%[[BA]], %{{.+}} : tensor<4x16xf32>, tensor<16x8xf32>)
func.func @matmul_broadcast_operand(%a: tensor<16xf32>, %b: tensor<16x8xf32>) -> tensor<4x8xf32> {
  %ea = tensor.empty() : tensor<4x16xf32>
  %ec = tensor.empty() : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %c = linalg.fill ins(%zero : f32) outs(%ec : tensor<4x8xf32>) -> tensor<4x8xf32>
  %ba = linalg.broadcast ins(%a : tensor<16xf32>) outs(%ea : tensor<4x16xf32>) dimensions = [0]
  %m = linalg.matmul ins(%ba, %b : tensor<4x16xf32>, tensor<16x8xf32>) outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %m : tensor<4x8xf32>
}

// -----

// A contraction does not fuse into its elementwise consumer (the producer
// reduces): the bias add stays a kernel of its own, with the bias
// broadcast folded into it.
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @matmul_bias(
//  CHECK-SAME:     %[[BIAS:[^:]+]]: tensor<8xf32>)
//       CHECK:   %[[MM:.+]] = linalg.generic
//  CHECK-SAME:       iterator_types = ["parallel", "parallel", "reduction"]
//       CHECK:   %[[R:.+]] = linalg.generic
//  CHECK-SAME:       iterator_types = ["parallel", "parallel"]
//  CHECK-SAME:       ins(%[[MM]], %[[BIAS]] : tensor<4x8xf32>, tensor<8xf32>)
//       CHECK:   return %[[R]]
func.func @matmul_bias(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>, %bias: tensor<8xf32>) -> tensor<4x8xf32> {
  %ec = tensor.empty() : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %c = linalg.fill ins(%zero : f32) outs(%ec : tensor<4x8xf32>) -> tensor<4x8xf32>
  %m = linalg.matmul ins(%a, %b : tensor<4x16xf32>, tensor<16x8xf32>) outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  %bb = linalg.broadcast ins(%bias : tensor<8xf32>) outs(%ec : tensor<4x8xf32>) dimensions = [0]
  %r = linalg.add ins(%m, %bb : tensor<4x8xf32>, tensor<4x8xf32>) outs(%ec : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// An elementwise producer with one use fuses into a reduction (the
// sum of squares of RMSNorm is one op).
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[RED:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @into_reduction(
//  CHECK-SAME:     %[[X:.+]]: tensor<4x8xf32>)
//       CHECK:   %[[INIT:.+]] = linalg.fill
//       CHECK:   %[[R:.+]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[ID]], #[[RED]]]
//  CHECK-SAME:       iterator_types = ["parallel", "reduction"]
//  CHECK-SAME:       ins(%[[X]] : tensor<4x8xf32>) outs(%[[INIT]] : tensor<4xf32>)
//       CHECK:   ^bb0(%[[IN:.+]]: f32, %[[ACC:.+]]: f32):
//       CHECK:     %[[SQ:.+]] = arith.mulf %[[IN]], %[[IN]]
//       CHECK:     arith.addf %[[SQ]], %[[ACC]]
//   CHECK-NOT:   linalg.generic
//       CHECK:   return %[[R]]
func.func @into_reduction(%x: tensor<4x8xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %er = tensor.empty() : tensor<4xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%er : tensor<4xf32>) -> tensor<4xf32>
  %sq = linalg.mul ins(%x, %x : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = linalg.reduce ins(%sq : tensor<4x8xf32>) outs(%init : tensor<4xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  return %r : tensor<4xf32>
}

// -----

// linalg.softmax is decomposed: a max reduction (from NaN, with maxnumf),
// exp(x - max) (kept: both the sum and the division read it), a sum
// reduction and the division.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[RED:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @softmax(
//  CHECK-SAME:     %[[X:.+]]: tensor<2x16xf32>)
//   CHECK-NOT:   linalg.softmax
//       CHECK:   %[[MAX:.+]] = linalg.generic
//  CHECK-SAME:       iterator_types = ["parallel", "reduction"]
//  CHECK-SAME:       ins(%[[X]] :
//       CHECK:     arith.maxnumf
//       CHECK:   %[[EXP:.+]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[ID]], #[[RED]], #[[ID]]]
//  CHECK-SAME:       ins(%[[X]], %[[MAX]] :
//       CHECK:     arith.subf
//       CHECK:     math.exp
//       CHECK:   %[[SUM:.+]] = linalg.generic
//  CHECK-SAME:       iterator_types = ["parallel", "reduction"]
//  CHECK-SAME:       ins(%[[EXP]] :
//       CHECK:     arith.addf
//       CHECK:   %[[R:.+]] = linalg.generic
//  CHECK-SAME:       ins(%[[EXP]], %[[SUM]] :
//       CHECK:     arith.divf
//       CHECK:   return %[[R]]
func.func @softmax(%x: tensor<2x16xf32>) -> tensor<2x16xf32> {
  %e = tensor.empty() : tensor<2x16xf32>
  %0 = linalg.softmax dimension(1) ins(%x : tensor<2x16xf32>) outs(%e : tensor<2x16xf32>) -> tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

// Static slices become generics that read the source with tensor.extract at
// offset + index (rotate-half of RoPE); both fuse into their consumer.
// CHECK-LABEL: func.func @rotate_half_slices(
//  CHECK-SAME:     %[[X:.+]]: tensor<4x16xf32>)
//   CHECK-DAG:   %[[C8:.+]] = arith.constant 8 : index
//   CHECK-NOT:   tensor.extract_slice
//       CHECK:   %[[R:.+]] = linalg.generic
//   CHECK-NOT:       ins(
//       CHECK:     %[[I0:.+]] = linalg.index 0
//       CHECK:     %[[I1:.+]] = linalg.index 1
//       CHECK:     %[[LO:.+]] = tensor.extract %[[X]][%[[I0]], %[[I1]]]
//       CHECK:     %[[J0:.+]] = linalg.index 0
//       CHECK:     %[[J1:.+]] = linalg.index 1
//       CHECK:     %[[COL:.+]] = arith.addi %[[J1]], %[[C8]]
//       CHECK:     %[[HI:.+]] = tensor.extract %[[X]][%[[J0]], %[[COL]]]
//       CHECK:     arith.subf %[[LO]], %[[HI]]
//   CHECK-NOT:   linalg.generic
//       CHECK:   return %[[R]]
func.func @rotate_half_slices(%x: tensor<4x16xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %lo = tensor.extract_slice %x[0, 0] [4, 8] [1, 1] : tensor<4x16xf32> to tensor<4x8xf32>
  %hi = tensor.extract_slice %x[0, 8] [4, 8] [1, 1] : tensor<4x16xf32> to tensor<4x8xf32>
  %0 = linalg.sub ins(%lo, %hi : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Strides multiply the index; a dropped unit dimension reads at its offset.
// CHECK-LABEL: func.func @strided_rank_reducing_slice(
//  CHECK-SAME:     %[[X:.+]]: tensor<4x16xf32>)
//   CHECK-DAG:   %[[C1:.+]] = arith.constant 1 : index
//   CHECK-DAG:   %[[C2:.+]] = arith.constant 2 : index
//       CHECK:   %[[R:.+]] = linalg.generic
//  CHECK-SAME:       iterator_types = ["parallel"]
//  CHECK-SAME:       outs(%{{.+}} : tensor<8xf32>)
//       CHECK:     %[[I:.+]] = linalg.index 0
//       CHECK:     %[[S:.+]] = arith.muli %[[I]], %[[C2]]
//       CHECK:     %[[COL:.+]] = arith.addi %[[S]], %[[C1]]
//       CHECK:     %[[V:.+]] = tensor.extract %[[X]][%[[C2]], %[[COL]]]
//       CHECK:     linalg.yield %[[V]]
//       CHECK:   return %[[R]]
func.func @strided_rank_reducing_slice(%x: tensor<4x16xf32>) -> tensor<8xf32> {
  %s = tensor.extract_slice %x[2, 1] [1, 8] [1, 2] : tensor<4x16xf32> to tensor<8xf32>
  return %s : tensor<8xf32>
}

// -----

// Dynamic sizes are taken from the slice's operands.
// CHECK-LABEL: func.func @dynamic_size_slice(
//  CHECK-SAME:     %[[X:.+]]: tensor<?x16xf32>)
//       CHECK:   %[[N:.+]] = tensor.dim %[[X]]
//       CHECK:   %[[E:.+]] = tensor.empty(%[[N]]) : tensor<?x8xf32>
//       CHECK:   linalg.generic
//  CHECK-SAME:       outs(%[[E]] : tensor<?x8xf32>)
//       CHECK:     tensor.extract %[[X]]
func.func @dynamic_size_slice(%x: tensor<?x16xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x16xf32>
  %s = tensor.extract_slice %x[0, 8] [%n, 8] [1, 1] : tensor<?x16xf32> to tensor<?x8xf32>
  return %s : tensor<?x8xf32>
}

// -----

// A dynamic offset cannot be written as a constant: the slice stays.
// CHECK-LABEL: func.func @dynamic_offset_slice(
//       CHECK:   tensor.extract_slice
//   CHECK-NOT:   linalg.generic
func.func @dynamic_offset_slice(%x: tensor<4x16xf32>, %o: index) -> tensor<4x8xf32> {
  %s = tensor.extract_slice %x[0, %o] [4, 8] [1, 1] : tensor<4x16xf32> to tensor<4x8xf32>
  return %s : tensor<4x8xf32>
}

// -----

// A generic on constants (a transposed weight) is folded at compile time.
// CHECK-LABEL: func.func @fold_transposed_constant(
//       CHECK:   %[[C:.+]] = arith.constant dense<{{\[}}[1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
//   CHECK-NOT:   linalg.
//       CHECK:   return %[[C]]
func.func @fold_transposed_constant() -> tensor<3x2xf32> {
  %c = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %t = linalg.transpose ins(%c : tensor<2x3xf32>) outs(%e : tensor<3x2xf32>) permutation = [1, 0]
  return %t : tensor<3x2xf32>
}
