//===- launch_dequantize.cpp - A bundle's kernel from plain CUDA ----------===//
//
// Launches the kernel of a Sieve bundle with nothing but the CUDA driver API,
// as docs/bundle-format.md explains: compile the graph first,
//
//   sieve-compile examples/cuda-driver/dequantize.mlir -o dequantize.bundle
//   c++ launch_dequantize.cpp -I/usr/local/cuda/include -lcuda -o launch
//   ./launch dequantize.bundle
//
// The manifest of that bundle has one launch:
//
//   {"kernel": "sieve_dequantize_0", "grid": [64, 1, 1], "block": [128, 1, 1],
//    "args": [{"buffer": "arg0", "dtype": "i4"}, {"buffer": "arg1", ...},
//             {"buffer": "t0", "dtype": "f32"}, {"i64": 8192}, {"i64": 32}]}
//
// A real host would read manifest.json; the values are written out here so
// that every step stays visible.
//
//===----------------------------------------------------------------------===//

#include <cuda.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#define CHECK(call)                                                            \
  do {                                                                         \
    CUresult status = (call);                                                  \
    if (status != CUDA_SUCCESS) {                                              \
      const char *name = nullptr;                                              \
      cuGetErrorName(status, &name);                                           \
      std::fprintf(stderr, "%s failed: %s\n", #call, name ? name : "?");       \
      return 1;                                                                \
    }                                                                          \
  } while (0)

/// The five fields of a one-dimensional memref descriptor: what a bundle's
/// kernels take for each buffer parameter.
struct MemRefParam {
  CUdeviceptr allocated, aligned;
  int64_t offset, size, stride;

  MemRefParam(CUdeviceptr buffer, int64_t elements)
      : allocated(buffer), aligned(buffer), offset(0), size(elements),
        stride(1) {}
  void push(std::vector<void *> &params) {
    params.insert(params.end(), {&allocated, &aligned, &offset, &size, &stride});
  }
};

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s BUNDLE_DIR\n", argv[0]);
    return 2;
  }
  std::ifstream file(std::string(argv[1]) + "/kernels.ptx");
  std::stringstream ptx;
  ptx << file.rdbuf();

  CHECK(cuInit(0));
  CUdevice device;
  CHECK(cuDeviceGet(&device, 0));
  CUcontext context;
  CHECK(cuDevicePrimaryCtxRetain(&context, device));
  CHECK(cuCtxSetCurrent(context));
  CUmodule module;
  CHECK(cuModuleLoadDataEx(&module, ptx.str().c_str(), 0, nullptr, nullptr));
  CUfunction kernel;
  CHECK(cuModuleGetFunction(&kernel, module, "sieve_dequantize_0"));

  // Inputs: int4 values one per byte (the bundle's layout), f32 scales.
  const int64_t rows = 64, cols = 128, groups = 4;
  std::vector<int8_t> q(rows * cols);
  std::vector<float> scales(rows * groups);
  for (int64_t i = 0; i < rows * cols; ++i)
    q[i] = static_cast<int8_t>(i % 15 - 7);
  for (int64_t i = 0; i < rows * groups; ++i)
    scales[i] = 0.01f * static_cast<float>(i + 1);

  CUdeviceptr dq, dscales, dout;
  CHECK(cuMemAlloc(&dq, q.size()));
  CHECK(cuMemAlloc(&dscales, scales.size() * sizeof(float)));
  CHECK(cuMemAlloc(&dout, rows * cols * sizeof(float)));
  CHECK(cuMemcpyHtoD(dq, q.data(), q.size()));
  CHECK(cuMemcpyHtoD(dscales, scales.data(), scales.size() * sizeof(float)));

  // kernelParams: 5 entries per buffer, then the scalar arguments.
  MemRefParam qParam(dq, rows * cols), scaleParam(dscales, rows * groups),
      outParam(dout, rows * cols);
  int64_t elements = rows * cols, groupLength = 32;
  std::vector<void *> params;
  qParam.push(params);
  scaleParam.push(params);
  outParam.push(params);
  params.push_back(&elements);
  params.push_back(&groupLength);
  CHECK(cuLaunchKernel(kernel, /*grid=*/64, 1, 1, /*block=*/128, 1, 1,
                       /*sharedMemBytes=*/0, /*stream=*/nullptr,
                       params.data(), nullptr));
  CHECK(cuCtxSynchronize());

  std::vector<float> out(rows * cols);
  CHECK(cuMemcpyDtoH(out.data(), dout, out.size() * sizeof(float)));
  for (int64_t i = 0; i < rows * cols; ++i) {
    float expected = q[i] * scales[i / groupLength];
    if (std::fabs(out[i] - expected) > 0) {
      std::fprintf(stderr, "element %lld: %g, expected %g\n",
                   static_cast<long long>(i), out[i], expected);
      return 1;
    }
  }
  std::printf("dequantize: %lld values match\n",
              static_cast<long long>(rows * cols));
  return 0;
}
