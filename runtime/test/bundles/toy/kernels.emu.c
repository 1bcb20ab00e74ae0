/*===- kernels.emu.c - The toy bundle's kernels for the emulator ----------===*\
|*                                                                          *|
|* The kernels of kernels.cu, written by hand against emulator.h the way    *|
|* codegen emits them: one function per kernel that runs one CUDA thread,   *|
|* named sieve_emu_kernel_<kernel>, taking cuLaunchKernel's parameter array *|
|* (memrefs expanded into their five descriptor fields). Every access is    *|
|* bounds-checked against the memref's size, and each thread that does an   *|
|* element counts one unit of work.                                         *|
|*                                                                          *|
\*===----------------------------------------------------------------------===*/

#include "sieve/emulator.h"

#include <math.h>

typedef struct Memref {
  void *aligned;
  int64_t offset, size, stride;
} Memref;

/* The memref whose descriptor starts at params[first]. */
static Memref getMemref(void **params, int first) {
  Memref memref;
  memref.aligned = *(void **)params[first + 1];
  memref.offset = *(int64_t *)params[first + 2];
  memref.size = *(int64_t *)params[first + 3];
  memref.stride = *(int64_t *)params[first + 4];
  return memref;
}

/* The linear index of element i, after checking it lies in the memref. */
static int64_t at(const char *site, const Memref *memref, int64_t i) {
  int64_t index = memref->offset + i * memref->stride;
  if (index < 0 || index >= memref->size)
    sieve_emu_fail(site, "index out of bounds", index, memref->size);
  return index;
}

static int64_t getGlobalId(void) {
  return sieve_emu_block_id(0) * sieve_emu_block_dim(0) +
         sieve_emu_thread_id(0);
}

void sieve_emu_kernel_add_f32(void **params) {
  Memref a = getMemref(params, 0), b = getMemref(params, 5),
         out = getMemref(params, 10);
  int64_t n = *(int64_t *)params[15];
  int64_t i = getGlobalId();
  if (i >= n)
    return;
  float sum = ((float *)a.aligned)[at("toy.mlir:3:8 load a", &a, i)] +
              ((float *)b.aligned)[at("toy.mlir:3:8 load b", &b, i)];
  ((float *)out.aligned)[at("toy.mlir:3:8 store", &out, i)] = sum;
  sieve_emu_count_work(1);
}

void sieve_emu_kernel_axpb_f32(void **params) {
  Memref x = getMemref(params, 0), y = getMemref(params, 5);
  float alpha = *(float *)params[10];
  int32_t beta = *(int32_t *)params[11];
  int64_t n = *(int64_t *)params[12];
  int64_t i = getGlobalId();
  if (i >= n)
    return;
  float value = ((float *)x.aligned)[at("toy.mlir:4:8 load x", &x, i)];
  ((float *)y.aligned)[at("toy.mlir:4:8 store", &y, i)] =
      alpha * value + (float)beta;
  sieve_emu_count_work(1);
}

void sieve_emu_kernel_gate_f32(void **params) {
  Memref x = getMemref(params, 0), score = getMemref(params, 5),
         mask = getMemref(params, 10);
  int64_t n = *(int64_t *)params[15];
  int64_t i = getGlobalId();
  if (i >= n)
    return;
  float s =
      1.0f /
      (1.0f + expf(-((float *)x.aligned)[at("toy.mlir:5:8 load", &x, i)]));
  ((float *)score.aligned)[at("toy.mlir:5:8 store score", &score, i)] = s;
  ((uint8_t *)mask.aligned)[at("toy.mlir:5:8 store mask", &mask, i)] = s > 0.5f;
  sieve_emu_count_work(1);
}

void sieve_emu_kernel_gather2d_f32(void **params) {
  Memref x = getMemref(params, 0), y = getMemref(params, 5);
  int64_t rows = *(int64_t *)params[10], cols = *(int64_t *)params[11];
  int64_t rowStride = *(int64_t *)params[12];
  int64_t colStride = *(int64_t *)params[13];
  int64_t i = getGlobalId();
  if (i >= rows * cols)
    return;
  int64_t element = (i / cols) * rowStride + (i % cols) * colStride;
  ((float *)y.aligned)[at("strided.mlir:3:8 store", &y, i)] =
      ((float *)x.aligned)[at("strided.mlir:3:8 load", &x, element)];
  sieve_emu_count_work(1);
}

void sieve_emu_kernel_read_tensor_map(void **params) {
  const uint8_t *map = *(const uint8_t *const *)params[0];
  Memref out = getMemref(params, 1);
  int64_t i = getGlobalId();
  if (i >= SIEVE_TENSOR_MAP_SLOT_BYTES || i >= out.size)
    return;
  ((uint8_t *)out.aligned)[at("toy.mlir:6:8 store", &out, i)] = map[i];
  sieve_emu_count_work(1);
}
