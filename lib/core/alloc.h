/* The core allocator. Every library allocation goes through these calls so
 * that bdb_env_stats() reports exactly what the library holds, per
 * category. With jemalloc the memory comes from the environment's own arena
 * (mallocx/sdallocx); otherwise from the process malloc. Frees are sized:
 * the caller passes the size it asked for. */
#ifndef BDB_CORE_ALLOC_H
#define BDB_CORE_ALLOC_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"

struct bdbi_mem_counter {
    alignas(64) _Atomic uint64_t bytes;
    _Atomic uint64_t peak;
    _Atomic uint64_t allocs;
    _Atomic uint64_t frees;
};

typedef struct bdbi_alloc {
    int arena_on;   /* allocating from `arena` */
    unsigned arena; /* jemalloc arena index */
    struct bdbi_mem_counter cat[BDB_MEM__COUNT];
    struct bdbi_mem_counter total; /* sum over categories, with its own peak */
} bdbi_alloc;

/* Sets up `a`; with `use_arena` and jemalloc, creates a private arena. */
int bdbi_alloc_init(bdbi_alloc *a, int use_arena);

/* Releases the arena. Requires every allocation to have been freed; if
 * some are outstanding the arena is left alone (its memory stays valid)
 * and BDB_EINTERNAL is returned. */
int bdbi_alloc_fini(bdbi_alloc *a);

/* Gives the calling thread (a pool worker of the env owning `a`) its own
 * cache in front of the arena; stop releases it and must be called by the
 * same thread before it exits. No-ops without a jemalloc arena. */
void bdbi_alloc_thread_start(bdbi_alloc *a);
void bdbi_alloc_thread_stop(bdbi_alloc *a);

/* Allocates `n` bytes (n > 0) for category `cat`. Returns NULL with
 * BDB_ENOMEM recorded when memory is exhausted. Alignment is that of
 * malloc. */
void *bdbi_malloc(bdb_env *env, bdb_mem_category cat, size_t n);

/* Same, zero-filled; `count * size` is checked for overflow. */
void *bdbi_calloc(bdb_env *env, bdb_mem_category cat, size_t count, size_t size);

/* Resizes `p` (allocated with size `old_n`, or NULL) to `new_n` bytes.
 * On failure returns NULL and leaves `p` valid. */
void *bdbi_realloc(bdb_env *env, bdb_mem_category cat, void *p, size_t old_n, size_t new_n);

/* Frees `p`, which was allocated for `cat` with size `n`. NULL is a no-op. */
void bdbi_free(bdb_env *env, bdb_mem_category cat, void *p, size_t n);

/* Duplicates a NUL-terminated string; free it with bdbi_strfree(). */
char *bdbi_strdup(bdb_env *env, bdb_mem_category cat, const char *s);
void bdbi_strfree(bdb_env *env, bdb_mem_category cat, char *s);

/* Copies the counters into out[BDB_MEM__COUNT] and their sum into *total;
 * *arena_active gets the arena's active bytes (0 without an arena). */
void bdbi_alloc_stats(bdbi_alloc *a, bdb_mem_stats *out, bdb_mem_stats *total,
                      uint64_t *arena_active);

#endif
