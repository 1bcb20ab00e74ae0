//===- runtime.hpp - C++ wrapper of Sieve's runtime C API -------*- C++ -*-===//
//
// Header-only RAII classes over runtime.h. Errors are exceptions
// (sieve::runtime::Error, carrying the sieve_status and the C API's message,
// which names the failing call). Bundle and Device are shared handles (copies
// refer to the same object); Session is move-only.
//
//   auto bundle = sieve::runtime::Bundle::open("out/attention");
//   auto device = sieve::runtime::Device::open("cuda:0");
//   sieve::runtime::Session session(bundle, device);
//   session.bindInput(0, q);           // a sieve::HostTensor
//   session.run();
//   sieve::HostTensor out = session.readOutput(0);
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_RUNTIME_HPP
#define SIEVE_RUNTIME_RUNTIME_HPP

#include "sieve/HostTensor.h"
#include "sieve/runtime.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sieve::runtime {

/// The runtime library's version ("0.1.0").
inline std::string version() { return sieve_runtime_version(); }

/// A failed runtime call.
class Error : public std::runtime_error {
public:
  Error(sieve_status status, const std::string &message)
      : std::runtime_error(message), status(status) {}
  sieve_status getStatus() const { return status; }

private:
  sieve_status status;
};

namespace detail {
/// Throws the last error of this thread when `status` is not SIEVE_OK.
inline void check(sieve_status status) {
  if (status != SIEVE_OK)
    throw Error(status, sieve_last_error());
}
} // namespace detail

/// One dimension of a bundle's input or output: a static size, or -1 and
/// the symbol or expression that sizes it.
struct Dim {
  int64_t size;
  std::string symbol;
};

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<Dim> shape;
  /// Inputs: read through the bound strides (sieve_bundle_input_is_strided).
  bool strided = false;
};

class Bundle {
public:
  /// Opens and validates the bundle directory `path`.
  static Bundle open(const std::string &path) {
    sieve_bundle *handle = nullptr;
    detail::check(sieve_bundle_open(path.c_str(), &handle));
    return Bundle(handle);
  }

  std::string getEntry() const { return sieve_bundle_entry(get()); }
  std::string getTarget() const { return sieve_bundle_target(get()); }
  std::string getProducer() const { return sieve_bundle_producer(get()); }
  int64_t getNumLaunches() const { return sieve_bundle_num_launches(get()); }
  int64_t getNumGates() const { return sieve_bundle_num_gates(get()); }

  std::vector<TensorInfo> getInputs() const {
    return getTensors(sieve_bundle_num_inputs(get()), &sieve_bundle_get_input);
  }
  std::vector<TensorInfo> getOutputs() const {
    return getTensors(sieve_bundle_num_outputs(get()),
                      &sieve_bundle_get_output);
  }

  sieve_bundle *get() const { return handle.get(); }

private:
  explicit Bundle(sieve_bundle *handle) : handle(handle, &sieve_bundle_close) {}

  std::vector<TensorInfo>
  getTensors(int64_t count,
             sieve_status (*getInfo)(const sieve_bundle *, int64_t,
                                     sieve_tensor_info *)) const {
    std::vector<TensorInfo> tensors;
    for (int64_t i = 0; i < count; ++i) {
      sieve_tensor_info info;
      detail::check(getInfo(get(), i, &info));
      TensorInfo tensor{info.name, static_cast<DType>(info.dtype), {}};
      tensor.strided = getInfo == &sieve_bundle_get_input &&
                       sieve_bundle_input_is_strided(get(), i) != 0;
      for (int32_t d = 0; d < info.rank; ++d)
        tensor.shape.push_back({info.dims[d].size, info.dims[d].symbol
                                                       ? info.dims[d].symbol
                                                       : ""});
      tensors.push_back(std::move(tensor));
    }
    return tensors;
  }

  std::shared_ptr<sieve_bundle> handle;
};

class Device {
public:
  /// Opens "cuda", "cuda:N" or "emulator".
  static Device open(const std::string &spec,
                     const sieve_device_options *options = nullptr) {
    sieve_device *handle = nullptr;
    detail::check(sieve_device_open(spec.c_str(), options, &handle));
    return Device(handle);
  }

  sieve_device_kind getKind() const { return sieve_device_get_kind(get()); }
  std::string getName() const { return sieve_device_name(get()); }
  sieve_device *get() const { return handle.get(); }

private:
  explicit Device(sieve_device *handle) : handle(handle, &sieve_device_close) {}

  std::shared_ptr<sieve_device> handle;
};

class Session {
public:
  /// `flags`: SIEVE_SESSION_* of runtime.h.
  Session(const Bundle &bundle, const Device &device, uint32_t flags = 0)
      : handle(nullptr, &sieve_session_destroy), outputs(bundle.getOutputs()) {
    sieve_session *created = nullptr;
    detail::check(
        sieve_session_create(bundle.get(), device.get(), flags, &created));
    handle.reset(created);
  }

  /// Binds input `index` to host memory; `strides` (elements) may be null.
  void bindInput(int64_t index, DType dtype, const std::vector<int64_t> &shape,
                 const void *data, const int64_t *strides = nullptr) {
    detail::check(sieve_session_bind_input_host(
        get(), index, static_cast<sieve_dtype>(dtype),
        static_cast<int32_t>(shape.size()), shape.data(), strides, data));
  }
  void bindInput(int64_t index, const HostTensor &tensor) {
    bindInput(index, tensor.dtype, tensor.shape, tensor.data.data());
  }
  /// Binds input `index` to CUDA device memory (a CUdeviceptr); `strides`
  /// (elements) may describe a strided view, packed on the device.
  void bindDeviceInput(int64_t index, DType dtype,
                       const std::vector<int64_t> &shape,
                       uint64_t devicePointer,
                       const int64_t *strides = nullptr) {
    detail::check(sieve_session_bind_input_device(
        get(), index, static_cast<sieve_dtype>(dtype),
        static_cast<int32_t>(shape.size()), shape.data(), strides,
        devicePointer));
  }

  /// Makes the following runs write output `index` to `bytes` bytes of CUDA
  /// device memory at `devicePointer` (0 undoes it).
  void bindDeviceOutput(int64_t index, uint64_t devicePointer,
                        std::size_t bytes) {
    detail::check(sieve_session_bind_output_device(get(), index,
                                                   devicePointer, bytes));
  }

  /// Runs the schedule; `stream` is a CUstream or null (see runtime.h).
  void run(void *stream = nullptr) {
    detail::check(sieve_session_run(get(), stream));
  }

  std::vector<int64_t> getOutputShape(int64_t index) {
    std::vector<int64_t> shape(16);
    int32_t rank = 0;
    detail::check(sieve_session_get_output_shape(
        get(), index, shape.data(), static_cast<int32_t>(shape.size()), &rank));
    shape.resize(static_cast<std::size_t>(rank));
    return shape;
  }

  /// Output `index` of the last run, copied to the host.
  HostTensor readOutput(int64_t index) {
    if (index < 0 || static_cast<std::size_t>(index) >= outputs.size())
      throw Error(SIEVE_ERROR_INVALID_ARGUMENT,
                  "output index " + std::to_string(index) +
                      " is out of range (" + std::to_string(outputs.size()) +
                      " outputs)");
    HostTensor tensor(outputs[index].dtype, getOutputShape(index));
    readOutput(index, tensor.data.data(), tensor.data.size());
    return tensor;
  }
  void readOutput(int64_t index, void *data, std::size_t bytes) {
    detail::check(sieve_session_read_output(get(), index, data, bytes));
  }

  /// The device address and size of output `index` of the last run.
  std::pair<uint64_t, std::size_t> getOutputDevicePointer(int64_t index) {
    uint64_t pointer = 0;
    std::size_t bytes = 0;
    detail::check(sieve_session_get_output_device_pointer(get(), index,
                                                          &pointer, &bytes));
    return {pointer, bytes};
  }

  sieve_launch_info getLaunchInfo(int64_t index) {
    sieve_launch_info info;
    detail::check(sieve_session_get_launch_info(get(), index, &info));
    return info;
  }
  double getRunTime() {
    double milliseconds = 0;
    detail::check(sieve_session_get_run_time(get(), &milliseconds));
    return milliseconds;
  }
  sieve_gate_stats getGateStats(int64_t index) {
    sieve_gate_stats stats;
    detail::check(sieve_session_get_gate_stats(get(), index, &stats));
    return stats;
  }
  std::string getKernelSource() const {
    return sieve_session_kernel_source(get());
  }
  int64_t getNumOutputs() const { return static_cast<int64_t>(outputs.size()); }

  sieve_session *get() const { return handle.get(); }

private:
  std::unique_ptr<sieve_session, void (*)(sieve_session *)> handle;
  std::vector<TensorInfo> outputs;
};

} // namespace sieve::runtime

#endif // SIEVE_RUNTIME_RUNTIME_HPP
