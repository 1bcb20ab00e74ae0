//===- PassStatistics.h - Pass statistics as libMLIR sees them --*- C++ -*-===//
//
// Include first in a file that defines a pass with statistics.
//
// mlir::Pass::Statistic derives from llvm::Statistic, which is a counter when
// llvm/ADT/Statistic.h is compiled without NDEBUG (or with
// LLVM_FORCE_ENABLE_STATS) and an empty no-op class otherwise. libMLIR fixed
// that choice when it was built: an LLVM without assertions (Debian's
// packages) has no-op statistics, and its --mlir-pass-statistics report is
// empty. Sieve keeps assertions on in its own code (-UNDEBUG), which would
// give its passes the counter layout while libMLIR's Statistic constructor
// initializes the no-op one, leaving the counters uninitialized. This header
// includes Statistic.h the way LLVM was built.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PASSES_PASSSTATISTICS_H
#define SIEVE_PASSES_PASSSTATISTICS_H

#include "llvm/Config/llvm-config.h"

#if !SIEVE_LLVM_ENABLE_ASSERTIONS && !LLVM_FORCE_ENABLE_STATS &&               \
    !defined(NDEBUG)
#ifdef LLVM_ADT_STATISTIC_H
#error "include passes/PassStatistics.h before other LLVM and MLIR headers"
#endif
#define NDEBUG
#include "llvm/ADT/Statistic.h"
#undef NDEBUG
#include <cassert> // assert() is on again
#endif

#include "llvm/ADT/Statistic.h"
#if !SIEVE_LLVM_ENABLE_ASSERTIONS && !LLVM_FORCE_ENABLE_STATS &&               \
    LLVM_ENABLE_STATS
#error "llvm::Statistic does not have the layout libMLIR was built with"
#endif

#endif // SIEVE_PASSES_PASSSTATISTICS_H
