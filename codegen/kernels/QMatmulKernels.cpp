//===- QMatmulKernels.cpp - Tensor-core kernels of sieve.qmatmul ----------===//
//
// y[m, n] = sum_k x[m, k] * q[n, k] * scale[n, k / group] + bias[n] with f16
// or bf16 activations, int8 or int4 weights, on mma.sync m16n8k16 with f32
// accumulators. docs/kernels.md ("Quantized matmul") explains the choices;
// in short:
//
//  pack_i4   int4 weights arrive one byte per element ([N, K], the bundle's
//            input convention). One pass packs them two per byte in the
//            "i4 tiles" layout below, once per bundle for each weight
//            tensor; when the weights are an input the launch carries
//            `reuse`, so that a runtime keeps the packed words across runs
//            while the weights are not bound again.
//  decode    M <= 16: one block per 16 output columns, its 8 warps splitting
//            K. Each lane streams 16-byte vectors of weights, turns them
//            into f16/bf16 mma operands with integer tricks (no conversion
//            instructions), and the per-group scales multiply the f32
//            partial sums of each 64-wide slice of K.
//  tiled     M > 16: 128x128 output tiles, K in steps of 32, two stages:
//            activations arrive by cp.async, weights are loaded into
//            registers one step ahead, dequantized with the same integer
//            tricks, multiplied by their scale (rounded to the activation
//            type, as Marlin does) and stored to shared memory; ldmatrix
//            feeds the mma.
//
// The "i4 tiles" layout (docs/bundle-format.md): Np = ceil(N/8)*8 rows,
// Kp = ceil(K/128)*128 columns, Np*Kp/2 bytes; 512 bytes per (8-row tile,
// 128-column chunk), tiles and chunks row-major. In a block, lane l = 4g + t
// (the layout matches mma.sync's B fragment lanes: g = row in the tile,
// t = quarter) owns 16 bytes: words 2h and 2h+1 hold columns
// 64h + 16t + [0, 8) and 64h + 16t + [8, 16) of row g. A word holds 8 values,
// value i at nibble i/2 + 4*(i%2), as q + 8 (offset binary), so that
// (word >> 4j) & 0x000F000F puts values 2j and 2j+1 in the two halves of a
// 32-bit register. Padding holds 8 (the value 0).
//
//===----------------------------------------------------------------------===//

#include "codegen/kernels/QMatmulKernels.h"

#include "codegen/kernels/IndexMath.h"
#include "codegen/kernels/MmaFragments.h"

#include "passes/ScalarCode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::sieve;
using Pred = arith::CmpIPredicate;

static constexpr int64_t kLanes = 32;

// The i4 tiles layout.
static constexpr int64_t kPackRows = 8;
static constexpr int64_t kPackChunk = 128;
static constexpr int64_t kPackBlock = 256;

// The decode kernel: blocks of kDecodeWarps warps, kDecodeCols output
// columns (two mma n-tiles) and up to kDecodeMaxRows rows (one m-tile).
static constexpr int64_t kDecodeWarps = 8;
static constexpr int64_t kDecodeCols = 16;
static constexpr int64_t kDecodeMaxRows = 16;

// The tiled kernel: kTileM x kTileN outputs per block, K in steps of kTileK;
// 2 x 4 warps of 64 x 32 outputs each; shared-memory rows padded to
// kTileStride elements (80 bytes) so that ldmatrix's 8 row addresses hit 8
// different 16-byte bank groups.
static constexpr int64_t kTileM = 128;
static constexpr int64_t kTileN = 128;
static constexpr int64_t kTileK = 32;
static constexpr int64_t kTileStride = kTileK + 8;
static constexpr int64_t kTiledThreads = 256;
static constexpr int64_t kWarpTileM = 64;
static constexpr int64_t kWarpTileN = 32;
static constexpr int64_t kStages = 2;

//===----------------------------------------------------------------------===//
// Small builders
//===----------------------------------------------------------------------===//

/// The C-fragment multiplier [[s0, s1], [s0, s1]]: columns 2t and 2t + 1 of
/// both row halves.
static Value columnScales(ImplicitLocOpBuilder &b, Value s0, Value s1) {
  Value row = vector::FromElementsOp::create(
      b, VectorType::get({2}, b.getF32Type()), ValueRange{s0, s1});
  return fragmentOf(b, {row, row});
}

//===----------------------------------------------------------------------===//
// Dequantization without conversion instructions (both kernels)
//===----------------------------------------------------------------------===//
//
// 16 consecutive weights become 8 registers of two f16/bf16 values each,
// (k, k+1) in K order: two of them are an mma B fragment in the decode
// kernel, all eight a row segment of the tiled kernel's shared-memory tile.
// The integer values become f16/bf16 without conversion instructions:
// an unsigned u in the low bits of a half whose exponent says 2^10 (f16,
// 0x6400) or 2^7 (bf16, 0x4300) is the number 1024 + u or 128 + u, exactly,
// and one packed subtraction removes the magic number and the offset.

namespace {
struct Dequantizer {
  ImplicitLocOpBuilder &b;
  Type element;
  bool int4;

  bool isF16() const { return element.isF16(); }
  int64_t magicBits() const { return isF16() ? 0x64006400 : 0x43004300; }
  double magic() const { return isF16() ? 1024.0 : 128.0; }

  Value andI(Value x, int64_t mask) {
    return arith::AndIOp::create(b, x, i32Const(b, mask));
  }
  Value orI(Value x, int64_t bits) {
    return arith::OrIOp::create(b, x, i32Const(b, bits));
  }
  Value xorI(Value x, int64_t bits) {
    return arith::XOrIOp::create(b, x, i32Const(b, bits));
  }
  Value shr(Value x, int64_t amount) {
    return amount ? arith::ShRUIOp::create(b, x, i32Const(b, amount))
                        .getResult()
                  : x;
  }
  Value shl(Value x, int64_t amount) {
    return arith::ShLIOp::create(b, x, i32Const(b, amount));
  }

  /// A register of magic-number halves minus `offset`.
  Value pair(Value reg, double offset) {
    Value halves = wordToPair(b, reg, element);
    auto type = cast<VectorType>(halves.getType());
    return arith::SubFOp::create(b, halves, floatSplat(b, type, offset));
  }

  /// 16 consecutive weights as 8 pairs (k, k + 1) of the activation type:
  /// int8 gives four words (bytes in K order), int4 two words (the i4 tiles
  /// nibble order).
  SmallVector<Value> pairs(ArrayRef<Value> words) {
    SmallVector<Value> result;
    if (int4) {
      // Values 2j and 2j + 1 are nibbles j and j + 4.
      for (Value word : words)
        for (int64_t j = 0; j < 4; ++j)
          result.push_back(pair(
              orI(andI(shr(word, 4 * j), 0x000F000F), magicBits()),
              magic() + 8));
      return result;
    }
    for (Value word : words) {
      // Bytes b0..b3 of the word: (b0, b1) and (b2, b3) into the halves.
      Value pair01 = arith::OrIOp::create(b, andI(word, 0xFF),
                                          andI(shl(word, 8), 0x00FF0000));
      Value pair23 = arith::OrIOp::create(b, andI(shr(word, 16), 0xFF),
                                          andI(shr(word, 8), 0x00FF0000));
      for (Value bytes : {pair01, pair23}) {
        if (isF16()) {
          // 1024 + (q + 128) is exact in f16 for every byte.
          result.push_back(
              pair(orI(xorI(bytes, 0x00800080), magicBits()), magic() + 128));
          continue;
        }
        // bf16 holds 128 + u exactly only for u < 128: the two nibbles
        // apart, q = 16 * (high nibble, signed) + low nibble.
        Value low = pair(orI(andI(bytes, 0x000F000F), magicBits()), magic());
        Value high =
            pair(orI(xorI(andI(shr(bytes, 4), 0x000F000F), 0x00080008),
                     magicBits()),
                 magic() + 8);
        auto type = cast<VectorType>(low.getType());
        result.push_back(vector::FMAOp::create(
            b, high, floatSplat(b, type, 16.0), low));
      }
    }
    return result;
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Eligibility
//===----------------------------------------------------------------------===//

static bool isInt4(QMatmulOp op) {
  return op.getWeightValues().getType().getElementType().isInteger(4);
}

std::string mlir::sieve::getTensorCoreQMatmulLimit(
    QMatmulOp op, const QMatmulBinding &binding) {
  Type element = op.getInput().getType().getElementType();
  if (!element.isF16() && !element.isBF16())
    return "the activations are f32; the tensor-core kernels take f16 and "
           "bf16";
  auto groupSize = static_cast<int64_t>(op.getGroupSize());
  if (groupSize % 64 != 0)
    return "group_size " + std::to_string(groupSize) +
           " is neither 0 (whole rows) nor a multiple of 64";
  // Rows of x (and of int8 weights) are read with 16-byte vectors: K must
  // keep them aligned. A group size that is a multiple of 64 divides K.
  int64_t alignment = isInt4(op) ? 8 : 16;
  std::optional<int64_t> k = binding.reduceLen.getConstant();
  bool aligned = k ? *k % alignment == 0 : groupSize > 0;
  if (!aligned)
    return "K is not known to be a multiple of " + std::to_string(alignment);
  if (binding.rows.getConstant() && *binding.rows.getConstant() == 0)
    return "the input has no rows";
  return "";
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

namespace {
/// What the kernel builders share.
struct QMatmulKernels {
  QMatmulOp op;
  BundleBuilder &bundle;
  const QMatmulBinding &binding;
  Type element;
  bool int4;
  int64_t groupSize;
  /// Int4: the packed weights (i32 words); int8: the weights as they are.
  std::string weightBuffer;
  DType weightDType;
  /// ceil(K / 128): 128-wide chunks of K per row.
  SizeExpr chunks;

  MLIRContext *getContext() { return op.getContext(); }
  Type weightElement() {
    return IntegerType::get(getContext(), int4 ? 32 : 8);
  }

  void buildPack();
  void buildDecode(SizeExpr gridFactor);
  void buildTiled(SizeExpr gridFactor);
  /// The arguments every matmul kernel takes, in order.
  SmallVector<KernelArg> matmulArgs();
  /// Declares the matmul kernels' parameters (matmulArgs order).
  void addMatmulParams(KernelBuilder &kb);
  /// Whether the rows [firstRow, firstRow + numRows) of M hold one that is
  /// read (null when every row is).
  Value isTileActive(KernelBuilder &kb, Value firstRow, Value numRows,
                     Value M);
};
} // namespace

/// Tiles of a gated branch whose rows nobody reads exit at once: the kernels
/// take the compact's count and the rows per batch row (docs/codegen.md).
Value QMatmulKernels::isTileActive(KernelBuilder &kb, Value firstRow,
                                   Value numRows, Value M) {
  if (!binding.skip)
    return Value();
  ImplicitLocOpBuilder &b = kb.builder();
  IndexMath m{b};
  unsigned first = binding.bias ? 10 : 9;
  Value counts = kb.buffer(first), perBatch = kb.scalar(first + 1);
  Value lastRow = m.min(m.add(firstRow, m.sub(numRows, m.c(1))),
                        m.sub(M, m.c(1)));
  Value batch = m.div(firstRow, perBatch);
  Value sameBatch =
      cmpIndex(b, Pred::eq, batch, m.div(lastRow, perBatch));
  Value count = toIndex(b, kb.load(counts, batch));
  // Rows of a batch row are consecutive: the tile's first row being past
  // count makes all of them so.
  return notI1(b, andI1(b, sameBatch,
                        notI1(b, m.lt(m.rem(firstRow, perBatch), count))));
}

SmallVector<KernelArg> QMatmulKernels::matmulArgs() {
  auto bufferArg = [](const TensorBinding &tensor) {
    return KernelArg::ofBuffer(tensor.buffer, tensor.dtype);
  };
  SmallVector<KernelArg> args = {
      bufferArg(*binding.input),
      KernelArg::ofBuffer(weightBuffer, weightDType),
      bufferArg(*binding.scales)};
  if (binding.bias)
    args.push_back(bufferArg(*binding.bias));
  args.append({bufferArg(*binding.result), KernelArg::ofI64(binding.rows),
               KernelArg::ofI64(binding.outLen),
               KernelArg::ofI64(binding.reduceLen),
               KernelArg::ofI64(binding.groups), KernelArg::ofI64(chunks)});
  if (binding.skip)
    args.append({bufferArg(*binding.skip->count),
                 KernelArg::ofI64(binding.skip->rowsPerBatch)});
  return args;
}

namespace {
/// The parameters of a matmul kernel, as values in its body.
struct MatmulParams {
  Value x, w, scales, bias, out;
  Value M, N, K, groups, chunks;
};
} // namespace

static MatmulParams getParams(KernelBuilder &kb, bool hasBias) {
  MatmulParams p;
  unsigned i = 0;
  p.x = kb.buffer(i++);
  p.w = kb.buffer(i++);
  p.scales = kb.buffer(i++);
  if (hasBias)
    p.bias = kb.buffer(i++);
  p.out = kb.buffer(i++);
  p.M = kb.scalar(i++);
  p.N = kb.scalar(i++);
  p.K = kb.scalar(i++);
  p.groups = kb.scalar(i++);
  p.chunks = kb.scalar(i++);
  return p;
}

void QMatmulKernels::addMatmulParams(KernelBuilder &kb) {
  kb.addBuffer(element);
  kb.addBuffer(weightElement());
  kb.addBuffer(Float32Type::get(getContext()));
  if (binding.bias)
    kb.addBuffer(element);
  kb.addBuffer(element);
  for (int i = 0; i < 5; ++i)
    kb.addScalar();
  if (binding.skip) {
    kb.addBuffer(IntegerType::get(getContext(), 32));
    kb.addScalar();
  }
}

/// Adds bias[n] (when there is one), rounds to `element` and stores y[m, n].
static void storeResult(KernelBuilder &kb, const MatmulParams &p,
                        Type element, Value value, Value row, Value col) {
  ImplicitLocOpBuilder &b = kb.builder();
  IndexMath m{b};
  kb.ifThen(andI1(b, m.lt(row, p.M), m.lt(col, p.N)), [&] {
    Value sum = value;
    if (p.bias)
      sum = arith::AddFOp::create(b, sum, toF32(b, kb.load(p.bias, col)));
    kb.store(fromF32(b, sum, element), p.out, m.add(m.mul(row, p.N), col));
  });
}

/// The "i4 tiles" layout of [N, K] int4 weights stored one byte each (K a
/// multiple of 8), little-endian words: what the pack_i4 kernel computes.
static std::string packInt4Tiles(StringRef bytes, int64_t N, int64_t K) {
  int64_t tiles = llvm::divideCeil(N, kPackRows);
  int64_t chunks = llvm::divideCeil(K, kPackChunk);
  int64_t words = tiles * chunks * kLanes * 4;
  std::string packed(words * 4, '\0');
  for (int64_t index = 0; index < words; ++index) {
    int64_t word = index % 4, lane = (index / 4) % kLanes;
    int64_t block = index / (4 * kLanes);
    int64_t chunk = block % chunks, tile = block / chunks;
    int64_t row = tile * kPackRows + lane / 4;
    int64_t col = chunk * kPackChunk + (word / 2) * 64 + (lane % 4) * 16 +
                  (word % 2) * 8;
    bool valid = row < N && col < K;
    uint32_t result = 0;
    for (int64_t i = 0; i < 8; ++i) {
      int8_t value = valid ? static_cast<int8_t>(bytes[row * K + col + i]) : 0;
      uint32_t nibble = static_cast<uint32_t>(value + 8) & 0xF;
      result |= nibble << (4 * (i / 2 + 4 * (i % 2)));
    }
    for (int64_t byte = 0; byte < 4; ++byte)
      packed[index * 4 + byte] = static_cast<char>((result >> (8 * byte)) & 0xFF);
  }
  return packed;
}

void QMatmulKernels::buildPack() {
  const TensorBinding &weights = *binding.weights;
  SizeExpr N = binding.outLen, K = binding.reduceLen;
  SizeExpr tiles = SizeExpr::ceilDiv(N, kPackRows);
  // One thread per packed word: 4 words per lane, 32 lanes per block of the
  // layout.
  SizeExpr words = tiles * chunks * (kLanes * 4);
  weightDType = DType::I32;
  // Weights that several ops multiply by are packed once.
  std::string key = "i4-tiles:" + weights.buffer;
  if (std::optional<std::string> packed = bundle.lookupDerived(key)) {
    weightBuffer = *packed;
    return;
  }
  // Constant weights are packed here, once, into the constants file.
  if (std::optional<StringRef> bytes = bundle.getConstantBytes(weights.buffer);
      bytes && N.isConstant() && K.isConstant()) {
    weightBuffer = bundle.addConstantBuffer(
        packInt4Tiles(*bytes, *N.getConstant(), *K.getConstant()));
    bundle.recordDerived(key, weightBuffer);
    return;
  }
  weightBuffer = bundle.addScratch(DType::I32, words);
  bundle.recordDerived(key, weightBuffer);

  KernelBuilder kb = bundle.newKernel("qmatmul_pack_i4", op.getLoc());
  MLIRContext *ctx = getContext();
  // The i4 input is read as its bytes: the value is the low nibble.
  unsigned qArg = kb.addBuffer(IntegerType::get(ctx, 8));
  unsigned pArg = kb.addBuffer(IntegerType::get(ctx, 32));
  unsigned nArg = kb.addScalar(), kArg = kb.addScalar(),
           cArg = kb.addScalar(), wArg = kb.addScalar();
  ImplicitLocOpBuilder &b = kb.begin({kPackBlock, 1, 1});
  IndexMath m{b};
  Value q = kb.buffer(qArg), packed = kb.buffer(pArg);
  Value numRows = kb.scalar(nArg), numCols = kb.scalar(kArg),
        numChunks = kb.scalar(cArg), numWords = kb.scalar(wArg);
  Value index = kb.globalIdX();
  kb.ifThen(m.lt(index, numWords), [&] {
    Value word = m.rem(index, m.c(4));
    Value lane = m.rem(m.div(index, m.c(4)), m.c(kLanes));
    Value block = m.div(index, m.c(4 * kLanes));
    Value chunk = m.rem(block, numChunks), tile = m.div(block, numChunks);
    Value g = m.div(lane, m.c(4)), t = m.rem(lane, m.c(4));
    Value row = m.add(m.mul(tile, m.c(kPackRows)), g);
    // Word w holds columns 64 (w / 2) + 16 t + 8 (w % 2) + [0, 8).
    Value col = m.add(
        m.add(m.mul(chunk, m.c(kPackChunk)), m.mul(m.div(word, m.c(2)),
                                                    m.c(64))),
        m.add(m.mul(t, m.c(16)), m.mul(m.rem(word, m.c(2)), m.c(8))));
    // K is a multiple of 8: the 8 values are all in the row or all beyond.
    auto bytesType = VectorType::get({8}, b.getI8Type());
    Value valid = andI1(b, m.lt(row, numRows), m.lt(col, numCols));
    Value bytes = loadVectorIf(b, valid, bytesType, q,
                         m.add(m.mul(row, numCols), col), 8);
    Value result = i32Const(b, 0);
    for (int64_t i = 0; i < 8; ++i) {
      Value byte = vector::ExtractOp::create(b, bytes, ArrayRef<int64_t>{i});
      Value nibble = arith::AndIOp::create(
          b,
          arith::AddIOp::create(b,
                                arith::ExtUIOp::create(b, b.getI32Type(),
                                                       byte),
                                i32Const(b, 8)),
          i32Const(b, 0xF));
      int64_t position = i / 2 + 4 * (i % 2);
      result = arith::OrIOp::create(
          b, result,
          arith::ShLIOp::create(b, nibble, i32Const(b, 4 * position)));
    }
    kb.store(result, packed, index);
  });
  KernelDecl kernel = kb.finish();
  LaunchDecl launch;
  launch.kernel = kernel.name;
  launch.grid = {SizeExpr::ceilDiv(words, kPackBlock), 1, 1};
  launch.block = {kPackBlock, 1, 1};
  launch.args = {KernelArg::ofBuffer(weights.buffer, weights.dtype),
                 KernelArg::ofBuffer(weightBuffer, DType::I32),
                 KernelArg::ofI64(N), KernelArg::ofI64(K),
                 KernelArg::ofI64(chunks), KernelArg::ofI64(words)};
  // The packed words depend on the weights only: while they are the same
  // host input, a runtime may keep them from an earlier run.
  for (const TensorDecl &input : bundle.getManifest().inputs)
    if (input.buffer == weights.buffer)
      launch.reuseInputs.push_back(input.name);
  bundle.addKernel(kernel);
  bundle.launch(op, std::move(launch));
}

//===----------------------------------------------------------------------===//
// Decode kernel (M <= 16)
//===----------------------------------------------------------------------===//
//
// Block b computes columns [16b, 16b + 16) as two n-tiles of 8; warp w takes
// the 128-wide chunks c = w, w + 8, ... of K and the block adds the 8 warps'
// accumulators through shared memory at the end.
//
// K is permuted inside each 64-wide slice so that every lane reads 16
// consecutive weights of its row and 16 consecutive activations of each of
// its two rows: in step s (0..3) of a slice, mma's K slots 2t + e and
// 2t + 8 + e of lane (g, t) stand for columns 16t + 4s + e and
// 16t + 4s + 2 + e (e = 0, 1) for A and B alike, which leaves the product
// unchanged. Groups are multiples of 64, so each slice has one scale per
// column: the slice's four mma steps start from zero and the f32 partial sum
// is scaled into the accumulator.

void QMatmulKernels::buildDecode(SizeExpr gridFactor) {
  KernelBuilder kb = bundle.newKernel("qmatmul_decode", op.getLoc());
  addMatmulParams(kb);
  Type f32 = Float32Type::get(getContext());
  unsigned redArg =
      kb.addWorkgroupBuffer(f32, kDecodeWarps * kLanes * 8);
  ImplicitLocOpBuilder &b = kb.begin({kDecodeWarps * kLanes, 1, 1});
  IndexMath m{b};
  MatmulParams p = getParams(kb, binding.bias != nullptr);
  Value red = kb.workgroup(redArg);
  Value tid = kb.threadIdX();
  Value warp = m.div(tid, m.c(kLanes)), lane = m.rem(tid, m.c(kLanes));
  Value g = m.div(lane, m.c(4)), t = m.rem(lane, m.c(4));
  Value col0 = m.mul(kb.blockIdX(), m.c(kDecodeCols));
  Value lastRow = m.sub(p.N, m.c(1));
  Dequantizer dq{b, element, int4};
  auto accType = VectorType::get({2, 2}, f32);
  bool grouped = groupSize > 0;

  // The scales of columns 2t and 2t + 1 of n-tile `tile` for group `group`.
  auto scalesOf = [&](int64_t tile, Value group) {
    Value s[2];
    for (int64_t e = 0; e < 2; ++e) {
      Value col = m.add(m.add(col0, m.c(8 * tile + e)), m.mul(t, m.c(2)));
      // Columns beyond N are computed but never stored.
      col = m.min(col, lastRow);
      s[e] = kb.load(p.scales, m.add(m.mul(col, p.groups), group));
    }
    return columnScales(b, s[0], s[1]);
  };

  // The weights of one chunk for both n-tiles as loaded: int4 one
  // vector<4xi32> per tile (16 bytes of the i4 tiles layout), int8 one
  // vector<16xi8> per tile and 64-wide slice. Zeros beyond N, K and the
  // last chunk.
  auto loadChunk = [&](Value chunk) {
    SmallVector<Value> raw;
    Value inK = m.lt(chunk, p.chunks);
    Value kc = m.mul(chunk, m.c(kPackChunk));
    for (int64_t tile = 0; tile < 2; ++tile) {
      if (int4) {
        Value tileIndex = m.add(m.mul(kb.blockIdX(), m.c(2)), m.c(tile));
        Value valid =
            andI1(b, inK, m.lt(m.mul(tileIndex, m.c(kPackRows)), p.N));
        Value index = m.mul(
            m.add(m.mul(m.add(m.mul(tileIndex, p.chunks), chunk),
                        m.c(kLanes)),
                  lane),
            m.c(4));
        raw.push_back(loadVectorIf(b, valid, VectorType::get({4}, b.getI32Type()),
                             p.w, index, 16));
        continue;
      }
      Value row = m.add(m.add(col0, m.c(8 * tile)), g);
      for (int64_t h = 0; h < 2; ++h) {
        Value k = m.add(m.add(kc, m.c(64 * h)), m.mul(t, m.c(16)));
        Value valid = andI1(b, m.lt(row, p.N), m.lt(k, p.K));
        raw.push_back(loadVectorIf(b, valid, VectorType::get({16}, b.getI8Type()),
                             p.w, m.add(m.mul(row, p.K), k), 16));
      }
    }
    return raw;
  };

  // The loop carries the accumulators and the weights of the warp's next
  // chunk: those of chunk c + 8 are loaded before chunk c is multiplied, so
  // that two chunks' loads are in flight per warp.
  Value zero = zerosOf(b, accType);
  SmallVector<Value> init = {zero, zero};
  init.append(loadChunk(warp));
  SmallVector<Value> acc = buildStridedFor(
      b, warp, p.chunks, m.c(kDecodeWarps), init,
      [&](ImplicitLocOpBuilder &b, Value chunk, ValueRange args) {
        Value kc = m.mul(chunk, m.c(kPackChunk));
        SmallVector<Value> next =
            loadChunk(m.add(chunk, m.c(kDecodeWarps)));
        // words[tile][h]: the lane's 16 weights of slice h (64 columns) of
        // n-tile `tile`.
        ValueRange raw = args.drop_front(2);
        SmallVector<Value> words[2][2];
        for (int64_t tile = 0; tile < 2; ++tile) {
          if (int4) {
            SmallVector<Value> all = toWords(b, raw[tile]);
            words[tile][0] = {all[0], all[1]};
            words[tile][1] = {all[2], all[3]};
            continue;
          }
          for (int64_t h = 0; h < 2; ++h)
            words[tile][h] = toWords(b, raw[2 * tile + h]);
        }
        SmallVector<Value> state(args.take_front(2));
        for (int64_t h = 0; h < 2; ++h) {
          Value sliceStart = m.add(kc, m.c(64 * h));
          auto slice = [&](ImplicitLocOpBuilder &b) {
            Value k = m.add(sliceStart, m.mul(t, m.c(16)));
            // The lane's activations: 16 columns of rows g and g + 8, as
            // 8 words each; rows beyond M and columns beyond K are zeros.
            auto activations = [&](Value row) {
              SmallVector<Value> result;
              for (int64_t half = 0; half < 2; ++half) {
                Value col = m.add(k, m.c(8 * half));
                Value valid = andI1(b, m.lt(row, p.M), m.lt(col, p.K));
                result.append(toWords(
                    b, loadVectorIf(b, valid, VectorType::get({8}, element), p.x,
                              m.add(m.mul(row, p.K), col), 16)));
              }
              return result;
            };
            SmallVector<Value> low = activations(g),
                               high = activations(m.add(g, m.c(8)));
            SmallVector<Value> sums(state);
            for (int64_t tile = 0; tile < 2; ++tile) {
              Value sum = grouped ? zerosOf(b, accType) : sums[tile];
              SmallVector<Value> weights = dq.pairs(words[tile][h]);
              for (int64_t s = 0; s < 4; ++s) {
                Value a = fragmentOfWords(
                    b,
                    {low[2 * s], high[2 * s], low[2 * s + 1],
                     high[2 * s + 1]},
                    element);
                sum = mmaSync(b, a,
                          fragmentOf(b, {weights[2 * s], weights[2 * s + 1]}),
                          sum);
              }
              if (grouped) {
                Value group =
                    m.div(sliceStart, m.c(static_cast<int64_t>(groupSize)));
                sum = arith::AddFOp::create(
                    b, sums[tile],
                    arith::MulFOp::create(b, sum, scalesOf(tile, group)));
              }
              sums[tile] = sum;
            }
            return sums;
          };
          // The second slice of the last chunk may lie beyond K.
          if (h == 0)
            state = slice(b);
          else
            state = buildIf(
                b, m.lt(sliceStart, p.K), TypeRange{accType, accType}, slice,
                [&](ImplicitLocOpBuilder &) { return state; });
        }
        state.append(next);
        return state;
      });
  acc.resize(2);

  // Whole-row scales multiply the sums once.
  if (!grouped)
    for (int64_t tile = 0; tile < 2; ++tile)
      acc[tile] =
          arith::MulFOp::create(b, acc[tile], scalesOf(tile, m.c(0)));

  // Sum the warps: lane (g, t) of warp w holds, per n-tile, rows g and
  // g + 8 of columns 2t and 2t + 1.
  Value base = m.mul(m.add(m.mul(warp, m.c(kLanes)), lane), m.c(8));
  for (int64_t tile = 0; tile < 2; ++tile)
    for (int64_t r = 0; r < 2; ++r)
      vector::StoreOp::create(
          b, vector::ExtractOp::create(b, acc[tile], ArrayRef<int64_t>{r}),
          red, ValueRange{m.add(base, m.c(4 * tile + 2 * r))},
          /*nontemporal=*/false, llvm::Align(8));
  gpu::BarrierOp::create(b);
  // Thread (r, c) of the 16 x 16 outputs.
  Value row = m.div(tid, m.c(kDecodeCols)), colInBlock = m.rem(tid, m.c(16));
  Value tile = m.div(colInBlock, m.c(8)), colInTile = m.rem(colInBlock, m.c(8));
  Value srcLane = m.add(m.mul(m.rem(row, m.c(8)), m.c(4)),
                        m.div(colInTile, m.c(2)));
  Value element0 = m.add(m.mul(tile, m.c(4)),
                         m.add(m.mul(m.div(row, m.c(8)), m.c(2)),
                               m.rem(colInTile, m.c(2))));
  Value total = f32Const(b, 0.0);
  for (int64_t w = 0; w < kDecodeWarps; ++w) {
    Value index = m.add(
        m.mul(m.add(m.c(w * kLanes), srcLane), m.c(8)), element0);
    total = arith::AddFOp::create(b, total, kb.load(red, index));
  }
  storeResult(kb, p, element, total, row, m.add(col0, colInBlock));

  KernelDecl kernel = kb.finish();
  LaunchDecl launch;
  launch.kernel = kernel.name;
  launch.grid = {SizeExpr::ceilDiv(binding.outLen, kDecodeCols) * gridFactor,
                 1, 1};
  launch.block = {kDecodeWarps * kLanes, 1, 1};
  launch.args = matmulArgs();
  bundle.addKernel(kernel);
  bundle.launch(op, std::move(launch));
}

//===----------------------------------------------------------------------===//
// Tiled kernel (M > 16)
//===----------------------------------------------------------------------===//
//
// Per step of 32 columns of K: the block's 128 x 32 activations go to
// shared memory by cp.async (16 bytes per copy, zero-filled beyond M and K),
// each thread loads 16 weights of one of the 128 rows (int8: 16 bytes; int4:
// 8 bytes of the i4 tiles layout) a step ahead into registers, dequantizes
// them, multiplies them by their scale in the activation type and stores
// them as the 128 x 32 B^T tile. Warp (wm, wn) multiplies its 64 x 32 outputs:
// ldmatrix.x4 gives the A fragment of a 16 x 16 block and the B fragments of
// two n-tiles.

void QMatmulKernels::buildTiled(SizeExpr gridFactor) {
  KernelBuilder kb = bundle.newKernel("qmatmul_tiled", op.getLoc());
  addMatmulParams(kb);
  constexpr int64_t kStageX = kTileM * kTileStride;
  constexpr int64_t kStageW = kTileN * kTileStride;
  unsigned xsArg = kb.addWorkgroupBuffer(element, kStages * kStageX);
  unsigned wsArg = kb.addWorkgroupBuffer(element, kStages * kStageW);
  ImplicitLocOpBuilder &b = kb.begin({kTiledThreads, 1, 1});
  IndexMath m{b};
  MatmulParams p = getParams(kb, binding.bias != nullptr);
  Value xs = kb.workgroup(xsArg), ws = kb.workgroup(wsArg);
  MLIRContext *ctx = getContext();
  Type f32 = Float32Type::get(ctx);
  Value tid = kb.threadIdX();
  Value warp = m.div(tid, m.c(kLanes)), lane = m.rem(tid, m.c(kLanes));
  Value g = m.div(lane, m.c(4)), t = m.rem(lane, m.c(4));
  constexpr int64_t kWarpsN = kTileN / kWarpTileN;
  Value warpRow = m.mul(m.div(warp, m.c(kWarpsN)), m.c(kWarpTileM));
  Value warpCol = m.mul(m.rem(warp, m.c(kWarpsN)), m.c(kWarpTileN));
  // Row tiles along x (up to 2^31 - 1 of them), column tiles along y.
  Value row0 = m.mul(kb.blockIdX(), m.c(kTileM));
  Value col0 = m.mul(gpu::BlockIdOp::create(b, gpu::Dimension::y),
                     m.c(kTileN));
  auto body = [&] {
  Value steps = m.div(m.add(p.K, m.c(kTileK - 1)), m.c(kTileK));
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(ctx);

  // Activations of step `step` into stage `stage`: 128 rows x 4 copies of
  // 8 elements, two per thread.
  auto copyActivations = [&](Value step, Value stage) {
    SmallVector<Value> tokens;
    for (int64_t i = 0; i < kTileM * kTileK / 8 / kTiledThreads; ++i) {
      Value piece = m.add(tid, m.c(i * kTiledThreads));
      Value row = m.div(piece, m.c(kTileK / 8));
      Value col = m.mul(m.rem(piece, m.c(kTileK / 8)), m.c(8));
      Value srcRow = m.add(row0, row);
      Value srcCol = m.add(m.mul(step, m.c(kTileK)), col);
      Value valid = andI1(b, m.lt(srcRow, p.M), m.lt(srcCol, p.K));
      Value srcIndex = arith::SelectOp::create(
          b, valid, m.add(m.mul(srcRow, p.K), srcCol), m.c(0));
      Value srcElements =
          arith::SelectOp::create(b, valid, m.c(8), m.c(0));
      Value dstIndex = m.add(m.mul(stage, m.c(kStageX)),
                             m.add(m.mul(row, m.c(kTileStride)), col));
      tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
          b, tokenType, xs, ValueRange{dstIndex}, p.x, ValueRange{srcIndex},
          b.getIndexAttr(8), srcElements, b.getUnitAttr()));
    }
    return tokens;
  };

  // Thread tid owns 16 weights of row tid / 2, columns 16 (tid % 2) + [0, 16)
  // of each step.
  Value wRow = m.div(tid, m.c(2)), wHalf = m.rem(tid, m.c(2));
  Value wCol = m.add(col0, wRow);
  VectorType rawType = int4 ? VectorType::get({2}, b.getI32Type())
                            : VectorType::get({16}, b.getI8Type());
  auto loadWeights = [&](Value step) {
    Value k = m.add(m.mul(step, m.c(kTileK)), m.mul(wHalf, m.c(16)));
    Value valid = andI1(b, m.lt(wCol, p.N), m.lt(k, p.K));
    if (!int4)
      return loadVectorIf(b, valid, rawType, p.w, m.add(m.mul(wCol, p.K), k), 16);
    // Columns k + [0, 16) are lane t = (k % 64) / 16 of slice h = (k % 128)
    // / 64 of chunk k / 128: words 2h, 2h + 1 of that lane's 16 bytes.
    Value chunk = m.div(k, m.c(kPackChunk));
    Value slice = m.div(m.rem(k, m.c(kPackChunk)), m.c(64));
    Value quarter = m.div(m.rem(k, m.c(64)), m.c(16));
    Value packLane =
        m.add(m.mul(m.rem(wCol, m.c(kPackRows)), m.c(4)), quarter);
    Value block = m.add(m.mul(m.div(wCol, m.c(kPackRows)), p.chunks), chunk);
    Value index = m.add(
        m.mul(m.add(m.mul(block, m.c(kLanes)), packLane), m.c(4)),
        m.mul(slice, m.c(2)));
    return loadVectorIf(b, valid, rawType, p.w, index, 8);
  };
  Dequantizer dq{b, element, int4};
  auto storeWeights = [&](Value raw, Value step, Value stage) {
    Value k = m.add(m.mul(step, m.c(kTileK)), m.mul(wHalf, m.c(16)));
    // The scale of the 16 weights (groups are multiples of 64); columns
    // beyond N or K use a scale in range and are never read.
    Value col = m.min(wCol, m.sub(p.N, m.c(1)));
    Value group = groupSize > 0
                      ? m.min(m.div(k, m.c(groupSize)),
                              m.sub(p.groups, m.c(1)))
                      : m.c(0);
    Value scale = arith::TruncFOp::create(
        b, element, kb.load(p.scales, m.add(m.mul(col, p.groups), group)));
    Value scales = vector::BroadcastOp::create(
        b, VectorType::get({2}, element), scale);
    SmallVector<Value> words;
    for (Value pair : dq.pairs(toWords(b, raw)))
      words.push_back(
          toWords(b, arith::MulFOp::create(b, pair, scales))[0]);
    Value values = vector::BitCastOp::create(
        b, VectorType::get({16}, element),
        vector::FromElementsOp::create(
            b, VectorType::get({8}, b.getI32Type()), words));
    Value dst = m.add(m.mul(stage, m.c(kStageW)),
                      m.add(m.mul(wRow, m.c(kTileStride)),
                            m.mul(wHalf, m.c(16))));
    vector::StoreOp::create(b, values, ws, ValueRange{dst},
                            /*nontemporal=*/false, llvm::Align(16));
  };

  // The warp's 16 accumulators: m-block i (16 rows), n-tile j (8 columns).
  auto accType = VectorType::get({2, 2}, f32);
  constexpr int64_t kTilesM = kWarpTileM / 16, kTilesN = kWarpTileN / 8;
  auto compute = [&](Value stage, SmallVector<Value> acc) {
    SharedTile xTile{xs, m.mul(stage, m.c(kStageX)), kTileStride};
    SharedTile wTile{ws, m.mul(stage, m.c(kStageW)), kTileStride};
    return mmaWarpTile(b, lane, xTile, wTile, warpRow, warpCol, m.c(0),
                       kTilesM, kTilesN, kTileK, std::move(acc));
  };

  // Prologue: step 0's activations and weights.
  Value firstGroup = nvgpu::DeviceAsyncCreateGroupOp::create(
      b, tokenType, copyActivations(m.c(0), m.c(0)));
  SmallVector<Value> init(kTilesM * kTilesN, zerosOf(b, accType));
  init.push_back(loadWeights(m.c(0)));
  SmallVector<Value> loop = buildFor(
      b, m.c(0), steps, init,
      [&](ImplicitLocOpBuilder &b, Value step, ValueRange args) {
        Value stage = m.rem(step, m.c(kStages));
        Value nextStage = m.rem(m.add(step, m.c(1)), m.c(kStages));
        // Stage `stage` was last read two steps ago and `nextStage` one step
        // ago, both before the barrier that ended the previous step.
        storeWeights(args.back(), step, stage);
        Value next = m.add(step, m.c(1));
        Value hasNext = m.lt(next, steps);
        buildIfThen(b, hasNext, [&](ImplicitLocOpBuilder &) {
          copyActivations(next, nextStage);
        });
        // Every step commits a group (empty on the last), so that "all but
        // the newest group" is always this step's activations.
        Value group = nvgpu::DeviceAsyncCreateGroupOp::create(b, tokenType,
                                                              ValueRange{});
        Value nextWeights = buildIf(
            b, hasNext, TypeRange{rawType},
            [&](ImplicitLocOpBuilder &) {
              return SmallVector<Value>{loadWeights(next)};
            },
            [&](ImplicitLocOpBuilder &b) {
              return SmallVector<Value>{zerosOf(b, rawType)};
            })[0];
        nvgpu::DeviceAsyncWaitOp::create(b, group, b.getI32IntegerAttr(1));
        gpu::BarrierOp::create(b);
        SmallVector<Value> acc =
            compute(stage, SmallVector<Value>(args.drop_back()));
        gpu::BarrierOp::create(b);
        acc.push_back(nextWeights);
        return acc;
      });
  // Without any step (K = 0) the prologue's copies still need a wait.
  nvgpu::DeviceAsyncWaitOp::create(b, firstGroup, b.getI32IntegerAttr(0));

  // Lane (g, t) holds rows g and g + 8, columns 2t and 2t + 1 of each tile:
  // pairs of adjacent outputs, stored as one 4-byte vector when N is even
  // (and the pair therefore aligned).
  auto pairType = VectorType::get({2}, element);
  Value evenN = cmpIndex(b, Pred::eq, m.rem(p.N, m.c(2)), m.c(0));
  for (int64_t j = 0; j < kTilesN; ++j) {
    Value col = m.add(m.add(col0, warpCol),
                      m.add(m.c(8 * j), m.mul(t, m.c(2))));
    Value bias[2];
    for (int64_t e = 0; e < 2; ++e) {
      Value c = m.add(col, m.c(e));
      bias[e] = f32Const(b, 0.0);
      if (p.bias)
        bias[e] = buildIf(
            b, m.lt(c, p.N), TypeRange{b.getF32Type()},
            [&](ImplicitLocOpBuilder &b) {
              return SmallVector<Value>{toF32(b, kb.load(p.bias, c))};
            },
            [&](ImplicitLocOpBuilder &b) {
              return SmallVector<Value>{f32Const(b, 0.0)};
            })[0];
    }
    for (int64_t i = 0; i < kTilesM; ++i) {
      Value acc = loop[i * kTilesN + j];
      for (int64_t r = 0; r < 2; ++r) {
        Value row = m.add(m.add(row0, warpRow),
                          m.add(m.c(16 * i + 8 * r), g));
        Value values[2];
        for (int64_t e = 0; e < 2; ++e)
          values[e] = fromF32(
              b,
              arith::AddFOp::create(
                  b,
                  vector::ExtractOp::create(b, acc, ArrayRef<int64_t>{r, e}),
                  bias[e]),
              element);
        Value index = m.add(m.mul(row, p.N), col);
        Value whole = andI1(b, andI1(b, m.lt(row, p.M),
                                     m.lt(m.add(col, m.c(1)), p.N)),
                            evenN);
        buildIf(
            b, whole, TypeRange{},
            [&](ImplicitLocOpBuilder &b) {
              Value pair = vector::FromElementsOp::create(
                  b, pairType, ValueRange{values[0], values[1]});
              vector::StoreOp::create(b, pair, p.out, ValueRange{index},
                                      /*nontemporal=*/false, llvm::Align(4));
              return SmallVector<Value>{};
            },
            [&](ImplicitLocOpBuilder &b) {
              for (int64_t e = 0; e < 2; ++e) {
                Value c = m.add(col, m.c(e));
                kb.ifThen(andI1(b, m.lt(row, p.M), m.lt(c, p.N)), [&] {
                  kb.store(values[e], p.out, m.add(index, m.c(e)));
                });
              }
              return SmallVector<Value>{};
            });
      }
    }
  }

  kb.countWork(steps);
  };
  if (Value active = isTileActive(kb, row0, m.c(kTileM), p.M))
    kb.ifThen(active, body);
  else
    body();

  KernelDecl kernel = kb.finish();
  LaunchDecl launch;
  launch.kernel = kernel.name;
  launch.grid = {SizeExpr::ceilDiv(binding.rows, kTileM) * gridFactor,
                 SizeExpr::ceilDiv(binding.outLen, kTileN), 1};
  launch.block = {kTiledThreads, 1, 1};
  launch.args = matmulArgs();
  bundle.addKernel(kernel);
  bundle.launch(op, std::move(launch));
}

std::optional<QMatmulBinding::RowSkip>
mlir::sieve::getQMatmulRowSkip(QMatmulOp op, BundleBuilder &bundle) {
  std::optional<RowLimit> limit = bundle.getRowLimit(op.getResult());
  int64_t rank = op.getResult().getType().getRank();
  // Rows flatten as m = b * S + s for [B, S, N] (count[b]) or [S, N]
  // (count[0]).
  if (!limit || limit->rowDim != rank - 2 ||
      !(limit->batchDim == 0 ? rank == 3 : limit->batchDim < 0 && rank == 2))
    return std::nullopt;
  return QMatmulBinding::RowSkip{&bundle.get(limit->count),
                                 bundle.dim(op.getResult(), rank - 2)};
}

LogicalResult mlir::sieve::buildTensorCoreQMatmul(
    QMatmulOp op, BundleBuilder &bundle, const QMatmulBinding &binding) {
  QMatmulKernels kernels{op, bundle, binding};
  kernels.element = op.getInput().getType().getElementType();
  kernels.int4 = isInt4(op);
  kernels.groupSize = static_cast<int64_t>(op.getGroupSize());
  kernels.chunks = SizeExpr::ceilDiv(binding.reduceLen, kPackChunk);
  if (kernels.int4) {
    kernels.buildPack();
  } else {
    kernels.weightBuffer = binding.weights->buffer;
    kernels.weightDType = binding.weights->dtype;
  }

  // M <= 16 takes the decode kernel, M > 16 the tiled one. With a dynamic
  // M both are launched and the grid of the one M does not select is empty:
  // small = 1 for 1 <= M <= 16, else 0.
  SizeExpr M = binding.rows;
  if (std::optional<int64_t> rows = M.getConstant()) {
    if (*rows <= kDecodeMaxRows)
      kernels.buildDecode(1);
    else
      kernels.buildTiled(1);
    return success();
  }
  SizeExpr overflow = SizeExpr::max(0, M - kDecodeMaxRows);
  SizeExpr small = SizeExpr::min(M, 1) * SizeExpr::max(0, 1 - overflow);
  SizeExpr large = SizeExpr::min(1, overflow);
  kernels.buildDecode(small);
  kernels.buildTiled(large);
  return success();
}
