//===- BundleTest.cpp - Opening bundle directories ------------------------===//

#include "Bundle.h"
#include "TestSupport.h"

#include <gtest/gtest.h>

#include <filesystem>

using namespace sieve::rt;
using namespace sieve::test;
namespace fs = std::filesystem;

namespace {
Status open(const std::string &path) {
  std::shared_ptr<const Bundle> bundle;
  return Bundle::open(path, bundle);
}

} // namespace

TEST(BundleTest, OpensTheToyBundle) {
  std::shared_ptr<const Bundle> bundle;
  Status status = Bundle::open(getToyBundle(), bundle);
  ASSERT_TRUE(status.isOk()) << status.getMessage();
  EXPECT_EQ(bundle->getManifest().entry, "toy");
  EXPECT_EQ(bundle->getDirectory(), fs::canonical(getToyBundle()).string());
  EXPECT_NE(bundle->getPtx().find(".entry add_f32"), std::string::npos);
  EXPECT_TRUE(bundle->getCubin().empty());
  EXPECT_EQ(bundle->getEmulatorPath(),
            (fs::canonical(getToyBundle()) / "kernels.emu.so").string());
  const Bundle::DimView &dims = bundle->getInputDims(1);
  ASSERT_EQ(dims.dims.size(), 1u);
  EXPECT_EQ(dims.dims[0].size, -1);
  EXPECT_STREQ(dims.dims[0].symbol, "n");
}

TEST(BundleTest, NotABundle) {
  TempDir dir;
  Status status = open(dir.getPath());
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_INVALID_BUNDLE);
  EXPECT_EQ(status.getMessage(), "not a bundle: it has no manifest.json");
  status = open(dir.getPath() + "/nothing-here");
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_IO);
  EXPECT_EQ(status.getMessage(),
            "cannot open the bundle directory: No such file or directory");
  std::string file = dir.getPath() + "/file";
  writeText(file, "x");
  status = open(file);
  EXPECT_EQ(status.getMessage(), "not a directory");
}

TEST(BundleTest, TruncatedManifest) {
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "b");
  std::string text = readText(bundle + "/manifest.json");
  writeText(bundle + "/manifest.json", text.substr(0, 100));
  Status status = open(bundle);
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_INVALID_BUNDLE);
  EXPECT_NE(status.getMessage().find("manifest.json: not valid JSON"),
            std::string::npos)
      << status.getMessage();
}

TEST(BundleTest, MissingFiles) {
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "b");
  fs::remove(bundle + "/kernels.emu.so");
  Status status = open(bundle);
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_INVALID_BUNDLE);
  EXPECT_EQ(status.getMessage(),
            "'kernels.emu.so' is missing from the bundle ('" +
                fs::canonical(bundle).string() + "/kernels.emu.so')");
  bundle = makeToyVariant(dir, "c", [](nlohmann::json &m) {
    m["files"]["cubin"] = "kernels.cubin";
  });
  status = open(bundle);
  EXPECT_NE(status.getMessage().find("'kernels.cubin' is missing"),
            std::string::npos)
      << status.getMessage();
}

TEST(BundleTest, FilesMayNotLeaveTheBundle) {
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "b");
  fs::copy_file(bundle + "/kernels.ptx", dir.getPath() + "/outside.ptx");
  fs::remove(bundle + "/kernels.ptx");
  fs::create_symlink("../outside.ptx", bundle + "/kernels.ptx");
  Status status = open(bundle);
  EXPECT_EQ(status.getCode(), SIEVE_ERROR_INVALID_BUNDLE);
  EXPECT_EQ(status.getMessage(),
            "'kernels.ptx' resolves to '" +
                fs::canonical(dir.getPath()).string() +
                "/outside.ptx', outside the bundle directory");
  // A link inside the bundle is fine.
  fs::remove(bundle + "/kernels.ptx");
  fs::copy_file(dir.getPath() + "/outside.ptx", bundle + "/real.ptx");
  fs::create_symlink("real.ptx", bundle + "/kernels.ptx");
  status = open(bundle);
  EXPECT_TRUE(status.isOk()) << status.getMessage();
}

TEST(BundleTest, FilesMustBeRegular) {
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "b");
  fs::remove(bundle + "/kernels.ptx");
  fs::create_directory(bundle + "/kernels.ptx");
  EXPECT_EQ(open(bundle).getMessage(), "'kernels.ptx' is not a regular file");
}

TEST(BundleTest, PtxMustDeclareEveryKernel) {
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "b");
  std::string ptx = readText(bundle + "/kernels.ptx");
  // Rename the kernel, but mention the old name in a comment.
  std::string renamed = ptx;
  for (std::size_t pos; (pos = renamed.find("axpb_f32")) != std::string::npos;)
    renamed.replace(pos, 8, "axpb_XXX");
  writeText(bundle + "/kernels.ptx", "// .entry axpb_f32(\n" + renamed);
  EXPECT_EQ(open(bundle).getMessage(),
            "kernel 'axpb_f32' is not an .entry of 'kernels.ptx'");
}

TEST(BundleTest, PtxTargetMustMatch) {
  TempDir dir;
  std::string bundle = makeToyVariant(
      dir, "b", [](nlohmann::json &m) { m["target"] = "sm_90"; });
  EXPECT_EQ(open(bundle).getMessage(),
            "'kernels.ptx' targets sm_80, the manifest says sm_90");
  writeText(bundle + "/kernels.ptx", "not ptx at all");
  EXPECT_EQ(open(bundle).getMessage(),
            "'kernels.ptx' has no .target directive; is it PTX?");
  writeText(bundle + "/kernels.ptx", std::string(".target sm_90\0", 14));
  EXPECT_EQ(open(bundle).getMessage(),
            "'kernels.ptx' is not PTX text (it contains NUL bytes)");
}

TEST(BundleTest, ConstantsMustLieInTheirFile) {
  TempDir dir;
  auto withConstant = [](nlohmann::json &m) {
    m["buffers"].push_back({{"name", "w"},
                            {"kind", "constant"},
                            {"bytes", 16},
                            {"offset", 256}});
    m["files"]["constants"] = "constants.bin";
  };
  std::string bundle = makeToyVariant(dir, "b", withConstant);
  sieve_bundle *raw = nullptr;
  EXPECT_EQ(sieve_bundle_open(bundle.c_str(), &raw),
            SIEVE_ERROR_INVALID_BUNDLE);
  EXPECT_NE(std::string(sieve_last_error()).find("'constants.bin' is missing"),
            std::string::npos)
      << sieve_last_error();

  writeText(bundle + "/constants.bin", std::string(200, '\0'));
  EXPECT_EQ(sieve_bundle_open(bundle.c_str(), &raw),
            SIEVE_ERROR_INVALID_BUNDLE);
  EXPECT_NE(std::string(sieve_last_error())
                .find("constant buffer 'w' (bytes 16 at offset 256) lies "
                      "outside 'constants.bin' (200 bytes)"),
            std::string::npos)
      << sieve_last_error();

  writeText(bundle + "/constants.bin", std::string(272, '\0'));
  ASSERT_SIEVE_OK(sieve_bundle_open(bundle.c_str(), &raw));
  sieve_bundle_close(raw);
}

TEST(BundleTest, KernelImagesAreChecked) {
  TempDir dir;
  std::string bundle = makeToyVariant(dir, "b", [](nlohmann::json &m) {
    m["files"]["cubin"] = "kernels.cubin";
  });
  writeText(bundle + "/kernels.cubin", "text, not ELF");
  EXPECT_EQ(open(bundle).getMessage(), "'kernels.cubin' is not an ELF file");
  writeText(bundle + "/kernels.cubin", makeElfHeader(62, 2));
  EXPECT_EQ(
      open(bundle).getMessage(),
      "'kernels.cubin' is an ELF file for machine 62, expected 190 (CUDA)");
  writeText(bundle + "/kernels.cubin", makeElfHeader(190, 2));
  std::shared_ptr<const Bundle> opened;
  Status status = Bundle::open(bundle, opened);
  ASSERT_TRUE(status.isOk()) << status.getMessage();
  EXPECT_EQ(opened->getCubin().size(), 64u);

  fs::remove(bundle + "/kernels.emu.so");
  fs::copy_file(bundle + "/kernels.ptx", bundle + "/kernels.emu.so");
  EXPECT_EQ(open(bundle).getMessage(), "'kernels.emu.so' is not an ELF file");
#if defined(__x86_64__)
  writeText(bundle + "/kernels.emu.so", makeElfHeader(62, 2));
  EXPECT_EQ(open(bundle).getMessage(),
            "'kernels.emu.so' is not a shared library (ELF type 2)");
  writeText(bundle + "/kernels.emu.so", makeElfHeader(190, 3));
  EXPECT_EQ(
      open(bundle).getMessage(),
      "'kernels.emu.so' is an ELF file for machine 190, expected 62 (this "
      "host)");
#endif
}

TEST(BundleTest, PtxScanning) {
  std::string ptx = "// .entry commented\n"
                    ".version 7.0\n.target sm_90a, debug\n"
                    "/* .entry also_commented( */\n"
                    ".visible .entry first(\n.param .u64 p)\n{}\n"
                    ".entry second (\n)\n.entryx third(\n";
  EXPECT_EQ(getPtxEntries(ptx), (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(getPtxTarget(ptx), "sm_90a");
  EXPECT_EQ(getPtxTarget(".version 7.0\n"), "");
}
