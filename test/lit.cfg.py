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
    ("%mlir_opt", os.path.join(config.llvm_tools_dir, "mlir-opt")))
config.substitutions.append(("%python", config.python_executable))

llvm_config.add_tool_substitutions(["sieve-opt", "sieve-run"],
                                  [config.sieve_tools_dir])

if config.sieve_runtime_tests:
    config.available_features.add("runtime-tests")
config.substitutions.append(("%ctest", config.ctest_command))
