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

# The main job: compile the example graphs through sieve-opt and print them,
# then run them on the CPU reference with random inputs and print a summary
# of each output.
run_main() {
  local example
  for example in "$root"/examples/*.mlir; do
    echo "=== sieve-opt -canonicalize ${example#"$root"/}"
    "$build_dir/bin/sieve-opt" -canonicalize "$example"
  done
  for example in "$root"/examples/*.mlir; do
    echo "=== sieve-run --device reference ${example#"$root"/}"
    "$build_dir/bin/sieve-run" "$example" --device reference \
      --random-inputs 1 --print-summary --repeat 3
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
