"""hybrid_attention for PyTorch users, backed by bundles compiled ahead of time.

    from sieve_runtime import BundleLibrary, hybrid_attention

    bundles = BundleLibrary("prepared/")          # or $SIEVE_BUNDLES
    out = hybrid_attention(q, k, v, globals_, window_left=512, window_right=0,
                           causal=True, bundles=bundles)

`q` is [B, Hq, S, D], `k` and `v` [B, Hkv, Sk, D] (Hq a multiple of Hkv),
`globals_` [B, G] int32 (positions; negative or >= Sk entries are unused);
a [B, S, H, D] tensor is passed as its .transpose(1, 2) view, which the
runtime packs on the device. The result is [B, Hq, S, D] in q's dtype, on
q's device: CUDA tensors run on the GPU, on the current stream; CPU tensors
and numpy arrays on the SIMT emulator. The scale is 1/sqrt(D).

The bundle is the one compiled for (window_left, window_right, causal,
dtype, head dim), found by its entry name (sieve_runtime.graphs) among the
bundles under the library's folder, for the first target the GPU runs
(sm_90a before sm_90, sm_89, sm_86, sm_80). A configuration nobody compiled
raises MissingBundleError, which lists the compiled ones and gives the
commands that add the one asked for.
"""

import json
import os
import re
import threading
from pathlib import Path

from . import _core
from . import _tensors

ENVIRONMENT_VARIABLE = "SIEVE_BUNDLES"
# Preferred first; a session for a target the device cannot run fails and
# the next one is tried.
TARGET_ORDER = ("sm_90a", "sm_90", "sm_89", "sm_86", "sm_80")


class MissingBundleError(LookupError):
    """No bundle was compiled for the configuration asked for."""


class _Entry:
    def __init__(self, path, name, target, match):
        self.path, self.name, self.target = path, name, target
        self.dtype, self.head_dim = match[1], int(match[2])
        self.window = (int(match[3]), int(match[4]))
        self.causal = bool(match[5])

    def key(self):
        return (self.window, self.causal, self.dtype, self.head_dim)


def _describe(window, causal, dtype, head_dim):
    return "window (%d, %d)%s, %s, head dim %d" % (
        window[0], window[1], ", causal" if causal else "", dtype, head_dim)


class BundleLibrary:
    """The hybrid attention bundles under `folder` (searched two levels
    deep: bench/prepare writes <folder>/<target>/<name>/)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError("bundle library %s: no such folder" % self.folder)
        from . import graphs  # not at import: `python3 -m sieve_runtime.graphs`
        self.entries = []
        pattern = re.compile(graphs.PATTERNS[0][0])
        manifests = list(self.folder.glob("*/manifest.json")) + \
            list(self.folder.glob("*/*/manifest.json"))
        for manifest in sorted(manifests):
            try:
                data = json.loads(manifest.read_text())
            except (OSError, ValueError):
                continue
            match = pattern.fullmatch(str(data.get("entry", "")))
            if match:
                self.entries.append(_Entry(manifest.parent, match[0],
                                           str(data.get("target", "")), match))
        self.targets = sorted({e.target for e in self.entries})
        self._local = threading.local()

    def configurations(self):
        """The compiled (window, causal, dtype, head_dim) configurations."""
        return sorted({e.key() for e in self.entries})

    def find(self, window_left, window_right, causal, dtype, head_dim):
        """Bundle paths for the configuration, best target first; raises
        MissingBundleError naming the compiled ones and the commands that
        would add it."""
        from . import graphs
        key = ((window_left, window_right), bool(causal), dtype, head_dim)
        found = [e for e in self.entries if e.key() == key]
        if found:
            rank = {t: i for i, t in enumerate(TARGET_ORDER)}
            found.sort(key=lambda e: rank.get(e.target, len(rank)))
            return [e.path for e in found]
        name = graphs.hybrid_attention_name(dtype, head_dim, window_left,
                                            window_right, causal)
        compiled = "; ".join(_describe(*k) for k in self.configurations()) or "none"
        targets = self.targets or ["sm_90a"]
        subfolder = any(e.path.parent != self.folder for e in self.entries)
        commands = ["  python3 -m sieve_runtime.graphs hybrid_attention --dtype %s "
                    "--head-dim %d --window %d %d%s -o %s.mlir"
                    % (dtype, head_dim, window_left, window_right,
                       " --causal" if causal else "", name)]
        for target in targets:
            out = self.folder / target / name if subfolder else self.folder / name
            commands.append("  sieve-compile %s.mlir -o %s --target %s"
                            % (name, out, target))
        raise MissingBundleError(
            "no hybrid attention bundle for %s in %s. Compiled: %s.\n"
            "To add it, on a machine with Sieve's compiler (PYTHONPATH="
            "runtime/python):\n%s" % (_describe(*key), self.folder, compiled,
                                      "\n".join(commands)))

    def session(self, window_left, window_right, causal, dtype, head_dim, device):
        """A Session (kept per thread) for the configuration on `device`."""
        cache = getattr(self._local, "sessions", None)
        if cache is None:
            cache = self._local.sessions = {}
        key = (window_left, window_right, bool(causal), dtype, head_dim, device)
        session = cache.get(key)
        if session is not None:
            return session
        errors = []
        for path in self.find(window_left, window_right, causal, dtype, head_dim):
            try:
                session = _core.Session(path, device=device)
                break
            except _core.SieveError as error:
                if error.status != "SIEVE_ERROR_UNSUPPORTED":
                    raise
                errors.append(str(error))
        if session is None:
            raise _core.SieveError("SIEVE_ERROR_UNSUPPORTED",
                                   "no compiled target of %s runs on %s:\n  %s"
                                   % (_describe((window_left, window_right), causal,
                                                dtype, head_dim), device,
                                      "\n  ".join(errors)))
        cache[key] = session
        return session


_default_library = None


def _library_from(bundles):
    global _default_library
    if isinstance(bundles, BundleLibrary):
        return bundles
    if bundles is not None:
        return BundleLibrary(bundles)
    if _default_library is None:
        folder = os.environ.get(ENVIRONMENT_VARIABLE)
        if not folder:
            raise MissingBundleError(
                "hybrid_attention needs precompiled bundles: pass bundles= (a "
                "folder or a BundleLibrary) or set %s to the folder (e.g. the "
                "output of bench/prepare)" % ENVIRONMENT_VARIABLE)
        _default_library = BundleLibrary(folder)
    return _default_library


def _dtype_of(tensor, what):
    if _tensors.is_torch(tensor):
        name = str(tensor.dtype).replace("torch.", "")
    else:
        name = getattr(getattr(tensor, "dtype", None), "name", None)
    table = {"float32": "f32", "float16": "f16", "bfloat16": "bf16"}
    if name not in table:
        raise TypeError("hybrid_attention: %s has dtype %s; it takes float32, "
                        "float16 or bfloat16" % (what, name))
    return table[name]


def hybrid_attention(q, k, v, globals_, window_left, window_right=0,
                     causal=False, bundles=None, device=None, stream=None,
                     dtype=None):
    """Sliding-window attention plus global tokens (sieve.hybrid_attention)
    with a precompiled bundle; see the module's docstring. `device`
    overrides where it runs ('cuda:N' or 'emulator'; default: q's); `dtype`
    ('f32', 'f16', 'bf16') the bundle's element type, e.g. 'bf16' for numpy
    float32 data holding bf16 values (default: q's dtype)."""
    if dtype is None:
        dtype = _dtype_of(q, "q")
    elif dtype not in ("f32", "f16", "bf16"):
        raise ValueError("hybrid_attention: dtype %r is not 'f32', 'f16' or "
                         "'bf16'" % (dtype,))
    shape = tuple(getattr(q, "shape", ()))
    if len(shape) != 4:
        raise ValueError("hybrid_attention: q must be [B, Hq, S, D]; got shape %s"
                         % (list(shape),))
    head_dim = int(shape[3])
    if window_left < 0 or window_right < 0:
        raise ValueError("hybrid_attention: window_left and window_right must be "
                         "non-negative; got %d, %d" % (window_left, window_right))
    if causal and window_right:
        raise ValueError("hybrid_attention: causal needs window_right = 0; got %d"
                         % window_right)
    if device is None:
        device = "emulator"
        if _tensors.is_torch(q) and q.device.type == "cuda":
            device = "cuda:%d" % q.device.index
        elif _tensors.is_cupy(q):
            device = "cuda:%d" % q.device.id
    library = _library_from(bundles)
    session = library.session(int(window_left), int(window_right), bool(causal),
                              dtype, head_dim, device)
    out, = session.run(q, k, v, globals_, stream=stream,
                       names=("q", "k", "v", "globals"))
    return out
