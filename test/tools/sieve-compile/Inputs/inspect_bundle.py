#!/usr/bin/env python3
"""Prints what a bundle's schedule decided, for FileCheck, and fails on
what must never happen.

  inspect_bundle.py arena BUNDLE
      One line per temporary: the launches it is live over (first to last
      launch that takes it as an argument; gate buffers and what `reuse`
      launches write stay live to the end) and its bytes in the arena; then
      one `shared:` line per group of temporaries at the same offset, and
      `arena: <arena_bytes> of <unshared> unshared bytes`. Exits 1 when two
      temporaries that are live at the same launch share bytes, or one lies
      outside the arena. Offsets and sizes must be integers (static graphs).

  inspect_bundle.py constants BUNDLE
      One line per constant buffer: its offset, bytes and values read from
      the constants file as the dtype of the launch arguments that take it,
      then the file's size. Exits 1 when a buffer lies outside the file or
      the manifest does not name the file.
"""

import json
import os
import struct
import sys

ALIGNMENT = 256
FORMATS = {"f32": "f", "f16": "e", "i64": "q", "i32": "i", "i8": "b"}


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def align(n):
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def load(bundle):
    with open(os.path.join(bundle, "manifest.json")) as f:
        return json.load(f)


def arena(bundle):
    manifest = load(bundle)
    launches = manifest["launches"]
    end = len(launches)
    live = {}

    def use(name, at):
        first, last = live.get(name, (at, at))
        live[name] = (min(first, at), max(last, at))

    for index, launch in enumerate(launches):
        for arg in launch["args"]:
            if "buffer" in arg:
                use(arg["buffer"], index)
        if launch.get("reuse"):
            for arg in launch["args"]:
                if "buffer" in arg:
                    use(arg["buffer"], 0)
                    use(arg["buffer"], end)
    for gate in manifest["gates"]:
        use(gate["score"], end)
        use(gate["mask"], end)

    arena_bytes = manifest["arena_bytes"]
    temps = [b for b in manifest["buffers"] if b["kind"] == "temporary"]
    for t in temps:
        if not isinstance(t["bytes"], int) or not isinstance(t["offset"], int):
            fail(t["name"] + ": symbolic size or offset")
        if t["offset"] % ALIGNMENT or t["offset"] + t["bytes"] > arena_bytes:
            fail(t["name"] + ": bytes [%d, %d) not aligned or outside the "
                 "arena of %d bytes" % (t["offset"], t["offset"] + t["bytes"],
                                        arena_bytes))
        first, last = live.get(t["name"], (-1, -1))
        print("%s: launches %d-%d, bytes [%d, %d)" %
              (t["name"], first, last, t["offset"], t["offset"] + t["bytes"]))
    for i, a in enumerate(temps):
        for b in temps[i + 1:]:
            if a["name"] not in live or b["name"] not in live:
                continue
            (fa, la), (fb, lb) = live[a["name"]], live[b["name"]]
            overlap_time = fa <= lb and fb <= la
            overlap_bytes = (a["offset"] < b["offset"] + b["bytes"] and
                             b["offset"] < a["offset"] + a["bytes"])
            if overlap_time and overlap_bytes:
                fail("%s and %s are live at launch %d together and share "
                     "bytes" % (a["name"], b["name"], max(fa, fb)))
    groups = {}
    for t in temps:
        groups.setdefault(t["offset"], []).append(t["name"])
    for offset in sorted(groups):
        if len(groups[offset]) > 1:
            print("shared: " + " ".join(groups[offset]))
    unshared = sum(align(t["bytes"]) for t in temps)
    print("arena: %d of %d unshared bytes" % (arena_bytes, unshared))


def constants(bundle):
    manifest = load(bundle)
    name = manifest["files"].get("constants")
    if name is None:
        fail("the manifest names no constants file")
    with open(os.path.join(bundle, name), "rb") as f:
        data = f.read()
    dtypes = {}
    for launch in manifest["launches"]:
        for arg in launch["args"]:
            if "buffer" in arg:
                dtypes[arg["buffer"]] = arg["dtype"]
    for buffer in manifest["buffers"]:
        if buffer["kind"] != "constant":
            continue
        offset, size = buffer["offset"], buffer["bytes"]
        if offset % ALIGNMENT or offset + size > len(data):
            fail("%s: bytes [%d, %d) not aligned or outside %s (%d bytes)" %
                 (buffer["name"], offset, offset + size, name, len(data)))
        code = FORMATS[dtypes.get(buffer["name"], "i8")]
        count = size // struct.calcsize(code)
        values = struct.unpack("<%d%s" % (count, code),
                               data[offset:offset + size])
        print("%s: offset %d, %d bytes, %s" % (buffer["name"], offset, size,
                                               list(values)))
    print("%s: %d bytes" % (name, len(data)))


if __name__ == "__main__":
    {"arena": arena, "constants": constants}[sys.argv[1]](sys.argv[2])
