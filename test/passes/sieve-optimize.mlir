// The pipeline: its passes in order, with the options forwarded under their
// own names.
// RUN: sieve-opt %s --sieve-optimize --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=DEFAULT
// DEFAULT:      sieve-fuse-attention
// DEFAULT-NEXT: sieve-sparsify-attention{global-source=sinks globals=16 min-seq-len=1024 window-left=-1 window-right=-1}
// DEFAULT-NEXT: sieve-sparsify-gating{min-branch-flops=0 slice-active-rows=true}
// DEFAULT-NEXT: sieve-quantize{fold-qdq=true group-size=128 min-weight-elements=0 qk-precision= {{ *}}weight-bits=8}
// DEFAULT-NEXT: canonicalize
// DEFAULT-NEXT: cse

// RUN: not sieve-opt %s --sieve-optimize="window-left=512 window-right=0 globals=8 global-source=scores min-seq-len=2048 min-branch-flops=10 slice-active-rows=false weight-bits=4 group-size=64 targets=matmul,generic min-weight-elements=1024 fold-qdq=false qk-precision=i8" --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=OPTIONS
// (The graph below has no score tensor, hence `not`.)
// OPTIONS: sieve-sparsify-attention{global-source=scores globals=8 min-seq-len=2048 window-left=512 window-right=0}
// OPTIONS: sieve-sparsify-gating{min-branch-flops=10 slice-active-rows=false}
// OPTIONS: sieve-quantize{fold-qdq=false group-size=64 min-weight-elements=1024 qk-precision=i8 targets={matmul,generic} weight-bits=4}

// RUN: not sieve-opt %s --sieve-optimize="global-source=nearest" 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: Cannot find option named 'nearest'!

// On a graph that already has sieve.attention and a gated select: the three
// rewrites in a row, then canonicalization (the single-iteration loop over
// the batch of 1 folds away).
// RUN: sieve-opt %s --sieve-optimize="window-left=128 group-size=32" 2>/dev/null | FileCheck %s
// CHECK-LABEL: func.func @block(
//   CHECK-DAG:   %[[SINKS:.+]] = arith.constant dense<{{.+}}> : tensor<1x16xi32>
//   CHECK-DAG:   %[[WQ:.+]] = arith.constant dense<{{.+}}> : tensor<64x64xi8>
//       CHECK:   %[[A:.+]] = sieve.hybrid_attention %{{.+}}, %{{.+}}, %{{.+}}, %[[SINKS]] window(128, 0) {causal = true}
//       CHECK:   %[[PACKED:.+]], %[[POS:.+]], %[[COUNT:.+]] = sieve.compact
//   CHECK-NOT:   scf.for
//       CHECK:   %[[ROWS:.+]] = tensor.extract_slice %[[PACKED]]
//       CHECK:   sieve.qmatmul %[[ROWS]], %[[WQ]], %{{.+}} group_size(32) : tensor<1x?x64xf32>, tensor<64x64xi8>, tensor<64x2xf32> -> tensor<1x?x64xf32>
//       CHECK:   sieve.scatter
#x = affine_map<(b, s, n, k) -> (b, s, k)>
#w = affine_map<(b, s, n, k) -> (n, k)>
#y = affine_map<(b, s, n, k) -> (b, s, n)>
func.func @block(%q: tensor<1x1x2048x64xf32>, %h: tensor<1x2048x64xf32>, %mask: tensor<1x2048xi1>) -> (tensor<1x1x2048x64xf32>, tensor<1x2048x64xf32>) {
  %a = sieve.attention %q, %q, %q {causal = true} : tensor<1x1x2048x64xf32>, tensor<1x1x2048x64xf32>, tensor<1x1x2048x64xf32> -> tensor<1x1x2048x64xf32>
  %w = arith.constant dense<0.125> : tensor<64x64xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2048x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2048x64xf32>) -> tensor<1x2048x64xf32>
  %p = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%h, %w : tensor<1x2048x64xf32>, tensor<64x64xf32>) outs(%acc : tensor<1x2048x64xf32>) {
  ^bb0(%i: f32, %k: f32, %o: f32):
    %m = arith.mulf %i, %k : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x2048x64xf32>
  %t = arith.addf %h, %p : tensor<1x2048x64xf32>
  %em = tensor.empty() : tensor<1x2048x64xi1>
  %mb = linalg.broadcast ins(%mask : tensor<1x2048xi1>) outs(%em : tensor<1x2048x64xi1>) dimensions = [2]
  %out = arith.select %mb, %t, %h : tensor<1x2048x64xi1>, tensor<1x2048x64xf32>
  return %a, %out : tensor<1x1x2048x64xf32>, tensor<1x2048x64xf32>
}
