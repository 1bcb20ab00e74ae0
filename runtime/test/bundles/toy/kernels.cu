// The toy bundle's kernels in CUDA C: the source of kernels.ptx. Each buffer
// parameter is an expanded MLIR memref descriptor (allocated pointer,
// aligned pointer, offset, size, stride), as docs/bundle-format.md
// specifies. kernels.emu.c holds the same kernels for the emulator.
//
// Regenerate kernels.ptx (the build never needs nvcc):
//   nvcc -arch=sm_80 --ptx kernels.cu -o kernels.ptx
// then lower its `.version` line to 7.0 (the kernels use nothing newer), so
// that drivers since CUDA 11.0 can JIT it, and check it with
//   ptxas -arch=sm_80 kernels.ptx -o /dev/null

#define MEMREF(T, name)                                                        \
  T *name##Allocated, T *name, long long name##Offset, long long name##Size,  \
      long long name##Stride

extern "C" __global__ void add_f32(MEMREF(float, a), MEMREF(float, b),
                                   MEMREF(float, out), long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[outOffset + i * outStride] =
        a[aOffset + i * aStride] + b[bOffset + i * bStride];
}

extern "C" __global__ void axpb_f32(MEMREF(float, x), MEMREF(float, y),
                                    float alpha, int beta, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    y[yOffset + i * yStride] = alpha * x[xOffset + i * xStride] + (float)beta;
}

extern "C" __global__ void gate_f32(MEMREF(float, x), MEMREF(float, score),
                                    MEMREF(unsigned char, mask), long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    float s = 1.0f / (1.0f + expf(-x[xOffset + i * xStride]));
    score[scoreOffset + i * scoreStride] = s;
    mask[maskOffset + i * maskStride] = s > 0.5f;
  }
}

// y = the [rows, cols] view of x with strides (rowStride, colStride), packed
// row-major: the kernel of the strided test bundle (bundles/strided), whose
// input x is strided and whose stride symbols arrive as the last arguments.
extern "C" __global__ void gather2d_f32(MEMREF(float, x), MEMREF(float, y),
                                        long long rows, long long cols,
                                        long long rowStride,
                                        long long colStride) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < rows * cols)
    y[yOffset + i * yStride] =
        x[xOffset + ((i / cols) * rowStride + (i % cols) * colStride) *
                        xStride];
}

// Copies the SIEVE_TENSOR_MAP_SLOT_BYTES (256) bytes of the tensor map slot
// that a tensor_map parameter points at into `out`, so that tests see what
// the runtime encoded there.
extern "C" __global__ void read_tensor_map(const unsigned char *map,
                                           MEMREF(unsigned char, out)) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < 256 && i < outSize)
    out[outOffset + i * outStride] = map[i];
}
