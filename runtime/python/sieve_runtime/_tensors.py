"""Tensors the binding accepts: their dtype, shape, strides and memory.

Host tensors: numpy arrays (and anything numpy.asarray takes without
copying a device's memory) and PyTorch CPU tensors. Device tensors (CUDA):
PyTorch tensors (data_ptr()/stride()), CuPy arrays (data.ptr/strides), and
any other object with __dlpack__/__dlpack_device__ (DLPack capsule).

Element types follow Sieve's .npy convention where numpy has no type of its
own: bf16 data may be numpy float32 (rounded to bf16, nearest even, by the
binding), ml_dtypes.bfloat16, or uint16 holding the bits; i4 data is int8
in [-8, 7] (one byte per element); i1 data is bool.
"""

import ctypes
import sys

DTYPES = ("f32", "f16", "bf16", "i64", "i32", "i8", "i4", "i1")
DTYPE_CODE = {name: code for code, name in enumerate(DTYPES)}
ITEMSIZE = {"f32": 4, "f16": 2, "bf16": 2, "i64": 8, "i32": 4, "i8": 1,
            "i4": 1, "i1": 1}

# DLPack device types and type codes (dlpack.h).
KDL_CPU, KDL_CUDA, KDL_CUDA_HOST, KDL_CUDA_MANAGED = 1, 2, 3, 13
KDL_INT, KDL_UINT, KDL_FLOAT, KDL_BFLOAT, KDL_BOOL = 0, 1, 2, 4, 6
# The CUstream handle of the legacy default stream (cuda.h CU_STREAM_LEGACY).
CU_STREAM_LEGACY = 1


class View:
    """What binding one tensor needs. `kind`: 'host' or 'device'; `origin`:
    'numpy', 'torch', 'cupy' or 'dlpack'. `keepalive` holds whatever must
    live while the runtime may read the memory."""

    def __init__(self, kind, origin, dtype, shape, strides, pointer,
                 device_index=None, keepalive=None):
        self.kind, self.origin, self.dtype = kind, origin, dtype
        self.shape, self.strides, self.pointer = tuple(shape), tuple(strides), pointer
        self.device_index = device_index
        self.keepalive = keepalive


def _module_of(obj):
    return type(obj).__module__.split(".")[0]


def is_torch(obj):
    return _module_of(obj) == "torch" and hasattr(obj, "data_ptr")


def is_cupy(obj):
    return _module_of(obj) == "cupy" and hasattr(obj, "data") and hasattr(obj, "device")


def dlpack_device(obj):
    """(device_type, device_id) of an object with __dlpack_device__, or None."""
    method = getattr(obj, "__dlpack_device__", None)
    if method is None:
        return None
    try:
        device_type, device_id = method()
        return int(device_type), int(device_id)
    except Exception:  # noqa: BLE001 - not a usable DLPack producer
        return None


def describe_type(obj):
    module = type(obj).__module__
    return (module + "." if module not in ("builtins",) else "") + type(obj).__name__


# ---------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------

def _numpy_dtype_to_sieve(dtype, expected):
    """The sieve dtype numpy `dtype` holds for a tensor of `expected`
    dtype, and how to convert: None (as is), 'bf16-round' (float32 to
    bf16), 'bf16-bits' (view as uint16). Returns (sieve dtype or None,
    conversion)."""
    name = dtype.name
    if expected == "bf16":
        if name == "float32":
            return "bf16", "bf16-round"
        if name in ("bfloat16", "uint16"):
            return "bf16", "bf16-bits"
    if expected == "i4" and name == "int8":
        return "i4", None
    table = {"float32": "f32", "float16": "f16", "int64": "i64", "int32": "i32",
             "int8": "i8", "bool": "i1"}
    return table.get(name), None


def _hint(expected, origin):
    if expected == "bf16":
        if origin == "numpy":
            return " (pass float32, ml_dtypes.bfloat16 or uint16 bits)"
        if origin == "cupy":
            return " (CuPy has no bfloat16: pass uint16 bits, or a torch tensor)"
        return " (pass a bfloat16 tensor)"
    if expected == "i4":
        return " (i4 travels as int8 holding values in [-8, 7])"
    if expected == "i1":
        return " (pass bool)"
    return ""


def _torch_dtype_to_sieve(dtype, expected):
    name = str(dtype).replace("torch.", "")
    if expected == "bf16" and name in ("bfloat16", "uint16"):
        return "bf16"
    if expected == "i4" and name == "int8":
        return "i4"
    table = {"float32": "f32", "float16": "f16", "bfloat16": "bf16",
             "int64": "i64", "int32": "i32", "int8": "i8", "bool": "i1"}
    return table.get(name)


def _dlpack_dtype_to_sieve(code, bits, lanes, expected):
    if lanes != 1:
        return None
    if expected == "bf16" and ((code == KDL_BFLOAT and bits == 16) or
                               (code == KDL_UINT and bits == 16)):
        return "bf16"
    if expected == "i4" and code == KDL_INT and bits == 8:
        return "i4"
    table = {(KDL_FLOAT, 32): "f32", (KDL_FLOAT, 16): "f16",
             (KDL_BFLOAT, 16): "bf16", (KDL_INT, 64): "i64",
             (KDL_INT, 32): "i32", (KDL_INT, 8): "i8", (KDL_BOOL, 8): "i1"}
    return table.get((code, bits))


def round_to_bf16_bits(array):
    """float32 numpy array -> uint16 bf16 bits, round to nearest even (NaN
    stays NaN)."""
    import numpy as np
    a = np.array(array, dtype=np.float32, order="C")
    bits = a.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(a)
    if nan.any():
        rounded = np.where(nan, np.uint16(0x7FC0), rounded)
    return rounded


def bf16_bits_to_float32(bits):
    import numpy as np
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------

def view(obj, expected, what):
    """The View of `obj` for an input of sieve dtype `expected`; raises
    TypeError for an unsupported object or dtype."""
    if is_torch(obj):
        return _torch_view(obj, expected, what)
    if is_cupy(obj):
        return _cupy_view(obj, expected, what)
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is needed for host data
        np = None
    if np is not None and isinstance(obj, np.ndarray):
        return _numpy_view(obj, expected, what)
    device = dlpack_device(obj)
    if device is not None and device[0] in (KDL_CUDA, KDL_CUDA_MANAGED):
        return _dlpack_view(obj, expected, what, device)
    if np is None:
        raise TypeError("%s: %s is not a tensor the binding takes (numpy is not "
                        "installed)" % (what, describe_type(obj)))
    if device is not None and device[0] in (KDL_CPU, KDL_CUDA_HOST) and \
            hasattr(np, "from_dlpack"):
        try:
            return _numpy_view(np.from_dlpack(obj), expected, what, keep=obj)
        except (TypeError, BufferError, RuntimeError):
            pass
    if isinstance(obj, (int, float, bool)) or hasattr(obj, "__array__") or \
            hasattr(obj, "__array_interface__") or isinstance(obj, (list, tuple)):
        return _numpy_view(np.asarray(obj), expected, what, keep=obj)
    raise TypeError("%s: %s is not a tensor the binding takes (numpy arrays, "
                    "PyTorch tensors, CuPy arrays, DLPack producers)"
                    % (what, describe_type(obj)))


def _numpy_view(array, expected, what, keep=None):
    import numpy as np
    dtype, conversion = _numpy_dtype_to_sieve(array.dtype, expected)
    if dtype != expected:
        raise TypeError("%s: dtype %s (numpy), the bundle expects %s%s"
                        % (what, array.dtype.name, expected, _hint(expected, "numpy")))
    if conversion == "bf16-round":
        array = round_to_bf16_bits(array)
    elif conversion == "bf16-bits":
        array = array.view(np.uint16)
    if expected == "i4" and array.size and (array.min() < -8 or array.max() > 7):
        raise ValueError("%s: i4 values must lie in [-8, 7]; got [%d, %d]"
                         % (what, int(array.min()), int(array.max())))
    itemsize = array.dtype.itemsize
    if any(stride % itemsize for stride in array.strides):
        array = np.array(array, order="C")
    strides = [stride // itemsize for stride in array.strides]
    pointer = array.ctypes.data if array.size else (array.ctypes.data or 0)
    return View("host", "numpy", expected, array.shape, strides, pointer,
                keepalive=(array, keep))


def _torch_view(tensor, expected, what):
    dtype = _torch_dtype_to_sieve(tensor.dtype, expected)
    if dtype != expected:
        raise TypeError("%s: dtype %s (torch), the bundle expects %s%s"
                        % (what, str(tensor.dtype).replace("torch.", ""),
                           expected, _hint(expected, "torch")))
    if tensor.requires_grad:
        tensor = tensor.detach()
    if expected == "i4" and tensor.numel():
        low, high = int(tensor.min()), int(tensor.max())
        if low < -8 or high > 7:
            raise ValueError("%s: i4 values must lie in [-8, 7]; got [%d, %d]"
                             % (what, low, high))
    device = tensor.device
    if device.type == "cuda":
        return View("device", "torch", expected, tensor.shape, tensor.stride(),
                    tensor.data_ptr(), device_index=device.index,
                    keepalive=tensor)
    if device.type == "cpu":
        return View("host", "torch", expected, tensor.shape, tensor.stride(),
                    tensor.data_ptr(), keepalive=tensor)
    raise TypeError("%s: a torch tensor on %s; the binding takes CPU and CUDA "
                    "tensors" % (what, device))


def _cupy_view(array, expected, what):
    import numpy as np
    dtype, conversion = _numpy_dtype_to_sieve(np.dtype(array.dtype), expected)
    if dtype != expected or conversion == "bf16-round":
        raise TypeError("%s: dtype %s (cupy), the bundle expects %s%s"
                        % (what, np.dtype(array.dtype).name, expected,
                           _hint(expected, "cupy")))
    itemsize = array.dtype.itemsize
    if any(stride % itemsize for stride in array.strides):
        raise ValueError("%s: strides %s are not whole elements"
                         % (what, tuple(array.strides)))
    return View("device", "cupy", expected, array.shape,
                [stride // itemsize for stride in array.strides],
                array.data.ptr, device_index=array.device.id, keepalive=array)


# DLPack (dlpack.h, version 0.x "dltensor" capsules).
class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice),
                ("ndim", ctypes.c_int32), ("dtype", _DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]


def _capsule_pointer(capsule, name):
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype = ctypes.c_void_p
    get.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return get(capsule, name)


def _dlpack_view(obj, expected, what, device, stream=CU_STREAM_LEGACY):
    # The producer makes the data ready on `stream`, the one the run uses
    # when no other is given (CU_STREAM_LEGACY).
    try:
        capsule = obj.__dlpack__(stream=stream)
    except TypeError:
        capsule = obj.__dlpack__()
    try:
        address = _capsule_pointer(capsule, b"dltensor")
    except ValueError as error:
        raise TypeError("%s: %s gave a DLPack capsule the binding cannot read "
                        "(%s)" % (what, describe_type(obj), error)) from None
    managed = _DLManagedTensor.from_address(address)
    tensor = managed.dl_tensor
    dtype = _dlpack_dtype_to_sieve(tensor.dtype.code, tensor.dtype.bits,
                                   tensor.dtype.lanes, expected)
    if dtype != expected:
        raise TypeError("%s: DLPack dtype (code %d, %d bits, %d lanes), the "
                        "bundle expects %s%s" % (what, tensor.dtype.code,
                                                 tensor.dtype.bits,
                                                 tensor.dtype.lanes, expected,
                                                 _hint(expected, "dlpack")))
    ndim = tensor.ndim
    shape = [tensor.shape[d] for d in range(ndim)]
    if tensor.strides:
        strides = [tensor.strides[d] for d in range(ndim)]
    else:
        strides, step = [0] * ndim, 1
        for d in reversed(range(ndim)):
            strides[d], step = step, step * shape[d]
    pointer = (tensor.data or 0) + tensor.byte_offset
    # The capsule, not consumed, frees the tensor when it is collected: keep
    # it (and the producer) while the runtime may read the memory.
    return View("device", "dlpack", expected, shape, strides, pointer,
                device_index=device[1], keepalive=(capsule, obj))


def current_stream(view_):
    """The CUstream handle of the current stream of the framework that made
    `view_` (a device View), for running in order with its work."""
    handle = 0
    if view_.origin == "torch":
        torch = sys.modules["torch"]
        handle = torch.cuda.current_stream(view_.device_index).cuda_stream
    elif view_.origin == "cupy":
        cupy = sys.modules["cupy"]
        with cupy.cuda.Device(view_.device_index):
            handle = cupy.cuda.get_current_stream().ptr
    else:
        return CU_STREAM_LEGACY
    # Handle 0 is the legacy default stream; NULL would mean "the session's
    # own stream" to the runtime.
    return handle or CU_STREAM_LEGACY


def stream_handle(stream):
    """A CUstream handle from an int, a torch.cuda.Stream (.cuda_stream) or
    a cupy Stream (.ptr)."""
    if stream is None:
        return None
    if isinstance(stream, int):
        return stream or CU_STREAM_LEGACY
    for attribute in ("cuda_stream", "ptr", "handle"):
        value = getattr(stream, attribute, None)
        if isinstance(value, int):
            return value or CU_STREAM_LEGACY
    raise TypeError("stream: %s is not a CUDA stream (an int handle, a "
                    "torch.cuda.Stream or a cupy Stream)" % describe_type(stream))
