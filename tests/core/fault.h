/* Fault injection for tests: a plan saying which file-system operation to
 * make fail, and a hook to plug into bdb_env_options.fault_hook.
 *
 *     static fault_plan plan;
 *     fault_plan_init(&plan);
 *     fault_arm(&plan, BDB_FS_WRITE, ENOSPC, 3, FAULT_ONCE, "data.bin");
 *     opts.fault_hook = fault_hook;
 *     opts.fault_ctx = &plan;
 *
 * makes the 3rd write whose path contains "data.bin" fail with ENOSPC.
 * Every call of the hook is counted per operation in `seen`, whether it
 * matches or not, so a test can also check which operations a function
 * performs. The path of the last injected fault is kept for inspection.
 *
 * Thread safety: fault_hook() may run on any number of threads at once;
 * the counters are C11 atomics, so with FAULT_ONCE exactly one call fails
 * even under concurrency. fault_arm(), fault_disarm() and fault_reset()
 * change several fields, so call them while no library operation that
 * asks the hook is in flight (e.g. between calls on the test thread). The
 * plan must outlive the environment using it. Header-only: everything is
 * static inline. */
#ifndef BDB_TESTS_FAULT_H
#define BDB_TESTS_FAULT_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "bucketdb/bucketdb.h"

/* Which matching calls fail. */
typedef enum fault_mode {
    FAULT_ONCE = 0, /* only the nth matching call */
    FAULT_FROM = 1, /* the nth matching call and every one after it */
} fault_mode;

#define FAULT_PATH_MAX 4096

typedef struct fault_plan {
    /* What to inject (set with fault_arm()). */
    _Atomic int op;            /* bdb_fs_op to fail, or -1 for none */
    _Atomic int err;           /* errno to return: ENOSPC, EIO, ... */
    _Atomic int mode;          /* fault_mode */
    _Atomic uint64_t nth;      /* 1-based occurrence among matching calls */
    const char *_Atomic match; /* only paths containing this; NULL = any path */

    /* What happened. */
    _Atomic uint64_t seen[BDB_FS__COUNT];     /* hook calls per op, any path */
    _Atomic uint64_t matched;                 /* calls of `op` that passed the filter */
    _Atomic uint64_t injected[BDB_FS__COUNT]; /* faults returned per op */

    /* Path of the last injected fault, guarded by a spin lock because a
     * string cannot be stored atomically. */
    atomic_flag path_lock;
    char last_path[FAULT_PATH_MAX];
} fault_plan;

/* Zeroes the counters and forgets the last path; keeps the armed fault. */
static inline void fault_reset(fault_plan *p)
{
    for (int i = 0; i < BDB_FS__COUNT; i++) {
        atomic_store(&p->seen[i], 0);
        atomic_store(&p->injected[i], 0);
    }
    atomic_store(&p->matched, 0);
    while (atomic_flag_test_and_set_explicit(&p->path_lock, memory_order_acquire)) {
    }
    p->last_path[0] = '\0';
    atomic_flag_clear_explicit(&p->path_lock, memory_order_release);
}

/* Prepares a plan that injects nothing (the hook only counts). */
static inline void fault_plan_init(fault_plan *p)
{
    memset(p, 0, sizeof *p);
    atomic_flag_clear(&p->path_lock);
    atomic_store(&p->op, -1);
    atomic_store(&p->match, (const char *)NULL);
    fault_reset(p);
}

/* Makes the `nth` (1-based) call of `op` whose path contains `match`
 * (NULL: any path) fail with `err`, and with FAULT_FROM every matching
 * call after it too. Restarts the count of matching calls; `seen` and
 * `injected` keep counting. `match` must stay valid while armed. */
static inline void fault_arm(fault_plan *p, bdb_fs_op op, int err, uint64_t nth, fault_mode mode,
                             const char *match)
{
    atomic_store(&p->op, -1); /* no half-armed plan is ever visible as armed */
    atomic_store(&p->err, err);
    atomic_store(&p->mode, (int)mode);
    atomic_store(&p->nth, nth);
    atomic_store(&p->match, match);
    atomic_store(&p->matched, 0);
    atomic_store(&p->op, (int)op);
}

/* Stops injecting; counting goes on. */
static inline void fault_disarm(fault_plan *p)
{
    atomic_store(&p->op, -1);
}

/* Calls of `op` the hook has seen. */
static inline uint64_t fault_seen(fault_plan *p, bdb_fs_op op)
{
    return atomic_load(&p->seen[op]);
}

/* Faults injected into `op`. */
static inline uint64_t fault_injected(fault_plan *p, bdb_fs_op op)
{
    return atomic_load(&p->injected[op]);
}

/* Copies the path of the last injected fault ("" if none) into buf. */
static inline void fault_last_path(fault_plan *p, char *buf, size_t cap)
{
    if (cap == 0) return;
    while (atomic_flag_test_and_set_explicit(&p->path_lock, memory_order_acquire)) {
    }
    size_t n = strlen(p->last_path);
    if (n >= cap) n = cap - 1;
    memcpy(buf, p->last_path, n);
    buf[n] = '\0';
    atomic_flag_clear_explicit(&p->path_lock, memory_order_release);
}

/* The bdb_fault_fn: `ctx` is a fault_plan. */
static inline int fault_hook(void *ctx, bdb_fs_op op, const char *path)
{
    fault_plan *p = ctx;
    if ((int)op < 0 || (int)op >= BDB_FS__COUNT) return 0;
    atomic_fetch_add(&p->seen[op], 1);
    if (atomic_load(&p->op) != (int)op) return 0;
    const char *match = atomic_load(&p->match);
    if (match && (!path || !strstr(path, match))) return 0;

    /* The fetch_add hands every matching call a distinct number, so the
     * decision is exact however many threads race here. */
    uint64_t k = atomic_fetch_add(&p->matched, 1) + 1;
    uint64_t nth = atomic_load(&p->nth);
    int fail = atomic_load(&p->mode) == FAULT_FROM ? k >= nth : k == nth;
    if (!fail || nth == 0) return 0;

    atomic_fetch_add(&p->injected[op], 1);
    while (atomic_flag_test_and_set_explicit(&p->path_lock, memory_order_acquire)) {
    }
    size_t n = path ? strlen(path) : 0;
    if (n >= sizeof p->last_path) n = sizeof p->last_path - 1;
    if (n) memcpy(p->last_path, path, n);
    p->last_path[n] = '\0';
    atomic_flag_clear_explicit(&p->path_lock, memory_order_release);
    return atomic_load(&p->err);
}

#endif
