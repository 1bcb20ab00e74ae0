#!/usr/bin/env bash
#===- sieve-bundle-run-test.sh - The sieve-bundle-run binary -------------===#
#
#   sieve-bundle-run-test.sh TOOL TOY_BUNDLE SCRATCH_DIR
#
# Checks the binary's wiring: exit codes, stdout/stderr, files written. The
# logic behind it (BundleRunner) is tested in RunToolTest.cpp. Runs on the
# emulator; CTest preloads the fake launcher where SieveEmulator is not built.
#
#===----------------------------------------------------------------------===#

set -u
tool=$1 bundle=$2 scratch=$3
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

rm -rf "$scratch" && mkdir -p "$scratch"

# --help: usage on stdout, exit 0.
out=$("$tool" --help) || fail "--help exited $?"
grep -q "^sieve-bundle-run: run a Sieve kernel bundle" <<<"$out" ||
  fail "--help: no usage line"

# A bad command line: one error line, exit 1.
err=$("$tool" 2>&1 >/dev/null); code=$?
[ $code -eq 1 ] || fail "no arguments: exit $code"
[ "$err" = "sieve-bundle-run: error: no bundle directory given; see --help" ] ||
  fail "no arguments: '$err'"

# Random inputs, summaries, outputs, repeat and stats.
out=$("$tool" "$bundle" --device emulator --random-inputs 1 --dynamic-size 100 \
  --print-summary --output-dir "$scratch/out" --repeat 3 --stats 2>"$scratch/err")
code=$?
[ $code -eq 0 ] || fail "run: exit $code: $(cat "$scratch/err")"
[ -s "$scratch/err" ] && fail "run: stderr: $(cat "$scratch/err")"
grep -q "^out0: f32\[100\] min=.* checksum=0x[0-9a-f]\{16\}$" <<<"$out" ||
  fail "run: no out0 summary in: $out"
grep -q "^out1: i1\[100\] min=0 max=1 " <<<"$out" || fail "run: no out1 summary"
grep -q "^run: median [0-9.]* ms over 3 runs$" <<<"$out" || fail "run: no median"
grep -q "^launch 1: axpb_f32 (linalg.generic at toy.mlir:4:8) grid 2x1x1 block 64x1x1" <<<"$out" ||
  fail "run: no launch line"
grep -q "^gate 0 (sieve.gate at toy.mlir:5:8): tokens 100 active " <<<"$out" ||
  fail "run: no gate line"
[ -f "$scratch/out/out0.npy" ] && [ -f "$scratch/out/out1.npy" ] ||
  fail "run: outputs not written"

# The outputs as inputs: the same summary for the same files twice.
first=$("$tool" "$bundle" --device=emulator --input "$scratch/out/out0.npy" \
  --input "$scratch/out/out0.npy" --print-summary) || fail "--input run failed"
second=$("$tool" "$bundle" --device=emulator --input "$scratch/out/out0.npy" \
  --input "$scratch/out/out0.npy" --print-summary)
[ "$first" = "$second" ] || fail "--input runs differ"

# A runtime error: the C API's message, exit 1.
err=$("$tool" "$bundle" --device emulator --input "$scratch/out/out1.npy" \
  --input "$scratch/out/out0.npy" 2>&1); code=$?
[ $code -eq 1 ] || fail "wrong dtype: exit $code"
case "$err" in
  "sieve-bundle-run: error: argument 0 of @toy (tensor<?xf32>): '$scratch/out/out1.npy' holds bool data ('|b1'), expected float32 ('<f4')") ;;
  *) fail "wrong dtype: '$err'" ;;
esac

[ $failures -eq 0 ] && echo "sieve-bundle-run: all checks passed"
exit $((failures > 0))
