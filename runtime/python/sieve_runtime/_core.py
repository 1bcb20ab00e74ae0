"""Bundle, Device and Session over the C API (runtime/include/sieve/runtime.h)."""

import ctypes
import sys
import threading
from collections import namedtuple

from . import _library
from . import _tensors

STATUS_NAMES = ("SIEVE_OK", "SIEVE_ERROR_INVALID_ARGUMENT",
                "SIEVE_ERROR_INVALID_BUNDLE", "SIEVE_ERROR_IO",
                "SIEVE_ERROR_UNAVAILABLE", "SIEVE_ERROR_UNSUPPORTED",
                "SIEVE_ERROR_FAILED_PRECONDITION", "SIEVE_ERROR_DEVICE",
                "SIEVE_ERROR_OUT_OF_MEMORY", "SIEVE_ERROR_INTERNAL")

# Session flags (runtime.h).
LAUNCH_TIMINGS, CUDA_GRAPH, SYNC_EACH_LAUNCH = 1, 2, 4


class SieveError(RuntimeError):
    """A failed runtime call. `status` is the sieve_status name
    ("SIEVE_ERROR_INVALID_BUNDLE", ...); the message is the runtime's, which
    names the failing C function and what was wrong."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class SieveInvalidArgument(SieveError, ValueError):
    """SIEVE_ERROR_INVALID_ARGUMENT: also a ValueError."""


class SieveUnavailable(SieveError):
    """SIEVE_ERROR_UNAVAILABLE: no CUDA driver or device, no emulator."""


class SieveFailedPrecondition(SieveError, ValueError):
    """SIEVE_ERROR_FAILED_PRECONDITION: from a run, a check of the bundle's
    op contract failed for the bound sizes (e.g. 'the number of query heads
    is not a multiple of the number of key/value heads'); also a
    ValueError."""


def _check(status):
    if status == 0:
        return
    library = _library.load()
    name = STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else str(status)
    message = library.sieve_last_error().decode(errors="replace")
    cls = {"SIEVE_ERROR_INVALID_ARGUMENT": SieveInvalidArgument,
           "SIEVE_ERROR_UNAVAILABLE": SieveUnavailable,
           "SIEVE_ERROR_FAILED_PRECONDITION": SieveFailedPrecondition,
           }.get(name, SieveError)
    raise cls(name, "%s [%s]" % (message, name))


def runtime_version():
    """The runtime library's version, e.g. '0.1.0'."""
    return _library.load().sieve_runtime_version().decode()


TensorSpec = namedtuple("TensorSpec", "name dtype shape")
TensorSpec.__doc__ = """An input or output of a bundle: `dtype` is 'f32', 'f16',
'bf16', 'i64', 'i32', 'i8', 'i4' or 'i1'; `shape` holds ints for static
sizes and strings for dynamic ones (the symbol, or the expression of an
output, e.g. 's0')."""


class Bundle:
    """A kernel bundle written by sieve-compile (docs/bundle-format.md),
    opened and validated; nothing is loaded onto a device yet."""

    def __init__(self, path):
        library = _library.load()
        self.path = str(path)
        handle = ctypes.c_void_p()
        _check(library.sieve_bundle_open(self.path.encode(), ctypes.byref(handle)))
        self._handle = handle
        self._library = library
        self.entry = library.sieve_bundle_entry(handle).decode()
        self.target = library.sieve_bundle_target(handle).decode()
        self.producer = library.sieve_bundle_producer(handle).decode()
        self.inputs = tuple(self._specs(library.sieve_bundle_num_inputs,
                                        library.sieve_bundle_get_input))
        self.outputs = tuple(self._specs(library.sieve_bundle_num_outputs,
                                         library.sieve_bundle_get_output))
        self.num_launches = library.sieve_bundle_num_launches(handle)
        self.num_gates = library.sieve_bundle_num_gates(handle)

    def _specs(self, count, get):
        for index in range(count(self._handle)):
            info = _library.sieve_tensor_info()
            _check(get(self._handle, index, ctypes.byref(info)))
            shape = tuple(info.dims[d].symbol.decode() if info.dims[d].symbol
                          else info.dims[d].size for d in range(info.rank))
            yield TensorSpec(info.name.decode(), _tensors.DTYPES[info.dtype], shape)

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            self._library.sieve_bundle_close(handle)
            self._handle = None

    def __repr__(self):
        def fmt(spec):
            return "%s: %s[%s]" % (spec.name, spec.dtype,
                                   "x".join(str(d) for d in spec.shape))
        return "<sieve_runtime.Bundle %r entry=%s target=%s (%s) -> (%s)>" % (
            self.path, self.entry, self.target,
            ", ".join(map(fmt, self.inputs)), ", ".join(map(fmt, self.outputs)))


class Device:
    """An opened device: 'cuda' (ordinal 0), 'cuda:N', 'emulator' or 'auto'
    (cuda where a driver and a GPU are present, else the emulator).
    Emulator options: schedule_seed (0: linear thread order), check_races,
    worker_threads (0: one per core)."""

    def __init__(self, spec="cuda", schedule_seed=0, check_races=False,
                 worker_threads=0):
        library = _library.load()
        options = _library.sieve_device_options(int(schedule_seed),
                                                int(bool(check_races)),
                                                int(worker_threads))
        handle = ctypes.c_void_p()
        _check(library.sieve_device_open(str(spec).encode(), ctypes.byref(options),
                                         ctypes.byref(handle)))
        self._handle = handle
        self._library = library
        self.spec = str(spec)
        self.kind = "emulator" if library.sieve_device_get_kind(handle) == 1 else "cuda"
        self.name = library.sieve_device_name(handle).decode()
        # "cuda:0 (NVIDIA H200, sm_90)" -> 0
        self.ordinal = None
        if self.kind == "cuda":
            self.ordinal = int(self.name.split()[0].split(":")[1])

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            self._library.sieve_device_close(handle)
            self._handle = None

    def __repr__(self):
        return "<sieve_runtime.Device %s>" % self.name


_devices = {}
_devices_lock = threading.Lock()


def get_device(spec):
    """A shared Device for `spec` (opened once per process)."""
    if isinstance(spec, Device):
        return spec
    with _devices_lock:
        device = _devices.get(spec)
        if device is None:
            device = _devices[spec] = Device(spec)
        return device


class Session:
    """A bundle prepared on a device: binds inputs, runs, returns outputs.

        session = Session(Bundle("out/attention"), device="cuda")
        out, = session.run(q, k, v)          # torch CUDA tensors in and out
        print(session.stats()["run_ms"])

    Inputs are numpy arrays or PyTorch CPU tensors (host; copied when bound)
    or, on CUDA, PyTorch tensors, CuPy arrays or DLPack producers in device
    memory (read in place at every run, strided views included). Outputs
    are, by default, of the kind of the inputs: torch/cupy tensors on the
    inputs' device, written by the kernels directly (no copy), with the run
    queued on the framework's current stream and not waited for; or numpy
    arrays (torch CPU tensors for torch CPU inputs) after the run finished.
    `outputs=` ('numpy', 'torch', 'cupy') overrides that, `stream=` the
    stream. A session is used by one thread at a time.

    Flags: launch_timings (CUDA: time every launch), cuda_graph (replay the
    schedule as a CUDA graph), sync_each_launch (debugging)."""

    def __init__(self, bundle, device="cuda", launch_timings=False,
                 cuda_graph=False, sync_each_launch=False):
        library = _library.load()
        self.bundle = bundle if isinstance(bundle, Bundle) else Bundle(bundle)
        self.device = get_device(device)
        flags = ((LAUNCH_TIMINGS if launch_timings else 0) |
                 (CUDA_GRAPH if cuda_graph else 0) |
                 (SYNC_EACH_LAUNCH if sync_each_launch else 0))
        handle = ctypes.c_void_p()
        _check(library.sieve_session_create(self.bundle._handle, self.device._handle,
                                            flags, ctypes.byref(handle)))
        self._handle = handle
        self._library = library
        self.kernel_source = library.sieve_session_kernel_source(handle).decode()
        self._keepalive = [None] * len(self.bundle.inputs)
        self._bound_outputs = [None] * len(self.bundle.outputs)

    def close(self):
        handle = getattr(self, "_handle", None)
        if handle:
            self._library.sieve_session_destroy(handle)
            self._handle = None
        self._keepalive = []
        self._bound_outputs = []

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<sieve_runtime.Session %s on %s (%s)>" % (
            self.bundle.entry, self.device.name, self.kernel_source)

    # -- running ------------------------------------------------------------

    def run(self, *inputs, outputs=None, stream=None, names=None):
        """Runs the bundle on `inputs` (one per bundle input, in order) and
        returns a tuple of its outputs. `names` (optional) are the names
        errors use for the inputs instead of the bundle's."""
        results = self.bind(*inputs, outputs=outputs, stream=stream, names=names)
        self.launch()
        if results is not None:
            return results
        return self.read_outputs()

    def read_outputs(self, kind=None):
        """The outputs of the last run copied to the host (waits for it):
        numpy arrays, or PyTorch CPU tensors for kind='torch' (default: what
        bind() chose for host outputs)."""
        kind = kind or getattr(self, "_output_kind", "numpy")
        if kind == "cupy" or (kind == "torch" and self.device.kind == "cuda"):
            kind = "numpy"
        return tuple(self._read_output(index, kind)
                     for index in range(len(self.bundle.outputs)))

    def bind(self, *inputs, outputs=None, stream=None, names=None):
        """The first half of run(): checks and binds `inputs` and chooses the
        stream. For device outputs it allocates and binds them and returns
        them (each launch() writes them again); for host outputs it returns
        None and run() reads them after the launch. With launch(), for
        timing launches without Python's binding work in between."""
        specs = self.bundle.inputs
        names = list(names) if names else [spec.name for spec in specs]
        if len(inputs) != len(specs):
            raise TypeError("%s takes %d inputs (%s), got %d" % (
                self.bundle.entry, len(specs), ", ".join(names), len(inputs)))
        views = []
        for index, (value, spec) in enumerate(zip(inputs, specs)):
            what = "input '%s' (#%d)" % (names[index], index)
            views.append(_tensors.view(value, spec.dtype, what))
        self._check_shapes(views, names)
        self._check_devices(views, names)

        device_views = [v for v in views if v.kind == "device"]
        kind = outputs or self._default_outputs(views)
        if kind not in ("numpy", "torch", "cupy"):
            raise ValueError("outputs: %r is not 'numpy', 'torch' or 'cupy'" % (kind,))
        on_device = kind == "cupy" or (kind == "torch" and self.device.kind == "cuda")
        if on_device and self.device.kind != "cuda":
            raise ValueError("outputs: %r needs a CUDA session; this one runs on %s"
                             % (kind, self.device.name))
        handle = _tensors.stream_handle(stream)
        if self.device.kind != "cuda":
            if handle is not None:
                raise ValueError("stream: the emulator runs on no CUDA stream")
        elif handle is None and device_views:
            handle = _tensors.current_stream(device_views[0])
        elif handle is None and on_device:
            handle = self._framework_stream(kind)

        for index, v in enumerate(views):
            self._bind(index, v)
        self._stream = handle
        self._output_kind = kind
        if on_device:
            return tuple(self._bind_device_outputs(kind))
        self._unbind_outputs()
        return None

    def launch(self, stream=None):
        """Runs the schedule on the bound inputs and outputs, on `stream`
        (default: the one bind() chose). Queued, not waited for, when there
        is a stream; reading outputs or stats() waits."""
        handle = _tensors.stream_handle(stream) if stream is not None else \
            getattr(self, "_stream", None)
        _check(self._library.sieve_session_run(
            self._handle, ctypes.c_void_p(handle) if handle else None))

    def _default_outputs(self, views):
        origins = [v.origin for v in views if v.kind == "device"]
        if "torch" in origins:
            return "torch"
        if "cupy" in origins:
            return "cupy"
        if origins:  # DLPack producers: the framework at hand
            return "torch" if "torch" in sys.modules else "cupy"
        if any(v.origin == "torch" for v in views):
            return "torch"  # torch CPU tensors in, torch CPU tensors out
        return "numpy"

    def _framework_stream(self, kind):
        if kind == "torch":
            import torch
            return torch.cuda.current_stream(self.device.ordinal).cuda_stream or \
                _tensors.CU_STREAM_LEGACY
        import cupy
        with cupy.cuda.Device(self.device.ordinal):
            return cupy.cuda.get_current_stream().ptr or _tensors.CU_STREAM_LEGACY

    def _check_shapes(self, views, names):
        symbols = {}
        for index, (v, spec) in enumerate(zip(views, self.bundle.inputs)):
            what = "input '%s' (#%d)" % (names[index], index)
            expected = "[%s]" % ", ".join(str(d) for d in spec.shape)
            if len(v.shape) != len(spec.shape):
                raise ValueError("%s: rank %d (shape %s), the bundle expects rank "
                                 "%d %s" % (what, len(v.shape), list(v.shape),
                                            len(spec.shape), expected))
            for d, (size, want) in enumerate(zip(v.shape, spec.shape)):
                if isinstance(want, int):
                    if size != want:
                        raise ValueError("%s: dimension %d is %d, the bundle "
                                         "expects %d (shape %s)"
                                         % (what, d, size, want, expected))
                    continue
                seen = symbols.get(want)
                if seen is None:
                    symbols[want] = (size, what, d)
                elif seen[0] != size:
                    raise ValueError(
                        "%s: dimension %d is %d, but %s dimension %d is %d and "
                        "the bundle gives both the size %s" % (
                            what, d, size, seen[1], seen[2], seen[0], want))

    def _check_devices(self, views, names):
        for index, v in enumerate(views):
            if v.kind != "device":
                continue
            what = "input '%s' (#%d)" % (names[index], index)
            if self.device.kind != "cuda":
                raise ValueError("%s is in CUDA memory (cuda:%d), but the session "
                                 "runs on the emulator; pass host data (e.g. "
                                 ".cpu())" % (what, v.device_index))
            if v.device_index != self.device.ordinal:
                raise ValueError("%s is on cuda:%d, but the session runs on %s"
                                 % (what, v.device_index, self.device.name))

    def _bind(self, index, v):
        rank = len(v.shape)
        shape = (ctypes.c_int64 * max(rank, 1))(*v.shape)
        strides = (ctypes.c_int64 * max(rank, 1))(*v.strides)
        code = _tensors.DTYPE_CODE[v.dtype]
        if v.kind == "host":
            _check(self._library.sieve_session_bind_input_host(
                self._handle, index, code, rank, shape, strides,
                ctypes.c_void_p(v.pointer)))
            # Host data is copied when bound.
            self._keepalive[index] = None
        else:
            _check(self._library.sieve_session_bind_input_device(
                self._handle, index, code, rank, shape, strides, v.pointer))
            # Device memory is read at every run while it is bound.
            self._keepalive[index] = v.keepalive

    def output_shape(self, index):
        """The shape of output `index` for the bound inputs."""
        shape = (ctypes.c_int64 * 16)()
        rank = ctypes.c_int32()
        _check(self._library.sieve_session_get_output_shape(
            self._handle, index, shape, 16, ctypes.byref(rank)))
        return tuple(shape[d] for d in range(rank.value))

    def _bind_device_outputs(self, kind):
        results = []
        for index, spec in enumerate(self.bundle.outputs):
            shape = self.output_shape(index)
            if kind == "torch":
                import torch
                dtype = {"f32": torch.float32, "f16": torch.float16,
                         "bf16": torch.bfloat16, "i64": torch.int64,
                         "i32": torch.int32, "i8": torch.int8, "i4": torch.int8,
                         "i1": torch.bool}[spec.dtype]
                tensor = torch.empty(shape, dtype=dtype,
                                     device="cuda:%d" % self.device.ordinal)
                pointer, nbytes = tensor.data_ptr(), tensor.numel() * tensor.element_size()
            else:
                import cupy
                import numpy as np
                dtype = {"f32": np.float32, "f16": np.float16, "bf16": np.uint16,
                         "i64": np.int64, "i32": np.int32, "i8": np.int8,
                         "i4": np.int8, "i1": np.bool_}[spec.dtype]
                with cupy.cuda.Device(self.device.ordinal):
                    tensor = cupy.empty(shape, dtype=dtype)
                pointer, nbytes = tensor.data.ptr, tensor.nbytes
            _check(self._library.sieve_session_bind_output_device(
                self._handle, index, pointer, nbytes))
            self._bound_outputs[index] = tensor
            results.append(tensor)
        return results

    def _unbind_outputs(self):
        for index, bound in enumerate(self._bound_outputs):
            if bound is not None:
                _check(self._library.sieve_session_bind_output_device(
                    self._handle, index, 0, 0))
                self._bound_outputs[index] = None

    def _read_output(self, index, kind):
        spec = self.bundle.outputs[index]
        shape = self.output_shape(index)
        if kind == "torch":
            import torch
            dtype = {"f32": torch.float32, "f16": torch.float16,
                     "bf16": torch.bfloat16, "i64": torch.int64,
                     "i32": torch.int32, "i8": torch.int8, "i4": torch.int8,
                     "i1": torch.bool}[spec.dtype]
            tensor = torch.empty(shape, dtype=dtype)
            _check(self._library.sieve_session_read_output(
                self._handle, index, ctypes.c_void_p(tensor.data_ptr()),
                tensor.numel() * tensor.element_size()))
            return tensor
        import numpy as np
        dtype = {"f32": np.float32, "f16": np.float16, "bf16": np.uint16,
                 "i64": np.int64, "i32": np.int32, "i8": np.int8,
                 "i4": np.int8, "i1": np.bool_}[spec.dtype]
        array = np.empty(shape, dtype=dtype)
        _check(self._library.sieve_session_read_output(
            self._handle, index, ctypes.c_void_p(array.ctypes.data), array.nbytes))
        if spec.dtype == "bf16":
            array = _tensors.bf16_bits_to_float32(array)
        return array

    # -- statistics ----------------------------------------------------------

    def stats(self):
        """What the last run did (waits for it): {'device', 'kernel_source',
        'run_ms', 'launches': [{'kernel', 'op', 'grid', 'block',
        'dynamic_shared_bytes', 'skipped', 'ms', and on the emulator
        'emulator': {blocks, threads, barriers, collectives, work_units}}],
        'gates': [{'op', 'tokens', 'active_tokens', 'active_token_ratio',
        'mean_score_entropy_bits', 'nan_scores'}]}. 'ms' is None where not
        measured (CUDA without launch_timings, or with cuda_graph)."""
        library = self._library
        milliseconds = ctypes.c_double()
        _check(library.sieve_session_get_run_time(self._handle,
                                                  ctypes.byref(milliseconds)))
        launches = []
        for index in range(self.bundle.num_launches):
            info = _library.sieve_launch_info()
            _check(library.sieve_session_get_launch_info(self._handle, index,
                                                         ctypes.byref(info)))
            entry = {"kernel": info.kernel.decode(), "op": info.op.decode(),
                     "grid": tuple(info.grid), "block": tuple(info.block),
                     "dynamic_shared_bytes": info.dynamic_shared_bytes,
                     "skipped": bool(info.skipped),
                     "ms": None if info.milliseconds != info.milliseconds
                     else info.milliseconds}
            if self.device.kind == "emulator":
                entry["emulator"] = {
                    "blocks": info.emulator_blocks, "threads": info.emulator_threads,
                    "barriers": info.emulator_barriers,
                    "collectives": info.emulator_collectives,
                    "work_units": info.emulator_work_units}
            launches.append(entry)
        gates = []
        for index in range(self.bundle.num_gates):
            stats = _library.sieve_gate_stats()
            _check(library.sieve_session_get_gate_stats(self._handle, index,
                                                        ctypes.byref(stats)))
            gates.append({"op": stats.op.decode(), "tokens": stats.tokens,
                          "active_tokens": stats.active_tokens,
                          "active_token_ratio": stats.active_token_ratio,
                          "mean_score_entropy_bits": stats.mean_score_entropy_bits,
                          "nan_scores": stats.nan_scores})
        return {"device": self.device.name, "kernel_source": self.kernel_source,
                "run_ms": milliseconds.value, "launches": launches, "gates": gates}
