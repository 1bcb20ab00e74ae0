//===- SieveOps.h - sieve dialect ops ---------------------------*- C++ -*-===//
//
// Declares the ops of the sieve dialect (see SieveOps.td for the contract).
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_DIALECTS_SIEVE_SIEVEOPS_H
#define SIEVE_DIALECTS_SIEVE_SIEVEOPS_H

#include "dialects/sieve/SieveDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir {
namespace sieve {

/// Marks a sieve op as speculatable when all its operands have static shapes.
/// Then the verifier has checked every rule of the op contract; with dynamic
/// shapes an executor checks the rest at run time and may fail, so the op must
/// not be hoisted out of the code that guards it.
template <typename ConcreteType>
class SpeculatableIfStaticShapes
    : public OpTrait::TraitBase<ConcreteType, SpeculatableIfStaticShapes> {
public:
  Speculation::Speculatability getSpeculatability() {
    for (Type type : this->getOperation()->getOperandTypes())
      if (auto shaped = dyn_cast<ShapedType>(type);
          !shaped || !shaped.hasStaticShape())
        return Speculation::NotSpeculatable;
    return Speculation::Speculatable;
  }
};

} // namespace sieve
} // namespace mlir

#define GET_OP_CLASSES
#include "dialects/sieve/SieveOps.h.inc"

#endif // SIEVE_DIALECTS_SIEVE_SIEVEOPS_H
