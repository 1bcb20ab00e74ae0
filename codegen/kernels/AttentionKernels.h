//===- AttentionKernels.h - Kernels of sieve.attention and hybrid -*- C++ -*-===//
//
// Two implementations of the attention ops:
//  * the tensor-core kernels (AttentionKernels.cpp): a CTA per query block
//    walks exactly the key blocks its rows can see (the window's band, then
//    a gathered tile of the global keys), with an online softmax and
//    mma.sync products; split-K kernels for global query rows and for
//    decoding. They take f16/bf16 with a static head dimension in the tile
//    table (AttentionTiles.h) and equal key and value head dimensions.
//  * the simple SIMT kernel (SieveOpKernels.cpp), one thread per query row,
//    for every other shape the contract allows.
// buildAttentionOp picks one; docs/kernels.md states the rule.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_KERNELS_ATTENTIONKERNELS_H
#define SIEVE_CODEGEN_KERNELS_ATTENTIONKERNELS_H

#include "codegen/BundleBuilder.h"

#include "llvm/ADT/APFloat.h"

#include <optional>
#include <string>

namespace mlir {
namespace sieve {

/// sieve.attention (no `globals`) or sieve.hybrid_attention.
struct AttentionConfig {
  Value query, key, value, globals, result;
  std::optional<llvm::APFloat> scale;
  bool causal = false;
  int64_t windowLeft = 0, windowRight = 0;
  bool globalQueries = false;
  /// The scores' quantization (qk_precision i8 or f8E4M3FN), or null.
  Type scoreQuantization;

  bool isHybrid() const { return static_cast<bool>(globals); }
};

AttentionConfig getAttentionConfig(Operation *op);

/// Compiles an attention op with the tensor-core kernels when its shape
/// qualifies for `target`, else with the simple kernel.
LogicalResult buildAttentionOp(Operation *op, BundleBuilder &bundle);

/// The queries and keys that an op with quantized scores (qk_precision)
/// computes its scores from: dense [B, H, S, D] buffers of the quantized
/// values, of `valueType` (i8: the int8 values or the f8E4M3FN bits; or the
/// element type, which holds each value exactly), and the f32 scales of
/// their 64-row blocks [B, H, ceil(S / 64)].
struct QuantizedQueryKey {
  std::string queries, keys, queryScales, keyScales;
  DType valueDType;
};

/// Adds the kernels that compute them (the keys' mean, then the quantizing
/// of queries and keys) and their launches for `op`.
QuantizedQueryKey launchScoreQuantization(Operation *op, BundleBuilder &bundle,
                                          const AttentionConfig &config,
                                          Type valueType);

/// The simple kernel (SieveOpKernels.cpp).
LogicalResult buildSimpleAttention(Operation *op, BundleBuilder &bundle,
                                   const AttentionConfig &config);

/// Why the tensor-core kernels cannot take `config` on `target`, or nothing
/// if they can.
std::optional<std::string> whyNoTensorCoreAttention(const AttentionConfig &config,
                                                    StringRef target);

/// Whether operand `index` of the attention op `op` is read through strides
/// passed at run time (the query, key and value of the tensor-core kernels).
bool attentionReadsStridedOperand(Operation *op, unsigned index,
                                  StringRef target);

/// The work an attention op's kernels do, counted on the CPU from the
/// tiling: score entries (query row x key) computed, against the dense
/// B x Hq x Sq x Sk. `seqLen` gives dynamic sequence lengths, and 1 any other
/// dynamic dimension; fails for a dynamic sequence length without it.
/// `sieve-compile --stats` prints it.
struct AttentionWork {
  std::string kernel;
  int64_t batch = 0, queryHeads = 0, kvHeads = 0, queryLen = 0, keyLen = 0;
  int64_t numGlobals = 0;
  /// Score entries the kernels compute (whole tiles; the simple kernel's:
  /// two passes over each row's visible keys, globals counted whole) and
  /// the dense count.
  int64_t computed = 0, dense = 0;
  /// K/V tiles the CTAs of the band (or decoding) kernel visit, summed over
  /// CTAs; the emulator's work units of that launch.
  int64_t tilesVisited = 0;
  /// Score entries of the global query rows' split-K kernel (an upper bound:
  /// it counts every global slot as a query row).
  int64_t globalRowsComputed = 0;
};
FailureOr<AttentionWork> estimateAttentionWork(Operation *op, StringRef target,
                                               std::optional<int64_t> seqLen);

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_KERNELS_ATTENTIONKERNELS_H
