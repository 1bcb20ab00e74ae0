//===- ConvertGPUToEmulatorPass.cpp - sieve-convert-gpu-to-emulator -------===//

#include "codegen/Passes.h"
#include "codegen/emulator/Emulator.h"

namespace mlir {
namespace sieve {
#define GEN_PASS_DEF_SIEVECONVERTGPUTOEMULATOR
#include "codegen/Passes.h.inc"
} // namespace sieve
} // namespace mlir

using namespace mlir;

namespace {
struct SieveConvertGPUToEmulatorPass
    : public sieve::impl::SieveConvertGPUToEmulatorBase<
          SieveConvertGPUToEmulatorPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (auto kernels :
         llvm::make_early_inc_range(module.getOps<gpu::GPUModuleOp>())) {
      if (failed(sieve::convertKernelsToEmulator(kernels, module)))
        return signalPassFailure();
      kernels.erase();
    }
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};
} // namespace
