//===- PassStatistics.h - llvm::Statistic as libMLIR sees it ----*- C++ -*-===//
//
// Force-included (by the top-level CMakeLists.txt) into every file of Sieve's
// compiler when Sieve keeps its assertions on but LLVM was built without
// them, as Debian's packages are.
//
// mlir::Pass::Statistic derives from llvm::Statistic, which is a counter when
// llvm/ADT/Statistic.h is compiled without NDEBUG and an empty no-op class
// with it. libMLIR fixed that choice when it was built. Compiled with
// -UNDEBUG, Sieve's passes would see the counter layout while libMLIR's
// constructors initialize the no-op one, leaving memory uninitialized. So
// Statistic.h is included here first, the way LLVM was built; its include
// guard keeps that version for the rest of the file. (The statistics of such
// an LLVM are no-ops: --mlir-pass-statistics prints nothing, and Sieve's
// passes also report their numbers as remarks.)
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PASSES_PASSSTATISTICS_H
#define SIEVE_PASSES_PASSSTATISTICS_H

#ifdef __cplusplus
#ifdef LLVM_ADT_STATISTIC_H
#error "passes/PassStatistics.h must come before llvm/ADT/Statistic.h"
#endif
#ifndef NDEBUG
#define NDEBUG
#include "llvm/ADT/Statistic.h"
#undef NDEBUG
#else
#include "llvm/ADT/Statistic.h"
#endif
#include <cassert> // assert() is on again for what follows
#endif

#endif // SIEVE_PASSES_PASSSTATISTICS_H
