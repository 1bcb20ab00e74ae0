//===- Session.h - A bundle bound to a device -------------------*- C++ -*-===//
//
// The device-independent part of running a bundle: binding and checking
// inputs, resolving symbols, evaluating checks and sizes, allocating
// buffers, packing kernel parameters, reading outputs, and the statistics.
// The device-specific part is an Executor (Device.h).
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_SRC_SESSION_H
#define SIEVE_RUNTIME_SRC_SESSION_H

#include "Bundle.h"
#include "Device.h"
#include "Status.h"

#include <memory>
#include <string>
#include <vector>

namespace sieve::rt {

/// Statistics of one gate of the last run (sieve_gate_stats).
struct GateStats {
  int64_t tokens = 0;
  int64_t activeTokens = 0;
  double activeTokenRatio = 0;
  double meanScoreEntropyBits = 0;
  int64_t nanScores = 0;
};

/// Computes GateStats over `tokens` f32 scores and i1 (one byte) masks.
GateStats computeGateStats(const float *scores, const uint8_t *mask,
                           int64_t tokens);

/// How a strided tensor in device memory is packed into a dense buffer:
/// one 2-D copy per entry of `sourceOffsets`, each `height` rows of `width`
/// bytes that lie `pitch` bytes apart in the source and one after the
/// other in the destination (copy i at byte i * width * height).
struct StridedCopyPlan {
  uint64_t width = 0, height = 0, pitch = 0;
  std::vector<uint64_t> sourceOffsets;
  /// Bytes from the first element to the end of the last one.
  uint64_t span = 0;
};

/// Plans the packing of the view (`shape`, `strides` in elements) of a
/// tensor of `elementSize`-byte elements. Strides must be non-negative; a
/// layout that needs more than `maxCopies` copies is SIEVE_ERROR_UNSUPPORTED.
Status planStridedCopy(const std::vector<int64_t> &shape,
                       const int64_t *strides, uint64_t elementSize,
                       uint64_t maxCopies, StridedCopyPlan &plan);

/// Indices of inputs, outputs, launches and gates must be in range: the C
/// API checks them at the boundary.
class Session {
public:
  static Status create(std::shared_ptr<const Bundle> bundle,
                       std::shared_ptr<Device> device, uint32_t flags,
                       std::unique_ptr<Session> &session);
  ~Session();

  const Bundle &getBundle() const { return *bundle; }
  const Device &getDevice() const { return *device; }
  const std::string &getKernelSource() const {
    return executor->getKernelSource();
  }

  /// See sieve_session_bind_input_host / _device. `strides` may be null.
  Status bindHost(std::size_t index, DType dtype,
                  const std::vector<int64_t> &shape, const int64_t *strides,
                  const void *data);
  Status bindDevice(std::size_t index, DType dtype,
                    const std::vector<int64_t> &shape, const int64_t *strides,
                    DeviceAddress address);
  /// See sieve_session_bind_output_device; `address` 0 unbinds.
  Status bindOutputDevice(std::size_t index, DeviceAddress address,
                          uint64_t bytes);

  Status run(void *stream);

  /// The shape of output `index` for the bound inputs.
  Status getOutputShape(std::size_t index, std::vector<int64_t> &shape) const;
  /// Output `index` of the last run: `bytes` must be its exact size.
  Status readOutput(std::size_t index, void *data, uint64_t bytes);
  Status getOutputAddress(std::size_t index, DeviceAddress &address,
                          uint64_t &bytes) const;

  Status getLaunchRecord(std::size_t index, const LaunchPlan *&plan,
                         const LaunchRecord *&record);
  Status getRunMilliseconds(double &milliseconds);
  Status getGateStats(std::size_t index, GateStats &stats);

private:
  Session() = default;

  struct Binding {
    bool bound = false;
    /// The number of runs started before this binding. Bindings made since
    /// the last run are checked against each other at once; older ones only
    /// when the next run starts, so that a caller can rebind the inputs one
    /// by one for new sizes.
    uint64_t epoch = 0;
    std::vector<int64_t> shape;
    /// Strided inputs: the strides in elements (the caller's, or row-major);
    /// `bytes` is then the span of the view, copied or used as is.
    std::vector<int64_t> strides;
    uint64_t bytes = 0;
    /// Host tensors: the packed data, and whether it is in the buffer's
    /// current allocation (Buffer::generation).
    std::vector<uint8_t> host;
    bool uploaded = false;
    uint64_t uploadedGeneration = 0;
    /// Device tensors: the caller's memory.
    bool onDevice = false;
    DeviceAddress device = 0;
    /// A strided device tensor: packed into the buffer at every run.
    bool strided = false;
    StridedCopyPlan stridedCopy;
    /// Distinguishes bindings: every bind gets a new one.
    uint64_t serial = 0;
  };

  /// Caller memory an output is written to (sieve_session_bind_output_device).
  struct OutputBinding {
    DeviceAddress address = 0;
    uint64_t bytes = 0;
  };

  /// What a launch with `reuse` last wrote (launches without it have none):
  /// `key` describes the launch and its inputs' bindings; `valid` says that
  /// its buffers hold the results for `key`.
  struct ReuseState {
    bool valid = false;
    std::vector<uint64_t> key;
  };

  /// The tensor map of one tensor_map argument (TensorMapArg::slot).
  struct TensorMapSlot {
    /// The argument: launch and argument index.
    std::size_t launch = 0, arg = 0;
    /// What this run's launch needs; `planned` is false when the launch has
    /// an empty grid (nothing is evaluated, checked or encoded then).
    TensorMapSpec spec;
    bool planned = false;
    /// What the device slot holds, when `uploaded`.
    TensorMapSpec uploadedSpec;
    bool uploaded = false;
  };

  /// A buffer of the manifest for the current run.
  struct Buffer {
    uint64_t bytes = 0;
    /// What kernels see: the owned allocation, or a bound device input used
    /// in place.
    DeviceAddress address = 0;
    DeviceAddress owned = 0;
    uint64_t capacity = 0;
    /// Counts allocations: a new allocation may reuse a freed address, so
    /// the address alone does not tell whether an upload is still there.
    uint64_t generation = 0;
  };

  Status checkBinding(std::size_t index, DType dtype,
                      const std::vector<int64_t> &shape, uint64_t &bytes) const;
  /// For a strided input: the strides to use and the bytes the view spans.
  Status getStridedLayout(std::size_t index, DType dtype,
                          const std::vector<int64_t> &shape,
                          const int64_t *strides,
                          std::vector<int64_t> &layout, uint64_t &bytes) const;
  /// Checks that the symbols in `shape` (input `index`) agree with the
  /// other bound inputs, or only with those bound since the last run.
  Status checkSymbols(std::size_t index, const std::vector<int64_t> &shape,
                      bool sinceLastRun) const;
  /// Symbol values from the bound inputs; fails naming an unbound input.
  Status getSymbolValues(std::vector<int64_t> &values) const;
  Status evaluateOutputShape(std::size_t index,
                             const std::vector<int64_t> &symbols,
                             std::vector<int64_t> &shape,
                             uint64_t &bytes) const;
  /// Allocates the tensor maps' slots (when the bundle has any).
  Status allocateTensorMaps();
  Status prepareBuffers(void *stream);
  /// Grows `buffer`'s allocation to at least `bytes`.
  Status reserve(Buffer &buffer, uint64_t bytes, const std::string &what);
  /// Fails if two temporaries overlap in the arena while both are live.
  Status checkArenaPlan(const std::vector<uint64_t> &offsets) const;
  Status planLaunches();
  /// Evaluates and checks tensor_map argument `a` of launch `l`.
  Status planTensorMap(std::size_t l, std::size_t a, TensorMapSpec &spec) const;
  /// `expr` for this run's sizes; errors name `where` and `what`.
  Status evaluateForRun(const Expr &expr, const std::string &where,
                        const std::string &what, int64_t &value) const;
  /// The error for `expr` (`what` at `where`) evaluating to `value` outside
  /// what is `allowed`.
  Status outOfRangeForRun(const std::string &where, const std::string &what,
                          const Expr &expr, int64_t value,
                          const std::string &allowed) const;
  /// Encodes the tensor maps that changed since they were last uploaded and
  /// uploads all slots in one copy on `stream`, ahead of the launches.
  Status uploadTensorMaps(void *stream);
  /// Marks the planned launches whose results an earlier run left in their
  /// buffers as reused (skipped); returns the keys of those that run.
  std::vector<std::vector<uint64_t>> planReuse();
  void forgetReuse();
  /// Waits for the last run; fails when there was none.
  Status waitForRun();
  std::string describeInput(std::size_t index) const;

  std::shared_ptr<const Bundle> bundle;
  std::shared_ptr<Device> device;
  std::unique_ptr<Executor> executor;
  uint32_t flags = 0;
  std::vector<Binding> bindings;
  std::vector<OutputBinding> outputBindings;
  std::vector<Buffer> buffers;
  /// One allocation for every temporary, one for the constants (uploaded
  /// once per session).
  Buffer arena, constants;
  /// Outputs bound to caller memory that is not their buffer, copied there
  /// after the launches.
  std::vector<DeviceCopy> copiesAfter;
  std::vector<ReuseState> reuse;
  /// One slot of kTensorMapSlotBytes per tensor_map argument, in one
  /// allocation made with the session, and their host copy.
  std::vector<TensorMapSlot> tensorMaps;
  DeviceAddress tensorMapMemory = 0;
  std::vector<uint8_t> tensorMapHost;
  uint64_t bindSerial = 0;
  /// The last run: symbol values, plans, and whether one happened.
  std::vector<int64_t> runSymbols;
  std::vector<LaunchPlan> plans;
  bool hasRun = false;
  bool waited = false;
  /// Runs started so far (Binding::epoch).
  uint64_t runsStarted = 0;
};

} // namespace sieve::rt

#endif // SIEVE_RUNTIME_SRC_SESSION_H
