//===- TestPlugin.td - The test plugin's dialect and pass --*- tablegen -*-===//
//
// A dialect with one op and a pass, defined outside Sieve, that a
// sieve-compile plugin brings along (test/lib/plugin/TestPlugin.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_TEST_PLUGIN_TD
#define SIEVE_TEST_PLUGIN_TD

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Pass/PassBase.td"

def SieveTest_Dialect : Dialect {
  let name = "sieve_test";
  let summary = "Ops of the sieve-compile test plugin";
  let cppNamespace = "::sieve_test";
}

def SieveTest_ScaleOp : Op<SieveTest_Dialect, "scale",
                           [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Multiplies every element by a constant";
  let description = [{
    `result = input * factor`, elementwise, on f32 tensors of any shape.
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$input, F32Attr:$factor);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = "$input `by` $factor attr-dict `:` type($input)";
}

def SieveTestFoldScales : Pass<"sieve-test-fold-scales",
                               "::mlir::func::FuncOp"> {
  let summary = "Fold scale(scale(x, a), b) into scale(x, a * b)";
  let description = [{
    A pass of the test plugin: after it, a chain of scales is one op, so one
    kernel.
  }];
}

#endif // SIEVE_TEST_PLUGIN_TD
