#!/usr/bin/env bash
#===- tools/dev.sh - Set up, build and run Sieve on Debian 12 ------------===#
#
#   tools/dev.sh main    install what is missing, build, run the main job
#   tools/dev.sh test    install what is missing, build, run the test suite
#
# Both are idempotent: packages already installed are not touched and the build
# is incremental. Run as root or as a user with sudo. SIEVE_BUILD_DIR chooses
# the build folder (default: build/ in the repository).
#
#===----------------------------------------------------------------------===#

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${SIEVE_BUILD_DIR:-$root/build}

# Everything the build and the tests use, from Debian 12's own archive
# (LLVM/MLIR 22 come from bookworm-security). The list is the whole truth:
# CI runs on machines where nothing else may be assumed.
packages=(
  cmake ninja-build g++ python3 python3-numpy
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  nlohmann-json3-dev libgtest-dev libboost-context-dev
)

die() { echo "tools/dev.sh: $*" >&2; exit 1; }

install_missing_packages() {
  local missing=() package
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
      grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0

  echo "tools/dev.sh: installing ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root or sudo to install ${missing[*]}"
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
}

build() {
  if [ ! -f "$build_dir/build.ninja" ]; then
    cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
  fi
  cmake --build "$build_dir"
}

# The main job: compile the example model graph, a LLaMA-style decoder layer
# in plain linalg, into one kernel bundle (sieve-optimize, then codegen), run
# it on the GPU when a driver and a GPU are present and on the SIMT emulator
# otherwise, and print the output summary, the per-kernel times and the gate
# statistics; then run the same optimized graph on the CPU reference and
# print how far the bundle's output is from it. Last, the dynamic-length
# attention block: compiled once, run at two sequence lengths.
run_main() {
  local bin=$build_dir/bin out=$build_dir/main-job
  local graph=$root/examples/llama_decoder_layer.mlir
  local options="window-left=64 globals=4 min-seq-len=0 group-size=32"
  rm -rf "$out"
  mkdir -p "$out"

  echo "=== sieve-compile examples/llama_decoder_layer.mlir --optimize \"$options\""
  "$bin/sieve-compile" "$graph" -o "$out/llama" --optimize "$options" --stats
  echo "=== sieve-bundle-run --device auto (the GPU, or the emulator without one)"
  "$bin/sieve-bundle-run" "$out/llama" --device auto --random-inputs 1 \
    --print-summary --stats --output-dir "$out/llama-bundle"
  echo "=== sieve-run --device reference on the optimized graph"
  # Its remarks say what each rewrite removed and the quantization error.
  "$bin/sieve-opt" "$graph" --sieve-optimize="$options" \
    -o "$out/llama-optimized.mlir" 2>"$out/llama-remarks.txt" ||
    { cat "$out/llama-remarks.txt" >&2; die "sieve-opt failed"; }
  echo "(sieve-optimize remarks: $out/llama-remarks.txt)"
  "$bin/sieve-run" "$out/llama-optimized.mlir" --device reference \
    --random-inputs 1 --print-summary --output-dir "$out/llama-reference"
  /usr/bin/python3 -c '
import sys, numpy as np
a, b = (np.load(d + "/out0.npy").astype(np.float64) for d in sys.argv[1:])
print("bundle vs reference: relative error %.3g" %
      (np.linalg.norm(a - b) / np.linalg.norm(b)))' \
    "$out/llama-bundle" "$out/llama-reference"

  echo "=== sieve-compile examples/attention_block.mlir (S = ?), run at S = 128 and 512"
  "$bin/sieve-compile" "$root/examples/attention_block.mlir" -o "$out/attention"
  local length
  for length in 128 512; do
    "$bin/sieve-bundle-run" "$out/attention" --device auto --random-inputs 1 \
      --dynamic-size "$length" --print-summary
  done
}

# The whole test suite; lit's summary is the last thing printed.
run_tests() {
  cmake --build "$build_dir" --target check-sieve
}

case "${1:-}" in
  main) install_missing_packages; build; run_main ;;
  test) install_missing_packages; build; run_tests ;;
  *) die "usage: tools/dev.sh main|test" ;;
esac
