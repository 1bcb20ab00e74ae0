"""Sieve's runtime from Python: load kernel bundles and run them on a CUDA GPU
or on the SIMT emulator.

A pure-Python package over the runtime's C API (runtime/include/sieve/
runtime.h) through ctypes; it needs libsieve_runtime.so, found next to the
package, in the source tree's build (build/lib, build-rt/lib), or where
SIEVE_RUNTIME_LIBRARY points (see _library.py). numpy is needed for host
data; PyTorch and CuPy are used when their tensors are passed.

    import sieve_runtime as sr

    bundle = sr.Bundle("out/attention")            # written by sieve-compile
    session = sr.Session(bundle, device="cuda")    # or "cuda:1", "emulator"
    out, = session.run(q, k, v)                    # numpy or torch/cupy
    session.stats()      # run time, per-launch grid/time, gate statistics

    out = sr.hybrid_attention(q, k, v, globals_, window_left=512,
                              window_right=0, causal=True, bundles="prepared/")

docs/python.md has the whole story.
"""

from ._core import (Bundle, Device, Session, SieveError, SieveFailedPrecondition,
                    SieveInvalidArgument,
                    SieveUnavailable, TensorSpec, get_device, runtime_version)
from ._library import RuntimeLibraryError, candidate_paths, library_path
from .attention import BundleLibrary, MissingBundleError, hybrid_attention

__version__ = "0.1.0"

__all__ = [
    "Bundle", "BundleLibrary", "Device", "MissingBundleError",
    "RuntimeLibraryError", "Session", "SieveError", "SieveFailedPrecondition",
    "SieveInvalidArgument",
    "SieveUnavailable", "TensorSpec", "candidate_paths", "get_device",
    "hybrid_attention", "library_path", "runtime_version",
]
