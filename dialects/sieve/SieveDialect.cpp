//===- SieveDialect.cpp - The sieve dialect -------------------------------===//
//
// Registers the sieve dialect's ops and attributes and materializes the
// constants its folders produce.
//
//===----------------------------------------------------------------------===//

#include "dialects/sieve/SieveDialect.h"
#include "dialects/sieve/SieveOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::sieve;

#include "dialects/sieve/SieveDialect.cpp.inc"
#include "dialects/sieve/SieveEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/sieve/SieveAttrs.cpp.inc"

void SieveDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/sieve/SieveOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/sieve/SieveAttrs.cpp.inc"
      >();
}

Operation *SieveDialect::materializeConstant(OpBuilder &builder,
                                             Attribute value, Type type,
                                             Location loc) {
  return arith::ConstantOp::materialize(builder, value, type, loc);
}
