//===- MemoryPlan.h - Temporaries planned into one arena --------*- C++ -*-===//
//
// Every temporary buffer of a schedule is live from the first launch that
// uses it to the last (gate buffers, read after the run, to the end; what
// launches marked `reuse` write, kept across runs, throughout).
// planArena() gives the temporaries byte offsets in one arena so that
// buffers whose live ranges overlap never share bytes.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_MEMORYPLAN_H
#define SIEVE_CODEGEN_MEMORYPLAN_H

#include "codegen/BundleBuilder.h"

namespace mlir {
namespace sieve {

/// Sets the offset of every temporary of `manifest` and its arena size.
MemoryPlanStats planArena(BundleManifest &manifest);

} // namespace sieve
} // namespace mlir

#endif // SIEVE_CODEGEN_MEMORYPLAN_H
