//===- ManifestTest.cpp - Validating manifest.json ------------------------===//
//
// Each test breaks the toy bundle's manifest in one way and checks that
// parseManifest rejects it with a message naming the field.
//
//===----------------------------------------------------------------------===//

#include "Manifest.h"
#include "TestSupport.h"

#include <gtest/gtest.h>

using namespace sieve;
using namespace sieve::rt;
using sieve::test::getToyManifest;
using json = nlohmann::json;

namespace {
/// The error parseManifest reports for the toy manifest after `edit`.
std::string errorAfter(const std::function<void(json &)> &edit) {
  json manifest = getToyManifest();
  edit(manifest);
  Manifest parsed;
  Status status = parseManifest(manifest.dump(), parsed);
  EXPECT_FALSE(status.isOk()) << "accepted: " << manifest.dump(2);
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_INVALID_BUNDLE);
  return status.getMessage();
}

void expectAccepted(const std::function<void(json &)> &edit) {
  json manifest = getToyManifest();
  edit(manifest);
  Manifest parsed;
  Status status = parseManifest(manifest.dump(), parsed);
  EXPECT_TRUE(status.isOk()) << status.getMessage();
}
} // namespace

TEST(ManifestTest, ParsesTheToyBundle) {
  Manifest m;
  Status status = parseManifest(getToyManifest().dump(), m);
  ASSERT_TRUE(status.isOk()) << status.getMessage();
  EXPECT_EQ(m.entry, "toy");
  EXPECT_EQ(m.targetName, "sm_80");
  EXPECT_EQ(m.target.major, 8);
  EXPECT_EQ(m.target.minor, 0);
  EXPECT_FALSE(m.target.archSpecific);
  EXPECT_EQ(m.symbolNames, std::vector<std::string>{"n"});
  EXPECT_EQ(m.symbols[0].input, 0u);
  EXPECT_EQ(m.symbols[0].dim, 0u);
  ASSERT_EQ(m.inputs.size(), 2u);
  EXPECT_EQ(m.inputs[1].name, "b");
  EXPECT_EQ(m.inputs[1].buffer, 1u);
  EXPECT_FALSE(m.inputs[1].shape[0].size);
  EXPECT_EQ(m.outputs[1].dtype, DType::I1);
  EXPECT_EQ(m.outputs[1].buffer, 5u);
  EXPECT_EQ(m.buffers[2].kind, BufferKind::Temporary);
  EXPECT_EQ(m.buffers[5].bytes.getText(), "n");
  EXPECT_EQ(m.checks[0].message, "the toy graph needs at least one element");
  ASSERT_EQ(m.kernels.size(), 3u);
  EXPECT_EQ(
      m.kernels[1].params,
      (std::vector<ParamKind>{ParamKind::Memref, ParamKind::Memref,
                              ParamKind::F32, ParamKind::I32, ParamKind::I64}));
  ASSERT_EQ(m.launches.size(), 3u);
  EXPECT_EQ(m.launches[1].kernel, 1u);
  EXPECT_EQ(m.launches[1].args[2].f32, 2.0f);
  EXPECT_EQ(m.launches[1].args[3].value.getConstant(), 1);
  EXPECT_EQ(m.launches[2].args[2].dtype, DType::I1);
  EXPECT_EQ(m.launches[0].grid[0].getText(), "ceildiv(n, 64)");
  EXPECT_EQ(m.launches[0].block[0].getConstant(), 64);
  ASSERT_EQ(m.gates.size(), 1u);
  EXPECT_EQ(m.gates[0].score, 4u);
  EXPECT_EQ(m.gates[0].mask, 5u);
  EXPECT_EQ(m.ptxFile, "kernels.ptx");
  EXPECT_FALSE(m.cubinFile);
  EXPECT_EQ(m.emulatorFile, "kernels.emu.so");
}

TEST(ManifestTest, NotJson) {
  std::string text = getToyManifest().dump();
  Manifest m;
  Status status = parseManifest(text.substr(0, text.size() / 2), m);
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_INVALID_BUNDLE);
  EXPECT_EQ(status.getMessage().rfind("manifest.json: not valid JSON: parse "
                                      "error at line 1, column ",
                                      0),
            0u)
      << status.getMessage();
  status = parseManifest("", m);
  EXPECT_NE(status.getMessage().find("not valid JSON"), std::string::npos);
  status = parseManifest("[1, 2]", m);
  EXPECT_EQ(status.getMessage(),
            "manifest.json: expected an object, found an array");
}

TEST(ManifestTest, FormatAndVersion) {
  EXPECT_EQ(errorAfter([](json &m) { m["format"] = "other"; }),
            "manifest.json: format: is 'other', expected 'sieve-bundle'");
  EXPECT_EQ(errorAfter([](json &m) { m["version"] = 1; }),
            "manifest.json: version: is 1; this runtime reads version 2 only "
            "(recompile the bundle with the sieve-compile of this release)");
  EXPECT_EQ(errorAfter([](json &m) { m["version"] = "1"; }),
            "manifest.json: version: expected an integer, found a string");
  EXPECT_EQ(errorAfter([](json &m) { m["version"] = 1.5; }),
            "manifest.json: version: expected an integer, found a "
            "floating-point number");
}

TEST(ManifestTest, MissingFields) {
  for (const char *key : {"format", "version", "producer", "target", "entry",
                          "symbols", "inputs", "outputs", "buffers",
                          "arena_bytes", "checks", "kernels", "launches",
                          "gates", "files"})
    EXPECT_EQ(errorAfter([&](json &m) { m.erase(key); }),
              std::string("manifest.json: missing field '") + key + "'");
  EXPECT_EQ(errorAfter([](json &m) { m["inputs"][1].erase("dtype"); }),
            "manifest.json: inputs[1]: missing field 'dtype'");
  EXPECT_EQ(errorAfter([](json &m) { m["launches"][2].erase("op"); }),
            "manifest.json: launches[2]: missing field 'op'");
  EXPECT_EQ(errorAfter([](json &m) { m["files"].erase("ptx"); }),
            "manifest.json: files: missing field 'ptx'");
  EXPECT_EQ(errorAfter([](json &m) { m["files"].erase("emulator"); }),
            "manifest.json: files: missing field 'emulator'");
  EXPECT_EQ(errorAfter([](json &m) { m["entry"] = ""; }),
            "manifest.json: entry: must not be empty");
}

TEST(ManifestTest, ArenaAndConstants) {
  EXPECT_EQ(errorAfter([](json &m) { m["buffers"][2].erase("offset"); }),
            "manifest.json: buffers[2]: a temporary buffer needs an 'offset'");
  EXPECT_EQ(errorAfter([](json &m) { m["buffers"][0]["offset"] = 0; }),
            "manifest.json: buffers[0]: an input buffer has no 'offset'");
  EXPECT_EQ(errorAfter([](json &m) { m["buffers"][2]["offset"] = 128; }),
            "manifest.json: buffers[2].offset: is 128, not a multiple of 256");
  EXPECT_EQ(errorAfter([](json &m) { m["buffers"][2]["offset"] = -256; }),
            "manifest.json: buffers[2].offset: is -256, expected a value in "
            "[0, 9223372036854775807]");
  EXPECT_EQ(errorAfter([](json &m) { m["arena_bytes"] = "q"; }),
            "manifest.json: arena_bytes: expression 'q': unknown symbol 'q' "
            "at column 1");
  auto addConstant = [](json &m, json bytes) {
    m["buffers"].push_back(
        {{"name", "w"}, {"kind", "constant"}, {"bytes", bytes}, {"offset", 0}});
  };
  EXPECT_EQ(errorAfter([&](json &m) { addConstant(m, 16); }),
            "manifest.json: files: constant buffers need a 'constants' file");
  EXPECT_EQ(errorAfter([&](json &m) {
              addConstant(m, "4*n");
              m["files"]["constants"] = "constants.bin";
            }),
            "manifest.json: buffers[6]: the bytes and offset of a constant "
            "buffer are integers");
  EXPECT_EQ(errorAfter([](json &m) {
              m["files"]["constants"] = "constants.bin";
            }),
            "manifest.json: files: 'constants' given but no buffer is "
            "constant");
  EXPECT_EQ(errorAfter([&](json &m) {
              addConstant(m, 16);
              m["files"]["constants"] = "../w.bin";
            }),
            "manifest.json: files.constants: '../w.bin' is not a plain file "
            "name in the bundle directory (no '/', '..' or '\\')");
  EXPECT_EQ(errorAfter([](json &m) { m["buffers"][0]["kind"] = "weights"; }),
            "manifest.json: buffers[0].kind: is 'weights', expected input, "
            "output, temporary or constant");
}

TEST(ManifestTest, UnknownFields) {
  EXPECT_EQ(errorAfter([](json &m) { m["extra"] = 1; }),
            "manifest.json: unknown field 'extra'");
  EXPECT_EQ(errorAfter([](json &m) { m["kernels"][0]["registers"] = 32; }),
            "manifest.json: kernels[0]: unknown field 'registers'");
  EXPECT_EQ(errorAfter([](json &m) { m["launches"][0]["args"][3]["i32"] = 1; }),
            "manifest.json: launches[0].args[3]: unknown field 'i32'");
}

TEST(ManifestTest, WrongTypes) {
  EXPECT_EQ(errorAfter([](json &m) { m["inputs"] = json::object(); }),
            "manifest.json: inputs: expected an array, found an object");
  EXPECT_EQ(errorAfter([](json &m) { m["inputs"][0]["name"] = 5; }),
            "manifest.json: inputs[0].name: expected a string, found an "
            "integer");
  EXPECT_EQ(errorAfter([](json &m) { m["buffers"][0]["bytes"] = 4.5; }),
            "manifest.json: buffers[0].bytes: expected an integer or an "
            "expression string, found a floating-point number");
  EXPECT_EQ(errorAfter([](json &m) { m["launches"][0]["args"][0] = "a"; }),
            "manifest.json: launches[0].args[0]: expected an object, found a "
            "string");
  EXPECT_EQ(errorAfter([](json &m) { m["kernels"][0]["params"][0] = 1; }),
            "manifest.json: kernels[0].params[0]: expected a string, found an "
            "integer");
  EXPECT_EQ(
      errorAfter([](json &m) { m["launches"][1]["args"][2]["f32"] = "2"; }),
      "manifest.json: launches[1].args[2].f32: expected a number, found a "
      "string");
  EXPECT_EQ(errorAfter([](json &m) {
              m["buffers"][0]["bytes"] = 18446744073709551615ull;
            }),
            "manifest.json: buffers[0].bytes: integer out of the 64-bit range");
}

TEST(ManifestTest, Targets) {
  for (const char *target :
       {"sm_80", "sm_86", "sm_89", "sm_90", "sm_90a", "sm_100a", "sm_120"})
    expectAccepted([&](json &m) { m["target"] = target; });
  for (const char *target : {"sm90", "compute_90", "sm_9", "sm_90b", "sm_"})
    EXPECT_EQ(errorAfter([&](json &m) { m["target"] = target; }),
              std::string("manifest.json: target: '") + target +
                  "' is not a GPU architecture like sm_90 or sm_90a");
  Target target;
  ASSERT_TRUE(Target::parse("sm_90a", target));
  EXPECT_EQ(target.major, 9);
  EXPECT_EQ(target.minor, 0);
  EXPECT_TRUE(target.archSpecific);
  EXPECT_EQ(target.getMaxSharedBytesPerBlock(), 227 * 1024);
  ASSERT_TRUE(Target::parse("sm_86", target));
  EXPECT_EQ(target.getMaxSharedBytesPerBlock(), 99 * 1024);
}

TEST(ManifestTest, DTypes) {
  EXPECT_EQ(errorAfter([](json &m) { m["inputs"][0]["dtype"] = "f64"; }),
            "manifest.json: inputs[0].dtype: unknown dtype 'f64' (expected "
            "f32, f16, bf16, i64, i32, i8, i4 or i1)");
  EXPECT_EQ(
      errorAfter([](json &m) { m["launches"][0]["args"][0]["dtype"] = "u8"; }),
      "manifest.json: launches[0].args[0].dtype: unknown dtype 'u8' "
      "(expected f32, f16, bf16, i64, i32, i8, i4 or i1)");
  expectAccepted([](json &m) {
    m["launches"][2]["args"][2]["dtype"] = "i4";
    m["outputs"][1]["dtype"] = "i4";
  });
}

TEST(ManifestTest, Shapes) {
  EXPECT_EQ(errorAfter([](json &m) { m["inputs"][1]["shape"] = {"m"}; }),
            "manifest.json: inputs[1].shape[0]: 'm' is not a declared symbol "
            "(input shapes hold integers and symbol names)");
  EXPECT_EQ(errorAfter([](json &m) { m["inputs"][1]["shape"] = {"2*n"}; }),
            "manifest.json: inputs[1].shape[0]: '2*n' is not a declared symbol "
            "(input shapes hold integers and symbol names)");
  EXPECT_EQ(errorAfter([](json &m) { m["inputs"][1]["shape"] = {-1}; }),
            "manifest.json: inputs[1].shape[0]: is negative");
  EXPECT_EQ(errorAfter([](json &m) { m["inputs"][1]["shape"] = {true}; }),
            "manifest.json: inputs[1].shape[0]: expected an integer, found a "
            "boolean");
  EXPECT_EQ(errorAfter([](json &m) {
              m["inputs"][1]["shape"] = json::array();
              for (int i = 0; i < 17; ++i)
                m["inputs"][1]["shape"].push_back(1);
            }),
            "manifest.json: inputs[1].shape: rank 17 exceeds 16");
  // Outputs may use expressions over the symbols.
  expectAccepted([](json &m) { m["outputs"][0]["shape"] = {"n / 2", 2}; });
  EXPECT_EQ(errorAfter([](json &m) { m["outputs"][0]["shape"] = {"n + k"}; }),
            "manifest.json: outputs[0].shape[0]: expression 'n + k': unknown "
            "symbol 'k' at column 5");
  EXPECT_EQ(errorAfter([](json &m) { m["outputs"][0]["shape"] = {"0 - 2"}; }),
            "manifest.json: outputs[0].shape[0]: is negative");
}

TEST(ManifestTest, Symbols) {
  EXPECT_EQ(
      errorAfter([](json &m) { m["symbols"][0]["input"] = 5; }),
      "manifest.json: symbols[0].input: input 5 does not exist (2 inputs)");
  EXPECT_EQ(errorAfter([](json &m) { m["symbols"][0]["dim"] = 3; }),
            "manifest.json: symbols[0].dim: input 'a' has rank 1, no "
            "dimension 3");
  EXPECT_EQ(errorAfter([](json &m) { m["inputs"][0]["shape"] = {4}; }),
            "manifest.json: symbols[0]: dimension 0 of input 'a' is 4, not the "
            "symbol 'n'");
  EXPECT_EQ(errorAfter([](json &m) {
              m["symbols"].push_back({{"name", "n"}, {"input", 1}, {"dim", 0}});
            }),
            "manifest.json: symbols[1].name: duplicate symbol 'n'");
  EXPECT_EQ(errorAfter([](json &m) { m["symbols"][0]["name"] = "min"; }),
            "manifest.json: symbols[0].name: 'min' is not a valid symbol name "
            "(an identifier other than ceildiv, min and max)");
  EXPECT_EQ(errorAfter([](json &m) { m["symbols"][0]["name"] = "2n"; }),
            "manifest.json: symbols[0].name: '2n' is not a valid symbol name "
            "(an identifier other than ceildiv, min and max)");
}

TEST(ManifestTest, StridedInputs) {
  auto strided = [](json &m) {
    m["inputs"][0]["strided"] = true;
    m["symbols"].push_back({{"name", "sa"}, {"input", 0}, {"stride", 0}});
  };
  {
    json manifest = getToyManifest();
    strided(manifest);
    Manifest m;
    Status status = parseManifest(manifest.dump(), m);
    ASSERT_TRUE(status.isOk()) << status.getMessage();
    EXPECT_TRUE(m.inputs[0].strided);
    EXPECT_FALSE(m.inputs[1].strided);
    EXPECT_TRUE(m.symbols[1].isStride);
    EXPECT_FALSE(m.symbols[0].isStride);
    EXPECT_EQ(m.symbols[1].dim, 0u);
  }
  expectAccepted([](json &m) { m["inputs"][1]["strided"] = false; });
  EXPECT_EQ(errorAfter([](json &m) { m["inputs"][1]["strided"] = 1; }),
            "manifest.json: inputs[1].strided: expected true or false, found "
            "an integer");
  EXPECT_EQ(errorAfter([](json &m) { m["outputs"][0]["strided"] = true; }),
            "manifest.json: outputs[0]: unknown field 'strided'");
  EXPECT_EQ(errorAfter([](json &m) {
              m["symbols"].push_back(
                  {{"name", "sb"}, {"input", 1}, {"stride", 0}});
            }),
            "manifest.json: symbols[1].stride: input 'b' is not strided (its "
            "layout is dense)");
  EXPECT_EQ(errorAfter([&](json &m) {
              strided(m);
              m["symbols"][1]["stride"] = 1;
            }),
            "manifest.json: symbols[1].stride: input 'a' has rank 1, no "
            "dimension 1");
  EXPECT_EQ(errorAfter([&](json &m) {
              strided(m);
              m["symbols"][1]["dim"] = 0;
            }),
            "manifest.json: symbols[1]: expected either 'dim' or 'stride'");
  EXPECT_EQ(errorAfter([](json &m) { m["symbols"][0].erase("dim"); }),
            "manifest.json: symbols[0]: expected either 'dim' or 'stride'");
  EXPECT_EQ(errorAfter([&](json &m) {
              strided(m);
              m["inputs"][1]["shape"] = {"sa"};
            }),
            "manifest.json: symbols[1]: stride symbol 'sa' is also a "
            "dimension of input 'b'");
}

TEST(ManifestTest, Buffers) {
  EXPECT_EQ(errorAfter([](json &m) { m["buffers"][3]["name"] = "a"; }),
            "manifest.json: buffers[3].name: duplicate buffer 'a'");
  EXPECT_EQ(errorAfter([](json &m) { m["buffers"][2]["kind"] = "scratch"; }),
            "manifest.json: buffers[2].kind: is 'scratch', expected input, "
            "output, temporary or constant");
  EXPECT_EQ(errorAfter([](json &m) { m["buffers"][0]["bytes"] = "4*m"; }),
            "manifest.json: buffers[0].bytes: expression '4*m': unknown symbol "
            "'m' at column 3");
  EXPECT_EQ(errorAfter([](json &m) { m["buffers"][0]["bytes"] = -4; }),
            "manifest.json: buffers[0].bytes: is -4, expected a value in [0, "
            "9223372036854775807]");
  EXPECT_EQ(errorAfter([](json &m) { m["buffers"][0]["bytes"] = "1/0"; }),
            "manifest.json: buffers[0].bytes: '1/0' divides by zero");
  EXPECT_EQ(errorAfter([](json &m) { m["buffers"][0]["bytes"] = "n > 1"; }),
            "manifest.json: buffers[0].bytes: expression 'n > 1': comparisons "
            "and && are only allowed in checks at column 3");
  EXPECT_EQ(errorAfter([](json &m) { m["inputs"][1]["buffer"] = "nope"; }),
            "manifest.json: inputs[1].buffer: unknown buffer 'nope'");
  EXPECT_EQ(
      errorAfter([](json &m) { m["inputs"][1]["buffer"] = "sum"; }),
      "manifest.json: inputs[1].buffer: buffer 'sum' is not of kind input");
  EXPECT_EQ(errorAfter([](json &m) { m["inputs"][1]["buffer"] = "a"; }),
            "manifest.json: inputs[1].buffer: buffer 'a' holds another input "
            "already");
  EXPECT_EQ(errorAfter([](json &m) {
              m["buffers"].push_back(
                  {{"name", "extra"}, {"kind", "input"}, {"bytes", 4}});
            }),
            "manifest.json: buffers[6]: buffer 'extra' of kind input holds no "
            "input");
  EXPECT_EQ(errorAfter([](json &m) {
              m["buffers"].push_back(
                  {{"name", "extra"}, {"kind", "output"}, {"bytes", 4}});
            }),
            "manifest.json: buffers[6]: buffer 'extra' of kind output holds no "
            "output");
  EXPECT_EQ(errorAfter([](json &m) { m["outputs"][0]["name"] = "mask"; }),
            "manifest.json: outputs[1].name: duplicate output 'mask'");
}

TEST(ManifestTest, Checks) {
  expectAccepted([](json &m) {
    m["checks"].push_back(
        {{"expr", "n % 2 == 0 && n < 100"}, {"message", "even"}});
  });
  EXPECT_EQ(
      errorAfter([](json &m) { m["checks"][0]["expr"] = "n >= k"; }),
      "manifest.json: checks[0].expr: expression 'n >= k': unknown symbol "
      "'k' at column 6");
  EXPECT_EQ(errorAfter([](json &m) { m["checks"][0].erase("message"); }),
            "manifest.json: checks[0]: missing field 'message'");
}

TEST(ManifestTest, Kernels) {
  EXPECT_EQ(errorAfter([](json &m) { m["kernels"][0]["name"] = "add-f32"; }),
            "manifest.json: kernels[0].name: 'add-f32' is not a C identifier");
  EXPECT_EQ(errorAfter([](json &m) { m["kernels"][1]["name"] = "add_f32"; }),
            "manifest.json: kernels[1].name: duplicate kernel 'add_f32'");
  EXPECT_EQ(errorAfter([](json &m) {
              m["kernels"][0]["static_shared_bytes"] = 50000;
            }),
            "manifest.json: kernels[0].static_shared_bytes: is 50000; static "
            "shared memory is limited to 49152 bytes");
  EXPECT_EQ(errorAfter([](json &m) { m["kernels"][0]["params"][3] = "f64"; }),
            "manifest.json: kernels[0].params[3]: is 'f64', expected memref, "
            "i64, i32, f32 or tensor_map");
  EXPECT_EQ(errorAfter([](json &m) {
              for (int i = 0; i < 110; ++i)
                m["kernels"][0]["params"].push_back("memref");
            }),
            "manifest.json: kernels[0].params: take 4528 bytes; CUDA passes at "
            "most 4096");
}

TEST(ManifestTest, Launches) {
  EXPECT_EQ(errorAfter([](json &m) { m["launches"][0]["kernel"] = "mul"; }),
            "manifest.json: launches[0].kernel: unknown kernel 'mul'");
  EXPECT_EQ(errorAfter([](json &m) {
              m["launches"][0]["grid"] = {1, 1};
            }),
            "manifest.json: launches[0].grid: expected 3 sizes (x, y, z), "
            "found 2");
  EXPECT_EQ(
      errorAfter([](json &m) { m["launches"][0]["block"][0] = 0; }),
      "manifest.json: launches[0].block[0]: is 0, expected a value in [1, "
      "1024]");
  EXPECT_EQ(
      errorAfter([](json &m) { m["launches"][0]["block"][2] = 65; }),
      "manifest.json: launches[0].block[2]: is 65, expected a value in [1, "
      "64]");
  EXPECT_EQ(errorAfter([](json &m) {
              m["launches"][0]["block"] = {64, 32, 1};
            }),
            "manifest.json: launches[0].block: has 2048 threads; a block holds "
            "at most 1024");
  EXPECT_EQ(errorAfter([](json &m) { m["launches"][0]["grid"][1] = 70000; }),
            "manifest.json: launches[0].grid[1]: is 70000, expected a value in "
            "[0, 65535]");
  EXPECT_EQ(
      errorAfter([](json &m) { m["launches"][0]["grid"][0] = -1; }),
      "manifest.json: launches[0].grid[0]: is -1, expected a value in [0, "
      "2147483647]");
  // sm_80 allows 163 KiB of shared memory per block.
  EXPECT_EQ(errorAfter([](json &m) {
              m["launches"][0]["dynamic_shared_bytes"] = 200000;
            }),
            "manifest.json: launches[0].dynamic_shared_bytes: is 200000, "
            "expected a value in [0, 166912]");
  expectAccepted(
      [](json &m) { m["launches"][0]["dynamic_shared_bytes"] = "n * 4"; });
}

TEST(ManifestTest, Reuse) {
  // Launch 0 adds inputs a and b into the temporary 'sum'.
  Manifest parsed;
  json manifest = getToyManifest();
  manifest["launches"][0]["reuse"] = {"b", "a"};
  Status status = parseManifest(manifest.dump(), parsed);
  ASSERT_TRUE(status.isOk()) << status.getMessage();
  EXPECT_EQ(parsed.launches[0].reuseInputs, (std::vector<std::size_t>{1, 0}));
  EXPECT_TRUE(parsed.launches[1].reuseInputs.empty());

  EXPECT_EQ(errorAfter([](json &m) { m["launches"][0]["reuse"] = "a"; }),
            "manifest.json: launches[0].reuse: expected a non-empty array of "
            "input names, found a string");
  EXPECT_EQ(errorAfter([](json &m) {
              m["launches"][0]["reuse"] = json::array();
            }),
            "manifest.json: launches[0].reuse: expected a non-empty array of "
            "input names, found an empty array");
  EXPECT_EQ(errorAfter([](json &m) { m["launches"][0]["reuse"] = {"a", 1}; }),
            "manifest.json: launches[0].reuse[1]: expected an input name, "
            "found an integer");
  EXPECT_EQ(errorAfter([](json &m) { m["launches"][0]["reuse"] = {"y"}; }),
            "manifest.json: launches[0].reuse[0]: no input named 'y'");
  EXPECT_EQ(errorAfter([](json &m) {
              m["launches"][0]["reuse"] = {"a", "b", "a"};
            }),
            "manifest.json: launches[0].reuse[2]: input 'a' is listed twice");
  // It reads b, which the list leaves out.
  EXPECT_EQ(errorAfter([](json &m) { m["launches"][0]["reuse"] = {"a"}; }),
            "manifest.json: launches[0].reuse: argument 1 is buffer 'b', an "
            "input not listed; a reused launch reads the listed inputs and "
            "writes temporaries only");
  // It writes the output y.
  EXPECT_EQ(errorAfter([](json &m) { m["launches"][1]["reuse"] = {"a"}; }),
            "manifest.json: launches[1].reuse: argument 1 is buffer 'y', an "
            "output; a reused launch reads the listed inputs and writes "
            "temporaries only");
}

TEST(ManifestTest, Arguments) {
  EXPECT_EQ(errorAfter([](json &m) { m["launches"][0]["args"].erase(3); }),
            "manifest.json: launches[0].args: kernel 'add_f32' takes 4 "
            "parameters, the launch gives 3 arguments");
  EXPECT_EQ(errorAfter([](json &m) {
              m["launches"][1]["args"].push_back({{"i64", 1}});
            }),
            "manifest.json: launches[1].args: kernel 'axpb_f32' takes 5 "
            "parameters, the launch gives 6 arguments");
  EXPECT_EQ(errorAfter([](json &m) {
              m["launches"][1]["args"][2] = {{"i64", 2}};
            }),
            "manifest.json: launches[1].args[2]: parameter 2 of the kernel is "
            "f32, the argument is i64");
  EXPECT_EQ(errorAfter([](json &m) {
              m["launches"][0]["args"][0] = {{"i64", "n"}};
            }),
            "manifest.json: launches[0].args[0]: parameter 0 of the kernel is "
            "memref, the argument is i64");
  EXPECT_EQ(
      errorAfter([](json &m) {
        m["launches"][0]["args"][3] = {{"x", 1}};
      }),
      "manifest.json: launches[0].args[3]: expected {\"buffer\": ..., "
      "\"dtype\": ...}, {\"i64\": ...}, {\"i32\": ...}, {\"f32\": ...} or "
      "{\"tensor_map\": ...}");
  EXPECT_EQ(errorAfter([](json &m) {
              m["launches"][0]["args"][2]["buffer"] = "nope";
            }),
            "manifest.json: launches[0].args[2].buffer: unknown buffer 'nope'");
  EXPECT_EQ(errorAfter([](json &m) {
              m["launches"][1]["args"][3] = {{"i32", 3000000000ll}};
            }),
            "manifest.json: launches[1].args[3].i32: is 3000000000, expected a "
            "value in [-2147483648, 2147483647]");
  EXPECT_EQ(errorAfter([](json &m) {
              m["launches"][1]["args"][2] = {{"f32", 1e39}};
            }),
            "manifest.json: launches[1].args[2].f32: is outside the f32 range");
  EXPECT_EQ(
      errorAfter([](json &m) {
        m["launches"][0]["args"][3] = {{"i64", "n +"}};
      }),
      "manifest.json: launches[0].args[3].i64: expression 'n +': expected "
      "a number, a symbol or '(' at column 4");
}

TEST(ManifestTest, Gates) {
  EXPECT_EQ(errorAfter([](json &m) { m["gates"][0]["score"] = "nope"; }),
            "manifest.json: gates[0].score: unknown buffer 'nope'");
  EXPECT_EQ(errorAfter([](json &m) { m["gates"][0].erase("tokens"); }),
            "manifest.json: gates[0]: missing field 'tokens'");
}

TEST(ManifestTest, FileNamesStayInTheBundle) {
  for (const char *name : {"../kernels.ptx", "/etc/passwd", "sub/kernels.ptx",
                           "..", ".", "", "a\\b"})
    EXPECT_EQ(errorAfter([&](json &m) { m["files"]["ptx"] = name; }),
              std::string("manifest.json: files.ptx: '") + name +
                  "' is not a plain file name in the bundle directory (no '/', "
                  "'..' or '\\')");
  EXPECT_EQ(errorAfter([](json &m) { m["files"]["cubin"] = "../x.cubin"; }),
            "manifest.json: files.cubin: '../x.cubin' is not a plain file name "
            "in the bundle directory (no '/', '..' or '\\')");
  EXPECT_TRUE(isPlainFileName("kernels..ptx"));
}

TEST(ManifestTest, RandomHints) {
  expectAccepted([](json &m) {
    m["inputs"][0]["dtype"] = "i32";
    m["inputs"][0]["random"] = {{"min", 0}, {"max", "n - 1"}};
    m["inputs"][1]["random"] = {{"qmax", 7}, {"k", "n"}};
  });
  EXPECT_EQ(errorAfter([](json &m) {
              m["inputs"][0]["random"] = {{"min", 0}, {"max", 3}};
            }),
            "manifest.json: inputs[0].random: 'min' and 'max' apply to integer "
            "inputs (i64, i32, i8, i4), not f32");
  EXPECT_EQ(errorAfter([](json &m) {
              m["inputs"][0]["random"] = {{"min", 0}, {"qmax", 7}};
            }),
            "manifest.json: inputs[0].random: expected either 'min' and 'max' "
            "or 'qmax' and 'k'");
  EXPECT_EQ(errorAfter([](json &m) {
              m["inputs"][0]["random"] = {{"qmax", 0}, {"k", 4}};
            }),
            "manifest.json: inputs[0].random.qmax: must be positive");
  EXPECT_EQ(errorAfter([](json &m) {
              m["outputs"][0]["random"] = {{"qmax", 7}, {"k", 4}};
            }),
            "manifest.json: outputs[0]: unknown field 'random'");
}

TEST(ManifestTest, TensorMaps) {
  using sieve::test::addTensorMapProbe;
  using sieve::test::getToyTensorMap;
  json manifest = getToyManifest();
  addTensorMapProbe(manifest, getToyTensorMap());
  // A second map, with the defaults: no offset, rank 1.
  manifest["kernels"][3]["params"].push_back("tensor_map");
  manifest["launches"][3]["args"].push_back({{"tensor_map",
                                              {{"buffer", "sum"},
                                               {"dtype", "i8"},
                                               {"dims", {"4*n"}},
                                               {"strides", json::array()},
                                               {"box", {256}},
                                               {"swizzle", 0}}}});
  Manifest parsed;
  Status status = parseManifest(manifest.dump(), parsed);
  ASSERT_TRUE(status.isOk()) << status.getMessage();
  EXPECT_EQ(parsed.kernels[3].params,
            (std::vector<ParamKind>{ParamKind::TensorMap, ParamKind::Memref,
                                    ParamKind::TensorMap}));
  EXPECT_EQ(parsed.tensorMapCount, 2u);
  const ArgSpec &arg = parsed.launches[3].args[0];
  EXPECT_EQ(arg.kind, ParamKind::TensorMap);
  EXPECT_EQ(arg.buffer, 0u);
  EXPECT_EQ(arg.dtype, DType::BF16);
  const TensorMapArg &map = arg.tensorMap;
  EXPECT_EQ(map.offset.getText(), "n");
  ASSERT_EQ(map.dims.size(), 4u);
  EXPECT_EQ(map.dims[0].getConstant(), 64);
  EXPECT_EQ(map.dims[1].getText(), "n / 256");
  ASSERT_EQ(map.strides.size(), 3u);
  EXPECT_EQ(map.strides[2].getText(), "256 * (n / 256)");
  EXPECT_EQ(map.box, (std::vector<uint32_t>{64, 2, 1, 1}));
  EXPECT_EQ(map.swizzleBytes, 128u);
  EXPECT_EQ(map.slot, 0u);
  const TensorMapArg &second = parsed.launches[3].args[2].tensorMap;
  EXPECT_EQ(second.offset.getConstant(), 0);
  EXPECT_EQ(second.slot, 1u);
  EXPECT_EQ(parsed.launches[3].args[2].buffer, 2u);
  // Tensor maps read their buffers: 'sum' is live at launch 3 too.
  EXPECT_EQ(parsed.buffers[2].lastUse, 3);
  EXPECT_EQ(getParamKindName(ParamKind::TensorMap), std::string("tensor_map"));

  // Every static rule, on the first map.
  auto errorWith = [](const std::function<void(json &)> &edit) {
    return errorAfter([&](json &m) {
      json map = getToyTensorMap();
      edit(map);
      addTensorMapProbe(m, map);
    });
  };
  const std::string at = "manifest.json: launches[3].args[0].tensor_map";
  EXPECT_EQ(errorWith([](json &map) { map["interleave"] = 0; }),
            at + ": unknown field 'interleave'");
  for (const char *key :
       {"buffer", "dtype", "dims", "strides", "box", "swizzle"})
    EXPECT_EQ(errorWith([&](json &map) { map.erase(key); }),
              at + ": missing field '" + key + "'");
  EXPECT_EQ(errorWith([](json &map) { map["buffer"] = "nope"; }),
            at + ".buffer: unknown buffer 'nope'");
  EXPECT_EQ(errorWith([](json &map) { map["dtype"] = "i64"; }),
            at + ".dtype: is i64; a tensor map holds f32, f16, bf16, i32 or "
                 "i8 elements (e4m3 data as i8)");
  EXPECT_EQ(errorWith([](json &map) { map["dtype"] = "e4m3"; }),
            at + ".dtype: unknown dtype 'e4m3' (expected f32, f16, bf16, i64, "
                 "i32, i8, i4 or i1)");
  EXPECT_EQ(errorWith([](json &map) { map["offset"] = -16; }),
            at + ".offset: is -16, expected a value in [0, "
                 "9223372036854775807]");
  EXPECT_EQ(errorWith([](json &map) { map["offset"] = "m"; }),
            at + ".offset: expression 'm': unknown symbol 'm' at column 1");
  EXPECT_EQ(errorWith([](json &map) { map["dims"] = json::array(); }),
            at + ".dims: has 0 entries; a tensor map has rank 1 to 5");
  EXPECT_EQ(errorWith([](json &map) { map["dims"] = {1, 2, 3, 4, 5, 6}; }),
            at + ".dims: has 6 entries; a tensor map has rank 1 to 5");
  EXPECT_EQ(errorWith([](json &map) { map["dims"] = "n"; }),
            at + ".dims: expected an array, found a string");
  EXPECT_EQ(errorWith([](json &map) { map["dims"][1] = 0; }),
            at + ".dims[1]: is 0, expected a value in [1, 4294967296]");
  EXPECT_EQ(errorWith([](json &map) { map["dims"][3] = "n +"; }),
            at + ".dims[3]: expression 'n +': expected a number, a symbol or "
                 "'(' at column 4");
  EXPECT_EQ(errorWith([](json &map) { map["dims"][2] = "n < 2"; }),
            at + ".dims[2]: expression 'n < 2': comparisons and && are only "
                 "allowed in checks at column 3");
  EXPECT_EQ(errorWith([](json &map) {
              map["strides"] = {128, 256};
            }),
            at + ".strides: has 2 entries; a tensor map of rank 4 takes 3 (the "
                 "byte strides of dimensions 1 and up)");
  EXPECT_EQ(errorWith([](json &map) { map["strides"][0] = 120; }),
            at + ".strides[0]: is 120, not a multiple of 16");
  EXPECT_EQ(errorWith([](json &map) { map["strides"][1] = 0; }),
            at + ".strides[1]: is 0, expected a value in [1, 1099511627775]");
  EXPECT_EQ(errorWith([](json &map) { map["strides"][2] = 1ll << 40; }),
            at + ".strides[2]: is 1099511627776, expected a value in [1, "
                 "1099511627775]");
  EXPECT_EQ(errorWith([](json &map) {
              map["box"] = {64, 2, 1};
            }),
            at + ".box: has 3 entries; a tensor map of rank 4 takes 4");
  EXPECT_EQ(errorWith([](json &map) { map["box"][1] = 257; }),
            at + ".box[1]: is 257, expected a value in [1, 256]");
  EXPECT_EQ(errorWith([](json &map) { map["box"][2] = 0; }),
            at + ".box[2]: is 0, expected a value in [1, 256]");
  EXPECT_EQ(errorWith([](json &map) { map["box"][3] = "n"; }),
            at + ".box[3]: expected an integer, found a string");
  EXPECT_EQ(errorWith([](json &map) { map["swizzle"] = 16; }),
            at + ".swizzle: is 16, expected 0, 32, 64 or 128");
  EXPECT_EQ(errorWith([](json &map) { map["swizzle"] = "128"; }),
            at + ".swizzle: expected an integer, found a string");
  EXPECT_EQ(errorWith([](json &map) { map["box"][0] = 4; }),
            at + ".box: the inner box dimension is 8 bytes (4 x bf16), not a "
                 "multiple of 16");
  EXPECT_EQ(errorWith([](json &map) { map["swizzle"] = 64; }),
            at + ".box: the inner box dimension is 128 bytes (64 x bf16), "
                 "more than the 64-byte swizzle span");
  // Without a swizzle the inner box dimension is only bounded by 256
  // elements.
  expectAccepted([](json &m) {
    json map = getToyTensorMap();
    map["swizzle"] = 0;
    map["box"][0] = 256;
    addTensorMapProbe(m, map);
  });
  expectAccepted([](json &m) {
    json map = getToyTensorMap();
    map["dtype"] = "f32";
    map["swizzle"] = 32;
    map["box"][0] = 8;
    addTensorMapProbe(m, map);
  });

  // Parameter and argument kinds must agree.
  EXPECT_EQ(errorAfter([](json &m) {
              addTensorMapProbe(m, getToyTensorMap());
              m["launches"][3]["args"][0] = {{"buffer", "a"}, {"dtype", "f32"}};
            }),
            "manifest.json: launches[3].args[0]: parameter 0 of the kernel is "
            "tensor_map, the argument is memref");
  EXPECT_EQ(errorAfter([](json &m) {
              m["launches"][0]["args"][0] = {{"tensor_map", getToyTensorMap()}};
            }),
            "manifest.json: launches[0].args[0]: parameter 0 of the kernel is "
            "memref, the argument is tensor_map");
  EXPECT_EQ(errorAfter([](json &m) {
              addTensorMapProbe(m, getToyTensorMap());
              m["launches"][3]["args"][0]["dtype"] = "bf16";
            }),
            "manifest.json: launches[3].args[0]: unknown field 'dtype'");
  EXPECT_EQ(errorAfter([](json &m) {
              addTensorMapProbe(m, getToyTensorMap());
              m["launches"][3]["args"][0]["tensor_map"] = 3;
            }),
            "manifest.json: launches[3].args[0].tensor_map: expected an "
            "object, found an integer");
  // A reused launch may read the listed inputs through tensor maps, not
  // others.
  EXPECT_EQ(errorAfter([](json &m) {
              addTensorMapProbe(m, getToyTensorMap());
              m["launches"][3]["reuse"] = {"b"};
            }),
            "manifest.json: launches[3].reuse: argument 0 is buffer 'a', an "
            "input not listed; a reused launch reads the listed inputs and "
            "writes temporaries only");
}
