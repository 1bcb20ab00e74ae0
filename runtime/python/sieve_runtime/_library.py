"""Finding and loading libsieve_runtime.so, and the C API's declarations.

The library is looked for, in this order:

1. where the environment variable SIEVE_RUNTIME_LIBRARY points (the library
   file itself, or a folder holding it); when it is set, nowhere else;
2. next to the package (sieve_runtime/libsieve_runtime.so or
   sieve_runtime/lib/), where an installation may have copied it;
3. in the build trees of the source tree the package sits in
   (runtime/python/sieve_runtime): $SIEVE_BUILD_DIR/lib, build/lib,
   build-rt/lib and build-runtime/lib at the repository's root.

It is loaded with RTLD_GLOBAL: the SIMT emulator's kernel libraries
(kernels.emu.so) resolve the emulator's functions (sieve_emu_*, in
libSieveEmulator.so beside the runtime) in the process's global scope.
"""

import ctypes
import os
import threading
from pathlib import Path

LIBRARY_NAMES = ("libsieve_runtime.so", "libsieve_runtime.so.0")
ENVIRONMENT_VARIABLE = "SIEVE_RUNTIME_LIBRARY"
# The major version of the C API this package was written against.
ABI_MAJOR = 0


class RuntimeLibraryError(OSError):
    """libsieve_runtime.so could not be found or loaded."""


def _package_dir():
    return Path(__file__).resolve().parent


def candidate_paths():
    """[(path, how it was chosen)] in the order they are tried."""
    env = os.environ.get(ENVIRONMENT_VARIABLE)
    if env:
        path = Path(env).expanduser()
        if path.is_dir():
            return [(path / name, ENVIRONMENT_VARIABLE + " (a folder)")
                    for name in LIBRARY_NAMES]
        return [(path, ENVIRONMENT_VARIABLE)]
    candidates = []
    package = _package_dir()
    for folder in (package, package / "lib"):
        candidates += [(folder / name, "next to the package")
                       for name in LIBRARY_NAMES]
    # runtime/python/sieve_runtime -> the repository root.
    root = package.parent.parent.parent
    if (root / "runtime" / "include" / "sieve" / "runtime.h").is_file():
        builds = []
        if os.environ.get("SIEVE_BUILD_DIR"):
            builds.append((Path(os.environ["SIEVE_BUILD_DIR"]), "SIEVE_BUILD_DIR"))
        builds += [(root / name, "the source tree's build")
                   for name in ("build", "build-rt", "build-runtime")]
        for build, how in builds:
            candidates += [(build / "lib" / name, how) for name in LIBRARY_NAMES]
    return candidates


_lock = threading.Lock()
_library = None
_library_path = None


def library_path():
    """The path of the loaded runtime library (loading it if needed)."""
    load()
    return _library_path


def load():
    """Loads the runtime library once; raises RuntimeLibraryError naming
    every place tried when it cannot."""
    global _library, _library_path
    with _lock:
        if _library is not None:
            return _library
        tried = []
        for path, how in candidate_paths():
            if not path.exists():
                tried.append("  %s (%s): not there" % (path, how))
                continue
            try:
                library = ctypes.CDLL(str(path),
                                      mode=os.RTLD_GLOBAL | os.RTLD_NOW)
            except OSError as error:
                tried.append("  %s (%s): cannot be loaded: %s" % (path, how, error))
                continue
            if not hasattr(library, "sieve_runtime_version"):
                tried.append("  %s (%s): has no sieve_runtime_version; it is "
                             "an older runtime, rebuild it" % (path, how))
                continue
            _declare(library)
            version = library.sieve_runtime_version().decode()
            if int(version.split(".")[0]) != ABI_MAJOR:
                tried.append("  %s (%s): version %s, this package needs %d.x"
                             % (path, how, version, ABI_MAJOR))
                continue
            _library, _library_path = library, path
            return library
        raise RuntimeLibraryError(
            "cannot find Sieve's runtime library (libsieve_runtime.so). Tried:\n"
            + "\n".join(tried) + "\n"
            "Build it (cmake -S runtime -B build-rt -G Ninja && ninja -C "
            "build-rt sieve_runtime, or the whole Sieve build), or set "
            + ENVIRONMENT_VARIABLE + " to the library or its folder.")


# ---------------------------------------------------------------------------
# runtime.h
# ---------------------------------------------------------------------------

c_status = ctypes.c_int
c_dtype = ctypes.c_int


class sieve_dim(ctypes.Structure):
    _fields_ = [("size", ctypes.c_int64), ("symbol", ctypes.c_char_p)]


class sieve_tensor_info(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", c_dtype),
                ("rank", ctypes.c_int32), ("dims", ctypes.POINTER(sieve_dim))]


class sieve_device_options(ctypes.Structure):
    _fields_ = [("emulator_schedule_seed", ctypes.c_uint64),
                ("emulator_check_races", ctypes.c_int32),
                ("emulator_worker_threads", ctypes.c_uint32)]


class sieve_launch_info(ctypes.Structure):
    _fields_ = [("kernel", ctypes.c_char_p), ("op", ctypes.c_char_p),
                ("grid", ctypes.c_uint32 * 3), ("block", ctypes.c_uint32 * 3),
                ("dynamic_shared_bytes", ctypes.c_uint64),
                ("skipped", ctypes.c_int32), ("milliseconds", ctypes.c_double),
                ("emulator_blocks", ctypes.c_uint64),
                ("emulator_threads", ctypes.c_uint64),
                ("emulator_barriers", ctypes.c_uint64),
                ("emulator_collectives", ctypes.c_uint64),
                ("emulator_work_units", ctypes.c_uint64)]


class sieve_gate_stats(ctypes.Structure):
    _fields_ = [("op", ctypes.c_char_p), ("tokens", ctypes.c_int64),
                ("active_tokens", ctypes.c_int64),
                ("active_token_ratio", ctypes.c_double),
                ("mean_score_entropy_bits", ctypes.c_double),
                ("nan_scores", ctypes.c_int64)]


_P = ctypes.c_void_p
_I64 = ctypes.c_int64
_I64P = ctypes.POINTER(ctypes.c_int64)

# name: (restype, argtypes)
_FUNCTIONS = {
    "sieve_runtime_version": (ctypes.c_char_p, []),
    "sieve_status_name": (ctypes.c_char_p, [c_status]),
    "sieve_last_error": (ctypes.c_char_p, []),
    "sieve_dtype_name": (ctypes.c_char_p, [c_dtype]),
    "sieve_dtype_size": (ctypes.c_size_t, [c_dtype]),
    "sieve_bundle_open": (c_status, [ctypes.c_char_p, ctypes.POINTER(_P)]),
    "sieve_bundle_close": (None, [_P]),
    "sieve_bundle_entry": (ctypes.c_char_p, [_P]),
    "sieve_bundle_target": (ctypes.c_char_p, [_P]),
    "sieve_bundle_producer": (ctypes.c_char_p, [_P]),
    "sieve_bundle_num_inputs": (_I64, [_P]),
    "sieve_bundle_num_outputs": (_I64, [_P]),
    "sieve_bundle_get_input": (c_status, [_P, _I64, ctypes.POINTER(sieve_tensor_info)]),
    "sieve_bundle_get_output": (c_status, [_P, _I64, ctypes.POINTER(sieve_tensor_info)]),
    "sieve_bundle_num_launches": (_I64, [_P]),
    "sieve_bundle_num_gates": (_I64, [_P]),
    "sieve_device_open": (c_status, [ctypes.c_char_p,
                                     ctypes.POINTER(sieve_device_options),
                                     ctypes.POINTER(_P)]),
    "sieve_device_close": (None, [_P]),
    "sieve_device_get_kind": (ctypes.c_int, [_P]),
    "sieve_device_name": (ctypes.c_char_p, [_P]),
    "sieve_session_create": (c_status, [_P, _P, ctypes.c_uint32, ctypes.POINTER(_P)]),
    "sieve_session_destroy": (None, [_P]),
    "sieve_session_bind_input_host": (c_status, [_P, _I64, c_dtype, ctypes.c_int32,
                                                 _I64P, _I64P, _P]),
    "sieve_session_bind_input_device": (c_status, [_P, _I64, c_dtype, ctypes.c_int32,
                                                   _I64P, _I64P, ctypes.c_uint64]),
    "sieve_session_bind_output_device": (c_status, [_P, _I64, ctypes.c_uint64,
                                                    ctypes.c_size_t]),
    "sieve_session_run": (c_status, [_P, _P]),
    "sieve_session_get_output_shape": (c_status, [_P, _I64, _I64P, ctypes.c_int32,
                                                  ctypes.POINTER(ctypes.c_int32)]),
    "sieve_session_read_output": (c_status, [_P, _I64, _P, ctypes.c_size_t]),
    "sieve_session_get_output_device_pointer": (
        c_status, [_P, _I64, ctypes.POINTER(ctypes.c_uint64),
                   ctypes.POINTER(ctypes.c_size_t)]),
    "sieve_session_get_launch_info": (c_status, [_P, _I64,
                                                 ctypes.POINTER(sieve_launch_info)]),
    "sieve_session_get_run_time": (c_status, [_P, ctypes.POINTER(ctypes.c_double)]),
    "sieve_session_get_gate_stats": (c_status, [_P, _I64,
                                                ctypes.POINTER(sieve_gate_stats)]),
    "sieve_session_kernel_source": (ctypes.c_char_p, [_P]),
}


def _declare(library):
    for name, (restype, argtypes) in _FUNCTIONS.items():
        function = getattr(library, name)
        function.restype = restype
        function.argtypes = argtypes
