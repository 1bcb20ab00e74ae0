#!/usr/bin/env python3
"""The LLaMA-style decoder layer of examples/llama_decoder_layer.mlir (and the
TOSA variant of its attention, examples/llama_attention_tosa.mlir): the
generator of those files, and the numpy forward they are checked against.

  llama_layer.py --emit-linalg FILE       writes the linalg example
  llama_layer.py --emit-tosa FILE         writes the TOSA attention example
  llama_layer.py --check-float --graph FILE --sieve-run PATH --workdir DIR
  llama_layer.py --check-tosa --graph FILE --sieve-run PATH --workdir DIR
  llama_layer.py --check-optimized --graph FILE --sieve-opt PATH
                 --sieve-run PATH --workdir DIR --options "window-left=..."

The layer (batch 1, S tokens, model dimension 64, 4 query heads and 2
key/value heads of dimension 16, MLP hidden size 128, router hidden size 16):

    n1    = rmsnorm(x) * g1
    q,k,v = n1 @ Wq^T, n1 @ Wk^T, n1 @ Wv^T          (PyTorch Linear layout)
    q,k   = rope(q), rope(k)                          (rotate-half, base 1e4)
    a     = softmax(q k^T / 4 + causal) v             (GQA 4:2, additive mask)
    h     = x + a @ Wo^T
    score = sigmoid(silu(h @ Wr1^T + br1) . wr2 + br2)   (token router)
    n2    = rmsnorm(h) * g2
    t     = h + (silu(n2 @ Wg^T) * (n2 @ Wu^T)) @ Wd^T    (gated MLP)
    y     = score > 0.5 ? t : h                         (Mixture-of-Depths)

The weights live in the example files as dense_resource blobs; the checks
read them back from the file, so the reference always uses the file's
weights. The forward runs in float64 on the f32 inputs and weights.

--check-float: sieve-run of the float graph against the forward, relative
  error ||out - ref|| / ||ref|| <= 1e-5 (f32 sums of at most 256 terms).
--check-optimized: runs `sieve-opt --sieve-optimize=OPTIONS` on the graph,
  reads the per-weight quantization errors it reports, and checks sieve-run
  of the optimized graph two ways (see check_optimized()).

Requires numpy (run with /usr/bin/python3, lit's %python).
"""

import argparse
import math
import os
import re
import subprocess
import sys

import numpy as np

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "passes", "Inputs"))
import numeric as N  # noqa: E402

R = N.R

S, DM, HQ, HKV, DH, DFF, DR = 256, 64, 4, 2, 16, 128, 16
S_TOSA = 64
EPS = 1e-5
ROPE_BASE = 10000.0
THRESHOLD = 0.5
SEED = 2024
TOL = 1e-5

WEIGHTS = [  # name, shape
    ("g1", (DM,)), ("wq", (HQ * DH, DM)), ("wk", (HKV * DH, DM)),
    ("wv", (HKV * DH, DM)), ("wo", (DM, HQ * DH)),
    ("wr1", (DR, DM)), ("br1", (DR,)), ("wr2", (DR,)),
    ("g2", (DM,)), ("wg", (DFF, DM)), ("wu", (DFF, DM)), ("wd", (DM, DFF)),
]
BR2 = -0.25  # router bias, a scalar constant in the graph


def make_weights():
    rng = np.random.default_rng(SEED)
    w = {}
    for name, shape in WEIGHTS:
        if name.startswith("g"):
            a = 1.0 + 0.1 * rng.normal(size=shape)
        elif name.startswith("b"):
            a = 0.1 * rng.normal(size=shape)
        elif name == "wr2":
            a = rng.normal(size=shape) * 2.0 / math.sqrt(shape[0])
        else:
            a = rng.normal(size=shape) / math.sqrt(shape[-1])
        w[name] = a.astype(np.float32)
    return w


def inv_freq():
    i = np.arange(DH // 2, dtype=np.float64)
    return (ROPE_BASE ** (-2.0 * i / DH)).astype(np.float32)


# ---------------------------------------------------------------------------
# numpy forward (float64)
# ---------------------------------------------------------------------------


def rmsnorm(x, g):
    ms = np.mean(x * x, axis=-1, keepdims=True)
    return x / np.sqrt(ms + np.float32(EPS)) * g


def rope(x):
    """x: [B, H, S, DH]; rotate-half RoPE at positions 0..S-1, with the
    angles computed in f32 as the graph does."""
    s = x.shape[2]
    ang = (np.arange(s, dtype=np.float32)[:, None] *
           np.tile(inv_freq(), 2)[None, :]).astype(np.float32)
    cos, sin = np.cos(ang.astype(np.float64)), np.sin(ang.astype(np.float64))
    half = DH // 2
    rot = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rot * sin


def attention(q, k, v, visible):
    """q [B,HQ,S,DH], k/v [B,HKV,S,DH]; visible [S,S] bool (or [B,S,S])."""
    rep = q.shape[1] // k.shape[1]
    k = np.repeat(k, rep, axis=1)
    v = np.repeat(v, rep, axis=1)
    s = q @ np.swapaxes(k, -1, -2) / math.sqrt(DH)
    vis = visible if visible.ndim == 3 else visible[None]
    s = np.where(vis[:, None], s, -np.inf)
    s = s - s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p = p / p.sum(axis=-1, keepdims=True)
    return p @ v


def causal(s):
    return np.tril(np.ones((s, s), dtype=bool))


def attention_sublayer(x, w, visible):
    b, s, _ = x.shape
    n1 = rmsnorm(x, w["g1"])
    q = (n1 @ w["wq"].T).reshape(b, s, HQ, DH).transpose(0, 2, 1, 3)
    k = (n1 @ w["wk"].T).reshape(b, s, HKV, DH).transpose(0, 2, 1, 3)
    v = (n1 @ w["wv"].T).reshape(b, s, HKV, DH).transpose(0, 2, 1, 3)
    a = attention(rope(q), rope(k), v, visible)
    a = a.transpose(0, 2, 1, 3).reshape(b, s, HQ * DH)
    return x + a @ w["wo"].T


def router_score(h, w):
    u = h @ w["wr1"].T + w["br1"]
    u = u / (1.0 + np.exp(-u))
    z = u @ w["wr2"] + BR2
    return 1.0 / (1.0 + np.exp(-z))


def layer(x, w, visible):
    """Returns y and the router score."""
    x = x.astype(np.float64)
    w = {k: v.astype(np.float64) for k, v in w.items()}
    h = attention_sublayer(x, w, visible)
    score = router_score(h, w)
    n2 = rmsnorm(h, w["g2"])
    g = n2 @ w["wg"].T
    t = h + ((g / (1.0 + np.exp(-g))) * (n2 @ w["wu"].T)) @ w["wd"].T
    y = np.where((score > THRESHOLD)[..., None], t, h)
    return y, score


# ---------------------------------------------------------------------------
# Emitting the graphs
# ---------------------------------------------------------------------------


def resource_entries(arrays):
    return ",\n      ".join(
        '%s: "0x04000000%s"' % (name, np.asarray(a, dtype="<f4").tobytes()
                                .hex().upper())
        for name, a in arrays)


def read_resources(path):
    """{name: float32 array (flat)} of the builtin dialect resources."""
    text = open(path).read()
    out = {}
    for m in re.finditer(r'(\w+): "0x([0-9A-Fa-f]+)"', text):
        data = bytes.fromhex(m.group(2))[4:]   # drop the alignment word
        out[m.group(1)] = np.frombuffer(data, dtype="<f4").copy()
    return out


def weights_from(path):
    blobs = read_resources(path)
    return {name: blobs[name].reshape(shape) for name, shape in WEIGHTS
            if name in blobs}


def t(*dims, elt="f32"):
    return "tensor<%sx%s>" % ("x".join(str(d) for d in dims), elt)


LINALG = r"""// A LLaMA-style decoder layer as a float model graph in plain linalg, as an
// importer would hand it to Sieve (generated by
// test/examples/Inputs/llama_layer.py, which also holds its numpy forward):
//
//   n1    = rmsnorm(x) * g1
//   q,k,v = n1 @ Wq^T, n1 @ Wk^T, n1 @ Wv^T        4 query, 2 key/value heads
//   q,k   = rope(q), rope(k)                        rotate-half, base 10000
//   a     = softmax(q k^T / sqrt(16) + causal) v    GQA, additive causal mask
//   h     = x + a @ Wo^T
//   score = sigmoid(silu(h @ Wr1^T + br1) . wr2 + br2)   token router
//   n2    = rmsnorm(h) * g2
//   t     = h + (silu(n2 @ Wg^T) * (n2 @ Wu^T)) @ Wd^T  gated MLP
//   y     = score > 0.5 ? t : h                     Mixture-of-Depths routing
//
// Sizes: batch 1, sequence {S}, model dimension 64, head dimension 16, MLP
// hidden size 128, router hidden size 16. Weights are f32 constants in
// PyTorch Linear layout (out x in), stored as dense_resource blobs at the end
// of the file. `sieve-opt --sieve-optimize` turns the attention into
// sieve.hybrid_attention, the router into sieve.gate, the routed MLP into
// compact -> MLP on the active tokens -> scatter, and every projection into
// sieve.qmatmul (see test/examples/llama_decoder_layer.test).

#id3 = affine_map<(b, s, d) -> (b, s, d)>
#bs3 = affine_map<(b, s, d) -> (b, s)>
#d3 = affine_map<(b, s, d) -> (d)>
#proj_x = affine_map<(b, s, n, k) -> (b, s, k)>
#proj_w = affine_map<(b, s, n, k) -> (n, k)>
#proj_y = affine_map<(b, s, n, k) -> (b, s, n)>
#dot_x = affine_map<(b, s, k) -> (b, s, k)>
#dot_w = affine_map<(b, s, k) -> (k)>
#dot_y = affine_map<(b, s, k) -> (b, s)>
#id4 = affine_map<(b, h, s, d) -> (b, h, s, d)>
#rot4 = affine_map<(b, h, s, d) -> (b, h, s, (d + 8) mod 16)>
#freq4 = affine_map<(b, h, s, d) -> (d mod 8)>
#qk_q = affine_map<(b, h, i, j, d) -> (b, h, i, d)>
#qk_k = affine_map<(b, h, i, j, d) -> (b, h, j, d)>
#qk_s = affine_map<(b, h, i, j, d) -> (b, h, i, j)>
#mask4 = affine_map<(b, h, i, j) -> (i, j)>
#row4 = affine_map<(b, h, i, j) -> (b, h, i)>
#pv_p = affine_map<(b, h, i, d, j) -> (b, h, i, j)>
#pv_v = affine_map<(b, h, i, d, j) -> (b, h, j, d)>
#pv_o = affine_map<(b, h, i, d, j) -> (b, h, i, d)>

func.func @llama_decoder_layer(%x: {X}) -> {X} {{
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %g1 = arith.constant dense_resource<g1> : {V64}
  %wq = arith.constant dense_resource<wq> : {W64x64}
  %wk = arith.constant dense_resource<wk> : {W32x64}
  %wv = arith.constant dense_resource<wv> : {W32x64}
  %wo = arith.constant dense_resource<wo> : {W64x64}
  %wr1 = arith.constant dense_resource<wr1> : {W16x64}
  %br1 = arith.constant dense_resource<br1> : {V16}
  %wr2 = arith.constant dense_resource<wr2> : {V16}
  %g2 = arith.constant dense_resource<g2> : {V64}
  %wg = arith.constant dense_resource<wg> : {W128x64}
  %wu = arith.constant dense_resource<wu> : {W128x64}
  %wd = arith.constant dense_resource<wd> : {W64x128}
  %inv_freq = arith.constant dense<{INV_FREQ}> : tensor<8xf32>

  // --- Attention ----------------------------------------------------------
  // RMSNorm: x * rsqrt(mean(x^2) + eps) * g1.
  %bs_init = tensor.empty() : {BS}
  %bs_zero = linalg.fill ins(%zero : f32) outs(%bs_init : {BS}) -> {BS}
  %ss1 = linalg.generic {{indexing_maps = [#id3, #bs3], iterator_types = ["parallel", "parallel", "reduction"]}}
      ins(%x : {X}) outs(%bs_zero : {BS}) {{
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }} -> {BS}
  %x_init = tensor.empty() : {X}
  %n1 = linalg.generic {{indexing_maps = [#id3, #bs3, #d3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}}
      ins(%x, %ss1, %g1 : {X}, {BS}, {V64}) outs(%x_init : {X}) {{
  ^bb0(%a: f32, %ss: f32, %g: f32, %o: f32):
    %dm = arith.constant 64.0 : f32
    %eps = arith.constant {EPS} : f32
    %ms = arith.divf %ss, %dm : f32
    %var = arith.addf %ms, %eps : f32
    %r = math.rsqrt %var : f32
    %xn = arith.mulf %a, %r : f32
    %yn = arith.mulf %xn, %g : f32
    linalg.yield %yn : f32
  }} -> {X}

  // Q, K, V projections.
{PROJ_Q}
{PROJ_K}
{PROJ_V}

  // Heads: [1, S, H*16] -> [1, H, S, 16].
  %q3 = tensor.expand_shape %q2 [[0], [1], [2, 3]] output_shape [1, {S}, 4, 16] : {BSQ} into {B_S_4_16}
  %k3 = tensor.expand_shape %k2 [[0], [1], [2, 3]] output_shape [1, {S}, 2, 16] : {BSKV} into {B_S_2_16}
  %v3 = tensor.expand_shape %v2 [[0], [1], [2, 3]] output_shape [1, {S}, 2, 16] : {BSKV} into {B_S_2_16}
  %q_init = tensor.empty() : {B_4_S_16}
  %kv_init = tensor.empty() : {B_2_S_16}
  %q4 = linalg.transpose ins(%q3 : {B_S_4_16}) outs(%q_init : {B_4_S_16}) permutation = [0, 2, 1, 3]
  %k4 = linalg.transpose ins(%k3 : {B_S_2_16}) outs(%kv_init : {B_2_S_16}) permutation = [0, 2, 1, 3]
  %v4 = linalg.transpose ins(%v3 : {B_S_2_16}) outs(%kv_init : {B_2_S_16}) permutation = [0, 2, 1, 3]

  // RoPE (rotate-half): x * cos(p * f) + rotate_half(x) * sin(p * f).
{ROPE_Q}
{ROPE_K}

  // GQA: each key/value head serves two query heads.
  %kb_init = tensor.empty() : {B_2_2_S_16}
  %kb = linalg.broadcast ins(%kr : {B_2_S_16}) outs(%kb_init : {B_2_2_S_16}) dimensions = [2]
  %vb = linalg.broadcast ins(%v4 : {B_2_S_16}) outs(%kb_init : {B_2_2_S_16}) dimensions = [2]
  %kq = tensor.collapse_shape %kb [[0], [1, 2], [3], [4]] : {B_2_2_S_16} into {B_4_S_16}
  %vq = tensor.collapse_shape %vb [[0], [1, 2], [3], [4]] : {B_2_2_S_16} into {B_4_S_16}

  // Scores q k^T / sqrt(16) plus the additive causal mask (0 or -inf).
  %ss_init = tensor.empty() : {B_4_S_S}
  %ss_zero = linalg.fill ins(%zero : f32) outs(%ss_init : {B_4_S_S}) -> {B_4_S_S}
  %qk = linalg.generic {{indexing_maps = [#qk_q, #qk_k, #qk_s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}}
      ins(%qr, %kq : {B_4_S_16}, {B_4_S_16}) outs(%ss_zero : {B_4_S_S}) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %sum = arith.addf %acc, %p : f32
    linalg.yield %sum : f32
  }} -> {B_4_S_S}
  %mask_init = tensor.empty() : {S_S}
  %mask = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}}
      outs(%mask_init : {S_S}) {{
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %future = arith.cmpi ugt, %j, %i : index
    %m = arith.select %future, %ninf, %zero : f32
    linalg.yield %m : f32
  }} -> {S_S}
  %logits = linalg.generic {{indexing_maps = [#id4, #mask4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
      ins(%qk, %mask : {B_4_S_S}, {S_S}) outs(%ss_init : {B_4_S_S}) {{
  ^bb0(%s: f32, %m: f32, %o: f32):
    %scale = arith.constant 0.25 : f32
    %scaled = arith.mulf %s, %scale : f32
    %l = arith.addf %scaled, %m : f32
    linalg.yield %l : f32
  }} -> {B_4_S_S}

  // Softmax over the keys.
  %row_init = tensor.empty() : {B_4_S}
  %row_ninf = linalg.fill ins(%ninf : f32) outs(%row_init : {B_4_S}) -> {B_4_S}
  %rowmax = linalg.generic {{indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
      ins(%logits : {B_4_S_S}) outs(%row_ninf : {B_4_S}) {{
  ^bb0(%l: f32, %acc: f32):
    %m = arith.maximumf %acc, %l : f32
    linalg.yield %m : f32
  }} -> {B_4_S}
  %exps = linalg.generic {{indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
      ins(%logits, %rowmax : {B_4_S_S}, {B_4_S}) outs(%ss_init : {B_4_S_S}) {{
  ^bb0(%l: f32, %m: f32, %o: f32):
    %d = arith.subf %l, %m : f32
    %ex = math.exp %d : f32
    linalg.yield %ex : f32
  }} -> {B_4_S_S}
  %row_zero = linalg.fill ins(%zero : f32) outs(%row_init : {B_4_S}) -> {B_4_S}
  %denom = linalg.generic {{indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
      ins(%exps : {B_4_S_S}) outs(%row_zero : {B_4_S}) {{
  ^bb0(%ex: f32, %acc: f32):
    %s = arith.addf %acc, %ex : f32
    linalg.yield %s : f32
  }} -> {B_4_S}
  %probs = linalg.generic {{indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
      ins(%exps, %denom : {B_4_S_S}, {B_4_S}) outs(%ss_init : {B_4_S_S}) {{
  ^bb0(%ex: f32, %s: f32, %o: f32):
    %pr = arith.divf %ex, %s : f32
    linalg.yield %pr : f32
  }} -> {B_4_S_S}

  // P V, heads merged back, output projection, residual.
  %o_init = tensor.empty() : {B_4_S_16}
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : {B_4_S_16}) -> {B_4_S_16}
  %o4 = linalg.generic {{indexing_maps = [#pv_p, #pv_v, #pv_o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}}
      ins(%probs, %vq : {B_4_S_S}, {B_4_S_16}) outs(%o_zero : {B_4_S_16}) {{
  ^bb0(%pr: f32, %v: f32, %acc: f32):
    %m = arith.mulf %pr, %v : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }} -> {B_4_S_16}
  %ot_init = tensor.empty() : {B_S_4_16}
  %ot = linalg.transpose ins(%o4 : {B_4_S_16}) outs(%ot_init : {B_S_4_16}) permutation = [0, 2, 1, 3]
  %o2 = tensor.collapse_shape %ot [[0], [1], [2, 3]] : {B_S_4_16} into {X}
{PROJ_O}
  %h = arith.addf %x, %attn : {X}

  // --- Token router (Mixture-of-Depths) ----------------------------------
{PROJ_R1}
  %r_init = tensor.empty() : {BSR}
  %r_act = linalg.generic {{indexing_maps = [#id3, #d3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}}
      ins(%r1, %br1 : {BSR}, {V16}) outs(%r_init : {BSR}) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %u = arith.addf %a, %b : f32
    %one = arith.constant 1.0 : f32
    %nu = arith.negf %u : f32
    %ex = math.exp %nu : f32
    %den = arith.addf %one, %ex : f32
    %silu = arith.divf %u, %den : f32
    linalg.yield %silu : f32
  }} -> {BSR}
  %z = linalg.generic {{indexing_maps = [#dot_x, #dot_w, #dot_y], iterator_types = ["parallel", "parallel", "reduction"]}}
      ins(%r_act, %wr2 : {BSR}, {V16}) outs(%bs_zero : {BS}) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }} -> {BS}
  %route_init = tensor.empty() : {BS_I1}
  %route = linalg.generic {{indexing_maps = [affine_map<(b, s) -> (b, s)>, affine_map<(b, s) -> (b, s)>], iterator_types = ["parallel", "parallel"]}}
      ins(%z : {BS}) outs(%route_init : {BS_I1}) {{
  ^bb0(%zz: f32, %o: i1):
    %b2 = arith.constant {BR2} : f32
    %logit = arith.addf %zz, %b2 : f32
    %one = arith.constant 1.0 : f32
    %nl = arith.negf %logit : f32
    %ex = math.exp %nl : f32
    %den = arith.addf %one, %ex : f32
    %score = arith.divf %one, %den : f32
    %threshold = arith.constant 5.000000e-01 : f32
    %selected = arith.cmpf ogt, %score, %threshold : f32
    linalg.yield %selected : i1
  }} -> {BS_I1}

  // --- Gated MLP, for the routed tokens -----------------------------------
  %ss2 = linalg.generic {{indexing_maps = [#id3, #bs3], iterator_types = ["parallel", "parallel", "reduction"]}}
      ins(%h : {X}) outs(%bs_zero : {BS}) {{
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }} -> {BS}
  %n2 = linalg.generic {{indexing_maps = [#id3, #bs3, #d3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}}
      ins(%h, %ss2, %g2 : {X}, {BS}, {V64}) outs(%x_init : {X}) {{
  ^bb0(%a: f32, %ss: f32, %g: f32, %o: f32):
    %dm = arith.constant 64.0 : f32
    %eps = arith.constant {EPS} : f32
    %ms = arith.divf %ss, %dm : f32
    %var = arith.addf %ms, %eps : f32
    %r = math.rsqrt %var : f32
    %xn = arith.mulf %a, %r : f32
    %yn = arith.mulf %xn, %g : f32
    linalg.yield %yn : f32
  }} -> {X}
{PROJ_G}
{PROJ_U}
  %act_init = tensor.empty() : {BSF}
  %act = linalg.generic {{indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}}
      ins(%gate, %up : {BSF}, {BSF}) outs(%act_init : {BSF}) {{
  ^bb0(%g: f32, %u: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %ng = arith.negf %g : f32
    %ex = math.exp %ng : f32
    %den = arith.addf %one, %ex : f32
    %silu = arith.divf %g, %den : f32
    %a = arith.mulf %silu, %u : f32
    linalg.yield %a : f32
  }} -> {BSF}
{PROJ_D}
  %t = arith.addf %h, %down : {X}

  // Routed tokens take the MLP, the others keep h.
  %route_b_init = tensor.empty() : {X_I1}
  %route_b = linalg.broadcast ins(%route : {BS_I1}) outs(%route_b_init : {X_I1}) dimensions = [2]
  %out = arith.select %route_b, %t, %h : {X_I1}, {X}
  return %out : {X}
}}

{{-#
  dialect_resources: {{
    builtin: {{
      {RESOURCES}
    }}
  }}
#-}}
"""


def proj(name, src, src_t, w, w_t, n, s):
    """`%name = src @ w^T` as a linalg.generic contraction into zeros."""
    y_t = t(1, s, n)
    return (
        "  %{n}_init = tensor.empty() : {yt}\n"
        "  %{n}_zero = linalg.fill ins(%zero : f32) outs(%{n}_init : {yt}) "
        "-> {yt}\n"
        "  %{n} = linalg.generic {{indexing_maps = [#proj_x, #proj_w, "
        "#proj_y], iterator_types = [\"parallel\", \"parallel\", "
        "\"parallel\", \"reduction\"]}}\n"
        "      ins(%{src}, %{w} : {st}, {wt}) outs(%{n}_zero : {yt}) {{\n"
        "  ^bb0(%a: f32, %b: f32, %acc: f32):\n"
        "    %m = arith.mulf %a, %b : f32\n"
        "    %s = arith.addf %acc, %m : f32\n"
        "    linalg.yield %s : f32\n"
        "  }} -> {yt}").format(n=name, src=src, st=src_t, w=w, wt=w_t,
                               yt=y_t)


def rope_text(name, src, heads, s):
    ty = t(1, heads, s, 16)
    return (
        "  %{n}_init = tensor.empty() : {ty}\n"
        "  %{n} = linalg.generic {{indexing_maps = [#id4, #rot4, #freq4, "
        "#id4], iterator_types = [\"parallel\", \"parallel\", \"parallel\", "
        "\"parallel\"]}}\n"
        "      ins(%{src}, %{src}, %inv_freq : {ty}, {ty}, tensor<8xf32>) "
        "outs(%{n}_init : {ty}) {{\n"
        "  ^bb0(%a: f32, %other: f32, %f: f32, %o: f32):\n"
        "    %pos = linalg.index 2 : index\n"
        "    %d = linalg.index 3 : index\n"
        "    %pos_i = arith.index_cast %pos : index to i32\n"
        "    %pos_f = arith.sitofp %pos_i : i32 to f32\n"
        "    %angle = arith.mulf %pos_f, %f : f32\n"
        "    %c = math.cos %angle : f32\n"
        "    %sn = math.sin %angle : f32\n"
        "    %c8 = arith.constant 8 : index\n"
        "    %first = arith.cmpi ult, %d, %c8 : index\n"
        "    %neg = arith.negf %other : f32\n"
        "    %rot = arith.select %first, %neg, %other : f32\n"
        "    %ac = arith.mulf %a, %c : f32\n"
        "    %rs = arith.mulf %rot, %sn : f32\n"
        "    %r = arith.addf %ac, %rs : f32\n"
        "    linalg.yield %r : f32\n"
        "  }} -> {ty}").format(n=name, src=src, ty=ty)


def emit_linalg(path):
    w = make_weights()
    f = inv_freq()
    fmt = dict(
        S=S, X=t(1, S, DM), BS=t(1, S), BS_I1=t(1, S, elt="i1"),
        X_I1=t(1, S, DM, elt="i1"), V64=t(64), V16=t(16),
        W64x64=t(64, 64), W32x64=t(32, 64), W16x64=t(16, 64),
        W128x64=t(128, 64), W64x128=t(64, 128),
        BSQ=t(1, S, 64), BSKV=t(1, S, 32), BSR=t(1, S, 16), BSF=t(1, S, 128),
        B_S_4_16=t(1, S, 4, 16), B_S_2_16=t(1, S, 2, 16),
        B_4_S_16=t(1, 4, S, 16), B_2_S_16=t(1, 2, S, 16),
        B_2_2_S_16=t(1, 2, 2, S, 16), B_4_S_S=t(1, 4, S, S), S_S=t(S, S),
        B_4_S=t(1, 4, S),
        EPS="%.9e" % R.f32(EPS), BR2="%.9e" % R.f32(BR2),
        INV_FREQ="[" + ", ".join("%.9e" % v for v in f) + "]",
        PROJ_Q=proj("q2", "n1", t(1, S, DM), "wq", t(64, 64), 64, S),
        PROJ_K=proj("k2", "n1", t(1, S, DM), "wk", t(32, 64), 32, S),
        PROJ_V=proj("v2", "n1", t(1, S, DM), "wv", t(32, 64), 32, S),
        PROJ_O=proj("attn", "o2", t(1, S, DM), "wo", t(64, 64), 64, S),
        PROJ_R1=proj("r1", "h", t(1, S, DM), "wr1", t(16, 64), 16, S),
        PROJ_G=proj("gate", "n2", t(1, S, DM), "wg", t(128, 64), 128, S),
        PROJ_U=proj("up", "n2", t(1, S, DM), "wu", t(128, 64), 128, S),
        PROJ_D=proj("down", "act", t(1, S, 128), "wd", t(64, 128), 64, S),
        ROPE_Q=rope_text("qr", "q4", 4, S),
        ROPE_K=rope_text("kr", "k4", 2, S),
        RESOURCES=resource_entries([(n, w[n]) for n, _ in WEIGHTS]))
    with open(path, "w") as out:
        out.write(LINALG.format(**fmt))


TOSA_HEADER = """// The attention sublayer of examples/llama_decoder_layer.mlir written in TOSA,
// as a TOSA front end would emit it (generated by
// test/examples/Inputs/llama_layer.py, which also holds its numpy forward):
//
//   n1    = rmsnorm(x) * g1
//   q,k,v = n1 @ Wq^T, n1 @ Wk^T, n1 @ Wv^T     tosa.matmul on [1, K, N]
//                                              constants (the weights
//                                              transposed at export)
//   q,k   = q * cos + rotate_half(q) * sin      RoPE with constant tables
//   k,v   = tile of a unit dimension            GQA 4:2
//   a     = softmax(q k^T * 0.25 + mask) v      constant causal mask
//   h     = x + a @ Wo^T
//
// Same weights as the linalg example, sequence {S}. `sieve-opt
// --sieve-optimize` raises the attention into sieve.attention and makes it
// sieve.hybrid_attention (see test/examples/llama_attention_tosa.test).
"""


class Tosa:
    """Emits TOSA ops in their custom form, numbering the results."""

    def __init__(self):
        self.lines = []
        self.n = 0
        self.shapes = {}

    def op(self, name, operands, types, result, attrs=""):
        self.n += 1
        v = "%%t%d" % self.n
        self.lines.append("  %s = tosa.%s %s%s : (%s) -> %s" % (
            v, name, ", ".join(operands), attrs, ", ".join(types), result))
        return v

    def const(self, attr, ty):
        self.n += 1
        v = "%%c%d" % self.n
        self.lines.append('  %s = "tosa.const"() <{values = %s : %s}> : () '
                          '-> %s' % (v, attr, ty, ty))
        return v

    def shape(self, dims):
        self.n += 1
        v = "%%s%d" % self.n
        self.lines.append("  %s = tosa.const_shape {values = dense<[%s]> : "
                          "tensor<%dxindex>} : () -> !tosa.shape<%d>"
                          % (v, ", ".join(str(d) for d in dims), len(dims),
                             len(dims)))
        return v


def emit_tosa(path):
    s = S_TOSA
    w = make_weights()
    e = Tosa()
    f32 = "tensor<1xf32>"
    i8 = "tensor<1xi8>"
    e.lines.append("  %shift = \"tosa.const\"() <{values = dense<0> : "
                   "tensor<1xi8>}> : () -> tensor<1xi8>")
    e.lines.append("  %fzp = \"tosa.const\"() <{values = dense<0.0> : "
                   "tensor<1xf32>}> : () -> tensor<1xf32>")

    def mul(a, b, ta, tb, tr):
        return e.op("mul", [a, b, "%shift"], [ta, tb, i8], tr)

    def binop(name, a, b, ta, tb, tr):
        return e.op(name, [a, b], [ta, tb], tr)

    def unary(name, a, ta, tr=None):
        return e.op(name, [a], [ta], tr or ta)

    def reshape(a, ta, dims):
        tr = t(*dims)
        return e.op("reshape", [a, e.shape(dims)],
                    [ta, "!tosa.shape<%d>" % len(dims)], tr), tr

    def transpose(a, ta, perms, dims):
        tr = t(*dims)
        return e.op("transpose", [a], [ta], tr,
                    " {perms = array<i32: %s>}"
                    % ", ".join(str(p) for p in perms)), tr

    def matmul(a, b, ta, tb, tr):
        return e.op("matmul", [a, b, "%fzp", "%fzp"], [ta, tb, f32, f32], tr)

    X = t(1, s, DM)
    # RMSNorm.
    g1 = e.const("dense_resource<g1_3d>", t(1, 1, DM))
    sq = mul("%x", "%x", X, X, X)
    ss = e.op("reduce_sum", [sq], [X], t(1, s, 1), " {axis = 2 : i32}")
    inv_dm = e.const("dense<%.9e>" % (1.0 / DM), t(1, 1, 1))
    eps = e.const("dense<%.9e>" % R.f32(EPS), t(1, 1, 1))
    ms = mul(ss, inv_dm, t(1, s, 1), t(1, 1, 1), t(1, s, 1))
    var = binop("add", ms, eps, t(1, s, 1), t(1, 1, 1), t(1, s, 1))
    r = unary("rsqrt", var, t(1, s, 1))
    xn = mul("%x", r, X, t(1, s, 1), X)
    n1 = mul(xn, g1, X, t(1, 1, DM), X)

    def project(src, name, n):
        wt = e.const("dense_resource<%s_t>" % name, t(1, DM, n))
        return matmul(src, wt, X, t(1, DM, n), t(1, s, n))

    q2, k2, v2 = project(n1, "wq", 64), project(n1, "wk", 32), \
        project(n1, "wv", 32)

    def heads(v, h):
        v4, t4 = reshape(v, t(1, s, h * DH), [1, s, h, DH])
        return transpose(v4, t4, [0, 2, 1, 3], [1, h, s, DH])[0]

    q4, k4, v4 = heads(q2, HQ), heads(k2, HKV), heads(v2, HKV)
    cos = e.const("dense_resource<rope_cos>", t(1, 1, s, DH))
    sin = e.const("dense_resource<rope_sin>", t(1, 1, s, DH))
    zp = e.const("dense<0.0>", f32)

    def rope_t(v, h):
        ty = t(1, h, s, DH)
        half = t(1, h, s, DH // 2)
        lo = e.op("slice", [v, e.shape([0, 0, 0, 0]),
                            e.shape([1, h, s, DH // 2])],
                  [ty, "!tosa.shape<4>", "!tosa.shape<4>"], half)
        hi = e.op("slice", [v, e.shape([0, 0, 0, DH // 2]),
                            e.shape([1, h, s, DH // 2])],
                  [ty, "!tosa.shape<4>", "!tosa.shape<4>"], half)
        neg = e.op("negate", [hi, zp, zp], [half, f32, f32], half)
        rot = e.op("concat", [neg, lo], [half, half], ty, " {axis = 3 : i32}")
        a = mul(v, cos, ty, t(1, 1, s, DH), ty)
        b = mul(rot, sin, ty, t(1, 1, s, DH), ty)
        return binop("add", a, b, ty, ty, ty)

    qr, kr = rope_t(q4, HQ), rope_t(k4, HKV)

    def repeat(v):
        v5, t5 = reshape(v, t(1, HKV, s, DH), [1, HKV, 1, s, DH])
        tiled = e.op("tile", [v5, e.shape([1, 1, HQ // HKV, 1, 1])],
                     [t5, "!tosa.shape<5>"], t(1, HKV, HQ // HKV, s, DH))
        return reshape(tiled, t(1, HKV, HQ // HKV, s, DH), [1, HQ, s, DH])[0]

    kq, vq = repeat(kr), repeat(v4)
    q3, _ = reshape(qr, t(1, HQ, s, DH), [HQ, s, DH])
    k3, _ = reshape(kq, t(1, HQ, s, DH), [HQ, s, DH])
    v3, _ = reshape(vq, t(1, HQ, s, DH), [HQ, s, DH])
    kt, _ = transpose(k3, t(HQ, s, DH), [0, 2, 1], [HQ, DH, s])
    sc = matmul(q3, kt, t(HQ, s, DH), t(HQ, DH, s), t(HQ, s, s))
    sc4, _ = reshape(sc, t(HQ, s, s), [1, HQ, s, s])
    S4 = t(1, HQ, s, s)
    scale = e.const("dense<2.500000e-01>", t(1, 1, 1, 1))
    scaled = mul(sc4, scale, S4, t(1, 1, 1, 1), S4)
    # A dense literal (the fuse pass reads the triangle off it).
    rows = ["[%s]" % ", ".join("0.0" if j <= i else "0xFF800000"
                               for j in range(s)) for i in range(s)]
    mask = e.const("dense<[[[%s]]]>" % ",\n      ".join(rows), t(1, 1, s, s))
    logits = binop("add", scaled, mask, S4, t(1, 1, s, s), S4)
    R4 = t(1, HQ, s, 1)
    mx = e.op("reduce_max", [logits], [S4], R4, " {axis = 3 : i32}")
    d = binop("sub", logits, mx, S4, R4, S4)
    ex = unary("exp", d, S4)
    sm = e.op("reduce_sum", [ex], [S4], R4, " {axis = 3 : i32}")
    rc = unary("reciprocal", sm, R4)
    p = mul(ex, rc, S4, R4, S4)
    p3, _ = reshape(p, S4, [HQ, s, s])
    o3 = matmul(p3, v3, t(HQ, s, s), t(HQ, s, DH), t(HQ, s, DH))
    o4, _ = reshape(o3, t(HQ, s, DH), [1, HQ, s, DH])
    ot, _ = transpose(o4, t(1, HQ, s, DH), [0, 2, 1, 3], [1, s, HQ, DH])
    o2, _ = reshape(ot, t(1, s, HQ, DH), [1, s, DM])
    attn = project(o2, "wo", 64)
    h = binop("add", "%x", attn, X, X, X)
    e.lines.append("  return %s : %s" % (h, X))

    ang = (np.arange(s, dtype=np.float32)[:, None] *
           np.tile(inv_freq(), 2)[None, :]).astype(np.float32)
    blobs = [("g1_3d", w["g1"]), ("wq_t", w["wq"].T), ("wk_t", w["wk"].T),
             ("wv_t", w["wv"].T), ("wo_t", w["wo"].T),
             ("rope_cos", np.cos(ang.astype(np.float64)).astype(np.float32)),
             ("rope_sin", np.sin(ang.astype(np.float64)).astype(np.float32))]
    with open(path, "w") as out:
        out.write(TOSA_HEADER.format(S=s))
        out.write("\nfunc.func @llama_attention_tosa(%%x: %s) -> %s {\n"
                  % (X, X))
        out.write("\n".join(e.lines))
        out.write("\n}\n\n{-#\n  dialect_resources: {\n    builtin: {\n"
                  "      %s\n    }\n  }\n#-}\n" % resource_entries(blobs))


def tosa_weights(path):
    blobs = read_resources(path)
    w = {"g1": blobs["g1_3d"]}
    for name, shape in WEIGHTS:
        if name + "_t" in blobs:
            w[name] = blobs[name + "_t"].reshape(shape[::-1]).T.copy()
    return w


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def make_input(s, seed=SEED + 1):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(1, s, DM)).astype(np.float32)


def check_float(opts):
    w = weights_from(opts.graph)
    x = make_input(S)
    inputs = N.write_inputs(opts.workdir, "float", [x])
    out = N.sieve_run(opts.sieve_run, opts.graph, inputs,
                      os.path.join(opts.workdir, "float"))[0]
    ref, score = layer(x, w, causal(S))
    err = N.rel_err(out, ref)
    active = float(np.mean(score > THRESHOLD))
    margin = float(np.min(np.abs(score - THRESHOLD)))
    ok = err <= TOL and margin > 1e-4
    print("llama_decoder_layer float: err=%.2g (tol %g), router active "
          "ratio %.3f, min |score - %g| = %.2g %s"
          % (err, TOL, active, THRESHOLD, margin, "OK" if ok else "FAIL"))
    return 0 if ok else 1


QUANT_REMARK = re.compile(
    r":(\d+):\d+: remark: sieve-quantize: \S+ -> sieve.qmatmul with "
    r"(\d+)x(\d+) i(\d) weights, group_size (\d+).*\|error\| max "
    r"([0-9.e+-]+), mean ([0-9.e+-]+)")
SPARSE_REMARK = re.compile(
    r"remark: sieve-sparsify-attention: window\((\d+), (\d+)\) \+ (\d+) "
    r"sinks")


def weight_of_line(graph_text):
    """{line number of a projection's linalg.generic: weight name}."""
    lines = graph_text.splitlines()
    out = {}
    for i, line in enumerate(lines):
        m = re.match(r"\s*%\w+ = linalg.generic", line)
        if m and i + 1 < len(lines):
            w = re.search(r"ins\(%\w+, %(\w+) :", lines[i + 1])
            if w:
                out[i + 1] = w.group(1)   # 1-based line of the generic
    return out


def close3(printed, value):
    return abs(float(printed) - value) <= 0.006 * max(abs(value), 1e-30)


def check_optimized(opts):
    """sieve-run of the graph after `sieve-optimize=OPTIONS` against

    (a) the same layer in numpy with the sparsity pattern the pass reports
        (window + sinks) and, for every weight the pass reports quantizing,
        the weights quantized and dequantized here per the contract
        (sieve_reference.quantize, whose bit-exactness against the pass is
        checked by test/passes/sieve-quantize.mlir; the reported max/mean
        errors are checked against it here too): relative error <= 1e-5,
        the f32 tolerance of the float graph;
    (b) the float model (float weights, same sparsity): the deviation may
        not exceed the deviation of the quantized model of (a) from it plus
        that tolerance, i.e. the optimized graph adds nothing to the error
        that the reported quantization introduces.
    The deviation from the dense float layer (sparsity and quantization
    together) is printed for information: the model was not trained with
    the window, so it is large by design.
    """
    graph_text = open(opts.graph).read()
    w = weights_from(opts.graph)
    dst = os.path.join(opts.workdir, "optimized.mlir")
    remarks = N.sieve_opt(opts.sieve_opt, opts.graph, dst,
                          "--sieve-optimize=" + opts.options)
    optimized = open(dst).read()
    problems = []
    for op in ("sieve.hybrid_attention", "sieve.compact", "sieve.scatter",
               "sieve.qmatmul"):
        if op not in optimized:
            problems.append("no %s in the optimized graph" % op)

    m = SPARSE_REMARK.search(remarks)
    if not m:
        problems.append("no sparsify-attention remark with sinks")
        wl, wr, g = S, 0, 0
    else:
        wl, wr, g = int(m.group(1)), int(m.group(2)), int(m.group(3))
    visible = np.zeros((S, S), dtype=bool)
    for i in range(S):
        visible[i, R.hybrid_visible_set(i, S, S, set(range(g)), wl, wr, True,
                                        False)] = True

    lines = weight_of_line(graph_text)
    wq = dict(w)
    quantized = []
    for q in QUANT_REMARK.finditer(remarks):
        line, n, k, bits, gs = (int(q.group(i)) for i in range(1, 6))
        name = lines.get(line)
        if name is None or w[name].shape != (n, k):
            problems.append("remark at line %d names no %dx%d weight"
                            % (line, n, k))
            continue
        qv, sc = R.quantize(w[name], bits, gs)
        dq = R.dequantize(qv, sc, gs).astype(np.float32)
        err = np.abs(dq.astype(np.float64) - w[name])
        if not close3(q.group(6), err.max()) or \
                not close3(q.group(7), err.mean()):
            problems.append("%s: reported |error| max %s mean %s, numpy %.3e "
                            "%.3e" % (name, q.group(6), q.group(7),
                                      err.max(), err.mean()))
        wq[name] = dq
        quantized.append("%s(i%d,g%d)" % (name, bits, gs))

    x = make_input(S)
    out = N.sieve_run(opts.sieve_run, dst,
                      N.write_inputs(opts.workdir, "optimized", [x]),
                      os.path.join(opts.workdir, "optimized"))[0]
    ref_q, score_q = layer(x, wq, visible)
    ref_f, score_f = layer(x, w, visible)
    ref_dense, _ = layer(x, w, causal(S))
    err_q = N.rel_err(out, ref_q)
    err_f = N.rel_err(out, ref_f)
    bound = N.rel_err(ref_q, ref_f) + TOL
    margin = float(np.min(np.abs(score_q - THRESHOLD)))
    if err_q > TOL:
        problems.append("relative error %.3g against the quantized sparse "
                        "model > %g" % (err_q, TOL))
    if margin < 1e-4:
        problems.append("a router score lies within %.2g of the threshold"
                        % margin)
    if err_f > bound:
        problems.append("relative error %.3g against the float sparse model "
                        "exceeds the bound %.3g" % (err_f, bound))
    for p in problems:
        print("problem: " + p)
    print("llama_decoder_layer optimized: window(%d, %d) + %d sinks, "
          "quantized %s; router active %.3f (float model %.3f, %d tokens "
          "routed differently)" % (wl, wr, g, " ".join(quantized),
                                   float(np.mean(score_q > THRESHOLD)),
                                   float(np.mean(score_f > THRESHOLD)),
                                   int(np.sum((score_q > THRESHOLD) !=
                                              (score_f > THRESHOLD)))))
    print("llama_decoder_layer optimized: err vs quantized sparse model "
          "%.2g (tol %g); vs float sparse model %.3g (bound %.3g); vs dense "
          "float layer %.3g %s" % (err_q, TOL, err_f, bound,
                                   N.rel_err(out, ref_dense),
                                   "FAIL" if problems else "OK"))
    return 1 if problems else 0


def check_tosa(opts):
    """The TOSA attention sublayer against the forward: as it is, or, with
    --options, after sieve-optimize with the sparsity pattern its remark
    reports (no weight is quantized: the projections stay tosa.matmul)."""
    w = tosa_weights(opts.graph)
    graph = opts.graph
    visible = causal(S_TOSA)
    label = "float"
    problems = []
    if opts.options:
        label = "optimized"
        graph = os.path.join(opts.workdir, "tosa.optimized.mlir")
        remarks = N.sieve_opt(opts.sieve_opt, opts.graph, graph,
                              "--sieve-optimize=" + opts.options)
        if "sieve.hybrid_attention" not in open(graph).read():
            problems.append("no sieve.hybrid_attention: " + remarks.strip())
        m = SPARSE_REMARK.search(remarks)
        if m:
            wl, wr, g = int(m.group(1)), int(m.group(2)), int(m.group(3))
            label += " window(%d, %d) + %d sinks" % (wl, wr, g)
            visible = np.zeros((S_TOSA, S_TOSA), dtype=bool)
            for i in range(S_TOSA):
                visible[i, R.hybrid_visible_set(i, S_TOSA, S_TOSA,
                                                set(range(g)), wl, wr, True,
                                                False)] = True
    x = make_input(S_TOSA)
    out = N.sieve_run(opts.sieve_run, graph,
                      N.write_inputs(opts.workdir, "tosa", [x]),
                      os.path.join(opts.workdir, "tosa"))[0]
    ref = attention_sublayer(x.astype(np.float64),
                             {k: v.astype(np.float64) for k, v in w.items()},
                             visible)
    err = N.rel_err(out, ref)
    if err > TOL:
        problems.append("relative error %.3g > %g" % (err, TOL))
    for p in problems:
        print("problem: " + p)
    print("llama_attention_tosa %s: err=%.2g (tol %g) %s"
          % (label, err, TOL, "FAIL" if problems else "OK"))
    return 1 if problems else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emit-linalg")
    parser.add_argument("--emit-tosa")
    parser.add_argument("--check-float", action="store_true")
    parser.add_argument("--check-tosa", action="store_true")
    parser.add_argument("--check-optimized", action="store_true")
    parser.add_argument("--graph")
    parser.add_argument("--sieve-opt")
    parser.add_argument("--sieve-run")
    parser.add_argument("--workdir")
    parser.add_argument("--options", default="")
    opts = parser.parse_args()
    if opts.emit_linalg:
        emit_linalg(opts.emit_linalg)
        return 0
    if opts.emit_tosa:
        emit_tosa(opts.emit_tosa)
        return 0
    if opts.check_float:
        return check_float(opts)
    if opts.check_optimized:
        return check_optimized(opts)
    if opts.check_tosa:
        return check_tosa(opts)
    parser.error("nothing to do")


if __name__ == "__main__":
    sys.exit(main())
