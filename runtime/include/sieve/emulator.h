/*===- emulator.h - The SIMT emulator's C ABI -------------------*- C -*-===*\
|*                                                                          *|
|* Sieve runs every GPU kernel it emits on the CPU as well: codegen converts *|
|* each kernel (at the gpu/nvgpu level, before NVVM) into a host function    *|
|* that runs ONE CUDA thread and calls the functions below for everything    *|
|* only a GPU has (ids, barriers, shared memory, warp collectives, async     *|
|* copies, checks). The emulator runs a grid by giving every CUDA thread of  *|
|* a block its own fiber; a thread blocks in a barrier or collective until   *|
|* the others arrive, as on a GPU. Blocks are independent and may run on     *|
|* several OS threads at once.                                               *|
|*                                                                          *|
|* Two sides use this header:                                                *|
|*  - emulated kernels (generated code) call the sieve_emu_* functions of    *|
|*    section 1 from inside a launch;                                        *|
|*  - the runtime calls sieve_emu_launch() (section 2).                      *|
|*                                                                          *|
|* C ABI, no LLVM/MLIR. "site" strings name the source operation for         *|
|* diagnostics: "<file>:<line>:<col> <op name> in kernel <kernel>".          *|
|*                                                                          *|
\*===----------------------------------------------------------------------===*/

#ifndef SIEVE_RUNTIME_EMULATOR_H
#define SIEVE_RUNTIME_EMULATOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*===----------------------------------------------------------------------===*
 * 1. Called by emulated kernels (only valid inside sieve_emu_launch)
 *===----------------------------------------------------------------------===*/

/* Entry point of an emulated kernel: runs one CUDA thread. `params` has one
 * pointer per kernel parameter, exactly as cuLaunchKernel's kernelParams
 * (memref parameters already expanded into their descriptor fields). */
typedef void (*sieve_emu_kernel_fn)(void **params);

/* gpu.thread_id / block_id / block_dim / grid_dim; dim: 0 = x, 1 = y, 2 = z. */
int64_t sieve_emu_thread_id(int32_t dim);
int64_t sieve_emu_block_id(int32_t dim);
int64_t sieve_emu_block_dim(int32_t dim);
int64_t sieve_emu_grid_dim(int32_t dim);
/* gpu.lane_id: linear thread index within the block, modulo 32. */
int64_t sieve_emu_lane_id(void);

/* The current block's shared memory: the kernel's static workgroup
 * allocations (offsets fixed by codegen) in [0, static_shared_bytes), then
 * the dynamic shared memory. It starts filled with 0xFF bytes (NaN for
 * floats), so reading it before writing it shows. 256 KiB aligned (see
 * sieve_emu_wgmma). */
uint8_t *sieve_emu_shared_memory(void);
int64_t sieve_emu_shared_memory_size(void);
/* Byte offset of the dynamic part (== static_shared_bytes of the launch). */
int64_t sieve_emu_dynamic_shared_offset(void);

/* gpu.barrier: blocks until every thread of the block that has not returned
 * arrives. A thread returning while others wait, or threads waiting at
 * different sites, is an error. */
void sieve_emu_barrier(const char *site);

/* Warp collectives. Every thread of the warp (32 consecutive linear thread
 * ids; the last warp of a block may be partial) that has not returned must
 * call the same site; otherwise it is an error ("divergent warp collective").
 * The call returns once all have arrived. */

/* gpu.shuffle on a 32-bit payload (f32 values travel as their bits).
 * mode: 0 = xor, 1 = up, 2 = down, 3 = idx. `width` is a power of two <= 32.
 * *valid (may be NULL) receives 1 if the source lane was in range, else 0
 * and the lane's own value is returned (gpu.shuffle semantics). */
uint32_t sieve_emu_shuffle(const char *site, int32_t mode, uint32_t value,
                           int32_t offset, int32_t width, int32_t *valid);

/* Votes: kind 0 = any, 1 = all, 2 = ballot (bit i = predicate of lane i). */
uint32_t sieve_emu_vote(const char *site, int32_t kind, int32_t predicate);

/* nvgpu.ldmatrix (PTX ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].b16):
 * lanes 8i..8i+7 give, in `row`, the addresses of the 8 rows (16 bytes each)
 * of matrix i (only lanes 0..8*num_matrices-1 are read). Lane l receives in
 * fragment[i] (two b16 packed, low half first) M_i[l/4][2(l%4) + {0,1}], or
 * with `transpose` M_i[2(l%4) + {0,1}][l/4]. */
void sieve_emu_ldmatrix(const char *site, const void *row,
                        int32_t num_matrices, int32_t transpose,
                        uint32_t *fragment);

/* nvgpu.mma.sync: D = A * B + C over the warp, with the PTX ISA fragment
 * layouts ("Matrix Fragments for mma.m16n8k16 ..."). Each lane passes its
 * registers in the PTX order. Shapes and types: */
enum {
  SIEVE_EMU_MMA_M16N8K16 = 0, /* a: 4 regs, b: 2 regs, c/d: 4 regs */
  SIEVE_EMU_MMA_M16N8K8 = 1,  /* a: 2 regs, b: 1 reg,  c/d: 4 regs */
  SIEVE_EMU_MMA_M16N8K32 = 2, /* s8 (s32 c/d) or e4m3 (f32 c/d): a: 4 regs,
                                 b: 2 regs, c/d: 4 */
};
enum {
  SIEVE_EMU_TYPE_F16 = 0,  /* two per 32-bit register, low half first */
  SIEVE_EMU_TYPE_BF16 = 1, /* two per register */
  SIEVE_EMU_TYPE_S8 = 2,   /* four per register, lowest byte first */
  SIEVE_EMU_TYPE_F32 = 3,  /* one per register */
  SIEVE_EMU_TYPE_S32 = 4,  /* one per register */
  SIEVE_EMU_TYPE_E4M3 = 5, /* f8E4M3FN, four per register, lowest byte first */
};
/* Products are exact and summed in ascending k into the accumulator with
 * IEEE f32 rounding (s32: wrapping), so results are reproducible. */
void sieve_emu_mma_sync(const char *site, int32_t shape, int32_t ab_type,
                        int32_t cd_type, const uint32_t *a, const uint32_t *b,
                        const uint32_t *c, uint32_t *d);

/* Hopper warpgroup matrix products (PTX wgmma, sm_90a). A warpgroup is the
 * 128 threads of warps 4i .. 4i+3; the block must consist of whole
 * warpgroups, all of whose threads take part.
 *
 * sieve_emu_wgmma is wgmma.mma_async.sync.aligned.m64nNkK: D = A * B +
 * (scale_d ? D : 0), A 64 x K, B K x N, K = 16 for f16/bf16 and 32 for s8 and
 * e4m3 (types as for mma.sync; D f32, or s32 for s8). It is a warpgroup
 * collective: all 128 threads call it at the same site with the same n,
 * types, descriptors, transposes and scale_d. `a` is NULL when A is read from
 * shared memory through `desc_a`, else it points at the thread's 4 registers
 * of A ("Register Fragments" of the ISA: thread T of the warpgroup holds, of
 * a 16-bit A, element j of register j / 2 at row 16 (T / 32) + (T % 32) / 4 +
 * 8 ((j / 2) % 2), column 2 (T % 4) + j % 2 + 8 (j / 4); 8-bit A is
 * mma.sync m16n8k32's layout on each warp's 16 rows). `d` is the thread's
 * n / 2 accumulator registers, read and written in place: register i at row
 * 16 (T / 32) + (T % 32) / 4 + 8 ((i / 2) % 2), column 8 (i / 4) + 2 (T % 4)
 * + i % 2. n is a multiple of 8 from 8 to 256 (s8: 8, 24 or a multiple of
 * 16).
 *
 * Shared-memory operands are given by 64-bit matrix descriptors (ISA "Matrix
 * Descriptor Format"): bits 0-13 the start address >> 4, 16-29 the leading
 * dimension byte offset (LBO) >> 4, 32-45 the stride dimension byte offset
 * (SBO) >> 4, 49-51 the base offset (must be 0 here), 62-63 the swizzle:
 * 0 none, 1 128-byte, 2 64-byte, 3 32-byte. Addresses are shared-memory
 * offsets modulo 2^18: sieve_emu_shared_memory() is 256 KiB aligned, so
 * the low 18 bits of a host address into it are its offset. A swizzle of
 * S bytes exchanges address bits 4-6 with bits 7-9 as o ^ (((o >> 7) &
 * (S / 16 - 1)) << 4) and needs a start with 0 in the bits it reads
 * ((start >> 7) & (S / 16 - 1) == 0). With W = S
 * (16 without swizzle), element (row r, k) of a K-major operand ("row" A,
 * "col" B; r is m for A, n for B) of 16-bit type is at
 *   none:     start + 16 (r % 8) + SBO (r / 8) + LBO (k / 8) + 2 (k % 8)
 *   swizzled: swz(start + W (r % 8) + SBO (r / 8) + 2 k), k < W / 2
 * (8-bit types: k / 16, k % 16, 1 byte per element, k < W); an MN-major
 * operand (trans = 1; 16-bit types only), element (mn, k):
 *   none:     start + 16 (k % 8) + LBO (k / 8) + SBO (mn / 8) + 2 (mn % 8)
 *   swizzled: swz(start + W (k % 8) + SBO (k / 8) + LBO (mn / (W / 2))
 *                 + 2 (mn % (W / 2)))
 * Products are exact and summed in ascending k with f32 rounding, as
 * sieve_emu_mma_sync does; the operands are read when the last thread
 * arrives, and the bytes read stay "in flight" until every thread of the
 * warpgroup has waited for the product's group: a shared-memory write to
 * them before that is an error.
 *
 * Groups (per thread, as in PTX): each thread must call
 * sieve_emu_wgmma_fence (wgmma.fence) before the first product of a group;
 * sieve_emu_wgmma_commit (wgmma.commit_group) closes the group;
 * sieve_emu_wgmma_wait (wgmma.wait_group) retires all but the `pending`
 * (0 to 7) most recent groups. Returning with an open or unretired group
 * is an error. */
void sieve_emu_wgmma(const char *site, int32_t n, int32_t ab_type,
                     int32_t cd_type, const uint32_t *a, uint64_t desc_a,
                     uint64_t desc_b, int32_t trans_a, int32_t trans_b,
                     int32_t scale_d, uint32_t *d);
void sieve_emu_wgmma_fence(const char *site);
void sieve_emu_wgmma_commit(const char *site);
void sieve_emu_wgmma_wait(const char *site, int32_t pending);

/* fence.proxy.async.shared::cta: this thread's earlier shared-memory writes
 * (stores, completed cp.async copies), made through the generic proxy,
 * become visible to the async proxy that wgmma reads operands through. With
 * race checks on, a wgmma reading a byte whose writer has not executed this
 * fence since the write is an error. */
void sieve_emu_fence_proxy_async(const char *site);

/* mbarrier objects (PTX ISA "mbarrier"): 8 bytes of shared memory, 8-byte
 * aligned, that only these functions may touch (an ordinary access to them
 * is an error). State: the phase (waits see its parity), the expected and
 * pending arrival counts and the transaction count tx.
 *  - init(count): phase 0, expected = pending = count (1 .. 2^20 - 1),
 *    tx 0. Any other use before init is an error; init of a barrier with
 *    a phase in progress (pending != expected or tx != 0, or threads
 *    waiting on it, or TMA loads that will complete on it) too. A barrier
 *    stays one until its block ends (there is no mbarrier.inval).
 *  - arrive(expect_tx_bytes): tx += expect_tx_bytes, then pending -= 1
 *    (mbarrier.arrive, or .expect_tx with bytes > 0); an arrival when
 *    pending is 0 is an error.
 *  - expect_tx(bytes): tx += bytes, no arrival. Byte counts must be >= 0
 *    and tx stays within -(2^20 - 1) .. 2^20 - 1 (PTX's range).
 *  - A TMA load completing (below) subtracts its bytes from tx.
 *  - The phase completes when pending == 0 and tx == 0: phase += 1,
 *    pending = expected, tx = 0; threads whose wait it satisfies wake.
 *  - wait_parity(parity) (mbarrier.try_wait.parity in a loop; parity 0 or
 *    1): returns once the phase with that parity has completed, i.e. at
 *    once if (phase & 1) != parity, else after the current phase
 *    completes. A waiting thread blocks; when no thread of the block can
 *    run, pending TMA loads complete, one at a time and oldest first (as
 *    late as the hardware may, so that a missing wait reads the poisoned
 *    destination); when none is left either, the launch fails with a
 *    deadlock report naming each waiting thread, its barrier and that
 *    barrier's state (pending arrivals, tx bytes not delivered). A thread
 *    may return while others wait on a barrier; the block ending with a TMA
 *    load not completed is an error ("never waited for").
 * With the race check on, a phase completion orders shared-memory accesses
 * like a gpu.barrier does (for every thread of the block). */
void sieve_emu_mbarrier_init(const char *site, void *barrier, int32_t count);
void sieve_emu_mbarrier_arrive(const char *site, void *barrier,
                               int32_t expect_tx_bytes);
void sieve_emu_mbarrier_expect_tx(const char *site, void *barrier,
                                  int32_t bytes);
void sieve_emu_mbarrier_wait_parity(const char *site, void *barrier,
                                    int32_t parity);

/* A tensor map as the emulator reads it: what cuTensorMapEncodeTiled takes
 * (CUDA's own CUtensorMap is opaque), built by the runtime's emulator device
 * from a bundle's tensor_map argument (docs/bundle-format.md). Kernels
 * receive its address as a 64-bit parameter, as on a GPU they receive the
 * device address of the encoded CUtensorMap. */
#define SIEVE_EMU_TENSOR_MAP_MAGIC 0x70616d726f736e74ull /* "tnsormap" */
typedef struct sieve_emu_tensor_map {
  uint64_t magic;
  /* Element (0, ..., 0), and the buffer the map may read ([begin, end)). */
  const uint8_t *base;
  const uint8_t *buffer_begin, *buffer_end;
  uint32_t rank;          /* 1 .. 5 */
  uint32_t element_bytes; /* 1, 2 or 4 */
  uint32_t swizzle_bytes; /* 0 (none), 32, 64 or 128 */
  uint32_t reserved;
  /* Innermost dimension first: sizes in elements, strides in bytes
   * (strides[0] == element_bytes), the box in elements. */
  uint64_t dims[5];
  uint64_t strides[5];
  uint32_t box[5];
} sieve_emu_tensor_map;
/* Bytes the runtime reserves per tensor map, on every device (a CUtensorMap
 * takes 128, 64-byte aligned; sieve_emu_tensor_map less than 256). */
#define SIEVE_TENSOR_MAP_SLOT_BYTES 256

/* cp.async.bulk.tensor.<rank>d.shared::cluster.global.mbarrier::complete_tx
 * ::bytes (TMA, tile mode): copies the box of `map` at element coordinates
 * coords[0 .. rank) (innermost first, signed) into shared memory at `dst`,
 * dense (row pitch box[0] * element_bytes) and swizzled like wgmma operands
 * (the swizzle of map->swizzle_bytes applied to the shared-memory offset of
 * every 16-byte chunk; dst must then be aligned to 8 * swizzle_bytes, else
 * to 128). Box elements with any coordinate outside [0, dims[i]) are not
 * read and are written as zeros. The copy completes later (see wait_parity;
 * until then dst holds poison), then subtracts the box's bytes (out of
 * bounds elements included) from `barrier`'s tx. Every source byte must lie
 * in [buffer_begin, buffer_end); dst and the box must lie in shared memory
 * (with a swizzle, the box rounded up to whole swizzle_bytes, the span its
 * chunks move in); a write into bytes a wgmma in flight reads is an error
 * as for any write (checked at issue and at completion). The map is read
 * and checked, and the source bounds too, at issue (errors name the issuing
 * thread); the source data is read at completion. TMA writes go through
 * the async proxy: wgmma may read them without a proxy fence, and the race
 * check counts them as writes by no thread. */
void sieve_emu_tma_load(const char *site, void *dst, const void *map,
                        void *barrier, int32_t rank, const int32_t *coords);

/* Warp specialization (Hopper kernels whose warpgroups play different
 * roles, e.g. a TMA producer and two consumers taking turns).
 *
 * sieve_emu_named_barrier is PTX bar.sync id, count (wait = 1) or
 * bar.arrive id, count (wait = 0); MLIR nvvm.barrier id = %id
 * number_of_threads = %count, and nvvm.barrier.arrive. id is 1 to 15 (0 is
 * gpu.barrier's, sieve_emu_barrier: using it here is an error); count is a
 * positive multiple of 32, at most the block's thread count rounded up to a
 * multiple of 32. Each barrier has a current phase:
 *  - Each calling thread counts one arrival in the current phase. (PTX
 *    counts whole warps: a warp executing bar adds 32 whatever its lanes.
 *    Kernels here arrive with whole warps and the emulator requires it: a
 *    warp's first arrival in a phase needs 32 live lanes in the warp, and
 *    when the phase completes, every warp with an arrival must have had all
 *    its lanes arrive; else "partial warp at named barrier".)
 *  - wait = 1: the thread blocks until `count` arrivals have been made in
 *    the current phase, its own included; wait = 0: it arrives and goes on.
 *  - When the arrivals reach count, the phase completes: the barrier resets
 *    (a new phase, no arrivals) and every thread blocked on it wakes.
 *  - All arrivals of a phase must pass the same count, and a thread must
 *    not arrive twice in one phase; either is an error.
 *  - A thread may return while others wait on a named barrier (producers
 *    may finish first). If no thread of the block can proceed any more, the
 *    launch fails with a deadlock report naming each blocked thread's
 *    barrier, its arrivals and count; if the block ends with a phase partly
 *    arrived and no thread waiting (bar.arrive only), that is an error too
 *    ("named barrier N: M of C arrivals, phase never completed").
 * With the race check on, a phase completion orders shared-memory accesses
 * like a gpu.barrier does (for every thread of the block, as an mbarrier
 * phase does); phase completions count in the launch's barriers. */
void sieve_emu_named_barrier(const char *site, int32_t id, int32_t count,
                             int32_t wait);

/* setmaxnreg.inc.sync.aligned.u32 (increase = 1) or setmaxnreg.dec
 * (increase = 0) with `registers` (nvvm.setmaxregister increase|decrease):
 * sets the per-thread register count of the calling warpgroup. A warpgroup
 * collective like sieve_emu_wgmma: the block must consist of whole
 * warpgroups, and all 128 threads of the warpgroup, none returned, call it
 * at the same site with the same arguments. registers is a multiple of 8
 * from 24 to 256. The emulator tracks each warpgroup's count: initially
 * min(255, 65536 / threads per block) rounded down to a multiple of 8, what
 * ptxas gives a kernel with no other bound (no launch bounds or
 * maxrregcount). An increase needs registers >= the current count, a
 * decrease registers <= it; else it is an error. The block has 65536
 * registers: an increase that would bring the block's total (the sum over
 * its warpgroups of count * 128) above that waits, as on a GPU, until
 * decreases of other warpgroups make room; if no thread of the block can
 * proceed while one waits, it could never be satisfied and the launch fails
 * ("setmaxnreg.inc asks for R registers: the block would need X of the
 * 65536 ..."). It has no other effect. */
void sieve_emu_setmaxnreg(const char *site, int32_t registers,
                          int32_t increase);

/* nvgpu.device_async_copy (cp.async): copies `bytes` (4, 8 or 16) from global
 * `src` to shared `dst`, of which only `src_bytes` are read and the rest
 * zero-filled. The copy is deferred until a wait covers its group; until
 * then `dst` is poisoned (0xFF bytes), so a missing wait shows. */
void sieve_emu_cp_async(const char *site, void *dst, const void *src,
                        int32_t bytes, int32_t src_bytes);
/* nvgpu.device_async_create_group: closes the current group of copies. */
void sieve_emu_cp_async_commit(void);
/* nvgpu.device_async_wait: completes all groups but the `pending` most
 * recent ones (this thread's copies only, as in PTX). */
void sieve_emu_cp_async_wait(int32_t pending);

/* Shared-memory race check, called before every shared-memory access when
 * the launch enables it: a byte written by one thread and read or written by
 * another in the same barrier interval is an error. Once the block has
 * initialized an mbarrier, it also checks (race check on or off) that the
 * access does not touch an mbarrier object. */
void sieve_emu_shared_access(const char *site, const void *address,
                             int64_t bytes, int32_t is_write);

/* Reports an error found by the kernel's own checks (e.g. an out-of-bounds
 * index, a misaligned vector access) and ends the launch with it; does not
 * return. The message names the buffer/index; the emulator adds kernel,
 * block and thread. */
void sieve_emu_fail(const char *site, const char *message, int64_t value,
                    int64_t bound);

/* Counts `units` of work for the launch's statistics (e.g. executed loop
 * iterations of a kernel's main loop); lets tests see skipped work. */
void sieve_emu_count_work(int64_t units);

/*===----------------------------------------------------------------------===*
 * 2. Called by the runtime
 *===----------------------------------------------------------------------===*/

typedef struct sieve_emu_launch_desc {
  const char *kernel_name;
  sieve_emu_kernel_fn kernel;
  void **params;
  uint32_t grid[3];
  uint32_t block[3];
  uint64_t static_shared_bytes;
  uint64_t dynamic_shared_bytes;
  /* 0: threads of a block start in linear order after each barrier; other
   * values: a random order drawn from this seed (finds missing barriers). */
  uint64_t schedule_seed;
  /* Non-zero: enable the sieve_emu_shared_access race check. */
  int32_t check_races;
  /* OS threads running independent blocks at once; 0: one per core. */
  uint32_t worker_threads;
} sieve_emu_launch_desc;

typedef struct sieve_emu_launch_stats {
  uint64_t blocks;
  uint64_t threads;
  uint64_t barriers;    /* barrier completions (gpu.barrier, named barrier
                           and mbarrier phases), summed over blocks */
  uint64_t collectives; /* warp collective completions */
  uint64_t work_units;  /* sum of sieve_emu_count_work */
} sieve_emu_launch_stats;

/* Runs a whole grid. Returns 0 on success. On the first error (from
 * sieve_emu_fail, a barrier or collective misuse, a deadlock, a thread
 * returning while others wait) it stops the launch, writes a one-line
 * message naming the site, kernel, block and thread into `error` (also to
 * stderr, unbuffered) and returns non-zero. `stats` may be NULL. */
int sieve_emu_launch(const sieve_emu_launch_desc *desc,
                     sieve_emu_launch_stats *stats, char *error,
                     size_t error_capacity);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SIEVE_RUNTIME_EMULATOR_H */
