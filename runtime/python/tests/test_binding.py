#!/usr/bin/env python3
"""Tests of the Python binding (unittest; lit runs them, see
test/runtime/python-binding.test).

  SIEVE_TEST_BUNDLES=DIR python3 runtime/python/tests/test_binding.py -v

DIR holds bundles compiled from sieve_runtime.graphs for --target sm_80
(named by their entry): the lit test compiles them. The emulator tests need
numpy and a runtime built with the SIMT emulator; the PyTorch, CUDA and CuPy
tests skip, with the reason, where those are not importable or there is no
GPU. References are the float64 numpy reference of the op contract
(test/reference/sieve_reference.py).
"""

import ctypes
import os
import subprocess
import sys
import textwrap
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent
REPO = PACKAGE_ROOT.parent.parent
sys.path.insert(0, str(PACKAGE_ROOT))
sys.path.insert(0, str(REPO / "test" / "reference"))
sys.dont_write_bytecode = True

import numpy as np  # noqa: E402

import sieve_reference as ref  # noqa: E402
import sieve_runtime as sr  # noqa: E402

BUNDLES = Path(os.environ.get("SIEVE_TEST_BUNDLES", "/nonexistent"))
HYBRID_F16 = "hybrid_attention_f16_d32_w8_0_causal"
HYBRID_BF16 = "hybrid_attention_bf16_d32_w4_4"
ATTENTION = "attention_f32_d16_causal"
GATE = "gate_compact_f32_t500"
QMATMUL = "qmatmul_f16_i4_g32"
MLP = "mlp_gated_f32_i8_g16_cap250"
ALL_BUNDLES = (HYBRID_F16, HYBRID_BF16, ATTENTION, GATE, QMATMUL, MLP)


def bundle(name):
    return str(BUNDLES / name)


def rel_error(out, want):
    out = np.asarray(out, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert np.all(np.isfinite(out)), "NaN or Inf in the output"
    return np.linalg.norm(out - want) / np.linalg.norm(want)


def torch_or_none():
    try:
        import torch
        return torch
    except ImportError:
        return None


def cuda_torch_or_none():
    torch = torch_or_none()
    if torch is None or not torch.cuda.is_available():
        return None
    return torch


def cupy_or_none():
    try:
        import cupy
        cupy.cuda.runtime.getDeviceCount()
        return cupy
    except Exception:  # noqa: BLE001 - not importable, or no GPU
        return None


def run_python(code, env_update=None, env_remove=()):
    env = dict(os.environ)
    for name in env_remove:
        env.pop(name, None)
    env.update(env_update or {})
    env["PYTHONPATH"] = str(PACKAGE_ROOT)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, env=env, timeout=120)


def hybrid_inputs(rng, B=1, H=4, Hkv=2, S=40, D=32, G=3, dtype=np.float16):
    q = rng.standard_normal((B, H, S, D)).astype(dtype)
    k = rng.standard_normal((B, Hkv, S, D)).astype(dtype)
    v = rng.standard_normal((B, Hkv, S, D)).astype(dtype)
    g = np.sort(rng.choice(S, size=(B, G), replace=False), axis=1).astype(np.int32)
    return q, k, v, g


class LibraryTest(unittest.TestCase):
    """Finding and loading libsieve_runtime.so."""

    def test_version_and_path(self):
        self.assertRegex(sr.runtime_version(), r"^0\.\d+\.\d+$")
        self.assertTrue(Path(sr.library_path()).exists())

    def test_missing_library_names_every_place_tried(self):
        result = run_python("""
            import sieve_runtime
            try:
                sieve_runtime.Bundle("x")
            except sieve_runtime.RuntimeLibraryError as error:
                print(error)
            """, {"SIEVE_RUNTIME_LIBRARY": "/nonexistent/libsieve_runtime.so"})
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("cannot find Sieve's runtime library", result.stdout)
        self.assertIn("/nonexistent/libsieve_runtime.so (SIEVE_RUNTIME_LIBRARY): "
                      "not there", result.stdout)
        self.assertIn("set SIEVE_RUNTIME_LIBRARY", result.stdout)

    def test_a_file_that_is_not_a_library(self):
        result = run_python("""
            import sieve_runtime
            try:
                sieve_runtime.runtime_version()
            except OSError as error:
                print(error)
            """, {"SIEVE_RUNTIME_LIBRARY": __file__})
        self.assertIn("cannot be loaded", result.stdout)

    def test_environment_variable_may_name_the_folder(self):
        folder = str(Path(sr.library_path()).parent)
        result = run_python("""
            import sieve_runtime
            print(sieve_runtime.library_path())
            """, {"SIEVE_RUNTIME_LIBRARY": folder})
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.strip().startswith(folder))

    def test_build_tree(self):
        # Without SIEVE_RUNTIME_LIBRARY, SIEVE_BUILD_DIR/lib is searched.
        build = Path(sr.library_path()).parent.parent
        result = run_python("""
            import sieve_runtime
            print(sieve_runtime.library_path())
            """, {"SIEVE_BUILD_DIR": str(build)},
            env_remove=("SIEVE_RUNTIME_LIBRARY",))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(Path(result.stdout.strip()).parent, build / "lib")

    def test_the_emulator_runs_in_a_clean_process(self):
        # kernels.emu.so resolves sieve_emu_* in the process: the runtime
        # library must have been loaded with RTLD_GLOBAL.
        result = run_python("""
            import numpy as np, sieve_runtime as sr
            s = sr.Session(%r, device="emulator")
            x = np.ones((4, 64), np.float16)
            w = np.ones((8, 64), np.int8)
            scales = np.full((8, 2), 0.5, np.float32)
            out, = s.run(x, w, scales)
            print(out.shape, float(out[0, 0]))
            """ % bundle(QMATMUL))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "(4, 8) 32.0")


class BundleTest(unittest.TestCase):
    def test_signature(self):
        b = sr.Bundle(bundle(HYBRID_F16))
        self.assertEqual(b.entry, HYBRID_F16)
        self.assertEqual(b.target, "sm_80")
        self.assertEqual(len(b.inputs), 4)
        self.assertEqual([i.dtype for i in b.inputs], ["f16", "f16", "f16", "i32"])
        self.assertEqual(b.inputs[0].shape[3], 32)
        self.assertIsInstance(b.inputs[0].shape[2], str)   # a symbol
        self.assertEqual(b.outputs[0].dtype, "f16")
        self.assertGreaterEqual(b.num_launches, 1)
        self.assertIn(HYBRID_F16, repr(b))

    def test_bad_bundle(self):
        with self.assertRaises(sr.SieveError) as caught:
            sr.Bundle(str(BUNDLES / "no-such-bundle"))
        self.assertIn("sieve_bundle_open", str(caught.exception))
        self.assertIn(caught.exception.status,
                      ("SIEVE_ERROR_IO", "SIEVE_ERROR_INVALID_BUNDLE"))


class EmulatorTest(unittest.TestCase):
    """numpy in, numpy out, on the SIMT emulator, against the reference."""

    @classmethod
    def setUpClass(cls):
        cls.rng = np.random.default_rng(7)

    def test_hybrid_attention_f16(self):
        s = sr.Session(bundle(HYBRID_F16), device="emulator")
        q, k, v, g = hybrid_inputs(self.rng, B=2)
        out, = s.run(q, k, v, g)
        self.assertEqual(out.dtype, np.float16)
        want, _ = ref.hybrid_attention(q, k, v, g, 8, 0, causal=True)
        self.assertLess(rel_error(out, want), 1e-2)
        # The same through strided views: q as the [B, H, S, D] view of a
        # [B, S, H, D] array, k reversed along S twice (a negative stride).
        q_bshd = np.ascontiguousarray(q.transpose(0, 2, 1, 3))
        k_rev = np.ascontiguousarray(k[:, :, ::-1])[:, :, ::-1]
        out2, = s.run(q_bshd.transpose(0, 2, 1, 3), k_rev, v, g)
        np.testing.assert_array_equal(out2, out)
        stats = s.stats()
        self.assertEqual(stats["device"], "emulator")
        self.assertEqual(stats["kernel_source"], "kernels.emu.so")
        self.assertGreater(stats["run_ms"], 0)
        self.assertEqual(len(stats["launches"]), s.bundle.num_launches)
        self.assertGreater(stats["launches"][0]["emulator"]["threads"], 0)

    def test_bf16_as_float32_bits_or_rounded(self):
        s = sr.Session(bundle(HYBRID_BF16), device="emulator")
        q, k, v, g = hybrid_inputs(self.rng, dtype=np.float32)
        q, k, v = (ref.round_bf16(x) for x in (q, k, v))
        out, = s.run(q, k, v, g)
        self.assertEqual(out.dtype, np.float32)       # bf16 comes back as f32
        self.assertTrue(ref.is_bf16(out))
        want, _ = ref.hybrid_attention(q, k, v, g, 4, 4)
        self.assertLess(rel_error(out, want), 1e-2)
        bits = [(x.view(np.uint32) >> 16).astype(np.uint16) for x in (q, k, v)]
        out_bits, = s.run(*bits, g)
        np.testing.assert_array_equal(out_bits, out)
        # float32 values that are not bf16 are rounded to nearest even.
        out_rounded, = s.run(q + np.float32(1e-6) * q, k, v, g)
        np.testing.assert_array_equal(out_rounded, out)

    def test_dense_attention_f32(self):
        s = sr.Session(bundle(ATTENTION), device="emulator")
        q = self.rng.standard_normal((1, 2, 30, 16)).astype(np.float32)
        k = self.rng.standard_normal((1, 1, 30, 16)).astype(np.float32)
        out, = s.run(q, k, k)
        want, _ = ref.attention(q, k, k, causal=True)
        self.assertLess(rel_error(out, want), 1e-5)

    def test_gate_compact_and_stats(self):
        s = sr.Session(bundle(GATE), device="emulator")
        B, S, Dm, Dh = 2, 50, 64, 8
        x = self.rng.standard_normal((B, S, Dm)).astype(np.float32)
        w1 = (self.rng.standard_normal((Dh, Dm)) / 8).astype(np.float32)
        b1 = np.zeros(Dh, np.float32)
        w2 = self.rng.standard_normal(Dh).astype(np.float32)
        b2 = np.array(0.0, np.float32)
        packed, positions, count = s.run(x, w1, b1, w2, b2)
        score, mask, _ = ref.gate(x, w1, b1, w2, b2, "silu", threshold=0.5)
        near = np.abs(score - 0.5) < 1e-5
        want_packed, want_positions, want_count = ref.compact(x, mask)
        if not near.any():
            np.testing.assert_array_equal(positions, want_positions)
            np.testing.assert_array_equal(count, want_count)
            np.testing.assert_array_equal(packed, want_packed)
        gate = s.stats()["gates"][0]
        self.assertEqual(gate["tokens"], B * S)
        self.assertEqual(gate["active_tokens"], int(count.sum()))
        self.assertAlmostEqual(gate["active_token_ratio"], count.sum() / (B * S))

    def test_qmatmul_i4(self):
        s = sr.Session(bundle(QMATMUL), device="emulator")
        x = self.rng.standard_normal((5, 64)).astype(np.float16)
        w = self.rng.integers(-7, 8, size=(24, 64)).astype(np.int8)
        scales = self.rng.uniform(0.01, 0.02, size=(24, 2)).astype(np.float32)
        out, = s.run(x, w, scales)
        self.assertLess(rel_error(out, ref.qmatmul(x, w, scales, None, 32)), 1e-2)

    def test_gated_mlp(self):
        s = sr.Session(bundle(MLP), device="emulator")
        B, S, Dm, F, Dh = 1, 24, 32, 48, 8
        x = self.rng.standard_normal((B, S, Dm)).astype(np.float32)
        w1 = (self.rng.standard_normal((Dh, Dm)) / 6).astype(np.float32)
        b1 = np.zeros(Dh, np.float32)
        w2 = self.rng.standard_normal(Dh).astype(np.float32)
        b2 = np.array(0.1, np.float32)
        wu = self.rng.integers(-127, 128, size=(F, Dm)).astype(np.int8)
        su = np.full((F, Dm // 16), 1 / 500, np.float32)
        wd = self.rng.integers(-127, 128, size=(Dm, F)).astype(np.int8)
        sd = np.full((Dm, F // 16), 1 / 600, np.float32)
        out, positions = s.run(x, w1, b1, w2, b2, wu, su, wd, sd)
        _, mask, k = ref.gate(x, w1, b1, w2, b2, "silu", capacity=0.25)
        self.assertEqual(int((positions >= 0).sum()), k)
        rows = positions[0][positions[0] >= 0]
        hidden = ref.qmatmul(x[0, rows], wu, su, None, 16)
        want = ref.qmatmul(hidden, wd, sd, None, 16)
        self.assertLess(rel_error(out[0, rows], want), 1e-5)
        rest = np.setdiff1d(np.arange(S), rows)
        np.testing.assert_array_equal(out[0, rest], x[0, rest])
        self.assertAlmostEqual(s.stats()["gates"][0]["active_token_ratio"], k / S)


class ErrorTest(unittest.TestCase):
    """Mismatches name the argument; runtime errors carry the C message."""

    @classmethod
    def setUpClass(cls):
        cls.session = sr.Session(bundle(HYBRID_F16), device="emulator")
        cls.inputs = hybrid_inputs(np.random.default_rng(3))

    def run_with(self, index, value, names=("q", "k", "v", "globals")):
        inputs = list(self.inputs)
        inputs[index] = value
        return self.session.run(*inputs, names=names)

    def test_count(self):
        with self.assertRaisesRegex(TypeError, r"takes 4 inputs \(q, k, v, "
                                               r"globals\), got 3"):
            self.session.run(*self.inputs[:3], names=("q", "k", "v", "globals"))

    def test_dtype(self):
        with self.assertRaisesRegex(TypeError, r"input 'q' \(#0\): dtype "
                                               r"float32 \(numpy\), the bundle "
                                               r"expects f16"):
            self.run_with(0, self.inputs[0].astype(np.float32))
        with self.assertRaisesRegex(TypeError, r"input 'globals' \(#3\): dtype "
                                               r"int64"):
            self.run_with(3, self.inputs[3].astype(np.int64))
        with self.assertRaisesRegex(TypeError, r"input 'k' \(#1\): object is "
                                               r"not a tensor the binding takes"):
            self.run_with(1, object())

    def test_rank_and_static_sizes(self):
        with self.assertRaisesRegex(ValueError, r"input 'q' \(#0\): rank 3 "
                                                r"\(shape \[4, 40, 32\]\), the "
                                                r"bundle expects rank 4"):
            self.run_with(0, self.inputs[0][0])
        q = np.zeros((1, 4, 40, 16), np.float16)
        with self.assertRaisesRegex(ValueError, r"input 'q' \(#0\): dimension 3 "
                                                r"is 16, the bundle expects 32"):
            self.run_with(0, q)

    def test_symbols_across_inputs(self):
        # The bundle's shapes say which sizes must agree; the message names
        # both inputs. (Sizes the op relates, e.g. Sk of k and v, are the
        # bundle's run-time checks: SieveFailedPrecondition, a ValueError.)
        spec = self.session.bundle.inputs
        shared = [(i, d) for i, t in enumerate(spec) for d, x in enumerate(t.shape)
                  if isinstance(x, str) and x == spec[0].shape[0] and i > 0]
        if shared:
            i, d = shared[0]
            bad = list(self.inputs[i].shape)
            bad[d] += 1
            with self.assertRaisesRegex(ValueError, r"but input 'q' \(#0\) "
                                                    r"dimension 0 is 1"):
                self.run_with(i, np.zeros(bad, self.inputs[i].dtype))
        v = np.zeros((1, 2, 41, 32), np.float16)
        with self.assertRaises(ValueError) as caught:
            self.run_with(2, v)
        self.assertIn("'value' and 'key' have different sequence lengths",
                      str(caught.exception))

    def test_contract_checks(self):
        kv = np.zeros((1, 3, 40, 32), np.float16)
        with self.assertRaises(sr.SieveFailedPrecondition) as caught:
            self.session.run(self.inputs[0], kv, kv, self.inputs[3])
        self.assertIsInstance(caught.exception, ValueError)
        self.assertIn("not a multiple of the number of key/value heads",
                      str(caught.exception))
        self.assertEqual(caught.exception.status, "SIEVE_ERROR_FAILED_PRECONDITION")

    def test_i4_range(self):
        s = sr.Session(bundle(QMATMUL), device="emulator")
        x = np.zeros((2, 64), np.float16)
        w = np.full((8, 64), 9, np.int8)
        with self.assertRaisesRegex(ValueError, r"input 'arg1' \(#1\): i4 values "
                                                r"must lie in \[-8, 7\]; got \[9, 9\]"):
            s.run(x, w, np.ones((8, 2), np.float32))

    def test_emulator_takes_no_stream_and_no_device_outputs(self):
        with self.assertRaisesRegex(ValueError, "stream: the emulator runs on no "
                                                "CUDA stream"):
            self.session.run(*self.inputs, stream=5)
        with self.assertRaisesRegex(ValueError, "outputs: 'cupy' needs a CUDA "
                                                "session"):
            self.session.run(*self.inputs, outputs="cupy")
        with self.assertRaisesRegex(ValueError, "outputs: 'jax' is not"):
            self.session.run(*self.inputs, outputs="jax")

    def test_devices(self):
        with self.assertRaises(sr.SieveInvalidArgument) as caught:
            sr.Device("tpu")
        self.assertIn("sieve_device_open", str(caught.exception))
        try:
            ctypes.CDLL("libcuda.so.1")
            has_driver = True
        except OSError:
            has_driver = False
        if not has_driver:
            with self.assertRaisesRegex(sr.SieveUnavailable,
                                        r"no CUDA driver \(libcuda.so.1 not "
                                        r"found\)"):
                sr.Session(bundle(HYBRID_F16), device="cuda")


class HybridAttentionTest(unittest.TestCase):
    """hybrid_attention() over a folder of precompiled bundles."""

    def test_numpy_on_the_emulator(self):
        library = sr.BundleLibrary(BUNDLES)
        self.assertIn(((8, 0), True, "f16", 32), library.configurations())
        q, k, v, g = hybrid_inputs(np.random.default_rng(11))
        out = sr.hybrid_attention(q, k, v, g, window_left=8, window_right=0,
                                  causal=True, bundles=library)
        want, _ = ref.hybrid_attention(q, k, v, g, 8, 0, causal=True)
        self.assertLess(rel_error(out, want), 1e-2)
        # bf16 data as numpy float32: say which bundle dtype is meant.
        q32, k32, v32 = (ref.round_bf16(x.astype(np.float32)) for x in (q, k, v))
        out = sr.hybrid_attention(q32, k32, v32, g, window_left=4, window_right=4,
                                  bundles=str(BUNDLES), dtype="bf16")
        want, _ = ref.hybrid_attention(q32, k32, v32, g, 4, 4)
        self.assertLess(rel_error(out, want), 1e-2)

    def test_missing_configuration(self):
        q, k, v, g = hybrid_inputs(np.random.default_rng(1))
        with self.assertRaises(sr.MissingBundleError) as caught:
            sr.hybrid_attention(q, k, v, g, window_left=64, window_right=0,
                                causal=True, bundles=str(BUNDLES))
        message = str(caught.exception)
        self.assertIn("no hybrid attention bundle for window (64, 0), causal, f16, "
                      "head dim 32", message)
        self.assertIn("Compiled: window (4, 4), bf16, head dim 32; window (8, 0), "
                      "causal, f16, head dim 32.", message)
        self.assertIn("python3 -m sieve_runtime.graphs hybrid_attention --dtype f16 "
                      "--head-dim 32 --window 64 0 --causal -o "
                      "hybrid_attention_f16_d32_w64_0_causal.mlir", message)
        self.assertIn("sieve-compile hybrid_attention_f16_d32_w64_0_causal.mlir -o "
                      + str(BUNDLES / "hybrid_attention_f16_d32_w64_0_causal")
                      + " --target sm_80", message)

    def test_argument_errors(self):
        q, k, v, g = hybrid_inputs(np.random.default_rng(1))
        with self.assertRaisesRegex(ValueError, "causal needs window_right = 0"):
            sr.hybrid_attention(q, k, v, g, 8, 2, causal=True, bundles=str(BUNDLES))
        with self.assertRaisesRegex(TypeError, "q has dtype float64"):
            sr.hybrid_attention(q.astype(np.float64), k, v, g, 8, 0, causal=True,
                                bundles=str(BUNDLES))
        with self.assertRaisesRegex(TypeError, r"input 'globals' \(#3\): dtype int64"):
            sr.hybrid_attention(q, k, v, g.astype(np.int64), 8, 0, causal=True,
                                bundles=str(BUNDLES))
        result = run_python("""
            import numpy as np, sieve_runtime as sr
            try:
                sr.hybrid_attention(np.zeros((1, 1, 4, 32), np.float16), None, None,
                                    None, 8)
            except sr.MissingBundleError as error:
                print(error)
            """, env_remove=("SIEVE_BUNDLES",))
        self.assertIn("pass bundles= (a folder or a BundleLibrary) or set "
                      "SIEVE_BUNDLES", result.stdout, result.stderr)


@unittest.skipIf(torch_or_none() is None, "PyTorch is not installed")
class TorchCpuTest(unittest.TestCase):
    """PyTorch CPU tensors on the emulator: host data, torch out."""

    def test_bf16_tensors_and_views(self):
        torch = torch_or_none()
        torch.manual_seed(0)
        q = torch.randn(1, 4, 40, 32, dtype=torch.bfloat16)
        k = torch.randn(1, 2, 40, 32, dtype=torch.bfloat16)
        v = torch.randn(1, 2, 40, 32, dtype=torch.bfloat16)
        g = torch.tensor([[0, 5, 17]], dtype=torch.int32)
        out = sr.hybrid_attention(q.transpose(1, 2).contiguous().transpose(1, 2), k,
                                  v, g, window_left=4, window_right=4,
                                  bundles=str(BUNDLES))
        self.assertIsInstance(out, torch.Tensor)
        self.assertEqual(out.dtype, torch.bfloat16)
        want, _ = ref.hybrid_attention(q.float().numpy(), k.float().numpy(),
                                       v.float().numpy(), g.numpy(), 4, 4)
        self.assertLess(rel_error(out.float().numpy(), want), 1e-2)
        with self.assertRaisesRegex(TypeError, r"input 'q' \(#0\): dtype float16 "
                                               r"\(torch\), the bundle expects "
                                               r"bf16"):
            sr.Session(bundle(HYBRID_BF16), "emulator").run(q.half(), k, v, g,
                                                            names="qkvg")


@unittest.skipIf(cuda_torch_or_none() is None,
                 "PyTorch with a CUDA device is not available")
class TorchCudaTest(unittest.TestCase):
    """CUDA tensors in and out, no copies through the host."""

    def setUp(self):
        torch = self.torch = cuda_torch_or_none()
        torch.manual_seed(0)
        self.q = torch.randn(2, 4, 300, 32, device="cuda", dtype=torch.float16)
        self.k = torch.randn(2, 2, 300, 32, device="cuda", dtype=torch.float16)
        self.v = torch.randn(2, 2, 300, 32, device="cuda", dtype=torch.float16)
        self.g = torch.tensor([[0, 9, 200], [3, 4, 299]], device="cuda",
                              dtype=torch.int32)
        self.session = sr.Session(bundle(HYBRID_F16), device="cuda")
        self.want, _ = ref.hybrid_attention(
            *(x.float().cpu().numpy() for x in (self.q, self.k, self.v)),
            self.g.cpu().numpy(), 8, 0, causal=True)

    def test_tensors_strides_and_streams(self):
        torch = self.torch
        out, = self.session.run(self.q, self.k, self.v, self.g)
        self.assertTrue(out.is_cuda)
        self.assertLess(rel_error(out.float().cpu().numpy(), self.want), 1e-2)
        strided = self.q.transpose(1, 2).contiguous().transpose(1, 2)
        out2, = self.session.run(strided, self.k, self.v, self.g)
        torch.testing.assert_close(out2, out, rtol=0, atol=0)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            out3, = self.session.run(self.q, self.k, self.v, self.g)
        stream.synchronize()
        torch.testing.assert_close(out3, out, rtol=0, atol=0)
        host, = self.session.run(self.q, self.k, self.v, self.g, outputs="numpy")
        np.testing.assert_array_equal(host, out.cpu().numpy())

    def test_device_mismatch(self):
        with self.assertRaisesRegex(ValueError, r"input 'q' \(#0\) is in CUDA "
                                                r"memory \(cuda:0\), but the "
                                                r"session runs on the emulator"):
            sr.Session(bundle(HYBRID_F16), "emulator").run(
                self.q, self.k, self.v, self.g, names=("q", "k", "v", "g"))


@unittest.skipIf(cupy_or_none() is None, "CuPy with a CUDA device is not available")
class CupyTest(unittest.TestCase):
    def test_cupy_arrays(self):
        cupy = cupy_or_none()
        rng = np.random.default_rng(5)
        q, k, v, g = hybrid_inputs(rng)
        session = sr.Session(bundle(HYBRID_F16), device="cuda")
        out, = session.run(*(cupy.asarray(x) for x in (q, k, v, g)))
        self.assertIsInstance(out, cupy.ndarray)
        want, _ = ref.hybrid_attention(q, k, v, g, 8, 0, causal=True)
        self.assertLess(rel_error(cupy.asnumpy(out), want), 1e-2)


if __name__ == "__main__":
    missing = [name for name in ALL_BUNDLES if not (BUNDLES / name).is_dir()]
    if missing:
        sys.exit("test_binding.py: SIEVE_TEST_BUNDLES=%s lacks %s (the lit test "
                 "compiles them)" % (BUNDLES, ", ".join(missing)))
    unittest.main()
