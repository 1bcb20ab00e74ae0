//===- SieveDialect.h - The sieve dialect -----------------------*- C++ -*-===//
//
// Declares the sieve dialect, its enums and attributes.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_DIALECTS_SIEVE_SIEVEDIALECT_H
#define SIEVE_DIALECTS_SIEVE_SIEVEDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "dialects/sieve/SieveDialect.h.inc"
#include "dialects/sieve/SieveEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/sieve/SieveAttrs.h.inc"

#endif // SIEVE_DIALECTS_SIEVE_SIEVEDIALECT_H
