//===- Pipelines.cpp - Sieve's pass pipelines -----------------------------===//
//
// The pipelines that take a model graph to CPU code through the reference
// lowering. sieve-run runs them (with its own handling of run-time checks in
// between); `sieve-opt --sieve-reference-to-llvm` shows what they produce.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/TosaToArith/TosaToArith.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Conversion/TosaToTensor/TosaToTensor.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::sieve::buildReferenceLoweringPipeline(OpPassManager &pm) {
  tosa::addTosaToLinalgPasses(pm, TosaToLinalgOptions(),
                              TosaToLinalgNamedOptions());
  // What tosa-to-linalg leaves: tosa.const to arith, reshapes, slices and
  // concatenations to tensor.
  pm.addPass(createTosaToArithPass());
  pm.addPass(createTosaToTensorPass());
  pm.addPass(createSieveLowerToReference());
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  // Inputs whose dynamic sizes disagree with what the graph assumes abort
  // with a message instead of reading or writing out of bounds.
  pm.addPass(createGenerateRuntimeVerificationPass());
}

void mlir::sieve::buildCPUCodegenPipeline(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));
  bufferization::BufferDeallocationPipelineOptions deallocOptions;
  bufferization::buildBufferDeallocationPipeline(pm, deallocOptions);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // bf16 conversions become integer code; erf goes to libm.
  arith::ArithExpandOpsPassOptions expandOptions;
  expandOptions.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expandOptions));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::sieve::buildSieveOptimizePipeline(
    OpPassManager &pm, const SieveOptimizeOptions &options) {
  pm.addPass(createSieveFuseAttention());

  SieveSparsifyAttentionOptions attention;
  attention.windowLeft = options.windowLeft;
  attention.windowRight = options.windowRight;
  attention.numGlobals = options.numGlobals;
  attention.globalSource = options.globalSource;
  attention.minSeqLen = options.minSeqLen;
  pm.addPass(createSieveSparsifyAttention(attention));

  SieveSparsifyGatingOptions gating;
  gating.minBranchFlops = options.minBranchFlops;
  gating.sliceActiveRows = options.sliceActiveRows;
  pm.addPass(createSieveSparsifyGating(gating));

  SieveQuantizeOptions quantize;
  quantize.weightBits = options.weightBits;
  quantize.groupSize = options.groupSize;
  quantize.targets.assign(options.targets.begin(), options.targets.end());
  quantize.minWeightElements = options.minWeightElements;
  quantize.foldQDQ = options.foldQDQ;
  quantize.qkPrecision = options.qkPrecision;
  pm.addPass(createSieveQuantize(quantize));

  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::sieve::registerSievePipelines() {
  PassPipelineRegistration<SieveOptimizeOptions>(
      "sieve-optimize",
      "Make a model graph's sparsity and quantization explicit in the sieve "
      "dialect: sieve-fuse-attention, sieve-sparsify-attention, "
      "sieve-sparsify-gating, sieve-quantize, canonicalize, cse (the options "
      "of the three middle passes, under their names)",
      buildSieveOptimizePipeline);
  PassPipelineRegistration<>(
      "sieve-reference-to-llvm",
      "Lower a graph of func + tosa/linalg/tensor/arith + sieve ops to the "
      "LLVM dialect for the CPU through the reference lowering "
      "(sieve-lower-to-reference, bufferization, loops)",
      [](OpPassManager &pm) {
        sieve::buildReferenceLoweringPipeline(pm);
        sieve::buildCPUCodegenPipeline(pm);
      });
}
