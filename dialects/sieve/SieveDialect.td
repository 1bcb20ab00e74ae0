//===- SieveDialect.td - The sieve dialect -----------------*- tablegen -*-===//
//
// The dialect record, its attributes and the base class of its ops.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_DIALECT_TD
#define SIEVE_DIALECT_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"

def Sieve_Dialect : Dialect {
  let name = "sieve";
  let cppNamespace = "::mlir::sieve";
  let summary = "Hybrid attention, token gating, compaction and quantization";
  let description = [{
    The `sieve` dialect expresses the three remedies of long-context
    transformers that Sieve compiles:

    * **hybrid attention**: every query sees a sliding window of nearby keys
      plus a few global tokens (`sieve.hybrid_attention`), with the global
      tokens chosen by a learned score (`sieve.select_global`);
    * **dynamic gating**: a small MLP scores every token and only the tokens
      it selects take the expensive path (`sieve.gate`, `sieve.compact`,
      `sieve.scatter`);
    * **low precision**: symmetric per-group int8/int4 weights
      (`sieve.quantize`, `sieve.dequantize`, `sieve.qmatmul`).

    All ops work on ranked tensors and have value semantics. Shapes are
    written `[B, H, S, D]` (batch, heads, sequence, head dimension). Float
    element types are `f32`, `f16` and `bf16`; arithmetic accumulates in f32;
    unless an op says otherwise, a result has the element type of the first
    float operand and the float operands of one op share one element type.
    Any dimension the contract does not need statically may be dynamic
    (`?`); rules that can then only be checked at run time (for example
    `Hq % Hkv == 0`) are checked by every executor, which fails with an error
    rather than reading out of bounds.

    The semantics below are the contract every executor (the CPU reference,
    the SIMT emulator and CUDA) implements and is tested against.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Sieve_ActivationKind : I32EnumAttr<"Activation",
    "activation function of the gating MLP", [
      I32EnumAttrCase<"Relu", 0, "relu">,
      I32EnumAttrCase<"Silu", 1, "silu">,
      I32EnumAttrCase<"Gelu", 2, "gelu">
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::sieve";
}

def Sieve_ActivationAttr : EnumAttr<Sieve_Dialect, Sieve_ActivationKind,
                                    "activation"> {
  let summary = "activation of the gating MLP: `relu`, `silu` or `gelu` "
                "(exact erf form)";
}

//===----------------------------------------------------------------------===//
// Base op class
//===----------------------------------------------------------------------===//

class Sieve_Op<string mnemonic, list<Trait> traits = []>
    : Op<Sieve_Dialect, mnemonic, traits>;

#endif // SIEVE_DIALECT_TD
