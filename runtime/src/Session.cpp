//===- Session.cpp - A bundle bound to a device ---------------------------===//
//
// Buffers persist across runs and grow when the sizes do, so repeated runs
// with the same shapes neither allocate nor upload unchanged host inputs.
// Kernels must treat input buffers as read-only (docs/bundle-format.md), so
// an input uploaded once stays valid until it is bound again; for the same
// reason a launch marked `reuse` (e.g. repacking weights) is skipped while
// its host inputs, sizes and buffers are those of its last successful run.
//
//===----------------------------------------------------------------------===//

#include "Session.h"

#include "sieve/RunTool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace sieve;
using namespace sieve::rt;

namespace {
constexpr uint64_t kStridedInputAlignment = 16;

/// "[1x8xs0x64]": a shape as the manifest gives it.
std::string formatExpectedShape(const TensorSpec &spec) {
  std::string text = "[";
  for (std::size_t i = 0; i < spec.shape.size(); ++i)
    text += (i ? "x" : "") + spec.shape[i].expr.getText();
  return text + "]";
}

/// Elements x dtype size, or false on overflow.
bool getTensorBytes(const std::vector<int64_t> &shape, DType dtype,
                    uint64_t &bytes) {
  uint64_t count = 1;
  for (int64_t size : shape)
    if (size < 0 ||
        __builtin_mul_overflow(count, static_cast<uint64_t>(size), &count))
      return false;
  return !__builtin_mul_overflow(count, getDTypeSize(dtype), &bytes) &&
         bytes <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

/// True if `strides` (elements) describe the dense row-major layout of
/// `shape`; the strides of size-1 dimensions do not matter, and an empty
/// tensor has no layout.
bool isRowMajor(const std::vector<int64_t> &shape, const int64_t *strides) {
  if (!strides)
    return true;
  int64_t expected = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 0)
      return true;
    if (shape[i] != 1 && strides[i] != expected)
      return false;
    expected *= shape[i];
  }
  return true;
}

/// The row-major strides of `shape`.
std::vector<int64_t> getRowMajorStrides(const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;)
    strides[i - 1] = strides[i] * std::max<int64_t>(shape[i], 1);
  return strides;
}

/// Copies the strided view at `src` into the dense row-major `dst`.
void packStrided(uint8_t *dst, const uint8_t *src,
                 const std::vector<int64_t> &shape, const int64_t *strides,
                 std::size_t elementSize, std::size_t dim) {
  int64_t size = shape[dim];
  std::ptrdiff_t step = static_cast<std::ptrdiff_t>(strides[dim]) *
                        static_cast<std::ptrdiff_t>(elementSize);
  if (dim + 1 == shape.size()) {
    if (strides[dim] == 1) {
      std::memcpy(dst, src, static_cast<size_t>(size) * elementSize);
      return;
    }
    for (int64_t i = 0; i < size; ++i)
      std::memcpy(dst + i * elementSize, src + i * step, elementSize);
    return;
  }
  std::size_t inner = elementSize;
  for (std::size_t d = dim + 1; d < shape.size(); ++d)
    inner *= static_cast<std::size_t>(shape[d]);
  for (int64_t i = 0; i < size; ++i)
    packStrided(dst + i * inner, src + i * step, shape, strides, elementSize,
                dim + 1);
}

std::string formatSymbols(const Manifest &manifest,
                          const std::vector<int64_t> &values) {
  std::string text;
  for (std::size_t i = 0; i < values.size(); ++i)
    text += (i ? ", " : "") + manifest.symbolNames[i] + " = " +
            std::to_string(values[i]);
  return text;
}
} // namespace

GateStats sieve::rt::computeGateStats(const float *scores, const uint8_t *mask,
                                      int64_t tokens) {
  GateStats stats;
  stats.tokens = tokens;
  double entropySum = 0;
  int64_t counted = 0;
  for (int64_t i = 0; i < tokens; ++i) {
    if (mask[i] & 1)
      ++stats.activeTokens;
    double p = scores[i];
    if (std::isnan(p)) {
      ++stats.nanScores;
      continue;
    }
    p = std::min(1.0, std::max(0.0, p));
    double h = 0;
    if (p > 0 && p < 1)
      h = -p * std::log2(p) - (1 - p) * std::log2(1 - p);
    entropySum += h;
    ++counted;
  }
  double nan = std::numeric_limits<double>::quiet_NaN();
  stats.activeTokenRatio =
      tokens ? static_cast<double>(stats.activeTokens) / tokens : nan;
  stats.meanScoreEntropyBits = counted ? entropySum / counted : nan;
  return stats;
}

Status sieve::rt::planStridedCopy(const std::vector<int64_t> &shape,
                                  const int64_t *strides, uint64_t elementSize,
                                  uint64_t maxCopies, StridedCopyPlan &plan) {
  plan = StridedCopyPlan();
  // The dimensions that matter (size-1 ones do not), outermost first, with
  // neighbours merged where the outer one steps over the inner one exactly.
  struct Dim {
    uint64_t size, stride;
  };
  std::vector<Dim> dims;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0)
      return Status(); // empty: nothing to copy
    if (strides[d] < 0)
      return unsupported("dimension " + std::to_string(d) + " has stride " +
                         std::to_string(strides[d]) +
                         "; negative strides are not supported");
    if (shape[d] == 1)
      continue;
    Dim dim{static_cast<uint64_t>(shape[d]), static_cast<uint64_t>(strides[d])};
    if (!dims.empty() && dims.back().stride == dim.size * dim.stride)
      dims.back() = Dim{dims.back().size * dim.size, dim.stride};
    else
      dims.push_back(dim);
  }
  plan.span = elementSize;
  for (const Dim &dim : dims)
    plan.span += (dim.size - 1) * dim.stride * elementSize;

  // Rows: the contiguous innermost run, or single elements.
  plan.width = elementSize;
  if (!dims.empty() && dims.back().stride == 1) {
    plan.width = dims.back().size * elementSize;
    dims.pop_back();
  }
  plan.height = 1;
  plan.pitch = plan.width;
  if (!dims.empty() && dims.back().stride * elementSize >= plan.width) {
    plan.height = dims.back().size;
    plan.pitch = dims.back().stride * elementSize;
    dims.pop_back();
  }
  uint64_t copies = 1;
  for (const Dim &dim : dims)
    copies *= dim.size;
  if (copies > maxCopies)
    return unsupported("its layout takes " + std::to_string(copies) +
                       " strided copies (at most " + std::to_string(maxCopies) +
                       "); pass a contiguous tensor");
  // Every combination of the remaining indices, in row-major order.
  plan.sourceOffsets.reserve(static_cast<std::size_t>(copies));
  std::vector<uint64_t> index(dims.size(), 0);
  for (uint64_t c = 0; c < copies; ++c) {
    uint64_t offset = 0;
    for (std::size_t d = 0; d < dims.size(); ++d)
      offset += index[d] * dims[d].stride * elementSize;
    plan.sourceOffsets.push_back(offset);
    for (std::size_t d = dims.size(); d-- > 0;) {
      if (++index[d] < dims[d].size)
        break;
      index[d] = 0;
    }
  }
  return Status();
}

Status Session::create(std::shared_ptr<const Bundle> bundle,
                       std::shared_ptr<Device> device, uint32_t flags,
                       std::unique_ptr<Session> &session) {
  constexpr uint32_t kKnownFlags = SIEVE_SESSION_LAUNCH_TIMINGS |
                                   SIEVE_SESSION_CUDA_GRAPH |
                                   SIEVE_SESSION_SYNC_EACH_LAUNCH;
  if (flags & ~kKnownFlags)
    return invalidArgument("unknown session flags 0x" + [&] {
      char text[16];
      std::snprintf(text, sizeof(text), "%x", flags & ~kKnownFlags);
      return std::string(text);
    }());
  std::unique_ptr<Session> result(new Session());
  result->bundle = bundle;
  result->device = device;
  result->flags = flags;
  SIEVE_RETURN_IF_ERROR(device->createExecutor(bundle, flags, result->executor)
                            .withContext("preparing bundle '" +
                                         bundle->getDirectory() + "' on " +
                                         device->getName()));
  result->bindings.resize(bundle->getManifest().inputs.size());
  result->outputBindings.resize(bundle->getManifest().outputs.size());
  result->buffers.resize(bundle->getManifest().buffers.size());
  result->reuse.resize(bundle->getManifest().launches.size());
  SIEVE_RETURN_IF_ERROR(result->allocateTensorMaps());
  session = std::move(result);
  return Status();
}

Session::~Session() {
  if (!executor)
    return;
  if (hasRun && !waited)
    (void)executor->wait();
  for (Buffer &buffer : buffers)
    if (buffer.owned)
      executor->release(buffer.owned);
  for (Buffer *buffer : {&arena, &constants})
    if (buffer->owned)
      executor->release(buffer->owned);
  if (tensorMapMemory)
    executor->release(tensorMapMemory);
}

Status Session::allocateTensorMaps() {
  // The slots' addresses are the kernels' parameters: they stay the same for
  // the life of the session (and of a captured CUDA graph), while their
  // contents are uploaded before the launches of each run that changes them.
  const Manifest &manifest = bundle->getManifest();
  if (!manifest.tensorMapCount)
    return Status();
  tensorMaps.resize(manifest.tensorMapCount);
  for (std::size_t l = 0; l < manifest.launches.size(); ++l)
    for (std::size_t a = 0; a < manifest.launches[l].args.size(); ++a) {
      const ArgSpec &arg = manifest.launches[l].args[a];
      if (arg.kind != ParamKind::TensorMap)
        continue;
      tensorMaps[arg.tensorMap.slot].launch = l;
      tensorMaps[arg.tensorMap.slot].arg = a;
    }
  uint64_t bytes = manifest.tensorMapCount * kTensorMapSlotBytes;
  tensorMapHost.assign(static_cast<std::size_t>(bytes), 0);
  return executor->allocate(bytes, tensorMapMemory)
      .withContext("allocating the tensor maps (" + std::to_string(bytes) +
                   " bytes)");
}

std::string Session::describeInput(std::size_t index) const {
  return "input '" + bundle->getManifest().inputs[index].name + "' (#" +
         std::to_string(index) + ")";
}

Status Session::checkBinding(std::size_t index, DType dtype,
                             const std::vector<int64_t> &shape,
                             uint64_t &bytes) const {
  const Manifest &manifest = bundle->getManifest();
  const TensorSpec &spec = manifest.inputs[index];
  std::string what = describeInput(index);
  if (dtype != spec.dtype)
    return invalidArgument(what + ": dtype " + getDTypeName(dtype) +
                           ", the bundle expects " + getDTypeName(spec.dtype));
  for (std::size_t d = 0; d < shape.size(); ++d)
    if (shape[d] < 0)
      return invalidArgument(what + ": dimension " + std::to_string(d) +
                             " is negative (" + std::to_string(shape[d]) + ")");
  bool matches = shape.size() == spec.shape.size();
  for (std::size_t d = 0; matches && d < shape.size(); ++d)
    matches = !spec.shape[d].size || *spec.shape[d].size == shape[d];
  if (!matches)
    return invalidArgument(what + ": shape " + formatShape(shape) +
                           ", the bundle expects " + formatExpectedShape(spec));

  SIEVE_RETURN_IF_ERROR(checkSymbols(index, shape, /*sinceLastRun=*/true));
  if (!getTensorBytes(shape, dtype, bytes))
    return invalidArgument(what + ": shape " + formatShape(shape) +
                           " is too large");
  return Status();
}

Status Session::checkSymbols(std::size_t index,
                             const std::vector<int64_t> &shape,
                             bool sinceLastRun) const {
  // A symbol must have one value across the bound inputs (and within one),
  // whichever input the manifest binds it from.
  const Manifest &manifest = bundle->getManifest();
  const TensorSpec &spec = manifest.inputs[index];
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (spec.shape[d].size)
      continue;
    const std::string &symbol = spec.shape[d].expr.getText();
    for (std::size_t other = 0; other < manifest.inputs.size(); ++other) {
      const Binding &binding = bindings[other];
      if (other != index &&
          (!binding.bound || (sinceLastRun && binding.epoch != runsStarted)))
        continue;
      const std::vector<int64_t> &otherShape =
          other == index ? shape : binding.shape;
      const TensorSpec &otherSpec = manifest.inputs[other];
      for (std::size_t e = 0; e < otherSpec.shape.size(); ++e) {
        if (otherSpec.shape[e].size ||
            otherSpec.shape[e].expr.getText() != symbol ||
            otherShape[e] == shape[d])
          continue;
        // At run time, say which binding is left over from an earlier run.
        std::string stale;
        if (!sinceLastRun && binding.epoch != runsStarted)
          stale = describeInput(other);
        else if (!sinceLastRun && bindings[index].epoch != runsStarted)
          stale = describeInput(index);
        return invalidArgument(
            describeInput(index) + ": dimension " + std::to_string(d) + " is " +
            std::to_string(shape[d]) + ", but symbol " + symbol + " is " +
            std::to_string(otherShape[e]) + " from " +
            (other == index ? std::string("its") : describeInput(other)) +
            " dimension " + std::to_string(e) +
            (stale.empty() ? std::string()
                           : " (" + stale +
                                 " was bound before the last run; bind it "
                                 "again for the new sizes)"));
      }
    }
  }
  return Status();
}

Status Session::getStridedLayout(std::size_t index, DType dtype,
                                 const std::vector<int64_t> &shape,
                                 const int64_t *strides,
                                 std::vector<int64_t> &layout,
                                 uint64_t &bytes) const {
  layout = strides ? std::vector<int64_t>(strides, strides + shape.size())
                   : getRowMajorStrides(shape);
  // The view's elements lie in [0, 1 + sum (size_i - 1) * stride_i).
  uint64_t span = 1;
  bytes = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (layout[d] < 0)
      return unsupported(describeInput(index) + ": stride " +
                         std::to_string(layout[d]) + " of dimension " +
                         std::to_string(d) +
                         " is negative; strided inputs take strides >= 0");
    if (shape[d] == 0)
      return Status();
    uint64_t extent;
    if (__builtin_mul_overflow(static_cast<uint64_t>(shape[d] - 1),
                               static_cast<uint64_t>(layout[d]), &extent) ||
        __builtin_add_overflow(span, extent, &span))
      return invalidArgument(describeInput(index) + ": the strided view is "
                                                    "too large");
  }
  if (__builtin_mul_overflow(span, getDTypeSize(dtype), &bytes) ||
      bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return invalidArgument(describeInput(index) +
                           ": the strided view is too large");
  return Status();
}

Status Session::bindHost(std::size_t index, DType dtype,
                         const std::vector<int64_t> &shape,
                         const int64_t *strides, const void *data) {
  uint64_t bytes;
  SIEVE_RETURN_IF_ERROR(checkBinding(index, dtype, shape, bytes));
  bool strided = bundle->getManifest().inputs[index].strided;
  std::vector<int64_t> layout;
  // A strided input keeps the caller's layout: the bytes the view spans are
  // copied as they are, and the kernels get the strides.
  if (strided)
    SIEVE_RETURN_IF_ERROR(
        getStridedLayout(index, dtype, shape, strides, layout, bytes));
  if (!data && bytes)
    return invalidArgument(describeInput(index) + ": null data pointer");
  Binding binding;
  binding.bound = true;
  binding.epoch = runsStarted;
  binding.serial = ++bindSerial;
  binding.shape = shape;
  binding.strides = std::move(layout);
  binding.bytes = bytes;
  try {
    binding.host.resize(static_cast<std::size_t>(bytes));
  } catch (const std::bad_alloc &) {
    return Status(SIEVE_ERROR_OUT_OF_MEMORY,
                  describeInput(index) + ": cannot allocate " +
                      std::to_string(bytes) + " bytes to stage it");
  }
  if (bytes) {
    if (strided || isRowMajor(shape, strides))
      std::memcpy(binding.host.data(), data, static_cast<std::size_t>(bytes));
    else
      packStrided(binding.host.data(), static_cast<const uint8_t *>(data),
                  shape, strides, getDTypeSize(dtype), 0);
  }
  bindings[index] = std::move(binding);
  return Status();
}

Status Session::bindDevice(std::size_t index, DType dtype,
                           const std::vector<int64_t> &shape,
                           const int64_t *strides, DeviceAddress address) {
  uint64_t bytes;
  SIEVE_RETURN_IF_ERROR(checkBinding(index, dtype, shape, bytes));
  std::string what = describeInput(index);
  if (device->getKind() != SIEVE_DEVICE_CUDA)
    return unsupported(what + ": the emulator has no device memory of its "
                              "own; bind a host tensor");
  // A strided input keeps the caller's layout (its kernels get the strides);
  // other inputs take any view and have it packed at every run.
  bool keepsLayout = bundle->getManifest().inputs[index].strided;
  std::vector<int64_t> layout;
  if (keepsLayout)
    SIEVE_RETURN_IF_ERROR(
        getStridedLayout(index, dtype, shape, strides, layout, bytes));
  Binding binding;
  binding.bound = true;
  binding.epoch = runsStarted;
  binding.serial = ++bindSerial;
  binding.shape = shape;
  binding.strides = std::move(layout);
  binding.bytes = bytes;
  binding.onDevice = true;
  binding.device = address;
  uint64_t span = bytes;
  if (!keepsLayout && !isRowMajor(shape, strides)) {
    // Packed on the device at every run, one 2-D copy per row block.
    constexpr uint64_t kMaxStridedCopies = 1 << 16;
    SIEVE_RETURN_IF_ERROR(planStridedCopy(shape, strides, getDTypeSize(dtype),
                                          kMaxStridedCopies,
                                          binding.stridedCopy)
                              .withContext(what));
    binding.strided = true;
    span = binding.stridedCopy.span;
  }
  if (bytes)
    SIEVE_RETURN_IF_ERROR(
        executor->checkDeviceRange(address, span).withContext(what));
  bindings[index] = std::move(binding);
  return Status();
}

Status Session::bindOutputDevice(std::size_t index, DeviceAddress address,
                                 uint64_t bytes) {
  const TensorSpec &spec = bundle->getManifest().outputs[index];
  std::string what =
      "output '" + spec.name + "' (#" + std::to_string(index) + ")";
  if (device->getKind() != SIEVE_DEVICE_CUDA)
    return unsupported(what + ": the emulator has no device memory of its "
                              "own; read outputs with "
                              "sieve_session_read_output");
  if (!address) {
    outputBindings[index] = OutputBinding();
    return Status();
  }
  if (bytes)
    SIEVE_RETURN_IF_ERROR(
        executor->checkDeviceRange(address, bytes).withContext(what));
  outputBindings[index] = OutputBinding{address, bytes};
  return Status();
}

Status Session::getSymbolValues(std::vector<int64_t> &values) const {
  const Manifest &manifest = bundle->getManifest();
  values.clear();
  for (const SymbolSpec &symbol : manifest.symbols) {
    const Binding &binding = bindings[symbol.input];
    if (!binding.bound)
      return failedPrecondition(
          describeInput(symbol.input) + " is not bound; symbol " + symbol.name +
          " is its " + (symbol.isStride ? "stride of dimension " : "dimension ") +
          std::to_string(symbol.dim));
    values.push_back(symbol.isStride ? binding.strides[symbol.dim]
                                     : binding.shape[symbol.dim]);
  }
  return Status();
}

Status Session::evaluateOutputShape(std::size_t index,
                                    const std::vector<int64_t> &symbols,
                                    std::vector<int64_t> &shape,
                                    uint64_t &bytes) const {
  const Manifest &manifest = bundle->getManifest();
  const TensorSpec &spec = manifest.outputs[index];
  std::string what =
      "output '" + spec.name + "' (#" + std::to_string(index) + ")";
  shape.clear();
  for (std::size_t d = 0; d < spec.shape.size(); ++d) {
    int64_t size;
    SIEVE_RETURN_IF_ERROR(
        spec.shape[d]
            .expr.evaluate(symbols, manifest.symbolNames, size)
            .withContext(what + " dimension " + std::to_string(d)));
    if (size < 0)
      return invalidBundle(what + ": dimension " + std::to_string(d) + " ('" +
                           spec.shape[d].expr.getText() + "') is " +
                           std::to_string(size) + " for " +
                           formatSymbols(manifest, symbols));
    shape.push_back(size);
  }
  if (!getTensorBytes(shape, spec.dtype, bytes))
    return invalidArgument(what + ": shape " + formatShape(shape) +
                           " is too large");
  return Status();
}

Status Session::getOutputShape(std::size_t index,
                               std::vector<int64_t> &shape) const {
  std::vector<int64_t> symbols;
  SIEVE_RETURN_IF_ERROR(getSymbolValues(symbols));
  uint64_t bytes;
  return evaluateOutputShape(index, symbols, shape, bytes);
}

Status Session::run(void *stream) {
  const Manifest &manifest = bundle->getManifest();
  if (stream && device->getKind() != SIEVE_DEVICE_CUDA)
    return invalidArgument("the emulator runs on no CUDA stream; pass NULL");
  // The previous run may still use the buffers this one is about to change.
  if (hasRun && !waited)
    SIEVE_RETURN_IF_ERROR(waitForRun().withContext("the previous run failed"));
  hasRun = false;

  for (std::size_t i = 0; i < bindings.size(); ++i)
    if (!bindings[i].bound)
      return failedPrecondition(describeInput(i) + " is not bound");
  for (std::size_t i = 0; i < bindings.size(); ++i)
    SIEVE_RETURN_IF_ERROR(
        checkSymbols(i, bindings[i].shape, /*sinceLastRun=*/false));
  ++runsStarted;
  SIEVE_RETURN_IF_ERROR(getSymbolValues(runSymbols));

  for (const CheckSpec &check : manifest.checks) {
    int64_t holds;
    SIEVE_RETURN_IF_ERROR(
        check.expr.evaluate(runSymbols, manifest.symbolNames, holds)
            .withContext("check '" + check.expr.getText() + "'"));
    if (!holds)
      return failedPrecondition(check.message + " (check '" +
                                check.expr.getText() + "' fails for " +
                                formatSymbols(manifest, runSymbols) + ")");
  }

  Status prepared = prepareBuffers(stream);
  if (prepared.isOk())
    prepared = planLaunches();
  if (!prepared.isOk()) {
    forgetReuse();
    return prepared;
  }
  std::vector<std::vector<uint64_t>> keys = planReuse();
  Status status = uploadTensorMaps(stream);
  if (status.isOk())
    status = executor->execute(plans, copiesAfter, stream);
  if (!status.isOk()) {
    // Drain what was queued before the failure; the buffers stay in use
    // until it finishes.
    (void)executor->wait();
    forgetReuse();
    return status;
  }
  // What the launches with `reuse` leave behind, once the run succeeds
  // (waitForRun forgets it otherwise).
  for (std::size_t l = 0; l < plans.size(); ++l)
    if (!keys[l].empty()) {
      reuse[l].valid = true;
      reuse[l].key = std::move(keys[l]);
    }
  hasRun = true;
  waited = false;
  if (!stream)
    return waitForRun();
  return Status();
}

Status Session::prepareBuffers(void *stream) {
  const Manifest &manifest = bundle->getManifest();
  // `what` names the expression for messages: "buffer 'a' (bytes '4*n')".
  auto evaluateBytes = [&](const Expr &expr, const std::string &what,
                           uint64_t &result) -> Status {
    int64_t value;
    SIEVE_RETURN_IF_ERROR(
        expr.evaluate(runSymbols, manifest.symbolNames, value)
            .withContext(what));
    if (value < 0)
      return invalidBundle(what + " is " + std::to_string(value) +
                           " bytes for " + formatSymbols(manifest, runSymbols));
    result = static_cast<uint64_t>(value);
    return Status();
  };
  uint64_t arenaBytes;
  SIEVE_RETURN_IF_ERROR(evaluateBytes(
      manifest.arenaBytes,
      "arena_bytes '" + manifest.arenaBytes.getText() + "'", arenaBytes));
  std::vector<uint64_t> offsets(manifest.buffers.size(), 0);
  for (std::size_t b = 0; b < manifest.buffers.size(); ++b) {
    const BufferSpec &spec = manifest.buffers[b];
    std::string what = "buffer '" + spec.name + "'";
    SIEVE_RETURN_IF_ERROR(evaluateBytes(
        spec.bytes, what + " (bytes '" + spec.bytes.getText() + "')",
        buffers[b].bytes));
    if (spec.kind != BufferKind::Temporary)
      continue;
    SIEVE_RETURN_IF_ERROR(evaluateBytes(
        spec.offset, what + " (offset '" + spec.offset.getText() + "')",
        offsets[b]));
    if (offsets[b] % kBufferAlignment != 0 || offsets[b] > arenaBytes ||
        buffers[b].bytes > arenaBytes - offsets[b])
      return invalidBundle(what + ": " + std::to_string(buffers[b].bytes) +
                           " bytes at offset " + std::to_string(offsets[b]) +
                           " do not lie " + std::to_string(kBufferAlignment) +
                           "-byte aligned in the arena of " +
                           std::to_string(arenaBytes) + " bytes (" +
                           formatSymbols(manifest, runSymbols) + ")");
  }
  SIEVE_RETURN_IF_ERROR(checkArenaPlan(offsets));

  // A strided input's buffer holds the span of the bound view, which may be
  // larger (or, with zero strides, smaller) than the dense tensor.
  for (std::size_t i = 0; i < manifest.inputs.size(); ++i)
    if (manifest.inputs[i].strided) {
      uint64_t &bytes = buffers[manifest.inputs[i].buffer].bytes;
      bytes = std::max(bytes, bindings[i].bytes);
    }

  // Each input and output must fit its buffer.
  auto checkFits = [&](const std::string &what, std::size_t buffer,
                       uint64_t bytes) -> Status {
    if (buffers[buffer].bytes >= bytes)
      return Status();
    return invalidBundle("buffer '" + manifest.buffers[buffer].name +
                         "' holds " + std::to_string(buffers[buffer].bytes) +
                         " bytes, " + what + " needs " + std::to_string(bytes) +
                         " (" + formatSymbols(manifest, runSymbols) + ")");
  };
  for (std::size_t i = 0; i < manifest.inputs.size(); ++i)
    SIEVE_RETURN_IF_ERROR(checkFits(describeInput(i), manifest.inputs[i].buffer,
                                    bindings[i].bytes));
  copiesAfter.clear();
  std::vector<int> inPlaceOutput(manifest.buffers.size(), -1);
  // Outputs copied to the caller's memory after the launches: (output,
  // bytes).
  std::vector<std::pair<std::size_t, uint64_t>> copiedOutputs;
  for (std::size_t o = 0; o < manifest.outputs.size(); ++o) {
    std::vector<int64_t> shape;
    uint64_t bytes;
    SIEVE_RETURN_IF_ERROR(evaluateOutputShape(o, runSymbols, shape, bytes));
    const TensorSpec &spec = manifest.outputs[o];
    SIEVE_RETURN_IF_ERROR(
        checkFits("output '" + spec.name + "'", spec.buffer, bytes));
    const OutputBinding &bound = outputBindings[o];
    if (!bound.address)
      continue;
    if (bound.bytes < bytes)
      return invalidArgument("output '" + spec.name + "' (#" +
                             std::to_string(o) + ") is " +
                             getDTypeName(spec.dtype) + formatShape(shape) +
                             ", " + std::to_string(bytes) +
                             " bytes, but the device memory bound to it "
                             "holds " +
                             std::to_string(bound.bytes));
    // Kernels write the whole buffer, so the caller's memory serves as the
    // buffer only when it holds all of it; otherwise the output is copied
    // there after the launches.
    if (bound.address % kBufferAlignment == 0 &&
        bound.bytes >= buffers[spec.buffer].bytes)
      inPlaceOutput[spec.buffer] = static_cast<int>(o);
    else if (bytes)
      copiedOutputs.emplace_back(o, bytes);
  }

  // A device input that is its buffer exactly (and aligned as kernels may
  // assume: 256 bytes, or 16 for a strided input, whose kernels address rows
  // through strides) is used in place; everything else lives in owned
  // memory.
  std::vector<int> inPlaceInput(manifest.buffers.size(), -1);
  for (std::size_t i = 0; i < manifest.inputs.size(); ++i) {
    const Binding &binding = bindings[i];
    std::size_t b = manifest.inputs[i].buffer;
    uint64_t alignment =
        manifest.inputs[i].strided ? kStridedInputAlignment : kBufferAlignment;
    if (binding.onDevice && !binding.strided &&
        binding.device % alignment == 0 &&
        binding.bytes == buffers[b].bytes)
      inPlaceInput[b] = static_cast<int>(i);
  }
  SIEVE_RETURN_IF_ERROR(reserve(arena, arenaBytes, "the arena"));
  const std::vector<uint8_t> &constantData = bundle->getConstants();
  if (!constantData.empty() && !constants.owned) {
    SIEVE_RETURN_IF_ERROR(
        reserve(constants, constantData.size(), "the constants"));
    SIEVE_RETURN_IF_ERROR(executor
                              ->upload(constants.owned, constantData.data(),
                                       constantData.size(), stream)
                              .withContext("uploading the constants"));
  }
  for (std::size_t b = 0; b < manifest.buffers.size(); ++b) {
    Buffer &buffer = buffers[b];
    const BufferSpec &spec = manifest.buffers[b];
    if (spec.kind == BufferKind::Temporary) {
      buffer.address = arena.owned + offsets[b];
      continue;
    }
    if (spec.kind == BufferKind::Constant) {
      buffer.address =
          constants.owned + static_cast<uint64_t>(*spec.offset.getConstant());
      continue;
    }
    if (inPlaceInput[b] >= 0) {
      buffer.address = bindings[inPlaceInput[b]].device;
      continue;
    }
    if (inPlaceOutput[b] >= 0) {
      buffer.address = outputBindings[inPlaceOutput[b]].address;
      continue;
    }
    SIEVE_RETURN_IF_ERROR(
        reserve(buffer, buffer.bytes, "buffer '" + spec.name + "'"));
    buffer.address = buffer.owned;
  }

  for (std::size_t i = 0; i < manifest.inputs.size(); ++i) {
    Binding &binding = bindings[i];
    const Buffer &buffer = buffers[manifest.inputs[i].buffer];
    if (inPlaceInput[manifest.inputs[i].buffer] >= 0)
      continue;
    std::string what = "copying " + describeInput(i);
    if (binding.onDevice && binding.strided) {
      // The caller may have changed its memory since the last run.
      const StridedCopyPlan &plan = binding.stridedCopy;
      uint64_t block = plan.width * plan.height;
      for (std::size_t c = 0; c < plan.sourceOffsets.size(); ++c)
        SIEVE_RETURN_IF_ERROR(
            executor
                ->copy2D(buffer.address + c * block,
                         binding.device + plan.sourceOffsets[c], plan.width,
                         plan.height, plan.pitch, stream)
                .withContext(what + " (strided)"));
    } else if (binding.onDevice) {
      if (binding.bytes)
        SIEVE_RETURN_IF_ERROR(
            executor
                ->copy(buffer.address, binding.device, binding.bytes, stream)
                .withContext(what));
    } else {
      if (binding.uploaded && binding.uploadedGeneration == buffer.generation)
        continue;
      if (binding.bytes)
        SIEVE_RETURN_IF_ERROR(executor
                                  ->upload(buffer.address, binding.host.data(),
                                           binding.bytes, stream)
                                  .withContext(what));
      binding.uploaded = true;
      binding.uploadedGeneration = buffer.generation;
    }
    // Padding the manifest asks for beyond the tensor reads as zeros.
    if (buffer.bytes > binding.bytes)
      SIEVE_RETURN_IF_ERROR(executor
                                ->zero(buffer.address + binding.bytes,
                                       buffer.bytes - binding.bytes, stream)
                                .withContext(what));
  }
  for (const auto &[output, bytes] : copiedOutputs)
    copiesAfter.push_back(
        DeviceCopy{outputBindings[output].address,
                   buffers[manifest.outputs[output].buffer].address, bytes});
  return Status();
}

Status Session::reserve(Buffer &buffer, uint64_t bytes,
                        const std::string &what) {
  if (bytes <= buffer.capacity)
    return Status();
  if (buffer.owned)
    executor->release(buffer.owned);
  buffer.owned = 0;
  buffer.capacity = 0;
  SIEVE_RETURN_IF_ERROR(executor->allocate(bytes, buffer.owned)
                            .withContext("allocating " + what + " (" +
                                         std::to_string(bytes) + " bytes)"));
  buffer.capacity = bytes;
  ++buffer.generation;
  return Status();
}

Status Session::checkArenaPlan(const std::vector<uint64_t> &offsets) const {
  // Temporaries share arena bytes only if no launch sits in both of their
  // live ranges; a plan that breaks this would corrupt data silently.
  const Manifest &manifest = bundle->getManifest();
  std::vector<std::size_t> placed;
  for (std::size_t b = 0; b < manifest.buffers.size(); ++b)
    if (manifest.buffers[b].kind == BufferKind::Temporary &&
        manifest.buffers[b].firstUse >= 0 && buffers[b].bytes > 0)
      placed.push_back(b);
  std::stable_sort(placed.begin(), placed.end(),
                   [&](std::size_t x, std::size_t y) {
                     return offsets[x] < offsets[y];
                   });
  for (std::size_t i = 0; i < placed.size(); ++i) {
    const BufferSpec &a = manifest.buffers[placed[i]];
    uint64_t end = offsets[placed[i]] + buffers[placed[i]].bytes;
    for (std::size_t j = i + 1;
         j < placed.size() && offsets[placed[j]] < end; ++j) {
      const BufferSpec &b = manifest.buffers[placed[j]];
      if (a.lastUse < b.firstUse || b.lastUse < a.firstUse)
        continue;
      return invalidBundle(
          "temporaries '" + a.name + "' and '" + b.name +
          "' share arena bytes but are both live at launch " +
          std::to_string(std::max(a.firstUse, b.firstUse)) + " (" +
          formatSymbols(manifest, runSymbols) + ")");
    }
  }
  return Status();
}

std::vector<std::vector<uint64_t>> Session::planReuse() {
  const Manifest &manifest = bundle->getManifest();
  std::vector<std::vector<uint64_t>> keys(plans.size());
  for (std::size_t l = 0; l < plans.size(); ++l) {
    const LaunchSpec &spec = manifest.launches[l];
    LaunchPlan &plan = plans[l];
    if (spec.reuseInputs.empty() || plan.skipped)
      continue;
    // The same kernel, sizes and arguments (buffer addresses included) on
    // the same allocations and the same bindings of host inputs. A device
    // input's memory may change behind the runtime's back: never reused.
    std::vector<uint64_t> key = {plan.kernel,  plan.grid[0],  plan.grid[1],
                                 plan.grid[2], plan.block[0], plan.block[1],
                                 plan.block[2], plan.dynamicSharedBytes};
    for (const ParamValue &value : plan.values)
      key.push_back(value.address);
    for (const ArgSpec &arg : spec.args) {
      if (arg.kind == ParamKind::Memref || arg.kind == ParamKind::TensorMap)
        key.push_back(buffers[arg.buffer].generation);
      // A tensor map's parameter is its slot, whatever the map: the map
      // itself is part of the key.
      if (arg.kind == ParamKind::TensorMap) {
        const TensorMapSpec &map = tensorMaps[arg.tensorMap.slot].spec;
        key.insert(key.end(),
                   {static_cast<uint64_t>(map.dtype), map.rank, map.base,
                    map.buffer, map.bufferBytes, map.swizzleBytes});
        key.insert(key.end(), map.dims, map.dims + kMaxTensorMapRank);
        key.insert(key.end(), map.strides, map.strides + kMaxTensorMapRank);
        key.insert(key.end(), map.box, map.box + kMaxTensorMapRank);
      }
    }
    bool hostInputs = true;
    for (std::size_t input : spec.reuseInputs) {
      hostInputs = hostInputs && !bindings[input].onDevice;
      key.push_back(bindings[input].serial);
    }
    ReuseState &state = reuse[l];
    if (hostInputs && state.valid && state.key == key) {
      plan.skipped = true;
      plan.reused = true;
      continue;
    }
    // Running it overwrites what its buffers held.
    state.valid = false;
    if (hostInputs)
      keys[l] = std::move(key);
  }
  return keys;
}

void Session::forgetReuse() {
  for (ReuseState &state : reuse)
    state.valid = false;
}

Status Session::planLaunches() {
  const Manifest &manifest = bundle->getManifest();
  plans.assign(manifest.launches.size(), LaunchPlan());
  for (std::size_t l = 0; l < manifest.launches.size(); ++l) {
    const LaunchSpec &launch = manifest.launches[l];
    LaunchPlan &plan = plans[l];
    plan.launch = l;
    plan.kernel = launch.kernel;
    std::string where = describeLaunch(manifest, l);
    auto evaluate = [&](const Expr &expr, const std::string &what,
                        int64_t &value) {
      return evaluateForRun(expr, where, what, value);
    };
    auto outOfRange = [&](const std::string &what, const Expr &expr,
                          int64_t value, const std::string &allowed) {
      return outOfRangeForRun(where, what, expr, value, allowed);
    };

    static const char *const kAxes[] = {"x", "y", "z"};
    int64_t threads = 1;
    for (int d = 0; d < 3; ++d) {
      int64_t grid, block;
      std::string gridName = std::string("grid.") + kAxes[d];
      std::string blockName = std::string("block.") + kAxes[d];
      SIEVE_RETURN_IF_ERROR(evaluate(launch.grid[d], gridName, grid));
      SIEVE_RETURN_IF_ERROR(evaluate(launch.block[d], blockName, block));
      if (grid < 0 || grid > kMaxGridDims[d])
        return outOfRange(gridName, launch.grid[d], grid,
                          "CUDA allows 0 to " +
                              std::to_string(kMaxGridDims[d]));
      if (block < 1 || block > kMaxBlockDims[d])
        return outOfRange(blockName, launch.block[d], block,
                          "CUDA allows 1 to " +
                              std::to_string(kMaxBlockDims[d]));
      plan.grid[d] = static_cast<uint32_t>(grid);
      plan.block[d] = static_cast<uint32_t>(block);
      threads *= block;
      if (grid == 0)
        plan.skipped = true;
    }
    if (threads > kMaxThreadsPerBlock)
      return invalidArgument(
          where + ": a block of " + std::to_string(threads) + " threads for " +
          formatSymbols(manifest, runSymbols) + "; CUDA allows at most " +
          std::to_string(kMaxThreadsPerBlock));
    int64_t shared;
    SIEVE_RETURN_IF_ERROR(
        evaluate(launch.dynamicSharedBytes, "dynamic_shared_bytes", shared));
    if (shared < 0 || shared > std::numeric_limits<uint32_t>::max())
      return outOfRange("dynamic_shared_bytes", launch.dynamicSharedBytes,
                        shared, "expected 0 to 4294967295");
    plan.dynamicSharedBytes = static_cast<uint64_t>(shared);

    for (std::size_t a = 0; a < launch.args.size(); ++a) {
      const ArgSpec &arg = launch.args[a];
      std::string what = "argument " + std::to_string(a);
      ParamValue value = {};
      switch (arg.kind) {
      case ParamKind::Memref: {
        const Buffer &buffer = buffers[arg.buffer];
        uint64_t elementSize = getDTypeSize(arg.dtype);
        if (buffer.bytes % elementSize != 0)
          return invalidBundle(where + ": " + what + ": buffer '" +
                               manifest.buffers[arg.buffer].name + "' holds " +
                               std::to_string(buffer.bytes) +
                               " bytes, not a whole number of " +
                               getDTypeName(arg.dtype) + " elements");
        // The MLIR memref descriptor: allocated and aligned pointer,
        // offset, size, stride.
        ParamValue fields[5];
        fields[0].address = buffer.address;
        fields[1].address = buffer.address;
        fields[2].i64 = 0;
        fields[3].i64 = static_cast<int64_t>(buffer.bytes / elementSize);
        fields[4].i64 = 1;
        plan.values.insert(plan.values.end(), fields, fields + 5);
        continue;
      }
      case ParamKind::I64:
        SIEVE_RETURN_IF_ERROR(evaluate(arg.value, what, value.i64));
        break;
      case ParamKind::I32: {
        int64_t wide;
        SIEVE_RETURN_IF_ERROR(evaluate(arg.value, what, wide));
        if (wide < std::numeric_limits<int32_t>::min() ||
            wide > std::numeric_limits<int32_t>::max())
          return outOfRange(what, arg.value, wide,
                            "an i32 argument must fit "
                            "in 32 bits");
        value.i32 = static_cast<int32_t>(wide);
        break;
      }
      case ParamKind::F32:
        value.f32 = arg.f32;
        break;
      case ParamKind::TensorMap: {
        // The kernel gets the slot's address; the map is encoded into it
        // before the launches (uploadTensorMaps). A launch with an empty
        // grid is skipped, its tensor maps with it: an empty tensor has no
        // tensor map.
        TensorMapSlot &slot = tensorMaps[arg.tensorMap.slot];
        slot.planned = !plan.skipped;
        if (slot.planned)
          SIEVE_RETURN_IF_ERROR(planTensorMap(l, a, slot.spec));
        value.address =
            tensorMapMemory + arg.tensorMap.slot * kTensorMapSlotBytes;
        break;
      }
      }
      plan.values.push_back(value);
    }
    for (ParamValue &value : plan.values)
      plan.params.push_back(&value);
  }
  return Status();
}

Status Session::evaluateForRun(const Expr &expr, const std::string &where,
                               const std::string &what, int64_t &value) const {
  return expr.evaluate(runSymbols, bundle->getManifest().symbolNames, value)
      .withContext(where + ": " + what);
}

Status Session::outOfRangeForRun(const std::string &where,
                                 const std::string &what, const Expr &expr,
                                 int64_t value,
                                 const std::string &allowed) const {
  return invalidArgument(where + ": " + what + " '" + expr.getText() + "' is " +
                         std::to_string(value) + " for " +
                         formatSymbols(bundle->getManifest(), runSymbols) +
                         "; " + allowed);
}

Status Session::planTensorMap(std::size_t l, std::size_t a,
                              TensorMapSpec &spec) const {
  // What cuTensorMapEncodeTiled requires, and that the tensor lies in its
  // buffer: TMA reads any element of [0, dims) without further checks.
  const Manifest &manifest = bundle->getManifest();
  const ArgSpec &arg = manifest.launches[l].args[a];
  const TensorMapArg &map = arg.tensorMap;
  const std::string &bufferName = manifest.buffers[arg.buffer].name;
  std::string where = describeLaunch(manifest, l) + ": argument " +
                      std::to_string(a) + " (tensor map of buffer '" +
                      bufferName + "')";
  std::string sizes = formatSymbols(manifest, runSymbols);
  auto evaluate = [&](const Expr &expr, const std::string &what,
                      int64_t &value) {
    return evaluateForRun(expr, where, what, value);
  };
  auto outOfRange = [&](const std::string &what, const Expr &expr,
                        int64_t value, const std::string &allowed) {
    return outOfRangeForRun(where, what, expr, value, allowed);
  };

  spec = TensorMapSpec();
  spec.dtype = arg.dtype;
  spec.rank = static_cast<uint32_t>(map.dims.size());
  spec.swizzleBytes = map.swizzleBytes;
  uint64_t elementBytes = getDTypeSize(arg.dtype);
  for (std::size_t d = 0; d < map.dims.size(); ++d) {
    std::string what = "dims[" + std::to_string(d) + "]";
    int64_t dim;
    SIEVE_RETURN_IF_ERROR(evaluate(map.dims[d], what, dim));
    if (dim < 0 || dim > kMaxTensorMapDim)
      return outOfRange(what, map.dims[d], dim,
                        "a tensor map's dimensions are 0 to 2^32");
    spec.dims[d] = static_cast<uint64_t>(dim);
    spec.box[d] = map.box[d];
  }
  // An empty tensor has no element to load: its map is not encoded (the
  // slot holds zeros, rank 0) and nothing about it is checked.
  if (std::find(spec.dims, spec.dims + spec.rank, 0) != spec.dims + spec.rank) {
    spec = TensorMapSpec();
    return Status();
  }
  spec.strides[0] = elementBytes;
  for (std::size_t d = 0; d < map.strides.size(); ++d) {
    std::string what = "strides[" + std::to_string(d) + "]";
    int64_t stride;
    SIEVE_RETURN_IF_ERROR(evaluate(map.strides[d], what, stride));
    if (stride < 1 || stride >= kTensorMapStrideLimit ||
        stride % kTensorMapAlignment != 0)
      return outOfRange(what, map.strides[d], stride,
                        "a tensor map's strides are positive multiples of 16 "
                        "bytes below 2^40");
    spec.strides[d + 1] = static_cast<uint64_t>(stride);
  }
  int64_t offset;
  SIEVE_RETURN_IF_ERROR(evaluate(map.offset, "offset", offset));
  if (offset < 0)
    return outOfRange("offset", map.offset, offset, "expected at least 0");

  const Buffer &buffer = buffers[arg.buffer];
  spec.buffer = buffer.address;
  spec.bufferBytes = buffer.bytes;
  // The bytes the tensor spans, from the buffer's start: exact in 128 bits
  // (each term is below 2^63 * 2^40).
  using Wide = unsigned __int128;
  Wide start = Wide(static_cast<uint64_t>(offset)) * elementBytes;
  Wide end = start + elementBytes;
  for (uint32_t d = 0; d < spec.rank; ++d)
    end += Wide(spec.dims[d] - 1) * spec.strides[d];
  auto text = [](Wide value) {
    if (value > std::numeric_limits<uint64_t>::max())
      return std::string("more than 2^64");
    return std::to_string(static_cast<uint64_t>(value));
  };
  if (end > buffer.bytes)
    return invalidBundle(where + ": the tensor spans bytes [" + text(start) +
                         ", " + text(end) + ") of the buffer, which holds " +
                         std::to_string(buffer.bytes) + " (" + sizes +
                         "); a tensor map must not reach outside its buffer");
  spec.base = buffer.address + static_cast<uint64_t>(start);
  if (spec.base % kTensorMapAlignment != 0)
    return invalidArgument(
        where + ": its first element, " + text(start) +
        " bytes into the buffer (offset '" + map.offset.getText() +
        "' = " + std::to_string(offset) + " x " + getDTypeName(arg.dtype) +
        ", " + sizes + "), is not " + std::to_string(kTensorMapAlignment) +
        "-byte aligned");
  return Status();
}

Status Session::uploadTensorMaps(void *stream) {
  // Only maps that changed are encoded again; when none did, the slots
  // already hold what the launches need (a CUDA graph replays with the same
  // slot addresses and reads the slots when it runs).
  const Manifest &manifest = bundle->getManifest();
  bool changed = false;
  for (std::size_t i = 0; i < tensorMaps.size(); ++i) {
    TensorMapSlot &slot = tensorMaps[i];
    if (!slot.planned || (slot.uploaded && slot.uploadedSpec == slot.spec))
      continue;
    uint8_t *bytes = tensorMapHost.data() + i * kTensorMapSlotBytes;
    std::memset(bytes, 0, kTensorMapSlotBytes);
    slot.uploaded = false;
    changed = true;
    if (slot.spec.rank == 0)
      continue; // an empty tensor's map: zeros
    const ArgSpec &arg = manifest.launches[slot.launch].args[slot.arg];
    std::string what = describeLaunch(manifest, slot.launch) + ": argument " +
                       std::to_string(slot.arg) + " (tensor map of buffer '" +
                       manifest.buffers[arg.buffer].name + "')";
    SIEVE_RETURN_IF_ERROR(
        executor->encodeTensorMap(slot.spec, bytes).withContext(what));
  }
  if (!changed)
    return Status();
  // One copy for every slot, queued ahead of the launches on their stream.
  SIEVE_RETURN_IF_ERROR(executor
                            ->upload(tensorMapMemory, tensorMapHost.data(),
                                     tensorMapHost.size(), stream)
                            .withContext("uploading the tensor maps"));
  for (TensorMapSlot &slot : tensorMaps)
    if (slot.planned) {
      slot.uploadedSpec = slot.spec;
      slot.uploaded = true;
    }
  return Status();
}

Status Session::waitForRun() {
  if (!hasRun)
    return failedPrecondition("the session has not run (or its last run "
                              "failed)");
  if (!waited) {
    Status status = executor->wait();
    waited = true;
    if (!status.isOk()) {
      hasRun = false;
      forgetReuse();
      return status;
    }
  }
  return Status();
}

Status Session::readOutput(std::size_t index, void *data, uint64_t bytes) {
  const Manifest &manifest = bundle->getManifest();
  SIEVE_RETURN_IF_ERROR(waitForRun());
  std::vector<int64_t> shape;
  uint64_t expected;
  SIEVE_RETURN_IF_ERROR(
      evaluateOutputShape(index, runSymbols, shape, expected));
  const TensorSpec &spec = manifest.outputs[index];
  if (bytes != expected)
    return invalidArgument("output '" + spec.name + "' (#" +
                           std::to_string(index) + ") is " +
                           getDTypeName(spec.dtype) + formatShape(shape) +
                           ", " + std::to_string(expected) +
                           " bytes; got room "
                           "for " +
                           std::to_string(bytes));
  if (!bytes)
    return Status();
  if (!data)
    return invalidArgument("null data pointer");
  return executor->download(data, buffers[spec.buffer].address, bytes)
      .withContext("reading output '" + spec.name + "'");
}

Status Session::getOutputAddress(std::size_t index, DeviceAddress &address,
                                 uint64_t &bytes) const {
  const Manifest &manifest = bundle->getManifest();
  if (!hasRun)
    return failedPrecondition("the session has not run (or its last run "
                              "failed)");
  std::vector<int64_t> shape;
  SIEVE_RETURN_IF_ERROR(evaluateOutputShape(index, runSymbols, shape, bytes));
  address = buffers[manifest.outputs[index].buffer].address;
  return Status();
}

Status Session::getLaunchRecord(std::size_t index, const LaunchPlan *&plan,
                                const LaunchRecord *&record) {
  SIEVE_RETURN_IF_ERROR(waitForRun());
  const std::vector<LaunchRecord> &records = executor->getLaunchRecords();
  if (index >= records.size() || index >= plans.size())
    return Status(SIEVE_ERROR_INTERNAL,
                  "no record of launch " + std::to_string(index));
  plan = &plans[index];
  record = &records[index];
  return Status();
}

Status Session::getRunMilliseconds(double &milliseconds) {
  SIEVE_RETURN_IF_ERROR(waitForRun());
  milliseconds = executor->getRunMilliseconds();
  return Status();
}

Status Session::getGateStats(std::size_t index, GateStats &stats) {
  const Manifest &manifest = bundle->getManifest();
  SIEVE_RETURN_IF_ERROR(waitForRun());
  const GateSpec &gate = manifest.gates[index];
  std::string what = "gate " + std::to_string(index) + " (" + gate.op + ")";
  int64_t tokens;
  SIEVE_RETURN_IF_ERROR(
      gate.tokens.evaluate(runSymbols, manifest.symbolNames, tokens)
          .withContext(what + ": tokens"));
  uint64_t scoreBytes, maskBytes;
  if (tokens < 0 || __builtin_mul_overflow(static_cast<uint64_t>(tokens),
                                           uint64_t{4}, &scoreBytes))
    return invalidBundle(what + ": tokens '" + gate.tokens.getText() + "' is " +
                         std::to_string(tokens));
  maskBytes = static_cast<uint64_t>(tokens);
  if (buffers[gate.score].bytes < scoreBytes ||
      buffers[gate.mask].bytes < maskBytes)
    return invalidBundle(
        what + ": " + std::to_string(tokens) + " tokens need " +
        std::to_string(scoreBytes) + " bytes of f32 scores and " +
        std::to_string(maskBytes) + " bytes of i1 mask; buffers '" +
        manifest.buffers[gate.score].name + "' and '" +
        manifest.buffers[gate.mask].name + "' hold " +
        std::to_string(buffers[gate.score].bytes) + " and " +
        std::to_string(buffers[gate.mask].bytes));
  std::vector<float> scores;
  std::vector<uint8_t> mask;
  try {
    scores.resize(static_cast<std::size_t>(tokens));
    mask.resize(static_cast<std::size_t>(tokens));
  } catch (const std::bad_alloc &) {
    return Status(SIEVE_ERROR_OUT_OF_MEMORY,
                  what + ": cannot allocate host memory for the statistics");
  }
  if (tokens) {
    SIEVE_RETURN_IF_ERROR(
        executor
            ->download(scores.data(), buffers[gate.score].address, scoreBytes)
            .withContext(what + ": reading scores"));
    SIEVE_RETURN_IF_ERROR(
        executor->download(mask.data(), buffers[gate.mask].address, maskBytes)
            .withContext(what + ": reading the mask"));
  }
  stats = computeGateStats(scores.data(), mask.data(), tokens);
  return Status();
}
