# -*- Python -*-
# lit configuration of Sieve's regression tests.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "Sieve"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.sieve_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

config.substitutions.append(("%sieve_src_root", config.sieve_src_root))
config.substitutions.append(("%sieve_obj_root", config.sieve_obj_root))
config.substitutions.append(
    ("%sieve_plugin", os.path.join(config.sieve_lib_dir, "SievePlugin.so")))
config.substitutions.append(
    ("%sieve_test_plugin",
     os.path.join(config.sieve_lib_dir, "SieveTestPlugin.so")))
config.substitutions.append(
    ("%sieve_other_version_plugin",
     os.path.join(config.sieve_lib_dir, "SieveTestOtherVersionPlugin.so")))
config.substitutions.append(
    ("%mlir_opt", os.path.join(config.llvm_tools_dir, "mlir-opt")))
config.substitutions.append(("%python", config.python_executable))

llvm_config.add_tool_substitutions(
    ["sieve-opt", "sieve-run", "sieve-compile", "sieve-bundle-run",
     "sieve-test-run-kernel"],
    [config.sieve_tools_dir])

# The CUDA toolkit (ptxas) is optional for users; tests that need it are
# skipped without it. CI sets SIEVE_REQUIRE_CUDA_TOOLKIT=1 on machines that
# have it, so that such tests cannot pass by being skipped.
def find_ptxas():
    candidates = []
    for root in (os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if root:
            candidates.append(os.path.join(root, "bin", "ptxas"))
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    import shutil
    return shutil.which("ptxas")


ptxas = find_ptxas()
if ptxas:
    config.available_features.add("cuda-toolkit")
    config.substitutions.append(("%ptxas", ptxas))
    config.substitutions.append(
        ("%cuda_root", os.path.dirname(os.path.dirname(os.path.realpath(ptxas)))))
elif os.environ.get("SIEVE_REQUIRE_CUDA_TOOLKIT") == "1":
    lit_config.fatal("SIEVE_REQUIRE_CUDA_TOOLKIT=1 but no ptxas was found")

if config.sieve_runtime_tests:
    config.available_features.add("runtime-tests")
# The SIMT emulator library (SieveEmulator, which needs Boost.Context): without
# it sieve-bundle-run has no emulator device.
if config.sieve_emulator:
    config.available_features.add("sieve-emulator")
config.substitutions.append(("%ctest", config.ctest_command))

# A CUDA driver (libcuda.so.1) on this machine: tests of the "no driver" path
# do not apply.
try:
    import ctypes
    ctypes.CDLL("libcuda.so.1")
    config.available_features.add("cuda-driver")
except OSError:
    pass
