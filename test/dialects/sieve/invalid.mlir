// RUN: sieve-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// sieve.attention
//===----------------------------------------------------------------------===//

func.func @attention_rank(%q: tensor<8x128x64xf16>, %k: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{operand #0 must be 4D tensor of f32, f16 or bf16 values, but got 'tensor<8x128x64xf16>'}}
  %0 = "sieve.attention"(%q, %k, %k) : (tensor<8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @attention_f64(%q: tensor<1x8x128x64xf64>) {
  // expected-error @+1 {{operand #0 must be 4D tensor of f32, f16 or bf16 values, but got 'tensor<1x8x128x64xf64>'}}
  %0 = sieve.attention %q, %q, %q : tensor<1x8x128x64xf64>, tensor<1x8x128x64xf64>, tensor<1x8x128x64xf64> -> tensor<1x8x128x64xf64>
  return
}

// -----

func.func @attention_element_types(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{failed to verify that all of {query, key, value} have same element type}}
  %0 = sieve.attention %q, %k, %k : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32> -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @attention_key_batch(%q: tensor<1x8x128x64xf16>, %k: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{expected batch size of 'key' (dimension 0) to match 'query' (dimension 0): expected 1, found 2}}
  %0 = sieve.attention %q, %k, %k : tensor<1x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @attention_value_batch(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<3x8x128x64xf16>) {
  // expected-error @+1 {{expected batch size of 'value' (dimension 0) to match 'query' (dimension 0): expected 1, found 3}}
  %0 = sieve.attention %q, %k, %v : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<3x8x128x64xf16> -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @attention_value_key_batch(%q: tensor<?x8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<3x8x128x64xf16>) {
  // expected-error @+1 {{expected batch size of 'value' (dimension 0) to match 'key' (dimension 0): expected 2, found 3}}
  %0 = sieve.attention %q, %k, %v : tensor<?x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<3x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @attention_kv_heads(%q: tensor<1x8x128x64xf16>, %k: tensor<1x2x128x64xf16>, %v: tensor<1x4x128x64xf16>) {
  // expected-error @+1 {{expected number of heads of 'value' (dimension 1) to match 'key' (dimension 1): expected 2, found 4}}
  %0 = sieve.attention %q, %k, %v : tensor<1x8x128x64xf16>, tensor<1x2x128x64xf16>, tensor<1x4x128x64xf16> -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @attention_head_dim(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x32xf16>) {
  // expected-error @+1 {{expected head dimension of 'key' (dimension 3) to match 'query' (dimension 3): expected 64, found 32}}
  %0 = sieve.attention %q, %k, %k : tensor<1x8x128x64xf16>, tensor<1x8x128x32xf16>, tensor<1x8x128x32xf16> -> tensor<1x8x128x32xf16>
  return
}

// -----

func.func @attention_key_length(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x100x64xf16>) {
  // expected-error @+1 {{expected key sequence length of 'value' (dimension 2) to match 'key' (dimension 2): expected 128, found 100}}
  %0 = sieve.attention %q, %k, %v : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x100x64xf16> -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @attention_gqa(%q: tensor<1x6x128x64xf16>, %k: tensor<1x4x128x64xf16>) {
  // expected-error @+1 {{expected the number of query heads (6) to be a multiple of the number of key/value heads (4)}}
  %0 = sieve.attention %q, %k, %k : tensor<1x6x128x64xf16>, tensor<1x4x128x64xf16>, tensor<1x4x128x64xf16> -> tensor<1x6x128x64xf16>
  return
}

// -----

func.func @attention_no_kv_heads(%q: tensor<1x6x128x64xf16>, %k: tensor<1x0x128x64xf16>) {
  // expected-error @+1 {{expected the number of query heads (6) to be a multiple of the number of key/value heads (0)}}
  %0 = sieve.attention %q, %k, %k : tensor<1x6x128x64xf16>, tensor<1x0x128x64xf16>, tensor<1x0x128x64xf16> -> tensor<1x6x128x64xf16>
  return
}

// -----

func.func @attention_scale(%q: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{expected 'scale' to be finite, found NaN}}
  %0 = sieve.attention %q, %q, %q {scale = 0x7FC00000 : f32} : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16> -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @attention_result(%q: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x32xf16>) {
  // expected-error @+2 {{inferred type(s) 'tensor<1x8x128x32xf16>' are incompatible with return type(s) of operation 'tensor<1x8x128x64xf16>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = sieve.attention %q, %q, %v : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x32xf16> -> tensor<1x8x128x64xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// sieve.hybrid_attention
//===----------------------------------------------------------------------===//

func.func @hybrid_negative_window(%q: tensor<1x8x128x64xf16>, %g: tensor<1x16xi32>) {
  // expected-error @+1 {{attribute 'window_left' failed to satisfy constraint: 64-bit signless integer attribute whose value is non-negative}}
  %0 = sieve.hybrid_attention %q, %q, %q, %g window(-1, 0) : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x16xi32> -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @hybrid_negative_window_right(%q: tensor<1x8x128x64xf16>, %g: tensor<1x16xi32>) {
  // expected-error @+1 {{attribute 'window_right' failed to satisfy constraint: 64-bit signless integer attribute whose value is non-negative}}
  %0 = "sieve.hybrid_attention"(%q, %q, %q, %g) <{window_left = 4 : i64, window_right = -4 : i64}> : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x16xi32>) -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @hybrid_missing_window(%q: tensor<1x8x128x64xf16>, %g: tensor<1x16xi32>) {
  // expected-error @+1 {{requires attribute 'window_left'}}
  %0 = "sieve.hybrid_attention"(%q, %q, %q, %g) <{window_right = 4 : i64}> : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x16xi32>) -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @hybrid_causal_right(%q: tensor<1x8x128x64xf16>, %g: tensor<1x16xi32>) {
  // expected-error @+1 {{'causal' requires 'window_right' = 0, found 16}}
  %0 = sieve.hybrid_attention %q, %q, %q, %g window(16, 16) {causal = true} : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x16xi32> -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @hybrid_globals_type(%q: tensor<1x8x128x64xf16>, %g: tensor<1x16xi64>) {
  // expected-error @+1 {{operand #3 must be 2D tensor of 32-bit signless integer values, but got 'tensor<1x16xi64>'}}
  %0 = sieve.hybrid_attention %q, %q, %q, %g window(16, 16) : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x16xi64> -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @hybrid_globals_batch(%q: tensor<1x8x128x64xf16>, %g: tensor<2x16xi32>) {
  // expected-error @+1 {{expected batch size of 'globals' (dimension 0) to match 'query' (dimension 0): expected 1, found 2}}
  %0 = sieve.hybrid_attention %q, %q, %q, %g window(16, 16) : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<2x16xi32> -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @hybrid_globals_key_batch(%q: tensor<?x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %g: tensor<2x16xi32>) {
  // expected-error @+1 {{expected batch size of 'globals' (dimension 0) to match 'key' (dimension 0): expected 1, found 2}}
  %0 = sieve.hybrid_attention %q, %k, %k, %g window(16, 16) : tensor<?x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<2x16xi32> -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @hybrid_gqa(%q: tensor<1x8x128x64xf16>, %k: tensor<1x3x128x64xf16>, %g: tensor<1x16xi32>) {
  // expected-error @+1 {{expected the number of query heads (8) to be a multiple of the number of key/value heads (3)}}
  %0 = sieve.hybrid_attention %q, %k, %k, %g window(16, 16) : tensor<1x8x128x64xf16>, tensor<1x3x128x64xf16>, tensor<1x3x128x64xf16>, tensor<1x16xi32> -> tensor<1x8x128x64xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// sieve.select_global
//===----------------------------------------------------------------------===//

func.func @select_global_zero(%s: tensor<2x64xf32>) {
  // expected-error @+1 {{attribute 'count' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0 = sieve.select_global %s count(0) : tensor<2x64xf32> -> tensor<2x0xi32>
  return
}

// -----

func.func @select_global_too_many(%s: tensor<2x8xf32>) {
  // expected-error @+1 {{expected 'count' to be at most the sequence length of 'scores' (dimension 1): expected <= 8, found 16}}
  %0 = sieve.select_global %s count(16) : tensor<2x8xf32> -> tensor<2x16xi32>
  return
}

// -----

func.func @select_global_f16(%s: tensor<2x8xf16>) {
  // expected-error @+1 {{operand #0 must be 2D tensor of 32-bit float values, but got 'tensor<2x8xf16>'}}
  %0 = sieve.select_global %s count(4) : tensor<2x8xf16> -> tensor<2x4xi32>
  return
}

// -----

func.func @select_global_result(%s: tensor<2x8xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<2x4xi32>' are incompatible with return type(s) of operation 'tensor<2x3xi32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = sieve.select_global %s count(4) : tensor<2x8xf32> -> tensor<2x3xi32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// sieve.gate
//===----------------------------------------------------------------------===//

func.func @gate_model_dim(%x: tensor<2x64x32xf32>, %w1: tensor<16x48xf32>, %b1: tensor<16xf32>, %w2: tensor<16xf32>, %b2: tensor<f32>) {
  // expected-error @+1 {{expected model dimension of 'w1' (dimension 1) to match 'input' (dimension 2): expected 32, found 48}}
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(relu) threshold(0.5) : tensor<2x64x32xf32>, tensor<16x48xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32> -> tensor<2x64xf32>, tensor<2x64xi1>
  return
}

// -----

func.func @gate_b1(%x: tensor<2x64x32xf32>, %w1: tensor<16x32xf32>, %b1: tensor<8xf32>, %w2: tensor<16xf32>, %b2: tensor<f32>) {
  // expected-error @+1 {{expected hidden dimension of 'b1' (dimension 0) to match 'w1' (dimension 0): expected 16, found 8}}
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(relu) threshold(0.5) : tensor<2x64x32xf32>, tensor<16x32xf32>, tensor<8xf32>, tensor<16xf32>, tensor<f32> -> tensor<2x64xf32>, tensor<2x64xi1>
  return
}

// -----

func.func @gate_w2(%x: tensor<2x64x32xf32>, %w1: tensor<16x32xf32>, %b1: tensor<16xf32>, %w2: tensor<12xf32>, %b2: tensor<f32>) {
  // expected-error @+1 {{expected hidden dimension of 'w2' (dimension 0) to match 'w1' (dimension 0): expected 16, found 12}}
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(relu) threshold(0.5) : tensor<2x64x32xf32>, tensor<16x32xf32>, tensor<16xf32>, tensor<12xf32>, tensor<f32> -> tensor<2x64xf32>, tensor<2x64xi1>
  return
}

// -----

func.func @gate_w2_b1(%x: tensor<2x64x32xf32>, %w1: tensor<?x32xf32>, %b1: tensor<16xf32>, %w2: tensor<12xf32>, %b2: tensor<f32>) {
  // expected-error @+1 {{expected hidden dimension of 'w2' (dimension 0) to match 'b1' (dimension 0): expected 16, found 12}}
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(relu) threshold(0.5) : tensor<2x64x32xf32>, tensor<?x32xf32>, tensor<16xf32>, tensor<12xf32>, tensor<f32> -> tensor<2x64xf32>, tensor<2x64xi1>
  return
}

// -----

func.func @gate_element_types(%x: tensor<2x64x32xf16>, %w1: tensor<16x32xf32>, %b1: tensor<16xf32>, %w2: tensor<16xf32>, %b2: tensor<f32>) {
  // expected-error @+1 {{failed to verify that all of {input, w1, b1, w2} have same element type}}
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(relu) threshold(0.5) : tensor<2x64x32xf16>, tensor<16x32xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32> -> tensor<2x64xf32>, tensor<2x64xi1>
  return
}

// -----

func.func @gate_b2_type(%x: tensor<2x64x32xf16>, %w1: tensor<16x32xf16>, %b1: tensor<16xf16>, %w2: tensor<16xf16>, %b2: tensor<bf16>) {
  // expected-error @+1 {{expected 'b2' element type to be f32 or the element type of 'input' ('f16'), found 'bf16'}}
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(relu) threshold(0.5) : tensor<2x64x32xf16>, tensor<16x32xf16>, tensor<16xf16>, tensor<16xf16>, tensor<bf16> -> tensor<2x64xf32>, tensor<2x64xi1>
  return
}

// -----

func.func @gate_b2_rank(%x: tensor<2x64x32xf32>, %w1: tensor<16x32xf32>, %b1: tensor<16xf32>, %w2: tensor<16xf32>, %b2: tensor<1xf32>) {
  // expected-error @+1 {{operand #4 must be 0D tensor of f32, f16 or bf16 values, but got 'tensor<1xf32>'}}
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(relu) threshold(0.5) : tensor<2x64x32xf32>, tensor<16x32xf32>, tensor<16xf32>, tensor<16xf32>, tensor<1xf32> -> tensor<2x64xf32>, tensor<2x64xi1>
  return
}

// -----

func.func @gate_both(%x: tensor<2x64x32xf32>, %w1: tensor<16x32xf32>, %b1: tensor<16xf32>, %w2: tensor<16xf32>, %b2: tensor<f32>) {
  // expected-error @+1 {{expected exactly one of 'threshold' and 'capacity', found both}}
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(relu) threshold(0.5) capacity(0.5) : tensor<2x64x32xf32>, tensor<16x32xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32> -> tensor<2x64xf32>, tensor<2x64xi1>
  return
}

// -----

func.func @gate_neither(%x: tensor<2x64x32xf32>, %w1: tensor<16x32xf32>, %b1: tensor<16xf32>, %w2: tensor<16xf32>, %b2: tensor<f32>) {
  // expected-error @+1 {{expected exactly one of 'threshold' and 'capacity', found neither}}
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(relu) : tensor<2x64x32xf32>, tensor<16x32xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32> -> tensor<2x64xf32>, tensor<2x64xi1>
  return
}

// -----

func.func @gate_threshold(%x: tensor<2x64x32xf32>, %w1: tensor<16x32xf32>, %b1: tensor<16xf32>, %w2: tensor<16xf32>, %b2: tensor<f32>) {
  // expected-error @+1 {{expected 'threshold' in [0, 1], found 1.5}}
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(relu) threshold(1.5) : tensor<2x64x32xf32>, tensor<16x32xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32> -> tensor<2x64xf32>, tensor<2x64xi1>
  return
}

// -----

func.func @gate_capacity(%x: tensor<2x64x32xf32>, %w1: tensor<16x32xf32>, %b1: tensor<16xf32>, %w2: tensor<16xf32>, %b2: tensor<f32>) {
  // expected-error @+1 {{expected 'capacity' in (0, 1], found 0}}
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(relu) capacity(0.0) : tensor<2x64x32xf32>, tensor<16x32xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32> -> tensor<2x64xf32>, tensor<2x64xi1>
  return
}

// -----

func.func @gate_activation(%x: tensor<2x64x32xf32>, %w1: tensor<16x32xf32>, %b1: tensor<16xf32>, %w2: tensor<16xf32>, %b2: tensor<f32>) {
  // expected-error @+1 {{expected activation 'relu', 'silu' or 'gelu', found 'tanh'}}
  %s, %m = sieve.gate %x, %w1, %b1, %w2, %b2 activation(tanh) capacity(0.5) : tensor<2x64x32xf32>, tensor<16x32xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32> -> tensor<2x64xf32>, tensor<2x64xi1>
  return
}

// -----

//===----------------------------------------------------------------------===//
// sieve.compact and sieve.scatter
//===----------------------------------------------------------------------===//

func.func @compact_batch(%x: tensor<2x64x32xf16>, %m: tensor<3x64xi1>) {
  // expected-error @+1 {{expected batch size of 'mask' (dimension 0) to match 'input' (dimension 0): expected 2, found 3}}
  %p, %pos, %c = sieve.compact %x, %m : tensor<2x64x32xf16>, tensor<3x64xi1> -> tensor<2x64x32xf16>, tensor<2x64xi32>, tensor<2xi32>
  return
}

// -----

func.func @compact_seq(%x: tensor<2x64x32xf16>, %m: tensor<2x60xi1>) {
  // expected-error @+1 {{expected sequence length of 'mask' (dimension 1) to match 'input' (dimension 1): expected 64, found 60}}
  %p, %pos, %c = sieve.compact %x, %m : tensor<2x64x32xf16>, tensor<2x60xi1> -> tensor<2x64x32xf16>, tensor<2x64xi32>, tensor<2xi32>
  return
}

// -----

func.func @compact_mask_type(%x: tensor<2x64x32xf16>, %m: tensor<2x64xi8>) {
  // expected-error @+1 {{operand #1 must be 2D tensor of 1-bit signless integer values, but got 'tensor<2x64xi8>'}}
  %p, %pos, %c = sieve.compact %x, %m : tensor<2x64x32xf16>, tensor<2x64xi8> -> tensor<2x64x32xf16>, tensor<2x64xi32>, tensor<2xi32>
  return
}

// -----

func.func @compact_packed_type(%x: tensor<2x64x32xf16>, %m: tensor<2x64xi1>) {
  // expected-error @+1 {{failed to verify that all of {input, packed} have same type}}
  %p, %pos, %c = sieve.compact %x, %m : tensor<2x64x32xf16>, tensor<2x64xi1> -> tensor<2x64x32xf32>, tensor<2x64xi32>, tensor<2xi32>
  return
}

// -----

func.func @scatter_positions_batch(%p: tensor<2x64x32xf16>, %pos: tensor<4x64xi32>) {
  // expected-error @+1 {{expected batch size of 'positions' (dimension 0) to match 'packed' (dimension 0): expected 2, found 4}}
  %0 = sieve.scatter %p, %pos, %p : tensor<2x64x32xf16>, tensor<4x64xi32>, tensor<2x64x32xf16> -> tensor<2x64x32xf16>
  return
}

// -----

func.func @scatter_positions_rows(%p: tensor<2x64x32xf16>, %pos: tensor<2x32xi32>) {
  // expected-error @+1 {{expected number of rows of 'positions' (dimension 1) to match 'packed' (dimension 1): expected 64, found 32}}
  %0 = sieve.scatter %p, %pos, %p : tensor<2x64x32xf16>, tensor<2x32xi32>, tensor<2x64x32xf16> -> tensor<2x64x32xf16>
  return
}

// -----

func.func @scatter_base_batch(%p: tensor<2x64x32xf16>, %pos: tensor<2x64xi32>, %b: tensor<1x64x32xf16>) {
  // expected-error @+1 {{expected batch size of 'base' (dimension 0) to match 'packed' (dimension 0): expected 2, found 1}}
  %0 = sieve.scatter %p, %pos, %b : tensor<2x64x32xf16>, tensor<2x64xi32>, tensor<1x64x32xf16> -> tensor<1x64x32xf16>
  return
}

// -----

func.func @scatter_base_seq(%p: tensor<2x64x32xf16>, %pos: tensor<2x64xi32>, %b: tensor<2x128x32xf16>) {
  // expected-error @+1 {{expected sequence length of 'base' (dimension 1) to match 'packed' (dimension 1): expected 64, found 128}}
  %0 = sieve.scatter %p, %pos, %b : tensor<2x64x32xf16>, tensor<2x64xi32>, tensor<2x128x32xf16> -> tensor<2x128x32xf16>
  return
}

// -----

func.func @scatter_base_row(%p: tensor<2x64x32xf16>, %pos: tensor<2x64xi32>, %b: tensor<2x64x16xf16>) {
  // expected-error @+1 {{expected row size of 'base' (dimension 2) to match 'packed' (dimension 2): expected 32, found 16}}
  %0 = sieve.scatter %p, %pos, %b : tensor<2x64x32xf16>, tensor<2x64xi32>, tensor<2x64x16xf16> -> tensor<2x64x16xf16>
  return
}

// -----

func.func @scatter_element_types(%p: tensor<2x64x32xf16>, %pos: tensor<2x64xi32>, %b: tensor<2x64x32xf32>) {
  // expected-error @+1 {{failed to verify that all of {packed, base, result} have same element type}}
  %0 = sieve.scatter %p, %pos, %b : tensor<2x64x32xf16>, tensor<2x64xi32>, tensor<2x64x32xf32> -> tensor<2x64x32xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

func.func @quantize_bits(%w: tensor<16x32xf16>) {
  // expected-error @+1 {{attribute 'bits' failed to satisfy constraint: 64-bit signless integer attribute whose value is one of {4, 8}}}
  %q, %s = sieve.quantize %w bits(3) group_size(8) : tensor<16x32xf16> -> tensor<16x32xi8>, tensor<16x4xf32>
  return
}

// -----

func.func @quantize_bits_type(%w: tensor<16x32xf16>) {
  // expected-error @+2 {{inferred type(s) 'tensor<16x32xi4>', 'tensor<16x4xf32>' are incompatible with return type(s) of operation 'tensor<16x32xi8>', 'tensor<16x4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %q, %s = sieve.quantize %w bits(4) group_size(8) : tensor<16x32xf16> -> tensor<16x32xi8>, tensor<16x4xf32>
  return
}

// -----

func.func @quantize_negative_group(%w: tensor<16x32xf16>) {
  // expected-error @+1 {{attribute 'group_size' failed to satisfy constraint: 64-bit signless integer attribute whose value is non-negative}}
  %q, %s = sieve.quantize %w bits(8) group_size(-8) : tensor<16x32xf16> -> tensor<16x32xi8>, tensor<16x4xf32>
  return
}

// -----

func.func @quantize_group_divides(%w: tensor<16x32xf16>) {
  // expected-error @+1 {{expected 'group_size' (12) to divide the last dimension of 'input' (32)}}
  %q, %s = sieve.quantize %w bits(8) group_size(12) : tensor<16x32xf16> -> tensor<16x32xi8>, tensor<16x2xf32>
  return
}

// -----

func.func @quantize_int_input(%w: tensor<16x32xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of rank >= 1 of f32, f16 or bf16 values, but got 'tensor<16x32xi32>'}}
  %q, %s = sieve.quantize %w bits(8) group_size(8) : tensor<16x32xi32> -> tensor<16x32xi8>, tensor<16x4xf32>
  return
}

// -----

func.func @quantize_scalar(%w: tensor<f32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of rank >= 1 of f32, f16 or bf16 values, but got 'tensor<f32>'}}
  %q, %s = "sieve.quantize"(%w) <{bits = 8 : i64, group_size = 0 : i64}> : (tensor<f32>) -> (tensor<i8>, tensor<f32>)
  return
}

// -----

func.func @dequantize_group_divides(%q: tensor<16x32xi8>, %s: tensor<16x3xf32>) {
  // expected-error @+1 {{expected 'group_size' (10) to divide the last dimension of 'values' (32)}}
  %0 = sieve.dequantize %q, %s group_size(10) : tensor<16x32xi8>, tensor<16x3xf32> -> tensor<16x32xf32>
  return
}

// -----

func.func @dequantize_scales_rank(%q: tensor<16x32xi8>, %s: tensor<64xf32>) {
  // expected-error @+1 {{expected 'scales' to have the rank of 'values': expected 2, found 1}}
  %0 = sieve.dequantize %q, %s group_size(8) : tensor<16x32xi8>, tensor<64xf32> -> tensor<16x32xf32>
  return
}

// -----

func.func @dequantize_scales_rows(%q: tensor<16x32xi8>, %s: tensor<8x4xf32>) {
  // expected-error @+1 {{expected size of 'scales' (dimension 0) to match 'values' (dimension 0): expected 16, found 8}}
  %0 = sieve.dequantize %q, %s group_size(8) : tensor<16x32xi8>, tensor<8x4xf32> -> tensor<16x32xf32>
  return
}

// -----

func.func @dequantize_scales_groups(%q: tensor<16x32xi8>, %s: tensor<16x2xf32>) {
  // expected-error @+1 {{expected the last dimension of 'scales' to be the number of groups of 'values' (group_size 8): expected 4, found 2}}
  %0 = sieve.dequantize %q, %s group_size(8) : tensor<16x32xi8>, tensor<16x2xf32> -> tensor<16x32xf32>
  return
}

// -----

func.func @dequantize_row_scale(%q: tensor<16x32xi4>, %s: tensor<16x4xf32>) {
  // expected-error @+1 {{expected the last dimension of 'scales' to be the number of groups of 'values' (group_size 0): expected 1, found 4}}
  %0 = sieve.dequantize %q, %s group_size(0) : tensor<16x32xi4>, tensor<16x4xf32> -> tensor<16x32xf32>
  return
}

// -----

func.func @dequantize_values_type(%q: tensor<16x32xi16>, %s: tensor<16x4xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of rank >= 1 of i8 or i4 values, but got 'tensor<16x32xi16>'}}
  %0 = sieve.dequantize %q, %s group_size(8) : tensor<16x32xi16>, tensor<16x4xf32> -> tensor<16x32xf32>
  return
}

// -----

func.func @qmatmul_reduction(%x: tensor<4x64xf16>, %q: tensor<16x32xi8>, %s: tensor<16x4xf32>) {
  // expected-error @+1 {{expected reduction dimension of 'weight_values' (dimension 1) to match 'input' (dimension 1): expected 64, found 32}}
  %0 = sieve.qmatmul %x, %q, %s group_size(8) : tensor<4x64xf16>, tensor<16x32xi8>, tensor<16x4xf32> -> tensor<4x16xf16>
  return
}

// -----

func.func @qmatmul_group_divides(%x: tensor<4x32xf16>, %q: tensor<16x32xi8>, %s: tensor<16x2xf32>) {
  // expected-error @+1 {{expected 'group_size' (12) to divide the last dimension of 'weight_values' (32)}}
  %0 = sieve.qmatmul %x, %q, %s group_size(12) : tensor<4x32xf16>, tensor<16x32xi8>, tensor<16x2xf32> -> tensor<4x16xf16>
  return
}

// -----

func.func @qmatmul_scales_rows(%x: tensor<4x32xf16>, %q: tensor<16x32xi8>, %s: tensor<8x4xf32>) {
  // expected-error @+1 {{expected size of 'weight_scales' (dimension 0) to match 'weight_values' (dimension 0): expected 16, found 8}}
  %0 = sieve.qmatmul %x, %q, %s group_size(8) : tensor<4x32xf16>, tensor<16x32xi8>, tensor<8x4xf32> -> tensor<4x16xf16>
  return
}

// -----

func.func @qmatmul_scales_groups(%x: tensor<4x32xf16>, %q: tensor<16x32xi4>, %s: tensor<16x1xf32>) {
  // expected-error @+1 {{expected the last dimension of 'weight_scales' to be the number of groups of 'weight_values' (group_size 16): expected 2, found 1}}
  %0 = sieve.qmatmul %x, %q, %s group_size(16) : tensor<4x32xf16>, tensor<16x32xi4>, tensor<16x1xf32> -> tensor<4x16xf16>
  return
}

// -----

func.func @qmatmul_bias_size(%x: tensor<4x32xf16>, %q: tensor<16x32xi8>, %s: tensor<16x4xf32>, %b: tensor<8xf16>) {
  // expected-error @+1 {{expected output dimension of 'bias' (dimension 0) to match 'weight_values' (dimension 0): expected 16, found 8}}
  %0 = sieve.qmatmul %x, %q, %s bias(%b : tensor<8xf16>) group_size(8) : tensor<4x32xf16>, tensor<16x32xi8>, tensor<16x4xf32> -> tensor<4x16xf16>
  return
}

// -----

func.func @qmatmul_bias_type(%x: tensor<4x32xf16>, %q: tensor<16x32xi8>, %s: tensor<16x4xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{expected 'bias' element type to match 'input': expected 'f16', found 'f32'}}
  %0 = sieve.qmatmul %x, %q, %s bias(%b : tensor<16xf32>) group_size(8) : tensor<4x32xf16>, tensor<16x32xi8>, tensor<16x4xf32> -> tensor<4x16xf16>
  return
}

// -----

func.func @qmatmul_weights_rank(%x: tensor<4x32xf16>, %q: tensor<2x16x32xi8>, %s: tensor<16x4xf32>) {
  // expected-error @+1 {{operand #1 must be 2D tensor of i8 or i4 values, but got 'tensor<2x16x32xi8>'}}
  %0 = sieve.qmatmul %x, %q, %s group_size(8) : tensor<4x32xf16>, tensor<2x16x32xi8>, tensor<16x4xf32> -> tensor<4x16xf16>
  return
}

// -----

func.func @attention_qk_precision_other_float(%q: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{expected 'qk_precision' to be i8, f8E4M3FN or the operands' element type 'f16', found 'bf16'}}
  %0 = sieve.attention %q, %q, %q {qk_precision = bf16} : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16> -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @hybrid_qk_precision_i4(%q: tensor<1x8x128x64xf16>, %g: tensor<1x16xi32>) {
  // expected-error @+1 {{attribute 'qk_precision' failed to satisfy constraint}}
  %0 = sieve.hybrid_attention %q, %q, %q, %g window(16, 0) {qk_precision = i4} : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x16xi32> -> tensor<1x8x128x64xf16>
  return
}
