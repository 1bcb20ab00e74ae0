//===- KernelBuilder.cpp - Building GPU kernels in MLIR -------------------===//

#include "codegen/KernelBuilder.h"

#include "passes/ScalarCode.h"
#include "runtime/include/sieve/emulator.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>

using namespace mlir;
using namespace mlir::sieve;

KernelBuilder::KernelBuilder(gpu::GPUModuleOp module, StringRef name,
                             Location loc)
    : module(module), name(name.str()), loc(loc) {}

unsigned KernelBuilder::addBuffer(Type elementType) {
  assert(!b && "parameters must be declared before begin()");
  paramTypes.push_back(
      MemRefType::get({ShapedType::kDynamic}, elementType));
  paramKinds.push_back(ParamKind::Buffer);
  return paramTypes.size() - 1;
}

unsigned KernelBuilder::addScalar() {
  assert(!b && "parameters must be declared before begin()");
  paramTypes.push_back(IntegerType::get(module.getContext(), 64));
  paramKinds.push_back(ParamKind::Scalar);
  return paramTypes.size() - 1;
}

unsigned KernelBuilder::addTensorMap() {
  assert(!b && "parameters must be declared before begin()");
  paramTypes.push_back(IntegerType::get(module.getContext(), 64));
  paramKinds.push_back(ParamKind::TensorMap);
  return paramTypes.size() - 1;
}

unsigned KernelBuilder::addWorkgroupBuffer(Type elementType, int64_t size) {
  assert(!b && "buffers must be declared before begin()");
  workgroupBuffers.push_back({elementType, size});
  return workgroupBuffers.size() - 1;
}

ImplicitLocOpBuilder &KernelBuilder::begin(std::array<int64_t, 3> blockSize) {
  MLIRContext *ctx = module.getContext();
  OpBuilder moduleBuilder = OpBuilder::atBlockEnd(module.getBody());
  SmallVector<Type> workgroupTypes;
  auto workgroup = gpu::AddressSpaceAttr::get(
      ctx, gpu::GPUDialect::getWorkgroupAddressSpace());
  for (auto [type, size] : workgroupBuffers)
    workgroupTypes.push_back(
        MemRefType::get({size}, type, MemRefLayoutAttrInterface(), workgroup));
  func = gpu::GPUFuncOp::create(moduleBuilder, loc, name,
                                FunctionType::get(ctx, paramTypes, {}),
                                workgroupTypes);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                UnitAttr::get(ctx));
  auto blockSizeAttr = DenseI32ArrayAttr::get(
      ctx, {static_cast<int32_t>(blockSize[0]),
            static_cast<int32_t>(blockSize[1]),
            static_cast<int32_t>(blockSize[2])});
  func.setKnownBlockSizeAttr(blockSizeAttr);
  if (minBlocksPerSm > 0)
    func->setAttr("nvvm.minctasm",
                  IntegerAttr::get(IntegerType::get(ctx, 32), minBlocksPerSm));
  b.emplace(ImplicitLocOpBuilder::atBlockBegin(loc, &func.getBody().front()));
  for (auto [index, kind] : llvm::enumerate(paramKinds))
    scalarValues.push_back(
        kind == ParamKind::Scalar
            ? arith::IndexCastOp::create(*b, b->getIndexType(),
                                         func.getArgument(index))
                  .getResult()
            : Value());
  return *b;
}

KernelDecl KernelBuilder::finish() {
  gpu::ReturnOp::create(*b);
  KernelDecl decl;
  decl.name = name;
  for (ParamKind kind : paramKinds)
    decl.params.push_back(kind == ParamKind::Buffer   ? "memref"
                          : kind == ParamKind::Scalar ? "i64"
                                                      : "tensor_map");
  for (auto [type, size] : workgroupBuffers) {
    // Workgroup buffers are laid out one after the other, 16-byte aligned.
    int64_t bytes = size * ((type.getIntOrFloatBitWidth() + 7) / 8);
    decl.staticSharedBytes += (bytes + 15) / 16 * 16;
  }
  return decl;
}

Value KernelBuilder::buffer(unsigned index) {
  assert(paramKinds[index] == ParamKind::Buffer && "not a buffer parameter");
  return func.getArgument(index);
}

Value KernelBuilder::scalar(unsigned index) {
  assert(paramKinds[index] == ParamKind::Scalar && "not a scalar parameter");
  return scalarValues[index];
}

Value KernelBuilder::tensorMap(unsigned index) {
  assert(paramKinds[index] == ParamKind::TensorMap &&
         "not a tensor-map parameter");
  return LLVM::IntToPtrOp::create(
      *b, LLVM::LLVMPointerType::get(b->getContext()), func.getArgument(index));
}

Value KernelBuilder::workgroup(unsigned index) {
  return func.getWorkgroupAttributions()[index];
}

Value KernelBuilder::dynamicSharedMemory() {
  MLIRContext *ctx = module.getContext();
  auto workgroup = gpu::AddressSpaceAttr::get(
      ctx, gpu::GPUDialect::getWorkgroupAddressSpace());
  auto type = MemRefType::get({ShapedType::kDynamic}, b->getI8Type(),
                              MemRefLayoutAttrInterface(), workgroup);
  return gpu::DynamicSharedMemoryOp::create(*b, type);
}

static constexpr StringLiteral kOpaqueMove = "mov.b32 $0, $1;";

Value KernelBuilder::opaque(Value value) {
  assert(value.getType().isInteger(32) && "opaque takes an i32");
  MLIRContext *ctx = module.getContext();
  return LLVM::InlineAsmOp::create(
             *b, value.getType(), ValueRange{value},
             StringAttr::get(ctx, kOpaqueMove), StringAttr::get(ctx, "=r,r"),
             /*has_side_effects=*/UnitAttr::get(ctx), UnitAttr(),
             LLVM::TailCallKindAttr(), LLVM::AsmDialectAttr(), ArrayAttr())
      .getResult(0);
}

bool mlir::sieve::isOpaqueMove(Operation *op) {
  auto inlineAsm = dyn_cast<LLVM::InlineAsmOp>(op);
  return inlineAsm && inlineAsm.getAsmString() == kOpaqueMove &&
         inlineAsm.getNumOperands() == 1 && inlineAsm.getNumResults() == 1;
}

Value mlir::sieve::getSharedPointer(ImplicitLocOpBuilder &b, Value memref,
                                    Value byteOffset) {
  // The aligned pointer of a workgroup memref is a shared-memory address on
  // the GPU (and a host address in the emulator).
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, memref);
  Value address = arith::IndexCastOp::create(
      b, b.getI64Type(), arith::AddIOp::create(b, base, byteOffset));
  return LLVM::IntToPtrOp::create(
      b, LLVM::LLVMPointerType::get(b.getContext(), /*addressSpace=*/3),
      address);
}

int32_t mlir::sieve::getEmulatorTypeCode(Type type) {
  if (type.isF16())
    return SIEVE_EMU_TYPE_F16;
  if (type.isBF16())
    return SIEVE_EMU_TYPE_BF16;
  if (type.isInteger(8))
    return SIEVE_EMU_TYPE_S8;
  if (type.isF32())
    return SIEVE_EMU_TYPE_F32;
  if (type.isInteger(32))
    return SIEVE_EMU_TYPE_S32;
  assert(isa<Float8E4M3FNType>(type) && "a matrix-product type");
  return SIEVE_EMU_TYPE_E4M3;
}

SmallVector<Value> mlir::sieve::fenceRegisters(ImplicitLocOpBuilder &b,
                                               ValueRange values) {
  MLIRContext *ctx = b.getContext();
  Type type = values.front().getType();
  assert((type.isF32() || type.isInteger(32)) &&
         llvm::all_equal(values.getTypes()) && "fences f32 or i32 values");
  std::string constraints;
  for (size_t i = 0; i < values.size(); ++i)
    constraints += type.isF32() ? "=f," : "=r,";
  for (size_t i = 0; i < values.size(); ++i)
    constraints += std::to_string(i) + (i + 1 < values.size() ? "," : "");
  auto structType = LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(values.size(), type));
  auto fence = LLVM::InlineAsmOp::create(
      b, structType, values, StringAttr::get(ctx, ""),
      StringAttr::get(ctx, constraints),
      /*has_side_effects=*/UnitAttr::get(ctx), UnitAttr(),
      LLVM::TailCallKindAttr(), LLVM::AsmDialectAttr(), ArrayAttr());
  SmallVector<Value> results;
  for (size_t i = 0; i < values.size(); ++i)
    results.push_back(LLVM::ExtractValueOp::create(b, fence.getResult(0), i));
  return results;
}

bool mlir::sieve::isRegisterFence(Operation *op) {
  auto inlineAsm = dyn_cast<LLVM::InlineAsmOp>(op);
  return inlineAsm && inlineAsm.getAsmString().empty() &&
         inlineAsm.getNumResults() == 1 &&
         isa<LLVM::LLVMStructType>(inlineAsm.getResult(0).getType()) &&
         (inlineAsm.getConstraints().starts_with("=f") ||
          inlineAsm.getConstraints().starts_with("=r"));
}

Value KernelBuilder::blockId(gpu::Dimension dimension) {
  return gpu::BlockIdOp::create(*b, dimension);
}

Value KernelBuilder::threadIdX() {
  return gpu::ThreadIdOp::create(*b, gpu::Dimension::x);
}

Value KernelBuilder::blockIdX() {
  return gpu::BlockIdOp::create(*b, gpu::Dimension::x);
}

Value KernelBuilder::globalIdX() {
  Value blockDim = gpu::BlockDimOp::create(*b, gpu::Dimension::x);
  return arith::AddIOp::create(
      *b, arith::MulIOp::create(*b, blockIdX(), blockDim), threadIdX());
}

Value KernelBuilder::load(Value memref, Value index) {
  return memref::LoadOp::create(*b, memref, ValueRange{index});
}

void KernelBuilder::store(Value value, Value memref, Value index) {
  memref::StoreOp::create(*b, value, memref, ValueRange{index});
}

void KernelBuilder::ifThen(Value cond, function_ref<void()> body) {
  auto ifOp = scf::IfOp::create(*b, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(*b);
  b->setInsertionPoint(ifOp.thenBlock()->getTerminator());
  body();
}

void KernelBuilder::forEach(Value lb, Value ub, Value step,
                            function_ref<void(Value)> body) {
  auto loop = scf::ForOp::create(*b, lb, ub, step);
  OpBuilder::InsertionGuard guard(*b);
  b->setInsertionPoint(loop.getBody()->getTerminator());
  body(loop.getInductionVar());
}

/// A butterfly over the warp: after log2(32) xor-shuffles every lane holds
/// the combination of all 32 values.
static Value butterflyReduce(ImplicitLocOpBuilder &b, Value value,
                           function_ref<Value(Value, Value)> combine) {
  for (int32_t offset = 16; offset >= 1; offset /= 2) {
    Value other = gpu::ShuffleOp::create(b, value, offset, /*width=*/32,
                                         gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    value = combine(value, other);
  }
  return value;
}

Value KernelBuilder::warpAllReduce(Value value,
                                   function_ref<Value(Value, Value)> combine) {
  return butterflyReduce(*b, value, combine);
}

void KernelBuilder::countWork(Value units) {
  MLIRContext *ctx = module.getContext();
  Type i64 = IntegerType::get(ctx, 64);
  auto fn = module.lookupSymbol<func::FuncOp>(kCountWorkFunction);
  if (!fn) {
    OpBuilder moduleBuilder = OpBuilder::atBlockBegin(module.getBody());
    fn = func::FuncOp::create(moduleBuilder, loc, kCountWorkFunction,
                              FunctionType::get(ctx, {i64}, {}));
    fn.setPrivate();
  }
  func::CallOp::create(*b, fn,
                       ValueRange{arith::IndexCastOp::create(*b, i64, units)});
}

Value KernelBuilder::warpAllReduceSum(Value value) {
  return butterflyReduce(*b, value, [&](Value x, Value y) {
    return arith::AddFOp::create(*b, x, y).getResult();
  });
}

Value KernelBuilder::warpAllReduceMax(Value value) {
  return butterflyReduce(*b, value, [&](Value x, Value y) {
    return arith::MaximumFOp::create(*b, x, y).getResult();
  });
}

Value KernelBuilder::exp(Value x) {
  Value log2e = f32Const(*b, M_LOG2E);
  return math::Exp2Op::create(*b, arith::MulFOp::create(*b, x, log2e));
}

Value KernelBuilder::sigmoid(Value x) {
  Value one = f32Const(*b, 1.0);
  Value e = exp(arith::NegFOp::create(*b, x));
  return arith::DivFOp::create(*b, one, arith::AddFOp::create(*b, one, e));
}

Value KernelBuilder::erf(Value x) {
  // erf(x) = x * P(x^2) / Q(x^2) on [-4, 4] (|erf| rounds to 1 beyond): the
  // rational minimax approximation Eigen and XLA use for f32.
  static const double kAlpha[] = {-2.72614225801306e-10, 2.77068142495902e-08,
                                  -2.10102402082508e-06, -5.69250639462346e-05,
                                  -7.34990630326855e-04, -2.95459980854025e-03,
                                  -1.60960333262415e-02};
  static const double kBeta[] = {-1.45660718464996e-05, -2.13374055278905e-04,
                                 -1.68282697438203e-03, -7.37332916720468e-03,
                                 -1.42647390514189e-02};
  auto polynomial = [&](ArrayRef<double> coefficients, Value t) {
    Value result = f32Const(*b, coefficients.front());
    for (double c : coefficients.drop_front())
      result = math::FmaOp::create(*b, result, t, f32Const(*b, c));
    return result;
  };
  Value clamped = arith::MinimumFOp::create(
      *b, arith::MaximumFOp::create(*b, x, f32Const(*b, -4.0)),
      f32Const(*b, 4.0));
  Value x2 = arith::MulFOp::create(*b, clamped, clamped);
  Value p = arith::MulFOp::create(*b, clamped, polynomial(kAlpha, x2));
  return arith::DivFOp::create(*b, p, polynomial(kBeta, x2));
}
