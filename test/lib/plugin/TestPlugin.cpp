//===- TestPlugin.cpp - A sieve-compile plugin for the tests --------------===//
//
// Shows what a plugin can do (codegen/Plugin.h): it brings a dialect of its
// own (sieve_test, one op), a pass for --pass-pipeline, a kernel provider
// for its op, and a provider that replaces a built-in one (sieve.dequantize,
// computed the same way by a kernel of the plugin's, so that tests see the
// replacement by its kernel name and check its numbers).
//
//===----------------------------------------------------------------------===//

#include "codegen/Plugin.h"

#include "dialects/sieve/SieveOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "test/lib/plugin/TestPluginDialect.h.inc"

#define GET_OP_CLASSES
#include "test/lib/plugin/TestPluginOps.h.inc"

#include "test/lib/plugin/TestPluginDialect.cpp.inc"

#define GET_OP_CLASSES
#include "test/lib/plugin/TestPluginOps.cpp.inc"

using namespace mlir;
using namespace mlir::sieve;

void sieve_test::SieveTestDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "test/lib/plugin/TestPluginOps.cpp.inc"
      >();
}

namespace sieve_test {
#define GEN_PASS_DECL
#define GEN_PASS_DEF_SIEVETESTFOLDSCALES
#define GEN_PASS_REGISTRATION
#include "test/lib/plugin/TestPluginPasses.h.inc"
} // namespace sieve_test

namespace {
struct FoldScales : public OpRewritePattern<sieve_test::ScaleOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(sieve_test::ScaleOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<sieve_test::ScaleOp>();
    if (!inner)
      return failure();
    float factor = inner.getFactor().convertToFloat() *
                   op.getFactor().convertToFloat();
    rewriter.replaceOpWithNewOp<sieve_test::ScaleOp>(
        op, op.getType(), inner.getInput(), rewriter.getF32FloatAttr(factor));
    return success();
  }
};

struct FoldScalesPass
    : public sieve_test::impl::SieveTestFoldScalesBase<FoldScalesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldScales>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

/// One thread per element of `result`: out[i] = body(the input buffers, i).
static LogicalResult launchElementwise(
    Operation *op, BundleBuilder &bundle, StringRef name,
    ArrayRef<Value> inputs, Value result,
    function_ref<Value(KernelBuilder &, ArrayRef<Value>, Value)> body) {
  auto type = cast<RankedTensorType>(result.getType());
  SmallVector<KernelArg> args;
  KernelBuilder kb = bundle.newKernel(name, op->getLoc());
  for (Value input : inputs) {
    const TensorBinding &binding = bundle.get(input);
    kb.addBuffer(cast<RankedTensorType>(input.getType()).getElementType());
    args.push_back(KernelArg::ofBuffer(binding.buffer, binding.dtype));
  }
  const TensorBinding &out =
      bundle.define(result, SmallVector<SizeExpr>(bundle.shape(inputs[0])));
  unsigned outArg = kb.addBuffer(type.getElementType());
  unsigned countArg = kb.addScalar();
  args.push_back(KernelArg::ofBuffer(out.buffer, out.dtype));
  args.push_back(KernelArg::ofI64(out.numElements()));
  ImplicitLocOpBuilder &b = kb.begin({128, 1, 1});
  Value i = kb.globalIdX();
  Value inRange = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, i,
                                        kb.scalar(countArg));
  kb.ifThen(inRange, [&] {
    SmallVector<Value> buffers;
    for (unsigned a = 0; a < inputs.size(); ++a)
      buffers.push_back(kb.buffer(a));
    kb.store(body(kb, buffers, i), kb.buffer(outArg), i);
    kb.countWork(arith::ConstantIndexOp::create(b, 1));
  });
  KernelDecl kernel = kb.finish();
  bundle.addKernel(kernel);
  LaunchDecl launch;
  launch.kernel = kernel.name;
  launch.grid = {SizeExpr::ceilDiv(out.numElements(), 128), 1, 1};
  launch.block = {128, 1, 1};
  launch.args = std::move(args);
  bundle.launch(op, std::move(launch));
  return success();
}

static LogicalResult buildScale(Operation *op, BundleBuilder &bundle) {
  auto scale = cast<sieve_test::ScaleOp>(op);
  float factor = scale.getFactor().convertToFloat();
  return launchElementwise(
      op, bundle, "test_scale", {scale.getInput()}, scale.getResult(),
      [&](KernelBuilder &kb, ArrayRef<Value> buffers, Value i) -> Value {
        ImplicitLocOpBuilder &b = kb.builder();
        return arith::MulFOp::create(
            b, kb.load(buffers[0], i),
            arith::ConstantOp::create(b, b.getF32FloatAttr(factor)));
      });
}

/// sieve.dequantize of static [N, K] weights into f32:
/// y[n, k] = q[n, k] * scale[n, k / group_length].
static LogicalResult buildDequantize(Operation *op, BundleBuilder &bundle) {
  auto dequantize = cast<DequantizeOp>(op);
  RankedTensorType type = dequantize.getValues().getType();
  RankedTensorType scalesType = dequantize.getScales().getType();
  if (type.getRank() != 2 || !type.hasStaticShape() ||
      !scalesType.hasStaticShape() ||
      !dequantize.getResult().getType().getElementType().isF32())
    return op->emitError("the test plugin's dequantize takes static 2-D "
                         "weights and gives f32");
  int64_t k = type.getDimSize(1), groups = scalesType.getDimSize(1);
  return launchElementwise(
      op, bundle, "test_dequantize",
      {dequantize.getValues(), dequantize.getScales()},
      dequantize.getResult(),
      [&](KernelBuilder &kb, ArrayRef<Value> buffers, Value i) -> Value {
        ImplicitLocOpBuilder &b = kb.builder();
        auto index = [&](int64_t v) {
          return arith::ConstantIndexOp::create(b, v).getResult();
        };
        Value n = arith::DivUIOp::create(b, i, index(k));
        Value group = arith::DivUIOp::create(
            b, arith::RemUIOp::create(b, i, index(k)), index(k / groups));
        Value scale = kb.load(
            buffers[1],
            arith::AddIOp::create(
                b, arith::MulIOp::create(b, n, index(groups)), group));
        Value q = arith::SIToFPOp::create(b, b.getF32Type(),
                                          kb.load(buffers[0], i));
        return arith::MulFOp::create(b, q, scale);
      });
}

extern "C" SieveCompilePluginInfo sieveGetCompilePluginInfo() {
  return {SIEVE_COMPILE_PLUGIN_API_VERSION, "sieve-test-plugin",
          [](DialectRegistry &registry) {
            registry.insert<sieve_test::SieveTestDialect>();
          },
          [](KernelProviderRegistry &providers) {
            sieve_test::registerSieveTestFoldScales();
            providers.add("sieve_test.scale", buildScale);
            providers.add(DequantizeOp::getOperationName(), buildDequantize);
          }};
}
