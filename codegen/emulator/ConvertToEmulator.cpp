//===- ConvertToEmulator.cpp - GPU kernels as host code, one thread each --===//
//
// Turns every kernel of a gpu.module into a host function that runs ONE CUDA
// thread and calls the SIMT emulator's C ABI (runtime/include/sieve/
// emulator.h) for what only a GPU has. The conversion happens at the
// gpu/nvgpu level, where memory accesses are still memrefs with indices, so
// every access can be bounds-checked; after NVVM lowering they would be raw
// pointers.
//
//   gpu.thread_id & co.          calls of sieve_emu_thread_id & co.
//   gpu.barrier                  sieve_emu_barrier(site)
//   gpu.shuffle                  sieve_emu_shuffle(site, ...)
//   workgroup attributions,      views into the block's shared memory, passed
//   gpu.dynamic_shared_memory    as two extra memref<?xi8> parameters
//   nvgpu.ldmatrix, mma.sync     warp rendezvous calls; fragments through
//                                small stack buffers
//   nvgpu.device_async_copy &co  sieve_emu_cp_async / _commit / _wait
//   KernelBuilder::opaque's asm  its operand
//   wgmma (nvvm.wgmma.* and the  sieve_emu_wgmma / _fence / _commit / _wait;
//   tagged register-A asm),      D through a stack buffer; fenceRegisters'
//   fence.proxy.async            asm is the identity
//   nvvm.mbarrier.*, TMA loads   sieve_emu_mbarrier_* / sieve_emu_tma_load on
//                                the addresses their pointers were made from
//   nvvm.barrier (named),        sieve_emu_named_barrier / sieve_emu_setmaxnreg
//   barrier.arrive, setmaxnreg
//   memref/vector loads, stores  preceded by bounds (and alignment) checks,
//                                and, in shared memory, race-check calls
//
// "site" strings name the op, its location and kernel for the emulator's
// messages. Any op without an emulation is an error naming it.
//
//===----------------------------------------------------------------------===//

#include "codegen/emulator/Emulator.h"

#include "codegen/KernelBuilder.h"

#include "passes/ScalarCode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::sieve;

namespace {
/// The ABI functions, declared once per module.
class EmulatorAbi {
public:
  EmulatorAbi(ModuleOp module) : module(module) {}

  func::FuncOp get(StringRef name, ArrayRef<Type> inputs,
                   ArrayRef<Type> results) {
    if (auto fn = module.lookupSymbol<func::FuncOp>(name))
      return fn;
    OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
    auto fn = func::FuncOp::create(
        builder, module.getLoc(), name,
        builder.getFunctionType(inputs, results));
    fn.setPrivate();
    return fn;
  }

  /// A pointer to a NUL-terminated string constant, shared between uses.
  Value string(ImplicitLocOpBuilder &b, StringRef text) {
    auto it = strings.find(text);
    LLVM::GlobalOp global;
    if (it != strings.end()) {
      global = it->second;
    } else {
      OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
      std::string value = text.str();
      value.push_back('\0');
      auto type = LLVM::LLVMArrayType::get(builder.getI8Type(), value.size());
      global = LLVM::GlobalOp::create(
          builder, module.getLoc(), type, /*isConstant=*/true,
          LLVM::Linkage::Internal,
          "__sieve_emu_string_" + std::to_string(strings.size()),
          builder.getStringAttr(value));
      strings[text] = global;
    }
    return LLVM::AddressOfOp::create(b, global);
  }

private:
  ModuleOp module;
  llvm::StringMap<LLVM::GlobalOp> strings;
};

/// Converts one kernel.
class KernelConverter {
public:
  KernelConverter(EmulatorAbi &abi, func::FuncOp fn, StringRef kernelName)
      : abi(abi), fn(fn), kernelName(kernelName),
        ptrType(LLVM::LLVMPointerType::get(fn.getContext())),
        i32(IntegerType::get(fn.getContext(), 32)),
        i64(IntegerType::get(fn.getContext(), 64)) {}

  void setSharedMemory(Value shared, Value dynamicShared) {
    this->shared = shared;
    this->dynamicShared = dynamicShared;
  }
  LogicalResult convert();

private:
  Value site(ImplicitLocOpBuilder &b, Operation *op);
  Value callAbi(ImplicitLocOpBuilder &b, StringRef name, ValueRange args,
                ArrayRef<Type> results);
  Value toI64(ImplicitLocOpBuilder &b, Value index);
  bool isShared(Value memref);
  /// The address of memref[indices] as an i64.
  Value address(ImplicitLocOpBuilder &b, Value memref, ValueRange indices);
  /// Bounds-checks memref[indices] with `extent` elements along the last
  /// dimension (a vector, an ldmatrix row).
  void checkBounds(ImplicitLocOpBuilder &b, Operation *op, Value memref,
                   ValueRange indices, int64_t extent);
  /// Checks the alignment of an access and reports races in shared memory.
  void checkAccess(ImplicitLocOpBuilder &b, Operation *op, Value memref,
                   ValueRange indices, int64_t bytes, bool isWrite,
                   std::optional<uint64_t> alignment);
  /// A stack buffer holding `vector` as i32 words; returns its address.
  Value spill(ImplicitLocOpBuilder &b, Value vector);
  Value reload(ImplicitLocOpBuilder &b, Value words, VectorType type);

  LogicalResult convertOp(Operation *op);
  /// A stack buffer holding `values` (f32 or i32) as i32 words, and the
  /// struct of type `type` rebuilt from such a buffer.
  Value spillWords(ImplicitLocOpBuilder &b, ValueRange values);
  Value reloadStruct(ImplicitLocOpBuilder &b, Value buffer, Type type);
  Value buildStruct(ImplicitLocOpBuilder &b, Type type, ValueRange values);
  /// sieve_emu_wgmma for D (struct `accumulators`) and the rest of the
  /// arguments; returns the struct of the new D.
  Value callWgmma(ImplicitLocOpBuilder &b, Operation *op, Value accumulators,
                  int32_t n, int32_t abType, int32_t cdType, Value aBuffer,
                  Value descA, Value descB, int32_t transA, int32_t transB,
                  Value scaleD);
  LogicalResult convertRegisterAWgmma(ImplicitLocOpBuilder &b,
                                      LLVM::InlineAsmOp op,
                                      DenseI32ArrayAttr wgmma);
  LogicalResult convertSharedAWgmma(ImplicitLocOpBuilder &b,
                                    NVVM::WgmmaMmaAsyncOp op);
  /// The address (i64) an NVVM op's pointer operand holds: kernels make
  /// their shared-memory and tensor-map pointers with llvm.inttoptr of an
  /// address (KernelBuilder::tensorMap, sharedPointer), which in the
  /// emulator is a host address. Null for any other pointer.
  Value pointerAddress(Operation *op, Value pointer);
  LogicalResult unsupportedPointerOp(Operation *op);

  EmulatorAbi &abi;
  func::FuncOp fn;
  std::string kernelName;
  Type ptrType, i32, i64;
  Value shared, dynamicShared;
};
} // namespace

Value KernelConverter::site(ImplicitLocOpBuilder &b, Operation *op) {
  return abi.string(b, formatLocation(op->getLoc()) + " " +
                           op->getName().getStringRef().str() +
                           " in kernel " + kernelName);
}

Value KernelConverter::callAbi(ImplicitLocOpBuilder &b, StringRef name,
                               ValueRange args, ArrayRef<Type> results) {
  SmallVector<Type> inputs(args.getTypes());
  func::FuncOp callee = abi.get(name, inputs, results);
  auto call = func::CallOp::create(b, callee, args);
  return results.empty() ? Value() : call.getResult(0);
}

Value KernelConverter::toI64(ImplicitLocOpBuilder &b, Value index) {
  return arith::IndexCastOp::create(b, i64, index);
}

bool KernelConverter::isShared(Value memref) {
  while (memref) {
    if (memref == shared || memref == dynamicShared)
      return true;
    auto view = memref.getDefiningOp<ViewLikeOpInterface>();
    if (!view)
      return false;
    memref = view.getViewSource();
  }
  return false;
}

Value KernelConverter::address(ImplicitLocOpBuilder &b, Value memref,
                               ValueRange indices) {
  auto type = cast<MemRefType>(memref.getType());
  auto metadata = memref::ExtractStridedMetadataOp::create(b, memref);
  Value linear = metadata.getOffset();
  for (auto [index, stride] : llvm::zip(indices, metadata.getStrides()))
    linear = arith::AddIOp::create(b, linear,
                                   arith::MulIOp::create(b, index, stride));
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, memref);
  int64_t elementBytes =
      std::max<int64_t>(type.getElementTypeBitWidth() / 8, 1);
  Value bytes = arith::MulIOp::create(b, linear, indexConst(b, elementBytes));
  return toI64(b, arith::AddIOp::create(b, base, bytes));
}

void KernelConverter::checkBounds(ImplicitLocOpBuilder &b, Operation *op,
                                  Value memref, ValueRange indices,
                                  int64_t extent) {
  Value where = site(b, op);
  for (auto [dim, index] : llvm::enumerate(indices)) {
    Value size = memref::DimOp::create(b, memref, dim);
    int64_t span = dim + 1 == indices.size() ? extent : 1;
    Value end = arith::AddIOp::create(b, index, indexConst(b, span));
    Value ok = andI1(b, cmpIndex(b, arith::CmpIPredicate::sge, index,
                                 indexConst(b, 0)),
                     cmpIndex(b, arith::CmpIPredicate::sle, end, size));
    buildIfThen(b, notI1(b, ok), [&](ImplicitLocOpBuilder &b) {
      std::string message = "index out of bounds in dimension " +
                            std::to_string(dim) + " of a " +
                            (isShared(memref) ? "shared" : "global") +
                            " memory buffer";
      if (span > 1)
        message += " (an access of " + std::to_string(span) + " elements)";
      callAbi(b, "sieve_emu_fail",
              {where, abi.string(b, message), toI64(b, index),
               toI64(b, size)},
              {});
    });
  }
}

void KernelConverter::checkAccess(ImplicitLocOpBuilder &b, Operation *op,
                                  Value memref, ValueRange indices,
                                  int64_t bytes, bool isWrite,
                                  std::optional<uint64_t> alignment) {
  bool sharedAccess = isShared(memref);
  if (!sharedAccess && !alignment)
    return;
  Value addr = address(b, memref, indices);
  if (alignment && *alignment > 1) {
    Value misaligned = arith::RemUIOp::create(
        b, addr,
        arith::ConstantIntOp::create(b, i64,
                                     static_cast<int64_t>(*alignment)));
    Value ok = arith::CmpIOp::create(
        b, arith::CmpIPredicate::eq, misaligned,
        arith::ConstantIntOp::create(b, i64, 0));
    buildIfThen(b, notI1(b, ok), [&](ImplicitLocOpBuilder &b) {
      callAbi(b, "sieve_emu_fail",
              {site(b, op),
               abi.string(b, "misaligned vector access (address modulo "
                             "alignment)"),
               misaligned,
               arith::ConstantIntOp::create(b, i64,
                                            static_cast<int64_t>(*alignment))},
              {});
    });
  }
  if (sharedAccess)
    callAbi(b, "sieve_emu_shared_access",
            {site(b, op), addr, arith::ConstantIntOp::create(b, i64, bytes),
             arith::ConstantIntOp::create(b, i32, isWrite ? 1 : 0)},
            {});
}

Value KernelConverter::spill(ImplicitLocOpBuilder &b, Value vector) {
  auto type = cast<VectorType>(vector.getType());
  int64_t bits = type.getNumElements() * type.getElementTypeBitWidth();
  auto flat = VectorType::get({type.getNumElements()}, type.getElementType());
  Value words = vector::BitCastOp::create(
      b, VectorType::get({bits / 32}, i32),
      vector::ShapeCastOp::create(b, flat, vector));
  auto bufferType = MemRefType::get({bits / 32}, i32);
  Value buffer = memref::AllocaOp::create(b, bufferType);
  vector::StoreOp::create(b, words, buffer, ValueRange{indexConst(b, 0)});
  return buffer;
}

Value KernelConverter::reload(ImplicitLocOpBuilder &b, Value buffer,
                              VectorType type) {
  auto bufferType = cast<MemRefType>(buffer.getType());
  Value words = vector::LoadOp::create(
      b, VectorType::get(bufferType.getShape(), i32), buffer,
      ValueRange{indexConst(b, 0)});
  auto flat = VectorType::get({type.getNumElements()}, type.getElementType());
  return vector::ShapeCastOp::create(
      b, type, vector::BitCastOp::create(b, flat, words));
}

/// The address of a stack buffer as an i64, for the ABI's pointer arguments.
static Value bufferAddress(ImplicitLocOpBuilder &b, Value buffer) {
  return arith::IndexCastOp::create(
      b, b.getI64Type(),
      memref::ExtractAlignedPointerAsIndexOp::create(b, buffer));
}

Value KernelConverter::spillWords(ImplicitLocOpBuilder &b, ValueRange values) {
  Value buffer = memref::AllocaOp::create(
      b, MemRefType::get({static_cast<int64_t>(values.size())}, i32));
  for (auto [i, value] : llvm::enumerate(values)) {
    Value word = value.getType().isInteger(32)
                     ? value
                     : arith::BitcastOp::create(b, i32, value).getResult();
    memref::StoreOp::create(b, word, buffer, ValueRange{indexConst(b, i)});
  }
  return buffer;
}

Value KernelConverter::buildStruct(ImplicitLocOpBuilder &b, Type type,
                                   ValueRange values) {
  Value result = LLVM::UndefOp::create(b, type);
  for (auto [i, value] : llvm::enumerate(values))
    result = LLVM::InsertValueOp::create(b, result, value, i);
  return result;
}

Value KernelConverter::reloadStruct(ImplicitLocOpBuilder &b, Value buffer,
                                    Type type) {
  auto body = cast<LLVM::LLVMStructType>(type).getBody();
  SmallVector<Value> values;
  for (auto [i, elementType] : llvm::enumerate(body)) {
    Value word =
        memref::LoadOp::create(b, buffer, ValueRange{indexConst(b, i)});
    values.push_back(
        elementType.isInteger(32)
            ? word
            : arith::BitcastOp::create(b, elementType, word).getResult());
  }
  return buildStruct(b, type, values);
}

Value KernelConverter::callWgmma(ImplicitLocOpBuilder &b, Operation *op,
                                 Value accumulators, int32_t n, int32_t abType,
                                 int32_t cdType, Value aBuffer, Value descA,
                                 Value descB, int32_t transA, int32_t transB,
                                 Value scaleD) {
  Type type = accumulators.getType();
  SmallVector<Value> values;
  for (int64_t i = 0, e = cast<LLVM::LLVMStructType>(type).getBody().size();
       i < e; ++i)
    values.push_back(LLVM::ExtractValueOp::create(b, accumulators, i));
  Value d = spillWords(b, values);
  auto constant = [&](int32_t value) {
    return arith::ConstantIntOp::create(b, i32, value).getResult();
  };
  Value zero64 = arith::ConstantIntOp::create(b, i64, 0);
  callAbi(b, "sieve_emu_wgmma",
          {site(b, op), constant(n), constant(abType), constant(cdType),
           aBuffer ? bufferAddress(b, aBuffer) : zero64, descA ? descA : zero64,
           descB, constant(transA), constant(transB), scaleD,
           bufferAddress(b, d)},
          {});
  return reloadStruct(b, d, type);
}

LogicalResult KernelConverter::convertRegisterAWgmma(ImplicitLocOpBuilder &b,
                                                     LLVM::InlineAsmOp op,
                                                     DenseI32ArrayAttr wgmma) {
  // Operands: D (n / 2), A (4), B's descriptor, scale-d.
  ArrayRef<int32_t> info = wgmma.asArrayRef();
  int64_t registers = info.size() == 3 ? info[0] / 2 : -1;
  if (registers <= 0 ||
      static_cast<int64_t>(op.getNumOperands()) != registers + 6)
    return op.emitError("malformed ") << kWgmmaAttrName << " inline assembly";
  ValueRange operands = op.getOperands();
  Type type = op.getResult(0).getType();
  Value accumulators = buildStruct(b, type, operands.take_front(registers));
  Value a = spillWords(b, operands.slice(registers, 4));
  // s8 accumulates in s32, the rest in f32.
  int32_t cdType = info[1] == 2 ? 4 : 3;
  Value result =
      callWgmma(b, op, accumulators, info[0], info[1], cdType, a, Value(),
                operands[registers + 4], 0, info[2], operands[registers + 5]);
  op.getResult(0).replaceAllUsesWith(result);
  op->erase();
  return success();
}

LogicalResult KernelConverter::convertSharedAWgmma(ImplicitLocOpBuilder &b,
                                                   NVVM::WgmmaMmaAsyncOp op) {
  auto emulatorType = [](NVVM::WGMMATypes type) -> int32_t {
    switch (type) {
    case NVVM::WGMMATypes::f16:
      return 0;
    case NVVM::WGMMATypes::bf16:
      return 1;
    case NVVM::WGMMATypes::s8:
      return 2;
    case NVVM::WGMMATypes::f32:
      return 3;
    case NVVM::WGMMATypes::s32:
      return 4;
    case NVVM::WGMMATypes::e4m3:
      return 5;
    default:
      return -1;
    }
  };
  int32_t abType = emulatorType(op.getTypeA()),
          cdType = emulatorType(op.getTypeD());
  NVVM::MMAShapeAttr shape = op.getShape();
  if (abType < 0 || cdType < 0 || op.getTypeB() != op.getTypeA() ||
      shape.getM() != 64 || op.getScaleA() != NVVM::WGMMAScaleIn::one ||
      op.getScaleB() != NVVM::WGMMAScaleIn::one || op.getSatfinite())
    return op.emitError("the SIMT emulator runs wgmma of f16, bf16, s8 or "
                        "e4m3 operands, m64, without negation or satfinite");
  // "row" A and "col" B are K-major.
  int32_t transA = op.getLayoutA() == NVVM::MMALayout::col;
  int32_t transB = op.getLayoutB() == NVVM::MMALayout::row;
  Value scaleD = arith::ConstantIntOp::create(
      b, i32, op.getScaleD() == NVVM::WGMMAScaleOut::one ? 1 : 0);
  Value result = callWgmma(b, op, op.getInouts(), shape.getN(), abType, cdType,
                           Value(), op.getDescriptorA(), op.getDescriptorB(),
                           transA, transB, scaleD);
  op.getResults().replaceAllUsesWith(result);
  op->erase();
  return success();
}

Value KernelConverter::pointerAddress(Operation *op, Value pointer) {
  auto cast = pointer.getDefiningOp<LLVM::IntToPtrOp>();
  if (!cast || !cast.getArg().getType().isInteger(64))
    return Value();
  return cast.getArg();
}

LogicalResult KernelConverter::unsupportedPointerOp(Operation *op) {
  return op->emitError() << "the SIMT emulator runs '" << op->getName()
                         << "' only on pointers made by llvm.inttoptr of an "
                            "i64 address, without predicate, result, "
                            "multicast, cache hint or im2col (kernel "
                         << kernelName << ")";
}

LogicalResult KernelConverter::convertOp(Operation *op) {
  ImplicitLocOpBuilder b(op->getLoc(), op);
  auto dimIndex = [&](gpu::Dimension dim) {
    return arith::ConstantIntOp::create(b, i32,
                                        static_cast<int64_t>(dim))
        .getResult();
  };
  auto replaceWithId = [&](StringRef abiName, gpu::Dimension dim) {
    Value id = callAbi(b, abiName, {dimIndex(dim)}, {i64});
    op->getResult(0).replaceAllUsesWith(
        arith::IndexCastOp::create(b, b.getIndexType(), id).getResult());
    op->erase();
    return success();
  };

  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](func::CallOp call) -> LogicalResult {
        // The only function kernels call; it is part of the emulator's ABI.
        if (call.getCallee() != kCountWorkFunction)
          return call.emitError() << "the SIMT emulator cannot call '"
                                  << call.getCallee() << "' (kernel "
                                  << kernelName << ")";
        callAbi(b, kCountWorkFunction, call.getOperands(), {});
        op->erase();
        return success();
      })
      .Case([&](gpu::ThreadIdOp id) -> LogicalResult {
        return replaceWithId("sieve_emu_thread_id", id.getDimension());
      })
      .Case([&](gpu::BlockIdOp id) -> LogicalResult {
        return replaceWithId("sieve_emu_block_id", id.getDimension());
      })
      .Case([&](gpu::BlockDimOp id) -> LogicalResult {
        return replaceWithId("sieve_emu_block_dim", id.getDimension());
      })
      .Case([&](gpu::GridDimOp id) -> LogicalResult {
        return replaceWithId("sieve_emu_grid_dim", id.getDimension());
      })
      .Case([&](gpu::LaneIdOp) -> LogicalResult {
        Value id = callAbi(b, "sieve_emu_lane_id", {}, {i64});
        op->getResult(0).replaceAllUsesWith(
            arith::IndexCastOp::create(b, b.getIndexType(), id).getResult());
        op->erase();
        return success();
      })
      .Case([&](gpu::BarrierOp) -> LogicalResult {
        callAbi(b, "sieve_emu_barrier", {site(b, op)}, {});
        op->erase();
        return success();
      })
      .Case([&](gpu::ShuffleOp shuffle) -> LogicalResult {
        Type type = shuffle.getValue().getType();
        if (type.getIntOrFloatBitWidth() != 32)
          return op->emitError("the SIMT emulator shuffles 32-bit values, "
                               "found ")
                 << type;
        Value bits = shuffle.getValue();
        if (!type.isInteger(32))
          bits = arith::BitcastOp::create(b, i32, bits);
        Value validBuffer =
            memref::AllocaOp::create(b, MemRefType::get({1}, i32));
        int32_t mode = static_cast<int32_t>(shuffle.getMode());
        Value result = callAbi(
            b, "sieve_emu_shuffle",
            {site(b, op), arith::ConstantIntOp::create(b, i32, mode), bits,
             shuffle.getOffset(), shuffle.getWidth(),
             bufferAddress(b, validBuffer)},
            {i32});
        if (!type.isInteger(32))
          result = arith::BitcastOp::create(b, type, result);
        Value valid = arith::CmpIOp::create(
            b, arith::CmpIPredicate::ne,
            memref::LoadOp::create(b, validBuffer,
                                   ValueRange{indexConst(b, 0)}),
            arith::ConstantIntOp::create(b, i32, 0));
        shuffle.getShuffleResult().replaceAllUsesWith(result);
        shuffle.getValid().replaceAllUsesWith(valid);
        op->erase();
        return success();
      })
      .Case([&](gpu::DynamicSharedMemoryOp) -> LogicalResult {
        op->getResult(0).replaceAllUsesWith(dynamicShared);
        op->erase();
        return success();
      })
      .Case([&](LLVM::InlineAsmOp inlineAsm) -> LogicalResult {
        // KernelBuilder::opaque: an optimization barrier, the identity.
        if (isOpaqueMove(op)) {
          inlineAsm.getResult(0).replaceAllUsesWith(inlineAsm.getOperand(0));
          op->erase();
          return success();
        }
        // fenceRegisters: the identity on a struct of its operands.
        if (isRegisterFence(op)) {
          inlineAsm.getResult(0).replaceAllUsesWith(buildStruct(
              b, inlineAsm.getResult(0).getType(), inlineAsm.getOperands()));
          op->erase();
          return success();
        }
        if (auto wgmma = op->getAttrOfType<DenseI32ArrayAttr>(kWgmmaAttrName))
          return convertRegisterAWgmma(b, inlineAsm, wgmma);
        return op->emitError() << "the SIMT emulator cannot run inline "
                                  "assembly (kernel "
                               << kernelName << ")";
      })
      .Case([&](NVVM::WgmmaFenceAlignedOp) -> LogicalResult {
        callAbi(b, "sieve_emu_wgmma_fence", {site(b, op)}, {});
        op->erase();
        return success();
      })
      .Case([&](NVVM::WgmmaGroupSyncAlignedOp) -> LogicalResult {
        callAbi(b, "sieve_emu_wgmma_commit", {site(b, op)}, {});
        op->erase();
        return success();
      })
      .Case([&](NVVM::WgmmaWaitGroupSyncOp wait) -> LogicalResult {
        callAbi(
            b, "sieve_emu_wgmma_wait",
            {site(b, op), arith::ConstantIntOp::create(
                              b, i32, static_cast<int64_t>(wait.getGroup()))},
            {});
        op->erase();
        return success();
      })
      .Case([&](NVVM::FenceProxyOp fence) -> LogicalResult {
        bool sharedCta = !fence.getSpace() ||
                         *fence.getSpace() == NVVM::SharedSpace::shared_cta;
        if (fence.getKind() != NVVM::ProxyKind::async_shared || !sharedCta)
          return op->emitError("the SIMT emulator has only the "
                               "fence.proxy.async.shared::cta proxy fence");
        callAbi(b, "sieve_emu_fence_proxy_async", {site(b, op)}, {});
        op->erase();
        return success();
      })
      .Case([&](NVVM::WgmmaMmaAsyncOp wgmma) -> LogicalResult {
        return convertSharedAWgmma(b, wgmma);
      })
      .Case([&](NVVM::BarrierOp barrier) -> LogicalResult {
        // Without operands it is gpu.barrier's bar.sync 0.
        if (barrier.getReductionOp() || barrier.getRes())
          return op->emitError("the SIMT emulator has no barrier reductions");
        if (!barrier.getBarrierId() && !barrier.getNumberOfThreads()) {
          callAbi(b, "sieve_emu_barrier", {site(b, op)}, {});
        } else {
          if (!barrier.getBarrierId() || !barrier.getNumberOfThreads())
            return op->emitError("the SIMT emulator runs named barriers "
                                 "with both an id and a thread count");
          callAbi(b, "sieve_emu_named_barrier",
                  {site(b, op), barrier.getBarrierId(),
                   barrier.getNumberOfThreads(),
                   arith::ConstantIntOp::create(b, i32, 1)},
                  {});
        }
        op->erase();
        return success();
      })
      .Case([&](NVVM::BarrierArriveOp arrive) -> LogicalResult {
        Value id = arrive.getBarrierId()
                       ? arrive.getBarrierId()
                       : arith::ConstantIntOp::create(b, i32, 0).getResult();
        callAbi(b, "sieve_emu_named_barrier",
                {site(b, op), id, arrive.getNumberOfThreads(),
                 arith::ConstantIntOp::create(b, i32, 0)},
                {});
        op->erase();
        return success();
      })
      .Case([&](NVVM::SetMaxRegisterOp setmaxnreg) -> LogicalResult {
        bool increase =
            setmaxnreg.getAction() == NVVM::SetMaxRegisterAction::increase;
        callAbi(b, "sieve_emu_setmaxnreg",
                {site(b, op),
                 arith::ConstantIntOp::create(b, i32, setmaxnreg.getRegCount()),
                 arith::ConstantIntOp::create(b, i32, increase ? 1 : 0)},
                {});
        op->erase();
        return success();
      })
      .Case([&](NVVM::FenceProxyAcquireOp fence) -> LogicalResult {
        // Orders host writes of a tensor map before its use by TMA; the
        // emulator reads maps as plain host memory, written before the
        // launch.
        if (fence.getFromProxy() != NVVM::ProxyKind::GENERIC ||
            fence.getToProxy() != NVVM::ProxyKind::TENSORMAP ||
            !pointerAddress(op, fence.getAddr()))
          return unsupportedPointerOp(op);
        op->erase();
        return success();
      })
      .Case([&](NVVM::MBarrierInitOp init) -> LogicalResult {
        Value barrier = pointerAddress(op, init.getAddr());
        if (!barrier || init.getPredicate())
          return unsupportedPointerOp(op);
        callAbi(b, "sieve_emu_mbarrier_init",
                {site(b, op), barrier, init.getCount()}, {});
        op->erase();
        return success();
      })
      .Case([&](NVVM::MBarrierArriveExpectTxOp arrive) -> LogicalResult {
        Value barrier = pointerAddress(op, arrive.getAddr());
        if (!barrier || arrive.getPredicate() || arrive.getRes())
          return unsupportedPointerOp(op);
        callAbi(b, "sieve_emu_mbarrier_arrive",
                {site(b, op), barrier, arrive.getTxcount()}, {});
        op->erase();
        return success();
      })
      .Case([&](NVVM::MBarrierTryWaitParityOp wait) -> LogicalResult {
        Value barrier = pointerAddress(op, wait.getAddr());
        if (!barrier)
          return unsupportedPointerOp(op);
        callAbi(b, "sieve_emu_mbarrier_wait_parity",
                {site(b, op), barrier, wait.getPhase()}, {});
        op->erase();
        return success();
      })
      .Case([&](NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp load)
                -> LogicalResult {
        Value dst = pointerAddress(op, load.getDstMem());
        Value map = pointerAddress(op, load.getTmaDescriptor());
        Value barrier = pointerAddress(op, load.getMbar());
        if (!dst || !map || !barrier || load.getPredicate() ||
            load.getMulticastMask() || load.getL2CacheHint() ||
            !load.getIm2colOffsets().empty() ||
            load.getMode() != NVVM::TMALoadMode::TILE)
          return unsupportedPointerOp(op);
        Value coords = spillWords(b, load.getCoordinates());
        callAbi(
            b, "sieve_emu_tma_load",
            {site(b, op), dst, map, barrier,
             arith::ConstantIntOp::create(
                 b, i32, static_cast<int64_t>(load.getCoordinates().size())),
             bufferAddress(b, coords)},
            {});
        op->erase();
        return success();
      })
      .Case([&](gpu::ReturnOp) -> LogicalResult {
        func::ReturnOp::create(b);
        op->erase();
        return success();
      })
      .Case([&](memref::LoadOp load) -> LogicalResult {
        checkBounds(b, op, load.getMemref(), load.getIndices(), 1);
        checkAccess(b, op, load.getMemref(), load.getIndices(),
                    (load.getType().getIntOrFloatBitWidth() + 7) / 8, false,
                    std::nullopt);
        return success();
      })
      .Case([&](memref::StoreOp store) -> LogicalResult {
        checkBounds(b, op, store.getMemref(), store.getIndices(), 1);
        checkAccess(
            b, op, store.getMemref(), store.getIndices(),
            (store.getValueToStore().getType().getIntOrFloatBitWidth() + 7) /
                8,
            true, std::nullopt);
        return success();
      })
      .Case([&](vector::LoadOp load) -> LogicalResult {
        VectorType type = load.getVectorType();
        if (type.getRank() != 1)
          return op->emitError(
              "the SIMT emulator checks 1-D vector loads only");
        checkBounds(b, op, load.getBase(), load.getIndices(),
                    type.getNumElements());
        checkAccess(b, op, load.getBase(), load.getIndices(),
                    type.getNumElements() * type.getElementTypeBitWidth() / 8,
                    false, load.getAlignment());
        return success();
      })
      .Case([&](vector::StoreOp store) -> LogicalResult {
        VectorType type = store.getVectorType();
        if (type.getRank() != 1)
          return op->emitError(
              "the SIMT emulator checks 1-D vector stores only");
        checkBounds(b, op, store.getBase(), store.getIndices(),
                    type.getNumElements());
        checkAccess(b, op, store.getBase(), store.getIndices(),
                    type.getNumElements() * type.getElementTypeBitWidth() / 8,
                    true, store.getAlignment());
        return success();
      })
      .Case([&](memref::AtomicRMWOp atomic) -> LogicalResult {
        checkBounds(b, op, atomic.getMemref(), atomic.getIndices(), 1);
        return success();
      })
      .Case([&](nvgpu::LdMatrixOp ldmatrix) -> LogicalResult {
        // Each lane passes the address of one 16-byte row.
        Value source = ldmatrix.getSrcMemref();
        auto sourceType = cast<MemRefType>(source.getType());
        int64_t rowElements = 128 / sourceType.getElementTypeBitWidth();
        checkBounds(b, op, source, ldmatrix.getIndices(), rowElements);
        checkAccess(b, op, source, ldmatrix.getIndices(), 16, false, 16);
        int64_t tiles = ldmatrix.getNumTiles();
        Value fragment =
            memref::AllocaOp::create(b, MemRefType::get({tiles}, i32));
        callAbi(b, "sieve_emu_ldmatrix",
                {site(b, op), address(b, source, ldmatrix.getIndices()),
                 arith::ConstantIntOp::create(b, i32, tiles),
                 arith::ConstantIntOp::create(b, i32,
                                              ldmatrix.getTranspose() ? 1 : 0),
                 bufferAddress(b, fragment)},
                {});
        op->getResult(0).replaceAllUsesWith(
            reload(b, fragment, cast<VectorType>(ldmatrix.getType())));
        op->erase();
        return success();
      })
      .Case([&](nvgpu::MmaSyncOp mma) -> LogicalResult {
        SmallVector<int64_t> shape;
        for (Attribute size : mma.getMmaShape())
          shape.push_back(cast<IntegerAttr>(size).getInt());
        int32_t shapeCode;
        if (shape == SmallVector<int64_t>{16, 8, 16})
          shapeCode = 0;
        else if (shape == SmallVector<int64_t>{16, 8, 8})
          shapeCode = 1;
        else if (shape == SmallVector<int64_t>{16, 8, 32})
          shapeCode = 2;
        else
          return op->emitError("the SIMT emulator has no mma.sync of shape ")
                 << mma.getMmaShape();
        Value a = spill(b, mma.getMatrixA()), bm = spill(b, mma.getMatrixB()),
              c = spill(b, mma.getMatrixC());
        auto resultType = cast<VectorType>(mma.getType());
        Value d = memref::AllocaOp::create(
            b, MemRefType::get({resultType.getNumElements() *
                                resultType.getElementTypeBitWidth() / 32},
                               i32));
        callAbi(b, "sieve_emu_mma_sync",
                {site(b, op), arith::ConstantIntOp::create(b, i32, shapeCode),
                 arith::ConstantIntOp::create(
                     b, i32,
                     // i8 fragments marked kE4M3MmaAttrName hold e4m3.
                     getEmulatorTypeCode(
                         mma->hasAttr(kE4M3MmaAttrName)
                             ? Type(Float8E4M3FNType::get(b.getContext()))
                             : mma.getMatrixA().getType().getElementType())),
                 arith::ConstantIntOp::create(
                     b, i32, getEmulatorTypeCode(resultType.getElementType())),
                 bufferAddress(b, a), bufferAddress(b, bm), bufferAddress(b, c),
                 bufferAddress(b, d)},
                {});
        op->getResult(0).replaceAllUsesWith(reload(b, d, resultType));
        op->erase();
        return success();
      })
      .Default([&](Operation *) -> LogicalResult { return success(); });
}

/// The ops an emulated kernel may contain once converted: host code.
static bool isEmulatable(Operation *op) {
  Dialect *dialect = op->getDialect();
  if (!dialect)
    return false;
  return isa<arith::ArithDialect, math::MathDialect, scf::SCFDialect,
             cf::ControlFlowDialect, func::FuncDialect, LLVM::LLVMDialect>(
             dialect) ||
         isa<memref::LoadOp, memref::StoreOp, memref::AllocaOp,
             memref::ViewOp, memref::SubViewOp, memref::CastOp,
             memref::ReinterpretCastOp, memref::DimOp,
             memref::ExtractAlignedPointerAsIndexOp,
             memref::ExtractStridedMetadataOp, memref::AtomicRMWOp,
             memref::AssumeAlignmentOp>(op) ||
         isa<vector::LoadOp, vector::StoreOp, vector::ShapeCastOp,
             vector::BitCastOp, vector::ExtractOp, vector::InsertOp,
             vector::BroadcastOp, vector::FromElementsOp,
             vector::ReductionOp, vector::FMAOp>(op);
}

LogicalResult KernelConverter::convert() {
  // Async copies form chains (copy -> group -> wait) linked by tokens; the
  // emulator keeps the groups itself, so the chain is converted back to
  // front and the tokens disappear.
  SmallVector<Operation *> waits, groups, copies, others;
  fn.walk([&](Operation *op) {
    if (isa<nvgpu::DeviceAsyncWaitOp>(op))
      waits.push_back(op);
    else if (isa<nvgpu::DeviceAsyncCreateGroupOp>(op))
      groups.push_back(op);
    else if (isa<nvgpu::DeviceAsyncCopyOp>(op))
      copies.push_back(op);
    else
      others.push_back(op);
  });
  for (Operation *op : waits) {
    ImplicitLocOpBuilder b(op->getLoc(), op);
    auto wait = cast<nvgpu::DeviceAsyncWaitOp>(op);
    callAbi(b, "sieve_emu_cp_async_wait",
            {arith::ConstantIntOp::create(b, i32, wait.getNumGroups().value_or(0))},
            {});
    op->erase();
  }
  for (Operation *op : groups) {
    ImplicitLocOpBuilder b(op->getLoc(), op);
    callAbi(b, "sieve_emu_cp_async_commit", {}, {});
    op->dropAllUses();
    op->erase();
  }
  for (Operation *op : copies) {
    ImplicitLocOpBuilder b(op->getLoc(), op);
    auto copy = cast<nvgpu::DeviceAsyncCopyOp>(op);
    auto srcType = cast<MemRefType>(copy.getSrc().getType());
    int64_t elementBytes = srcType.getElementTypeBitWidth() / 8;
    int64_t elements = copy.getDstElements().getZExtValue();
    checkBounds(b, op, copy.getDst(), copy.getDstIndices(), elements);
    checkAccess(b, op, copy.getDst(), copy.getDstIndices(),
                elements * elementBytes, true, elements * elementBytes);
    Value srcElements = copy.getSrcElements()
                            ? copy.getSrcElements()
                            : indexConst(b, elements);
    // The source is read up to srcElements only; check that much of it.
    checkBounds(b, op, copy.getSrc(), copy.getSrcIndices(), 1);
    Value srcBytes = arith::IndexCastOp::create(
        b, i32,
        arith::MulIOp::create(b, srcElements, indexConst(b, elementBytes)));
    callAbi(b, "sieve_emu_cp_async",
            {site(b, op), address(b, copy.getDst(), copy.getDstIndices()),
             address(b, copy.getSrc(), copy.getSrcIndices()),
             arith::ConstantIntOp::create(b, i32, elements * elementBytes),
             srcBytes},
            {});
    op->dropAllUses();
    op->erase();
  }
  for (Operation *op : others)
    if (failed(convertOp(op)))
      return failure();
  // The pointers the NVVM ops took are dead now (their addresses went to
  // the ABI calls); shared-memory ones would be address space 3 on the host.
  fn.walk([](LLVM::IntToPtrOp cast) {
    if (cast->use_empty())
      cast->erase();
  });

  WalkResult result = fn.walk([&](Operation *op) {
    if (op == fn.getOperation() || isEmulatable(op))
      return WalkResult::advance();
    op->emitError() << "the SIMT emulator cannot run '" << op->getName()
                    << "' (kernel " << kernelName << ")";
    return WalkResult::interrupt();
  });
  return failure(result.wasInterrupted());
}

/// Drops GPU memory spaces from memref types: in the emulator all memory is
/// host memory. Result types are edited in place; the module is verified
/// afterwards, which catches an op whose types stop agreeing.
static void stripMemorySpaces(func::FuncOp fn) {
  auto strip = [](Value value) {
    auto type = dyn_cast<MemRefType>(value.getType());
    if (type && isa_and_present<gpu::AddressSpaceAttr>(type.getMemorySpace()))
      value.setType(MemRefType::get(type.getShape(), type.getElementType(),
                                    type.getLayout()));
  };
  fn.walk([&](Operation *op) {
    for (Value result : op->getResults())
      strip(result);
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          strip(arg);
  });
}

LogicalResult mlir::sieve::convertKernelsToEmulator(gpu::GPUModuleOp kernels,
                                                    ModuleOp host) {
  EmulatorAbi abi(host);
  MLIRContext *ctx = host.getContext();
  auto bytes = MemRefType::get({ShapedType::kDynamic},
                               IntegerType::get(ctx, 8));
  for (auto kernel :
       llvm::make_early_inc_range(kernels.getOps<gpu::GPUFuncOp>())) {
    if (!kernel.isKernel())
      return kernel.emitError("the SIMT emulator runs kernels only");
    // func.func @sieve_emu_body_K(params..., shared, dynamicShared)
    SmallVector<Type> inputs(kernel.getArgumentTypes());
    unsigned numParams = inputs.size();
    unsigned numWorkgroup = kernel.getNumWorkgroupAttributions();
    unsigned numPrivate = kernel.getNumPrivateAttributions();
    inputs.append({bytes, bytes});
    OpBuilder builder = OpBuilder::atBlockEnd(host.getBody());
    auto fn = func::FuncOp::create(
        builder, kernel.getLoc(), getEmulatorBodyName(kernel.getName()),
        builder.getFunctionType(inputs, {}));
    fn.getBody().takeBody(kernel.getBody());
    Block &entry = fn.getBody().front();
    Value shared = entry.insertArgument(numParams, bytes, kernel.getLoc());
    Value dynamicShared =
        entry.insertArgument(numParams + 1, bytes, kernel.getLoc());

    // Workgroup attributions become views at the offsets codegen gave them;
    // private ones stack buffers.
    ImplicitLocOpBuilder b =
        ImplicitLocOpBuilder::atBlockBegin(kernel.getLoc(), &entry);
    int64_t offset = 0;
    for (unsigned i = 0; i < numWorkgroup + numPrivate; ++i) {
      BlockArgument arg = entry.getArgument(numParams + 2 + i);
      auto type = cast<MemRefType>(arg.getType());
      auto plain = MemRefType::get(type.getShape(), type.getElementType());
      Value replacement;
      if (i < numWorkgroup) {
        replacement = memref::ViewOp::create(b, plain, shared,
                                             indexConst(b, offset),
                                             ValueRange{});
        int64_t size =
            type.getNumElements() * ((type.getElementTypeBitWidth() + 7) / 8);
        offset += (size + 15) / 16 * 16;
      } else {
        replacement = memref::AllocaOp::create(b, plain);
      }
      arg.replaceAllUsesWith(replacement);
    }
    entry.eraseArguments(numParams + 2, numWorkgroup + numPrivate);

    KernelConverter converter(abi, fn, kernel.getName());
    converter.setSharedMemory(shared, dynamicShared);
    if (failed(converter.convert()))
      return failure();
    stripMemorySpaces(fn);
    kernel.erase();
  }
  return success();
}

std::string mlir::sieve::getEmulatorBodyName(StringRef kernel) {
  return ("sieve_emu_body_" + kernel).str();
}

std::string mlir::sieve::getEmulatorEntryName(StringRef kernel) {
  return ("sieve_emu_kernel_" + kernel).str();
}
