"""Feeds sieve-opt malformed inputs and checks that it rejects each cleanly.

Derives inputs from a valid file: truncations at random points, random byte
flips and random garbage, and the same for its bytecode (a fixed seed keeps
the cases the same from run to run). Each run must end with exit code 0 (a truncation can be
valid IR) or 1 with an "error:" on stderr; a signal, another exit code or a
time-out is a failure. Prints one summary line for FileCheck.
"""

import random
import subprocess
import sys
import tempfile

sieve_opt, source = sys.argv[1], sys.argv[2]
rng = random.Random(20261128)
text = open(source, "rb").read()
bytecode = subprocess.run([sieve_opt, source, "-emit-bytecode"], check=True,
                          capture_output=True).stdout


def mangle(data):
    for cut in sorted(rng.sample(range(len(data)), min(len(data), 200))):
        yield data[:cut]
    for _ in range(80):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        yield bytes(mutated)
    for _ in range(20):
        yield bytes(rng.randrange(256) for _ in range(rng.randint(1, 4096)))


failures, runs = [], 0
with tempfile.NamedTemporaryFile(suffix=".mlir") as tmp:
    for kind, data in [("text", text), ("bytecode", bytecode)]:
        for case in mangle(data):
            tmp.seek(0)
            tmp.truncate()
            tmp.write(case)
            tmp.flush()
            runs += 1
            try:
                result = subprocess.run([sieve_opt, tmp.name, "-o", "/dev/null"],
                                        capture_output=True, timeout=60)
            except subprocess.TimeoutExpired:
                failures.append((kind, case, "time-out"))
                continue
            stderr = result.stderr.decode(errors="replace")
            if result.returncode == 0:
                continue
            if result.returncode != 1 or "error:" not in stderr:
                failures.append((kind, case, "exit code %d: %s" %
                                 (result.returncode, stderr[-2000:])))

for kind, case, why in failures[:5]:
    print("FAILED (%s input of %d bytes): %s" % (kind, len(case), why))
    print("input: %r" % case[:300])
print("%d malformed inputs, %d not rejected cleanly" % (runs, len(failures)))
sys.exit(1 if failures else 0)
