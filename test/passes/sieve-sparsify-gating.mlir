// RUN: sieve-opt %s -split-input-file --sieve-sparsify-gating -verify-diagnostics | FileCheck %s

// A branch cheaper than min-branch-flops stays dense.
// RUN: sieve-opt %s -split-input-file --sieve-sparsify-gating="min-branch-flops=1000" 2>&1 | FileCheck %s --check-prefix=MIN-FLOPS
// MIN-FLOPS: remark: sieve-sparsify-gating: the branch (6 ops) runs on the active tokens only: 1064 FLOPs per active token
// MIN-FLOPS: remark: sieve-sparsify-gating: left untouched: the branch costs 24 FLOPs per token, below min-branch-flops 1000

// The numbers: every rewritten graph computes what it computed before on
// random inputs, bit for bit.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/sparsify_gating.py --graphs %s --sieve-opt sieve-opt --sieve-run sieve-run --workdir %t | FileCheck %s --check-prefix=NUMERIC
// NUMERIC-NOT: FAIL
// NUMERIC: {{^[0-9]+}} cases, 0 failures
// RUN: rm -rf %t.whole && mkdir -p %t.whole
// RUN: %python %S/Inputs/sparsify_gating.py --graphs %s --sieve-opt sieve-opt --sieve-run sieve-run --workdir %t.whole --pass-options slice-active-rows=false | FileCheck %s --check-prefix=NUMERIC

// slice-active-rows=false: the branch runs on the whole packed tensor (the
// kernels of sieve-compile skip the rows past count themselves).
// RUN: sieve-opt %s -split-input-file --sieve-sparsify-gating=slice-active-rows=false 2>/dev/null | FileCheck %s --check-prefix=WHOLE

#tok = affine_map<(b, s, n, k) -> (b, s, k)>
#w = affine_map<(b, s, n, k) -> (n, k)>
#out = affine_map<(b, s, n, k) -> (b, s, n)>

// An MLP (x @ w1^T, relu, @ w2^T) plus the residual where the mask is set,
// x elsewhere: compact x, run the whole branch on the first count[b] rows of
// each batch row, scatter over x.
// CHECK-LABEL: func.func @mlp(
//  CHECK-SAME:     %[[X:[^:]+]]: tensor<2x16x8xf32>, %[[MASK:[^:]+]]: tensor<2x16xi1>, %[[W1:[^:]+]]: tensor<32x8xf32>, %[[W2:[^:]+]]: tensor<8x32xf32>
//       CHECK:   %[[PACKED:.+]], %[[POS:.+]], %[[COUNT:.+]] = sieve.compact %[[X]], %[[MASK]]
//       CHECK:   %[[ZEROS:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x16x8xf32>)
//       CHECK:   %[[B:.+]] = tensor.dim %[[MASK]], %{{.+}} : tensor<2x16xi1>
//       CHECK:   %[[R:.+]] = scf.for %[[BI:.+]] = %{{.+}} to %[[B]] step %{{.+}} iter_args(%[[ACC:.+]] = %[[ZEROS]])
//       CHECK:     %[[C:.+]] = tensor.extract %[[COUNT]][%[[BI]]] : tensor<2xi32>
//       CHECK:     %[[N:.+]] = arith.index_cast %[[C]] : i32 to index
//       CHECK:     %[[ROWS:.+]] = tensor.extract_slice %[[PACKED]][%[[BI]], 0, 0] [1, %[[N]], 8] [1, 1, 1] : tensor<2x16x8xf32> to tensor<1x?x8xf32>
//       CHECK:     %[[H:.+]] = linalg.generic {{.+}} ins(%[[ROWS]], %[[W1]] : tensor<1x?x8xf32>, tensor<32x8xf32>) outs(%{{.+}} : tensor<1x?x32xf32>)
//       CHECK:     %[[RELU:.+]] = arith.maximumf %[[H]], %{{.+}} : tensor<1x?x32xf32>
//       CHECK:     %[[O:.+]] = linalg.generic {{.+}} ins(%[[RELU]], %[[W2]] : tensor<1x?x32xf32>, tensor<8x32xf32>) outs(%{{.+}} : tensor<1x?x8xf32>)
//       CHECK:     %[[T:.+]] = arith.addf %[[ROWS]], %[[O]] : tensor<1x?x8xf32>
//       CHECK:     %[[NEXT:.+]] = tensor.insert_slice %[[T]] into %[[ACC]][%[[BI]], 0, 0] [1, %[[N]], 8] [1, 1, 1]
//       CHECK:     scf.yield %[[NEXT]]
//       CHECK:   %[[Y:.+]] = sieve.scatter %[[R]], %[[POS]], %[[X]]
//   CHECK-NOT:   arith.select
//   CHECK-NOT:   tensor<2x16x32xf32>
//       CHECK:   return %[[Y]]
// WHOLE-LABEL: func.func @mlp(
//  WHOLE-SAME:     %[[X:[^:]+]]: tensor<2x16x8xf32>, %[[MASK:[^:]+]]: tensor<2x16xi1>, %[[W1:[^:]+]]: tensor<32x8xf32>, %[[W2:[^:]+]]: tensor<8x32xf32>
//       WHOLE:   %[[PACKED:.+]], %[[POS:.+]], %[[COUNT:.+]] = sieve.compact %[[X]], %[[MASK]]
//   WHOLE-NOT:   scf.for
//   WHOLE-NOT:   tensor.extract_slice
//       WHOLE:   %[[H:.+]] = linalg.generic {{.+}} ins(%[[PACKED]], %[[W1]] : tensor<2x16x8xf32>, tensor<32x8xf32>) outs(%{{.+}} : tensor<2x16x32xf32>)
//       WHOLE:   %[[RELU:.+]] = arith.maximumf %[[H]], %{{.+}} : tensor<2x16x32xf32>
//       WHOLE:   %[[O:.+]] = linalg.generic {{.+}} ins(%[[RELU]], %[[W2]] : tensor<2x16x32xf32>, tensor<8x32xf32>) outs(%{{.+}} : tensor<2x16x8xf32>)
//       WHOLE:   %[[T:.+]] = arith.addf %[[PACKED]], %[[O]] : tensor<2x16x8xf32>
//       WHOLE:   %[[Y:.+]] = sieve.scatter %[[T]], %[[POS]], %[[X]]
//       WHOLE:   return %[[Y]]
func.func @mlp(%x: tensor<2x16x8xf32>, %mask: tensor<2x16xi1>, %w1: tensor<32x8xf32>, %w2: tensor<8x32xf32>) -> tensor<2x16x8xf32> {
  %cst = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<2x16x32xf32>
  %z1 = linalg.fill ins(%cst : f32) outs(%e1 : tensor<2x16x32xf32>) -> tensor<2x16x32xf32>
  %h = linalg.generic {indexing_maps = [#tok, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w1 : tensor<2x16x8xf32>, tensor<32x8xf32>) outs(%z1 : tensor<2x16x32xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x16x32xf32>
  %r = arith.maximumf %h, %z1 : tensor<2x16x32xf32>
  %e2 = tensor.empty() : tensor<2x16x8xf32>
  %z2 = linalg.fill ins(%cst : f32) outs(%e2 : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %o = linalg.generic {indexing_maps = [#tok, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%r, %w2 : tensor<2x16x32xf32>, tensor<8x32xf32>) outs(%z2 : tensor<2x16x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x16x8xf32>
  %t = arith.addf %x, %o : tensor<2x16x8xf32>
  %em = tensor.empty() : tensor<2x16x8xi1>
  %mb = linalg.broadcast ins(%mask : tensor<2x16xi1>) outs(%em : tensor<2x16x8xi1>) dimensions = [2]
  // expected-remark @+1 {{sieve-sparsify-gating: the branch (6 ops) runs on the active tokens only: 1064 FLOPs per active token}}
  %y = arith.select %mb, %t, %x : tensor<2x16x8xi1>, tensor<2x16x8xf32>
  return %y : tensor<2x16x8xf32>
}

// -----

#id3 = affine_map<(b, s, d) -> (b, s, d)>
#bs3 = affine_map<(b, s, d) -> (b, s)>
#d3 = affine_map<(b, s, d) -> (d)>

// The select as a linalg.generic reading the mask through (b, s). The branch
// reads three token inputs (x, y and a per-token [B, S] scale): each is
// compacted with the mask; the [B, S] one through [B, S, 1].
// CHECK-LABEL: func.func @generic_select(
//  CHECK-SAME:     %[[X:[^:]+]]: tensor<2x16x8xf32>, %[[Y:[^:]+]]: tensor<2x16x8xf32>, %[[R:[^:]+]]: tensor<2x16xf32>, %[[MASK:[^:]+]]: tensor<2x16xi1>
//   CHECK-DAG:   %[[PX:.+]], %[[POS:.+]], %[[COUNT:.+]] = sieve.compact %[[X]], %[[MASK]]
//   CHECK-DAG:   %[[R3:.+]] = tensor.expand_shape %[[R]] {{\[}}[0], [1, 2]] output_shape [2, 16, 1]
//   CHECK-DAG:   %[[PR:.+]], %{{.+}}, %{{.+}} = sieve.compact %[[R3]], %[[MASK]]
//   CHECK-DAG:   %[[PY:.+]], %{{.+}}, %{{.+}} = sieve.compact %[[Y]], %[[MASK]]
//       CHECK:   scf.for
//   CHECK-DAG:     tensor.extract_slice %[[PX]]
//   CHECK-DAG:     %[[RS:.+]] = tensor.extract_slice %[[PR]]{{.+}} to tensor<1x?x1xf32>
//   CHECK-DAG:     tensor.collapse_shape %[[RS]] {{\[}}[0], [1, 2]] : tensor<1x?x1xf32> into tensor<1x?xf32>
//   CHECK-DAG:     tensor.extract_slice %[[PY]]
//       CHECK:     linalg.generic {{.+}} outs(%{{.+}} : tensor<1x?x8xf32>)
//       CHECK:     arith.addf {{.+}} : tensor<1x?x8xf32>
//       CHECK:   sieve.scatter %{{.+}}, %[[POS]], %[[X]]
func.func @generic_select(%x: tensor<2x16x8xf32>, %y: tensor<2x16x8xf32>, %r: tensor<2x16xf32>, %mask: tensor<2x16xi1>, %g: tensor<8xf32>) -> tensor<2x16x8xf32> {
  %e = tensor.empty() : tensor<2x16x8xf32>
  %n = linalg.generic {indexing_maps = [#id3, #bs3, #d3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %r, %g : tensor<2x16x8xf32>, tensor<2x16xf32>, tensor<8xf32>) outs(%e : tensor<2x16x8xf32>) {
  ^bb0(%a: f32, %s: f32, %gg: f32, %o: f32):
    %m = arith.mulf %a, %s : f32
    %m2 = arith.mulf %m, %gg : f32
    linalg.yield %m2 : f32
  } -> tensor<2x16x8xf32>
  %t = arith.addf %n, %y : tensor<2x16x8xf32>
  // expected-remark @+1 {{sieve-sparsify-gating: the branch (2 ops) runs on the active tokens only: 24 FLOPs per active token}}
  %sel = linalg.generic {indexing_maps = [#bs3, #id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%mask, %t, %x : tensor<2x16xi1>, tensor<2x16x8xf32>, tensor<2x16x8xf32>) outs(%e : tensor<2x16x8xf32>) {
  ^bb0(%m: i1, %a: f32, %b: f32, %o: f32):
    %v = arith.select %m, %a, %b : f32
    linalg.yield %v : f32
  } -> tensor<2x16x8xf32>
  return %sel : tensor<2x16x8xf32>
}

// -----

// Tokens as rows: [B, S] collapsed into rows for linalg.matmul and expanded
// back, dynamic B. (With B and S both dynamic, sieve-run cannot run the
// original graph: MLIR 22 crashes in expand-strided-metadata on a dynamic
// collapse_shape followed by expand_shape.) The sizes read off the branch with tensor.dim are
// recomputed from x, so nothing of the dense branch is left.
// CHECK-LABEL: func.func @rows(
//  CHECK-SAME:     %[[X:[^:]+]]: tensor<?x16x8xf32>, %[[MASK:[^:]+]]: tensor<?x16xi1>, %[[W:[^:]+]]: tensor<8x8xf32>
//       CHECK:   %[[PACKED:.+]], %[[POS:.+]], %[[COUNT:.+]] = sieve.compact %[[X]], %[[MASK]]
//       CHECK:   scf.for
//       CHECK:     %[[N:.+]] = arith.index_cast
//       CHECK:     %[[ROWS:.+]] = tensor.extract_slice %[[PACKED]]{{.+}} to tensor<1x?x8xf32>
//       CHECK:     %[[FLAT:.+]] = tensor.collapse_shape %[[ROWS]] {{\[}}[0, 1], [2]] : tensor<1x?x8xf32> into tensor<?x8xf32>
//       CHECK:     %[[INIT:.+]] = tensor.empty(%[[N]]) : tensor<?x8xf32>
//       CHECK:     %[[ZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[INIT]] : tensor<?x8xf32>)
//       CHECK:     %[[MM:.+]] = linalg.matmul ins(%[[FLAT]], %[[W]] : tensor<?x8xf32>, tensor<8x8xf32>) outs(%[[ZERO]] : tensor<?x8xf32>)
//       CHECK:     tensor.expand_shape %[[MM]] {{\[}}[0, 1], [2]] output_shape [1, %[[N]], 8] : tensor<?x8xf32> into tensor<1x?x8xf32>
//       CHECK:   sieve.scatter
//   CHECK-NOT:   linalg.matmul
func.func @rows(%x: tensor<?x16x8xf32>, %mask: tensor<?x16xi1>, %w: tensor<8x8xf32>) -> tensor<?x16x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x16x8xf32>
  %rows = tensor.collapse_shape %x [[0, 1], [2]] : tensor<?x16x8xf32> into tensor<?x8xf32>
  %n = tensor.dim %rows, %c0 : tensor<?x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<?x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
  %mm = linalg.matmul ins(%rows, %w : tensor<?x8xf32>, tensor<8x8xf32>) outs(%acc : tensor<?x8xf32>) -> tensor<?x8xf32>
  %back = tensor.expand_shape %mm [[0, 1], [2]] output_shape [%b, 16, 8] : tensor<?x8xf32> into tensor<?x16x8xf32>
  %em = tensor.empty(%b) : tensor<?x16x8xi1>
  %mb = linalg.broadcast ins(%mask : tensor<?x16xi1>) outs(%em : tensor<?x16x8xi1>) dimensions = [2]
  // expected-remark @+1 {{sieve-sparsify-gating: the branch (4 ops) runs on the active tokens only: 128 FLOPs per active token}}
  %y = arith.select %mb, %back, %x : tensor<?x16x8xi1>, tensor<?x16x8xf32>
  return %y : tensor<?x16x8xf32>
}

// -----

// linalg.batch_matmul against per-batch weights: each batch row uses its
// slice of them. The zero constant init is recreated at the new size; the
// cheap path is any value of the result type.
// CHECK-LABEL: func.func @batch_weights(
//  CHECK-SAME:     %[[W:[^:]+]]: tensor<2x8x4xf32>, %[[CHEAP:[^:]+]]: tensor<2x16x4xf32>
//       CHECK:   scf.for %[[BI:[^ ]+]] =
//       CHECK:     %[[WB:.+]] = tensor.extract_slice %[[W]][%[[BI]], 0, 0] [1, 8, 4] [1, 1, 1] : tensor<2x8x4xf32> to tensor<1x8x4xf32>
//       CHECK:     %[[Z:.+]] = linalg.fill {{.+}} -> tensor<1x?x4xf32>
//       CHECK:     linalg.batch_matmul ins(%{{.+}}, %[[WB]] : tensor<1x?x8xf32>, tensor<1x8x4xf32>) outs(%[[Z]] : tensor<1x?x4xf32>)
//       CHECK:   sieve.scatter %{{.+}}, %{{.+}}, %[[CHEAP]]
func.func @batch_weights(%x: tensor<2x16x8xf32>, %mask: tensor<2x16xi1>, %w: tensor<2x8x4xf32>, %cheap: tensor<2x16x4xf32>) -> tensor<2x16x4xf32> {
  %zero = arith.constant dense<0.0> : tensor<2x16x4xf32>
  %mm = linalg.batch_matmul ins(%x, %w : tensor<2x16x8xf32>, tensor<2x8x4xf32>) outs(%zero : tensor<2x16x4xf32>) -> tensor<2x16x4xf32>
  %em = tensor.empty() : tensor<2x16x4xi1>
  %mb = linalg.broadcast ins(%mask : tensor<2x16xi1>) outs(%em : tensor<2x16x4xi1>) dimensions = [2]
  // expected-remark @+1 {{sieve-sparsify-gating: the branch (1 ops) runs on the active tokens only: 64 FLOPs per active token}}
  %y = arith.select %mb, %mm, %cheap : tensor<2x16x4xi1>, tensor<2x16x4xf32>
  return %y : tensor<2x16x4xf32>
}

// -----

// A quantized projection, a norm computed outside the select that the cheap
// path also uses (so it stays dense and is the branch's token input), and a
// mask broadcast by a linalg.generic.
#id = affine_map<(b, s, d) -> (b, s, d)>
#bs = affine_map<(b, s, d) -> (b, s)>
// CHECK-LABEL: func.func @qmatmul_shared_input(
//       CHECK:   %[[NORM:.+]] = arith.mulf
//       CHECK:   %[[PACKED:.+]], %[[POS:.+]], %{{.+}} = sieve.compact %[[NORM]]
//       CHECK:   scf.for
//       CHECK:     %[[ROWS:.+]] = tensor.extract_slice %[[PACKED]]
//       CHECK:     sieve.qmatmul %[[ROWS]], {{.+}} : tensor<1x?x64xf32>, tensor<64x64xi8>, tensor<64x1xf32> -> tensor<1x?x64xf32>
//       CHECK:   sieve.scatter %{{.+}}, %[[POS]], %[[NORM]]
func.func @qmatmul_shared_input(%x: tensor<1x32x64xf32>, %mask: tensor<1x32xi1>, %q: tensor<64x64xi8>, %s: tensor<64x1xf32>) -> tensor<1x32x64xf32> {
  %norm = arith.mulf %x, %x : tensor<1x32x64xf32>
  %p = sieve.qmatmul %norm, %q, %s group_size(0) : tensor<1x32x64xf32>, tensor<64x64xi8>, tensor<64x1xf32> -> tensor<1x32x64xf32>
  %em = tensor.empty() : tensor<1x32x64xi1>
  %mb = linalg.generic {indexing_maps = [#bs, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%mask : tensor<1x32xi1>) outs(%em : tensor<1x32x64xi1>) {
  ^bb0(%m: i1, %o: i1):
    linalg.yield %m : i1
  } -> tensor<1x32x64xi1>
  // expected-remark @+1 {{sieve-sparsify-gating: the branch (1 ops) runs on the active tokens only: 8192 FLOPs per active token}}
  %y = arith.select %mb, %p, %norm : tensor<1x32x64xi1>, tensor<1x32x64xf32>
  return %y : tensor<1x32x64xf32>
}

// -----

// Left untouched, with a remark: the branch value is used elsewhere too.
// CHECK-LABEL: func.func @branch_used_twice(
//       CHECK:   arith.select
//   CHECK-NOT:   sieve.compact
func.func @branch_used_twice(%x: tensor<1x8x4xf32>, %mask: tensor<1x8xi1>) -> (tensor<1x8x4xf32>, tensor<1x8x4xf32>) {
  %t = arith.mulf %x, %x : tensor<1x8x4xf32>
  %em = tensor.empty() : tensor<1x8x4xi1>
  %mb = linalg.broadcast ins(%mask : tensor<1x8xi1>) outs(%em : tensor<1x8x4xi1>) dimensions = [2]
  // expected-remark @+1 {{sieve-sparsify-gating: left untouched: the branch value is computed by 'arith.mulf', which has other uses}}
  %y = arith.select %mb, %t, %x : tensor<1x8x4xi1>, tensor<1x8x4xf32>
  return %y, %t : tensor<1x8x4xf32>, tensor<1x8x4xf32>
}

// -----

// A branch op may read a whole batch row of a value computed outside (like
// attention reads all keys): output row s is init[b, s] + sum_t x[b, t], so
// the init is the token input and x is sliced per batch row, not compacted.
#seq_in = affine_map<(b, s, t, d) -> (b, t, d)>
#seq_out = affine_map<(b, s, t, d) -> (b, s, d)>
// CHECK-LABEL: func.func @reads_batch_row(
//  CHECK-SAME:     %[[X:[^:]+]]: tensor<1x8x4xf32>, %[[MASK:[^:]+]]: tensor<1x8xi1>, %[[INIT:[^:]+]]: tensor<1x8x4xf32>
//       CHECK:   %[[PACKED:.+]], %{{.+}}, %{{.+}} = sieve.compact %[[INIT]], %[[MASK]]
//       CHECK:   scf.for %[[BI:[^ ]+]] =
//   CHECK-DAG:     %[[ROWS:.+]] = tensor.extract_slice %[[PACKED]][%[[BI]], 0, 0]
//   CHECK-DAG:     %[[XB:.+]] = tensor.extract_slice %[[X]][%[[BI]], 0, 0] [1, 8, 4] [1, 1, 1]
//       CHECK:     linalg.generic {{.+}} ins(%[[XB]] : tensor<1x8x4xf32>) outs(%[[ROWS]] : tensor<1x?x4xf32>)
//       CHECK:   sieve.scatter %{{.+}}, %{{.+}}, %[[X]]
func.func @reads_batch_row(%x: tensor<1x8x4xf32>, %mask: tensor<1x8xi1>, %init: tensor<1x8x4xf32>) -> tensor<1x8x4xf32> {
  %t = linalg.generic {indexing_maps = [#seq_in, #seq_out], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%x : tensor<1x8x4xf32>) outs(%init : tensor<1x8x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<1x8x4xf32>
  %em = tensor.empty() : tensor<1x8x4xi1>
  %mb = linalg.broadcast ins(%mask : tensor<1x8xi1>) outs(%em : tensor<1x8x4xi1>) dimensions = [2]
  // expected-remark @+1 {{sieve-sparsify-gating: the branch (1 ops) runs on the active tokens only: 32 FLOPs per active token}}
  %y = arith.select %mb, %t, %x : tensor<1x8x4xi1>, tensor<1x8x4xf32>
  return %y : tensor<1x8x4xf32>
}

// -----

// Left untouched: the branch moves tokens (a transpose reads x[b, d, s]).
#transposed = affine_map<(b, s, d) -> (b, d, s)>
#ident = affine_map<(b, s, d) -> (b, s, d)>
// CHECK-LABEL: func.func @mixes_tokens(
//       CHECK:   arith.select
func.func @mixes_tokens(%x: tensor<1x8x8xf32>, %mask: tensor<1x8xi1>) -> tensor<1x8x8xf32> {
  %e = tensor.empty() : tensor<1x8x8xf32>
  %t = linalg.generic {indexing_maps = [#transposed, #ident], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x8x8xf32>) outs(%e : tensor<1x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x8x8xf32>
  %em = tensor.empty() : tensor<1x8x8xi1>
  %mb = linalg.broadcast ins(%mask : tensor<1x8xi1>) outs(%em : tensor<1x8x8xi1>) dimensions = [2]
  // expected-remark @+1 {{sieve-sparsify-gating: left untouched: the branch value is computed by 'linalg.generic', which is not token-wise: operand #0 mixes token positions}}
  %y = arith.select %mb, %t, %x : tensor<1x8x8xi1>, tensor<1x8x8xf32>
  return %y : tensor<1x8x8xf32>
}

// -----

// Left untouched: the branch reads the token position (as RoPE would).
#id4 = affine_map<(b, s, d) -> (b, s, d)>
// CHECK-LABEL: func.func @reads_position(
//       CHECK:   arith.select
func.func @reads_position(%x: tensor<1x8x4xf32>, %mask: tensor<1x8xi1>) -> tensor<1x8x4xf32> {
  %e = tensor.empty() : tensor<1x8x4xf32>
  %t = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x8x4xf32>) outs(%e : tensor<1x8x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %i = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i32
    %f = arith.sitofp %ii : i32 to f32
    %s = arith.addf %a, %f : f32
    linalg.yield %s : f32
  } -> tensor<1x8x4xf32>
  %em = tensor.empty() : tensor<1x8x4xi1>
  %mb = linalg.broadcast ins(%mask : tensor<1x8xi1>) outs(%em : tensor<1x8x4xi1>) dimensions = [2]
  // expected-remark @+1 {{sieve-sparsify-gating: left untouched: the branch value is computed by 'linalg.generic', which is not token-wise: its body reads the index of a token loop}}
  %y = arith.select %mb, %t, %x : tensor<1x8x4xi1>, tensor<1x8x4xf32>
  return %y : tensor<1x8x4xf32>
}

// -----

// Left untouched: ops the analysis does not know (a cast to an unranked
// tensor and back), and a branch that is an argument.
// CHECK-LABEL: func.func @unknown_ops(
//       CHECK:   arith.select
//       CHECK:   arith.select
func.func @unknown_ops(%x: tensor<1x8x4xf32>, %mask: tensor<1x8xi1>, %z: tensor<1x8x4xf32>) -> (tensor<1x8x4xf32>, tensor<1x8x4xf32>) {
  %u = tensor.cast %x : tensor<1x8x4xf32> to tensor<*xf32>
  %t = tensor.cast %u : tensor<*xf32> to tensor<1x8x4xf32>
  %em = tensor.empty() : tensor<1x8x4xi1>
  %mb = linalg.broadcast ins(%mask : tensor<1x8xi1>) outs(%em : tensor<1x8x4xi1>) dimensions = [2]
  // expected-remark @+1 {{sieve-sparsify-gating: left untouched: the branch value is computed by 'tensor.cast', which is not token-wise: it has unranked operands}}
  %y = arith.select %mb, %t, %x : tensor<1x8x4xi1>, tensor<1x8x4xf32>
  // expected-remark @+1 {{sieve-sparsify-gating: left untouched: the branch value is not computed next to the select}}
  %y2 = arith.select %mb, %z, %x : tensor<1x8x4xi1>, tensor<1x8x4xf32>
  return %y, %y2 : tensor<1x8x4xf32>, tensor<1x8x4xf32>
}

// -----

// Not a gated select at all (no remark): a full i1 condition, a mask
// broadcast along the wrong dimension, unranked operands.
// CHECK-LABEL: func.func @not_gated(
//   CHECK-NOT:   sieve.compact
func.func @not_gated(%x: tensor<1x8x4xf32>, %c: tensor<1x8x4xi1>, %m: tensor<1x4xi1>, %u: tensor<*xf32>, %uc: tensor<*xi1>) -> (tensor<1x8x4xf32>, tensor<1x8x4xf32>, tensor<*xf32>) {
  %t = arith.mulf %x, %x : tensor<1x8x4xf32>
  %y = arith.select %c, %t, %x : tensor<1x8x4xi1>, tensor<1x8x4xf32>
  %em = tensor.empty() : tensor<1x8x4xi1>
  %mb = linalg.broadcast ins(%m : tensor<1x4xi1>) outs(%em : tensor<1x8x4xi1>) dimensions = [1]
  %t2 = arith.mulf %x, %x : tensor<1x8x4xf32>
  %y2 = arith.select %mb, %t2, %x : tensor<1x8x4xi1>, tensor<1x8x4xf32>
  %u2 = arith.mulf %u, %u : tensor<*xf32>
  %y3 = arith.select %uc, %u2, %u : tensor<*xi1>, tensor<*xf32>
  return %y, %y2, %y3 : tensor<1x8x4xf32>, tensor<1x8x4xf32>, tensor<*xf32>
}

// -----

// A multi-result linalg.generic: in the branch when the branch uses all its
// results, left dense (with what it feeds) when a result is used elsewhere.
#idm = affine_map<(b, s, d) -> (b, s, d)>
// CHECK-LABEL: func.func @multi_result(
//       CHECK:   sieve.compact
//       CHECK:   scf.for
//       CHECK:     linalg.generic {{.+}} outs(%{{.+}}, %{{.+}} : tensor<1x?x8xf32>, tensor<1x?x8xf32>)
//       CHECK:   sieve.scatter
//       CHECK:   %[[R:.+]]:2 = linalg.generic
//       CHECK:   arith.select %{{.+}}, %[[R]]#1
func.func @multi_result(%x: tensor<1x4x8xf32>, %m: tensor<1x4xi1>) -> (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>) {
  %e = tensor.empty() : tensor<1x4x8xf32>
  %em = tensor.empty() : tensor<1x4x8xi1>
  %mb = linalg.broadcast ins(%m : tensor<1x4xi1>) outs(%em : tensor<1x4x8xi1>) dimensions = [2]
  %r:2 = linalg.generic {indexing_maps = [#idm, #idm, #idm], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x8xf32>) outs(%e, %e : tensor<1x4x8xf32>, tensor<1x4x8xf32>) {
  ^bb0(%a: f32, %o1: f32, %o2: f32):
    %n = arith.negf %a : f32
    linalg.yield %a, %n : f32, f32
  } -> (tensor<1x4x8xf32>, tensor<1x4x8xf32>)
  %t = arith.addf %r#0, %r#1 : tensor<1x4x8xf32>
  // expected-remark @+1 {{sieve-sparsify-gating: the branch (2 ops) runs on the active tokens only: 16 FLOPs per active token}}
  %y = arith.select %mb, %t, %x : tensor<1x4x8xi1>, tensor<1x4x8xf32>
  %s:2 = linalg.generic {indexing_maps = [#idm, #idm, #idm], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x8xf32>) outs(%e, %e : tensor<1x4x8xf32>, tensor<1x4x8xf32>) {
  ^bb0(%a: f32, %o1: f32, %o2: f32):
    %n = arith.negf %a : f32
    linalg.yield %a, %n : f32, f32
  } -> (tensor<1x4x8xf32>, tensor<1x4x8xf32>)
  // expected-remark @+1 {{sieve-sparsify-gating: left untouched: the branch value is computed by 'linalg.generic', which has other uses}}
  %z = arith.select %mb, %s#1, %x : tensor<1x4x8xi1>, tensor<1x4x8xf32>
  return %y, %z, %s#0 : tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>
}
