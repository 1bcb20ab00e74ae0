"""Float64 numpy reference of the sieve dialect ops.

Written from the op contract in dialects/sieve/SieveOps.td alone, to serve as
an independent oracle for executors of sieve ops (sieve-run, and later the
SIMT emulator and the CUDA kernels). Every function takes numpy arrays that
hold the exact values fed to the executor (already rounded to the op's element
type) and computes in float64, except where the contract fixes the arithmetic
(quantize is computed in f32).

Only numpy and the standard library are used.
"""

import math

import numpy as np

QMAX = {8: 127, 4: 7}

# ---------------------------------------------------------------------------
# Element types
# ---------------------------------------------------------------------------


def round_bf16(x):
    """Rounds to bf16 (round to nearest, ties to even on the f32 bits);
    returns float32 values that are exactly representable in bf16."""
    a = np.atleast_1d(np.asarray(x, dtype=np.float32))
    bits = a.view(np.uint32).astype(np.uint64)
    one, sixteen = np.uint64(1), np.uint64(16)
    bits = (bits + np.uint64(0x7FFF) + ((bits >> sixteen) & one)) \
        & np.uint64(0xFFFF0000)
    out = bits.astype(np.uint32).view(np.float32).reshape(a.shape)
    out = np.where(np.isnan(a), np.float32(np.nan), out).astype(np.float32)
    return out.reshape(np.shape(x))


def is_bf16(x):
    a = np.asarray(x, dtype=np.float32)
    return bool(np.all((a.view(np.uint32) & 0xFFFF) == 0) or np.all(np.isnan(a)))


def round_to(x, elt):
    """Rounds float data to element type `elt` and returns the array in the
    dtype of its .npy file (bf16 travels as float32)."""
    x = np.asarray(x)
    if elt == "f32":
        return x.astype(np.float32)
    if elt == "f16":
        return x.astype(np.float16)
    if elt == "bf16":
        return round_bf16(x.astype(np.float32))
    raise ValueError("not a float element type: " + elt)


NPY_DTYPE = {
    "f32": np.float32,
    "f16": np.float16,
    "bf16": np.float32,
    "i64": np.int64,
    "i32": np.int32,
    "i8": np.int8,
    "i4": np.int8,
    "i1": np.bool_,
}


def f32(value):
    """The f32 value of a float attribute, as a Python float."""
    return float(np.float32(value))


def _scale(scale, d):
    return 1.0 / math.sqrt(d) if scale is None else f32(scale)


# ---------------------------------------------------------------------------
# sieve.attention
# ---------------------------------------------------------------------------


def attention(q, k, v, scale=None, causal=False):
    """Dense attention with GQA and bottom-right causal alignment.

    Returns the output [B, Hq, Sq, Dv] (float64) and the boolean array
    [Sq] of rows with an empty visible set (which must be exactly 0)."""
    q, k, v = (np.asarray(t, dtype=np.float64) for t in (q, k, v))
    B, Hq, Sq, D = q.shape
    Hkv, Sk, Dv = k.shape[1], k.shape[2], v.shape[3]
    assert Hq % Hkv == 0
    per_kv = Hq // Hkv
    s = _scale(scale, D)
    # Explicit mask matrix: visible[i, j].
    p = np.arange(Sq) + Sk - Sq
    j = np.arange(Sk)
    if causal:
        visible = j[None, :] <= p[:, None]
    else:
        visible = np.ones((Sq, Sk), dtype=bool)
    empty = ~visible.any(axis=1)
    out = np.zeros((B, Hq, Sq, Dv))
    for b in range(B):
        for h in range(Hq):
            kh = h // per_kv
            logits = s * (q[b, h] @ k[b, kh].T)
            logits = np.where(visible, logits, -np.inf)
            mx = logits.max(axis=1, keepdims=True)
            mx = np.where(np.isfinite(mx), mx, 0.0)
            w = np.where(visible, np.exp(logits - mx), 0.0)
            den = w.sum(axis=1, keepdims=True)
            den = np.where(den > 0, den, 1.0)
            out[b, h] = (w / den) @ v[b, kh]
    out[:, :, empty, :] = 0.0
    return out, empty


# ---------------------------------------------------------------------------
# Quantized scores (the attention ops' qk_precision)
# ---------------------------------------------------------------------------

QK_QMAX = {"i8": 127.0, "f8E4M3FN": 448.0}
QK_BLOCK = 64


def round_f8e4m3fn(y):
    """Rounds float32 values to the nearest f8E4M3FN value, ties to even,
    saturating at +-448 (as cvt.rn.satfinite); float32 results."""
    y = np.asarray(y, dtype=np.float32)
    exponent = ((y.view(np.uint32) >> np.uint32(23)) & np.uint32(0xFF))
    exponent = np.maximum(exponent.astype(np.int64) - 127, -6)
    quantum = np.ldexp(np.float32(1.0), exponent - 3).astype(np.float32)
    rounded = (np.round(y / quantum) * quantum).astype(np.float32)
    return np.clip(rounded, -448.0, 448.0).astype(np.float32)


def f8e4m3fn_values():
    """Every finite f8E4M3FN value (decoded from the bit patterns)."""
    values = []
    for bits in range(256):
        sign = -1.0 if bits & 0x80 else 1.0
        e, m = (bits >> 3) & 0xF, bits & 7
        if e == 15 and m == 7:
            continue  # NaN
        values.append(sign * (m / 8.0 * 2.0 ** -6 if e == 0
                              else (1 + m / 8.0) * 2.0 ** (e - 7)))
    return np.array(sorted(set(values)))


def quantize_score_blocks(x, precision, mean=None):
    """The quantized values of x [B, H, S, D] (minus mean [B, H, D]) per
    block of 64 rows, dequantized (value * scale) in float64, computed in
    f32 as the contract says."""
    qmax = np.float32(QK_QMAX[precision])
    x = np.asarray(x, dtype=np.float32)
    if mean is not None:
        x = (x - mean[:, :, None, :]).astype(np.float32)
    out = np.zeros(x.shape)
    for r0 in range(0, x.shape[2], QK_BLOCK):
        block = x[:, :, r0:r0 + QK_BLOCK, :]
        amax = np.abs(block).max(axis=(2, 3), keepdims=True).astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = (block * (qmax / amax).astype(np.float32)).astype(
                np.float32)
        if precision == "i8":
            q = np.clip(np.round(scaled), -127.0, 127.0)
        else:
            q = round_f8e4m3fn(scaled)
        q = np.where(amax > 0, q, 0.0)
        scale = (amax / qmax).astype(np.float32)
        out[:, :, r0:r0 + QK_BLOCK, :] = q.astype(np.float64) * scale
    return out


def quantized_query_key(q, k, precision):
    """The queries and keys whose exact products are the scores of
    qk_precision = precision (i8 or f8E4M3FN): per-block quantized queries
    and keys minus their per-channel mean over the sequence."""
    k32 = np.asarray(k, dtype=np.float32)
    mean = np.zeros(k32.shape[:2] + k32.shape[3:], dtype=np.float32)
    if k32.shape[2]:
        # f32 sums in ascending order (cumsum accumulates sequentially): each
        # 64-key block's, then the blocks' partial sums.
        partials = np.stack(
            [k32[:, :, r0:r0 + QK_BLOCK].cumsum(axis=2, dtype=np.float32)[:, :, -1]
             for r0 in range(0, k32.shape[2], QK_BLOCK)], axis=2)
        total = partials.cumsum(axis=2, dtype=np.float32)[:, :, -1]
        mean = (total / np.float32(k32.shape[2])).astype(np.float32)
    return (quantize_score_blocks(q, precision),
            quantize_score_blocks(k32, precision, mean))


# ---------------------------------------------------------------------------
# sieve.hybrid_attention
# ---------------------------------------------------------------------------


def valid_globals(globals_row, sk):
    """The set of global positions of one batch row: unused slots (negative
    or >= Sk) dropped, duplicates merged."""
    return {int(g) for g in np.asarray(globals_row).tolist() if 0 <= g < sk}


def hybrid_visible_set(i, sq, sk, glob, window_left, window_right, causal,
                       global_queries):
    """V(b, i) of the contract for query row i, as a sorted int array."""
    p = i + sk - sq
    if global_queries and p in glob:
        vis = set(range(sk))
    else:
        lo = max(0, p - window_left)
        hi = min(sk - 1, p + window_right)
        vis = set(range(lo, hi + 1)) | glob
    if causal:
        vis = {j for j in vis if j <= p}
    return np.array(sorted(vis), dtype=np.int64)


def hybrid_attention(q, k, v, globals_, window_left, window_right, scale=None,
                     causal=False, global_queries=False, block=64):
    """Sliding-window + global-token attention.

    The visible set of every row is built explicitly (hybrid_visible_set);
    the arithmetic is then done for blocks of rows over the union of their
    sets with a per-row mask, which keeps long sequences fast.

    Returns the output [B, Hq, Sq, Dv] (float64) and a boolean array
    [B, Sq] of rows with an empty visible set."""
    q, k, v = (np.asarray(t, dtype=np.float64) for t in (q, k, v))
    globals_ = np.asarray(globals_)
    B, Hq, Sq, D = q.shape
    Hkv, Sk, Dv = k.shape[1], k.shape[2], v.shape[3]
    assert Hq % Hkv == 0 and globals_.shape[0] == B
    per_kv = Hq // Hkv
    s = _scale(scale, D)
    out = np.zeros((B, Hq, Sq, Dv))
    empty = np.zeros((B, Sq), dtype=bool)
    for b in range(B):
        glob = valid_globals(globals_[b], Sk)
        sets = [hybrid_visible_set(i, Sq, Sk, glob, window_left, window_right,
                                   causal, global_queries) for i in range(Sq)]
        for i in range(Sq):
            empty[b, i] = len(sets[i]) == 0
        for r0 in range(0, Sq, block):
            rows = [i for i in range(r0, min(Sq, r0 + block)) if len(sets[i])]
            if not rows:
                continue
            cols = np.unique(np.concatenate([sets[i] for i in rows]))
            mask = np.zeros((len(rows), len(cols)), dtype=bool)
            for n, i in enumerate(rows):
                mask[n, np.searchsorted(cols, sets[i])] = True
            kk = k[b][:, cols, :]                                   # Hkv n D
            vv = v[b][:, cols, :]                                   # Hkv n Dv
            qq = q[b][:, rows, :].reshape(Hkv, per_kv, len(rows), D)
            logits = s * np.einsum("kgrd,knd->kgrn", qq, kk)
            logits = np.where(mask, logits, -np.inf)
            w = np.exp(logits - logits.max(axis=-1, keepdims=True))
            w = np.where(mask, w, 0.0)
            o = np.einsum("kgrn,kne->kgre", w, vv) / w.sum(-1, keepdims=True)
            out[b][:, rows, :] = o.reshape(Hq, len(rows), Dv)
    return out, empty


# ---------------------------------------------------------------------------
# sieve.select_global
# ---------------------------------------------------------------------------


def select_global(scores, count):
    """Positions of the `count` highest scores per row, ascending; ties to the
    lower position; NaN below every number including -inf."""
    scores = np.asarray(scores, dtype=np.float64)
    B, S = scores.shape
    assert 1 <= count <= S
    out = np.zeros((B, count), dtype=np.int32)
    for b in range(B):
        row = scores[b].tolist()

        def key(s):
            x = row[s]
            if math.isnan(x):
                return (1, 0.0, s)
            return (0, -x, s)

        order = sorted(range(S), key=key)
        out[b] = sorted(order[:count])
    return out


# ---------------------------------------------------------------------------
# sieve.gate
# ---------------------------------------------------------------------------


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def activation(name, x):
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "silu":
        return x * sigmoid(x)
    if name == "gelu":
        return x * (1.0 + _erf(x / math.sqrt(2.0))) / 2.0
    raise ValueError("unknown activation " + name)


def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def capacity_k(capacity, s):
    """k = max(1, round(capacity * S)) in double from the f32 attribute,
    halves away from zero."""
    x = f32(capacity) * float(s)
    f = math.floor(x)
    r = f + 1 if x - f >= 0.5 else f
    return max(1, int(r))


def topk_mask(row_scores, k):
    """Mask of the k highest scores of one row, ties to the lower position."""
    row = np.asarray(row_scores, dtype=np.float64)
    order = sorted(range(len(row)), key=lambda s: (-row[s], s))
    mask = np.zeros(len(row), dtype=bool)
    mask[order[:k]] = True
    return mask


def gate(x, w1, b1, w2, b2, act, threshold=None, capacity=None):
    """score [B, S] float64 and mask [B, S] bool; also returns k (capacity) or
    None."""
    x, w1, b1, w2 = (np.asarray(t, dtype=np.float64) for t in (x, w1, b1, w2))
    b2 = float(np.asarray(b2, dtype=np.float64))
    hidden = activation(act, x @ w1.T + b1)
    score = sigmoid(hidden @ w2 + b2)
    assert (threshold is None) != (capacity is None)
    if threshold is not None:
        return score, score > f32(threshold), None
    k = capacity_k(capacity, score.shape[1])
    mask = np.stack([topk_mask(row, k) for row in score])
    return score, mask, k


# ---------------------------------------------------------------------------
# sieve.compact / sieve.scatter
# ---------------------------------------------------------------------------


def compact(x, mask):
    x = np.asarray(x)
    mask = np.asarray(mask, dtype=bool)
    B, S = mask.shape
    packed = np.zeros_like(x)
    positions = np.full((B, S), -1, dtype=np.int32)
    count = np.zeros(B, dtype=np.int32)
    for b in range(B):
        r = 0
        for s in range(S):
            if mask[b, s]:
                packed[b, r] = x[b, s]
                positions[b, r] = s
                r += 1
        count[b] = r
    return packed, positions, count


def scatter(packed, positions, base):
    """Returns the result and, for positions named more than once, the list of
    candidate packed rows ({(b, pos): [r, ...]}), any of which may win."""
    out = np.array(base, copy=True)
    positions = np.asarray(positions)
    B, S = positions.shape
    writers = {}
    for b in range(B):
        for r in range(S):
            pos = int(positions[b, r])
            if 0 <= pos < S:
                writers.setdefault((b, pos), []).append(r)
                out[b, pos] = packed[b, r]
    dups = {key: rs for key, rs in writers.items() if len(rs) > 1}
    return out, dups


# ---------------------------------------------------------------------------
# Quantization
# ---------------------------------------------------------------------------


def quantize(x, bits, group_size):
    """Symmetric per-group quantization, computed in f32 as the contract
    says: scale = max|x| / qmax, q = clamp(rint_half_even(x / scale))."""
    x = np.asarray(x).astype(np.float32)  # exact for f16 and bf16 values
    qmax = np.float32(QMAX[bits])
    K = x.shape[-1]
    gs = K if group_size == 0 else group_size
    assert K % gs == 0
    g = x.reshape(x.shape[:-1] + (K // gs, gs))
    with np.errstate(all="ignore"):
        bad = ~np.all(np.isfinite(g), axis=-1)
        absmax = np.max(np.abs(g), axis=-1)
        scale = (absmax / qmax).astype(np.float32)
        zero = absmax == 0
        q = np.rint((g / scale[..., None]).astype(np.float32))
        q = np.clip(q, -qmax, qmax)
        q = np.where((bad | zero)[..., None], 0.0, q)
    scale = np.where(bad, np.float32(np.nan), scale).astype(np.float32)
    return q.astype(np.int8).reshape(x.shape), scale


def expand_scales(scales, k, group_size):
    scales = np.asarray(scales, dtype=np.float64)
    if group_size == 0:
        assert scales.shape[-1] == 1
        return np.broadcast_to(scales, scales.shape[:-1] + (k,))
    return np.repeat(scales, group_size, axis=-1)


def dequantize(values, scales, group_size):
    values = np.asarray(values, dtype=np.float64)
    return values * expand_scales(scales, values.shape[-1], group_size)


def qmatmul(x, weight_values, weight_scales, bias, group_size):
    x = np.asarray(x, dtype=np.float64)
    w = dequantize(weight_values, weight_scales, group_size)   # [N, K]
    y = x @ w.T
    if bias is not None:
        y = y + np.asarray(bias, dtype=np.float64)
    return y
