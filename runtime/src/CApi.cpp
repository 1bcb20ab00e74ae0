//===- CApi.cpp - runtime.h on top of the C++ implementation --------------===//
//
// Every entry point checks its arguments, runs inside a guard that turns a
// failing Status (or an escaping C++ exception) into a return code and the
// thread's last-error message "<function>: <message>", and never lets an
// exception cross the C boundary.
//
//===----------------------------------------------------------------------===//

#include "CApi.h"

#include "sieve/HostTensor.h"
#include "sieve/RunTool.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <new>

using namespace sieve;
using namespace sieve::rt;

static_assert(SIEVE_DTYPE_F32 == static_cast<int>(DType::F32) &&
                  SIEVE_DTYPE_F16 == static_cast<int>(DType::F16) &&
                  SIEVE_DTYPE_BF16 == static_cast<int>(DType::BF16) &&
                  SIEVE_DTYPE_I64 == static_cast<int>(DType::I64) &&
                  SIEVE_DTYPE_I32 == static_cast<int>(DType::I32) &&
                  SIEVE_DTYPE_I8 == static_cast<int>(DType::I8) &&
                  SIEVE_DTYPE_I4 == static_cast<int>(DType::I4) &&
                  SIEVE_DTYPE_I1 == static_cast<int>(DType::I1),
              "sieve_dtype and sieve::DType must agree");

namespace {
thread_local std::string lastError;

/// A tensor rank the C API accepts (the manifest allows no more).
constexpr int32_t kMaxRank = 16;

sieve_status fail(const char *function, const Status &status) {
  lastError = std::string(function) + ": " + status.getMessage();
  return status.getCode();
}

/// Runs `body` (returning Status) as the C function `function`.
template <typename Body> sieve_status guard(const char *function, Body &&body) {
  try {
    Status status = body();
    if (!status.isOk())
      return fail(function, status);
    return SIEVE_OK;
  } catch (const std::bad_alloc &) {
    return fail(function,
                Status(SIEVE_ERROR_OUT_OF_MEMORY, "out of host memory"));
  } catch (const std::exception &error) {
    return fail(function,
                Status(SIEVE_ERROR_INTERNAL,
                       std::string("unexpected exception: ") + error.what()));
  } catch (...) {
    return fail(function, Status(SIEVE_ERROR_INTERNAL, "unexpected exception"));
  }
}

Status null(const char *what) {
  return invalidArgument(std::string(what) + " is NULL");
}

bool isDType(sieve_dtype dtype) {
  return dtype >= SIEVE_DTYPE_F32 && dtype <= SIEVE_DTYPE_I1;
}

Status readShape(sieve_dtype dtype, int32_t rank, const int64_t *shape,
                 std::vector<int64_t> &result) {
  if (!isDType(dtype))
    return invalidArgument("dtype " + std::to_string(static_cast<int>(dtype)) +
                           " is not a sieve_dtype");
  if (rank < 0 || rank > kMaxRank)
    return invalidArgument("rank " + std::to_string(rank) + " is not in [0, " +
                           std::to_string(kMaxRank) + "]");
  if (rank > 0 && !shape)
    return null("shape");
  result.assign(shape, shape + rank);
  return Status();
}

Status checkIndex(int64_t index, std::size_t count, const char *what) {
  if (index < 0 || static_cast<uint64_t>(index) >= count)
    return invalidArgument(std::string(what) + " index " +
                           std::to_string(index) + " is out of range (" +
                           std::to_string(count) + " " + what + "s)");
  return Status();
}

void fillTensorInfo(const TensorSpec &spec, const Bundle::DimView &dims,
                    sieve_tensor_info *info) {
  info->name = spec.name.c_str();
  info->dtype = static_cast<sieve_dtype>(spec.dtype);
  info->rank = static_cast<int32_t>(spec.shape.size());
  info->dims = dims.dims.data();
}
} // namespace

sieve_device *sieve::rt::wrapDevice(std::shared_ptr<Device> device) {
  return new sieve_device{std::move(device)};
}

//===----------------------------------------------------------------------===//
// Status, dtypes
//===----------------------------------------------------------------------===//

const char *sieve_runtime_version(void) { return SIEVE_RUNTIME_VERSION; }

const char *sieve_status_name(sieve_status status) {
  switch (status) {
  case SIEVE_OK:
    return "SIEVE_OK";
  case SIEVE_ERROR_INVALID_ARGUMENT:
    return "SIEVE_ERROR_INVALID_ARGUMENT";
  case SIEVE_ERROR_INVALID_BUNDLE:
    return "SIEVE_ERROR_INVALID_BUNDLE";
  case SIEVE_ERROR_IO:
    return "SIEVE_ERROR_IO";
  case SIEVE_ERROR_UNAVAILABLE:
    return "SIEVE_ERROR_UNAVAILABLE";
  case SIEVE_ERROR_UNSUPPORTED:
    return "SIEVE_ERROR_UNSUPPORTED";
  case SIEVE_ERROR_FAILED_PRECONDITION:
    return "SIEVE_ERROR_FAILED_PRECONDITION";
  case SIEVE_ERROR_DEVICE:
    return "SIEVE_ERROR_DEVICE";
  case SIEVE_ERROR_OUT_OF_MEMORY:
    return "SIEVE_ERROR_OUT_OF_MEMORY";
  case SIEVE_ERROR_INTERNAL:
    return "SIEVE_ERROR_INTERNAL";
  }
  return "SIEVE_ERROR_UNKNOWN";
}

const char *sieve_last_error(void) { return lastError.c_str(); }

const char *sieve_dtype_name(sieve_dtype dtype) {
  return isDType(dtype) ? getDTypeName(static_cast<DType>(dtype)) : nullptr;
}

size_t sieve_dtype_size(sieve_dtype dtype) {
  return isDType(dtype) ? getDTypeSize(static_cast<DType>(dtype)) : 0;
}

//===----------------------------------------------------------------------===//
// Bundles
//===----------------------------------------------------------------------===//

sieve_status sieve_bundle_open(const char *path, sieve_bundle **bundle) {
  return guard(__func__, [&]() -> Status {
    if (!bundle)
      return null("bundle");
    *bundle = nullptr;
    if (!path)
      return null("path");
    std::shared_ptr<const Bundle> opened;
    SIEVE_RETURN_IF_ERROR(Bundle::open(path, opened).withContext(path));
    *bundle = new sieve_bundle{std::move(opened)};
    return Status();
  });
}

void sieve_bundle_close(sieve_bundle *bundle) { delete bundle; }

const char *sieve_bundle_entry(const sieve_bundle *bundle) {
  return bundle ? bundle->bundle->getManifest().entry.c_str() : nullptr;
}

const char *sieve_bundle_target(const sieve_bundle *bundle) {
  return bundle ? bundle->bundle->getManifest().targetName.c_str() : nullptr;
}

const char *sieve_bundle_producer(const sieve_bundle *bundle) {
  return bundle ? bundle->bundle->getManifest().producer.c_str() : nullptr;
}

int64_t sieve_bundle_num_inputs(const sieve_bundle *bundle) {
  return bundle
             ? static_cast<int64_t>(bundle->bundle->getManifest().inputs.size())
             : 0;
}

int64_t sieve_bundle_num_outputs(const sieve_bundle *bundle) {
  return bundle ? static_cast<int64_t>(
                      bundle->bundle->getManifest().outputs.size())
                : 0;
}

int64_t sieve_bundle_num_launches(const sieve_bundle *bundle) {
  return bundle ? static_cast<int64_t>(
                      bundle->bundle->getManifest().launches.size())
                : 0;
}

int64_t sieve_bundle_num_gates(const sieve_bundle *bundle) {
  return bundle
             ? static_cast<int64_t>(bundle->bundle->getManifest().gates.size())
             : 0;
}

sieve_status sieve_bundle_get_input(const sieve_bundle *bundle, int64_t index,
                                    sieve_tensor_info *info) {
  return guard(__func__, [&]() -> Status {
    if (!bundle)
      return null("bundle");
    if (!info)
      return null("info");
    const Manifest &manifest = bundle->bundle->getManifest();
    SIEVE_RETURN_IF_ERROR(checkIndex(index, manifest.inputs.size(), "input"));
    fillTensorInfo(manifest.inputs[index], bundle->bundle->getInputDims(index),
                   info);
    return Status();
  });
}

int32_t sieve_bundle_input_is_strided(const sieve_bundle *bundle,
                                      int64_t index) {
  if (!bundle)
    return 0;
  const Manifest &manifest = bundle->bundle->getManifest();
  if (index < 0 || static_cast<uint64_t>(index) >= manifest.inputs.size())
    return 0;
  return manifest.inputs[index].strided ? 1 : 0;
}

sieve_status sieve_bundle_get_output(const sieve_bundle *bundle, int64_t index,
                                     sieve_tensor_info *info) {
  return guard(__func__, [&]() -> Status {
    if (!bundle)
      return null("bundle");
    if (!info)
      return null("info");
    const Manifest &manifest = bundle->bundle->getManifest();
    SIEVE_RETURN_IF_ERROR(checkIndex(index, manifest.outputs.size(), "output"));
    fillTensorInfo(manifest.outputs[index],
                   bundle->bundle->getOutputDims(index), info);
    return Status();
  });
}

sieve_status sieve_bundle_get_random_hint(const sieve_bundle *bundle,
                                          int64_t index, int64_t dynamic_size,
                                          sieve_random_hint *hint) {
  return guard(__func__, [&]() -> Status {
    if (!bundle)
      return null("bundle");
    if (!hint)
      return null("hint");
    const Manifest &manifest = bundle->bundle->getManifest();
    SIEVE_RETURN_IF_ERROR(checkIndex(index, manifest.inputs.size(), "input"));
    const TensorSpec &input = manifest.inputs[index];
    const RandomSpec &random = input.random;
    std::vector<int64_t> symbols(manifest.symbols.size(), dynamic_size);
    auto evaluate = [&](const Expr &expr, int64_t &value) -> Status {
      std::string what = "input '" + input.name + "' (#" +
                         std::to_string(index) + "): random '" +
                         expr.getText() + "'";
      if (dynamic_size < 0 && !expr.getSymbols().empty())
        return invalidArgument(what + " depends on the sizes; give a dynamic "
                                      "size");
      return expr.evaluate(symbols, manifest.symbolNames, value)
          .withContext(what);
    };
    *hint = sieve_random_hint();
    if (!random.min.isNull()) {
      hint->kind = SIEVE_RANDOM_INT_RANGE;
      SIEVE_RETURN_IF_ERROR(evaluate(random.min, hint->min));
      SIEVE_RETURN_IF_ERROR(evaluate(random.max, hint->max));
      if (hint->min > hint->max)
        return invalidArgument("input '" + input.name + "' (#" +
                               std::to_string(index) + "): random range [" +
                               std::to_string(hint->min) + ", " +
                               std::to_string(hint->max) + "] is empty");
    } else if (random.scaleQmax) {
      hint->kind = SIEVE_RANDOM_QUANT_SCALE;
      int64_t k;
      SIEVE_RETURN_IF_ERROR(evaluate(random.scaleK, k));
      hint->scale =
          getTypicalQuantScale(static_cast<double>(*random.scaleQmax), k);
    } else {
      hint->kind = SIEVE_RANDOM_DEFAULT;
    }
    return Status();
  });
}

//===----------------------------------------------------------------------===//
// Devices
//===----------------------------------------------------------------------===//

sieve_status sieve_device_open(const char *spec,
                               const sieve_device_options *options,
                               sieve_device **device) {
  return guard(__func__, [&]() -> Status {
    if (!device)
      return null("device");
    *device = nullptr;
    if (!spec)
      return null("spec");
    sieve_device_options defaults = {};
    std::shared_ptr<Device> opened;
    SIEVE_RETURN_IF_ERROR(
        openDevice(spec, options ? *options : defaults, opened));
    *device = wrapDevice(std::move(opened));
    return Status();
  });
}

void sieve_device_close(sieve_device *device) { delete device; }

sieve_device_kind sieve_device_get_kind(const sieve_device *device) {
  return device ? device->device->getKind() : SIEVE_DEVICE_EMULATOR;
}

const char *sieve_device_name(const sieve_device *device) {
  return device ? device->device->getName().c_str() : nullptr;
}

//===----------------------------------------------------------------------===//
// Sessions
//===----------------------------------------------------------------------===//

sieve_status sieve_session_create(sieve_bundle *bundle, sieve_device *device,
                                  uint32_t flags, sieve_session **session) {
  return guard(__func__, [&]() -> Status {
    if (!session)
      return null("session");
    *session = nullptr;
    if (!bundle)
      return null("bundle");
    if (!device)
      return null("device");
    std::unique_ptr<Session> created;
    SIEVE_RETURN_IF_ERROR(
        Session::create(bundle->bundle, device->device, flags, created));
    *session = new sieve_session{std::move(created)};
    return Status();
  });
}

void sieve_session_destroy(sieve_session *session) { delete session; }

namespace {
/// The arguments both bind functions check: the session, the dtype, the
/// shape, the input index.
Status readBinding(sieve_session *session, int64_t index, sieve_dtype dtype,
                   int32_t rank, const int64_t *shape,
                   std::vector<int64_t> &dims) {
  if (!session)
    return null("session");
  SIEVE_RETURN_IF_ERROR(readShape(dtype, rank, shape, dims));
  return checkIndex(index,
                    session->session->getBundle().getManifest().inputs.size(),
                    "input");
}
} // namespace

sieve_status sieve_session_bind_input_host(sieve_session *session,
                                           int64_t index, sieve_dtype dtype,
                                           int32_t rank, const int64_t *shape,
                                           const int64_t *strides,
                                           const void *data) {
  return guard(__func__, [&]() -> Status {
    std::vector<int64_t> dims;
    SIEVE_RETURN_IF_ERROR(
        readBinding(session, index, dtype, rank, shape, dims));
    return session->session->bindHost(static_cast<std::size_t>(index),
                                      static_cast<DType>(dtype), dims, strides,
                                      data);
  });
}

sieve_status sieve_session_bind_input_device(sieve_session *session,
                                             int64_t index, sieve_dtype dtype,
                                             int32_t rank, const int64_t *shape,
                                             const int64_t *strides,
                                             uint64_t device_pointer) {
  return guard(__func__, [&]() -> Status {
    std::vector<int64_t> dims;
    SIEVE_RETURN_IF_ERROR(
        readBinding(session, index, dtype, rank, shape, dims));
    return session->session->bindDevice(static_cast<std::size_t>(index),
                                        static_cast<DType>(dtype), dims,
                                        strides, device_pointer);
  });
}

sieve_status sieve_session_bind_output_device(sieve_session *session,
                                              int64_t index,
                                              uint64_t device_pointer,
                                              size_t bytes) {
  return guard(__func__, [&]() -> Status {
    if (!session)
      return null("session");
    SIEVE_RETURN_IF_ERROR(checkIndex(
        index, session->session->getBundle().getManifest().outputs.size(),
        "output"));
    return session->session->bindOutputDevice(static_cast<std::size_t>(index),
                                              device_pointer, bytes);
  });
}

sieve_status sieve_session_run(sieve_session *session, void *stream) {
  return guard(__func__, [&]() -> Status {
    if (!session)
      return null("session");
    return session->session->run(stream);
  });
}

sieve_status sieve_session_get_output_shape(sieve_session *session,
                                            int64_t index, int64_t *shape,
                                            int32_t capacity, int32_t *rank) {
  return guard(__func__, [&]() -> Status {
    if (!session)
      return null("session");
    if (!rank)
      return null("rank");
    SIEVE_RETURN_IF_ERROR(checkIndex(
        index, session->session->getBundle().getManifest().outputs.size(),
        "output"));
    std::vector<int64_t> dims;
    SIEVE_RETURN_IF_ERROR(session->session->getOutputShape(
        static_cast<std::size_t>(index), dims));
    *rank = static_cast<int32_t>(dims.size());
    if (dims.size() > static_cast<std::size_t>(std::max(capacity, 0)))
      return invalidArgument("output " + std::to_string(index) + " has rank " +
                             std::to_string(dims.size()) +
                             ", shape has room for " +
                             std::to_string(capacity));
    if (!dims.empty() && !shape)
      return null("shape");
    std::copy(dims.begin(), dims.end(), shape);
    return Status();
  });
}

sieve_status sieve_session_read_output(sieve_session *session, int64_t index,
                                       void *data, size_t bytes) {
  return guard(__func__, [&]() -> Status {
    if (!session)
      return null("session");
    SIEVE_RETURN_IF_ERROR(checkIndex(
        index, session->session->getBundle().getManifest().outputs.size(),
        "output"));
    return session->session->readOutput(static_cast<std::size_t>(index), data,
                                        bytes);
  });
}

sieve_status sieve_session_get_output_device_pointer(sieve_session *session,
                                                     int64_t index,
                                                     uint64_t *device_pointer,
                                                     size_t *bytes) {
  return guard(__func__, [&]() -> Status {
    if (!session)
      return null("session");
    if (!device_pointer)
      return null("device_pointer");
    if (!bytes)
      return null("bytes");
    SIEVE_RETURN_IF_ERROR(checkIndex(
        index, session->session->getBundle().getManifest().outputs.size(),
        "output"));
    uint64_t size;
    SIEVE_RETURN_IF_ERROR(session->session->getOutputAddress(
        static_cast<std::size_t>(index), *device_pointer, size));
    *bytes = static_cast<size_t>(size);
    return Status();
  });
}

sieve_status sieve_session_get_launch_info(sieve_session *session,
                                           int64_t index,
                                           sieve_launch_info *info) {
  return guard(__func__, [&]() -> Status {
    if (!session)
      return null("session");
    if (!info)
      return null("info");
    const Manifest &manifest = session->session->getBundle().getManifest();
    SIEVE_RETURN_IF_ERROR(
        checkIndex(index, manifest.launches.size(), "launch"));
    const LaunchPlan *plan;
    const LaunchRecord *record;
    SIEVE_RETURN_IF_ERROR(session->session->getLaunchRecord(
        static_cast<std::size_t>(index), plan, record));
    const LaunchSpec &launch = manifest.launches[plan->launch];
    *info = sieve_launch_info();
    info->kernel = manifest.kernels[plan->kernel].name.c_str();
    info->op = launch.op.c_str();
    for (int d = 0; d < 3; ++d) {
      info->grid[d] = plan->grid[d];
      info->block[d] = plan->block[d];
    }
    info->dynamic_shared_bytes = plan->dynamicSharedBytes;
    info->skipped = plan->reused ? 2 : plan->skipped ? 1 : 0;
    info->milliseconds = record->milliseconds;
    info->emulator_blocks = record->blocks;
    info->emulator_threads = record->threads;
    info->emulator_barriers = record->barriers;
    info->emulator_collectives = record->collectives;
    info->emulator_work_units = record->workUnits;
    return Status();
  });
}

sieve_status sieve_session_get_run_time(sieve_session *session,
                                        double *milliseconds) {
  return guard(__func__, [&]() -> Status {
    if (!session)
      return null("session");
    if (!milliseconds)
      return null("milliseconds");
    return session->session->getRunMilliseconds(*milliseconds);
  });
}

sieve_status sieve_session_get_gate_stats(sieve_session *session, int64_t index,
                                          sieve_gate_stats *stats) {
  return guard(__func__, [&]() -> Status {
    if (!session)
      return null("session");
    if (!stats)
      return null("stats");
    const Manifest &manifest = session->session->getBundle().getManifest();
    SIEVE_RETURN_IF_ERROR(checkIndex(index, manifest.gates.size(), "gate"));
    GateStats computed;
    SIEVE_RETURN_IF_ERROR(session->session->getGateStats(
        static_cast<std::size_t>(index), computed));
    stats->op = manifest.gates[index].op.c_str();
    stats->tokens = computed.tokens;
    stats->active_tokens = computed.activeTokens;
    stats->active_token_ratio = computed.activeTokenRatio;
    stats->mean_score_entropy_bits = computed.meanScoreEntropyBits;
    stats->nan_scores = computed.nanScores;
    return Status();
  });
}

const char *sieve_session_kernel_source(const sieve_session *session) {
  return session ? session->session->getKernelSource().c_str() : nullptr;
}
