//===- EmulatorTestUtils.h - Helpers for the emulator's tests ---*- C++ -*-===//
//
// Test kernels are `extern "C" void name(void **params)` functions that call
// the emulator ABI as generated code does: params[i] points at the value of
// kernel argument i, exactly as cuLaunchKernel's kernelParams.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_TEST_EMULATOR_EMULATORTESTUTILS_H
#define SIEVE_RUNTIME_TEST_EMULATOR_EMULATORTESTUTILS_H

#include "sieve/emulator.h"

#include <gtest/gtest.h>

#include <string>

/// Expects `part` in the string `text`, printing `text` when it is not.
#define EXPECT_CONTAINS(text, part)                                            \
  EXPECT_NE(std::string(text).find(part), std::string::npos)                   \
      << "expected \"" << (part) << "\" in: " << (text)

namespace sieve {
namespace test {

/// Kernel argument `index` as a T.
template <typename T> T getParam(void **params, int index) {
  return *static_cast<T *>(params[index]);
}

/// The linear id of the calling thread within its block.
inline int64_t getLinearThreadId() {
  return sieve_emu_thread_id(0) +
         sieve_emu_block_dim(0) *
             (sieve_emu_thread_id(1) +
              sieve_emu_block_dim(1) * sieve_emu_thread_id(2));
}

/// The linear id of the calling thread's block within the grid.
inline int64_t getLinearBlockId() {
  return sieve_emu_block_id(0) +
         sieve_emu_grid_dim(0) *
             (sieve_emu_block_id(1) +
              sieve_emu_grid_dim(1) * sieve_emu_block_id(2));
}

/// A launch description with the given kernel, parameters and sizes; one
/// worker, linear schedule, no race check, no shared memory.
inline sieve_emu_launch_desc
makeLaunch(const char *name, sieve_emu_kernel_fn kernel, void **params,
           uint32_t gridX, uint32_t blockX, uint32_t gridY = 1,
           uint32_t blockY = 1, uint32_t gridZ = 1, uint32_t blockZ = 1) {
  sieve_emu_launch_desc desc = {};
  desc.kernel_name = name;
  desc.kernel = kernel;
  desc.params = params;
  desc.grid[0] = gridX;
  desc.grid[1] = gridY;
  desc.grid[2] = gridZ;
  desc.block[0] = blockX;
  desc.block[1] = blockY;
  desc.block[2] = blockZ;
  desc.worker_threads = 1;
  return desc;
}

struct LaunchResult {
  int status = 0;
  std::string error;
  sieve_emu_launch_stats stats = {};
};

inline LaunchResult runLaunch(const sieve_emu_launch_desc &desc) {
  LaunchResult result;
  char error[2048];
  result.status = sieve_emu_launch(&desc, &result.stats, error, sizeof(error));
  result.error = error;
  return result;
}

/// runLaunch, with what the launch wrote to stderr.
inline LaunchResult runLaunchCapturingStderr(const sieve_emu_launch_desc &desc,
                                             std::string &stderrText) {
  testing::internal::CaptureStderr();
  LaunchResult result = runLaunch(desc);
  stderrText = testing::internal::GetCapturedStderr();
  return result;
}

/// Checks the error of a launch of kernel "misuse" that fails in block
/// (0,0,0): it contains `message` (and `message2` unless null), names
/// `site` and thread `thread`, is one line, and is what stderr got.
inline void expectMisuseError(const LaunchResult &result,
                              const std::string &stderrText,
                              const char *message, const char *message2,
                              const char *site, const char *thread) {
  EXPECT_NE(result.status, 0);
  EXPECT_CONTAINS(result.error, message);
  if (message2) {
    EXPECT_CONTAINS(result.error, message2);
  }
  EXPECT_CONTAINS(result.error, "kernel misuse, block (0,0,0)");
  EXPECT_CONTAINS(result.error,
                  std::string("sieve-emu: error: ") + site + ": ");
  EXPECT_CONTAINS(result.error, std::string("thread ") + thread);
  EXPECT_EQ(result.error.find('\n'), std::string::npos) << result.error;
  EXPECT_EQ(stderrText, result.error + "\n");
}

} // namespace test
} // namespace sieve

#endif // SIEVE_RUNTIME_TEST_EMULATOR_EMULATORTESTUTILS_H
