//===- KernelBuilder.h - Building GPU kernels in MLIR -----------*- C++ -*-===//
//
// Kernel builders write each kernel as a `gpu.func` in the bundle's
// `gpu.module`, using gpu, arith, math, scf, memref and vector ops (and nvgpu
// for tensor-core kernels). From there the same function goes two ways: to
// PTX (NVVM, LLVM's NVPTX backend) and to the SIMT emulator.
//
// The kernel ABI (docs/bundle-format.md): buffers are one-dimensional
// `memref<?xT>` parameters, everything else i64 scalars (a tensor map's
// device address too). KernelBuilder
// collects the parameters, creates the function and offers the helpers
// kernels share (global thread index, warp reductions, exp2-based softmax
// math, erf).
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_KERNELBUILDER_H
#define SIEVE_CODEGEN_KERNELBUILDER_H

#include "codegen/Bundle.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <optional>

namespace mlir {
namespace sieve {

/// The function kernels call to count work (KernelBuilder::countWork): the
/// emulator adds the units to the launch's statistics, the PTX drops it.
constexpr StringLiteral kCountWorkFunction = "sieve_emu_count_work";

class KernelBuilder {
public:
  /// Starts a kernel named `name` in `module`.
  KernelBuilder(gpu::GPUModuleOp module, StringRef name, Location loc);

  /// Declares a buffer parameter of element type `type`; returns its index.
  unsigned addBuffer(Type elementType);
  /// Declares an i64 scalar parameter; returns its index.
  unsigned addScalar();
  /// Declares a tensor-map parameter (the device address of a TMA tensor
  /// map, KernelArg::ofTensorMap); returns its index.
  unsigned addTensorMap();
  /// Declares a workgroup (shared memory) buffer of `size` elements.
  unsigned addWorkgroupBuffer(Type elementType, int64_t size);

  /// Asks ptxas to keep registers low enough for `blocks` CTAs per SM
  /// (`.minnctapersm`); without it ptxas picks an occupancy itself and may
  /// spill a few registers to reach it.
  void setMinBlocksPerSm(int64_t blocks) { minBlocksPerSm = blocks; }

  /// Creates the function with the declared parameters, launched with
  /// `blockSize` threads per block, and positions the builder in its body.
  ImplicitLocOpBuilder &begin(std::array<int64_t, 3> blockSize);
  /// Terminates the body. Returns the kernel's manifest entry.
  KernelDecl finish();

  /// The kernel's dynamic shared memory (memref<?xi8, workgroup>); its size
  /// is the launch's `dynamic_shared_bytes`. Views into it (memref.view)
  /// hold shared-memory tiles too large for static shared memory (48 KiB).
  Value dynamicSharedMemory();

  /// `value` (an i32) unchanged, but opaque to the optimizer: computations
  /// that use the result inside a loop are not hoisted out of it (LLVM would
  /// otherwise keep each of them in a register across the loop). On the GPU
  /// a volatile `mov.b32`, in the emulator nothing (isOpaqueMove).
  Value opaque(Value value);

  /// A buffer parameter (memref<?xT>), a scalar parameter as an index, a
  /// workgroup buffer (memref<N x T, workgroup>).
  Value buffer(unsigned index);
  Value scalar(unsigned index);
  /// A tensor-map parameter as the generic pointer TMA instructions take.
  Value tensorMap(unsigned index);
  Value workgroup(unsigned index);

  ImplicitLocOpBuilder &builder() { return *b; }
  StringRef getName() const { return name; }

  //===--------------------------------------------------------------------===//
  // Helpers for kernel bodies
  //===--------------------------------------------------------------------===//

  Value threadIdX();
  Value blockIdX();
  Value blockId(gpu::Dimension dimension);
  /// blockIdx.x * blockDim.x + threadIdx.x.
  Value globalIdX();
  Value load(Value memref, Value index);
  void store(Value value, Value memref, Value index);
  /// Runs `body` only in threads where `cond` holds.
  void ifThen(Value cond, function_ref<void()> body);
  /// `for (iv = lb; iv < ub; iv += step)` without carried values.
  void forEach(Value lb, Value ub, Value step, function_ref<void(Value)> body);

  /// Counts `units` (index) of work done by this thread, for the emulator's
  /// statistics: tests see from it which rows a kernel skipped.
  void countWork(Value units);
  /// The same for a combiner of any type: `value` reduced over the warp with
  /// `combine`, every lane gets the result.
  Value warpAllReduce(Value value, function_ref<Value(Value, Value)> combine);

  /// Sum / max of an f32 over the 32 lanes of a warp (butterfly of
  /// gpu.shuffle xor); every lane gets the result. The warp must be
  /// converged.
  Value warpAllReduceSum(Value value);
  Value warpAllReduceMax(Value value);

  /// exp(x) as exp2(x * log2(e)): ex2 on the GPU, no libdevice.
  Value exp(Value x);
  /// erf(x) for f32, a rational approximation accurate to a few ulp, in plain
  /// arithmetic so that it needs no math library on either side.
  Value erf(Value x);
  /// 1 / (1 + exp(-x)).
  Value sigmoid(Value x);

private:
  gpu::GPUModuleOp module;
  std::string name;
  Location loc;
  SmallVector<Type> paramTypes;
  enum class ParamKind { Buffer, Scalar, TensorMap };
  SmallVector<ParamKind> paramKinds;
  SmallVector<std::pair<Type, int64_t>> workgroupBuffers;
  gpu::GPUFuncOp func;
  std::optional<ImplicitLocOpBuilder> b;
  SmallVector<Value> scalarValues;
  int64_t minBlocksPerSm = 0;
};

/// Whether `op` is KernelBuilder::opaque's inline assembly.
bool isOpaqueMove(Operation *op);

/// A `!llvm.ptr<3>` to byte `byteOffset` (an index) of `memref`, a
/// workgroup memref, as NVVM's mbarrier and TMA ops take shared memory.
Value getSharedPointer(ImplicitLocOpBuilder &b, Value memref, Value byteOffset);

/// `values` (all f32 or all i32) unchanged, through one empty volatile inline
/// assembly that reads and writes them in place: no computation using the
/// results moves above it (CUTLASS's warpgroup_fence_operand; the accumulators
/// of a wgmma must not be read before its wait_group). The emulator takes it
/// for the identity (isRegisterFence).
SmallVector<Value> fenceRegisters(ImplicitLocOpBuilder &b, ValueRange values);
bool isRegisterFence(Operation *op);

/// The code sieve/emulator.h gives a matrix-product operand or accumulator
/// type (SIEVE_EMU_TYPE_*): f16, bf16, i8 (s8), f32, i32 (s32) or
/// f8E4M3FN (e4m3).
int32_t getEmulatorTypeCode(Type type);

/// Marks the inline assembly of a wgmma.mma_async with A in registers (the
/// NVVM dialect has none): an array [n, A/B type, B MN-major (0/1)], the
/// type as getEmulatorTypeCode gives it (f16, bf16, s8 with s32
/// accumulators, e4m3). Its operands are D's n / 2 registers (f32, or
/// i32 for s8), A's four i32 registers, B's descriptor and scale-d; its
/// result D as a struct. The emulator runs it as sieve_emu_wgmma.
constexpr llvm::StringLiteral kWgmmaAttrName = "sieve.wgmma";

/// Marks an nvgpu.mma.sync of shape 16x8x32 on i8 fragments with f32
/// accumulators whose bytes are f8E4M3FN values (nvgpu has no fp8
/// mma.sync): the PTX emitter makes it an e4m3 mma.sync (sm_89 and newer),
/// the emulator multiplies e4m3 values.
constexpr llvm::StringLiteral kE4M3MmaAttrName = "sieve.e4m3";

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_KERNELBUILDER_H
