//===- MemoryPlan.cpp - Temporaries planned into one arena ----------------===//
//
// Sizes may depend on the dynamic dimensions, so offsets are expressions
// too. The plan is a greedy colouring of the interval graph of live ranges
// into slots, in order of first use (which needs the fewest slots): a
// temporary takes a free slot of the same size if there is one, else the
// free slot whose size it changes least (sizes are compared where both are
// integers; a symbolic slot grows to max(a, b); constant and symbolic sizes
// do not share), else a new slot. Slots lie one after the other, each
// aligned to kBufferAlignment.
//
//===----------------------------------------------------------------------===//

#include "codegen/MemoryPlan.h"

#include "llvm/ADT/StringMap.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::sieve;

namespace {
struct LiveRange {
  std::size_t buffer;
  int64_t first, last;
};

struct Slot {
  SizeExpr bytes;
  int64_t lastUse;
  std::vector<std::size_t> buffers;
};
} // namespace

static SizeExpr alignUp(const SizeExpr &bytes) {
  return SizeExpr::ceilDiv(bytes, kBufferAlignment) * kBufferAlignment;
}

/// How well a buffer of `bytes` fits a slot of `slot` bytes: lower is
/// better; nullopt when they should not share (a constant size and one that
/// depends on the symbols: their max would stay symbolic for good).
static std::optional<int64_t> fitCost(const SizeExpr &slot,
                                      const SizeExpr &bytes) {
  if (slot == bytes)
    return 0;
  std::optional<int64_t> a = slot.getConstant(), b = bytes.getConstant();
  if (a && b)
    return *a >= *b ? *a - *b : 2 * (*b - *a);
  if (a || b)
    return std::nullopt;
  // Both symbolic: sharing makes the slot their max (which folds for
  // multiples of the same symbols).
  return std::numeric_limits<int64_t>::max() / 2;
}

MemoryPlanStats mlir::sieve::planArena(BundleManifest &manifest) {
  llvm::StringMap<std::size_t> index;
  for (auto [i, buffer] : llvm::enumerate(manifest.buffers))
    index[buffer.name] = i;
  std::vector<LiveRange> ranges;
  std::vector<int64_t> first(manifest.buffers.size(), -1),
      last(manifest.buffers.size(), -1);
  auto use = [&](const std::string &name, int64_t at) {
    std::size_t b = index.lookup(name);
    if (first[b] < 0)
      first[b] = at;
    last[b] = std::max(last[b], at);
  };
  for (auto [l, launch] : llvm::enumerate(manifest.launches))
    for (const KernelArg &arg : launch.args)
      if (arg.usesBuffer())
        use(arg.buffer, static_cast<int64_t>(l));
  int64_t end = static_cast<int64_t>(manifest.launches.size());
  for (const GateDecl &gate : manifest.gates) {
    use(gate.score, end);
    use(gate.mask, end);
  }
  // What a launch marked `reuse` writes must survive until the next run,
  // which may skip the launch: live throughout.
  for (const LaunchDecl &launch : manifest.launches)
    if (!launch.reuseInputs.empty())
      for (const KernelArg &arg : launch.args)
        if (arg.usesBuffer()) {
          use(arg.buffer, 0);
          use(arg.buffer, end);
        }

  MemoryPlanStats stats;
  stats.unsharedBytes = 0;
  for (auto [b, buffer] : llvm::enumerate(manifest.buffers)) {
    if (buffer.kind != "temporary")
      continue;
    ++stats.numTemporaries;
    stats.unsharedBytes = stats.unsharedBytes + alignUp(buffer.bytes);
    ranges.push_back({b, first[b], last[b]});
  }
  std::stable_sort(ranges.begin(), ranges.end(),
                   [](const LiveRange &x, const LiveRange &y) {
                     return x.first < y.first;
                   });

  std::vector<Slot> slots;
  for (const LiveRange &range : ranges) {
    const SizeExpr &bytes = manifest.buffers[range.buffer].bytes;
    Slot *best = nullptr;
    int64_t bestCost = 0;
    for (Slot &slot : slots) {
      // A temporary that no launch uses is never live: any slot holds it.
      if (range.first >= 0 && slot.lastUse >= range.first)
        continue;
      std::optional<int64_t> cost = fitCost(slot.bytes, bytes);
      if (cost && (!best || *cost < bestCost)) {
        best = &slot;
        bestCost = *cost;
      }
    }
    if (!best) {
      slots.push_back({bytes, range.last, {}});
      best = &slots.back();
    } else if (!(best->bytes == bytes)) {
      best->bytes = SizeExpr::max(best->bytes, bytes);
    }
    best->lastUse = std::max(best->lastUse, range.last);
    best->buffers.push_back(range.buffer);
  }

  SizeExpr offset = 0;
  for (const Slot &slot : slots) {
    for (std::size_t b : slot.buffers)
      manifest.buffers[b].offset = offset;
    offset = offset + alignUp(slot.bytes);
  }
  manifest.arenaBytes = offset;
  stats.arenaBytes = offset;
  stats.numSlots = slots.size();
  return stats;
}
