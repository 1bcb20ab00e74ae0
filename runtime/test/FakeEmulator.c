/*===- FakeEmulator.c - A stand-in for the SIMT emulator, for tests -------===*\
|*                                                                          *|
|* Implements emulator.h well enough to test the runtime's emulator backend *|
|* while the real SieveEmulator (fibers, barriers, collectives) is built    *|
|* elsewhere: sieve_emu_launch runs every thread of every block one after   *|
|* the other on the calling thread, which is exact for kernels without      *|
|* barriers or warp collectives. Everything that needs threads to meet      *|
|* (barriers, shuffles, votes, ldmatrix, mma, async copies) ends the launch *|
|* with an error saying the fake does not support it. Test-only: linked     *|
|* into the tests instead of SieveEmulator when that is not built.          *|
|*                                                                          *|
\*===----------------------------------------------------------------------===*/

#include "sieve/emulator.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct LaunchState {
  int active;
  const sieve_emu_launch_desc *desc;
  uint32_t block[3], thread[3];
  uint8_t *shared;
  int64_t sharedSize;
  uint64_t workUnits;
  jmp_buf abortLaunch;
  char message[1024];
} LaunchState;

static _Thread_local LaunchState state;

/* Outside a launch there is no thread to ask about: a misuse of the ABI. */
static void requireLaunch(const char *function) {
  if (!state.active) {
    fprintf(stderr, "fake emulator: %s called outside sieve_emu_launch\n",
            function);
    abort();
  }
}

/* Ends the launch with `message`, naming kernel, block and thread. */
static void failLaunch(const char *message) {
  snprintf(state.message, sizeof(state.message),
           "%s in kernel %s, block (%u, %u, %u), thread (%u, %u, %u)", message,
           state.desc->kernel_name ? state.desc->kernel_name : "?",
           state.block[0], state.block[1], state.block[2], state.thread[0],
           state.thread[1], state.thread[2]);
  longjmp(state.abortLaunch, 1);
}

static void unsupported(const char *function, const char *site) {
  requireLaunch(function);
  char message[512];
  snprintf(message, sizeof(message),
           "%s: the fake emulator launcher runs threads one by one and does "
           "not support %s",
           site ? site : "?", function);
  failLaunch(message);
}

static int64_t getDim(const uint32_t *values, int32_t dim,
                      const char *function) {
  requireLaunch(function);
  if (dim < 0 || dim > 2)
    failLaunch("dimension out of range");
  return values[dim];
}

int64_t sieve_emu_thread_id(int32_t dim) {
  return getDim(state.thread, dim, __func__);
}
int64_t sieve_emu_block_id(int32_t dim) {
  return getDim(state.block, dim, __func__);
}
int64_t sieve_emu_block_dim(int32_t dim) {
  requireLaunch(__func__);
  return getDim(state.desc->block, dim, __func__);
}
int64_t sieve_emu_grid_dim(int32_t dim) {
  requireLaunch(__func__);
  return getDim(state.desc->grid, dim, __func__);
}
int64_t sieve_emu_lane_id(void) {
  requireLaunch(__func__);
  const uint32_t *b = state.desc->block;
  int64_t linear = state.thread[0] + (int64_t)b[0] * state.thread[1] +
                   (int64_t)b[0] * b[1] * state.thread[2];
  return linear % 32;
}

uint8_t *sieve_emu_shared_memory(void) {
  requireLaunch(__func__);
  return state.shared;
}
int64_t sieve_emu_shared_memory_size(void) {
  requireLaunch(__func__);
  return state.sharedSize;
}
int64_t sieve_emu_dynamic_shared_offset(void) {
  requireLaunch(__func__);
  return (int64_t)state.desc->static_shared_bytes;
}

void sieve_emu_barrier(const char *site) { unsupported(__func__, site); }

uint32_t sieve_emu_shuffle(const char *site, int32_t mode, uint32_t value,
                           int32_t offset, int32_t width, int32_t *valid) {
  unsupported(__func__, site);
  return 0;
}

uint32_t sieve_emu_vote(const char *site, int32_t kind, int32_t predicate) {
  unsupported(__func__, site);
  return 0;
}

void sieve_emu_ldmatrix(const char *site, const void *row, int32_t num_matrices,
                        int32_t transpose, uint32_t *fragment) {
  unsupported(__func__, site);
}

void sieve_emu_mma_sync(const char *site, int32_t shape, int32_t ab_type,
                        int32_t cd_type, const uint32_t *a, const uint32_t *b,
                        const uint32_t *c, uint32_t *d) {
  unsupported(__func__, site);
}

void sieve_emu_named_barrier(const char *site, int32_t id, int32_t count,
                             int32_t wait) {
  unsupported(__func__, site);
}

void sieve_emu_setmaxnreg(const char *site, int32_t registers,
                          int32_t increase) {
  unsupported(__func__, site);
}

void sieve_emu_cp_async(const char *site, void *dst, const void *src,
                        int32_t bytes, int32_t src_bytes) {
  unsupported(__func__, site);
}
void sieve_emu_cp_async_commit(void) { unsupported(__func__, NULL); }
void sieve_emu_cp_async_wait(int32_t pending) { unsupported(__func__, NULL); }

void sieve_emu_shared_access(const char *site, const void *address,
                             int64_t bytes, int32_t is_write) {
  /* One thread at a time cannot race; only the bounds are checked. */
  requireLaunch(__func__);
  const uint8_t *p = (const uint8_t *)address;
  if (p < state.shared || p + bytes > state.shared + state.sharedSize)
    failLaunch("shared-memory access out of bounds");
}

void sieve_emu_fail(const char *site, const char *message, int64_t value,
                    int64_t bound) {
  requireLaunch(__func__);
  char text[512];
  snprintf(text, sizeof(text), "%s: %s (value %lld, bound %lld)",
           site ? site : "?", message ? message : "failure", (long long)value,
           (long long)bound);
  failLaunch(text);
}

void sieve_emu_count_work(int64_t units) {
  requireLaunch(__func__);
  state.workUnits += (uint64_t)units;
}

int sieve_emu_launch(const sieve_emu_launch_desc *desc,
                     sieve_emu_launch_stats *stats, char *error,
                     size_t error_capacity) {
  const char *invalid = NULL;
  if (!desc || !desc->kernel)
    invalid = "sieve_emu_launch: no kernel";
  else if (state.active)
    invalid = "sieve_emu_launch: nested launch";
  else
    for (int d = 0; d < 3; ++d)
      if (desc->grid[d] == 0 || desc->block[d] == 0)
        invalid = "sieve_emu_launch: empty grid or block";
  if (invalid) {
    if (error && error_capacity)
      snprintf(error, error_capacity, "%s", invalid);
    return 1;
  }

  /* volatile: read after longjmp. */
  uint8_t *volatile shared = NULL;
  int64_t sharedSize =
      (int64_t)(desc->static_shared_bytes + desc->dynamic_shared_bytes);
  if (sharedSize > 0 && !(shared = malloc((size_t)sharedSize))) {
    if (error && error_capacity)
      snprintf(error, error_capacity, "sieve_emu_launch: out of memory");
    return 1;
  }
  memset(&state, 0, sizeof(state));
  state.active = 1;
  state.desc = desc;
  state.shared = shared;
  state.sharedSize = sharedSize;

  if (setjmp(state.abortLaunch)) {
    state.active = 0;
    free(shared);
    fprintf(stderr, "fake emulator: %s\n", state.message);
    if (error && error_capacity)
      snprintf(error, error_capacity, "%s", state.message);
    return 1;
  }

  for (uint32_t bz = 0; bz < desc->grid[2]; ++bz)
    for (uint32_t by = 0; by < desc->grid[1]; ++by)
      for (uint32_t bx = 0; bx < desc->grid[0]; ++bx) {
        state.block[0] = bx, state.block[1] = by, state.block[2] = bz;
        /* Shared memory starts poisoned in every block, as emulator.h says. */
        if (shared)
          memset(shared, 0xFF, (size_t)sharedSize);
        for (uint32_t tz = 0; tz < desc->block[2]; ++tz)
          for (uint32_t ty = 0; ty < desc->block[1]; ++ty)
            for (uint32_t tx = 0; tx < desc->block[0]; ++tx) {
              state.thread[0] = tx, state.thread[1] = ty, state.thread[2] = tz;
              desc->kernel(desc->params);
            }
      }

  state.active = 0;
  free(shared);
  if (stats) {
    memset(stats, 0, sizeof(*stats));
    stats->blocks = (uint64_t)desc->grid[0] * desc->grid[1] * desc->grid[2];
    stats->threads =
        stats->blocks * desc->block[0] * desc->block[1] * desc->block[2];
    stats->work_units = state.workUnits;
  }
  return 0;
}
