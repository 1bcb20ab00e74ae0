//===- AttentionKernels.cpp - Tensor-core hybrid and dense attention ------===//
//
// The fast kernels of sieve.hybrid_attention and sieve.attention (a dense
// attention is a hybrid one whose band is everything and which has no
// globals). docs/kernels.md has the pictures; in short:
//
//  band kernel     one CTA per (query block, kv head, batch). A query block
//                  is blockM "packed" rows: row P of kv head kh is query row
//                  i = P / r of query head kh * r + P % r (r = Hq / Hkv), so
//                  all query heads sharing a kv head use one load of each
//                  K/V tile (GQA/MQA). The block's rows sit at key positions
//                  [p_lo, p_hi] (p = i + Sk - Sq); the CTA visits the key
//                  blocks meeting [p_lo - left, p_hi + right] (clipped to
//                  [0, Sk)), then ceil(G / width) gathered tiles of the
//                  global keys, and nothing else. Tiles that some row sees
//                  only partly (window edges, the causal diagonal, the end
//                  of the sequence) get element masks; the others run
//                  unmasked. Global keys inside a row's window (or after it,
//                  when causal) are masked in the globals tile, so each key
//                  counts once.
//  decode kernel   Sq <= 16: 16 packed rows per CTA, the CTA's tiles split
//                  over the grid (flash-decoding), and inside the CTA the
//                  warps split the keys of each tile; partial results
//                  (unnormalized O, running max m, sum l) are merged by the
//                  merge kernel.
//  global rows     with global_queries, the rows at global positions see
//                  every key: packed rows of global slots, the key blocks
//                  split over the grid (split-K), partials merged by the
//                  merge kernel, which overwrites those rows of the band
//                  kernel's output.
//
// Per tile, per warp: S = Q K^T (mma.sync, K from shared memory by
// ldmatrix), scores scaled by scale * log2(e) in one multiply, the online
// softmax in f32 registers (running max m and sum l per row, exp2), P
// rounded to the element type and used from registers as the A operand of
// O += P V (V by ldmatrix.trans). K/V tiles are double-buffered: the
// cp.async copies of tile i + 1 fly while tile i is computed. Shared-memory
// rows are padded by 16 bytes, so that ldmatrix and cp.async touch every
// bank group once. Operands are addressed through strides passed at run
// time. The matrix products go through WarpMma (the instruction layer);
// nothing here names an instruction.
//
// On sm_90a (the tile table's warpgroupMma) the band and global-rows
// kernels use WarpgroupMma's wgmma for the two products instead, and are
// warp-specialised: consumer warpgroups compute (taking the band kernel's
// query tile by TMA when they can), a producer warpgroup loads
// K and V (band tiles by TMA, globals tiles by cp.async) into swizzled
// stages handed over by full/empty mbarriers, the consumers take turns to
// issue their products (ping-pong), and each runs a tile's softmax while
// the previous tile's P V multiplies. docs/kernels.md draws the pipeline.
//
//===----------------------------------------------------------------------===//

#include "codegen/kernels/AttentionKernels.h"

#include "codegen/kernels/AttentionTiles.h"
#include "codegen/kernels/WarpMma.h"
#include "codegen/kernels/WarpgroupMma.h"
#include "codegen/nvptx/PTXEmitter.h"

#include "dialects/sieve/SieveOps.h"
#include "passes/ScalarCode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::sieve;
using Pred = arith::CmpIPredicate;

namespace {
/// Integer arithmetic that reads like the formulas it implements, on values
/// of one type: `index` for element offsets into global memory (64 bits),
/// i32 for the kernels' bookkeeping (rows, positions, tiles, masks), which
/// keeps it in one register per value. Divisions and remainders are of
/// non-negative values.
struct IntMath {
  ImplicitLocOpBuilder &b;
  Type type;

  static IntMath index(ImplicitLocOpBuilder &b) {
    return {b, b.getIndexType()};
  }
  static IntMath i32(ImplicitLocOpBuilder &b) { return {b, b.getI32Type()}; }

  Value add(Value x, Value y) { return b.createOrFold<arith::AddIOp>(x, y); }
  Value sub(Value x, Value y) { return b.createOrFold<arith::SubIOp>(x, y); }
  Value mul(Value x, Value y) { return b.createOrFold<arith::MulIOp>(x, y); }
  Value div(Value x, Value y) { return b.createOrFold<arith::DivSIOp>(x, y); }
  Value rem(Value x, Value y) { return b.createOrFold<arith::RemSIOp>(x, y); }
  Value min(Value x, Value y) { return b.createOrFold<arith::MinSIOp>(x, y); }
  Value max(Value x, Value y) { return b.createOrFold<arith::MaxSIOp>(x, y); }
  Value ceilDiv(Value x, Value y) {
    return b.createOrFold<arith::CeilDivSIOp>(x, y);
  }
  Value c(int64_t value) {
    if (type.isIndex())
      return indexConst(b, value);
    return arith::ConstantIntOp::create(b, type, value);
  }
  Value lt(Value x, Value y) { return cmpIndex(b, Pred::slt, x, y); }
  Value le(Value x, Value y) { return cmpIndex(b, Pred::sle, x, y); }
  Value eq(Value x, Value y) { return cmpIndex(b, Pred::eq, x, y); }
  Value sel(Value cond, Value x, Value y) {
    return b.createOrFold<arith::SelectOp>(cond, x, y);
  }
  /// `x` (index or i32) in this type (sign-extended or truncated).
  Value from(Value x) {
    if (x.getType() == type)
      return x;
    return b.createOrFold<arith::IndexCastOp>(type, x);
  }
};

enum class Variant { Band, Decode, GlobalRows };

/// What the kernels of one op share.
struct Plan {
  AttentionConfig config;
  AttentionTiles tiles;
  Type elementType;
  int64_t headDim = 0;
  /// scale * log2(e): scores in base 2.
  float scaleLog2 = 0;
  /// A hybrid op whose globals may be non-empty.
  bool hasGlobals = false;
  /// Keys per gathered tile of globals: roundUp(G, 16) for a static G below
  /// blockN, else blockN.
  int64_t globalsWidth = 0;
  /// Window bounds; nullopt is unbounded (dense attention).
  std::optional<int64_t> windowLeft, windowRight;
  /// Whether the scores are quantized (qk_precision): q and k then hold the
  /// quantized values, and the scores are scaled per query row and key by
  /// the blocks' scales.
  bool quantizedScores = false;
  /// The operand type of S = Q K^T: i8 for i8 scores (the integer mma),
  /// f8E4M3FN for f8E4M3FN scores on targets with its mma, else the
  /// element type (which holds every quantized value exactly).
  Type scoreElementType;
  /// Query heads per kv head when both head counts are static, else 0.
  int64_t staticHeadRatio = 0;

  /// The type q and k are stored in: i8 for 8-bit operands (their bytes).
  Type getScoreStorageType() const {
    if (scoreElementType.getIntOrFloatBitWidth() == 8)
      return IntegerType::get(scoreElementType.getContext(), 8);
    return scoreElementType;
  }
};

/// Parameter indices of the core kernels (band, decode, global rows), which
/// all take the same list.
struct CoreParams {
  unsigned q, k, v, globals, out, partO, partML, queryScales, keyScales;
  unsigned batch, queryHeads, kvHeads, queryLen, keyLen, numGlobals;
  unsigned qStride[3], kStride[3], vStride[3], oStride[3];
  unsigned tilesPerSplit, numSplits, rowsPadded;
  /// With wgmma (usesWarpgroupMma): the tensor maps of K and V, which
  /// follow the other parameters, then with loadsQueryByTma Q's.
  unsigned kMap = 0, vMap = 0, qMap = 0;
};

/// Index values of one packed query row.
struct RowRef {
  Value valid;
  Value queryRow, head, position;
};
} // namespace

static Value negInf(ImplicitLocOpBuilder &b) {
  return f32Const(b, -std::numeric_limits<double>::infinity());
}

static Value isNegInf(ImplicitLocOpBuilder &b, Value x) {
  return arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, x, negInf(b));
}

static Value exp2(ImplicitLocOpBuilder &b, Value x) {
  return math::Exp2Op::create(b, x);
}

static const char *getVariantName(Variant variant) {
  switch (variant) {
  case Variant::Band:
    return "band";
  case Variant::Decode:
    return "decode";
  case Variant::GlobalRows:
    return "global_rows";
  }
  return "";
}

/// Shared-memory layout of a core kernel (dynamic shared memory, bytes).
namespace {
struct SharedLayout {
  /// Q and K rows hold D elements of the score element type, V rows D of
  /// the element type, each padded by 16 bytes (`pitch` elements), except
  /// Q rows loaded by TMA (queryPitch D).
  int64_t rows, scorePitch, queryPitch, valuePitch, qBytes, kBytes, vBytes,
      total;
  int64_t mergeOffset = 0, mergeMLOffset = 0;
  /// With quantized scores: the f32 scale of each query row of the CTA.
  int64_t rowScalesOffset = 0;
  /// With wgmma, K and V are SwizzledTiles (no padding, K in the score
  /// type) from the first 1024-byte boundary at or after qBytes; `total`
  /// has room for the gap. The kernel is then warp-specialised (see
  /// buildCoreKernel): its stages are handed between the producer and the
  /// consumers by mbarriers, `full` then `empty` per stage (8 bytes each,
  /// from barriersOffset).
  bool swizzledKV = false;
  int64_t barriersOffset = 0;
  /// The K/V stages: the tile table's with wgmma, else 2 (the cp.async
  /// pipeline double-buffers).
  int64_t stages = 2;
  /// With loadsQueryByTma: the query tile, dense, starts at the first
  /// 1024-byte boundary (the K tiles at the next one after it), and its
  /// mbarrier follows the stages'.
  bool queryByTma = false;
};
} // namespace

/// Whether `variant`'s warps keep their query rows in registers for the
/// whole loop (the tile table's column for its score type).
static bool isQueryInRegisters(const Plan &plan, Variant variant) {
  bool f8Scores = plan.quantizedScores && !plan.scoreElementType.isInteger(8);
  return f8Scores && variant != Variant::Decode
             ? plan.tiles.queryInRegistersF8Scores
             : plan.tiles.queryInRegisters;
}

/// Whether `variant`'s products are wgmma (WarpgroupMma): on tiles that ask
/// for it, where a warpgroup's rows are its warps' rows (not in the
/// decoding kernel, whose warps split the keys), with Q in registers (the
/// A operand of S = Q K^T) and scores exact or on 8-bit operands.
static bool usesWarpgroupMma(const Plan &plan, Variant variant) {
  Type scoreType = plan.scoreElementType;
  return plan.tiles.warpgroupMma && variant != Variant::Decode &&
         isQueryInRegisters(plan, variant) &&
         (scoreType == plan.elementType ||
          scoreType.getIntOrFloatBitWidth() == 8);
}

/// Whether `variant` loads its query tile by TMA: the band kernel with
/// wgmma, when a CTA's packed rows are whole groups of the r query heads of
/// a kv head (r static and dividing blockM), so that the tile is one box of
/// Q seen as [B, Hkv, Sq, r, D] (the global-rows kernel gathers its rows).
static bool loadsQueryByTma(const Plan &plan, Variant variant) {
  return usesWarpgroupMma(plan, variant) && variant == Variant::Band &&
         plan.staticHeadRatio > 0 &&
         plan.tiles.blockM % plan.staticHeadRatio == 0;
}

static SharedLayout getSharedLayout(const Plan &plan, Variant variant) {
  const AttentionTiles &tiles = plan.tiles;
  SharedLayout layout;
  bool decode = variant == Variant::Decode;
  layout.rows = decode ? tiles.decodeRows : tiles.blockM;
  int64_t scoreBytes = plan.scoreElementType.getIntOrFloatBitWidth() / 8;
  layout.scorePitch = tiles.headDim + 16 / scoreBytes;
  layout.queryByTma = loadsQueryByTma(plan, variant);
  layout.queryPitch = layout.queryByTma ? tiles.headDim : layout.scorePitch;
  layout.valuePitch = tiles.pitch();
  layout.qBytes = layout.rows * layout.queryPitch * scoreBytes;
  layout.kBytes = layout.stages * tiles.blockN * layout.scorePitch * scoreBytes;
  layout.vBytes = layout.stages * tiles.blockN * layout.valuePitch * 2;
  int64_t kvGap = 0;
  if (usesWarpgroupMma(plan, variant)) {
    layout.swizzledKV = true;
    layout.stages = tiles.stages;
    layout.kBytes =
        layout.stages *
        SwizzledTiles::getStageBytes(tiles.blockN, tiles.headDim, scoreBytes);
    layout.vBytes = layout.stages * SwizzledTiles::getStageBytes(
                                        tiles.blockN, tiles.headDim, 2);
    kvGap = SwizzledTiles::kAlignment;
    if (layout.queryByTma)
      kvGap += llvm::alignTo(layout.qBytes, SwizzledTiles::kAlignment) -
               layout.qBytes;
  }
  // The band kernel stages its output tile (element type) at offset 0.
  layout.total = std::max(layout.qBytes + kvGap + layout.kBytes + layout.vBytes,
                          layout.rows * layout.valuePitch * 2);
  if (decode) {
    // The warps' partial results, merged in f32 after the loop, reuse the
    // K/V buffers.
    int64_t warps = tiles.blockN / WarpMma::kRows;
    layout.mergeOffset = layout.qBytes;
    layout.mergeMLOffset =
        layout.mergeOffset + warps * WarpMma::kRows * tiles.headDim * 4;
    layout.total = std::max(layout.total,
                            layout.mergeMLOffset + warps * WarpMma::kRows * 8);
  }
  if (plan.quantizedScores) {
    layout.rowScalesOffset = layout.total;
    layout.total += layout.rows * 4;
  }
  if (layout.swizzledKV) {
    layout.barriersOffset = (layout.total + 7) / 8 * 8;
    layout.total = layout.barriersOffset + 2 * layout.stages * 8 +
                   (layout.queryByTma ? 8 : 0);
  }
  return layout;
}

/// The producer warpgroup a warp-specialised kernel adds to its consumers'
/// warps, and the registers setmaxnreg gives each thread of either: the
/// producer only issues copies, the consumers keep S, O and Q; together
/// 40 * 128 + 232 * 256 = 64512 of the 65536 registers of an SM.
static constexpr int64_t kProducerThreads = 128;
static constexpr int64_t kProducerRegisters = 40;
static constexpr int64_t kConsumerRegisters = 232;
/// The suspend-time hint of mbarrier.try_wait.parity (ns), as CUTLASS's.
static constexpr int64_t kWaitTicks = 10000000;

/// The threads of a CTA of `variant`'s kernel.
static int64_t getCoreThreads(const Plan &plan, Variant variant) {
  if (variant == Variant::Decode)
    return plan.tiles.blockN / WarpMma::kRows * 32;
  return plan.tiles.threads() +
         (usesWarpgroupMma(plan, variant) ? kProducerThreads : 0);
}

/// Emits the band, decode or global-rows kernel of `plan`.
static KernelDecl buildCoreKernel(const Plan &plan, Variant variant,
                                  BundleBuilder &bundle, Location loc) {
  const AttentionTiles &tiles = plan.tiles;
  const bool decode = variant == Variant::Decode;
  const bool globalRows = variant == Variant::GlobalRows;
  const bool split = variant != Variant::Band;
  const bool causal = plan.config.causal;
  const int64_t D = plan.headDim, BN = tiles.blockN;
  const int64_t warps = decode ? BN / WarpMma::kRows : tiles.warps;
  const int64_t threads = warps * 32;
  const SharedLayout layout = getSharedLayout(plan, variant);
  const int64_t rows = layout.rows;
  const int64_t stages = layout.stages;
  const bool withGlobals = plan.hasGlobals && !globalRows;
  // In the decoding kernel each warp takes 16 keys of every tile.
  const int64_t globalsWidth = decode ? BN : plan.globalsWidth;
  const bool queryInRegisters = isQueryInRegisters(plan, variant);
  Type elementType = plan.elementType;
  MLIRContext *ctx = elementType.getContext();
  Type f32 = Float32Type::get(ctx);
  Type i32 = IntegerType::get(ctx, 32);

  KernelBuilder kb = bundle.newKernel(
      (Twine("attention_") + getVariantName(variant)).str(), loc);
  CoreParams p;
  p.q = kb.addBuffer(plan.getScoreStorageType());
  p.k = kb.addBuffer(plan.getScoreStorageType());
  p.v = kb.addBuffer(elementType);
  p.globals = kb.addBuffer(i32);
  p.out = kb.addBuffer(elementType);
  p.partO = kb.addBuffer(f32);
  p.partML = kb.addBuffer(f32);
  p.queryScales = kb.addBuffer(f32);
  p.keyScales = kb.addBuffer(f32);
  for (unsigned *scalar : {&p.batch, &p.queryHeads, &p.kvHeads, &p.queryLen,
                           &p.keyLen, &p.numGlobals})
    *scalar = kb.addScalar();
  for (unsigned *strides : {p.qStride, p.kStride, p.vStride, p.oStride})
    for (int d = 0; d < 3; ++d)
      strides[d] = kb.addScalar();
  p.tilesPerSplit = kb.addScalar();
  p.numSplits = kb.addScalar();
  p.rowsPadded = kb.addScalar();
  if (usesWarpgroupMma(plan, variant)) {
    p.kMap = kb.addTensorMap();
    p.vMap = kb.addTensorMap();
  }
  if (layout.queryByTma)
    p.qMap = kb.addTensorMap();

  kb.setMinBlocksPerSm(decode       ? tiles.decodeBlocksPerSm
                       : globalRows ? tiles.globalRowsBlocksPerSm
                                    : tiles.bandBlocksPerSm);
  // With wgmma the kernel is warp-specialised: `threads` consumers (the
  // warps that own query rows and compute) and a producer warpgroup after
  // them that loads every K/V tile.
  const bool specialized = layout.swizzledKV;
  ImplicitLocOpBuilder &b = kb.begin({getCoreThreads(plan, variant), 1, 1});
  // m: 64-bit element offsets into global memory and shared-memory
  // indices; n: everything else, in 32 bits (the provider checks that the
  // sizes fit).
  IntMath m = IntMath::index(b);
  IntMath n = IntMath::i32(b);
  Value qBuf = kb.buffer(p.q), kBuf = kb.buffer(p.k), vBuf = kb.buffer(p.v),
        gBuf = kb.buffer(p.globals), outBuf = kb.buffer(p.out),
        partOBuf = kb.buffer(p.partO), partMLBuf = kb.buffer(p.partML);
  auto scalar32 = [&](unsigned index) { return n.from(kb.scalar(index)); };
  Value B = scalar32(p.batch), Hq = scalar32(p.queryHeads),
        Hkv = scalar32(p.kvHeads), Sq = scalar32(p.queryLen),
        Sk = scalar32(p.keyLen), G = scalar32(p.numGlobals);
  auto strides = [&](unsigned *indices) {
    return std::array<Value, 3>{kb.scalar(indices[0]), kb.scalar(indices[1]),
                                kb.scalar(indices[2])};
  };
  std::array<Value, 3> qs = strides(p.qStride), ks = strides(p.kStride),
                       vs = strides(p.vStride), os = strides(p.oStride);
  Value tilesPerSplit = scalar32(p.tilesPerSplit);
  Value numSplits = scalar32(p.numSplits);
  Value rowsPadded = scalar32(p.rowsPadded);

  Value tidIndex = kb.threadIdX();
  Value tid = n.from(tidIndex);
  Value warp = n.div(tid, n.c(32));
  Value laneIndex = m.rem(tidIndex, m.c(32));
  WarpMma mma(b, elementType, laneIndex);
  // S = Q K^T: the same instruction, or the 8-bit one (s8, e4m3) for
  // quantized scores.
  WarpMma scoreMma(b, plan.scoreElementType, laneIndex);
  Value bx = n.from(kb.blockIdX());
  Value kh = n.from(kb.blockId(gpu::Dimension::y));
  Value bi = n.from(kb.blockId(gpu::Dimension::z));
  Value ratio = n.div(Hq, n.max(Hkv, n.c(1)));
  Value splitIndex = split ? n.rem(bx, numSplits) : n.c(0);
  Value rowTile = split ? n.div(bx, numSplits) : bx;
  Value firstRow = n.mul(rowTile, n.c(rows));
  Value numRows = n.mul(globalRows ? G : Sq, ratio);
  Value endRow = n.min(n.add(firstRow, n.c(rows)), numRows);

  // The deduplicated globals (-1 for unused slots); `t` must be in [0, G).
  Value globalsRow = n.mul(bi, G);
  auto loadGlobal = [&](Value t) {
    return kb.load(gBuf, m.from(n.add(globalsRow, t)));
  };
  auto rowRef = [&](Value row) {
    RowRef ref;
    Value inRange = n.lt(row, numRows);
    ref.head = n.add(n.mul(kh, ratio), n.rem(row, ratio));
    if (!globalRows) {
      ref.queryRow = n.div(row, ratio);
      ref.valid = inRange;
      ref.position = n.sub(n.add(ref.queryRow, Sk), Sq);
      return ref;
    }
    Value slot = n.min(n.div(row, ratio), n.sub(G, n.c(1)));
    Value g = n.sel(inRange, loadGlobal(slot), n.c(-1));
    Value queryRow = n.sub(n.add(g, Sq), Sk);
    ref.valid = andI1(b, inRange,
                      andI1(b, n.le(n.c(0), g), n.le(n.c(0), queryRow)));
    ref.queryRow = n.sel(ref.valid, queryRow, n.c(0));
    ref.position = g;
    return ref;
  };
  // Element offset of a packed row in q or out (64 bits).
  auto rowOffset = [&](const std::array<Value, 3> &s, const RowRef &ref) {
    return m.add(m.add(m.mul(m.from(bi), s[0]), m.mul(m.from(ref.head), s[1])),
                 m.mul(m.from(ref.queryRow), s[2]));
  };

  // Key positions [lo, hi] of the CTA's rows.
  Value positionLo, positionHi;
  if (!globalRows) {
    positionLo = n.sub(n.add(n.div(firstRow, ratio), Sk), Sq);
    positionHi = n.sub(n.add(n.div(n.sub(endRow, n.c(1)), ratio), Sk), Sq);
  } else {
    auto loop = scf::ForOp::create(
        b, n.div(firstRow, ratio),
        n.add(n.div(n.sub(endRow, n.c(1)), ratio), n.c(1)), n.c(1),
        ValueRange{Sk, n.c(-1)});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value g = loadGlobal(loop.getInductionVar());
      Value valid = andI1(b, n.le(n.c(0), g), n.le(Sk, n.add(g, Sq)));
      ValueRange args = loop.getRegionIterArgs();
      Value lo = n.sel(valid, n.min(args[0], g), args[0]);
      Value hi = n.sel(valid, n.max(args[1], g), args[1]);
      scf::YieldOp::create(b, ValueRange{lo, hi});
    }
    positionLo = loop.getResult(0);
    positionHi = loop.getResult(1);
  }

  // Window bounds, clipped so that p - left and p + right stay in 32 bits.
  Value reach = n.add(Sk, Sq);
  Value left = plan.windowLeft ? n.min(n.c(*plan.windowLeft), reach) : reach;
  Value right = causal ? n.c(0)
                : plan.windowRight ? n.min(n.c(*plan.windowRight), reach)
                                   : reach;

  // The CTA's tiles: band blocks firstBlock.. (numBand of them), then
  // numGlob tiles of gathered globals.
  Value firstBlock, numBand, numGlob = n.c(0);
  if (!globalRows) {
    Value lo = n.max(n.sub(positionLo, left), n.c(0));
    Value hi = n.min(n.add(positionHi, right), n.sub(Sk, n.c(1)));
    firstBlock = n.div(lo, n.c(BN));
    numBand = n.sel(n.le(lo, hi),
                    n.add(n.sub(n.div(hi, n.c(BN)), firstBlock), n.c(1)),
                    n.c(0));
    if (withGlobals)
      numGlob = n.sel(n.lt(n.c(0), Sk), n.ceilDiv(G, n.c(globalsWidth)),
                      n.c(0));
  } else {
    Value hi = causal ? n.min(positionHi, n.sub(Sk, n.c(1)))
                      : n.sel(n.le(n.c(0), positionHi), n.sub(Sk, n.c(1)),
                              n.c(-1));
    firstBlock = n.c(0);
    numBand = n.sel(n.le(n.c(0), hi), n.add(n.div(hi, n.c(BN)), n.c(1)),
                    n.c(0));
  }
  Value numTiles = n.add(numBand, numGlob);
  Value tileBegin = split ? n.mul(splitIndex, tilesPerSplit) : n.c(0);
  Value tileEnd =
      split ? n.min(numTiles, n.add(tileBegin, tilesPerSplit)) : numTiles;

  // Shared memory: the query tile, then the K and V stages.
  Value shared = kb.dynamicSharedMemory();
  auto workgroup = gpu::AddressSpaceAttr::get(
      ctx, gpu::GPUDialect::getWorkgroupAddressSpace());
  auto viewAt = [&](Value offset, ArrayRef<int64_t> shape, Type type) {
    auto viewType =
        MemRefType::get(shape, type, MemRefLayoutAttrInterface(), workgroup);
    return memref::ViewOp::create(b, viewType, shared, offset, ValueRange{})
        .getResult();
  };
  auto view = [&](int64_t offset, ArrayRef<int64_t> shape, Type type) {
    return viewAt(m.c(offset), shape, type);
  };
  Type scoreType = plan.getScoreStorageType();
  Value qTile, qAddress;
  if (!layout.queryByTma)
    qTile = view(0, {rows, layout.queryPitch}, scoreType);
  Value kTiles, vTiles;
  // The products' layers on sm_90a (see scoreMma).
  std::optional<WarpgroupMma> wgmma, scoreWgmma;
  SwizzledTiles kSwizzled, vSwizzled;
  if (!layout.swizzledKV) {
    kTiles = view(layout.qBytes, {stages, BN, layout.scorePitch}, scoreType);
    vTiles = view(layout.qBytes + layout.kBytes,
                  {stages, BN, layout.valuePitch}, elementType);
  } else {
    // wgmma's swizzle needs 1024-byte aligned shared-memory addresses, but
    // nothing promises more than 16 for the dynamic shared memory: the K
    // tiles start at the first such address after the query tile (which,
    // loaded by TMA, starts at the first one).
    wgmma.emplace(b, elementType);
    scoreWgmma.emplace(b, plan.scoreElementType);
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, shared);
    auto alignedOffset = [&](int64_t offset) {
      Value address = m.mul(
          m.ceilDiv(m.add(base, m.c(offset)), m.c(SwizzledTiles::kAlignment)),
          m.c(SwizzledTiles::kAlignment));
      return m.sub(address, base);
    };
    Value kOffset;
    if (layout.queryByTma) {
      Value qOffset = alignedOffset(0);
      qAddress = m.add(base, qOffset);
      qTile = viewAt(qOffset, {rows, layout.queryPitch}, scoreType);
      kOffset =
          m.add(qOffset,
                m.c(llvm::alignTo(layout.qBytes, SwizzledTiles::kAlignment)));
    } else {
      kOffset = alignedOffset(layout.qBytes);
    }
    auto flatView = [&](Value offset, int64_t bytes, Type type) {
      int64_t elementBytes = type.getIntOrFloatBitWidth() / 8;
      auto viewType = MemRefType::get({bytes / elementBytes}, type,
                                      MemRefLayoutAttrInterface(), workgroup);
      return memref::ViewOp::create(b, viewType, shared, offset, ValueRange{})
          .getResult();
    };
    kTiles = flatView(kOffset, layout.kBytes, scoreType);
    vTiles = flatView(m.add(kOffset, m.c(layout.kBytes)), layout.vBytes,
                      elementType);
    kSwizzled = {kTiles, BN, D, scoreType.getIntOrFloatBitWidth() / 8};
    vSwizzled = {vTiles, BN, D, 2};
  }
  // The mbarriers of the stages: `full` completes a phase when a tile has
  // landed (every producer thread arrives; TMA delivers the bytes one of
  // them expects), `empty` when every consumer is done with it.
  auto stageBarrier = [&](bool full, Value stage) {
    Value index = m.add(m.mul(stage, m.c(2)), m.c(full ? 0 : 1));
    return getSharedPointer(
        b, shared, m.add(m.c(layout.barriersOffset), m.mul(index, m.c(8))));
  };
  // The query tile's, with TMA: one phase, completed by its bytes.
  Value queryBarrier;
  if (layout.queryByTma)
    queryBarrier = getSharedPointer(
        b, shared, m.c(layout.barriersOffset + 2 * stages * 8));
  scf::IfOp roles;
  if (specialized) {
    kb.ifThen(n.eq(tid, n.c(0)), [&] {
      for (int64_t stage = 0; stage < stages; ++stage) {
        NVVM::MBarrierInitOp::create(b, stageBarrier(true, m.c(stage)),
                                     n.c(kProducerThreads), Value());
        NVVM::MBarrierInitOp::create(b, stageBarrier(false, m.c(stage)),
                                     n.c(threads), Value());
      }
      if (queryBarrier)
        NVVM::MBarrierInitOp::create(b, queryBarrier, n.c(1), Value());
    });
    gpu::BarrierOp::create(b);
    // The consumers' code follows in the else branch; the producer's is
    // emitted into the then branch once the copies are defined.
    roles = scf::IfOp::create(b, n.le(n.c(threads), tid), /*withElse=*/true);
    b.setInsertionPoint(roles.elseBlock()->getTerminator());
    NVVM::SetMaxRegisterOp::create(b, kConsumerRegisters,
                                   NVVM::SetMaxRegisterAction::increase);
  }
  // Named barrier `id` of the consumers, of the consumers' `threads`
  // threads: bar.sync, or bar.arrive.
  auto namedBarrier = [&](Value id, bool wait) {
    if (wait)
      NVVM::BarrierOp::create(b, TypeRange(), id, n.c(threads),
                              NVVM::BarrierReductionAttr(), Value());
    else
      NVVM::BarrierArriveOp::create(b, id, n.c(threads));
  };
  // Consumers meet at a named barrier of their own (the producer may have
  // returned); without specialisation all threads at gpu.barrier.
  auto consumerBarrier = [&] {
    if (specialized)
      namedBarrier(n.c(1), /*wait=*/true);
    else
      gpu::BarrierOp::create(b);
  };
  // The consumer warpgroups' ping-pong barriers (see the loop).
  struct PingPong {
    Value own, other, second;
  };
  std::optional<PingPong> pingPong;
  // Where a copy of the 16-byte chunk at (row, col) of stage `stage` of the
  // K or V tiles goes.
  auto kvIndices = [&](const SwizzledTiles &swizzled, Value stage, Value row,
                       Value col) -> SmallVector<Value> {
    if (!layout.swizzledKV)
      return {stage, row, col};
    return {swizzled.chunkIndex(b, stage, row, col)};
  };

  // 16-byte asynchronous copies of rows of D elements (of the score or the
  // element type); a missing row is zero-filled (so that no NaN from
  // uninitialized memory meets a zero probability). The threads cover
  // `rowsPerPass` rows at a time, each thread the same column in every pass,
  // so that a chunk's row is one per-thread row plus a constant.
  struct ChunkRows {
    int64_t chunk, rowsPerPass;
    Value passRow, passCol;
  };
  // `thread` of `count` copying threads.
  auto chunkRows = [&](Type type, Value thread, int64_t count) {
    ChunkRows c;
    c.chunk = 128 / type.getIntOrFloatBitWidth();
    int64_t chunksPerRow = D / c.chunk;
    assert(count % chunksPerRow == 0 && "a pass covers whole rows");
    c.rowsPerPass = count / chunksPerRow;
    c.passRow = m.div(thread, m.c(chunksPerRow));
    c.passCol = m.mul(m.rem(thread, m.c(chunksPerRow)), m.c(c.chunk));
    return c;
  };
  const ChunkRows scoreChunks = chunkRows(scoreType, tidIndex, threads);
  const ChunkRows valueChunks = chunkRows(elementType, tidIndex, threads);
  auto asyncCopy = [&](const ChunkRows &c, Value src, Value srcIndex,
                       Value exists, Value dst, ValueRange dstIndices) {
    nvgpu::DeviceAsyncCopyOp::create(
        b, nvgpu::DeviceAsyncTokenType::get(ctx), dst, dstIndices, src,
        ValueRange{srcIndex}, b.getIndexAttr(c.chunk),
        m.sel(exists, m.c(c.chunk), m.c(0)), b.getUnitAttr());
  };
  // Runs `emit(row, col, rowConst)` for the chunks of `count` rows; `row`
  // and `col` are shared-memory indices.
  auto forEachChunk = [&](const ChunkRows &c, int64_t count,
                          function_ref<void(Value, Value, int64_t)> emit) {
    for (int64_t first = 0; first < count; first += c.rowsPerPass) {
      Value row = m.add(c.passRow, m.c(first));
      if (first + c.rowsPerPass <= count)
        emit(row, c.passCol, first);
      else
        kb.ifThen(m.lt(row, m.c(count)), [&] { emit(row, c.passCol, first); });
    }
  };

  // The query tile: by TMA, one box of Q seen as [B, Hkv, Sq, r, D] at
  // (batch, kv head, first query row, 0, 0), whose rows are the CTA's
  // packed rows in order (rows past Sq arrive as zeros); else copied by
  // every thread.
  if (layout.queryByTma) {
    kb.ifThen(n.eq(tid, n.c(0)), [&] {
      Value map = kb.tensorMap(p.qMap);
      NVVM::FenceProxyAcquireOp::create(b, NVVM::MemScopeKind::SYS, map,
                                        n.c(128));
      NVVM::MBarrierArriveExpectTxOp::create(
          b, Type(), queryBarrier, n.c(layout.qBytes), NVVM::MemScopeKind::CTA,
          false, Value());
      Value dst = LLVM::IntToPtrOp::create(
          b, LLVM::LLVMPointerType::get(ctx, 7),
          arith::IndexCastOp::create(b, b.getI64Type(), qAddress).getResult());
      NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
          b, dst, map,
          ValueRange{n.c(0), n.c(0), n.div(firstRow, ratio), kh, bi},
          queryBarrier, ValueRange{}, Value(), Value(), NVVM::TMALoadMode::TILE,
          false, NVVM::CTAGroupKindAttr(), Value());
    });
  } else {
    forEachChunk(scoreChunks, rows, [&](Value row, Value col, int64_t) {
      RowRef ref = rowRef(n.add(firstRow, n.from(row)));
      Value index = m.sel(ref.valid, m.add(rowOffset(qs, ref), col), m.c(0));
      asyncCopy(scoreChunks, qBuf, index, ref.valid, qTile,
                ValueRange{row, col});
    });
  }
  auto commit = [&]() {
    return nvgpu::DeviceAsyncCreateGroupOp::create(
               b, nvgpu::DeviceAsyncTokenType::get(ctx), ValueRange{})
        .getResult();
  };
  Value queryGroup = commit();
  // The query rows' scales (times scale * log2(e)), published by the
  // barrier before the loop.
  Value rowScales;
  if (plan.quantizedScores) {
    rowScales = view(layout.rowScalesOffset, {rows}, f32);
    Value queryBlocks = n.ceilDiv(Sq, n.c(kScoreBlockRows));
    for (int64_t first = 0; first < rows; first += threads) {
      Value row = m.add(tidIndex, m.c(first));
      kb.ifThen(m.lt(row, m.c(rows)), [&] {
        RowRef ref = rowRef(n.add(firstRow, n.from(row)));
        Value index = n.add(n.mul(n.add(n.mul(bi, Hq), ref.head), queryBlocks),
                            n.div(ref.queryRow, n.c(kScoreBlockRows)));
        Value scale = kb.load(kb.buffer(p.queryScales),
                              m.from(n.sel(ref.valid, index, n.c(0))));
        kb.store(arith::MulFOp::create(b, scale, f32Const(b, plan.scaleLog2)),
                 rowScales, row);
      });
    }
  }

  // Runs `copyRows(chunks, copyK, copyV)` with the copying threads' chunks
  // of both types: once for K and V together when their rows are chunked
  // alike, else once for each.
  using CopyRowsFn = function_ref<void(const ChunkRows &, bool, bool)>;
  auto copyKAndV = [&](const ChunkRows &scoreC, const ChunkRows &valueC,
                       CopyRowsFn copyRows) {
    if (scoreType == elementType)
      return copyRows(valueC, true, true);
    copyRows(scoreC, true, false);
    copyRows(valueC, false, true);
  };

  // Issues the copies of tile `it` into stage `stage`, by the threads whose
  // chunks scoreC and valueC are (with TMA: band tiles by thread
  // `tmaThread`, which also expects their bytes on the stage's `full`
  // barrier).
  auto issueTile = [&](Value it, Value stage, const ChunkRows &scoreC,
                       const ChunkRows &valueC, Value tmaThread) {
    Value kBase = m.add(m.mul(m.from(bi), ks[0]), m.mul(m.from(kh), ks[1]));
    Value vBase = m.add(m.mul(m.from(bi), vs[0]), m.mul(m.from(kh), vs[1]));
    auto bandTileByTma = [&]() {
      // One thread expects the tile's bytes on the stage's barrier and
      // issues the boxes (64 or 128 bytes wide, blockN keys) of K and V at
      // (column, key, kv head, batch); keys past Sk arrive as zeros. The
      // other producer threads just arrive.
      Value isTmaThread = n.eq(tid, tmaThread);
      Value barrier = stageBarrier(true, stage);
      NVVM::MBarrierArriveExpectTxOp::create(
          b, Type(), barrier,
          n.sel(isTmaThread,
                n.c(kSwizzled.getStageBytes() + vSwizzled.getStageBytes()),
                n.c(0)),
          NVVM::MemScopeKind::CTA, false, Value());
      kb.ifThen(isTmaThread, [&] {
        Value first = n.mul(n.add(firstBlock, it), n.c(BN));
        Value kMap = kb.tensorMap(p.kMap), vMap = kb.tensorMap(p.vMap);
        auto load = [&](const SwizzledTiles &tiles, Value map) {
          int64_t boxCols = tiles.getSwizzleBytes() / tiles.elementBytes;
          for (int64_t box = 0; box < tiles.cols / boxCols; ++box) {
            // The shared::cluster window holds the CTA's own shared
            // memory at the same addresses (address space 7).
            Value dst =
                LLVM::IntToPtrOp::create(b, LLVM::LLVMPointerType::get(ctx, 7),
                                         tiles.address(b, stage, box, 0));
            NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
                b, dst, map, ValueRange{n.c(box * boxCols), first, kh, bi},
                barrier, ValueRange{}, Value(), Value(),
                NVVM::TMALoadMode::TILE, false, NVVM::CTAGroupKindAttr(),
                Value());
          }
        };
        load(kSwizzled, kMap);
        load(vSwizzled, vMap);
      });
    };
    auto bandTile = [&]() {
      if (layout.swizzledKV)
        return bandTileByTma();
      // Row r of the tile is key first + r: its offset is the tile's base
      // (64-bit, once per tile) plus r * stride + col in 32 bits. The
      // thread's row goes through an optimization barrier in every tile, so
      // that LLVM computes these offsets where they are used instead of
      // keeping one per chunk live across the loop.
      Value first = n.mul(n.add(firstBlock, it), n.c(BN));
      Value kTileBase = m.add(kBase, m.mul(m.from(first), ks[2]));
      Value vTileBase = m.add(vBase, m.mul(m.from(first), vs[2]));
      // Offsets within a tile (blockN rows) fit in 32 bits: the provider
      // checks that blockN row strides do.
      Value kStride32 = n.from(ks[2]), vStride32 = n.from(vs[2]);
      auto copyRows = [&](const ChunkRows &c, bool copyK, bool copyV) {
        Value threadRow = kb.opaque(n.from(c.passRow));
        Value passCol32 = n.from(c.passCol);
        forEachChunk(c, BN, [&](Value row, Value col, int64_t rowConst) {
          Value row32 = n.add(threadRow, n.c(rowConst));
          Value exists = n.lt(n.add(first, row32), Sk);
          auto index = [&](Value tileBase, Value stride32) {
            Value offset = n.add(n.mul(row32, stride32), passCol32);
            return m.sel(exists, m.add(tileBase, m.from(offset)), m.c(0));
          };
          if (copyK)
            asyncCopy(c, kBuf, index(kTileBase, kStride32), exists, kTiles,
                      kvIndices(kSwizzled, stage, row, col));
          if (copyV)
            asyncCopy(c, vBuf, index(vTileBase, vStride32), exists, vTiles,
                      kvIndices(vSwizzled, stage, row, col));
        });
      };
      copyKAndV(scoreC, valueC, copyRows);
    };
    if (!withGlobals)
      return bandTile();
    auto ifOp = scf::IfOp::create(b, n.lt(it, numBand), /*withElse=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    bandTile();
    b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
    // Row r of a globals tile is the key of slot firstSlot + r.
    Value firstSlot = n.mul(n.sub(it, numBand), n.c(globalsWidth));
    auto copyRows = [&](const ChunkRows &c, bool copyK, bool copyV) {
      forEachChunk(c, globalsWidth, [&](Value row, Value col, int64_t) {
        Value slot = n.add(firstSlot, n.from(row));
        Value g = loadGlobal(n.min(slot, n.sub(G, n.c(1))));
        Value exists = andI1(b, n.lt(slot, G), n.le(n.c(0), g));
        Value key = m.from(g);
        auto index = [&](Value base, Value stride) {
          return m.sel(exists, m.add(m.add(base, m.mul(key, stride)), col),
                       m.c(0));
        };
        if (copyK)
          asyncCopy(c, kBuf, index(kBase, ks[2]), exists, kTiles,
                    kvIndices(kSwizzled, stage, row, col));
        if (copyV)
          asyncCopy(c, vBuf, index(vBase, vs[2]), exists, vTiles,
                    kvIndices(vSwizzled, stage, row, col));
      });
    };
    copyKAndV(scoreC, valueC, copyRows);
    if (specialized) {
      // The producer publishes its copies on the stage's `full` barrier,
      // visible to wgmma's async proxy.
      Value group = commit();
      nvgpu::DeviceAsyncWaitOp::create(b, group, b.getI32IntegerAttr(0));
      NVVM::FenceProxyOp::create(
          b, NVVM::ProxyKindAttr::get(ctx, NVVM::ProxyKind::async_shared),
          NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
      NVVM::MBarrierArriveExpectTxOp::create(
          b, Type(), stageBarrier(true, stage), n.c(0), NVVM::MemScopeKind::CTA,
          false, Value());
    }
  };

  // The pipeline: without specialisation, tile i + 1 is copied while tile
  // i is computed: each iteration waits for its own tile, and one barrier
  // both publishes it and ends every warp's work on the previous tile,
  // whose stage the next copies then overwrite. With it, the producer
  // warpgroup runs ahead by up to `stages` tiles: tile i is phase
  // i / stages of stage i % stages's barriers; it waits until the
  // consumers have emptied the stage (phase i / stages - 1 of `empty`),
  // loads the tile and completes `full`, which the consumers wait for.
  assert((specialized || stages == 2) && "cp.async double-buffers");
  if (!specialized)
    kb.ifThen(n.lt(tileBegin, tileEnd), [&] {
      issueTile(tileBegin, m.c(0), scoreChunks, valueChunks, Value());
    });
  commit();
  // Everything but the newest group: the query tile.
  nvgpu::DeviceAsyncWaitOp::create(b, queryGroup, b.getI32IntegerAttr(1));
  consumerBarrier();
  if (specialized) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(roles.thenBlock()->getTerminator());
    NVVM::SetMaxRegisterOp::create(b, kProducerRegisters,
                                   NVVM::SetMaxRegisterAction::decrease);
    Value producerThread = m.sub(tidIndex, m.c(threads));
    ChunkRows producerScore =
        chunkRows(scoreType, producerThread, kProducerThreads);
    ChunkRows producerValue =
        chunkRows(elementType, producerThread, kProducerThreads);
    Value tmaThread = n.c(threads);
    // The runtime copies the tensor maps into global memory before the
    // launch: the tensormap proxy must acquire them (NVGPU's
    // tma.fence.descriptor) in the thread that issues the loads.
    kb.ifThen(n.eq(tid, tmaThread), [&] {
      for (unsigned map : {p.kMap, p.vMap})
        NVVM::FenceProxyAcquireOp::create(b, NVVM::MemScopeKind::SYS,
                                          kb.tensorMap(map), n.c(128));
    });
    kb.forEach(tileBegin, tileEnd, n.c(1), [&](Value it) {
      Value i = n.sub(it, tileBegin);
      Value stage = m.from(n.rem(i, n.c(stages)));
      kb.ifThen(n.le(n.c(stages), i), [&] {
        Value parity = n.rem(n.sub(n.div(i, n.c(stages)), n.c(1)), n.c(2));
        NVVM::MBarrierTryWaitParityOp::create(b, stageBarrier(false, stage),
                                              parity, n.c(kWaitTicks));
      });
      issueTile(it, stage, producerScore, producerValue, tmaThread);
    });
  }

  Value warpRow = decode ? m.c(0) : m.mul(m.from(warp), m.c(WarpMma::kRows));
  SmallVector<Value> queryFragments;
  if (queryBarrier)
    NVVM::MBarrierTryWaitParityOp::create(b, queryBarrier, n.c(0),
                                          n.c(kWaitTicks));
  if (queryInRegisters)
    queryFragments = scoreMma.loadA(qTile, {}, warpRow, 0, D);

  // Positions of the thread's two rows.
  std::array<Value, WarpMma::kRowSlots> slotRow, slotPosition;
  for (int slot = 0; slot < WarpMma::kRowSlots; ++slot) {
    slotRow[slot] =
        n.add(firstRow, n.from(m.add(warpRow, mma.rowInTile(slot))));
    slotPosition[slot] = rowRef(slotRow[slot]).position;
  }

  Value scaleLog2 = f32Const(b, plan.scaleLog2);
  // With quantized scores, the score of a slot's row and a key is
  // queryScale(slot) * keyBlockScale(key) * (q . k): the query block's scale
  // (times scale * log2(e)) and the key block's. The CTA's row scales wait in
  // shared memory and are read in every tile: kept in registers across the
  // loop, they make the band kernel at D = 128 spill.
  auto queryScale = [&](int slot) {
    return kb.load(rowScales, m.add(warpRow, mma.rowInTile(slot)));
  };
  // The scale of the key block that holds key `key` (in [0, Sk)).
  auto keyBlockScale = [&](Value key) {
    Value keyBlocks = n.ceilDiv(Sk, n.c(kScoreBlockRows));
    Value base = n.mul(n.add(n.mul(bi, Hkv), kh), keyBlocks);
    return kb.load(kb.buffer(p.keyScales),
                   m.from(n.add(base, n.div(key, n.c(kScoreBlockRows)))));
  };
  // The loop's state: O (accO values), then m and l per row slot.
  int64_t accO = WarpMma::accSize(D);
  int64_t stateSize = accO + 2 * WarpMma::kRowSlots;
  SmallVector<Value> init(accO, f32Const(b, 0.0));
  for (int slot = 0; slot < WarpMma::kRowSlots; ++slot)
    init.push_back(negInf(b));
  for (int slot = 0; slot < WarpMma::kRowSlots; ++slot)
    init.push_back(f32Const(b, 0.0));

  // A tile's raw scores become the exponents of the softmax in
  // finishScores: integer sums to f32, times the scale (per query and key
  // block with quantized scores), and masked. `makeMask(colBase)` (null for
  // an unmasked tile) returns, for a row slot and a static column offset,
  // whether the key in column colBase + offset of the tile is visible to
  // the slot's row; `maskIf` (or null) makes the masking conditional. With
  // quantized scores, `makeKeyScale(colBase)` returns the scale of the key
  // in column colBase + offset.
  using VisibleFn = std::function<Value(int slot, int64_t offset)>;
  using MaskFn = function_ref<VisibleFn(Value colBase)>;
  using KeyScaleFn = std::function<Value(int64_t offset)>;
  using MakeKeyScaleFn = function_ref<KeyScaleFn(Value colBase)>;
  // In the decoding kernel each warp takes 16 keys of every tile.
  Value keyOffset = decode ? m.mul(m.from(warp), m.c(WarpMma::kRows)) : m.c(0);
  auto keysOf = [&](int64_t width) { return decode ? WarpMma::kRows : width; };
  auto finishScores = [&](SmallVector<Value> &scores, int64_t width,
                          Value maskIf, MaskFn makeMask,
                          MakeKeyScaleFn makeKeyScale) {
    int64_t keys = keysOf(width);
    // Integer sums (exact) to f32.
    if (!scores.front().getType().isF32())
      for (Value &s : scores)
        s = arith::SIToFPOp::create(b, f32, s);
    // Column of entry (n8, c): colBase + 8 n8 + c.
    Value colBase = n.from(m.add(keyOffset, mma.colInTile(0, 0)));
    if (plan.quantizedScores) {
      KeyScaleFn keyScale = makeKeyScale(colBase);
      std::array<Value, WarpMma::kRowSlots> rowScale;
      for (int slot = 0; slot < WarpMma::kRowSlots; ++slot)
        rowScale[slot] = queryScale(slot);
      for (int64_t n8 = 0; n8 < keys / WarpMma::kN; ++n8)
        for (int slot = 0; slot < WarpMma::kRowSlots; ++slot)
          for (int c = 0; c < 2; ++c) {
            Value &s = scores[WarpMma::accIndex(n8, slot, c)];
            s = arith::MulFOp::create(
                b, arith::MulFOp::create(b, s, rowScale[slot]),
                keyScale(WarpMma::kN * n8 + c));
          }
    } else {
      for (Value &s : scores)
        s = arith::MulFOp::create(b, s, scaleLog2);
    }
    auto masked = [&](ImplicitLocOpBuilder &b) {
      VisibleFn visible = makeMask(colBase);
      SmallVector<Value> result(scores);
      for (int64_t n8 = 0; n8 < keys / WarpMma::kN; ++n8)
        for (int slot = 0; slot < WarpMma::kRowSlots; ++slot)
          for (int c = 0; c < 2; ++c) {
            int64_t index = WarpMma::accIndex(n8, slot, c);
            result[index] = arith::SelectOp::create(
                b, visible(slot, WarpMma::kN * n8 + c), result[index],
                negInf(b));
          }
      return result;
    };
    if (maskIf)
      scores = buildIf(b, maskIf, TypeRange(ValueRange(scores)), masked,
                       [&](ImplicitLocOpBuilder &) { return scores; });
    else if (makeMask)
      scores = masked(b);
  };

  // The scores of band tile `it` and of globals tile `it`, finished.
  auto finishBandScores = [&](Value it, SmallVector<Value> &scores) {
    Value first = n.mul(n.add(firstBlock, it), n.c(BN));
    Value last = n.add(first, n.c(BN - 1));
    // Every row sees the whole block: inside the sequence, and inside
    // every row's window (left edge of the last row, right edge of the
    // first).
    Value full = n.lt(last, Sk);
    if (!globalRows) {
      full = andI1(b, full, n.le(n.sub(positionHi, left), first));
      full = andI1(b, full, n.le(last, n.add(positionLo, right)));
    } else if (causal) {
      full = andI1(b, full, n.le(last, positionLo));
    }
    // Key first + colBase + offset is visible to a row at position p iff
    // lo <= offset <= hi: the bounds per row slot, once per tile.
    auto mask = [&](Value colBase) -> VisibleFn {
      Value base = n.add(first, colBase);
      std::array<Value, 2> lo, hi;
      for (int slot = 0; slot < WarpMma::kRowSlots; ++slot) {
        Value pos = slotPosition[slot];
        Value last = n.sub(Sk, n.c(1));
        if (!globalRows) {
          lo[slot] = n.sub(n.sub(pos, left), base);
          last = n.min(last, n.add(pos, right));
        } else if (causal) {
          last = n.min(last, pos);
        }
        hi[slot] = n.sub(last, base);
      }
      return [=, &n](int slot, int64_t offset) {
        Value visible = n.le(n.c(offset), hi[slot]);
        if (lo[slot])
          visible = andI1(n.b, visible, n.le(lo[slot], n.c(offset)));
        return visible;
      };
    };
    // A tile lies in one key block (blockN divides it).
    auto keyScale = [&](Value) -> KeyScaleFn {
      Value scale = keyBlockScale(first);
      return [=](int64_t) { return scale; };
    };
    finishScores(scores, BN, notI1(b, full), mask, keyScale);
  };
  auto finishGlobalScores = [&](Value it, SmallVector<Value> &scores) {
    Value firstSlot = n.mul(n.sub(it, numBand), n.c(globalsWidth));
    // Slot firstSlot + colBase + offset holds key g (-1: unused), loaded
    // once per column for the mask and the key's scale.
    auto keyAt = std::make_shared<DenseMap<int64_t, Value>>();
    auto globalKey = [=, &n](Value colBase, int64_t offset) {
      Value &g = (*keyAt)[offset];
      if (!g) {
        Value t = n.add(n.add(firstSlot, colBase), n.c(offset));
        g = n.sel(n.lt(t, G), loadGlobal(n.min(t, n.sub(G, n.c(1)))), n.c(-1));
      }
      return g;
    };
    auto keyScale = [&](Value colBase) -> KeyScaleFn {
      return [=, &n](int64_t offset) {
        return keyBlockScale(n.max(globalKey(colBase, offset), n.c(0)));
      };
    };
    // The key is visible iff it is a used slot outside the row's window
    // (there it counts in the band already) and, when causal, not after
    // the row.
    auto mask = [&](Value colBase) -> VisibleFn {
      return [=, &n](int slot, int64_t offset) {
        Value g = globalKey(colBase, offset);
        Value pos = slotPosition[slot];
        Value inWindow =
            andI1(n.b, n.le(n.sub(pos, left), g), n.le(g, n.add(pos, right)));
        Value visible = andI1(n.b, n.le(n.c(0), g), notI1(n.b, inWindow));
        if (causal)
          visible = andI1(n.b, visible, n.le(g, pos));
        return visible;
      };
    };
    finishScores(scores, globalsWidth, Value(), mask, keyScale);
  };

  // The online softmax of a tile's finished scores, row by row: updates
  // the running max m and sum l in `state` (O, m, l), turns the scores
  // into exp2(s - m) and returns the factor alpha per row slot by which O
  // must shrink.
  using RowValues = std::array<Value, WarpMma::kRowSlots>;
  auto softmax = [&](SmallVector<Value> &state, SmallVector<Value> &scores,
                     int64_t width) {
    int64_t keys = keysOf(width);
    RowValues alpha;
    for (int slot = 0; slot < WarpMma::kRowSlots; ++slot) {
      Value rowMax = negInf(b);
      for (int64_t n8 = 0; n8 < keys / WarpMma::kN; ++n8)
        for (int c = 0; c < 2; ++c)
          rowMax = arith::MaximumFOp::create(
              b, rowMax, scores[WarpMma::accIndex(n8, slot, c)]);
      rowMax = mma.rowReduceMax(rowMax);
      Value oldMax = state[accO + slot];
      Value newMax = arith::MaximumFOp::create(b, oldMax, rowMax);
      // A row that has seen nothing yet keeps m = -inf; exp2 against 0
      // then gives exact zeros instead of NaN.
      Value base = arith::SelectOp::create(b, isNegInf(b, newMax),
                                           f32Const(b, 0.0), newMax);
      alpha[slot] = exp2(b, arith::SubFOp::create(b, oldMax, base));
      Value sum = f32Const(b, 0.0);
      for (int64_t n8 = 0; n8 < keys / WarpMma::kN; ++n8)
        for (int c = 0; c < 2; ++c) {
          Value &s = scores[WarpMma::accIndex(n8, slot, c)];
          s = exp2(b, arith::SubFOp::create(b, s, base));
          sum = arith::AddFOp::create(b, sum, s);
        }
      state[accO + slot] = newMax;
      Value &rowSum = state[accO + WarpMma::kRowSlots + slot];
      rowSum = arith::AddFOp::create(
          b, arith::MulFOp::create(b, rowSum, alpha[slot]), sum);
    }
    return alpha;
  };
  auto rescale = [&](MutableArrayRef<Value> acc, const RowValues &alpha) {
    for (int64_t n8 = 0; n8 < D / WarpMma::kN; ++n8)
      for (int slot = 0; slot < WarpMma::kRowSlots; ++slot)
        for (int c = 0; c < 2; ++c) {
          Value &o = acc[WarpMma::accIndex(n8, slot, c)];
          o = arith::MulFOp::create(b, o, alpha[slot]);
        }
  };
  auto zeroScores = [&](int64_t width) {
    Value zero = arith::ConstantOp::create(
        b, b.getZeroAttr(scoreMma.getAccumulatorType()));
    return SmallVector<Value>(WarpMma::accSize(keysOf(width)), zero);
  };

  // The ping-pong turns: warpgroup w issues its products after bar.sync on
  // barrier 2 + w, then hands the turn over by bar.arrive on the other's.
  // Warpgroup 1 hands warpgroup 0 the first turn before the loop and does
  // not hand over after its last turn (nobody would take it: a phase left
  // open). Both warpgroups take the same turns, as they visit the same
  // tiles.
  if (specialized) {
    assert(threads == 2 * kProducerThreads && "two consumer warpgroups");
    Value consumerGroup = n.div(warp, n.c(4));
    pingPong.emplace();
    pingPong->own = n.add(n.c(2), consumerGroup);
    pingPong->other = n.sub(n.c(3), consumerGroup);
    pingPong->second = n.eq(consumerGroup, n.c(1));
    kb.ifThen(andI1(b, pingPong->second, n.lt(tileBegin, tileEnd)),
              [&] { namedBarrier(pingPong->other, /*wait=*/false); });
  }
  auto takeTurn = [&] {
    if (pingPong)
      namedBarrier(pingPong->own, /*wait=*/true);
  };
  // `last` (i1; null: never) marks the warpgroups' last turn.
  auto passTurn = [&](Value last) {
    if (!pingPong)
      return;
    if (!last)
      return namedBarrier(pingPong->other, /*wait=*/false);
    kb.ifThen(notI1(b, andI1(b, pingPong->second, last)),
              [&] { namedBarrier(pingPong->other, /*wait=*/false); });
  };

  // Tile `it`, start to end: S = Q K^T, `finish` (finishBandScores or
  // finishGlobalScores), online softmax, O += P V. `state` is O, m, l;
  // `lastTurn` as for passTurn.
  using FinishTileFn = function_ref<void(Value, SmallVector<Value> &)>;
  auto processTile = [&](ValueRange state, Value it, Value stage, int64_t width,
                         FinishTileFn finish, Value lastTurn) {
    int64_t keys = keysOf(width);
    SmallVector<Value> scores = zeroScores(width);
    if (scoreWgmma) {
      // Ping-pong: the consumer warpgroups take turns to issue S, so that
      // one's softmax runs under the other's matrix products.
      takeTurn();
      scoreWgmma->mmaABt(scores, queryFragments, kSwizzled, stage, 0, keys, D);
      passTurn(lastTurn);
    } else if (queryInRegisters) {
      scoreMma.mmaABt(scores, queryFragments, kTiles, ValueRange{stage},
                      keyOffset, keys, D);
    } else {
      // Without the barrier LLVM would hoist the query tile's ldmatrix out
      // of the loop, i.e. keep Q in registers after all.
      scoreMma.mmaABtSharedA(scores, qTile, m.from(kb.opaque(n.from(warpRow))),
                             kTiles, ValueRange{stage}, keyOffset, keys, D);
    }
    finish(it, scores);
    SmallVector<Value> next(state.begin(), state.end());
    RowValues alpha = softmax(next, scores, width);
    MutableArrayRef<Value> acc(next.data(), accO);
    rescale(acc, alpha);
    SmallVector<Value> probabilities = mma.accToA(scores, keys);
    SmallVector<Value> sum(acc.begin(), acc.end());
    if (wgmma)
      wgmma->mmaAB(sum, probabilities, vSwizzled, stage, 0, D, keys);
    else
      mma.mmaAB(sum, probabilities, vTiles, ValueRange{stage}, keyOffset, D,
                keys);
    llvm::copy(sum, acc.begin());
    return next;
  };
  auto countTile = [&] {
    kb.ifThen(n.eq(tid, n.c(0)), [&] { kb.countWork(m.c(1)); });
  };

  SmallVector<Value> state;
  if (!specialized) {
    auto loop = scf::ForOp::create(b, tileBegin, tileEnd, n.c(1), init);
    OpBuilder::InsertionGuard guard(b);
    // (A loop with results gets no terminator from the builder.)
    b.setInsertionPointToEnd(loop.getBody());
    Value it = loop.getInductionVar();
    ValueRange args = loop.getRegionIterArgs();
    Value stage = m.from(n.rem(n.sub(it, tileBegin), n.c(2)));
    nvgpu::DeviceAsyncWaitOp::create(b, queryGroup, b.getI32IntegerAttr(0));
    gpu::BarrierOp::create(b);
    Value nextIt = n.add(it, n.c(1));
    kb.ifThen(n.lt(nextIt, tileEnd), [&] {
      issueTile(nextIt, m.sub(m.c(1), stage), scoreChunks, valueChunks,
                Value());
    });
    commit();
    countTile();
    auto bandTile = [&](ImplicitLocOpBuilder &) {
      return processTile(args, it, stage, BN, finishBandScores, Value());
    };
    SmallVector<Value> next;
    if (!withGlobals) {
      next = bandTile(b);
    } else {
      next = buildIf(b, n.lt(it, numBand), TypeRange(args), bandTile,
                     [&](ImplicitLocOpBuilder &) {
                       return processTile(args, it, stage, globalsWidth,
                                          finishGlobalScores, Value());
                     });
    }
    scf::YieldOp::create(b, next);
    state = llvm::to_vector_of<Value>(loop.getResults());
  } else {
    // Tile it is the i-th of the CTA (i = it - tileBegin): stage i % stages,
    // phase i / stages of the stage's barriers. The consumers wait for
    // `full`, and arrive on `empty` once every product that reads the stage
    // has retired.
    auto stageOf = [&](Value it) {
      return m.from(n.rem(n.sub(it, tileBegin), n.c(stages)));
    };
    auto waitForTile = [&](Value it) {
      Value parity = n.rem(n.div(n.sub(it, tileBegin), n.c(stages)), n.c(2));
      NVVM::MBarrierTryWaitParityOp::create(b, stageBarrier(true, stageOf(it)),
                                            parity, n.c(kWaitTicks));
      countTile();
    };
    auto releaseTile = [&](Value it) {
      NVVM::MBarrierArriveExpectTxOp::create(
          b, Type(), stageBarrier(false, stageOf(it)), n.c(0),
          NVVM::MemScopeKind::CTA, false, Value());
    };

    // FlashAttention-3's intra-warpgroup overlap: P V of a tile is issued
    // together with S of the next, and the softmax of that S runs while P V
    // multiplies. The steps carry O, m, l and the P of the previous tile
    // (its fragments); the first tile's S runs alone, the last P V drains
    // after the others.
    auto firstStep = [&](Value it, int64_t width, FinishTileFn finish) {
      waitForTile(it);
      SmallVector<Value> scores = zeroScores(width);
      takeTurn();
      scoreWgmma->mmaABt(scores, queryFragments, kSwizzled, stageOf(it), 0,
                         width, D);
      passTurn(Value());
      finish(it, scores);
      // O is still zero: nothing to rescale.
      SmallVector<Value> carried(init);
      softmax(carried, scores, width);
      llvm::append_range(carried, mma.accToA(scores, width));
      return carried;
    };
    auto overlapStep = [&](ValueRange carried, Value it, int64_t previousWidth,
                           int64_t width, FinishTileFn finish) {
      Value previous = n.sub(it, n.c(1));
      SmallVector<Value> acc(carried.take_front(accO));
      SmallVector<Value> probabilities(carried.drop_front(stateSize));
      waitForTile(it);
      SmallVector<Value> scores = zeroScores(width);
      takeTurn();
      scoreWgmma->issueABt(scores, queryFragments, kSwizzled, stageOf(it), 0,
                           width, D);
      wgmma->issueAB(acc, probabilities, vSwizzled, stageOf(previous), 0, D,
                     previousWidth);
      passTurn(Value());
      // S has landed (P V may still be in flight).
      scoreWgmma->retire(scores, 1);
      finish(it, scores);
      SmallVector<Value> next(carried.take_front(stateSize));
      RowValues alpha = softmax(next, scores, width);
      // Fenced, the softmax stays above the wait for P V, i.e. under it.
      SmallVector<Value> softmaxResults(scores);
      llvm::append_range(softmaxResults,
                         ArrayRef<Value>(next).drop_front(accO));
      llvm::append_range(softmaxResults, alpha);
      softmaxResults = fenceRegisters(b, softmaxResults);
      ArrayRef<Value> fenced(softmaxResults);
      llvm::copy(fenced.take_front(scores.size()), scores.begin());
      llvm::copy(fenced.slice(scores.size(), stateSize - accO),
                 next.begin() + accO);
      llvm::copy(fenced.take_back(alpha.size()), alpha.begin());
      wgmma->retire(acc, 0);
      releaseTile(previous);
      rescale(acc, alpha);
      llvm::copy(acc, next.begin());
      llvm::append_range(next, mma.accToA(scores, width));
      return next;
    };
    // Steps over tiles [begin, end) of `width` keys, after a tile of as
    // many.
    auto overlapLoop = [&](ValueRange carried, Value begin, Value end,
                           int64_t width, FinishTileFn finish) {
      auto loop = scf::ForOp::create(b, begin, end, n.c(1), carried);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToEnd(loop.getBody());
      scf::YieldOp::create(b, overlapStep(loop.getRegionIterArgs(),
                                          loop.getInductionVar(), width, width,
                                          finish));
      return llvm::to_vector_of<Value>(loop.getResults());
    };
    // P V of the last tile, `last` (`width` keys): the warpgroups' last
    // turn. Returns O, m, l.
    auto drain = [&](ValueRange carried, Value last, int64_t width) {
      SmallVector<Value> acc(carried.take_front(accO));
      SmallVector<Value> probabilities(carried.drop_front(stateSize));
      takeTurn();
      wgmma->mmaAB(acc, probabilities, vSwizzled, stageOf(last), 0, D, width);
      passTurn(arith::ConstantIntOp::create(b, 1, 1));
      releaseTile(last);
      SmallVector<Value> result(carried.take_front(stateSize));
      llvm::copy(acc, result.begin());
      return result;
    };

    // The band tiles [tileBegin, bandEnd), then the globals tiles to
    // tileEnd, all overlapped when there are band tiles. Globals tiles are
    // as wide as band tiles (then they continue the loop), or there is at
    // most one, narrower (globalsWidth, a static G below blockN).
    Value bandEnd = withGlobals ? numBand : tileEnd;
    Value lastTile = n.sub(tileEnd, n.c(1));
    auto overlapped = [&](ImplicitLocOpBuilder &) {
      SmallVector<Value> carried = firstStep(tileBegin, BN, finishBandScores);
      carried = overlapLoop(carried, n.add(tileBegin, n.c(1)), bandEnd, BN,
                            finishBandScores);
      if (!withGlobals)
        return drain(carried, lastTile, BN);
      if (globalsWidth == BN) {
        carried =
            overlapLoop(carried, bandEnd, tileEnd, BN, finishGlobalScores);
        return drain(carried, lastTile, BN);
      }
      return buildIf(
          b, n.lt(bandEnd, tileEnd), TypeRange(ValueRange(init)),
          [&](ImplicitLocOpBuilder &) {
            SmallVector<Value> last = overlapStep(
                carried, bandEnd, BN, globalsWidth, finishGlobalScores);
            return drain(last, bandEnd, globalsWidth);
          },
          [&](ImplicitLocOpBuilder &) { return drain(carried, lastTile, BN); });
    };
    // Without band tiles (rows whose windows hold no key), the globals
    // tiles one product at a time.
    auto globalsOnly = [&](ImplicitLocOpBuilder &) {
      if (!withGlobals)
        return SmallVector<Value>(init);
      auto loop = scf::ForOp::create(b, bandEnd, tileEnd, n.c(1), init);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToEnd(loop.getBody());
      Value it = loop.getInductionVar();
      waitForTile(it);
      SmallVector<Value> next =
          processTile(loop.getRegionIterArgs(), it, stageOf(it), globalsWidth,
                      finishGlobalScores, n.eq(it, lastTile));
      releaseTile(it);
      scf::YieldOp::create(b, next);
      return llvm::to_vector_of<Value>(loop.getResults());
    };
    state = buildIf(b, n.lt(tileBegin, bandEnd), TypeRange(ValueRange(init)),
                    overlapped, globalsOnly);
  }
  // No copies are in flight after the loop (the last group is empty), but
  // warps may still read the query tile or K/V, whose space the epilogue
  // reuses.
  consumerBarrier();

  SmallVector<Value> acc(state.begin(), state.begin() + accO);
  std::array<Value, 2> rowMax = {state[accO], state[accO + 1]};
  std::array<Value, 2> rowSum;
  for (int slot = 0; slot < WarpMma::kRowSlots; ++slot)
    rowSum[slot] = mma.rowReduceSum(state[accO + WarpMma::kRowSlots + slot]);
  Value quadLane = m.rem(laneIndex, m.c(4));

  // Partial results: row `row` (i32) of the CTA's row block of this split,
  // as an element index of partML / D.
  auto partialRow = [&](Value row) {
    Value rowId = m.from(
        n.add(n.mul(n.add(n.mul(bi, Hkv), kh), rowsPadded), row));
    Value perSplit = m.mul(m.from(n.mul(B, Hkv)), m.from(rowsPadded));
    return m.add(m.mul(m.from(splitIndex), perSplit), rowId);
  };

  if (variant == Variant::Band) {
    // Normalize, stage the tile in shared memory (from offset 0, over the
    // query tile) and write whole 16-byte chunks of the output rows.
    Value outTile = view(0, {rows, layout.valuePitch}, elementType);
    for (int slot = 0; slot < WarpMma::kRowSlots; ++slot) {
      Value positive = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT,
                                             rowSum[slot], f32Const(b, 0.0));
      Value inverse = arith::SelectOp::create(
          b, positive, arith::DivFOp::create(b, f32Const(b, 1.0), rowSum[slot]),
          f32Const(b, 0.0));
      Value row = m.add(warpRow, mma.rowInTile(slot));
      for (int64_t n8 = 0; n8 < D / WarpMma::kN; ++n8) {
        SmallVector<Value> pair;
        for (int c = 0; c < 2; ++c) {
          Value x = arith::MulFOp::create(
              b, acc[WarpMma::accIndex(n8, slot, c)], inverse);
          // Exactly 0 for a row that sees no key.
          pair.push_back(
              arith::SelectOp::create(b, positive, x, f32Const(b, 0.0)));
        }
        Value wide = vector::FromElementsOp::create(
            b, VectorType::get({2}, f32), pair);
        Value narrow = arith::TruncFOp::create(
            b, VectorType::get({2}, elementType), wide);
        vector::StoreOp::create(b, narrow, outTile,
                                ValueRange{row, mma.colInTile(n8, 0)},
                                /*nontemporal=*/false, llvm::Align(4));
      }
    }
    consumerBarrier();
    forEachChunk(valueChunks, rows, [&](Value row, Value col, int64_t) {
      RowRef ref = rowRef(n.add(firstRow, n.from(row)));
      kb.ifThen(ref.valid, [&] {
        Value chunk = vector::LoadOp::create(
            b, VectorType::get({valueChunks.chunk}, elementType), outTile,
            ValueRange{row, col}, /*nontemporal=*/false, llvm::Align(16));
        vector::StoreOp::create(b, chunk, outBuf,
                                ValueRange{m.add(rowOffset(os, ref), col)},
                                /*nontemporal=*/false, llvm::Align(16));
      });
    });
  } else if (variant == Variant::GlobalRows) {
    // Unnormalized O with its m and l, straight from registers.
    for (int slot = 0; slot < WarpMma::kRowSlots; ++slot) {
      Value partial = partialRow(slotRow[slot]);
      for (int64_t n8 = 0; n8 < D / WarpMma::kN; ++n8) {
        Value pair = vector::FromElementsOp::create(
            b, VectorType::get({2}, f32),
            ValueRange{acc[WarpMma::accIndex(n8, slot, 0)],
                       acc[WarpMma::accIndex(n8, slot, 1)]});
        vector::StoreOp::create(
            b, pair, partOBuf,
            ValueRange{m.add(m.mul(partial, m.c(D)), mma.colInTile(n8, 0))},
            /*nontemporal=*/false, llvm::Align(8));
      }
      kb.ifThen(m.eq(quadLane, m.c(0)), [&] {
        kb.store(rowMax[slot], partMLBuf, m.mul(partial, m.c(2)));
        kb.store(rowSum[slot], partMLBuf,
                 m.add(m.mul(partial, m.c(2)), m.c(1)));
      });
    }
  } else {
    // Decoding: merge the warps' partial results (each saw a quarter of
    // every tile) in shared memory, then write the CTA's partial.
    Value merge = view(layout.mergeOffset, {warps, WarpMma::kRows, D}, f32);
    Value mergeML = view(layout.mergeMLOffset, {warps, WarpMma::kRows, 2}, f32);
    Value warpIndex = m.from(warp);
    for (int slot = 0; slot < WarpMma::kRowSlots; ++slot) {
      Value row = mma.rowInTile(slot);
      for (int64_t n8 = 0; n8 < D / WarpMma::kN; ++n8)
        for (int c = 0; c < 2; ++c)
          memref::StoreOp::create(
              b, acc[WarpMma::accIndex(n8, slot, c)], merge,
              ValueRange{warpIndex, row, mma.colInTile(n8, c)});
      kb.ifThen(m.eq(quadLane, m.c(0)), [&] {
        memref::StoreOp::create(b, rowMax[slot], mergeML,
                                ValueRange{warpIndex, row, m.c(0)});
        memref::StoreOp::create(b, rowSum[slot], mergeML,
                                ValueRange{warpIndex, row, m.c(1)});
      });
    }
    gpu::BarrierOp::create(b);
    int64_t elements = WarpMma::kRows * D;
    for (int64_t u = 0; u * threads < elements; ++u) {
      Value e = m.add(tidIndex, m.c(u * threads));
      Value row = m.div(e, m.c(D)), col = m.rem(e, m.c(D));
      Value best = negInf(b);
      for (int64_t w = 0; w < warps; ++w)
        best = arith::MaximumFOp::create(
            b, best,
            memref::LoadOp::create(b, mergeML,
                                   ValueRange{m.c(w), row, m.c(0)}));
      Value base = arith::SelectOp::create(b, isNegInf(b, best),
                                           f32Const(b, 0.0), best);
      Value num = f32Const(b, 0.0), den = f32Const(b, 0.0);
      for (int64_t w = 0; w < warps; ++w) {
        Value weight = exp2(
            b, arith::SubFOp::create(
                   b,
                   memref::LoadOp::create(b, mergeML,
                                          ValueRange{m.c(w), row, m.c(0)}),
                   base));
        num = arith::AddFOp::create(
            b, num,
            arith::MulFOp::create(
                b, weight,
                memref::LoadOp::create(b, merge,
                                       ValueRange{m.c(w), row, col})));
        den = arith::AddFOp::create(
            b, den,
            arith::MulFOp::create(
                b, weight,
                memref::LoadOp::create(b, mergeML,
                                       ValueRange{m.c(w), row, m.c(1)})));
      }
      Value partial = partialRow(n.add(firstRow, n.from(row)));
      kb.store(num, partOBuf, m.add(m.mul(partial, m.c(D)), col));
      kb.ifThen(m.eq(col, m.c(0)), [&] {
        kb.store(best, partMLBuf, m.mul(partial, m.c(2)));
        kb.store(den, partMLBuf, m.add(m.mul(partial, m.c(2)), m.c(1)));
      });
    }
  }
  if (roles)
    b.setInsertionPointAfter(roles);
  return kb.finish();
}

/// Merges the partial results of the decoding or global-rows kernel:
/// out = sum_s 2^(m_s - M) O_s / sum_s 2^(m_s - M) l_s with M = max_s m_s;
/// a row no split saw anything of gets exact zeros. One thread per output
/// element.
static KernelDecl buildMergeKernel(const Plan &plan, Variant variant,
                                   BundleBuilder &bundle, Location loc) {
  const bool globalRows = variant == Variant::GlobalRows;
  const int64_t D = plan.headDim;
  MLIRContext *ctx = plan.elementType.getContext();
  Type f32 = Float32Type::get(ctx);
  KernelBuilder kb = bundle.newKernel(
      (Twine("attention_merge_") + getVariantName(variant)).str(), loc);
  unsigned partOArg = kb.addBuffer(f32), partMLArg = kb.addBuffer(f32);
  unsigned globalsArg = kb.addBuffer(IntegerType::get(ctx, 32));
  unsigned outArg = kb.addBuffer(plan.elementType);
  unsigned bArg = kb.addScalar(), hqArg = kb.addScalar(),
           hkvArg = kb.addScalar(), sqArg = kb.addScalar(),
           skArg = kb.addScalar(), gArg = kb.addScalar();
  unsigned oStride[3] = {kb.addScalar(), kb.addScalar(), kb.addScalar()};
  unsigned splitsArg = kb.addScalar(), rowsArg = kb.addScalar();
  constexpr int64_t kThreads = 128;
  ImplicitLocOpBuilder &b = kb.begin({kThreads, 1, 1});
  IntMath m = IntMath::index(b);
  Value B = kb.scalar(bArg), Hq = kb.scalar(hqArg), Hkv = kb.scalar(hkvArg),
        Sq = kb.scalar(sqArg), Sk = kb.scalar(skArg), G = kb.scalar(gArg);
  Value splits = kb.scalar(splitsArg), rowsPadded = kb.scalar(rowsArg);
  Value index = kb.globalIdX();
  Value numRows = m.mul(m.mul(B, Hkv), rowsPadded);
  kb.ifThen(m.lt(index, m.mul(numRows, m.c(D))), [&] {
    Value col = m.rem(index, m.c(D)), rowId = m.div(index, m.c(D));
    Value row = m.rem(rowId, rowsPadded);
    Value batchHead = m.div(rowId, rowsPadded);
    Value kh = m.rem(batchHead, Hkv), bi = m.div(batchHead, Hkv);
    Value ratio = m.div(Hq, m.max(Hkv, m.c(1)));
    Value head = m.add(m.mul(kh, ratio), m.rem(row, ratio));
    Value queryRow, valid;
    if (!globalRows) {
      queryRow = m.div(row, ratio);
      valid = m.lt(queryRow, Sq);
    } else {
      Value slot = m.div(row, ratio);
      Value inRange = m.lt(slot, G);
      Value g = toIndex(b, kb.load(kb.buffer(globalsArg),
                                   m.add(m.mul(bi, G),
                                         m.min(slot, m.sub(G, m.c(1))))));
      queryRow = m.sub(m.add(g, Sq), Sk);
      valid = andI1(b, inRange,
                    andI1(b, m.le(m.c(0), g), m.le(m.c(0), queryRow)));
    }
    kb.ifThen(valid, [&] {
      Value stride = numRows;
      auto mAt = [&](Value s) {
        return kb.load(kb.buffer(partMLArg),
                       m.mul(m.add(m.mul(s, stride), rowId), m.c(2)));
      };
      Value best = buildFor(b, m.c(0), splits, negInf(b),
                            [&](ImplicitLocOpBuilder &b, Value s,
                                ValueRange args) {
                              return SmallVector<Value>{
                                  arith::MaximumFOp::create(b, args[0],
                                                            mAt(s))};
                            })[0];
      Value base = arith::SelectOp::create(b, isNegInf(b, best),
                                           f32Const(b, 0.0), best);
      SmallVector<Value> sums = buildFor(
          b, m.c(0), splits, ValueRange{f32Const(b, 0.0), f32Const(b, 0.0)},
          [&](ImplicitLocOpBuilder &b, Value s, ValueRange args) {
            Value partial = m.add(m.mul(s, stride), rowId);
            Value weight = exp2(b, arith::SubFOp::create(b, mAt(s), base));
            Value o = kb.load(kb.buffer(partOArg),
                              m.add(m.mul(partial, m.c(D)), col));
            Value l = kb.load(kb.buffer(partMLArg),
                              m.add(m.mul(partial, m.c(2)), m.c(1)));
            return SmallVector<Value>{
                arith::AddFOp::create(b, args[0],
                                      arith::MulFOp::create(b, weight, o)),
                arith::AddFOp::create(b, args[1],
                                      arith::MulFOp::create(b, weight, l))};
          });
      Value positive = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT,
                                             sums[1], f32Const(b, 0.0));
      Value result = arith::SelectOp::create(
          b, positive, arith::DivFOp::create(b, sums[0], sums[1]),
          f32Const(b, 0.0));
      Value offset = m.add(
          m.add(m.add(m.mul(bi, kb.scalar(oStride[0])),
                      m.mul(head, kb.scalar(oStride[1]))),
                m.mul(queryRow, kb.scalar(oStride[2]))),
          col);
      kb.store(fromF32(b, result, plan.elementType), kb.buffer(outArg),
               offset);
    });
  });
  return kb.finish();
}

/// globals -> the slots the kernels use: the position where it names a key
/// in [0, Sk) for the first time in its batch row, else -1.
static KernelDecl buildGlobalsKernel(BundleBuilder &bundle, Location loc) {
  MLIRContext *ctx = loc.getContext();
  Type i32 = IntegerType::get(ctx, 32);
  KernelBuilder kb = bundle.newKernel("attention_globals", loc);
  unsigned inArg = kb.addBuffer(i32), outArg = kb.addBuffer(i32);
  unsigned bArg = kb.addScalar(), gArg = kb.addScalar(),
           skArg = kb.addScalar();
  ImplicitLocOpBuilder &b = kb.begin({128, 1, 1});
  IntMath m = IntMath::index(b);
  Value G = kb.scalar(gArg), Sk = kb.scalar(skArg);
  Value index = kb.globalIdX();
  kb.ifThen(m.lt(index, m.mul(kb.scalar(bArg), G)), [&] {
    Value t = m.rem(index, G), rowBase = m.sub(index, t);
    Value raw = kb.load(kb.buffer(inArg), index);
    Value g = toIndex(b, raw);
    Value duplicate = buildFor(
        b, m.c(0), t, boolConst(b, false),
        [&](ImplicitLocOpBuilder &b, Value u, ValueRange args) {
          Value other = toIndex(b, kb.load(kb.buffer(inArg), m.add(rowBase, u)));
          return SmallVector<Value>{orI1(b, args[0], m.eq(other, g))};
        })[0];
    Value used = andI1(b, andI1(b, m.le(m.c(0), g), m.lt(g, Sk)),
                       notI1(b, duplicate));
    Value result = arith::SelectOp::create(
        b, used, raw, arith::ConstantIntOp::create(b, i32, -1));
    kb.store(result, kb.buffer(outArg), index);
  });
  return kb.finish();
}

//===----------------------------------------------------------------------===//
// Quantized scores (qk_precision)
//===----------------------------------------------------------------------===//

/// Threads per CTA of the key-mean and quantizing kernels.
static constexpr int64_t kQuantizeThreads = 128;

/// The keys' mean in the contract's order, in two kernels: `key_sums`
/// writes the partial sum of each 64-key block (one CTA per block, kv head
/// and batch, a thread per column, ascending keys), `key_mean` adds them up
/// (a thread per column, ascending blocks) and divides by Sk. The blocks
/// make the long sum over the sequence parallel.
static KernelDecl buildKeySumsKernel(BundleBuilder &bundle, Type elementType,
                                     Location loc) {
  MLIRContext *ctx = loc.getContext();
  Type f32 = Float32Type::get(ctx);
  KernelBuilder kb = bundle.newKernel("attention_key_sums", loc);
  unsigned keyArg = kb.addBuffer(elementType), sumsArg = kb.addBuffer(f32);
  unsigned kvHeadsArg = kb.addScalar(), keyLenArg = kb.addScalar(),
           headDimArg = kb.addScalar();
  std::array<unsigned, 3> strideArgs;
  for (unsigned &arg : strideArgs)
    arg = kb.addScalar();
  ImplicitLocOpBuilder &b = kb.begin({kQuantizeThreads, 1, 1});
  IntMath m = IntMath::index(b);
  Value block = kb.blockIdX(), kh = kb.blockId(gpu::Dimension::y),
        bi = kb.blockId(gpu::Dimension::z);
  Value keyLen = kb.scalar(keyLenArg), headDim = kb.scalar(headDimArg);
  Value keyBuf = kb.buffer(keyArg), rowStride = kb.scalar(strideArgs[2]);
  Value first = m.mul(block, m.c(kScoreBlockRows));
  Value end = m.min(m.add(first, m.c(kScoreBlockRows)), keyLen);
  Value base = m.add(m.mul(bi, kb.scalar(strideArgs[0])),
                     m.mul(kh, kb.scalar(strideArgs[1])));
  Value blocks = m.ceilDiv(keyLen, m.c(kScoreBlockRows));
  Value row = m.add(m.mul(m.add(m.mul(bi, kb.scalar(kvHeadsArg)), kh), blocks),
                    block);
  kb.forEach(kb.threadIdX(), headDim, m.c(kQuantizeThreads), [&](Value d) {
    Value sum =
        buildFor(b, first, end, f32Const(b, 0.0),
                 [&](ImplicitLocOpBuilder &b, Value j, ValueRange args) {
                   Value x = kb.load(keyBuf,
                                     m.add(m.add(base, m.mul(j, rowStride)), d));
                   return SmallVector<Value>{
                       arith::AddFOp::create(b, args[0], toF32(b, x))};
                 })[0];
    kb.store(sum, kb.buffer(sumsArg), m.add(m.mul(row, headDim), d));
  });
  return kb.finish();
}

static KernelDecl buildKeyMeanKernel(BundleBuilder &bundle, Location loc) {
  MLIRContext *ctx = loc.getContext();
  Type f32 = Float32Type::get(ctx);
  KernelBuilder kb = bundle.newKernel("attention_key_mean", loc);
  unsigned sumsArg = kb.addBuffer(f32), meanArg = kb.addBuffer(f32);
  unsigned kvHeadsArg = kb.addScalar(), keyLenArg = kb.addScalar(),
           headDimArg = kb.addScalar();
  ImplicitLocOpBuilder &b = kb.begin({kQuantizeThreads, 1, 1});
  IntMath m = IntMath::index(b);
  Value d = kb.globalIdX(), kh = kb.blockId(gpu::Dimension::y),
        bi = kb.blockId(gpu::Dimension::z);
  Value keyLen = kb.scalar(keyLenArg), headDim = kb.scalar(headDimArg);
  kb.ifThen(m.lt(d, headDim), [&] {
    Value head = m.add(m.mul(bi, kb.scalar(kvHeadsArg)), kh);
    Value blocks = m.ceilDiv(keyLen, m.c(kScoreBlockRows));
    Value sum =
        buildFor(b, m.c(0), blocks, f32Const(b, 0.0),
                 [&](ImplicitLocOpBuilder &b, Value c, ValueRange args) {
                   Value partial = kb.load(
                       kb.buffer(sumsArg),
                       m.add(m.mul(m.add(m.mul(head, blocks), c), headDim), d));
                   return SmallVector<Value>{
                       arith::AddFOp::create(b, args[0], partial)};
                 })[0];
    Value count = arith::UIToFPOp::create(
        b, f32, arith::IndexCastUIOp::create(b, b.getI64Type(), keyLen));
    kb.store(arith::DivFOp::create(b, sum, count), kb.buffer(meanArg),
             m.add(m.mul(head, headDim), d));
  });
  return kb.finish();
}

/// The f8E4M3FN bits (as i8) of `value`, an f32 that is exactly an
/// f8E4M3FN value (or NaN): sign, then exponent + 7 and the top 3 mantissa
/// bits of a normal value (|v| >= 2^-6), or |v| * 2^9 for a subnormal one.
/// (arith.truncf to f8E4M3FN has no LLVM lowering.)
static Value encodeF8E4M3FN(ImplicitLocOpBuilder &b, Value value) {
  Type i32 = b.getI32Type();
  auto c = [&](int64_t v) {
    return arith::ConstantOp::create(b, b.getI32IntegerAttr(v)).getResult();
  };
  Value bits = arith::BitcastOp::create(b, i32, value);
  Value sign = arith::AndIOp::create(
      b, arith::ShRUIOp::create(b, bits, c(24)), c(0x80));
  Value magnitudeBits = arith::AndIOp::create(b, bits, c(0x7fffffff));
  Value biasedExponent = arith::ShRUIOp::create(b, magnitudeBits, c(23));
  Value normal = arith::OrIOp::create(
      b,
      arith::ShLIOp::create(
          b, arith::SubIOp::create(b, biasedExponent, c(127 - 7)), c(3)),
      arith::AndIOp::create(b, arith::ShRUIOp::create(b, magnitudeBits, c(20)),
                            c(7)));
  Value magnitude = math::AbsFOp::create(b, value);
  Value subnormal = arith::FPToSIOp::create(
      b, i32, arith::MulFOp::create(b, magnitude, f32Const(b, 512.0)));
  Value isNormal = arith::CmpIOp::create(b, arith::CmpIPredicate::sge,
                                         biasedExponent, c(127 - 6));
  Value byte = arith::OrIOp::create(
      b, sign, arith::SelectOp::create(b, isNormal, normal, subnormal));
  Value isNaN = arith::CmpFOp::create(b, arith::CmpFPredicate::UNO, value,
                                      value);
  byte = arith::SelectOp::create(b, isNaN, c(0x7f), byte);
  return arith::TruncIOp::create(b, b.getI8Type(), byte);
}

/// Quantizes one block of 64 rows of x [B, H, S, D] (read through its
/// strides), minus mean [B, H, D] when `subtractMean`, as qk_precision
/// `precision` says: the values, exact in `valueType` (i8: the int8 values
/// or the f8E4M3FN bits; or the element type), into a dense [B, H, S, D]
/// buffer and the scale into
/// [B, H, ceil(S / 64)]. One CTA of 128 threads per (block, head, batch);
/// the block's max |x| is reduced over the warps through shared memory.
static KernelDecl buildScoreQuantizeKernel(BundleBuilder &bundle,
                                           Type elementType, Type valueType,
                                           Type precision, bool subtractMean,
                                           Location loc) {
  constexpr int64_t kThreads = kQuantizeThreads, kWarps = kThreads / 32;
  MLIRContext *ctx = loc.getContext();
  Type f32 = Float32Type::get(ctx);
  KernelBuilder kb = bundle.newKernel(
      subtractMean ? "attention_quantize_keys" : "attention_quantize_queries",
      loc);
  unsigned inArg = kb.addBuffer(elementType), meanArg = kb.addBuffer(f32),
           valuesArg = kb.addBuffer(valueType), scalesArg = kb.addBuffer(f32);
  unsigned headsArg = kb.addScalar(), lenArg = kb.addScalar(),
           headDimArg = kb.addScalar();
  std::array<unsigned, 3> strideArgs;
  for (unsigned &arg : strideArgs)
    arg = kb.addScalar();
  unsigned partialArg = kb.addWorkgroupBuffer(f32, kWarps);
  ImplicitLocOpBuilder &b = kb.begin({kThreads, 1, 1});
  IntMath m = IntMath::index(b);
  Value tid = kb.threadIdX(), block = kb.blockIdX(),
        h = kb.blockId(gpu::Dimension::y), bi = kb.blockId(gpu::Dimension::z);
  Value heads = kb.scalar(headsArg), len = kb.scalar(lenArg),
        headDim = kb.scalar(headDimArg);
  Value inBuf = kb.buffer(inArg), meanBuf = kb.buffer(meanArg);
  Value firstRow = m.mul(block, m.c(kScoreBlockRows));
  Value rows = m.min(m.c(kScoreBlockRows), m.sub(len, firstRow));
  Value count = m.mul(rows, headDim);
  Value inBase = m.add(m.mul(bi, kb.scalar(strideArgs[0])),
                       m.mul(h, kb.scalar(strideArgs[1])));
  Value head = m.add(m.mul(bi, heads), h);
  // Element e of the block (row e / D, column e % D), in f32.
  auto element = [&](Value e) {
    Value row = m.add(firstRow, m.div(e, headDim));
    Value col = m.rem(e, headDim);
    Value x = toF32(
        b, kb.load(inBuf,
                   m.add(m.add(inBase, m.mul(row, kb.scalar(strideArgs[2]))),
                         col)));
    if (!subtractMean)
      return x;
    Value mean = kb.load(meanBuf, m.add(m.mul(head, headDim), col));
    return arith::SubFOp::create(b, x, mean).getResult();
  };

  // amax = max |x| over the block; maximumf keeps a NaN.
  Value local =
      buildStridedFor(b, tid, count, m.c(kThreads), f32Const(b, 0.0),
                      [&](ImplicitLocOpBuilder &b, Value e, ValueRange args) {
                        Value magnitude = math::AbsFOp::create(b, element(e));
                        return SmallVector<Value>{
                            arith::MaximumFOp::create(b, args[0], magnitude)};
                      })[0];
  Value warpMax = kb.warpAllReduceMax(local);
  Value partial = kb.workgroup(partialArg);
  Value warp = m.div(tid, m.c(32));
  kb.ifThen(m.eq(m.rem(tid, m.c(32)), m.c(0)),
            [&] { kb.store(warpMax, partial, warp); });
  gpu::BarrierOp::create(b);
  Value amax = kb.load(partial, m.c(0));
  for (int64_t w = 1; w < kWarps; ++w)
    amax = arith::MaximumFOp::create(b, amax, kb.load(partial, m.c(w)));

  double qmax = getScorePrecisionMax(precision);
  Value inverse = arith::DivFOp::create(b, f32Const(b, qmax), amax);
  Value usable = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, amax,
                                       f32Const(b, 0.0));
  Value valuesBuf = kb.buffer(valuesArg);
  Value outBase = m.mul(m.add(m.mul(head, len), firstRow), headDim);
  kb.forEach(tid, count, m.c(kThreads), [&](Value e) {
    Value scaled = arith::MulFOp::create(b, element(e), inverse);
    Value q = arith::SelectOp::create(
        b, usable, roundToScorePrecision(b, scaled, precision),
        f32Const(b, 0.0));
    Value value;
    if (!valueType.isInteger(8))
      value = fromF32(b, q, valueType);
    else if (precision.isInteger(8))
      value = arith::FPToSIOp::create(b, valueType, q);
    else
      value = encodeF8E4M3FN(b, q);
    kb.store(value, valuesBuf, m.add(outBase, e));
  });
  kb.ifThen(m.eq(tid, m.c(0)), [&] {
    Value scale = arith::DivFOp::create(b, amax, f32Const(b, qmax));
    Value blocks = m.ceilDiv(len, m.c(kScoreBlockRows));
    kb.store(scale, kb.buffer(scalesArg), m.add(m.mul(head, blocks), block));
  });
  return kb.finish();
}

QuantizedQueryKey
mlir::sieve::launchScoreQuantization(Operation *op, BundleBuilder &bundle,
                                     const AttentionConfig &config,
                                     Type valueType) {
  Value q = config.query, k = config.key;
  Location loc = op->getLoc();
  Type elementType = cast<RankedTensorType>(q.getType()).getElementType();
  DType dtype = bundle.get(q).dtype;
  DType valueDType = valueType.isInteger(8) ? DType::I8 : dtype;
  SizeExpr batch = bundle.dim(q, 0), headDim = bundle.dim(q, 3);
  auto blocks = [](SizeExpr len) {
    return SizeExpr::ceilDiv(len, kScoreBlockRows);
  };

  SizeExpr kvHeads = bundle.dim(k, 1), keyLen = bundle.dim(k, 2);
  std::string keySums = bundle.addScratch(
      DType::F32, batch * kvHeads * blocks(keyLen) * headDim);
  std::string keyMean =
      bundle.addScratch(DType::F32, batch * kvHeads * headDim);
  SmallVector<SizeExpr> kStrides = bundle.strides(k);
  KernelDecl sumsKernel = buildKeySumsKernel(bundle, elementType, loc);
  LaunchDecl sumsLaunch;
  sumsLaunch.kernel = sumsKernel.name;
  sumsLaunch.grid = {blocks(keyLen), kvHeads, batch};
  sumsLaunch.block = {kQuantizeThreads, 1, 1};
  sumsLaunch.args = {KernelArg::ofBuffer(bundle.get(k).buffer, dtype),
                     KernelArg::ofBuffer(keySums, DType::F32),
                     KernelArg::ofI64(kvHeads), KernelArg::ofI64(keyLen),
                     KernelArg::ofI64(headDim)};
  for (int d = 0; d < 3; ++d)
    sumsLaunch.args.push_back(KernelArg::ofI64(kStrides[d]));
  bundle.addKernel(sumsKernel);
  bundle.launch(op, std::move(sumsLaunch));

  KernelDecl meanKernel = buildKeyMeanKernel(bundle, loc);
  LaunchDecl meanLaunch;
  meanLaunch.kernel = meanKernel.name;
  meanLaunch.grid = {SizeExpr::ceilDiv(headDim, kQuantizeThreads), kvHeads,
                     batch};
  meanLaunch.block = {kQuantizeThreads, 1, 1};
  meanLaunch.args = {KernelArg::ofBuffer(keySums, DType::F32),
                     KernelArg::ofBuffer(keyMean, DType::F32),
                     KernelArg::ofI64(kvHeads), KernelArg::ofI64(keyLen),
                     KernelArg::ofI64(headDim)};
  bundle.addKernel(meanKernel);
  bundle.launch(op, std::move(meanLaunch));

  // Quantizes `input` into new scratch buffers: its values and scales.
  auto quantize = [&](Value input, bool isKey) {
    SizeExpr heads = bundle.dim(input, 1), len = bundle.dim(input, 2);
    std::string values =
        bundle.addScratch(valueDType, batch * heads * len * headDim);
    std::string scales =
        bundle.addScratch(DType::F32, batch * heads * blocks(len));
    KernelDecl kernel = buildScoreQuantizeKernel(
        bundle, elementType, valueType, config.scoreQuantization, isKey, loc);
    LaunchDecl launch;
    launch.kernel = kernel.name;
    launch.grid = {blocks(len), heads, batch};
    launch.block = {kQuantizeThreads, 1, 1};
    launch.args = {KernelArg::ofBuffer(bundle.get(input).buffer, dtype),
                   KernelArg::ofBuffer(keyMean, DType::F32),
                   KernelArg::ofBuffer(values, valueDType),
                   KernelArg::ofBuffer(scales, DType::F32),
                   KernelArg::ofI64(heads),
                   KernelArg::ofI64(len),
                   KernelArg::ofI64(headDim)};
    SmallVector<SizeExpr> strides = bundle.strides(input);
    for (int d = 0; d < 3; ++d)
      launch.args.push_back(KernelArg::ofI64(strides[d]));
    bundle.addKernel(kernel);
    bundle.launch(op, std::move(launch));
    return std::pair(values, scales);
  };
  QuantizedQueryKey result;
  result.valueDType = valueDType;
  std::tie(result.queries, result.queryScales) = quantize(q, /*isKey=*/false);
  std::tie(result.keys, result.keyScales) = quantize(k, /*isKey=*/true);
  return result;
}

//===----------------------------------------------------------------------===//
// The provider
//===----------------------------------------------------------------------===//

AttentionConfig mlir::sieve::getAttentionConfig(Operation *op) {
  AttentionConfig config;
  // What both ops have.
  auto common = [&](auto attention) {
    config.query = attention.getQuery();
    config.key = attention.getKey();
    config.value = attention.getValue();
    config.result = attention.getResult();
    config.scale = attention.getScale();
    config.causal = attention.getCausal();
    config.scoreQuantization = attention.getScoreQuantizationType();
  };
  if (auto dense = dyn_cast<AttentionOp>(op)) {
    common(dense);
    return config;
  }
  auto hybrid = cast<HybridAttentionOp>(op);
  common(hybrid);
  config.globals = hybrid.getGlobals();
  config.windowLeft = static_cast<int64_t>(hybrid.getWindowLeft());
  config.windowRight = static_cast<int64_t>(hybrid.getWindowRight());
  config.globalQueries = hybrid.getGlobalQueries();
  return config;
}

std::optional<std::string>
mlir::sieve::whyNoTensorCoreAttention(const AttentionConfig &config,
                                      StringRef target) {
  auto queryType = cast<RankedTensorType>(config.query.getType());
  auto keyType = cast<RankedTensorType>(config.key.getType());
  auto valueType = cast<RankedTensorType>(config.value.getType());
  Type element = queryType.getElementType();
  if (!element.isF16() && !element.isBF16())
    return std::string("the element type is not f16 or bf16");
  int64_t headDim = queryType.getDimSize(3);
  if (ShapedType::isDynamic(headDim) ||
      keyType.getDimSize(3) != headDim || valueType.getDimSize(3) != headDim)
    return std::string("the head dimensions of query, key and value are not "
                       "one static size");
  if (!lookupAttentionTiles(target, headDim))
    return "the tile table has no entry for head dimension " +
           std::to_string(headDim) + " on " + target.str();
  return std::nullopt;
}

bool mlir::sieve::attentionReadsStridedOperand(Operation *op, unsigned index,
                                               StringRef target) {
  return index < 3 && !whyNoTensorCoreAttention(getAttentionConfig(op), target);
}

/// min(max(x, 0), 1): 1 when x > 0, else 0 (for integers); gates launches of
/// a variant whose condition depends on a dynamic size.
static SizeExpr positive(const SizeExpr &x) {
  return SizeExpr::min(SizeExpr::max(x, 0), 1);
}

/// Window bounds far beyond any sequence stay usable in size expressions.
static constexpr int64_t kWindowCap = int64_t(1) << 40;

static Plan makePlan(const AttentionConfig &config,
                     const AttentionTiles &tiles, StringRef target) {
  Plan plan;
  plan.config = config;
  plan.tiles = tiles;
  auto queryType = cast<RankedTensorType>(config.query.getType());
  plan.elementType = queryType.getElementType();
  plan.headDim = queryType.getDimSize(3);
  double scale = config.scale ? config.scale->convertToDouble()
                              : 1.0 / std::sqrt(double(plan.headDim));
  plan.scaleLog2 = static_cast<float>(scale * M_LOG2E);
  plan.globalsWidth = tiles.blockN;
  if (config.globals) {
    int64_t numGlobals =
        cast<RankedTensorType>(config.globals.getType()).getDimSize(1);
    plan.hasGlobals = numGlobals != 0;
    // A static G below a tile: only as many keys as there are globals,
    // rounded to the k16 of P V.
    if (!ShapedType::isDynamic(numGlobals) && numGlobals < tiles.blockN)
      plan.globalsWidth = std::max<int64_t>(16, (numGlobals + 15) / 16 * 16);
    plan.windowLeft = std::min(config.windowLeft, kWindowCap);
    plan.windowRight = std::min(config.windowRight, kWindowCap);
  }
  int64_t queryHeads = queryType.getDimSize(1);
  int64_t kvHeads = cast<RankedTensorType>(config.key.getType()).getDimSize(1);
  if (!ShapedType::isDynamic(queryHeads) && !ShapedType::isDynamic(kvHeads) &&
      kvHeads > 0 && queryHeads % kvHeads == 0)
    plan.staticHeadRatio = queryHeads / kvHeads;
  plan.quantizedScores = static_cast<bool>(config.scoreQuantization);
  Type precision = config.scoreQuantization;
  plan.scoreElementType =
      precision && (precision.isInteger(8) || hasE4M3MmaSync(target))
          ? precision
          : plan.elementType;
  assert(kScoreBlockRows % tiles.blockN == 0 &&
         "a key tile lies in one block of quantized keys");
  return plan;
}

namespace {
/// The sizes of one op as manifest expressions.
struct OpSizes {
  SizeExpr batch, queryHeads, kvHeads, queryLen, keyLen, numGlobals, ratio;
};
} // namespace

static SizeExpr getDecodeTiles(const Plan &plan, const OpSizes &sizes) {
  int64_t BN = plan.tiles.blockN;
  SizeExpr band = SizeExpr::ceilDiv(sizes.keyLen, BN);
  if (plan.windowLeft) {
    int64_t right = plan.config.causal ? 0 : *plan.windowRight;
    band = SizeExpr::min(
        band, (*plan.windowLeft + right + plan.tiles.decodeRows) / BN + 2);
  }
  if (plan.hasGlobals)
    band = band + SizeExpr::ceilDiv(sizes.numGlobals, BN);
  return band;
}

static LogicalResult buildTensorCoreAttention(Operation *op,
                                              BundleBuilder &bundle,
                                              const AttentionConfig &config,
                                              const AttentionTiles &tiles) {
  Value q = config.query, k = config.key, v = config.value, g = config.globals;
  Plan plan = makePlan(config, tiles, bundle.getTarget());
  const int64_t D = plan.headDim;
  OpSizes sizes;
  sizes.batch = bundle.dim(q, 0);
  sizes.queryHeads = bundle.dim(q, 1);
  sizes.queryLen = bundle.dim(q, 2);
  sizes.kvHeads = bundle.dim(k, 1);
  sizes.keyLen = bundle.dim(k, 2);
  sizes.numGlobals = g ? bundle.dim(g, 1) : SizeExpr(0);
  bundle.check(SizeExpr::eq(bundle.dim(k, 0), sizes.batch),
               "'key' and 'query' have different batch sizes", op);
  bundle.check(SizeExpr::eq(bundle.dim(v, 0), sizes.batch),
               "'value' and 'query' have different batch sizes", op);
  bundle.check(SizeExpr::eq(bundle.dim(v, 1), sizes.kvHeads),
               "'value' and 'key' have different numbers of heads", op);
  bundle.check(SizeExpr::eq(bundle.dim(v, 2), sizes.keyLen),
               "'value' and 'key' have different sequence lengths", op);
  bundle.check(SizeExpr::both(SizeExpr::le(1, sizes.kvHeads),
                              SizeExpr::eq(sizes.queryHeads % sizes.kvHeads, 0)),
               "the number of query heads is not a multiple of the number of "
               "key/value heads",
               op);
  if (g)
    bundle.check(SizeExpr::eq(bundle.dim(g, 0), sizes.batch),
                 "'globals' and 'query' have different batch sizes", op);
  // The kernels copy rows in 16-byte chunks: each row must be contiguous and
  // start 16-byte aligned (strides of size-1 dimensions do not matter).
  for (auto [operand, name] : {std::pair(q, "query"), std::pair(k, "key"),
                               std::pair(v, "value")}) {
    SmallVector<SizeExpr> strides = bundle.strides(operand);
    bundle.check(SizeExpr::eq(strides[3], 1),
                 Twine("the elements of each row of '") + name +
                     "' are not contiguous (stride of dimension 3 is not 1)",
                 op);
    for (int d = 0; d < 3; ++d)
      bundle.check(SizeExpr::eq((strides[d] % 8) * (bundle.dim(operand, d) - 1),
                                0),
                   Twine("the stride of dimension ") + Twine(d) + " of '" +
                       name + "' is not a multiple of 8 elements (16 bytes)",
                   op);
    // Offsets within a K/V tile are computed in 32 bits.
    bundle.check(SizeExpr::le(strides[2] * tiles.blockN,
                              std::numeric_limits<int32_t>::max() - D),
                 Twine("the stride of dimension 2 of '") + name +
                     "' is too large (a tile of rows must span less than "
                     "2^31 elements)",
                 op);
  }
  sizes.ratio = sizes.queryHeads / sizes.kvHeads;
  // The kernels count rows, positions and tiles in 32 bits.
  bundle.check(SizeExpr::le((sizes.queryLen + sizes.numGlobals) * sizes.ratio +
                                sizes.queryLen + sizes.keyLen,
                            int64_t(1) << 30),
               "the sequences are too long for the tensor-core kernels "
               "((Sq + G) * Hq / Hkv + Sq + Sk must be at most 2^30)",
               op);
  const TensorBinding &out =
      bundle.define(config.result,
                    {sizes.batch, sizes.queryHeads, sizes.queryLen, D});
  DType dtype = out.dtype;
  Location loc = op->getLoc();

  // The globals as the kernels use them (deduplicated, in range).
  std::string cleanGlobals;
  if (plan.hasGlobals) {
    cleanGlobals = bundle.addScratch(DType::I32, sizes.batch * sizes.numGlobals);
    KernelDecl kernel = buildGlobalsKernel(bundle, loc);
    LaunchDecl launch;
    launch.kernel = kernel.name;
    launch.grid = {SizeExpr::ceilDiv(sizes.batch * sizes.numGlobals, 128), 1,
                   1};
    launch.block = {128, 1, 1};
    launch.args = {KernelArg::ofBuffer(bundle.get(g).buffer, DType::I32),
                   KernelArg::ofBuffer(cleanGlobals, DType::I32),
                   KernelArg::ofI64(sizes.batch),
                   KernelArg::ofI64(sizes.numGlobals),
                   KernelArg::ofI64(sizes.keyLen)};
    bundle.addKernel(kernel);
    bundle.launch(op, std::move(launch));
  } else {
    cleanGlobals = bundle.addScratch(DType::I32, 1);
  }

  SmallVector<SizeExpr> qStrides = bundle.strides(q), kStrides = bundle.strides(k),
                        vStrides = bundle.strides(v), oStrides = out.getStrides();
  std::string queryBuffer = bundle.get(q).buffer,
              keyBuffer = bundle.get(k).buffer;

  // Quantized scores: the core kernels read the quantized queries and keys
  // (dense) and their blocks' scales.
  std::string queryScales, keyScales;
  DType scoreDType = dtype;
  if (plan.quantizedScores) {
    QuantizedQueryKey quantized =
        launchScoreQuantization(op, bundle, config, plan.getScoreStorageType());
    queryBuffer = quantized.queries;
    keyBuffer = quantized.keys;
    queryScales = quantized.queryScales;
    keyScales = quantized.keyScales;
    scoreDType = quantized.valueDType;
    qStrides = {sizes.queryHeads * sizes.queryLen * D, sizes.queryLen * D,
                SizeExpr(D)};
    kStrides = {sizes.kvHeads * sizes.keyLen * D, sizes.keyLen * D,
                SizeExpr(D)};
  } else {
    queryScales = keyScales = bundle.addScratch(DType::F32, 1);
  }

  // A tensor map over `buffer`: `dims` innermost first (dimension 0 is
  // the contiguous D), `strides` those of dimensions 1.. in elements. A
  // size-1 dimension's stride is never used, and any is allowed for it, so
  // it gets the dense one (TMA wants multiples of 16 bytes).
  auto tensorMap = [&](const std::string &buffer, DType elementDType,
                       ArrayRef<SizeExpr> dims, ArrayRef<SizeExpr> strides,
                       ArrayRef<int64_t> box, int64_t swizzle) {
    int64_t elementBytes = getDTypeSize(elementDType);
    TensorMapDecl map;
    map.dims.assign(dims.begin(), dims.end());
    SizeExpr dense = SizeExpr(D * elementBytes);
    for (size_t d = 1; d < dims.size(); ++d) {
      SizeExpr stride = strides[d - 1] * elementBytes;
      // 1 for a size-1 dimension (and for an empty one, whose launch
      // the runtime skips), else 0.
      SizeExpr single = positive(SizeExpr(2) - dims[d]);
      map.strides.push_back(stride + single * (dense - stride));
      dense = dense * dims[d];
    }
    map.box.assign(box.begin(), box.end());
    map.swizzle = swizzle;
    return KernelArg::ofTensorMap(buffer, elementDType, std::move(map));
  };
  // K or V ([B, Hkv, Sk, D] through `strides`): boxes of one swizzle span
  // of a tile's rows, swizzled as SwizzledTiles lays them out.
  auto kvTensorMap = [&](const std::string &buffer, DType elementDType,
                         ArrayRef<SizeExpr> strides) {
    int64_t swizzle = std::min<int64_t>(128, D * getDTypeSize(elementDType));
    return tensorMap(buffer, elementDType,
                     {SizeExpr(D), sizes.keyLen, sizes.kvHeads, sizes.batch},
                     {strides[2], strides[1], strides[0]},
                     {swizzle / getDTypeSize(elementDType), tiles.blockN, 1, 1},
                     swizzle);
  };
  // Q as [B, Hkv, Sq, r, D] (query head kh * r + h is (kh, h)): a box of
  // blockM / r query rows of all r heads is a CTA's packed rows, dense.
  auto queryTensorMap = [&]() {
    int64_t r = plan.staticHeadRatio;
    return tensorMap(
        queryBuffer, scoreDType,
        {SizeExpr(D), SizeExpr(r), sizes.queryLen, sizes.kvHeads, sizes.batch},
        {qStrides[1], qStrides[2], qStrides[1] * r, qStrides[0]},
        {D, r, tiles.blockM / r, 1, 1}, /*swizzle=*/0);
  };
  auto coreArgs = [&](Variant variant, const std::string &partO,
                      const std::string &partML, SizeExpr tilesPerSplit,
                      SizeExpr numSplits, SizeExpr rowsPadded) {
    SmallVector<KernelArg> args = {
        KernelArg::ofBuffer(queryBuffer, scoreDType),
        KernelArg::ofBuffer(keyBuffer, scoreDType),
        KernelArg::ofBuffer(bundle.get(v).buffer, dtype),
        KernelArg::ofBuffer(cleanGlobals, DType::I32),
        KernelArg::ofBuffer(out.buffer, dtype),
        KernelArg::ofBuffer(partO, DType::F32),
        KernelArg::ofBuffer(partML, DType::F32),
        KernelArg::ofBuffer(queryScales, DType::F32),
        KernelArg::ofBuffer(keyScales, DType::F32),
        KernelArg::ofI64(sizes.batch),
        KernelArg::ofI64(sizes.queryHeads),
        KernelArg::ofI64(sizes.kvHeads),
        KernelArg::ofI64(sizes.queryLen),
        KernelArg::ofI64(sizes.keyLen),
        KernelArg::ofI64(sizes.numGlobals)};
    for (auto *strides : {&qStrides, &kStrides, &vStrides, &oStrides})
      for (int d = 0; d < 3; ++d)
        args.push_back(KernelArg::ofI64((*strides)[d]));
    args.append({KernelArg::ofI64(tilesPerSplit), KernelArg::ofI64(numSplits),
                 KernelArg::ofI64(rowsPadded)});
    if (usesWarpgroupMma(plan, variant))
      args.append({kvTensorMap(keyBuffer, scoreDType, kStrides),
                   kvTensorMap(bundle.get(v).buffer, dtype, vStrides)});
    if (loadsQueryByTma(plan, variant))
      args.push_back(queryTensorMap());
    return args;
  };
  auto mergeArgs = [&](const std::string &partO, const std::string &partML,
                       SizeExpr numSplits, SizeExpr rowsPadded) {
    SmallVector<KernelArg> args = {
        KernelArg::ofBuffer(partO, DType::F32),
        KernelArg::ofBuffer(partML, DType::F32),
        KernelArg::ofBuffer(cleanGlobals, DType::I32),
        KernelArg::ofBuffer(out.buffer, dtype),
        KernelArg::ofI64(sizes.batch),
        KernelArg::ofI64(sizes.queryHeads),
        KernelArg::ofI64(sizes.kvHeads),
        KernelArg::ofI64(sizes.queryLen),
        KernelArg::ofI64(sizes.keyLen),
        KernelArg::ofI64(sizes.numGlobals)};
    for (int d = 0; d < 3; ++d)
      args.push_back(KernelArg::ofI64(oStrides[d]));
    args.append({KernelArg::ofI64(numSplits), KernelArg::ofI64(rowsPadded)});
    return args;
  };
  // A split-K kernel and the merge of its partials.
  auto launchSplit = [&](Variant variant, SizeExpr rowTiles, int64_t rowsPerTile,
                         SizeExpr tilesPerSplit, SizeExpr numSplits,
                         SizeExpr enabled) {
    SizeExpr rowsPadded = rowTiles * rowsPerTile;
    SizeExpr partials = numSplits * sizes.batch * sizes.kvHeads * rowsPadded;
    std::string partO = bundle.addScratch(DType::F32, partials * D * enabled);
    std::string partML = bundle.addScratch(DType::F32, partials * 2 * enabled);
    KernelDecl core = buildCoreKernel(plan, variant, bundle, loc);
    LaunchDecl launch;
    launch.kernel = core.name;
    launch.grid = {rowTiles * numSplits * enabled, sizes.kvHeads, sizes.batch};
    launch.block = {getCoreThreads(plan, variant), 1, 1};
    launch.dynamicSharedBytes = getSharedLayout(plan, variant).total;
    launch.args =
        coreArgs(variant, partO, partML, tilesPerSplit, numSplits, rowsPadded);
    bundle.addKernel(core);
    bundle.launch(op, std::move(launch));

    KernelDecl merge = buildMergeKernel(plan, variant, bundle, loc);
    LaunchDecl mergeLaunch;
    mergeLaunch.kernel = merge.name;
    mergeLaunch.grid = {SizeExpr::ceilDiv(sizes.batch * sizes.kvHeads *
                                              rowsPadded * D * enabled,
                                          128),
                        1, 1};
    mergeLaunch.block = {128, 1, 1};
    mergeLaunch.args = mergeArgs(partO, partML, numSplits, rowsPadded);
    bundle.addKernel(merge);
    bundle.launch(op, std::move(mergeLaunch));
  };

  // Decoding (Sq <= 16) or the band kernel; with a dynamic Sq both, each
  // launch's grid zero when the other applies.
  constexpr int64_t kDecodeMaxRows = 16;
  std::optional<int64_t> staticQueryLen = sizes.queryLen.getConstant();
  bool emitBand = !staticQueryLen || *staticQueryLen > kDecodeMaxRows;
  bool emitDecode = !staticQueryLen || *staticQueryLen <= kDecodeMaxRows;
  SizeExpr packedRows = sizes.queryLen * sizes.ratio;
  if (emitBand) {
    SizeExpr enabled =
        staticQueryLen ? SizeExpr(1) : positive(sizes.queryLen - kDecodeMaxRows);
    std::string unused = bundle.addScratch(DType::F32, 1);
    KernelDecl core = buildCoreKernel(plan, Variant::Band, bundle, loc);
    LaunchDecl launch;
    launch.kernel = core.name;
    launch.grid = {SizeExpr::ceilDiv(packedRows, tiles.blockM) * enabled,
                   sizes.kvHeads, sizes.batch};
    launch.block = {getCoreThreads(plan, Variant::Band), 1, 1};
    launch.dynamicSharedBytes = getSharedLayout(plan, Variant::Band).total;
    launch.args = coreArgs(Variant::Band, unused, unused, 0, 1, 0);
    bundle.addKernel(core);
    bundle.launch(op, std::move(launch));
  }
  if (emitDecode) {
    SizeExpr enabled = staticQueryLen
                           ? SizeExpr(1)
                           : positive(SizeExpr(kDecodeMaxRows + 1) - sizes.queryLen);
    SizeExpr maxTiles = getDecodeTiles(plan, sizes);
    SizeExpr tilesPerSplit =
        SizeExpr::max(1, SizeExpr::ceilDiv(maxTiles, tiles.decodeSplits));
    SizeExpr numSplits =
        SizeExpr::max(1, SizeExpr::ceilDiv(maxTiles, tilesPerSplit));
    launchSplit(Variant::Decode,
                SizeExpr::ceilDiv(packedRows, tiles.decodeRows),
                tiles.decodeRows, tilesPerSplit, numSplits, enabled);
  }
  if (plan.hasGlobals && config.globalQueries) {
    SizeExpr blocks = SizeExpr::ceilDiv(sizes.keyLen, tiles.blockN);
    SizeExpr numSplits = SizeExpr::max(
        1, SizeExpr::ceilDiv(blocks, tiles.globalRowBlocksPerSplit));
    launchSplit(Variant::GlobalRows,
                SizeExpr::ceilDiv(sizes.numGlobals * sizes.ratio, tiles.blockM),
                tiles.blockM, tiles.globalRowBlocksPerSplit, numSplits, 1);
  }
  return success();
}

LogicalResult mlir::sieve::buildAttentionOp(Operation *op,
                                            BundleBuilder &bundle) {
  AttentionConfig config = getAttentionConfig(op);
  if (whyNoTensorCoreAttention(config, bundle.getTarget()))
    return buildSimpleAttention(op, bundle, config);
  auto headDim = cast<RankedTensorType>(config.query.getType()).getDimSize(3);
  return buildTensorCoreAttention(
      op, bundle, config, *lookupAttentionTiles(bundle.getTarget(), headDim));
}

//===----------------------------------------------------------------------===//
// Counting the work on the CPU
//===----------------------------------------------------------------------===//

FailureOr<AttentionWork>
mlir::sieve::estimateAttentionWork(Operation *op, StringRef target,
                                   std::optional<int64_t> seqLen) {
  AttentionConfig config = getAttentionConfig(op);
  auto queryType = cast<RankedTensorType>(config.query.getType());
  auto keyType = cast<RankedTensorType>(config.key.getType());
  auto size = [&](RankedTensorType type, unsigned dim,
                  bool isSequence) -> std::optional<int64_t> {
    int64_t value = type.getDimSize(dim);
    if (!ShapedType::isDynamic(value))
      return value;
    if (!isSequence)
      return 1;
    return seqLen;
  };
  AttentionWork work;
  std::optional<int64_t> queryLen = size(queryType, 2, true),
                         keyLen = size(keyType, 2, true);
  // A dynamic sequence length without `seqLen`: nothing to count.
  if (!queryLen || !keyLen)
    return failure();
  work.batch = *size(queryType, 0, false);
  work.queryHeads = *size(queryType, 1, false);
  work.kvHeads = *size(keyType, 1, false);
  work.queryLen = *queryLen;
  work.keyLen = *keyLen;
  if (config.globals)
    work.numGlobals =
        *size(cast<RankedTensorType>(config.globals.getType()), 1, false);
  work.dense = work.batch * work.queryHeads * work.queryLen * work.keyLen;
  if (std::optional<std::string> why =
          whyNoTensorCoreAttention(config, target)) {
    // One thread per query row, two passes over the keys the row sees: its
    // clipped window (or every key, causal: up to its own) and the globals
    // (counted whole: which fall inside the window is known at run time).
    work.kernel = "simple (" + *why + "): every visible score, twice";
    int64_t visible = 0;
    for (int64_t row = 0; row < work.queryLen; ++row) {
      int64_t position = row + work.keyLen - work.queryLen;
      int64_t lo = config.isHybrid() ? position - config.windowLeft : 0;
      int64_t hi = config.causal       ? position
                   : config.isHybrid() ? position + config.windowRight
                                       : work.keyLen - 1;
      lo = std::max<int64_t>(lo, 0);
      hi = std::min(hi, work.keyLen - 1);
      visible += std::max<int64_t>(hi - lo + 1, 0) + work.numGlobals;
    }
    work.computed = 2 * visible * work.batch * work.queryHeads;
    return work;
  }
  int64_t headDim = queryType.getDimSize(3);
  AttentionTiles tiles = *lookupAttentionTiles(target, headDim);
  Plan plan = makePlan(config, tiles, target);
  int64_t ratio = std::max<int64_t>(1, work.queryHeads /
                                           std::max<int64_t>(1, work.kvHeads));
  int64_t Sq = work.queryLen, Sk = work.keyLen, BN = tiles.blockN;
  int64_t reach = Sq + Sk;
  int64_t left = plan.windowLeft ? std::min(*plan.windowLeft, reach) : reach;
  int64_t right = config.causal ? 0
                  : plan.windowRight ? std::min(*plan.windowRight, reach)
                                     : reach;
  bool decode = Sq <= 16;
  int64_t rows = decode ? tiles.decodeRows : tiles.blockM;
  int64_t globalsWidth = decode ? BN : plan.globalsWidth;
  int64_t numGlob = plan.hasGlobals && Sk > 0
                        ? (work.numGlobals + globalsWidth - 1) / globalsWidth
                        : 0;
  // The same block arithmetic as the kernels' (buildCoreKernel).
  int64_t packedRows = Sq * ratio;
  int64_t perHead = 0, tilesPerHead = 0;
  for (int64_t first = 0; first < packedRows; first += rows) {
    int64_t end = std::min(first + rows, packedRows);
    int64_t lo = std::max<int64_t>(first / ratio + Sk - Sq - left, 0);
    int64_t hi = std::min((end - 1) / ratio + Sk - Sq + right, Sk - 1);
    int64_t numBand = lo <= hi ? hi / BN - lo / BN + 1 : 0;
    tilesPerHead += numBand + numGlob;
    perHead += rows * (numBand * BN + numGlob * globalsWidth);
  }
  work.computed = perHead * work.batch * work.kvHeads;
  work.tilesVisited = tilesPerHead * work.batch * work.kvHeads;
  if (plan.hasGlobals && config.globalQueries) {
    int64_t rowTiles =
        (work.numGlobals * ratio + tiles.blockM - 1) / tiles.blockM;
    work.globalRowsComputed = rowTiles * tiles.blockM *
                              ((Sk + BN - 1) / BN) * BN * work.batch *
                              work.kvHeads;
  }
  std::string variant = decode ? "decode (split-KV)" : "band";
  work.kernel = "tensor-core " + variant + ", D " + std::to_string(headDim) +
                ", tiles " + std::to_string(rows) + "x" + std::to_string(BN) +
                (numGlob ? ", globals tile " + std::to_string(globalsWidth)
                         : std::string());
  if (config.scoreQuantization) {
    std::string precision;
    llvm::raw_string_ostream os(precision);
    os << config.scoreQuantization;
    work.kernel += ", scores quantized to " + precision;
  }
  return work;
}
