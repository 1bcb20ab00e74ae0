//===- SieveOpKernels.cpp - A correct kernel for every sieve op -----------===//
//
// The first kernel of each sieve op: straightforward SIMT code that is
// correct for every shape the contract allows, and the baseline the fast
// kernels (tensor cores, tiling) are compared with.
//
//  attention, hybrid_attention  one thread per query row; the row's visible
//                               keys twice (max, then exp2-weights into a
//                               private f32 accumulator). Only for shapes
//                               the tensor-core kernels do not take
//                               (AttentionKernels.cpp).
//  select_global                one thread per position counts the positions
//                               that beat it (rank < G selects), then one
//                               thread per batch row lists them in order
//  gate                         one warp per token: lanes split the model
//                               dimension, warp shuffles reduce each hidden
//                               unit; a capacity gate adds the rank kernel
//  compact                      one block per batch row scans the mask; then
//                               one warp per packed row gathers it
//  scatter                      copy of `base`, then one warp per packed row
//  quantize                     one warp per group (max |x| by shuffles)
//  dequantize, qmatmul          one thread per output element; qmatmul
//                               dequantizes its weights on the fly (the
//                               fallback of the tensor-core kernels in
//                               QMatmulKernels.cpp, for f32 activations,
//                               other group sizes, unaligned K)
//
// Rows are copied with 16-byte vector loads and stores where the row size
// allows it. Rules of the contract that depend on dynamic sizes become the
// bundle's run-time checks.
//
//===----------------------------------------------------------------------===//

#include "codegen/BundleBuilder.h"
#include "codegen/kernels/AttentionKernels.h"
#include "codegen/kernels/IndexMath.h"
#include "codegen/kernels/LinalgKernels.h"
#include "codegen/kernels/QMatmulKernels.h"

#include "dialects/sieve/SieveOps.h"
#include "passes/ScalarCode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::sieve;
using Pred = arith::CmpIPredicate;

static constexpr int64_t kBlockSize = 128;
static constexpr int64_t kWarpSize = 32;

/// A 1-D launch of `threads` threads in blocks of `blockSize`.
static LaunchDecl launch1D(const KernelDecl &kernel, SizeExpr threads,
                           int64_t blockSize) {
  LaunchDecl launch;
  launch.kernel = kernel.name;
  launch.grid = {SizeExpr::ceilDiv(threads, blockSize), 1, 1};
  launch.block = {blockSize, 1, 1};
  return launch;
}

static KernelArg bufferArg(const TensorBinding &tensor) {
  return KernelArg::ofBuffer(tensor.buffer, tensor.dtype);
}

/// Copies row `srcRow` of `src` into row `dstRow` of `dst` (rows of
/// `rowSize` elements), or zeroes it when `srcRow` is null, with the 32 lanes
/// of a warp splitting the row: 16-byte vectors when the row size is a static
/// multiple of them, scalars otherwise.
static void warpCopyRow(KernelBuilder &kb, Value src, Value srcRow, Value dst,
                        Value dstRow, Value rowSize,
                        std::optional<int64_t> staticRowSize) {
  ImplicitLocOpBuilder &b = kb.builder();
  IndexMath m{b};
  Type elementType = cast<MemRefType>(dst.getType()).getElementType();
  int64_t elementBytes = elementType.getIntOrFloatBitWidth() / 8;
  Value lane = m.rem(kb.threadIdX(), m.c(kWarpSize));
  Value dstBase = m.mul(dstRow, rowSize);
  Value srcBase = srcRow ? m.mul(srcRow, rowSize) : Value();

  // i1 and i4 take a byte each in memory but not in vectors: scalars.
  bool byteSized = elementType.getIntOrFloatBitWidth() % 8 == 0;
  int64_t vectorLength = byteSized ? 16 / elementBytes : 0;
  if (byteSized && staticRowSize && *staticRowSize % vectorLength == 0) {
    auto vectorType = VectorType::get({vectorLength}, elementType);
    Value zero = arith::ConstantOp::create(
        b, DenseElementsAttr::get(vectorType, b.getZeroAttr(elementType)));
    kb.forEach(m.mul(lane, m.c(vectorLength)), rowSize,
               m.c(kWarpSize * vectorLength), [&](Value e) {
                 Value chunk =
                     srcRow ? vector::LoadOp::create(
                                  b, vectorType, src,
                                  ValueRange{m.add(srcBase, e)},
                                  /*nontemporal=*/false, llvm::Align(16))
                                  .getResult()
                            : zero;
                 vector::StoreOp::create(b, chunk, dst,
                                         ValueRange{m.add(dstBase, e)},
                                         /*nontemporal=*/false,
                                         llvm::Align(16));
               });
    return;
  }
  Value zero = arith::ConstantOp::create(b, b.getZeroAttr(elementType));
  kb.forEach(lane, rowSize, m.c(kWarpSize), [&](Value e) {
    Value value = srcRow ? kb.load(src, m.add(srcBase, e)) : zero;
    kb.store(value, dst, m.add(dstBase, e));
  });
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

LogicalResult mlir::sieve::buildSimpleAttention(Operation *op,
                                                BundleBuilder &bundle,
                                                const AttentionConfig &config) {
  auto valueType = cast<RankedTensorType>(config.value.getType());
  int64_t valueDim = valueType.getDimSize(3);
  if (ShapedType::isDynamic(valueDim) || valueDim > 1024)
    return op->emitError() << "sieve-compile needs a static value head "
                              "dimension of at most 1024, found "
                           << (ShapedType::isDynamic(valueDim)
                                   ? std::string("?")
                                   : std::to_string(valueDim));
  Value q = config.query, k = config.key, v = config.value, g = config.globals;
  SizeExpr batch = bundle.dim(q, 0), queryHeads = bundle.dim(q, 1),
           queryLen = bundle.dim(q, 2), headDim = bundle.dim(q, 3),
           kvHeads = bundle.dim(k, 1), keyLen = bundle.dim(k, 2);
  bundle.check(SizeExpr::eq(bundle.dim(k, 0), batch),
               "'key' and 'query' have different batch sizes", op);
  bundle.check(SizeExpr::eq(bundle.dim(v, 0), batch),
               "'value' and 'query' have different batch sizes", op);
  bundle.check(SizeExpr::eq(bundle.dim(v, 1), kvHeads),
               "'value' and 'key' have different numbers of heads", op);
  bundle.check(SizeExpr::eq(bundle.dim(k, 3), headDim),
               "'key' and 'query' have different head dimensions", op);
  bundle.check(SizeExpr::eq(bundle.dim(v, 2), keyLen),
               "'value' and 'key' have different sequence lengths", op);
  bundle.check(SizeExpr::both(SizeExpr::le(1, kvHeads),
                              SizeExpr::eq(queryHeads % kvHeads, 0)),
               "the number of query heads is not a multiple of the number of "
               "key/value heads",
               op);
  SizeExpr numGlobals = 0;
  if (g) {
    bundle.check(SizeExpr::eq(bundle.dim(g, 0), batch),
                 "'globals' and 'query' have different batch sizes", op);
    numGlobals = bundle.dim(g, 1);
  }
  const TensorBinding &out =
      bundle.define(config.result, {batch, queryHeads, queryLen, valueDim});

  Type elementType = valueType.getElementType();
  KernelBuilder kb = bundle.newKernel(g ? "hybrid_attention" : "attention",
                                      op->getLoc());
  unsigned qArg = kb.addBuffer(elementType), kArg = kb.addBuffer(elementType),
           vArg = kb.addBuffer(elementType);
  unsigned gArg = kb.addBuffer(IntegerType::get(op->getContext(), 32));
  unsigned oArg = kb.addBuffer(elementType);
  // With quantized scores (qk_precision), q and k are the quantized values
  // and these the scales of their 64-row blocks.
  Type f32 = Float32Type::get(op->getContext());
  unsigned qScalesArg = kb.addBuffer(f32), kScalesArg = kb.addBuffer(f32);
  unsigned bArg = kb.addScalar(), hqArg = kb.addScalar(),
           hkvArg = kb.addScalar(), sqArg = kb.addScalar(),
           skArg = kb.addScalar(), dArg = kb.addScalar(),
           gnArg = kb.addScalar();
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  Value queryBuf = kb.buffer(qArg), keyBuf = kb.buffer(kArg),
        valueBuf = kb.buffer(vArg), globalsBuf = kb.buffer(gArg),
        outBuf = kb.buffer(oArg);
  Value B = kb.scalar(bArg), Hq = kb.scalar(hqArg), Hkv = kb.scalar(hkvArg),
        Sq = kb.scalar(sqArg), Sk = kb.scalar(skArg), D = kb.scalar(dArg),
        G = kb.scalar(gnArg);

  // Scores in base 2: s2 = (q . k) * scale * log2(e), weights exp2(s2 - max).
  Value scale;
  if (config.scale) {
    scale = f32Const(b, config.scale->convertToFloat());
  } else {
    Value dF32 = arith::SIToFPOp::create(
        b, b.getF32Type(), arith::IndexCastOp::create(b, b.getI64Type(), D));
    scale = arith::DivFOp::create(b, f32Const(b, 1.0),
                                  math::SqrtOp::create(b, dF32));
  }
  Value scaleLog2 = arith::MulFOp::create(b, scale, f32Const(b, M_LOG2E));

  Value row = kb.globalIdX();
  Value rows = m.mul(m.mul(B, Hq), Sq);
  kb.ifThen(m.lt(row, rows), [&] {
    Value i = m.rem(row, Sq), bh = m.div(row, Sq);
    Value h = m.rem(bh, Hq), bi = m.div(bh, Hq);
    Value kh = m.div(h, m.div(Hq, m.max(Hkv, m.c(1))));
    Value p = m.sub(m.add(i, Sk), Sq);
    Value lastKey = m.sub(Sk, m.c(1));

    // The slot's key if it is the first slot naming a key in [0, Sk).
    auto firstGlobal = [&](ImplicitLocOpBuilder &b, Value t) {
      Value gt = toIndex(b, kb.load(globalsBuf, m.add(m.mul(bi, G), t)));
      Value valid = andI1(b, m.le(m.c(0), gt), m.lt(gt, Sk));
      Value duplicate =
          buildFor(b, m.c(0), t, boolConst(b, false),
                   [&](ImplicitLocOpBuilder &b, Value u, ValueRange args) {
                     Value gu = toIndex(
                         b, kb.load(globalsBuf, m.add(m.mul(bi, G), u)));
                     return SmallVector<Value>{
                         orI1(b, args[0], m.eq(gu, gt))};
                   })[0];
      return std::pair(gt, andI1(b, valid, notI1(b, duplicate)));
    };

    Value lo = m.c(0), hi = lastKey, isGlobalRow = boolConst(b, false);
    if (g) {
      if (config.globalQueries)
        isGlobalRow =
            buildFor(b, m.c(0), G, isGlobalRow,
                     [&](ImplicitLocOpBuilder &b, Value t, ValueRange args) {
                       auto [gt, first] = firstGlobal(b, t);
                       return SmallVector<Value>{
                           orI1(b, args[0], andI1(b, first, m.eq(gt, p)))};
                     })[0];
      Value reach = m.add(Sk, Sq);
      Value left = m.min(m.c(config.windowLeft), reach);
      Value right = m.min(m.c(config.windowRight), reach);
      Value windowLo = m.max(m.sub(p, left), m.c(0));
      Value windowHi = m.min(m.add(p, right), lastKey);
      lo = arith::SelectOp::create(b, isGlobalRow, m.c(0), windowLo);
      hi = arith::SelectOp::create(b, isGlobalRow, lastKey, windowHi);
    }
    if (config.causal)
      hi = m.min(hi, p);
    Value end = m.add(hi, m.c(1));

    Value qBase = m.mul(m.add(m.mul(m.add(m.mul(bi, Hq), h), Sq), i), D);
    Value kvRow = m.mul(m.add(m.mul(bi, Hkv), kh), Sk);
    Value blockRows = m.c(kScoreBlockRows);
    Value queryScale;
    if (config.scoreQuantization) {
      Value queryBlocks = m.ceilDiv(Sq, blockRows);
      queryScale = kb.load(kb.buffer(qScalesArg),
                           m.add(m.mul(m.add(m.mul(bi, Hq), h), queryBlocks),
                                 m.div(i, blockRows)));
    }
    auto score = [&](ImplicitLocOpBuilder &b, Value j) {
      Value kBase = m.mul(m.add(kvRow, j), D);
      Value dot =
          buildFor(b, m.c(0), D, f32Const(b, 0.0),
                   [&](ImplicitLocOpBuilder &b, Value d, ValueRange args) {
                     Value qd = toF32(b, kb.load(queryBuf, m.add(qBase, d)));
                     Value kd = toF32(b, kb.load(keyBuf, m.add(kBase, d)));
                     return SmallVector<Value>{arith::AddFOp::create(
                         b, args[0], arith::MulFOp::create(b, qd, kd))};
                   })[0];
      if (config.scoreQuantization) {
        Value keyBlocks = m.ceilDiv(Sk, blockRows);
        Value keyScale =
            kb.load(kb.buffer(kScalesArg),
                    m.add(m.mul(m.add(m.mul(bi, Hkv), kh), keyBlocks),
                          m.div(j, blockRows)));
        dot = arith::MulFOp::create(
            b, dot, arith::MulFOp::create(b, queryScale, keyScale));
      }
      return arith::MulFOp::create(b, dot, scaleLog2).getResult();
    };
    // Runs `visit` over the window, then over the globals it does not hold.
    auto forEachVisibleKey = [&](ValueRange init, LoopBody visit) {
      SmallVector<Value> state = buildFor(b, lo, end, init, visit);
      if (!g)
        return state;
      return buildFor(
          b, m.c(0), G, state,
          [&](ImplicitLocOpBuilder &b, Value t, ValueRange args) {
            auto [gt, first] = firstGlobal(b, t);
            Value inWindow = andI1(b, m.le(lo, gt), m.le(gt, hi));
            Value visible = andI1(b, first, notI1(b, inWindow));
            visible = andI1(b, visible, notI1(b, isGlobalRow));
            if (config.causal)
              visible = andI1(b, visible, m.le(gt, p));
            return buildIfUpdate(b, visible, args,
                                 [&](ImplicitLocOpBuilder &b) {
                                   return visit(b, gt, args);
                                 });
          });
    };

    Value rowMax =
        forEachVisibleKey(
            f32Const(b, -std::numeric_limits<double>::infinity()),
            [&](ImplicitLocOpBuilder &b, Value j, ValueRange args) {
              return SmallVector<Value>{
                  arith::MaximumFOp::create(b, args[0], score(b, j))};
            })[0];

    auto accType = MemRefType::get({valueDim}, b.getF32Type());
    Value acc = memref::AllocaOp::create(b, accType);
    Value dv = m.c(valueDim);
    kb.forEach(m.c(0), dv, m.c(1),
               [&](Value d) { kb.store(f32Const(b, 0.0), acc, d); });
    Value sum =
        forEachVisibleKey(
            f32Const(b, 0.0),
            [&](ImplicitLocOpBuilder &b, Value j, ValueRange args) {
              Value weight = math::Exp2Op::create(
                  b, arith::SubFOp::create(b, score(b, j), rowMax));
              Value vBase = m.mul(m.add(kvRow, j), dv);
              kb.forEach(m.c(0), dv, m.c(1), [&](Value d) {
                Value vd = toF32(b, kb.load(valueBuf, m.add(vBase, d)));
                Value updated = arith::AddFOp::create(
                    b, kb.load(acc, d), arith::MulFOp::create(b, weight, vd));
                kb.store(updated, acc, d);
              });
              return SmallVector<Value>{
                  arith::AddFOp::create(b, args[0], weight)};
            })[0];

    // A row without visible keys outputs exact zeros.
    Value nonEmpty = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, sum,
                                           f32Const(b, 0.0));
    Value oBase = m.mul(row, dv);
    kb.forEach(m.c(0), dv, m.c(1), [&](Value d) {
      Value normalized = arith::DivFOp::create(b, kb.load(acc, d), sum);
      Value value = arith::SelectOp::create(b, nonEmpty, normalized,
                                            f32Const(b, 0.0));
      kb.store(fromF32(b, value, elementType), outBuf, m.add(oBase, d));
    });
  });
  KernelDecl kernel = kb.finish();

  // A dense attention gets an empty globals buffer; exact scores get empty
  // scale buffers.
  std::string globalsBuffer =
      g ? bundle.get(g).buffer : bundle.addScratch(DType::I32, 1);
  KernelArg queryArg = bufferArg(bundle.get(q)),
            keyArg = bufferArg(bundle.get(k));
  std::string queryScales, keyScales;
  if (config.scoreQuantization) {
    QuantizedQueryKey quantized =
        launchScoreQuantization(op, bundle, config, elementType);
    queryArg = KernelArg::ofBuffer(quantized.queries, quantized.valueDType);
    keyArg = KernelArg::ofBuffer(quantized.keys, quantized.valueDType);
    queryScales = quantized.queryScales;
    keyScales = quantized.keyScales;
  } else {
    queryScales = keyScales = bundle.addScratch(DType::F32, 1);
  }
  LaunchDecl launch =
      launch1D(kernel, batch * queryHeads * queryLen, kBlockSize);
  launch.args = {queryArg,
                 keyArg,
                 bufferArg(bundle.get(v)),
                 KernelArg::ofBuffer(globalsBuffer, DType::I32),
                 bufferArg(out),
                 KernelArg::ofBuffer(queryScales, DType::F32),
                 KernelArg::ofBuffer(keyScales, DType::F32),
                 KernelArg::ofI64(batch),
                 KernelArg::ofI64(queryHeads),
                 KernelArg::ofI64(kvHeads),
                 KernelArg::ofI64(queryLen),
                 KernelArg::ofI64(keyLen),
                 KernelArg::ofI64(headDim),
                 KernelArg::ofI64(numGlobals)};
  bundle.addKernel(kernel);
  bundle.launch(op, std::move(launch));
  return success();
}

//===----------------------------------------------------------------------===//
// Top-k by rank: select_global and capacity gates
//===----------------------------------------------------------------------===//

/// flags[b, s] = 1 when fewer than k positions of row b beat position s: a
/// higher score, or an equal one at a lower position; NaN ranks below every
/// number. The order is total, so exactly min(k, S) positions are marked.
static void launchTopKRank(Operation *op, BundleBuilder &bundle,
                           const TensorBinding &scores,
                           const std::string &flagsBuffer, DType flagsType,
                           SizeExpr k) {
  SizeExpr batch = scores.shape[0], seqLen = scores.shape[1];
  Type flagElement = IntegerType::get(
      op->getContext(), flagsType == DType::I1 ? 1 : 8);
  KernelBuilder kb = bundle.newKernel("topk_rank", op->getLoc());
  unsigned sArg = kb.addBuffer(Float32Type::get(op->getContext()));
  unsigned fArg = kb.addBuffer(flagElement);
  unsigned bArg = kb.addScalar(), nArg = kb.addScalar(), kArg = kb.addScalar();
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  Value scoresBuf = kb.buffer(sArg), flagsBuf = kb.buffer(fArg);
  Value B = kb.scalar(bArg), S = kb.scalar(nArg), K = kb.scalar(kArg);
  Value index = kb.globalIdX();
  kb.ifThen(m.lt(index, m.mul(B, S)), [&] {
    Value s = m.rem(index, S), rowBase = m.sub(index, s);
    Value vs = kb.load(scoresBuf, index);
    Value sNaN = arith::CmpFOp::create(b, arith::CmpFPredicate::UNO, vs, vs);
    Value rank = buildFor(
        b, m.c(0), S, m.c(0),
        [&](ImplicitLocOpBuilder &b, Value t, ValueRange args) {
          Value vt = kb.load(scoresBuf, m.add(rowBase, t));
          Value tNaN =
              arith::CmpFOp::create(b, arith::CmpFPredicate::UNO, vt, vt);
          Value greater =
              arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, vt, vs);
          Value equal =
              arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, vt, vs);
          Value higher = andI1(b, notI1(b, tNaN), orI1(b, sNaN, greater));
          Value sameClass =
              orI1(b, andI1(b, tNaN, sNaN), equal);
          Value beats = orI1(b, higher, andI1(b, sameClass, m.lt(t, s)));
          Value increment = arith::SelectOp::create(b, beats, m.c(1), m.c(0));
          return SmallVector<Value>{m.add(args[0], increment)};
        })[0];
    Value selected = m.lt(rank, K);
    if (flagElement != selected.getType())
      selected = arith::ExtUIOp::create(b, flagElement, selected);
    kb.store(selected, flagsBuf, index);
  });
  KernelDecl kernel = kb.finish();
  LaunchDecl launch = launch1D(kernel, batch * seqLen, kBlockSize);
  launch.args = {bufferArg(scores), KernelArg::ofBuffer(flagsBuffer, flagsType),
                 KernelArg::ofI64(batch), KernelArg::ofI64(seqLen),
                 KernelArg::ofI64(k)};
  bundle.addKernel(kernel);
  bundle.launch(op, std::move(launch));
}

static LogicalResult buildSelectGlobal(SelectGlobalOp op,
                                       BundleBuilder &bundle) {
  const TensorBinding &scores = bundle.get(op.getScores());
  SizeExpr batch = scores.shape[0], seqLen = scores.shape[1];
  auto count = static_cast<int64_t>(op.getCount());
  bundle.check(SizeExpr::le(count, seqLen),
               "'count' exceeds the sequence length of 'scores'", op);
  std::string flags = bundle.addScratch(DType::I8, batch * seqLen);
  launchTopKRank(op, bundle, scores, flags, DType::I8, count);
  const TensorBinding &out = bundle.define(op.getResult(), {batch, count});

  // The marked positions in ascending order, one thread per batch row.
  KernelBuilder kb = bundle.newKernel("list_positions", op.getLoc());
  unsigned fArg = kb.addBuffer(IntegerType::get(op.getContext(), 8));
  unsigned oArg = kb.addBuffer(IntegerType::get(op.getContext(), 32));
  unsigned bArg = kb.addScalar(), nArg = kb.addScalar(), gArg = kb.addScalar();
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  Value flagsBuf = kb.buffer(fArg), outBuf = kb.buffer(oArg);
  Value B = kb.scalar(bArg), S = kb.scalar(nArg), G = kb.scalar(gArg);
  Value bi = kb.globalIdX();
  kb.ifThen(m.lt(bi, B), [&] {
    buildFor(b, m.c(0), S, m.mul(bi, G),
             [&](ImplicitLocOpBuilder &b, Value s, ValueRange args) {
               Value flag = kb.load(flagsBuf, m.add(m.mul(bi, S), s));
               Value marked = arith::CmpIOp::create(
                   b, Pred::ne, flag,
                   arith::ConstantIntOp::create(b, 0, 8));
               return buildIfUpdate(
                   b, marked, args, [&](ImplicitLocOpBuilder &b) {
                     kb.store(arith::IndexCastOp::create(b, b.getI32Type(), s)
                                  .getResult(),
                              outBuf, args[0]);
                     return SmallVector<Value>{m.add(args[0], m.c(1))};
                   });
             });
  });
  KernelDecl kernel = kb.finish();
  LaunchDecl launch = launch1D(kernel, batch, kBlockSize);
  launch.args = {KernelArg::ofBuffer(flags, DType::I8), bufferArg(out),
                 KernelArg::ofI64(batch), KernelArg::ofI64(seqLen),
                 KernelArg::ofI64(count)};
  bundle.addKernel(kernel);
  bundle.launch(op, std::move(launch));
  return success();
}

//===----------------------------------------------------------------------===//
// Gate
//===----------------------------------------------------------------------===//

/// k = max(1, round(capacity * S)) with halves away from zero, as an exact
/// integer expression: capacity = mantissa * 2^-shift with a 24-bit integer
/// mantissa, so round(capacity * S) = floor((mantissa * S + 2^(shift-1)) /
/// 2^shift). This is the value the contract computes in double.
static SizeExpr getCapacityCount(float capacity, SizeExpr seqLen) {
  int exponent = 0;
  double fraction = std::frexp(static_cast<double>(capacity), &exponent);
  auto mantissa = static_cast<int64_t>(std::ldexp(fraction, 24));
  int shift = 24 - exponent;
  SizeExpr rounded = 0;
  // Beyond 2^62 the product stays below one half for any realistic S.
  if (shift <= 62)
    rounded = (seqLen * mantissa + (int64_t{1} << (shift - 1))) /
              (int64_t{1} << shift);
  return SizeExpr::min(SizeExpr::max(1, rounded), seqLen);
}

static LogicalResult buildGate(GateOp op, BundleBuilder &bundle) {
  const TensorBinding &input = bundle.get(op.getInput());
  SizeExpr batch = input.shape[0], seqLen = input.shape[1],
           modelDim = input.shape[2], hidden = bundle.dim(op.getW1(), 0);
  bundle.check(SizeExpr::eq(bundle.dim(op.getW1(), 1), modelDim),
               "'w1' and 'input' have different model dimensions", op);
  bundle.check(SizeExpr::eq(bundle.dim(op.getB1(), 0), hidden),
               "'b1' and 'w1' have different hidden dimensions", op);
  bundle.check(SizeExpr::eq(bundle.dim(op.getW2(), 0), hidden),
               "'w2' and 'w1' have different hidden dimensions", op);
  const TensorBinding &score = bundle.define(op.getScore(), {batch, seqLen});
  const TensorBinding &mask = bundle.define(op.getMask(), {batch, seqLen});
  std::optional<APFloat> threshold = op.getThreshold();

  Type elementType = op.getInput().getType().getElementType();
  Type biasType = op.getB2().getType().getElementType();
  KernelBuilder kb = bundle.newKernel("gate", op.getLoc());
  unsigned xArg = kb.addBuffer(elementType), w1Arg = kb.addBuffer(elementType),
           b1Arg = kb.addBuffer(elementType), w2Arg = kb.addBuffer(elementType),
           b2Arg = kb.addBuffer(biasType);
  unsigned scoreArg = kb.addBuffer(Float32Type::get(op.getContext()));
  unsigned maskArg = kb.addBuffer(IntegerType::get(op.getContext(), 1));
  unsigned tArg = kb.addScalar(), dmArg = kb.addScalar(),
           dhArg = kb.addScalar();
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  Value x = kb.buffer(xArg), w1 = kb.buffer(w1Arg), b1 = kb.buffer(b1Arg),
        w2 = kb.buffer(w2Arg), b2 = kb.buffer(b2Arg);
  Value scoreBuf = kb.buffer(scoreArg), maskBuf = kb.buffer(maskArg);
  Value T = kb.scalar(tArg), Dm = kb.scalar(dmArg), Dh = kb.scalar(dhArg);
  Value warp = m.div(kb.threadIdX(), m.c(kWarpSize));
  Value lane = m.rem(kb.threadIdX(), m.c(kWarpSize));
  Value token =
      m.add(m.mul(kb.blockIdX(), m.c(kBlockSize / kWarpSize)), warp);
  Activation activation = op.getActivation();
  // The condition is the same for the whole warp, so the shuffles inside run
  // converged.
  kb.ifThen(m.lt(token, T), [&] {
    Value xBase = m.mul(token, Dm);
    Value logit = buildFor(
        b, m.c(0), Dh, f32Const(b, 0.0),
        [&](ImplicitLocOpBuilder &b, Value j, ValueRange args) {
          // h_j = act(x . w1[j] + b1[j]), the lanes splitting the sum.
          Value wBase = m.mul(j, Dm);
          Value partial = buildStridedFor(
              b, lane, Dm, m.c(kWarpSize), f32Const(b, 0.0),
              [&](ImplicitLocOpBuilder &b, Value e, ValueRange args) {
                Value xe = toF32(b, kb.load(x, m.add(xBase, e)));
                Value we = toF32(b, kb.load(w1, m.add(wBase, e)));
                return SmallVector<Value>{arith::AddFOp::create(
                    b, args[0], arith::MulFOp::create(b, xe, we))};
              })[0];
          Value pre = arith::AddFOp::create(b, kb.warpAllReduceSum(partial),
                                            toF32(b, kb.load(b1, j)));
          Value hj;
          switch (activation) {
          case Activation::Relu:
            hj = arith::MaximumFOp::create(b, pre, f32Const(b, 0.0));
            break;
          case Activation::Silu:
            hj = arith::MulFOp::create(b, pre, kb.sigmoid(pre));
            break;
          case Activation::Gelu:
            hj = arith::MulFOp::create(
                b, arith::MulFOp::create(b, pre, f32Const(b, 0.5)),
                arith::AddFOp::create(
                    b, f32Const(b, 1.0),
                    kb.erf(arith::MulFOp::create(b, pre,
                                                 f32Const(b, M_SQRT1_2)))));
            break;
          }
          Value wj = toF32(b, kb.load(w2, j));
          return SmallVector<Value>{
              arith::AddFOp::create(b, args[0], arith::MulFOp::create(b, hj, wj))};
        })[0];
    Value s = kb.sigmoid(
        arith::AddFOp::create(b, logit, toF32(b, kb.load(b2, m.c(0)))));
    kb.ifThen(m.eq(lane, m.c(0)), [&] {
      kb.store(s, scoreBuf, token);
      if (threshold)
        kb.store(arith::CmpFOp::create(
                     b, arith::CmpFPredicate::OGT, s,
                     f32Const(b, threshold->convertToFloat()))
                     .getResult(),
                 maskBuf, token);
    });
  });
  KernelDecl kernel = kb.finish();
  SizeExpr tokens = batch * seqLen;
  LaunchDecl launch = launch1D(kernel, tokens * kWarpSize, kBlockSize);
  launch.args = {bufferArg(input),
                 bufferArg(bundle.get(op.getW1())),
                 bufferArg(bundle.get(op.getB1())),
                 bufferArg(bundle.get(op.getW2())),
                 bufferArg(bundle.get(op.getB2())),
                 bufferArg(score),
                 bufferArg(mask),
                 KernelArg::ofI64(tokens),
                 KernelArg::ofI64(modelDim),
                 KernelArg::ofI64(hidden)};
  bundle.addKernel(kernel);
  bundle.launch(op, std::move(launch));

  if (!threshold)
    launchTopKRank(op, bundle, score, mask.buffer, DType::I1,
                   getCapacityCount(op.getCapacity()->convertToFloat(),
                                    seqLen));
  bundle.addGate(op, op.getScore(), op.getMask());
  return success();
}

//===----------------------------------------------------------------------===//
// Compact and scatter
//===----------------------------------------------------------------------===//

static constexpr int64_t kScanBlockSize = 256;

static LogicalResult buildCompact(CompactOp op, BundleBuilder &bundle) {
  const TensorBinding &input = bundle.get(op.getInput());
  SizeExpr batch = input.shape[0], seqLen = input.shape[1],
           rowSize = input.shape[2];
  bundle.check(SizeExpr::eq(bundle.dim(op.getMask(), 0), batch),
               "'mask' and 'input' have different batch sizes", op);
  bundle.check(SizeExpr::eq(bundle.dim(op.getMask(), 1), seqLen),
               "'mask' and 'input' have different sequence lengths", op);
  const TensorBinding &packed =
      bundle.define(op.getPacked(), {batch, seqLen, rowSize});
  const TensorBinding &positions =
      bundle.define(op.getPositions(), {batch, seqLen});
  const TensorBinding &count = bundle.define(op.getCount(), {batch});
  MLIRContext *ctx = op.getContext();
  Type i32 = IntegerType::get(ctx, 32);

  // 1. One block per batch row: each thread counts the selected rows of its
  //    chunk, thread 0 turns the counts into offsets, then every thread
  //    writes the positions of its chunk; the rest of `positions` is -1.
  {
    KernelBuilder kb = bundle.newKernel("compact_scan", op.getLoc());
    unsigned maskArg = kb.addBuffer(IntegerType::get(ctx, 1));
    unsigned posArg = kb.addBuffer(i32), countArg = kb.addBuffer(i32);
    unsigned nArg = kb.addScalar();
    unsigned offsets = kb.addWorkgroupBuffer(i32, kScanBlockSize + 1);
    ImplicitLocOpBuilder &b = kb.begin({kScanBlockSize, 1, 1});
    IndexMath m{b};
    Value maskBuf = kb.buffer(maskArg), posBuf = kb.buffer(posArg),
          countBuf = kb.buffer(countArg), S = kb.scalar(nArg);
    Value shared = kb.workgroup(offsets);
    Value t = kb.threadIdX(), bi = kb.blockIdX();
    Value chunk = m.div(m.add(S, m.c(kScanBlockSize - 1)), m.c(kScanBlockSize));
    Value begin = m.min(m.mul(t, chunk), S);
    Value end = m.min(m.add(begin, chunk), S);
    Value rowBase = m.mul(bi, S);
    auto isSelected = [&](ImplicitLocOpBuilder &b, Value s) {
      return kb.load(maskBuf, m.add(rowBase, s));
    };
    Value mine = buildFor(b, begin, end, m.c(0),
                          [&](ImplicitLocOpBuilder &b, Value s,
                              ValueRange args) {
                            Value one = arith::SelectOp::create(
                                b, isSelected(b, s), m.c(1), m.c(0));
                            return SmallVector<Value>{m.add(args[0], one)};
                          })[0];
    kb.store(arith::IndexCastOp::create(b, i32, mine).getResult(), shared, t);
    gpu::BarrierOp::create(b);
    kb.ifThen(m.eq(t, m.c(0)), [&] {
      Value total = buildFor(
          b, m.c(0), m.c(kScanBlockSize), arith::ConstantIntOp::create(b, 0, 32).getResult(),
          [&](ImplicitLocOpBuilder &b, Value u, ValueRange args) {
            Value c = kb.load(shared, u);
            kb.store(args[0], shared, u);
            return SmallVector<Value>{arith::AddIOp::create(b, args[0], c)};
          })[0];
      kb.store(total, shared, m.c(kScanBlockSize));
      kb.store(total, countBuf, bi);
    });
    gpu::BarrierOp::create(b);
    buildFor(b, begin, end, toIndex(b, kb.load(shared, t)),
             [&](ImplicitLocOpBuilder &b, Value s, ValueRange args) {
               return buildIfUpdate(
                   b, isSelected(b, s), args, [&](ImplicitLocOpBuilder &b) {
                     kb.store(arith::IndexCastOp::create(b, i32, s).getResult(),
                              posBuf, m.add(rowBase, args[0]));
                     return SmallVector<Value>{m.add(args[0], m.c(1))};
                   });
             });
    Value total = toIndex(b, kb.load(shared, m.c(kScanBlockSize)));
    Value none = arith::ConstantIntOp::create(b, -1, 32);
    kb.forEach(m.add(total, t), S, m.c(kScanBlockSize),
               [&](Value r) { kb.store(none, posBuf, m.add(rowBase, r)); });
    KernelDecl kernel = kb.finish();
    LaunchDecl launch;
    launch.kernel = kernel.name;
    launch.grid = {batch, 1, 1};
    launch.block = {kScanBlockSize, 1, 1};
    launch.args = {bufferArg(bundle.get(op.getMask())), bufferArg(positions),
                   bufferArg(count), KernelArg::ofI64(seqLen)};
    bundle.addKernel(kernel);
    bundle.launch(op, std::move(launch));
  }

  // 2. One warp per packed row: rows below the count gather their source
  //    row, the others are zero.
  Type elementType = op.getInput().getType().getElementType();
  std::optional<int64_t> staticRowSize = rowSize.getConstant();
  KernelBuilder kb = bundle.newKernel("compact_gather", op.getLoc());
  unsigned inArg = kb.addBuffer(elementType),
           posArg = kb.addBuffer(i32), countArg = kb.addBuffer(i32),
           outArg = kb.addBuffer(elementType);
  unsigned bArg = kb.addScalar(), nArg = kb.addScalar(), dArg = kb.addScalar();
  ImplicitLocOpBuilder &b = kb.begin({kWarpSize, 1, 1});
  IndexMath m{b};
  Value inBuf = kb.buffer(inArg), posBuf = kb.buffer(posArg),
        countBuf = kb.buffer(countArg), outBuf = kb.buffer(outArg);
  Value B = kb.scalar(bArg), S = kb.scalar(nArg), D = kb.scalar(dArg);
  Value row = kb.blockIdX();
  kb.ifThen(m.lt(row, m.mul(B, S)), [&] {
    Value bi = m.div(row, S), r = m.rem(row, S);
    Value active = m.lt(r, toIndex(b, kb.load(countBuf, bi)));
    auto ifOp = scf::IfOp::create(b, active, /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
      Value src = m.add(m.mul(bi, S), toIndex(b, kb.load(posBuf, row)));
      warpCopyRow(kb, inBuf, src, outBuf, row, D, staticRowSize);
      b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
      warpCopyRow(kb, inBuf, Value(), outBuf, row, D, staticRowSize);
    }
  });
  KernelDecl kernel = kb.finish();
  LaunchDecl launch;
  launch.kernel = kernel.name;
  launch.grid = {batch * seqLen, 1, 1};
  launch.block = {kWarpSize, 1, 1};
  launch.args = {bufferArg(input),        bufferArg(positions),
                 bufferArg(count),        bufferArg(packed),
                 KernelArg::ofI64(batch), KernelArg::ofI64(seqLen),
                 KernelArg::ofI64(rowSize)};
  bundle.addKernel(kernel);
  bundle.launch(op, std::move(launch));
  return success();
}

static LogicalResult buildScatter(ScatterOp op, BundleBuilder &bundle) {
  const TensorBinding &base = bundle.get(op.getBase());
  const TensorBinding &packed = bundle.get(op.getPacked());
  SizeExpr batch = base.shape[0], seqLen = base.shape[1],
           rowSize = base.shape[2], rows = packed.shape[1];
  bundle.check(SizeExpr::eq(packed.shape[0], batch),
               "'packed' and 'base' have different batch sizes", op);
  bundle.check(SizeExpr::eq(rows, seqLen),
               "'packed' and 'base' have different sequence lengths", op);
  bundle.check(SizeExpr::eq(packed.shape[2], rowSize),
               "'packed' and 'base' have different row sizes", op);
  bundle.check(SizeExpr::eq(bundle.dim(op.getPositions(), 0), batch),
               "'positions' and 'base' have different batch sizes", op);
  bundle.check(SizeExpr::eq(bundle.dim(op.getPositions(), 1), rows),
               "'positions' and 'packed' have different numbers of rows", op);
  const TensorBinding &out =
      bundle.define(op.getResult(), {batch, seqLen, rowSize});
  Type elementType = op.getBase().getType().getElementType();
  Type i32 = IntegerType::get(op.getContext(), 32);
  std::optional<int64_t> staticRowSize = rowSize.getConstant();

  // One warp per row throughout: first `base` row r into the result, then
  // packed row r over the row its position names.
  for (bool scatterPhase : {false, true}) {
    KernelBuilder kb = bundle.newKernel(
        scatterPhase ? "scatter_rows" : "copy_rows", op.getLoc());
    unsigned srcArg = kb.addBuffer(elementType);
    unsigned posArg = kb.addBuffer(i32), dstArg = kb.addBuffer(elementType);
    unsigned rowsArg = kb.addScalar(), nArg = kb.addScalar(),
             dArg = kb.addScalar();
    ImplicitLocOpBuilder &b = kb.begin({kWarpSize, 1, 1});
    IndexMath m{b};
    Value src = kb.buffer(srcArg), posBuf = kb.buffer(posArg),
          dst = kb.buffer(dstArg);
    Value numRows = kb.scalar(rowsArg), S = kb.scalar(nArg),
          D = kb.scalar(dArg);
    Value row = kb.blockIdX();
    kb.ifThen(m.lt(row, numRows), [&] {
      if (!scatterPhase) {
        warpCopyRow(kb, src, row, dst, row, D, staticRowSize);
        return;
      }
      Value pos = toIndex(b, kb.load(posBuf, row));
      Value inRange = andI1(b, m.le(m.c(0), pos), m.lt(pos, S));
      kb.ifThen(inRange, [&] {
        Value target = m.add(m.mul(m.div(row, S), S), pos);
        warpCopyRow(kb, src, row, dst, target, D, staticRowSize);
      });
    });
    KernelDecl kernel = kb.finish();
    LaunchDecl launch;
    launch.kernel = kernel.name;
    launch.grid = {batch * seqLen, 1, 1};
    launch.block = {kWarpSize, 1, 1};
    launch.args = {bufferArg(scatterPhase ? packed : base),
                   bufferArg(bundle.get(op.getPositions())), bufferArg(out),
                   KernelArg::ofI64(batch * seqLen), KernelArg::ofI64(seqLen),
                   KernelArg::ofI64(rowSize)};
    bundle.addKernel(kernel);
    bundle.launch(op, std::move(launch));
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

/// The grouping of a [..., K] tensor: rows, K, the group length and the
/// number of groups per row (`group_size` 0 is the whole row).
namespace {
struct Grouping {
  SizeExpr rows, length, groupLength, groups;
};
} // namespace

static Grouping getGrouping(Operation *op, BundleBuilder &bundle, Value tensor,
                            uint64_t groupSize, StringRef name) {
  const TensorBinding &binding = bundle.get(tensor);
  Grouping grouping;
  grouping.rows = 1;
  for (const SizeExpr &size : ArrayRef(binding.shape).drop_back())
    grouping.rows = grouping.rows * size;
  grouping.length = binding.shape.back();
  if (groupSize == 0) {
    grouping.groupLength = grouping.length;
    grouping.groups = 1;
  } else {
    auto group = static_cast<int64_t>(groupSize);
    bundle.check(SizeExpr::eq(grouping.length % group, 0),
                 "'group_size' does not divide the last dimension of '" +
                     name + "'",
                 op);
    grouping.groupLength = group;
    grouping.groups = grouping.length / group;
  }
  return grouping;
}

static LogicalResult buildQuantize(QuantizeOp op, BundleBuilder &bundle) {
  const TensorBinding &input = bundle.get(op.getInput());
  Grouping grouping =
      getGrouping(op, bundle, op.getInput(), op.getGroupSize(), "input");
  const TensorBinding &values = bundle.define(op.getValues(), input.shape);
  SmallVector<SizeExpr> scaleShape(input.shape);
  scaleShape.back() = grouping.groups;
  const TensorBinding &scales = bundle.define(op.getScales(), scaleShape);
  double qmax = op.getBits() == 8 ? 127.0 : 7.0;
  Type valueType = op.getValues().getType().getElementType();

  // One warp per group: max |x| by shuffles (maximumf keeps a NaN), then each
  // lane quantizes its elements.
  KernelBuilder kb = bundle.newKernel("quantize", op.getLoc());
  unsigned inArg = kb.addBuffer(op.getInput().getType().getElementType());
  unsigned valArg = kb.addBuffer(valueType);
  unsigned scaleArg = kb.addBuffer(Float32Type::get(op.getContext()));
  unsigned nArg = kb.addScalar(), glArg = kb.addScalar();
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  Value inBuf = kb.buffer(inArg), valBuf = kb.buffer(valArg),
        scaleBuf = kb.buffer(scaleArg);
  Value numGroups = kb.scalar(nArg), groupLength = kb.scalar(glArg);
  Value lane = m.rem(kb.threadIdX(), m.c(kWarpSize));
  Value group = m.add(m.mul(kb.blockIdX(), m.c(kBlockSize / kWarpSize)),
                      m.div(kb.threadIdX(), m.c(kWarpSize)));
  kb.ifThen(m.lt(group, numGroups), [&] {
    Value base = m.mul(group, groupLength);
    Value partial = buildStridedFor(
        b, lane, groupLength, m.c(kWarpSize), f32Const(b, 0.0),
        [&](ImplicitLocOpBuilder &b, Value e, ValueRange args) {
          Value x = toF32(b, kb.load(inBuf, m.add(base, e)));
          return SmallVector<Value>{arith::MaximumFOp::create(
              b, args[0], math::AbsFOp::create(b, x))};
        })[0];
    Value amax = kb.warpAllReduceMax(partial);
    Value finite = arith::CmpFOp::create(
        b, arith::CmpFPredicate::OLT, amax,
        f32Const(b, std::numeric_limits<double>::infinity()));
    Value scale = arith::SelectOp::create(
        b, finite, arith::DivFOp::create(b, amax, f32Const(b, qmax)),
        f32Const(b, std::numeric_limits<double>::quiet_NaN()));
    Value usable = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, scale,
                                         f32Const(b, 0.0));
    kb.forEach(lane, groupLength, m.c(kWarpSize), [&](Value e) {
      Value x = toF32(b, kb.load(inBuf, m.add(base, e)));
      Value rounded =
          math::RoundEvenOp::create(b, arith::DivFOp::create(b, x, scale));
      Value clamped = arith::MinimumFOp::create(
          b, arith::MaximumFOp::create(b, rounded, f32Const(b, -qmax)),
          f32Const(b, qmax));
      Value q = arith::SelectOp::create(b, usable, clamped, f32Const(b, 0.0));
      kb.store(arith::FPToSIOp::create(b, valueType, q).getResult(), valBuf,
               m.add(base, e));
    });
    kb.ifThen(m.eq(lane, m.c(0)), [&] { kb.store(scale, scaleBuf, group); });
  });
  KernelDecl kernel = kb.finish();
  SizeExpr numGroupsExpr = grouping.rows * grouping.groups;
  LaunchDecl launch = launch1D(kernel, numGroupsExpr * kWarpSize, kBlockSize);
  launch.args = {bufferArg(input), bufferArg(values), bufferArg(scales),
                 KernelArg::ofI64(numGroupsExpr),
                 KernelArg::ofI64(grouping.groupLength)};
  bundle.addKernel(kernel);
  bundle.launch(op, std::move(launch));
  return success();
}

/// Checks that `scales` holds one scale per group of `values`.
static void checkScales(Operation *op, BundleBuilder &bundle, Value values,
                        Value scales, const Grouping &grouping) {
  const TensorBinding &valueBinding = bundle.get(values);
  const TensorBinding &scaleBinding = bundle.get(scales);
  for (auto [index, size] :
       llvm::enumerate(ArrayRef(scaleBinding.shape).drop_back()))
    bundle.check(SizeExpr::eq(size, valueBinding.shape[index]),
                 "the scales do not hold one scale per group", op);
  bundle.check(SizeExpr::eq(scaleBinding.shape.back(), grouping.groups),
               "the scales do not hold one scale per group", op);
}

static LogicalResult buildDequantize(DequantizeOp op, BundleBuilder &bundle) {
  const TensorBinding &values = bundle.get(op.getValues());
  Grouping grouping =
      getGrouping(op, bundle, op.getValues(), op.getGroupSize(), "values");
  checkScales(op, bundle, op.getValues(), op.getScales(), grouping);
  const TensorBinding &out = bundle.define(op.getResult(), values.shape);

  KernelBuilder kb = bundle.newKernel("dequantize", op.getLoc());
  unsigned valArg = kb.addBuffer(op.getValues().getType().getElementType());
  unsigned scaleArg = kb.addBuffer(Float32Type::get(op.getContext()));
  unsigned outArg = kb.addBuffer(Float32Type::get(op.getContext()));
  unsigned nArg = kb.addScalar(), glArg = kb.addScalar();
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  Value index = kb.globalIdX();
  kb.ifThen(m.lt(index, kb.scalar(nArg)), [&] {
    Value group = m.div(index, kb.scalar(glArg));
    Value q = toF32(b, kb.load(kb.buffer(valArg), index));
    Value scale = kb.load(kb.buffer(scaleArg), group);
    kb.store(arith::MulFOp::create(b, q, scale).getResult(),
             kb.buffer(outArg), index);
  });
  KernelDecl kernel = kb.finish();
  SizeExpr elements = values.numElements();
  LaunchDecl launch = launch1D(kernel, elements, kBlockSize);
  launch.args = {bufferArg(values), bufferArg(bundle.get(op.getScales())),
                 bufferArg(out), KernelArg::ofI64(elements),
                 KernelArg::ofI64(grouping.groupLength)};
  bundle.addKernel(kernel);
  bundle.launch(op, std::move(launch));
  return success();
}

static LogicalResult buildQMatmul(QMatmulOp op, BundleBuilder &bundle) {
  const TensorBinding &input = bundle.get(op.getInput());
  const TensorBinding &weights = bundle.get(op.getWeightValues());
  SizeExpr reduceLen = input.shape.back(), outLen = weights.shape[0];
  bundle.check(SizeExpr::eq(weights.shape[1], reduceLen),
               "'weight_values' and 'input' have different reduction "
               "dimensions",
               op);
  Grouping grouping = getGrouping(op, bundle, op.getWeightValues(),
                                  op.getGroupSize(), "weight_values");
  checkScales(op, bundle, op.getWeightValues(), op.getWeightScales(),
              grouping);
  Value bias = op.getBias();
  if (bias)
    bundle.check(SizeExpr::eq(bundle.dim(bias, 0), outLen),
                 "'bias' and 'weight_values' have different output sizes", op);
  SmallVector<SizeExpr> outShape(input.shape);
  outShape.back() = outLen;
  SizeExpr rows = 1;
  for (const SizeExpr &size : ArrayRef(input.shape).drop_back())
    rows = rows * size;
  // define() may move the bindings: look them up again after it.
  bundle.define(op.getResult(), outShape);
  const TensorBinding &out = bundle.get(op.getResult());

  QMatmulBinding fast;
  fast.input = &bundle.get(op.getInput());
  fast.weights = &bundle.get(op.getWeightValues());
  fast.scales = &bundle.get(op.getWeightScales());
  fast.bias = bias ? &bundle.get(bias) : nullptr;
  fast.result = &out;
  fast.rows = rows;
  fast.outLen = outLen;
  // The weights' K when it is static (the check above makes them equal).
  fast.reduceLen = fast.weights->shape[1].isConstant() ? fast.weights->shape[1]
                                                        : reduceLen;
  fast.groups = grouping.groups;
  fast.skip = getQMatmulRowSkip(op, bundle);
  if (getTensorCoreQMatmulLimit(op, fast).empty())
    return buildTensorCoreQMatmul(op, bundle, fast);

  Type elementType = op.getInput().getType().getElementType();
  KernelBuilder kb = bundle.newKernel("qmatmul", op.getLoc());
  unsigned xArg = kb.addBuffer(elementType);
  unsigned qArg = kb.addBuffer(op.getWeightValues().getType().getElementType());
  unsigned sArg = kb.addBuffer(Float32Type::get(op.getContext()));
  unsigned biasArg = kb.addBuffer(elementType);
  unsigned outArg = kb.addBuffer(elementType);
  unsigned mArg = kb.addScalar(), nArg = kb.addScalar(), kArg = kb.addScalar(),
           glArg = kb.addScalar(), gArg = kb.addScalar(),
           hasBiasArg = kb.addScalar();
  unsigned countArg = 0, perBatchArg = 0;
  if (fast.skip) {
    countArg = kb.addBuffer(IntegerType::get(op.getContext(), 32));
    perBatchArg = kb.addScalar();
  }
  ImplicitLocOpBuilder &b = kb.begin({kBlockSize, 1, 1});
  IndexMath m{b};
  Value M = kb.scalar(mArg), N = kb.scalar(nArg), K = kb.scalar(kArg),
        groupLength = kb.scalar(glArg), groups = kb.scalar(gArg);
  Value index = kb.globalIdX();
  Value inRange = m.lt(index, m.mul(M, N));
  if (fast.skip) {
    // Rows of a gated branch nobody reads (row % S >= count[row / S]).
    Value row = m.div(m.min(index, m.sub(m.mul(M, N), m.c(1))), N);
    Value perBatch = kb.scalar(perBatchArg);
    Value count = toIndex(
        b, kb.load(kb.buffer(countArg), m.div(row, perBatch)));
    inRange = andI1(b, inRange, m.lt(m.rem(row, perBatch), count));
  }
  kb.ifThen(inRange, [&] {
    Value row = m.div(index, N), n = m.rem(index, N);
    Value xBase = m.mul(row, K), wBase = m.mul(n, K),
          sBase = m.mul(n, groups);
    // y = sum_k x * (q * scale): the weight is dequantized in f32 first, as
    // the contract's reference does.
    Value acc = buildFor(
        b, m.c(0), K, f32Const(b, 0.0),
        [&](ImplicitLocOpBuilder &b, Value k, ValueRange args) {
          Value q = toF32(b, kb.load(kb.buffer(qArg), m.add(wBase, k)));
          Value scale =
              kb.load(kb.buffer(sArg), m.add(sBase, m.div(k, groupLength)));
          Value x = toF32(b, kb.load(kb.buffer(xArg), m.add(xBase, k)));
          Value w = arith::MulFOp::create(b, q, scale);
          return SmallVector<Value>{
              arith::AddFOp::create(b, args[0], arith::MulFOp::create(b, x, w))};
        })[0];
    Value withBias = buildIf(
        b, m.eq(kb.scalar(hasBiasArg), m.c(1)), b.getF32Type(),
        [&](ImplicitLocOpBuilder &b) {
          return SmallVector<Value>{arith::AddFOp::create(
              b, acc, toF32(b, kb.load(kb.buffer(biasArg), n)))};
        },
        [&](ImplicitLocOpBuilder &) { return SmallVector<Value>{acc}; })[0];
    kb.store(fromF32(b, withBias, elementType), kb.buffer(outArg), index);
    kb.countWork(K);
  });
  KernelDecl kernel = kb.finish();
  std::string biasBuffer = bias ? bundle.get(bias).buffer
                                : bundle.addScratch(out.dtype, 1);
  LaunchDecl launch = launch1D(kernel, rows * outLen, kBlockSize);
  launch.args = {bufferArg(*fast.input),
                 bufferArg(*fast.weights),
                 bufferArg(*fast.scales),
                 KernelArg::ofBuffer(biasBuffer, out.dtype),
                 bufferArg(out),
                 KernelArg::ofI64(rows),
                 KernelArg::ofI64(outLen),
                 KernelArg::ofI64(reduceLen),
                 KernelArg::ofI64(grouping.groupLength),
                 KernelArg::ofI64(grouping.groups),
                 KernelArg::ofI64(bias ? 1 : 0)};
  if (fast.skip)
    launch.args.append({bufferArg(*fast.skip->count),
                        KernelArg::ofI64(fast.skip->rowsPerBatch)});
  bundle.addKernel(kernel);
  bundle.launch(op, std::move(launch));
  return success();
}

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

template <typename OpTy>
static void addProvider(LogicalResult (*build)(OpTy, BundleBuilder &),
                        bool skipsInactiveRows = false) {
  KernelProviderRegistry::global().add(
      OpTy::getOperationName(),
      [build](Operation *op, BundleBuilder &bundle) {
        return build(cast<OpTy>(op), bundle);
      },
      skipsInactiveRows);
}

void mlir::sieve::registerBuiltinKernelProviders() {
  registerLinalgKernelProviders();
  // Attention: the tensor-core kernels when the shape qualifies, else the
  // simple kernel above (AttentionKernels.h).
  KernelProviderRegistry &registry = KernelProviderRegistry::global();
  for (StringRef name : {AttentionOp::getOperationName(),
                         HybridAttentionOp::getOperationName()}) {
    registry.add(name, buildAttentionOp);
    registry.addStridedOperands(name, attentionReadsStridedOperand);
  }
  addProvider<SelectGlobalOp>(buildSelectGlobal);
  addProvider<GateOp>(buildGate);
  addProvider<CompactOp>(buildCompact);
  addProvider<ScatterOp>(buildScatter);
  addProvider<QuantizeOp>(buildQuantize);
  addProvider<DequantizeOp>(buildDequantize);
  addProvider<QMatmulOp>(buildQMatmul, /*skipsInactiveRows=*/true);
}
