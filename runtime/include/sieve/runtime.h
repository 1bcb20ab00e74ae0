/*===- runtime.h - Sieve's runtime: load and run kernel bundles -*- C -*-===*\
|*                                                                          *|
|* Loads a bundle written by sieve-compile (docs/bundle-format.md), binds    *|
|* input tensors, runs the bundle's launch schedule on a CUDA GPU (driver    *|
|* API, opened with dlopen) or on the SIMT emulator (CPU), and reads the     *|
|* outputs, per-launch timings and gate statistics back.                     *|
|*                                                                          *|
|* Conventions:                                                              *|
|*  - Handles are opaque. A session keeps its bundle and device alive, so    *|
|*    they may be closed in any order.                                       *|
|*  - Every function that can fail returns a sieve_status. On failure it     *|
|*    also sets this thread's last-error message (sieve_last_error), which   *|
|*    starts with the name of the failing function:                          *|
|*      "sieve_session_bind_input_host: input 'q' (#0): dtype f32, the       *|
|*       bundle expects f16"                                                 *|
|*    Successful calls leave the message alone.                              *|
|*  - Bad arguments (null handles, indices out of range, malformed bundles)  *|
|*    are errors, never crashes.                                             *|
|*  - A session is used by one thread at a time; different sessions may run  *|
|*    on different threads.                                                  *|
|*                                                                          *|
|* C ABI, C99 and C++; no CUDA header needed (a CUstream travels as void*,   *|
|* a CUdeviceptr as uint64_t).                                               *|
|*                                                                          *|
\*===----------------------------------------------------------------------===*/

#ifndef SIEVE_RUNTIME_RUNTIME_H
#define SIEVE_RUNTIME_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*===----------------------------------------------------------------------===*
 * Version
 *===----------------------------------------------------------------------===*/

/* The version of this header: MAJOR.MINOR.PATCH. The shared library
 * (libsieve_runtime.so.MAJOR) keeps its ABI within one major version. */
#define SIEVE_RUNTIME_VERSION "0.1.0"
#define SIEVE_RUNTIME_VERSION_MAJOR 0

/* The version of the runtime library itself, e.g. "0.1.0" (what a caller
 * that loads the library at run time, such as the Python binding, checks). */
const char *sieve_runtime_version(void);

/*===----------------------------------------------------------------------===*
 * Status and errors
 *===----------------------------------------------------------------------===*/

typedef enum sieve_status {
  SIEVE_OK = 0,
  /* A bad call: null handle or pointer, index out of range, a tensor whose
   * dtype or shape does not match the bundle. */
  SIEVE_ERROR_INVALID_ARGUMENT = 1,
  /* The bundle's manifest or files fail validation. */
  SIEVE_ERROR_INVALID_BUNDLE = 2,
  /* A file could not be read or written. */
  SIEVE_ERROR_IO = 3,
  /* What the call needs is not there: no CUDA driver, no CUDA device, a
   * runtime built without the SIMT emulator. */
  SIEVE_ERROR_UNAVAILABLE = 4,
  /* A valid request this runtime or device does not support (e.g. device
   * memory on the emulator, a bundle for a newer GPU architecture). */
  SIEVE_ERROR_UNSUPPORTED = 5,
  /* The call is not valid in the current state (run before every input is
   * bound, outputs read before a run) or a bundle `check` failed for the
   * bound sizes. */
  SIEVE_ERROR_FAILED_PRECONDITION = 6,
  /* A device call failed or a kernel faulted: a CUDA driver error, an error
   * the emulator reports (bounds, barrier misuse, deadlock). */
  SIEVE_ERROR_DEVICE = 7,
  /* Host or device memory ran out. */
  SIEVE_ERROR_OUT_OF_MEMORY = 8,
  /* A bug in the runtime. */
  SIEVE_ERROR_INTERNAL = 9,
} sieve_status;

/* "SIEVE_OK", "SIEVE_ERROR_INVALID_BUNDLE", ... */
const char *sieve_status_name(sieve_status status);

/* The message of the last call on this thread that failed ("" if none). The
 * pointer stays valid until the next failing call on this thread. */
const char *sieve_last_error(void);

/*===----------------------------------------------------------------------===*
 * Element types
 *===----------------------------------------------------------------------===*/

/* Dense, row-major element types; i4 and i1 take one byte per element, bf16
 * two. The values match sieve::DType (HostTensor.h). */
typedef enum sieve_dtype {
  SIEVE_DTYPE_F32 = 0,
  SIEVE_DTYPE_F16 = 1,
  SIEVE_DTYPE_BF16 = 2,
  SIEVE_DTYPE_I64 = 3,
  SIEVE_DTYPE_I32 = 4,
  SIEVE_DTYPE_I8 = 5,
  SIEVE_DTYPE_I4 = 6,
  SIEVE_DTYPE_I1 = 7,
  /* Not a dtype: makes every int a value of the type, so that the runtime
   * can reject out-of-range values a C caller passes. */
  SIEVE_DTYPE_FORCE_INT32 = 0x7fffffff,
} sieve_dtype;

/* "f32", "f16", ...; NULL for a value outside the enum. */
const char *sieve_dtype_name(sieve_dtype dtype);
/* Bytes per element; 0 for a value outside the enum. */
size_t sieve_dtype_size(sieve_dtype dtype);

/*===----------------------------------------------------------------------===*
 * Bundles
 *===----------------------------------------------------------------------===*/

typedef struct sieve_bundle sieve_bundle;

/* Opens the bundle in directory `path`: reads and validates manifest.json
 * and every file it names. Nothing is loaded onto a device yet. */
sieve_status sieve_bundle_open(const char *path, sieve_bundle **bundle);
/* Drops the caller's reference; NULL is ignored. */
void sieve_bundle_close(sieve_bundle *bundle);

/* Strings from the manifest, valid while the bundle is open; NULL for a NULL
 * bundle. */
const char *sieve_bundle_entry(const sieve_bundle *bundle);
const char *sieve_bundle_target(const sieve_bundle *bundle);
const char *sieve_bundle_producer(const sieve_bundle *bundle);

/* One dimension of an input or output shape. */
typedef struct sieve_dim {
  /* The size, or -1 when it depends on the inputs. */
  int64_t size;
  /* NULL for a static size; otherwise the symbol (inputs) or the expression
   * over symbols (outputs) that gives the size, e.g. "s0". */
  const char *symbol;
} sieve_dim;

typedef struct sieve_tensor_info {
  const char *name;
  sieve_dtype dtype;
  int32_t rank;
  /* `rank` entries, valid while the bundle is open. */
  const sieve_dim *dims;
} sieve_tensor_info;

int64_t sieve_bundle_num_inputs(const sieve_bundle *bundle);
int64_t sieve_bundle_num_outputs(const sieve_bundle *bundle);
sieve_status sieve_bundle_get_input(const sieve_bundle *bundle, int64_t index,
                                    sieve_tensor_info *info);
sieve_status sieve_bundle_get_output(const sieve_bundle *bundle, int64_t index,
                                     sieve_tensor_info *info);
/* 1 if input `index` is strided: its kernels address it through the strides
 * the caller binds (see sieve_session_bind_input_host), so that, e.g., a
 * [B, S, H, D] tensor binds as a [B, H, S, D] view without a copy; 0 if the
 * bundle reads it as a dense row-major tensor (or for a bad index). */
int32_t sieve_bundle_input_is_strided(const sieve_bundle *bundle,
                                      int64_t index);

/* How tools fill input `index` with reproducible random data (the
 * manifest's optional `random` field; see RunTool.h). Expressions are
 * evaluated with every symbol equal to `dynamic_size`; an expression that
 * uses a symbol with `dynamic_size` < 0 is an error. */
typedef enum sieve_random_kind {
  /* The dtype's default: floats in [-1, 1), i1 even odds, i8 [-127, 127],
   * i4 [-7, 7], other integers [0, 15]. */
  SIEVE_RANDOM_DEFAULT = 0,
  /* Integers uniform in [min, max]. */
  SIEVE_RANDOM_INT_RANGE = 1,
  /* f32 scales of quantized weights: scale * U[0.5, 1.5). */
  SIEVE_RANDOM_QUANT_SCALE = 2,
} sieve_random_kind;

typedef struct sieve_random_hint {
  sieve_random_kind kind;
  int64_t min, max;
  double scale;
} sieve_random_hint;

sieve_status sieve_bundle_get_random_hint(const sieve_bundle *bundle,
                                          int64_t index, int64_t dynamic_size,
                                          sieve_random_hint *hint);

/* The schedule: one entry per launch of the manifest, and the gates. */
int64_t sieve_bundle_num_launches(const sieve_bundle *bundle);
int64_t sieve_bundle_num_gates(const sieve_bundle *bundle);

/*===----------------------------------------------------------------------===*
 * Devices
 *===----------------------------------------------------------------------===*/

typedef struct sieve_device sieve_device;

typedef enum sieve_device_kind {
  SIEVE_DEVICE_CUDA = 0,
  SIEVE_DEVICE_EMULATOR = 1,
} sieve_device_kind;

/* Options of the SIMT emulator (ignored by CUDA devices); see emulator.h's
 * sieve_emu_launch_desc. */
typedef struct sieve_device_options {
  /* 0: a block's threads start in linear order after each barrier; other
   * values: a random order drawn from this seed. */
  uint64_t emulator_schedule_seed;
  /* Non-zero: check shared-memory races. */
  int32_t emulator_check_races;
  /* OS threads running independent blocks; 0: one per core. */
  uint32_t emulator_worker_threads;
} sieve_device_options;

/* Opens a device. `spec`: "cuda" (ordinal 0), "cuda:N", "emulator", or
 * "auto" (cuda when a driver and a device are there, else the emulator).
 * `options` may be NULL (defaults: all zero).
 *  - cuda without libcuda.so.1: SIEVE_ERROR_UNAVAILABLE, "no CUDA driver
 *    (libcuda.so.1 not found)"; without a device (or a stub driver) too.
 *  - emulator in a process without the SIMT emulator library:
 *    SIEVE_ERROR_UNAVAILABLE. */
sieve_status sieve_device_open(const char *spec,
                               const sieve_device_options *options,
                               sieve_device **device);
void sieve_device_close(sieve_device *device);
/* The device's kind; SIEVE_DEVICE_EMULATOR for NULL. */
sieve_device_kind sieve_device_get_kind(const sieve_device *device);
/* "cuda:0 (NVIDIA H200, sm_90)" or "emulator"; valid while the device is
 * open. */
const char *sieve_device_name(const sieve_device *device);

/*===----------------------------------------------------------------------===*
 * Sessions
 *===----------------------------------------------------------------------===*/

typedef struct sieve_session sieve_session;

/* Flags of sieve_session_create. */
enum {
  /* Time every launch (CUDA: an event pair per launch). Without it only the
   * whole schedule is timed. The emulator always times every launch. */
  SIEVE_SESSION_LAUNCH_TIMINGS = 1u << 0,
  /* CUDA: capture the schedule into a CUDA graph on the first run and replay
   * it while sizes and buffers stay the same (per-launch timings are then
   * not available). Ignored by the emulator. */
  SIEVE_SESSION_CUDA_GRAPH = 1u << 1,
  /* Wait for every launch before the next one, so that an asynchronous
   * kernel fault names its launch. Slow; for debugging. */
  SIEVE_SESSION_SYNC_EACH_LAUNCH = 1u << 2,
};

/* Prepares `bundle` on `device`: CUDA loads the module (the cubin when it
 * matches the device, otherwise the PTX through the driver's JIT) and checks
 * the device's compute capability against the bundle's target; the emulator
 * loads kernels.emu.so and finds every kernel in it. */
sieve_status sieve_session_create(sieve_bundle *bundle, sieve_device *device,
                                  uint32_t flags, sieve_session **session);
void sieve_session_destroy(sieve_session *session);

/* Binds input `index` to a tensor in host memory. `shape` has `rank`
 * entries; `strides` (in elements, may be NULL for dense row-major) lets
 * the caller pass a strided view. For a dense input the view is packed on
 * copy; a strided input (sieve_bundle_input_is_strided) keeps its layout:
 * the memory the view spans is copied as it is and the kernels get the
 * strides (which must be >= 0). dtype, rank and static sizes must match
 * the bundle; dynamic sizes bind the bundle's symbols and must agree across
 * inputs. The data is copied before the call returns. */
sieve_status sieve_session_bind_input_host(sieve_session *session,
                                           int64_t index, sieve_dtype dtype,
                                           int32_t rank, const int64_t *shape,
                                           const int64_t *strides,
                                           const void *data);

/* Binds input `index` to a tensor in CUDA device memory (a CUdeviceptr of
 * the session's device). The memory is read at every run, so the caller
 * keeps it alive and may change it between runs. A dense row-major tensor
 * (`strides` NULL or row-major) that is 256-byte aligned and exactly fills
 * its buffer is used in place; any other is copied device to device into a
 * buffer of the session's at every run, on the run's stream. `strides` (in
 * elements) may describe any view with non-negative strides, e.g. the
 * [B, H, S, D] transpose of a [B, S, H, D] tensor: it is packed with one
 * 2-D copy per block of rows (B x H copies there); a layout needing more
 * than 65536 copies, or a negative stride, is SIEVE_ERROR_UNSUPPORTED, as
 * is any device binding on the emulator. A strided input
 * (sieve_bundle_input_is_strided) is not packed: its kernels read the view
 * through its strides, and it is used in place when 16-byte aligned and
 * spanning at least its buffer's bytes (else the span is copied). */
sieve_status sieve_session_bind_input_device(sieve_session *session,
                                             int64_t index, sieve_dtype dtype,
                                             int32_t rank,
                                             const int64_t *shape,
                                             const int64_t *strides,
                                             uint64_t device_pointer);

/* Makes the following runs write output `index` to `bytes` bytes of CUDA
 * device memory of the caller's at `device_pointer` (dense row-major, its
 * shape is sieve_session_get_output_shape's), instead of memory of the
 * session's; a `device_pointer` of 0 undoes it. The kernels write the
 * caller's memory directly when it is 256-byte aligned and holds the
 * output's whole buffer; otherwise the output is copied there after the
 * launches, on the run's stream. A run whose output needs more than `bytes`
 * fails with SIEVE_ERROR_INVALID_ARGUMENT. Reading the output
 * (sieve_session_read_output, _get_output_device_pointer) and its gate
 * statistics still work. On the emulator: SIEVE_ERROR_UNSUPPORTED. */
sieve_status sieve_session_bind_output_device(sieve_session *session,
                                              int64_t index,
                                              uint64_t device_pointer,
                                              size_t bytes);

/* Runs the schedule: evaluates the bundle's checks for the bound sizes,
 * allocates buffers, copies inputs, launches every kernel in order.
 * `stream` is a CUstream of the session's device, or NULL.
 *  - NULL: the session's own stream; the call returns when the run is done.
 *  - a CUstream: the work is queued on it and the call returns at once;
 *    reading outputs or statistics waits for it. The emulator takes NULL
 *    only. */
sieve_status sieve_session_run(sieve_session *session, void *stream);

/* The shape of output `index` for the bound inputs. `shape` has room for
 * `capacity` entries; `*rank` receives the rank. */
sieve_status sieve_session_get_output_shape(sieve_session *session,
                                            int64_t index, int64_t *shape,
                                            int32_t capacity, int32_t *rank);

/* Copies output `index` of the last run to host memory; `bytes` must be its
 * exact size (elements x dtype size). Waits for the run. */
sieve_status sieve_session_read_output(sieve_session *session, int64_t index,
                                       void *data, size_t bytes);

/* The device address of output `index` of the last run (a CUdeviceptr on
 * CUDA, a host address on the emulator) and its size in bytes. Valid until
 * the next run or the session's end. Does not wait for the run. */
sieve_status sieve_session_get_output_device_pointer(sieve_session *session,
                                                     int64_t index,
                                                     uint64_t *device_pointer,
                                                     size_t *bytes);

/* What the last run did for launch `index` of the schedule. */
typedef struct sieve_launch_info {
  const char *kernel; /* valid while the session lives */
  const char *op;     /* the op it implements, e.g. "sieve.attention at g:3:8" */
  uint32_t grid[3];
  uint32_t block[3];
  uint64_t dynamic_shared_bytes;
  /* Non-zero when nothing ran: 1 when the grid was empty (a zero size), 2
   * when the launch has `reuse` and its results from an earlier run were
   * still valid (docs/bundle-format.md). */
  int32_t skipped;
  /* Device time in milliseconds (CUDA events; emulator: wall clock); NaN
   * when not measured (CUDA without SIEVE_SESSION_LAUNCH_TIMINGS, or with a
   * CUDA graph). */
  double milliseconds;
  /* Emulator statistics (see emulator.h); all zero on CUDA. */
  uint64_t emulator_blocks;
  uint64_t emulator_threads;
  uint64_t emulator_barriers;
  uint64_t emulator_collectives;
  uint64_t emulator_work_units;
} sieve_launch_info;

/* Waits for the last run. */
sieve_status sieve_session_get_launch_info(sieve_session *session,
                                           int64_t index,
                                           sieve_launch_info *info);

/* The time of the whole schedule of the last run, in milliseconds (CUDA:
 * events around it, copies of inputs excluded; emulator: wall clock). Waits
 * for the run. */
sieve_status sieve_session_get_run_time(sieve_session *session,
                                        double *milliseconds);

/* Statistics of gate `index` (the manifest's `gates`) in the last run. */
typedef struct sieve_gate_stats {
  const char *op; /* valid while the session lives */
  int64_t tokens;
  /* Tokens whose mask is set. */
  int64_t active_tokens;
  /* active_tokens / tokens (the mean of the mask); NaN for zero tokens. */
  double active_token_ratio;
  /* Mean over the tokens of the binary entropy of the score, in bits:
   * H(p) = -p log2 p - (1-p) log2 (1-p), so 0 for a certain decision and 1
   * for p = 0.5. Scores are clamped to [0, 1]; NaN scores are left out and
   * counted. NaN when no score counts. */
  double mean_score_entropy_bits;
  int64_t nan_scores;
} sieve_gate_stats;

/* Reads the gate's score and mask buffers back. Waits for the run. */
sieve_status sieve_session_get_gate_stats(sieve_session *session,
                                          int64_t index,
                                          sieve_gate_stats *stats);

/* How the session loaded the kernels: "cubin", "ptx (JIT)", or
 * "kernels.emu.so"; valid while the session lives. */
const char *sieve_session_kernel_source(const sieve_session *session);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SIEVE_RUNTIME_RUNTIME_H */
